/* smem.h: split-and-merge moves on a converged fit (src/train/smem.c, SMEM: Ueda, Nakano,
 * Ghahramani & Hinton 2000). Internal to libmoe; the global search (search.c) applies them to
 * its best continued run.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_TRAIN_SMEM_H
#define MOE_TRAIN_SMEM_H

#include "train/em.h"

/* Accepted moves per fit, at most (each one a further round of tries). */
#define MOE_SMEM_ROUNDS 3
/* Merge pairs (most alike first) and split experts (worst local fit first) combined per round:
 * the tries are the MOE_SMEM_PAIRS x MOE_SMEM_SPLITS triples (i, j merged; l split), each with
 * every split style (above/below l's mean; below/above l's median of each gate input, the
 * first MOE_SMEM_INPUTS of them). */
#define MOE_SMEM_PAIRS 3
#define MOE_SMEM_SPLITS 2
#define MOE_SMEM_INPUTS 2
/* The best tries after their short runs that are continued to convergence, per round. */
#define MOE_SMEM_CONTINUE 2

typedef struct moe_smem_work moe_smem_work;

/* Scratch for moves on the fits of workspace W (its rows, experts and model shape); NULL: out
 * of memory. */
moe_smem_work *moe_smem_alloc(const moe_em_work *w);
void moe_smem_free(moe_smem_work *s);

/* What one round did. */
typedef struct moe_smem_round {
    int accepted;         /* 1: a move raised the log-likelihood and replaced the fit */
    size_t tries;         /* softened-gate and merge-split tries run (short runs) */
    size_t iterations;    /* EM iterations of the accepted continuation (0: none accepted) */
    int converged, separated;  /* how the accepted continuation stopped */
    int merge_split;      /* 1: the accepted try merged experts merged[0] and merged[1] (into
                             merged[0]) and split expert split into merged[1]; 0: a softened
                             gate (or nothing accepted) */
    size_t merged[2], split;
    size_t refused_spurious;   /* higher maxima refused for adding a spurious expert */
} moe_smem_round;

/* One round of moves on the fit M (standardised scale, K = W->kmax >= 3 experts, a flat gate;
 * otherwise nothing is tried) with log-likelihood *LL: M with its gate coefficients times 0.5,
 * 0.2 and 0.05, and for the configurations above the responsibilities of M with experts i and
 * j merged into i and expert l split between l and j, start SHORT_ITER EM iterations (full
 * EM, every expert and the gate); the MOE_SMEM_CONTINUE
 * best go on to convergence (W->par's tol and max_iter), each stopped early once its
 * log-likelihood, gaining at most its last step per remaining iteration, could no longer pass
 * *LL + TOL. The first that ends above *LL + TOL and has no more spurious experts than M
 * (moe_train_spurious with VAR_FLOOR, MIN_ROWS) replaces M and *LL; W then holds that run (its
 * trace, iteration count and stopping state). Deterministic: no random numbers; the EM passes
 * are thread-count independent. ROUND gets what happened. Returns MOE_SUCCESS (accepted or not) or
 * MOE_ENUMERIC (an EM iteration failed other than by a degenerate expert: W->message says why;
 * a try whose expert degenerates is only skipped). */
int moe_train_smem(moe_em_work *w, moe_model *m, double *ll, double tol, size_t short_iter,
                   double var_floor, double min_rows, moe_smem_work *s, moe_smem_round *round);

#endif
