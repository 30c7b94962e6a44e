/* test_dataset.c: unit tests of data sets (src/data/dataset.c): column selection, missing
 * values (fail and omit), building from arrays, for a model and from names, and writing CSV;
 * the optional weights, offset and trials, the rows' file positions and row errors.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Fixtures are written by the test into a temporary folder; expected values are their own
 * numbers, and positions (line:column) are counted by hand from the fixture text. */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "moe.h"
#include "data/dataset.h"
#include "data/table.h"
#include "model/model.h"
#include "fixture.h"
#include "tap.h"

/* A table read from TEXT through a fixture file; exits 99 when it cannot be read. */
static moe_table *table_of(const char *text)
{
    const char *p = fixture(text, strlen(text));
    moe_table *t = NULL;
    moe_error err;
    if (moe_table_read_csv(p, NULL, &t, &err) != MOE_SUCCESS) {
        printf("# fixture: %s\n", err.message);
        exit(99);
    }
    unlink(p);
    return t;
}

static moe_selection sel_of(const char *y, const char *x, const char *z, moe_na_policy na)
{
    moe_selection s = moe_selection_default();
    s.response = y;
    s.inputs = x;
    s.gate_inputs = z;
    s.na = na;
    return s;
}

/* Expects a selection to fail with STATUS, at LINE:COL, with FRAG in the message. */
static void expect_fail(const char *what, const moe_table *t, moe_selection s, int status,
                        size_t line, size_t col, const char *frag)
{
    moe_dataset *d = (moe_dataset *)&s;
    moe_error err;
    int st = moe_dataset_from_table(t, &s, &d, &err);
    tap_int(st, status, "%s: status", what);
    tap_ok(d == NULL && err.status == status, "%s: no data set, err.status", what);
    tap_ok(err.line == line && err.column == col, "%s: at %zu:%zu (got %zu:%zu)", what, line, col,
           err.line, err.column);
    tap_ok(has(msg(&err), frag), "%s: message '%s'", what, msg(&err));
}

static void test_defaults(void)
{
    moe_table *t = table_of("a,b,c\n1,2,3\n4,5,6\n");
    moe_dataset *d = NULL;
    moe_error err;
    moe_selection s = moe_selection_default();
    tap_ok(s.response == NULL && s.inputs == NULL && s.gate_inputs == NULL && s.na == MOE_NA_FAIL,
           "selection defaults");
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "defaults: built");
    tap_ok(d->n == 2 && d->nx == 2 && d->nz == 2 && moe_dataset_nrows(d) == 2,
           "defaults: 2 rows, 2 inputs, 2 gate inputs");
    tap_ok(strcmp(d->y_name, "c") == 0 && d->y[0] == 3 && d->y[1] == 6,
           "defaults: the last column is the response");
    tap_ok(d->x[0] == 1 && d->x[1] == 1 && d->x[2] == 2 && d->x[3] == 1 && d->x[4] == 4 &&
               d->x[5] == 5,
           "defaults: X rows (1, a, b)");
    tap_ok(memcmp(d->x, d->z, 6 * sizeof *d->x) == 0, "defaults: Z = X");
    tap_ok(strcmp(d->x_names[0], "a") == 0 && strcmp(d->x_names[1], "b") == 0 &&
               strcmp(d->z_names[1], "b") == 0,
           "defaults: names");
    tap_int((long)moe_dataset_omitted(d), 0, "defaults: nothing omitted");
    moe_dataset_free(d);

    s = sel_of("1", "c, 2", "b", MOE_NA_FAIL);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "explicit: built");
    tap_ok(strcmp(d->y_name, "a") == 0 && d->y[1] == 4, "explicit: response by index");
    tap_ok(d->nx == 2 && strcmp(d->x_names[0], "c") == 0 && d->x[1] == 3 && d->x[2] == 2,
           "explicit: inputs in the given order, by name and index");
    tap_ok(d->nz == 1 && strcmp(d->z_names[0], "b") == 0 && d->z[1] == 2 && d->z[3] == 5,
           "explicit: gate inputs");
    moe_dataset_free(d);

    s = sel_of("c", "", NULL, MOE_NA_FAIL);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "intercept only: built");
    tap_ok(d->nx == 0 && d->nz == 0 && d->x[0] == 1 && d->x[1] == 1,
           "intercept only: X is a column of ones, Z too");
    moe_dataset_free(d);

    s = sel_of(NULL, "a", "", MOE_NA_FAIL);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "gate intercept only");
    tap_ok(d->nx == 1 && d->nz == 0, "gate intercept only: shapes");
    moe_dataset_free(d);

    expect_fail("no such response", t, sel_of("foo", NULL, NULL, MOE_NA_FAIL), MOE_EINVAL, 0, 0,
                "no column 'foo' (columns are: a, b, c)");
    expect_fail("no such input", t, sel_of(NULL, "a,zz", NULL, MOE_NA_FAIL), MOE_EINVAL, 0, 0,
                "no column 'zz' (columns are: a, b, c)");
    expect_fail("index too large", t, sel_of("7", NULL, NULL, MOE_NA_FAIL), MOE_EINVAL, 0, 0,
                "no column 7");
    expect_fail("response as input", t, sel_of("c", "a,c", NULL, MOE_NA_FAIL), MOE_EINVAL, 0, 0,
                "column 'c' is the response and cannot also be an input");
    expect_fail("response as gate input", t, sel_of("c", "a", "3", MOE_NA_FAIL), MOE_EINVAL, 0, 0,
                "column 'c' is the response and cannot also be a gate input");
    expect_fail("default inputs but response listed", t, sel_of(NULL, NULL, "c", MOE_NA_FAIL),
                MOE_EINVAL, 0, 0, "cannot also be a gate input");
    expect_fail("listed twice", t, sel_of(NULL, "a,1", NULL, MOE_NA_FAIL), MOE_EINVAL, 0, 0,
                "column 'a' is listed twice in the inputs");
    expect_fail("gate listed twice", t, sel_of(NULL, "a", "b,b", MOE_NA_FAIL), MOE_EINVAL, 0, 0,
                "column 'b' is listed twice in the gate inputs");
    expect_fail("empty item", t, sel_of(NULL, "a,,b", NULL, MOE_NA_FAIL), MOE_EINVAL, 0, 0,
                "empty column name in the inputs 'a,,b'");
    moe_dataset_free(NULL);
    tap_int(moe_dataset_from_table(NULL, NULL, &d, NULL), MOE_EINVAL, "NULL table");
    moe_table_free(t);
}

static void test_missing(void)
{
    /* line 1 header; the bad cells: name (unused text) on every line, x2 NA on line 3,
     * y "abc" on line 4, x1 empty on line 5, x2 Inf on line 6, y 1e400 on line 7. */
    moe_table *t = table_of("name,x1,x2,y\n"
                            "ann,1,2,3\n"
                            "bob,1,NA,3\n"
                            "cy,2,3,abc\n"
                            "di,,4,5\n"
                            "ed,3,Inf,6\n"
                            "fi,4,5,1e400\n"
                            "gu,5,6,7\n");
    moe_dataset *d = NULL;
    moe_error err;
    moe_selection s = sel_of("y", "x1,x2", NULL, MOE_NA_FAIL);
    expect_fail("NA", t, s, MOE_EFORMAT, 3, 3, "F:3:3: missing value (NA) in column 'x2'");
    expect_fail("NA count", t, s, MOE_EFORMAT, 3, 3, "2 such cells in this column");
    expect_fail("text", t, sel_of("y", "x1", NULL, MOE_NA_FAIL), MOE_EFORMAT, 4, 4,
                "F:4:4: not a number (abc) in column 'y'");
    expect_fail("empty", t, sel_of("x2", "x1", NULL, MOE_NA_FAIL), MOE_EFORMAT, 3, 3,
                "F:3:3: missing value (NA)");
    expect_fail("empty cell", t, sel_of("x1", "", NULL, MOE_NA_FAIL), MOE_EFORMAT, 5, 2,
                "F:5:2: missing value (empty cell) in column 'x1'");
    expect_fail("unused name column, default inputs include it", t,
                sel_of("y", NULL, NULL, MOE_NA_FAIL), MOE_EFORMAT, 2, 1,
                "F:2:1: not a number (ann) in column 'name'");

    moe_table *t2 = table_of("a,b\n1,Inf\n2,-inf\n");
    expect_fail("infinite", t2, sel_of("b", NULL, NULL, MOE_NA_FAIL), MOE_EFORMAT, 2, 2,
                "F:2:2: infinite value (Inf)");
    moe_table_free(t2);
    t2 = table_of("a,b\n1,2\n2,-1e400\n");
    expect_fail("overflow", t2, sel_of("b", NULL, NULL, MOE_NA_FAIL), MOE_EFORMAT, 3, 2,
                "F:3:2: number overflows a double (-1e400)");
    moe_table_free(t2);

    s = sel_of("y", "x1,x2", NULL, MOE_NA_OMIT);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "omit: built");
    tap_int((long)moe_dataset_omitted(d), 5, "omit: 5 rows dropped");
    tap_ok(d->n == 2 && d->y[0] == 3 && d->y[1] == 7 && d->x[1] == 1 && d->x[2] == 2 &&
               d->x[4] == 5 && d->x[5] == 6,
           "omit: the kept rows are lines 2 and 8");
    moe_dataset_free(d);

    s = sel_of("x1", "", NULL, MOE_NA_OMIT);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "omit, one column");
    tap_ok(d->n == 6 && d->omitted == 1, "omit: only the row bad in a used column is dropped");
    moe_dataset_free(d);

    s = sel_of("name", "", NULL, MOE_NA_OMIT);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_EFORMAT, "omit: no rows left");
    tap_ok(d == NULL && has(err.message, "no rows left: all 7 rows"), "omit: message '%s'",
           msg(&err));
    moe_table_free(t);
}

/* A model with the given names, built by hand (only the fields read by the data layer). */
static moe_model *fake_model(const char *y, size_t nx, const char **x, size_t nz,
                             const char **z)
{
    moe_model *m = calloc(1, sizeof *m);
    m->nx = nx;
    m->nz = nz;
    m->y_name = strdup(y);
    m->x_names = calloc(nx + 1, sizeof *m->x_names);
    m->z_names = calloc(nz + 1, sizeof *m->z_names);
    for (size_t j = 0; j < nx; j++)
        m->x_names[j] = strdup(x[j]);
    for (size_t j = 0; j < nz; j++)
        m->z_names[j] = strdup(z[j]);
    return m;
}

static void fake_free(moe_model *m)
{
    for (size_t j = 0; j < m->nx; j++)
        free(m->x_names[j]);
    for (size_t j = 0; j < m->nz; j++)
        free(m->z_names[j]);
    free(m->x_names);
    free(m->z_names);
    free(m->y_name);
    free(m);
}

static void test_for_model(void)
{
    const char *x[] = {"b", "a"}, *z[] = {"c"};
    moe_model *m = fake_model("y", 2, x, 1, z);
    moe_table *t = table_of("c,a,b,other\n1,2,3,zz\n4,5,6,zz\n");
    moe_dataset *d = NULL;
    moe_error err;
    tap_int(moe_dataset_for_model(t, m, 0, MOE_NA_FAIL, &d, &err), MOE_SUCCESS,
            "for model: no response needed");
    tap_ok(d->y == NULL && d->nx == 2 && d->x[1] == 3 && d->x[2] == 2 && d->z[1] == 1 &&
               d->z[3] == 4,
           "for model: columns by name in the model's order");
    tap_ok(strcmp(d->x_names[0], "b") == 0 && strcmp(d->z_names[0], "c") == 0,
           "for model: the model's names");
    moe_dataset_free(d);
    tap_int(moe_dataset_for_model(t, m, 1, MOE_NA_FAIL, &d, &err), MOE_EINVAL,
            "for model: missing response");
    tap_ok(d == NULL && has(err.message, "no column 'y', the model's response (columns are: c, a, "
                                         "b, other)"),
           "for model: message '%s'", msg(&err));
    moe_table_free(t);

    t = table_of("a,b,y\n1,2,3\n");
    tap_int(moe_dataset_for_model(t, m, 1, MOE_NA_FAIL, &d, &err), MOE_EINVAL,
            "for model: missing gate input");
    tap_ok(has(err.message, "no column 'c', the model's gate input"), "for model: gate message");
    moe_table_free(t);

    t = table_of("a,b,c,y\n1,2,3,4\n1,NA,3,5\n1,2,3,NA\n");
    tap_int(moe_dataset_for_model(t, m, 1, MOE_NA_FAIL, &d, &err), MOE_EFORMAT,
            "for model: NA fails");
    tap_ok(err.line == 3 && err.column == 2, "for model: NA at 3:2");
    tap_int(moe_dataset_for_model(t, m, 0, MOE_NA_OMIT, &d, &err), MOE_SUCCESS,
            "for model: omit without response");
    tap_ok(d->n == 2 && d->omitted == 1 && d->y == NULL, "for model: the response's NA is ignored");
    moe_dataset_free(d);
    tap_int(moe_dataset_for_model(t, m, 1, MOE_NA_OMIT, &d, &err), MOE_SUCCESS,
            "for model: omit with response");
    tap_ok(d->n == 1 && d->omitted == 2 && d->y[0] == 4 && strcmp(d->y_name, "y") == 0,
           "for model: both bad rows dropped");
    moe_dataset_free(d);
    moe_table_free(t);

    /* A model input called "2" is a name, never an index. */
    const char *x2[] = {"2"};
    moe_model *m2 = fake_model("y", 1, x2, 0, NULL);
    t = table_of("a,b,y\n1,2,3\n");
    tap_int(moe_dataset_for_model(t, m2, 1, MOE_NA_FAIL, &d, &err), MOE_EINVAL,
            "for model: names are not indices");
    moe_table_free(t);
    fake_free(m2);
    fake_free(m);
}

static void test_arrays_and_write(void)
{
    moe_dataset *d = moe_dataset_alloc(3, 2, 1, 1);
    tap_ok(d && d->x[0] == 1 && d->x[3] == 1 && d->x[6] == 1 && d->z[2] == 1 && d->y &&
               d->x_names[1] == NULL,
           "alloc: intercepts set, names NULL");
    tap_int(moe_dataset_set_names(d, NULL, NULL, NULL), MOE_SUCCESS, "set_names defaults");
    tap_ok(strcmp(d->y_name, "y") == 0 && strcmp(d->x_names[1], "x2") == 0 &&
               strcmp(d->z_names[0], "z1") == 0,
           "set_names: y, x1.., z1..");
    const char *xn[] = {"p", NULL};
    tap_int(moe_dataset_set_names(d, "r", xn, NULL), MOE_SUCCESS, "set_names again");
    tap_ok(strcmp(d->y_name, "r") == 0 && strcmp(d->x_names[0], "p") == 0 &&
               strcmp(d->x_names[1], "x2") == 0,
           "set_names: given names and defaults for NULL entries");
    moe_dataset_free(d);

    double x[6] = {1, 2, 3, 4, 5, 6}, z[3] = {7, 8, 9}, y[3] = {0.1, 0.2, 0.3};
    moe_error err;
    tap_int(moe_dataset_from_arrays(3, 2, x, 1, z, y, &d, &err), MOE_SUCCESS, "from arrays");
    tap_ok(d->n == 3 && d->x[4] == 3 && d->x[5] == 4 && d->z[5] == 9 && d->y[2] == 0.3,
           "from arrays: values");
    moe_dataset_free(d);
    tap_int(moe_dataset_from_arrays(3, 2, x, 0, NULL, NULL, &d, &err), MOE_SUCCESS,
            "from arrays, Z = X, no y");
    tap_ok(d->nz == 2 && d->z[4] == 3 && d->y == NULL && strcmp(d->z_names[1], "x2") == 0,
           "from arrays: Z = X with X's names");
    moe_dataset_free(d);
    x[3] = NAN;
    tap_int(moe_dataset_from_arrays(3, 2, x, 0, NULL, y, &d, &err), MOE_EINVAL,
            "from arrays: NaN rejected");
    tap_ok(d == NULL && has(err.message, "x[1][1] is not a finite number"), "NaN message");
    tap_int(moe_dataset_from_arrays(0, 2, x, 0, NULL, y, &d, &err), MOE_EINVAL, "no rows");

    /* Write and read back: every double bit for bit (xorshift64, fixed seed). */
    size_t n = 500;
    double *xx = malloc(n * 2 * sizeof *xx), *zz = malloc(n * 2 * sizeof *zz),
           *yy = malloc(n * sizeof *yy);
    uint64_t s = 2463534242ULL;
    for (size_t i = 0; i < n * 2; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double v;
        uint64_t bits = s;
        memcpy(&v, &bits, sizeof v);
        xx[i] = isfinite(v) ? v : 1.0 / (double)(i + 1);
        zz[i] = (double)(s >> 11) * 0x1p-53 - 0.5;
    }
    for (size_t i = 0; i < n; i++)
        yy[i] = xx[2 * i] * 1e-3 + zz[2 * i];
    tap_int(moe_dataset_from_arrays(n, 2, xx, 2, zz, yy, &d, &err), MOE_SUCCESS, "random set");
    d->z_names[0][0] = 'x'; /* z1 -> x1: the same column as x1 in the union */
    free(d->z_names[1]);
    d->z_names[1] = strdup("\"q,"); /* a name that needs quoting */
    snprintf(path, sizeof path, "%s/write-XXXXXX", tmpdir);
    int fd = mkstemp(path);
    FILE *fp = fdopen(fd, "w");
    tap_int(moe_dataset_write_csv(d, fp, &err), MOE_SUCCESS, "write_csv");
    fclose(fp);
    moe_table *t = NULL;
    tap_int(moe_table_read_csv(path, NULL, &t, &err), MOE_SUCCESS, "write_csv: reads back");
    unlink(path);
    tap_ok(t && moe_table_ncols(t) == 4 && strcmp(moe_table_colname(t, 0), "x1") == 0 &&
               strcmp(moe_table_colname(t, 2), "\"q,") == 0 &&
               strcmp(moe_table_colname(t, 3), "y") == 0,
           "write_csv: union of inputs, quoted name, response last");
    int same = t != NULL;
    for (size_t i = 0; same && i < n; i++) {
        same &= memcmp(&moe_table_column(t, 0)[i], &xx[2 * i], 8) == 0;
        same &= memcmp(&moe_table_column(t, 1)[i], &xx[2 * i + 1], 8) == 0;
        same &= memcmp(&moe_table_column(t, 2)[i], &zz[2 * i + 1], 8) == 0;
        same &= memcmp(&moe_table_column(t, 3)[i], &yy[i], 8) == 0;
    }
    tap_ok(same, "write_csv: %zu rows read back bit for bit", n);
    moe_table_free(t);
    moe_dataset_free(d);
    free(xx);
    free(zz);
    free(yy);
}

/* A selection with the optional columns too. */
static moe_selection sel_opt(const char *y, const char *x, const char *w, const char *off,
                             const char *tr, moe_na_policy na)
{
    moe_selection s = sel_of(y, x, NULL, na);
    s.weights = w;
    s.offset = off;
    s.trials = tr;
    return s;
}

static void test_weights(void)
{
    moe_selection s = moe_selection_default();
    tap_ok(s.weights == NULL && s.offset == NULL && s.trials == NULL,
           "selection defaults: no weights, offset or trials");
    moe_table *t = table_of("x,w,y\n1,2,3\n2,0.5,4\n3,0,5\n");
    moe_dataset *d = NULL;
    moe_error err;
    s = sel_opt("y", "x", "w", NULL, NULL, MOE_NA_FAIL);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "weights: built");
    tap_ok(d->n == 3 && d->w && d->w[0] == 2 && d->w[1] == 0.5 && d->w[2] == 0,
           "weights: read, a zero weight allowed");
    tap_ok(strcmp(d->w_name, "w") == 0 && d->offset == NULL && d->trials == NULL &&
               d->offset_name == NULL && d->trials_name == NULL,
           "weights: name kept, no offset or trials");
    moe_dataset_free(d);
    s = sel_opt(NULL, NULL, "2", NULL, NULL, MOE_NA_FAIL);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "weights by index: built");
    tap_ok(d->nx == 1 && strcmp(d->x_names[0], "x") == 0 && d->nz == 1 && d->w[0] == 2,
           "weights: left out of the default inputs");
    moe_dataset_free(d);
    s = sel_of("y", "x", NULL, MOE_NA_FAIL);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "no weights: built");
    tap_ok(d->w == NULL && d->w_name == NULL, "no weights: d->w is NULL");
    moe_dataset_free(d);
    moe_table_free(t);

    t = table_of("x,w,y\n1,1,3\n\n2,-1,4\n");
    expect_fail("negative weight", t, sel_opt("y", "x", "w", NULL, NULL, MOE_NA_FAIL),
                MOE_EFORMAT, 4, 2, "F:4:2: weight must be >= 0 (-1) in column 'w'");
    expect_fail("negative weight, omit", t, sel_opt("y", "x", "w", NULL, NULL, MOE_NA_OMIT),
                MOE_EFORMAT, 4, 2, "F:4:2: weight must be >= 0 (-1) in column 'w'");
    moe_table_free(t);
    t = table_of("x,w,y\n1,-0.25,NA\n2,1,4\n");
    expect_fail("negative weight before a bad cell on its line", t,
                sel_opt("y", "x", "w", NULL, NULL, MOE_NA_FAIL), MOE_EFORMAT, 2, 2,
                "F:2:2: weight must be >= 0 (-0.25) in column 'w'");
    s = sel_opt("y", "x", "w", NULL, NULL, MOE_NA_OMIT);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS,
            "negative weight in a dropped row: built");
    tap_ok(d->n == 1 && d->omitted == 1 && d->w[0] == 1,
           "negative weight in a dropped row: ignored");
    moe_dataset_free(d);
    moe_table_free(t);
    t = table_of("x,w,y\n1,1,NA\n2,-1,4\n");
    expect_fail("bad cell before a negative weight", t,
                sel_opt("y", "x", "w", NULL, NULL, MOE_NA_FAIL), MOE_EFORMAT, 2, 3,
                "F:2:3: missing value (NA) in column 'y'");
    moe_table_free(t);

    t = table_of("x,w,y\n1,0,3\n2,0,4\n");
    expect_fail("all-zero weights", t, sel_opt("y", "x", "w", NULL, NULL, MOE_NA_FAIL),
                MOE_EFORMAT, 0, 0, "F: every weight is 0 in column 'w'");
    moe_table_free(t);
    t = table_of("x,w,y\n1,0,3\n2,5,NA\n");
    expect_fail("all-zero weights in the rows kept", t,
                sel_opt("y", "x", "w", NULL, NULL, MOE_NA_OMIT), MOE_EFORMAT, 0, 0,
                "F: every weight is 0 in column 'w' (in the rows kept)");
    moe_table_free(t);

    t = table_of("x,w,y\n1,1,3\n2,NA,4\n3,2,5\n");
    expect_fail("NaN weight", t, sel_opt("y", "x", "w", NULL, NULL, MOE_NA_FAIL), MOE_EFORMAT, 3,
                2, "F:3:2: missing value (NA) in column 'w'");
    expect_fail("NaN weight, default inputs", t, sel_opt("y", NULL, "w", NULL, NULL, MOE_NA_FAIL),
                MOE_EFORMAT, 3, 2, "F:3:2: missing value (NA) in column 'w'");
    s = sel_opt("y", "x", "w", NULL, NULL, MOE_NA_OMIT);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "NaN weight, omit: built");
    tap_ok(d->n == 2 && d->omitted == 1 && d->w[0] == 1 && d->w[1] == 2 && d->y[1] == 5,
           "NaN weight, omit: the row is dropped");
    tap_ok(d->line && d->line[0] == 2 && d->line[1] == 4, "NaN weight, omit: lines 2 and 4 kept");
    moe_dataset_free(d);
    moe_table_free(t);
}

static void test_offset_trials(void)
{
    moe_table *t = table_of("x,e,n,y\n1,0.5,3,1\n2,-1.5,4,0\n");
    moe_dataset *d = NULL;
    moe_error err;
    moe_selection s = sel_opt("y", NULL, NULL, "e", "n", MOE_NA_FAIL);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "offset and trials: built");
    tap_ok(d->offset && d->offset[0] == 0.5 && d->offset[1] == -1.5 && d->trials &&
               d->trials[0] == 3 && d->trials[1] == 4 && d->w == NULL,
           "offset and trials: read");
    tap_ok(d->nx == 1 && strcmp(d->x_names[0], "x") == 0 && strcmp(d->offset_name, "e") == 0 &&
               strcmp(d->trials_name, "n") == 0,
           "offset and trials: names, left out of the default inputs");
    tap_ok(d->y_column == 4 && d->trials_column == 3, "offset and trials: y at column 4, trials 3");
    moe_dataset_free(d);
    s = sel_opt("y", "x", NULL, NULL, NULL, MOE_NA_FAIL);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "no trials: built");
    tap_ok(d->trials == NULL && d->offset == NULL && d->trials_column == 0 && d->y_column == 4,
           "no trials: trials_column 0");
    moe_dataset_free(d);
    moe_table_free(t);

    t = table_of("x,n,y\n1,3,1\n2,2.5,1\n");
    expect_fail("non-integer trials", t, sel_opt("y", "x", NULL, NULL, "n", MOE_NA_FAIL),
                MOE_EFORMAT, 3, 2, "F:3:2: trials must be a positive integer (2.5) in column 'n'");
    moe_table_free(t);
    t = table_of("x,n,y\n1,0,0\n");
    expect_fail("zero trials", t, sel_opt("y", "x", NULL, NULL, "n", MOE_NA_OMIT), MOE_EFORMAT, 2,
                2, "F:2:2: trials must be a positive integer (0) in column 'n'");
    moe_table_free(t);
    t = table_of("x,n,w,y\n1,0,-1,1\n");
    expect_fail("bad trials and weight on one line: the trials (column 2) first", t,
                sel_opt("y", "x", "w", NULL, "n", MOE_NA_FAIL), MOE_EFORMAT, 2, 2,
                "trials must be a positive integer (0)");
    moe_table_free(t);
    t = table_of("x,w,n,y\n1,1,1,1\n1,1,-3,1\n1,-2,1,1\n");
    expect_fail("bad trials on an earlier line than a bad weight", t,
                sel_opt("y", "x", "w", NULL, "n", MOE_NA_FAIL), MOE_EFORMAT, 3, 3,
                "F:3:3: trials must be a positive integer (-3) in column 'n'");
    moe_table_free(t);
}

static void test_roles(void)
{
    moe_table *t = table_of("a,b,w,n,e,y\n1,2,1,1,0,1\n");
    moe_dataset *d = NULL;
    moe_error err;
    moe_selection s = sel_opt("y", NULL, "w", "e", "n", MOE_NA_FAIL);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "roles: built");
    tap_ok(d->nx == 2 && d->nz == 2 && strcmp(d->x_names[1], "b") == 0,
           "roles: the default inputs are the other columns");
    moe_dataset_free(d);
    expect_fail("weights as the response", t, sel_opt("y", "a", "y", NULL, NULL, MOE_NA_FAIL),
                MOE_EINVAL, 0, 0, "column 'y' is the response and cannot also be the weights");
    expect_fail("trials as the default response", t,
                sel_opt(NULL, "a", NULL, NULL, "6", MOE_NA_FAIL), MOE_EINVAL, 0, 0,
                "column 'y' is the response and cannot also be the trials");
    expect_fail("weights as an input", t, sel_opt("y", "a,w", "w", NULL, NULL, MOE_NA_FAIL),
                MOE_EINVAL, 0, 0, "column 'w' is the weights and cannot also be an input");
    s = sel_opt("y", "a", NULL, "e", NULL, MOE_NA_FAIL);
    s.gate_inputs = "b,e";
    expect_fail("offset as a gate input", t, s, MOE_EINVAL, 0, 0,
                "column 'e' is the offset and cannot also be a gate input");
    expect_fail("offset as an input", t, sel_opt("y", "e", NULL, "e", NULL, MOE_NA_FAIL),
                MOE_EINVAL, 0, 0, "column 'e' is the offset and cannot also be an input");
    expect_fail("weights and trials", t, sel_opt("y", "a", "w", NULL, "3", MOE_NA_FAIL),
                MOE_EINVAL, 0, 0, "column 'w' is the weights and cannot also be the trials");
    expect_fail("offset and trials", t, sel_opt("y", "a", NULL, "5", "e", MOE_NA_FAIL),
                MOE_EINVAL, 0, 0, "column 'e' is the offset and cannot also be the trials");
    expect_fail("trials as an input", t, sel_opt("y", "a,n", NULL, NULL, "n", MOE_NA_FAIL),
                MOE_EINVAL, 0, 0, "column 'n' is the trials and cannot also be an input");
    expect_fail("no such weights column", t, sel_opt("y", "a", "zz", NULL, NULL, MOE_NA_FAIL),
                MOE_EINVAL, 0, 0, "no column 'zz' (columns are: a, b, w, n, e, y)");
    expect_fail("no such trials index", t, sel_opt("y", "a", NULL, NULL, "9", MOE_NA_FAIL),
                MOE_EINVAL, 0, 0, "no column 9");
    moe_table_free(t);
}

static void test_lines(void)
{
    /* Line 1 header, 2 blank, 3 data, 4 blank, 5-6 one record (a quoted newline), 7 a bad
     * response, 8 data. */
    moe_table *t = table_of("x,note,y\n"
                            "\n"
                            "1,a,2\n"
                            "\n"
                            "2,\"two\n"
                            "lines\",3\n"
                            "3,c,NA\n"
                            "4,d,5\n");
    tap_ok(t->nrows == 4 && t->lines && t->lines[0] == 3 && t->lines[1] == 5 &&
               t->lines[2] == 7 && t->lines[3] == 8,
           "table lines: 3, 5, 7, 8 (blank lines skipped, a record's first line)");
    moe_dataset *d = NULL;
    moe_error err;
    moe_selection s = sel_of("y", "x", NULL, MOE_NA_OMIT);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "lines: built with omit");
    tap_ok(d->n == 3 && d->omitted == 1 && d->line && d->line[0] == 3 && d->line[1] == 5 &&
               d->line[2] == 8,
           "lines: kept through the dropped row (3, 5, 8)");
    tap_ok(d->source && strcmp(d->source, path) == 0 && d->y_column == 3,
           "lines: the source is the file, y in column 3");
    tap_int(moe_dataset_row_error(&err, d, 2, d->y_column, "y must be %s (%g)", "a count", 5.5),
            MOE_EFORMAT, "row_error: status");
    tap_ok(err.status == MOE_EFORMAT && err.line == 8 && err.column == 3 &&
               strcmp(err.file, path) == 0,
           "row_error: err at 8:3 of the file");
    tap_ok(strcmp(msg(&err), "F:8:3: y must be a count (5.5)") == 0, "row_error: message '%s'",
           msg(&err));
    moe_dataset_row_error(&err, d, 1, 0, "whole row");
    tap_ok(strcmp(msg(&err), "F:5: whole row") == 0 && err.column == 0,
           "row_error without a column: '%s'", msg(&err));
    tap_int(moe_dataset_row_error(NULL, d, 0, 1, "x"), MOE_EFORMAT, "row_error: NULL err");
    moe_dataset_free(d);
    moe_table_free(t);

    /* Line 1 header, 2-3 one record, 4 blank, 5 a negative weight. */
    t = table_of("x,note,w,y\n1,\"a\nb\",1,1\n\n2,c,-1,3\n");
    expect_fail("negative weight after a quoted newline and a blank line", t,
                sel_opt("y", "x", "w", NULL, NULL, MOE_NA_FAIL), MOE_EFORMAT, 5, 3,
                "F:5:3: weight must be >= 0 (-1) in column 'w'");
    moe_table_free(t);
    t = table_of("1,2\r\n\r\n3,4\r\n");
    tap_ok(t->nrows == 2 && t->lines[0] == 1 && t->lines[1] == 3,
           "table lines without a header, CRLF: 1, 3");
    moe_table_free(t);

    double x[2] = {1, 2}, y[2] = {3, 4};
    tap_int(moe_dataset_from_arrays(2, 1, x, 0, NULL, y, &d, &err), MOE_SUCCESS, "arrays: built");
    tap_ok(d->line == NULL && d->source == NULL && d->y_column == 0 && d->trials_column == 0 &&
               d->w == NULL && d->offset == NULL && d->trials == NULL,
           "arrays: no positions, no optional columns");
    moe_dataset_row_error(&err, d, 1, 2, "y must be %s", "positive");
    tap_ok(strcmp(err.message, "row 2: y must be positive") == 0 && err.line == 0 &&
               err.column == 0 && err.status == MOE_EFORMAT,
           "row_error from arrays: '%s'", err.message);
    moe_dataset_free(d);
    d = moe_dataset_alloc(2, 1, 1, 0);
    tap_ok(d && d->w == NULL && d->offset == NULL && d->trials == NULL && d->line == NULL &&
               d->source == NULL,
           "alloc: optional arrays and positions NULL");
    moe_dataset_free(d);
}

static void test_from_names(void)
{
    moe_table *t = table_of("c,a,b,e,n,y\n1,2,3,0.5,2,1\n4,5,6,-0.5,3,NA\n");
    const char *x[] = {"b", "a"}, *z[] = {"c"};
    moe_dataset *d = NULL;
    moe_error err;
    tap_int(moe_dataset_from_names(t, NULL, x, 2, z, 1, "e", "n", MOE_NA_FAIL, &d, &err),
            MOE_SUCCESS, "from names: built without a response");
    tap_ok(d->y == NULL && d->y_column == 0 && d->nx == 2 && d->x[1] == 3 && d->x[2] == 2 &&
               d->z[1] == 1 && d->z[3] == 4,
           "from names: columns by name in the given order");
    tap_ok(strcmp(d->x_names[0], "b") == 0 && strcmp(d->z_names[0], "c") == 0,
           "from names: names");
    tap_ok(d->offset[0] == 0.5 && d->offset[1] == -0.5 && d->trials[0] == 2 &&
               d->trials[1] == 3 && d->trials_column == 5 && d->w == NULL,
           "from names: offset and trials");
    moe_dataset_free(d);
    tap_int(moe_dataset_from_names(t, "y", x, 2, z, 1, NULL, NULL, MOE_NA_FAIL, &d, &err),
            MOE_EFORMAT, "from names: the response's NA fails");
    tap_ok(d == NULL && err.line == 3 && err.column == 6, "from names: NA at 3:6");
    tap_int(moe_dataset_from_names(t, "y", x, 2, z, 1, NULL, NULL, MOE_NA_OMIT, &d, &err),
            MOE_SUCCESS, "from names: omit");
    tap_ok(d->n == 1 && d->omitted == 1 && d->y[0] == 1 && d->y_column == 6 && d->line[0] == 2,
           "from names: the bad row dropped");
    moe_dataset_free(d);
    tap_int(moe_dataset_from_names(t, "y", x, 2, z, 1, "zz", NULL, MOE_NA_FAIL, &d, &err),
            MOE_EINVAL, "from names: missing offset");
    tap_ok(d == NULL && has(err.message, "no column 'zz', the model's offset (columns are: c, a, "
                                         "b, e, n, y)"),
           "from names: message '%s'", msg(&err));
    tap_int(moe_dataset_from_names(t, "y", x, 2, z, 1, NULL, "N", MOE_NA_FAIL, &d, &err),
            MOE_EINVAL, "from names: missing trials");
    tap_ok(has(err.message, "no column 'N', the model's trials"), "from names: trials message");
    tap_int(moe_dataset_from_names(t, "Y", x, 2, z, 1, NULL, NULL, MOE_NA_FAIL, &d, &err),
            MOE_EINVAL, "from names: missing response");
    tap_ok(has(err.message, "no column 'Y', the model's response (columns are: c, a, b, e, n, y)"),
           "from names: response message");
    const char *zbad[] = {"q"};
    tap_int(moe_dataset_from_names(t, NULL, x, 2, zbad, 1, NULL, NULL, MOE_NA_FAIL, &d, &err),
            MOE_EINVAL, "from names: missing gate input");
    tap_ok(has(err.message, "no column 'q', the model's gate input"), "from names: gate message");
    const char *x2[] = {"2"};
    tap_int(moe_dataset_from_names(t, NULL, x2, 1, NULL, 0, NULL, NULL, MOE_NA_FAIL, &d, &err),
            MOE_EINVAL, "from names: names are not indices");
    tap_ok(has(err.message, "no column '2', the model's input"), "from names: input message");
    tap_int(moe_dataset_from_names(t, NULL, NULL, 1, NULL, 0, NULL, NULL, MOE_NA_FAIL, &d, &err),
            MOE_EINVAL, "from names: NULL names");
    tap_int(moe_dataset_from_names(t, NULL, NULL, 0, NULL, 0, NULL, NULL, 7, &d, &err),
            MOE_EINVAL, "from names: unknown policy");
    tap_int(moe_dataset_from_names(t, NULL, NULL, 0, NULL, 0, NULL, "e", MOE_NA_FAIL, &d, &err),
            MOE_EFORMAT, "from names: trials are checked");
    tap_ok(err.line == 2 && err.column == 4, "from names: bad trials at 2:4");
    moe_table_free(t);
}

/* The whole text of the file at P (static). */
static const char *slurp(const char *p)
{
    static char buf[4096];
    FILE *fp = fopen(p, "rb");
    size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    buf[n] = '\0';
    if (fp)
        fclose(fp);
    return buf;
}

static void test_write_optional(void)
{
    moe_table *t = table_of("x,w,e,n,y\n1,2,0.5,3,1\n2,1,-0.5,4,0\n");
    moe_dataset *d = NULL;
    moe_error err;
    moe_selection s = sel_opt("y", "x", "w", "e", "n", MOE_NA_FAIL);
    tap_int(moe_dataset_from_table(t, &s, &d, &err), MOE_SUCCESS, "write optional: built");
    moe_table_free(t);
    snprintf(path, sizeof path, "%s/write-XXXXXX", tmpdir);
    int fd = mkstemp(path);
    FILE *fp = fdopen(fd, "w");
    tap_int(moe_dataset_write_csv(d, fp, &err), MOE_SUCCESS, "write optional: written");
    fclose(fp);
    const char *text = slurp(path);
    tap_ok(strcmp(text, "x,w,e,n,y\n1,2,0.5,3,1\n2,1,-0.5,4,0\n") == 0,
           "write optional: weights, offset, trials by name, the response last");
    free(d->w_name);
    free(d->trials_name);
    d->w_name = d->trials_name = NULL;
    free(d->offset);
    d->offset = NULL;
    fp = fopen(path, "w");
    tap_int(moe_dataset_write_csv(d, fp, &err), MOE_SUCCESS, "write optional: written again");
    fclose(fp);
    text = slurp(path);
    tap_ok(strcmp(text, "x,weights,trials,y\n1,2,3,1\n2,1,4,0\n") == 0,
           "write optional: default names, no offset");
    unlink(path);
    moe_dataset_free(d);
}

int main(void)
{
    make_tmpdir("test_dataset");
    test_defaults();
    test_missing();
    test_for_model();
    test_arrays_and_write();
    test_weights();
    test_offset_trials();
    test_roles();
    test_lines();
    test_from_names();
    test_write_optional();
    rmdir(tmpdir);
    return tap_done();
}
