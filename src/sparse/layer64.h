/* layer64.h: the sparse layer in double precision, for the tests' finite-difference checks of
 * the float layer's formulas (the same code, layer_impl.h, instantiated for double). Not part
 * of the public API: the functions mirror moe_sparse_* with doubles.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_SPARSE_LAYER64_H
#define MOE_SPARSE_LAYER64_H

#include <stddef.h>

#include "moe.h"

typedef struct moe_sparse64_layer moe_sparse64_layer;

int moe_sparse64_alloc(const moe_sparse_config *c, moe_sparse64_layer **out, moe_error *err);
void moe_sparse64_free(moe_sparse64_layer *l);
size_t moe_sparse64_nparams(const moe_sparse64_layer *l);
double *moe_sparse64_params(moe_sparse64_layer *l);
const double *moe_sparse64_grads(const moe_sparse64_layer *l);
int moe_sparse64_forward(moe_sparse64_layer *l, const double *x, size_t tokens, int training,
                         unsigned long step, double *y, moe_sparse_stats *stats,
                         moe_error *err);
int moe_sparse64_backward(moe_sparse64_layer *l, const double *dy, double *dx,
                          moe_error *err);
/* the kept experts of token T by rank (top_k values), for the tests */
const size_t *moe_sparse64_routes(const moe_sparse64_layer *l, size_t t);

#endif
