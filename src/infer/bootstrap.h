/* bootstrap.h: the parametric bootstrap of a fit (src/infer/bootstrap.c), internal to libmoe.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_INFER_BOOTSTRAP_H
#define MOE_INFER_BOOTSTRAP_H

#include "data/dataset.h"
#include "model/model.h"

/* Experts are matched by trying every permutation up to this K, greedily above it. */
#define MOE_BOOT_BRUTE_K 8

struct moe_fit;

/* The seed of replicate B's random stream under the fit's SEED (splitmix64 of both, so that
 * neighbouring replicates get unrelated Mersenne Twister states). */
unsigned long moe_infer_boot_seed(unsigned long seed, size_t b);

/* Replicate B's data set under SEED into *OUT: D's rows (data scale) with their inputs,
 * offset, trials and weights as they are and a new response drawn from FIT (moe_simulate_at
 * from the stream moe_infer_boot_seed(SEED, B)). Errors of moe_simulate_at, MOE_ENOMEM. */
int moe_infer_boot_data(const moe_dataset *d, const moe_model *fit, unsigned long seed, size_t b,
                        moe_dataset **out, moe_error *err);

/* The relabelling of M's experts that matches REF's (both K experts, the same family and
 * inputs): PERM[i] is the expert of M that plays REF's expert i, the permutation minimising
 * sum_i |theta_ref,i - theta_m,perm[i]|^2 over the experts' free parameters on the standardised
 * scale (every permutation for K <= MOE_BOOT_BRUTE_K, else greedy: the closest remaining pair
 * first). WORK holds 2 K ne + K K doubles (ne: an expert's free parameters). Returns 1 when
 * PERM is not the identity. */
int moe_infer_boot_match(const moe_model *ref, const moe_model *m, size_t *perm, double *work);

/* Runs OPT->bootstrap replicates of the fit F (F->model chosen on data set D, data scale) and
 * fills F->boot_se and F->boot. MOE_SUCCESS (failed refits are counted, not errors),
 * MOE_EINVAL (a gate without a permute slot: a tree), MOE_ENOMEM. */
int moe_infer_bootstrap(const moe_dataset *d, const moe_fit_options *opt, struct moe_fit *f,
                        moe_error *err);

#endif
