/* layer_impl.h: the sparse mixture-of-experts layer (noisy top-k routing to d -> h -> d MLP
 * experts), written once for one floating type and included by layer.c (float, the public
 * moe_sparse_* layer) and layer64.c (double, the reference the tests take finite differences
 * of). The includer defines REAL (the type), SP(name) (the function-name prefix), LAYER (the
 * struct's name), GEMM_CALL(l, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc) (the float
 * layer's choice of the kernels table's sgemm or OpenBLAS's, the double twin's dgemm) and
 * KERN(slot) (the row-loop kernel of that name: the float layer's from the kernels table,
 * the double twin's from kernels/sparse_impl.h instantiated for double).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * The formulas are DESIGN.md section 1's (Shazeer et al. 2017; Switch, Fedus et al. 2021):
 *   clean = x W_g,  H = clean + eps * (softplus(x W_noise) + 1e-2)  (eps ~ N(0,1), training
 *   only, drawn from (seed, step, token, expert) so that the same call draws the same noise),
 *   the k largest H kept (ties: the lower expert index), G = softmax of the kept values
 *   (k = 1: the full softmax's probability of the chosen expert, the Switch form, so that the
 *   router still gets a gradient), y = sum over the kept experts of G E_i(x), with
 *   E_i(x) = act(x W1_i + b1_i) W2_i + b2_i.
 * Auxiliary losses, added to the caller's loss by backward:
 *   shazeer: w_imp CV(Importance)^2 + w_load CV(Load)^2, Importance_i = sum_x G(x)_i,
 *            Load_i = sum_x Phi((clean_i - kth_excluding(H, k, i)) / s_i) (noisy training
 *            only; the threshold is the k-th largest H without i, taken from the top k + 1);
 *   switch:  alpha E sum_i f_i P_i, f_i the share of the T k assignments routed to i (before
 *            capacity), P_i the mean full-softmax probability;
 *   z-loss:  w_z mean_x logsumexp(H)^2.
 * CV^2 = variance / mean^2 with the population variance (divisor E).
 * Capacity (capacity_factor > 0): an expert takes at most ceil(cf T k / E) assignments, in
 * token order then rank order; the rest are dropped (contribute nothing) and counted.
 *
 * Workspaces are allocated once (alloc) for max_tokens tokens; forward and backward allocate
 * nothing. Every sum is taken in a fixed order (the GEMMs are BLAS's). The row loops (routing,
 * dispatch, combine and their backward) run over fixed blocks of SP_BLOCK tokens or grouped
 * rows, in parallel; each block writes rows of its own, so the result does not depend on the
 * number of threads. */

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/kernels.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct LAYER {
    moe_sparse_config c;
    size_t np;            /* parameters */
    REAL *par, *grad;     /* np each: W_g (d x E), W_noise (d x E), then per expert
                             W1 (d x h), b1 (h), W2 (h x d), b2 (d) */
    /* the last forward call's state, for backward */
    size_t tokens;
    int training;
    const REAL *x;        /* the caller's input (kept, not copied: it must outlive backward) */
    REAL *clean, *nlog, *scale, *eps, *hval;  /* T x E each: x W_g, x W_noise, s, eps, H */
    REAL *prob;           /* T x E: the full softmax of H */
    REAL *lse;            /* T: its log-sum-exp */
    size_t *idx;          /* T x k: the kept experts, by rank */
    size_t *top;          /* T x min(k + 1, E): the largest H, by rank (topk_rows) */
    REAL *gate;           /* T x k: their weights G */
    REAL *thr_hi, *thr_lo;  /* T: the (k+1)-th and k-th largest H (load estimator) */
    size_t *thr_hi_at, *thr_lo_at;  /* T: which experts hold them */
    size_t *row;          /* T x k: the assignment's row in the grouped buffers, or SIZE_MAX
                             when dropped */
    size_t *token;        /* T k: the token of each grouped row */
    size_t *start, *count, *dropped, *routed;  /* E (+1 for start) */
    REAL *xg, *a, *act, *out;   /* grouped rows: inputs (d), pre-activations (h),
                                   activations (h), outputs (d) */
    REAL *dout, *da, *dxg;      /* backward: d out (d), d a (h), d xg (d) */
    REAL *dh, *dnl, *dg;        /* T x E, T x E, T x k */
    int blas;             /* 1: OpenBLAS's GEMM, 0: the kernels table's (float layer) */
    REAL *work;           /* the kernels' sgemm workspaces, one per thread */
    int nthreads;         /* threads over experts (1 when BLAS threads the GEMMs itself) */
    double *load_part;    /* ceil(T / SP_BLOCK) x E: the load estimator's sums per block */
    double imp_coef[MOE_SPARSE_MAX_EXPERTS], load_coef[MOE_SPARSE_MAX_EXPERTS];
    double switch_f[MOE_SPARSE_MAX_EXPERTS];
    moe_sparse_stats st;
};

/* ---------------------------------------------------------------- small pieces */

static int SP(max_threads)(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* this thread's sgemm workspace */
static inline REAL *SP(work_of)(struct LAYER *l)
{
#ifdef _OPENMP
    return l->work + (size_t)omp_get_thread_num() * MOE_KERNELS_SGEMM_WORK;
#else
    return l->work;
#endif
}


static inline REAL SP(softplus)(REAL v)
{
    return v > 0 ? v + (REAL)log1p(exp(-(double)v)) : (REAL)log1p(exp((double)v));
}

static inline REAL SP(sigmoid)(REAL v) { return (REAL)(1.0 / (1.0 + exp(-(double)v))); }

/* tokens (or grouped rows) per block of the parallel row loops */
#define SP_BLOCK 256

/* a standard normal draw from (seed, step, t, e): two splitmix64 outputs, Box-Muller */
static uint64_t SP(mix)(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double SP(normal)(uint64_t seed, uint64_t step, uint64_t t, uint64_t e)
{
    uint64_t h = SP(mix)(SP(mix)(SP(mix)(seed) ^ step) ^ (t * 0x100000001b3ULL + e));
    double u1 = ((double)(h >> 11) + 0.5) / 9007199254740992.0;
    double u2 = ((double)(SP(mix)(h) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static double SP(uniform)(uint64_t *state)
{
    *state = SP(mix)(*state);
    return ((double)(*state >> 11) + 0.5) / 9007199254740992.0;
}

/* C (M x N) = A (M x K) B (K x N), row-major; transposes as asked; BETA 0 or 1 */
static void SP(gemm)(struct LAYER *l, int ta, int tb, size_t m, size_t n, size_t k,
                     const REAL *a, size_t lda, const REAL *b, size_t ldb, REAL beta, REAL *c,
                     size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        if (beta == 0)
            for (size_t i = 0; i < m; i++)
                memset(c + i * ldc, 0, n * sizeof *c);
        return;
    }
    GEMM_CALL(l, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

/* offsets of expert e's blocks in the parameter vector */
static size_t SP(off_w1)(const moe_sparse_config *c, size_t e)
{
    return 2 * c->d * c->experts + e * (2 * c->d * c->hidden + c->hidden + c->d);
}

/* ---------------------------------------------------------------- alloc / free */

static void *SP(zalloc)(size_t n, size_t size) { return calloc(n > 0 ? n : 1, size); }

static void SP(free_impl)(struct LAYER *l)
{
    if (!l)
        return;
    void *p[] = {l->par, l->grad, l->clean, l->nlog, l->scale, l->eps, l->hval, l->prob,
                 l->lse, l->idx, l->top, l->gate, l->thr_hi, l->thr_lo, l->thr_hi_at, l->thr_lo_at,
                 l->row, l->token, l->start, l->count, l->dropped, l->routed, l->xg, l->a, l->work,
                 l->act, l->out, l->dout, l->da, l->dxg, l->dh, l->dnl, l->dg, l->load_part};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
    free(l);
}

static int SP(alloc_impl)(const moe_sparse_config *c, struct LAYER **out, moe_error *err)
{
    *out = NULL;
    const char *why = moe_sparse_config_check(c);
    if (why)
        return moe_error_set(err, MOE_EINVAL, "sparse layer: %s", why);
    struct LAYER *l = calloc(1, sizeof *l);
    if (!l)
        return moe_error_set(err, MOE_ENOMEM, "sparse layer: out of memory");
    l->c = *c;
    l->nthreads = SP(max_threads)();
    size_t d = c->d, h = c->hidden, E = c->experts, k = c->top_k, T = c->max_tokens;
    size_t rows = T * k;
    l->np = 2 * d * E + E * (2 * d * h + h + d);
#define ALLOC(p, n) (((p) = SP(zalloc)((n), sizeof *(p))) != NULL)
    int ok = ALLOC(l->par, l->np) && ALLOC(l->grad, l->np) && ALLOC(l->clean, T * E) &&
             ALLOC(l->nlog, T * E) && ALLOC(l->scale, T * E) && ALLOC(l->eps, T * E) &&
             ALLOC(l->hval, T * E) && ALLOC(l->prob, T * E) && ALLOC(l->lse, T) &&
             ALLOC(l->idx, rows) && ALLOC(l->top, T * (k + 1)) && ALLOC(l->gate, rows) && ALLOC(l->thr_hi, T) &&
             ALLOC(l->thr_lo, T) && ALLOC(l->thr_hi_at, T) && ALLOC(l->thr_lo_at, T) &&
             ALLOC(l->row, rows) && ALLOC(l->token, rows) && ALLOC(l->start, E + 1) &&
             ALLOC(l->count, E) && ALLOC(l->dropped, E) && ALLOC(l->routed, E) &&
             ALLOC(l->xg, rows * d) && ALLOC(l->a, rows * h) && ALLOC(l->act, rows * h) &&
             ALLOC(l->out, rows * d) && ALLOC(l->dout, rows * d) && ALLOC(l->da, rows * h) &&
             ALLOC(l->dxg, rows * d) && ALLOC(l->dh, T * E) && ALLOC(l->dnl, T * E) &&
             ALLOC(l->dg, rows) && ALLOC(l->load_part, (T + SP_BLOCK - 1) / SP_BLOCK * E) && ALLOC(l->work, MOE_KERNELS_SGEMM_WORK * (size_t)SP(max_threads)());
#undef ALLOC
    if (!ok) {
        SP(free_impl)(l);
        return moe_error_set(err, MOE_ENOMEM, "sparse layer: out of memory (%zu tokens)", T);
    }
    /* W_g = W_noise = 0 (so routing starts even); expert weights uniform in +-1/sqrt(fan-in),
     * biases 0, from the seed */
    uint64_t state = SP(mix)((uint64_t)c->seed);
    for (size_t e = 0; e < E; e++) {
        REAL *w1 = l->par + SP(off_w1)(c, e), *w2 = w1 + d * h + h;
        for (size_t j = 0; j < d * h; j++)
            w1[j] = (REAL)((2 * SP(uniform)(&state) - 1) / sqrt((double)d));
        for (size_t j = 0; j < h * d; j++)
            w2[j] = (REAL)((2 * SP(uniform)(&state) - 1) / sqrt((double)h));
    }
    *out = l;
    return MOE_SUCCESS;
}

/* ---------------------------------------------------------------- forward */

/* after softmax_rows and topk_rows: token t's kept experts, the k-th and (k+1)-th largest H
 * and their holders, and the weights G of the kept experts */
static void SP(route_token)(struct LAYER *l, size_t t)
{
    size_t E = l->c.experts, k = l->c.top_k, m = k + 1 <= E ? k + 1 : k;
    const REAL *hv = l->hval + t * E, *p = l->prob + t * E;
    const size_t *top = l->top + t * m;
    size_t *idx = l->idx + t * k;
    for (size_t s = 0; s < k; s++)
        idx[s] = top[s];
    l->thr_lo[t] = hv[top[k - 1]];
    l->thr_lo_at[t] = top[k - 1];
    l->thr_hi[t] = m > k ? hv[top[k]] : -INFINITY;
    l->thr_hi_at[t] = m > k ? top[k] : SIZE_MAX;
    REAL *g = l->gate + t * k;
    if (k == 1) {   /* the Switch form: the full softmax's probability */
        g[0] = p[idx[0]];
    } else {        /* the softmax of the kept logits, from the full one's probabilities */
        double gs = 0;
        for (size_t s = 0; s < k; s++)
            gs += p[idx[s]];
        for (size_t s = 0; s < k; s++)
            g[s] = (REAL)(p[idx[s]] / gs);
    }
}

/* CV^2 of V (E values, population variance) and its gradient into DV */
static double SP(cv2)(const double *v, size_t n, double *dv)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s += v[i];
        s2 += v[i] * v[i];
    }
    double mean = s / (double)n, msq = s2 / (double)n;
    if (!(mean > 0)) {
        for (size_t i = 0; i < n; i++)
            dv[i] = 0;
        return 0;
    }
    /* CV^2 = msq / mean^2 - 1 */
    for (size_t i = 0; i < n; i++)
        dv[i] = (2 * v[i] / (double)n) / (mean * mean) - 2 * msq / (mean * mean * mean) / (double)n;
    return msq / (mean * mean) - 1;
}

static double SP(phi_cdf)(double z) { return 0.5 * erfc(-z * M_SQRT1_2); }

static int SP(forward_impl)(struct LAYER *l, const REAL *x, size_t T, int training,
                            unsigned long step, REAL *y, moe_sparse_stats *st, moe_error *err)
{
    const moe_sparse_config *c = &l->c;
    size_t d = c->d, h = c->hidden, E = c->experts, k = c->top_k;
    if (T > c->max_tokens)
        return moe_error_set(err, MOE_EBADLEN, "sparse layer: %zu tokens, more than the %zu "
                             "it was allocated for", T, c->max_tokens);
    if (T > 0 && (!x || !y))
        return moe_error_set(err, MOE_EINVAL, "sparse layer: NULL input or output");
    l->tokens = T;
    l->training = training;
    l->x = x;
    int noisy = c->noisy && training;
    int nth = l->nthreads;
    size_t m = k + 1 <= E ? k + 1 : k;
    /* router logits */
    SP(gemm)(l, 0, 0, T, E, d, x, d, l->par, E, 0, l->clean, E);
    if (noisy) {
        SP(gemm)(l, 0, 0, T, E, d, x, d, l->par + d * E, E, 0, l->nlog, E);
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1 && T > SP_BLOCK)
        for (size_t t = 0; t < T; t++)
            for (size_t e = 0; e < E; e++) {
                size_t j = t * E + e;
                l->scale[j] = SP(softplus)(l->nlog[j]) + (REAL)MOE_SPARSE_NOISE_FLOOR;
                l->eps[j] = (REAL)SP(normal)(c->seed, step, t, e);
                l->hval[j] = l->clean[j] + l->eps[j] * l->scale[j];
            }
    } else {
        memcpy(l->hval, l->clean, T * E * sizeof *l->hval);
    }
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1 && T > SP_BLOCK)
    for (size_t b = 0; b < T; b += SP_BLOCK) {
        size_t nb = T - b < SP_BLOCK ? T - b : SP_BLOCK;
        KERN(softmax_rows)(nb, E, l->hval + b * E, l->prob + b * E, l->lse + b);
        KERN(topk_rows)(nb, E, m, l->hval + b * E, l->top + b * m);
        for (size_t t = b; t < b + nb; t++)
            SP(route_token)(l, t);
    }
    /* capacity and the grouping of assignments by expert */
    size_t cap = SIZE_MAX;
    if (c->capacity_factor > 0)
        cap = (size_t)ceil(c->capacity_factor * (double)(T * k) / (double)E);
    memset(l->count, 0, E * sizeof *l->count);
    memset(l->dropped, 0, E * sizeof *l->dropped);
    memset(l->routed, 0, E * sizeof *l->routed);
    for (size_t t = 0; t < T; t++)
        for (size_t s = 0; s < k; s++) {
            size_t e = l->idx[t * k + s];
            l->routed[e]++;
            if (l->count[e] < cap) {
                l->row[t * k + s] = l->count[e]++;   /* rank within the expert for now */
            } else {
                l->row[t * k + s] = SIZE_MAX;
                l->dropped[e]++;
            }
        }
    l->start[0] = 0;
    for (size_t e = 0; e < E; e++)
        l->start[e + 1] = l->start[e] + l->count[e];
    for (size_t t = 0; t < T; t++)
        for (size_t s = 0; s < k; s++) {
            size_t *r = &l->row[t * k + s];
            if (*r == SIZE_MAX)
                continue;
            *r += l->start[l->idx[t * k + s]];
            l->token[*r] = t;
        }
    size_t grouped = l->start[E];
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1 && grouped > SP_BLOCK)
    for (size_t b = 0; b < grouped; b += SP_BLOCK)
        KERN(gather_rows)(grouped - b < SP_BLOCK ? grouped - b : SP_BLOCK, d, x, l->token + b,
                          l->xg + b * d);
    /* the experts on their rows: each expert's rows are its own, so the threads write apart
     * and the result does not depend on their number */
    int nex = l->blas ? 1 : nth;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nex) if (nex > 1)
    for (size_t e = 0; e < E; e++) {
        size_t r0 = l->start[e], n = l->count[e];
        if (n == 0)
            continue;
        const REAL *w1 = l->par + SP(off_w1)(c, e), *b1 = w1 + d * h, *w2 = b1 + h,
                   *b2 = w2 + h * d;
        REAL *a = l->a + r0 * h, *ac = l->act + r0 * h, *o = l->out + r0 * d;
        for (size_t r = 0; r < n; r++)   /* the biases first, then the GEMMs add to them */
            memcpy(a + r * h, b1, h * sizeof *a);
        SP(gemm)(l, 0, 0, n, h, d, l->xg + r0 * d, d, w1, h, 1, a, h);
        KERN(act_forward)(c->activation, n * h, a, ac);
        for (size_t r = 0; r < n; r++)
            memcpy(o + r * d, b2, d * sizeof *o);
        SP(gemm)(l, 0, 0, n, d, h, ac, h, w2, d, 1, o, d);
    }
    /* combine */
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1 && T > SP_BLOCK)
    for (size_t b = 0; b < T; b += SP_BLOCK)
        KERN(combine_rows)(T - b < SP_BLOCK ? T - b : SP_BLOCK, k, d, l->row + b * k,
                           l->gate + b * k, l->out, y + b * d);
    /* the auxiliary losses and their coefficients for backward */
    moe_sparse_stats *S = &l->st;
    memset(S, 0, sizeof *S);
    double imp[MOE_SPARSE_MAX_EXPERTS] = {0}, load[MOE_SPARSE_MAX_EXPERTS] = {0};
    for (size_t t = 0; t < T; t++)
        for (size_t s = 0; s < k; s++)
            imp[l->idx[t * k + s]] += l->gate[t * k + s];
    if (noisy && k < E) {
        /* per block of tokens, then the blocks in order: the same sums for any thread count */
        size_t nb = (T + SP_BLOCK - 1) / SP_BLOCK;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1 && nb > 1)
        for (size_t b = 0; b < nb; b++) {
            double *part = l->load_part + b * E;
            for (size_t e = 0; e < E; e++)
                part[e] = 0;
            for (size_t t = b * SP_BLOCK; t < T && t < (b + 1) * SP_BLOCK; t++)
                for (size_t e = 0; e < E; e++) {
                    size_t j = t * E + e;
                    int kept = 0;
                    for (size_t s = 0; s < k; s++)
                        kept |= l->idx[t * k + s] == e;
                    double thr = kept ? l->thr_hi[t] : l->thr_lo[t];
                    part[e] += SP(phi_cdf)((l->clean[j] - thr) / l->scale[j]);
                }
        }
        for (size_t b = 0; b < nb; b++)
            for (size_t e = 0; e < E; e++)
                load[e] += l->load_part[b * E + e];
    } else
        for (size_t e = 0; e < E; e++)
            load[e] = (double)l->routed[e];
    S->importance_cv2 = SP(cv2)(imp, E, l->imp_coef);
    S->load_cv2 = SP(cv2)(load, E, l->load_coef);
    double aux = 0;
    if (c->aux == MOE_AUX_SHAZEER) {
        aux += c->w_importance * S->importance_cv2;
        if (noisy && k < E)
            aux += c->w_load * S->load_cv2;
        for (size_t e = 0; e < E; e++) {
            l->imp_coef[e] *= c->w_importance;
            l->load_coef[e] = noisy && k < E ? l->load_coef[e] * c->w_load : 0;
        }
    } else {
        for (size_t e = 0; e < E; e++)
            l->imp_coef[e] = l->load_coef[e] = 0;
    }
    for (size_t e = 0; e < E; e++)
        l->switch_f[e] = T > 0 ? (double)l->routed[e] / (double)(T * k) : 0;
    if (c->aux == MOE_AUX_SWITCH && T > 0) {
        for (size_t e = 0; e < E; e++) {
            double pm = 0;
            for (size_t t = 0; t < T; t++)
                pm += l->prob[t * E + e];
            aux += c->w_switch * (double)E * l->switch_f[e] * pm / (double)T;
        }
    }
    if (c->w_z > 0 && T > 0) {
        double z = 0;
        for (size_t t = 0; t < T; t++)
            z += (double)l->lse[t] * l->lse[t];
        aux += c->w_z * z / (double)T;
    }
    S->aux_loss = aux;
    for (size_t e = 0; e < E; e++)
        S->dropped += l->dropped[e];
    if (st)
        *st = *S;
    return MOE_SUCCESS;
}

/* ---------------------------------------------------------------- backward */

static int SP(backward_impl)(struct LAYER *l, const REAL *dy, REAL *dx, moe_error *err)
{
    const moe_sparse_config *c = &l->c;
    size_t d = c->d, h = c->hidden, E = c->experts, k = c->top_k, T = l->tokens;
    if (T > 0 && (!dy || !dx || !l->x))
        return moe_error_set(err, MOE_EINVAL, "sparse layer: backward needs a forward call "
                             "and non-NULL gradients");
    int noisy = c->noisy && l->training;
    const REAL *x = l->x;
    memset(l->grad, 0, l->np * sizeof *l->grad);
    int nth = l->nthreads;
    /* d out of every kept assignment, and d G (the importance loss's term added) */
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1 && T > SP_BLOCK)
    for (size_t b = 0; b < T; b += SP_BLOCK) {
        size_t nb = T - b < SP_BLOCK ? T - b : SP_BLOCK;
        KERN(combine_back)(nb, k, d, l->row + b * k, l->gate + b * k, dy + b * d, l->out,
                           l->dout, l->dg + b * k);
        for (size_t j = b * k; j < (b + nb) * k; j++)
            l->dg[j] += (REAL)l->imp_coef[l->idx[j]];
    }
    /* the experts, backwards (threads over experts, as forward) */
    int nex = l->blas ? 1 : nth;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nex) if (nex > 1)
    for (size_t e = 0; e < E; e++) {
        size_t r0 = l->start[e], n = l->count[e];
        if (n == 0)
            continue;
        size_t o1 = SP(off_w1)(c, e);
        const REAL *w1 = l->par + o1, *w2 = w1 + d * h + h;
        REAL *gw1 = l->grad + o1, *gb1 = gw1 + d * h, *gw2 = gb1 + h, *gb2 = gw2 + h * d;
        const REAL *dout = l->dout + r0 * d, *a = l->a + r0 * h;
        REAL *da = l->da + r0 * h;
        SP(gemm)(l, 1, 0, h, d, n, l->act + r0 * h, h, dout, d, 0, gw2, d);
        for (size_t r = 0; r < n; r++)
            for (size_t j = 0; j < d; j++)
                gb2[j] += dout[r * d + j];
        SP(gemm)(l, 0, 1, n, h, d, dout, d, w2, d, 0, da, h);
        KERN(act_backward)(c->activation, n * h, a, da);
        SP(gemm)(l, 1, 0, d, h, n, l->xg + r0 * d, d, da, h, 0, gw1, h);
        for (size_t r = 0; r < n; r++)
            for (size_t j = 0; j < h; j++)
                gb1[j] += da[r * h + j];
        SP(gemm)(l, 0, 1, n, d, h, da, h, w1, h, 0, l->dxg + r0 * d, d);
    }
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1 && T > SP_BLOCK)
    for (size_t b = 0; b < T; b += SP_BLOCK)
        KERN(combine_rows)(T - b < SP_BLOCK ? T - b : SP_BLOCK, k, d, l->row + b * k, NULL,
                           l->dxg, dx + b * d);
    /* d H from the weights G, the Switch loss and the z-loss */
    memset(l->dh, 0, T * E * sizeof *l->dh);
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1 && T > SP_BLOCK)
    for (size_t t = 0; t < T; t++) {   /* each token its own row of d H */
        REAL *dh = l->dh + t * E;
        const REAL *p = l->prob + t * E, *g = l->gate + t * k, *dg = l->dg + t * k;
        const size_t *idx = l->idx + t * k;
        if (k == 1) {
            double pc = p[idx[0]];
            for (size_t e = 0; e < E; e++)
                dh[e] += (REAL)(dg[0] * pc * ((e == idx[0]) - (double)p[e]));
        } else {
            double sg = 0;
            for (size_t s = 0; s < k; s++)
                sg += (double)g[s] * dg[s];
            for (size_t s = 0; s < k; s++)
                dh[idx[s]] += (REAL)(g[s] * (dg[s] - sg));
        }
        double dp[MOE_SPARSE_MAX_EXPERTS], sp = 0;
        int any = 0;
        for (size_t e = 0; e < E; e++) {
            dp[e] = 0;
            if (c->aux == MOE_AUX_SWITCH)
                dp[e] += c->w_switch * (double)E * l->switch_f[e] / (double)T;
            any |= dp[e] != 0;
            sp += p[e] * dp[e];
        }
        if (any)
            for (size_t e = 0; e < E; e++)
                dh[e] += (REAL)(p[e] * (dp[e] - sp));
        if (c->w_z > 0)
            for (size_t e = 0; e < E; e++)
                dh[e] += (REAL)(c->w_z * 2 * (double)l->lse[t] * p[e] / (double)T);
    }
    /* H = clean + eps s: d clean = d H; d s = d H eps; plus the load estimator's terms */
    REAL *dclean = l->dh, *ds = l->dnl;
    if (noisy) {
        for (size_t j = 0; j < T * E; j++)
            ds[j] = l->dh[j] * l->eps[j];
        if (k < E) {
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1 && T > SP_BLOCK)
            for (size_t t = 0; t < T; t++)   /* token t's terms stay in its rows */
                for (size_t e = 0; e < E; e++) {
                    size_t j = t * E + e;
                    double lc = l->load_coef[e];
                    if (lc == 0)
                        continue;
                    int kept = 0;
                    for (size_t s = 0; s < k; s++)
                        kept |= l->idx[t * k + s] == e;
                    double thr = kept ? l->thr_hi[t] : l->thr_lo[t];
                    size_t at = kept ? l->thr_hi_at[t] : l->thr_lo_at[t];
                    double sc = l->scale[j], z = (l->clean[j] - thr) / sc;
                    double dpz = lc * exp(-0.5 * z * z) / sqrt(2 * M_PI);   /* dL/dz */
                    dclean[j] += (REAL)(dpz / sc);
                    ds[j] += (REAL)(-dpz * z / sc);
                    /* the threshold is H of expert AT: clean + eps s */
                    dclean[t * E + at] += (REAL)(-dpz / sc);
                    ds[t * E + at] += (REAL)(-dpz / sc * l->eps[t * E + at]);
                }
        }
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1 && T > SP_BLOCK)
        for (size_t j = 0; j < T * E; j++)
            ds[j] *= SP(sigmoid)(l->nlog[j]);   /* d softplus */
    }
    SP(gemm)(l, 1, 0, d, E, T, x, d, dclean, E, 0, l->grad, E);
    SP(gemm)(l, 0, 1, T, d, E, dclean, E, l->par, E, 1, dx, d);
    if (noisy) {
        SP(gemm)(l, 1, 0, d, E, T, x, d, ds, E, 0, l->grad + d * E, E);
        SP(gemm)(l, 0, 1, T, d, E, ds, E, l->par + d * E, E, 1, dx, d);
    }
    return MOE_SUCCESS;
}
