# Export the bundled data sets of mixedtools from the R packages that distribute them.
#
# Run from the repository root:
#   Rscript mixedtools/data/make_datasets.R
#
# Writes, for every data set NAME:
#   mixedtools/data/NAME.csv    the data (snake_case columns, original values, no rounding)
#   mixedtools/data/NAME.json   provenance, citation, licence note and codebook
# and the check values read by the tests:
#   tests/reference/datasets.json   rows, columns, and per-column sums / means / level counts
suppressPackageStartupMessages({
  library(lme4)
  library(nlme)
  library(MASS)
  library(metafor)
  library(plm)
  library(jsonlite)
  library(mlmRev)
})

data_dir <- file.path("mixedtools", "data")
reference_file <- file.path("tests", "reference", "datasets.json")
stopifnot(dir.exists(data_dir), dir.exists(dirname(reference_file)))

pkg_version <- function(pkg) packageDescription(pkg)$Version

licence_note <- function(pkg) {
  sprintf(paste(
    "Redistributed from the R package %s (%s, licensed %s) for teaching and research;",
    "the values are published research data. Cite the original reference when you use them."
  ), pkg, pkg_version(pkg), packageDescription(pkg)$License)
}

# A column of the codebook: name, type as stored in the CSV ("str", "int" or "float"), meaning.
col <- function(name, type, description) list(name = name, type = type, description = description)

as_chr <- function(x) as.character(x)

datasets <- list()

# ---- lme4: Dyestuff, Dyestuff2 ----------------------------------------------------------------
datasets$dyestuff <- list(
  data = data.frame(batch = as_chr(Dyestuff$Batch), yield = Dyestuff$Yield),
  title = "Yield of dyestuff by batch of intermediate product",
  design = "6 batches x 5 preparations each (balanced one-way random-effects layout).",
  package = "lme4", dataset = "Dyestuff",
  reference = paste(
    "Davies, O. L. and Goldsmith, P. L. (eds) (1972). Statistical Methods in Research and",
    "Production, 4th ed. Oliver and Boyd, section 6.4."
  ),
  columns = list(
    col("batch", "str", "Batch of the intermediate product (H-acid), A to F; the grouping factor."),
    col("yield", "float", "Yield of dyestuff (Naphthalene Black 12B) in grams of standard colour.")
  )
)

datasets$dyestuff2 <- list(
  data = data.frame(batch = as_chr(Dyestuff2$Batch), yield = Dyestuff2$Yield),
  title = "Constructed dyestuff-type data with a large within-batch variance",
  design = paste(
    "6 batches x 5 observations (balanced). The between-batch mean square is smaller than the",
    "within-batch mean square, so the ANOVA estimate of the batch variance is negative."
  ),
  package = "lme4", dataset = "Dyestuff2",
  reference = paste(
    "Box, G. E. P. and Tiao, G. C. (1973). Bayesian Inference in Statistical Analysis.",
    "Addison-Wesley, section 5.1.2."
  ),
  columns = list(
    col("batch", "str", "Batch, A to F; the grouping factor."),
    col("yield", "float", "Simulated yield (constructed data, no physical unit).")
  )
)

# ---- lme4: sleepstudy ---------------------------------------------------------------------------
datasets$sleepstudy <- list(
  data = data.frame(
    reaction = sleepstudy$Reaction,
    days = as.integer(sleepstudy$Days),
    subject = as_chr(sleepstudy$Subject)
  ),
  title = "Reaction times in a sleep-deprivation study",
  design = "18 subjects x 10 days (days 0 to 9), one average reaction time per subject and day.",
  package = "lme4", dataset = "sleepstudy",
  reference = paste(
    "Belenky, G., Wesensten, N. J., Thorne, D. R., Thomas, M. L., Sing, H. C., Redmond, D. P.,",
    "Russo, M. B. and Balkin, T. J. (2003). Patterns of performance degradation and restoration",
    "during sleep restriction and subsequent recovery: a sleep dose-response study.",
    "Journal of Sleep Research, 12, 1-12."
  ),
  columns = list(
    col("reaction", "float", "Average reaction time on the day (milliseconds)."),
    col("days", "int", paste(
      "Days of sleep restriction (3 h time in bed per night), 0 to 9. Days 0-1 were adaptation",
      "and training, day 2 was baseline; deprivation started after day 2."
    )),
    col("subject", "str", "Subject identifier; the grouping factor.")
  )
)

# ---- nlme: MathAchieve + MathAchSchool (High School and Beyond) -------------------------------
students <- as.data.frame(MathAchieve)
schools <- as.data.frame(MathAchSchool)
school_row <- match(as_chr(students$School), as_chr(schools$School))
stopifnot(!anyNA(school_row))
# The school-level MEANSES is repeated on every student row; both files agree exactly.
stopifnot(identical(students$MEANSES, schools$MEANSES[school_row]))
datasets$hsb <- list(
  data = data.frame(
    school = as_chr(students$School),
    minority = as.integer(students$Minority == "Yes"),
    female = as.integer(students$Sex == "Female"),
    ses = students$SES,
    mathach = students$MathAch,
    meanses = students$MEANSES,
    size = as.integer(schools$Size[school_row]),
    sector = as.integer(schools$Sector[school_row] == "Catholic"),
    pracad = schools$PRACAD[school_row],
    disclim = schools$DISCLIM[school_row],
    himinty = as.integer(as_chr(schools$HIMINTY[school_row]))
  ),
  title = "High School and Beyond: mathematics achievement of students in schools",
  design = paste(
    "7185 students (level 1) in 160 schools (level 2; 90 public, 70 Catholic); 14 to 67",
    "students per school (unbalanced). Student rows with the school variables merged in."
  ),
  package = "nlme", dataset = "MathAchieve merged with MathAchSchool",
  reference = paste(
    "Raudenbush, S. W. and Bryk, A. S. (2002). Hierarchical Linear Models: Applications and",
    "Data Analysis Methods, 2nd ed. Sage. (A subsample of the High School and Beyond survey.)"
  ),
  columns = list(
    col("school", "str", "School identifier; the level-2 grouping factor."),
    col("minority", "int", "1 = student belongs to an ethnic minority group, 0 = not."),
    col("female", "int", "1 = female, 0 = male."),
    col("ses", "float", "Student socio-economic status (a standardised composite)."),
    col("mathach", "float", "Mathematics achievement score (the outcome)."),
    col("meanses", "float", paste(
      "School mean SES as given in the original school file (computed from the school's full",
      "survey sample, so it differs slightly from the mean of ses over the rows here)."
    )),
    col("size", "int", "School enrolment (number of students)."),
    col("sector", "int", "0 = public school, 1 = Catholic school."),
    col("pracad", "float", "Proportion of the school's students on the academic track (0 to 1)."),
    col("disclim", "float", "Disciplinary climate of the school (a standardised scale)."),
    col("himinty", "int", "1 = more than 40% minority enrolment, 0 = 40% or less.")
  )
)

# ---- MASS: shoes (paired design, long form) -----------------------------------------------------
n_boys <- length(shoes$A)
datasets$shoes <- list(
  data = data.frame(
    boy = as_chr(rep(seq_len(n_boys), each = 2)),
    material = rep(c("A", "B"), times = n_boys),
    wear = as.vector(rbind(shoes$A, shoes$B))
  ),
  title = "Shoe-sole wear of two materials worn by the same boys",
  design = paste(
    "10 boys x 2 materials: each boy wore one sole of material A and one of material B",
    "(paired design), rows in long form."
  ),
  package = "MASS", dataset = "shoes",
  reference = paste(
    "Box, G. E. P., Hunter, W. G. and Hunter, J. S. (1978). Statistics for Experimenters.",
    "Wiley, p. 100. (Also Venables, W. N. and Ripley, B. D. (2002). Modern Applied Statistics",
    "with S, 4th ed. Springer.)"
  ),
  columns = list(
    col("boy", "str", "Boy identifier, 1 to 10; the pairing (blocking) factor."),
    col("material", "str", "Sole material, A or B."),
    col("wear", "float", "Amount of wear of the sole (larger = more worn).")
  )
)

# ---- lme4: Penicillin (crossed), Pastes (nested) -----------------------------------------------
datasets$penicillin <- list(
  data = data.frame(
    diameter = Penicillin$diameter,
    plate = as_chr(Penicillin$plate),
    sample = as_chr(Penicillin$sample)
  ),
  title = "Variation in penicillin testing (crossed random factors)",
  design = "24 plates x 6 penicillin samples, every sample on every plate (fully crossed).",
  package = "lme4", dataset = "Penicillin",
  reference = paste(
    "Davies, O. L. and Goldsmith, P. L. (eds) (1972). Statistical Methods in Research and",
    "Production, 4th ed. Oliver and Boyd, section 6.6."
  ),
  columns = list(
    col("diameter", "float", "Diameter (mm) of the zone of inhibition of growth of B. subtilis."),
    col("plate", "str", "Assay plate, a to x."),
    col("sample", "str", "Penicillin sample, A to F.")
  )
)

datasets$pastes <- list(
  data = data.frame(
    strength = Pastes$strength,
    batch = as_chr(Pastes$batch),
    cask = as_chr(Pastes$cask),
    sample = as_chr(Pastes$sample)
  ),
  title = "Strength of a chemical paste by delivery batch and cask (nested random factors)",
  design = paste(
    "10 delivery batches, 3 casks sampled within each batch, 2 assays per cask sample",
    "(casks nested in batches)."
  ),
  package = "lme4", dataset = "Pastes",
  reference = paste(
    "Davies, O. L. and Goldsmith, P. L. (eds) (1972). Statistical Methods in Research and",
    "Production, 4th ed. Oliver and Boyd, section 6.5."
  ),
  columns = list(
    col("strength", "float", "Paste strength."),
    col("batch", "str", "Delivery batch, A to J."),
    col("cask", "str", paste(
      "Cask within the batch, a to c. The label is only meaningful within a batch:",
      "cask 'a' of batch A and cask 'a' of batch B are different casks."
    )),
    col("sample", "str", "Unique cask sample, batch:cask (A:a to J:c); two assays per sample.")
  )
)

# ---- nlme: Machines ------------------------------------------------------------------------------
datasets$machines <- list(
  data = data.frame(
    worker = as_chr(Machines$Worker),
    machine = as_chr(Machines$Machine),
    score = Machines$score
  ),
  title = "Productivity scores of workers on three machine brands",
  design = paste(
    "6 randomly chosen workers x 3 machine brands x 3 repetitions (balanced; repeated",
    "measures on workers)."
  ),
  package = "nlme", dataset = "Machines",
  reference = paste(
    "Milliken, G. A. and Johnson, D. E. (1992). Analysis of Messy Data, Volume I: Designed",
    "Experiments. Chapman and Hall, p. 285. (Also Pinheiro, J. C. and Bates, D. M. (2000).",
    "Mixed-Effects Models in S and S-PLUS. Springer, Appendix A.14.)"
  ),
  columns = list(
    col("worker", "str", "Worker identifier, 1 to 6; a random factor."),
    col("machine", "str", "Machine brand, A, B or C; a fixed factor."),
    col("score", "float", "Overall productivity score (number and quality of components produced).")
  )
)

# ---- nlme: Oxboys ----------------------------------------------------------------------------------
oxboys <- as.data.frame(Oxboys)
oxboys <- oxboys[order(as.integer(as_chr(oxboys$Subject)), oxboys$Occasion), ]
datasets$oxboys <- list(
  data = data.frame(
    subject = as_chr(oxboys$Subject),
    age = oxboys$age,
    height = oxboys$height,
    occasion = as.integer(as_chr(oxboys$Occasion))
  ),
  title = "Heights of boys in Oxford measured on nine occasions",
  design = paste(
    "26 boys x 9 occasions (balanced; repeated measures on boys, the ages at each occasion",
    "differ slightly between boys)."
  ),
  package = "nlme", dataset = "Oxboys",
  reference = paste(
    "Goldstein, H. (1987). Multilevel Models in Educational and Social Research. Griffin,",
    "London. (Also Pinheiro, J. C. and Bates, D. M. (2000). Mixed-Effects Models in S and",
    "S-PLUS. Springer, Appendix A.19.)"
  ),
  columns = list(
    col("subject", "str", "Boy identifier, 1 to 26; the grouping factor."),
    col("age", "float", paste(
      "Standardised age (dimensionless, as distributed), from -1 at the first occasion to",
      "about 1 at the last."
    )),
    col("height", "float", "Height (cm)."),
    col("occasion", "int", "Measurement occasion, 1 to 9.")
  )
)

# ---- metafor (metadat): dat.bcg ------------------------------------------------------------------
datasets$bcg <- list(
  data = data.frame(
    trial = as.integer(dat.bcg$trial),
    author = as_chr(dat.bcg$author),
    year = as.integer(dat.bcg$year),
    tpos = as.integer(dat.bcg$tpos),
    tneg = as.integer(dat.bcg$tneg),
    cpos = as.integer(dat.bcg$cpos),
    cneg = as.integer(dat.bcg$cneg),
    ablat = as.integer(dat.bcg$ablat),
    alloc = as_chr(dat.bcg$alloc)
  ),
  title = "Trials of the BCG vaccine against tuberculosis",
  design = "13 trials, each reported as a 2 x 2 table (vaccinated / control x TB positive / negative).",
  package = "metadat", dataset = "dat.bcg (attached by metafor)",
  reference = paste(
    "Colditz, G. A., Brewer, T. F., Berkey, C. S., Wilson, M. E., Burdick, E., Fineberg, H. V.",
    "and Mosteller, F. (1994). Efficacy of BCG vaccine in the prevention of tuberculosis:",
    "meta-analysis of the published literature. Journal of the American Medical Association,",
    "271(9), 698-702. (Also Berkey, C. S., Hoaglin, D. C., Mosteller, F. and Colditz, G. A.",
    "(1995). A random-effects regression model for meta-analysis. Statistics in Medicine,",
    "14(4), 395-411.)"
  ),
  columns = list(
    col("trial", "int", "Trial number, 1 to 13."),
    col("author", "str", "Author(s) of the trial report."),
    col("year", "int", "Publication year."),
    col("tpos", "int", "TB positive cases in the vaccinated group."),
    col("tneg", "int", "TB negative cases in the vaccinated group."),
    col("cpos", "int", "TB positive cases in the control (non-vaccinated) group."),
    col("cneg", "int", "TB negative cases in the control group."),
    col("ablat", "int", "Absolute latitude of the study location (degrees)."),
    col("alloc", "str", "Treatment allocation: random, alternate or systematic.")
  )
)

# ---- metadat: Konstantopoulos (2011), effect sizes nested in districts ----------------------------
datasets$konstantopoulos2011 <- list(
  data = data.frame(
    district = as.integer(dat.konstantopoulos2011$district),
    school = as.integer(dat.konstantopoulos2011$school),
    study = as.integer(dat.konstantopoulos2011$study),
    year = as.integer(dat.konstantopoulos2011$year),
    yi = as.numeric(dat.konstantopoulos2011$yi),
    vi = as.numeric(dat.konstantopoulos2011$vi)
  ),
  title = "Effects of modified school calendars on achievement (schools within districts)",
  design = "56 standardised mean differences from 56 schools nested in 11 school districts.",
  package = "metadat", dataset = "dat.konstantopoulos2011 (attached by metafor)",
  reference = paste(
    "Konstantopoulos, S. (2011). Fixed effects and variance components estimation in three-level",
    "meta-analysis. Research Synthesis Methods, 2(1), 61-76. (Data from Cooper, H., Valentine,",
    "J. C., Charlton, K. and Melson, A. (2003). The effects of modified school calendars on student",
    "achievement and on school and community attitudes. Review of Educational Research, 73(1), 1-52.)"
  ),
  columns = list(
    col("district", "int", "School district id (11 districts); the outer cluster."),
    col("school", "int", "School number within its district."),
    col("study", "int", "Effect-size id, 1 to 56 (one per school)."),
    col("year", "int", "Year of the study."),
    col("yi", "float", "Standardised mean difference (modified calendar minus traditional)."),
    col("vi", "float", "Sampling variance of yi.")
  )
)

# ---- metadat: Assink et al. (2016), several effect sizes per study --------------------------------
datasets$assink2016 <- list(
  data = data.frame(
    study = as.integer(dat.assink2016$study),
    esid = as.integer(dat.assink2016$esid),
    id = as.integer(dat.assink2016$id),
    yi = as.numeric(dat.assink2016$yi),
    vi = as.numeric(dat.assink2016$vi),
    pubstatus = as.integer(dat.assink2016$pubstatus),
    year = as.numeric(dat.assink2016$year),
    deltype = as_chr(dat.assink2016$deltype)
  ),
  title = "Recidivism and mental health in delinquent juveniles (effect sizes within studies)",
  design = paste(
    "100 standardised mean differences from 17 studies (1 to 22 per study: several delinquent",
    "behaviours, several comparisons); the sampling errors within a study are correlated but",
    "their correlations are not reported."
  ),
  package = "metadat", dataset = "dat.assink2016 (attached by metafor)",
  reference = paste(
    "Assink, M., van der Put, C. E., Hoeve, M., de Vries, S. L. A., Stams, G. J. J. M. and",
    "Oort, F. J. (2015). Risk factors for persistent delinquent behavior among juveniles: a",
    "meta-analytic review. Clinical Psychology Review, 42, 47-61. (Subset used by Assink, M. and",
    "Wibbelink, C. J. M. (2016). Fitting three-level meta-analytic models in R: a step-by-step",
    "tutorial. The Quantitative Methods for Psychology, 12(3), 154-174.)"
  ),
  columns = list(
    col("study", "int", "Study id (17 studies); the outer cluster."),
    col("esid", "int", "Effect-size id within its study."),
    col("id", "int", "Row id, 1 to 100."),
    col("yi", "float", paste("Standardised mean difference in recidivism, juveniles with a mental",
                             "health disorder minus those without (positive: more recidivism).")),
    col("vi", "float", "Sampling variance of yi."),
    col("pubstatus", "int", "1 = published study, 0 = unpublished."),
    col("year", "float", paste("Publication year, approximately mean-centred (not constant within",
                               "study 3: two publications of the same data).")),
    col("deltype", "str", "Type of delinquent behaviour: general, overt or covert.")
  )
)

# ---- plm: Grunfeld -------------------------------------------------------------------------------
data("Grunfeld", package = "plm")
datasets$grunfeld <- list(
  data = data.frame(
    firm = as_chr(Grunfeld$firm),
    year = as.integer(Grunfeld$year),
    inv = Grunfeld$inv,
    value = Grunfeld$value,
    capital = Grunfeld$capital
  ),
  title = "Grunfeld's investment data: 10 US firms, 1935-1954",
  design = "Balanced panel: 10 firms x 20 years (1935 to 1954).",
  package = "plm", dataset = "Grunfeld",
  reference = paste(
    "Grunfeld, Y. (1958). The Determinants of Corporate Investment. PhD thesis, University of",
    "Chicago. This is the version used by Baltagi, B. H. (2001). Econometric Analysis of Panel",
    "Data, 3rd ed. Wiley. Versions in circulation differ in a few values: see Kleiber, C. and",
    "Zeileis, A. (2010). The Grunfeld data at 50. German Economic Review, 11, 404-417."
  ),
  columns = list(
    col("firm", "str", "Firm identifier, 1 to 10; the panel unit."),
    col("year", "int", "Year, 1935 to 1954; the time index."),
    col("inv", "float", "Gross investment (millions of US dollars, 1947 prices)."),
    col("value", "float", "Market value of the firm (millions of US dollars, 1947 prices)."),
    col("capital", "float", "Stock of plant and equipment (millions of US dollars, 1947 prices).")
  )
)

# ---- plm: EmplUK --------------------------------------------------------------------------------
data("EmplUK", package = "plm")
datasets$empluk <- list(
  data = data.frame(
    firm = as_chr(EmplUK$firm),
    year = as.integer(EmplUK$year),
    sector = as_chr(EmplUK$sector),
    emp = EmplUK$emp,
    wage = EmplUK$wage,
    capital = EmplUK$capital,
    output = EmplUK$output
  ),
  title = "Employment of 140 UK companies, 1976-1984 (unbalanced panel)",
  design = paste(
    "Unbalanced panel: 140 firms observed for 7 to 9 consecutive years between 1976 and 1984",
    "(103 firms for 7 years, 23 for 8, 14 for 9); 1031 firm-years."
  ),
  package = "plm", dataset = "EmplUK",
  reference = paste(
    "Arellano, M. and Bond, S. (1991). Some tests of specification for panel data: Monte Carlo",
    "evidence and an application to employment equations. Review of Economic Studies, 58(2),",
    "277-297."
  ),
  columns = list(
    col("firm", "str", "Firm identifier, 1 to 140; the panel unit."),
    col("year", "int", "Year, 1976 to 1984; the time index."),
    col("sector", "str", "Industry sector of the firm (code)."),
    col("emp", "float", "Employment of the firm (as distributed with plm)."),
    col("wage", "float", "Real wage of the firm (as distributed with plm)."),
    col("capital", "float", "Gross capital stock of the firm (as distributed with plm)."),
    col("output", "float", "Output of the firm's industry (index, as distributed with plm).")
  )
)

# ---- afex: obk.long (O'Brien and Kaiser 1985) ---------------------------------------------------
data("obk.long", package = "afex")
datasets$obrien_kaiser <- list(
  data = data.frame(
    id = as_chr(obk.long$id),
    treatment = as_chr(obk.long$treatment),
    gender = as_chr(obk.long$gender),
    age = obk.long$age,
    phase = as_chr(obk.long$phase),
    hour = as.integer(as_chr(obk.long$hour)),
    value = obk.long$value
  ),
  title = "O'Brien and Kaiser's repeated-measures example: a split-plot design",
  design = paste(
    "16 subjects x 3 phases (pre, post, fup = follow-up) x 5 hours within subjects (240 rows,",
    "complete); between subjects treatment (control 5, A 4, B 7) x gender (unbalanced)."
  ),
  package = "afex", dataset = "obk.long",
  reference = paste(
    "O'Brien, R. G. and Kaiser, M. K. (1985). MANOVA method for analyzing repeated measures",
    "designs: an extensive primer. Psychological Bulletin, 97(2), 316-333. (Contrived data",
    "of an imaginary study; also carData::OBrienKaiser in wide form.)"
  ),
  columns = list(
    col("id", "str", "Subject identifier, 1 to 16."),
    col("treatment", "str", "Between-subjects treatment group: control, A or B."),
    col("gender", "str", "Between-subjects factor: F or M."),
    col("age", "float", paste(
      "A random covariate added by afex (ages 18-35 drawn at random, centred; constant within",
      "a subject); not part of the original data."
    )),
    col("phase", "str", "Within-subjects phase: pre, post or fup (follow-up)."),
    col("hour", "int", "Within-subjects measurement hour within the phase, 1 to 5."),
    col("value", "float", "The response (a score of the contrived study; no unit).")
  )
)

# ---- lme4: cbpp, grouseticks, VerbAgg; mlmRev: Contraception; MASS: Insurance ------------------
datasets$cbpp <- list(
  data = data.frame(
    herd = as_chr(cbpp$herd),
    period = as_chr(cbpp$period),
    incidence = as.integer(cbpp$incidence),
    size = as.integer(cbpp$size)
  ),
  title = "Contagious bovine pleuropneumonia: new cases in zebu herds of Ethiopia",
  design = paste(
    "15 herds followed over 4 periods (56 herd-periods; some herds miss a period); a binomial",
    "count of new serological cases out of the herd size."
  ),
  package = "lme4", dataset = "cbpp",
  reference = paste(
    "Lesnoff, M., Laval, G., Bonnet, P., et al. (2004). Within-herd spread of contagious bovine",
    "pleuropneumonia in Ethiopian highlands. Preventive Veterinary Medicine, 64, 27-40."
  ),
  columns = list(
    col("herd", "str", "Herd identifier, 1 to 15; the grouping factor."),
    col("period", "str", "Follow-up period, 1 to 4 (a factor)."),
    col("incidence", "int", "Number of new serological cases in the herd during the period."),
    col("size", "int", "Herd size at the start of the period (the number of trials).")
  )
)

data(Contraception, package = "mlmRev")
datasets$contraception <- list(
  data = data.frame(
    woman = as_chr(Contraception$woman),
    district = as_chr(Contraception$district),
    use = as_chr(Contraception$use),
    livch = as_chr(Contraception$livch),
    age = as.numeric(Contraception$age),
    urban = as_chr(Contraception$urban)
  ),
  title = "Contraceptive use of women in Bangladesh (1988 Fertility Survey)",
  design = "1,934 women in 60 districts (2 to 118 women per district); one binary response each.",
  package = "mlmRev", dataset = "Contraception",
  reference = paste(
    "Huq, N. M. and Cleland, J. (1990). Bangladesh Fertility Survey 1989 (Main Report).",
    "National Institute of Population Research and Training, Dhaka. (Analysed in Rodriguez, G.",
    "and Goldman, N. (1995), and in Bates et al.'s mlmRev.)"
  ),
  columns = list(
    col("woman", "str", "Woman identifier, 1 to 1934."),
    col("district", "str", "District identifier (60 districts); the grouping factor."),
    col("use", "str", "Using contraception at the time of the survey: N (no) or Y (yes)."),
    col("livch", "str", "Number of living children: 0, 1, 2 or 3+."),
    col("age", "float", "Age in years, centred at the sample mean (about 30.2 years)."),
    col("urban", "str", "Type of region of residence: N (rural) or Y (urban).")
  )
)

datasets$grouseticks <- list(
  data = data.frame(
    index = as_chr(grouseticks$INDEX),
    ticks = as.integer(grouseticks$TICKS),
    brood = as_chr(grouseticks$BROOD),
    height = as.numeric(grouseticks$HEIGHT),
    year = as_chr(grouseticks$YEAR),
    location = as_chr(grouseticks$LOCATION)
  ),
  title = "Ticks on red grouse chicks",
  design = paste(
    "403 chicks in 118 broods at 63 locations, over 3 years; one count per chick (chicks",
    "nested in broods, broods in locations)."
  ),
  package = "lme4", dataset = "grouseticks",
  reference = paste(
    "Elston, D. A., Moss, R., Boulinier, T., Arrowsmith, C. and Lambin, X. (2001). Analysis of",
    "aggregation, a worked example: numbers of ticks on red grouse chicks. Parasitology, 122,",
    "563-569."
  ),
  columns = list(
    col("index", "str", "Chick identifier, 1 to 403 (one row per chick)."),
    col("ticks", "int", "Number of ticks counted on the chick's head."),
    col("brood", "str", "Brood identifier (118 broods)."),
    col("height", "float", "Height of the location above sea level, in metres."),
    col("year", "str", "Year: 95, 96 or 97 (1995-1997)."),
    col("location", "str", "Location identifier (63 locations).")
  )
)

datasets$verbagg <- list(
  data = data.frame(
    id = as_chr(VerbAgg$id),
    item = as_chr(VerbAgg$item),
    anger = as.integer(VerbAgg$Anger),
    gender = as_chr(VerbAgg$Gender),
    btype = as_chr(VerbAgg$btype),
    situ = as_chr(VerbAgg$situ),
    mode = as_chr(VerbAgg$mode),
    resp = as_chr(VerbAgg$resp),
    r2 = as_chr(VerbAgg$r2)
  ),
  title = "Verbal aggression: 316 respondents x 24 items",
  design = paste(
    "316 respondents answer the same 24 items (7,584 rows): subjects and items are crossed",
    "random factors; one ordinal (and a binary) response per answer."
  ),
  package = "lme4", dataset = "VerbAgg",
  reference = paste(
    "De Boeck, P. and Wilson, M. (eds) (2004). Explanatory Item Response Models. Springer,",
    "chapter 1."
  ),
  columns = list(
    col("id", "str", "Respondent identifier, 1 to 316."),
    col("item", "str", "Item label (24 items), e.g. S1WantCurse: situation, mode and behaviour."),
    col("anger", "int", "Trait anger score of the respondent (State-Trait Anger Expression Inventory)."),
    col("gender", "str", "Gender of the respondent: F or M."),
    col("btype", "str", "Type of behaviour in the item: curse, scold or shout."),
    col("situ", "str", "Situation of the item: other (others to blame) or self (self to blame)."),
    col("mode", "str", "Behavioural mode of the item: want or do."),
    col("resp", "str", "Answer: no, perhaps or yes."),
    col("r2", "str", "Binary answer: N (no) or Y (perhaps or yes).")
  )
)

datasets$insurance <- list(
  data = data.frame(
    district = as_chr(Insurance$District),
    group = as_chr(Insurance$Group),
    age = as_chr(Insurance$Age),
    holders = as.integer(Insurance$Holders),
    claims = as.integer(Insurance$Claims)
  ),
  title = "Car insurance claims by district, car group and driver age",
  design = paste(
    "4 districts x 4 car groups x 4 age groups (64 cells); claims counted against the number",
    "of policy holders (the exposure)."
  ),
  package = "MASS", dataset = "Insurance",
  reference = paste(
    "Baxter, L. A., Coutts, S. M. and Ross, G. A. F. (1980). Applications of linear models in",
    "motor insurance. Proceedings of the 21st International Congress of Actuaries, Zurich,",
    "pp. 11-29. (Also Venables, W. N. and Ripley, B. D. (2002). Modern Applied Statistics with",
    "S, 4th ed. Springer.)"
  ),
  columns = list(
    col("district", "str", "District of residence of the policy holder, 1 to 4 (4 is major cities)."),
    col("group", "str", "Car group by engine capacity: <1l, 1-1.5l, 1.5-2l, >2l."),
    col("age", "str", "Age group of the driver: <25, 25-29, 30-35, >35."),
    col("holders", "int", "Number of policy holders (the exposure)."),
    col("claims", "int", "Number of claims.")
  )
)

# ---- write ---------------------------------------------------------------------------------------
column_summary <- function(x) {
  if (is.character(x)) {
    list(n_unique = length(unique(x)), first = x[1], last = x[length(x)])
  } else {
    list(sum = sum(x), mean = mean(x), min = min(x), max = max(x), first = x[1], last = x[length(x)])
  }
}

reference <- list()
for (name in names(datasets)) {
  spec <- datasets[[name]]
  df <- spec$data
  stopifnot(!anyNA(df))
  types <- vapply(spec$columns, `[[`, "", "type")
  stopifnot(identical(names(df), vapply(spec$columns, `[[`, "", "name")))
  stopifnot(all(vapply(df[types == "str"], is.character, TRUE)))
  stopifnot(all(vapply(df[types == "int"], is.integer, TRUE)))
  stopifnot(all(vapply(df[types == "float"], is.double, TRUE)))

  csv_file <- file.path(data_dir, paste0(name, ".csv"))
  write.csv(df, csv_file, row.names = FALSE, fileEncoding = "UTF-8")
  # The CSV must give back exactly the values of the R data set (15 significant digits suffice
  # for these data; this check fails otherwise).
  back <- read.csv(csv_file, colClasses = unname(c(str = "character", int = "integer", float = "numeric")[types]))
  stopifnot(isTRUE(all.equal(back, df, tolerance = 0)))

  meta <- list(
    name = name,
    title = spec$title,
    design = spec$design,
    source = list(package = spec$package, package_version = pkg_version(spec$package),
                  dataset = spec$dataset),
    reference = spec$reference,
    licence = licence_note(spec$package),
    n_rows = nrow(df),
    n_cols = ncol(df),
    columns = spec$columns
  )
  write_json(meta, file.path(data_dir, paste0(name, ".json")),
             digits = NA, auto_unbox = TRUE, pretty = TRUE)

  reference[[name]] <- list(
    n_rows = nrow(df),
    columns = names(df),
    summaries = lapply(df, column_summary)
  )
}

write_json(reference, reference_file, digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("Wrote", length(datasets), "data sets to", data_dir, "and check values to", reference_file, "\n")
