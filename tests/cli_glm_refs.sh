#!/bin/sh
# cli_glm_refs.sh: Poisson and logistic mixtures of experts on the shipped GLM data against
# R flexmix: moefit's best log-likelihood matches or beats flexmix's best of 20 restarts, with
# the same number of free parameters. The flexmix numbers are tests/R/glm_references.txt,
# printed by tests/R/flexmix_glm.R (R 4.2.2, flexmix 2.3-18: stepFlexmix(..., nrep = 20)
# after set.seed(1), FLXMRglm(family = "poisson"/"binomial"), FLXPmultinom(~ z),
# tolerance 1e-10, minprior 0); each is printed to 10 significant digits, so "matches" allows
# 1e-6 for the rounding of the printed value.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"
D="$top_srcdir/datasets"
R="$top_srcdir/tests/R/glm_references.txt"

# ref NAME K FIELD: the number flexmix gave
ref() { awk -v n="$1" -v k="K=$2" -v f="$3" '$1 == n && $2 == k && $3 == f {print $4}' "$R"; }

# case NAME DATA K OPTIONS...: fits and compares
case_() {
  name=$1; data=$2; k=$3; shift 3
  rl=$(ref "$name" "$k" loglik); wdf=$(ref "$name" "$k" df)
  if [ -z "$rl" ]; then not_ok "$name K = $k: no reference in glm_references.txt"; return; fi
  run_status 0 "$name K = $k fits" fit -q "$@" -k "$k" --tol 1e-10 --restarts 20 \
    --json "$TMPD/r.json" "$D/$data"
  got=$(jget "$TMPD/r.json" loglik); gdf=$(jget "$TMPD/r.json" df)
  check "$name K = $k: loglik $got >= flexmix $rl - 1e-6" \
    awk -v g="$got" -v w="$rl" 'BEGIN { exit !(g >= w - 1e-6) }'
  check "$name K = $k: df $gdf = flexmix's $wdf" test "$gdf" = "$wdf"
}

case_ patent patent.csv 1 --family poisson -y Patents -x lgRD -z RDS
case_ patent patent.csv 2 --family poisson -y Patents -x lgRD -z RDS
case_ patent patent.csv 3 --family poisson -y Patents -x lgRD -z RDS
case_ npreg_poisson npreg.csv 1 --family poisson -y yp -x x
case_ npreg_poisson npreg.csv 2 --family poisson -y yp -x x
# npreg's 0/1 response yb is left out: its true model has P(yb = 1 | x) = 1/2 for every x,
# so a two-expert mixture is not identified, and flexmix's best of 20 (-134.2809545) is two
# step functions whose likelihood still rises as their slopes grow; moefit stops earlier, at
# -135.96 with 100 starts (-137.49 with 20). Recorded as a known gap, not a reference.
case_ trypanosome trypanosome.csv 2 --family logistic -y Dead -x Dose -z Dose
case_ betablocker betablocker.csv 2 --family logistic --trials Total -y Deaths -x Treatment -z ''
case_ betablocker betablocker.csv 3 --family logistic --trials Total -y Deaths -x Treatment -z ''
case_ seizure seizure.csv 1 --family poisson --offset logHours -y Seizures \
  -x Treatment,logDay,TreatmentlogDay -z ''
case_ seizure seizure.csv 2 --family poisson --offset logHours -y Seizures \
  -x Treatment,logDay,TreatmentlogDay -z ''
tap_done
