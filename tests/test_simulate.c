/* test_simulate.c: random models and simulated data (moe_simulate_model, moe_simulate).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "model/model.h"
#include "moe.h"
#include "gauss_layout.h"
#include "tap.h"
#include "model/estep.h"

/* Line of expert I of M (nx >= 1, unit scaling) at x1 = X, other inputs 0. */
static double line_at(const moe_model *m, size_t i, double x)
{
    size_t px = m->nx + 1;
    return BETA(m, i * px) + BETA(m, i * px + 1) * x;
}

static void model_shape(void)
{
    moe_sim_options o = moe_sim_options_default();
    tap_ok(o.k == 3 && o.nx == 1 && o.separation == 4 && o.noise == 1 && o.seed == 1,
           "defaults: k 3, nx 1, separation 4, noise 1, seed 1");
    moe_model *m = NULL;
    moe_error err;
    if (!tap_int(moe_simulate_model(&o, &m, &err), MOE_SUCCESS, "default model"))
        return;
    tap_ok(m->k == 3 && m->nx == 1 && m->nz == 1, "shape k 3, nx 1, nz 1");
    tap_ok(strcmp(m->y_name, "y") == 0 && strcmp(m->x_names[0], "x1") == 0 &&
               strcmp(m->z_names[0], "x1") == 0,
           "names y, x1 (gate on the same column)");
    /* neighbouring lines are SEPARATION noise SDs apart at their boundary */
    double len = 2 * sqrt(3.0) / 3;
    for (size_t i = 1; i < 3; i++) {
        double b = -sqrt(3.0) + (double)i * len;
        tap_rel(fabs(line_at(m, i, b) - line_at(m, i - 1, b)), 4, 1e-12,
                "lines %zu and %zu are 4 SDs apart at the boundary", i, i + 1);
        /* gate: experts i-1 and i tie at the boundary */
        double e0 = GATE(m, (i - 1) * 2) + GATE(m, (i - 1) * 2 + 1) * b;
        double e1 = GATE(m, i * 2) + GATE(m, i * 2 + 1) * b;
        tap_abs(e1 - e0, 0, 1e-12, "gate logits of %zu and %zu tie at the boundary", i, i + 1);
    }
    tap_ok(SIGMA(m, 0) == 1 && SIGMA(m, 2) == 1, "noise SD 1");
    moe_model *m2 = NULL;
    moe_simulate_model(&o, &m2, &err);
    tap_ok(m2 && memcmp(m->expert_par, m2->expert_par, m->k * m->ep * sizeof(double)) == 0 &&
               memcmp(m->gate_par, m2->gate_par, m->gp * sizeof(double)) == 0,
           "same seed, same model");
    moe_model_free(m2);
    moe_model_free(m);

    o.k = 0;
    tap_int(moe_simulate_model(&o, &m, &err), MOE_EINVAL, "k = 0 refused (%s)", err.message);
    tap_ok(m == NULL, "no model on error");
    o = moe_sim_options_default();
    o.noise = 0;
    tap_int(moe_simulate_model(&o, &m, &err), MOE_EINVAL, "noise 0 refused");
    o = moe_sim_options_default();
    o.separation = NAN;
    tap_int(moe_simulate_model(&o, &m, &err), MOE_EINVAL, "separation NaN refused");
    o = moe_sim_options_default();
    o.k = 65;
    tap_int(moe_simulate_model(&o, &m, &err), MOE_EINVAL, "k = 65 refused");
}

static void data(void)
{
    moe_sim_options o = moe_sim_options_default();
    o.k = 3;
    o.seed = 3;
    moe_model *m = NULL;
    moe_error err;
    moe_simulate_model(&o, &m, &err);
    size_t n = 6000, k = 3;
    moe_dataset *d = NULL, *d2 = NULL, *d3 = NULL;
    size_t *reg = malloc(n * sizeof *reg), *reg2 = malloc(n * sizeof *reg2);
    if (!tap_int(moe_simulate(m, n, 42, &d, reg, &err), MOE_SUCCESS, "simulate %zu rows", n))
        goto done;
    tap_ok(d->n == n && d->nx == 1 && d->nz == 1 && d->y != NULL, "sizes n x 1, y present");
    tap_ok(strcmp(d->y_name, "y") == 0 && strcmp(d->x_names[0], "x1") == 0, "names from model");
    int inrange = 1, same = 1, finite = 1;
    for (size_t r = 0; r < n; r++) {
        double x = d->x[r * 2 + 1];
        inrange &= fabs(x) <= sqrt(3.0) && d->x[r * 2] == 1;
        same &= d->z[r * 2 + 1] == x;
        finite &= isfinite(d->y[r]) != 0;
    }
    tap_ok(inrange, "inputs within centre +- sqrt(3) scale");
    tap_ok(same, "gate input is the same column as the expert input");
    tap_ok(finite, "responses finite");

    moe_simulate(m, n, 42, &d2, reg2, &err);
    tap_ok(d2 && memcmp(d->x, d2->x, n * 2 * sizeof(double)) == 0 &&
               memcmp(d->y, d2->y, n * sizeof(double)) == 0 &&
               memcmp(reg, reg2, n * sizeof *reg) == 0,
           "same seed: same rows and regimes bit for bit");
    moe_simulate(m, n, 43, &d3, NULL, &err);
    tap_ok(d3 && memcmp(d->y, d3->y, n * sizeof(double)) != 0, "another seed: other rows");

    /* regimes follow the gate: count of each regime against the summed gate probability
     * (a sum of independent Bernoullis: SD = sqrt(sum g (1-g)); allow 4 SDs) */
    double *g = malloc(n * k * sizeof *g);
    moe_estep(d, m, g, NULL);  /* unit scaling: d is already standardised */
    for (size_t i = 0; i < k; i++) {
        double want = 0, var = 0;
        size_t got = 0;
        for (size_t r = 0; r < n; r++) {
            want += g[r * k + i];
            var += g[r * k + i] * (1 - g[r * k + i]);
            got += reg[r] == i;
        }
        tap_abs((double)got, want, 4 * sqrt(var), "regime %zu: %zu rows, gate expects %.1f",
                i + 1, got, want);
    }
    /* and the residuals under the true regime have the noise SD (within 5%) */
    double ss = 0;
    for (size_t r = 0; r < n; r++) {
        double e = d->y[r] - line_at(m, reg[r], d->x[r * 2 + 1]);
        ss += e * e;
    }
    tap_rel(sqrt(ss / (double)n), 1.0, 0.05, "residual SD under the true regime is the noise");
    free(g);

    moe_dataset *d0 = NULL;
    tap_int(moe_simulate(m, 0, 1, &d0, NULL, &err), MOE_EINVAL, "n = 0 refused");
    tap_ok(d0 == NULL, "no data set on error");
done:
    moe_dataset_free(d);
    moe_dataset_free(d2);
    moe_dataset_free(d3);
    free(reg);
    free(reg2);
    moe_model_free(m);
}

static void other_shapes(void)
{
    moe_error err;
    for (size_t nx = 0; nx <= 3; nx += 3) {
        moe_sim_options o = moe_sim_options_default();
        o.nx = nx;
        o.k = 2;
        moe_model *m = NULL;
        moe_dataset *d = NULL;
        int ok = moe_simulate_model(&o, &m, &err) == MOE_SUCCESS &&
                 moe_simulate(m, 50, 1, &d, NULL, &err) == MOE_SUCCESS && d->nx == nx &&
                 d->nz == nx;
        tap_ok(ok, "nx = %zu: model and data", nx);
        moe_dataset_free(d);
        moe_model_free(m);
    }
    /* a model with its own scaling: inputs over centre +- sqrt(3) scale */
    moe_sim_options o = moe_sim_options_default();
    moe_model *m = NULL;
    moe_dataset *d = NULL;
    moe_simulate_model(&o, &m, &err);
    m->x_center[0] = m->z_center[0] = 100;
    m->x_scale[0] = m->z_scale[0] = 5;
    moe_simulate(m, 2000, 9, &d, NULL, &err);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t r = 0; d && r < d->n; r++) {
        lo = fmin(lo, d->x[r * 2 + 1]);
        hi = fmax(hi, d->x[r * 2 + 1]);
    }
    tap_ok(lo >= 100 - 5 * sqrt(3.0) && hi <= 100 + 5 * sqrt(3.0) && lo < 92 && hi > 108,
           "scaled inputs cover 100 +- 5 sqrt(3): [%.3f, %.3f]", lo, hi);
    moe_dataset_free(d);
    moe_model_free(m);
}

int main(void)
{
    model_shape();
    data();
    other_shapes();
    return tap_done();
}
