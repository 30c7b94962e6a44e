/* summary_model.c: the summary of a saved model without refitting (moe_model_write_summary):
 * the fit's tables again, from the parameters and the record the model file keeps.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * It builds a read-only view of a fit (struct moe_fit, from_model set) over the model and
 * its record (src/model/record.c) and hands it to moe_fit_write_summary, so the coefficient
 * tables are printed by the same code as after a fit, digit for digit. A model without the
 * record (a file from before issue 13, or written by hand) prints its estimates with "NA"
 * for every standard error, z, p and the log-likelihood; what a fit knows besides (the
 * iterations, the model-selection table, the weights' name) is never in a model file and
 * is not shown. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "infer/fit.h"
#include "model/model.h"

int moe_model_write_summary(const moe_model *m, FILE *fp, moe_error *err)
{
    if (!m || !fp)
        return moe_error_set(err, MOE_EINVAL, "summary: no model or no output");
    size_t k = m->k;
    struct moe_fit view;
    memset(&view, 0, sizeof view);
    view.model = (moe_model *)m;  /* the writer only reads it */
    view.from_model = 1;
    view.criterion = MOE_CRIT_BIC;
    view.prior = malloc(k * sizeof *view.prior);
    view.size = malloc(k * sizeof *view.size);
    view.block_se = malloc((k + 1) * sizeof *view.block_se);
    double *nan_se = malloc((moe_model_record_len(m) + 1) * sizeof *nan_se);
    int status = MOE_SUCCESS;
    if (!view.prior || !view.size || !view.block_se || !nan_se) {
        status = moe_error_set(err, MOE_ENOMEM, "summary: out of memory");
        goto done;
    }
    size_t len = moe_model_record_len(m);
    for (size_t j = 0; j < len; j++)
        nan_se[j] = NAN;
    const double *se = m->has_record ? m->rec_se : nan_se;
    size_t at = 0;
    for (size_t b = 0; b <= k; b++) {
        view.block_se[b] = (double *)se + at;
        at += moe_model_ncoef(m, b);
    }
    for (size_t i = 0; i < k; i++) {
        view.prior[i] = m->has_record ? m->rec_prior[i] : NAN;
        view.size[i] = m->has_record ? (size_t)m->rec_size[i] : 0;
    }
    view.warnings = m->has_record ? m->rec_warnings : NULL;
    view.nwarnings = m->has_record ? m->rec_nwarnings : 0;
    moe_fit_stats *st = &view.stats;
    st->separated = m->has_record && m->rec_separated;
    st->k = k;
    st->n = m->has_ranges ? m->n_fit : 0;
    st->df = moe_model_nparams(m);
    st->converged = 1;
    st->loglik = m->has_record ? m->rec_loglik : NAN;
    st->aic = m->has_record ? m->rec_aic : NAN;
    st->bic = m->has_record ? m->rec_bic : NAN;
    st->icl = m->has_record ? m->rec_icl : NAN;
    moe_gate_shape gs = moe_model_gate_shape(m);
    moe_tree_format(&gs, st->tree, sizeof st->tree);
    status = moe_fit_write_summary(&view, fp, err);
done:
    free(view.prior);
    free(view.size);
    free(view.block_se);
    free(nan_se);
    return status;
}
