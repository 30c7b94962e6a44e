/* squarem.h: SQUAREM, the squared extrapolation of EM iterates (Varadhan & Roland 2008, the
 * SqS3 step length) over a model's free parameters. Internal to libmoe; src/train/em.c runs
 * the cycle (two EM steps, one extrapolated point, kept only where the objective did not
 * fall below the second step's).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_TRAIN_SQUAREM_H
#define MOE_TRAIN_SQUAREM_H

#include <stddef.h>

#include "model/model.h"

/* The first cap on the step length |alpha|; each extrapolation kept at the cap multiplies it
 * by MOE_SQUAREM_STEP_GROW, each one rejected divides it (never below 1: the EM step). */
#define MOE_SQUAREM_STEP_MAX0 4.0
#define MOE_SQUAREM_STEP_GROW 4.0

/* The free parameters of M's experts (each family's theta) and gate (the gate's theta):
 * how many, and the vector V of them, and back. moe_squarem_set keeps a dispersion (a
 * family's log sigma) at or above LOG_SIGMA_MIN (in V too), so that the point is one the M-step could
 * have made (its variance floor), from which EM again cannot lower the likelihood. */
size_t moe_squarem_size(const moe_model *m);
void moe_squarem_get(const moe_model *m, double *v);
void moe_squarem_set(moe_model *m, double *v, double log_sigma_min);

/* The SqS3 step length of EM iterates V0 -> V1 -> V2 (N values): alpha = -|r| / |v| with
 * r = V1 - V0, v = V2 - 2 V1 + V0, capped at -STEP_MAX. Returns 0 when there is no
 * extrapolation to make (v = 0, or |alpha| <= 1: the point would be V2 itself). */
double moe_squarem_alpha(const double *v0, const double *v1, const double *v2, size_t n,
                         double step_max);

/* The extrapolated point V0 - 2 alpha r + alpha^2 v into OUT (N values). */
void moe_squarem_point(const double *v0, const double *v1, const double *v2, size_t n,
                       double alpha, double *out);

#endif
