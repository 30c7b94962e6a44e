/* order.c: the experts of a fit numbered in a stable, explainable order (moe_train_order):
 * by the posterior-weighted mean of the first gate input, so that expert 1 is the regime of the
 * smallest inputs whatever start or seed found the fit (and a teacher's slides do not change
 * with the seed). Without gate inputs the first expert input is used, without any inputs the
 * response. Ties keep the fit's own order; a gate that fixes its experts' places (a tree,
 * whose leaves are numbered by their paths) keeps the fit's order. moe_train_permute, the
 * renumbering itself, also undoes label switching in the bootstrap (src/infer/bootstrap.c).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <string.h>

#include "experts/expert.h"
#include "gates/gate.h"
#include "model/estep.h"
#include "train/select.h"

void moe_train_permute(moe_model *m, const size_t *perm)
{
    size_t k = m->k;
    /* the expert blocks, moved along the permutation's cycles (one double at a time) */
    size_t ep = m->ep;
    unsigned char seen[MOE_K_MAX] = {0};
    for (size_t t = 0; t < k; t++) {
        if (seen[t])
            continue;
        for (size_t j = 0; j < ep; j++) {
            double first = m->expert_par[t * ep + j];
            size_t cur = t;
            while (perm[cur] != t) {
                m->expert_par[cur * ep + j] = m->expert_par[perm[cur] * ep + j];
                cur = perm[cur];
            }
            m->expert_par[cur * ep + j] = first;
        }
        for (size_t cur = t; !seen[cur]; cur = perm[cur])
            seen[cur] = 1;
    }
    moe_gate_shape gs = moe_model_gate_shape(m);
    m->gate->permute(m->gate_par, &gs, perm);
}

void moe_train_order(const moe_dataset *ds, moe_model *m, double *h)
{
    size_t k = m->k, n = ds->n;
    if (k < 2 || !m->gate->permute || n == 0)
        return;
    moe_estep(ds, m, NULL, h);
    /* the key of each expert: sum_n h_ni v_n / sum_n h_ni, with v the first gate input
     * (column 1 of the design rows; column 0 is the intercept), else the first expert input,
     * else y; h already carries the observation weights */
    const double *v = NULL;
    size_t stride = 1;
    if (ds->nz > 0) {
        v = ds->z + 1;
        stride = ds->nz + 1;
    } else if (ds->nx > 0) {
        v = ds->x + 1;
        stride = ds->nx + 1;
    } else {
        v = ds->y;
    }
    double key[MOE_K_MAX], mass[MOE_K_MAX];
    for (size_t i = 0; i < k; i++)
        key[i] = mass[i] = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < k; i++) {
            key[i] += h[r * k + i] * v[r * stride];
            mass[i] += h[r * k + i];
        }
    size_t perm[MOE_K_MAX];
    for (size_t i = 0; i < k; i++) {
        key[i] = mass[i] > 0 ? key[i] / mass[i] : 0;
        perm[i] = i;
    }
    /* insertion sort: stable, K is small */
    for (size_t a = 1; a < k; a++) {
        size_t t = perm[a], b = a;
        while (b > 0 && key[perm[b - 1]] > key[t]) {
            perm[b] = perm[b - 1];
            b--;
        }
        perm[b] = t;
    }
    int identity = 1;
    for (size_t i = 0; i < k; i++)
        identity &= perm[i] == i;
    if (identity)
        return;
    moe_train_permute(m, perm);
}
