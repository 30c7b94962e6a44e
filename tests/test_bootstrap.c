/* test_bootstrap.c: the parametric bootstrap (src/infer/bootstrap.c, moe_fit_options.bootstrap).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * References: on data simulated from a well-separated model (moe_simulate_model, the truth
 * known) the bootstrap SEs estimate the same sampling SD as the observed-information SEs, so
 * they must agree; the factor allowed (25% for the experts, 40% for the gate, whose estimator
 * is skewed) is several times the Monte-Carlo error of an SD from B = 100 replicates (about
 * 1/sqrt(2 B) = 7%; the search bootstrap, B = 60, is allowed 35%). Measured on this build:
 * Gaussian worst 7.8% (experts) and 14.5% (gate), Poisson 8.3% and 7.7%, search 19.2% and 19.3%.
 * The Poisson truth has log-rate lines 3 apart: at 1.5 or 2 apart (rates near e^-1) the counts
 * are so small that the experts' estimators are skewed and Boot/SE reached 1.3 to 1.5, a true
 * small-sample effect rather than a defect. Replicate data must keep the inputs bit for bit;
 * a planted relabelling of the experts must be undone by the matching; the result must not
 * depend on the threads. */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "data/dataset.h"
#include "infer/bootstrap.h"
#include "infer/fit.h"
#include "model/model.h"
#include "moe.h"
#include "tap.h"
#include "train/select.h"

/* N rows drawn from a random well-separated K-expert model of FAMILY (seed SEED). */
static moe_dataset *sim_data(const char *family, size_t k, size_t n, double sep,
                             unsigned long seed)
{
    moe_sim_options so = moe_sim_options_default();
    so.k = k;
    so.family = family;
    so.separation = sep;
    so.seed = seed;
    moe_model *truth = NULL;
    moe_dataset *d = NULL;
    if (moe_simulate_model(&so, &truth, NULL) == MOE_SUCCESS)
        moe_simulate(truth, n, seed + 100, &d, NULL, NULL);
    moe_model_free(truth);
    return d;
}

static moe_fit *fit_boot(const moe_dataset *d, const char *family, size_t k, size_t b,
                         int search, size_t restarts)
{
    moe_fit_options o = moe_fit_options_default();
    o.k_min = o.k_max = k;
    o.family = family;
    o.gate_lrt = 0;
    o.restarts = restarts;
    o.bootstrap = b;
    o.bootstrap_search = search;
    moe_fit *f = NULL;
    moe_error err;
    memset(&err, 0, sizeof err);
    if (moe_fit_run(d, &o, &f, &err) != MOE_SUCCESS)
        printf("# fit failed: %s\n", err.message);
    return f;
}

/* Every bootstrap SE of F within FE (experts) and FG (gate) relative of its observed SE. */
static void agree(const moe_fit *f, const char *what, double fe, double fg)
{
    const moe_model *m = moe_fit_model(f);
    size_t k = moe_model_k(m);
    double worst_e = 0, worst_g = 0;
    int finite = 1;
    for (size_t blk = 0; blk <= k; blk++) {
        size_t nc = moe_model_ncoef(m, blk);
        double se[64], bse[64];
        moe_fit_coefs(f, blk, NULL, se);
        moe_fit_boot_se(f, blk, bse);
        for (size_t c = 0; c < nc; c++) {
            double r = fabs(bse[c] / se[c] - 1);
            finite &= isfinite(r);
            if (blk < k && !(r <= worst_e))
                worst_e = r;
            if (blk == k && !(r <= worst_g))
                worst_g = r;
        }
    }
    tap_ok(finite, "%s: every SE and bootstrap SE finite", what);
    tap_ok(worst_e <= fe, "%s: expert bootstrap SEs within %.0f%% of the observed-information "
           "SEs (worst %.1f%%)", what, 100 * fe, 100 * worst_e);
    tap_ok(worst_g <= fg, "%s: gate bootstrap SEs within %.0f%% (worst %.1f%%)", what, 100 * fg,
           100 * worst_g);
}

static void agreement(void)
{
    moe_dataset *d = sim_data(NULL, 2, 400, 6, 3);
    moe_fit *f = d ? fit_boot(d, NULL, 2, 100, 0, 10) : NULL;
    if (tap_ok(f != NULL, "gaussian K = 2 fit with a bootstrap of 100")) {
        moe_bootstrap_report r = moe_fit_bootstrap(f);
        tap_ok(r.replicates == 100 && r.used + r.failed == 100 && !r.search,
               "gaussian: 100 replicates, used %zu + failed %zu, refit by EM", r.used,
               r.failed);
        tap_ok(r.used >= 95, "gaussian: at least 95 refits used (%zu)", r.used);
        agree(f, "gaussian", 0.25, 0.40);
    }
    moe_fit_free(f);
    moe_dataset_free(d);

    d = sim_data("poisson", 2, 400, 3, 5);
    f = d ? fit_boot(d, "poisson", 2, 100, 0, 10) : NULL;
    if (tap_ok(f != NULL, "poisson K = 2 fit with a bootstrap of 100")) {
        moe_bootstrap_report r = moe_fit_bootstrap(f);
        tap_ok(r.used >= 95 && r.used + r.failed == 100, "poisson: %zu of 100 used", r.used);
        agree(f, "poisson", 0.25, 0.40);
    }
    moe_fit_free(f);
    moe_dataset_free(d);
}

/* Replicate data: the inputs, offset, trials and weights of D, a new response, one per b. */
static void replicate_data(void)
{
    moe_sim_options so = moe_sim_options_default();
    so.k = 2;
    so.nx = 2;
    moe_model *truth = NULL;
    moe_dataset *d = NULL, *a = NULL, *a2 = NULL, *c = NULL, *s2 = NULL;
    moe_simulate_model(&so, &truth, NULL);
    moe_simulate(truth, 60, 9, &d, NULL, NULL);
    if (!tap_ok(truth && d, "a model and 60 rows"))
        return;
    d->w = malloc(d->n * sizeof *d->w);
    for (size_t r = 0; r < d->n; r++)
        d->w[r] = 1 + (double)(r % 3);
    moe_infer_boot_data(d, truth, 1, 0, &a, NULL);
    moe_infer_boot_data(d, truth, 1, 0, &a2, NULL);
    moe_infer_boot_data(d, truth, 1, 1, &c, NULL);
    moe_infer_boot_data(d, truth, 2, 0, &s2, NULL);
    if (tap_ok(a && a2 && c && s2, "replicate data sets built")) {
        size_t n = d->n;
        tap_ok(memcmp(a->x, d->x, n * 3 * sizeof *d->x) == 0 &&
                   memcmp(a->z, d->z, n * 3 * sizeof *d->z) == 0,
               "replicate inputs are the observed ones, bit for bit");
        tap_ok(a->w && memcmp(a->w, d->w, n * sizeof *d->w) == 0, "weights kept");
        tap_ok(memcmp(a->y, d->y, n * sizeof *d->y) != 0, "a new response");
        tap_ok(memcmp(a->y, a2->y, n * sizeof *a->y) == 0, "same (seed, b): same response");
        tap_ok(memcmp(a->y, c->y, n * sizeof *a->y) != 0, "replicates 0 and 1 differ");
        tap_ok(memcmp(a->y, s2->y, n * sizeof *a->y) != 0, "seeds 1 and 2 differ");
    }
    unsigned long s0 = moe_infer_boot_seed(1, 0);
    int distinct = 1;
    for (size_t b = 1; b < 1000; b++)
        distinct &= moe_infer_boot_seed(1, b) != s0 && moe_infer_boot_seed(1, b) != 0;
    tap_ok(distinct, "replicate seeds 1..999 differ from replicate 0's and are nonzero");
    moe_dataset_free(a);
    moe_dataset_free(a2);
    moe_dataset_free(c);
    moe_dataset_free(s2);
    moe_dataset_free(d);
    moe_model_free(truth);
}

/* A planted relabelling is undone: by trying every permutation (K = 4) and greedily (K = 10). */
static void matching(void)
{
    size_t ks[2] = {4, 10};
    for (int t = 0; t < 2; t++) {
        size_t k = ks[t];
        moe_sim_options so = moe_sim_options_default();
        so.k = k;
        so.separation = 5;
        moe_model *m = NULL;
        moe_simulate_model(&so, &m, NULL);
        moe_model *sw = m ? moe_model_copy(m) : NULL;
        if (!tap_ok(sw != NULL, "K = %zu model", k)) {
            moe_model_free(m);
            continue;
        }
        size_t plant[MOE_K_MAX], perm[MOE_K_MAX];
        for (size_t i = 0; i < k; i++)
            plant[i] = k == 4 ? (i + 1) % k : (i * 3 + 1) % k;  /* no involution */
        moe_train_permute(sw, plant);
        size_t ne = moe_model_expert_nparams(m);
        double *work = malloc((2 * k * ne + k * k) * sizeof *work);
        int moved = moe_infer_boot_match(m, sw, perm, work);
        int ok = moved;  /* and renumbering SW by PERM gives M back */
        moe_train_permute(sw, perm);
        ok &= memcmp(sw->expert_par, m->expert_par, k * m->ep * sizeof *m->expert_par) == 0;
        double gm[64 * 2], gs[64 * 2];
        moe_model_coefs(m, k, gm);
        moe_model_coefs(sw, k, gs);
        double gd = 0;
        for (size_t j = 0; j < moe_model_ncoef(m, k); j++)
            gd = fmax(gd, fabs(gm[j] - gs[j]) / (1 + fabs(gm[j])));
        tap_ok(ok, "K = %zu (%s): the planted relabelling is found and undone", k,
               k <= MOE_BOOT_BRUTE_K ? "every permutation" : "greedy");
        tap_ok(gd < 1e-12, "K = %zu: the gate is back too (largest change %.2g)", k, gd);
        tap_ok(!moe_infer_boot_match(m, m, perm, work), "K = %zu: a model matches itself "
               "unmoved", k);
        free(work);
        moe_model_free(sw);
        moe_model_free(m);
    }
}

/* The global-search refits come back in any order: without the matching their SEs would be
 * the spread between experts. */
static void search_relabels(void)
{
    moe_dataset *d = sim_data(NULL, 3, 300, 6, 11);
    moe_fit *f = d ? fit_boot(d, NULL, 3, 60, 1, 6) : NULL;
    if (tap_ok(f != NULL, "gaussian K = 3 with a search bootstrap of 60")) {
        moe_bootstrap_report r = moe_fit_bootstrap(f);
        tap_ok(r.search && r.used >= 55, "search refits: %zu of 60 used", r.used);
        tap_ok(r.relabelled > 0, "some search refits came back relabelled (%zu)", r.relabelled);
        agree(f, "gaussian K = 3, search", 0.35, 0.5);  /* B = 60: MC error 9% */
    }
    moe_fit_free(f);
    moe_dataset_free(d);
}

static void threads(void)
{
#ifdef _OPENMP
    moe_dataset *d = sim_data(NULL, 2, 150, 5, 21);
    double se[2][3][8];
    memset(se, 0, sizeof se);
    int got = 1;
    int nt[2] = {1, 3};
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(nt[t]);
        moe_fit *f = d ? fit_boot(d, NULL, 2, 40, 0, 5) : NULL;
        got &= f != NULL;
        for (size_t blk = 0; f && blk < 3; blk++)
            moe_fit_boot_se(f, blk, se[t][blk]);
        moe_fit_free(f);
    }
    omp_set_num_threads(1);
    tap_ok(got && memcmp(se[0], se[1], sizeof se[0]) == 0 && isfinite(se[0][0][0]),
           "bootstrap SEs bit-identical with 1 and 3 threads");
    moe_dataset_free(d);
#else
    tap_ok(1, "# SKIP no OpenMP: one thread only");
#endif
}

static void options_and_accessors(void)
{
    moe_fit_options o = moe_fit_options_default();
    tap_ok(o.bootstrap == 0 && o.bootstrap_search == 0, "defaults: no bootstrap");
    o.bootstrap = 10;
    o.tree = "2x2";
    const char *why = moe_fit_options_check(&o);
    tap_ok(why && strstr(why, "tree"), "bootstrap with a tree refused (%s)", why ? why : "");
    o.tree = NULL;
    o.train = MOE_TRAIN_GD;
    why = moe_fit_options_check(&o);
    tap_ok(why && strstr(why, "gradient descent"), "bootstrap with GD refused (%s)",
           why ? why : "");
    moe_dataset *d = sim_data(NULL, 2, 100, 5, 31);
    moe_fit *f = d ? fit_boot(d, NULL, 2, 0, 0, 5) : NULL;
    if (tap_ok(f != NULL, "a fit without bootstrap")) {
        double bse[8];
        moe_fit_boot_se(f, 0, bse);
        tap_ok(moe_fit_bootstrap(f).replicates == 0 && isnan(bse[0]) && isnan(bse[2]),
               "without a bootstrap: no replicates, bootstrap SEs NaN");
    }
    moe_fit_free(f);
    moe_dataset_free(d);
}

int main(void)
{
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    replicate_data();
    matching();
    options_and_accessors();
    threads();
    agreement();
    search_relabels();
    return tap_done();
}
