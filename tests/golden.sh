#!/bin/sh
# golden.sh: refits the golden fits of tests/golden/CASES and compares every number of the
# JSON with the committed tests/golden/NAME.json to 1e-6 relative (tests/golden/golden_compare.c
# says the rule). A difference is a test failure naming the field; regenerating the golden files
# is a deliberate, reviewed step (tests/golden/regen.sh), never done here.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"
G="$top_srcdir/tests/golden"
CMP="$top_builddir/tests/golden/golden_compare"
[ -x "$CMP" ] || { echo "1..0 # SKIP $CMP is not built (make check builds it)"; exit 0; }

n=0
while IFS='|' read -r name data args; do
  case $name in '#'* | '') continue ;; esac
  n=$((n + 1))
  eval "set -- $args"
  run_status 0 "$name: moefit fit $args" fit "$@" -q --json "$TMPD/$name.json" \
    "$top_srcdir/datasets/$data"
  if [ ! -f "$G/$name.json" ]; then
    not_ok "$name: no golden file $name.json (run tests/golden/regen.sh and review it)"
    continue
  fi
  "$CMP" "$G/$name.json" "$TMPD/$name.json" >"$TMPD/diff" 2>&1
  rc=$?
  summary=$(tail -n 1 "$TMPD/diff" | sed 's/^# //')
  if [ "$rc" -eq 0 ]; then ok "$name: equals the golden fit to 1e-6 ($summary)"
  else not_ok "$name: differs from tests/golden/$name.json"; sed 's/^/# /' "$TMPD/diff"; fi
done <"$G/CASES"
check "CASES lists the 4 golden fits (got $n)" test "$n" -ge 4

# The comparer itself: a planted change of 1e-5 relative, a missing, an extra, a null and a
# non-finite value must each fail and name the field; a change of 1e-7 relative must pass.
gold="$G/mcycle_k3.json"
# plant SED-SCRIPT: the golden file of mcycle K = 3 edited by SED-SCRIPT, into $TMPD/plant.json.
plant() { sed "$1" "$gold" >"$TMPD/plant.json"; }
# plant_fails WHAT FIELD: the comparer rejects the planted file and names FIELD.
plant_fails() {
  "$CMP" "$gold" "$TMPD/plant.json" >"$TMPD/diff" 2>&1
  rc=$?
  if [ "$rc" -ne 0 ] && grep -qF -- "$2" "$TMPD/diff"; then ok "comparer: $1 fails, names $2"
  else not_ok "comparer: $1 (exit $rc)"; sed 's/^/# /' "$TMPD/diff"; fi
}
bic=$(sed -n 's/^  "bic": \(.*\),$/\1/p' "$gold")
check "mcycle_k3.json has a BIC ($bic)" test -n "$bic"
plant "s/^  \"bic\": .*/  \"bic\": $(awk -v b="$bic" 'BEGIN {printf "%.17g", b * (1 + 1e-5)}'),/"
plant_fails "BIC 1e-5 relative larger" "bic: fit"
"$CMP" "$TMPD/plant.json" "$gold" >"$TMPD/diff" 2>&1
check "comparer: and the other way round" test $? -ne 0
plant "s/^  \"bic\": .*/  \"bic\": $(awk -v b="$bic" 'BEGIN {printf "%.17g", b * (1 - 1e-7)}'),/"
check "comparer: BIC 1e-7 relative smaller passes" "$CMP" "$gold" "$TMPD/plant.json"
plant '/"icl":/d'
plant_fails "ICL missing" "icl: missing"
plant 's/^  "n": 133,/  "n": 133, "extra": 1,/'
plant_fails "an extra key" "extra: extra"
plant '0,/"sigma_se": [^,]*,/s//"sigma_se": null,/'
plant_fails "a null SE" "experts[0].sigma_se: fit gives null"
plant '0,/"sigma": [^,]*,/s//"sigma": NaN,/'
"$CMP" "$gold" "$TMPD/plant.json" >"$TMPD/diff" 2>&1
rc=$?
check "comparer: NaN (not JSON) is an error (exit $rc)" test "$rc" -eq 99
plant '0,/"times": [-0-9.e]*/s//"times": 1e999/'
"$CMP" "$gold" "$TMPD/plant.json" >"$TMPD/diff" 2>&1
rc=$?
check "comparer: an infinite value is an error (exit $rc)" test "$rc" -eq 99
plant '0,/"size": 24$/s//"size": 25/'
plant_fails "a row count off by one" "experts[0].size"
plant 's/"separated": false/"separated": true/'
plant_fails "separated flipped" "separated: fit true"
tap_done
