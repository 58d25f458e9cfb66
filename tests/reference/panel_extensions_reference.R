# Reference values for the additions to mixedtools/panel: two-way fixed effects (also
# unbalanced), two-way random effects with every plm random.method that applies to two-way
# models on balanced panels (swar, walhus, amemiya, nerlove), Nerlove's one-way estimator, the
# classical Hausman test of the two-way models, clubSandwich's CR2 / Satterthwaite tests on the
# one-way within fit, and the Anderson-Hsiao IV estimator (2SLS written out with matrices).
# Writes panel_extensions_reference.json. Run from the repository root (needs the data files
# that panel_reference.R writes):
#   Rscript tests/reference/panel_extensions_reference.R
suppressPackageStartupMessages({
  library(plm)
  library(clubSandwich)
  library(jsonlite)
})

data("Grunfeld", package = "plm")
data("EmplUK", package = "plm")
produc <- read.csv(file.path("tests", "reference", "panel_produc.csv"))
produc <- transform(produc, log_gsp = log(gsp), log_pcap = log(pcap), log_pc = log(pc),
                    log_emp = log(emp))
wage <- read.csv(file.path("tests", "reference", "panel_wage_panel.csv"))
grunfeld_unbalanced <- Grunfeld[Grunfeld$year >= 1935 + 2 * (Grunfeld$firm - 1), ]
empl <- transform(EmplUK, log_emp = log(emp), log_wage = log(wage),
                  log_capital = log(capital), log_output = log(output))

cases <- list(
  grunfeld = list(data = Grunfeld, index = c("firm", "year"), formula = inv ~ value + capital),
  grunfeld_unbalanced = list(data = grunfeld_unbalanced, index = c("firm", "year"),
                             formula = inv ~ value + capital),
  produc = list(data = produc, index = c("state", "year"),
                formula = log_gsp ~ log_pcap + log_pc + log_emp + unemp),
  wage_panel = list(data = wage, index = c("nr", "year"),
                    formula = lwage ~ exper + expersq + union + married),
  empluk = list(data = empl, index = c("firm", "year"),
                formula = log_emp ~ log_wage + log_capital + log_output)
)

fit_summary <- function(m) {
  s <- summary(m)$coefficients
  list(term = rownames(s), estimate = unname(s[, 1]), std_error = unname(s[, 2]))
}

reference <- list(plm_version = as.character(packageVersion("plm")),
                  clubSandwich_version = as.character(packageVersion("clubSandwich")),
                  r_version = R.version.string, cases = list())

for (name in names(cases)) {
  case <- cases[[name]]
  pdata <- pdata.frame(case$data, index = case$index)
  balanced <- pdim(pdata)$balanced
  out <- list(balanced = balanced)
  out$within_twoways <- fit_summary(plm(case$formula, data = pdata, model = "within",
                                        effect = "twoways"))
  methods <- if (balanced) c("swar", "walhus", "amemiya", "nerlove") else character(0)
  for (method in methods) {
    re <- plm(case$formula, data = pdata, model = "random", effect = "twoways",
              random.method = method)
    res <- fit_summary(re)
    ec <- ercomp(re)
    res$sigma2 <- as.list(ec$sigma2)
    res$theta <- lapply(ec$theta, unname)
    out[[paste0("random_twoways_", method)]] <- res
  }
  if (balanced) {
    out$hausman_twoways <- {
      h <- phtest(plm(case$formula, data = pdata, model = "within", effect = "twoways"),
                  plm(case$formula, data = pdata, model = "random", effect = "twoways"))
      list(statistic = unname(h$statistic), df = unname(h$parameter), p_value = h$p.value)
    }
  }
  nerlove <- plm(case$formula, data = pdata, model = "random", random.method = "nerlove")
  out$random_nerlove <- c(fit_summary(nerlove), list(sigma2 = as.list(ercomp(nerlove)$sigma2)))
  # CR2 (clubSandwich) on the one-way within fit, clusters = entities
  within <- plm(case$formula, data = pdata, model = "within")
  cl <- pdata[[case$index[1]]]
  satt <- coef_test(within, vcov = "CR2", cluster = cl, test = "Satterthwaite")
  naive <- coef_test(within, vcov = "CR2", cluster = cl, test = "naive-t")
  out$cr2 <- list(term = as.character(satt$Coef), std_error = satt$SE, df = satt$df_Satt,
                  p_value = satt$p_Satt, p_naive = naive$p_t, df_naive = naive$df_t)
  out$vcov_cr0 <- unname(as.matrix(vcovCR(within, cluster = cl, type = "CR0")))
  out$vcov_cr1 <- unname(as.matrix(vcovCR(within, cluster = cl, type = "CR1")))
  reference$cases[[name]] <- out
}

# Anderson-Hsiao on EmplUK (Arellano & Bond's data): d log_emp on d log_emp(-1) and
# d log_wage, instrument log_emp(-2); 2SLS by matrices, no constant.
pe <- pdata.frame(empl, index = c("firm", "year"))
ah <- data.frame(firm = pe$firm, d_y = diff(pe$log_emp), d_y_lag = lag(diff(pe$log_emp)),
                 y_lag2 = lag(pe$log_emp, 2), d_x = diff(pe$log_wage))
ah <- ah[complete.cases(ah), ]
X <- cbind(d_log_wage = ah$d_x, d_log_emp_lag = ah$d_y_lag)
Z <- cbind(ah$d_x, ah$y_lag2)
y <- ah$d_y
PzX <- Z %*% solve(crossprod(Z), crossprod(Z, X))
b <- solve(crossprod(PzX, X), crossprod(PzX, y))
e <- as.vector(y - X %*% b)
bread <- solve(crossprod(PzX))
scores <- rowsum(PzX * e, as.character(ah$firm))
vc_cluster <- bread %*% crossprod(scores) %*% bread  # no small-sample factor
vc_classic <- sum(e^2) / nrow(X) * bread
reference$anderson_hsiao_empluk <- list(term = colnames(X), estimate = as.vector(b),
                                        n_obs = nrow(X), n_clusters = nrow(scores),
                                        se_cluster_hc0 = sqrt(diag(vc_cluster)),
                                        se_unadjusted = sqrt(diag(vc_classic)))

write_json(reference, file.path("tests", "reference", "panel_extensions_reference.json"),
           digits = NA, auto_unbox = TRUE, pretty = TRUE, matrix = "rowmajor")
