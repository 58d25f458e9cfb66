# Reference values for mixedtools.bootstrap on glmer fits: pbkrtest's parametric-bootstrap LRT
# (PBmodcomp on two glmer fits) and lme4's parametric-bootstrap intervals of a glmer SD.
# Run from the repository root:  Rscript tests/reference/glmer_bootstrap.R
# Writes tests/reference/glmer_bootstrap.json (the Python tests read only the JSON).
# Bootstrap results are random: the tests compare with a tolerance of a few Monte Carlo errors.
suppressPackageStartupMessages({
  library(lme4)
  library(pbkrtest)
  library(jsonlite)
  library(parallel)
})
read_data <- function(name, factors) {
  cc <- setNames(rep("character", length(factors)), factors)
  read.csv(file.path("mixedtools", "data", paste0(name, ".csv")), colClasses = cc)
}
nsim <- 500
# lme4's default PIRLS tolerance (tolPwrss = 1e-7) stops the conditional modes early enough to
# lower a log-likelihood by up to about 3e-4 (cbpp), as much as the tests' tolerance for the LR
# statistic: the fits and the bootstrap refits (which inherit the control) use converged modes
tight <- glmerControl(tolPwrss = 1e-12)

# PBmodcomp of two nested glmer fits: the observed LRT, the bootstrap p-value and a summary
# of the simulated null distribution (its mean and SD, the share above the chi-square 95% point)
pb_case <- function(m1, m0, seed) {
  set.seed(seed)
  pb <- suppressWarnings(PBmodcomp(m1, m0, nsim = nsim))
  ref <- pb$ref[is.finite(pb$ref)]
  df <- pb$test["LRT", "df"]
  list(
    statistic = pb$test["LRT", "stat"], df = df,
    p_boot = pb$test["PBtest", "p.value"], p_chisq = pb$test["LRT", "p.value"],
    loglik_full = as.numeric(logLik(m1)), loglik_reduced = as.numeric(logLik(m0)),
    nsim = length(ref), null_mean = mean(ref), null_sd = sd(ref),
    null_exceed_chisq95 = mean(ref > qchisq(0.95, df)),
    null_quantiles = unname(quantile(ref, c(0.5, 0.9, 0.95)))
  )
}

# 1. binomial with trials: the period effect on cbpp (3 df)
cbpp <- read_data("cbpp", c("herd", "period"))
c1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, family = binomial,
            control = tight)
c0 <- glmer(cbind(incidence, size - incidence) ~ 1 + (1 | herd), cbpp, family = binomial,
            control = tight)

# 2. Bernoulli: age on the first 10 districts of the contraception data (a weak effect)
contra <- read_data("contraception", c("woman", "district", "use", "livch", "urban"))
contra <- contra[as.integer(contra$district) <= 10, ]
contra$use01 <- as.numeric(contra$use == "Y")
b1 <- glmer(use01 ~ age + (1 | district), contra, family = binomial, control = tight)
b0 <- glmer(use01 ~ 1 + (1 | district), contra, family = binomial, control = tight)

# 3. Poisson: height (centred, per 100 m) on the 1997 broods of grouseticks
ticks <- read_data("grouseticks", c("index", "brood", "year", "location"))
ticks$heightc <- (ticks$height - mean(ticks$height)) / 100
ticks <- ticks[ticks$year == "97", ]
p1 <- glmer(ticks ~ heightc + (1 | brood), ticks, family = poisson, control = tight)
p0 <- glmer(ticks ~ 1 + (1 | brood), ticks, family = poisson, control = tight)

# 4. percentile interval of the herd SD of cbpp (lme4's bootMer through confint)
sd_case <- function(seed) {
  set.seed(seed)
  ci <- suppressWarnings(confint(c1, method = "boot", nsim = nsim, boot.type = "perc",
                                 parm = "theta_"))
  list(estimate = unname(getME(c1, "theta")), ci_lower = unname(ci[1, 1]),
       ci_upper = unname(ci[1, 2]), nsim = nsim)
}

# the four cases side by side (each seeded on its own, so the result does not depend on the
# number of cores)
jobs <- list(
  cbpp = function() pb_case(c1, c0, 2026),
  contraception = function() c(pb_case(b1, b0, 2027), list(districts = 10)),
  grouseticks = function() c(pb_case(p1, p0, 2028), list(year = "97")),
  cbpp_sd = function() sd_case(2029)
)
out <- mclapply(jobs, function(job) job(), mc.cores = 2)
write_json(out, "tests/reference/glmer_bootstrap.json", digits = 10, auto_unbox = TRUE,
           pretty = TRUE)
