# Reference values for the formula front-end (mixedtools/lmm/rformula.py): R's formula idioms
# fitted by lme4::lmer on public data sets.
#
# Run from the repository root:
#   Rscript tests/reference/formula_idioms.R
# Writes tests/reference/formula_idioms.json (read by tests/test_formula_idioms.py) and the data
# the tests need, exported unchanged from R's packages:
#   formula_idioms_pixel.csv       nlme::Pixel (day as integers; Dog, Side factors)
#   formula_idioms_sleepstudy.csv  lme4::sleepstudy
#   formula_idioms_orthodont.csv   nlme::Orthodont (Sex has the levels Male, Female in this order)
#   formula_idioms_chickweight.csv datasets::ChickWeight (Diet levels 1-4; Chick as plain labels)
#   formula_idioms_cake.csv        lme4::cake (temperature an ordered factor, 175 < ... < 225)
# For each fit the JSON holds the fixed effects and their standard errors (named as R names the
# columns), the log-likelihood (REML) and the term labels.
suppressPackageStartupMessages({
  library(lme4)
  library(nlme, include.only = character(0))
  library(splines)
  library(metafor)
  library(plm)
  library(jsonlite)
})

here <- "tests/reference"
pixel <- as.data.frame(nlme::Pixel)
pixel$day <- as.integer(as.character(pixel$day))
pixel$Dog <- factor(as.character(pixel$Dog))
pixel$Side <- factor(as.character(pixel$Side))
pixel <- pixel[, c("Dog", "Side", "day", "pixel")]
sleep <- as.data.frame(lme4::sleepstudy)
ortho <- as.data.frame(nlme::Orthodont)
ortho$Subject <- factor(as.character(ortho$Subject))
ortho <- ortho[, c("distance", "age", "Subject", "Sex")]
chick <- as.data.frame(datasets::ChickWeight)
chick$Chick <- factor(as.character(chick$Chick))
chick <- chick[, c("weight", "Time", "Chick", "Diet")]
cake <- as.data.frame(lme4::cake)

write.csv(pixel, file.path(here, "formula_idioms_pixel.csv"), row.names = FALSE)
write.csv(sleep, file.path(here, "formula_idioms_sleepstudy.csv"), row.names = FALSE)
write.csv(ortho, file.path(here, "formula_idioms_orthodont.csv"), row.names = FALSE)
write.csv(chick, file.path(here, "formula_idioms_chickweight.csv"), row.names = FALSE)
write.csv(cake, file.path(here, "formula_idioms_cake.csv"), row.names = FALSE)
data_sets <- list(pixel = pixel, sleepstudy = sleep, orthodont = ortho, chickweight = chick,
                  cake = cake)

# name -> list(data, formula as R reads it); the tests fit the same formula text unless noted
cases <- list(
  pixel_I_power = list("pixel", pixel ~ day + I(day^2) + (day | Dog) + (1 | Side:Dog)),
  pixel_poly = list("pixel", pixel ~ poly(day, 2) + (day | Dog) + (1 | Side:Dog)),
  pixel_poly_raw = list("pixel", pixel ~ poly(day, 2, raw = TRUE) + (day | Dog) + (1 | Side:Dog)),
  pixel_caret_main = list("pixel", pixel ~ day^2 + (day | Dog) + (1 | Side:Dog)),
  sleep_log_response = list("sleepstudy", log(Reaction) ~ Days + (Days | Subject)),
  sleep_scale = list("sleepstudy", Reaction ~ scale(Days) + (1 | Subject)),
  sleep_sqrt_exp = list("sleepstudy", sqrt(Reaction) ~ exp(Days / 10) + (1 | Subject)),
  sleep_logs = list("sleepstudy", log10(Reaction) ~ log2(Days + 1) + (1 | Subject)),
  sleep_log1p = list("sleepstudy", Reaction ~ log1p(Days) + (Days | Subject)),
  sleep_abs = list("sleepstudy", Reaction ~ abs(Days - 4.5) + (1 | Subject)),
  sleep_factor = list("sleepstudy", Reaction ~ factor(Days) + (1 | Subject)),
  sleep_as_numeric = list("sleepstudy", Reaction ~ as.numeric(Days) + (1 | Subject)),
  sleep_offset = list("sleepstudy", Reaction ~ Days + offset(log(Days + 1)) + (1 | Subject)),
  sleep_inverse = list("sleepstudy", Reaction ~ I(1 / (Days + 1)) + (1 | Subject)),
  sleep_no_intercept = list("sleepstudy", Reaction ~ 0 + factor(Days) + (1 | Subject)),
  sleep_minus_one = list("sleepstudy", Reaction ~ Days - 1 + (Days | Subject)),
  ortho_level_order = list("orthodont", distance ~ age + Sex + (1 | Subject)),
  ortho_relevel = list("orthodont", distance ~ age + relevel(Sex, ref = "Female") + (1 | Subject)),
  ortho_in = list("orthodont", distance ~ age %in% Sex + (1 | Subject)),
  ortho_nest = list("orthodont", distance ~ Sex / age + (1 | Subject)),
  ortho_x_plus_xz = list("orthodont", distance ~ age + age:Sex + (1 | Subject)),
  ortho_power_minus = list("orthodont",
    distance ~ (age + Sex + I(age^2))^2 - Sex:I(age^2) + (1 | Subject)),
  # R's lme4 reads '.' as every column but the response, grouping factor included (a fixed
  # Subject makes the random intercept unidentifiable); mixedtools leaves grouping factors out,
  # so the reference is the explicit formula
  ortho_dot = list("orthodont", distance ~ age + Sex + (1 | Subject)),
  chick_poly3 = list("chickweight", log(weight) ~ poly(Time, 3) + Diet + (1 | Chick)),
  chick_bs = list("chickweight", weight ~ bs(Time, df = 4) + (Time | Chick)),
  chick_interaction = list("chickweight", weight ~ Time * Diet + (Time | Chick)),
  cake_ordered = list("cake", angle ~ recipe + temperature + (1 | recipe:replicate)),
  cake_ordered_interaction = list("cake", angle ~ recipe * temperature + (1 | recipe:replicate)),
  # scale() in the random part; and with missing responses: R's model frame evaluates scale() on
  # every row before dropping the incomplete ones
  sleep_scale_random = list("sleepstudy", Reaction ~ scale(Days) + (scale(Days) | Subject)),
  sleep_na_scale = list("sleepstudy_na", Reaction ~ scale(Days) + (1 | Subject))
)
# sleepstudy with the responses of the first 7 rows missing (the tests set the same rows to NaN)
sleep_na <- sleep
sleep_na$Reaction[1:7] <- NA
data_sets$sleepstudy_na <- sleep_na

out <- list(
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4"))),
  fits = list()
)
for (name in names(cases)) {
  case <- cases[[name]]
  fit <- lmer(case[[2]], data = data_sets[[case[[1]]]], REML = TRUE,
              control = lmerControl(optimizer = "bobyqa",
                                    optCtrl = list(maxfun = 1e5)))
  fe <- fixef(fit)
  se <- sqrt(diag(as.matrix(vcov(fit))))
  out$fits[[name]] <- list(
    data = case[[1]],
    formula = paste(deparse(case[[2]], width.cutoff = 500), collapse = ""),
    names = I(names(fe)),
    fixef = I(unname(fe)),
    se = I(unname(se)),
    loglik = as.numeric(logLik(fit)),
    terms = I(attr(terms(nobars(case[[2]])), "term.labels"))
  )
}
# R's poly() and predict() on new data (the fitted coefficients kept)
x <- chick$Time
p <- poly(x, 3)
out$poly <- list(x = x, columns = unname(lapply(1:3, function(k) p[, k])),
                 new_x = c(-1, 0.5, 7, 30),
                 new_columns = unname(lapply(1:3, function(k)
                   predict(p, c(-1, 0.5, 7, 30))[, k])))
out$contr_poly <- lapply(2:7, function(n) unname(lapply(seq_len(n - 1),
                                                        function(k) contr.poly(n)[, k])))
out$scale <- list(x = sleep$Days, value = as.numeric(scale(sleep$Days)))
# the same front-end reads mods= of mt.meta.rma and the formulas of mt.panel.random_effects
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
meta <- rma(yi, vi, mods = ~ log(ablat) + relevel(factor(alloc), ref = "random") + I(year^2),
            data = bcg, method = "REML")
out$meta <- list(names = I(rownames(meta$beta)), beta = I(unname(meta$beta[, 1])),
                 se = I(unname(meta$se)), tau2 = meta$tau2)
data("Grunfeld", package = "plm")
pre <- plm(log(inv) ~ log(value) + poly(capital, 2), data = Grunfeld,
           index = c("firm", "year"), model = "random")
out$panel <- list(names = I(names(coef(pre))), coef = I(unname(coef(pre))),
                  se = I(unname(sqrt(diag(vcov(pre))))))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(here, "formula_idioms.json"))
