# export_r.R: writes the real data sets shipped in datasets/ from the R packages they come from.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Run from the datasets/ folder:  Rscript export_r.R
# Needs R >= 4.2 with MASS, mixtools, lattice (datasets is part of base R). The response is the
# last column of every file, so `moefit FILE.csv` picks it by default.
out <- function(df, file) {
  write.csv(df, file, row.names = FALSE, quote = FALSE)
  cat(sprintf("%s: %d rows, columns %s\n", file, nrow(df), paste(names(df), collapse = ",")))
}
library(MASS)
out(MASS::mcycle[, c("times", "accel")], "mcycle.csv")
suppressMessages(library(mixtools))
data(tonedata, package = "mixtools")
out(tonedata[, c("stretchratio", "tuned")], "tonedata.csv")
library(lattice)
out(lattice::ethanol[, c("C", "E", "NOx")], "ethanol.csv")
out(datasets::faithful[, c("eruptions", "waiting")], "faithful.csv")
