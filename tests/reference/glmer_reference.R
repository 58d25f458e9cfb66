# Reference values for mt.glmer (mixedtools/lmm/generalized.py): lme4::glmer on public data sets,
# with performance's R2, ICC and overdispersion check.
#
# Run from the repository root:
#   Rscript tests/reference/glmer_reference.R
# Writes tests/reference/glmer_reference.json (read by tests/test_glmer.py) and
# tests/reference/glmer_bacteria.csv (MASS::bacteria, which mixedtools does not bundle).  The data are the
# CSV files bundled with mixedtools (mixedtools/data), read as the Python side reads them: text
# columns become factors with their levels in code-point order, as pandas sorts them.
suppressPackageStartupMessages({
  library(lme4)
  library(performance)
  library(jsonlite)
})

load_set <- function(name) {
  df <- read.csv(file.path("mixedtools", "data", paste0(name, ".csv")),
                 stringsAsFactors = FALSE)
  for (col in names(df)) {
    if (is.character(df[[col]])) {
      df[[col]] <- factor(df[[col]], levels = sort(unique(df[[col]]), method = "radix"))
    }
  }
  df
}
# numeric-looking identifiers must stay text, as in the bundled codebooks
as_text <- function(df, cols) {
  for (col in cols) df[[col]] <- factor(as.character(df[[col]]),
                                         levels = sort(unique(as.character(df[[col]])), method = "radix"))
  df
}

cbpp <- as_text(load_set("cbpp"), c("herd", "period"))
contra <- as_text(load_set("contraception"), c("woman", "district", "livch"))
grouse <- as_text(load_set("grouseticks"), c("index", "brood", "year", "location"))
grouse$c_height <- grouse$height - mean(grouse$height)
verb <- as_text(load_set("verbagg"), c("id"))
insur <- as_text(load_set("insurance"), c("district"))
# MASS::bacteria (not bundled): exported next to this script for the test
bacteria <- MASS::bacteria
bacteria <- data.frame(y = as.character(bacteria$y), trt = as.character(bacteria$trt),
                       week = bacteria$week, ID = as.character(bacteria$ID))
write.csv(bacteria, "tests/reference/glmer_bacteria.csv", row.names = FALSE)
bacteria <- as_text(bacteria, c("y", "trt", "ID"))

head_n <- 10
describe <- function(fit, data, extra = list()) {
  vc <- as.data.frame(VarCorr(fit))
  re <- ranef(fit, condVar = TRUE)
  modes <- lapply(names(re), function(g) {
    m <- re[[g]]
    pv <- attr(m, "postVar")
    list(levels = rownames(m), effects = colnames(m), values = unname(as.matrix(m)),
         cond_var = lapply(seq_len(ncol(m)), function(a) pv[a, a, ]))
  })
  names(modes) <- names(re)
  # performance returns NA (not a list) for singular fits
  as_list <- function(x) if (is.list(x)) x else NULL
  r2 <- tryCatch(as_list(performance::r2_nakagawa(fit, verbose = FALSE)), error = function(e) NULL)
  icc <- tryCatch(as_list(performance::icc(fit, verbose = FALSE)), error = function(e) NULL)
  od <- tryCatch(performance::check_overdispersion(fit), error = function(e) NULL)
  out <- list(
    formula = deparse1(formula(fit)),
    family = family(fit)$family, link = family(fit)$link, nagq = fit@devcomp$dims[["nAGQ"]],
    n_obs = nobs(fit),
    fixef = as.list(fixef(fit)),
    se = as.list(sqrt(diag(as.matrix(vcov(fit))))),
    vcov = unname(as.matrix(vcov(fit))),
    theta = unname(getME(fit, "theta")),
    varcorr = lapply(seq_len(nrow(vc)), function(i) as.list(vc[i, ])),
    loglik = as.numeric(logLik(fit)),
    df = attr(logLik(fit), "df"),
    aic = AIC(fit), bic = BIC(fit), deviance = deviance(fit),
    df_residual = df.residual(fit),
    singular = isSingular(fit),
    ranef = modes,
    predict_link = unname(head(predict(fit, type = "link"), head_n)),
    predict_response = unname(head(predict(fit, type = "response"), head_n)),
    predict_link_population = unname(head(predict(fit, re.form = NA, type = "link"), head_n)),
    fitted = unname(head(fitted(fit), head_n)),
    resid_pearson = unname(head(residuals(fit, type = "pearson"), head_n)),
    resid_deviance = unname(head(residuals(fit, type = "deviance"), head_n)),
    resid_response = unname(head(residuals(fit, type = "response"), head_n)),
    pearson_chisq = sum(residuals(fit, type = "pearson")^2),
    r2_conditional = if (is.null(r2)) NULL else unname(r2$R2_conditional),
    r2_marginal = if (is.null(r2)) NULL else unname(r2$R2_marginal),
    icc_adjusted = if (is.null(icc)) NULL else unname(icc$ICC_adjusted),
    icc_unadjusted = if (is.null(icc)) NULL else unname(icc$ICC_unadjusted),
    overdispersion = if (is.null(od)) NULL else list(chisq = od$chisq_statistic, ratio = od$dispersion_ratio,
                                                       df = od$residual_df, p = od$p_value)
  )
  c(out, extra)
}

# lme4's default PIRLS tolerance (tolPwrss = 1e-7) stops the conditional modes early enough to
# lower the reported log-likelihood by up to about 3e-4 (cbpp); the references are computed
# with the modes converged (tolPwrss = 1e-12), and the log-likelihood of lme4's default fit is
# kept beside them as loglik_default (with its time in seconds).
case <- function(formula, data, ..., weights = NULL) {
  # glmer reads weights= through model.frame, so they travel as a column of the data
  data$.weights <- if (is.null(weights)) rep(1, nrow(data)) else weights
  t0 <- proc.time()[["elapsed"]]
  default_fit <- glmer(formula, data = data, weights = .weights, ...)
  seconds <- proc.time()[["elapsed"]] - t0
  tight_fit <- glmer(formula, data = data, weights = .weights, ...,
                     control = glmerControl(tolPwrss = 1e-12))
  describe(tight_fit, data, list(loglik_default = as.numeric(logLik(default_fit)),
                                 seconds_default = seconds,
                                 sum_deviance_residuals = sum(residuals(tight_fit, "deviance")^2)))
}
cbpp_formula <- cbind(incidence, size - incidence) ~ period + (1 | herd)
contra_formula <- use ~ age + I(age^2) + urban + livch + (urban | district)
cases <- list()
cases$cbpp_laplace <- case(cbpp_formula, cbpp, family = binomial)
cases$cbpp_agq25 <- case(cbpp_formula, cbpp, family = binomial, nAGQ = 25)
cases$cbpp_proportion <- case(incidence / size ~ period + (1 | herd), cbpp, weights = cbpp$size,
                              family = binomial)
cases$cbpp_probit <- case(cbpp_formula, cbpp, family = binomial(link = "probit"))
cases$cbpp_cloglog <- case(cbpp_formula, cbpp, family = binomial(link = "cloglog"))
cases$contraception_slope <- case(contra_formula, contra, family = binomial)
cases$contraception_agq <- case(use ~ age + I(age^2) + urban + livch + (1 | district), contra,
                                family = binomial, nAGQ = 10)
cases$grouseticks_three_levels <- case(
  ticks ~ year + c_height + (1 | location) + (1 | brood) + (1 | index), grouse, family = poisson)
cases$grouseticks_agq <- case(ticks ~ year + c_height + (1 | brood), grouse, family = poisson,
                              nAGQ = 12)
cases$insurance_offset <- case(claims ~ age + group + offset(log(holders)) + (1 | district),
                               insur, family = poisson)
cases$verbagg_crossed <- case(r2 ~ anger + gender + btype + situ + (1 | id) + (1 | item), verb,
                              family = binomial)
# a boundary fit where lme4 stops at a worse optimum (correlation -1, logLik -99.996)
cases$bacteria_probit_slope <- case(y ~ trt + week + (week | ID), bacteria,
                                    family = binomial(link = "probit"))

write_json(cases, "tests/reference/glmer_reference.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE, null = "null")
cat("wrote", length(cases), "cases\n")
