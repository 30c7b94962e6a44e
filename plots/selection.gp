# selection.gp: AIC, BIC and ICL against the number of experts K (moefit's model-selection plot).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Set by moefit before this: datafile, chosen (the K kept), model_title, note, held; with
# trees in the selection also model_tics ("set xtics ('2x2' 1, 'K=4' 2)"), and then the
# first column and chosen are the models' places 1, 2, ... rather than K.
# datafile columns: k (or model) loglik df aic bic icl
set title model_title . "\n" . note . (held eq '' ? '' : "\n" . held)
set xlabel (exists("model_tics") ? 'model (tree or number of experts K)' : 'number of experts K')
set ylabel 'criterion (smaller is better)'
set xtics 1
if (exists("model_tics")) eval model_tics
set offsets 0.2, 0.2, 0, 0
set arrow 1 from chosen, graph 0 to chosen, graph 1 nohead lc rgb '#666666' lw 2 dt 3
plot datafile using 1:4 with linespoints lt 5 title 'AIC', \
     datafile using 1:5 with linespoints lt 4 title 'BIC', \
     datafile using 1:6 with linespoints lt 3 title 'ICL'
