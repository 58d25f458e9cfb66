# lme4::glmer on the data of benchmarks/glmer_scale.py (median of 3 fits; the cbpp loop per fit).
#   Rscript benchmarks/glmer_scale.R /tmp/glmer_bench
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
folder <- args[1]
formulas <- list(
  verbagg = r2 ~ anger + gender + btype + situ + (1 | id) + (1 | item),
  crossed50k = y ~ x + (1 | a) + (1 | b),
  intercept1e5 = y ~ x + (1 | g),
  cbpp_loop = cbind(incidence, size - incidence) ~ period + (1 | herd)
)
cat(sprintf("%d CPUs, lme4 %s\n", parallel::detectCores(), packageVersion("lme4")))
for (name in names(formulas)) {
  data <- read.csv(file.path(folder, paste0(name, ".csv")), stringsAsFactors = TRUE)
  for (col in intersect(c("id", "item", "a", "b", "g", "herd", "period"), names(data)))
    data[[col]] <- factor(data[[col]])
  if (name == "verbagg") data$r2 <- factor(data$r2)
  loop <- if (name == "cbpp_loop") 20 else 1
  times <- replicate(3, system.time(for (i in seq_len(loop))
    fit <<- glmer(formulas[[name]], data = data, family = binomial))[["elapsed"]] / loop)
  cat(sprintf("%-14s %8.3f s  logLik %.6f\n", name, median(times), as.numeric(logLik(fit))))
}
