/* model_data.c: the data set a model predicts for, built from a table by the model's own
 * column names (moe_dataset_for_model).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include "core/error.h"
#include "data/dataset.h"
#include "model/model.h"

int moe_dataset_for_model(const moe_table *t, const moe_model *m, int need_response,
                          moe_na_policy na, moe_dataset **out, moe_error *err)
{
    if (out)
        *out = NULL;
    if (!t || !m || !out)
        return moe_error_set(err, MOE_EINVAL, "moe_dataset_for_model: NULL argument");
    return moe_dataset_from_names(t, need_response ? m->y_name : NULL,
                                  (const char *const *)m->x_names, m->nx,
                                  (const char *const *)m->z_names, m->nz, m->offset_name,
                                  m->trials_name, na, out, err);
}
