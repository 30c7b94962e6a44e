#!/bin/sh
# cli_spurious.sh: spurious experts, warnings that describe the fit shown (each printed once),
# and a default K range cut to what few rows allow (issue 13).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# Cases are the issue's own: the first 23 rows of mcycle (head -24 with the header), where the
# criterion alone picks K = 4 with two experts at the variance floor (SD 0.0027 = sqrt(1e-6)
# SD(y) on tied values), and the tutorial's K = 3 fit of sim_2inputs, which keeps a 12-row
# expert (SD 0.024 where the true noise is 0.4). Numbers are read from --json.
. "$top_srcdir/tests/tap.sh"
D="$top_srcdir/datasets"
head -24 "$D/mcycle.csv" >"$TMPD/s.csv"
head -21 "$D/mcycle.csv" >"$TMPD/small.csv"

# ---- the criterion's K has experts at the floor: another K is reported, and it is said
run_status 0 "head -24 mcycle.csv: the default fit" fit --json "$TMPD/s.json" "$TMPD/s.csv"
cp "$TMPD/out" "$TMPD/s.out"
# The K the criterion alone picks: K = 4 when the issue was filed; the global search (issue 13
# part A) finds sharper spikes, and BIC then prefers K = 3 (BIC -7.04 against K = 4's -4.33 on
# this build). Which K it is does not matter here, only that it has an expert at the floor and
# is not the one reported. kb: the K of the lowest BIC in the JSON's selection table.
kb=$(for j in 0 1 2 3 4; do
  printf '%s %s\n' "$(jget "$TMPD/s.json" "selection[$j].bic")" "$(jget "$TMPD/s.json" "selection[$j].k")"
done | sort -g | head -n 1 | cut -d' ' -f2)
check "the criterion's K ($kb) is not 1" test "$kb" -gt 1
check "the summary lists K = $kb's spurious experts, one at the variance floor (SD 0.00271)" \
  grep -q "K = $kb: [0-9]* spurious experts (.*at the variance floor (SD 0.00271)" \
  "$TMPD/s.out"
check "the summary says K = $kb had the best criterion but is not the one reported" \
  grep -q "K = $kb has the best criterion but spurious experts; K = 1 is the best K without them" \
  "$TMPD/s.out"
check "the selection table marks K = 4" \
  grep -q "^   4 .*(4 spurious experts)\$" "$TMPD/s.out"
check "--json: the reported fit has no spurious expert" test "$(jget "$TMPD/s.json" spurious)" = 0
check "--json: K = 4's row counts 4 spurious experts" \
  test "$(jget "$TMPD/s.json" 'selection[3].spurious')" = 4
check "--json: the reported K is not K = $kb" test "$(jget "$TMPD/s.json" k)" != "$kb"
# warnings describe the chosen fit: a handful of lines, where the starts of K = 2..5 gave 93
nw=$(sed -n '/^Warnings:/,$p' "$TMPD/s.out" | grep -c '^  ')
check "a few warnings, not one per start ($nw)" test "$nw" -ge 2 -a "$nw" -le 6
check "no warning names a single start of another K" \
  sh -c "! grep -q '^  K = [0-9]*, start [0-9]*:' '$TMPD/s.out'"
check "stdout not a terminal: each warning printed once (none repeated on stderr)" \
  sh -c "! grep -q 'spurious' '$TMPD/err'"
run_status 0 "--keep-spurious: the criterion alone" fit --keep-spurious --json "$TMPD/keep.json" \
  "$TMPD/s.csv"
check "--keep-spurious: K = $kb" test "$(jget "$TMPD/keep.json" k)" = "$kb"
check "--keep-spurious: its spurious experts are still warned about" \
  grep -q "^  K = $kb: [0-9]* spurious experts" "$TMPD/out"
run_status 0 "--json -: no summary" fit --json - "$TMPD/s.csv"
n1=$(grep -c 'spurious experts (' "$TMPD/err")
check "--json -: the warnings go to stderr, once each ($n1)" test "$n1" = 1

# ---- too few effective rows: the tutorial's 12-row expert. One start ends on it (-260.07),
# and with nothing else to choose from the fit keeps it and says so.
run_status 0 "sim_2inputs -k 3 --restarts 1" fit -k 3 --restarts 1 --json "$TMPD/sim1.json" \
  "$D/sim_2inputs.csv"
check "sim_2inputs -k 3, one start: one spurious expert" \
  test "$(jget "$TMPD/sim1.json" spurious)" = 1
check "sim_2inputs -k 3, one start: it is the one on about 12 effective rows (fewer than 5 x 4)" \
  grep -q "expert [0-9] on 1[0-9.]* effective rows, fewer than 5 per each of its 4 parameters" \
  "$TMPD/out"
# The default search sets such runs aside while a run without spurious experts exists (the
# highest of those: -269.56 on this build, below the spurious -260.07) and says how many.
run_status 0 "sim_2inputs -k 3" fit -k 3 --json "$TMPD/sim.json" "$D/sim_2inputs.csv"
check "sim_2inputs -k 3: the search's fit has no spurious expert" \
  test "$(jget "$TMPD/sim.json" spurious)" = 0
check "sim_2inputs -k 3: below the spurious maximum" \
  awk -v a="$(jget "$TMPD/sim.json" loglik)" -v b="$(jget "$TMPD/sim1.json" loglik)" \
  'BEGIN { exit !(a < b - 1) }'
check "sim_2inputs -k 3: the summary counts the runs set aside" \
  grep -q "higher runs\{0,1\} set aside for spurious experts" "$TMPD/out"
check "sim_2inputs -k 3: so does the JSON" \
  awk -v a="$(jget "$TMPD/sim.json" search.set_aside_spurious)" 'BEGIN { exit !(a >= 1) }'
run_status 0 "sim_2inputs -k 3 --min-rows 2" fit -k 3 --min-rows 2 --json "$TMPD/sim2.json" \
  "$D/sim_2inputs.csv"
check "--min-rows 2: 12 rows for 4 parameters are enough" \
  test "$(jget "$TMPD/sim2.json" spurious)" = 0
check "--min-rows 2: so the search keeps the higher maximum with the 12-row expert" \
  awk -v a="$(jget "$TMPD/sim2.json" loglik)" -v b="$(jget "$TMPD/sim1.json" loglik)" \
  'BEGIN { d = a - b; exit !(d < 1e-3 && d > -1e-3) }'

run_status 64 "--min-rows -1 is a usage error" fit --min-rows -1 "$D/sim_2inputs.csv"
err_has "min_rows must be a finite number >= 0" "--min-rows -1: says why"
run_status 0 "sim_2inputs default range" fit --json "$TMPD/simr.json" "$D/sim_2inputs.csv"
check "sim_2inputs default: K = 2 (the truth), without spurious experts" \
  test "$(jget "$TMPD/simr.json" k) $(jget "$TMPD/simr.json" spurious)" = "2 0"

# ---- 20 rows and the default -k 1:5: K = 5 needs 23 parameters, so it is skipped and said
run_status 0 "20 rows, default -k 1:5" fit --json "$TMPD/small.json" "$TMPD/small.csv"
check "20 rows: K = 5 skipped, and why" grep -q \
  "K = 5 skipped: K = 5 experts need 23 free parameters but the data have only 20 rows" \
  "$TMPD/out"
check "20 rows: K = 1..4 in the selection" test "$(jget "$TMPD/small.json" selection)" = "[4]"
run_status 65 "20 rows, -k 5 alone is still an error" fit -k 5 "$TMPD/small.csv"
err_has "K = 5 experts need 23 free parameters but the data have only 20 rows" "-k 5: says why"
run_status 65 "20 rows, -k 5:6 is an error (even the smallest K is too large)" fit -k 5:6 \
  "$TMPD/small.csv"

# ---- --along is checked before the fit: with -v the fit would print progress lines first
run_status 65 "--along nosuch fails" fit -v --plot "$TMPD/plots" --along nosuch "$D/mcycle.csv"
err_has "--along nosuch: not an input of the model (times)" "--along nosuch: the inputs listed"
check "--along nosuch: said before the fit (no progress line)" \
  sh -c "! grep -q 'restart' '$TMPD/err'"
check "--along nosuch: no plot folder made" test ! -e "$TMPD/plots"

# ---- weights that stand for fewer observations than the parameters: a data error
awk -F, 'NR == 1 { print $0 ",w"; next } { print $0 ",1e-300" }' "$D/faithful.csv" \
  >"$TMPD/w.csv"
run_status 65 "weights of 1e-300: a data error" fit -k 1 --weights w -y waiting -x eruptions \
  "$TMPD/w.csv"
err_has "the weights sum to 2.72e-298, fewer observations than the 3 free parameters" \
  "weights of 1e-300: says why"

# ---- progress (-v, as stderr is not a terminal here): which K of the range, the best
# log-likelihood of the K so far, time spent and left; nothing without -v (tests stay quiet)
run_status 0 "-v -k 2:3: progress" fit -v -k 2:3 --restarts 2 "$D/mcycle.csv"
err_has "K=2 restart 1/2: iteration" "-v: the start"
check "-v: which K of the range" grep -q "| K 3 of 2..3, best -5[0-9.]*, [0-9.]*s elapsed" \
  "$TMPD/err"
check "-v: an estimate of the time left before the last start" \
  grep -q "K=2 restart 1/2: .*, about [0-9]*s left\$" "$TMPD/err"
check "-v: the last start has no time left" grep -q "K=3 restart 2/2: .*s elapsed\$" "$TMPD/err"
best=$(sed -n 's/.*K=3 restart 2\/2: .*, best \(-[0-9.]*\),.*/\1/p' "$TMPD/err")
last=$(sed -n 's/.*K=3 restart [12]\/2: iteration [0-9]*, logLik \(-[0-9.]*\) .*/\1/p' \
  "$TMPD/err" | sort -g | tail -1)
check "-v: the best is the largest final log-likelihood of K = 3's starts ($best, $last)" \
  test "$best" = "$last"
run_status 0 "no -v: quiet" fit -k 2:3 --restarts 2 "$D/mcycle.csv"
check "no -v, stderr not a terminal: no progress" sh -c "! grep -q 'restart' '$TMPD/err'"

# ---- the model file records the rows and input ranges fitted; predict warns outside them
run_status 0 "fit -o model.json" fit -k 2 -q -o "$TMPD/m.json" "$D/mcycle.csv"
check "the model records n = 133" test "$(jget "$TMPD/m.json" ranges.n)" = 133
check "the model records the range of times (2.4 .. 57.6)" \
  test "$(jget "$TMPD/m.json" 'ranges.inputs.min[0]') $(jget "$TMPD/m.json" \
  'ranges.inputs.max[0]')" = "2.3999999999999999 57.600000000000001"
printf 'times\n1\n30\n70\n' >"$TMPD/new.csv"
run_status 0 "predict outside the fitted range" predict -q "$TMPD/m.json" "$TMPD/new.csv"
err_has "2 of 3 rows have inputs outside the range the model was fitted on (first: row 1: times = 1 outside [2.4, 57.6])" \
  "predict: the rows outside the range are counted, the first named"
run_status 0 "predict inside the range" predict "$TMPD/m.json" "$D/mcycle.csv"
check "predict inside the range: no warning" sh -c "! grep -q outside '$TMPD/err'"
sed 's/"ranges": {/"description": "no ranges", "old_ranges": {/' "$TMPD/m.json" >"$TMPD/bad.json"
run_status 65 "an unknown key is still rejected" predict "$TMPD/bad.json" "$TMPD/new.csv"
awk '/"ranges": {/ { skip = 1 } skip && /^  },?$/ { skip = 0; next } !skip' "$TMPD/m.json" \
  >"$TMPD/old.json"
run_status 0 "a model file without ranges (older files) loads" predict "$TMPD/old.json" \
  "$TMPD/new.csv"
check "without ranges: no range warning" sh -c "! grep -q outside '$TMPD/err'"
awk '/"max": \[/ { f = 1 } f && /57.6/ { sub(/57.600000000000001/, "1"); f = 0 } 1' \
  "$TMPD/m.json" >"$TMPD/minmax.json"
run_status 65 "ranges with min > max are rejected" predict "$TMPD/minmax.json" "$TMPD/new.csv"
err_has "ranges.inputs: min must not exceed max" "min > max: the field named"
cut -d, -f2 "$D/mcycle.csv" >"$TMPD/noinput.csv"
run_status 65 "predict rejects data without the model's input column" predict "$TMPD/m.json" \
  "$TMPD/noinput.csv"
err_has "no column 'times', the model's input" "the missing column named"
tap_done
