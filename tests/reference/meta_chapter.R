# metafor / clubSandwich references for tests/test_meta_chapter_reference.py: the numbers that
# chapter 7 (book/07_meta_analysis.ipynb) prints for publication bias, prediction intervals and
# dependent effect sizes, computed with the same calls in R.
#
# Run from the repository root:
#   Rscript tests/reference/meta_chapter.R
# Writes tests/reference/meta_chapter.json. Data: dat.bcg (Colditz et al., 1994) and
# dat.assink2016 (Assink & Wibbelink, 2016) from metadat, bundled with mixedtools as
# mt.datasets.load("bcg") and mt.datasets.load("assink2016"). Convergence criteria are tightened
# so that iterative estimates agree with mixedtools' to many digits.
suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})

ref <- list(versions = list(
  R = paste(R.version$major, R.version$minor, sep = "."),
  metafor = as.character(packageVersion("metafor")),
  metadat = as.character(packageVersion("metadat")),
  clubSandwich = as.character(packageVersion("clubSandwich"))
))
lm_intercept <- function(fit) {
  s <- coef(summary(fit))
  list(estimate = s[1, 1], se = s[1, 2], p = s[1, 4], slope = s[2, 1], slope_p = s[2, 4],
       df = fit$df.residual)
}

# BCG trials, log risk ratios, REML ---------------------------------------------------------
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
res <- rma(yi, vi, data = bcg, control = list(threshold = 1e-12))
pr <- predict(res)
crit <- qt(0.975, df = res$k - 2)
ref$bcg <- list(
  estimate = as.vector(res$beta), se = res$se, tau2 = res$tau2, I2 = res$I2,
  pi_z = c(pr$pi.lb, pr$pi.ub),
  pi_t = as.vector(res$beta) + c(-1, 1) * crit * sqrt(res$se^2 + res$tau2)
)
rt <- regtest(res)
rt_lm <- regtest(res, model = "lm")
ref$bcg$regtest <- list(zval = rt$zval, pval = rt$pval, est = rt$est)
ref$bcg$regtest_lm <- list(tval = rt_lm$zval, pval = rt_lm$pval, df = rt_lm$dfs, est = rt_lm$est)
tf <- trimfill(res)
ref$bcg$trimfill <- list(k0 = tf$k0, side = tf$side, estimate = as.vector(tf$beta))
ref$bcg$pet <- lm_intercept(lm(yi ~ sqrt(vi), weights = 1 / vi, data = bcg))
ref$bcg$peese <- lm_intercept(lm(yi ~ vi, weights = 1 / vi, data = bcg))
sel <- selmodel(res, type = "stepfun", steps = 0.025, alternative = "less",
                control = list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14))
ref$bcg$selmodel <- list(estimate = as.vector(sel$beta), se = as.vector(sel$se), tau2 = sel$tau2,
                         delta = as.vector(sel$delta), LRT = sel$LRT, LRTp = sel$LRTp,
                         k_steps = sel$ptable$k)
# Peters et al. (2006): log odds ratio on 1 / n, weights 1 / (1/events + 1/non-events)
or <- escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
n <- with(dat.bcg, tpos + tneg + cpos + cneg)
w <- with(dat.bcg, 1 / (1 / (tpos + cpos) + 1 / (tneg + cneg)))
pf <- coef(summary(lm(or$yi ~ I(1 / n), weights = w)))
ref$bcg$peters <- list(tval = pf[2, 3], pval = pf[2, 4], slope = pf[2, 1], intercept = pf[1, 1])

# Assink et al. (2016): CHE working model for several assumed correlations --------------------
ass <- dat.assink2016
ctrl <- list(rel.tol = 1e-10, iter.max = 10000, eval.max = 10000)
summarise <- function(fit) {
  ct <- as.data.frame(coef_test(fit, vcov = "CR2"))
  ci <- as.data.frame(conf_int(fit, vcov = "CR2"))
  list(estimate = as.vector(fit$beta), se_model = as.vector(fit$se),
       sigma2 = as.vector(fit$sigma2), se_cr2 = ct$SE, df = ct$df_Satt, p = ct$p_Satt,
       ci_lb = ci$CI_L, ci_ub = ci$CI_U)
}
ref$assink <- list(rho = c(0.2, 0.4, 0.6, 0.8), che = list())
for (rho in ref$assink$rho) {
  V <- vcalc(vi, cluster = study, obs = esid, rho = rho, data = ass)
  fit <- rma.mv(yi, V, random = ~ 1 | study / esid, data = ass, control = ctrl)
  ref$assink$che[[length(ref$assink$che) + 1]] <- summarise(fit)
}
# the three-level model that treats the sampling errors as independent (rho = 0)
fit <- rma.mv(yi, vi, random = ~ 1 | study / esid, data = ass, control = ctrl)
ref$assink$independent <- summarise(fit)
# the open exercise: type of delinquent behaviour as moderator, CHE with rho = 0.6
V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6, data = ass)
fit <- rma.mv(yi, V, mods = ~ deltype, random = ~ 1 | study / esid, data = ass, control = ctrl)
wt <- as.data.frame(Wald_test(fit, constraints = constrain_zero(2:3), vcov = "CR2", test = "HTZ"))
ref$assink$deltype <- c(summarise(fit), list(
  coef_names = rownames(fit$beta),
  wald = list(Fstat = wt$Fstat, df_num = wt$df_num, df_den = wt$df_denom, p = wt$p_val)
))

write_json(ref, file.path("tests", "reference", "meta_chapter.json"), digits = NA,
           auto_unbox = TRUE, pretty = TRUE)
