/* gauss_layout.h: the tests' window on the parameter blocks of a model with Gaussian linear
 * experts and the softmax gate, for tests that set or read coefficients by hand. The layout
 * is the families' own (src/experts/gaussian.c: beta then sigma per expert block;
 * src/gates/softmax.c: k rows of nz+1, the last 0); only tests may rely on it.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_TESTS_GAUSS_LAYOUT_H
#define MOE_TESTS_GAUSS_LAYOUT_H

#include "model/model.h"

/* Coefficient T of the k x (nx+1) row-major table of every expert's beta. */
#define BETA(m, t) \
    (((double *)moe_model_expert_block_const((m), (t) / ((m)->nx + 1)))[(t) % ((m)->nx + 1)])
/* Expert I's residual SD (standardised scale). */
#define SIGMA(m, i) (((double *)moe_model_expert_block_const((m), (i)))[(m)->nx + 1])
/* Coefficient T of the k x (nz+1) gate table. */
#define GATE(m, t) ((m)->gate_par[t])

#endif
