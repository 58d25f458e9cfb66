"""mt.bootstrap.bootstrap_fixef against lme4's confint(fit, parm = "beta_", method = "boot").

The reference JSON comes from tests/reference/bootstrap_fixef.R (1,000 draws). Both sides are
random: an interval end is compared within four Monte Carlo standard errors of the difference of
two 2.5% (97.5%) quantiles of 1,000 draws, about 4 x 0.12 bootstrap SDs; a bootstrap SD within
four times its Monte Carlo error (about 4 x 3.2%).
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt
from mixedtools import bootstrap

REF = json.loads((Path(__file__).parent / "reference" / "bootstrap_fixef.json").read_text())
N_BOOT = REF["nsim"]
# MC SD of a 2.5% quantile of n normal draws, in SDs: sqrt(p (1 - p) / n) / phi(z_p)
_Q_MCSE = np.sqrt(0.025 * 0.975 / N_BOOT) / 0.05844
_END_TOL = 4 * np.sqrt(2) * _Q_MCSE  # ~0.48 bootstrap SDs
_SD_TOL = 4 * np.sqrt(2) / np.sqrt(2 * (N_BOOT - 1))  # ~0.13, relative


@cache
def sleep_fit():
    return mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))


@cache
def cbpp_fit():
    cbpp = mt.datasets.load("cbpp").astype({"period": "category"})
    return mt.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp)


@cache
def intervals(case):
    fit = sleep_fit() if case == "sleepstudy" else cbpp_fit()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = bootstrap.bootstrap_fixef(fit, n_boot=N_BOOT, seed=12, max_workers=2)
    return table, [str(w.message) for w in caught]


@pytest.mark.parametrize("case", ["sleepstudy", "cbpp"])
def test_percentile_intervals_agree_with_lme4_within_monte_carlo_error(case):
    table, _ = intervals(case)
    ref = REF[case]
    assert table["estimate"].to_numpy() == pytest.approx(ref["estimate"], abs=2e-4)
    assert (table["n_boot"] == N_BOOT).all()
    sd = np.asarray(ref["boot_se"])
    for end in ("ci_lower", "ci_upper"):
        gap = np.abs(table[end].to_numpy() - np.asarray(ref[end])) / sd
        assert np.all(gap < _END_TOL), (end, gap)
    # the intervals are not the Wald ones symmetrised: each end on its own side of the estimate
    assert np.all(table["ci_lower"] < table["estimate"]) and np.all(
        table["estimate"] < table["ci_upper"]
    )


def test_bootstrap_sd_agrees_with_lme4_for_an_lmer_fit():
    table, caught = intervals("sleepstudy")
    assert not caught
    ratio = table["boot_se"].to_numpy() / np.asarray(REF["sleepstudy"]["boot_se"])
    assert np.all(np.abs(ratio - 1) < _SD_TOL)
    # and it is close to the model-based standard error, as it should be for a linear model
    se = sleep_fit().coef_table()["std_error"].to_numpy()
    assert table["boot_se"].to_numpy() == pytest.approx(se, rel=0.1)


def test_bootstrap_sd_agrees_with_lme4_for_a_glmer_fit():
    table, caught = intervals("cbpp")
    assert not caught  # no simulated data set separated among these draws
    ratio = table["boot_se"].to_numpy() / np.asarray(REF["cbpp"]["boot_se"])
    assert np.all(np.abs(ratio - 1) < _SD_TOL)


def test_separated_glmer_refits_are_named():
    # a level with 4 rows at a success probability of about 0.1: in most simulated data sets it
    # has no success, and the refit's coefficient runs off
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"g": np.repeat(np.arange(20), 5), "rare": 0.0})
    data.loc[[0, 25, 50, 75], "rare"] = 1.0
    data["y"] = (rng.random(100) < 0.4).astype(float)
    data.loc[[0, 25, 50, 75], "y"] = [1.0, 0.0, 0.0, 0.0]
    fit = mt.glmer("y ~ rare + (1 | g)", data)
    with pytest.warns(UserWarning, match=r"\d+ of 20 bootstrap refits ran off.*boot_se"):
        table = bootstrap.bootstrap_fixef(fit, n_boot=20, seed=1, max_workers=1)
    assert table.loc["rare", "boot_se"] > 5 * fit.coef_table().loc["rare", "std_error"]


def test_draws_are_refits_of_simulated_responses():
    # the replicates are seeded by SeedSequence(seed).spawn(n_boot): rebuild three by hand
    fit, data = sleep_fit(), mt.datasets.load("sleepstudy")
    table = bootstrap.bootstrap_fixef(fit, n_boot=3, seed=5, level=1 - 1e-9, max_workers=1)
    by_hand = []
    for child in np.random.SeedSequence(5).spawn(3):
        y = fit.structure.simulate(fit.fixef.to_numpy(), fit.tau, np.random.default_rng(child))
        refit = mt.lmer("reaction ~ days + (days | subject)", data.assign(reaction=y))
        by_hand.append(refit.fixef.to_numpy())
    by_hand = np.array(by_hand)
    assert table["ci_lower"].to_numpy() == pytest.approx(by_hand.min(axis=0), rel=1e-6)
    assert table["ci_upper"].to_numpy() == pytest.approx(by_hand.max(axis=0), rel=1e-6)
    assert table["boot_se"].to_numpy() == pytest.approx(by_hand.std(axis=0, ddof=1), rel=1e-5)


def test_refuses_bad_arguments():
    with pytest.raises(TypeError, match="mixedtools.lmer or mixedtools.glmer"):
        bootstrap.bootstrap_fixef("fit")
    with pytest.raises(ValueError, match="level"):
        bootstrap.bootstrap_fixef(sleep_fit(), n_boot=2, level=95)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap.bootstrap_fixef(sleep_fit(), n_boot=0)
