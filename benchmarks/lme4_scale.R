# The same benchmark as lmer_scale.py, run with lme4 for comparison (not part of the test suite).
# Model: y ~ x + (x | g), 10 rows per group, simulated as in lmer_scale.py.
# Usage (from the repository root): Rscript benchmarks/lme4_scale.R 10000 100000 1000000
suppressPackageStartupMessages(library(lme4))
sizes <- as.numeric(commandArgs(trailingOnly = TRUE))
if (length(sizes) == 0) sizes <- c(1e4, 1e5)
set.seed(1)
for (n in sizes) {
  k <- n / 10
  g <- rep(seq_len(k), each = 10)
  x <- rnorm(n)
  y <- 1 + 0.5 * x + rnorm(k)[g] + rnorm(k, sd = 0.5)[g] * x + rnorm(n)
  d <- data.frame(y = y, x = x, g = factor(g))
  gc(reset = TRUE)
  t <- system.time(m <- lmer(y ~ x + (x | g), d, REML = TRUE))[["elapsed"]]
  mem <- sum(gc()[, 6])  # "max used" in MB, cells and vectors
  cat(sprintf("rows %8d: lme4 fit %.2f s, peak R memory %.0f MB\n", n, t, mem))
}
