#!/bin/sh
# cli_bootstrap.sh: `moefit --bootstrap B` (issue 13): bad B is a usage error (64) that writes
# nothing, the summary's bootstrap table and --json's boot_se beside se for every family, the
# JSON bit-identical for 1 and 3 threads, and failed refits counted and warned about.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# The library's checks of the numbers (agreement with the observed-information SEs on
# simulated data, the relabelling, the replicate data) are in tests/test_bootstrap.c.
. "$top_srcdir/tests/tap.sh"
D="$top_srcdir/datasets"

# ---- B must be a positive whole number; nothing is written when it is not
for b in 0 -1 x 1.5 ''; do
  run_status 64 "--bootstrap '$b' refused" fit -q -k 2 --bootstrap "$b" -o "$TMPD/bad.json" \
    "$D/faithful.csv"
  err_has "--bootstrap" "--bootstrap '$b': the message names the option"
done
check "no model file written for a bad B" test ! -e "$TMPD/bad.json"
run_status 64 "--bootstrap-search without --bootstrap refused" fit -q -k 2 --bootstrap-search \
  "$D/faithful.csv"
err_has "needs --bootstrap B" "--bootstrap-search: the message says it needs --bootstrap"
run_status 64 "--bootstrap with --tree refused" fit -q --tree 2x2 --bootstrap 5 "$D/mcycle.csv"
err_has "does not support --tree" "--tree: the message says trees are not supported"
run_status 64 "--bootstrap with --train gd refused" fit -q -k 2 --train gd --bootstrap 5 \
  "$D/faithful.csv"
err_has "refits by EM" "--train gd: the message says the bootstrap refits by EM"

# ---- Gaussian: the summary's table and the JSON, the same for 1 and 3 threads
OMP_NUM_THREADS=1 "$MOEFIT" fit -q -k 2 --no-lrt --bootstrap 20 --json "$TMPD/g1.json" \
  "$D/faithful.csv" >"$TMPD/g.out" 2>"$TMPD/err"
check "gaussian fit with --bootstrap 20 (exit $?)" test -s "$TMPD/g1.json"
OMP_NUM_THREADS=3 "$MOEFIT" fit -q -k 2 --no-lrt --bootstrap 20 --json "$TMPD/g3.json" \
  "$D/faithful.csv" >/dev/null 2>&1
check "--json bit-identical for 1 and 3 threads" cmp -s "$TMPD/g1.json" "$TMPD/g3.json"
check "the summary says 20 data sets were drawn and refitted" \
  grep -q "^Parametric bootstrap: 20 data sets drawn from the fit at the observed inputs" \
  "$TMPD/g.out"
check "the bootstrap table's header has Std. Error and Boot SE" \
  grep -qE "^ +Estimate +Std. Error +Boot SE +Boot/SE$" "$TMPD/g.out"
check "one row per coefficient: expert 1's slope" \
  grep -qE "^Expert 1: eruptions +[-0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$" "$TMPD/g.out"
check "one row per coefficient: expert 2's sigma" grep -qE "^Expert 2: sigma " "$TMPD/g.out"
check "one row per coefficient: the gate's slope" grep -qE "^Gate 1 vs 2: eruptions " "$TMPD/g.out"
v=$(jget "$TMPD/g1.json" 'bootstrap.replicates' 'experts[0].boot_se.eruptions' \
  'experts[1].sigma_boot_se' 'experts[0].se.eruptions' | tr '\n' ' ')
set -- $v
check "json: bootstrap.replicates 20 ($1)" test "$1" = 20
check "json: experts[0].boot_se.eruptions within a factor 2 of its se ($2 vs $4)" \
  awk -v b="$2" -v s="$4" 'BEGIN {exit !(b > s / 2 && b < 2 * s)}'
check "json: experts[1].sigma_boot_se is a number ($3)" near "$3" 0.3 1
check "json: the gate row has boot_se" grep -q '"boot_se"' "$TMPD/g1.json"
"$MOEFIT" fit -q -k 2 --no-lrt --json "$TMPD/plain.json" "$D/faithful.csv" >"$TMPD/plain.out" 2>&1
check "without --bootstrap: no boot_se in the JSON" sh -c "! grep -q boot_se '$TMPD/plain.json'"
check "without --bootstrap: no bootstrap table" sh -c "! grep -q 'Boot SE' '$TMPD/plain.out'"

# ---- every family: Poisson (patent) and logistic (betablocker, deaths out of Total)
run_status 0 "poisson with --bootstrap 10" fit -q -k 2 --no-lrt --family poisson -y Patents \
  --bootstrap 10 --json - "$D/patent.csv"
check "poisson: boot_se in the JSON" grep -q '"boot_se"' "$TMPD/out"
run_status 0 "logistic with --bootstrap 10" fit -q -k 2 --no-lrt --family logistic \
  --trials Total -y Deaths -x Treatment -z Treatment --bootstrap 10 --json - \
  "$D/betablocker.csv"
check "logistic: boot_se in the JSON" grep -q '"boot_se"' "$TMPD/out"
run_status 0 "--bootstrap-search on faithful" fit -q -k 2 --no-lrt --restarts 5 --bootstrap 5 \
  --bootstrap-search "$D/faithful.csv"
check "the summary says the refits used the global search" \
  grep -q "^by the global search (and from the fitted model)" "$TMPD/out"

# ---- failed refits are counted, said and left out: 13 rows of mcycle with K = 3
head -14 "$D/mcycle.csv" >"$TMPD/m.csv"
run_status 0 "13 rows, K = 3, --bootstrap 20" fit -q -k 3 --no-lrt --bootstrap 20 \
  --json "$TMPD/m.json" "$TMPD/m.csv"
set -- $(jget "$TMPD/m.json" 'bootstrap.used' 'bootstrap.failed' | tr '\n' ' ')
check "some refits failed ($2) and used + failed = 20 ($1 + $2)" \
  test "$2" -gt 0 -a $(($1 + $2)) -eq 20
check "the summary says how many failed" grep -q "; $1 used, $2 failed (left out)" "$TMPD/out"
check "and warns about them" grep -q "bootstrap: $2 of 20 refits failed" "$TMPD/out"
tap_done
