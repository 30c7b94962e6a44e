/* test_topk.c: the sparse top-k gate (src/gates/topk.c): the nll loss's gradient (gate and
 * experts) for k = 1 (Switch form) and k = 2 of K = 4 against central finite differences of
 * the loss, away from ties; the auxiliary losses' gradients (switch, shazeer) likewise; k = K
 * against the softmax gate's probabilities (the same closed form); ties to the lower index;
 * save, load and predict bit for bit, with g = 0 for the experts not kept; and the teaching
 * test: on simulated regimes the Switch router (k = 1) collapses without the auxiliary loss
 * and spreads its load with it. The noisy gate (training noise held fixed): the gradients of
 * the nll (W_noise too), of the importance, load (normal-CDF estimator), switch and router
 * z-losses and of the nll under capacity drops against central differences; the noise's
 * distribution and determinism; the capacity's drops by hand; k = 2 with noise balanced by
 * the importance and load losses.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "moe.h"
#include "experts/expert.h"
#include "gates/gate.h"
#include "model/model.h"
#include "train/loss.h"
#include "tap.h"

#define N 41
#define NX 1
#define NZ 2
#define K 4

static moe_dataset *make_data(size_t n, gsl_rng *rng)
{
    moe_dataset *d = moe_dataset_alloc(n, NX, NZ, 1);
    for (size_t r = 0; r < n; r++) {
        for (size_t j = 1; j <= NX; j++)
            d->x[r * (NX + 1) + j] = gsl_ran_gaussian(rng, 1);
        for (size_t j = 1; j <= NZ; j++)
            d->z[r * (NZ + 1) + j] = gsl_ran_gaussian(rng, 1);
        d->y[r] = gsl_ran_gaussian(rng, 1.5);
    }
    return d;
}

static moe_model *topk_model(size_t k, size_t top_k)
{
    moe_expert_shape es = {NX, 0, MOE_ACT_TANH};
    moe_model *m = moe_model_alloc_typed(NULL, &moe_gate_topk, k, &es, NZ);
    m->top_k = top_k;
    return m;
}

/* The kept pattern (g > 0) of the rows of D under M with gate shape GS into KEEP (N x K). */
static void kept(const moe_dataset *d, const moe_model *m, const moe_gate_shape *gs,
                 const double *par, unsigned char *keep)
{
    double lg[N * K], g[N * K];
    moe_gate_topk.prob_rows(d, gs, par ? par : m->gate_par, 0, d->n, lg, g);
    for (size_t t = 0; t < d->n * K; t++)
        keep[t] = g[t] > 0;
}

/* The nll loss's gradient against central differences (h = 1e-6; the loss is smooth while
 * the kept sets stay, which is checked at every perturbed point), with the training noise
 * held fixed (NOISY: seed 7, step 3) or without it, and optionally capacity drops DROP. */
static void test_nll_gradient(size_t top_k, int noisy, const unsigned char *drop,
                              gsl_rng *rng)
{
    moe_dataset *d = make_data(N, rng);
    moe_model *m = topk_model(K, top_k);
    size_t np = moe_model_nparams(m), nep = moe_model_expert_nparams(m), ne = K * nep;
    double *theta = malloc(np * sizeof *theta), *g = calloc(np, sizeof *g);
    double *tp = malloc(np * sizeof *tp);
    unsigned char k0[N * K], k1[N * K];
    moe_gate_shape gs = moe_model_gate_shape(m);
    gs.noisy = noisy;
    gs.noise_seed = 7;
    gs.noise_step = 3;
    gs.drop = drop;
    for (size_t j = 0; j < np; j++)
        theta[j] = 0.6 * gsl_ran_gaussian(rng, 1);
    moe_model_set_theta(m, theta);
    kept(d, m, &gs, NULL, k0);
    moe_loss_rows(MOE_LOSS_NLL, d, m, &gs, theta + ne, 0, N, g, NULL);
    double worst = 0;
    int same = 1;
    for (size_t j = 0; j < np; j++) {
        double h = 1e-6;
        memcpy(tp, theta, np * sizeof *tp);
        tp[j] = theta[j] + h;
        moe_model_set_theta(m, tp);
        kept(d, m, &gs, NULL, k1);
        same &= memcmp(k0, k1, sizeof k0) == 0;
        double lp = moe_loss_rows(MOE_LOSS_NLL, d, m, &gs, tp + ne, 0, N, NULL, NULL);
        tp[j] = theta[j] - h;
        moe_model_set_theta(m, tp);
        kept(d, m, &gs, NULL, k1);
        same &= memcmp(k0, k1, sizeof k0) == 0;
        double lm = moe_loss_rows(MOE_LOSS_NLL, d, m, &gs, tp + ne, 0, N, NULL, NULL);
        double fd = (lp - lm) / (2 * h), e = fabs(fd - g[j]) / (1 + fabs(fd));
        if (e > worst)
            worst = e;
    }
    const char *what = drop ? "noise and capacity" : noisy ? "noise" : "clean";
    tap_ok(same, "k = %zu, %s: the kept sets are the same at every perturbed point", top_k,
           what);
    /* central differences of a loss of size ~100 at h = 1e-6: truncation ~1e-12, rounding
     * ~1e-14 * 100 / 1e-6 = 1e-6 */
    tap_ok(worst < 1e-5, "k = %zu, %s: nll gradient (experts, gate and noise scale) = central "
           "differences (worst relative error %.3g)", top_k, what, worst);
    double gate_norm = 0, noise_norm = 0, p = NZ + 1;
    for (size_t j = ne; j < np; j++) {
        if (j < ne + (K - 1) * p)
            gate_norm += fabs(g[j]);
        else
            noise_norm += fabs(g[j]);
    }
    tap_ok(gate_norm > 1e-3, "k = %zu, %s: the gate gets a gradient (|grad W_g|_1 = %.3g)",
           top_k, what, gate_norm);
    tap_ok(noisy ? noise_norm > 1e-3 : noise_norm == 0, "k = %zu, %s: W_noise's gradient "
           "|.|_1 = %.3g (0 without noise)", top_k, what, noise_norm);
    free(theta);
    free(g);
    free(tp);
    moe_model_free(m);
    moe_dataset_free(d);
}

/* aux_rows' gradient (losses L) against central differences of its value, with the training
 * noise held fixed (seed 7, step 3); the kept sets are checked at every perturbed point. */
static void test_aux_gradient(moe_gate_losses l, const char *name, size_t top_k, gsl_rng *rng)
{
    moe_dataset *d = make_data(N, rng);
    moe_model *m = topk_model(K, top_k);
    moe_gate_shape gs = moe_model_gate_shape(m);
    size_t np = moe_gate_topk.nparams(&gs);
    double th[64], g[64] = {0}, tp[64], par[64];
    unsigned char k0[N * K], k1[N * K];
    gs.noisy = 1;
    gs.noise_seed = 7;
    gs.noise_step = 3;
    for (size_t j = 0; j < np; j++)
        th[j] = 0.6 * gsl_ran_gaussian(rng, 1);
    moe_gate_topk.set_theta(&gs, th, par);
    kept(d, m, &gs, par, k0);
    double l0 = moe_gate_topk.aux_rows(d, &gs, th, 0, N, &l, g), worst = 0;
    int same = 1;
    for (size_t j = 0; j < np; j++) {
        double h = 1e-6;
        memcpy(tp, th, np * sizeof *tp);
        tp[j] = th[j] + h;
        moe_gate_topk.set_theta(&gs, tp, par);
        kept(d, m, &gs, par, k1);
        same &= memcmp(k0, k1, sizeof k0) == 0;
        double lp = moe_gate_topk.aux_rows(d, &gs, tp, 0, N, &l, NULL);
        tp[j] = th[j] - h;
        moe_gate_topk.set_theta(&gs, tp, par);
        kept(d, m, &gs, par, k1);
        same &= memcmp(k0, k1, sizeof k0) == 0;
        double lm = moe_gate_topk.aux_rows(d, &gs, tp, 0, N, &l, NULL);
        double fd = (lp - lm) / (2 * h), e = fabs(fd - g[j]) / (1e-3 + fabs(fd));
        if (e > worst)
            worst = e;
    }
    tap_ok(same && l0 > 0 && worst < 1e-5, "%s k = %zu: value %.6g > 0, gradient = central "
           "differences (worst relative error %.3g, kept sets fixed: %d)", name, top_k, l0,
           worst, same);
    moe_model_free(m);
    moe_dataset_free(d);
}

/* k = K keeps every expert: g is the softmax gate's, with the same block (the same closed
 * form exp(eta_i) / sum_j exp(eta_j); the softmax gate's exp is the kernel set's, within 1
 * ulp of libm's, tests/test_kernels.c). */
static void test_k_equals_softmax(gsl_rng *rng)
{
    moe_dataset *d = make_data(N, rng);
    moe_model *m = topk_model(K, K);
    moe_gate_shape gs = moe_model_gate_shape(m);
    for (size_t j = 0; j < (K - 1) * (NZ + 1); j++)
        m->gate_par[j] = gsl_ran_gaussian(rng, 1);
    double lg1[N * K], g1[N * K], lg2[N * K], g2[N * K], worst = 0;
    moe_gate_topk.prob_rows(d, &gs, m->gate_par, 0, N, lg1, g1);
    moe_gate_softmax.prob_rows(d, &gs, m->gate_par, 0, N, lg2, g2);
    for (size_t t = 0; t < N * K; t++)
        if (fabs(g1[t] - g2[t]) > worst)
            worst = fabs(g1[t] - g2[t]);
    tap_ok(worst < 1e-14, "k = K: top-k probabilities = softmax's (largest difference %.3g)",
           worst);
    moe_model_free(m);
    moe_dataset_free(d);
}

/* W_g = 0 (the start): every logit ties, so experts 1 .. k are kept, each with 1/k; for k = 1
 * the Switch weight is the full softmax's 1/K. */
static void test_ties(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    moe_dataset *d = make_data(3, rng);
    for (size_t top_k = 1; top_k <= 2; top_k++) {
        moe_model *m = topk_model(K, top_k);
        moe_gate_shape gs = moe_model_gate_shape(m);
        double lg[3 * K], g[3 * K];
        moe_gate_topk.prob_rows(d, &gs, m->gate_par, 0, 3, lg, g);
        double want = top_k == 1 ? 1.0 / K : 0.5;
        int ok = 1;
        for (size_t r = 0; r < 3; r++)
            for (size_t i = 0; i < K; i++)
                ok &= i < top_k ? fabs(g[r * K + i] - want) < 1e-15 : g[r * K + i] == 0 &&
                                                                       isinf(lg[r * K + i]);
        tap_ok(ok, "k = %zu at W_g = 0: the lowest experts are kept (g = %g), the others 0",
               top_k, want);
        moe_model_free(m);
    }
    moe_dataset_free(d);
    gsl_rng_free(rng);
}

/* The load loss's value against a reference written here from DESIGN.md section 1, without
 * noise (h = eta) and W_noise = 0 (sd = log 2 + 0.01): one row of logits (1.2, -0.3, 0.5, 0)
 * with k = 2, whose sorted order is 1.2, 0.5, 0, -0.3: kth_excluding is the (k+1)-th = 0 for
 * the kept experts 1 and 3 and the k-th = 0.5 for the others, so P = Phi((1.2 - 0)/sd),
 * Phi((-0.3 - 0.5)/sd), Phi((0.5 - 0)/sd), Phi((0 - 0.5)/sd); the loss is w CV^2(P). */
static void test_load_value(void)
{
    moe_dataset *d = moe_dataset_alloc(1, NX, 1, 1);
    moe_expert_shape es = {NX, 0, MOE_ACT_TANH};
    moe_model *m = moe_model_alloc_typed(NULL, &moe_gate_topk, K, &es, 1);
    m->top_k = 2;
    moe_gate_shape gs = moe_model_gate_shape(m);
    double th[(2 * K - 1) * 2] = {0};
    const double eta[K] = {1.2, -0.3, 0.5, 0};
    d->z[1] = 0;
    for (size_t i = 0; i + 1 < K; i++)
        th[i * 2] = eta[i];  /* intercepts: z~ = (1, 0) */
    double sd = log(2) + 0.01, thr[K] = {0, 0.5, 0, 0.5}, pl[K], mean = 0, var = 0;
    for (size_t i = 0; i < K; i++) {
        pl[i] = 0.5 * erfc(-(eta[i] - thr[i]) / sd / sqrt(2));
        mean += pl[i] / K;
    }
    for (size_t i = 0; i < K; i++)
        var += (pl[i] - mean) * (pl[i] - mean) / K;
    moe_gate_losses l = {MOE_AUX_SHAZEER, 0, 0.5, 0};
    double got = moe_gate_topk.aux_rows(d, &gs, th, 0, 1, &l, NULL);
    tap_rel(got, 0.5 * var / (mean * mean), 1e-13, "load loss of one row = w CV^2 of the "
            "normal-CDF estimator (kth_excluding by hand)");
    moe_model_free(m);
    moe_dataset_free(d);
}

/* The training noise: with K = 2, k = 2 and W_g = W_noise = 0, g_1 = sigmoid(h_1 - h_2)
 * and h_1 - h_2 = sd (eps_1 - eps_2) with sd = softplus(0) + 1e-2 = log 2 + 0.01, so
 * logit(g_1) ~ N(0, 2 sd^2 = 0.9886) over the rows; 4000 rows: the mean's SE is 0.016 and
 * the variance's 0.022 (bounds 0.08 and 0.11, five SEs). The same (seed, step) gives the
 * same weights bit for bit, another step others, and the model's own shape (predict, the
 * summary, the final loss) is clean: every row 1/2. */
static void test_noise(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    size_t n = 4000;
    moe_dataset *d = make_data(n, rng);
    moe_model *m = topk_model(2, 2);
    moe_gate_shape gs = moe_model_gate_shape(m), clean = gs;
    gs.noisy = 1;
    gs.noise_seed = 99;
    gs.noise_step = 5;
    double *lg = malloc(n * 2 * sizeof *lg), *g = malloc(n * 2 * sizeof *g);
    double *g2 = malloc(n * 2 * sizeof *g2);
    moe_gate_topk.prob_rows(d, &gs, m->gate_par, 0, n, lg, g);
    double mean = 0, var = 0, sd = log(2) + 0.01;
    for (size_t r = 0; r < n; r++)
        mean += log(g[2 * r] / g[2 * r + 1]) / (double)n;
    for (size_t r = 0; r < n; r++) {
        double t = log(g[2 * r] / g[2 * r + 1]) - mean;
        var += t * t / (double)(n - 1);
    }
    tap_ok(fabs(mean) < 0.08 && fabs(var - 2 * sd * sd) < 0.11, "noise: logit(g_1) has mean "
           "%.4f (0) and variance %.4f (2 sd^2 = %.4f)", mean, var, 2 * sd * sd);
    moe_gate_topk.prob_rows(d, &gs, m->gate_par, 0, n, lg, g2);
    tap_ok(memcmp(g, g2, n * 2 * sizeof *g) == 0, "noise: the same seed and step give the "
           "same weights bit for bit");
    /* rows 100.. of the batch seen as a slot's rows 0.. with row0 = 100: the same draws */
    moe_dataset v = *d;
    v.z = d->z + 100 * (NZ + 1);
    v.n = n - 100;
    moe_gate_shape off = gs;
    off.row0 = 100;
    moe_gate_topk.prob_rows(&v, &off, m->gate_par, 0, n - 100, lg, g2);
    tap_ok(memcmp(g + 200, g2, (n - 100) * 2 * sizeof *g) == 0, "noise: a slot's rows are "
           "batch rows row0 + r (the same draws for a chunk)");
    gs.noise_step = 6;
    moe_gate_topk.prob_rows(d, &gs, m->gate_par, 0, n, lg, g2);
    tap_ok(memcmp(g, g2, n * 2 * sizeof *g) != 0, "noise: another step draws other noise");
    moe_gate_topk.prob_rows(d, &clean, m->gate_par, 0, n, lg, g2);
    int half = 1;
    for (size_t t = 0; t < 2 * n; t++)
        half &= g2[t] == 0.5;
    tap_ok(half && !clean.noisy, "noise: none in the model's own shape (g = 1/2 at W = 0)");
    free(lg);
    free(g);
    free(g2);
    moe_model_free(m);
    moe_dataset_free(d);
    gsl_rng_free(rng);
}

/* Capacity at W_g = 0 without noise: every row of 10 keeps experts 1 and 2 (k = 2, K = 4).
 * F = 1: capacity ceil(1 * 10 * 2 / 4) = 5, so rows 6-10 are dropped from both (5 + 5);
 * F = 1.25: ceil(6.25) = 7, rows 8-10 (3 + 3). A row dropped from both has every weight 0 and
 * adds nothing to the nll: the loss of the 10 rows is that of rows 1-5 alone. A row dropped
 * from expert 1 only gives expert 2 the whole weight (the softmax over what is left). */
static void test_capacity(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    moe_dataset *d = make_data(10, rng);
    moe_model *m = topk_model(K, 2);
    moe_gate_shape gs = moe_model_gate_shape(m);
    unsigned char drop[10 * K];
    size_t dropped[K];
    moe_gate_topk.capacity_rows(d, &gs, m->gate_par, 0, 10, 1.0, drop, dropped);
    int ok = dropped[0] == 5 && dropped[1] == 5 && dropped[2] == 0 && dropped[3] == 0;
    for (size_t r = 0; r < 10; r++)
        for (size_t i = 0; i < K; i++)
            ok &= drop[r * K + i] == (r >= 5 && i < 2);
    tap_ok(ok, "capacity F = 1: rows 6-10 dropped from experts 1 and 2 (%zu %zu %zu %zu)",
           dropped[0], dropped[1], dropped[2], dropped[3]);
    moe_gate_topk.capacity_rows(d, &gs, m->gate_par, 0, 10, 1.25, drop, dropped);
    tap_ok(dropped[0] == 3 && dropped[1] == 3 && drop[7 * K] && !drop[6 * K],
           "capacity F = 1.25: ceil(6.25) = 7 rows taken, rows 8-10 dropped (%zu %zu)",
           dropped[0], dropped[1]);
    moe_gate_topk.capacity_rows(d, &gs, m->gate_par, 0, 10, 1.0, drop, dropped);
    gs.drop = drop;
    double lg[10 * K], g[10 * K];
    moe_gate_topk.prob_rows(d, &gs, m->gate_par, 0, 10, lg, g);
    int zero = 1;
    for (size_t t = 5 * K; t < 10 * K; t++)
        zero &= g[t] == 0 && isinf(lg[t]);
    tap_ok(zero && g[0] == 0.5, "capacity: a row dropped everywhere has g = 0, the others 1/2");
    double l10 = moe_loss_rows(MOE_LOSS_NLL, d, m, &gs, m->gate_par, 0, 10, NULL, NULL);
    double l5 = moe_loss_rows(MOE_LOSS_NLL, d, m, NULL, m->gate_par, 0, 5, NULL, NULL);
    tap_ok(isfinite(l10) && l10 == l5, "capacity: the dropped rows add nothing to the nll "
           "(%.6g = %.6g)", l10, l5);
    memset(drop, 0, sizeof drop);
    drop[0] = 1;
    moe_gate_topk.prob_rows(d, &gs, m->gate_par, 0, 1, lg, g);
    tap_ok(g[0] == 0 && g[1] == 1, "capacity: dropped from expert 1 only, expert 2 weighs 1");
    moe_model_free(m);
    moe_dataset_free(d);
    gsl_rng_free(rng);
}

/* K = 4 regimes along z: y = b_r + x with regime r = the quarter of z in [-2, 2]. */
static moe_dataset *regimes(size_t n, gsl_rng *rng)
{
    moe_dataset *d = moe_dataset_alloc(n, 1, 1, 1);
    const char *xn[] = {"x"}, *zn[] = {"z"};
    moe_dataset_set_names(d, "y", xn, zn);
    for (size_t r = 0; r < n; r++) {
        double z = -2 + 4 * gsl_rng_uniform(rng), x = gsl_ran_gaussian(rng, 1);
        size_t reg = z < -1 ? 0 : z < 0 ? 1 : z < 1 ? 2 : 3;
        d->x[r * 2 + 1] = x;
        d->z[r * 2 + 1] = z;
        d->y[r] = 4.0 * (double)reg + x + gsl_ran_gaussian(rng, 0.5);
    }
    return d;
}

static double fit_routing(const moe_dataset *d, size_t top_k, moe_aux_loss aux, double wt,
                          double lwt, int noise, double *rcv2, moe_model **out);

/* Fits K = 4 with the topk gate (k = TOP_K) and AUX; the CV^2 (population variance over the
 * experts / mean^2) of the rows routed to each expert (kept with the largest weight) on the
 * data; also writes the fit's model to *OUT when not NULL. */
static double fit_load_cv2(const moe_dataset *d, size_t top_k, moe_aux_loss aux, double wt,
                           moe_model **out)
{
    return fit_routing(d, top_k, aux, wt, 0, -1, NULL, out);
}

/* As fit_load_cv2, with the load weight LWT, NOISE (moe_fit_options) and the routing's
 * CV^2 of the load (moe_fit_routing_cv2) into *RCV2 (may be NULL). */
static double fit_routing(const moe_dataset *d, size_t top_k, moe_aux_loss aux, double wt,
                          double lwt, int noise, double *rcv2, moe_model **out)
{
    moe_fit_options o = moe_fit_options_default();
    o.load_weight = lwt;
    o.noise = noise;
    o.k_min = o.k_max = 4;
    o.train = MOE_TRAIN_GD;
    o.gate = "topk";
    o.top_k = top_k;
    o.aux = aux;
    o.aux_weight = wt;
    o.restarts = 1;
    o.init = MOE_INIT_KMEANS;
    o.epochs = 400;
    o.standard_errors = 0;
    o.gate_lrt = 0;
    o.moves = 0;
    moe_fit *f = NULL;
    if (moe_fit_run(d, &o, &f, NULL) != MOE_SUCCESS)
        return NAN;
    moe_prediction *p = NULL;
    double load[4] = {0}, cv2 = NAN;
    if (moe_predict(moe_fit_model(f), d, 0, &p, NULL) == MOE_SUCCESS) {
        for (size_t r = 0; r < d->n; r++)
            load[p->expert[r]] += 1;
        double mean = (double)d->n / 4, v = 0;
        for (size_t i = 0; i < 4; i++)
            v += (load[i] - mean) * (load[i] - mean) / 4;
        cv2 = v / (mean * mean);
        printf("# top_k %zu aux %d: rows per expert %g %g %g %g, CV^2 %.3g\n", top_k, (int)aux,
               load[0], load[1], load[2], load[3], cv2);
        double ci, cl, sh = 0;
        size_t rows = 0;
        int ok = moe_fit_routing_cv2(f, &ci, &cl) == MOE_SUCCESS;
        for (size_t i = 0; ok && i < 4; i++) {
            double imp, ld;
            ok &= moe_fit_routing(f, i, &rows, &imp, &ld, NULL) == MOE_SUCCESS;
            sh += ld;
            /* k = 1: the one kept expert is the gate's largest; the load share is rows / n */
            if (top_k == 1)
                ok &= rows == (size_t)load[i] && fabs(ld - load[i] / (double)d->n) < 1e-15;
        }
        if (rcv2)
            *rcv2 = cl;
        tap_ok(ok && fabs(sh - 1) < 1e-12 && (top_k > 1 || fabs(cl - cv2) < 1e-12),
               "moe_fit_routing: rows and load shares (sum %.15g) agree with the predictions, "
               "CV^2 of load %.4g", sh, cl);
    }
    moe_prediction_free(p);
    if (out)
        *out = moe_model_copy(moe_fit_model(f));
    moe_fit_free(f);
    return cv2;
}

/* The teaching test. At W_g = 0 the Switch router sends every row to expert 1; without the
 * auxiliary loss the nll pushes that expert's probability up on every row (rich get richer),
 * so the router stays collapsed: CV^2 of the load is K - 1 = 3 for one expert taking every
 * row. With the Switch loss (weight 2; at 0.5 the nll's pull still wins here, at 1 one expert
 * stays empty) the load spreads over the four regimes: CV^2 below 0.25 (150/120/90/40 of 400
 * rows would be 0.22; one empty expert of four is 1/3; the regimes' own 100 each give 0). */
static void test_collapse(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    moe_dataset *d = regimes(400, rng);
    double none = fit_load_cv2(d, 1, MOE_AUX_NONE, 0, NULL);
    double sw = fit_load_cv2(d, 1, MOE_AUX_SWITCH, 2, NULL);
    double imp = fit_load_cv2(d, 1, MOE_AUX_SHAZEER, 2, NULL);
    tap_ok(none > 2, "Switch router without the aux loss collapses: CV^2 of load %.3g > 2", none);
    tap_ok(sw < 0.25, "with the switch aux loss (weight 2) the load is balanced: CV^2 %.3g < "
           "0.25", sw);
    /* the importance loss cannot pull a collapsed Switch router back: the importances
     * (I, 0, 0, 0) have CV^2 K - 1 whatever I, so its gradient is 0 there (Shazeer's noise,
     * not implemented, is what lets the other experts be tried) */
    tap_ok(imp > 2, "the shazeer (importance) loss leaves the collapsed Switch router as it is "
           "(CV^2 %.3g > 2)", imp);
    /* k = 2 with the training noise (the default for k >= 2): without an auxiliary loss the
     * kept sets stay lopsided; Shazeer's importance and load losses (weights 1 each) spread
     * them evenly (CV^2 of the rows keeping each expert; bound 0.05: 230/200/200/170 of the
     * 800 kept places would be 0.045) */
    double cn = NAN, cs = NAN;
    fit_routing(d, 2, MOE_AUX_NONE, 0, 0, -1, &cn, NULL);
    fit_routing(d, 2, MOE_AUX_SHAZEER, 1, 1, -1, &cs, NULL);
    tap_ok(cn > 0.2, "k = 2, noise, no aux loss: the load is lopsided (CV^2 %.3g > 0.2)", cn);
    tap_ok(cs < 0.05, "k = 2, noise, importance + load losses: balanced (CV^2 %.3g < 0.05)",
           cs);
    moe_dataset_free(d);
    gsl_rng_free(rng);
}

/* A fitted k = 2 model saved and loaded gives the same block and the same predictions bit
 * for bit; the gate of its predictions has exactly K - 2 zeros per row. */
static void test_save_load(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    moe_dataset *d = regimes(200, rng);
    moe_model *m = NULL, *l = NULL;
    fit_load_cv2(d, 2, MOE_AUX_SWITCH, 0.01, &m);
    char path[] = "/tmp/test_topk_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0)
        close(fd);
    moe_error e;
    memset(&e, 0, sizeof e);
    int ok = m && moe_model_save(m, path, &e) == MOE_SUCCESS &&
             moe_model_load(path, &l, &e) == MOE_SUCCESS;
    if (!ok)
        printf("# %s\n", m ? e.message : "no fit");
    tap_ok(ok && l->top_k == 2 && strcmp(l->gate->name, "topk") == 0, "saved and loaded: "
           "topk gate with top_k 2");
    /* the block: the logit rows, then the noise rows that training moved off 0 */
    double unorm = 0;
    for (size_t j = 4 * 2; ok && j < 2 * 4 * 2; j++)
        unorm += fabs(m->gate_par[j]);
    tap_ok(ok && l->gp == m->gp && m->gp == 2 * 4 * 2 &&
           memcmp(l->gate_par, m->gate_par, m->gp * sizeof *m->gate_par) == 0 && unorm > 0,
           "saved and loaded: the gate block (gate_coef and gate_noise, |W_noise|_1 = %.3g) "
           "bit for bit", unorm);
    moe_prediction *p1 = NULL, *p2 = NULL;
    if (ok && moe_predict(m, d, 1, &p1, NULL) == MOE_SUCCESS &&
        moe_predict(l, d, 1, &p2, NULL) == MOE_SUCCESS) {
        size_t zeros = 0;
        for (size_t t = 0; t < d->n * 4; t++)
            zeros += p1->gate[t] == 0;
        tap_ok(memcmp(p1->mean, p2->mean, d->n * sizeof *p1->mean) == 0 &&
               memcmp(p1->gate, p2->gate, d->n * 4 * sizeof *p1->gate) == 0 &&
               memcmp(p1->posterior, p2->posterior, d->n * 4 * sizeof *p1->posterior) == 0,
               "predictions of the loaded model = the fitted one's, bit for bit");
        tap_int((long)zeros, (long)(2 * d->n), "g = 0 for the 2 experts not kept of every row");
    } else {
        tap_ok(0, "predictions");
        tap_ok(0, "zeros");
    }
    moe_prediction_free(p1);
    moe_prediction_free(p2);
    unlink(path);
    moe_model_free(m);
    moe_model_free(l);
    moe_dataset_free(d);
    gsl_rng_free(rng);
}

/* EM refuses the topk gate with a message naming gradient descent. */
static void test_em_refused(void)
{
    moe_fit_options o = moe_fit_options_default();
    o.gate = "topk";
    const char *why = moe_fit_options_check(&o);
    tap_ok(why && strstr(why, "gradient descent"), "EM refuses the topk gate (%s)",
           why ? why : "accepted");
    o.train = MOE_TRAIN_GD;
    o.k_min = o.k_max = 3;
    o.top_k = 4;
    why = moe_fit_options_check(&o);
    tap_ok(why && strstr(why, "top_k"), "top_k above K refused (%s)", why ? why : "accepted");
}

int main(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    test_nll_gradient(1, 0, NULL, rng);
    test_nll_gradient(2, 0, NULL, rng);
    test_nll_gradient(1, 1, NULL, rng);
    test_nll_gradient(2, 1, NULL, rng);
    unsigned char drop[N * K] = {0};
    for (size_t t = 0; t < N * K; t += 3)  /* any mask: the gradient holds for it fixed */
        drop[t] = 1;
    test_nll_gradient(2, 1, drop, rng);
    test_nll_gradient(1, 1, drop, rng);
    test_aux_gradient((moe_gate_losses){MOE_AUX_SWITCH, 0.7, 0, 0}, "switch", 2, rng);
    test_aux_gradient((moe_gate_losses){MOE_AUX_SWITCH, 0.7, 0, 0}, "switch", 1, rng);
    test_aux_gradient((moe_gate_losses){MOE_AUX_SHAZEER, 0.7, 0, 0}, "importance", 2, rng);
    test_aux_gradient((moe_gate_losses){MOE_AUX_SHAZEER, 0.7, 0, 0}, "importance", 1, rng);
    test_aux_gradient((moe_gate_losses){MOE_AUX_SHAZEER, 0, 0.7, 0}, "load", 2, rng);
    test_aux_gradient((moe_gate_losses){MOE_AUX_SHAZEER, 0, 0.7, 0}, "load", 1, rng);
    test_aux_gradient((moe_gate_losses){MOE_AUX_SHAZEER, 0.3, 0.7, 0}, "shazeer", 2, rng);
    test_aux_gradient((moe_gate_losses){MOE_AUX_NONE, 0, 0, 0.7}, "z-loss", 2, rng);
    test_aux_gradient((moe_gate_losses){MOE_AUX_NONE, 0, 0, 0.7}, "z-loss", 1, rng);
    test_aux_gradient((moe_gate_losses){MOE_AUX_SWITCH, 0.5, 0, 0.2}, "switch + z-loss", 2,
                      rng);
    test_k_equals_softmax(rng);
    test_ties();
    test_em_refused();
    test_noise();
    test_capacity();
    test_load_value();
    test_save_load();
    test_collapse();
    gsl_rng_free(rng);
    return tap_done();
}
