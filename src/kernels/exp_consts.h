/* exp_consts.h: the constants of the vector exp shared by the ISA kernel files.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * exp(x) = 2^k exp(r), k = nearest integer to x / log 2 (found by adding 1.5 * 2^52, whose
 * low mantissa bits then hold k), r = x - k log 2 in two steps (LN2_HI has 32 significant
 * bits, so k * LN2_HI is exact for |k| < 2^21: fdlibm's split), |r| <= log(2) / 2 + tiny.
 * exp(r) is its Taylor polynomial of degree 13 by Horner with FMA: the truncation error is
 * below (log(2)/2)^14 / 14! < 5e-18 relative, so the error is the rounding of the Horner
 * steps, under 1 ulp (tests/test_kernels.c measures it against libm). 2^k is added to the
 * exponent field, valid while the result is normal: the fast path is for |x| <= 707
 * (|k| <= 1020); lanes beyond it or NaN take libm's exp, lanes below -746 (and -inf) are 0. */
#ifndef MOE_KERNELS_EXP_CONSTS_H
#define MOE_KERNELS_EXP_CONSTS_H

#define MOE_EXP_LOG2E 0x1.71547652b82fep0
#define MOE_EXP_SHIFTER 0x1.8p52
#define MOE_EXP_LN2_HI 6.93147180369123816490e-01
#define MOE_EXP_LN2_LO 1.90821492927058770002e-10
#define MOE_EXP_FAST_MAX 707.0
#define MOE_EXP_ZERO_BELOW -746.0

/* 1 / j! for j = 13 down to 2 (1 / 1! and 1 / 0! are the final two Horner steps' 1.0) */
#define MOE_EXP_C13 (1.0 / 6227020800.0)
#define MOE_EXP_C12 (1.0 / 479001600.0)
#define MOE_EXP_C11 (1.0 / 39916800.0)
#define MOE_EXP_C10 (1.0 / 3628800.0)
#define MOE_EXP_C9 (1.0 / 362880.0)
#define MOE_EXP_C8 (1.0 / 40320.0)
#define MOE_EXP_C7 (1.0 / 5040.0)
#define MOE_EXP_C6 (1.0 / 720.0)
#define MOE_EXP_C5 (1.0 / 120.0)
#define MOE_EXP_C4 (1.0 / 24.0)
#define MOE_EXP_C3 (1.0 / 6.0)
#define MOE_EXP_C2 0.5

#endif
