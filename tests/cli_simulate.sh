#!/bin/sh
# cli_simulate.sh: `moefit simulate`: the CSV it writes, seeds, --truth and --regimes, drawing
# again from the saved truth, and its use by predict.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# The sample, its regimes and its truth for seed 5 are compared with the stored files of
# tests/expected/ (tests/expected/README.md says how they were made and how to remake them).
. "$top_srcdir/tests/tap.sh"
E="$top_srcdir/tests/expected"

run_status 0 "simulate -k 3 -n 50 --seed 5" simulate -k 3 -n 50 --seed 5 \
  --truth "$TMPD/truth.json" --regimes "$TMPD/regimes.csv"
cp "$TMPD/out" "$TMPD/sim.csv"
check "the rows equal tests/expected/simulate_k3_n50_seed5.csv (1e-10 relative)" \
  same_numbers "$TMPD/sim.csv" "$E/simulate_k3_n50_seed5.csv"
check "--regimes equals tests/expected/simulate_k3_n50_seed5.regimes.csv byte for byte" \
  cmp "$TMPD/regimes.csv" "$E/simulate_k3_n50_seed5.regimes.csv"
check "--truth equals tests/expected/simulate_k3_n50_seed5.truth.json (1e-12 relative)" \
  same_json "$TMPD/truth.json" "$E/simulate_k3_n50_seed5.truth.json" 1e-12
check "header is x1,y" test "$(head -n 1 "$TMPD/sim.csv")" = "x1,y"
check "50 rows and the header" test "$(wc -l < "$TMPD/sim.csv")" -eq 51
check "every row has 2 numbers" \
  awk -F, 'NR > 1 && (NF != 2 || $1 !~ /^-?[0-9]/ || $2 !~ /^-?[0-9]/) { exit 1 }' "$TMPD/sim.csv"
check "nothing on stderr" test ! -s "$TMPD/err"

run_status 0 "the same seed again" simulate -k 3 -n 50 --seed 5
check "the same seed gives the stored rows again" \
  same_numbers "$TMPD/out" "$E/simulate_k3_n50_seed5.csv"
run_status 0 "another seed" simulate -k 3 -n 50 --seed 6
check "another seed gives other rows" sh -c "! cmp -s '$TMPD/out' '$TMPD/sim.csv'"
run_status 0 "defaults" simulate
check "default: 200 rows" test "$(wc -l < "$TMPD/out")" -eq 201

run_status 0 "simulate -o FILE" simulate -k 3 -n 50 --seed 5 -o "$TMPD/o.csv"
check "-o FILE holds the same rows" cmp -s "$TMPD/o.csv" "$TMPD/sim.csv"
check "-o FILE: nothing on stdout" test ! -s "$TMPD/out"

run_status 0 "simulate --inputs 2" simulate -k 2 -n 20 --inputs 2 --noise 0.5 --separation 6
check "--inputs 2: header x1,x2,y" test "$(head -n 1 "$TMPD/out")" = "x1,x2,y"
run_status 0 "simulate -k 1 -d 0" simulate -k 1 -d 0 -n 5
check "-d 0: only y" test "$(head -n 1 "$TMPD/out")" = "y"

# --regimes: row,regime with both 1-based.
check "--regimes: header row,regime" test "$(head -n 1 "$TMPD/regimes.csv")" = "row,regime"
check "--regimes: one line per row" test "$(wc -l < "$TMPD/regimes.csv")" -eq 51
check "--regimes: rows 1..50 in order, regimes in 1..3" awk -F, \
  'NR > 1 && ($1 != NR - 1 || $2 < 1 || $2 > 3 || $2 != int($2)) { exit 1 }' "$TMPD/regimes.csv"
check "--regimes: all 3 regimes occur" test \
  "$(tail -n +2 "$TMPD/regimes.csv" | cut -d, -f2 | sort -u | wc -l)" -eq 3

# --truth is a model file: predict uses it, and drawing from it again gives the same rows
# (the model reloads bit for bit and the data depend only on the model and the seed).
check "--truth wrote a model" grep -q '"moefit-model"' "$TMPD/truth.json"
run_status 0 "simulate --model truth.json" simulate --model "$TMPD/truth.json" -n 50 --seed 5
check "the saved truth draws the same rows" cmp -s "$TMPD/out" "$TMPD/sim.csv"
run_status 0 "predict with the truth" predict --posterior "$TMPD/truth.json" "$TMPD/sim.csv"
cp "$TMPD/out" "$TMPD/pred.csv"
# Well separated (4 noise SDs by default): the posterior's most responsible expert is the
# true regime for nearly every row. 45 of 50 is a loose bound on that.
tail -n +2 "$TMPD/pred.csv" \
  | awk -F, '{ b = 1; for (i = 2; i <= 3; i++) if ($(6 + i) > $(6 + b)) b = i; print b }' \
  > "$TMPD/best.txt"
agree=$(tail -n +2 "$TMPD/regimes.csv" | cut -d, -f2 | paste -d' ' "$TMPD/best.txt" - \
  | awk '$1 == $2 { n++ } END { print n + 0 }')
check "posterior finds the true regime of at least 45 of 50 rows (got $agree)" test "$agree" -ge 45

# Errors. Each runs in an empty folder $F with every output named there (-o, --truth,
# --regimes): a failure must leave $F empty (no output, no temporary .NAME.XXXXXX) and print
# nothing on stdout. The last case fails only after the sample and the truth are open (its
# --regimes folder does not exist), so their temporary files must be removed.
printf 'garbage\n' > "$TMPD/bad.json"
F="$TMPD/fail"
mkdir "$F" || exit 99
# fails WANT DESCRIPTION ARGS...: simulate ARGS with its outputs in $F, run in $F, fails.
fails() {
  want=$1; d=$2; shift 2
  (cd "$F" && "$MOEFIT" simulate "$@") >"$TMPD/out" 2>"$TMPD/err"; got=$?
  if [ "$got" -eq "$want" ]; then ok "$d (exit $got)"
  else not_ok "$d (exit $got, want $want)"; sed 's/^/# /' "$TMPD/err"; fi
  if [ -z "$(ls -A "$F")" ] && [ ! -s "$TMPD/out" ]; then ok "$d: nothing written"
  else not_ok "$d: left behind: $(ls -A "$F" | tr '\n' ' ')$(head -c 80 "$TMPD/out")"
    rm -rf "$F" && mkdir "$F"; fi
}
outs="-o sim.csv --truth truth.json --regimes regimes.csv"
# shellcheck disable=SC2086
{
fails 65 "--model with a corrupt file" --model "$TMPD/bad.json" $outs
fails 64 "-k 0" -k 0 $outs
fails 64 "--separation -1" --separation -1 $outs
fails 64 "-n x" -n x $outs
fails 64 "-k 1000 (the library's limit)" -k 1000 $outs
fails 64 "-k 0, no output named" -k 0
fails 64 "-n x, no output named" -n x
fails 73 "--regimes in a folder that does not exist" -k 3 -n 50 --seed 5 -o sim.csv \
  --truth truth.json --regimes "$TMPD/none/regimes.csv"
}

tap_done
