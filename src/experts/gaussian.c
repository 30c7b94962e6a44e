/* gaussian.c: the Gaussian linear expert f_i(y | x) = N(y; b_i'(1, x), s_i^2).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Block (p + 1 doubles, p = nx + 1): beta (p), then sigma (standardised scale). Free
 * parameters theta = (beta, log sigma): log sigma because its likelihood is closer to
 * quadratic (standard errors) and it needs no bound (optimisers).
 *
 * Sufficient statistics of one expert (stat_size = 2 + p + p(p+1)/2 doubles):
 *     [0] sum h,  [1] sum h y^2,  [2 .. 2+p) X'Hy,  then X'HX packed by rows (upper triangle).
 * The M-step solves (X'HX) b = X'Hy by Cholesky (LAPACKE_dposv); when the matrix is not
 * positive definite it retries with a ridge 1e-10 * (trace/p + 1) growing tenfold (at most 8
 * times) and reports the ridge used. Then s^2 = sum h (y - x'b)^2 / sum h, expanded as
 * (y'Hy - 2 b'X'Hy + b'X'HXb) / sum h (on the standardised scale every term is O(sum h), so
 * the cancellation costs at most a few digits), floored at var_floor. */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "experts/expert.h"
#include "kernels/kernels.h"

#define LOG_SQRT_2PI 0.91893853320467274178

static size_t gauss_block_size(const moe_expert_shape *s) { return s->nx + 2; }
static size_t gauss_nparams(const moe_expert_shape *s) { return s->nx + 2; }
static size_t gauss_ncoef(const moe_expert_shape *s) { return s->nx + 2; }

static void gauss_init(const moe_expert_shape *s, double *par)
{
    memset(par, 0, (s->nx + 1) * sizeof *par);
    par[s->nx + 1] = 1;
}

static void gauss_from_linear(const moe_expert_shape *s, const double *beta, double noise,
                              double *par)
{
    memcpy(par, beta, (s->nx + 1) * sizeof *par);
    par[s->nx + 1] = noise;
}

static void gauss_get_theta(const moe_expert_shape *s, const double *par, double *theta)
{
    size_t nx = s->nx;
    memcpy(theta, par, (nx + 1) * sizeof *theta);
    theta[nx + 1] = log(par[nx + 1]);
}

static void gauss_set_theta(const moe_expert_shape *s, const double *theta, double *par)
{
    size_t nx = s->nx;
    memcpy(par, theta, (nx + 1) * sizeof *par);
    par[nx + 1] = exp(theta[nx + 1]);
}

static const char *gauss_check_response(double y, double trials)
{
    (void)trials;
    return isfinite(y) ? NULL : "must be a finite number";
}

static double linear(const double *x, const double *b, size_t px)
{
    double mu = 0;
    for (size_t j = 0; j < px; j++)
        mu += x[j] * b[j];
    return mu;
}

/* Rows of a chunk whose means live on the stack. */
#define CHUNK 256

/* The means x_r'beta of rows [R0, R0 + NC) into MU by the dot_rows kernel (the reference's
 * loop, 0 + x_0 b_0 + ..., in every kernel set). */
static void means(const moe_kernels *kern, const moe_dataset *d, const double *par, size_t r0,
                  size_t nc, double *mu)
{
    size_t px = d->nx + 1;
    kern->dot_rows(nc, 1, px, par, px, NULL, d->x + r0 * px, px, mu, 1);
}

static void gauss_log_density_rows(const moe_dataset *d, const moe_expert_shape *es,
                                   const double *par, size_t r0, size_t r1, double *logf)
{
    (void)es;
    const moe_kernels *kern = moe_kernels_get();
    size_t px = d->nx + 1;
    double s = par[px], inv = 1 / s, c = -LOG_SQRT_2PI - log(s), mu[CHUNK];
    for (size_t c0 = r0; c0 < r1; c0 += CHUNK) {
        size_t nc = r1 - c0 < CHUNK ? r1 - c0 : CHUNK;
        means(kern, d, par, c0, nc, mu);
        for (size_t t = 0; t < nc; t++) {
            double e = (d->y[c0 + t] - mu[t]) * inv;
            logf[c0 + t - r0] = c - 0.5 * e * e;
        }
    }
}

static void gauss_moments_rows(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                               size_t r0, size_t r1, double *mean, double *var)
{
    (void)s;
    size_t px = d->nx + 1;
    double v = par[px] * par[px];
    if (mean)
        means(moe_kernels_get(), d, par, r0, r1 - r0, mean);
    if (var)
        for (size_t r = r0; r < r1; r++)
            var[r - r0] = v;
}

static double gauss_draw(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                         size_t r, gsl_rng *rng)
{
    (void)s;
    size_t px = d->nx + 1;
    /* the ziggurat draw of a standard normal, scaled: the stream moefit simulate has always used */
    return linear(d->x + r * px, par, px) + par[px] * gsl_ran_gaussian_ziggurat(rng, 1.0);
}

/* dL/dbeta = sum h r x / s^2, dL/dlog s = sum h (r^2 / s^2 - 1) (r: residual); the slopes'
 * sums by ger_rows, each element in row order as in a loop over the rows. */
static void gauss_score_rows(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                             const double *h, size_t k, size_t i, size_t r0, size_t r1,
                             double *grad)
{
    (void)s;
    const moe_kernels *kern = moe_kernels_get();
    size_t px = d->nx + 1;
    double inv_s2 = 1 / (par[px] * par[px]), mu[CHUNK], c[CHUNK];
    for (size_t c0 = r0; c0 < r1; c0 += CHUNK) {
        size_t nc = r1 - c0 < CHUNK ? r1 - c0 : CHUNK;
        means(kern, d, par, c0, nc, mu);
        for (size_t t = 0; t < nc; t++) {
            double hr = h[(c0 + t) * k + i], res = d->y[c0 + t] - mu[t];
            c[t] = hr * res * inv_s2;
            grad[px] += hr * (res * res * inv_s2 - 1);
        }
        kern->ger_rows(nc, 1, px, c, 1, d->x + c0 * px, px, grad);
    }
}

/* d mu / d beta = x; the mean does not depend on log sigma. */
static void gauss_mean_grad_rows(const moe_dataset *d, const moe_expert_shape *s,
                                 const double *par, const double *c, size_t k, size_t i,
                                 size_t r0, size_t r1, double *grad)
{
    (void)s;
    (void)par;
    size_t px = d->nx + 1;
    if (r1 > r0)
        moe_kernels_get()->ger_rows(r1 - r0, 1, px, c + r0 * k + i, k, d->x + r0 * px, px,
                                    grad);
}

static const char *const gauss_extras[] = {"sigma", NULL};

static void gauss_report(const moe_model *m, const double *theta, double *coef)
{
    moe_model_unscale_expert(m, theta, 1, coef);
    coef[m->nx + 1] = m->y_scale * exp(theta[m->nx + 1]);
}

static size_t gauss_fields(const moe_expert_shape *s, moe_param_field *f)
{
    size_t nx = s->nx;
    f[0] = (moe_param_field){"beta", 0, 0, nx + 1, 0, 0};
    f[1] = (moe_param_field){"sigma", nx + 1, 0, 1, 1, 1};
    return 2;
}

static size_t gauss_stat_size(const moe_expert_shape *s)
{
    size_t p = s->nx + 1;
    return 2 + p + p * (p + 1) / 2;
}

static size_t gauss_work_size(const moe_expert_shape *s)
{
    size_t p = s->nx + 1;
    return p * p + p;
}

/* Every expert's statistics through the wgram_rows kernel (src/kernels), which takes the rows
 * in order and is bit-identical in every kernel set. Rows with h = 0 add exact zeros. */
static void gauss_stat_add(const moe_dataset *d, const moe_expert_shape *s, const double *h,
                           size_t k, size_t r0, size_t r1, double *stats)
{
    size_t px = d->nx + 1, ss = gauss_stat_size(s);
    const moe_kernels *kern = moe_kernels_get();
    if (r1 <= r0)
        return;
    for (size_t i = 0; i < k; i++)
        kern->wgram_rows(r1 - r0, px, d->x + r0 * px, px, d->y + r0, h + r0 * k + i, k,
                         stats + i * ss);
}

static int gauss_mstep(const double *stats, const moe_expert_shape *s, double var_floor,
                       double *par, double *work, double *ridge)
{
    size_t px = s->nx + 1;
    const double sw = stats[0], syy = stats[1], *xy = stats + 2, *xxp = stats + 2 + px;
    double *a = work, *b = work + px * px;
    double tr = 0;
    for (size_t j = 0; j < px; j++)
        tr += xxp[j * px - j * (j - 1) / 2];  /* diagonal of the packed rows */
    double lambda = 0;
    lapack_int info = 1;
    for (int attempt = 0; attempt <= 8 && info != 0; attempt++) {
        if (attempt > 0)
            lambda = lambda == 0 ? 1e-10 * (tr / (double)px + 1) : lambda * 10;
        const double *pp = xxp;
        for (size_t r = 0; r < px; r++)
            for (size_t c = r; c < px; c++) {
                a[r * px + c] = a[c * px + r] = *pp++;
            }
        for (size_t r = 0; r < px; r++) {
            a[r * px + r] += lambda;
            b[r] = xy[r];
        }
        info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)px, 1, a, (lapack_int)px, b, 1);
        if (info < 0)
            return MOE_EINVAL;  /* a programming error: an argument LAPACK rejects */
        for (size_t r = 0; info == 0 && r < px; r++)
            if (!isfinite(b[r]))
                info = 1;
    }
    *ridge = lambda;
    if (info != 0)
        return MOE_ESING;
    /* s^2 = (y'Hy - 2 b'X'Hy + b'X'HXb) / sum h */
    double bxy = 0, bxxb = 0;
    const double *pp = xxp;
    for (size_t r = 0; r < px; r++) {
        bxy += b[r] * xy[r];
        bxxb += b[r] * b[r] * *pp++;
        for (size_t c = r + 1; c < px; c++)
            bxxb += 2 * b[r] * b[c] * *pp++;
    }
    double s2 = sw > 0 ? (syy - 2 * bxy + bxxb) / sw : var_floor;
    if (!(s2 > var_floor) || !isfinite(s2))
        s2 = var_floor;
    memcpy(par, b, px * sizeof *b);
    par[px] = sqrt(s2);
    return MOE_SUCCESS;
}

const moe_expert_type moe_expert_gaussian = {
    .name = "gaussian",
    .description = "Gaussian linear regression, y ~ N(b'(1,x), sigma^2)",
    .label = "Gaussian linear",
    .scales_response = 1,
    .block_size = gauss_block_size,
    .nparams = gauss_nparams,
    .init = gauss_init,
    .from_linear = gauss_from_linear,
    .get_theta = gauss_get_theta,
    .set_theta = gauss_set_theta,
    .check_response = gauss_check_response,
    .log_density_rows = gauss_log_density_rows,
    .moments_rows = gauss_moments_rows,
    .draw = gauss_draw,
    .score_rows = gauss_score_rows,
    .mean_grad_rows = gauss_mean_grad_rows,
    .dispersion = 1,
    .ncoef = gauss_ncoef,
    .extra_names = gauss_extras,
    .report = gauss_report,
    .fields = gauss_fields,
    .stat_size = gauss_stat_size,
    .stat_add = gauss_stat_add,
    .work_size = gauss_work_size,
    .mstep = gauss_mstep,
};
