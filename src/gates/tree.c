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
 * and the negative Hessian is block-diagonal by node (no cross terms between nodes): each
 * node's block is the weighted multinomial logit of softmax.c with targets H_u and weights
 * S_u. The nodes are therefore the gate's groups (gate.h): EM's M-step runs every node's
 * Newton steps, step-halvings and stop on its own (src/train/newton_blocks.c) through
 * group_stat_add / group_derivatives, and a pass over the rows does only the work of the
 * nodes not yet converged; each node's Q_u never falls, so neither does Q. stat_add /
 * derivatives give the same statistics for the whole tree at once (the joint objective).
 * A one-level tree [K] is the softmax gate of K experts, number for number.
 * Stats layout: [Q, gradient (nparams), then per node its packed pair blocks ((B-1)B/2 of
 * P(P+1)/2, as softmax.c)]. Block: theta itself (the reference rows are implicit zeros), so
 * block_size = nparams. A row costs sum_u (B_u-1)B_u/2 * P(P+1)/2 multiply-adds for the
 * Hessian, less than a flat softmax of the same K. */
#include <config.h>

#include <math.h>
#include <string.h>

#include "gates/gate.h"
#include "kernels/kernels.h"

/* packed z z' kept per row up to P = 32; larger P computes it inline (as softmax.c) */
#define ZZ_MAX 528
/* children of all nodes together are at most 2K - 2 (every node has >= 2 children) */
#define CH_MAX (2 * MOE_K_MAX)
/* the grouped statistics take rows in chunks of this many (as softmax.c), with their pair
 * weights and packed z z' in stack buffers of these sizes */
#define CHUNK 64
#define PW_BUF 4096
#define ZZ_BUF 4096

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

/* Node log branch probabilities into C (B values) at the node's coefficient rows VJ (B - 1 rows
 * of P) for design row Z: the logits against the reference (0), less their log-sum-exp. */
static void node_log_prob(const double *z, const double *vj, size_t b, size_t p, double *c)
{
    double mx = 0;  /* 0: the reference logit */
    size_t arg = b - 1;
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
    for (size_t i = 0; i < b; i++)
        c[i] -= lse;
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
            double *c = cl + c0 + j * b;
            node_log_prob(z, v + (row + j * (b - 1)) * p, b, p, c);
            for (size_t i = 0; i < b; i++)
                nxt[j * b + i] = acc[j] + c[i];
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

/* The logits of one node with B branches (its B - 1 rows V of P coefficients, the last branch
 * the reference at 0) for the NC rows of the gate design ZC into ETA (NC x B). */
static void node_logits(const double *v, const double *zc, size_t nc, size_t p, size_t b,
                        double *eta)
{
    size_t km = b - 1;
    for (size_t t = 0; t < nc; t++) {
        const double *z = zc + t * p;
        for (size_t i = 0; i < km; i++) {
            double e = 0;
            for (size_t a = 0; a < p; a++)
                e += v[i * p + a] * z[a];
            eta[t * b + i] = e;
        }
        eta[t * b + km] = 0;  /* the reference branch */
    }
}

/* log g of rows [R0, R1): per chunk of rows and node the node's logits and their
 * log-sum-exp by the kernels table's posterior_rows (as the E-step of a flat gate), then per
 * row the log branch probabilities summed down every leaf's path. */
static void tree_log_prob_rows(const moe_dataset *d, const moe_gate_shape *s,
                               const double *par, size_t r0, size_t r1, double *logg)
{
    size_t br[MOE_TREE_DEPTH_MAX], nl = moe_tree_levels(s, br), p = d->nz + 1, k = s->k;
    const moe_kernels *kern = moe_kernels_get();
    double clb[CHUNK * CH_MAX], eta[CHUNK * MOE_K_MAX], lse[CHUNK];
    size_t nch = 0, at = 1;
    for (size_t l = 0; l < nl; l++)
        nch += (at *= br[l]);
    if (nl == 0) {
        for (size_t r = r0; r < r1; r++)
            logg[r - r0] = 0;
        return;
    }
    for (size_t r00 = r0; r00 < r1; r00 += CHUNK) {
        size_t nc = r1 - r00 < CHUNK ? r1 - r00 : CHUNK;
        const double *zc = d->z + r00 * p;
        size_t row = 0, c0 = 0;
        at = 1;
        for (size_t l = 0; l < nl; l++) {
            size_t b = br[l], km = b - 1;
            for (size_t j = 0; j < at; j++, row += km) {
                const double *v = par + row * p;
                node_logits(v, zc, nc, p, b, eta);
                kern->posterior_rows(nc, b, eta, NULL, lse);
                for (size_t t = 0; t < nc; t++)
                    for (size_t i = 0; i < b; i++)
                        clb[t * nch + c0 + j * b + i] = eta[t * b + i] - lse[t];
            }
            c0 += at * b;
            at *= b;
        }
        for (size_t t = 0; t < nc; t++) {
            double acc[MOE_K_MAX], nxt[MOE_K_MAX];
            const double *cl = clb + t * nch;
            acc[0] = 0;
            at = 1;
            c0 = 0;
            for (size_t l = 0; l < nl; l++) {
                size_t b = br[l];
                for (size_t j = 0; j < at; j++)
                    for (size_t i = 0; i < b; i++)
                        nxt[j * b + i] = acc[j] + cl[c0 + j * b + i];
                c0 += at * b;
                at *= b;
                memcpy(acc, nxt, at * sizeof *acc);
            }
            memcpy(logg + (r00 + t - r0) * k, acc, k * sizeof *acc);
        }
    }
}

/* log g (tree_log_prob_rows' own, bit for bit) and g = exp(log g) by the kernels' vexp, for
 * gradient descent (src/train/loss.c). */
static void tree_prob_rows(const moe_dataset *d, const moe_gate_shape *s, const double *par,
                           size_t r0, size_t r1, double *logg, double *g)
{
    tree_log_prob_rows(d, s, par, r0, r1, logg);
    moe_kernels_get()->vexp((r1 - r0) * s->k, logg, g);
}

/* d/dv_uc sum_leaf c_leaf log g_leaf = (C_uc - C_u g_c|u) z~ for every node u and child
 * c < B_u, with C_uc the sum of C over the leaves below child c and C_u over u's: the path
 * sums of log g differentiate node by node. The branch probabilities g_c|u are the ratios
 * of G's sums below c and below u (no logit or exponential); a node that G gives no mass
 * (it underflowed) contributes nothing, as every loss's weights c are then 0 there too. */
static void tree_grad_rows(const moe_dataset *d, const moe_gate_shape *s, const double *theta,
                           const double *g, const double *c, size_t r0, size_t r1,
                           double *grad)
{
    (void)theta;
    size_t br[MOE_TREE_DEPTH_MAX], nl = moe_tree_levels(s, br), k = s->k, p = d->nz + 1;
    double cc[CH_MAX], gg[CH_MAX];
    size_t c0l[MOE_TREE_DEPTH_MAX + 1], atl[MOE_TREE_DEPTH_MAX + 1];
    if (nl == 0)
        return;
    atl[0] = 1;
    c0l[0] = 0;
    for (size_t l = 0; l < nl; l++) {
        atl[l + 1] = atl[l] * br[l];
        c0l[l + 1] = c0l[l] + atl[l + 1];
    }
    for (size_t r = r0; r < r1; r++) {
        const double *z = d->z + r * p;
        memcpy(cc + c0l[nl - 1], c + r * k, k * sizeof *cc);
        memcpy(gg + c0l[nl - 1], g + r * k, k * sizeof *gg);
        for (size_t l = nl - 1; l-- > 0;)
            for (size_t j = 0; j < atl[l + 1]; j++) {
                double sc = 0, sg = 0;
                const double *chc = cc + c0l[l + 1] + j * br[l + 1];
                const double *chg = gg + c0l[l + 1] + j * br[l + 1];
                for (size_t t = 0; t < br[l + 1]; t++) {
                    sc += chc[t];
                    sg += chg[t];
                }
                cc[c0l[l] + j] = sc;
                gg[c0l[l] + j] = sg;
            }
        size_t row = 0;
        for (size_t l = 0; l < nl; l++) {
            size_t b = br[l], km = b - 1;
            for (size_t j = 0; j < atl[l]; j++, row += km) {
                const double *cu = cc + c0l[l] + j * b, *gu = gg + c0l[l] + j * b;
                double csum = 0, gsum = 0;
                for (size_t t = 0; t < b; t++) {
                    csum += cu[t];
                    gsum += gu[t];
                }
                if (!(gsum > 0))
                    continue;
                for (size_t t = 0; t < km; t++) {
                    double e = cu[t] - csum * (gu[t] / gsum);
                    double *gr = grad + (row + t) * p;
                    for (size_t a = 0; a < p; a++)
                        gr[a] += e * z[a];
                }
            }
        }
    }
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

/* The nodes as the independent groups of theta (breadth-first, src/model/tree.c's order):
 * node g's coefficients start at OFF[g]. */
static size_t tree_groups(const moe_gate_shape *s, size_t *off)
{
    size_t br[MOE_TREE_DEPTH_MAX], nl = moe_tree_levels(s, br), at = 1, g = 0, row = 0;
    size_t p = s->nz + 1;
    for (size_t l = 0; l < nl; l++) {
        for (size_t j = 0; j < at; j++, g++, row += br[l] - 1)
            if (off)
                off[g] = row * p;
        at *= br[l];
    }
    if (off)
        off[g] = row * p;
    return g;
}

/* stat_add by node, for the nodes with ACTIVE[u] != 0 only: node u's Q_u = sum_n sum_c H_uc
 * log g_c|u into stats[u] and, when ACTIVE[u] == 2, its gradient and pair blocks (the layout
 * of stat_add after its Q). A row costs only the active nodes' logits and Hessian updates.
 * Rows go in chunks, node by node, through the kernels table as in softmax.c: the node's
 * logits, posterior_rows (its log-sum-exp and branch probabilities), then ger_rows for the
 * gradient and the packed Hessian (sums in row order: any thread count gives the same). */
static void tree_group_stat_add(const moe_dataset *d, const moe_gate_shape *s,
                                const double *theta, const double *h, size_t r0, size_t r1,
                                const unsigned char *active, double *stats)
{
    size_t br[MOE_TREE_DEPTH_MAX], nl = moe_tree_levels(s, br);
    size_t k = s->k, p = d->nz + 1, q = p * (p + 1) / 2, np = tree_nparams(s);
    size_t nn = tree_groups(s, NULL);
    const moe_kernels *kern = moe_kernels_get();
    double hcb[CHUNK * CH_MAX], eta[CHUNK * MOE_K_MAX], gc[CHUNK * MOE_K_MAX], lse[CHUNK];
    double ev[CHUNK * MOE_K_MAX], pw[PW_BUF], zz[ZZ_BUF];
    double *grad = stats + nn, *blk0 = stats + nn + np;
    int packed_ok = q <= ZZ_MAX, any2 = 0;
    size_t c0l[MOE_TREE_DEPTH_MAX + 1], atl[MOE_TREE_DEPTH_MAX + 1], nch;
    atl[0] = 1;
    c0l[0] = 0;
    for (size_t l = 0; l < nl; l++) {
        atl[l + 1] = atl[l] * br[l];
        c0l[l + 1] = c0l[l] + atl[l + 1];
    }
    nch = c0l[nl];  /* children of all nodes */
    size_t rows = CHUNK, npmax = 0;
    for (size_t l = 0; l < nl; l++)
        npmax = npmax > (br[l] - 1) * br[l] / 2 ? npmax : (br[l] - 1) * br[l] / 2;
    if (rows * npmax > PW_BUF)
        rows = PW_BUF / npmax ? PW_BUF / npmax : 1;
    if (rows * q > ZZ_BUF)
        rows = ZZ_BUF / q ? ZZ_BUF / q : 1;
    for (size_t u = 0; u < nn; u++)
        any2 |= active[u] == 2;
    for (size_t r00 = r0; r00 < r1; r00 += rows) {
        size_t nc = r1 - r00 < rows ? r1 - r00 : rows;
        const double *zc = d->z + r00 * p;
        /* H of every child, bottom-up: the leaves' h, then sums over each node's children */
        for (size_t t = 0; t < nc; t++) {
            double *hc = hcb + t * nch;
            memcpy(hc + c0l[nl - 1], h + (r00 + t) * k, k * sizeof *hc);
            for (size_t l = nl - 1; l-- > 0;)
                for (size_t j = 0; j < atl[l + 1]; j++) {
                    double mass = 0;
                    const double *kids = hc + c0l[l + 1] + j * br[l + 1];
                    for (size_t c = 0; c < br[l + 1]; c++)
                        mass += kids[c];
                    hc[c0l[l] + j] = mass;
                }
        }
        if (packed_ok && any2)
            for (size_t t = 0; t < nc; t++) {
                const double *z = zc + t * p;
                double *zt = zz + t * q;
                size_t t2 = 0;
                for (size_t a = 0; a < p; a++)
                    for (size_t b = a; b < p; b++)
                        zt[t2++] = z[a] * z[b];
            }
        size_t row = 0, u = 0;
        double *bp = blk0;
        for (size_t l = 0; l < nl; l++) {
            size_t b = br[l], km = b - 1, npair = km * b / 2;
            for (size_t j = 0; j < atl[l]; j++, u++, row += km, bp += npair * q) {
                if (!active[u])
                    continue;
                const double *v = theta + row * p;
                node_logits(v, zc, nc, p, b, eta);
                kern->posterior_rows(nc, b, eta, gc, lse);
                double qu = 0;
                for (size_t t = 0; t < nc; t++) {
                    const double *hu = hcb + t * nch + c0l[l] + j * b;
                    for (size_t c = 0; c < b; c++)
                        if (hu[c] != 0)
                            qu += hu[c] * (eta[t * b + c] - lse[t]);
                }
                stats[u] += qu;
                if (active[u] != 2)
                    continue;
                for (size_t t = 0; t < nc; t++) {
                    const double *hu = hcb + t * nch + c0l[l] + j * b, *g = gc + t * b;
                    double su = 0;
                    for (size_t c = 0; c < b; c++)
                        su += hu[c];
                    for (size_t c = 0; c < km; c++)
                        ev[t * km + c] = hu[c] - su * g[c];
                    double *pwt = pw + t * npair;
                    size_t pr = 0;
                    for (size_t c = 0; c < km; c++)
                        for (size_t c2 = c; c2 < km; c2++, pr++)
                            pwt[pr] = su * g[c] * ((c == c2) - g[c2]);
                    if (!packed_ok) {  /* P > 32: row by row, z~ z~' inline */
                        const double *z = zc + t * p;
                        double *bq = bp;
                        for (pr = 0; pr < npair; pr++, bq += q) {
                            size_t t2 = 0;
                            for (size_t a = 0; a < p; a++) {
                                double wa = pwt[pr] * z[a];
                                for (size_t b2 = a; b2 < p; b2++)
                                    bq[t2++] += wa * z[b2];
                            }
                        }
                    }
                }
                kern->ger_rows(nc, km, p, ev, km, zc, p, grad + row * p);
                if (packed_ok)
                    kern->ger_rows(nc, npair, q, pw, npair, zz, q, bp);
            }
        }
    }
}

/* From group_stat_add's summed STATS: for the nodes with ACTIVE[u] == 2 the gradient (at the
 * node's offset in GRAD) and the node's own negative Hessian block ((B_u - 1) P square, at the
 * sum of the earlier nodes' squares in NEG_HESS). */
static void tree_group_derivatives(const double *stats, const moe_gate_shape *s,
                                   const unsigned char *active, double *grad, double *neg_hess)
{
    size_t br[MOE_TREE_DEPTH_MAX], nl = moe_tree_levels(s, br), nn = tree_groups(s, NULL);
    size_t p = s->nz + 1, q = p * (p + 1) / 2, np = tree_nparams(s);
    const double *bp = stats + nn + np;
    size_t at = 1, row = 0, u = 0, ho = 0;
    for (size_t l = 0; l < nl; l++) {
        size_t km = br[l] - 1, npair = km * br[l] / 2, n = km * p;
        for (size_t j = 0; j < at; j++, u++, row += km, bp += npair * q, ho += n * n) {
            if (active[u] != 2)
                continue;
            memcpy(grad + row * p, stats + nn + row * p, n * sizeof *grad);
            double *nh = neg_hess + ho;
            const double *bq = bp;
            for (size_t i = 0; i < km; i++)
                for (size_t i2 = i; i2 < km; i2++, bq += q) {
                    size_t t = 0;
                    for (size_t a = 0; a < p; a++)
                        for (size_t b = a; b < p; b++, t++) {
                            double v = bq[t];
                            size_t ra = i * p + a, cb = i2 * p + b;
                            size_t rb = i * p + b, ca = i2 * p + a;
                            nh[ra * n + cb] = v;
                            nh[rb * n + ca] = v;
                            nh[cb * n + ra] = v;
                            nh[ca * n + rb] = v;
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
    .prob_rows = tree_prob_rows,
    .grad_rows = tree_grad_rows,
    .stat_size = tree_stat_size,
    .stat_add = tree_stat_add,
    .derivatives = tree_derivatives,
    .groups = tree_groups,
    .group_stat_add = tree_group_stat_add,
    .group_derivatives = tree_group_derivatives,
    .get_theta = tree_get_theta,
    .set_theta = tree_set_theta,
    .is_slope = tree_is_slope,
    .drop_expert = NULL,
    .report = tree_report,
    .fields = tree_fields,
};
