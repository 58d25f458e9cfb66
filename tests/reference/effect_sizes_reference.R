# Reference values for the ANOVA effect sizes of mt.anova.factorial and mt.anova.rm.
#
# Run from the repository root:
#   Rscript tests/reference/effect_sizes_reference.R
# Writes tests/reference/effect_sizes_reference.json (read by tests/test_effect_sizes.py).
#
# Data: carData::Moore (unbalanced 2 x 3 between-subjects design; stored in the JSON) and
# afex::obk.long (bundled as "obrien_kaiser": treatment x gender between, phase x hour within).
# ges: afex::aov_car(..., anova_table = list(es = c("ges", "pes"))), with and without an observed
# (measured) factor. eta2, partial eta2, omega2 and partial omega2: the effectsize package and,
# for the between-subjects design, the formulas written out below.
suppressPackageStartupMessages({
  library(car)
  library(afex)
  library(effectsize)
  library(jsonlite)
})
options(contrasts = c("contr.sum", "contr.poly"))
out <- list(versions = list(
  R = paste(R.version$major, R.version$minor, sep = "."),
  afex = as.character(packageVersion("afex")),
  effectsize = as.character(packageVersion("effectsize"))
))

es_cols <- function(tab, col) setNames(as.list(tab[[col]]), tab$Parameter)

# ---- between subjects: Moore, type 3 ---------------------------------------------------------
moore <- data.frame(
  id = seq_len(nrow(carData::Moore)),
  conformity = carData::Moore$conformity,
  fcategory = as.character(carData::Moore$fcategory),
  partner_status = as.character(carData::Moore$partner.status)
)
a <- aov_car(conformity ~ partner_status * fcategory + Error(id), data = moore,
             anova_table = list(es = c("ges", "pes")))
a_obs <- aov_car(conformity ~ partner_status * fcategory + Error(id), data = moore,
                 observed = "fcategory", anova_table = list(es = c("ges", "pes")))
tab <- car::Anova(lm(conformity ~ partner_status * fcategory, data = moore), type = 3)
tab <- as.data.frame(tab)[-1, ]  # drop the intercept
terms <- rownames(tab)[rownames(tab) != "Residuals"]
ss <- tab[terms, "Sum Sq"]; df <- tab[terms, "Df"]
sse <- tab["Residuals", "Sum Sq"]; dfe <- tab["Residuals", "Df"]; mse <- sse / dfe
N <- nrow(moore)
by_formula <- list(
  term = terms,
  eta2 = ss / (sum(ss) + sse),
  eta2_partial = ss / (ss + sse),
  omega2 = (ss - df * mse) / (sum(ss) + sse + mse),
  omega2_partial = (ss - df * mse) / (ss + (N - df) * mse)
)
lmfit <- lm(conformity ~ partner_status * fcategory, data = moore)
es_pkg <- list(
  eta2 = eta_squared(car::Anova(lmfit, type = 3), partial = FALSE)$Eta2,
  eta2_partial = eta_squared(car::Anova(lmfit, type = 3), partial = TRUE)$Eta2_partial,
  omega2 = omega_squared(car::Anova(lmfit, type = 3), partial = FALSE)$Omega2,
  omega2_partial = omega_squared(car::Anova(lmfit, type = 3), partial = TRUE)$Omega2_partial,
  term = eta_squared(car::Anova(lmfit, type = 3), partial = FALSE)$Parameter
)
out$moore <- list(
  data = moore,
  terms = rownames(nice(a)),
  ges = unname(a$anova_table$ges),
  ges_observed_fcategory = unname(a_obs$anova_table$ges),
  pes = unname(a$anova_table$pes),
  afex_terms = rownames(a$anova_table),
  by_formula = by_formula,
  effectsize = es_pkg
)

# ---- split plot: obk.long ---------------------------------------------------------------------
obk <- read.csv("mixedtools/data/obrien_kaiser.csv", stringsAsFactors = TRUE)
obk$id <- factor(obk$id)
b <- aov_car(value ~ treatment * gender + Error(id / (phase * hour)), data = obk,
             anova_table = list(es = c("ges", "pes"), correction = "none"))
b_obs <- aov_car(value ~ treatment * gender + Error(id / (phase * hour)), data = obk,
                 observed = "gender",
                 anova_table = list(es = c("ges", "pes"), correction = "none"))
out$obk <- list(
  terms = rownames(b$anova_table),
  ges = unname(b$anova_table$ges),
  ges_observed_gender = unname(b_obs$anova_table$ges),
  pes = unname(b$anova_table$pes),
  effectsize = list(
    term = eta_squared(b, partial = FALSE)$Parameter,
    eta2 = eta_squared(b, partial = FALSE)$Eta2,
    eta2_partial = eta_squared(b, partial = TRUE)$Eta2_partial,
    eta2_generalized = eta_squared(b, generalized = TRUE)$Eta2_generalized,
    omega2_partial = omega_squared(b, partial = TRUE)$Omega2_partial,
    omega2 = omega_squared(b, partial = FALSE)$Omega2
  )
)

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, dataframe = "columns"),
           "tests/reference/effect_sizes_reference.json")
