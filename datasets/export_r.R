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
data(NOdata, package = "mixtools")
out(NOdata[, c("NO", "Equivalence")], "nodata.csv")  # mixtools' hmeEM example; y is not last
library(lattice)
out(lattice::ethanol[, c("C", "E", "NOx")], "ethanol.csv")
out(datasets::faithful[, c("eruptions", "waiting")], "faithful.csv")

# GLM data (count and binary responses) from flexmix; the response is not always the last column
# here (npreg.csv has three responses, betablocker.csv and seizure.csv extra columns for trials
# and exposure): name it with -y. Factors become 0/1 columns, logicals 0/1.
suppressMessages(library(flexmix))
data(patent, package = "flexmix")
out(patent[, c("RDS", "lgRD", "Patents")], "patent.csv")
data(betablocker, package = "flexmix")
out(data.frame(Center = betablocker$Center,
               Treatment = as.integer(betablocker$Treatment == "Treated"),
               Total = betablocker$Total, Deaths = betablocker$Deaths), "betablocker.csv")
data(trypanosome, package = "flexmix")
out(data.frame(Dose = trypanosome$Dose, Dead = as.integer(trypanosome$Dead)), "trypanosome.csv")
data(seizure, package = "flexmix")
tr <- as.integer(seizure$Treatment == "Yes")
out(data.frame(Day = seizure$Day, logDay = log(seizure$Day), Treatment = tr,
               TreatmentlogDay = tr * log(seizure$Day), Hours = seizure$Hours,
               logHours = log(seizure$Hours), Seizures = seizure$Seizures), "seizure.csv")
data(NPreg, package = "flexmix")
out(NPreg[, c("x", "yn", "yp", "yb", "class")], "npreg.csv")
