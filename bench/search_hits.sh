#!/bin/sh
# search_hits.sh: hit rates of the default global search (issue 13): for each case, the share
# of seeds whose default fit reaches the best known log-likelihood, and the CPU time per fit.
# Usage: bench/search_hits.sh [SEEDS] [-- extra moefit options]   (from the build tree root)
# Prints one table row per case: case, best known, hits/seeds, lowest value met, mean seconds.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
set -eu
seeds=${1:-20}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
moefit=${MOEFIT:-./moefit}
src=${srcdir:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -F, 'NR == 1 { print "times,times2,accel"; next } { print $1 "," $1 * $1 "," $2 }' \
    "$src/datasets/mcycle.csv" > "$tmp/mcycle2.csv"
# case name | best known log-likelihood | data | moefit options
cases="mcycle-K3|-578.036769|$src/datasets/mcycle.csv|-k 3
mcycle-quad-K4|-533.66|$tmp/mcycle2.csv|-k 4 -x times,times2 -z times
faithful-K2|-96.0516|$src/datasets/faithful.csv|-y eruptions -x waiting -k 2
faithful-K3|-80.7082|$src/datasets/faithful.csv|-y eruptions -x waiting -k 3
tonedata-K2|141.198|$src/datasets/tonedata.csv|-k 2
sim2-K3|SIM|$src/datasets/sim_2inputs.csv|-k 3
patent-pois-K2|SIM|$src/datasets/patent.csv|-k 2 --family poisson"
printf '%-16s %12s %8s %12s %8s\n' case best hits lowest sec/fit
echo "$cases" | while IFS='|' read -r name best data opts; do
    : > "$tmp/ll"
    t0=$(date +%s.%N)
    s=1
    while [ "$s" -le "$seeds" ]; do
        # shellcheck disable=SC2086
        "$moefit" -q --no-se --json - --seed "$s" $opts "$@" "$data" 2>/dev/null |
            awk -F': ' '/"loglik"/ { gsub(/,/, "", $2); print $2; exit }' >> "$tmp/ll"
        s=$((s + 1))
    done
    t1=$(date +%s.%N)
    awk -v best="$best" -v name="$name" -v n="$seeds" -v t="$(echo "$t1 - $t0" | bc)" '
        { v[NR] = $1; if (NR == 1 || $1 > mx) mx = $1; if (NR == 1 || $1 < mn) mn = $1 }
        END { if (best == "SIM") best = mx
              h = 0; for (i = 1; i <= NR; i++) if (v[i] >= best - 1e-3 - 1e-6 * (best < 0 ? -best : best)) h++
              printf "%-16s %12.4f %4d/%-3d %12.4f %8.3f\n", name, best, h, n, mn, t / n }' "$tmp/ll"
done
