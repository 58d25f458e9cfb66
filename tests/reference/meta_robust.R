# clubSandwich / metafor references for tests/test_meta_robust.py (cluster-robust variance
# estimation, the vcalc working matrix and the CHE model).
#
# Run from the repository root:
#   Rscript tests/reference/meta_robust.R
# Writes tests/reference/meta_robust.json (metafor's and clubSandwich's results). Both data sets
# are bundled with mixedtools, exported from metadat by mixedtools/data/make_datasets.R:
# mt.datasets.load("konstantopoulos2011") and mt.datasets.load("assink2016"). rma.mv is run with
# tight convergence criteria so that its variance components agree with mixedtools' to many
# digits (the REML likelihood is flat to 1e-14 over relative changes of about 1e-7 in them).
suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})

versions <- list(
  R = paste(R.version$major, R.version$minor, sep = "."),
  metafor = as.character(packageVersion("metafor")),
  metadat = as.character(packageVersion("metadat")),
  clubSandwich = as.character(packageVersion("clubSandwich"))
)
ctrl <- list(rel.tol = 1e-10, iter.max = 10000, eval.max = 10000)

robust_summary <- function(fit, cluster = NULL, constraints = NULL) {
  out <- list(beta = as.vector(fit$beta), coef_names = rownames(fit$beta),
              sigma2 = as.vector(fit$sigma2), tau2 = fit$tau2)
  for (type in c("CR0", "CR1", "CR2")) {
    ct <- if (is.null(cluster)) coef_test(fit, vcov = type) else
      coef_test(fit, vcov = type, cluster = cluster)
    ct <- as.data.frame(ct)
    vc <- if (is.null(cluster)) vcovCR(fit, type = type) else
      vcovCR(fit, type = type, cluster = cluster)
    out[[type]] <- list(estimate = ct$beta, se = ct$SE, tstat = ct$tstat, df = ct$df_Satt,
                        p = ct$p_Satt, vcov = unname(as.matrix(vc)))
    if (!is.null(constraints)) {
      wt <- if (is.null(cluster)) Wald_test(fit, constraints = constrain_zero(constraints),
                                            vcov = type, test = c("HTZ", "Naive-F")) else
        Wald_test(fit, constraints = constrain_zero(constraints), vcov = type,
                  test = c("HTZ", "Naive-F"), cluster = cluster)
      wt <- as.data.frame(wt)
      out[[type]]$wald <- list(constraints = constraints, test = wt$test, Fstat = wt$Fstat,
                               delta = wt$delta, df_num = wt$df_num, df_denom = wt$df_denom,
                               p = wt$p_val)
    }
  }
  out
}

ref <- list(versions = versions)

# Konstantopoulos (2011): schools in districts ------------------------------------------------
kon <- dat.konstantopoulos2011
fit <- rma.mv(yi, vi, random = ~ 1 | district/school, data = kon, control = ctrl)
ref$konstantopoulos <- list(intercept = robust_summary(fit))
fit <- rma.mv(yi, vi, mods = ~ I(year - 1990), random = ~ 1 | district/school, data = kon,
              control = ctrl)
ref$konstantopoulos$year <- robust_summary(fit, constraints = 1:2)
# rma.uni ignoring the districts in the model, robust inference by district
fit <- rma(yi, vi, mods = ~ I(year - 1990), data = kon, control = list(threshold = 1e-12))
ref$konstantopoulos$uni_year <- robust_summary(fit, cluster = kon$district, constraints = 1:2)

# Assink et al. (2016): effect sizes in studies -----------------------------------------------
ass <- dat.assink2016
fit <- rma.mv(yi, vi, random = ~ 1 | study/esid, data = ass, control = ctrl)
ref$assink <- list(intercept = robust_summary(fit))
fit <- rma.mv(yi, vi, mods = ~ deltype, random = ~ 1 | study/esid, data = ass, control = ctrl)
ref$assink$deltype <- robust_summary(fit, constraints = 2:3)
# rma.uni with the studies as clusters (robust inference ignoring the nesting in the model);
# only one study reports covert delinquency, so CR0 and CR1 give the intercept a variance of 0
fit <- rma(yi, vi, mods = ~ deltype, data = ass, control = list(threshold = 1e-12))
ref$assink$uni_deltype <- robust_summary(fit, cluster = ass$study, constraints = 2:3)

# CHE working model: vcalc with rho = 0.6, random study and effect-size intercepts
V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6, data = ass)
ref$assink$vcalc_rho06 <- unname(as.matrix(V))
fit <- rma.mv(yi, V, random = ~ 1 | study/esid, data = ass, control = ctrl)
ref$assink$che <- c(robust_summary(fit),
                    list(se_model = as.vector(fit$se), ll = as.vector(logLik(fit)),
                         QE = fit$QE, QM = fit$QM))
fit <- rma.mv(yi, V, mods = ~ deltype, random = ~ 1 | study/esid, data = ass, control = ctrl)
ref$assink$che_deltype <- c(robust_summary(fit, constraints = 2:3),
                            list(se_model = as.vector(fit$se), ll = as.vector(logLik(fit)),
                                 QE = fit$QE, QM = fit$QM))
# vcalc without obs: metafor treats all rows of a cluster as the same observation (rho = 1)
ref$vcalc_small <- list(
  vi = c(.1, .2, .3, .4), cluster = c(1, 1, 1, 2), obs = c(1, 2, 3, 1),
  with_obs = unname(as.matrix(vcalc(vi = c(.1, .2, .3, .4), cluster = c(1, 1, 1, 2),
                                    obs = c(1, 2, 3, 1), rho = 0.5))),
  obs_repeat = c(1, 2, 2, 1),
  with_obs_repeat = unname(as.matrix(suppressWarnings(vcalc(vi = c(.1, .2, .3, .4),
    cluster = c(1, 1, 1, 2), obs = c(1, 2, 2, 1), rho = 0.5))))
)

write_json(ref, file.path("tests", "reference", "meta_robust.json"), digits = NA,
           auto_unbox = TRUE, pretty = TRUE)
