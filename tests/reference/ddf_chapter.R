# Reference values for the degrees-of-freedom chapter (claim D3): lmerTest's Satterthwaite
# and Kenward-Roger df for a level-2 predictor that get far below the number of groups.
#   nested:  420 groups ("cities") in 25 regions ("provinces"); w varies between regions
#            only; y ~ x + w + (1 | region/group).
#   unequal: 15 groups of 150 with w = 1, 405 groups of 2 with w = 0 (a rare level-2
#            dummy carried by a few large groups); y ~ x + w + (1 | group).
# The data were simulated with mixedtools.dfdata (three_level(seed=0) and
# two_level([150] * 15 + [2] * 405, w, tau00=0.1, seed=0)) and rounded to 6 decimals.
# Run from the repository root: Rscript tests/reference/ddf_chapter.R
suppressPackageStartupMessages({
  library(lmerTest)
  library(jsonlite)
})

coefs <- function(m, ddf) {
  s <- summary(m, ddf = ddf)$coefficients
  list(term = rownames(s), estimate = unname(s[, "Estimate"]),
       std_error = unname(s[, "Std. Error"]), df = unname(s[, "df"]),
       t = unname(s[, "t value"]))
}

case <- function(file, formula) {
  d <- read.csv(file.path("tests", "reference", file))
  m <- lmer(formula, data = d, REML = TRUE,
            control = lmerControl(optimizer = "bobyqa",
                                  optCtrl = list(maxfun = 1e5)))
  vc <- as.data.frame(VarCorr(m))
  list(
    file = file,
    formula = deparse(formula),
    n_obs = nrow(d),
    n_groups = length(unique(d$group)),
    varcorr = list(grp = vc$grp, vcov = vc$vcov),
    satterthwaite = coefs(m, "Satterthwaite"),
    kenward_roger = coefs(m, "Kenward-Roger")
  )
}

out <- list(
  versions = list(R = R.version.string,
                  lme4 = as.character(packageVersion("lme4")),
                  lmerTest = as.character(packageVersion("lmerTest")),
                  pbkrtest = as.character(packageVersion("pbkrtest"))),
  nested = case("ddf_chapter_nested.csv", y ~ x + w + (1 | region / group)),
  unequal = case("ddf_chapter_unequal.csv", y ~ x + w + (1 | group))
)
write_json(out, file.path("tests", "reference", "ddf_chapter.json"),
           digits = NA, auto_unbox = TRUE, pretty = TRUE)
