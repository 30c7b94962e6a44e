/* test_hme.c: hierarchical mixtures of experts (the tree gate, src/gates/tree.c) under EM:
 * a one-level tree is the flat model of the same K (to 1e-8 in log-likelihood, from the
 * same start); the log-likelihood never decreases for 2x2 and 3x2 trees with Gaussian and
 * Poisson leaves (recomputed here by an independent E-step, not read from the trainer); a
 * 2x2 tree started from a flat K = 2 fit (each expert split into two equal leaves, which
 * leaves the likelihood unchanged) never ends below it; a simulated two-level truth is
 * recovered (leaves matched, every coefficient within 4 SEs) and BIC prefers the tree over
 * the flat model of the same K; the gate's likelihood-ratio tests reject a gate the truth
 * has, keep an input it does not use, and their statistics equal 2 (L_full - L_reduced) from
 * reduced trees fitted on their own; a tree model reloads bit for bit; malformed trees are
 * refused with the option or field named; a hand-written tree predicts what its formulas
 * say; and moefit is at least as high as mixtools' hmeEM on its own examples.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "experts/expert.h"
#include "gates/gate.h"
#include "infer/fit.h"
#include "model/estep.h"
#include "model/model.h"
#include "moe.h"
#include "tap.h"
#include "train/em.h"

/* The truth of the simulations: a 2x2 tree on gate inputs (z1, z2), data scale.
 * root: branch 1 vs 2 = 4 z1;  node 1: leaf 1.1 vs 1.2 = -4 + 4 z2;  node 2: 2.1 vs 2.2 =
 * 4 + 4 z2 (the leaves' regions are not those of any flat softmax with linear logits: the
 * z2 boundaries differ on the two sides of z1 = 0). */
static const double true_gate[3][3] = {{0, 4, 0}, {-4, 0, 4}, {4, 0, 4}};
static const double true_beta[4][2] = {{0, 2}, {3, -1}, {-3, 1}, {1, -2}};
static const double true_sigma = 0.5;
/* Poisson leaves (log rates) for the 3x2 simulation */
static const double pois_beta[6][2] = {{0, 1}, {2, -0.5}, {1, 0}, {-1, 1.5}, {2.5, 0}, {0.5, -1}};

/* Leaf probabilities of the 2x2 truth at (z1, z2) into G (4 values). */
static void truth_gate(double z1, double z2, double *g)
{
    double e[3];
    for (int u = 0; u < 3; u++)
        e[u] = 1 / (1 + exp(-(true_gate[u][0] + true_gate[u][1] * z1 + true_gate[u][2] * z2)));
    g[0] = e[0] * e[1];
    g[1] = e[0] * (1 - e[1]);
    g[2] = (1 - e[0]) * e[2];
    g[3] = (1 - e[0]) * (1 - e[2]);
}

/* N rows: one expert input x ~ N(0,1), gate inputs (z1, z2) ~ N(0,1), y from the 2x2 truth
 * (POISSON: a 3x2 tree of Poisson leaves whose root splits z1 in thirds). */
static moe_dataset *simulate(size_t n, int poisson, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    double *x = malloc(n * sizeof *x), *z = malloc(2 * n * sizeof *z), *y = malloc(n * sizeof *y);
    for (size_t r = 0; r < n; r++) {
        x[r] = gsl_ran_gaussian(rng, 1);
        double z1 = z[2 * r] = gsl_ran_gaussian(rng, 1);
        double z2 = z[2 * r + 1] = gsl_ran_gaussian(rng, 1);
        size_t leaf;
        if (!poisson) {
            double g[4], u = gsl_rng_uniform(rng), c = 0;
            truth_gate(z1, z2, g);
            for (leaf = 0; leaf < 3; leaf++)
                if (u < (c += g[leaf]))
                    break;
            y[r] = true_beta[leaf][0] + true_beta[leaf][1] * x[r] +
                   gsl_ran_gaussian(rng, true_sigma);
        } else {
            size_t b = z1 < -0.43 ? 0 : z1 < 0.43 ? 1 : 2;
            double p = 1 / (1 + exp(-3 * z2 * (b == 1 ? -1 : 1)));
            leaf = 2 * b + (gsl_rng_uniform(rng) < p ? 0 : 1);
            double rate = exp(pois_beta[leaf][0] + pois_beta[leaf][1] * x[r]);
            y[r] = (double)gsl_ran_poisson(rng, rate);
        }
    }
    moe_dataset *d = NULL;
    moe_dataset_from_arrays(n, 1, x, 2, z, y, &d, NULL);
    free(x);
    free(z);
    free(y);
    gsl_rng_free(rng);
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

/* EM params for family ET and an optional tree. */
static moe_em_params params(const moe_expert_type *et, size_t depth, const size_t *br)
{
    moe_em_params p = {1e-10, 400, 0, 1e-6, 0, et, depth ? &moe_gate_tree : NULL, depth, {0},
                       0, MOE_ACT_TANH, 0, NULL, 0};
    for (size_t l = 0; l < depth; l++)
        p.tree[l] = br[l];
    return p;
}

/* Runs EM from W's current start to the end; TRACE (max_iter + 1 values) gets the
 * log-likelihood after every iteration, recomputed by moe_estep on the iterate. Returns the
 * iterations done; *MAXDROP the largest decrease between iterations (<= 0 when monotone),
 * *AGREE the largest gap between the trainer's log-likelihood and moe_estep's. */
static size_t run(moe_em_work *w, double *trace, double *maxdrop, double *agree)
{
    double *h = malloc(w->n * w->kmax * sizeof *h);
    size_t it = 0;
    *maxdrop = -INFINITY;
    *agree = 0;
    double prev = -INFINITY;
    for (;;) {
        int st = moe_em_iterate(w);
        if (st != MOE_SUCCESS) {
            printf("# EM stopped: %s (%s)\n", moe_strerror(st), w->message);
            break;
        }
        double ll = moe_estep(w->d, w->m, NULL, h);
        *agree = fmax(*agree, fabs(ll - w->loglik));
        trace[it++] = ll;
        if (isfinite(prev))
            *maxdrop = fmax(*maxdrop, prev - ll);
        prev = ll;
        if (moe_em_test(w) != MOE_CONTINUE)
            break;
    }
    free(h);
    return it;
}

/* 1. A one-level tree [K] is the flat softmax model of K experts: same start, same EM. */
static void test_one_level(size_t k, unsigned long seed)
{
    moe_dataset *d = simulate(400, 0, seed);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    double *h = malloc(d->n * k * sizeof *h), *tf = malloc(401 * sizeof *tf);
    double *tt = malloc(401 * sizeof *tt), drop, agree;
    dirichlet_rows(d->n, k, rng, h);
    size_t br[1] = {k};
    moe_em_params pf = params(&moe_expert_gaussian, 0, NULL);
    moe_em_params pt = params(&moe_expert_gaussian, 1, br);
    moe_em_work *wf = moe_em_alloc(d, k, &pf), *wt = moe_em_alloc(d, k, &pt);
    moe_em_init_h(wf, h);
    moe_em_init_h(wt, h);
    size_t nf = run(wf, tf, &drop, &agree), nt = run(wt, tt, &drop, &agree);
    double gap = 0;
    for (size_t i = 0; i < nf && i < nt; i++)
        gap = fmax(gap, fabs(tf[i] - tt[i]));
    tap_ok(nf > 5 && nf == nt, "tree [%zu]: as many EM iterations as the flat model (%zu, %zu)",
           k, nt, nf);
    tap_ok(fabs(wf->loglik - wt->loglik) < 1e-8 && gap < 1e-8, "tree [%zu] = flat K = %zu: "
           "log-likelihood %.10f vs %.10f (largest gap along the way %.2g)", k, k, wt->loglik,
           wf->loglik, gap);
    moe_em_free(wf);
    moe_em_free(wt);
    free(h);
    free(tf);
    free(tt);
    gsl_rng_free(rng);
    moe_dataset_free(d);
}

/* 2. The log-likelihood never decreases (from several random starts). */
static void test_monotone(const moe_expert_type *et, size_t depth, const size_t *br,
                          unsigned long seed)
{
    moe_dataset *d = simulate(500, et != &moe_expert_gaussian, seed);
    size_t k = 1;
    for (size_t l = 0; l < depth; l++)
        k *= br[l];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double *h = malloc(d->n * k * sizeof *h), *tr = malloc(401 * sizeof *tr);
    double worst = -INFINITY, agree_all = 0;
    size_t iters = 0;
    moe_em_params p = params(et, depth, br);
    moe_em_work *w = moe_em_alloc(d, k, &p);
    for (unsigned long s = 0; s < 4; s++) {
        gsl_rng_set(rng, seed * 10 + s);
        dirichlet_rows(d->n, k, rng, h);
        moe_em_init_h(w, h);
        double drop, agree;
        iters += run(w, tr, &drop, &agree);
        worst = fmax(worst, drop);
        agree_all = fmax(agree_all, agree);
    }
    tap_ok(iters > 20 && worst <= 1e-9, "%s, tree %zux%zu: the log-likelihood never decreased "
           "over %zu EM iterations from 4 starts (largest drop %.3g)", et->name, br[0], br[1],
           iters, worst);
    tap_ok(agree_all < 1e-8, "%s, tree %zux%zu: the trainer's log-likelihood is the E-step's "
           "(gap %.2g)", et->name, br[0], br[1], agree_all);
    moe_em_free(w);
    free(h);
    free(tr);
    gsl_rng_free(rng);
    moe_dataset_free(d);
}

/* 3. A 2x2 tree contains every flat K = 2 fit: each expert split into two equal leaves
 * below the root's gate has the same likelihood whatever the lower gates are. EM from there
 * never ends below the flat fit. */
static void test_contains_flat(unsigned long seed)
{
    moe_dataset *d = simulate(600, 0, seed);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    double *h = malloc(d->n * 4 * sizeof *h), *tr = malloc(401 * sizeof *tr), drop, agree;
    dirichlet_rows(d->n, 2, rng, h);
    moe_em_params pf = params(&moe_expert_gaussian, 0, NULL);
    moe_em_work *wf = moe_em_alloc(d, 2, &pf);
    moe_em_init_h(wf, h);
    run(wf, tr, &drop, &agree);
    double ll2 = moe_estep(d, wf->m, NULL, h);
    size_t br[2] = {2, 2};
    moe_model *mt = moe_model_alloc_typed(&moe_expert_gaussian, &moe_gate_tree, 4,
                                          &(moe_expert_shape){d->nx, 0, MOE_ACT_TANH}, d->nz);
    moe_model_set_tree(mt, 2, br);
    size_t ep = mt->ep, pz = d->nz + 1;
    for (size_t i = 0; i < 4; i++)
        memcpy(mt->expert_par + i * ep, wf->m->expert_par + (i / 2) * ep, ep * sizeof(double));
    memcpy(mt->gate_par, wf->m->gate_par, pz * sizeof(double));  /* the root = the flat gate */
    for (size_t j = pz; j < 3 * pz; j++)
        mt->gate_par[j] = gsl_ran_gaussian(rng, 1);  /* any lower gates */
    double llt = moe_estep(d, mt, NULL, h);
    tap_ok(fabs(llt - ll2) < 1e-9 * fabs(ll2), "2x2 tree with split leaves: log-likelihood of "
           "the flat K = 2 fit (%.10f vs %.10f)", llt, ll2);
    moe_em_params pt = params(&moe_expert_gaussian, 2, br);
    moe_em_work *wt = moe_em_alloc(d, 4, &pt);
    tap_int(moe_em_init_model(wt, mt), MOE_SUCCESS, "EM starts from the split model");
    run(wt, tr, &drop, &agree);
    tap_ok(wt->loglik >= ll2 - 1e-9 && drop <= 1e-9, "2x2 tree from the flat K = 2 fit: %.6f >= "
           "%.6f, never decreasing (largest drop %.2g)", wt->loglik, ll2, drop);
    tap_ok(wt->loglik > ll2 + 1, "... and the split leaves moved apart (gain %.3g)",
           wt->loglik - ll2);
    /* the whole fit, too: its 2x2 tree is never below its flat K = 2 */
    moe_fit_options o = moe_fit_options_default();
    o.tree = "2x2,2";
    o.restarts = 3;
    o.standard_errors = 0;
    moe_fit *f = NULL;
    tap_int(moe_fit_run(d, &o, &f, NULL), MOE_SUCCESS, "fit --tree 2x2,2");
    moe_fit_stats s0 = moe_fit_selection(f, 0), s1 = moe_fit_selection(f, 1);
    tap_ok(strcmp(s0.tree, "2x2") == 0 && s1.tree[0] == 0 && s0.loglik >= s1.loglik,
           "fit: the 2x2 tree (%.4f) is not below the flat K = 2 (%.4f)", s0.loglik, s1.loglik);
    moe_fit_free(f);
    moe_model_free(mt);
    moe_em_free(wf);
    moe_em_free(wt);
    free(h);
    free(tr);
    gsl_rng_free(rng);
    moe_dataset_free(d);
}

/* 4. A simulated two-level truth is recovered, and BIC prefers the tree. */
static void test_recovery(void)
{
    moe_dataset *d = simulate(3000, 0, 41);
    moe_fit_options o = moe_fit_options_default();
    o.tree = "2x2,4";
    o.restarts = 6;
    moe_fit *f = NULL;
    int st = moe_fit_run(d, &o, &f, NULL);
    tap_int(st, MOE_SUCCESS, "recovery: fit --tree 2x2,4");
    if (st) {
        moe_dataset_free(d);
        return;
    }
    moe_fit_stats s = moe_fit_get_stats(f), st0 = moe_fit_selection(f, 0),
                  st1 = moe_fit_selection(f, 1);
    tap_ok(strcmp(s.tree, "2x2") == 0 && st0.bic < st1.bic, "BIC prefers the 2x2 tree "
           "(%.2f) over the flat K = 4 (%.2f)", st0.bic, st1.bic);
    /* match the fitted leaves to the true ones by their coefficients, over all 24 orders */
    double coef[4][3], se[4][3];
    for (size_t i = 0; i < 4; i++)
        moe_fit_coefs(f, i, coef[i], se[i]);
    static const int perms[24][4] = {
        {0,1,2,3},{0,1,3,2},{0,2,1,3},{0,2,3,1},{0,3,1,2},{0,3,2,1},{1,0,2,3},{1,0,3,2},
        {1,2,0,3},{1,2,3,0},{1,3,0,2},{1,3,2,0},{2,0,1,3},{2,0,3,1},{2,1,0,3},{2,1,3,0},
        {2,3,0,1},{2,3,1,0},{3,0,1,2},{3,0,2,1},{3,1,0,2},{3,1,2,0},{3,2,0,1},{3,2,1,0}};
    int best = 0;
    double bestd = INFINITY;
    for (int p = 0; p < 24; p++) {
        double dd = 0;
        for (int t = 0; t < 4; t++)
            for (int j = 0; j < 2; j++)
                dd += pow(coef[perms[p][t]][j] - true_beta[t][j], 2);
        if (dd < bestd) {
            bestd = dd;
            best = p;
        }
    }
    const int *pm = perms[best];
    double worst_z = 0;
    for (int t = 0; t < 4; t++) {
        for (int j = 0; j < 2; j++)
            worst_z = fmax(worst_z, fabs(coef[pm[t]][j] - true_beta[t][j]) / se[pm[t]][j]);
        worst_z = fmax(worst_z, fabs(coef[pm[t]][2] - true_sigma) / se[pm[t]][2]);
    }
    tap_ok(worst_z < 4, "recovery: every leaf's coefficients and sigma within 4 SEs of the "
           "truth (largest |z| %.2f)", worst_z);
    /* the leaves sit under the nodes the truth has, and so do the gates */
    int tree_ok = pm[0] / 2 == pm[1] / 2 && pm[2] / 2 == pm[3] / 2;
    tap_ok(tree_ok, "recovery: true sibling leaves are fitted siblings (order %d%d%d%d)", pm[0],
           pm[1], pm[2], pm[3]);
    if (tree_ok) {
        double gz = 0, g[3], gs[3];
        double sign_root = pm[0] / 2 == 0 ? 1 : -1;
        moe_fit_gate(f, 0, g, gs);  /* row 0: the root's branch 1 vs 2 */
        for (int j = 0; j < 3; j++)
            gz = fmax(gz, fabs(g[j] - sign_root * true_gate[0][j]) / gs[j]);
        for (int u = 1; u <= 2; u++) {
            int first = pm[2 * (u - 1)];  /* true node u's first leaf, fitted */
            size_t row = 1 + (size_t)(first / 2);
            double sign = first % 2 == 0 ? 1 : -1;
            moe_fit_gate(f, row, g, gs);
            for (int j = 0; j < 3; j++)
                gz = fmax(gz, fabs(g[j] - sign * true_gate[u][j]) / gs[j]);
        }
        tap_ok(gz < 4, "recovery: every node's gate coefficients within 4 SEs of the truth "
               "(largest |z| %.2f)", gz);
    }
    moe_fit_free(f);
    moe_dataset_free(d);
}

/* D's rows with the gate inputs COLS (NC of D's, 0-based) and, when NOISE_SEED is not 0, one
 * more gate input of pure N(0, 1) noise drawn from that seed: the same x and y. */
static moe_dataset *regate(const moe_dataset *d, const size_t *cols, size_t nc,
                           unsigned long noise_seed)
{
    size_t n = d->n, nz = nc + (noise_seed != 0), pz = d->nz + 1;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, noise_seed);
    double *x = malloc(n * sizeof *x), *z = malloc((n * nz + 1) * sizeof *z);
    for (size_t r = 0; r < n; r++) {
        x[r] = d->x[r * 2 + 1];
        for (size_t j = 0; j < nc; j++)
            z[r * nz + j] = d->z[r * pz + cols[j] + 1];
        if (noise_seed)
            z[r * nz + nc] = gsl_ran_gaussian(rng, 1);
    }
    moe_dataset *out = NULL;
    moe_dataset_from_arrays(n, 1, x, nz, z, d->y, &out, NULL);  /* z, not NULL: NULL means z = x */
    free(x);
    free(z);
    gsl_rng_free(rng);
    return out;
}

/* The log-likelihood of the fit of D with the tree TREE (NULL: flat, K experts) by the
 * default search with 4 restarts, no tests of its own; NaN when the fit fails. */
static double fitted_loglik(const moe_dataset *d, const char *tree, size_t k)
{
    moe_fit_options o = moe_fit_options_default();
    o.tree = tree;
    o.k_min = o.k_max = k;
    o.restarts = 4;
    o.gate_lrt = 0;
    o.standard_errors = 0;
    moe_fit *f = NULL;
    if (moe_fit_run(d, &o, &f, NULL) != MOE_SUCCESS)
        return NAN;
    double ll = moe_fit_get_stats(f).loglik;
    moe_fit_free(f);
    return ll;
}

/* 4b. Likelihood-ratio tests of a tree's gate (issue 12). The 2x2 truth's gate uses z1 (root)
 * and z2 (nodes); z3 is noise the gate does not use. The constant-gate and z1, z2 tests must
 * reject (the truth's gate slopes are 4 on unit-variance inputs), z3's must not (under the
 * null its p is uniform; this seed's is printed). Each statistic is checked against 2 (L_full -
 * L_reduced) from a reduced model fitted here on its own (the same tree on fewer gate
 * inputs), and the constant-gate tree against a flat constant-gate mixture of K = 4 (every
 * node constant gives constant leaf shares, so the two models are the same family of
 * densities and their maxima agree). */
static void test_gate_lrt(void)
{
    moe_dataset *d0 = simulate(800, 0, 61);
    static const size_t both[] = {0, 1};
    moe_dataset *d = regate(d0, both, 2, 62), *d12 = regate(d0, both, 2, 0),
                *dc = regate(d0, NULL, 0, 0);
    moe_fit_options o = moe_fit_options_default();
    o.tree = "2x2";
    o.restarts = 4;
    o.standard_errors = 0;
    moe_fit *f = NULL;
    int st = moe_fit_run(d, &o, &f, NULL);
    tap_int(st, MOE_SUCCESS, "gate LR tests: fit --tree 2x2 on z1, z2, z3");
    size_t nt = st ? 0 : moe_fit_ngate_lrt(f);
    tap_int((long)nt, 4, "gate LR tests: constant gate and each of the 3 inputs");
    if (nt == 4) {
        double ll = moe_fit_get_stats(f).loglik, stat[4], p[4];
        size_t df[4];
        for (size_t t = 0; t < 4; t++)
            moe_fit_gate_lrt(f, t, &stat[t], &df[t], &p[t]);
        printf("# LR p: all %g, z1 %g, z2 %g, z3 %g\n", p[0], p[1], p[2], p[3]);
        tap_ok(moe_fit_gate_lrt_dropped(f, 0) == -1 && moe_fit_gate_lrt_dropped(f, 3) == 2,
               "gate LR tests: the constant gate first, then the inputs in order");
        /* df: the tree's K - 1 = 3 gate rows (one per node) times the inputs left out */
        tap_ok(df[0] == 9 && df[1] == 3 && df[2] == 3 && df[3] == 3,
               "gate LR tests: df 9, 3, 3, 3 (got %zu %zu %zu %zu)", df[0], df[1], df[2], df[3]);
        tap_ok(p[0] < 1e-12 && p[1] < 1e-12 && p[2] < 1e-12,
               "gate LR tests: the gate, z1 and z2 matter (p %g, %g, %g)", p[0], p[1], p[2]);
        tap_ok(p[3] > 0.05, "gate LR tests: z3, which the truth's gate does not use, does not "
               "(p %g)", p[3]);
        double l12 = fitted_loglik(d12, "2x2", 4), lc = fitted_loglik(dc, "2x2", 4);
        double lflat = fitted_loglik(dc, NULL, 4);
        tap_ok(fabs(stat[3] - 2 * (ll - l12)) < 1e-7 * fabs(ll),
               "gate LR tests: z3's statistic %.8f = 2 (L_full - L(tree on z1, z2)) = %.8f",
               stat[3], 2 * (ll - l12));
        tap_ok(fabs(stat[0] - 2 * (ll - lc)) < 1e-7 * fabs(ll),
               "gate LR tests: the constant gate's statistic %.8f = 2 (L_full - L(tree, no "
               "gate inputs)) = %.8f", stat[0], 2 * (ll - lc));
        tap_ok(fabs(lc - lflat) < 1e-7 * fabs(lflat), "gate LR tests: the constant-gate tree "
               "(%.8f) is the flat constant-gate K = 4 mixture (%.8f)", lc, lflat);
    }
    moe_fit_free(f);
    moe_dataset_free(d);
    moe_dataset_free(d12);
    moe_dataset_free(dc);
    moe_dataset_free(d0);
}

/* 5. A tree model saves and reloads bit for bit; its file names the tree. */
static void test_save_load(void)
{
    moe_dataset *d = simulate(300, 0, 51);
    moe_fit_options o = moe_fit_options_default();
    o.tree = "2x2";
    o.restarts = 2;
    o.standard_errors = 0;
    moe_fit *f = NULL;
    moe_fit_run(d, &o, &f, NULL);
    char path[] = "/tmp/test_hme_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    const moe_model *m = moe_fit_model(f);
    tap_int(moe_model_save(m, path, NULL), MOE_SUCCESS, "a tree model saves");
    moe_model *back = NULL;
    tap_int(moe_model_load(path, &back, NULL), MOE_SUCCESS, "and loads");
    int same = back && back->tree_depth == 2 && back->tree[0] == 2 && back->tree[1] == 2 &&
               back->gp == m->gp &&
               memcmp(back->gate_par, m->gate_par, m->gp * sizeof *m->gate_par) == 0 &&
               memcmp(back->expert_par, m->expert_par, m->k * m->ep * sizeof(double)) == 0;
    tap_ok(same, "the reloaded tree and its parameters are bit for bit the saved ones");
    FILE *fp = fopen(path, "r");
    char buf[8192];
    size_t len = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    buf[len] = 0;
    if (fp)
        fclose(fp);
    tap_ok(strstr(buf, "\"gate\": \"tree\"") && strstr(buf, "\"tree\": ["),
           "the model file has gate \"tree\" and its \"tree\"");
    unlink(path);
    moe_model_free(back);
    moe_fit_free(f);
    moe_dataset_free(d);
}

/* 6. Malformed trees: the option check says what is wrong. */
static void test_bad_trees(void)
{
    static const struct { const char *spec, *want; } cases[] = {
        {"2x0", "at least 2 branches (0 given)"},
        {"2x1", "at least 2 branches (1 given)"},
        {"1", "single leaf"},
        {"2xa", "whole numbers"},
        {"2x", "ends in x"},
        {"2x2,,4", "empty"},
        {"", "empty"},
        {"8x8x2", "more than 64 leaves"},
        {"2x2x2x2x2x2x2", "at most 6 levels"},
        {"2x2,2x2", "twice"},
        {"0", "at least 1 expert"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        moe_fit_options o = moe_fit_options_default();
        o.tree = cases[c].spec;
        const char *why = moe_fit_options_check(&o);
        tap_ok(why && strstr(why, cases[c].want), "tree '%s' refused: %s", cases[c].spec,
               why ? why : "(accepted)");
    }
    moe_fit_options o = moe_fit_options_default();
    o.tree = "2x2,3x2x2,4";
    tap_ok(moe_fit_options_check(&o) == NULL, "tree '2x2,3x2x2,4' accepted");
    o.min_prior = 0.01;
    tap_ok(moe_fit_options_check(&o) != NULL, "a tree with min_prior is refused");
    /* more leaves than the rows allow */
    moe_dataset *d = simulate(30, 0, 61);
    o = moe_fit_options_default();
    o.tree = "4x4";
    char msg[256];
    tap_int(moe_fit_check_rows(&o, d, msg, sizeof msg), MOE_EINVAL, "tree 4x4 on 30 rows: %s",
            msg);
    tap_ok(strstr(msg, "4x4") && strstr(msg, "30 rows"), "the message names the tree and the "
           "rows");
    moe_dataset_free(d);
}

/* 7. The hand-written 2x2 tree tests/models/good_tree.json predicts what its gates say,
 * computed here: at x, root P(branch 1) = s(3x), node 1 P(1.1) = s(2 - 2x), node 2
 * P(2.1) = s(-1 + x) with s the logistic function; leaves in the order 1.1 1.2 2.1 2.2. */
static void test_hand_tree(void)
{
    const char *srcdir = getenv("srcdir");
    char file[1024];
    snprintf(file, sizeof file, "%s/tests/models/good_tree.json", srcdir ? srcdir : ".");
    moe_model *m = NULL;
    moe_error err;
    int st = moe_model_load(file, &m, &err);
    tap_int(st, MOE_SUCCESS, "good_tree.json loads (%s)", st ? err.message : "ok");
    if (st)
        return;
    double x[3] = {-1, 0.5, 2}, y[3] = {0, 1, 2};
    moe_dataset *d = NULL;
    moe_dataset_from_arrays(3, 1, x, 0, NULL, y, &d, NULL);
    moe_prediction *p = NULL;
    tap_int(moe_predict(m, d, 1, &p, NULL), MOE_SUCCESS, "predict with the hand tree");
    static const double b0[4] = {1, -1, 3, 0}, b1[4] = {2, 0.5, -1, 0};
    double gerr = 0, merr = 0, nerr = 0;
    for (size_t r = 0; r < 3; r++) {
        double e0 = 1 / (1 + exp(-3 * x[r])), e1 = 1 / (1 + exp(-(2 - 2 * x[r])));
        double e2 = 1 / (1 + exp(-(-1 + x[r])));
        double g[4] = {e0 * e1, e0 * (1 - e1), (1 - e0) * e2, (1 - e0) * (1 - e2)}, mean = 0;
        for (size_t i = 0; i < 4; i++) {
            gerr = fmax(gerr, fabs(p->gate[r * 4 + i] - g[i]));
            mean += g[i] * (b0[i] + b1[i] * x[r]);
        }
        merr = fmax(merr, fabs(p->mean[r] - mean));
        nerr = fmax(nerr, fabs(p->node[r * 2] - e0) + fabs(p->node[r * 2 + 1] - (1 - e0)));
    }
    tap_ok(gerr < 1e-14, "hand tree: leaf probabilities = the products down the paths (%.2g)",
           gerr);
    tap_ok(merr < 1e-13, "hand tree: mixture mean (%.2g)", merr);
    tap_ok(p->nodes == 2 && nerr < 1e-14, "hand tree: node probabilities of nodes 1 and 2 "
           "(%.2g)", nerr);
    char name[32];
    moe_model_node_name(m, 1, name, sizeof name);
    tap_ok(strcmp(name, "2") == 0, "the second inner node is \"2\"");
    moe_model_leaf_name(m, 2, name, sizeof name);
    tap_ok(strcmp(name, "2.1") == 0, "expert 3 is the leaf \"2.1\"");
    moe_prediction_free(p);
    moe_dataset_free(d);
    moe_model_free(m);
}

/* 8. Against mixtools' hmeEM (k = 2, one input: the only HME it fits). The references are
 * the log-likelihoods printed by tests/R/mixtools_hme.R (tests/R/hme_references.txt, R 4.2.2,
 * mixtools 2.0.0): NOdata, the example of ?hmeEM, 123.6205906 (190 iterations; the best of 20
 * random starts is the same); tonedata, the best of 20 random starts, 142.8480138 (351
 * iterations). moefit's two-expert model with a gate on the same input is hmeEM's model, and
 * its log-likelihood must be at least as high (to the references' 10 printed digits). */
static void test_mixtools(void)
{
    static const struct {
        const char *file, *y, *x;
        double ref;
    } cases[] = {
        {"datasets/nodata.csv", "Equivalence", "NO", 123.6205906},
        {"datasets/tonedata.csv", "tuned", "stretchratio", 142.8480138},
    };
    const char *srcdir = getenv("srcdir");
    for (size_t c = 0; c < 2; c++) {
        char file[1024];
        snprintf(file, sizeof file, "%s/%s", srcdir ? srcdir : ".", cases[c].file);
        moe_table *t = NULL;
        moe_dataset *d = NULL;
        moe_fit *f = NULL;
        moe_csv_options co = moe_csv_options_default();
        moe_selection sel = moe_selection_default();
        sel.response = cases[c].y;
        sel.inputs = cases[c].x;
        int st = moe_table_read_csv(file, &co, &t, NULL);
        if (!st)
            st = moe_dataset_from_table(t, &sel, &d, NULL);
        moe_fit_options o = moe_fit_options_default();
        o.k_min = o.k_max = 2;
        o.standard_errors = 0;
        if (!st)
            st = moe_fit_run(d, &o, &f, NULL);
        tap_int(st, MOE_SUCCESS, "%s: fit K = 2", cases[c].file);
        if (!st) {
            moe_fit_stats s = moe_fit_get_stats(f);
            tap_ok(s.loglik >= cases[c].ref - 5e-8, "%s: moefit %.10f >= mixtools hmeEM %.7f "
                   "(%zu iterations)", cases[c].file, s.loglik, cases[c].ref, s.iterations);
        }
        moe_fit_free(f);
        moe_dataset_free(d);
        moe_table_free(t);
    }
}

int main(void)
{
    test_one_level(3, 1);
    test_one_level(2, 2);
    static const size_t t22[] = {2, 2}, t32[] = {3, 2};
    test_monotone(&moe_expert_gaussian, 2, t22, 11);
    test_monotone(&moe_expert_gaussian, 2, t32, 12);
    test_monotone(&moe_expert_poisson, 2, t22, 13);
    test_monotone(&moe_expert_poisson, 2, t32, 14);
    test_contains_flat(21);
    test_recovery();
    test_gate_lrt();
    test_save_load();
    test_bad_trees();
    test_hand_tree();
    test_mixtools();
    return tap_done();
}
