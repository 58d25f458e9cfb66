# lme4's side of benchmarks/boundary_study.py: fit y ~ x + (x | g) by REML to each of the 100
# data sets and record the log-likelihood, the convergence warnings and isSingular().
# Usage (from the repository root): Rscript benchmarks/boundary_study.R /tmp/boundary
suppressPackageStartupMessages(library(lme4))
dir <- commandArgs(trailingOnly = TRUE)[1]
all <- read.csv(file.path(dir, "data.csv"), colClasses = c(g = "character"))
rows <- lapply(split(all, all$seed), function(d) {
  conv <- FALSE
  fit <- withCallingHandlers(
    lmer(y ~ x + (x | g), d, REML = TRUE),
    warning = function(w) {
      if (grepl("converge", conditionMessage(w))) conv <<- TRUE
      invokeRestart("muffleWarning")
    },
    message = function(m) invokeRestart("muffleMessage")
  )
  if (length(fit@optinfo$conv$lme4$messages) > 0 &&
      any(grepl("converge", fit@optinfo$conv$lme4$messages))) conv <- TRUE
  data.frame(seed = d$seed[1], loglik = as.numeric(logLik(fit)), warn_convergence = conv,
             singular = isSingular(fit))
})
out <- do.call(rbind, rows)
write.csv(out, file.path(dir, "lme4.csv"), row.names = FALSE)
cat(sprintf("lme4 %s: %d convergence warnings, %d singular fits in %d data sets\n",
            packageVersion("lme4"), sum(out$warn_convergence), sum(out$singular), nrow(out)))
