/* bench_hme.c: seconds per EM iteration of a hierarchical mixture of experts (a depth-2 tree
 * gate with K leaves) against the flat softmax-gated model of the same K on the same data:
 * N = 1e4, 1e5 (and 1e6 with --large) rows, D = 5 inputs, Gaussian experts, trees 2x2 vs
 * K = 4 and 2x4, 4x2 vs K = 8.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Usage: bench/bench_hme [--large] [--iter N] [--repeat R]
 * Both models start from the same k-means responsibilities (K clusters, seed 1) and run
 * --iter (default 20) iterations; one iteration is the experts' M-step, the gate's M-step
 * (Newton steps with step-halving, up to 20, each one pass over the data; a tree's nodes
 * each take their own, and a pass works only on the nodes still running) and the fused
 * E-step pass (src/train/em.c). Each timing is the best of --repeat (default 1) runs, the
 * same iterations every time (the machine is shared: the smallest is the least disturbed).
 * The ratio tree / flat is the figure (target <= 1.5). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "data/dataset.h"
#include "gates/gate.h"
#include "model/model.h"
#include "moe.h"
#include "train/em.h"

#define D 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* N rows: x ~ N(0, I_D), y from one of 8 random lines picked by a random softmax on x. */
static void simulate(size_t n, double *x, double *y)
{
    enum { KS = 8 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    double beta[KS][D + 1], v[KS][D + 1];
    for (size_t i = 0; i < KS; i++)
        for (size_t j = 0; j <= D; j++) {
            beta[i][j] = gsl_ran_gaussian(rng, 2);
            v[i][j] = gsl_ran_gaussian(rng, 1.5);
        }
    for (size_t r = 0; r < n; r++) {
        double eta[KS], mx = -INFINITY, s = 0;
        for (size_t j = 0; j < D; j++)
            x[r * D + j] = gsl_ran_gaussian(rng, 1);
        for (size_t i = 0; i < KS; i++) {
            eta[i] = v[i][0];
            for (size_t j = 0; j < D; j++)
                eta[i] += v[i][j + 1] * x[r * D + j];
            mx = fmax(mx, eta[i]);
        }
        for (size_t i = 0; i < KS; i++)
            s += (eta[i] = exp(eta[i] - mx));
        double u = gsl_rng_uniform(rng) * s, acc = 0;
        size_t reg = KS - 1;
        for (size_t i = 0; i < KS; i++)
            if ((acc += eta[i]) > u) {
                reg = i;
                break;
            }
        double mu = beta[reg][0];
        for (size_t j = 0; j < D; j++)
            mu += beta[reg][j + 1] * x[r * D + j];
        y[r] = mu + gsl_ran_gaussian(rng, 1);
    }
    gsl_rng_free(rng);
}

/* Seconds per iteration of ITERS EM iterations on DS for K experts (a tree when DEPTH). */
static double time_em_once(const moe_dataset *ds, size_t k, size_t depth, const size_t *br,
                           size_t iters, double *loglik, double *passes)
{
    moe_em_params par = {1e-300, iters, 0, 1e-6, 0, NULL, depth ? &moe_gate_tree : NULL, depth,
                         {0}, 0, MOE_ACT_TANH, 0, NULL, 0};
    for (size_t l = 0; l < depth; l++)
        par.tree[l] = br[l];
    moe_em_work *w = moe_em_alloc(ds, k, &par);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    moe_em_init(w, 1, rng);
    size_t done = 0;
    double t0 = now();
    while (done < iters && moe_em_iterate(w) == MOE_SUCCESS)
        done++;
    double per = (now() - t0) / (double)(done ? done : 1);
    *loglik = w->loglik;
    /* passes over the rows per iteration: the fused E-step pass and the gate's Newton ones */
    *passes = 1 + (double)w->gate_passes / (double)(done ? done : 1);
    gsl_rng_free(rng);
    moe_em_free(w);
    return per;
}

/* The smallest of REPEAT timings of time_em_once (the same run each time). */
static double time_em(const moe_dataset *ds, size_t k, size_t depth, const size_t *br,
                      size_t iters, size_t repeat, double *loglik, double *passes)
{
    double best = INFINITY;
    for (size_t r = 0; r < repeat; r++) {
        double per = time_em_once(ds, k, depth, br, iters, loglik, passes);
        if (per < best)
            best = per;
    }
    return best;
}

int main(int argc, char **argv)
{
    int large = 0;
    size_t iters = 20, repeat = 1;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--large"))
            large = 1;
        else if (!strcmp(argv[a], "--iter") && a + 1 < argc)
            iters = (size_t)atol(argv[++a]);
        else if (!strcmp(argv[a], "--repeat") && a + 1 < argc && atol(argv[a + 1]) > 0)
            repeat = (size_t)atol(argv[++a]);
        else {
            fprintf(stderr, "usage: %s [--large] [--iter N] [--repeat R]\n", argv[0]);
            return 2;
        }
    }
    static const struct { size_t k, depth, br[2]; } trees[] = {
        {4, 2, {2, 2}}, {8, 2, {2, 4}}, {8, 2, {4, 2}}};
    size_t sizes[] = {10000, 100000, 1000000}, nsizes = large ? 3 : 2;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    for (size_t s = 0; s < nsizes; s++) {
        size_t n = sizes[s];
        double *x = malloc(n * D * sizeof *x), *y = malloc(n * sizeof *y);
        if (!x || !y)
            return 1;
        simulate(n, x, y);
        moe_dataset *d = NULL;
        moe_dataset_from_arrays(n, D, x, 0, NULL, y, &d, NULL);
        moe_model *sc = moe_model_alloc(1, D, D);
        moe_model_scaling_from_data(sc, d);
        moe_dataset *ds = moe_model_standardise(sc, d);
        for (size_t t = 0; t < sizeof trees / sizeof trees[0]; t++) {
            double llf, llt, qf, qt;
            double pf = time_em(ds, trees[t].k, 0, NULL, iters, repeat, &llf, &qf);
            double pt = time_em(ds, trees[t].k, trees[t].depth, trees[t].br, iters, repeat,
                                &llt, &qt);
            printf("N=%zu D=%d threads=%d: flat K=%zu %.5f s/iter (%.1f passes), tree %zux%zu "
                   "%.5f s/iter (%.1f passes): tree/flat %.2f per iteration, %.2f per pass\n",
                   n, D, threads, trees[t].k, pf, qf, trees[t].br[0], trees[t].br[1], pt, qt,
                   pt / pf, (pt / qt) / (pf / qf));
            fflush(stdout);
        }
        moe_dataset_free(ds);
        moe_dataset_free(d);
        moe_model_free(sc);
        free(x);
        free(y);
    }
    return 0;
}
