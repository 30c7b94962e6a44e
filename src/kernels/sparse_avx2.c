/* sparse_avx2.c: the AVX2+FMA versions of the sparse layer's row loops (kernels.h, the slots
 * softmax_rows, act_forward, act_backward, combine_rows, combine_back); compiled alone with
 * the AVX2 flags (-ffp-contract=off among them, src/kernels/Makemodule.am) and called only
 * when dispatch.c found the CPU and OS support.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * sparse_avx512.c's algorithms on 8 lanes, with tails as masked loads and stores (maskload /
 * maskstore); topk_rows and gather_rows stay the reference's (without AVX-512's masked
 * reductions a top-k of a few values is no faster in vectors, and a gather is memcpy). The
 * float exp is Cephes's expf with the exponent added in the integer unit (no scalef in AVX2),
 * so lanes below -87 are set to 0 explicitly. */
#include <config.h>

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

#define W 8   /* floats per vector */

/* the first min(N, 8) lanes set */
static inline __m256i lanes(size_t n)
{
    int c = n >= W ? W : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* loads and stores of the first N lanes (K = lanes(N)): plain ones for a full vector (masked
 * stores are slow on some cores, AMD's Zen among them), maskload / maskstore for a tail */
static inline __m256 load(size_t n, __m256i k, const float *p)
{
    return n >= W ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, k);
}

static inline void store(size_t n, __m256i k, float *p, __m256 v)
{
    if (n >= W)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, k, v);
}

static inline __m256 exp_ps(__m256 x)
{
    __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_LT_OQ);
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* n >= -126 here, and p in [0.7, 1.5), so 2^n p is a normal float */
    __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
    __m256 y = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), e));
    return _mm256_andnot_ps(tiny, y);
}

static inline float hmax(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static inline float hsum(__m256 v)
{
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static void avx2_softmax_rows(size_t n, size_t e, const float *restrict h, float *restrict p,
                              float *restrict lse)
{
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    for (size_t r = 0; r < n; r++) {
        const float *hr = h + r * e;
        float *pr = p + r * e;
        __m256 mv = ninf;
        for (size_t i = 0; i < e; i += W) {
            __m256i k = lanes(e - i);
            __m256 v = _mm256_blendv_ps(ninf, load(e - i, k, hr + i), _mm256_castsi256_ps(k));
            mv = _mm256_max_ps(mv, v);
        }
        float mx = hmax(mv);
        __m256 m = _mm256_set1_ps(mx), sv = _mm256_setzero_ps();
        for (size_t i = 0; i < e; i += W) {
            __m256i k = lanes(e - i);
            __m256 ex = _mm256_and_ps(_mm256_castsi256_ps(k),
                                      exp_ps(_mm256_sub_ps(load(e - i, k, hr + i), m)));
            sv = _mm256_add_ps(sv, ex);
            store(e - i, k, pr + i, ex);
        }
        float sum = hsum(sv);
        __m256 s = _mm256_set1_ps(sum);
        for (size_t i = 0; i < e; i += W) {
            __m256i k = lanes(e - i);
            store(e - i, k, pr + i, _mm256_div_ps(load(e - i, k, pr + i), s));
        }
        lse[r] = (float)(mx + log((double)sum));
    }
}

/* 1 + erf(v / sqrt 2) and exp(-v^2 / 2) of every lane (sparse_avx512.c says how) */
static inline __m256 one_plus_erf(__m256 v, __m256 *gauss)
{
    __m256 z = _mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f));
    __m256 az = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z);
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f),
                             _mm256_fmadd_ps(az, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f)));
    __m256 q = _mm256_set1_ps(1.061405429f);
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-1.453152027f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(1.421413741f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-0.284496736f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(0.254829592f));
    q = _mm256_mul_ps(q, t);
    *gauss = exp_ps(_mm256_mul_ps(_mm256_mul_ps(z, z), _mm256_set1_ps(-1.0f)));
    __m256 erfc_az = _mm256_mul_ps(q, *gauss);
    __m256 pos = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GE_OQ);
    return _mm256_blendv_ps(erfc_az, _mm256_sub_ps(_mm256_set1_ps(2.0f), erfc_az), pos);
}

static void avx2_act_forward(moe_sparse_activation act, size_t n, const float *restrict a,
                             float *restrict ac)
{
    const __m256 zero = _mm256_setzero_ps();
    for (size_t j = 0; j < n; j += W) {
        __m256i k = lanes(n - j);
        __m256 v = load(n - j, k, a + j), y;
        if (act == MOE_SPARSE_RELU) {
            y = _mm256_max_ps(v, zero);   /* the second operand for NaN and -0, as a > 0 ? a : 0 */
        } else {
            __m256 g;
            y = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), one_plus_erf(v, &g));
        }
        store(n - j, k, ac + j, y);
    }
}

static void avx2_act_backward(moe_sparse_activation act, size_t n, const float *restrict a,
                              float *restrict da)
{
    const __m256 zero = _mm256_setzero_ps();
    for (size_t j = 0; j < n; j += W) {
        __m256i k = lanes(n - j);
        __m256 v = load(n - j, k, a + j), g = load(n - j, k, da + j);
        if (act == MOE_SPARSE_RELU) {
            g = _mm256_and_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ), g);
        } else {
            __m256 gauss, ope = one_plus_erf(v, &gauss);
            __m256 dv = _mm256_fmadd_ps(_mm256_mul_ps(v, gauss), _mm256_set1_ps(0.39894228040143268f),
                                        _mm256_mul_ps(_mm256_set1_ps(0.5f), ope));
            g = _mm256_mul_ps(g, dv);
        }
        store(n - j, k, da + j, g);
    }
}

static void avx2_combine_rows(size_t n, size_t k, size_t d, const size_t *restrict row,
                              const float *restrict w, const float *restrict out,
                              float *restrict y)
{
    for (size_t t = 0; t < n; t++) {
        const size_t *rt = row + t * k;
        for (size_t j = 0; j < d; j += W) {
            __m256i m = lanes(d - j);
            __m256 acc = _mm256_setzero_ps();
            for (size_t s = 0; s < k; s++) {
                if (rt[s] == SIZE_MAX)
                    continue;
                __m256 o = load(d - j, m, out + rt[s] * d + j);
                acc = _mm256_add_ps(acc, w ? _mm256_mul_ps(_mm256_set1_ps(w[t * k + s]), o) : o);
            }
            store(d - j, m, y + t * d + j, acc);
        }
    }
}

static void avx2_combine_back(size_t n, size_t k, size_t d, const size_t *restrict row,
                              const float *restrict w, const float *restrict dy,
                              const float *restrict out, float *restrict dout,
                              float *restrict dw)
{
    for (size_t t = 0; t < n; t++)
        for (size_t s = 0; s < k; s++) {
            size_t r = row[t * k + s];
            if (r == SIZE_MAX) {
                dw[t * k + s] = 0;
                continue;
            }
            const float *dyt = dy + t * d, *o = out + r * d;
            float *g = dout + r * d;
            __m256 ws = _mm256_set1_ps(w[t * k + s]);
            __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
            for (size_t j = 0; j < d; j += W) {
                __m256i m = lanes(d - j);
                __m256 dv = load(d - j, m, dyt + j), ov = load(d - j, m, o + j);
                store(d - j, m, g + j, _mm256_mul_ps(ws, dv));
                acc0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(dv)),
                                       _mm256_cvtps_pd(_mm256_castps256_ps128(ov)), acc0);
                acc1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(dv, 1)),
                                       _mm256_cvtps_pd(_mm256_extractf128_ps(ov, 1)), acc1);
            }
            __m256d a = _mm256_add_pd(acc0, acc1);
            __m128d h2 = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
            dw[t * k + s] = (float)_mm_cvtsd_f64(_mm_add_sd(h2, _mm_unpackhi_pd(h2, h2)));
        }
}

void moe_kernels_fill_sparse_avx2(moe_kernels *t)
{
    t->softmax_rows = avx2_softmax_rows;
    t->act_forward = avx2_act_forward;
    t->act_backward = avx2_act_backward;
    t->combine_rows = avx2_combine_rows;
    t->combine_back = avx2_combine_back;
}
