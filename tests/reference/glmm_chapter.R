# Reference values for chapter 8 (book/08_glmm.ipynb, tests/test_claims_glmm.py): lme4::glmer,
# performance (ICC, R2, overdispersion) and geepack (GEE, exchangeable working correlation) on the
# bundled contraception and grouseticks data.
#
# Run from the repository root:
#   Rscript tests/reference/glmm_chapter.R
# Writes tests/reference/glmm_chapter.json. Text columns become factors with their levels in
# code-point order, as pandas sorts them (as tests/reference/glmer_reference.R does).
suppressPackageStartupMessages({
  library(lme4)
  library(performance)
  library(geepack)
  library(jsonlite)
})

load_set <- function(name, text_cols) {
  df <- read.csv(file.path("mixedtools", "data", paste0(name, ".csv")), stringsAsFactors = FALSE)
  for (col in names(df)) {
    if (is.character(df[[col]]) || col %in% text_cols) {
      x <- as.character(df[[col]])
      df[[col]] <- factor(x, levels = sort(unique(x), method = "radix"))
    }
  }
  df
}

contra <- load_set("contraception", c("woman", "district", "livch"))
contra$y <- as.integer(contra$use == "Y")
grouse <- load_set("grouseticks", c("index", "brood", "year", "location"))
grouse$c_height <- (grouse$height - mean(grouse$height)) / 100

null <- glmer(use ~ 1 + (1 | district), contra, family = binomial)
full <- glmer(use ~ age + I(age^2) + urban + livch + (1 | district), contra, family = binomial)
lpm_null <- lmer(y ~ 1 + (1 | district), contra)
vc_lpm <- as.data.frame(VarCorr(lpm_null))$vcov
# GEE needs the rows of a cluster together (they are: the data are sorted by district)
gee <- geeglm(y ~ age + I(age^2) + urban + livch, id = district, data = contra,
              family = binomial, corstr = "exchangeable")

pois <- glmer(ticks ~ year + c_height + (1 | brood) + (1 | location), grouse, family = poisson)
olre <- glmer(ticks ~ year + c_height + (1 | brood) + (1 | location) + (1 | index), grouse,
              family = poisson)
od <- check_overdispersion(pois)

out <- list(
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  geepack_version = as.character(packageVersion("geepack")),
  contraception_null = list(
    tau00 = as.data.frame(VarCorr(null))$vcov[1],
    icc = unname(icc(null)$ICC_adjusted),
    loglik = as.numeric(logLik(null))
  ),
  contraception_full = list(
    fixef = as.list(fixef(full)),
    tau00 = as.data.frame(VarCorr(full))$vcov[1],
    r2_marginal = unname(r2_nakagawa(full)$R2_marginal),
    r2_conditional = unname(r2_nakagawa(full)$R2_conditional)
  ),
  contraception_lpm_icc = vc_lpm[1] / sum(vc_lpm),
  contraception_gee = list(
    coef = as.list(coef(gee)),
    se = as.list(summary(gee)$coefficients[, "Std.err"]),
    alpha = unname(summary(gee)$corr[1, "Estimate"])
  ),
  grouseticks = list(
    poisson_ratio = unname(od$dispersion_ratio),
    poisson_chisq = unname(od$chisq_statistic),
    olre_fixef = as.list(fixef(olre)),
    olre_vcov = setNames(as.list(as.data.frame(VarCorr(olre))$vcov),
                         as.data.frame(VarCorr(olre))$grp),
    loglik_poisson = as.numeric(logLik(pois)),
    loglik_olre = as.numeric(logLik(olre))
  )
)
write_json(out, "tests/reference/glmm_chapter.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
