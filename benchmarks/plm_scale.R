# The steps of panel_scale.py, run with plm for comparison (not part of the test suite).
# Design as in panel_scale.py: unbalanced panel, T_i uniform on 5..15, about 10 rows per entity,
# y = 1 + 0.5 x1 - 0.3 x2 + u_i + e_it with u_i correlated with x1 (R's own random numbers).
# Prints the machine (CPUs, BLAS, load average), then per step the wall time and the most memory
# R had in use during it (gc "max used", the data included; panel_scale.py reports instead what
# the step itself allocated).
# Usage (from the repository root): Rscript benchmarks/plm_scale.R [entities]   (default 1e5)
suppressPackageStartupMessages({
  library(plm)
  library(sandwich)
})
args <- commandArgs(trailingOnly = TRUE)
n_entities <- if (length(args)) as.numeric(args[1]) else 1e5

load <- tryCatch(scan("/proc/loadavg", what = "", n = 1, quiet = TRUE), error = function(e) "NA")
blas <- tryCatch(sessionInfo()$BLAS, error = function(e) "unknown")
cat(sprintf("%s, %d CPUs, BLAS: %s, load average %s\n", R.version$platform,
            parallel::detectCores(), blas, load))
cat(sprintf("R %s, plm %s\n", getRversion(), packageVersion("plm")))

set.seed(1)
periods <- sample(5:15, n_entities, replace = TRUE)
entity <- rep(seq_len(n_entities), periods)
time <- sequence(periods)
n <- length(entity)
a <- rnorm(n_entities)
u <- 0.5 * a + rnorm(n_entities)
x1 <- a[entity] + rnorm(n)
x2 <- rnorm(n)
y <- 1 + 0.5 * x1 - 0.3 * x2 + u[entity] + rnorm(n)
pdata <- pdata.frame(data.frame(entity, time, y, x1, x2), index = c("entity", "time"))
cat(sprintf("panel: %d rows, %d entities, T_i 5 to 15\n", n, n_entities))

step <- function(name, expr) {
  invisible(gc(reset = TRUE))
  seconds <- system.time(value <- eval.parent(substitute(expr)))[["elapsed"]]
  peak <- sum(gc()[, 6])  # "max used" in MB, cells and vectors
  cat(sprintf("%-28s %8.2f s  %7.0f MB\n", name, seconds, peak))
  invisible(value)
}

fe <- step("fixed effects (within)", plm(y ~ x1 + x2, data = pdata, model = "within"))
re <- NULL
for (method in c("swar", "walhus", "amemiya")) {
  fit <- step(paste("random effects,", method),
              plm(y ~ x1 + x2, data = pdata, model = "random", random.method = method))
  if (method == "swar") re <- fit
}
h <- step("hausman, chisq", phtest(fe, re))
aux <- step("hausman, aux robust",
            phtest(y ~ x1 + x2, data = pdata, method = "aux",
                   vcov = function(x) vcovHC(x, method = "arellano", type = "HC0")))
cat(sprintf("check: swar slopes %s, Hausman chisq %.1f, aux robust %.1f\n",
            paste(round(coef(re), 4), collapse = " "), h$statistic, aux$statistic))
