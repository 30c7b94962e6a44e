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
# the reference kernels: the stored outputs do not depend on the machine's SIMD kernel set
export MOE_ARCH=ref
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

# tests/cli_plot.sh (needs gnuplot): moefit plot on two stored models, and the selection of a fit
# unversion: the moefit version in the files' comments, left out (a release is not a change).
unversion() { sed 's/moefit [0-9][0-9.]*[0-9]/moefit VERSION/' "$@"; }
# gp_headers DIR NAME...: the lines moefit writes at the top of each NAME.gp (up to the first
# blank line; the rest is the templates of plots/).
gp_headers() { d=$1; shift; for n in "$@"; do awk '/^$/ {exit} {print}' "$d/$n.gp"; done |
  unversion; }
# gatemap_sample FILE: every 50th line of gatemap.dat (its grid has 40401 rows).
gatemap_sample() { unversion "$1" | awk 'NR % 50 == 1'; }
if command -v gnuplot >/dev/null 2>&1; then
  m fit -q -y accel -x times -k 3 --restarts 1 --tol 1e-12 -o "$tmp/plot_mcycle_k3.model.json" \
    "$D/mcycle.csv" >/dev/null
  put plot_mcycle_k3.model.json
  m plot -o "$tmp/p3" "$here/plot_mcycle_k3.model.json" "$D/mcycle.csv"
  for n in gating regimes responsibility; do
    unversion "$tmp/p3/$n.dat" >"$tmp/plot_mcycle_k3.$n.dat"
    put "plot_mcycle_k3.$n.dat"
  done
  gp_headers "$tmp/p3" gating regimes responsibility >"$tmp/plot_mcycle_k3.gp-headers"
  put plot_mcycle_k3.gp-headers
  m fit -q -y y -x x1,x2 -k 2 --restarts 2 --tol 1e-12 -o "$tmp/plot_sim2.model.json" \
    "$D/sim_2inputs.csv" >/dev/null
  put plot_sim2.model.json
  m plot -o "$tmp/p2" "$here/plot_sim2.model.json" "$D/sim_2inputs.csv"
  gatemap_sample "$tmp/p2/gatemap.dat" >"$tmp/plot_sim2.gatemap.dat"
  put plot_sim2.gatemap.dat
  gp_headers "$tmp/p2" gating regimes responsibility gatemap >"$tmp/plot_sim2.gp-headers"
  put plot_sim2.gp-headers
  m fit -q -y accel -x times -k 1:3 --restarts 3 --seed 1 --plot "$tmp/p13" "$D/mcycle.csv" \
    >/dev/null
  unversion "$tmp/p13/selection.dat" >"$tmp/plot_fit_mcycle_k1-3.selection.dat"
  put plot_fit_mcycle_k1-3.selection.dat
else
  echo "gnuplot not found: the plot files (plot_*) were not remade" >&2
fi
