# lme4 and lmerTest on the data of benchmarks/lmer_scale.py (not part of the test suite).
# Usage (from the repository root):
#   Rscript benchmarks/lme4_scale.R --small CASE benchmarks/data RUNS  (called by lmer_scale.py --small)
#   python benchmarks/lmer_scale.py --write-data /tmp/lmer_bench
#   Rscript benchmarks/lme4_scale.R /tmp/lmer_bench [case ...]
# Each case runs in a fresh R process. "fit" is the first lmer() fit in that process, "refit" the
# median of three more, "satt" lmerTest's Satterthwaite table for the fitted model (its derivative
# computations, as_lmerModLmerTest, plus summary), "peak_mb" R's peak memory (gc "max used").
args <- commandArgs(trailingOnly = TRUE)
formulas <- list(
  sleepstudy = "reaction ~ days + (days | subject)",
  factorial = "y ~ a * b * c + (1 | subj)",
  slope = "y ~ x + (x | g)",
  nested = "y ~ x + (1 | school/class)",
  growth = "y ~ year * female + (year | school) + (year | child:school)",
  crossed_small = "y ~ cond + (1 + cond | subj) + (1 | item)",
  crossed = "y ~ x + (1 | a) + (1 | b)",
  crossed_73k = "y ~ x + (1 | s) + (1 | d)"
)
if (length(args) >= 4 && args[1] == "--small") {
  # one small reference fit: lme4's lmer alone (no lmerTest), median of `runs` refits
  suppressPackageStartupMessages(library(lme4))
  small <- list(
    cake = c("angle ~ recipe * temperature + (1 | recipe:replicate)", "angle"),
    carrots = c("Preference ~ sens2 + Homesize + (1 + sens2 | Consumer) + (1 | Product)",
                "Preference", "sens2"),
    TVbo = c(paste("Coloursaturation ~ TVset * Picture + (1 | Assessor) + (1 | Assessor:TVset)",
                   "+ (1 | Assessor:Picture)"), "Coloursaturation"),
    Orthodont = c("distance ~ age + (age | Subject)", "distance", "age")
  )
  case <- args[2]; dir <- args[3]; runs <- as.integer(args[4])
  d <- read.csv(file.path(dir, paste0(case, ".csv")), comment.char = "#",
                colClasses = "character")
  for (col in names(d)) {
    d[[col]] <- if (col %in% small[[case]][-1]) as.numeric(d[[col]]) else factor(d[[col]])
  }
  f <- as.formula(small[[case]][1])
  m <- lme4::lmer(f, d)
  times <- replicate(runs, {
    t0 <- proc.time()[["elapsed"]]; lme4::lmer(f, d); proc.time()[["elapsed"]] - t0
  })
  cat(sprintf('{"case": "%s", "ms": %.2f, "loglik": %.8f}\n', case, 1000 * median(times),
              as.numeric(logLik(m))))
  quit(save = "no")
}

machine <- function() {
  load <- tryCatch(readLines("/proc/loadavg")[1], error = function(e) "n/a")
  blas <- tryCatch(as.character(RhpcBLASctl::blas_get_num_procs()), error = function(e) "n/a")
  sprintf("CPUs %d, BLAS threads %s, load %s", parallel::detectCores(), blas,
          paste(strsplit(load, " ")[[1]][1:3], collapse = ", "))
}

if (length(args) >= 3 && args[1] == "--one") {
  suppressPackageStartupMessages({ library(lme4); library(lmerTest) })
  case <- args[2]; dir <- args[3]
  if (case == "sleepstudy") {
    d <- read.csv(file.path("mixedtools", "data", "sleepstudy.csv"),
                  colClasses = c(subject = "character"))
  } else {
    d <- read.csv(file.path(dir, paste0(case, ".csv")))
    for (col in intersect(names(d), c("g", "a", "b", "s", "d", "school", "class", "child",
                                     "subj", "item"))) d[[col]] <- as.character(d[[col]])
  }
  f <- as.formula(formulas[[case]])
  gc(reset = TRUE)
  first <- system.time(m <- lme4::lmer(f, d))[["elapsed"]]
  refit <- if (first < 5) median(replicate(3, system.time(lme4::lmer(f, d))[["elapsed"]])) else NA
  satt <- system.time(summary(lmerTest::as_lmerModLmerTest(m), ddf = "Satterthwaite"))[["elapsed"]]
  mem <- sum(gc()[, 6])
  cat(sprintf('{"case": "%s", "rows": %d, "fit_s": %.3f, "refit_s": %s, "satt_s": %.3f, "peak_mb": %.0f, "loglik": %.4f}\n',
              case, nrow(d), first, ifelse(is.na(refit), "null", sprintf("%.3f", refit)), satt, mem,
              as.numeric(logLik(m))))
  quit(save = "no")
}

dir <- args[1]
cases <- if (length(args) > 1) args[-1] else names(formulas)
cat(machine(), "\n")
for (case in cases) {
  out <- system2("Rscript", c("benchmarks/lme4_scale.R", "--one", case, dir), stdout = TRUE,
                 stderr = FALSE)
  cat(tail(out, 1), "\n")
}
cat(machine(), "\n")
