# Reference values for mixedtools.bootstrap: lme4's parametric-bootstrap intervals and
# pbkrtest's parametric-bootstrap LRT.
# Run from the repository root:  Rscript tests/reference/bootstrap_reference.R
# Writes tests/reference/bootstrap_reference.json (the Python tests read only the JSON).
# Bootstrap results are random: the tests compare with a tolerance of a few Monte Carlo errors.
suppressPackageStartupMessages({
  library(lme4)
  library(pbkrtest)
  library(jsonlite)
})
read_data <- function(name, factors) {
  cc <- setNames(rep("character", length(factors)), factors)
  read.csv(file.path("mixedtools", "data", paste0(name, ".csv")), colClasses = cc)
}
dye <- read_data("dyestuff", "batch")
sleep <- read_data("sleepstudy", "subject")

# Percentile intervals for the SDs, 2000 parametric-bootstrap fits.
fit_dye <- lmer(yield ~ 1 + (1 | batch), dye, REML = TRUE)
set.seed(2026)
ci_boot <- confint(fit_dye, method = "boot", nsim = 2000, boot.type = "perc", parm = "theta_")
ci_prof <- confint(fit_dye, method = "profile", parm = "theta_")

# Parametric-bootstrap LRT of the random slope on the first 6 subjects of sleepstudy (a small
# data set, where the chi-square approximation is doubtful). PBmodcomp refits both models by ML.
six <- sleep[sleep$subject %in% unique(sleep$subject)[1:6], ]
m0 <- lmer(reaction ~ days + (1 | subject), six, REML = TRUE)
m1 <- lmer(reaction ~ days + (days | subject), six, REML = TRUE)
set.seed(2026)
pb <- PBmodcomp(m1, m0, nsim = 2000)
lr_obs <- pb$test["LRT", "stat"]

out <- list(
  dyestuff = list(
    boot_lower = unname(ci_boot[, 1]), boot_upper = unname(ci_boot[, 2]),
    profile_lower = unname(ci_prof[, 1]), profile_upper = unname(ci_prof[, 2]),
    rows = rownames(ci_boot), nsim = 2000
  ),
  sleep6 = list(
    subjects = unique(sleep$subject)[1:6],
    statistic = lr_obs,
    p_boot = pb$test["PBtest", "p.value"],
    p_chisq = pb$test["LRT", "p.value"],
    nsim = 2000
  )
)
write_json(out, "tests/reference/bootstrap_reference.json", digits = 10, auto_unbox = TRUE, pretty = TRUE)
