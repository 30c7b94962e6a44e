#!/bin/sh
# cli_hme.sh: hierarchical mixtures from the command line: moefit fit --tree (a tree, any
# depth, a GLM family, trees and flat K in one selection), the summary's node tables, the
# model file and JSON, predict's node columns, simulate --tree, the plots of a tree, and
# every malformed --tree refused with exit 64 saying what is wrong, and the likelihood-ratio
# tests of a tree's gate checked against a constant-gate tree fitted on its own.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"
D="$top_srcdir/datasets"

run_status 0 "fit --tree 2x2 mcycle" fit -q --tree 2x2 --restarts 3 -o "$TMPD/m.json" \
  --json "$TMPD/fit.json" "$D/mcycle.csv"
cp "$TMPD/out" "$TMPD/summary"
check "summary: a hierarchical mixture of 4 experts (tree 2x2: 3 gates)" \
  grep -q "Hierarchical mixture of 4 Gaussian linear experts (tree 2x2: 3 gates)" "$TMPD/summary"
check "summary: one gate table per node, named by its path" \
  sh -c "grep -q '^Node root (experts 1-4):' '$TMPD/summary' &&
         grep -q '^Node 1 (experts 1-2):' '$TMPD/summary' &&
         grep -q '^Node 2 (experts 3-4):' '$TMPD/summary' &&
         grep -q '^Branch 2.1 vs 2.2:' '$TMPD/summary'"
check "summary: every expert names its leaf" grep -q "^Expert 3 (leaf 2.1): prior" "$TMPD/summary"
check "model file: gate tree and its tree [2, 2]" \
  sh -c "grep -q '\"gate\": \"tree\"' '$TMPD/m.json' && tr -d ' \n' < '$TMPD/m.json' | grep -q '\"tree\":\[2,2\]'"
check "JSON: the tree, leaves and nodes" \
  sh -c "grep -q '\"tree\": \"2x2\"' '$TMPD/fit.json' && grep -q '\"leaf\": \"2.2\"' '$TMPD/fit.json' &&
         grep -q '\"node\": \"root\"' '$TMPD/fit.json' && grep -q '\"branch\": \"1.1\"' '$TMPD/fit.json'"

check "summary: the likelihood-ratio test of the tree's gate (every node constant, df K - 1 = 3)" \
  sh -c "grep -q 'for a tree, the same tree with the inputs left out at every node' '$TMPD/summary' &&
         grep -q '^all (constant gate)  *[0-9.]*  *3 ' '$TMPD/summary'"
# the reference: the same tree with no gate inputs (-z ''), fitted on its own by the same search
run_status 0 "fit --tree 2x2 -z '' (every node's gate constant)" fit -q --tree 2x2 --restarts 3 \
  -z '' --no-se --json "$TMPD/const.json" "$D/mcycle.csv"
check "JSON: gate_lrt statistic = 2 (L_full - L(the constant-gate tree fitted alone)), df 3" \
  sh -c "tr -d ' \n' < '$TMPD/fit.json' | sed 's/.*\"gate_lrt\":\[{//' > '$TMPD/lrt' &&
         grep -q '^\"dropped\":\"all\",' '$TMPD/lrt' &&
         ll=\$(tr -d ' \n' < '$TMPD/fit.json' | sed 's/.*\"loglik\":\([^,]*\),.*/\1/') &&
         lc=\$(tr -d ' \n' < '$TMPD/const.json' | sed 's/.*\"loglik\":\([^,]*\),.*/\1/') &&
         st=\$(sed 's/.*\"statistic\":\([^,]*\),.*/\1/' '$TMPD/lrt') &&
         df=\$(sed 's/^[^}]*\"df\":\([0-9]*\).*/\1/' '$TMPD/lrt') &&
         test \"\$df\" = 3 &&
         awk -v s=\"\$st\" -v a=\"\$ll\" -v b=\"\$lc\" 'BEGIN { d = s - 2 * (a - b); exit !(d * d < 1e-12) }'"
run_status 0 "fit --tree 2x2 --no-lrt" fit -q --tree 2x2 --restarts 3 --no-se --no-lrt "$D/mcycle.csv"
check "--no-lrt: no gate test table for the tree" sh -c "! grep -q 'Likelihood-ratio tests' '$TMPD/out'"

run_status 0 "predict --posterior with the tree" predict --posterior "$TMPD/m.json" "$D/mcycle.csv"
check "predict: leaf, node and posterior columns" test "$(head -n 1 "$TMPD/out")" = \
  "mean,sd,g1,g2,g3,g4,g_node1,g_node2,expert,h1,h2,h3,h4,h_node1,h_node2"
check "predict: g_node1 = g1 + g2 and h_node2 = h3 + h4 on every row" \
  awk -F, 'NR > 1 { if ((($7 - $3 - $4) ^ 2) > 1e-20 || (($15 - $12 - $13) ^ 2) > 1e-20) bad = 1 }
           END { exit bad }' "$TMPD/out"
check "predict: 133 rows" test "$(wc -l < "$TMPD/out")" -eq 134

run_status 0 "the same fit again" fit -q --tree 2x2 --restarts 3 -o "$TMPD/m2.json" "$D/mcycle.csv"
check "the same seed gives the same tree model byte for byte" cmp -s "$TMPD/m.json" "$TMPD/m2.json"
OMP_NUM_THREADS=1 "$MOEFIT" fit -q --tree 2x2 --restarts 3 -o "$TMPD/m3.json" "$D/mcycle.csv" \
  >/dev/null 2>&1
check "one thread gives the same tree model byte for byte" cmp -s "$TMPD/m.json" "$TMPD/m3.json"

run_status 0 "fit --tree 2x2,3x2,4 (one selection table)" fit -q --tree 2x2,3x2,4 --restarts 2 \
  --no-se "$D/mcycle.csv"
check "selection table: every model with its gate" \
  sh -c "grep -q '^2x2  *4 ' '$TMPD/out' && grep -q '^3x2  *6 ' '$TMPD/out' && grep -q '^flat  *4 ' '$TMPD/out'"
check "selection: exactly one chosen" test "$(grep -c '<- chosen' "$TMPD/out")" -eq 1

run_status 0 "simulate --tree 2x2x2 --family poisson" simulate --tree 2x2x2 --family poisson \
  --separation 1 -n 400 --seed 4 --truth "$TMPD/truth.json"
cp "$TMPD/out" "$TMPD/pois.csv"
check "simulate: the truth is a tree [2, 2, 2]" \
  sh -c "tr -d ' \n' < '$TMPD/truth.json' | grep -q '\"tree\":\[2,2,2\]'"
run_status 0 "fit --tree 2x2x2 --family poisson" fit -q --tree 2x2x2 --family poisson --restarts 2 \
  --no-se "$TMPD/pois.csv"
check "poisson leaves: a tree 2x2x2 of 8 experts with 7 gates" \
  grep -q "Hierarchical mixture of 8 Poisson .*(tree 2x2x2: 7 gates)" "$TMPD/out"
run_status 0 "simulate again from the fitted tree model" simulate -m "$TMPD/m.json" -n 20

if command -v gnuplot >/dev/null 2>&1; then
  run_status 0 "plot a tree" plot --along times -o "$TMPD/figs" "$TMPD/m.json" "$D/mcycle.csv"
  check "plot: the tree figure and its data" test -s "$TMPD/figs/tree.png" -a -s "$TMPD/figs/tree.dat"
  check "plot: the gating plot names the leaves" grep -q '^leafnames = "1.1 1.2 2.1 2.2"' "$TMPD/figs/gating.gp"
  check "tree.dat: 6 branches, 3 gates, 4 leaves" \
    awk '/^# index/ { i++ } !/^#/ && NF { n[i]++ } END { exit !(n[1] == 6 && n[2] == 3 && n[3] == 4) }' \
    "$TMPD/figs/tree.dat"
  run_status 0 "fit --tree 2x2,4 --plot" fit -q --tree 2x2,4 --restarts 2 --no-se \
    --plot "$TMPD/sel" "$D/mcycle.csv"
  check "selection plot of trees: the models named on the axis" \
    grep -q "^model_tics = \"set xtics ('2x2' 1, 'K=4' 2)\"" "$TMPD/sel/selection.gp"
else
  ok "# SKIP no gnuplot"
fi

# malformed trees: usage errors (64) that say what is wrong
bad() {
  run_status 64 "--tree '$1'" fit --tree "$1" "$D/mcycle.csv"
  err_has "$2" "--tree '$1': says '$2'"
}
bad 2x0 "every node needs at least 2 branches (0 given)"
bad 2x1 "every node needs at least 2 branches (1 given)"
bad 1 "a single leaf is no tree"
bad 2xb "whole numbers"
bad 2x "ends in x"
bad 2x2, "an entry is empty"
bad 8x8x2 "more than 64 leaves"
bad 8x8 "needs 318 free parameters but the data have only 133 rows"
run_status 64 "-k with --tree" fit -k 2 --tree 2x2 "$D/mcycle.csv"
err_has "-k and --tree cannot be combined" "-k with --tree: says so"
run_status 64 "--min-prior with --tree" fit --min-prior 0.1 --tree 2x2 "$D/mcycle.csv"
err_has "--min-prior cannot be used with --tree" "--min-prior with --tree: says so"
run_status 64 "simulate --tree 3x0" simulate --tree 3x0
err_has "every node needs at least 2 branches (0 given)" "simulate --tree 3x0: says so"
run_status 64 "simulate -k with --tree" simulate -k 3 --tree 2x2
run_status 65 "a model file with a malformed tree" predict "$top_srcdir/tests/models/bad_tree_product.json" \
  "$D/mcycle.csv"
err_has "tree: has 6 leaves but k is 4" "bad tree in a model file: the field is named"
tap_done
