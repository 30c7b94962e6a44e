/* simulate.c: random well-separated models and data drawn from a model (moefit simulate).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * moe_simulate_model builds a model whose regimes are easy to see. The first input is split
 * into K consecutive stretches of equal length over [-sqrt(3), sqrt(3)] (the range of a
 * uniform variable with mean 0 and SD 1, which is the model's stored scaling); the softmax
 * gate makes expert i most probable on stretch i, with logits eta_i - eta_{i-1} =
 * w (x1 - b_i) at boundary b_i and w = 6 / (stretch length), so that the gate gives about
 * 0.95 at the middle of a stretch (sharp, yet not a step: its MLE stays finite). Each
 * expert's line has a random slope in [-1, 1] noise SDs per input SD, and at each boundary
 * the two neighbouring lines are SEPARATION noise SDs apart (above or below at random).
 * Further inputs (nx > 1) get random slopes in the experts and no weight in the gate. With
 * nx = 0 the experts are constants SEPARATION noise SDs apart and the gate is uniform.
 * Gate inputs are the same columns as the expert inputs.
 *
 * moe_simulate draws each input uniformly over center +- sqrt(3) scale of the model's
 * scaling (a gate input with the name of an expert input takes that input's value), the
 * regime from the gate and y from that expert. Everything comes from one GSL MT19937 stream
 * seeded by SEED, in a fixed order, so a seed gives the same rows on every machine. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "core/error.h"
#include "data/dataset.h"
#include "experts/expert.h"
#include "gates/gate.h"
#include "model/model.h"

#define SIM_MAX_INPUTS 1000

moe_sim_options moe_sim_options_default(void)
{
    moe_sim_options o;
    o.k = 3;
    o.nx = 1;
    o.separation = 4;
    o.noise = 1;
    o.seed = 1;
    o.family = NULL;
    o.tree = NULL;
    return o;
}

static char *name_of(const char *prefix, size_t j)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%s%zu", prefix, j);
    return strdup(buf);
}

static int set_sim_names(moe_model *m)
{
    if (!m->x_names && m->nx && !(m->x_names = calloc(m->nx, sizeof *m->x_names)))
        return MOE_ENOMEM;
    if (!m->z_names && m->nz && !(m->z_names = calloc(m->nz, sizeof *m->z_names)))
        return MOE_ENOMEM;
    for (size_t j = 0; j < m->nx; j++)
        if (!(m->x_names[j] = name_of("x", j + 1)))
            return MOE_ENOMEM;
    for (size_t j = 0; j < m->nz; j++)
        if (!(m->z_names[j] = name_of("x", j + 1)))
            return MOE_ENOMEM;
    if (!(m->y_name = strdup("y")))
        return MOE_ENOMEM;
    return MOE_SUCCESS;
}

/* The gate rows THETA (K-1 rows of nz + 1) of a tree S whose leaves take the flat regimes
 * of x1 in order: the leaf i owns [lo + i len, lo + (i+1) len] (lo = -sqrt 3, len = 2 sqrt 3
 * / K, the flat simulation's), and every node splits the span of its leaves into its
 * children's equal parts with the flat gate's logits (sharpness 6 / part). */
static void tree_gate(const moe_gate_shape *s, double *theta)
{
    size_t pz = s->nz + 1, nn = moe_tree_count(s);
    const double lo = -sqrt(3.0), len = 2 * sqrt(3.0) / (double)s->k;
    memset(theta, 0, (s->k - 1) * pz * sizeof *theta);
    for (size_t t = 0; t < nn; t++) {
        moe_tree_node nd;
        moe_tree_node_get(s, t, &nd);
        size_t b = nd.children;
        double a = lo + (double)nd.leaf0 * len, part = (double)nd.leaves * len / (double)b;
        double w = 6 / part, cum = 0, eta0[MOE_K_MAX];
        for (size_t c = 0; c < b; c++) {
            if (c > 0)
                cum += a + (double)c * part;  /* boundary b_c */
            eta0[c] = -w * cum;
        }
        for (size_t c = 0; c + 1 < b; c++) {
            theta[(nd.row + c) * pz] = eta0[c] - eta0[b - 1];
            theta[(nd.row + c) * pz + 1] = w * ((double)c - (double)(b - 1));
        }
    }
}

int moe_simulate_model(const moe_sim_options *opt, moe_model **out, moe_error *err)
{
    moe_core_init();
    if (!out)
        return moe_error_set(err, MOE_EINVAL, "moe_simulate_model: no place for the result");
    *out = NULL;
    moe_sim_options o = opt ? *opt : moe_sim_options_default();
    moe_gate_shape ts;
    memset(&ts, 0, sizeof ts);
    if (o.tree) {
        const char *why = moe_tree_parse(o.tree, o.tree + strlen(o.tree), &ts);
        if (why)
            return moe_error_set(err, MOE_EINVAL, "simulate: %s", why);
        if (!ts.depth)
            return moe_error_set(err, MOE_EINVAL, "simulate: tree: must be a tree B1xB2x... "
                                 "(e.g. 2x2), not one number");
        o.k = ts.k;
    }
    if (o.k < 1 || o.k > MOE_K_MAX)
        return moe_error_set(err, MOE_EINVAL, "simulate: k must be between 1 and %d",
                             MOE_K_MAX);
    if (o.nx > SIM_MAX_INPUTS)
        return moe_error_set(err, MOE_EINVAL, "simulate: at most %d inputs", SIM_MAX_INPUTS);
    if (!isfinite(o.separation) || o.separation < 0)
        return moe_error_set(err, MOE_EINVAL, "simulate: separation must be a finite number >= 0");
    if (!isfinite(o.noise) || !(o.noise > 0))
        return moe_error_set(err, MOE_EINVAL, "simulate: noise must be a finite number > 0");
    const moe_expert_type *et;
    moe_expert_shape es;
    const char *why = moe_expert_spec_parse(o.family, &et, &es);
    if (!et)
        return moe_error_set(err, MOE_EINVAL, "simulate: unknown expert family '%s'", o.family);
    if (why)
        return moe_error_set(err, MOE_EINVAL, "simulate: %s", why);
    size_t k = o.k, nx = o.nx, nz = o.nx, px = nx + 1, pz = nz + 1;
    es.nx = nx;
    moe_model *m = moe_model_alloc_typed(et, ts.depth ? &moe_gate_tree : NULL, k, &es, nz);
    if (m && ts.depth && moe_model_set_tree(m, ts.depth, ts.branch)) {
        moe_model_free(m);
        m = NULL;
    }
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    /* the experts' linear predictors (k x px) and the gate's rows (k x pz, the last 0) */
    double *beta = calloc(k * px, sizeof *beta), *gate = calloc(k * pz, sizeof *gate);
    if (!m || !rng || !beta || !gate || set_sim_names(m)) {
        moe_model_free(m);
        gsl_rng_free(rng);
        free(beta);
        free(gate);
        return moe_error_set(err, MOE_ENOMEM, "simulate: out of memory");
    }
    gsl_rng_set(rng, o.seed);
    /* the scaling stays moe_model_alloc's: centre 0 and scale 1 */
    double sep = o.separation * o.noise;
    if (nx == 0) {
        for (size_t i = 0; i < k; i++)
            beta[i] = (double)i * sep;
    } else {
        const double lo = -sqrt(3.0), len = 2 * sqrt(3.0) / (double)k, w = 6 / len;
        /* logits before making the last expert the reference: eta_i = w (i x1 - sum b_j) */
        double cum = 0;
        double *eta0 = malloc(k * sizeof *eta0);
        if (!eta0) {
            moe_model_free(m);
            gsl_rng_free(rng);
            free(beta);
            free(gate);
            return moe_error_set(err, MOE_ENOMEM, "simulate: out of memory");
        }
        for (size_t i = 0; i < k; i++) {
            if (i > 0)
                cum += lo + (double)i * len;  /* boundary b_i */
            eta0[i] = -w * cum;
        }
        for (size_t i = 0; i < k; i++) {
            gate[i * pz] = eta0[i] - eta0[k - 1];
            gate[i * pz + 1] = w * ((double)i - (double)(k - 1));
        }
        free(eta0);
        double prev_b0 = 0, prev_b1 = 0;
        for (size_t i = 0; i < k; i++) {
            double slope = (2 * gsl_rng_uniform(rng) - 1) * o.noise;
            double b0;
            if (i == 0) {
                b0 = gsl_ran_gaussian(rng, o.noise);
            } else {
                double bnd = lo + (double)i * len;
                double sign = gsl_rng_uniform(rng) < 0.5 ? -1 : 1;
                double at = prev_b0 + prev_b1 * bnd + sign * sep;
                b0 = at - slope * bnd;
            }
            beta[i * px] = b0;
            beta[i * px + 1] = slope;
            for (size_t j = 2; j < px; j++)
                beta[i * px + j] = (2 * gsl_rng_uniform(rng) - 1) * o.noise;
            prev_b0 = b0;
            prev_b1 = slope;
        }
    }
    for (size_t i = 0; i < k; i++)
        et->from_linear(&es, beta + i * px, o.noise, moe_model_expert_block(m, i));
    moe_gate_shape gs = moe_model_gate_shape(m);
    if (ts.depth && nx > 0)
        tree_gate(&gs, gate);
    else if (ts.depth)
        memset(gate, 0, k * pz * sizeof *gate);
    m->gate->set_theta(&gs, gate, m->gate_par);
    gsl_rng_free(rng);
    free(beta);
    free(gate);
    *out = m;
    return MOE_SUCCESS;
}

/* Draws every row's regime from M's gate at the inputs of D, then y from that expert, in row
 * order, into D->y (data scale). LOGG (n x k) and REG (n) are scratch. */
static int draw_y(const moe_model *m, moe_dataset *d, gsl_rng *rng, double *logg, size_t *reg,
                  moe_error *err)
{
    size_t n = d->n, k = m->k;
    int status = MOE_SUCCESS;
    moe_dataset *s = NULL;
    if (!(s = moe_model_standardise(m, d))) {
        status = moe_error_set(err, MOE_ENOMEM, "simulate: out of memory (%zu rows)", n);
        goto out;
    }
    moe_gate_shape gs = moe_model_gate_shape(m);
    moe_expert_shape es = moe_model_expert_shape(m);
    m->gate->log_prob_rows(s, &gs, m->gate_par, 0, n, logg);
    for (size_t r = 0; r < n; r++) {
        double u = gsl_rng_uniform(rng), c = 0;
        size_t i = 0;
        for (; i + 1 < k; i++) {
            c += exp(logg[r * k + i]);
            if (u < c)
                break;
        }
        reg[r] = i;
    }
    /* then y from each row's own expert, in row order */
    for (size_t r = 0; r < n; r++) {
        double ystd = m->expert->draw(s, &es, moe_model_expert_block_const(m, reg[r]), r, rng);
        d->y[r] = m->y_center + m->y_scale * ystd;
        if (!isfinite(d->y[r])) {
            status = moe_error_set(err, MOE_ENUMERIC,
                                   "simulate: row %zu is not a finite number (the model's "
                                   "coefficients are too large)", r + 1);
            goto out;
        }
    }
out:
    moe_dataset_free(s);
    return status;
}

int moe_simulate(const moe_model *m, size_t n, unsigned long seed, moe_dataset **out,
                 size_t *regime, moe_error *err)
{
    moe_core_init();
    if (!out)
        return moe_error_set(err, MOE_EINVAL, "moe_simulate: no place for the result");
    *out = NULL;
    if (!m || m->k == 0 || m->k > MOE_K_MAX)
        return moe_error_set(err, MOE_EINVAL, "simulate: no usable model");
    if (n == 0)
        return moe_error_set(err, MOE_EINVAL, "simulate: the number of rows must be >= 1");
    size_t k = m->k, nx = m->nx, nz = m->nz, px = nx + 1, pz = nz + 1;
    moe_dataset *d = moe_dataset_alloc(n, nx, nz, 1);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    size_t *zsrc = malloc((nz ? nz : 1) * sizeof *zsrc);
    double *logg = malloc(n * k * sizeof *logg);
    size_t *reg = malloc(n * sizeof *reg);
    int status = MOE_SUCCESS;
    if (!d || !rng || !zsrc || !logg || !reg ||
        moe_dataset_set_names(d, m->y_name, (const char *const *)m->x_names,
                              (const char *const *)m->z_names)) {
        status = moe_error_set(err, MOE_ENOMEM, "simulate: out of memory (%zu rows)", n);
        goto done;
    }
    gsl_rng_set(rng, seed);
    /* a gate input named like an expert input is the same column */
    for (size_t j = 0; j < nz; j++) {
        zsrc[j] = (size_t)-1;
        for (size_t l = 0; l < nx && m->z_names && m->x_names; l++)
            if (m->z_names[j] && m->x_names[l] && strcmp(m->z_names[j], m->x_names[l]) == 0) {
                zsrc[j] = l;
                break;
            }
    }
    const double r3 = sqrt(3.0);
    for (size_t r = 0; r < n; r++) {
        double *x = d->x + r * px, *z = d->z + r * pz;
        x[0] = 1;
        z[0] = 1;
        for (size_t j = 0; j < nx; j++)
            x[j + 1] = m->x_center[j] + m->x_scale[j] * r3 * (2 * gsl_rng_uniform(rng) - 1);
        for (size_t j = 0; j < nz; j++)
            z[j + 1] = zsrc[j] != (size_t)-1
                           ? x[zsrc[j] + 1]
                           : m->z_center[j] + m->z_scale[j] * r3 * (2 * gsl_rng_uniform(rng) - 1);
        d->y[r] = 0;
    }
    if ((status = draw_y(m, d, rng, logg, reg, err)))
        goto done;
    if (regime)
        memcpy(regime, reg, n * sizeof *reg);
done:
    gsl_rng_free(rng);
    free(zsrc);
    free(logg);
    free(reg);
    if (status) {
        moe_dataset_free(d);
        return status;
    }
    *out = d;
    return MOE_SUCCESS;
}

int moe_simulate_at(const moe_model *m, const moe_dataset *inputs, unsigned long seed,
                    moe_dataset **out, size_t *regime, moe_error *err)
{
    moe_core_init();
    if (!out)
        return moe_error_set(err, MOE_EINVAL, "moe_simulate_at: no place for the result");
    *out = NULL;
    if (!m || m->k == 0 || m->k > MOE_K_MAX || !inputs)
        return moe_error_set(err, MOE_EINVAL, "simulate: no usable model or inputs");
    if (inputs->nx != m->nx || inputs->nz != m->nz)
        return moe_error_set(err, MOE_EBADLEN, "simulate: the inputs have %zu expert and %zu "
                             "gate columns, the model %zu and %zu", inputs->nx, inputs->nz,
                             m->nx, m->nz);
    size_t n = inputs->n, k = m->k, px = m->nx + 1, pz = m->nz + 1;
    moe_dataset *d = moe_dataset_alloc(n, m->nx, m->nz, 1);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double *logg = malloc((n * k + 1) * sizeof *logg);
    size_t *reg = malloc((n + 1) * sizeof *reg);
    int status = MOE_SUCCESS;
    if (!d || !rng || !logg || !reg ||
        moe_dataset_set_names(d, m->y_name, (const char *const *)m->x_names,
                              (const char *const *)m->z_names) ||
        (inputs->offset && !(d->offset = malloc(n * sizeof *d->offset))) ||
        (inputs->trials && !(d->trials = malloc(n * sizeof *d->trials)))) {
        status = moe_error_set(err, MOE_ENOMEM, "simulate: out of memory (%zu rows)", n);
        goto done;
    }
    memcpy(d->x, inputs->x, n * px * sizeof *d->x);
    memcpy(d->z, inputs->z, n * pz * sizeof *d->z);
    if (inputs->offset)
        memcpy(d->offset, inputs->offset, n * sizeof *d->offset);
    if (inputs->trials)
        memcpy(d->trials, inputs->trials, n * sizeof *d->trials);
    gsl_rng_set(rng, seed);
    if ((status = draw_y(m, d, rng, logg, reg, err)))
        goto done;
    if (regime)
        memcpy(regime, reg, n * sizeof *reg);
done:
    gsl_rng_free(rng);
    free(logg);
    free(reg);
    if (status) {
        moe_dataset_free(d);
        return status;
    }
    *out = d;
    return MOE_SUCCESS;
}
