/* sparse_ref.c: the reference of the sparse layer's row-loop slots (kernels.h, softmax_rows ..
 * combine_back): sparse_impl.h instantiated for float. Compiled without ISA flags.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

#define REAL float
#define SK(name) ref_##name
#include "kernels/sparse_impl.h"

void moe_kernels_fill_sparse_ref(moe_kernels *t)
{
    t->softmax_rows = ref_softmax_rows;
    t->topk_rows = ref_topk_rows;
    t->gather_rows = ref_gather_rows;
    t->act_forward = ref_act_forward;
    t->act_backward = ref_act_backward;
    t->combine_rows = ref_combine_rows;
    t->combine_back = ref_combine_back;
}
