/* newton.c: the shared weighted-Newton driver (moe_newton_maximise): exact Hessian,
 * step-halving so that the objective never falls, growing ridge when the negative Hessian is
 * not positive definite. The gate M-step and every Newton expert M-step use it.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "moe.h"
#include "train/newton.h"

/* Step-halving gives up after this many halvings (the old parameters are kept). */
#define MAX_HALVINGS 30
/* Ridge attempts before the step is given up. */
#define MAX_RIDGES 12

moe_newton_work *moe_newton_alloc(size_t npmax)
{
    moe_newton_work *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    size_t n1 = npmax + 1, nn = n1 * n1;
    w->npmax = npmax;
    w->grad = malloc(n1 * sizeof *w->grad);
    w->tgrad = malloc(n1 * sizeof *w->tgrad);
    w->step = malloc(n1 * sizeof *w->step);
    w->trial = malloc(n1 * sizeof *w->trial);
    w->nhess = malloc(nn * sizeof *w->nhess);
    w->tnhess = malloc(nn * sizeof *w->tnhess);
    w->a = malloc(nn * sizeof *w->a);
    if (!w->grad || !w->tgrad || !w->step || !w->trial || !w->nhess || !w->tnhess || !w->a) {
        moe_newton_free(w);
        return NULL;
    }
    return w;
}

void moe_newton_free(moe_newton_work *w)
{
    if (!w)
        return;
    free(w->grad);
    free(w->tgrad);
    free(w->step);
    free(w->trial);
    free(w->nhess);
    free(w->tnhess);
    free(w->a);
    free(w);
}

/* Solves nhess step = grad by Cholesky, with a growing ridge when needed. Returns the ridge
 * used (0 when none), -1 when no ridge helped, -2 on a LAPACK argument error. */
static double solve(moe_newton_work *w, size_t np)
{
    double lambda = 0, tr = 0;
    for (size_t j = 0; j < np; j++)
        tr += w->nhess[j * np + j];
    for (int attempt = 0; attempt <= MAX_RIDGES; attempt++) {
        if (attempt > 0)
            lambda = lambda == 0 ? 1e-10 * (tr / (double)np + 1) : lambda * 10;
        memcpy(w->a, w->nhess, np * np * sizeof *w->a);
        for (size_t j = 0; j < np; j++) {
            w->a[j * np + j] += lambda;
            w->step[j] = w->grad[j];
        }
        lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)np, 1, w->a,
                                        (lapack_int)np, w->step, 1);
        if (info < 0)
            return -2;
        int finite = 1;
        for (size_t j = 0; info == 0 && j < np; j++)
            finite &= isfinite(w->step[j]) != 0;
        if (info == 0 && finite)
            return lambda;
    }
    return -1;
}

double moe_newton_solve(moe_newton_work *w, size_t np) { return solve(w, np); }

int moe_newton_maximise(const moe_newton_problem *p, double *theta, int have_deriv,
                        double q_start, moe_newton_work *w, moe_newton_report *rep)
{
    size_t np = p->np;
    memset(rep, 0, sizeof *rep);
    double q = have_deriv ? q_start : p->eval(p->ctx, theta, 1, w->grad, w->nhess);
    rep->q0 = rep->q1 = q;
    if (np == 0 || !isfinite(q))
        return MOE_SUCCESS;
    for (size_t it = 0; it < p->max_steps; it++) {
        double ridge = solve(w, np);
        if (ridge == -2)
            return MOE_EINVAL;
        if (ridge < 0) {
            rep->failed = 1;
            break;  /* keep the current parameters: the objective does not fall */
        }
        if (ridge > 0)
            rep->ridged++;
        /* predicted gain of the full step: grad' step - step' H step / 2 = grad' step / 2 */
        double pred = 0;
        for (size_t j = 0; j < np; j++)
            pred += w->grad[j] * w->step[j];
        pred *= 0.5;
        int tiny = !(pred > 1e-13 * (fabs(q) + 1));
        /* without a row scale (an expert's M-step) one last full step is still taken unless
         * it lowers the objective by more than rounding: near the optimum a Newton step
         * doubles the digits that are right, and the coefficients then reach full precision */
        if (tiny && it > 0 && p->rows > 0)
            break;
        if (tiny && it > 0) {
            for (size_t j = 0; j < np; j++)
                w->trial[j] = theta[j] + w->step[j];
            double q1 = p->eval(p->ctx, w->trial, 0, w->tgrad, w->tnhess);
            /* the gain is below the objective's rounding, so q1 may sit a rounding error
             * under q: accept that, not a real fall */
            if (isfinite(q1) && q1 >= q - 1e-13 * (fabs(q) + 1)) {
                memcpy(theta, w->trial, np * sizeof *theta);
                q = q1;
                rep->steps++;
            }
            break;
        }
        double alpha = 1, qprev = q;
        int accepted = 0;
        for (int t = 0; t <= MAX_HALVINGS; t++, alpha *= 0.5) {
            for (size_t j = 0; j < np; j++)
                w->trial[j] = theta[j] + alpha * w->step[j];
            /* the full step also collects the derivatives for the next Newton step, when
             * there is one */
            int more = it + 1 < p->max_steps;
            double q1 = p->eval(p->ctx, w->trial, t == 0 && more, w->tgrad, w->tnhess);
            if (isfinite(q1) && q1 >= q) {
                memcpy(theta, w->trial, np * sizeof *theta);
                if (t == 0 && more) {
                    double *s = w->grad;
                    w->grad = w->tgrad;
                    w->tgrad = s;
                    s = w->nhess;
                    w->nhess = w->tnhess;
                    w->tnhess = s;
                }
                q = q1;
                accepted = 1 + (t > 0);
                rep->steps++;
                break;
            }
            if (tiny)
                break;  /* rounding noise: halving cannot help, keep the current point */
        }
        if (!accepted) {
            if (!tiny)
                rep->failed = 1;
            break;
        }
        /* stop after a halved step (no derivatives there), and once a step gains less than
         * 1e-10 per row: with separable regimes a gate's Q creeps towards 0 forever and the
         * trainer's separation rule, not this loop, has to end it */
        if (accepted > 1 || (p->rows > 0 && q - qprev < 1e-10 * p->rows))
            break;
    }
    rep->q1 = q;
    return MOE_SUCCESS;
}
