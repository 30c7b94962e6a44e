/* table.h: the internal layout of moe_table, a CSV file read into numeric columns.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_DATA_TABLE_H
#define MOE_DATA_TABLE_H

#include "moe.h"

/* Room for a quoted cell text in messages: 40 source bytes, each escaped as at most 4
 * bytes (\xHH), plus "..." and the NUL. */
#define MOE_TABLE_TEXT 168

/* The first bad cell of a column (missing, text, infinite or overflowing), kept so that the
 * error is raised only if the column is used. No per-cell metadata is kept: a bad cell is
 * NaN in the column, and no good cell is ever NaN. */
typedef struct moe_table_bad {
    size_t count;                 /* bad cells in the column */
    size_t line;                  /* physical line (1-based) of the first, 0 when none */
    int kind;                     /* its enum moe_num_kind */
    char text[MOE_TABLE_TEXT];    /* its text, escaped and truncated (moe_data_quote) */
} moe_table_bad;

struct moe_table {
    char *name;           /* the source's name for messages (path or "<stdin>") */
    size_t nrows;         /* data rows */
    size_t ncols;         /* columns */
    char **names;         /* ncols column names, unique */
    double **cols;        /* ncols columns of nrows values each (column-major) */
    size_t *lines;        /* nrows physical lines (1-based) where each data row starts */
    moe_table_bad *bad;   /* ncols records of bad cells */
    size_t header_line;   /* physical line of the first record (the header, if any) */
};

/* Writes the LEN bytes at S into OUT (at least MOE_TABLE_TEXT bytes) for a message: bytes
 * that are not printable ASCII or valid UTF-8 become \xHH, and text past 40 bytes is cut
 * and ends in "...". */
void moe_data_quote(const char *s, size_t len, char *out);

/* Finds a column by its exact name only (no indices); MOE_EINVAL naming the columns when
 * there is none. */
int moe_table_lookup_name(const moe_table *t, const char *name, size_t *col, moe_error *err);

/* Writes "a, b, c" (the column names, cut short with ", ..." to fit) into OUT of SIZE. */
void moe_table_list_names(const moe_table *t, char *out, size_t size);

#endif
