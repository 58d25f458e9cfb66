"""The facts chapter 1 demonstrates (claims C1-C8 of the source notes), asserted."""

import numpy as np
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import mixedtools as mt
from mixedtools import simulate


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


def test_c4_a_two_level_factor_cannot_estimate_a_variance():
    # The 95% interval of a variance estimated with 1 df spans more than three orders of magnitude.
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
