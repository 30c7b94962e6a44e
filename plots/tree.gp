# tree.gp: the tree of gates of a hierarchical mixture of experts (moefit's tree figure): the
# gates as boxes, the branches labelled with their shares, the leaves with their experts.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Set by moefit before this: datafile, K, depth, model_title, note, held.
# datafile index 0 (branches): x_from y_from dx dy x_mid y_mid share
#          index 1 (gates): x y "name";  index 2 (leaves): x y expert prior "path" "predictor"
set title model_title . "\n" . note
unset border
unset tics
unset grid
unset key
set xrange [-0.7:K - 0.3]
set yrange [-0.9:depth + 0.4]
plot datafile index 0 using 1:2:3:4 with vectors nohead lw 3 lc rgb '#888888', \
     datafile index 0 using 5:6:(sprintf('%.2f', $7)) with labels boxed font ',14', \
     datafile index 1 using 1:2 with points pt 5 ps 4 lc rgb '#0072B2', \
     datafile index 1 using 1:($2 + 0.22):3 with labels font ',14', \
     datafile index 2 using 1:2:3 with points pt 7 ps 3 lc variable, \
     datafile index 2 using 1:($2 - 0.25):(sprintf('expert %d (%s)', $3, stringcolumn(5))) \
         with labels font ',13', \
     datafile index 2 using 1:($2 - 0.45):(sprintf('prior %.2f', $4)) with labels font ',12', \
     datafile index 2 using 1:($2 - 0.65):6 with labels font ',11'
