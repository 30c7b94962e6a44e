/* test_glm.c: the GLM expert families (poisson, logistic) and observation weights, end to end
 * through the library's public fitting API (moe_fit_run): the K = 1 M-step against closed
 * forms, df/AIC/BIC, frequency weights against replicated rows for every family, recovery of
 * simulated truth at K = 2, and bad responses and weights.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Every reference number is derived in a comment next to it, by hand from the fixture text
 * (group sums and means) or from the closed form of the maximum-likelihood estimate. Fixtures
 * are written by the test into a temporary folder (tests/fixture.h). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "fixture.h"
#include "gates/gate.h"
#include "model/estep.h"
#include "moe.h"
#include "tap.h"

#define CLOSED_REL 1e-8  /* the MLE against its closed form (issue 9's tolerance) */
#define WEIGHT_REL 1e-8  /* a weighted fit against the fit on replicated rows (issue 9) */
/* Coefficients and SEs of Newton (GLM) fits, weighted against replicated. The weighted-Newton
 * driver (src/train/newton.c) ends an expert's M-step with one last full step even when its
 * predicted gain is below the rounding of the objective (a sum of hundreds of log-densities),
 * so the parameters reach the MLE to rounding, as the closed-form Gaussian M-step does
 * (test_newton_precision checks one case against IRLS in long double). */
#define NEWTON_REL 1e-8
/* K = 2, weighted against replicated: the two fits start from different points and stop by
 * EM's rule, so their coefficients are compared on the scale of their uncertainty (within
 * this share of the SE; a bug such as weights ignored somewhere moves them by O(SE) or more)
 * and their SEs relative. Seen: at most 6e-7 SE in the coefficients, 1e-6 relative in the SEs. */
#define K2_SE_SHARE 1e-4
#define K2_SE_REL 1e-4
#define EXACT_REL 1e-12  /* two evaluations of the same formula (AIC, BIC from loglik) */
#define RECOVER_SE 4.0   /* simulated truth within this many standard errors */
#define TRIALS 10        /* binomial size of the simulated logistic data */

/* ------------------------------------------------------------------ helpers */

/* A data set read from CSV TEXT through a fixture file, with the response "y", INPUTS (""
 * none), gate inputs the same, and the optional weights, offset and trials columns. Returns
 * the status of moe_dataset_from_table; *D is NULL on failure. The fixture file is kept (its
 * path is in `path`, for msg()) until the next fixture. */
static int data_of(const char *text, const char *inputs, const char *weights,
                   const char *offset, const char *trials, moe_dataset **d, moe_error *err)
{
    static char last[600];
    if (*last)
        unlink(last);
    const char *p = fixture(text, strlen(text));
    snprintf(last, sizeof last, "%s", p);
    moe_table *t = NULL;
    *d = NULL;
    int st = moe_table_read_csv(p, NULL, &t, err);
    if (st != MOE_SUCCESS) {
        printf("# fixture: %s\n", err->message);
        exit(99);
    }
    moe_selection s = moe_selection_default();
    s.response = "y";
    s.inputs = inputs;
    s.weights = weights;
    s.offset = offset;
    s.trials = trials;
    st = moe_dataset_from_table(t, &s, d, err);
    moe_table_free(t);
    return st;
}

/* The same, for text that must load; exits 99 when it does not. */
static moe_dataset *load(const char *text, const char *inputs, const char *weights,
                         const char *offset, const char *trials)
{
    moe_dataset *d = NULL;
    moe_error err;
    if (data_of(text, inputs, weights, offset, trials, &d, &err) != MOE_SUCCESS) {
        printf("# fixture: %s\n", err.message);
        exit(99);
    }
    return d;
}

/* Fit options for one K of FAMILY with a tight tolerance. */
static moe_fit_options opts(const char *family, size_t k, size_t restarts)
{
    moe_fit_options o = moe_fit_options_default();
    o.family = family;
    o.k_min = o.k_max = k;
    o.restarts = restarts;
    o.tol = 1e-12;
    o.max_iter = 5000;
    o.seed = 7;
    return o;
}

/* Fits, or reports the failure as a failed check and returns NULL. */
static moe_fit *fit_or_fail(const moe_dataset *d, const moe_fit_options *o, const char *what)
{
    moe_fit *f = NULL;
    moe_error err;
    memset(&err, 0, sizeof err);
    int st = moe_fit_run(d, o, &f, &err);
    if (st != MOE_SUCCESS) {
        tap_ok(0, "%s: fit failed (%s)", what, err.message);
        return NULL;
    }
    return f;
}

/* log of the Poisson pmf at y with mean mu. */
static double pois_logpmf(double y, double mu) { return y * log(mu) - mu - lgamma(y + 1); }

/* log of the binomial pmf of y successes out of n with probability p. */
static double binom_logpmf(double y, double n, double p)
{
    return lgamma(n + 1) - lgamma(y + 1) - lgamma(n - y + 1) + y * log(p) + (n - y) * log1p(-p);
}

static double logit(double p) { return log(p / (1 - p)); }

/* AIC and BIC of F recomputed from its loglik and df with N as BIC's sample size. */
static void check_criteria(const moe_fit *f, double n, const char *what)
{
    moe_fit_stats s = moe_fit_get_stats(f);
    tap_rel(s.aic, -2 * s.loglik + 2 * (double)s.df, EXACT_REL, "%s: AIC = -2 loglik + 2 df",
            what);
    tap_rel(s.bic, -2 * s.loglik + (double)s.df * log(n), EXACT_REL,
            "%s: BIC = -2 loglik + df log(%g)", what, n);
}

/* ------------------------------------------------------------------ (a) closed forms */

/* Poisson, intercept only. y = 0 1 1 2 3 5 2 4: n = 8, sum y = 18, mean 2.25. The MLE is
 * beta0 = log(mean y) = log 2.25; the observed information is sum mu = sum y = 18, so
 * SE = 1/sqrt(18); loglik = sum log Pois(y; 2.25). df = k(nx+1) = 1 (no sigma, no gate). */
static void test_poisson_intercept(void)
{
    moe_dataset *d = load("y\n0\n1\n1\n2\n3\n5\n2\n4\n", "", NULL, NULL, NULL);
    moe_fit_options o = opts("poisson", 1, 1);
    moe_fit *f = fit_or_fail(d, &o, "poisson intercept");
    if (f) {
        const moe_model *m = moe_fit_model(f);
        tap_ok(strcmp(moe_model_family(m), "poisson") == 0, "poisson intercept: family");
        tap_int((long)moe_model_ncoef(m, 0), 1, "poisson intercept: one coefficient, no sigma");
        double c[1], se[1], ys[] = {0, 1, 1, 2, 3, 5, 2, 4}, ll = 0;
        moe_fit_coefs(f, 0, c, se);
        tap_rel(c[0], log(2.25), CLOSED_REL, "poisson intercept: beta0 = log(mean y)");
        tap_rel(se[0], 1 / sqrt(18.0), CLOSED_REL, "poisson intercept: SE = 1/sqrt(sum y)");
        for (size_t r = 0; r < 8; r++)
            ll += pois_logpmf(ys[r], 2.25);
        moe_fit_stats s = moe_fit_get_stats(f);
        tap_rel(s.loglik, ll, CLOSED_REL, "poisson intercept: loglik at the mean");
        tap_int((long)s.df, 1, "poisson intercept: df = 1");
        check_criteria(f, 8, "poisson intercept");
        double sigma = 0;
        moe_fit_expert(f, 0, NULL, NULL, &sigma, NULL, NULL);
        tap_ok(isnan(sigma), "poisson intercept: sigma is NaN (no dispersion)");
    }
    moe_fit_free(f);
    moe_dataset_free(d);
}

/* Poisson with an exposure offset, intercept only: log mu_r = beta0 + log t_r, whose score
 * sum (y - t exp(beta0)) = 0 gives beta0 = log(sum y / sum t). y = 2 6 3 9, t = 1 2 1 4:
 * sum y = 20, sum t = 8, beta0 = log 2.5; SE = 1/sqrt(sum mu) = 1/sqrt(sum y) = 1/sqrt(20). */
static void test_poisson_offset(void)
{
    char text[256];
    snprintf(text, sizeof text, "lt,y\n%.17g,2\n%.17g,6\n%.17g,3\n%.17g,9\n", log(1.0), log(2.0),
             log(1.0), log(4.0));
    moe_dataset *d = load(text, "", NULL, "lt", NULL);
    moe_fit_options o = opts("poisson", 1, 1);
    moe_fit *f = fit_or_fail(d, &o, "poisson offset");
    if (f) {
        double c[1], se[1];
        moe_fit_coefs(f, 0, c, se);
        tap_rel(c[0], log(2.5), CLOSED_REL, "poisson offset: beta0 = log(sum y / sum t)");
        tap_rel(se[0], 1 / sqrt(20.0), CLOSED_REL, "poisson offset: SE = 1/sqrt(sum y)");
        double ll = pois_logpmf(2, 2.5) + pois_logpmf(6, 5) + pois_logpmf(3, 2.5) +
                    pois_logpmf(9, 10);  /* mu = 2.5 t */
        tap_rel(moe_fit_get_stats(f).loglik, ll, CLOSED_REL, "poisson offset: loglik");
    }
    moe_fit_free(f);
    moe_dataset_free(d);
}

/* Poisson with one binary input. x = 0: y = 2 3 1 4 0 (n0 = 5, sum 10, mean 2); x = 1:
 * y = 5 7 6 3 8 4 (n1 = 6, sum 33, mean 5.5). The model is saturated in the groups, so the MLE
 * fits the group means: intercept = log 2, slope = log 5.5 - log 2 = log 2.75. The information
 * is [[S0+S1, S1], [S1, S1]] with S_g = sum y in group g, whose inverse has
 * var(intercept) = 1/S0 and var(slope) = 1/S0 + 1/S1. */
static void test_poisson_binary(void)
{
    static const char text[] = "x,y\n0,2\n0,3\n0,1\n0,4\n0,0\n1,5\n1,7\n1,6\n1,3\n1,8\n1,4\n";
    static const double xs[] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
    static const double ys[] = {2, 3, 1, 4, 0, 5, 7, 6, 3, 8, 4};
    moe_dataset *d = load(text, "x", NULL, NULL, NULL);
    moe_fit_options o = opts("poisson", 1, 1);
    moe_fit *f = fit_or_fail(d, &o, "poisson binary");
    if (f) {
        const moe_model *m = moe_fit_model(f);
        double c[2], se[2], ll = 0;
        char name[64];
        tap_int((long)moe_model_ncoef(m, 0), 2, "poisson binary: two coefficients");
        tap_ok(moe_model_coef_name(m, 0, 1, name, sizeof name) == MOE_SUCCESS &&
                   strcmp(name, "x") == 0,
               "poisson binary: coefficient 2 is named x");
        moe_fit_coefs(f, 0, c, se);
        tap_rel(c[0], log(2.0), CLOSED_REL, "poisson binary: intercept = log mean(y | x=0)");
        tap_rel(c[1], log(2.75), CLOSED_REL, "poisson binary: slope = log ratio of the means");
        tap_rel(se[0], sqrt(1 / 10.0), CLOSED_REL, "poisson binary: SE(intercept) = 1/sqrt(S0)");
        tap_rel(se[1], sqrt(1 / 10.0 + 1 / 33.0), CLOSED_REL,
                "poisson binary: SE(slope) = sqrt(1/S0 + 1/S1)");
        for (size_t r = 0; r < 11; r++)
            ll += pois_logpmf(ys[r], xs[r] ? 5.5 : 2.0);
        moe_fit_stats s = moe_fit_get_stats(f);
        tap_rel(s.loglik, ll, CLOSED_REL, "poisson binary: loglik at the group means");
        tap_int((long)s.df, 2, "poisson binary: df = k(nx+1) = 2");
        check_criteria(f, 11, "poisson binary");
        /* the model's own accessor gives the same numbers */
        double mc[2];
        moe_model_coefs(m, 0, mc);
        tap_ok(mc[0] == c[0] && mc[1] == c[1], "poisson binary: moe_model_coefs agrees");
    }
    moe_fit_free(f);
    moe_dataset_free(d);
}

/* Logistic 0/1 with one binary input. x = 0: 10 rows, 3 ones (p0 = 0.3); x = 1: 8 rows,
 * 6 ones (p1 = 0.75). Saturated in the groups: intercept = logit 0.3, slope = logit 0.75 -
 * logit 0.3. The information is [[I0+I1, I1], [I1, I1]] with I_g = n_g p_g (1 - p_g), so
 * SE(intercept) = sqrt(1/I0) = sqrt(1/2.1), SE(slope) = sqrt(1/I0 + 1/I1) = sqrt(1/2.1 +
 * 1/1.5). loglik = sum_g n_g (p_g log p_g + (1 - p_g) log(1 - p_g)). */
static void test_logistic_binary(void)
{
    static const char text[] = "x,y\n0,1\n0,0\n0,0\n0,1\n0,0\n0,0\n0,0\n0,1\n0,0\n0,0\n"
                               "1,1\n1,1\n1,0\n1,1\n1,1\n1,0\n1,1\n1,1\n";
    moe_dataset *d = load(text, "x", NULL, NULL, NULL);
    moe_fit_options o = opts("logistic", 1, 1);
    moe_fit *f = fit_or_fail(d, &o, "logistic binary");
    if (f) {
        const moe_model *m = moe_fit_model(f);
        tap_ok(strcmp(moe_model_family(m), "logistic") == 0, "logistic binary: family");
        tap_int((long)moe_model_ncoef(m, 0), 2, "logistic binary: two coefficients, no sigma");
        double c[2], se[2];
        moe_fit_coefs(f, 0, c, se);
        tap_rel(c[0], logit(0.3), CLOSED_REL, "logistic binary: intercept = logit p0");
        tap_rel(c[1], logit(0.75) - logit(0.3), CLOSED_REL,
                "logistic binary: slope = logit p1 - logit p0");
        tap_rel(se[0], sqrt(1 / (10 * 0.3 * 0.7)), CLOSED_REL,
                "logistic binary: SE(intercept) = sqrt(1/(n0 p0 (1-p0)))");
        tap_rel(se[1], sqrt(1 / (10 * 0.3 * 0.7) + 1 / (8 * 0.75 * 0.25)), CLOSED_REL,
                "logistic binary: SE(slope) = sqrt(1/I0 + 1/I1)");
        double ll = 10 * (0.3 * log(0.3) + 0.7 * log(0.7)) +
                    8 * (0.75 * log(0.75) + 0.25 * log(0.25));
        moe_fit_stats s = moe_fit_get_stats(f);
        tap_rel(s.loglik, ll, CLOSED_REL, "logistic binary: loglik at the group proportions");
        tap_int((long)s.df, 2, "logistic binary: df = 2");
        check_criteria(f, 18, "logistic binary");
    }
    moe_fit_free(f);
    moe_dataset_free(d);
}

/* Logistic with trials, intercept only: y successes out of n = (1,4) (3,5) (0,2) (5,6) (2,3):
 * sum y = 11, sum n = 20. The score sum (y - n p) = 0 gives p = 11/20 = 0.55, beta0 =
 * logit 0.55; SE = 1/sqrt(sum n p (1-p)) = 1/sqrt(20 * 0.55 * 0.45); loglik = sum log
 * Bin(y; n, 0.55) (with the binomial coefficients). */
static void test_logistic_trials(void)
{
    static const char text[] = "n,y\n4,1\n5,3\n2,0\n6,5\n3,2\n";
    static const double ns[] = {4, 5, 2, 6, 3}, ys[] = {1, 3, 0, 5, 2};
    moe_dataset *d = load(text, "", NULL, NULL, "n");
    moe_fit_options o = opts("logistic", 1, 1);
    moe_fit *f = fit_or_fail(d, &o, "logistic trials");
    if (f) {
        double c[1], se[1], ll = 0;
        moe_fit_coefs(f, 0, c, se);
        tap_rel(c[0], logit(0.55), CLOSED_REL,
                "logistic trials: beta0 = logit(sum y / sum n)");
        tap_rel(se[0], 1 / sqrt(20 * 0.55 * 0.45), CLOSED_REL,
                "logistic trials: SE = 1/sqrt(N p (1-p))");
        for (size_t r = 0; r < 5; r++)
            ll += binom_logpmf(ys[r], ns[r], 0.55);
        moe_fit_stats s = moe_fit_get_stats(f);
        tap_rel(s.loglik, ll, CLOSED_REL, "logistic trials: loglik with log C(n, y)");
        tap_int((long)s.df, 1, "logistic trials: df = 1");
        check_criteria(f, 5, "logistic trials");
    }
    moe_fit_free(f);
    moe_dataset_free(d);
}

/* ------------------------------------------------------------------ simulated samples */

/* N rows from a K = 2 model of FAMILY drawn by moe_simulate_model (nx = 1, SEPARATION, SEED;
 * *TRUTH gets it; its scaling is the identity, simulate.c, so moe_model_coefs of the truth is
 * on the data's scale and moe_estep on the raw rows is its log-likelihood). For logistic with
 * TRIALS_N > 1, y is redrawn as successes out of TRIALS_N from each row's true regime
 * (moe_simulate's REGIME) and the trials column set: 0/1 mixtures of logistic regressions are
 * identified only through the logit's shape (at each x only sum_i g_i p_i is seen), and with
 * n = 4000 Bernoulli rows the fits of seeds 1..10 missed the truth by up to 30 SEs; binomial
 * counts identify each regime's p. NULL (a failed check) when simulation fails. */
static moe_dataset *sim_sample(const char *family, double separation, size_t n,
                               unsigned long seed, double trials_n, moe_model **truth)
{
    moe_sim_options so = moe_sim_options_default();
    so.family = family;
    so.k = 2;
    so.nx = 1;
    so.separation = separation;
    so.seed = seed;
    moe_dataset *d = NULL;
    moe_error err;
    size_t *regime = malloc(n * sizeof *regime);
    *truth = NULL;
    if (moe_simulate_model(&so, truth, &err) != MOE_SUCCESS ||
        moe_simulate(*truth, n, seed + 100, &d, regime, &err) != MOE_SUCCESS) {
        tap_ok(0, "%s: simulate (%s)", family, err.message);
        moe_model_free(*truth);
        *truth = NULL;
        free(regime);
        return NULL;
    }
    if (strcmp(family, "logistic") == 0 && trials_n > 1) {
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(rng, seed + 200);
        d->trials = malloc(n * sizeof *d->trials);
        for (size_t r = 0; r < n; r++) {
            double b[2];
            moe_model_coefs(*truth, regime[r], b);
            double p = 1 / (1 + exp(-(b[0] + b[1] * d->x[2 * r + 1])));
            d->trials[r] = trials_n;
            d->y[r] = gsl_ran_binomial(rng, p, (unsigned int)trials_n);
        }
        gsl_rng_free(rng);
    }
    free(regime);
    return d;
}

/* ------------------------------------------------------------------ (b) weights */

/* Weight of row R: 1, 2, 3, 1, 2, 3, ... */
static double weight_of(size_t r) { return (double)(1 + r % 3); }

/* A copy of D (one input, gate inputs the same: nx = nz = 1 or 0) with the frequency weights
 * weight_of(r) when WEIGHTED, else with row r repeated weight_of(r) times; D's offset and
 * trials are carried along. */
static moe_dataset *reweight(const moe_dataset *d, int weighted)
{
    size_t n = 0, nx = d->nx, px = nx + 1;
    for (size_t r = 0; r < d->n; r++)
        n += weighted ? 1 : (size_t)weight_of(r);
    double *x = malloc((n * nx + 1) * sizeof *x), *y = malloc(n * sizeof *y);
    double *w = weighted ? malloc(n * sizeof *w) : NULL;
    double *off = d->offset ? malloc(n * sizeof *off) : NULL;
    double *tr = d->trials ? malloc(n * sizeof *tr) : NULL;
    size_t o = 0;
    for (size_t r = 0; r < d->n; r++) {
        size_t rep = weighted ? 1 : (size_t)weight_of(r);
        for (size_t c = 0; c < rep; c++, o++) {
            for (size_t j = 0; j < nx; j++)
                x[o * nx + j] = d->x[r * px + j + 1];
            y[o] = d->y[r];
            if (w)
                w[o] = weight_of(r);
            if (off)
                off[o] = d->offset[r];
            if (tr)
                tr[o] = d->trials[r];
        }
    }
    moe_dataset *out = NULL;
    moe_error err;
    if (moe_dataset_from_arrays(n, nx, x, 0, NULL, y, &out, &err) != MOE_SUCCESS) {
        printf("# reweight: %s\n", err.message);
        exit(99);
    }
    out->w = w;
    out->offset = off;
    out->trials = tr;
    free(x);
    free(y);
    return out;
}

/* The order of F's experts by intercept (K <= 2 here): PERM[0] is the one with the smaller
 * intercept. Labels are arbitrary, so two fits are compared expert by expert in this order. */
static void order_by_intercept(const moe_fit *f, size_t perm[2])
{
    const moe_model *m = moe_fit_model(f);
    perm[0] = 0;
    perm[1] = 1;
    if (moe_model_k(m) == 2 && moe_model_ncoef(m, 0) <= 8) {
        double a[8], b[8];
        moe_model_coefs(m, 0, a);
        moe_model_coefs(m, 1, b);
        if (b[0] < a[0]) {
            perm[0] = 1;
            perm[1] = 0;
        }
    }
}

/* Compares the weighted fit FW with the replicated fit FR (whose data DR have sum-of-weights
 * rows): log-likelihood, AIC and BIC to WEIGHT_REL, BIC's n = sum of the weights, and every
 * expert's coefficients and SEs (matched by intercept) to COEF_REL at K = 1; at K = 2 those and
 * the gate's (expert 1's logit against expert 2, negated when the labels swap) to K2_SE_SHARE
 * of their SE and K2_SE_REL. */
static void compare_fits(const moe_fit *fw, const moe_fit *fr, const moe_dataset *dr,
                         double coef_rel, const char *what)
{
    moe_fit_stats sw = moe_fit_get_stats(fw), sr = moe_fit_get_stats(fr);
    const moe_model *mw = moe_fit_model(fw), *mr = moe_fit_model(fr);
    size_t k = moe_model_k(mw);
    tap_int((long)moe_model_k(mr), (long)k, "%s: same K", what);
    tap_rel(sw.loglik, sr.loglik, WEIGHT_REL, "%s: loglik weighted = replicated", what);
    tap_int((long)sw.df, (long)sr.df, "%s: same df", what);
    tap_rel(sw.aic, sr.aic, WEIGHT_REL, "%s: AIC weighted = replicated", what);
    tap_rel(sw.bic, sr.bic, WEIGHT_REL, "%s: BIC weighted = replicated", what);
    tap_rel(sw.bic, -2 * sw.loglik + (double)sw.df * log((double)moe_dataset_nrows(dr)),
            EXACT_REL, "%s: weighted BIC has n = sum of weights = %zu", what,
            moe_dataset_nrows(dr));
    if (moe_model_k(mr) != k || k > 2)
        return;
    size_t pw[2], pr[2];
    order_by_intercept(fw, pw);
    order_by_intercept(fr, pr);
    for (size_t i = 0; i < k; i++) {
        size_t nc = moe_model_ncoef(mw, pw[i]);
        double cw[8], sew[8], cr[8], ser[8];
        moe_fit_coefs(fw, pw[i], cw, sew);
        moe_fit_coefs(fr, pr[i], cr, ser);
        for (size_t j = 0; j < nc && j < 8; j++) {
            if (k == 1)
                tap_rel(cw[j], cr[j], coef_rel, "%s: expert %zu coef %zu", what, i + 1, j);
            else
                tap_abs(cw[j], cr[j], K2_SE_SHARE * ser[j], "%s: expert %zu coef %zu (to %g SE)",
                        what, i + 1, j, K2_SE_SHARE);
            tap_rel(sew[j], ser[j], k == 1 ? coef_rel : K2_SE_REL, "%s: expert %zu SE %zu",
                    what, i + 1, j);
        }
    }
    if (k == 2) {
        size_t nc = moe_model_ncoef(mw, 2);
        double gw[8], gsw[8], gr[8], gsr[8];
        moe_fit_coefs(fw, 2, gw, gsw);
        moe_fit_coefs(fr, 2, gr, gsr);
        double sgn = pw[0] == pr[0] ? 1 : -1;
        for (size_t j = 0; j < nc && j < 8; j++) {
            tap_abs(gw[j], sgn * gr[j], K2_SE_SHARE * gsr[j], "%s: gate coef %zu (to %g SE)",
                    what, j, K2_SE_SHARE);
            tap_rel(gsw[j], gsr[j], K2_SE_REL, "%s: gate SE %zu", what, j);
        }
    }
}

/* One family: a simulated, well-separated K = 2 sample fitted at K = 1 and K = 2 with weights
 * 1..3 and with the rows replicated. K = 1 has one optimum. At K = 2 the starts differ (k-means
 * and random starts are drawn over rows, and the replicated data have twice the rows; the
 * standardisation, unweighted column moments, differs too), so exact equality is not
 * reachable: both fits get 6 restarts and tol 1e-12 to reach the same optimum, and are compared
 * on the data's scale, the log-likelihood to WEIGHT_REL and the coefficients as compare_fits
 * says (K2_SE_SHARE). At K = 1 the Gaussian (closed-form M-step) agrees to WEIGHT_REL, the
 * Newton families to NEWTON_REL.
 * OFFSET adds a known log exposure 0.1 (r mod 5) (y stays as drawn: this is about equality of
 * two fits, not the truth). */
static void test_weights_family(const char *family, double separation, double trials_n,
                                int offset)
{
    moe_model *truth = NULL;
    moe_dataset *d = sim_sample(family, separation, 400, 3, trials_n, &truth);
    if (!d)
        return;
    if (offset) {
        d->offset = malloc(d->n * sizeof *d->offset);
        for (size_t r = 0; r < d->n; r++)
            d->offset[r] = 0.1 * (double)(r % 5);
    }
    moe_dataset *dw = reweight(d, 1), *dr = reweight(d, 0);
    int closed = strcmp(family, "gaussian") == 0;  /* weighted least squares: no Newton */
    for (size_t k = 1; k <= 2; k++) {
        char what[80];
        snprintf(what, sizeof what, "%s%s%s K = %zu", family, offset ? " with offset" : "",
                 trials_n > 1 ? " with trials" : "", k);
        moe_fit_options o = opts(family, k, k == 1 ? 1 : 6);
        moe_fit *fw = fit_or_fail(dw, &o, what), *fr = fit_or_fail(dr, &o, what);
        if (fw && fr)
            compare_fits(fw, fr, dr, k == 1 && closed ? WEIGHT_REL : NEWTON_REL, what);
        moe_fit_free(fw);
        moe_fit_free(fr);
    }
    moe_dataset_free(dw);
    moe_dataset_free(dr);
    moe_dataset_free(d);
    moe_model_free(truth);
}

/* Gaussian on a shipped data set (datasets/mcycle.csv) at K = 1: weighted least squares
 * against least squares on the replicated rows, one optimum, closed form: to WEIGHT_REL. */
static void test_weights_mcycle(void)
{
    const char *srcdir = getenv("srcdir");
    char file[600];
    snprintf(file, sizeof file, "%s/datasets/mcycle.csv", srcdir ? srcdir : ".");
    moe_table *t = NULL;
    moe_error err;
    if (moe_table_read_csv(file, NULL, &t, &err) != MOE_SUCCESS) {
        tap_ok(0, "cannot read %s (set srcdir): %s", file, err.message);
        return;
    }
    moe_selection s = moe_selection_default();
    moe_dataset *d = NULL;
    if (moe_dataset_from_table(t, &s, &d, &err) != MOE_SUCCESS) {
        tap_ok(0, "mcycle: %s", err.message);
        moe_table_free(t);
        return;
    }
    moe_table_free(t);
    moe_dataset *dw = reweight(d, 1), *dr = reweight(d, 0);
    moe_fit_options o = opts(NULL, 1, 1);
    moe_fit *fw = fit_or_fail(dw, &o, "mcycle"), *fr = fit_or_fail(dr, &o, "mcycle");
    if (fw && fr) {
        compare_fits(fw, fr, dr, WEIGHT_REL, "gaussian mcycle K = 1");
        double sw = 0, sr = 0;
        moe_fit_expert(fw, 0, NULL, NULL, &sw, NULL, NULL);
        moe_fit_expert(fr, 0, NULL, NULL, &sr, NULL, NULL);
        tap_rel(sw, sr, WEIGHT_REL, "gaussian mcycle K = 1: sigma weighted = replicated");
        tap_rel(moe_fit_sigma_se(fw, 0), moe_fit_sigma_se(fr, 0), WEIGHT_REL,
                "gaussian mcycle K = 1: SE(sigma) weighted = replicated");
    }
    moe_fit_free(fw);
    moe_fit_free(fr);
    moe_dataset_free(dw);
    moe_dataset_free(dr);
    moe_dataset_free(d);
}

/* Weights read from a CSV column equal replicated CSV rows (the table path of --weights):
 * Poisson with a binary input, weights 2, 1, 2 / 1, 2, 1 against the rows written out. */
static void test_weights_csv(void)
{
    moe_dataset *dw = load("x,w,y\n0,2,1\n0,1,4\n0,2,2\n1,1,6\n1,2,3\n1,1,9\n", "x", "w", NULL,
                           NULL);
    moe_dataset *dr = load("x,y\n0,1\n0,1\n0,4\n0,2\n0,2\n1,6\n1,3\n1,3\n1,9\n", "x", NULL, NULL,
                           NULL);
    moe_fit_options o = opts("poisson", 1, 1);
    moe_fit *fw = fit_or_fail(dw, &o, "csv weights"), *fr = fit_or_fail(dr, &o, "csv rows");
    if (fw && fr) {
        compare_fits(fw, fr, dr, NEWTON_REL, "poisson csv weights");
        /* test_poisson_binary's closed forms with weighted sums: x = 0: sum w y = 2 + 4 + 4 =
         * 10 over sum w = 5 (mean 2); x = 1: 6 + 6 + 9 = 21 over 4 (mean 5.25) */
        double c[2], se[2];
        moe_fit_coefs(fw, 0, c, se);
        tap_rel(c[0], log(2.0), CLOSED_REL, "csv weights: intercept = log weighted mean");
        tap_rel(c[1], log(5.25 / 2), CLOSED_REL, "csv weights: slope = log ratio");
        tap_rel(se[0], sqrt(1 / 10.0), CLOSED_REL, "csv weights: SE(intercept) = 1/sqrt(S0)");
        tap_rel(se[1], sqrt(1 / 10.0 + 1 / 21.0), CLOSED_REL,
                "csv weights: SE(slope) = sqrt(1/S0 + 1/S1), weighted sums");
    }
    moe_fit_free(fw);
    moe_fit_free(fr);
    moe_dataset_free(dw);
    moe_dataset_free(dr);
}

/* The Newton M-step's precision: Poisson with an offset at K = 1 (test_weights_family's sample,
 * replicated, 800 rows) against the MLE found by 100 plain IRLS steps in long double, to
 * CLOSED_REL. Before the driver took its last full step below the objective's rounding, the
 * slope stopped 1.04e-8 relative short of the MLE; this check is the one that showed it. */
static void test_newton_precision(void)
{
    moe_model *truth = NULL;
    moe_dataset *d = sim_sample("poisson", 3, 400, 3, 1, &truth);
    if (!d)
        return;
    d->offset = malloc(d->n * sizeof *d->offset);
    for (size_t r = 0; r < d->n; r++)
        d->offset[r] = 0.1 * (double)(r % 5);
    moe_dataset *dr = reweight(d, 0);
    long double b0 = 0, b1 = 0;
    for (int it = 0; it < 100; it++) {
        long double g0 = 0, g1 = 0, h00 = 0, h01 = 0, h11 = 0;
        for (size_t r = 0; r < dr->n; r++) {
            long double x = dr->x[2 * r + 1], mu = expl(b0 + b1 * x + dr->offset[r]);
            g0 += dr->y[r] - mu;
            g1 += (dr->y[r] - mu) * x;
            h00 += mu;
            h01 += mu * x;
            h11 += mu * x * x;
        }
        long double det = h00 * h11 - h01 * h01;
        b0 += (h11 * g0 - h01 * g1) / det;
        b1 += (h00 * g1 - h01 * g0) / det;
    }
    moe_fit_options o = opts("poisson", 1, 1);
    moe_fit *f = fit_or_fail(dr, &o, "newton precision");
    if (f) {
        double c[2];
        moe_fit_coefs(f, 0, c, NULL);
        tap_rel(c[0], (double)b0, CLOSED_REL, "newton precision: intercept = IRLS's");
        tap_rel(c[1], (double)b1, CLOSED_REL, "newton precision: slope = IRLS's");
    }
    moe_fit_free(f);
    moe_dataset_free(dr);
    moe_dataset_free(d);
    moe_model_free(truth);
}

/* ------------------------------------------------------------------ (c) recovery */

/* A K = 2 sample of FAMILY (sim_sample: separation 3 on the linear-predictor scale, n = 4000;
 * logistic as successes out of TRIALS) fitted at K = 2: the fit's log-likelihood at least the
 * truth's (the MLE's definition, given restarts enough to find it); df = k(nx+1) +
 * (k-1)(nz+1) = 2*2 + 1*2 = 6 with AIC and BIC from it; every expert coefficient and the gate's
 * within RECOVER_SE standard errors of the truth, experts matched by intercept (the gate's
 * sign follows the labels). Seeds 1..10 of moe_simulate_model gave |z| <= 2.7 (poisson). */
static void test_recovery(const char *family, unsigned long seed, double trials_n)
{
    moe_model *truth = NULL;
    moe_dataset *d = sim_sample(family, 3, 4000, seed, trials_n, &truth);
    if (!d)
        return;
    tap_ok(strcmp(moe_model_family(truth), family) == 0, "%s recovery: simulated family",
           family);
    int integer = 1;
    for (size_t r = 0; r < d->n; r++)
        if (d->y[r] != floor(d->y[r]) || d->y[r] < 0 || (d->trials && d->y[r] > d->trials[r]))
            integer = 0;
    tap_ok(integer, "%s recovery: simulated y are counts", family);
    double ll_truth = moe_estep(d, truth, NULL, NULL);
    moe_fit_options o = opts(family, 2, 5);
    o.tol = 1e-10;
    moe_fit *f = fit_or_fail(d, &o, family);
    if (f) {
        moe_fit_stats s = moe_fit_get_stats(f);
        tap_ok(s.loglik >= ll_truth, "%s recovery: loglik %.4f >= the truth's %.4f", family,
               s.loglik, ll_truth);
        tap_int((long)s.df, 6, "%s recovery: df = k(nx+1) + (k-1)(nz+1) = 6", family);
        check_criteria(f, 4000, family);
        tap_ok(!s.separated, "%s recovery: gate not separated", family);
        double t0[2], t1[2];
        moe_model_coefs(truth, 0, t0);
        moe_model_coefs(truth, 1, t1);
        size_t pt[2] = {0, 1}, pf[2];
        if (t1[0] < t0[0]) {
            pt[0] = 1;
            pt[1] = 0;
        }
        order_by_intercept(f, pf);
        for (size_t i = 0; i < 2; i++) {
            double ct[2], cf[2], se[2];
            moe_model_coefs(truth, pt[i], ct);
            moe_fit_coefs(f, pf[i], cf, se);
            for (size_t j = 0; j < 2; j++)
                tap_ok(isfinite(se[j]) && fabs(cf[j] - ct[j]) <= RECOVER_SE * se[j],
                       "%s recovery: expert %zu coef %zu = %.4f, truth %.4f, SE %.4f", family,
                       i + 1, j, cf[j], ct[j], se[j]);
        }
        double gt[2], gf[2], gse[2];
        moe_model_coefs(truth, 2, gt);
        moe_fit_coefs(f, 2, gf, gse);
        double sgn = pt[0] == pf[0] ? 1 : -1;
        for (size_t j = 0; j < 2; j++)
            tap_ok(isfinite(gse[j]) && fabs(sgn * gf[j] - gt[j]) <= RECOVER_SE * gse[j],
                   "%s recovery: gate coef %zu = %.4f, truth %.4f, SE %.4f", family, j,
                   sgn * gf[j], gt[j], gse[j]);
    }
    moe_fit_free(f);
    moe_dataset_free(d);
    moe_model_free(truth);
}

/* 0/1 logistic data straight from moe_simulate (no trials, n = 1000): poorly identified
 * (sim_sample), so only what must hold: the fit's log-likelihood is at least the truth's, and
 * df = 6. */
static void test_recovery_bernoulli(unsigned long seed)
{
    moe_model *truth = NULL;
    moe_dataset *d = sim_sample("logistic", 3, 1000, seed, 1, &truth);
    if (!d)
        return;
    int binary = 1;
    for (size_t r = 0; r < d->n; r++)
        if (d->y[r] != 0 && d->y[r] != 1)
            binary = 0;
    tap_ok(binary, "logistic 0/1: simulated y are 0 or 1");
    double ll_truth = moe_estep(d, truth, NULL, NULL);
    moe_fit_options o = opts("logistic", 2, 3);
    o.tol = 1e-8;  /* the default; tighter, its flat likelihood takes thousands of iterations */
    o.max_iter = 1000;
    moe_fit *f = fit_or_fail(d, &o, "logistic 0/1");
    if (f) {
        moe_fit_stats s = moe_fit_get_stats(f);
        tap_ok(s.loglik >= ll_truth, "logistic 0/1: loglik %.4f >= the truth's %.4f", s.loglik,
               ll_truth);
        tap_int((long)s.df, 6, "logistic 0/1: df = 6");
    }
    moe_fit_free(f);
    moe_dataset_free(d);
    moe_model_free(truth);
}

/* ------------------------------------------------------------------ (d) bad input */

/* Expects FAMILY's fit of TEXT (inputs "x") to fail with MOE_EFORMAT at LINE:COL with FRAG. */
static void expect_bad_fit(const char *what, const char *text, const char *family,
                           const char *trials, size_t line, size_t col, const char *frag)
{
    moe_dataset *d = load(text, "x", NULL, NULL, trials);
    moe_fit_options o = opts(family, 1, 1);
    moe_fit *f = (moe_fit *)&o;
    moe_error err;
    memset(&err, 0, sizeof err);
    int st = moe_fit_run(d, &o, &f, &err);
    tap_int(st, MOE_EFORMAT, "%s: MOE_EFORMAT", what);
    tap_ok(f == NULL && err.status == MOE_EFORMAT, "%s: no fit, err.status", what);
    tap_ok(err.line == line && err.column == col, "%s: at %zu:%zu (got %zu:%zu)", what, line,
           col, err.line, err.column);
    char where[32];
    snprintf(where, sizeof where, "F:%zu:%zu: ", line, col);
    tap_ok(has(msg(&err), where) && has(msg(&err), frag), "%s: message '%s'", what, msg(&err));
    moe_fit_free(st == MOE_SUCCESS ? f : NULL);
    moe_dataset_free(d);
}

/* Expects a data set with weights column w to be refused (MOE_EFORMAT) at LINE:COL (0:0 for
 * the all-zero case, which names the column instead) with FRAG in the message. */
static void expect_bad_weights(const char *what, const char *text, size_t line, size_t col,
                               const char *frag)
{
    moe_dataset *d = NULL;
    moe_error err;
    memset(&err, 0, sizeof err);
    int st = data_of(text, "x", "w", NULL, NULL, &d, &err);
    tap_int(st, MOE_EFORMAT, "%s: MOE_EFORMAT", what);
    tap_ok(d == NULL, "%s: no data set", what);
    if (line)
        tap_ok(err.line == line && err.column == col, "%s: at %zu:%zu (got %zu:%zu)", what,
               line, col, err.line, err.column);
    tap_ok(has(msg(&err), frag), "%s: message '%s'", what, msg(&err));
    moe_dataset_free(d);
}

static void test_bad_input(void)
{
    /* line 1 is the header, so the 2nd data row is line 3; y is column 2 of "x,y" and column 3
     * of "x,n,y" */
    expect_bad_fit("poisson negative count", "x,y\n0,1\n1,-1\n2,3\n", "poisson", NULL, 3, 2,
                   "poisson");
    expect_bad_fit("poisson non-integer count", "x,y\n0,1\n1,2\n2,2.5\n", "poisson", NULL, 4, 2,
                   "integer");
    expect_bad_fit("logistic y = 2", "x,y\n0,1\n1,0\n2,2\n3,1\n", "logistic", NULL, 4, 2,
                   "0 or 1");
    expect_bad_fit("logistic y above trials", "x,n,y\n0,3,1\n1,3,4\n2,3,0\n", "logistic", "n", 3,
                   3, "trials");
    /* trials that are not positive integers are refused when the data set is built */
    moe_dataset *d = NULL;
    moe_error err;
    memset(&err, 0, sizeof err);
    int st = data_of("x,n,y\n0,3,1\n1,0,0\n2,3,0\n", "x", NULL, NULL, "n", &d, &err);
    tap_int(st, MOE_EFORMAT, "trials 0: MOE_EFORMAT");
    tap_ok(d == NULL && err.line == 3 && err.column == 2, "trials 0: at 3:2 (got %zu:%zu)",
           err.line, err.column);
    moe_dataset_free(d);

    expect_bad_weights("negative weight", "x,w,y\n0,1,1\n1,-2,2\n2,1,3\n", 3, 2, "weight");
    expect_bad_weights("all weights 0", "x,w,y\n0,0,1\n1,0,2\n2,0,3\n", 0, 0, "'w'");
    expect_bad_weights("NaN weight", "x,w,y\n0,1,1\n1,NaN,2\n2,1,3\n", 3, 2, "");

    /* data built from arrays: the library's own checks in moe_fit_run, naming the row */
    double x[] = {0, 1, 2, 3}, y[] = {0, 1, 2, 1};
    moe_dataset *da = NULL;
    moe_dataset_from_arrays(4, 1, x, 0, NULL, y, &da, NULL);
    moe_fit_options o = opts("logistic", 1, 1);
    moe_fit *f = NULL;
    memset(&err, 0, sizeof err);
    st = moe_fit_run(da, &o, &f, &err);
    tap_int(st, MOE_EFORMAT, "arrays, logistic y = 2: MOE_EFORMAT");
    tap_ok(f == NULL && has(err.message, "row 3"), "arrays: message names row 3 ('%s')",
           err.message);
    moe_fit_free(f);
    f = NULL;
    o = opts("poisson", 1, 1);
    da->w = malloc(4 * sizeof *da->w);
    double bad[][4] = {{1, -1, 1, 1}, {0, 0, 0, 0}, {1, NAN, 1, 1}, {1, INFINITY, 1, 1}};
    const char *name[] = {"negative", "all zero", "NaN", "infinite"};
    for (size_t c = 0; c < 4; c++) {
        memcpy(da->w, bad[c], sizeof bad[c]);
        memset(&err, 0, sizeof err);
        st = moe_fit_run(da, &o, &f, &err);
        /* refused up front as bad input (today MOE_EINVAL, while a bad response is
         * MOE_EFORMAT), not by a failure further on, and the message says it is the weights */
        tap_ok((st == MOE_EINVAL || st == MOE_EFORMAT) && f == NULL && err.status == st &&
                   has(err.message, "weight"),
               "arrays, %s weight refused (%s: %s)", name[c], moe_strerror(st), err.message);
        moe_fit_free(f);
        f = NULL;
    }
    moe_dataset_free(da);

    /* an unknown family, through the options check, the fit and the simulator */
    o = opts("weibull", 1, 1);
    tap_ok(moe_fit_options_check(&o) != NULL, "family weibull: options check says why (%s)",
           moe_fit_options_check(&o) ? moe_fit_options_check(&o) : "NULL");
    d = load("x,y\n0,1\n1,2\n2,3\n", "x", NULL, NULL, NULL);
    memset(&err, 0, sizeof err);
    tap_int(moe_fit_run(d, &o, &f, &err), MOE_EINVAL, "family weibull: fit MOE_EINVAL (%s)",
            err.message);
    moe_fit_free(f);
    f = NULL;
    moe_dataset_free(d);
    moe_sim_options so = moe_sim_options_default();
    so.family = "weibull";
    moe_model *m = NULL;
    tap_int(moe_simulate_model(&so, &m, &err), MOE_EINVAL, "family weibull: simulate MOE_EINVAL");
    moe_model_free(m);
    /* the family list the CLI prints */
    int seen = 0;
    size_t nf = 0;
    for (; nf < 64 && moe_family_name(nf); nf++)
        seen |= (strcmp(moe_family_name(nf), "poisson") == 0) |
                (strcmp(moe_family_name(nf), "logistic") == 0) << 1;
    tap_ok(nf < 64 && seen == 3 && strcmp(moe_family_name(0), "gaussian") == 0 &&
               moe_family_description("poisson") && !moe_family_description("weibull"),
           "families: gaussian (the default) first, poisson and logistic listed and described");
}

/* The standardisation is weighted too: on rows exactly on the line y = 1 + 2x the residual SD
 * is held at the variance floor, a share (1e-6) of var(y); var(y) of the weighted rows must
 * be that of the replicated rows (it was not when the scaling ignored the weights), so both
 * fits report the same floored sigma = sqrt(1e-6 var(y)), var(y) computed here by hand. */
static void test_weighted_scaling(void)
{
    size_t n = 30;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t r = 0; r < n; r++) {
        x[r] = (double)r / 7.0;
        y[r] = 1 + 2 * x[r];
    }
    moe_dataset *d = NULL;
    moe_error err;
    if (moe_dataset_from_arrays(n, 1, x, 0, NULL, y, &d, &err) != MOE_SUCCESS) {
        printf("# %s\n", err.message);
        exit(99);
    }
    moe_dataset *dw = reweight(d, 1), *dr = reweight(d, 0);
    double sw = 0, m = 0, v = 0;
    for (size_t r = 0; r < n; r++) {
        sw += weight_of(r);
        m += weight_of(r) * y[r];
    }
    m /= sw;
    for (size_t r = 0; r < n; r++)
        v += weight_of(r) * (y[r] - m) * (y[r] - m);
    v /= sw;
    moe_fit_options o = opts("gaussian", 1, 1);
    o.standard_errors = 0;
    moe_fit *fw = fit_or_fail(dw, &o, "weighted scaling, weighted");
    moe_fit *fr = fit_or_fail(dr, &o, "weighted scaling, replicated");
    if (fw && fr) {
        double c[3], cr[3];
        moe_fit_coefs(fw, 0, c, NULL);
        moe_fit_coefs(fr, 0, cr, NULL);
        tap_rel(c[2], sqrt(1e-6 * v), 1e-12, "weighted scaling: sigma at the floor of the weighted var(y)");
        tap_rel(c[2], cr[2], 1e-12, "weighted scaling: floored sigma weighted = replicated");
    }
    moe_fit_free(fw);
    moe_fit_free(fr);
    moe_dataset_free(dw);
    moe_dataset_free(dr);
    moe_dataset_free(d);
    free(x);
    free(y);
}

/* The softmax gate with weighted targets (each row's targets sum to its weight w_n): its
 * gradient and exact negative Hessian against central differences of its own objective Q and
 * of its gradient. (A Hessian that forgot the weights would still let EM reach the optimum,
 * only by worse Newton steps, so the fits alone cannot show it.) */
static void test_weighted_gate(void)
{
    const moe_gate_type *gt = moe_gate_types[0];
    moe_gate_shape sh = {3, 1, 0, {0}, 0, 0};
    size_t n = 40, k = 3, nz = 1, np = gt->nparams(&sh), ss = gt->stat_size(&sh);
    moe_dataset *d = moe_dataset_alloc(n, nz, nz, 1);
    double *h = malloc(n * k * sizeof *h), *w = malloc(n * sizeof *w);
    double theta[4] = {0.3, -0.7, -0.2, 0.5}, g[4], gp[4], gm[4], nh[16];
    double *st = calloc(ss, sizeof *st);
    for (size_t r = 0; r < n; r++) {
        double z = -1 + 2 * (double)r / (double)(n - 1);
        d->z[2 * r + 1] = d->x[2 * r + 1] = z;
        w[r] = weight_of(r);
        double a = exp(2 * z), b = 1, c = exp(-2 * z), t = a + b + c;
        h[r * k] = w[r] * a / t;
        h[r * k + 1] = w[r] * b / t;
        h[r * k + 2] = w[r] * c / t;
    }
    d->w = w;
    gt->stat_add(d, &sh, theta, h, 0, n, 1, st);
    gt->derivatives(st, &sh, g, nh);
    double gerr = 0, herr = 0;
    for (size_t j = 0; j < np; j++) {
        double t0 = theta[j], e = 1e-5;
        theta[j] = t0 + e;
        memset(st, 0, ss * sizeof *st);
        gt->stat_add(d, &sh, theta, h, 0, n, 1, st);
        double qp = st[0];
        gt->derivatives(st, &sh, gp, NULL);
        theta[j] = t0 - e;
        memset(st, 0, ss * sizeof *st);
        gt->stat_add(d, &sh, theta, h, 0, n, 1, st);
        double qm = st[0];
        gt->derivatives(st, &sh, gm, NULL);
        theta[j] = t0;
        gerr = fmax(gerr, fabs((qp - qm) / (2 * e) - g[j]));
        for (size_t l = 0; l < np; l++)  /* the negative Hessian is minus d grad / d theta */
            herr = fmax(herr, fabs(-(gp[l] - gm[l]) / (2 * e) - nh[l * np + j]));
    }
    tap_ok(gerr < 1e-6, "weighted gate: gradient = central differences of Q (error %.2g)", gerr);
    tap_ok(herr < 1e-6, "weighted gate: exact Hessian = differences of the gradient (error %.2g)",
           herr);
    free(st);
    free(h);
    moe_dataset_free(d);  /* frees w too */
}

int main(void)
{
    make_tmpdir("test_glm");
    test_poisson_intercept();
    test_poisson_offset();
    test_poisson_binary();
    test_logistic_binary();
    test_logistic_trials();
    test_weights_csv();
    test_weights_mcycle();
    test_weights_family("gaussian", 6, 1, 0);
    test_weights_family("poisson", 3, 1, 0);
    test_weights_family("poisson", 3, 1, 1);
    test_weights_family("logistic", 3, TRIALS, 0);
    test_newton_precision();
    test_weighted_scaling();
    test_weighted_gate();
    test_recovery("poisson", 11, 1);
    test_recovery("logistic", 12, TRIALS);
    test_recovery_bernoulli(12);
    test_bad_input();
    unlink(path);
    rmdir(tmpdir);
    return tap_done();
}
