# lme4 + lmerTest side of benchmarks/anova_stimuli.py (not part of the test suite).
# Same Latin-square design (24 subjects x 16 items, condition -1/2 / +1/2 with (s + i) mod 2,
# SD 0.5 for subject and item intercepts and item slopes, residual SD 1), simulated with R's
# generator; times lmer() + summary() with Satterthwaite df, median of 5 fits per model.
# Usage (from the repository root): Rscript benchmarks/anova_stimuli_lme4.R
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})
cat(sprintf("%d CPUs, load average %s\n", parallel::detectCores(),
            tryCatch(strsplit(readLines("/proc/loadavg"), " ")[[1]][1], error = function(e) "?")))
set.seed(7)
n_s <- 24; n_i <- 16
d <- expand.grid(item = seq_len(n_i), subject = seq_len(n_s))
d$cond <- ((d$subject + d$item) %% 2) - 0.5
d$y <- rnorm(n_s, sd = 0.5)[d$subject] + rnorm(n_i, sd = 0.5)[d$item] +
  rnorm(n_i, sd = 0.5)[d$item] * d$cond + rnorm(nrow(d))
d$subject <- factor(d$subject); d$item <- factor(d$item)
models <- c(
  "y ~ cond + (1 | subject) + (1 | item)",
  "y ~ cond + (1 + cond || subject) + (1 | item)",
  "y ~ cond + (1 + cond || subject) + (1 + cond || item)",
  "y ~ cond + (1 + cond | subject) + (1 + cond | item)"
)
for (f in models) {
  times <- replicate(5, system.time(suppressMessages(suppressWarnings(
    summary(lmerTest::lmer(as.formula(f), d))
  )))[["elapsed"]])
  cat(sprintf("lme4 %-55s %6.3f s per fit (%6.1f per second)\n", f, median(times), 1 / median(times)))
}
