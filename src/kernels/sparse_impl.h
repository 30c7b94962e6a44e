/* sparse_impl.h: the reference kernels of the sparse layer's row loops (kernels.h, the slots
 * softmax_rows .. combine_back), written once for one floating type. sparse_ref.c includes it
 * for float (the table's reference slots); src/sparse/layer64.c for double (the layer's
 * finite-difference twin, so that both layers run the same loops). The includer defines REAL
 * (the type) and SK(name) (the function-name prefix) and includes <math.h>, <stdint.h>,
 * <string.h> and kernels/kernels.h (for moe_sparse_activation).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * The contracts are kernels.h's. exp, log and erf are libm's in double, and the sums of
 * softmax_rows and the dot products of combine_back are taken in double in order, so the
 * float reference is the old layer's arithmetic and the double one loses nothing. */

static void SK(softmax_rows)(size_t n, size_t e, const REAL *restrict h, REAL *restrict p,
                             REAL *restrict lse)
{
    for (size_t r = 0; r < n; r++) {
        const REAL *hr = h + r * e;
        REAL *pr = p + r * e;
        REAL mx = hr[0];
        for (size_t i = 1; i < e; i++)
            if (hr[i] > mx)
                mx = hr[i];
        double sum = 0;
        for (size_t i = 0; i < e; i++)
            sum += (pr[i] = (REAL)exp((double)(hr[i] - mx)));
        for (size_t i = 0; i < e; i++)
            pr[i] = (REAL)(pr[i] / sum);
        lse[r] = (REAL)(mx + log(sum));
    }
}

/* insertion into a sorted list of the M largest so far: an entry moves ahead of another only
 * when strictly greater, so of equal values the lower index ranks first */
static void SK(topk_rows)(size_t n, size_t e, size_t m, const REAL *restrict h,
                          size_t *restrict idx)
{
    for (size_t r = 0; r < n; r++) {
        const REAL *hr = h + r * e;
        size_t *top = idx + r * m, nt = 0;
        for (size_t i = 0; i < e; i++) {
            size_t q = nt < m ? nt++ : m;
            if (q == m) {
                if (!(hr[i] > hr[top[m - 1]]))
                    continue;
                q = m - 1;
            }
            while (q > 0 && hr[i] > hr[top[q - 1]]) {
                top[q] = top[q - 1];
                q--;
            }
            top[q] = i;
        }
    }
}

static void SK(gather_rows)(size_t n, size_t d, const REAL *restrict x,
                            const size_t *restrict token, REAL *restrict xg)
{
    for (size_t r = 0; r < n; r++)
        memcpy(xg + r * d, x + token[r] * d, d * sizeof *xg);
}

static void SK(act_forward)(moe_sparse_activation act, size_t n, const REAL *restrict a,
                            REAL *restrict ac)
{
    if (act == MOE_SPARSE_RELU) {   /* omp simd: a select, not a branch on random signs */
#pragma omp simd
        for (size_t j = 0; j < n; j++)
            ac[j] = a[j] > 0 ? a[j] : 0;
    } else {   /* GELU, the exact (erf) form */
        for (size_t j = 0; j < n; j++) {
            double v = a[j];
            ac[j] = (REAL)(0.5 * v * (1.0 + erf(v * M_SQRT1_2)));
        }
    }
}

static void SK(act_backward)(moe_sparse_activation act, size_t n, const REAL *restrict a,
                             REAL *restrict da)
{
    if (act == MOE_SPARSE_RELU) {
#pragma omp simd
        for (size_t j = 0; j < n; j++)
            da[j] = a[j] > 0 ? da[j] : 0;
    } else {
        for (size_t j = 0; j < n; j++) {
            double v = a[j];
            da[j] *= (REAL)(0.5 * (1.0 + erf(v * M_SQRT1_2)) +
                            v * exp(-0.5 * v * v) / sqrt(2 * M_PI));
        }
    }
}

static void SK(combine_rows)(size_t n, size_t k, size_t d, const size_t *restrict row,
                             const REAL *restrict w, const REAL *restrict out,
                             REAL *restrict y)
{
    for (size_t t = 0; t < n; t++) {
        REAL *yt = y + t * d;
        for (size_t j = 0; j < d; j++)
            yt[j] = 0;
        for (size_t s = 0; s < k; s++) {
            size_t r = row[t * k + s];
            if (r == SIZE_MAX)
                continue;
            const REAL *o = out + r * d;
            if (w) {
                REAL ws = w[t * k + s];
                for (size_t j = 0; j < d; j++)
                    yt[j] += ws * o[j];
            } else {
                for (size_t j = 0; j < d; j++)
                    yt[j] += o[j];
            }
        }
    }
}

static void SK(combine_back)(size_t n, size_t k, size_t d, const size_t *restrict row,
                             const REAL *restrict w, const REAL *restrict dy,
                             const REAL *restrict out, REAL *restrict dout, REAL *restrict dw)
{
    for (size_t t = 0; t < n; t++)
        for (size_t s = 0; s < k; s++) {
            size_t r = row[t * k + s];
            if (r == SIZE_MAX) {
                dw[t * k + s] = 0;
                continue;
            }
            const REAL *dyt = dy + t * d, *o = out + r * d;
            REAL ws = w[t * k + s], *g = dout + r * d;
            double dot = 0;
            for (size_t j = 0; j < d; j++) {
                g[j] = ws * dyt[j];
                dot += (double)dyt[j] * o[j];
            }
            dw[t * k + s] = (REAL)dot;
        }
}
