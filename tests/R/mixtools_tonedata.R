# mixtools_tonedata.R: the R mixtools reference that tests/test_em.c
# (test_mixtools_constant_gate) checks moefit against: a mixture of two linear regressions with
# constant mixing proportions (a mixture of experts whose gate has no inputs) on tonedata.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# Usage (from the top of the source tree; R >= 4.2 with mixtools, Debian r-cran-mixtools):
#   Rscript tests/R/mixtools_tonedata.R [top_srcdir]
# (the output of a run is tests/R/mixtools_references.txt). Runs
# regmixEM(tuned, stretchratio, k = 2, epsilon = 1e-12, maxit = 10000) with set.seed(1), ...,
# set.seed(20) on datasets/tonedata.csv, keeps the run with the highest log-likelihood and prints
# it with %.12g (12 digits show that the constants in tests/test_em.c are these numbers), the
# component with the larger proportion first. Takes about 30 seconds.
suppressMessages(library(mixtools))
args <- commandArgs(trailingOnly = TRUE)
top <- if (length(args) >= 1) args[1] else "."
d <- read.csv(file.path(top, "datasets/tonedata.csv"))
p <- function(label, value) cat(sprintf("%s %.12g\n", label, value))
best <- NULL
for (s in 1:20) {
  set.seed(s)
  f <- NULL
  junk <- capture.output(   # regmixEM prints its iteration count
    f <- tryCatch(regmixEM(d$tuned, d$stretchratio, k = 2, epsilon = 1e-12, maxit = 10000),
                  error = function(e) NULL))
  if (!is.null(f) && (is.null(best) || f$loglik > best$loglik)) best <- f
}
o <- order(best$lambda, decreasing = TRUE)
p("tonedata K=2 gate~1 loglik", best$loglik)
for (r in 1:2) {
  i <- o[r]
  p(sprintf("tonedata K=2 gate~1 expert%d intercept", r), best$beta[1, i])
  p(sprintf("tonedata K=2 gate~1 expert%d slope", r), best$beta[2, i])
  p(sprintf("tonedata K=2 gate~1 expert%d sigma", r), best$sigma[i])
  p(sprintf("tonedata K=2 gate~1 expert%d lambda", r), best$lambda[i])
}
cat("mixtools_version", as.character(packageVersion("mixtools")), "\n")
cat(sprintf("R_version %s.%s\n", R.version$major, R.version$minor))
