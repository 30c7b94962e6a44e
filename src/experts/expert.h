/* expert.h: the interface every expert family implements (a type table, as GSL's rng types).
 * A new family is one new file and one entry in moe_expert_types[] (src/experts/types.c). */
#ifndef MOE_EXPERTS_EXPERT_H
#define MOE_EXPERTS_EXPERT_H

#include "data/dataset.h"
#include "model/model.h"

typedef struct moe_expert_type {
    const char *name;                        /* as in model files and --expert */
    size_t (*nparams)(size_t nx);            /* free parameters of one expert */
    /* log f_i(y_n | x_n) for every row of standardised D into LOGF (n values). */
    void (*log_density)(const moe_dataset *d, const moe_model *m, size_t i, double *logf);
    /* Expert I's mean and variance at every row of D (MEAN, VAR: n values each). */
    void (*moments)(const moe_dataset *d, const moe_model *m, size_t i, double *mean,
                    double *var);
} moe_expert_type;

extern const moe_expert_type moe_expert_gaussian;

/* NULL-terminated list of every family; moe_expert_type_find("gaussian"). */
extern const moe_expert_type *const moe_expert_types[];
const moe_expert_type *moe_expert_type_find(const char *name);

#endif
