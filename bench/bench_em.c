/* bench_em.c: EM of the softmax-gated Gaussian mixture of linear experts on simulated data,
 * against the machine's limit and, with --flexmix, against R flexmix from the same start.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Usage: bench/bench_em [--n N]... [--large] [--d D] [--k K] [--iter I] [--tol T] [--json]
 *                       [--gate-steps S] [--accel] [--flexmix] [--srcdir DIR]
 * Defaults: N = 1e4 and 1e5 (--large adds 1e6; each --n replaces the list), D = 5, K = 4,
 * I = 20, T = 1e-8, S = 0 (moefit's default: one gate Newton step per iteration from
 * MOE_EM_GEM_ROWS rows on, else up to MOE_EM_GATE_STEPS), OMP_NUM_THREADS threads; plain EM
 * unless --accel (SQUAREM, src/train/squarem.c: what moefit does from MOE_EM_GEM_ROWS rows).
 *
 * Like for like (issue 14): the start is one hard partition of the rows, moefit's k-means on
 * the standardised (x, y) (made outside every timer), given to moefit as 0/1 responsibilities
 * (moe_em_init_h) and to flexmix as `cluster =` (bench/flexmix_em.R). Two figures each:
 *  - per iteration: the mean of I iterations after the start. For flexmix, whose one call
 *    also builds its model matrices and starts, that is (T(I + 1) - T(1)) / I of two calls
 *    from the same partition, so only iterations are in it; both log-likelihoods after the
 *    same I iterations are printed (they differ: flexmix refits the gate by nnet's
 *    multinom to convergence every iteration, moefit takes damped Newton steps, a
 *    generalised EM step);
 *  - to convergence: from the same partition until the relative change of the
 *    log-likelihood is below T (at most 1000 iterations), with the log-likelihood each
 *    reaches and its iterations: fair whatever each iteration does.
 * The machine's limit of one iteration is measured here: one read of the data (N (D + 1)
 * doubles) at the measured read bandwidth of one core, or the iteration's multiply-adds at
 * the measured double-precision FMA peak of one core (times the threads), whichever is
 * longer; FMAs per row: the E-step's expert means and gate logits K (D + 1) + (K - 1)(D + 1),
 * the experts' weighted Gram matrices of (1, x, y) K (D + 2)(D + 3) / 2, and the gate's
 * gradient and packed exact Hessian (K - 1)(D + 1) + q (q + 1) / 2 with q = (K - 1)(D + 1):
 * 325 for D = 5, K = 4. The share of the limit reached is limit / measured.
 * Passes per iteration: every pass over the rows (w->passes: the fused E-step pass, the gate's
 * Newton passes, SQUAREM's passes again after a point not kept).
 * With --json: one line per N with the keys of issue 14 (flexmix keys with --flexmix). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <immintrin.h>
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

#define NS_MAX 16

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* N rows of D inputs: x ~ N(0, I), the regime drawn from a softmax gate on x, y from that
 * expert with noise SD 1 (K experts). */
static void simulate(size_t n, size_t d, size_t k, unsigned long seed, double *x, double *y)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    double *beta = malloc(k * (d + 1) * sizeof *beta), *v = malloc(k * (d + 1) * sizeof *v),
           *eta = malloc(k * sizeof *eta);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j <= d; j++) {
            beta[i * (d + 1) + j] = gsl_ran_gaussian(rng, 2);
            v[i * (d + 1) + j] = i + 1 < k ? gsl_ran_gaussian(rng, 1.5) : 0;
        }
    for (size_t r = 0; r < n; r++) {
        double mx = 0, s = 0;
        for (size_t j = 0; j < d; j++)
            x[r * d + j] = gsl_ran_gaussian(rng, 1);
        for (size_t i = 0; i < k; i++) {
            eta[i] = v[i * (d + 1)];
            for (size_t j = 0; j < d; j++)
                eta[i] += v[i * (d + 1) + j + 1] * x[r * d + j];
            mx = fmax(mx, eta[i]);
        }
        for (size_t i = 0; i < k; i++)
            s += (eta[i] = exp(eta[i] - mx));
        double u = gsl_rng_uniform(rng) * s, acc = 0;
        size_t reg = k - 1;
        for (size_t i = 0; i < k; i++)
            if ((acc += eta[i]) > u) {
                reg = i;
                break;
            }
        double mu = beta[reg * (d + 1)];
        for (size_t j = 0; j < d; j++)
            mu += beta[reg * (d + 1) + j + 1] * x[r * d + j];
        y[r] = mu + gsl_ran_gaussian(rng, 1);
    }
    free(beta);
    free(v);
    free(eta);
    gsl_rng_free(rng);
}

/* Read bandwidth of one core, bytes/s: the best of 5 sums over 512 MiB (8 chains). */
static double read_bandwidth(void)
{
    size_t n = (size_t)64 << 20;
    double *a = malloc(n * sizeof *a), best = 0;
    if (!a)
        return NAN;
    for (size_t i = 0; i < n; i++)
        a[i] = (double)(i & 1023);
    for (int r = 0; r < 5; r++) {
        double s[8] = {0}, t0 = now();
        for (size_t i = 0; i < n; i += 8)
            for (int j = 0; j < 8; j++)
                s[j] += a[i + j];
        double t = now() - t0, tot = 0;
        for (int j = 0; j < 8; j++)
            tot += s[j];
        if (tot == 1.5)
            printf(" ");
        best = fmax(best, (double)(n * sizeof *a) / t);
    }
    free(a);
    return best;
}

/* Double-precision FMA peak of one core, flops/s: 16 independent chains of AVX-512 FMAs
 * (AVX2 where the CPU has no AVX-512), the best of 5. */
__attribute__((target("avx512f,fma"))) static double fma_peak_512(void)
{
    double best = 0;
    for (int r = 0; r < 5; r++) {
        __m512d acc[16], m = _mm512_set1_pd(0.999999), c = _mm512_set1_pd(1e-7);
        for (int j = 0; j < 16; j++)
            acc[j] = _mm512_set1_pd((double)j);
        long iters = 5000000;
        double t0 = now();
        for (long i = 0; i < iters; i++) {
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++)
                acc[j] = _mm512_fmadd_pd(acc[j], m, c);
        }
        double t = now() - t0, sink = 0;
        for (int j = 0; j < 16; j++)
            sink += _mm512_reduce_add_pd(acc[j]);
        if (sink == 12345)
            printf(" ");
        best = fmax(best, 2.0 * 8 * 16 * (double)iters / t);
    }
    return best;
}

__attribute__((target("avx2,fma"))) static double fma_peak_256(void)
{
    double best = 0;
    for (int r = 0; r < 5; r++) {
        __m256d acc[12], m = _mm256_set1_pd(0.999999), c = _mm256_set1_pd(1e-7);
        for (int j = 0; j < 12; j++)
            acc[j] = _mm256_set1_pd((double)j);
        long iters = 5000000;
        double t0 = now();
        for (long i = 0; i < iters; i++) {
#pragma GCC unroll 12
            for (int j = 0; j < 12; j++)
                acc[j] = _mm256_fmadd_pd(acc[j], m, c);
        }
        double t = now() - t0, sink = 0;
        double out[4];
        for (int j = 0; j < 12; j++) {
            _mm256_storeu_pd(out, acc[j]);
            sink += out[0] + out[1] + out[2] + out[3];
        }
        if (sink == 12345)
            printf(" ");
        best = fmax(best, 2.0 * 4 * 12 * (double)iters / t);
    }
    return best;
}

static double fma_peak(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return fma_peak_512();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return fma_peak_256();
    return NAN;
}

/* Multiply-adds per row of one iteration (see the top of the file). */
static double fmas_per_row(size_t d, size_t k)
{
    double q = (double)((k - 1) * (d + 1));
    return (double)(k * (d + 1) + (k - 1) * (d + 1)) + (double)(k * (d + 2) * (d + 3)) / 2 +
           q + q * (q + 1) / 2;
}

/* What flexmix_em.R printed: seconds per iteration and the logLik after I iterations, the
 * seconds, iterations and logLik to convergence. */
typedef struct flex_result {
    double s_per_iter, loglik_iter, s_conv, loglik_conv;
    long iter_conv;
} flex_result;

/* Writes the data and the partition PART to temporary CSV files and runs
 * bench/flexmix_em.R same FILE K I TOL PARTFILE; NaNs when it fails. */
static flex_result run_flexmix(const char *srcdir, const double *x, const double *y, size_t n,
                               size_t d, size_t k, const int *part, size_t iters, double tol,
                               int quiet)
{
    flex_result fr = {NAN, NAN, NAN, NAN, -1};
    char csv[] = "/tmp/moefit_bench_XXXXXX", pcsv[] = "/tmp/moefit_part_XXXXXX";
    int fd = mkstemp(csv), pd = mkstemp(pcsv);
    if (fd < 0 || pd < 0)
        return fr;
    FILE *fp = fdopen(fd, "w"), *pp = fdopen(pd, "w");
    for (size_t j = 0; j < d; j++)
        fprintf(fp, "x%zu,", j + 1);
    fprintf(fp, "y\n");
    fprintf(pp, "cluster\n");
    for (size_t r = 0; r < n; r++) {
        for (size_t j = 0; j < d; j++)
            fprintf(fp, "%.17g,", x[r * d + j]);
        fprintf(fp, "%.17g\n", y[r]);
        fprintf(pp, "%d\n", part[r] + 1);
    }
    fclose(fp);
    fclose(pp);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "Rscript '%s/bench/flexmix_em.R' same '%s' %zu %zu %g '%s' 2>&1",
             srcdir, csv, k, iters, tol, pcsv);
    FILE *p = popen(cmd, "r");
    char line[512];
    while (p && fgets(line, sizeof line, p)) {
        if (!quiet)
            fputs(line, stdout);
        sscanf(line, "PER_ITERATION %lf %lf", &fr.s_per_iter, &fr.loglik_iter);
        sscanf(line, "TO_CONVERGE %lf %ld %lf", &fr.s_conv, &fr.iter_conv, &fr.loglik_conv);
    }
    if (p)
        pclose(p);
    remove(csv);
    remove(pcsv);
    return fr;
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--n N]... [--large] [--d D] [--k K] [--iter I] [--tol T] "
            "[--json] [--gate-steps S] [--accel] [--flexmix] [--srcdir DIR]\n", prog);
}

int main(int argc, char **argv)
{
    int large = 0, flexmix = 0, json = 0;
    size_t iters = 20, d = 5, k = 4, ns = 0, sizes[NS_MAX], gate_steps = 0;
    int accel = 0;
    double tol = 1e-8;
    const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--large"))
            large = 1;
        else if (!strcmp(argv[a], "--flexmix"))
            flexmix = 1;
        else if (!strcmp(argv[a], "--json"))
            json = 1;
        else if (!strcmp(argv[a], "--iter") && a + 1 < argc)
            iters = (size_t)atol(argv[++a]);
        else if (!strcmp(argv[a], "--d") && a + 1 < argc)
            d = (size_t)atol(argv[++a]);
        else if (!strcmp(argv[a], "--k") && a + 1 < argc)
            k = (size_t)atol(argv[++a]);
        else if (!strcmp(argv[a], "--gate-steps") && a + 1 < argc)
            gate_steps = (size_t)atol(argv[++a]);
        else if (!strcmp(argv[a], "--accel"))
            accel = 1;
        else if (!strcmp(argv[a], "--tol") && a + 1 < argc)
            tol = atof(argv[++a]);
        else if (!strcmp(argv[a], "--n") && a + 1 < argc && ns < NS_MAX)
            sizes[ns++] = (size_t)atof(argv[++a]);
        else if (!strcmp(argv[a], "--srcdir") && a + 1 < argc)
            srcdir = argv[++a];
        else {
            usage(argv[0]);
            return 2;
        }
    }
    if (d < 1 || k < 2 || k > MOE_K_MAX || iters < 1 || !(tol > 0)) {
        usage(argv[0]);
        return 2;
    }
    if (!ns) {
        sizes[ns++] = 10000;
        sizes[ns++] = 100000;
        if (large)
            sizes[ns++] = 1000000;
    }
    if (flexmix && system("Rscript -e 'suppressMessages(library(flexmix))' > /dev/null 2>&1")) {
        printf("Rscript or flexmix not found: skipping the flexmix comparison\n");
        flexmix = 0;
    }
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    double bw = read_bandwidth(), peak = fma_peak();
    if (!json)
        printf("machine: read bandwidth %.1f GB/s, FMA peak %.1f GFLOP/s (one core, double)\n",
               bw * 1e-9, peak * 1e-9);
    for (size_t s = 0; s < ns; s++) {
        size_t n = sizes[s];
        double *x = malloc(n * d * sizeof *x), *y = malloc(n * sizeof *y),
               *h = calloc(n * k, sizeof *h);
        int *part = malloc(n * sizeof *part);
        moe_dataset *data = NULL;
        if (!x || !y || !h || !part) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        simulate(n, d, k, 1, x, y);
        moe_dataset_from_arrays(n, d, x, d, x, y, &data, NULL);
        moe_model *sc = moe_model_alloc(1, d, d);
        moe_model_scaling_from_data(sc, data);
        moe_dataset *ds = moe_model_standardise(sc, data);
        double shift = (double)n * log(sc->y_scale);
        moe_em_params par = {.tol = tol, .max_iter = 1000, .var_floor = 1e-6,
                             .activation = MOE_ACT_TANH, .gate_steps = gate_steps,
                             .accel = accel};
        moe_em_work *w = moe_em_alloc(ds, k, &par);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(rng, 1);
        if (!w || moe_em_init(w, 1, rng) != MOE_SUCCESS) {
            fprintf(stderr, "N = %zu: no k-means start\n", n);
            return 1;
        }
        /* the shared start: the k-means start's hard partition */
        for (size_t r = 0; r < n; r++) {
            size_t best = 0;
            for (size_t i = 1; i < k; i++)
                if (w->h[r * k + i] > w->h[r * k + best])
                    best = i;
            part[r] = (int)best;
            h[r * k + best] = 1;
        }
        /* per iteration: I iterations after the start */
        double t0 = now();
        int st = moe_em_init_h(w, h);
        double t1 = now();
        size_t done = 0, passes0 = w->passes;
        while (st == MOE_SUCCESS && done < iters && (st = moe_em_iterate(w)) == MOE_SUCCESS)
            done++;
        double t2 = now(), per = (t2 - t1) / (double)(done ? done : 1);
        double passes = (double)(w->passes - passes0) / (double)(done ? done : 1);
        double ll_iter = w->loglik - shift;
        /* to convergence from the same start */
        double t3 = now();
        st = moe_em_init_h(w, h);
        size_t passes1 = w->passes;
        int t = MOE_CONTINUE;
        while (st == MOE_SUCCESS && (st = moe_em_iterate(w)) == MOE_SUCCESS &&
               (t = moe_em_test(w)) == MOE_CONTINUE)
            ;
        double s_conv = now() - t3, ll_conv = w->loglik - shift;
        size_t it_conv = w->iter, passes_conv = w->passes - passes1;
        double limit = fmax((double)(n * (d + 1) * sizeof(double)) / bw,
                            2 * fmas_per_row(d, k) * (double)n / (peak * threads));
        flex_result fr = {NAN, NAN, NAN, NAN, -1};
        if (flexmix)
            fr = run_flexmix(srcdir, x, y, n, d, k, part, iters, tol, json);
        if (json) {
            printf("{\"n\": %zu, \"d\": %zu, \"k\": %zu, \"threads\": %d, \"ranks\": 1, "
                   "\"gate_steps\": %zu, \"accel\": %d, "
                   "\"s_per_iter\": %.6g, \"passes_per_iter\": %.3g, \"limit_s_per_iter\": %.6g, "
                   "\"share_of_limit\": %.4g, \"loglik\": %.10g, \"iterations\": %zu, "
                   "\"s_to_converge\": %.6g, \"iterations_to_converge\": %zu, "
                   "\"passes_to_converge\": %zu, \"loglik_converged\": %.10g", n, d, k,
                   threads, gate_steps, accel, per, passes, limit, limit / per, ll_iter, done,
                   s_conv, it_conv, passes_conv, ll_conv);
            if (flexmix)
                printf(", \"flexmix_s_per_iter\": %.6g, \"flexmix_loglik\": %.10g, "
                       "\"flexmix_s_to_converge\": %.6g, \"flexmix_iterations_to_converge\": %ld, "
                       "\"flexmix_loglik_converged\": %.10g, \"ratio_per_iter\": %.4g, "
                       "\"ratio_to_converge\": %.4g", fr.s_per_iter, fr.loglik_iter, fr.s_conv,
                       fr.iter_conv, fr.loglik_conv, fr.s_per_iter / per, fr.s_conv / s_conv);
            printf("}\n");
        } else {
            printf("moefit  N=%zu D=%zu K=%zu threads=%d: %.5f s/iteration (%zu iterations, "
                   "%.2f passes each; start %.3f s), loglik %.6f%s; limit %.2e s (%.1f%% of it)"
                   "\n        to converge: %.3f s, %zu iterations, %zu passes, loglik %.6f%s\n",
                   n, d, k, threads, per, done, passes, t1 - t0, ll_iter,
                   st ? " (stopped early)" : "", limit, 100 * limit / per, s_conv, it_conv,
                   passes_conv, ll_conv,
                   t == MOE_EMAXITER ? " (max_iter)" : "");
            if (flexmix && isfinite(fr.s_per_iter))
                printf("ratio   N=%zu: flexmix / moefit = %.1f per iteration, %.1f to converge\n",
                       n, fr.s_per_iter / per, fr.s_conv / s_conv);
        }
        fflush(stdout);
        gsl_rng_free(rng);
        moe_em_free(w);
        moe_dataset_free(ds);
        moe_dataset_free(data);
        moe_model_free(sc);
        free(x);
        free(y);
        free(h);
        free(part);
    }
    return 0;
}
