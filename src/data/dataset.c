/* dataset.c: data sets (response, expert and gate design matrices) built from tables or arrays.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/dataset.h"
#include "data/numparse.h"
#include "data/table.h"
#include "model/model.h"

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
    free(d->x);
    free(d->z);
    free(d->y);
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

/* ---------------------------------------------------------------- building from a table */

/* The column indices a data set takes from a table. */
typedef struct colsel {
    size_t y;        /* response column, or SIZE_MAX for none */
    size_t *x, nx;   /* expert inputs */
    size_t *z, nz;   /* gate inputs */
} colsel;

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
    if (sel->inputs) {
        if ((s = parse_list(t, sel->inputs, "inputs", &c->x, &c->nx, err)))
            return s;
    } else {
        c->x = malloc(t->ncols * sizeof *c->x);
        if (!c->x)
            return moe_error_set(err, MOE_ENOMEM, "out of memory");
        for (size_t j = 0; j < t->ncols; j++)
            if (j != c->y)
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
    for (size_t j = 0; j < c->nx; j++)
        if (c->x[j] == c->y)
            return moe_error_at(err, MOE_EINVAL, t->name, 0, 0,
                                "column '%s' is the response and cannot also be an input",
                                t->names[c->y]);
    for (size_t j = 0; j < c->nz; j++)
        if (c->z[j] == c->y)
            return moe_error_at(err, MOE_EINVAL, t->name, 0, 0,
                                "column '%s' is the response and cannot also be a gate input",
                                t->names[c->y]);
    return MOE_SUCCESS;
}

/* Whether column J is used by C. */
static int used(const colsel *c, size_t j)
{
    if (j == c->y)
        return 1;
    for (size_t k = 0; k < c->nx; k++)
        if (c->x[k] == j)
            return 1;
    for (size_t k = 0; k < c->nz; k++)
        if (c->z[k] == j)
            return 1;
    return 0;
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
    if (bad_col != SIZE_MAX && na == MOE_NA_FAIL) {
        const moe_table_bad *b = &t->bad[bad_col];
        char more[96] = "";
        if (b->count > 1)
            snprintf(more, sizeof more, "; %zu such cells in this column", b->count);
        return moe_error_at(err, MOE_EFORMAT, t->name, b->line, bad_col + 1,
                            "%s (%s) in column '%s'%s", moe_data_kind_message(b->kind),
                            b->text[0] ? b->text : "empty cell", t->names[bad_col], more);
    }
    /* Rows kept: with MOE_NA_OMIT, those without NaN in a used column (a good cell is
     * never NaN, so NaN marks exactly the bad cells). */
    size_t nused = 0;
    size_t *cols = malloc((c->nx + c->nz + 1) * sizeof *cols);
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
    free(drop);
    const char **xn = malloc((c->nx + 1) * sizeof *xn);
    const char **zn = malloc((c->nz + 1) * sizeof *zn);
    int s = MOE_ENOMEM;
    if (xn && zn) {
        for (size_t j = 0; j < c->nx; j++)
            xn[j] = t->names[c->x[j]];
        for (size_t j = 0; j < c->nz; j++)
            zn[j] = t->names[c->z[j]];
        s = moe_dataset_set_names(d, with_y ? t->names[c->y] : NULL, xn, zn);
    }
    free(xn);
    free(zn);
    if (s) {
        moe_dataset_free(d);
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
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
    colsel c = {0};
    int s = select_columns(t, sel, &c, err);
    if (!s)
        s = build(t, &c, sel->na, out, err);
    colsel_free(&c);
    if (!s)
        moe_error_clear(err);
    return s;
}

/* Looks a model's column up by name; the message says the model needs it. */
static int model_column(const moe_table *t, const char *name, const char *what, size_t *col,
                        moe_error *err)
{
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

int moe_dataset_for_model(const moe_table *t, const moe_model *m, int need_response,
                          moe_na_policy na, moe_dataset **out, moe_error *err)
{
    if (out)
        *out = NULL;
    if (!t || !m || !out)
        return moe_error_set(err, MOE_EINVAL, "moe_dataset_for_model: NULL argument");
    if (na != MOE_NA_FAIL && na != MOE_NA_OMIT)
        return moe_error_set(err, MOE_EINVAL, "unknown missing-value policy %d", (int)na);
    colsel c = {0};
    c.y = SIZE_MAX;
    c.x = malloc((m->nx ? m->nx : 1) * sizeof *c.x);
    c.z = malloc((m->nz ? m->nz : 1) * sizeof *c.z);
    int s = MOE_SUCCESS;
    if (!c.x || !c.z)
        s = moe_error_set(err, MOE_ENOMEM, "out of memory");
    if (!s && need_response)
        s = model_column(t, m->y_name, "response", &c.y, err);
    for (size_t j = 0; !s && j < m->nx; j++)
        s = model_column(t, m->x_names[j], "input", &c.x[c.nx++], err);
    for (size_t j = 0; !s && j < m->nz; j++)
        s = model_column(t, m->z_names[j], "gate input", &c.z[c.nz++], err);
    if (!s)
        s = build(t, &c, na, out, err);
    if (!s) {
        /* The names are the model's own, so that predictions line up with it. */
        moe_dataset *d = *out;
        if (moe_dataset_set_names(d, need_response ? m->y_name : NULL,
                                  (const char *const *)m->x_names,
                                  (const char *const *)m->z_names)) {
            moe_dataset_free(d);
            *out = NULL;
            s = moe_error_set(err, MOE_ENOMEM, "out of memory");
        }
    }
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

int moe_dataset_write_csv(const moe_dataset *d, FILE *fp, moe_error *err)
{
    if (!d || !fp)
        return moe_error_set(err, MOE_EINVAL, "moe_dataset_write_csv: NULL argument");
    /* Columns: x in order, then the z columns whose names are not among x. */
    size_t *zextra = malloc((d->nz ? d->nz : 1) * sizeof *zextra);
    if (!zextra)
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    size_t nze = 0;
    for (size_t j = 0; j < d->nz; j++) {
        int seen = 0;
        for (size_t k = 0; k < d->nx && !seen; k++)
            seen = strcmp(d->z_names[j], d->x_names[k]) == 0;
        for (size_t k = 0; k < nze && !seen; k++)
            seen = strcmp(d->z_names[j], d->z_names[zextra[k]]) == 0;
        if (!seen)
            zextra[nze++] = j;
    }
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
