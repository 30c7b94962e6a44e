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
tap_done
