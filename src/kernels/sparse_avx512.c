/* sparse_avx512.c: the AVX-512 versions of the sparse layer's row loops (kernels.h, the slots
 * softmax_rows, topk_rows, act_forward, act_backward, combine_rows, combine_back); compiled
 * alone with the AVX-512 flags (-ffp-contract=off among them, src/kernels/Makemodule.am) and
 * called only when dispatch.c found the CPU and OS support.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * gather_rows stays the reference's memcpy per row (the C library's copy is already the
 * widest there is). A row of E experts is one 16-lane vector up to E = 16 and masked pieces
 * of 16 beyond. The float exp is Cephes's expf (a degree-6 polynomial on [-ln2/2, ln2/2] and
 * scalef), within 2 ulp; GELU's erf is Abramowitz and Stegun 7.1.26 (absolute error 1.5e-7),
 * written as 1 + erf(z) = erfc(-z) so that the negative tail keeps its relative accuracy. */
#include <config.h>

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

#define W 16   /* floats per vector */

static inline __mmask16 lanes(size_t n) { return n >= W ? 0xffff : (__mmask16)((1u << n) - 1); }

/* loads and stores of the lanes of M: plain ones for a full vector (masked stores are slow on
 * some cores, AMD's Zen 4 and 5 among them), masked ones for a tail; masked-off lanes load as 0 */
static inline __m512 load(__mmask16 m, const float *p)
{
    return m == 0xffff ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
}

static inline void store(__mmask16 m, float *p, __m512 v)
{
    if (m == 0xffff)
        _mm512_storeu_ps(p, v);
    else
        _mm512_mask_storeu_ps(p, m, v);
}

/* exp of every lane; lanes below -87 give 0 (the contract allows it; 2^n p stays a normal float) */
static inline __m512 exp_ps(__m512 x)
{
    __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_LT_OQ);
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_mov_ps((__mmask16)~tiny, _mm512_scalef_ps(p, n));
}

static void avx512_softmax_rows(size_t n, size_t e, const float *restrict h,
                                float *restrict p, float *restrict lse)
{
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    for (size_t r = 0; r < n; r++) {
        const float *hr = h + r * e;
        float *pr = p + r * e;
        __m512 mv = ninf;
        for (size_t i = 0; i < e; i += W)
            mv = _mm512_max_ps(mv, _mm512_mask_blend_ps(lanes(e - i), ninf, load(lanes(e - i), hr + i)));
        float mx = _mm512_reduce_max_ps(mv);
        __m512 m = _mm512_set1_ps(mx), sv = _mm512_setzero_ps();
        for (size_t i = 0; i < e; i += W) {
            __mmask16 k = lanes(e - i);
            __m512 ex = _mm512_maskz_mov_ps(k, exp_ps(_mm512_sub_ps(load(k, hr + i), m)));
            sv = _mm512_add_ps(sv, ex);
            store(k, pr + i, ex);
        }
        float sum = _mm512_reduce_add_ps(sv);
        __m512 s = _mm512_set1_ps(sum);
        for (size_t i = 0; i < e; i += W) {
            __mmask16 k = lanes(e - i);
            store(k, pr + i, _mm512_div_ps(load(k, pr + i), s));
        }
        lse[r] = (float)(mx + log((double)sum));
    }
}

/* M rounds of "the largest value left, at its lowest index": the reference's tie rule */
static void avx512_topk_rows(size_t n, size_t e, size_t m, const float *restrict h,
                             size_t *restrict idx)
{
    __mmask16 live[MOE_SPARSE_MAX_EXPERTS / W + 1];
    size_t nv = (e + W - 1) / W;
    for (size_t r = 0; r < n; r++) {
        const float *hr = h + r * e;
        for (size_t v = 0; v < nv; v++)
            live[v] = lanes(e - v * W);
        if (nv == 1) {   /* the common case: the row in one register */
            __m512 x = load(live[0], hr);
            for (size_t s = 0; s < m; s++) {
                float mx = _mm512_mask_reduce_max_ps(live[0], x);
                __mmask16 at = _mm512_mask_cmp_ps_mask(live[0], x, _mm512_set1_ps(mx), _CMP_EQ_OQ);
                if (!at)   /* NaN, outside the contract: still a valid index */
                    at = live[0];
                int i = __builtin_ctz((unsigned)at);
                idx[r * m + s] = (size_t)i;
                live[0] &= (__mmask16)~(1u << i);
            }
            continue;
        }
        for (size_t s = 0; s < m; s++) {
            float mx = -INFINITY;
            int found = 0;
            for (size_t v = 0; v < nv; v++)
                if (live[v]) {
                    float c = _mm512_mask_reduce_max_ps(live[v], load(live[v], hr + v * W));
                    if (!found || c > mx)
                        mx = c;
                    found = 1;
                }
            for (size_t v = 0; v < nv; v++) {
                __mmask16 at = _mm512_mask_cmp_ps_mask(live[v], load(live[v], hr + v * W),
                                                       _mm512_set1_ps(mx), _CMP_EQ_OQ);
                if (at) {
                    int i = __builtin_ctz((unsigned)at);
                    idx[r * m + s] = v * W + (size_t)i;
                    live[v] &= (__mmask16)~(1u << i);
                    break;
                }
                if (v + 1 == nv)   /* NaN, outside the contract: the first live index */
                    for (size_t u = 0; u < nv; u++)
                        if (live[u]) {
                            int i = __builtin_ctz((unsigned)live[u]);
                            idx[r * m + s] = u * W + (size_t)i;
                            live[u] &= (__mmask16)~(1u << i);
                            break;
                        }
            }
        }
    }
}

/* 1 + erf(v / sqrt 2) and exp(-v^2 / 2) of every lane */
static inline __m512 one_plus_erf(__m512 v, __m512 *gauss)
{
    __m512 z = _mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f));
    __m512 az = _mm512_abs_ps(z);
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
                             _mm512_fmadd_ps(az, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
    __m512 q = _mm512_set1_ps(1.061405429f);
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-1.453152027f));
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(1.421413741f));
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-0.284496736f));
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(0.254829592f));
    q = _mm512_mul_ps(q, t);
    *gauss = exp_ps(_mm512_mul_ps(_mm512_mul_ps(z, z), _mm512_set1_ps(-1.0f)));
    __m512 erfc_az = _mm512_mul_ps(q, *gauss);   /* erfc(|z|) */
    __mmask16 pos = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GE_OQ);
    return _mm512_mask_sub_ps(erfc_az, pos, _mm512_set1_ps(2.0f), erfc_az);
}

static void avx512_act_forward(moe_sparse_activation act, size_t n, const float *restrict a,
                               float *restrict ac)
{
    const __m512 zero = _mm512_setzero_ps();
    for (size_t j = 0; j < n; j += W) {
        __mmask16 k = lanes(n - j);
        __m512 v = load(k, a + j), y;
        if (act == MOE_SPARSE_RELU) {
            y = _mm512_max_ps(v, zero);   /* the second operand for NaN and -0, as a > 0 ? a : 0 */
        } else {
            __m512 g;
            y = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), one_plus_erf(v, &g));
        }
        store(k, ac + j, y);
    }
}

static void avx512_act_backward(moe_sparse_activation act, size_t n, const float *restrict a,
                                float *restrict da)
{
    const __m512 zero = _mm512_setzero_ps();
    for (size_t j = 0; j < n; j += W) {
        __mmask16 k = lanes(n - j);
        __m512 v = load(k, a + j), g = load(k, da + j);
        if (act == MOE_SPARSE_RELU) {
            g = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ), g);
        } else {
            __m512 gauss, ope = one_plus_erf(v, &gauss);
            __m512 dv = _mm512_fmadd_ps(_mm512_mul_ps(v, gauss), _mm512_set1_ps(0.39894228040143268f),
                                        _mm512_mul_ps(_mm512_set1_ps(0.5f), ope));
            g = _mm512_mul_ps(g, dv);
        }
        store(k, da + j, g);
    }
}

/* each 16-float piece of Y[t] stays in a register while the K rows are added in order */
static void avx512_combine_rows(size_t n, size_t k, size_t d, const size_t *restrict row,
                                const float *restrict w, const float *restrict out,
                                float *restrict y)
{
    for (size_t t = 0; t < n; t++) {
        const size_t *rt = row + t * k;
        for (size_t j = 0; j < d; j += W) {
            __mmask16 m = lanes(d - j);
            __m512 acc = _mm512_setzero_ps();
            for (size_t s = 0; s < k; s++) {
                if (rt[s] == SIZE_MAX)
                    continue;
                __m512 o = load(m, out + rt[s] * d + j);
                acc = _mm512_add_ps(acc, w ? _mm512_mul_ps(_mm512_set1_ps(w[t * k + s]), o) : o);
            }
            store(m, y + t * d + j, acc);
        }
    }
}

static void avx512_combine_back(size_t n, size_t k, size_t d, const size_t *restrict row,
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
            __m512 ws = _mm512_set1_ps(w[t * k + s]);
            __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
            for (size_t j = 0; j < d; j += W) {
                __mmask16 m = lanes(d - j);
                __m512 dv = load(m, dyt + j), ov = load(m, o + j);
                store(m, g + j, _mm512_mul_ps(ws, dv));
                /* float products are exact in double: only the order of the sum differs */
                acc0 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(dv)),
                                       _mm512_cvtps_pd(_mm512_castps512_ps256(ov)), acc0);
                acc1 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(dv, 1)),
                                       _mm512_cvtps_pd(_mm512_extractf32x8_ps(ov, 1)), acc1);
            }
            dw[t * k + s] = (float)_mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
        }
}

void moe_kernels_fill_sparse_avx512(moe_kernels *t)
{
    t->softmax_rows = avx512_softmax_rows;
    t->topk_rows = avx512_topk_rows;
    t->act_forward = avx512_act_forward;
    t->act_backward = avx512_act_backward;
    t->combine_rows = avx512_combine_rows;
    t->combine_back = avx512_combine_back;
}
