#!/bin/sh
# regen.sh: rewrites the golden fits (tests/golden/NAME.json) from tests/golden/CASES, on purpose.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# Never run by make check: a changed golden file is a reviewed change. Run it from the top of a
# built tree (after make check, which builds golden_compare), read the summary it prints of what
# changed, then review `git diff tests/golden/` before committing:
#   tests/golden/regen.sh            # or: MOEFIT=/path/to/moefit tests/golden/regen.sh
# Environment: MOEFIT (default ./moefit), GOLDEN_COMPARE (default
# ./tests/golden/golden_compare), top_srcdir (default: the folder above this script's).
here=$(cd "$(dirname "$0")" && pwd) || exit 1
: "${top_srcdir:=$(dirname "$(dirname "$here")")}"
: "${MOEFIT:=./moefit}"
: "${GOLDEN_COMPARE:=./tests/golden/golden_compare}"
for tool in "$MOEFIT" "$GOLDEN_COMPARE"; do
  [ -x "$tool" ] || { echo "regen.sh: $tool not found: build first (make check)" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moefit-regen.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
# the reference kernels: the golden fits do not depend on the machine's SIMD kernel set
MOE_ARCH=ref
export MOE_ARCH
status=0
while IFS='|' read -r name data args; do
  case $name in '#'* | '') continue ;; esac
  eval "set -- $args"
  if ! OMP_NUM_THREADS=2 "$MOEFIT" fit "$@" -q --json "$tmp/$name.json" \
       "$top_srcdir/datasets/$data" >/dev/null 2>"$tmp/err"; then
    echo "$name: moefit failed:" >&2; cat "$tmp/err" >&2; status=1; continue
  fi
  gold="$here/$name.json"
  if [ ! -f "$gold" ]; then
    echo "$name: new"
  elif "$GOLDEN_COMPARE" "$gold" "$tmp/$name.json" >"$tmp/diff" 2>&1; then
    if cmp -s "$gold" "$tmp/$name.json"; then echo "$name: unchanged"
    else echo "$name: within 1e-6 relative (rewritten: the digits changed)"; fi
  else
    echo "$name: CHANGED beyond 1e-6 relative:"; sed 's/^/  /' "$tmp/diff"
  fi
  cp "$tmp/$name.json" "$gold" || status=1
done <"$here/CASES"
exit $status
