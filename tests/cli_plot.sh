#!/bin/sh
# cli_plot.sh: `moefit fit --plot` and `moefit plot`: pictures, data files, programs, errors.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# Checks that every picture is a valid PNG/SVG/PDF of the asked size, that the data files
# hold the numbers `moefit predict` gives for the same rows (the reference numbers all come
# from moefit predict on the same model, so the plots and the predictions must agree), that
# the written NAME.gp programs re-run by hand, that nothing but the expected files is left in
# the folder, and that a missing or failing gnuplot is reported (exit 69 / 73 with gnuplot's
# own words). Skipped when gnuplot is not installed.
. "$top_srcdir/tests/tap.sh"

D="$top_srcdir/datasets"
X="$top_srcdir/tests/expected"
HAVE_PY=0
command -v python3 >/dev/null 2>&1 && HAVE_PY=1

# data_rows FILE [INDEX]: the numeric rows of gnuplot block INDEX (default 0) of FILE.
data_rows() {
  awk -v want="${2:-0}" 'BEGIN {b = 0; blank = 0}
    /^[ \t]*$/ {blank++; next}
    {if (blank >= 2 && seen) b++; blank = 0}
    /^#/ {next}
    {seen = 1; if (b == want) print}' "$1"
}

# ---------------------------------------------------------------- the fitted view (no gnuplot)
# With two or more inputs the regimes and responsibility figures place every row at its own
# inputs (y against its expert's fitted mean, h_i against g_i) instead of drawing lines with
# the other inputs held at their means, which the rows cannot follow. Only the data files are
# checked here, so a silent stand-in for gnuplot (exit 0, no picture) is enough. Reference
# numbers: `moefit predict --posterior` on the same stored model and rows, and each expert's
# mean recomputed by hand from the model file's beta and scaling (python3, when present).
printf '#!/bin/sh\nexit 0\n' >"$TMPD/quiet-gnuplot"
chmod +x "$TMPD/quiet-gnuplot"
F="$TMPD/fv"
MOE_GNUPLOT="$TMPD/quiet-gnuplot" run_status 0 "plot the stored two-input model (no gnuplot)" \
  plot -o "$F" "$X/plot_sim2.model.json" "$D/sim_2inputs.csv"
for n in regimes responsibility; do
  check "two inputs: $n.gp is drawn in the fitted view, nothing held at a mean" sh -c \
    "grep -qx 'fitted = 1' '$F/$n.gp' && grep -qx \"inputs = 'x1, x2'\" '$F/$n.gp' &&
     grep -qx \"held = ''\" '$F/$n.gp'"
done
check "the gating curves are still drawn along x1 with x2 held at its mean" sh -c \
  "grep -q '^held = .other inputs held at their means: x2 = ' '$F/gating.gp' &&
   ! grep -q '^fitted = ' '$F/gating.gp'"
MOE_GNUPLOT="$TMPD/quiet-gnuplot" run_status 0 "predict --posterior on the same rows" \
  predict --posterior "$X/plot_sim2.model.json" "$D/sim_2inputs.csv"
# predict --posterior columns: mean sd g1 g2 expert h1 h2
tail -n +2 "$TMPD/out" | tr ',' ' ' >"$TMPD/fvpred.txt"
tail -n +2 "$D/sim_2inputs.csv" | tr ',' ' ' >"$TMPD/fvdata.txt"
data_rows "$F/regimes.dat" 1 >"$TMPD/fv1.txt"
check "regimes.dat: 400 rows of fitted y expert mean x1, in the data's order" awk \
  'NR == FNR {x1[FNR] = $1; y[FNR] = $3; next}
   {if (NF != 5 || $2 != y[FNR] || $5 != x1[FNR]) exit 1} END {if (FNR != 400) exit 1}' \
  "$TMPD/fvdata.txt" "$TMPD/fv1.txt"
check "regimes.dat: expert is the largest posterior, mean is predict's mixture mean (1e-9)" awk \
  'NR == FNR {m[FNR] = $1; e[FNR] = $7 > $6 ? 2 : 1; next}
   {d = $4 - m[FNR]; if (d < 0) d = -d; if ($3 != e[FNR] || d > 1e-9 * (1 + (m[FNR] < 0 ? -m[FNR] : m[FNR]))) exit 1}
   END {if (FNR != 400) exit 1}' "$TMPD/fvpred.txt" "$TMPD/fv1.txt"
# The rows follow the diagonal: y - fitted is the experts' noise (simulated SD 0.4), while the
# old view's lines (x2 at its mean; x2 moves y by about +-2 across the data) were off by far more.
check "the rows follow the diagonal: RMS of y - fitted below 0.6" awk \
  '{d = $2 - $1; s += d * d} END {if (!(NR == 400 && sqrt(s / NR) < 0.6)) exit 1}' \
  "$TMPD/fv1.txt"
data_rows "$F/regimes.dat" 0 >"$TMPD/fv0.txt"
check "regimes.dat index 0: the diagonal over the range of the fitted means and y" awk \
  'NR == FNR {if (FNR == 1 || $1 < lo) lo = $1; if ($2 < lo) lo = $2
     if (FNR == 1 || $1 > hi) hi = $1; if ($2 > hi) hi = $2; next}
   {if ($1 != $2) exit 1; if (FNR == 1 && $1 != lo) exit 1; if (FNR == 2 && $1 != hi) exit 1}
   END {if (FNR != 2) exit 1}' "$TMPD/fv1.txt" "$TMPD/fv0.txt"
if [ "$HAVE_PY" -eq 1 ]; then
  check "regimes.dat: fitted is the row's expert's mean, from the model file's beta (1e-9)" \
    python3 -c '
import json, sys
m = json.load(open(sys.argv[1])); sc = m["scaling"]
yc, ys = sc["response"]["center"], sc["response"]["scale"]
xc, xs = sc["inputs"]["center"], sc["inputs"]["scale"]
data = [list(map(float, l.split())) for l in open(sys.argv[2])]
rows = [list(map(float, l.split())) for l in open(sys.argv[3])]
assert len(rows) == len(data) == 400
for d, r in zip(data, rows):
    b = m["experts"][int(r[2]) - 1]["beta"]
    mu = yc + ys * (b[0] + sum(b[j + 1] * (d[j] - xc[j]) / xs[j] for j in range(2)))
    if abs(mu - r[0]) > 1e-9 * (1 + abs(mu)):
        sys.exit(1)' "$X/plot_sim2.model.json" "$TMPD/fvdata.txt" "$TMPD/fv1.txt"
fi
data_rows "$F/responsibility.dat" >"$TMPD/fvh.txt"
check "responsibility.dat: every row's own gates and posteriors, equal to predict's (1e-9)" awk \
  'NR == FNR {g1[FNR] = $3; g2[FNR] = $4; h1[FNR] = $6; h2[FNR] = $7; next}
   {if (NF != 5) exit 1
    a = $2 - g1[FNR]; b = $3 - g2[FNR]; c = $4 - h1[FNR]; d = $5 - h2[FNR]
    if (a * a > 1e-18 || b * b > 1e-18 || c * c > 1e-18 || d * d > 1e-18) exit 1}
   END {if (FNR != 400) exit 1}' "$TMPD/fvpred.txt" "$TMPD/fvh.txt"
MOE_GNUPLOT="$TMPD/quiet-gnuplot" run_status 0 "plot --along x2 in the fitted view" \
  plot --along x2 -o "$TMPD/fv2" "$X/plot_sim2.model.json" "$D/sim_2inputs.csv"
data_rows "$TMPD/fv2/regimes.dat" 1 | cut -d' ' -f1-4 >"$TMPD/fv2a.txt"
cut -d' ' -f1-4 "$TMPD/fv1.txt" >"$TMPD/fv1a.txt"
check "--along x2: the same fitted, y, expert and mean as along x1" cmp -s "$TMPD/fv1a.txt" \
  "$TMPD/fv2a.txt"
data_rows "$TMPD/fv2/regimes.dat" 1 | awk '{print $5}' >"$TMPD/fv2x.txt"
check "--along x2: the last column of regimes.dat is x2" sh -c \
  "awk '{print \$2}' '$TMPD/fvdata.txt' | cmp -s - '$TMPD/fv2x.txt'"
MOE_GNUPLOT="$TMPD/quiet-gnuplot" run_status 0 "plot the stored one-input model (no gnuplot)" \
  plot -o "$TMPD/fv3" "$X/plot_mcycle_k3.model.json" "$D/mcycle.csv"
check "one input: regimes and responsibility keep the curves along times" sh -c \
  "! grep -q '^fitted = ' '$TMPD/fv3/regimes.gp' && ! grep -q '^fitted = ' '$TMPD/fv3/responsibility.gp'"
cut -d, -f1,2 "$D/sim_2inputs.csv" >"$TMPD/fvx.csv"
MOE_GNUPLOT="$TMPD/quiet-gnuplot" run_status 0 "two inputs without the response (no gnuplot)" \
  plot -o "$TMPD/fvn" "$X/plot_sim2.model.json" "$TMPD/fvx.csv"
check "without the response: the model's curves along x1 (no rows to place)" sh -c \
  "grep -qx 'has_y = 0' '$TMPD/fvn/regimes.gp' && ! grep -q '^fitted = ' '$TMPD/fvn/regimes.gp'"

if ! command -v gnuplot >/dev/null 2>&1; then
  echo "# SKIP the pictures: gnuplot is not installed"
  tap_done
  exit $?
fi

# png_ok FILE W H: PNG signature, an IHDR chunk first, and the stated width and height.
png_ok() {
  [ "$(od -An -tx1 -N16 "$1" | tr -d ' \n')" = "89504e470d0a1a0a0000000d49484452" ] || return 1
  [ "$(od -An -tu1 -j16 -N8 "$1" | awk '{printf "%dx%d", $1*16777216+$2*65536+$3*256+$4,
      $5*16777216+$6*65536+$7*256+$8}')" = "$2x$3" ]
}

# same_files DIR NAME...: DIR holds exactly the files NAME... (nothing temporary left).
same_files() {
  dir=$1; shift
  printf '%s\n' "$@" | sort >"$TMPD/want.lst"
  (cd "$dir" && ls -A) | sort >"$TMPD/got.lst"
  if cmp -s "$TMPD/want.lst" "$TMPD/got.lst"; then return 0; fi
  diff "$TMPD/want.lst" "$TMPD/got.lst" | sed 's/^/# /'
  return 1
}

# ---------------------------------------------------------------- fit --plot on mcycle
P="$TMPD/p"
run_status 0 "fit -k 1:3 --plot writes the plots" fit -q -y accel -x times -k 1:3 --restarts 3 \
  --seed 1 -o "$TMPD/m.json" --plot "$P" "$D/mcycle.csv"
for n in gating regimes responsibility convergence selection; do
  check "$n.png is a 1280x800 PNG" png_ok "$P/$n.png" 1280 800
done
check "the folder holds the pictures, data and programs and nothing else" same_files "$P" \
  gating.png gating.dat gating.gp regimes.png regimes.dat regimes.gp \
  responsibility.png responsibility.dat responsibility.gp convergence.png convergence.dat \
  convergence.gp selection.png selection.dat selection.gp
check "nothing said about the plots on stderr" sh -c "! grep -qi 'gnuplot\\|plot' '$TMPD/err'"
check "no gate map for mcycle's one gate input" test ! -e "$P/gatemap.dat" -a ! -e "$P/gatemap.png"

# gating.dat: 401 grid rows of times, g_1..g_K; every row sums to 1.
K=$(sed -n 's/^K = //p' "$P/gating.gp")
check "the gating program states K (K=$K)" test -n "$K"
data_rows "$P/gating.dat" >"$TMPD/g.txt"
check "gating.dat has 401 grid rows" test "$(wc -l <"$TMPD/g.txt")" -eq 401
check "gate probabilities of every row sum to 1" awk -v k="$K" \
  '{s = 0; for (i = 2; i <= k + 1; i++) {if ($i + 0 < 0 || $i + 0 > 1) exit 1; s += $i}
    if (s < 1 - 1e-9 || s > 1 + 1e-9) exit 1; if (NF != k + 1) exit 1}' "$TMPD/g.txt"
check "gating.dat spans the range of times (2.4 to 57.6)" awk \
  'NR == 1 && $1 != 2.4 {exit 1} END {if ($1 != 57.6) exit 1}' "$TMPD/g.txt"

# The same grid through `moefit predict`: gates, mixture mean and sd must agree.
{ echo times; awk '{print $1}' "$TMPD/g.txt"; } >"$TMPD/grid.csv"
run_status 0 "predict on the plot's grid" predict "$TMPD/m.json" "$TMPD/grid.csv"
tail -n +2 "$TMPD/out" | tr ',' ' ' >"$TMPD/pg.txt"
# predict columns: mean sd g1..gK expert
check "gating.dat equals predict's gate probabilities (1e-9)" awk -v k="$K" \
  'NR == FNR {for (i = 1; i <= k; i++) g[FNR, i] = $(i + 1); next}
   {for (i = 1; i <= k; i++) {d = $(i + 2) - g[FNR, i]; if (d < -1e-9 || d > 1e-9) exit 1}}
   END {if (FNR != 401) exit 1}' "$TMPD/g.txt" "$TMPD/pg.txt"
data_rows "$P/regimes.dat" 0 >"$TMPD/r0.txt"
check "regimes.dat mean and sd equal predict's (relative 1e-9)" awk \
  'function bad(a, b) {return (a - b) * (a - b) > 1e-18 * (1 + b * b)}
   NR == FNR {m[FNR] = $2; s[FNR] = $3; lo[FNR] = $4; hi[FNR] = $5; next}
   {if (bad(m[FNR], $1) || bad(s[FNR], $2)) exit 1
    if (bad(lo[FNR], $1 - 2 * $2) || bad(hi[FNR], $1 + 2 * $2)) exit 1}
   END {if (FNR != 401) exit 1}' "$TMPD/r0.txt" "$TMPD/pg.txt"

# Posterior responsibilities of the data rows, sorted by times (ties in row order).
run_status 0 "predict --posterior on mcycle" predict --posterior "$TMPD/m.json" "$D/mcycle.csv"
tail -n +2 "$D/mcycle.csv" | cut -d, -f1 >"$TMPD/t.txt"
tail -n +2 "$TMPD/out" | tr ',' ' ' | paste -d' ' "$TMPD/t.txt" - | awk '{print NR, $0}' |
  sort -k2,2g -k1,1n | cut -d' ' -f2- >"$TMPD/post.txt"
data_rows "$P/responsibility.dat" >"$TMPD/h.txt"
# post.txt columns: times mean sd g1..gK expert h1..hK
check "responsibility.dat equals predict --posterior, sorted by times (1e-9)" awk -v k="$K" \
  'NR == FNR {t[FNR] = $1; for (i = 1; i <= k; i++) h[FNR, i] = $(3 + k + 1 + i); next}
   {if ($1 != t[FNR]) exit 1
    s = 0; for (i = 1; i <= k; i++) {d = $(i + 1) - h[FNR, i]; s += $(i + 1)
      if (d < -1e-9 || d > 1e-9) exit 1}
    if (s < 1 - 1e-9 || s > 1 + 1e-9) exit 1}
   END {if (FNR != 133) exit 1}' "$TMPD/post.txt" "$TMPD/h.txt"
data_rows "$P/regimes.dat" 1 >"$TMPD/r1.txt"
check "regimes.dat colours each row by its largest posterior" awk -v k="$K" \
  'NR == FNR {b = 1; for (i = 2; i <= k; i++) if ($(i + 1) + 0 > $(b + 1) + 0) b = i
     e[FNR] = b; next}
   {if ($3 != e[FNR]) exit 1} END {if (FNR != 133) exit 1}' "$TMPD/h.txt" "$TMPD/r1.txt"
check "regimes.dat holds the data's accel values" awk -F'[ ,]' \
  'NR == FNR {if (FNR > 1) n[$2]++; next} {n[$2]--} END {for (v in n) if (n[v]) exit 1}' \
  "$D/mcycle.csv" "$TMPD/r1.txt"

# selection.dat: K = 1..3 with AIC = -2L + 2df and BIC = -2L + df log(133).
check "selection.dat has K = 1, 2, 3 with consistent AIC and BIC" awk \
  '/^#/ {next} {n++; if ($1 != n) exit 1
    a = -2 * $2 + 2 * $3; b = -2 * $2 + $3 * log(133)
    if ((a - $4) ^ 2 > 1e-12 * (1 + a * a) || (b - $5) ^ 2 > 1e-12 * (1 + b * b)) exit 1
    if ($6 < $5 - 1e-9) exit 1}
   END {if (n != 3) exit 1}' "$P/selection.dat"
# convergence.dat: one block per start (3), EM never lowers the log-likelihood (to rounding).
check "convergence.dat has 3 starts, each non-decreasing" awk \
  'BEGIN {b = 0} /^[ \t]*$/ {blank++; next} /^#/ {next}
   {if (blank >= 2 || !b) {b++; prev = ""} blank = 0
    if (prev != "" && $3 < prev - 1e-7 * (1 + (prev < 0 ? -prev : prev))) exit 1; prev = $3}
   END {if (b != 3) exit 1}' "$P/convergence.dat"
check "the gating title states the model" grep -q \
  "^model_title = 'mixture of $K Gaussian linear experts, softmax gate on times'" "$P/gating.gp"

# The programs re-run by hand in the folder, silently, and redraw the same picture.
cp "$P/regimes.png" "$TMPD/regimes.before.png"
rm "$P/regimes.png"
(cd "$P" && gnuplot regimes.gp) >"$TMPD/gp.out" 2>&1
check "gnuplot regimes.gp re-runs in the folder without a message" test ! -s "$TMPD/gp.out"
check "and redraws regimes.png" png_ok "$P/regimes.png" 1280 800
check "the redrawn picture is the same" cmp -s "$P/regimes.png" "$TMPD/regimes.before.png"

# ---------------------------------------------------------------- moefit plot, other formats
S="$TMPD/s"
run_status 0 "plot --format svg" plot --format svg -o "$S" "$TMPD/m.json" "$D/mcycle.csv"
check "plot without a fit: gating, regimes, responsibility only" same_files "$S" \
  gating.svg gating.dat gating.gp regimes.svg regimes.dat regimes.gp \
  responsibility.svg responsibility.dat responsibility.gp
for n in gating regimes responsibility; do
  if [ "$HAVE_PY" -eq 1 ]; then
    check "$n.svg parses as XML, an <svg> 1280 wide" python3 -c '
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
sys.exit(0 if r.tag.endswith("svg") and r.get("width", "").startswith("1280") else 1)' "$S/$n.svg"
  else
    ok "$n.svg parses # SKIP python3 not installed"
  fi
done
check "plot's gating.dat equals fit --plot's" cmp -s "$S/gating.dat" "$P/gating.dat"
Q="$TMPD/q"
run_status 0 "plot --format pdf" plot --format pdf -o "$Q" "$TMPD/m.json" "$D/mcycle.csv"
check "gating.pdf is a PDF" test "$(head -c 5 "$Q/gating.pdf")" = "%PDF-"

# No response in the data: no responsibility plot, the regimes plot without points.
cut -d, -f1 "$D/mcycle.csv" >"$TMPD/x.csv"
run_status 0 "plot on data without the response" plot -o "$TMPD/n" "$TMPD/m.json" "$TMPD/x.csv"
check "without the response: gating and regimes only" same_files "$TMPD/n" \
  gating.png gating.dat gating.gp regimes.png regimes.dat regimes.gp

# ---------------------------------------------------------------- two inputs, --along
G="$TMPD/gm"
run_status 0 "fit --plot on two inputs" fit -q -y y -x x1,x2 -k 2 --restarts 2 \
  -o "$TMPD/m2.json" --plot "$G" "$D/sim_2inputs.csv"
check "gatemap.png is a 1280x800 PNG" png_ok "$G/gatemap.png" 1280 800
check "two inputs: the gate map is drawn beside the other plots" same_files "$G" \
  gating.png gating.dat gating.gp regimes.png regimes.dat regimes.gp \
  responsibility.png responsibility.dat responsibility.gp convergence.png convergence.dat \
  convergence.gp gatemap.png gatemap.dat gatemap.gp
check "the gate map's title states the model and its axes the columns" sh -c \
  "grep -q \"^model_title = 'mixture of 2 Gaussian linear experts, softmax gate on x1, x2'\" \
   '$G/gatemap.gp' && grep -q \"^zname1 = 'x1'\" '$G/gatemap.gp' &&
   grep -q \"^zname2 = 'x2'\" '$G/gatemap.gp'"
# gatemap.dat index 0: a 201 x 201 grid of x1 and x2: x1 x2 expert g_1 g_2.
data_rows "$G/gatemap.dat" 0 >"$TMPD/gm0.txt"
check "gatemap.dat has a 201 x 201 grid" test "$(wc -l <"$TMPD/gm0.txt")" -eq 40401
check "gate probabilities of every grid row sum to 1, expert is their argmax" awk -v k=2 \
  '{if (NF != k + 3) exit 1; s = 0; b = 1
    for (i = 1; i <= k; i++) {g = $(3 + i); if (g < 0 || g > 1) exit 1; s += g
      if (g > $(3 + b)) b = i}
    if (s < 1 - 1e-9 || s > 1 + 1e-9) exit 1; if ($3 != b) exit 1}' "$TMPD/gm0.txt"
tail -n +2 "$D/sim_2inputs.csv" | cut -d, -f1,2 | tr ',' ' ' >"$TMPD/gmxy.txt"
check "the grid spans the data's x1 and x2" awk \
  'NR == FNR {if (FNR == 1 || $1 < a0) a0 = $1; if (FNR == 1 || $1 > a1) a1 = $1
     if (FNR == 1 || $2 < b0) b0 = $2; if (FNR == 1 || $2 > b1) b1 = $2; next}
   FNR == 1 {if ($1 != a0 || $2 != b0) exit 1} END {if ($1 != a1 || $2 != b1) exit 1}' \
  "$TMPD/gmxy.txt" "$TMPD/gm0.txt"
check "both experts own part of the map" sh -c "awk '{print \$3}' '$TMPD/gm0.txt' | sort -u |
  tr -d '\n' | grep -qx 12"
# A few grid points through `moefit predict`: the same gates and the same most probable expert.
awk 'BEGIN {print "x1,x2"} NR == 1 || NR == 777 || NR == 12345 || NR == 20201 ||
  NR == 33333 || NR == 40401 {print $1 "," $2}' "$TMPD/gm0.txt" >"$TMPD/gmpts.csv"
awk 'NR == 1 || NR == 777 || NR == 12345 || NR == 20201 || NR == 33333 || NR == 40401' \
  "$TMPD/gm0.txt" >"$TMPD/gmsel.txt"
run_status 0 "predict at six points of the gate map's grid" predict "$TMPD/m2.json" \
  "$TMPD/gmpts.csv"
tail -n +2 "$TMPD/out" | tr ',' ' ' >"$TMPD/gmpred.txt"
# predict columns: mean sd g1 g2 expert
check "the gate map's expert and gates equal predict's at those points" awk \
  'NR == FNR {e[FNR] = $3; g1[FNR] = $4; g2[FNR] = $5; next}
   {if ($5 != e[FNR]) exit 1; d1 = $3 - g1[FNR]; d2 = $4 - g2[FNR]
    if (d1 * d1 > 1e-18 || d2 * d2 > 1e-18) exit 1}
   END {if (FNR != 6) exit 1}' "$TMPD/gmsel.txt" "$TMPD/gmpred.txt"
# index 1: the data, coloured by their largest posterior.
data_rows "$G/gatemap.dat" 1 >"$TMPD/gm1.txt"
run_status 0 "predict --posterior on sim_2inputs" predict --posterior "$TMPD/m2.json" \
  "$D/sim_2inputs.csv"
# predict --posterior columns: mean sd g1 g2 expert h1 h2
tail -n +2 "$TMPD/out" | tr ',' ' ' | awk '{print ($7 > $6) ? 2 : 1}' >"$TMPD/gmpost.txt"
check "gatemap.dat holds the data rows, each by its largest posterior" awk \
  'NR == FNR {e[FNR] = $1; next} FILENAME == ARGV[2] {x[FNR] = $1; y[FNR] = $2; next}
   {if ($1 != x[FNR] || $2 != y[FNR] || $3 != e[FNR]) exit 1} END {if (FNR != 400) exit 1}' \
  "$TMPD/gmpost.txt" "$TMPD/gmxy.txt" "$TMPD/gm1.txt"
cp "$G/gatemap.png" "$TMPD/gatemap.before.png"
rm "$G/gatemap.png"
(cd "$G" && gnuplot gatemap.gp) >"$TMPD/gp.out" 2>&1
check "gnuplot gatemap.gp re-runs in the folder without a message" test ! -s "$TMPD/gp.out"
check "and redraws the same gatemap.png" cmp -s "$G/gatemap.png" "$TMPD/gatemap.before.png"
run_status 0 "plot --format svg on two inputs" plot --format svg -o "$TMPD/gs" "$TMPD/m2.json" \
  "$D/sim_2inputs.csv"
if [ "$HAVE_PY" -eq 1 ]; then
  check "gatemap.svg parses as XML, an <svg> 1280 wide" python3 -c '
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
sys.exit(0 if r.tag.endswith("svg") and r.get("width", "").startswith("1280") else 1)' \
    "$TMPD/gs/gatemap.svg"
else
  check "gatemap.svg is written" test -s "$TMPD/gs/gatemap.svg"
fi
check "plot's gatemap.dat equals fit --plot's" cmp -s "$TMPD/gs/gatemap.dat" "$G/gatemap.dat"
cut -d, -f1,2 "$D/sim_2inputs.csv" >"$TMPD/x12.csv"
run_status 0 "plot on two inputs without the response" plot -o "$TMPD/gn" "$TMPD/m2.json" \
  "$TMPD/x12.csv"
check "without the response: the gate map's data rows have no expert column" sh -c \
  "test -s '$TMPD/gn/gatemap.png' && grep -q '^has_y = 0' '$TMPD/gn/gatemap.gp'"
data_rows "$TMPD/gn/gatemap.dat" 1 >"$TMPD/gn1.txt"
check "and hold the 400 rows' x1 and x2" awk \
  'NR == FNR {x[FNR] = $1; y[FNR] = $2; next}
   {if (NF != 2 || $1 != x[FNR] || $2 != y[FNR]) exit 1} END {if (FNR != 400) exit 1}' \
  "$TMPD/gmxy.txt" "$TMPD/gn1.txt"
run_status 0 "plot --along x2" plot --along x2 -o "$TMPD/a" "$TMPD/m2.json" "$D/sim_2inputs.csv"
check "the caption says x1 is held at its mean" grep -q "held at their means: x1 = " \
  "$TMPD/a/gating.gp"
check "--along x2: the gate map is drawn over x2 and x1" sh -c \
  "grep -q \"^zname1 = 'x2'\" '$TMPD/a/gatemap.gp' && grep -q \"^zname2 = 'x1'\" '$TMPD/a/gatemap.gp'"
M1=$(awk -F, 'NR > 1 {s += $1; n++} END {printf "%.17g", s / n}' "$D/sim_2inputs.csv")
data_rows "$TMPD/a/gating.dat" | awk -v m="$M1" 'BEGIN {print "x1,x2"} {print m "," $1}' \
  >"$TMPD/grid2.csv"
run_status 0 "predict on the --along x2 grid" predict "$TMPD/m2.json" "$TMPD/grid2.csv"
tail -n +2 "$TMPD/out" | tr ',' ' ' >"$TMPD/pg2.txt"
data_rows "$TMPD/a/gating.dat" >"$TMPD/g2.txt"
check "gating along x2 (x1 at its mean) equals predict (1e-8)" awk \
  'NR == FNR {g1[FNR] = $2; g2[FNR] = $3; next}
   {d1 = $3 - g1[FNR]; d2 = $4 - g2[FNR]; if (d1 * d1 > 1e-16 || d2 * d2 > 1e-16) exit 1}
   END {if (FNR != 401) exit 1}' "$TMPD/g2.txt" "$TMPD/pg2.txt"
run_status 65 "--along a column that is not an input" plot --along nosuch -o "$TMPD/b" \
  "$TMPD/m2.json" "$D/sim_2inputs.csv"
err_has "nosuch" "the message names the column"

# ---------------------------------------------------------------- against stored files
# The checks above hold moefit's outputs against each other (the plots against predict, plot
# against fit --plot); these hold them against files stored in tests/expected/ (README.md there;
# tests/expected/regen.sh remakes them). `moefit plot` of a stored model is a pure function of
# the model and the data, so its numbers are compared to 1e-9 (they carry 12 digits). The
# moefit version in the comments is left out of the comparison.
unversion() { sed 's/moefit [0-9][0-9.]*[0-9]/moefit VERSION/' "$@"; }
gp_headers() { d=$1; shift; for n in "$@"; do awk '/^$/ {exit} {print}' "$d/$n.gp"; done |
  unversion; }
run_status 0 "plot the stored mcycle K = 3 model" plot -o "$TMPD/x3" \
  "$X/plot_mcycle_k3.model.json" "$D/mcycle.csv"
for n in gating regimes responsibility; do
  unversion "$TMPD/x3/$n.dat" >"$TMPD/x3.$n.dat"
  check "$n.dat equals tests/expected/plot_mcycle_k3.$n.dat (1e-9)" \
    same_numbers "$TMPD/x3.$n.dat" "$X/plot_mcycle_k3.$n.dat" 1e-9
done
gp_headers "$TMPD/x3" gating regimes responsibility >"$TMPD/x3.gp-headers"
check "the .gp programs' settings equal tests/expected/plot_mcycle_k3.gp-headers" \
  same_numbers "$TMPD/x3.gp-headers" "$X/plot_mcycle_k3.gp-headers" 1e-9
run_status 0 "plot the stored two-input model" plot -o "$TMPD/x2" "$X/plot_sim2.model.json" \
  "$D/sim_2inputs.csv"
unversion "$TMPD/x2/gatemap.dat" | awk 'NR % 50 == 1' >"$TMPD/x2.gatemap.dat"
check "gatemap.dat (every 50th line) equals tests/expected/plot_sim2.gatemap.dat (1e-9)" \
  same_numbers "$TMPD/x2.gatemap.dat" "$X/plot_sim2.gatemap.dat" 1e-9
gp_headers "$TMPD/x2" gating regimes responsibility gatemap >"$TMPD/x2.gp-headers"
check "the two-input .gp settings (x2 held at its mean) equal tests/expected/plot_sim2.gp-headers" \
  same_numbers "$TMPD/x2.gp-headers" "$X/plot_sim2.gp-headers" 1e-9
# The fit above (-k 1:3 --restarts 3 --seed 1, default tolerance): its selection table is the
# same whichever start wins, so it is held to 1e-6 of the stored one.
unversion "$P/selection.dat" >"$TMPD/selection.dat"
check "selection.dat equals tests/expected/plot_fit_mcycle_k1-3.selection.dat (1e-6)" \
  same_numbers "$TMPD/selection.dat" "$X/plot_fit_mcycle_k1-3.selection.dat" 1e-6

# ---------------------------------------------------------------- gnuplot missing or failing
MOE_GNUPLOT=/nonexistent/gnuplot run_status 69 "gnuplot missing: exit 69" plot -o "$TMPD/c" \
  "$TMPD/m.json" "$D/mcycle.csv"
err_has "gnuplot" "the message says gnuplot is needed"
check "gnuplot missing: nothing is written (no folder)" test ! -e "$TMPD/c"
cat >"$TMPD/bad-gnuplot" <<'EOF'
#!/bin/sh
echo "\"$1\" line 42: undefined variable: frobnicate" >&2
exit 1
EOF
cat >"$TMPD/warn-gnuplot" <<'EOF'
#!/bin/sh
echo "warning: Skipping data file with no valid points" >&2
exit 0
EOF
chmod +x "$TMPD/bad-gnuplot" "$TMPD/warn-gnuplot"
MOE_GNUPLOT="$TMPD/bad-gnuplot" run_status 73 "gnuplot error: exit 73" plot -o "$TMPD/e" \
  "$TMPD/m.json" "$D/mcycle.csv"
err_has "line 42: undefined variable: frobnicate" "gnuplot's own message is reported"
check "no picture is left by a failed gnuplot" test ! -e "$TMPD/e/gating.png"
MOE_GNUPLOT="$TMPD/warn-gnuplot" run_status 73 "a gnuplot warning is a failure" plot \
  -o "$TMPD/w" "$TMPD/m.json" "$D/mcycle.csv"
err_has "Skipping data file with no valid points" "the warning is reported"
MOE_PLOTDIR="$TMPD/none" run_status 66 "templates missing: exit 66" plot -o "$TMPD/t" \
  "$TMPD/m.json" "$D/mcycle.csv"
err_has "template" "the message says the templates are missing"
touch "$TMPD/file"
run_status 73 "an output folder that is a file: exit 73" plot -o "$TMPD/file" "$TMPD/m.json" \
  "$D/mcycle.csv"
# fit --plot checks gnuplot and the folder before it fits: nothing else is written either
MOE_GNUPLOT=/nonexistent/gnuplot run_status 69 "fit --plot without gnuplot: exit 69" fit -k 2 \
  -o "$TMPD/f69.json" --plot "$TMPD/f69" "$D/mcycle.csv"
check "fit --plot without gnuplot: no model and no folder written" \
  test ! -e "$TMPD/f69.json" -a ! -e "$TMPD/f69"
check "fit --plot without gnuplot: it failed before fitting (no summary)" test ! -s "$TMPD/out"
run_status 73 "fit --plot into a file: exit 73" fit -k 2 --plot "$TMPD/file" "$D/mcycle.csv"
err_has "is not a folder" "the message says the --plot target is not a folder"
check "fit --plot into a file: it failed before fitting (no summary)" test ! -s "$TMPD/out"

tap_done
