/* bootstrap.c: parametric bootstrap standard errors of a fit (moe_infer_bootstrap, `moefit
 * --bootstrap B`, issue 13).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Replicate b: new responses drawn from the chosen model at the observed inputs (the rows'
 * inputs, offset, trials and weights held fixed; moe_simulate_at, the same draw as `moefit
 * simulate --model M --data D`) from a Mersenne Twister seeded by (seed, b); the same K
 * refitted on the fit's standardised scale with the fit's EM settings, either by EM started
 * from the fitted model (the default: the spread of the estimator around the maximum the fit
 * found, cheap, and the labels follow the start) or by the fit's global search plus one start
 * from the fitted model (bootstrap_search: honest about multimodality, a replicate may move to
 * another maximum, at restarts times the cost). The refit's experts are then matched to the
 * fitted ones (moe_infer_boot_match) and every reported coefficient (moe_model_coefs, data
 * scale) recorded. The bootstrap SE is the standard deviation over the used refits.
 *
 * Failures are counted, never dropped silently: a refit whose expert degenerates or that fails
 * numerically is left out and counted as failed; one that stops at max_iter is used and counted;
 * one whose gate separates the regimes (infinite gate coefficients) gives its experts but not
 * its gate. Replicates run in parallel over OpenMP threads, each on its own data, stream and
 * workspace (nested row loops then run on one thread); the results are stored by b and
 * combined in the order of b afterwards, so the SEs are bit-identical for any number of
 * threads. Each replicate allocates its data and EM workspace once, before its iterations.
 * With observation weights each row's new response is drawn once and keeps the row's weight
 * (a row of weight w is w identical copies, not w independent draws: conservative, and said in
 * a warning). */
#include <config.h>

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "experts/expert.h"
#include "gates/gate.h"
#include "infer/bootstrap.h"
#include "infer/fit.h"
#include "train/em.h"
#include "train/search.h"
#include "train/select.h"

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

unsigned long moe_infer_boot_seed(unsigned long seed, size_t b)
{
    uint64_t s = mix64(mix64((uint64_t)seed ^ 0x626f6f74ULL) ^ (uint64_t)b);
    return (unsigned long)(s & 0xffffffffUL) | 1UL;  /* nonzero, 32 bits for gsl */
}

/* The streams of the search's starts within replicate SEED (bootstrap_search). */
static unsigned long search_seed(unsigned long seed, size_t k, size_t start)
{
    uint64_t s = mix64(mix64(mix64((uint64_t)seed) ^ (uint64_t)k) ^ (uint64_t)start);
    return (unsigned long)(s & 0xffffffffUL) | 1UL;
}

/* Depth-first search over the permutations of K with the partial cost as bound; ties keep
 * the first found, so the identity wins a tie. */
static void brute(const double *cost, size_t k, size_t i, size_t *cur, unsigned char *taken,
                  double acc, double *best, size_t *perm)
{
    if (acc >= *best)
        return;
    if (i == k) {
        *best = acc;
        memcpy(perm, cur, k * sizeof *perm);
        return;
    }
    for (size_t j = 0; j < k; j++) {
        if (taken[j])
            continue;
        taken[j] = 1;
        cur[i] = j;
        brute(cost, k, i + 1, cur, taken, acc + cost[i * k + j], best, perm);
        taken[j] = 0;
    }
}

int moe_infer_boot_match(const moe_model *ref, const moe_model *m, size_t *perm, double *work)
{
    size_t k = ref->k, ne = moe_model_expert_nparams(ref);
    double *tr = work, *tm = work + k * ne, *cost = work + 2 * k * ne;
    moe_expert_shape rs = moe_model_expert_shape(ref), ms = moe_model_expert_shape(m);
    for (size_t i = 0; i < k; i++) {
        perm[i] = i;
        ref->expert->get_theta(&rs, moe_model_expert_block_const(ref, i), tr + i * ne);
        m->expert->get_theta(&ms, moe_model_expert_block_const(m, i), tm + i * ne);
    }
    int finite = 1;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            double s = 0;
            for (size_t c = 0; c < ne; c++) {
                double dlt = tr[i * ne + c] - tm[j * ne + c];
                s += dlt * dlt;
            }
            cost[i * k + j] = s;
            finite &= isfinite(s);
        }
    if (!finite || k < 2)
        return 0;
    if (k <= MOE_BOOT_BRUTE_K) {
        size_t cur[MOE_BOOT_BRUTE_K];
        unsigned char taken[MOE_BOOT_BRUTE_K] = {0};
        double best = INFINITY;
        brute(cost, k, 0, cur, taken, 0, &best, perm);
    } else {
        /* greedy: the closest remaining (reference, refit) pair first */
        unsigned char ri[MOE_K_MAX] = {0}, mj[MOE_K_MAX] = {0};
        for (size_t step = 0; step < k; step++) {
            size_t bi = 0, bj = 0;
            double bc = INFINITY;
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; !ri[i] && j < k; j++)
                    if (!mj[j] && cost[i * k + j] < bc) {
                        bc = cost[i * k + j];
                        bi = i;
                        bj = j;
                    }
            ri[bi] = mj[bj] = 1;
            perm[bi] = bj;
        }
    }
    for (size_t i = 0; i < k; i++)
        if (perm[i] != i)
            return 1;
    return 0;
}

int moe_infer_boot_data(const moe_dataset *d, const moe_model *fit, unsigned long seed, size_t b,
                        moe_dataset **out, moe_error *err)
{
    moe_dataset *db = NULL;
    int st = moe_simulate_at(fit, d, moe_infer_boot_seed(seed, b), &db, NULL, err);
    if (st != MOE_SUCCESS)
        return st;
    /* frequency weights stay with their rows (moe_simulate_at keeps the rest) */
    if (d->w && !(db->w = malloc(d->n * sizeof *db->w))) {
        moe_dataset_free(db);
        return moe_error_set(err, MOE_ENOMEM, "bootstrap: out of memory (%zu rows)", d->n);
    }
    if (d->w)
        memcpy(db->w, d->w, d->n * sizeof *db->w);
    *out = db;
    return MOE_SUCCESS;
}

/* What one replicate left behind. */
typedef struct boot_rep {
    int status;         /* MOE_SUCCESS: used; else why the refit failed */
    int converged, separated, relabelled;
    size_t iterations;  /* EM iterations of the kept refit */
    double loglik;      /* its log-likelihood, standardised scale */
} boot_rep;

static void copy_start(const moe_model *from, gsl_rng *rng, moe_model *start)
{
    (void)rng;
    moe_em_copy_params(start, from);
}

/* Replicate B of FIT (chosen on D, data scale): draws, refits and writes the TOTAL reported
 * coefficients of the matched refit into COEF. Returns MOE_ENOMEM (fatal) or MOE_SUCCESS with
 * REP->status saying whether the refit is usable. */
static int replicate(const moe_dataset *d, const moe_model *fit, const moe_fit_options *opt,
                     size_t b, double *coef, boot_rep *rep)
{
    size_t k = fit->k, ne = moe_model_expert_nparams(fit);
    moe_error e;
    memset(&e, 0, sizeof e);
    memset(rep, 0, sizeof *rep);
    rep->status = MOE_ENUMERIC;
    moe_dataset *db = NULL, *ds = NULL;
    moe_em_work *w = NULL;
    moe_model *rm = NULL, *start = NULL;
    gsl_rng *rng = NULL;
    double *work = malloc((2 * k * ne + k * k + 1) * sizeof *work);
    moe_search_result sr;
    moe_train_output scratch;
    memset(&sr, 0, sizeof sr);
    memset(&scratch, 0, sizeof scratch);
    int status = MOE_SUCCESS;
    int st = moe_infer_boot_data(d, fit, opt->seed, b, &db, &e);
    if (st == MOE_ENOMEM || !work) {
        status = MOE_ENOMEM;
        goto out;
    }
    if (st != MOE_SUCCESS) {
        rep->status = st;
        goto out;
    }
    moe_em_params par = {opt->tol, opt->max_iter, opt->gate_ridge, opt->var_floor, 0,
                         fit->expert, fit->gate, 0, {0}, fit->hidden, fit->activation,
                         fit->top_k, NULL, opt->gate_steps, moe_em_accel(opt->accel, db->n)};
    if (!(ds = moe_model_standardise(fit, db)) || !(w = moe_em_alloc(ds, k, &par)) ||
        !(rm = moe_model_copy(fit))) {
        status = MOE_ENOMEM;
        goto out;
    }
    const moe_model *got = NULL;
    if (!opt->bootstrap_search) {
        int t = MOE_CONTINUE;
        st = moe_em_init_model(w, fit);
        while (st == MOE_SUCCESS) {
            if ((st = moe_em_iterate(w)) != MOE_SUCCESS)
                break;
            if ((t = moe_em_test(w)) != MOE_CONTINUE)
                break;
        }
        if (st == MOE_SUCCESS) {
            got = w->m;
            rep->converged = t == MOE_SUCCESS && w->converged;
            rep->separated = w->separated;
            rep->iterations = w->iter;
            rep->loglik = w->loglik;
        }
    } else {
        moe_fit_options o = *opt;
        o.seed = moe_infer_boot_seed(opt->seed, b);
        o.progress = NULL;
        if (!(rng = gsl_rng_alloc(gsl_rng_mt19937)) || !(start = moe_model_copy(w->m))) {
            status = MOE_ENOMEM;
            goto out;
        }
        moe_search_extra extra = {fit, start, copy_start, "bootstrap"};
        st = moe_train_search(w, &o, 0, rng, search_seed, &extra, &scratch, &sr, &e);
        if (st == MOE_SUCCESS && sr.model) {
            got = sr.model;
            rep->converged = sr.converged;
            rep->separated = sr.separated;
            rep->iterations = sr.iterations;
            rep->loglik = sr.loglik;
        } else if (st == MOE_SUCCESS) {
            st = MOE_ESING;  /* no usable start */
        }
    }
    if (st == MOE_ENOMEM) {
        status = MOE_ENOMEM;
        goto out;
    }
    if (!got) {
        rep->status = st;
        goto out;
    }
    moe_em_copy_params(rm, got);
    size_t perm[MOE_K_MAX];
    rep->relabelled = moe_infer_boot_match(fit, rm, perm, work);
    if (rep->relabelled)
        moe_train_permute(rm, perm);
    int finite = 1;
    for (size_t blk = 0, at = 0; blk <= k; blk++) {
        size_t nc = moe_model_ncoef(rm, blk);
        moe_model_coefs(rm, blk, coef + at);
        for (size_t c = 0; c < nc; c++)
            finite &= isfinite(coef[at + c]) || (blk == k && rep->separated);
        at += nc;
    }
    rep->status = finite ? MOE_SUCCESS : MOE_ENUMERIC;
out:
    moe_search_result_clear(&sr);
    moe_train_output_clear(&scratch);
    if (rng)
        gsl_rng_free(rng);
    moe_model_free(start);
    moe_model_free(rm);
    moe_em_free(w);
    moe_dataset_free(ds);
    moe_dataset_free(db);
    free(work);
    return status;
}

int moe_infer_bootstrap(const moe_dataset *d, const moe_fit_options *opt, moe_fit *f,
                        moe_error *err)
{
    const moe_model *m = f->model;
    size_t nb = opt->bootstrap, k = m->k, total = moe_model_record_len(m);
    memset(&f->boot, 0, sizeof f->boot);
    if (nb == 0)
        return MOE_SUCCESS;
    if (m->tree_depth || !m->gate->permute)
        return moe_error_set(err, MOE_EINVAL, "bootstrap: the %s gate cannot relabel its "
                             "experts, so refits cannot be matched to the fit (trees are not "
                             "supported yet)", m->gate->name);
    if (nb > SIZE_MAX / sizeof(double) / (total + 1))
        return moe_error_set(err, MOE_ENOMEM, "bootstrap: out of memory (%zu replicates)", nb);
    double *coef = malloc(nb * (total + 1) * sizeof *coef);
    boot_rep *rep = calloc(nb, sizeof *rep);
    f->boot_se = calloc(k + 1, sizeof *f->boot_se);
    int nomem = !coef || !rep || !f->boot_se;
    for (size_t blk = 0; !nomem && blk <= k; blk++) {
        size_t nc = moe_model_ncoef(m, blk);
        if (!(f->boot_se[blk] = malloc((nc + 1) * sizeof **f->boot_se)))
            nomem = 1;
        for (size_t c = 0; !nomem && c < nc; c++)
            f->boot_se[blk][c] = NAN;
    }
    if (nomem) {
        free(coef);
        free(rep);
        return moe_error_set(err, MOE_ENOMEM, "bootstrap: out of memory (%zu replicates)", nb);
    }
    double wsum = (double)d->n;
    if (d->w) {
        wsum = 0;
        for (size_t r = 0; r < d->n; r++)
            wsum += d->w[r];
    }
    double ll_shift = wsum * log(m->y_scale);
    int fatal = 0;
    size_t done = 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic)
#endif
    for (size_t b = 0; b < nb; b++) {
        int stop;
#ifdef _OPENMP
#pragma omp atomic read
#endif
        stop = fatal;
        if (stop)
            continue;
        int st = replicate(d, m, opt, b, coef + b * (total + 1), &rep[b]);
#ifdef _OPENMP
#pragma omp critical(moe_bootstrap)
#endif
        {
            if (st)
                fatal = st;
            done++;
            if (opt->progress && !st) {
                moe_progress p = {k, done - 1, nb, rep[b].iterations,
                                  rep[b].loglik - ll_shift, NAN, 1};
                opt->progress(&p, opt->progress_data);
            }
        }
    }
    if (fatal) {
        free(coef);
        free(rep);
        return moe_error_set(err, MOE_ENOMEM, "bootstrap: out of memory (replicate data)");
    }
    moe_bootstrap_report *br = &f->boot;
    br->replicates = nb;
    br->search = opt->bootstrap_search != 0;
    for (size_t b = 0; b < nb; b++) {
        if (rep[b].status != MOE_SUCCESS) {
            br->failed++;
            continue;
        }
        br->used++;
        br->used_gate += !rep[b].separated;
        br->separated += rep[b].separated != 0;
        br->not_converged += !rep[b].converged && !rep[b].separated;
        br->relabelled += rep[b].relabelled != 0;
    }
    if (d->w)
        moe_fit_warn(f, "bootstrap with weights: each row's new response is drawn once and "
                     "counts with its weight, as w identical copies rather than w independent "
                     "draws, so for frequency weights above 1 the bootstrap SEs are too large "
                     "(conservative)");
    if (br->failed)
        moe_fit_warn(f, "bootstrap: %zu of %zu refits failed (a degenerate expert or a "
                     "numerical failure) and are left out; the bootstrap SEs describe the %zu "
                     "others", br->failed, nb, br->used);
    /* the SDs, in the order of b whatever the threads did */
    for (size_t blk = 0, at = 0; blk <= k; blk++) {
        size_t nc = moe_model_ncoef(m, blk);
        for (size_t c = 0; c < nc; c++, at++) {
            double sum = 0, ss = 0;
            size_t used = 0;
            for (size_t b = 0; b < nb; b++)
                if (rep[b].status == MOE_SUCCESS && (blk < k || !rep[b].separated)) {
                    sum += coef[b * (total + 1) + at];
                    used++;
                }
            if (used < 2)
                continue;
            double mean = sum / (double)used;
            for (size_t b = 0; b < nb; b++)
                if (rep[b].status == MOE_SUCCESS && (blk < k || !rep[b].separated)) {
                    double dv = coef[b * (total + 1) + at] - mean;
                    ss += dv * dv;
                }
            f->boot_se[blk][c] = sqrt(ss / (double)(used - 1));
        }
    }
    free(coef);
    free(rep);
    return MOE_SUCCESS;
}

/* ---------------------------------------------------------------- accessors */

moe_bootstrap_report moe_fit_bootstrap(const moe_fit *f)
{
    moe_bootstrap_report r;
    memset(&r, 0, sizeof r);
    return f ? f->boot : r;
}

void moe_fit_boot_se(const moe_fit *f, size_t block, double *se)
{
    if (!f || !f->model || block > f->model->k || !se)
        return;
    size_t nc = moe_model_ncoef(f->model, block);
    for (size_t c = 0; c < nc; c++)
        se[c] = f->boot_se ? f->boot_se[block][c] : NAN;
}
