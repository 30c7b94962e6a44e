/* types.c: the list of expert families and the look-up by name.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <string.h>

#include "experts/expert.h"

const moe_expert_type *const moe_expert_types[] = {&moe_expert_gaussian, NULL};

const moe_expert_type *moe_expert_type_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; moe_expert_types[i]; i++)
        if (strcmp(moe_expert_types[i]->name, name) == 0)
            return moe_expert_types[i];
    return NULL;
}
