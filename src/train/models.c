/* models.c: the list of model shapes a fit chooses between: the flat K range of the fit
 * options, or their comma list of trees and flat K ("2x2,3x2x2,4"; moe_train_models).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <string.h>

#include "train/select.h"

/* Parses one entry [P, END) ("4" or "2x3x2") into S; NULL or what is wrong. */
static const char *parse_entry(const char *p, const char *end, moe_gate_shape *s)
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

const char *moe_train_models(const moe_fit_options *opt, moe_gate_shape *out, size_t *n)
{
    *n = 0;
    if (!opt->tree) {
        for (size_t k = opt->k_min; k <= opt->k_max && *n < MOE_MODELS_MAX; k++) {
            memset(&out[*n], 0, sizeof out[*n]);
            out[(*n)++].k = k;
        }
        return NULL;
    }
    const char *p = opt->tree;
    size_t wide = 0;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        if (*n == MOE_MODELS_MAX)
            return "tree: lists more than 64 models";
        moe_gate_shape s;
        const char *why = parse_entry(p, end, &s);
        if (why)
            return why;
        for (size_t j = 0; j < *n; j++)
            if (out[j].k == s.k && out[j].depth == s.depth &&
                memcmp(out[j].branch, s.branch, sizeof s.branch) == 0)
                return "tree: lists a model twice";
        wide += s.k > 1;
        out[(*n)++] = s;
        if (!*end)
            break;
        p = end + 1;
    }
    if (!wide)
        return "tree: a single leaf is no tree (give at least 2 leaves, e.g. 2x2)";
    return NULL;
}
