# Reference values for mixedtools.lmer, mixedtools.lrt and the lmer result methods.
# Run from the repository root:  Rscript tests/reference/lmer_reference.R
# Writes tests/reference/lmer_reference.json (the Python tests read only the JSON).
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(nlme, include.only = character(0))
  library(jsonlite)
})

# ---- data: the package's bundled CSV files (cake is exported into the JSON) ---------------------
read_data <- function(name, factors) {
  cc <- setNames(rep("character", length(factors)), factors)
  read.csv(file.path("mixedtools", "data", paste0(name, ".csv")), colClasses = cc)
}
sleep <- read_data("sleepstudy", "subject")
hsb <- read_data("hsb", "school")
hsb$ses_cwc <- hsb$ses - ave(hsb$ses, hsb$school)
pastes <- read_data("pastes", c("batch", "cask", "sample"))
penicillin <- read_data("penicillin", c("plate", "sample"))
machines <- read_data("machines", c("worker", "machine"))
cake <- lme4::cake
cake <- data.frame(angle = cake$angle, recipe = as.character(cake$recipe),
                   replicate = as.integer(as.character(cake$replicate)), temp = cake$temp)

# ---- functions --------------------------------------------------------------------------------
varcorr_df <- function(fit) {
  vc <- as.data.frame(VarCorr(fit))
  vc$var1[is.na(vc$var1)] <- ""
  vc$var2[is.na(vc$var2)] <- ""
  list(group = vc$grp, var1 = vc$var1, var2 = vc$var2, vcov = vc$vcov, sdcor = vc$sdcor)
}

ranef_list <- function(fit) {
  re <- ranef(fit, condVar = TRUE)
  long <- as.data.frame(re)
  out <- list()
  for (g in names(re)) {
    d <- re[[g]]
    entry <- list(levels = rownames(d), columns = colnames(d), values = unname(as.matrix(d)))
    # conditional SDs for every (level, column), in the layout of `values`
    sub <- long[long$grpvar == g, ]
    entry$condsd <- sapply(colnames(d), function(cl) {
      s <- sub[sub$term == cl, ]
      s$condsd[match(rownames(d), as.character(s$grp))]
    })
    entry$condsd <- unname(matrix(entry$condsd, nrow = nrow(d)))
    pv <- attr(d, "postVar")
    if (is.array(pv) && length(dim(pv)) == 3) {
      entry$condvar <- lapply(seq_len(nrow(d)), function(i) matrix(pv[, , i], dim(pv)[1]))
    }
    out[[g]] <- entry
  }
  out
}

coef_tab <- function(fit, ddf) {
  s <- summary(fit, ddf = ddf)$coefficients
  list(term = rownames(s), estimate = unname(s[, "Estimate"]), std_error = unname(s[, "Std. Error"]),
       df = unname(s[, "df"]), t = unname(s[, "t value"]), p_value = unname(s[, "Pr(>|t|)"]))
}

anova3 <- function(fit, ddf) {
  a <- anova(fit, type = 3, ddf = ddf)
  list(term = rownames(a), num_df = unname(a$NumDF), den_df = unname(a$DenDF),
       F = unname(a[["F value"]]), p_value = unname(a[["Pr(>F)"]]))
}

# Nakagawa R2 by hand (Johnson's extension for random slopes): the variance of the random part is
# the mean over observations of z_i' Sigma z_i, summed over the random-effect terms.
nakagawa <- function(fit) {
  X <- getME(fit, "X")
  var_fixed <- var(as.vector(X %*% fixef(fit)))
  vc <- VarCorr(fit)
  var_random <- 0
  mf <- model.frame(fit)
  for (g in names(vc)) {
    Sigma <- vc[[g]]
    cols <- colnames(Sigma)
    Zg <- matrix(1, nrow(X), length(cols))
    for (k in seq_along(cols)) if (cols[k] != "(Intercept)") Zg[, k] <- X[, cols[k]]
    var_random <- var_random + mean(rowSums((Zg %*% Sigma) * Zg))
  }
  var_resid <- sigma(fit)^2
  total <- var_fixed + var_random + var_resid
  list(var_fixed = var_fixed, var_random = var_random, var_residual = var_resid,
       marginal = var_fixed / total, conditional = (var_fixed + var_random) / total,
       icc = var_random / (var_random + var_resid))
}

describe_fit <- function(fit, ddfs = c("Satterthwaite", "Kenward-Roger"), anova = TRUE) {
  out <- list(
    formula = deparse(formula(fit), width.cutoff = 500L),
    reml = isREML(fit),
    nobs = nobs(fit),
    fixef = as.list(fixef(fit)),
    std_error = as.list(sqrt(diag(as.matrix(vcov(fit))))),
    vcov = unname(as.matrix(vcov(fit))),
    varcorr = varcorr_df(fit),
    sigma = sigma(fit),
    loglik = as.numeric(logLik(fit)),
    aic = AIC(fit),
    bic = BIC(fit),
    df_loglik = attr(logLik(fit), "df"),
    ranef = ranef_list(fit),
    # the first 400 rows (enough to check, keeps the file small for the 7185-row HSB data)
    fitted = head(unname(fitted(fit)), 400),
    fitted_fixed = head(unname(predict(fit, re.form = NA)), 400),
    residuals = head(unname(residuals(fit)), 400),
    singular = isSingular(fit),
    nakagawa = nakagawa(fit)
  )
  out$coef_table <- list()
  for (d in ddfs) out$coef_table[[d]] <- coef_tab(fit, d)
  if (anova && length(fixef(fit)) > 1) {
    out$anova <- list()
    for (d in ddfs) out$anova[[d]] <- anova3(fit, d)
  }
  out
}

ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-10))

# ---- fits -----------------------------------------------------------------------------------
fits <- list()
fits$sleep_reml <- lmer(reaction ~ days + (days | subject), sleep, REML = TRUE, control = ctrl)
fits$sleep_ml <- lmer(reaction ~ days + (days | subject), sleep, REML = FALSE, control = ctrl)
fits$sleep_uncorr <- lmer(reaction ~ days + (days || subject), sleep, REML = TRUE, control = ctrl)
fits$sleep_intercept <- lmer(reaction ~ days + (1 | subject), sleep, REML = TRUE, control = ctrl)
fits$hsb_null <- lmer(mathach ~ 1 + (1 | school), hsb, REML = TRUE, control = ctrl)
fits$hsb_crosslevel <- lmer(mathach ~ ses_cwc * sector + meanses + (ses_cwc | school), hsb,
                            REML = TRUE, control = ctrl)
fits$pastes <- lmer(strength ~ 1 + (1 | batch/cask), pastes, REML = TRUE, control = ctrl)
fits$penicillin <- lmer(diameter ~ 1 + (1 | plate) + (1 | sample), penicillin, REML = TRUE,
                        control = ctrl)
fits$machines <- lmer(score ~ machine + (machine | worker), machines, REML = TRUE, control = ctrl)
fits$cake <- lmer(angle ~ recipe * temp + (1 | recipe:replicate), cake, REML = TRUE, control = ctrl)

described <- lapply(fits, function(f) {
  describe_fit(f, ddfs = if (isREML(f)) c("Satterthwaite", "Kenward-Roger") else "Satterthwaite")
})

# predictions for new data: two known subjects and one unseen subject (population prediction)
newdata <- data.frame(days = c(0, 5, 9, 2.5), subject = c("308", "308", "335", "999"))
described$sleep_reml$newdata <- as.list(newdata)
described$sleep_reml$predict_newdata <- unname(predict(fits$sleep_reml, newdata,
                                                        allow.new.levels = TRUE))
described$sleep_reml$predict_newdata_fixed <- unname(predict(fits$sleep_reml, newdata,
                                                              re.form = NA))

# ---- likelihood-ratio tests (R's anova(m0, m1)) ----------------------------------------------
lrt_row <- function(m0, m1, refit) {
  a <- anova(m0, m1, refit = refit)
  list(npar = unname(a$npar), loglik = unname(a$logLik), deviance = unname(a$deviance),
       chisq = unname(a$Chisq[2]), df = unname(a$Df[2]), p_naive = unname(a[["Pr(>Chisq)"]][2]))
}
lrt <- list()
# variance components: REML fits compared as they are (same fixed part)
lrt$slope <- lrt_row(fits$sleep_intercept, fits$sleep_reml, refit = FALSE)
lrt$slope$p_mixture <- 0.5 * pchisq(lrt$slope$chisq, 1, lower.tail = FALSE) +
  0.5 * pchisq(lrt$slope$chisq, 2, lower.tail = FALSE)
lrt$correlation <- lrt_row(fits$sleep_uncorr, fits$sleep_reml, refit = FALSE)
# fixed effects: refitted with ML
m0_fixed <- lmer(reaction ~ 1 + (days | subject), sleep, REML = TRUE, control = ctrl)
lrt$fixed <- lrt_row(m0_fixed, fits$sleep_reml, refit = TRUE)
# one variance (random intercept of a:b in the nested pastes model)
m0_pastes <- lmer(strength ~ 1 + (1 | batch), pastes, REML = TRUE, control = ctrl)
lrt$nested <- lrt_row(m0_pastes, fits$pastes, refit = FALSE)
lrt$nested$p_mixture <- 0.5 * pchisq(lrt$nested$chisq, 1, lower.tail = FALSE)

out <- list(
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4")),
                  lmerTest = as.character(packageVersion("lmerTest")),
                  pbkrtest = as.character(packageVersion("pbkrtest"))),
  data = list(cake = as.list(cake)),
  fits = described,
  lrt = lrt
)
write_json(out, "tests/reference/lmer_reference.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
