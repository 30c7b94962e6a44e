/* gd.h: gradient-descent training of a mixture of experts of any family and gate on one of
 * the losses of src/train/loss.h, as a workspace with one run per start (src/train/gd.c).
 * Internal to libmoe; src/train/select.c drives it from the same starts as EM.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_TRAIN_GD_H
#define MOE_TRAIN_GD_H

#include <gsl/gsl_rng.h>

#include "data/dataset.h"
#include "model/model.h"
#include "train/loss.h"
#include "train/optim.h"

/* A start diverged when its epoch loss per row exceeds the first epoch's L0 by this much
 * times (|L0| + 1), or is not finite. */
#define MOE_GD_EXPLODE 1e4

typedef struct moe_gd_params {
    moe_loss loss;
    moe_optimizer optimizer;
    double lr, momentum;   /* peak learning rate (cosine schedule), SGD momentum */
    size_t batch;          /* rows per step; 0 or >= the training rows: full batch */
    size_t epochs;         /* epochs at most */
    size_t patience;       /* early stopping on the validation loss (needs validation rows) */
    double clip;           /* largest gradient norm (0: none) */
    double var_floor;      /* smallest expert variance (standardised scale): log sigma is kept
                              at or above log sqrt(var_floor) */
    moe_aux_loss aux;      /* the gate's auxiliary loss per batch (gate.h aux_rows) */
    double aux_weight;     /* and its weight (shazeer: the importance loss's) */
    double load_weight;    /* shazeer: the load loss's weight */
    double z_weight;       /* the router z-loss's weight (0: none) */
    double capacity;       /* the capacity factor of a gate with capacity_rows (0: none) */
    int noise;             /* 1: noisy logits while training (a gate with capacity_rows: the
                              top-k gate), from a seed drawn from the run's RNG */
} moe_gd_params;

typedef struct moe_gd_work {
    moe_gd_params par;
    const moe_dataset *train;  /* standardised training rows (not owned) */
    const moe_dataset *valid;  /* held-out rows or NULL (not owned) */
    moe_dataset *shuf;         /* batch rows: the current mini-batch, gathered */
    size_t *perm;              /* n: the shuffle */
    size_t n, nv, k, np, nep;  /* training and validation rows, experts, parameters */
    size_t nbmax;              /* row blocks of the largest batch */
    moe_optim *opt;
    double *theta, *grad, *best;  /* np each */
    double *gpart;             /* nbmax x np: block partial gradients */
    double *lpart;             /* nbmax x 2: block partial loss and weight */
    double *tmp;               /* nbmax x (k nep + 1): the loss's per-block scratch */
    double *trace, *vtrace;    /* epochs: training and validation loss per row */
    unsigned char *drop;       /* batch rows x k: the capacity's drops of the current batch */
    unsigned long noise_seed;  /* the run's noise stream (par.noise) */
    size_t step;               /* the current step (the noise's counter) */
    size_t epochs_done;        /* epochs run (the traces' length) */
    size_t best_epoch;         /* the epoch whose parameters were kept (validation) */
    int stopped_early;         /* 1: the validation loss stopped improving */
    double loss, vloss;        /* final loss per row on training and validation rows */
    char message[256];         /* why a run failed */
} moe_gd_work;

/* Allocates a workspace for K experts of M's types on standardised TRAIN (and VALID, may be
 * NULL); M gives the types and shapes. NULL when out of memory. */
moe_gd_work *moe_gd_alloc(const moe_dataset *train, const moe_dataset *valid,
                          const moe_model *m, const moe_gd_params *par);
void moe_gd_free(moe_gd_work *w);

/* Trains M (K experts, standardised scale) in place from its current parameters, shuffling
 * with RNG. PROGRESS (may be NULL) is called after every epoch with the epoch and its mean
 * training loss. Returns MOE_SUCCESS, or MOE_ENUMERIC when the start diverged (the loss or
 * gradient turned non-finite or exploded; w->message says so and suggests a smaller
 * learning rate; M is then unusable). */
int moe_gd_run(moe_gd_work *w, moe_model *m, gsl_rng *rng,
               void (*progress)(size_t epoch, double loss, void *data), void *data);

/* The loss per row of the whole of D under M (fixed row blocks, thread-count independent). */
double moe_gd_loss(moe_gd_work *w, const moe_dataset *d, const moe_model *m);

/* Splits D into training and held-out rows: round(FRAC n) rows drawn without replacement
 * with the stream of SEED go to *VALID, in their original order, the rest to *TRAIN (new
 * data sets, standardised as D is). MOE_EINVAL when either part would be empty. */
int moe_gd_split(const moe_dataset *d, double frac, unsigned long seed, moe_dataset **train,
                 moe_dataset **valid);

#endif
