# lme4's side of benchmarks/boundary_study.py: fit each data set of data.csv with lme4's lmer
# (REML or ML as the design says) and record the log-likelihood, theta, the fitting time, the
# convergence and scaling warnings and isSingular().
# Usage (from the repository root): Rscript benchmarks/boundary_study.R /tmp/boundary
suppressPackageStartupMessages(library(lme4))
dir <- commandArgs(trailingOnly = TRUE)[1]
all <- read.csv(file.path(dir, "data.csv"),
                colClasses = c(g = "character", s = "character", i = "character"))
designs <- list(
  slope0 = list(y ~ x + (x | g), TRUE),
  slope0_ml = list(y ~ x + (x | g), FALSE),
  int0 = list(y ~ x + (x | g), TRUE),
  corr_pos = list(y ~ x + (x | g), TRUE),
  corr_neg = list(y ~ x + (x | g), FALSE),
  few = list(y ~ x + (x | g), TRUE),
  unbalanced = list(y ~ x + (x | g), TRUE),
  crossed = list(y ~ x + (x | s) + (1 | i), TRUE),
  scaled = list(y ~ x + (x | g), TRUE)
)
keys <- unique(all[, c("design", "seed")])
rows <- lapply(seq_len(nrow(keys)), function(r) {
  d <- all[all$design == keys$design[r] & all$seed == keys$seed[r], ]
  spec <- designs[[d$design[1]]]
  conv <- FALSE
  scale_warn <- FALSE
  t0 <- proc.time()[["elapsed"]]
  fit <- withCallingHandlers(
    lmer(spec[[1]], d, REML = spec[[2]]),
    warning = function(w) {
      if (grepl("converge", conditionMessage(w))) conv <<- TRUE
      if (grepl("rescaling", conditionMessage(w))) scale_warn <<- TRUE
      invokeRestart("muffleWarning")
    },
    message = function(m) invokeRestart("muffleMessage")
  )
  seconds <- proc.time()[["elapsed"]] - t0
  th <- getME(fit, "theta")
  data.frame(design = d$design[1], seed = d$seed[1], loglik = as.numeric(logLik(fit)),
             theta = paste(format(th, digits = 17), collapse = ";"), seconds = seconds,
             warn_convergence = conv, warn_scale = scale_warn, singular = isSingular(fit))
})
out <- do.call(rbind, rows)
write.csv(out, file.path(dir, "lme4.csv"), row.names = FALSE)
for (des in names(designs)) {
  o <- out[out$design == des, ]
  cat(sprintf("lme4 %s, %s: %d fits, %d convergence warnings, %d scaling warnings, %d singular, %.1f s\n",
              packageVersion("lme4"), des, nrow(o), sum(o$warn_convergence), sum(o$warn_scale),
              sum(o$singular), sum(o$seconds)))
}
