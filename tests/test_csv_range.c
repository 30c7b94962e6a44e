/* test_csv_range.c: reading a CSV file in parts (src/data/csv_split.c, the range reader of
 * src/data/csv.c, src/data/table_pack.c): for every number of parts, the parts joined in
 * order are the table of one whole read, bit for bit (values, bad cells, their lines and
 * counts), and an error in any part names the line a whole read names.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * The reference is moe_table_read_csv of the same fixture (test_csv checks that reader
 * against the fixtures' own numbers). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "moe.h"
#include "data/table.h"
#include "fixture.h"
#include "tap.h"

/* Reads PATH in PARTS parts, each packed, and joins them into *OUT. Returns the first
 * failing part's status (its error in ERR), the join's status otherwise. */
static int read_parts(const char *file, const moe_csv_options *o, size_t parts, moe_table **out,
                      moe_error *err)
{
    unsigned char *all = NULL;
    size_t *lens = calloc(parts, sizeof *lens), used = 0, line = 1;
    moe_table *like = NULL;
    int st = MOE_SUCCESS;
    *out = NULL;
    for (size_t p = 0; p < parts && !st; p++) {
        long long a, b;
        size_t nl;
        moe_table *t = NULL;
        void *buf = NULL;
        if ((st = moe_csv_split(file, p, parts, &a, &b, &nl, err)) ||
            (st = moe_table_read_csv_range(file, o, a, b, line, &t, err)) ||
            (st = moe_table_pack(t, &buf, &lens[p], err))) {
            moe_table_free(t);
            break;
        }
        line += nl;
        all = realloc(all, used + lens[p]);
        memcpy(all + used, buf, lens[p]);
        used += lens[p];
        free(buf);
        if (!like)
            like = t;
        else
            moe_table_free(t);
    }
    if (!st)
        st = moe_table_join_packed(like, all, lens, parts, out, err);
    moe_table_free(like);
    free(all);
    free(lens);
    return st;
}

static int same_table(const moe_table *a, const moe_table *b)
{
    if (a->nrows != b->nrows || a->ncols != b->ncols)
        return 0;
    for (size_t j = 0; j < a->ncols; j++) {
        if (strcmp(a->names[j], b->names[j]) ||
            memcmp(a->cols[j], b->cols[j], a->nrows * sizeof(double)) ||
            a->bad[j].count != b->bad[j].count || a->bad[j].line != b->bad[j].line ||
            a->bad[j].kind != b->bad[j].kind || strcmp(a->bad[j].text, b->bad[j].text))
            return 0;
    }
    return memcmp(a->lines, b->lines, a->nrows * sizeof(size_t)) == 0;
}

/* Every split of TEXT from 1 to 12 parts gives the whole read's table. */
static void check_splits(const char *what, const char *text, int header)
{
    moe_csv_options o = moe_csv_options_default();
    o.header = header;
    const char *p = fixture(text, strlen(text));
    moe_table *whole = NULL, *joined = NULL;
    moe_error err;
    tap_int(moe_table_read_csv(p, &o, &whole, &err), MOE_SUCCESS, "%s: whole read", what);
    for (size_t parts = 1; parts <= 12; parts++) {
        int st = read_parts(p, &o, parts, &joined, &err);
        tap_ok(st == MOE_SUCCESS && whole && same_table(joined, whole),
               "%s: %zu parts joined = the whole read (%s)", what, parts,
               st ? err.message : "");
        moe_table_free(joined);
    }
    moe_table_free(whole);
    unlink(p);
}

/* Every split of TEXT fails as the whole read does: status, line, column, message. */
static void check_error(const char *what, const char *text)
{
    const char *p = fixture(text, strlen(text));
    moe_table *t = NULL;
    moe_error whole, part;
    int want = moe_table_read_csv(p, NULL, &t, &whole);
    tap_ok(want != MOE_SUCCESS, "%s: the whole read fails (%s)", what, whole.message);
    for (size_t parts = 2; parts <= 6; parts++) {
        int st = read_parts(p, NULL, parts, &t, &part);
        tap_ok(st == want && part.line == whole.line && part.column == whole.column &&
               strcmp(part.message, whole.message) == 0,
               "%s, %zu parts: the same error (%s)", what, parts, part.message);
        moe_table_free(t);
    }
    unlink(p);
}

int main(void)
{
    make_tmpdir("test_csv_range");
    /* blank lines, CRLF, a quoted field, bad cells in two rows far apart, long lines */
    check_splits("mixed",
                 "a,b,c\n1,2,3\n4,5,6\n\n7,x,9\r\n10,11,12\n13,\"14\",15\n16,17,18\n"
                 "19,20,21\n\n\n22,23,24\n25,NA,27\n28,29,30000000000000000\n31,32,33\n", -1);
    check_splits("no header", "1,2\n3,4\n5,6\n7,8\n9,10\n", 0);
    check_splits("detected data", "1;2\n3;4\n5;6\n7;8\n", -1);
    check_splits("byte-order mark", "\xef\xbb\xbfu,v\n1,2\n3,4\n5,6\n", -1);
    check_splits("no final newline", "u,v\n1,2\n3,4\n5,6", -1);
    check_error("ragged row late", "a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n11\n13,14\n");
    check_error("ragged row early", "a,b\n1,2,3\n3,4\n5,6\n7,8\n9,10\n11,12\n");
    check_error("header only", "a,b\n\n");

    /* arguments */
    long long a, b;
    size_t nl;
    moe_error err;
    moe_table *t;
    tap_int(moe_csv_split("-", 0, 2, &a, &b, &nl, &err), MOE_EINVAL, "stdin cannot be split");
    tap_int(moe_csv_split("x", 2, 2, &a, &b, &nl, &err), MOE_EINVAL, "part beyond parts");
    tap_int(moe_table_read_csv_range("x", NULL, 5, 4, 1, &t, &err), MOE_EINVAL,
            "range end before start");
    rmdir(tmpdir);
    return tap_done();
}
