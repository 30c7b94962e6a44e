#!/bin/sh
# make-tutorial-md.sh: renders man/moefit-tutorial.7 as Markdown (docs/tutorial.md) with pandoc.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Usage, from the top of the sources:  sh docs/make-tutorial-md.sh > docs/tutorial.md
# tests/tutorial.sh checks that docs/tutorial.md is what this prints (when pandoc is installed).
page=${1:-man/moefit-tutorial.7}
echo "<!-- Generated from man/moefit-tutorial.7 by docs/make-tutorial-md.sh; edit the man page. -->"
echo
pandoc -f man -t gfm --columns=100 "$page"
