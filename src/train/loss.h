/* loss.h: the three gradient-descent losses of Jacobs, Jordan, Nowlan & Hinton (1991) for a
 * model of any expert family and gate, and their gradients through the type tables
 * (src/train/loss.c). Internal to libmoe; src/train/gd.c minimises them.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_TRAIN_LOSS_H
#define MOE_TRAIN_LOSS_H

#include "data/dataset.h"
#include "model/model.h"

/* The loss summed over rows [R0, R1) of the standardised data set D under model M (each row
 * times its weight w_n), on the standardised scale. When GRAD is not NULL, adds to it the
 * gradient with respect to the model's flat theta (moe_model_get_theta: every expert's
 * theta, then the gate's); TMP is scratch of K times one expert's nparams (used by the
 * cooperative loss only; NULL will do for the others). GATE_THETA is the gate's theta (the
 * tail of the flat theta). The gate must have prob_rows and grad_rows (gate.h). Nothing is
 * allocated: the row scratch lives on the stack in chunk-sized buffers (loss.c), so any
 * number of threads may call this at once on disjoint rows.
 *
 * The gradients (DESIGN.md section 2, written with log-densities so that every family has
 * them): with l_i = -log f_i, h_i the posterior, o = sum_i g_i mu_i and r = y - o,
 *   nll:          dE/dtheta_i = -h_i dlog f_i;            gate weights c_i = -h_i
 *   competitive:  dE/dtheta_i = -g_i dlog f_i;            c_i = g_i l_i
 *   cooperative:  dE/dtheta_i = -r g_i dmu_i;             c_i = -r g_i mu_i
 * where the gate's gradient is that of sum_i c_i log g_i (gate.h's grad_rows). Under the
 * cooperative loss a family's dispersion (log sigma, expert.h's dispersion flag) does not
 * enter E; it receives the competitive loss's gradient instead, so that each sigma becomes its
 * expert's gate-weighted residual scale (the gradient is then that of a block-wise objective,
 * not of E alone). GSHAPE: the gate's shape with its training context (a top-k gate's noise
 * and capacity drops, for rows numbered from GSHAPE->row0 at D's row 0); NULL: M's shape. A
 * row that the gate gives no expert (capacity) adds nothing to the nll. */
double moe_loss_rows(moe_loss loss, const moe_dataset *d, const moe_model *m,
                     const moe_gate_shape *gshape, const double *gate_theta, size_t r0,
                     size_t r1, double *grad, double *tmp);

#endif
