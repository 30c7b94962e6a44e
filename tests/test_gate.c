/* test_gate.c: the softmax gate: gradient and exact Hessian of the soft-target objective
 * against central finite differences, and the step-halving Newton M-step never decreasing Q.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "gates/gate.h"
#include "model/model.h"
#include "moe.h"
#include "tap.h"
#include "train/em.h"

/* N rows with NZ standard normal gate inputs (the same as the expert inputs) and a response. */
static moe_dataset *sim(size_t n, size_t nz, gsl_rng *rng)
{
    double *x = malloc(n * nz * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t t = 0; t < n * nz; t++)
        x[t] = gsl_ran_gaussian(rng, 1);
    for (size_t r = 0; r < n; r++)
        y[r] = gsl_ran_gaussian(rng, 1);
    moe_dataset *d = NULL;
    moe_dataset_from_arrays(n, nz, x, 0, NULL, y, &d, NULL);
    free(x);
    free(y);
    return d;
}

static void dirichlet_rows(size_t n, size_t k, gsl_rng *rng, double *h)
{
    for (size_t r = 0; r < n; r++) {
        double s = 0;
        for (size_t i = 0; i < k; i++)
            s += (h[r * k + i] = gsl_ran_gamma(rng, 1, 1));
        for (size_t i = 0; i < k; i++)
            h[r * k + i] /= s;
    }
}

/* Q, gradient and negative Hessian of the unpenalised objective in one block. */
static double q_of(const moe_gate_type *gt, const moe_dataset *d, const double *theta,
                   const double *h, size_t k, double *grad, double *nhess, double *stats)
{
    memset(stats, 0, gt->stat_size(k, d->nz) * sizeof *stats);
    gt->stat_add(d, theta, h, k, 0, d->n, grad != NULL, stats);
    if (grad)
        gt->derivatives(stats, k, d->nz, grad, nhess);
    return stats[0];
}

static void test_derivatives(size_t k, size_t nz, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    size_t n = 80;
    moe_dataset *d = sim(n, nz, rng);
    const moe_gate_type *gt = &moe_gate_softmax;
    size_t np = gt->nparams(k, nz);
    double *h = malloc(n * k * sizeof *h), *theta = malloc(np * sizeof *theta);
    double *grad = malloc(np * sizeof *grad), *nhess = malloc(np * np * sizeof *nhess);
    double *g1 = malloc(np * sizeof *g1), *g2 = malloc(np * sizeof *g2);
    double *nh1 = malloc(np * np * sizeof *nh1);
    double *stats = malloc(gt->stat_size(k, nz) * sizeof *stats);
    dirichlet_rows(n, k, rng, h);
    for (size_t j = 0; j < np; j++)
        theta[j] = gsl_ran_gaussian(rng, 0.7);
    q_of(gt, d, theta, h, k, grad, nhess, stats);
    const double eps = 1e-5;
    double gerr = 0, herr = 0, gscale = 0, hscale = 0, asym = 0;
    for (size_t j = 0; j < np; j++) {
        double keep = theta[j];
        theta[j] = keep + eps;
        double qp = q_of(gt, d, theta, h, k, g1, nh1, stats);
        theta[j] = keep - eps;
        double qm = q_of(gt, d, theta, h, k, g2, nh1, stats);
        theta[j] = keep;
        double fd = (qp - qm) / (2 * eps);
        gerr = fmax(gerr, fabs(fd - grad[j]));
        gscale = fmax(gscale, fabs(grad[j]));
        for (size_t l = 0; l < np; l++) {
            /* -d2Q/dtheta_j dtheta_l by differences of the analytic gradient */
            double fdh = -(g1[l] - g2[l]) / (2 * eps);
            herr = fmax(herr, fabs(fdh - nhess[j * np + l]));
            hscale = fmax(hscale, fabs(nhess[j * np + l]));
            asym = fmax(asym, fabs(nhess[j * np + l] - nhess[l * np + j]));
        }
    }
    tap_ok(gerr <= 1e-6 * (gscale + 1), "K = %zu, nz = %zu: gradient matches central "
           "differences (max error %.3g, scale %.3g)", k, nz, gerr, gscale);
    tap_ok(herr <= 1e-6 * (hscale + 1), "K = %zu, nz = %zu: exact Hessian matches central "
           "differences of the gradient (max error %.3g, scale %.3g)", k, nz, herr, hscale);
    tap_ok(asym == 0, "K = %zu, nz = %zu: the Hessian is exactly symmetric", k, nz);
    /* the objective agrees with sum h log g computed through log_prob */
    moe_model *m = moe_model_alloc(k, nz, nz);
    gt->set_theta(k, nz, theta, m->gate_par);
    double *logg = malloc(n * k * sizeof *logg), q = 0;
    gt->log_prob_rows(d, m->gate_par, k, 0, n, logg);
    for (size_t t = 0; t < n * k; t++)
        q += h[t] * logg[t];
    tap_rel(q_of(gt, d, theta, h, k, NULL, NULL, stats), q, 1e-12,
            "K = %zu, nz = %zu: Q = sum h log g", k, nz);
    moe_model_free(m);
    free(logg);
    free(h);
    free(theta);
    free(grad);
    free(nhess);
    free(g1);
    free(g2);
    free(nh1);
    free(stats);
    moe_dataset_free(d);
    gsl_rng_free(rng);
}

/* The Newton M-step with step-halving never decreases the (penalised) objective, also on
 * separable hard targets where the MLE is infinite. */
static void test_newton(size_t k, size_t nz, int hard, double ridge, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    size_t n = 200;
    moe_dataset *d = sim(n, nz, rng);
    double *h = malloc(n * k * sizeof *h);
    if (hard) {
        /* regime by the first input: perfectly separable */
        for (size_t r = 0; r < n; r++) {
            double z = d->z[r * (nz + 1) + 1];
            size_t i = z < -0.5 ? 0 : z < 0.5 ? 1 % k : k - 1;
            for (size_t j = 0; j < k; j++)
                h[r * k + j] = j == i;
        }
    } else {
        dirichlet_rows(n, k, rng, h);
    }
    moe_em_params par = {1e-8, 100, ridge, 1e-6, 0};
    moe_em_work *w = moe_em_alloc(d, k, &par);
    moe_em_init_h(w, h);
    int ok = 1;
    double q0 = 0, q1 = 0, qfirst = 0, worst = 0;
    for (int s = 0; s < 15; s++) {
        moe_em_gate_step(w, h, &q0, &q1);
        double direct = moe_em_gate_objective(w, h);
        if (s == 0)
            qfirst = q0;
        if (!(q1 >= q0) || fabs(direct - q1) > 1e-9 * fabs(q1) + 1e-12)
            ok = 0;
        if (q0 - q1 > worst)
            worst = q0 - q1;
    }
    tap_ok(ok, "K = %zu, nz = %zu, %s targets, ridge %g: Q never decreases over 15 M-steps "
           "(%.6g -> %.6g)", k, nz, hard ? "separable hard" : "soft", ridge, qfirst, q1);
    tap_ok(isfinite(q1) && q1 >= qfirst, "... and ends finite and higher");
    moe_em_free(w);
    free(h);
    moe_dataset_free(d);
    gsl_rng_free(rng);
}

int main(void)
{
    test_derivatives(2, 1, 1);
    test_derivatives(3, 2, 2);
    test_derivatives(4, 3, 3);
    test_derivatives(5, 0, 4);
    test_newton(2, 1, 0, 0, 5);
    test_newton(3, 2, 0, 0, 6);
    test_newton(4, 1, 1, 0, 7);
    test_newton(3, 2, 1, 0, 8);
    test_newton(3, 2, 1, 0.5, 9);
    return tap_done();
}
