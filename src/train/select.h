/* select.h: fitting every K of a range from many starts and choosing K (src/train/select.c).
 * Internal to libmoe; src/infer/fit.c builds the moe_fit result on top of it.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_TRAIN_SELECT_H
#define MOE_TRAIN_SELECT_H

#include "data/dataset.h"
#include "model/model.h"

/* What the trainer leaves behind; the caller owns every pointer (moe_train_output_clear). */
typedef struct moe_train_output {
    moe_model *model;          /* the chosen model, standardised parameters, NULL if none */
    moe_fit_stats stats;       /* its statistics, log-likelihood on the data's scale */
    moe_fit_stats *selection;  /* nselection rows: the best fit of every K tried */
    size_t nselection;
    double **traces;           /* ntraces log-likelihood traces (data scale) of the chosen K */
    size_t *trace_len;         /* length of each trace */
    size_t ntraces;
    size_t best_trace;         /* index of the start that was kept */
    double *vtrace;            /* GD: the kept start's validation loss per epoch, or NULL */
    size_t vtrace_len;
    double loss, vloss;        /* GD: its training and validation loss per row (NaN: none) */
    char **warnings;           /* nwarnings messages */
    size_t nwarnings;
} moe_train_output;

/* Fits standardised data DS (with the types of TYPES, a model giving expert family and gate)
 * for each K of OPT's range from OPT's starts, keeps the best start of each K and picks K by
 * the criterion. LL_SHIFT is subtracted from every log-likelihood to put it on the data's
 * scale. Returns MOE_SUCCESS (OUT->model NULL when no K gave a usable fit), MOE_ENOMEM or
 * MOE_ENUMERIC with ERR saying why. */
int moe_train_select(const moe_dataset *ds, const moe_model *types, const moe_fit_options *opt,
                     double ll_shift, moe_train_output *out, moe_error *err);

void moe_train_output_clear(moe_train_output *o);

/* Renumbers the experts of M (a fit on DS) by the posterior-weighted mean of the first gate
 * input (src/train/order.c); H is n x K scratch. A gate without a permute slot keeps M. */
void moe_train_order(const moe_dataset *ds, moe_model *m, double *h);

/* Renumbers the experts of M: the new expert i is the old expert PERM[i] (K distinct
 * indices), the expert blocks moved and the gate re-expressed by its permute slot, so that the
 * model's density is unchanged. M's gate must have a permute slot (the softmax gate does, a
 * tree does not). No allocation. */
void moe_train_permute(moe_model *m, const size_t *perm);

/* The most models one fit chooses between. */
#define MOE_MODELS_MAX 64

/* The shapes OPT asks to fit, in order, into OUT (MOE_MODELS_MAX entries; nz left 0): each K
 * of k_min..k_max with a flat gate, or the entries of opt->tree (src/train/models.c). NULL,
 * or what is wrong with opt->tree (to follow its text in a message). */
const char *moe_train_models(const moe_fit_options *opt, moe_gate_shape *out, size_t *n);

/* Appends a printf-style warning to O (silently dropped when out of memory). */
void moe_train_warn(moe_train_output *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
