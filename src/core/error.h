/* error.h: internal helpers to fill a moe_error (the library's only way to report). */
#ifndef MOE_CORE_ERROR_H
#define MOE_CORE_ERROR_H

#include <stdarg.h>

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

/* Appends a printf-style message to the list *LIST of *N strings (growing it); silently
 * drops the message when out of memory (warnings must never turn a fit into a failure). */
void moe_list_vappend(char ***list, size_t *n, const char *fmt, va_list ap);

/* Frees N arrays of LIST (strings or number arrays) and LIST itself; NULL is a no-op. */
void moe_list_free(void *list, size_t n);

/* Turns GSL's default error handler (which prints and aborts) off, once per process; every
 * library entry point that reaches GSL calls it first, and every GSL return is checked. */
void moe_core_init(void);

#endif
