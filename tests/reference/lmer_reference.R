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

# ---- the sparse engine: crossed, partially crossed and three-level designs ----------------------
# Seeded simulated data, written next to this script so the Python tests read the same rows.
engine_csv <- function(d, name) {
  write.csv(d, file.path("tests", "reference", paste0("engine_", name, ".csv")), row.names = FALSE)
  d
}
set.seed(20261127)
# consumers rate products (crossed), with a consumer slope for x
sens <- expand.grid(consumer = sprintf("c%02d", 1:40), product = sprintf("p%02d", 1:15),
                    stringsAsFactors = FALSE)
sens$x <- round(rnorm(nrow(sens)), 4)
u <- MASS::mvrnorm(40, c(0, 0), matrix(c(1, 0.12, 0.12, 0.09), 2))
v <- rnorm(15, 0, 0.6)
ci <- match(sens$consumer, sprintf("c%02d", 1:40)); pi <- match(sens$product, sprintf("p%02d", 1:15))
sens$y <- round(5 + 0.4 * sens$x + u[ci, 1] + u[ci, 2] * sens$x + v[pi] + rnorm(nrow(sens)), 4)
sens <- engine_csv(sens, "crossed_slope")
# repeated measures (year) in children in schools, slopes at both levels; child ids restart in
# every school, so the child factor is child:school
growth <- expand.grid(year = 0:3, child = 1:6, school = sprintf("s%02d", 1:25),
                      stringsAsFactors = FALSE)
growth$female <- as.integer((growth$child + match(growth$school, sprintf("s%02d", 1:25))) %% 2)
us <- MASS::mvrnorm(25, c(0, 0), matrix(c(1, 0.06, 0.06, 0.09), 2))
uc <- MASS::mvrnorm(150, c(0, 0), matrix(c(2.25, -0.225, -0.225, 0.25), 2))
si <- match(growth$school, sprintf("s%02d", 1:25)); ch <- (si - 1) * 6 + growth$child
growth$y <- round(10 + 1.5 * growth$year + 0.5 * growth$female + 0.2 * growth$year * growth$female +
                  us[si, 1] + us[si, 2] * growth$year + uc[ch, 1] + uc[ch, 2] * growth$year +
                  rnorm(nrow(growth)), 4)
growth <- engine_csv(growth, "growth")
# students in schools and neighbourhoods, partially crossed (each school draws on 4 neighbourhoods)
partial <- data.frame(school = sprintf("s%02d", rep(1:20, each = 15)))
sch <- rep(1:20, each = 15)
partial$hood <- sprintf("n%02d", (sch - 1) %% 15 + sample(0:3, 300, replace = TRUE) %% 15 + 1)
partial$x <- round(rnorm(300), 4)
partial$y <- round(2 + 0.5 * partial$x + rnorm(20, 0, 0.8)[sch] +
                   rnorm(18, 0, 0.5)[as.integer(factor(partial$hood))] + rnorm(300), 4)
partial <- engine_csv(partial, "partial")
# crossed subjects x items with no item variance: the first seed whose fit is singular
for (seed in 1:100) {
  set.seed(seed)
  sing <- expand.grid(subj = sprintf("s%02d", 1:30), item = sprintf("i%02d", 1:10),
                      stringsAsFactors = FALSE)
  sing$x <- round(rnorm(300), 4)
  sing$y <- round(1 + 0.3 * sing$x + rnorm(30)[match(sing$subj, sprintf("s%02d", 1:30))] +
                  rnorm(300), 4)
  if (isSingular(lmer(y ~ x + (1 | subj) + (1 | item), sing, control = ctrl))) break
}
sing <- engine_csv(sing, "singular")

fits$crossed_slope <- lmer(y ~ x + (1 + x | consumer) + (1 | product), sens, REML = TRUE,
                           control = ctrl)
fits$crossed_slope_ml <- lmer(y ~ x + (1 + x | consumer) + (1 | product), sens, REML = FALSE,
                              control = ctrl)
fits$growth <- lmer(y ~ year * female + (year | school) + (year | child:school), growth,
                    REML = TRUE, control = ctrl)
fits$partial <- lmer(y ~ x + (1 | school) + (1 | hood), partial, REML = TRUE, control = ctrl)
fits$singular <- lmer(y ~ x + (1 | subj) + (1 | item), sing, REML = TRUE, control = ctrl)

# a correlation of +1: six schools of a data set simulated by mixedtools (mt.simulate.schools)
corr_boundary <- read.csv(file.path("tests", "reference", "engine_corr_boundary.csv"),
                          colClasses = c(school = "character"))
fits$corr_boundary <- lmer(gpa ~ iq_c * funding + elite + (iq_c | school), corr_boundary,
                           REML = TRUE, control = ctrl)

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
# (1 | worker/machine) is (machine | worker) with a compound-symmetric covariance: nested, and
# anova() compares them (same fixed part, REML fits as they are)
m0_machines <- lmer(score ~ machine + (1 | worker/machine), machines, REML = TRUE,
                    control = ctrl)
lrt$compound_symmetry <- lrt_row(m0_machines, fits$machines, refit = FALSE)

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
