/* infer.h: inference on a fitted model, internal entry points (src/infer/covariance.c).
 * Every function works for any expert family and gate through their type tables. */
#ifndef MOE_INFER_INFER_H
#define MOE_INFER_INFER_H

#include "data/dataset.h"
#include "model/model.h"

/* Standard errors of M's reported coefficients (moe_model_coefs: each block's coefficients
 * on the data's scale) from the observed information of the incomplete-data log-likelihood
 * of the standardised data set D (M on the standardised scale). BLOCK_SE[b] receives
 * moe_model_ncoef(m, b) values for each block b = 0..k (the experts, then the gate). Where
 * the information is singular (for instance a gate that separates the regimes) the SEs are
 * NaN and MOE_ESING is returned: a normal outcome that the caller reports as a warning, with
 * ERR saying why. */
int moe_infer_standard_errors(const moe_dataset *d, const moe_model *m, double *const *block_se,
                              moe_error *err);

/* SE[c] for the coefficients of BLOCK from COV (leading dimension LD), the covariance of
 * theta or of a part of it, the block's theta starting at row OFF: the delta method with a
 * numerical Jacobian of the block's report. MOE_ENOMEM. */
int moe_infer_block_se(const moe_model *m, size_t block, const double *cov, size_t ld,
                       size_t off, double *se);

/* Inverts the NP x NP information matrix A (symmetric) in place by Cholesky; MOE_ESING with
 * NaN entries when it is not positive definite or not finite, MOE_ENUMERIC on a LAPACK
 * argument error (a programming error). */
int moe_infer_invert_information(double *a, size_t np, moe_error *err);

/* The analytic gradient of the observed-data log-likelihood of standardised D at M with
 * respect to theta (nparams values). */
int moe_infer_gradient(const moe_dataset *d, const moe_model *m, double *grad, moe_error *err);

/* The Hessian (nparams x nparams, row-major, symmetrised) by central differences of the
 * analytic gradient, and the covariance of theta on the standardised scale (the inverse of
 * the negative Hessian; MOE_ESING with NaN entries when it is not positive definite). */
int moe_infer_hessian(const moe_dataset *d, const moe_model *m, double *hess, moe_error *err);
int moe_infer_covariance(const moe_dataset *d, const moe_model *m, double *cov,
                         moe_error *err);

#endif
