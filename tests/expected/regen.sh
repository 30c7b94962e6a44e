#!/bin/sh
# regen.sh: remakes the stored outputs of tests/expected/ that the shell tests compare with, on
# purpose (never run by make check: a changed expected file is a reviewed change).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Run it from the top of a built tree, then review `git diff tests/expected/`:
#   tests/expected/regen.sh          # or: MOEFIT=/path/to/moefit tests/expected/regen.sh
# Every file and the command behind it is listed in tests/expected/README.md; the commands here
# must stay those of the tests that read the files.
here=$(cd "$(dirname "$0")" && pwd) || exit 1
top=$(dirname "$(dirname "$here")")
MOEFIT=$(cd "$(dirname "${MOEFIT:-./moefit}")" && pwd)/$(basename "${MOEFIT:-./moefit}")
[ -x "$MOEFIT" ] || { echo "regen.sh: $MOEFIT not found: build first" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moefit-expected.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
export OMP_NUM_THREADS=2
D="$top/datasets"
m() { "$MOEFIT" "$@" 2>"$tmp/err" || { echo "regen.sh: moefit $* failed:" >&2; cat "$tmp/err" >&2
  exit 1; }; }
# put NAME: moves $tmp/NAME into tests/expected/, saying whether it changed.
put() {
  if [ ! -f "$here/$1" ]; then echo "$1: new"
  elif cmp -s "$tmp/$1" "$here/$1"; then echo "$1: unchanged"
  else echo "$1: CHANGED"; diff "$here/$1" "$tmp/$1" | head -10 | sed 's/^/  /'; fi
  cp "$tmp/$1" "$here/$1"
}

# tests/cli_simulate.sh
m simulate -k 3 -n 50 --seed 5 --truth "$tmp/simulate_k3_n50_seed5.truth.json" \
  --regimes "$tmp/simulate_k3_n50_seed5.regimes.csv" >"$tmp/simulate_k3_n50_seed5.csv"
put simulate_k3_n50_seed5.csv
put simulate_k3_n50_seed5.regimes.csv
put simulate_k3_n50_seed5.truth.json

# tests/cli_fit.sh
m fit -k 2 --restarts 2 --tol 1e-12 -q "$D/mcycle.csv" >"$tmp/fit_mcycle_k2.txt"
put fit_mcycle_k2.txt
m fit -k 2 --restarts 2 --tol 1e-12 -q --json - "$D/mcycle.csv" >"$tmp/fit_mcycle_k2.json"
put fit_mcycle_k2.json
m fit -k 1:3 --restarts 2 --tol 1e-12 -q --json "$tmp/fit_mcycle_k1-3.json" "$D/mcycle.csv" \
  >/dev/null
put fit_mcycle_k1-3.json

# tests/man_example.sh: the C example of moe(3), built against the library of this tree
awk '/^\.SH EXAMPLES/ {ex = 1} ex && /^\.EX/ {on = 1; next} on && /^\.EE/ {exit} on {print}' \
  "$top/man/moe.3" | sed -e 's/\\e/\\/g' -e 's/\\-/-/g' -e 's/\\&//g' >"$tmp/example.c"
b=$(dirname "$MOEFIT")
(cd "$tmp" && "$b/libtool" --mode=link --quiet "${CC:-cc}" -std=c11 -I"$top/include" \
  -o example example.c "$b/libmoe.la") || { echo "regen.sh: the example does not build" >&2
  exit 1; }
"$b/libtool" --mode=execute "$tmp/example" "$D/mcycle.csv" >"$tmp/man_example.txt" 2>/dev/null
put man_example.txt

# tests/tutorial.sh: the tutorial's first fit (run where datasets/ is the shipped folder)
mkdir "$tmp/w" && ln -s "$D" "$tmp/w/datasets"
(cd "$tmp/w" && m fit -y accel -x times -k 3 datasets/mcycle.csv) >"$tmp/tutorial_mcycle_k3.txt"
put tutorial_mcycle_k3.txt
