/* lrtest.c: likelihood-ratio tests of the gate (issue 13): the fitted model against the same K
 * with a constant gate, and, with two to MOE_LRT_PER_INPUT_MAX gate inputs, against the gate
 * without each input in turn. Each reduced model is refitted by the same global search and
 * seed as the full one (src/train/search.c). For a tree gate (issue 12) the reduced models
 * are the same tree with fewer gate inputs at every node: "constant gate" makes every node's
 * gate constant (a tree of constant branch shares, the same model as a flat constant-gate
 * mixture of its K leaves), "input j left out" drops z_j from every node's logits. A tree
 * has K - 1 gate rows like a flat gate (each node u has B_u - 1, and sum_u (B_u - 1) = K - 1),
 * so the degrees of freedom are the same in both cases.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Why beside the Wald table: when the gate's coefficients are large (regimes nearly
 * separated) their Wald standard errors grow faster than the coefficients and the Wald test
 * loses its power (the Hauck-Donner effect): on faithful (waiting ~ eruptions, K = 2) the gate
 * slope's Wald p is 0.25 while the likelihood ratio against a constant gate gives p = 3.5e-7.
 * The statistic 2 (L_full - L_reduced) is referred to chi-square with (K - 1) x (inputs
 * dropped) degrees of freedom. Where the gate separates the regimes L_full is a supremum, and
 * the chi-square reference is approximate. */
#include <config.h>

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "infer/fit.h"
#include "infer/lrtest.h"
#include "train/select.h"

/* Fits K experts to DS with gate inputs KEEP (NK of DS's columns) by the search of OPT, with
 * the tree gate TREE ("2x2") or, when TREE is NULL, a flat gate; *LL receives the best
 * log-likelihood (data scale), NaN when no start was usable. */
static int reduced_fit(const moe_dataset *ds, const moe_model *types, const moe_fit_options *opt,
                       size_t k, const char *tree, double ll_shift, const size_t *keep,
                       size_t nk, double *ll, moe_error *err)
{
    size_t n = ds->n, pz = ds->nz + 1, pk = nk + 1;
    moe_dataset sub = *ds;  /* a view: every column shared but the gate design */
    double *z = malloc(n * pk * sizeof *z);
    char **names = calloc(nk + 1, sizeof *names);
    if (!z || !names) {
        free(z);
        free(names);
        return moe_error_set(err, MOE_ENOMEM, "gate test: out of memory");
    }
    for (size_t r = 0; r < n; r++) {
        z[r * pk] = 1;
        for (size_t j = 0; j < nk; j++)
            z[r * pk + j + 1] = ds->z[r * pz + keep[j] + 1];
    }
    for (size_t j = 0; j < nk; j++)
        names[j] = ds->z_names ? ds->z_names[keep[j]] : NULL;
    sub.z = z;
    sub.nz = nk;
    sub.z_names = names;
    moe_fit_options o = *opt;
    o.k_min = o.k_max = k;
    o.tree = tree;  /* only the chosen model: not the list it was chosen from */
    o.progress = NULL;
    moe_train_output tr;
    int st = moe_train_select(&sub, types, &o, ll_shift, &tr, err);
    *ll = st == MOE_SUCCESS && tr.model ? tr.stats.loglik : NAN;
    if (st == MOE_SUCCESS)
        moe_train_output_clear(&tr);
    free(z);
    free(names);
    return st;
}

static void fill(moe_gate_lrt *t, double full, double reduced, size_t df)
{
    t->loglik_reduced = reduced;
    t->df = df;
    t->statistic = 2 * (full - reduced);
    if (t->statistic < 0)  /* the reduced search found more: the full one missed its best */
        t->statistic = 0;
    t->p = isfinite(reduced) ? gsl_cdf_chisq_Q(t->statistic, (double)df) : NAN;
}

int moe_infer_gate_lrt(const moe_dataset *ds, const moe_model *types, const moe_fit_options *opt,
                       size_t k, const char *tree, double ll_shift, double loglik, moe_fit *f,
                       moe_error *err)
{
    size_t nz = ds->nz;
    f->nlrt = 0;
    if (k < 2 || nz == 0)
        return MOE_SUCCESS;
    size_t ntests = 1 + (nz >= 2 && nz <= MOE_LRT_PER_INPUT_MAX ? nz : 0);
    size_t *keep = calloc(nz, sizeof *keep);
    if (!keep || !(f->lrt = calloc(ntests, sizeof *f->lrt))) {
        free(keep);
        return moe_error_set(err, MOE_ENOMEM, "gate test: out of memory");
    }
    double ll;
    int st = reduced_fit(ds, types, opt, k, tree, ll_shift, keep, 0, &ll, err);
    if (st == MOE_SUCCESS) {
        f->lrt[0].dropped = (size_t)-1;
        fill(&f->lrt[0], loglik, ll, (k - 1) * nz);
        f->nlrt = 1;
    }
    for (size_t j = 0; st == MOE_SUCCESS && j + 1 < ntests; j++) {
        size_t nk = 0;
        for (size_t t = 0; t < nz; t++)
            if (t != j)
                keep[nk++] = t;
        st = reduced_fit(ds, types, opt, k, tree, ll_shift, keep, nk, &ll, err);
        if (st == MOE_SUCCESS) {
            f->lrt[f->nlrt].dropped = j;
            fill(&f->lrt[f->nlrt], loglik, ll, k - 1);
            f->nlrt++;
        }
    }
    free(keep);
    return st;
}

int moe_fit_gate_lrt(const moe_fit *f, size_t j, double *statistic, size_t *df, double *p)
{
    if (!f || j >= f->nlrt)
        return MOE_EINVAL;
    if (statistic)
        *statistic = f->lrt[j].statistic;
    if (df)
        *df = f->lrt[j].df;
    if (p)
        *p = f->lrt[j].p;
    return MOE_SUCCESS;
}

size_t moe_fit_ngate_lrt(const moe_fit *f) { return f ? f->nlrt : 0; }

long moe_fit_gate_lrt_dropped(const moe_fit *f, size_t j)
{
    if (!f || j >= f->nlrt || f->lrt[j].dropped == (size_t)-1)
        return -1;
    return (long)f->lrt[j].dropped;
}

double moe_fit_gate_lrt_reduced(const moe_fit *f, size_t j)
{
    return f && j < f->nlrt ? f->lrt[j].loglik_reduced : NAN;
}

double moe_chisq_upper(double x, double df)
{
    if (!(df > 0) || isnan(x))
        return NAN;
    return x <= 0 ? 1.0 : gsl_cdf_chisq_Q(x, df);
}
