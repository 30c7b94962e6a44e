/* layer.c: the public float32 sparse layer (moe_sparse_*): layer_impl.h instantiated for float
 * with OpenBLAS's sgemm.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include "core/error.h"
#include "moe.h"

#define REAL float
#define SP(name) sp32_##name
#define LAYER moe_sparse_layer
#define GEMM cblas_sgemm
#include "sparse/layer_impl.h"

int moe_sparse_alloc(const moe_sparse_config *c, moe_sparse_layer **out, moe_error *err)
{
    if (!out)
        return moe_error_set(err, MOE_EINVAL, "sparse layer: NULL output");
    return sp32_alloc_impl(c, out, err);
}

void moe_sparse_free(moe_sparse_layer *l) { sp32_free_impl(l); }

size_t moe_sparse_nparams(const moe_sparse_layer *l) { return l ? l->np : 0; }

float *moe_sparse_params(moe_sparse_layer *l) { return l ? l->par : NULL; }

const float *moe_sparse_grads(const moe_sparse_layer *l) { return l ? l->grad : NULL; }

int moe_sparse_forward(moe_sparse_layer *l, const float *x, size_t tokens, int training,
                       unsigned long step, float *y, moe_sparse_stats *stats, moe_error *err)
{
    if (!l)
        return moe_error_set(err, MOE_EINVAL, "sparse layer: NULL layer");
    return sp32_forward_impl(l, x, tokens, training, step, y, stats, err);
}

int moe_sparse_backward(moe_sparse_layer *l, const float *dy, float *dx, moe_error *err)
{
    if (!l)
        return moe_error_set(err, MOE_EINVAL, "sparse layer: NULL layer");
    return sp32_backward_impl(l, dy, dx, err);
}

size_t moe_sparse_expert_rows(const moe_sparse_layer *l, size_t e, size_t *dropped)
{
    if (dropped)
        *dropped = l && e < l->c.experts ? l->dropped[e] : 0;
    return l && e < l->c.experts ? l->routed[e] : 0;
}
