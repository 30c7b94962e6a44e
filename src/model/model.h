/* model.h: the internal layout of moe_model.
 *
 * The model lives on a standardised scale: every input column is centred and divided by
 * its standard deviation, and so is the response. The parameters below are on that scale;
 * the public accessors and the summaries convert them to the data's own scale
 * (src/model/scaling.c). Predictions apply the stored scaling, so a saved model predicts
 * exactly as the fitted one did. */
#ifndef MOE_MODEL_MODEL_H
#define MOE_MODEL_MODEL_H

#include "moe.h"

struct moe_expert_type;
struct moe_gate_type;

struct moe_model {
    const struct moe_expert_type *expert;  /* expert family ("gaussian") */
    const struct moe_gate_type *gate;      /* gate ("softmax") */
    size_t k;              /* experts */
    size_t nx, nz;         /* expert and gate inputs, without intercept */
    char *y_name;          /* response name */
    char **x_names;        /* nx names */
    char **z_names;        /* nz names */
    double y_center;       /* response = y_center + y_scale * standardised response */
    double y_scale;
    double *x_center;      /* nx: input j = x_center[j] + x_scale[j] * standardised */
    double *x_scale;
    double *z_center;      /* nz, likewise for the gate inputs */
    double *z_scale;
    double *beta;          /* k x (nx+1): expert coefficients, standardised scale */
    double *sigma;         /* k: expert residual SDs, standardised scale */
    double *gate_coef;     /* k x (nz+1): gate coefficients, row k-1 all zero (reference) */
};

/* Allocates a model of the given shape with the gaussian expert and softmax gate, zero
 * parameters, unit scaling (centre 0, scale 1) and NULL names. NULL when out of memory. */
moe_model *moe_model_alloc(size_t k, size_t nx, size_t nz);

/* Copies the names of D into M (MOE_ENOMEM on failure). */
int moe_model_set_names(moe_model *m, const moe_dataset *d);

/* Returns a new data set: D standardised with M's scaling (y too when D has it). */
moe_dataset *moe_model_standardise(const moe_model *m, const moe_dataset *d);

/* Sets M's scaling from D: centres are column means, scales column SDs (1 for a constant
 * column, so that it stays finite). */
void moe_model_scaling_from_data(moe_model *m, const moe_dataset *d);

/* Linear map from standardised parameters to the data's scale, for coefficient vectors
 * and covariances: expert coefficients (nx+1) and gate coefficients (nz+1). A is a
 * (p x p) row-major matrix with coef_data = A coef_std (+ offset for the expert intercept). */
void moe_model_expert_map(const moe_model *m, double *a, double *offset);
void moe_model_gate_map(const moe_model *m, double *a);

#endif
