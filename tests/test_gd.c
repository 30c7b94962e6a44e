/* test_gd.c: gradient-descent training (src/train/gd.c, optim.c) through moe_fit_run and the
 * optimisers directly: GD on the nll loss from EM's own k-means start reaches EM's
 * log-likelihood (mcycle K = 3, faithful and tonedata K = 2; Poisson on patent and logistic on
 * betablocker, K = 2); the optimisers' steps against
 * their formulas; bit-identical fits for 1 and 2 threads; divergence stops with a message;
 * early stopping on held-out rows; the three losses on simulated regimes against the truth.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "moe.h"
#include "data/dataset.h"
#include "experts/expert.h"
#include "gates/gate.h"
#include "model/estep.h"
#include "train/gd.h"
#include "train/optim.h"
#include "tap.h"

static moe_dataset *read_sel(const char *file, const moe_selection *selp)
{
    const char *srcdir = getenv("srcdir");
    char path[1024];
    snprintf(path, sizeof path, "%s/datasets/%s", srcdir ? srcdir : ".", file);
    moe_csv_options co = moe_csv_options_default();
    moe_selection sel = selp ? *selp : moe_selection_default();
    moe_table *t = NULL;
    moe_dataset *d = NULL;
    if (moe_table_read_csv(path, &co, &t, NULL) == MOE_SUCCESS)
        moe_dataset_from_table(t, &sel, &d, NULL);
    moe_table_free(t);
    return d;
}

static moe_dataset *read_data(const char *file) { return read_sel(file, NULL); }

static moe_fit_options one_start(size_t k)
{
    moe_fit_options o = moe_fit_options_default();
    o.k_min = o.k_max = k;
    o.init = MOE_INIT_KMEANS;
    o.restarts = 1;
    o.standard_errors = 0;
    return o;
}

/* GD with the nll loss from the k-means start that EM starts from reaches EM's maximum. The
 * EM values are moefit's own (test_em.c checks them against flexmix). mcycle's gate
 * separates the regimes, so its slopes grow slowly without bound and GD needs more epochs. */
static void test_reaches_em(void)
{
    struct { const char *file; size_t k, epochs; } cases[] = {
        {"mcycle.csv", 3, 20000}, {"faithful.csv", 2, 2000}, {"tonedata.csv", 2, 2000}};
    for (size_t c = 0; c < 3; c++) {
        moe_dataset *d = read_data(cases[c].file);
        if (!d) {
            tap_ok(0, "cannot read %s (set srcdir)", cases[c].file);
            continue;
        }
        moe_fit_options o = one_start(cases[c].k);
        moe_fit *em = NULL, *gd = NULL;
        moe_fit_run(d, &o, &em, NULL);
        o.train = MOE_TRAIN_GD;
        o.epochs = cases[c].epochs;
        moe_fit_run(d, &o, &gd, NULL);
        if (!em || !gd) {
            tap_ok(0, "%s: both fits ran", cases[c].file);
        } else {
            double le = moe_fit_get_stats(em).loglik, lg = moe_fit_get_stats(gd).loglik;
            printf("# %s K=%zu: EM logLik %.9f, GD nll logLik %.9f\n", cases[c].file,
                   cases[c].k, le, lg);
            tap_ok(lg >= le - 1e-4 * fabs(le), "%s K = %zu: GD (nll, Adam, %zu epochs) reaches "
                   "EM's log-likelihood within 1e-4 relative (%.6f vs %.6f)", cases[c].file,
                   cases[c].k, cases[c].epochs, lg, le);
            tap_ok(moe_fit_trainer(gd) == MOE_TRAIN_GD && moe_fit_get_stats(gd).iterations ==
                   cases[c].epochs, "%s: the fit says GD ran all its epochs", cases[c].file);
            /* the reported training loss is the nll per row on the standardised scale */
            size_t len = 0;
            const double *tr = moe_fit_trace(gd, moe_fit_best_trace(gd), &len);
            tap_ok(len == cases[c].epochs && tr && tr[len - 1] <= tr[0] + 1e-12,
                   "%s: the loss trace has one value per epoch and ends no higher than it "
                   "started", cases[c].file);
        }
        moe_fit_free(em);
        moe_fit_free(gd);
        moe_dataset_free(d);
    }
    /* the GLM families through the same slots: Poisson on flexmix's patent data (gate on RDS)
     * and binomial logistic on the beta-blocker trials (constant gate) */
    struct { const char *file, *fam, *y, *x, *z, *trials; } glm[] = {
        {"patent.csv", "poisson", "Patents", "lgRD", "RDS", NULL},
        {"betablocker.csv", "logistic", "Deaths", "Treatment", "", "Total"}};
    for (size_t c = 0; c < 2; c++) {
        moe_selection sel = moe_selection_default();
        sel.response = glm[c].y;
        sel.inputs = glm[c].x;
        sel.gate_inputs = glm[c].z;
        sel.trials = glm[c].trials;
        moe_dataset *d = read_sel(glm[c].file, &sel);
        moe_fit_options o = one_start(2);
        o.family = glm[c].fam;
        moe_fit *em = NULL, *gd = NULL;
        if (d)
            moe_fit_run(d, &o, &em, NULL);
        o.train = MOE_TRAIN_GD;
        if (d)
            moe_fit_run(d, &o, &gd, NULL);
        if (!em || !gd) {
            tap_ok(0, "%s: both fits ran", glm[c].file);
        } else {
            double le = moe_fit_get_stats(em).loglik, lg = moe_fit_get_stats(gd).loglik;
            tap_ok(lg >= le - 1e-4 * fabs(le), "%s (%s, K = 2): GD reaches EM's log-likelihood "
                   "within 1e-4 relative (%.6f vs %.6f)", glm[c].file, glm[c].fam, lg, le);
        }
        moe_fit_free(em);
        moe_fit_free(gd);
        moe_dataset_free(d);
    }
}

/* The optimisers' steps against their formulas, worked by hand. */
static void test_optimisers(void)
{
    moe_optim *sgd = moe_optim_alloc(MOE_OPTIM_SGD, 2, 0.5);
    double th[2] = {1, 2}, g[2] = {0.4, -1};
    moe_optim_step(sgd, g, 0.1, th);   /* v = g; theta -= 0.1 g */
    moe_optim_step(sgd, g, 0.1, th);   /* v = 0.5 g + g = 1.5 g */
    tap_abs(th[0], 1 - 0.1 * 0.4 - 0.1 * 1.5 * 0.4, 1e-15, "SGD with momentum: first coordinate");
    tap_abs(th[1], 2 + 0.1 + 0.15, 1e-15, "SGD with momentum: second coordinate");
    moe_optim_free(sgd);
    /* Adam's first step is lr * sign(g) (bias-corrected m / sqrt(v) = g / |g|) */
    moe_optim *adam = moe_optim_alloc(MOE_OPTIM_ADAM, 2, 0);
    double ta[2] = {0, 0}, ga[2] = {3, -0.01};
    moe_optim_step(adam, ga, 0.05, ta);
    tap_abs(ta[0], -0.05, 1e-9, "Adam: the first step is -lr sign(g) (large g)");
    tap_abs(ta[1], 0.05, 1e-5, "Adam: the first step is -lr sign(g) (small g)");
    /* Adam minimises a badly scaled quadratic 0.5 (100 a^2 + b^2) */
    moe_optim_reset(adam);
    double tq[2] = {1, 1};
    for (size_t t = 0; t < 3000; t++) {
        double gq[2] = {100 * tq[0], tq[1]};
        moe_optim_step(adam, gq, moe_optim_cosine(0.05, t, 3000), tq);
    }
    tap_ok(fabs(tq[0]) < 1e-4 && fabs(tq[1]) < 1e-4, "Adam with the cosine schedule finds the "
           "minimum of a badly scaled quadratic (%.2g, %.2g)", tq[0], tq[1]);
    moe_optim_free(adam);
    tap_abs(moe_optim_cosine(0.2, 0, 10), 0.2, 1e-15, "cosine schedule starts at lr");
    tap_abs(moe_optim_cosine(0.2, 5, 10), 0.1, 1e-15, "cosine schedule is lr/2 half-way");
    tap_abs(moe_optim_cosine(0.2, 10, 10), 0, 0, "cosine schedule ends at 0");
    double gc[3] = {3, 4, 0};
    double norm = moe_optim_clip(gc, 3, 1);
    tap_ok(norm == 5 && fabs(gc[0] - 0.6) < 1e-15 && fabs(gc[1] - 0.8) < 1e-15,
           "clipping scales a gradient of norm 5 down to norm 1");
    double gn[2] = {0.3, 0.4};
    moe_optim_clip(gn, 2, 1);
    tap_ok(gn[0] == 0.3 && gn[1] == 0.4, "clipping leaves a short gradient alone");
}

static moe_dataset *simulated(size_t k, size_t n, unsigned long seed, size_t *regime)
{
    moe_sim_options so = moe_sim_options_default();
    so.k = k;
    so.seed = seed;
    moe_model *truth = NULL;
    moe_dataset *d = NULL;
    if (moe_simulate_model(&so, &truth, NULL) == MOE_SUCCESS)
        moe_simulate(truth, n, seed + 1, &d, regime, NULL);
    moe_model_free(truth);
    return d;
}

/* The same seed gives the same GD fit bit for bit with 1 and 2 threads, full batch and
 * mini-batches that span several row blocks. */
static void test_threads(void)
{
#ifdef _OPENMP
    moe_dataset *d = simulated(3, 20000, 5, NULL);
    tap_ok(d && moe_block_count(20000) > 2, "thread test spans several row blocks");
    size_t batches[2] = {0, 9000};
    int nt = omp_get_max_threads();
    for (size_t b = 0; d && b < 2; b++) {
        moe_fit_options o = one_start(3);
        o.train = MOE_TRAIN_GD;
        o.epochs = 30;
        o.batch = batches[b];
        o.validation = 0.1;
        moe_fit *f[2] = {NULL, NULL};
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            moe_fit_run(d, &o, &f[t], NULL);
        }
        omp_set_num_threads(nt);
        if (!f[0] || !f[1]) {
            tap_ok(0, "thread fits ran");
        } else {
            const moe_model *m0 = moe_fit_model(f[0]), *m1 = moe_fit_model(f[1]);
            int same = moe_fit_get_stats(f[0]).loglik == moe_fit_get_stats(f[1]).loglik &&
                       moe_fit_train_loss(f[0]) == moe_fit_train_loss(f[1]) &&
                       moe_fit_validation_loss(f[0]) == moe_fit_validation_loss(f[1]);
            for (size_t blk = 0; blk <= moe_model_k(m0); blk++) {
                double c0[16], c1[16];
                moe_model_coefs(m0, blk, c0);
                moe_model_coefs(m1, blk, c1);
                same = same && memcmp(c0, c1, moe_model_ncoef(m0, blk) * sizeof *c0) == 0;
            }
            tap_ok(same, "batch %zu: GD fits with 1 and 2 threads are bit-identical",
                   batches[b]);
        }
        moe_fit_free(f[0]);
        moe_fit_free(f[1]);
    }
    moe_dataset_free(d);
#else
    tap_ok(1, "# SKIP no OpenMP");
#endif
}

/* A learning rate far too large: every start diverges, the fit fails with a message that
 * names the epoch and suggests a smaller --lr; no model comes back. */
static void test_divergence(void)
{
    moe_dataset *d = read_data("mcycle.csv");
    moe_fit_options o = one_start(2);
    o.train = MOE_TRAIN_GD;
    o.optimizer = MOE_OPTIM_SGD;
    o.lr = 1e6;
    o.restarts = 2;
    o.init = MOE_INIT_MIXED;
    moe_fit *f = NULL;
    moe_error err = {0};
    int st = moe_fit_run(d, &o, &f, &err);
    tap_ok(st == MOE_ENUMERIC && !f, "a diverging GD fails with MOE_ENUMERIC (got %d)", st);
    tap_ok(strstr(err.message, "diverged") && strstr(err.message, "smaller --lr"),
           "the message says it diverged and suggests a smaller --lr: %s", err.message);
    moe_dataset_free(d);
}

/* Held-out rows: both losses reported, early stopping once the validation loss stalls, and
 * the kept parameters are those of the best validation loss. */
static void test_validation(void)
{
    moe_dataset *d = read_data("faithful.csv");
    moe_fit_options o = one_start(2);
    o.train = MOE_TRAIN_GD;
    o.validation = 0.25;
    o.patience = 20;
    o.epochs = 3000;
    o.batch = 32;
    moe_fit *f = NULL;
    moe_fit_run(d, &o, &f, NULL);
    if (!f) {
        tap_ok(0, "validation fit ran");
    } else {
        size_t len = 0, tlen = 0;
        const double *vt = moe_fit_validation_trace(f, &len);
        moe_fit_trace(f, moe_fit_best_trace(f), &tlen);
        double best = INFINITY;
        for (size_t e = 0; vt && e < len; e++)
            if (vt[e] < best)
                best = vt[e];
        tap_ok(vt && len == tlen && len < 3000, "early stopping after %zu of 3000 epochs", len);
        tap_abs(moe_fit_validation_loss(f), best, 1e-12 * fabs(best), "the kept parameters "
                "have the best validation loss of the trace");
        tap_ok(isfinite(moe_fit_train_loss(f)), "the training loss is reported (%g)",
               moe_fit_train_loss(f));
    }
    moe_fit_free(f);
    moe_dataset_free(d);
}

/* Known regimes: moefit's own simulator draws a well-separated 3-expert model (a softmax gate
 * on x, so the division of the input space is the true gate's most probable expert) and 800
 * rows from it. Every loss runs from the same k-means start. Checked: each fitted gate divides
 * the rows as the true gate does (best matching of experts; > 90% of rows for nll, > 60% for
 * competitive, whose winner-take-all loss moves the boundaries to where one expert fits best
 * and gives the sharpest gate, and for cooperative, whose experts blend), and each loss
 * wins on its own criterion: cooperative has the smallest squared error of the blended mean
 * sum_i g_i mu_i, nll the largest log-likelihood. */
static void test_losses_on_regimes(void)
{
    enum { NR = 800, K3 = 3 };
    moe_sim_options so = moe_sim_options_default();
    so.k = K3;
    so.seed = 11;
    moe_model *truth = NULL;
    moe_dataset *d = NULL;
    moe_prediction *pt = NULL;
    if (moe_simulate_model(&so, &truth, NULL) || moe_simulate(truth, NR, 12, &d, NULL, NULL) ||
        moe_predict(truth, d, 0, &pt, NULL)) {
        tap_ok(0, "simulated the regimes");
        return;
    }
    const double *y = NULL;
    double *yy = malloc(NR * sizeof *yy);
    /* the response, as the library writes the simulated rows out */
    FILE *tmp = tmpfile();
    moe_dataset_write_csv(d, tmp, NULL);
    rewind(tmp);
    char line[256];
    size_t r = 0;
    if (fgets(line, sizeof line, tmp))
        while (r < NR && fgets(line, sizeof line, tmp)) {
            char *c = strrchr(line, ',');
            yy[r++] = c ? strtod(c + 1, NULL) : NAN;
        }
    fclose(tmp);
    y = yy;
    moe_loss losses[3] = {MOE_LOSS_NLL, MOE_LOSS_COMPETITIVE, MOE_LOSS_COOPERATIVE};
    double acc[3] = {0, 0, 0}, sharp[3] = {0, 0, 0}, mse[3] = {0, 0, 0}, ll[3] = {0, 0, 0};
    for (int l = 0; l < 3; l++) {
        moe_fit_options o = one_start(K3);
        o.train = MOE_TRAIN_GD;
        o.loss = losses[l];
        o.epochs = 4000;
        moe_fit *f = NULL;
        moe_prediction *p = NULL;
        if (moe_fit_run(d, &o, &f, NULL) || moe_predict(moe_fit_model(f), d, 0, &p, NULL)) {
            tap_ok(0, "%s fit ran", moe_loss_name(losses[l]));
            moe_fit_free(f);
            continue;
        }
        size_t cnt[K3][K3] = {{0}};
        for (size_t t = 0; t < NR; t++) {
            cnt[p->expert[t]][pt->expert[t]]++;
            double mx = 0;
            for (size_t i = 0; i < K3; i++)
                if (p->gate[t * K3 + i] > mx)
                    mx = p->gate[t * K3 + i];
            sharp[l] += mx / NR;
            mse[l] += (y[t] - p->mean[t]) * (y[t] - p->mean[t]) / NR;
        }
        size_t perm[6][3] = {{0,1,2},{0,2,1},{1,0,2},{1,2,0},{2,0,1},{2,1,0}}, bestc = 0;
        for (size_t q = 0; q < 6; q++) {
            size_t c = cnt[0][perm[q][0]] + cnt[1][perm[q][1]] + cnt[2][perm[q][2]];
            if (c > bestc)
                bestc = c;
        }
        acc[l] = (double)bestc / NR;
        ll[l] = moe_fit_get_stats(f).loglik;
        printf("# %s: agreement with the true gate %.3f, mean max g %.3f, MSE %.5f, "
               "logLik %.3f\n", moe_loss_name(losses[l]), acc[l], sharp[l], mse[l], ll[l]);
        moe_prediction_free(p);
        moe_fit_free(f);
    }
    tap_ok(acc[0] > 0.9, "nll: the gate divides the rows as the true gate does (%.3f)", acc[0]);
    tap_ok(acc[1] > 0.6, "competitive: the gate divides the rows much as the true gate does "
           "(%.3f)", acc[1]);
    tap_ok(acc[2] > 0.6, "cooperative: the gate divides the rows much as the true gate does "
           "(%.3f)", acc[2]);
    tap_ok(mse[2] > 0 && mse[2] <= mse[0] && mse[2] <= mse[1], "cooperative: the smallest "
           "squared error of the blended mean (%.5f vs %.5f, %.5f)", mse[2], mse[0], mse[1]);
    tap_ok(ll[0] >= ll[1] && ll[0] >= ll[2], "nll: the largest log-likelihood (%.3f vs %.3f, "
           "%.3f)", ll[0], ll[1], ll[2]);
    free(yy);
    moe_prediction_free(pt);
    moe_model_free(truth);
    moe_dataset_free(d);
}

/* Every epoch of mini-batches visits every row exactly once (the shuffle is a permutation and
 * each step gathers the next batch's rows): at learning rate 0 the parameters never move, so
 * each epoch's loss (the batches' summed losses over their summed weights) must be the loss
 * of the whole data at those parameters, for a batch size that does not divide the rows and
 * random row weights. */
static void test_batches_cover_rows(void)
{
    enum { NR = 100, NX = 2 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    moe_dataset *d = moe_dataset_alloc(NR, NX, NX, 1);
    d->w = malloc(NR * sizeof *d->w);
    for (size_t r = 0; r < NR; r++) {
        for (size_t j = 1; j <= NX; j++)
            d->x[r * (NX + 1) + j] = d->z[r * (NX + 1) + j] = gsl_ran_gaussian(rng, 1);
        d->y[r] = d->x[r * (NX + 1) + 1] + gsl_ran_gaussian(rng, 1);
        d->w[r] = 0.5 + 2 * gsl_rng_uniform(rng);
    }
    moe_model *m = moe_model_alloc_typed(&moe_expert_gaussian, &moe_gate_softmax, 3,
                                         &(moe_expert_shape){NX, 0, MOE_ACT_TANH}, NX);
    size_t np = moe_model_nparams(m);
    double *theta = malloc(np * sizeof *theta);
    for (size_t j = 0; j < np; j++)
        theta[j] = 0.5 * gsl_ran_gaussian(rng, 1);
    moe_model_set_theta(m, theta);
    moe_gd_params p = {MOE_LOSS_NLL, MOE_OPTIM_ADAM, 0, 0.9, 7, 3, 100, 0, 1e-6, MOE_AUX_NONE, 0,
                       0, 0, 0, 0};
    moe_gd_work *w = moe_gd_alloc(d, NULL, m, &p);
    int st = w ? moe_gd_run(w, m, rng, NULL, NULL) : MOE_ENOMEM;
    double worst = 0;
    for (size_t e = 0; st == MOE_SUCCESS && e < 3; e++)
        worst = fmax(worst, fabs(w->trace[e] - w->loss) / fabs(w->loss));
    tap_ok(st == MOE_SUCCESS && worst < 1e-13, "batch 7 of 100 weighted rows at lr 0: every "
           "epoch's loss is the whole data's (worst relative difference %.2g)", worst);
    moe_gd_free(w);
    free(theta);
    moe_model_free(m);
    moe_dataset_free(d);
    gsl_rng_free(rng);
}

int main(void)
{
    test_batches_cover_rows();
    test_optimisers();
    test_reaches_em();
    test_threads();
    test_divergence();
    test_validation();
    test_losses_on_regimes();
    return tap_done();
}
