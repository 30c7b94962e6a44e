/* optim.c: Adam, SGD with momentum, gradient clipping and the cosine schedule (optim.h).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/optim.h"

moe_optim *moe_optim_alloc(moe_optimizer kind, size_t np, double momentum)
{
    moe_optim *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->kind = kind;
    o->np = np;
    o->momentum = momentum;
    o->m1 = calloc(np + 1, sizeof *o->m1);
    o->m2 = calloc(np + 1, sizeof *o->m2);
    if (!o->m1 || !o->m2) {
        moe_optim_free(o);
        return NULL;
    }
    return o;
}

void moe_optim_free(moe_optim *o)
{
    if (!o)
        return;
    free(o->m1);
    free(o->m2);
    free(o);
}

void moe_optim_reset(moe_optim *o)
{
    memset(o->m1, 0, o->np * sizeof *o->m1);
    memset(o->m2, 0, o->np * sizeof *o->m2);
    o->t = 0;
}

double moe_optim_cosine(double lr, size_t t, size_t total)
{
    if (total == 0 || t >= total)
        return 0;
    return 0.5 * lr * (1 + cos(M_PI * (double)t / (double)total));
}

double moe_optim_clip(double *grad, size_t np, double clip)
{
    double s = 0;
    for (size_t j = 0; j < np; j++)
        s += grad[j] * grad[j];
    double norm = sqrt(s);
    if (clip > 0 && norm > clip) {
        double f = clip / norm;
        for (size_t j = 0; j < np; j++)
            grad[j] *= f;
    }
    return norm;
}

void moe_optim_step(moe_optim *o, const double *grad, double lr, double *theta)
{
    size_t np = o->np;
    o->t++;
    if (o->kind == MOE_OPTIM_SGD) {
        for (size_t j = 0; j < np; j++) {
            o->m1[j] = o->momentum * o->m1[j] + grad[j];
            theta[j] -= lr * o->m1[j];
        }
        return;
    }
    double c1 = 1 - pow(MOE_ADAM_BETA1, (double)o->t), c2 = 1 - pow(MOE_ADAM_BETA2, (double)o->t);
    for (size_t j = 0; j < np; j++) {
        o->m1[j] = MOE_ADAM_BETA1 * o->m1[j] + (1 - MOE_ADAM_BETA1) * grad[j];
        o->m2[j] = MOE_ADAM_BETA2 * o->m2[j] + (1 - MOE_ADAM_BETA2) * grad[j] * grad[j];
        theta[j] -= lr * (o->m1[j] / c1) / (sqrt(o->m2[j] / c2) + MOE_ADAM_EPS);
    }
}
