"""Two-way panel models, Nerlove's estimator, few-cluster inference and dynamic panels, against
plm, clubSandwich and a hand-written 2SLS in R (reference/panel_extensions_reference.R writes the
JSON; the tests never need R)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from linearmodels import PanelOLS

import mixedtools as mt
from tests.test_panel import CASES, _case, _empluk

HERE = Path(__file__).parent / "reference"
REFERENCE = json.loads((HERE / "panel_extensions_reference.json").read_text())["cases"]
AH_REFERENCE = json.loads((HERE / "panel_extensions_reference.json").read_text())[
    "anderson_hsiao_empluk"
]
BALANCED = [name for name in CASES if REFERENCE[name]["balanced"]]


def _close(actual, expected, rtol=1e-6, atol=0.0):
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=atol
    )


@pytest.mark.parametrize("name", list(CASES))
def test_twoway_fixed_effects_match_plm(name):
    data, re_formula, _ = _case(name)
    fe = mt.panel.fixed_effects(re_formula, data, effect="twoways")
    ref = REFERENCE[name]["within_twoways"]
    assert list(fe.params.index) == ref["term"]  # e.g. wage_panel: exper absorbed by the years
    _close(fe.params, ref["estimate"])
    _close(fe.std_errors, ref["std_error"])


def test_twoway_fixed_effects_match_linearmodels_on_an_unbalanced_panel():
    data, re_formula, _ = _case("empluk")
    ours = mt.panel.fixed_effects(re_formula, data, effect="twoways")
    theirs = PanelOLS.from_formula(
        "log_emp ~ log_wage + log_capital + log_output + EntityEffects + TimeEffects", data
    ).fit()
    _close(ours.params, theirs.params, rtol=1e-8)
    _close(ours.std_errors, theirs.std_errors, rtol=1e-8)


@pytest.mark.parametrize("method", ["swar", "walhus", "amemiya", "nerlove"])
@pytest.mark.parametrize("name", BALANCED)
def test_twoway_random_effects_match_plm(name, method):
    data, re_formula, _ = _case(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a variance estimated negative is set to 0, as plm
        re = mt.panel.random_effects(re_formula, data, method=method, effect="twoways")
    ref = REFERENCE[name][f"random_twoways_{method}"]
    assert re.effect == "twoways"
    _close(re.params, ref["estimate"])
    _close(re.std_errors, ref["std_error"])
    sigma2 = ref["sigma2"]
    _close(
        [re.sigma2_idios, re.sigma2_id, re.sigma2_time],
        [sigma2["idios"], sigma2["id"], sigma2["time"]],
        atol=1e-10,
    )
    theta = ref["theta"]
    _close(
        [re.theta.iloc[0], re.theta_time, re.theta_total],
        [theta["id"], theta["time"], theta["total"]],
        atol=1e-10,
    )


@pytest.mark.parametrize("name", BALANCED)
def test_twoway_hausman_matches_plm(name):
    data, re_formula, _ = _case(name)
    fe = mt.panel.fixed_effects(re_formula, data, effect="twoways")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        re = mt.panel.random_effects(re_formula, data, effect="twoways")
        h = mt.panel.hausman(fe, re)
    ref = REFERENCE[name]["hausman_twoways"]
    _close(h.statistic, ref["statistic"])
    assert h.df == ref["df"]


def test_hausman_refuses_fits_with_different_effects():
    data, re_formula, _ = _case("grunfeld")
    fe = mt.panel.fixed_effects(re_formula, data, effect="twoways")
    re = mt.panel.random_effects(re_formula, data)
    with pytest.raises(ValueError, match="effect"):
        mt.panel.hausman(fe, re)
    with pytest.warns(UserWarning, match="time variance"):  # Grunfeld's is negative, set to 0
        re_twoways = mt.panel.random_effects(re_formula, data, effect="twoways")
    with pytest.raises(ValueError, match="one-way"):
        mt.panel.hausman(fe, re_twoways, method="aux")


@pytest.mark.parametrize("name", list(CASES))
def test_nerlove_matches_plm(name):
    data, re_formula, _ = _case(name)
    re = mt.panel.random_effects(re_formula, data, method="nerlove")
    ref = REFERENCE[name]["random_nerlove"]
    _close(re.params, ref["estimate"])
    _close(re.std_errors, ref["std_error"])
    _close([re.sigma2_idios, re.sigma2_id], [ref["sigma2"]["idios"], ref["sigma2"]["id"]])


def test_twoway_random_effects_refuse_unbalanced_panels_and_ml():
    data, re_formula, _ = _case("empluk")
    with pytest.raises(ValueError, match="balanced"):
        mt.panel.random_effects(re_formula, data, effect="twoways")
    grunfeld, formula, _ = _case("grunfeld")
    with pytest.raises(ValueError, match="crossed"):
        mt.panel.random_effects(formula, grunfeld, method="ml", effect="twoways")
    with pytest.raises(ValueError, match="effect"):
        mt.panel.random_effects(formula, grunfeld, effect="time")


@pytest.mark.parametrize("name", list(CASES))
def test_cr2_satterthwaite_matches_clubsandwich(name):
    data, re_formula, _ = _case(name)
    fe = mt.panel.fixed_effects(re_formula, data)
    ref = REFERENCE[name]["cr2"]
    table = mt.panel.cluster_robust(fe)
    assert list(table.index) == ref["term"]
    _close(table["std_error"], ref["std_error"])
    _close(table["df"], ref["df"])
    _close(table["p_value"], ref["p_value"])
    naive = mt.panel.cluster_robust(fe, test="naive-t")
    _close(naive["df"], ref["df_naive"])
    _close(naive["p_value"], ref["p_naive"])


@pytest.mark.parametrize("vcov", ["CR0", "CR1"])
def test_cr0_cr1_match_clubsandwich(vcov):
    data, re_formula, _ = _case("empluk")
    fe = mt.panel.fixed_effects(re_formula, data)
    expected = np.sqrt(np.diag(np.array(REFERENCE["empluk"][f"vcov_{vcov.lower()}"])))
    _close(mt.panel.cluster_robust(fe, vcov=vcov)["std_error"], expected)


def test_cluster_robust_refuses_two_way_fits_and_bad_options():
    data, re_formula, _ = _case("grunfeld")
    with pytest.raises(ValueError, match="one-way"):
        mt.panel.cluster_robust(mt.panel.fixed_effects(re_formula, data, effect="twoways"))
    fe = mt.panel.fixed_effects(re_formula, data)
    with pytest.raises(ValueError, match="vcov"):
        mt.panel.cluster_robust(fe, vcov="CR3")
    with pytest.raises(TypeError, match="fixed_effects"):
        mt.panel.cluster_robust(PanelOLS.from_formula("inv ~ value + EntityEffects", data).fit())


def test_wild_bootstrap_equals_a_refit_per_sample():
    """The vectorised bootstrap equals, sample by sample, a refit of the restricted-residual
    data by linearmodels with the CR1 covariance of clubSandwich (G / (G - 1))."""
    data, re_formula, _ = _case("grunfeld")
    fe = mt.panel.fixed_effects(re_formula, data)
    wb = mt.panel.wild_bootstrap(fe, "capital", n_boot=99, weights="rademacher", seed=7)
    # observed t: CR1 as clubSandwich
    cr1 = mt.panel.cluster_robust(fe, vcov="CR1")
    _close(wb["t"], cr1.loc["capital", "t"], rtol=1e-10)
    # rebuild the bootstrap by brute force
    d = fe.design
    X, y = d.demean(d.X), d.demean(d.y)
    fitted_r = X[:, [0]] @ np.linalg.lstsq(X[:, [0]], y, rcond=None)[0]
    rng = np.random.default_rng(7)
    w = rng.choice(np.array([-1.0, 1.0]), size=(d.n_entities, 99))
    G = d.n_entities
    exceed = 0
    for b in range(99):
        y_b = fitted_r + (y - fitted_r) * w[d.codes, b]
        frame = pd.DataFrame({"y": y_b, "value": d.X[:, 0], "capital": d.X[:, 1]}, index=d.index)
        fit = PanelOLS(frame["y"], frame[["value", "capital"]], entity_effects=True).fit(
            cov_type="clustered", cluster_entity=True, group_debias=False, debiased=False
        )
        se = np.sqrt(fit.cov.loc["capital", "capital"] * G / (G - 1))
        exceed += abs(fit.params["capital"] / se) >= abs(wb["t"])
    assert wb["p_value"] == pytest.approx(exceed / 99)


def test_wild_bootstrap_size_under_the_null():
    """With the null true and 12 clusters, the Webb wild bootstrap rejects near 5%."""
    rejections = []
    for rep in range(200):
        sim = mt.panel.simulate(12, 10, beta=0.0, seed=50_000 + rep)
        fe = mt.panel.fixed_effects("y ~ x", sim)
        rejections.append(mt.panel.wild_bootstrap(fe, "x", n_boot=199, seed=rep)["p_value"] < 0.05)
    rate = np.mean(rejections)
    assert abs(rate - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 200)


def test_nickell_bias_formula_matches_simulation():
    for T in (3, 10):
        est = [
            mt.panel.fixed_effects(
                "y ~ y_lag", mt.panel.simulate_dynamic(200, T + 1, rho=0.5, seed=r).dropna()
            ).params["y_lag"]
            for r in range(60)
        ]
        mc_se = np.std(est, ddof=1) / np.sqrt(len(est))
        assert abs(np.mean(est) - 0.5 - mt.panel.nickell_bias(0.5, T)) < 4 * mc_se
    assert mt.panel.nickell_bias(0.0, 5) == pytest.approx(-1 / 5)


def test_anderson_hsiao_matches_r_2sls():
    data = _empluk().set_index(["firm", "year"])
    ah = mt.panel.anderson_hsiao(data, "log_emp", exog=["log_wage"])
    ref = AH_REFERENCE
    assert ah.nobs == ref["n_obs"]
    _close(ah.params[["d_log_wage", "d_log_emp_lag"]], ref["estimate"])
    # linearmodels' clustered covariance with debiased=False is the plain (HC0) cluster sandwich
    _close(ah.std_errors[["d_log_wage", "d_log_emp_lag"]], ref["se_cluster_hc0"])
    unadjusted = mt.panel.anderson_hsiao(data, "log_emp", exog=["log_wage"], cov_type="unadjusted")
    _close(unadjusted.std_errors[["d_log_wage", "d_log_emp_lag"]], ref["se_unadjusted"])


def test_anderson_hsiao_is_consistent_where_fixed_effects_is_not():
    panel = mt.panel.simulate_dynamic(2000, 6, rho=0.5, seed=11)
    ah = mt.panel.anderson_hsiao(panel, "y")
    fe = mt.panel.fixed_effects("y ~ y_lag", panel.dropna())
    assert abs(ah.params["d_y_lag"] - 0.5) < 3 * ah.std_errors["d_y_lag"]
    assert fe.params["y_lag"] < 0.5 + mt.panel.nickell_bias(0.5, 5) / 2


def test_lagged_differences_respect_gaps():
    panel = mt.panel.simulate_dynamic(2, 6, seed=2)
    gapped = panel.drop(index=(0, 3))  # entity 0 misses period 3
    diffs = mt.panel.lagged_differences(gapped, "y")
    # entity 0 keeps t = 2 only (t = 4 lacks its lag, t = 5 its second lag); entity 1 keeps 2..5
    assert diffs.index.tolist() == [(0, 2), (1, 2), (1, 3), (1, 4), (1, 5)]
    with pytest.raises(ValueError, match="columns"):
        mt.panel.lagged_differences(panel, "z")


def test_hausman_wild_bootstrap_equals_recomputing_the_robust_test_per_sample():
    from mixedtools.panel.hausman_test import _hausman_aux, _wild_statistics

    data, re_formula, _ = _case("grunfeld")
    fe = mt.panel.fixed_effects(re_formula, data)
    re = mt.panel.random_effects(re_formula, data)
    d = re.design
    y = pd.Series(d.y, index=d.index)
    exog = pd.DataFrame(d.X, index=d.index, columns=d.names)
    names = ["value", "capital"]
    codes = pd.factorize(d.index.get_level_values(0))[0]
    theta_rows = re.theta.to_numpy()[d.codes]
    means = d.expand(d.entity_means(d.X[:, 1:]))
    regressors = np.column_stack([np.ones(d.n_obs), d.X[:, 1:] - theta_rows[:, None] * means])
    regressors = np.column_stack([regressors, d.X[:, 1:] - means])
    y_star = d.y - theta_rows * d.expand(d.entity_means(d.y))
    tested = np.array([3, 4])
    fast = _wild_statistics(regressors, tested, y_star, codes, d.n_entities, 25, "webb", 3)
    # brute force: the same draws, the robust test recomputed on each bootstrap response
    R = regressors[:, :3]
    fitted_r = R @ np.linalg.lstsq(R, y_star, rcond=None)[0]
    values = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    w = np.random.default_rng(3).choice(values, size=(d.n_entities, 25))
    theta = re.theta
    for b in range(25):
        y_b_star = fitted_r + (y_star - fitted_r) * w[codes, b]
        # undo the quasi-demeaning of y so that _hausman_aux applies it again
        y_b = y_b_star + theta_rows * d.expand(d.entity_means(y_b_star) / (1 - theta.to_numpy()))
        slow = _hausman_aux(pd.Series(y_b, index=y.index), exog, theta, names, True)
        assert slow.statistic == pytest.approx(fast[b], rel=1e-8)
    h = mt.panel.hausman(fe, re, method="aux", robust=True, n_boot=999, seed=1)
    assert h.p_value == pytest.approx(0.0158, abs=1e-4) and h.bootstrap_p_value > 0.2
    with pytest.raises(ValueError, match="robust=True"):
        mt.panel.hausman(fe, re, n_boot=999)


def test_hausman_wild_bootstrap_size_with_few_entities():
    """H0 true, 10 entities: with homoscedastic errors the bootstrap p-value rejects near 5% while
    the chi-squared reference of the robust statistic rejects about 20%; with a few very noisy
    entities the bootstrap over-rejects too, but much less than the chi-squared reference."""
    rates = {}
    for hetero in (0.0, 1.0):
        boot, chi2 = [], []
        for rep in range(150):
            sim = mt.panel.simulate(10, 10, corr=0.0, hetero=hetero, seed=60_000 + rep)
            fe = mt.panel.fixed_effects("y ~ x", sim)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                re = mt.panel.random_effects("y ~ 1 + x", sim)
            h = mt.panel.hausman(fe, re, method="aux", robust=True, n_boot=199, seed=rep)
            boot.append(h.bootstrap_p_value < 0.05)
            chi2.append(h.p_value < 0.05)
        rates[hetero] = (np.mean(boot), np.mean(chi2))
    se = np.sqrt(0.05 * 0.95 / 150)
    assert abs(rates[0.0][0] - 0.05) < 3 * se
    assert rates[0.0][1] > 0.05 + 4 * se
    assert rates[1.0][0] < rates[1.0][1] - 2 * se
