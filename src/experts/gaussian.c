/* gaussian.c: the Gaussian linear expert f_i(y | x) = N(y; b_i'(1, x), s_i^2).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Sufficient statistics of one expert (stat_size = 2 + p + p(p+1)/2 doubles, p = nx + 1):
 *     [0] sum h,  [1] sum h y^2,  [2 .. 2+p) X'Hy,  then X'HX packed by rows (upper triangle).
 * The M-step solves (X'HX) b = X'Hy by Cholesky (LAPACKE_dposv); when the matrix is not
 * positive definite it retries with a ridge 1e-10 * (trace/p + 1) growing tenfold (at most 8
 * times) and reports the ridge used. Then s^2 = sum h (y - x'b)^2 / sum h, expanded as
 * (y'Hy - 2 b'X'Hy + b'X'HXb) / sum h (on the standardised scale every term is O(sum h), so
 * the cancellation costs at most a few digits), floored at var_floor. */
#include <config.h>

#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "experts/expert.h"

#define LOG_SQRT_2PI 0.91893853320467274178

static size_t gauss_nparams(size_t nx) { return nx + 2; }

static size_t gauss_stat_size(size_t nx)
{
    size_t p = nx + 1;
    return 2 + p + p * (p + 1) / 2;
}

static size_t gauss_work_size(size_t nx)
{
    size_t p = nx + 1;
    return p * p + p;
}

static void gauss_log_density_rows(const moe_dataset *d, const moe_model *m, size_t i,
                                   size_t r0, size_t r1, double *logf)
{
    size_t px = m->nx + 1;
    const double *b = m->beta + i * px;
    double s = m->sigma[i], inv = 1 / s, c = -LOG_SQRT_2PI - log(s);
    for (size_t r = r0; r < r1; r++) {
        const double *x = d->x + r * px;
        double mu = 0;
        for (size_t j = 0; j < px; j++)
            mu += x[j] * b[j];
        double e = (d->y[r] - mu) * inv;
        logf[r - r0] = c - 0.5 * e * e;
    }
}

static void gauss_log_density(const moe_dataset *d, const moe_model *m, size_t i, double *logf)
{
    gauss_log_density_rows(d, m, i, 0, d->n, logf);
}

static void gauss_moments(const moe_dataset *d, const moe_model *m, size_t i, double *mean,
                          double *var)
{
    size_t px = m->nx + 1;
    const double *b = m->beta + i * px;
    double v = m->sigma[i] * m->sigma[i];
    for (size_t r = 0; r < d->n; r++) {
        const double *x = d->x + r * px;
        double mu = 0;
        for (size_t j = 0; j < px; j++)
            mu += x[j] * b[j];
        if (mean)
            mean[r] = mu;
        if (var)
            var[r] = v;
    }
}

static void gauss_stat_add(const moe_dataset *d, const double *h, size_t k, size_t r0,
                           size_t r1, double *stats)
{
    size_t px = d->nx + 1, ss = gauss_stat_size(d->nx);
    for (size_t r = r0; r < r1; r++) {
        const double *x = d->x + r * px;
        double y = d->y[r];
        for (size_t i = 0; i < k; i++) {
            double w = h[r * k + i];
            if (w == 0)
                continue;
            double *s = stats + i * ss, *xy = s + 2, *xx = s + 2 + px;
            double wy = w * y;
            s[0] += w;
            s[1] += wy * y;
            for (size_t a = 0; a < px; a++) {
                double wxa = w * x[a];
                xy[a] += wy * x[a];
                for (size_t b = a; b < px; b++)
                    *xx++ += wxa * x[b];
            }
        }
    }
}

static double gauss_stat_weight(const double *stats) { return stats[0]; }

static int gauss_mstep(const double *stats, size_t i, double var_floor, moe_model *m,
                       double *work, double *ridge)
{
    size_t px = m->nx + 1;
    const double sw = stats[0], syy = stats[1], *xy = stats + 2, *xxp = stats + 2 + px;
    double *a = work, *b = work + px * px;
    double tr = 0;
    for (size_t j = 0; j < px; j++)
        tr += xxp[j * px - j * (j - 1) / 2];  /* diagonal of the packed rows */
    double lambda = 0;
    int info = 1;
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
    memcpy(m->beta + i * px, b, px * sizeof *b);
    m->sigma[i] = sqrt(s2);
    return MOE_SUCCESS;
}

const moe_expert_type moe_expert_gaussian = {
    "gaussian",          gauss_nparams,   gauss_log_density, gauss_moments,
    gauss_log_density_rows, gauss_stat_size, gauss_stat_add,  gauss_stat_weight,
    gauss_work_size,     gauss_mstep,
};
