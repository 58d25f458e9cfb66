"""The source notes' panel-data claims (P1-P5), as chapter 6 demonstrates them.

Each test recomputes the fact with mixedtools and linearmodels; none reads the notebook.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from linearmodels import FirstDifferenceOLS, PanelOLS, PooledOLS, RandomEffects
from linearmodels.datasets import wage_panel

import mixedtools as mt


@pytest.fixture(scope="module")
def grunfeld():
    return mt.datasets.load("grunfeld").set_index(["firm", "year"])


@pytest.fixture(scope="module")
def fe(grunfeld):
    return PanelOLS.from_formula("inv ~ value + capital + EntityEffects", grunfeld).fit()


def _empl():
    data = mt.datasets.load("empluk")
    for column in ["emp", "wage", "capital", "output"]:
        data[f"log_{column}"] = np.log(data[column])
    return data.set_index(["firm", "year"])


def _simulated_fits(corr, n_reps, seed0, hetero=0.0, n_periods=5):
    for rep in range(n_reps):
        sim = mt.panel.simulate(100, n_periods, corr=corr, hetero=hetero, seed=seed0 + rep)
        fe_sim = PanelOLS(sim["y"], sim[["x"]], entity_effects=True).fit()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the odd panel estimates tau00 < 0 (set to 0)
            yield fe_sim, mt.panel.random_effects("y ~ 1 + x", sim)


# ---- P1: LSDV = within (= PanelOLS); FD nearly the same; time and two-way effects ---------------
def test_p1_lsdv_equals_within(grunfeld, fe):
    lsdv = smf.ols("inv ~ value + capital + C(firm)", grunfeld.reset_index()).fit()
    demeaned = grunfeld - grunfeld.groupby(level=0).transform("mean")
    by_hand = smf.ols("inv ~ 0 + value + capital", demeaned).fit()
    np.testing.assert_allclose(lsdv.params[["value", "capital"]], fe.params, rtol=1e-10)
    np.testing.assert_allclose(by_hand.params, fe.params, rtol=1e-10)
    # the SEs agree only with the df correction for the 10 firm means
    np.testing.assert_allclose(lsdv.bse[["value", "capital"]], fe.std_errors, rtol=1e-10)
    factor = np.sqrt((200 - 10 - 2) / (200 - 2))
    np.testing.assert_allclose(by_hand.bse / lsdv.bse[["value", "capital"]], factor, rtol=1e-10)


def test_p1_first_differences_equal_within_only_for_two_periods(grunfeld, fe):
    fd = FirstDifferenceOLS.from_formula("inv ~ value + capital", grunfeld).fit()
    assert np.abs(fd.params - fe.params).max() > 0.01
    two = grunfeld[grunfeld.index.get_level_values("year").isin([1953, 1954])]
    fe_two = PanelOLS.from_formula("inv ~ value + capital + EntityEffects", two).fit()
    fd_two = FirstDifferenceOLS.from_formula("inv ~ value + capital", two).fit()
    np.testing.assert_allclose(fd_two.params, fe_two.params, rtol=1e-10)


def test_p5_individual_time_and_two_way_effects_are_estimable(grunfeld):
    for terms in ("EntityEffects", "TimeEffects", "EntityEffects + TimeEffects"):
        fit = PanelOLS.from_formula(f"inv ~ value + capital + {terms}", grunfeld).fit()
        assert np.all(np.isfinite(fit.params)) and np.all(fit.std_errors > 0)


# ---- P2: FE allows correlation of the individual effect with X; RE does not --------------------
def test_p2_random_effects_biased_under_correlation_fixed_effects_not():
    slopes = np.array([[f.params["x"], r.params["x"]] for f, r in _simulated_fits(0.6, 100, 0)])
    fe_mean, re_mean = slopes.mean(axis=0)
    assert abs(fe_mean - 1) < 0.02
    assert re_mean - 1 > 0.08


def test_p2_random_effects_more_efficient_without_correlation():
    slopes = np.array([[f.params["x"], r.params["x"]] for f, r in _simulated_fits(0.0, 100, 0)])
    assert np.all(np.abs(slopes.mean(axis=0) - 1) < 0.02)
    fe_sd, re_sd = slopes.std(axis=0)
    assert re_sd < fe_sd


# ---- P3: RE by ML equals the HLM random-intercept model; theta between pooled and FE ------------
def test_p3_ml_random_effects_equals_hlm_random_intercept(grunfeld):
    ml = mt.panel.random_effects("inv ~ 1 + value + capital", grunfeld, method="ml")
    hlm = mt.lmer("inv ~ value + capital + (1 | firm)", grunfeld.reset_index(), reml=False)
    np.testing.assert_allclose(ml.params, hlm.fixef, rtol=1e-6)
    assert ml.loglik == pytest.approx(hlm.loglik, abs=1e-6)


def test_p3_theta_moves_from_pooled_to_within(grunfeld, fe):
    formula = "inv ~ 1 + value + capital"
    re = mt.panel.random_effects(formula, grunfeld)
    theta = 1 - np.sqrt(1 / (np.arange(1, 31)[:, None] * np.array([0.1, 1, 10]) + 1))
    assert np.all(np.diff(theta, axis=0) > 0) and np.all(np.diff(theta, axis=1) > 0)
    assert 0.83 < re.theta.iloc[0] < 0.87
    pooled = PooledOLS.from_formula(formula, grunfeld).fit()
    # close to the within slopes, far from the pooled ones ...
    assert np.all(
        np.abs(re.params[fe.params.index] - fe.params)
        < np.abs(pooled.params[fe.params.index] - fe.params)
    )
    # ... but not each coefficient strictly between the two (the value slope lies beyond FE)
    assert re.params["value"] < fe.params["value"] < pooled.params["value"]


def test_p3_four_methods_similar_on_grunfeld(grunfeld):
    fits = {
        m: mt.panel.random_effects("inv ~ 1 + value + capital", grunfeld, method=m)
        for m in mt.panel.METHODS
    }
    thetas = [f.theta.iloc[0] for f in fits.values()]
    assert 0.83 < min(thetas) and max(thetas) < 0.87
    slopes = pd.DataFrame({m: f.params[["value", "capital"]] for m, f in fits.items()})
    assert (slopes.max(axis=1) - slopes.min(axis=1)).max() < 0.001


def test_unbalanced_linearmodels_random_effects_differs_from_swamy_arora():
    empl = _empl()
    formula = "log_emp ~ 1 + log_wage + log_capital + log_output"
    ours = mt.panel.random_effects(formula, empl)
    theirs = RandomEffects.from_formula(formula, empl).fit()
    assert np.abs(ours.params - theirs.params).max() > 1e-3
    assert ours.theta.nunique() == 3  # one theta per panel length T = 7, 8, 9
    fe_empl = PanelOLS.from_formula(
        "log_emp ~ log_wage + log_capital + log_output + EntityEffects", empl
    ).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h_ours = mt.panel.hausman(fe_empl, ours)
        h_theirs = mt.panel.hausman(fe_empl, theirs)
    assert abs(h_theirs.statistic / h_ours.statistic - 1) > 0.01
    assert max(h_ours.p_value, h_theirs.p_value) < 0.001


# ---- P4: Hausman ---------------------------------------------------------------------------------
def test_p4_hausman_grunfeld_does_not_reject_wage_panel_does(grunfeld, fe):
    re = mt.panel.random_effects("inv ~ 1 + value + capital", grunfeld)
    assert mt.panel.hausman(fe, re).p_value > 0.05
    # ... but the cluster-robust regression-based form rejects at 5% on the same data
    assert mt.panel.hausman(fe, re, method="aux", robust=True).p_value < 0.05
    wages = wage_panel.load().set_index(["nr", "year"])
    fe_w = PanelOLS.from_formula(
        "lwage ~ exper + expersq + union + married + EntityEffects", wages
    ).fit()
    re_w = mt.panel.random_effects("lwage ~ 1 + exper + expersq + union + married", wages)
    for method, robust in (("chisq", False), ("aux", False), ("aux", True)):
        assert mt.panel.hausman(fe_w, re_w, method=method, robust=robust).p_value < 0.001


def test_p4_hausman_size_and_power():
    rates = {}
    for corr in (0.0, 0.3):
        rejected = []
        for fe_sim, re_sim in _simulated_fits(corr, 150, 10_000):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                classical = mt.panel.hausman(fe_sim, re_sim).p_value < 0.05
            robust = mt.panel.hausman(fe_sim, re_sim, method="aux", robust=True).p_value < 0.05
            rejected.append((classical, robust))
        rates[corr] = np.mean(rejected, axis=0)
    assert np.all((rates[0.0] > 0.01) & (rates[0.0] < 0.1))
    assert np.all(rates[0.3] > 0.5)


def test_p4_classical_hausman_loses_size_under_heteroscedasticity_robust_keeps_it():
    rejected = []
    for fe_sim, re_sim in _simulated_fits(0.0, 200, 20_000, hetero=1.5):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            classical = mt.panel.hausman(fe_sim, re_sim).p_value < 0.05
        robust = mt.panel.hausman(fe_sim, re_sim, method="aux", robust=True).p_value < 0.05
        rejected.append((classical, robust))
    classical_rate, robust_rate = np.mean(rejected, axis=0)
    assert classical_rate > 0.09
    assert robust_rate < 0.075


def test_p4_mundlak_reconciles_fixed_and_random_effects(grunfeld, fe):
    crem = mt.panel.mundlak("inv ~ 1 + value + capital", grunfeld)
    np.testing.assert_allclose(crem.params[["value", "capital"]], fe.params, rtol=1e-10)


def test_p4_random_effects_bias_shrinks_with_more_periods():
    bias = [
        np.mean([r.params["x"] for _, r in _simulated_fits(0.3, 60, 30_000, n_periods=n_periods)])
        - 1
        for n_periods in (2, 20)
    ]
    assert bias[0] > 2 * bias[1] > 0


# ---- P5: cluster-robust SEs change the picture --------------------------------------------------
def test_p5_robust_standard_errors_larger_on_grunfeld(grunfeld):
    model = PanelOLS.from_formula("inv ~ value + capital + EntityEffects", grunfeld)
    classical = model.fit().std_errors
    clustered = model.fit(cov_type="clustered", cluster_entity=True).std_errors
    kernel = model.fit(cov_type="kernel").std_errors
    assert np.all(clustered > classical) and np.all(kernel > classical)
    assert clustered["capital"] / classical["capital"] > 2.5


def test_p5_time_effects_alone_stay_near_pooled_ols(grunfeld, fe):
    time_only = PanelOLS.from_formula("inv ~ value + capital + TimeEffects", grunfeld).fit()
    pooled = PooledOLS.from_formula("inv ~ 1 + value + capital", grunfeld).fit()
    gap_pooled = np.abs(time_only.params - pooled.params[["value", "capital"]])
    gap_within = np.abs(time_only.params - fe.params)
    assert np.all(gap_pooled < gap_within)


# ---- what the chapter adds to the notes --------------------------------------------------------
def test_fixed_effects_equals_within_slopes_of_group_mean_model_on_unbalanced_panel():
    """The notes' "FE has no counterpart in HLM" is loose: Mundlak's RE model reproduces FE."""
    empl = _empl()
    fe_empl = PanelOLS.from_formula(
        "log_emp ~ log_wage + log_capital + log_output + EntityEffects", empl
    ).fit()
    crem = mt.panel.mundlak("log_emp ~ 1 + log_wage + log_capital + log_output", empl)
    np.testing.assert_allclose(crem.params[fe_empl.params.index], fe_empl.params, rtol=1e-8)


def test_empluk_classical_hausman_invalid_robust_rejects():
    empl = _empl()
    fe_empl = PanelOLS.from_formula(
        "log_emp ~ log_wage + log_capital + log_output + EntityEffects", empl
    ).fit()
    re_empl = mt.panel.random_effects("log_emp ~ 1 + log_wage + log_capital + log_output", empl)
    with pytest.warns(UserWarning, match="not positive definite"):
        mt.panel.hausman(fe_empl, re_empl)
    assert mt.panel.hausman(fe_empl, re_empl, method="aux", robust=True).p_value < 0.001


def test_grunfeld_first_difference_residuals_not_near_minus_half(grunfeld):
    """Exercise: serially uncorrelated level errors would give corr(de_t, de_t-1) = -0.5."""
    fd = FirstDifferenceOLS.from_formula("inv ~ value + capital", grunfeld).fit()
    lagged = fd.resids.groupby(level=0).shift()
    both = pd.concat([fd.resids, lagged], axis=1, keys=["now", "lag"]).dropna()
    assert abs(both["now"].corr(both["lag"])) < 0.25


def test_wage_panel_union_premium_clustered_se_larger():
    wages = wage_panel.load().set_index(["nr", "year"])
    model = PanelOLS.from_formula(
        "lwage ~ exper + expersq + union + married + EntityEffects", wages
    )
    classical, clustered = model.fit(), model.fit(cov_type="clustered", cluster_entity=True)
    assert clustered.std_errors["union"] > classical.std_errors["union"]
    assert 0.08 < np.exp(classical.params["union"]) - 1 < 0.09


def test_mundlak_wald_test_of_means_is_regression_based_hausman_on_balanced_panel(grunfeld, fe):
    formula = "inv ~ 1 + value + capital"
    crem = mt.panel.mundlak(formula, grunfeld)
    means = ["mean(value)", "mean(capital)"]
    b = crem.params[means].to_numpy()
    wald = b @ np.linalg.solve(crem.cov.loc[means, means].to_numpy(), b)
    aux = mt.panel.hausman(fe, mt.panel.random_effects(formula, grunfeld), method="aux")
    np.testing.assert_allclose(wald, aux.statistic, rtol=1e-8)
    # on the unbalanced EmplUK panel the two are not identical
    empl = _empl()
    formula = "log_emp ~ 1 + log_wage + log_capital + log_output"
    crem = mt.panel.mundlak(formula, empl)
    means = [name for name in crem.params.index if name.startswith("mean(")]
    b = crem.params[means].to_numpy()
    wald = b @ np.linalg.solve(crem.cov.loc[means, means].to_numpy(), b)
    fe_empl = PanelOLS.from_formula(
        "log_emp ~ log_wage + log_capital + log_output + EntityEffects", empl
    ).fit()
    aux = mt.panel.hausman(fe_empl, mt.panel.random_effects(formula, empl), method="aux")
    assert abs(wald / aux.statistic - 1) > 0.01
