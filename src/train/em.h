/* em.h: the EM trainer of a mixture of experts of any family and gate, as an init / iterate /
 * test workspace (GSL multifit_nlinear style). Internal to libmoe; src/train/select.c drives
 * it.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_TRAIN_EM_H
#define MOE_TRAIN_EM_H

#include <gsl/gsl_rng.h>

#include "data/dataset.h"
#include "model/comm.h"
#include "model/model.h"
#include "train/newton.h"

/* The largest absolute gate slope (standardised scale) above which a converged fit is
 * checked for separation (see moe_em_test). */
#ifndef MOE_EM_SEPARATION_SLOPE
#define MOE_EM_SEPARATION_SLOPE 25.0
#endif
/* Newton steps of the gate per EM iteration, at most, unless moe_em_params.gate_steps says
 * otherwise (the experts' Newton M-steps always take up to this many). */
#define MOE_EM_GATE_STEPS 20
/* From this many rows on, the gate takes one Newton step per EM iteration unless told
 * otherwise: a generalised EM step (Q does not fall) in one pass over the rows per
 * iteration instead of about six: the step is taken unchecked and the next E-step's pass
 * brings Q there (from the targets it replaces); only where Q fell is the iteration taken
 * back and the checked, halving step taken instead. At 10^5 rows it converges in as few
 * iterations to the same log-likelihood (bench/README.md). Smaller data keep the nearly full
 * M-step. */
#define MOE_EM_GEM_ROWS 50000
/* The one-pass step stands when Q at it is not below Q before by more than this share of
 * |Q| + 1 (the two sums of Q differ by rounding). */
#define MOE_EM_ONE_PASS_Q_TOL 1e-12
/* A converged fit with a large gate slope is separated when the log-likelihood at twice
 * its gate coefficients (the same boundaries, sharper) is not below the fitted value by more
 * than this share of |loglik| + 1: the likelihood still rises along the gate direction. */
#ifndef MOE_EM_SEPARATION_RISE_TOL
#define MOE_EM_SEPARATION_RISE_TOL 1e-12
#endif
/* ... or when EM is still carrying the gate outwards at the stop: its largest slope grew by
 * more than MOE_EM_SEPARATION_GROWTH (relative) over the last MOE_EM_SEPARATION_WINDOW
 * iterations while the log-likelihood rose (EM never lowers it). That catches separation
 * whose boundary sits on tied inputs, where the supremum is approached off the ray. */
#define MOE_EM_SEPARATION_WINDOW 10
/* ... or when the largest slope exceeds this (the gate switches within 1e-3 SD of its input,
 * finer than any data resolve: a boundary on tied inputs, the supremum at infinity, where
 * Newton's steps stall on a vanishing Hessian and neither rule above can see the rise). */
#ifndef MOE_EM_SEPARATION_SHARP
#define MOE_EM_SEPARATION_SHARP 1000.0
#endif
#ifndef MOE_EM_SEPARATION_GROWTH
#define MOE_EM_SEPARATION_GROWTH 0.01
#endif

typedef struct moe_em_params {
    double tol;          /* relative log-likelihood change that stops the iterations */
    size_t max_iter;     /* iterations before MOE_EMAXITER */
    double gate_ridge;   /* L2 penalty (lambda/2) |slopes|^2 on the gate, standardised scale */
    double var_floor;    /* smallest expert variance, standardised scale */
    double min_prior;    /* experts whose prior falls below this are dropped (0: never) */
    const struct moe_expert_type *expert;  /* expert family (NULL: the default) */
    const struct moe_gate_type *gate;      /* gate (NULL: the default) */
    size_t tree_depth;                     /* a tree gate's levels (0: flat) */
    size_t tree[MOE_TREE_DEPTH_MAX];       /* and its branching per level */
    size_t hidden;                         /* the experts' hidden units (0: none) */
    moe_activation activation;             /* and their activation */
    size_t top_k;                          /* a top-k gate's kept experts (0: other gates) */
    const moe_comm *comm;                  /* ranks sharing the passes (NULL: this one) */
    size_t gate_steps;                     /* the gate's Newton steps per M-step, at most;
                                              1 is the one-step generalised EM (two passes
                                              per iteration); 0: 1 from MOE_EM_GEM_ROWS
                                              rows on, else MOE_EM_GATE_STEPS */
    int accel;                             /* 1: SQUAREM (src/train/squarem.c): after every
                                              two EM steps one extrapolated point, kept
                                              where the objective did not fall; 0: plain EM */
} moe_em_params;

typedef struct moe_em_work {
    size_t n, k, kmax, px, pz;     /* rows, current and allocated experts, design widths */
    const moe_dataset *d;          /* standardised data (not owned) */
    moe_model *m;                  /* the current iterate (owned), standardised scale */
    moe_model *mtrial;             /* scratch model of the same shape (separation check) */
    moe_em_params par;
    moe_gate_shape shape;          /* the gate's shape (K follows k) */
    moe_expert_shape eshape;       /* the experts' shape */
    double *h;                     /* n x k responsibilities of the current iterate, times
                                      the row's weight when the data are weighted */
    size_t nb;                     /* row blocks (moe_block_count) */
    size_t b0, b1;                 /* the blocks this rank computes (par.comm; else all) */
    size_t *coff;                  /* comm->size + 1 offsets for the gathers */
    int h_partial;                 /* h is current only in this rank's blocks */
    size_t ess, gss, np;           /* expert and gate statistics sizes, gate parameters */
    double *xpart, *xstat;         /* nb x kmax x ess block partials, kmax x ess sums */
    double *gpart, *gstat;         /* nb x gss, gss: gate statistics */
    double *gtrial;                /* gss: gate statistics at a trial step */
    size_t ngroups;                /* a gate whose Q separates (gate.h's groups: the tree's
                                      nodes): its groups, 0 for one joint Newton problem; a
                                      tree's shape is fixed for the workspace's life */
    size_t goff[MOE_K_MAX + 1];    /* their offsets into theta */
    unsigned char gall[MOE_K_MAX]; /* every group active with derivatives (all 2) */
    double gq[MOE_K_MAX];          /* the groups' Q_g at the start of the gate's M-step */
    double *lpart;                 /* nb x (2 + 2 kmax): loglik, entropy, sums of g and h */
    size_t nss;                    /* Newton statistics of one expert (0: closed form) */
    double *npart, *nstat;         /* nb x nss block partials, nss sums */
    double *theta;                 /* the gate's free coefficients */
    double *etheta;                /* one expert's free parameters (Newton M-steps) */
    moe_newton_work *newton;       /* the shared Newton driver's scratch */
    size_t newton_expert;          /* the expert a Newton evaluation is for */
    double *ework;                 /* the expert family's M-step scratch */
    double loglik;                 /* observed log-likelihood of the current iterate */
    double objective;              /* loglik minus the gate penalty (what EM increases) */
    double prev_objective;
    double entropy;                /* sum -h log h of the current iterate */
    double *prior;                 /* k: mean gate probability of each expert */
    double *hsum;                  /* k: sum_n h_ni, each expert's effective size */
    double *trace;                 /* max_iter + 1 log-likelihoods (standardised scale) */
    double *slope;                 /* max_iter + 1 largest absolute gate slopes */
    size_t iter;                   /* M-steps done */
    int converged, separated;
    size_t ridge_experts;          /* expert M-steps that needed a ridge */
    size_t ridge_gate;             /* gate Newton steps that needed a ridge */
    size_t halvings_failed;        /* gate steps that found no ascent (kept the old V) */
    size_t dropped;                /* experts dropped by min_prior */
    size_t gate_passes;            /* passes over the rows for the gate's Newton steps (for
                                      the benchmarks: they vary with the gate's shape) */
    size_t passes;                 /* passes over the rows of every kind (the benchmarks) */
    double gate_q_step;            /* the gate's Q at the current coefficients against the
                                      targets before the last E-step (its pass's gate_q) */
    int h_from_estep;              /* h is the E-step of the current iterate */
    size_t one_pass_fallbacks;     /* one-pass gate steps taken back (Q fell) */
    double *sq;                    /* par.accel: 3 parameter vectors (moe_squarem_size at
                                      kmax), the iterates V0, V1, V2 of a SQUAREM cycle */
    moe_model *msq;                /* and V2 exactly, should the extrapolation fall short */
    int sq_phase;                  /* EM steps of the cycle done (2: extrapolate next) */
    int sq_after;                  /* the last iteration was an extrapolated point */
    double sq_step_max;            /* the cap on |alpha| */
    size_t accel_steps;            /* extrapolated points kept */
    size_t accel_rejected;         /* and not kept (the objective fell: back to V2) */
    char message[256];             /* what the last non-success return was about */
} moe_em_work;

/* moe_em_params.accel for moe_fit_options.accel ACCEL (1 on, -1 off, 0 auto) on data of N
 * rows: auto is on from MOE_EM_GEM_ROWS rows (the search on their subsample inherits it). */
int moe_em_accel(int accel, size_t n);

/* Allocates a workspace for up to K experts on the standardised data set D (with y).
 * NULL when out of memory or the shape is unusable. */
moe_em_work *moe_em_alloc(const moe_dataset *d, size_t k, const moe_em_params *par);
void moe_em_free(moe_em_work *w);

/* Starts from responsibilities: k-means on the standardised (x, y) (KMEANS nonzero) or
 * Dirichlet(1, ..., 1) rows, drawn from RNG; resets the model to K = kmax experts with the
 * scaling of SCALE (may be NULL), whose blocks are neutral or, for a family with randomise
 * (an MLP), drawn from RNG after the responsibilities. Then runs the first M-step and E-step.
 * Returns
 * MOE_SUCCESS, MOE_ESING (a degenerate start: the caller draws another) or MOE_ENUMERIC. */
int moe_em_init(moe_em_work *w, int kmeans, gsl_rng *rng);

/* Starts from the responsibilities H (n x kmax) given by the caller. */
int moe_em_init_h(moe_em_work *w, const double *h);

/* Starts from the parameters of START (standardised scale; the same family, gate, tree and
 * inputs as W's model, START->k <= kmax experts (= kmax for a tree), else MOE_EINVAL): its
 * E-step, so that the next moe_em_iterate continues an earlier run exactly where it stopped
 * and the first iteration's log-likelihood is checked against START's (EM cannot fall below
 * it). The iteration count and trace start again from 0. */
int moe_em_init_model(moe_em_work *w, const moe_model *start);

/* Copies the parameters (and expert count) of SRC into DST, a model of the same types and
 * shapes allocated for at least SRC->k experts. No allocation. */
void moe_em_copy_params(moe_model *dst, const moe_model *src);

/* Start types of moe_em_init_start. */
typedef enum moe_em_start {
    MOE_START_KMEANS = 0,  /* k-means++ then Lloyd on the standardised (x, y) */
    MOE_START_DIRICHLET,   /* random Dirichlet(0.5) responsibility rows */
    MOE_START_SLABS,       /* slabs of a random direction in the gate inputs, random sizes */
    MOE_START_VORONOI,     /* nearest of K random rows in the standardised (x, y) */
    MOE_START_SEGMENTS     /* + j: the best K-segment Gaussian regression along gate input j
                              (dynamic programming; deterministic, Gaussian family only) */
} moe_em_start;

/* Starts from responsibilities of type TYPE drawn from RNG (see moe_em_init). */
int moe_em_init_start(moe_em_work *w, moe_em_start type, gsl_rng *rng);

/* One EM iteration: M-step from the current responsibilities, then the E-step. Returns
 * MOE_SUCCESS; MOE_ESING when an expert degenerated (effective size below its number of
 * coefficients, or a singular M-step even with a ridge); MOE_ENUMERIC when the objective
 * decreased by more than rounding or turned non-finite. w->message says more. */
int moe_em_iterate(moe_em_work *w);

/* MOE_SUCCESS when converged (relative change < tol; w->separated is then set when the gate
 * separates the regimes: its largest slope exceeds MOE_EM_SEPARATION_SLOPE and the
 * log-likelihood still rises along the gate direction), MOE_EMAXITER at max_iter (with the
 * same separation check), else MOE_CONTINUE. */
int moe_em_test(moe_em_work *w);

/* W's responsibilities (n x k) current in every row: under a moe_comm the other ranks' rows
 * are gathered first (a collective: every rank calls it at the same point). */
const double *moe_em_full_h(moe_em_work *w);

/* W's responsibilities (every row's, gathered as moe_em_full_h) without the row weights into
 * H (n x kmax): the posteriors themselves, as the spurious-expert rule reads them. */
void moe_em_unweighted_h(moe_em_work *w, double *h);

/* The gate M-step alone (exposed for the tests): damped Newton steps on the penalised
 * soft-target objective with targets H from the current gate of M. *Q0 and *Q1
 * receive the objective before and after (Q1 >= Q0). Uses W's statistics buffers. */
int moe_em_gate_step(moe_em_work *w, const double *h, double *q0, double *q1);

/* The penalised soft-target objective of the gate of M with targets H (for the tests). */
double moe_em_gate_objective(moe_em_work *w, const double *h);

#endif
