#!/bin/sh
# install_check.sh: `./configure --prefix=DIR && make install` and `make install DESTDIR=DIR`
# both give a working tool, library, pkg-config file and man pages (issue 13). Run by .ci/run
# on a clean clone (it configures and builds two copies, so it is not part of make check):
#   tests/install_check.sh [SOURCE_TREE]     (default: the tree this script is in)
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
set -eu
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moefit-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "install_check: $*" >&2; exit 1; }

# check ROOT PREFIX: the installed tree under ROOT (DESTDIR or /) with prefix PREFIX works.
check() {
  root=$1 prefix=$2 p=$1$2
  [ -x "$p/bin/moefit" ] || fail "no $p/bin/moefit"
  [ -f "$p/include/moe.h" ] || fail "no $p/include/moe.h"
  [ -f "$p/lib/pkgconfig/moe.pc" ] || fail "no $p/lib/pkgconfig/moe.pc"
  [ -f "$p/share/man/man1/moefit.1" ] || fail "no $p/share/man/man1/moefit.1"
  [ -f "$p/share/man/man3/moe.3" ] || fail "no $p/share/man/man3/moe.3"
  man -l "$p/share/man/man1/moefit.1" >/dev/null 2>&1 || fail "moefit.1 does not render"
  LD_LIBRARY_PATH=$p/lib "$p/bin/moefit" -k 2 -q "$p/share/moefit/datasets/mcycle.csv" \
    >"$tmp/fit.txt" || fail "the installed moefit fails on its installed datasets"
  grep -q '^Log-likelihood: -614.53' "$tmp/fit.txt" || fail "the installed moefit's fit differs"
  # a program built with the installed pkg-config file (prefix rewritten for a DESTDIR tree)
  sed "s|^prefix=.*|prefix=$p|" "$p/lib/pkgconfig/moe.pc" >"$tmp/moe.pc"
  cat >"$tmp/t.c" <<'C'
#include <moe.h>
#include <stdio.h>
int main(void) { moe_fit_options o = moe_fit_options_default(); printf("%zu\n", o.k_max);
  return moe_fit_options_check(&o) != NULL; }
C
  # shellcheck disable=SC2046
  cc -o "$tmp/t" "$tmp/t.c" $(PKG_CONFIG_PATH=$tmp pkg-config --cflags --libs moe) ||
    fail "cannot build against the installed library with pkg-config"
  [ "$(LD_LIBRARY_PATH=$p/lib "$tmp/t")" = 5 ] || fail "the installed library does not run"
  echo "install_check: $p: tool, library, pkg-config file and man pages work"
}

# 1. ./configure --prefix=DIR && make install
git clone -q "$src" "$tmp/a" 2>/dev/null || cp -R "$src" "$tmp/a"
(cd "$tmp/a" && ./bootstrap >/dev/null && ./configure -q --prefix="$tmp/prefix" &&
   make -j2 >/dev/null && make install >/dev/null) || fail "configure --prefix && make install"
check "" "$tmp/prefix"
# 2. make install DESTDIR=DIR (default prefix /usr/local)
(cd "$tmp/a" && ./configure -q && make -j2 >/dev/null && make install DESTDIR="$tmp/dest" \
   >/dev/null) || fail "make install DESTDIR"
check "$tmp/dest" /usr/local
echo "install_check: passed"
