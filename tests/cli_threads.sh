#!/bin/sh
# cli_threads.sh: `moefit --json` is bit-identical for any OMP_NUM_THREADS and
# OPENBLAS_NUM_THREADS (issue 13: OpenBLAS's threaded dpotri in the standard-error code moved
# the 17th digit of the SEs; src/core/blas_threads.c pins it to one thread there).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# The case is the tutorial's K = 3 fit of sim_2inputs (18 parameters: a covariance large
# enough for OpenBLAS to split its products), with standard errors; before the fix the files
# for 1 and 2 threads differed in experts[0].se. Compared byte for byte with cmp.
. "$top_srcdir/tests/tap.sh"
D="$top_srcdir/datasets"
fit() { "$MOEFIT" fit -k 3 --restarts 2 -q --json "$TMPD/$1.json" "$D/sim_2inputs.csv" >/dev/null 2>&1; }
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 fit t1
check "fit with one thread" test -s "$TMPD/t1.json"
for t in 2 3 4; do
  OMP_NUM_THREADS=$t fit "omp$t"
  check "--json with OMP_NUM_THREADS=$t is byte for byte the one-thread output" \
    cmp "$TMPD/t1.json" "$TMPD/omp$t.json"
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=$t fit "blas$t"
  check "--json with OPENBLAS_NUM_THREADS=$t is byte for byte the one-thread output" \
    cmp "$TMPD/t1.json" "$TMPD/blas$t.json"
done
check "the output has standard errors (the SE code ran)" \
  sh -c "'$top_builddir/tests/golden/json_get' '$TMPD/t1.json' 'experts[0].se.x1' |
         grep -Eq '^[0-9][0-9.e+-]*\$'"
tap_done
