# Reference values for mt.lmer(weights=): lme4's prior weights (residual variance sigma^2 / w)
# with lmerTest's Satterthwaite df, on sleepstudy with unequal weights.
#
# Run from the repository root:
#   Rscript tests/reference/lmer_weights.R
# Writes tests/reference/lmer_weights.csv (sleepstudy plus a weight column w, drawn here with a
# fixed seed) and tests/reference/lmer_weights.json (read by tests/test_lmer_weights.py).
# pbkrtest's Kenward-Roger df are recorded too, but pbkrtest builds V without the prior weights
# (ZGZ' + sigma^2 I), so they are not a reference for a weighted model.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})
s <- read.csv("mixedtools/data/sleepstudy.csv", stringsAsFactors = FALSE)
s$subject <- factor(as.character(s$subject))
set.seed(1)
s$w <- round(runif(nrow(s), 0.5, 3), 2)
write.csv(s, "tests/reference/lmer_weights.csv", row.names = FALSE)
out <- list()
for (f in c("reaction ~ days + (days | subject)", "reaction ~ days + (1 | subject)")) {
  m <- lmer(as.formula(f), data = s, weights = w,
            control = lmerControl(optCtrl = list(ftol_abs = 1e-12, xtol_abs = 1e-12)))
  ml <- update(m, REML = FALSE)
  out[[f]] <- list(
    loglik = as.numeric(logLik(m)), loglik_ml = as.numeric(logLik(ml)),
    fixef = unname(fixef(m)), se = unname(sqrt(diag(as.matrix(vcov(m))))),
    sigma = sigma(m), df_satterthwaite = unname(coef(summary(m))[, "df"]),
    df_kenward_roger_pbkrtest = unname(coef(summary(m, ddf = "Kenward-Roger"))[, "df"]),
    ranef = unname(as.matrix(ranef(m)$subject))
  )
}
write_json(out, "tests/reference/lmer_weights.json", digits = NA, pretty = TRUE)
