#!/bin/sh
# mpi_scaling.sh: MPI strong scaling of moefit fit (bench/README.md) from the copy that
# bench/mpi_bundle.sh packs: simulates N rows (D = 5, K = 4) once, then for every rank count R
# and iteration count I runs one fit and prints a JSON line (wall time, the fit's own elapsed
# time, the log-likelihood). usage: sh bench/mpi_scaling.sh N "RANKS" "ITERS" (files in $OUT).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
N=${1:-10000000}; RANKS=${2:-"1 2 4 8 16"}; ITERS=${3:-"3 13"}
B=/tmp/devbundle
[ -d $B ] || tar xJf devbundle.tar.xz -C /tmp
L="$B/lib/ld-linux-x86-64.so.2 --library-path $B/lib:$B/usr/lib/x86_64-linux-gnu/openmpi/lib"
export OPAL_PREFIX=$B/usr OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_plm_rsh_agent=false OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
OUTD=${OUT:-/tmp/out}; mkdir -p $OUTD
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo) x $(getconf _NPROCESSORS_ONLN)"
D=/tmp/big.csv
if [ ! -s $D ]; then
  t0=$(date +%s.%N)
  $L $B/usr/bin/moefit simulate -k 4 -d 5 -n $N --seed 5 -o $D || exit 1
  echo "simulate: $(awk -v a=$(date +%s.%N) -v b=$t0 "BEGIN{print a-b}") s, $(wc -c < $D) bytes" | tee -a $OUTD/times.jsonl
fi
for R in $RANKS; do
  for I in $ITERS; do
    t0=$(date +%s.%N)
    $L $B/usr/bin/orterun --oversubscribe --bind-to core -np $R $L $B/usr/bin/moefit fit -k 4 \
      --restarts 1 --short-iter 0 --keep 1 --no-moves --max-iter $I --tol 1e-300 --no-se \
      --no-lrt -v --json $OUTD/fit_r${R}_i${I}.json $D > /dev/null 2> $OUTD/err_r${R}_i${I}.txt
    rc=$?
    t=$(awk -v a=$(date +%s.%N) -v b=$t0 "BEGIN{print a-b}")
    ll=$(grep -m1 '"loglik"' $OUTD/fit_r${R}_i${I}.json | tr -d ' ,')
    el=$(tr '\r' '\n' < $OUTD/err_r${R}_i${I}.txt | grep -o '[0-9.]*s elapsed' | tail -1)
    echo "{\"n\": $N, \"ranks\": $R, \"max_iter\": $I, \"rc\": $rc, \"wall_s\": $t, \"fit\": \"$el\", $ll}" | tee -a $OUTD/times.jsonl
  done
done
