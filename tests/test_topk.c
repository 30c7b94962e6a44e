/* test_topk.c: the sparse top-k gate (src/gates/topk.c): the nll loss's gradient (gate and
 * experts) for k = 1 (Switch form) and k = 2 of K = 4 against central finite differences of
 * the loss, away from ties; the auxiliary losses' gradients (switch, shazeer) likewise; k = K
 * against the softmax gate's probabilities (the same closed form); ties to the lower index;
 * save, load and predict bit for bit, with g = 0 for the experts not kept; and the teaching
 * test: on simulated regimes the Switch router (k = 1) collapses without the auxiliary loss
 * and spreads its load with it.
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

/* The smallest gap, over the rows of D, between the top_k-th and the next largest logit of
 * gate coefficients V (the kept set is constant within half of it). */
static double min_gap(const moe_dataset *d, const double *v, size_t k, size_t top_k)
{
    double gap = INFINITY;
    size_t p = NZ + 1;
    for (size_t r = 0; r < d->n; r++) {
        double eta[K];
        for (size_t i = 0; i < k; i++) {
            eta[i] = 0;
            for (size_t j = 0; i + 1 < k && j < p; j++)
                eta[i] += v[i * p + j] * d->z[r * p + j];
        }
        for (size_t a = 0; a < k; a++)  /* sort descending */
            for (size_t b = a + 1; b < k; b++)
                if (eta[b] > eta[a]) {
                    double t = eta[a];
                    eta[a] = eta[b];
                    eta[b] = t;
                }
        if (top_k < k && eta[top_k - 1] - eta[top_k] < gap)
            gap = eta[top_k - 1] - eta[top_k];
    }
    return gap;
}

/* The nll loss's gradient against central differences (h = 1e-6; the loss is smooth while
 * the kept sets stay, which min_gap > 1e-3 guarantees for steps of 1e-6). */
static void test_nll_gradient(size_t top_k, gsl_rng *rng)
{
    moe_dataset *d = make_data(N, rng);
    moe_model *m = topk_model(K, top_k);
    size_t np = moe_model_nparams(m), nep = moe_model_expert_nparams(m), ne = K * nep;
    double *theta = malloc(np * sizeof *theta), *g = calloc(np, sizeof *g);
    double *tp = malloc(np * sizeof *tp);
    for (size_t j = 0; j < np; j++)
        theta[j] = 0.6 * gsl_ran_gaussian(rng, 1);
    tap_ok(min_gap(d, theta + ne, K, top_k) > 1e-3, "k = %zu: the rows are away from ties "
           "(gap %.3g)", top_k, min_gap(d, theta + ne, K, top_k));
    moe_model_set_theta(m, theta);
    moe_loss_rows(MOE_LOSS_NLL, d, m, theta + ne, 0, N, g, NULL);
    double worst = 0;
    for (size_t j = 0; j < np; j++) {
        double h = 1e-6;
        memcpy(tp, theta, np * sizeof *tp);
        tp[j] = theta[j] + h;
        moe_model_set_theta(m, tp);
        double lp = moe_loss_rows(MOE_LOSS_NLL, d, m, tp + ne, 0, N, NULL, NULL);
        tp[j] = theta[j] - h;
        moe_model_set_theta(m, tp);
        double lm = moe_loss_rows(MOE_LOSS_NLL, d, m, tp + ne, 0, N, NULL, NULL);
        double fd = (lp - lm) / (2 * h), e = fabs(fd - g[j]) / (1 + fabs(fd));
        if (e > worst)
            worst = e;
    }
    /* central differences of a loss of size ~100 at h = 1e-6: truncation ~1e-12, rounding
     * ~1e-14 * 100 / 1e-6 = 1e-6 */
    tap_ok(worst < 1e-5, "k = %zu: nll gradient (experts and gate) = central differences "
           "(worst relative error %.3g)", top_k, worst);
    double gate_norm = 0;
    for (size_t j = ne; j < np; j++)
        gate_norm += fabs(g[j]);
    tap_ok(gate_norm > 1e-3, "k = %zu: the gate gets a gradient (|grad W_g|_1 = %.3g)", top_k,
           gate_norm);
    free(theta);
    free(g);
    free(tp);
    moe_model_free(m);
    moe_dataset_free(d);
}

/* aux_rows' gradient against central differences of its value. */
static void test_aux_gradient(moe_aux_loss aux, const char *name, size_t top_k, gsl_rng *rng)
{
    moe_dataset *d = make_data(N, rng);
    moe_model *m = topk_model(K, top_k);
    moe_gate_shape gs = moe_model_gate_shape(m);
    size_t np = moe_gate_topk.nparams(&gs);
    double th[64], g[64] = {0}, tp[64];
    for (size_t j = 0; j < np; j++)
        th[j] = 0.6 * gsl_ran_gaussian(rng, 1);
    tap_ok(min_gap(d, th, K, top_k) > 1e-3, "%s k = %zu: away from ties", name, top_k);
    double l0 = moe_gate_topk.aux_rows(d, &gs, th, 0, N, aux, 0.7, g), worst = 0;
    for (size_t j = 0; j < np; j++) {
        double h = 1e-6;
        memcpy(tp, th, np * sizeof *tp);
        tp[j] = th[j] + h;
        double lp = moe_gate_topk.aux_rows(d, &gs, tp, 0, N, aux, 0.7, NULL);
        tp[j] = th[j] - h;
        double lm = moe_gate_topk.aux_rows(d, &gs, tp, 0, N, aux, 0.7, NULL);
        double fd = (lp - lm) / (2 * h), e = fabs(fd - g[j]) / (1e-3 + fabs(fd));
        if (e > worst)
            worst = e;
    }
    tap_ok(l0 > 0 && worst < 1e-5, "%s aux k = %zu: value %.6g > 0, gradient = central "
           "differences (worst relative error %.3g)", name, top_k, l0, worst);
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

/* Fits K = 4 with the topk gate (k = TOP_K) and AUX; the CV^2 (population variance over the
 * experts / mean^2) of the rows routed to each expert (kept with the largest weight) on the
 * data; also writes the fit's model to *OUT when not NULL. */
static double fit_load_cv2(const moe_dataset *d, size_t top_k, moe_aux_loss aux, double wt,
                           moe_model **out)
{
    moe_fit_options o = moe_fit_options_default();
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
            ok &= moe_fit_routing(f, i, &rows, &imp, &ld) == MOE_SUCCESS;
            sh += ld;
            /* k = 1: the one kept expert is the gate's largest; the load share is rows / n */
            if (top_k == 1)
                ok &= rows == (size_t)load[i] && fabs(ld - load[i] / (double)d->n) < 1e-15;
        }
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
    test_nll_gradient(1, rng);
    test_nll_gradient(2, rng);
    test_aux_gradient(MOE_AUX_SWITCH, "switch", 2, rng);
    test_aux_gradient(MOE_AUX_SWITCH, "switch", 1, rng);
    test_aux_gradient(MOE_AUX_SHAZEER, "shazeer", 2, rng);
    test_aux_gradient(MOE_AUX_SHAZEER, "shazeer", 1, rng);
    test_k_equals_softmax(rng);
    test_ties();
    test_em_refused();
    test_save_load();
    test_collapse();
    gsl_rng_free(rng);
    return tap_done();
}
