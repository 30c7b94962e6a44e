#!/bin/sh
# bench_gd_compare.sh: the bench_gd table of bench/README.md in one run: bench/bench_gd (moefit)
# and bench/bench_gd.py (PyTorch) one after the other on 1 and then 2 threads, each cell
# timed REPEAT times (default 3; the smallest mean is printed), with the date and the load
# average before and after. Run from the top of the build tree after `make bench`.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# usage: bench/bench_gd_compare.sh [REPEAT [EXTRA BENCH OPTIONS...]]   (e.g. 3 --small)
set -eu
repeat=${1:-3}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
echo "bench_gd_compare: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
start=$(date +%s)
for t in 1 2; do
  OMP_NUM_THREADS=$t bench/bench_gd --repeat "$repeat" "$@"
  OMP_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE ATEN_CPU_CAPABILITY=avx512 \
    /usr/bin/python3 "$here/bench_gd.py" --repeat "$repeat" "$@"
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg) after $t thread(s)"
done
echo "bench_gd_compare: $(( $(date +%s) - start )) s in all, ended $(date -u '+%H:%M:%S UTC')"
