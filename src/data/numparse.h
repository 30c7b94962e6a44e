/* numparse.h: fast, correctly rounded parsing of one CSV cell into a double (internal).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_DATA_NUMPARSE_H
#define MOE_DATA_NUMPARSE_H

#include <stddef.h>

/* What a cell holds. Everything but MOE_NUM_OK is a "bad cell" stored as NaN. */
enum moe_num_kind {
    MOE_NUM_OK = 0,     /* a finite number (underflow to 0 or a subnormal is fine) */
    MOE_NUM_MISSING,    /* empty, NA, NaN, nan, N/A, NULL, "." */
    MOE_NUM_TEXT,       /* anything else that is not a number */
    MOE_NUM_INF,        /* inf, Inf, -Inf, infinity */
    MOE_NUM_OVERFLOW    /* a number too large for a double, such as 1e400 */
};

/* Parses the LEN bytes at S (no terminating NUL needed; spaces and tabs around the number
 * are allowed) as a decimal number: [+-]digits[.digits][(e|E)[+-]digits]. *OUT receives the
 * correctly rounded double (the same bits as strtod in the C locale), or NaN when the result
 * is not MOE_NUM_OK. Returns an enum moe_num_kind. Mantissas of at most 19 significant
 * digits with a decimal exponent in [-22, 22] take Clinger's exact fast path; the rest go
 * through strtod_l. */
int moe_data_parse_double(const char *s, size_t len, double *out);

/* A short description of a kind for messages ("missing value", "not a number", ...). */
const char *moe_data_kind_message(int kind);

#endif
