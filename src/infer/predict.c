/* predict.c: predictions of a model for new rows (moe_predict, moe_prediction_free).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Everything is computed on the model's standardised scale and mapped back at the end:
 * the mixture mean m = sum_i g_i mu_i and, by the law of total variance, the predictive
 * variance sum_i g_i (s_i^2 + (mu_i - m)^2) (written as a sum of non-negative terms, not as
 * E[y^2] - m^2, so that it cannot cancel to a negative number). Posterior responsibilities
 * do not depend on the scale (the Jacobian cancels), so they come straight from the E-step. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/dataset.h"
#include "experts/expert.h"
#include "gates/gate.h"
#include "model/model.h"
#include "model/estep.h"

void moe_prediction_free(moe_prediction *p)
{
    if (!p)
        return;
    free(p->mean);
    free(p->expert_mean);
    free(p->sd);
    free(p->gate);
    free(p->expert);
    free(p->posterior);
    free(p->node);
    free(p->node_posterior);
    free(p);
}

static moe_prediction *prediction_alloc(size_t n, size_t k, size_t nodes, int posterior)
{
    moe_prediction *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = n;
    p->k = k;
    size_t nn = n ? n : 1, nk = n * k > 0 ? n * k : 1;
    p->mean = malloc(nn * sizeof *p->mean);
    p->expert_mean = malloc(nk * sizeof *p->expert_mean);
    p->sd = malloc(nn * sizeof *p->sd);
    p->gate = malloc(nk * sizeof *p->gate);
    p->expert = malloc(nn * sizeof *p->expert);
    if (posterior)
        p->posterior = malloc(nk * sizeof *p->posterior);
    p->nodes = nodes;
    if (nodes) {
        p->node = malloc((n ? n : 1) * nodes * sizeof *p->node);
        if (posterior)
            p->node_posterior = malloc((n ? n : 1) * nodes * sizeof *p->node_posterior);
    }
    if (!p->mean || !p->expert_mean || !p->sd || !p->gate || !p->expert ||
        (posterior && !p->posterior) ||
        (nodes && (!p->node || (posterior && !p->node_posterior)))) {
        moe_prediction_free(p);
        return NULL;
    }
    return p;
}

int moe_predict(const moe_model *m, const moe_dataset *d, int posterior, moe_prediction **out,
                moe_error *err)
{
    moe_core_init();
    if (!out)
        return moe_error_set(err, MOE_EINVAL, "moe_predict: no place for the result");
    *out = NULL;
    if (!m || !d)
        return moe_error_set(err, MOE_EINVAL, "moe_predict: no model or no data");
    if (d->nx != m->nx || d->nz != m->nz)
        return moe_error_set(err, MOE_EBADLEN,
                             "the data have %zu inputs and %zu gate inputs, the model %zu and %zu",
                             d->nx, d->nz, m->nx, m->nz);
    if (posterior && !d->y)
        return moe_error_set(err, MOE_EINVAL,
                             "posterior responsibilities need the response (%s) in the data",
                             m->y_name ? m->y_name : "y");
    if (m->k == 0 || m->k > MOE_K_MAX)
        return moe_error_set(err, MOE_EINVAL, "the model has %zu experts (1 to %d allowed)",
                             m->k, MOE_K_MAX);
    size_t n = d->n, k = m->k;
    size_t nodes = moe_model_nnodes(m);
    moe_prediction *p = prediction_alloc(n, k, nodes, posterior);
    moe_dataset *s = moe_model_standardise(m, d);
    double *mu = malloc((n * k > 0 ? n * k : 1) * sizeof *mu);
    double *var = malloc((n * k > 0 ? n * k : 1) * sizeof *var);
    double *tmu = malloc((n ? n : 1) * sizeof *tmu), *tvar = malloc((n ? n : 1) * sizeof *tvar);
    int status = MOE_SUCCESS;
    if (!p || !s || !mu || !var || !tmu || !tvar) {
        status = moe_error_set(err, MOE_ENOMEM, "moe_predict: out of memory (%zu rows)", n);
        goto done;
    }
    if (n == 0)
        goto done;

    /* gate probabilities: log_prob gives log g (already normalised by log-sum-exp) */
    moe_gate_shape gs = moe_model_gate_shape(m);
    moe_expert_shape es = moe_model_expert_shape(m);
    m->gate->log_prob_rows(s, &gs, m->gate_par, 0, n, p->gate);
    for (size_t r = 0; r < n * k; r++)
        p->gate[r] = exp(p->gate[r]);
    for (size_t i = 0; i < k; i++) {
        m->expert->moments_rows(s, &es, moe_model_expert_block_const(m, i), 0, n, tmu, tvar);
        for (size_t r = 0; r < n; r++) {
            mu[r * k + i] = tmu[r];
            var[r * k + i] = tvar[r];
            p->expert_mean[r * k + i] = m->y_center + m->y_scale * tmu[r];
        }
    }
    for (size_t r = 0; r < n; r++) {
        const double *g = p->gate + r * k, *mr = mu + r * k, *vr = var + r * k;
        double mean = 0, best = -1;
        size_t arg = 0;
        for (size_t i = 0; i < k; i++) {
            mean += g[i] * mr[i];
            if (g[i] > best) {
                best = g[i];
                arg = i;
            }
        }
        double v = 0;
        for (size_t i = 0; i < k; i++) {
            double dm = mr[i] - mean;
            v += g[i] * (vr[i] + dm * dm);
        }
        p->mean[r] = m->y_center + m->y_scale * mean;
        p->sd[r] = m->y_scale * sqrt(v);
        p->expert[r] = arg;
        if (!isfinite(p->mean[r]) || !isfinite(p->sd[r])) {
            status = moe_error_set(err, MOE_ENUMERIC,
                                   "prediction for row %zu is not a finite number (the model's "
                                   "coefficients are too large for these inputs)", r + 1);
            goto done;
        }
    }
    for (size_t r = 0; r < n * k; r++)
        if (!isfinite(p->gate[r])) {
            status = moe_error_set(err, MOE_ENUMERIC,
                                   "gate probability for row %zu is not finite", r / k + 1);
            goto done;
        }
    if (posterior) {
        double ll = moe_estep(s, m, NULL, p->posterior);
        (void)ll;
        for (size_t r = 0; r < n * k; r++)
            if (!isfinite(p->posterior[r])) {
                status = moe_error_set(err, MOE_ENUMERIC,
                                       "posterior for row %zu is not finite", r / k + 1);
                goto done;
            }
    }
    /* a tree's inner nodes: the sums over the leaves below them */
    for (size_t j = 0; j < nodes; j++) {
        size_t first, count;
        moe_model_node_leaves(m, j, &first, &count);
        for (size_t r = 0; r < n; r++) {
            double sg = 0, sh = 0;
            for (size_t i = first; i < first + count; i++) {
                sg += p->gate[r * k + i];
                if (posterior)
                    sh += p->posterior[r * k + i];
            }
            p->node[r * nodes + j] = sg < 1 ? sg : 1;  /* a sum of rounded terms */
            if (posterior && sh > 1)
                sh = 1;
            if (posterior)
                p->node_posterior[r * nodes + j] = sh;
        }
    }
done:
    free(mu);
    free(var);
    free(tmu);
    free(tvar);
    moe_dataset_free(s);
    if (status) {
        moe_prediction_free(p);
        return status;
    }
    *out = p;
    return MOE_SUCCESS;
}

int moe_model_loglik(const moe_model *m, const moe_dataset *d, double *loglik, moe_error *err)
{
    if (!m || !d || !loglik)
        return moe_error_set(err, MOE_EINVAL, "loglik: no model, data or output");
    if (!d->y)
        return moe_error_set(err, MOE_EINVAL, "loglik: the data have no response");
    if (d->nx != m->nx || d->nz != m->nz)
        return moe_error_set(err, MOE_EBADLEN, "loglik: the data have %zu inputs and %zu gate "
                             "inputs, the model %zu and %zu", d->nx, d->nz, m->nx, m->nz);
    moe_dataset *ds = moe_model_standardise(m, d);
    if (!ds)
        return moe_error_set(err, MOE_ENOMEM, "loglik: out of memory");
    double wsum = 0;
    for (size_t r = 0; r < d->n; r++)
        wsum += d->w ? d->w[r] : 1;
    *loglik = moe_estep(ds, m, NULL, NULL) - wsum * log(m->y_scale);
    moe_dataset_free(ds);
    return isfinite(*loglik) ? MOE_SUCCESS
                             : moe_error_set(err, MOE_ENUMERIC, "loglik: not finite on these data");
}
