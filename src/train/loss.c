/* loss.c: the nll, competitive and cooperative losses of a mixture of experts and their
 * gradients, family- and gate-generic through the type tables (see loss.h for the formulas).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * One call handles one block of rows: first every expert's log-densities (and means) and the
 * gate's log-probabilities for the block, then per row the loss and the weights a, b, c of
 * the three gradient slots, then one slot call per expert and one for the gate. Rows are
 * visited in increasing order, so the block's sums do not depend on the thread count. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experts/expert.h"
#include "gates/gate.h"
#include "train/loss.h"

moe_loss_work *moe_loss_alloc(size_t n, size_t k)
{
    moe_loss_work *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    size_t nk = (n ? n : 1) * k;
    w->n = n;
    w->k = k;
    w->logf = malloc(nk * sizeof *w->logf);
    w->mu = malloc(nk * sizeof *w->mu);
    w->logg = malloc(nk * sizeof *w->logg);
    w->a = malloc(nk * sizeof *w->a);
    w->b = malloc(nk * sizeof *w->b);
    w->c = malloc(nk * sizeof *w->c);
    if (!w->logf || !w->mu || !w->logg || !w->a || !w->b || !w->c) {
        moe_loss_free(w);
        return NULL;
    }
    return w;
}

void moe_loss_free(moe_loss_work *w)
{
    if (!w)
        return;
    free(w->logf);
    free(w->mu);
    free(w->logg);
    free(w->a);
    free(w->b);
    free(w->c);
    free(w);
}

double moe_loss_rows(moe_loss loss, const moe_dataset *d, const moe_model *m,
                     const double *gate_theta, size_t r0, size_t r1, double *grad, double *tmp,
                     moe_loss_work *w)
{
    const moe_expert_type *et = m->expert;
    const moe_gate_type *gt = m->gate;
    size_t k = m->k, n = w->n, nep = et->nparams(m->nx);
    if (r1 <= r0)
        return 0;
    for (size_t i = 0; i < k; i++) {
        const double *par = moe_model_expert_block_const(m, i);
        et->log_density_rows(d, par, r0, r1, w->logf + i * n + r0);
        if (loss == MOE_LOSS_COOPERATIVE)
            et->moments_rows(d, par, r0, r1, w->mu + i * n + r0, NULL);
    }
    moe_gate_shape gs = moe_model_gate_shape(m);
    gt->log_prob_rows(d, &gs, m->gate_par, r0, r1, w->logg + r0 * k);
    double total = 0;
    for (size_t r = r0; r < r1; r++) {
        const double *lg = w->logg + r * k;
        double *a = w->a + r * k, *b = w->b + r * k, *c = w->c + r * k;
        double wr = d->w ? d->w[r] : 1, e = 0;
        if (loss == MOE_LOSS_NLL) {
            double t[MOE_K_MAX], mx = -INFINITY;
            for (size_t i = 0; i < k; i++) {
                t[i] = lg[i] + w->logf[i * n + r];
                if (t[i] > mx)
                    mx = t[i];
            }
            double s = 0, u[MOE_K_MAX];
            for (size_t i = 0; i < k; i++)
                s += (u[i] = exp(t[i] - mx));
            e = -(mx + log(s));
            for (size_t i = 0; i < k; i++)  /* the posterior h_i = u_i / s */
                a[i] = c[i] = -wr * (u[i] / s);
        } else if (loss == MOE_LOSS_COMPETITIVE) {
            for (size_t i = 0; i < k; i++) {
                double g = exp(lg[i]), l = -w->logf[i * n + r];
                e += g * l;
                a[i] = -wr * g;
                c[i] = wr * g * l;
            }
        } else {
            double o = 0;
            for (size_t i = 0; i < k; i++)
                o += exp(lg[i]) * w->mu[i * n + r];
            double res = d->y[r] - o;
            e = 0.5 * res * res;
            for (size_t i = 0; i < k; i++) {
                double g = exp(lg[i]);
                a[i] = -wr * g;  /* the dispersion's (competitive) weights */
                b[i] = -wr * res * g;
                c[i] = -wr * res * g * w->mu[i * n + r];
            }
        }
        total += wr * e;
    }
    if (!grad)
        return total;
    for (size_t i = 0; i < k; i++) {
        const double *par = moe_model_expert_block_const(m, i);
        double *gi = grad + i * nep;
        if (loss != MOE_LOSS_COOPERATIVE) {
            et->score_rows(d, par, w->a, k, i, r0, r1, gi);
            continue;
        }
        et->mean_grad_rows(d, par, w->b, k, i, r0, r1, gi);
        if (et->dispersion) {
            memset(tmp, 0, nep * sizeof *tmp);
            et->score_rows(d, par, w->a, k, i, r0, r1, tmp);
            gi[nep - 1] += tmp[nep - 1];
        }
    }
    if (k > 1)
        gt->grad_rows(d, &gs, gate_theta, w->c, r0, r1, grad + k * nep);
    return total;
}
