/* models.c: the list of model shapes a fit chooses between: the flat K range of the fit
 * options, or their comma list of trees and flat K ("2x2,3x2x2,4"; moe_train_models).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <string.h>

#include "train/select.h"

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
        const char *why = moe_tree_parse(p, end, &s);
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
