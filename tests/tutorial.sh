#!/bin/sh
# tutorial.sh: runs every command of man/moefit-tutorial.7, so the tutorial cannot rot.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# A command is a line inside an .EX/.EE block that starts with "$ ". The commands run in order,
# each in its own shell, in one scratch folder where datasets/ is the shipped folder and
# `moefit` is the program under test ($MOEFIT); each must exit 0. Commands that draw (--plot,
# moefit plot, gnuplot) are skipped when gnuplot is not installed. Also: docs/tutorial.md is
# the page as pandoc renders it. (tests/man_pages.sh checks that the page renders cleanly.)
. "$top_srcdir/tests/tap.sh"

PAGE="$top_srcdir/man/moefit-tutorial.7"
W="$TMPD/work"
mkdir "$W" || exit 99
ln -s "$top_srcdir/datasets" "$W/datasets" || exit 99
HAVE_GNUPLOT=0
command -v gnuplot >/dev/null 2>&1 && HAVE_GNUPLOT=1

# The commands, with roff's escapes undone (\- is -, \(aq is ', \e is \, \& is nothing).
awk '/^\.EX/ {ex = 1; next} /^\.EE/ {ex = 0; next} ex && /^\$ / {print substr($0, 3)}' \
  "$PAGE" | sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\&//g' -e 's/\\e/\\/g' \
  >"$TMPD/commands"
n=$(wc -l <"$TMPD/commands")
check "the tutorial holds commands to run ($n)" test "$n" -ge 12
check "every command is plain text (no roff escapes left)" sh -c "! grep -q '\\\\' '$TMPD/commands'"

i=0
while IFS= read -r cmd; do
  i=$((i + 1))
  case "$cmd" in
    *--plot*|*"moefit plot"*|*gnuplot*)
      if [ "$HAVE_GNUPLOT" -eq 0 ]; then ok "command $i: $cmd # SKIP gnuplot not installed"
        continue; fi ;;
  esac
  { echo 'moefit() { "$MOEFIT" "$@"; }'; echo "$cmd"; } >"$TMPD/cmd$i.sh"
  (cd "$W" && sh "$TMPD/cmd$i.sh") >"$TMPD/out" 2>"$TMPD/err" </dev/null
  rc=$?
  if [ "$rc" -eq 0 ]; then ok "command $i: $cmd"; else
    not_ok "command $i (exit $rc): $cmd"
    tail -n 20 "$TMPD/err" | sed 's/^/# /'
  fi
done <"$TMPD/commands"

if command -v pandoc >/dev/null 2>&1 && [ -f "$top_srcdir/docs/tutorial.md" ]; then
  sh "$top_srcdir/docs/make-tutorial-md.sh" "$PAGE" >"$TMPD/tutorial.md" 2>"$TMPD/err"
  check "docs/tutorial.md is up to date (run docs/make-tutorial-md.sh)" \
    cmp -s "$TMPD/tutorial.md" "$top_srcdir/docs/tutorial.md"
else
  ok "docs/tutorial.md check # SKIP pandoc not installed"
fi

tap_done
