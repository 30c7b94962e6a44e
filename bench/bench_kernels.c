/* bench_kernels.c: each SIMD kernel's speed against the scalar reference, for every kernel set
 * this machine runs, and the EM iteration time per set at N = 1e5 and 1e6 (D = 5, K = 4), with
 * the machine's limit measured in the same run (read bandwidth and FMA peak).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Usage: bench/bench_kernels [--iter I] [--n N] [--no-em]
 * The kernels are timed on the sizes EM gives them (posterior_rows and vexp on 32-row chunks
 * of K = 4, wgram_rows on a 4096-row block with P = 6 and a stride of K, ger on the softmax
 * gate's 6 pair blocks of 21 packed entries), best of 5 repetitions. The limit of one pass
 * over the rows is max(bytes / bandwidth, multiply-adds / FMA peak), with the bytes and
 * multiply-adds of one row counted below (row_bytes, row_fmas); EM's iteration makes one fused
 * pass plus one pass per gate Newton step, so the limit of an iteration is stated per pass. */
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
#include "kernels/kernels.h"
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

/* ---------------------------------------------------------------- the machine's limit */

/* Read bandwidth (bytes/s) of one thread summing a 512 MiB array, best of 3. */
static double read_bandwidth(void)
{
    size_t n = (size_t)64 << 20;
    double *a = malloc(n * sizeof *a), best = 0, sink = 0;
    if (!a)
        return NAN;
    for (size_t i = 0; i < n; i++)
        a[i] = (double)(i & 1023);
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now(), s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (size_t i = 0; i < n; i += 8) {
            s0 += a[i];
            s1 += a[i + 1];
            s2 += a[i + 2];
            s3 += a[i + 3];
            s4 += a[i + 4];
            s5 += a[i + 5];
            s6 += a[i + 6];
            s7 += a[i + 7];
        }
        double t = now() - t0;
        sink += s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
        best = fmax(best, (double)(n * sizeof *a) / t);
    }
    free(a);
    if (sink == 42)
        printf("#\n");
    return best;
}

/* Double-precision FMA peak of one core (multiply-adds per second): 16 independent chains of
 * vector FMAs, enough to cover the latency of two FMA pipes. Compiled for the ISA by a target
 * attribute and called only when CPUID and XCR0 allow it. */
__attribute__((target("avx512f,fma"))) static double fma_peak_avx512(long iters)
{
    __m512d acc[16], m = _mm512_set1_pd(0.999999), c = _mm512_set1_pd(1e-9);
    for (int j = 0; j < 16; j++)
        acc[j] = _mm512_set1_pd(1.0 + j);
    double t0 = now();
    for (long i = 0; i < iters; i++)
        for (int j = 0; j < 16; j++)
            acc[j] = _mm512_fmadd_pd(acc[j], m, c);
    double t = now() - t0;
    __m512d s = acc[0];
    for (int j = 1; j < 16; j++)
        s = _mm512_add_pd(s, acc[j]);
    double out[8];
    _mm512_storeu_pd(out, s);
    if (out[0] == 42)
        printf("#\n");
    return (double)iters * 16 * 8 / t;
}

__attribute__((target("avx2,fma"))) static double fma_peak_avx2(long iters)
{
    __m256d acc[12], m = _mm256_set1_pd(0.999999), c = _mm256_set1_pd(1e-9);
    for (int j = 0; j < 12; j++)
        acc[j] = _mm256_set1_pd(1.0 + j);
    double t0 = now();
    for (long i = 0; i < iters; i++)
        for (int j = 0; j < 12; j++)
            acc[j] = _mm256_fmadd_pd(acc[j], m, c);
    double t = now() - t0;
    __m256d s = acc[0];
    for (int j = 1; j < 12; j++)
        s = _mm256_add_pd(s, acc[j]);
    double out[4];
    _mm256_storeu_pd(out, s);
    if (out[0] == 42)
        printf("#\n");
    return (double)iters * 12 * 4 / t;
}

static double fma_peak(const char **isa)
{
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        if (moe_kernels_cpu_has_avx512()) {
            *isa = "AVX-512";
            best = fmax(best, fma_peak_avx512(20000000));
        } else if (moe_kernels_cpu_has_avx2()) {
            *isa = "AVX2";
            best = fmax(best, fma_peak_avx2(20000000));
        } else {
            *isa = "none";
            return NAN;
        }
    }
    return best;
}

/* Bytes one pass reads per row: x~ and z~ (P = D + 1 each), y, and h (K) read and written. */
static double row_bytes(void) { return 8.0 * (2 * (D + 1) + 1 + 2 * K); }

/* Multiply-adds of one row in the fused pass: the E-step's K densities (P each) and K - 1
 * gate logits (P each), the K Gram blocks (P(P+1)/2 + P + 2 each) and the gate's gradient
 * ((K-1) P) and exact Hessian ((K-1)K/2 blocks of P(P+1)/2); the exps are counted apart. */
static double row_fmas(void)
{
    double p = D + 1, q = p * (p + 1) / 2;
    return K * p + (K - 1) * p + K * (q + p + 2) + (K - 1) * p + (K - 1) * K / 2.0 * q;
}

/* ---------------------------------------------------------------- kernel timings */

typedef struct {
    double *a, *h, *lp, *x, *y, *w, *s, *alpha, *zz, *blk, *pw;
} kbufs;

/* Seconds per call of kernel WHICH (0 vexp, 1 posterior_rows, 2 wgram_rows, 3 ger,
 * 4 ger_rows) of T,
 * best of 5 runs of REPS calls. */
static double time_kernel(const moe_kernels *t, int which, kbufs *b, long reps)
{
    double best = INFINITY;
    for (int run = 0; run < 5; run++) {
        double t0 = now();
        for (long r = 0; r < reps; r++) {
            switch (which) {
            case 0: t->vexp(32 * K, b->a + (r & 31) * 32 * K, b->h); break;
            case 1: t->posterior_rows(32, K, b->a + (r & 31) * 32 * K, b->h, b->lp); break;
            case 2: t->wgram_rows(4096, D + 1, b->x, D + 1, b->y, b->w + (r & 3), K, b->s); break;
            case 3: t->ger(6, 21, b->alpha, b->zz + (r & 63) * 21, b->blk); break;
            default: t->ger_rows(32, 6, 21, b->pw, 6, b->zz + (r & 31) * 21, 21, b->blk); break;
            }
        }
        best = fmin(best, (now() - t0) / (double)reps);
    }
    return best;
}

static void bench_kernels(const moe_kernels *const *sets, size_t nsets)
{
    kbufs b;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    b.a = malloc(32 * 32 * K * sizeof(double));
    b.h = malloc(32 * K * sizeof(double));
    b.lp = malloc(32 * sizeof(double));
    b.x = malloc(4096 * (D + 1) * sizeof(double));
    b.y = malloc(4096 * sizeof(double));
    b.w = malloc((4096 * K + 4) * sizeof(double));
    b.s = calloc(2 + 6 + 21, sizeof(double));
    b.alpha = malloc(6 * sizeof(double));
    b.zz = malloc(64 * 21 * sizeof(double));
    b.blk = calloc(6 * 21, sizeof(double));
    b.pw = malloc(32 * 6 * sizeof(double));
    for (size_t i = 0; i < 32 * 6; i++)
        b.pw[i] = 1e-3 * gsl_rng_uniform(rng);
    for (size_t i = 0; i < 32 * 32 * K; i++)
        b.a[i] = -30 * gsl_rng_uniform(rng);
    for (size_t i = 0; i < 4096 * (D + 1); i++)
        b.x[i] = gsl_ran_gaussian(rng, 1);
    for (size_t i = 0; i < 4096; i++)
        b.y[i] = gsl_ran_gaussian(rng, 1);
    for (size_t i = 0; i < 4096 * K + 4; i++)
        b.w[i] = gsl_rng_uniform(rng);
    for (size_t i = 0; i < 6; i++)
        b.alpha[i] = 1e-3 * gsl_rng_uniform(rng);
    for (size_t i = 0; i < 64 * 21; i++)
        b.zz[i] = gsl_ran_gaussian(rng, 1);
    static const char *names[] = {"vexp", "posterior_rows", "wgram_rows", "ger", "ger_rows"};
    static const char *units[] = {"128 exps (32 rows x K = 4)", "32 rows, K = 4",
                                  "4096 rows, P = 6", "6 x 21 (one row's Hessian)",
                                  "32 rows of 6 x 21"};
    static const long reps[] = {200000, 100000, 500, 1000000, 50000};
    printf("\nKernels (one thread; ns per call, best of 5; speed-up over ref):\n");
    printf("%-15s %-28s", "kernel", "call");
    for (size_t s = 0; s < nsets; s++)
        printf(" %12s", sets[s]->name);
    printf("\n");
    for (int k = 0; k < 5; k++) {
        double tref = 0;
        printf("%-15s %-28s", names[k], units[k]);
        for (size_t s = 0; s < nsets; s++) {
            double sec = time_kernel(sets[s], k, &b, reps[k]);
            if (s == 0)
                tref = sec;
            char cell[40];
            if (s == 0)
                snprintf(cell, sizeof cell, "%.1f", sec * 1e9);
            else
                snprintf(cell, sizeof cell, "%.1f (%.1fx)", sec * 1e9, tref / sec);
            printf(" %12s", cell);
        }
        printf("\n");
    }
    double flops = 4096.0 * (2 * 21 + 2 * 6 + 3);
    printf("wgram_rows GFLOP/s:");
    for (size_t s = 0; s < nsets; s++)
        printf(" %s %.2f", sets[s]->name, flops / time_kernel(sets[s], 2, &b, 500) * 1e-9);
    printf("\n");
    free(b.a);
    free(b.h);
    free(b.lp);
    free(b.x);
    free(b.y);
    free(b.w);
    free(b.s);
    free(b.alpha);
    free(b.zz);
    free(b.blk);
    free(b.pw);
    gsl_rng_free(rng);
}

/* ---------------------------------------------------------------- EM iterations */

/* N rows: x ~ N(0, I_D), regime from a softmax gate on x, y from that expert (as bench_em). */
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

/* Seconds per EM iteration (mean over ITERS after a k-means start) with kernel set T. */
static double em_seconds(const moe_kernels *t, const moe_dataset *ds, size_t iters,
                         double *loglik)
{
    moe_kernels_force(t);
    moe_em_params par = {1e-300, iters, 0, 1e-6, 0, NULL, NULL, 0, {0}, 0, MOE_ACT_TANH, 0, NULL, 0};
    moe_em_work *w = moe_em_alloc(ds, K, &par);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    moe_em_init(w, 1, rng);
    double t0 = now();
    size_t done = 0;
    while (done < iters && moe_em_iterate(w) == MOE_SUCCESS)
        done++;
    double per = (now() - t0) / (double)(done ? done : 1);
    *loglik = w->loglik;
    gsl_rng_free(rng);
    moe_em_free(w);
    return per;
}

int main(int argc, char **argv)
{
    size_t iters = 10, only_n = 0;
    int em = 1;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--iter") && a + 1 < argc)
            iters = (size_t)atol(argv[++a]);
        else if (!strcmp(argv[a], "--n") && a + 1 < argc)
            only_n = (size_t)atol(argv[++a]);
        else if (!strcmp(argv[a], "--no-em"))
            em = 0;
        else {
            fprintf(stderr, "usage: %s [--iter I] [--n N] [--no-em]\n", argv[0]);
            return 64;
        }
    }
    const moe_kernels *sets[3];
    size_t nsets = 0;
    const char *names[] = {"ref", "avx2", "avx512"};
    for (size_t i = 0; i < 3; i++) {
        const char *why = NULL;
        const moe_kernels *t = moe_kernels_find(names[i], &why);
        if (t)
            sets[nsets++] = t;
        else
            printf("kernel set %s skipped: %s\n", names[i], why);
    }
    const moe_kernels *dflt = moe_kernels_get();
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    const char *isa = "none";
    char load[128] = "?";
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (!fgets(load, sizeof load, lf))
            strcpy(load, "?");
        load[strcspn(load, "\n")] = 0;
        fclose(lf);
    }
    printf("load average at the start (/proc/loadavg): %s\n", load);
    double bw = read_bandwidth(), peak = fma_peak(&isa);
    printf("machine: read bandwidth %.1f GB/s (one thread), %s FMA peak %.1f G multiply-adds/s"
           " = %.1f GFLOP/s (one core); default kernel set %s; %d OpenMP thread(s)\n",
           bw * 1e-9, isa, peak * 1e-9, 2 * peak * 1e-9, dflt->name, threads);
    bench_kernels(sets, nsets);
    if (!em) {
        moe_kernels_force(dflt);
        return 0;
    }
    size_t ns[] = {100000, 1000000};
    printf("\nEM iterations (D = %d, K = %d, %zu iterations after a k-means start):\n", D, K,
           iters);
    for (size_t c = 0; c < 2; c++) {
        size_t n = only_n ? only_n : ns[c];
        double *x = malloc(n * D * sizeof *x), *y = malloc(n * sizeof *y);
        moe_dataset *d = NULL;
        simulate(n, 1, x, y);
        moe_dataset_from_arrays(n, D, x, 0, NULL, y, &d, NULL);
        moe_model *sc = moe_model_alloc(1, D, D);
        moe_model_scaling_from_data(sc, d);
        moe_dataset *ds = moe_model_standardise(sc, d);
        double lim = fmax((double)n * row_bytes() / bw, (double)n * row_fmas() / peak);
        printf("N = %zu: limit of one pass %.2f ms (%.0f bytes and %.0f multiply-adds a row)\n",
               n, lim * 1e3, row_bytes(), row_fmas());
        double tref = 0;
        for (size_t s = 0; s < nsets; s++) {
            double ll, sec = em_seconds(sets[s], ds, iters, &ll);
            if (s == 0)
                tref = sec;
            printf("  %-7s %.4f s/iteration (%.2fx ref), %.0f passes' worth of the one-pass "
                   "limit, loglik %.10g\n", sets[s]->name, sec, tref / sec, sec / lim,
                   ll - (double)n * log(sc->y_scale));
            fflush(stdout);
        }
        moe_dataset_free(ds);
        moe_dataset_free(d);
        moe_model_free(sc);
        free(x);
        free(y);
        if (only_n)
            break;
    }
    moe_kernels_force(dflt);
    return 0;
}
