/* loss.c: the nll, competitive and cooperative losses of a mixture of experts and their
 * gradients, family- and gate-generic through the type tables (see loss.h for the formulas).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * One fused pass over the rows, in chunks of LOSS_BUF / K rows whose scratch lives on the
 * stack (nothing of n x K size is written to memory): per chunk, every expert's
 * log-densities (and means), the gate's log-probabilities and probabilities in one call
 * (prob_rows: its exponentials are computed once per row), then per row the loss and the
 * weights a, b, c of the three gradient slots, with the nll's exponentials and logarithms
 * through the kernel set's vexp and vlog over the whole chunk, then one slot call per expert
 * and one for the gate, which takes the probabilities instead of recomputing them. The slots see the chunk as a
 * data set of its own (a view whose row 0 is the chunk's first row). Rows are visited in
 * increasing order and every sum is taken row by row, so a block's sums do not depend on the
 * chunking or the thread count; with MOE_ARCH=ref (libm's exp and log) they are those of the
 * unchunked loops of earlier versions, bit for bit. */
#include <config.h>

#include <math.h>
#include <string.h>

#include "experts/expert.h"
#include "gates/gate.h"
#include "kernels/kernels.h"
#include "train/loss.h"

/* Doubles of each per-chunk scratch array: a chunk is LOSS_BUF / K rows (256 at K = 4, 16 at
 * K = MOE_K_MAX); nine such arrays (72 KiB) live on the stack of each thread. */
#define LOSS_BUF 1024

/* Rows [R0, R1) of D as a data set of R1 - R0 rows (pointers into D's arrays; nothing is
 * copied or owned). */
static void view_rows(const moe_dataset *d, size_t r0, size_t r1, moe_dataset *v)
{
    *v = *d;
    v->n = r1 - r0;
    v->x = d->x + r0 * (d->nx + 1);
    v->z = d->z + r0 * (d->nz + 1);
    v->y = d->y ? d->y + r0 : NULL;
    v->w = d->w ? d->w + r0 : NULL;
    v->offset = d->offset ? d->offset + r0 : NULL;
    v->trials = d->trials ? d->trials + r0 : NULL;
    v->line = d->line ? d->line + r0 : NULL;
}

double moe_loss_rows(moe_loss loss, const moe_dataset *d, const moe_model *m,
                     const moe_gate_shape *gshape, const double *gate_theta, size_t r0,
                     size_t r1, double *grad, double *tmp)
{
    const moe_expert_type *et = m->expert;
    const moe_gate_type *gt = m->gate;
    const moe_kernels *kern = moe_kernels_get();
    moe_expert_shape es = moe_model_expert_shape(m);
    size_t k = m->k, nep = et->nparams(&es), rows = LOSS_BUF / k;
    moe_gate_shape gs = gshape ? *gshape : moe_model_gate_shape(m);
    size_t row0 = gs.row0;
    double logf[LOSS_BUF], mu[LOSS_BUF], logg[LOSS_BUF], g[LOSS_BUF], a[LOSS_BUF];
    double b[LOSS_BUF], c[LOSS_BUF], mx[LOSS_BUF], sums[LOSS_BUF], logs[LOSS_BUF];
    double total = 0;
    int coop_disp = grad && loss == MOE_LOSS_COOPERATIVE && et->dispersion;
    if (coop_disp)  /* the dispersions' competitive gradients, summed over every chunk */
        memset(tmp, 0, k * nep * sizeof *tmp);
    for (size_t c0 = r0; c0 < r1; c0 += rows) {
        size_t nc = r1 - c0 < rows ? r1 - c0 : rows;
        moe_dataset v;
        view_rows(d, c0, c0 + nc, &v);
        for (size_t i = 0; i < k; i++) {
            const double *par = moe_model_expert_block_const(m, i);
            et->log_density_rows(&v, &es, par, 0, nc, logf + i * nc);
            if (loss == MOE_LOSS_COOPERATIVE)
                et->moments_rows(&v, &es, par, 0, nc, mu + i * nc, NULL);
        }
        gs.row0 = row0 + c0;  /* the chunk's rows are batch rows row0 + c0 on */
        gt->prob_rows(&v, &gs, m->gate_par, 0, nc, logg, g);
        if (loss == MOE_LOSS_NLL) {
            /* t = log g + log f, shifted by its row max (into a), one vexp for the chunk,
             * then E = -(max + log sum) and the posterior h = u / sum */
            for (size_t r = 0; r < nc; r++) {
                double *t = a + r * k, mr = -INFINITY;
                for (size_t i = 0; i < k; i++) {
                    t[i] = logg[r * k + i] + logf[i * nc + r];
                    if (t[i] > mr)
                        mr = t[i];
                }
                mx[r] = mr;
                for (size_t i = 0; i < k; i++)  /* mr = -inf: a row of no expert (capacity) */
                    t[i] = mr > -INFINITY ? t[i] - mr : -INFINITY;
            }
            kern->vexp(nc * k, a, a);
            for (size_t r = 0; r < nc; r++) {
                double s = 0;
                for (size_t i = 0; i < k; i++)
                    s += a[r * k + i];
                sums[r] = s;
            }
            kern->vlog(nc, sums, logs);
            for (size_t r = 0; r < nc; r++) {
                double *u = a + r * k, wr = v.w ? v.w[r] : 1, s = sums[r];
                if (!(s > 0)) {  /* dropped by every expert it keeps: adds nothing */
                    for (size_t i = 0; i < k; i++)
                        c[r * k + i] = u[i] = 0;
                    continue;
                }
                total += wr * -(mx[r] + logs[r]);
                for (size_t i = 0; i < k; i++)
                    c[r * k + i] = u[i] = -wr * (u[i] / s);
            }
        } else {
            /* exp(log g) rather than G: the same numbers as the unfused loops under ref */
            kern->vexp(nc * k, logg, logg);
            for (size_t r = 0; r < nc; r++) {
                const double *gr = logg + r * k;
                double *ar = a + r * k, *br = b + r * k, *cr = c + r * k;
                double wr = v.w ? v.w[r] : 1, e = 0;
                if (loss == MOE_LOSS_COMPETITIVE) {
                    for (size_t i = 0; i < k; i++) {
                        double l = -logf[i * nc + r];
                        e += gr[i] * l;
                        ar[i] = -wr * gr[i];
                        cr[i] = wr * gr[i] * l;
                    }
                } else {
                    double o = 0;
                    for (size_t i = 0; i < k; i++)
                        o += gr[i] * mu[i * nc + r];
                    double res = v.y[r] - o;
                    e = 0.5 * res * res;
                    for (size_t i = 0; i < k; i++) {
                        ar[i] = -wr * gr[i];  /* the dispersion's (competitive) weights */
                        br[i] = -wr * res * gr[i];
                        cr[i] = -wr * res * gr[i] * mu[i * nc + r];
                    }
                }
                total += wr * e;
            }
        }
        if (!grad)
            continue;
        for (size_t i = 0; i < k; i++) {
            const double *par = moe_model_expert_block_const(m, i);
            double *gi = grad + i * nep;
            if (loss != MOE_LOSS_COOPERATIVE) {
                et->score_rows(&v, &es, par, a, k, i, 0, nc, gi);
                continue;
            }
            et->mean_grad_rows(&v, &es, par, b, k, i, 0, nc, gi);
            if (coop_disp)
                et->score_rows(&v, &es, par, a, k, i, 0, nc, tmp + i * nep);
        }
        if (k > 1)
            gt->grad_rows(&v, &gs, gate_theta, g, c, 0, nc, grad + k * nep);
    }
    if (coop_disp)
        for (size_t i = 0; i < k; i++)
            grad[i * nep + nep - 1] += tmp[i * nep + nep - 1];
    return total;
}
