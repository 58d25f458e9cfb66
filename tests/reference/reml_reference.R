# Reference values for mixedtools/reml.py: lme4 log-likelihoods, estimates and
# fixed-effect covariances at lme4's optimum (REML and ML).
# Run from the repository root: Rscript tests/reference/reml_reference.R
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5))

fit_summary <- function(m) {
  vc <- as.data.frame(VarCorr(m))
  list(
    loglik = as.numeric(logLik(m)),
    fixef = as.list(fixef(m)),
    vcov = unname(as.matrix(vcov(m))),
    theta = unname(getME(m, "theta")),
    sigma2 = sigma(m)^2,
    varcorr = list(grp = vc$grp, var1 = vc$var1, var2 = vc$var2, vcov = vc$vcov)
  )
}

sleep <- lme4::sleepstudy
pastes <- lme4::Pastes

out <- list(
  sleepstudy = list(
    data = list(Reaction = sleep$Reaction, Days = sleep$Days,
                Subject = as.character(sleep$Subject)),
    formula = "Reaction ~ Days + (Days | Subject)",
    reml = fit_summary(lmer(Reaction ~ Days + (Days | Subject), sleep, REML = TRUE,
                            control = ctrl)),
    ml = fit_summary(lmer(Reaction ~ Days + (Days | Subject), sleep, REML = FALSE,
                          control = ctrl))
  ),
  pastes = list(
    data = list(strength = pastes$strength, batch = as.character(pastes$batch),
                cask = as.character(pastes$cask)),
    formula = "strength ~ 1 + (1 | batch/cask)",
    reml = fit_summary(lmer(strength ~ 1 + (1 | batch / cask), pastes, REML = TRUE,
                            control = ctrl)),
    ml = fit_summary(lmer(strength ~ 1 + (1 | batch / cask), pastes, REML = FALSE,
                          control = ctrl))
  )
)

write_json(out, "tests/reference/reml_reference.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
