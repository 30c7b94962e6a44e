/* gate.h: the interface every gate implements (a type table). The softmax gate is the first;
 * hierarchical and noisy top-k gates will be further entries in moe_gate_types[].
 *
 * All functions work on the standardised scale. The gate's M-step maximises the soft-target
 * objective Q(V) = sum_n sum_i h_ni log g_i(z_n; V) over the free coefficients theta (nparams
 * values; for the softmax gate the rows v_0 .. v_{K-2} of M->gate_coef, the last row being the
 * reference fixed at 0). The trainer (src/train/gatefit.c) drives the Newton iterations from
 * the block sums of stat_add; the gate only supplies the row kernels. */
#ifndef MOE_GATES_GATE_H
#define MOE_GATES_GATE_H

#include "data/dataset.h"
#include "model/model.h"

typedef struct moe_gate_type {
    const char *name;                        /* as in model files */
    size_t (*nparams)(size_t k, size_t nz);  /* free parameters of the gate */
    /* log g_i(z_n) for every row of standardised D into LOGG (n x k, row-major). */
    void (*log_prob)(const moe_dataset *d, const moe_model *m, double *logg);
    /* The same for rows [R0, R1) into LOGG ((R1 - R0) x k). */
    void (*log_prob_rows)(const moe_dataset *d, const moe_model *m, size_t r0, size_t r1,
                          double *logg);
    /* Doubles of the statistics stat_add accumulates for K experts and NZ gate inputs. */
    size_t (*stat_size)(size_t k, size_t nz);
    /* Adds rows [R0, R1) to STATS at the gate coefficients THETA (nparams values): stats[0]
     * += Q; when DERIV, also the gradient of Q and the pieces of its negative Hessian. H are
     * the targets (n x k, row-major). */
    void (*stat_add)(const moe_dataset *d, const double *theta, const double *h, size_t k,
                     size_t r0, size_t r1, int deriv, double *stats);
    /* From summed STATS: the gradient of Q (GRAD, nparams values) and its negative Hessian
     * (NEG_HESS, nparams x nparams row-major, full and symmetric). */
    void (*derivatives)(const double *stats, size_t k, size_t nz, double *grad,
                        double *neg_hess);
    /* Copies M's free gate coefficients into THETA, or THETA into M. */
    void (*get_params)(const moe_model *m, double *theta);
    void (*set_params)(moe_model *m, const double *theta);
    /* 1 when coefficient J of THETA is a slope (penalised by gate_ridge), 0 for intercepts. */
    int (*is_slope)(size_t j, size_t k, size_t nz);
} moe_gate_type;

extern const moe_gate_type moe_gate_softmax;

extern const moe_gate_type *const moe_gate_types[];
const moe_gate_type *moe_gate_type_find(const char *name);

#endif
