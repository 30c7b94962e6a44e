/* sgemm_ref.c: the reference of the kernels table's float32 matrix product (kernels.h, the
 * sgemm slot): C = BETA C + op(A) op(B), each element's sum over K taken in order in float.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include "kernels/kernels.h"

void moe_kernels_sgemm_ref(int ta, int tb, size_t m, size_t n, size_t k, const float *a,
                           size_t lda, const float *b, size_t ldb, float beta, float *c,
                           size_t ldc, float *work)
{
    (void)work;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float s = 0;
            for (size_t p = 0; p < k; p++)
                s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = beta != 0 ? c[i * ldc + j] + s : s;
        }
}
