# selection.gp: AIC, BIC and ICL against the number of experts K (moefit's model-selection plot).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Set by moefit before this: datafile, chosen (the K kept), model_title, note, held.
# datafile columns: k loglik df aic bic icl
set title model_title . "\n" . note . (held eq '' ? '' : "\n" . held)
set xlabel 'number of experts K'
set ylabel 'criterion (smaller is better)'
set xtics 1
set offsets 0.2, 0.2, 0, 0
set arrow 1 from chosen, graph 0 to chosen, graph 1 nohead lc rgb '#666666' lw 2 dt 3
plot datafile using 1:4 with linespoints lt 5 title 'AIC', \
     datafile using 1:5 with linespoints lt 4 title 'BIC', \
     datafile using 1:6 with linespoints lt 3 title 'ICL'
