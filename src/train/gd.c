/* gd.c: gradient descent on the losses of src/train/loss.c: epochs of seeded shuffles and
 * mini-batches (or full batches), the optimisers of optim.c under a cosine learning-rate
 * schedule, gradient clipping, early stopping on held-out rows, and divergence that is never
 * silent.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * A step's gradient is the mean over the batch's rows (weighted rows count their weight), so
 * one learning rate suits every data size. The batch is cut into fixed row blocks that depend
 * on its size alone (moe_block_count); the blocks' partial gradients are added in block order,
 * so a fit is bit-identical whatever the number of OpenMP threads. The shuffle permutes the
 * row numbers once per epoch (Fisher-Yates, the draws and swaps of gsl_ran_shuffle, so the
 * order is the one GSL gives), and each mini-batch's rows are gathered into a copy of batch
 * size (which stays in cache), so that a batch is a contiguous row range the type tables'
 * row kernels take. Nothing is allocated after moe_gd_alloc. */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experts/expert.h"
#include "gates/gate.h"
#include "model/estep.h"
#include "train/gd.h"

int moe_gd_split(const moe_dataset *d, double frac, unsigned long seed, moe_dataset **train,
                 moe_dataset **valid)
{
    *train = *valid = NULL;
    size_t n = d->n, nv = (size_t)floor(frac * (double)n + 0.5);
    if (nv == 0 || nv >= n)
        return MOE_EINVAL;
    size_t *all = malloc(n * sizeof *all), *pick = malloc(nv * sizeof *pick);
    char *held = calloc(n, 1);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int status = MOE_ENOMEM;
    if (!all || !pick || !held || !rng)
        goto out;
    gsl_rng_set(rng, seed ^ 0x5eedUL);
    for (size_t r = 0; r < n; r++)
        all[r] = r;
    gsl_ran_choose(rng, pick, nv, all, n, sizeof *all);  /* keeps the original order */
    for (size_t t = 0; t < nv; t++)
        held[pick[t]] = 1;
    size_t nt = 0;
    for (size_t r = 0; r < n; r++)
        if (!held[r])
            all[nt++] = r;
    *train = moe_dataset_pick(d, all, nt);
    *valid = moe_dataset_pick(d, pick, nv);
    if (!*train || !*valid) {
        moe_dataset_free(*train);
        moe_dataset_free(*valid);
        *train = *valid = NULL;
        goto out;
    }
    status = MOE_SUCCESS;
out:
    free(all);
    free(pick);
    free(held);
    if (rng)
        gsl_rng_free(rng);
    return status;
}

moe_gd_work *moe_gd_alloc(const moe_dataset *train, const moe_dataset *valid,
                          const moe_model *m, const moe_gd_params *par)
{
    if (!train || !train->y || train->n == 0 || !m || m->k == 0)
        return NULL;
    moe_gd_work *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->par = *par;
    w->train = train;
    w->valid = valid && valid->n ? valid : NULL;
    w->n = train->n;
    w->nv = w->valid ? valid->n : 0;
    w->k = m->k;
    w->np = moe_model_nparams(m);
    w->nep = moe_model_expert_nparams(m);
    size_t nmax = w->n > w->nv ? w->n : w->nv;
    w->nbmax = moe_block_count(nmax);
    size_t epochs = par->epochs ? par->epochs : 1, np1 = w->np + 1;
    int shuffle = par->batch > 0 && par->batch < w->n;
    if (shuffle) {
        w->shuf = moe_dataset_alloc_like(train, par->batch);
        w->perm = malloc(w->n * sizeof *w->perm);
    }
    w->opt = moe_optim_alloc(par->optimizer, w->np, par->momentum);
    w->theta = malloc(np1 * sizeof *w->theta);
    w->grad = malloc(np1 * sizeof *w->grad);
    w->best = malloc(np1 * sizeof *w->best);
    w->gpart = malloc(w->nbmax * np1 * sizeof *w->gpart);
    w->lpart = malloc(w->nbmax * 2 * sizeof *w->lpart);
    w->tmp = malloc(w->nbmax * (w->k * w->nep + 1) * sizeof *w->tmp);
    w->trace = malloc(epochs * sizeof *w->trace);
    w->vtrace = malloc(epochs * sizeof *w->vtrace);
    int cap = par->capacity > 0 && m->gate->capacity_rows;
    if (cap)
        w->drop = malloc((shuffle ? par->batch : w->n) * w->k);
    if ((shuffle && (!w->shuf || !w->perm)) || !w->opt || !w->theta || !w->grad ||
        !w->best || !w->gpart || !w->lpart || !w->tmp || !w->trace || !w->vtrace ||
        (cap && !w->drop)) {
        moe_gd_free(w);
        return NULL;
    }
    return w;
}

void moe_gd_free(moe_gd_work *w)
{
    if (!w)
        return;
    moe_dataset_free(w->shuf);
    free(w->perm);
    moe_optim_free(w->opt);
    free(w->theta);
    free(w->grad);
    free(w->best);
    free(w->gpart);
    free(w->lpart);
    free(w->tmp);
    free(w->trace);
    free(w->vtrace);
    free(w->drop);
    free(w);
}

/* Permutes A[0..N) in place as gsl_ran_shuffle(RNG, A, N, sizeof *A) does (the same draws
 * of gsl_rng_uniform_int in the same order, the same swaps), without its byte-wise swap. */
static void shuffle(gsl_rng *rng, size_t *a, size_t n)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = gsl_rng_uniform_int(rng, i + 1), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* Loss (and with GRAD, its gradient) summed over rows [R0, R1) of D in fixed blocks;
 * *WSUM gets the rows' weight. M must hold THETA. With GRAD (a training step, R0 = 0) the
 * gate sees its training context: the step's noise and the batch's capacity drops (found in
 * one pass in row order before the blocks), and its batch-level auxiliary losses (gate.h
 * aux_rows) are added once for the batch, times the batch's weight so that the step's loss
 * per row is the mean loss plus the auxiliary losses; without GRAD (moe_gd_loss: the final
 * and validation losses) the gate is clean and they are left out. */
static double batch_pass(moe_gd_work *w, const moe_dataset *d, const moe_model *m, size_t r0,
                         size_t r1, double *grad, double *wsum)
{
    size_t rows = r1 - r0, nb = moe_block_count(rows), np = w->np, ne = w->k * w->nep;
    const double *gth = w->theta + ne;
    moe_gate_shape gs = moe_model_gate_shape(m);
    if (grad && m->gate->capacity_rows) {
        gs.noisy = w->par.noise;
        gs.noise_seed = w->noise_seed;
        gs.noise_step = w->step;
        if (w->drop) {
            m->gate->capacity_rows(d, &gs, m->gate_par, r0, r1, w->par.capacity, w->drop,
                                   NULL);
            gs.drop = w->drop;
        }
    }
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t b = 0; b < nb; b++) {
        size_t a0, a1;
        moe_block_range(rows, nb, b, &a0, &a1);
        a0 += r0;
        a1 += r0;
        double *gp = w->gpart + b * (np + 1);
        if (grad)
            memset(gp, 0, np * sizeof *gp);
        w->lpart[2 * b] = moe_loss_rows(w->par.loss, d, m, &gs, gth, a0, a1,
                                        grad ? gp : NULL, w->tmp + b * (w->k * w->nep + 1));
        double s = 0;
        if (d->w)
            for (size_t r = a0; r < a1; r++)
                s += d->w[r];
        else
            s = (double)(a1 - a0);
        w->lpart[2 * b + 1] = s;
    }
    double loss = 0, ws = 0;
    if (grad)
        memset(grad, 0, np * sizeof *grad);
    for (size_t b = 0; b < nb; b++) {
        loss += w->lpart[2 * b];
        ws += w->lpart[2 * b + 1];
        if (grad)
            for (size_t j = 0; j < np; j++)
                grad[j] += w->gpart[b * (np + 1) + j];
    }
    if (grad && (w->par.aux != MOE_AUX_NONE || w->par.z_weight > 0) && m->gate->aux_rows &&
        w->k > 1) {
        moe_gate_losses gl = {w->par.aux, w->par.aux_weight, w->par.load_weight,
                              w->par.z_weight};
        size_t ng = np - ne;
        double *ga = w->gpart;  /* the block partials are summed: scratch now */
        memset(ga, 0, ng * sizeof *ga);
        loss += ws * m->gate->aux_rows(d, &gs, gth, r0, r1, &gl, ga);
        for (size_t j = 0; j < ng; j++)
            grad[ne + j] += ws * ga[j];
    }
    *wsum = ws;
    return loss;
}

double moe_gd_loss(moe_gd_work *w, const moe_dataset *d, const moe_model *m)
{
    moe_model_get_theta(m, w->theta);
    double ws;
    double l = batch_pass(w, d, m, 0, d->n, NULL, &ws);
    return ws > 0 ? l / ws : NAN;
}

/* Keeps every expert's log sigma at or above log sqrt(var_floor): GD, like EM, must not let
 * an expert shrink onto a few rows (the likelihood is unbounded there). */
static void floor_dispersion(moe_gd_work *w, const moe_model *m)
{
    if (!m->expert->dispersion)
        return;
    double lo = 0.5 * log(w->par.var_floor);
    for (size_t i = 0; i < w->k; i++) {
        double *t = w->theta + i * w->nep + w->nep - 1;
        if (*t < lo)
            *t = lo;
    }
}

static int all_finite(const double *a, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (!isfinite(a[j]))
            return 0;
    return 1;
}

int moe_gd_run(moe_gd_work *w, moe_model *m, gsl_rng *rng,
               void (*progress)(size_t epoch, double loss, void *data), void *data)
{
    const moe_gd_params *p = &w->par;
    size_t n = w->n, np = w->np;
    size_t batch = p->batch > 0 && p->batch < n ? p->batch : n;
    size_t steps = (n + batch - 1) / batch, total = p->epochs * steps, t = 0;
    moe_optim_reset(w->opt);
    moe_model_get_theta(m, w->theta);
    memcpy(w->best, w->theta, np * sizeof *w->best);
    w->epochs_done = w->best_epoch = 0;
    w->stopped_early = 0;
    w->message[0] = 0;
    if (p->noise && m->gate->capacity_rows)  /* drawn only then: other fits keep their stream */
        w->noise_seed = gsl_rng_get(rng);
    double first = NAN, best_v = INFINITY;
    for (size_t e = 0; e < p->epochs; e++) {
        const moe_dataset *d = w->train;
        if (batch < n) {
            for (size_t r = 0; r < n; r++)
                w->perm[r] = r;
            shuffle(rng, w->perm, n);
        }
        double el = 0, ew = 0;
        for (size_t s = 0; s < steps; s++, t++) {
            size_t r0 = s * batch, r1 = r0 + batch < n ? r0 + batch : n;
            if (batch < n) {  /* the batch's rows, gathered into rows [0, r1 - r0) */
                moe_dataset_copy_rows(w->train, w->perm + r0, r1 - r0, w->shuf);
                d = w->shuf;
                r1 -= r0;
                r0 = 0;
            }
            w->step = t;
            double ws, l = batch_pass(w, d, m, r0, r1, w->grad, &ws);
            if (!(ws > 0))
                continue;  /* a batch of zero-weight rows moves nothing */
            for (size_t j = 0; j < np; j++)
                w->grad[j] /= ws;
            el += l;
            ew += ws;
            if (!isfinite(l) || !all_finite(w->grad, np)) {
                snprintf(w->message, sizeof w->message,
                         "gradient descent diverged at epoch %zu (the %s turned non-finite); "
                         "try a smaller --lr than %g", e + 1, isfinite(l) ? "gradient" : "loss",
                         p->lr);
                return MOE_ENUMERIC;
            }
            moe_optim_clip(w->grad, np, p->clip);
            moe_optim_step(w->opt, w->grad, moe_optim_cosine(p->lr, t, total), w->theta);
            floor_dispersion(w, m);
            moe_model_set_theta(m, w->theta);
        }
        double loss = ew > 0 ? el / ew : NAN;
        if (e == 0)
            first = loss;
        w->trace[e] = loss;
        w->epochs_done = e + 1;
        if (!isfinite(loss) || !all_finite(w->theta, np) ||
            loss > first + MOE_GD_EXPLODE * (fabs(first) + 1)) {
            snprintf(w->message, sizeof w->message,
                     "gradient descent diverged at epoch %zu (loss per row %.3g after %.3g at "
                     "the first epoch); try a smaller --lr than %g", e + 1, loss, first, p->lr);
            return MOE_ENUMERIC;
        }
        if (progress)
            progress(e + 1, loss, data);
        if (w->valid) {
            double vl = moe_gd_loss(w, w->valid, m);
            w->vtrace[e] = vl;
            if (vl < best_v) {
                best_v = vl;
                w->best_epoch = e + 1;
                memcpy(w->best, w->theta, np * sizeof *w->best);
            } else if (e + 1 - w->best_epoch >= p->patience) {
                w->stopped_early = 1;
                break;
            }
        }
    }
    if (w->valid) {  /* the parameters of the best validation loss */
        memcpy(w->theta, w->best, np * sizeof *w->theta);
        moe_model_set_theta(m, w->theta);
    } else {
        w->best_epoch = w->epochs_done;
    }
    w->loss = moe_gd_loss(w, w->train, m);
    w->vloss = w->valid ? moe_gd_loss(w, w->valid, m) : NAN;
    if (!isfinite(w->loss) || !all_finite(w->theta, np)) {
        snprintf(w->message, sizeof w->message, "gradient descent ended on a non-finite loss; "
                 "try a smaller --lr than %g", p->lr);
        return MOE_ENUMERIC;
    }
    return MOE_SUCCESS;
}
