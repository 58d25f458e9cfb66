# Reference values for mixedtools.lmm.slopes: simple slopes and the Johnson-Neyman region.
#
# Run from the repository root:
#   Rscript tests/reference/slopes_reference.R
# Writes tests/reference/slopes_reference.json (read by tests/test_slopes.py).
#
# Data: the bundled HSB data (mixedtools/data/hsb.csv), cses = ses centred within school.
# Model: mathach ~ cses * (meanses + sector) + (cses | school), REML.
# Simple slopes: emmeans::emtrends with lmer.df = "satterthwaite" and "kenward-roger" (the KR
# standard errors come from pbkrtest's adjusted covariance, as emmeans uses it).
# J-N bounds: closed form from vcov(fit): the roots in m of
#   (b1 + b3 m)^2 = c^2 (v11 + 2 m v13 + m^2 v33),
# with c the normal quantile, or the t quantile with 100 df.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(emmeans)
  library(jsonlite)
})
emm_options(lmerTest.limit = 10000, pbkrtest.limit = 10000)

hsb <- read.csv("mixedtools/data/hsb.csv", colClasses = c(school = "character"))
hsb$cses <- hsb$ses - ave(hsb$ses, hsb$school)
# a tight optimiser tolerance: the reference is the optimum itself, not lme4's default stopping
# point (which moves the far J-N root by about 1e-5)
tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(ftol_abs = 1e-14, xtol_abs = 1e-12, xtol_rel = 1e-12,
                                    maxeval = 1e5))
fit <- lmer(mathach ~ cses * (meanses + sector) + (cses | school), data = hsb, REML = TRUE,
            control = tight)

grid <- list(meanses = c(-0.5, 0, 0.5), sector = c(0, 1))
slopes <- list()
for (method in c("satterthwaite", "kenward-roger")) {
  tr <- as.data.frame(summary(emtrends(fit, ~ meanses + sector, var = "cses", at = grid,
                                       lmer.df = method)))
  slopes[[method]] <- list(meanses = tr$meanses, sector = tr$sector,
                           estimate = tr$cses.trend, std_error = tr$SE, df = tr$df)
}

b <- fixef(fit)
V <- as.matrix(vcov(fit))
jn <- function(sector, crit) {
  # slope(m) = s0 + s1 m with the interaction with sector folded into s0
  l0 <- c(0, 1, 0, 0, 0, sector)
  l1 <- c(0, 0, 0, 0, 1, 0)
  s0 <- sum(l0 * b); s1 <- sum(l1 * b)
  v00 <- c(t(l0) %*% V %*% l0); v01 <- c(t(l0) %*% V %*% l1); v11 <- c(t(l1) %*% V %*% l1)
  A <- s1^2 - crit^2 * v11
  B <- 2 * (s0 * s1 - crit^2 * v01)
  C <- s0^2 - crit^2 * v00
  sort(c((-B - sqrt(B^2 - 4 * A * C)) / (2 * A), (-B + sqrt(B^2 - 4 * A * C)) / (2 * A)))
}
out <- list(
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4")),
                  emmeans = as.character(packageVersion("emmeans")),
                  pbkrtest = as.character(packageVersion("pbkrtest"))),
  fixef = unname(b), names = names(b),
  slopes = slopes,
  jn = list(
    z_sector0 = jn(0, qnorm(0.975)), z_sector1 = jn(1, qnorm(0.975)),
    t100_sector0 = jn(0, qt(0.975, 100)), t100_sector1 = jn(1, qt(0.975, 100))
  )
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/slopes_reference.json")
