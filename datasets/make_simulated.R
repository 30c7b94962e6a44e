# make_simulated.R: draws the two simulated data sets shipped in datasets/ (reproducibly).
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
# Run from the datasets/ folder:  Rscript make_simulated.R
# Both sets are drawn from a softmax-gated mixture of Gaussian linear experts, the model moefit
# fits, with the parameters written below (the last expert is the gate's reference, v_K = 0).
# The RNG kinds are named so that any R >= 3.6 draws the same numbers.
RNGkind(kind = "Mersenne-Twister", normal.kind = "Inversion", sample.kind = "Rejection")

softmax_draw <- function(eta) {
  # eta: n x K gate logits; returns one regime per row drawn from softmax(eta)
  p <- exp(eta - apply(eta, 1, max))
  p <- p / rowSums(p)
  apply(p, 1, function(pr) sample.int(ncol(p), 1, prob = pr))
}

## sim_piecewise.csv: three regimes along one input, a broken line with soft breaks.
# x ~ U(0, 10), N = 300, seed 2026.
# gate logits  eta_1 = 23.5 - 5 x,  eta_2 = 13 - 2 x,  eta_3 = 0
#              (eta_1 = eta_2 at x = 3.5 and eta_2 = eta_3 at x = 6.5: the breaks)
# experts      y = 1 + 2.0 x   (sd 0.5)
#              y = 11 - 1.0 x   (sd 0.5)
#              y = -6 + 1.5 x   (sd 0.5)
set.seed(2026)
n <- 300
x <- runif(n, 0, 10)
eta <- cbind(23.5 - 5 * x, 13 - 2 * x, 0)
r <- softmax_draw(eta)
b0 <- c(1, 11, -6); b1 <- c(2, -1, 1.5); s <- c(0.5, 0.5, 0.5)
y <- b0[r] + b1[r] * x + rnorm(n) * s[r]
write.csv(data.frame(x = round(x, 4), y = round(y, 4)), "sim_piecewise.csv",
          row.names = FALSE, quote = FALSE)
cat("sim_piecewise.csv: regime sizes", tabulate(r, 3), "\n")

## sim_2inputs.csv: two regimes over two inputs, the boundary a diagonal line x1 = x2.
# x1, x2 ~ U(-2, 2) independently, N = 400, seed 4242.
# gate logit   eta_1 = 0 + 4 x1 - 4 x2,  eta_2 = 0
# experts      y = 1 + 2 x1 - 1 x2   (sd 0.4)
#              y = -1 - 1 x1 + 2 x2   (sd 0.4)
set.seed(4242)
n <- 400
x1 <- runif(n, -2, 2)
x2 <- runif(n, -2, 2)
eta <- cbind(4 * x1 - 4 * x2, 0)
r <- softmax_draw(eta)
b <- rbind(c(1, 2, -1), c(-1, -1, 2)); s <- c(0.4, 0.4)
y <- b[r, 1] + b[r, 2] * x1 + b[r, 3] * x2 + rnorm(n) * s[r]
write.csv(data.frame(x1 = round(x1, 4), x2 = round(x2, 4), y = round(y, 4)), "sim_2inputs.csv",
          row.names = FALSE, quote = FALSE)
cat("sim_2inputs.csv: regime sizes", tabulate(r, 2), "\n")
