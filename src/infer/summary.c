/* summary.c: the R summary()-style text report of a fit (moe_fit_write_summary).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Layout follows R's summary.lm/summary.glm: a call-like header, one coefficient table per
 * expert (Estimate, Std. Error, z value, Pr(>|z|), significance stars), the gate's tables
 * against the reference expert (for a tree gate: one table per node, named by its path,
 * each branch against the node's last branch), the fit statistics, the model-selection table
 * and warnings.
 * z values are Wald statistics with two-sided normal p-values (GSL gsl_cdf_ugaussian_Q).
 * Anything not available (an SE that was not computed or is not identified) prints as "NA",
 * as R does, never as "nan". */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "core/error.h"
#include "experts/expert.h"
#include "infer/fit.h"
#include "model/model.h"

/* Writes X into BUF as "%.PREC g" (FMT 'g') or "%.PREC f" (FMT 'f'), or "NA" when it is
 * not finite. */
static const char *num(char *buf, size_t len, char fmt, int prec, double x)
{
    if (!isfinite(x))
        snprintf(buf, len, "NA");
    else if (fmt == 'f')
        snprintf(buf, len, "%.*f", prec, x);
    else
        snprintf(buf, len, "%.*g", prec, x);
    return buf;
}

/* Two-sided normal p-value in R's format.pval style ("<2e-16" below machine precision). */
static const char *pval(char *buf, size_t len, double p)
{
    if (!isfinite(p))
        snprintf(buf, len, "NA");
    else if (p < 2.2e-16)
        snprintf(buf, len, "<2e-16");
    else
        snprintf(buf, len, "%.3g", p);
    return buf;
}

static const char *stars(double p)
{
    if (!isfinite(p))
        return "";
    return p < 0.001 ? "***" : p < 0.01 ? "**" : p < 0.05 ? "*" : p < 0.1 ? "." : "";
}

/* One coefficient table: names[0] is "(Intercept)", then NAMES(j) of the model. */
static void coef_table(FILE *fp, const moe_model *m, int gate, const double *coef,
                       const double *se, size_t p)
{
    size_t w = strlen("(Intercept)");
    for (size_t j = 1; j < p; j++) {
        const char *nm = gate ? moe_model_gate_input(m, j - 1) : moe_model_input(m, j - 1);
        size_t l = nm ? strlen(nm) : 0;
        if (l > w)
            w = l;
    }
    fprintf(fp, "%-*s %12s %12s %8s %9s\n", (int)w, "", "Estimate", "Std. Error", "z value",
            "Pr(>|z|)");
    for (size_t j = 0; j < p; j++) {
        const char *nm = j == 0 ? "(Intercept)"
                                : gate ? moe_model_gate_input(m, j - 1)
                                       : moe_model_input(m, j - 1);
        double s = se ? se[j] : NAN;
        double z = isfinite(s) && s > 0 ? coef[j] / s : NAN;
        double pv = isfinite(z) ? 2 * gsl_cdf_ugaussian_Q(fabs(z)) : NAN;
        char b1[32], b2[32], b3[32], b4[32];
        fprintf(fp, "%-*s %12s %12s %8s %9s%s%s\n", (int)w, nm ? nm : "?",
                num(b1, sizeof b1, 'g', 6, coef[j]), num(b2, sizeof b2, 'g', 4, s),
                num(b3, sizeof b3, 'f', 3, z), pval(b4, sizeof b4, pv), *stars(pv) ? " " : "",
                stars(pv));
    }
}

/* Expert I of an opaque family (an MLP): its network's size and its extras COEF (NC values,
 * "sigma" as the residual SD) and its fit to the rows it explains, in place of a coefficient
 * table, which its weights (not identified one by one) cannot have. */
static void opaque_expert(FILE *fp, const moe_fit *f, size_t i, const double *coef, size_t nc)
{
    const moe_model *m = f->model;
    moe_expert_shape es = moe_model_expert_shape(m);
    char spec[64], b1[32], b2[32];
    moe_expert_spec_format(m->expert, &es, spec, sizeof spec);
    fprintf(fp, "Network %s: %zu weights (not interpretable one by one: no coefficient "
            "table)\n", spec, moe_model_expert_nparams(m) - m->expert->dispersion);
    for (size_t j = 0; j < nc; j++) {
        const char *nm = m->expert->extra_names[j];
        fprintf(fp, "%s: %s%s\n", strcmp(nm, "sigma") == 0 ? "Residual SD" : nm,
                num(b1, sizeof b1, 'g', 6, coef[j]),
                strcmp(nm, "sigma") == 0 ? " (maximum-likelihood estimate)" : "");
    }
    if (f->rmse && f->r2)
        fprintf(fp, "Fit to its rows (weighted by the posterior): RMSE %s, R^2 %s\n",
                num(b1, sizeof b1, 'g', 6, f->rmse[i]), num(b2, sizeof b2, 'f', 4, f->r2[i]));
}

/* "y ~ x1 + x2" style list of names into FP. */
static void formula_side(FILE *fp, const moe_model *m, int gate)
{
    size_t n = gate ? moe_model_nz(m) : moe_model_nx(m);
    if (n == 0) {
        fprintf(fp, "1");
        return;
    }
    for (size_t j = 0; j < n; j++) {
        const char *nm = gate ? moe_model_gate_input(m, j) : moe_model_input(m, j);
        fprintf(fp, "%s%s", j ? " + " : "", nm ? nm : "?");
    }
}

/* The smallest Wald p-value of gate input J's slopes over the K - 1 gate rows (NaN if none). */
static double wald_min_p(const moe_fit *f, size_t j, double *coef, double *se)
{
    const moe_model *m = moe_fit_model(f);
    double best = NAN;
    for (size_t i = 0; i + 1 < moe_model_k(m); i++) {
        moe_fit_gate(f, i, coef, se);
        double z = isfinite(se[j + 1]) && se[j + 1] > 0 ? coef[j + 1] / se[j + 1] : NAN;
        double p = isfinite(z) ? 2 * gsl_cdf_ugaussian_Q(fabs(z)) : NAN;
        if (isfinite(p) && !(p >= best))
            best = p;
    }
    return best;
}

/* The likelihood-ratio tests of the gate, with a note where Wald and LR disagree at 5%. */
static void lrt_table(FILE *fp, const moe_fit *f, double *coef, double *se)
{
    const moe_model *m = moe_fit_model(f);
    size_t nt = moe_fit_ngate_lrt(f), nz = moe_model_nz(m);
    if (!nt)
        return;
    char b1[32], b2[32];
    size_t w = strlen("all (constant gate)");
    fprintf(fp, "Likelihood-ratio tests of the gate (each reduced model refitted by the same "
            "search%s):\n%-*s %10s %4s %10s\n",
            moe_model_tree(m, NULL) ? ";\nfor a tree, the same tree with the inputs left out at "
                                      "every node" : "",
            (int)w, "gate inputs left out", "LR stat", "df", "Pr(>Chisq)");
    for (size_t t = 0; t < nt; t++) {
        double st, p;
        size_t df;
        moe_fit_gate_lrt(f, t, &st, &df, &p);
        long j = moe_fit_gate_lrt_dropped(f, t);
        const char *nm = j < 0 ? "all (constant gate)" : moe_model_gate_input(m, (size_t)j);
        fprintf(fp, "%-*s %10s %4zu %10s%s%s\n", (int)w, nm ? nm : "?",
                num(b1, sizeof b1, 'f', 3, st), df, pval(b2, sizeof b2, p),
                *stars(p) ? " " : "", stars(p));
    }
    double ll = moe_fit_get_stats(f).loglik, missed = -INFINITY;
    for (size_t t = 0; t < nt; t++)
        if (moe_fit_gate_lrt_reduced(f, t) > ll && moe_fit_gate_lrt_reduced(f, t) > missed)
            missed = moe_fit_gate_lrt_reduced(f, t);
    if (isfinite(missed))
        fprintf(fp, "Note: a reduced model reached a higher log-likelihood (%s) than this fit "
                "(%s), though it is nested in this model: the search missed this model's best, "
                "so its LR statistic is shown as 0 and this fit is not the maximum; try more "
                "--restarts (or another --seed).\n",
                num(b1, sizeof b1, 'f', 4, missed), num(b2, sizeof b2, 'f', 4, ll));
    for (size_t t = 0; t < nt; t++) {
        double st, p;
        moe_fit_gate_lrt(f, t, &st, NULL, &p);
        long j = moe_fit_gate_lrt_dropped(f, t);
        if (j < 0 && nz != 1)
            continue;  /* the constant-gate test matches one input's Wald tests only when nz = 1 */
        size_t jj = j < 0 ? 0 : (size_t)j;
        double pw = wald_min_p(f, jj, coef, se);
        if (!isfinite(pw) || !isfinite(p) || (pw < 0.05) == (p < 0.05))
            continue;
        const char *nm = moe_model_gate_input(m, jj);
        fprintf(fp, "Note: for %s the Wald test (smallest p = %s) and the likelihood-ratio test "
                "(p = %s) disagree; trust the likelihood ratio%s.\n", nm ? nm : "?",
                pval(b1, sizeof b1, pw), pval(b2, sizeof b2, p),
                pw > p ? " (large gate coefficients inflate their Wald standard errors: the "
                         "Hauck-Donner effect)" : "");
    }
}

/* Under gradient descent: "Search: smallest training loss reached by 3 of 5 starts (within
 * 1e-06 per row); others 0.25 to 0.31 per row". */
static void gd_search_line(FILE *fp, const moe_search_report *r, int validation)
{
    char b1[32], b2[32], b3[32];
    if (!r->finished)
        return;
    fprintf(fp, "Search: smallest %s loss reached by %zu of %zu start%s (within %s per row",
            validation ? "validation" : "training", r->reached, r->finished,
            r->finished == 1 ? "" : "s", num(b1, sizeof b1, 'g', 2, r->same_tol));
    if (r->failed)
        fprintf(fp, "; %zu of %zu unusable", r->failed, r->starts);
    fprintf(fp, ")");
    if (r->reached < r->finished)
        fprintf(fp, "; others %s to %s per row", num(b2, sizeof b2, 'g', 6, r->others_lo),
                num(b3, sizeof b3, 'g', 6, r->others_hi));
    fputc('\n', fp);
}

/* "Search: best log-likelihood reached by 3 of 8 runs taken to convergence (within 0.0016;
 * 40 starts); others -591.1 to -580.5"; says so when the starts ran on a subsample of the
 * N rows. */
static void search_line(FILE *fp, const moe_search_report *r, size_t n)
{
    char b1[32], b2[32], b3[32];
    if (!r->finished)
        return;
    fprintf(fp, "Search: best log-likelihood reached by %zu of %zu run%s taken to convergence "
            "(within %s; %zu start%s", r->reached, r->finished, r->finished == 1 ? "" : "s",
            num(b1, sizeof b1, 'g', 2, r->same_tol), r->starts, r->starts == 1 ? "" : "s");
    if (r->failed)
        fprintf(fp, ", %zu unusable", r->failed);
    if (r->moves)
        fprintf(fp, ", the best raised by %zu move%s: softened gate or split-and-merge",
                r->moves, r->moves == 1 ? "" : "s");
    if (r->rows && r->rows < n)
        fprintf(fp, "; on a random subsample of %zu rows, log-likelihoods scaled to all rows, "
                "the best and its runners-up then continued on all rows", r->rows);
    fprintf(fp, ")");
    if (r->reached < r->finished)
        fprintf(fp, "; others %s to %s", num(b2, sizeof b2, 'f', 2, r->others_lo),
                num(b3, sizeof b3, 'f', 2, r->others_hi));
    if (r->set_aside)
        fprintf(fp, "; %zu higher run%s set aside for spurious experts", r->set_aside,
                r->set_aside == 1 ? "" : "s");
    fputc('\n', fp);
}

/* The parametric bootstrap's table (moe_fit_options.bootstrap): every reported coefficient with
 * its observed-information SE, its bootstrap SE and their ratio, and what happened to the
 * replicates. A second table rather than a column of the coefficient tables, so that those
 * keep R's layout. */
static void boot_table(FILE *fp, const moe_fit *f)
{
    moe_bootstrap_report br = moe_fit_bootstrap(f);
    if (!br.replicates)
        return;
    const moe_model *m = moe_fit_model(f);
    size_t k = moe_model_k(m), pz = moe_model_nz(m) + 1, w = 0;
    char b1[32], b2[32], b3[32], b4[32], nm[200], lab[260];
    fprintf(fp, "\nParametric bootstrap: %zu data sets drawn from the fit at the observed inputs, "
            "each refitted\n%s, experts matched to the fit's; %zu used, %zu failed%s\n",
            br.replicates, br.search ? "by the global search (and from the fitted model)"
                                     : "by EM from the fitted model", br.used, br.failed,
            br.failed ? " (left out)" : "");
    if (br.not_converged || br.separated || br.relabelled) {
        fprintf(fp, "(");
        const char *sep = "";
        if (br.not_converged) {
            fprintf(fp, "%zu used refit%s stopped at the iteration limit", br.not_converged,
                    br.not_converged == 1 ? "" : "s");
            sep = "; ";
        }
        if (br.separated) {
            fprintf(fp, "%s%zu separated the gate: experts used, gate not", sep, br.separated);
            sep = "; ";
        }
        if (br.relabelled)
            fprintf(fp, "%s%zu came back with the experts in another order, relabelled",
                    sep, br.relabelled);
        fprintf(fp, ")\n");
    }
    /* the labels: "Expert 1: times", "Gate 1 vs 3: times" */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            fprintf(fp, "%-*s %12s %12s %12s %8s\n", (int)w, "", "Estimate", "Std. Error",
                    "Boot SE", "Boot/SE");
        for (size_t blk = 0; blk <= k; blk++) {
            size_t nc = moe_model_ncoef(m, blk);
            double coef[nc + 1], se[nc + 1], bse[nc + 1];
            moe_fit_coefs(f, blk, coef, se);
            moe_fit_boot_se(f, blk, bse);
            for (size_t c = 0; c < nc; c++) {
                if (blk < k) {
                    moe_model_coef_name(m, blk, c, nm, sizeof nm);
                    snprintf(lab, sizeof lab, "Expert %zu: %s", blk + 1, nm);
                } else {
                    size_t j = c % pz;
                    const char *in = j ? moe_model_gate_input(m, j - 1) : "(Intercept)";
                    snprintf(lab, sizeof lab, "Gate %zu vs %zu: %s", c / pz + 1, k,
                             in ? in : "?");
                }
                if (pass == 0) {
                    if (strlen(lab) > w)
                        w = strlen(lab);
                    continue;
                }
                fprintf(fp, "%-*s %12s %12s %12s %8s\n", (int)w, lab,
                        num(b1, sizeof b1, 'g', 6, coef[c]), num(b2, sizeof b2, 'g', 4, se[c]),
                        num(b3, sizeof b3, 'g', 4, bse[c]),
                        num(b4, sizeof b4, 'f', 3, isfinite(se[c]) && se[c] > 0 ? bse[c] / se[c]
                                                                               : NAN));
            }
        }
    }
}

/* A top-k fit's routing on its rows: per expert the rows keeping it, its shares of the
 * importance and the load; the CV^2 of both. Nothing for another gate. */
static void routing_table(FILE *fp, const moe_fit *f, size_t k)
{
    double ci, cl;
    if (moe_fit_routing_cv2(f, &ci, &cl))
        return;
    fprintf(fp, "Routing (the fit's rows, clean logits):\n"
            "Expert      rows  importance      load   dropped\n");
    for (size_t i = 0; i < k; i++) {
        size_t rows, dropped;
        double imp, load;
        moe_fit_routing(f, i, &rows, &imp, &load, &dropped);
        fprintf(fp, "%6zu %9zu %11.4f %9.4f %9zu\n", i + 1, rows, imp, load, dropped);
    }
    fprintf(fp, "CV^2 of importance %.4g, of load %.4g (population variance over the "
            "experts / mean^2)\n", ci, cl);
}

int moe_fit_write_summary(const moe_fit *f, FILE *fp, moe_error *err)
{
    if (!f || !fp)
        return moe_error_set(err, MOE_EINVAL, "summary: no fit or no output");
    const moe_model *m = moe_fit_model(f);
    moe_fit_stats st = moe_fit_get_stats(f);
    size_t k = moe_model_k(m), px = moe_model_nx(m) + 1, pz = moe_model_nz(m) + 1;
    size_t nsel = moe_fit_nselection(f), nc = moe_model_ncoef(m, 0);
    size_t pmax = nc > pz ? nc : pz;
    double *coef = malloc(pmax * sizeof *coef);
    double *se = malloc(pmax * sizeof *se);
    if (!coef || !se) {
        free(coef);
        free(se);
        return moe_error_set(err, MOE_ENOMEM, "summary: out of memory");
    }
    char b1[32], b2[32], b3[32], b4[32];

    fprintf(fp, "Call:\nmoefit(%s ~ ", moe_model_response(m) ? moe_model_response(m) : "y");
    formula_side(fp, m, 0);
    fprintf(fp, ", gate = ~ ");
    formula_side(fp, m, 1);
    /* like R's glm(), the default family is not named */
    if (m->expert != moe_expert_types[0]) {
        char spec[64];
        moe_expert_shape es = moe_model_expert_shape(m);
        moe_expert_spec_format(m->expert, &es, spec, sizeof spec);
        fprintf(fp, ", family = %s", spec);
    }
    if (m->offset_name)
        fprintf(fp, ", offset = %s", m->offset_name);
    if (m->trials_name)
        fprintf(fp, ", trials = %s", m->trials_name);
    if (f->weights_name)
        fprintf(fp, ", weights = %s", f->weights_name);
    moe_gate_shape gs = moe_model_gate_shape(m);
    int any_tree = 0;
    for (size_t j = 0; j < nsel; j++)
        any_tree |= moe_fit_selection(f, j).tree[0] != 0;
    if (any_tree) {
        fprintf(fp, ", tree = ");
        for (size_t j = 0; j < nsel; j++) {
            moe_fit_stats s = moe_fit_selection(f, j);
            if (s.tree[0])
                fprintf(fp, "%s%s", j ? "," : "", s.tree);
            else
                fprintf(fp, "%s%zu", j ? "," : "", s.k);
        }
        fprintf(fp, ")\n\n");
    } else if (nsel > 1) {
        fprintf(fp, ", k = %zu:%zu)\n\n", moe_fit_selection(f, 0).k,
                moe_fit_selection(f, nsel - 1).k);
    } else {
        fprintf(fp, ", k = %zu)\n\n", k);
    }
    if (st.tree[0])
        fprintf(fp, "Hierarchical mixture of %zu %s experts (tree %s: %zu gates)", k,
                m->expert->label, st.tree, moe_tree_count(&gs));
    else
        fprintf(fp, "Mixture of %zu %s expert%s with a softmax gate", k, m->expert->label,
                k == 1 ? "" : "s");
    if (st.n)
        fprintf(fp, ", n = %zu", st.n);
    else
        fprintf(fp, ", n not recorded");
    if (f->weights_name)
        fprintf(fp, " rows of total weight %s (BIC's n)", num(b1, sizeof b1, 'g', 10,
                                                            f->weight_sum));
    fputc('\n', fp);

    for (size_t i = 0; i < k; i++) {
        double prior = NAN;
        size_t size = 0;
        moe_fit_expert(f, i, NULL, NULL, NULL, &prior, &size);
        moe_fit_coefs(f, i, coef, se);
        if (st.tree[0]) {
            char path[64];
            moe_tree_path(&gs, gs.depth, i, path, sizeof path);
            fprintf(fp, "\nExpert %zu (leaf %s)", i + 1, path);
        } else {
            fprintf(fp, "\nExpert %zu", i + 1);
        }
        if (isfinite(prior))  /* a saved model without the fit's record has no shares */
            fprintf(fp, ": prior %s, size %zu\n", num(b1, sizeof b1, 'f', 4, prior), size);
        else
            fprintf(fp, ":\n");
        if (m->expert->opaque) {
            opaque_expert(fp, f, i, coef, nc);
            continue;
        }
        fprintf(fp, "Coefficients:\n");
        coef_table(fp, m, 0, coef, se, px);
        for (size_t j = px; j < nc; j++) {  /* the family's extras */
            const char *nm = m->expert->extra_names[j - px];
            if (strcmp(nm, "sigma") == 0)
                fprintf(fp, "Residual SD: %s, Std. Error %s (maximum-likelihood estimate, not "
                        "flexmix's df-corrected one)\n", num(b1, sizeof b1, 'g', 6, coef[j]),
                        num(b2, sizeof b2, 'g', 4, se[j]));
            else
                fprintf(fp, "%s: %s, Std. Error %s\n", nm, num(b1, sizeof b1, 'g', 6, coef[j]),
                        num(b2, sizeof b2, 'g', 4, se[j]));
        }
    }

    if (k > 1 && st.tree[0]) {
        size_t nn = moe_tree_count(&gs);
        fprintf(fp, "\nGates (a multinomial logit at every node; reference: its last branch):\n");
        for (size_t t = 0; t < nn; t++) {
            moe_tree_node nd;
            char path[64], lab[80];
            moe_tree_node_get(&gs, t, &nd);
            moe_tree_path(&gs, nd.level, nd.index, path, sizeof path);
            if (nd.level == 0)
                snprintf(lab, sizeof lab, "%s", "");
            else
                snprintf(lab, sizeof lab, "%s.", path);
            fprintf(fp, "Node %s (experts %zu-%zu):\n", path, nd.leaf0 + 1,
                    nd.leaf0 + nd.leaves);
            for (size_t c = 0; c + 1 < nd.children; c++) {
                moe_fit_gate(f, nd.row + c, coef, se);
                fprintf(fp, "Branch %s%zu vs %s%zu:\n", lab, c + 1, lab, nd.children);
                coef_table(fp, m, 1, coef, se, pz);
            }
        }
        if (st.separated)
            fprintf(fp, "Note: the gate separates the regimes; its coefficients are not "
                    "identified, boundaries are\n(its likelihood keeps rising as they grow; "
                    "try --gate-ridge for finite values).\n");
        lrt_table(fp, f, coef, se);  /* reduced models: the same tree on fewer gate inputs */
    } else if (k > 1) {
        if (m->top_k)
            fprintf(fp, "\nGate (sparse top-k: the %zu largest logits of a row kept%s; clean "
                    "logits, reference: expert %zu):\n", m->top_k,
                    m->top_k == 1 ? ", weight its softmax probability (Switch)" :
                    ", softmax over them", k);
        else
            fprintf(fp, "\nGate (multinomial logit, reference: expert %zu):\n", k);
        for (size_t i = 0; i + 1 < k; i++) {
            moe_fit_gate(f, i, coef, se);
            fprintf(fp, "Expert %zu vs %zu:\n", i + 1, k);
            coef_table(fp, m, 1, coef, se, pz);
        }
        if (st.separated)
            fprintf(fp, "Note: the gate separates the regimes; its coefficients are not "
                    "identified, boundaries are\n(its likelihood keeps rising as they grow; "
                    "try --gate-ridge for finite values).\n");
        lrt_table(fp, f, coef, se);
    }
    routing_table(fp, f, k);
    fprintf(fp, "---\nSignif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1\n\n");

    fprintf(fp, "Log-likelihood: %s (df = %zu)\n", num(b1, sizeof b1, 'f', 6, st.loglik),
            st.df);
    fprintf(fp, "AIC: %s   BIC: %s   ICL: %s\n", num(b1, sizeof b1, 'f', 4, st.aic),
            num(b2, sizeof b2, 'f', 4, st.bic), num(b3, sizeof b3, 'f', 4, st.icl));
    if (f->from_model) {
        fprintf(fp, "(from a saved model: the fit's iterations and model selection are not "
                "recorded)\n");
    } else if (f->train == MOE_TRAIN_GD) {
        fprintf(fp, "Gradient descent on the %s loss: %zu epochs; loss per row %s (training)",
                moe_loss_name(f->loss), st.iterations,
                num(b1, sizeof b1, 'g', 8, f->train_loss));
        if (f->validation_loss == f->validation_loss)
            fprintf(fp, ", %s (validation)", num(b2, sizeof b2, 'g', 8, f->validation_loss));
        fputc('\n', fp);
        gd_search_line(fp, &st.search, f->validation_loss == f->validation_loss);
    } else {
        fprintf(fp, "Iterations: %zu (%s)\n", st.iterations,
                st.separated   ? "stopped: the gate separates the regimes, the log-likelihood "
                                 "still rises along it"
                : st.converged ? "converged"
                               : "not converged: iteration limit");
        search_line(fp, &st.search, st.n);
    }
    boot_table(fp, f);

    if (nsel > 1) {
        const char *crit = f->criterion == MOE_CRIT_AIC   ? "AIC"
                           : f->criterion == MOE_CRIT_ICL ? "ICL"
                                                          : "BIC";
        if (any_tree)
            fprintf(fp, "\nModel selection (chosen by the lowest %s):\n"
                    "%-8s %4s %14s %5s %14s %14s %14s\n", crit, "gate", "K", "logLik", "df",
                    "AIC", "BIC", "ICL");
        else
            fprintf(fp, "\nModel selection (K chosen by the lowest %s):\n"
                    "%4s %14s %5s %14s %14s %14s\n", crit, "K", "logLik", "df",
                    "AIC", "BIC", "ICL");
        for (size_t j = 0; j < nsel; j++) {
            moe_fit_stats s = moe_fit_selection(f, j);
            int chosen = s.k == st.k && strcmp(s.tree, st.tree) == 0;
            char spur[48] = "";
            if (s.spurious)
                snprintf(spur, sizeof spur, "  (%zu spurious expert%s)", s.spurious,
                         s.spurious == 1 ? "" : "s");
            if (any_tree)
                fprintf(fp, "%-8s ", s.tree[0] ? s.tree : "flat");
            fprintf(fp, "%4zu %14s %5zu %14s %14s %14s%s%s\n", s.k,
                    num(b1, sizeof b1, 'f', 4, s.loglik), s.df, num(b2, sizeof b2, 'f', 4, s.aic),
                    num(b3, sizeof b3, 'f', 4, s.bic), num(b4, sizeof b4, 'f', 4, s.icl),
                    chosen ? "  <- chosen" : "", spur);
        }
    }
    size_t nw = moe_fit_nwarnings(f);
    if (nw) {
        fprintf(fp, "\nWarnings:\n");
        for (size_t j = 0; j < nw; j++)
            fprintf(fp, "  %s\n", moe_fit_warning(f, j));
    }
    free(coef);
    free(se);
    if (fflush(fp) || ferror(fp))
        return moe_error_set(err, MOE_EWRITE, "summary: cannot write the output");
    return MOE_SUCCESS;
}
