#!/bin/sh
# cli_topk.sh: the sparse top-k gate from the command line: `moefit fit --train gd --gate topk`
# with --top-k 2 and 1 (Switch), the gate heading and routing table of the summary, the JSON's
# "routing", predict on the saved model (g = 0 for the experts not kept), the same fit for 1
# and 2 threads with every training term (noise, --aux shazeer, --z-loss, --capacity), the
# collapse of the Switch router without --aux and its balance with it, and the usage errors
# (exit 64) and a bad model file (exit 65).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"

"$MOEFIT" simulate -k 4 -n 400 --seed 3 -o "$TMPD/sim.csv" >/dev/null 2>&1

run_status 0 "fit --gate topk --top-k 2 (GD without --train)" fit --gate topk --top-k 2 -k 4 \
  --restarts 2 --epochs 200 -q --json "$TMPD/t.json" -o "$TMPD/m.json" "$TMPD/sim.csv"
check "summary: the gate heading names the top-k form" \
  grep -q "^Gate (sparse top-k: the 2 largest logits of a row kept, softmax over them" \
  "$TMPD/out"
check "summary: a routing table with a line per expert" \
  sh -c "sed -n '/^Routing/,/^CV/p' '$TMPD/out' | grep -c '^ *[1-4]  *[0-9]*  *0\.[0-9]*  *0\.[0-9]*  *0\$' | grep -qx 4"
check "summary: the CV^2 line" grep -q "^CV^2 of importance [0-9.e-]*, of load [0-9.e-]*" \
  "$TMPD/out"
check "summary: no standard errors, and says why" grep -q "the topk gate is not smooth" \
  "$TMPD/out"
check "json: routing with top_k 2" sh -c "grep -q '\"routing\"' '$TMPD/t.json' && grep -q '\"top_k\": 2' '$TMPD/t.json'"
check "json: cv2_load is a number" grep -q '"cv2_load": [0-9]' "$TMPD/t.json"
check "model file: gate topk and top_k 2" sh -c "grep -q '\"gate\": \"topk\"' '$TMPD/m.json' && grep -q '\"top_k\": 2' '$TMPD/m.json'"
check "model file: the noise scale's rows (gate_noise)" grep -q '"gate_noise"' "$TMPD/m.json"
run_status 0 "predict on a topk model" predict "$TMPD/m.json" "$TMPD/sim.csv"
# every row: exactly two of g1..g4 are 0 (columns 3-6 of mean,sd,g1..g4,expert)
check "predict: two zeros among g1..g4 on every row" sh -c "tail -n +2 '$TMPD/out' | awk -F, '{z = 0; for (i = 3; i <= 6; i++) z += (\$i == 0); if (z != 2) bad++} END {exit bad > 0}'"

# every training term at once: the noise (on for k = 2), importance and load losses, the
# router z-loss and the capacity (drops counted in the summary's batches of 64 rows)
topk_all="--aux shazeer --aux-weight 0.1 --load-weight 0.1 --z-loss 1e-3 --capacity 1.25"
OMP_NUM_THREADS=1 "$MOEFIT" fit --train gd --gate topk -k 4 --batch 64 --epochs 50 $topk_all \
  --restarts 2 -q --json "$TMPD/t1.json" "$TMPD/sim.csv" >/dev/null 2>&1
OMP_NUM_THREADS=2 "$MOEFIT" fit --train gd --gate topk -k 4 --batch 64 --epochs 50 $topk_all \
  --restarts 2 -q --json "$TMPD/t2.json" "$TMPD/sim.csv" >/dev/null 2>&1
check "topk mini-batch GD (noise, shazeer, z-loss, capacity): identical JSON with 1 and 2 \
threads" cmp -s "$TMPD/t1.json" "$TMPD/t2.json"
check "json: capacity 1.25 drops rows and counts them" grep -q '"dropped": [1-9]' "$TMPD/t1.json"

# the Switch router (k = 1) from W_g = 0 sends every row to expert 1 and, without an
# auxiliary loss, stays there (CV^2 of load = K - 1 = 3); --aux switch spreads it (bound 0.25:
# one empty expert of four would be 1/3)
run_status 0 "fit --top-k 1 --aux none" fit --train gd --gate topk --top-k 1 --aux none -k 4 \
  --restarts 1 --epochs 300 -q --no-lrt --json "$TMPD/none.json" "$TMPD/sim.csv"
check "no aux: the router collapsed (cv2_load 3)" grep -q '"cv2_load": 3' "$TMPD/none.json"
run_status 0 "fit --top-k 1 --aux switch --aux-weight 2" fit --train gd --gate topk --top-k 1 \
  --aux switch --aux-weight 2 -k 4 --restarts 1 --epochs 300 -q --no-lrt \
  --json "$TMPD/sw.json" "$TMPD/sim.csv"
check "switch aux: cv2_load below 0.25" sh -c "grep '\"cv2_load\"' '$TMPD/sw.json' | awk '{v = \$2 + 0; exit !(v < 0.25)}'"

# moefit plot of a topk model on two gate inputs: the expert load (load.dat's rows are the
# summary's routing rows, summing to top_k n = 2 x 300) and the routing map (gatemap)
"$MOEFIT" simulate -k 4 -d 2 -n 300 --seed 4 -o "$TMPD/sim2.csv" >/dev/null 2>&1
run_status 0 "fit --gate topk on two gate inputs" fit --train gd --gate topk --top-k 2 -k 4 \
  --restarts 1 --epochs 100 --no-lrt -o "$TMPD/m2.json" "$TMPD/sim2.csv"
sed -n '/^Routing/,/^CV/p' "$TMPD/out" | awk 'NF == 5 && $1 ~ /^[0-9]+$/ {print $1, $2}' \
  >"$TMPD/routed.txt"
if command -v gnuplot >/dev/null 2>&1; then
  run_status 0 "moefit plot of a topk model" plot "$TMPD/m2.json" "$TMPD/sim2.csv" \
    -o "$TMPD/p"
  check "plot: load.png and gatemap.png drawn" test -s "$TMPD/p/load.png" -a \
    -s "$TMPD/p/gatemap.png"
  check "load.dat: the rows per expert are the summary's routing rows" sh -c \
    "grep -v '^#' '$TMPD/p/load.dat' | awk '{print \$1, \$2}' | cmp -s - '$TMPD/routed.txt'"
  check "load.dat: the rows sum to top_k n = 600" awk '!/^#/ {s += $2} END {exit s != 600}' \
    "$TMPD/p/load.dat"
  check "gatemap.gp: titled as the routing map of the top-2 gate" grep -q \
    "^note = 'routing map: the heaviest of the top 2" "$TMPD/p/gatemap.gp"
else
  for t in plot load gatemap rows-sum routing-map; do ok "plot $t # SKIP gnuplot not installed"; done
fi

# usage errors
run_status 64 "--gate topk under --train em" fit --train em --gate topk -k 4 "$TMPD/sim.csv"
err_has "trained by gradient descent only" "--gate topk under EM: the message"
run_status 64 "--top-k without --gate topk" fit --train gd --top-k 2 -k 4 "$TMPD/sim.csv"
err_has "--top-k needs --gate topk" "--top-k alone: the message"
run_status 64 "--top-k 5 with -k 4" fit --train gd --gate topk --top-k 5 -k 4 "$TMPD/sim.csv"
err_has "top_k must be from 1 to the smallest K" "--top-k 5: the message"
run_status 64 "--gate sparse" fit --train gd --gate sparse "$TMPD/sim.csv"
err_has "--gate must be softmax or topk" "--gate sparse: the message"
run_status 64 "--aux load" fit --train gd --gate topk --aux load -k 4 "$TMPD/sim.csv"
err_has "--aux must be switch, shazeer or none" "--aux load: the message"
run_status 64 "--aux-weight -1" fit --train gd --gate topk --aux-weight -1 -k 4 "$TMPD/sim.csv"
err_has "weight must be a finite number" "--aux-weight -1: the message"
run_status 64 "--gate topk --tree" fit --train gd --gate topk --tree 2x2 "$TMPD/sim.csv"
run_status 64 "--capacity -1" fit --train gd --gate topk --capacity -1 -k 4 "$TMPD/sim.csv"
err_has "capacity factor must be a finite number >= 0" "--capacity -1: the message"
run_status 64 "--z-loss on the softmax gate" fit --train gd --z-loss 1e-3 -k 4 "$TMPD/sim.csv"
err_has "--z-loss needs --gate topk" "--z-loss without topk: the message"
run_status 64 "--capacity under --train em" fit --train em --gate topk --capacity 1.25 -k 4 "$TMPD/sim.csv"
err_has "trained by gradient descent only" "--capacity under EM: the message"
run_status 64 "--load-weight -0.1" fit --train gd --gate topk --load-weight -0.1 -k 4 \
  "$TMPD/sim.csv"
err_has "load loss weight must be a finite number" "--load-weight -0.1: the message"
run_status 64 "--noise maybe" fit --train gd --gate topk --noise maybe -k 4 "$TMPD/sim.csv"
err_has "--noise must be on or off" "--noise maybe: the message"

# a model file whose top_k is out of range
sed 's/"top_k": 2/"top_k": 9/' "$TMPD/m.json" >"$TMPD/bad.json"
run_status 65 "predict with top_k 9 of k 4" predict "$TMPD/bad.json" "$TMPD/sim.csv"
err_has "top_k" "bad top_k: the message names the field"

tap_done
