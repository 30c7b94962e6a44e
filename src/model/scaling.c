/* scaling.c: linear maps from the standardised parameters to the data's own scale.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * With x_j = cx_j + sx_j u_j and y = cy + sy w (u, w standardised), an expert
 * w = b_0 + sum_j b_j u_j reads on the data's scale
 *     y = cy + sy (b_0 - sum_j b_j cx_j / sx_j) + sum_j (sy b_j / sx_j) x_j,
 * so coef_data = A b + offset with A[0][0] = sy, A[0][j] = -sy cx_j / sx_j,
 * A[j][j] = sy / sx_j, offset = (cy, 0, ..., 0); sigma_data = sy sigma. A gate row
 * eta = v_0 + sum_j v_j u_j likewise has A[0][0] = 1, A[0][j] = -cz_j / sz_j,
 * A[j][j] = 1 / sz_j and no offset (logits carry no response scale). The covariance of
 * coef_data is A C A'. */
#include <config.h>

#include <string.h>

#include "model/model.h"

void moe_model_expert_map(const moe_model *m, double *a, double *offset)
{
    size_t px = m->nx + 1;
    memset(a, 0, px * px * sizeof *a);
    a[0] = m->y_scale;
    for (size_t j = 0; j < m->nx; j++) {
        a[j + 1] = -m->y_scale * m->x_center[j] / m->x_scale[j];
        a[(j + 1) * px + j + 1] = m->y_scale / m->x_scale[j];
    }
    if (offset) {
        memset(offset, 0, px * sizeof *offset);
        offset[0] = m->y_center;
    }
}

void moe_model_gate_map(const moe_model *m, double *a)
{
    size_t pz = m->nz + 1;
    memset(a, 0, pz * pz * sizeof *a);
    a[0] = 1;
    for (size_t j = 0; j < m->nz; j++) {
        a[j + 1] = -m->z_center[j] / m->z_scale[j];
        a[(j + 1) * pz + j + 1] = 1 / m->z_scale[j];
    }
}
