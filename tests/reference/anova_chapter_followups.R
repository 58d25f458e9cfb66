# Reference values for the effect sizes and follow-up tests that chapter 5 (book/05_anova.ipynb)
# shows, on exactly the chapter's data.
#
# Run from the repository root:
#   Rscript tests/reference/anova_chapter_followups.R
# Writes tests/reference/anova_chapter_followups.json (read by tests/test_anova_chapter_reference.py).
#
# subjects: afex::obk.long (bundled as "obrien_kaiser") averaged to one value per subject;
#   treatment x gender between (type III, afex::aov_car), ges with and without gender observed;
#   one-way follow-ups of treatment: TukeyHSD, pairwise.t.test(pool.sd = TRUE, "holm"), and
#   planned contrasts through emmeans::contrast on lm(value ~ treatment).
# sleep: lme4::sleepstudy (bundled), day (0-9) as a 10-level within-subject factor:
#   afex::aov_car(reaction ~ Error(subject / day)), ges and pes.
suppressPackageStartupMessages({
  library(afex)
  library(emmeans)
  library(jsonlite)
})
out <- list(versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                            afex = as.character(packageVersion("afex")),
                            emmeans = as.character(packageVersion("emmeans"))))

obk <- read.csv("mixedtools/data/obrien_kaiser.csv", stringsAsFactors = TRUE)
subjects <- aggregate(value ~ id + treatment + gender, data = obk, FUN = mean)
subjects$id <- factor(subjects$id)

es <- c("ges", "pes")
a <- aov_car(value ~ treatment * gender + Error(id), data = subjects,
             anova_table = list(es = es))
a_obs <- aov_car(value ~ treatment * gender + Error(id), data = subjects, observed = "gender",
                 anova_table = list(es = es))
out$factorial <- list(term = rownames(a$anova_table), F = a$anova_table$F,
                      pes = a$anova_table$pes, ges = a$anova_table$ges,
                      ges_observed_gender = a_obs$anova_table$ges)

one <- aov(value ~ treatment, data = subjects)
tk <- TukeyHSD(one)$treatment
holm <- pairwise.t.test(subjects$value, subjects$treatment, pool.sd = TRUE,
                        p.adjust.method = "holm")$p.value
out$posthoc <- list(
  tukey = list(contrast = rownames(tk), diff = unname(tk[, "diff"]), p = unname(tk[, "p adj"])),
  holm = list(row = rownames(holm), col = colnames(holm), p = unname(as.vector(holm)))
)
emm <- emmeans(lm(value ~ treatment, data = subjects), "treatment")  # levels A, B, control
planned <- summary(contrast(emm, list("A, B vs control" = c(0.5, 0.5, -1),
                                      "A vs B" = c(1, -1, 0))))
out$planned <- list(contrast = as.character(planned$contrast), estimate = planned$estimate,
                    SE = planned$SE, df = planned$df, t = planned$t.ratio, p = planned$p.value)

sleep <- read.csv("mixedtools/data/sleepstudy.csv")
sleep$subject <- factor(sleep$subject)
sleep$day <- factor(sleep$days)
r <- aov_car(reaction ~ Error(subject / day), data = sleep, anova_table = list(es = es))
out$rm <- list(F = r$anova_table$F, pes = r$anova_table$pes, ges = r$anova_table$ges)

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/anova_chapter_followups.json")
