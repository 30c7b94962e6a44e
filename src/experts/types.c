/* types.c: the list of expert families and the look-up by name.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experts/expert.h"

const moe_expert_type *const moe_expert_types[] = {&moe_expert_gaussian, &moe_expert_poisson,
                                                   &moe_expert_logistic, &moe_expert_mlp,
                                                   NULL};

static const char *const activation_names[] = {"tanh", "relu"};

const moe_expert_type *moe_expert_type_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; moe_expert_types[i]; i++)
        if (strcmp(moe_expert_types[i]->name, name) == 0)
            return moe_expert_types[i];
    return NULL;
}

const char *moe_expert_spec_parse(const char *spec, const moe_expert_type **et,
                                  moe_expert_shape *es)
{
    static _Thread_local char why[200];
    es->hidden = 0;
    es->activation = MOE_ACT_TANH;
    if (!spec) {
        *et = moe_expert_types[0];
        return NULL;
    }
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    *et = NULL;
    for (size_t i = 0; moe_expert_types[i]; i++)
        if (strlen(moe_expert_types[i]->name) == len &&
            strncmp(moe_expert_types[i]->name, spec, len) == 0)
            *et = moe_expert_types[i];
    if (!*et) {
        snprintf(why, sizeof why, "unknown expert family '%.*s'", (int)(len < 60 ? len : 60),
                 spec);
        return why;
    }
    const char *name = (*et)->name;
    if (!(*et)->hidden_layer) {
        if (!colon)
            return NULL;
        snprintf(why, sizeof why, "the %s family takes no options ('%.60s')", name, colon);
        return why;
    }
    if (!colon) {
        snprintf(why, sizeof why, "%s needs its hidden units: %s:H[:tanh|relu], e.g. %s:8",
                 name, name, name);
        return why;
    }
    const char *p = colon + 1, *end = strchr(p, ':');
    size_t hl = end ? (size_t)(end - p) : strlen(p);
    char num[32];
    unsigned long long h = 0;
    int ok = hl > 0 && hl < sizeof num;
    if (ok) {
        memcpy(num, p, hl);
        num[hl] = 0;
        char *e;
        errno = 0;
        h = strtoull(num, &e, 10);
        ok = *e == 0 && errno == 0 && num[0] >= '0' && num[0] <= '9';
    }
    if (!ok || h < 1 || h > MOE_HIDDEN_MAX) {
        snprintf(why, sizeof why, "%s: the hidden units must be a whole number from 1 to %d, "
                 "not '%.*s'", name, MOE_HIDDEN_MAX, (int)(hl < 40 ? hl : 40), p);
        return why;
    }
    es->hidden = (size_t)h;
    if (!end)
        return NULL;
    for (size_t a = 0; a < sizeof activation_names / sizeof *activation_names; a++)
        if (strcmp(end + 1, activation_names[a]) == 0) {
            es->activation = (moe_activation)a;
            return NULL;
        }
    snprintf(why, sizeof why, "%s: unknown activation '%.40s' (tanh or relu)", name, end + 1);
    return why;
}

void moe_expert_spec_format(const moe_expert_type *et, const moe_expert_shape *es, char *buf,
                            size_t len)
{
    if (et->hidden_layer)
        snprintf(buf, len, "%s:%zu:%s", et->name, es->hidden, activation_names[es->activation]);
    else
        snprintf(buf, len, "%s", et->name);
}

const char *moe_family_check(const char *spec)
{
    const moe_expert_type *et;
    moe_expert_shape es;
    return moe_expert_spec_parse(spec, &et, &es);
}

const char *moe_family_name(size_t j)
{
    for (size_t i = 0; moe_expert_types[i]; i++)
        if (i == j)
            return moe_expert_types[i]->name;
    return NULL;
}

const char *moe_family_description(const char *name)
{
    const moe_expert_type *t = moe_expert_type_find(name);
    return t ? t->description : NULL;
}

const char *moe_family_check_columns(const char *name, int offset, int trials)
{
    const moe_expert_type *t;
    moe_expert_shape es;
    const char *why = moe_expert_spec_parse(name, &t, &es);
    if (why)
        return why;
    if (offset && !t->needs_offset)
        return "this expert family takes no offset column (poisson does)";
    if (trials && !t->needs_trials)
        return "this expert family takes no trials column (logistic does)";
    return NULL;
}
