/* avx512.c: the AVX-512 (F, DQ) kernels; compiled alone with -mavx512f -mavx512dq -mfma
 * -ffp-contract=off (src/kernels/Makemodule.am) and called only when dispatch.c found the
 * CPU and OS support.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Overrides vexp and posterior_rows (within MOE_KERNELS_EXP_ULP of libm), vlog (within
 * MOE_KERNELS_LOG_ULP), vtanh (within
 * MOE_KERNELS_TANH_ABS), wgram_rows, ger, ger_rows and dot_rows (bit-identical to ref.c:
 * every product and sum is the reference's own, a separate multiply then add;
 * -ffp-contract=off keeps the compiler from fusing them). Each kernel is a vector
 * loop then a masked tail; n may be 0 or odd, no alignment is assumed.
 * Its fill function installs sgemm_avx512.c's sgemm and sparse_avx512.c's row loops as well. */
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

static inline __m512d exp_fast(__m512d x)
{
    const __m512d shifter = _mm512_set1_pd(MOE_EXP_SHIFTER);
    __m512d t = _mm512_fmadd_pd(x, _mm512_set1_pd(MOE_EXP_LOG2E), shifter);
    __m512d kd = _mm512_sub_pd(t, shifter);
    __m512d r = _mm512_fnmadd_pd(kd, _mm512_set1_pd(MOE_EXP_LN2_HI), x);
    r = _mm512_fnmadd_pd(kd, _mm512_set1_pd(MOE_EXP_LN2_LO), r);
    __m512d p = _mm512_set1_pd(MOE_EXP_C13);
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MOE_EXP_C12));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MOE_EXP_C11));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MOE_EXP_C10));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MOE_EXP_C9));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MOE_EXP_C8));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MOE_EXP_C7));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MOE_EXP_C6));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MOE_EXP_C5));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MOE_EXP_C4));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MOE_EXP_C3));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MOE_EXP_C2));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    __m512i ki = _mm512_sub_epi64(_mm512_castpd_si512(t), _mm512_castpd_si512(shifter));
    return _mm512_castsi512_pd(
        _mm512_add_epi64(_mm512_castpd_si512(p), _mm512_slli_epi64(ki, 52)));
}

/* exp of the lanes of LIVE at X into Y (Y may be X); lanes out of the fast range go to libm. */
static inline void exp_lanes(const double *x, double *y, __mmask8 live)
{
    __m512d v = _mm512_maskz_loadu_pd(live, x);
    __m512d e = exp_fast(v);
    __mmask8 slow = _mm512_cmp_pd_mask(_mm512_abs_pd(v), _mm512_set1_pd(MOE_EXP_FAST_MAX),
                                       _CMP_NLE_UQ) & live;
    __mmask8 zero = _mm512_cmp_pd_mask(v, _mm512_set1_pd(MOE_EXP_ZERO_BELOW), _CMP_LT_OQ);
    e = _mm512_mask_blend_pd(zero, e, _mm512_setzero_pd());
    _mm512_mask_storeu_pd(y, live, e);
    slow &= (__mmask8)~zero;
    if (slow) {  /* from a copy of the input: Y may be X */
        double in[8];
        _mm512_storeu_pd(in, v);
        while (slow) {
            int j = __builtin_ctz(slow);
            y[j] = exp(in[j]);
            slow &= (__mmask8)(slow - 1);
        }
    }
}

static void avx512_vexp(size_t n, const double *x, double *y)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        exp_lanes(x + i, y + i, 0xff);
    if (i < n)
        exp_lanes(x + i, y + i, (__mmask8)((1u << (n - i)) - 1));
}

/* log of positive normal finite lanes (log_consts.h); other lanes give garbage here. */
static inline __m512d log_fast(__m512d x)
{
    const __m512d one = _mm512_set1_pd(1.0);
    __m512i ix = _mm512_castpd_si512(x);
    __m512i k = _mm512_sub_epi64(_mm512_srli_epi64(ix, 52), _mm512_set1_epi64(1023));
    __m512d m = _mm512_castsi512_pd(
        _mm512_or_si512(_mm512_and_si512(ix, _mm512_set1_epi64(0x000fffffffffffffLL)),
                        _mm512_set1_epi64(0x3ff0000000000000LL)));
    __mmask8 big = _mm512_cmp_pd_mask(m, _mm512_set1_pd(MOE_LOG_SQRT2), _CMP_GT_OQ);
    m = _mm512_mask_mul_pd(m, big, m, _mm512_set1_pd(0.5));
    k = _mm512_mask_add_epi64(k, big, k, _mm512_set1_epi64(1));
    __m512d dk = _mm512_cvtepi64_pd(k);
    __m512d f = _mm512_sub_pd(m, one);
    __m512d s = _mm512_div_pd(f, _mm512_add_pd(_mm512_set1_pd(2.0), f));
    __m512d z = _mm512_mul_pd(s, s), w = _mm512_mul_pd(z, z);
    __m512d t1 = _mm512_fmadd_pd(w, _mm512_set1_pd(MOE_LOG_LG6), _mm512_set1_pd(MOE_LOG_LG4));
    t1 = _mm512_fmadd_pd(w, t1, _mm512_set1_pd(MOE_LOG_LG2));
    t1 = _mm512_mul_pd(w, t1);
    __m512d t2 = _mm512_fmadd_pd(w, _mm512_set1_pd(MOE_LOG_LG7), _mm512_set1_pd(MOE_LOG_LG5));
    t2 = _mm512_fmadd_pd(w, t2, _mm512_set1_pd(MOE_LOG_LG3));
    t2 = _mm512_fmadd_pd(w, t2, _mm512_set1_pd(MOE_LOG_LG1));
    t2 = _mm512_mul_pd(z, t2);
    __m512d r = _mm512_add_pd(t2, t1);
    __m512d hfsq = _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(0.5), f), f);
    __m512d inner = _mm512_add_pd(_mm512_mul_pd(s, _mm512_add_pd(hfsq, r)),
                                  _mm512_mul_pd(dk, _mm512_set1_pd(MOE_LOG_LN2_LO)));
    return _mm512_sub_pd(_mm512_mul_pd(dk, _mm512_set1_pd(MOE_LOG_LN2_HI)),
                         _mm512_sub_pd(_mm512_sub_pd(hfsq, inner), f));
}

/* log of the lanes of LIVE at X into Y (Y may be X); lanes not positive, normal and finite
 * go to libm. */
static inline void log_lanes(const double *x, double *y, __mmask8 live)
{
    __m512d v = _mm512_maskz_loadu_pd(live, x);
    __mmask8 fast = _mm512_cmp_pd_mask(v, _mm512_set1_pd(DBL_MIN), _CMP_GE_OQ) &
                    _mm512_cmp_pd_mask(v, _mm512_set1_pd(DBL_MAX), _CMP_LE_OQ) & live;
    _mm512_mask_storeu_pd(y, fast, log_fast(v));
    __mmask8 slow = live & (__mmask8)~fast;
    if (slow) {  /* from a copy of the input: Y may be X */
        double in[8];
        _mm512_storeu_pd(in, v);
        while (slow) {
            int j = __builtin_ctz(slow);
            y[j] = log(in[j]);
            slow &= (__mmask8)(slow - 1);
        }
    }
}

static void avx512_vlog(size_t n, const double *x, double *y)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        log_lanes(x + i, y + i, 0xff);
    if (i < n)
        log_lanes(x + i, y + i, (__mmask8)((1u << (n - i)) - 1));
}

/* tanh of the lanes of LIVE at X into Y (Y may be X): sign(x) (1 - e) / (1 + e), e =
 * exp(-2 |x|) in (0, 1], its argument held above -700 (where e is below 1e-304 and the
 * quotient rounds to 1), so exp_fast's range always holds; NaN lanes are passed through. */
static inline void tanh_lanes(const double *x, double *y, __mmask8 live)
{
    const __m512d one = _mm512_set1_pd(1.0);
    __m512d v = _mm512_maskz_loadu_pd(live, x);
    __m512d m2 = _mm512_mul_pd(_mm512_abs_pd(v), _mm512_set1_pd(-2.0));
    __m512d e = exp_fast(_mm512_max_pd(m2, _mm512_set1_pd(-700.0)));
    __m512d t = _mm512_div_pd(_mm512_sub_pd(one, e), _mm512_add_pd(one, e));
    __m512d sign = _mm512_and_pd(v, _mm512_castsi512_pd(_mm512_set1_epi64(INT64_MIN)));
    t = _mm512_or_pd(t, sign);
    __mmask8 nan = _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q);
    _mm512_mask_storeu_pd(y, live, _mm512_mask_blend_pd(nan, t, v));
}

static void avx512_vtanh(size_t n, const double *x, double *y)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        tanh_lanes(x + i, y + i, 0xff);
    if (i < n)
        tanh_lanes(x + i, y + i, (__mmask8)((1u << (n - i)) - 1));
}

static void avx512_posterior_rows(size_t n, size_t k, const double *restrict a,
                                  double *restrict h, double *restrict lp)
{
    moe_posterior_rows_with(avx512_vexp, avx512_vlog, n, k, a, h, lp);
}

/* wgram_rows for P <= 8 with NV = ceil(P(P+1)/2 / 8) packed vectors held in registers over
 * all rows: the row x (one register) and w x are permuted into the (a, b) pairs of the
 * packed upper triangle. */
static inline __attribute__((always_inline)) void
gram_small(size_t n, size_t p, const double *restrict x, size_t ldx, const double *restrict y,
           const double *restrict w, size_t ldw, double *restrict s, const int nv)
{
    size_t q = p * (p + 1) / 2;
    int64_t ia[40] = {0}, ib[40] = {0};
    for (size_t a = 0, t = 0; a < p; a++)
        for (size_t b = a; b < p; b++, t++) {
            ia[t] = (int64_t)a;
            ib[t] = (int64_t)b;
        }
    __m512i va[5], vb[5];
    __m512d acc[5];
    __mmask8 mv[5];
    double *xx = s + 2 + p;
    for (int v = 0; v < nv; v++) {
        size_t left = q - 8 * (size_t)v;
        mv[v] = left >= 8 ? 0xff : (__mmask8)((1u << left) - 1);
        va[v] = _mm512_loadu_si512(ia + 8 * v);
        vb[v] = _mm512_loadu_si512(ib + 8 * v);
        acc[v] = _mm512_maskz_loadu_pd(mv[v], xx + 8 * v);
    }
    __mmask8 pm = (__mmask8)((1u << p) - 1);
    __m512d accxy = _mm512_maskz_loadu_pd(pm, s + 2);
    double s0 = s[0], s1 = s[1];
    for (size_t r = 0; r < n; r++) {
        double wr = w[r * ldw], yr = y[r], wy = wr * yr;
        s0 += wr;
        s1 += wy * yr;
        __m512d xr = _mm512_maskz_loadu_pd(pm, x + r * ldx);
        __m512d wx = _mm512_mul_pd(_mm512_set1_pd(wr), xr);
        accxy = _mm512_add_pd(accxy, _mm512_mul_pd(_mm512_set1_pd(wy), xr));
        for (int v = 0; v < nv; v++) {
            __m512d av = _mm512_permutexvar_pd(va[v], wx);
            __m512d bv = _mm512_permutexvar_pd(vb[v], xr);
            acc[v] = _mm512_add_pd(acc[v], _mm512_mul_pd(av, bv));
        }
    }
    s[0] = s0;
    s[1] = s1;
    _mm512_mask_storeu_pd(s + 2, pm, accxy);
    for (int v = 0; v < nv; v++)
        _mm512_mask_storeu_pd(xx + 8 * v, mv[v], acc[v]);
}

static void avx512_wgram_rows(size_t n, size_t p, const double *restrict x, size_t ldx,
                              const double *restrict y, const double *restrict w, size_t ldw,
                              double *restrict s)
{
    if (n == 0 || p == 0)
        return;
    switch ((p * (p + 1) / 2 + 7) / 8) {  /* p <= 8: 1 .. 5 vectors */
    case 1: gram_small(n, p, x, ldx, y, w, ldw, s, 1); return;
    case 2: gram_small(n, p, x, ldx, y, w, ldw, s, 2); return;
    case 3: gram_small(n, p, x, ldx, y, w, ldw, s, 3); return;
    case 4: gram_small(n, p, x, ldx, y, w, ldw, s, 4); return;
    case 5: gram_small(n, p, x, ldx, y, w, ldw, s, 5); return;
    default: break;
    }
    /* P > 8: each row of the packed triangle is a vector loop with a masked tail */
    double *xy = s + 2, *xx0 = s + 2 + p;
    for (size_t r = 0; r < n; r++) {
        const double *xr = x + r * ldx;
        double wr = w[r * ldw], yr = y[r], wy = wr * yr, *xx = xx0;
        s[0] += wr;
        s[1] += wy * yr;
        __m512d wyv = _mm512_set1_pd(wy);
        for (size_t a = 0; a < p; a += 8) {
            __mmask8 m = p - a >= 8 ? 0xff : (__mmask8)((1u << (p - a)) - 1);
            __m512d xv = _mm512_maskz_loadu_pd(m, xr + a);
            __m512d yv = _mm512_maskz_loadu_pd(m, xy + a);
            _mm512_mask_storeu_pd(xy + a, m, _mm512_add_pd(yv, _mm512_mul_pd(wyv, xv)));
        }
        for (size_t a = 0; a < p; a++) {
            __m512d wxa = _mm512_set1_pd(wr * xr[a]);
            size_t len = p - a;
            for (size_t b = 0; b < len; b += 8) {
                __mmask8 m = len - b >= 8 ? 0xff : (__mmask8)((1u << (len - b)) - 1);
                __m512d xv = _mm512_maskz_loadu_pd(m, xr + a + b);
                __m512d av = _mm512_maskz_loadu_pd(m, xx + b);
                _mm512_mask_storeu_pd(xx + b, m, _mm512_add_pd(av, _mm512_mul_pd(wxa, xv)));
            }
            xx += len;
        }
    }
}

static void avx512_ger(size_t m, size_t q, const double *restrict alpha,
                       const double *restrict x, double *restrict y)
{
    for (size_t j = 0; j < m; j++) {
        __m512d aj = _mm512_set1_pd(alpha[j]);
        double *yj = y + j * q;
        size_t t = 0;
        for (; t + 8 <= q; t += 8)
            _mm512_storeu_pd(yj + t, _mm512_add_pd(_mm512_loadu_pd(yj + t),
                                                   _mm512_mul_pd(aj, _mm512_loadu_pd(x + t))));
        if (t < q) {
            __mmask8 mk = (__mmask8)((1u << (q - t)) - 1);
            __m512d yv = _mm512_maskz_loadu_pd(mk, yj + t);
            __m512d xv = _mm512_maskz_loadu_pd(mk, x + t);
            _mm512_mask_storeu_pd(yj + t, mk, _mm512_add_pd(yv, _mm512_mul_pd(aj, xv)));
        }
    }
}

/* Each 8-wide piece of a row of Y stays in a register while the rows are summed into it. */
/* Each 8-wide piece of four rows of Y stays in registers while the rows are summed into it:
 * four independent chains, so the adds' latency overlaps and each x piece is loaded once. */
static void avx512_ger_rows(size_t n, size_t m, size_t q, const double *restrict alpha,
                            size_t lda, const double *restrict x, size_t ldx,
                            double *restrict y)
{
    if (n == 0)
        return;
    for (size_t t = 0; t < q; t += 8) {
        __mmask8 mk = q - t >= 8 ? 0xff : (__mmask8)((1u << (q - t)) - 1);
        size_t j = 0;
        for (; j + 4 <= m; j += 4) {
            double *y0 = y + j * q + t;
            __m512d a0 = _mm512_maskz_loadu_pd(mk, y0), a1 = _mm512_maskz_loadu_pd(mk, y0 + q);
            __m512d a2 = _mm512_maskz_loadu_pd(mk, y0 + 2 * q);
            __m512d a3 = _mm512_maskz_loadu_pd(mk, y0 + 3 * q);
            for (size_t r = 0; r < n; r++) {
                const double *al = alpha + r * lda + j;
                __m512d xv = _mm512_maskz_loadu_pd(mk, x + r * ldx + t);
                a0 = _mm512_add_pd(a0, _mm512_mul_pd(_mm512_set1_pd(al[0]), xv));
                a1 = _mm512_add_pd(a1, _mm512_mul_pd(_mm512_set1_pd(al[1]), xv));
                a2 = _mm512_add_pd(a2, _mm512_mul_pd(_mm512_set1_pd(al[2]), xv));
                a3 = _mm512_add_pd(a3, _mm512_mul_pd(_mm512_set1_pd(al[3]), xv));
            }
            _mm512_mask_storeu_pd(y0, mk, a0);
            _mm512_mask_storeu_pd(y0 + q, mk, a1);
            _mm512_mask_storeu_pd(y0 + 2 * q, mk, a2);
            _mm512_mask_storeu_pd(y0 + 3 * q, mk, a3);
        }
        for (; j < m; j++) {
            double *yj = y + j * q + t;
            __m512d acc = _mm512_maskz_loadu_pd(mk, yj);
            for (size_t r = 0; r < n; r++)
                acc = _mm512_add_pd(acc, _mm512_mul_pd(_mm512_set1_pd(alpha[r * lda + j]),
                                                       _mm512_maskz_loadu_pd(mk, x + r * ldx + t)));
            _mm512_mask_storeu_pd(yj, mk, acc);
        }
    }
}

/* 8 outputs at a time in one vector: their weights transposed into WT (P x 8), each row's
 * sums in order l from B, four rows in flight so that the adds' latencies overlap; the last
 * piece of outputs masked. Fewer than 8 outputs (the linear experts' means, small gates'
 * logits) take the reference's scalar loop (dot_impl.h): gathering the rows' columns was
 * slower there. */
#define DOT_PMAX 512
static void avx512_dot_rows(size_t n, size_t m, size_t p, const double *restrict w, size_t ldw,
                            const double *restrict b, const double *restrict z, size_t ldz,
                            double *restrict out, size_t ldo)
{
    if (m < 8 || p > DOT_PMAX) {
        moe_dot_rows_scalar(n, m, p, w, ldw, b, z, ldz, out, ldo);
        return;
    }
    double wt[DOT_PMAX * 8];
    for (size_t i0 = 0; i0 < m; i0 += 8) {
        size_t mi = m - i0 < 8 ? m - i0 : 8;
        __mmask8 mk = (__mmask8)((1u << mi) - 1);
        for (size_t l = 0; l < p; l++)
            for (size_t c = 0; c < 8; c++)
                wt[l * 8 + c] = c < mi ? w[(i0 + c) * ldw + l] : 0;
        __m512d bv = b ? _mm512_maskz_loadu_pd(mk, b + i0) : _mm512_setzero_pd();
        size_t r = 0;
        for (; r + 4 <= n; r += 4) {
            const double *z0 = z + r * ldz;
            __m512d a0 = bv, a1 = bv, a2 = bv, a3 = bv;
            for (size_t l = 0; l < p; l++) {
                __m512d wl = _mm512_loadu_pd(wt + l * 8);
                a0 = _mm512_add_pd(a0, _mm512_mul_pd(_mm512_set1_pd(z0[l]), wl));
                a1 = _mm512_add_pd(a1, _mm512_mul_pd(_mm512_set1_pd(z0[ldz + l]), wl));
                a2 = _mm512_add_pd(a2, _mm512_mul_pd(_mm512_set1_pd(z0[2 * ldz + l]), wl));
                a3 = _mm512_add_pd(a3, _mm512_mul_pd(_mm512_set1_pd(z0[3 * ldz + l]), wl));
            }
            _mm512_mask_storeu_pd(out + r * ldo + i0, mk, a0);
            _mm512_mask_storeu_pd(out + (r + 1) * ldo + i0, mk, a1);
            _mm512_mask_storeu_pd(out + (r + 2) * ldo + i0, mk, a2);
            _mm512_mask_storeu_pd(out + (r + 3) * ldo + i0, mk, a3);
        }
        for (; r < n; r++) {
            const double *zr = z + r * ldz;
            __m512d a = bv;
            for (size_t l = 0; l < p; l++)
                a = _mm512_add_pd(a, _mm512_mul_pd(_mm512_set1_pd(zr[l]),
                                                  _mm512_loadu_pd(wt + l * 8)));
            _mm512_mask_storeu_pd(out + r * ldo + i0, mk, a);
        }
    }
}

void moe_kernels_fill_avx512(moe_kernels *t)
{
    t->name = "avx512";
    t->vexp = avx512_vexp;
    t->vlog = avx512_vlog;
    t->vtanh = avx512_vtanh;
    t->posterior_rows = avx512_posterior_rows;
    t->wgram_rows = avx512_wgram_rows;
    t->ger = avx512_ger;
    t->ger_rows = avx512_ger_rows;
    t->dot_rows = avx512_dot_rows;
    t->sgemm = moe_kernels_sgemm_avx512;
    t->sgemm_beats_blas = 1;
    moe_kernels_fill_sparse_avx512(t);
}
