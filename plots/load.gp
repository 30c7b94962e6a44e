# load.gp: the rows a top-k gate routes to each expert, one bar per expert (moefit's expert-load
# plot, drawn for a fit with --gate topk).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Set by moefit before this: datafile, K, model_title, note, held, balanced (top_k n / K).
# datafile columns: expert rows importance
set title model_title . "\n" . note
set xlabel 'expert'
set ylabel 'rows routed to the expert'
set style fill solid 0.85 border lc rgb '#333333'
set boxwidth 0.7
set xtics 1
unset key
set xrange [0.4:K + 0.6]
set yrange [0:*]
set arrow 1 from graph 0, first balanced to graph 1, first balanced nohead lc rgb '#666666' \
    lw 2 dt 2
plot datafile using 1:2:1 with boxes lc variable notitle
