# Reference values for mixedtools.anova: contrasts(), factorial(), rm() and mauchly().
#
# Run from the repository root:
#   Rscript tests/reference/anova_factorial_rm.R
# Writes tests/reference/anova_factorial_rm.json (read by tests/test_anova_factorial_rm.py).
#
# Data: carData::Moore (unbalanced 2 x 3 between-subjects design), afex::obk.long (split-plot:
# treatment x gender between, unbalanced; phase x hour within), afex::md_12.1 (angle x noise
# within), lme4::sleepstudy (days as a 10-level within factor; far from spherical). obk.long and
# sleepstudy are bundled with mixedtools ("obrien_kaiser", "sleepstudy"); Moore and md_12.1 are
# stored in the JSON.
suppressPackageStartupMessages({
  library(car)
  library(afex)
  library(lme4)
  library(jsonlite)
})

out <- list(versions = list(
  R = paste(R.version$major, R.version$minor, sep = "."),
  car = as.character(packageVersion("car")),
  afex = as.character(packageVersion("afex"))
))

# ---- contrasts -------------------------------------------------------------------------------
mat <- function(m) unname(lapply(seq_len(nrow(m)), function(i) unname(m[i, ])))
out$contrasts <- list()
for (k in c(2, 3, 4, 5)) {
  out$contrasts[[as.character(k)]] <- list(
    treatment = mat(contr.treatment(k)),
    sum = mat(contr.sum(k)),
    helmert = mat(contr.helmert(k)),
    poly = mat(contr.poly(k))
  )
}

# ---- factorial: type 1 (anova(lm)), type 2 and 3 (car::Anova, sum-to-zero contrasts) ---------
table_of <- function(tab) {
  tab <- as.data.frame(tab)
  names(tab)[names(tab) == "Sum Sq"] <- "sum_sq"
  names(tab)[names(tab) == "Df"] <- "df"
  names(tab)[names(tab) == "F value"] <- "F"
  names(tab)[names(tab) == "Pr(>F)"] <- "p_value"
  tab <- tab[rownames(tab) != "(Intercept)", c("sum_sq", "df", "F", "p_value")]
  rownames(tab)[rownames(tab) == "Residuals"] <- "Residual"
  list(terms = rownames(tab), sum_sq = tab$sum_sq, df = tab$df, F = tab$F, p_value = tab$p_value)
}

factorial_case <- function(data, formula) {
  op <- options(contrasts = c("contr.sum", "contr.poly"))
  on.exit(options(op))
  fit <- lm(formula, data = data)
  list(
    type1 = table_of(anova(fit)),
    type2 = table_of(Anova(fit, type = 2)),
    type3 = table_of(Anova(fit, type = 3))
  )
}

moore <- data.frame(
  conformity = carData::Moore$conformity,
  fcategory = as.character(carData::Moore$fcategory),
  partner_status = as.character(carData::Moore$partner.status)
)
obk_means <- aggregate(value ~ id + treatment + gender, data = obk.long, FUN = mean)
obk_means$treatment <- as.character(obk_means$treatment)
obk_means$gender <- as.character(obk_means$gender)

out$factorial <- list(
  moore = c(
    list(data = moore, dv = "conformity", between = c("partner_status", "fcategory")),
    factorial_case(moore, conformity ~ partner_status * fcategory)
  ),
  obk_means = c(
    list(data = obk_means[, c("id", "treatment", "gender", "value")], dv = "value",
         between = c("treatment", "gender")),
    factorial_case(obk_means, value ~ treatment * gender)
  )
)
# Type III does not depend on the coding the user chose: with treatment coding car::Anova type 3
# gives other (wrong-question) numbers; we record them to show the difference in a test.
fit_treat <- lm(conformity ~ partner_status * fcategory, data = moore)
out$factorial$moore$type3_treatment_coding <- table_of(Anova(fit_treat, type = 3))

# ---- repeated measures: afex::aov_car (type 3) and car's univariate summary ------------------
rm_case <- function(data, formula, dv, subject, within, between = NULL, type = 3) {
  fit <- suppressMessages(suppressWarnings(aov_car(formula, data = data, type = type)))
  s <- suppressWarnings(summary(fit$Anova, multivariate = FALSE))
  uni <- as.data.frame(unclass(s$univariate.tests))
  uni <- uni[rownames(uni) != "(Intercept)", , drop = FALSE]
  res <- list(
    dv = dv, subject = subject, within = within, between = between, ss_type = type,
    terms = rownames(uni),
    sum_sq = uni[["Sum Sq"]], num_df = uni[["num Df"]], error_ss = uni[["Error SS"]],
    den_df = uni[["den Df"]], F = uni[["F value"]], p_value = uni[["Pr(>F)"]]
  )
  adj <- s$pval.adjustments
  if (!is.null(adj) && length(adj) > 0) {
    adj <- as.data.frame(unclass(adj))
    res$adjusted <- list(
      terms = rownames(adj), eps_gg = adj[["GG eps"]], p_gg = adj[["Pr(>F[GG])"]],
      eps_hf = adj[["HF eps"]], p_hf = adj[["Pr(>F[HF])"]]
    )
    sph <- as.data.frame(unclass(s$sphericity.tests))
    res$mauchly <- list(terms = rownames(sph), W = sph[["Test statistic"]],
                        p_value_car = sph[["p-value"]])
  }
  # afex's own table (GG correction by default) as a second check of F and p.
  nice <- suppressMessages(anova(fit, correction = "none", es = "pes"))
  res$afex <- list(terms = rownames(nice), F = nice$F, p_value = nice[["Pr(>F)"]],
                   pes = nice$pes)
  res
}

obk <- data.frame(
  id = as.character(obk.long$id), treatment = as.character(obk.long$treatment),
  gender = as.character(obk.long$gender), phase = as.character(obk.long$phase),
  hour = as.character(obk.long$hour), value = obk.long$value
)
md <- data.frame(id = as.character(md_12.1$id), noise = as.character(md_12.1$noise),
                 angle = as.character(md_12.1$angle), rt = as.numeric(md_12.1$rt))
sleep <- data.frame(subject = as.character(sleepstudy$Subject),
                    days = as.character(sleepstudy$Days), reaction = sleepstudy$Reaction)

out$rm <- list(
  obk_split_plot = rm_case(obk, value ~ treatment * gender + Error(id / (phase * hour)),
                           "value", "id", c("phase", "hour"), c("treatment", "gender")),
  obk_split_plot_type2 = rm_case(obk, value ~ treatment * gender + Error(id / (phase * hour)),
                                 "value", "id", c("phase", "hour"), c("treatment", "gender"),
                                 type = 2),
  obk_within = rm_case(obk, value ~ Error(id / (phase * hour)), "value", "id",
                       c("phase", "hour")),
  md_12_1 = c(list(data = md),
              rm_case(md, rt ~ Error(id / (angle * noise)), "rt", "id", c("angle", "noise"))),
  sleepstudy = rm_case(sleep, reaction ~ Error(subject / days), "reaction", "subject", "days"),
  # one between factor and one within factor with 5 levels (aov_ez("id", "value", obk,
  # between = "treatment", within = "hour"); phase is averaged over): Mauchly's rows for hour
  # and treatment:hour, as summary(fit)$sphericity.tests lists them
  obk_treatment_hour = rm_case(obk, value ~ treatment + Error(id / hour), "value", "id", "hour",
                               "treatment")
)

# Mauchly's test as stats::mauchly.test computes it (chi-square statistic, df, p), for the
# one-factor sleepstudy design: wide matrix, within-subject contrasts orthogonal to the mean.
wide <- reshape(sleep, idvar = "subject", timevar = "days", direction = "wide")
Y <- as.matrix(wide[, -1])
mlmfit <- lm(Y ~ 1)
mt_sleep <- mauchly.test(mlmfit, X = ~1)
n <- nrow(Y) - 1
p <- ncol(Y) - 1
rho <- 1 - (2 * p^2 + p + 2) / (6 * p * n)
out$mauchly_stats <- list(
  sleepstudy = list(W = unname(mt_sleep$statistic), p_value = mt_sleep$p.value,
                    chi2 = -n * rho * log(unname(mt_sleep$statistic)), df = p * (p + 1) / 2 - 1)
)

write_json(out, file.path("tests", "reference", "anova_factorial_rm.json"),
           digits = NA, auto_unbox = TRUE, pretty = TRUE, dataframe = "columns")
cat("Wrote tests/reference/anova_factorial_rm.json\n")
