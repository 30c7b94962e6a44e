/* test_kernels.c: every slot of the kernel set in use (MOE_ARCH, or the best available) against
 * the reference set, and the reference itself against sums this test computes in long double.
 * tests/kernels.sh runs it once per kernel set this machine can run.
 *   - vexp: within MOE_KERNELS_EXP_ULP ulp of libm's exp on random points of [-707, 707], on a
 *     sweep of the whole range (-760 .. 720, through the subnormal band and overflow), and at
 *     the special values (-inf -> 0, +inf, NaN, +-0, the underflow and overflow thresholds);
 *     in place equals out of place; n = 0 writes nothing.
 *   - posterior_rows: lp and h against the reference within TOL_POST (relative, scaled by
 *     1 + |lp| because h = exp(a - lp) inherits lp's absolute error), for K = 1 .. 64 with
 *     -inf entries and rows 1e3 apart; the reference's lp against a long-double log-sum-exp
 *     and its h summing to 1.
 *   - wgram_rows, ger, ger_rows: bit-identical to the reference (memcmp) for P = 1 .. 12,
 *     strides larger than P, nonzero starting sums; the reference against long-double sums
 *     (TOL_SUM), and ref's ger_rows against N calls of its ger (bit for bit).
 *   - sgemm (float32): the set in use and the reference, for every transpose pair, BETA 0 and 1,
 *     sizes 0, 1, 7, 33 and blocks past KC and NC, within MOE_KERNELS_SGEMM_TOL K sum |a b| of
 *     a double-precision product; nothing outside C (an LDC wider than N) is written.
 * Sizes n = 0, 1, 7, 33 and larger throughout; a sentinel past the end catches overruns.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
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

/* Largest ulp error of kt->vexp over X (N values) against libm; counts special mismatches. */
static double exp_max_ulp(const double *x, size_t n, double *y, size_t *bad)
{
    kt->vexp(n, x, y);
    double mx = 0;
    for (size_t i = 0; i < n; i++) {
        double want = exp(x[i]), u;
        if (isnan(want))
            u = isnan(y[i]) ? 0 : INFINITY;
        else
            u = ulp_dist(y[i], want);
        if (u > MOE_KERNELS_EXP_ULP)
            (*bad)++;
        if (u > mx)
            mx = u;
    }
    return mx;
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
        tap_ok(strcmp(t->name, names[i]) == 0 && t->vexp && t->posterior_rows &&
                   t->wgram_rows && t->ger && t->ger_rows,
               "%s: named as asked, every slot filled", names[i]);
        if (i == 0)
            continue;
        /* each ISA file overrides every slot (so its own code is what the tests check) */
        const moe_kernels *below = i == 2 ? moe_kernels_find("avx2", NULL) : ref;
        if (!below)
            below = ref;
        tap_ok(t->vexp != below->vexp && t->posterior_rows != below->posterior_rows &&
                   t->wgram_rows != below->wgram_rows && t->ger != below->ger &&
                   t->ger_rows != below->ger_rows,
               "%s overrides every slot of %s", names[i], below->name);
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
    test_posterior();
    test_wgram();
    test_ger();
    test_ger_rows();
    test_sgemm();
    gsl_rng_free(rng);
    return tap_done();
}
