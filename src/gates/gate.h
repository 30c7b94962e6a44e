/* gate.h: the interface every gate implements (a type table). The softmax gate is the first,
 * the tree of softmax gates (hierarchical mixtures of experts, src/gates/tree.c) the second,
 * the sparse top-k gate (src/gates/topk.c, trained by gradient descent only) the third.
 *
 * A gate owns its parameters: the model keeps one block of block_size(shape) doubles whose
 * layout only the gate's file knows. All functions work on the standardised scale. The
 * gate's M-step maximises the soft-target objective Q(theta) = sum_n sum_i h_ni log g_i(z_n)
 * over the free coefficients theta (nparams values). The targets H carry the observation
 * weights, so a row's targets sum to its weight w_n (1 without weights), not to 1. The
 * trainer's shared weighted-Newton driver (src/train/newton.c) runs the iterations from the
 * block sums of stat_add; the gate only supplies the row kernels. */
#ifndef MOE_GATES_GATE_H
#define MOE_GATES_GATE_H

#include "data/dataset.h"
#include "model/model.h"

/* The weights of a gate's batch-level losses (aux_rows; DESIGN.md section 1). */
typedef struct moe_gate_losses {
    moe_aux_loss aux;    /* load balancing: switch, shazeer or none */
    double aux_weight;   /* switch: alpha; shazeer: w_imp, the importance loss's weight */
    double load_weight;  /* shazeer: w_load, the load loss's weight */
    double z_weight;     /* the router z-loss's weight w_z (0: none) */
} moe_gate_losses;

typedef struct moe_gate_type {
    const char *name;                        /* as in model files */
    /* Every slot gets the gate's shape S: K, nz and, for a tree gate, its branching. */
    size_t (*block_size)(const moe_gate_shape *s);
    size_t (*nparams)(const moe_gate_shape *s);  /* free parameters of the gate */
    /* log g_i(z_n) for rows [R0, R1) of D at block PAR into LOGG ((R1 - R0) x k). */
    void (*log_prob_rows)(const moe_dataset *d, const moe_gate_shape *s, const double *par,
                          size_t r0, size_t r1, double *logg);
    /* Doubles of the statistics stat_add accumulates (1 for a gate without stat_add). */
    size_t (*stat_size)(const moe_gate_shape *s);
    /* Adds rows [R0, R1) to STATS at the gate coefficients THETA (nparams values): stats[0]
     * += Q; when DERIV, also the gradient of Q and the pieces of its negative Hessian. NULL
     * for a gate that EM cannot train (top-k: KeepTopK is not smooth); EM's M-step before
     * gradient descent then leaves the gate block as it is (neutral: W_g = 0), and
     * derivatives is NULL too. */
    void (*stat_add)(const moe_dataset *d, const moe_gate_shape *s, const double *theta,
                     const double *h, size_t r0, size_t r1, int deriv, double *stats);
    /* log g_i(z_n) into LOGG and g_i(z_n) into G ((R1 - R0) x k each) for rows [R0, R1) of
     * D at block PAR, in one pass: the exponentials of the log-sum-exp give G, so a row
     * costs what log_prob_rows costs. LOGG equals log_prob_rows' bit for bit; G is within
     * the kernel set's exp tolerance of exp(LOGG). What the losses of src/train/loss.c
     * compute once per row and hand to grad_rows. NULL for a gate that gradient descent
     * does not train. */
    void (*prob_rows)(const moe_dataset *d, const moe_gate_shape *s, const double *par,
                      size_t r0, size_t r1, double *logg, double *g);
    /* Adds to GRAD (nparams values) the gradient at THETA of sum_{n in [R0,R1)} sum_i c_ni
     * log g_i(z_n; theta) for any weights C (n x K, any sign, rows need not sum to 1): the
     * gradient of every loss of src/train/loss.c is of this form, c_ni = -g_ni dE/dg_ni.
     * G (n x K, like C: row n at G + n k) holds the probabilities prob_rows gave at THETA
     * for these rows, so the slot computes no logit or exponential. NULL with prob_rows. */
    void (*grad_rows)(const moe_dataset *d, const moe_gate_shape *s, const double *theta,
                      const double *g, const double *c, size_t r0, size_t r1, double *grad);
    /* The batch-level auxiliary losses L (load balancing, router z-loss) over rows [R0, R1)
     * of D, one batch of gradient descent, at THETA: returns their sum and, when GRAD is not
     * NULL, adds its gradient (nparams values). Not a per-row sum (CV^2 of the batch's
     * importance and load, Switch's alpha K sum f_i P_i), so src/train/gd.c calls it once per
     * batch after the per-row losses. NULL for a gate without them (the trainer then refuses
     * them). */
    double (*aux_rows)(const moe_dataset *d, const moe_gate_shape *s, const double *theta,
                       size_t r0, size_t r1, const moe_gate_losses *l, double *grad);
    /* Expert capacity of one batch, rows [R0, R1) of D at block PAR (S's noise as in
     * training, S->drop unused): each expert takes at most ceil(FACTOR (R1 - R0) top_k / K)
     * of the rows that keep it, in row order; DROP ((R1 - R0) x K) gets 1 where a later row
     * is dropped from the expert, 0 elsewhere, and DROPPED (K, may be NULL) the drops per
     * expert. NULL for a gate without capacity. */
    void (*capacity_rows)(const moe_dataset *d, const moe_gate_shape *s, const double *par,
                          size_t r0, size_t r1, double factor, unsigned char *drop,
                          size_t *dropped);
    /* From summed STATS: the gradient of Q (GRAD, nparams values) and its negative Hessian
     * (NEG_HESS, nparams x nparams row-major, full and symmetric; may be NULL). */
    void (*derivatives)(const double *stats, const moe_gate_shape *s, double *grad,
                        double *neg_hess);
    /* Optional (NULL when Q does not separate, as the softmax gate's): the independent groups
     * of theta over which Q separates, Q = sum_g Q_g(theta_g), so that its negative Hessian is
     * block-diagonal (the tree gate: one group per inner node). Returns the number of groups
     * G (< MOE_K_MAX) and, when OFF is not NULL, their G + 1 offsets into theta. The M-step
     * then drives the groups separately (src/train/newton_blocks.c). */
    size_t (*groups)(const moe_gate_shape *s, size_t *off);
    /* With groups: adds rows [R0, R1) to STATS (stat_size - 1 + G doubles) for the groups
     * with ACTIVE[g] != 0 only: Q_g to stats[g] and, when ACTIVE[g] == 2, group g's gradient
     * and negative-Hessian pieces, laid out after the G values of Q as stat_add's are after
     * its Q. THETA: every group's coefficients (the inactive ones are not read). */
    void (*group_stat_add)(const moe_dataset *d, const moe_gate_shape *s, const double *theta,
                           const double *h, size_t r0, size_t r1, const unsigned char *active,
                           double *stats);
    /* With groups: from group_stat_add's summed STATS, for the groups with ACTIVE[g] == 2,
     * the gradient of Q_g into GRAD at off[g] and its negative Hessian (n_g x n_g, full,
     * row-major, n_g = off[g+1] - off[g]) into NEG_HESS at the sum of the earlier n_g'^2. */
    void (*group_derivatives)(const double *stats, const moe_gate_shape *s,
                              const unsigned char *active, double *grad, double *neg_hess);
    /* theta from block PAR, and back (set_theta leaves the block's fixed parts as they must
     * be, e.g. the reference row 0). */
    void (*get_theta)(const moe_gate_shape *s, const double *par, double *theta);
    void (*set_theta)(const moe_gate_shape *s, const double *theta, double *par);
    /* 1 when coefficient J of theta is a slope (penalised by gate_ridge), 0 for intercepts. */
    int (*is_slope)(size_t j, const moe_gate_shape *s);
    /* Removes expert I from the block PAR of shape S (in place), leaving a K-1 block that
     * gives the remaining experts the same probabilities up to renormalisation. NULL when
     * the gate cannot lose a leaf (a tree of fixed branching): min_prior is then refused. */
    void (*drop_expert)(double *par, const moe_gate_shape *s, size_t i);
    /* Renumbers the experts of block PAR in place: new expert T is old expert PERM[T], with
     * the same probabilities. NULL when the gate fixes its experts' places (a tree: a leaf's
     * number is its path), which then keep the order the fit gave them. */
    void (*permute)(double *par, const moe_gate_shape *s, const size_t *perm);
    /* The coefficients on the data's scale (nparams values, in rows of nz+1, intercept
     * first; softmax: row r belongs to expert r) from theta, with M's scaling. */
    void (*report)(const moe_model *m, const double *theta, double *coef);
    /* Fields of the block at the top level of the model file, as for experts. */
    size_t (*fields)(const moe_gate_shape *s, moe_param_field *f);
} moe_gate_type;

extern const moe_gate_type moe_gate_softmax;
extern const moe_gate_type moe_gate_tree;
extern const moe_gate_type moe_gate_topk;

extern const moe_gate_type *const moe_gate_types[];
const moe_gate_type *moe_gate_type_find(const char *name);

#endif
