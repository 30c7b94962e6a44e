#!/bin/sh
# cli_bad_input.sh: runs `moefit fit` on every case of the bad-input corpus (tests/bad/MANIFEST)
# and checks the exit status, the message, that nothing is written and the input is untouched.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"

bad="$top_srcdir/tests/bad"
gen="$TMPD/gen"
mkdir "$gen" || exit 99

# Inputs that are better generated than committed (deterministic: no randomness).
# Binary garbage: 4096 bytes from a linear congruential generator, newlines left out so
# that the first control byte is on line 1.
LC_ALL=C awk 'BEGIN { s = 12345; n = 0
  while (n < 4096) { s = (s * 1103515245 + 12345) % 2147483648; c = int(s / 8388608)
    if (c != 10 && c != 0) { printf "%c", c; n++ } } }' >"$gen/binary.dat"
printf 'x,y\n1,2\n3,\000\n4,8\n' >"$gen/nul.csv"
printf 'x,y\n1,\007\n2,4\n' >"$gen/control.csv"
# A 1 MB field, and an unterminated quote opening a 1 MB field.
awk 'BEGIN { s = "zzzzzzzzzzzzzzzz"; while (length(s) < 1048576) s = s s
  print "x,y"; print "1,2"; print "3," s; print "4,8" }' >"$gen/bigfield.csv"
awk 'BEGIN { s = "zzzzzzzzzzzzzzzz"; while (length(s) < 1048576) s = s s
  print "x,y"; print "1,2"; print "3,\"" s; print "4,8" }' >"$gen/bigquote.csv"
mkdir "$gen/folder"

# no_nan_inf FILE DESCRIPTION: passes when FILE has no NaN or Inf as a word.
no_nan_inf() {
  if grep -Eiqw 'nan|-nan|inf|-inf|infinity' "$1"; then
    not_ok "$2"; grep -Eiw 'nan|-nan|inf|-inf|infinity' "$1" | head -3 | sed 's/^/# /'
  else ok "$2"; fi
}

n=0
while IFS='|' read -r file want frag args; do
  case $file in '#'* | '') continue ;; esac
  n=$((n + 1))
  case $file in
    gen:*) input="$gen/${file#gen:}" ;;
    *) input="$bad/$file" ;;
  esac
  what="$n $file${args:+ $args}"
  sum=
  [ -f "$input" ] && sum=$(cksum <"$input")
  outdir="$TMPD/o$n"
  mkdir "$outdir" || exit 99
  eval "set -- $args"
  "$MOEFIT" fit -k 1 --restarts 1 "$@" -o "$outdir/model.json" "$input" \
    >"$TMPD/out" 2>"$TMPD/err" </dev/null
  got=$?
  case "/$want/" in
    */"$got"/*) ok "$what: exit $got" ;;
    *) not_ok "$what: exit $got, want $want"; sed 's/^/# /' "$TMPD/err" | head -5 ;;
  esac
  # a fit that succeeds prints each warning once, in its summary's Warnings (issue 13)
  [ "$got" -eq 0 ] && cat "$TMPD/out" >>"$TMPD/err"
  if [ -n "$frag" ]; then
    err_has "$frag" "$what: message"
  elif [ "$got" -ne 0 ]; then
    if [ -s "$TMPD/err" ]; then ok "$what: a message on stderr"
    else not_ok "$what: failed without a message"; fi
  fi
  if [ "$got" -ne 0 ]; then
    if [ -z "$(ls -A "$outdir")" ]; then ok "$what: nothing written"
    else not_ok "$what: files written on failure: $(ls -A "$outdir")"; fi
  else
    no_nan_inf "$TMPD/out" "$what: no NaN/Inf in the output"
    [ -f "$outdir/model.json" ] && no_nan_inf "$outdir/model.json" "$what: no NaN/Inf in the model"
  fi
  if [ -n "$sum" ]; then
    if [ "$(cksum <"$input")" = "$sum" ]; then ok "$what: input unchanged"
    else not_ok "$what: input changed"; fi
  fi
done <"$bad/MANIFEST"

if [ "$n" -ge 30 ]; then ok "corpus has $n cases"; else not_ok "corpus has only $n cases"; fi

# ---- the numbers of the degenerate fits (the corpus above checks only that they work)
# Each is one expert, so the answer is least squares, worked out here by hand (tap.sh's ols);
# where the residuals vanish the variance floor (--var-floor, 1e-6 of var(y)) holds sigma up.
# fit1 NAME: fits tests/bad/NAME.csv with one expert into $TMPD/NAME.json.
fit1() { "$MOEFIT" fit -k 1 --restarts 1 -q --json "$TMPD/$1.json" "$bad/$1.csv" \
  >/dev/null 2>"$TMPD/err"; }
# val NAME PATH: a number of that fit.
val() { jget "$TMPD/$1.json" "$2"; }
PI=3.14159265358979324

# exact_fit: y = 1 + 2x on x = 1..5, no residual: sigma^2 is the floor 1e-6 var(y) = 8e-6.
fit1 exact_fit
check "exact_fit: intercept 1" near "$(val exact_fit 'experts[0].coef.(Intercept)')" 1 1e-9
check "exact_fit: slope 2" near "$(val exact_fit 'experts[0].coef.x')" 2 1e-9
check "exact_fit: sigma = sqrt(1e-6 var(y)) = sqrt(8e-6)" \
  near "$(val exact_fit 'experts[0].sigma')" "$(awk 'BEGIN {printf "%.17g", sqrt(8e-6)}')" 1e-9
check "exact_fit: loglik = -5/2 log(2 pi 8e-6)" near "$(val exact_fit loglik)" \
  "$(awk -v pi=$PI 'BEGIN {printf "%.17g", -2.5 * log(2 * pi * 8e-6)}')" 1e-9
check "exact_fit: no SEs (the information is singular): null, as the warning says" \
  test "$(val exact_fit 'experts[0].se.x') $(val exact_fit 'experts[0].sigma_se')" = "null null"

# constant_response: y = 5 everywhere: the line y = 5 and, as y has no spread at all, the
# floor on the standardised scale: sigma = sqrt(1e-6) = 0.001.
fit1 constant_response
check "constant_response: intercept 5" \
  near "$(val constant_response 'experts[0].coef.(Intercept)')" 5 1e-12
check "constant_response: slope 0" near "$(val constant_response 'experts[0].coef.x')" 0 0 1e-12
check "constant_response: sigma 0.001" near "$(val constant_response 'experts[0].sigma')" 0.001 1e-9
check "constant_response: loglik = -6/2 log(2 pi 1e-6)" near "$(val constant_response loglik)" \
  "$(awk -v pi=$PI 'BEGIN {printf "%.17g", -3 * log(2 * pi * 1e-6)}')" 1e-9

# single_x: x = 2 in every row: only b0 + 2 b1 is identified (the mean of y, 2.5; the ridge
# takes the rest), and sigma is the ML SD of y, 1, so loglik = -5/2 (log(2 pi) + 1).
fit1 single_x
check "single_x: b0 + 2 b1 = mean(y) = 2.5" near "$(awk -v a="$(val single_x \
  'experts[0].coef.(Intercept)')" -v b="$(val single_x 'experts[0].coef.x')" \
  'BEGIN {printf "%.17g", a + 2 * b}')" 2.5 1e-9
check "single_x: sigma = 1" near "$(val single_x 'experts[0].sigma')" 1 1e-9
check "single_x: loglik = -5/2 (log(2 pi) + 1)" near "$(val single_x loglik)" \
  "$(awk -v pi=$PI 'BEGIN {printf "%.17g", -2.5 * (log(2 * pi) + 1)}')" 1e-9

# collinear: x2 = 2 x1, so the fit is least squares on x1 alone: the same intercept, sigma and
# log-likelihood, and b1 + 2 b2 is that line's slope (to 1e-8: the small ridge that the
# singular M-step needs moves the line in the ninth digit).
fit1 collinear
cut -d, -f1,3 "$bad/collinear.csv" >"$TMPD/collinear1.csv"
# shellcheck disable=SC2046
set -- $(ols "$TMPD/collinear1.csv")
check "collinear: intercept of y on x1 ($1)" \
  near "$(val collinear 'experts[0].coef.(Intercept)')" "$1" 1e-8
check "collinear: b1 + 2 b2 = the slope on x1 ($2)" near "$(awk -v a="$(val collinear \
  'experts[0].coef.x1')" -v b="$(val collinear 'experts[0].coef.x2')" \
  'BEGIN {printf "%.17g", a + 2 * b}')" "$2" 1e-8
check "collinear: sigma of y on x1 ($3)" near "$(val collinear 'experts[0].sigma')" "$3" 1e-9
check "collinear: loglik of y on x1 ($4)" near "$(val collinear loglik)" "$4" 1e-9

# scales: x1 ~ 1e-8 and x2 ~ 1e8: least squares on both, solved here from the centred normal
# equations (Cramer's rule), must come out whatever the scales.
fit1 scales
# shellcheck disable=SC2046
set -- $(awk -F, -v pi=$PI 'NR > 1 {n++; a[n] = $1; b[n] = $2; y[n] = $3; ma += $1; mb += $2
    my += $3}
  END {ma /= n; mb /= n; my /= n
    for (i = 1; i <= n; i++) {u = a[i] - ma; v = b[i] - mb; w = y[i] - my
      saa += u * u; sbb += v * v; sab += u * v; say += u * w; sby += v * w}
    det = saa * sbb - sab * sab; b1 = (say * sbb - sab * sby) / det
    b2 = (saa * sby - sab * say) / det; b0 = my - b1 * ma - b2 * mb
    for (i = 1; i <= n; i++) rss += (y[i] - b0 - b1 * a[i] - b2 * b[i]) ^ 2
    printf "%.17g %.17g %.17g %.17g %.17g\n", b0, b1, b2, sqrt(rss / n),
      -n / 2 * (log(2 * pi * rss / n) + 1)}' "$bad/scales.csv")
check "scales: intercept ($1)" near "$(val scales 'experts[0].coef.(Intercept)')" "$1" 1e-8
check "scales: slope on x1 ~ 1e-8 ($2)" near "$(val scales 'experts[0].coef.x1')" "$2" 1e-8
check "scales: slope on x2 ~ 1e8 ($3)" near "$(val scales 'experts[0].coef.x2')" "$3" 1e-8
check "scales: sigma ($4)" near "$(val scales 'experts[0].sigma')" "$4" 1e-8
check "scales: loglik ($5)" near "$(val scales loglik)" "$5" 1e-8
check "scales: SEs reported, finite and positive" awk -v a="$(val scales 'experts[0].se.x1')" \
  -v b="$(val scales 'experts[0].se.x2')" -v c="$(val scales 'experts[0].sigma_se')" \
  'BEGIN {exit !(a + 0 > 0 && b + 0 > 0 && c + 0 > 0 && a != "null" && b != "null" && c != "null")}'
tap_done
