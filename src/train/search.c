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
 * OMP_NUM_THREADS is. Where the rows leave threads idle (fewer row blocks than threads) the
 * starts, and then the continuations, run on several threads, each with its own workspace
 * and stream; their results are kept per start and ranked and counted in start order
 * afterwards, exactly as one thread does it (issue 14: restarts are independent work). The short runs' models are kept in keep preallocated slots; nothing is
 * allocated inside an EM iteration. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/error.h"
#include "experts/expert.h"
#include "train/search.h"
#include "train/smem.h"
#include "train/spurious.h"


/* A short run kept for continuation. */
typedef struct cand {
    moe_model *m;       /* its model (a preallocated slot) */
    double ll;          /* its log-likelihood, standardised scale */
    size_t start;       /* which start */
    size_t iter;        /* iterations so far */
    int done;           /* 1: it stopped by itself (converged, separated or max_iter) */
    int converged, separated;
    size_t spurious;    /* its spurious experts once finished (train/spurious.c) */
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
#ifdef _OPENMP
#pragma omp critical(moe_search_progress)
#endif
            opt->progress(&p, opt->progress_data);
        }
        if ((*t = moe_em_test(w)) != MOE_CONTINUE)
            break;
    }
    return MOE_SUCCESS;
}

/* The progress report of start R of K experts at ITER iterations and log-likelihood LL. */
static void report_final(const moe_fit_options *opt, size_t k, size_t r, size_t iter, double ll)
{
    moe_progress p = {k, r, opt->restarts, iter, ll, NAN, 0};
    opt->progress(&p, opt->progress_data);
}

/* When W dropped experts by min_prior, says so into BUF (LEN bytes), WHERE ("" or " on all
 * rows") after the last drop's message; BUF is left alone otherwise. */
static void drop_note(char *buf, size_t len, const moe_em_work *w, const char *where)
{
    if (w->dropped)
        snprintf(buf, len, "%zu expert%s dropped by min-prior %g (last: %s)%s; refitted with "
                 "%zu experts", w->dropped, w->dropped > 1 ? "s" : "", w->par.min_prior,
                 w->message, where, w->k);
}

/* The current state of W (start R, last test T) into candidate C (its model is C's own). */
static void take(cand *c, const moe_em_work *w, size_t r, int t)
{
    moe_em_copy_params(c->m, w->m);
    c->ll = w->loglik;
    c->start = r;
    c->iter = w->iter;
    c->done = t != MOE_CONTINUE;
    c->converged = t == MOE_SUCCESS && w->converged;
    c->separated = w->separated;
    c->ridge_e = w->ridge_experts;
    c->ridge_g = w->ridge_gate;
    c->dropped[0] = 0;
    drop_note(c->dropped, sizeof c->dropped, w, "");
}

/* The spurious experts of candidate C's model (one E-step from it; H gets its posteriors
 * without the observation weights, n x k). A model that does not start counts as none. */
static size_t cand_spurious(moe_em_work *w, const cand *c, const moe_fit_options *opt,
                            double *h)
{
    if (moe_em_init_model(w, c->m) != MOE_SUCCESS)
        return 0;
    moe_em_unweighted_h(w, h);
    return moe_train_spurious(w->d, c->m, h, opt->var_floor, opt->min_rows, 1, NULL, 0);
}

/* What one start or continuation did, for the accounting done afterwards in start order
 * (so that running them on several threads changes nothing). */
typedef struct run_log {
    int status;          /* MOE_SUCCESS, or the failure that ends the search (ERR set) */
    int usable;          /* 1: the start gave a fit (it is offered) */
    size_t redraws;      /* degenerate starts redrawn */
    int redrawn;         /* 1: the first kind of start needed a redraw */
    char first_redraw[300];
    moe_error err;
} run_log;

/* Phase 1 for start R on workspace W with random stream RNG: the start (redrawn from
 * random responsibilities when degenerate), its short run, its trace; the result goes to
 * slot C (whose model is a preallocated copy), the accounting to LG. */
static void short_run(moe_em_work *w, gsl_rng *rng, const moe_fit_options *opt, double ll_shift,
                      unsigned long (*stream_seed)(unsigned long, size_t, size_t),
                      const moe_search_extra *extra, size_t r, size_t nseg, size_t short_iter,
                      const char *lab, moe_search_result *res, cand *c, run_log *lg)
{
    int has_extra = extra && extra->from && extra->start;
    size_t k = w->kmax;
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
            lg->status = moe_error_set(&lg->err, MOE_ENOMEM, "fit: out of memory (starts)");
            return;
        }
        if (st == MOE_SUCCESS)
            st = run(w, short_iter, opt, r, 0, ll_shift, &t);
        if (st == MOE_ENUMERIC) {
            lg->status = moe_error_set(&lg->err, MOE_ENUMERIC, "%s, start %zu: %s", lab, r + 1,
                                       w->message);
            return;
        }
        if (st != MOE_ESING)
            break;
        if (lg->redraws++ == 0)
            snprintf(lg->first_redraw, sizeof lg->first_redraw, "start %zu: %s", r + 1,
                     w->message);
        if (attempt == 0)
            lg->redrawn = 1;
    }
    if (st != MOE_SUCCESS)
        return;
    if (trace_append(res, r, w, ll_shift)) {
        lg->status = moe_error_set(&lg->err, MOE_ENOMEM, "fit: out of memory (traces)");
        return;
    }
    lg->usable = 1;
    take(c, w, r, t);
}

/* Phase 2 for candidate CJ on workspace W: on to convergence (max_iter in all). */
static void continue_run(moe_em_work *w, const moe_fit_options *opt, double ll_shift,
                         moe_search_result *res, double *fin, cand *cj, run_log *lg)
{
    size_t max_iter = w->par.max_iter;
    int st = moe_em_init_model(w, cj->m), t = MOE_CONTINUE;
    w->par.max_iter = max_iter - cj->iter;
    if (st == MOE_SUCCESS)
        st = run(w, w->par.max_iter, opt, cj->start, cj->iter, ll_shift, &t);
    w->par.max_iter = max_iter;
    if (st == MOE_ENUMERIC || st == MOE_EINVAL) {
        lg->status = moe_error_set(&lg->err, MOE_ENUMERIC, "K = %zu, start %zu (continued): %s",
                                   w->kmax, cj->start + 1, w->message);
        return;
    }
    if (st != MOE_SUCCESS) {  /* degenerated late: the start counts as failed */
        lg->redraws = 1;
        snprintf(lg->first_redraw, sizeof lg->first_redraw, "start %zu (continued): %s",
                 cj->start + 1, w->message);
        cj->ll = -INFINITY;
        return;
    }
    cj->ridge_e += w->ridge_experts;
    cj->ridge_g += w->ridge_gate;
    drop_note(cj->dropped, sizeof cj->dropped, w, "");
    if (trace_append(res, cj->start, w, ll_shift)) {
        lg->status = moe_error_set(&lg->err, MOE_ENOMEM, "fit: out of memory (traces)");
        return;
    }
    moe_em_copy_params(cj->m, w->m);
    cj->ll = fin[cj->start] = w->loglik;
    cj->iter += w->iter;
    cj->done = 1;
    cj->converged = t == MOE_SUCCESS && w->converged;
    cj->separated = w->separated;
    lg->usable = 1;
}

/* Threads for the starts: several when the rows cannot keep them busy (fewer row blocks
 * than threads, e.g. every data set below 8192 rows on 2 threads) and none are running yet
 * (a bootstrap's replicates already run in parallel) and the rows are not spread over MPI
 * ranks (every rank must make the same collective calls in the same order); 1 otherwise. */
static size_t start_threads(const moe_em_work *w, size_t nr)
{
#ifdef _OPENMP
    size_t nt = (size_t)omp_get_max_threads();
    if (omp_in_parallel() || nt < 2 || w->nb >= nt || (w->par.comm && w->par.comm->size > 1))
        return 1;
    return nt < nr ? nt : nr;
#else
    (void)w;
    (void)nr;
    return 1;
#endif
}

#ifdef _OPENMP
#define THREAD_ID() ((size_t)omp_get_thread_num())
#else
#define THREAD_ID() ((size_t)0)
#endif

/* The runners-up of a search, for a search on a subsample (search_subsample) to continue on
 * every row beside its best: up to MOE_SEARCH_RUNNERS finished runs without spurious experts,
 * the highest below the best whose log-likelihoods differ from the best's and each other's
 * by more than the search's tolerance (distinct maxima: on a subsample, the order of
 * nearby maxima can differ from their order on every row). */
typedef struct search_runners {
    moe_model *m[MOE_SEARCH_RUNNERS];  /* preallocated by the caller, shaped as the search's */
    size_t start[MOE_SEARCH_RUNNERS];
    size_t iter[MOE_SEARCH_RUNNERS];   /* their EM iterations */
    size_t n;                          /* how many were found */
} search_runners;

/* The search on every row of W's data (see moe_train_search); RU (may be NULL) receives
 * the runners-up. */
static int search_all_rows(moe_em_work *w, const moe_fit_options *opt, double ll_shift,
                           gsl_rng *rng,
                           unsigned long (*stream_seed)(unsigned long, size_t, size_t),
                           const moe_search_extra *extra, moe_search_result *res,
                           search_runners *ru, moe_error *err)
{
    int has_extra = extra && extra->from && extra->start;
    const char *lab = extra && extra->label ? extra->label : "K";
    size_t k = w->kmax, nr = opt->restarts + (size_t)has_extra;
    size_t keep = opt->keep + (size_t)has_extra < nr ? opt->keep + (size_t)has_extra : nr;
    size_t short_iter = opt->short_iter == 0 || opt->short_iter > opt->max_iter
                            ? opt->max_iter : opt->short_iter;
    if (short_iter == opt->max_iter)
        keep = nr;  /* plain restarts: every run is final, keep them all for the count */
    memset(res, 0, sizeof *res);
    size_t nt = start_threads(w, nr);
    cand *c = calloc(keep, sizeof *c), *slot = calloc(nr, sizeof *slot);
    run_log *lg = calloc(nr, sizeof *lg);
    moe_em_work **ws = calloc(nt, sizeof *ws);
    gsl_rng **rs = calloc(nt, sizeof *rs);
    moe_smem_work *sw = NULL;
    double *hbuf = NULL;  /* posteriors for the spurious check of the candidates */
    double *fin = malloc(nr * sizeof *fin);  /* final log-likelihood of each start, or NaN */
    res->traces = calloc(nr, sizeof *res->traces);
    res->trace_len = calloc(nr, sizeof *res->trace_len);
    int status = MOE_SUCCESS, nomem = !c || !slot || !lg || !ws || !rs || !fin ||
                                      !res->traces || !res->trace_len;
    for (size_t r = 0; !nomem && r < nr; r++)
        nomem = !(slot[r].m = moe_model_copy(w->m));
    for (size_t t = 0; !nomem && t < nt; t++) {
        ws[t] = t ? moe_em_alloc(w->d, w->kmax, &w->par) : w;
        rs[t] = t ? gsl_rng_alloc(rng->type) : rng;
        nomem = !ws[t] || !rs[t];
    }
    if (nomem) {
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
    /* on several threads the runs report nothing while they run (their reports would
     * interleave); each start's final state is reported after the loop, in start order */
    moe_fit_options quiet = *opt;
    quiet.progress = NULL;
    const moe_fit_options *run_opt = nt > 1 ? &quiet : opt;
    /* phase 1: the short runs, each from its own stream (on several threads when the rows
     * leave threads idle), then offered in start order */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(nt) if (nt > 1)
#endif
    for (size_t r = 0; r < nr; r++) {
        fin[r] = NAN;
        size_t id = THREAD_ID();
        short_run(ws[id], rs[id], run_opt, ll_shift, stream_seed, extra, r, nseg, short_iter,
                  lab, res, &slot[r], &lg[r]);
    }
    for (size_t r = 0; nt > 1 && opt->progress && r < nr; r++)
        if (lg[r].usable)
            report_final(opt, k, r, slot[r].iter, slot[r].ll - ll_shift);
    for (size_t r = 0; r < nr; r++) {
        if (lg[r].status != MOE_SUCCESS) {
            status = lg[r].status;
            if (err)
                *err = lg[r].err;
            goto done;
        }
        if (lg[r].redraws && res->redraws == 0)
            memcpy(res->first_redraw, lg[r].first_redraw, sizeof res->first_redraw);
        res->redraws += lg[r].redraws;
        res->redrawn_starts += (size_t)lg[r].redrawn;
        if (!lg[r].usable) {
            failed++;
            continue;
        }
        if (slot[r].done)
            fin[r] = slot[r].ll;
        /* the offer of phase 1 in start order, the candidates keeping the slots' models */
        size_t pos = nc;
        if (pos == keep) {
            if (!(slot[r].ll > c[keep - 1].ll))
                continue;
            pos = keep - 1;
        } else {
            nc++;
        }
        while (pos > 0 && slot[r].ll > c[pos - 1].ll) {
            c[pos] = c[pos - 1];
            pos--;
        }
        c[pos] = slot[r];
    }
    /* phase 2: the best short runs go on to convergence */
    memset(lg, 0, nr * sizeof *lg);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(nt) if (nt > 1)
#endif
    for (size_t j = 0; j < nc; j++)
        if (!c[j].done)
            continue_run(ws[THREAD_ID()], run_opt, ll_shift, res, fin, &c[j], &lg[j]);
    for (size_t j = 0; nt > 1 && opt->progress && j < nc; j++)
        if (lg[j].usable)  /* continued here */
            report_final(opt, k, c[j].start, c[j].iter, c[j].ll - ll_shift);
    for (size_t j = 0; j < nc; j++) {
        if (lg[j].status != MOE_SUCCESS) {
            status = lg[j].status;
            if (err)
                *err = lg[j].err;
            goto done;
        }
        if (lg[j].redraws) {
            if (res->redraws++ == 0)
                memcpy(res->first_redraw, lg[j].first_redraw, sizeof res->first_redraw);
            failed++;
        }
    }
    /* the best run, and how many finished runs reached it; ties go to the earlier start.
     * Spurious maxima (an expert at the variance floor or on too few rows: the likelihood
     * there is unbounded or rewards fitting a handful of points) are set aside while a run
     * without any exists (McLachlan & Peel 2000, section 3.10): the highest of those is the
     * fit (issue 13: sim_2inputs K = 3 and mcycle's quadratic K = 4, bench/README.md). */
    if (nc && !(hbuf = malloc(w->n * w->kmax * sizeof *hbuf))) {
        status = moe_error_set(err, MOE_ENOMEM, "fit: out of memory (spurious check)");
        goto done;
    }
    for (size_t j = 0; j < nc; j++)
        c[j].spurious = isfinite(c[j].ll) ? cand_spurious(w, &c[j], opt, hbuf) : 0;
    size_t best = nc;
    for (int allow_spurious = 0; allow_spurious <= 1 && best == nc; allow_spurious++)
        for (size_t j = 0; j < nc; j++)
            if (isfinite(c[j].ll) && (allow_spurious || !c[j].spurious) &&
                (best == nc || c[j].ll > c[best].ll ||
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
    rep->rows = w->n;
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
        if (fabs(c[best].ll - fin[r]) <= rep->same_tol) {
            rep->reached++;
            continue;
        }
        if (fin[r] > c[best].ll) {  /* only a spurious candidate can be higher */
            rep->set_aside++;
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
    for (size_t i = 0; ru && i < MOE_SEARCH_RUNNERS; i++) {
        size_t pick = nc;
        for (size_t j = 0; j < nc; j++) {
            int distinct = c[j].done && isfinite(c[j].ll) && !c[j].spurious &&
                           c[j].ll < c[best].ll - rep->same_tol;
            for (size_t q = 0; distinct && q < i; q++)
                distinct = fabs(c[j].ll - fin[ru->start[q]]) > rep->same_tol;
            if (distinct && (pick == nc || c[j].ll > c[pick].ll))
                pick = j;
        }
        if (pick == nc)
            break;
        moe_em_copy_params(ru->m[i], c[pick].m);
        ru->start[i] = c[pick].start;
        ru->iter[i] = c[pick].iter;
        ru->n = i + 1;
    }
    res->best_trace = c[best].start;
    res->iterations = c[best].iter;
    res->converged = c[best].converged;
    res->separated = c[best].separated;
    res->ridge_experts = c[best].ridge_e;
    res->ridge_gate = c[best].ridge_g;
    memcpy(res->dropped, c[best].dropped, sizeof res->dropped);
done:
    free(hbuf);
    moe_smem_free(sw);
    if (slot)
        for (size_t r = 0; r < nr; r++)
            moe_model_free(slot[r].m);
    for (size_t t = 1; ws && rs && t < nt; t++) {
        moe_em_free(ws[t]);
        if (rs[t])
            gsl_rng_free(rs[t]);
    }
    free(ws);
    free(rs);
    free(lg);
    free(slot);
    free(c);
    free(fin);
    if (status != MOE_SUCCESS)
        moe_search_result_clear(res);
    return status;
}

/* The rows the search of W runs on under OPT: W's own (no subsample) or fewer. */
static size_t search_rows(const moe_em_work *w, const moe_fit_options *opt)
{
    size_t n = w->n, m = opt->search_rows;
    if (m == 0) {
        if (n < MOE_SEARCH_SUBSAMPLE_FROM)
            return n;
        m = MOE_SEARCH_ROWS_PER_EXPERT * w->kmax;
        if (m < MOE_SEARCH_ROWS)
            m = MOE_SEARCH_ROWS;
    }
    return m < n ? m : n;
}

/* The progress callback of a search on a subsample: its log-likelihoods times the rows'
 * weight ratio, so that they read on the scale of the whole data. */
typedef struct scaled_progress {
    void (*progress)(const moe_progress *p, void *data);
    void *data;
    double scale;
} scaled_progress;

static void report_scaled(const moe_progress *p, void *data)
{
    const scaled_progress *s = data;
    moe_progress q = *p;
    q.loglik *= s->scale;
    s->progress(&q, s->data);
}

/* The total weight of D's rows. */
static double weight_sum(const moe_dataset *d)
{
    if (!d->w)
        return (double)d->n;
    double s = 0;
    for (size_t i = 0; i < d->n; i++)
        s += d->w[i];
    return s;
}

/* The search on a seeded random subsample of M of W's rows (every rank of a moe_comm holds
 * the whole data and draws the same subsample, and the subsample's search runs on each rank
 * alone), then its best fit and its runners-up taken to convergence on every row, where the
 * highest without spurious experts (the highest, when all have them) is kept. The report is
 * the subsample's, its log-likelihoods scaled by the weight ratio; the continued starts'
 * traces run on through their continuations on every row. Returns 1 in *FALLBACK (and
 * nothing in RES) when the subsample gave no usable fit or every continued one degenerated
 * on every row: the caller then searches every row. */
static int search_subsample(moe_em_work *w, size_t m, const moe_fit_options *opt,
                            double ll_shift, gsl_rng *rng,
                            unsigned long (*stream_seed)(unsigned long, size_t, size_t),
                            const moe_search_extra *extra, moe_search_result *res,
                            int *fallback, moe_error *err)
{
    size_t n = w->n;
    *fallback = 0;
    memset(res, 0, sizeof *res);
    size_t *all = malloc(n * sizeof *all), *pick = malloc(m * sizeof *pick);
    double *h = malloc(n * w->kmax * sizeof *h);
    moe_dataset *ds = NULL;
    moe_em_work *ws = NULL;
    moe_model *keep = NULL;
    search_runners ru = {{NULL}, {0}, {0}, 0};
    int status = MOE_ENOMEM;
    if (!all || !pick || !h)
        goto done;
    for (size_t i = 0; i < n; i++)
        all[i] = i;
    /* K = 0 is no fit's K: the subsample's stream is none of the starts' streams, and it is
     * the same for every K of a range */
    gsl_rng_set(rng, stream_seed(opt->seed, 0, 0));
    gsl_ran_choose(rng, pick, m, all, n, sizeof *all);  /* keeps the rows' order */
    moe_em_params par = w->par;
    par.comm = NULL;
    if (!(ds = moe_dataset_pick(w->d, pick, m)) || !(ws = moe_em_alloc(ds, w->kmax, &par)) ||
        !(keep = moe_model_copy(w->m)))
        goto done;
    for (size_t i = 0; i < MOE_SEARCH_RUNNERS; i++)
        if (!(ru.m[i] = moe_model_copy(ws->m)))
            goto done;
    double scale = weight_sum(w->d) / weight_sum(ds);
    scaled_progress sp = {opt->progress, opt->progress_data, scale};
    moe_fit_options o = *opt;
    if (opt->progress) {
        o.progress = report_scaled;
        o.progress_data = &sp;
    }
    status = search_all_rows(ws, &o, ll_shift / scale, rng, stream_seed, extra, res, &ru, err);
    if (status != MOE_SUCCESS)
        goto done;
    if (!res->model) {
        *fallback = 1;
        goto done;
    }
    moe_search_report *rep = &res->report;
    rep->others_lo *= scale;
    rep->others_hi *= scale;
    rep->same_tol *= scale;
    for (size_t r = 0; r < res->ntraces; r++)
        for (size_t i = 0; i < res->trace_len[r]; i++)
            res->traces[r][i] *= scale;
    /* on every row: the best (j = 0), then the runners-up */
    double kept_ll = -INFINITY;
    size_t kept_spurious = 0, kept_iter = 0;
    int kept = 0;
    for (size_t j = 0; j <= ru.n; j++) {
        const moe_model *from = j ? ru.m[j - 1] : res->model;
        size_t r = j ? ru.start[j - 1] : res->best_trace;
        size_t iter0 = j ? ru.iter[j - 1] : res->iterations;
        int t = MOE_CONTINUE, st = moe_em_init_model(w, from);
        if (st == MOE_SUCCESS)
            st = run(w, w->par.max_iter, opt, r, iter0, ll_shift, &t);
        if (st == MOE_ENOMEM)
            goto done;
        if (st != MOE_SUCCESS)  /* degenerated on every row */
            continue;
        if ((status = trace_append(res, r, w, ll_shift)) != MOE_SUCCESS)
            goto done;
        status = MOE_ENOMEM;
        moe_em_unweighted_h(w, h);
        size_t sp_n = moe_train_spurious(w->d, w->m, h, opt->var_floor, opt->min_rows, 1,
                                         NULL, 0);
        if (kept && !(sp_n < kept_spurious || (sp_n == kept_spurious && w->loglik > kept_ll)))
            continue;
        kept = 1;
        kept_ll = w->loglik;
        kept_spurious = sp_n;
        kept_iter = iter0 + w->iter;
        moe_em_copy_params(keep, w->m);
        res->best_trace = r;
        res->converged = t == MOE_SUCCESS && w->converged;
        res->separated = w->separated;
        res->ridge_experts = w->ridge_experts;
        res->ridge_gate = w->ridge_gate;
        res->dropped[0] = 0;
        drop_note(res->dropped, sizeof res->dropped, w, " on all rows");
    }
    if (!kept) {  /* every continued fit degenerated on every row: search them all */
        *fallback = 1;
        status = MOE_SUCCESS;
        goto done;
    }
    moe_model_free(res->model);
    res->model = keep;
    keep = NULL;
    res->loglik = kept_ll;
    res->iterations = kept_iter;
    status = MOE_SUCCESS;
done:
    if (status == MOE_ENOMEM)
        moe_error_set(err, MOE_ENOMEM, "fit: out of memory for the search's subsample of "
                      "%zu rows", m);
    if (status != MOE_SUCCESS || *fallback)
        moe_search_result_clear(res);
    for (size_t i = 0; i < MOE_SEARCH_RUNNERS; i++)
        moe_model_free(ru.m[i]);
    moe_model_free(keep);
    moe_em_free(ws);
    moe_dataset_free(ds);
    free(all);
    free(pick);
    free(h);
    return status;
}

int moe_train_search(moe_em_work *w, const moe_fit_options *opt, double ll_shift, gsl_rng *rng,
                     unsigned long (*stream_seed)(unsigned long, size_t, size_t),
                     const moe_search_extra *extra, moe_train_output *out,
                     moe_search_result *res, moe_error *err)
{
    (void)out;
    size_t m = search_rows(w, opt);
    int fallback = 1;
    if (m < w->n) {
        int st = search_subsample(w, m, opt, ll_shift, rng, stream_seed, extra, res, &fallback,
                                  err);
        if (st != MOE_SUCCESS)
            return st;
    }
    return fallback ? search_all_rows(w, opt, ll_shift, rng, stream_seed, extra, res, NULL, err)
                    : MOE_SUCCESS;
}
