/* fit_json.c: a fit's result as JSON (moe_fit_write_json, `moefit --json`).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Keys (issue 3): k, loglik, df, aic, bic, icl, iterations, converged, n, separated,
 * search: {starts, rows, failed, finished, reached, moves, set_aside_spurious, tolerance,
 *   others_min, others_max} (issue 13:
 * how many runs taken to convergence reached the best log-likelihood, the split-and-merge moves
 * accepted on the best run; others_* left out when all did; set_aside_spurious, the
 * higher runs with spurious experts, left out when none; rows, the random subsample the starts
 * ran on (issue 14: moe_fit_options.search_rows), left out when they ran on every row),
 * experts: [{coef: {NAME: value}, se: {NAME: value}, sigma, sigma_se, prior, size}],
 * gate: [{coef: {...}, se: {...}}] (k-1 entries, the reference expert is the last and is
 * omitted), reference (1-based index of the reference expert), gate_lrt: [{dropped (an
 * input name or "all"), statistic, df, p, loglik_reduced,
 * search_missed (the reduced fit was higher: the full fit is not its model's maximum)}] (K > 1 with gate inputs), selection: [{k, loglik,
 * df, aic, bic, icl, spurious, chosen}] when more than one K was fitted, warnings: [...];
 * spurious (top level and per K) counts the experts at the variance floor or on too few rows.
 * Coefficient names are the
 * column names with "(Intercept)" first. A number that is not available (NaN) is written as
 * null; reals carry 17 significant digits. Gradient-descent fits add train ("gd"), loss (its
 * name), train_loss and validation_loss (per row, standardised scale; null without
 * validation), and their iterations are epochs. With a parametric bootstrap (issue 13) every
 * expert and gate row has "boot_se" beside "se" (and "sigma_boot_se" beside "sigma_se"), and
 * the top level "bootstrap": {replicates, used, used_gate, failed, not_converged, separated,
 * relabelled, refit}; without one these keys are absent. */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/error.h"
#include "model/model.h"
#include "experts/expert.h"
#include "infer/fit.h"

/* A real, or null for NaN/Inf (never NULL unless out of memory). */
static json_t *jreal(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* Sets KEY of OBJ to V (taking V's reference); -1 when V is NULL or the set fails. */
static int set(json_t *obj, const char *key, json_t *v)
{
    return v ? json_object_set_new(obj, key, v) : -1;
}

static json_t *named(const moe_model *m, int gate, const double *v, size_t p)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (size_t j = 0; j < p; j++) {
        const char *nm = j == 0 ? "(Intercept)"
                                : gate ? moe_model_gate_input(m, j - 1)
                                       : moe_model_input(m, j - 1);
        if (set(o, nm ? nm : "?", jreal(v[j]))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static int add_stats(json_t *o, const moe_fit_stats *s)
{
    return set(o, "k", json_integer((json_int_t)s->k)) ||
           set(o, "loglik", jreal(s->loglik)) || set(o, "df", json_integer((json_int_t)s->df)) ||
           set(o, "aic", jreal(s->aic)) || set(o, "bic", jreal(s->bic)) ||
           set(o, "icl", jreal(s->icl)) ||
           set(o, "spurious", json_integer((json_int_t)s->spurious));
}

static json_t *search_json(const moe_search_report *r, size_t n)
{
    json_t *o = json_object();
    if (!o || set(o, "starts", json_integer((json_int_t)r->starts)) ||
        (r->rows && r->rows < n && set(o, "rows", json_integer((json_int_t)r->rows))) ||
        set(o, "failed", json_integer((json_int_t)r->failed)) ||
        set(o, "finished", json_integer((json_int_t)r->finished)) ||
        set(o, "reached", json_integer((json_int_t)r->reached)) ||
        set(o, "moves", json_integer((json_int_t)r->moves)) ||
        (r->set_aside && set(o, "set_aside_spurious", json_integer((json_int_t)r->set_aside))) ||
        set(o, "tolerance", jreal(r->same_tol)) ||
        (isfinite(r->others_lo) && (set(o, "others_min", jreal(r->others_lo)) ||
                                    set(o, "others_max", jreal(r->others_hi))))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The bootstrap's keys of expert block I of F in E (issue 13): "boot_se" beside "se" (named
 * like it) and "NAME_boot_se" beside each extra's "NAME_se"; nothing without a bootstrap.
 * SE is scratch for NC values. The gate's rows get theirs in fit_to_json. */
static int boot_json(const moe_fit *f, size_t i, json_t *e, const moe_model *m, size_t px,
                     size_t nc, double *se)
{
    if (!moe_fit_bootstrap(f).replicates)
        return 0;
    moe_fit_boot_se(f, i, se);
    if (set(e, "boot_se", named(m, 0, se, px)))
        return -1;
    for (size_t j = px; j < nc; j++) {
        char key[80];
        snprintf(key, sizeof key, "%s_boot_se", m->expert->extra_names[j - px]);
        if (set(e, key, jreal(se[j])))
            return -1;
    }
    return 0;
}

/* The bootstrap's summary: {replicates, used, used_gate, failed, not_converged, separated,
 * relabelled, refit: "em" or "search"}. */
static json_t *boot_report_json(const moe_bootstrap_report *r)
{
    json_t *o = json_object();
    if (!o || set(o, "replicates", json_integer((json_int_t)r->replicates)) ||
        set(o, "used", json_integer((json_int_t)r->used)) ||
        set(o, "used_gate", json_integer((json_int_t)r->used_gate)) ||
        set(o, "failed", json_integer((json_int_t)r->failed)) ||
        set(o, "not_converged", json_integer((json_int_t)r->not_converged)) ||
        set(o, "separated", json_integer((json_int_t)r->separated)) ||
        set(o, "relabelled", json_integer((json_int_t)r->relabelled)) ||
        set(o, "refit", json_string(r->search ? "search" : "em"))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A top-k fit's "routing": {"top_k", "experts": [{"rows", "importance", "load", "dropped"}],
 * "cv2_importance", "cv2_load"} into ROOT (nothing for another gate). 1 when out of memory. */
static int routing_json(const moe_fit *f, json_t *root)
{
    double ci, cl;
    if (moe_fit_routing_cv2(f, &ci, &cl))
        return 0;
    const moe_model *m = moe_fit_model(f);
    json_t *r = json_object(), *ex = json_array();
    if (!r || !ex || set(root, "routing", r) || set(r, "experts", ex) ||
        set(r, "top_k", json_integer((json_int_t)m->top_k)) ||
        set(r, "cv2_importance", jreal(ci)) || set(r, "cv2_load", jreal(cl)))
        return 1;
    for (size_t i = 0; i < m->k; i++) {
        size_t rows, dropped;
        double imp, load;
        moe_fit_routing(f, i, &rows, &imp, &load, &dropped);
        json_t *e = json_object();
        if (!e || json_array_append_new(ex, e) ||
            set(e, "rows", json_integer((json_int_t)rows)) || set(e, "importance", jreal(imp)) ||
            set(e, "load", jreal(load)) || set(e, "dropped", json_integer((json_int_t)dropped)))
            return 1;
    }
    return 0;
}

static json_t *fit_to_json(const moe_fit *f)
{
    const moe_model *m = moe_fit_model(f);
    moe_fit_stats st = moe_fit_get_stats(f);
    size_t k = moe_model_k(m), px = moe_model_nregression(m), pz = moe_model_nz(m) + 1;
    size_t nc = moe_model_ncoef(m, 0), pmax = nc > pz ? nc : pz;
    double *coef = malloc(pmax * sizeof *coef), *se = malloc(pmax * sizeof *se);
    json_t *root = json_object(), *experts = NULL, *gate = NULL, *warn = NULL;
    if (!coef || !se || !root)
        goto fail;
    if (add_stats(root, &st) || set(root, "iterations", json_integer((json_int_t)st.iterations)) ||
        set(root, "converged", json_boolean(st.converged)) ||
        set(root, "n", json_integer((json_int_t)st.n)) ||
        set(root, "separated", json_boolean(st.separated)) ||
        set(root, "search", search_json(&st.search, st.n)) ||
        set(root, "family", json_string(moe_model_family(m))) ||
        set(root, "response", json_string(moe_model_response(m) ? moe_model_response(m) : "y")) ||
        (st.tree[0] && set(root, "tree", json_string(st.tree))))
        goto fail;
    moe_gate_shape gs = moe_model_gate_shape(m);
    if (f->train == MOE_TRAIN_GD &&
        (set(root, "train", json_string("gd")) ||
         set(root, "loss", json_string(moe_loss_name(f->loss))) ||
         set(root, "train_loss", jreal(f->train_loss)) ||
         set(root, "validation_loss", jreal(f->validation_loss))))
        goto fail;
    if (set(root, "experts", experts = json_array()))
        goto fail;
    for (size_t i = 0; i < k; i++) {
        double prior = NAN;
        size_t size = 0;
        moe_fit_expert(f, i, NULL, NULL, NULL, &prior, &size);
        moe_fit_coefs(f, i, coef, se);
        json_t *e = json_object();
        if (!e || json_array_append_new(experts, e) || set(e, "coef", named(m, 0, coef, px)) ||
            set(e, "se", named(m, 0, se, px)))
            goto fail;
        for (size_t j = px; j < nc; j++) {  /* the family's extras: NAME and NAME_se */
            char key[80];
            const char *nm = m->expert->extra_names[j - px];
            snprintf(key, sizeof key, "%s_se", nm);
            if (set(e, nm, jreal(coef[j])) || set(e, key, jreal(se[j])))
                goto fail;
        }
        if (boot_json(f, i, e, m, px, nc, se))
            goto fail;
        if (set(e, "prior", jreal(prior)) || set(e, "size", json_integer((json_int_t)size)))
            goto fail;
        if (m->expert->opaque && f->rmse &&  /* its fit measures, in place of coefficients */
            (set(e, "rmse", jreal(f->rmse[i])) || set(e, "r2", jreal(f->r2[i]))))
            goto fail;
        char leaf[64];
        if (st.tree[0] && (moe_model_leaf_name(m, i, leaf, sizeof leaf) ||
                           set(e, "leaf", json_string(leaf))))
            goto fail;
    }
    if (set(root, "gate", gate = json_array()) ||
        set(root, "reference", json_integer((json_int_t)k)))
        goto fail;
    if (routing_json(f, root))
        goto fail;
    for (size_t i = 0; i + 1 < k; i++) {
        moe_fit_gate(f, i, coef, se);
        json_t *g = json_object();
        if (!g || json_array_append_new(gate, g) || set(g, "coef", named(m, 1, coef, pz)) ||
            set(g, "se", named(m, 1, se, pz)))
            goto fail;
        if (moe_fit_bootstrap(f).replicates) {  /* gate row i: values i pz .. i pz + pz - 1 */
            double *bse = malloc(moe_model_ncoef(m, k) * sizeof *bse + 1);
            if (!bse)
                goto fail;
            moe_fit_boot_se(f, k, bse);
            int bad = set(g, "boot_se", named(m, 1, bse + i * pz, pz));
            free(bse);
            if (bad)
                goto fail;
        }
    }
    /* a tree: which node and branch each gate row belongs to (rows node after node) */
    for (size_t t = 0, nn = st.tree[0] ? moe_tree_count(&gs) : 0; t < nn; t++) {
        moe_tree_node nd;
        char path[64], br[96];
        moe_tree_node_get(&gs, t, &nd);
        moe_tree_path(&gs, nd.level, nd.index, path, sizeof path);
        for (size_t c = 0; c + 1 < nd.children; c++) {
            json_t *g = json_array_get(gate, nd.row + c);
            snprintf(br, sizeof br, "%s%s%zu", nd.level ? path : "", nd.level ? "." : "",
                     c + 1);
            if (!g || set(g, "node", json_string(path)) || set(g, "branch", json_string(br)) ||
                set(g, "against", json_integer((json_int_t)nd.children)))
                goto fail;
        }
    }
    size_t nlrt = moe_fit_ngate_lrt(f);
    if (nlrt) {
        json_t *arr = json_array();
        if (set(root, "gate_lrt", arr))
            goto fail;
        for (size_t t = 0; t < nlrt; t++) {
            double stat, p;
            size_t df;
            moe_fit_gate_lrt(f, t, &stat, &df, &p);
            long j = moe_fit_gate_lrt_dropped(f, t);
            const char *nm = j < 0 ? NULL : moe_model_gate_input(m, (size_t)j);
            json_t *o = json_object();
            if (!o || json_array_append_new(arr, o) ||
                set(o, "dropped", j < 0 ? json_string("all") : json_string(nm ? nm : "?")) ||
                set(o, "statistic", jreal(stat)) || set(o, "df", json_integer((json_int_t)df)) ||
                set(o, "p", jreal(p)) ||
                set(o, "loglik_reduced", jreal(moe_fit_gate_lrt_reduced(f, t))) ||
                set(o, "search_missed",
                    json_boolean(moe_fit_gate_lrt_reduced(f, t) > st.loglik)))
                goto fail;
        }
    }
    moe_bootstrap_report br = moe_fit_bootstrap(f);
    if (br.replicates && set(root, "bootstrap", boot_report_json(&br)))
        goto fail;
    size_t nsel = moe_fit_nselection(f);
    if (nsel > 1) {
        json_t *sel = json_array();
        if (set(root, "selection", sel))
            goto fail;
        for (size_t j = 0; j < nsel; j++) {
            moe_fit_stats s = moe_fit_selection(f, j);
            json_t *o = json_object();
            if (!o || json_array_append_new(sel, o) || add_stats(o, &s) ||
                (s.tree[0] && set(o, "tree", json_string(s.tree))) ||
                set(o, "chosen", json_boolean(s.k == st.k && strcmp(s.tree, st.tree) == 0)))
                goto fail;
        }
    }
    if (set(root, "warnings", warn = json_array()))
        goto fail;
    for (size_t j = 0; j < moe_fit_nwarnings(f); j++)
        if (json_array_append_new(warn, json_string(moe_fit_warning(f, j))))
            goto fail;
    free(coef);
    free(se);
    return root;
fail:
    free(coef);
    free(se);
    json_decref(root);
    return NULL;
}

int moe_fit_write_json(const moe_fit *f, FILE *fp, moe_error *err)
{
    if (!f || !fp)
        return moe_error_set(err, MOE_EINVAL, "json: no fit or no output");
    json_t *root = fit_to_json(f);
    if (!root)
        return moe_error_set(err, MOE_ENOMEM, "json: out of memory building the result");
    int bad = json_dumpf(root, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(17) |
                                       JSON_PRESERVE_ORDER) != 0;
    json_decref(root);
    if (bad || fputc('\n', fp) == EOF || fflush(fp) || ferror(fp))
        return moe_error_set(err, MOE_EWRITE, "json: cannot write the output");
    return MOE_SUCCESS;
}
