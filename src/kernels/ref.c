/* ref.c: the portable reference kernels, which fill every slot of the table first.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * These are the loops EM used before the table existed, operation for operation (the same
 * libm calls, the same order of every sum, separate multiplies and adds), so a fit with
 * MOE_ARCH=ref is bit-identical to the fits of earlier versions; the ISA kernels are tested
 * against them. Compiled without ISA flags. */
#include <config.h>

#include <math.h>

#include "kernels/dot_impl.h"
#include "kernels/kernels.h"

static void ref_vexp(size_t n, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = exp(x[i]);
}

static void ref_vlog(size_t n, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = log(x[i]);
}

static void ref_vtanh(size_t n, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tanh(x[i]);
}

static void ref_posterior_rows(size_t n, size_t k, const double *restrict a,
                               double *restrict h, double *restrict lp)
{
    for (size_t r = 0; r < n; r++) {
        const double *ar = a + r * k;
        double mx = -INFINITY;
        for (size_t i = 0; i < k; i++)
            if (ar[i] > mx)
                mx = ar[i];
        double s = 0;
        for (size_t i = 0; i < k; i++)
            s += exp(ar[i] - mx);
        double l = mx + log(s);
        lp[r] = l;
        if (h)
            for (size_t i = 0; i < k; i++)
                h[r * k + i] = exp(ar[i] - l);
    }
}

static void ref_wgram_rows(size_t n, size_t p, const double *restrict x, size_t ldx,
                           const double *restrict y, const double *restrict w, size_t ldw,
                           double *restrict s)
{
    double *xy = s + 2, *xx0 = s + 2 + p;
    for (size_t r = 0; r < n; r++) {
        const double *xr = x + r * ldx;
        double wr = w[r * ldw], yr = y[r], wy = wr * yr, *xx = xx0;
        s[0] += wr;
        s[1] += wy * yr;
        for (size_t a = 0; a < p; a++) {
            double wxa = wr * xr[a];
            xy[a] += wy * xr[a];
            for (size_t b = a; b < p; b++)
                *xx++ += wxa * xr[b];
        }
    }
}

static void ref_ger(size_t m, size_t q, const double *restrict alpha, const double *restrict x,
                    double *restrict y)
{
    for (size_t j = 0; j < m; j++) {
        double aj = alpha[j];
        double *yj = y + j * q;
        for (size_t t = 0; t < q; t++)
            yj[t] += aj * x[t];
    }
}

static void ref_ger_rows(size_t n, size_t m, size_t q, const double *restrict alpha,
                         size_t lda, const double *restrict x, size_t ldx, double *restrict y)
{
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < m; j++) {
            double aj = alpha[r * lda + j];
            const double *xr = x + r * ldx;
            double *yj = y + j * q;
            for (size_t t = 0; t < q; t++)
                yj[t] += aj * xr[t];
        }
}

static void ref_dot_rows(size_t n, size_t m, size_t p, const double *restrict w, size_t ldw,
                         const double *restrict b, const double *restrict z, size_t ldz,
                         double *restrict out, size_t ldo)
{
    moe_dot_rows_scalar(n, m, p, w, ldw, b, z, ldz, out, ldo);
}

void moe_kernels_fill_ref(moe_kernels *t)
{
    t->name = "ref";
    t->vexp = ref_vexp;
    t->vlog = ref_vlog;
    t->vtanh = ref_vtanh;
    t->posterior_rows = ref_posterior_rows;
    t->wgram_rows = ref_wgram_rows;
    t->ger = ref_ger;
    t->ger_rows = ref_ger_rows;
    t->dot_rows = ref_dot_rows;
    t->sgemm = moe_kernels_sgemm_ref;
    t->sgemm_beats_blas = 0;  /* a plain loop: OpenBLAS's sgemm is used */
    moe_kernels_fill_sparse_ref(t);
}
