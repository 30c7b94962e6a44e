#!/bin/sh
# cli_summary.sh: `moefit summary MODEL.json` prints the fit's summary again without
# refitting (issue 13): its coefficient tables, priors, sizes, log-likelihood and criteria
# equal, line for line, those `moefit fit` printed when it saved the model (a flat Gaussian
# fit of mcycle whose gate separates, a tree of sim_2inputs and a Poisson fit of seizure),
# and so do its warnings; an older model file
# without the "fit" record still prints its estimates (SEs NA); usage and bad records fail
# with the documented exit statuses.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"
D="$top_srcdir/datasets"

# tables FILE: the summary's coefficient tables and statistics, from the first expert to
# the AIC line (the Call line and the iterations, selection and warnings are the fit's own).
# (the gate's likelihood-ratio tests are not recorded in the model file: left out of both,
# from their header to the line before the signif. codes' "---", which takes a tree's
# two-line header and per-input rows too)
tables() { sed -n '/^Expert 1/,/^AIC:/p' "$1" | sed '/^Likelihood-ratio tests/,/^---/{/^---/!d;}' |
  grep -v -e '^Likelihood-ratio tests' -e '^gate inputs left out' -e '(constant gate)' \
  -e '^Note: for .* the Wald test'; }

# same_tables NAME FIT-ARGS...: fits with FIT-ARGS, saves the model, summarises it again.
same_tables() {
  name=$1; shift
  "$MOEFIT" fit -q "$@" -o "$TMPD/$name.json" >"$TMPD/$name.a" 2>"$TMPD/err" ||
    { not_ok "$name: fit (exit $?)"; sed 's/^/# /' "$TMPD/err"; return; }
  run_status 0 "$name: moefit summary" summary "$TMPD/$name.json"
  cp "$TMPD/out" "$TMPD/$name.b"
  tables "$TMPD/$name.a" >"$TMPD/$name.ta"
  tables "$TMPD/$name.b" >"$TMPD/$name.tb"
  if [ -s "$TMPD/$name.ta" ] && grep -q 'Std. Error' "$TMPD/$name.ta" &&
     cmp -s "$TMPD/$name.ta" "$TMPD/$name.tb"; then
    ok "$name: the same coefficient tables, log-likelihood and criteria, byte for byte"
  else
    not_ok "$name: the tables differ"; diff "$TMPD/$name.ta" "$TMPD/$name.tb" | sed 's/^/# /' | head -20
  fi
}

same_tables mcycle -k 2 --seed 3 -x times "$D/mcycle.csv"
check "mcycle: SEs are numbers, not NA, in the summary of the file" \
  grep -q '^times  *-\{0,1\}[0-9.e-]*  *[0-9.e-]*  *-\{0,1\}[0-9.]* ' "$TMPD/mcycle.b"
check "mcycle: the file records the log-likelihood and the SEs" \
  grep -q '"loglik"' "$TMPD/mcycle.json"
check "mcycle: the summary says what it cannot show" \
  grep -q "from a saved model: the fit's iterations and model selection are not" "$TMPD/mcycle.b"
# a fit whose gate separates (K = 3): the separation note and the fit's warnings (a ridge
# count, a redrawn start, the separation and the SE caveat) come back from the file
same_tables mcycle3 -k 3 --seed 1 "$D/mcycle.csv"
na=$(grep -c '^Note: the gate separates' "$TMPD/mcycle3.a"); nb=$(grep -c '^Note: the gate separates' "$TMPD/mcycle3.b")
check "mcycle K = 3: the separation note is kept ($na in the fit, $nb in the summary)" \
  sh -c "test '$na' = 1 && test '$nb' = 1"
sed -n '/^Warnings:/,$p' "$TMPD/mcycle3.a" > "$TMPD/wa"
sed -n '/^Warnings:/,$p' "$TMPD/mcycle3.b" > "$TMPD/wb"
check "mcycle K = 3: the fit has warnings" grep -q 'gate separates the regimes' "$TMPD/wa"
check "mcycle K = 3: the same warnings, from the file" cmp -s "$TMPD/wa" "$TMPD/wb"
same_tables tree --tree 2x2 --seed 2 "$D/sim_2inputs.csv"
same_tables seizure --family poisson -k 2 -y Seizures -x Treatment \
  -z Treatment "$D/seizure.csv"

# an older file: no "fit" and no "ranges" (as written before issue 13)
cat > "$TMPD/old.json" <<'JSON'
{
  "format": "moefit-model",
  "version": 1,
  "expert": "gaussian",
  "gate": "softmax",
  "k": 2,
  "response": "y",
  "inputs": ["x"],
  "gate_inputs": ["x"],
  "experts": [
    {"beta": [1, 2], "sigma": 0.5},
    {"beta": [-1, 0.5], "sigma": 1}
  ],
  "gate_coef": [[0, 3]]
}
JSON
run_status 0 "an old model file without the fit record" summary "$TMPD/old.json"
check "old file: the estimates, with NA for SE, z and p" \
  grep -q '^x  *2  *NA  *NA  *NA$' "$TMPD/out"
check "old file: the gate's estimates" grep -q '^x  *3  *NA  *NA  *NA$' "$TMPD/out"
check "old file: n and the log-likelihood not known" \
  sh -c "grep -q 'n not recorded' '$TMPD/out' && grep -q '^Log-likelihood: NA' '$TMPD/out'"
check "old file: no prior or size invented" sh -c "! grep -q 'prior' '$TMPD/out'"
# predict still takes the old file
printf 'x\n0.5\n' > "$TMPD/x.csv"
run_status 0 "predict takes the old model file" predict "$TMPD/old.json" "$TMPD/x.csv"

# a malformed record: a data error naming the field, nothing on stdout
sed 's/"gate_inputs": \["x"\],/"gate_inputs": ["x"], "fit": {"loglik": -1, "aic": 2, "bic": 3, "icl": 4, "prior": [0.5, 0.5], "size": [1, 1], "se": [[1, 1, 1], [1, "a", 1], [1, 1]]},/' \
  "$TMPD/old.json" > "$TMPD/badrec.json"
run_status 65 "a malformed record is a data error" summary "$TMPD/badrec.json"
err_has 'fit.se[1][1]: must be a finite number >= 0 or null' "the message names the field"
check "nothing printed for a bad file" test ! -s "$TMPD/out"

run_status 64 "summary without a model file" summary
run_status 64 "summary with two files" summary "$TMPD/old.json" "$TMPD/old.json"
run_status 64 "summary with an unknown option" summary --frobnicate "$TMPD/old.json"
run_status 66 "summary of a missing file" summary "$TMPD/nope.json"
run_status 0 "moefit help summary" help summary
check "help names the command" grep -q 'Usage: moefit summary MODEL.json' "$TMPD/out"
tap_done
