#!/bin/sh
# cli_mlp.sh: MLP experts (--family mlp:H[:tanh|relu]) from the command line: on mcycle a K = 2
# mixture of mlp:8 experts far above K = 2 linear experts, the summary without a coefficient
# table, the model file's spec, predict, summary, simulate and plot from the saved model, the
# same fit for 1 and 2 threads, and the usage errors (malformed specs, EM: exit 64).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"
D="$top_srcdir/datasets"

# mcycle, K = 2, --train gd --restarts 4 --no-lrt, seed 1 (measured 2026-12-02 with this
# build): mlp:8 experts reach log-likelihood -544.73, linear experts -615.69 (EM's own K = 2
# optimum is -614.54, moefit fit -k 2). The check asks for a gap of at least 50.
# (no --train: mlp experts are trained by gradient descent without being asked)
run_status 0 "fit --family mlp:8 -k 2 on mcycle (GD without --train)" fit --family mlp:8 -k 2 \
  --restarts 4 --no-lrt -q --json "$TMPD/mlp.json" -o "$TMPD/mlp-model.json" "$D/mcycle.csv"
cp "$TMPD/out" "$TMPD/mlp-summary"
# the rows rule counts a linear expert's 3 parameters for an MLP (not its 26 weights): the
# experts on about 24 and 109 rows are not called spurious
check "mlp:8 experts on 24 and 109 rows: no spurious-expert warning" \
  sh -c "! grep -q 'spurious' '$TMPD/mlp-summary' '$TMPD/err'"
ll_mlp=$(sed -n 's/^Log-likelihood: \([-0-9.]*\) .*/\1/p' "$TMPD/mlp-summary")

# The gate's LR test refits the reduced model (a constant gate) by the same search; where the
# reduced fit is higher, the full search missed its model's best and the summary must say so.
run_status 0 "fit --family mlp:8 -k 2 with the gate's LR test" fit --family mlp:8 -k 2 \
  --json "$TMPD/lrt.json" "$D/mcycle.csv"
ll=$(jget "$TMPD/lrt.json" loglik); llr=$(jget "$TMPD/lrt.json" gate_lrt[0].loglik_reduced)
missed=$(jget "$TMPD/lrt.json" gate_lrt[0].search_missed)
check "json: search_missed ($missed) says whether the reduced fit ($llr) beat the full ($ll)" \
  awk -v a="$llr" -v b="$ll" -v m="$missed" \
  'BEGIN { exit !(a != "" && b != "" && (m == "true" || m == "false") && (a + 0 > b + 0) == (m == "true")) }'
if [ "$missed" = true ]; then
  check "summary: the note says the search missed this model's best" \
    grep -q "^Note: a reduced model reached a higher log-likelihood ($(printf %.4f "$llr"))" \
    "$TMPD/out"
else
  check "summary: no missed-search note" sh -c "! grep -q 'the search missed' '$TMPD/out'"
fi
# The default run's search may or may not miss (measured 2026-12-04: the fit -544.75, the
# constant gate -551.83, no note), so the check above follows its JSON. One start reaches
# its model's best far less often: with --restarts 1, seeds 3, 5 and 7 the fit stopped at
# -583.85, -581.98 and -577.30 while the constant gate reached -572.38, -565.61 and -553.38
# (seeds 2, 4, 6 did not miss). Which seeds miss moves with the last bit of the arithmetic
# (a vector log changed two of them), so of these three at least one must miss, and each that
# does must say so, in the JSON and the summary's note.
n_missed=0
for seed in 3 5 7; do
  run_status 0 "fit --family mlp:8 -k 2 --restarts 1 --seed $seed" fit --family mlp:8 -k 2 \
    --restarts 1 --seed $seed --json "$TMPD/lrt$seed.json" "$D/mcycle.csv"
  ll=$(jget "$TMPD/lrt$seed.json" loglik)
  llr=$(jget "$TMPD/lrt$seed.json" gate_lrt[0].loglik_reduced)
  missed=$(jget "$TMPD/lrt$seed.json" gate_lrt[0].search_missed)
  check "seed $seed: search_missed ($missed): the reduced fit ($llr) beat the full ($ll)?" \
    awk -v a="$llr" -v b="$ll" -v m="$missed" \
    'BEGIN { exit !(a != "" && b != "" && (m == "true" || m == "false") && (a + 0 > b + 0) == (m == "true")) }'
  if [ "$missed" = true ]; then
    n_missed=$((n_missed + 1))
    check "seed $seed: the note says the search missed this model's best" \
      grep -q "^Note: a reduced model reached a higher log-likelihood ($(printf %.4f "$llr"))" \
      "$TMPD/out"
  else
    check "seed $seed: no missed-search note" sh -c "! grep -q 'the search missed' '$TMPD/out'"
  fi
done
check "one start: at least one of seeds 3, 5, 7 misses the model's best ($n_missed did)" \
  test "$n_missed" -ge 1
run_status 0 "fit --train gd -k 2 (linear experts) on mcycle" fit --train gd -k 2 --restarts 4 \
  --no-lrt -q "$D/mcycle.csv"
ll_lin=$(sed -n 's/^Log-likelihood: \([-0-9.]*\) .*/\1/p' "$TMPD/out")
check "mlp:8 log-likelihood ($ll_mlp) exceeds linear ($ll_lin) by at least 50" \
  awk -v a="$ll_mlp" -v b="$ll_lin" 'BEGIN { exit !(a != "" && b != "" && a - b >= 50) }'
check "summary: the call names the spec" grep -q "family = mlp:8:tanh, k = 2)" "$TMPD/mlp-summary"
check "summary: no coefficient table for the experts" \
  sh -c "! grep -q '^Coefficients:' '$TMPD/mlp-summary'"
check "summary: each expert's network, sigma and fit measures" sh -c \
  "[ \$(grep -c '^Network mlp:8:tanh: 25 weights (not interpretable one by one' '$TMPD/mlp-summary') -eq 2 ] &&
   [ \$(grep -c '^Residual SD: [0-9.]* (maximum-likelihood estimate)\$' '$TMPD/mlp-summary') -eq 2 ] &&
   [ \$(grep -c '^Fit to its rows (weighted by the posterior): RMSE [0-9.]*, R^2 [0-9.]*\$' '$TMPD/mlp-summary') -eq 2 ]"
check "summary: each expert's share and size" \
  sh -c "[ \$(grep -c '^Expert [12]: prior 0\.[0-9]*, size [0-9]*\$' '$TMPD/mlp-summary') -eq 2 ]"
check "json: each expert's sigma, rmse and r2, no NaN" sh -c \
  "grep -q '\"rmse\"' '$TMPD/mlp.json' && grep -q '\"r2\"' '$TMPD/mlp.json' &&
   ! grep -qi nan '$TMPD/mlp.json'"
check "model file: the expert spec and the network's fields" sh -c \
  "grep -q '\"expert\": \"mlp:8:tanh\"' '$TMPD/mlp-model.json' && grep -q '\"W1\"' '$TMPD/mlp-model.json'"

run_status 0 "predict from the saved mlp model" predict "$TMPD/mlp-model.json" "$D/mcycle.csv"
check "predict: a header and 133 rows, all finite" sh -c \
  "[ \$(wc -l <'$TMPD/out') -eq 134 ] && ! grep -qi nan '$TMPD/out'"
run_status 0 "summary of the saved mlp model" summary "$TMPD/mlp-model.json"
check "saved summary: the networks, no coefficient table" sh -c \
  "grep -q '^Network mlp:8:tanh' '$TMPD/out' && ! grep -q '^Coefficients:' '$TMPD/out'"
run_status 0 "simulate from the saved mlp model" simulate --model "$TMPD/mlp-model.json" -n 50 \
  -o "$TMPD/sim.csv"
check "simulate: 50 rows, all finite" sh -c \
  "[ \$(wc -l <'$TMPD/sim.csv') -eq 51 ] && ! grep -qi nan '$TMPD/sim.csv'"
if command -v gnuplot >/dev/null 2>&1; then
  run_status 0 "plot the saved mlp model" plot "$TMPD/mlp-model.json" "$D/mcycle.csv" \
    -o "$TMPD/plots"
  check "plot: the regimes figure" test -s "$TMPD/plots/regimes.png"
else
  ok "# SKIP gnuplot not found: no plot test"
  ok "# SKIP gnuplot not found: no plot test"
fi

# a model file whose spec or network does not match: a data error (exit 65) naming the field
sed 's/"mlp:8:tanh"/"mlp:8:gelu"/' "$TMPD/mlp-model.json" >"$TMPD/bad-act.json"
run_status 65 "summary of a model file with activation gelu" summary "$TMPD/bad-act.json"
err_has "expert: mlp: unknown activation 'gelu' (tanh or relu)" "bad activation: the message"
sed 's/"mlp:8:tanh"/"mlp:9:tanh"/' "$TMPD/mlp-model.json" >"$TMPD/bad-h.json"
run_status 65 "predict from a model file of 9 hidden units but 8 rows of W1" predict \
  "$TMPD/bad-h.json" "$D/mcycle.csv"
err_has "experts[0].W1: must have 9 rows, not 8" "W1 of the wrong size: the message"

# relu, and the same fit whatever the thread count
OMP_NUM_THREADS=1 "$MOEFIT" fit --train gd --family mlp:4:relu --batch 16 --epochs 40 -k 2 \
  --restarts 2 --no-lrt -q --json "$TMPD/t1.json" "$D/mcycle.csv" >/dev/null 2>&1
OMP_NUM_THREADS=2 "$MOEFIT" fit --train gd --family mlp:4:relu --batch 16 --epochs 40 -k 2 \
  --restarts 2 --no-lrt -q --json "$TMPD/t2.json" "$D/mcycle.csv" >/dev/null 2>&1
check "mlp:4:relu: identical JSON with 1 and 2 threads" sh -c \
  "test -s '$TMPD/t1.json' && cmp -s '$TMPD/t1.json' '$TMPD/t2.json'"

# usage errors: malformed specs and EM
run_status 64 "--family mlp:0" fit --train gd --family mlp:0 "$D/mcycle.csv"
err_has "mlp: the hidden units must be a whole number from 1 to 1024, not '0'" "mlp:0: the message"
run_status 64 "--family mlp:x" fit --train gd --family mlp:x "$D/mcycle.csv"
err_has "not 'x'" "mlp:x: the message"
run_status 64 "--family mlp:8:sigmoid" fit --train gd --family mlp:8:sigmoid "$D/mcycle.csv"
err_has "mlp: unknown activation 'sigmoid' (tanh or relu)" "mlp:8:sigmoid: the message"
run_status 64 "--family mlp" fit --train gd --family mlp "$D/mcycle.csv"
err_has "mlp needs its hidden units: mlp:H[:tanh|relu]" "mlp without H: the message"
run_status 64 "--family gaussian:3" fit --family gaussian:3 "$D/mcycle.csv"
err_has "the gaussian family takes no options" "gaussian:3: the message"
run_status 64 "--family mlp:8 under --train em" fit --train em --family mlp:8 -k 2 "$D/mcycle.csv"
err_has "mlp experts are trained by gradient descent only: use --train gd" "EM: the message"
tap_done
