/* test_csv.c: unit tests of the CSV reader (src/data/csv.c), the table accessors and look-up
 * (src/data/table.c) and the number parser (src/data/numparse.c).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Fixtures are written by the test itself into a temporary folder. Expected values are the
 * fixtures' own numbers; the number parser is compared bit for bit with glibc's strtod,
 * which is correctly rounded. */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "moe.h"
#include "data/numparse.h"
#include "data/table.h"
#include "fixture.h"
#include "tap.h"

/* Reads TEXT as CSV with the given separator and header mode. */
static int read_text(const char *text, char sep, int header, moe_table **t, moe_error *err)
{
    moe_csv_options o = moe_csv_options_default();
    o.sep = sep;
    o.header = header;
    const char *p = fixture(text, strlen(text));
    int s = moe_table_read_csv(p, &o, t, err);
    unlink(p);
    return s;
}

/* Expects TEXT to fail with STATUS at LINE:COL and a message containing FRAG. */
static void expect_error(const char *what, const char *text, size_t len, char sep, int status,
                         size_t line, size_t col, const char *frag)
{
    moe_csv_options o = moe_csv_options_default();
    o.sep = sep;
    moe_table *t = (moe_table *)&o; /* must be set to NULL */
    moe_error err;
    const char *p = fixture(text, len);
    int s = moe_table_read_csv(p, &o, &t, &err);
    unlink(p);
    tap_int(s, status, "%s: status", what);
    tap_ok(t == NULL, "%s: no table", what);
    tap_int(err.status, status, "%s: err.status", what);
    tap_int((long)err.line, (long)line, "%s: line", what);
    tap_int((long)err.column, (long)col, "%s: column", what);
    tap_ok(has(msg(&err), frag), "%s: message '%s'", what, msg(&err));
    tap_ok(strlen(err.message) < 400, "%s: message is short (%zu)", what, strlen(err.message));
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Calls moe_table_free(NULL) in a child process: 1 when the child returns normally, 0 when it
 * crashes (a NULL dereference would otherwise kill the whole test instead of failing one check). */
static int survives_free_null(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        moe_table_free(NULL);
        _exit(0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return 0;
    if (!WIFEXITED(st))
        printf("# the child calling moe_table_free(NULL) died of signal %d\n",
               WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_basic(void)
{
    moe_table *t = NULL;
    moe_error err;
    int s = read_text("a,b,c\n1,2.5,-3\n4,5e2, 6 \n", 0, -1, &t, &err);
    tap_int(s, MOE_SUCCESS, "basic: read");
    tap_int(err.status, MOE_SUCCESS, "basic: err cleared");
    tap_int((long)moe_table_nrows(t), 2, "basic: 2 rows");
    tap_int((long)moe_table_ncols(t), 3, "basic: 3 columns");
    tap_ok(strcmp(moe_table_colname(t, 0), "a") == 0 && strcmp(moe_table_colname(t, 2), "c") == 0,
           "basic: names a..c");
    tap_ok(moe_table_colname(t, 3) == NULL && moe_table_column(t, 3) == NULL,
           "basic: out-of-range accessors give NULL");
    const double *b = moe_table_column(t, 1), *c = moe_table_column(t, 2);
    tap_ok(b[0] == 2.5 && b[1] == 500 && c[0] == -3 && c[1] == 6, "basic: values");
    tap_int((long)t->bad[2].count, 0, "basic: spaces around a number are fine");
    size_t col = 99;
    tap_int(moe_table_lookup(t, "b", &col, &err), MOE_SUCCESS, "lookup by name");
    tap_int((long)col, 1, "lookup by name: index");
    tap_int(moe_table_lookup(t, "3", &col, &err), MOE_SUCCESS, "lookup by index");
    tap_int((long)col, 2, "lookup by index: 0-based 2");
    tap_int(moe_table_lookup(t, "foo", &col, &err), MOE_EINVAL, "lookup: no such column");
    tap_ok(has(err.message, "no column 'foo' (columns are: a, b, c)"), "lookup: message lists");
    tap_int(moe_table_lookup(t, "4", &col, &err), MOE_EINVAL, "lookup: index too large");
    tap_ok(has(err.message, "no column 4"), "lookup: index message");
    tap_int(moe_table_lookup(t, "0", &col, &err), MOE_EINVAL, "lookup: index 0");
    moe_table_free(t);
    tap_ok(survives_free_null(), "moe_table_free(NULL) is a no-op (a child process calling it "
           "exits normally)");
    tap_int((long)moe_table_nrows(NULL), 0, "nrows(NULL) is 0");

    s = read_text("x,3,y\n1,2,3\n", 0, -1, &t, &err);
    tap_int(s, MOE_SUCCESS, "column literally named 3: read");
    tap_ok(moe_table_lookup(t, "3", &col, NULL) == MOE_SUCCESS && col == 1,
           "lookup: a name wins over an index");
    tap_ok(moe_table_lookup(t, "1", &col, NULL) == MOE_SUCCESS && col == 0,
           "lookup: an index that is not a name");
    moe_table_free(t);
}

static void test_header_modes(void)
{
    moe_table *t = NULL;
    moe_error err;
    tap_int(read_text("1,2\n3,4\n", 0, -1, &t, &err), MOE_SUCCESS, "no header detected: read");
    tap_int((long)moe_table_nrows(t), 2, "no header detected: 2 rows");
    tap_ok(strcmp(moe_table_colname(t, 0), "V1") == 0 && strcmp(moe_table_colname(t, 1), "V2") == 0,
           "no header detected: V1, V2");
    moe_table_free(t);

    tap_int(read_text("NA,2\n3,4\n", 0, -1, &t, &err), MOE_SUCCESS, "NA first row: data");
    tap_int((long)moe_table_nrows(t), 2, "a first row of numbers and NA is data");
    moe_table_free(t);

    tap_int(read_text("1,2\n3,4\n", 0, 1, &t, &err), MOE_SUCCESS, "forced header: read");
    tap_int((long)moe_table_nrows(t), 1, "forced header: 1 row");
    tap_ok(strcmp(moe_table_colname(t, 0), "1") == 0, "forced header: name '1'");
    moe_table_free(t);

    tap_int(read_text("a,b\n3,4\n", 0, 0, &t, &err), MOE_SUCCESS, "no header forced: read");
    tap_int((long)moe_table_nrows(t), 2, "no header forced: the text row is data");
    tap_ok(isnan(moe_table_column(t, 0)[0]) && t->bad[0].count == 1 &&
               t->bad[0].kind == MOE_NUM_TEXT && t->bad[0].line == 1,
           "no header forced: 'a' is a bad cell at line 1");
    tap_ok(strcmp(moe_table_colname(t, 1), "V2") == 0, "no header forced: V2");
    moe_table_free(t);

    tap_int(read_text("a,,c\n1,2,3\n", 0, -1, &t, &err), MOE_SUCCESS, "empty header cell: read");
    tap_ok(strcmp(moe_table_colname(t, 1), "V2") == 0, "empty header cell is named V2");
    moe_table_free(t);

    tap_int(read_text(" a , b\n1,2\n", 0, -1, &t, &err), MOE_SUCCESS, "names are trimmed");
    tap_ok(strcmp(moe_table_colname(t, 0), "a") == 0 && strcmp(moe_table_colname(t, 1), "b") == 0,
           "names are trimmed: a, b");
    moe_table_free(t);

    tap_int(read_text("x\n1\n\n2\n\n", 0, -1, &t, &err), MOE_SUCCESS, "blank lines: read");
    tap_int((long)moe_table_nrows(t), 2, "blank lines are skipped");
    moe_table_free(t);

    tap_int(read_text("a,b\n1,2", 0, -1, &t, &err), MOE_SUCCESS, "no final newline");
    tap_ok(moe_table_nrows(t) == 1 && moe_table_column(t, 1)[0] == 2, "no final newline: value");
    moe_table_free(t);
}

static void test_separators_and_encodings(void)
{
    moe_table *t = NULL;
    moe_error err;
    tap_int(read_text("a;b;c\n1,5;2;3\n", 0, -1, &t, &err), MOE_SUCCESS, "semicolon: read");
    tap_int((long)moe_table_ncols(t), 3, "semicolon detected (3 columns)");
    tap_ok(isnan(moe_table_column(t, 0)[0]) && t->bad[0].kind == MOE_NUM_TEXT,
           "semicolon: a decimal comma is text, not a number");
    moe_table_free(t);

    tap_int(read_text("a\tb\n1\t2\n", 0, -1, &t, &err), MOE_SUCCESS, "tab: read");
    tap_ok(moe_table_ncols(t) == 2 && moe_table_column(t, 1)[0] == 2, "tab detected");
    moe_table_free(t);

    tap_int(read_text("a;b,c\n1;2,3\n", ',', -1, &t, &err), MOE_SUCCESS, "given sep: read");
    tap_ok(moe_table_ncols(t) == 2 && strcmp(moe_table_colname(t, 0), "a;b") == 0,
           "given separator wins over detection");
    moe_table_free(t);

    tap_int(read_text("\"a;b\";c\n1;2\n", 0, -1, &t, &err), MOE_SUCCESS, "sep in quotes");
    tap_ok(moe_table_ncols(t) == 2, "a separator inside quotes does not count in detection");
    moe_table_free(t);

    tap_int(read_text("\xef\xbb\xbfx,y\r\n1,2\r\n3,4\r\n", 0, -1, &t, &err), MOE_SUCCESS,
            "BOM and CRLF: read");
    tap_ok(moe_table_nrows(t) == 2 && strcmp(moe_table_colname(t, 0), "x") == 0 &&
               strcmp(moe_table_colname(t, 1), "y") == 0 && moe_table_column(t, 1)[1] == 4 &&
               t->bad[1].count == 0,
           "BOM and CRLF: names without BOM or CR, values clean");
    moe_table_free(t);

    moe_csv_options o = moe_csv_options_default();
    o.sep = '|';
    tap_int(moe_table_read_csv("/nonexistent", &o, &t, &err), MOE_EINVAL, "bad separator option");
}

static void test_quotes(void)
{
    moe_table *t = NULL;
    moe_error err;
    const char *text = "\"na,me\",\"say \"\"hi\"\"\",v\n"
                       "\"1\",\"multi\nline\",2\n"
                       "3,x,\"oops\"\n";
    tap_int(read_text(text, 0, -1, &t, &err), MOE_SUCCESS, "quotes: read");
    tap_ok(strcmp(moe_table_colname(t, 0), "na,me") == 0, "quotes: separator inside quotes");
    tap_ok(strcmp(moe_table_colname(t, 1), "say \"hi\"") == 0, "quotes: doubled quotes");
    tap_int((long)moe_table_nrows(t), 2, "quotes: newline inside quotes stays in the field");
    tap_ok(moe_table_column(t, 0)[0] == 1 && moe_table_column(t, 0)[1] == 3,
           "quotes: quoted number is a number");
    tap_int((long)t->bad[1].line, 2, "quotes: multi-line field starts on line 2");
    tap_ok(has(t->bad[1].text, "multi\\x0aline"), "quotes: newline escaped in cell text");
    tap_int((long)t->bad[2].line, 4, "quotes: line after a multi-line record is physical line 4");
    tap_ok(has(t->bad[2].text, "oops"), "quotes: bad cell text");
    moe_table_free(t);

    tap_int(read_text("a,b\n  \"5\" ,\"\"\n", 0, -1, &t, &err), MOE_SUCCESS, "quotes: spaces");
    tap_ok(moe_table_column(t, 0)[0] == 5, "quotes: spaces around a quoted number");
    tap_ok(t->bad[1].kind == MOE_NUM_MISSING, "quotes: \"\" is missing");
    moe_table_free(t);

    tap_int(read_text("a,b\r\n\"x\r\ny\",1\r\n2,3\r\n", 0, -1, &t, &err), MOE_SUCCESS,
            "quotes with CRLF inside");
    tap_ok(moe_table_nrows(t) == 2 && moe_table_column(t, 1)[1] == 3, "quotes with CRLF: rows");
    moe_table_free(t);
}

static void test_bad_cells(void)
{
    moe_table *t = NULL;
    moe_error err;
    const char *text = "id,v\n"
                       "1,\n"
                       "2,NA\n"
                       "3,NaN\n"
                       "4,nan\n"
                       "5,.\n"
                       "6,abc\n"
                       "7,inf\n"
                       "8,-Inf\n"
                       "9,1e400\n"
                       "10,1e-400\n"
                       "11,4.9e-324\n"
                       "12,-1.5\n";
    tap_int(read_text(text, 0, -1, &t, &err), MOE_SUCCESS, "bad cells are not read errors");
    const double *v = moe_table_column(t, 1);
    int nans = 1;
    for (int i = 0; i < 9; i++)
        nans &= isnan(v[i]);
    tap_ok(nans, "bad cells are NaN");
    tap_ok(v[9] == 0 && !signbit(v[9]), "underflow 1e-400 reads as 0");
    tap_ok(v[10] > 0 && v[10] < 1e-320, "4.9e-324 reads as a subnormal");
    tap_ok(v[11] == -1.5, "a good cell after bad ones");
    tap_int((long)t->bad[1].count, 9, "bad count 9");
    tap_int((long)t->bad[1].line, 2, "first bad cell on line 2");
    tap_int(t->bad[1].kind, MOE_NUM_MISSING, "first bad cell is missing");
    tap_ok(t->bad[1].text[0] == '\0', "empty cell has empty text");
    tap_int((long)t->bad[0].count, 0, "id column is clean");
    moe_table_free(t);

    static const struct {
        const char *cell;
        int kind;
    } cases[] = {{"NA", MOE_NUM_MISSING},       {"NaN", MOE_NUM_MISSING},
                 {"nan", MOE_NUM_MISSING},      {".", MOE_NUM_MISSING},
                 {"", MOE_NUM_MISSING},         {"  ", MOE_NUM_MISSING},
                 {"abc", MOE_NUM_TEXT},         {"1.2.3", MOE_NUM_TEXT},
                 {"1e", MOE_NUM_TEXT},          {"0x10", MOE_NUM_TEXT},
                 {"--1", MOE_NUM_TEXT},         {"1,5", MOE_NUM_TEXT},
                 {"inf", MOE_NUM_INF},          {"-Inf", MOE_NUM_INF},
                 {"Infinity", MOE_NUM_INF},     {"1e400", MOE_NUM_OVERFLOW},
                 {"-2e308", MOE_NUM_OVERFLOW},  {"1.8e308", MOE_NUM_OVERFLOW},
                 {"1.7976931348623157e308", MOE_NUM_OK}, {" 7 ", MOE_NUM_OK},
                 {"+.5", MOE_NUM_OK},           {"5.", MOE_NUM_OK},
                 {"0e99999", MOE_NUM_OK},       {"1e-99999", MOE_NUM_OK}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double x;
        int k = moe_data_parse_double(cases[i].cell, strlen(cases[i].cell), &x);
        tap_int(k, cases[i].kind, "cell '%s' has kind %d", cases[i].cell, cases[i].kind);
        tap_ok(k == MOE_NUM_OK ? isfinite(x) : isnan(x), "cell '%s': value finite iff OK",
               cases[i].cell);
    }
    char q[MOE_TABLE_TEXT];
    moe_data_quote("\x01\xff" "caf\xc3\xa9", 7, q);
    tap_ok(strcmp(q, "\\x01\\xffcaf\xc3\xa9") == 0, "quote: escapes control and bad UTF-8 only");
    char big[100];
    memset(big, 'z', sizeof big);
    moe_data_quote(big, sizeof big, q);
    tap_int((long)strlen(q), 43, "quote: 40 bytes and '...'");
}

/* A string literal and its length (NUL bytes inside included). */
#define LIT(s) s, sizeof(s) - 1

static void test_errors(void)
{
    expect_error("ragged long", LIT("a,b\n1,2\n1,2,3\n"), 0, MOE_EFORMAT, 3, 3,
                 "F:3:3: row has 3 fields, the header has 2");
    expect_error("ragged short", LIT("a,b,c\n1,2,3\n\n4,5\n"), 0, MOE_EFORMAT, 4, 2,
                 "F:4:2: row has 2 fields, the header has 3");
    expect_error("ragged without header", LIT("1,2\n3\n"), 0, MOE_EFORMAT, 2, 1,
                 "row has 1 field, the first row has 2");
    expect_error("empty file", LIT(""), 0, MOE_EFORMAT, 0, 0, "F: empty file");
    expect_error("blank lines only", LIT("\n\r\n\n"), 0, MOE_EFORMAT, 0, 0, "empty file");
    expect_error("BOM only", LIT("\xef\xbb\xbf"), 0, MOE_EFORMAT, 0, 0, "empty file");
    expect_error("header only", LIT("a,b\n"), 0, MOE_EFORMAT, 1, 0,
                 "F:1: a header but no data rows");
    expect_error("duplicate names", LIT("a,b,a,b\n1,2,3,4\n"), 0, MOE_EFORMAT, 1, 3,
                 "F:1:3: duplicate column name, the same as column 1 (a)");
    expect_error("duplicate via V2", LIT("a,,V2\n1,2,3\n"), 0, MOE_EFORMAT, 1, 3,
                 "duplicate column name, the same as column 2 (V2)");
    expect_error("unterminated quote", LIT("a,b\n1,2\n3,\"open\n4,5\n6,7\n"), 0, MOE_EFORMAT, 3,
                 2, "F:3:2: unterminated quote");
    expect_error("NUL byte", LIT("a,b\n1,2\n3,\0\n"), 0, MOE_EFORMAT, 3, 0,
                 "F:3: not a text file (byte \\x00)");
    expect_error("control bytes", LIT("a,b\n\x01\x02\x03"), 0, MOE_EFORMAT, 2, 0,
                 "not a text file (byte \\x01)");

    /* Binary garbage: a deterministic pseudo-random block (LCG of Numerical Recipes). */
    unsigned char junk[4096];
    uint32_t state = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        state = state * 1664525u + 1013904223u;
        junk[i] = (unsigned char)(state >> 24);
    }
    moe_table *t = NULL;
    moe_error err;
    const char *p = fixture((const char *)junk, sizeof junk);
    int s = moe_table_read_csv(p, NULL, &t, &err);
    unlink(p);
    tap_int(s, MOE_EFORMAT, "binary garbage: MOE_EFORMAT");
    tap_ok(has(err.message, "not a text file"), "binary garbage: message '%s'", msg(&err));

    /* A 1 MB field: the message quotes 40 bytes of it. */
    size_t big = (size_t)1 << 20;
    char *text = malloc(big + 64);
    strcpy(text, "a,b\n1,");
    size_t n = strlen(text);
    memset(text + n, 'q', big);
    n += big;
    strcpy(text + n, "\n2,3\n");
    n += 5;
    p = fixture(text, n);
    s = moe_table_read_csv(p, NULL, &t, &err);
    unlink(p);
    tap_int(s, MOE_SUCCESS, "1 MB field: read");
    tap_ok(t && t->bad[1].count == 1 && t->bad[1].line == 2 && strlen(t->bad[1].text) == 43,
           "1 MB field: one bad cell, text cut to 40 bytes + ...");
    moe_table_free(t);
    /* And an unterminated quote opening a 1 MB field. */
    text[6] = '"';
    p = fixture(text, n);
    s = moe_table_read_csv(p, NULL, &t, &err);
    unlink(p);
    tap_int(s, MOE_EFORMAT, "1 MB unterminated quote");
    tap_ok(err.line == 2 && err.column == 2 && strlen(err.message) < 300,
           "1 MB unterminated quote: 2:2, short message");
    free(text);

    tap_int(moe_table_read_csv("/nonexistent/x.csv", NULL, &t, &err), MOE_EOPEN, "missing file");
    tap_ok(has(err.message, "/nonexistent/x.csv: cannot open: No such file or directory"),
           "missing file: message with strerror");
    tap_int(moe_table_read_csv(tmpdir, NULL, &t, &err), MOE_EOPEN, "a directory");
    tap_ok(has(err.message, "Is a directory"), "a directory: message '%s'", err.message);
    tap_int(moe_table_read_csv(NULL, NULL, &t, NULL), MOE_EINVAL, "NULL path, NULL err");
}

/* A file bigger than the reader's 1 MB buffer, with quoted and multi-line fields placed
 * across block boundaries, read back exactly. */
static void test_large(void)
{
    size_t rows = 150000;
    size_t cap = rows * 64 + 64, n = 0;
    char *text = malloc(cap);
    n += (size_t)sprintf(text + n, "i,\"x\",y\r\n");
    size_t line = 2, bad_line = 0;
    for (size_t i = 0; i < rows; i++) {
        if (i % 997 == 0)
            n += (size_t)sprintf(text + n, "%zu,\"%zu.25\",\"note\r\nacross\nlines\"\r\n", i, i);
        else
            n += (size_t)sprintf(text + n, "%zu,%zu.25,%.17g\r\n", i, i, (double)i / 3);
        if (i == rows - 5) {
            bad_line = line;
        }
        line += i % 997 == 0 ? 3 : 1;
    }
    const char *p = fixture(text, n);
    moe_table *t = NULL;
    moe_error err;
    int s = moe_table_read_csv(p, NULL, &t, &err);
    unlink(p);
    free(text);
    tap_int(s, MOE_SUCCESS, "large: read %zu rows", rows);
    tap_int((long)moe_table_nrows(t), (long)rows, "large: row count");
    int ok = 1;
    for (size_t i = 0; t && i < rows; i++) {
        ok &= moe_table_column(t, 0)[i] == (double)i;
        ok &= moe_table_column(t, 1)[i] == (double)i + 0.25;
        if (i % 997)
            ok &= moe_table_column(t, 2)[i] == (double)i / 3;
    }
    tap_ok(ok, "large: every value exact");
    tap_int(t ? (long)t->bad[2].count : -1, (long)((rows + 996) / 997), "large: bad cells");
    moe_table_free(t);

    /* Line numbers after many multi-line records: a ragged row near the end. */
    text = malloc(cap);
    n = (size_t)sprintf(text, "a,b\n");
    line = 2;
    for (size_t i = 0; i < rows; i++) {
        if (i == rows - 5) {
            n += (size_t)sprintf(text + n, "1,2,3\n");
            bad_line = line;
        } else if (i % 101 == 0) {
            n += (size_t)sprintf(text + n, "\"1\n\n\",2\n");
            line += 2;
        } else {
            n += (size_t)sprintf(text + n, "%zu,1\n", i);
        }
        line++;
    }
    expect_error("large ragged", text, n, 0, MOE_EFORMAT, bad_line, 3, "row has 3 fields");
    free(text);
}

static void test_stdin_and_stream(void)
{
    const char *p = fixture("u;v\n1;2\n", 8);
    moe_table *t = NULL;
    moe_error err;
    if (!freopen(p, "r", stdin)) {
        tap_ok(0, "freopen stdin");
        return;
    }
    tap_int(moe_table_read_csv("-", NULL, &t, &err), MOE_SUCCESS, "'-' reads standard input");
    tap_ok(t && moe_table_ncols(t) == 2 && moe_table_column(t, 1)[0] == 2, "stdin: values");
    tap_ok(t && strcmp(t->name, "<stdin>") == 0, "stdin: named <stdin>");
    moe_table_free(t);
    unlink(p);

    const char *text = "a,b\n1,2\n3\n";
    FILE *fp = fmemopen((void *)text, strlen(text), "r");
    tap_int(moe_table_read_stream(fp, "mem.csv", NULL, &t, &err), MOE_EFORMAT, "stream: ragged");
    tap_ok(has(err.message, "mem.csv:3:1: row has 1 field"), "stream: named in messages");
    fclose(fp);
}

/* The number parser against strtod, bit for bit. */
static void test_numparse(void)
{
    static const char *fixed[] = {
        "0.1", "0.3", "1e22", "1e23", "9007199254740992", "9007199254740993",
        "9007199254740995", "123456789012345678", "1234567890123456789",
        "12345678901234567890", "0.1234567890123456789012", "2.2250738585072011e-308",
        "2.2250738585072014e-308", "4.9406564584124654e-324", "2.4703282292062327e-324",
        "2.4703282292062328e-324", "1.7976931348623157e308", "1.7976931348623158e308",
        "-0", "-0.0e5", "+1", "000000000000000000000000001", "0.000000000000000000000001e22",
        "1e-22", "8.98846567431158e307", "3.141592653589793238462643383279",
        "4503599627370496.5", "4503599627370497.5",
        "1.00000000000000011102230246251565404236316680908203125",
        "7.2057594037927933e16", "123.456e-5", "9999999999999999999e-22", "1e-5", ".5", "5."};
    int ok = 1;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        double a, b = strtod(fixed[i], NULL);
        int k = moe_data_parse_double(fixed[i], strlen(fixed[i]), &a);
        if (k != MOE_NUM_OK || !same_bits(a, b)) {
            printf("# %s: got %.17g (kind %d), strtod %.17g\n", fixed[i], a, k, b);
            ok = 0;
        }
    }
    tap_ok(ok, "number parser: %zu hand-picked hard cases equal strtod bit for bit",
           sizeof fixed / sizeof fixed[0]);

    /* Random decimal strings: 1 to 25 digits, a decimal point somewhere or none, an
     * exponent or none, a sign or none; xorshift64 with a fixed seed. */
    uint64_t x = 88172645463325252ULL;
#define NEXT() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
    size_t n = 200000, mismatches = 0, fast = 0;
    char buf[64];
    for (size_t i = 0; i < n; i++) {
        size_t o = 0;
        uint64_t r = NEXT();
        if (r & 1)
            buf[o++] = '-';
        else if (r & 2)
            buf[o++] = '+';
        size_t nd = 1 + (size_t)((r >> 2) % 25);
        size_t point = (size_t)((r >> 8) % (nd + 2)); /* nd+1: no point */
        for (size_t d = 0; d < nd; d++) {
            if (d == point)
                buf[o++] = '.';
            buf[o++] = (char)('0' + NEXT() % 10);
        }
        if (point == nd)
            buf[o++] = '.';
        if ((r >> 16) & 1) {
            buf[o++] = (r >> 17) & 1 ? 'e' : 'E';
            int e = (int)((r >> 20) % 700) - 350;
            if ((r >> 30) & 1)
                e = (int)((r >> 31) % 61) - 30; /* often inside the fast path's range */
            o += (size_t)sprintf(buf + o, "%d", e);
        }
        buf[o] = '\0';
        double a, b = strtod(buf, NULL);
        int k = moe_data_parse_double(buf, o, &a);
        int want = isinf(b) ? MOE_NUM_OVERFLOW : MOE_NUM_OK;
        if (k != want || (k == MOE_NUM_OK && !same_bits(a, b))) {
            if (mismatches++ < 5)
                printf("# %s: got %.17g (kind %d), strtod %.17g\n", buf, a, k, b);
        }
        fast += nd <= 15;
    }
    tap_int((long)mismatches, 0, "number parser: %zu random strings equal strtod bit for bit", n);
    tap_ok(fast > n / 4, "number parser: a good share (%zu) of short mantissas", fast);

    /* The 128-bit path: 16 to 19 significant digits with a decimal exponent of -27..27,
     * and exact halfway cases between two doubles (ties to even). */
    mismatches = 0;
    for (size_t i = 0; i < 100000; i++) {
        uint64_t r = NEXT();
        int nd = 16 + (int)(r % 4), e = (int)((r >> 8) % 55) - 27 - (nd - 1);
        size_t o = 0;
        buf[o++] = (char)('1' + NEXT() % 9);
        for (int d = 1; d < nd; d++)
            buf[o++] = (char)('0' + NEXT() % 10);
        o += (size_t)sprintf(buf + o, "e%d", e);
        if (i % 4 == 0) { /* above 2^54 doubles are 4 apart: 2^54 + 4j + 2 is a midpoint */
            uint64_t mid = (UINT64_C(1) << 54) + 4 * (NEXT() % 1000000) + 2;
            o = (size_t)sprintf(buf, "%llu", (unsigned long long)mid);
            if (i % 8 == 0)
                o += (size_t)sprintf(buf + o, "e%d", -(int)(NEXT() % 5));
        }
        double a, b = strtod(buf, NULL);
        int k = moe_data_parse_double(buf, o, &a);
        if (k != MOE_NUM_OK || !same_bits(a, b))
            if (mismatches++ < 5)
                printf("# %s: got %.17g (kind %d), strtod %.17g\n", buf, a, k, b);
    }
    tap_int((long)mismatches, 0, "number parser: 100000 long mantissas and midpoints");

    /* Random doubles printed with %.17g (the round-trip form) and %.6g. */
    mismatches = 0;
    for (size_t i = 0; i < 100000; i++) {
        uint64_t bits = NEXT();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v))
            continue;
        int len = sprintf(buf, i & 1 ? "%.17g" : "%.6g", v);
        double a, b = strtod(buf, NULL);
        int k = moe_data_parse_double(buf, (size_t)len, &a);
        if (isinf(b) ? k != MOE_NUM_OVERFLOW : (k != MOE_NUM_OK || !same_bits(a, b)))
            if (mismatches++ < 5)
                printf("# %s: got %.17g (kind %d)\n", buf, a, k);
    }
    tap_int((long)mismatches, 0, "number parser: 100000 printed random doubles equal strtod");
#undef NEXT
}

int main(void)
{
    make_tmpdir("test_csv");
    test_basic();
    test_header_modes();
    test_separators_and_encodings();
    test_quotes();
    test_bad_cells();
    test_errors();
    test_large();
    test_stdin_and_stream();
    test_numparse();
    rmdir(tmpdir);
    return tap_done();
}
