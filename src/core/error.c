/* error.c: status strings and the error-message helpers. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <pthread.h>

#include "core/error.h"

const char *moe_strerror(int status)
{
    switch (status) {
    case MOE_SUCCESS: return "success";
    case MOE_CONTINUE: return "not converged yet";
    case MOE_EINVAL: return "invalid argument";
    case MOE_ENOMEM: return "out of memory";
    case MOE_EBADLEN: return "sizes do not match";
    case MOE_ESING: return "singular matrix";
    case MOE_EMAXITER: return "iteration limit reached";
    case MOE_EFORMAT: return "malformed input";
    case MOE_EOPEN: return "cannot open input";
    case MOE_EWRITE: return "cannot write output";
    case MOE_ENUMERIC: return "numerical failure";
    case MOE_EUNAVAIL: return "required program unavailable";
    default: return "unknown status";
    }
}

const char *moe_version(void)
{
    return PACKAGE_VERSION;
}

void moe_error_clear(moe_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

int moe_error_set(moe_error *err, int status, const char *fmt, ...)
{
    if (!err)
        return status;
    memset(err, 0, sizeof *err);
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return status;
}

int moe_error_at(moe_error *err, int status, const char *file, size_t line, size_t column,
                 const char *fmt, ...)
{
    if (!err)
        return status;
    memset(err, 0, sizeof *err);
    err->status = status;
    err->line = line;
    err->column = column;
    if (file)
        snprintf(err->file, sizeof err->file, "%s", file);
    int used = 0;
    if (line && column)
        used = snprintf(err->message, sizeof err->message, "%s:%zu:%zu: ", err->file, line,
                        column);
    else if (line)
        used = snprintf(err->message, sizeof err->message, "%s:%zu: ", err->file, line);
    else if (file)
        used = snprintf(err->message, sizeof err->message, "%s: ", err->file);
    if (used < 0 || (size_t)used >= sizeof err->message)
        used = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + used, sizeof err->message - (size_t)used, fmt, ap);
    va_end(ap);
    return status;
}

static pthread_once_t gsl_once = PTHREAD_ONCE_INIT;

static void gsl_handler_off(void) { gsl_set_error_handler_off(); }

void moe_core_init(void) { (void)pthread_once(&gsl_once, gsl_handler_off); }

void moe_list_vappend(char ***list, size_t *n, const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    char **grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (!grown)
        return;
    *list = grown;
    size_t len = strlen(buf) + 1;
    char *s = malloc(len);
    if (!s)
        return;
    memcpy(s, buf, len);
    (*list)[(*n)++] = s;
}

void moe_list_free(void *list, size_t n)
{
    void **l = list;
    if (!l)
        return;
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}
