/* test_predict.c: predictions (moe_predict): means, SDs (law of total variance), gate
 * probabilities and posteriors against values computed by hand, scale invariance, errors.
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

/* A 2-expert, 1-input model on the data's own scale (unit scaling):
 * y = 2 + 3x (sd 0.5) and y = -1 - x (sd 2); gate logit of expert 1 = 0.5 - 2x. */
static moe_model *unit_model(void)
{
    moe_model *m = moe_model_alloc(2, 1, 1);
    if (!m)
        return NULL;
    m->y_center = 0;
    m->y_scale = 1;
    m->x_center[0] = m->z_center[0] = 0;
    m->x_scale[0] = m->z_scale[0] = 1;
    double beta[4] = {2, 3, -1, -1}, gate[4] = {0.5, -2, 0, 0};
    for (size_t t = 0; t < 4; t++) {
        BETA(m, t) = beta[t];
        GATE(m, t) = gate[t];
    }
    SIGMA(m, 0) = 0.5;
    SIGMA(m, 1) = 2;
    return m;
}

/* The same model stored on a standardised scale with centre C, scale S for x (and z) and
 * YC, YS for y: y = YC + YS (b0' + b1' (x - C)/S) must equal b0 + b1 x. */
static moe_model *scaled_model(double c, double s, double yc, double ys)
{
    moe_model *u = unit_model(), *m = unit_model();
    if (!u || !m) {
        moe_model_free(u);
        moe_model_free(m);
        return NULL;
    }
    m->x_center[0] = m->z_center[0] = c;
    m->x_scale[0] = m->z_scale[0] = s;
    m->y_center = yc;
    m->y_scale = ys;
    for (size_t i = 0; i < 2; i++) {
        double b0 = BETA(u, 2 * i), b1 = BETA(u, 2 * i + 1);
        BETA(m, 2 * i + 1) = b1 * s / ys;
        BETA(m, 2 * i) = (b0 + b1 * c - yc) / ys;
        SIGMA(m, i) = SIGMA(u, i) / ys;
        double v0 = GATE(u, 2 * i), v1 = GATE(u, 2 * i + 1);
        GATE(m, 2 * i + 1) = v1 * s;
        GATE(m, 2 * i) = v0 + v1 * c;
    }
    moe_model_free(u);
    return m;
}

static double npdf(double y, double mu, double sd)
{
    double z = (y - mu) / sd;
    return exp(-0.5 * z * z) / (sd * sqrt(2 * M_PI));
}

int main(void)
{
    moe_error err;
    double x[5] = {-1.5, -0.2, 0, 0.3, 2.0}, y[5] = {-0.7, 1.1, 0.4, 2.5, 8.1};
    moe_dataset *d = NULL;
    if (moe_dataset_from_arrays(5, 1, x, 0, NULL, y, &d, &err) != MOE_SUCCESS) {
        printf("Bail out! cannot build the data set: %s\n", err.message);
        return 99;
    }
    moe_model *u = unit_model(), *s = scaled_model(3.5, 0.01, -20, 1e4);
    moe_prediction *pu = NULL, *ps = NULL;
    tap_int(moe_predict(u, d, 1, &pu, &err), MOE_SUCCESS, "predict, unit scaling");
    tap_int(moe_predict(s, d, 1, &ps, &err), MOE_SUCCESS, "predict, stored scaling");
    if (!pu || !ps)
        return tap_done();
    tap_ok(pu->n == 5 && pu->k == 2 && pu->posterior != NULL, "shape 5 x 2 with posteriors");
    for (size_t r = 0; r < 5; r++) {
        /* by hand on the data scale */
        double g1 = 1 / (1 + exp(-(0.5 - 2 * x[r]))), g2 = 1 - g1;
        double m1 = 2 + 3 * x[r], m2 = -1 - x[r], mean = g1 * m1 + g2 * m2;
        double var = g1 * (0.25 + (m1 - mean) * (m1 - mean)) +
                     g2 * (4 + (m2 - mean) * (m2 - mean));
        double f1 = g1 * npdf(y[r], m1, 0.5), f2 = g2 * npdf(y[r], m2, 2);
        tap_rel(pu->mean[r], mean, 1e-13, "row %zu: mixture mean by hand", r);
        tap_rel(pu->sd[r], sqrt(var), 1e-13, "row %zu: total-variance SD by hand", r);
        tap_rel(pu->gate[2 * r], g1, 1e-13, "row %zu: gate probability by hand", r);
        tap_rel(pu->posterior[2 * r], f1 / (f1 + f2), 1e-12, "row %zu: posterior by hand", r);
        tap_int((long)pu->expert[r], g1 >= g2 ? 0 : 1, "row %zu: most probable expert", r);
        /* the rescaled model is the same model: equal up to rounding of the rescaling */
        tap_rel(ps->mean[r], mean, 1e-9, "row %zu: stored scaling gives the same mean", r);
        tap_rel(ps->sd[r], sqrt(var), 1e-9, "row %zu: stored scaling gives the same SD", r);
        tap_rel(ps->posterior[2 * r + 1], pu->posterior[2 * r + 1], 1e-9,
                "row %zu: stored scaling gives the same posterior", r);
    }
    moe_prediction_free(pu);
    moe_prediction_free(ps);

    /* error paths */
    moe_prediction *p = (moe_prediction *)&p;
    moe_dataset *nd = NULL;
    moe_dataset_from_arrays(5, 1, x, 0, NULL, NULL, &nd, &err);
    tap_int(moe_predict(u, nd, 1, &p, &err), MOE_EINVAL, "posterior without y: %s", err.message);
    tap_ok(p == NULL, "no prediction on error");
    tap_int(moe_predict(u, nd, 0, &p, &err), MOE_SUCCESS, "without y, no posterior: fine");
    tap_ok(p && p->posterior == NULL, "posterior is NULL");
    moe_prediction_free(p);
    moe_dataset_free(nd);
    double x2[10] = {0};
    moe_dataset_from_arrays(5, 2, x2, 0, NULL, NULL, &nd, &err);
    tap_int(moe_predict(u, nd, 0, &p, &err), MOE_EBADLEN, "wrong number of inputs: %s",
            err.message);
    moe_dataset_free(nd);
    /* coefficients that overflow: an error, never Inf in the output */
    BETA(u, 1) = 1e308;
    tap_int(moe_predict(u, d, 0, &p, &err), MOE_ENUMERIC, "overflowing mean refused: %s",
            err.message);
    tap_ok(p == NULL, "and nothing returned");
    moe_prediction_free(NULL);

    moe_model_free(u);
    moe_model_free(s);
    moe_dataset_free(d);
    return tap_done();
}
