/* sgemm_avx2.c: the AVX2+FMA float32 matrix product of the kernels table (kernels.h, the sgemm
 * slot); compiled alone with the AVX2 flags (src/kernels/Makemodule.am) and called only when
 * dispatch.c found the CPU and OS support.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * sgemm_avx512.c's blocking with a Haswell-sized register tile: op(B) is packed a KC x NC block
 * at a time into WORK as strips of NR = 16 columns (zero-padded), and a 6 x 16 tile (12 ymm
 * accumulators; per step of K two loads of B, six broadcasts of A and twelve FMAs, which
 * leaves 4 of the 16 registers free) runs over every strip for every 6 rows of A, read in
 * place. Rows left over (M mod 6) take a 1 x 16 tile each; a strip narrower than 16 columns
 * goes through a small buffer, so nothing past column N is written. */
#include <config.h>

#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 6
#define NR 16
#define KC MOE_KERNELS_SGEMM_KC
#define NC MOE_KERNELS_SGEMM_NC

/* op(B) rows [p0, p0 + kc), columns [j0, j0 + nc) into W: strip s, row p at W + (s kc + p) NR */
static void pack_b(int tb, const float *b, size_t ldb, size_t p0, size_t kc, size_t j0,
                   size_t nc, float *w)
{
    for (size_t s = 0; s * NR < nc; s++) {
        float *ws = w + s * kc * NR;
        size_t jn = nc - s * NR < NR ? nc - s * NR : NR;
        if (!tb) {
            for (size_t p = 0; p < kc; p++) {
                memcpy(ws + p * NR, b + (p0 + p) * ldb + j0 + s * NR, jn * sizeof *w);
                if (jn < NR)
                    memset(ws + p * NR + jn, 0, (NR - jn) * sizeof *w);
            }
        } else {
            for (size_t j = 0; j < NR; j++) {
                const float *src = b + (j0 + s * NR + j) * ldb + p0;
                for (size_t p = 0; p < kc; p++)
                    ws[p * NR + j] = j < jn ? src[p] : 0;
            }
        }
    }
}

/* the MI x 16 accumulators into C (JN <= 16 columns), added to C when ADD */
static inline void store_rows(const __m256 *c0, const __m256 *c1, int mi, float *c,
                              size_t ldc, size_t jn, int add)
{
    for (int i = 0; i < mi; i++) {
        float *ci = c + (size_t)i * ldc;
        if (jn == NR) {
            __m256 v0 = c0[i], v1 = c1[i];
            if (add) {
                v0 = _mm256_add_ps(v0, _mm256_loadu_ps(ci));
                v1 = _mm256_add_ps(v1, _mm256_loadu_ps(ci + 8));
            }
            _mm256_storeu_ps(ci, v0);
            _mm256_storeu_ps(ci + 8, v1);
        } else {
            float buf[NR];
            _mm256_storeu_ps(buf, c0[i]);
            _mm256_storeu_ps(buf + 8, c1[i]);
            for (size_t j = 0; j < jn; j++)
                ci[j] = add ? ci[j] + buf[j] : buf[j];
        }
    }
}

/* C[0..6) x [0..16) = ADD C + A panel x W strip; element (i, p) of the A panel at A + i RS + p KS */
static void tile_6x16(size_t kc, const float *a, size_t rs, size_t ks, const float *w,
                      float *c, size_t ldc, int add, size_t jn)
{
    __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++)
        c0[i] = c1[i] = _mm256_setzero_ps();
    for (size_t p = 0; p < kc; p++) {
        __m256 b0 = _mm256_loadu_ps(w + p * NR), b1 = _mm256_loadu_ps(w + p * NR + 8);
        const float *ap = a + p * ks;
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(ap + (size_t)i * rs);
            c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
        }
    }
    store_rows(c0, c1, MR, c, ldc, jn, add);
}

static void tile_1x16(size_t kc, const float *a, size_t ks, const float *w, float *c, int add,
                      size_t jn)
{
    __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();
    for (size_t p = 0; p < kc; p++) {
        __m256 ai = _mm256_broadcast_ss(a + p * ks);
        c0 = _mm256_fmadd_ps(ai, _mm256_loadu_ps(w + p * NR), c0);
        c1 = _mm256_fmadd_ps(ai, _mm256_loadu_ps(w + p * NR + 8), c1);
    }
    store_rows(&c0, &c1, 1, c, 0, jn, add);
}

void moe_kernels_sgemm_avx2(int ta, int tb, size_t m, size_t n, size_t k, const float *a,
                            size_t lda, const float *b, size_t ldb, float beta, float *c,
                            size_t ldc, float *work)
{
    if (k == 0) {
        if (beta == 0)
            for (size_t i = 0; i < m; i++)
                memset(c + i * ldc, 0, n * sizeof *c);
        return;
    }
    size_t rs = ta ? 1 : lda, ks = ta ? lda : 1;   /* element (i, p) of op(A) */
    for (size_t j0 = 0; j0 < n; j0 += NC) {
        size_t nc = n - j0 < NC ? n - j0 : NC;
        for (size_t p0 = 0; p0 < k; p0 += KC) {
            size_t kc = k - p0 < KC ? k - p0 : KC;
            pack_b(tb, b, ldb, p0, kc, j0, nc, work);
            int add = beta != 0 || p0 > 0;
            const float *ap = a + p0 * ks;
            for (size_t i0 = 0; i0 < m; i0 += MR)
                for (size_t s = 0; s * NR < nc; s++) {
                    size_t jn = nc - s * NR < NR ? nc - s * NR : NR;
                    const float *ws = work + s * kc * NR;
                    float *cs = c + i0 * ldc + j0 + s * NR;
                    if (m - i0 >= MR)
                        tile_6x16(kc, ap + i0 * rs, rs, ks, ws, cs, ldc, add, jn);
                    else
                        for (size_t i = i0; i < m; i++)
                            tile_1x16(kc, ap + i * rs, ks, ws, cs + (i - i0) * ldc, add, jn);
                }
        }
    }
}
