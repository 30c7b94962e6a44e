/* softmax.c: the softmax gate g_i(z) = exp(v_i'(1,z)) / sum_j exp(v_j'(1,z)), v_K = 0.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * The soft-target multinomial logit (DESIGN.md section 2): with P = nz + 1 and theta the rows
 * v_0 .. v_{K-2} (K-1 blocks of P),
 *     Q(V)       = sum_n sum_i h_ni log g_ni
 *     dQ/dv_i    = sum_n (h_ni - g_ni) z~_n                            (i < K-1)
 *     -d2Q/dv_i dv_j' = sum_n g_ni (delta_ij - g_nj) z~_n z~_n'          (the exact Hessian)
 * (the h_ni sum to the row's weight w_n, 1 without weights, so with weights the gradient is
 * sum_n (h_ni - w_n g_ni) z~_n and the Hessian pieces carry w_n). stat_add keeps, for every pair i <= j < K-1, the packed
 * P x P matrix sum_n g_ni (delta_ij - g_nj) z~ z~', so a row costs (K-1)K/2 * P(P+1)/2
 * multiply-adds; derivatives() expands these blocks into the full (K-1)P x (K-1)P matrix.
 * Stats layout: [Q, gradient ((K-1) P), pair blocks ((K-1)K/2 of P(P+1)/2)].
 * Block: K rows of P coefficients, the last (the reference) always 0; theta is the first
 * K-1 rows. */
#include <config.h>

#include <math.h>
#include <string.h>

#include "gates/gate.h"
#include "kernels/kernels.h"

/* packed z z' kept per row up to P = 32 gate coefficients; larger P computes it inline */
#define ZZ_MAX 528

static size_t softmax_block_size(const moe_gate_shape *s) { return s->k * (s->nz + 1); }
static size_t softmax_nparams(const moe_gate_shape *s) { return (s->k - 1) * (s->nz + 1); }

static size_t softmax_stat_size(const moe_gate_shape *s)
{
    size_t k = s->k, p = s->nz + 1, q = p * (p + 1) / 2;
    return 1 + (k - 1) * p + (k - 1) * k / 2 * q;
}

/* Rows handled together (the per-row temporaries of stat_add live on the stack). */
#define CHUNK 32

/* The logits of NC rows Z (stride P) into ETA (NC x K): eta_i = v_i'z~ from the K-1
 * coefficient rows V (K-1 x P) by the dot_rows kernel, and the reference logit 0 last. */
static void rows_logits(const double *z, size_t nc, const double *v, size_t k, size_t p,
                        double *eta)
{
    moe_kernels_get()->dot_rows(nc, k - 1, p, v, p, NULL, z, p, eta, k);
    for (size_t t = 0; t < nc; t++)
        eta[t * k + k - 1] = 0;
}

/* log g = eta - logsumexp(eta) per row, the log-sum-exp by the posterior_rows kernel. */
static void softmax_log_prob_rows(const moe_dataset *d, const moe_gate_shape *s,
                                  const double *par, size_t r0, size_t r1, double *logg)
{
    size_t p = d->nz + 1, k = s->k;
    const moe_kernels *kern = moe_kernels_get();
    double lse[CHUNK];
    for (size_t c0 = r0; c0 < r1; c0 += CHUNK) {
        size_t nc = r1 - c0 < CHUNK ? r1 - c0 : CHUNK;
        double *lg = logg + (c0 - r0) * k;
        rows_logits(d->z + c0 * p, nc, par, k, p, lg);
        kern->posterior_rows(nc, k, lg, NULL, lse);
        for (size_t t = 0; t < nc; t++)
            for (size_t i = 0; i < k; i++)
                lg[t * k + i] -= lse[t];
    }
}

/* Per chunk of rows: the logits, then g = exp(eta - lse) and lse by posterior_rows; per row,
 * Q, the gradient weights e_i = h_i - w g_i and the Hessian pair weights; then, for the whole
 * chunk, the gradient (rank-1 updates e z~' of the K-1 x P gradient) and the Hessian pieces
 * (the pair weights times the packed z~ z~') by the ger_rows kernel, each element summed in
 * row order as before. ger_rows is bit-identical in every kernel set; g carries the tolerance
 * of the set's exp. The chunk shrinks so that its pair weights and packed z~ z~' fit the
 * stack buffers (K = 64 or P = 32 still take at least one row). */
#define PW_BUF 4096
#define ZZ_BUF 4096
static void softmax_stat_add(const moe_dataset *d, const moe_gate_shape *s,
                             const double *theta, const double *h, size_t r0, size_t r1,
                             int deriv, double *stats)
{
    size_t k = s->k, p = d->nz + 1, q = p * (p + 1) / 2, km = k - 1, npair = km * k / 2;
    const moe_kernels *kern = moe_kernels_get();
    double eta[CHUNK * MOE_K_MAX], gc[CHUNK * MOE_K_MAX], lse[CHUNK], ev[CHUNK * MOE_K_MAX];
    double pw[PW_BUF], zz[ZZ_BUF];
    double *grad = stats + 1, *blk = stats + 1 + km * p;
    int packed_ok = q <= ZZ_MAX;
    size_t rows = CHUNK;
    if (npair > 0 && rows * npair > PW_BUF)
        rows = PW_BUF / npair ? PW_BUF / npair : 1;
    if (rows * q > ZZ_BUF)
        rows = ZZ_BUF / q ? ZZ_BUF / q : 1;
    for (size_t c0 = r0; c0 < r1; c0 += rows) {
        size_t nc = r1 - c0 < rows ? r1 - c0 : rows;
        rows_logits(d->z + c0 * p, nc, theta, k, p, eta);
        kern->posterior_rows(nc, k, eta, gc, lse);
        for (size_t t = 0; t < nc; t++) {
            size_t r = c0 + t;
            const double *z = d->z + r * p, *hr = h + r * k, *g = gc + t * k;
            double qr = 0;
            for (size_t i = 0; i < k; i++)
                if (hr[i] != 0)
                    qr += hr[i] * (eta[t * k + i] - lse[t]);
            stats[0] += qr;
            if (!deriv || km == 0)
                continue;
            double wr = d->w ? d->w[r] : 1;
            for (size_t i = 0; i < km; i++) {
                double e = hr[i] - wr * g[i];
                ev[t * km + i] = e;
            }
            double *pwt = pw + t * npair;
            size_t u = 0;
            for (size_t i = 0; i < km; i++)
                for (size_t j = i; j < km; j++, u++) {
                    double w = g[i] * ((i == j) - g[j]);
                    if (d->w)
                        w *= wr;
                    pwt[u] = w;
                }
            if (packed_ok) {
                double *zt = zz + t * q;
                size_t t2 = 0;
                for (size_t a = 0; a < p; a++)
                    for (size_t b = a; b < p; b++)
                        zt[t2++] = z[a] * z[b];
            } else {  /* P > 32: row by row, z~ z~' inline */
                double *bp = blk;
                for (u = 0; u < npair; u++, bp += q) {
                    size_t t2 = 0;
                    for (size_t a = 0; a < p; a++) {
                        double wa = pwt[u] * z[a];
                        for (size_t b = a; b < p; b++)
                            bp[t2++] += wa * z[b];
                    }
                }
            }
        }
        if (!deriv || km == 0)
            continue;
        kern->ger_rows(nc, km, p, ev, km, d->z + c0 * p, p, grad);
        if (packed_ok)
            kern->ger_rows(nc, npair, q, pw, npair, zz, q, blk);
    }
}

/* log g and g of rows [R0, R1) in one pass: per chunk the logits (into LOGG), per row the
 * max, the shifted logits (into G), one vexp over the chunk, then the row sums, one vlog of
 * them, log g = eta - (max + log sum) and g = exp(eta - max) / sum. The same operations in the
 * same order as log_prob_rows (posterior_rows' reference loop and its ISA versions over the
 * same vexp and vlog), so LOGG is bit-identical to it; G costs no further exponential. */
static void softmax_prob_rows(const moe_dataset *d, const moe_gate_shape *s, const double *par,
                              size_t r0, size_t r1, double *logg, double *g)
{
    size_t p = d->nz + 1, k = s->k;
    const moe_kernels *kern = moe_kernels_get();
    double mx[CHUNK];
    for (size_t c0 = r0; c0 < r1; c0 += CHUNK) {
        size_t nc = r1 - c0 < CHUNK ? r1 - c0 : CHUNK;
        double *lg = logg + (c0 - r0) * k, *gc = g + (c0 - r0) * k;
        rows_logits(d->z + c0 * p, nc, par, k, p, lg);
        for (size_t t = 0; t < nc; t++) {
            const double *e = lg + t * k;
            double m = -INFINITY;
            for (size_t i = 0; i < k; i++)
                if (e[i] > m)
                    m = e[i];
            mx[t] = m;
            for (size_t i = 0; i < k; i++)
                gc[t * k + i] = e[i] - m;
        }
        kern->vexp(nc * k, gc, gc);
        double sum[CHUNK], lsum[CHUNK];
        for (size_t t = 0; t < nc; t++) {
            const double *gt = gc + t * k;
            double sm = 0;
            for (size_t i = 0; i < k; i++)
                sm += gt[i];
            sum[t] = sm;
        }
        kern->vlog(nc, sum, lsum);
        for (size_t t = 0; t < nc; t++) {
            double *e = lg + t * k, *gt = gc + t * k, l = mx[t] + lsum[t];
            for (size_t i = 0; i < k; i++) {
                e[i] -= l;
                gt[i] /= sum[t];
            }
        }
    }
}

/* d/dv_i sum_j c_j log g_j = (c_i - g_i sum_j c_j) z~ for i < K-1, from the probabilities G
 * of prob_rows: per chunk the weights e, then the rank-1 updates e z~' by the ger_rows kernel
 * (each element summed in row order, bit-identical in every kernel set). */
static void softmax_grad_rows(const moe_dataset *d, const moe_gate_shape *sh,
                              const double *theta, const double *g, const double *c, size_t r0,
                              size_t r1, double *grad)
{
    (void)theta;
    size_t p = d->nz + 1, k = sh->k, km = k - 1;
    const moe_kernels *kern = moe_kernels_get();
    double cw[CHUNK * MOE_K_MAX];
    for (size_t c0 = r0; c0 < r1; c0 += CHUNK) {
        size_t nc = r1 - c0 < CHUNK ? r1 - c0 : CHUNK;
        for (size_t t = 0; t < nc; t++) {
            const double *cr = c + (c0 + t) * k, *gr = g + (c0 + t) * k;
            double csum = 0;
            for (size_t i = 0; i < k; i++)
                csum += cr[i];
            for (size_t i = 0; i < km; i++)
                cw[t * km + i] = cr[i] - csum * gr[i];
        }
        kern->ger_rows(nc, km, p, cw, km, d->z + c0 * p, p, grad);
    }
}

static void softmax_derivatives(const double *stats, const moe_gate_shape *s, double *grad,
                                double *neg_hess)
{
    size_t k = s->k, p = s->nz + 1, q = p * (p + 1) / 2, km = k - 1, np = km * p;
    if (grad)
        memcpy(grad, stats + 1, np * sizeof *grad);
    if (!neg_hess)
        return;
    const double *bp = stats + 1 + np;
    for (size_t i = 0; i < km; i++)
        for (size_t j = i; j < km; j++, bp += q) {
            size_t t = 0;
            for (size_t a = 0; a < p; a++)
                for (size_t b = a; b < p; b++, t++) {
                    double v = bp[t];
                    size_t ra = i * p + a, cb = j * p + b, rb = i * p + b, ca = j * p + a;
                    /* block (i,j) is symmetric in (a,b): fill (a,b) and (b,a), and the
                     * transposed block (j,i) */
                    neg_hess[ra * np + cb] = v;
                    neg_hess[rb * np + ca] = v;
                    neg_hess[cb * np + ra] = v;
                    neg_hess[ca * np + rb] = v;
                }
        }
}

static void softmax_get_theta(const moe_gate_shape *s, const double *par, double *theta)
{
    memcpy(theta, par, (s->k - 1) * (s->nz + 1) * sizeof *theta);
}

static void softmax_set_theta(const moe_gate_shape *s, const double *theta, double *par)
{
    size_t k = s->k, p = s->nz + 1;
    memcpy(par, theta, (k - 1) * p * sizeof *theta);
    memset(par + (k - 1) * p, 0, p * sizeof *par);
}

static int softmax_is_slope(size_t j, const moe_gate_shape *s)
{
    return j % (s->nz + 1) != 0;
}

/* Removes row I; then the last row is the reference again: subtracting it from every logit
 * leaves the probabilities unchanged. */
static void softmax_drop_expert(double *par, const moe_gate_shape *s, size_t i)
{
    size_t k = s->k, p = s->nz + 1;
    memmove(par + i * p, par + (i + 1) * p, (k - 1 - i) * p * sizeof *par);
    double *ref = par + (k - 2) * p;
    for (size_t t = 0; t + 1 < k - 1; t++)
        for (size_t j = 0; j < p; j++)
            par[t * p + j] -= ref[j];
    memset(ref, 0, p * sizeof *ref);
}

/* Rows in the new order (each column moved along the permutation's cycles), then every row
 * minus the new last one (the reference row 0): the same probabilities. */
static void softmax_permute(double *par, const moe_gate_shape *s, const size_t *perm)
{
    size_t k = s->k, p = s->nz + 1;
    for (size_t j = 0; j < p; j++) {
        unsigned char seen[MOE_K_MAX] = {0};
        for (size_t t = 0; t < k; t++) {
            if (seen[t])
                continue;
            double first = par[t * p + j];
            size_t cur = t;
            seen[t] = 1;
            while (perm[cur] != t) {
                par[cur * p + j] = par[perm[cur] * p + j];
                cur = perm[cur];
                seen[cur] = 1;
            }
            par[cur * p + j] = first;
        }
    }
    const double *ref = par + (k - 1) * p;
    for (size_t t = 0; t + 1 < k; t++)
        for (size_t j = 0; j < p; j++)
            par[t * p + j] -= ref[j];
    memset(par + (k - 1) * p, 0, p * sizeof *par);
}

static void softmax_report(const moe_model *m, const double *theta, double *coef)
{
    size_t p = m->nz + 1;
    for (size_t i = 0; i + 1 < m->k; i++)
        moe_model_unscale_gate(m, theta + i * p, coef + i * p);
}

static size_t softmax_fields(const moe_gate_shape *s, moe_param_field *f)
{
    f[0] = (moe_param_field){"gate_coef", 0, s->k - 1, s->nz + 1, 0, 0};
    return 1;
}

const moe_gate_type moe_gate_softmax = {
    .name = "softmax",
    .block_size = softmax_block_size,
    .nparams = softmax_nparams,
    .log_prob_rows = softmax_log_prob_rows,
    .stat_size = softmax_stat_size,
    .stat_add = softmax_stat_add,
    .prob_rows = softmax_prob_rows,
    .grad_rows = softmax_grad_rows,
    .derivatives = softmax_derivatives,
    .get_theta = softmax_get_theta,
    .set_theta = softmax_set_theta,
    .is_slope = softmax_is_slope,
    .drop_expert = softmax_drop_expert,
    .permute = softmax_permute,
    .report = softmax_report,
    .fields = softmax_fields,
};
