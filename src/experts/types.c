/* types.c: the list of expert families and the look-up by name.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <string.h>

#include "experts/expert.h"

const moe_expert_type *const moe_expert_types[] = {&moe_expert_gaussian, &moe_expert_poisson,
                                                   &moe_expert_logistic, NULL};

const moe_expert_type *moe_expert_type_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; moe_expert_types[i]; i++)
        if (strcmp(moe_expert_types[i]->name, name) == 0)
            return moe_expert_types[i];
    return NULL;
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
    const moe_expert_type *t = name ? moe_expert_type_find(name) : moe_expert_types[0];
    if (!t)
        return "unknown expert family";
    if (offset && !t->needs_offset)
        return "this expert family takes no offset column (poisson does)";
    if (trials && !t->needs_trials)
        return "this expert family takes no trials column (logistic does)";
    return NULL;
}
