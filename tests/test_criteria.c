/* test_criteria.c: model-selection statistics recomputed independently of src/train/fit.c:
 * the log-likelihood and posteriors from the data-scale coefficients by a log-sum-exp written
 * here (and the E-step's posteriors, moe_estep, checked against them), df = K (nx + 2) +
 * (K - 1)(nz + 1), AIC = -2L + 2 df, BIC = -2L + df log n, ICL = BIC + 2 sum_n sum_i -h log h
 * (DESIGN.md section 3), compared with moe_fit_get_stats and every row of the selection table;
 * the chosen K minimises the criterion asked for; the EM workspace's entropy and
 * log-likelihood equal the same sums over its own posteriors; a fit stopped by max_iter reports
 * exactly max_iter iterations.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "moe.h"
#include "tap.h"
#include "train/em.h"
#include "model/estep.h"

/* Rows: X (n x nx, row-major), Z (n x nz), Y. */
typedef struct rows {
    size_t n, nx, nz;
    double *x, *z, *y;
    moe_dataset *d;
} rows;

static void rows_free(rows *r)
{
    free(r->x);
    free(r->z);
    free(r->y);
    moe_dataset_free(r->d);
}

/* Log-likelihood of R under the data-scale coefficients of M (public accessors), posteriors
 * into H (n x k) and the entropy sum -h log h into *ENT, by a log-sum-exp written here. */
static double own_loglik(const moe_model *m, const rows *r, double *h, double *ent)
{
    size_t k = moe_model_k(m), nx = r->nx, nz = r->nz;
    double coef[64], sig[MOE_K_MAX], beta[MOE_K_MAX][64], gate[MOE_K_MAX][64];
    for (size_t i = 0; i < k; i++) {
        moe_model_expert(m, i, coef, &sig[i]);
        memcpy(beta[i], coef, (nx + 1) * sizeof *coef);
        if (i + 1 < k)
            moe_model_gate(m, i, gate[i]);
        else
            memset(gate[i], 0, (nz + 1) * sizeof *coef);
    }
    double ll = 0, e = 0;
    for (size_t t = 0; t < r->n; t++) {
        const double *x = r->x + t * nx, *z = r->z + t * nz;
        double eta[MOE_K_MAX], a[MOE_K_MAX], emx = -INFINITY, amx = -INFINITY, es = 0, s = 0;
        for (size_t i = 0; i < k; i++) {
            eta[i] = gate[i][0];
            for (size_t j = 0; j < nz; j++)
                eta[i] += gate[i][j + 1] * z[j];
            emx = fmax(emx, eta[i]);
        }
        for (size_t i = 0; i < k; i++)
            es += exp(eta[i] - emx);
        for (size_t i = 0; i < k; i++) {
            double mu = beta[i][0];
            for (size_t j = 0; j < nx; j++)
                mu += beta[i][j + 1] * x[j];
            double u = (r->y[t] - mu) / sig[i];
            a[i] = eta[i] - emx - log(es) - 0.5 * log(2 * M_PI) - log(sig[i]) - 0.5 * u * u;
            amx = fmax(amx, a[i]);
        }
        for (size_t i = 0; i < k; i++)
            s += exp(a[i] - amx);
        double lp = amx + log(s);
        ll += lp;
        for (size_t i = 0; i < k; i++) {
            double hi = exp(a[i] - lp);
            h[t * k + i] = hi;
            if (hi > 0)
                e -= hi * (a[i] - lp);
        }
    }
    *ent = e;
    return ll;
}

/* Checks the statistics of F (on R) against the independent recomputation. */
static void check_stats(const moe_fit *f, const rows *r, const char *what)
{
    const moe_model *m = moe_fit_model(f);
    moe_fit_stats s = moe_fit_get_stats(f);
    size_t k = moe_model_k(m), n = r->n;
    double *h = malloc(n * k * sizeof *h), *h2 = malloc(n * k * sizeof *h2), ent;
    double ll = own_loglik(m, r, h, &ent);
    /* the library's E-step on its standardised scale gives the same posteriors */
    moe_dataset *ds = moe_model_standardise(m, r->d);
    moe_estep(ds, m, NULL, h2);
    double worst = 0;
    for (size_t t = 0; t < n * k; t++)
        worst = fmax(worst, isfinite(h2[t]) ? fabs(h[t] - h2[t]) : INFINITY);
    tap_abs(worst, 0, 1e-9, "%s: moe_estep posteriors = those written here", what);
    size_t df = k * (r->nx + 2) + (k - 1) * (r->nz + 1);
    double aic = -2 * ll + 2 * (double)df, bic = -2 * ll + (double)df * log((double)n);
    double icl = bic + 2 * ent;
    printf("# %s: L %.10g df %zu AIC %.10g BIC %.10g ICL %.10g (entropy %.6g)\n", what, ll, df,
           aic, bic, icl, ent);
    tap_int((long)s.k, (long)k, "%s: k", what);
    tap_int((long)s.n, (long)n, "%s: n", what);
    tap_int((long)s.df, (long)df, "%s: df = K (nx + 2) + (K - 1)(nz + 1) = %zu", what, df);
    tap_rel(s.loglik, ll, 1e-9, "%s: log-likelihood", what);
    tap_rel(s.aic, aic, 1e-9, "%s: AIC = -2L + 2 df", what);
    tap_rel(s.bic, bic, 1e-9, "%s: BIC = -2L + df log n", what);
    tap_rel(s.icl, icl, 1e-9, "%s: ICL = BIC + 2 entropy", what);
    tap_ok(fabs((s.icl - s.bic) - 2 * ent) <= 1e-7 * (1 + ent),
           "%s: ICL - BIC = twice the posterior entropy (%.9g vs %.9g)", what, s.icl - s.bic,
           2 * ent);
    moe_dataset_free(ds);
    free(h);
    free(h2);
}

/* The selection table: every row obeys the formulas (with its own log-likelihood), and the
 * chosen K minimises the criterion among the rows without spurious experts (among all rows
 * when every row has them: issue 13, moe_fit_options.keep_spurious 0). */
static void check_selection(const moe_fit *f, moe_criterion crit, const rows *r,
                            const char *what)
{
    size_t ns = moe_fit_nselection(f), best = 0, best_any = 0, clean = 0;
    int ok = 1;
    double bestv = INFINITY, bestv_any = INFINITY;
    for (size_t j = 0; j < ns; j++) {
        moe_fit_stats s = moe_fit_selection(f, j);
        size_t df = s.k * (r->nx + 2) + (s.k - 1) * (r->nz + 1);
        double aic = -2 * s.loglik + 2 * (double)df;
        double bic = -2 * s.loglik + (double)df * log((double)r->n);
        ok &= s.df == df && fabs(s.aic - aic) <= 1e-9 * fabs(aic) &&
              fabs(s.bic - bic) <= 1e-9 * fabs(bic) && s.icl >= s.bic - 1e-9 * fabs(bic);
        double v = crit == MOE_CRIT_AIC ? aic : crit == MOE_CRIT_ICL ? s.icl : bic;
        printf("# %s: K = %zu L %.8g AIC %.8g BIC %.8g ICL %.8g spurious %zu\n", what, s.k,
               s.loglik, s.aic, s.bic, s.icl, s.spurious);
        if (v < bestv_any) {
            bestv_any = v;
            best_any = s.k;
        }
        if (s.spurious == 0) {
            clean++;
            if (v < bestv) {
                bestv = v;
                best = s.k;
            }
        }
    }
    if (clean == 0)
        best = best_any;
    tap_ok(ns > 1 && ok, "%s: %zu rows of the selection table obey df, AIC, BIC and ICL >= BIC",
           what, ns);
    tap_int((long)moe_fit_get_stats(f).k, (long)best, "%s: the chosen K minimises the "
            "criterion among the fits without spurious experts", what);
}

/* Reads datasets/FILE: the first column is x (and z), the last y. */
static int read_rows(const char *file, rows *r)
{
    memset(r, 0, sizeof *r);
    const char *srcdir = getenv("srcdir");
    char path[1024];
    snprintf(path, sizeof path, "%s/datasets/%s", srcdir ? srcdir : ".", file);
    moe_table *t = NULL;
    moe_csv_options o = moe_csv_options_default();
    if (moe_table_read_csv(path, &o, &t, NULL) != MOE_SUCCESS)
        return 0;
    size_t nc = moe_table_ncols(t);
    r->n = moe_table_nrows(t);
    r->nx = r->nz = 1;
    r->x = malloc(r->n * sizeof *r->x);
    r->z = malloc(r->n * sizeof *r->z);
    r->y = malloc(r->n * sizeof *r->y);
    memcpy(r->x, moe_table_column(t, 0), r->n * sizeof *r->x);
    memcpy(r->z, r->x, r->n * sizeof *r->x);
    memcpy(r->y, moe_table_column(t, nc - 1), r->n * sizeof *r->y);
    moe_table_free(t);
    return moe_dataset_from_arrays(r->n, 1, r->x, 1, r->z, r->y, &r->d, NULL) == MOE_SUCCESS;
}

static moe_fit *fit(const rows *r, size_t kmin, size_t kmax, moe_criterion crit,
                    size_t restarts)
{
    moe_fit_options o = moe_fit_options_default();
    o.k_min = kmin;
    o.k_max = kmax;
    o.criterion = crit;
    o.restarts = restarts;
    o.standard_errors = 0;
    moe_fit *f = NULL;
    moe_error err;
    if (moe_fit_run(r->d, &o, &f, &err) != MOE_SUCCESS) {
        printf("# fit failed: %s\n", err.message);
        return NULL;
    }
    return f;
}

/* Two regimes 100 SDs apart that the gate cannot tell apart (the regime does not depend on
 * the inputs): posteriors are exactly 0 and 1, so the entropy term is 0, not NaN. Two expert
 * inputs and one separate gate input, for a df with nx != nz. */
static void sharp_rows(rows *r, size_t n, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    memset(r, 0, sizeof *r);
    r->n = n;
    r->nx = 2;
    r->nz = 1;
    r->x = malloc(n * 2 * sizeof *r->x);
    r->z = malloc(n * sizeof *r->z);
    r->y = malloc(n * sizeof *r->y);
    for (size_t t = 0; t < n; t++) {
        double *x = r->x + 2 * t;
        x[0] = gsl_ran_gaussian(rng, 1);
        x[1] = gsl_ran_gaussian(rng, 1);
        r->z[t] = gsl_ran_gaussian(rng, 1);
        int reg = t % 2;
        r->y[t] = (reg ? 100 : 0) + (reg ? 1 : -1) * x[0] + 0.5 * x[1] +
                  gsl_ran_gaussian(rng, 1);
    }
    moe_dataset_from_arrays(n, 2, r->x, 1, r->z, r->y, &r->d, NULL);
    gsl_rng_free(rng);
}

/* The EM workspace's entropy and log-likelihood are sums over its own posteriors. */
static void check_em_work(const rows *r)
{
    moe_model *scale = moe_model_alloc(1, r->nx, r->nz);
    moe_model_scaling_from_data(scale, r->d);
    moe_dataset *ds = moe_model_standardise(scale, r->d);
    moe_em_params par = {1e-8, 50, 0, 1e-6, 0, NULL, NULL, 0, {0}, 0, MOE_ACT_TANH, 0, NULL, 0};
    size_t k = 3, n = r->n;
    moe_em_work *w = moe_em_alloc(ds, k, &par);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    int st = moe_em_init(w, 0, rng);
    for (int it = 0; st == MOE_SUCCESS && it < 5; it++)
        st = moe_em_iterate(w);
    tap_int(st, MOE_SUCCESS, "EM workspace: 5 iterations");
    double ent = 0, *h = malloc(n * k * sizeof *h);
    for (size_t t = 0; t < n * k; t++)
        if (w->h[t] > 0)
            ent -= w->h[t] * log(w->h[t]);
    double ll = moe_estep(ds, w->m, NULL, h), worst = 0;
    for (size_t t = 0; t < n * k; t++)
        worst = fmax(worst, fabs(h[t] - w->h[t]));
    tap_rel(w->entropy, ent, 1e-10, "EM workspace: entropy = sum -h log h of its posteriors");
    tap_rel(w->loglik, ll, 1e-12, "EM workspace: log-likelihood = moe_estep's");
    tap_abs(worst, 0, 1e-12, "EM workspace: posteriors = moe_estep's");
    /* the priors min_prior compares with: mean gate probabilities */
    double *g = malloc(n * k * sizeof *g), pw = 0;
    moe_estep(ds, w->m, g, NULL);
    for (size_t i = 0; i < k; i++) {
        double mean = 0;
        for (size_t t = 0; t < n; t++)
            mean += g[t * k + i] / (double)n;
        pw = fmax(pw, fabs(w->prior[i] - mean));
    }
    tap_abs(pw, 0, 1e-12, "EM workspace: priors = mean gate probabilities");
    free(g);
    free(h);
    gsl_rng_free(rng);
    moe_em_free(w);
    moe_dataset_free(ds);
    moe_model_free(scale);
}

/* moe_em_test: MOE_CONTINUE before the iteration limit, MOE_EMAXITER once W has done exactly
 * max_iter iterations (tol 0: the tolerance never stops it). */
static void check_em_test_limit(const rows *r)
{
    moe_model *scale = moe_model_alloc(1, r->nx, r->nz);
    moe_model_scaling_from_data(scale, r->d);
    moe_dataset *ds = moe_model_standardise(scale, r->d);
    moe_em_params par = {0, 4, 0, 1e-6, 0, NULL, NULL, 0, {0}, 0, MOE_ACT_TANH, 0, NULL, 0};
    moe_em_work *w = moe_em_alloc(ds, 2, &par);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    int st = moe_em_init(w, 0, rng), verdict[4] = {0, 0, 0, 0};
    for (int it = 0; st == MOE_SUCCESS && it < 4; it++) {
        st = moe_em_iterate(w);
        verdict[it] = moe_em_test(w);
    }
    tap_int(st, MOE_SUCCESS, "moe_em_test: 4 iterations");
    tap_int(verdict[2], MOE_CONTINUE, "moe_em_test: iteration 3 of 4 continues");
    tap_int(verdict[3], MOE_EMAXITER, "moe_em_test: iteration 4 of 4 stops at the limit");
    gsl_rng_free(rng);
    moe_em_free(w);
    moe_dataset_free(ds);
    moe_model_free(scale);
}

/* A fit stopped by the iteration limit reports exactly max_iter iterations, not converged. */
static void check_max_iter(const rows *r)
{
    moe_fit_options o = moe_fit_options_default();
    o.k_min = o.k_max = 3;
    o.restarts = 1;
    o.max_iter = 4;
    o.tol = 1e-15;
    o.standard_errors = 0;
    moe_fit *f = NULL;
    tap_int(moe_fit_run(r->d, &o, &f, NULL), MOE_SUCCESS, "max_iter 4: fit returns");
    moe_fit_stats s = moe_fit_get_stats(f);
    size_t len = 0;
    moe_fit_trace(f, moe_fit_best_trace(f), &len);
    tap_int((long)s.iterations, 4, "max_iter 4: 4 iterations reported");
    tap_int((long)len, 4, "max_iter 4: a trace of 4 log-likelihoods");
    tap_int(s.converged, 0, "max_iter 4: not converged");
    moe_fit_free(f);
}

int main(void)
{
    rows mc;
    if (!tap_ok(read_rows("mcycle.csv", &mc), "mcycle.csv read (set srcdir)"))
        return tap_done();
    for (size_t k = 1; k <= 3; k++) {
        char what[64];
        snprintf(what, sizeof what, "mcycle K = %zu", k);
        moe_fit *f = fit(&mc, k, k, MOE_CRIT_BIC, 4);
        if (tap_ok(f != NULL, "%s fitted", what))
            check_stats(f, &mc, what);
        moe_fit_free(f);
    }
    static const moe_criterion crits[] = {MOE_CRIT_BIC, MOE_CRIT_AIC, MOE_CRIT_ICL};
    static const char *const names[] = {"BIC", "AIC", "ICL"};
    for (int c = 0; c < 3; c++) {
        char what[64];
        snprintf(what, sizeof what, "mcycle K = 3..6 by %s", names[c]);
        moe_fit *f = fit(&mc, 3, 6, crits[c], 3);
        if (tap_ok(f != NULL, "%s fitted", what)) {
            check_selection(f, crits[c], &mc, what);
            check_stats(f, &mc, what);
        }
        moe_fit_free(f);
    }
    /* sim_2inputs on its first input: AIC (K = 4) and BIC (K = 2) choose differently, so a
     * criterion read from the wrong field cannot pass check_selection for both */
    rows s2;
    if (tap_ok(read_rows("sim_2inputs.csv", &s2), "sim_2inputs.csv read")) {
        size_t chosen[2] = {0, 0};
        for (int c = 0; c < 2; c++) {
            char what[64];
            snprintf(what, sizeof what, "sim_2inputs K = 1..4 by %s", names[c]);
            moe_fit *f = fit(&s2, 1, 4, crits[c], 3);
            if (tap_ok(f != NULL, "%s fitted", what)) {
                check_selection(f, crits[c], &s2, what);
                chosen[c] = moe_fit_get_stats(f).k;
            }
            moe_fit_free(f);
        }
        tap_ok(chosen[0] != chosen[1], "sim_2inputs: BIC and AIC choose different K (%zu, %zu)",
               chosen[0], chosen[1]);
        rows_free(&s2);
    }
    check_em_work(&mc);
    check_max_iter(&mc);
    check_em_test_limit(&mc);
    rows_free(&mc);

    rows sh;
    sharp_rows(&sh, 300, 7);
    moe_fit *f = fit(&sh, 2, 2, MOE_CRIT_BIC, 2);
    if (tap_ok(f != NULL, "sharp regimes K = 2 (nx 2, nz 1) fitted"))
        check_stats(f, &sh, "sharp regimes K = 2");
    moe_fit_free(f);
    rows_free(&sh);
    return tap_done();
}
