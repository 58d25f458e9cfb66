# Chapter 5's singular maximal fit: lme4 on the data of mt.stimuli.latin_square(n_subjects=24,
# n_items=16, sd_subject=0.5, sd_item=0.5, sd_residual=1.0, seed=11) (no condition slopes in
# the simulation), saved as anova_singular_maximal.csv.
# Run from tests/reference:  Rscript anova_singular_maximal.R
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})
d <- read.csv("anova_singular_maximal.csv")
fit <- lmer(y ~ cond + (1 + cond | subject) + (1 + cond | item), d, REML = TRUE)
vc <- as.data.frame(VarCorr(fit))
out <- list(
  lme4_version = as.character(packageVersion("lme4")),
  is_singular = isSingular(fit),
  sdcor = setNames(as.list(vc$sdcor), trimws(paste(vc$grp, ifelse(is.na(vc$var1), "", vc$var1),
                                           ifelse(is.na(vc$var2), "", vc$var2)))),
  fixef = as.list(fixef(fit)),
  reml_criterion = as.numeric(REMLcrit(fit))
)
write_json(out, "anova_singular_maximal.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
