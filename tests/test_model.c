/* test_model.c: the model object: allocation, copies, names, standardisation and the
 * standardised <-> data-scale maps (predictions on either scale agree).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "experts/expert.h"
#include "gates/gate.h"
#include "model/model.h"
#include "moe.h"
#include "gauss_layout.h"
#include "tap.h"

/* The linear maps from standardised to data-scale coefficients, written out here as the
 * matrices of src/model/scaling.c's comment (coef_data = A b + offset), as an independent
 * check of moe_model_expert and moe_model_gate. */
static void expert_map(const moe_model *m, double *a, double *offset)
{
    size_t px = m->nx + 1;
    memset(a, 0, px * px * sizeof *a);
    a[0] = m->y_scale;
    for (size_t j = 0; j < m->nx; j++) {
        a[j + 1] = -m->y_scale * m->x_center[j] / m->x_scale[j];
        a[(j + 1) * px + j + 1] = m->y_scale / m->x_scale[j];
    }
    memset(offset, 0, px * sizeof *offset);
    offset[0] = m->y_center;
}

static void gate_map(const moe_model *m, double *a)
{
    size_t pz = m->nz + 1;
    memset(a, 0, pz * pz * sizeof *a);
    a[0] = 1;
    for (size_t j = 0; j < m->nz; j++) {
        a[j + 1] = -m->z_center[j] / m->z_scale[j];
        a[(j + 1) * pz + j + 1] = 1 / m->z_scale[j];
    }
}

int main(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    size_t n = 50, nx = 3, nz = 2, k = 3, px = nx + 1, pz = nz + 1;
    double *x = malloc(n * nx * sizeof *x), *z = malloc(n * nz * sizeof *z);
    double *y = malloc(n * sizeof *y);
    for (size_t r = 0; r < n; r++) {
        x[r * nx] = 100 + 15 * gsl_ran_gaussian(rng, 1);
        x[r * nx + 1] = -0.003 * gsl_ran_flat(rng, 0, 1);
        x[r * nx + 2] = 7;  /* constant: scale 1 */
        z[r * nz] = 1e4 + 1e3 * gsl_ran_gaussian(rng, 1);
        z[r * nz + 1] = gsl_ran_flat(rng, -1, 5);
        y[r] = 50 + 20 * gsl_ran_gaussian(rng, 1);
    }
    moe_dataset *d = NULL;
    moe_dataset_from_arrays(n, nx, x, nz, z, y, &d, NULL);

    moe_model_free(NULL);
    tap_ok(moe_model_alloc(0, 1, 1) == NULL, "alloc with k = 0 fails cleanly");
    moe_model *m = moe_model_alloc(k, nx, nz);
    tap_ok(m && m->expert == &moe_expert_gaussian && m->gate == &moe_gate_softmax,
           "alloc: gaussian experts, softmax gate");
    tap_ok(moe_model_k(m) == k && moe_model_nx(m) == nx && moe_model_nz(m) == nz,
           "accessors k, nx, nz");
    tap_ok(moe_model_response(m) == NULL && moe_model_input(m, 0) == NULL &&
               moe_model_input(m, nx) == NULL && moe_model_gate_input(m, nz) == NULL,
           "names NULL before set_names; out of range is NULL");
    moe_model_scaling_from_data(m, d);
    tap_rel(m->x_scale[2], 1, 0, "a constant column gets scale 1");
    moe_dataset *s = moe_model_standardise(m, d);
    double mean = 0, ss = 0;
    for (size_t r = 0; r < n; r++)
        mean += s->x[r * px + 1];
    mean /= (double)n;
    for (size_t r = 0; r < n; r++)
        ss += (s->x[r * px + 1] - mean) * (s->x[r * px + 1] - mean);
    tap_abs(mean, 0, 1e-12, "standardised input has mean 0");
    tap_rel(sqrt(ss / (double)n), 1, 1e-12, "standardised input has (ML) SD 1");
    double ym = 0;
    for (size_t r = 0; r < n; r++)
        ym += s->y[r];
    tap_abs(ym / (double)n, 0, 1e-12, "standardised response has mean 0");
    tap_ok(s->x[0] == 1 && s->z[pz] == 1, "intercept columns stay 1");

    /* random standardised parameters */
    for (size_t t = 0; t < k * px; t++)
        BETA(m, t) = gsl_ran_gaussian(rng, 1);
    for (size_t i = 0; i < k; i++)
        SIGMA(m, i) = 0.1 + gsl_ran_flat(rng, 0, 1);
    for (size_t t = 0; t < (k - 1) * pz; t++)
        GATE(m, t) = gsl_ran_gaussian(rng, 1);

    /* experts: data-scale coefficients applied to raw x equal the standardised prediction
     * mapped back, y_center + y_scale * mu_std */
    double *mu = malloc(n * sizeof *mu), *var = malloc(n * sizeof *var);
    double worst = 0, worst_sd = 0, worst_gate = 0, worst_map = 0;
    double a[16], off[4], coef[4], sd;
    expert_map(m, a, off);
    for (size_t i = 0; i < k; i++) {
        moe_expert_shape es = moe_model_expert_shape(m);
        m->expert->moments_rows(s, &es, moe_model_expert_block(m, i), 0, n, mu, var);
        moe_model_expert(m, i, coef, &sd);
        for (size_t r = 0; r < n; r++) {
            double raw = coef[0];
            for (size_t j = 0; j < nx; j++)
                raw += coef[j + 1] * d->x[r * px + j + 1];
            double back = m->y_center + m->y_scale * mu[r];
            worst = fmax(worst, fabs(raw - back) / (fabs(back) + 1));
        }
        worst_sd = fmax(worst_sd, fabs(sd - m->y_scale * sqrt(var[0])) / sd);
        for (size_t r = 0; r < px; r++) {
            double v = off[r];
            for (size_t c = 0; c < px; c++)
                v += a[r * px + c] * BETA(m, i * px + c);
            worst_map = fmax(worst_map, fabs(v - coef[r]) / (fabs(coef[r]) + 1));
        }
    }
    tap_ok(worst < 1e-12, "expert predictions agree on both scales (rel. error %.3g)", worst);
    tap_ok(worst_sd < 1e-14, "sigma maps by y_scale");
    tap_ok(worst_map < 1e-13, "expert_map A b + offset equals moe_model_expert");
    /* gate: logits on both scales agree */
    double *logg = malloc(n * k * sizeof *logg), gmap[9], gc[3];
    moe_gate_shape gs = moe_model_gate_shape(m);
    m->gate->log_prob_rows(s, &gs, m->gate_par, 0, n, logg);
    gate_map(m, gmap);
    for (size_t r = 0; r < n; r++) {
        double eta[8], mx = 0, sum = 0;
        for (size_t i = 0; i + 1 < k; i++) {
            moe_model_gate(m, i, gc);
            eta[i] = gc[0];
            for (size_t j = 0; j < nz; j++)
                eta[i] += gc[j + 1] * d->z[r * pz + j + 1];
            mx = fmax(mx, eta[i]);
        }
        eta[k - 1] = 0;
        for (size_t i = 0; i < k; i++)
            sum += exp(eta[i] - mx);
        for (size_t i = 0; i < k; i++)
            worst_gate = fmax(worst_gate, fabs(eta[i] - mx - log(sum) - logg[r * k + i]));
    }
    tap_ok(worst_gate < 1e-11, "gate probabilities agree on both scales (log error %.3g)",
           worst_gate);
    double gm = 0;
    for (size_t i = 0; i + 1 < k; i++) {
        moe_model_gate(m, i, gc);
        for (size_t r = 0; r < pz; r++) {
            double v = 0;
            for (size_t c = 0; c < pz; c++)
                v += gmap[r * pz + c] * GATE(m, i * pz + c);
            gm = fmax(gm, fabs(v - gc[r]) / (fabs(gc[r]) + 1));
        }
    }
    tap_ok(gm < 1e-13, "gate_map A v equals moe_model_gate");

    /* names and copies */
    const char *xn[] = {"a", "b", "c"}, *zn[] = {"g1", "g2"};
    free(d->y_name);
    d->y_name = strdup("resp");
    for (size_t j = 0; j < nx; j++) {
        free(d->x_names[j]);
        d->x_names[j] = strdup(xn[j]);
    }
    for (size_t j = 0; j < nz; j++) {
        free(d->z_names[j]);
        d->z_names[j] = strdup(zn[j]);
    }
    tap_int(moe_model_set_names(m, d), MOE_SUCCESS, "set_names");
    moe_model *c = moe_model_copy(m);
    tap_ok(c && strcmp(moe_model_response(c), "resp") == 0 &&
               strcmp(moe_model_input(c, 2), "c") == 0 &&
               strcmp(moe_model_gate_input(c, 1), "g2") == 0,
           "copy keeps the names");
    tap_ok(c && memcmp(c->expert_par, m->expert_par, k * m->ep * sizeof(double)) == 0 &&
               memcmp(c->gate_par, m->gate_par, m->gp * sizeof(double)) == 0 &&
               memcmp(c->x_scale, m->x_scale, nx * sizeof *c->x_scale) == 0 &&
               c->y_center == m->y_center && c->y_scale == m->y_scale,
           "copy is exact");
    tap_ok(moe_model_copy(NULL) == NULL, "copy(NULL) is NULL");
    moe_model_free(c);
    moe_model_free(m);
    moe_dataset_free(s);
    moe_dataset_free(d);
    free(mu);
    free(var);
    free(logg);
    free(x);
    free(z);
    free(y);
    gsl_rng_free(rng);
    return tap_done();
}
