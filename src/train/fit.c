/* fit.c: the fitting driver moe_fit_run (K range, restarts, model selection, statistics,
 * standard errors), fit options and the moe_fit accessors.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Every start of every K draws from its own GSL random stream seeded from (seed, K, start),
 * and the EM passes are thread-count independent, so the same seed gives the same fit bit
 * for bit whatever OMP_NUM_THREADS is. The model is fitted on the standardised scale
 * (inputs and response centred and divided by their SDs); statistics are reported on the
 * data's scale: loglik_data = loglik_std - n log(y_scale). */
#include <config.h>

#include <gsl/gsl_rng.h>
#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "infer/infer.h"
#include "train/em.h"
#include "train/estep.h"
#include "train/fit.h"

/* Degenerate starts are redrawn (from random responsibilities) at most this many times. */
#define MAX_REDRAWS 3

#define STR_(x) #x
#define STR(x) STR_(x)

moe_fit_options moe_fit_options_default(void)
{
    moe_fit_options o;
    memset(&o, 0, sizeof o);
    o.k_min = 1;
    o.k_max = 5;
    o.criterion = MOE_CRIT_BIC;
    o.init = MOE_INIT_MIXED;
    o.restarts = 10;
    o.seed = 1;
    o.tol = 1e-8;
    o.max_iter = 1000;
    o.gate_ridge = 0;
    o.min_prior = 0;
    o.var_floor = 1e-6;
    o.standard_errors = 1;
    o.progress = NULL;
    o.progress_data = NULL;
    return o;
}

const char *moe_fit_options_check(const moe_fit_options *opt)
{
    if (!opt)
        return "no fit options given";
    if (opt->k_min < 1)
        return "the smallest number of experts (k_min) must be at least 1";
    if (opt->k_max < opt->k_min)
        return "the largest number of experts (k_max) must be at least k_min";
    if (opt->k_max > MOE_K_MAX)
        return "the number of experts must be at most " STR(MOE_K_MAX);
    if (opt->criterion != MOE_CRIT_BIC && opt->criterion != MOE_CRIT_AIC &&
        opt->criterion != MOE_CRIT_ICL)
        return "the criterion must be bic, aic or icl";
    if (opt->init != MOE_INIT_KMEANS && opt->init != MOE_INIT_RANDOM &&
        opt->init != MOE_INIT_MIXED)
        return "the initialisation must be kmeans, random or mixed";
    if (opt->restarts < 1)
        return "the number of restarts must be at least 1";
    if (!(opt->tol > 0) || !isfinite(opt->tol))
        return "the tolerance must be a finite number > 0";
    if (opt->max_iter < 1)
        return "the iteration limit (max_iter) must be at least 1";
    if (!(opt->gate_ridge >= 0) || !isfinite(opt->gate_ridge))
        return "the gate ridge must be a finite number >= 0";
    if (!(opt->min_prior >= 0) || !(opt->min_prior < 1))
        return "min_prior must be in [0, 1)";
    if (!(opt->var_floor > 0) || !(opt->var_floor < 1))
        return "the variance floor must be in (0, 1) (a share of var(y))";
    return NULL;
}

void moe_fit_warn(moe_fit *f, const char *fmt, ...)
{
    if (!f)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **nw = realloc(f->warnings, (f->nwarnings + 1) * sizeof *nw);
    if (!nw)
        return;
    f->warnings = nw;
    size_t len = strlen(buf) + 1;
    char *s = malloc(len);
    if (!s)
        return;
    memcpy(s, buf, len);
    f->warnings[f->nwarnings++] = s;
}

static void free_traces(double **tr, size_t n)
{
    if (!tr)
        return;
    for (size_t i = 0; i < n; i++)
        free(tr[i]);
    free(tr);
}

void moe_fit_free(moe_fit *f)
{
    if (!f)
        return;
    moe_model_free(f->model);
    free(f->prior);
    free(f->size);
    free(f->expert_se);
    free(f->sigma_se);
    free(f->gate_se);
    free(f->selection);
    free_traces(f->traces, f->ntraces);
    free(f->trace_len);
    for (size_t i = 0; i < f->nwarnings; i++)
        free(f->warnings[i]);
    free(f->warnings);
    free(f);
}

/* splitmix64: a seed for the stream of (seed, K, start), well mixed so that neighbouring
 * starts get unrelated Mersenne Twister states. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned long stream_seed(unsigned long seed, size_t k, size_t start)
{
    uint64_t s = mix64(mix64(mix64((uint64_t)seed) ^ (uint64_t)k) ^ (uint64_t)start);
    return (unsigned long)(s & 0xffffffffUL) | 1UL;  /* nonzero, 32 bits for gsl */
}

static size_t model_df(size_t k, size_t nx, size_t nz)
{
    return k * (nx + 2) + (k - 1) * (nz + 1);
}

static double criterion_value(const moe_fit_stats *s, moe_criterion c)
{
    return c == MOE_CRIT_AIC ? s->aic : c == MOE_CRIT_ICL ? s->icl : s->bic;
}

static int all_finite(const double *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return 0;
    return 1;
}

/* What the fits of one K leave behind. */
typedef struct k_result {
    moe_model *model;     /* best start, standardised parameters (NULL: none usable) */
    moe_fit_stats stats;
    double **traces;      /* restarts traces, data scale */
    size_t *trace_len;
    size_t ntraces, best_trace;
} k_result;

static void k_result_clear(k_result *r)
{
    moe_model_free(r->model);
    free_traces(r->traces, r->ntraces);
    free(r->trace_len);
    memset(r, 0, sizeof *r);
}

/* Runs every start for K experts; returns MOE_SUCCESS (R->model may still be NULL when no
 * start was usable), MOE_ENOMEM or MOE_ENUMERIC (ERR says why). */
static int fit_one_k(const moe_dataset *ds, size_t k, const moe_fit_options *opt,
                     double ll_shift, gsl_rng *rng, moe_fit *f, k_result *res, moe_error *err)
{
    moe_em_params par = {opt->tol, opt->max_iter, opt->gate_ridge, opt->var_floor,
                         opt->min_prior};
    size_t n = ds->n;
    memset(res, 0, sizeof *res);
    moe_em_work *w = moe_em_alloc(ds, k, &par);
    res->traces = calloc(opt->restarts, sizeof *res->traces);
    res->trace_len = calloc(opt->restarts, sizeof *res->trace_len);
    if (!w || !res->traces || !res->trace_len) {
        moe_em_free(w);
        free(res->traces);
        free(res->trace_len);
        res->traces = NULL;
        res->trace_len = NULL;
        return moe_error_set(err, MOE_ENOMEM, "fit: out of memory for K = %zu (%zu rows)", k,
                             n);
    }
    res->ntraces = opt->restarts;
    double best = -INFINITY;
    size_t ridge_e = 0, ridge_g = 0, nohalve = 0, redraws = 0, failed = 0;
    int status = MOE_SUCCESS;
    for (size_t r = 0; r < opt->restarts; r++) {
        gsl_rng_set(rng, stream_seed(opt->seed, k, r));
        int use_kmeans = opt->init == MOE_INIT_KMEANS || (opt->init == MOE_INIT_MIXED && r == 0);
        int st = MOE_SUCCESS, t = MOE_CONTINUE;
        for (size_t attempt = 0; attempt <= MAX_REDRAWS; attempt++) {
            st = moe_em_init(w, attempt == 0 ? use_kmeans : 0, rng);
            if (st == MOE_ENOMEM) {
                status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (k-means)");
                goto done;
            }
            t = MOE_CONTINUE;
            while (st == MOE_SUCCESS) {
                st = moe_em_iterate(w);
                if (st != MOE_SUCCESS)
                    break;
                if (opt->progress) {
                    moe_progress p = {k, r, opt->restarts, w->iter, w->loglik - ll_shift};
                    opt->progress(&p, opt->progress_data);
                }
                t = moe_em_test(w);
                if (t != MOE_CONTINUE)
                    break;
            }
            if (st == MOE_ENUMERIC) {
                status = moe_error_set(err, MOE_ENUMERIC, "K = %zu, start %zu: %s", k, r + 1,
                                       w->message);
                goto done;
            }
            if (st != MOE_ESING)
                break;
            redraws++;
            moe_fit_warn(f, "K = %zu, start %zu: %s; %s", k, r + 1, w->message,
                         attempt < MAX_REDRAWS ? "restarted from fresh random responsibilities"
                                               : "start abandoned");
        }
        if (st != MOE_SUCCESS) {
            failed++;
            continue;
        }
        ridge_e += w->ridge_experts;
        ridge_g += w->ridge_gate;
        nohalve += w->halvings_failed;
        if (w->dropped)
            moe_fit_warn(f, "K = %zu, start %zu: %zu expert%s dropped by min-prior %g (last: "
                         "%s); refitted with %zu experts", k, r + 1, w->dropped,
                         w->dropped > 1 ? "s" : "", opt->min_prior, w->message, w->k);
        double *tr = malloc((w->iter + 1) * sizeof *tr);
        if (!tr) {
            status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (traces)");
            goto done;
        }
        for (size_t i = 0; i < w->iter; i++)
            tr[i] = w->trace[i] - ll_shift;
        res->traces[r] = tr;
        res->trace_len[r] = w->iter;
        if (w->loglik > best) {
            moe_model *c = moe_model_copy(w->m);
            if (!c) {
                status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (model copy)");
                goto done;
            }
            moe_model_free(res->model);
            res->model = c;
            best = w->loglik;
            res->best_trace = r;
            res->stats.iterations = w->iter;
            res->stats.converged = t == MOE_SUCCESS && w->converged;
            res->stats.separated = w->separated;
        }
    }
    if (ridge_e)
        moe_fit_warn(f, "K = %zu: %zu expert M-steps were singular and needed a small ridge "
                     "(collinear inputs or too few rows in a regime)", k, ridge_e);
    if (ridge_g)
        moe_fit_warn(f, "K = %zu: %zu gate Newton steps needed a small ridge (nearly singular "
                     "gate Hessian)", k, ridge_g);
    (void)nohalve;
    if (failed)
        moe_fit_warn(f, "K = %zu: %zu of %zu starts gave no usable fit (degenerate experts "
                     "after %d redraws)", k, failed, opt->restarts, MAX_REDRAWS);
    (void)redraws;
    if (res->model) {
        /* statistics of the best start: its E-step again, for the entropy (ICL) */
        moe_model *bm = res->model;
        size_t kk = bm->k;
        double ll = moe_estep(ds, bm, NULL, w->h), ent = 0;
        for (size_t t = 0; t < n * kk; t++)
            if (w->h[t] > 0)
                ent -= w->h[t] * log(w->h[t]);
        moe_fit_stats *s = &res->stats;
        s->k = kk;
        s->n = n;
        s->df = model_df(kk, ds->nx, ds->nz);
        s->loglik = ll - ll_shift;
        s->aic = -2 * s->loglik + 2 * (double)s->df;
        s->bic = -2 * s->loglik + (double)s->df * log((double)n);
        s->icl = s->bic + 2 * ent;
    }
done:
    moe_em_free(w);
    if (status != MOE_SUCCESS)
        k_result_clear(res);
    return status;
}

/* Prior (mean gate probability) and hard size of each expert, on standardised DS. */
static int expert_shares(const moe_dataset *ds, const moe_model *m, double *prior, size_t *size)
{
    size_t n = ds->n, k = m->k;
    double *g = malloc(n * k * sizeof *g), *h = malloc(n * k * sizeof *h);
    if (!g || !h) {
        free(g);
        free(h);
        return MOE_ENOMEM;
    }
    moe_estep(ds, m, g, h);
    for (size_t i = 0; i < k; i++) {
        prior[i] = 0;
        size[i] = 0;
    }
    for (size_t r = 0; r < n; r++) {
        size_t best = 0;
        for (size_t i = 0; i < k; i++) {
            prior[i] += g[r * k + i];
            if (h[r * k + i] > h[r * k + best])
                best = i;
        }
        size[best]++;
    }
    for (size_t i = 0; i < k; i++)
        prior[i] /= (double)n;
    free(g);
    free(h);
    return MOE_SUCCESS;
}

/* When the gate separates the regimes the full information is singular, but the experts'
 * coefficients are still identified given the gate: their SEs come from the expert block of
 * the observed information alone (the gate held at its fitted boundaries). EXPERT_SE gets
 * k x (nx+1) values on the data's scale; MOE_ESING (NaN left) when that block is singular. */
static int expert_se_given_gate(const moe_dataset *ds, const moe_model *m, double *expert_se,
                                double *sigma_se)
{
    size_t k = m->k, px = m->nx + 1, np = moe_infer_nparams(m), ne = k * (px + 1);
    double *hess = malloc(np * np * sizeof *hess), *c = malloc(ne * ne * sizeof *c);
    double *a = malloc(px * px * sizeof *a);
    int status = MOE_ENOMEM;
    if (!hess || !c || !a)
        goto out;
    status = moe_infer_hessian(ds, m, hess, NULL);
    if (status != MOE_SUCCESS)
        goto out;
    for (size_t r = 0; r < ne; r++)
        for (size_t t = 0; t < ne; t++)
            c[r * ne + t] = -hess[r * np + t];
    status = MOE_ESING;
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)ne, c, (lapack_int)ne) != 0 ||
        LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', (lapack_int)ne, c, (lapack_int)ne) != 0)
        goto out;
    for (size_t r = 0; r < ne; r++)
        for (size_t t = 0; t < r; t++)
            c[r * ne + t] = c[t * ne + r];
    moe_model_expert_map(m, a, NULL);
    for (size_t i = 0; i < k; i++) {
        size_t off = i * (px + 1);
        for (size_t r = 0; r < px; r++) {
            double v = 0;
            for (size_t s = 0; s < px; s++)
                for (size_t t = 0; t < px; t++)
                    v += a[r * px + s] * c[(off + s) * ne + off + t] * a[r * px + t];
            expert_se[i * px + r] = isfinite(v) && v > 0 ? sqrt(v) : NAN;
        }
    }
    moe_infer_sigma_se(m, c, ne, sigma_se);
    status = MOE_SUCCESS;
out:
    free(hess);
    free(c);
    free(a);
    return status;
}

int moe_fit_run(const moe_dataset *d, const moe_fit_options *opt, moe_fit **out,
                moe_error *err)
{
    if (out)
        *out = NULL;
    if (!out)
        return moe_error_set(err, MOE_EINVAL, "fit: no place for the result");
    const char *msg = moe_fit_options_check(opt);
    if (msg)
        return moe_error_set(err, MOE_EINVAL, "fit: %s", msg);
    if (!d || !d->y)
        return moe_error_set(err, MOE_EINVAL, "fit: the data set has no response");
    size_t n = d->n, nx = d->nx, nz = d->nz;
    if (n == 0)
        return moe_error_set(err, MOE_EINVAL, "fit: the data set has no rows");
    if (!all_finite(d->y, n) || !all_finite(d->x, n * (nx + 1)) ||
        !all_finite(d->z, n * (nz + 1)))
        return moe_error_set(err, MOE_EINVAL, "fit: the data contain missing or non-finite "
                             "values (drop those rows first)");
    size_t dfmax = model_df(opt->k_max, nx, nz);
    if (n < dfmax)
        return moe_error_set(err, MOE_EINVAL, "fit: K = %zu experts need %zu free parameters "
                             "but the data have only %zu rows; use fewer experts", opt->k_max,
                             dfmax, n);
    moe_fit *f = calloc(1, sizeof *f);
    moe_model *scale = moe_model_alloc(1, nx, nz);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    moe_dataset *ds = NULL;
    size_t nk = opt->k_max - opt->k_min + 1;
    k_result chosen, cur;
    memset(&chosen, 0, sizeof chosen);
    memset(&cur, 0, sizeof cur);
    int status = MOE_SUCCESS;
    if (!f || !scale || !rng || !(f->selection = calloc(nk, sizeof *f->selection))) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory");
        goto fail;
    }
    moe_model_scaling_from_data(scale, d);
    if (!(ds = moe_model_standardise(scale, d))) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (standardised data)");
        goto fail;
    }
    double ll_shift = (double)n * log(scale->y_scale);
    for (size_t k = opt->k_min; k <= opt->k_max; k++) {
        if ((status = fit_one_k(ds, k, opt, ll_shift, rng, f, &cur, err)))
            goto fail;
        if (!cur.model) {
            moe_fit_warn(f, "K = %zu: no start gave a usable fit; K left out of the selection",
                         k);
            k_result_clear(&cur);
            continue;
        }
        f->selection[f->nselection++] = cur.stats;
        if (!chosen.model || criterion_value(&cur.stats, opt->criterion) <
                                 criterion_value(&chosen.stats, opt->criterion)) {
            k_result_clear(&chosen);
            chosen = cur;
        } else {
            k_result_clear(&cur);
        }
        memset(&cur, 0, sizeof cur);
    }
    if (!chosen.model) {
        status = moe_error_set(err, MOE_ENUMERIC, "fit: no start of any K gave a usable fit "
                               "(every start degenerated)");
        goto fail;
    }
    /* the chosen model: standardised parameters with the data's scaling and names */
    moe_model *m = chosen.model;
    chosen.model = NULL;
    f->model = m;
    m->y_center = scale->y_center;
    m->y_scale = scale->y_scale;
    memcpy(m->x_center, scale->x_center, nx * sizeof *m->x_center);
    memcpy(m->x_scale, scale->x_scale, nx * sizeof *m->x_scale);
    memcpy(m->z_center, scale->z_center, nz * sizeof *m->z_center);
    memcpy(m->z_scale, scale->z_scale, nz * sizeof *m->z_scale);
    f->stats = chosen.stats;
    f->traces = chosen.traces;
    f->trace_len = chosen.trace_len;
    f->ntraces = chosen.ntraces;
    f->best_trace = chosen.best_trace;
    chosen.traces = NULL;
    chosen.trace_len = NULL;
    chosen.ntraces = 0;
    size_t k = m->k, px = nx + 1, pz = nz + 1;
    f->prior = malloc(k * sizeof *f->prior);
    f->size = malloc(k * sizeof *f->size);
    f->expert_se = malloc(k * px * sizeof *f->expert_se);
    f->sigma_se = malloc(k * sizeof *f->sigma_se);
    f->gate_se = malloc((k * pz + 1) * sizeof *f->gate_se);
    if (moe_model_set_names(m, d) || !f->prior || !f->size || !f->expert_se || !f->sigma_se ||
        !f->gate_se ||
        expert_shares(ds, m, f->prior, f->size)) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (result)");
        goto fail;
    }
    for (size_t t = 0; t < k * px; t++)
        f->expert_se[t] = NAN;
    for (size_t t = 0; t < k; t++)
        f->sigma_se[t] = NAN;
    for (size_t t = 0; t < (k - 1) * pz; t++)
        f->gate_se[t] = NAN;
    f->criterion = opt->criterion;
    if (f->stats.separated)
        moe_fit_warn(f, "gate separates the regimes; coefficients are not identified, "
                     "boundaries are (EM stopped once the largest gate slope exceeded %g on the "
                     "standardised scale while the log-likelihood gained less than sqrt(tol) "
                     "relative over %d iterations); gate standard errors are not reported",
                     MOE_EM_SEPARATION_SLOPE, MOE_EM_SEPARATION_WINDOW);
    else if (!f->stats.converged)
        moe_fit_warn(f, "the best start did not converge in %zu iterations (tol %g)",
                     f->stats.iterations, opt->tol);
    if (opt->standard_errors) {
        moe_error e2;
        memset(&e2, 0, sizeof e2);
        int st = moe_infer_standard_errors(ds, m, f->expert_se, f->gate_se, f->sigma_se,
                                           &e2);
        if (st == MOE_ENOMEM) {
            status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (standard errors)");
            goto fail;
        }
        if (st != MOE_SUCCESS && f->stats.separated) {
            st = expert_se_given_gate(ds, m, f->expert_se, f->sigma_se);
            if (st == MOE_ENOMEM) {
                status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (standard errors)");
                goto fail;
            }
            if (st == MOE_SUCCESS)
                moe_fit_warn(f, "expert standard errors are conditional on the fitted gate "
                             "boundaries (the full information is singular because the gate "
                             "separates the regimes)");
            else
                moe_fit_warn(f, "standard errors not available: %s", e2.message);
        } else if (st != MOE_SUCCESS) {
            moe_fit_warn(f, "standard errors not available: %s", e2.message);
        }
        for (size_t t = 0; t < k * px; t++)
            if (!isfinite(f->expert_se[t]))
                f->expert_se[t] = NAN;
        for (size_t t = 0; t < (k - 1) * pz; t++)
            if (f->stats.separated || !isfinite(f->gate_se[t]))
                f->gate_se[t] = NAN;
    }
    moe_model_free(scale);
    gsl_rng_free(rng);
    moe_dataset_free(ds);
    *out = f;
    return MOE_SUCCESS;
fail:
    k_result_clear(&chosen);
    k_result_clear(&cur);
    moe_model_free(scale);
    if (rng)
        gsl_rng_free(rng);
    moe_dataset_free(ds);
    moe_fit_free(f);
    return status;
}

/* ---------------------------------------------------------------- accessors */

moe_fit_stats moe_fit_get_stats(const moe_fit *f)
{
    moe_fit_stats s;
    memset(&s, 0, sizeof s);
    return f ? f->stats : s;
}

const moe_model *moe_fit_model(const moe_fit *f) { return f ? f->model : NULL; }

void moe_fit_expert(const moe_fit *f, size_t i, double *coef, double *se, double *sigma,
                    double *prior, size_t *size)
{
    if (!f || !f->model || i >= f->model->k)
        return;
    size_t px = f->model->nx + 1;
    moe_model_expert(f->model, i, coef, sigma);
    if (se)
        memcpy(se, f->expert_se + i * px, px * sizeof *se);
    if (prior)
        *prior = f->prior[i];
    if (size)
        *size = f->size[i];
}

double moe_fit_sigma_se(const moe_fit *f, size_t i)
{
    if (!f || !f->model || i >= f->model->k)
        return NAN;
    return f->sigma_se[i];
}

void moe_fit_gate(const moe_fit *f, size_t i, double *coef, double *se)
{
    if (!f || !f->model || i + 1 >= f->model->k)
        return;
    size_t pz = f->model->nz + 1;
    if (coef)
        moe_model_gate(f->model, i, coef);
    if (se)
        memcpy(se, f->gate_se + i * pz, pz * sizeof *se);
}

size_t moe_fit_nselection(const moe_fit *f) { return f ? f->nselection : 0; }

moe_fit_stats moe_fit_selection(const moe_fit *f, size_t j)
{
    moe_fit_stats s;
    memset(&s, 0, sizeof s);
    return f && j < f->nselection ? f->selection[j] : s;
}

size_t moe_fit_ntraces(const moe_fit *f) { return f ? f->ntraces : 0; }

const double *moe_fit_trace(const moe_fit *f, size_t r, size_t *len)
{
    if (!f || r >= f->ntraces) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = f->trace_len[r];
    return f->traces[r];
}

size_t moe_fit_best_trace(const moe_fit *f) { return f ? f->best_trace : 0; }

size_t moe_fit_nwarnings(const moe_fit *f) { return f ? f->nwarnings : 0; }

const char *moe_fit_warning(const moe_fit *f, size_t i)
{
    return f && i < f->nwarnings ? f->warnings[i] : NULL;
}
