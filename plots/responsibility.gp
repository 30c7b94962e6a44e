# responsibility.gp: posterior responsibilities h_ni of every row along one input, over the
# gate probabilities g_i drawn as thin lines (moefit's responsibility plot).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Set by moefit before this: datafile, gatefile, K, xname, model_title, note, held.
# datafile columns: xname, h_1 .. h_K (one row per data row, sorted by xname)
# gatefile columns: xname, g_1 .. g_K (the gating plot's data)
set title model_title . "\n" . note . (held eq '' ? '' : "\n" . held)
set xlabel xname
set ylabel 'posterior responsibility'
set yrange [-0.02:1.02]
set ytics 0.2
plot for [i=1:K] datafile using 1:(column(1 + i)) with points lt i \
       title sprintf('expert %d', i), \
     for [i=1:K] gatefile using 1:(column(1 + i)) with lines lt i lw 1.5 dt 2 notitle
