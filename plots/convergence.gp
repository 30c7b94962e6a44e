# convergence.gp: log-likelihood against EM iteration for every start, the kept one
# highlighted (moefit's convergence plot).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Set by moefit before this: datafile, nstarts, best (0-based block of the kept start),
# model_title, note, held.
# datafile: one block (index) per start, columns: start iteration loglik
set title model_title . "\n" . note . (held eq '' ? '' : "\n" . held)
set xlabel 'EM iteration'
set ylabel 'log-likelihood'
plot for [r=0:nstarts-1] datafile index r using 2:3 with lines lc rgb '#999999' lw 2 \
       title (r == 0 && nstarts > 1 ? 'other starts' : ''), \
     datafile index best using 2:3 with lines lc rgb '#D55E00' lw 4 title 'kept start'
