/* expert.h: the interface every expert family implements (a type table, as GSL's rng types).
 * A new family is one new file and one entry in moe_expert_types[] (src/experts/types.c).
 *
 * A family owns its parameters: the model keeps, per expert, a block of block_size(shape)
 * doubles whose layout only the family's file knows. Every slot gets the experts' shape S
 * (moe_expert_shape of src/model/model.h: the inputs nx and, for an MLP expert, its hidden
 * units and activation), as the gate's slots get the gate's shape. Everything else reaches
 * the block through this table: the free-parameter vector theta (get/set, for standard errors
 * and optimisers), log-densities, means and variances of y, draws, the named coefficients on
 * the data's scale, the fields of the model file, and the M-step.
 *
 * Conventions. Everything works on the standardised scale of src/model/model.h: the design
 * rows of D are standardised (column 0 the intercept); y is standardised only when the family
 * says scales_response (a Gaussian response), otherwise it is the data's own y (a count, a
 * 0/1 outcome). D's optional offset and trials columns are used as the family defines them.
 * Responsibilities H are n x K row-major and already carry the observation weights
 * (h_ni * w_n), so no family needs to know about weights. Row-range entries are called on
 * fixed row blocks in increasing row order, so fits do not depend on the thread count.
 *
 * The M-step comes in one of two forms, and a family fills exactly one:
 *  - closed form: stat_add accumulates sufficient statistics in the trainer's fused pass and
 *    mstep solves for the new block (Gaussian: weighted least squares);
 *  - Newton: newton_add gives the weighted objective sum_n h_ni log f_i(y_n; theta), its
 *    gradient and its negative Hessian over a row range, and the trainer's shared
 *    weighted-Newton driver (src/train/newton.c) maximises it (GLMs: IRLS). */
#ifndef MOE_EXPERTS_EXPERT_H
#define MOE_EXPERTS_EXPERT_H

#include <gsl/gsl_rng.h>

#include "data/dataset.h"
#include "model/model.h"

typedef struct moe_expert_type {
    const char *name;          /* as in model files and --family */
    const char *description;   /* one line for --help */
    const char *label;         /* for titles: "Mixture of 3 <label> experts" */
    int scales_response;       /* 1: y is standardised like the inputs; 0: used as is */
    int needs_offset;          /* 1: D's offset column enters the linear predictor */
    int needs_trials;          /* 1: D's trials column is the binomial size */
    int hidden_layer;          /* 1: the family has a hidden layer, named NAME:H[:tanh|relu]
                                  (the shape's hidden and activation); 0: it takes no options */
    int gd_only;               /* 1: trained by gradient descent only (EM refuses it) */
    int opaque;                /* 1: the parameters are not interpretable one by one (an
                                  MLP's weights): no regression coefficients are reported,
                                  only the extras, and no standard errors */

    /* Doubles in one expert's block, and free parameters (its share of the df). */
    size_t (*block_size)(const moe_expert_shape *s);
    size_t (*nparams)(const moe_expert_shape *s);
    /* The parameters the spurious-expert rule asks MIN_ROWS effective rows for
     * (src/train/spurious.c); NULL: nparams. A family of many weights that are not
     * identifiable one by one (an MLP) counts a linear expert's on the same inputs instead:
     * rows per weight would call every such expert spurious. */
    size_t (*rows_rule_params)(const moe_expert_shape *s);
    /* A neutral block (all coefficients 0, scale 1) into PAR. */
    void (*init)(const moe_expert_shape *s, double *par);
    /* Draws from RNG the block a start begins from, for a family whose neutral block is a
     * stationary point of the likelihood (an MLP's zero weights); NULL: starts begin at the
     * neutral block (and draw nothing). */
    void (*randomise)(const moe_expert_shape *s, double *par, gsl_rng *rng);
    /* A block whose linear predictor is BETA (nx+1 values) with noise level NOISE (ignored
     * by families without a dispersion parameter): what simulations start from. */
    void (*from_linear)(const moe_expert_shape *s, const double *beta, double noise,
                        double *par);
    /* The free parameters theta (nparams values; e.g. beta and log sigma) of PAR, and back. */
    void (*get_theta)(const moe_expert_shape *s, const double *par, double *theta);
    void (*set_theta)(const moe_expert_shape *s, const double *theta, double *par);

    /* Checks response value Y (and TRIALS, when needs_trials) of one row on the data's scale:
     * NULL when valid, else what is wrong ("must be a non-negative integer count"). */
    const char *(*check_response)(double y, double trials);

    /* log f(y_n | x_n) for rows [R0, R1) of D into LOGF (R1 - R0 values). */
    void (*log_density_rows)(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                             size_t r0, size_t r1, double *logf);
    /* Mean and variance of y for rows [R0, R1) (either output may be NULL), on the scale of
     * D's response (standardised when scales_response). */
    void (*moments_rows)(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                         size_t r0, size_t r1, double *mean, double *var);
    /* Draws y for row R of D (design rows standardised; offset and trials from D). */
    double (*draw)(const moe_dataset *d, const moe_expert_shape *s, const double *par, size_t r,
                   gsl_rng *rng);

    /* Adds to GRAD (nparams values) the gradient of sum_{n in [R0,R1)} h_ni log f(y_n; theta)
     * with respect to theta at PAR, with H n x K and I the expert's column. */
    void (*score_rows)(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                       const double *h, size_t k, size_t i, size_t r0, size_t r1, double *grad);
    /* Adds to GRAD (nparams values) sum_{n in [R0,R1)} c_ni d mu(x_n; theta) / d theta, the
     * gradient of the expert's mean of y (the mean of moments_rows) weighted by column I of C
     * (n x K; any sign): what a loss on the mixture's mean (the cooperative loss of
     * src/train/loss.c) needs. Components the mean does not depend on get 0. */
    void (*mean_grad_rows)(const moe_dataset *d, const moe_expert_shape *s, const double *par,
                           const double *c, size_t k, size_t i, size_t r0, size_t r1,
                           double *grad);
    /* 1 when the last component of theta is log sigma, a dispersion the mean does not depend
     * on (the losses and optimisers of src/train/ treat it apart); 0 when there is none. */
    int dispersion;

    /* Reported coefficients on the data's scale: ncoef values, the first nx+1 the
     * regression coefficients (intercept, then one per input; none for an opaque family),
     * then the family's extras named by extra_names (NULL-terminated; e.g. "sigma"). M gives
     * the scaling. */
    size_t (*ncoef)(const moe_expert_shape *s);
    const char *const *extra_names;
    void (*report)(const moe_model *m, const double *theta, double *coef);

    /* The fields of the block in the model file (at most MOE_PARAM_FIELDS_MAX) into F;
     * returns how many. */
    size_t (*fields)(const moe_expert_shape *s, moe_param_field *f);

    /* Closed-form M-step (NULL for Newton families). stat_size doubles of statistics per
     * expert; stat_add adds rows [R0,R1) of every expert to STATS (K blocks); mstep writes expert I's new block into PAR
     * from its summed STATS, with the variance floored at VAR_FLOOR; *RIDGE gets 0 or the
     * ridge a singular system needed; MOE_ESING when even a ridge fails. */
    size_t (*stat_size)(const moe_expert_shape *s);
    void (*stat_add)(const moe_dataset *d, const moe_expert_shape *s, const double *h, size_t k,
                     size_t r0, size_t r1, double *stats);
    size_t (*work_size)(const moe_expert_shape *s);
    int (*mstep)(const double *stats, const moe_expert_shape *s, double var_floor, double *par,
                 double *work, double *ridge);

    /* Newton M-step (NULL for closed-form families): adds rows [R0,R1) at THETA to STATS
     * (newton_size(s) doubles: [0] the objective sum h_ni log f, then when DERIV the
     * gradient (nparams) and the negative Hessian packed by rows, upper triangle). */
    size_t (*newton_size)(const moe_expert_shape *s);
    void (*newton_add)(const moe_dataset *d, const moe_expert_shape *s, const double *theta,
                       const double *h, size_t k, size_t i, size_t r0, size_t r1, int deriv,
                       double *stats);
} moe_expert_type;

extern const moe_expert_type moe_expert_gaussian;
extern const moe_expert_type moe_expert_poisson;
extern const moe_expert_type moe_expert_logistic;
extern const moe_expert_type moe_expert_mlp;

/* NULL-terminated list of every family, the default first; moe_expert_type_find("gaussian"). */
extern const moe_expert_type *const moe_expert_types[];
const moe_expert_type *moe_expert_type_find(const char *name);

/* Parses a family spec, a name with, for a family with a hidden layer, ":H[:tanh|relu]"
 * ("gaussian", "mlp:8", "mlp:16:relu"; NULL: the default family), into *ET and the hidden
 * units and activation of *ES (nx is left as it is). NULL, or what is wrong. */
const char *moe_expert_spec_parse(const char *spec, const moe_expert_type **et,
                                  moe_expert_shape *es);
/* The spec of family ET with shape ES ("gaussian", "mlp:8:tanh") into BUF (LEN bytes). */
void moe_expert_spec_format(const moe_expert_type *et, const moe_expert_shape *es, char *buf,
                            size_t len);

#endif
