# style.gp: the look shared by every moefit figure (copied into each NAME.gp that moefit writes).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Colours: the Okabe-Ito palette, told apart by colour-blind viewers (Okabe & Ito 2008,
# "Color Universal Design"); yellow and black come last. Lines are thick for projectors.
set linetype 1 lc rgb '#E69F00' lw 3 pt 7 ps 1.3   # orange
set linetype 2 lc rgb '#56B4E9' lw 3 pt 5 ps 1.2   # sky blue
set linetype 3 lc rgb '#009E73' lw 3 pt 9 ps 1.5   # bluish green
set linetype 4 lc rgb '#D55E00' lw 3 pt 11 ps 1.5  # vermillion
set linetype 5 lc rgb '#0072B2' lw 3 pt 13 ps 1.4  # blue
set linetype 6 lc rgb '#CC79A7' lw 3 pt 15 ps 1.4  # reddish purple
set linetype 7 lc rgb '#F0E442' lw 3 pt 7 ps 1.3   # yellow
set linetype 8 lc rgb '#000000' lw 3 pt 5 ps 1.2   # black
set linetype cycle 8
set encoding utf8
set border 3 lw 1.5
set tics nomirror out
set grid lc rgb '#dddddd' lw 1
set key outside right top box opaque samplen 2 spacing 1.2
set title font ',18'
