/* model.c: the moe_model object: allocation, copies, names, accessors and standardisation.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "experts/expert.h"
#include "gates/gate.h"
#include "model/model.h"

static char *dup_str(const char *s)
{
    if (!s)
        return NULL;
    size_t len = strlen(s) + 1;
    char *r = malloc(len);
    if (r)
        memcpy(r, s, len);
    return r;
}

static void free_names(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t j = 0; j < n; j++)
        free(names[j]);
    free(names);
}

moe_model *moe_model_alloc(size_t k, size_t nx, size_t nz)
{
    if (k == 0)
        return NULL;
    moe_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->expert = &moe_expert_gaussian;
    m->gate = &moe_gate_softmax;
    m->k = k;
    m->nx = nx;
    m->nz = nz;
    m->y_center = 0;
    m->y_scale = 1;
    /* calloc(0) may return NULL: allocate at least one element so NULL means no memory */
    m->x_names = calloc(nx + 1, sizeof *m->x_names);
    m->z_names = calloc(nz + 1, sizeof *m->z_names);
    m->x_center = calloc(nx + 1, sizeof *m->x_center);
    m->x_scale = malloc((nx + 1) * sizeof *m->x_scale);
    m->z_center = calloc(nz + 1, sizeof *m->z_center);
    m->z_scale = malloc((nz + 1) * sizeof *m->z_scale);
    m->beta = calloc(k * (nx + 1), sizeof *m->beta);
    m->sigma = malloc(k * sizeof *m->sigma);
    m->gate_coef = calloc(k * (nz + 1), sizeof *m->gate_coef);
    if (!m->x_names || !m->z_names || !m->x_center || !m->x_scale || !m->z_center ||
        !m->z_scale || !m->beta || !m->sigma || !m->gate_coef) {
        moe_model_free(m);
        return NULL;
    }
    for (size_t j = 0; j < nx; j++)
        m->x_scale[j] = 1;
    for (size_t j = 0; j < nz; j++)
        m->z_scale[j] = 1;
    for (size_t i = 0; i < k; i++)
        m->sigma[i] = 1;
    return m;
}

void moe_model_free(moe_model *m)
{
    if (!m)
        return;
    free(m->y_name);
    free_names(m->x_names, m->nx);
    free_names(m->z_names, m->nz);
    free(m->x_center);
    free(m->x_scale);
    free(m->z_center);
    free(m->z_scale);
    free(m->beta);
    free(m->sigma);
    free(m->gate_coef);
    free(m);
}

/* Copies names SRC (n entries, some may be NULL) into DST (allocated, n entries). */
static int copy_names(char **dst, char *const *src, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        free(dst[j]);
        dst[j] = NULL;
        if (src && src[j] && !(dst[j] = dup_str(src[j])))
            return MOE_ENOMEM;
    }
    return MOE_SUCCESS;
}

moe_model *moe_model_copy(const moe_model *m)
{
    if (!m)
        return NULL;
    moe_model *c = moe_model_alloc(m->k, m->nx, m->nz);
    if (!c)
        return NULL;
    size_t k = m->k, px = m->nx + 1, pz = m->nz + 1;
    c->expert = m->expert;
    c->gate = m->gate;
    c->y_center = m->y_center;
    c->y_scale = m->y_scale;
    memcpy(c->x_center, m->x_center, m->nx * sizeof *c->x_center);
    memcpy(c->x_scale, m->x_scale, m->nx * sizeof *c->x_scale);
    memcpy(c->z_center, m->z_center, m->nz * sizeof *c->z_center);
    memcpy(c->z_scale, m->z_scale, m->nz * sizeof *c->z_scale);
    memcpy(c->beta, m->beta, k * px * sizeof *c->beta);
    memcpy(c->sigma, m->sigma, k * sizeof *c->sigma);
    memcpy(c->gate_coef, m->gate_coef, k * pz * sizeof *c->gate_coef);
    if ((m->y_name && !(c->y_name = dup_str(m->y_name))) ||
        copy_names(c->x_names, m->x_names, m->nx) || copy_names(c->z_names, m->z_names, m->nz)) {
        moe_model_free(c);
        return NULL;
    }
    return c;
}

int moe_model_set_names(moe_model *m, const moe_dataset *d)
{
    if (!m || !d || d->nx != m->nx || d->nz != m->nz)
        return MOE_EINVAL;
    char *y = d->y_name ? dup_str(d->y_name) : NULL;
    if (d->y_name && !y)
        return MOE_ENOMEM;
    free(m->y_name);
    m->y_name = y;
    if (copy_names(m->x_names, d->x_names, m->nx) || copy_names(m->z_names, d->z_names, m->nz))
        return MOE_ENOMEM;
    return MOE_SUCCESS;
}

size_t moe_model_k(const moe_model *m) { return m ? m->k : 0; }
size_t moe_model_nx(const moe_model *m) { return m ? m->nx : 0; }
size_t moe_model_nz(const moe_model *m) { return m ? m->nz : 0; }
const char *moe_model_response(const moe_model *m) { return m ? m->y_name : NULL; }

const char *moe_model_input(const moe_model *m, size_t j)
{
    return m && j < m->nx ? m->x_names[j] : NULL;
}

const char *moe_model_gate_input(const moe_model *m, size_t j)
{
    return m && j < m->nz ? m->z_names[j] : NULL;
}

/* Mean and population standard deviation (divisor n) of column J of the row-major N x P
 * matrix A, so that a standardised column has mean 0 and ML variance 1 (the scale on which
 * var_floor is a share of var(y)). A constant (or single-row) column gets scale 1. */
static void column_moments(const double *a, size_t n, size_t p, size_t j, double *center,
                           double *scale)
{
    double mean = 0, ss = 0;
    for (size_t r = 0; r < n; r++)
        mean += a[r * p + j];
    mean = n ? mean / (double)n : 0;
    for (size_t r = 0; r < n; r++) {
        double e = a[r * p + j] - mean;
        ss += e * e;
    }
    double sd = n ? sqrt(ss / (double)n) : 0;
    /* a column constant up to rounding would be blown up to noise: treat it as constant */
    if (!(sd > 1e-12 * (fabs(mean) + 1e-300)) || !isfinite(sd))
        sd = 1;
    *center = isfinite(mean) ? mean : 0;
    *scale = sd;
}

void moe_model_scaling_from_data(moe_model *m, const moe_dataset *d)
{
    if (!m || !d || d->nx != m->nx || d->nz != m->nz)
        return;
    size_t px = d->nx + 1, pz = d->nz + 1;
    for (size_t j = 0; j < m->nx; j++)
        column_moments(d->x, d->n, px, j + 1, &m->x_center[j], &m->x_scale[j]);
    for (size_t j = 0; j < m->nz; j++)
        column_moments(d->z, d->n, pz, j + 1, &m->z_center[j], &m->z_scale[j]);
    if (d->y)
        column_moments(d->y, d->n, 1, 0, &m->y_center, &m->y_scale);
}

/* A data set with the same shape as D, names left NULL (the trainers do not need them). */
static moe_dataset *alloc_like(const moe_dataset *d)
{
    moe_dataset *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    size_t n = d->n, px = d->nx + 1, pz = d->nz + 1;
    s->n = n;
    s->nx = d->nx;
    s->nz = d->nz;
    s->omitted = d->omitted;
    s->x = malloc((n * px + 1) * sizeof *s->x);
    s->z = malloc((n * pz + 1) * sizeof *s->z);
    s->y = d->y ? malloc((n + 1) * sizeof *s->y) : NULL;
    s->x_names = calloc(d->nx + 1, sizeof *s->x_names);
    s->z_names = calloc(d->nz + 1, sizeof *s->z_names);
    if (!s->x || !s->z || (d->y && !s->y) || !s->x_names || !s->z_names) {
        free(s->x);
        free(s->z);
        free(s->y);
        free(s->x_names);
        free(s->z_names);
        free(s);
        return NULL;
    }
    return s;
}

moe_dataset *moe_model_standardise(const moe_model *m, const moe_dataset *d)
{
    if (!m || !d || d->nx != m->nx || d->nz != m->nz)
        return NULL;
    moe_dataset *s = alloc_like(d);
    if (!s)
        return NULL;
    size_t n = d->n, px = d->nx + 1, pz = d->nz + 1;
    for (size_t r = 0; r < n; r++) {
        s->x[r * px] = 1;
        for (size_t j = 0; j < m->nx; j++)
            s->x[r * px + j + 1] = (d->x[r * px + j + 1] - m->x_center[j]) / m->x_scale[j];
        s->z[r * pz] = 1;
        for (size_t j = 0; j < m->nz; j++)
            s->z[r * pz + j + 1] = (d->z[r * pz + j + 1] - m->z_center[j]) / m->z_scale[j];
        if (d->y)
            s->y[r] = (d->y[r] - m->y_center) / m->y_scale;
    }
    return s;
}

void moe_model_expert(const moe_model *m, size_t i, double *coef, double *sigma)
{
    if (!m || i >= m->k)
        return;
    size_t px = m->nx + 1;
    const double *b = m->beta + i * px;
    if (coef) {
        /* coef_data = A b + offset (scaling.c), written out to avoid a workspace */
        double icpt = b[0];
        for (size_t j = 0; j < m->nx; j++) {
            icpt -= b[j + 1] * m->x_center[j] / m->x_scale[j];
            coef[j + 1] = m->y_scale * b[j + 1] / m->x_scale[j];
        }
        coef[0] = m->y_center + m->y_scale * icpt;
    }
    if (sigma)
        *sigma = m->y_scale * m->sigma[i];
}

void moe_model_gate(const moe_model *m, size_t i, double *coef)
{
    if (!m || !coef || i >= m->k)
        return;
    size_t pz = m->nz + 1;
    const double *v = m->gate_coef + i * pz;
    double icpt = v[0];
    for (size_t j = 0; j < m->nz; j++) {
        icpt -= v[j + 1] * m->z_center[j] / m->z_scale[j];
        coef[j + 1] = v[j + 1] / m->z_scale[j];
    }
    coef[0] = icpt;
}
