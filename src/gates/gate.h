/* gate.h: the interface every gate implements (a type table). The softmax gate is the first;
 * hierarchical and noisy top-k gates will be further entries in moe_gate_types[]. */
#ifndef MOE_GATES_GATE_H
#define MOE_GATES_GATE_H

#include "data/dataset.h"
#include "model/model.h"

typedef struct moe_gate_type {
    const char *name;                        /* as in model files */
    size_t (*nparams)(size_t k, size_t nz);  /* free parameters of the gate */
    /* log g_i(z_n) for every row of standardised D into LOGG (n x k, row-major). */
    void (*log_prob)(const moe_dataset *d, const moe_model *m, double *logg);
} moe_gate_type;

extern const moe_gate_type moe_gate_softmax;

extern const moe_gate_type *const moe_gate_types[];
const moe_gate_type *moe_gate_type_find(const char *name);

#endif
