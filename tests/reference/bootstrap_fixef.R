# Reference values for mixedtools.bootstrap.bootstrap_fixef: lme4's parametric-bootstrap
# percentile intervals of the fixed effects, confint(fit, parm = "beta_", method = "boot"),
# and the bootstrap standard deviations from the same bootMer draws.
# Run from the repository root:  Rscript tests/reference/bootstrap_fixef.R
# Writes tests/reference/bootstrap_fixef.json (the Python tests read only the JSON).
# Bootstrap results are random: the tests compare with a tolerance of a few Monte Carlo errors.
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})
read_data <- function(name, factors) {
  cc <- setNames(rep("character", length(factors)), factors)
  read.csv(file.path("mixedtools", "data", paste0(name, ".csv")), colClasses = cc)
}
nsim <- 1000

# the percentile interval of boot.ci (lme4's boot.type = "perc") and the SDs of the same draws
fixef_case <- function(fit, seed) {
  set.seed(seed)
  bm <- bootMer(fit, fixef, nsim = nsim, use.u = FALSE, type = "parametric")
  draws <- bm$t[stats::complete.cases(bm$t), , drop = FALSE]
  ci <- t(sapply(seq_along(fixef(fit)), function(i) {
    boot::boot.ci(bm, type = "perc", index = i)$percent[4:5]
  }))
  list(
    names = names(fixef(fit)), estimate = unname(fixef(fit)),
    ci_lower = unname(ci[, 1]), ci_upper = unname(ci[, 2]),
    boot_se = unname(apply(draws, 2, sd)), nsim = nrow(draws)
  )
}

sleep <- read_data("sleepstudy", "subject")
m_sleep <- lmer(reaction ~ days + (days | subject), sleep)

cbpp <- read_data("cbpp", c("herd", "period"))
m_cbpp <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial,
                control = glmerControl(tolPwrss = 1e-12))

out <- list(
  nsim = nsim,
  sleepstudy = fixef_case(m_sleep, 101),
  cbpp = fixef_case(m_cbpp, 202)
)
write_json(out, "tests/reference/bootstrap_fixef.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
