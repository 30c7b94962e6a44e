#!/bin/sh
# cli_glm.sh: the GLM expert families and observation weights from the command line: `moefit
# fit --family poisson|logistic` with --offset, --trials and --weights on small fixtures
# (tests/glm/) against closed forms, --json and -o with predict, every bad-input case (exit 65
# with FILE:LINE:COLUMN, nothing written), the usage errors (exit 64), and `moefit simulate
# --family`.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# Reference numbers are closed forms of the maximum-likelihood estimates, derived by hand from
# the fixtures in the comments beside them; numbers are read from the --json output (full
# precision) and compared to 6 significant digits (relative 1e-6) with awk.
. "$top_srcdir/tests/tap.sh"
G="$top_srcdir/tests/glm"

# value FILE KEY [N]: the number after the Nth (default 1st) '"KEY": ' in a JSON file written
# by moefit (one key per line).
value() {
  sed -n "s/^ *\"$2\": \([^,]*\),\{0,1\}\$/\1/p" "$1" | sed -n "${3:-1}p"
}
# near GOT WANT_AWK_EXPR: GOT within 1e-6 relative of the awk expression (log, exp, sqrt).
near() {
  awk -v g="$1" "BEGIN { w = $2; d = g - w; if (d < 0) d = -d; a = w < 0 ? -w : w
    if (g == \"\" || d > 1e-6 * a) { printf \"# got %s, want %.10g\\n\", g, w; exit 1 } }"
}
# check_near DESCRIPTION GOT WANT_AWK_EXPR
check_near() { d=$1; shift; if near "$@"; then ok "$d"; else not_ok "$d"; fi; }

# ---- poisson with a binary input (tests/glm/counts.csv): x = 0: y = 2 3 1 4 0, sum S0 = 10,
# mean 2; x = 1: y = 5 7 6 3 8 4, sum S1 = 33, mean 5.5. Saturated in the groups: intercept
# log 2, slope log(5.5/2); SEs sqrt(1/S0) and sqrt(1/S0 + 1/S1) (inverse information);
# loglik = sum log Pois(y; group mean) = -20.941122 (the same sum by awk below).
run_status 0 "fit --family poisson" fit --family poisson -k 1 --restarts 1 -q \
  --json "$TMPD/pois.json" "$G/counts.csv"
check "poisson: the family line" \
  grep -q "^Mixture of 1 Poisson log-linear expert with a softmax gate, n = 11\$" "$TMPD/out"
check "poisson: no sigma in the summary" sh -c "! grep -qi 'sigma\\|residual SD' '$TMPD/out'"
check "poisson: summary intercept 0.693147" grep -q "^(Intercept)  *0\\.693147 " "$TMPD/out"
check "--json has \"family\": \"poisson\"" grep -q '"family": "poisson"' "$TMPD/pois.json"
check_near "poisson: intercept = log mean(y | x=0)" \
  "$(value "$TMPD/pois.json" '(Intercept)')" "log(2)"
check_near "poisson: slope = log of the ratio of the means" \
  "$(value "$TMPD/pois.json" x)" "log(5.5 / 2)"
check_near "poisson: SE(intercept) = sqrt(1/S0)" \
  "$(value "$TMPD/pois.json" '(Intercept)' 2)" "sqrt(1 / 10)"
check_near "poisson: SE(slope) = sqrt(1/S0 + 1/S1)" \
  "$(value "$TMPD/pois.json" x 2)" "sqrt(1 / 10 + 1 / 33)"
LL=$(awk -F, 'NR > 1 { mu = $1 == 0 ? 2 : 5.5; lf = 0; for (i = 2; i <= $2; i++) lf += log(i)
  ll += $2 * log(mu) - mu - lf } END { printf "%.17g", ll }' "$G/counts.csv")
check_near "poisson: loglik = sum log Pois(y; group mean)" "$(value "$TMPD/pois.json" loglik)" "$LL"
check "poisson: df 2 (no sigma)" test "$(value "$TMPD/pois.json" df)" = 2
check_near "poisson: AIC = -2 loglik + 2 df" "$(value "$TMPD/pois.json" aic)" "-2 * ($LL) + 4"
check_near "poisson: BIC = -2 loglik + df log n" "$(value "$TMPD/pois.json" bic)" \
  "-2 * ($LL) + 2 * log(11)"

# ---- poisson with --offset (tests/glm/exposure.csv, lexp = log exposure t): x = 0: sum y = 15
# over sum t = 8 (rate 1.875); x = 1: sum y = 28 over sum t = 8 (rate 3.5). Intercept
# log 1.875, slope log(3.5/1.875); SEs sqrt(1/15) and sqrt(1/15 + 1/28).
run_status 0 "fit --family poisson --offset lexp" fit --family poisson --offset lexp -k 1 \
  --restarts 1 -q --json "$TMPD/off.json" -o "$TMPD/off-model.json" "$G/exposure.csv"
check "--offset: the offset is not an input" sh -c "! grep -q '\"lexp\"' '$TMPD/off.json'"
check_near "--offset: intercept = log(sum y / sum t | x=0)" \
  "$(value "$TMPD/off.json" '(Intercept)')" "log(1.875)"
check_near "--offset: slope = log of the ratio of the rates" \
  "$(value "$TMPD/off.json" x)" "log(3.5 / 1.875)"
check_near "--offset: SE(slope) = sqrt(1/15 + 1/28)" \
  "$(value "$TMPD/off.json" x 2)" "sqrt(1 / 15 + 1 / 28)"
check "-o wrote the poisson model" grep -q '"poisson"' "$TMPD/off-model.json"
# predict: the mean of row r is rate(x) * t: row 1 (x 0, t 1) 1.875, row 3 (x 0, t 4) 7.5,
# row 6 (x 1, t 3) 10.5; the SD of a Poisson is sqrt(mean)
run_status 0 "predict with the offset column" predict "$TMPD/off-model.json" "$G/exposure.csv"
check "predict: header mean,sd,g1,expert" test "$(head -n 1 "$TMPD/out")" = "mean,sd,g1,expert"
check "predict: one line per row (8 + header)" test "$(wc -l < "$TMPD/out")" -eq 9
check_near "predict: row 1 mean = 1.875 (rate, t = 1)" "$(sed -n 2p "$TMPD/out" | cut -d, -f1)" \
  "1.875"
check_near "predict: row 3 mean = 7.5 (t = 4)" "$(sed -n 4p "$TMPD/out" | cut -d, -f1)" "7.5"
check_near "predict: row 6 mean = 10.5 (x = 1, t = 3)" "$(sed -n 7p "$TMPD/out" | cut -d, -f1)" \
  "10.5"
check_near "predict: row 6 sd = sqrt(10.5)" "$(sed -n 7p "$TMPD/out" | cut -d, -f2)" "sqrt(10.5)"
cut -d, -f1,3 "$G/exposure.csv" > "$TMPD/nooffset.csv"
run_status 65 "predict without the offset column" predict "$TMPD/off-model.json" \
  "$TMPD/nooffset.csv"
err_has "no column 'lexp'" "predict: the error names the offset column"
check "predict: nothing on stdout on failure" test ! -s "$TMPD/out"

# ---- logistic 0/1 with a binary input (tests/glm/binary.csv): x = 0: 3 ones in 10 (p0 0.3);
# x = 1: 6 in 8 (p1 0.75). Intercept logit 0.3, slope logit 0.75 - logit 0.3; SE(intercept) =
# sqrt(1/(n0 p0 (1-p0))) = sqrt(1/2.1); loglik = sum_g n_g (p log p + (1-p) log(1-p)).
run_status 0 "fit --family logistic" fit --family logistic -k 1 --restarts 1 -q \
  --json "$TMPD/logit.json" "$G/binary.csv"
check "logistic: the family line" \
  grep -q "^Mixture of 1 logistic expert with a softmax gate, n = 18\$" "$TMPD/out"
check "--json has \"family\": \"logistic\"" grep -q '"family": "logistic"' "$TMPD/logit.json"
check_near "logistic: intercept = logit p0" "$(value "$TMPD/logit.json" '(Intercept)')" \
  "log(0.3 / 0.7)"
check_near "logistic: slope = logit p1 - logit p0" "$(value "$TMPD/logit.json" x)" \
  "log(0.75 / 0.25) - log(0.3 / 0.7)"
check_near "logistic: SE(intercept) = sqrt(1/(n0 p0 (1-p0)))" \
  "$(value "$TMPD/logit.json" '(Intercept)' 2)" "sqrt(1 / (10 * 0.3 * 0.7))"
check_near "logistic: loglik at the group proportions" "$(value "$TMPD/logit.json" loglik)" \
  "10 * (0.3 * log(0.3) + 0.7 * log(0.7)) + 8 * (0.75 * log(0.75) + 0.25 * log(0.25))"

# ---- logistic with --trials (tests/glm/binomial.csv, intercept only): sum y = 11 successes out
# of sum n = 20: intercept logit 0.55, SE 1/sqrt(20 * 0.55 * 0.45).
run_status 0 "fit --family logistic --trials n" fit --family logistic --trials n -k 1 \
  --restarts 1 -q --json "$TMPD/binom.json" "$G/binomial.csv"
check_near "--trials: intercept = logit(sum y / sum n)" \
  "$(value "$TMPD/binom.json" '(Intercept)')" "log(0.55 / 0.45)"
check_near "--trials: SE = 1/sqrt(N p (1-p))" "$(value "$TMPD/binom.json" '(Intercept)' 2)" \
  "1 / sqrt(20 * 0.55 * 0.45)"

# ---- --weights (tests/glm/weighted.csv) against the rows written out that many times: x = 0:
# sum w y = 10 over sum w = 5 (mean 2); x = 1: 21 over 4 (mean 5.25); BIC's n is sum w = 9.
awk -F, 'NR == 1 { print "x,y" } NR > 1 { for (i = 0; i < $2; i++) print $1 "," $3 }' \
  "$G/weighted.csv" > "$TMPD/replicated.csv"
run_status 0 "fit --weights w" fit --family poisson --weights w -k 1 --restarts 1 -q \
  --json "$TMPD/w.json" "$G/weighted.csv"
run_status 0 "fit on the replicated rows" fit --family poisson -k 1 --restarts 1 -q \
  --json "$TMPD/rep.json" "$TMPD/replicated.csv"
check "--weights: the weights are not an input" sh -c "! grep -q '\"w\"' '$TMPD/w.json'"
check_near "--weights: intercept = log weighted mean" "$(value "$TMPD/w.json" '(Intercept)')" \
  "log(2)"
check_near "--weights: slope = log(5.25 / 2)" "$(value "$TMPD/w.json" x)" "log(5.25 / 2)"
for key in loglik aic bic; do
  check_near "--weights: $key = the replicated fit's" "$(value "$TMPD/w.json" $key)" \
    "$(value "$TMPD/rep.json" $key)"
done
check_near "--weights: SE(slope) = the replicated fit's" "$(value "$TMPD/w.json" x 2)" \
  "$(value "$TMPD/rep.json" x 2)"

# ---- bad input: exit 65, FILE:LINE:COLUMN (line 1 is the header), nothing written
# bad NAME STATUS WHERE DESCRIPTION ARGS...: runs fit ARGS with -o $TMPD/NAME.json on
# $TMPD/NAME.csv (written before), wants STATUS, WHERE on stderr and no model file.
bad() {
  name=$1; want=$2; where=$3; d=$4; shift 4
  run_status "$want" "$d" fit "$@" -k 1 --restarts 1 -q -o "$TMPD/$name.json" "$TMPD/$name.csv"
  err_has "$where" "$d: the error says '$where'"
  check "$d: no model file written" test ! -e "$TMPD/$name.json"
  check "$d: no partial file left" sh -c "! ls -A '$TMPD' | grep -q '^$name\\.json.'"
}
printf 'x,y\n0,1\n1,-1\n2,3\n' > "$TMPD/negcount.csv"
bad negcount 65 "negcount.csv:3:2: response -1" "poisson: negative count" --family poisson
printf 'x,y\n0,1\n1,2\n2,2.5\n' > "$TMPD/fraccount.csv"
bad fraccount 65 "fraccount.csv:4:2: response 2.5" "poisson: count 2.5" --family poisson
printf 'x,y\n0,1\n1,0\n2,2\n' > "$TMPD/two.csv"
bad two 65 "two.csv:4:2: response 2" "logistic: y = 2" --family logistic
printf 'x,n,y\n0,3,1\n1,3,4\n2,3,0\n' > "$TMPD/above.csv"
bad above 65 "above.csv:3:3: response 4" "logistic: y above --trials" --family logistic --trials n
printf 'x,n,y\n0,3,1\n1,0,0\n2,3,0\n' > "$TMPD/zerotrials.csv"
bad zerotrials 65 "zerotrials.csv:3:2:" "logistic: trials 0" --family logistic --trials n
printf 'x,n,y\n0,3,1\n1,3,0\n2,-2,0\n' > "$TMPD/negtrials.csv"
bad negtrials 65 "negtrials.csv:4:2:" "logistic: trials -2" --family logistic --trials n
printf 'x,w,y\n0,1,1\n1,-1,2\n2,1,3\n' > "$TMPD/negw.csv"
bad negw 65 "negw.csv:3:2:" "negative weight" --family poisson --weights w
printf 'x,w,y\n0,0,1\n1,0,2\n2,0,3\n' > "$TMPD/zerow.csv"
bad zerow 65 "zerow.csv" "all weights 0" --weights w
err_has "'w'" "all weights 0: the error names the column"
printf 'x,w,y\n0,1,1\n1,1,2\n2,NaN,3\n' > "$TMPD/nanw.csv"
bad nanw 65 "nanw.csv:4:2:" "NaN weight" --family logistic --weights w

# ---- usage errors: exit 64, nothing written
printf 'x,t,y\n0,1,1\n1,1,0\n2,1,1\n' > "$TMPD/use.csv"
bad use 64 "--offset" "--offset without --family poisson" --offset t
err_has "poisson" "--offset: the error says which family takes it"
bad use 64 "--offset" "--offset with --family logistic" --family logistic --offset t
bad use 64 "--trials" "--trials without --family logistic" --trials t
err_has "logistic" "--trials: the error says which family takes it"
bad use 64 "--trials" "--trials with --family poisson" --family poisson --trials t
bad use 64 "weibull" "--family weibull" --family weibull
err_has "gaussian, poisson, logistic" "--family weibull: the message lists the families"

# ---- simulate --family
run_status 0 "simulate --family poisson" simulate --family poisson -k 2 -n 300 --seed 5 \
  -o "$TMPD/simp.csv"
check "simulate --family poisson: header x1,y" test "$(head -n 1 "$TMPD/simp.csv")" = "x1,y"
check "simulate --family poisson: 300 rows" test "$(wc -l < "$TMPD/simp.csv")" -eq 301
check "simulate --family poisson: y are non-negative integers" \
  sh -c "! tail -n +2 '$TMPD/simp.csv' | cut -d, -f2 | grep -qvE '^[0-9]+\$'"
run_status 0 "fit --family poisson -k 2 on the simulated counts" fit --family poisson -k 2 \
  --restarts 2 -q "$TMPD/simp.csv"
check "the simulated counts fit: 2 Poisson experts" \
  grep -q "^Mixture of 2 Poisson log-linear experts" "$TMPD/out"
run_status 0 "simulate --family logistic" simulate --family logistic -k 2 -n 100 --seed 5 \
  -o "$TMPD/siml.csv"
check "simulate --family logistic: y are 0 or 1" \
  sh -c "! tail -n +2 '$TMPD/siml.csv' | cut -d, -f2 | grep -qvE '^[01]\$'"
run_status 64 "simulate --family weibull" simulate --family weibull -o "$TMPD/simw.csv"
err_has "gaussian, poisson, logistic" "simulate --family weibull: the message lists the families"
check "simulate --family weibull: nothing written" test ! -e "$TMPD/simw.csv"

tap_done
