# Reference values for mixedtools.emmeans (estimated marginal means and pairwise contrasts).
#
# Run from the repository root:
#   Rscript tests/reference/emmeans_reference.R
# Writes tests/reference/emmeans_reference.json (read by tests/test_emmeans.py) and
# tests/reference/emmeans_cake.csv (lme4::cake, temperature written as text labels).
#
# Designs (all REML lmer fits; emmeans with lmer.df = "satterthwaite" and "kenward-roger"):
#   obk     afex::obk.long (bundled as "obrien_kaiser"): split plot, treatment x gender between
#           (unbalanced), phase within: value ~ treatment * gender * phase + (1 | id) + (1 | id:phase)
#   obk_age the same data with a covariate at its mean:
#           value ~ treatment * phase + age + (1 | id) + (1 | id:phase)
#   cake    lme4::cake split plot: angle ~ recipe * temperature + (1 | recipe:replicate)
#   machines nlme::Machines (bundled as "machines"): score ~ machine + (1 | worker/machine)
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(emmeans)
  library(afex)
  library(jsonlite)
})
emm_options(lmerTest.limit = 1e6, pbkrtest.limit = 1e6)

out <- list(versions = list(
  R = paste(R.version$major, R.version$minor, sep = "."),
  lme4 = as.character(packageVersion("lme4")),
  emmeans = as.character(packageVersion("emmeans")),
  pbkrtest = as.character(packageVersion("pbkrtest"))
))

obk <- read.csv("mixedtools/data/obrien_kaiser.csv", stringsAsFactors = TRUE)
obk$id <- factor(obk$id)
machines <- read.csv("mixedtools/data/machines.csv", stringsAsFactors = TRUE)
machines$worker <- factor(machines$worker)
cake <- lme4::cake[, c("replicate", "recipe", "temperature", "angle")]
cake$temperature <- factor(as.character(cake$temperature))  # unordered, text labels
write.csv(cake, "tests/reference/emmeans_cake.csv", row.names = FALSE)
cake <- read.csv("tests/reference/emmeans_cake.csv", stringsAsFactors = TRUE,
                 colClasses = c(replicate = "factor", temperature = "factor"))

tab <- function(x) {
  d <- as.data.frame(x)
  d <- d[, setdiff(names(d), c("null"))]
  lapply(d, function(col) if (is.factor(col)) as.character(col) else col)
}

cases <- list(
  obk = list(data = obk,
             formula = value ~ treatment * gender * phase + (1 | id) + (1 | id:phase),
             specs = list(list(specs = "treatment", by = NULL),
                          list(specs = "phase", by = "treatment"),
                          list(specs = c("treatment", "gender"), by = NULL))),
  obk_age = list(data = obk,
                 formula = value ~ treatment * phase + age + (1 | id) + (1 | id:phase),
                 specs = list(list(specs = "treatment", by = NULL),
                              list(specs = "treatment", by = "phase"))),
  cake = list(data = cake,
              formula = angle ~ recipe * temperature + (1 | recipe:replicate),
              specs = list(list(specs = "recipe", by = NULL),
                           list(specs = "temperature", by = NULL),
                           list(specs = "recipe", by = "temperature"))),
  machines = list(data = machines,
                  formula = score ~ machine + (1 | worker/machine),
                  specs = list(list(specs = "machine", by = NULL)))
)

for (name in names(cases)) {
  cs <- cases[[name]]
  # tight optimiser tolerances: the reference is the REML optimum itself
  fit <- lmer(cs$formula, data = cs$data, REML = TRUE,
              control = lmerControl(optimizer = "bobyqa",
                                    optCtrl = list(rhoend = 1e-12, maxfun = 1e5)))
  res <- list(formula = paste(deparse(cs$formula, width.cutoff = 500), collapse = ""),
              fixef = unname(fixef(fit)), runs = list())
  for (sp in cs$specs) {
    for (method in c("satterthwaite", "kenward-roger")) {
      em <- emmeans(fit, specs = sp$specs, by = sp$by, lmer.df = method)
      run <- list(specs = sp$specs, by = if (is.null(sp$by)) list() else sp$by, ddf = method,
                  emmeans = tab(summary(em, infer = c(TRUE, TRUE))))
      for (adj in c("none", "holm", "tukey")) {
        pr <- pairs(em, adjust = adj)
        run$pairs[[adj]] <- tab(summary(pr, infer = c(TRUE, TRUE)))
      }
      res$runs[[length(res$runs) + 1]] <- run
    }
  }
  out$designs[[name]] <- res
}

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null"),
           "tests/reference/emmeans_reference.json")
