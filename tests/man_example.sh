#!/bin/sh
# man_example.sh: the C example of moe(3) (its EXAMPLES section) compiles against the built
# library with strict warnings and runs on the motorcycle data, so the example cannot rot.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"
: "${CC:=cc}"
# The first .EX/.EE block after .SH EXAMPLES, with the roff escapes undone.
awk '/^\.SH EXAMPLES/ {ex = 1} ex && /^\.EX/ {on = 1; next} on && /^\.EE/ {exit}
     on {print}' "$top_srcdir/man/moe.3" |
  sed -e 's/\\e/\\/g' -e 's/\\-/-/g' -e 's/\\&//g' >"$TMPD/example.c"
check "the example was extracted from moe.3" grep -q "moe_fit_run" "$TMPD/example.c"
# BUILD_CFLAGS and BUILD_LDFLAGS are the build's own (a sanitizer build needs them here too).
# shellcheck disable=SC2086
if (cd "$TMPD" && "$top_builddir/libtool" --mode=link --quiet $CC $BUILD_CFLAGS -std=c11 \
      -Wall -Wextra -Werror -I"$top_srcdir/include" $BUILD_LDFLAGS -o example example.c \
      "$top_builddir/libmoe.la") \
      >"$TMPD/err" 2>&1; then
  ok "the example compiles with -std=c11 -Wall -Wextra -Werror"
else
  not_ok "the example compiles with -std=c11 -Wall -Wextra -Werror"; sed 's/^/# /' "$TMPD/err"
fi
"$top_builddir/libtool" --mode=execute "$TMPD/example" "$top_srcdir/datasets/mcycle.csv" \
  >"$TMPD/out" 2>"$TMPD/err"
check "the example runs and exits 0" test $? -eq 0
check "it prints the summary" grep -q "^Log-likelihood:" "$TMPD/out"
check "and the prediction for row 1" grep -q "^row 1: mean .*, sd .*, expert [1-9]" "$TMPD/out"
tap_done
