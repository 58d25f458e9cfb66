"""The growth-model facts of chapter 3b against lme4, lmerTest and plm (growth_reference.R).

Polynomial growth and the centring of time (Oxboys), piecewise growth with a knot at the start of
sleep restriction (sleepstudy), and a time-varying covariate split into its person mean and the
deviation from it (wage_panel).
"""

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import mixedtools as mt

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "growth_reference.json").read_text())

OX = {
    "linear": "height ~ age + (age | subject)",
    "quadratic": "height ~ age + I(age^2) + (age | subject)",
    "random_quadratic": "height ~ age + I(age^2) + (age + I(age^2) | subject)",
}
FIRST = "height ~ time + I(time^2) + (time + I(time^2) | subject)"


def _r_names(names):
    return ["(Intercept)" if n == "Intercept" else n for n in names]


def _check_fit(fit, ref, rel=1e-5):
    """Deviance (or REML criterion), fixed effects and variance components as lme4 has them."""
    assert fit.deviance == pytest.approx(ref["deviance"], rel=1e-8)
    assert _r_names(fit.fixef.index) == list(ref["fixef"])
    np.testing.assert_allclose(fit.fixef, list(ref["fixef"].values()), rtol=rel, atol=1e-7)
    np.testing.assert_allclose(fit.varcorr["vcov"], ref["varcorr"]["vcov"], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(fit.varcorr["sdcor"], ref["varcorr"]["sdcor"], rtol=1e-4, atol=1e-6)


def _check_tests(fit, ref):
    table = fit.coef_table()
    np.testing.assert_allclose(table["std_error"], list(ref["std_error"].values()), rtol=1e-4)
    np.testing.assert_allclose(table["df"], list(ref["df"].values()), rtol=1e-3)


@cache
def oxboys():
    data = mt.datasets.load("oxboys")
    data["time"] = data["age"] + 1
    return data


@cache
def ox_ml():
    return {k: mt.lmer(f, oxboys(), reml=False) for k, f in OX.items()}


@cache
def ox_reml():
    return {
        "linear": mt.lmer(OX["linear"], oxboys()),
        "quadratic": mt.lmer(OX["quadratic"], oxboys()),
        "centred_middle": mt.lmer(OX["random_quadratic"], oxboys()),
        "centred_first": mt.lmer(FIRST, oxboys()),
    }


# ---- polynomial growth ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OX))
def test_oxboys_ml_fits_equal_lme4(name):
    _check_fit(ox_ml()[name], REF["oxboys"]["ml"][name])


@pytest.mark.parametrize("name", ["linear", "quadratic", "centred_middle", "centred_first"])
def test_oxboys_reml_fits_and_satterthwaite_tests_equal_lme4_lmertest(name):
    _check_fit(ox_reml()[name], REF["oxboys"]["reml"][name])
    _check_tests(ox_reml()[name], REF["oxboys"]["reml"][name])


def test_quadratic_trend_and_random_curvature_are_both_clearly_supported():
    """The text: ML LR about 46 on 1 df, then about as much again on 3 df; AIC and BIC agree."""
    fits = ox_ml()
    fixed = mt.lrt(fits["linear"], fits["quadratic"]).loc["full"]
    random = mt.lrt(fits["quadratic"], fits["random_quadratic"]).loc["full"]
    ref = REF["oxboys"]
    assert fixed["chisq"] == pytest.approx(ref["lrt_quadratic"]["chisq"], rel=1e-6)
    assert fixed["df"] == 1 and fixed["p_value"] == pytest.approx(ref["lrt_quadratic"]["p_naive"])
    assert random["chisq"] == pytest.approx(ref["lrt_random_quadratic"]["chisq"], rel=1e-6)
    assert random["df"] == 3
    # the boundary mixture 1/2 chi2_2 + 1/2 chi2_3, smaller than the naive chi2_3 p-value
    assert random["p_value"] == pytest.approx(ref["lrt_random_quadratic"]["p_mixture"], rel=1e-5)
    assert random["p_value"] < random["p_naive"]
    assert round(fixed["chisq"]) == 46 and abs(random["chisq"] - fixed["chisq"]) < 1
    assert max(fixed["p_value"], random["p_value"]) < 0.001
    for criterion in ("aic", "bic"):
        values = [getattr(f, criterion) for f in fits.values()]
        assert values == sorted(values, reverse=True)
    assert ox_reml()["centred_middle"].fixef["I(age^2)"] > 0  # growth accelerates


def test_reml_criteria_of_different_fixed_parts_do_not_give_the_ml_statistic():
    reml_gap = ox_reml()["linear"].deviance - ox_reml()["quadratic"].deviance
    ref = REF["oxboys"]["reml"]
    assert reml_gap == pytest.approx(ref["linear"]["deviance"] - ref["quadratic"]["deviance"])
    ml_gap = ox_ml()["linear"].deviance - ox_ml()["quadratic"].deviance
    assert abs(ml_gap - reml_gap) > 2  # 45.77 against 43.06


def test_growth_rate_is_about_5_at_the_start_and_8_at_the_end():
    fit = ox_reml()["centred_middle"]
    rates = mt.lmm.linear_combinations(fit, [[0, 1, 2 * a] for a in (-1, 0, 1)])
    assert rates["estimate"].round(0).tolist() == [5, 7, 8]  # 5.03, 6.52, 8.00
    assert rates["estimate"].iloc[1] == pytest.approx(fit.fixef["age"])
    # the rate at the first occasion is the linear coefficient of the model centred there
    assert rates["estimate"].iloc[0] == pytest.approx(
        ox_reml()["centred_first"].fixef["time"], rel=1e-5
    )


def test_centring_time_changes_intercept_variance_and_correlations_not_the_fit():
    middle, first = ox_reml()["centred_middle"], ox_reml()["centred_first"]
    assert middle.deviance == pytest.approx(first.deviance, rel=1e-10)
    assert middle.fixef.iloc[2] == pytest.approx(first.fixef.iloc[2], rel=1e-6)
    vm, vf = middle.varcorr, first.varcorr
    # unchanged: the curvature's SD and the residual SD
    assert vm["sdcor"].iloc[2] == pytest.approx(vf["sdcor"].iloc[2], rel=1e-4)
    assert vm["sdcor"].iloc[-1] == pytest.approx(vf["sdcor"].iloc[-1], rel=1e-5)
    # changed: SD of intercepts about 8.0 -> 7.2, corr(intercept, linear) 0.61 -> 0.41,
    # corr(linear, quadratic) changes sign
    assert (round(vm["sdcor"].iloc[0], 1), round(vf["sdcor"].iloc[0], 1)) == (8.0, 7.2)
    assert (round(vm["sdcor"].iloc[3], 2), round(vf["sdcor"].iloc[3], 2)) == (0.61, 0.41)
    assert vm["sdcor"].iloc[5] > 0 > vf["sdcor"].iloc[5]
    # tau00 at the first occasion = Var(u0 - u1 + u2) from the middle-centred covariance matrix
    v = vm["vcov"].to_numpy()
    tau = np.array([[v[0], v[3], v[4]], [v[3], v[1], v[5]], [v[4], v[5], v[2]]])
    a = np.array([1, -1, 1])
    assert a @ tau @ a == pytest.approx(vf["vcov"].iloc[0], rel=1e-4)


# ---- piecewise growth -----------------------------------------------------------------------


@cache
def sleep_knot():
    sleep = mt.datasets.load("sleepstudy")
    return sleep.assign(restricted=(sleep["days"] - 2).clip(lower=0))


@cache
def knot_fits():
    return {
        "linear": mt.lmer("reaction ~ days + (days | subject)", sleep_knot(), reml=False),
        "piecewise": mt.lmer(
            "reaction ~ days + restricted + (days | subject)", sleep_knot(), reml=False
        ),
    }


def test_piecewise_fits_equal_lme4():
    for name, fit in knot_fits().items():
        _check_fit(fit, REF["sleepstudy"]["ml"][name])
    reml = knot_fits()["piecewise"].refit(reml=True)
    _check_fit(reml, REF["sleepstudy"]["reml"])
    _check_tests(reml, REF["sleepstudy"]["reml"])


def test_slope_doubles_after_the_knot_but_the_data_alone_do_not_demand_the_knot():
    test = mt.lrt(knot_fits()["linear"], knot_fits()["piecewise"]).loc["full"]
    ref = REF["sleepstudy"]
    assert test["chisq"] == pytest.approx(ref["lrt_knot"]["chisq"], rel=1e-6)
    assert test["p_value"] == pytest.approx(ref["lrt_knot"]["p_naive"], rel=1e-5)
    assert 0.1 < test["p_value"] < 0.2  # 0.142
    reml = knot_fits()["piecewise"].refit(reml=True)
    phases = mt.lmm.linear_combinations(reml, [[0, 1, 0], [0, 1, 1], [0, 0, 1]])
    before, after, change = phases.itertuples(index=False)
    # the slope after the knot, as lmerTest's contest gives it
    assert after.estimate == pytest.approx(ref["slope_after"]["estimate"], rel=1e-6)
    assert after.std_error == pytest.approx(ref["slope_after"]["std_error"], rel=1e-4)
    assert after.df == pytest.approx(ref["slope_after"]["df"], rel=1e-3)
    assert round(after.estimate) == 11 and 1.8 < after.estimate / before.estimate < 2.4
    # the slope before the knot is imprecise: its interval holds 0 and the later slope
    assert before.ci_lower < 0 < before.ci_upper and before.ci_upper > after.estimate
    # the t-test of the change agrees with the likelihood-ratio test
    assert change.p_value > 0.05 and abs(change.p_value - test["p_value"]) < 0.01


# ---- time-varying covariate -----------------------------------------------------------------


@cache
def wages():
    data = pd.read_csv(HERE / "panel_wage_panel.csv")
    data = mt.lmm.within_between(data, "union", "nr")
    data["t"] = data["year"] - 1980
    return data


@cache
def union_fits():
    return {
        "conflated": mt.lmer("lwage ~ t + union + (1 | nr)", wages()),
        "split": mt.lmer("lwage ~ t + union_within + union_between + (1 | nr)", wages()),
    }


@cache
def fixed_effects():
    return mt.panel.fixed_effects("lwage ~ t + union", wages().set_index(["nr", "year"]))


def test_wage_models_equal_lme4_and_plm():
    ref = REF["wage_panel"]
    for name, fit in union_fits().items():
        _check_fit(fit, ref[name])
        _check_tests(fit, ref[name])
    pooled = smf.ols("lwage ~ t + union", wages()).fit()
    np.testing.assert_allclose(pooled.params, list(ref["pooled_ols"].values()), rtol=1e-10)
    fe = fixed_effects()
    for term in ("t", "union"):
        assert fe.params[term] == pytest.approx(ref["fixed_effects"]["estimate"][term], rel=1e-10)
        assert fe.std_errors[term] == pytest.approx(
            ref["fixed_effects"]["std_error"][term], rel=1e-8
        )


def test_within_coefficient_is_exactly_the_fixed_effects_estimate():
    split = union_fits()["split"]
    assert abs(split.fixef["union_within"] - fixed_effects().params["union"]) < 1e-9
    # practically the same standard error (0.019 both, printed to three decimals)
    se = split.coef_table().loc["union_within", "std_error"]
    assert round(se, 3) == round(fixed_effects().std_errors["union"], 3)
    # exact only with a random intercept: with a random slope for t it is close, not equal
    slopes = mt.lmer("lwage ~ t + union_within + union_between + (t | nr)", wages())
    gap = abs(slopes.fixef["union_within"] - fixed_effects().params["union"])
    assert 1e-5 < gap < 0.002


def test_a_single_union_coefficient_blends_the_between_and_within_effects():
    split = union_fits()["split"].fixef
    within, between = split["union_within"], split["union_between"]
    assert round(between / within) == 3  # 0.253 against 0.086
    pooled = smf.ols("lwage ~ t + union", wages()).fit().params["union"]
    conflated = union_fits()["conflated"].fixef["union"]
    toward_within = {
        name: (between - b) / (between - within)
        for name, b in {"pooled OLS": pooled, "random intercept": conflated}.items()
    }
    # both lie strictly between the two effects; OLS a little less than half the way to the
    # within coefficient, the random-intercept model most of the way
    assert all(0 < share < 1 for share in toward_within.values())
    assert round(toward_within["pooled OLS"], 2) == 0.41
    assert round(toward_within["random intercept"], 2) == 0.87


def test_time_needs_no_split_in_a_balanced_panel():
    assert wages().groupby("nr")["t"].mean().nunique() == 1
