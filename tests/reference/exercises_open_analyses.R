# Reference values for the open-analysis exercises of chapters 1-3
# (penicillin, sleepstudy, HSB; machines for the model-building chapter).
#
# Run from the repository root:
#   Rscript tests/reference/exercises_open_analyses.R
# Writes tests/reference/exercises_open_analyses.json (read by tests/test_claims_exercises.py).
# Data: the CSV files bundled with mixedtools (mixedtools/data/), so R and Python fit the same rows.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(sandwich)
  library(jsonlite)
})

out <- list(versions = list(
  R = paste(R.version$major, R.version$minor, sep = "."),
  lme4 = as.character(packageVersion("lme4")),
  lmerTest = as.character(packageVersion("lmerTest"))
))
vc <- function(fit) {
  v <- as.data.frame(VarCorr(fit))
  list(grp = v$grp, var1 = ifelse(is.na(v$var1), "", v$var1), vcov = v$vcov)
}

# ---- chapter 1: penicillin (crossed plate and sample) -------------------------------------
penicillin <- read.csv("mixedtools/data/penicillin.csv")
p_fit <- lmer(diameter ~ 1 + (1 | plate) + (1 | sample), penicillin)
p_aov <- anova(lm(diameter ~ factor(plate) + factor(sample), penicillin))
out$penicillin <- list(varcorr = vc(p_fit), mean_sq = unname(p_aov[["Mean Sq"]]),
                       df = unname(p_aov$Df))

# ---- chapter 3b: machines -------------------------------------------------------------------
machines <- read.csv("mixedtools/data/machines.csv", colClasses = c(worker = "character"))
m_fit <- lmer(score ~ machine + (1 | worker) + (1 | worker:machine), machines)
m_aov <- anova(m_fit, ddf = "Satterthwaite")
out$machines <- list(varcorr = vc(m_fit), F = m_aov[["F value"]], num_df = m_aov$NumDF,
                     den_df = m_aov$DenDF, p_value = m_aov[["Pr(>F)"]])

# ---- chapter 2: sleepstudy, OLS vs cluster-robust vs mixed ---------------------------------
sleep <- read.csv("mixedtools/data/sleepstudy.csv", colClasses = c(subject = "character"))
ols <- lm(reaction ~ days, sleep)
s_fit <- lmer(reaction ~ days + (days | subject), sleep)
s_tab <- summary(s_fit)$coefficients
# CR1 with the small-sample factor G/(G-1) * (N-1)/(N-k), as statsmodels' cluster default
cl <- vcovCL(ols, cluster = ~subject, type = "HC1")
out$sleepstudy <- list(
  slope = unname(coef(ols)["days"]),
  se_ols = unname(sqrt(diag(vcov(ols)))["days"] |> unname()),
  se_cluster = unname(sqrt(diag(cl))[2]),
  se_mixed = unname(s_tab["days", "Std. Error"]),
  df_mixed = unname(s_tab["days", "df"])
)

# ---- chapter 3: HSB minority gap -----------------------------------------------------------
hsb <- read.csv("mixedtools/data/hsb.csv", colClasses = c(school = "character"))
hsb$cses <- hsb$ses - ave(hsb$ses, hsb$school)
h_ri <- lmer(mathach ~ minority * sector + cses + meanses + (1 | school), hsb)
h_rs <- lmer(mathach ~ minority * sector + cses + meanses + (minority | school), hsb)
h_tab <- summary(h_rs)$coefficients
lr <- 2 * (as.numeric(logLik(h_rs)) - as.numeric(logLik(h_ri)))
out$hsb_minority <- list(
  terms = rownames(h_tab), estimate = unname(h_tab[, "Estimate"]),
  std_error = unname(h_tab[, "Std. Error"]), df = unname(h_tab[, "df"]),
  varcorr = vc(h_rs), lrt_chisq = lr,
  n_schools_without_minority = sum(tapply(hsb$minority, hsb$school, max) == 0)
)

write_json(out, "tests/reference/exercises_open_analyses.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
