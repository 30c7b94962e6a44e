# responsibility.gp: posterior responsibilities h_ni of every row along one input, over the
# gate probabilities g_i drawn as thin lines (moefit's responsibility plot).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Set by moefit before this: datafile, gatefile, K, xname, model_title, note, held.
# datafile columns: xname, h_1 .. h_K (one row per data row, sorted by xname)
# gatefile columns: xname, g_1 .. g_K (the gating plot's data)
# With two or more inputs (fitted = 1, inputs: their names) the gate lines along xname, drawn
# with the other inputs at their means, are not the rows' own gates; then each row's h_i is
# drawn against its own g_i instead, over the diagonal h = g. datafile columns: xname,
# gate_1 .. gate_K, post_1 .. post_K (one row per data row, in their order).
if (!exists('fitted')) fitted = 0
set title model_title . "\n" . note . (held eq '' ? '' : "\n" . held)
set ylabel 'posterior responsibility'
set yrange [-0.02:1.02]
set ytics 0.2
if (fitted) {
  set xlabel 'gate probability at the row''s own ' . inputs
  set xrange [-0.02:1.02]
  set xtics 0.2
  set samples 2
  plot [-0.02:1.02] x with lines lc rgb '#000000' lw 2 dt 2 title 'posterior = gate', \
       for [i=1:K] datafile using (column(1 + i)):(column(1 + K + i)) with points lt i \
         title sprintf('expert %d', i)
} else {
  set xlabel xname
  plot for [i=1:K] datafile using 1:(column(1 + i)) with points lt i \
         title sprintf('expert %d', i), \
       for [i=1:K] gatefile using 1:(column(1 + i)) with lines lt i lw 1.5 dt 2 notitle
}
