#!/bin/sh
# cli_mpi.sh: `mpirun -np R moefit fit` (src/cli/mpi.c, the moe_comm hook of src/model/comm.c
# and src/train/em.c) gives the single-process output byte for byte for R = 1, 2 and 3; a data
# error on a line of the last rank's part stops every rank with the message and exit status
# of a run alone and leaves no output file; what is not spread over ranks is refused (64).
# Skipped when moefit was built without MPI or mpirun is missing.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# The reference of every comparison is the same command run alone (no mpirun). The data are
# 9000 simulated rows: moe_block_count gives 3 row blocks, so under 3 ranks every rank owns
# one and under 2 ranks rank 1 owns two. mpirun runs the built binary itself, never the
# valgrind wrapper (MOEFIT), which would multiply the CI's time by the ranks.
. "$top_srcdir/tests/tap.sh"
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }
M="$top_builddir/moefit"
MPIRUN=${MPIRUN:-$(command -v mpirun)}
if ! "$M" --version | grep -q '^mpi yes' || [ -z "$MPIRUN" ]; then
  skip "moefit built without MPI, or no mpirun: nothing to test"
  tap_done; exit 0
fi
# The suite's sanitizer and valgrind passes skip this script: it tests no memory handling of
# its own beyond the plain pass (mpi.c's allocations are freed on every path, and the plain
# binary's run under valgrind in the other scripts loads the same libmpi), Open MPI's own
# allocations left at exit would be LeakSanitizer reports, and each pass would add its
# mpirun start-ups (about 1 s each) to the CI's budget.
case "$BUILD_CFLAGS" in *-fsanitize*)
  skip "a sanitizer build: cli_mpi.sh runs in the plain pass only"; tap_done; exit 0 ;; esac
case "$MOEFIT" in *valgrind*)
  skip "the valgrind pass: cli_mpi.sh runs in the plain pass only"; tap_done; exit 0 ;; esac
OMPI_ALLOW_RUN_AS_ROOT=1; OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM OMPI_MCA_rmaps_base_oversubscribe
OMP_NUM_THREADS=1; export OMP_NUM_THREADS
# through libtool, which runs the real binary rather than its wrapper script under every rank
# (stdin from /dev/null: mpirun forwards its standard input to rank 0 and would eat the caller's)
# (a run takes about a second: 60 s means ranks that wait for each other for ever, and a
# planted bug that hangs them fails fast rather than at the mutant runner's limit)
mpi() {
  np=$1; shift
  timeout -k 5 60 "$top_builddir/libtool" --mode=execute "$MPIRUN" --oversubscribe -np "$np" \
    "$M" "$@" </dev/null
}

"$M" simulate -n 9000 -k 2 --seed 3 -o "$TMPD/sim.csv" || exit 99
# a K range through the global search with standard errors; small search to stay fast
O="-k 1:2 --restarts 2 --keep 1 --short-iter 5 --no-lrt -q"
# shellcheck disable=SC2086
"$M" fit $O --json "$TMPD/one.json" -o "$TMPD/one.model" "$TMPD/sim.csv" >"$TMPD/one.txt"
check "a fit alone" test -s "$TMPD/one.json"
for np in 1 2 3; do
  # shellcheck disable=SC2086
  mpi "$np" fit $O --json "$TMPD/np$np.json" -o "$TMPD/np$np.model" "$TMPD/sim.csv" \
    >"$TMPD/np$np.txt" 2>"$TMPD/np$np.err"
  check "-np $np: the JSON is byte for byte the single-process one" \
    cmp "$TMPD/one.json" "$TMPD/np$np.json"
  check "-np $np: the summary on stdout is the single-process one" \
    cmp "$TMPD/one.txt" "$TMPD/np$np.txt"
  check "-np $np: the model file is the single-process one" \
    cmp "$TMPD/one.model" "$TMPD/np$np.model"
done

# a tree gate (the group passes of the gate M-step) under 2 ranks: 15 iterations are enough
# to compare (a full tree fit takes seconds more under mpirun)
T="--tree 2x2 --restarts 1 --keep 1 --short-iter 3 --max-iter 15 --no-lrt --no-se -q --json -"
# shellcheck disable=SC2086
"$M" fit $T "$TMPD/sim.csv" >"$TMPD/tree1.json" 2>/dev/null
# shellcheck disable=SC2086
mpi 2 fit $T "$TMPD/sim.csv" >"$TMPD/tree2.json" 2>/dev/null
check "--tree 2x2 under -np 2: the JSON is the single-process one" \
  cmp "$TMPD/tree1.json" "$TMPD/tree2.json"

# a bad value and a ragged row on lines of the last rank's part (8500 of 9001 lines)
sed '8500s/^[^,]*/abc/' "$TMPD/sim.csv" >"$TMPD/bad.csv"
sed '8700s/,/,1,/' "$TMPD/sim.csv" >"$TMPD/ragged.csv"
for f in bad ragged; do
  # shellcheck disable=SC2086
  "$M" fit $O -o "$TMPD/$f-1.model" "$TMPD/$f.csv" >/dev/null 2>"$TMPD/$f-1.err"; want=$?
  # shellcheck disable=SC2086
  mpi 3 fit $O -o "$TMPD/$f-3.model" "$TMPD/$f.csv" >"$TMPD/$f-3.out" 2>"$TMPD/$f-3.err"
  got=$?
  check "$f line, -np 3: exit $got as alone ($want, a data error)" \
    test "$got" -eq "$want" -a "$want" -eq 65
  msg=$(grep '^moefit:' "$TMPD/$f-1.err")
  check "$f line, -np 3: the message of a run alone, once ($msg)" \
    test "$(grep -cxF -- "$msg" "$TMPD/$f-3.err")" -eq 1
  check "$f line, -np 3: no model file, nothing on stdout" \
    test ! -e "$TMPD/$f-3.model" -a ! -s "$TMPD/$f-3.out"
done
grep -q ':8500:1: not a number' "$TMPD/bad-1.err" && grep -q ':8700:' "$TMPD/ragged-1.err"
check "the messages name lines 8500 and 8700" test $? -eq 0

# an output only rank 0 opens fails: every rank stops (no rank left waiting in the fit)
# shellcheck disable=SC2086
timeout 60 "$top_builddir/libtool" --mode=execute "$MPIRUN" --oversubscribe -np 2 "$M" fit $O \
  -o "$TMPD/no/such/dir/m.json" "$TMPD/sim.csv" </dev/null >/dev/null 2>"$TMPD/err"
check "-o in a missing folder under -np 2: exit 73, no rank hangs" test $? -eq 73
err_has "cannot create" "-o in a missing folder under -np 2: says it cannot create it"

# not spread over the ranks yet: refused, not run on every rank
mpi 2 fit --train gd -k 2 "$TMPD/sim.csv" >/dev/null 2>"$TMPD/err"
check "--train gd under -np 2: exit 64" test $? -eq 64
err_has "not yet under MPI" "--train gd under -np 2: says it is not yet under MPI"
mpi 2 predict "$TMPD/one.model" "$TMPD/sim.csv" >/dev/null 2>"$TMPD/err"
check "predict under -np 2: exit 64" test $? -eq 64
err_has "not yet under MPI" "predict under -np 2: says it is not yet under MPI"
tap_done
