# Reference values for mt.anova.posthoc and mt.anova.planned (between-subjects designs).
#
# Run from the repository root:
#   Rscript tests/reference/posthoc_reference.R
# Writes tests/reference/posthoc_reference.json (read by tests/test_posthoc.py).
#
# Data (stored in the JSON): datasets::chickwts (one-way, six unbalanced groups) and
# datasets::warpbreaks (balanced 2 x 3). Tukey: TukeyHSD(aov(...)); Holm and Bonferroni:
# pairwise.t.test(pool.sd = TRUE) for the one-way design; planned contrasts: the coefficient
# t tests of lm() with contr.helmert / contr.poly / contr.sum / contr.treatment coding, and a
# user contrast through emmeans::contrast.
suppressPackageStartupMessages({
  library(emmeans)
  library(jsonlite)
})
out <- list(versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                            emmeans = as.character(packageVersion("emmeans"))))
chick <- data.frame(weight = chickwts$weight, feed = as.character(chickwts$feed))
chick$feed <- factor(chick$feed)  # alphabetical levels, as mixedtools orders them
warp <- data.frame(breaks = warpbreaks$breaks, wool = as.character(warpbreaks$wool),
                   tension = as.character(warpbreaks$tension))
warp$wool <- factor(warp$wool); warp$tension <- factor(warp$tension)

tukey <- function(fit) {
  res <- TukeyHSD(fit)
  lapply(res, function(m) list(contrast = rownames(m), diff = unname(m[, "diff"]),
                               lwr = unname(m[, "lwr"]), upr = unname(m[, "upr"]),
                               p = unname(m[, "p adj"])))
}
out$chickwts <- list(data = chick, tukey = tukey(aov(weight ~ feed, data = chick)))
for (adj in c("holm", "bonferroni", "none")) {
  pt <- pairwise.t.test(chick$weight, chick$feed, pool.sd = TRUE, p.adjust.method = adj)$p.value
  idx <- which(!is.na(pt), arr.ind = TRUE)
  out$chickwts$pairwise[[adj]] <- list(
    contrast = paste(rownames(pt)[idx[, 1]], colnames(pt)[idx[, 2]], sep = "-"),
    p = unname(pt[idx])
  )
}
out$warpbreaks <- list(data = warp, tukey = tukey(aov(breaks ~ wool * tension, data = warp)))

planned <- list()
for (coding in c("helmert", "poly", "sum", "treatment")) {
  cm <- get(paste0("contr.", coding))(nlevels(chick$feed))
  fit <- lm(weight ~ feed, data = chick, contrasts = list(feed = cm))
  co <- summary(fit)$coefficients[-1, , drop = FALSE]
  planned[[coding]] <- list(estimate = unname(co[, 1]), se = unname(co[, 2]),
                            t = unname(co[, 3]), p = unname(co[, 4]))
}
w <- list(meat_vs_plant = c(1, 0, -1, 1, -1, 0) / 2,  # casein, meatmeal vs linseed, soybean
          horse_vs_rest = c(-1, 5, -1, -1, -1, -1) / 5)
em <- emmeans(lm(weight ~ feed, data = chick), "feed")
cs <- summary(contrast(em, w), infer = c(TRUE, TRUE))
planned$custom <- list(levels = levels(chick$feed), weights = unname(w),
                       estimate = cs$estimate, se = cs$SE, t = cs$t.ratio, p = cs$p.value,
                       df = cs$df)
out$planned <- planned
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, dataframe = "columns"),
           "tests/reference/posthoc_reference.json")
