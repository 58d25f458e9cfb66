"""The facts chapters 2 and 3 demonstrate (claims R1-R4 and H1-H10 of the source notes)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import mixedtools as mt
from mixedtools import simulate


@pytest.fixture(scope="module")
def schools():
    data = simulate.schools(
        n_schools=40,
        students=(15, 45),
        slope=0.03,
        slope_sd=0.01,
        school_effects={"teachers": 0.1, "funding": (0.1, 0.008)},
        seed=3,
    )
    data["iq_c"] = data["iq"] - 100
    data["iq_mean"] = data.groupby("school")["iq_c"].transform("mean")
    data["iq_cwc"] = data["iq_c"] - data["iq_mean"]
    return data


def test_r1_omitted_variable_moves_variance_into_the_error():
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=20000), rng.normal(size=20000)
    df = pd.DataFrame({"x1": x1, "y": 1 + x1 + 0.8 * x2 + rng.normal(size=20000)})
    assert smf.ols("y ~ x1", df).fit().scale == pytest.approx(1 + 0.64, rel=0.03)


def test_r4_t_test_anova_regression_glm_agree():
    dye = mt.datasets.load("dyestuff").rename(columns={"yield": "y"})
    two = dye[dye["batch"].isin(["A", "E"])]
    t = stats.ttest_ind(two.loc[two.batch == "E", "y"], two.loc[two.batch == "A", "y"])
    anova = mt.anova.oneway(two, dv="y", between="batch")
    ols = smf.ols("y ~ batch", two).fit()
    glm = smf.glm("y ~ batch", two).fit(use_t=True)
    assert anova.loc["batch", "F"] == pytest.approx(t.statistic**2, rel=1e-10)
    for p in (anova.loc["batch", "p_value"], ols.pvalues.iloc[1], glm.pvalues.iloc[1]):
        assert p == pytest.approx(t.pvalue, rel=1e-8)


def test_r4_hlm_with_zero_level2_variance_is_ols():
    dye2 = mt.datasets.load("dyestuff2").rename(columns={"yield": "y"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hlm = mt.lmer("y ~ 1 + (1 | batch)", dye2)
    assert hlm.singular
    row = hlm.coef_table(ddf="residual").loc["Intercept"]
    ols = smf.ols("y ~ 1", dye2).fit()
    assert row["estimate"] == pytest.approx(ols.params.iloc[0], rel=1e-8)
    assert row["std_error"] == pytest.approx(ols.bse.iloc[0], rel=1e-6)
    assert row["p_value"] == pytest.approx(ols.pvalues.iloc[0], rel=1e-5)


def test_h1_pooled_slope_reverses_within_school_slope(schools):
    pooled = smf.ols("gpa ~ iq_c", schools).fit().params["iq_c"]
    within = smf.ols("gpa ~ iq_c + C(school)", schools).fit().params["iq_c"]
    assert pooled < 0 < within
    assert within == pytest.approx(0.03, abs=0.005)


def test_h2_h3_variance_split_and_random_intercept_ancova(schools):
    null = mt.lmer("gpa ~ 1 + (1 | school)", schools)
    tau, sigma2 = null.varcorr["vcov"].iloc[0], null.varcorr["vcov"].iloc[-1]
    assert null.icc() == pytest.approx(tau / (tau + sigma2))
    ri = mt.lmer("gpa ~ iq_c + (1 | school)", schools).fixef["iq_c"]
    dummies = smf.ols("gpa ~ iq_c + C(school)", schools).fit().params["iq_c"]
    assert ri == pytest.approx(dummies, rel=0.05)


def test_h4_level2_predictor_standard_errors_understated_by_ols(schools):
    hlm = mt.lmer("gpa ~ iq_c + elite + teachers + funding + (iq_c | school)", schools)
    ols = smf.ols("gpa ~ iq_c + elite + teachers + funding", schools).fit()
    se = hlm.coef_table()["std_error"]
    for term in ("teachers", "funding", "elite[T.True]"):
        assert se[term] > 1.5 * ols.bse[term]
        assert hlm.coef_table().loc[term, "df"] < 100


def test_h7_h8_random_slope_test_and_cross_level_needs_random_slope(schools):
    ri = mt.lmer("gpa ~ iq_c + (1 | school)", schools)
    rs = mt.lmer("gpa ~ iq_c + (iq_c | school)", schools)
    out = mt.lrt(ri, rs)
    assert out.loc["full", "p_value"] < out.loc["full", "p_naive"]
    formula = "gpa ~ iq_c * funding + elite + teachers"
    random = mt.lmer(formula + " + (iq_c | school)", schools).coef_table()
    fixed = mt.lmer(formula + " + (1 | school)", schools).coef_table()
    assert fixed.loc["iq_c:funding", "std_error"] < random.loc["iq_c:funding", "std_error"]
    assert fixed.loc["iq_c:funding", "df"] > 5 * random.loc["iq_c:funding", "df"]


def test_centring_contextual_effect_is_between_minus_within(schools):
    group = mt.lmer("gpa ~ iq_cwc + iq_mean + (1 | school)", schools).fixef
    grand = mt.lmer("gpa ~ iq_c + iq_mean + (1 | school)", schools).fixef
    assert group["iq_cwc"] > 0 > group["iq_mean"]
    assert grand["iq_mean"] == pytest.approx(group["iq_mean"] - group["iq_cwc"], rel=1e-6)
    assert grand["iq_c"] == pytest.approx(group["iq_cwc"], rel=1e-6)


def test_hsb_reproduces_raudenbush_bryk():
    hsb = mt.datasets.load("hsb")
    hsb["cses"] = hsb["ses"] - hsb.groupby("school")["ses"].transform("mean")
    null = mt.lmer("mathach ~ 1 + (1 | school)", hsb)
    full = mt.lmer(
        "mathach ~ meanses + sector + cses + cses:meanses + cses:sector + (cses | school)", hsb
    )
    assert null.fixef["Intercept"] == pytest.approx(12.64, abs=0.01)
    assert null.varcorr["vcov"].iloc[0] == pytest.approx(8.61, abs=0.01)
    assert null.varcorr["vcov"].iloc[-1] == pytest.approx(39.15, abs=0.01)
    published = {
        "Intercept": 12.11,
        "meanses": 5.34,
        "sector": 1.22,
        "cses": 2.94,
        "cses:meanses": 1.04,
        "cses:sector": -1.64,
    }
    for term, value in published.items():
        assert full.fixef[term] == pytest.approx(value, abs=0.015)


# ----------------------------------------------------------------- second edition (issue 12)
def test_r3_nonnormal_errors_with_constant_variance_keep_the_standard_error_right():
    rng = np.random.default_rng(8)
    x = np.linspace(0, 10, 100)
    slopes, ses, above = [], [], []
    for _ in range(800):
        errors = rng.exponential(1.0, size=101) - 1.0
        fit = smf.ols("y ~ x", pd.DataFrame({"x": x, "y": 1 + 0.5 * x + errors[:100]})).fit()
        slopes.append(fit.params["x"])
        ses.append(fit.bse["x"])
        pred = fit.get_prediction(pd.DataFrame({"x": [5.0]})).summary_frame(alpha=0.05)
        above.append(1 + 2.5 + errors[100] > pred["obs_ci_upper"].iloc[0])
    assert np.mean(slopes) == pytest.approx(0.5, abs=0.005)
    assert np.mean(ses) == pytest.approx(np.std(slopes), rel=0.1)  # SE right
    assert np.mean(above) > 0.04  # the normal prediction interval is wrong in the long tail


def test_pooling_biases_a_predictor_tied_to_the_group_effects_not_a_pure_level2_one():
    rng = np.random.default_rng(9)
    groups = np.repeat(np.arange(30), 20)
    est = []
    for _ in range(200):
        u = rng.normal(size=30)
        w = rng.normal(size=30)[groups]
        x = 0.8 * u[groups] + rng.normal(size=600)
        y = 0.5 * x + 0.5 * w + u[groups] + rng.normal(size=600)
        fit = smf.ols("y ~ x + w", pd.DataFrame({"x": x, "w": w, "y": y})).fit()
        est.append([fit.params["x"], fit.params["w"], fit.bse["w"]])
    est = np.array(est)
    assert est[:, 0].mean() > 0.8  # x: biased upwards (true 0.5)
    assert est[:, 1].mean() == pytest.approx(0.5, abs=0.03)  # w: unbiased
    assert est[:, 2].mean() < 0.6 * est[:, 1].std()  # ... but its OLS SE is far too small


def test_a_level1_predictor_raises_the_level2_variance_here(schools):
    from mixedtools import explained

    table = explained.variance_sequence(
        {
            "null": mt.lmer("gpa ~ 1 + (1 | school)", schools),
            "iq": mt.lmer("gpa ~ iq_c + (1 | school)", schools),
            "level2": mt.lmer("gpa ~ iq_c + elite + teachers + funding + (1 | school)", schools),
        }
    )
    assert table.loc["null", "tau00"] == pytest.approx(0.238, abs=0.001)
    assert table.loc["iq", "tau00"] == pytest.approx(0.584, abs=0.001)
    assert table.loc["iq", "R2_level2"] < 0 < table.loc["level2", "R2_level2"]
    assert table.loc["iq", "sigma2"] < table.loc["null", "sigma2"]


def test_snijders_bosker_r2_by_hand():
    from mixedtools import explained

    hsb = mt.datasets.load("hsb")
    null = mt.lmer("mathach ~ 1 + (1 | school)", hsb)
    fit = mt.lmer("mathach ~ ses + (1 | school)", hsb)
    t0, s0 = explained.intercept_and_residual_variance(null)
    t1, s1 = explained.intercept_and_residual_variance(fit)
    n = 10.0
    table = explained.variance_sequence({"null": null, "ses": fit}, group_size=n)
    assert table.loc["ses", "R2_level1"] == pytest.approx(1 - (s1 + t1) / (s0 + t0))
    assert table.loc["ses", "R2_level2"] == pytest.approx(1 - (s1 / n + t1) / (s0 / n + t0))
    assert table.loc["ses", "R2_marginal"] == pytest.approx(fit.r2()["marginal"])
    with pytest.raises(ValueError, match="null model"):
        explained.variance_sequence({"ses": fit, "null": null})
    with pytest.raises(TypeError, match="mixedtools.lmer"):
        explained.intercept_and_residual_variance("fit")


def test_plausible_slopes_and_correlation_depend_on_centring(schools):
    rs = mt.lmer("gpa ~ iq_c + (iq_c | school)", schools)
    t00, t11, t01 = rs.varcorr["vcov"].iloc[:3]
    low = rs.fixef["iq_c"] - 1.96 * np.sqrt(t11)
    assert 0 < low < rs.fixef["iq_c"] / 5  # almost every school has a positive slope
    # moving the centring point changes the intercept-slope correlation, the fit does not change
    shifted = schools.assign(iq_c=schools["iq"] - 120)
    rs120 = mt.lmer("gpa ~ iq_c + (iq_c | school)", shifted)
    corr120 = rs120.varcorr["sdcor"].iloc[2]
    c = 20.0
    assert corr120 == pytest.approx(
        (t01 + c * t11) / np.sqrt((t00 + 2 * c * t01 + c * c * t11) * t11), abs=0.01
    )
    assert abs(rs.varcorr["sdcor"].iloc[2]) < 0.1 < corr120


def test_grand_mean_centring_blends_within_and_between_when_groups_are_small():
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(150), 4)
    xm = rng.normal(0, 2, size=150)
    d = pd.DataFrame({"group": g, "x": xm[g] + rng.normal(size=600)})
    d["x_mean"] = d.groupby("group")["x"].transform("mean")
    d["x_cwc"] = d["x"] - d["x_mean"]
    d["y"] = 0.5 * (d["x"] - xm[g]) - 0.3 * xm[g] + rng.normal(0, 0.4, 150)[g]
    d["y"] += rng.normal(size=600)
    blend = mt.lmer("y ~ x + (1 | group)", d).fixef["x"]
    sep = mt.lmer("y ~ x_cwc + x_mean + (1 | group)", d).fixef
    assert sep["x_mean"] < blend < sep["x_cwc"]
    assert sep["x_cwc"] - blend > 0.3  # far from the within effect
    assert blend - sep["x_mean"] > 0.1  # and from the between effect
    # a mean of 4 observations carries their within deviations: the between coefficient
    # estimates (0.5 * 1/4 - 0.3 * 4) / (4 + 1/4), not -0.3 (within two standard errors here)
    expected_between = (0.5 * 0.25 - 0.3 * 4) / (4 + 0.25)
    assert sep["x_mean"] == pytest.approx(expected_between, abs=0.06)


def test_elite_df_exceed_the_school_count_because_of_the_iq_gap(schools):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grand = mt.lmer("gpa ~ iq_c + elite + teachers + funding + (iq_c | school)", schools)
        split = mt.lmer(
            "gpa ~ iq_cwc + iq_mean + elite + teachers + funding + (iq_cwc | school)", schools
        )
    assert grand.coef_table().loc["elite[T.True]", "df"] > 40
    assert split.coef_table().loc["elite[T.True]", "df"] < 40


def test_h9_with_few_groups_the_multilevel_model_is_weak_not_wrong(schools):
    # The notes' advice for fewer than ~10 groups (group dummies) answers level-1 questions only:
    # the dummies absorb every school-level predictor ...
    three = schools[schools["school"].isin(["s01", "s02", "s03"])]
    dummies = smf.ols("gpa ~ iq_c + funding + C(school)", three)
    assert np.linalg.matrix_rank(dummies.exog) < dummies.exog.shape[1]
    # ... while the multilevel model with the HLM rule's df keeps its coverage with 5 groups
    # (and the z intervals do not): weak, not wrong.
    study = simulate.power(n_groups=5, group_size=5, n_reps=200, seed=11, max_workers=1)
    t = study[study["method"] == "t (HLM rule)"].set_index("effect")
    z = study[study["method"] == "z"].set_index("effect")
    assert (t["coverage"] >= 0.95 - 3 * t["coverage_mcse"]).all()
    assert (z["coverage"] < t["coverage"]).all()
    assert (t["power"] < 0.3).all()
