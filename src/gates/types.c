/* types.c: the list of gates and the look-up by name.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <string.h>

#include "gates/gate.h"

const moe_gate_type *const moe_gate_types[] = {&moe_gate_softmax, &moe_gate_tree,
                                               &moe_gate_topk, NULL};

const moe_gate_type *moe_gate_type_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; moe_gate_types[i]; i++)
        if (strcmp(moe_gate_types[i]->name, name) == 0)
            return moe_gate_types[i];
    return NULL;
}
