/* topk.c: the sparse noisy top-k gate (Shazeer et al. 2017; Switch for k = 1), its
 * batch-level losses (load balancing, router z-loss) and its expert capacity.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Clean logits eta_i = v_i'(1,z) with the softmax gate's rows (K rows of P = nz + 1, the last
 * row the reference 0: the kept set and the weights only depend on differences of logits, so
 * a free last row would add P unidentified directions; with it k = K is the softmax gate
 * exactly), then K free rows u_i of the noise scale: the block is 2 K P doubles, theta the
 * (K-1) P free v then the K P u. While gradient descent trains (the shape's noisy flag),
 *     h_i = eta_i + eps_i sd_i,   sd_i = softplus(u_i'z~) + 1e-2,   eps_i ~ N(0, 1),
 * eps_i drawn from a counter-based hash of (seed, step, batch row, expert), so a step's noise
 * depends on nothing else (not on threads); everywhere else h = eta. KeepTopK keeps the k
 * largest h (ties: the lower expert index); for k >= 2 the weights are the softmax over the
 * kept logits, g_i = exp(h_i) / sum_{j kept} exp(h_j) (i kept), 0 otherwise; for k = 1 the
 * Switch form, g_c = exp(h_c) / sum_j exp(h_j) of the chosen expert c (the full softmax's
 * probability, so the logits get a gradient). W_g = W_noise = 0 at the start (DESIGN.md
 * section 1): every expert ties, experts 0..k-1 are kept (without noise).
 *     grad of sum_i c_i log g_i:  k >= 2: d/dh_j = c_j - g_j sum_{i kept} c_i   (j kept; 0
 *                                 otherwise);  k = 1: d/dh_j = c_c (delta_jc - p_j)
 * and d/dv_j = (d/dh_j) z~ (j < K-1), d/du_j = (d/dh_j) eps_j sigmoid(u_j'z~) z~.
 * Capacity (training only): the batch's rows over an expert's capacity are dropped from it
 * (shape's drop mask); a dropped expert's weight is 0 and, for k >= 2, the softmax runs over
 * the row's other kept experts; a row dropped from every expert it keeps has every weight 0
 * (its nll then adds nothing, as a Switch token dropped everywhere passes the layer by).
 * No EM M-step (KeepTopK is not smooth): stat_add and derivatives are NULL, and only gradient
 * descent trains this gate. Plain exp and log, no kernel: the numbers are the same under
 * every kernel set. */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gates/gate.h"

/* The floor of the noise scale: the load estimator never divides by zero. */
#define NOISE_FLOOR 1e-2

static size_t topk_block_size(const moe_gate_shape *s) { return 2 * s->k * (s->nz + 1); }
static size_t topk_nparams(const moe_gate_shape *s) { return (2 * s->k - 1) * (s->nz + 1); }
static size_t topk_stat_size(const moe_gate_shape *s) { (void)s; return 1; }

/* One row's logits and gate (MOE_K_MAX each). */
typedef struct row_gate_work {
    double eta[MOE_K_MAX];  /* clean logits */
    double sd[MOE_K_MAX];   /* noise scales softplus(u'z~) + floor */
    double sig[MOE_K_MAX];  /* sigmoid(u'z~): d sd / d(u'z~) */
    double eps[MOE_K_MAX];  /* the noise draws (0 without noise) */
    double h[MOE_K_MAX];    /* noisy logits: eta + eps sd */
    double logg[MOE_K_MAX], g[MOE_K_MAX];
    double p[MOE_K_MAX];    /* the full softmax of h */
    unsigned char top[MOE_K_MAX];   /* the top k of h */
    unsigned char keep[MOE_K_MAX];  /* the top k less the experts capacity dropped */
} row_gate_work;

/* splitmix64's finaliser: a bijection of 64-bit words whose outputs pass as independent. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A standard normal draw from the counter (SEED, STEP, ROW, EXPERT): Box-Muller on two
 * uniforms in (0, 1) from hashes of it. */
static double noise_draw(unsigned long seed, size_t step, size_t row, size_t expert)
{
    uint64_t h = mix64(mix64(mix64(mix64((uint64_t)seed) ^ step) ^ row) ^ expert);
    uint64_t h2 = mix64(h);
    double u1 = ((double)(h >> 11) + 0.5) * 0x1p-53, u2 = ((double)(h2 >> 11) + 0.5) * 0x1p-53;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static double softplus(double a) { return a > 0 ? a + log1p(exp(-a)) : log1p(exp(a)); }

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

/* The logits of batch row ROW at gate design row Z (P values) from the clean rows V (K-1
 * used, the reference logit 0 last) and the noise rows U (K), with S's noise. */
static void row_logits(const moe_gate_shape *s, const double *z, const double *v,
                       const double *u, size_t row, row_gate_work *w)
{
    size_t k = s->k, p = s->nz + 1;
    for (size_t i = 0; i < k; i++) {
        double e = 0, a = 0;
        if (i + 1 < k)
            for (size_t j = 0; j < p; j++)
                e += v[i * p + j] * z[j];
        for (size_t j = 0; j < p; j++)
            a += u[i * p + j] * z[j];
        w->eta[i] = e;
        w->sd[i] = softplus(a) + NOISE_FLOOR;
        w->sig[i] = 1 / (1 + exp(-a));
        w->eps[i] = s->noisy ? noise_draw(s->noise_seed, s->noise_step, row, i) : 0;
        w->h[i] = e + w->eps[i] * w->sd[i];
    }
}

/* log g, g, the kept sets and the full softmax P of one row from its logits H; DROP (K, may
 * be NULL): the experts capacity dropped the row from. */
static void row_gate(row_gate_work *w, size_t k, size_t topk, const unsigned char *drop)
{
    const double *eta = w->h;
    unsigned char *keep = w->keep;
    keep_top(eta, k, topk, w->top);
    for (size_t i = 0; i < k; i++)
        keep[i] = w->top[i] && !(drop && drop[i]);
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
        w->logg[i] = l;
        w->g[i] = keep[i] ? exp(l) : 0;
        w->p[i] = exp(eta[i] - la);
    }
}

/* Row R of D (batch row s->row0 + R) at gate parameters V (clean rows) and U (noise rows). */
static void row_eval(const moe_dataset *d, const moe_gate_shape *s, const double *v,
                     const double *u, size_t r, row_gate_work *w)
{
    size_t row = s->row0 + r;
    row_logits(s, d->z + r * (d->nz + 1), v, u, row, w);
    row_gate(w, s->k, s->top_k, s->drop ? s->drop + row * s->k : NULL);
}

static void topk_prob_rows(const moe_dataset *d, const moe_gate_shape *s, const double *par,
                           size_t r0, size_t r1, double *logg, double *g)
{
    size_t k = s->k, p = d->nz + 1;
    row_gate_work w;
    for (size_t r = r0; r < r1; r++) {
        row_eval(d, s, par, par + k * p, r, &w);
        memcpy(logg + (r - r0) * k, w.logg, k * sizeof *logg);
        if (g)
            memcpy(g + (r - r0) * k, w.g, k * sizeof *g);
    }
}

static void topk_log_prob_rows(const moe_dataset *d, const moe_gate_shape *s,
                               const double *par, size_t r0, size_t r1, double *logg)
{
    topk_prob_rows(d, s, par, r0, r1, logg, NULL);
}

/* Adds the logit weights EV (K: the clean logits' coefficients of z~) and EU (K: the noise
 * rows') to GRAD (theta's layout: K-1 rows of v, then K rows of u). */
static void add_outer(const double *ev, const double *eu, const double *z, size_t k, size_t p,
                      double *grad)
{
    double *gu = grad + (k - 1) * p;
    for (size_t i = 0; i < k; i++) {
        if (i + 1 < k && ev[i] != 0)
            for (size_t j = 0; j < p; j++)
                grad[i * p + j] += ev[i] * z[j];
        if (eu[i] != 0)
            for (size_t j = 0; j < p; j++)
                gu[i * p + j] += eu[i] * z[j];
    }
}

/* d/dh of sum_i c_i log g_i for one row (CR, its G in GR) into E (K). */
static void row_dh(const row_gate_work *w, size_t k, size_t topk, const double *cr,
                   const double *gr, double *e)
{
    const unsigned char *keep = w->keep;
    const double *pf = w->p;
    if (topk == 1) {
        size_t ch = 0;
        while (ch < k && !keep[ch])
            ch++;
        for (size_t j = 0; j < k; j++)
            e[j] = ch < k ? cr[ch] * ((j == ch) - pf[j]) : 0;
    } else {
        double csum = 0;
        for (size_t i = 0; i < k; i++)
            if (keep[i])
                csum += cr[i];
        for (size_t j = 0; j < k; j++)
            e[j] = keep[j] ? cr[j] - gr[j] * csum : 0;
    }
}

/* The coefficients of z~ that a gradient E on the noisy logits H gives v (EV) and u (EU). */
static void dh_to_params(const row_gate_work *w, size_t k, const double *e, double *ev,
                         double *eu)
{
    for (size_t j = 0; j < k; j++) {
        ev[j] = e[j];
        eu[j] = e[j] * w->eps[j] * w->sig[j];
    }
}

/* The logits are recomputed from THETA (the kept sets and, for k = 1, the full softmax) with
 * the same noise as prob_rows; G gives the kept weights. */
static void topk_grad_rows(const moe_dataset *d, const moe_gate_shape *s, const double *theta,
                           const double *g, const double *c, size_t r0, size_t r1,
                           double *grad)
{
    size_t p = d->nz + 1, k = s->k;
    double e[MOE_K_MAX], ev[MOE_K_MAX], eu[MOE_K_MAX];
    row_gate_work w;
    for (size_t r = r0; r < r1; r++) {
        row_eval(d, s, theta, theta + (k - 1) * p, r, &w);
        row_dh(&w, k, s->top_k, c + r * k, g + r * k, e);
        dh_to_params(&w, k, e, ev, eu);
        add_outer(ev, eu, d->z + r * p, k, p, grad);
    }
}

/* WEIGHT CV(V)^2 of the K values V, with the population (1/K) variance over the experts;
 * A (K) gets its gradient dL/dV_i = WEIGHT (2/K) ((V_i - m)/m^2 - var/m^3). 0 (and A = 0)
 * for a mean of 0. */
static double cv2_loss(const double *vals, size_t k, double weight, double *a)
{
    double m = 0, v = 0;
    for (size_t i = 0; i < k; i++)
        m += vals[i] / (double)k;
    for (size_t i = 0; i < k; i++)
        v += (vals[i] - m) * (vals[i] - m) / (double)k;
    if (!(m > 0)) {
        memset(a, 0, k * sizeof *a);
        return 0;
    }
    for (size_t i = 0; i < k; i++)
        a[i] = weight * 2 / (double)k * ((vals[i] - m) / (m * m) - v / (m * m * m));
    return weight * v / (m * m);
}

/* The normal-CDF load estimator of one row (Shazeer et al. 2017): for expert i,
 * P_i = Phi((eta_i - thr_i) / sd_i), thr_i the k-th largest noisy logit with i left out
 * (from the top k + 1 of h: the (k+1)-th when i is in the top k, else the k-th), into PL;
 * ARG gets the argument of Phi and THR the expert whose h is thr_i. Needs k < K. */
static void row_load(const row_gate_work *w, size_t k, size_t topk, double *pl, double *arg,
                     size_t *thr)
{
    size_t order[MOE_K_MAX + 1];
    unsigned char seen[MOE_K_MAX] = {0};
    for (size_t t = 0; t <= topk; t++) {  /* the top k + 1 in order, ties to the lower index */
        size_t best = k;
        for (size_t i = 0; i < k; i++)
            if (!seen[i] && (best == k || w->h[i] > w->h[best]))
                best = i;
        seen[best] = 1;
        order[t] = best;
    }
    for (size_t i = 0; i < k; i++) {
        size_t m = w->top[i] ? order[topk] : order[topk - 1];
        arg[i] = (w->eta[i] - w->h[m]) / w->sd[i];
        pl[i] = 0.5 * erfc(-arg[i] / M_SQRT2);
        thr[i] = m;
    }
}

/* The batch-level losses of rows [R0, R1) (one batch, unweighted rows) at THETA:
 *   switch:  alpha K sum_i f_i P_i, f_i = (rows keeping i) / (k n) (sum 1), P_i the mean
 *            full-softmax probability; f is piecewise constant, so the gradient is alpha K
 *            sum_i f_i dP_i: per row d/dh_j = p_j (a_j - sum_i a_i p_i), a_i = alpha K f_i/n.
 *   shazeer: w_imp CV(Importance)^2 + w_load CV(Load)^2, Importance_i = sum_n g_ni,
 *            Load_i = sum_n P_ni (row_load); dL/dImp_i = a_i (cv2_loss), and sum_i a_i g_i
 *            has the gradient of grad_rows with c_i = a_i g_i; dL/dLoad_i = b_i, and
 *            dP_i = phi(arg) (deta_i - dh_thr - arg dsd_i) / sd_i.
 *   z-loss:  w_z mean_n (log sum_j exp h_nj)^2: d/dh_j = w_z 2 lse p_j / n.
 * Two passes over the rows: the batch sums, then the gradient. */
static double topk_aux_rows(const moe_dataset *d, const moe_gate_shape *s, const double *theta,
                            size_t r0, size_t r1, const moe_gate_losses *l, double *grad)
{
    size_t p = d->nz + 1, k = s->k, n = r1 - r0, tk = s->top_k;
    const double *u = theta + (k - 1) * p;
    double f[MOE_K_MAX] = {0}, pm[MOE_K_MAX] = {0}, imp[MOE_K_MAX] = {0}, a[MOE_K_MAX] = {0};
    double load[MOE_K_MAX] = {0}, b[MOE_K_MAX] = {0}, pl[MOE_K_MAX], arg[MOE_K_MAX];
    double e[MOE_K_MAX], e2[MOE_K_MAX], ev[MOE_K_MAX], eu[MOE_K_MAX];
    size_t thr[MOE_K_MAX];
    row_gate_work w;
    moe_aux_loss aux = l->aux;
    double weight = l->aux_weight, zw = l->z_weight;
    int bal = aux != MOE_AUX_NONE && (weight != 0 || (aux == MOE_AUX_SHAZEER &&
                                                      l->load_weight != 0));
    int with_load = aux == MOE_AUX_SHAZEER && l->load_weight != 0 && tk < k;
    if ((!bal && zw == 0) || n == 0 || k < 2)
        return 0;
    double loss = 0;
    for (size_t r = r0; r < r1; r++) {
        row_eval(d, s, theta, u, r, &w);
        for (size_t i = 0; i < k; i++) {
            f[i] += w.keep[i];
            pm[i] += w.p[i];
            imp[i] += w.g[i];
        }
        if (with_load) {
            row_load(&w, k, tk, pl, arg, thr);
            for (size_t i = 0; i < k; i++)
                load[i] += pl[i];
        }
        if (zw != 0) {
            double ma = -INFINITY, sa = 0;
            for (size_t i = 0; i < k; i++)
                ma = w.h[i] > ma ? w.h[i] : ma;
            for (size_t i = 0; i < k; i++)
                sa += exp(w.h[i] - ma);
            double lse = ma + log(sa);
            loss += zw * lse * lse / (double)n;
        }
    }
    if (bal && aux == MOE_AUX_SWITCH) {
        for (size_t i = 0; i < k; i++) {
            f[i] /= (double)(s->top_k * n);
            pm[i] /= (double)n;
            loss += weight * (double)k * f[i] * pm[i];
            a[i] = weight * (double)k * f[i] / (double)n;
        }
    } else if (bal) {
        loss += cv2_loss(imp, k, weight, a);
        if (with_load)
            loss += cv2_loss(load, k, l->load_weight, b);
    }
    if (!grad)
        return loss;
    for (size_t r = r0; r < r1; r++) {
        const double *z = d->z + r * p;
        row_eval(d, s, theta, u, r, &w);
        memset(e, 0, k * sizeof *e);
        if (bal && aux == MOE_AUX_SWITCH) {
            double ap = 0;
            for (size_t i = 0; i < k; i++)
                ap += a[i] * w.p[i];
            for (size_t j = 0; j < k; j++)
                e[j] = w.p[j] * (a[j] - ap);
        } else if (bal) {
            double c[MOE_K_MAX];
            for (size_t i = 0; i < k; i++)
                c[i] = a[i] * w.g[i];
            row_dh(&w, k, tk, c, w.g, e);
        }
        if (zw != 0) {
            double ma = -INFINITY, sa = 0;
            for (size_t i = 0; i < k; i++)
                ma = w.h[i] > ma ? w.h[i] : ma;
            for (size_t i = 0; i < k; i++)
                sa += exp(w.h[i] - ma);
            double lse = ma + log(sa);
            for (size_t j = 0; j < k; j++)
                e[j] += zw * 2 * lse * w.p[j] / (double)n;
        }
        dh_to_params(&w, k, e, ev, eu);
        if (with_load) {
            row_load(&w, k, tk, pl, arg, thr);
            memset(e2, 0, k * sizeof *e2);  /* the threshold experts' logits */
            for (size_t i = 0; i < k; i++) {
                double c1 = b[i] * exp(-0.5 * arg[i] * arg[i]) / sqrt(2 * M_PI) / w.sd[i];
                ev[i] += c1;
                eu[i] -= c1 * arg[i] * w.sig[i];
                e2[thr[i]] -= c1;
            }
            for (size_t j = 0; j < k; j++) {
                ev[j] += e2[j];
                eu[j] += e2[j] * w.eps[j] * w.sig[j];
            }
        }
        add_outer(ev, eu, z, k, p, grad);
    }
    return loss;
}

static void topk_capacity_rows(const moe_dataset *d, const moe_gate_shape *s,
                               const double *par, size_t r0, size_t r1, double factor,
                               unsigned char *drop, size_t *dropped)
{
    size_t k = s->k, p = d->nz + 1, n = r1 - r0, taken[MOE_K_MAX] = {0};
    double cap = ceil(factor * (double)(n * s->top_k) / (double)k);
    moe_gate_shape sn = *s;
    row_gate_work w;
    sn.drop = NULL;
    if (dropped)
        memset(dropped, 0, k * sizeof *dropped);
    for (size_t r = r0; r < r1; r++) {
        unsigned char *dr = drop + (r - r0) * k;
        row_logits(&sn, d->z + r * p, par, par + k * p, sn.row0 + r, &w);
        keep_top(w.h, k, s->top_k, w.top);
        for (size_t i = 0; i < k; i++) {
            dr[i] = 0;
            if (!w.top[i])
                continue;
            if ((double)taken[i] < cap) {
                taken[i]++;
            } else {
                dr[i] = 1;
                if (dropped)
                    dropped[i]++;
            }
        }
    }
}

static size_t topk_fields(const moe_gate_shape *s, moe_param_field *f)
{
    size_t p = s->nz + 1;
    f[0] = (moe_param_field){"gate_coef", 0, s->k - 1, p, 0, 0};
    f[1] = (moe_param_field){"gate_noise", s->k * p, s->k, p, 0, 0};
    return 2;
}

static void topk_get_theta(const moe_gate_shape *s, const double *par, double *theta)
{
    size_t k = s->k, p = s->nz + 1;
    moe_gate_softmax.get_theta(s, par, theta);
    memcpy(theta + (k - 1) * p, par + k * p, k * p * sizeof *theta);
}

static void topk_set_theta(const moe_gate_shape *s, const double *theta, double *par)
{
    size_t k = s->k, p = s->nz + 1;
    moe_gate_softmax.set_theta(s, theta, par);
    memcpy(par + k * p, theta + (k - 1) * p, k * p * sizeof *par);
}

static int topk_is_slope(size_t j, const moe_gate_shape *s)
{
    return j % (s->nz + 1) != 0;
}

/* Renumbering moves the logit rows as the softmax gate's does (the logits follow their
 * experts, so the kept sets do too, up to exact ties, which go to the lower new index) and
 * the noise rows with them. */
static void topk_permute(double *par, const moe_gate_shape *s, const size_t *perm)
{
    size_t k = s->k, p = s->nz + 1;
    double tmp[MOE_K_MAX];
    moe_gate_softmax.permute(par, s, perm);
    for (size_t j = 0; j < p; j++) {
        double *u = par + k * p + j;
        for (size_t t = 0; t < k; t++)
            tmp[t] = u[perm[t] * p];
        for (size_t t = 0; t < k; t++)
            u[t * p] = tmp[t];
    }
}

/* The logit rows as the softmax gate reports them, then the noise rows on the data's scale. */
static void topk_report(const moe_model *m, const double *theta, double *coef)
{
    size_t k = m->k, p = m->nz + 1;
    moe_gate_softmax.report(m, theta, coef);
    for (size_t i = 0; i < k; i++)
        moe_model_unscale_gate(m, theta + (k - 1 + i) * p, coef + (k - 1 + i) * p);
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
    .capacity_rows = topk_capacity_rows,
    .derivatives = NULL,
    .get_theta = topk_get_theta,
    .set_theta = topk_set_theta,
    .is_slope = topk_is_slope,
    .drop_expert = NULL,
    .permute = topk_permute,
    .report = topk_report,
    .fields = topk_fields,
};
