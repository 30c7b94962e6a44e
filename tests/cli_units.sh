#!/bin/sh
# cli_units.sh: fits do not depend on the units of the data (issue 13). Every family's input
# columns (expert inputs x and gate inputs z) and the Gaussian response y are rescaled by
# 10^P for P in -300 -200 -100 100 200 300, and each fit must equal the fit of the original
# data, transformed exactly: a coefficient of an input rescaled by c is divided by c, the
# Gaussian intercepts and sigma multiply by the c of y, the log-likelihood shifts by -n log c
# when y is rescaled, and standard errors follow their coefficients.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# The reference numbers are the same fit at P = 0 (the shipped data), so the checks need no
# outside numbers; the one-expert lines at 1e-300 are also checked against the closed-form
# least-squares line (ols in tests/tap.sh). Before the fix, y at 1e300 failed with "log-
# likelihood not finite" and x, y at 1e-300 gave slope 0, SD 0.001 (squares under/overflowed
# while the columns were standardised). Tolerance: relative 1e-7 (the fits stop at --tol 1e-12
# and a power of ten is not exact in binary, so the data differ in the last bit).
. "$top_srcdir/tests/tap.sh"
D="$top_srcdir/datasets"

# scale IN OUT COLS P: copies IN with the 1-based columns COLS (comma-separated) times 1e P.
scale() {
  awk -F, -v cols="$3" -v p="$4" 'BEGIN { OFS = ","; n = split(cols, c, ","); f = 10 ^ p
      if (p >= 300) f = 1e300; if (p <= -300) f = 1e-300 }
    NR == 1 { print; next }
    { for (i = 1; i <= n; i++) $(c[i]) = sprintf("%.17g", $(c[i]) * f); print }' "$1" >"$2"
}

# case NAME DATA COLS "CHECKS" OPTIONS...: fits DATA with OPTIONS at P = 0 and at each P with
# COLS rescaled; CHECKS are PATH:E pairs, the value at PATH times 10^(E P) must be the P = 0
# value; the entry "loglik:N" means the log-likelihood shifts by -N P log 10.
case_units() {
  name=$1 data=$2 cols=$3 checks=$4; shift 4
  "$MOEFIT" fit "$@" -q --tol 1e-12 --json "$TMPD/$name.0.json" "$data" >/dev/null 2>&1 ||
    { not_ok "$name: the fit of the original data"; return; }
  for p in -300 -200 -100 100 200 300; do
    scale "$data" "$TMPD/$name.csv" "$cols" "$p"
    if ! "$MOEFIT" fit "$@" -q --tol 1e-12 --json "$TMPD/$name.$p.json" "$TMPD/$name.csv" \
         >/dev/null 2>"$TMPD/err"; then
      not_ok "$name: columns $cols times 1e$p fit"; sed 's/^/# /' "$TMPD/err"; continue
    fi
    bad=0
    for c in $checks; do
      path=${c%:*} e=${c#*:}
      base=$(jget "$TMPD/$name.0.json" "$path") got=$(jget "$TMPD/$name.$p.json" "$path")
      if [ "$path" = loglik ]; then
        want=$(awk -v b="$base" -v n="$e" -v p="$p" 'BEGIN { printf "%.17g", b - n * p * log(10) }')
        near "$got" "$want" 1e-9 1e-7 || { echo "# $path"; bad=1; }
      else
        want=$(awk -v b="$base" -v x="$((-e * p))" 'BEGIN { printf "%.17g", b * 10 ^ x }')
        near "$got" "$want" 1e-7 || { echo "# $path"; bad=1; }
      fi
    done
    if [ "$bad" -eq 0 ]; then ok "$name: columns $cols times 1e$p: the same fit, rescaled"
    else not_ok "$name: columns $cols times 1e$p: the same fit, rescaled"; fi
  done
}

# Gaussian, faithful (waiting ~ eruptions, gate on eruptions, K = 2): y alone, x (= z) alone,
# and both.
G="experts[0].coef.(Intercept) experts[1].coef.(Intercept) experts[0].sigma experts[1].sigma
   experts[0].se.(Intercept) experts[0].sigma_se"
case_units gauss_y "$D/faithful.csv" 2 \
  "loglik:272 $(for c in $G; do printf '%s:-1 ' "$c"; done) experts[0].coef.eruptions:-1
   experts[1].se.eruptions:-1 gate[0].coef.eruptions:0 gate[0].se.(Intercept):0 experts[0].prior:0" \
  -y waiting -x eruptions -k 2 --seed 1 --restarts 1
case_units gauss_x "$D/faithful.csv" 1 \
  "loglik:0 experts[0].coef.(Intercept):0 experts[0].coef.eruptions:1 experts[1].coef.eruptions:1
   experts[0].se.eruptions:1 experts[1].sigma:0 gate[0].coef.eruptions:1 gate[0].se.eruptions:1
   gate[0].coef.(Intercept):0" \
  -y waiting -x eruptions -k 2 --seed 1 --restarts 1
case_units gauss_xy "$D/faithful.csv" 1,2 \
  "loglik:272 experts[0].coef.(Intercept):-1 experts[0].coef.eruptions:0 experts[1].sigma:-1
   experts[1].se.eruptions:0 gate[0].coef.eruptions:1 gate[0].coef.(Intercept):0" \
  -y waiting -x eruptions -k 2 --seed 1 --restarts 1

# Poisson, patent (Patents ~ lgRD, gate on RDS, K = 2): the expert input, then the gate input.
case_units poisson_x "$D/patent.csv" 2 \
  "loglik:0 experts[0].coef.(Intercept):0 experts[0].coef.lgRD:1 experts[1].coef.lgRD:1
   experts[1].se.lgRD:1 gate[0].coef.RDS:0 gate[0].se.RDS:0" \
  --family poisson -y Patents -x lgRD -z RDS -k 2 --seed 1 --restarts 3
case_units poisson_z "$D/patent.csv" 1 \
  "loglik:0 experts[0].coef.lgRD:0 experts[0].se.lgRD:0 gate[0].coef.RDS:1 gate[0].se.RDS:1
   gate[0].coef.(Intercept):0" \
  --family poisson -y Patents -x lgRD -z RDS -k 2 --seed 1 --restarts 3

# logistic, betablocker (Deaths out of Total ~ Treatment, gate on Center, K = 2): the expert
# input and the gate input together.
case_units logistic_xz "$D/betablocker.csv" 1,2 \
  "loglik:0 experts[0].coef.(Intercept):0 experts[0].coef.Treatment:1 experts[1].se.Treatment:1
   gate[0].coef.Center:1 gate[0].se.Center:1 gate[0].coef.(Intercept):0" \
  --family logistic --trials Total -y Deaths -x Treatment -z Center -k 2 --seed 1 --restarts 3

# The issue's line of slope 2 at 1e-300: one expert, x and y both tiny, against the closed
# form of the same line at scale 1 (ols in tests/tap.sh; at 1e-300 awk's own squares would
# underflow): the slope and its SE are the same, sigma and the intercept times 1e-300, the
# log-likelihood shifted by -20 log 1e-300.
awk 'BEGIN { print "x,y"; for (i = 1; i <= 20; i++) printf "%d,%.17g\n", i,
  2 * i + 1 + (i % 3 - 1) * 0.5 }' >"$TMPD/line1.csv"
scale "$TMPD/line1.csv" "$TMPD/line.csv" 1,2 -300
run_status 0 "a line of slope 2 at 1e-300 fits" -k 1 -q --json "$TMPD/line.json" "$TMPD/line.csv"
set -- $(ols "$TMPD/line1.csv")
check "1e-300: slope = the least-squares slope" \
  near "$(jget "$TMPD/line.json" 'experts[0].coef.x')" "$2" 1e-9
check "1e-300: intercept = the least-squares intercept times 1e-300" \
  near "$(jget "$TMPD/line.json" 'experts[0].coef.(Intercept)')" "$(awk -v b="$1" \
  'BEGIN { printf "%.17g", b * 1e-300 }')" 1e-9
check "1e-300: sigma = the ML sigma times 1e-300" \
  near "$(jget "$TMPD/line.json" experts[0].sigma)" "$(awk -v s="$3" \
  'BEGIN { printf "%.17g", s * 1e-300 }')" 1e-9
check "1e-300: log-likelihood = the closed form - n log 1e-300" \
  near "$(jget "$TMPD/line.json" loglik)" "$(awk -v l="$4" \
  'BEGIN { printf "%.17g", l + 20 * 300 * log(10) }')" 1e-9
check "1e-300: SE(slope) = the closed form" \
  near "$(jget "$TMPD/line.json" 'experts[0].se.x')" "$6" 1e-5
tap_done
