/* test_mlp.c: the MLP expert family (src/experts/mlp.c) through its type table and the
 * library: family specs (moe_family_check); newton_add against log_density_rows and
 * score_rows; the chunked slots against row-by-row calls; the fields covering the block;
 * from_linear against the line it is given; the seeded start (randomise); a K = 1 fit of a known smooth function reaching the noise level;
 * save, load and predict bit for bit; the same fit for the same seed and for 1 and 2 threads;
 * EM's refusal. (The gradients of the three GD losses are checked in test_loss.c.)
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experts/expert.h"
#include "model/estep.h"
#include "model/model.h"
#include "tap.h"

#define NX 2
#define H 3
#define N 9

static void test_specs(void)
{
    const char *good[] = {"mlp:8", "mlp:16:relu", "mlp:1:tanh", "mlp:1024", "gaussian", NULL};
    const char *bad[][2] = {
        {"mlp:0", "mlp: the hidden units must be a whole number from 1 to 1024, not '0'"},
        {"mlp:x", "mlp: the hidden units must be a whole number from 1 to 1024, not 'x'"},
        {"mlp:1025", "not '1025'"},
        {"mlp:-3", "not '-3'"},
        {"mlp:8:sigmoid", "mlp: unknown activation 'sigmoid' (tanh or relu)"},
        {"mlp", "mlp needs its hidden units"},
        {"mlp:", "not ''"},
        {"poisson:2", "the poisson family takes no options"},
        {"weibull:2", "unknown expert family 'weibull'"},
    };
    for (size_t j = 0; good[j]; j++)
        tap_ok(moe_family_check(good[j]) == NULL, "spec %s is accepted", good[j]);
    for (size_t j = 0; j < sizeof bad / sizeof *bad; j++) {
        const char *why = moe_family_check(bad[j][0]);
        tap_ok(why && strstr(why, bad[j][1]), "spec %s: '%s'", bad[j][0], why ? why : "(none)");
    }
    const moe_expert_type *et;
    moe_expert_shape es;
    moe_expert_spec_parse("mlp:16:relu", &et, &es);
    char buf[64];
    moe_expert_spec_format(et, &es, buf, sizeof buf);
    tap_ok(et == &moe_expert_mlp && es.hidden == 16 && es.activation == MOE_ACT_RELU &&
               strcmp(buf, "mlp:16:relu") == 0, "mlp:16:relu parses and formats back (%s)", buf);
    moe_expert_spec_parse("mlp:5", &et, &es);
    tap_ok(es.hidden == 5 && es.activation == MOE_ACT_TANH, "mlp:5: tanh by default");
}

/* A small data set (NX inputs, design column 0 = 1) and responsibilities of K = 2 columns, the
 * expert's the second; one row has h = 0, one h = 2. */
static double X[N * (NX + 1)] = {1, 0.3,  -1.2, 1, -0.8, 0.4, 1, 1.5, 0.9,  1, 0.0, -0.3, 1, -1.4,
                                 1.1, 1, 0.7,  0.2, 1, -0.2, -1.6, 1, 1.1, 1.3, 1, 2.0, -0.5};
static double Y[N] = {0.4, -1.3, 2.2, 0.1, -0.7, 1.9, 0.5, -2.4, 0.8};
static double HH[N * 2] = {9, 0.9, 9, 0.3, 9, 0.0, 9, 1.0, 9, 0.55, 9, 2.0, 9, 0.1, 9, 0.75,
                           9, 1.0};

/* X and Y as a data set (no gate inputs, no weights). */
static moe_dataset small_data(void)
{
    moe_dataset d;
    memset(&d, 0, sizeof d);
    d.n = N;
    d.nx = NX;
    d.x = X;
    d.y = Y;
    return d;
}

static void test_table(moe_activation act)
{
    const moe_expert_type *t = &moe_expert_mlp;
    moe_expert_shape s = {NX, H, act};
    const char *an = act == MOE_ACT_RELU ? "relu" : "tanh";
    moe_dataset d = small_data();
    size_t bs = t->block_size(&s), np = t->nparams(&s);
    tap_int((long)bs, (long)(H * (NX + 1) + H + 2), "%s: block of H(nx+1) + H + 2 doubles", an);
    double par[64], theta[64], logf[N], score[64], st[2000];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    t->init(&s, par);
    t->randomise(&s, par, rng);
    par[bs - 2] = 0.3;  /* the output bias */
    par[bs - 1] = 0.8;  /* sigma */
    t->get_theta(&s, par, theta);
    /* newton_add: [0] = sum h log f, the gradient = score_rows, and a positive diagonal */
    memset(st, 0, sizeof st);
    t->newton_add(&d, &s, theta, HH, 2, 1, 0, 4, 1, st);
    t->newton_add(&d, &s, theta, HH, 2, 1, 4, N, 1, st);
    t->log_density_rows(&d, &s, par, 0, N, logf);
    double obj = 0;
    for (size_t r = 0; r < N; r++)
        obj += HH[2 * r + 1] * logf[r];
    tap_rel(st[0], obj, 1e-12, "%s: newton objective = sum h log f", an);
    memset(score, 0, sizeof score);
    t->score_rows(&d, &s, par, HH, 2, 1, 0, N, score);
    double worst = 0;
    for (size_t j = 0; j < np; j++)
        worst = fmax(worst, fabs(st[1 + j] - score[j]) / (fabs(score[j]) + 1));
    tap_ok(worst < 1e-12, "%s: newton gradient = score_rows (worst %.3g)", an, worst);
    int diag_pos = 1;
    const double *pp = st + 1 + np;
    for (size_t r = 0; r < np; r++) {
        diag_pos = diag_pos && *pp > 0;
        pp += np - r;
    }
    tap_ok(diag_pos, "%s: the expected information's diagonal is positive", an);
    tap_int((long)t->newton_size(&s), (long)(1 + np + np * (np + 1) / 2), "%s: newton_size", an);
    /* the fields cover the block once */
    moe_param_field f[MOE_PARAM_FIELDS_MAX];
    size_t nf = t->fields(&s, f), covered = 0;
    for (size_t j = 0; j < nf; j++)
        covered += (f[j].rows ? f[j].rows : 1) * f[j].len;
    tap_int((long)covered, (long)bs, "%s: the model-file fields cover the block", an);
    /* from_linear: the network's mean is the line (relu exactly, tanh within 1e-8) */
    double beta[NX + 1] = {0.7, -1.3, 0.4}, mean[N], var[N], blk[64];
    t->from_linear(&s, beta, 0.5, blk);
    t->moments_rows(&d, &s, blk, 0, N, mean, var);
    double dev = 0;
    for (size_t r = 0; r < N; r++) {
        double line = beta[0] + beta[1] * X[r * 3 + 1] + beta[2] * X[r * 3 + 2];
        dev = fmax(dev, fabs(mean[r] - line));
    }
    tap_ok(act == MOE_ACT_RELU ? dev == 0 : dev < 1e-7, "%s: from_linear's mean is the line "
           "(largest deviation %.3g)", an, dev);
    tap_ok(var[0] == 0.25, "%s: from_linear's variance is noise^2", an);
    /* the start is drawn from the stream: the same seed, the same block; weights not zero */
    double b1[64], b2[64];
    gsl_rng_set(rng, 11);
    t->randomise(&s, b1, rng);
    gsl_rng_set(rng, 11);
    t->randomise(&s, b2, rng);
    int nonzero = 0;
    for (size_t j = 0; j < (size_t)H * (NX + 1); j++)
        nonzero += b1[j] != 0;
    tap_ok(memcmp(b1, b2, bs * sizeof *b1) == 0 && nonzero == H * (NX + 1),
           "%s: randomise is deterministic for a seed and draws every input weight", an);
    gsl_rng_free(rng);
}

/* The chunked slots: with H = 1024 units a chunk is 4 rows, so rows 1 .. N - 1 cross three
 * chunks (4, 4, 1 rows from an offset start); log_density_rows, moments_rows, score_rows and
 * mean_grad_rows over the range equal their calls one row at a time bit for bit (every sum
 * is taken in row order either way). */
static void test_chunks(moe_activation act)
{
    const moe_expert_type *t = &moe_expert_mlp;
    moe_expert_shape s = {NX, 1024, act};
    const char *an = act == MOE_ACT_RELU ? "relu" : "tanh";
    moe_dataset d = small_data();
    size_t bs = t->block_size(&s), np = t->nparams(&s);
    double *par = malloc(bs * sizeof *par), *g1 = calloc(2 * np, sizeof *g1);
    double *g2 = calloc(2 * np, sizeof *g2), *m1 = g1 + np, *m2 = g2 + np;
    double lf1[N], lf2[N], mu1[N], mu2[N], v1[N], v2[N], cc[2 * N];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    t->init(&s, par);
    t->randomise(&s, par, rng);
    for (size_t r = 0; r < 2 * N; r++)
        cc[r] = gsl_ran_gaussian(rng, 1);
    t->log_density_rows(&d, &s, par, 1, N, lf1);
    t->moments_rows(&d, &s, par, 1, N, mu1, v1);
    t->score_rows(&d, &s, par, HH, 2, 1, 1, N, g1);
    t->mean_grad_rows(&d, &s, par, cc, 2, 1, 1, N, m1);
    for (size_t r = 1; r < N; r++) {
        t->log_density_rows(&d, &s, par, r, r + 1, lf2 + r - 1);
        t->moments_rows(&d, &s, par, r, r + 1, mu2 + r - 1, v2 + r - 1);
        t->score_rows(&d, &s, par, HH, 2, 1, r, r + 1, g2);
        t->mean_grad_rows(&d, &s, par, cc, 2, 1, r, r + 1, m2);
    }
    size_t m = (N - 1) * sizeof *lf1;
    tap_ok(memcmp(lf1, lf2, m) == 0 && memcmp(mu1, mu2, m) == 0 && memcmp(v1, v2, m) == 0,
           "%s, 1024 units: log-densities and moments of rows 1..%d in chunks = row by row",
           an, N - 1);
    tap_ok(memcmp(g1, g2, 2 * np * sizeof *g1) == 0,
           "%s, 1024 units: score_rows and mean_grad_rows in chunks = row by row", an);
    gsl_rng_free(rng);
    free(par);
    free(g1);
    free(g2);
}

/* y = sin(2 x) + N(0, 0.1^2), x ~ U(-2, 2): N rows of data. */
static moe_dataset *smooth_data(size_t n, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t r = 0; r < n; r++) {
        x[r] = -2 + 4 * gsl_rng_uniform(rng);
        y[r] = sin(2 * x[r]) + gsl_ran_gaussian(rng, 0.1);
    }
    moe_dataset *d = NULL;
    moe_dataset_from_arrays(n, 1, x, 1, x, y, &d, NULL);
    free(x);
    free(y);
    gsl_rng_free(rng);
    return d;
}

static moe_fit_options mlp_options(size_t k, const char *family)
{
    moe_fit_options o = moe_fit_options_default();
    o.k_min = o.k_max = k;
    o.family = family;
    o.train = MOE_TRAIN_GD;
    o.restarts = 2;
    o.gate_lrt = 0;
    return o;
}

/* K = 1, mlp:8 on 400 rows of sin(2x) + N(0, 0.1^2): the reference is the noise SD 0.1 that
 * drew the data (a straight line leaves a residual SD near 0.7). The fitted sigma must be
 * within 15% of it and the fitted curve within 0.05 of sin(2x) on a grid of [-1.9, 1.9]. */
static void test_smooth_fit(void)
{
    moe_dataset *d = smooth_data(400, 3);
    moe_fit_options o = mlp_options(1, "mlp:8");
    moe_fit *f = NULL;
    moe_error err;
    memset(&err, 0, sizeof err);
    int st = moe_fit_run(d, &o, &f, &err);
    tap_ok(st == MOE_SUCCESS, "K = 1 mlp:8 fit of sin(2x) runs (%s)", err.message);
    if (st) {
        moe_dataset_free(d);
        return;
    }
    const moe_model *m = moe_fit_model(f);
    double coef[2], sigma = NAN;
    moe_model_expert(m, 0, coef, &sigma);
    tap_ok(fabs(sigma - 0.1) < 0.015, "K = 1 mlp:8: sigma %.4f within 15%% of the noise 0.1",
           sigma);
    tap_ok(isnan(coef[0]) && isnan(coef[1]), "moe_model_expert: no regression coefficients "
           "(NaN) for an mlp expert");
    tap_int((long)moe_model_ncoef(m, 0), 1, "mlp: one reported coefficient (sigma)");
    char nm[32];
    moe_model_coef_name(m, 0, 0, nm, sizeof nm);
    tap_ok(strcmp(nm, "sigma") == 0, "mlp: its name is sigma (%s)", nm);
    double gx[39], gy[39];
    for (size_t j = 0; j < 39; j++)
        gx[j] = -1.9 + 0.1 * (double)j;
    moe_dataset *g = NULL;
    moe_dataset_from_arrays(39, 1, gx, 1, gx, NULL, &g, NULL);
    moe_prediction *p = NULL;
    moe_predict(m, g, 0, &p, NULL);
    double worst = 0;
    for (size_t j = 0; p && j < 39; j++) {
        gy[j] = p->mean[j];
        worst = fmax(worst, fabs(gy[j] - sin(2 * gx[j])));
    }
    tap_ok(p && worst < 0.05, "K = 1 mlp:8: the fitted curve within 0.05 of sin(2x) (worst "
           "%.4f)", worst);
    moe_prediction_free(p);
    moe_dataset_free(g);
    moe_fit_free(f);
    moe_dataset_free(d);
}

/* Save, load, predict: the loaded model predicts bit for bit what the fitted one did. */
static void test_save_load(void)
{
    moe_dataset *d = smooth_data(150, 5);
    moe_fit_options o = mlp_options(2, "mlp:4:relu");
    o.epochs = 200;
    moe_fit *f = NULL;
    if (moe_fit_run(d, &o, &f, NULL)) {
        tap_ok(0, "K = 2 mlp:4:relu fit runs");
        moe_dataset_free(d);
        return;
    }
    const moe_model *m = moe_fit_model(f);
    char path[] = "/tmp/test_mlp_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0)
        close(fd);
    moe_model *l = NULL;
    int st = moe_model_save(m, path, NULL) || moe_model_load(path, &l, NULL);
    tap_ok(!st && l && strcmp(moe_model_family(l), "mlp") == 0, "mlp model saved and loaded");
    moe_prediction *p0 = NULL, *p1 = NULL;
    if (l) {
        moe_predict(m, d, 1, &p0, NULL);
        moe_predict(l, d, 1, &p1, NULL);
    }
    size_t n = moe_dataset_nrows(d);
    tap_ok(p0 && p1 && memcmp(p0->mean, p1->mean, n * sizeof *p0->mean) == 0 &&
               memcmp(p0->sd, p1->sd, n * sizeof *p0->sd) == 0 &&
               memcmp(p0->posterior, p1->posterior, 2 * n * sizeof *p0->posterior) == 0,
           "mlp: the loaded model predicts bit for bit as the fitted one");
    double ll0 = NAN, ll1 = NAN;
    if (l) {
        moe_model_loglik(m, d, &ll0, NULL);
        moe_model_loglik(l, d, &ll1, NULL);
    }
    tap_ok(ll0 == ll1 && ll0 == moe_fit_get_stats(f).loglik,
           "mlp: the loaded model's log-likelihood is the fit's, bit for bit (%.17g)", ll1);
    moe_prediction_free(p0);
    moe_prediction_free(p1);
    moe_model_free(l);
    unlink(path);
    moe_fit_free(f);
    moe_dataset_free(d);
}

/* The same seed gives the same fit bit for bit, with 1 and 2 threads, on rows spanning several
 * row blocks, full batch and mini-batches; another seed gives another fit. */
static void test_determinism(void)
{
    moe_dataset *d = smooth_data(9000, 9);
    tap_ok(moe_block_count(9000) > 1, "the thread test spans several row blocks");
    size_t batches[2] = {0, 2500};
    int nt = omp_get_max_threads();
    for (size_t b = 0; b < 2; b++) {
        moe_fit_options o = mlp_options(2, "mlp:3");
        o.restarts = 1;
        o.epochs = 8;
        o.batch = batches[b];
        moe_fit *f[3] = {NULL, NULL, NULL};
        for (int t = 0; t < 3; t++) {
            omp_set_num_threads(t == 1 ? 2 : 1);
            o.seed = t == 2 ? 2 : 1;
            moe_fit_run(d, &o, &f[t], NULL);
        }
        omp_set_num_threads(nt);
        double th[3][64];
        for (int t = 0; t < 3; t++)
            if (f[t])
                moe_model_get_theta(moe_fit_model(f[t]), th[t]);
        size_t np = f[0] ? moe_model_nparams(moe_fit_model(f[0])) : 0;
        tap_ok(f[0] && f[1] && f[2] && np < 64 && memcmp(th[0], th[1], np * sizeof **th) == 0,
               "batch %zu: mlp fits with 1 and 2 threads are bit-identical", batches[b]);
        tap_ok(f[2] && memcmp(th[0], th[2], np * sizeof **th) != 0,
               "batch %zu: another seed, another start", batches[b]);
        for (int t = 0; t < 3; t++)
            moe_fit_free(f[t]);
    }
    moe_dataset_free(d);
}

static void test_em_refused(void)
{
    moe_fit_options o = mlp_options(2, "mlp:8");
    o.train = MOE_TRAIN_EM;
    const char *why = moe_fit_options_check(&o);
    tap_ok(why && strstr(why, "use --train gd"), "EM refuses mlp experts: '%s'",
           why ? why : "(none)");
}

int main(void)
{
    test_specs();
    test_table(MOE_ACT_TANH);
    test_table(MOE_ACT_RELU);
    test_chunks(MOE_ACT_TANH);
    test_chunks(MOE_ACT_RELU);
    test_em_refused();
    test_smooth_fit();
    test_save_load();
    test_determinism();
    return tap_done();
}
