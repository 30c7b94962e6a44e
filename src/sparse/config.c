/* config.c: the sparse layer's default configuration and its check (moe_sparse_config).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdint.h>

#include "moe.h"

moe_sparse_config moe_sparse_config_default(void)
{
    moe_sparse_config c = {
        .d = 16, .hidden = 32, .experts = 8, .top_k = 2, .max_tokens = 1024,
        .activation = MOE_SPARSE_RELU, .noisy = 1, .aux = MOE_AUX_SHAZEER, .w_importance = 0.1,
        .w_load = 0.1, .w_switch = 0.01, .w_z = 0, .capacity_factor = 0, .seed = 1,
        .gemm = MOE_SPARSE_GEMM_AUTO};
    return c;
}

const char *moe_sparse_config_check(const moe_sparse_config *c)
{
    if (!c)
        return "no configuration";
    if (c->d == 0 || c->hidden == 0)
        return "d and hidden must be at least 1";
    if (c->experts < 1 || c->experts > MOE_SPARSE_MAX_EXPERTS)
        return "experts must be between 1 and 256";
    if (c->top_k < 1 || c->top_k > c->experts)
        return "top_k must be between 1 and the number of experts";
    if (c->max_tokens == 0)
        return "max_tokens must be at least 1";
    /* the BLAS calls take int sizes: the largest grouped buffer must fit */
    size_t w = c->d > c->hidden ? c->d : c->hidden;
    if (c->max_tokens > (size_t)INT32_MAX / c->top_k / w)
        return "max_tokens x top_k x max(d, hidden) is too large";
    if (c->activation != MOE_SPARSE_RELU && c->activation != MOE_SPARSE_GELU)
        return "activation must be MOE_SPARSE_RELU or MOE_SPARSE_GELU";
    if (c->aux != MOE_AUX_SHAZEER && c->aux != MOE_AUX_SWITCH && c->aux != MOE_AUX_NONE)
        return "aux must be MOE_AUX_SHAZEER, MOE_AUX_SWITCH or MOE_AUX_NONE";
    if (!(c->w_importance >= 0) || !(c->w_load >= 0) || !(c->w_switch >= 0) ||
        !(c->w_z >= 0) || !isfinite(c->w_importance + c->w_load + c->w_switch + c->w_z))
        return "loss weights must be finite and >= 0";
    if (c->gemm != MOE_SPARSE_GEMM_AUTO && c->gemm != MOE_SPARSE_GEMM_KERNELS &&
        c->gemm != MOE_SPARSE_GEMM_BLAS)
        return "gemm must be MOE_SPARSE_GEMM_AUTO, _KERNELS or _BLAS";
    if (!(c->capacity_factor >= 0) || !isfinite(c->capacity_factor))
        return "capacity_factor must be finite and >= 0 (0: no capacity)";
    return NULL;
}
