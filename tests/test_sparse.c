/* test_sparse.c: the sparse mixture-of-experts layer (src/sparse). Its forward pass against a
 * dense computation written here from DESIGN.md's formulas (every expert evaluated, top-k by
 * sorting); every gradient of backward (router, noise, expert weights, input) against central
 * finite differences of L = <dy, y> + aux in the double-precision twin, for k = 1 (Switch
 * form, z-loss), k = 2 (Shazeer's importance and load losses under noise, ReLU and GELU),
 * k = E and with capacity drops; the float layer against the double one; the capacity rule's
 * counts; seeded noise; the configuration errors.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "moe.h"
#include "sparse/layer64.h"
#include "tap.h"

static uint64_t rng_state = 12345;

static double urand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static double sym(double s) { return s * (2 * urand() - 1); }

static moe_sparse_config small_config(size_t E, size_t k)
{
    moe_sparse_config c = moe_sparse_config_default();
    c.d = 3;
    c.hidden = 4;
    c.experts = E;
    c.top_k = k;
    c.max_tokens = 9;
    return c;
}

/* random parameters with a router far from ties */
static void randomise(double *par, size_t np, const moe_sparse_config *c)
{
    for (size_t j = 0; j < np; j++)
        par[j] = sym(1);
    for (size_t j = 0; j < c->d * c->experts; j++)
        par[j] = sym(2);
}

/* the loss whose gradient backward gives: <dy, y> + aux */
static double loss_at(moe_sparse64_layer *l, const double *x, size_t T, int training,
                      const double *dy, double *y)
{
    moe_sparse_stats st;
    moe_error e;
    if (moe_sparse64_forward(l, x, T, training, 7, y, &st, &e))
        return NAN;
    double s = st.aux_loss;
    for (size_t j = 0; j < T * 3; j++)   /* d = 3 in every configuration here */
        s += dy[j] * y[j];
    return s;
}

/* every parameter's and every input's gradient against central differences */
static void check_gradients(const char *what, moe_sparse_config c, int training)
{
    moe_sparse64_layer *l;
    moe_error e;
    if (!tap_ok(moe_sparse64_alloc(&c, &l, &e) == MOE_SUCCESS, "%s: alloc", what))
        return;
    size_t T = c.max_tokens, d = c.d, np = moe_sparse64_nparams(l);
    double *par = moe_sparse64_params(l);
    randomise(par, np, &c);
    double x[9 * 3], dy[9 * 3], y[9 * 3], dx[9 * 3];
    for (size_t j = 0; j < T * d; j++) {
        x[j] = sym(1);
        dy[j] = sym(1);
    }
    loss_at(l, x, T, training, dy, y);
    moe_sparse64_backward(l, dy, dx, &e);
    double *grad = malloc(np * sizeof *grad);
    memcpy(grad, moe_sparse64_grads(l), np * sizeof *grad);
    const double step = 1e-6;
    double worst = 0, scale = 0;
    size_t worst_at = 0;
    for (size_t j = 0; j < np + T * d; j++) {
        double *v = j < np ? &par[j] : &x[j - np];
        double keep = *v;
        *v = keep + step;
        double lp = loss_at(l, x, T, training, dy, y);
        *v = keep - step;
        double lm = loss_at(l, x, T, training, dy, y);
        *v = keep;
        double fd = (lp - lm) / (2 * step), an = j < np ? grad[j] : dx[j - np];
        scale = fmax(scale, fabs(fd));
        if (fabs(fd - an) > worst) {
            worst = fabs(fd - an);
            worst_at = j;
        }
    }
    if (!tap_ok(worst <= 1e-6 * fmax(scale, 1), "%s: %zu gradients match central differences "
                "(worst error %.2g of scale %.2g)", what, np + T * d, worst, scale))
        printf("# worst at %zu (np = %zu)\n", worst_at, np);
    free(grad);
    moe_sparse64_free(l);
}

/* the dense reference: every expert on every token, the top k by sorting (eval: no noise) */
static void dense_forward(const moe_sparse_config *c, const double *par, const double *x,
                          size_t T, double *y, double *importance)
{
    for (size_t e = 0; e < c->experts; e++)
        importance[e] = 0;
    size_t d = c->d, h = c->hidden, E = c->experts, k = c->top_k;
    for (size_t t = 0; t < T; t++) {
        double hv[16] = {0}, out[16][8];
        size_t order[16] = {0};
        for (size_t e = 0; e < E; e++) {
            hv[e] = 0;
            for (size_t j = 0; j < d; j++)
                hv[e] += x[t * d + j] * par[j * E + e];
            const double *w1 = par + 2 * d * E + e * (2 * d * h + h + d), *b1 = w1 + d * h,
                         *w2 = b1 + h, *b2 = w2 + h * d;
            double a[16];
            for (size_t u = 0; u < h; u++) {
                a[u] = b1[u];
                for (size_t j = 0; j < d; j++)
                    a[u] += x[t * d + j] * w1[j * h + u];
                a[u] = c->activation == MOE_SPARSE_RELU ? fmax(a[u], 0)
                                                     : 0.5 * a[u] * (1 + erf(a[u] / sqrt(2)));
            }
            for (size_t j = 0; j < d; j++) {
                out[e][j] = b2[j];
                for (size_t u = 0; u < h; u++)
                    out[e][j] += a[u] * w2[u * d + j];
            }
            order[e] = e;
        }
        for (size_t i = 0; i < E; i++)   /* selection sort, descending, stable */
            for (size_t j = i + 1; j < E; j++)
                if (hv[order[j]] > hv[order[i]]) {
                    size_t tmp = order[i];
                    order[i] = order[j];
                    order[j] = tmp;
                }
        double mx = hv[order[0]], all = 0, kept = 0;
        for (size_t e = 0; e < E; e++)
            all += exp(hv[e] - mx);
        for (size_t s = 0; s < k; s++)
            kept += exp(hv[order[s]] - mx);
        for (size_t j = 0; j < d; j++)
            y[t * d + j] = 0;
        for (size_t s = 0; s < k; s++) {
            double g = exp(hv[order[s]] - mx) / (k == 1 ? all : kept);
            importance[order[s]] += g;
            for (size_t j = 0; j < d; j++)
                y[t * d + j] += g * out[order[s]][j];
        }
    }
}

static void check_forward(size_t E, size_t k, moe_sparse_activation act)
{
    moe_sparse_config c = small_config(E, k);
    c.activation = act;
    moe_sparse64_layer *l;
    moe_error e;
    moe_sparse64_alloc(&c, &l, &e);
    double *par = moe_sparse64_params(l);
    randomise(par, moe_sparse64_nparams(l), &c);
    double x[27], y[27], want[27];
    for (size_t j = 0; j < 27; j++)
        x[j] = sym(1);
    moe_sparse_stats st;
    moe_sparse64_forward(l, x, 9, 0, 0, y, &st, &e);
    double imp[16], mean = 0, var = 0;
    dense_forward(&c, par, x, 9, want, imp);
    double worst = 0;
    for (size_t j = 0; j < 27; j++)
        worst = fmax(worst, fabs(y[j] - want[j]));
    tap_ok(worst < 1e-12, "forward E = %zu, k = %zu, %s equals the dense computation (worst "
           "%.2g)", E, k, act == MOE_SPARSE_RELU ? "relu" : "gelu", worst);
    for (size_t i = 0; i < E; i++)
        mean += imp[i] / (double)E;
    for (size_t i = 0; i < E; i++)
        var += (imp[i] - mean) * (imp[i] - mean) / (double)E;   /* population variance */
    tap_abs(st.importance_cv2, var / (mean * mean), 1e-12, "importance CV^2 = var / mean^2 "
            "of the dense gates' column sums");
    tap_abs(st.aux_loss, 0.1 * var / (mean * mean), 1e-12, "evaluation aux loss = 0.1 "
            "importance CV^2 (no load term without noise)");
    moe_sparse64_free(l);
}

/* the float layer on the double layer's parameters */
static void check_float(void)
{
    moe_sparse_config c = small_config(6, 2);
    c.w_z = 0.01;
    moe_sparse64_layer *l64;
    moe_sparse_layer *l32;
    moe_error e;
    moe_sparse64_alloc(&c, &l64, &e);
    moe_sparse_alloc(&c, &l32, &e);
    size_t np = moe_sparse_nparams(l32);
    tap_ok(np == moe_sparse64_nparams(l64) && np == 2 * 3 * 6 + 6 * (2 * 3 * 4 + 4 + 3),
           "nparams = 2 d E + E (2 d h + h + d)");
    double *p64 = moe_sparse64_params(l64);
    randomise(p64, np, &c);
    float *p32 = moe_sparse_params(l32);
    for (size_t j = 0; j < np; j++)
        p64[j] = p32[j] = (float)p64[j];
    double x[27], y[27], dy[27], dx[27];
    float xf[27], yf[27], dyf[27], dxf[27];
    for (size_t j = 0; j < 27; j++) {
        x[j] = xf[j] = (float)sym(1);
        dy[j] = dyf[j] = (float)sym(1);
    }
    moe_sparse_stats s64, s32;
    moe_sparse64_forward(l64, x, 9, 1, 3, y, &s64, &e);
    moe_sparse_forward(l32, xf, 9, 1, 3, yf, &s32, &e);
    moe_sparse64_backward(l64, dy, dx, &e);
    moe_sparse_backward(l32, dyf, dxf, &e);
    double wy = 0, wg = 0, wx = 0, sg = 0;
    for (size_t j = 0; j < 27; j++) {
        wy = fmax(wy, fabs(y[j] - yf[j]));
        wx = fmax(wx, fabs(dx[j] - dxf[j]));
    }
    const double *g64 = moe_sparse64_grads(l64);
    const float *g32 = moe_sparse_grads(l32);
    for (size_t j = 0; j < np; j++) {
        wg = fmax(wg, fabs(g64[j] - g32[j]));
        sg = fmax(sg, fabs(g64[j]));
    }
    tap_ok(wy < 1e-5 && wx < 1e-5 && wg < 1e-5 * fmax(sg, 1),
           "float32 layer = double layer to 1e-5 (y %.2g, dx %.2g, grads %.2g)", wy, wx, wg);
    tap_abs(s32.aux_loss, s64.aux_loss, 1e-6 * fmax(1, fabs(s64.aux_loss)),
            "float32 aux loss = double's");
    moe_sparse_free(l32);
    moe_sparse64_free(l64);
}

static void check_capacity(void)
{
    moe_sparse_config c = small_config(4, 2);
    c.capacity_factor = 0.5;   /* ceil(0.5 * 9 * 2 / 4) = 3 assignments per expert */
    moe_sparse_layer *l;
    moe_error e;
    moe_sparse_alloc(&c, &l, &e);
    float *par = moe_sparse_params(l);
    for (size_t j = 0; j < 12; j++)
        par[j] = (float)sym(2);
    float x[27], y[27];
    for (size_t j = 0; j < 27; j++)
        x[j] = (float)sym(1);
    moe_sparse_stats st;
    moe_sparse_forward(l, x, 9, 0, 0, y, &st, &e);
    size_t routed = 0, dropped = 0, want_dropped = 0;
    for (size_t i = 0; i < 4; i++) {
        size_t dr, r = moe_sparse_expert_rows(l, i, &dr);
        routed += r;
        dropped += dr;
        want_dropped += r > 3 ? r - 3 : 0;
    }
    tap_ok(routed == 18, "capacity: 9 tokens x top-2 = 18 assignments routed (%zu)", routed);
    tap_ok(dropped == want_dropped && st.dropped == dropped && dropped > 0,
           "capacity 3 per expert: the assignments above it are dropped (%zu)", dropped);
    /* the automatic GEMM choice (bench/README.md, bench_sparse --gemm): the kernels' own
     * sgemm under AVX-512, OpenBLAS's under the AVX2 and reference sets */
    const char *set = moe_kernels_name(), *gemm = moe_sparse_gemm_name(l);
    tap_ok(strcmp(gemm, strcmp(set, "avx512") == 0 ? set : "blas") == 0,
           "the default GEMM under the %s kernels: %s", set, gemm);
    moe_sparse_free(l);
}

static void check_noise_and_errors(void)
{
    moe_sparse_config c = small_config(5, 2);
    moe_sparse_layer *l;
    moe_error e;
    moe_sparse_alloc(&c, &l, &e);
    float *par = moe_sparse_params(l);
    for (size_t j = 0; j < 30; j++)
        par[j] = (float)sym(1);
    float x[27], y1[27], y2[27], y3[27];
    for (size_t j = 0; j < 27; j++)
        x[j] = (float)sym(1);
    moe_sparse_forward(l, x, 9, 1, 5, y1, NULL, &e);
    moe_sparse_forward(l, x, 9, 1, 5, y2, NULL, &e);
    moe_sparse_forward(l, x, 9, 1, 6, y3, NULL, &e);
    tap_ok(memcmp(y1, y2, sizeof y1) == 0, "the same step draws the same noise");
    tap_ok(memcmp(y1, y3, sizeof y1) != 0, "another step draws other noise");
    tap_ok(moe_sparse_forward(l, x, 10, 0, 0, y1, NULL, &e) == MOE_EBADLEN,
           "more tokens than max_tokens: MOE_EBADLEN");
    tap_ok(moe_sparse_forward(l, x, 0, 1, 0, y1, NULL, &e) == MOE_SUCCESS &&
               moe_sparse_backward(l, y1, y2, &e) == MOE_SUCCESS,
           "zero tokens: forward and backward succeed");
    moe_sparse_free(l);
    moe_sparse_config bad = small_config(5, 6);
    tap_ok(moe_sparse_alloc(&bad, &l, &e) == MOE_EINVAL && strstr(e.message, "top_k"),
           "top_k > E refused: %s", e.message);
    bad = small_config(300, 2);
    tap_ok(moe_sparse_config_check(&bad) != NULL, "E = 300 refused");
    bad = small_config(5, 2);
    bad.capacity_factor = -1;
    tap_ok(moe_sparse_config_check(&bad) != NULL, "a negative capacity factor refused");
    bad = small_config(5, 2);
    bad.hidden = 0;
    tap_ok(moe_sparse_config_check(&bad) != NULL, "hidden = 0 refused");
}

/* tokens of the thread checks: more than two of the layer's row blocks (SP_BLOCK = 256 in
 * layer_impl.h) and a partial one, so that its parallel row loops split */
#define FT 700

/* one float forward + backward of a seeded layer; Y and the gradients out */
static void float_run(int threads, moe_sparse_gemm gemm, float *y, float *grad, size_t np)
{
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    moe_sparse_config c = moe_sparse_config_default();   /* d 16, h 32, E 8, k 2 */
    c.max_tokens = FT;
    c.gemm = gemm;
    moe_sparse_layer *l;
    moe_error e;
    moe_sparse_alloc(&c, &l, &e);
    float *par = moe_sparse_params(l);
    rng_state = 99;
    for (size_t j = 0; j < 16 * 8 * 2; j++)
        par[j] = (float)sym(0.5);
    static float x[FT * 16], dy[FT * 16], dx[FT * 16];
    for (size_t j = 0; j < FT * 16; j++) {
        x[j] = (float)sym(1);
        dy[j] = (float)sym(1);
    }
    moe_sparse_forward(l, x, FT, 1, 4, y, NULL, &e);
    moe_sparse_backward(l, dy, dx, &e);
    memcpy(grad, moe_sparse_grads(l), np * sizeof *grad);
    moe_sparse_free(l);
}

static void check_threads(void)
{
    size_t np = 2 * 16 * 8 + 8 * (2 * 16 * 32 + 32 + 16);
    float *y1 = malloc(FT * 16 * sizeof *y1), *y2 = malloc(FT * 16 * sizeof *y2),
          *y3 = malloc(FT * 16 * sizeof *y3);
    float *g1 = malloc(np * sizeof *g1), *g2 = malloc(np * sizeof *g2),
          *g3 = malloc(np * sizeof *g3);
    float_run(1, MOE_SPARSE_GEMM_KERNELS, y1, g1, np);
    float_run(3, MOE_SPARSE_GEMM_KERNELS, y2, g2, np);
    tap_ok(memcmp(y1, y2, FT * 16 * sizeof *y1) == 0 && memcmp(g1, g2, np * sizeof *g1) == 0,
           "float layer: 1 and 3 threads give the same output and gradients bit for bit");
    float_run(2, MOE_SPARSE_GEMM_BLAS, y3, g3, np);
    double wy = 0, wg = 0, sg = 0;
    for (size_t j = 0; j < FT * 16; j++)
        wy = fmax(wy, fabs(y1[j] - y3[j]));
    for (size_t j = 0; j < np; j++) {
        wg = fmax(wg, fabs(g1[j] - g3[j]));
        sg = fmax(sg, fabs(g1[j]));
    }
    tap_ok(wy < 1e-4 && wg < 1e-4 * fmax(sg, 1), "float layer: the kernels' sgemm and "
           "OpenBLAS's agree to 1e-4 (y %.2g, grads %.2g)", wy, wg);
    free(y1);
    free(y2);
    free(y3);
    free(g1);
    free(g2);
    free(g3);
}

int main(void)
{
    check_forward(5, 2, MOE_SPARSE_RELU);
    check_forward(5, 1, MOE_SPARSE_GELU);
    check_forward(4, 4, MOE_SPARSE_RELU);
    check_forward(7, 3, MOE_SPARSE_GELU);

    moe_sparse_config c = small_config(5, 2);
    c.activation = MOE_SPARSE_GELU;
    check_gradients("k = 2, Shazeer losses, noisy training, gelu", c, 1);
    c.w_importance = 1;
    c.w_load = 1;
    check_gradients("k = 2, Shazeer weights 1, noisy training, gelu", c, 1);
    c = small_config(5, 2);
    check_gradients("k = 2, evaluation (no noise), relu", c, 0);
    c = small_config(6, 1);
    c.activation = MOE_SPARSE_GELU;
    c.aux = MOE_AUX_SWITCH;
    c.w_switch = 0.5;
    c.w_z = 0.1;
    check_gradients("k = 1 (Switch form), Switch loss, z-loss, noisy", c, 1);
    c = small_config(4, 4);
    c.activation = MOE_SPARSE_GELU;
    check_gradients("k = E, noisy", c, 1);
    c = small_config(4, 2);
    c.activation = MOE_SPARSE_GELU;
    c.capacity_factor = 0.5;
    c.aux = MOE_AUX_NONE;
    check_gradients("k = 2, capacity drops, no aux loss", c, 1);
    c = small_config(3, 2);
    c.activation = MOE_SPARSE_GELU;
    c.w_z = 0.2;
    c.w_load = 0.7;
    check_gradients("k = 2 of 3, load and z-loss", c, 1);

    check_float();
    check_capacity();
    check_noise_and_errors();
    check_threads();
    return tap_done();
}
