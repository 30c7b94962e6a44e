# flexmix_glm.R: R flexmix reference fits for moefit's Poisson and logistic experts (issue 9):
# mixtures of GLMs (FLXMRglm) with a softmax gate (FLXPmultinom(~ z)) on the GLM data sets
# shipped in datasets/ (patent, npreg, trypanosome, betablocker, seizure).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
#
# Usage (from the top of the source tree; R >= 4.2 with flexmix, Debian r-cran-flexmix):
#   Rscript tests/R/flexmix_glm.R [top_srcdir [CASE...]] > tests/R/glm_references.txt
# CASE is one of patent, npreg, trypanosome, betablocker, seizure (default: all, in that order;
# several processes, one per CASE, give the same lines faster). About 10 minutes on one core.
# Every fit is the best of stepFlexmix(..., k = K, nrep = 20) after set.seed(1), with
# control = list(tolerance = 1e-10, iter.max = 2000, minprior = 0). For the best fit it prints,
# one labelled number per line (%.10g):
#   loglik, df (attr(logLik, "df")), BIC, iterations, converged,
#   expert coefficients (parameters(fit)) with refit() standard errors ("se"),
#   gate coefficients (parameters(fit, which = "concomitant")) with refit() standard errors,
#     flexmix's reference is component 1 (its coefficients are 0 and not printed); the gate
#     coefficients are also printed relative to the LAST component (moefit's reference expert),
#     "gate_vs_last", with standard errors from refit()'s covariance matrix;
#   prior: the mean gate probability of each component;
#   refit_shift: the largest change of a coefficient between the EM fit and refit()'s optim
#     (refit maximises the full log-likelihood from the EM fit: a large shift means EM stopped
#     short of the maximum).
# Component labels (c1, c2, ...) are flexmix's and arbitrary: match moefit's experts by their
# coefficients. Log-likelihoods are the full densities: Poisson with -log(y!), binomial with
# log choose(n, y) (printed separately as logchoose_sum, so a fit without it can be compared).
suppressMessages(library(flexmix))
args <- commandArgs(trailingOnly = TRUE)
top <- if (length(args) >= 1) args[1] else "."
cases <- if (length(args) >= 2) args[-1] else
  c("patent", "npreg", "trypanosome", "betablocker", "seizure")
rd <- function(f) read.csv(file.path(top, "datasets", f))
p <- function(label, value) cat(sprintf("%s %.10g\n", label, value))

nrep <- as.integer(Sys.getenv("NREP", "20"))   # fewer only for trying the script out
ctl <- list(tolerance = 1e-10, iter.max = 2000, minprior = 0)

fit_case <- function(name, formula, data, family, ks, gate = NULL, offset = NULL) {
  for (k in ks) {
    set.seed(1)
    model <- if (is.null(offset)) FLXMRglm(family = family) else
      FLXMRglm(family = family, offset = offset)
    fit <- if (is.null(gate) || k == 1)
      stepFlexmix(formula, data = data, k = k, nrep = nrep, verbose = FALSE, model = model,
                  control = ctl)
    else
      stepFlexmix(formula, data = data, k = k, nrep = nrep, verbose = FALSE, model = model,
                  concomitant = FLXPmultinom(gate), control = ctl)
    lab <- sprintf("%s K=%d", name, k)
    ll <- logLik(fit)
    p(paste(lab, "loglik"), as.numeric(ll))
    p(paste(lab, "df"), attr(ll, "df"))
    p(paste(lab, "BIC"), BIC(fit))
    p(paste(lab, "k_fitted"), fit@k)
    p(paste(lab, "iterations"), fit@iter)
    p(paste(lab, "converged"), as.numeric(fit@converged))
    kk <- fit@k
    pr <- prior(fit)
    # refit() fails when its Hessian is singular (an expert whose rows it separates perfectly,
    # coefficients running off to infinity): then the standard errors are NaN.
    rf <- tryCatch(refit(fit), error = function(e) NULL)
    s <- NULL
    if (is.null(rf))
      p(paste(lab, "refit_failed"), 1)
    else
      junk <- capture.output(s <- summary(rf))   # summary() of a refit prints as well
    cf <- parameters(fit)
    for (i in 1:kk) {
      p(sprintf("%s c%d prior", lab, i), pr[i])
      for (j in sub("^coef\\.", "", rownames(cf))) {
        p(sprintf("%s c%d expert %s", lab, i, j), cf[paste0("coef.", j), i])
        p(sprintf("%s c%d expert %s se", lab, i, j),
          if (is.null(s)) NaN else s@components[[1]][[i]][j, "Std. Error"])
      }
    }
    nm <- if (is.null(rf)) character(0) else names(rf@coef)
    shift <- if (is.null(rf)) NaN else max(abs(rf@coef[grep("^model", nm)] - as.vector(cf)))
    if (kk > 1) {
      # flexmix's gate: logits v_i' z~ with v_1 = 0; a constant gate (FLXPconstant) has one
      # logit per component, alpha_i = log(prior_i / prior_1), in refit()'s parameters.
      if (is.null(gate)) {
        cc <- matrix(log(pr / pr[1]), 1, dimnames = list("(Intercept)", NULL))
        cn <- function(i, j) sprintf("concomitant_Comp.%d.alpha", i)
      } else {
        cc <- parameters(fit, which = "concomitant")
        cn <- function(i, j) sprintf("concomitant_Comp.%d.%s", i, j)
        for (i in 2:kk) for (j in rownames(cc)) {
          p(sprintf("%s c%d gate %s", lab, i, j), cc[j, i])
          p(sprintf("%s c%d gate %s se", lab, i, j),
            if (is.null(s)) NaN else s@concomitant[[i - 1]][j, "Std. Error"])
        }
      }
      if (!is.null(rf)) {
        gi <- unlist(lapply(2:kk, function(i) match(cn(i, rownames(cc)), nm)))
        shift <- max(shift, abs(rf@coef[gi] - as.vector(cc[, -1])))
      }
      # Relative to the last component (moefit's reference expert): w_i = v_i - v_K,
      # i = 1..K-1, with standard errors from refit()'s covariance matrix.
      for (i in 1:(kk - 1)) for (j in rownames(cc)) {
        se <- NaN
        if (!is.null(rf)) {
          a <- setNames(numeric(length(nm)), nm)
          a[cn(kk, j)] <- -1
          if (i > 1)
            a[cn(i, j)] <- 1
          se <- sqrt(drop(t(a) %*% rf@vcov %*% a))
        }
        p(sprintf("%s c%d gate_vs_last %s", lab, i, j), cc[j, i] - cc[j, kk])
        p(sprintf("%s c%d gate_vs_last %s se", lab, i, j), se)
      }
    }
    p(paste(lab, "refit_shift"), shift)
  }
}

if ("patent" %in% cases) {
  patent <- rd("patent.csv")
  fit_case("patent", Patents ~ lgRD, patent, "poisson", 1:3, gate = ~ RDS)
}
if ("npreg" %in% cases) {
  # two classes by construction: K = 3 only splits one of them (its gate separates)
  npreg <- rd("npreg.csv")
  fit_case("npreg_poisson", yp ~ x, npreg, "poisson", 1:2, gate = ~ x)
  fit_case("npreg_binomial", cbind(yb, 1 - yb) ~ x, npreg, "binomial", 1:2, gate = ~ x)
}
if ("trypanosome" %in% cases) {
  tryp <- rd("trypanosome.csv")
  fit_case("trypanosome", cbind(Dead, 1 - Dead) ~ Dose, tryp, "binomial", 1:3, gate = ~ Dose)
}
if ("betablocker" %in% cases) {
  # constant gate (no concomitant variable); binomial with trials Total
  bb <- rd("betablocker.csv")
  p("betablocker logchoose_sum", sum(lchoose(bb$Total, bb$Deaths)))
  fit_case("betablocker", cbind(Deaths, Total - Deaths) ~ Treatment, bb, "binomial", 1:3)
}
if ("seizure" %in% cases) {
  # Wang et al.'s model: Treatment * log(Day), offset log(Hours), constant gate
  sz <- rd("seizure.csv")
  fit_case("seizure", Seizures ~ Treatment + logDay + TreatmentlogDay, sz, "poisson", 1:2,
           offset = sz$logHours)
}
cat(sprintf("R_version %s.%s\n", R.version$major, R.version$minor))
cat("flexmix_version", as.character(packageVersion("flexmix")), "\n")
