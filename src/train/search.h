/* search.h: the global search of one K (src/train/search.c): many short EM runs from diverse
 * starts, the best few continued to convergence (emEM). Internal to libmoe; select.c calls it
 * for every K of the range.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_TRAIN_SEARCH_H
#define MOE_TRAIN_SEARCH_H

#include <gsl/gsl_rng.h>

#include "train/em.h"
#include "train/select.h"

/* Degenerate starts are redrawn (from random responsibilities) at most this many times. */
#define MAX_REDRAWS 3

/* Two runs reach the same maximum when their log-likelihoods differ by at most
 * MOE_SEARCH_SAME_ABS + MOE_SEARCH_SAME_REL |loglik| (the summary states it). */
#define MOE_SEARCH_SAME_ABS 1e-3
#define MOE_SEARCH_SAME_REL 1e-6

/* moe_fit_options.search_rows = 0: from MOE_SEARCH_SUBSAMPLE_FROM rows on, the search runs
 * on a random subsample of max(MOE_SEARCH_ROWS, MOE_SEARCH_ROWS_PER_EXPERT K) rows and only
 * its best fit is continued on every row (bench/README.md: the default fit of 10^6 rows). */
#define MOE_SEARCH_SUBSAMPLE_FROM 50000
#define MOE_SEARCH_ROWS 20000
#define MOE_SEARCH_ROWS_PER_EXPERT 2000
/* ... and besides its best fit, up to this many runners-up (distinct maxima) are continued on
 * every row, the highest there kept: nearby maxima can change places on a subsample. */
#define MOE_SEARCH_RUNNERS 2

/* What the search of one K leaves behind; moe_search_result_clear frees it. */
typedef struct moe_search_result {
    moe_model *model;       /* the best run's model, standardised scale (NULL: none usable) */
    double loglik;          /* its log-likelihood, standardised scale */
    double **traces;        /* ntraces log-likelihood traces (data scale), one per start,
                               NULL for a start that gave no fit; a continued start's trace
                               runs on through its continuation */
    size_t *trace_len;
    size_t ntraces, best_trace;
    size_t iterations;      /* EM iterations of the best run, short run and continuation */
    int converged, separated;  /* how the best run stopped */
    moe_search_report report;  /* starts, runs finished, how many reached the best */
    size_t ridge_experts, ridge_gate;  /* ridge fallbacks of the best run (short + continued) */
    char dropped[400];      /* the best run's min-prior drops, "" when none */
    size_t redraws;         /* degenerate starts redrawn, in all */
    size_t redrawn_starts;  /* starts that needed a redraw */
    char first_redraw[300]; /* the first redraw's message, "" when none */
} moe_search_result;

/* One more start after OPT->restarts, from a model (a tree's start from the best flat fit of
 * its root's branching, src/train/select.c): PREPARE(FROM, RNG, START) fills START from FROM
 * with the start's random stream, then EM starts from START. FROM NULL: none. LABEL names the
 * model in warnings ("K = 3", "tree 2x2"). */
typedef struct moe_search_extra {
    const moe_model *from;
    moe_model *start;
    void (*prepare)(const moe_model *from, gsl_rng *rng, moe_model *start);
    const char *label;
} moe_search_extra;

/* Runs the search for the workspace's K = w->kmax on its data: OPT->restarts starts (their
 * kinds by OPT->init), each drawn from the random stream that STREAM_SEED(seed, K, start)
 * seeds in RNG, run for OPT->short_iter EM iterations (0: to convergence); the
 * OPT->keep best are continued to convergence (tol, max_iter in all); EXTRA (may be NULL) adds
 * one start from a model. With more rows than OPT->search_rows allows (see MOE_SEARCH_ROWS),
 * all of that runs on a seeded random subsample of the rows, the same on every rank of a
 * moe_comm, and the subsample's best fit is then continued on every row (EM from its
 * parameters; the whole search on every row instead when that fit gives nothing usable).
 * Nothing is warned here: RES counts what the caller reports about the
 * fit it keeps (OUT is unused).
 * LL_SHIFT turns standardised log-likelihoods into the data's. Returns MOE_SUCCESS
 * (RES->model NULL when no start was usable), MOE_ENOMEM or MOE_ENUMERIC (ERR says why). */
int moe_train_search(moe_em_work *w, const moe_fit_options *opt, double ll_shift, gsl_rng *rng,
                     unsigned long (*stream_seed)(unsigned long, size_t, size_t),
                     const moe_search_extra *extra, moe_train_output *out,
                     moe_search_result *res, moe_error *err);

void moe_search_result_clear(moe_search_result *res);

#endif
