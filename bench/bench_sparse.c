/* bench_sparse.c: tokens per second of the float32 sparse layer (moe_sparse_forward + backward,
 * noisy top-k training with Shazeer's losses), one JSON line per shape (T, d, h, E, k):
 *   bench/bench_sparse [--shape T,d,h,E,k] [--repeat R] [--gemm auto|kernels|blas] [--torch]
 * "gflops" counts the expert GEMMs only (12 T k d h flops: 4 T k d h forward, twice that
 * backward). Threads: OMP_NUM_THREADS over experts with the kernels' sgemm, OpenBLAS's own
 * with --gemm blas. --torch runs bench/bench_sparse.py (PyTorch, the same layer) on the same shape in
 * the same run and adds its tokens/s (torch on the same number of threads).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/kernels.h"
#include "moe.h"

#ifdef HAVE_OPENBLAS_GET_NUM_THREADS
int openblas_get_num_threads(void);
static int blas_threads(void) { return openblas_get_num_threads(); }
#else
static int blas_threads(void) { return 1; }
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int omp_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* float32 FMA peak of one core, flops/s: 16 independent chains of AVX-512 FMAs */
__attribute__((target("avx512f,fma"))) static double fma_peak_ps(void)
{
    double best = 0;
    for (int r = 0; r < 10; r++) {   /* the best of 10: the machine may be shared */
        __m512 acc[16], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
        for (int j = 0; j < 16; j++)
            acc[j] = _mm512_set1_ps((float)j);
        long iters = 10000000;
        double t0 = now();
        for (long i = 0; i < iters; i++) {
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++)   /* unrolled: the chains stay in registers */
                acc[j] = _mm512_fmadd_ps(acc[j], m, c);
        }
        double t = now() - t0;
        float sink = 0;
        for (int j = 0; j < 16; j++)
            sink += _mm512_reduce_add_ps(acc[j]);
        if (sink == 12345)
            printf(" ");
        best = fmax(best, 2.0 * 16 * 16 * (double)iters / t);
    }
    return best;
}

/* flops/s of the kernels' sgemm alone on one expert's forward GEMM (rows x d times d x h) */
static double sgemm_rate(size_t rows, size_t d, size_t h)
{
    float *a = calloc(rows * d, sizeof *a), *b = calloc(d * h, sizeof *b),
          *c = calloc(rows * h, sizeof *c), *w = malloc(MOE_KERNELS_SGEMM_WORK * sizeof *w);
    for (size_t j = 0; j < rows * d; j++)
        a[j] = (float)(j % 7) * 0.1f;
    for (size_t j = 0; j < d * h; j++)
        b[j] = (float)(j % 5) * 0.1f;
    double best = INFINITY;
    for (int r = 0; r < 6; r++) {
        double t0 = now();
        moe_kernels_get()->sgemm(0, 0, rows, h, d, a, d, b, h, 0, c, h, w);
        best = fmin(best, now() - t0);
    }
    free(a);
    free(b);
    free(c);
    free(w);
    return 2.0 * (double)rows * (double)d * (double)h / best;
}

static double fma_peak = NAN;

static double torch_rate(const size_t *s, int repeat, const char *srcdir, int threads)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "OMP_WAIT_POLICY=PASSIVE ATEN_CPU_CAPABILITY=avx512 /usr/bin/python3 "
             "%s/bench/bench_sparse.py --shape %zu,%zu,%zu,%zu,%zu --repeat %d --threads %d",
             srcdir, s[0], s[1], s[2], s[3], s[4], repeat, threads);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NAN;
    double rate = NAN;
    char line[512];
    while (fgets(line, sizeof line, p))
        if (strncmp(line, "tokens_per_s ", 13) == 0)
            rate = atof(line + 13);
    pclose(p);
    return rate;
}

static int run(const size_t *s, int repeat, int torch, const char *srcdir, moe_sparse_gemm gemm)
{
    moe_sparse_config c = moe_sparse_config_default();
    c.gemm = gemm;
    c.max_tokens = s[0];
    c.d = s[1];
    c.hidden = s[2];
    c.experts = s[3];
    c.top_k = s[4];
    moe_sparse_layer *l;
    moe_error err;
    if (moe_sparse_alloc(&c, &l, &err)) {
        fprintf(stderr, "bench_sparse: %s\n", err.message);
        return 1;
    }
    size_t T = s[0], d = s[1];
    float *x = malloc(T * d * sizeof *x), *y = malloc(T * d * sizeof *y),
          *dy = malloc(T * d * sizeof *dy), *dx = malloc(T * d * sizeof *dx);
    float *par = moe_sparse_params(l);
    unsigned long st = 7;
    for (size_t j = 0; j < c.d * c.experts; j++) {   /* a router that spreads the tokens */
        st = st * 6364136223846793005UL + 1442695040888963407UL;
        par[j] = (float)(((double)(st >> 11) / 9007199254740992.0 - 0.5) * 0.5);
    }
    for (size_t j = 0; j < T * d; j++) {
        st = st * 6364136223846793005UL + 1442695040888963407UL;
        x[j] = (float)((double)(st >> 11) / 9007199254740992.0 - 0.5);
        dy[j] = x[j] * 0.01f;
    }
    double best = INFINITY;
    for (int r = 0; r < repeat + 1; r++) {   /* the first is a warm-up */
        double t0 = now();
        moe_sparse_forward(l, x, T, 1, (unsigned long)r, y, NULL, &err);
        moe_sparse_backward(l, dy, dx, &err);
        double t = now() - t0;
        if (r > 0 && t < best)
            best = t;
    }
    double flops = 12.0 * (double)T * (double)c.top_k * (double)c.d * (double)c.hidden;
    int threads = strcmp(moe_sparse_gemm_name(l), "blas") == 0 ? blas_threads() : omp_threads();
    printf("{\"shape\": [%zu, %zu, %zu, %zu, %zu], \"kernels\": \"%s\", \"gemm\": "
           "\"%s\", \"threads\": %d, \"tokens_per_s\": %.0f, \"gflops\": %.1f",
           s[0], s[1], s[2], s[3], s[4], moe_kernels_get()->name, moe_sparse_gemm_name(l), threads,
           (double)T / best, flops / best * 1e-9);
    double sg = sgemm_rate(T * c.top_k / c.experts, c.d, c.hidden);
    printf(", \"sgemm_gflops_1thread\": %.1f, \"sgemm_share_of_peak\": %.2f", sg * 1e-9,
           sg / fma_peak);
    if (torch) {
        double tr = torch_rate(s, repeat, srcdir, threads);
        printf(", \"torch_tokens_per_s\": %.0f, \"ratio\": %.2f", tr, (double)T / best / tr);
    }
    printf("}\n");
    fflush(stdout);
    free(x);
    free(y);
    free(dy);
    free(dx);
    moe_sparse_free(l);
    return 0;
}

int main(int argc, char **argv)
{
    static const size_t shapes[][5] = {
        {16384, 128, 512, 16, 2}, {4096, 256, 1024, 8, 2}, {4096, 512, 2048, 32, 4}};
    size_t one[5];
    int use_one = 0, repeat = 5, torch = 0;
    moe_sparse_gemm gemm = MOE_SPARSE_GEMM_AUTO;
    const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%zu,%zu,%zu,%zu,%zu", &one[0], &one[1], &one[2], &one[3],
                       &one[4]) != 5) {
                fprintf(stderr, "bench_sparse: --shape takes T,d,h,E,k\n");
                return 64;
            }
            use_one = 1;
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--gemm") == 0 && i + 1 < argc) {
            i++;
            gemm = strcmp(argv[i], "blas") == 0      ? MOE_SPARSE_GEMM_BLAS
                   : strcmp(argv[i], "kernels") == 0 ? MOE_SPARSE_GEMM_KERNELS
                                                     : MOE_SPARSE_GEMM_AUTO;
        } else if (strcmp(argv[i], "--torch") == 0) {
            torch = 1;
        } else {
            fprintf(stderr, "usage: bench/bench_sparse [--shape T,d,h,E,k] [--repeat R] "
                            "[--gemm auto|kernels|blas] [--torch]\n");
            return 64;
        }
    }
    if (repeat < 1)
        repeat = 1;
    double peak = moe_kernels_cpu_has_avx512() ? fma_peak_ps() : NAN;
    printf("{\"machine\": \"fp32 FMA peak of one core\", \"gflops\": %.1f, \"kernels\": "
           "\"%s\"}\n", peak * 1e-9, moe_kernels_get()->name);
    fma_peak = peak;
    if (use_one)
        return run(one, repeat, torch, srcdir, gemm);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (run(shapes[i], repeat, torch, srcdir, gemm))
            return 1;
    return 0;
}
