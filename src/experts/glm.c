/* glm.c: the coefficient block and the canonical-link score and Newton sums shared by the
 * generalised-linear expert families (see glm.h).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <string.h>

#include "experts/glm.h"

size_t moe_glm_block_size(const moe_expert_shape *s) { return s->nx + 1; }

void moe_glm_init(const moe_expert_shape *s, double *par)
{
    memset(par, 0, (s->nx + 1) * sizeof *par);
}

void moe_glm_from_linear(const moe_expert_shape *s, const double *beta, double noise,
                         double *par)
{
    (void)noise;  /* no dispersion parameter */
    memcpy(par, beta, (s->nx + 1) * sizeof *par);
}

void moe_glm_copy(const moe_expert_shape *s, const double *from, double *to)
{
    memcpy(to, from, (s->nx + 1) * sizeof *to);
}

void moe_glm_report(const moe_model *m, const double *theta, double *coef)
{
    moe_model_unscale_expert(m, theta, 0, coef);
}

size_t moe_glm_fields(const moe_expert_shape *s, moe_param_field *f)
{
    f[0] = (moe_param_field){"beta", 0, 0, s->nx + 1, 0, 0};
    return 1;
}

size_t moe_glm_newton_size(const moe_expert_shape *s)
{
    size_t p = s->nx + 1;
    return 1 + p + p * (p + 1) / 2;
}

void moe_glm_score_rows(const moe_glm_rows *g, const moe_dataset *d, const double *par,
                        const double *h, size_t k, size_t i, size_t r0, size_t r1,
                        double *grad)
{
    size_t px = d->nx + 1;
    for (size_t r = r0; r < r1; r++) {
        double hr = h[r * k + i];
        if (hr == 0)
            continue;
        const double *x = d->x + r * px;
        double resid, var;
        g->row(d, r, g->eta(d, par, r), NULL, &resid, &var);
        double c = hr * resid;
        for (size_t j = 0; j < px; j++)
            grad[j] += c * x[j];
    }
}

void moe_glm_mean_grad_rows(const moe_glm_rows *g, const moe_dataset *d, const double *par,
                            const double *c, size_t k, size_t i, size_t r0, size_t r1,
                            double *grad)
{
    size_t px = d->nx + 1;
    for (size_t r = r0; r < r1; r++) {
        double cr = c[r * k + i];
        if (cr == 0)
            continue;
        const double *x = d->x + r * px;
        double resid, var;
        g->row(d, r, g->eta(d, par, r), NULL, &resid, &var);
        double a = cr * var;
        for (size_t j = 0; j < px; j++)
            grad[j] += a * x[j];
    }
}

void moe_glm_newton_add(const moe_glm_rows *g, const moe_dataset *d, const double *theta,
                        const double *h, size_t k, size_t i, size_t r0, size_t r1, int deriv,
                        double *stats)
{
    size_t px = d->nx + 1;
    double *grad = stats + 1, *nh = stats + 1 + px;
    for (size_t r = r0; r < r1; r++) {
        double hr = h[r * k + i];
        if (hr == 0)
            continue;
        double logf, resid, var;
        g->row(d, r, g->eta(d, theta, r), &logf, &resid, &var);
        stats[0] += hr * logf;
        if (!deriv)
            continue;
        const double *x = d->x + r * px;
        double c = hr * resid, wv = hr * var;
        double *pp = nh;
        for (size_t a = 0; a < px; a++) {
            double wxa = wv * x[a];
            grad[a] += c * x[a];
            for (size_t b = a; b < px; b++)
                *pp++ += wxa * x[b];
        }
    }
}
