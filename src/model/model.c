/* model.c: the moe_model object: allocation, copies, names, parameter blocks, the flat
 * free-parameter vector, reported coefficients and standardisation.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdio.h>
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

moe_model *moe_model_alloc_typed(const moe_expert_type *et, const moe_gate_type *gt, size_t k,
                                 const moe_expert_shape *es, size_t nz)
{
    if (k == 0 || !es)
        return NULL;
    size_t nx = es->nx;
    moe_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->expert = et ? et : moe_expert_types[0];
    m->gate = gt ? gt : moe_gate_types[0];
    m->k = k;
    m->nx = nx;
    m->nz = nz;
    m->hidden = es->hidden;
    m->activation = es->activation;
    m->y_center = 0;
    m->y_scale = 1;
    m->ep = m->expert->block_size(es);
    moe_gate_shape gs = moe_model_gate_shape(m);
    m->gp = m->gate->block_size(&gs);
    /* calloc(0) may return NULL: allocate at least one element so NULL means no memory */
    m->x_names = calloc(nx + 1, sizeof *m->x_names);
    m->z_names = calloc(nz + 1, sizeof *m->z_names);
    m->x_center = calloc(nx + 1, sizeof *m->x_center);
    m->x_scale = malloc((nx + 1) * sizeof *m->x_scale);
    m->z_center = calloc(nz + 1, sizeof *m->z_center);
    m->z_scale = malloc((nz + 1) * sizeof *m->z_scale);
    m->expert_par = calloc(k * m->ep + 1, sizeof *m->expert_par);
    m->gate_par = calloc(m->gp + 1, sizeof *m->gate_par);
    m->x_range = calloc(2 * nx + 1, sizeof *m->x_range);
    m->z_range = calloc(2 * nz + 1, sizeof *m->z_range);
    if (!m->x_names || !m->z_names || !m->x_center || !m->x_scale || !m->z_center ||
        !m->z_scale || !m->expert_par || !m->gate_par || !m->x_range || !m->z_range) {
        moe_model_free(m);
        return NULL;
    }
    for (size_t j = 0; j < nx; j++)
        m->x_scale[j] = 1;
    for (size_t j = 0; j < nz; j++)
        m->z_scale[j] = 1;
    moe_model_reset_params(m);
    m->rec_loglik = m->rec_aic = m->rec_bic = m->rec_icl = NAN;
    return m;
}

moe_model *moe_model_alloc(size_t k, size_t nx, size_t nz)
{
    moe_expert_shape es = {nx, 0, MOE_ACT_TANH};
    return moe_model_alloc_typed(NULL, NULL, k, &es, nz);
}

moe_gate_shape moe_model_gate_shape(const moe_model *m)
{
    moe_gate_shape s;
    memset(&s, 0, sizeof s);
    s.k = m->k;
    s.nz = m->nz;
    s.depth = m->tree_depth;
    s.top_k = m->top_k;
    for (size_t l = 0; l < m->tree_depth; l++)
        s.branch[l] = m->tree[l];
    return s;
}

moe_expert_shape moe_model_expert_shape(const moe_model *m)
{
    moe_expert_shape s = {m->nx, m->hidden, m->activation};
    return s;
}

size_t moe_model_nregression(const moe_model *m) { return m->expert->opaque ? 0 : m->nx + 1; }

int moe_model_set_tree(moe_model *m, size_t depth, const size_t *branch)
{
    if (!m || depth > MOE_TREE_DEPTH_MAX || (depth && !branch))
        return MOE_EINVAL;
    size_t prod = 1;
    for (size_t l = 0; l < depth; l++) {
        if (branch[l] < 2 || branch[l] > MOE_K_MAX)
            return MOE_EINVAL;
        prod *= branch[l];
        if (prod > MOE_K_MAX)
            return MOE_EINVAL;
    }
    if (depth && prod != m->k)
        return MOE_EINVAL;
    moe_gate_shape s = moe_model_gate_shape(m);
    s.depth = depth;
    for (size_t l = 0; l < depth; l++)
        s.branch[l] = branch[l];
    size_t gp = m->gate->block_size(&s);
    double *par = calloc(gp + 1, sizeof *par);
    if (!par)
        return MOE_ENOMEM;
    free(m->gate_par);
    m->gate_par = par;
    m->gp = gp;
    m->tree_depth = depth;
    memset(m->tree, 0, sizeof m->tree);
    for (size_t l = 0; l < depth; l++)
        m->tree[l] = branch[l];
    moe_model_record_clear(m);  /* the record's gate SEs were of the old shape */
    return MOE_SUCCESS;
}

void moe_model_reset_params(moe_model *m)
{
    moe_expert_shape es = moe_model_expert_shape(m);
    for (size_t i = 0; i < m->k; i++)
        m->expert->init(&es, m->expert_par + i * m->ep);
    memset(m->gate_par, 0, m->gp * sizeof *m->gate_par);
}

double *moe_model_expert_block(moe_model *m, size_t i) { return m->expert_par + i * m->ep; }

const double *moe_model_expert_block_const(const moe_model *m, size_t i)
{
    return m->expert_par + i * m->ep;
}

void moe_model_free(moe_model *m)
{
    if (!m)
        return;
    free(m->y_name);
    free(m->offset_name);
    free(m->trials_name);
    free_names(m->x_names, m->nx);
    free_names(m->z_names, m->nz);
    free(m->x_center);
    free(m->x_scale);
    free(m->z_center);
    free(m->z_scale);
    free(m->expert_par);
    free(m->gate_par);
    free(m->x_range);
    free(m->z_range);
    moe_model_record_clear(m);
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

/* Replaces *DST by a copy of SRC (NULL allowed). */
static int replace_str(char **dst, const char *src)
{
    char *c = src ? dup_str(src) : NULL;
    if (src && !c)
        return MOE_ENOMEM;
    free(*dst);
    *dst = c;
    return MOE_SUCCESS;
}

void moe_model_copy_scaling(moe_model *dst, const moe_model *src)
{
    dst->y_center = src->y_center;
    dst->y_scale = src->y_scale;
    memcpy(dst->x_center, src->x_center, src->nx * sizeof *dst->x_center);
    memcpy(dst->x_scale, src->x_scale, src->nx * sizeof *dst->x_scale);
    memcpy(dst->z_center, src->z_center, src->nz * sizeof *dst->z_center);
    memcpy(dst->z_scale, src->z_scale, src->nz * sizeof *dst->z_scale);
    dst->has_ranges = src->has_ranges;
    dst->n_fit = src->n_fit;
    memcpy(dst->x_range, src->x_range, 2 * src->nx * sizeof *dst->x_range);
    memcpy(dst->z_range, src->z_range, 2 * src->nz * sizeof *dst->z_range);
}

moe_model *moe_model_copy(const moe_model *m)
{
    if (!m)
        return NULL;
    moe_expert_shape es = moe_model_expert_shape(m);
    moe_model *c = moe_model_alloc_typed(m->expert, m->gate, m->k, &es, m->nz);
    if (!c)
        return NULL;
    if (m->tree_depth && moe_model_set_tree(c, m->tree_depth, m->tree)) {
        moe_model_free(c);
        return NULL;
    }
    c->top_k = m->top_k;
    moe_model_copy_scaling(c, m);
    memcpy(c->expert_par, m->expert_par, m->k * m->ep * sizeof *c->expert_par);
    memcpy(c->gate_par, m->gate_par, m->gp * sizeof *c->gate_par);
    if (replace_str(&c->y_name, m->y_name) || replace_str(&c->offset_name, m->offset_name) ||
        replace_str(&c->trials_name, m->trials_name) ||
        copy_names(c->x_names, m->x_names, m->nx) || copy_names(c->z_names, m->z_names, m->nz) ||
        moe_model_record_copy(c, m)) {
        moe_model_free(c);
        return NULL;
    }
    return c;
}

int moe_model_set_names(moe_model *m, const moe_dataset *d)
{
    if (!m || !d || d->nx != m->nx || d->nz != m->nz)
        return MOE_EINVAL;
    if (replace_str(&m->y_name, d->y_name) ||
        replace_str(&m->offset_name, d->offset ? d->offset_name : NULL) ||
        replace_str(&m->trials_name, d->trials ? d->trials_name : NULL) ||
        copy_names(m->x_names, d->x_names, m->nx) || copy_names(m->z_names, d->z_names, m->nz))
        return MOE_ENOMEM;
    return MOE_SUCCESS;
}

size_t moe_model_k(const moe_model *m) { return m ? m->k : 0; }
size_t moe_model_nx(const moe_model *m) { return m ? m->nx : 0; }
size_t moe_model_nz(const moe_model *m) { return m ? m->nz : 0; }
const char *moe_model_response(const moe_model *m) { return m ? m->y_name : NULL; }
const char *moe_model_family(const moe_model *m) { return m ? m->expert->name : NULL; }

const char *moe_model_input(const moe_model *m, size_t j)
{
    return m && j < m->nx ? m->x_names[j] : NULL;
}

const char *moe_model_gate_input(const moe_model *m, size_t j)
{
    return m && j < m->nz ? m->z_names[j] : NULL;
}

/* ---------------------------------------------------------------- free parameters */

size_t moe_model_expert_nparams(const moe_model *m)
{
    moe_expert_shape es = moe_model_expert_shape(m);
    return m->expert->nparams(&es);
}

size_t moe_model_nparams(const moe_model *m)
{
    moe_gate_shape gs = moe_model_gate_shape(m);
    return m->k * moe_model_expert_nparams(m) + m->gate->nparams(&gs);
}

size_t moe_model_df(const moe_expert_type *et, const moe_gate_type *gt, size_t k,
                    const moe_expert_shape *es, size_t nz)
{
    moe_gate_shape s;
    memset(&s, 0, sizeof s);
    s.k = k;
    s.nz = nz;
    return moe_model_df_shaped(et, gt, es, &s);
}

size_t moe_model_df_shaped(const moe_expert_type *et, const moe_gate_type *gt,
                           const moe_expert_shape *es, const moe_gate_shape *s)
{
    return s->k * et->nparams(es) + gt->nparams(s);
}

void moe_model_get_theta(const moe_model *m, double *theta)
{
    size_t ne = moe_model_expert_nparams(m);
    moe_expert_shape es = moe_model_expert_shape(m);
    for (size_t i = 0; i < m->k; i++)
        m->expert->get_theta(&es, m->expert_par + i * m->ep, theta + i * ne);
    moe_gate_shape gs = moe_model_gate_shape(m);
    m->gate->get_theta(&gs, m->gate_par, theta + m->k * ne);
}

void moe_model_set_theta(moe_model *m, const double *theta)
{
    size_t ne = moe_model_expert_nparams(m);
    moe_expert_shape es = moe_model_expert_shape(m);
    for (size_t i = 0; i < m->k; i++)
        m->expert->set_theta(&es, theta + i * ne, m->expert_par + i * m->ep);
    moe_gate_shape gs = moe_model_gate_shape(m);
    m->gate->set_theta(&gs, theta + m->k * ne, m->gate_par);
}

/* ---------------------------------------------------------------- reported coefficients */

size_t moe_model_ncoef(const moe_model *m, size_t block)
{
    if (!m || block > m->k)
        return 0;
    moe_gate_shape gs = moe_model_gate_shape(m);
    moe_expert_shape es = moe_model_expert_shape(m);
    return block < m->k ? m->expert->ncoef(&es) : m->gate->nparams(&gs);
}

int moe_model_coef_name(const moe_model *m, size_t block, size_t j, char *buf, size_t len)
{
    if (!m || !buf || len == 0 || j >= moe_model_ncoef(m, block))
        return MOE_EINVAL;
    if (block < m->k) {
        size_t px = moe_model_nregression(m);
        const char *nm = j >= px  ? m->expert->extra_names[j - px]
                         : j == 0 ? "(Intercept)"
                                  : m->x_names[j - 1];
        snprintf(buf, len, "%s", nm ? nm : "?");
    } else {
        size_t pz = m->nz + 1, c = j % pz;
        const char *nm = c == 0 ? "(Intercept)" : m->z_names[c - 1];
        snprintf(buf, len, "expert %zu: %s", j / pz + 1, nm ? nm : "?");
    }
    return MOE_SUCCESS;
}

void moe_model_coefs(const moe_model *m, size_t block, double *coef)
{
    if (!m || !coef || block > m->k)
        return;
    moe_gate_shape gs = moe_model_gate_shape(m);
    size_t np = block < m->k ? moe_model_expert_nparams(m) : m->gate->nparams(&gs);
    double *theta = malloc((np + 1) * sizeof *theta);
    if (!theta)
        return;
    if (block < m->k) {
        moe_expert_shape es = moe_model_expert_shape(m);
        m->expert->get_theta(&es, m->expert_par + block * m->ep, theta);
        m->expert->report(m, theta, coef);
    } else {
        m->gate->get_theta(&gs, m->gate_par, theta);
        m->gate->report(m, theta, coef);
    }
    free(theta);
}

void moe_model_expert(const moe_model *m, size_t i, double *coef, double *sigma)
{
    if (!m || i >= m->k)
        return;
    size_t nc = moe_model_ncoef(m, i), px = moe_model_nregression(m);
    double *all = malloc(nc * sizeof *all);
    if (!all)
        return;
    moe_model_coefs(m, i, all);
    if (coef)  /* an opaque family has no regression coefficients: NaN */
        for (size_t j = 0; j <= m->nx; j++)
            coef[j] = px ? all[j] : NAN;
    if (sigma) {
        *sigma = NAN;
        for (size_t j = px; j < nc; j++)
            if (strcmp(m->expert->extra_names[j - px], "sigma") == 0)
                *sigma = all[j];
    }
    free(all);
}

void moe_model_gate(const moe_model *m, size_t i, double *coef)
{
    if (!m || !coef || i + 1 >= m->k)
        return;
    size_t pz = m->nz + 1, np = moe_model_ncoef(m, m->k);
    double *all = malloc(np * sizeof *all);
    if (!all)
        return;
    moe_model_coefs(m, m->k, all);
    memcpy(coef, all + i * pz, pz * sizeof *coef);
    free(all);
}

/* ---------------------------------------------------------------- scaling */

/* Mean and population standard deviation (divisor n; with weights W, the weighted mean and
 * the divisor sum w, so that weighted rows standardise as the rows repeated would) of
 * column J of the row-major N x P matrix A, so that a standardised column has mean 0 and ML
 * variance 1 (the scale on which var_floor is a share of var(y)). A constant (or single-row)
 * column gets scale 1.
 *
 * Units: the moments are formed on the column divided by a power of two T near its largest
 * magnitude, so no sum or square overflows or underflows for any column a double can hold
 * (1e300 squared is inf, 1e-300 squared is 0), and multiplied by T at the end. Scaling by a
 * power of two is exact, and a square root of a number times 4^-e is the root times 2^-e
 * exactly, so columns of ordinary size get bit for bit the moments the plain formulas gave.
 * The weights are likewise divided by a power of two near their largest, which cancels in
 * the weighted mean and in ss / sum w. */
static void column_moments(const double *a, const double *w, size_t n, size_t p, size_t j,
                           double *center, double *scale)
{
    double amax = 0, wmax = 0;
    for (size_t r = 0; r < n; r++) {
        double v = fabs(a[r * p + j]);
        if (v > amax)
            amax = v;
        if (w && w[r] > wmax)
            wmax = w[r];
    }
    int ea = 0, ew = 0;
    if (amax > 0 && isfinite(amax))
        (void)frexp(amax, &ea);
    if (wmax > 0 && isfinite(wmax))
        (void)frexp(wmax, &ew);
    /* exponents within [-64, 64] leave the data as they are: bit-identical to the plain sums
     * for every column of ordinary size, and still far from overflow (n 2^128 is finite) */
    if (ea >= -64 && ea <= 64)
        ea = 0;
    if (ew >= -64 && ew <= 64)
        ew = 0;
    double ta = ldexp(1.0, -ea), tw = ldexp(1.0, -ew);
    double mean = 0, ss = 0, sw = 0;
    for (size_t r = 0; r < n; r++) {
        double wr = w ? w[r] * tw : 1, ar = a[r * p + j] * ta;
        mean += w ? wr * ar : ar;
        sw += wr;
    }
    mean = sw > 0 ? mean / sw : 0;
    for (size_t r = 0; r < n; r++) {
        double e = a[r * p + j] * ta - mean;
        ss += w ? w[r] * tw * e * e : e * e;
    }
    double sd = sw > 0 ? sqrt(ss / sw) : 0;
    /* a column constant up to rounding would be blown up to noise: treat it as constant */
    int constant = !(sd > 1e-12 * (fabs(mean) + 1e-300)) || !isfinite(sd);
    *center = isfinite(mean) ? ldexp(mean, ea) : 0;
    *scale = constant ? 1 : ldexp(sd, ea);
}

void moe_model_ranges_from_data(moe_model *m, const moe_dataset *d)
{
    if (!m || !d || d->nx != m->nx || d->nz != m->nz || d->n == 0)
        return;
    for (size_t w = 0; w < 2; w++) {
        size_t p = w == 0 ? d->nx : d->nz;
        const double *a = w == 0 ? d->x : d->z;
        double *rg = w == 0 ? m->x_range : m->z_range;
        for (size_t j = 0; j < p; j++) {
            double lo = a[j + 1], hi = a[j + 1];
            for (size_t r = 1; r < d->n; r++) {
                double v = a[r * (p + 1) + j + 1];
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
            rg[2 * j] = lo;
            rg[2 * j + 1] = hi;
        }
    }
    m->n_fit = d->n;
    m->has_ranges = 1;
}

size_t moe_model_outside_range(const moe_model *m, const moe_dataset *d, char *why,
                               size_t len)
{
    if (why && len)
        why[0] = '\0';
    if (!m || !d || !m->has_ranges || d->nx != m->nx || d->nz != m->nz)
        return 0;
    size_t rows = 0, used = 0;
    for (size_t r = 0; r < d->n; r++) {
        int out = 0;
        for (size_t w = 0; w < 2; w++) {
            size_t p = w == 0 ? d->nx : d->nz;
            const double *a = w == 0 ? d->x : d->z;
            const double *rg = w == 0 ? m->x_range : m->z_range;
            char *const *nm = w == 0 ? m->x_names : m->z_names;
            for (size_t j = 0; j < p; j++) {
                double v = a[r * (p + 1) + j + 1];
                if (v >= rg[2 * j] && v <= rg[2 * j + 1])
                    continue;
                if (!out && rows == 0 && why && len > used)
                    used += (size_t)snprintf(why + used, len - used, "row %zu: %s = %.6g "
                                             "outside [%.6g, %.6g]", r + 1,
                                             nm[j] ? nm[j] : "?", v, rg[2 * j],
                                             rg[2 * j + 1]);
                out = 1;
            }
        }
        rows += out;
    }
    return rows;
}

void moe_model_scaling_from_data(moe_model *m, const moe_dataset *d)
{
    if (!m || !d || d->nx != m->nx || d->nz != m->nz)
        return;
    size_t px = d->nx + 1, pz = d->nz + 1;
    for (size_t j = 0; j < m->nx; j++)
        column_moments(d->x, d->w, d->n, px, j + 1, &m->x_center[j], &m->x_scale[j]);
    for (size_t j = 0; j < m->nz; j++)
        column_moments(d->z, d->w, d->n, pz, j + 1, &m->z_center[j], &m->z_scale[j]);
    m->y_center = 0;
    m->y_scale = 1;
    if (d->y && m->expert->scales_response)
        column_moments(d->y, d->w, d->n, 1, 0, &m->y_center, &m->y_scale);
}

/* A copy of the N values at SRC (NULL stays NULL); *FAILED set when out of memory. */
static double *copy_column(const double *src, size_t n, int *failed)
{
    if (!src)
        return NULL;
    double *c = malloc((n + 1) * sizeof *c);
    if (!c) {
        *failed = 1;
        return NULL;
    }
    memcpy(c, src, n * sizeof *c);
    return c;
}

moe_dataset *moe_model_standardise(const moe_model *m, const moe_dataset *d)
{
    if (!m || !d || d->nx != m->nx || d->nz != m->nz)
        return NULL;
    moe_dataset *s = moe_dataset_alloc(d->n, d->nx, d->nz, d->y != NULL);
    if (!s)
        return NULL;
    size_t n = d->n, px = d->nx + 1, pz = d->nz + 1;
    int failed = 0;
    s->omitted = d->omitted;
    s->w = copy_column(d->w, n, &failed);
    s->offset = copy_column(d->offset, n, &failed);
    s->trials = copy_column(d->trials, n, &failed);
    if (failed) {
        moe_dataset_free(s);
        return NULL;
    }
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
