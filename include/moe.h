/* moe.h: the public API of libmoe, mixtures of experts for regression.
 *
 * Copyright (C) 2026 the moefit developers.
 * This file is part of moefit, free software under the GNU General Public License,
 * version 3 or (at your option) any later version; see COPYING.
 *
 * The model: p(y | x, z) = sum_i g_i(z) f_i(y | x), with a softmax gate
 * g_i(z) = exp(v_i'(1,z)) / sum_j exp(v_j'(1,z)) and the last expert as reference (v_K = 0).
 * The experts f_i are one family: Gaussian linear N(y; b_i'(1,x), s_i^2) (the default),
 * Poisson Pois(y; exp(b_i'(1,x) + offset)), logistic Bin(y; trials, logit^-1(b_i'(1,x))) or
 * MLP N(y; w2_i' act(W1_i (1,x)) + c_i, s_i^2) (one hidden layer; gradient descent only).
 *
 * Conventions: every function that can fail returns an int status (a moe_status) and, when
 * given a non-NULL moe_error, fills it with a message that carries context (file, line,
 * column).  The library never prints and never exits; objects are opaque, created by one
 * function and released by the matching _free, which accepts NULL.  Arrays are row-major.
 */
#ifndef MOE_H
#define MOE_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status and errors */

typedef enum moe_status {
    MOE_SUCCESS = 0,  /* done */
    MOE_CONTINUE,     /* iteration has not converged yet: a normal, indicative return */
    MOE_EINVAL,       /* invalid argument or option */
    MOE_ENOMEM,       /* out of memory */
    MOE_EBADLEN,      /* sizes that do not match */
    MOE_ESING,        /* singular matrix */
    MOE_EMAXITER,     /* iteration limit reached without convergence */
    MOE_EFORMAT,      /* malformed input data or model file */
    MOE_EOPEN,        /* an input cannot be opened or read */
    MOE_EWRITE,       /* an output cannot be created or written */
    MOE_ENUMERIC,     /* numerical failure the library could not recover from */
    MOE_EUNAVAIL      /* a required external program (gnuplot) is not available */
} moe_status;

/* A short description of a status code ("malformed input", ...). Never NULL. */
const char *moe_strerror(int status);

/* What went wrong, with its context. Zero-initialise or pass NULL where not wanted. */
typedef struct moe_error {
    int status;           /* a moe_status; MOE_SUCCESS when nothing went wrong */
    char file[256];       /* the file the error is about, "" when none */
    size_t line;          /* 1-based line in that file, 0 when not applicable */
    size_t column;        /* 1-based column (field number), 0 when not applicable */
    char message[1024];   /* the whole message, e.g. "data.csv:12:3: not a number (abc)" */
} moe_error;

/* The library's version string, e.g. "0.1.0". */
const char *moe_version(void);

/* Checks the choice of SIMD kernels made once per process from the CPU (CPUID and XCR0) and
 * the environment variable MOE_ARCH (ref, avx2 or avx512; unset: the best available).
 * Returns MOE_EINVAL with a message when MOE_ARCH names an unknown set or one this CPU or
 * build cannot run (the reference kernels are then used); moe_fit_run calls it first. */
int moe_kernels_init(moe_error *err);

/* The name of the kernel set in use: "avx512", "avx2" or "ref". */
const char *moe_kernels_name(void);

/* ---------------------------------------------------------------- tables (CSV) */

/* A table as read from CSV: numeric columns with names. A cell that is missing or not a
 * finite number is stored as NaN and remembered, so that the error is raised (or the row
 * dropped) only when the column is used. */
typedef struct moe_table moe_table;

typedef struct moe_csv_options {
    char sep;        /* field separator ',' ';' or '\t'; 0 detects it from the first line */
    int header;      /* 1: first row is a header, 0: none (names V1..Vn), -1: detect */
} moe_csv_options;

/* Defaults: detect the separator and the header. */
moe_csv_options moe_csv_options_default(void);

/* Reads CSV from PATH ("-" reads standard input). Accepts quoted fields, CRLF and a UTF-8
 * byte-order mark. Errors: MOE_EOPEN (cannot open or read), MOE_EFORMAT (ragged rows, empty
 * file, header without rows, duplicate names, unterminated quote, ...), MOE_ENOMEM. */
int moe_table_read_csv(const char *path, const moe_csv_options *opt, moe_table **out,
                       moe_error *err);

/* The same from an open stream; NAME is used in messages. */
int moe_table_read_stream(FILE *fp, const char *name, const moe_csv_options *opt,
                          moe_table **out, moe_error *err);

/* Reading one file in parts, one part per process (moefit under mpirun). moe_csv_split:
 * the byte range [*START, *END) of part PART of PARTS of the file PATH (not "-"), near equal
 * shares cut at line starts, and *NLINES, the physical lines (newlines) in it; it reads only
 * that range and the line after each cut. A quoted field may not hold a newline across a
 * cut. Errors: MOE_EINVAL, MOE_EOPEN. */
int moe_csv_split(const char *path, size_t part, size_t parts, long long *start,
                  long long *end, size_t *nlines, moe_error *err);

/* Reads the header of PATH and then only the records that start in [START, END), numbering
 * physical lines from FIRST_LINE at START (1 + the newlines of every earlier part), so that
 * rows, lines and messages are those of a whole read. A part may have no rows. The parts of
 * a split, joined in order (moe_table_join_packed), equal moe_table_read_csv of the file. */
int moe_table_read_csv_range(const char *path, const moe_csv_options *opt, long long start,
                             long long end, size_t first_line, moe_table **out,
                             moe_error *err);

/* A table's rows, their lines and bad-cell records as one malloc'd buffer (*BUF, *LEN bytes;
 * the caller frees it), to send to another process of the same machine type. */
int moe_table_pack(const moe_table *t, void **buf, size_t *len, moe_error *err);

/* The table of NPARTS packed tables stored one after another in BUFS (LENS[i] bytes each),
 * in order, with the names of LIKE (a part's table, the same header): what one reader of the
 * whole file makes. MOE_EFORMAT when no part has a row, MOE_EINVAL for a bad buffer. */
int moe_table_join_packed(const moe_table *like, const void *bufs, const size_t *lens,
                          size_t nparts, moe_table **out, moe_error *err);

size_t moe_table_nrows(const moe_table *t);               /* data rows */
size_t moe_table_ncols(const moe_table *t);               /* columns */
const char *moe_table_colname(const moe_table *t, size_t j);   /* 0-based j */
const double *moe_table_column(const moe_table *t, size_t j);  /* nrows values, NaN if bad */

/* Finds a column by name, or by 1-based index written as a number ("3"); a name wins over
 * an index when a column is literally called "3". *COL receives the 0-based index.
 * MOE_EINVAL with a message naming the column when there is none. */
int moe_table_lookup(const moe_table *t, const char *spec, size_t *col, moe_error *err);

void moe_table_free(moe_table *t);

/* ---------------------------------------------------------------- data sets */

/* The rows a model is fitted on or predicts for: response y, expert inputs x and gate
 * inputs z, each with names. */
typedef struct moe_dataset moe_dataset;

typedef enum moe_na_policy {
    MOE_NA_FAIL = 0,  /* a bad cell in a used column is an error (FILE:LINE:COLUMN) */
    MOE_NA_OMIT       /* rows with a bad cell in a used column are dropped and counted */
} moe_na_policy;

typedef struct moe_selection {
    const char *response;     /* the response column; NULL: the last column */
    const char *inputs;       /* expert inputs, comma-separated names or indices; NULL: every
                                 column but the response, weights, offset and trials; "": none */
    const char *gate_inputs;  /* gate inputs in the same form; NULL: the same as inputs */
    moe_na_policy na;         /* what to do with missing or non-numeric cells */
    const char *weights;      /* observation (frequency) weights >= 0, a name or index; NULL: 1 */
    const char *offset;       /* offset of the experts' linear predictor (log exposure); NULL: 0 */
    const char *trials;       /* binomial trials, positive integers (logistic); NULL: 1 each */
} moe_selection;

/* Defaults: last column is the response, the others are inputs for experts and gate. */
moe_selection moe_selection_default(void);

/* Builds a data set from the selected columns of T. A column plays one role only (response,
 * weights, offset, trials, input; an input may also be a gate input): MOE_EINVAL otherwise.
 * MOE_EFORMAT with FILE:LINE:COLUMN for a bad cell in a used column (under MOE_NA_FAIL), a
 * negative weight, or trials that are not a positive integer; MOE_EFORMAT naming the file and
 * column when every weight is 0. */
int moe_dataset_from_table(const moe_table *t, const moe_selection *sel, moe_dataset **out,
                           moe_error *err);

/* Builds a data set from arrays: X is n x dx, Z is n x dz (NULL: Z = X, dz ignored), Y has n
 * values (NULL: no response, for prediction). Columns are named x1.., z1.., y. */
int moe_dataset_from_arrays(size_t n, size_t dx, const double *x, size_t dz, const double *z,
                            const double *y, moe_dataset **out, moe_error *err);

size_t moe_dataset_nrows(const moe_dataset *d);
size_t moe_dataset_omitted(const moe_dataset *d);   /* rows dropped by MOE_NA_OMIT */
const double *moe_dataset_response(const moe_dataset *d);  /* n responses, or NULL: none */

/* Writes the data set as CSV with a header: the response (if any) last, after the union of
 * expert and gate inputs in order of first appearance. */
int moe_dataset_write_csv(const moe_dataset *d, FILE *fp, moe_error *err);

void moe_dataset_free(moe_dataset *d);

/* ---------------------------------------------------------------- models */

/* A fitted or loaded model: expert family, gate, coefficients, column names, scaling. */
typedef struct moe_model moe_model;

size_t moe_model_k(const moe_model *m);          /* number of experts */
size_t moe_model_nx(const moe_model *m);         /* expert inputs, without intercept */
size_t moe_model_nz(const moe_model *m);         /* gate inputs, without intercept */
const char *moe_model_response(const moe_model *m);          /* response column name */
const char *moe_model_input(const moe_model *m, size_t j);   /* expert input names */
const char *moe_model_gate_input(const moe_model *m, size_t j);

/* The expert family ("gaussian", "poisson", "logistic", "mlp") of M. */
const char *moe_model_family(const moe_model *m);

/* The expert families this library has: moe_family_name(j) for j = 0, 1, ... until NULL;
 * moe_family_description(name) says what one is (NULL for an unknown name). */
const char *moe_family_name(size_t j);
const char *moe_family_description(const char *name);

/* NULL when SPEC names a family, with its options where it has any: "gaussian", "poisson",
 * "logistic", or "mlp:H[:tanh|relu]" (H hidden units, 1 to 1024; tanh by default); else a
 * message saying what is wrong ("mlp: unknown activation 'sigmoid' (tanh or relu)"). Every
 * "family" field of this API takes such a spec. */
const char *moe_family_check(const char *spec);

/* NULL when family NAME (NULL: the default) can use an offset column (OFFSET nonzero) and a
 * trials column (TRIALS nonzero) as asked, else a message saying which it cannot take. */
const char *moe_family_check_columns(const char *name, int offset, int trials);

/* Family-neutral access to the parameters. A model has k + 1 parameter blocks: block
 * i < k is expert i, block k the gate. Each block has moe_model_ncoef coefficients on the
 * data's own scale: for an expert the regression coefficients first (intercept, then one per
 * input), then the family's extras (the Gaussian's "sigma"); for the softmax gate the rows
 * of experts 1..k-1 (intercept, then one per gate input; the last expert is the reference).
 * moe_model_coef_name writes a coefficient's name ("(Intercept)", an input name, "sigma",
 * "expert 1: (Intercept)") into BUF (MOE_EINVAL for a bad index). */
size_t moe_model_ncoef(const moe_model *m, size_t block);
int moe_model_coef_name(const moe_model *m, size_t block, size_t j, char *buf, size_t len);
void moe_model_coefs(const moe_model *m, size_t block, double *coef);

/* A convenience for linear experts: expert I's regression coefficients on the data's own
 * scale (COEF[0] intercept, COEF[1..nx] slopes; NaN for MLP experts, which have none) and its
 * residual standard deviation (NaN for a family without one). */
void moe_model_expert(const moe_model *m, size_t i, double *coef, double *sigma);

/* Gate coefficients of expert I < K-1 on the data's own scale (nz+1 values). */
void moe_model_gate(const moe_model *m, size_t i, double *coef);

/* The tree of a hierarchical mixture (a tree gate): its depth, 0 for a flat gate, and into
 * BRANCH (room for 6 values; may be NULL) the branches under every node of each level. */
size_t moe_model_tree(const moe_model *m, size_t *branch);
/* The inner nodes of the tree below the root, breadth-first (0 for a flat gate or a
 * one-level tree), and node J's path into BUF ("1", "2", "1.2": child numbers from the
 * root). Expert i is the leaf moe_model_leaf_name(i) ("1.2" in a 2x2 tree). */
size_t moe_model_nnodes(const moe_model *m);
int moe_model_node_name(const moe_model *m, size_t j, char *buf, size_t len);
int moe_model_leaf_name(const moe_model *m, size_t i, char *buf, size_t len);
/* The experts below inner node J: FIRST .. FIRST + COUNT - 1 (0-based). */
void moe_model_node_leaves(const moe_model *m, size_t j, size_t *first, size_t *count);

/* Saves as versioned JSON; written to a temporary name and renamed, so a failure leaves no
 * partial file. Doubles are written so that they reload bit for bit. */
int moe_model_save(const moe_model *m, const char *path, moe_error *err);
int moe_model_write(const moe_model *m, FILE *fp, moe_error *err);

/* Loads a model saved by moe_model_save (or written by hand in the same format). Every
 * field is validated: MOE_EFORMAT for truncated, corrupt or wrong-version files. */
int moe_model_load(const char *path, moe_model **out, moe_error *err);

/* Rows of D (a data set for M, data scale) with an input outside the range M was fitted on;
 * WHY (LEN bytes, may be NULL) gets the first, e.g. "row 3: times = 70 outside [2.4, 57.6]".
 * 0 when M records no ranges (a model file without "ranges"). */
size_t moe_model_outside_range(const moe_model *m, const moe_dataset *d, char *why,
                               size_t len);

moe_model *moe_model_copy(const moe_model *m);
void moe_model_free(moe_model *m);

/* Builds the data set a model predicts for from table T: the model's input columns by
 * name, and the response too when NEED_RESPONSE. */
int moe_dataset_for_model(const moe_table *t, const moe_model *m, int need_response,
                          moe_na_policy na, moe_dataset **out, moe_error *err);

/* ---------------------------------------------------------------- fitting */

typedef enum moe_criterion { MOE_CRIT_BIC = 0, MOE_CRIT_AIC, MOE_CRIT_ICL } moe_criterion;

typedef enum moe_init_method {
    MOE_INIT_KMEANS = 0,  /* k-means on standardised (x, y), then responsibilities 0/1 */
    MOE_INIT_RANDOM,      /* random responsibilities (Dirichlet rows) */
    MOE_INIT_MIXED        /* first start k-means, then in turn random slabs of the gate
                             inputs, random Voronoi cells of (x, y) and random
                             responsibilities */
} moe_init_method;

/* How a fit is trained: EM (the default) or gradient descent on a loss (moe_fit_options). */
typedef enum moe_trainer { MOE_TRAIN_EM = 0, MOE_TRAIN_GD } moe_trainer;

/* The losses of gradient descent (Jacobs, Jordan, Nowlan & Hinton 1991), per row with gate
 * probabilities g_i, expert log-densities log f_i and means mu_i:
 *  NLL          -log sum_i g_i f_i, the negative log-likelihood (their "specialisation" loss)
 *  COMPETITIVE  sum_i g_i (-log f_i): for a unit-variance Gaussian, sum_i g_i (y - mu_i)^2 / 2
 *  COOPERATIVE  (y - sum_i g_i mu_i)^2 / 2, the squared error of the blended prediction; a
 *               sigma (which this loss does not see) is fitted as under COMPETITIVE. */
/* The auxiliary load-balancing loss: Shazeer's importance + load CV^2, Switch's
 * alpha E sum f_i P_i, or none (the sparse layer's, and the topk gate's under gradient
 * descent: moe_fit_options aux). */
typedef enum moe_aux_loss { MOE_AUX_SHAZEER = 0, MOE_AUX_SWITCH, MOE_AUX_NONE } moe_aux_loss;

typedef enum moe_loss { MOE_LOSS_NLL = 0, MOE_LOSS_COMPETITIVE, MOE_LOSS_COOPERATIVE } moe_loss;

/* Optimisers of gradient descent. */
typedef enum moe_optimizer { MOE_OPTIM_ADAM = 0, MOE_OPTIM_SGD } moe_optimizer;

/* Progress of a fit, handed to the progress callback after every EM iteration or GD epoch. */
typedef struct moe_progress {
    size_t k;            /* experts in the model being fitted */
    size_t restart;      /* 0-based restart index */
    size_t restarts;     /* restarts in all for this K */
    size_t iteration;    /* iterations done in this restart */
    double loglik;       /* current observed-data log-likelihood (data scale); NaN under GD */
    double loss;         /* GD: the epoch's mean training loss per row; NaN under EM */
    int bootstrap;       /* 1: a bootstrap replicate (moe_fit_options.bootstrap) was refitted:
                            restart + 1 of restarts (= B) are done, iteration and loglik are
                            that refit's; 0: a start of the fit itself */
} moe_progress;

/* A reduction hook for fits spread over several processes ("ranks", e.g. MPI's), each holding
 * the same data set: every pass of EM over the rows is cut into its fixed row blocks
 * (moe_comm_blocks), each rank computes only the blocks it owns, and ALLGATHER fills in the
 * others' before the block partials are added in block order, so the fit equals the
 * single-process fit bit for bit. The library itself knows nothing of MPI; the caller
 * (moefit's src/cli/mpi.c) implements the callback with a collective. The same hook serves
 * any trainer whose sums are block partials (gradient descent's, when it is wired). */
typedef struct moe_comm {
    size_t rank;   /* this process, 0..size-1 */
    size_t size;   /* processes taking part, >= 1 */
    /* A collective, called by every rank in the same order: BUF holds LEN doubles, of which
     * rank r has written [OFFSETS[r], OFFSETS[r+1]) (OFFSETS has size+1 entries, OFFSETS[0]
     * = 0, OFFSETS[size] = LEN); on return every rank's segment is in BUF on every rank. It
     * may not fail (an MPI error ends the job). */
    void (*allgather)(double *buf, size_t len, const size_t *offsets, void *data);
    void *data;    /* handed to allgather */
} moe_comm;

/* The row blocks [*B0, *B1) of NBLOCKS that rank RANK of SIZE owns under moe_comm: equal
 * contiguous shares in rank order (rank r: from floor(r nblocks / size)). */
void moe_comm_blocks(size_t size, size_t rank, size_t nblocks, size_t *b0, size_t *b1);

typedef struct moe_fit_options {
    size_t k_min;              /* fewest experts tried (default 1) */
    size_t k_max;              /* most experts tried (default 5); k_min == k_max fits one K */
    moe_criterion criterion;   /* picks K when a range is fitted (default BIC) */
    moe_init_method init;      /* initialisation (default MOE_INIT_MIXED) */
    size_t restarts;           /* starts per K of the global search (default 40); each runs
                                  short_iter EM iterations, the keep best go on */
    size_t short_iter;         /* EM iterations of each start's short run (default 30); 0:
                                  every start runs to convergence (plain restarts) */
    size_t keep;               /* best short runs continued to convergence (default 8) */
    int moves;                 /* 1 (default): split-and-merge moves on the best continued run
                                  (merge two experts, split a third, keep it when the
                                  log-likelihood rises without a new spurious expert); 0: off */
    unsigned long seed;        /* random seed (default 1); the same seed gives the same fit */
    double tol;                /* stop when the relative log-likelihood change < tol (1e-8) */
    size_t max_iter;           /* iterations per start (default 1000) */
    double gate_ridge;         /* L2 penalty on the gate's slopes, standardised scale (0) */
    double min_prior;          /* drop experts whose prior falls below this (default 0) */
    double var_floor;          /* variance floor as a share of var(y) (default 1e-6) */
    int standard_errors;       /* compute standard errors (default 1) */
    int gate_lrt;              /* likelihood-ratio tests of the gate, by refits (default 1) */
    void (*progress)(const moe_progress *p, void *data);  /* NULL: no callback */
    void *progress_data;       /* handed to progress */
    const char *family;        /* expert family spec (moe_family_check): "poisson",
                                  "mlp:8"; NULL: gaussian */
    const char *tree;          /* models to fit and choose between instead of k_min..k_max:
                                  a comma list of trees B1xB2x... (a hierarchical mixture,
                                  B_l branches under every node of level l) and flat K,
                                  e.g. "2x2,3x2,4"; NULL: flat gates only */
    double min_rows;           /* an expert on fewer effective rows than min_rows per free
                                  parameter is spurious (default 5; 0: no such check) */
    int keep_spurious;         /* 1: K is picked by the criterion alone; 0 (default): a K
                                  whose fit has spurious experts is picked only when every K
                                  has them (spurious: at the variance floor or too few rows) */
    moe_trainer train;         /* MOE_TRAIN_EM (default) or MOE_TRAIN_GD */
    moe_loss loss;             /* GD: the loss minimised (default MOE_LOSS_NLL) */
    moe_optimizer optimizer;   /* GD: MOE_OPTIM_ADAM (default) or MOE_OPTIM_SGD */
    double lr;                 /* GD: peak learning rate of the cosine schedule (0.05) */
    double momentum;           /* GD: SGD's momentum in [0, 1) (0.9; Adam ignores it) */
    size_t batch;              /* GD: rows per mini-batch; 0 = full batch (default 0) */
    size_t epochs;             /* GD: passes over the training rows, at most (2000) */
    double validation;         /* GD: share of rows held out for early stopping, [0, 0.9] (0) */
    size_t patience;           /* GD: epochs without a better validation loss that stop (100) */
    double clip;               /* GD: largest gradient norm, larger ones are scaled down;
                                  0 = no clipping (default 0) */
    size_t bootstrap;          /* parametric bootstrap: B data sets drawn from the chosen
                                  model at the observed inputs, each refitted with the same K
                                  (moe_fit_boot_se); 0 (default): none. EM and flat gates only */
    int bootstrap_search;      /* 1: each replicate is refitted by the global search (restarts,
                                  short_iter, keep) plus a start from the fitted model, and
                                  keeps the best; 0 (default): EM from the fitted model */
    const char *gate;          /* flat gate: "softmax" (NULL, the default) or "topk" (the
                                  sparse top-k gate, src/gates/topk.c; gradient descent only) */
    size_t top_k;              /* topk: experts kept per row, 1 (Switch) to k_min (default 2) */
    moe_aux_loss aux;          /* topk: auxiliary load-balancing loss added to the GD loss
                                  per batch (default MOE_AUX_SWITCH) */
    double aux_weight;         /* and its weight (switch: alpha; shazeer: the importance
                                  loss's w_imp; default 0.01) */
    double load_weight;        /* topk, aux shazeer: the load loss's weight w_load (its
                                  normal-CDF load estimator; default 0.01) */
    double z_loss;             /* topk: the router z-loss's weight, w_z mean (log sum exp
                                  logits)^2 per batch (default 0: none; ST-MoE: 1e-3) */
    double capacity;           /* topk: capacity factor F: each expert takes at most
                                  ceil(F n_batch top_k / K) rows of a training batch, the later
                                  ones are dropped from it (default 0: no capacity) */
    int noise;                 /* topk: noisy logits while training, with a learned noise
                                  scale per expert (Shazeer et al.): 1 on, 0 off (clean
                                  logits), -1 (default) on for top_k >= 2 and off for the
                                  Switch form top_k = 1 (as the Switch Transformer) */
    const moe_comm *comm;      /* NULL (default): one process; else EM's passes are spread
                                  over the ranks (moe_comm), the same fit bit for bit */
    size_t gate_steps;         /* EM: the gate's Newton steps per iteration, at most; 1 is the
                                  one-step generalised EM (two passes over the rows per
                                  iteration instead of about six); 0 (default): 1 from 50000
                                  rows on, else 20 */
    size_t search_rows;        /* EM: the rows the global search runs on. 0 (default): every
                                  row below 50000 rows; from there a seeded random subsample
                                  of max(20000, 2000 K) rows, on which the starts, their short
                                  runs, the continuations and the moves run, and whose best
                                  fit is then taken to convergence on every row (the search of
                                  10^6 rows then costs about one of 20000 plus one EM run);
                                  N >= 100: a subsample of N rows whenever the data have more;
                                  MOE_SEARCH_ALL_ROWS: always every row */
    int accel;                 /* EM: SQUAREM acceleration (Varadhan & Roland 2008): after
                                  every two EM steps an extrapolated point along them, kept
                                  only where the objective did not fall, so EM stays
                                  monotone and reaches the same maximum in fewer passes where
                                  it crawls. 1: on, -1: off, 0 (default): on from 50000 rows
                                  (the search on their subsample too), else off */
} moe_fit_options;

/* moe_fit_options.search_rows: the global search runs on every row, however many. */
#define MOE_SEARCH_ALL_ROWS ((size_t)-1)

moe_fit_options moe_fit_options_default(void);

/* 1 when OPT's expert family or gate is trained by gradient descent only (mlp experts, the
 * topk gate): EM refuses it, so a front end may choose MOE_TRAIN_GD for it when the user did
 * not choose; 0 otherwise (also for an unknown family: moe_fit_options_check says why). */
int moe_fit_gd_only(const moe_fit_options *opt);

/* NULL when OPT is usable, else a readable message saying what is wrong. */
const char *moe_fit_options_check(const moe_fit_options *opt);

/* Checks that data set D has rows enough for the free parameters of every model OPT asks
 * for (OPT must pass moe_fit_options_check): MOE_SUCCESS, or MOE_EINVAL with the reason in
 * BUF (LEN bytes; e.g. "the tree 4x4 (16 leaves) needs 47 free parameters but the data
 * have only 30 rows; use a smaller tree"). */
int moe_fit_check_rows(const moe_fit_options *opt, const moe_dataset *d, char *buf,
                       size_t len);

/* The result of a fit: the chosen model and everything a summary reports. */
typedef struct moe_fit moe_fit;

/* Fits a model to D for each K in [k_min, k_max] with restarts, keeps the best of each K
 * and picks K by the criterion. Errors: MOE_EINVAL (options, or too few rows for K),
 * MOE_ENUMERIC (an internal failure such as a log-likelihood decrease beyond rounding). */
int moe_fit_run(const moe_dataset *d, const moe_fit_options *opt, moe_fit **out,
                moe_error *err);

/* How the global search of one K went (moe_fit_run's emEM: OPT.restarts short runs from
 * diverse starts, the OPT.keep best continued to convergence). */
typedef struct moe_search_report {
    size_t starts;       /* starts drawn */
    size_t rows;         /* the rows they ran on: the data's, or a random subsample's
                            (moe_fit_options.search_rows), whose best fit was then taken to
                            convergence on every row; the counts below are the subsample's
                            and its log-likelihoods are scaled to the data's rows (times the
                            ratio of the rows' weights) */
    size_t failed;       /* starts that gave no usable fit (degenerate after redraws) */
    size_t finished;     /* runs taken to convergence or to max_iter: the continued ones and
                            those that converged within their short run */
    size_t reached;      /* finished runs within same_tol of the best log-likelihood */
    double same_tol;     /* that tolerance, log-likelihood units: 1e-3 + 1e-6 |best| */
    double others_lo;    /* lowest and highest log-likelihood of the finished runs that */
    double others_hi;    /*   stopped below the best; NaN when none did */
    size_t moves;        /* split-and-merge moves accepted on the best run (options.moves):
                            the best value is then that run's after its moves */
    size_t set_aside;    /* finished runs higher than the best but with spurious experts (an
                            expert at the variance floor or below options.min_rows): the best
                            is the highest run without any, while one exists */
} moe_search_report;

typedef struct moe_fit_stats {
    size_t k;            /* experts in the chosen model */
    size_t n;            /* rows used */
    size_t df;           /* free parameters */
    size_t iterations;   /* EM iterations (GD: epochs) of the best start */
    int converged;       /* 1 when the best start met the tolerance at a finite maximum */
    int separated;       /* 1 when EM stopped because the gate separates the regimes (the
                            likelihood still rises along the gate direction: the MLE is
                            infinite); converged is then 0 */
    double loglik;       /* observed-data log-likelihood */
    double aic;          /* -2 loglik + 2 df */
    double bic;          /* -2 loglik + df log n */
    double icl;          /* bic + 2 * posterior entropy */
    char tree[32];       /* the tree gate's branching ("2x2"), "" for a flat gate */
    size_t spurious;     /* experts at the variance floor or below min_rows (see options) */
    moe_search_report search;  /* how many starts reached this log-likelihood */
} moe_fit_stats;

moe_fit_stats moe_fit_get_stats(const moe_fit *f);
const moe_model *moe_fit_model(const moe_fit *f);

/* Block B's coefficients (moe_model_coefs) and their standard errors (moe_model_ncoef
 * values each; either may be NULL; SEs are NaN when not computed or not identified). */
void moe_fit_coefs(const moe_fit *f, size_t block, double *coef, double *se);

/* Expert I: coefficients and their standard errors (each nx+1 values; SE may be NULL; SEs
 * are NaN when not computed or not identified), sigma (maximum-likelihood residual SD),
 * prior share (mean gate probability) and hard-assigned size. */
/* The routing of a top-k gate's fit on its rows (moe_fit_options gate "topk"), at the
 * fitted gate's clean logits: for expert I, the rows that keep it (*ROWS), its share of the
 * importance (the summed gate weights, *IMPORTANCE) and of the load (*LOAD = rows / (top_k
 * n)), and the rows the capacity would drop from it (*DROPPED: batches of the fit's batch
 * size in row order, 0 without a capacity); any may be NULL. MOE_EINVAL for another gate or
 * a fit from a saved model. */
int moe_fit_routing(const moe_fit *f, size_t i, size_t *rows, double *importance,
                    double *load, size_t *dropped);
/* The CV^2 (population variance over the experts / mean^2) of the importance and of the
 * load of a top-k fit; MOE_EINVAL as moe_fit_routing. */
int moe_fit_routing_cv2(const moe_fit *f, double *importance, double *load);

void moe_fit_expert(const moe_fit *f, size_t i, double *coef, double *se, double *sigma,
                    double *prior, size_t *size);

/* The standard error of expert I's sigma (delta method from the observed information of
 * log sigma); NaN when standard errors were not computed or are not identified. */
double moe_fit_sigma_se(const moe_fit *f, size_t i);

/* Gate of expert I < K-1: coefficients and standard errors (nz+1 values each). */
void moe_fit_gate(const moe_fit *f, size_t i, double *coef, double *se);

/* The parametric bootstrap (moe_fit_options.bootstrap = B): replicate b draws new responses
 * from the chosen model at the observed inputs (moe_simulate_at, with the offset, trials and
 * weights kept) from a random stream seeded by (seed, b), refits the same K from the fitted
 * model (or by the search, bootstrap_search), matches its experts to the fit's (the
 * permutation minimising the squared distance between the experts' parameters on the
 * standardised scale: every permutation for K <= 8, greedy pairing above) and records every
 * reported coefficient (moe_model_coefs). Replicates run in parallel (OpenMP) and are combined
 * in the order of b, so the result is the same for any number of threads. */
typedef struct moe_bootstrap_report {
    size_t replicates;     /* B (0: no bootstrap was run) */
    size_t used;           /* refits in the experts' bootstrap SEs */
    size_t used_gate;      /* refits in the gate's: used less the separated ones */
    size_t failed;         /* refits that failed (a degenerate expert, a numerical failure):
                              counted here and left out, never silently */
    size_t not_converged;  /* used refits that stopped at max_iter */
    size_t separated;      /* used refits whose gate separated the regimes (infinite gate
                              coefficients: their experts are used, their gate is not) */
    size_t relabelled;     /* used refits whose experts came back in another order */
    int search;            /* 1: refitted by the global search (bootstrap_search) */
} moe_bootstrap_report;

moe_bootstrap_report moe_fit_bootstrap(const moe_fit *f);

/* Block B's bootstrap standard errors (moe_model_ncoef values, as moe_fit_coefs): the
 * standard deviation (divisor used - 1) of the coefficient over the used refits; NaN without
 * a bootstrap or with fewer than 2 usable refits. */
void moe_fit_boot_se(const moe_fit *f, size_t block, double *se);

/* Likelihood-ratio tests of the gate of the chosen K (moe_fit_options.gate_lrt): test 0 the
 * gate against a constant gate, then (2 to 4 gate inputs) one per input left out. Each reduced
 * model is refitted by the same search (a chosen tree: the same tree with the inputs left out
 * at every node). moe_fit_gate_lrt gives test J's statistic
 * 2 (L - L_reduced), its degrees of freedom (K - 1 per input left out) and chi-square p-value;
 * MOE_EINVAL when there is no test J (K = 1, no gate inputs, or not asked).
 * moe_fit_gate_lrt_dropped: the 0-based gate input test J leaves out, -1 for all.
 * moe_fit_gate_lrt_reduced: the reduced model's best log-likelihood (NaN: no test J, or its
 * fit failed). Where it is above the full model's, the full search missed that model's best
 * (the reduced model is nested in it): the statistic is then reported as 0, and the caller
 * should say that the fit shown is not the model's maximum (the summary does). */
size_t moe_fit_ngate_lrt(const moe_fit *f);
int moe_fit_gate_lrt(const moe_fit *f, size_t j, double *statistic, size_t *df, double *p);
long moe_fit_gate_lrt_dropped(const moe_fit *f, size_t j);
double moe_fit_gate_lrt_reduced(const moe_fit *f, size_t j);

/* The upper tail P(X > x) of a chi-square with DF degrees of freedom (for likelihood-ratio
 * tests of saved models, `moefit lrtest`); NaN for DF <= 0. */
double moe_chisq_upper(double x, double df);

/* The model-selection table: one row per K fitted. */
size_t moe_fit_nselection(const moe_fit *f);
moe_fit_stats moe_fit_selection(const moe_fit *f, size_t j);

/* Log-likelihood traces of every start of the chosen K: trace R has *LEN values. */
size_t moe_fit_ntraces(const moe_fit *f);
const double *moe_fit_trace(const moe_fit *f, size_t r, size_t *len);
size_t moe_fit_best_trace(const moe_fit *f);

/* GD fits: the loss of the kept start per row, on the training rows and on the held-out
 * validation rows (NaN without --validation), and its validation-loss trace (one value per
 * epoch, *LEN values; NULL without validation). Under GD the traces of moe_fit_trace are the
 * training loss per epoch, not log-likelihoods. moe_fit_trainer says which trainer ran. */
moe_trainer moe_fit_trainer(const moe_fit *f);
moe_loss moe_fit_loss(const moe_fit *f);
double moe_fit_train_loss(const moe_fit *f);
double moe_fit_validation_loss(const moe_fit *f);
const double *moe_fit_validation_trace(const moe_fit *f, size_t *len);

/* The name of a loss ("nll", "competitive", "cooperative"), or NULL for a bad value. */
const char *moe_loss_name(moe_loss loss);

/* Warnings met on the way (ridge fallbacks, dropped experts, restarts, separation). */
size_t moe_fit_nwarnings(const moe_fit *f);
const char *moe_fit_warning(const moe_fit *f, size_t i);

/* Writes an R-style text summary, or the result as JSON, to FP. */
int moe_fit_write_summary(const moe_fit *f, FILE *fp, moe_error *err);
int moe_fit_write_json(const moe_fit *f, FILE *fp, moe_error *err);

/* The summary of a saved model without refitting: moe_fit_write_summary's coefficient
 * tables, log-likelihood and criteria from the record a fit leaves in its model (and in the
 * model file since issue 13). A model without that record (an older file, one written by
 * hand) prints its estimates with NA for the standard errors, z, p and the log-likelihood;
 * iterations, model selection and warnings are never recorded and are not shown. */
int moe_model_write_summary(const moe_model *m, FILE *fp, moe_error *err);

void moe_fit_free(moe_fit *f);

/* ---------------------------------------------------------------- prediction */

typedef struct moe_prediction {
    size_t n;            /* rows */
    size_t k;            /* experts */
    double *mean;        /* n: mixture mean sum_i g_i mu_i */
    double *expert_mean; /* n x k: each expert's mean of y, mu_i */
    double *sd;          /* n: predictive standard deviation of the mixture */
    double *gate;        /* n x k: gate probabilities */
    size_t *expert;      /* n: most probable expert by the gate (0-based) */
    double *posterior;   /* n x k: posterior responsibilities, or NULL without y */
    size_t nodes;        /* inner nodes of a tree gate below the root (moe_model_nnodes), 0
                            for a flat gate */
    double *node;        /* n x nodes: the gate probability of reaching each of them (the sum
                            over the leaves below it), or NULL for a flat gate */
    double *node_posterior;  /* n x nodes: its posterior probability, or NULL */
} moe_prediction;

/* Predicts for the rows of D; POSTERIOR asks for responsibilities (D must have y). */
int moe_predict(const moe_model *m, const moe_dataset *d, int posterior,
                moe_prediction **out, moe_error *err);
void moe_prediction_free(moe_prediction *p);

/* The observed-data log-likelihood of M on D (data scale; D must have the response and M's
 * inputs, as moe_dataset_for_model builds it): MOE_SUCCESS, MOE_EINVAL, MOE_EBADLEN,
 * MOE_ENOMEM or MOE_ENUMERIC (not finite: a response the model gives no density). */
int moe_model_loglik(const moe_model *m, const moe_dataset *d, double *loglik, moe_error *err);

/* ---------------------------------------------------------------- simulation */

typedef struct moe_sim_options {
    size_t k;            /* experts (default 3) */
    size_t nx;           /* inputs (default 1) */
    double separation;   /* distance between neighbouring regimes' lines, in noise SDs (4) */
    double noise;        /* residual SD of every expert (default 1) */
    unsigned long seed;  /* random seed (default 1) */
    const char *family;  /* expert family (NULL: gaussian); for poisson and logistic the lines
                            are linear predictors (log rate, logit) and noise is ignored */
    const char *tree;    /* NULL, or a tree "B1xB2x..." (k is then the product): a tree gate
                            whose every node splits its share of x1 into equal parts, so the
                            leaves take the regimes in order, as the flat gate's do */
} moe_sim_options;

moe_sim_options moe_sim_options_default(void);

/* Draws a random well-separated model with the shape given by OPT. */
int moe_simulate_model(const moe_sim_options *opt, moe_model **out, moe_error *err);

/* Draws N rows from M: inputs uniform over the model's input ranges, regime from the gate,
 * y from that expert. REGIME (n values, may be NULL) receives each row's true expert. */
int moe_simulate(const moe_model *m, size_t n, unsigned long seed, moe_dataset **out,
                 size_t *regime, moe_error *err);

/* Draws a new response for every row of INPUTS from M, keeping the rows' inputs (and their
 * offset and trials) as they are: the regime from the gate, y from that expert. INPUTS is a
 * data set built for M (moe_dataset_for_model); its response, if any, is ignored. The
 * parametric bootstrap with the observed inputs held fixed. REGIME (n values, may be NULL)
 * receives each row's expert. MOE_EBADLEN when the columns do not match M's. */
int moe_simulate_at(const moe_model *m, const moe_dataset *inputs, unsigned long seed,
                    moe_dataset **out, size_t *regime, moe_error *err);

/* ---------------------------------------------------------------- plots */

typedef enum moe_plot_format { MOE_PLOT_PNG = 0, MOE_PLOT_SVG, MOE_PLOT_PDF } moe_plot_format;

typedef struct moe_plot_options {
    const char *dir;          /* output folder, created if missing (required) */
    moe_plot_format format;   /* picture format (default PNG, pngcairo) */
    const char *along;        /* input column the curves are drawn along; NULL: the first */
    const char *templates;    /* folder of the .gp templates; NULL: the installed plots/ */
    const char *gnuplot;      /* gnuplot program; NULL: "gnuplot" on PATH */
    unsigned width, height;   /* picture size in pixels (default 1280 x 800) */
} moe_plot_options;

moe_plot_options moe_plot_options_default(void);

/* Draws the gating, regimes, responsibility (needs y in D) plots of M on D, the gate map (the
 * gate's most probable expert over two gate inputs; only when M has K >= 2 and two or more
 * gate inputs) and, when F is not NULL, the convergence and model-selection plots of that fit.
 * Writes NAME.dat data files and NAME.gp programs beside each picture so a figure can be
 * restyled by hand.
 * MOE_EUNAVAIL when gnuplot cannot be run; gnuplot's own message when it fails. */
int moe_plot_write(const moe_model *m, const moe_fit *f, const moe_dataset *d,
                   const moe_plot_options *opt, moe_error *err);

/* The comparison figure of N models of the same data D (`moefit compare-losses --plot`): each
 * model's own figures (as moe_plot_write without a fit) in the subfolder LABELS[j] of
 * OPT->dir, and compare.png (.svg, .pdf) with compare.gp: the gating plots in a top row and
 * the regimes plots in a bottom row, one column per model, titled by its label. Errors as
 * moe_plot_write. */
int moe_plot_compare(const moe_model *const *models, const char *const *labels, size_t n,
                     const moe_dataset *d, const moe_plot_options *opt, moe_error *err);

/* Checks, without writing anything, what moe_plot_write will need of OPT: that gnuplot can be
 * run (MOE_EUNAVAIL) and that OPT->dir, when it exists, is a folder we may write in
 * (MOE_EWRITE). Call it before a long fit so that a plotting mistake fails at once. */
int moe_plot_check(const moe_plot_options *opt, moe_error *err);

/* Checks, before a fit, that OPT->along (when set) names an expert or gate input of the data
 * set D that will be fitted (MOE_EINVAL with the inputs listed, else MOE_SUCCESS). */
int moe_plot_check_data(const moe_plot_options *opt, const moe_dataset *d, moe_error *err);

/* ---------------------------------------------------------------- the sparse layer */

/* A float32 sparse mixture-of-experts layer for C programs (Shazeer et al. 2017; Switch,
 * Fedus et al. 2021): a router sends each of T tokens (rows of d floats) to its top_k of E
 * experts, each a d -> hidden -> d MLP, and returns the gate-weighted sum of their outputs.
 * The formulas, the auxiliary losses and the capacity rule are at the top of
 * src/sparse/layer_impl.h (and DESIGN.md section 1). Workspaces are allocated once by
 * moe_sparse_alloc; forward and backward allocate nothing. */
typedef struct moe_sparse_layer moe_sparse_layer;

#define MOE_SPARSE_MAX_EXPERTS 256   /* the most experts a layer may have */
#define MOE_SPARSE_NOISE_FLOOR 1e-2  /* added to softplus(x W_noise), so Phi never sees 0 */

typedef enum moe_sparse_activation { MOE_SPARSE_RELU = 0, MOE_SPARSE_GELU } moe_sparse_activation;

/* Who computes the expert GEMMs: AUTO (the kernels table's sgemm where it beats OpenBLAS's,
 * the AVX-512 set today, else OpenBLAS's; bench/README.md), the kernels table, or OpenBLAS. */
typedef enum moe_sparse_gemm {
    MOE_SPARSE_GEMM_AUTO = 0, MOE_SPARSE_GEMM_KERNELS, MOE_SPARSE_GEMM_BLAS
} moe_sparse_gemm;

typedef struct moe_sparse_config {
    size_t d;                /* token width, in and out (default 16) */
    size_t hidden;           /* hidden units of every expert (default 32) */
    size_t experts;          /* E, 1 .. MOE_SPARSE_MAX_EXPERTS (default 8) */
    size_t top_k;            /* experts per token, 1 .. E (default 2) */
    size_t max_tokens;       /* the most tokens one call takes; sizes the workspaces (1024) */
    moe_sparse_activation activation;  /* of the hidden layer (default MOE_SPARSE_RELU) */
    int noisy;               /* 1 (default): learned noise on the router logits in training */
    moe_aux_loss aux;        /* default MOE_AUX_SHAZEER */
    double w_importance;     /* Shazeer's importance weight (0.1) */
    double w_load;           /* Shazeer's load weight (0.1; noisy training only) */
    double w_switch;         /* Switch's alpha (0.01) */
    double w_z;              /* router z-loss weight (default 0: off) */
    double capacity_factor;  /* 0 (default): no capacity; else each expert takes at most
                                ceil(capacity_factor T top_k / E) assignments a call */
    unsigned long seed;      /* the experts' initial weights and the router noise (1) */
    moe_sparse_gemm gemm;    /* default MOE_SPARSE_GEMM_AUTO */
} moe_sparse_config;

/* What the last forward call saw. */
typedef struct moe_sparse_stats {
    double aux_loss;         /* the auxiliary losses' value (backward adds their gradient) */
    double importance_cv2;   /* CV^2 of Importance_i = sum_x G(x)_i (population variance) */
    double load_cv2;         /* CV^2 of the load: the smooth estimator in noisy training,
                                else the rows routed to each expert */
    size_t dropped;          /* assignments over capacity, dropped */
} moe_sparse_stats;

moe_sparse_config moe_sparse_config_default(void);

/* NULL when C is usable, else a message saying what is wrong. */
const char *moe_sparse_config_check(const moe_sparse_config *c);

/* Allocates a layer and its workspaces for C->max_tokens tokens; the router weights start at
 * 0 and the experts' uniformly in +-1/sqrt(fan-in) from C->seed. MOE_EINVAL (a bad
 * config: the message says what) or MOE_ENOMEM. */
int moe_sparse_alloc(const moe_sparse_config *c, moe_sparse_layer **out, moe_error *err);
void moe_sparse_free(moe_sparse_layer *l);

/* The parameters (moe_sparse_nparams floats, to read or set): W_g (d x E, row-major), W_noise
 * (d x E), then for each expert W1 (d x hidden), b1 (hidden), W2 (hidden x d), b2 (d). The
 * gradients of the last backward call, in the same layout. */
size_t moe_sparse_nparams(const moe_sparse_layer *l);
float *moe_sparse_params(moe_sparse_layer *l);
const float *moe_sparse_grads(const moe_sparse_layer *l);

/* Y (T x d) = the layer applied to X (T x d). TRAINING turns the router noise on (drawn from
 * (seed, STEP, token, expert), so a repeated call draws the same noise) and the load
 * estimator; X must stay unchanged until backward. STATS (may be NULL) gets the auxiliary
 * losses and the dropped count. MOE_EBADLEN for T > max_tokens. */
int moe_sparse_forward(moe_sparse_layer *l, const float *x, size_t tokens, int training,
                       unsigned long step, float *y, moe_sparse_stats *stats, moe_error *err);

/* From DY = dLoss/dY (T x d) of the last forward call: DX = dLoss/dX (T x d) and, in
 * moe_sparse_grads, the gradient of Loss + aux_loss with respect to every parameter
 * (overwritten, not accumulated). */
int moe_sparse_backward(moe_sparse_layer *l, const float *dy, float *dx, moe_error *err);

/* Who computes L's GEMMs: "blas" (OpenBLAS) or the kernel set's name ("avx512", "ref"). */
const char *moe_sparse_gemm_name(const moe_sparse_layer *l);

/* The rows routed to expert E by the last forward call (before capacity) and how many of
 * them were dropped (DROPPED may be NULL); 0 for a bad E. */
size_t moe_sparse_expert_rows(const moe_sparse_layer *l, size_t e, size_t *dropped);

#ifdef __cplusplus
}
#endif

#endif /* MOE_H */
