/* topk.c: the sparse top-k gate (Shazeer et al. 2017; Switch for k = 1), clean logits, no noise.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Logits eta_i = v_i'(1,z) with the softmax gate's block (K rows of P = nz + 1, the last row
 * the reference 0: the kept set and the weights only depend on differences of logits, so a
 * free last row would add P unidentified directions; with it the block of a top-k fit is a
 * softmax block and k = K is the softmax gate exactly). KeepTopK keeps the k largest logits
 * (ties: the lower expert index); for k >= 2 the weights are the softmax over the kept logits,
 *     g_i = exp(eta_i) / sum_{j kept} exp(eta_j)   (i kept),   g_i = 0 otherwise;
 * for k = 1 the Switch form, g_c = p_c = exp(eta_c) / sum_j exp(eta_j) of the chosen expert c
 * (the full softmax's probability, so the logits get a gradient; the row's weights then sum
 * to p_c < 1). W_g starts at 0 (DESIGN.md section 1): every expert ties, experts 0..k-1 are
 * kept.
 *     grad of sum_i c_i log g_i:  k >= 2: d/deta_j = c_j - g_j sum_{i kept} c_i   (j kept; 0
 *                                 otherwise);  k = 1: d/deta_j = c_c (delta_jc - p_j)
 * and d/dv_j = (d/deta_j) z~ for j < K-1. The auxiliary losses (aux_rows) are in this file
 * too, as they need the full softmax and the kept sets. No EM M-step (KeepTopK is not
 * smooth): stat_add and derivatives are NULL, and only gradient descent trains this gate.
 * Plain exp and log, no kernel: the numbers are the same under every kernel set. */
#include <config.h>

#include <math.h>
#include <string.h>

#include "gates/gate.h"

#define CHUNK 32

static size_t topk_block_size(const moe_gate_shape *s) { return s->k * (s->nz + 1); }
static size_t topk_nparams(const moe_gate_shape *s) { return (s->k - 1) * (s->nz + 1); }
static size_t topk_stat_size(const moe_gate_shape *s) { (void)s; return 1; }

/* One row: logits ETA (K) from coefficient rows V at gate design row Z (P values), the
 * reference logit 0 last. */
static void row_logits(const double *z, const double *v, size_t k, size_t p, double *eta)
{
    for (size_t i = 0; i + 1 < k; i++) {
        double e = 0;
        for (size_t j = 0; j < p; j++)
            e += v[i * p + j] * z[j];
        eta[i] = e;
    }
    eta[k - 1] = 0;
}

/* KEEP[i] = 1 for the TOPK largest of ETA (K), ties to the lower index. */
static void keep_top(const double *eta, size_t k, size_t topk, unsigned char *keep)
{
    memset(keep, 0, k);
    for (size_t t = 0; t < topk; t++) {
        size_t best = k;
        for (size_t i = 0; i < k; i++)
            if (!keep[i] && (best == k || eta[i] > eta[best]))
                best = i;
        keep[best] = 1;
    }
}

/* log g, g (may be NULL), the kept set and the full softmax P (may be NULL) of one row from
 * its logits ETA. */
static void row_gate(const double *eta, size_t k, size_t topk, unsigned char *keep,
                     double *logg, double *g, double *p)
{
    keep_top(eta, k, topk, keep);
    double mk = -INFINITY, ma = -INFINITY;
    for (size_t i = 0; i < k; i++) {
        if (eta[i] > ma)
            ma = eta[i];
        if (keep[i] && eta[i] > mk)
            mk = eta[i];
    }
    double sk = 0, sa = 0;
    for (size_t i = 0; i < k; i++) {
        double e = exp(eta[i] - ma);
        sa += e;
        if (keep[i])
            sk += exp(eta[i] - mk);
    }
    double lk = topk == 1 ? ma + log(sa) : mk + log(sk), la = ma + log(sa);
    for (size_t i = 0; i < k; i++) {
        double l = keep[i] ? eta[i] - lk : -INFINITY;
        if (logg)
            logg[i] = l;
        if (g)
            g[i] = keep[i] ? exp(l) : 0;
        if (p)
            p[i] = exp(eta[i] - la);
    }
}

static void topk_prob_rows(const moe_dataset *d, const moe_gate_shape *s, const double *par,
                           size_t r0, size_t r1, double *logg, double *g)
{
    size_t p = d->nz + 1, k = s->k;
    double eta[MOE_K_MAX];
    unsigned char keep[MOE_K_MAX];
    for (size_t r = r0; r < r1; r++) {
        row_logits(d->z + r * p, par, k, p, eta);
        row_gate(eta, k, s->top_k, keep, logg + (r - r0) * k, g ? g + (r - r0) * k : NULL,
                 NULL);
    }
}

static void topk_log_prob_rows(const moe_dataset *d, const moe_gate_shape *s,
                               const double *par, size_t r0, size_t r1, double *logg)
{
    topk_prob_rows(d, s, par, r0, r1, logg, NULL);
}

/* Adds the logit weights E (K per row, NC rows) times z~ to the gradient of the first K-1
 * rows. */
static void add_outer(const double *e, const double *z, size_t k, size_t p, double *grad)
{
    for (size_t i = 0; i + 1 < k; i++)
        if (e[i] != 0)
            for (size_t j = 0; j < p; j++)
                grad[i * p + j] += e[i] * z[j];
}

/* The logits are recomputed from THETA (the kept set and, for k = 1, the full softmax); G
 * gives the kept weights. */
static void topk_grad_rows(const moe_dataset *d, const moe_gate_shape *s, const double *theta,
                           const double *g, const double *c, size_t r0, size_t r1,
                           double *grad)
{
    size_t p = d->nz + 1, k = s->k;
    double eta[MOE_K_MAX], pf[MOE_K_MAX], e[MOE_K_MAX];
    unsigned char keep[MOE_K_MAX];
    for (size_t r = r0; r < r1; r++) {
        const double *z = d->z + r * p, *cr = c + r * k, *gr = g + r * k;
        row_logits(z, theta, k, p, eta);
        row_gate(eta, k, s->top_k, keep, NULL, NULL, pf);
        if (s->top_k == 1) {
            size_t ch = 0;
            while (!keep[ch])
                ch++;
            for (size_t j = 0; j < k; j++)
                e[j] = cr[ch] * ((j == ch) - pf[j]);
        } else {
            double csum = 0;
            for (size_t i = 0; i < k; i++)
                if (keep[i])
                    csum += cr[i];
            for (size_t j = 0; j < k; j++)
                e[j] = keep[j] ? cr[j] - gr[j] * csum : 0;
        }
        add_outer(e, z, k, p, grad);
    }
}

/* The auxiliary load-balancing loss of rows [R0, R1) (one batch, unweighted rows) at THETA:
 *   switch:  L = alpha K sum_i f_i P_i, f_i = (rows keeping i) / (k n) (sum 1), P_i the mean
 *            full-softmax probability; f is piecewise constant, so the gradient is alpha K
 *            sum_i f_i dP_i: per row d/deta_j = p_j (a_j - sum_i a_i p_i), a_i = alpha K f_i/n.
 *   shazeer: L = w CV(Importance)^2, Importance_i = sum_n g_ni, CV^2 = var/mean^2 with the
 *            population (1/K) variance over the experts; dL/dImp_i = w (2/K) ((Imp_i - m)/m^2
 *            - var/m^3), and sum_i b_i g_i has the gradient of grad_rows with c_i = b_i g_i.
 * Two passes over the rows: the batch sums, then the gradient. */
static double topk_aux_rows(const moe_dataset *d, const moe_gate_shape *s, const double *theta,
                            size_t r0, size_t r1, moe_aux_loss aux, double weight, double *grad)
{
    size_t p = d->nz + 1, k = s->k, n = r1 - r0;
    double eta[MOE_K_MAX], g[MOE_K_MAX], pf[MOE_K_MAX], e[MOE_K_MAX];
    double f[MOE_K_MAX] = {0}, pm[MOE_K_MAX] = {0}, imp[MOE_K_MAX] = {0}, a[MOE_K_MAX];
    unsigned char keep[MOE_K_MAX];
    if (aux == MOE_AUX_NONE || weight == 0 || n == 0 || k < 2)
        return 0;
    for (size_t r = r0; r < r1; r++) {
        row_logits(d->z + r * p, theta, k, p, eta);
        row_gate(eta, k, s->top_k, keep, NULL, g, pf);
        for (size_t i = 0; i < k; i++) {
            f[i] += keep[i];
            pm[i] += pf[i];
            imp[i] += g[i];
        }
    }
    double loss = 0;
    if (aux == MOE_AUX_SWITCH) {
        for (size_t i = 0; i < k; i++) {
            f[i] /= (double)(s->top_k * n);
            pm[i] /= (double)n;
            loss += weight * (double)k * f[i] * pm[i];
            a[i] = weight * (double)k * f[i] / (double)n;
        }
    } else {
        double m = 0, v = 0;
        for (size_t i = 0; i < k; i++)
            m += imp[i] / (double)k;
        for (size_t i = 0; i < k; i++)
            v += (imp[i] - m) * (imp[i] - m) / (double)k;
        if (!(m > 0))
            return 0;
        loss = weight * v / (m * m);
        for (size_t i = 0; i < k; i++)
            a[i] = weight * 2 / (double)k * ((imp[i] - m) / (m * m) - v / (m * m * m));
    }
    if (!grad)
        return loss;
    for (size_t r = r0; r < r1; r++) {
        const double *z = d->z + r * p;
        row_logits(z, theta, k, p, eta);
        row_gate(eta, k, s->top_k, keep, NULL, g, pf);
        if (aux == MOE_AUX_SWITCH) {
            double ap = 0;
            for (size_t i = 0; i < k; i++)
                ap += a[i] * pf[i];
            for (size_t j = 0; j < k; j++)
                e[j] = pf[j] * (a[j] - ap);
            add_outer(e, z, k, p, grad);
        } else {
            double c[MOE_K_MAX];
            moe_dataset one = *d;
            for (size_t i = 0; i < k; i++)
                c[i] = a[i] * g[i];
            one.z = d->z + r * p;
            one.n = 1;
            topk_grad_rows(&one, s, theta, g, c, 0, 1, grad);
        }
    }
    return loss;
}

static size_t topk_fields(const moe_gate_shape *s, moe_param_field *f)
{
    f[0] = (moe_param_field){"gate_coef", 0, s->k - 1, s->nz + 1, 0, 0};
    return 1;
}

static void topk_get_theta(const moe_gate_shape *s, const double *par, double *theta)
{
    moe_gate_softmax.get_theta(s, par, theta);
}

static void topk_set_theta(const moe_gate_shape *s, const double *theta, double *par)
{
    moe_gate_softmax.set_theta(s, theta, par);
}

static int topk_is_slope(size_t j, const moe_gate_shape *s)
{
    return j % (s->nz + 1) != 0;
}

/* Renumbering moves rows as the softmax gate's does: the logits follow their experts, so the
 * kept sets do too (up to exact ties, which go to the lower new index). */
static void topk_permute(double *par, const moe_gate_shape *s, const size_t *perm)
{
    moe_gate_softmax.permute(par, s, perm);
}

static void topk_report(const moe_model *m, const double *theta, double *coef)
{
    moe_gate_softmax.report(m, theta, coef);
}

const moe_gate_type moe_gate_topk = {
    .name = "topk",
    .block_size = topk_block_size,
    .nparams = topk_nparams,
    .log_prob_rows = topk_log_prob_rows,
    .stat_size = topk_stat_size,
    .stat_add = NULL,
    .prob_rows = topk_prob_rows,
    .grad_rows = topk_grad_rows,
    .aux_rows = topk_aux_rows,
    .derivatives = NULL,
    .get_theta = topk_get_theta,
    .set_theta = topk_set_theta,
    .is_slope = topk_is_slope,
    .drop_expert = NULL,
    .permute = topk_permute,
    .report = topk_report,
    .fields = topk_fields,
};
