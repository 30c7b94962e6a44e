#!/bin/sh
# cli_usage.sh: moefit's help and version texts, usage errors (exit 64), a missing input
# (exit 66) and an unwritable output (exit 73, no file left behind).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"
DATA="$top_srcdir/datasets/mcycle.csv"

# ---- help and version
run_status 0 "--help" --help
check "--help lists the commands" grep -q "^  simulate" "$TMPD/out"
check "--help names the exit statuses" grep -q "64 usage error" "$TMPD/out"
run_status 0 "help" help
run_status 0 "help fit" help fit
check "help fit shows fit's usage" grep -q "^Usage: moefit \[fit\]" "$TMPD/out"
for cmd in fit predict simulate plot; do
  run_status 0 "$cmd --help" $cmd --help
  check "$cmd --help starts with its usage" \
    grep -q "^Usage: moefit .*$cmd\|^Usage: moefit \[fit\]" "$TMPD/out"
  check "$cmd --help fits in 100 columns" awk 'length > 100 { exit 1 }' "$TMPD/out"
done
run_status 0 "fit -h" fit -h
run_status 0 "--version" --version
check "--version names moefit and its version" grep -q "^moefit [0-9][0-9.]*$" "$TMPD/out"
check "--version names libmoe" grep -q "^libmoe [0-9]" "$TMPD/out"
run_status 0 "-V" -V

# ---- usage errors: 64, a message naming the problem, nothing on stdout
usage() {
  msg=$1; shift
  run_status 64 "usage: moefit $*" "$@"
  err_has "$msg" "usage: moefit $* says '$msg'"
  if [ -s "$TMPD/out" ]; then not_ok "usage: moefit $*: nothing on stdout"; else
    ok "usage: moefit $*: nothing on stdout"; fi
}
usage "no data file given"
usage "unknown command 'frobnicate'" frobnicate
usage "unknown option '--frobnicate'" --frobnicate "$DATA"
usage "unknown option '-Q'" -Q "$DATA"
usage "unknown option '--bogus'" predict --bogus m.json d.csv
usage "option '-k' needs a value" "$DATA" -k
usage "option '--seed' needs a value" "$DATA" --seed
usage "option '--no-se' takes no value" --no-se=3 "$DATA"
usage "-k needs K or A:B (whole numbers), not 'x'" -k x "$DATA"
usage "-k needs K or A:B (whole numbers), not '-2'" -k -2 "$DATA"
usage "-k needs at least 1 expert" -k 0 "$DATA"
usage "-k A:B needs A <= B" -k 5:2 "$DATA"
usage "-k needs K or A:B" -k 2: "$DATA"
usage "-k needs K or A:B" -k :3 "$DATA"
usage "-k needs K or A:B (whole numbers), not '2.5'" -k 2.5 "$DATA"
usage "-k needs K or A:B (whole numbers), not '1:2:3'" -k 1:2:3 "$DATA"
usage "--criterion must be aic, bic or icl, not 'hqc'" --criterion hqc "$DATA"
usage "--init must be kmeans, random or mixed" --init best "$DATA"
usage "--accel must be squarem, none or auto (not 'fast')" --accel fast "$DATA"
usage "--restarts needs a non-negative integer" --restarts many "$DATA"
usage "--tol needs a finite number, not 'inf'" --tol inf "$DATA"
usage "--tol needs a finite number, not '1e-8x'" --tol 1e-8x "$DATA"
usage "--max-iter needs a non-negative integer" --max-iter 1.5 "$DATA"
usage "--sep must be ',', ';' or 'tab', not '|'" --sep "|" "$DATA"
usage "--na must be 'fail' or 'omit', not 'drop'" --na drop "$DATA"
usage "--format must be 'png', 'svg' or 'pdf', not 'gif'" --plot "$TMPD/p" --format gif "$DATA"
usage "--format and --along need --plot DIR" --format svg "$DATA"
usage "one data file at a time" "$DATA" "$DATA"
usage "--json and --output cannot both be standard output" --json - -o - "$DATA"
usage "help takes at most one command" help fit predict
usage "unknown command 'fitt'" help fitt
# Options the library rejects (moe_fit_options_check) are usage errors too, found before
# the data are read: the data file here does not exist, yet the answer is 64, not 66.
run_status 64 "fit --tol -1 is checked before reading" --tol -1 "$TMPD/no-such.csv"
run_status 64 "fit --min-prior 2 is checked before reading" --min-prior 2 "$TMPD/no-such.csv"
run_status 64 "fit --restarts 0 is checked before reading" --restarts 0 "$TMPD/no-such.csv"
usage "needs a model file and a data file" predict m.json
usage "too many arguments" predict a b c
usage "needs -o DIR" plot m.json d.csv
usage "takes no file arguments" simulate extra
usage "-n needs at least 1 row" simulate -n 0
usage "--noise must be > 0" simulate --noise 0
usage "--model cannot be combined" simulate --model m.json -k 3
usage "two outputs go to the same place" simulate -o "$TMPD/a.csv" --truth "$TMPD/a.csv"

# ---- long options are spelled in full (cli_getopt): an abbreviation, a typo or an unknown
# name is a usage error that names it and the options that come close, in every command.
# getopt_long alone would take --expert for --experts, and --expert logistic would fail on K.
usage "unknown option '--expert'; did you mean --experts?" --expert 2 "$DATA"
usage "unknown option '--expert'; did you mean --experts?" --expert logistic "$DATA"
usage "unknown option '--expert'; did you mean --experts?" "$DATA" --expert=2
usage "unknown option '--exp'; did you mean --experts?" "$DATA" --exp
usage "unknown option '--critrion'; did you mean --criterion?" --critrion aic "$DATA"
usage "unknown option '--seeds'; did you mean --seed?" --seeds 3 "$DATA"
usage "unknown option '--gateridge'; did you mean --gate-ridge?" --gateridge 1 "$DATA"
usage "--gate-steps must be at least 1, or auto (not '0')" --gate-steps 0 "$DATA"
usage "--gate-steps needs a non-negative integer, not 'many'" --gate-steps many "$DATA"
usage "--search-rows must be at least 100, all or auto (not '99')" --search-rows 99 "$DATA"
usage "--search-rows needs a non-negative integer, not 'some'" --search-rows some "$DATA"
usage "unknown option '--se'; did you mean --seed, --search-rows or --sep?" --se 3 "$DATA"
usage "unknown option '--no-s'; did you mean --no-se?" --no-s=3 "$DATA"
usage "unknown option '--hel'; did you mean --help?" fit --hel
usage "unknown option '--versoin'; did you mean --version?" --versoin
usage "unknown option '--post'; did you mean --posterior?" predict --post m.json d.csv
usage "unknown option '--row'; did you mean --rows?" simulate --row 5
usage "unknown option '--mod'; did you mean --model?" simulate --mod m.json
usage "unknown option '--form'; did you mean --format?" plot --form svg m.json d.csv -o "$TMPD/p"
usage "unknown option '--frobnicate'" predict --frobnicate m.json d.csv
check "nothing close to --frobnicate: no suggestion" \
  sh -c '! grep -q "did you mean" "$1"' sh "$TMPD/err"
# fit has no --version (only the tool's first argument): no suggestion of it there.
usage "unknown option '--versoin'" fit --versoin
check "fit --versoin: no suggestion" sh -c '! grep -q "did you mean" "$1"' sh "$TMPD/err"
# A short option's error in a cluster is not blamed on the long option before it.
usage "unknown option '-Q'" --no-se -Qk 2 "$DATA"
# Options in full still work in each command, in both forms, after the operands too, and a
# value that looks like an option is a value; '--' still ends the options.
run_status 0 "fit: --experts=1 --restarts 1 after the data file" \
  "$DATA" --experts=1 --restarts 1 --quiet --output="$TMPD/m1.json"
run_status 0 "predict: --posterior --output=FILE" \
  predict --posterior --output="$TMPD/p1.csv" "$TMPD/m1.json" "$DATA"
run_status 0 "simulate: --rows 5 --seed=3" simulate --rows 5 --seed=3 --output "$TMPD/s1.csv"
(cd "$TMPD" && "$MOEFIT" simulate --rows 5 --output --expert) >/dev/null 2>&1
check "simulate --output --expert writes the file '--expert'" test -s "$TMPD/--expert"
run_status 66 "plot: --format=svg --along x reach the missing model" \
  plot --format=svg --along x "$TMPD/no-such.json" "$DATA" -o "$TMPD/p"
run_status 0 "fit: '--' ends the options" -k 1 --restarts 1 -q -- "$DATA"
run_status 64 "simulate: '--' ends the options" simulate -n 3 -- --expert
err_has "takes no file arguments ('--expert')" "simulate: after '--', --expert is an operand"

# ---- inputs that cannot be opened: 66, the file named
run_status 66 "fit: missing data file" -k 2 "$TMPD/no-such.csv"
err_has "no-such.csv" "fit: the message names the missing file"
err_has "moefit: " "fit: the message starts with 'moefit: '"
run_status 66 "fit: missing file given with 'fit'" fit "$TMPD/no-such.csv"
run_status 66 "predict: missing model" predict "$TMPD/no-such.json" "$DATA"
err_has "no-such.json" "predict: the message names the missing model"
run_status 66 "plot: missing model" plot "$TMPD/no-such.json" "$DATA" -o "$TMPD/plots"
run_status 66 "simulate: missing model" simulate --model "$TMPD/no-such.json"

# ---- outputs that cannot be created: 73, and no file left behind
mkdir "$TMPD/ro"
chmod 555 "$TMPD/ro"
if touch "$TMPD/ro/probe" 2>/dev/null; then
  # Running as root: permissions do not stop us; use a folder that does not exist instead.
  rm -f "$TMPD/ro/probe"
  RO="$TMPD/missing-dir"
else
  RO="$TMPD/ro"
fi
run_status 73 "simulate -o into an unwritable folder" simulate -n 10 -o "$RO/sim.csv"
err_has "sim.csv" "simulate: the message names the output"
run_status 73 "fit -o into an unwritable folder" -k 1 --restarts 1 -q -o "$RO/m.json" "$DATA"
run_status 73 "fit --json into an unwritable folder" -k 1 --restarts 1 -q --json "$RO/f.json" \
  "$DATA"
run_status 73 "simulate --truth into an unwritable folder" simulate -n 10 -o "$TMPD/sim.csv" \
  --truth "$RO/truth.json"
check "no sim.csv left after the failed --truth" test ! -e "$TMPD/sim.csv"
left=$(ls -A "$TMPD/ro" | wc -l)
check "nothing left in the unwritable folder" test "$left" -eq 0
chmod 755 "$TMPD/ro"
# A folder where a file is wanted.
run_status 73 "simulate -o naming a folder" simulate -n 10 -o "$TMPD/"
left=$(ls -A "$TMPD" | grep -c '^\.' || true)
check "no temporary files left in the output folder" test "$left" -eq 0

# ---- a fit ended by SIGTERM leaves no temporary file behind
mkdir "$TMPD/sig"
"$MOEFIT" simulate -k 4 -n 50000 --inputs 3 --seed 3 -o "$TMPD/sig.csv" 2>/dev/null
"$MOEFIT" -k 1:5 --restarts 50 -q -o "$TMPD/sig/m.json" "$TMPD/sig.csv" >/dev/null 2>&1 &
pid=$!
i=0
while [ $i -lt 100 ] && [ -z "$(ls -A "$TMPD/sig")" ]; do sleep 0.1; i=$((i + 1)); done
check "the temporary model file exists while fitting" test -n "$(ls -A "$TMPD/sig")"
kill -TERM $pid 2>/dev/null
wait $pid; got=$?
check "SIGTERM ends the fit (status $got)" test "$got" -gt 128
check "no temporary file is left after SIGTERM" test -z "$(ls -A "$TMPD/sig")"

# ---- the input is never modified
cp "$DATA" "$TMPD/in.csv"
"$MOEFIT" -k 1 --restarts 1 -q "$TMPD/in.csv" >/dev/null 2>&1
check "fit leaves its input unchanged" cmp -s "$DATA" "$TMPD/in.csv"

tap_done
