"""The facts chapter 1 demonstrates (claims C1-C8 of the source notes), asserted."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import mixedtools as mt
from mixedtools import rejection, simulate


def _reml_variances(data):
    varcorr = mt.lmer("y ~ 1 + (1 | group)", data).varcorr
    return varcorr["vcov"].iloc[0], varcorr["vcov"].iloc[-1]


def test_c2_anova_estimators_equal_reml_when_balanced_and_differ_when_not():
    balanced = simulate.one_way_random([10] * 30, 50, 4, 16, seed=11)
    vc = mt.anova.variance_components(balanced, dv="y", group="group")
    between, within = _reml_variances(balanced)
    assert vc.sigma2_between == pytest.approx(between, rel=1e-5)
    assert vc.sigma2_within == pytest.approx(within, rel=1e-5)
    sizes = np.random.default_rng(12).integers(2, 26, size=30)
    unbalanced = simulate.one_way_random(sizes, 50, 4, 16, seed=11)
    vc = mt.anova.variance_components(unbalanced, dv="y", group="group")
    between, within = _reml_variances(unbalanced)
    assert abs(vc.sigma2_between - between) / between > 1e-3


def test_c4_a_two_level_factor_estimates_a_variance_uselessly_imprecisely():
    # A variance can be estimated from two levels, but with 1 df: its 95% interval spans more than
    # three orders of magnitude (the chapter's interval table).
    lower, upper = 1 / stats.chi2.ppf(0.975, 1), 1 / stats.chi2.ppf(0.025, 1)
    assert upper / lower > 1000


def test_c5_a_factor_costs_k_minus_1_columns_a_covariate_one():
    sleep = mt.datasets.load("sleepstudy")
    assert smf.ols("reaction ~ C(days)", sleep).fit().df_model == sleep["days"].nunique() - 1
    assert smf.ols("reaction ~ days", sleep).fit().df_model == 1


def test_c7_oven_effect_is_tested_with_batch_degrees_of_freedom():
    ovens = simulate.oven_batch(oven_means=(10.0, 11.5), sigma2_batch=0.5, sigma2_part=0.2, seed=5)
    means = ovens.groupby(["oven", "batch"], as_index=False)["shrinkage"].mean()
    right = mt.anova.oneway(means, dv="shrinkage", between="oven")
    wrong = mt.anova.oneway(ovens, dv="shrinkage", between="oven")
    assert right.loc["Residual", "df"] == 4 and wrong.loc["Residual", "df"] == 28
    assert wrong.loc["oven", "p_value"] < right.loc["oven", "p_value"]
    fit = mt.lmer("shrinkage ~ oven + (1 | batch)", ovens)
    row = fit.coef_table(ddf="satterthwaite").loc["oven[T.B]"]
    assert row["df"] == pytest.approx(4, rel=1e-4)
    assert row["t"] ** 2 == pytest.approx(right.loc["oven", "F"], rel=1e-4)


# ----------------------------------------------------------------- second edition (issue 12)


@pytest.fixture(scope="module")
def three_analyses():
    return rejection.fixed_vs_random(20, 20, icc=[0.0, 0.3], n_reps=400, seed=3, max_workers=2)


def _rate(table, icc, analysis, predictor):
    row = table.query("icc == @icc and analysis == @analysis and predictor == @predictor")
    return float(row["rejection_rate"].iloc[0])


def test_c4_ignoring_the_groups_inflates_level2_type1_error_only(three_analyses):
    assert _rate(three_analyses, 0.3, "pooled OLS", "w (level 2)") > 0.3
    assert _rate(three_analyses, 0.3, "pooled OLS", "x (level 1)") < 0.09


def test_c4_school_dummies_keep_level1_tests_and_cannot_estimate_level2(three_analyses):
    assert np.isnan(_rate(three_analyses, 0.3, "school dummies", "w (level 2)"))
    assert 0.02 < _rate(three_analyses, 0.3, "school dummies", "x (level 1)") < 0.08


def test_c4_the_mixed_model_is_a_mixed_model_and_keeps_both_levels(three_analyses):
    for predictor in ("x (level 1)", "w (level 2)"):
        assert 0.02 < _rate(three_analyses, 0.3, "mixed model (Satterthwaite)", predictor) < 0.08
    # the mixed-model p-value of one replicate is lmer's Satterthwaite p-value
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(8), 5)
    d = pd.DataFrame({"g": g, "x": rng.normal(size=40), "w": rng.normal(size=8)[g]})
    d["y"] = rng.normal(size=8)[g] + rng.normal(size=40)
    fit = mt.lmer("y ~ x + w + (1 | g)", d)
    assert fit.coef_table().loc["w", "df"] == pytest.approx(6.0, abs=0.5)


def test_c2_unbalanced_ssa_and_sse_stay_independent_but_msa_is_not_scaled_chi2():
    sizes = np.random.default_rng(12).integers(2, 26, size=30)
    tables = [
        mt.anova.oneway(
            simulate.one_way_random(sizes, sigma2_between=4, sigma2_within=16, seed=1000 + r),
            dv="y",
            between="group",
        )
        for r in range(600)
    ]
    ssa = np.array([t.loc["group", "sum_sq"] for t in tables])
    sse = np.array([t.loc["Residual", "sum_sq"] for t in tables])
    assert abs(np.corrcoef(ssa, sse)[0, 1]) < 0.1  # independent (up to noise)
    msa = ssa / 29
    # a scaled chi2 with 29 df would have Var/E^2 = 2/29 = 0.069
    assert msa.var() / msa.mean() ** 2 > 0.069
    # exact, from the quadratic form of the group means: SSA = m' A m, Var(m_j) = 4 + 16 / n_j
    a = np.diag(sizes) - np.outer(sizes, sizes) / sizes.sum()
    av = a @ np.diag(4 + 16 / sizes)
    exact = 2 * np.trace(av @ av) / np.trace(av) ** 2
    assert exact > 2 / 29 + 0.01
    assert msa.var() / msa.mean() ** 2 == pytest.approx(exact, rel=0.15)


def test_c1_expected_variance_of_y_with_a_random_factor():
    sizes = [20] * 400
    n = sum(sizes)
    share = (n - sum(s * s for s in sizes) / n) / (n - 1)
    d = simulate.one_way_random(sizes, mu=50, sigma2_between=48, sigma2_within=16, seed=7)
    vc = mt.anova.variance_components(d, dv="y", group="group")
    # the sample variance matches the expectation evaluated at the estimated components
    expected_here = vc.sigma2_within + vc.sigma2_between * share
    assert d["y"].var() == pytest.approx(expected_here, rel=0.02)
    assert 16 + 48 * share == pytest.approx(63.88, abs=0.01)
