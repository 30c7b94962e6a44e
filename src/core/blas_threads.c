/* blas_threads.c: OpenBLAS pinned to one thread (moe_blas_pin, moe_blas_unpin), through the
 * functions configure found (HAVE_OPENBLAS_SET_NUM_THREADS); no-ops with another BLAS.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include "core/blas_threads.h"

#if defined(HAVE_OPENBLAS_SET_NUM_THREADS) && defined(HAVE_OPENBLAS_GET_NUM_THREADS)
/* declared here: OpenBLAS's cblas.h is not the header every CBLAS ships */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

int moe_blas_pin(void)
{
    int saved = openblas_get_num_threads();
    if (saved > 1)
        openblas_set_num_threads(1);
    return saved > 1 ? saved : 0;
}

void moe_blas_unpin(int saved)
{
    if (saved > 1)
        openblas_set_num_threads(saved);
}
#else
int moe_blas_pin(void) { return 0; }

void moe_blas_unpin(int saved) { (void)saved; }
#endif
