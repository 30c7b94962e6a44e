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
