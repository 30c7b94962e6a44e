/* lrtest.h: likelihood-ratio tests of the gate (src/infer/lrtest.c), internal to libmoe.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_INFER_LRTEST_H
#define MOE_INFER_LRTEST_H

#include "data/dataset.h"
#include "model/model.h"

/* Per-input tests are run for at most this many gate inputs (each costs one more search). */
#define MOE_LRT_PER_INPUT_MAX 4

struct moe_fit;

/* Refits K experts on standardised DS (types of TYPES, the search of OPT; the tree gate TREE,
 * e.g. "2x2", or a flat gate when TREE is NULL) with a constant gate (every node's, for a
 * tree) and, for 2..MOE_LRT_PER_INPUT_MAX gate inputs, without each one, and stores the tests
 * against the full fit's LOGLIK (data scale; LL_SHIFT as for moe_train_select) in F->lrt.
 * MOE_SUCCESS (no test for K = 1 or no gate inputs), MOE_ENOMEM or MOE_ENUMERIC. */
int moe_infer_gate_lrt(const moe_dataset *ds, const moe_model *types, const moe_fit_options *opt,
                       size_t k, const char *tree, double ll_shift, double loglik,
                       struct moe_fit *f, moe_error *err);

#endif
