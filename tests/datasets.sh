#!/bin/sh
# datasets.sh: the shipped data sets are what datasets/README.md says they are.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Rows and columns come from the README's table (which came from R: datasets/export_r.R and
# make_simulated.R); every cell must be a plain number. moefit must read each file, and on the
# simulated three-regime set BIC must pick the K = 3 it was drawn with, as the README says.
. "$top_srcdir/tests/tap.sh"
D="$top_srcdir/datasets"

# shape FILE ROWS HEADER: header line and number of data rows, every cell numeric.
shape() {
  [ "$(head -n 1 "$D/$1")" = "$3" ] || { echo "# header of $1: $(head -n 1 "$D/$1")"; return 1; }
  awk -F, -v want="$2" -v nf="$(echo "$3" | awk -F, '{print NF}')" '
    NR == 1 {next}
    {if (NF != nf) exit 1
     for (i = 1; i <= NF; i++) if ($i !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) exit 1
     n++}
    END {if (n != want) exit 1}' "$D/$1"
}
check "mcycle.csv: 133 rows of times,accel" shape mcycle.csv 133 "times,accel"
check "tonedata.csv: 150 rows of stretchratio,tuned" shape tonedata.csv 150 "stretchratio,tuned"
check "nodata.csv: 88 rows of NO,Equivalence" shape nodata.csv 88 "NO,Equivalence"
check "ethanol.csv: 88 rows of C,E,NOx" shape ethanol.csv 88 "C,E,NOx"
check "faithful.csv: 272 rows of eruptions,waiting" shape faithful.csv 272 "eruptions,waiting"
check "sim_piecewise.csv: 300 rows of x,y" shape sim_piecewise.csv 300 "x,y"
check "sim_2inputs.csv: 400 rows of x1,x2,y" shape sim_2inputs.csv 400 "x1,x2,y"
check "patent.csv: 70 rows of RDS,lgRD,Patents" shape patent.csv 70 "RDS,lgRD,Patents"
check "npreg.csv: 200 rows of x,yn,yp,yb,class" shape npreg.csv 200 "x,yn,yp,yb,class"
check "trypanosome.csv: 426 rows of Dose,Dead" shape trypanosome.csv 426 "Dose,Dead"
check "betablocker.csv: 44 rows of Center,Treatment,Total,Deaths" shape betablocker.csv 44 \
  "Center,Treatment,Total,Deaths"
check "seizure.csv: 140 rows of Day,...,Seizures" shape seizure.csv 140 \
  "Day,logDay,Treatment,TreatmentlogDay,Hours,logHours,Seizures"
for f in mcycle tonedata nodata ethanol faithful sim_piecewise sim_2inputs patent npreg \
  trypanosome betablocker seizure; do
  check "$f.csv is documented in README.md" grep -q "^## $f.csv: " "$D/README.md"
done
run_status 0 "fit -k 1:5 on sim_piecewise.csv" fit -y y -x x -k 1:5 --restarts 4 --json - \
  "$D/sim_piecewise.csv"
# The first "k" of the JSON is the chosen model's (the selection table's entries come later).
check "BIC picks the K = 3 the data were drawn with" test \
  "$(grep -m 1 '"k":' "$TMPD/out" | tr -dc '0-9')" = 3
tap_done
