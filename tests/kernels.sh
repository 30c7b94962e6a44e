#!/bin/sh
# kernels.sh: tests/test_kernels once per kernel set (MOE_ARCH=ref, avx2, avx512), skipping a
# set this build or machine cannot run (with the reason moefit gives); the kernel set's choice
# from the command line (--version names it, a bad MOE_ARCH is a usage error, exit 64); and a
# fit under every available set: the same log-likelihood as the reference to 1e-10 relative
# (the SIMD exp is within 2 ulp of libm's; the Gram and Hessian kernels are bit-identical),
# and bit-identical output for 1 and 2 threads within each set.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"
TK="$top_builddir/tests/test_kernels"
DATA="$top_srcdir/datasets/mcycle.csv"

run_status 0 "moefit --version" --version
best=$(sed -n 's/^kernels //p' "$TMPD/out")
check "--version names the kernel set in use ($best)" \
  sh -c "case '$best' in ref|avx2|avx512) exit 0 ;; *) exit 1 ;; esac"

MOE_ARCH=sse9; export MOE_ARCH
run_status 64 "MOE_ARCH=sse9 is a usage error" --version
err_has "MOE_ARCH=sse9: unknown kernel set (expected ref, avx2 or avx512)" \
  "the message names the variable and the choices"
run_status 64 "MOE_ARCH=sse9 stops a fit before it starts" fit -q -k 2 "$DATA"
check "and writes nothing to standard output" test ! -s "$TMPD/out"
unset MOE_ARCH
"$TK" >"$TMPD/tk" 2>&1; st=$?
grep '^not ok' "$TMPD/tk" | sed 's/^/# /'
check "without MOE_ARCH: test_kernels passes (the best set, $best, is in use)" test "$st" -eq 0

ref_ll=
for set in ref avx2 avx512; do
  MOE_ARCH=$set "$MOEFIT" --version >"$TMPD/v" 2>"$TMPD/e"
  if [ $? -ne 0 ]; then
    # only a set this CPU, OS or build cannot run is skipped; any other refusal fails
    if grep -q "does not support\|this build has no" "$TMPD/e"; then
      tap_n=$((tap_n + 1))
      echo "ok $tap_n # SKIP MOE_ARCH=$set: $(sed 's/^moefit: //;q' "$TMPD/e")"
    else
      not_ok "MOE_ARCH=$set refused: $(sed q "$TMPD/e")"
    fi
    continue
  fi
  check "MOE_ARCH=$set: --version says kernels $set" grep -qx "kernels $set" "$TMPD/v"
  MOE_ARCH=$set "$TK" >"$TMPD/tk" 2>&1; st=$?
  sed 's/^/# /' "$TMPD/tk" | grep -v '^# ok ' | head -40
  check "MOE_ARCH=$set: test_kernels passes ($(grep -c '^ok' "$TMPD/tk") checks)" test "$st" -eq 0
  for th in 1 2; do
    MOE_ARCH=$set OMP_NUM_THREADS=$th "$MOEFIT" fit -q -k 3 --restarts 2 --tol 1e-12 \
      --json "$TMPD/fit_$set$th.json" "$DATA" >/dev/null 2>&1
  done
  check "MOE_ARCH=$set: the fit is bit-identical for 1 and 2 threads" \
    cmp "$TMPD/fit_${set}1.json" "$TMPD/fit_${set}2.json"
  ll=$(sed -n 's/^  "loglik": \(.*\),$/\1/p' "$TMPD/fit_${set}1.json")
  if [ "$set" = ref ]; then ref_ll=$ll; fi
  check "MOE_ARCH=$set: log-likelihood $ll equals ref's $ref_ll to 1e-10" \
    awk -v a="$ll" -v b="$ref_ll" 'BEGIN { d = a - b; if (d < 0) d = -d;
      m = b < 0 ? -b : b; exit !(d <= 1e-10 * m) }'
done
tap_done
