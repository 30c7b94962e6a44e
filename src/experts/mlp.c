/* mlp.c: the MLP expert f_i(y | x) = N(y; w2' act(W1 (1, x)) + c, sigma^2): one hidden layer
 * of H units (activation tanh or relu), a Gaussian output with its own sigma.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Shape: H = s->hidden units, p = nx + 1 inputs with the intercept. Block (H p + H + 2
 * doubles): W1 (H rows of p, unit j's row first its bias), w2 (H), the output bias c, then
 * sigma (standardised scale). Free parameters theta: the same with log sigma last (the
 * dispersion, as for the Gaussian expert).
 *
 * Trained by gradient descent (the family is gd_only: EM refuses it). The one M-step the
 * trainers take of it is GD's start (the first M-step from k-means responsibilities,
 * src/train/select.c): newton_add gives sum h log f, its gradient and, in place of the exact
 * negative Hessian (not definite for a network), the expected information (Fisher scoring:
 * J J' h / sigma^2 for the weights, J = d mu / d weights, and 2 sum h for log sigma), which
 * the Newton driver's step-halving turns into ascent steps. The zero block of init is a
 * stationary point (no gradient reaches W1 or w2), so every start first draws small random
 * weights (randomise: W1 ~ N(0, 1/p), w2 ~ N(0, 0.01/H), from the start's own stream). The
 * weights are not identified one by one (units can be swapped and, for tanh, flipped), so the
 * reports show no coefficient table and no standard errors (opaque): only sigma. The rows
 * go through the network in chunks of CHUNK_DOUBLES / H rows (the hidden outputs of a chunk,
 * H <= MOE_HIDDEN_MAX, on the stack): the layers by the dot_rows kernel and the input
 * weights' gradient by ger_rows, both the reference's loops in every kernel set, so only the
 * tanh units differ between sets (vtanh). The Jacobian newton_add forms, of P = n_weights
 * doubles, is a variable-length array too, where its P^2 / 2 statistics (allocated by the
 * trainer beforehand) are the larger bound. */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <math.h>
#include <string.h>

#include "experts/expert.h"
#include "kernels/kernels.h"

#define LOG_SQRT_2PI 0.91893853320467274178

static size_t n_weights(const moe_expert_shape *s) { return s->hidden * (s->nx + 2) + 1; }
static size_t mlp_block_size(const moe_expert_shape *s) { return n_weights(s) + 1; }

/* The spurious-expert rule's count: a linear Gaussian expert's (intercept, slopes, sigma). */
static size_t mlp_rows_rule_params(const moe_expert_shape *s) { return s->nx + 2; }
static size_t mlp_ncoef(const moe_expert_shape *s)
{
    (void)s;
    return 1;  /* sigma */
}

static void mlp_init(const moe_expert_shape *s, double *par)
{
    memset(par, 0, n_weights(s) * sizeof *par);
    par[n_weights(s)] = 1;
}

static void mlp_randomise(const moe_expert_shape *s, double *par, gsl_rng *rng)
{
    size_t px = s->nx + 1, h = s->hidden;
    for (size_t t = 0; t < h * px; t++)
        par[t] = gsl_ran_gaussian_ziggurat(rng, 1 / sqrt((double)px));
    for (size_t j = 0; j < h; j++)
        par[h * px + j] = gsl_ran_gaussian_ziggurat(rng, 0.1 / sqrt((double)h));
    par[h * px + h] = 0;
    par[h * px + h + 1] = 1;
}

/* A network whose mean is the line BETA'(1, x): relu units 0 and 1 give relu(eta) -
 * relu(-eta) = eta exactly; tanh unit 0 gives tanh(EPS eta) / EPS, eta within a relative
 * (EPS eta)^2 / 3 (1e-8 for |eta| < 17). What moefit simulate's random models start from. */
#define LINEAR_EPS 1e-4
static void mlp_from_linear(const moe_expert_shape *s, const double *beta, double noise,
                            double *par)
{
    size_t px = s->nx + 1, h = s->hidden;
    mlp_init(s, par);
    if (s->activation == MOE_ACT_RELU && h >= 2) {
        for (size_t l = 0; l < px; l++) {
            par[l] = beta[l];
            par[px + l] = -beta[l];
        }
        par[h * px] = 1;
        par[h * px + 1] = -1;
    } else {
        for (size_t l = 0; l < px; l++)
            par[l] = LINEAR_EPS * beta[l];
        par[h * px] = 1 / LINEAR_EPS;
    }
    par[n_weights(s)] = noise;
}

static void mlp_get_theta(const moe_expert_shape *s, const double *par, double *theta)
{
    size_t nw = n_weights(s);
    memcpy(theta, par, nw * sizeof *theta);
    theta[nw] = log(par[nw]);
}

static void mlp_set_theta(const moe_expert_shape *s, const double *theta, double *par)
{
    size_t nw = n_weights(s);
    memcpy(par, theta, nw * sizeof *par);
    par[nw] = exp(theta[nw]);
}

static const char *mlp_check_response(double y, double trials)
{
    (void)trials;
    return isfinite(y) ? NULL : "must be a finite number";
}

/* Rows of a chunk: the forward pass keeps NC x H hidden outputs and their derivatives. */
#define CHUNK_DOUBLES 4096
static size_t chunk_rows(const moe_expert_shape *s)
{
    size_t c = CHUNK_DOUBLES / s->hidden;
    return c ? c : 1;
}

/* The forward pass of NC rows X (stride p = nx + 1): the hidden outputs A (NC x H) and, when
 * DA is not NULL, the derivatives act'(u) into DA; the means into MU. The pre-activations and
 * the means are dot_rows kernels across the rows, the tanh units one vtanh call for the chunk
 * (libm's tanh under MOE_ARCH=ref; dot_rows is the reference's loop in every set). */
static void forward_rows(const moe_kernels *kern, const moe_expert_shape *s, const double *par,
                         const double *x, size_t nc, double *a, double *da, double *mu)
{
    size_t px = s->nx + 1, h = s->hidden;
    kern->dot_rows(nc, h, px, par, px, NULL, x, px, a, h);
    if (s->activation == MOE_ACT_RELU) {
        for (size_t t = 0; t < nc * h; t++) {
            if (da)
                da[t] = a[t] > 0 ? 1 : 0;
            a[t] = a[t] > 0 ? a[t] : 0;
        }
    } else {
        kern->vtanh(nc * h, a, a);
        if (da)
            for (size_t t = 0; t < nc * h; t++)
                da[t] = 1 - a[t] * a[t];
    }
    kern->dot_rows(nc, 1, h, par + h * px, h, par + h * px + h, a, h, mu, 1);
}

/* Adds sum_r C_r d mu_r / d weights of the NC rows X to GRAD (n_weights values), from the
 * forward pass A, DA: the input weights' terms (C_r w2_j act'_rj) x_r by ger_rows, the output
 * weights' C_r a_r likewise, each element summed in row order (what the GD losses call, once
 * per chunk and expert; G holds NC x H doubles). */
static void add_mean_grad_rows(const moe_kernels *kern, const moe_expert_shape *s,
                               const double *par, const double *x, size_t nc, const double *a,
                               const double *da, const double *c, double *g, double *grad)
{
    size_t px = s->nx + 1, h = s->hidden;
    const double *w2 = par + h * px;
    for (size_t r = 0; r < nc; r++)
        for (size_t j = 0; j < h; j++)
            g[r * h + j] = c[r] * w2[j] * da[r * h + j];
    kern->ger_rows(nc, h, px, g, h, x, px, grad);
    kern->ger_rows(nc, 1, h, c, 1, a, h, grad + h * px);
    for (size_t r = 0; r < nc; r++)
        grad[h * px + h] += c[r];
}

/* d mu / d weights of row X (n_weights values) into J, from the forward pass A, DA. */
static void mean_jacobian(const moe_expert_shape *s, const double *par, const double *x,
                          const double *a, const double *da, double *jac)
{
    size_t px = s->nx + 1, h = s->hidden;
    const double *w2 = par + h * px;
    for (size_t j = 0; j < h; j++) {
        double g = w2[j] * da[j];
        for (size_t l = 0; l < px; l++)
            jac[j * px + l] = g * x[l];
        jac[h * px + j] = a[j];
    }
    jac[h * px + h] = 1;
}

static void mlp_log_density_rows(const moe_dataset *d, const moe_expert_shape *s,
                                 const double *par, size_t r0, size_t r1, double *logf)
{
    const moe_kernels *kern = moe_kernels_get();
    size_t px = d->nx + 1, rows = chunk_rows(s);
    double a[CHUNK_DOUBLES], mu[rows];
    double sd = par[n_weights(s)], inv = 1 / sd, c = -LOG_SQRT_2PI - log(sd);
    for (size_t c0 = r0; c0 < r1; c0 += rows) {
        size_t nc = r1 - c0 < rows ? r1 - c0 : rows;
        forward_rows(kern, s, par, d->x + c0 * px, nc, a, NULL, mu);
        for (size_t t = 0; t < nc; t++) {
            double e = (d->y[c0 + t] - mu[t]) * inv;
            logf[c0 + t - r0] = c - 0.5 * e * e;
        }
    }
}

static void mlp_moments_rows(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                             size_t r0, size_t r1, double *mean, double *var)
{
    const moe_kernels *kern = moe_kernels_get();
    size_t px = d->nx + 1, rows = chunk_rows(s);
    double a[CHUNK_DOUBLES], mu[rows], sd = par[n_weights(s)];
    for (size_t c0 = r0; c0 < r1; c0 += rows) {
        size_t nc = r1 - c0 < rows ? r1 - c0 : rows;
        if (mean) {
            forward_rows(kern, s, par, d->x + c0 * px, nc, a, NULL, mu);
            memcpy(mean + (c0 - r0), mu, nc * sizeof *mu);
        }
        if (var)
            for (size_t t = 0; t < nc; t++)
                var[c0 + t - r0] = sd * sd;
    }
}

static double mlp_draw(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                       size_t r, gsl_rng *rng)
{
    const moe_kernels *kern = moe_kernels_get();
    double a[s->hidden + 1], mu;
    forward_rows(kern, s, par, d->x + r * (d->nx + 1), 1, a, NULL, &mu);
    return mu + par[n_weights(s)] * gsl_ran_gaussian_ziggurat(rng, 1.0);
}

/* d log f / d weights = (y - mu) / sigma^2 J, d log f / d log sigma = (y - mu)^2 / sigma^2 - 1:
 * the same as the Gaussian expert's with J in place of x. */
static void mlp_score_rows(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                           const double *h, size_t k, size_t i, size_t r0, size_t r1,
                           double *grad)
{
    const moe_kernels *kern = moe_kernels_get();
    size_t px = d->nx + 1, nw = n_weights(s), rows = chunk_rows(s);
    double a[CHUNK_DOUBLES], da[CHUNK_DOUBLES];
    double g[CHUNK_DOUBLES], mu[rows], c[rows];
    double sd = par[nw], inv_s2 = 1 / (sd * sd);
    for (size_t c0 = r0; c0 < r1; c0 += rows) {
        size_t nc = r1 - c0 < rows ? r1 - c0 : rows;
        forward_rows(kern, s, par, d->x + c0 * px, nc, a, da, mu);
        for (size_t t = 0; t < nc; t++) {  /* rows of h = 0 add exact zeros */
            double hr = h[(c0 + t) * k + i], res = d->y[c0 + t] - mu[t];
            c[t] = hr == 0 ? 0 : hr * res * inv_s2;
            if (hr != 0)
                grad[nw] += hr * (res * res * inv_s2 - 1);
        }
        add_mean_grad_rows(kern, s, par, d->x + c0 * px, nc, a, da, c, g, grad);
    }
}

static void mlp_mean_grad_rows(const moe_dataset *d, const moe_expert_shape *s,
                               const double *par, const double *c, size_t k, size_t i,
                               size_t r0, size_t r1, double *grad)
{
    const moe_kernels *kern = moe_kernels_get();
    size_t px = d->nx + 1, rows = chunk_rows(s);
    double a[CHUNK_DOUBLES], da[CHUNK_DOUBLES];
    double g[CHUNK_DOUBLES], mu[rows], cc[rows];
    for (size_t c0 = r0; c0 < r1; c0 += rows) {
        size_t nc = r1 - c0 < rows ? r1 - c0 : rows;
        forward_rows(kern, s, par, d->x + c0 * px, nc, a, da, mu);
        for (size_t t = 0; t < nc; t++)
            cc[t] = c[(c0 + t) * k + i];
        add_mean_grad_rows(kern, s, par, d->x + c0 * px, nc, a, da, cc, g, grad);
    }
}

static size_t mlp_newton_size(const moe_expert_shape *s)
{
    size_t p = n_weights(s) + 1;
    return 1 + p + p * (p + 1) / 2;
}

/* Fisher scoring's statistics (see the top of the file): [0] sum h log f, the gradient, then
 * the expected information packed by rows (upper triangle), its weights' diagonal damped by
 * FISHER_DAMPING sum h (Levenberg-Marquardt): J J' is singular whenever units are redundant
 * (a dead relu, two equal units), and any positive definite matrix gives an ascent step. */
#define FISHER_DAMPING 1e-6
static void mlp_newton_add(const moe_dataset *d, const moe_expert_shape *s, const double *theta,
                           const double *h, size_t k, size_t i, size_t r0, size_t r1, int deriv,
                           double *stats)
{
    const moe_kernels *kern = moe_kernels_get();
    size_t px = d->nx + 1, nw = n_weights(s), np = nw + 1;
    double a[s->hidden + 1], da[s->hidden + 1], jac[nw + 1];
    double sd = exp(theta[nw]), inv_s2 = 1 / (sd * sd), c0 = -LOG_SQRT_2PI - theta[nw];
    double *grad = stats + 1, *nh = stats + 1 + np;
    for (size_t r = r0; r < r1; r++) {
        double hr = h[r * k + i];
        if (hr == 0)
            continue;
        const double *x = d->x + r * px;
        double mu;
        forward_rows(kern, s, theta, x, 1, a, da, &mu);
        double res = d->y[r] - mu;
        stats[0] += hr * (c0 - 0.5 * res * res * inv_s2);
        if (!deriv)
            continue;
        mean_jacobian(s, theta, x, a, da, jac);
        double c = hr * res * inv_s2, w = hr * inv_s2, *pp = nh;
        for (size_t t = 0; t < nw; t++) {
            double wt = w * jac[t];
            grad[t] += c * jac[t];
            *pp += FISHER_DAMPING * hr;  /* the diagonal (t, t) */
            for (size_t u = t; u < nw; u++)
                *pp++ += wt * jac[u];
            pp++;  /* (t, log sigma): 0 in expectation */
        }
        grad[nw] += hr * (res * res * inv_s2 - 1);
        *pp += 2 * hr;
    }
}

static const char *const mlp_extras[] = {"sigma", NULL};

static void mlp_report(const moe_model *m, const double *theta, double *coef)
{
    moe_expert_shape s = moe_model_expert_shape(m);
    coef[0] = m->y_scale * exp(theta[n_weights(&s)]);
}

static size_t mlp_fields(const moe_expert_shape *s, moe_param_field *f)
{
    size_t px = s->nx + 1, h = s->hidden;
    f[0] = (moe_param_field){"W1", 0, h, px, 0, 0};
    f[1] = (moe_param_field){"w2", h * px, 0, h, 0, 0};
    f[2] = (moe_param_field){"bias", h * px + h, 0, 1, 1, 0};
    f[3] = (moe_param_field){"sigma", h * px + h + 1, 0, 1, 1, 1};
    return 4;
}

const moe_expert_type moe_expert_mlp = {
    .name = "mlp",
    .description = "one-hidden-layer network, y ~ N(w2'act(W1(1,x)) + c, sigma^2); "
                   "mlp:H[:tanh|relu], gradient descent only",
    .label = "MLP",
    .scales_response = 1,
    .hidden_layer = 1,
    .gd_only = 1,
    .opaque = 1,
    .block_size = mlp_block_size,
    .nparams = mlp_block_size,
    .rows_rule_params = mlp_rows_rule_params,
    .init = mlp_init,
    .randomise = mlp_randomise,
    .from_linear = mlp_from_linear,
    .get_theta = mlp_get_theta,
    .set_theta = mlp_set_theta,
    .check_response = mlp_check_response,
    .log_density_rows = mlp_log_density_rows,
    .moments_rows = mlp_moments_rows,
    .draw = mlp_draw,
    .score_rows = mlp_score_rows,
    .mean_grad_rows = mlp_mean_grad_rows,
    .dispersion = 1,
    .ncoef = mlp_ncoef,
    .extra_names = mlp_extras,
    .report = mlp_report,
    .fields = mlp_fields,
    .newton_size = mlp_newton_size,
    .newton_add = mlp_newton_add,
};
