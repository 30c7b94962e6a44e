/* fit.h: the internal layout of moe_fit (the result of moe_fit_run), shared by the driver
 * (src/infer/fit.c), the reports (src/infer/summary.c, src/infer/fit_json.c) and the plots. */
#ifndef MOE_INFER_FIT_H
#define MOE_INFER_FIT_H

#include "moe.h"

/* One likelihood-ratio test of the gate (src/infer/lrtest.c). */
typedef struct moe_gate_lrt {
    size_t dropped;         /* the gate input left out (0-based), SIZE_MAX: all (constant) */
    double loglik_reduced;  /* the reduced model's best log-likelihood (data scale) */
    double statistic;       /* 2 (loglik - loglik_reduced), at least 0 */
    size_t df;              /* (K - 1) x inputs dropped */
    double p;               /* upper chi-square tail */
} moe_gate_lrt;

struct moe_fit {
    moe_model *model;          /* the chosen model (owned) */
    moe_fit_stats stats;       /* its statistics, log-likelihood on the data's scale */
    double *prior;             /* k: mean gate probability of each expert */
    size_t *routed;            /* k: a top-k gate's rows that keep each expert, or NULL */
    size_t *dropped;           /* k: of those, the rows its capacity drops (0: none) */
    double *importance;        /* k: its share of the summed gate weights, or NULL */
    double cv2_importance;     /* the CV^2 of the importance and of the load (the routed */
    double cv2_load;           /* rows) over the experts, population variance; NaN: none */
    size_t *size;              /* k: rows whose largest responsibility is that expert's */
    double *rmse;              /* k: each expert's root mean squared error on the data's
                                  scale, rows weighted by their posterior (NULL: none) */
    double *r2;                /* k: its R^2 with the same weights (the summary shows both
                                  for opaque families, whose weights it cannot show) */
    double **block_se;         /* k + 1 blocks (experts, then the gate): the SE of each
                                  reported coefficient (moe_model_coefs), NaN if unavailable */
    moe_fit_stats *selection;  /* nselection rows: the best fit of every K tried */
    size_t nselection;
    moe_criterion criterion;   /* what picked K among the selection rows */
    double **traces;           /* ntraces log-likelihood traces (data scale) of the chosen K */
    size_t *trace_len;         /* length of each trace */
    size_t ntraces;
    size_t best_trace;         /* index of the start that was kept */
    moe_trainer train;         /* EM or GD */
    moe_loss loss;             /* GD's loss */
    double train_loss;         /* GD: the kept start's loss per training row (NaN under EM) */
    double validation_loss;    /* GD: its loss per held-out row (NaN without validation) */
    double *vtrace;            /* GD: its validation loss per epoch, or NULL */
    size_t vtrace_len;
    char *weights_name;        /* the weights' column, NULL when the rows are unweighted */
    double weight_sum;         /* the sum of the weights (n without weights): BIC's n */
    char **warnings;           /* nwarnings messages */
    size_t nwarnings;
    int from_model;            /* 1: a view of a saved model's record (summary_model.c): no
                                  iterations, selection or warnings to report */
    moe_gate_lrt *lrt;         /* nlrt gate tests: the constant gate first, then per input */
    size_t nlrt;
    double **boot_se;          /* k + 1 blocks of bootstrap SEs (src/infer/bootstrap.c), NULL
                                  without a bootstrap */
    moe_bootstrap_report boot; /* how the bootstrap's replicates went (replicates 0: none) */
};

/* Appends a printf-style warning to F (silently dropped when out of memory). */
void moe_fit_warn(moe_fit *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
