# metafor's time for the loop that benchmarks/meta_scale.py runs in one batch call:
# 10^4 replications of k = 20 studies, rma(method = "REML", test = "knha").
# Same design (n ~ U{20..199}, vi = 4 / n, tau2 = 0.05, mu = 0.3); R's random numbers differ.
# Usage (repository root): Rscript benchmarks/metafor_scale.R [n_replications]
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
n_rep <- if (length(args)) as.integer(args[1]) else 10000L
k <- 20
set.seed(1)
n <- matrix(sample(20:199, n_rep * k, replace = TRUE), n_rep, k)
vi <- 4 / n
yi <- matrix(rnorm(n_rep * k, 0.3, sqrt(vi + 0.05)), n_rep, k)
cat(sprintf("cpus=%d load average=%s\n", parallel::detectCores(),
            paste(readLines("/proc/loadavg"), collapse = " ")))
blas_threads <- if (requireNamespace("RhpcBLASctl", quietly = TRUE)) {
  as.character(RhpcBLASctl::blas_get_num_procs())
} else {
  "unknown (RhpcBLASctl not installed)"
}
cat(sprintf("blas: %s; threads: %s; OPENBLAS_NUM_THREADS=%s\n", sessionInfo()$BLAS, blas_threads,
            Sys.getenv("OPENBLAS_NUM_THREADS", "unset")))
elapsed <- system.time({
  covered <- vapply(seq_len(n_rep), function(i) {
    fit <- rma(yi[i, ], vi[i, ], method = "REML", test = "knha")
    fit$ci.lb < 0.3 && fit$ci.ub > 0.3
  }, logical(1))
})[["elapsed"]]
cat(sprintf("metafor loop: %d replications x k = %d (REML, knha): %.2f s\n", n_rep, k, elapsed))
cat(sprintf("  CI coverage of 0.3: %.3f\n", mean(covered)))
