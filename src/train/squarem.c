/* squarem.c: SQUAREM's extrapolation of EM iterates over a model's free parameters (the
 * parameter vector of every expert and the gate, the step length, the point). The cycle that
 * uses it is in em.c.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * EM on a mixture converges linearly, and slowly where the likelihood is flat (an expert more
 * than the data have, a small expert drifting): many iterations for little gain. From two EM
 * steps V0 -> V1 -> V2, SQUAREM steps along the same directions as if many more had been
 * taken; the free parameters (log sigma, the gate's free coefficients) are unconstrained, so
 * every point is a model. */
#include <config.h>

#include <math.h>

#include "experts/expert.h"
#include "gates/gate.h"
#include "train/squarem.h"

size_t moe_squarem_size(const moe_model *m)
{
    moe_expert_shape es = moe_model_expert_shape(m);
    moe_gate_shape gs = moe_model_gate_shape(m);
    return m->k * m->expert->nparams(&es) + m->gate->nparams(&gs);
}

void moe_squarem_get(const moe_model *m, double *v)
{
    moe_expert_shape es = moe_model_expert_shape(m);
    moe_gate_shape gs = moe_model_gate_shape(m);
    size_t ne = m->expert->nparams(&es);
    for (size_t i = 0; i < m->k; i++)
        m->expert->get_theta(&es, moe_model_expert_block_const(m, i), v + i * ne);
    m->gate->get_theta(&gs, m->gate_par, v + m->k * ne);
}

void moe_squarem_set(moe_model *m, double *v, double log_sigma_min)
{
    moe_expert_shape es = moe_model_expert_shape(m);
    moe_gate_shape gs = moe_model_gate_shape(m);
    size_t ne = m->expert->nparams(&es);
    for (size_t i = 0; i < m->k; i++) {
        double *vi = v + i * ne;
        if (m->expert->dispersion && ne > 0 && vi[ne - 1] < log_sigma_min)
            vi[ne - 1] = log_sigma_min;
        m->expert->set_theta(&es, vi, moe_model_expert_block(m, i));
    }
    m->gate->set_theta(&gs, v + m->k * ne, m->gate_par);
}

double moe_squarem_alpha(const double *v0, const double *v1, const double *v2, size_t n,
                         double step_max)
{
    double rr = 0, vv = 0;
    for (size_t j = 0; j < n; j++) {
        double r = v1[j] - v0[j], v = v2[j] - 2 * v1[j] + v0[j];
        rr += r * r;
        vv += v * v;
    }
    if (!(vv > 0) || !isfinite(rr) || !isfinite(vv))
        return 0;
    double alpha = -sqrt(rr / vv);
    if (!(alpha < -1))
        return 0;
    return alpha < -step_max ? -step_max : alpha;
}

void moe_squarem_point(const double *v0, const double *v1, const double *v2, size_t n,
                       double alpha, double *out)
{
    for (size_t j = 0; j < n; j++) {
        double r = v1[j] - v0[j], v = v2[j] - 2 * v1[j] + v0[j];
        out[j] = v0[j] - 2 * alpha * r + alpha * alpha * v;
    }
}
