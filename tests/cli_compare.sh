#!/bin/sh
# cli_compare.sh: `moefit compare-losses`, the classroom comparison of the three GD losses, on
# shipped data (mcycle, K = 3): the table, the teaching claims (the cooperative loss blends:
# the smallest squared error of the mixture mean and the softest gate; nll the largest
# log-likelihood), the side-by-side figure with --plot, and the usage errors.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"
D="$top_srcdir/datasets"

run_status 0 "compare-losses -k 3 mcycle" compare-losses -k 3 "$D/mcycle.csv"
check "the header names the three losses" grep -q "^  *nll  *competitive  *cooperative\$" \
  "$TMPD/out"
# row LABEL: the three numbers of a table row
row() { grep "^$1 " "$TMPD/out" | awk '{print $(NF-2), $(NF-1), $NF}'; }
set -- $(row "MSE of the mixture mean")
check "cooperative has the smallest MSE of the mixture mean ($1 $2 $3)" \
  awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { exit !(c < a && c < b) }'
set -- $(row "log-likelihood")
check "nll has the largest log-likelihood ($1 $2 $3)" \
  awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { exit !(a > b && a > c) }'
set -- $(row "mean max_i g_i")
check "cooperative has the softest gate: smallest mean max g ($1 $2 $3)" \
  awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { exit !(c < a && c < b) }'
set -- $(row "gate entropy (nats)")
check "cooperative has the largest gate entropy ($1 $2 $3)" \
  awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { exit !(c > a && c > b) }'
# hard sizes add up to n in every column
check "hard sizes add up to 133 rows in each column" awk '
  /hard size/ { a += $(NF-2); b += $(NF-1); c += $NF }
  END { exit !(a == 133 && b == 133 && c == 133) }' "$TMPD/out"
check "no NaN in the table" sh -c "! grep -qi nan '$TMPD/out'"

if command -v gnuplot >/dev/null 2>&1; then
  run_status 0 "compare-losses --plot" compare-losses -k 3 --epochs 300 --plot "$TMPD/figs" \
    "$D/mcycle.csv"
  for f in compare.png compare.gp nll/gating.dat competitive/regimes.dat \
    cooperative/gating.png; do
    check "--plot wrote $f" test -s "$TMPD/figs/$f"
  done
  check "compare.gp draws six panels" test "$(grep -c '^plot\|^  plot' "$TMPD/figs/compare.gp")" -ge 6
else
  ok "# SKIP gnuplot not found: no --plot test"
fi

# --family: MLP experts; the nll column is the fit that `fit --train gd` makes from the same
# start (one k-means start, the same seed and epochs)
run_status 0 "compare-losses --family mlp:4 -k 2" compare-losses --family mlp:4 -k 2 \
  --epochs 200 "$D/mcycle.csv"
check "the header names the family" grep -q "K = 2 mlp:4 experts" "$TMPD/out"
set -- $(row "log-likelihood")
ll_cmp=$1
run_status 0 "fit --train gd --family mlp:4 -k 2 from the same start" fit --train gd \
  --family mlp:4 -k 2 --epochs 200 --init kmeans --restarts 1 --no-se --no-lrt -q \
  --json "$TMPD/mlp.json" "$D/mcycle.csv"
ll_fit=$(jget "$TMPD/mlp.json" loglik)
check "compare-losses' nll log-likelihood is that fit's ($ll_cmp, $ll_fit)" \
  near "$ll_cmp" "$ll_fit" 0 6e-5
run_status 64 "compare-losses --family mlp:0" compare-losses --family mlp:0 "$D/mcycle.csv"
err_has "hidden units must be a whole number" "compare-losses --family mlp:0: the message"

run_status 64 "compare-losses without data" compare-losses -k 3
err_has "no data file given" "compare-losses without data: the message"
run_status 64 "compare-losses --lr -1" compare-losses --lr -1 "$D/mcycle.csv"
err_has "learning rate" "compare-losses --lr -1: the message"
run_status 64 "compare-losses --format without --plot" compare-losses --format svg \
  "$D/mcycle.csv"
run_status 64 "compare-losses --loss (not an option here)" compare-losses --loss nll \
  "$D/mcycle.csv"

tap_done
