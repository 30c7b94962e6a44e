# regimes.gp: the data coloured by expert, each expert's line where its gate is appreciable,
# the mixture mean and a +-2 predictive-SD band (moefit's regimes plot).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Set by moefit before this: datafile, K, xname, yname, model_title, note, held, has_y, and
# with two or more inputs fitted = 1 and inputs (their names): the fitted view below.
# datafile index 0 (a grid of xname): xname mean sd lower upper mu_1..mu_K gate_1..gate_K
# datafile index 1 (the data, when has_y): xname yname expert (most probable, 1-based)
# Fitted view (the rows cannot follow lines drawn with the other inputs at their means):
# datafile index 0: the diagonal (two rows: fitted yname); index 1, the data: fitted yname
# expert mean xname, fitted being the mean of the row's expert at the row's own inputs.
if (!exists('fitted')) fitted = 0
gate_min = 0.05   # an expert's line is drawn where its gate probability exceeds this
mu(i) = column(5 + i)
gate(i) = column(5 + K + i)
set title model_title . "\n" . note . (held eq '' ? '' : "\n" . held)
set ylabel yname
if (fitted) {
  set xlabel "fitted mean of the row's expert at its own " . inputs
  plot datafile index 0 using 1:2 with lines lc rgb '#000000' lw 3 dt 2 \
         title yname . ' = fitted mean', \
       for [i=1:K] datafile index 1 using 1:($3 == i ? $2 : NaN) with points lt i \
         title sprintf('data, expert %d', i)
} else {
  set xlabel xname
  if (has_y) {
    plot datafile index 0 using 1:4:5 with filledcurves fc rgb '#bbbbbb' \
           fs transparent solid 0.4 noborder title '±2 predictive SD', \
         for [i=1:K] datafile index 1 using 1:($3 == i ? $2 : NaN) with points lt i \
           title sprintf('data, expert %d', i), \
         for [i=1:K] datafile index 0 using 1:(gate(i) > gate_min ? mu(i) : NaN) \
           with lines lt i lw 4 notitle, \
         datafile index 0 using 1:2 with lines lc rgb '#000000' lw 3 dt 2 title 'mixture mean'
  } else {
    plot datafile index 0 using 1:4:5 with filledcurves fc rgb '#bbbbbb' \
           fs transparent solid 0.4 noborder title '±2 predictive SD', \
         for [i=1:K] datafile index 0 using 1:(gate(i) > gate_min ? mu(i) : NaN) \
           with lines lt i lw 4 title sprintf('expert %d', i), \
         datafile index 0 using 1:2 with lines lc rgb '#000000' lw 3 dt 2 title 'mixture mean'
  }
}
