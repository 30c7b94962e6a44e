/* bench_em.c: seconds per EM iteration of the softmax-gated Gaussian mixture of experts for
 * N = 1e4, 1e5 (and 1e6 with --large) rows, D = 5 inputs, K = 4 experts, simulated data; with
 * --flexmix, the same fit timed with R flexmix (bench/flexmix_em.R) when Rscript exists.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Usage: bench/bench_em [--large] [--flexmix] [--iter N] [--srcdir DIR]
 * One EM iteration = the expert and gate M-steps and the fused E-step pass (see
 * src/train/em.c); the time is the mean over --iter iterations (default 20) after a k-means
 * start, with OMP_NUM_THREADS threads. */
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
#include "model/model.h"
#include "moe.h"
#include "train/em.h"

#define D 5
#define K 4

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* N rows: x ~ N(0, I_D), regime drawn from a softmax gate on x, y from that expert. */
static void simulate(size_t n, unsigned long seed, double *x, double *y)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    double beta[K][D + 1], v[K][D + 1];
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j <= D; j++) {
            beta[i][j] = gsl_ran_gaussian(rng, 2);
            v[i][j] = i + 1 < K ? gsl_ran_gaussian(rng, 1.5) : 0;
        }
    for (size_t r = 0; r < n; r++) {
        double eta[K], mx = 0, s = 0;
        for (size_t j = 0; j < D; j++)
            x[r * D + j] = gsl_ran_gaussian(rng, 1);
        for (size_t i = 0; i < K; i++) {
            eta[i] = v[i][0];
            for (size_t j = 0; j < D; j++)
                eta[i] += v[i][j + 1] * x[r * D + j];
            mx = fmax(mx, eta[i]);
        }
        for (size_t i = 0; i < K; i++)
            s += (eta[i] = exp(eta[i] - mx));
        double u = gsl_rng_uniform(rng) * s, acc = 0;
        size_t reg = K - 1;
        for (size_t i = 0; i < K; i++)
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

static double flexmix_seconds(const char *srcdir, const double *x, const double *y, size_t n)
{
    char csv[] = "/tmp/moefit_bench_XXXXXX";
    int fd = mkstemp(csv);
    if (fd < 0)
        return NAN;
    FILE *fp = fdopen(fd, "w");
    fprintf(fp, "x1,x2,x3,x4,x5,y\n");
    for (size_t r = 0; r < n; r++) {
        for (size_t j = 0; j < D; j++)
            fprintf(fp, "%.17g,", x[r * D + j]);
        fprintf(fp, "%.17g\n", y[r]);
    }
    fclose(fp);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "Rscript '%s/bench/flexmix_em.R' bench '%s' %d 2>&1", srcdir, csv,
             K);
    FILE *p = popen(cmd, "r");
    double sec = NAN;
    char line[512];
    while (p && fgets(line, sizeof line, p)) {
        fputs(line, stdout);
        sscanf(line, "SECONDS_PER_ITERATION %lf", &sec);
    }
    if (p)
        pclose(p);
    remove(csv);
    return sec;
}

int main(int argc, char **argv)
{
    int large = 0, flexmix = 0;
    size_t iters = 20;
    const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--large"))
            large = 1;
        else if (!strcmp(argv[a], "--flexmix"))
            flexmix = 1;
        else if (!strcmp(argv[a], "--iter") && a + 1 < argc)
            iters = (size_t)atol(argv[++a]);
        else if (!strcmp(argv[a], "--srcdir") && a + 1 < argc)
            srcdir = argv[++a];
        else {
            fprintf(stderr, "usage: %s [--large] [--flexmix] [--iter N] [--srcdir DIR]\n",
                    argv[0]);
            return 2;
        }
    }
    if (flexmix && system("Rscript --version > /dev/null 2>&1") != 0) {
        printf("Rscript not found: skipping the flexmix comparison\n");
        flexmix = 0;
    }
    size_t sizes[] = {10000, 100000, 1000000};
    size_t nsizes = large ? 3 : 2;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    for (size_t s = 0; s < nsizes; s++) {
        size_t n = sizes[s];
        double *x = malloc(n * D * sizeof *x), *y = malloc(n * sizeof *y);
        moe_dataset *d = NULL;
        if (!x || !y) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        simulate(n, 1, x, y);
        moe_dataset_from_arrays(n, D, x, 0, NULL, y, &d, NULL);
        moe_model *sc = moe_model_alloc(1, D, D);
        moe_model_scaling_from_data(sc, d);
        moe_dataset *ds = moe_model_standardise(sc, d);
        moe_em_params par = {1e-300, iters, 0, 1e-6, 0, NULL, NULL, 0, {0}, 0, MOE_ACT_TANH, 0};
        moe_em_work *w = moe_em_alloc(ds, K, &par);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(rng, 1);
        double t0 = now();
        moe_em_init(w, 1, rng);
        double t1 = now();
        size_t done = 0;
        int st = MOE_SUCCESS;
        while (done < iters && (st = moe_em_iterate(w)) == MOE_SUCCESS)
            done++;
        double t2 = now(), per = (t2 - t1) / (double)(done ? done : 1);
        printf("moefit  N=%zu D=%d K=%d threads=%d: %zu iterations, %.5f s/iteration "
               "(k-means start %.3f s), loglik %.6f%s\n",
               n, D, K, threads, done, per, t1 - t0,
               w->loglik - (double)n * log(sc->y_scale), st ? " (stopped early)" : "");
        fflush(stdout);
        if (flexmix) {
            double fs = flexmix_seconds(srcdir, x, y, n);
            if (isfinite(fs))
                printf("ratio   N=%zu: flexmix / moefit = %.1f\n", n, fs / per);
        }
        gsl_rng_free(rng);
        moe_em_free(w);
        moe_dataset_free(ds);
        moe_dataset_free(d);
        moe_model_free(sc);
        free(x);
        free(y);
    }
    return 0;
}
