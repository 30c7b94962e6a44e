#!/bin/sh
# tutorial.sh: runs every command of man/moefit-tutorial.7, so the tutorial cannot rot.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# A command is a line inside an .EX/.EE block that starts with "$ ". The commands run in order,
# each in its own shell, in one scratch folder where datasets/ is the shipped folder and
# `moefit` is the program under test ($MOEFIT); each must exit 0. When gnuplot is not
# installed, commands that only draw (moefit plot, gnuplot, a look into a plot folder) are
# skipped and a fit's --plot DIR is left out (so its model and summary still exist for the
# commands after it). Then the numbers and claims the tutorial's text makes about those outputs
# are checked (the criteria's formulas, the K that BIC picks, where the experts take over, the
# p-value of tonedata's gate, the recovery of a simulated truth, ...), and the first fit's
# summary against the stored tests/expected/tutorial_mcycle_k3.txt. Also: docs/tutorial.md is
# the page as pandoc renders it. (tests/man_pages.sh checks that the page renders cleanly.)
. "$top_srcdir/tests/tap.sh"

PAGE="$top_srcdir/man/moefit-tutorial.7"
W="$TMPD/work"
mkdir "$W" || exit 99
ln -s "$top_srcdir/datasets" "$W/datasets" || exit 99
HAVE_GNUPLOT=0
command -v gnuplot >/dev/null 2>&1 && HAVE_GNUPLOT=1

# The commands, with roff's escapes undone (\- is -, \(aq is ', \e is \, \& is nothing).
awk '/^\.EX/ {ex = 1; next} /^\.EE/ {ex = 0; next} ex && /^\$ / {print substr($0, 3)}' \
  "$PAGE" | sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\&//g' -e 's/\\e/\\/g' \
  >"$TMPD/commands"
n=$(wc -l <"$TMPD/commands")
check "the tutorial holds commands to run ($n)" test "$n" -ge 12
check "every command is plain text (no roff escapes left)" sh -c "! grep -q '\\\\' '$TMPD/commands'"

i=0
while IFS= read -r cmd; do
  i=$((i + 1))
  run=$cmd
  if [ "$HAVE_GNUPLOT" -eq 0 ]; then
    case "$cmd" in
      *"moefit plot"*|*gnuplot*|*-plots/*)
        ok "command $i: $cmd # SKIP gnuplot not installed"; continue ;;
      *--plot*) run=$(echo "$cmd" | sed 's/ --plot [^ ]*//') ;;
    esac
  fi
  { echo 'moefit() { "$MOEFIT" "$@"; }'; echo "$run"; } >"$TMPD/cmd$i.sh"
  (cd "$W" && sh "$TMPD/cmd$i.sh") >"$TMPD/out$i" 2>"$TMPD/err" </dev/null
  rc=$?
  if [ "$rc" -eq 0 ]; then ok "command $i: $run"; else
    not_ok "command $i (exit $rc): $run"
    tail -n 20 "$TMPD/err" | sed 's/^/# /'
  fi
done <"$TMPD/commands"

# ---- what the text says about the outputs
# out PATTERN: the stdout file of the first command that contains PATTERN (fixed string).
out() { echo "$TMPD/out$(grep -n -F -- "$1" "$TMPD/commands" | head -n 1 | cut -d: -f1)"; }
# experts SUMMARY: one line per expert of a one-input summary:
#   i intercept se_intercept slope se_slope residual_sd prior
experts() {
  awk '/^Gate/ {exit} /^Expert [0-9]+: prior/ {i = $2 + 0; p = $4 + 0; n = 0}
    i && /^\(Intercept\)/ {b0 = $2; s0 = $3}
    i && /^[A-Za-z_][A-Za-z0-9_.]* +[-0-9.e]+ / && !/^Expert|^Residual/ {b1 = $2; s1 = $3}
    i && /^Residual SD:/ {sd = $3 + 0; print i, b0, s0, b1, s1, sd, p; i = 0}' "$1"
}
# criteria SUMMARY N: AIC = -2L + 2 df, BIC = -2L + df log N and ICL >= BIC, to the digits
# the summary prints.
criteria() {
  awk -v n="$2" '/^Log-likelihood:/ {l = $2; df = $5 + 0}
    /^AIC:/ {a = $2; b = $4; c = $6}
    END {ea = -2 * l + 2 * df; eb = -2 * l + df * log(n); d1 = a - ea; d2 = b - eb
      if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2
      if (l == "" || d1 > 2e-3 || d2 > 2e-3 || c < b - 1e-3) {
        print "# L " l " df " df ": AIC " a " (want " ea "), BIC " b " (want " eb "), ICL " c
        exit 1 } }' "$1"
}

K3=$(out "-k 3 datasets/mcycle.csv")
check "first fit: K = 3 on mcycle, n = 133" \
  grep -q "^Mixture of 3 Gaussian linear experts with a softmax gate, n = 133$" "$K3"
check "first fit: AIC = -2L + 2 df, BIC = -2L + df log n, ICL >= BIC" criteria "$K3" 133
# compared under the kernel set the stored file was made with (tests/expected/regen.sh pins
# MOE_ARCH=ref): the fit's gate separates, so its unidentified coefficients depend on rounding
(cd "$W" && MOE_ARCH=ref "$MOEFIT" fit -y accel -x times -k 3 datasets/mcycle.csv) \
  >"$TMPD/k3ref.txt" 2>/dev/null
check "first fit: the summary equals tests/expected/tutorial_mcycle_k3.txt (numbers to 1e-4)" \
  same_numbers "$TMPD/k3ref.txt" "$top_srcdir/tests/expected/tutorial_mcycle_k3.txt" 1e-4

K15=$(out "-k 1:5 -o mcycle.json")
# The selection table: K logLik df AIC BIC ICL [<- chosen].
awk '/^Model selection/ {on = 1; next} on && /^ +[0-9]+ / {print} on && /^$/ {on = 0}' \
  "$K15" >"$TMPD/selection.txt"
check "choosing K: the table has K = 1..5" \
  test "$(awk '{printf "%s", $1}' "$TMPD/selection.txt")" = 12345
check "choosing K: the log-likelihood rises with K" \
  awk 'NR > 1 && $2 <= l {exit 1} {l = $2}' "$TMPD/selection.txt"
check "choosing K: every row has AIC = -2L + 2 df and BIC = -2L + df log 133" \
  awk '{a = -2 * $2 + 2 * $3 - $4; b = -2 * $2 + $3 * log(133) - $5
    if (a * a > 1e-6 || b * b > 1e-6) exit 1}' "$TMPD/selection.txt"
check "choosing K: BIC falls from K = 1 to K = 4 and rises at K = 5" \
  awk '{b[$1] = $5} END {exit !(b[1] > b[2] && b[2] > b[3] && b[3] > b[4] && b[4] < b[5])}' \
  "$TMPD/selection.txt"
check "choosing K: no K is marked as having a spurious expert" \
  sh -c "! grep -q 'spurious expert' '$TMPD/selection.txt'"
(cd "$W" && "$MOEFIT" fit -q --no-se -y accel -x times -k 5 datasets/mcycle.csv) \
  >"$TMPD/k5.txt" 2>/dev/null
K5=$TMPD/k5.txt
check "choosing K: K = 5's search set a higher spurious maximum aside, and says so" \
  grep -q "^Search: .*; 1 higher run set aside for spurious experts$" "$K5"
check "choosing K: K = 4 is marked chosen, and only it" \
  test "$(grep -- '<- chosen' "$TMPD/selection.txt" | awk '{print $1}')" = 4
check "choosing K: the summary above the table is the K = 4 model" \
  grep -q "^Mixture of 4 Gaussian linear experts" "$K15"
"$MOEFIT" "$top_srcdir/datasets/mcycle.csv" >"$TMPD/default.txt" 2>/dev/null
check "'moefit datasets/mcycle.csv' alone does the same fit" cmp "$TMPD/default.txt" "$K15"

# What the experts specialise in (K = 4): the gate's most probable expert on a fine grid of
# times changes at about 14, 21 and 31 ms (within 1.5 ms).
awk 'BEGIN {print "times"; for (i = 24; i <= 576; i++) printf "%.1f\n", i / 10}' \
  >"$TMPD/grid.csv"
"$MOEFIT" predict "$W/mcycle.json" "$TMPD/grid.csv" 2>/dev/null | paste -d, "$TMPD/grid.csv" - |
  awk -F, 'NR > 2 && $NF != prev {print $1, prev, $NF} NR > 1 {prev = $NF}' >"$TMPD/cross.txt"
check "the gate curves cross at about 14, 21 and 31 ms ($(awk '{printf "%s ", $1}' \
  "$TMPD/cross.txt"))" awk '{t[NR] = $1} END {if (NR != 3) exit 1
    if ((t[1] - 14) ^ 2 > 2.25 || (t[2] - 21) ^ 2 > 2.25 || (t[3] - 31) ^ 2 > 2.25) exit 1}' \
  "$TMPD/cross.txt"
experts "$K15" >"$TMPD/experts.txt"
# in_charge T: the number of the expert the grid gives at time T (before the first crossing,
# between them, after the last).
in_charge() { awk -F, -v t="$1" 'NR > 1 && $1 + 0 >= t {print $NF; exit}' \
  "$TMPD/grid_pred.csv"; }
"$MOEFIT" predict "$W/mcycle.json" "$TMPD/grid.csv" 2>/dev/null | paste -d, "$TMPD/grid.csv" - \
  >"$TMPD/grid_pred.csv"
# expert_has I AWK-CONDITION: the line of expert I in experts.txt meets the condition
# ($4 the slope, $6 the residual SD).
expert_has() { awk -v i="$1" "\$1 == i {exit !($2)}" "$TMPD/experts.txt"; }
e1=$(in_charge 5); e2=$(in_charge 17); e3=$(in_charge 27); e4=$(in_charge 45)
check "before the impact (5 ms) expert $e1: an almost flat line, residual SD near 1.4 g" \
  expert_has "$e1" '$4 * $4 < 0.25 && $6 > 1.2 && $6 < 1.6'
check "the dip (17 ms), expert $e2: a steep negative slope" expert_has "$e2" '$4 < -5'
check "the rebound (27 ms), expert $e3: a steep positive slope" expert_has "$e3" '$4 > 5'
check "the tail (45 ms), expert $e4: a gentle slope, under 2 g/ms" expert_has "$e4" '$4 * $4 < 4'
check "four different experts take the four stretches" \
  test "$(printf '%s\n' "$e1" "$e2" "$e3" "$e4" | sort -u | wc -l)" -eq 4
sd1=$(awk -v i="$e1" '$1 == i {print $6}' "$TMPD/experts.txt")
check "the other experts' residual SDs are above 20 g, more than ten times the first's" \
  awk -v i="$e1" -v s="$sd1" '$1 != i && ($6 <= 20 || $6 <= 10 * s) {exit 1}
    END {if (NR != 4) exit 1}' "$TMPD/experts.txt"
check "the gate separates: the summary says so and gives no gate SEs" sh -c "
  grep -q '^Note: the gate separates the regimes' '$K15' &&
  test \"\$(sed -n '/^Gate/,/^Note/p' '$K15' | grep -c '  NA  *NA  *NA\$')\" -eq 6"
PRED="$W/mcycle-pred.csv"
check "predict --posterior: mean, sd, g1..g4, expert, h1..h4 for each of the 133 rows" sh -c "
  test \"\$(head -n 1 '$PRED')\" = mean,sd,g1,g2,g3,g4,expert,h1,h2,h3,h4 &&
  test \"\$(wc -l <'$PRED')\" -eq 134"
check "predict --posterior: gates and responsibilities each sum to 1" awk -F, \
  'NR > 1 {g = $3 + $4 + $5 + $6; h = $8 + $9 + $10 + $11
    if ((g - 1) ^ 2 > 1e-18 || (h - 1) ^ 2 > 1e-18) exit 1}' "$PRED"

# Comparing data sets: tonedata with a gate on the input, then without gate inputs.
T1=$(out "-k 2 datasets/tonedata.csv")
T2=$(out '-z "" -k 2 datasets/tonedata.csv')
experts "$T1" >"$TMPD/tone.txt"
check "tonedata: one expert's slope is near 1 (the stretch ratio)" \
  awk '$4 > 0.9 && $4 < 1.1 {n++} END {exit n != 1}' "$TMPD/tone.txt"
check "tonedata: the other's slope is near 0, around 2 (the octave)" \
  awk '$4 * $4 < 0.01 && $2 > 1.8 && $2 < 2.1 {n++} END {exit n != 1}' "$TMPD/tone.txt"
p=$(sed -n '/^Gate/,$p' "$T1" | awk '$1 == "stretchratio" {print $5; exit}')
check "tonedata: the gate's slope is not significant, p about 0.08 (p = $p)" \
  awk -v p="$p" 'BEGIN {exit !(p > 0.06 && p < 0.10)}'
df1=$(sed -n 's/^Log-likelihood: .*(df = \([0-9]*\))$/\1/p' "$T1")
df2=$(sed -n 's/^Log-likelihood: .*(df = \([0-9]*\))$/\1/p' "$T2")
check "tonedata: the fit without gate inputs has one parameter fewer ($df1, $df2)" \
  test "$((df1 - 1))" -eq "${df2:-0}"
check "tonedata without gate inputs: gate = ~ 1" grep -q "gate = ~ 1," "$T2"
check "ethanol: the summary says the gate separates the regimes" \
  grep -q "the gate separates the regimes" "$(out "datasets/ethanol.csv")"

# Sparse gates: the Switch router without --aux sends all 200 rows to one expert (CV^2 of the
# load 3 = K - 1) and spreads them with --aux switch (below 0.05); with --top-k 2 and the noise
# the load is lopsided without the auxiliary loss (above 0.2) and even with Shazeer's (below
# 0.05), as the text says.
cv2_load() { sed -n 's/^CV^2 of importance [^,]*, of load \([0-9.e+-]*\) .*/\1/p' "$W/$1"; }
routed() { sed -n '/^Routing/,/^CV/p' "$W/$1" | awk 'NF == 5 && $1 ~ /^[0-9]+$/ {print $2}' |
  sort -n | tr '\n' ' '; }
check "sparse: without --aux one expert takes all 200 rows ($(routed k1-none.txt))" \
  test "$(routed k1-none.txt)" = "0 0 0 200 "
check "sparse: and the CV^2 of its load is 3 ($(cv2_load k1-none.txt))" \
  test "$(cv2_load k1-none.txt)" = 3
check "sparse: --aux switch spreads the rows, CV^2 $(cv2_load k1-switch.txt) < 0.05" \
  awk -v v="$(cv2_load k1-switch.txt)" 'BEGIN {exit !(v != "" && v < 0.05)}'
check "sparse: k = 2 without aux, CV^2 $(cv2_load k2-none.txt) > 0.2" \
  awk -v v="$(cv2_load k2-none.txt)" 'BEGIN {exit !(v != "" && v > 0.2)}'
check "sparse: k = 2 with --aux shazeer, CV^2 $(cv2_load k2-shazeer.txt) < 0.05" \
  awk -v v="$(cv2_load k2-shazeer.txt)" 'BEGIN {exit !(v != "" && v < 0.05)}'
if [ "$HAVE_GNUPLOT" -eq 1 ]; then
  check "sparse: the two load pictures side by side (load-both.png)" test -s "$W/load-both.png"
  check "sparse: the routing map k1-switch/gatemap.png" test -s "$W/k1-switch/gatemap.png"
else
  ok "sparse: load-both.png # SKIP gnuplot not installed"
  ok "sparse: gatemap.png # SKIP gnuplot not installed"
fi

# Simulating for teaching: BIC picks K = 3, and every fitted expert lies within 3 SEs of one of
# the true experts (matched one to one) in both intercept and slope.
SIMFIT=$(out "-k 1:5 -o simfit.json sim.csv")
check "simulated: BIC picks K = 3" grep -q "^Mixture of 3 Gaussian linear experts" "$SIMFIT"
experts "$SIMFIT" >"$TMPD/simfit.txt"
for j in 0 1 2; do
  jget "$W/truth.json" "experts[$j].beta[0]" "experts[$j].beta[1]" | tr '\n' ' '; echo
done >"$TMPD/truth.txt"
check "simulated: the fitted coefficients lie within 3 SEs of the truth" awk '
  NR == FNR {t0[FNR] = $1; t1[FNR] = $2; next}
  {f0[FNR] = $2; s0[FNR] = $3; f1[FNR] = $4; s1[FNR] = $5}
  function z(i, j) {return ((f0[i] - t0[j]) / s0[i]) ^ 2 <= 9 && ((f1[i] - t1[j]) / s1[i]) ^ 2 <= 9}
  END {if (FNR != 3) exit 1
    # the six ways to match three fitted experts with three true ones
    split("123 132 213 231 312 321", perm, " ")
    for (q = 1; q <= 6; q++) {good = 1
      for (i = 1; i <= 3; i++) if (!z(i, substr(perm[q], i, 1) + 0)) good = 0
      if (good) exit 0}
    exit 1}' "$TMPD/truth.txt" "$TMPD/simfit.txt"

# The bootstrap: every expert coefficient's Boot/SE within 25% of 1, the gate without one. A
# bootstrap SE from B = 100 replicates has a relative Monte Carlo SD of about 1/sqrt(2 B) = 7%,
# so 25% is some 3.5 of them; expert 1's sigma (25 rows) is at 1.22 since the moves moved a
# row into it (-577.6335 to -577.6252; it was 1.19 before).
BOOT=$(out "--bootstrap 100 datasets/mcycle.csv")
check "bootstrap: 100 refits used" grep -q "; 100 used, 0 failed" "$BOOT"
check "bootstrap: every expert's Boot/SE within 0.75..1.25" awk '
  /^Expert [0-9]+: / && !/: prior / {n++; r = $NF + 0; if (r < 0.75 || r > 1.25) bad++}
  END {exit !(n == 9 && !bad)}' "$BOOT"
check "bootstrap: the separated gate gets no bootstrap SE" grep -qE "^Gate 1 vs 3: times .* NA +NA$" \
  "$BOOT"

if command -v pandoc >/dev/null 2>&1 && [ -f "$top_srcdir/docs/tutorial.md" ]; then
  sh "$top_srcdir/docs/make-tutorial-md.sh" "$PAGE" >"$TMPD/tutorial.md" 2>"$TMPD/err"
  check "docs/tutorial.md is up to date (run docs/make-tutorial-md.sh)" \
    cmp -s "$TMPD/tutorial.md" "$top_srcdir/docs/tutorial.md"
else
  ok "docs/tutorial.md check # SKIP pandoc not installed"
fi

tap_done
