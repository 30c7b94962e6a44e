/* estep.h: the E-step and the observed-data log-likelihood of a model, used by EM,
 * inference and prediction alike. Implemented in src/model/estep.c. */
#ifndef MOE_MODEL_ESTEP_H
#define MOE_MODEL_ESTEP_H

#include "data/dataset.h"
#include "model/model.h"

/* Observed-data log-likelihood of the standardised data set D under M (both on the
 * standardised scale), always through log-sum-exp. When G is not NULL it receives the gate
 * probabilities and when H is not NULL the posterior responsibilities (n x k, row-major).
 * D must have a response when H is wanted or the log-likelihood is used. With observation
 * weights (D->w) the log-likelihood is sum_n w_n log p_n; H stays the posterior (rows sum
 * to 1). The sum is taken
 * over fixed blocks of rows in a fixed order, so the result is the same bit for bit
 * whatever the number of OpenMP threads. */
double moe_estep(const moe_dataset *d, const moe_model *m, double *g, double *h);

/* Fixed partition of N rows into at most MOE_NBLOCKS_MAX blocks of at least MOE_BLOCK_MIN rows
 * (it depends on N only, never on the thread count): block B is rows [*R0, *R1). Reductions
 * sum one partial per block, in block order. */
#define MOE_NBLOCKS_MAX 64
#define MOE_BLOCK_MIN 4096
size_t moe_block_count(size_t n);
void moe_block_range(size_t n, size_t nblocks, size_t b, size_t *r0, size_t *r1);

/* The E-step on rows [R0, R1) only: returns their log-likelihood summed in row order and
 * writes rows R0..R1-1 of G and H (full n x k arrays, either may be NULL). When ENTROPY is not
 * NULL it receives sum_n w_n sum_i -h log h over these rows (needs H); when GSUM is not NULL
 * it receives the k column sums of the gate probabilities over these rows, weighted by w.
 * When GATE_Q is not NULL (with H) it receives sum_n sum_i h_ni log g_ni of the targets H held
 * before this call overwrote them (terms with h_ni = 0 skipped, as the gates' stat_add do):
 * the gate's M-step objective at the model's gate, from the same pass. */
double moe_estep_rows(const moe_dataset *d, const moe_model *m, size_t r0, size_t r1,
                      double *g, double *h, double *entropy, double *gsum, double *gate_q);

#endif
