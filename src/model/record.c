/* record.c: the fit's record kept with a model (log-likelihood, criteria, expert shares,
 * the standard errors of the reported coefficients, separation and warnings), so that a saved model can be
 * summarised again without the data (moe_model_write_summary, "fit" in the model file).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model.h"

size_t moe_model_record_len(const moe_model *m)
{
    size_t len = 0;
    for (size_t b = 0; m && b <= m->k; b++)
        len += moe_model_ncoef(m, b);
    return len;
}

void moe_model_record_clear(moe_model *m)
{
    if (!m)
        return;
    free(m->rec_prior);
    free(m->rec_size);
    free(m->rec_se);
    m->rec_prior = m->rec_size = m->rec_se = NULL;
    for (size_t j = 0; j < m->rec_nwarnings; j++)
        free(m->rec_warnings[j]);
    free(m->rec_warnings);
    m->rec_warnings = NULL;
    m->rec_nwarnings = 0;
    m->rec_separated = 0;
    m->has_record = 0;
    m->rec_loglik = m->rec_aic = m->rec_bic = m->rec_icl = NAN;
}

/* Allocates M's record arrays (NaN-filled SEs); has_record stays as it is. */
int moe_model_record_alloc(moe_model *m)
{
    size_t len = moe_model_record_len(m);
    free(m->rec_prior);
    free(m->rec_size);
    free(m->rec_se);
    m->rec_prior = malloc((m->k + 1) * sizeof *m->rec_prior);
    m->rec_size = malloc((m->k + 1) * sizeof *m->rec_size);
    m->rec_se = malloc((len + 1) * sizeof *m->rec_se);
    if (!m->rec_prior || !m->rec_size || !m->rec_se) {
        moe_model_record_clear(m);
        return MOE_ENOMEM;
    }
    for (size_t j = 0; j < len; j++)
        m->rec_se[j] = NAN;
    return MOE_SUCCESS;
}

int moe_model_record_set(moe_model *m, double loglik, double aic, double bic, double icl,
                         const double *prior, const size_t *size, double *const *block_se)
{
    if (!m || !prior || !size || !block_se)
        return MOE_EINVAL;
    if (moe_model_record_alloc(m))
        return MOE_ENOMEM;
    m->rec_loglik = loglik;
    m->rec_aic = aic;
    m->rec_bic = bic;
    m->rec_icl = icl;
    for (size_t i = 0; i < m->k; i++) {
        m->rec_prior[i] = prior[i];
        m->rec_size[i] = (double)size[i];
    }
    size_t at = 0;
    for (size_t b = 0; b <= m->k; b++) {
        size_t nc = moe_model_ncoef(m, b);
        memcpy(m->rec_se + at, block_se[b], nc * sizeof *m->rec_se);
        at += nc;
    }
    m->has_record = 1;
    return MOE_SUCCESS;
}

int moe_model_record_notes(moe_model *m, int separated, char *const *w, size_t nw)
{
    for (size_t j = 0; j < m->rec_nwarnings; j++)
        free(m->rec_warnings[j]);
    free(m->rec_warnings);
    m->rec_warnings = NULL;
    m->rec_nwarnings = 0;
    m->rec_separated = separated != 0;
    if (nw == 0)
        return MOE_SUCCESS;
    if (!(m->rec_warnings = calloc(nw, sizeof *m->rec_warnings)))
        return MOE_ENOMEM;
    for (size_t j = 0; j < nw; j++) {
        size_t len = strlen(w[j]) + 1;
        if (!(m->rec_warnings[j] = malloc(len))) {
            m->rec_nwarnings = j;
            return MOE_ENOMEM;
        }
        memcpy(m->rec_warnings[j], w[j], len);
    }
    m->rec_nwarnings = nw;
    return MOE_SUCCESS;
}

int moe_model_record_copy(moe_model *dst, const moe_model *src)
{
    moe_model_record_clear(dst);
    if (!src->has_record)
        return MOE_SUCCESS;
    if (moe_model_record_alloc(dst))
        return MOE_ENOMEM;
    dst->rec_loglik = src->rec_loglik;
    dst->rec_aic = src->rec_aic;
    dst->rec_bic = src->rec_bic;
    dst->rec_icl = src->rec_icl;
    memcpy(dst->rec_prior, src->rec_prior, src->k * sizeof *dst->rec_prior);
    memcpy(dst->rec_size, src->rec_size, src->k * sizeof *dst->rec_size);
    memcpy(dst->rec_se, src->rec_se, moe_model_record_len(src) * sizeof *dst->rec_se);
    if (moe_model_record_notes(dst, src->rec_separated, src->rec_warnings, src->rec_nwarnings)) {
        moe_model_record_clear(dst);
        return MOE_ENOMEM;
    }
    dst->has_record = 1;
    return MOE_SUCCESS;
}
