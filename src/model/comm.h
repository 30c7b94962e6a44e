/* comm.h: passes over row blocks spread over the ranks of a moe_comm (include/moe.h): which
 * blocks this rank computes, and the gathers that give every rank every block's partials.
 * Implemented in src/model/comm.c.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_MODEL_COMM_H
#define MOE_MODEL_COMM_H

#include "moe.h"

/* The blocks [*B0, *B1) of NBLOCKS this process computes: all of them when COMM is NULL. */
void moe_comm_own_blocks(const moe_comm *comm, size_t nblocks, size_t *b0, size_t *b1);

/* After every rank has written the partials of its own blocks into PART (NBLOCKS blocks of
 * STRIDE doubles), fills in the other ranks' blocks. OFFSETS: scratch of comm->size + 1
 * entries. A no-op when COMM is NULL or has one rank. */
void moe_comm_gather_blocks(const moe_comm *comm, double *part, size_t nblocks, size_t stride,
                            size_t *offsets);

/* The same for an N x WIDTH row-major array whose rows of block b (moe_block_range of N in
 * NBLOCKS) were written by the block's owner only. */
void moe_comm_gather_rows(const moe_comm *comm, double *rows, size_t n, size_t nblocks,
                          size_t width, size_t *offsets);

#endif
