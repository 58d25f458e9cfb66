# R's side of benchmarks/versus_r.py: the R twin of every case, timed on the same data.
# Usage (run by versus_r.py; by hand from the repository root):
#   Rscript benchmarks/versus_r.R out.json mixedtools/data SIMULATED_DIR
# SIMULATED_DIR holds crossed.csv and large.csv (written by versus_r.py) and, optionally,
# cases.txt naming the cases to run (one a line; default: all). Each case's time is the median
# over at least 3 batches of the time per call, with a repeat count that makes a batch last at
# least ~50 ms. Writes {machine, versions, cases: {name: {seconds, repeats, numbers}}} as JSON.
suppressPackageStartupMessages({
  library(jsonlite)
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(car)
  library(afex)
  library(plm)
  library(sandwich)
  library(clubSandwich)
  library(metafor)
})
args <- commandArgs(trailingOnly = TRUE)
out_file <- args[1]
data_dir <- if (length(args) >= 2) args[2] else file.path("mixedtools", "data")
sim_dir <- if (length(args) >= 3) args[3] else tempdir()

MIN_BATCH <- 0.05
BATCHES <- 3

timed <- function(run) {
  start <- proc.time()[["elapsed"]]
  numbers <- run()
  first <- proc.time()[["elapsed"]] - start
  repeats <- max(1, ceiling(MIN_BATCH / max(first, 1e-6)))
  per_call <- if (first > 1) first else numeric(0)
  while (length(per_call) < BATCHES) {
    start <- proc.time()[["elapsed"]]
    for (i in seq_len(repeats)) run()
    per_call <- c(per_call, (proc.time()[["elapsed"]] - start) / repeats)
  }
  list(seconds = median(per_call), repeats = repeats, numbers = numbers)
}

bundled <- function(name) read.csv(file.path(data_dir, paste0(name, ".csv")),
                                   stringsAsFactors = TRUE)
num <- function(x) as.numeric(unname(x))
quiet <- function(expr) suppressMessages(suppressWarnings(expr))

sleep <- bundled("sleepstudy")
sleep6 <- droplevels(sleep[sleep$subject %in% unique(sleep$subject)[1:6], ])
penicillin <- bundled("penicillin")
pastes <- bundled("pastes")
lazy_csv <- function(name) {
  cache <- NULL
  function() {
    if (is.null(cache)) cache <<- read.csv(file.path(sim_dir, paste0(name, ".csv")),
                                           stringsAsFactors = TRUE)
    cache
  }
}
crossed <- lazy_csv("crossed")
large <- lazy_csv("large")
ok <- bundled("obrien_kaiser")
ok$hour <- factor(ok$hour)
ok$id <- factor(ok$id)
ok_subject <- aggregate(value ~ id + treatment + gender, data = ok, FUN = mean)
grunfeld <- bundled("grunfeld")
pgrunfeld <- pdata.frame(grunfeld, index = c("firm", "year"))
bcg <- bundled("bcg")
bcg_es <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
kon <- bundled("konstantopoulos2011")

lmer_numbers <- function(fit) {
  list(fixef = num(fixef(fit)), sigma = sigma(fit), loglik = num(logLik(fit)))
}

cases <- list()
lmer_case <- function(name, formula, data) {
  cases[[name]] <<- function() {
    d <- data()
    function() lmer_numbers(quiet(lme4::lmer(formula, d)))
  }
}
lmer_case("lmer sleepstudy (1|subject)", reaction ~ days + (1 | subject), function() sleep)
lmer_case("lmer sleepstudy (days|subject)", reaction ~ days + (days | subject), function() sleep)
lmer_case("lmer crossed penicillin", diameter ~ 1 + (1 | plate) + (1 | sample),
          function() penicillin)
lmer_case("lmer crossed 60x40 simulated", y ~ x + (1 | subj) + (1 | item), crossed)
lmer_case("lmer nested pastes (1|batch/cask)", strength ~ 1 + (1 | batch / cask),
          function() pastes)
lmer_case("lmer 10^5 rows (x|g), 1000 groups", y ~ x + (x | g), large)

cases[["glmer cbpp (1|herd), Laplace"]] <- function() {
  cbpp <- lme4::cbpp
  function() {
    fit <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial)
    list(fixef = num(fixef(fit)))
  }
}

ddf_case <- function(name, ddf) {
  cases[[name]] <<- function() {
    function() {
      fit <- lmerTest::lmer(reaction ~ days + (days | subject), sleep)
      tab <- summary(fit, ddf = ddf)$coefficients
      list(se = num(tab[, "Std. Error"]), df = num(tab[, "df"]), t = num(tab[, "t value"]))
    }
  }
}
ddf_case("lmer + Satterthwaite table", "Satterthwaite")
ddf_case("lmer + Kenward-Roger table", "Kenward-Roger")

cases[["lrt (1|s) vs (days|s), REML"]] <- function() {
  function() {
    m0 <- lme4::lmer(reaction ~ days + (1 | subject), sleep)
    m1 <- lme4::lmer(reaction ~ days + (days | subject), sleep)
    a <- anova(m0, m1, refit = FALSE)
    list(chisq = a$Chisq[2], p = a[["Pr(>Chisq)"]][2])
  }
}

boot_name <- grep("^bootstrap_lrt", readLines(file.path(sim_dir, "cases.txt"), warn = FALSE),
                  value = TRUE)
n_boot <- if (length(boot_name)) as.integer(sub(".*, ([0-9]+) draws.*", "\\1", boot_name)) else 100L
cases[[if (length(boot_name)) boot_name else "bootstrap_lrt"]] <- function() {
  function() {
    m0 <- lme4::lmer(reaction ~ days + (1 | subject), sleep6)
    m1 <- lme4::lmer(reaction ~ days + (days | subject), sleep6)
    pb <- quiet(PBmodcomp(m1, m0, nsim = n_boot))
    list(p = pb$test["PBtest", "p.value"])
  }
}

# ---- anova --------------------------------------------------------------------------------------
cases[["anova factorial type III (2x3)"]] <- function() {
  function() {
    fit <- lm(value ~ treatment * gender, data = ok_subject,
              contrasts = list(treatment = contr.sum, gender = contr.sum))
    a <- Anova(fit, type = 3)
    a <- a[rownames(a) != "(Intercept)", ]
    list(F = num(a[["F value"]][-nrow(a)]), ss = num(a[["Sum Sq"]]))
  }
}

rm_summary <- function() {
  fit <- quiet(aov_car(value ~ treatment * gender + Error(id / (phase * hour)), data = ok,
                       type = 3))
  quiet(summary(fit$Anova, multivariate = FALSE))
}
cases[["anova rm, GG and HF (O'Brien-Kaiser)"]] <- function() {
  function() {
    s <- rm_summary()
    uni <- as.data.frame(unclass(s$univariate.tests))
    uni <- uni[rownames(uni) != "(Intercept)", ]
    adj <- as.data.frame(unclass(s$pval.adjustments))
    list(F = num(uni[["F value"]]), eps_gg = num(adj[["GG eps"]]), eps_hf = num(adj[["HF eps"]]))
  }
}
cases[["anova mauchly (O'Brien-Kaiser)"]] <- function() {
  function() {
    sph <- as.data.frame(unclass(rm_summary()$sphericity.tests))
    # every within term, interactions with the between factors included, in car's order
    list(W = num(sph[["Test statistic"]]), p = num(sph[["p-value"]]))
  }
}

# ---- panel --------------------------------------------------------------------------------------
re_numbers <- function(fit) {
  e <- ercomp(fit)
  list(params = num(coef(fit)), se = num(sqrt(diag(vcov(fit)))),
       sigma2 = num(e$sigma2[c("idios", "id")]))
}
for (method in c("swar", "walhus", "amemiya")) {
  local({
    m <- method
    cases[[sprintf("panel random_effects %s (Grunfeld)", m)]] <<- function() {
      function() re_numbers(plm(inv ~ value + capital, data = pgrunfeld, model = "random",
                                random.method = m))
    }
  })
}
cases[["panel random_effects ml (Grunfeld)"]] <- function() {
  function() {
    fit <- lme4::lmer(inv ~ value + capital + (1 | firm), grunfeld, REML = FALSE)
    vc <- as.data.frame(VarCorr(fit))
    list(params = num(fixef(fit)), loglik = num(logLik(fit)),
         sigma2 = num(c(vc$vcov[vc$grp == "Residual"], vc$vcov[vc$grp == "firm"])))
  }
}
within_fit <- function() plm(inv ~ value + capital, data = pgrunfeld, model = "within")
swar_fit <- function() plm(inv ~ value + capital, data = pgrunfeld, model = "random")
cases[["panel fixed_effects (within)"]] <- function() {
  function() {
    fe <- within_fit()
    list(params = num(coef(fe)), se = num(sqrt(diag(vcov(fe)))))
  }
}
cases[["(linearmodels) PanelOLS within"]] <- cases[["panel fixed_effects (within)"]]
cases[["panel hausman chisq (fits given)"]] <- function() {
  fe <- within_fit()
  re <- swar_fit()
  function() list(chisq = num(phtest(fe, re)$statistic))
}
cases[["panel hausman aux robust (FE + RE + test)"]] <- function() {
  vc <- function(x) vcovHC(x, method = "arellano", type = "HC0")
  function() {
    h <- phtest(inv ~ value + capital, data = pgrunfeld, method = "aux", vcov = vc)
    list(chisq = num(h$statistic))
  }
}
cases[["panel FE + RE + hausman (Grunfeld)"]] <- function() {
  function() {
    fe <- within_fit()
    re <- swar_fit()
    list(re = num(coef(re)), chisq = num(phtest(fe, re)$statistic))
  }
}
cases[["panel PanelOLS FE + RE + hausman"]] <- cases[["panel FE + RE + hausman (Grunfeld)"]]
cases[["panel mundlak (Grunfeld)"]] <- function() {
  function() {
    fit <- plm(inv ~ value + capital + Between(value) + Between(capital), data = pgrunfeld,
               model = "random")
    list(params = num(coef(fit)))
  }
}
for (method in c("swar", "walhus", "amemiya", "nerlove")) {
  local({
    m <- method
    cases[[sprintf("panel random_effects %s two-way (Grunfeld)", m)]] <<- function() {
      function() {
        fit <- plm(inv ~ value + capital, data = pgrunfeld, model = "random",
                   effect = "twoways", random.method = m)
        list(params = num(coef(fit)), se = num(sqrt(diag(vcov(fit)))),
             sigma2 = num(ercomp(fit)$sigma2[c("idios", "id", "time")]))
      }
    }
  })
}
cases[["panel fixed_effects two-way (Grunfeld)"]] <- function() {
  function() {
    fe <- plm(inv ~ value + capital, data = pgrunfeld, model = "within", effect = "twoways")
    list(params = num(coef(fe)), se = num(sqrt(diag(vcov(fe)))))
  }
}
cases[["panel cluster_robust CR2 (within fit given)"]] <- function() {
  fe <- within_fit()
  function() {
    ct <- coef_test(fe, vcov = "CR2", cluster = pgrunfeld$firm, test = "Satterthwaite")
    list(se = num(ct$SE), df = num(ct$df_Satt), p = num(ct$p_Satt))
  }
}

# ---- meta ---------------------------------------------------------------------------------------
cases[["meta escalc RR (BCG)"]] <- function() {
  function() {
    es <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
    list(yi = num(es$yi), vi = num(es$vi))
  }
}
for (method in c("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB")) {
  local({
    m <- method
    cases[[sprintf("meta rma %s (BCG)", m)]] <<- function() {
      function() {
        fit <- rma(yi, vi, data = bcg_es, method = m)
        list(beta = num(fit$beta), se = num(fit$se), tau2 = num(fit$tau2))
      }
    }
  })
}
cases[["meta rma REML knha (BCG)"]] <- function() {
  function() {
    fit <- rma(yi, vi, data = bcg_es, test = "knha")
    list(se = num(fit$se), ci = num(c(fit$ci.lb, fit$ci.ub)), p = num(fit$pval))
  }
}
cases[["meta rma + tau2 CI (Q-profile)"]] <- function() {
  function() {
    ci <- confint(rma(yi, vi, data = bcg_es))$random
    list(ci = num(ci["tau^2", c("ci.lb", "ci.ub")]))
  }
}
cases[["meta rma_mv 3-level (Konstantopoulos)"]] <- function() {
  function() {
    fit <- rma.mv(yi, vi, random = ~ 1 | district / school, data = kon)
    list(beta = num(fit$beta), se = num(fit$se), sigma2 = num(fit$sigma2),
         loglik = num(logLik(fit)))
  }
}
cases[["meta mantel_haenszel OR (BCG)"]] <- function() {
  function() {
    r <- rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg, measure = "OR")
    list(est = num(c(r$beta, r$se)), Q = num(r$QE))
  }
}
cases[["meta peto (BCG)"]] <- function() {
  function() {
    r <- rma.peto(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
    list(est = num(c(r$beta, r$se)), Q = num(r$QE))
  }
}
reml_fit <- rma(yi, vi, data = bcg_es)
cases[["meta egger (fit given)"]] <- function() {
  function() {
    r <- regtest(reml_fit)
    list(z = num(r$zval), p = num(r$pval))
  }
}
cases[["meta trimfill (fit given)"]] <- function() {
  function() {
    r <- trimfill(reml_fit)
    list(k0 = num(r$k0), est = num(c(r$beta, r$se, r$tau2)))
  }
}
cases[["meta leave_one_out (fit given)"]] <- function() {
  function() {
    r <- leave1out(reml_fit)
    list(estimate = num(r$estimate), se = num(r$se), tau2 = num(r$tau2))
  }
}
cases[["meta influence (fit given)"]] <- function() {
  function() {
    r <- influence(reml_fit)$inf
    list(rstudent = num(r$rstudent), cook_d = num(r$cook.d), hat = num(r$hat))
  }
}

# ---- run ----------------------------------------------------------------------------------------
wanted <- names(cases)
cases_file <- file.path(sim_dir, "cases.txt")
if (file.exists(cases_file)) {
  wanted <- intersect(readLines(cases_file, warn = FALSE), names(cases))
}
load_avg <- tryCatch(paste(strsplit(readLines("/proc/loadavg")[1], " ")[[1]][1:3], collapse = " "),
                     error = function(e) "n/a")
blas <- tryCatch(as.character(RhpcBLASctl::blas_get_num_procs()),
                 error = function(e) "unknown (RhpcBLASctl not installed)")
blas_lib <- tryCatch(basename(sessionInfo()$BLAS), error = function(e) "unknown")
result <- list(
  machine = sprintf("%s, %d CPUs, BLAS %s, threads %s, OPENBLAS_NUM_THREADS=%s, load %s",
                    R.version.string, parallel::detectCores(), blas_lib, blas,
                    Sys.getenv("OPENBLAS_NUM_THREADS", "unset"), load_avg),
  versions = lapply(c("lme4", "lmerTest", "pbkrtest", "car", "afex", "plm", "clubSandwich", "metafor"),
                    function(p) as.character(packageVersion(p))),
  cases = list()
)
for (name in unique(wanted)) {
  run <- cases[[name]]()
  result$cases[[name]] <- timed(run)
}
write_json(result, out_file, auto_unbox = TRUE, digits = NA)
