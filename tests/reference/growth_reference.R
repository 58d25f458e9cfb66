# Reference values for the growth-model sections of chapter 3b: polynomial growth and the centring
# of time (Oxboys), piecewise growth with a knot (sleepstudy), and a time-varying covariate split
# into its person mean and the deviation from it (wage_panel).
#
# Run from the repository root:
#   Rscript tests/reference/growth_reference.R
# Writes tests/reference/growth_reference.json (read by tests/test_claims_growth.py).
#
# Data: the bundled Oxboys and sleepstudy (mixedtools/data/*.csv) and wage_panel as exported to
# tests/reference/panel_wage_panel.csv (see panel_reference.R).
# Models (lme4 syntax; t-tests with lmerTest's Satterthwaite df):
#   Oxboys    height ~ age + (age | subject)                              ML
#             height ~ age + I(age^2) + (age | subject)                   ML and REML
#             height ~ age + I(age^2) + (age + I(age^2) | subject)        ML and REML, and REML
#             with time = age + 1 (zero at the first occasion) in place of age
#   sleep     reaction ~ days + (days | subject)                          ML
#             reaction ~ days + restricted + (days | subject)             ML and REML,
#             restricted = max(days - 2, 0), the nights of restriction (knot at day 2)
#   wage      lwage ~ t + union                                           OLS (pooled)
#             lwage ~ t + union + (1 | nr)                                REML
#             lwage ~ t + union_within + union_between + (1 | nr)         REML
#             plm(lwage ~ t + union, model = "within")                    fixed effects
#             t = year - 1980; union_between = person mean of union, union_within = union - mean.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(plm)
  library(jsonlite)
})

tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(ftol_abs = 1e-14, xtol_abs = 1e-12, xtol_rel = 1e-12,
                                    maxeval = 1e5))

fit_summary <- function(fit) {
  coefs <- summary(fit)$coefficients
  vc <- as.data.frame(VarCorr(fit))
  out <- list(
    deviance = if (isREML(fit)) REMLcrit(fit) else deviance(fit),
    fixef = as.list(fixef(fit)),
    varcorr = list(var1 = ifelse(is.na(vc$var1), "", vc$var1),
                   var2 = ifelse(is.na(vc$var2), "", vc$var2),
                   vcov = vc$vcov, sdcor = vc$sdcor)
  )
  if ("df" %in% colnames(coefs)) {
    out$std_error <- as.list(coefs[, "Std. Error"])
    out$df <- as.list(coefs[, "df"])
  }
  out
}

lr_test <- function(reduced, full) {
  a <- anova(reduced, full, refit = FALSE)
  list(chisq = a$Chisq[2], df = a$Df[2], p_naive = a$`Pr(>Chisq)`[2])
}

# ---- Oxboys: polynomial growth ---------------------------------------------------------------------
ox <- read.csv("mixedtools/data/oxboys.csv", colClasses = c(subject = "character"))
ox$time <- ox$age + 1
ox_ml <- list(
  linear = lmer(height ~ age + (age | subject), ox, REML = FALSE, control = tight),
  quadratic = lmer(height ~ age + I(age^2) + (age | subject), ox, REML = FALSE, control = tight),
  random_quadratic = lmer(height ~ age + I(age^2) + (age + I(age^2) | subject), ox, REML = FALSE,
                          control = tight)
)
ox_reml <- list(
  linear = lmer(height ~ age + (age | subject), ox, control = tight),
  quadratic = lmer(height ~ age + I(age^2) + (age | subject), ox, control = tight),
  centred_middle = lmer(height ~ age + I(age^2) + (age + I(age^2) | subject), ox, control = tight),
  centred_first = lmer(height ~ time + I(time^2) + (time + I(time^2) | subject), ox,
                       control = tight)
)
oxboys <- list(
  ml = lapply(ox_ml, fit_summary),
  reml = lapply(ox_reml, fit_summary),
  lrt_quadratic = lr_test(ox_ml$linear, ox_ml$quadratic),
  lrt_random_quadratic = lr_test(ox_ml$quadratic, ox_ml$random_quadratic)
)
# adding one variance and its two covariances: the boundary mixture 1/2 chi2_2 + 1/2 chi2_3
stat <- oxboys$lrt_random_quadratic$chisq
oxboys$lrt_random_quadratic$p_mixture <-
  0.5 * pchisq(stat, 2, lower.tail = FALSE) + 0.5 * pchisq(stat, 3, lower.tail = FALSE)

# ---- sleepstudy: piecewise growth with a knot at day 2 ------------------------------------------
sleep <- read.csv("mixedtools/data/sleepstudy.csv", colClasses = c(subject = "character"))
sleep$restricted <- pmax(sleep$days - 2, 0)
sl_linear <- lmer(reaction ~ days + (days | subject), sleep, REML = FALSE, control = tight)
sl_piece <- lmer(reaction ~ days + restricted + (days | subject), sleep, REML = FALSE,
                 control = tight)
sl_piece_reml <- lmer(reaction ~ days + restricted + (days | subject), sleep, control = tight)
after <- contest(sl_piece_reml, L = c(0, 1, 1), joint = FALSE)  # slope after the knot
sleepstudy <- list(
  ml = list(linear = fit_summary(sl_linear), piecewise = fit_summary(sl_piece)),
  reml = fit_summary(sl_piece_reml),
  lrt_knot = lr_test(sl_linear, sl_piece),
  slope_after = list(estimate = after$Estimate, std_error = after$`Std. Error`, df = after$df)
)

# ---- wage_panel: a time-varying covariate, between and within ----------------------------------
wage <- read.csv(file.path("tests", "reference", "panel_wage_panel.csv"))
wage$t <- wage$year - 1980
wage$union_between <- ave(wage$union, wage$nr)
wage$union_within <- wage$union - wage$union_between
pooled <- lm(lwage ~ t + union, wage)
conflated <- lmer(lwage ~ t + union + (1 | nr), wage, control = tight)
split <- lmer(lwage ~ t + union_within + union_between + (1 | nr), wage, control = tight)
within <- plm(lwage ~ t + union, data = wage, index = c("nr", "year"), model = "within")
wage_panel <- list(
  pooled_ols = as.list(coef(pooled)),
  conflated = fit_summary(conflated),
  split = fit_summary(split),
  fixed_effects = list(estimate = as.list(coef(within)),
                       std_error = as.list(sqrt(diag(vcov(within)))))
)

write_json(list(oxboys = oxboys, sleepstudy = sleepstudy, wage_panel = wage_panel),
           file.path("tests", "reference", "growth_reference.json"),
           auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("Wrote tests/reference/growth_reference.json\n")
