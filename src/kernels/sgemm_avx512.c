/* sgemm_avx512.c: the AVX-512 float32 matrix product of the kernels table (kernels.h, the sgemm
 * slot); compiled alone with the AVX-512 flags (src/kernels/Makemodule.am) and called only when
 * dispatch.c found the CPU and OS support.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * GotoBLAS's blocking without packing A: op(B) is packed a KC x NC block at a time into WORK as
 * strips of NR = 32 columns (zero-padded), and an 8 x 32 register tile (16 zmm accumulators,
 * per step of K two loads of B, eight broadcasts of A and sixteen FMAs) runs over every strip
 * for every 8 rows of A; A is read in place (rows of A, or with TA its columns, are the
 * broadcasts), so a transposed A costs nothing. Rows left over (M mod 8) take a 1 x 32 tile
 * each; columns left over are masked loads and stores of C (a full strip plain ones). */
#include <config.h>

#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 8
#define NR 32
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

/* C[0..8) x [0..32) (masks M0, M1 for the two halves) = ADD C + A panel x W strip; element
 * (i, p) of the A panel at A + i RS + p KS */
static void tile_8x32(size_t kc, const float *a, size_t rs, size_t ks, const float *w,
                      float *c, size_t ldc, int add, __mmask16 m0, __mmask16 m1)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
        c0[i] = c1[i] = _mm512_setzero_ps();
    for (size_t p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(w + p * NR), b1 = _mm512_loadu_ps(w + p * NR + 16);
        const float *ap = a + p * ks;
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(ap[(size_t)i * rs]);
            c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
        }
    }
    if ((m0 & m1) == 0xffff) {   /* a full strip: plain loads and stores (masked stores are
                                    slow on some cores, AMD's Zen 4 and 5 among them) */
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            float *ci = c + (size_t)i * ldc;
            if (add) {
                c0[i] = _mm512_add_ps(c0[i], _mm512_loadu_ps(ci));
                c1[i] = _mm512_add_ps(c1[i], _mm512_loadu_ps(ci + 16));
            }
            _mm512_storeu_ps(ci, c0[i]);
            _mm512_storeu_ps(ci + 16, c1[i]);
        }
        return;
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        float *ci = c + (size_t)i * ldc;
        if (add) {
            c0[i] = _mm512_add_ps(c0[i], _mm512_maskz_loadu_ps(m0, ci));
            c1[i] = _mm512_add_ps(c1[i], _mm512_maskz_loadu_ps(m1, ci + 16));
        }
        _mm512_mask_storeu_ps(ci, m0, c0[i]);
        _mm512_mask_storeu_ps(ci + 16, m1, c1[i]);
    }
}

static void tile_1x32(size_t kc, const float *a, size_t ks, const float *w, float *c, int add,
                      __mmask16 m0, __mmask16 m1)
{
    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps();
    for (size_t p = 0; p < kc; p++) {
        __m512 ai = _mm512_set1_ps(a[p * ks]);
        c0 = _mm512_fmadd_ps(ai, _mm512_loadu_ps(w + p * NR), c0);
        c1 = _mm512_fmadd_ps(ai, _mm512_loadu_ps(w + p * NR + 16), c1);
    }
    if (add) {
        c0 = _mm512_add_ps(c0, _mm512_maskz_loadu_ps(m0, c));
        c1 = _mm512_add_ps(c1, _mm512_maskz_loadu_ps(m1, c + 16));
    }
    _mm512_mask_storeu_ps(c, m0, c0);
    _mm512_mask_storeu_ps(c + 16, m1, c1);
}

void moe_kernels_sgemm_avx512(int ta, int tb, size_t m, size_t n, size_t k, const float *a,
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
                    __mmask16 m0 = (__mmask16)(jn >= 16 ? 0xffff : (1u << jn) - 1);
                    __mmask16 m1 = (__mmask16)(jn >= 32 ? 0xffff : jn > 16 ? (1u << (jn - 16)) - 1 : 0);
                    const float *ws = work + s * kc * NR;
                    float *cs = c + i0 * ldc + j0 + s * NR;
                    if (m - i0 >= MR)
                        tile_8x32(kc, ap + i0 * rs, rs, ks, ws, cs, ldc, add, m0, m1);
                    else
                        for (size_t i = i0; i < m; i++)
                            tile_1x32(kc, ap + i * rs, ks, ws, cs + (i - i0) * ldc, add, m0, m1);
                }
        }
    }
}
