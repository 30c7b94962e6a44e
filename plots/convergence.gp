# convergence.gp: log-likelihood against EM iteration (or, for gradient descent, the loss
# against epoch) for every start, the kept one highlighted (moefit's convergence plot).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Set by moefit before this: datafile, nstarts, best (0-based block of the kept start),
# model_title, note, held; for gradient descent also xlab, ylab and valid (the block of the
# kept start's validation loss, -1 when no rows were held out).
# datafile: one block (index) per start, columns: start iteration loglik (GD: start epoch loss)
if (!exists('valid')) valid = -1
if (!exists('xlab')) xlab = 'EM iteration'
if (!exists('ylab')) ylab = 'log-likelihood'
set title model_title . "\n" . note . (held eq '' ? '' : "\n" . held)
set xlabel xlab
set ylabel ylab
if (valid >= 0) {
  plot for [r=0:nstarts-1] datafile index r using 2:3 with lines lc rgb '#999999' lw 2 \
         title (r == 0 && nstarts > 1 ? 'other starts' : ''), \
       datafile index best using 2:3 with lines lc rgb '#D55E00' lw 4 \
         title 'kept start (training)', \
       datafile index valid using 2:3 with lines lc rgb '#0072B2' lw 4 dt 2 \
         title 'kept start (validation)'
} else {
  plot for [r=0:nstarts-1] datafile index r using 2:3 with lines lc rgb '#999999' lw 2 \
         title (r == 0 && nstarts > 1 ? 'other starts' : ''), \
       datafile index best using 2:3 with lines lc rgb '#D55E00' lw 4 title 'kept start'
}
