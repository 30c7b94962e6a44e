/* layer.c: the public float32 sparse layer (moe_sparse_*): layer_impl.h instantiated for float
 * with the kernels table's sgemm or OpenBLAS's, and the table's row-loop kernels.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include "core/error.h"
#include "moe.h"

#define REAL float
#define SP(name) sp32_##name
#define LAYER moe_sparse_layer
#define GEMM_CALL(l, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)                           \
    do {                                                                                   \
        if ((l)->blas)                                                                     \
            cblas_sgemm(CblasRowMajor, (ta) ? CblasTrans : CblasNoTrans,                   \
                        (tb) ? CblasTrans : CblasNoTrans, (int)(m), (int)(n), (int)(k), 1, \
                        (a), (int)(lda), (b), (int)(ldb), (beta), (c), (int)(ldc));        \
        else                                                                               \
            moe_kernels_get()->sgemm((ta), (tb), (m), (n), (k), (a), (lda), (b), (ldb),    \
                                     (beta), (c), (ldc), sp32_work_of(l));                       \
    } while (0)
#define KERN(slot) (moe_kernels_get()->slot)
#include "sparse/layer_impl.h"

/* The expert GEMMs: the kernels table's sgemm when the set in use has one faster than
 * OpenBLAS's (the register-blocked AVX-512 tile), else OpenBLAS's (the reference sgemm is a
 * plain loop, the AVX2 tile slower than OpenBLAS's own AVX2 kernels). bench/README.md has the
 * measurements behind the choice. */
static int use_blas(moe_sparse_gemm g)
{
    if (g == MOE_SPARSE_GEMM_BLAS)
        return 1;
    if (g == MOE_SPARSE_GEMM_KERNELS)
        return 0;
    return !moe_kernels_get()->sgemm_beats_blas;
}

const char *moe_sparse_gemm_name(const moe_sparse_layer *l)
{
    return !l ? NULL : l->blas ? "blas" : moe_kernels_get()->name;
}

int moe_sparse_alloc(const moe_sparse_config *c, moe_sparse_layer **out, moe_error *err)
{
    if (!out)
        return moe_error_set(err, MOE_EINVAL, "sparse layer: NULL output");
    int st = sp32_alloc_impl(c, out, err);
    if (st == MOE_SUCCESS)
        (*out)->blas = use_blas(c->gemm);
    return st;
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
