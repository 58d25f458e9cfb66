# One-way ANOVA and variance-component references for tests/test_anova.py.
#
# Run from the repository root (after mixedtools/data/make_datasets.R):
#   Rscript tests/reference/anova_reference.R
# Writes tests/reference/anova_reference.json.
#
# For each case: the aov table (summary(aov(dv ~ group))), the ANOVA (moment) estimators computed
# here from the aov mean squares, and lme4's REML estimates of the same random-intercept model.
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

read_set <- function(name, group) {
  data <- read.csv(file.path("mixedtools", "data", paste0(name, ".csv")))
  data[[group]] <- as.character(data[[group]])
  data
}

reference_case <- function(data, dv, group, description, rows) {
  data[[group]] <- factor(data[[group]])
  table <- summary(aov(reformulate(group, dv), data = data))[[1]]
  msa <- table[1, "Mean Sq"]
  mse <- table[2, "Mean Sq"]
  n_i <- as.vector(table(data[[group]]))
  n_obs <- sum(n_i)
  n_groups <- length(n_i)
  n0 <- (n_obs - sum(n_i^2) / n_obs) / (n_groups - 1)
  between_raw <- (msa - mse) / n0
  between <- max(between_raw, 0)

  fit <- lmer(reformulate(sprintf("(1 | %s)", group), dv), data = data, REML = TRUE,
              control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12)))
  vc <- as.data.frame(VarCorr(fit))
  reml_between <- vc$vcov[vc$grp == group]
  reml_within <- vc$vcov[vc$grp == "Residual"]

  list(
    description = description,
    dv = dv,
    group = group,
    rows = rows,
    anova = list(
      df = unname(table[, "Df"]),
      sum_sq = unname(table[, "Sum Sq"]),
      mean_sq = unname(table[, "Mean Sq"]),
      F = unname(table[1, "F value"]),
      p_value = unname(table[1, "Pr(>F)"])
    ),
    moments = list(
      n_obs = n_obs,
      n_groups = n_groups,
      balanced = length(unique(n_i)) == 1,
      n0 = n0,
      sigma2_between_raw = between_raw,
      sigma2_between = between,
      sigma2_within = mse,
      icc = between / (between + mse)
    ),
    reml = list(
      sigma2_between = reml_between,
      sigma2_within = reml_within,
      icc = reml_between / (reml_between + reml_within),
      singular = isSingular(fit)
    )
  )
}

dyestuff <- read_set("dyestuff", "batch")
dyestuff2 <- read_set("dyestuff2", "batch")
hsb <- read_set("hsb", "school")

# Unbalanced cases: dyestuff with a few rows removed, and the first 12 schools of hsb (file order).
dropped_rows <- c(2L, 9L, 10L, 23L) # 1-based, as in R
all_rows <- structure(list(), names = character(0)) # written as {} in JSON
first_schools <- unique(hsb$school)[1:12]

reference <- list(
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = packageDescription("lme4")$Version),
  dyestuff = reference_case(dyestuff, "yield", "batch",
                            "lme4 Dyestuff, balanced 6 x 5", all_rows),
  dyestuff2 = reference_case(dyestuff2, "yield", "batch",
                             "lme4 Dyestuff2, balanced 6 x 5, MSA < MSE", all_rows),
  dyestuff_unbalanced = reference_case(
    dyestuff[-dropped_rows, ], "yield", "batch",
    "lme4 Dyestuff without rows 2, 9, 10 and 23 (1-based)",
    list(dropped_rows_zero_based = dropped_rows - 1L)
  ),
  hsb_12_schools = reference_case(
    hsb[hsb$school %in% first_schools, ], "mathach", "school",
    "HSB (Raudenbush and Bryk 2002), the first 12 schools in file order",
    list(schools = first_schools)
  )
)

write_json(reference, file.path("tests", "reference", "anova_reference.json"),
           digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("Wrote tests/reference/anova_reference.json\n")
