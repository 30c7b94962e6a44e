/* blas_threads.h: pinning OpenBLAS to one thread around LAPACK calls whose result must not
 * depend on the thread count (src/core/blas_threads.c).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_CORE_BLAS_THREADS_H
#define MOE_CORE_BLAS_THREADS_H

/* Sets OpenBLAS's thread count to 1 and returns the count it had (0 when the BLAS is not
 * OpenBLAS: nothing to pin). Threaded OpenBLAS splits dpotri's products by thread count, so
 * the 17th digit of a standard error moved with OMP_NUM_THREADS (issue 13); our matrices are
 * small (a few hundred rows at most), so one thread costs nothing measurable. */
int moe_blas_pin(void);

/* Restores the count SAVED that moe_blas_pin returned (0: nothing to do). */
void moe_blas_unpin(int saved);

#endif
