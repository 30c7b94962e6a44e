/* newton.h: the one weighted-Newton driver of the trainers: the gate's M-step and every IRLS
 * (Newton) expert M-step maximise their objective through it.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_TRAIN_NEWTON_H
#define MOE_TRAIN_NEWTON_H

#include <stddef.h>

/* An objective to maximise over NP parameters. EVAL returns its value at THETA and, when
 * DERIV, writes the gradient GRAD (np) and the negative Hessian NEG_HESS (np x np, full,
 * row-major); a non-finite value means THETA is unusable. */
typedef struct moe_newton_problem {
    size_t np;
    double (*eval)(void *ctx, const double *theta, int deriv, double *grad, double *neg_hess);
    void *ctx;
    double rows;       /* the problem's size: a step gaining < 1e-10 * rows ends the steps
                          (0: only a negligible predicted gain or max_steps end them) */
    size_t max_steps;  /* Newton steps at most */
} moe_newton_problem;

/* Scratch space for problems of up to NP parameters, allocated once. */
typedef struct moe_newton_work {
    size_t npmax;
    double *grad, *nhess;          /* derivatives at the current theta */
    double *tgrad, *tnhess;        /* derivatives at a trial point */
    double *a, *step, *trial;      /* the factorised system, the step, the trial point */
} moe_newton_work;

moe_newton_work *moe_newton_alloc(size_t npmax);
void moe_newton_free(moe_newton_work *w);

/* What one call did. */
typedef struct moe_newton_report {
    double q0, q1;       /* objective before and after (q1 >= q0) */
    size_t steps;        /* accepted steps */
    size_t ridged;       /* steps whose negative Hessian needed a ridge to be positive definite */
    int failed;          /* 1: no ascent found (the last accepted theta is kept) */
} moe_newton_report;

/* Newton steps from THETA (updated in place): each solves NEG_HESS step = GRAD by Cholesky,
 * adding a ridge 1e-10 (trace/np + 1) growing tenfold when NEG_HESS is not positive
 * definite, then halves the step until the objective does not fall. Stops when the
 * predicted gain is negligible, after a halved step, when a step gains < 1e-10 * rows, or
 * after max_steps. When HAVE_DERIV, W->grad and W->nhess already hold the derivatives at
 * THETA and Q_START its objective (saves one evaluation); else the driver evaluates.
 * Returns MOE_SUCCESS, or MOE_EINVAL when LAPACK rejects an argument (a programming error). */
int moe_newton_maximise(const moe_newton_problem *p, double *theta, int have_deriv,
                        double q_start, moe_newton_work *w, moe_newton_report *rep);

/* The Newton step alone: solves W->nhess step = W->grad (NP parameters) into W->step by
 * Cholesky with the same growing ridge. Returns the ridge used (0 when none), -1 when no
 * ridge helped (no step), -2 when LAPACK rejects an argument. For a caller that checks the
 * step itself (EM's one-pass gate step). */
double moe_newton_solve(moe_newton_work *w, size_t np);

/* Blocks of one moe_newton_blocks problem, at most. */
#define MOE_NEWTON_BLOCKS_MAX 64

/* An objective that separates over NB (<= MOE_NEWTON_BLOCKS_MAX) blocks of its parameters, Q = sum_b Q_b(theta_b),
 * block b being theta[off[b]] .. theta[off[b+1] - 1] (OFF: NB + 1 offsets, off[0] = 0, off[NB]
 * = np). EVAL computes, at THETA, the blocks with ACTIVE[b] != 0: Q_b into QB[b] and, when
 * ACTIVE[b] == 2, block b's gradient into GRAD (at off[b]) and its negative Hessian (n_b x n_b,
 * full, row-major) into NEG_HESS at the sum of the earlier blocks' n_b'^2; it leaves the
 * other blocks' entries alone (their values at THETA are not asked for). */
typedef struct moe_newton_blocks {
    size_t nb;
    const size_t *off;
    void (*eval)(void *ctx, const double *theta, const unsigned char *active, double *qb,
                 double *grad, double *neg_hess);
    void *ctx;
    double rows;       /* as for moe_newton_problem, applied to each block's Q_b */
    size_t max_steps;  /* Newton steps at most, per block */
} moe_newton_blocks;

/* moe_newton_maximise on each block at once (src/train/newton_blocks.c): every block takes its
 * own steps, halvings and stop, and a pass evaluates only the blocks still running. W->grad
 * and W->nhess hold the derivatives at THETA in EVAL's layout, Q_START the blocks' Q_b there.
 * REP sums the blocks (steps, ridged; failed when any block failed). MOE_SUCCESS, or
 * MOE_EINVAL when LAPACK rejects an argument or NB is too large (programming errors). */
int moe_newton_maximise_blocks(const moe_newton_blocks *p, double *theta, const double *q_start,
                               moe_newton_work *w, moe_newton_report *rep);

#endif
