/* numparse.c: fast, correctly rounded decimal-to-double parsing for the CSV reader.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Clinger's fast path (W. D. Clinger, "How to read floating point numbers accurately",
 * PLDI 1990): when the decimal mantissa M is an integer below 2^53 and the exponent E
 * satisfies |E| <= 22, both M and 10^|E| are exact doubles, so the single IEEE
 * multiplication or division M * 10^E (resp. M / 10^-E) is correctly rounded. Mantissas up
 * to 2^64 (19 digits, as %.17g writes them) with |E| <= 27 are computed exactly in 128-bit
 * integers and rounded once (parse_wide). Every other input goes to strtod_l in the C
 * locale, so results are always correctly rounded. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* strtod_l, newlocale */
#endif
#include <config.h>

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/numparse.h"

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#ifdef __SIZEOF_INT128__
typedef unsigned __int128 u128;

static const uint64_t pow5[28] = {
    1ULL, 5ULL, 25ULL, 125ULL, 625ULL, 3125ULL, 15625ULL, 78125ULL, 390625ULL, 1953125ULL,
    9765625ULL, 48828125ULL, 244140625ULL, 1220703125ULL, 6103515625ULL, 30517578125ULL,
    152587890625ULL, 762939453125ULL, 3814697265625ULL, 19073486328125ULL,
    95367431640625ULL, 476837158203125ULL, 2384185791015625ULL, 11920928955078125ULL,
    59604644775390625ULL, 298023223876953125ULL, 1490116119384765625ULL,
    7450580596923828125ULL};

static int bitlen128(u128 v)
{
    uint64_t hi = (uint64_t)(v >> 64);
    return hi ? 128 - __builtin_clzll(hi) : 64 - __builtin_clzll((uint64_t)v);
}

/* Rounds V * 2^E2 to the nearest double, ties to even; STICKY says that nonzero bits
 * below V were cut off (they break a tie upwards). V != 0; the result is a normal double
 * in the range used here (1e-27 to 1e47). */
static double round128(u128 v, int e2, int sticky)
{
    int nb = bitlen128(v);
    if (nb <= 53 && !sticky)
        return ldexp((double)(uint64_t)v, e2);
    int shift = nb - 53; /* >= 1 when sticky: v then has >= 64 bits */
    uint64_t mant = (uint64_t)(v >> shift);
    u128 rem = v & (((u128)1 << shift) - 1), half = (u128)1 << (shift - 1);
    if (rem > half || (rem == half && (sticky || (mant & 1))))
        mant++;
    if (mant == (UINT64_C(1) << 53)) {
        mant >>= 1;
        shift++;
    }
    return ldexp((double)mant, e2 + shift);
}

/* Exact for any M < 2^64 and |E10| <= 27, by integer arithmetic in 128 bits:
 * M * 10^E = (M * 5^E) * 2^E, and M * 5^E < 2^64 * 2^63 fits; M / 10^K = (M * 2^S / 5^K)
 * * 2^(-S-K) with the quotient of at least 64 bits and the remainder as a sticky bit. */
static int parse_wide(uint64_t m, int e10, int neg, double *out)
{
    double v;
    if (e10 >= 0) {
        v = round128((u128)m * pow5[e10], e10, 0);
    } else {
        int s = 64 + __builtin_clzll(m); /* the top bit of m moves to bit 127 */
        u128 n = (u128)m << s, d = pow5[-e10];
        u128 q = n / d;
        v = round128(q, -s + e10, n % d != 0);
    }
    *out = neg ? -v : v;
    return MOE_NUM_OK;
}
#endif

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive comparison of [S, S+LEN) with the lower-case word W. */
static int word_is(const char *s, size_t len, const char *w)
{
    size_t n = strlen(w);
    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != w[i])
            return 0;
    return 1;
}

/* The kind of a cell that is not a plain number: a missing-value token, an infinity, or
 * text. */
static int classify_word(const char *s, size_t len)
{
    if (len == 0 || word_is(s, len, ".") || word_is(s, len, "na") || word_is(s, len, "n/a") ||
        word_is(s, len, "null"))
        return MOE_NUM_MISSING;
    const char *t = s;
    size_t n = len;
    if (*t == '+' || *t == '-') {
        t++;
        n--;
    }
    if (word_is(t, n, "nan"))
        return MOE_NUM_MISSING;
    if (word_is(t, n, "inf") || word_is(t, n, "infinity"))
        return MOE_NUM_INF;
    return MOE_NUM_TEXT;
}

/* The slow path: strtod in the C locale on a NUL-terminated copy. */
static int parse_slow(const char *s, size_t len, double *out)
{
    char small[128];
    char *buf = small;
    if (len >= sizeof small) {
        buf = malloc(len + 1);
        if (!buf) { /* cannot happen in practice; a wrong NaN is better than a crash */
            *out = NAN;
            return MOE_NUM_TEXT;
        }
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    double v;
    locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_locale) {
        v = strtod_l(buf, &end, c_locale);
        freelocale(c_locale);
    } else {
        v = strtod(buf, &end);
    }
    int complete = end == buf + len;
    if (buf != small)
        free(buf);
    if (!complete) { /* the syntax was checked already: only a foreign locale gets here */
        *out = NAN;
        return MOE_NUM_TEXT;
    }
    if (isinf(v)) {
        *out = NAN;
        return MOE_NUM_OVERFLOW;
    }
    *out = v;
    return MOE_NUM_OK;
}

/* Appends the run of digits at *P (up to END) to the mantissa *M, which keeps at most 19
 * significant digits (counted in *ND, so that *M < 10^19 < 2^64); a digit past those sets
 * *TRUNCATED. Moves *P past the run and returns how many of its digits came before the cut,
 * leading zeros included: in a fraction, the amount to lower the exponent by. Inline and on
 * local copies, so that both uses compile to the same loop as when it was written out twice. */
static inline long take_digits(const char **p, const char *end, uint64_t *m, int *nd,
                               int *truncated)
{
    const char *q = *p;
    uint64_t mm = *m;
    int n = *nd;
    long before_cut = 0;
    while (q < end && (unsigned)(*q - '0') < 10) {
        unsigned d = (unsigned)(*q - '0');
        if (n < 19) {
            if (mm || d) {
                mm = mm * 10 + d;
                n++;
            }
            before_cut++;
        } else {
            *truncated = 1;
        }
        q++;
    }
    *p = q;
    *m = mm;
    *nd = n;
    return before_cut;
}

int moe_data_parse_double(const char *s, size_t len, double *out)
{
    const char *p = s, *end = s + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    const char *start = p;
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    uint64_t m = 0;      /* significant digits taken so far */
    int nd = 0;          /* how many (at most 19, so m < 10^19 < 2^64) */
    int truncated = 0;   /* a digit did not fit in m */
    long e10 = 0;        /* decimal exponent of m's last digit */
    const char *digits = p;
    take_digits(&p, end, &m, &nd, &truncated);
    int any = p != digits; /* saw a digit in the mantissa */
    if (p < end && *p == '.') {
        digits = ++p;
        e10 -= take_digits(&p, end, &m, &nd, &truncated);
        any |= p != digits;
    }
    if (!any) {
        *out = NAN;
        return classify_word(start, (size_t)(end - start));
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p == end || (unsigned)(*p - '0') >= 10) {
            *out = NAN;
            return MOE_NUM_TEXT;
        }
        long ev = 0;
        while (p < end && (unsigned)(*p - '0') < 10) {
            if (ev < 100000000L)
                ev = ev * 10 + (*p - '0');
            p++;
        }
        e10 += eneg ? -ev : ev;
    }
    if (p != end) {
        *out = NAN;
        return MOE_NUM_TEXT;
    }
    if (truncated)
        return parse_slow(start, (size_t)(end - start), out);
    if (m == 0) {
        *out = neg ? -0.0 : 0.0;
        return MOE_NUM_OK;
    }
    if (m <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
        double v = (double)m;
        v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
        *out = neg ? -v : v;
        return MOE_NUM_OK;
    }
#ifdef __SIZEOF_INT128__
    if (e10 >= -27 && e10 <= 27)
        return parse_wide(m, (int)e10, neg, out);
#endif
    return parse_slow(start, (size_t)(end - start), out);
}

const char *moe_data_kind_message(int kind)
{
    switch (kind) {
    case MOE_NUM_OK: return "a number";
    case MOE_NUM_MISSING: return "missing value";
    case MOE_NUM_INF: return "infinite value";
    case MOE_NUM_OVERFLOW: return "number overflows a double";
    default: return "not a number";
    }
}
