/* tree.c: the tree gate of a hierarchical mixture of experts (Jordan & Jacobs 1994), of any
 * depth and branching: every internal node a softmax over its children on the gate inputs,
 * the experts at the leaves, g_leaf(z) = the product of the branch probabilities on its path.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Nodes, their coefficient rows and the leaves below them are numbered by src/model/tree.c.
 * With P = nz + 1, node u's children c = 1..B_u have logits v_uc'(1,z) (v_uB = 0) and log
 * branch probabilities log g_c|u = v_uc'z~ - logsumexp_c'(v_uc'z~), summed down the path in
 * the log domain: log g_leaf = sum over the path of log g_c|u.
 *
 * The soft-target objective separates over the nodes. With H_uc = the sum of h over the
 * leaves below child c of u and S_u = sum_c H_uc (the posterior mass reaching u; w_n at the
 * root),
 *     Q = sum_n sum_leaf h log g_leaf = sum_u sum_n sum_c H_uc log g_c|u,
 *     dQ/dv_uc = sum_n (H_uc - S_u g_c|u) z~,
 *     -d2Q/dv_uc dv_uc'' = sum_n S_u g_c|u (delta_cc' - g_c'|u) z~ z~',
 * and the negative Hessian is block-diagonal by node (no cross terms between nodes). The
 * M-step is therefore one Newton problem of the shared driver (src/train/newton.c) through
 * stat_add / derivatives with that block-diagonal matrix: each node's block is the weighted
 * multinomial logit of softmax.c with targets H_u and weights S_u, and the joint Newton step
 * is the set of per-node Newton steps (step-halving acts on all of them at once, which keeps
 * Q from decreasing). A one-level tree [K] is the softmax gate of K experts, number for
 * number.
 * Stats layout: [Q, gradient (nparams), then per node its packed pair blocks ((B-1)B/2 of
 * P(P+1)/2, as softmax.c)]. Block: theta itself (the reference rows are implicit zeros), so
 * block_size = nparams. A row costs sum_u (B_u-1)B_u/2 * P(P+1)/2 multiply-adds for the
 * Hessian, less than a flat softmax of the same K. */
#include <config.h>

#include <math.h>
#include <string.h>

#include "gates/gate.h"

/* packed z z' kept per row up to P = 32; larger P computes it inline (as softmax.c) */
#define ZZ_MAX 528
/* children of all nodes together are at most 2K - 2 (every node has >= 2 children) */
#define CH_MAX (2 * MOE_K_MAX)

static size_t tree_nparams(const moe_gate_shape *s)
{
    size_t br[MOE_TREE_DEPTH_MAX], nl = moe_tree_levels(s, br), at = 1, rows = 0;
    for (size_t l = 0; l < nl; l++) {
        rows += at * (br[l] - 1);
        at *= br[l];
    }
    return rows * (s->nz + 1);
}

static size_t tree_block_size(const moe_gate_shape *s) { return tree_nparams(s); }

static size_t tree_stat_size(const moe_gate_shape *s)
{
    size_t br[MOE_TREE_DEPTH_MAX], nl = moe_tree_levels(s, br), at = 1, blocks = 0;
    size_t p = s->nz + 1, q = p * (p + 1) / 2;
    for (size_t l = 0; l < nl; l++) {
        blocks += at * (br[l] - 1) * br[l] / 2;
        at *= br[l];
    }
    return 1 + tree_nparams(s) + blocks * q;
}

/* One row: the log branch probabilities of every child of every node into CL (children in
 * breadth-first order: the children of level l's nodes start at the number of nodes of
 * levels 1..l) and the leaves' log g into LOGG (K values). V: theta; Z: the design row. */
static void row_log_prob(const double *z, const double *v, size_t nl, const size_t *br,
                         size_t p, double *cl, double *logg)
{
    size_t at = 1, c0 = 0, row = 0;
    double acc[MOE_K_MAX], nxt[MOE_K_MAX];
    acc[0] = 0;
    for (size_t l = 0; l < nl; l++) {
        size_t b = br[l];
        for (size_t j = 0; j < at; j++) {
            double *c = cl + c0 + j * b, mx = 0;  /* 0: the reference logit */
            size_t arg = b - 1;
            const double *vj = v + (row + j * (b - 1)) * p;
            for (size_t i = 0; i + 1 < b; i++) {
                double eta = 0;
                for (size_t a = 0; a < p; a++)
                    eta += vj[i * p + a] * z[a];
                c[i] = eta;
                if (eta > mx) {
                    mx = eta;
                    arg = i;
                }
            }
            c[b - 1] = 0;
            double sum = 1;  /* exp(c[arg] - mx), exactly */
            for (size_t i = 0; i < b; i++)
                if (i != arg)
                    sum += exp(c[i] - mx);
            double lse = mx + log(sum);
            for (size_t i = 0; i < b; i++) {
                c[i] -= lse;
                nxt[j * b + i] = acc[j] + c[i];
            }
        }
        row += at * (b - 1);
        c0 += at * b;
        at *= b;
        memcpy(acc, nxt, at * sizeof *acc);
    }
    memcpy(logg, acc, at * sizeof *logg);
    if (nl == 0)
        logg[0] = 0;
}

static void tree_log_prob_rows(const moe_dataset *d, const moe_gate_shape *s,
                               const double *par, size_t r0, size_t r1, double *logg)
{
    size_t br[MOE_TREE_DEPTH_MAX], nl = moe_tree_levels(s, br), p = d->nz + 1, k = s->k;
    double cl[CH_MAX];
    for (size_t r = r0; r < r1; r++)
        row_log_prob(d->z + r * p, par, nl, br, p, cl, logg + (r - r0) * k);
}

static void tree_stat_add(const moe_dataset *d, const moe_gate_shape *s, const double *theta,
                          const double *h, size_t r0, size_t r1, int deriv, double *stats)
{
    size_t br[MOE_TREE_DEPTH_MAX], nl = moe_tree_levels(s, br);
    size_t k = s->k, p = d->nz + 1, q = p * (p + 1) / 2, np = tree_nparams(s);
    double cl[CH_MAX], hc[CH_MAX], logg[MOE_K_MAX], zz[ZZ_MAX];
    double *grad = stats + 1, *blk0 = stats + 1 + np;
    int packed_ok = q <= ZZ_MAX;
    size_t c0l[MOE_TREE_DEPTH_MAX + 1], atl[MOE_TREE_DEPTH_MAX + 1];
    atl[0] = 1;
    c0l[0] = 0;
    for (size_t l = 0; l < nl; l++) {
        atl[l + 1] = atl[l] * br[l];
        c0l[l + 1] = c0l[l] + atl[l + 1];
    }
    for (size_t r = r0; r < r1; r++) {
        const double *z = d->z + r * p, *hr = h + r * k;
        row_log_prob(z, theta, nl, br, p, cl, logg);
        double qr = 0;
        for (size_t i = 0; i < k; i++)
            if (hr[i] != 0)
                qr += hr[i] * logg[i];
        stats[0] += qr;
        if (!deriv || nl == 0)
            continue;
        /* H of every child, bottom-up: the leaves' h, then sums over each node's children */
        memcpy(hc + c0l[nl - 1], hr, k * sizeof *hc);
        for (size_t l = nl - 1; l-- > 0;)
            for (size_t j = 0; j < atl[l + 1]; j++) {
                double sum = 0;
                const double *ch = hc + c0l[l + 1] + j * br[l + 1];
                for (size_t c = 0; c < br[l + 1]; c++)
                    sum += ch[c];
                hc[c0l[l] + j] = sum;
            }
        if (packed_ok) {
            size_t t = 0;
            for (size_t a = 0; a < p; a++)
                for (size_t b = a; b < p; b++)
                    zz[t++] = z[a] * z[b];
        }
        size_t row = 0;
        double *bp = blk0;
        for (size_t l = 0; l < nl; l++) {
            size_t b = br[l], km = b - 1, npair = km * b / 2;
            for (size_t j = 0; j < atl[l]; j++, row += km) {
                const double *hu = hc + c0l[l] + j * b, *lu = cl + c0l[l] + j * b;
                double su = 0, g[MOE_K_MAX];
                for (size_t c = 0; c < b; c++)
                    su += hu[c];
                if (su == 0) {  /* no posterior mass reaches this node in this row */
                    bp += npair * q;
                    continue;
                }
                for (size_t c = 0; c < b; c++)
                    g[c] = exp(lu[c]);
                for (size_t c = 0; c < km; c++) {
                    double e = hu[c] - su * g[c];
                    double *gr = grad + (row + c) * p;
                    for (size_t a = 0; a < p; a++)
                        gr[a] += e * z[a];
                }
                for (size_t c = 0; c < km; c++)
                    for (size_t c2 = c; c2 < km; c2++, bp += q) {
                        double w = su * g[c] * ((c == c2) - g[c2]);
                        if (packed_ok) {
                            for (size_t t = 0; t < q; t++)
                                bp[t] += w * zz[t];
                        } else {
                            size_t t = 0;
                            for (size_t a = 0; a < p; a++) {
                                double wa = w * z[a];
                                for (size_t b2 = a; b2 < p; b2++)
                                    bp[t++] += wa * z[b2];
                            }
                        }
                    }
            }
        }
    }
}

static void tree_derivatives(const double *stats, const moe_gate_shape *s, double *grad,
                             double *neg_hess)
{
    size_t br[MOE_TREE_DEPTH_MAX], nl = moe_tree_levels(s, br);
    size_t p = s->nz + 1, q = p * (p + 1) / 2, np = tree_nparams(s);
    if (grad)
        memcpy(grad, stats + 1, np * sizeof *grad);
    if (!neg_hess)
        return;
    memset(neg_hess, 0, np * np * sizeof *neg_hess);
    const double *bp = stats + 1 + np;
    size_t at = 1, row = 0;
    for (size_t l = 0; l < nl; l++) {
        size_t km = br[l] - 1;
        for (size_t u = 0; u < at; u++, row += km) {
            size_t o = row * p;  /* the node's block starts at theta index o */
            for (size_t i = 0; i < km; i++)
                for (size_t j = i; j < km; j++, bp += q) {
                    size_t t = 0;
                    for (size_t a = 0; a < p; a++)
                        for (size_t b = a; b < p; b++, t++) {
                            double v = bp[t];
                            size_t ra = o + i * p + a, cb = o + j * p + b;
                            size_t rb = o + i * p + b, ca = o + j * p + a;
                            neg_hess[ra * np + cb] = v;
                            neg_hess[rb * np + ca] = v;
                            neg_hess[cb * np + ra] = v;
                            neg_hess[ca * np + rb] = v;
                        }
                }
        }
        at *= br[l];
    }
}

static void tree_get_theta(const moe_gate_shape *s, const double *par, double *theta)
{
    memcpy(theta, par, tree_nparams(s) * sizeof *theta);
}

static void tree_set_theta(const moe_gate_shape *s, const double *theta, double *par)
{
    memcpy(par, theta, tree_nparams(s) * sizeof *par);
}

static int tree_is_slope(size_t j, const moe_gate_shape *s) { return j % (s->nz + 1) != 0; }

static void tree_report(const moe_model *m, const double *theta, double *coef)
{
    moe_gate_shape s = moe_model_gate_shape(m);
    size_t p = m->nz + 1, rows = tree_nparams(&s) / p;
    for (size_t i = 0; i < rows; i++)
        moe_model_unscale_gate(m, theta + i * p, coef + i * p);
}

/* One field, "gate_coef": every node's rows, node after node (src/model/tree.c's order);
 * the tree's branching itself is the model's "tree" (src/model/json.c). */
static size_t tree_fields(const moe_gate_shape *s, moe_param_field *f)
{
    f[0] = (moe_param_field){"gate_coef", 0, tree_nparams(s) / (s->nz + 1), s->nz + 1, 0, 0};
    return 1;
}

const moe_gate_type moe_gate_tree = {
    .name = "tree",
    .block_size = tree_block_size,
    .nparams = tree_nparams,
    .log_prob_rows = tree_log_prob_rows,
    .stat_size = tree_stat_size,
    .stat_add = tree_stat_add,
    .derivatives = tree_derivatives,
    .get_theta = tree_get_theta,
    .set_theta = tree_set_theta,
    .is_slope = tree_is_slope,
    .drop_expert = NULL,
    .report = tree_report,
    .fields = tree_fields,
};
