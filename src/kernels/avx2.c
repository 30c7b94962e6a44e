/* avx2.c: the AVX2+FMA kernels; compiled alone with -mavx2 -mfma -ffp-contract=off
 * (src/kernels/Makemodule.am) and called only when dispatch.c found the CPU and OS support.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Overrides vexp and posterior_rows (within MOE_KERNELS_EXP_ULP of libm), vlog (within
 * MOE_KERNELS_LOG_ULP), vtanh (within
 * MOE_KERNELS_TANH_ABS), wgram_rows, ger, ger_rows and dot_rows (bit-identical to ref.c:
 * every product and sum is the reference's own, a separate multiply then add;
 * -ffp-contract=off keeps the compiler from fusing them). Each kernel is a vector
 * loop of 4 doubles then a scalar tail; n may be 0 or odd, no alignment is assumed.
 * Its fill function installs sgemm_avx2.c's sgemm and sparse_avx2.c's row loops as well. */
#include <config.h>

#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "kernels/dot_impl.h"
#include "kernels/exp_consts.h"
#include "kernels/log_consts.h"
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

/* log of 4 positive normal finite doubles (log_consts.h; see avx512.c's log_fast); other
 * lanes give garbage here. The exponent field becomes a double by the 2^52 trick. */
static inline __m256d log4(__m256d x)
{
    const __m256d one = _mm256_set1_pd(1.0);
    __m256i ix = _mm256_castpd_si256(x);
    __m256d two52 = _mm256_set1_pd(0x1p52);
    __m256d kraw = _mm256_sub_pd(
        _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(ix, 52), _mm256_castpd_si256(two52))),
        two52);
    __m256d m = _mm256_castsi256_pd(
        _mm256_or_si256(_mm256_and_si256(ix, _mm256_set1_epi64x(0x000fffffffffffffLL)),
                        _mm256_set1_epi64x(0x3ff0000000000000LL)));
    __m256d big = _mm256_cmp_pd(m, _mm256_set1_pd(MOE_LOG_SQRT2), _CMP_GT_OQ);
    m = _mm256_blendv_pd(m, _mm256_mul_pd(m, _mm256_set1_pd(0.5)), big);
    __m256d dk = _mm256_add_pd(_mm256_sub_pd(kraw, _mm256_set1_pd(1023.0)),
                               _mm256_and_pd(big, one));
    __m256d f = _mm256_sub_pd(m, one);
    __m256d s = _mm256_div_pd(f, _mm256_add_pd(_mm256_set1_pd(2.0), f));
    __m256d z = _mm256_mul_pd(s, s), w = _mm256_mul_pd(z, z);
    __m256d t1 = _mm256_fmadd_pd(w, _mm256_set1_pd(MOE_LOG_LG6), _mm256_set1_pd(MOE_LOG_LG4));
    t1 = _mm256_fmadd_pd(w, t1, _mm256_set1_pd(MOE_LOG_LG2));
    t1 = _mm256_mul_pd(w, t1);
    __m256d t2 = _mm256_fmadd_pd(w, _mm256_set1_pd(MOE_LOG_LG7), _mm256_set1_pd(MOE_LOG_LG5));
    t2 = _mm256_fmadd_pd(w, t2, _mm256_set1_pd(MOE_LOG_LG3));
    t2 = _mm256_fmadd_pd(w, t2, _mm256_set1_pd(MOE_LOG_LG1));
    t2 = _mm256_mul_pd(z, t2);
    __m256d r = _mm256_add_pd(t2, t1);
    __m256d hfsq = _mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(0.5), f), f);
    __m256d inner = _mm256_add_pd(_mm256_mul_pd(s, _mm256_add_pd(hfsq, r)),
                                  _mm256_mul_pd(dk, _mm256_set1_pd(MOE_LOG_LN2_LO)));
    return _mm256_sub_pd(_mm256_mul_pd(dk, _mm256_set1_pd(MOE_LOG_LN2_HI)),
                         _mm256_sub_pd(_mm256_sub_pd(hfsq, inner), f));
}

/* Lanes not positive, normal and finite go to libm; the tail through a padded vector. */
static void avx2_vlog(size_t n, const double *x, double *y)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d v = _mm256_loadu_pd(x + i);
        __m256d fast = _mm256_and_pd(_mm256_cmp_pd(v, _mm256_set1_pd(DBL_MIN), _CMP_GE_OQ),
                                     _mm256_cmp_pd(v, _mm256_set1_pd(DBL_MAX), _CMP_LE_OQ));
        int slow = ~_mm256_movemask_pd(fast) & 0xf;
        if (slow) {  /* from a copy of the input: Y may be X */
            double in[4];
            _mm256_storeu_pd(in, v);
            _mm256_storeu_pd(y + i, log4(v));
            while (slow) {
                int j = __builtin_ctz((unsigned)slow);
                y[i + j] = log(in[j]);
                slow &= slow - 1;
            }
        } else
            _mm256_storeu_pd(y + i, log4(v));
    }
    if (i < n) {
        double xin[4] = {1, 1, 1, 1}, out[4];
        for (size_t j = i; j < n; j++)
            xin[j - i] = x[j];
        avx2_vlog(4, xin, out);
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
    moe_posterior_rows_with(avx2_vexp, avx2_vlog, n, k, a, h, lp);
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

/* 4 outputs at a time in one vector: their weights transposed into WT (P x 4), each row's
 * sums in order l from B, four rows in flight so that the adds' latencies overlap; the last
 * piece of outputs masked. Fewer than 4 outputs (the linear experts' means, small gates'
 * logits) take the reference's scalar loop (dot_impl.h): gathering the rows' columns was
 * slower there. */
#define DOT_PMAX 512
static void avx2_dot_rows(size_t n, size_t m, size_t p, const double *restrict w, size_t ldw,
                            const double *restrict b, const double *restrict z, size_t ldz,
                            double *restrict out, size_t ldo)
{
    if (m < 4 || p > DOT_PMAX) {
        moe_dot_rows_scalar(n, m, p, w, ldw, b, z, ldz, out, ldo);
        return;
    }
    double wt[DOT_PMAX * 4];
    for (size_t i0 = 0; i0 < m; i0 += 4) {
        size_t mi = m - i0 < 4 ? m - i0 : 4;
        __m256i mk = _mm256_set_epi64x(mi > 3 ? -1 : 0, mi > 2 ? -1 : 0, mi > 1 ? -1 : 0, -1);
        for (size_t l = 0; l < p; l++)
            for (size_t c = 0; c < 4; c++)
                wt[l * 4 + c] = c < mi ? w[(i0 + c) * ldw + l] : 0;
        __m256d bv = b ? _mm256_maskload_pd(b + i0, mk) : _mm256_setzero_pd();
        size_t r = 0;
        for (; r + 4 <= n; r += 4) {
            const double *z0 = z + r * ldz;
            __m256d a0 = bv, a1 = bv, a2 = bv, a3 = bv;
            for (size_t l = 0; l < p; l++) {
                __m256d wl = _mm256_loadu_pd(wt + l * 4);
                a0 = _mm256_add_pd(a0, _mm256_mul_pd(_mm256_set1_pd(z0[l]), wl));
                a1 = _mm256_add_pd(a1, _mm256_mul_pd(_mm256_set1_pd(z0[ldz + l]), wl));
                a2 = _mm256_add_pd(a2, _mm256_mul_pd(_mm256_set1_pd(z0[2 * ldz + l]), wl));
                a3 = _mm256_add_pd(a3, _mm256_mul_pd(_mm256_set1_pd(z0[3 * ldz + l]), wl));
            }
            _mm256_maskstore_pd(out + r * ldo + i0, mk, a0);
            _mm256_maskstore_pd(out + (r + 1) * ldo + i0, mk, a1);
            _mm256_maskstore_pd(out + (r + 2) * ldo + i0, mk, a2);
            _mm256_maskstore_pd(out + (r + 3) * ldo + i0, mk, a3);
        }
        for (; r < n; r++) {
            const double *zr = z + r * ldz;
            __m256d a = bv;
            for (size_t l = 0; l < p; l++)
                a = _mm256_add_pd(a, _mm256_mul_pd(_mm256_set1_pd(zr[l]),
                                                  _mm256_loadu_pd(wt + l * 4)));
            _mm256_maskstore_pd(out + r * ldo + i0, mk, a);
        }
    }
}

void moe_kernels_fill_avx2(moe_kernels *t)
{
    t->name = "avx2";
    t->vexp = avx2_vexp;
    t->vlog = avx2_vlog;
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
