/* covariance.c: standard errors from the observed information of the incomplete-data
 * log-likelihood (moe_infer_standard_errors and its building blocks), for any expert family
 * and gate through their type tables.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * theta is the model's flat free-parameter vector (moe_model_get_theta: every expert's theta
 * in the family's parametrisation, e.g. beta then log sigma, then the gate's). With
 * posteriors h_ni (times the observation weight w_n), the observed-data score is the
 * expected complete-data score (Louis 1982):
 *     dL/dtheta_i = sum_n h_ni d log f_i(y_n) / dtheta_i      (the family's score_rows)
 *     dL/dv       = dQ/dv at targets h                           (the gate's gradient)
 * The Hessian comes from central differences of this analytic gradient (step 1e-5 max(1,
 * |theta_j|), error O(step^2) relative to the curvature's third derivative), symmetrised;
 * the negative Hessian is inverted by Cholesky (LAPACKE dpotrf/dpotri). The standardised
 * data's log-likelihood differs from the data's by a constant, so the curvature is the same.
 * Standard errors of the reported coefficients (the families' and the gate's report, on the
 * data's scale) come by the delta method: Cov_report = J Cov_theta J', with the Jacobian J
 * of report taken by central differences (exact up to rounding for the linear maps of
 * scaling.c; for sigma = s_y exp(log sigma) it is the usual sigma SE(log sigma)). */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "core/blas_threads.h"
#include "core/error.h"
#include "data/dataset.h"
#include "experts/expert.h"
#include "gates/gate.h"
#include "infer/infer.h"
#include "model/estep.h"
#include "model/model.h"

/* Everything one gradient evaluation needs, allocated once. */
typedef struct score_work {
    moe_model *m;     /* a copy of the model whose parameters are moved */
    double *theta;    /* nparams: where the gradient is taken; the model's parameters at first */
    double *h;        /* n x k posteriors times the weights */
    double *partial;  /* nblocks x (nparams + gate statistics): each block's share */
    size_t nblocks, gss;
} score_work;

static void score_work_free(score_work *w)
{
    moe_model_free(w->m);
    free(w->theta);
    free(w->h);
    free(w->partial);
}

static int score_work_init(score_work *w, const moe_dataset *d, const moe_model *m,
                           moe_error *err)
{
    memset(w, 0, sizeof *w);
    if (!m || !d)
        return moe_error_set(err, MOE_EINVAL, "standard errors: no model or no data");
    if (!d->y)
        return moe_error_set(err, MOE_EINVAL, "standard errors: the data have no response");
    if (d->nx != m->nx || d->nz != m->nz)
        return moe_error_set(err, MOE_EBADLEN, "standard errors: data and model shapes differ");
    if (m->k == 0 || m->k > MOE_K_MAX)
        return moe_error_set(err, MOE_EINVAL, "standard errors: k must be 1..%d", MOE_K_MAX);
    size_t nk = d->n * m->k > 0 ? d->n * m->k : 1, np = moe_model_nparams(m);
    w->nblocks = moe_block_count(d->n);
    moe_gate_shape gsh = moe_model_gate_shape(m);
    w->gss = m->gate->stat_size(&gsh);
    w->m = moe_model_copy(m);
    w->theta = malloc((np + 1) * sizeof *w->theta);
    w->h = malloc(nk * sizeof *w->h);
    w->partial = malloc(w->nblocks * (np + w->gss) * sizeof(double));
    if (!w->m || !w->theta || !w->h || !w->partial) {
        score_work_free(w);
        return moe_error_set(err, MOE_ENOMEM, "standard errors: out of memory");
    }
    moe_model_get_theta(m, w->theta);
    return MOE_SUCCESS;
}

/* Rows [R0, R1)'s share of the gradient into OUT (nparams values, then the gate's
 * statistics as scratch). */
static void score_block(const moe_dataset *d, const score_work *w, size_t r0, size_t r1,
                        double *out)
{
    const moe_model *m = w->m;
    size_t k = m->k, ne = moe_model_expert_nparams(m), np = moe_model_nparams(m);
    moe_expert_shape es = moe_model_expert_shape(m);
    memset(out, 0, (np + w->gss) * sizeof *out);
    for (size_t i = 0; i < k; i++)
        m->expert->score_rows(d, &es, moe_model_expert_block_const(m, i), w->h, k, i, r0, r1,
                              out + i * ne);
    if (k > 1) {
        double *gs = out + np;
        moe_gate_shape gsh = moe_model_gate_shape(m);
        m->gate->stat_add(d, &gsh, w->theta + k * ne, w->h, r0, r1, 1, gs);
        m->gate->derivatives(gs, &gsh, out + k * ne, NULL);
    }
}

/* The analytic gradient at theta into GRAD (W's model takes theta's values). */
static void score(const moe_dataset *d, score_work *w, const double *theta, double *grad)
{
    moe_model *m = w->m;
    size_t k = m->k, np = moe_model_nparams(m), n = d->n, nb = w->nblocks;
    if (theta != w->theta)
        memcpy(w->theta, theta, np * sizeof *w->theta);
    moe_model_set_theta(m, w->theta);
    moe_estep(d, m, NULL, w->h);
    if (d->w)
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < k; i++)
                w->h[r * k + i] *= d->w[r];
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t b = 0; b < nb; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        score_block(d, w, r0, r1, w->partial + b * (np + w->gss));
    }
    memset(grad, 0, np * sizeof *grad);
    for (size_t b = 0; b < nb; b++)
        for (size_t j = 0; j < np; j++)
            grad[j] += w->partial[b * (np + w->gss) + j];
}

int moe_infer_gradient(const moe_dataset *d, const moe_model *m, double *grad, moe_error *err)
{
    score_work w;
    int status = score_work_init(&w, d, m, err);
    if (status)
        return status;
    score(d, &w, w.theta, grad);
    score_work_free(&w);
    return MOE_SUCCESS;
}

int moe_infer_hessian(const moe_dataset *d, const moe_model *m, double *hess, moe_error *err)
{
    score_work w;
    int status = score_work_init(&w, d, m, err);
    if (status)
        return status;
    size_t np = moe_model_nparams(m);
    double *theta = malloc((np + 1) * sizeof *theta);
    double *gp = malloc((np + 1) * sizeof *gp), *gm = malloc((np + 1) * sizeof *gm);
    if (!theta || !gp || !gm) {
        status = moe_error_set(err, MOE_ENOMEM, "standard errors: out of memory");
        goto done;
    }
    memcpy(theta, w.theta, np * sizeof *theta);
    for (size_t j = 0; j < np; j++) {
        double t0 = theta[j], step = 1e-5 * fmax(1.0, fabs(t0));
        /* an exactly representable step, so that (t0 + step) - (t0 - step) == 2 step */
        volatile double tp = t0 + step, tm = t0 - step;
        double span = tp - tm;
        theta[j] = tp;
        score(d, &w, theta, gp);
        theta[j] = tm;
        score(d, &w, theta, gm);
        theta[j] = t0;
        for (size_t i = 0; i < np; i++)
            hess[i * np + j] = (gp[i] - gm[i]) / span;
    }
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < i; j++) {
            double a = 0.5 * (hess[i * np + j] + hess[j * np + i]);
            hess[i * np + j] = hess[j * np + i] = a;
        }
done:
    free(theta);
    free(gp);
    free(gm);
    score_work_free(&w);
    return status;
}

int moe_infer_invert_information(double *a, size_t np, moe_error *err)
{
    int finite = 1;
    for (size_t i = 0; i < np * np; i++)
        finite &= isfinite(a[i]) != 0;
    lapack_int info = -1;
    if (finite) {
        /* one BLAS thread: the inverse must not depend on OMP_NUM_THREADS */
        int saved = moe_blas_pin();
        info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)np, a, (lapack_int)np);
        if (info == 0)
            info = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)np, a, (lapack_int)np);
        moe_blas_unpin(saved);
    }
    if (info != 0) {
        for (size_t i = 0; i < np * np; i++)
            a[i] = NAN;
        if (info < 0 && finite)
            return moe_error_set(err, MOE_ENUMERIC,
                                 "internal error: LAPACK rejected argument %d", (int)-info);
        return moe_error_set(err, MOE_ESING,
                             "the observed information is not positive definite (some "
                             "parameters are not identified by these data)");
    }
    for (size_t i = 0; i < np; i++)
        for (size_t j = i + 1; j < np; j++)
            a[i * np + j] = a[j * np + i];
    return MOE_SUCCESS;
}

int moe_infer_covariance(const moe_dataset *d, const moe_model *m, double *cov, moe_error *err)
{
    int status = moe_infer_hessian(d, m, cov, err);
    if (status)
        return status;
    size_t np = moe_model_nparams(m);
    for (size_t i = 0; i < np * np; i++)
        cov[i] = -cov[i];
    return moe_infer_invert_information(cov, np, err);
}

/* The reported coefficients of BLOCK (an expert, or the gate when BLOCK == k) at the block's
 * theta T into OUT. */
static void report(const moe_model *m, size_t block, const double *t, double *out)
{
    if (block < m->k)
        m->expert->report(m, t, out);
    else
        m->gate->report(m, t, out);
}

int moe_infer_block_se(const moe_model *m, size_t block, const double *cov, size_t ld,
                       size_t off, double *se)
{
    moe_gate_shape gsh = moe_model_gate_shape(m);
    size_t nt = block < m->k ? moe_model_expert_nparams(m) : m->gate->nparams(&gsh);
    size_t nc = moe_model_ncoef(m, block);
    double *t = malloc((nt + 1) * sizeof *t), *jac = malloc((nt * nc + 1) * sizeof *jac);
    double *cp = malloc((nc + 1) * sizeof *cp), *cm = malloc((nc + 1) * sizeof *cm);
    if (!t || !jac || !cp || !cm) {
        free(t);
        free(jac);
        free(cp);
        free(cm);
        return MOE_ENOMEM;
    }
    moe_expert_shape es = moe_model_expert_shape(m);
    if (block < m->k)
        m->expert->get_theta(&es, moe_model_expert_block_const(m, block), t);
    else
        m->gate->get_theta(&gsh, m->gate_par, t);
    for (size_t j = 0; j < nt; j++) {  /* column j of the Jacobian d report / d theta_j */
        double t0 = t[j], step = 1e-5 * fmax(1.0, fabs(t0));
        volatile double tp = t0 + step, tm = t0 - step;
        double span = tp - tm;
        t[j] = tp;
        report(m, block, t, cp);
        t[j] = tm;
        report(m, block, t, cm);
        t[j] = t0;
        for (size_t c = 0; c < nc; c++)
            jac[c * nt + j] = (cp[c] - cm[c]) / span;
    }
    for (size_t c = 0; c < nc; c++) {
        /* Jacobian rows of data at 1e300 (or 1e-300) would overflow (underflow) in the
         * quadratic form: divide the row by a power of two near its largest entry, exactly,
         * and multiply the root back (left alone for rows of ordinary size: bit-identical) */
        double jmax = 0;
        for (size_t s = 0; s < nt; s++)
            jmax = fmax(jmax, fabs(jac[c * nt + s]));
        int e = 0;
        if (jmax > 0 && isfinite(jmax))
            (void)frexp(jmax, &e);
        if (e >= -64 && e <= 64)
            e = 0;
        double ts = ldexp(1.0, -e), v = 0;
        for (size_t s = 0; s < nt; s++)
            for (size_t u = 0; u < nt; u++)
                v += jac[c * nt + s] * ts * cov[(off + s) * ld + off + u] * (jac[c * nt + u] * ts);
        se[c] = isfinite(v) && v > 0 ? ldexp(sqrt(v), e) : NAN;
    }
    free(t);
    free(jac);
    free(cp);
    free(cm);
    return MOE_SUCCESS;
}

int moe_infer_standard_errors(const moe_dataset *d, const moe_model *m, double *const *block_se,
                              moe_error *err)
{
    if (!m)
        return moe_error_set(err, MOE_EINVAL, "standard errors: no model");
    for (size_t b = 0; b <= m->k; b++)
        for (size_t c = 0; c < moe_model_ncoef(m, b); c++)
            block_se[b][c] = NAN;
    size_t np = moe_model_nparams(m), ne = moe_model_expert_nparams(m);
    double *cov = malloc((np * np + 1) * sizeof *cov);
    if (!cov)
        return moe_error_set(err, MOE_ENOMEM, "standard errors: out of memory (%zu parameters)",
                             np);
    int status = moe_infer_covariance(d, m, cov, err);
    for (size_t b = 0; status == MOE_SUCCESS && b <= m->k; b++)
        if (moe_model_ncoef(m, b) && moe_infer_block_se(m, b, cov, np, b * ne, block_se[b]))
            status = moe_error_set(err, MOE_ENOMEM, "standard errors: out of memory");
    free(cov);
    return status;
}
