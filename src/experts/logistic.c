/* logistic.c: the logistic (binomial logit) expert f_i(y | x) = Bin(y; n, p),
 * p = 1 / (1 + exp(-eta)), eta = b_i'(1, x): y successes out of n trials, n from D's trials
 * column (no trials column means n = 1: a Bernoulli 0/1 outcome).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Block = theta = beta (p = nx + 1 doubles); no dispersion parameter, no offset. y is the
 * data's own count (scales_response = 0), so report unscales the logit without the
 * response's centre and scale. The mean of y (moments_rows, hence predictions and regime
 * curves) is the expected number of successes n p: for 0/1 data, the probability of a 1.
 * With weights h (already carrying the observation weights), q = 1 - p:
 *     log f             = log C(n, y) + y log p + (n - y) log q
 *     dL/dbeta          = sum h (y - n p) x~
 *     -d2L/dbeta dbeta' = sum h n p q x~ x~'         (the canonical link: exact, and Fisher's)
 * The M-step is the trainer's weighted Newton (IRLS) driver fed by newton_add; stats are
 * [sum h log f, gradient (p), negative Hessian packed by rows, upper triangle (p(p+1)/2)].
 *
 * Stability: log p = -softplus(-eta) and log q = -softplus(eta) with
 * softplus(t) = max(t, 0) + log1p(exp(-|t|)), and p, q are each computed from exp(-|eta|), so
 * no finite eta overflows or loses q to cancellation: the objective and the derivatives stay
 * finite for any finite coefficients (no cap is needed). Rows with h = 0 are skipped. */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "experts/glm.h"

/* TRIALS is 1 for data without a trials column. The upper bound on trials is what
 * gsl_ran_binomial (an unsigned int size) can draw from. */
static const char *logit_check_response(double y, double trials)
{
    if (!(isfinite(trials) && trials >= 1 && trials == floor(trials)))
        return "the number of trials must be a positive integer";
    if (trials > UINT_MAX)
        return "the number of trials is too large (at most 4294967295)";
    if (!(isfinite(y) && y >= 0 && y <= trials && y == floor(y)))
        return trials == 1 ? "must be 0 or 1" : "must be an integer between 0 and the number of "
                                                "trials";
    return NULL;
}

static double log_factorial(double v)
{
    return v <= GSL_SF_FACT_NMAX ? gsl_sf_lnfact((unsigned int)v) : gsl_sf_lngamma(v + 1);
}

/* log C(n, y); 0 for Bernoulli rows without a call. */
static double log_choose(double n, double y)
{
    if (n == 1 || y == 0 || y == n)
        return 0;
    return log_factorial(n) - log_factorial(y) - log_factorial(n - y);
}

/* log(1 + exp(t)) without overflow; relative accuracy kept for t << 0. */
static double softplus(double t) { return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t)); }

/* p = 1 / (1 + exp(-eta)) and q = 1 - p, each from exp(-|eta|). */
static void probs(double eta, double *p, double *q)
{
    double e = exp(-fabs(eta)), big = 1 / (1 + e), small = e / (1 + e);
    *p = eta >= 0 ? big : small;
    *q = eta >= 0 ? small : big;  /* a NaN eta gives NaN p and q */
}

static double eta_row(const moe_dataset *d, const double *beta, size_t r)
{
    size_t px = d->nx + 1;
    const double *x = d->x + r * px;
    double eta = 0;
    for (size_t j = 0; j < px; j++)
        eta += x[j] * beta[j];
    return eta;
}

static double trials_row(const moe_dataset *d, size_t r) { return d->trials ? d->trials[r] : 1; }

/* log f of one row; the y = 0 and y = n terms vanish exactly. */
static double log_f(double y, double n, double eta)
{
    double lf = log_choose(n, y);
    if (y > 0)
        lf -= y * softplus(-eta);
    if (n - y > 0)
        lf -= (n - y) * softplus(eta);
    return lf;
}

static void logit_log_density_rows(const moe_dataset *d, const moe_expert_shape *s,
                                   const double *par, size_t r0, size_t r1, double *logf)
{
    (void)s;
    for (size_t r = r0; r < r1; r++)
        logf[r - r0] = log_f(d->y[r], trials_row(d, r), eta_row(d, par, r));
}

static void logit_moments_rows(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                               size_t r0, size_t r1, double *mean, double *var)
{
    (void)s;
    for (size_t r = r0; r < r1; r++) {
        double n = trials_row(d, r), p, q;
        probs(eta_row(d, par, r), &p, &q);
        if (mean)
            mean[r - r0] = n * p;
        if (var)
            var[r - r0] = n * p * q;
    }
}

static double logit_draw(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                         size_t r, gsl_rng *rng)
{
    (void)s;
    double p, q;
    probs(eta_row(d, par, r), &p, &q);
    return gsl_ran_binomial(rng, p, (unsigned int)trials_row(d, r));
}

/* One row at ETA: log f, y - n p, var = n p q (the logit link is canonical). */
static void logit_row(const moe_dataset *d, size_t r, double eta, double *logf, double *resid,
                      double *var)
{
    double y = d->y[r], n = trials_row(d, r), p, q;
    if (logf)
        *logf = log_f(y, n, eta);
    probs(eta, &p, &q);
    *resid = y - n * p;
    *var = n * p * q;
}

static const moe_glm_rows logit_rows = {eta_row, logit_row};

static void logit_score_rows(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                             const double *h, size_t k, size_t i, size_t r0, size_t r1,
                             double *grad)
{
    (void)s;
    moe_glm_score_rows(&logit_rows, d, par, h, k, i, r0, r1, grad);
}

static void logit_mean_grad_rows(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                                 const double *c, size_t k, size_t i, size_t r0, size_t r1,
                                 double *grad)
{
    (void)s;
    moe_glm_mean_grad_rows(&logit_rows, d, par, c, k, i, r0, r1, grad);
}

static void logit_newton_add(const moe_dataset *d, const moe_expert_shape *s, const double *theta,
                             const double *h, size_t k, size_t i, size_t r0, size_t r1, int deriv,
                             double *stats)
{
    (void)s;
    moe_glm_newton_add(&logit_rows, d, theta, h, k, i, r0, r1, deriv, stats);
}

static const char *const logit_extras[] = {NULL};

const moe_expert_type moe_expert_logistic = {
    .name = "logistic",
    .description = "logistic regression, y ~ Bin(trials, 1 / (1 + exp(-b'(1,x))))",
    .label = "logistic",
    .scales_response = 0,
    .needs_offset = 0,
    .needs_trials = 1,
    .block_size = moe_glm_block_size,
    .nparams = moe_glm_block_size,
    .init = moe_glm_init,
    .from_linear = moe_glm_from_linear,
    .get_theta = moe_glm_copy,
    .set_theta = moe_glm_copy,
    .check_response = logit_check_response,
    .log_density_rows = logit_log_density_rows,
    .moments_rows = logit_moments_rows,
    .draw = logit_draw,
    .score_rows = logit_score_rows,
    .mean_grad_rows = logit_mean_grad_rows,
    .ncoef = moe_glm_block_size,
    .extra_names = logit_extras,
    .report = moe_glm_report,
    .fields = moe_glm_fields,
    .newton_size = moe_glm_newton_size,
    .newton_add = logit_newton_add,
};
