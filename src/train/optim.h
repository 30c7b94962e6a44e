/* optim.h: the first-order optimisers of gradient descent (src/train/optim.c): Adam and SGD
 * with momentum on a flat parameter vector, gradient-norm clipping and the cosine learning-rate
 * schedule. Internal to libmoe; src/train/gd.c uses them.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_TRAIN_OPTIM_H
#define MOE_TRAIN_OPTIM_H

#include <stddef.h>

#include "moe.h"

/* Adam's constants (Kingma & Ba 2015, their defaults). */
#define MOE_ADAM_BETA1 0.9
#define MOE_ADAM_BETA2 0.999
#define MOE_ADAM_EPS 1e-8

/* The state of one optimiser over NP parameters, allocated once. */
typedef struct moe_optim {
    moe_optimizer kind;
    size_t np;
    double momentum;  /* SGD */
    double *m1;       /* Adam: first moment; SGD: the velocity */
    double *m2;       /* Adam: second moment */
    size_t t;         /* steps taken (Adam's bias correction) */
} moe_optim;

moe_optim *moe_optim_alloc(moe_optimizer kind, size_t np, double momentum);
void moe_optim_free(moe_optim *o);
/* Forgets the moments (a new start). */
void moe_optim_reset(moe_optim *o);

/* The learning rate of step T of TOTAL under the cosine schedule from LR down to 0:
 * LR (1 + cos(pi T / TOTAL)) / 2 (Loshchilov & Hutter 2017, without restarts). */
double moe_optim_cosine(double lr, size_t t, size_t total);

/* Scales GRAD (NP values) down to Euclidean norm CLIP when it is longer (CLIP 0: never);
 * returns the norm before scaling. */
double moe_optim_clip(double *grad, size_t np, double clip);

/* One step of descent on THETA with gradient GRAD and learning rate LR:
 *   SGD:  v = momentum v + g,  theta -= lr v
 *   Adam: m = b1 m + (1-b1) g,  v = b2 v + (1-b2) g^2,
 *         theta -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) */
void moe_optim_step(moe_optim *o, const double *grad, double lr, double *theta);

#endif
