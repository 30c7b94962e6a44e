/* em.c: EM for a mixture of experts of any family and gate: workspace, M-steps, the fused
 * E-step pass, stopping and the separation rule.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * One iteration = the M-step from the current responsibilities h (experts: the family's
 * closed form from block-summed sufficient statistics, or Newton steps of the shared driver
 * for IRLS families; gate: Newton steps on the soft-target objective with the exact Hessian
 * and step-halving, a generalised EM step), then one
 * fused pass over the rows that computes the E-step (h, log-likelihood, gate sums) and, with
 * the new h, the sufficient statistics of the next M-step. Row blocks are fixed by n alone
 * and partial sums are added in block order, so a fit is bit-identical for any number of
 * OpenMP threads. Nothing is allocated after moe_em_alloc.
 *
 * Under a moe_comm (par.comm: ranks that hold the same data) each pass computes only this
 * rank's blocks and gathers the other ranks' block partials before the same block-order
 * sums, so every rank reaches the single-process iterate bit for bit; h is then current only
 * in this rank's rows until moe_em_full_h gathers it.
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
#include "train/squarem.h"
#include "model/estep.h"

/* A block's partials of the E-step pass (w->lpart): log-likelihood, entropy, the K gate sums,
 * the K responsibility sums, then the gate's Q against the previous targets. */
#define LP_STRIDE(kmax) (3 + 2 * (kmax))
#define LP_GATE_Q(kmax) (2 + 2 * (kmax))

int moe_em_accel(int accel, size_t n)
{
    return accel > 0 || (accel == 0 && n >= MOE_EM_GEM_ROWS);
}

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
    w->eshape = (moe_expert_shape){d->nx, par->hidden, par->activation};
    w->m = moe_model_alloc_typed(par->expert, par->gate, k, &w->eshape, d->nz);
    if (!w->m) {
        free(w);
        return NULL;
    }
    const moe_expert_type *et = w->m->expert;
    const moe_gate_type *gt = w->m->gate;
    w->nb = moe_block_count(w->n);
    moe_comm_own_blocks(par->comm, w->nb, &w->b0, &w->b1);
    w->ess = et->mstep ? et->stat_size(&w->eshape) : 0;
    w->nss = et->mstep ? 0 : et->newton_size(&w->eshape);
    w->m->top_k = par->top_k;
    if ((par->tree_depth && moe_model_set_tree(w->m, par->tree_depth, par->tree)) ||
        !(w->mtrial = moe_model_copy(w->m))) {
        moe_model_free(w->m);
        free(w);
        return NULL;
    }
    w->shape = moe_model_gate_shape(w->m);
    w->gss = gt->stat_size(&w->shape);
    w->np = gt->nparams(&w->shape);
    if (gt->groups && k > 1 && (w->ngroups = gt->groups(&w->shape, NULL)) > 1) {
        gt->groups(&w->shape, w->goff);
        memset(w->gall, 2, w->ngroups);
        w->gss += w->ngroups - 1;  /* group_stat_add's layout: a Q per group */
    } else {
        w->ngroups = 0;
    }
    size_t np1 = w->np + 1, nep = et->nparams(&w->eshape);
    w->h = malloc(w->n * k * sizeof *w->h);
    w->xpart = malloc((w->nb * k * w->ess + 1) * sizeof *w->xpart);
    w->xstat = malloc((k * w->ess + 1) * sizeof *w->xstat);
    w->npart = malloc((w->nb * w->nss + 1) * sizeof *w->npart);
    w->nstat = malloc((w->nss + 1) * sizeof *w->nstat);
    w->gpart = malloc(w->nb * w->gss * sizeof *w->gpart);
    w->gstat = malloc(w->gss * sizeof *w->gstat);
    w->gtrial = malloc(w->gss * sizeof *w->gtrial);
    w->lpart = malloc(w->nb * LP_STRIDE(k) * sizeof *w->lpart);
    w->theta = malloc(np1 * sizeof *w->theta);
    w->etheta = malloc((nep + 1) * sizeof *w->etheta);
    w->newton = moe_newton_alloc(w->np > nep ? w->np : nep);
    w->ework = malloc(((et->work_size ? et->work_size(&w->eshape) : 0) + 1) *
                      sizeof *w->ework);
    w->prior = malloc(k * sizeof *w->prior);
    w->hsum = malloc(k * sizeof *w->hsum);
    w->trace = malloc((par->max_iter + 2) * sizeof *w->trace);
    w->slope = malloc((par->max_iter + 2) * sizeof *w->slope);
    w->coff = malloc(((par->comm ? par->comm->size : 0) + 1) * sizeof *w->coff);
    if (par->accel) {
        w->sq = malloc(3 * (moe_squarem_size(w->m) + 1) * sizeof *w->sq);
        w->msq = moe_model_copy(w->m);
        if (!w->sq || !w->msq) {
            moe_em_free(w);
            return NULL;
        }
    }
    if (!w->coff || !w->h || !w->xpart || !w->xstat || !w->npart || !w->nstat || !w->gpart ||
        !w->gstat || !w->gtrial || !w->lpart || !w->theta || !w->etheta || !w->newton ||
        !w->ework || !w->prior || !w->hsum || !w->trace || !w->slope) {
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
    moe_model_free(w->mtrial);
    moe_model_free(w->msq);
    free(w->sq);
    free(w->h);
    free(w->xpart);
    free(w->xstat);
    free(w->npart);
    free(w->nstat);
    free(w->gpart);
    free(w->gstat);
    free(w->gtrial);
    free(w->lpart);
    free(w->theta);
    free(w->etheta);
    moe_newton_free(w->newton);
    free(w->ework);
    free(w->prior);
    free(w->hsum);
    free(w->trace);
    free(w->slope);
    free(w->coff);
    free(w);
}

/* A new run, or a model changed outside the iterations: the next SQUAREM cycle starts
 * afresh. */
static void squarem_reset(moe_em_work *w)
{
    w->sq_phase = 0;
    w->sq_after = 0;
    w->sq_step_max = MOE_SQUAREM_STEP_MAX0;
}

/* (lambda / 2) * |slopes|^2 of the gate coefficients THETA. */
static double gate_penalty(const moe_em_work *w, const double *theta)
{
    if (!(w->par.gate_ridge > 0))
        return 0;
    const moe_gate_type *gt = w->m->gate;
    double s = 0;
    for (size_t j = 0; j < w->np; j++)
        if (gt->is_slope(j, &w->shape))
            s += theta[j] * theta[j];
    return 0.5 * w->par.gate_ridge * s;
}

/* The fused pass over the rows. With ESTEP: the E-step of the current model (h, loglik,
 * entropy, gate sums), and with GATE_Q also the gate's M-step objective at its current
 * coefficients against the targets h held before (into w->gate_q_step: Q at the step the
 * one-pass M-step took). Always: the expert statistics from h and the gate statistics at the
 * current gate coefficients (with derivatives). */
static void pass_full(moe_em_work *w, int estep, int gate_q)
{
    const moe_dataset *d = w->d;
    const moe_model *m = w->m;
    size_t k = w->k, nb = w->nb, n = w->n, kess = k * w->ess;
    size_t gss = m->gate->stat_size(&w->shape) + (w->ngroups ? w->ngroups - 1 : 0);
    size_t lst = LP_STRIDE(w->kmax);
    m->gate->get_theta(&w->shape, m->gate_par, w->theta);
    w->passes++;
#pragma omp parallel for schedule(static) if (w->b1 - w->b0 > 1)
    for (size_t b = w->b0; b < w->b1; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        double *xp = w->xpart + b * w->kmax * w->ess, *gp = w->gpart + b * w->gss;
        double *lp = w->lpart + b * lst, *hs = lp + 2 + w->kmax;
        if (estep) {
            lp[0] = moe_estep_rows(d, m, r0, r1, NULL, w->h, &lp[1], lp + 2,
                                   gate_q ? lp + LP_GATE_Q(w->kmax) : NULL);
            if (d->w)  /* the targets carry the weights */
                for (size_t r = r0; r < r1; r++)
                    for (size_t i = 0; i < k; i++)
                        w->h[r * k + i] *= d->w[r];
        }
        for (size_t i = 0; i < k; i++)
            hs[i] = 0;
        for (size_t r = r0; r < r1; r++)
            for (size_t i = 0; i < k; i++)
                hs[i] += w->h[r * k + i];
        if (kess) {
            memset(xp, 0, kess * sizeof *xp);
            m->expert->stat_add(d, &w->eshape, w->h, k, r0, r1, xp);
        }
        memset(gp, 0, gss * sizeof *gp);
        if (w->ngroups)
            m->gate->group_stat_add(d, &w->shape, w->theta, w->h, r0, r1, w->gall, gp);
        else if (k > 1 && m->gate->stat_add)
            m->gate->stat_add(d, &w->shape, w->theta, w->h, r0, r1, 1, gp);
    }
    const moe_comm *c = w->par.comm;
    moe_comm_gather_blocks(c, w->xpart, nb, w->kmax * w->ess, w->coff);
    moe_comm_gather_blocks(c, w->gpart, nb, w->gss, w->coff);
    moe_comm_gather_blocks(c, w->lpart, nb, lst, w->coff);
    if (estep)
        w->h_partial = c && c->size > 1;
    w->h_from_estep = estep;
    memset(w->xstat, 0, kess * sizeof *w->xstat);
    memset(w->gstat, 0, gss * sizeof *w->gstat);
    double ll = 0, ent = 0, wsum = 0, gq = 0;
    for (size_t i = 0; i < k; i++)
        w->prior[i] = w->hsum[i] = 0;
    for (size_t b = 0; b < nb; b++) {
        const double *xp = w->xpart + b * w->kmax * w->ess, *gp = w->gpart + b * w->gss;
        const double *lp = w->lpart + b * lst;
        for (size_t t = 0; t < kess; t++)
            w->xstat[t] += xp[t];
        for (size_t t = 0; t < gss; t++)
            w->gstat[t] += gp[t];
        for (size_t i = 0; i < k; i++)
            w->hsum[i] += lp[2 + w->kmax + i];
        if (estep) {
            ll += lp[0];
            ent += lp[1];
            if (gate_q)
                gq += lp[LP_GATE_Q(w->kmax)];
            for (size_t i = 0; i < k; i++)
                w->prior[i] += lp[2 + i];
        }
    }
    if (estep) {
        w->loglik = ll;
        w->entropy = ent;
        w->gate_q_step = gq - gate_penalty(w, w->theta);
        if (d->w)
            for (size_t r = 0; r < n; r++)
                wsum += d->w[r];
        else
            wsum = (double)n;
        for (size_t i = 0; i < k; i++)
            w->prior[i] /= wsum;
    }
}

/* The penalised soft-target objective at gate coefficients THETA with targets H. With DERIV,
 * the block-summed statistics (with derivatives) are left in w->gtrial for the next step. */
static double gate_q(moe_em_work *w, const double *theta, const double *h, int deriv)
{
    const moe_dataset *d = w->d;
    size_t nb = w->nb, n = w->n, k = w->k, gss = w->m->gate->stat_size(&w->shape);
    if (k < 2)
        return 0;
    w->gate_passes++;
    w->passes++;
#pragma omp parallel for schedule(static) if (w->b1 - w->b0 > 1)
    for (size_t b = w->b0; b < w->b1; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        double *gp = w->gpart + b * w->gss;
        memset(gp, 0, (deriv ? gss : 1) * sizeof *gp);
        w->m->gate->stat_add(d, &w->shape, theta, h, r0, r1, deriv, gp);
    }
    moe_comm_gather_blocks(w->par.comm, w->gpart, nb, w->gss, w->coff);
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

/* The gradient and negative Hessian of the penalised gate objective at THETA from summed
 * gate statistics STATS. */
static void gate_derivatives(moe_em_work *w, const double *stats, const double *theta,
                             double *grad, double *neg_hess)
{
    const moe_gate_type *gt = w->m->gate;
    gt->derivatives(stats, &w->shape, grad, neg_hess);
    for (size_t j = 0; j < w->np; j++) {
        double pen = gt->is_slope(j, &w->shape) ? w->par.gate_ridge : 0;
        grad[j] -= pen * theta[j];
        neg_hess[j * w->np + j] += pen;
    }
}

/* The gate's objective for the Newton driver (one pass over the rows). */
static double gate_eval(void *ctx, const double *theta, int deriv, double *grad,
                        double *neg_hess)
{
    moe_em_work *w = ctx;
    double q = gate_q(w, theta, w->h, deriv);
    if (deriv)
        gate_derivatives(w, w->gtrial, theta, grad, neg_hess);
    return q;
}

/* (lambda / 2) * |slopes|^2 of group G's coefficients of THETA. */
static double group_penalty(const moe_em_work *w, const double *theta, size_t g)
{
    if (!(w->par.gate_ridge > 0))
        return 0;
    double sq = 0;
    for (size_t j = w->goff[g]; j < w->goff[g + 1]; j++)
        if (w->m->gate->is_slope(j, &w->shape))
            sq += theta[j] * theta[j];
    return 0.5 * w->par.gate_ridge * sq;
}

/* The penalised gradient and negative Hessian blocks of the groups with ACTIVE[g] == 2 from
 * group_stat_add's summed STATS (moe_newton_blocks' layout). */
static void group_derivatives(moe_em_work *w, const double *stats, const unsigned char *active,
                              const double *theta, double *grad, double *neg_hess)
{
    const moe_gate_type *gt = w->m->gate;
    gt->group_derivatives(stats, &w->shape, active, grad, neg_hess);
    if (!(w->par.gate_ridge > 0))
        return;
    size_t ho = 0;
    for (size_t g = 0; g < w->ngroups; g++) {
        size_t o = w->goff[g], n = w->goff[g + 1] - o;
        if (active[g] == 2)
            for (size_t j = 0; j < n; j++) {
                double pen = gt->is_slope(o + j, &w->shape) ? w->par.gate_ridge : 0;
                grad[o + j] -= pen * theta[o + j];
                neg_hess[ho + j * n + j] += pen;
            }
        ho += n * n;
    }
}

/* The groups' objectives for the block Newton driver: one pass over the rows that works only
 * on the groups still running (ACTIVE), block partials summed in block order. */
static void gate_group_eval(void *ctx, const double *theta, const unsigned char *active,
                            double *qb, double *grad, double *neg_hess)
{
    moe_em_work *w = ctx;
    const moe_dataset *d = w->d;
    size_t nb = w->nb, n = w->n, gss = w->gss, ng = w->ngroups;
    int deriv = 0;
    for (size_t g = 0; g < ng; g++)
        deriv |= active[g] == 2;
    w->gate_passes++;
    w->passes++;
#pragma omp parallel for schedule(static) if (w->b1 - w->b0 > 1)
    for (size_t b = w->b0; b < w->b1; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        double *gp = w->gpart + b * gss;
        memset(gp, 0, (deriv ? gss : ng) * sizeof *gp);
        w->m->gate->group_stat_add(d, &w->shape, theta, w->h, r0, r1, active, gp);
    }
    moe_comm_gather_blocks(w->par.comm, w->gpart, nb, gss, w->coff);
    size_t len = deriv ? gss : ng;
    memset(w->gtrial, 0, len * sizeof *w->gtrial);
    for (size_t b = 0; b < nb; b++) {
        const double *gp = w->gpart + b * gss;
        for (size_t t = 0; t < len; t++)
            w->gtrial[t] += gp[t];
    }
    for (size_t g = 0; g < ng; g++)
        if (active[g])
            qb[g] = w->gtrial[g] - group_penalty(w, theta, g);
    if (deriv)
        group_derivatives(w, w->gtrial, active, theta, grad, neg_hess);
}

/* After the gate's Newton steps: the new coefficients into the model, the ridge and
 * halving counts into the work, Q at the new coefficients into Q1_OUT. */
static int gate_mstep_done(moe_em_work *w, const moe_newton_report *rep, double *q1_out)
{
    w->m->gate->set_theta(&w->shape, w->theta, w->m->gate_par);
    w->ridge_gate += rep->ridged;
    w->halvings_failed += (size_t)rep->failed;
    *q1_out = rep->q1;
    return MOE_SUCCESS;
}

/* The gate's Newton steps per M-step, at most (moe_em_params.gate_steps). */
static size_t gate_steps(const moe_em_work *w)
{
    if (w->par.gate_steps)
        return w->par.gate_steps;
    return w->n >= MOE_EM_GEM_ROWS ? 1 : MOE_EM_GATE_STEPS;
}

/* The gate M-step of a gate whose Q separates into groups (the tree's nodes): every group's
 * Newton steps on its own, a pass working only on the groups not yet converged; the
 * statistics at the current coefficients are in w->gstat (group_stat_add's layout). */
static int gate_mstep_groups(moe_em_work *w, double *q0_out, double *q1_out)
{
    moe_newton_work *nw = w->newton;
    double q0 = 0;
    for (size_t g = 0; g < w->ngroups; g++)
        q0 += (w->gq[g] = w->gstat[g] - group_penalty(w, w->theta, g));
    *q0_out = *q1_out = q0;
    group_derivatives(w, w->gstat, w->gall, w->theta, nw->grad, nw->nhess);
    moe_newton_blocks p = {w->ngroups, w->goff, gate_group_eval, w, (double)w->n,
                           gate_steps(w)};
    moe_newton_report rep;
    int st = moe_newton_maximise_blocks(&p, w->theta, w->gq, nw, &rep);
    return st ? st : gate_mstep_done(w, &rep, q1_out);
}

/* The gate M-step: Newton steps of the shared driver from the current coefficients, whose
 * statistics with targets h are in w->gstat (so the first step needs no extra pass). A
 * single step would already be a valid generalised EM step, but a nearly full M-step keeps
 * the early iterations from drifting away from the basin the start pointed at. */
static int gate_mstep(moe_em_work *w, double *q0_out, double *q1_out)
{
    double q0 = w->gstat[0] - gate_penalty(w, w->theta);
    *q0_out = *q1_out = q0;
    if (w->k < 2 || !w->m->gate->stat_add)  /* a GD-only gate keeps its block (W_g = 0) */
        return MOE_SUCCESS;
    if (w->ngroups)
        return gate_mstep_groups(w, q0_out, q1_out);
    moe_newton_work *nw = w->newton;
    gate_derivatives(w, w->gstat, w->theta, nw->grad, nw->nhess);
    moe_newton_problem p = {w->np, gate_eval, w, (double)w->n, gate_steps(w)};
    moe_newton_report rep;
    int st = moe_newton_maximise(&p, w->theta, 1, q0, nw, &rep);
    return st ? st : gate_mstep_done(w, &rep, q1_out);
}

/* Expert w->newton_expert's weighted objective sum_n h_ni log f(y_n; theta) for the Newton
 * driver: block partials of the family's newton_add, summed in block order, the packed
 * negative Hessian expanded. */
static double expert_eval(void *ctx, const double *theta, int deriv, double *grad,
                          double *neg_hess)
{
    moe_em_work *w = ctx;
    const moe_dataset *d = w->d;
    const moe_expert_type *et = w->m->expert;
    size_t nb = w->nb, n = w->n, i = w->newton_expert, nss = w->nss;
    size_t np = et->nparams(&w->eshape);
#pragma omp parallel for schedule(static) if (w->b1 - w->b0 > 1)
    for (size_t b = w->b0; b < w->b1; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        double *sp = w->npart + b * nss;
        memset(sp, 0, (deriv ? nss : 1) * sizeof *sp);
        et->newton_add(d, &w->eshape, theta, w->h, w->k, i, r0, r1, deriv, sp);
    }
    moe_comm_gather_blocks(w->par.comm, w->npart, nb, nss, w->coff);
    memset(w->nstat, 0, (deriv ? nss : 1) * sizeof *w->nstat);
    for (size_t b = 0; b < nb; b++)
        for (size_t t = 0; t < (deriv ? nss : 1); t++)
            w->nstat[t] += w->npart[b * nss + t];
    if (deriv) {
        memcpy(grad, w->nstat + 1, np * sizeof *grad);
        const double *pp = w->nstat + 1 + np;
        for (size_t r = 0; r < np; r++)
            for (size_t c = r; c < np; c++, pp++)
                neg_hess[r * np + c] = neg_hess[c * np + r] = *pp;
    }
    return w->nstat[0];
}

/* Expert I's M-step by Newton steps from its current parameters. */
static int expert_newton_mstep(moe_em_work *w, size_t i)
{
    moe_model *m = w->m;
    const moe_expert_type *et = m->expert;
    double *blk = moe_model_expert_block(m, i);
    et->get_theta(&w->eshape, blk, w->etheta);
    w->newton_expert = i;
    /* rows 0: steps go on until the predicted gain is negligible (Newton converges
     * quadratically, so this costs a few passes), so that a GLM expert's M-step is exact
     * and EM's stopping rule is not left to make up for it */
    moe_newton_problem p = {et->nparams(&w->eshape), expert_eval, w, 0, MOE_EM_GATE_STEPS};
    moe_newton_report rep;
    int st = moe_newton_maximise(&p, w->etheta, 0, 0, w->newton, &rep);
    if (st)
        return st;
    if (!isfinite(rep.q1))
        return MOE_ESING;
    et->set_theta(&w->eshape, w->etheta, blk);
    w->ridge_experts += rep.ridged;
    return MOE_SUCCESS;
}

const double *moe_em_full_h(moe_em_work *w)
{
    if (w->h_partial)
        moe_comm_gather_rows(w->par.comm, w->h, w->n, w->nb, w->k, w->coff);
    w->h_partial = 0;
    return w->h;
}

void moe_em_unweighted_h(moe_em_work *w, double *h)
{
    size_t nk = w->n * w->kmax;
    memcpy(h, moe_em_full_h(w), nk * sizeof *h);
    if (!w->d->w)
        return;
    for (size_t r = 0; r < w->n; r++) {
        double wr = w->d->w[r];
        for (size_t i = 0; i < w->kmax; i++)
            h[r * w->kmax + i] = wr > 0 ? h[r * w->kmax + i] / wr : 0;
    }
}

int moe_em_gate_step(moe_em_work *w, const double *h, double *q0, double *q1)
{
    squarem_reset(w);
    if (h != w->h) {
        memcpy(w->h, h, w->n * w->k * sizeof *w->h);
        w->h_partial = 0;
    }
    pass_full(w, 0, 0);
    return gate_mstep(w, q0, q1);
}

double moe_em_gate_objective(moe_em_work *w, const double *h)
{
    w->m->gate->get_theta(&w->shape, w->m->gate_par, w->theta);
    return gate_q(w, w->theta, h, 0);
}

/* Removes expert I: its column of h (rows renormalised to their weight), its block and its
 * share of the gate. */
static void drop_expert(moe_em_work *w, size_t i)
{
    size_t n = w->n, k = w->k, ep = w->m->ep;
    moe_model *m = w->m;
    for (size_t r = 0; r < n; r++) {
        const double *src = w->h + r * k;
        double *dst = w->h + r * (k - 1), s = 0, tmp[MOE_K_MAX];
        double wr = w->d->w ? w->d->w[r] : 1;
        for (size_t j = 0, t = 0; j < k; j++)
            if (j != i)
                s += (tmp[t++] = src[j]);
        for (size_t t = 0; t + 1 < k; t++)
            dst[t] = s > 0 ? tmp[t] / s * wr : wr / (double)(k - 1);
    }
    memmove(m->expert_par + i * ep, m->expert_par + (i + 1) * ep,
            (k - 1 - i) * ep * sizeof *m->expert_par);
    m->gate->drop_expert(m->gate_par, &w->shape, i);
    w->k = m->k = k - 1;
    w->shape = moe_model_gate_shape(m);
    m->gp = m->gate->block_size(&w->shape);  /* the allocation stays as it was */
    w->np = m->gate->nparams(&w->shape);
    w->dropped++;
}

/* Shared tail of the initialisers: responsibilities are in w->h. */
static int init_from_h(moe_em_work *w)
{
    moe_model *m = w->m;
    w->k = m->k = w->kmax;
    w->shape = moe_model_gate_shape(m);
    m->gp = m->gate->block_size(&w->shape);
    w->np = m->gate->nparams(&w->shape);
    moe_model_reset_params(m);
    w->iter = 0;
    w->converged = w->separated = 0;
    w->ridge_experts = w->ridge_gate = w->halvings_failed = w->dropped = 0;
    squarem_reset(w);
    w->loglik = w->objective = w->prev_objective = -INFINITY;
    w->entropy = 0;
    w->message[0] = 0;
    pass_full(w, 0, 0);
    return MOE_SUCCESS;
}

int moe_em_init_h(moe_em_work *w, const double *h)
{
    if (h != w->h)
        memcpy(w->h, h, w->n * w->kmax * sizeof *w->h);
    w->h_partial = 0;
    if (w->d->w)  /* the targets carry the weights */
        for (size_t r = 0; r < w->n; r++)
            for (size_t i = 0; i < w->kmax; i++)
                w->h[r * w->kmax + i] *= w->d->w[r];
    return init_from_h(w);
}

void moe_em_copy_params(moe_model *dst, const moe_model *src)
{
    dst->k = src->k;
    dst->gp = src->gp;
    memcpy(dst->expert_par, src->expert_par, src->k * src->ep * sizeof *dst->expert_par);
    memcpy(dst->gate_par, src->gate_par, src->gp * sizeof *dst->gate_par);
}

int moe_em_init_model(moe_em_work *w, const moe_model *start)
{
    moe_model *m = w->m;
    if (!start || start->k < 1 || start->k > w->kmax || start->nx != m->nx ||
        start->hidden != m->hidden || start->activation != m->activation ||
        start->nz != m->nz || start->expert != m->expert || start->gate != m->gate ||
        start->tree_depth != m->tree_depth ||
        memcmp(start->tree, m->tree, sizeof m->tree) != 0 ||
        (m->tree_depth && start->k != w->kmax))
        return MOE_EINVAL;
    w->k = m->k = start->k;
    w->shape = moe_model_gate_shape(m);
    m->gp = m->gate->block_size(&w->shape);
    w->np = m->gate->nparams(&w->shape);
    memcpy(m->expert_par, start->expert_par, m->k * m->ep * sizeof *m->expert_par);
    memcpy(m->gate_par, start->gate_par, m->gp * sizeof *m->gate_par);
    w->iter = 0;
    w->converged = w->separated = 0;
    w->ridge_experts = w->ridge_gate = w->halvings_failed = w->dropped = 0;
    squarem_reset(w);
    w->message[0] = 0;
    pass_full(w, 1, 0);
    w->prev_objective = -INFINITY;
    w->objective = w->loglik - gate_penalty(w, w->theta);
    return isfinite(w->objective) ? MOE_SUCCESS : MOE_ENUMERIC;
}

static double max_slope(const moe_em_work *w);

/* The experts' M-step from the statistics of the last pass (closed form, or Newton steps for
 * IRLS families). */
static int experts_mstep(moe_em_work *w)
{
    moe_model *m = w->m;
    const moe_expert_type *et = m->expert;
    for (size_t i = 0; i < w->k; i++) {
        double eff = w->hsum[i];
        if (!(eff >= (double)w->px)) {
            snprintf(w->message, sizeof w->message,
                     "expert %zu degenerated: effective size %.3g below its %zu coefficients",
                     i + 1, eff, w->px);
            return MOE_ESING;
        }
        double ridge = 0;
        int st = et->mstep ? et->mstep(w->xstat + i * w->ess, &w->eshape, w->par.var_floor,
                                       moe_model_expert_block(m, i), w->ework, &ridge)
                           : expert_newton_mstep(w, i);
        if (st == MOE_EINVAL) {
            snprintf(w->message, sizeof w->message,
                     "internal error: LAPACK rejected an argument in expert %zu's M-step",
                     i + 1);
            return MOE_ENUMERIC;
        }
        if (st != MOE_SUCCESS) {
            snprintf(w->message, sizeof w->message,
                     "expert %zu: weighted M-step singular even with a ridge", i + 1);
            return MOE_ESING;
        }
        if (ridge > 0)
            w->ridge_experts++;
    }
    return MOE_SUCCESS;
}

/* Whether this iteration's gate M-step is the one-pass step: one Newton step (gate_steps 1)
 * of a flat gate with a Newton M-step, from targets h that an E-step pass made (so that a
 * pass at the iterate gives them again, should the step be taken back; not after a start
 * from given responsibilities or a dropped expert). */
static int gate_one_pass(const moe_em_work *w)
{
    if (!w->h_from_estep)
        return 0;
    return gate_steps(w) == 1 && w->k > 1 && !w->ngroups && w->m->gate->stat_add;
}

/* The one-pass gate step: one Newton step from the current coefficients (the derivatives
 * from the last pass's w->gstat), taken without a pass to evaluate Q there; Q at the step
 * comes with the next E-step's pass (pass_full's gate_q) and moe_em_iterate checks it.
 * Q at the current coefficients into Q0_OUT. No step when no ridge makes the negative
 * Hessian positive definite (the gate stays, as the Newton driver would keep it). */
static int gate_step_unchecked(moe_em_work *w, double *q0_out)
{
    *q0_out = w->gstat[0] - gate_penalty(w, w->theta);
    moe_newton_work *nw = w->newton;
    gate_derivatives(w, w->gstat, w->theta, nw->grad, nw->nhess);
    double ridge = moe_newton_solve(nw, w->np);
    if (ridge == -2)
        return MOE_EINVAL;
    if (ridge < 0) {
        w->halvings_failed++;
        return MOE_SUCCESS;
    }
    if (ridge > 0)
        w->ridge_gate++;
    for (size_t j = 0; j < w->np; j++)
        w->theta[j] += nw->step[j];
    w->m->gate->set_theta(&w->shape, w->theta, w->m->gate_par);
    return MOE_SUCCESS;
}

/* The bookkeeping of an iteration whose pass is done: its log-likelihood and slope in the
 * traces, the objective, and the check that it did not fall. */
static int end_iteration(moe_em_work *w)
{
    w->iter++;
    w->trace[w->iter - 1] = w->loglik;
    w->slope[w->iter - 1] = max_slope(w);
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
    return MOE_SUCCESS;
}

/* One EM iteration: the M-step from the last pass's statistics, then the pass. */
static int em_step(moe_em_work *w)
{
    moe_model *m = w->m;
    int one_pass = gate_one_pass(w), st;
    if (one_pass)  /* the iterate, should the unchecked gate step have to be taken back */
        moe_em_copy_params(w->mtrial, m);
    if ((st = experts_mstep(w)) != MOE_SUCCESS)
        return st;
    /* gate */
    double q0, q1;
    if ((one_pass ? gate_step_unchecked(w, &q0) : gate_mstep(w, &q0, &q1)) != MOE_SUCCESS) {
        snprintf(w->message, sizeof w->message,
                 "internal error: LAPACK rejected an argument in the gate's M-step");
        return MOE_ENUMERIC;
    }
    /* E-step and the next M-step's statistics (with Q at the unchecked step) */
    pass_full(w, 1, one_pass);
    if (one_pass && !(w->gate_q_step >= q0 - MOE_EM_ONE_PASS_Q_TOL * (fabs(q0) + 1))) {
        /* Q fell at the unchecked step: back to the iterate, its pass again (h and the
         * statistics there), the same experts' M-step and the checked Newton step (its
         * halvings), then the E-step pass; two passes more than the checked step costs */
        w->one_pass_fallbacks++;
        w->gate_passes += 2;
        moe_em_copy_params(m, w->mtrial);
        pass_full(w, 1, 0);
        if ((st = experts_mstep(w)) != MOE_SUCCESS)
            return st;
        if (gate_mstep(w, &q0, &q1) != MOE_SUCCESS) {
            snprintf(w->message, sizeof w->message,
                     "internal error: LAPACK rejected an argument in the gate's M-step");
            return MOE_ENUMERIC;
        }
        pass_full(w, 1, 0);
    }
    if ((st = end_iteration(w)) != MOE_SUCCESS)
        return st;
    /* flexmix's minprior: drop experts whose prior fell below min_prior, smallest first */
    if (w->par.min_prior > 0 && w->k > 1 && m->gate->drop_expert) {
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
            pass_full(w, 0, 0);
            w->objective = -INFINITY;  /* the next iteration is not comparable */
        }
    }
    return MOE_SUCCESS;
}

/* SQUAREM's extrapolated point from the cycle's iterates V0 -> V1 -> V2 (w->sq), and its
 * pass; kept when the objective there is not below V2's, else back to V2 (w->msq) and its
 * pass again. Returns 0 without doing anything when there is no point to try (the EM step
 * then goes on), else 1 with the iteration's status in *ST. */
static int squarem_extrapolate(moe_em_work *w, int *st)
{
    size_t n = moe_squarem_size(w->m);
    double *v0 = w->sq, *v1 = v0 + n, *v2 = v1 + n;
    double alpha = moe_squarem_alpha(v0, v1, v2, n, w->sq_step_max);
    if (alpha == 0)
        return 0;
    double obj2 = w->objective;
    moe_squarem_point(v0, v1, v2, n, alpha, v0);  /* V0 is not needed again */
    moe_squarem_set(w->m, v0, 0.5 * log(w->par.var_floor));
    pass_full(w, 1, 0);
    double obj = w->loglik - gate_penalty(w, w->theta);
    if (isfinite(obj) && obj >= obj2) {
        w->accel_steps++;
        if (alpha == -w->sq_step_max)
            w->sq_step_max *= MOE_SQUAREM_STEP_GROW;
    } else {
        w->accel_rejected++;
        w->sq_step_max = fmax(1, w->sq_step_max / MOE_SQUAREM_STEP_GROW);
        moe_em_copy_params(w->m, w->msq);
        pass_full(w, 1, 0);
    }
    w->sq_after = 1;
    *st = end_iteration(w);
    return 1;
}

int moe_em_iterate(moe_em_work *w)
{
    w->sq_after = 0;
    if (!w->sq)
        return em_step(w);
    int st;
    if (w->sq_phase == 2) {
        w->sq_phase = 0;
        if (squarem_extrapolate(w, &st))
            return st;
    }
    /* a cycle starts only from an iterate whose pass made h (not from given targets) */
    if (w->sq_phase == 0 && !w->h_from_estep)
        return em_step(w);
    size_t n = moe_squarem_size(w->m), k = w->k;
    if (w->sq_phase == 0)
        moe_squarem_get(w->m, w->sq);
    if ((st = em_step(w)) != MOE_SUCCESS || w->k != k) {  /* an expert dropped: anew */
        w->sq_phase = 0;
        return st;
    }
    w->sq_phase++;
    moe_squarem_get(w->m, w->sq + w->sq_phase * n);
    if (w->sq_phase == 2)
        moe_em_copy_params(w->msq, w->m);
    return st;
}

/* The largest absolute gate slope of the current iterate (standardised scale). */
static double max_slope(const moe_em_work *w)
{
    double mx = 0;
    const moe_gate_type *gt = w->m->gate;
    for (size_t j = 0; j < w->np; j++)
        if (gt->is_slope(j, &w->shape) && fabs(w->theta[j]) > mx)
            mx = fabs(w->theta[j]);
    return mx;
}

/* Whether the likelihood still rises along the gate direction: the observed log-likelihood
 * with every gate coefficient doubled (the same boundaries, twice as sharp; the experts as
 * they are) against the current one. At a finite maximum it falls; when the gate separates
 * the regimes it rises towards its supremum (or stays equal to rounding). One pass over the
 * rows, in block order (thread-count independent), no allocation. */
static int gate_still_rises(moe_em_work *w)
{
    moe_model *t = w->mtrial;
    const moe_gate_type *gt = w->m->gate;
    moe_em_copy_params(t, w->m);
    gt->get_theta(&w->shape, w->m->gate_par, w->theta);
    for (size_t j = 0; j < w->np; j++)
        w->theta[j] *= 2;
    gt->set_theta(&w->shape, w->theta, t->gate_par);
    gt->get_theta(&w->shape, w->m->gate_par, w->theta);
    size_t nb = w->nb, n = w->n, lst = LP_STRIDE(w->kmax);
#pragma omp parallel for schedule(static) if (w->b1 - w->b0 > 1)
    for (size_t b = w->b0; b < w->b1; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        w->lpart[b * lst] = moe_estep_rows(w->d, t, r0, r1, NULL, NULL, NULL, NULL, NULL);
    }
    moe_comm_gather_blocks(w->par.comm, w->lpart, nb, lst, w->coff);
    double ll2 = 0;
    for (size_t b = 0; b < nb; b++)
        ll2 += w->lpart[b * lst];
    return ll2 >= w->loglik - MOE_EM_SEPARATION_RISE_TOL * (fabs(w->loglik) + 1);
}

/* The separation check at a stop: the largest gate slope above MOE_EM_SEPARATION_SLOPE on
 * the standardised scale and the likelihood still rising along the gate direction. Never
 * with a gate ridge, which keeps the MLE finite. */
static int separated(moe_em_work *w)
{
    if (w->k < 2 || w->par.gate_ridge > 0)
        return 0;
    size_t t = w->iter;
    double mx = max_slope(w);
    if (!(mx > MOE_EM_SEPARATION_SLOPE))
        return 0;
    if (mx > MOE_EM_SEPARATION_SHARP)
        return 1;
    if (t > MOE_EM_SEPARATION_WINDOW &&
        mx > (1 + MOE_EM_SEPARATION_GROWTH) * w->slope[t - 1 - MOE_EM_SEPARATION_WINDOW] &&
        w->trace[t - 1] > w->trace[t - 1 - MOE_EM_SEPARATION_WINDOW])
        return 1;
    return gate_still_rises(w);
}

int moe_em_test(moe_em_work *w)
{
    size_t t = w->iter;
    /* When the regimes are separable the gate's likelihood keeps rising as its slopes grow
     * without bound: the MLE is infinite, and EM's gains shrink geometrically, so the relative
     * tolerance stops it. The stop is then reported as separation only when it is real (the
     * check above); a large slope at a proper finite maximum is an ordinary convergence.
     * After a SQUAREM point the change is the extrapolation's, not an EM step's: only EM
     * steps' changes stop the iterations. */
    if (t >= 2 && !w->sq_after) {
        double l1 = w->trace[t - 1], l0 = w->trace[t - 2];
        if (fabs(l1 - l0) <= w->par.tol * fabs(l1)) {
            w->separated = separated(w);
            w->converged = !w->separated;
            return MOE_SUCCESS;
        }
    }
    if (t >= w->par.max_iter) {
        w->separated = separated(w);
        return MOE_EMAXITER;
    }
    return MOE_CONTINUE;
}
