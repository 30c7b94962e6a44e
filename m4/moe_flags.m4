# moe_flags.m4: MOE_CFLAG_IF_SUPPORTED(FLAG, ACTION-IF-YES) runs ACTION when the C compiler
# accepts FLAG (with warnings turned into errors, so that an unknown flag is caught).
AC_DEFUN([MOE_CFLAG_IF_SUPPORTED], [
  AC_MSG_CHECKING([whether $CC accepts $1])
  moe_cflag_save=$CFLAGS
  CFLAGS="$CFLAGS -Werror $1"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
    [AC_MSG_RESULT([yes]); CFLAGS=$moe_cflag_save; $2],
    [AC_MSG_RESULT([no]); CFLAGS=$moe_cflag_save])
])

# MOE_ISA_PROBE(NAME, FLAGS, BODY, ACTION-IF-YES) runs ACTION when a program whose main is BODY
# (using intrinsics of <immintrin.h>) compiles and links with FLAGS.
AC_DEFUN([MOE_ISA_PROBE], [
  AC_MSG_CHECKING([whether $CC builds $1 kernels with $2])
  moe_isa_save=$CFLAGS
  CFLAGS="$CFLAGS $2"
  AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <immintrin.h>]], [[$3]])],
    [AC_MSG_RESULT([yes]); CFLAGS=$moe_isa_save; $4],
    [AC_MSG_RESULT([no]); CFLAGS=$moe_isa_save])
])
