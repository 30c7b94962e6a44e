#!/bin/sh
# symbols.sh: libmoe.so exports exactly the functions declared in include/moe.h (no internal
# moe_em_*, moe_estep, ...), as listed in src/libmoe.sym.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
so="$top_builddir/.libs/libmoe.so"
if [ ! -f "$so" ] || ! command -v nm >/dev/null 2>&1; then
  echo "1..0 # SKIP no shared library or no nm"
  exit 0
fi
echo "1..3"
declared=$(grep -oE '\bmoe_[a-z_0-9]+[[:space:]]*\(' "$top_srcdir/include/moe.h" | tr -d '( ' | sort -u)
listed=$(sort -u "$top_srcdir/src/libmoe.sym")
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TtWDBR]$/ {print $3}' | grep -v '^_' | sort -u)
n=0
check() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
[ "$declared" = "$listed" ]; check $? "src/libmoe.sym lists exactly the functions of moe.h"
[ "$exported" = "$declared" ]
check $? "libmoe.so exports exactly those (extra: $(echo "$exported" | grep -vxF "$declared" | head -5 | tr '\n' ' '))"
echo "$exported" | grep -q '^moe_em_alloc$'; [ $? -ne 0 ]; check $? "internal moe_em_alloc is hidden"
