# lme4's optimum on the near-boundary data sets of benchmarks/boundary_study.py on which
# mt.lmer once stopped below it (boundary_cases.csv; case = design_seed).  Each is fitted as
# y ~ x + (x | g) by REML.  "int0": no intercept variance (lme4 finds a small one with a
# correlation near +-1); "scaled": x multiplied by 10^6 (lme4 warns "consider rescaling").
# For the scaled cases the exact optimum is also known: the same model with x / 10^6 has the
# same optimum, and its REML log-likelihood is higher by log(10^6) (the REML term
# -log|X'V^-1 X| / 2 changes by log(c) when a column of X is multiplied by c), so
# loglik_rescaled = logLik(fit on x / 10^6) - log(10^6).
# Writes boundary_cases.json.  Usage (from the repository root):
#   Rscript tests/reference/boundary_cases.R
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})
dir <- "tests/reference"
all <- read.csv(file.path(dir, "boundary_cases.csv"), colClasses = c(g = "character"))
cases <- list()
for (case in unique(all$case)) {
  d <- all[all$case == case, ]
  scale_warn <- FALSE
  fit <- withCallingHandlers(
    lmer(y ~ x + (x | g), d, REML = TRUE),
    warning = function(w) {
      if (grepl("very different scales", conditionMessage(w))) scale_warn <<- TRUE
      invokeRestart("muffleWarning")
    },
    message = function(m) invokeRestart("muffleMessage")
  )
  entry <- list(loglik = as.numeric(logLik(fit)), theta = unname(getME(fit, "theta")),
                scale_warning = scale_warn)
  if (startsWith(case, "scaled")) {
    d$x <- d$x / 1e6
    unit <- suppressMessages(suppressWarnings(lmer(y ~ x + (x | g), d, REML = TRUE)))
    entry$loglik_rescaled <- as.numeric(logLik(unit)) - log(1e6)
  }
  cases[[case]] <- entry
}
out <- list(lme4_version = as.character(packageVersion("lme4")),
            formula = "y ~ x + (x | g)", reml = TRUE, cases = cases)
write_json(out, file.path(dir, "boundary_cases.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
