/* test_numerics.c: numerics at the edges, each checked against values this test computes itself.
 *   - rows far from every expert (residuals of 1e3 SDs) and gate inputs far out (logits of 1e3)
 *     keep the log-likelihood finite and the posteriors summing to 1, in the E-step and in
 *     moe_predict(..., posterior = 1), equal to a log-sum-exp written here;
 *   - a gate whose Hessian is singular (a gate input that is constant, as a constant column is
 *     after standardising) still takes its Newton step through the ridge fallback, and Q rises;
 *   - posteriors of a fitted model (non-unit scaling) equal the ones recomputed here from the
 *     data-scale coefficients;
 *   - standard errors: on mcycle K = 4 every sigma SE is finite and positive; for a fit whose
 *     gate separates the regimes, the expert and sigma SEs equal sqrt(diag) of the inverse of
 *     the expert block of the numerical Hessian, inverted and mapped to the data's scale here;
 *   - simulated models and rows with a noise other than 1 keep their documented shape.
 * Model parameters are set only through moe_model_set_theta (flat theta, src/model/model.h).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/infer.h"
#include "model/model.h"
#include "moe.h"
#include "tap.h"
#include "train/em.h"
#include "model/estep.h"

/* log N(y; mu, s^2) */
static double log_normal(double y, double mu, double s)
{
    double e = (y - mu) / s;
    return -0.5 * log(2 * M_PI) - log(s) - 0.5 * e * e;
}

/* Log-likelihood of row (x, z, y) (nx = nz = 1 here, or general through the arrays) under the
 * data-scale coefficients of M read through the public accessors, and its posteriors H and
 * gate probabilities G (k values each), all by a log-sum-exp written here. */
static double own_row(const moe_model *m, const double *x, const double *z, double y, double *g,
                      double *h)
{
    size_t k = moe_model_k(m), nx = moe_model_nx(m), nz = moe_model_nz(m);
    double eta[MOE_K_MAX], a[MOE_K_MAX], coef[1024], sigma, emx = 0;
    for (size_t i = 0; i < k; i++) {
        eta[i] = 0;
        if (i + 1 < k) {
            moe_model_gate(m, i, coef);
            eta[i] = coef[0];
            for (size_t j = 0; j < nz; j++)
                eta[i] += coef[j + 1] * z[j];
        }
        if (eta[i] > emx)
            emx = eta[i];
    }
    double es = 0;
    for (size_t i = 0; i < k; i++)
        es += exp(eta[i] - emx);
    double amx = -INFINITY;
    for (size_t i = 0; i < k; i++) {
        double lg = eta[i] - emx - log(es);
        if (g)
            g[i] = exp(lg);
        moe_model_expert(m, i, coef, &sigma);
        double mu = coef[0];
        for (size_t j = 0; j < nx; j++)
            mu += coef[j + 1] * x[j];
        a[i] = lg + log_normal(y, mu, sigma);
        if (a[i] > amx)
            amx = a[i];
    }
    double s = 0;
    for (size_t i = 0; i < k; i++)
        s += exp(a[i] - amx);
    double lp = amx + log(s);
    if (h)
        for (size_t i = 0; i < k; i++)
            h[i] = exp(a[i] - lp);
    return lp;
}

/* A K = 2 model with one input on unit scaling: expert 1 y = x (sd 1), expert 2 y = 5 - x
 * (sd 0.5), gate logit of expert 1: 0.3 + 1.2 z. */
static moe_model *two_experts(void)
{
    moe_model *m = moe_model_alloc(2, 1, 1);
    double theta[] = {0, 1, 0, 5, -1, log(0.5), 0.3, 1.2};
    if (m)
        moe_model_set_theta(m, theta);
    return m;
}

/* Rows far from every expert and gate inputs far out. */
static void test_far_rows(void)
{
    moe_model *m = two_experts();
    /* rows: ordinary, y 1e3 above both experts, y 1e3 SDs below, x = z = 1e3 (gate logit
     * 1200: exp overflows without the max subtraction) with y on expert 1's line, and
     * z = -1e3 with y 1e3 from both lines */
    double x[] = {0.5, 0.2, -0.3, 1e3, -1e3};
    double y[] = {0.7, 1e3, -1e3, 1e3 + 0.5, 2e3};
    size_t n = 5, k = 2;
    moe_dataset *d = NULL;
    moe_error err;
    tap_int(moe_dataset_from_arrays(n, 1, x, 0, NULL, y, &d, &err), MOE_SUCCESS, "far rows: data");
    double g[10], h[10], wg[10], wh[10], want = 0;
    for (size_t r = 0; r < n; r++)
        want += own_row(m, &x[r], &x[r], y[r], wg + r * k, wh + r * k);
    double ll = moe_estep(d, m, g, h);
    tap_ok(isfinite(ll), "far rows: E-step log-likelihood finite (%.17g)", ll);
    tap_rel(ll, want, 1e-12, "far rows: E-step log-likelihood = log-sum-exp written here");
    double worst_sum = 0, worst_h = 0, worst_g = 0;
    for (size_t r = 0; r < n; r++) {
        double sh = 0, sg = 0;
        for (size_t i = 0; i < k; i++) {
            sh += h[r * k + i];
            sg += g[r * k + i];
            worst_h = fmax(worst_h, fabs(h[r * k + i] - wh[r * k + i]));
            worst_g = fmax(worst_g, fabs(g[r * k + i] - wg[r * k + i]));
        }
        worst_sum = fmax(worst_sum, fmax(fabs(sh - 1), fabs(sg - 1)));
        if (!isfinite(sh) || !isfinite(sg))
            worst_sum = INFINITY;
    }
    tap_ok(worst_sum <= 1e-12, "far rows: E-step posteriors and gate probabilities sum to 1 "
           "(worst %.3g)", worst_sum);
    tap_abs(worst_h, 0, 1e-12, "far rows: E-step posteriors = those written here");
    tap_abs(worst_g, 0, 1e-12, "far rows: gate probabilities = those written here");
    /* row 2 (y = 1e3): expert 1 (sd 1) is 999.8 SDs off, expert 2 (sd 0.5) 2e3 SDs off, so
     * h = (1, 0) to machine precision; row 4 is on expert 1's line with g_1 = 1 */
    tap_ok(h[1 * k] == 1 && h[1 * k + 1] < 1e-300, "y 1e3 SDs above: h = (1, 0)");
    tap_ok(g[3 * k] == 1 && h[3 * k] == 1, "gate logit 1200: g = h = (1, 0)");

    moe_prediction *p = NULL;
    int s = moe_predict(m, d, 1, &p, &err);
    tap_int(s, MOE_SUCCESS, "far rows: moe_predict with posteriors (%s)",
            s ? err.message : "ok");
    if (p) {
        double w = 0, wsum = 0, wgate = 0;
        for (size_t r = 0; r < n; r++) {
            double sh = 0;
            for (size_t i = 0; i < k; i++) {
                sh += p->posterior[r * k + i];
                w = fmax(w, fabs(p->posterior[r * k + i] - wh[r * k + i]));
                wgate = fmax(wgate, fabs(p->gate[r * k + i] - wg[r * k + i]));
            }
            wsum = fmax(wsum, isfinite(sh) ? fabs(sh - 1) : INFINITY);
        }
        tap_ok(wsum <= 1e-12, "far rows: predicted posteriors sum to 1 (worst %.3g)", wsum);
        tap_abs(w, 0, 1e-12, "far rows: predicted posteriors = those written here");
        tap_abs(wgate, 0, 1e-12, "far rows: predicted gate = the one written here");
        tap_ok(p->posterior[1 * k] == 1 && p->posterior[1 * k + 1] < 1e-300,
               "far rows: predict's h for y 1e3 SDs above is (1, 0)");
    }
    moe_prediction_free(p);
    moe_dataset_free(d);
    moe_model_free(m);
}

/* A gate input that is constant zero makes the gate Hessian exactly singular (its slope has
 * no curvature): the Newton step must go through the ridge fallback and still raise Q. */
static void test_gate_ridge(void)
{
    size_t n = 120, k = 2;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    double *x = malloc(n * sizeof *x), *z = calloc(n, sizeof *z), *y = malloc(n * sizeof *y);
    double *h = malloc(n * k * sizeof *h);
    double hbar = 0;
    for (size_t r = 0; r < n; r++) {
        x[r] = gsl_ran_gaussian(rng, 1);
        y[r] = gsl_ran_gaussian(rng, 1);
        h[r * k] = 0.6 + 0.3 * gsl_rng_uniform(rng);
        h[r * k + 1] = 1 - h[r * k];
        hbar += h[r * k] / (double)n;
    }
    moe_dataset *d = NULL;
    moe_dataset_from_arrays(n, 1, x, 1, z, y, &d, NULL);
    moe_em_params par = {1e-8, 100, 0, 1e-6, 0, NULL, NULL, 0, {0}, 0, MOE_ACT_TANH, 0, NULL, 0};
    moe_em_work *w = moe_em_alloc(d, k, &par);
    moe_em_init_h(w, h);
    double q0 = 0, q1 = 0;
    moe_em_gate_step(w, h, &q0, &q1);
    tap_ok(w->ridge_gate > 0, "singular gate Hessian: the Newton step used the ridge (%zu times)",
           w->ridge_gate);
    tap_ok(q1 > q0 + 1, "singular gate Hessian: Q rose (%.9g -> %.9g)", q0, q1);
    /* the optimum: g_1 = mean h_1 in every row, so the intercept is logit(mean h_1) */
    double theta[8];
    moe_model_get_theta(w->m, theta);
    size_t gate0 = k * 3;
    tap_abs(theta[gate0], log(hbar / (1 - hbar)), 1e-8,
            "singular gate Hessian: intercept at logit(mean h) = %.6g", log(hbar / (1 - hbar)));
    tap_abs(theta[gate0 + 1], 0, 1e-8, "singular gate Hessian: the free slope stays 0");
    moe_em_free(w);
    moe_dataset_free(d);
    free(x);
    free(z);
    free(y);
    free(h);
    gsl_rng_free(rng);
}

/* Reads datasets/FILE (x = first column, y = second) through the public CSV reader into a
 * data set, and the two columns into *X and *Y (malloc'd, *N values). */
static moe_dataset *read_data(const char *file, double **x, double **y, size_t *n)
{
    const char *srcdir = getenv("srcdir");
    char path[1024];
    snprintf(path, sizeof path, "%s/datasets/%s", srcdir ? srcdir : ".", file);
    moe_table *t = NULL;
    moe_dataset *d = NULL;
    moe_csv_options o = moe_csv_options_default();
    moe_selection sel = moe_selection_default();
    if (moe_table_read_csv(path, &o, &t, NULL) == MOE_SUCCESS &&
        moe_dataset_from_table(t, &sel, &d, NULL) == MOE_SUCCESS) {
        *n = moe_table_nrows(t);
        *x = malloc(*n * sizeof **x);
        *y = malloc(*n * sizeof **y);
        memcpy(*x, moe_table_column(t, 0), *n * sizeof **x);
        memcpy(*y, moe_table_column(t, 1), *n * sizeof **y);
    }
    moe_table_free(t);
    return d;
}

static moe_fit *fit_k(const moe_dataset *d, size_t k, size_t restarts)
{
    moe_fit_options o = moe_fit_options_default();
    o.k_min = o.k_max = k;
    o.restarts = restarts;
    moe_fit *f = NULL;
    moe_error err;
    if (moe_fit_run(d, &o, &f, &err) != MOE_SUCCESS) {
        printf("# fit K = %zu failed: %s\n", k, err.message);
        return NULL;
    }
    return f;
}

/* Posteriors of a fitted model (non-unit scaling), with a row 4e3 SDs above the data added,
 * from moe_predict against those written here on the data's own scale (X, Y: N0 rows). */
static void test_fitted_posteriors(const moe_fit *f, const double *x0, const double *y0,
                                   size_t n0, const char *what)
{
    const moe_model *m = moe_fit_model(f);
    size_t k = moe_model_k(m), n = n0 + 1;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), ymax = -INFINITY;
    for (size_t r = 0; r < n0; r++) {
        x[r] = x0[r];
        y[r] = y0[r];
        ymax = fmax(ymax, y[r]);
    }
    double sd_max = 0;
    for (size_t i = 0; i < k; i++) {
        double c[2], s;
        moe_model_expert(m, i, c, &s);
        sd_max = fmax(sd_max, s);
    }
    x[n0] = x[0];
    y[n0] = ymax + 1e3 * sd_max * 4;
    moe_dataset *d = NULL;
    moe_dataset_from_arrays(n, 1, x, 0, NULL, y, &d, NULL);
    moe_prediction *pr = NULL;
    moe_error err;
    int s = moe_predict(m, d, 1, &pr, &err);
    tap_int(s, MOE_SUCCESS, "%s: predict with posteriors, a row 4e3 SDs out added (%s)", what,
            s ? err.message : "ok");
    double worst = 0, wsum = 0;
    for (size_t r = 0; pr && r < n; r++) {
        double h[MOE_K_MAX], sh = 0;
        own_row(m, &x[r], &x[r], y[r], NULL, h);
        for (size_t i = 0; i < k; i++) {
            worst = fmax(worst, fabs(pr->posterior[r * k + i] - h[i]));
            sh += pr->posterior[r * k + i];
        }
        wsum = fmax(wsum, isfinite(sh) ? fabs(sh - 1) : INFINITY);
        if (!isfinite(worst))
            worst = INFINITY;
    }
    tap_abs(worst, 0, 1e-9, "%s: predicted posteriors = those written here from the data-scale "
            "coefficients", what);
    tap_ok(pr && wsum <= 1e-12, "%s: posteriors sum to 1, the far row too (worst %.3g)", what,
           wsum);
    moe_prediction_free(pr);
    moe_dataset_free(d);
    free(x);
    free(y);
}

/* Expert and sigma SEs of fit F equal sqrt(diag(inverse of the expert block of the negative
 * numerical Hessian)) mapped to the data's scale, all computed here. */
static void check_given_gate_se(const moe_fit *f, const moe_dataset *d, const char *what)
{
    const moe_model *m = moe_fit_model(f);
    size_t k = moe_model_k(m), px = moe_model_nx(m) + 1, np = moe_model_nparams(m);
    size_t ne = k * (px + 1);
    moe_dataset *ds = moe_model_standardise(m, d);
    double *hess = malloc(np * np * sizeof *hess), *a = malloc(ne * ne * sizeof *a);
    double *b = calloc(ne * ne, sizeof *b), *theta = malloc(np * sizeof *theta);
    lapack_int *piv = malloc(ne * sizeof *piv);
    tap_int(moe_infer_hessian(ds, m, hess, NULL), MOE_SUCCESS, "%s: numerical Hessian", what);
    for (size_t r = 0; r < ne; r++) {
        for (size_t c = 0; c < ne; c++)
            a[r * ne + c] = -hess[r * np + c];
        b[r * ne + r] = 1;
    }
    /* the inverse by LU (the library uses Cholesky) */
    lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)ne, (lapack_int)ne, a,
                                    (lapack_int)ne, piv, b, (lapack_int)ne);
    tap_int(info, 0, "%s: the expert block is invertible", what);
    /* the map of expert i's coefficients to the data's scale, column by column: move one
     * standardised coefficient by 1 and read the data-scale coefficients back */
    moe_model *mc = moe_model_copy(m);
    moe_model_get_theta(m, theta);
    double worst = 0, worst_sig = 0;
    for (size_t i = 0; i < k; i++) {
        double c0[64], c1[64], amap[64 * 64], sig, se[64];
        moe_model_expert(m, i, c0, &sig);
        for (size_t s = 0; s < px; s++) {
            theta[i * (px + 1) + s] += 1;
            moe_model_set_theta(mc, theta);
            moe_model_expert(mc, i, c1, NULL);
            theta[i * (px + 1) + s] -= 1;
            for (size_t r = 0; r < px; r++)
                amap[r * px + s] = c1[r] - c0[r];
        }
        moe_fit_expert(f, i, NULL, se, NULL, NULL, NULL);
        size_t off = i * (px + 1);
        for (size_t r = 0; r < px; r++) {
            double v = 0;
            for (size_t s = 0; s < px; s++)
                for (size_t t = 0; t < px; t++)
                    v += amap[r * px + s] * b[(off + s) * ne + off + t] * amap[r * px + t];
            double want = sqrt(v), got = se[r];
            double e = isfinite(got) ? fabs(got - want) / want : INFINITY;
            if (!(e <= worst))
                worst = e;
        }
        double want = sig * sqrt(b[(off + px) * ne + off + px]), got = moe_fit_sigma_se(f, i);
        double e = isfinite(got) ? fabs(got - want) / want : INFINITY;
        if (!(e <= worst_sig))
            worst_sig = e;
    }
    tap_ok(worst <= 1e-6, "%s: expert SEs = sqrt(diag(inverse of the expert block)) (worst "
           "relative error %.3g)", what, worst);
    tap_ok(worst_sig <= 1e-6, "%s: sigma SEs = sigma sqrt(diag(inverse of the expert block))"
           " (worst relative error %.3g)", what, worst_sig);
    moe_model_free(mc);
    moe_dataset_free(ds);
    free(hess);
    free(a);
    free(b);
    free(theta);
    free(piv);
}

/* Two regimes split by x at 0 with no overlap: the gate separates them (its MLE is infinite).
 * Response on a scale of about 10, so that the data's scale is not the standardised one. */
static moe_dataset *separated_data(size_t n, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t r = 0; r < n; r++) {
        x[r] = 20 + 10 * (2 * gsl_rng_uniform(rng) - 1);
        y[r] = x[r] < 20 ? 100 + 3 * x[r] + gsl_ran_gaussian(rng, 2)
                         : 250 - 4 * x[r] + gsl_ran_gaussian(rng, 3);
    }
    moe_dataset *d = NULL;
    moe_dataset_from_arrays(n, 1, x, 0, NULL, y, &d, NULL);
    free(x);
    free(y);
    gsl_rng_free(rng);
    return d;
}

static void test_standard_errors(void)
{
    double *x = NULL, *y = NULL;
    size_t n = 0;
    moe_dataset *mc = read_data("mcycle.csv", &x, &y, &n);
    if (!tap_ok(mc != NULL, "mcycle.csv read (set srcdir)"))
        return;
    moe_fit *f = fit_k(mc, 4, 10);
    if (tap_ok(f != NULL, "mcycle K = 4 fitted")) {
        moe_fit_stats st = moe_fit_get_stats(f);
        int ok = 1;
        for (size_t i = 0; i < st.k; i++) {
            double s = moe_fit_sigma_se(f, i);
            printf("# mcycle K = 4: sigma SE %zu = %.6g\n", i + 1, s);
            ok &= isfinite(s) && s > 0;
        }
        tap_ok(ok, "mcycle K = 4: every sigma SE finite and positive (separated: %d)",
               st.separated);
        if (st.separated)
            check_given_gate_se(f, mc, "mcycle K = 4");
        test_fitted_posteriors(f, x, y, n, "mcycle K = 4");
        moe_fit_free(f);
    }
    moe_dataset_free(mc);
    free(x);
    free(y);

    moe_dataset *d = separated_data(200, 3);
    f = fit_k(d, 2, 3);
    if (tap_ok(f != NULL, "separated regimes K = 2 fitted")) {
        moe_fit_stats st = moe_fit_get_stats(f);
        tap_ok(st.separated, "separated regimes: the fit reports a separating gate");
        check_given_gate_se(f, d, "separated K = 2");
        moe_fit_free(f);
    }
    moe_dataset_free(d);
}

/* Simulated models keep their documented shape on the data's scale with a noise other than 1:
 * neighbouring regimes' lines are separation x noise apart where their gate probabilities tie,
 * every sigma is the noise, and rows drawn from the model have that residual SD under their
 * true regime. Read through the public accessors only. */
static void test_simulated_shape(void)
{
    moe_sim_options o = moe_sim_options_default();
    o.k = 3;
    o.noise = 2.5;
    o.separation = 3;
    o.seed = 4;
    moe_model *m = NULL;
    if (!tap_int(moe_simulate_model(&o, &m, NULL), MOE_SUCCESS, "simulated model, noise 2.5"))
        return;
    size_t k = moe_model_k(m);
    double c[MOE_K_MAX][2], b[MOE_K_MAX][2], sig[MOE_K_MAX], worst_sep = 0, worst_tie = 0;
    int sig_ok = 1;
    for (size_t i = 0; i < k; i++) {
        moe_model_expert(m, i, b[i], &sig[i]);
        sig_ok &= fabs(sig[i] - o.noise) <= 1e-12 * o.noise;
        if (i + 1 < k)
            moe_model_gate(m, i, c[i]);
        else
            c[i][0] = c[i][1] = 0;
    }
    for (size_t i = 0; i + 1 < k; i++) {
        /* where the logits of i and i+1 meet */
        double xb = (c[i + 1][0] - c[i][0]) / (c[i][1] - c[i + 1][1]);
        double gap = fabs((b[i + 1][0] + b[i + 1][1] * xb) - (b[i][0] + b[i][1] * xb));
        worst_sep = fmax(worst_sep, fabs(gap - o.separation * o.noise));
        /* there the two are the most probable experts (a true boundary of the partition) */
        double eta[MOE_K_MAX], mx = -INFINITY;
        for (size_t j = 0; j < k; j++)
            eta[j] = c[j][0] + c[j][1] * xb;
        for (size_t j = 0; j < k; j++)
            if (j != i && j != i + 1)
                mx = fmax(mx, eta[j]);
        if (!(eta[i] > mx))
            worst_tie = INFINITY;
    }
    tap_ok(sig_ok, "simulated model: every sigma is the noise 2.5");
    tap_abs(worst_sep, 0, 1e-9, "simulated model: neighbouring lines are separation x noise = "
            "7.5 apart where their gate probabilities tie");
    tap_ok(worst_tie == 0, "simulated model: those ties are boundaries of the gate's partition");
    size_t n = 4000, *reg = malloc(n * sizeof *reg);
    moe_dataset *d = NULL;
    tap_int(moe_simulate(m, n, 9, &d, reg, NULL), MOE_SUCCESS, "simulated %zu rows", n);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    moe_dataset_write_csv(d, fp, NULL);
    fclose(fp);
    const char *p = strchr(buf, '\n') + 1;
    double ss = 0;
    for (size_t r = 0; r < n; r++) {
        char *e;
        double x = strtod(p, &e), y = strtod(e + 1, &e);
        p = e + 1;
        double res = y - (b[reg[r]][0] + b[reg[r]][1] * x);
        ss += res * res;
    }
    tap_rel(sqrt(ss / (double)n), o.noise, 0.04, "simulated rows: residual SD under the true "
            "regime is the noise 2.5");
    free(buf);
    free(reg);
    moe_dataset_free(d);
    moe_model_free(m);
}

int main(void)
{
    test_far_rows();
    test_gate_ridge();
    test_standard_errors();
    test_simulated_shape();
    return tap_done();
}
