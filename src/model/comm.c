/* comm.c: passes over row blocks spread over the ranks of a moe_comm: the blocks each rank
 * owns (equal contiguous shares in rank order, so that rank r's blocks are one contiguous
 * run of rows and one contiguous run of block partials) and the gathers through the
 * caller's collective.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include "model/comm.h"
#include "model/estep.h"

void moe_comm_blocks(size_t size, size_t rank, size_t nblocks, size_t *b0, size_t *b1)
{
    if (size == 0 || rank >= size) {
        *b0 = *b1 = 0;
        return;
    }
    *b0 = (size_t)((unsigned long long)nblocks * rank / size);
    *b1 = (size_t)((unsigned long long)nblocks * (rank + 1) / size);
}

void moe_comm_own_blocks(const moe_comm *comm, size_t nblocks, size_t *b0, size_t *b1)
{
    if (!comm || comm->size < 2) {
        *b0 = 0;
        *b1 = nblocks;
        return;
    }
    moe_comm_blocks(comm->size, comm->rank, nblocks, b0, b1);
}

void moe_comm_gather_blocks(const moe_comm *comm, double *part, size_t nblocks, size_t stride,
                            size_t *offsets)
{
    if (!comm || comm->size < 2)
        return;
    for (size_t r = 0; r <= comm->size; r++) {
        size_t b0, b1;
        moe_comm_blocks(comm->size, r < comm->size ? r : comm->size - 1, nblocks, &b0, &b1);
        offsets[r] = (r < comm->size ? b0 : b1) * stride;
    }
    comm->allgather(part, nblocks * stride, offsets, comm->data);
}

void moe_comm_gather_rows(const moe_comm *comm, double *rows, size_t n, size_t nblocks,
                          size_t width, size_t *offsets)
{
    if (!comm || comm->size < 2)
        return;
    for (size_t r = 0; r <= comm->size; r++) {
        size_t b0, b1, r0, r1;
        moe_comm_blocks(comm->size, r < comm->size ? r : comm->size - 1, nblocks, &b0, &b1);
        if (r < comm->size)
            moe_block_range(n, nblocks, b0, &r0, &r1);
        else
            r0 = n;
        offsets[r] = r0 * width;
    }
    comm->allgather(rows, n * width, offsets, comm->data);
}
