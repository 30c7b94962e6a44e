/* tree.c: the node arithmetic of a tree gate's shape (hierarchical mixtures of experts):
 * levels, nodes in breadth-first order, their rows of gate coefficients, the leaves below
 * them and their paths ("1.2"). Shared by the tree gate, the model file, the summary and
 * the plots, so that all of them number the nodes the same way.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * A shape of depth L with branching B_0 .. B_{L-1} has N_l = B_0 ... B_{l-1} nodes at
 * level l (N_0 = 1, the root; level L holds the K = N_L leaves, the experts in order).
 * Child c of node j of level l is node j B_l + c of level l + 1, so the leaves below node
 * (l, j) are the K / N_l consecutive experts from j K / N_l. Each internal node has B_l - 1
 * rows of nz + 1 free gate coefficients (its last child is the reference); theta holds them
 * node after node, level by level. A flat shape (depth 0) is the one-level tree [K]. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "model/model.h"

size_t moe_tree_levels(const moe_gate_shape *s, size_t *branch)
{
    if (s->depth == 0) {
        if (s->k < 2)
            return 0;
        branch[0] = s->k;
        return 1;
    }
    for (size_t l = 0; l < s->depth; l++)
        branch[l] = s->branch[l];
    return s->depth;
}

size_t moe_tree_count(const moe_gate_shape *s)
{
    size_t br[MOE_TREE_DEPTH_MAX], nl = moe_tree_levels(s, br), n = 0, at = 1;
    for (size_t l = 0; l < nl; l++) {
        n += at;
        at *= br[l];
    }
    return n;
}

void moe_tree_node_get(const moe_gate_shape *s, size_t t, moe_tree_node *node)
{
    size_t br[MOE_TREE_DEPTH_MAX], nl = moe_tree_levels(s, br), at = 1, row = 0;
    memset(node, 0, sizeof *node);
    for (size_t l = 0; l < nl; l++) {
        if (t < at) {
            node->level = l;
            node->index = t;
            node->children = br[l];
            node->row = row + t * (br[l] - 1);
            node->leaves = s->k / at;
            node->leaf0 = t * node->leaves;
            return;
        }
        t -= at;
        row += at * (br[l] - 1);
        at *= br[l];
    }
}

void moe_tree_path(const moe_gate_shape *s, size_t level, size_t index, char *buf, size_t len)
{
    size_t br[MOE_TREE_DEPTH_MAX], digit[MOE_TREE_DEPTH_MAX];
    moe_tree_levels(s, br);
    if (level == 0) {
        snprintf(buf, len, "root");
        return;
    }
    for (size_t l = level; l-- > 0;) {
        digit[l] = index % br[l];
        index /= br[l];
    }
    size_t used = 0;
    buf[0] = 0;
    for (size_t l = 0; l < level && used < len; l++) {
        int w = snprintf(buf + used, len - used, "%s%zu", l ? "." : "", digit[l] + 1);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

int moe_tree_format(const moe_gate_shape *s, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    if (s->depth == 0)
        return 0;
    for (size_t l = 0; l < s->depth && used < len; l++) {
        int w = snprintf(buf + used, len - used, "%s%zu", l ? "x" : "", s->branch[l]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return 1;
}

const char *moe_tree_parse(const char *p, const char *end, moe_gate_shape *s)
{
    size_t nb = 0, prod = 1, branch[MOE_TREE_DEPTH_MAX];
    if (p == end)
        return "tree: an entry is empty (write e.g. 2x2,4)";
    while (p < end) {
        size_t v = 0, digits = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
            if ((v = 10 * v + (size_t)(*p - '0')) > 1000)
                return "tree: a model has more than 64 leaves";
        if (digits == 0)
            return "tree: must be trees B1xB2x... and numbers of experts K: whole numbers "
                   "joined by x and commas (e.g. 2x2,4)";
        if (p < end && *p != 'x')
            return "tree: must be trees B1xB2x... and numbers of experts K: whole numbers "
                   "joined by x and commas (e.g. 2x2,4)";
        if (p < end && p + 1 == end)
            return "tree: an entry ends in x (a branching is missing)";
        if (nb == MOE_TREE_DEPTH_MAX)
            return "tree: a tree may have at most 6 levels";
        branch[nb++] = v;
        prod *= v;
        if (prod > MOE_K_MAX)
            return "tree: a model has more than 64 leaves";
        if (p < end)
            p++;
    }
    memset(s, 0, sizeof *s);
    if (nb == 1) {  /* a flat K */
        if (branch[0] == 0)
            return "tree: a flat model needs at least 1 expert (0 given)";
        s->k = branch[0];
        return NULL;
    }
    for (size_t l = 0; l < nb; l++)
        if (branch[l] < 2)
            return branch[l] == 0 ? "tree: every node needs at least 2 branches (0 given)"
                                  : "tree: every node needs at least 2 branches (1 given)";
    s->k = prod;
    s->depth = nb;
    memcpy(s->branch, branch, nb * sizeof *branch);
    return NULL;
}

/* ---------------------------------------------------------------- the public accessors */

size_t moe_model_tree(const moe_model *m, size_t *branch)
{
    if (!m)
        return 0;
    if (branch)
        for (size_t l = 0; l < m->tree_depth; l++)
            branch[l] = m->tree[l];
    return m->tree_depth;
}

size_t moe_model_nnodes(const moe_model *m)
{
    if (!m || !m->tree_depth)
        return 0;
    moe_gate_shape s = moe_model_gate_shape(m);
    return moe_tree_count(&s) - 1;
}

int moe_model_node_name(const moe_model *m, size_t j, char *buf, size_t len)
{
    if (!m || !buf || len == 0 || j >= moe_model_nnodes(m))
        return MOE_EINVAL;
    moe_gate_shape s = moe_model_gate_shape(m);
    moe_tree_node nd;
    moe_tree_node_get(&s, j + 1, &nd);
    moe_tree_path(&s, nd.level, nd.index, buf, len);
    return MOE_SUCCESS;
}

int moe_model_leaf_name(const moe_model *m, size_t i, char *buf, size_t len)
{
    if (!m || !buf || len == 0 || i >= m->k)
        return MOE_EINVAL;
    moe_gate_shape s = moe_model_gate_shape(m);
    size_t br[MOE_TREE_DEPTH_MAX];
    moe_tree_path(&s, moe_tree_levels(&s, br), i, buf, len);
    return MOE_SUCCESS;
}

void moe_model_node_leaves(const moe_model *m, size_t j, size_t *first, size_t *count)
{
    size_t f = 0, c = 0;
    if (m && j < moe_model_nnodes(m)) {
        moe_gate_shape s = moe_model_gate_shape(m);
        moe_tree_node nd;
        moe_tree_node_get(&s, j + 1, &nd);
        f = nd.leaf0;
        c = nd.leaves;
    }
    if (first)
        *first = f;
    if (count)
        *count = c;
}
