#!/bin/sh
# header.sh: the public header include/moe.h compiles on its own, first in a translation unit,
# as strict C11 with every warning an error (issue 2), and with -std=c99 -pedantic too.
# $CC comes from make check (AM_TESTS_ENVIRONMENT); Copyright (C) 2026 the moefit developers;
# GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"
: "${CC:=cc}"
printf '#include "moe.h"\nint main(void) { return moe_strerror(MOE_SUCCESS) == 0; }\n' \
  >"$TMPD/alone.c"
for std in "-std=c11" "-std=c99 -pedantic"; do
  # shellcheck disable=SC2086
  if $CC $std -Wall -Wextra -Werror -I"$top_srcdir/include" -c -o "$TMPD/alone.o" \
       "$TMPD/alone.c" 2>"$TMPD/err"; then
    ok "moe.h compiles alone with $std -Wall -Wextra -Werror"
  else
    not_ok "moe.h compiles alone with $std -Wall -Wextra -Werror"; sed 's/^/# /' "$TMPD/err"
  fi
done
tap_done
