/* search.c: the global search of one K (moe_train_search): many short EM runs from diverse
 * starts, the best few continued to convergence (emEM, Biernacki, Celeux & Govaert 2003),
 * and the count of runs that reached the best log-likelihood.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Why: EM from one start stops at the maximum whose basin it started in, and on real data
 * (mcycle K = 3, K = 4 with a quadratic) most basins are local. A few EM iterations are enough
 * to tell a promising start from a hopeless one, so the budget goes on many cheap short runs
 * of different kinds (k-means on (x, y), random slabs of the gate inputs, random Voronoi
 * cells of (x, y), random responsibilities: see train/init.c) and only the keep best short
 * runs are taken on to convergence. The best of those then gets split-and-merge moves
 * (train/smem.c) while they raise its log-likelihood. The numbers behind the defaults are in
 * bench/README.md (bench/search_hits.sh).
 *
 * Every start draws from its own random stream seeded from (seed, K, start) and the EM
 * passes are thread-count independent, so the search gives the same fit bit for bit whatever
 * OMP_NUM_THREADS is. The short runs' models are kept in keep preallocated slots; nothing is
 * allocated inside an EM iteration. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "experts/expert.h"
#include "train/search.h"
#include "train/smem.h"


/* A short run kept for continuation. */
typedef struct cand {
    moe_model *m;       /* its model (a preallocated slot) */
    double ll;          /* its log-likelihood, standardised scale */
    size_t start;       /* which start */
    size_t iter;        /* iterations so far */
    int done;           /* 1: it stopped by itself (converged, separated or max_iter) */
    int converged, separated;
    size_t ridge_e, ridge_g;  /* its ridge fallbacks so far */
    char dropped[400];  /* its min-prior drops, "" when none */
} cand;

/* Segmentation starts along at most this many gate inputs (the first ones). */
#define SEG_INPUTS_MAX 3

/* The kind of start R under initialisation INIT, for NSEG segmentation starts. A tree gate
 * (TREE) keeps the starts it was tuned with, k-means then random responsibilities, beside its
 * own start from the flat fit: the hard partitions below were measured on flat gates only,
 * and on test_hme's simulated 2x2 truth they lead the tree away from it. */
static moe_em_start start_kind(moe_init_method init, size_t r, size_t nseg, int tree)
{
    if (init == MOE_INIT_KMEANS)
        return MOE_START_KMEANS;
    if (init == MOE_INIT_RANDOM)
        return MOE_START_DIRICHLET;
    if (r == 0)
        return MOE_START_KMEANS;
    if (tree)
        return MOE_START_DIRICHLET;
    if (r <= nseg)
        return (moe_em_start)(MOE_START_SEGMENTS + (r - 1));
    static const moe_em_start cycle[3] = {MOE_START_DIRICHLET, MOE_START_SLABS,
                                          MOE_START_VORONOI};
    return cycle[r % 3];
}

void moe_search_result_clear(moe_search_result *res)
{
    if (!res)
        return;
    moe_model_free(res->model);
    moe_list_free(res->traces, res->ntraces);
    free(res->trace_len);
    memset(res, 0, sizeof *res);
}

/* Appends W's trace (iterations 0..w->iter-1, shifted to the data scale) to trace R. */
static int trace_append(moe_search_result *res, size_t r, const moe_em_work *w, double shift)
{
    size_t old = res->trace_len[r], len = old + w->iter;
    double *t = realloc(res->traces[r], (len + 1) * sizeof *t);
    if (!t)
        return MOE_ENOMEM;
    for (size_t i = 0; i < w->iter; i++)
        t[old + i] = w->trace[i] - shift;
    res->traces[r] = t;
    res->trace_len[r] = len;
    return MOE_SUCCESS;
}

/* Runs W's iterations until moe_em_test stops them or LIMIT iterations are done; returns the
 * iterate status (MOE_SUCCESS or an error) and leaves the test's verdict in *T. */
static int run(moe_em_work *w, size_t limit, const moe_fit_options *opt, size_t r,
               size_t iter0, double ll_shift, int *t)
{
    *t = MOE_CONTINUE;
    while (w->iter < limit) {
        int st = moe_em_iterate(w);
        if (st != MOE_SUCCESS)
            return st;
        if (opt->progress) {
            moe_progress p = {w->kmax, r, opt->restarts, iter0 + w->iter, w->loglik - ll_shift,
                              NAN, 0};
            opt->progress(&p, opt->progress_data);
        }
        if ((*t = moe_em_test(w)) != MOE_CONTINUE)
            break;
    }
    return MOE_SUCCESS;
}

/* Puts the current state of W (start R) among the NC <= KEEP candidates C, kept sorted by
 * log-likelihood, best first, if it is better than the worst of a full list. */
static void offer(cand *c, size_t *nc, size_t keep, const moe_em_work *w, size_t r, int t)
{
    size_t pos = *nc;
    if (pos == keep) {
        if (!(w->loglik > c[keep - 1].ll))
            return;
        pos = keep - 1;
    } else {
        (*nc)++;
    }
    moe_model *slot = c[pos].m;  /* the slot that leaves (or the free one) */
    while (pos > 0 && w->loglik > c[pos - 1].ll) {
        c[pos] = c[pos - 1];
        pos--;
    }
    c[pos].m = slot;
    moe_em_copy_params(slot, w->m);
    c[pos].ll = w->loglik;
    c[pos].start = r;
    c[pos].iter = w->iter;
    c[pos].done = t != MOE_CONTINUE;
    c[pos].converged = t == MOE_SUCCESS && w->converged;
    c[pos].separated = w->separated;
    c[pos].ridge_e = w->ridge_experts;
    c[pos].ridge_g = w->ridge_gate;
    c[pos].dropped[0] = 0;
    if (w->dropped)
        snprintf(c[pos].dropped, sizeof c[pos].dropped, "%zu expert%s dropped by min-prior %g "
                 "(last: %s); refitted with %zu experts", w->dropped, w->dropped > 1 ? "s" : "",
                 w->par.min_prior, w->message, w->k);
}

int moe_train_search(moe_em_work *w, const moe_fit_options *opt, double ll_shift, gsl_rng *rng,
                     unsigned long (*stream_seed)(unsigned long, size_t, size_t),
                     const moe_search_extra *extra, moe_train_output *out,
                     moe_search_result *res, moe_error *err)
{
    int has_extra = extra && extra->from && extra->start;
    const char *lab = extra && extra->label ? extra->label : "K";
    size_t k = w->kmax, nr = opt->restarts + (size_t)has_extra;
    size_t keep = opt->keep + (size_t)has_extra < nr ? opt->keep + (size_t)has_extra : nr;
    size_t short_iter = opt->short_iter == 0 || opt->short_iter > opt->max_iter
                            ? opt->max_iter : opt->short_iter;
    if (short_iter == opt->max_iter)
        keep = nr;  /* plain restarts: every run is final, keep them all for the count */
    (void)out;
    memset(res, 0, sizeof *res);
    cand *c = calloc(keep, sizeof *c);
    moe_smem_work *sw = NULL;
    double *fin = malloc(nr * sizeof *fin);  /* final log-likelihood of each start, or NaN */
    res->traces = calloc(nr, sizeof *res->traces);
    res->trace_len = calloc(nr, sizeof *res->trace_len);
    int status = MOE_SUCCESS;
    if (c && fin && res->traces && res->trace_len)
        for (size_t j = 0; j < keep; j++)
            if (!(c[j].m = moe_model_copy(w->m)))
                break;
    if (!c || !fin || !res->traces || !res->trace_len || (keep && !c[keep - 1].m)) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory for K = %zu (%zu rows)",
                               k, w->n);
        goto done;
    }
    res->ntraces = nr;
    size_t nc = 0, failed = 0;
    /* segmentation starts: Gaussian experts with gate inputs */
    size_t nseg = strcmp(w->m->expert->name, "gaussian") == 0 ? w->d->nz : 0;
    if (nseg > SEG_INPUTS_MAX)
        nseg = SEG_INPUTS_MAX;
    /* phase 1: the short runs */
    for (size_t r = 0; r < nr; r++) {
        fin[r] = NAN;
        gsl_rng_set(rng, stream_seed(opt->seed, k, r));
        int st = MOE_SUCCESS, t = MOE_CONTINUE, from_model = has_extra && r == opt->restarts;
        if (from_model)
            extra->prepare(extra->from, rng, extra->start);
        for (size_t attempt = 0; attempt <= MAX_REDRAWS; attempt++) {
            if (attempt == 0 && from_model)
                st = moe_em_init_model(w, extra->start);
            else
                st = moe_em_init_start(w, attempt == 0 ? start_kind(opt->init, r, nseg, w->m->tree_depth > 0)
                                                       : MOE_START_DIRICHLET, rng);
            if (st == MOE_ENOMEM) {
                status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (starts)");
                goto done;
            }
            if (st == MOE_SUCCESS)
                st = run(w, short_iter, opt, r, 0, ll_shift, &t);
            if (st == MOE_ENUMERIC) {
                status = moe_error_set(err, MOE_ENUMERIC, "%s, start %zu: %s", lab, r + 1,
                                       w->message);
                goto done;
            }
            if (st != MOE_ESING)
                break;
            if (res->redraws++ == 0)
                snprintf(res->first_redraw, sizeof res->first_redraw, "start %zu: %s", r + 1,
                         w->message);
            if (attempt == 0)
                res->redrawn_starts++;
        }
        if (st != MOE_SUCCESS) {
            failed++;
            continue;
        }
        if (trace_append(res, r, w, ll_shift)) {
            status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (traces)");
            goto done;
        }
        if (t != MOE_CONTINUE)
            fin[r] = w->loglik;
        offer(c, &nc, keep, w, r, t);
    }
    /* phase 2: the best short runs go on to convergence */
    size_t max_iter = w->par.max_iter;
    for (size_t j = 0; j < nc; j++) {
        cand *cj = &c[j];
        if (cj->done)
            continue;
        int st = moe_em_init_model(w, cj->m), t = MOE_CONTINUE;
        w->par.max_iter = max_iter - cj->iter;
        if (st == MOE_SUCCESS)
            st = run(w, w->par.max_iter, opt, cj->start, cj->iter, ll_shift, &t);
        w->par.max_iter = max_iter;
        if (st == MOE_ENUMERIC || st == MOE_EINVAL) {
            status = moe_error_set(err, MOE_ENUMERIC, "K = %zu, start %zu (continued): %s", k,
                                   cj->start + 1, w->message);
            goto done;
        }
        if (st != MOE_SUCCESS) {  /* degenerated late: the start counts as failed */
            if (res->redraws++ == 0)
                snprintf(res->first_redraw, sizeof res->first_redraw, "start %zu (continued): "
                         "%s", cj->start + 1, w->message);
            cj->ll = -INFINITY;
            failed++;
            continue;
        }
        cj->ridge_e += w->ridge_experts;
        cj->ridge_g += w->ridge_gate;
        if (w->dropped)
            snprintf(cj->dropped, sizeof cj->dropped, "%zu expert%s dropped by min-prior %g "
                     "(last: %s); refitted with %zu experts", w->dropped,
                     w->dropped > 1 ? "s" : "", opt->min_prior, w->message, w->k);
        if (trace_append(res, cj->start, w, ll_shift)) {
            status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (traces)");
            goto done;
        }
        moe_em_copy_params(cj->m, w->m);
        cj->ll = fin[cj->start] = w->loglik;
        cj->iter += w->iter;
        cj->done = 1;
        cj->converged = t == MOE_SUCCESS && w->converged;
        cj->separated = w->separated;
    }
    /* the best run, and how many finished runs reached it; ties go to the earlier start */
    size_t best = nc;
    for (size_t j = 0; j < nc; j++)
        if (isfinite(c[j].ll) && (best == nc || c[j].ll > c[best].ll ||
                                  (c[j].ll == c[best].ll && c[j].start < c[best].start)))
            best = j;
    moe_search_report *rep = &res->report;
    /* phase 3: moves on the best run while they raise it; a try runs half a start's short
     * run (15 iterations gave the hit rates of 30 at half the cost, bench/README.md) */
    if (opt->moves && best != nc && k >= 3 && w->m->tree_depth == 0 &&
        (c[best].converged || c[best].separated)) {  /* not a run cut at max_iter */
        cand *cb = &c[best];
        if (!(sw = moe_smem_alloc(w))) {
            status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (moves)");
            goto done;
        }
        for (size_t round = 0; round < MOE_SMEM_ROUNDS; round++) {
            double tol = MOE_SEARCH_SAME_ABS + MOE_SEARCH_SAME_REL * fabs(cb->ll - ll_shift);
            moe_smem_round rd;
            int st = moe_train_smem(w, cb->m, &cb->ll, tol, short_iter / 2, opt->var_floor,
                                    opt->min_rows, sw, &rd);
            if (st != MOE_SUCCESS) {
                status = moe_error_set(err, MOE_ENUMERIC, "%s, start %zu (moves): %s", lab,
                                       cb->start + 1, w->message);
                goto done;
            }
            if (!rd.accepted)
                break;
            if (trace_append(res, cb->start, w, ll_shift)) {
                status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (traces)");
                goto done;
            }
            fin[cb->start] = cb->ll;
            cb->iter += rd.iterations;
            cb->converged = rd.converged;
            cb->separated = rd.separated;
            cb->ridge_e += w->ridge_experts;
            cb->ridge_g += w->ridge_gate;
            rep->moves++;
        }
    }
    rep->starts = nr;
    rep->failed = failed;
    rep->others_lo = rep->others_hi = NAN;
    if (best == nc)
        goto done;
    res->loglik = c[best].ll;
    double lb = c[best].ll - ll_shift;
    rep->same_tol = MOE_SEARCH_SAME_ABS + MOE_SEARCH_SAME_REL * fabs(lb);
    for (size_t r = 0; r < nr; r++) {
        if (!isfinite(fin[r]))
            continue;
        rep->finished++;
        if (c[best].ll - fin[r] <= rep->same_tol) {
            rep->reached++;
            continue;
        }
        double v = fin[r] - ll_shift;
        if (!(v >= rep->others_lo))
            rep->others_lo = v;
        if (!(v <= rep->others_hi))
            rep->others_hi = v;
    }
    if (!(res->model = moe_model_copy(c[best].m))) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (model copy)");
        goto done;
    }
    res->best_trace = c[best].start;
    res->iterations = c[best].iter;
    res->converged = c[best].converged;
    res->separated = c[best].separated;
    res->ridge_experts = c[best].ridge_e;
    res->ridge_gate = c[best].ridge_g;
    memcpy(res->dropped, c[best].dropped, sizeof res->dropped);
done:
    moe_smem_free(sw);
    if (c)
        for (size_t j = 0; j < keep; j++)
            moe_model_free(c[j].m);
    free(c);
    free(fin);
    if (status != MOE_SUCCESS)
        moe_search_result_clear(res);
    return status;
}
