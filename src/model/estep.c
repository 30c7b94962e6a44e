/* estep.c: the E-step (posterior responsibilities) and the observed-data log-likelihood.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Everything is in the log domain: log p_n = logsumexp_i (log g_ni + log f_ni) and
 * h_ni = exp(log g_ni + log f_ni - log p_n), both by the posterior_rows kernel (src/kernels:
 * libm's exp in the reference set, a vector exp within 2 ulp of it in the SIMD sets). Rows are cut into a fixed number of blocks that
 * depends on n only; OpenMP threads take whole blocks, each block's sum is taken in row order
 * and the block sums are added in block order, so the result is the same bit for bit for any
 * number of threads. */
#include <config.h>

#include <math.h>

#include "experts/expert.h"
#include "gates/gate.h"
#include "kernels/kernels.h"
#include "model/estep.h"

/* Rows handled together inside a block (the per-row temporaries live on the stack). */
#define CHUNK 32

size_t moe_block_count(size_t n)
{
    size_t nb = (n + MOE_BLOCK_MIN - 1) / MOE_BLOCK_MIN;
    if (nb > MOE_NBLOCKS_MAX)
        nb = MOE_NBLOCKS_MAX;
    return nb ? nb : 1;
}

void moe_block_range(size_t n, size_t nblocks, size_t b, size_t *r0, size_t *r1)
{
    /* n * b / nblocks without overflow for any realistic n */
    *r0 = (size_t)((unsigned long long)n * b / nblocks);
    *r1 = (size_t)((unsigned long long)n * (b + 1) / nblocks);
}

double moe_estep_rows(const moe_dataset *d, const moe_model *m, size_t r0, size_t r1,
                      double *g, double *h, double *entropy, double *gsum, double *gate_q)
{
    size_t k = m->k;
    moe_gate_shape gs = moe_model_gate_shape(m);
    moe_expert_shape es = moe_model_expert_shape(m);
    const moe_kernels *kern = moe_kernels_get();
    double logg[CHUNK * MOE_K_MAX], logf[CHUNK * MOE_K_MAX], a[CHUNK * MOE_K_MAX], lpv[CHUNK];
    double gexp[CHUNK * MOE_K_MAX];
    double ll = 0, ent = 0, gq = 0;
    if (gsum)
        for (size_t i = 0; i < k; i++)
            gsum[i] = 0;
    for (size_t c0 = r0; c0 < r1; c0 += CHUNK) {
        size_t c1 = c0 + CHUNK < r1 ? c0 + CHUNK : r1, nc = c1 - c0;
        m->gate->log_prob_rows(d, &gs, m->gate_par, c0, c1, logg);
        if (g || gsum)
            kern->vexp(nc * k, logg, gexp);
        if (g)
            for (size_t t = 0; t < nc * k; t++)
                g[c0 * k + t] = gexp[t];
        if (gsum)
            for (size_t t = 0; t < nc; t++) {
                double wr = d->w ? d->w[c0 + t] : 1;
                for (size_t i = 0; i < k; i++)
                    gsum[i] += d->w ? wr * gexp[t * k + i] : gexp[t * k + i];
            }
        if (!d->y)
            continue;
        for (size_t i = 0; i < k; i++)
            m->expert->log_density_rows(d, &es, m->expert_par + i * m->ep, c0, c1,
                                        logf + i * CHUNK);
        for (size_t t = 0; t < nc; t++)
            for (size_t i = 0; i < k; i++)
                a[t * k + i] = logg[t * k + i] + logf[i * CHUNK + t];
        double *hc = h ? h + c0 * k : NULL;
        if (gate_q && hc)  /* the previous targets, before the posteriors replace them */
            for (size_t t = 0; t < nc * k; t++)
                if (hc[t] != 0)
                    gq += hc[t] * logg[t];
        kern->posterior_rows(nc, k, a, hc, lpv);
        for (size_t t = 0; t < nc; t++) {
            double lp = lpv[t], wr = d->w ? d->w[c0 + t] : 1, er = 0;
            ll += d->w ? wr * lp : lp;
            if (h) {
                const double *hr = hc + t * k;
                for (size_t i = 0; i < k; i++) {
                    double la = a[t * k + i] - lp;
                    if (entropy && hr[i] > 0)
                        er -= hr[i] * la;
                }
                ent += d->w ? wr * er : er;
            }
        }
    }
    if (entropy)
        *entropy = ent;
    if (gate_q)
        *gate_q = gq;
    return ll;
}

double moe_estep(const moe_dataset *d, const moe_model *m, double *g, double *h)
{
    size_t n = d->n, nb = moe_block_count(n);
    double partial[MOE_NBLOCKS_MAX];
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t b = 0; b < nb; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        partial[b] = moe_estep_rows(d, m, r0, r1, g, h, NULL, NULL, NULL);
    }
    double ll = 0;
    for (size_t b = 0; b < nb; b++)
        ll += partial[b];
    return ll;
}
