/* avx2.c: the AVX2+FMA kernels; compiled alone with -mavx2 -mfma -ffp-contract=off
 * (src/kernels/Makemodule.am) and called only when dispatch.c found the CPU and OS support.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Overrides vexp and posterior_rows (within MOE_KERNELS_EXP_ULP of libm), vtanh (within
 * MOE_KERNELS_TANH_ABS), wgram_rows, ger, ger_rows
 * and dot_rows (bit-identical to ref.c: every product and sum is the reference's own, a separate multiply
 * then add; -ffp-contract=off keeps the compiler from fusing them). Each kernel is a vector
 * loop of 4 doubles then a scalar tail; n may be 0 or odd, no alignment is assumed.
 * Its fill function installs sgemm_avx2.c's sgemm and sparse_avx2.c's row loops as well. */
#include <config.h>

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "kernels/exp_consts.h"
#include "kernels/kernels.h"
#include "kernels/posterior_impl.h"

static inline __m256d exp_fast(__m256d x)
{
    const __m256d shifter = _mm256_set1_pd(MOE_EXP_SHIFTER);
    __m256d t = _mm256_fmadd_pd(x, _mm256_set1_pd(MOE_EXP_LOG2E), shifter);
    __m256d kd = _mm256_sub_pd(t, shifter);
    __m256d r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(MOE_EXP_LN2_HI), x);
    r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(MOE_EXP_LN2_LO), r);
    __m256d p = _mm256_set1_pd(MOE_EXP_C13);
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MOE_EXP_C12));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MOE_EXP_C11));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MOE_EXP_C10));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MOE_EXP_C9));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MOE_EXP_C8));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MOE_EXP_C7));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MOE_EXP_C6));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MOE_EXP_C5));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MOE_EXP_C4));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MOE_EXP_C3));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MOE_EXP_C2));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    __m256i ki = _mm256_sub_epi64(_mm256_castpd_si256(t), _mm256_castpd_si256(shifter));
    return _mm256_castsi256_pd(
        _mm256_add_epi64(_mm256_castpd_si256(p), _mm256_slli_epi64(ki, 52)));
}

static void avx2_vexp(size_t n, const double *x, double *y)
{
    const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d v = _mm256_loadu_pd(x + i);
        __m256d e = exp_fast(v);
        __m256d zero = _mm256_cmp_pd(v, _mm256_set1_pd(MOE_EXP_ZERO_BELOW), _CMP_LT_OQ);
        __m256d slow = _mm256_cmp_pd(_mm256_and_pd(v, absmask),
                                     _mm256_set1_pd(MOE_EXP_FAST_MAX), _CMP_NLE_UQ);
        int s = _mm256_movemask_pd(_mm256_andnot_pd(zero, slow));
        if (s) {  /* from a copy of the input: Y may be X */
            double in[4];
            _mm256_storeu_pd(in, v);
            _mm256_storeu_pd(y + i, _mm256_andnot_pd(zero, e));
            while (s) {
                int j = __builtin_ctz((unsigned)s);
                y[i + j] = exp(in[j]);
                s &= s - 1;
            }
        } else
            _mm256_storeu_pd(y + i, _mm256_andnot_pd(zero, e));
    }
    if (i < n) {  /* the tail through a padded vector, so it gets the same exp */
        double xin[4] = {0, 0, 0, 0}, out[4];
        for (size_t j = i; j < n; j++)
            xin[j - i] = x[j];
        avx2_vexp(4, xin, out);
        for (size_t j = i; j < n; j++)
            y[j] = out[j - i];
    }
}

/* tanh of 4 doubles (see avx512.c's tanh_lanes): sign(x) (1 - e) / (1 + e), e = exp(-2 |x|)
 * with its argument held above -700; NaN lanes are passed through. */
static inline __m256d tanh4(__m256d v)
{
    const __m256d one = _mm256_set1_pd(1.0);
    const __m256d signbit = _mm256_castsi256_pd(_mm256_set1_epi64x(INT64_MIN));
    __m256d m2 = _mm256_mul_pd(_mm256_andnot_pd(signbit, v), _mm256_set1_pd(-2.0));
    __m256d e = exp_fast(_mm256_max_pd(m2, _mm256_set1_pd(-700.0)));
    __m256d t = _mm256_div_pd(_mm256_sub_pd(one, e), _mm256_add_pd(one, e));
    t = _mm256_or_pd(t, _mm256_and_pd(v, signbit));
    return _mm256_blendv_pd(t, v, _mm256_cmp_pd(v, v, _CMP_UNORD_Q));
}

static void avx2_vtanh(size_t n, const double *x, double *y)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        _mm256_storeu_pd(y + i, tanh4(_mm256_loadu_pd(x + i)));
    if (i < n) {  /* the tail through a padded vector */
        double pad[4] = {0, 0, 0, 0}, out[4];
        for (size_t j = i; j < n; j++)
            pad[j - i] = x[j];
        _mm256_storeu_pd(out, tanh4(_mm256_loadu_pd(pad)));
        for (size_t j = i; j < n; j++)
            y[j] = out[j - i];
    }
}

static void avx2_posterior_rows(size_t n, size_t k, const double *restrict a,
                                double *restrict h, double *restrict lp)
{
    moe_posterior_rows_with(avx2_vexp, n, k, a, h, lp);
}

static void avx2_wgram_rows(size_t n, size_t p, const double *restrict x, size_t ldx,
                            const double *restrict y, const double *restrict w, size_t ldw,
                            double *restrict s)
{
    double *xy = s + 2, *xx0 = s + 2 + p;
    for (size_t r = 0; r < n; r++) {
        const double *xr = x + r * ldx;
        double wr = w[r * ldw], yr = y[r], wy = wr * yr, *xx = xx0;
        s[0] += wr;
        s[1] += wy * yr;
        __m256d wyv = _mm256_set1_pd(wy);
        size_t a = 0;
        for (; a + 4 <= p; a += 4)
            _mm256_storeu_pd(xy + a, _mm256_add_pd(_mm256_loadu_pd(xy + a),
                                                   _mm256_mul_pd(wyv, _mm256_loadu_pd(xr + a))));
        for (; a < p; a++)
            xy[a] += wy * xr[a];
        for (a = 0; a < p; a++) {
            double wxa = wr * xr[a];
            __m256d wv = _mm256_set1_pd(wxa);
            size_t len = p - a, b = 0;
            const double *xb = xr + a;
            for (; b + 4 <= len; b += 4)
                _mm256_storeu_pd(xx + b, _mm256_add_pd(_mm256_loadu_pd(xx + b),
                                                       _mm256_mul_pd(wv, _mm256_loadu_pd(xb + b))));
            for (; b < len; b++)
                xx[b] += wxa * xb[b];
            xx += len;
        }
    }
}

static void avx2_ger(size_t m, size_t q, const double *restrict alpha, const double *restrict x,
                     double *restrict y)
{
    for (size_t j = 0; j < m; j++) {
        __m256d aj = _mm256_set1_pd(alpha[j]);
        double *yj = y + j * q;
        size_t t = 0;
        for (; t + 4 <= q; t += 4)
            _mm256_storeu_pd(yj + t, _mm256_add_pd(_mm256_loadu_pd(yj + t),
                                                   _mm256_mul_pd(aj, _mm256_loadu_pd(x + t))));
        for (; t < q; t++)
            yj[t] += alpha[j] * x[t];
    }
}

/* Each 4-wide piece of four rows of Y stays in registers while the rows are summed into it:
 * four independent chains, so the adds' latency overlaps and each x piece is loaded once. */
static void avx2_ger_rows(size_t n, size_t m, size_t q, const double *restrict alpha,
                          size_t lda, const double *restrict x, size_t ldx, double *restrict y)
{
    if (n == 0)
        return;
    size_t j = 0;
    for (; j + 4 <= m; j += 4) {
        double *y0 = y + j * q;
        size_t t = 0;
        for (; t + 4 <= q; t += 4) {
            __m256d a0 = _mm256_loadu_pd(y0 + t), a1 = _mm256_loadu_pd(y0 + q + t);
            __m256d a2 = _mm256_loadu_pd(y0 + 2 * q + t), a3 = _mm256_loadu_pd(y0 + 3 * q + t);
            for (size_t r = 0; r < n; r++) {
                const double *al = alpha + r * lda + j;
                __m256d xv = _mm256_loadu_pd(x + r * ldx + t);
                a0 = _mm256_add_pd(a0, _mm256_mul_pd(_mm256_set1_pd(al[0]), xv));
                a1 = _mm256_add_pd(a1, _mm256_mul_pd(_mm256_set1_pd(al[1]), xv));
                a2 = _mm256_add_pd(a2, _mm256_mul_pd(_mm256_set1_pd(al[2]), xv));
                a3 = _mm256_add_pd(a3, _mm256_mul_pd(_mm256_set1_pd(al[3]), xv));
            }
            _mm256_storeu_pd(y0 + t, a0);
            _mm256_storeu_pd(y0 + q + t, a1);
            _mm256_storeu_pd(y0 + 2 * q + t, a2);
            _mm256_storeu_pd(y0 + 3 * q + t, a3);
        }
        for (; t < q; t++)
            for (size_t c = 0; c < 4; c++) {
                double acc = y0[c * q + t];
                for (size_t r = 0; r < n; r++)
                    acc += alpha[r * lda + j + c] * x[r * ldx + t];
                y0[c * q + t] = acc;
            }
    }
    for (; j < m; j++) {
        double *yj = y + j * q;
        size_t t = 0;
        for (; t + 4 <= q; t += 4) {
            __m256d acc = _mm256_loadu_pd(yj + t);
            for (size_t r = 0; r < n; r++)
                acc = _mm256_add_pd(acc, _mm256_mul_pd(_mm256_set1_pd(alpha[r * lda + j]),
                                                       _mm256_loadu_pd(x + r * ldx + t)));
            _mm256_storeu_pd(yj + t, acc);
        }
        for (; t < q; t++) {
            double acc = yj[t];
            for (size_t r = 0; r < n; r++)
                acc += alpha[r * lda + j] * x[r * ldx + t];
            yj[t] = acc;
        }
    }
}

/* CNT (a constant where it is inlined) outputs I0.. of the rows in ZR's 4-row piece (mask MK,
 * NR rows): one accumulator per output across the rows, each column of the piece gathered
 * once, the sums in order l as in the reference; the lanes are written out row by row. */
static inline __attribute__((always_inline)) void
dot_tile(int cnt, size_t i0, size_t p, const double *restrict w, size_t ldw,
         const double *restrict b, const double *restrict zr, __m256i idx, __m256d mk,
         size_t nr, double *restrict out, size_t ldo)
{
    __m256d acc[8];
    double lanes[8 * 4];
#pragma GCC unroll 8
    for (int c = 0; c < cnt; c++)
        acc[c] = _mm256_set1_pd(b ? b[i0 + c] : 0.0);
    for (size_t l = 0; l < p; l++) {
        __m256d zl = _mm256_mask_i64gather_pd(_mm256_setzero_pd(), zr + l, idx, mk, 8);
#pragma GCC unroll 8
        for (int c = 0; c < cnt; c++)
            acc[c] = _mm256_add_pd(acc[c], _mm256_mul_pd(_mm256_set1_pd(w[(i0 + c) * ldw + l]), zl));
    }
#pragma GCC unroll 8
    for (int c = 0; c < cnt; c++)
        _mm256_storeu_pd(lanes + 4 * c, acc[c]);
    for (size_t t = 0; t < nr; t++)
#pragma GCC unroll 8
        for (int c = 0; c < cnt; c++)
            out[t * ldo + i0 + c] = lanes[4 * c + t];
}

/* Four rows at a time (their columns gathered), the outputs in tiles of 8, 4, 2 and 1. */
static void avx2_dot_rows(size_t n, size_t m, size_t p, const double *restrict w, size_t ldw,
                          const double *restrict b, const double *restrict z, size_t ldz,
                          double *restrict out, size_t ldo)
{
    long long s = (long long)ldz;
    __m256i idx = _mm256_set_epi64x(3 * s, 2 * s, s, 0);
    for (size_t r = 0; r < n; r += 4) {
        size_t nr = n - r < 4 ? n - r : 4;
        __m256d mk = _mm256_castsi256_pd(_mm256_set_epi64x(nr > 3 ? -1 : 0, nr > 2 ? -1 : 0,
                                                           nr > 1 ? -1 : 0, -1));
        const double *zr = z + r * ldz;
        double *o = out + r * ldo;
        size_t i = 0;
        for (; i + 8 <= m; i += 8)
            dot_tile(8, i, p, w, ldw, b, zr, idx, mk, nr, o, ldo);
        if (i + 4 <= m) {
            dot_tile(4, i, p, w, ldw, b, zr, idx, mk, nr, o, ldo);
            i += 4;
        }
        if (i + 2 <= m) {
            dot_tile(2, i, p, w, ldw, b, zr, idx, mk, nr, o, ldo);
            i += 2;
        }
        if (i < m)
            dot_tile(1, i, p, w, ldw, b, zr, idx, mk, nr, o, ldo);
    }
}

void moe_kernels_fill_avx2(moe_kernels *t)
{
    t->name = "avx2";
    t->vexp = avx2_vexp;
    t->vtanh = avx2_vtanh;
    t->posterior_rows = avx2_posterior_rows;
    t->wgram_rows = avx2_wgram_rows;
    t->ger = avx2_ger;
    t->ger_rows = avx2_ger_rows;
    t->dot_rows = avx2_dot_rows;
    t->sgemm = moe_kernels_sgemm_avx2;
    t->sgemm_beats_blas = 0;  /* OpenBLAS's Haswell sgemm is faster (bench/README.md) */
    moe_kernels_fill_sparse_avx2(t);
}
