# Reference values for mixedtools/ddf.py: lmerTest Satterthwaite and Kenward-Roger
# t and F tests, pbkrtest Kenward-Roger F tests and adjusted covariances, nlme::lme DF.
# Each case exports the data it uses.
# Run from the repository root: Rscript tests/reference/ddf_reference.R
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(nlme)
  library(jsonlite)
})

ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5))

coef_table <- function(m, ddf) {
  s <- summary(m, ddf = ddf)$coefficients
  list(term = rownames(s), estimate = unname(s[, "Estimate"]),
       std_error = unname(s[, "Std. Error"]), df = unname(s[, "df"]),
       t = unname(s[, "t value"]), p_value = unname(s[, "Pr(>|t|)"]))
}

anova_table <- function(m, ddf) {
  a <- anova(m, ddf = ddf, type = 3)
  list(term = rownames(a), num_df = unname(a[, "NumDF"]), den_df = unname(a[, "DenDF"]),
       F = unname(a[, "F value"]), p_value = unname(a[, "Pr(>F)"]))
}

contrast_tests <- function(m, Ls) {
  lapply(Ls, function(L) {
    L <- matrix(L, ncol = length(fixef(m)))
    sat <- contest(m, L, ddf = "Satterthwaite", joint = TRUE)
    kr_lt <- contest(m, L, ddf = "Kenward-Roger", joint = TRUE)
    kr <- KRmodcomp(m, L)$test
    list(L = L,
         satterthwaite = list(num_df = sat$NumDF, den_df = sat$DenDF, F = sat[["F value"]],
                              p_value = sat[["Pr(>F)"]]),
         kenward_roger = list(num_df = kr_lt$NumDF, den_df = kr_lt$DenDF,
                              F = kr_lt[["F value"]], p_value = kr_lt[["Pr(>F)"]]),
         pbkrtest = list(num_df = kr["Ftest", "ndf"], den_df = kr["Ftest", "ddf"],
                         F = kr["Ftest", "stat"], F_scaling = kr["Ftest", "F.scaling"],
                         p_value = kr["Ftest", "p.value"]))
  })
}

lmer_case <- function(formula, data, Ls = list(), lme_fixed = NULL, lme_random = NULL) {
  m <- lmer(formula, data, REML = TRUE, control = ctrl)
  vc <- as.data.frame(VarCorr(m))
  out <- list(
    formula = deparse(formula),
    loglik = as.numeric(logLik(m)),
    singular = isSingular(m),
    varcorr = list(grp = vc$grp, var1 = vc$var1, var2 = vc$var2, vcov = vc$vcov),
    satterthwaite = coef_table(m, "Satterthwaite"),
    kenward_roger = coef_table(m, "Kenward-Roger"),
    vcov_kr = unname(as.matrix(vcovAdj(m))),
    anova_satterthwaite = anova_table(m, "Satterthwaite"),
    anova_kenward_roger = anova_table(m, "Kenward-Roger"),
    contrasts = contrast_tests(m, Ls),
    satterthwaite_ml = coef_table(update(m, REML = FALSE), "Satterthwaite")
  )
  if (!is.null(lme_fixed)) {
    fm <- lme(lme_fixed, random = lme_random, data = data, method = "REML")
    tt <- summary(fm)$tTable
    out$nlme <- list(term = rownames(tt), df = unname(tt[, "DF"]))
  }
  out
}

to_list <- function(d) lapply(d, function(col) if (is.factor(col)) as.character(col) else col)

cases <- list()

# 1. sleepstudy: balanced random slope
sleep <- as.data.frame(lme4::sleepstudy)
sleep$Subject <- as.character(sleep$Subject)
cases$sleepstudy <- c(
  list(data = to_list(sleep)),
  lmer_case(Reaction ~ Days + (Days | Subject), sleep,
            Ls = list(rbind(c(0, 1)), diag(2)),
            lme_fixed = Reaction ~ Days, lme_random = ~ Days | Subject)
)

# 2. MASS::shoes in long form with rows 1 and 12 removed
shoes <- MASS::shoes
shoes_long <- data.frame(wear = c(shoes$A, shoes$B),
                         material = rep(c("A", "B"), each = 10),
                         boy = rep(sprintf("b%02d", 1:10), 2))[-c(1, 12), ]
cases$shoes <- c(
  list(data = to_list(shoes_long)),
  lmer_case(wear ~ material + (1 | boy), shoes_long,
            Ls = list(rbind(c(0, 1))),
            lme_fixed = wear ~ material, lme_random = ~ 1 | boy)
)

# 3. High School and Beyond: level-2 predictors and a cross-level interaction
hsb <- merge(as.data.frame(nlme::MathAchieve), as.data.frame(nlme::MathAchSchool)[, c("School", "Sector")],
             by = "School")
hsb <- data.frame(school = as.character(hsb$School), mathach = hsb$MathAch,
                  ses = hsb$SES, meanses = hsb$MEANSES,
                  sector = as.character(hsb$Sector))
hsb$cses <- hsb$ses - hsb$meanses
cases$hsb <- c(
  list(data = to_list(hsb)),
  lmer_case(mathach ~ meanses + sector * cses + (cses | school), hsb,
            Ls = list(rbind(c(0, 1, 0, 0, 0), c(0, 0, 1, 0, 0)),
                      rbind(c(0, 0, 0, 1, 0), c(0, 0, 0, 0, 1))),
            lme_fixed = mathach ~ meanses + sector * cses, lme_random = ~ cses | school)
)

# 4. unbalanced random-slope model: sleepstudy with 40 rows removed at random
set.seed(20240501)
sleep_unb <- sleep[sort(sample(nrow(sleep), nrow(sleep) - 40)), ]
cases$sleep_unbalanced <- c(
  list(data = to_list(sleep_unb)),
  lmer_case(Reaction ~ Days + (Days | Subject), sleep_unb,
            Ls = list(diag(2)),
            lme_fixed = Reaction ~ Days, lme_random = ~ Days | Subject)
)

# 4b. uncorrelated random intercept and slope on the same data
cases$sleep_uncorrelated <- c(
  list(data = to_list(sleep_unb)),
  lmer_case(Reaction ~ Days + (Days || Subject), sleep_unb, Ls = list(diag(2)))
)

# 5. nested random intercepts and a multi-df factor: Oats split plot, 5 rows removed
oats <- as.data.frame(nlme::Oats)
oats <- data.frame(block = as.character(oats$Block), variety = as.character(oats$Variety),
                   nitro = oats$nitro, yield = oats$yield)[-c(3, 17, 30, 44, 61), ]
cases$oats <- c(
  list(data = to_list(oats)),
  lmer_case(yield ~ variety + nitro + (1 | block / variety), oats,
            Ls = list(rbind(c(0, 1, 0, 0), c(0, 0, 1, 0)), rbind(c(0, 0, 0, 1))),
            lme_fixed = yield ~ variety + nitro, lme_random = ~ 1 | block / variety)
)

# 6. boundary: the between-group variance is estimated at zero
set.seed(7)
n_g <- 12
sizes <- rep(c(3, 5, 8), 4)
bnd <- data.frame(g = sprintf("g%02d", rep(seq_len(n_g), sizes)))
bnd$x <- round(rnorm(nrow(bnd)), 3)
bnd$w <- rep(rep(c(0, 1), 6), sizes)
bnd$y <- round(1 + 0.5 * bnd$x + 0.3 * bnd$w + rnorm(nrow(bnd)), 3)
cases$boundary <- c(
  list(data = to_list(bnd)),
  lmer_case(y ~ x + w + (1 | g), bnd, Ls = list(rbind(c(0, 1, 0), c(0, 0, 1))))
)
stopifnot(cases$boundary$singular)

write_json(cases, "tests/reference/ddf_reference.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
