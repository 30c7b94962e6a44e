/* spurious.h: finding spurious experts in a fitted model (src/train/spurious.c). Internal
 * to libmoe; src/train/select.c calls it on the best fit of every K.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_TRAIN_SPURIOUS_H
#define MOE_TRAIN_SPURIOUS_H

#include <stddef.h>

#include "data/dataset.h"
#include "model/model.h"

/* Default of moe_fit_options.min_rows: effective rows per free parameter of an expert. */
#define MOE_SPURIOUS_MIN_ROWS 5.0

/* Counts the spurious experts of M (standardised scale) fitted to the standardised data D
 * with posteriors H (n x k, without the observation weights): an expert is spurious when
 *  - its family floors the variance of y (a scaled response, closed-form M-step: the
 *    Gaussian) and its variance is within 1e-6 relative of VAR_FLOOR: the likelihood of an
 *    expert on tied or collinear rows is unbounded and only the floor stopped it; or
 *  - its effective size sum_n w_n h_ni is below MIN_ROWS times its free parameters (the
 *    family's rows_rule_params where it has one: an MLP counts a linear expert's)
 *    (MIN_ROWS 0: this check is off).
 * WHY (LEN bytes, may be NULL) gets a description of each, e.g. "expert 1 at the variance
 * floor (SD 0.0027); expert 3 on 12.0 effective rows (fewer than 5 per each of its 4
 * parameters)", with SDs on the data's scale (Y_SCALE: the response's scale; M may still be on the
 * unit scaling while it is trained). Returns the count. */
size_t moe_train_spurious(const moe_dataset *d, const moe_model *m, const double *h,
                          double var_floor, double min_rows, double y_scale, char *why,
                          size_t len);

#endif
