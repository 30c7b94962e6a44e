/* error.h: internal helpers to fill a moe_error (the library's only way to report). */
#ifndef MOE_CORE_ERROR_H
#define MOE_CORE_ERROR_H

#include "moe.h"

/* Sets ERR (if not NULL) to STATUS with a printf-style message; returns STATUS so that a
 * caller can write `return moe_error_set(err, MOE_EINVAL, "k must be >= 1");`. */
int moe_error_set(moe_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same with a position: the message becomes "FILE:LINE:COLUMN: text" (LINE or COLUMN 0
 * leaves that part out) and the fields file, line and column are filled. */
int moe_error_at(moe_error *err, int status, const char *file, size_t line, size_t column,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Clears ERR to MOE_SUCCESS. */
void moe_error_clear(moe_error *err);

/* Turns GSL's default error handler (which prints and aborts) off, once per process; every
 * library entry point that reaches GSL calls it first, and every GSL return is checked. */
void moe_core_init(void);

#endif
