# metafor references on a data set the meta tests did not use before: the teacher-expectancy
# studies of Raudenbush (1985), metadat's dat.raudenbush1985 (19 standardised mean differences,
# moderator `weeks` of prior teacher-student contact).
#
# Run from the repository root:
#   Rscript tests/reference/meta_raudenbush_reference.R
# Writes tests/reference/meta_raudenbush_reference.json with the data (so the tests need no R)
# and metafor's results, once with tight tolerances (control threshold and tol 1e-12; what
# mixedtools is compared with) and once with metafor's defaults (to document the difference).
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

dat <- dat.raudenbush1985
tight <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)

summarise <- function(fit, ci, pred) {
  list(
    beta = as.vector(fit$beta), se = as.vector(fit$se), tau2 = fit$tau2, I2 = fit$I2,
    H2 = fit$H2, QE = fit$QE, QEp = fit$QEp, QM = fit$QM, QMp = fit$QMp,
    ci_lb = as.vector(fit$ci.lb), ci_ub = as.vector(fit$ci.ub),
    tau2_ci = if (is.null(ci)) NULL else as.vector(ci$random["tau^2", c("ci.lb", "ci.ub")]),
    pi = if (is.null(pred)) NULL else c(pred$pi.lb, pred$pi.ub),
    R2 = if (is.null(fit$R2)) NULL else fit$R2
  )
}

cases <- list()
for (method in c("DL", "REML", "ML", "PM", "HE", "SJ", "EB")) {
  for (test in c("z", "knha")) {
    fit <- rma(yi, vi, data = dat, method = method, test = test, control = tight)
    default_fit <- rma(yi, vi, data = dat, method = method, test = test)
    cases[[paste(method, test, sep = "_")]] <- list(
      tight = summarise(fit, confint(fit, control = list(tol = 1e-12)), predict(fit)),
      default = summarise(default_fit, confint(default_fit), predict(default_fit))
    )
  }
}
reg <- rma(yi, vi, mods = ~weeks, data = dat, method = "REML", control = tight)
res <- rma(yi, vi, data = dat, method = "REML", control = tight)
egger <- regtest(res)
tf <- trimfill(res, control = tight)

out <- list(
  versions = list(
    R = paste(R.version$major, R.version$minor, sep = "."),
    metafor = as.character(packageVersion("metafor")),
    metadat = as.character(packageVersion("metadat"))
  ),
  data = list(yi = as.vector(dat$yi), vi = as.vector(dat$vi), weeks = dat$weeks),
  rma = cases,
  metareg_weeks = summarise(reg, NULL, NULL),
  egger = list(zval = egger$zval, pval = egger$pval),
  trimfill = list(k0 = tf$k0, side = tf$side, beta = as.vector(tf$beta), se = as.vector(tf$se))
)
writeLines(
  toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
  "tests/reference/meta_raudenbush_reference.json"
)
