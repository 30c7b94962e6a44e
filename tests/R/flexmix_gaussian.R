# flexmix_gaussian.R: the R flexmix log-likelihoods that tests/test_em.c (test_flexmix) checks
# moefit against: softmax-gated Gaussian linear experts on mcycle and faithful.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# Usage (from the top of the source tree; R >= 4.2 with flexmix, Debian r-cran-flexmix):
#   Rscript tests/R/flexmix_gaussian.R [top_srcdir]
# For each data set and K it prints, with a label and %.10g:
#   - flexmix's best logLik of stepFlexmix(y ~ x, k = K, nrep = 20,
#     concomitant = FLXPmultinom(~ x), control = list(minprior = MP, iter.max = 1000,
#     tolerance = 1e-10)) after set.seed(1), for MP = 0 (moefit's default) and 0.05 (flexmix's);
#     the same recipe as `Rscript bench/flexmix_em.R ref`, which prints 6 decimals only;
#   - "polished": a direct maximisation of the same log-likelihood (optim BFGS) started from
#     flexmix's best fit. flexmix's gate M-step is nnet's quasi-Newton with its default stopping
#     rule (maxit 100, reltol 1e-8), so its EM can stop short of the maximum; the polished value
#     shows how far. When the gate separates the data the supremum is not attained and the
#     polished value keeps creeping up (reported with the largest gate coefficient).
# Output of a run: tests/R/gaussian_references.txt. Takes a few minutes (faithful K = 3 is slow:
# its best starts hit iter.max).
suppressMessages(library(flexmix))
args <- commandArgs(trailingOnly = TRUE)
top <- if (length(args) >= 1) args[1] else "."
p <- function(label, value) cat(sprintf("%s %.10g\n", label, value))

# The moefit log-likelihood: gate logits eta_i = v_i0 + v_i1 z (v_K = 0), experts N(b_i0 + b_i1 x,
# s_i^2). theta = (b (2K), log s (K), v (2(K-1))).
moe_loglik <- function(theta, x, y, k) {
  b <- matrix(theta[1:(2 * k)], 2)
  s <- exp(theta[2 * k + 1:k])
  v <- cbind(matrix(theta[3 * k + seq_len(2 * (k - 1))], 2), 0)
  eta <- cbind(1, x) %*% v
  lg <- eta - apply(eta, 1, max)
  lg <- lg - log(rowSums(exp(lg)))
  lf <- sapply(1:k, function(i) dnorm(y, b[1, i] + b[2, i] * x, s[i], log = TRUE))
  a <- lg + lf
  m <- apply(a, 1, max)
  sum(m + log(rowSums(exp(a - m))))
}

polish <- function(fit, x, y) {
  k <- fit@k
  pr <- parameters(fit)                   # rows (Intercept), slope, sigma; one column per comp.
  cc <- parameters(fit, which = "concomitant")   # column 1 is the reference (zero)
  v <- cc[, -1, drop = FALSE] - cc[, 1]   # moefit's reference is the last expert: reorder
  ord <- c(2:k, 1)
  b <- pr[1:2, ord, drop = FALSE]
  s <- pr[3, ord]
  theta <- c(b, log(s), v)
  # moefit's reference expert is the last one; flexmix's is the first: with ord, flexmix's
  # component 1 becomes the last expert and the others keep their logits.
  o <- optim(theta, moe_loglik, x = x, y = y, k = k, method = "BFGS",
             control = list(fnscale = -1, reltol = 1e-15, maxit = 20000))
  c(start = moe_loglik(theta, x, y, k), polished = o$value,
    maxgate = max(abs(o$par[3 * k + seq_len(2 * (k - 1))])))
}

best <- function(formula, conc, data, k, minprior) {
  set.seed(1)
  stepFlexmix(formula, data = data, k = k, nrep = 20, verbose = FALSE,
              concomitant = FLXPmultinom(conc),
              control = list(minprior = minprior, iter.max = 1000, tolerance = 1e-10))
}

mcycle <- read.csv(file.path(top, "datasets/mcycle.csv"))
faith <- read.csv(file.path(top, "datasets/faithful.csv"))
cases <- list(list("mcycle", accel ~ times, ~ times, mcycle, mcycle$times, mcycle$accel),
              list("faithful", eruptions ~ waiting, ~ waiting, faith, faith$waiting,
                   faith$eruptions))
for (cs in cases) for (k in 2:3) for (mp in c(0, 0.05)) {
  fit <- best(cs[[2]], cs[[3]], cs[[4]], k, mp)
  lab <- sprintf("%s K=%d minprior=%g", cs[[1]], k, mp)
  p(paste(lab, "loglik"), as.numeric(logLik(fit)))
  p(paste(lab, "k_fitted"), fit@k)
  p(paste(lab, "iterations"), fit@iter)
  if (mp == 0 && fit@k == k) {
    r <- polish(fit, cs[[5]], cs[[6]])
    p(paste(lab, "loglik_moe_formula"), r[["start"]])
    p(paste(lab, "polished_loglik"), r[["polished"]])
    p(paste(lab, "polished_max_abs_gate_coef"), r[["maxgate"]])
  }
}
cat(sprintf("R_version %s.%s\n", R.version$major, R.version$minor))
cat("flexmix_version", as.character(packageVersion("flexmix")), "\n")
