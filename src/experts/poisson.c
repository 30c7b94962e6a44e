/* poisson.c: the Poisson log-linear expert f_i(y | x) = Pois(y; mu), mu = exp(eta),
 * eta = b_i'(1, x) + offset (the offset, e.g. a log exposure, is D's offset column on the
 * data's own scale; no offset column means 0).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Block = theta = beta (p = nx + 1 doubles); no dispersion parameter. y is the data's own
 * count (scales_response = 0), so the linear predictor is on the log-mean scale and report
 * unscales it without the response's centre and scale. With weights h (already carrying the
 * observation weights):
 *     log f             = y eta - mu - log y!
 *     dL/dbeta          = sum h (y - mu) x~
 *     -d2L/dbeta dbeta' = sum h mu x~ x~'            (the canonical link: exact, and Fisher's)
 * The M-step is the trainer's weighted Newton (IRLS) driver fed by newton_add; stats are
 * [sum h log f, gradient (p), negative Hessian packed by rows, upper triangle (p(p+1)/2)].
 *
 * Overflow: eta is capped at ETA_MAX before it enters exp, in the density, the moments, the
 * draws and the derivatives alike, so a wild Newton trial step gives a very poor but finite
 * objective (which step-halving rejects) and finite derivatives, never inf or NaN. Beyond the
 * cap the objective is flat in eta and the derivatives are those at the cap (they still
 * point back). No cap below: exp underflows harmlessly to 0 and y eta keeps falling, as it
 * should. A NaN eta stays NaN (a bug upstream must show). Rows with h = 0 are skipped. */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <string.h>

#include "experts/glm.h"

/* exp(600) ~ 4e260 leaves about 1e48 of headroom below DBL_MAX for the weights, x_a x_b and
 * the sum over rows in the Hessian; any real count has eta below log(2^53) ~ 37. */
#define ETA_MAX 600.0
/* Largest count: above 2^53 consecutive integers are no longer doubles. */
#define COUNT_MAX 9007199254740992.0
/* Above this mean gsl_ran_poisson's unsigned int result could overflow; we draw from the
 * normal approximation (relative skewness 1/sqrt(mu) < 3e-5 there). */
#define DRAW_EXACT_MAX 1e9

static const char *pois_check_response(double y, double trials)
{
    (void)trials;
    if (!(isfinite(y) && y >= 0 && y == floor(y)))
        return "must be a non-negative integer count";
    if (y > COUNT_MAX)
        return "is too large for an exact count (at most 2^53)";
    return NULL;
}

/* log y! for a count y (thread-safe, unlike lgamma, which sets signgam). */
static double log_factorial(double y)
{
    return y <= GSL_SF_FACT_NMAX ? gsl_sf_lnfact((unsigned int)y) : gsl_sf_lngamma(y + 1);
}

/* The capped linear predictor of row R. */
static double eta_row(const moe_dataset *d, const double *beta, size_t r)
{
    size_t px = d->nx + 1;
    const double *x = d->x + r * px;
    double eta = d->offset ? d->offset[r] : 0;
    for (size_t j = 0; j < px; j++)
        eta += x[j] * beta[j];
    return eta > ETA_MAX ? ETA_MAX : eta;  /* not fmin: a NaN must stay NaN */
}

/* One row at ETA: log f = y eta - mu - log y!, y - mu, var = mu (the log link is canonical). */
static void pois_row(const moe_dataset *d, size_t r, double eta, double *logf, double *resid,
                     double *var)
{
    double mu = exp(eta), y = d->y[r];
    if (logf)  /* y eta is 0 for y = 0 even when eta is very negative */
        *logf = (y > 0 ? y * eta : 0) - mu - log_factorial(y);
    *resid = y - mu;
    *var = mu;
}

static void pois_log_density_rows(const moe_dataset *d, const moe_expert_shape *s,
                                  const double *par, size_t r0, size_t r1, double *logf)
{
    (void)s;
    for (size_t r = r0; r < r1; r++) {
        double resid, var;
        pois_row(d, r, eta_row(d, par, r), logf + (r - r0), &resid, &var);
    }
}

static void pois_moments_rows(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                              size_t r0, size_t r1, double *mean, double *var)
{
    (void)s;
    for (size_t r = r0; r < r1; r++) {
        double mu = exp(eta_row(d, par, r));
        if (mean)
            mean[r - r0] = mu;
        if (var)
            var[r - r0] = mu;
    }
}

static double pois_draw(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                        size_t r, gsl_rng *rng)
{
    (void)s;
    double mu = exp(eta_row(d, par, r));
    if (mu <= DRAW_EXACT_MAX)
        return gsl_ran_poisson(rng, mu);
    double v = floor(mu + sqrt(mu) * gsl_ran_ugaussian(rng) + 0.5);
    return v > 0 ? v : 0;
}

static const moe_glm_rows pois_rows = {eta_row, pois_row};

static void pois_score_rows(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                            const double *h, size_t k, size_t i, size_t r0, size_t r1, double *grad)
{
    (void)s;
    moe_glm_score_rows(&pois_rows, d, par, h, k, i, r0, r1, grad);
}

static void pois_mean_grad_rows(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                                const double *c, size_t k, size_t i, size_t r0, size_t r1,
                                double *grad)
{
    (void)s;
    moe_glm_mean_grad_rows(&pois_rows, d, par, c, k, i, r0, r1, grad);
}

static void pois_newton_add(const moe_dataset *d, const moe_expert_shape *s, const double *theta,
                            const double *h, size_t k, size_t i, size_t r0, size_t r1, int deriv,
                            double *stats)
{
    (void)s;
    moe_glm_newton_add(&pois_rows, d, theta, h, k, i, r0, r1, deriv, stats);
}

static const char *const pois_extras[] = {NULL};

const moe_expert_type moe_expert_poisson = {
    .name = "poisson",
    .description = "Poisson log-linear regression, y ~ Pois(exp(b'(1,x) + offset))",
    .label = "Poisson log-linear",
    .scales_response = 0,
    .needs_offset = 1,
    .needs_trials = 0,
    .block_size = moe_glm_block_size,
    .nparams = moe_glm_block_size,
    .init = moe_glm_init,
    .from_linear = moe_glm_from_linear,
    .get_theta = moe_glm_copy,
    .set_theta = moe_glm_copy,
    .check_response = pois_check_response,
    .log_density_rows = pois_log_density_rows,
    .moments_rows = pois_moments_rows,
    .draw = pois_draw,
    .score_rows = pois_score_rows,
    .mean_grad_rows = pois_mean_grad_rows,
    .ncoef = moe_glm_block_size,
    .extra_names = pois_extras,
    .report = moe_glm_report,
    .fields = moe_glm_fields,
    .newton_size = moe_glm_newton_size,
    .newton_add = pois_newton_add,
};
