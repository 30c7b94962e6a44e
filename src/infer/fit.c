/* fit.c: moe_fit_run (validation, standardisation, the trainer's K selection, then shares
 * and standard errors of the chosen model), fit options and the moe_fit accessors.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * The model is fitted on the standardised scale (inputs, and the response when the family
 * scales it, centred and divided by their SDs); statistics are reported on the data's
 * scale: loglik_data = loglik_std - (sum of weights) log(y_scale). */
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
#include "experts/expert.h"
#include "gates/gate.h"
#include "infer/bootstrap.h"
#include "infer/fit.h"
#include "infer/infer.h"
#include "infer/lrtest.h"
#include "model/estep.h"
#include "train/em.h"
#include "train/select.h"
#include "train/spurious.h"

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
    o.restarts = 40;
    o.short_iter = 30;
    o.keep = 8;
    o.moves = 1;
    o.seed = 1;
    o.tol = 1e-8;
    o.max_iter = 1000;
    o.gate_ridge = 0;
    o.gate_steps = 0;
    o.search_rows = 0;
    o.accel = 0;
    o.min_prior = 0;
    o.var_floor = 1e-6;
    o.standard_errors = 1;
    o.gate_lrt = 1;
    o.progress = NULL;
    o.progress_data = NULL;
    o.family = NULL;
    o.tree = NULL;
    o.min_rows = MOE_SPURIOUS_MIN_ROWS;
    o.keep_spurious = 0;
    o.train = MOE_TRAIN_EM;
    o.loss = MOE_LOSS_NLL;
    o.optimizer = MOE_OPTIM_ADAM;
    o.lr = 0.05;
    o.momentum = 0.9;
    o.batch = 0;
    o.epochs = 2000;
    o.validation = 0;
    o.patience = 100;
    o.clip = 0;
    o.bootstrap = 0;
    o.bootstrap_search = 0;
    o.gate = NULL;
    o.top_k = 2;
    o.aux = MOE_AUX_SWITCH;
    o.aux_weight = 0.01;
    o.load_weight = 0.01;
    o.z_loss = 0;
    o.capacity = 0;
    o.noise = -1;
    return o;
}

int moe_fit_gd_only(const moe_fit_options *opt)
{
    const moe_expert_type *et;
    moe_expert_shape es;
    if (!opt)
        return 0;
    if (opt->gate && strcmp(opt->gate, "topk") == 0)
        return 1;
    return moe_expert_spec_parse(opt->family, &et, &es) == NULL && et->gd_only;
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
    if (opt->keep < 1)
        return "the number of starts continued to convergence (keep) must be at least 1";
    if (opt->search_rows != 0 && opt->search_rows < 100)
        return "the search's subsample (search_rows) must be 0 (auto), at least 100 rows, "
               "or MOE_SEARCH_ALL_ROWS";
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
    if (!(opt->min_rows >= 0) || !isfinite(opt->min_rows))
        return "min_rows must be a finite number >= 0";
    const moe_expert_type *et;
    moe_expert_shape es;
    const char *fam_why = moe_expert_spec_parse(opt->family, &et, &es);
    if (fam_why)
        return fam_why;
    if (et->gd_only && opt->train == MOE_TRAIN_EM) {
        static _Thread_local char why[120];
        snprintf(why, sizeof why, "%s experts are trained by gradient descent only: use "
                 "--train gd", et->name);
        return why;
    }
    if (opt->tree) {
        moe_gate_shape models[MOE_MODELS_MAX];
        size_t n;
        const char *why = moe_train_models(opt, models, &n);
        if (why)
            return why;
        if (opt->min_prior > 0)
            for (size_t j = 0; j < n; j++)
                if (models[j].depth)
                    return "min_prior cannot drop the leaves of a tree (its branching is "
                           "fixed): leave it 0 with a tree";
    }
    if (opt->train != MOE_TRAIN_EM && opt->train != MOE_TRAIN_GD)
        return "the trainer must be em or gd";
    if (opt->gate && strcmp(opt->gate, "softmax") != 0 && strcmp(opt->gate, "topk") != 0)
        return "the gate must be softmax or topk (a tree of gates: --tree)";
    if (opt->gate && strcmp(opt->gate, "topk") == 0) {
        if (opt->train != MOE_TRAIN_GD)
            return "the topk gate is trained by gradient descent only: use --train gd";
        if (opt->tree)
            return "the topk gate is flat: it cannot be combined with a tree";
        if (opt->top_k < 1 || opt->top_k > opt->k_min)
            return "top_k must be from 1 to the smallest K fitted";
        if (opt->aux != MOE_AUX_NONE && opt->aux != MOE_AUX_SWITCH &&
            opt->aux != MOE_AUX_SHAZEER)
            return "the auxiliary loss must be switch, shazeer or none";
        if (!(opt->aux_weight >= 0) || !isfinite(opt->aux_weight))
            return "the auxiliary loss weight must be a finite number >= 0";
        if (!(opt->load_weight >= 0) || !isfinite(opt->load_weight))
            return "the load loss weight must be a finite number >= 0";
        if (!(opt->z_loss >= 0) || !isfinite(opt->z_loss))
            return "the router z-loss weight must be a finite number >= 0";
        if (!(opt->capacity >= 0) || !isfinite(opt->capacity))
            return "the capacity factor must be a finite number >= 0 (0: no capacity)";
        if (opt->capacity > 0 && opt->capacity * (double)opt->top_k < 1)
            return "the capacity factor times top_k must be at least 1 (else an expert "
                   "takes fewer rows than the batch has per expert)";
        if (opt->noise < -1 || opt->noise > 1)
            return "noise must be 1 (on), 0 (off) or -1 (on for top_k >= 2)";
    } else if (opt->z_loss != 0 || opt->capacity != 0) {
        return "the router z-loss and the capacity belong to the topk gate (gate \"topk\")";
    }
    if (opt->train == MOE_TRAIN_GD) {
        if (!moe_loss_name(opt->loss))
            return "the loss must be nll, competitive or cooperative";
        if (opt->optimizer != MOE_OPTIM_ADAM && opt->optimizer != MOE_OPTIM_SGD)
            return "the optimizer must be adam or sgd";
        if (!(opt->lr > 0) || !isfinite(opt->lr))
            return "the learning rate (--lr) must be a finite number > 0";
        if (!(opt->momentum >= 0) || !(opt->momentum < 1))
            return "the momentum must be in [0, 1)";
        if (opt->epochs < 1)
            return "the number of epochs must be at least 1";
        if (!(opt->validation >= 0) || !(opt->validation <= 0.9))
            return "the validation share must be in [0, 0.9]";
        if (opt->validation > 0 && opt->patience < 1)
            return "the patience must be at least 1 epoch";
        if (!(opt->clip >= 0) || !isfinite(opt->clip))
            return "the gradient clip must be a finite number >= 0 (0: none)";
        if (opt->min_prior > 0)
            return "min_prior (dropping experts) is EM's; it cannot be used with gradient "
                   "descent";
        if (opt->bootstrap)
            return "the bootstrap refits by EM: it cannot be used with gradient descent";
    }
    if (opt->bootstrap && opt->tree)
        return "the bootstrap does not support trees of gates yet (a tree's leaves cannot be "
               "relabelled freely to match the refits): use a flat gate";
    return NULL;
}

/* The flat gate OPT asks for (the default: the first of the list, softmax). */
static const moe_gate_type *fit_gate(const moe_fit_options *opt)
{
    return opt->gate ? moe_gate_type_find(opt->gate) : moe_gate_types[0];
}

/* The largest df among the models OPT fits on data with NX and NZ inputs, into *DF, and the
 * model that needs it into *AT. */
static void largest_df(const moe_fit_options *opt, const moe_expert_type *et,
                       const moe_expert_shape *es, size_t nz, size_t *df, moe_gate_shape *at)
{
    moe_gate_shape models[MOE_MODELS_MAX];
    size_t n;
    *df = 0;
    memset(at, 0, sizeof *at);
    if (moe_train_models(opt, models, &n))
        return;
    for (size_t j = 0; j < n; j++) {
        models[j].nz = nz;
        const moe_gate_type *gt = models[j].depth ? &moe_gate_tree : fit_gate(opt);
        size_t v = moe_model_df_shaped(et, gt, es, &models[j]);
        if (v > *df) {
            *df = v;
            *at = models[j];
        }
    }
}

int moe_fit_check_rows(const moe_fit_options *opt, const moe_dataset *d, char *buf, size_t len)
{
    if (!opt || !d || moe_fit_options_check(opt))
        return MOE_EINVAL;
    const moe_expert_type *et;
    moe_expert_shape es;
    moe_expert_spec_parse(opt->family, &et, &es);  /* valid: moe_fit_options_check passed */
    es.nx = d->nx;
    size_t df;
    moe_gate_shape at;
    largest_df(opt, et, &es, d->nz, &df, &at);
    if (d->n >= df)
        return MOE_SUCCESS;
    char tr[32];
    if (buf && len) {
        if (moe_tree_format(&at, tr, sizeof tr))
            snprintf(buf, len, "the tree %s (%zu leaves) needs %zu free parameters but the data "
                     "have only %zu rows; use a smaller tree", tr, at.k, df, d->n);
        else
            snprintf(buf, len, "K = %zu experts need %zu free parameters but the data have only "
                     "%zu rows; use fewer experts", at.k, df, d->n);
    }
    return MOE_EINVAL;
}

void moe_fit_warn(moe_fit *f, const char *fmt, ...)
{
    if (!f)
        return;
    va_list ap;
    va_start(ap, fmt);
    moe_list_vappend(&f->warnings, &f->nwarnings, fmt, ap);
    va_end(ap);
}

void moe_fit_free(moe_fit *f)
{
    if (!f)
        return;
    if (f->block_se)
        for (size_t b = 0; f->model && b <= f->model->k; b++)
            free(f->block_se[b]);
    free(f->block_se);
    if (f->boot_se)
        for (size_t b = 0; f->model && b <= f->model->k; b++)
            free(f->boot_se[b]);
    free(f->boot_se);
    free(f->lrt);
    free(f->weights_name);
    moe_model_free(f->model);
    free(f->prior);
    free(f->size);
    free(f->routed);
    free(f->dropped);
    free(f->importance);
    free(f->rmse);
    free(f->r2);
    free(f->selection);
    moe_list_free(f->traces, f->ntraces);
    free(f->trace_len);
    free(f->vtrace);
    moe_list_free(f->warnings, f->nwarnings);
    free(f);
}

static int all_finite(const double *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return 0;
    return 1;
}

/* The CV^2 of the K values V: population variance over mean^2 (NaN for a mean of 0). */
static double cv2(const double *v, size_t k)
{
    double m = 0, s = 0;
    for (size_t i = 0; i < k; i++)
        m += v[i] / (double)k;
    for (size_t i = 0; i < k; i++)
        s += (v[i] - m) * (v[i] - m) / (double)k;
    return m > 0 ? s / (m * m) : NAN;
}

/* A top-k gate's routing on standardised DS into F (unweighted rows, as the auxiliary
 * losses count them): rows keeping each expert (g > 0), importance shares, both CV^2. */
static int topk_routing(const moe_dataset *ds, const moe_model *m, const moe_fit_options *opt,
                        moe_fit *f)
{
    size_t n = ds->n, k = m->k;
    double *g = malloc(n * k * sizeof *g), *lg = malloc(n * k * sizeof *lg);
    double imp[MOE_K_MAX] = {0}, load[MOE_K_MAX] = {0}, tot = 0;
    unsigned char *drop = opt->capacity > 0 ? malloc(n * k) : NULL;
    f->routed = calloc(k, sizeof *f->routed);
    f->dropped = calloc(k, sizeof *f->dropped);
    f->importance = malloc(k * sizeof *f->importance);
    if (!g || !lg || !f->routed || !f->dropped || !f->importance ||
        (opt->capacity > 0 && !drop)) {
        free(g);
        free(lg);
        free(drop);
        return MOE_ENOMEM;
    }
    moe_gate_shape gs = moe_model_gate_shape(m);
    if (drop) {  /* the capacity in batches of the fit's batch size, in row order */
        size_t batch = opt->batch > 0 && opt->batch < n ? opt->batch : n;
        for (size_t r0 = 0; r0 < n; r0 += batch) {
            size_t r1 = r0 + batch < n ? r0 + batch : n, dr[MOE_K_MAX];
            m->gate->capacity_rows(ds, &gs, m->gate_par, r0, r1, opt->capacity, drop, dr);
            for (size_t i = 0; i < k; i++)
                f->dropped[i] += dr[i];
        }
        free(drop);
    }
    m->gate->prob_rows(ds, &gs, m->gate_par, 0, n, lg, g);
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < k; i++) {
            imp[i] += g[r * k + i];
            tot += g[r * k + i];
            if (g[r * k + i] > 0)
                f->routed[i]++;
        }
    for (size_t i = 0; i < k; i++) {
        f->importance[i] = tot > 0 ? imp[i] / tot : NAN;
        load[i] = (double)f->routed[i];
    }
    f->cv2_importance = cv2(imp, k);
    f->cv2_load = cv2(load, k);
    free(g);
    free(lg);
    return MOE_SUCCESS;
}

int moe_fit_routing(const moe_fit *f, size_t i, size_t *rows, double *importance,
                    double *load, size_t *dropped)
{
    if (!f || !f->routed || i >= f->model->k)
        return MOE_EINVAL;
    if (rows)
        *rows = f->routed[i];
    if (dropped)
        *dropped = f->dropped[i];
    if (importance)
        *importance = f->importance[i];
    if (load) {  /* every row keeps top_k experts: the routed rows sum to top_k n */
        size_t tot = 0;
        for (size_t j = 0; j < f->model->k; j++)
            tot += f->routed[j];
        *load = tot ? (double)f->routed[i] / (double)tot : NAN;
    }
    return MOE_SUCCESS;
}

int moe_fit_routing_cv2(const moe_fit *f, double *importance, double *load)
{
    if (!f || !f->routed)
        return MOE_EINVAL;
    if (importance)
        *importance = f->cv2_importance;
    if (load)
        *load = f->cv2_load;
    return MOE_SUCCESS;
}

/* Prior (mean gate probability) and hard size of each expert, on standardised DS. */
static int expert_shares(const moe_dataset *ds, const moe_model *m, double *prior, size_t *size,
                         double *rmse, double *r2)
{
    size_t n = ds->n, k = m->k;
    double *g = malloc(n * k * sizeof *g), *h = malloc(n * k * sizeof *h);
    double *mu = malloc((n + 1) * sizeof *mu);
    if (!g || !h || !mu) {
        free(g);
        free(h);
        free(mu);
        return MOE_ENOMEM;
    }
    moe_estep(ds, m, g, h);
    double wsum = 0;
    for (size_t i = 0; i < k; i++) {
        prior[i] = 0;
        size[i] = 0;
    }
    for (size_t r = 0; r < n; r++) {
        size_t best = 0;
        double wr = ds->w ? ds->w[r] : 1;
        wsum += wr;
        for (size_t i = 0; i < k; i++) {
            prior[i] += ds->w ? wr * g[r * k + i] : g[r * k + i];
            if (h[r * k + i] > h[r * k + best])
                best = i;
        }
        size[best]++;
    }
    for (size_t i = 0; i < k; i++)
        prior[i] /= wsum;
    /* each expert's fit to the rows it explains, weighted by w h: RMSE on the data's scale
     * and R^2 = 1 - sum wh (y - mu)^2 / sum wh (y - mean_wh y)^2 */
    moe_expert_shape es = moe_model_expert_shape(m);
    for (size_t i = 0; i < k; i++) {
        m->expert->moments_rows(ds, &es, moe_model_expert_block_const(m, i), 0, n, mu, NULL);
        double sw = 0, sy = 0, sse = 0, sst = 0;
        for (size_t r = 0; r < n; r++) {
            double wh = (ds->w ? ds->w[r] : 1) * h[r * k + i];
            sw += wh;
            sy += wh * ds->y[r];
        }
        double ybar = sw > 0 ? sy / sw : 0;
        for (size_t r = 0; r < n; r++) {
            double wh = (ds->w ? ds->w[r] : 1) * h[r * k + i], e = ds->y[r] - mu[r];
            sse += wh * e * e;
            sst += wh * (ds->y[r] - ybar) * (ds->y[r] - ybar);
        }
        rmse[i] = sw > 0 ? m->y_scale * sqrt(sse / sw) : NAN;
        r2[i] = sst > 0 ? 1 - sse / sst : NAN;
    }
    free(g);
    free(h);
    free(mu);
    return MOE_SUCCESS;
}

/* When the gate separates the regimes the full information is singular, but the experts'
 * parameters are still identified given the gate: their SEs come from the expert block of
 * the observed information alone (the gate held at its fitted boundaries). BLOCK_SE[0..k-1]
 * get the experts' SEs; MOE_ESING (NaN left) when that block is singular. */
static int expert_se_given_gate(const moe_dataset *ds, const moe_model *m, double *const *block_se,
                                moe_error *err)
{
    size_t k = m->k, np = moe_model_nparams(m), ne = k * moe_model_expert_nparams(m);
    double *hess = malloc(np * np * sizeof *hess), *c = malloc((ne * ne + 1) * sizeof *c);
    int status = MOE_ENOMEM;
    if (!hess || !c)
        goto out;
    status = moe_infer_hessian(ds, m, hess, err);
    if (status != MOE_SUCCESS)
        goto out;
    for (size_t r = 0; r < ne; r++)
        for (size_t t = 0; t < ne; t++)
            c[r * ne + t] = -hess[r * np + t];
    status = moe_infer_invert_information(c, ne, err);
    for (size_t i = 0; status == MOE_SUCCESS && i < k; i++)
        if (moe_infer_block_se(m, i, c, ne, i * moe_model_expert_nparams(m), block_se[i]))
            status = MOE_ENOMEM;
out:
    free(hess);
    free(c);
    return status;
}

/* Checks every row's response against the family (a count for poisson, 0..trials for
 * logistic): MOE_EFORMAT naming the row's place in its file. */
static int check_responses(const moe_dataset *d, const moe_expert_type *et, moe_error *err)
{
    for (size_t r = 0; r < d->n; r++) {
        const char *why = et->check_response(d->y[r], d->trials ? d->trials[r] : 1);
        if (why)
            return moe_dataset_row_error(err, d, r, d->y_column,
                                         "response %.17g for the %s family: %s", d->y[r],
                                         et->name, why);
    }
    return MOE_SUCCESS;
}

int moe_fit_run(const moe_dataset *d, const moe_fit_options *opt, moe_fit **out,
                moe_error *err)
{
    moe_core_init();
    if (out)
        *out = NULL;
    if (!out)
        return moe_error_set(err, MOE_EINVAL, "fit: no place for the result");
    int kst = moe_kernels_init(err);
    if (kst)
        return kst;
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
    const moe_expert_type *et;
    moe_expert_shape es;
    moe_expert_spec_parse(opt->family, &et, &es);  /* valid: moe_fit_options_check passed */
    es.nx = nx;
    const moe_gate_type *gt = fit_gate(opt);
    int status = check_responses(d, et, err);
    if (status)
        return status;
    double wsum = (double)n;
    if (d->w) {
        wsum = 0;
        for (size_t r = 0; r < n; r++) {
            if (!(d->w[r] >= 0) || !isfinite(d->w[r]))
                return moe_error_set(err, MOE_EINVAL, "fit: weight of row %zu is not a "
                                     "finite number >= 0", r + 1);
            wsum += d->w[r];
        }
        if (!(wsum > 0))
            return moe_error_set(err, MOE_EINVAL, "fit: every weight is 0");
    }
    /* A range of K is cut to the Ks the rows allow (the default 1:5 on 20 rows fits what it
     * can and says which were skipped); a single K, or a range of which even the smallest is
     * too large, is an error. */
    moe_fit_options o2 = *opt;
    size_t kwant = opt->k_max, kfit = opt->k_max;
    if (opt->tree) {
        /* trees: each must fit the rows (moe_fit_check_rows says which does not) */
        char rows_msg[256];
        if (moe_fit_check_rows(opt, d, rows_msg, sizeof rows_msg))
            return moe_error_set(err, MOE_EINVAL, "fit: %s", rows_msg);
    } else {
        while (kfit >= opt->k_min && n < moe_model_df(et, gt, kfit, &es, nz))
            kfit--;
        if (kfit < opt->k_min)
            return moe_error_set(err, MOE_EINVAL, "fit: K = %zu experts need %zu free parameters "
                                 "but the data have only %zu rows; use fewer experts", opt->k_min,
                                 moe_model_df(et, gt, opt->k_min, &es, nz), n);
        o2.k_max = kfit;
        opt = &o2;
    }
    /* frequency weights stand for wsum observations: fewer than the parameters cannot be
     * fitted, whatever the rows (weights of 1e-300 would otherwise end as degenerate starts) */
    size_t dfmin = moe_model_df(et, gt, opt->k_min, &es, nz);
    if (d->w && wsum < (double)dfmin)
        return moe_error_set(err, MOE_EINVAL, "fit: the weights sum to %g, fewer observations "
                             "than the %zu free parameters of K = %zu (frequency weights: a "
                             "row of weight w counts as w rows)", wsum, dfmin, opt->k_min);
    moe_fit *f = calloc(1, sizeof *f);
    moe_model *scale = moe_model_alloc_typed(et, gt, 1, &es, nz);
    moe_dataset *ds = NULL;
    moe_train_output tr;
    memset(&tr, 0, sizeof tr);
    if (!f || !scale) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory");
        goto fail;
    }
    moe_model_scaling_from_data(scale, d);
    if (!(ds = moe_model_standardise(scale, d))) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (standardised data)");
        goto fail;
    }
    double ll_shift = wsum * log(scale->y_scale);
    if ((status = moe_train_select(ds, scale, opt, ll_shift, &tr, err)))
        goto fail;
    /* the trainer's result becomes the fit's */
    f->selection = tr.selection;
    f->nselection = tr.nselection;
    f->traces = tr.traces;
    f->trace_len = tr.trace_len;
    f->ntraces = tr.ntraces;
    f->best_trace = tr.best_trace;
    f->vtrace = tr.vtrace;
    f->vtrace_len = tr.vtrace_len;
    f->train = opt->train;
    f->loss = opt->loss;
    f->train_loss = opt->train == MOE_TRAIN_GD ? tr.loss : NAN;
    f->validation_loss = opt->train == MOE_TRAIN_GD && opt->validation > 0 ? tr.vloss : NAN;
    f->warnings = tr.warnings;
    f->nwarnings = tr.nwarnings;
    if (kfit < kwant) {
        char ks[48];
        if (kfit + 1 < kwant)
            snprintf(ks, sizeof ks, "K = %zu..%zu", kfit + 1, kwant);
        else
            snprintf(ks, sizeof ks, "K = %zu", kwant);
        moe_fit_warn(f, "%s skipped: K = %zu experts need %zu free parameters but the data "
                     "have only %zu rows", ks, kfit + 1, moe_model_df(et, gt, kfit + 1, &es, nz),
                     n);
    }
    f->stats = tr.stats;
    f->criterion = opt->criterion;
    moe_model *m = f->model = tr.model;
    memset(&tr, 0, sizeof tr);
    if (!m) {
        status = moe_error_set(err, MOE_ENUMERIC, "fit: no start of any K gave a usable fit "
                               "(every start degenerated)");
        goto fail;
    }
    /* the chosen model: standardised parameters with the data's scaling and names */
    moe_model_copy_scaling(m, scale);
    moe_model_ranges_from_data(m, d);
    f->weight_sum = wsum;
    if (d->w && !(f->weights_name = strdup(d->w_name ? d->w_name : "weights"))) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (result)");
        goto fail;
    }
    size_t k = m->k;
    f->prior = malloc(k * sizeof *f->prior);
    f->size = malloc(k * sizeof *f->size);
    f->rmse = malloc(k * sizeof *f->rmse);
    f->r2 = malloc(k * sizeof *f->r2);
    f->block_se = calloc(k + 1, sizeof *f->block_se);
    int nomem = !f->prior || !f->size || !f->rmse || !f->r2 || !f->block_se;
    for (size_t b = 0; !nomem && b <= k; b++) {
        size_t nc = moe_model_ncoef(m, b);
        if (!(f->block_se[b] = malloc((nc + 1) * sizeof **f->block_se)))
            nomem = 1;
        for (size_t c = 0; !nomem && c < nc; c++)
            f->block_se[b][c] = NAN;
    }
    if (nomem || moe_model_set_names(m, d) ||
        expert_shares(ds, m, f->prior, f->size, f->rmse, f->r2) ||
        (m->top_k && topk_routing(ds, m, opt, f))) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (result)");
        goto fail;
    }
    if (f->stats.separated)
        moe_fit_warn(f, "gate separates the regimes; coefficients are not identified, "
                     "boundaries are (EM stopped with the largest gate slope above %g on the "
                     "standardised scale and the log-likelihood still rising along the gate "
                     "direction); gate standard errors are not reported",
                     MOE_EM_SEPARATION_SLOPE);
    else if (!f->stats.converged && opt->train == MOE_TRAIN_EM)
        moe_fit_warn(f, "the best start did not converge in %zu iterations (tol %g)",
                     f->stats.iterations, opt->tol);
    int want_se = opt->standard_errors && !m->expert->opaque;  /* opaque: weights, no SEs */
    if (want_se && !m->gate->stat_add) {
        want_se = 0;
        moe_fit_warn(f, "standard errors not reported: the %s gate is not smooth in its "
                     "coefficients (KeepTopK), so it has no information matrix", m->gate->name);
    }
    if (want_se && opt->train == MOE_TRAIN_GD && opt->loss != MOE_LOSS_NLL) {
        want_se = 0;
        moe_fit_warn(f, "standard errors not reported: the %s loss is not the likelihood, so "
                     "the inverse information is not its estimator's covariance",
                     moe_loss_name(opt->loss));
    }
    if (want_se) {
        moe_error e2;
        memset(&e2, 0, sizeof e2);
        /* separated: the full information is singular in exact arithmetic, and whether its
         * Cholesky factorisation happens to succeed turns on rounding (one ulp of an exp, the
         * difference between kernel sets, flips it for mcycle), so the experts' SEs always come
         * from the expert block given the gate, the only ones that are well defined, and the
         * caveat says so every time */
        int st = f->stats.separated ? expert_se_given_gate(ds, m, f->block_se, &e2)
                                    : moe_infer_standard_errors(ds, m, f->block_se, &e2);
        if (st == MOE_ENOMEM) {
            status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (standard errors)");
            goto fail;
        }
        if (st == MOE_SUCCESS && f->stats.separated)
            moe_fit_warn(f, "expert standard errors are conditional on the fitted gate "
                         "boundaries (the full information is singular because the gate "
                         "separates the regimes)");
        else if (st != MOE_SUCCESS)
            moe_fit_warn(f, "standard errors not available: %s", e2.message);
        if (f->stats.separated)
            for (size_t c = 0; c < moe_model_ncoef(m, k); c++)
                f->block_se[k][c] = NAN;
    }
    if (opt->gate_lrt &&
        (status = moe_infer_gate_lrt(ds, scale, opt, k, f->stats.tree[0] ? f->stats.tree : NULL,
                                     ll_shift, f->stats.loglik, f, err)))
        goto fail;
    if (opt->bootstrap && (status = moe_infer_bootstrap(d, opt, f, err)))
        goto fail;
    /* the model carries what the summary shows, for its file (moe_model_write_summary) */
    if (moe_model_record_set(m, f->stats.loglik, f->stats.aic, f->stats.bic, f->stats.icl,
                             f->prior, f->size, f->block_se) ||
        moe_model_record_notes(m, f->stats.separated, f->warnings, f->nwarnings)) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (result)");
        goto fail;
    }
    moe_model_free(scale);
    moe_dataset_free(ds);
    *out = f;
    return MOE_SUCCESS;
fail:
    moe_train_output_clear(&tr);
    moe_model_free(scale);
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

void moe_fit_coefs(const moe_fit *f, size_t block, double *coef, double *se)
{
    if (!f || !f->model || block > f->model->k)
        return;
    if (coef)
        moe_model_coefs(f->model, block, coef);
    if (se)
        memcpy(se, f->block_se[block], moe_model_ncoef(f->model, block) * sizeof *se);
}

/* The index of expert extra NAME among M's coefficients, or SIZE_MAX. */
static size_t extra_index(const moe_model *m, const char *name)
{
    for (size_t j = 0; m->expert->extra_names[j]; j++)
        if (strcmp(m->expert->extra_names[j], name) == 0)
            return m->nx + 1 + j;
    return (size_t)-1;
}

void moe_fit_expert(const moe_fit *f, size_t i, double *coef, double *se, double *sigma,
                    double *prior, size_t *size)
{
    if (!f || !f->model || i >= f->model->k)
        return;
    size_t px = f->model->nx + 1;
    moe_model_expert(f->model, i, coef, sigma);
    if (se)
        memcpy(se, f->block_se[i], px * sizeof *se);
    if (prior)
        *prior = f->prior[i];
    if (size)
        *size = f->size[i];
}

double moe_fit_sigma_se(const moe_fit *f, size_t i)
{
    if (!f || !f->model || i >= f->model->k)
        return NAN;
    size_t j = extra_index(f->model, "sigma");
    return j == (size_t)-1 ? NAN : f->block_se[i][j];
}

void moe_fit_gate(const moe_fit *f, size_t i, double *coef, double *se)
{
    if (!f || !f->model || i + 1 >= f->model->k)
        return;
    size_t pz = f->model->nz + 1;
    if (coef)
        moe_model_gate(f->model, i, coef);
    if (se)
        memcpy(se, f->block_se[f->model->k] + i * pz, pz * sizeof *se);
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

moe_trainer moe_fit_trainer(const moe_fit *f) { return f ? f->train : MOE_TRAIN_EM; }
moe_loss moe_fit_loss(const moe_fit *f) { return f ? f->loss : MOE_LOSS_NLL; }
double moe_fit_train_loss(const moe_fit *f) { return f ? f->train_loss : NAN; }
double moe_fit_validation_loss(const moe_fit *f) { return f ? f->validation_loss : NAN; }

const double *moe_fit_validation_trace(const moe_fit *f, size_t *len)
{
    if (len)
        *len = f && f->vtrace ? f->vtrace_len : 0;
    return f ? f->vtrace : NULL;
}

const char *moe_loss_name(moe_loss loss)
{
    switch (loss) {
    case MOE_LOSS_NLL: return "nll";
    case MOE_LOSS_COMPETITIVE: return "competitive";
    case MOE_LOSS_COOPERATIVE: return "cooperative";
    }
    return NULL;
}

size_t moe_fit_nwarnings(const moe_fit *f) { return f ? f->nwarnings : 0; }

const char *moe_fit_warning(const moe_fit *f, size_t i)
{
    return f && i < f->nwarnings ? f->warnings[i] : NULL;
}
