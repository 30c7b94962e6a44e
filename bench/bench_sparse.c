/* bench_sparse.c: tokens per second of the float32 sparse layer (moe_sparse_forward + backward,
 * noisy top-k training with Shazeer's losses), one JSON line per shape (T, d, h, E, k):
 *   bench/bench_sparse [--shape T,d,h,E,k] [--repeat R] [--gemm auto|kernels|blas] [--torch]
 *                      [--kernels] [--scaling]
 * "gflops" counts the expert GEMMs only (12 T k d h flops: 4 T k d h forward, twice that
 * backward). Threads: OMP_NUM_THREADS over experts with the kernels' sgemm, OpenBLAS's own
 * with --gemm blas. --torch runs bench/bench_sparse.py (PyTorch, the same layer) on the same shape in
 * the same run and adds its tokens/s (torch on the same number of threads).
 * --kernels instead times every row-loop slot of the kernels table (and one expert's sgemm) on
 * the shape's sizes, the set in use against the reference, one thread, one JSON line per
 * kernel ("own_code": false when the set keeps the reference's code for that slot).
 * --scaling runs each shape on 1 and then 2 OpenMP threads and adds a line with the speed-up.
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

/* ---------------------------------------------------------------- --kernels */

static unsigned long lcg_state = 99;

static float lcg_float(double lo, double hi)
{
    lcg_state = lcg_state * 6364136223846793005UL + 1442695040888963407UL;
    return (float)(lo + (hi - lo) * ((double)(lcg_state >> 11) / 9007199254740992.0));
}

/* the buffers one layer call hands the row-loop kernels at shape (T, d, h, E, k) */
typedef struct bench_bufs {
    size_t T, d, h, E, k, m, rows;
    float *hval, *prob, *lse, *x, *xg, *a, *act, *grad, *out, *gate, *y, *dy, *dout, *dg;
    size_t *top, *token, *row;
    float *w1, *work;   /* one expert's W1 and the sgemm workspace */
} bench_bufs;

static float *fbuf(size_t n, double lo, double hi)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t j = 0; j < n; j++)
        v[j] = lcg_float(lo, hi);
    return v;
}

static void bufs_alloc(bench_bufs *b, const size_t *s)
{
    b->T = s[0], b->d = s[1], b->h = s[2], b->E = s[3], b->k = s[4];
    b->m = b->k + 1 <= b->E ? b->k + 1 : b->k;
    b->rows = b->T * b->k;
    size_t T = b->T, d = b->d, h = b->h, E = b->E, rows = b->rows;
    b->hval = fbuf(T * E, -3, 3);
    b->prob = fbuf(T * E, 0, 0);
    b->lse = fbuf(T, 0, 0);
    b->x = fbuf(T * d, -0.5, 0.5);
    b->xg = fbuf(rows * d, 0, 0);
    b->a = fbuf(rows * h, -1, 1);
    b->act = fbuf(rows * h, 0, 0);
    b->grad = fbuf(rows * h, -1, 1);
    b->out = fbuf(rows * d, -1, 1);
    b->gate = fbuf(rows, 0, 1);
    b->y = fbuf(T * d, 0, 0);
    b->dy = fbuf(T * d, -0.01, 0.01);
    b->dout = fbuf(rows * d, 0, 0);
    b->dg = fbuf(rows, 0, 0);
    b->w1 = fbuf(d * h, -0.1, 0.1);
    b->work = fbuf(MOE_KERNELS_SGEMM_WORK, 0, 0);
    b->top = malloc(T * b->m * sizeof *b->top);
    b->token = malloc(rows * sizeof *b->token);
    b->row = malloc(rows * sizeof *b->row);
    for (size_t j = 0; j < rows; j++) {   /* a random grouping, as routing makes */
        b->token[j] = j / b->k;
        b->row[j] = j;
    }
    for (size_t j = rows; j > 1; j--) {
        lcg_state = lcg_state * 6364136223846793005UL + 1442695040888963407UL;
        size_t i = (size_t)(lcg_state >> 33) % j, t = b->row[j - 1];
        b->row[j - 1] = b->row[i];
        b->row[i] = t;
    }
}

static void bufs_free(bench_bufs *b)
{
    float *f[] = {b->hval, b->prob, b->lse, b->x, b->xg, b->a, b->act, b->grad, b->out,
                  b->gate, b->y, b->dy, b->dout, b->dg, b->w1, b->work};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        free(f[i]);
    free(b->top);
    free(b->token);
    free(b->row);
}

enum { K_SOFTMAX, K_TOPK, K_GATHER, K_RELU, K_RELU_BACK, K_GELU, K_GELU_BACK, K_COMBINE,
       K_COMBINE_BACK, K_SGEMM, K_COUNT };
static const char *const k_names[K_COUNT] = {
    "softmax_rows", "topk_rows", "gather_rows", "act_forward relu", "act_backward relu",
    "act_forward gelu", "act_backward gelu", "combine_rows", "combine_back", "sgemm"};

/* one call of kernel K of set KT on the whole shape's rows (sgemm: one expert's forward GEMM) */
static void kernel_call(const moe_kernels *kt, int k, bench_bufs *b)
{
    size_t n_ex = b->rows / b->E;
    switch (k) {
    case K_SOFTMAX: kt->softmax_rows(b->T, b->E, b->hval, b->prob, b->lse); break;
    case K_TOPK: kt->topk_rows(b->T, b->E, b->m, b->hval, b->top); break;
    case K_GATHER: kt->gather_rows(b->rows, b->d, b->x, b->token, b->xg); break;
    case K_RELU: kt->act_forward(MOE_SPARSE_RELU, b->rows * b->h, b->a, b->act); break;
    case K_RELU_BACK: kt->act_backward(MOE_SPARSE_RELU, b->rows * b->h, b->a, b->grad); break;
    case K_GELU: kt->act_forward(MOE_SPARSE_GELU, b->rows * b->h, b->a, b->act); break;
    case K_GELU_BACK: kt->act_backward(MOE_SPARSE_GELU, b->rows * b->h, b->a, b->grad); break;
    case K_COMBINE: kt->combine_rows(b->T, b->k, b->d, b->row, b->gate, b->out, b->y); break;
    case K_COMBINE_BACK:
        kt->combine_back(b->T, b->k, b->d, b->row, b->gate, b->dy, b->out, b->dout, b->dg);
        break;
    default:
        kt->sgemm(0, 0, n_ex, b->h, b->d, b->xg, b->d, b->w1, b->h, 0, b->act, b->h, b->work);
    }
}

/* 1 when set KT runs the reference's own code for kernel K */
static int slot_is_ref(const moe_kernels *kt, const moe_kernels *ref, int k)
{
    switch (k) {
    case K_SOFTMAX: return kt->softmax_rows == ref->softmax_rows;
    case K_TOPK: return kt->topk_rows == ref->topk_rows;
    case K_GATHER: return kt->gather_rows == ref->gather_rows;
    case K_RELU: case K_GELU: return kt->act_forward == ref->act_forward;
    case K_RELU_BACK: case K_GELU_BACK: return kt->act_backward == ref->act_backward;
    case K_COMBINE: return kt->combine_rows == ref->combine_rows;
    case K_COMBINE_BACK: return kt->combine_back == ref->combine_back;
    default: return kt->sgemm == ref->sgemm;
    }
}

/* --kernels: each slot of the set in use against the reference at shape S, one thread, the
 * best of REPEAT calls each; one JSON line per kernel */
static int run_kernels(const size_t *s, int repeat)
{
    const moe_kernels *ref = moe_kernels_find("ref", NULL), *kt = moe_kernels_get();
    bench_bufs b;
    bufs_alloc(&b, s);
    for (int k = 0; k < K_COUNT; k++) {
        double best[2] = {INFINITY, INFINITY};
        const moe_kernels *sets[2] = {ref, kt};
        for (int r = 0; r < repeat + 1; r++)   /* the sets interleaved: the same load on both */
            for (int q = 0; q < 2; q++) {
                if (k == K_RELU_BACK || k == K_GELU_BACK)   /* in place: the same input each time */
                    for (size_t j = 0; j < b.rows * b.h; j++)
                        b.grad[j] = b.a[(j * 7) % (b.rows * b.h)];
                double t0 = now();
                kernel_call(sets[q], k, &b);
                double t = now() - t0;
                if (r > 0 && t < best[q])
                    best[q] = t;
            }
        printf("{\"kernel\": \"%s\", \"shape\": [%zu, %zu, %zu, %zu, %zu], \"set\": \"%s\", "
               "\"own_code\": %s, \"ref_s\": %.3g, \"set_s\": %.3g, \"speedup\": %.2f}\n",
               k_names[k], s[0], s[1], s[2], s[3], s[4], kt->name,
               slot_is_ref(kt, ref, k) ? "false" : "true", best[0], best[1], best[0] / best[1]);
        fflush(stdout);
    }
    bufs_free(&b);
    return 0;
}

static int run(const size_t *s, int repeat, int torch, const char *srcdir, moe_sparse_gemm gemm,
               double *rate)
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
    if (rate)
        *rate = (double)T / best;
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
    int use_one = 0, repeat = 5, torch = 0, kernels = 0, scaling = 0;
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
        } else if (strcmp(argv[i], "--kernels") == 0) {
            kernels = 1;
        } else if (strcmp(argv[i], "--scaling") == 0) {
            scaling = 1;
        } else {
            fprintf(stderr, "usage: bench/bench_sparse [--shape T,d,h,E,k] [--repeat R] "
                            "[--gemm auto|kernels|blas] [--torch] [--kernels] [--scaling]\n");
            return 64;
        }
    }
    if (repeat < 1)
        repeat = 1;
    double peak = moe_kernels_cpu_has_avx512() ? fma_peak_ps() : NAN;
    printf("{\"machine\": \"fp32 FMA peak of one core\", \"gflops\": %.1f, \"kernels\": "
           "\"%s\"}\n", peak * 1e-9, moe_kernels_get()->name);
    fma_peak = peak;
    size_t nsh = use_one ? 1 : sizeof shapes / sizeof shapes[0];
    for (size_t i = 0; i < nsh; i++) {
        const size_t *sh = use_one ? one : shapes[i];
        if (kernels) {
            run_kernels(sh, repeat);
            continue;
        }
        if (!scaling) {
            if (run(sh, repeat, torch, srcdir, gemm, NULL))
                return 1;
            continue;
        }
#ifdef _OPENMP
        double r1 = NAN, r2 = NAN;   /* the layer takes its thread count at alloc */
        omp_set_num_threads(1);
        if (run(sh, repeat, 0, srcdir, gemm, &r1))
            return 1;
        omp_set_num_threads(2);
        if (run(sh, repeat, 0, srcdir, gemm, &r2))
            return 1;
        printf("{\"scaling\": [%zu, %zu, %zu, %zu, %zu], \"kernels\": \"%s\", "
               "\"tokens_per_s_1thread\": %.0f, \"tokens_per_s_2threads\": %.0f, "
               "\"speedup\": %.2f}\n", sh[0], sh[1], sh[2], sh[3], sh[4],
               moe_kernels_get()->name, r1, r2, r2 / r1);
        fflush(stdout);
#else
        fprintf(stderr, "bench_sparse: --scaling needs OpenMP\n");
        return 1;
#endif
    }
    return 0;
}
