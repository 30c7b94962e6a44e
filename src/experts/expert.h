/* expert.h: the interface every expert family implements (a type table, as GSL's rng types).
 * A new family is one new file and one entry in moe_expert_types[] (src/experts/types.c).
 *
 * All functions work on the standardised scale (standardised data set D, model M). The
 * trainers call the row-range entries on fixed blocks of rows; the M-step works from the
 * block-summed sufficient statistics, so a fit is the same whatever the thread count. */
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
    /* log f_i for rows [R0, R1) of D into LOGF (R1 - R0 values). */
    void (*log_density_rows)(const moe_dataset *d, const moe_model *m, size_t i, size_t r0,
                             size_t r1, double *logf);
    /* Doubles of sufficient statistics of one expert (the M-step's input). */
    size_t (*stat_size)(size_t nx);
    /* Adds rows [R0, R1) of D, weighted by the responsibilities H (n x K, row-major), to
     * STATS (K blocks of stat_size doubles, one per expert). Rows in increasing order. */
    void (*stat_add)(const moe_dataset *d, const double *h, size_t k, size_t r0, size_t r1,
                     double *stats);
    /* The effective size sum_n h_ni held in one expert's STATS. */
    double (*stat_weight)(const double *stats);
    /* Doubles of scratch space mstep needs. */
    size_t (*work_size)(size_t nx);
    /* Weighted M-step: expert I's new parameters in M from its summed STATS, with the
     * variance floored at VAR_FLOOR (standardised scale). *RIDGE receives 0, or the ridge
     * that had to be added to a singular system. MOE_ESING when even a ridge fails. */
    int (*mstep)(const double *stats, size_t i, double var_floor, moe_model *m, double *work,
                 double *ridge);
} moe_expert_type;

extern const moe_expert_type moe_expert_gaussian;

/* NULL-terminated list of every family; moe_expert_type_find("gaussian"). */
extern const moe_expert_type *const moe_expert_types[];
const moe_expert_type *moe_expert_type_find(const char *name);

#endif
