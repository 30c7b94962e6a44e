/* model.h: the internal layout of moe_model.
 *
 * The model lives on a standardised scale: every input column is centred and divided by
 * its standard deviation, and so is the response when the expert family scales it (a
 * Gaussian response; counts and 0/1 outcomes are used as they are: centre 0, scale 1). The
 * parameters are on that scale; the families' report functions and the summaries convert
 * them to the data's own scale (src/model/scaling.c). Predictions apply the stored scaling,
 * so a saved model predicts exactly as the fitted one did.
 *
 * The parameters are owned by the types: one block of ep doubles per expert, laid out by the
 * expert family, and one block of gp doubles for the gate, laid out by the gate
 * (src/experts/expert.h, src/gates/gate.h). Nothing outside those files reads inside a
 * block; everyone else goes through the type tables. */
#ifndef MOE_MODEL_MODEL_H
#define MOE_MODEL_MODEL_H

#include "moe.h"

/* Largest number of experts the library accepts (per-row temporaries live on the stack). */
#define MOE_K_MAX 64
/* Deepest tree a tree gate may have (levels of gates above the leaves). */
#define MOE_TREE_DEPTH_MAX 6

/* What a gate's layout depends on: K, the gate inputs, and for a tree gate its branching
 * (depth levels, branch[l] children under every node of level l, K = the product). A flat
 * gate has depth 0 and ignores branch. moe_model_gate_shape builds it from a model. */
typedef struct moe_gate_shape {
    size_t k;                          /* experts (the tree's leaves) */
    size_t nz;                         /* gate inputs, without intercept */
    size_t depth;                      /* levels of a tree gate; 0: no tree */
    size_t branch[MOE_TREE_DEPTH_MAX]; /* children of every node of each level */
    size_t top_k;                      /* experts a top-k gate keeps per row (0: other gates) */
    /* A top-k gate's training context, which gradient descent sets for each step; zero
     * everywhere else (moe_model_gate_shape): clean logits and no capacity at predict, in the
     * summary and in the final log-likelihood. */
    int noisy;                         /* 1: noisy logits (src/gates/topk.c) */
    unsigned long noise_seed;          /* the start's noise stream */
    size_t noise_step;                 /* the step of gradient descent */
    size_t row0;                       /* the batch row of a slot's row 0 */
    const unsigned char *drop;         /* batch rows x K (row r at r K): 1 where the capacity
                                          dropped row r from expert i; NULL: none dropped */
} moe_gate_shape;

/* Most hidden units an MLP expert may have. */
#define MOE_HIDDEN_MAX 1024

/* The activation of an MLP expert's hidden units. */
typedef enum moe_activation { MOE_ACT_TANH = 0, MOE_ACT_RELU } moe_activation;

/* What an expert block's layout depends on: the expert inputs and, for an MLP expert, its one
 * hidden layer (hidden units and their activation; the linear families ignore both, and
 * their models carry hidden 0). moe_model_expert_shape builds it from a model. */
typedef struct moe_expert_shape {
    size_t nx;                  /* expert inputs, without intercept */
    size_t hidden;              /* hidden units of an MLP expert (0: none) */
    moe_activation activation;  /* their activation */
} moe_expert_shape;

struct moe_expert_type;
struct moe_gate_type;

struct moe_model {
    const struct moe_expert_type *expert;  /* expert family */
    const struct moe_gate_type *gate;      /* gate */
    size_t k;              /* experts */
    size_t nx, nz;         /* expert and gate inputs, without intercept */
    size_t hidden;         /* the experts' hidden units (an MLP family; 0: none) */
    moe_activation activation;  /* and their activation (moe_model_expert_shape) */
    char *y_name;          /* response name */
    char **x_names;        /* nx names */
    char **z_names;        /* nz names */
    char *offset_name;     /* column of the linear predictor's offset, or NULL */
    char *trials_name;     /* column of the binomial trials, or NULL */
    double y_center;       /* response = y_center + y_scale * standardised response */
    double y_scale;
    double *x_center;      /* nx: input j = x_center[j] + x_scale[j] * standardised */
    double *x_scale;
    double *z_center;      /* nz, likewise for the gate inputs */
    double *z_scale;
    size_t ep;             /* doubles per expert block */
    double *expert_par;    /* k x ep: the expert blocks, standardised scale */
    size_t gp;             /* doubles of the gate block */
    double *gate_par;      /* the gate block, standardised scale */
    size_t tree_depth;     /* levels of the tree gate, 0 for a flat gate */
    size_t tree[MOE_TREE_DEPTH_MAX];  /* the tree's branching per level (model file "tree") */
    size_t top_k;          /* experts the top-k gate keeps per row (model file "top_k"; 0:
                              another gate) */
    int has_ranges;        /* 1: the ranges below are those of the data fitted */
    size_t n_fit;          /* rows fitted (with has_ranges) */
    double *x_range;       /* 2 nx: min and max of expert input j at [2j], [2j+1] */
    double *z_range;       /* 2 nz: likewise for the gate inputs */
    int has_record;        /* 1: the record below is that of the fit (src/model/record.c) */
    double rec_loglik;     /* its log-likelihood, AIC, BIC and ICL (data scale; NaN: none) */
    double rec_aic, rec_bic, rec_icl;
    double *rec_prior;     /* k: mean gate probability of each expert */
    double *rec_size;      /* k: rows hard-assigned to each expert (whole numbers) */
    double *rec_se;        /* moe_model_record_len values: the SE of every reported
                              coefficient (moe_model_coefs), block after block, NaN: none */
    int rec_separated;     /* 1: the fit's gate separated the regimes */
    char **rec_warnings;   /* rec_nwarnings warnings of the fit (owned) */
    size_t rec_nwarnings;
};

/* One named field of a parameter block in the model file (src/model/json.c). */
typedef struct moe_param_field {
    const char *name;  /* JSON key, e.g. "beta" */
    size_t offset;     /* first double of the field in the block */
    size_t rows;       /* 0: one vector or scalar; else an array of ROWS vectors */
    size_t len;        /* numbers per vector */
    int scalar;        /* 1: written as a bare number (rows 0, len 1) */
    int positive;      /* 1: every number must be > 0 */
} moe_param_field;

#define MOE_PARAM_FIELDS_MAX 4

/* Allocates a model of the given types (NULL: the default family and gate, the first of
 * each list), K experts of shape ES (its nx the expert inputs) and NZ gate inputs, neutral
 * parameters, unit scaling (centre 0, scale 1) and NULL names. NULL when out of memory. */
moe_model *moe_model_alloc_typed(const struct moe_expert_type *et,
                                 const struct moe_gate_type *gt, size_t k,
                                 const moe_expert_shape *es, size_t nz);
/* The same with the default family and gate. */
moe_model *moe_model_alloc(size_t k, size_t nx, size_t nz);

/* Gives M the tree shape DEPTH x BRANCH (the product must be M's K; depth 0: flat) and a
 * neutral gate block of the new size. MOE_EINVAL for a shape that does not fit, MOE_ENOMEM. */
int moe_model_set_tree(moe_model *m, size_t depth, const size_t *branch);

/* M's gate shape (K, nz and the tree). */
moe_gate_shape moe_model_gate_shape(const moe_model *m);
/* M's expert shape (nx, hidden units, activation). */
moe_expert_shape moe_model_expert_shape(const moe_model *m);
/* The regression coefficients that lead an expert block's reported coefficients: nx + 1, or
 * 0 for an opaque family (an MLP reports its extras only). */
size_t moe_model_nregression(const moe_model *m);

/* Expert I's block, and the gate's. */
double *moe_model_expert_block(moe_model *m, size_t i);
const double *moe_model_expert_block_const(const moe_model *m, size_t i);

/* Resets every block to the types' neutral parameters. */
void moe_model_reset_params(moe_model *m);

/* Copies the names of D into M (MOE_ENOMEM on failure). */
int moe_model_set_names(moe_model *m, const moe_dataset *d);

/* Copies SRC's scaling (centres and scales) into DST of the same shape. */
void moe_model_copy_scaling(moe_model *dst, const moe_model *src);

/* Returns a new data set: D standardised with M's scaling (y too when D has it). */
moe_dataset *moe_model_standardise(const moe_model *m, const moe_dataset *d);

/* Sets M's scaling from D: centres are column means, scales column SDs (1 for a constant
 * column, so that it stays finite); the response only when M's family scales it. */
void moe_model_scaling_from_data(moe_model *m, const moe_dataset *d);

/* Records in M the rows of D (data scale) and the range of each input: what predictions
 * compare new inputs with (moe_model_outside_range); has_ranges becomes 1. */
void moe_model_ranges_from_data(moe_model *m, const moe_dataset *d);

/* The fit's record (src/model/record.c): what a summary of the fit shows besides the
 * parameters (criteria, shares, SEs, separation, warnings), kept with the model so that a model file can be summarised again. _len is
 * the number of SEs (the sum of moe_model_ncoef over the K + 1 blocks); _set copies LOGLIK,
 * AIC, BIC, ICL, PRIOR and SIZE (K each) and the SEs of every block (BLOCK_SE[b] holds
 * moe_model_ncoef(M, b) values) into M (MOE_ENOMEM); _clear drops it; _copy copies SRC's
 * record into DST of the same shape (MOE_ENOMEM). */
size_t moe_model_record_len(const moe_model *m);
int moe_model_record_set(moe_model *m, double loglik, double aic, double bic, double icl,
                         const double *prior, const size_t *size, double *const *block_se);
/* Sets the record's separation flag and copies its NW warnings W (MOE_ENOMEM). */
int moe_model_record_notes(moe_model *m, int separated, char *const *w, size_t nw);
int moe_model_record_alloc(moe_model *m);
void moe_model_record_clear(moe_model *m);
int moe_model_record_copy(moe_model *dst, const moe_model *src);

/* Linear maps from standardised coefficients to the data's scale: a linear predictor on the
 * expert inputs (nx+1 values; WITH_RESPONSE: a predictor of the standardised response, so
 * the response's centre and scale apply too) and a gate row (nz+1 values). OUT may not alias
 * IN. */
void moe_model_unscale_expert(const moe_model *m, const double *in, int with_response,
                              double *out);
void moe_model_unscale_gate(const moe_model *m, const double *in, double *out);

/* A node of a tree gate's shape (src/model/tree.c explains the numbering). */
typedef struct moe_tree_node {
    size_t level;     /* 0: the root */
    size_t index;     /* its place among the nodes of its level */
    size_t children;  /* its branches (the last one is the reference) */
    size_t row;       /* its first of children - 1 rows of nz + 1 coefficients in theta */
    size_t leaf0;     /* the experts below it: leaf0 .. leaf0 + leaves - 1 */
    size_t leaves;
} moe_tree_node;

/* The levels of S's tree and their branching into BRANCH (MOE_TREE_DEPTH_MAX values); a
 * flat shape is the one-level tree [K] (no level at all when K = 1). */
size_t moe_tree_levels(const moe_gate_shape *s, size_t *branch);
/* The internal nodes (gates) of S's tree, and node T of them in breadth-first order. */
size_t moe_tree_count(const moe_gate_shape *s);
void moe_tree_node_get(const moe_gate_shape *s, size_t t, moe_tree_node *node);
/* The path of node INDEX of level LEVEL into BUF: "root", "2", "1.2" (1-based child
 * numbers from the root; level = depth gives a leaf's path). */
void moe_tree_path(const moe_gate_shape *s, size_t level, size_t index, char *buf, size_t len);
/* Parses [P, END), "4" (a flat K) or "2x3x2" (a tree), into S (nz 0): NULL, or what is
 * wrong, as "tree: ..." (e.g. "tree: every node needs at least 2 branches (0 given)"). */
const char *moe_tree_parse(const char *p, const char *end, moe_gate_shape *s);
/* "2x2" for a tree shape into BUF (returns 1), "" for a flat one (returns 0). */
int moe_tree_format(const moe_gate_shape *s, char *buf, size_t len);

/* The flat free-parameter vector theta of M: every expert's theta (the family's
 * parametrisation, e.g. beta then log sigma) in expert order, then the gate's.
 * moe_model_nparams gives its length (the model's df); _get copies M's parameters into
 * THETA, _set the other way. */
size_t moe_model_nparams(const moe_model *m);
size_t moe_model_expert_nparams(const moe_model *m);  /* free parameters of one expert */
void moe_model_get_theta(const moe_model *m, double *theta);
void moe_model_set_theta(moe_model *m, const double *theta);

/* The number of free parameters of a K-expert model with these types and shapes (the df). */
size_t moe_model_df(const struct moe_expert_type *et, const struct moe_gate_type *gt, size_t k,
                    const moe_expert_shape *es, size_t nz);
/* The same for a gate of shape S (K = S->k). */
size_t moe_model_df_shaped(const struct moe_expert_type *et, const struct moe_gate_type *gt,
                           const moe_expert_shape *es, const moe_gate_shape *s);

#endif
