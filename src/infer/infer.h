/* infer.h: inference on a fitted model, internal entry points (src/infer/covariance.c). */
#ifndef MOE_INFER_INFER_H
#define MOE_INFER_INFER_H

#include "data/dataset.h"
#include "model/model.h"

/* Standard errors of M's parameters from the observed information of the incomplete-data
 * log-likelihood of the standardised data set D (M on the standardised scale), converted to
 * the data's own scale. EXPERT_SE receives k x (nx+1) values (the coefficients' SEs),
 * GATE_SE (k-1) x (nz+1), SIGMA_SE k values (the SE of each sigma_i on the data's scale, by the
 * delta method from that of log sigma_i; may be NULL). Where the information is singular (for instance a gate that
 * separates the regimes) the SEs are NaN and MOE_ESING is returned: a normal outcome that
 * the caller reports as a warning, with ERR saying why. */
int moe_infer_standard_errors(const moe_dataset *d, const moe_model *m, double *expert_se,
                              double *gate_se, double *sigma_se, moe_error *err);

/* SIGMA_SE[i] = sigma_i SE(log sigma_i) on the data's scale, from COV, the covariance of
 * theta (leading dimension LD) or of its expert block alone (the experts come first). */
void moe_infer_sigma_se(const moe_model *m, const double *cov, size_t ld, double *sigma_se);

/* The parameter vector theta of the standardised model M, in this order: for each expert i,
 * beta_i (nx+1 values) then log sigma_i; then for each gate row i < k-1, v_i (nz+1 values).
 * moe_infer_nparams gives its length; _get copies M's parameters into THETA, _set the other
 * way (the reference gate row stays 0). */
size_t moe_infer_nparams(const moe_model *m);
void moe_infer_get_params(const moe_model *m, double *theta);
void moe_infer_set_params(moe_model *m, const double *theta);

/* The analytic gradient of the observed-data log-likelihood of standardised D at M with
 * respect to theta (nparams values). Gaussian experts and the softmax gate only. */
int moe_infer_gradient(const moe_dataset *d, const moe_model *m, double *grad, moe_error *err);

/* The Hessian (nparams x nparams, row-major, symmetrised) by central differences of the
 * analytic gradient, and the covariance of theta on the standardised scale (the inverse of
 * the negative Hessian; MOE_ESING with NaN entries when it is not positive definite). */
int moe_infer_hessian(const moe_dataset *d, const moe_model *m, double *hess, moe_error *err);
int moe_infer_covariance(const moe_dataset *d, const moe_model *m, double *cov,
                         moe_error *err);

#endif
