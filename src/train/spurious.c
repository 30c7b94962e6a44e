/* spurious.c: spurious experts (moe_train_spurious): experts held at the variance floor and
 * experts fitted to too few effective rows, which the likelihood (and so BIC) rewards
 * although they describe single points or ties rather than a regime (issue 13: mcycle's
 * first 23 rows give K = 4 with two experts at SD 0.0027 on tied values).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "experts/expert.h"
#include "train/spurious.h"

/* Appends ENTRY to WHY (LEN bytes), "; " between entries; an entry that does not fit whole
 * (nor "; ..." after it) is replaced by "; ...", and nothing is added after that. */
static void add(char *why, size_t len, const char *entry)
{
    if (!why || len == 0)
        return;
    size_t used = strlen(why), sep = used ? 2 : 0;
    if (used >= 3 && strcmp(why + used - 3, "...") == 0)
        return;
    if (used + sep + strlen(entry) + 5 < len)
        snprintf(why + used, len - used, "%s%s", sep ? "; " : "", entry);
    else if (used + 5 < len)
        snprintf(why + used, len - used, "%s...", sep ? "; " : "");
}

size_t moe_train_spurious(const moe_dataset *d, const moe_model *m, const double *h,
                          double var_floor, double min_rows, double y_scale, char *why,
                          size_t len)
{
    if (why && len)
        why[0] = '\0';
    if (!d || !m || !h)
        return 0;
    moe_expert_shape es = moe_model_expert_shape(m);
    size_t k = m->k, n = d->n, count = 0;
    int linear_count = m->expert->rows_rule_params != NULL;
    size_t np = linear_count ? m->expert->rows_rule_params(&es) : m->expert->nparams(&es);
    int floors = m->expert->scales_response && m->expert->mstep != NULL;
    char entry[160];
    for (size_t i = 0; i < k; i++) {
        double size = 0;
        for (size_t r = 0; r < n; r++)
            size += d->w ? d->w[r] * h[r * k + i] : h[r * k + i];
        double var = NAN;
        if (floors && n > 0)
            m->expert->moments_rows(d, &es, moe_model_expert_block_const(m, i), 0, 1, NULL,
                                    &var);
        if (floors && var <= var_floor * (1 + 1e-6)) {
            count++;
            snprintf(entry, sizeof entry, "expert %zu at the variance floor (SD %.3g)", i + 1,
                     sqrt(var) * y_scale);
            add(why, len, entry);
        } else if (min_rows > 0 && size < min_rows * (double)np) {
            count++;
            snprintf(entry, sizeof entry, "expert %zu on %.3g effective rows, fewer than %g "
                     "per each of %s%zu parameters", i + 1, size, min_rows,
                     linear_count ? "a linear expert's " : "its ", np);
            add(why, len, entry);
        }
    }
    return count;
}
