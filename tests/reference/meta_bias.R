# metafor references for tests/test_meta_bias.py (publication bias and prediction intervals).
#
# Run from the repository root:
#   Rscript tests/reference/meta_bias.R
# Writes tests/reference/meta_bias.json: the input data of every case (so the tests need neither
# R nor metadat) and the results of metafor's regtest, selmodel and predict, of lm for PET-PEESE
# and Peters' test, and the t(k - 2) prediction interval of Higgins, Thompson & Spiegelhalter
# (2009) computed by hand. Public data sets from metadat: dat.bcg (Colditz et al., 1994) and
# dat.hackshaw1998 (Hackshaw et al., 1998).
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

versions <- list(
  R = paste(R.version$major, R.version$minor, sep = "."),
  metafor = as.character(packageVersion("metafor")),
  metadat = as.character(packageVersion("metadat"))
)
ref <- list(versions = versions)

lm_table <- function(fit) {
  s <- coef(summary(fit))
  list(estimate = unname(s[, 1]), se = unname(s[, 2]), t = unname(s[, 3]), p = unname(s[, 4]),
       df = fit$df.residual)
}

regtest_summary <- function(rt) {
  list(zval = rt$zval, pval = rt$pval, dfs = if (is.null(rt$dfs)) NA else rt$dfs,
       est = rt$est, model = rt$model, predictor = rt$predictor)
}

# data ----------------------------------------------------------------------------------------
bcg <- dat.bcg
or <- escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
or$ni <- with(bcg, tpos + tneg + cpos + cneg)
hack <- dat.hackshaw1998
ref$data <- list(
  bcg = list(tpos = bcg$tpos, tneg = bcg$tneg, cpos = bcg$cpos, cneg = bcg$cneg,
             ablat = bcg$ablat, yi_or = as.vector(or$yi), vi_or = as.vector(or$vi)),
  hackshaw = list(yi = as.vector(hack$yi), vi = as.vector(hack$vi))
)

# PET-PEESE: weighted least squares of yi on sqrt(vi) and on vi (weights 1 / vi) ----------------
ref$pet_peese <- list(
  hackshaw = list(pet = lm_table(lm(yi ~ sqrt(vi), weights = 1 / vi, data = hack)),
                  peese = lm_table(lm(yi ~ vi, weights = 1 / vi, data = hack))),
  bcg_or = list(pet = lm_table(lm(yi ~ sqrt(vi), weights = 1 / vi, data = or)),
                peese = lm_table(lm(yi ~ vi, weights = 1 / vi, data = or)))
)

# regtest and Peters' test ----------------------------------------------------------------------
res_hack <- rma(yi, vi, data = hack, control = list(threshold = 1e-12))
res_or <- rma(yi, vi, data = or, control = list(threshold = 1e-12))
ref$regtest <- list(
  hackshaw_default = regtest_summary(regtest(res_hack)),
  hackshaw_lm = regtest_summary(regtest(res_hack, model = "lm")),
  hackshaw_vi = regtest_summary(regtest(res_hack, predictor = "vi")),
  hackshaw_sqrtninv_absent = NULL,
  bcg_ninv = regtest_summary(regtest(res_or, predictor = "ninv", ni = or$ni)),
  bcg_ninv_lm = regtest_summary(regtest(res_or, model = "lm", predictor = "ninv", ni = or$ni)),
  bcg_sqrtninv = regtest_summary(regtest(res_or, predictor = "sqrtninv", ni = or$ni))
)
# Peters et al. (2006): lnOR on 1/n, weights 1 / (1/events + 1/non-events)
events <- with(bcg, tpos + cpos)
nonevents <- with(bcg, tneg + cneg)
ref$peters <- list(bcg = lm_table(lm(or$yi ~ I(1 / or$ni), weights = 1 / (1 / events + 1 / nonevents))))

# selection models (step functions), fitted by ML -----------------------------------------------
sel_summary <- function(sel) {
  list(beta = as.vector(sel$beta), se = as.vector(sel$se), tau2 = sel$tau2, se_tau2 = sel$se.tau2,
       delta = as.vector(sel$delta), se_delta = as.vector(sel$se.delta), LRT = sel$LRT,
       LRTdf = sel$LRTdf, LRTp = sel$LRTp, ll = as.vector(logLik(sel)), k_steps = sel$ptable$k,
       steps = sel$steps)
}
ctrl <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14)
res_ml <- rma(yi, vi, data = hack, method = "ML", control = list(threshold = 1e-12))
ref$selmodel <- list(
  hackshaw_025 = sel_summary(selmodel(res_ml, type = "stepfun", steps = 0.025, control = ctrl)),
  hackshaw_3 = sel_summary(selmodel(res_ml, type = "stepfun", steps = c(0.025, 0.10, 0.50),
                                    control = ctrl)),
  hackshaw_reml_025 = sel_summary(selmodel(res_hack, type = "stepfun", steps = 0.025,
                                           control = ctrl))
)
res_mods <- rma(yi, vi, mods = ~ ablat, data = or, method = "ML", control = list(threshold = 1e-12))
ref$selmodel$bcg_ablat_less <- sel_summary(selmodel(res_mods, type = "stepfun", steps = c(0.05, 0.5),
                                                   alternative = "less", control = ctrl))

# prediction intervals ----------------------------------------------------------------------------
pi_summary <- function(fit) {
  pr <- predict(fit)
  k <- fit$k
  crit <- qt(0.975, df = k - 2)
  list(pi_lb = pr$pi.lb, pi_ub = pr$pi.ub,
       hts_lb = as.vector(fit$beta) - crit * sqrt(fit$se^2 + fit$tau2),
       hts_ub = as.vector(fit$beta) + crit * sqrt(fit$se^2 + fit$tau2))
}
ref$prediction <- list(
  hackshaw_z = pi_summary(res_hack),
  hackshaw_knha = pi_summary(rma(yi, vi, data = hack, test = "knha",
                                 control = list(threshold = 1e-12))),
  hackshaw_t = pi_summary(rma(yi, vi, data = hack, test = "t", control = list(threshold = 1e-12))),
  bcg_z = pi_summary(res_or)
)

write_json(ref, file.path("tests", "reference", "meta_bias.json"), digits = NA,
           auto_unbox = TRUE, pretty = TRUE)
