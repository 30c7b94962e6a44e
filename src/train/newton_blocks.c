/* newton_blocks.c: the shared weighted-Newton driver for an objective that separates over
 * independent blocks of its parameters, Q(theta) = sum_b Q_b(theta_b) (the tree gate's nodes:
 * issue 12). Its Hessian is block-diagonal, so every block runs moe_newton_maximise's rules
 * on its own (Cholesky with a growing ridge, step-halving until Q_b does not fall, the same
 * stopping rules on Q_b), and a pass over the rows evaluates only the blocks still running:
 * a block that has converged costs nothing in the passes that the others still need. Each
 * Q_b never falls, so neither does Q; the maximiser is the joint one (the blocks share no
 * parameters).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "moe.h"
#include "train/newton.h"

/* as in newton.c */
#define MAX_HALVINGS 30
#define MAX_RIDGES 12

/* Solves the block's NH step = G (n x n) by Cholesky in A, with a growing ridge when needed.
 * Returns the ridge used (0 when none), -1 when no ridge helped, -2 on a LAPACK argument
 * error. */
static double solve_block(const double *nh, const double *g, size_t n, double *a, double *step)
{
    double lambda = 0, tr = 0;
    for (size_t j = 0; j < n; j++)
        tr += nh[j * n + j];
    for (int attempt = 0; attempt <= MAX_RIDGES; attempt++) {
        if (attempt > 0)
            lambda = lambda == 0 ? 1e-10 * (tr / (double)n + 1) : lambda * 10;
        memcpy(a, nh, n * n * sizeof *a);
        for (size_t j = 0; j < n; j++) {
            a[j * n + j] += lambda;
            step[j] = g[j];
        }
        lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, 1, a,
                                        (lapack_int)n, step, 1);
        if (info < 0)
            return -2;
        int finite = 1;
        for (size_t j = 0; info == 0 && j < n; j++)
            finite &= isfinite(step[j]) != 0;
        if (info == 0 && finite)
            return lambda;
    }
    return -1;
}

/* One block's place in its Newton run. */
typedef struct {
    size_t it;       /* Newton steps begun */
    int trial;       /* -1: needs a step from its derivatives; t >= 0: halving t on trial */
    int done, tiny;
    int last;        /* newton.c's one last full step of an objective without a row scale */
    double alpha, q, qprev;
} block_state;

int moe_newton_maximise_blocks(const moe_newton_blocks *p, double *theta, const double *q_start,
                               moe_newton_work *w, moe_newton_report *rep)
{
    size_t nb = p->nb, np = p->off[nb];
    memset(rep, 0, sizeof *rep);
    if (nb > MOE_NEWTON_BLOCKS_MAX)
        return MOE_EINVAL;
    block_state bs[MOE_NEWTON_BLOCKS_MAX];
    unsigned char active[MOE_NEWTON_BLOCKS_MAX];
    double qt[MOE_NEWTON_BLOCKS_MAX];
    memset(bs, 0, nb * sizeof *bs);
    for (size_t b = 0; b < nb; b++) {
        bs[b].q = q_start[b];
        bs[b].trial = -1;
        bs[b].done = p->off[b + 1] == p->off[b] || !isfinite(q_start[b]);
        rep->q0 += q_start[b];
    }
    memcpy(w->trial, theta, np * sizeof *theta);
    int status = MOE_SUCCESS;
    for (;;) {
        /* block b's negative Hessian is n_b x n_b at hoff = the sum of the earlier n_b'^2 */
        size_t nact = 0, hoff = 0;
        for (size_t b = 0; b < nb; b++) {
            size_t o = p->off[b], n = p->off[b + 1] - o, ho = hoff;
            hoff += n * n;
            block_state *s = &bs[b];
            active[b] = 0;
            if (s->done)
                continue;
            if (s->trial < 0) {  /* a new Newton step from the derivatives at theta_b */
                if (s->it >= p->max_steps) {
                    s->done = 1;
                    continue;
                }
                double ridge = solve_block(w->nhess + ho, w->grad + o, n, w->a, w->step + o);
                if (ridge == -2) {
                    status = MOE_EINVAL;
                    goto out;
                }
                if (ridge < 0) {
                    rep->failed = 1;
                    s->done = 1;
                    continue;
                }
                if (ridge > 0)
                    rep->ridged++;
                double pred = 0;
                for (size_t j = 0; j < n; j++)
                    pred += w->grad[o + j] * w->step[o + j];
                pred *= 0.5;
                s->tiny = !(pred > 1e-13 * (fabs(s->q) + 1));
                if (s->tiny && s->it > 0 && p->rows > 0) {
                    s->done = 1;
                    continue;
                }
                s->last = s->tiny && s->it > 0;
                s->it++;
                s->trial = 0;
                s->alpha = 1;
                s->qprev = s->q;
            }
            for (size_t j = 0; j < n; j++)
                w->trial[o + j] = theta[o + j] + s->alpha * w->step[o + j];
            /* the full step also collects the derivatives for the next Newton step */
            active[b] = s->trial == 0 ? 2 : 1;
            nact++;
        }
        if (!nact)
            break;
        p->eval(p->ctx, w->trial, active, qt, w->tgrad, w->tnhess);
        hoff = 0;
        for (size_t b = 0; b < nb; b++) {
            size_t o = p->off[b], n = p->off[b + 1] - o, ho = hoff;
            hoff += n * n;
            block_state *s = &bs[b];
            if (!active[b])
                continue;
            double q1 = qt[b];
            /* the last full step's gain is below the objective's rounding, so it may sit a
             * rounding error under q: accepted, as in newton.c */
            double floor_q = s->last ? s->q - 1e-13 * (fabs(s->q) + 1) : s->q;
            if (isfinite(q1) && q1 >= floor_q) {
                memcpy(theta + o, w->trial + o, n * sizeof *theta);
                if (s->trial == 0) {
                    memcpy(w->grad + o, w->tgrad + o, n * sizeof *w->grad);
                    memcpy(w->nhess + ho, w->tnhess + ho, n * n * sizeof *w->nhess);
                }
                int halved = s->trial > 0;
                s->q = q1;
                rep->steps++;
                s->trial = -1;
                /* stop after a halved step (no derivatives there), after the last one, and
                 * once a step gains less than 1e-10 per row */
                if (halved || s->last || (p->rows > 0 && s->q - s->qprev < 1e-10 * p->rows))
                    s->done = 1;
                continue;
            }
            if (s->tiny || s->trial >= MAX_HALVINGS) {  /* keep the current point */
                if (!s->tiny)
                    rep->failed = 1;
                s->done = 1;
                continue;
            }
            s->trial++;
            s->alpha *= 0.5;
        }
    }
out:
    for (size_t b = 0; b < nb; b++)
        rep->q1 += bs[b].q;
    return status;
}
