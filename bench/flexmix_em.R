# flexmix_em.R: R flexmix reference log-likelihoods (tests/test_em.c) and EM timings (bench_em).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# Usage:
#   Rscript bench/flexmix_em.R ref [top_srcdir]
#       best logLik of flexmix with K = 2, 3 on mcycle (accel ~ times) and faithful
#       (eruptions ~ waiting); tests/R/flexmix_gaussian.R prints the same with 10 digits
#   Rscript bench/flexmix_em.R bench FILE.csv K      seconds per EM iteration of flexmix on FILE.csv
#                                                    (last column y, the others x1..xD, gate ~ x)
#   Rscript bench/flexmix_em.R same FILE.csv K I TOL PART.csv
#       bench_em's like-for-like figures from the start partition PART.csv (column cluster,
#       1..K), given as cluster =: PER_ITERATION s logLik, where s = (T(I + 1) - T(1)) / I of two
#       calls with tolerance 0 (only iterations in it: both calls build the same matrices and
#       start) and logLik is after I + 1 M-steps (moefit's start and I iterations); and
#       TO_CONVERGE s iterations logLik with tolerance TOL (at most 1000 iterations)
# Model: flexmix(y ~ x, k = K, concomitant = FLXPmultinom(~ x)), i.e. softmax-gated Gaussian linear
# experts, the same model as moefit's. flexmix's default minprior = 0.05 drops small components; the
# reference also runs with minprior = 0 (moefit's default) and reports both.
suppressMessages(library(flexmix))
args <- commandArgs(trailingOnly = TRUE)
mode <- if (length(args) >= 1) args[1] else "ref"

best_loglik <- function(formula, conc, data, k, minprior) {
  set.seed(1)
  fit <- stepFlexmix(formula, data = data, k = k, nrep = 20, verbose = FALSE,
                     concomitant = FLXPmultinom(conc),
                     control = list(minprior = minprior, iter.max = 1000, tolerance = 1e-10))
  c(loglik = as.numeric(logLik(fit)), k = fit@k)
}

if (mode == "ref") {
  top <- if (length(args) >= 2) args[2] else "."
  mcycle <- read.csv(file.path(top, "datasets/mcycle.csv"))
  faith <- read.csv(file.path(top, "datasets/faithful.csv"))
  for (mp in c(0.05, 0)) for (k in 2:3) {
    r <- best_loglik(accel ~ times, ~ times, mcycle, k, mp)
    cat(sprintf("mcycle   K=%d minprior=%.2f: logLik %.6f (k fitted %d)\n", k, mp, r[1], r[2]))
    r <- best_loglik(eruptions ~ waiting, ~ waiting, faith, k, mp)
    cat(sprintf("faithful K=%d minprior=%.2f: logLik %.6f (k fitted %d)\n", k, mp, r[1], r[2]))
  }
} else if (mode == "bench") {
  d <- read.csv(args[2])
  k <- as.integer(args[3])
  names(d)[ncol(d)] <- "y"
  xs <- setdiff(names(d), "y")
  f <- as.formula(paste("y ~", paste(xs, collapse = " + ")))
  g <- as.formula(paste("~", paste(xs, collapse = " + ")))
  set.seed(1)
  t <- system.time(fit <- flexmix(f, data = d, k = k, concomitant = FLXPmultinom(g),
                                  control = list(minprior = 0, iter.max = 20, tolerance = 0)))
  it <- fit@iter
  cat(sprintf("flexmix N=%d D=%d K=%d: %d iterations, %.3f s, %.5f s/iteration\n",
              nrow(d), length(xs), k, it, t[["elapsed"]], t[["elapsed"]] / it))
  cat(sprintf("SECONDS_PER_ITERATION %.6g\n", t[["elapsed"]] / it))
} else if (mode == "same") {
  d <- read.csv(args[2])
  k <- as.integer(args[3])
  iters <- as.integer(args[4])
  tol <- as.numeric(args[5])
  part <- read.csv(args[6])$cluster
  names(d)[ncol(d)] <- "y"
  xs <- setdiff(names(d), "y")
  f <- as.formula(paste("y ~", paste(xs, collapse = " + ")))
  g <- as.formula(paste("~", paste(xs, collapse = " + ")))
  fit_for <- function(iter.max, tolerance)
    flexmix(f, data = d, k = k, cluster = part, concomitant = FLXPmultinom(g),
            control = list(minprior = 0, iter.max = iter.max, tolerance = tolerance))
  t1 <- system.time(fit1 <- fit_for(1, 0))[["elapsed"]]
  tI <- system.time(fitI <- fit_for(iters + 1, 0))[["elapsed"]]
  cat(sprintf("flexmix N=%d D=%d K=%d: %d iterations %.3f s, 1 iteration %.3f s\n", nrow(d),
              length(xs), k, fitI@iter, tI, t1))
  cat(sprintf("PER_ITERATION %.6g %.10g\n", (tI - t1) / (fitI@iter - fit1@iter),
              as.numeric(logLik(fitI))))
  tc <- system.time(fitc <- fit_for(1000, tol))[["elapsed"]]
  cat(sprintf("TO_CONVERGE %.6g %d %.10g\n", tc, fitc@iter, as.numeric(logLik(fitc))))
}
