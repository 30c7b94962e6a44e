/* em.c: EM for the softmax-gated mixture of Gaussian linear experts: workspace, M-steps,
 * the fused E-step pass, stopping and the separation rule.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * One iteration = the M-step from the current responsibilities h (experts: weighted least
 * squares from block-summed sufficient statistics; gate: one Newton step on the soft-target
 * multinomial logit with the exact Hessian and step-halving, a generalised EM step), then one
 * fused pass over the rows that computes the E-step (h, log-likelihood, gate sums) and, with
 * the new h, the sufficient statistics of the next M-step. Row blocks are fixed by n alone
 * and partial sums are added in block order, so a fit is bit-identical for any number of
 * OpenMP threads. Nothing is allocated after moe_em_alloc.
 *
 * Monotonicity: each M-step does not decrease the expected complete-data objective, so the
 * observed log-likelihood (minus the gate penalty when gate_ridge > 0) never decreases. A
 * decrease larger than 1e-8 |L| + 1e-10 is returned as MOE_ENUMERIC, never hidden. */
#include <config.h>

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experts/expert.h"
#include "gates/gate.h"
#include "train/em.h"
#include "train/estep.h"

/* Step-halving gives up after this many halvings (the old coefficients are kept). */
#define MAX_HALVINGS 30

moe_em_work *moe_em_alloc(const moe_dataset *d, size_t k, const moe_em_params *par)
{
    if (!d || !d->y || !par || k == 0 || k > MOE_K_MAX || d->n == 0)
        return NULL;
    moe_em_work *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->n = d->n;
    w->k = w->kmax = k;
    w->px = d->nx + 1;
    w->pz = d->nz + 1;
    w->d = d;
    w->par = *par;
    w->m = moe_model_alloc(k, d->nx, d->nz);
    if (!w->m) {
        free(w);
        return NULL;
    }
    const moe_expert_type *et = w->m->expert;
    const moe_gate_type *gt = w->m->gate;
    w->nb = moe_block_count(w->n);
    w->ess = et->stat_size(d->nx);
    w->gss = gt->stat_size(k, d->nz);
    w->np = gt->nparams(k, d->nz);
    size_t np1 = w->np + 1;
    w->h = malloc(w->n * k * sizeof *w->h);
    w->xpart = malloc(w->nb * k * w->ess * sizeof *w->xpart);
    w->xstat = malloc(k * w->ess * sizeof *w->xstat);
    w->gpart = malloc(w->nb * w->gss * sizeof *w->gpart);
    w->gstat = malloc(w->gss * sizeof *w->gstat);
    w->gtrial = malloc(w->gss * sizeof *w->gtrial);
    w->lpart = malloc(w->nb * (2 + k) * sizeof *w->lpart);
    w->theta = malloc(np1 * sizeof *w->theta);
    w->trial = malloc(np1 * sizeof *w->trial);
    w->grad = malloc(np1 * sizeof *w->grad);
    w->step = malloc(np1 * sizeof *w->step);
    w->nhess = malloc(np1 * np1 * sizeof *w->nhess);
    w->ework = malloc((et->work_size(d->nx) + 1) * sizeof *w->ework);
    w->prior = malloc(k * sizeof *w->prior);
    w->trace = malloc((par->max_iter + 2) * sizeof *w->trace);
    if (!w->h || !w->xpart || !w->xstat || !w->gpart || !w->gstat || !w->gtrial || !w->lpart ||
        !w->theta || !w->trial || !w->grad || !w->step || !w->nhess || !w->ework || !w->prior ||
        !w->trace) {
        moe_em_free(w);
        return NULL;
    }
    return w;
}

void moe_em_free(moe_em_work *w)
{
    if (!w)
        return;
    moe_model_free(w->m);
    free(w->h);
    free(w->xpart);
    free(w->xstat);
    free(w->gpart);
    free(w->gstat);
    free(w->gtrial);
    free(w->lpart);
    free(w->theta);
    free(w->trial);
    free(w->grad);
    free(w->step);
    free(w->nhess);
    free(w->ework);
    free(w->prior);
    free(w->trace);
    free(w);
}

/* (lambda / 2) * |slopes|^2 of the gate coefficients THETA. */
static double gate_penalty(const moe_em_work *w, const double *theta)
{
    if (!(w->par.gate_ridge > 0))
        return 0;
    const moe_gate_type *gt = w->m->gate;
    double s = 0;
    for (size_t j = 0; j < w->np; j++)
        if (gt->is_slope(j, w->k, w->pz - 1))
            s += theta[j] * theta[j];
    return 0.5 * w->par.gate_ridge * s;
}

/* The fused pass over the rows. With ESTEP: the E-step of the current model (h, loglik,
 * entropy, gate sums). Always: the expert statistics from h and the gate statistics at the
 * current gate coefficients (with derivatives). */
static void pass_full(moe_em_work *w, int estep)
{
    const moe_dataset *d = w->d;
    const moe_model *m = w->m;
    size_t k = w->k, nb = w->nb, n = w->n, kess = k * w->ess, gss = m->gate->stat_size(k,
                                                                                        d->nz);
    size_t lst = 2 + w->kmax;
    m->gate->get_params(m, w->theta);
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t b = 0; b < nb; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        double *xp = w->xpart + b * w->kmax * w->ess, *gp = w->gpart + b * w->gss;
        double *lp = w->lpart + b * lst;
        if (estep)
            lp[0] = moe_estep_rows(d, m, r0, r1, NULL, w->h, &lp[1], lp + 2);
        memset(xp, 0, kess * sizeof *xp);
        memset(gp, 0, gss * sizeof *gp);
        m->expert->stat_add(d, w->h, k, r0, r1, xp);
        if (k > 1)
            m->gate->stat_add(d, w->theta, w->h, k, r0, r1, 1, gp);
        else
            gp[0] = 0;
    }
    memset(w->xstat, 0, kess * sizeof *w->xstat);
    memset(w->gstat, 0, gss * sizeof *w->gstat);
    double ll = 0, ent = 0;
    for (size_t i = 0; i < k; i++)
        w->prior[i] = 0;
    for (size_t b = 0; b < nb; b++) {
        const double *xp = w->xpart + b * w->kmax * w->ess, *gp = w->gpart + b * w->gss;
        const double *lp = w->lpart + b * lst;
        for (size_t t = 0; t < kess; t++)
            w->xstat[t] += xp[t];
        for (size_t t = 0; t < gss; t++)
            w->gstat[t] += gp[t];
        if (estep) {
            ll += lp[0];
            ent += lp[1];
            for (size_t i = 0; i < k; i++)
                w->prior[i] += lp[2 + i];
        }
    }
    if (estep) {
        w->loglik = ll;
        w->entropy = ent;
        for (size_t i = 0; i < k; i++)
            w->prior[i] /= (double)n;
    }
}

/* The penalised soft-target objective at gate coefficients THETA with targets H. With DERIV,
 * the block-summed statistics (with derivatives) are left in w->gtrial for the next step. */
static double gate_q(moe_em_work *w, const double *theta, const double *h, int deriv)
{
    const moe_dataset *d = w->d;
    size_t nb = w->nb, n = w->n, k = w->k, gss = w->m->gate->stat_size(k, d->nz);
    if (k < 2)
        return 0;
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t b = 0; b < nb; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        double *gp = w->gpart + b * w->gss;
        memset(gp, 0, (deriv ? gss : 1) * sizeof *gp);
        w->m->gate->stat_add(d, theta, h, k, r0, r1, deriv, gp);
    }
    double q = 0;
    if (deriv)
        memset(w->gtrial, 0, gss * sizeof *w->gtrial);
    for (size_t b = 0; b < nb; b++) {
        const double *gp = w->gpart + b * w->gss;
        q += gp[0];
        if (deriv)
            for (size_t t = 0; t < gss; t++)
                w->gtrial[t] += gp[t];
    }
    return q - gate_penalty(w, theta);
}

/* Solves NHESS step = GRAD by Cholesky, adding a growing ridge when NHESS is not positive
 * definite (separation makes it nearly singular). NHESS is rebuilt from w->gstat on every
 * attempt because dposv overwrites it. Returns the ridge used, or -1 on failure. */
static double newton_solve(moe_em_work *w)
{
    size_t np = w->np, pz = w->pz;
    const moe_gate_type *gt = w->m->gate;
    double lambda = 0, tr = 0;
    for (int attempt = 0; attempt <= 12; attempt++) {
        gt->derivatives(w->gstat, w->k, pz - 1, w->grad, w->nhess);
        if (attempt == 0) {
            for (size_t j = 0; j < np; j++)
                tr += w->nhess[j * np + j];
        } else {
            lambda = lambda == 0 ? 1e-10 * (tr / (double)np + 1) : lambda * 10;
        }
        for (size_t j = 0; j < np; j++) {
            double pen = gt->is_slope(j, w->k, pz - 1) ? w->par.gate_ridge : 0;
            w->grad[j] -= pen * w->theta[j];
            w->nhess[j * np + j] += pen + lambda;
            w->step[j] = w->grad[j];
        }
        lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)np, 1, w->nhess,
                                        (lapack_int)np, w->step, 1);
        int finite = 1;
        for (size_t j = 0; info == 0 && j < np; j++)
            finite &= isfinite(w->step[j]) != 0;
        if (info == 0 && finite)
            return lambda;
    }
    return -1;
}

/* The gate M-step: Newton steps from the current coefficients (whose statistics with
 * targets h are in w->gstat), each halved until the penalised objective does not decrease,
 * until the predicted gain is negligible or MOE_EM_GATE_STEPS steps were taken. A single
 * step would already be a valid generalised EM step, but a nearly full M-step keeps the
 * early iterations from drifting away from the basin the start pointed at. */
static int gate_mstep(moe_em_work *w, double *q0_out, double *q1_out)
{
    size_t np = w->np, gss = w->m->gate->stat_size(w->k, w->pz - 1);
    double q0 = w->gstat[0] - gate_penalty(w, w->theta), q = q0;
    *q0_out = *q1_out = q0;
    if (w->k < 2)
        return MOE_SUCCESS;
    for (size_t it = 0; it < MOE_EM_GATE_STEPS; it++) {
        double ridge = newton_solve(w);
        if (ridge < 0) {
            w->halvings_failed++;
            break;  /* keep the current gate: Q does not decrease */
        }
        if (ridge > 0)
            w->ridge_gate++;
        /* predicted gain of the full step: grad' step - step' H step / 2 = grad' step / 2 */
        double pred = 0;
        for (size_t j = 0; j < np; j++)
            pred += w->grad[j] * w->step[j];
        pred *= 0.5;
        int tiny = !(pred > 1e-13 * (fabs(q) + 1));
        if (tiny && it > 0)
            break;
        double alpha = 1, qprev = q;
        int accepted = 0;
        for (int t = 0; t <= MAX_HALVINGS; t++, alpha *= 0.5) {
            for (size_t j = 0; j < np; j++)
                w->trial[j] = w->theta[j] + alpha * w->step[j];
            /* the full step also collects the derivatives for the next Newton step */
            double q1 = gate_q(w, w->trial, w->h, t == 0);
            if (isfinite(q1) && q1 >= q) {
                memcpy(w->theta, w->trial, np * sizeof *w->theta);
                if (t == 0)
                    memcpy(w->gstat, w->gtrial, gss * sizeof *w->gstat);
                w->m->gate->set_params(w->m, w->theta);
                q = q1;
                accepted = 1 + (t > 0);
                break;
            }
            if (tiny)
                break;  /* rounding noise: halving cannot help, keep the current gate */
        }
        if (!accepted) {
            if (!tiny)
                w->halvings_failed++;
            break;
        }
        /* stop after a halved step (no derivatives there: the next E-step pass brings them),
         * and once a step gains less than 1e-10 per row: with separable regimes Q creeps
         * towards 0 forever and the separation rule, not this loop, has to end it */
        if (accepted > 1 || q - qprev < 1e-10 * (double)w->n)
            break;
    }
    *q1_out = q;
    return MOE_SUCCESS;
}

int moe_em_gate_step(moe_em_work *w, const double *h, double *q0, double *q1)
{
    if (h != w->h)
        memcpy(w->h, h, w->n * w->k * sizeof *w->h);
    pass_full(w, 0);
    return gate_mstep(w, q0, q1);
}

double moe_em_gate_objective(moe_em_work *w, const double *h)
{
    w->m->gate->get_params(w->m, w->theta);
    return gate_q(w, w->theta, h, 0);
}

/* Removes expert I: its column of h (rows renormalised), its coefficients and gate row. */
static void drop_expert(moe_em_work *w, size_t i)
{
    size_t n = w->n, k = w->k, px = w->px, pz = w->pz;
    moe_model *m = w->m;
    for (size_t r = 0; r < n; r++) {
        const double *src = w->h + r * k;
        double *dst = w->h + r * (k - 1), s = 0, tmp[MOE_K_MAX];
        for (size_t j = 0, t = 0; j < k; j++)
            if (j != i)
                s += (tmp[t++] = src[j]);
        for (size_t t = 0; t + 1 < k; t++)
            dst[t] = s > 0 ? tmp[t] / s : 1.0 / (double)(k - 1);
    }
    memmove(m->beta + i * px, m->beta + (i + 1) * px, (k - 1 - i) * px * sizeof *m->beta);
    memmove(m->sigma + i, m->sigma + i + 1, (k - 1 - i) * sizeof *m->sigma);
    memmove(m->gate_coef + i * pz, m->gate_coef + (i + 1) * pz,
            (k - 1 - i) * pz * sizeof *m->gate_coef);
    /* the last row is the reference: subtracting it from every logit leaves g unchanged */
    double *ref = m->gate_coef + (k - 2) * pz;
    for (size_t t = 0; t + 1 < k - 1; t++)
        for (size_t j = 0; j < pz; j++)
            m->gate_coef[t * pz + j] -= ref[j];
    memset(ref, 0, pz * sizeof *ref);
    w->k = m->k = k - 1;
    w->np = m->gate->nparams(w->k, pz - 1);
    w->dropped++;
}

/* Shared tail of the initialisers: responsibilities are in w->h. */
static int init_from_h(moe_em_work *w)
{
    moe_model *m = w->m;
    w->k = m->k = w->kmax;
    w->np = m->gate->nparams(w->k, w->pz - 1);
    memset(m->beta, 0, w->k * w->px * sizeof *m->beta);
    memset(m->gate_coef, 0, w->k * w->pz * sizeof *m->gate_coef);
    for (size_t i = 0; i < w->k; i++)
        m->sigma[i] = 1;
    w->iter = 0;
    w->converged = w->separated = 0;
    w->ridge_experts = w->ridge_gate = w->halvings_failed = w->dropped = 0;
    w->loglik = w->objective = w->prev_objective = -INFINITY;
    w->entropy = 0;
    w->message[0] = 0;
    pass_full(w, 0);
    return MOE_SUCCESS;
}

int moe_em_init_h(moe_em_work *w, const double *h)
{
    if (h != w->h)
        memcpy(w->h, h, w->n * w->kmax * sizeof *w->h);
    return init_from_h(w);
}

int moe_em_iterate(moe_em_work *w)
{
    moe_model *m = w->m;
    const moe_expert_type *et = m->expert;
    size_t k = w->k;
    /* experts */
    for (size_t i = 0; i < k; i++) {
        const double *st = w->xstat + i * w->ess;
        double eff = et->stat_weight(st);
        if (!(eff >= (double)w->px)) {
            snprintf(w->message, sizeof w->message,
                     "expert %zu degenerated: effective size %.3g below its %zu coefficients",
                     i + 1, eff, w->px);
            return MOE_ESING;
        }
        double ridge = 0;
        if (et->mstep(st, i, w->par.var_floor, m, w->ework, &ridge) != MOE_SUCCESS) {
            snprintf(w->message, sizeof w->message,
                     "expert %zu: weighted least squares singular even with a ridge", i + 1);
            return MOE_ESING;
        }
        if (ridge > 0)
            w->ridge_experts++;
    }
    /* gate */
    double q0, q1;
    gate_mstep(w, &q0, &q1);
    /* E-step and the next M-step's statistics */
    pass_full(w, 1);
    w->iter++;
    w->trace[w->iter - 1] = w->loglik;
    w->prev_objective = w->objective;
    w->objective = w->loglik - gate_penalty(w, w->theta);
    if (!isfinite(w->objective)) {
        snprintf(w->message, sizeof w->message,
                 "log-likelihood not finite at iteration %zu", w->iter);
        return MOE_ENUMERIC;
    }
    double drop = w->prev_objective - w->objective;
    if (isfinite(w->prev_objective) &&
        drop > 1e-8 * fabs(w->prev_objective) + 1e-10) {
        snprintf(w->message, sizeof w->message,
                 "internal error: EM objective decreased by %.3g (from %.17g to %.17g) at "
                 "iteration %zu", drop, w->prev_objective, w->objective, w->iter);
        return MOE_ENUMERIC;
    }
    /* flexmix's minprior: drop experts whose prior fell below min_prior, smallest first */
    if (w->par.min_prior > 0 && w->k > 1) {
        int any = 0;
        for (;;) {
            size_t worst = 0;
            for (size_t i = 1; i < w->k; i++)
                if (w->prior[i] < w->prior[worst])
                    worst = i;
            if (w->k < 2 || !(w->prior[worst] < w->par.min_prior))
                break;
            snprintf(w->message, sizeof w->message,
                     "expert %zu dropped at iteration %zu: prior %.3g below min-prior %g",
                     worst + 1, w->iter, w->prior[worst], w->par.min_prior);
            for (size_t i = worst; i + 1 < w->k; i++)
                w->prior[i] = w->prior[i + 1];
            drop_expert(w, worst);
            any = 1;
        }
        if (any) {
            pass_full(w, 0);
            w->objective = -INFINITY;  /* the next iteration is not comparable */
        }
    }
    return MOE_SUCCESS;
}

int moe_em_test(moe_em_work *w)
{
    size_t t = w->iter;
    if (t >= 2) {
        double l1 = w->trace[t - 1], l0 = w->trace[t - 2];
        int conv = fabs(l1 - l0) <= w->par.tol * fabs(l1);
        /* Separation rule: when the regimes are separable the gate's likelihood keeps rising
         * as its slopes grow without bound, so the MLE is infinite. On the standardised scale
         * a slope above MOE_EM_SEPARATION_SLOPE (25) makes the gate switch within about
         * 0.2 SD of its input; if moreover the log-likelihood gained less than sqrt(tol)
         * relative over the last MOE_EM_SEPARATION_WINDOW (10) iterations, we stop and
         * report that the gate separates the regimes: its coefficients are not identified,
         * its boundaries are. The rule is also applied at ordinary convergence. Never with a
         * gate ridge, which keeps the MLE finite. */
        int sep = 0;
        if (w->k > 1 && !(w->par.gate_ridge > 0)) {
            double mx = 0;
            const moe_gate_type *gt = w->m->gate;
            for (size_t j = 0; j < w->np; j++)
                if (gt->is_slope(j, w->k, w->pz - 1) && fabs(w->theta[j]) > mx)
                    mx = fabs(w->theta[j]);
            if (mx > MOE_EM_SEPARATION_SLOPE) {
                if (conv)
                    sep = 1;
                else if (t > MOE_EM_SEPARATION_WINDOW) {
                    double lw = w->trace[t - 1 - MOE_EM_SEPARATION_WINDOW];
                    sep = l1 - lw <= sqrt(w->par.tol) * fabs(l1);
                }
            }
        }
        if (conv || sep) {
            w->converged = 1;
            w->separated = sep;
            return MOE_SUCCESS;
        }
    }
    if (t >= w->par.max_iter)
        return MOE_EMAXITER;
    return MOE_CONTINUE;
}
