"""Chapter 6's second-edition claims: few-cluster inference on Grunfeld, two-way random effects,
Nickell's bias and Anderson-Hsiao, FE vs FD, and the Monte Carlo rates with their standard errors.

Each test recomputes the fact with mixedtools (seeded as the chapter is); none reads the notebook.
"""

import warnings

import numpy as np
import pytest
from linearmodels import FirstDifferenceOLS

import mixedtools as mt


@pytest.fixture(scope="module")
def grunfeld():
    return mt.datasets.load("grunfeld").set_index(["firm", "year"])


@pytest.fixture(scope="module")
def within(grunfeld):
    return mt.panel.fixed_effects("inv ~ value + capital", grunfeld)


def test_fe_and_fd_slopes_differ_on_grunfeld(grunfeld, within):
    """Mark 2: 'nearly the same slopes' does not hold for value (0.1101 vs 0.0891, -19%)."""
    fd = FirstDifferenceOLS.from_formula("inv ~ value + capital", grunfeld).fit(
        cov_type="clustered", cluster_entity=True
    )
    assert within.params["value"] == pytest.approx(0.1101, abs=5e-5)
    assert fd.params["value"] == pytest.approx(0.0891, abs=5e-5)
    assert fd.params["value"] / within.params["value"] - 1 < -0.15
    # FD's clustered SE of capital is more than twice the within one: within is the precise choice
    fe_cl = mt.panel.cluster_robust(within, vcov="CR0", test="naive-t")
    assert fd.std_errors["capital"] > 2 * fe_cl.loc["capital", "std_error"]


def test_few_clusters_change_the_conclusion_for_capital(within):
    """Mark 5: naive CR1 with t(9) finds both slopes at p < 0.001; CR2's Satterthwaite df are
    below 2, and then value stays significant at 5% while capital does not; the seeded Webb wild
    bootstrap agrees."""
    naive = mt.panel.cluster_robust(within, vcov="CR1", test="naive-t")
    assert (naive["p_value"] < 0.001).all()
    cr2 = mt.panel.cluster_robust(within)
    assert (cr2["df"] < 2).all()
    assert (cr2["std_error"] > naive["std_error"]).all()
    assert cr2.loc["value", "p_value"] < 0.05 < cr2.loc["capital", "p_value"]
    wild = {
        t: mt.panel.wild_bootstrap(within, t, n_boot=9999, weights="webb", seed=2026)["p_value"]
        for t in ("value", "capital")
    }
    assert wild["value"] < 0.05 < wild["capital"]


def test_robust_hausman_p_value_rests_on_a_chi2_reference(grunfeld, within):
    """Mark 5 (summary vs body): the robust chi2 p-value is 0.016, the classical 0.31."""
    re = mt.panel.random_effects("inv ~ 1 + value + capital", grunfeld)
    robust = mt.panel.hausman(within, re, method="aux", robust=True)
    classical = mt.panel.hausman(within, re)
    assert robust.p_value == pytest.approx(0.016, abs=5e-4)
    assert classical.p_value > 0.3


def test_two_way_random_effects_on_grunfeld(grunfeld):
    """Swamy-Arora and Wallace-Hussain estimate the year variance as negative (set to 0);
    Amemiya and Nerlove put it at a few per cent of tau00."""
    fits = {}
    for m in ("swar", "walhus", "amemiya", "nerlove"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fits[m] = mt.panel.random_effects(
                "inv ~ 1 + value + capital", grunfeld, method=m, effect="twoways"
            )
        assert bool(caught) == (m in ("swar", "walhus"))
    assert fits["swar"].sigma2_time == 0 and fits["walhus"].sigma2_time == 0
    for m in ("amemiya", "nerlove"):
        assert 0.01 < fits[m].sigma2_time / fits[m].sigma2_id < 0.1


def test_nickell_bias_and_anderson_hsiao_as_in_the_chapter():
    """The chapter's simulation (seeded as there, fewer panels): the FE bias follows Nickell's
    formula and is still about -0.08 at T = 20; Anderson-Hsiao's median is near 0.5."""
    rho = 0.5
    for n_periods in (3, 20):
        fe_est, ah_est = [], []
        for rep in range(60):
            sim = mt.panel.simulate_dynamic(
                100, n_periods + 1, rho=rho, seed=40_000 + 100 * n_periods + rep
            )
            fe_est.append(mt.panel.fixed_effects("y ~ y_lag", sim.dropna()).params["y_lag"])
            ah_est.append(mt.panel.anderson_hsiao(sim, "y").params["d_y_lag"])
        mc_se = np.std(fe_est, ddof=1) / np.sqrt(len(fe_est))
        formula = mt.panel.nickell_bias(rho, n_periods)
        assert abs(np.mean(fe_est) - rho - formula) < 4 * mc_se
        assert abs(np.median(ah_est) - rho) < 0.1
    assert mt.panel.nickell_bias(rho, 20) == pytest.approx(-0.078, abs=0.002)


def test_anderson_hsiao_on_empluk_is_explosive_and_imprecise():
    data = mt.datasets.load("empluk")
    data["log_emp"], data["log_wage"] = np.log(data["emp"]), np.log(data["wage"])
    data = data.set_index(["firm", "year"])
    ah = mt.panel.anderson_hsiao(data, "log_emp", exog=["log_wage"])
    lagged = data.assign(log_emp_lag=data.groupby(level="firm")["log_emp"].shift()).dropna()
    fe = mt.panel.fixed_effects("log_emp ~ log_emp_lag + log_wage", lagged)
    assert ah.params["d_log_emp_lag"] > 1 > fe.params["log_emp_lag"]
    assert ah.std_errors["d_log_emp_lag"] > 3 * fe.std_errors["log_emp_lag"]


def test_hausman_power_table_has_monte_carlo_standard_errors():
    """Mark 15: the power rates at corr = 0.1 (150 seeded panels, as the chapter) and their MC SE;
    the classical and robust curves nearly coincide (within two MC SE)."""
    rejections = {"classical": [], "robust": []}
    for rep in range(150):
        sim = mt.panel.simulate(100, 5, corr=0.1, seed=10_000 + rep)
        fe = mt.panel.fixed_effects("y ~ x", sim)
        re = mt.panel.random_effects("y ~ 1 + x", sim)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rejections["classical"].append(mt.panel.hausman(fe, re).p_value < 0.05)
        rejections["robust"].append(
            mt.panel.hausman(fe, re, method="aux", robust=True).p_value < 0.05
        )
    rates = {k: np.mean(v) for k, v in rejections.items()}
    se = {k: np.sqrt(r * (1 - r) / 150) for k, r in rates.items()}
    assert rates["classical"] == pytest.approx(0.140, abs=1e-9)
    assert rates["robust"] == pytest.approx(0.133, abs=1e-3)
    assert abs(rates["classical"] - rates["robust"]) < 2 * max(se.values())
    assert max(rates.values()) < 1 / 6  # "fewer than one panel in six"
