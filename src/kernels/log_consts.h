/* log_consts.h: the constants of the vector logarithm shared by the ISA kernel files.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * fdlibm's reduction and polynomial (e_log.c, as in every libm since): x = 2^k m with m in
 * [sqrt(2)/2, sqrt(2)), f = m - 1, s = f / (2 + f); log(1 + f) = f - (f^2/2 - s (f^2/2 + R))
 * with R(s^2) an even polynomial of degree 14 whose error is below 2^-58.45; log x =
 * k LN2_HI - ((f^2/2 - (s (f^2/2 + R) + k LN2_LO)) - f), k LN2_HI exact for |k| < 2^21.
 * Under 1 ulp in fdlibm's analysis; tests/test_kernels.c measures it against libm. The fast
 * path is for positive normal finite x; 0, negatives, subnormals, inf and NaN take libm. */
#ifndef MOE_KERNELS_LOG_CONSTS_H
#define MOE_KERNELS_LOG_CONSTS_H

#define MOE_LOG_LG1 6.666666666666735130e-01
#define MOE_LOG_LG2 3.999999999940941908e-01
#define MOE_LOG_LG3 2.857142874366239149e-01
#define MOE_LOG_LG4 2.222219843214978396e-01
#define MOE_LOG_LG5 1.818357216161805012e-01
#define MOE_LOG_LG6 1.531383769920937332e-01
#define MOE_LOG_LG7 1.479819860511658591e-01
#define MOE_LOG_LN2_HI 6.93147180369123816490e-01
#define MOE_LOG_LN2_LO 1.90821492927058770002e-10
#define MOE_LOG_SQRT2 1.41421356237309504880

#endif
