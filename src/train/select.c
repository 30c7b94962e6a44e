/* select.c: fitting each K of a range from many starts and choosing K by the criterion
 * (moe_train_select): the restarts, the redraws of degenerate starts, the per-K statistics
 * (log-likelihood, df, AIC, BIC, ICL) and the warnings that describe them.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Every start of every K draws from its own GSL random stream seeded from (seed, K, start),
 * and the EM passes are thread-count independent, so the same seed gives the same fit bit
 * for bit whatever OMP_NUM_THREADS is. With observation weights, n in BIC is the sum of the
 * weights (frequency weights: the number of rows they stand for). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "gates/gate.h"
#include "model/estep.h"
#include "train/em.h"
#include "train/gd.h"
#include "train/search.h"
#include "train/select.h"
#include "train/spurious.h"

void moe_train_warn(moe_train_output *o, const char *fmt, ...)
{
    if (!o)
        return;
    va_list ap;
    va_start(ap, fmt);
    moe_list_vappend(&o->warnings, &o->nwarnings, fmt, ap);
    va_end(ap);
}

void moe_train_output_clear(moe_train_output *o)
{
    if (!o)
        return;
    moe_model_free(o->model);
    free(o->selection);
    moe_list_free(o->traces, o->ntraces);
    free(o->trace_len);
    free(o->vtrace);
    moe_list_free(o->warnings, o->nwarnings);
    memset(o, 0, sizeof *o);
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

static double criterion_value(const moe_fit_stats *s, moe_criterion c)
{
    return c == MOE_CRIT_AIC ? s->aic : c == MOE_CRIT_ICL ? s->icl : s->bic;
}

/* What the fits of one K leave behind. */
typedef struct k_result {
    moe_model *model;     /* best start, standardised parameters (NULL: none usable) */
    moe_fit_stats stats;
    double **traces;      /* restarts traces, data scale */
    size_t *trace_len;
    size_t ntraces, best_trace;
    char **warnings;      /* what describes this K's fit; only the chosen K's are reported */
    size_t nwarnings;
    double *vtrace;       /* GD: the kept start's validation-loss trace, or NULL */
    size_t vtrace_len;
    double loss, vloss;   /* GD: the kept start's training and validation loss per row */
} k_result;

static void k_result_clear(k_result *r)
{
    moe_model_free(r->model);
    moe_list_free(r->traces, r->ntraces);
    free(r->trace_len);
    moe_list_free(r->warnings, r->nwarnings);
    free(r->vtrace);
    memset(r, 0, sizeof *r);
}

/* GD's per-epoch report to the fit's progress callback. */
typedef struct gd_progress {
    const moe_fit_options *opt;
    size_t k, restart;
} gd_progress;

static void gd_report(size_t epoch, double loss, void *data)
{
    const gd_progress *g = data;
    moe_progress p = {g->k, g->restart, g->opt->restarts, epoch, NAN, loss, 0};
    g->opt->progress(&p, g->opt->progress_data);
}

/* The GD parameters of the fit options. */
static moe_gd_params gd_params(const moe_fit_options *opt)
{
    int topk = opt->gate && strcmp(opt->gate, "topk") == 0;
    moe_gd_params p = {opt->loss, opt->optimizer, opt->lr, opt->momentum, opt->batch,
                       opt->epochs, opt->patience, opt->clip, opt->var_floor,
                       topk ? opt->aux : MOE_AUX_NONE, opt->aux_weight, opt->load_weight,
                       topk ? opt->z_loss : 0, topk ? opt->capacity : 0,
                       topk && (opt->noise == 1 || (opt->noise == -1 && opt->top_k >= 2))};
    return p;
}

static void k_warn(k_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void k_warn(k_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    moe_list_vappend(&r->warnings, &r->nwarnings, fmt, ap);
    va_end(ap);
}

/* The start a tree gets from the best flat fit FLAT of its root's K = B1: every flat expert
 * copied into all the leaves below its root branch, the root's gate the flat gate, the lower
 * gates drawn from RNG (any lower gates give the flat fit's likelihood, since the leaves
 * below a node are equal; random ones let EM pull them apart). Into START, which has the
 * tree's shape. */
static void split_start(const moe_model *flat, gsl_rng *rng, moe_model *start)
{
    size_t kf = flat->k, kt = start->k, ne = moe_model_expert_nparams(flat);
    size_t nf = moe_model_nparams(flat), nt = moe_model_nparams(start), pz = flat->nz + 1;
    double *tf = malloc(nf * sizeof *tf), *tt = malloc(nt * sizeof *tt);
    if (!tf || !tt) {
        free(tf);
        free(tt);
        return;
    }
    moe_model_get_theta(flat, tf);
    for (size_t i = 0; i < kt; i++)
        memcpy(tt + i * ne, tf + (i / (kt / kf)) * ne, ne * sizeof *tt);
    /* the gate: the root's rows first (src/model/tree.c), the flat softmax's rows */
    size_t root = (kf - 1) * pz;
    memcpy(tt + kt * ne, tf + kf * ne, root * sizeof *tt);
    for (size_t j = root; j < nt - kt * ne; j++)
        tt[kt * ne + j] = j % pz ? gsl_ran_gaussian(rng, 1) : 0;
    moe_model_set_theta(start, tt);
    free(tf);
    free(tt);
}

/* The search report of gradient descent's STARTS starts (FAILED of them unusable) from
 * each one's final loss per row LOSS (NaN: failed): those within MOE_SEARCH_SAME_ABS / 1000
 * + MOE_SEARCH_SAME_REL of the smallest reached it (per row, the same tolerance per row
 * as EM's for a thousand rows), the others' range in others_lo..others_hi. */
static void gd_search_report(const double *loss, size_t starts, size_t failed,
                             moe_search_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->starts = starts;
    rep->failed = failed;
    rep->others_lo = rep->others_hi = NAN;
    double best = INFINITY;
    for (size_t r = 0; r < starts; r++)
        if (loss[r] < best)
            best = loss[r];
    if (!isfinite(best))
        return;
    rep->same_tol = MOE_SEARCH_SAME_ABS / 1000 + MOE_SEARCH_SAME_REL * fabs(best);
    for (size_t r = 0; r < starts; r++) {
        if (!(loss[r] == loss[r]))
            continue;
        rep->finished++;
        if (loss[r] - best <= rep->same_tol) {
            rep->reached++;
        } else {
            if (!(loss[r] >= rep->others_lo))
                rep->others_lo = loss[r];
            if (!(loss[r] <= rep->others_hi))
                rep->others_hi = loss[r];
        }
    }
}

/* Runs every start for the model of shape SHAPE (K experts; a tree gate when it has a
 * tree), and for a tree one more from SPLIT_FROM when given (the best flat fit of its
 * root's branching, see split_start); returns MOE_SUCCESS (R->model may still be NULL when
 * no start was usable), MOE_ENOMEM or MOE_ENUMERIC (ERR says why). */
static int fit_one_k(const moe_dataset *ds, const moe_dataset *dtrain, const moe_dataset *dvalid,
                     const moe_model *types, const moe_gate_shape *shape,
                     const moe_model *split_from, const moe_fit_options *opt, double ll_shift,
                     gsl_rng *rng, moe_train_output *f, k_result *res, moe_error *err)
{
    int gd = opt->train == MOE_TRAIN_GD;
    moe_em_params par = {opt->tol, opt->max_iter, opt->gate_ridge, opt->var_floor,
                         opt->min_prior, types->expert, types->gate, 0, {0},
                         types->hidden, types->activation,
                         types->gate->aux_rows ? opt->top_k : 0, opt->comm, opt->gate_steps,
                         moe_em_accel(opt->accel, ds->n)};
    size_t n = ds->n, k = shape->k;
    char lab[48];  /* what the warnings call this model: "K = 3" or "tree 2x2" */
    if (!moe_tree_format(shape, lab + 5, sizeof lab - 5))
        snprintf(lab, sizeof lab, "K = %zu", k);
    else
        memcpy(lab, "tree ", 5);
    if (shape->depth) {
        par.gate = &moe_gate_tree;
        par.tree_depth = shape->depth;
        memcpy(par.tree, shape->branch, sizeof par.tree);
    }
    memset(res, 0, sizeof *res);
    double *gd_loss = NULL;  /* GD: each start's final loss per row (below) */
    moe_em_work *w = moe_em_alloc(dtrain, k, &par);
    size_t starts = opt->restarts + (split_from != NULL);
    moe_model *split = split_from && w ? moe_model_copy(w->m) : NULL;
    moe_gd_params gp = gd_params(opt);
    moe_gd_work *gw = NULL;
    double *hfull = malloc(n * k * sizeof *hfull);
    if (gd && w)
        gw = moe_gd_alloc(dtrain, dvalid, w->m, &gp);
    res->traces = calloc(starts, sizeof *res->traces);
    res->trace_len = calloc(starts, sizeof *res->trace_len);
    if (!w || (gd && !gw) || !hfull || !res->traces || !res->trace_len || (split_from && !split)) {
        moe_model_free(split);
        moe_gd_free(gw);
        free(hfull);
        moe_em_free(w);
        return moe_error_set(err, MOE_ENOMEM, "fit: out of memory for K = %zu (%zu rows)", k,
                             n);
    }
    res->ntraces = starts;
    double best = -INFINITY;
    /* Warnings describe the fit that is kept: the ridge counts are the best start's; what
     * happened to the other starts is counted in one line, with the first message */
    size_t ridge_e = 0, ridge_g = 0, redraws = 0, failed = 0, redrawn_starts = 0;
    char first_redraw[300] = "";
    int status = MOE_SUCCESS;
    if (!gd) {  /* EM: the global search (src/train/search.c) */
        free(res->traces);
        free(res->trace_len);
        res->traces = NULL;
        res->trace_len = NULL;
        res->ntraces = 0;
        moe_search_result sr;
        moe_search_extra extra = {split_from, split, split_start, lab};
        if ((status = moe_train_search(w, opt, ll_shift, rng, stream_seed, &extra, f, &sr, err)))
            goto done;
        res->model = sr.model;
        res->traces = sr.traces;
        res->trace_len = sr.trace_len;
        res->ntraces = sr.ntraces;
        res->best_trace = sr.best_trace;
        res->stats.iterations = sr.iterations;
        res->stats.converged = sr.converged;
        res->stats.separated = sr.separated;
        res->stats.search = sr.report;
        ridge_e = sr.ridge_experts;
        ridge_g = sr.ridge_gate;
        redraws = sr.redraws;
        redrawn_starts = sr.redrawn_starts;
        failed = sr.report.failed;
        starts = sr.report.starts;
        memcpy(first_redraw, sr.first_redraw, sizeof first_redraw);
        if (sr.dropped[0])
            k_warn(res, "%s: %s", lab, sr.dropped);
    }
    /* GD: each finished start's loss per row (validation loss when rows are held out), for
     * the search report; NaN for a start that failed */
    if (gd && !(gd_loss = malloc(starts * sizeof *gd_loss))) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (starts)");
        goto done;
    }
    for (size_t r = 0; gd && r < starts; r++) {
        gd_loss[r] = NAN;
        gsl_rng_set(rng, stream_seed(opt->seed, k, r));
        int use_kmeans = opt->init == MOE_INIT_KMEANS || (opt->init == MOE_INIT_MIXED && r == 0);
        int st = MOE_SUCCESS;
        if (r == opt->restarts)
            split_start(split_from, rng, split);
        for (size_t attempt = 0; attempt <= MAX_REDRAWS; attempt++) {
            if (attempt == 0 && r == opt->restarts)
                st = moe_em_init_model(w, split);
            else
                st = moe_em_init(w, attempt == 0 ? use_kmeans : 0, rng);
            if (st == MOE_ENOMEM) {
                status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (k-means)");
                goto done;
            }
            if (st == MOE_SUCCESS) {
                /* GD starts where EM's first M-step from the same responsibilities lands */
                st = moe_em_iterate(w);
                if (st == MOE_SUCCESS) {
                    gd_progress gpr = {opt, k, r};
                    st = moe_gd_run(gw, w->m, rng, opt->progress ? gd_report : NULL, &gpr);
                    if (st == MOE_ENUMERIC) {  /* diverged: this start is abandoned */
                        moe_train_warn(f, "%s, start %zu: %s", lab, r + 1, gw->message);
                        break;
                    }
                }
            }
            if (st != MOE_ESING)
                break;
            if (redraws++ == 0)
                snprintf(first_redraw, sizeof first_redraw, "start %zu: %s", r + 1,
                         w->message);
            if (attempt == 0)
                redrawn_starts++;
        }
        if (st != MOE_SUCCESS) {
            failed++;
            continue;
        }
        char dropped[400] = "";
        if (w->dropped)
            snprintf(dropped, sizeof dropped, "%zu expert%s dropped by min-prior %g (last: %s); "
                     "refitted with %zu experts", w->dropped, w->dropped > 1 ? "s" : "",
                     opt->min_prior, w->message, w->k);
        size_t len = gw->epochs_done;
        double *tr = malloc((len + 1) * sizeof *tr);
        if (!tr) {
            status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (traces)");
            goto done;
        }
        for (size_t i = 0; i < len; i++)
            tr[i] = gw->trace[i];
        res->traces[r] = tr;
        res->trace_len[r] = len;
        /* GD keeps the start of the smallest loss (validation loss when rows are held out) */
        double score = dvalid ? -gw->vloss : -gw->loss;
        gd_loss[r] = -score;
        if (score > best) {
            moe_model *c = moe_model_copy(w->m);
            if (!c) {
                status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (model copy)");
                goto done;
            }
            moe_model_free(res->model);
            res->model = c;
            best = score;
            res->best_trace = r;
            res->stats.iterations = gw->epochs_done;
            res->stats.converged = 1;
            res->stats.separated = 0;
            res->loss = gw->loss;
            res->vloss = gw->vloss;
            free(res->vtrace);
            res->vtrace = NULL;
            res->vtrace_len = 0;
            if (dvalid) {
                if (!(res->vtrace = malloc(len * sizeof *res->vtrace + 1))) {
                    status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (traces)");
                    goto done;
                }
                memcpy(res->vtrace, gw->vtrace, len * sizeof *res->vtrace);
                res->vtrace_len = len;
            }
            ridge_e = w->ridge_experts;
            ridge_g = w->ridge_gate;
            moe_list_free(res->warnings, res->nwarnings);
            res->warnings = NULL;
            res->nwarnings = 0;
            if (dropped[0])
                k_warn(res, "%s: %s", lab, dropped);
        }
    }
    if (gd)
        gd_search_report(gd_loss, starts, failed, &res->stats.search);
    if (ridge_e)
        k_warn(res, "%s: %zu of the fit's expert M-steps were singular and needed a small "
               "ridge (collinear inputs or too few rows in a regime)", lab, ridge_e);
    if (ridge_g)
        k_warn(res, "%s: %zu of the fit's gate Newton steps needed a small ridge (nearly "
               "singular gate Hessian)", lab, ridge_g);
    if (redraws)
        k_warn(res, "%s: %zu of %zu starts met a degenerate expert (first: %s) and were "
               "redrawn from random responsibilities %zu time%s in all; %zu abandoned after %d "
               "redraws", lab, redrawn_starts, starts, first_redraw, redraws,
               redraws == 1 ? "" : "s", failed, MAX_REDRAWS);
    if (res->model) {
        /* statistics of the best start: its E-step again, for the entropy (ICL) */
        moe_model *bm = res->model;
        moe_train_order(ds, bm, hfull);
        size_t kk = bm->k;
        double ll = moe_estep(ds, bm, NULL, hfull), ent = 0, nw = (double)n;
        for (size_t r = 0; r < n; r++) {
            double er = 0;
            for (size_t i = 0; i < kk; i++) {
                double h = hfull[r * kk + i];
                if (h > 0)
                    er -= h * log(h);
            }
            ent += ds->w ? ds->w[r] * er : er;
        }
        if (ds->w) {
            nw = 0;
            for (size_t r = 0; r < n; r++)
                nw += ds->w[r];
        }
        moe_fit_stats *s = &res->stats;
        s->k = kk;
        s->n = n;
        moe_gate_shape bs = moe_model_gate_shape(bm);
        moe_expert_shape bes = moe_model_expert_shape(bm);
        s->df = moe_model_df_shaped(bm->expert, bm->gate, &bes, &bs);
        moe_tree_format(&bs, s->tree, sizeof s->tree);
        s->loglik = ll - ll_shift;
        s->aic = -2 * s->loglik + 2 * (double)s->df;
        s->bic = -2 * s->loglik + (double)s->df * log(nw);
        s->icl = s->bic + 2 * ent;
        char why[600];
        s->spurious = moe_train_spurious(ds, bm, hfull, opt->var_floor, opt->min_rows,
                                         types->y_scale, why, sizeof why);
        if (s->spurious)
            k_warn(res, "K = %zu: %zu spurious expert%s (%s): %s", kk, s->spurious,
                   s->spurious == 1 ? "" : "s", why,
                   "such an expert fits ties or a handful of rows rather than a regime, and "
                   "its likelihood flatters the criterion");
    }
done:
    free(gd_loss);
    moe_model_free(split);
    moe_em_free(w);
    moe_gd_free(gw);
    free(hfull);
    if (status != MOE_SUCCESS)
        k_result_clear(res);
    return status;
}

int moe_train_select(const moe_dataset *ds, const moe_model *types, const moe_fit_options *opt,
                     double ll_shift, moe_train_output *out, moe_error *err)
{
    memset(out, 0, sizeof *out);
    moe_gate_shape models[MOE_MODELS_MAX];
    size_t nk;
    if (moe_train_models(opt, models, &nk))
        return moe_error_set(err, MOE_EINVAL, "fit: %s", moe_train_models(opt, models, &nk));
    moe_model *flat[MOE_K_MAX + 1];
    memset(flat, 0, sizeof flat);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    /* CHOSEN: the best K by the criterion among the fits without spurious experts (or
     * among all with keep_spurious); SPUR: the best of those with spurious experts, kept in
     * case no K is clean; BEST_K: the K that the criterion alone would pick */
    k_result chosen, spur, cur;
    memset(&chosen, 0, sizeof chosen);
    memset(&spur, 0, sizeof spur);
    memset(&cur, 0, sizeof cur);
    size_t best_k = 0;
    double best_crit = INFINITY;
    moe_dataset *dtrain = NULL, *dvalid = NULL;
    int status = MOE_SUCCESS;
    if (!rng || !(out->selection = calloc(nk, sizeof *out->selection))) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory");
        goto fail;
    }
    if (opt->train == MOE_TRAIN_GD && opt->validation > 0) {
        status = moe_gd_split(ds, opt->validation, opt->seed, &dtrain, &dvalid);
        if (status == MOE_EINVAL) {
            status = moe_error_set(err, MOE_EINVAL, "fit: --validation %g of %zu rows leaves "
                                   "no rows to hold out or none to train on", opt->validation,
                                   ds->n);
            goto fail;
        }
        if (status) {
            status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (validation split)");
            goto fail;
        }
    }
    const moe_dataset *dt = dtrain ? dtrain : ds;
    /* the best flat fit of each K, for the trees whose root has K branches: a tree's extra
     * start, so that a tree is never below the flat model it contains (fitted here when the
     * list does not have it; its warnings are then not the user's business) */
    for (size_t j = 0; j < nk; j++) {
        size_t k = models[j].k, b1 = models[j].branch[0];
        if (models[j].depth >= 2 && !flat[b1]) {
            moe_gate_shape fs;
            moe_train_output scratch;
            memset(&fs, 0, sizeof fs);
            memset(&scratch, 0, sizeof scratch);
            fs.k = b1;
            status = fit_one_k(ds, dt, dvalid, types, &fs, NULL, opt, ll_shift, rng, &scratch,
                               &cur, err);
            moe_train_output_clear(&scratch);
            if (status)
                goto fail;
            flat[b1] = cur.model;
            cur.model = NULL;
            k_result_clear(&cur);
        }
        if ((status = fit_one_k(ds, dt, dvalid, types, &models[j],
                                models[j].depth >= 2 ? flat[b1] : NULL, opt, ll_shift, rng,
                                out, &cur, err)))
            goto fail;
        if (!models[j].depth && !flat[k] && cur.model && !(flat[k] = moe_model_copy(cur.model))) {
            status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (model copy)");
            goto fail;
        }
        if (!cur.model) {
            char tr[32];
            if (moe_tree_format(&models[j], tr, sizeof tr))
                moe_train_warn(out, "tree %s: no start gave a usable fit; left out of the "
                               "selection", tr);
            else
                moe_train_warn(out, "K = %zu: no start gave a usable fit; K left out of the "
                               "selection", k);
            k_result_clear(&cur);
            continue;
        }
        out->selection[out->nselection++] = cur.stats;
        double cv = criterion_value(&cur.stats, opt->criterion);
        if (cv < best_crit || best_k == 0) {
            best_crit = cv;
            best_k = cur.stats.k;
        }
        k_result *slot = cur.stats.spurious && !opt->keep_spurious ? &spur : &chosen;
        if (!slot->model || cv < criterion_value(&slot->stats, opt->criterion)) {
            k_result_clear(slot);
            *slot = cur;
        } else {
            k_result_clear(&cur);
        }
        memset(&cur, 0, sizeof cur);
    }
    if (!chosen.model) {
        chosen = spur;
        memset(&spur, 0, sizeof spur);
        if (chosen.model && out->nselection > 1)
            moe_train_warn(out, "every K fitted has spurious experts; K = %zu is the best by "
                           "the criterion", chosen.stats.k);
    } else if (best_k != chosen.stats.k) {
        moe_train_warn(out, "K = %zu has the best criterion but spurious experts; K = %zu is "
                       "the best K without them and is the one reported (see the selection "
                       "table; moefit --keep-spurious picks by the criterion alone)", best_k,
                       chosen.stats.k);
        for (size_t j = 0; j < spur.nwarnings; j++)
            if (strstr(spur.warnings[j], "spurious expert"))
                moe_train_warn(out, "%s", spur.warnings[j]);
    }
    k_result_clear(&spur);
    out->model = chosen.model;
    out->stats = chosen.stats;
    out->traces = chosen.traces;
    out->trace_len = chosen.trace_len;
    out->ntraces = chosen.ntraces;
    out->best_trace = chosen.best_trace;
    /* the chosen K's warnings after the selection's own (Ks left out) */
    for (size_t j = 0; j < chosen.nwarnings; j++)
        moe_train_warn(out, "%s", chosen.warnings[j]);
    moe_list_free(chosen.warnings, chosen.nwarnings);
    out->vtrace = chosen.vtrace;
    out->vtrace_len = chosen.vtrace_len;
    out->loss = chosen.loss;
    out->vloss = chosen.vloss;
    for (size_t k = 0; k <= MOE_K_MAX; k++)
        moe_model_free(flat[k]);
    moe_dataset_free(dtrain);
    moe_dataset_free(dvalid);
    gsl_rng_free(rng);
    size_t dv = out->nwarnings;  /* the last divergence, if any */
    while (dv > 0 && !strstr(out->warnings[dv - 1], "diverged"))
        dv--;
    if (!out->model && opt->train == MOE_TRAIN_GD && dv > 0) {
        status = moe_error_set(err, MOE_ENUMERIC, "fit: no start gave a usable fit (last: %s)",
                               out->warnings[dv - 1]);
        moe_train_output_clear(out);
        return status;
    }
    return MOE_SUCCESS;
fail:
    moe_dataset_free(dtrain);
    moe_dataset_free(dvalid);
    for (size_t k = 0; k <= MOE_K_MAX; k++)
        moe_model_free(flat[k]);
    k_result_clear(&chosen);
    k_result_clear(&spur);
    k_result_clear(&cur);
    if (rng)
        gsl_rng_free(rng);
    moe_train_output_clear(out);
    return status;
}
