/* covariance.c: standard errors from the observed information of the incomplete-data
 * log-likelihood (moe_infer_standard_errors and its building blocks).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * With theta = (beta_1, log s_1, ..., beta_K, log s_K, v_1, ..., v_{K-1}) on the standardised
 * scale, posteriors h_ni, gate probabilities g_ni and residuals r_ni = y_n - beta_i' x~_n, the
 * scores (Louis 1982: the observed-data score is the expected complete-data score) are
 *     dL/dbeta_i  = sum_n h_ni r_ni x~_n / s_i^2
 *     dL/dlog s_i = sum_n h_ni (r_ni^2 / s_i^2 - 1)
 *     dL/dv_i     = sum_n (h_ni - g_ni) z~_n.
 * The Hessian comes from central differences of this analytic gradient (step 1e-5 max(1,
 * |theta_j|), error O(step^2) relative to the curvature's third derivative), symmetrised;
 * the negative Hessian is inverted by Cholesky (LAPACKE dpotrf/dpotri). The log-likelihood
 * of the standardised data differs from the data's by a constant (n log of the response's
 * scale), so the curvature is the same; the covariance of the coefficients is mapped to the
 * data's scale with the linear maps of src/model/scaling.c: Cov_data = A Cov_std A'.
 * log s is used instead of s because its likelihood is closer to quadratic; the SE of s itself
 * is s SE(log s) (delta method), the same on both scales since log s only shifts. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "core/error.h"
#include "data/dataset.h"
#include "experts/expert.h"
#include "gates/gate.h"
#include "infer/infer.h"
#include "model/model.h"
#include "train/estep.h"

size_t moe_infer_nparams(const moe_model *m)
{
    return m->k * (m->nx + 2) + (m->k - 1) * (m->nz + 1);
}

void moe_infer_get_params(const moe_model *m, double *theta)
{
    size_t px = m->nx + 1, pz = m->nz + 1, t = 0;
    for (size_t i = 0; i < m->k; i++) {
        for (size_t j = 0; j < px; j++)
            theta[t++] = m->beta[i * px + j];
        theta[t++] = log(m->sigma[i]);
    }
    for (size_t i = 0; i + 1 < m->k; i++)
        for (size_t j = 0; j < pz; j++)
            theta[t++] = m->gate_coef[i * pz + j];
}

void moe_infer_set_params(moe_model *m, const double *theta)
{
    size_t px = m->nx + 1, pz = m->nz + 1, t = 0;
    for (size_t i = 0; i < m->k; i++) {
        for (size_t j = 0; j < px; j++)
            m->beta[i * px + j] = theta[t++];
        m->sigma[i] = exp(theta[t++]);
    }
    for (size_t i = 0; i + 1 < m->k; i++)
        for (size_t j = 0; j < pz; j++)
            m->gate_coef[i * pz + j] = theta[t++];
    for (size_t j = 0; j < pz; j++)
        m->gate_coef[(m->k - 1) * pz + j] = 0;
}

/* Everything one gradient evaluation needs, allocated once. */
typedef struct score_work {
    moe_model *m;     /* a copy of the model whose parameters are moved */
    double *theta;    /* nparams: where the gradient is taken; the model's parameters at first */
    double *g, *h;    /* n x k gate probabilities and posteriors */
    double *partial;  /* nblocks x nparams: each block's share of the gradient */
    size_t nblocks;
} score_work;

/* Rows per block of the gradient's sum: the blocks are summed in a fixed order, so the
 * result is the same bit for bit whatever the number of threads. */
#define SCORE_BLOCK 4096

static void score_work_free(score_work *w)
{
    moe_model_free(w->m);
    free(w->theta);
    free(w->g);
    free(w->h);
    free(w->partial);
}

static int score_work_init(score_work *w, const moe_dataset *d, const moe_model *m,
                           moe_error *err)
{
    memset(w, 0, sizeof *w);
    if (!m || !d)
        return moe_error_set(err, MOE_EINVAL, "standard errors: no model or no data");
    if (!m->expert || strcmp(m->expert->name, "gaussian") != 0 || !m->gate ||
        strcmp(m->gate->name, "softmax") != 0)
        return moe_error_set(err, MOE_EINVAL,
                             "standard errors: only gaussian experts with a softmax gate");
    if (!d->y)
        return moe_error_set(err, MOE_EINVAL, "standard errors: the data have no response");
    if (d->nx != m->nx || d->nz != m->nz)
        return moe_error_set(err, MOE_EBADLEN, "standard errors: data and model shapes differ");
    if (m->k == 0 || m->k > MOE_K_MAX)
        return moe_error_set(err, MOE_EINVAL, "standard errors: k must be 1..%d", MOE_K_MAX);
    size_t nk = d->n * m->k > 0 ? d->n * m->k : 1;
    w->nblocks = (d->n + SCORE_BLOCK - 1) / SCORE_BLOCK;
    w->m = moe_model_copy(m);
    w->theta = malloc(moe_infer_nparams(m) * sizeof *w->theta);
    w->g = malloc(nk * sizeof *w->g);
    w->h = malloc(nk * sizeof *w->h);
    w->partial = malloc((w->nblocks ? w->nblocks : 1) * moe_infer_nparams(m) * sizeof(double));
    if (!w->m || !w->theta || !w->g || !w->h || !w->partial) {
        score_work_free(w);
        return moe_error_set(err, MOE_ENOMEM, "standard errors: out of memory");
    }
    moe_infer_get_params(m, w->theta);
    return MOE_SUCCESS;
}

/* Block B's share of the gradient into OUT (nparams values). */
static void score_block(const moe_dataset *d, const score_work *w, const double *inv_s2,
                        size_t b, double *out)
{
    const moe_model *m = w->m;
    size_t k = m->k, px = m->nx + 1, pz = m->nz + 1, np = moe_infer_nparams(m);
    size_t gate0 = k * (px + 1), lo = b * SCORE_BLOCK;
    size_t hi = lo + SCORE_BLOCK < d->n ? lo + SCORE_BLOCK : d->n;
    memset(out, 0, np * sizeof *out);
    for (size_t n = lo; n < hi; n++) {
        const double *x = d->x + n * px, *z = d->z + n * pz;
        const double *h = w->h + n * k, *g = w->g + n * k;
        for (size_t i = 0; i < k; i++) {
            const double *beta = m->beta + i * px;
            double mu = 0;
            for (size_t j = 0; j < px; j++)
                mu += beta[j] * x[j];
            double r = d->y[n] - mu, c = h[i] * r * inv_s2[i];
            double *gb = out + i * (px + 1);
            for (size_t j = 0; j < px; j++)
                gb[j] += c * x[j];
            gb[px] += h[i] * (r * r * inv_s2[i] - 1);
            if (i + 1 < k) {
                double *gv = out + gate0 + i * pz, e = h[i] - g[i];
                for (size_t j = 0; j < pz; j++)
                    gv[j] += e * z[j];
            }
        }
    }
}

/* The analytic gradient at theta into GRAD (W's model takes theta's values). */
static void score(const moe_dataset *d, score_work *w, const double *theta, double *grad)
{
    moe_model *m = w->m;
    size_t k = m->k, np = moe_infer_nparams(m);
    moe_infer_set_params(m, theta);
    moe_estep(d, m, w->g, w->h);
    double inv_s2[MOE_K_MAX];
    for (size_t i = 0; i < k; i++)
        inv_s2[i] = 1 / (m->sigma[i] * m->sigma[i]);
    long nb = (long)w->nblocks;
#pragma omp parallel for schedule(static) if (nb > 1)
    for (long b = 0; b < nb; b++)
        score_block(d, w, inv_s2, (size_t)b, w->partial + (size_t)b * np);
    memset(grad, 0, np * sizeof *grad);
    for (size_t b = 0; b < w->nblocks; b++)
        for (size_t j = 0; j < np; j++)
            grad[j] += w->partial[b * np + j];
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
    size_t np = moe_infer_nparams(m);
    double *theta = w.theta;
    double *gp = malloc(np * sizeof *gp), *gm = malloc(np * sizeof *gm);
    if (!gp || !gm) {
        status = moe_error_set(err, MOE_ENOMEM, "standard errors: out of memory");
        goto done;
    }
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
    free(gp);
    free(gm);
    score_work_free(&w);
    return status;
}

int moe_infer_covariance(const moe_dataset *d, const moe_model *m, double *cov, moe_error *err)
{
    int status = moe_infer_hessian(d, m, cov, err);
    if (status)
        return status;
    size_t np = moe_infer_nparams(m);
    int finite = 1;
    for (size_t i = 0; i < np * np; i++) {
        cov[i] = -cov[i];
        finite &= isfinite(cov[i]) != 0;
    }
    lapack_int info = -1;
    if (finite) {
        info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)np, cov, (lapack_int)np);
        if (info == 0)
            info = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)np, cov, (lapack_int)np);
    }
    if (info != 0) {
        for (size_t i = 0; i < np * np; i++)
            cov[i] = NAN;
        if (info < 0 && finite)
            return moe_error_set(err, MOE_ENUMERIC,
                                 "standard errors: LAPACK argument error %d", (int)info);
        return moe_error_set(err, MOE_ESING,
                             "the observed information is not positive definite (some "
                             "parameters are not identified by these data)");
    }
    for (size_t i = 0; i < np; i++)
        for (size_t j = i + 1; j < np; j++)
            cov[i * np + j] = cov[j * np + i];
    return MOE_SUCCESS;
}

/* sqrt of the diagonal of A C A' for the P x P block C of the NP x NP matrix COV starting at
 * OFF (A is P x P, row-major); NaN where the variance is not positive and finite. */
static void mapped_se(const double *a, const double *cov, size_t np, size_t off, size_t p,
                      double *se)
{
    for (size_t r = 0; r < p; r++) {
        double v = 0;
        for (size_t s = 0; s < p; s++)
            for (size_t t = 0; t < p; t++)
                v += a[r * p + s] * cov[(off + s) * np + off + t] * a[r * p + t];
        se[r] = isfinite(v) && v > 0 ? sqrt(v) : NAN;
    }
}

void moe_infer_sigma_se(const moe_model *m, const double *cov, size_t ld, double *sigma_se)
{
    size_t px = m->nx + 1;
    for (size_t i = 0; i < m->k; i++) {
        size_t t = i * (px + 1) + px;  /* log sigma_i */
        double v = cov[t * ld + t];
        sigma_se[i] = isfinite(v) && v > 0 ? m->sigma[i] * m->y_scale * sqrt(v) : NAN;
    }
}

int moe_infer_standard_errors(const moe_dataset *d, const moe_model *m, double *expert_se,
                              double *gate_se, double *sigma_se, moe_error *err)
{
    if (!m)
        return moe_error_set(err, MOE_EINVAL, "standard errors: no model");
    size_t k = m->k, px = m->nx + 1, pz = m->nz + 1;
    if (expert_se)
        for (size_t i = 0; i < k * px; i++)
            expert_se[i] = NAN;
    if (gate_se)
        for (size_t i = 0; k > 0 && i < (k - 1) * pz; i++)
            gate_se[i] = NAN;
    if (sigma_se)
        for (size_t i = 0; i < k; i++)
            sigma_se[i] = NAN;
    if (k == 0)
        return moe_error_set(err, MOE_EINVAL, "standard errors: empty model");
    size_t np = moe_infer_nparams(m);
    size_t pmax = px > pz ? px : pz;
    double *cov = malloc(np * np * sizeof *cov);
    double *a = malloc(pmax * pmax * sizeof *a), *offset = malloc(pmax * sizeof *offset);
    if (!cov || !a || !offset) {
        free(cov);
        free(a);
        free(offset);
        return moe_error_set(err, MOE_ENOMEM, "standard errors: out of memory (%zu parameters)",
                             np);
    }
    int status = moe_infer_covariance(d, m, cov, err);
    if (status == MOE_SUCCESS) {
        if (expert_se) {
            moe_model_expert_map(m, a, offset);
            for (size_t i = 0; i < k; i++)
                mapped_se(a, cov, np, i * (px + 1), px, expert_se + i * px);
        }
        if (sigma_se)
            moe_infer_sigma_se(m, cov, np, sigma_se);
        if (gate_se && k > 1) {
            moe_model_gate_map(m, a);
            for (size_t i = 0; i + 1 < k; i++)
                mapped_se(a, cov, np, k * (px + 1) + i * pz, pz, gate_se + i * pz);
        }
    }
    free(cov);
    free(a);
    free(offset);
    return status;
}
