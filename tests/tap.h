/* tap.h: a tiny assertion helper in the spirit of gsl_test that speaks TAP, so that automake's
 * tap-driver counts every check. Each check prints one "ok N - ..." or "not ok N - ..." line.
 * A test program calls tap_done() at the end; its exit status is 0 only if nothing failed. */
#ifndef MOE_TESTS_TAP_H
#define MOE_TESTS_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_count = 0;
static int tap_failed = 0;

static void tap_vreport(int ok, const char *fmt, va_list ap)
{
    tap_count++;
    if (!ok)
        tap_failed++;
    printf("%sok %d - ", ok ? "" : "not ", tap_count);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

/* Passes when OK is true. */
static inline __attribute__((format(printf, 2, 3), unused)) int tap_ok(int ok, const char *fmt,
                                                                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vreport(ok, fmt, ap);
    va_end(ap);
    return ok;
}

/* Passes when |got - want| <= tol * |want| (relative), or got == want exactly for want = 0. */
static inline __attribute__((format(printf, 4, 5), unused)) int
tap_rel(double got, double want, double tol, const char *fmt, ...)
{
    int ok = isfinite(got) && (want == 0 ? got == 0 : fabs(got - want) <= tol * fabs(want));
    if (!ok)
        printf("# got %.17g, want %.17g (relative tolerance %g)\n", got, want, tol);
    va_list ap;
    va_start(ap, fmt);
    tap_vreport(ok, fmt, ap);
    va_end(ap);
    return ok;
}

/* Passes when |got - want| <= tol (absolute). */
static inline __attribute__((format(printf, 4, 5), unused)) int
tap_abs(double got, double want, double tol, const char *fmt, ...)
{
    int ok = isfinite(got) && fabs(got - want) <= tol;
    if (!ok)
        printf("# got %.17g, want %.17g (absolute tolerance %g)\n", got, want, tol);
    va_list ap;
    va_start(ap, fmt);
    tap_vreport(ok, fmt, ap);
    va_end(ap);
    return ok;
}

/* Passes when two integers are equal. */
static inline __attribute__((format(printf, 3, 4), unused)) int tap_int(long got, long want,
                                                                        const char *fmt, ...)
{
    int ok = got == want;
    if (!ok)
        printf("# got %ld, want %ld\n", got, want);
    va_list ap;
    va_start(ap, fmt);
    tap_vreport(ok, fmt, ap);
    va_end(ap);
    return ok;
}

/* Prints the plan and returns the exit status for main(). */
static inline __attribute__((unused)) int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
