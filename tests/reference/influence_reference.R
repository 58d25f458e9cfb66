# Reference values for mixedtools.lmm.influence: group-deletion diagnostics.
#
# Run from the repository root:
#   Rscript tests/reference/influence_reference.R
# Writes tests/reference/influence_reference.json (read by tests/test_influence.py).
#
# influence.ME is not used: this script implements its definitions (Nieuwenhuis, te Grotenhuis &
# Pelzer 2012) directly with lme4, by refitting the model without each level-2 unit j (REML,
# same formula):
#   Cook's D_j  = (b - b_(j))' V^-1 (b - b_(j)) / p,  V = vcov of the full-data fit;
#   DFBETAS_jk  = (b_k - b_(j)k) / se(b_(j)k),        the SE of the fit without unit j;
#   the change in each variance component, VarCorr without j minus VarCorr of the full data
#   (as.data.frame(VarCorr(.))$vcov, lme4's order).
# All fits use a tight optimiser tolerance, so that the reference is the optimum itself rather
# than lme4's default stopping point (which differs from it by about 1e-5 in DFBETAS).
# Data: lme4::sleepstudy (18 subjects; Reaction ~ Days + (Days | Subject)) and the first 30
# schools (in sorted order of their id) of the bundled HSB data with cses = ses centred within
# school (mathach ~ cses + meanses + sector + (1 | school)).
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(ftol_abs = 1e-14, xtol_abs = 1e-12, xtol_rel = 1e-12,
                                    maxeval = 1e5))
deletion <- function(formula, data, group) {
  fit <- lmer(formula, data = data, REML = TRUE, control = tight)
  b <- fixef(fit)
  V <- as.matrix(vcov(fit))
  vc <- as.data.frame(VarCorr(fit))$vcov
  levels <- unique(as.character(data[[group]]))
  res <- lapply(levels, function(j) {
    f <- lmer(formula, data = data[as.character(data[[group]]) != j, ], REML = TRUE,
            control = tight)
    bj <- fixef(f)
    sej <- sqrt(diag(as.matrix(vcov(f))))
    d <- b - bj
    list(level = j, cooks = c(t(d) %*% solve(V) %*% d) / length(b),
         dfbetas = unname(d / sej), fixef = unname(bj),
         vc_change = as.data.frame(VarCorr(f))$vcov - vc)
  })
  list(levels = levels, fixef = unname(b), names = names(b),
       cooks = sapply(res, `[[`, "cooks"),
       dfbetas = lapply(res, `[[`, "dfbetas"),
       fixef_deleted = lapply(res, `[[`, "fixef"),
       vc_change = lapply(res, `[[`, "vc_change"))
}

sleep <- lme4::sleepstudy
hsb <- read.csv("mixedtools/data/hsb.csv", colClasses = c(school = "character"))
hsb$cses <- hsb$ses - ave(hsb$ses, hsb$school)
keep <- sort(unique(hsb$school))[1:30]
hsb30 <- hsb[hsb$school %in% keep, ]

out <- list(
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4"))),
  hsb_schools = keep,
  sleepstudy = deletion(Reaction ~ Days + (Days | Subject), sleep, "Subject"),
  hsb30 = deletion(mathach ~ cses + meanses + sector + (1 | school), hsb30, "school")
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE),
           "tests/reference/influence_reference.json")
