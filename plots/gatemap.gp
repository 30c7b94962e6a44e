# gatemap.gp: the partition of the plane of two gate inputs that the softmax gate learns: every
# point of a grid coloured by its most probable expert (paler where the gate is less sure),
# the boundaries where the most probable expert changes, and the data on top, coloured by
# their most probable expert (moefit's gate map; needs gnuplot 5.2.6 or later, for keyentry).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Set by moefit before this: datafile, K, zname1, zname2 (the two gate inputs), model_title,
# note, held, has_y and, when has_y, data_experts (the experts that take a data row, e.g.
# '1 2 4': an expert without one draws no points, which gnuplot would warn about).
# datafile index 0 (a grid, one block per value of zname1): zname1 zname2 expert gate_1..gate_K
# datafile index 1 (the data): zname1 zname2, and when has_y: expert (by the posterior, 1-based)

# style.gp's line-type colours (Okabe-Ito) as numbers, to be mixed with white for the map.
array okabe_ito[8] = [0xE69F00, 0x56B4E9, 0x009E73, 0xD55E00, 0x0072B2, 0xCC79A7, 0xF0E442, \
                      0x000000]
# The map's colour for expert e where its gate probability is gmax: white mixed with the
# expert's colour, from pale_lo (gmax = 1/K, no preference) to pale_hi (gmax = 1, certain).
pale_lo = 0.12
pale_hi = 0.45
strength(gmax) = pale_lo + (pale_hi - pale_lo) * (gmax - 1.0 / K) / (1 - 1.0 / K)
channel(e, gmax, shift) = \
  255 - strength(gmax) * (255 - ((okabe_ito[(e - 1) % 8 + 1] >> shift) & 255))
# style.gp's filled point types; the open one (pt - 1) outlines each point in dark grey.
array point_type[8] = [7, 5, 9, 11, 13, 15, 7, 5]
outline(e) = point_type[(e - 1) % 8 + 1] - 1
key_rgb(e) = sprintf('#%02x%02x%02x', channel(e, 1, 16), channel(e, 1, 8), channel(e, 1, 0))
gate(i) = column(3 + i)
# other(i, j): the largest gate probability among experts j..K other than i.
max2(a, b) = a > b ? a : b
other(i, j) = j > K ? 0 : max2(j == i ? 0 : gate(j), other(i, j + 1))
# margin(i) > 0 exactly where expert i is the most probable: its 0 line is i's boundary.
margin(i) = gate(i) - other(i, 1)

# The boundaries, traced once as contours into a data block.
set table $boundaries
unset surface
set contour base
set cntrparam linear levels discrete 0
splot for [i=1:K] datafile index 0 using 1:2:(margin(i)) with lines notitle
unset table
unset contour
set surface
# The boundaries' plot element, or nothing when none was traced (one expert the most
# probable everywhere: an empty element would make gnuplot warn).
has_boundary = 0
do for [l = 1:|$boundaries|] {
  if (strlen($boundaries[l]) > 0 && $boundaries[l][1:1] ne '#') { has_boundary = 1 }
}
boundaries = has_boundary ? "$boundaries using 1:2 with lines lc rgb '#333333' lw 2 notitle," : ""

set title model_title . "\n" . note . (held eq '' ? '' : "\n" . held)
set xlabel zname1
set ylabel zname2
set autoscale fix
unset grid
set border 15 lw 1.5
set tics front
set key outside right top box opaque samplen 2 spacing 1.2
map_rgb(shift) = channel(int($3), gate(int($3)), shift)
if (has_y) {
  plot datafile index 0 using 1:2:(map_rgb(16)):(map_rgb(8)):(map_rgb(0)) with rgbimage \
         notitle, \
       @boundaries \
       for [i=1:K] keyentry with boxes fs solid 1 border lc rgb '#666666' \
         fc rgb key_rgb(i) title sprintf('gate: expert %d', i), \
       keyentry with lines lc rgb '#333333' lw 2 title 'boundary', \
       for [e in data_experts] datafile index 1 using 1:($3 == int(e) ? $2 : NaN) \
         with points lt int(e) title sprintf('data, expert %s', e), \
       for [e in data_experts] datafile index 1 using 1:($3 == int(e) ? $2 : NaN) \
         with points lt int(e) pt outline(int(e)) lw 0.6 lc rgb '#333333' notitle
} else {
  plot datafile index 0 using 1:2:(map_rgb(16)):(map_rgb(8)):(map_rgb(0)) with rgbimage \
         notitle, \
       @boundaries \
       for [i=1:K] keyentry with boxes fs solid 1 border lc rgb '#666666' \
         fc rgb key_rgb(i) title sprintf('gate: expert %d', i), \
       keyentry with lines lc rgb '#333333' lw 2 title 'boundary', \
       datafile index 1 using 1:2 with points pt 7 ps 0.8 lc rgb '#333333' title 'data'
}
