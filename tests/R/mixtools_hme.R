# mixtools_hme.R: the R mixtools hmeEM references that tests/test_hme.c (test_mixtools)
# checks moefit against: a mixture of two linear experts with a logistic gate on the same
# one input (hmeEM with k = 2, the case mixtools handles), on mixtools' own example data
# (NOdata, shipped as datasets/nodata.csv) and on datasets/tonedata.csv.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# Usage (from the top of the source tree; R >= 4.2 with mixtools, Debian r-cran-mixtools):
#   Rscript tests/R/mixtools_hme.R [top_srcdir] > tests/R/hme_references.txt
# For NOdata it runs the example of ?hmeEM exactly (set.seed(100); regmixEM(Equivalence, NO);
# hmeEM(Equivalence, NO, beta = em.out$beta)), then hmeEM from set.seed(1..20) random starts,
# and prints the example's log-likelihood, the best of the 21 and their iteration counts
# (%.10g). The same for tonedata (y = tuned, x = stretchratio; no example there, so only the
# 20 random starts). hmeEM's default epsilon is 1e-8 and maxit 10000. About a minute.
suppressMessages(library(mixtools))
args <- commandArgs(trailingOnly = TRUE)
top <- if (length(args) >= 1) args[1] else "."
p <- function(label, value) cat(sprintf("%s %.10g\n", label, value))
quiet <- function(expr) { junk <- capture.output(r <- expr); r }
best_of <- function(y, x, label) {
  best <- NULL
  for (s in 1:20) {
    set.seed(s)
    f <- tryCatch(quiet(hmeEM(y, x)), error = function(e) NULL)
    if (!is.null(f) && is.finite(f$loglik) && (is.null(best) || f$loglik > best$loglik))
      best <- f
  }
  p(paste(label, "hmeEM best of 20 loglik"), best$loglik)
  p(paste(label, "hmeEM best of 20 iterations"), length(best$all.loglik) - 1)
  invisible(best)
}
data(NOdata)
nod <- read.csv(file.path(top, "datasets/nodata.csv"))
stopifnot(isTRUE(all.equal(nod$NO, NOdata$NO)),
          isTRUE(all.equal(nod$Equivalence, NOdata$Equivalence)))
set.seed(100)
em.out <- quiet(regmixEM(NOdata$Equivalence, NOdata$NO))
hme.out <- quiet(hmeEM(NOdata$Equivalence, NOdata$NO, beta = em.out$beta))
p("NOdata hmeEM example loglik", hme.out$loglik)
p("NOdata hmeEM example iterations", length(hme.out$all.loglik) - 1)
best_of(NOdata$Equivalence, NOdata$NO, "NOdata")
tone <- read.csv(file.path(top, "datasets/tonedata.csv"))
best_of(tone$tuned, tone$stretchratio, "tonedata")
cat("mixtools_version", as.character(packageVersion("mixtools")), "\n")
