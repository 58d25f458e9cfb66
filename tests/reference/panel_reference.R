# Reference values for mixedtools/panel.py: plm's within, random-effects (Swamy-Arora,
# Wallace-Hussain, Amemiya) and Hausman tests (classical and regression-based with an
# Arellano cluster-robust covariance), and lme4's ML random-intercept fit.
# Panels: Grunfeld, Produc and EmplUK (plm), wage_panel (linearmodels, exported to
# panel_wage_panel.csv by the Python line below), and an unbalanced subset of Grunfeld
# (firm k keeps the years from 1935 + 2 (k - 1) on, so T runs from 20 down to 2).
# Writes panel_reference.json, panel_produc.csv and panel_hedonic.csv (data read by the tests).
# Run from the repository root:
#   .venv/bin/python -c "from linearmodels.datasets import wage_panel; wage_panel.load()[['nr', \
#     'year', 'lwage', 'exper', 'expersq', 'union', 'married', 'educ', 'black', 'hisp']] \
#     .to_csv('tests/reference/panel_wage_panel.csv', index=False)"
#   Rscript tests/reference/panel_reference.R
suppressPackageStartupMessages({
  library(plm)
  library(sandwich)
  library(lme4)
  library(jsonlite)
})

data("Grunfeld", package = "plm")
data("Produc", package = "plm")
data("EmplUK", package = "plm")
wage <- read.csv(file.path("tests", "reference", "panel_wage_panel.csv"))

grunfeld_unbalanced <- Grunfeld[Grunfeld$year >= 1935 + 2 * (Grunfeld$firm - 1), ]

produc <- transform(Produc, log_gsp = log(gsp), log_pcap = log(pcap), log_pc = log(pc),
                    log_emp = log(emp))
# The tests read Produc from this file (the test suite never needs R).
write.csv(Produc[, c("state", "year", "gsp", "pcap", "pc", "emp", "unemp")],
          file.path("tests", "reference", "panel_produc.csv"), row.names = FALSE)
empl <- transform(EmplUK, log_emp = log(emp), log_wage = log(wage),
                  log_capital = log(capital), log_output = log(output))

cases <- list(
  grunfeld = list(data = Grunfeld, index = c("firm", "year"),
                  formula = inv ~ value + capital),
  grunfeld_unbalanced = list(data = grunfeld_unbalanced, index = c("firm", "year"),
                             formula = inv ~ value + capital),
  produc = list(data = produc, index = c("state", "year"),
                formula = log_gsp ~ log_pcap + log_pc + log_emp + unemp),
  wage_panel = list(data = wage, index = c("nr", "year"),
                    formula = lwage ~ exper + expersq + union + married),
  empluk = list(data = empl, index = c("firm", "year"),
                formula = log_emp ~ log_wage + log_capital + log_output)
)

fit_summary <- function(m) {
  s <- summary(m)$coefficients
  list(term = rownames(s), estimate = unname(s[, 1]), std_error = unname(s[, 2]),
       vcov = unname(as.matrix(vcov(m))))
}

htest_list <- function(h) {
  list(statistic = unname(h$statistic), df = unname(h$parameter), p_value = h$p.value)
}

arellano_hc0 <- function(x) vcovHC(x, method = "arellano", type = "HC0")

reference <- list(plm_version = as.character(packageVersion("plm")),
                  lme4_version = as.character(packageVersion("lme4")),
                  sandwich_version = as.character(packageVersion("sandwich")),
                  r_version = R.version.string, cases = list())

for (name in names(cases)) {
  case <- cases[[name]]
  pdata <- pdata.frame(case$data, index = case$index)
  dims <- pdim(pdata)
  out <- list(formula = deparse(case$formula), index = case$index,
              n_obs = dims$nT$N, n_entities = dims$nT$n, balanced = dims$balanced)
  within <- plm(case$formula, data = pdata, model = "within")
  out$within <- fit_summary(within)
  for (method in c("swar", "walhus", "amemiya")) {
    re <- plm(case$formula, data = pdata, model = "random", random.method = method)
    res <- fit_summary(re)
    ercomp_re <- ercomp(re)
    res$sigma2_idios <- unname(ercomp_re$sigma2["idios"])
    res$sigma2_id <- unname(ercomp_re$sigma2["id"])
    theta <- ercomp_re$theta
    res$theta_min <- min(theta)
    res$theta_max <- max(theta)
    res$theta_mean <- mean(theta)
    out[[paste0("random_", method)]] <- res
  }
  re_swar <- plm(case$formula, data = pdata, model = "random", random.method = "swar")
  out$hausman_chisq <- htest_list(phtest(within, re_swar))
  out$hausman_aux <- htest_list(phtest(case$formula, data = pdata, method = "aux"))
  out$hausman_aux_robust <- htest_list(phtest(case$formula, data = pdata, method = "aux",
                                              vcov = arellano_hc0))
  # Maximum likelihood random-intercept model: lme4 with REML = FALSE.
  entity <- case$index[1]
  lmer_formula <- update(case$formula, as.formula(paste(". ~ . + (1 |", entity, ")")))
  ml <- lmer(lmer_formula, data = case$data, REML = FALSE,
             control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
  vc <- as.data.frame(VarCorr(ml))
  out$lmer_ml <- list(term = names(fixef(ml)), estimate = unname(fixef(ml)),
                      std_error = unname(sqrt(diag(as.matrix(vcov(ml))))),
                      sigma2_id = vc$vcov[vc$grp == entity],
                      sigma2_idios = vc$vcov[vc$grp == "Residual"],
                      loglik = as.numeric(logLik(ml)))
  reference$cases[[name]] <- out
}

# Hedonic (plm): 506 census tracts in 92 towns, 1 to 30 tracts per town (a strongly unbalanced
# "panel" without time, with singletons and town-level regressors). Amemiya's method and plm's
# regression-based test need within variation in every regressor, so they are not run here.
data("Hedonic", package = "plm")
hedonic <- Hedonic
hedonic$tract <- ave(seq_len(nrow(hedonic)), hedonic$townid, FUN = seq_along)
hedonic_columns <- c("townid", "tract", "mv", "crim", "zn", "indus", "chas", "nox", "rm", "age",
                     "dis", "rad", "tax", "ptratio", "blacks", "lstat")
write.csv(transform(hedonic[, hedonic_columns], chas = as.integer(chas == "yes")),
          file.path("tests", "reference", "panel_hedonic.csv"), row.names = FALSE)
hedonic_formula <- mv ~ crim + zn + indus + chas + nox + rm + age + dis + rad + tax + ptratio +
  blacks + lstat
pdata <- pdata.frame(hedonic, index = c("townid", "tract"))
out <- list(formula = deparse(hedonic_formula), n_obs = nrow(hedonic),
            n_entities = length(unique(hedonic$townid)), balanced = FALSE)
out$within <- fit_summary(plm(hedonic_formula, data = pdata, model = "within"))
for (method in c("swar", "walhus")) {
  re <- plm(hedonic_formula, data = pdata, model = "random", random.method = method)
  res <- fit_summary(re)
  res$sigma2_idios <- unname(ercomp(re)$sigma2["idios"])
  res$sigma2_id <- unname(ercomp(re)$sigma2["id"])
  out[[paste0("random_", method)]] <- res
}
within <- plm(hedonic_formula, data = pdata, model = "within")
re_swar <- plm(hedonic_formula, data = pdata, model = "random")
out$hausman_chisq <- htest_list(phtest(within, re_swar))
ml <- lmer(update(hedonic_formula, . ~ . + (1 | townid)), data = hedonic, REML = FALSE,
           control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
vc <- as.data.frame(VarCorr(ml))
out$lmer_ml <- list(term = names(fixef(ml)), estimate = unname(fixef(ml)),
                    std_error = unname(sqrt(diag(as.matrix(vcov(ml))))),
                    sigma2_id = vc$vcov[vc$grp == "townid"],
                    sigma2_idios = vc$vcov[vc$grp == "Residual"],
                    loglik = as.numeric(logLik(ml)))
reference$hedonic <- out

write_json(reference, file.path("tests", "reference", "panel_reference.json"), digits = NA,
           auto_unbox = TRUE, pretty = TRUE, matrix = "rowmajor")
