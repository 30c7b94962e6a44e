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
    double rows;       /* the problem's size: a step gaining < 1e-10 * rows ends the steps */
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

#endif
