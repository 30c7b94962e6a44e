/* test_gate.c: the softmax gate: gradient and exact Hessian of the soft-target objective
 * against central finite differences, and the step-halving Newton M-step against values
 * computed here: the objective (with its L2 penalty) written out, its stationary point by
 * central differences, the known optimum of targets made by a known gate, the MLE of a plain
 * IRLS, and Q climbing towards 0 on separable targets. Q and the gate are read back only
 * through the flat parameter vector (moe_model_get_theta), never through the M-step's own
 * return values alone, which would make the checks hold by construction. The tree gate: its
 * derivatives likewise, its per-node statistics (group_stat_add) against the joint ones, and
 * its node-by-node Newton (moe_newton_maximise_blocks) landing on the joint Newton's maximiser.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "gates/gate.h"
#include "model/model.h"
#include "moe.h"
#include "tap.h"
#include "infer/infer.h"
#include "train/em.h"
#include "train/newton.h"

/* N rows with NZ standard normal gate inputs (the same as the expert inputs) and a response. */
static moe_dataset *sim(size_t n, size_t nz, gsl_rng *rng)
{
    double *x = malloc(n * nz * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t t = 0; t < n * nz; t++)
        x[t] = gsl_ran_gaussian(rng, 1);
    for (size_t r = 0; r < n; r++)
        y[r] = gsl_ran_gaussian(rng, 1);
    moe_dataset *d = NULL;
    moe_dataset_from_arrays(n, nz, x, 0, NULL, y, &d, NULL);
    free(x);
    free(y);
    return d;
}

static void dirichlet_rows(size_t n, size_t k, gsl_rng *rng, double *h)
{
    for (size_t r = 0; r < n; r++) {
        double s = 0;
        for (size_t i = 0; i < k; i++)
            s += (h[r * k + i] = gsl_ran_gamma(rng, 1, 1));
        for (size_t i = 0; i < k; i++)
            h[r * k + i] /= s;
    }
}

/* Q, gradient and negative Hessian of the unpenalised objective in one block. */
static double q_of(const moe_gate_type *gt, const moe_gate_shape *s, const moe_dataset *d,
                   const double *theta, const double *h, double *grad, double *nhess,
                   double *stats)
{
    memset(stats, 0, gt->stat_size(s) * sizeof *stats);
    gt->stat_add(d, s, theta, h, 0, d->n, grad != NULL, stats);
    if (grad)
        gt->derivatives(stats, s, grad, nhess);
    return stats[0];
}

/* A gate whose Q separates (the tree's nodes, gate.h's groups): group_stat_add and
 * group_derivatives against the joint stat_add and derivatives that the caller checked
 * against central differences (GRAD, NHESS at THETA): the Q_g sum to Q, every group's
 * gradient and Hessian block are the joint ones, the joint Hessian has nothing outside the
 * blocks, and a group left inactive (or asked for Q alone) is not touched. */
static void test_groups(const moe_gate_type *gt, const moe_gate_shape *s, const moe_dataset *d,
                        const double *theta, const double *h, const double *grad,
                        const double *nhess, const char *what)
{
    size_t off[MOE_K_MAX + 1], ng = gt->groups(s, off), np = gt->nparams(s), n = d->n;
    size_t gss = gt->stat_size(s) - 1 + ng;
    double *st = calloc(gss, sizeof *st), *st2 = calloc(gss, sizeof *st2);
    double *gg = calloc(np, sizeof *gg), *gh = calloc(np * np, sizeof *gh);
    double *js = malloc(gt->stat_size(s) * sizeof *js);
    unsigned char all[MOE_K_MAX], one[MOE_K_MAX];
    memset(all, 2, ng);
    memset(js, 0, gt->stat_size(s) * sizeof *js);
    gt->stat_add(d, s, theta, h, 0, n, 0, js);
    /* two calls (rows 0..36 and 37..n) as the trainer's row blocks make them */
    gt->group_stat_add(d, s, theta, h, 0, 37, all, st);
    gt->group_stat_add(d, s, theta, h, 37, n, all, st);
    gt->group_derivatives(st, s, all, gg, gh);
    double qsum = 0, gerr = 0, herr = 0, outside = 0, scale = 0;
    for (size_t g = 0; g < ng; g++)
        qsum += st[g];
    for (size_t j = 0; j < np; j++) {
        gerr = fmax(gerr, fabs(gg[j] - grad[j]));
        scale = fmax(scale, fabs(grad[j]));
    }
    size_t ho = 0;
    for (size_t g = 0; g < ng; g++) {
        size_t o = off[g], m = off[g + 1] - o;
        for (size_t a = 0; a < m; a++)
            for (size_t b = 0; b < m; b++) {
                herr = fmax(herr, fabs(gh[ho + a * m + b] - nhess[(o + a) * np + o + b]));
                scale = fmax(scale, fabs(nhess[(o + a) * np + o + b]));
            }
        ho += m * m;
        for (size_t a = o; a < o + m; a++)
            for (size_t b = 0; b < np; b++)
                if (b < o || b >= o + m)
                    outside = fmax(outside, fabs(nhess[a * np + b]));
    }
    tap_int((long)off[ng], (long)np, "%s: the groups cover theta (%zu groups)", what, ng);
    tap_rel(qsum, js[0], 1e-12, "%s: the groups' Q_g sum to Q", what);
    tap_ok(gerr <= 1e-12 * (scale + 1) && herr <= 1e-12 * (scale + 1), "%s: every group's "
           "gradient and Hessian block are the joint ones (errors %.2g, %.2g)", what, gerr, herr);
    tap_ok(outside == 0, "%s: the joint Hessian is zero outside the groups' blocks", what);
    /* the last group with derivatives, the first with Q alone, the others not at all */
    memset(one, 0, ng);
    one[ng - 1] = 2;
    one[0] = 1;
    gt->group_stat_add(d, s, theta, h, 0, n, one, st2);
    int untouched = 1;
    for (size_t g = 1; g + 1 < ng; g++)
        untouched = untouched && st2[g] == 0;
    for (size_t j = 0; j < off[ng - 1]; j++)
        untouched = untouched && st2[ng + j] == 0;
    tap_ok(untouched, "%s: inactive groups and Q-only groups get no statistics", what);
    tap_rel(st2[0], st[0], 1e-12, "%s: a Q-only group's Q_g", what);
    tap_rel(st2[ng - 1], st[ng - 1], 1e-12, "%s: a group alone: its Q_g", what);
    free(st);
    free(st2);
    free(gg);
    free(gh);
    free(js);
}

/* The gradient and negative Hessian of gate GT of shape {K, NZ, DEPTH, BRANCH} against
 * central differences; with WEIGHTED the targets sum to random row weights in (0.5, 2). */
static void test_derivatives_of(const moe_gate_type *gt, size_t k, size_t nz, size_t depth,
                                const size_t *branch, int weighted, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    size_t n = 80;
    moe_dataset *d = sim(n, nz, rng);
    moe_gate_shape sh = {k, nz, depth, {0}, 0, 0};
    for (size_t l = 0; l < depth; l++)
        sh.branch[l] = branch[l];
    const moe_gate_shape *s = &sh;
    char what[64];
    if (depth) {
        int at = snprintf(what, sizeof what, "tree ");
        for (size_t l = 0; l < depth; l++)
            at += snprintf(what + at, sizeof what - (size_t)at, "%s%zu", l ? "x" : "", branch[l]);
    } else {
        snprintf(what, sizeof what, "K = %zu", k);
    }
    size_t np = gt->nparams(s);
    double *h = malloc(n * k * sizeof *h), *theta = malloc(np * sizeof *theta);
    double *grad = malloc(np * sizeof *grad), *nhess = malloc(np * np * sizeof *nhess);
    double *g1 = malloc(np * sizeof *g1), *g2 = malloc(np * sizeof *g2);
    double *nh1 = malloc(np * np * sizeof *nh1);
    double *stats = malloc(gt->stat_size(s) * sizeof *stats);
    dirichlet_rows(n, k, rng, h);
    double *wts = malloc(n * sizeof *wts);
    for (size_t r = 0; r < n; r++) {
        wts[r] = weighted ? 0.5 + 1.5 * gsl_rng_uniform(rng) : 1;
        for (size_t i = 0; i < k; i++)
            h[r * k + i] *= wts[r];
    }
    if (weighted)
        d->w = wts;
    for (size_t j = 0; j < np; j++)
        theta[j] = gsl_ran_gaussian(rng, 0.7);
    q_of(gt, s, d, theta, h, grad, nhess, stats);
    const double eps = 1e-5;
    double gerr = 0, herr = 0, gscale = 0, hscale = 0, asym = 0;
    for (size_t j = 0; j < np; j++) {
        double keep = theta[j];
        theta[j] = keep + eps;
        double qp = q_of(gt, s, d, theta, h, g1, nh1, stats);
        theta[j] = keep - eps;
        double qm = q_of(gt, s, d, theta, h, g2, nh1, stats);
        theta[j] = keep;
        double fd = (qp - qm) / (2 * eps);
        gerr = fmax(gerr, fabs(fd - grad[j]));
        gscale = fmax(gscale, fabs(grad[j]));
        for (size_t l = 0; l < np; l++) {
            /* -d2Q/dtheta_j dtheta_l by differences of the analytic gradient */
            double fdh = -(g1[l] - g2[l]) / (2 * eps);
            herr = fmax(herr, fabs(fdh - nhess[j * np + l]));
            hscale = fmax(hscale, fabs(nhess[j * np + l]));
            asym = fmax(asym, fabs(nhess[j * np + l] - nhess[l * np + j]));
        }
    }
    tap_ok(gerr <= 1e-6 * (gscale + 1), "%s, nz = %zu%s: gradient matches central "
           "differences (max error %.3g, scale %.3g)", what, nz, weighted ? ", weighted" : "",
           gerr, gscale);
    tap_ok(herr <= 1e-6 * (hscale + 1), "%s, nz = %zu%s: exact Hessian matches central "
           "differences of the gradient (max error %.3g, scale %.3g)", what, nz,
           weighted ? ", weighted" : "", herr, hscale);
    tap_ok(asym == 0, "%s, nz = %zu: the Hessian is exactly symmetric", what, nz);
    if (gt->groups)
        test_groups(gt, s, d, theta, h, grad, nhess, what);
    /* the objective agrees with sum h log g computed through log_prob, and the leaves'
     * probabilities sum to 1 in every row */
    moe_model *m = moe_model_alloc_typed(NULL, gt, k, &(moe_expert_shape){nz, 0, MOE_ACT_TANH}, nz);
    if (depth)
        moe_model_set_tree(m, depth, branch);
    gt->set_theta(s, theta, m->gate_par);
    double *logg = malloc(n * k * sizeof *logg), q = 0, sumerr = 0;
    gt->log_prob_rows(d, s, m->gate_par, 0, n, logg);
    for (size_t t = 0; t < n * k; t++)
        q += h[t] * logg[t];
    for (size_t r = 0; r < n; r++) {
        double sg = 0;
        for (size_t i = 0; i < k; i++)
            sg += exp(logg[r * k + i]);
        sumerr = fmax(sumerr, fabs(sg - 1));
    }
    tap_rel(q_of(gt, s, d, theta, h, NULL, NULL, stats), q, 1e-12,
            "%s, nz = %zu: Q = sum h log g", what, nz);
    tap_ok(sumerr < 1e-13, "%s, nz = %zu: the gate probabilities sum to 1 (error %.2g)", what,
           nz, sumerr);
    if (gt->prob_rows) {
        /* prob_rows: the log-probabilities of log_prob_rows bit for bit, from an odd row on
         * (row 3), and probabilities within the exp tolerance of exp(log g) */
        double *lg2 = malloc(n * k * sizeof *lg2), *pg = malloc(n * k * sizeof *pg);
        gt->prob_rows(d, s, m->gate_par, 3, n, lg2, pg);
        int same = 1;
        double perr = 0;
        for (size_t t = 3 * k; t < n * k; t++) {
            same = same && lg2[t - 3 * k] == logg[t];
            perr = fmax(perr, fabs(pg[t - 3 * k] - exp(logg[t])) / fmax(exp(logg[t]), 1e-300));
        }
        tap_ok(same, "%s, nz = %zu: prob_rows gives log_prob_rows' log g bit for bit", what, nz);
        tap_ok(perr < 1e-14, "%s, nz = %zu: prob_rows' g = exp(log g) (relative error %.2g)",
               what, nz, perr);
        free(lg2);
        free(pg);
    }
    moe_model_free(m);
    d->w = NULL;
    free(wts);
    free(logg);
    free(h);
    free(theta);
    free(grad);
    free(nhess);
    free(g1);
    free(g2);
    free(nh1);
    free(stats);
    moe_dataset_free(d);
    gsl_rng_free(rng);
}

/* What the block driver's and the joint driver's evaluations share. */
typedef struct tree_obj {
    const moe_gate_type *gt;
    const moe_gate_shape *s;
    const moe_dataset *d;
    const double *h;
    double *stats;
} tree_obj;

static double joint_eval(void *ctx, const double *theta, int deriv, double *grad,
                         double *neg_hess)
{
    tree_obj *o = ctx;
    return q_of(o->gt, o->s, o->d, theta, o->h, deriv ? grad : NULL, neg_hess, o->stats);
}

static void blocks_eval(void *ctx, const double *theta, const unsigned char *active, double *qb,
                        double *grad, double *neg_hess)
{
    tree_obj *o = ctx;
    size_t ng = o->gt->groups(o->s, NULL);
    memset(o->stats, 0, (o->gt->stat_size(o->s) - 1 + ng) * sizeof *o->stats);
    o->gt->group_stat_add(o->d, o->s, theta, o->h, 0, o->d->n, active, o->stats);
    for (size_t g = 0; g < ng; g++)
        if (active[g])
            qb[g] = o->stats[g];
    o->gt->group_derivatives(o->stats, o->s, active, grad, neg_hess);
}

/* The tree's M-step node by node (moe_newton_maximise_blocks, what EM runs) lands where the
 * joint Newton on the whole block-diagonal problem (moe_newton_maximise, the driver the tree
 * used before) lands: the same maximiser of Q, from the same start, to 1e-8. */
static void test_tree_blocks_newton(size_t depth, const size_t *branch, size_t nz,
                                    unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    size_t n = 300, k = 1;
    for (size_t l = 0; l < depth; l++)
        k *= branch[l];
    moe_dataset *d = sim(n, nz, rng);
    moe_gate_shape sh = {k, nz, depth, {0}, 0, 0};
    for (size_t l = 0; l < depth; l++)
        sh.branch[l] = branch[l];
    const moe_gate_type *gt = &moe_gate_tree;
    size_t np = gt->nparams(&sh), off[MOE_K_MAX + 1], ng = gt->groups(&sh, off);
    double *h = malloc(n * k * sizeof *h), *t1 = calloc(np, sizeof *t1);
    double *t2 = calloc(np, sizeof *t2), qs[MOE_K_MAX];
    double *stats = malloc((gt->stat_size(&sh) + ng) * sizeof *stats);
    dirichlet_rows(n, k, rng, h);
    tree_obj o = {gt, &sh, d, h, stats};
    moe_newton_work *w = moe_newton_alloc(np);
    moe_newton_report rep1, rep2;
    moe_newton_problem pj = {np, joint_eval, &o, (double)n, 200};
    moe_newton_maximise(&pj, t1, 0, 0, w, &rep1);
    unsigned char all[MOE_K_MAX];
    memset(all, 2, ng);
    blocks_eval(&o, t2, all, qs, w->grad, w->nhess);
    moe_newton_blocks pb = {ng, off, blocks_eval, &o, (double)n, 200};
    int st = moe_newton_maximise_blocks(&pb, t2, qs, w, &rep2);
    double err = 0;
    for (size_t j = 0; j < np; j++)
        err = fmax(err, fabs(t1[j] - t2[j]));
    tap_ok(st == MOE_SUCCESS && !rep1.failed && !rep2.failed && err < 1e-8, "tree depth %zu "
           "(%zu nodes), nz = %zu: node-by-node Newton lands on the joint Newton's maximiser "
           "(max difference %.2g, Q %.12g and %.12g)", depth, ng, nz, err, rep1.q1, rep2.q1);
    tap_ok(rep2.q1 >= rep2.q0, "tree depth %zu: node-by-node Newton does not lower Q", depth);
    moe_newton_free(w);
    free(h);
    free(t1);
    free(t2);
    free(stats);
    moe_dataset_free(d);
    gsl_rng_free(rng);
}

static void test_derivatives(size_t k, size_t nz, unsigned long seed)
{
    test_derivatives_of(&moe_gate_softmax, k, nz, 0, NULL, 0, seed);
}

/* The tree gate: gradient and block-diagonal Hessian against central differences, with and
 * without weights (inner nodes see targets that sum to their posterior mass, not to 1, so
 * the weighted case is what a tree always is below the root). */
static void test_tree_derivatives(size_t depth, const size_t *branch, size_t nz,
                                  unsigned long seed)
{
    size_t k = 1;
    for (size_t l = 0; l < depth; l++)
        k *= branch[l];
    test_derivatives_of(&moe_gate_tree, k, nz, depth, branch, 0, seed);
    test_derivatives_of(&moe_gate_tree, k, nz, depth, branch, 1, seed + 100);
}

/* A one-level tree [K] is the softmax gate of K experts: the same log-probabilities, Q,
 * gradient and Hessian to rounding, for the same coefficients. */
static void test_tree_one_level(size_t k, size_t nz, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    size_t n = 50;
    moe_dataset *d = sim(n, nz, rng);
    moe_gate_shape flat = {k, nz, 0, {0}, 0, 0}, tree = {k, nz, 1, {k}, 0, 0};
    size_t np = moe_gate_softmax.nparams(&flat);
    tap_int(moe_gate_tree.nparams(&tree), np, "tree [%zu]: as many coefficients as softmax", k);
    double *theta = malloc(np * sizeof *theta), *h = malloc(n * k * sizeof *h);
    double *pf = calloc(moe_gate_softmax.block_size(&flat), sizeof *pf);
    double *pt = calloc(moe_gate_tree.block_size(&tree), sizeof *pt);
    double *lf = malloc(n * k * sizeof *lf), *lt = malloc(n * k * sizeof *lt);
    double *gf = malloc(np * sizeof *gf), *gtr = malloc(np * sizeof *gtr);
    double *hf = malloc(np * np * sizeof *hf), *ht = malloc(np * np * sizeof *ht);
    double *sf = malloc(moe_gate_softmax.stat_size(&flat) * sizeof *sf);
    double *st = malloc(moe_gate_tree.stat_size(&tree) * sizeof *st);
    for (size_t j = 0; j < np; j++)
        theta[j] = gsl_ran_gaussian(rng, 1);
    dirichlet_rows(n, k, rng, h);
    moe_gate_softmax.set_theta(&flat, theta, pf);
    moe_gate_tree.set_theta(&tree, theta, pt);
    moe_gate_softmax.log_prob_rows(d, &flat, pf, 0, n, lf);
    moe_gate_tree.log_prob_rows(d, &tree, pt, 0, n, lt);
    double el = 0, eg = 0, eh = 0;
    for (size_t t = 0; t < n * k; t++)
        el = fmax(el, fabs(lf[t] - lt[t]));
    double qf = q_of(&moe_gate_softmax, &flat, d, theta, h, gf, hf, sf);
    double qt = q_of(&moe_gate_tree, &tree, d, theta, h, gtr, ht, st);
    for (size_t j = 0; j < np; j++)
        eg = fmax(eg, fabs(gf[j] - gtr[j]));
    for (size_t j = 0; j < np * np; j++)
        eh = fmax(eh, fabs(hf[j] - ht[j]));
    tap_ok(el < 1e-13, "tree [%zu], nz = %zu: log g = softmax's (error %.2g)", k, nz, el);
    tap_rel(qt, qf, 1e-13, "tree [%zu], nz = %zu: Q = softmax's", k, nz);
    tap_ok(eg < 1e-11 && eh < 1e-11, "tree [%zu], nz = %zu: gradient and Hessian = softmax's "
           "(errors %.2g, %.2g)", k, nz, eg, eh);
    free(theta);
    free(h);
    free(pf);
    free(pt);
    free(lf);
    free(lt);
    free(gf);
    free(gtr);
    free(hf);
    free(ht);
    free(sf);
    free(st);
    moe_dataset_free(d);
    gsl_rng_free(rng);
}

/* ---- the Newton M-step, against values computed here (not against itself) */

/* Gate inputs: N rows of NZ standard normal inputs, kept here (row-major) as well as in D. */
typedef struct gdata {
    size_t n, nz;
    double *z;
    moe_dataset *d;
} gdata;

static void gdata_make(gdata *g, size_t n, size_t nz, gsl_rng *rng)
{
    g->n = n;
    g->nz = nz;
    g->z = malloc(n * (nz ? nz : 1) * sizeof *g->z);
    double *y = malloc(n * sizeof *y);
    for (size_t t = 0; t < n * nz; t++)
        g->z[t] = gsl_ran_gaussian(rng, 1);
    for (size_t r = 0; r < n; r++)
        y[r] = gsl_ran_gaussian(rng, 1);
    g->d = NULL;
    moe_dataset_from_arrays(n, nz, g->z, 0, NULL, y, &g->d, NULL);
    free(y);
}

static void gdata_free(gdata *g)
{
    free(g->z);
    moe_dataset_free(g->d);
}

/* Gate probabilities of row R at gate coefficients V ((k-1) x (nz+1); reference 0). */
static void own_softmax(const gdata *gd, const double *v, size_t k, size_t r, double *g)
{
    size_t p = gd->nz + 1;
    double eta[64], mx = 0, s = 0;
    for (size_t i = 0; i < k; i++) {
        eta[i] = 0;
        if (i + 1 < k) {
            eta[i] = v[i * p];
            for (size_t j = 0; j < gd->nz; j++)
                eta[i] += v[i * p + 1 + j] * gd->z[r * gd->nz + j];
        }
        mx = fmax(mx, eta[i]);
    }
    for (size_t i = 0; i < k; i++)
        s += exp(eta[i] - mx);
    for (size_t i = 0; i < k; i++)
        g[i] = exp(eta[i] - mx) / s;
}

/* Q(V) = sum h log g - (lambda / 2) |slopes|^2, written here. */
static double own_q(const gdata *gd, const double *v, const double *h, size_t k, double lambda)
{
    size_t p = gd->nz + 1;
    double q = 0, g[64];
    for (size_t r = 0; r < gd->n; r++) {
        own_softmax(gd, v, k, r, g);
        for (size_t i = 0; i < k; i++)
            if (h[r * k + i] > 0)
                q += h[r * k + i] * log(g[i]);
    }
    for (size_t i = 0; i + 1 < k; i++)
        for (size_t j = 1; j < p; j++)
            q -= 0.5 * lambda * v[i * p + j] * v[i * p + j];
    return q;
}

/* The largest |dQ/dv| by central differences of own_q. */
static double own_grad_max(const gdata *gd, const double *v0, const double *h, size_t k,
                           double lambda)
{
    size_t np = (k - 1) * (gd->nz + 1);
    double v[256], worst = 0;
    memcpy(v, v0, np * sizeof *v);
    for (size_t j = 0; j < np; j++) {
        double e = 1e-6 * fmax(1, fabs(v0[j]));
        v[j] = v0[j] + e;
        double qp = own_q(gd, v, h, k, lambda);
        v[j] = v0[j] - e;
        double qm = own_q(gd, v, h, k, lambda);
        v[j] = v0[j];
        worst = fmax(worst, fabs(qp - qm) / (2 * e));
    }
    return worst;
}

/* The gate coefficients of the workspace's model (flat theta of src/infer/infer.h). */
static void gate_of(const moe_em_work *w, double *v)
{
    size_t np = moe_model_nparams(w->m), ne = w->k * (w->px + 1);
    double theta[512];
    moe_model_get_theta(w->m, theta);
    memcpy(v, theta + ne, (np - ne) * sizeof *v);
}

static void set_gate(moe_em_work *w, const double *v)
{
    size_t np = moe_model_nparams(w->m), ne = w->k * (w->px + 1);
    double theta[512];
    moe_model_get_theta(w->m, theta);
    memcpy(theta + ne, v, (np - ne) * sizeof *v);
    moe_model_set_theta(w->m, theta);
}

/* Gate M-steps from START with targets H until Q stops rising. Checks: Q rises strictly on
 * the first step and never falls, the library's objective is the one written here, and the
 * end is a stationary point of it (central differences). Leaves the end point in V. */
static void newton_run(const gdata *gd, size_t k, const double *h, double lambda,
                       const double *start, double *v, const char *what)
{
    moe_em_params par = {1e-8, 100, lambda, 1e-6, 0, NULL, NULL, 0, {0}, 0, MOE_ACT_TANH, 0, NULL, 0};
    moe_em_work *w = moe_em_alloc(gd->d, k, &par);
    size_t np = (k - 1) * (gd->nz + 1);
    moe_em_init_h(w, h);
    set_gate(w, start);
    double q0 = 0, q1 = 0, qstart = own_q(gd, start, h, k, lambda), prev = qstart;
    int never_down = 1, obj_same = 1, first_up = 0, steps = 0;
    for (int s = 0; s < 10; s++) {
        moe_em_gate_step(w, h, &q0, &q1);
        gate_of(w, v);
        double mine = own_q(gd, v, h, k, lambda);
        obj_same &= fabs(mine - q1) <= 1e-10 * fabs(mine) + 1e-12 &&
                    fabs(moe_em_gate_objective(w, h) - mine) <= 1e-10 * fabs(mine) + 1e-12;
        never_down &= q1 >= q0 && mine >= prev - 1e-12 * fabs(prev);
        if (s == 0)
            first_up = q1 > q0 && fabs(q0 - qstart) <= 1e-10 * fabs(qstart) + 1e-12;
        steps++;
        if (fabs(mine - prev) <= 1e-14 * fabs(mine) && s > 0)
            break;
        prev = mine;
    }
    double gmax = own_grad_max(gd, v, h, k, lambda);
    tap_ok(first_up, "%s: the first gate M-step raises Q (%.12g -> %.12g)", what, qstart, q1);
    tap_ok(never_down, "%s: Q never decreases over %d M-steps", what, steps);
    tap_ok(obj_same, "%s: the library's Q is sum h log g - lambda/2 |slopes|^2 written here",
           what);
    tap_ok(gmax <= 1e-6 * (double)gd->n, "%s: the end is stationary: max |dQ/dv| by central "
           "differences %.3g", what, gmax);
    (void)np;
    moe_em_free(w);
}

/* Soft targets that are exactly the gate probabilities of V0: the optimum is V0 itself
 * (the gradient sum (h - g) z vanishes there), reached from a start far from it. */
static void test_newton_known(size_t k, size_t nz, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    gdata gd;
    gdata_make(&gd, 300, nz, rng);
    size_t np = (k - 1) * (nz + 1);
    double v0[256], start[256], v[256], *h = malloc(gd.n * k * sizeof *h);
    for (size_t j = 0; j < np; j++) {
        v0[j] = gsl_ran_gaussian(rng, 1);
        start[j] = -2 * v0[j] + 1;
    }
    for (size_t r = 0; r < gd.n; r++)
        own_softmax(&gd, v0, k, r, h + r * k);
    char what[96];
    snprintf(what, sizeof what, "K = %zu, nz = %zu, targets from a known gate", k, nz);
    newton_run(&gd, k, h, 0, start, v, what);
    double err = 0;
    for (size_t j = 0; j < np; j++)
        err = fmax(err, fabs(v[j] - v0[j]));
    tap_abs(err, 0, 1e-6, "%s: lands on the gate that made the targets (max error %.3g)", what,
            err);
    free(h);
    gdata_free(&gd);
    gsl_rng_free(rng);
}

/* Solves the P x P system A x = B in place by Gaussian elimination with partial pivoting. */
static void solve(double *a, double *b, size_t p)
{
    for (size_t c = 0; c < p; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < p; r++)
            if (fabs(a[r * p + c]) > fabs(a[piv * p + c]))
                piv = r;
        for (size_t t = 0; t < p; t++) {
            double tmp = a[c * p + t];
            a[c * p + t] = a[piv * p + t];
            a[piv * p + t] = tmp;
        }
        double tb = b[c];
        b[c] = b[piv];
        b[piv] = tb;
        for (size_t r = c + 1; r < p; r++) {
            double f = a[r * p + c] / a[c * p + c];
            for (size_t t = c; t < p; t++)
                a[r * p + t] -= f * a[c * p + t];
            b[r] -= f * b[c];
        }
    }
    for (size_t c = p; c-- > 0;) {
        for (size_t t = c + 1; t < p; t++)
            b[c] -= a[c * p + t] * b[t];
        b[c] /= a[c * p + c];
    }
}

/* K = 2 with 0/1 targets drawn from a logistic model (not separable), with and without an L2
 * penalty on the slopes: the M-step lands on the MLE of a plain IRLS written here. */
static void test_newton_irls(size_t nz, double lambda, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    gdata gd;
    gdata_make(&gd, 250, nz, rng);
    size_t k = 2, p = nz + 1;
    double vt[64], start[64], v[64], *h = malloc(gd.n * k * sizeof *h), g[2];
    for (size_t j = 0; j < p; j++) {
        vt[j] = j ? 1.5 / (double)j : 0.4;
        start[j] = 0;
    }
    for (size_t r = 0; r < gd.n; r++) {
        own_softmax(&gd, vt, k, r, g);
        h[r * k] = gsl_rng_uniform(rng) < g[0];
        h[r * k + 1] = 1 - h[r * k];
    }
    /* IRLS: b += (Z'WZ + lambda P)^-1 (Z'(h - g) - lambda P b), 50 iterations */
    double b[64] = {0}, a[64 * 64], rhs[64];
    for (int it = 0; it < 50; it++) {
        memset(a, 0, p * p * sizeof *a);
        memset(rhs, 0, p * sizeof *rhs);
        for (size_t r = 0; r < gd.n; r++) {
            own_softmax(&gd, b, k, r, g);
            double zr[64], wgt = g[0] * (1 - g[0]);
            zr[0] = 1;
            for (size_t j = 0; j < nz; j++)
                zr[j + 1] = gd.z[r * nz + j];
            for (size_t s = 0; s < p; s++) {
                rhs[s] += (h[r * k] - g[0]) * zr[s];
                for (size_t t = 0; t < p; t++)
                    a[s * p + t] += wgt * zr[s] * zr[t];
            }
        }
        for (size_t s = 1; s < p; s++) {
            a[s * p + s] += lambda;
            rhs[s] -= lambda * b[s];
        }
        solve(a, rhs, p);
        for (size_t s = 0; s < p; s++)
            b[s] += rhs[s];
    }
    char what[96];
    snprintf(what, sizeof what, "K = 2, nz = %zu, logistic 0/1 targets, ridge %g", nz, lambda);
    newton_run(&gd, k, h, lambda, start, v, what);
    double err = 0;
    for (size_t j = 0; j < p; j++)
        err = fmax(err, fabs(v[j] - b[j]));
    tap_abs(err, 0, 1e-7, "%s: lands on the IRLS MLE written here (max error %.3g)", what, err);
    free(h);
    gdata_free(&gd);
    gsl_rng_free(rng);
}

/* Separable hard targets: the MLE is infinite and sup Q = 0, so the M-steps must keep raising
 * Q towards 0 (never decreasing it) and the slopes must grow. */
static void test_newton_separable(size_t k, size_t nz, double lambda, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    gdata gd;
    gdata_make(&gd, 200, nz, rng);
    size_t np = (k - 1) * (nz + 1);
    double *h = malloc(gd.n * k * sizeof *h), v[256];
    for (size_t r = 0; r < gd.n; r++) {
        double z = gd.z[r * nz];
        size_t i = z < -0.5 ? 0 : z < 0.5 ? 1 % k : k - 1;
        for (size_t j = 0; j < k; j++)
            h[r * k + j] = j == i;
    }
    moe_em_params par = {1e-8, 100, lambda, 1e-6, 0, NULL, NULL, 0, {0}, 0, MOE_ACT_TANH, 0, NULL, 0};
    moe_em_work *w = moe_em_alloc(gd.d, k, &par);
    moe_em_init_h(w, h);
    double q0 = 0, q1 = 0, qfirst = 0, prev = -INFINITY;
    int ok = 1;
    for (int s = 0; s < 15; s++) {
        moe_em_gate_step(w, h, &q0, &q1);
        gate_of(w, v);
        double mine = own_q(&gd, v, h, k, lambda);
        if (s == 0)
            qfirst = q0;
        /* MINE uses libm's exp, the library the kernel set's (within 2 ulp of it): once the
         * steps reach the optimum the two differ by rounding, hence the 1e-13 slack */
        if (!(q1 >= q0) || !(mine >= prev - 1e-13 * fabs(prev)) ||
            fabs(mine - q1) > 1e-9 * fabs(q1) + 1e-12)
            ok = 0;
        prev = mine;
    }
    double slope = 0;
    for (size_t j = 0; j < np; j++)
        if (j % (nz + 1))
            slope = fmax(slope, fabs(v[j]));
    char what[112];
    snprintf(what, sizeof what, "K = %zu, nz = %zu, separable hard targets, ridge %g", k, nz,
             lambda);
    tap_ok(ok, "%s: Q (written here) never decreases over 15 M-steps (%.6g -> %.6g)", what,
           qfirst, q1);
    if (lambda == 0) {
        tap_ok(q1 > 0.05 * qfirst && q1 < 0, "%s: Q climbs towards its supremum 0 (to %.3g of "
               "its start)", what, q1 / qfirst);
        tap_ok(slope > 5, "%s: the slopes grow without bound (largest %.3g)", what, slope);
        /* as the gate saturates its Hessian becomes numerically singular: the ridge fallback
         * keeps the steps going */
        tap_ok(w->ridge_gate > 0, "%s: the ridge fallback was at work (%zu Newton steps)", what,
               w->ridge_gate);
    } else {
        tap_ok(own_grad_max(&gd, v, h, k, lambda) <= 1e-6 * (double)gd.n,
               "%s: the penalised optimum is stationary", what);
    }
    moe_em_free(w);
    free(h);
    gdata_free(&gd);
    gsl_rng_free(rng);
}

int main(void)
{
    test_derivatives(2, 1, 1);
    test_derivatives(3, 2, 2);
    test_derivatives(4, 3, 3);
    test_derivatives(5, 0, 4);
    static const size_t t22[] = {2, 2}, t32[] = {3, 2}, t232[] = {2, 3, 2}, t4[] = {4};
    test_tree_derivatives(2, t22, 1, 21);
    test_tree_derivatives(2, t32, 2, 22);
    test_tree_derivatives(3, t232, 1, 23);
    test_tree_derivatives(1, t4, 2, 24);
    test_tree_derivatives(2, t22, 0, 25);
    test_tree_blocks_newton(2, t22, 1, 28);
    test_tree_blocks_newton(3, t232, 2, 29);
    test_tree_one_level(2, 1, 26);
    test_tree_one_level(4, 2, 27);
    test_newton_known(2, 1, 5);
    test_newton_known(3, 2, 6);
    test_newton_known(4, 1, 7);
    test_newton_irls(1, 0, 8);
    test_newton_irls(2, 0, 9);
    test_newton_irls(2, 3.0, 10);
    test_newton_separable(4, 1, 0, 11);
    test_newton_separable(3, 2, 0, 12);
    test_newton_separable(3, 2, 0.5, 13);
    return tap_done();
}
