#!/bin/sh
# mpi_bundle.sh: copies the built moefit (shared build, from .libs), Debian's Open MPI runtime
# (orterun, its components and help files) and every shared library they load into
# /tmp/devbundle, then packs it as devbundle.tar.xz at the top of the tree, for a machine
# without Open MPI (the lent `device`); bench/mpi_scaling.sh unpacks and uses it.
# Run from the top of a built tree. Copyright (C) 2026 the moefit developers; GPL-3.0-or-later.
set -e
B=/tmp/devbundle; rm -rf $B; mkdir -p $B/lib $B/usr/bin $B/usr/lib/x86_64-linux-gnu/openmpi $B/usr/share
top=$(pwd)
cp "$top"/.libs/moefit $B/usr/bin/moefit
cp -L "$top"/.libs/libmoe.so.0 $B/lib/
cp /usr/bin/orterun /usr/bin/orted $B/usr/bin/
cp -a /usr/lib/x86_64-linux-gnu/openmpi/lib $B/usr/lib/x86_64-linux-gnu/openmpi/
rm -f $B/usr/lib/x86_64-linux-gnu/openmpi/lib/libmpi_java* $B/usr/lib/x86_64-linux-gnu/openmpi/lib/*.a
cp -a /usr/share/openmpi $B/usr/share/
cp -L /lib64/ld-linux-x86-64.so.2 $B/lib/
for f in $(find $B -type f \( -name '*.so*' -o -perm -u+x \)); do
  LD_LIBRARY_PATH=$B/lib:$B/usr/lib/x86_64-linux-gnu/openmpi/lib ldd $f 2>/dev/null | awk '$3 ~ /^\// {print $3}'
done | sort -u | while read l; do
  [ -e $B/lib/$(basename $l) ] || [ -e $B/usr/lib/x86_64-linux-gnu/openmpi/lib/$(basename $l) ] || cp -L $l $B/lib/
done
du -sh $B
tar cJf "$top/devbundle.tar.xz" -C /tmp devbundle
