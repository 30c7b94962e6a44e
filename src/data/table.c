/* table.c: moe_table accessors, column look-up, and the quoting of cell text for messages.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/table.h"

size_t moe_table_nrows(const moe_table *t)
{
    return t ? t->nrows : 0;
}

size_t moe_table_ncols(const moe_table *t)
{
    return t ? t->ncols : 0;
}

const char *moe_table_colname(const moe_table *t, size_t j)
{
    return t && j < t->ncols ? t->names[j] : NULL;
}

const double *moe_table_column(const moe_table *t, size_t j)
{
    return t && j < t->ncols ? t->cols[j] : NULL;
}

void moe_table_free(moe_table *t)
{
    if (!t)
        return;
    for (size_t j = 0; j < t->ncols; j++) {
        if (t->names)
            free(t->names[j]);
        if (t->cols)
            free(t->cols[j]);
    }
    free(t->names);
    free(t->cols);
    free(t->lines);
    free(t->bad);
    free(t->name);
    free(t);
}

/* Length of the valid UTF-8 sequence of 2 to 4 bytes at S (N bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t need;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        need = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        need = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        need = 4;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (need == 3 && s[0] == 0xe0 && s[1] < 0xa0) /* overlong */
        return 0;
    if (need == 3 && s[0] == 0xed && s[1] >= 0xa0) /* surrogate */
        return 0;
    if (need == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
        return 0;
    return need;
}

void moe_data_quote(const char *s, size_t len, char *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len && i < 40) {
        size_t seq = u[i] >= 0x80 ? utf8_seq(u + i, len - i) : 0;
        if (seq && i + seq <= 40) {
            memcpy(out + o, u + i, seq);
            o += seq;
            i += seq;
        } else if (u[i] >= 0x20 && u[i] < 0x7f) {
            out[o++] = (char)u[i++];
        } else {
            static const char hex[] = "0123456789abcdef";
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[u[i] >> 4];
            out[o++] = hex[u[i] & 15];
            i++;
        }
    }
    if (i < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

void moe_table_list_names(const moe_table *t, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t j = 0; j < t->ncols; j++) {
        char q[MOE_TABLE_TEXT];
        moe_data_quote(t->names[j], strlen(t->names[j]), q);
        size_t need = strlen(q) + (j ? 2 : 0);
        if (o + need + 6 >= size) { /* room for ", ..." and the NUL */
            snprintf(out + o, size - o, "%s...", j ? ", " : "");
            return;
        }
        o += (size_t)snprintf(out + o, size - o, "%s%s", j ? ", " : "", q);
    }
}

static int no_column(const moe_table *t, const char *spec, moe_error *err)
{
    char names[640], q[MOE_TABLE_TEXT];
    moe_table_list_names(t, names, sizeof names);
    moe_data_quote(spec, strlen(spec), q);
    return moe_error_at(err, MOE_EINVAL, t->name, 0, 0, "no column '%s' (columns are: %s)", q,
                        names);
}

int moe_table_lookup_name(const moe_table *t, const char *name, size_t *col, moe_error *err)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (strcmp(t->names[j], name) == 0) {
            *col = j;
            return MOE_SUCCESS;
        }
    return no_column(t, name, err);
}

int moe_table_lookup(const moe_table *t, const char *spec, size_t *col, moe_error *err)
{
    if (!t || !spec || !col)
        return moe_error_set(err, MOE_EINVAL, "moe_table_lookup: NULL argument");
    for (size_t j = 0; j < t->ncols; j++)
        if (strcmp(t->names[j], spec) == 0) {
            *col = j;
            return MOE_SUCCESS;
        }
    /* Not a name: a 1-based index written with digits only. */
    size_t n = strlen(spec);
    if (n > 0 && n <= 18 && strspn(spec, "0123456789") == n) {
        unsigned long long v = strtoull(spec, NULL, 10);
        if (v >= 1 && v <= t->ncols) {
            *col = (size_t)v - 1;
            return MOE_SUCCESS;
        }
        return moe_error_at(err, MOE_EINVAL, t->name, 0, 0,
                            "no column %s (the columns are numbered 1 to %zu)", spec, t->ncols);
    }
    return no_column(t, spec, err);
}
