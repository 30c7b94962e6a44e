/* bench_gd.c: seconds per gradient-descent epoch (nll loss, Adam) of the softmax-gated mixture
 * of K = 4 Gaussian linear experts (or, with --family mlp:16, MLP experts) on D = 5 inputs,
 * N = 1e5 and 1e6 simulated rows, full batch and batch 256, with OMP_NUM_THREADS threads;
 * bench/bench_gd.py times the same model and loss in PyTorch.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Usage: bench/bench_gd [--epochs E] [--repeat R] [--small] [--n N] [--batch B] [--family F]
 *   --small: N = 1e4 and 1e5; --n / --batch: only that size / batch (0 = full batch).
 * An epoch is one pass of src/train/gd.c over the rows: the shuffle into a copy (batch 256),
 * then per batch the fused loss-and-gradient pass of src/train/loss.c over fixed row blocks,
 * the Adam step and the model update. It is timed from the start of moe_gd_run to the
 * progress callback after the last epoch, so the loss pass moe_gd_run makes once at the end
 * (the loss at the final parameters) is left out of s/epoch and printed apart ("final s").
 * The time is the mean over E epochs (default 3 at full batch, 1 at batch 256) after one
 * warm-up epoch; with --repeat R each cell is timed R times and the smallest mean printed.
 * "cpu s/epoch" is the same for the process's CPU time (all threads together; the smallest of
 * the repeats), which a shared machine's lost time slices do not inflate. */
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
#include "experts/expert.h"
#include "gates/gate.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "moe.h"
#include "train/gd.h"

#define D 5
#define K 4

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (every thread), which time slices lost to other
 * processes on a shared machine do not inflate. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* N standardised-looking rows: x ~ N(0, I_D), a regime from a softmax gate, y from its line. */
static moe_dataset *simulate(size_t n, unsigned long seed)
{
    moe_dataset *d = moe_dataset_alloc(n, D, D, 1);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    double beta[K][D + 1], v[K][D + 1];
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j <= D; j++) {
            beta[i][j] = gsl_ran_gaussian(rng, 1);
            v[i][j] = i + 1 < K ? gsl_ran_gaussian(rng, 1) : 0;
        }
    for (size_t r = 0; r < n; r++) {
        double *x = d->x + r * (D + 1), eta[K], mx = 0, s = 0;
        for (size_t j = 1; j <= D; j++)
            x[j] = d->z[r * (D + 1) + j] = gsl_ran_gaussian(rng, 1);
        for (size_t i = 0; i < K; i++) {
            eta[i] = 0;
            for (size_t j = 0; j <= D; j++)
                eta[i] += v[i][j] * x[j];
            mx = fmax(mx, eta[i]);
        }
        for (size_t i = 0; i < K; i++)
            s += (eta[i] = exp(eta[i] - mx));
        double u = gsl_rng_uniform(rng) * s, c = 0;
        size_t reg = K - 1;
        for (size_t i = 0; i < K; i++)
            if (u < (c += eta[i])) {
                reg = i;
                break;
            }
        double mu = 0;
        for (size_t j = 0; j <= D; j++)
            mu += beta[reg][j] * x[j];
        d->y[r] = mu + 0.3 * gsl_ran_gaussian(rng, 1);
    }
    gsl_rng_free(rng);
    return d;
}

struct clock_data {
    double last, cpu_last;  /* wall and CPU time of the latest progress callback */
};

static void on_epoch(size_t epoch, double loss, void *data)
{
    (void)epoch;
    (void)loss;
    ((struct clock_data *)data)->last = now();
    ((struct clock_data *)data)->cpu_last = cpu_now();
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_gd [--epochs E] [--repeat R] [--small] [--n N] [--batch B] "
                    "[--family F]\n");
    exit(64);
}

int main(int argc, char **argv)
{
    size_t epochs_arg = 0, repeat = 1, sizes[2] = {100000, 1000000}, nsizes = 2;
    size_t batches[2] = {0, 256}, nbatches = 2;
    const moe_expert_type *et = &moe_expert_gaussian;
    moe_expert_shape es = {D, 0, MOE_ACT_TANH};
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--epochs") == 0 && a + 1 < argc)
            epochs_arg = (size_t)strtoul(argv[++a], NULL, 10);
        else if (strcmp(argv[a], "--repeat") == 0 && a + 1 < argc)
            repeat = (size_t)strtoul(argv[++a], NULL, 10);
        else if (strcmp(argv[a], "--n") == 0 && a + 1 < argc) {
            sizes[0] = (size_t)strtoul(argv[++a], NULL, 10);
            nsizes = 1;
        } else if (strcmp(argv[a], "--batch") == 0 && a + 1 < argc) {
            batches[0] = (size_t)strtoul(argv[++a], NULL, 10);
            nbatches = 1;
        } else if (strcmp(argv[a], "--family") == 0 && a + 1 < argc) {
            const char *why = moe_expert_spec_parse(argv[++a], &et, &es);
            es.nx = D;
            if (why) {
                fprintf(stderr, "bench_gd: %s\n", why);
                usage();
            }
        } else if (strcmp(argv[a], "--small") == 0) {
            sizes[0] = 10000;
            sizes[1] = 100000;
        } else {
            usage();
        }
    }
    if (repeat == 0 || sizes[0] < 2)
        usage();
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    char spec[64];
    moe_expert_spec_format(et, &es, spec, sizeof spec);
    printf("bench_gd: nll loss, Adam, K = %d %s experts, D = %d, %d thread%s, kernels %s\n", K,
           spec, D, threads, threads == 1 ? "" : "s", moe_kernels_get()->name);
    printf("%10s %8s %14s %14s %14s %10s\n", "N", "batch", "s/epoch", "rows/s", "cpu s/epoch",
           "final s");
    for (size_t si = 0; si < nsizes; si++) {
        size_t n = sizes[si];
        moe_dataset *d = simulate(n, 42);
        for (size_t bi = 0; bi < nbatches; bi++) {
            size_t epochs = epochs_arg ? epochs_arg : batches[bi] ? 1 : 3;
            double best = INFINITY, fin = INFINITY, cbest = INFINITY;
            int diverged = 0;
            for (size_t rep = 0; rep < repeat; rep++) {
                moe_model *m = moe_model_alloc_typed(et, &moe_gate_softmax, K, &es, D);
                size_t np = moe_model_nparams(m);
                double *theta = calloc(np, sizeof *theta);
                gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
                if (!m || !theta || !rng) {
                    fprintf(stderr, "bench_gd: out of memory\n");
                    return 70;
                }
                for (size_t j = 0; j < np; j++)
                    theta[j] = 0.1 * gsl_ran_gaussian(rng, 1);
                moe_model_set_theta(m, theta);
                moe_gd_params p = {MOE_LOSS_NLL, MOE_OPTIM_ADAM, 0.01, 0.9, batches[bi], 1,
                                   100, 0, 1e-6, MOE_AUX_NONE, 0, 0, 0, 0, 0};
                moe_gd_work *w = moe_gd_alloc(d, NULL, m, &p);
                if (!w) {
                    fprintf(stderr, "bench_gd: out of memory\n");
                    return 70;
                }
                moe_gd_run(w, m, rng, NULL, NULL);  /* warm-up epoch */
                moe_gd_free(w);
                p.epochs = epochs;
                w = moe_gd_alloc(d, NULL, m, &p);
                if (!w) {
                    fprintf(stderr, "bench_gd: out of memory\n");
                    return 70;
                }
                struct clock_data cd;
                double c0 = cpu_now(), t0 = now();
                cd.last = t0;
                cd.cpu_last = c0;
                int st = moe_gd_run(w, m, rng, on_epoch, &cd);
                double t1 = now(), dt = (cd.last - t0) / (double)epochs;
                double ct = (cd.cpu_last - c0) / (double)epochs;
                if (ct < cbest)
                    cbest = ct;
                diverged |= st != MOE_SUCCESS;
                if (dt < best)
                    best = dt;
                if (t1 - cd.last < fin)
                    fin = t1 - cd.last;
                moe_gd_free(w);
                gsl_rng_free(rng);
                free(theta);
                moe_model_free(m);
            }
            printf("%10zu %8zu %14.5f %14.4g %14.5f %10.5f%s\n", n, batches[bi], best,
                   (double)n / best, cbest, fin, diverged ? "  (diverged)" : "");
            fflush(stdout);
        }
        moe_dataset_free(d);
    }
    return 0;
}
