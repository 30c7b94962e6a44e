/* dot_impl.h: dot_rows' scalar loop written once: the reference's (ref.c) and the ISA files'
 * for shapes their vectors do not pay on (compiled there without fused multiply-adds, so the
 * same numbers). Included by one file each, so a static function.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_KERNELS_DOT_IMPL_H
#define MOE_KERNELS_DOT_IMPL_H

#include <stddef.h>

static inline void moe_dot_rows_scalar(size_t n, size_t m, size_t p, const double *restrict w,
                                       size_t ldw, const double *restrict b,
                                       const double *restrict z, size_t ldz,
                                       double *restrict out, size_t ldo)
{
    for (size_t r = 0; r < n; r++) {
        const double *zr = z + r * ldz;
        for (size_t i = 0; i < m; i++) {
            const double *wi = w + i * ldw;
            double e = b ? b[i] : 0;
            for (size_t l = 0; l < p; l++)
                e += wi[l] * zr[l];
            out[r * ldo + i] = e;
        }
    }
}

#endif
