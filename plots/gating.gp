# gating.gp: every expert's gate probability g_i against one input (moefit's gating plot).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Set by moefit before this: datafile, K, xname, model_title, note, held (and, for a tree,
# leafnames: the leaves' paths, "1.1 1.2 ...").
# datafile columns: xname, then g_1 .. g_K on a grid of the input's range.
set title model_title . "\n" . note . (held eq '' ? '' : "\n" . held)
set xlabel xname
set ylabel 'gate probability'
set yrange [-0.02:1.02]
set ytics 0.2
plot for [i=1:K] datafile using 1:(column(1 + i)) with lines lt i \
     title (exists("leafnames") ? sprintf("expert %d (leaf %s)", i, word(leafnames, i)) \
                                : sprintf("expert %d", i))
