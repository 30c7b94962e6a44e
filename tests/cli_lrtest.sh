#!/bin/sh
# cli_lrtest.sh: `moefit lrtest` on nested saved fits of faithful (waiting ~ eruptions, K = 2):
# the gate on eruptions against a constant gate gives the statistic the fit's own gate test
# gives (the same two maxima, refitted by the same search), the models' order does not
# matter, and models that are not nested are refused (exit 64) with the reason.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"

D="$top_srcdir/datasets"
"$MOEFIT" fit -q -y waiting -x eruptions -k 2 -o "$TMPD/full.json" --json "$TMPD/full.out" \
  "$D/faithful.csv" >/dev/null 2>&1
"$MOEFIT" fit -q -y waiting -x eruptions -z '' -k 2 -o "$TMPD/const.json" "$D/faithful.csv" \
  >/dev/null 2>&1
"$MOEFIT" fit -q -y waiting -x eruptions -k 3 -o "$TMPD/k3.json" "$D/faithful.csv" \
  >/dev/null 2>&1
"$MOEFIT" fit -q -y eruptions -x waiting -k 2 -o "$TMPD/swap.json" "$D/faithful.csv" \
  >/dev/null 2>&1

run_status 0 "nested models" lrtest "$TMPD/full.json" "$TMPD/const.json" "$D/faithful.csv"
cp "$TMPD/out" "$TMPD/ab"
check "the bigger model is the one with the gate on eruptions" grep -q "bigger:  .*full.json" \
  "$TMPD/ab"
# the fit's own gate test (gate_lrt in its JSON) against a constant gate
want=$(awk '/"gate_lrt"/ {on = 1} on && /"statistic"/ {gsub(/[,]/, ""); print $2; exit}' \
  "$TMPD/full.out")
got=$(awk '/^LR statistic:/ {print $3}' "$TMPD/ab")
check "statistic $got on 1 df equals the fit's gate test ($want)" awk -v a="$got" -v b="$want" \
  'BEGIN {d = a - b; exit !(a > 0 && d * d < 1e-6 && 1)}'
check "1 df and p about 3.47e-07" grep -qE "on 1 df, Pr\(>Chisq\) = 3\.4[67]e-07" "$TMPD/ab"
run_status 0 "the other order" lrtest "$TMPD/const.json" "$TMPD/full.json" "$D/faithful.csv"
check "either order gives the same test" test "$(grep '^LR' "$TMPD/out")" = \
  "$(grep '^LR' "$TMPD/ab")"

run_status 64 "different K refused" lrtest "$TMPD/full.json" "$TMPD/k3.json" "$D/faithful.csv"
err_has "numbers of experts differ" "different K: the message says why"
run_status 64 "different responses refused" lrtest "$TMPD/full.json" "$TMPD/swap.json" \
  "$D/faithful.csv"
err_has "responses differ" "different responses: the message says why"
run_status 64 "a model against itself refused" lrtest "$TMPD/full.json" "$TMPD/full.json" \
  "$D/faithful.csv"
err_has "same number of free parameters" "itself: the message says why"
run_status 64 "two operands: usage error" lrtest "$TMPD/full.json" "$D/faithful.csv"
err_has "expected A.json B.json DATA.csv" "two operands: the message says what is expected"
run_status 65 "data without the models' columns: data error" lrtest "$TMPD/full.json" \
  "$TMPD/const.json" "$D/mcycle.csv"
tap_done
