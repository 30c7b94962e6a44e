/* posterior_impl.h: the per-row log-sum-exp and posteriors written once over a vector exp;
 * included by the ISA kernel files, each with its own VEXP, so the exp is inlined there.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Rows are taken in chunks of at most MOE_POST_CHUNK elements: the max of each row and the
 * row sums are taken as in the reference (same order), the exps through VEXP over the whole
 * chunk at once and the rows' logs through VLOG. Included by one file each, so a static function. */
#ifndef MOE_KERNELS_POSTERIOR_IMPL_H
#define MOE_KERNELS_POSTERIOR_IMPL_H

#include <math.h>
#include <stddef.h>

#define MOE_POST_CHUNK 512

static inline __attribute__((always_inline)) void
moe_posterior_rows_with(void (*vexp)(size_t, const double *, double *),
                        void (*vlog)(size_t, const double *, double *),
                        size_t n, size_t k, const double *restrict a, double *restrict h,
                        double *restrict lp)
{
    double t[MOE_POST_CHUNK], mx[MOE_POST_CHUNK], ls[MOE_POST_CHUNK];
    size_t rows = k <= MOE_POST_CHUNK ? MOE_POST_CHUNK / k : 0;
    if (rows == 0) {  /* K beyond the chunk: the caller's k <= MOE_K_MAX never gets here */
        for (size_t r = 0; r < n; r++) {
            const double *ar = a + r * k;
            double m = -INFINITY, s = 0;
            for (size_t i = 0; i < k; i++)
                m = ar[i] > m ? ar[i] : m;
            for (size_t i = 0; i < k; i++)
                s += exp(ar[i] - m);
            lp[r] = m + log(s);
            if (h)
                for (size_t i = 0; i < k; i++)
                    h[r * k + i] = exp(ar[i] - lp[r]);
        }
        return;
    }
    for (size_t r0 = 0; r0 < n; r0 += rows) {
        size_t nc = n - r0 < rows ? n - r0 : rows, ne = nc * k;
        const double *ac = a + r0 * k;
        for (size_t r = 0; r < nc; r++) {
            double m = -INFINITY;
            for (size_t i = 0; i < k; i++)
                if (ac[r * k + i] > m)
                    m = ac[r * k + i];
            mx[r] = m;
            for (size_t i = 0; i < k; i++)
                t[r * k + i] = ac[r * k + i] - m;
        }
        vexp(ne, t, t);
        for (size_t r = 0; r < nc; r++) {
            double s = 0;
            for (size_t i = 0; i < k; i++)
                s += t[r * k + i];
            ls[r] = s;
        }
        vlog(nc, ls, ls);
        for (size_t r = 0; r < nc; r++) {
            double l = mx[r] + ls[r];
            lp[r0 + r] = l;
            for (size_t i = 0; i < k; i++)
                t[r * k + i] = ac[r * k + i] - l;
        }
        if (h)
            vexp(ne, t, h + r0 * k);
    }
}

#endif
