/* test_loss.c: the gradients of the three GD losses (nll, competitive, cooperative) for every
 * expert family with the softmax gate, against central finite differences of the losses
 * themselves (src/train/loss.c, the experts' score_rows and mean_grad_rows and the gate's
 * grad_rows), on weighted rows with separate gate inputs, an offset (poisson) and trials
 * (logistic). A family with a hidden layer (mlp) is checked with 3 hidden units, once with
 * each activation (tanh, relu; random rows fall on a relu kink with probability 0).
 * The tree gate's grad_rows (2x2 and 3x2 trees, every node's rows) the same way.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experts/expert.h"
#include "gates/gate.h"
#include "model/estep.h"
#include "model/model.h"
#include "train/loss.h"
#include "tap.h"

#define N 37
#define NX 2
#define NZ 1

#define K 3
#define HIDDEN 3  /* the hidden units of a family that has them */

/* Family ET's shape with activation ACT, and its label ("gaussian", "mlp:3:relu") in BUF. */
static moe_expert_shape shape_of(const moe_expert_type *et, int act, char *buf, size_t len)
{
    moe_expert_shape sh = {NX, et->hidden_layer ? HIDDEN : 0, (moe_activation)act};
    moe_expert_spec_format(et, &sh, buf, len);
    return sh;
}

static moe_dataset *make_data(const moe_expert_type *et, size_t n, gsl_rng *rng)
{
    moe_dataset *d = moe_dataset_alloc(n, NX, NZ, 1);
    d->w = malloc(n * sizeof *d->w);
    if (et->needs_offset)
        d->offset = malloc(n * sizeof *d->offset);
    if (et->needs_trials)
        d->trials = malloc(n * sizeof *d->trials);
    for (size_t r = 0; r < n; r++) {
        for (size_t j = 1; j <= NX; j++)
            d->x[r * (NX + 1) + j] = gsl_ran_gaussian(rng, 1);
        for (size_t j = 1; j <= NZ; j++)
            d->z[r * (NZ + 1) + j] = gsl_ran_gaussian(rng, 1);
        d->w[r] = 0.5 + gsl_rng_uniform(rng) * 1.5;
        if (d->offset)
            d->offset[r] = 0.3 * gsl_ran_gaussian(rng, 1);
        if (d->trials)
            d->trials[r] = 1 + (double)gsl_rng_uniform_int(rng, 4);
        if (et->scales_response)  /* gaussian, mlp */
            d->y[r] = gsl_ran_gaussian(rng, 1.5);
        else if (strcmp(et->name, "poisson") == 0)
            d->y[r] = (double)gsl_ran_poisson(rng, 2.5);
        else
            d->y[r] = (double)gsl_ran_binomial(rng, 0.4, (unsigned)d->trials[r]);
    }
    return d;
}

static double loss_at(moe_loss loss, const moe_dataset *d, moe_model *m, const double *theta,
                      size_t ne)
{
    moe_model_set_theta(m, theta);
    return moe_loss_rows(loss, d, m, NULL, theta + ne, 0, d->n, NULL, NULL);
}

/* The loss takes its rows in chunks (src/train/loss.c: 341 rows at K = 3, so 1000 rows make
 * three chunks, the last one short): one call over every row must equal row-by-row calls bit
 * for bit, since both add each row's terms in row order, for every family and loss. */
#define NBIG 1000
static void test_chunks(const moe_expert_type *et, int act, gsl_rng *rng)
{
    char nm[32];
    moe_expert_shape sh = shape_of(et, act, nm, sizeof nm);
    moe_dataset *d = make_data(et, NBIG, rng);
    moe_model *m = moe_model_alloc_typed(et, &moe_gate_softmax, K, &sh, NZ);
    size_t np = moe_model_nparams(m), nep = moe_model_expert_nparams(m), ne = K * nep;
    double *theta = malloc(np * sizeof *theta), *g1 = calloc(np, sizeof *g1);
    double *g2 = calloc(np, sizeof *g2), *tmp = malloc(K * nep * sizeof *tmp);
    for (size_t j = 0; j < np; j++)
        theta[j] = 0.4 * gsl_ran_gaussian(rng, 1);
    moe_model_set_theta(m, theta);
    const char *lname[] = {"nll", "competitive", "cooperative"};
    for (int li = 0; li < 3; li++) {
        moe_loss loss = (moe_loss)li;
        memset(g1, 0, np * sizeof *g1);
        memset(g2, 0, np * sizeof *g2);
        double e1 = moe_loss_rows(loss, d, m, NULL, theta + ne, 0, NBIG, g1, tmp), e2 = 0;
        for (size_t r = 0; r < NBIG; r++)
            e2 += moe_loss_rows(loss, d, m, NULL, theta + ne, r, r + 1, g2, tmp);
        tap_ok(e1 == e2 && memcmp(g1, g2, np * sizeof *g1) == 0 && isfinite(e1),
               "%s %s: %d rows in one call (three chunks) = row by row, bit for bit (%.17g, "
               "%.17g)", nm, lname[li], NBIG, e1, e2);
    }
    free(theta);
    free(g1);
    free(g2);
    free(tmp);
    moe_model_free(m);
    moe_dataset_free(d);
}

/* The tree gate (issue 12) under the three losses, Gaussian leaves: the gradient of every
 * parameter (leaves and every node's gate rows) against central differences of the loss,
 * for the trees 2x2 and 3x2. */
static void test_tree(size_t depth, const size_t *br, gsl_rng *rng)
{
    const moe_expert_type *et = &moe_expert_gaussian;
    size_t k = 1;
    for (size_t l = 0; l < depth; l++)
        k *= br[l];
    moe_dataset *d = make_data(et, N, rng);
    moe_expert_shape sh = {.nx = NX};
    moe_model *m = moe_model_alloc_typed(et, &moe_gate_tree, k, &sh, NZ);
    moe_model_set_tree(m, depth, br);
    size_t np = moe_model_nparams(m), nep = moe_model_expert_nparams(m), ne = k * nep;
    double *theta = malloc(np * sizeof *theta), *g = calloc(np, sizeof *g);
    double *tp = malloc(np * sizeof *tp), *tmp = malloc(k * nep * sizeof *tmp);
    for (size_t j = 0; j < np; j++)
        theta[j] = 0.4 * gsl_ran_gaussian(rng, 1);
    const char *lname[] = {"nll", "competitive", "cooperative"};
    for (int li = 0; li < 3; li++) {
        moe_loss loss = (moe_loss)li;
        moe_model_set_theta(m, theta);
        memset(g, 0, np * sizeof *g);
        double e = moe_loss_rows(loss, d, m, NULL, theta + ne, 0, N, g, tmp), gmax = 0, worst = 0;
        for (size_t j = 0; j < np; j++)
            gmax = fmax(gmax, fabs(g[j]));
        for (size_t j = 0; j < np; j++) {
            /* the cooperative loss's dispersion gradient is the competitive one's (above) */
            if (loss == MOE_LOSS_COOPERATIVE && j < ne && j % nep == nep - 1)
                continue;
            double h = 1e-5 * (1 + fabs(theta[j]));
            memcpy(tp, theta, np * sizeof *tp);
            tp[j] = theta[j] + h;
            double ep = loss_at(loss, d, m, tp, ne);
            tp[j] = theta[j] - h;
            double em = loss_at(loss, d, m, tp, ne);
            worst = fmax(worst, fabs(g[j] - (ep - em) / (2 * h)));
        }
        tap_ok(isfinite(e) && worst <= 1e-6 * (gmax + 1), "tree %zux%zu %s: gradient = central "
               "differences (worst deviation %.3g, largest |g| %.3g)", br[0], br[1], lname[li],
               worst, gmax);
    }
    free(theta);
    free(g);
    free(tp);
    free(tmp);
    moe_model_free(m);
    moe_dataset_free(d);
}

int main(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261202);
    const char *lname[] = {"nll", "competitive", "cooperative"};
    for (size_t f = 0; moe_expert_types[f]; f++)
        for (int act = 0; act < (moe_expert_types[f]->hidden_layer ? 2 : 1); act++) {
            const moe_expert_type *et = moe_expert_types[f];
            char nm[32];
            moe_expert_shape sh = shape_of(et, act, nm, sizeof nm);
            moe_dataset *d = make_data(et, N, rng);
            moe_model *m = moe_model_alloc_typed(et, &moe_gate_softmax, K, &sh, NZ);
            size_t np = moe_model_nparams(m), nep = moe_model_expert_nparams(m), ne = K * nep;
            double *theta = malloc(np * sizeof *theta), *g = malloc(np * sizeof *g);
            double *g2 = malloc(np * sizeof *g2), *gc = malloc(np * sizeof *gc);
            double *tp = malloc(np * sizeof *tp), *tmp = malloc(K * nep * sizeof *tmp);
            for (size_t j = 0; j < np; j++)
                theta[j] = 0.4 * gsl_ran_gaussian(rng, 1);
            /* competitive first: its dispersion gradient is what cooperative must give */
            for (int li = 0; li < 3; li++) {
                moe_loss loss = (moe_loss)li;
                moe_model_set_theta(m, theta);
                memset(g, 0, np * sizeof *g);
                double e = moe_loss_rows(loss, d, m, NULL, theta + ne, 0, N, g, tmp);
                tap_ok(isfinite(e) && e != 0, "%s %s: the loss is finite (%g)", nm,
                       lname[li], e);
                if (loss == MOE_LOSS_COMPETITIVE)
                    memcpy(gc, g, np * sizeof *g);
                double gmax = 0, worst = 0;
                size_t wj = 0;
                for (size_t j = 0; j < np; j++)
                    if (fabs(g[j]) > gmax)
                        gmax = fabs(g[j]);
                for (size_t j = 0; j < np; j++) {
                    int disp = et->dispersion && j < ne && j % nep == nep - 1;
                    double want;
                    if (loss == MOE_LOSS_COOPERATIVE && disp) {
                        want = gc[j];  /* the dispersion follows the competitive loss */
                    } else {
                        double h = 1e-5 * (1 + fabs(theta[j]));
                        memcpy(tp, theta, np * sizeof *tp);
                        tp[j] = theta[j] + h;
                        double ep = loss_at(loss, d, m, tp, ne);
                        tp[j] = theta[j] - h;
                        double em = loss_at(loss, d, m, tp, ne);
                        want = (ep - em) / (2 * h);
                    }
                    double dev = fabs(g[j] - want);
                    if (dev > worst) {
                        worst = dev;
                        wj = j;
                    }
                }
                tap_ok(worst <= 1e-6 * (gmax + 1), "%s %s: gradient = central differences "
                       "(worst deviation %.3g at parameter %zu of %zu, largest |g| %.3g)",
                       nm, lname[li], worst, wj, np, gmax);
                /* the gradient adds over row blocks (what the trainer's fixed blocks rely on) */
                moe_model_set_theta(m, theta);
                memset(g2, 0, np * sizeof *g2);
                double e2 = moe_loss_rows(loss, d, m, NULL, theta + ne, 0, 11, g2, tmp);
                e2 += moe_loss_rows(loss, d, m, NULL, theta + ne, 11, N, g2, tmp);
                double bd = 0;
                for (size_t j = 0; j < np; j++)
                    if (fabs(g2[j] - g[j]) > bd)
                        bd = fabs(g2[j] - g[j]);
                tap_ok(fabs(e2 - e) <= 1e-12 * fabs(e) && bd <= 1e-12 * (gmax + 1),
                       "%s %s: loss and gradient add over row blocks", nm, lname[li]);
            }
            /* huge gate logits (a gate that separates): every gradient stays finite */
            {
                memcpy(tp, theta, np * sizeof *tp);
                for (size_t j = ne; j < np; j++)
                    tp[j] = j % 2 ? 1000 : -800;
                moe_model_set_theta(m, tp);
                memset(g, 0, np * sizeof *g);
                double e = moe_loss_rows(MOE_LOSS_NLL, d, m, NULL, tp + ne, 0, N, g, tmp);
                int fin = isfinite(e);
                for (size_t j = 0; j < np; j++)
                    fin = fin && isfinite(g[j]);
                tap_ok(fin, "%s: logits of +-1000: the nll and its gradient stay finite", nm);
            }
            /* the nll is the negative (weighted) log-likelihood of the E-step */
            moe_model_set_theta(m, theta);
            tap_rel(moe_loss_rows(MOE_LOSS_NLL, d, m, NULL, theta + ne, 0, N, NULL, NULL),
                    -moe_estep(d, m, NULL, NULL), 1e-13, "%s: nll = -(weighted log-likelihood)",
                    nm);
            free(theta);
            free(g);
            free(g2);
            free(gc);
            free(tp);
            free(tmp);
            moe_model_free(m);
            moe_dataset_free(d);
        }
    for (size_t f = 0; moe_expert_types[f]; f++)
        for (int act = 0; act < (moe_expert_types[f]->hidden_layer ? 2 : 1); act++)
            test_chunks(moe_expert_types[f], act, rng);
    static const size_t t22[] = {2, 2}, t32[] = {3, 2};
    test_tree(2, t22, rng);
    test_tree(2, t32, rng);
    gsl_rng_free(rng);
    return tap_done();
}
