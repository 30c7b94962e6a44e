/* table_pack.c: a table's rows as one flat byte buffer (moe_table_pack) and the table made
 * of several such buffers in order (moe_table_join_packed), so that parts of one CSV file
 * read by different processes (moe_table_read_csv_range) can be sent and joined into the
 * table one reader of the whole file would have made: rows, their lines, and each column's
 * first bad cell with the count of all.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Layout (native byte order: the processes share one machine type): nrows and ncols as
 * uint64, then ncols columns of nrows doubles, nrows lines as uint64, and ncols bad-cell
 * records (count, line, kind as uint64, then the text, MOE_TABLE_TEXT bytes). The names are
 * not packed: every part has read the same header. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/table.h"

#define BAD_BYTES (3 * sizeof(uint64_t) + MOE_TABLE_TEXT)

static size_t packed_size(size_t nrows, size_t ncols)
{
    return 2 * sizeof(uint64_t) + nrows * ncols * sizeof(double) + nrows * sizeof(uint64_t) +
           ncols * BAD_BYTES;
}

static void put_u64(unsigned char **p, size_t v)
{
    uint64_t u = v;
    memcpy(*p, &u, sizeof u);
    *p += sizeof u;
}

static size_t get_u64(const unsigned char **p)
{
    uint64_t u;
    memcpy(&u, *p, sizeof u);
    *p += sizeof u;
    return (size_t)u;
}

int moe_table_pack(const moe_table *t, void **buf, size_t *len, moe_error *err)
{
    if (!t || !buf || !len)
        return moe_error_set(err, MOE_EINVAL, "moe_table_pack: NULL argument");
    size_t n = t->nrows, nc = t->ncols, size = packed_size(n, nc);
    unsigned char *b = malloc(size), *p = b;
    if (!b)
        return moe_error_set(err, MOE_ENOMEM, "out of memory packing %zu rows", n);
    put_u64(&p, n);
    put_u64(&p, nc);
    for (size_t j = 0; j < nc; j++, p += n * sizeof(double))
        if (n)
            memcpy(p, t->cols[j], n * sizeof(double));
    for (size_t r = 0; r < n; r++)
        put_u64(&p, t->lines[r]);
    for (size_t j = 0; j < nc; j++) {
        put_u64(&p, t->bad[j].count);
        put_u64(&p, t->bad[j].line);
        put_u64(&p, (size_t)t->bad[j].kind);
        memcpy(p, t->bad[j].text, MOE_TABLE_TEXT);
        p += MOE_TABLE_TEXT;
    }
    *buf = b;
    *len = size;
    return MOE_SUCCESS;
}

int moe_table_join_packed(const moe_table *like, const void *bufs, const size_t *lens,
                          size_t nparts, moe_table **out, moe_error *err)
{
    if (out)
        *out = NULL;
    if (!like || !bufs || !lens || !out || nparts == 0)
        return moe_error_set(err, MOE_EINVAL, "moe_table_join_packed: bad argument");
    size_t nc = like->ncols, total = 0;
    const unsigned char *p = bufs;
    for (size_t i = 0; i < nparts; p += lens[i++]) {
        const unsigned char *q = p;
        size_t n = lens[i] >= 2 * sizeof(uint64_t) ? get_u64(&q) : 0;
        if (lens[i] < 2 * sizeof(uint64_t) || get_u64(&q) != nc ||
            lens[i] != packed_size(n, nc))
            return moe_error_set(err, MOE_EINVAL, "moe_table_join_packed: part %zu is not a "
                                 "packed table of %zu columns", i + 1, nc);
        total += n;
    }
    if (total == 0)
        return moe_error_at(err, MOE_EFORMAT, like->name, like->header_line, 0,
                            "a header but no data rows");
    moe_table *t = calloc(1, sizeof *t);
    int ok = t && (t->name = strdup(like->name)) && (t->names = calloc(nc, sizeof *t->names)) &&
             (t->cols = calloc(nc, sizeof *t->cols)) && (t->bad = calloc(nc, sizeof *t->bad)) &&
             (t->lines = malloc(total * sizeof *t->lines));
    if (ok) {
        t->ncols = nc;
        t->header_line = like->header_line;
        for (size_t j = 0; j < nc && ok; j++)
            ok = (t->names[j] = strdup(like->names[j])) &&
                 (t->cols[j] = malloc(total * sizeof *t->cols[j]));
    }
    if (!ok) {
        moe_table_free(t);
        return moe_error_set(err, MOE_ENOMEM, "out of memory joining %zu rows", total);
    }
    p = bufs;
    for (size_t i = 0, row = 0; i < nparts; p += lens[i++]) {
        const unsigned char *q = p;
        size_t n = get_u64(&q);
        q += sizeof(uint64_t);  /* ncols, checked above */
        for (size_t j = 0; j < nc; j++, q += n * sizeof(double))
            memcpy(t->cols[j] + row, q, n * sizeof(double));
        for (size_t r = 0; r < n; r++)
            t->lines[row + r] = get_u64(&q);
        for (size_t j = 0; j < nc; j++) {
            moe_table_bad b;
            b.count = get_u64(&q);
            b.line = get_u64(&q);
            b.kind = (int)get_u64(&q);
            memcpy(b.text, q, MOE_TABLE_TEXT);
            q += MOE_TABLE_TEXT;
            if (b.count && t->bad[j].count == 0) {  /* the first part with one has the first */
                t->bad[j] = b;
            } else {
                t->bad[j].count += b.count;
            }
        }
        row += n;
    }
    t->nrows = total;
    *out = t;
    return MOE_SUCCESS;
}
