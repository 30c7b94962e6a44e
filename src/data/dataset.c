/* dataset.c: data sets (response, expert and gate design matrices, and the optional weights,
 * offset and trials) built from tables or arrays, and written as CSV.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/dataset.h"
#include "data/numparse.h"
#include "data/table.h"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

static void free_names(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t j = 0; j < n; j++)
        free(v[j]);
}

void moe_dataset_free(moe_dataset *d)
{
    if (!d)
        return;
    free_names(d->x_names, d->nx);
    free_names(d->z_names, d->nz);
    free(d->x_names);
    free(d->z_names);
    free(d->y_name);
    free(d->w_name);
    free(d->offset_name);
    free(d->trials_name);
    free(d->source);
    free(d->x);
    free(d->z);
    free(d->y);
    free(d->w);
    free(d->offset);
    free(d->trials);
    free(d->line);
    free(d);
}

moe_dataset *moe_dataset_alloc(size_t n, size_t nx, size_t nz, int with_y)
{
    if (n > SIZE_MAX / sizeof(double) / (nx + 1) || n > SIZE_MAX / sizeof(double) / (nz + 1))
        return NULL;
    moe_dataset *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->n = n;
    d->nx = nx;
    d->nz = nz;
    size_t nn = n ? n : 1; /* never malloc(0): NULL would read as a failure */
    d->x = malloc(nn * (nx + 1) * sizeof *d->x);
    d->z = malloc(nn * (nz + 1) * sizeof *d->z);
    d->x_names = calloc(nx ? nx : 1, sizeof *d->x_names);
    d->z_names = calloc(nz ? nz : 1, sizeof *d->z_names);
    if (with_y)
        d->y = malloc(nn * sizeof *d->y);
    if (!d->x || !d->z || !d->x_names || !d->z_names || (with_y && !d->y)) {
        moe_dataset_free(d);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        memset(d->x + i * (nx + 1), 0, (nx + 1) * sizeof *d->x);
        memset(d->z + i * (nz + 1), 0, (nz + 1) * sizeof *d->z);
        d->x[i * (nx + 1)] = 1.0;
        d->z[i * (nz + 1)] = 1.0;
    }
    for (size_t i = 0; with_y && i < n; i++)
        d->y[i] = 0.0;
    return d;
}

void moe_dataset_copy_rows(const moe_dataset *d, const size_t *rows, size_t n, moe_dataset *s)
{
    size_t px = d->nx + 1, pz = d->nz + 1;
    for (size_t t = 0; t < n; t++) {  /* element loops: a row is a few doubles, too
                                       * short for memcpy calls to pay */
        size_t r = rows[t];
        const double *xr = d->x + r * px, *zr = d->z + r * pz;
        double *xs = s->x + t * px, *zs = s->z + t * pz;
        for (size_t j = 0; j < px; j++)
            xs[j] = xr[j];
        for (size_t j = 0; j < pz; j++)
            zs[j] = zr[j];
        if (d->y)
            s->y[t] = d->y[r];
        if (d->w)
            s->w[t] = d->w[r];
        if (d->offset)
            s->offset[t] = d->offset[r];
        if (d->trials)
            s->trials[t] = d->trials[r];
    }
}

moe_dataset *moe_dataset_alloc_like(const moe_dataset *d, size_t n)
{
    moe_dataset *s = moe_dataset_alloc(n, d->nx, d->nz, d->y != NULL);
    if (!s)
        return NULL;
    size_t nn = n ? n : 1;
    if ((d->w && !(s->w = malloc(nn * sizeof *s->w))) ||
        (d->offset && !(s->offset = malloc(nn * sizeof *s->offset))) ||
        (d->trials && !(s->trials = malloc(nn * sizeof *s->trials)))) {
        moe_dataset_free(s);
        return NULL;
    }
    return s;
}

moe_dataset *moe_dataset_pick(const moe_dataset *d, const size_t *rows, size_t n)
{
    moe_dataset *s = moe_dataset_alloc_like(d, n);
    if (s)
        moe_dataset_copy_rows(d, rows, n, s);
    return s;
}

/* A name from NAMES[J] when given, else PREFIX followed by J+1. */
static char *name_or_default(const char *const *names, size_t j, const char *prefix)
{
    if (names && names[j])
        return dup_str(names[j]);
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%s%zu", prefix, j + 1);
    return dup_str(tmp);
}

int moe_dataset_set_names(moe_dataset *d, const char *y_name, const char *const *x_names,
                          const char *const *z_names)
{
    if (!d)
        return MOE_EINVAL;
    char *y = dup_str(y_name ? y_name : "y");
    if (!y)
        return MOE_ENOMEM;
    free(d->y_name);
    d->y_name = y;
    for (size_t j = 0; j < d->nx; j++) {
        char *s = name_or_default(x_names, j, "x");
        if (!s)
            return MOE_ENOMEM;
        free(d->x_names[j]);
        d->x_names[j] = s;
    }
    for (size_t j = 0; j < d->nz; j++) {
        char *s = name_or_default(z_names, j, "z");
        if (!s)
            return MOE_ENOMEM;
        free(d->z_names[j]);
        d->z_names[j] = s;
    }
    return MOE_SUCCESS;
}

moe_selection moe_selection_default(void)
{
    moe_selection s;
    s.response = NULL;
    s.inputs = NULL;
    s.gate_inputs = NULL;
    s.na = MOE_NA_FAIL;
    s.weights = NULL;
    s.offset = NULL;
    s.trials = NULL;
    return s;
}

size_t moe_dataset_nrows(const moe_dataset *d)
{
    return d ? d->n : 0;
}

size_t moe_dataset_omitted(const moe_dataset *d)
{
    return d ? d->omitted : 0;
}

const double *moe_dataset_response(const moe_dataset *d)
{
    return d ? d->y : NULL;
}

int moe_dataset_row_error(moe_error *err, const moe_dataset *d, size_t row, size_t column,
                          const char *fmt, ...)
{
    if (!err)
        return MOE_EFORMAT;
    char text[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (d && d->source && d->line && row < d->n)
        return moe_error_at(err, MOE_EFORMAT, d->source, d->line[row], column, "%s", text);
    return moe_error_set(err, MOE_EFORMAT, "row %zu: %s", row + 1, text);
}

/* ---------------------------------------------------------------- building from a table */

/* The column indices a data set takes from a table. */
typedef struct colsel {
    size_t y;        /* response column, or SIZE_MAX for none */
    size_t *x, nx;   /* expert inputs */
    size_t *z, nz;   /* gate inputs */
    size_t w;        /* weights column, or SIZE_MAX for none */
    size_t off;      /* offset column, or SIZE_MAX for none */
    size_t tr;       /* trials column, or SIZE_MAX for none */
} colsel;

#define COLSEL_NONE {.y = SIZE_MAX, .w = SIZE_MAX, .off = SIZE_MAX, .tr = SIZE_MAX}

static void colsel_free(colsel *c)
{
    free(c->x);
    free(c->z);
}

/* Parses a comma-separated list of names or indices into *IDX (*N entries). WHAT names the
 * list in messages ("inputs"). */
static int parse_list(const moe_table *t, const char *spec, const char *what, size_t **idx,
                      size_t *n, moe_error *err)
{
    size_t cap = 1;
    for (const char *p = spec; *p; p++)
        cap += *p == ',';
    *n = 0;
    *idx = malloc(cap * sizeof **idx);
    if (!*idx)
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    if (spec[strspn(spec, " \t")] == '\0')
        return MOE_SUCCESS; /* "": no columns (intercept only) */
    size_t len = strlen(spec);
    char *copy = malloc(len + 1);
    if (!copy)
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    memcpy(copy, spec, len + 1);
    int s = MOE_SUCCESS;
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *a = p, *b = p + strlen(p);
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        *b = '\0';
        if (*a == '\0') {
            char q[MOE_TABLE_TEXT];
            moe_data_quote(spec, strlen(spec), q);
            s = moe_error_at(err, MOE_EINVAL, t->name, 0, 0, "empty column name in the %s '%s'",
                             what, q);
            break;
        }
        size_t col;
        if ((s = moe_table_lookup(t, a, &col, err)))
            break;
        for (size_t k = 0; k < *n; k++)
            if ((*idx)[k] == col) {
                s = moe_error_at(err, MOE_EINVAL, t->name, 0, 0,
                                 "column '%s' is listed twice in the %s", t->names[col], what);
                break;
            }
        if (s)
            break;
        (*idx)[(*n)++] = col;
        if (!comma)
            break;
        p = comma + 1;
    }
    free(copy);
    return s;
}

/* A column plays one role only: the response, the weights, the offset, the trials or an
 * input (an input may also be a gate input, and is one by default). The single roles are
 * checked in this order, each against the later ones and then the inputs, so that the
 * message names the earlier role first. */
static int check_roles(const moe_table *t, const colsel *c, moe_error *err)
{
    const size_t one[4] = {c->y, c->w, c->off, c->tr};
    static const char *const role[4] = {"the response", "the weights", "the offset",
                                        "the trials"};
    for (size_t a = 0; a < 4; a++) {
        if (one[a] == SIZE_MAX)
            continue;
        const char *name = t->names[one[a]];
        for (size_t b = a + 1; b < 4; b++)
            if (one[b] == one[a])
                return moe_error_at(err, MOE_EINVAL, t->name, 0, 0,
                                    "column '%s' is %s and cannot also be %s", name, role[a],
                                    role[b]);
        for (size_t j = 0; j < c->nx; j++)
            if (c->x[j] == one[a])
                return moe_error_at(err, MOE_EINVAL, t->name, 0, 0,
                                    "column '%s' is %s and cannot also be an input", name,
                                    role[a]);
        for (size_t j = 0; j < c->nz; j++)
            if (c->z[j] == one[a])
                return moe_error_at(err, MOE_EINVAL, t->name, 0, 0,
                                    "column '%s' is %s and cannot also be a gate input", name,
                                    role[a]);
    }
    return MOE_SUCCESS;
}

static int select_columns(const moe_table *t, const moe_selection *sel, colsel *c,
                          moe_error *err)
{
    int s;
    if (sel->response) {
        if ((s = moe_table_lookup(t, sel->response, &c->y, err)))
            return s;
    } else {
        c->y = t->ncols - 1;
    }
    if (sel->weights && (s = moe_table_lookup(t, sel->weights, &c->w, err)))
        return s;
    if (sel->offset && (s = moe_table_lookup(t, sel->offset, &c->off, err)))
        return s;
    if (sel->trials && (s = moe_table_lookup(t, sel->trials, &c->tr, err)))
        return s;
    if (sel->inputs) {
        if ((s = parse_list(t, sel->inputs, "inputs", &c->x, &c->nx, err)))
            return s;
    } else {
        c->x = malloc(t->ncols * sizeof *c->x);
        if (!c->x)
            return moe_error_set(err, MOE_ENOMEM, "out of memory");
        for (size_t j = 0; j < t->ncols; j++)
            if (j != c->y && j != c->w && j != c->off && j != c->tr)
                c->x[c->nx++] = j;
    }
    if (sel->gate_inputs) {
        if ((s = parse_list(t, sel->gate_inputs, "gate inputs", &c->z, &c->nz, err)))
            return s;
    } else {
        c->z = malloc((c->nx ? c->nx : 1) * sizeof *c->z);
        if (!c->z)
            return moe_error_set(err, MOE_ENOMEM, "out of memory");
        memcpy(c->z, c->x, c->nx * sizeof *c->z);
        c->nz = c->nx;
    }
    return check_roles(t, c, err);
}

/* Whether column J is used by C. */
static int used(const colsel *c, size_t j)
{
    if (j == c->y || j == c->w || j == c->off || j == c->tr)
        return 1;
    for (size_t k = 0; k < c->nx; k++)
        if (c->x[k] == j)
            return 1;
    for (size_t k = 0; k < c->nz; k++)
        if (c->z[k] == j)
            return 1;
    return 0;
}

/* The KEPT values of V (NROWS of them) whose rows are not dropped; NULL when out of memory. */
static double *kept_values(const double *v, const unsigned char *drop, size_t nrows, size_t kept)
{
    double *out = malloc((kept ? kept : 1) * sizeof *out);
    if (out)
        for (size_t i = 0, r = 0; i < nrows; i++)
            if (!drop || !drop[i])
                out[r++] = v[i];
    return out;
}

/* Writes V with the fewest significant digits that read back as V, for messages. */
static void shortest(double v, char *buf, size_t size)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, size, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* Whether a weight or trials value is bad (NaN is a bad cell, left to the NA policy). */
static int bad_weight(double v)
{
    return v < 0;
}

static int bad_trials(double v)
{
    return !isnan(v) && !(v >= 1 && v == floor(v));
}

/* The first row, among those not dropped (DROP NULL: all), whose weight is negative or whose
 * trials count is not a positive integer, in file order (by row, then by column), with its
 * column in *COL; SIZE_MAX when there is none. */
static size_t first_bad_value(const moe_table *t, const colsel *c, const unsigned char *drop,
                              size_t *col)
{
    const double *w = c->w != SIZE_MAX ? t->cols[c->w] : NULL;
    const double *n = c->tr != SIZE_MAX ? t->cols[c->tr] : NULL;
    if (!w && !n)
        return SIZE_MAX;
    for (size_t i = 0; i < t->nrows; i++) {
        if (drop && drop[i])
            continue;
        int bw = w && bad_weight(w[i]), bn = n && bad_trials(n[i]);
        if (bw && (!bn || c->w < c->tr)) {
            *col = c->w;
            return i;
        }
        if (bn) {
            *col = c->tr;
            return i;
        }
    }
    return SIZE_MAX;
}

/* The error for the bad value in row I, column COL of T (first_bad_value). */
static int value_error(const moe_table *t, const colsel *c, size_t i, size_t col,
                       moe_error *err)
{
    char num[40];
    shortest(t->cols[col][i], num, sizeof num);
    size_t line = t->lines ? t->lines[i] : 0;
    if (col == c->w)
        return moe_error_at(err, MOE_EFORMAT, t->name, line, col + 1,
                            "weight must be >= 0 (%s) in column '%s'", num, t->names[col]);
    return moe_error_at(err, MOE_EFORMAT, t->name, line, col + 1,
                        "trials must be a positive integer (%s) in column '%s'", num,
                        t->names[col]);
}

static int build(const moe_table *t, const colsel *c, moe_na_policy na, moe_dataset **out,
                 moe_error *err)
{
    /* The first bad cell among the used columns: lowest line, then lowest column. */
    size_t bad_col = SIZE_MAX, nbad_cols = 0;
    for (size_t j = 0; j < t->ncols; j++) {
        if (!t->bad[j].count || !used(c, j))
            continue;
        nbad_cols++;
        if (bad_col == SIZE_MAX || t->bad[j].line < t->bad[bad_col].line)
            bad_col = j;
    }
    /* Under MOE_NA_FAIL, the first error in the file: a bad cell or a bad weight or trials
     * value (those are errors under MOE_NA_OMIT too, in the rows kept). */
    size_t vcol = SIZE_MAX, vrow = SIZE_MAX;
    if (na == MOE_NA_FAIL)
        vrow = first_bad_value(t, c, NULL, &vcol);
    if (bad_col != SIZE_MAX && na == MOE_NA_FAIL) {
        const moe_table_bad *b = &t->bad[bad_col];
        if (vrow != SIZE_MAX && t->lines &&
            (t->lines[vrow] < b->line || (t->lines[vrow] == b->line && vcol < bad_col)))
            return value_error(t, c, vrow, vcol, err);
        char more[96] = "";
        if (b->count > 1)
            snprintf(more, sizeof more, "; %zu such cells in this column", b->count);
        return moe_error_at(err, MOE_EFORMAT, t->name, b->line, bad_col + 1,
                            "%s (%s) in column '%s'%s", moe_data_kind_message(b->kind),
                            b->text[0] ? b->text : "empty cell", t->names[bad_col], more);
    }
    if (na == MOE_NA_FAIL && vrow != SIZE_MAX)
        return value_error(t, c, vrow, vcol, err);
    /* Rows kept: with MOE_NA_OMIT, those without NaN in a used column (a good cell is
     * never NaN, so NaN marks exactly the bad cells). */
    size_t nused = 0;
    size_t *cols = malloc((c->nx + c->nz + 4) * sizeof *cols);
    if (!cols)
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    for (size_t j = 0; j < t->ncols; j++)
        if (t->bad[j].count && used(c, j))
            cols[nused++] = j;
    unsigned char *drop = NULL;
    size_t kept = t->nrows;
    if (nused) {
        drop = calloc(t->nrows, 1);
        if (!drop) {
            free(cols);
            return moe_error_set(err, MOE_ENOMEM, "out of memory");
        }
        for (size_t k = 0; k < nused; k++) {
            const double *v = t->cols[cols[k]];
            for (size_t i = 0; i < t->nrows; i++)
                drop[i] |= isnan(v[i]);
        }
        kept = 0;
        for (size_t i = 0; i < t->nrows; i++)
            kept += !drop[i];
    }
    free(cols);
    if (kept == 0) {
        free(drop);
        return moe_error_at(err, MOE_EFORMAT, t->name, 0, 0,
                            "no rows left: all %zu rows have a missing or non-numeric value in "
                            "a used column",
                            t->nrows);
    }
    if (na == MOE_NA_OMIT && (vrow = first_bad_value(t, c, drop, &vcol)) != SIZE_MAX) {
        free(drop);
        return value_error(t, c, vrow, vcol, err);
    }
    int with_y = c->y != SIZE_MAX;
    moe_dataset *d = moe_dataset_alloc(kept, c->nx, c->nz, with_y);
    if (!d) {
        free(drop);
        return moe_error_set(err, MOE_ENOMEM, "out of memory for a data set of %zu rows", kept);
    }
    d->omitted = t->nrows - kept;
    size_t px = c->nx + 1, pz = c->nz + 1;
    for (size_t j = 0; j < c->nx; j++) {
        const double *v = t->cols[c->x[j]];
        for (size_t i = 0, r = 0; i < t->nrows; i++)
            if (!drop || !drop[i])
                d->x[r++ * px + 1 + j] = v[i];
    }
    for (size_t j = 0; j < c->nz; j++) {
        const double *v = t->cols[c->z[j]];
        for (size_t i = 0, r = 0; i < t->nrows; i++)
            if (!drop || !drop[i])
                d->z[r++ * pz + 1 + j] = v[i];
    }
    if (with_y) {
        const double *v = t->cols[c->y];
        for (size_t i = 0, r = 0; i < t->nrows; i++)
            if (!drop || !drop[i])
                d->y[r++] = v[i];
    }
    /* The optional columns, and where each kept row comes from. */
    int s = MOE_SUCCESS;
    if (c->w != SIZE_MAX && !(d->w = kept_values(t->cols[c->w], drop, t->nrows, kept)))
        s = MOE_ENOMEM;
    if (c->off != SIZE_MAX && !(d->offset = kept_values(t->cols[c->off], drop, t->nrows, kept)))
        s = MOE_ENOMEM;
    if (c->tr != SIZE_MAX && !(d->trials = kept_values(t->cols[c->tr], drop, t->nrows, kept)))
        s = MOE_ENOMEM;
    if (!(d->source = dup_str(t->name)))
        s = MOE_ENOMEM;
    if (t->lines) {
        d->line = malloc(kept * sizeof *d->line);
        if (!d->line)
            s = MOE_ENOMEM;
        for (size_t i = 0, r = 0; d->line && i < t->nrows; i++)
            if (!drop || !drop[i])
                d->line[r++] = t->lines[i];
    }
    free(drop);
    d->y_column = with_y ? c->y + 1 : 0;
    d->trials_column = c->tr != SIZE_MAX ? c->tr + 1 : 0;
    const char **xn = malloc((c->nx + 1) * sizeof *xn);
    const char **zn = malloc((c->nz + 1) * sizeof *zn);
    if (!xn || !zn)
        s = MOE_ENOMEM;
    if (!s) {
        for (size_t j = 0; j < c->nx; j++)
            xn[j] = t->names[c->x[j]];
        for (size_t j = 0; j < c->nz; j++)
            zn[j] = t->names[c->z[j]];
        s = moe_dataset_set_names(d, with_y ? t->names[c->y] : NULL, xn, zn);
    }
    if (!s && c->w != SIZE_MAX && !(d->w_name = dup_str(t->names[c->w])))
        s = MOE_ENOMEM;
    if (!s && c->off != SIZE_MAX && !(d->offset_name = dup_str(t->names[c->off])))
        s = MOE_ENOMEM;
    if (!s && c->tr != SIZE_MAX && !(d->trials_name = dup_str(t->names[c->tr])))
        s = MOE_ENOMEM;
    free(xn);
    free(zn);
    if (s) {
        moe_dataset_free(d);
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    }
    size_t r = 0;
    while (d->w && r < d->n && d->w[r] == 0)
        r++;
    if (d->w && r == d->n) {
        moe_dataset_free(d);
        return moe_error_at(err, MOE_EFORMAT, t->name, 0, 0, "every weight is 0 in column '%s'%s",
                            t->names[c->w], kept < t->nrows ? " (in the rows kept)" : "");
    }
    *out = d;
    return MOE_SUCCESS;
}

int moe_dataset_from_table(const moe_table *t, const moe_selection *sel, moe_dataset **out,
                           moe_error *err)
{
    if (out)
        *out = NULL;
    if (!t || !out)
        return moe_error_set(err, MOE_EINVAL, "moe_dataset_from_table: NULL argument");
    moe_selection def = moe_selection_default();
    if (!sel)
        sel = &def;
    if (sel->na != MOE_NA_FAIL && sel->na != MOE_NA_OMIT)
        return moe_error_set(err, MOE_EINVAL, "unknown missing-value policy %d", (int)sel->na);
    colsel c = COLSEL_NONE;
    int s = select_columns(t, sel, &c, err);
    if (!s)
        s = build(t, &c, sel->na, out, err);
    colsel_free(&c);
    if (!s)
        moe_error_clear(err);
    return s;
}

/* Looks a column up by its exact name; the message says the model needs it (WHAT: "input"). */
static int model_column(const moe_table *t, const char *name, const char *what, size_t *col,
                        moe_error *err)
{
    if (!name)
        return moe_error_set(err, MOE_EINVAL, "moe_dataset_from_names: NULL %s name", what);
    int s = moe_table_lookup_name(t, name, col, err);
    if (s && err) {
        char names[640], q[MOE_TABLE_TEXT];
        moe_table_list_names(t, names, sizeof names);
        moe_data_quote(name, strlen(name), q);
        moe_error_at(err, MOE_EINVAL, t->name, 0, 0,
                     "no column '%s', the model's %s (columns are: %s)", q, what, names);
    }
    return s;
}

int moe_dataset_from_names(const moe_table *t, const char *response, const char *const *x_names,
                           size_t nx, const char *const *z_names, size_t nz, const char *offset,
                           const char *trials, moe_na_policy na, moe_dataset **out,
                           moe_error *err)
{
    if (out)
        *out = NULL;
    if (!t || !out || (nx && !x_names) || (nz && !z_names))
        return moe_error_set(err, MOE_EINVAL, "moe_dataset_from_names: NULL argument");
    if (na != MOE_NA_FAIL && na != MOE_NA_OMIT)
        return moe_error_set(err, MOE_EINVAL, "unknown missing-value policy %d", (int)na);
    colsel c = COLSEL_NONE;
    c.x = malloc((nx ? nx : 1) * sizeof *c.x);
    c.z = malloc((nz ? nz : 1) * sizeof *c.z);
    int s = MOE_SUCCESS;
    if (!c.x || !c.z)
        s = moe_error_set(err, MOE_ENOMEM, "out of memory");
    if (!s && response)
        s = model_column(t, response, "response", &c.y, err);
    for (size_t j = 0; !s && j < nx; j++)
        s = model_column(t, x_names[j], "input", &c.x[c.nx++], err);
    for (size_t j = 0; !s && j < nz; j++)
        s = model_column(t, z_names[j], "gate input", &c.z[c.nz++], err);
    if (!s && offset)
        s = model_column(t, offset, "offset", &c.off, err);
    if (!s && trials)
        s = model_column(t, trials, "trials", &c.tr, err);
    if (!s)
        s = build(t, &c, na, out, err);
    colsel_free(&c);
    if (!s)
        moe_error_clear(err);
    return s;
}

/* ---------------------------------------------------------------- from arrays, to CSV */

int moe_dataset_from_arrays(size_t n, size_t dx, const double *x, size_t dz, const double *z,
                            const double *y, moe_dataset **out, moe_error *err)
{
    if (out)
        *out = NULL;
    if (!out)
        return moe_error_set(err, MOE_EINVAL, "moe_dataset_from_arrays: NULL argument");
    if (n == 0)
        return moe_error_set(err, MOE_EINVAL, "a data set needs at least one row");
    if (dx && !x)
        return moe_error_set(err, MOE_EINVAL, "x is NULL but has %zu columns", dx);
    if (!z)
        dz = dx;
    const double *zz = z ? z : x;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < dx; j++)
            if (!isfinite(x[i * dx + j]))
                return moe_error_set(err, MOE_EINVAL, "x[%zu][%zu] is not a finite number", i,
                                     j);
        for (size_t j = 0; z && j < dz; j++)
            if (!isfinite(z[i * dz + j]))
                return moe_error_set(err, MOE_EINVAL, "z[%zu][%zu] is not a finite number", i,
                                     j);
        if (y && !isfinite(y[i]))
            return moe_error_set(err, MOE_EINVAL, "y[%zu] is not a finite number", i);
    }
    moe_dataset *d = moe_dataset_alloc(n, dx, dz, y != NULL);
    if (!d)
        return moe_error_set(err, MOE_ENOMEM, "out of memory for a data set of %zu rows", n);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < dx; j++)
            d->x[i * (dx + 1) + 1 + j] = x[i * dx + j];
        for (size_t j = 0; j < dz; j++)
            d->z[i * (dz + 1) + 1 + j] = zz[i * dz + j];
        if (y)
            d->y[i] = y[i];
    }
    /* Z = X keeps X's names, so the union of the inputs is just x1.. (write_csv). */
    int s = moe_dataset_set_names(d, NULL, NULL, NULL);
    if (!s && !z)
        for (size_t j = 0; j < dz; j++) {
            char *c = dup_str(d->x_names[j]);
            if (!c) {
                s = MOE_ENOMEM;
                break;
            }
            free(d->z_names[j]);
            d->z_names[j] = c;
        }
    if (s) {
        moe_dataset_free(d);
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    }
    moe_error_clear(err);
    *out = d;
    return MOE_SUCCESS;
}

/* Writes NAME, quoted when it holds a separator, a quote, a newline or outer spaces. */
static void put_name(FILE *fp, const char *name)
{
    size_t n = strlen(name);
    if (n && !strpbrk(name, ",;\t\"\r\n") && name[0] != ' ' && name[n - 1] != ' ') {
        fputs(name, fp);
        return;
    }
    fputc('"', fp);
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            fputc('"', fp);
        fputc(*p, fp);
    }
    fputc('"', fp);
}

/* Whether NAME is already a column of the CSV that write_csv writes before the optional
 * columns: an input, or one of the ZEXTRA gate inputs. */
static int written(const moe_dataset *d, const size_t *zextra, size_t nze, const char *name)
{
    for (size_t k = 0; k < d->nx; k++)
        if (strcmp(name, d->x_names[k]) == 0)
            return 1;
    for (size_t k = 0; k < nze; k++)
        if (strcmp(name, d->z_names[zextra[k]]) == 0)
            return 1;
    return 0;
}

int moe_dataset_write_csv(const moe_dataset *d, FILE *fp, moe_error *err)
{
    if (!d || !fp)
        return moe_error_set(err, MOE_EINVAL, "moe_dataset_write_csv: NULL argument");
    /* Columns: x in order, then the z columns whose names are not among x, then the weights,
     * offset and trials when present (unless one of those names is an input already: the data
     * set was built from names, and it is the same column), and the response last. */
    size_t *zextra = malloc((d->nz ? d->nz : 1) * sizeof *zextra);
    if (!zextra)
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    size_t nze = 0;
    for (size_t j = 0; j < d->nz; j++)
        if (!written(d, zextra, nze, d->z_names[j]))
            zextra[nze++] = j;
    const double *opt[3] = {d->w, d->offset, d->trials};
    const char *opt_name[3] = {d->w_name ? d->w_name : "weights",
                               d->offset_name ? d->offset_name : "offset",
                               d->trials_name ? d->trials_name : "trials"};
    for (size_t k = 0; k < 3; k++)
        if (opt[k] && written(d, zextra, nze, opt_name[k]))
            opt[k] = NULL;
    int first = 1;
    for (size_t j = 0; j < d->nx; j++, first = 0) {
        if (!first)
            fputc(',', fp);
        put_name(fp, d->x_names[j]);
    }
    for (size_t k = 0; k < nze; k++, first = 0) {
        if (!first)
            fputc(',', fp);
        put_name(fp, d->z_names[zextra[k]]);
    }
    for (size_t k = 0; k < 3; k++)
        if (opt[k]) {
            if (!first)
                fputc(',', fp);
            put_name(fp, opt_name[k]);
            first = 0;
        }
    if (d->y) {
        if (!first)
            fputc(',', fp);
        put_name(fp, d->y_name);
    }
    fputc('\n', fp);
    size_t px = d->nx + 1, pz = d->nz + 1;
    for (size_t i = 0; i < d->n && !ferror(fp); i++) {
        first = 1;
        for (size_t j = 0; j < d->nx; j++, first = 0)
            fprintf(fp, first ? "%.17g" : ",%.17g", d->x[i * px + 1 + j]);
        for (size_t k = 0; k < nze; k++, first = 0)
            fprintf(fp, first ? "%.17g" : ",%.17g", d->z[i * pz + 1 + zextra[k]]);
        for (size_t k = 0; k < 3; k++)
            if (opt[k]) {
                fprintf(fp, first ? "%.17g" : ",%.17g", opt[k][i]);
                first = 0;
            }
        if (d->y)
            fprintf(fp, first ? "%.17g\n" : ",%.17g\n", d->y[i]);
        else
            fputc('\n', fp);
    }
    free(zextra);
    if (ferror(fp) || fflush(fp) != 0)
        return moe_error_set(err, MOE_EWRITE, "cannot write the data set");
    return MOE_SUCCESS;
}
