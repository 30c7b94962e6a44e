/* scaling.c: linear maps from the standardised coefficients to the data's own scale.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * With x_j = cx_j + sx_j u_j and y = cy + sy w (u, w standardised), a predictor of the
 * standardised response w = b_0 + sum_j b_j u_j reads on the data's scale
 *     y = cy + sy (b_0 - sum_j b_j cx_j / sx_j) + sum_j (sy b_j / sx_j) x_j.
 * A linear predictor that is not a response (a log or logit link, a gate logit)
 * eta = v_0 + sum_j v_j u_j likewise reads (v_0 - sum_j v_j cz_j / sz_j) + sum_j (v_j / sz_j) z_j:
 * the same map with cy = 0 and sy = 1. Standard errors on the data's scale come from the
 * Jacobian of these maps (src/infer/covariance.c). */
#include <config.h>

#include "model/model.h"

static void unscale(const double *center, const double *scale, size_t n, double cy, double sy,
                    const double *in, double *out)
{
    double icpt = in[0];
    for (size_t j = 0; j < n; j++) {
        icpt -= in[j + 1] * center[j] / scale[j];
        out[j + 1] = sy * in[j + 1] / scale[j];
    }
    out[0] = cy + sy * icpt;
}

void moe_model_unscale_expert(const moe_model *m, const double *in, int with_response,
                              double *out)
{
    if (with_response)
        unscale(m->x_center, m->x_scale, m->nx, m->y_center, m->y_scale, in, out);
    else
        unscale(m->x_center, m->x_scale, m->nx, 0, 1, in, out);
}

void moe_model_unscale_gate(const moe_model *m, const double *in, double *out)
{
    unscale(m->z_center, m->z_scale, m->nz, 0, 1, in, out);
}
