/* kernels.h: the table of SIMD kernels for the hot loops of EM and GD (double precision) and
 * of the sparse layer (float32: sgemm and the row loops), and its run-time choice.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * One table of function pointers (BLIS-style): the portable reference (ref.c, with sgemm_ref.c
 * and sparse_ref.c) fills every slot first, then the AVX2+FMA (avx2.c, sgemm_avx2.c,
 * sparse_avx2.c) and AVX-512 (avx512.c, sgemm_avx512.c, sparse_avx512.c) files override the
 * slots they implement, so no slot is ever empty. Only those files are compiled with ISA flags
 * (one convenience library per ISA, src/kernels/Makemodule.am). The set is chosen once per
 * process (pthread_once) from CPUID and XCR0 (the OS must have enabled the YMM / ZMM state),
 * the best available first; MOE_ARCH=ref|avx2|avx512 forces one, and an unknown or unavailable
 * choice is an error that moe_kernels_init reports (the table then falls back to ref, so a
 * caller that ignores the error still computes correctly).
 *
 * Contracts common to every kernel: n (rows, elements) may be 0 or odd; no alignment is
 * assumed; the pointers marked restrict do not overlap; nothing is allocated; the sums of a
 * kernel that accumulates into an output are taken in row order for each output element, so
 * a kernel is a pure function of its inputs (bit-identical for any thread count). Whether an
 * ISA kernel is bit-identical to the reference or within a tolerance is stated at each slot
 * below and checked by tests/test_kernels.c with that tolerance. */
#ifndef MOE_KERNELS_KERNELS_H
#define MOE_KERNELS_KERNELS_H

#include <stddef.h>

#include "moe.h"

typedef struct moe_kernels {
    const char *name;  /* "ref", "avx2" or "avx512" */
    /* Y[i] = exp(X[i]) for i < N, for every double (-inf -> 0, underflow to subnormals and 0,
     * overflow to +inf, NaN -> NaN). ISA versions: within MOE_KERNELS_EXP_ULP units in the
     * last place of libm's exp (lanes outside [-707, 707] and NaN use libm's exp itself).
     * Y may be X (in place); no other overlap. */
    void (*vexp)(size_t n, const double *x, double *y);
    /* Y[i] = tanh(X[i]) for i < N (+-inf -> +-1, NaN -> NaN). ISA versions: sign(x) (1 - e)
     * / (1 + e) with e their exp(-2 |x|), within MOE_KERNELS_TANH_ABS of libm's tanh
     * (absolute: near 0 the relative error grows, as 1 - e loses digits). Y may be X. */
    void (*vtanh)(size_t n, const double *x, double *y);
    /* Y[i] = log(X[i]) for i < N (0 -> -inf, negatives -> NaN, +inf, NaN). ISA versions:
     * within MOE_KERNELS_LOG_ULP units in the last place of libm's log (fdlibm's polynomial,
     * log_consts.h; lanes not positive, normal and finite use libm's log). Y may be X. */
    void (*vlog)(size_t n, const double *x, double *y);
    /* Per-row log-sum-exp and posteriors of an N x K row-major array A of log terms:
     * LP[r] = log sum_i exp(A[r,i]) (max-shifted), and when H is not NULL
     * H[r,i] = exp(A[r,i] - LP[r]) (N x K). K >= 1. Within the tolerance of vexp and vlog
     * (the reference uses libm's exp and log; ISA versions their vexp and vlog). */
    void (*posterior_rows)(size_t n, size_t k, const double *restrict a, double *restrict h,
                           double *restrict lp);
    /* The weighted Gram statistics of a Gaussian linear expert over N rows: with x_r the row
     * X + r * LDX (P values), y_r = Y[r], w_r = W[r * LDW] and c_r = w_r y_r, adds to
     * S = [sum w, sum c y, sum c x (P), sum (w x_a) x_b packed upper by rows (P(P+1)/2)]
     * in row order. Bit-identical to the reference (separate multiply and add, no FMA) when
     * every x_r and y_r is finite. */
    void (*wgram_rows)(size_t n, size_t p, const double *restrict x, size_t ldx,
                       const double *restrict y, const double *restrict w, size_t ldw,
                       double *restrict s);
    /* The rank-1 update Y += alpha x' of an M x Q row-major array Y (row j gets
     * ALPHA[j] * X[t] added to element t). Bit-identical to the reference. */
    void (*ger)(size_t m, size_t q, const double *restrict alpha, const double *restrict x,
                double *restrict y);
    /* N rank-1 updates Y += sum_r alpha_r x_r' of the M x Q row-major array Y, with
     * alpha_r = ALPHA + r * LDA (M values) and x_r = X + r * LDX (Q values); each element's
     * sum is taken in row order, so the result equals N calls of ger bit for bit. Bit-identical
     * to the reference. */
    void (*ger_rows)(size_t n, size_t m, size_t q, const double *restrict alpha, size_t lda,
                     const double *restrict x, size_t ldx, double *restrict y);
    /* M dot products of each of N rows: OUT[r * LDO + i] = B[i] + sum_l W[i * LDW + l]
     * Z[r * LDZ + l] for r < N, i < M, l < P (B NULL: 0 in its place), each sum taken in
     * order l from B[i], a separate multiply then add: a linear layer, logits or the means of
     * linear experts across rows. Bit-identical to the reference. */
    void (*dot_rows)(size_t n, size_t m, size_t p, const double *restrict w, size_t ldw,
                     const double *restrict b, const double *restrict z, size_t ldz,
                     double *restrict out, size_t ldo);
    /* Float32 matrix product, row-major: C (M x N, row stride LDC) = BETA C + op(A) op(B),
     * with op(A) M x K (A stored M x K with row stride LDA, or when TA K x M, transposed) and
     * op(B) K x N (B stored K x N with stride LDB, or when TB N x K). BETA is 0 (C is not read)
     * or 1. WORK holds MOE_KERNELS_SGEMM_WORK floats (packed panels of B); K = 0 gives
     * C = BETA C. ISA versions: within MOE_KERNELS_SGEMM_TOL K sum_k |a_ik b_kj| of the exact
     * product (they use FMA and another order of the sums over blocks of K). */
    void (*sgemm)(int ta, int tb, size_t m, size_t n, size_t k, const float *a, size_t lda,
                  const float *b, size_t ldb, float beta, float *c, size_t ldc, float *work);
    /* 1: this sgemm is faster than OpenBLAS 0.3.21's default one on the machines measured,
     * so the sparse layer's MOE_SPARSE_GEMM_AUTO uses it (AVX-512: 1.6-1.7x); 0: the layer
     * calls OpenBLAS (the reference's plain loop; the AVX2 tile, 0.57x OpenBLAS's Haswell
     * kernels on Zen 5). bench/README.md (bench_sparse) has the figures. */
    int sgemm_beats_blas;
    /* The sparse layer's row loops (float32; their reference is sparse_impl.h, which the
     * layer's double twin runs too). Row-major throughout; D, E, K, M >= 1 unless N = 0. */
    /* Row softmax and log-sum-exp of N rows of E finite floats H: P[r,i] = exp(H[r,i] - m_r)
     * / s_r and LSE[r] = m_r + log s_r, m_r the row's largest value and s_r = sum_i
     * exp(H[r,i] - m_r). ISA versions: P within MOE_KERNELS_SOFTMAX_TOL relative and LSE
     * within MOE_KERNELS_SOFTMAX_TOL (1 + |LSE|) of the reference (a float exp and float sums;
     * an exp below e^-87 may be taken as 0). */
    void (*softmax_rows)(size_t n, size_t e, const float *restrict h, float *restrict p,
                         float *restrict lse);
    /* Top M of each of N rows of E floats H (no NaN; M <= E): IDX[r M + s] is the index of
     * row r's (s+1)-th largest value; of equal values the lower index ranks first. Identical
     * to the reference. */
    void (*topk_rows)(size_t n, size_t e, size_t m, const float *restrict h,
                      size_t *restrict idx);
    /* Dispatch: XG[r] = X[TOKEN[r]] (rows of D floats) for r < N. Identical to the reference. */
    void (*gather_rows)(size_t n, size_t d, const float *restrict x, const size_t *restrict token,
                        float *restrict xg);
    /* The experts' activation over N floats: AC = act(A), and backward DA *= act'(A) (in place).
     * ReLU identical to the reference; GELU (the erf form) within MOE_KERNELS_GELU_TOL
     * (1 + |A|) absolute (ISA versions use a polynomial erf). */
    void (*act_forward)(moe_sparse_activation act, size_t n, const float *restrict a,
                        float *restrict ac);
    void (*act_backward)(moe_sparse_activation act, size_t n, const float *restrict a,
                         float *restrict da);
    /* Combine (a weighted scatter-add written as a gather, so threads over tokens never write
     * the same row): Y[t] = sum over s < K of W[t K + s] OUT[ROW[t K + s]] for t < N, the sum
     * in s order from 0, rows of D floats; an assignment with ROW = SIZE_MAX is skipped; W NULL
     * means every weight is 1. Identical to the reference (a multiply, then an add). */
    void (*combine_rows)(size_t n, size_t k, size_t d, const size_t *restrict row,
                         const float *restrict w, const float *restrict out, float *restrict y);
    /* Combine backward: for each kept assignment (t, s) with r = ROW[t K + s], DOUT[r] = W[t K
     * + s] DY[t] and DW[t K + s] = DY[t] . OUT[r]; a dropped one gets DW = 0 and writes no row.
     * DOUT identical to the reference; DW within MOE_KERNELS_DOT_TOL sum_j |dy_j out_j| (the
     * reference sums in double in order, ISA versions in double lanes). */
    void (*combine_back)(size_t n, size_t k, size_t d, const size_t *restrict row,
                         const float *restrict w, const float *restrict dy,
                         const float *restrict out, float *restrict dout, float *restrict dw);
} moe_kernels;

/* Accuracy bounds of the ISA sparse-layer kernels against the reference (see each slot). */
#define MOE_KERNELS_SOFTMAX_TOL 2e-6
#define MOE_KERNELS_GELU_TOL 4e-7
#define MOE_KERNELS_DOT_TOL 1.2e-7

/* The float workspace sgemm needs, and its accuracy bound (per unit of K sum |a b|). */
#define MOE_KERNELS_SGEMM_KC 256
#define MOE_KERNELS_SGEMM_NC 512
#define MOE_KERNELS_SGEMM_WORK (MOE_KERNELS_SGEMM_KC * MOE_KERNELS_SGEMM_NC)
#define MOE_KERNELS_SGEMM_TOL 1.2e-7

/* Accuracy bound of the ISA vexp against libm's exp, in units in the last place. */
#define MOE_KERNELS_EXP_ULP 2
/* Accuracy bound of the ISA vlog against libm's log, in units in the last place. */
#define MOE_KERNELS_LOG_ULP 2
/* Accuracy bound of the ISA vtanh against libm's tanh, absolute (|tanh| <= 1). */
#define MOE_KERNELS_TANH_ABS 1e-15

/* The kernels in use (chosen on the first call, once per process); never NULL. */
const moe_kernels *moe_kernels_get(void);

/* The set named NAME ("ref", "avx2", "avx512") when it is compiled in and this CPU and OS
 * support it, else NULL (with WHY, if not NULL, set to a reason). For tests and benchmarks. */
const moe_kernels *moe_kernels_find(const char *name, const char **why);

/* Makes T the set moe_kernels_get returns from now on (tests and benchmarks only: not safe
 * while a fit runs in another thread). */
void moe_kernels_force(const moe_kernels *t);

/* Fills T with the reference kernels; the ISA files override slots of a filled table. */
void moe_kernels_fill_ref(moe_kernels *t);
void moe_kernels_fill_avx2(moe_kernels *t);
void moe_kernels_fill_avx512(moe_kernels *t);

/* The sgemm slot's implementations (sgemm_ref.c, sgemm_avx512.c; sgemm_avx2.c below). */
void moe_kernels_sgemm_ref(int ta, int tb, size_t m, size_t n, size_t k, const float *a,
                           size_t lda, const float *b, size_t ldb, float beta, float *c,
                           size_t ldc, float *work);
void moe_kernels_sgemm_avx512(int ta, int tb, size_t m, size_t n, size_t k, const float *a,
                              size_t lda, const float *b, size_t ldb, float beta, float *c,
                              size_t ldc, float *work);

/* The sparse-layer slots' reference (sparse_ref.c) and ISA overrides (sparse_avx2.c,
 * sparse_avx512.c), and the AVX2 sgemm (sgemm_avx2.c), each filling the slots it has. */
void moe_kernels_fill_sparse_ref(moe_kernels *t);
void moe_kernels_fill_sparse_avx2(moe_kernels *t);
void moe_kernels_fill_sparse_avx512(moe_kernels *t);
void moe_kernels_sgemm_avx2(int ta, int tb, size_t m, size_t n, size_t k, const float *a,
                            size_t lda, const float *b, size_t ldb, float beta, float *c,
                            size_t ldc, float *work);

/* CPU and OS support, from CPUID and XCR0 (1 yes, 0 no). */
int moe_kernels_cpu_has_avx2(void);
int moe_kernels_cpu_has_avx512(void);

#endif
