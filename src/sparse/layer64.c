/* layer64.c: layer_impl.h instantiated for double with dgemm and the reference row-loop
 * kernels (kernels/sparse_impl.h) in double (layer64.h says why).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include "core/error.h"
#include "sparse/layer64.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

#define REAL double
#define SK(name) sp64k_##name
#include "kernels/sparse_impl.h"

#define KERN(slot) sp64k_##slot
#define SP(name) sp64_##name
#define LAYER moe_sparse64_layer
#define GEMM_CALL(l, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)                           \
    cblas_dgemm(CblasRowMajor, (ta) ? CblasTrans : CblasNoTrans,                           \
                (tb) ? CblasTrans : CblasNoTrans, (int)(m), (int)(n), (int)(k), 1, (a),    \
                (int)(lda), (b), (int)(ldb), (beta), (c), (int)(ldc))
#include "sparse/layer_impl.h"

int moe_sparse64_alloc(const moe_sparse_config *c, moe_sparse64_layer **out, moe_error *err)
{
    int st = sp64_alloc_impl(c, out, err);
    if (st == MOE_SUCCESS)
        (*out)->blas = 1;   /* dgemm, threaded by BLAS itself */
    return st;
}

void moe_sparse64_free(moe_sparse64_layer *l) { sp64_free_impl(l); }
size_t moe_sparse64_nparams(const moe_sparse64_layer *l) { return l->np; }
double *moe_sparse64_params(moe_sparse64_layer *l) { return l->par; }
const double *moe_sparse64_grads(const moe_sparse64_layer *l) { return l->grad; }

int moe_sparse64_forward(moe_sparse64_layer *l, const double *x, size_t tokens, int training,
                         unsigned long step, double *y, moe_sparse_stats *stats,
                         moe_error *err)
{
    return sp64_forward_impl(l, x, tokens, training, step, y, stats, err);
}

int moe_sparse64_backward(moe_sparse64_layer *l, const double *dy, double *dx,
                          moe_error *err)
{
    return sp64_backward_impl(l, dy, dx, err);
}

const size_t *moe_sparse64_routes(const moe_sparse64_layer *l, size_t t)
{
    return l->idx + t * l->c.top_k;
}
