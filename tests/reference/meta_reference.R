# metafor references for tests/test_meta*.py.
#
# Run from the repository root:
#   Rscript tests/reference/meta_reference.R
# Writes tests/reference/meta_reference.json: the input data of every case (so the tests need
# neither R nor the bundled data) and metafor's results. Public data sets from metadat:
# dat.bcg, dat.normand1999, dat.molloy2014, dat.nielweise2007, dat.hackshaw1998,
# dat.konstantopoulos2011. Q-profile confidence intervals are computed with a tight root-finding
# tolerance (control = list(tol = 1e-12)); metafor's default tolerance is .Machine$double.eps^0.25.
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

versions <- list(
  R = paste(R.version$major, R.version$minor, sep = "."),
  metafor = as.character(packageVersion("metafor")),
  metadat = as.character(packageVersion("metadat"))
)

fit_summary <- function(fit, tau2_ci = TRUE) {
  out <- list(
    beta = as.vector(fit$beta), se = as.vector(fit$se), zval = as.vector(fit$zval),
    pval = as.vector(fit$pval), ci_lb = as.vector(fit$ci.lb), ci_ub = as.vector(fit$ci.ub),
    coef_names = rownames(fit$beta),
    tau2 = fit$tau2, se_tau2 = fit$se.tau2, I2 = fit$I2, H2 = fit$H2, QE = fit$QE, QEp = fit$QEp,
    QM = fit$QM, QMp = fit$QMp, k = fit$k, p = fit$p, s2w = fit$s2w
  )
  if (!is.null(fit$R2)) out$R2 <- fit$R2
  if (!is.null(fit$QMdf)) out$QMdf <- fit$QMdf
  pr <- predict(fit)
  if (fit$p == 1) {
    out$pi_lb <- pr$pi.lb
    out$pi_ub <- pr$pi.ub
  }
  if (!fit$method %in% c("FE", "EE", "CE")) {
    out$ll <- as.vector(logLik(fit))
    if (tau2_ci) {
      ci <- confint(fit, control = list(tol = 1e-12))$random
      out$tau2_ci <- as.vector(ci["tau^2", c("ci.lb", "ci.ub")])
      ci_default <- confint(fit)$random
      out$tau2_ci_default_tol <- as.vector(ci_default["tau^2", c("ci.lb", "ci.ub")])
    }
  }
  out
}

escalc_frame <- function(es) list(yi = as.vector(es$yi), vi = as.vector(es$vi))

methods <- c("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB")
fit_all <- function(yi, vi, mods = NULL, data = NULL) {
  out <- list()
  for (method in methods) {
    for (test in c("z", "knha")) {
      ctrl <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
      if (is.null(mods)) {
        fit <- rma(yi, vi, method = method, test = test, control = ctrl)
      } else {
        fit <- rma(yi, vi, mods = mods, data = data, method = method, test = test, control = ctrl)
      }
      out[[paste(method, test, sep = "_")]] <- fit_summary(fit)
    }
  }
  out
}

ref <- list(versions = versions)

# ---- BCG: effect sizes, every estimator, meta-regression ---------------------------------------
bcg <- dat.bcg
ref$bcg <- list(
  data = bcg[, c("trial", "author", "year", "tpos", "tneg", "cpos", "cneg", "ablat")],
  escalc = list(
    RR = escalc_frame(escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)),
    OR = escalc_frame(escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)),
    RD = escalc_frame(escalc("RD", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)),
    PETO = escalc_frame(escalc("PETO", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)),
    OR2DL = escalc_frame(escalc("OR2DL", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg))
  )
)
es <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
ref$bcg$rma <- fit_all(es$yi, es$vi)
ref$bcg$rma_ablat <- fit_all(es$yi, es$vi, mods = ~ablat, data = es)
ref$bcg$rma_ablat_year <- fit_all(es$yi, es$vi, mods = ~ ablat + year, data = es)

reml <- rma(yi, vi, data = es, method = "REML")
ref$bcg$regtest_reml <- with(regtest(reml), list(zval = zval, pval = pval, est = as.vector(est)))
fe <- rma(yi, vi, data = es, method = "FE")
ref$bcg$regtest_fe <- with(regtest(fe), list(zval = zval, pval = pval, est = as.vector(est)))
knha <- rma(yi, vi, data = es, method = "REML", test = "knha")
ref$bcg$regtest_knha <- with(regtest(knha), list(zval = zval, pval = pval, dfs = dfs))
l1o <- leave1out(reml)
ref$bcg$leave1out <- lapply(as.data.frame(l1o), as.vector)
inf <- influence(reml)
ref$bcg$influence <- c(lapply(as.data.frame(inf$inf), as.vector),
                       list(dfbetas = as.vector(inf$dfbs[[1]])))
reg <- rma(yi, vi, mods = ~ablat, data = es, method = "REML", test = "knha",
           control = list(threshold = 1e-12, maxiter = 10000))
inf_reg <- influence(reg)
ref$bcg$influence_ablat_knha <- c(lapply(as.data.frame(inf_reg$inf), as.vector),
                                  list(dfbetas_ablat = as.vector(inf_reg$dfbs[[2]])))
ref$bcg$regtest_ablat <- with(regtest(reg), list(zval = zval, pval = pval, dfs = dfs))
l1o_knha <- leave1out(knha)
ref$bcg$leave1out_knha <- lapply(as.data.frame(l1o_knha), as.vector)
tf <- trimfill(reml)
ref$bcg$trimfill <- list(k0 = tf$k0, side = tf$side, beta = as.vector(tf$beta), se = tf$se,
                         tau2 = tf$tau2)

mh_cases <- function(ai, bi, ci, di) {
  out <- list()
  for (measure in c("OR", "RR", "RD")) {
    mh <- rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = measure)
    out[[measure]] <- list(beta = as.vector(mh$beta), se = mh$se, ci_lb = mh$ci.lb,
                           ci_ub = mh$ci.ub, zval = mh$zval, pval = mh$pval,
                           QE = mh$QE, QEp = mh$QEp, k = mh$k)
    if (measure == "OR") {
      out[[measure]]$CMH <- mh$CO
      out[[measure]]$CMHp <- mh$COp
      out[[measure]]$MH <- mh$MH
      out[[measure]]$MHp <- mh$MHp
    }
  }
  peto <- rma.peto(ai = ai, bi = bi, ci = ci, di = di)
  out$PETO <- list(beta = as.vector(peto$beta), se = peto$se, ci_lb = peto$ci.lb,
                   ci_ub = peto$ci.ub, zval = peto$zval, pval = peto$pval,
                   QE = peto$QE, QEp = peto$QEp, k = peto$k)
  out
}
ref$bcg$mh <- mh_cases(bcg$tpos, bcg$tneg, bcg$cpos, bcg$cneg)

# ---- Nielweise 2007: zero cells ----------------------------------------------------------------
niel <- dat.nielweise2007
niel$bi <- niel$n1i - niel$ai
niel$di <- niel$n2i - niel$ci
ref$nielweise <- list(
  data = niel[, c("study", "ai", "bi", "ci", "di")],
  escalc = list(
    OR = escalc_frame(escalc("OR", ai = ai, bi = bi, ci = ci, di = di, data = niel)),
    RR = escalc_frame(escalc("RR", ai = ai, bi = bi, ci = ci, di = di, data = niel)),
    RD = escalc_frame(escalc("RD", ai = ai, bi = bi, ci = ci, di = di, data = niel)),
    PETO = escalc_frame(escalc("PETO", ai = ai, bi = bi, ci = ci, di = di, data = niel))
  ),
  mh = mh_cases(niel$ai, niel$bi, niel$ci, niel$di)
)
# A table with zero events in both arms: escalc keeps it (drop00 = FALSE) for OR / RR / RD / PETO,
# adding 1/2 to its cells (add = 1/2, to = "only0"); the last table has arms of unequal size.
both0 <- data.frame(ai = c(0, 3, 5, 0), bi = c(20, 17, 25, 20), ci = c(0, 6, 9, 0),
                    di = c(20, 14, 21, 15))
ref$both_zero <- list(
  data = both0,
  escalc = list(
    OR = escalc_frame(escalc("OR", ai = ai, bi = bi, ci = ci, di = di, data = both0)),
    RR = escalc_frame(escalc("RR", ai = ai, bi = bi, ci = ci, di = di, data = both0)),
    RD = escalc_frame(escalc("RD", ai = ai, bi = bi, ci = ci, di = di, data = both0)),
    PETO = escalc_frame(escalc("PETO", ai = ai, bi = bi, ci = ci, di = di, data = both0))
  )
)

# ---- Normand 1999: SMD and MD ------------------------------------------------------------------
norm <- dat.normand1999
smd <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
              data = norm)
ref$normand <- list(
  data = norm[, c("study", "n1i", "m1i", "sd1i", "n2i", "m2i", "sd2i")],
  escalc = list(
    SMD = escalc_frame(smd),
    MD = escalc_frame(escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
                             n2i = n2i, data = norm)),
    D2ORL = escalc_frame(escalc("D2ORL", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i,
                                sd2i = sd2i, n2i = n2i, data = norm))
  ),
  rma = fit_all(smd$yi, smd$vi)
)

# ---- Molloy 2014: correlations -----------------------------------------------------------------
mol <- dat.molloy2014
zc <- escalc("ZCOR", ri = ri, ni = ni, data = mol)
ref$molloy <- list(
  data = mol[, c("authors", "year", "ni", "ri")],
  escalc = list(
    ZCOR = escalc_frame(zc),
    COR = escalc_frame(escalc("COR", ri = ri, ni = ni, data = mol))
  ),
  rma = fit_all(zc$yi, zc$vi)
)

# ---- Hackshaw 1998: trim-and-fill --------------------------------------------------------------
hack <- dat.hackshaw1998
hfit <- rma(yi, vi, data = hack, method = "REML")
htf <- trimfill(hfit)
hfe <- rma(yi, vi, data = hack, method = "FE")
htf_fe <- trimfill(hfe)
ref$hackshaw <- list(
  data = hack[, c("study", "yi", "vi")],
  trimfill_reml = list(k0 = htf$k0, side = htf$side, beta = as.vector(htf$beta), se = htf$se,
                       tau2 = htf$tau2),
  trimfill_fe = list(k0 = htf_fe$k0, side = htf_fe$side, beta = as.vector(htf_fe$beta),
                     se = htf_fe$se),
  regtest = with(regtest(hfit), list(zval = zval, pval = pval))
)

# ---- Konstantopoulos 2011: three-level meta-analysis -------------------------------------------
kon <- dat.konstantopoulos2011
mv_summary <- function(fit) {
  list(beta = as.vector(fit$beta), se = as.vector(fit$se), zval = as.vector(fit$zval),
       pval = as.vector(fit$pval), ci_lb = as.vector(fit$ci.lb), ci_ub = as.vector(fit$ci.ub),
       sigma2 = fit$sigma2, ll = as.vector(logLik(fit)), QE = fit$QE, QEp = fit$QEp,
       QM = fit$QM, QMp = fit$QMp)
}
ref$konstantopoulos <- list(
  data = kon[, c("district", "school", "study", "year", "yi", "vi")],
  reml = mv_summary(rma.mv(yi, vi, random = ~ 1 | district / school, data = kon)),
  ml = mv_summary(rma.mv(yi, vi, random = ~ 1 | district / school, data = kon, method = "ML")),
  reml_year = mv_summary(rma.mv(yi, vi, mods = ~year, random = ~ 1 | district / school,
                                data = kon))
)

# ---- All effect sizes equal: tau2 = 0 for every estimator; Knapp-Hartung SEs of 0 -------------
# metafor sets s2w to 0 when Q(tau2) <= .Machine$double.eps, so the Knapp-Hartung SEs are 0 and
# the t statistics +-Inf (JSON has no Inf: zval_text keeps them as text) and QM is NA.
equal <- data.frame(yi = rep(0.3, 5), vi = c(0.01, 0.02, 0.03, 0.04, 0.05), x = 0:4)
with_zval_text <- function(fits) {
  lapply(fits, function(fit) c(fit, list(zval_text = as.character(fit$zval))))
}
ref$equal_effects <- list(
  data = equal,
  rma = with_zval_text(fit_all(equal$yi, equal$vi)),
  rma_x = with_zval_text(fit_all(equal$yi, equal$vi, mods = ~x, data = equal))
)

write_json(ref, file.path("tests", "reference", "meta_reference.json"), digits = NA,
           auto_unbox = TRUE, pretty = TRUE, na = "null")
