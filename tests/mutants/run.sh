#!/bin/sh
# tests/mutants/run.sh: mutation testing. Applies each mutant of tests/mutants/list, one at a
# time, to a private copy of the source tree, rebuilds only what changed, runs the tests the
# mutant names and records whether they fail (the mutant is killed) or pass (it survived).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# usage: tests/mutants/run.sh [-l LIST] [-t "TESTS"] [ID...]
#   -l LIST    the mutants list (default: tests/mutants/list beside this script)
#   -t TESTS   run these tests for every mutant instead of the ones each line names (for
#              measuring what a given test set kills; names as in TESTS, e.g. tests/test_em)
#   ID...      only these mutants
# Environment: MUTANTS_SHARDS (how many private copies run side by side, each taking every
# N-th mutant; default 2 where there are 2 or more processors, else 1), MUTANTS_JOBS (make -j
# per copy, default 2 unsharded, 1 sharded), MUTANTS_TIMEOUT (seconds per mutant's tests,
# default 300), MUTANTS_KEEP=1 keeps the build folders, CONFIGURE_FLAGS (passed to configure).
#
# List format, one mutant per line ('#' starts a comment line; blank lines are ignored):
#   ID | FILE | ORIGINAL | REPLACEMENT | TESTS
# FILE is relative to the top of the source tree; ORIGINAL is an exact piece of text that must
# occur exactly once in FILE (else the mutant "does not apply" and the run fails); REPLACEMENT
# takes its place (may be empty); TESTS are the tests that kill it (space-separated, as in
# TESTS: tests/test_em tests/cli_fit.sh; a bare name gets tests/ put in front). Fields are
# separated by a '|' with white space on both sides, so C's '||' needs no escaping; a lone
# '|' inside a field is written '\|'. An equivalent mutant is not listed: write its line as a
# comment "# equivalent: ID reason" so that nobody adds it again.
#
# Prints one line per mutant (killed, SURVIVED, or ERROR with the reason) and ends with
# "mutants: K killed of N". Exit status 0 only when every mutant was killed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
list=$here/list
only_tests=
while getopts l:t:h opt; do
  case $opt in
    l) list=$OPTARG ;;
    t) only_tests=$OPTARG ;;
    *) sed -n '2,/^set -u/p' "$0" | sed '$d'; exit 64 ;;
  esac
done
shift $((OPTIND - 1))
tmo=${MUTANTS_TIMEOUT:-300}
[ -r "$list" ] || { echo "mutants: cannot read $list" >&2; exit 99; }

# Sharded: this process starts one copy of itself per shard (MUTANTS_SHARD=I/N), lets their
# lines through as they come and adds up their counts.
shards=${MUTANTS_SHARDS:-1}
[ -n "${MUTANTS_SHARDS:-}" ] || [ "$(nproc 2>/dev/null || echo 1)" -lt 2 ] || shards=2
if [ -z "${MUTANTS_SHARD:-}" ] && [ "$shards" -gt 1 ]; then
  start=$(date +%s)
  sums=$(mktemp -d "${TMPDIR:-/tmp}/moefit-mutants-sums.XXXXXX") || exit 99
  pids=
  trap 'kill $pids 2>/dev/null; rm -rf "$sums"; exit 130' INT TERM
  i=1
  while [ "$i" -le "$shards" ]; do
    if [ -n "$only_tests" ]; then
      MUTANTS_SHARD=$i/$shards MUTANTS_SUMMARY=$sums/$i sh "$0" -l "$list" -t "$only_tests" "$@" &
    else
      MUTANTS_SHARD=$i/$shards MUTANTS_SUMMARY=$sums/$i sh "$0" -l "$list" "$@" &
    fi
    pids="$pids $!"
    i=$((i + 1))
  done
  wait
  killed=0 total=0 bad=0 i=1
  while [ "$i" -le "$shards" ]; do
    # shellcheck disable=SC2046
    [ -r "$sums/$i" ] && set -- $(cat "$sums/$i") || set -- 0 0 1
    killed=$((killed + $1)) total=$((total + $2)) bad=$((bad + $3))
    i=$((i + 1))
  done
  rm -rf "$sums"
  echo "mutants: $(( $(date +%s) - start ))s in all ($shards shards)"
  echo "mutants: $killed killed of $total"
  [ "$total" -gt 0 ] && [ "$killed" -eq "$total" ] && [ "$bad" -eq 0 ]
  exit
fi
shard=${MUTANTS_SHARD:-1/1}
shard_i=${shard%/*} shard_n=${shard#*/}
jobs=${MUTANTS_JOBS:-$([ "$shard_n" -gt 1 ] && echo 1 || echo 2)}

start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/moefit-mutants.XXXXXX") || exit 99
cleanup() { [ "${MUTANTS_KEEP:-0}" = 1 ] && echo "mutants: kept $work" || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private copy of the sources: what git tracks plus what it does not ignore (a dist tarball:
# everything), then a fresh configure and build, so that nothing points back at $top.
src=$work/src
mkdir "$src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$top" && git ls-files -co --exclude-standard -z | xargs -0 tar cf - --) |
    (cd "$src" && tar xf -) || exit 99
else
  (cd "$top" && tar cf - --exclude=./.git .) | (cd "$src" && tar xf -) || exit 99
  [ -f "$src/Makefile" ] && (cd "$src" && make distclean >/dev/null 2>&1)
fi
log=$work/build.log
echo "mutants: building a private copy in $work"
# the programs the shell tests call (jget, same_json, golden.sh): built once here, as each
# mutant's make check builds only the C tests it names (without them those checks would
# fail or skip, not test)
helpers="tests/golden/json_get tests/golden/golden_compare"
(cd "$src" && { [ -x configure ] || ./bootstrap; } && ./configure -q ${CONFIGURE_FLAGS:-} &&
   make -j"$jobs" all $helpers) >"$log" 2>&1 || { tail -40 "$log"; echo "mutants: the unmutated copy does not build" >&2; exit 99; }

# field I (1-based) of a list line, trimmed, with '\|' turned back into '|'
field() {
  printf '%s\n' "$1" | perl -ne 'chomp; my @f = split /\s+(?<!\\)\|\s+/, $_, -1;
    my $v = $f['"$2"' - 1]; $v = "" unless defined $v; $v =~ s/^\s+|\s+$//g; $v =~ s/\\\|/|/g;
    print $v'
}
nfields() {
  printf '%s\n' "$1" | perl -ne 'chomp; my @f = split /\s+(?<!\\)\|\s+/, $_, -1; print scalar @f'
}

# applies ORIG -> REPL to FILE in place; exit 3 when ORIG does not occur exactly once
apply() {
  ORIG=$2 REPL=$3 perl -e '
    my ($f) = @ARGV; local $/; open my $in, "<", $f or exit 4; my $t = <$in>; close $in;
    my ($o, $r) = ($ENV{ORIG}, $ENV{REPL}); my ($n, $p) = (0, 0);
    while (($p = index($t, $o, $p)) >= 0) { $n++; $p += length $o; }
    if ($n != 1) { print $n; exit 3; }
    substr($t, index($t, $o), length $o) = $r;
    open my $out, ">", $f or exit 4; print $out $t; close $out or exit 4;' "$1"
}

total=0 killed=0 bad=0 seen=0
sel=" $* "
while IFS= read -r line || [ -n "$line" ]; do
  case $line in ''|'#'*) continue ;; esac
  id=$(field "$line" 1)
  [ "$sel" = "  " ] || case $sel in *" $id "*) ;; *) continue ;; esac
  seen=$((seen + 1))
  [ $(( (seen - 1) % shard_n + 1 )) -eq "$shard_i" ] || continue
  total=$((total + 1))
  if [ "$(nfields "$line")" -ne 5 ]; then
    echo "ERROR    $id: not five fields: $line"; bad=$((bad + 1)); continue
  fi
  file=$(field "$line" 2) orig=$(field "$line" 3) repl=$(field "$line" 4)
  tests=${only_tests:-$(field "$line" 5)}
  t2= progs=
  for t in $tests; do
    case $t in */*) ;; *) t=tests/$t ;; esac
    t2="$t2 $t"
    case $t in *.sh) ;; *) progs="$progs $t" ;; esac
  done
  tests=${t2# }
  if [ ! -f "$src/$file" ]; then
    echo "ERROR    $id: does not apply: no file $file"; bad=$((bad + 1)); continue
  fi
  cp "$src/$file" "$work/orig"
  if ! n=$(apply "$src/$file" "$orig" "$repl"); then
    echo "ERROR    $id: does not apply: the original text occurs ${n:-?} times in $file"
    bad=$((bad + 1)); cp "$work/orig" "$src/$file"; continue
  fi
  t0=$(date +%s)
  # one make for every goal (several goals through the recursive 'all' would race each other)
  if ! (cd "$src" && make -j"$jobs" libmoe.la moefit $progs) >"$work/m.log" 2>&1; then
    echo "ERROR    $id: does not build ($file)"; tail -5 "$work/m.log" | sed 's/^/#   /'
    bad=$((bad + 1))
  elif (cd "$src" && timeout -k 10 "$tmo" make check TESTS="$tests" check_PROGRAMS="$progs") \
         >"$work/m.log" 2>&1; then
    echo "SURVIVED $id $file [$tests] $(( $(date +%s) - t0 ))s"
  else
    how=
    [ $? -ge 124 ] && how=" (timeout)"
    echo "killed   $id $file [$tests]$how $(( $(date +%s) - t0 ))s"
    killed=$((killed + 1))
  fi
  # restore with a fresh time stamp, so that the next build recompiles the original
  cat "$work/orig" >"$src/$file"
done <"$list"

[ -z "${MUTANTS_SUMMARY:-}" ] || echo "$killed $total $bad" >"$MUTANTS_SUMMARY"
echo "mutants: $(( $(date +%s) - start ))s in all${MUTANTS_SHARD:+ (shard $shard)}"
echo "mutants: $killed killed of $total"
[ "$total" -gt 0 ] && [ "$killed" -eq "$total" ] && [ "$bad" -eq 0 ]
