/* estep.h: the E-step and the observed-data log-likelihood, used by EM, inference and
 * prediction alike. Implemented in src/train/estep.c. */
#ifndef MOE_TRAIN_ESTEP_H
#define MOE_TRAIN_ESTEP_H

#include "data/dataset.h"
#include "model/model.h"

/* Largest number of experts the library accepts (per-row temporaries live on the stack). */
#define MOE_K_MAX 64

/* Observed-data log-likelihood of the standardised data set D under M (both on the
 * standardised scale), always through log-sum-exp. When G is not NULL it receives the gate
 * probabilities and when H is not NULL the posterior responsibilities (n x k, row-major).
 * D must have a response when H is wanted or the log-likelihood is used. The sum is taken
 * over fixed blocks of rows in a fixed order, so the result is the same bit for bit
 * whatever the number of OpenMP threads. */
double moe_estep(const moe_dataset *d, const moe_model *m, double *g, double *h);

#endif
