# References for tests/test_power.py (REML fit of a random-slope model) and
# tests/test_diagnostics.py (OLS influence measures and the Breusch-Pagan test).
#
# Run from the repository root:
#   Rscript tests/reference/hlm_diagnostics_reference.R
# Writes tests/reference/hlm_diagnostics_reference.json.
#
# Both data sets are built from integer arithmetic (no random numbers), so the Python tests
# rebuild exactly the same rows; the formulas are repeated in the tests.
suppressPackageStartupMessages({
  library(lme4)
  library(lmtest)
  library(jsonlite)
})

# 1. Random intercept and slope, balanced: 12 groups of 6 rows, stacked group by group.
n_groups <- 12
n_per <- 6
j <- rep(seq_len(n_groups), each = n_per)
i <- rep(seq_len(n_per), times = n_groups)
w <- ((j * 7) %% 12) / 6 - 1
x <- ((i * 5 + j * 3) %% 11) / 5 - 1
u0 <- (((j * 5) %% 13) / 13 - 0.5) * 1.2
u1 <- (((j * 11) %% 17) / 17 - 0.5) * 0.8
e <- (((i * 37 + j * 53) %% 101) / 101 - 0.5) * 2
y <- 1 + 0.4 * w + (0.5 + 0.3 * w) * x + u0 + u1 * x + e
slopes <- data.frame(y = y, w = w, x = x, g = factor(j))
fit <- lmer(y ~ w * x + (x | g), data = slopes, REML = TRUE,
            control = lmerControl(optimizer = "bobyqa",
                                  optCtrl = list(rhobeg = 2e-2, rhoend = 1e-10)))
vc <- as.data.frame(VarCorr(fit))
random_slope <- list(
  description = "lmer(y ~ w * x + (x | g), REML = TRUE), 12 groups x 6 rows",
  fixef = unname(fixef(fit)),
  std_error = unname(sqrt(diag(as.matrix(vcov(fit))))),
  theta = unname(getME(fit, "theta")),
  reml_criterion = REMLcrit(fit),
  sigma2 = sigma(fit)^2,
  var_intercept = vc$vcov[1],
  var_slope = vc$vcov[2],
  cov_intercept_slope = vc$vcov[3],
  singular = isSingular(fit)
)

# 2. OLS with heteroscedastic errors: 30 rows, the error spread grows with x.
k <- 1:30
x_ols <- k / 3
noise <- (((k * 37) %% 101) / 101 - 0.5) * 2
y_ols <- 2 + 0.5 * x_ols + noise * x_ols / 2
ols <- lm(y_ols ~ x_ols)
bp <- bptest(ols)  # Koenker's studentized version (the default)
bp_classic <- bptest(ols, studentize = FALSE)
ols_reference <- list(
  description = "lm(y ~ x), 30 rows, error SD proportional to x",
  coefficients = unname(coef(ols)),
  hat = unname(hatvalues(ols)),
  rstandard = unname(rstandard(ols)),
  rstudent = unname(rstudent(ols)),
  cooks_distance = unname(cooks.distance(ols)),
  bp_statistic = unname(bp$statistic),
  bp_df = unname(bp$parameter),
  bp_p_value = unname(bp$p.value),
  bp_classic_statistic = unname(bp_classic$statistic),
  bp_classic_p_value = unname(bp_classic$p.value)
)

write_json(
  list(
    generated_by = "tests/reference/hlm_diagnostics_reference.R",
    r_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    lmtest_version = as.character(packageVersion("lmtest")),
    random_slope = random_slope,
    ols = ols_reference
  ),
  "tests/reference/hlm_diagnostics_reference.json",
  digits = NA, auto_unbox = TRUE, pretty = TRUE
)
