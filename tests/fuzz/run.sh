#!/bin/sh
# run.sh: builds the libFuzzer targets with clang (ASan + UBSan) and runs each for SECONDS
# (default 60) from a copy of its seed corpus. Run from a configured source tree:
#   tests/fuzz/run.sh [SECONDS]
# A crash leaves its input as crash-* in the work folder (printed) and makes this exit 1:
# copy it into tests/fuzz/regressions/<target>/ so that `make check` replays it forever.
set -eu
secs=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
[ -f config.h ] || { echo "run.sh: run ./configure first (config.h is needed)" >&2; exit 2; }
command -v clang >/dev/null || { echo "run.sh: clang is needed (apt-get install clang)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/moefit-fuzz.XXXXXX")
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. -Iinclude -Isrc"
deps="$(pkg-config --cflags --libs gsl jansson lapacke openblas | sed 's/-lgslcblas//') -lm"
# The ISA kernel files are compiled on their own with the flags configure chose for them (the
# Makefile's MOE_AVX2_CFLAGS, MOE_AVX512_CFLAGS), as the real build does; the rest together.
lib_sources=$(find src -name '*.c' ! -path 'src/cli/*' ! -name '*avx2*.c' ! -name '*avx512*.c' |
  sort)
isa_objects=""
for isa in avx2 avx512; do
  isa_flags=$(sed -n "s/^MOE_$(echo $isa | tr a-z A-Z)_CFLAGS = //p" Makefile)
  [ -n "$isa_flags" ] || continue
  for f in src/kernels/*"$isa".c; do
    o=$work/$(basename "$f" .c).o
    # shellcheck disable=SC2086
    clang $flags -Wno-unknown-pragmas $isa_flags -c -o "$o" "$f"
    isa_objects="$isa_objects $o"
  done
done
status=0
for target in csv model; do
  echo "== fuzz_$target: building"
  # shellcheck disable=SC2086
  clang $flags -Wno-unknown-pragmas -o "$work/fuzz_$target" "tests/fuzz/fuzz_$target.c" \
    $lib_sources $isa_objects $deps
  mkdir -p "$work/corpus_$target"
  cp tests/fuzz/${target}_corpus/* "$work/corpus_$target/" 2>/dev/null || true
  echo "== fuzz_$target: running ${secs}s"
  if ! (cd "$work" && ./"fuzz_$target" -max_total_time="$secs" -rss_limit_mb=2048 \
          -max_len=65536 -print_final_stats=1 "corpus_$target" >"fuzz_$target.log" 2>&1); then
    status=1
    echo "fuzz_$target: FOUND A CRASH; inputs:" && ls "$work"/crash-* "$work"/leak-* 2>/dev/null
    tail -60 "$work/fuzz_$target.log"
  fi
  grep -E 'stat::number_of_executed_units|stat::new_units_added|Done [0-9]+ runs' \
    "$work/fuzz_$target.log" || true
done
[ "$status" -eq 0 ] && rm -rf "$work"
exit "$status"
