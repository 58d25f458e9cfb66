"""mixedtools.bootstrap on glmer fits against pbkrtest's PBmodcomp and lme4's bootstrap intervals.

The reference JSON comes from tests/reference/glmer_bootstrap.R. Bootstrap results are random on
both sides, so the comparisons allow four Monte Carlo standard errors of the difference.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import mixedtools as mt
from mixedtools import bootstrap

REF = json.loads((Path(__file__).parent / "reference" / "glmer_bootstrap.json").read_text())
N_BOOT = 500


def _cbpp():
    return mt.datasets.load("cbpp").astype({"period": "category"})


def _contraception():
    data = mt.datasets.load("contraception")
    data = data[data["district"].astype(int) <= REF["contraception"]["districts"]].copy()
    data["use01"] = (data["use"] == "Y").astype(float)
    return data


def _grouseticks():
    data = mt.datasets.load("grouseticks")
    data["heightc"] = (data["height"] - data["height"].mean()) / 100
    return data[data["year"].astype(str) == REF["grouseticks"]["year"]]


CASES = {
    "cbpp": (
        _cbpp,
        "cbind(incidence, size - incidence) ~ {} + (1 | herd)",
        "period",
        "binomial",
    ),
    "contraception": (_contraception, "use01 ~ {} + (1 | district)", "age", "binomial"),
    "grouseticks": (_grouseticks, "ticks ~ {} + (1 | brood)", "heightc", "poisson"),
}


@cache
def _fits(name):
    load, formula, term, family = CASES[name]
    data = load()
    full = mt.glmer(formula.format(term), data, family=family)
    reduced = mt.glmer(formula.format("1"), data, family=family)
    return reduced, full


@pytest.mark.parametrize("name", list(CASES))
def test_bootstrap_lrt_matches_pbmodcomp(name):
    ref = REF[name]
    reduced, full = _fits(name)
    assert full.loglik == pytest.approx(ref["loglik_full"], abs=1e-3)
    res = bootstrap.bootstrap_lrt(reduced, full, n_boot=N_BOOT, seed=7, max_workers=2)
    assert res["statistic"] == pytest.approx(ref["statistic"], abs=1e-4)
    assert res["df"] == ref["df"]
    assert res["estimation"] == "ML"
    assert res["n_boot"] >= 0.99 * N_BOOT
    null = res.attrs["null_statistics"]
    n_ours, n_r = len(null), ref["nsim"]

    def within(ours, theirs, var_ours, var_r):
        return abs(ours - theirs) < 4 * np.sqrt(var_ours / n_ours + var_r / n_r) + 1 / n_ours

    # the p-value at the observed statistic
    p = ref["p_boot"]
    assert within(res["p_value"], p, p * (1 - p), p * (1 - p))
    # the null distribution: its mean, and its upper tail beyond the chi-square 95% point
    assert within(null.mean(), ref["null_mean"], null.var(), ref["null_sd"] ** 2)
    crit = stats.chi2.ppf(0.95, ref["df"])
    share, share_r = float(np.mean(null > crit)), ref["null_exceed_chisq95"]
    assert within(share, share_r, share * (1 - share), share_r * (1 - share_r))


def test_simulated_binomial_responses_have_the_model_moments():
    _, fit = _fits("cbpp")
    y = bootstrap.simulate_responses(fit, n_sim=4000, seed=5)
    n = fit.structure.prior_weights
    k = y * n
    assert np.abs(k - np.round(k)).max() < 1e-9 and np.all((k >= 0) & (k <= n + 1e-9))
    # one random intercept: E[y] = E[mu(b)], Var[y] = E[mu (1 - mu)] / n + Var[mu(b)],
    # integrated over b ~ N(0, tau00) by Gauss-Hermite quadrature
    eta = fit.predict(type="link", re_form="~0").to_numpy()
    z, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / w.sum()
    mu = 1 / (1 + np.exp(-(eta[:, None] + np.sqrt(fit.tau[0]) * z[None, :])))
    mean = mu @ w
    var = (mu * (1 - mu)) @ w / n + (mu**2) @ w - mean**2
    np.testing.assert_allclose(y.mean(axis=0), mean, atol=4 * np.sqrt(var.max() / 4000))
    np.testing.assert_allclose(y.var(axis=0).mean(), var.mean(), rtol=0.05)


def test_simulated_counts_have_the_model_moments():
    _, fit = _fits("grouseticks")
    y = bootstrap.simulate_responses(fit, n_sim=4000, seed=6)
    assert np.all(y == np.round(y)) and np.all(y >= 0)
    # lognormal mixture of Poissons: E = exp(eta + s2 / 2), Var = E + E^2 (exp(s2) - 1)
    eta = fit.predict(type="link", re_form="~0").to_numpy()
    s2 = fit.tau[0]
    mean = np.exp(eta + s2 / 2)
    var = mean + mean**2 * np.expm1(s2)
    se = np.sqrt(var / 4000)
    assert np.abs((y.mean(axis=0) - mean) / se).max() < 4.5
    np.testing.assert_allclose(y.var(axis=0).sum(), var.sum(), rtol=0.08)


def test_seeds_reproduce_and_executors_agree():
    reduced, full = _fits("grouseticks")
    one = bootstrap.bootstrap_lrt(reduced, full, n_boot=30, seed=3, max_workers=1)
    again = bootstrap.bootstrap_lrt(reduced, full, n_boot=30, seed=3, max_workers=1)
    with ThreadPoolExecutor(2) as pool:
        threads = bootstrap.bootstrap_lrt(reduced, full, n_boot=30, seed=3, executor=pool)
    other = bootstrap.bootstrap_lrt(reduced, full, n_boot=30, seed=4, max_workers=1)
    null = one.attrs["null_statistics"]
    np.testing.assert_array_equal(null, again.attrs["null_statistics"])
    np.testing.assert_array_equal(null, threads.attrs["null_statistics"])
    assert not np.array_equal(null, other.attrs["null_statistics"])
    np.testing.assert_array_equal(
        bootstrap.simulate_responses(full, 3, seed=1), bootstrap.simulate_responses(full, 3, seed=1)
    )
    # the structure's simulation is what GlmerResult.simulate draws
    np.testing.assert_array_equal(
        bootstrap.simulate_responses(full, 2, seed=9), full.simulate(2, seed=9).to_numpy().T
    )


def test_bootstrap_interval_of_a_glmer_sd_matches_lme4():
    ref = REF["cbpp_sd"]
    _, fit = _fits("cbpp")
    ci = bootstrap.bootstrap_varcorr(fit, n_boot=N_BOOT, seed=11, max_workers=2)
    assert ci["group"].tolist() == ["herd"]  # no residual row for a GLMM
    theta = float(np.atleast_1d(ref["estimate"])[0])  # lme4's theta: the herd SD (logit scale)
    assert ci.loc[0, "estimate"] == pytest.approx(theta, abs=1e-4)
    assert ci.loc[0, "n_boot"] >= 0.99 * N_BOOT
    # percentile limits from 500 draws on each side: within a few Monte Carlo errors
    assert ci.loc[0, "ci_lower"] == pytest.approx(ref["ci_lower"], abs=0.12)
    assert ci.loc[0, "ci_upper"] == pytest.approx(ref["ci_upper"], abs=0.12)


def test_bad_glmer_pairs_get_a_clear_error():
    reduced, full = _fits("cbpp")
    lmer_fit = mt.lmer("Q('yield') ~ 1 + (1 | batch)", mt.datasets.load("dyestuff"))
    with pytest.raises(TypeError, match="lmer fits, or both glmer fits"):
        bootstrap.bootstrap_lrt(lmer_fit, full, n_boot=5)
    probit = mt.glmer("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", _cbpp(), link="probit")
    with pytest.raises(TypeError, match="same family and link"):
        bootstrap.bootstrap_lrt(probit, full, n_boot=5)
    agq = mt.glmer("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", _cbpp(), nagq=5)
    with pytest.raises(ValueError, match="same nagq"):
        bootstrap.bootstrap_lrt(agq, full, n_boot=5)
    with pytest.raises(ValueError, match="reduced"):
        bootstrap.bootstrap_lrt(full, reduced, n_boot=5)
    other, _ = _fits("grouseticks")
    with pytest.raises(TypeError, match="same family"):
        bootstrap.bootstrap_lrt(other, full, n_boot=5)
