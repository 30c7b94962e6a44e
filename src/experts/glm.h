/* glm.h: what the generalised-linear expert families (poisson.c, logistic.c) share: a
 * parameter block that is just the coefficients b of the linear predictor, and the score and
 * Newton (IRLS) sums of a canonical link, built from each family's per-row function.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * With a canonical link the score of one row is (y - E y) x and its negative Hessian
 * var(y) x x', so a family only says, for each row, its linear predictor (with the family's
 * offset and caps) and, at that predictor, log f, y - E y and var(y). */
#ifndef MOE_EXPERTS_GLM_H
#define MOE_EXPERTS_GLM_H

#include "experts/expert.h"

typedef struct moe_glm_rows {
    /* the linear predictor of row R at coefficients BETA */
    double (*eta)(const moe_dataset *d, const double *beta, size_t r);
    /* at ETA, row R's log f into *LOGF (when LOGF is not NULL), y - E y and var(y) */
    void (*row)(const moe_dataset *d, size_t r, double eta, double *logf, double *resid,
                double *var);
} moe_glm_rows;

/* The block: nx+1 coefficients, theta = the block, reported through the inputs' scaling
 * alone (the response is not standardised), one model-file field "beta". */
size_t moe_glm_block_size(const moe_expert_shape *s);
void moe_glm_init(const moe_expert_shape *s, double *par);
void moe_glm_from_linear(const moe_expert_shape *s, const double *beta, double noise,
                         double *par);
void moe_glm_copy(const moe_expert_shape *s, const double *from, double *to);
void moe_glm_report(const moe_model *m, const double *theta, double *coef);
size_t moe_glm_fields(const moe_expert_shape *s, moe_param_field *f);
size_t moe_glm_newton_size(const moe_expert_shape *s);

/* The score_rows and newton_add slots of expert.h for the family G. */
void moe_glm_score_rows(const moe_glm_rows *g, const moe_dataset *d, const double *par,
                        const double *h, size_t k, size_t i, size_t r0, size_t r1,
                        double *grad);
/* The mean_grad_rows slot: with a canonical link d E y / d beta = var(y) x. */
void moe_glm_mean_grad_rows(const moe_glm_rows *g, const moe_dataset *d, const double *par,
                            const double *c, size_t k, size_t i, size_t r0, size_t r1,
                            double *grad);
void moe_glm_newton_add(const moe_glm_rows *g, const moe_dataset *d, const double *theta,
                        const double *h, size_t k, size_t i, size_t r0, size_t r1, int deriv,
                        double *stats);

#endif
