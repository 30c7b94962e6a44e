#!/bin/sh
# man_pages.sh: the manual pages render without groff warnings, every option that a command's
# --help lists is documented in moefit(1), and every function of include/moe.h in moe(3).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"
M="$top_srcdir/man"
for page in moefit.1 moe.3 moefit-tutorial.7; do
  if command -v groff >/dev/null 2>&1; then
    groff -man -Tutf8 -ww -z "$M/$page" >"$TMPD/groff.err" 2>&1
    if [ ! -s "$TMPD/groff.err" ]; then ok "$page renders without groff warnings"; else
      not_ok "$page renders without groff warnings"; sed 's/^/# /' "$TMPD/groff.err"; fi
  else
    ok "$page groff check # SKIP groff not installed"
  fi
done

# Options: in roff a dash is written \-, so --tol appears as \-\-tol.
for cmd in fit predict simulate plot; do
  "$MOEFIT" "$cmd" --help >"$TMPD/help" 2>&1
  opts=$(grep -oE -- '--[a-z][a-z-]*' "$TMPD/help" | sort -u)
  missing=""
  for o in $opts; do
    roff=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
    grep -q -- "$roff" "$M/moefit.1" || missing="$missing $o"
  done
  check "moefit $cmd: every --help option is in moefit.1 (missing:${missing:- none})" \
    test -z "$missing"
  check "moefit $cmd --help lists options" test -n "$opts"
done

# Library: every function the public header declares.
funcs=$(grep -oE '\bmoe_[a-z0-9_]+\(' "$top_srcdir/include/moe.h" | tr -d '(' | sort -u)
missing=""
for f in $funcs; do
  grep -q -- "$(printf '%s' "$f" | sed 's/_/\\\\*_/g')" "$M/moe.3" || missing="$missing $f"
done
check "every function of moe.h is in moe.3 (missing:${missing:- none})" test -z "$missing"
tap_done
