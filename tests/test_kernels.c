/* test_kernels.c: every slot of the kernel set in use (MOE_ARCH, or the best available) against
 * the reference set, and the reference itself against sums this test computes in long double.
 * tests/kernels.sh runs it once per kernel set this machine can run.
 *   - vexp: within MOE_KERNELS_EXP_ULP ulp of libm's exp on random points of [-707, 707], on a
 *     sweep of the whole range (-760 .. 720, through the subnormal band and overflow), and at
 *     the special values (-inf -> 0, +inf, NaN, +-0, the underflow and overflow thresholds);
 *     in place equals out of place; n = 0 writes nothing.
 *   - vtanh: within MOE_KERNELS_TANH_ABS of libm's tanh on random points of [-20, 20], near 0
 *     (down to 1e-300) and out to +-800, the special values (+-inf -> +-1, NaN, +-0 with its
 *     sign), odd sizes with a sentinel, in place equals out of place; ref is libm's tanh.
 *   - vlog: within MOE_KERNELS_LOG_ULP ulp of libm's log on posterior_rows' range [1, 64], over
 *     every exponent of the normal range, near 1 and sqrt(2)/2, and at the special values (+-0
 *     -> -inf, negatives and NaN -> NaN, +inf, subnormals, DBL_MAX, 1 -> 0); odd sizes with a
 *     sentinel, in place equals out of place; ref is libm's log.
 *   - posterior_rows: lp and h against the reference within TOL_POST (relative, scaled by
 *     1 + |lp| because h = exp(a - lp) inherits lp's absolute error), for K = 1 .. 64 with
 *     -inf entries and rows 1e3 apart; the reference's lp against a long-double log-sum-exp
 *     and its h summing to 1.
 *   - wgram_rows, ger, ger_rows: bit-identical to the reference (memcmp) for P = 1 .. 12,
 *     strides larger than P, nonzero starting sums; the reference against long-double sums
 *     (TOL_SUM), and ref's ger_rows against N calls of its ger (bit for bit).
 *   - dot_rows: bit-identical to the reference for M = 0 .. 17 outputs (the scalar loop below
 *     the vector width, whole and masked vector pieces above it), P = 0, 1, 6, 17 and 513 (past
 *     DOT_PMAX, the scalar loop again), N = 0 .. 1000 (four-row groups and their tail), with
 *     and without B, strides wider than the sizes (the gaps untouched); the reference against
 *     long-double sums (TOL_SUM).
 *   - sgemm (float32): the set in use and the reference, for every transpose pair, BETA 0 and 1,
 *     sizes 0, 1, 7, 33 and blocks past KC and NC, within MOE_KERNELS_SGEMM_TOL K sum |a b| of
 *     a double-precision product; nothing outside C (an LDC wider than N) is written.
 *   - the sparse layer's row loops (float32), for N = 0, 1, 7, 33 rows and widths 1, 2, 7, 16,
 *     17, 33 (one lane, tails, several pieces): softmax_rows within MOE_KERNELS_SOFTMAX_TOL of
 *     ref, and ref against a long-double log-sum-exp; topk_rows equal to ref on rows full of
 *     ties (E up to 256, M = 1, 2, 3, E), and ref equal to a selection written here; gather_rows
 *     equal to ref and to the tokens' rows; act_forward/backward: ReLU equal to ref (-0 and NaN
 *     included), GELU within MOE_KERNELS_GELU_TOL (1 + |a|) of ref, ref against x Phi(x) from
 *     erfc and a central difference; combine_rows (weights and NULL) and combine_back equal to
 *     ref (d w within MOE_KERNELS_DOT_TOL sum |dy out|), a quarter of the assignments dropped,
 *     dropped rows untouched, ref's sums against double sums.
 * Sizes n = 0, 1, 7, 33 and larger throughout; a sentinel past the end catches overruns.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "tap.h"

/* Named tolerances (see the file comment). */
#define TOL_POST 1e-14  /* posterior_rows against ref, relative, times (1 + |lp|) */
#define TOL_SUM 1e-13   /* ref's accumulations against long double, relative to sum |terms| */
#define SENTINEL 12345.678

static const size_t sizes[] = {0, 1, 7, 33, 1000};
#define NSIZES (sizeof sizes / sizeof *sizes)

static gsl_rng *rng;

static double unif(double a, double b) { return a + (b - a) * gsl_rng_uniform(rng); }

/* Distance in units in the last place between two finite doubles of the same sign. */
static double ulp_dist(double a, double b)
{
    if (a == b)
        return 0;
    if (!isfinite(a) || !isfinite(b) || (a < 0) != (b < 0))
        return INFINITY;
    int64_t ia, ib;
    memcpy(&ia, &a, 8);
    memcpy(&ib, &b, 8);
    return fabs((double)(ia - ib));
}

static const moe_kernels *ref, *kt;

/* Largest ulp error of the kernel VF over X (N values) against libm's F; counts the values
 * off by more than BOUND ulp (NaN must give NaN, an infinity the same infinity). */
static double max_ulp(void (*vf)(size_t, const double *, double *), double (*f)(double),
                      double bound, const double *x, size_t n, double *y, size_t *bad)
{
    vf(n, x, y);
    double mx = 0;
    for (size_t i = 0; i < n; i++) {
        double want = f(x[i]), u;
        if (isnan(want))
            u = isnan(y[i]) ? 0 : INFINITY;
        else
            u = ulp_dist(y[i], want);
        if (u > bound)
            (*bad)++;
        if (u > mx)
            mx = u;
    }
    return mx;
}

static double exp_max_ulp(const double *x, size_t n, double *y, size_t *bad)
{
    return max_ulp(kt->vexp, exp, MOE_KERNELS_EXP_ULP, x, n, y, bad);
}

static double log_max_ulp(const double *x, size_t n, double *y, size_t *bad)
{
    return max_ulp(kt->vlog, log, MOE_KERNELS_LOG_ULP, x, n, y, bad);
}

static void test_vexp(void)
{
    size_t big = 200000;
    double *x = malloc((big + 1) * sizeof *x), *y = malloc((big + 1) * sizeof *y);
    double *y2 = malloc((big + 1) * sizeof *y2);
    for (size_t s = 0; s < NSIZES; s++) {
        size_t n = sizes[s], bad = 0;
        for (size_t i = 0; i < n; i++)
            x[i] = unif(-707, 707);
        y[n] = SENTINEL;
        double u = exp_max_ulp(x, n, y, &bad);
        tap_ok(bad == 0 && y[n] == SENTINEL, "%s vexp n = %zu: max %.0f ulp from libm (<= %d)",
               kt->name, n, u, MOE_KERNELS_EXP_ULP);
    }
    size_t bad = 0;
    for (size_t i = 0; i < big; i++)
        x[i] = unif(-707, 707);
    double u = exp_max_ulp(x, big, y, &bad);
    tap_ok(bad == 0, "%s vexp on %zu random points of [-707, 707]: max %.0f ulp", kt->name, big,
           u);
    bad = 0;
    for (size_t i = 0; i < big; i++)  /* the whole range, subnormal band and overflow included */
        x[i] = -760 + 1480 * (double)i / (double)(big - 1);
    u = exp_max_ulp(x, big, y, &bad);
    tap_ok(bad == 0, "%s vexp on a sweep of [-760, 720]: max %.0f ulp", kt->name, u);
    bad = 0;
    for (size_t i = 0; i < big; i++)  /* small arguments, where exp(r) ~ 1 + r */
        x[i] = unif(-1e-3, 1e-3) * pow(10, -(double)(i % 12));
    u = exp_max_ulp(x, big, y, &bad);
    tap_ok(bad == 0, "%s vexp near 0: max %.0f ulp", kt->name, u);
    double sp[] = {-INFINITY, INFINITY, NAN, 0.0, -0.0, 709.782712893384, 709.7827128933841,
                   710, -745.1332191019411, -745.1332191019412, -745.2, -746, -707.0, 707.0,
                   -707.0000000000001, 707.0000000000001, -708.3964185322641, 1e308, -1e308,
                   5e-324, 1.0, -1.0};
    size_t ns = sizeof sp / sizeof *sp;
    bad = 0;
    u = exp_max_ulp(sp, ns, y, &bad);
    tap_ok(bad == 0 && y[0] == 0 && !signbit(y[0]) && isinf(y[1]) && isnan(y[2]) && y[3] == 1,
           "%s vexp special values (-inf -> +0, inf, NaN, 0 -> 1, thresholds): max %.0f ulp",
           kt->name, u);
    for (size_t i = 0; i < 33; i++)
        x[i] = unif(-800, 800);
    kt->vexp(33, x, y2);
    kt->vexp(33, x, x);
    tap_ok(memcmp(x, y2, 33 * sizeof *x) == 0, "%s vexp in place equals out of place",
           kt->name);
    y[0] = SENTINEL;
    kt->vexp(0, x, y);
    tap_ok(y[0] == SENTINEL, "%s vexp n = 0 writes nothing", kt->name);
    free(x);
    free(y);
    free(y2);
}

static void test_vlog(void)
{
    size_t big = 200000;
    double *x = malloc((big + 1) * sizeof *x), *y = malloc((big + 1) * sizeof *y);
    double *y2 = malloc((big + 1) * sizeof *y2);
    for (size_t s = 0; s < NSIZES; s++) {
        size_t n = sizes[s], bad = 0;
        for (size_t i = 0; i < n; i++)
            x[i] = unif(1, 64);  /* posterior_rows' sums of exps */
        y[n] = SENTINEL;
        double u = log_max_ulp(x, n, y, &bad);
        tap_ok(bad == 0 && y[n] == SENTINEL, "%s vlog n = %zu: max %.0f ulp from libm (<= %d)",
               kt->name, n, u, MOE_KERNELS_LOG_ULP);
    }
    size_t bad = 0;
    for (size_t i = 0; i < big; i++)  /* every exponent of the normal range */
        x[i] = unif(1, 2) * pow(2, -1022 + 2045 * (double)i / (double)big);
    double u = log_max_ulp(x, big, y, &bad);
    tap_ok(bad == 0, "%s vlog on %zu points of [2^-1022, 2^1023]: max %.0f ulp", kt->name, big,
           u);
    bad = 0;
    for (size_t i = 0; i < big; i++)  /* near 1, where log x ~ x - 1, both sides of sqrt 2 */
        x[i] = i % 2 ? 1 + unif(-1, 1) * pow(10, -(double)(i % 16))
                     : unif(0.70, 0.72) * (i % 4 ? 2 : 1);
    u = log_max_ulp(x, big, y, &bad);
    tap_ok(bad == 0, "%s vlog near 1 and sqrt(2)/2: max %.0f ulp", kt->name, u);
    double sp[] = {0.0, -0.0, -1.0, INFINITY, -INFINITY, NAN, 5e-324, 2.2250738585072014e-308,
                   2.225073858507201e-308, 1.7976931348623157e308, 1.0, 2.0, 0.5, M_SQRT2,
                   M_SQRT1_2, 1e-300, 1e300};
    size_t ns = sizeof sp / sizeof *sp;
    bad = 0;
    u = log_max_ulp(sp, ns, y, &bad);
    tap_ok(bad == 0 && y[0] == -INFINITY && y[1] == -INFINITY && isnan(y[2]) &&
               y[3] == INFINITY && isnan(y[4]) && isnan(y[5]) && y[10] == 0,
           "%s vlog special values (+-0 -> -inf, negatives and NaN -> NaN, inf, subnormals, "
           "1 -> 0): max %.0f ulp", kt->name, u);
    for (size_t i = 0; i < 33; i++)
        x[i] = unif(1e-3, 1e3);
    kt->vlog(33, x, y2);
    kt->vlog(33, x, x);
    tap_ok(memcmp(x, y2, 33 * sizeof *x) == 0, "%s vlog in place equals out of place",
           kt->name);
    y[0] = SENTINEL;
    kt->vlog(0, x, y);
    tap_ok(y[0] == SENTINEL, "%s vlog n = 0 writes nothing", kt->name);
    for (size_t i = 0; i < 7; i++)
        x[i] = unif(0.1, 30);
    ref->vlog(7, x, y);
    int same = 1;
    for (size_t i = 0; i < 7; i++)
        same = same && y[i] == log(x[i]);
    tap_ok(same, "ref vlog is libm's log, bit for bit");
    free(x);
    free(y);
    free(y2);
}

/* Largest absolute error of kt->vtanh over X (N values) against libm's tanh; counts the
 * values off by more than MOE_KERNELS_TANH_ABS (NaN must give NaN). */
static double tanh_max_err(const double *x, size_t n, double *y, size_t *bad)
{
    kt->vtanh(n, x, y);
    double mx = 0;
    for (size_t i = 0; i < n; i++) {
        double want = tanh(x[i]);
        double e = isnan(want) ? (isnan(y[i]) ? 0 : INFINITY) : fabs(y[i] - want);
        if (!(e <= MOE_KERNELS_TANH_ABS))
            (*bad)++;
        if (!(e <= mx))
            mx = e;
    }
    return mx;
}

static void test_vtanh(void)
{
    size_t big = 100000;
    double *x = malloc((big + 1) * sizeof *x), *y = malloc((big + 1) * sizeof *y);
    double *y2 = malloc((big + 1) * sizeof *y2);
    for (size_t s = 0; s < NSIZES; s++) {
        size_t n = sizes[s], bad = 0;
        for (size_t i = 0; i < n; i++)
            x[i] = unif(-20, 20);
        y[n] = SENTINEL;
        double e = tanh_max_err(x, n, y, &bad);
        tap_ok(bad == 0 && y[n] == SENTINEL, "%s vtanh n = %zu: max %.2g from libm (<= %g)",
               kt->name, n, e, MOE_KERNELS_TANH_ABS);
    }
    size_t bad = 0;
    for (size_t i = 0; i < big; i++)  /* near 0, down to 1e-300, and out to +-800 */
        x[i] = (i % 3 == 0 ? unif(-20, 20)
                : i % 3 == 1 ? unif(-1, 1) * pow(10, -(double)(i % 301))
                             : unif(-800, 800));
    double e = tanh_max_err(x, big, y, &bad);
    tap_ok(bad == 0, "%s vtanh on %zu points of [-800, 800], many near 0: max %.2g", kt->name,
           big, e);
    double sp[] = {-INFINITY, INFINITY, NAN, 0.0, -0.0, 350.0, -350.0, 700.0, 1e308, -1e308,
                   5e-324, 1e-8, -1e-8, 0.5, 19.0, 1.0};
    size_t ns = sizeof sp / sizeof *sp;
    bad = 0;
    e = tanh_max_err(sp, ns, y, &bad);
    tap_ok(bad == 0 && y[0] == -1 && y[1] == 1 && isnan(y[2]) && y[3] == 0 && !signbit(y[3]) &&
               y[4] == 0 && signbit(y[4]) && y[8] == 1 && y[9] == -1,
           "%s vtanh special values (+-inf -> +-1, NaN, +-0 keeps its sign): max %.2g",
           kt->name, e);
    for (size_t i = 0; i < 33; i++)
        x[i] = unif(-30, 30);
    kt->vtanh(33, x, y2);
    kt->vtanh(33, x, x);
    tap_ok(memcmp(x, y2, 33 * sizeof *x) == 0, "%s vtanh in place equals out of place",
           kt->name);
    y[0] = SENTINEL;
    kt->vtanh(0, x, y);
    tap_ok(y[0] == SENTINEL, "%s vtanh n = 0 writes nothing", kt->name);
    for (size_t i = 0; i < 7; i++)
        x[i] = unif(-3, 3);
    ref->vtanh(7, x, y);
    int same = 1;
    for (size_t i = 0; i < 7; i++)
        same = same && y[i] == tanh(x[i]);
    tap_ok(same, "ref vtanh is libm's tanh, bit for bit");
    free(x);
    free(y);
    free(y2);
}

static void fill_logterms(double *a, size_t n, size_t k)
{
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < k; i++) {
            double v = unif(-40, 5);
            if (r % 5 == 1)
                v = unif(-1200, -600);  /* rows far out: the max shift matters */
            if (r % 7 == 3 && i % 2 == 1)
                v = -INFINITY;          /* an expert with zero density */
            if (r % 11 == 4)
                v += 1000.0 * (double)i;  /* terms 1e3 apart */
            a[r * k + i] = v;
        }
    for (size_t r = 0; r < n; r++)  /* every row keeps one finite term */
        if (a[r * k] == -INFINITY)
            a[r * k] = -3;
}

static void test_posterior(void)
{
    static const size_t ks[] = {1, 2, 3, 4, 7, 64};
    size_t nmax = 1000, kmax = 64;
    double *a = malloc(nmax * kmax * sizeof *a), *h = malloc((nmax * kmax + 1) * sizeof *h);
    double *hr = malloc(nmax * kmax * sizeof *hr), *lp = malloc((nmax + 1) * sizeof *lp);
    double *lpr = malloc(nmax * sizeof *lpr);
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++)
        for (size_t s = 0; s < NSIZES; s++) {
            size_t k = ks[ki], n = sizes[s];
            fill_logterms(a, n, k);
            h[n * k] = lp[n] = SENTINEL;
            kt->posterior_rows(n, k, a, h, lp);
            ref->posterior_rows(n, k, a, hr, lpr);
            double worst = 0, lworst = 0, refl = 0, sumdev = 0;
            for (size_t r = 0; r < n; r++) {
                double sc = 1 + fabs(lpr[r]);
                lworst = fmax(lworst, fabs(lp[r] - lpr[r]) / sc / fmax(fabs(lpr[r]), 1));
                double sum = 0;
                for (size_t i = 0; i < k; i++) {
                    double want = hr[r * k + i], got = h[r * k + i];
                    double d = fabs(got - want) / (sc * fmax(want, 1e-300));
                    if (want == 0 && got == 0)
                        d = 0;
                    worst = fmax(worst, d);
                    sum += want;
                }
                sumdev = fmax(sumdev, fabs(sum - 1) / sc);  /* h inherits lp's error */
                /* the reference against a long-double log-sum-exp */
                long double m = -INFINITY, t = 0;
                for (size_t i = 0; i < k; i++)
                    if (a[r * k + i] > m)
                        m = a[r * k + i];
                for (size_t i = 0; i < k; i++)
                    t += expl((long double)a[r * k + i] - m);
                double l = (double)(m + logl(t));
                refl = fmax(refl, fabs(lpr[r] - l) / fmax(fabs(l), 1));
            }
            tap_ok(worst <= TOL_POST && lworst <= TOL_POST && h[n * k] == SENTINEL &&
                       lp[n] == SENTINEL,
                   "%s posterior_rows n = %zu, k = %zu: h within %.1e, lp within %.1e of ref "
                   "(TOL_POST %g)", kt->name, n, k, worst, lworst, TOL_POST);
            tap_ok(refl <= 1e-15 * (double)(k + 2) && sumdev <= 1e-15 * (double)(k + 2),
                   "ref posterior_rows n = %zu, k = %zu: lp within %.1e of long double, h sums "
                   "to 1 within %.1e (1 + |lp|)", n, k, refl, sumdev);
        }
    /* without H only LP is written */
    fill_logterms(a, 33, 4);
    kt->posterior_rows(33, 4, a, NULL, lp);
    ref->posterior_rows(33, 4, a, NULL, lpr);
    double lw = 0;
    for (size_t r = 0; r < 33; r++)
        lw = fmax(lw, fabs(lp[r] - lpr[r]) / (1 + fabs(lpr[r])));
    tap_ok(lw <= TOL_POST, "%s posterior_rows with h = NULL: lp within %.1e", kt->name, lw);
    free(a);
    free(h);
    free(hr);
    free(lp);
    free(lpr);
}

static void test_wgram(void)
{
    static const size_t ps[] = {1, 2, 3, 5, 6, 7, 8, 9, 12};
    size_t nmax = 1000, ldx = 14, ldw = 3, ss = 2 + 12 + 78;
    double *x = malloc(nmax * ldx * sizeof *x), *y = malloc(nmax * sizeof *y);
    double *w = malloc(nmax * ldw * sizeof *w);
    double s1[2 + 12 + 78 + 1], s2[2 + 12 + 78 + 1];
    for (size_t pi = 0; pi < sizeof ps / sizeof *ps; pi++)
        for (size_t sz = 0; sz < NSIZES; sz++) {
            size_t p = ps[pi], n = sizes[sz], len = 2 + p + p * (p + 1) / 2;
            for (size_t t = 0; t < nmax * ldx; t++)
                x[t] = gsl_ran_gaussian(rng, 2);
            for (size_t r = 0; r < n; r++) {
                y[r] = gsl_ran_gaussian(rng, 3);
                for (size_t c = 0; c < ldw; c++)  /* exact zeros, as rows an expert lost */
                    w[r * ldw + c] = r % 4 == 2 ? 0 : gsl_rng_uniform(rng);
            }
            for (size_t t = 0; t < len; t++)
                s1[t] = s2[t] = unif(-1, 1);
            s1[len] = s2[len] = SENTINEL;
            double s0[2 + 12 + 78];
            memcpy(s0, s1, len * sizeof *s0);
            kt->wgram_rows(n, p, x, ldx, y, w + 1, ldw, s1);
            ref->wgram_rows(n, p, x, ldx, y, w + 1, ldw, s2);
            tap_ok(memcmp(s1, s2, (len + 1) * sizeof *s1) == 0,
                   "%s wgram_rows n = %zu, p = %zu: bit-identical to ref", kt->name, n, p);
            /* the reference against long-double sums of the same terms */
            double worst = 0;
            for (size_t t = 0; t < len; t++) {
                long double acc = s0[t], mag = fabs(s0[t]);
                for (size_t r = 0; r < n; r++) {
                    const double *xr = x + r * ldx;
                    long double wr = w[r * ldw + 1], term;
                    if (t == 0)
                        term = wr;
                    else if (t == 1)
                        term = wr * y[r] * y[r];
                    else if (t < 2 + p)
                        term = wr * y[r] * xr[t - 2];
                    else {
                        size_t u = t - 2 - p, a = 0;
                        while (u >= p - a) {
                            u -= p - a;
                            a++;
                        }
                        term = wr * xr[a] * xr[a + u];
                    }
                    acc += term;
                    mag += fabsl(term);
                }
                worst = fmax(worst, (double)(fabsl((long double)s2[t] - acc) / (mag + 1e-300)));
            }
            tap_ok(worst <= TOL_SUM, "ref wgram_rows n = %zu, p = %zu: within %.1e of long "
                   "double (TOL_SUM %g)", n, p, worst, TOL_SUM);
        }
    (void)ss;
    free(x);
    free(y);
    free(w);
}

static void test_ger(void)
{
    static const size_t ms[] = {0, 1, 3, 6, 10};
    static const size_t qs[] = {0, 1, 7, 21, 33, 78};
    double alpha[10], x[78], y1[10 * 78 + 1], y2[10 * 78 + 1], y0[10 * 78];
    for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
        for (size_t qi = 0; qi < sizeof qs / sizeof *qs; qi++) {
            size_t m = ms[mi], q = qs[qi];
            for (size_t j = 0; j < m; j++)
                alpha[j] = gsl_ran_gaussian(rng, 1);
            for (size_t t = 0; t < q; t++)
                x[t] = gsl_ran_gaussian(rng, 1);
            for (size_t t = 0; t < m * q; t++)
                y0[t] = y1[t] = y2[t] = gsl_ran_gaussian(rng, 1);
            y1[m * q] = y2[m * q] = SENTINEL;
            kt->ger(m, q, alpha, x, y1);
            ref->ger(m, q, alpha, x, y2);
            tap_ok(memcmp(y1, y2, (m * q + 1) * sizeof *y1) == 0,
                   "%s ger m = %zu, q = %zu: bit-identical to ref", kt->name, m, q);
            double worst = 0;
            for (size_t j = 0; j < m; j++)
                for (size_t t = 0; t < q; t++) {
                    long double want = (long double)y0[j * q + t] +
                                       (long double)alpha[j] * x[t];
                    long double mag = fabsl((long double)y0[j * q + t]) +
                                      fabsl((long double)alpha[j] * x[t]);
                    worst = fmax(worst, (double)(fabsl(y2[j * q + t] - want) / (mag + 1e-300)));
                }
            tap_ok(worst <= 2.3e-16, "ref ger m = %zu, q = %zu: within %.1e of long double", m,
                   q, worst);
        }
}

static void test_ger_rows(void)
{
    static const size_t ms[] = {0, 1, 3, 6, 10};
    static const size_t qs[] = {0, 1, 7, 21, 33};
    size_t lda = 11, ldx = 35;
    double *alpha = malloc(1000 * lda * sizeof *alpha), *x = malloc(1000 * ldx * sizeof *x);
    double y1[10 * 33 + 1], y2[10 * 33 + 1], y3[10 * 33 + 1];
    for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
        for (size_t qi = 0; qi < sizeof qs / sizeof *qs; qi++)
            for (size_t s = 0; s < NSIZES; s++) {
                size_t m = ms[mi], q = qs[qi], n = sizes[s];
                for (size_t t = 0; t < n * lda; t++)
                    alpha[t] = gsl_ran_gaussian(rng, 1);
                for (size_t t = 0; t < n * ldx; t++)
                    x[t] = gsl_ran_gaussian(rng, 1);
                for (size_t t = 0; t < m * q; t++)
                    y1[t] = y2[t] = y3[t] = gsl_ran_gaussian(rng, 1);
                y1[m * q] = y2[m * q] = SENTINEL;
                kt->ger_rows(n, m, q, alpha, lda, x, ldx, y1);
                ref->ger_rows(n, m, q, alpha, lda, x, ldx, y2);
                for (size_t r = 0; r < n; r++)  /* the reference: N calls of ger */
                    ref->ger(m, q, alpha + r * lda, x + r * ldx, y3);
                tap_ok(memcmp(y1, y2, (m * q + 1) * sizeof *y1) == 0,
                       "%s ger_rows n = %zu, m = %zu, q = %zu: bit-identical to ref", kt->name,
                       n, m, q);
                if (n == 33 || n == 1000)
                    tap_ok(memcmp(y2, y3, m * q * sizeof *y2) == 0,
                           "ref ger_rows n = %zu, m = %zu, q = %zu: equals n calls of ger", n,
                           m, q);
            }
    free(alpha);
    free(x);
}

/* dot_rows: every output equal to ref's bit for bit, ref within TOL_SUM of long-double sums,
 * with B and without, strides wider than the sizes (the gaps and a sentinel stay untouched). */
static void test_dot_rows(void)
{
    static const size_t ms[] = {0, 1, 2, 3, 5, 8, 13, 16, 17};
    static const size_t ps[] = {0, 1, 6, 17, 513};  /* 513: past the ISA sets' DOT_PMAX */
    size_t ldw = 515, ldz = 517, ldo = 20, nmax = 1000;
    double *w = malloc(17 * ldw * sizeof *w), *z = malloc(nmax * ldz * sizeof *z);
    double *o1 = malloc((nmax * ldo + 1) * sizeof *o1), *o2 = malloc((nmax * ldo + 1) * sizeof *o2);
    double b[17];
    for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
        for (size_t pi = 0; pi < sizeof ps / sizeof *ps; pi++)
            for (size_t si = 0; si < NSIZES; si++)
                for (int withb = 0; withb < 2; withb++) {
                    size_t m = ms[mi], p = ps[pi], n = sizes[si];
                    for (size_t t = 0; t < 17 * ldw; t++)
                        w[t] = gsl_ran_gaussian(rng, 1);
                    for (size_t t = 0; t < n * ldz; t++)
                        z[t] = gsl_ran_gaussian(rng, 3);
                    for (size_t i = 0; i < 17; i++)
                        b[i] = gsl_ran_gaussian(rng, 1);
                    for (size_t t = 0; t <= n * ldo; t++)
                        o1[t] = o2[t] = SENTINEL;
                    const double *bp = withb ? b : NULL;
                    kt->dot_rows(n, m, p, w, ldw, bp, z, ldz, o1, ldo);
                    ref->dot_rows(n, m, p, w, ldw, bp, z, ldz, o2, ldo);
                    double worst = 0;
                    size_t untouched = 1;
                    for (size_t r = 0; r < n; r++)
                        for (size_t i = 0; i < ldo; i++) {
                            if (i >= m) {
                                untouched &= o2[r * ldo + i] == SENTINEL;
                                continue;
                            }
                            long double want = withb ? b[i] : 0, mag = fabsl(want);
                            for (size_t l = 0; l < p; l++) {
                                long double t = (long double)w[i * ldw + l] * z[r * ldz + l];
                                want += t;
                                mag += fabsl(t);
                            }
                            worst = fmax(worst, (double)(fabsl(o2[r * ldo + i] - want) /
                                                          (mag + 1e-300)));
                        }
                    untouched &= o2[n * ldo] == SENTINEL;
                    tap_ok(memcmp(o1, o2, (n * ldo + 1) * sizeof *o1) == 0,
                           "%s dot_rows n = %zu, m = %zu, p = %zu, %s: bit-identical to ref",
                           kt->name, n, m, p, withb ? "B" : "no B");
                    tap_ok(worst <= TOL_SUM && untouched,
                           "ref dot_rows n = %zu, m = %zu, p = %zu, %s: within %.1e of long "
                           "double, the gaps untouched", n, m, p, withb ? "B" : "no B", worst);
                }
    free(w);
    free(z);
    free(o1);
    free(o2);
}

static void test_dispatch(void)
{
    const char *why = NULL;
    tap_ok(ref != NULL && strcmp(ref->name, "ref") == 0, "the ref set always exists");
    const char *names[] = {"ref", "avx2", "avx512"};
    for (size_t i = 0; i < 3; i++) {
        const moe_kernels *t = moe_kernels_find(names[i], &why);
        if (!t) {
            tap_ok(why != NULL && *why, "%s unavailable, with a reason: %s", names[i], why);
            continue;
        }
        tap_ok(strcmp(t->name, names[i]) == 0 && t->vexp && t->vtanh && t->vlog &&
                   t->posterior_rows &&
                   t->wgram_rows && t->ger && t->ger_rows && t->dot_rows && t->sgemm &&
                   t->softmax_rows &&
                   t->topk_rows && t->gather_rows && t->act_forward && t->act_backward &&
                   t->combine_rows && t->combine_back,
               "%s: named as asked, every slot filled", names[i]);
        /* the sparse layer's automatic GEMM choice, as measured (bench/README.md,
         * bench_sparse --gemm): only the AVX-512 tile beats OpenBLAS 0.3.21's default sgemm */
        tap_ok(t->sgemm_beats_blas == (i == 2), "%s: the sparse layer's default GEMM is %s",
               names[i], i == 2 ? "its own sgemm" : "OpenBLAS's");
        if (i == 0)
            continue;
        /* each ISA file overrides every slot (so its own code is what the tests check) */
        const moe_kernels *below = i == 2 ? moe_kernels_find("avx2", NULL) : ref;
        if (!below)
            below = ref;
        tap_ok(t->vexp != below->vexp && t->vtanh != below->vtanh && t->vlog != below->vlog &&
                   t->posterior_rows != below->posterior_rows &&
                   t->wgram_rows != below->wgram_rows && t->ger != below->ger &&
                   t->ger_rows != below->ger_rows && t->dot_rows != below->dot_rows,
               "%s overrides every slot of %s", names[i], below->name);
        /* and its own sgemm and sparse row loops (topk_rows and gather_rows: AVX-512's only) */
        tap_ok(t->sgemm != ref->sgemm && t->softmax_rows != below->softmax_rows &&
                   t->act_forward != below->act_forward && t->act_backward != below->act_backward &&
                   t->combine_rows != below->combine_rows && t->combine_back != below->combine_back &&
                   (i == 1 || t->topk_rows != ref->topk_rows),
               "%s has its own sgemm, softmax_rows, act_forward/backward, combine_rows/back%s",
               names[i], i == 2 ? ", topk_rows" : "");
    }
#if defined(MOE_HAVE_AVX2_KERNELS)
    tap_ok((moe_kernels_find("avx2", NULL) != NULL) == moe_kernels_cpu_has_avx2(),
           "avx2 is available exactly when CPUID and XCR0 say so");
#endif
#if defined(MOE_HAVE_AVX512_KERNELS)
    tap_ok((moe_kernels_find("avx512", NULL) != NULL) == moe_kernels_cpu_has_avx512(),
           "avx512 is available exactly when CPUID and XCR0 say so");
#endif
    tap_ok(moe_kernels_cpu_has_avx2() || !moe_kernels_cpu_has_avx512(),
           "AVX-512 support implies AVX2 support");
    why = NULL;
    tap_ok(moe_kernels_find("sse9", &why) == NULL && why && strstr(why, "unknown"),
           "an unknown name is refused: %s", why ? why : "(no reason)");
    const char *env = getenv("MOE_ARCH");
    if (env && *env) {
        tap_ok(strcmp(kt->name, env) == 0, "MOE_ARCH=%s selects %s", env, kt->name);
    } else {
        const char *best = moe_kernels_find("avx512", NULL) ? "avx512"
                           : moe_kernels_find("avx2", NULL) ? "avx2" : "ref";
        tap_ok(strcmp(kt->name, best) == 0, "without MOE_ARCH the best set is used (%s)",
               kt->name);
    }
    moe_error err = {0};
    tap_int(moe_kernels_init(&err), MOE_SUCCESS, "moe_kernels_init accepts this choice");
    tap_ok(strcmp(moe_kernels_name(), kt->name) == 0, "moe_kernels_name says %s",
           moe_kernels_name());
}

/* C = BETA C + op(A) op(B) for one shape, both kernel sets against a double product */
static void sgemm_case(int ta, int tb, size_t m, size_t n, size_t k, float beta, float *work,
                       double *worst)
{
    size_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
    size_t na = (ta ? k : m) * lda + 1, nb = (tb ? n : k) * ldb + 1, nc = m * ldc + 1;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c),
          *c0 = malloc(nc * sizeof *c0);
    for (size_t j = 0; j < na; j++)
        a[j] = (float)unif(-1, 1);
    for (size_t j = 0; j < nb; j++)
        b[j] = (float)unif(-1, 1);
    for (size_t j = 0; j < nc; j++)
        c0[j] = (float)unif(-1, 1);
    const moe_kernels *sets[2] = {ref, kt};
    for (int q = 0; q < 2; q++) {
        memcpy(c, c0, nc * sizeof *c);
        sets[q]->sgemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, work);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < ldc; j++) {
                if (j >= n) {   /* past the row's N columns: untouched */
                    if (c[i * ldc + j] != c0[i * ldc + j])
                        *worst = INFINITY;
                    continue;
                }
                double exact = beta != 0 ? c0[i * ldc + j] : 0, mag = 0;
                for (size_t p = 0; p < k; p++) {
                    double t = (double)(ta ? a[p * lda + i] : a[i * lda + p]) *
                               (tb ? b[j * ldb + p] : b[p * ldb + j]);
                    exact += t;
                    mag += fabs(t);
                }
                double bound = MOE_KERNELS_SGEMM_TOL * ((double)k + 1) * (mag + fabs(exact));
                double e = fabs(c[i * ldc + j] - exact) / (bound > 0 ? bound : 1);
                if (!(e <= *worst))
                    *worst = e;
            }
        if (c[nc - 1] != c0[nc - 1])
            *worst = INFINITY;
    }
    free(a);
    free(b);
    free(c);
    free(c0);
}

static void test_sgemm(void)
{
    float *work = malloc(MOE_KERNELS_SGEMM_WORK * sizeof *work);
    static const size_t dims[] = {0, 1, 7, 33};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bi = 0; bi < 2; bi++) {
                double worst = 0;
                for (size_t x = 0; x < 4; x++)
                    for (size_t y = 0; y < 4; y++)
                        for (size_t z = 0; z < 4; z++)
                            sgemm_case(ta, tb, dims[x], dims[y], dims[z], (float)bi, work,
                                       &worst);
                /* blocks: K past KC, N past NC, M not a multiple of 8 */
                sgemm_case(ta, tb, 19, MOE_KERNELS_SGEMM_NC + 37, MOE_KERNELS_SGEMM_KC + 45,
                           (float)bi, work, &worst);
                tap_ok(worst <= 1, "sgemm ta=%d tb=%d beta=%d: ref and %s within the bound "
                       "(worst %.3g of it) and nothing written past N", ta, tb, bi, kt->name,
                       worst);
            }
    free(work);
}

/* ---------------------------------------------------------------- the sparse layer's slots */

static const size_t sp_rows[] = {0, 1, 7, 33};   /* N: rows or tokens */
static const size_t sp_widths[] = {1, 2, 7, 16, 17, 33};   /* E or D: one lane, a tail, pieces */
#define SP_NR (sizeof sp_rows / sizeof *sp_rows)
#define SP_NW (sizeof sp_widths / sizeof *sp_widths)
#define FSENT 4321.5f

static void fill_f(float *v, size_t n, double lo, double hi)
{
    for (size_t j = 0; j < n; j++)
        v[j] = (float)unif(lo, hi);
}

/* the exps below e^-87 that ISA versions may take as 0 (kernels.h): P's absolute allowance */
#define SOFTMAX_ABS 1.7e-38

/* softmax_rows: P relative (plus SOFTMAX_ABS) and LSE times 1 + |LSE|
 * against ref; ref's LSE against a long-double log-sum-exp (TOL_SUM is far looser than its
 * float rounding) and its rows summing to 1 within float rounding */
static void test_softmax_rows(void)
{
    size_t cap = 33 * 33;
    float *h = malloc(cap * sizeof *h), *p0 = malloc((cap + 1) * sizeof *p0),
          *p1 = malloc((cap + 1) * sizeof *p1), l0[34], l1[34];
    for (size_t a = 0; a < SP_NR; a++)
        for (size_t b = 0; b < SP_NW; b++) {
            size_t n = sp_rows[a], e = sp_widths[b];
            fill_f(h, n * e, -8, 8);
            for (size_t r = 2; r < n; r += 3)   /* rows spread wide: exps under e^-87 */
                for (size_t i = 0; i < e; i++)
                    h[r * e + i] = (float)unif(-150, 30);
            p0[n * e] = p1[n * e] = FSENT;
            l0[n] = l1[n] = FSENT;
            ref->softmax_rows(n, e, h, p0, l0);
            kt->softmax_rows(n, e, h, p1, l1);
            double worst = 0, lworst = 0, rworst = 0, sworst = 0;
            for (size_t r = 0; r < n; r++) {
                long double mx = h[r * e], s = 0, ps = 0;
                for (size_t i = 0; i < e; i++)
                    mx = h[r * e + i] > mx ? h[r * e + i] : mx;
                for (size_t i = 0; i < e; i++) {
                    size_t j = r * e + i;
                    double err = fabs((double)p1[j] - p0[j]) /
                                 (MOE_KERNELS_SOFTMAX_TOL * p0[j] + SOFTMAX_ABS);
                    worst = fmax(worst, err);
                    s += expl((long double)h[j] - mx);
                    ps += p0[j];
                }
                long double lse = mx + logl(s);
                lworst = fmax(lworst, fabs((double)l1[r] - l0[r]) /
                                          (MOE_KERNELS_SOFTMAX_TOL * (1 + fabs(l0[r]))));
                rworst = fmax(rworst, (double)fabsl(l0[r] - lse) / (1 + (double)fabsl(lse)));
                sworst = fmax(sworst, (double)fabsl(ps - 1));
            }
            int ok = worst <= 1 && lworst <= 1 && p1[n * e] == FSENT && l1[n] == FSENT;
            tap_ok(ok, "%s softmax_rows n = %zu, E = %zu: P and LSE within "
                   "MOE_KERNELS_SOFTMAX_TOL of ref (worst %.2g, %.2g of it), nothing past the end",
                   kt->name, n, e, worst, lworst);
            tap_ok(rworst <= 2 * FLT_EPSILON && sworst <= (double)e * FLT_EPSILON,
                   "ref softmax_rows n = %zu, E = %zu: LSE within 2 float eps of long double "
                   "(%.2g), rows sum to 1 (%.2g)", n, e, rworst, sworst);
        }
    free(h);
    free(p0);
    free(p1);
}

/* topk_rows: equal to ref; ref equal to a selection written here (the largest value left,
 * the lowest index among equals), on rows with many ties */
static void test_topk_rows(void)
{
    static const size_t es[] = {1, 2, 7, 16, 17, 33, 256};
    float *h = malloc(33 * 256 * sizeof *h);
    size_t *i0 = malloc((33 * 257 + 1) * sizeof *i0), *i1 = malloc((33 * 257 + 1) * sizeof *i1);
    for (size_t a = 0; a < SP_NR; a++)
        for (size_t b = 0; b < sizeof es / sizeof *es; b++) {
            size_t n = sp_rows[a], e = es[b];
            for (size_t j = 0; j < n * e; j++)   /* few distinct values: ties everywhere */
                h[j] = (j / e) % 2 ? (float)gsl_rng_uniform_int(rng, 4) : (float)unif(-3, 3);
            size_t ms[] = {1, e > 1 ? 2 : 1, e > 2 ? 3 : e, e};
            int same = 1, sel = 1;
            for (size_t q = 0; q < 4; q++) {
                size_t m = ms[q];
                i0[n * m] = i1[n * m] = 777;
                ref->topk_rows(n, e, m, h, i0);
                kt->topk_rows(n, e, m, h, i1);
                same &= memcmp(i0, i1, (n * m + 1) * sizeof *i0) == 0;
                for (size_t r = 0; r < n; r++) {
                    unsigned char used[256] = {0};
                    for (size_t s = 0; s < m; s++) {
                        size_t best = SIZE_MAX;
                        for (size_t i = 0; i < e; i++)
                            if (!used[i] && (best == SIZE_MAX || h[r * e + i] > h[r * e + best]))
                                best = i;
                        used[best] = 1;
                        sel &= i0[r * m + s] == best;
                    }
                }
            }
            tap_ok(same, "%s topk_rows n = %zu, E = %zu, M = 1, 2, 3, E: equal to ref, nothing "
                   "past the end", kt->name, n, e);
            tap_ok(sel, "ref topk_rows n = %zu, E = %zu: the largest first, ties to the lower "
                   "index", n, e);
        }
    free(h);
    free(i0);
    free(i1);
}

/* gather_rows: rows copied from their tokens (equal to ref and to the source rows) */
static void test_gather_rows(void)
{
    for (size_t a = 0; a < SP_NR; a++)
        for (size_t b = 0; b < SP_NW; b++) {
            size_t n = sp_rows[a], d = sp_widths[b], nt = 5;
            float *x = malloc(nt * d * sizeof *x), *g0 = malloc((n * d + 1) * sizeof *g0),
                  *g1 = malloc((n * d + 1) * sizeof *g1);
            size_t *tok = malloc((n + 1) * sizeof *tok);
            fill_f(x, nt * d, -1, 1);
            for (size_t r = 0; r < n; r++)
                tok[r] = gsl_rng_uniform_int(rng, nt);
            g0[n * d] = g1[n * d] = FSENT;
            ref->gather_rows(n, d, x, tok, g0);
            kt->gather_rows(n, d, x, tok, g1);
            int ok = memcmp(g0, g1, (n * d + 1) * sizeof *g0) == 0;
            for (size_t r = 0; r < n; r++)
                ok &= memcmp(g0 + r * d, x + tok[r] * d, d * sizeof *x) == 0;
            tap_ok(ok, "%s gather_rows n = %zu, d = %zu: the tokens' rows, equal to ref",
                   kt->name, n, d);
            free(x);
            free(g0);
            free(g1);
            free(tok);
        }
}

/* act_forward / act_backward: ReLU equal to ref bit for bit (with -0 and NaN inputs), GELU
 * within MOE_KERNELS_GELU_TOL (1 + |a|); ref's GELU against x Phi(x) from erfc (an
 * independent libm formula) and its derivative against a central difference of it */
static void test_activation(void)
{
    static const size_t ns[] = {0, 1, 7, 33, 1000};
    float *a = malloc(1001 * sizeof *a), *y0 = malloc(1001 * sizeof *y0),
          *y1 = malloc(1001 * sizeof *y1), *g = malloc(1001 * sizeof *g);
    for (size_t q = 0; q < sizeof ns / sizeof *ns; q++) {
        size_t n = ns[q];
        fill_f(a, n, -10, 10);
        for (size_t j = 0; j < n; j += 9)
            a[j] = (float)unif(-1, 1) * 1e-3f;   /* near 0 */
        fill_f(g, n, -1, 1);
        for (int act = 0; act < 2; act++) {
            moe_sparse_activation ac = act ? MOE_SPARSE_GELU : MOE_SPARSE_RELU;
            if (!act && n > 3) {
                a[1] = -0.0f;
                a[2] = NAN;
            }
            double fw = 0, bw = 0;
            int same = 1;
            for (int dir = 0; dir < 2; dir++) {
                y0[n] = y1[n] = FSENT;
                if (dir == 0) {
                    ref->act_forward(ac, n, a, y0);
                    kt->act_forward(ac, n, a, y1);
                } else {
                    memcpy(y0, g, n * sizeof *g);
                    memcpy(y1, g, n * sizeof *g);
                    ref->act_backward(ac, n, a, y0);
                    kt->act_backward(ac, n, a, y1);
                }
                same &= memcmp(y0, y1, (n + 1) * sizeof *y0) == 0;
                for (size_t j = 0; j < n; j++) {
                    double err = fabs((double)y1[j] - y0[j]) /
                                 (MOE_KERNELS_GELU_TOL * (1 + fabs(a[j])) * (dir ? fabs(g[j]) : 1));
                    if (dir)
                        bw = fmax(bw, err);
                    else
                        fw = fmax(fw, err);
                }
                same &= y1[n] == FSENT;
            }
            if (!act) {
                tap_ok(same, "%s act relu n = %zu: forward and backward equal to ref (-0, NaN "
                       "included)", kt->name, n);
                continue;
            }
            tap_ok(fw <= 1 && bw <= 1 && y1[n] == FSENT, "%s act gelu n = %zu: forward, backward "
                   "within MOE_KERNELS_GELU_TOL (1 + |a|) of ref (worst %.2g, %.2g of it)",
                   kt->name, n, fw, bw);
            double rf = 0, rb = 0;
            for (size_t j = 0; j < n; j++) {
                double v = a[j], hh = 1e-3;
                float one = 1, gp;
                ref->act_forward(ac, 1, a + j, &gp);
                double want = v * 0.5 * erfc(-v / sqrt(2.0));
                rf = fmax(rf, fabs(gp - want) / (1 + fabs(v)));
                ref->act_backward(ac, 1, a + j, &one);
                double f1 = (v + hh) * 0.5 * erfc(-(v + hh) / sqrt(2.0)),
                       f0 = (v - hh) * 0.5 * erfc(-(v - hh) / sqrt(2.0));
                rb = fmax(rb, fabs(one - (f1 - f0) / (2 * hh)));
            }
            tap_ok(rf <= FLT_EPSILON && rb <= 1e-6, "ref act gelu n = %zu: x Phi(x) to float "
                   "rounding (%.2g), its derivative to a central difference (%.2g)", n, rf, rb);
        }
    }
    free(a);
    free(y0);
    free(y1);
    free(g);
}

/* combine_rows and combine_back on N tokens of K assignments into a grouped array, a quarter
 * of them dropped: Y and DOUT equal to ref bit for bit (and a dropped row of DOUT untouched),
 * DW within MOE_KERNELS_DOT_TOL sum |dy out|; ref's Y against a double sum (float rounding
 * of each of the K adds) */
static void test_combine(void)
{
    static const size_t ks[] = {1, 2, 4};
    for (size_t a = 0; a < SP_NR; a++)
        for (size_t b = 0; b < SP_NW; b++)
            for (size_t c = 0; c < 3; c++) {
                size_t n = sp_rows[a], d = sp_widths[b], k = ks[c], na = n * k;
                size_t *row = malloc((na + 1) * sizeof *row);
                float *w = malloc((na + 1) * sizeof *w), *out = malloc((na * d + 1) * sizeof *out),
                      *dy = malloc((n * d + 1) * sizeof *dy);
                float *y0 = malloc((n * d + 1) * sizeof *y0), *y1 = malloc((n * d + 1) * sizeof *y1),
                      *g0 = malloc((na * d + 1) * sizeof *g0), *g1 = malloc((na * d + 1) * sizeof *g1),
                      *w0 = malloc((na + 1) * sizeof *w0), *w1 = malloc((na + 1) * sizeof *w1);
                /* a permutation of the grouped rows, every fourth assignment dropped */
                for (size_t j = 0; j < na; j++)
                    row[j] = j;
                for (size_t j = na; j > 1; j--) {
                    size_t i = gsl_rng_uniform_int(rng, j), tmp = row[j - 1];
                    row[j - 1] = row[i];
                    row[i] = tmp;
                }
                for (size_t j = 3; j < na; j += 4)
                    row[j] = SIZE_MAX;
                fill_f(w, na, 0, 1);
                fill_f(out, na * d, -2, 2);
                fill_f(dy, n * d, -1, 1);
                int same = 1, untouched = 1;
                double yworst = 0, dworst = 0;
                for (int wn = 0; wn < 2; wn++) {
                    const float *ww = wn ? NULL : w;
                    y0[n * d] = y1[n * d] = FSENT;
                    ref->combine_rows(n, k, d, row, ww, out, y0);
                    kt->combine_rows(n, k, d, row, ww, out, y1);
                    same &= memcmp(y0, y1, (n * d + 1) * sizeof *y0) == 0;
                    for (size_t t = 0; t < n; t++)
                        for (size_t j = 0; j < d; j++) {
                            double s = 0, mag = 0;
                            for (size_t q = 0; q < k; q++) {
                                size_t r = row[t * k + q];
                                if (r == SIZE_MAX)
                                    continue;
                                double term = (ww ? (double)ww[t * k + q] : 1) * out[r * d + j];
                                s += term;
                                mag += fabs(term);
                            }
                            yworst = fmax(yworst, fabs(y0[t * d + j] - s) /
                                                      ((double)(k + 1) * FLT_EPSILON * mag + FLT_MIN));
                        }
                }
                for (size_t j = 0; j <= na * d; j++)
                    g0[j] = g1[j] = FSENT;
                w0[na] = w1[na] = FSENT;
                ref->combine_back(n, k, d, row, w, dy, out, g0, w0);
                kt->combine_back(n, k, d, row, w, dy, out, g1, w1);
                same &= memcmp(g0, g1, (na * d + 1) * sizeof *g0) == 0 && w1[na] == FSENT;
                for (size_t t = 0; t < n; t++)
                    for (size_t q = 0; q < k; q++) {
                        size_t r = row[t * k + q];
                        if (r == SIZE_MAX) {
                            untouched &= w0[t * k + q] == 0 && w1[t * k + q] == 0;
                            continue;
                        }
                        double mag = 0, s = 0;
                        for (size_t j = 0; j < d; j++) {
                            mag += fabs((double)dy[t * d + j] * out[r * d + j]);
                            s += (double)dy[t * d + j] * out[r * d + j];
                            same &= g0[r * d + j] == w[t * k + q] * dy[t * d + j];
                        }
                        dworst = fmax(dworst, fabs((double)w1[t * k + q] - w0[t * k + q]) /
                                                  (MOE_KERNELS_DOT_TOL * mag + FLT_MIN));
                        dworst = fmax(dworst, fabs((double)w0[t * k + q] - s) /
                                                  (MOE_KERNELS_DOT_TOL * mag + FLT_MIN));
                    }
                unsigned char *named = calloc(na + 1, 1);   /* grouped rows a kept one names */
                for (size_t j = 0; j < na; j++)
                    if (row[j] != SIZE_MAX)
                        named[row[j]] = 1;
                for (size_t r = 0; r < na; r++)
                    for (size_t i = 0; i < d && !named[r]; i++)
                        untouched &= g1[r * d + i] == FSENT && g0[r * d + i] == FSENT;
                free(named);
                tap_ok(same && untouched && yworst <= 1 && dworst <= 1,
                       "%s combine n = %zu, d = %zu, k = %zu: y and d out equal to ref, d w within "
                       "MOE_KERNELS_DOT_TOL sum |dy out| (worst %.2g of it), dropped ones 0; ref's y "
                       "to float rounding (%.2g)", kt->name, n, d, k, dworst, yworst);
                free(row);
                free(w);
                free(out);
                free(dy);
                free(y0);
                free(y1);
                free(g0);
                free(g1);
                free(w0);
                free(w1);
            }
}

int main(void)
{
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 14);
    kt = moe_kernels_get();
    ref = moe_kernels_find("ref", NULL);
    if (!ref) {
        printf("Bail out! no reference kernel set\n");
        return 99;
    }
    printf("# kernel set under test: %s\n", kt->name);
    test_dispatch();
    test_vexp();
    test_vtanh();
    test_vlog();
    test_posterior();
    test_wgram();
    test_ger();
    test_ger_rows();
    test_dot_rows();
    test_sgemm();
    test_softmax_rows();
    test_topk_rows();
    test_gather_rows();
    test_activation();
    test_combine();
    gsl_rng_free(rng);
    return tap_done();
}
