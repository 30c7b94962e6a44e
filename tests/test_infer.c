/* test_infer.c: standard errors (src/infer/covariance.c): the analytic scores against finite
 * differences of the log-likelihood, the Hessian against a fully numerical one, the mapping
 * to the data's scale, and the SEs against the spread of a parametric bootstrap.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "data/dataset.h"
#include "infer/infer.h"
#include "model/model.h"
#include "moe.h"
#include "gauss_layout.h"
#include "tap.h"
#include "model/estep.h"

/* log-likelihood of D at theta (M's parameters replaced in a scratch copy) */
/* moe_infer_standard_errors in the old layout: the experts' regression SEs into SE (k x
 * (nx+1)), the gate's into GSE ((k-1) x (nz+1)), the sigmas' into SSE (k, may be NULL). */
static int std_errors(const moe_dataset *d, const moe_model *m, double *se, double *gse,
                      double *sse, moe_error *err)
{
    size_t k = m->k, px = m->nx + 1, pz = m->nz + 1;
    double **b = calloc(k + 1, sizeof *b);
    for (size_t i = 0; i <= k; i++)
        b[i] = malloc((moe_model_ncoef(m, i) + 1) * sizeof **b);
    int st = moe_infer_standard_errors(d, m, b, err);
    for (size_t i = 0; i < k; i++) {
        memcpy(se + i * px, b[i], px * sizeof *se);
        if (sse)
            sse[i] = b[i][px];
    }
    memcpy(gse, b[k], (k - 1) * pz * sizeof *gse);
    for (size_t i = 0; i <= k; i++)
        free(b[i]);
    free(b);
    return st;
}

static double loglik_at(const moe_dataset *d, moe_model *w, const double *theta)
{
    moe_model_set_theta(w, theta);
    return moe_estep(d, w, NULL, NULL);
}

/* A K = 3, two-input model on unit scaling, moved away from the truth so that the
 * gradient is far from zero, and data drawn from the unmoved one. */
static void gradient_check(void)
{
    moe_sim_options o = moe_sim_options_default();
    o.k = 3;
    o.nx = 2;
    o.seed = 5;
    moe_model *m = NULL, *w = NULL;
    moe_dataset *d = NULL;
    moe_error err;
    if (moe_simulate_model(&o, &m, &err) || moe_simulate(m, 400, 8, &d, NULL, &err)) {
        tap_ok(0, "simulate: %s", err.message);
        return;
    }
    size_t np = moe_model_nparams(m);
    tap_int((long)np, 3 * 4 + 2 * 3, "parameter count 3 (2+1+1) + 2 (2+1)");
    double *theta = malloc(np * sizeof *theta), *grad = malloc(np * sizeof *grad);
    moe_model_get_theta(m, theta);
    for (size_t j = 0; j < np; j++)
        theta[j] += 0.1 * sin((double)j + 1);  /* move off the truth, deterministically */
    moe_model_set_theta(m, theta);
    w = moe_model_copy(m);
    tap_int(moe_infer_gradient(d, m, grad, &err), MOE_SUCCESS, "analytic gradient");
    /* central differences of the log-likelihood: error O(h^2 L''') + O(eps L / h) */
    double worst = 0;
    for (size_t j = 0; j < np; j++) {
        double h = 1e-5 * fmax(1, fabs(theta[j])), t0 = theta[j];
        theta[j] = t0 + h;
        double lp = loglik_at(d, w, theta);
        theta[j] = t0 - h;
        double lm = loglik_at(d, w, theta);
        theta[j] = t0;
        double fd = (lp - lm) / (2 * h);
        double e = fabs(fd - grad[j]) / fmax(1, fabs(fd));
        if (e > worst)
            worst = e;
    }
    tap_ok(worst < 1e-5, "gradient matches finite differences (worst relative error %.2e)",
           worst);
    free(theta);
    free(grad);
    moe_model_free(w);
    moe_model_free(m);
    moe_dataset_free(d);
}

/* At the true parameters of a K = 2 model with plenty of data the observed information is
 * positive definite; compare the Hessian with second differences of the log-likelihood. */
static void hessian_check(void)
{
    moe_sim_options o = moe_sim_options_default();
    o.k = 2;
    o.seed = 2;
    moe_model *m = NULL, *w = NULL;
    moe_dataset *d = NULL;
    moe_error err;
    if (moe_simulate_model(&o, &m, &err) || moe_simulate(m, 1000, 4, &d, NULL, &err)) {
        tap_ok(0, "simulate: %s", err.message);
        return;
    }
    size_t np = moe_model_nparams(m);
    double *theta = malloc(np * sizeof *theta), *hess = malloc(np * np * sizeof *hess);
    double *num = malloc(np * np * sizeof *num), *cov = malloc(np * np * sizeof *cov);
    moe_model_get_theta(m, theta);
    w = moe_model_copy(m);
    tap_int(moe_infer_hessian(d, m, hess, &err), MOE_SUCCESS, "Hessian from the scores");
    double l0 = loglik_at(d, w, theta);
    for (size_t a = 0; a < np; a++)
        for (size_t b = 0; b <= a; b++) {
            double ha = 1e-4 * fmax(1, fabs(theta[a])), hb = 1e-4 * fmax(1, fabs(theta[b]));
            double ta = theta[a], tb = theta[b], v;
            if (a == b) {
                theta[a] = ta + ha;
                double lp = loglik_at(d, w, theta);
                theta[a] = ta - ha;
                double lm = loglik_at(d, w, theta);
                v = (lp - 2 * l0 + lm) / (ha * ha);
            } else {
                double s[4];
                for (int q = 0; q < 4; q++) {
                    theta[a] = ta + (q & 1 ? -ha : ha);
                    theta[b] = tb + (q & 2 ? -hb : hb);
                    s[q] = loglik_at(d, w, theta);
                }
                v = (s[0] - s[1] - s[2] + s[3]) / (4 * ha * hb);
            }
            theta[a] = ta;
            theta[b] = tb;
            num[a * np + b] = num[b * np + a] = v;
        }
    double worst = 0, scale = 0;
    for (size_t a = 0; a < np; a++)
        scale = fmax(scale, fabs(num[a * np + a]));
    for (size_t a = 0; a < np * np; a++)
        worst = fmax(worst, fabs(num[a] - hess[a]));
    tap_ok(worst < 1e-4 * scale,
           "Hessian matches second differences of the log-likelihood (worst %.2e of %.2e)",
           worst, scale);
    /* SEs from the numerical Hessian (standardised scale; unit scaling here) */
    tap_int(moe_infer_covariance(d, m, cov, &err), MOE_SUCCESS, "covariance");
    size_t px = m->nx + 1, pz = m->nz + 1;
    double *se = malloc(2 * px * sizeof *se), *gse = malloc(pz * sizeof *gse);
    tap_int(std_errors(d, m, se, gse, NULL, &err), MOE_SUCCESS, "standard errors");
    /* invert -num by Gauss-Jordan (tiny, well conditioned) to get reference SEs */
    double *inv = calloc(np * np, sizeof *inv), *aug = malloc(np * np * sizeof *aug);
    for (size_t a = 0; a < np * np; a++)
        aug[a] = -num[a];
    for (size_t a = 0; a < np; a++)
        inv[a * np + a] = 1;
    for (size_t c = 0; c < np; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < np; r++)
            if (fabs(aug[r * np + c]) > fabs(aug[piv * np + c]))
                piv = r;
        for (size_t j = 0; j < np; j++) {
            double t = aug[c * np + j];
            aug[c * np + j] = aug[piv * np + j];
            aug[piv * np + j] = t;
            t = inv[c * np + j];
            inv[c * np + j] = inv[piv * np + j];
            inv[piv * np + j] = t;
        }
        double p = aug[c * np + c];
        for (size_t j = 0; j < np; j++) {
            aug[c * np + j] /= p;
            inv[c * np + j] /= p;
        }
        for (size_t r = 0; r < np; r++)
            if (r != c) {
                double f = aug[r * np + c];
                for (size_t j = 0; j < np; j++) {
                    aug[r * np + j] -= f * aug[c * np + j];
                    inv[r * np + j] -= f * inv[c * np + j];
                }
            }
    }
    double wse = 0;
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < px; j++) {
            size_t t = i * (px + 1) + j;
            double ref = sqrt(inv[t * np + t]);
            wse = fmax(wse, fabs(se[i * px + j] - ref) / ref);
            wse = fmax(wse, fabs(sqrt(cov[t * np + t]) - ref) / ref);
        }
    for (size_t j = 0; j < pz; j++) {
        size_t t = 2 * (px + 1) + j;
        double ref = sqrt(inv[t * np + t]);
        wse = fmax(wse, fabs(gse[j] - ref) / ref);
    }
    tap_ok(wse < 1e-4, "SEs match those of the fully numerical Hessian (worst relative %.2e)",
           wse);

    /* the same model stored with another scaling gives the same data-scale SEs */
    moe_model *s = moe_model_copy(m);
    double c = 0.2, sc = 1.7, yc = -3, ys = 40;  /* near the data's own centre and SD */
    s->x_center[0] = s->z_center[0] = c;
    s->x_scale[0] = s->z_scale[0] = sc;
    s->y_center = yc;
    s->y_scale = ys;
    for (size_t i = 0; i < 2; i++) {
        double b0 = BETA(m, i * px), b1 = BETA(m, i * px + 1);
        BETA(s, i * px + 1) = b1 * sc / ys;
        BETA(s, i * px) = (b0 + b1 * c - yc) / ys;
        SIGMA(s, i) = SIGMA(m, i) / ys;
        double v0 = GATE(m, i * pz), v1 = GATE(m, i * pz + 1);
        GATE(s, i * pz + 1) = v1 * sc;
        GATE(s, i * pz) = v0 + v1 * c;
    }
    moe_dataset *sd = moe_model_standardise(s, d);
    double *se2 = malloc(2 * px * sizeof *se2), *gse2 = malloc(pz * sizeof *gse2);
    tap_int(std_errors(sd, s, se2, gse2, NULL, &err), MOE_SUCCESS,
            "standard errors of the rescaled model");
    double wmap = 0;
    for (size_t j = 0; j < 2 * px; j++)
        wmap = fmax(wmap, fabs(se2[j] - se[j]) / se[j]);
    for (size_t j = 0; j < pz; j++)
        wmap = fmax(wmap, fabs(gse2[j] - gse[j]) / gse[j]);
    tap_ok(wmap < 1e-5, "data-scale SEs do not depend on the stored scaling (worst %.2e)", wmap);

    /* a gate that cannot be identified: all gate inputs constant gives a singular block */
    moe_dataset *flat = moe_model_standardise(m, d);
    for (size_t r = 0; r < flat->n; r++)
        flat->z[r * pz + 1] = 1;
    tap_int(std_errors(flat, m, se2, gse2, NULL, &err), MOE_ESING,
            "collinear gate inputs: MOE_ESING (%s)", err.message);
    tap_ok(isnan(se2[0]) && isnan(gse2[1]), "and the SEs are NaN");
    moe_dataset_free(flat);

    free(se2);
    free(gse2);
    moe_dataset_free(sd);
    moe_model_free(s);
    free(se);
    free(gse);
    free(inv);
    free(aug);
    free(theta);
    free(hess);
    free(num);
    free(cov);
    moe_model_free(w);
    moe_model_free(m);
    moe_dataset_free(d);
}

/* The gradient is summed over fixed blocks of rows in a fixed order: the SEs are the same bit
 * for bit with 1 and with 3 threads (12000 rows: three blocks). */
static void thread_check(void)
{
    moe_sim_options o = moe_sim_options_default();
    o.k = 2;
    moe_model *m = NULL;
    moe_dataset *d = NULL;
    moe_error err;
    if (moe_simulate_model(&o, &m, &err) || moe_simulate(m, 12000, 3, &d, NULL, &err)) {
        tap_ok(0, "simulate: %s", err.message);
        return;
    }
    double se1[4], gse1[2], se3[4], gse3[2];
#ifdef _OPENMP
    int before = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    int s1 = std_errors(d, m, se1, gse1, NULL, &err);
#ifdef _OPENMP
    omp_set_num_threads(3);
#endif
    int s3 = std_errors(d, m, se3, gse3, NULL, &err);
#ifdef _OPENMP
    omp_set_num_threads(before);
#endif
    tap_ok(s1 == MOE_SUCCESS && s3 == MOE_SUCCESS && memcmp(se1, se3, sizeof se1) == 0 &&
               memcmp(gse1, gse3, sizeof gse1) == 0,
           "SEs identical with 1 and 3 threads");
    moe_model_free(m);
    moe_dataset_free(d);
}

/* Parametric bootstrap: fit a K = 2 model to simulated data, draw B data sets from the fit,
 * refit each and compare the spread of the estimates with the analytic SEs. With B = 80 the
 * bootstrap SD itself has a relative error of about 1/sqrt(2B) = 8%, so 25% is about three of
 * its SDs. */
static void bootstrap_check(void)
{
    enum { N = 400, B = 80 };
    moe_sim_options o = moe_sim_options_default();
    o.k = 2;
    o.separation = 3;
    o.seed = 11;
    moe_model *truth = NULL;
    moe_dataset *d = NULL;
    moe_error err;
    if (moe_simulate_model(&o, &truth, &err) || moe_simulate(truth, N, 21, &d, NULL, &err)) {
        tap_ok(0, "simulate: %s", err.message);
        return;
    }
    moe_fit_options fo = moe_fit_options_default();
    fo.k_min = fo.k_max = 2;
    fo.restarts = 3;
    moe_fit *f = NULL;
    int st = moe_fit_run(d, &fo, &f, &err);
    if (!tap_int(st, MOE_SUCCESS, "fit K = 2%s%s", st ? ": " : "", st ? err.message : "")) {
        moe_model_free(truth);
        moe_dataset_free(d);
        return;
    }
    const moe_model *fm = moe_fit_model(f);
    double coef[2][2], se[2][2], gcoef[2], gse[2], sig, pr, sig_se[2];
    size_t sz;
    for (size_t i = 0; i < 2; i++) {
        moe_fit_expert(f, i, coef[i], se[i], &sig, &pr, &sz);
        sig_se[i] = moe_fit_sigma_se(f, i);
    }
    moe_fit_gate(f, 0, gcoef, gse);
    double sum[8] = {0}, sum2[8] = {0};
    size_t ok = 0;
    fo.standard_errors = 0;
    fo.restarts = 2;
    for (unsigned b = 0; b < B; b++) {
        moe_dataset *db = NULL;
        moe_fit *fb = NULL;
        if (moe_simulate(fm, N, 1000 + b, &db, NULL, &err) == MOE_SUCCESS &&
            moe_fit_run(db, &fo, &fb, &err) == MOE_SUCCESS) {
            double c[2][2], g[2], tmp[2], s[2];
            for (size_t i = 0; i < 2; i++)
                moe_fit_expert(fb, i, c[i], NULL, &s[i], &pr, &sz);
            moe_fit_gate(fb, 0, g, tmp);
            /* undo label switching: match expert 1 to the nearer line */
            double d0 = hypot(c[0][0] - coef[0][0], c[0][1] - coef[0][1]);
            double d1 = hypot(c[1][0] - coef[0][0], c[1][1] - coef[0][1]);
            if (d1 < d0) {
                for (size_t j = 0; j < 2; j++) {
                    double t = c[0][j];
                    c[0][j] = c[1][j];
                    c[1][j] = t;
                    g[j] = -g[j];  /* the reference expert changed sides */
                }
                double t = s[0];
                s[0] = s[1];
                s[1] = t;
            }
            double v[8] = {c[0][0], c[0][1], c[1][0], c[1][1], g[0], g[1], s[0], s[1]};
            for (size_t j = 0; j < 8; j++) {
                sum[j] += v[j];
                sum2[j] += v[j] * v[j];
            }
            ok++;
        }
        moe_fit_free(fb);
        moe_dataset_free(db);
    }
    tap_int((long)ok, B, "all %d bootstrap refits succeeded", B);
    const double want[8] = {se[0][0], se[0][1], se[1][0], se[1][1], gse[0], gse[1],
                            sig_se[0], sig_se[1]};
    static const char *const what[8] = {"expert 1 intercept", "expert 1 slope",
                                        "expert 2 intercept", "expert 2 slope",
                                        "gate intercept", "gate slope",
                                        "expert 1 sigma", "expert 2 sigma"};
    for (size_t j = 0; j < 8 && ok > 1; j++) {
        double mean = sum[j] / (double)ok;
        double sdv = sqrt((sum2[j] - (double)ok * mean * mean) / (double)(ok - 1));
        tap_rel(want[j], sdv, 0.25, "%s: SE %.4g vs bootstrap SD %.4g", what[j], want[j], sdv);
    }
    moe_fit_free(f);
    moe_model_free(truth);
    moe_dataset_free(d);
}

/* 1 when TEXT has a whitespace-separated word "nan", "-nan", "inf" or "-inf" (any case). */
static int has_nonfinite_word(const char *text)
{
    const char *p = text;
    while (*p) {
        while (*p && strchr(" \t\n,:()[]{}", *p))
            p++;
        const char *q = p;
        while (*q && !strchr(" \t\n,:()[]{}", *q))
            q++;
        size_t l = (size_t)(q - p);
        const char *w = p;
        if (l && (*w == '-' || *w == '+')) {
            w++;
            l--;
        }
        if ((l == 3 && (strncasecmp(w, "nan", 3) == 0 || strncasecmp(w, "inf", 3) == 0)) ||
            (l == 8 && strncasecmp(w, "infinity", 8) == 0))
            return 1;
        p = q;
    }
    return 0;
}

/* The text summary and the JSON report of a range fit (K = 1..3) on simulated data: every
 * section is there, nothing prints as nan, and the JSON has the keys issue 3 asks for. */
static void report_check(void)
{
    moe_sim_options o = moe_sim_options_default();
    o.k = 2;
    o.seed = 4;
    moe_model *truth = NULL;
    moe_dataset *d = NULL;
    moe_fit *f = NULL;
    moe_error err;
    moe_fit_options fo = moe_fit_options_default();
    fo.k_min = 1;
    fo.k_max = 3;
    fo.restarts = 2;
    if (moe_simulate_model(&o, &truth, &err) || moe_simulate(truth, 300, 6, &d, NULL, &err) ||
        moe_fit_run(d, &fo, &f, &err)) {
        tap_ok(0, "fit for the reports: %s", err.message);
        moe_model_free(truth);
        moe_dataset_free(d);
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    tap_int(moe_fit_write_summary(f, fp, &err), MOE_SUCCESS, "write the summary");
    fclose(fp);
    static const char *const want[] = {"Call:", "Expert 1", "(Intercept)", "Std. Error",
                                       "Pr(>|z|)", "maximum-likelihood", "reference: expert",
                                       "Log-likelihood", "AIC", "BIC", "ICL", "Iterations",
                                       "Model selection", "<- chosen", "Signif. codes"};
    int all = 1;
    for (size_t j = 0; j < sizeof want / sizeof want[0]; j++)
        if (!strstr(text, want[j])) {
            printf("# summary lacks \"%s\"\n", want[j]);
            all = 0;
        }
    tap_ok(all, "summary has every section");
    tap_ok(!has_nonfinite_word(text), "summary prints no nan or inf");
    free(text);

    text = NULL;
    fp = open_memstream(&text, &len);
    tap_int(moe_fit_write_json(f, fp, &err), MOE_SUCCESS, "write the JSON");
    fclose(fp);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (tap_ok(root != NULL, "JSON parses")) {
        static const char *const keys[] = {"k", "loglik", "df", "aic", "bic", "icl",
                                           "iterations", "converged", "n", "separated",
                                           "experts", "gate", "selection", "warnings"};
        all = 1;
        for (size_t j = 0; j < sizeof keys / sizeof keys[0]; j++)
            if (!json_object_get(root, keys[j])) {
                printf("# JSON lacks \"%s\"\n", keys[j]);
                all = 0;
            }
        tap_ok(all, "JSON has every key of issue 3");
        size_t k = (size_t)json_integer_value(json_object_get(root, "k"));
        json_t *e0 = json_array_get(json_object_get(root, "experts"), 0);
        tap_ok(json_array_size(json_object_get(root, "experts")) == k &&
                   json_array_size(json_object_get(root, "gate")) == k - 1,
               "k experts and k-1 gate rows");
        tap_ok(json_is_number(json_object_get(json_object_get(e0, "coef"), "(Intercept)")) &&
                   json_object_get(json_object_get(e0, "se"), "x1") != NULL &&
                   json_is_number(json_object_get(e0, "sigma")) &&
                   json_is_number(json_object_get(e0, "prior")) &&
                   json_is_integer(json_object_get(e0, "size")),
               "expert entries: coef/se by name, sigma, prior, size");
        tap_int((long)json_array_size(json_object_get(root, "selection")), 3,
                "selection has K = 1, 2, 3");
        json_decref(root);
    }
    tap_ok(!has_nonfinite_word(text), "JSON has no NaN or Infinity");
    free(text);
    moe_fit_free(f);
    moe_model_free(truth);
    moe_dataset_free(d);
}

int main(void)
{
    gradient_check();
    hessian_check();
    thread_check();
    bootstrap_check();
    report_check();
    return tap_done();
}
