# lme4's side of benchmarks/boundary_study.py: fit each design's model by REML to each of its
# 100 data sets and record the log-likelihood, the convergence warnings and isSingular().
# Usage (from the repository root): Rscript benchmarks/boundary_study.R /tmp/boundary
suppressPackageStartupMessages(library(lme4))
dir <- commandArgs(trailingOnly = TRUE)[1]
all <- read.csv(file.path(dir, "data.csv"),
                colClasses = c(g = "character", s = "character", i = "character"))
formulas <- list(slope = y ~ x + (x | g), crossed = y ~ x + (x | s) + (1 | i))
rows <- lapply(split(all, list(all$design, all$seed)), function(d) {
  conv <- FALSE
  fit <- withCallingHandlers(
    lmer(formulas[[d$design[1]]], d, REML = TRUE),
    warning = function(w) {
      if (grepl("converge", conditionMessage(w))) conv <<- TRUE
      invokeRestart("muffleWarning")
    },
    message = function(m) invokeRestart("muffleMessage")
  )
  if (length(fit@optinfo$conv$lme4$messages) > 0 &&
      any(grepl("converge", fit@optinfo$conv$lme4$messages))) conv <- TRUE
  data.frame(design = d$design[1], seed = d$seed[1], loglik = as.numeric(logLik(fit)), warn_convergence = conv,
             singular = isSingular(fit))
})
out <- do.call(rbind, rows)
write.csv(out, file.path(dir, "lme4.csv"), row.names = FALSE)
for (des in names(formulas)) {
  o <- out[out$design == des, ]
  cat(sprintf("lme4 %s, %s: %d convergence warnings, %d singular fits in %d data sets\n",
              packageVersion("lme4"), des, sum(o$warn_convergence), sum(o$singular), nrow(o)))
}
