"""mixedtools.lmm.bootstrap against lme4's bootstrap intervals and pbkrtest's PBmodcomp.

The reference JSON comes from tests/reference/bootstrap_reference.R. Bootstrap results are random
on both sides, so the comparisons allow a few Monte Carlo standard errors.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt
from mixedtools import bootstrap

REF = json.loads((Path(__file__).parent / "reference" / "bootstrap_reference.json").read_text())


@pytest.fixture(scope="module")
def dyestuff_fit():
    return mt.lmer("Q('yield') ~ 1 + (1 | batch)", mt.datasets.load("dyestuff"))


@pytest.fixture(scope="module")
def sleep_fits():
    sleep = mt.datasets.load("sleepstudy")
    return {
        "intercept": mt.lmer("reaction ~ days + (1 | subject)", sleep),
        "slope": mt.lmer("reaction ~ days + (days | subject)", sleep),
    }


def test_sd_and_correlation_order_matches_varcorr(sleep_fits):
    fit = sleep_fits["slope"]
    np.testing.assert_allclose(
        bootstrap._sdcor(fit.structure, fit.tau), fit.varcorr["sdcor"], rtol=1e-12
    )


def test_simulated_responses_have_the_model_moments(sleep_fits):
    fit = sleep_fits["slope"]
    y = bootstrap.simulate_responses(fit, n_sim=4000, seed=5)
    np.testing.assert_allclose(y.mean(axis=0), fit.predict(re=False), atol=3.5)  # 5 MC SEs
    # day 9: Var = tau00 + 81 tau11 + 18 tau01 + sigma^2
    vc = fit.varcorr["vcov"].to_numpy()
    day9 = (fit.design.data["days"] == 9).to_numpy()
    expected = vc[0] + 81 * vc[1] + 18 * vc[2] + vc[3]
    assert y[:, day9].var(axis=0).mean() == pytest.approx(expected, rel=0.05)


def test_bootstrap_intervals_match_lme4(dyestuff_fit):
    ref = REF["dyestuff"]
    ci = bootstrap.bootstrap_varcorr(dyestuff_fit, n_boot=1000, seed=11, max_workers=1)
    assert ci["n_boot"].tolist() == [1000, 1000]
    # batch SD: lme4's percentile interval [0, 73.1]; residual SD [35.5, 63.5]
    assert ci.loc[0, "ci_lower"] == pytest.approx(ref["boot_lower"][0], abs=1e-6)
    np.testing.assert_allclose(ci["ci_upper"], ref["boot_upper"], rtol=0.06)
    assert ci.loc[1, "ci_lower"] == pytest.approx(ref["boot_lower"][1], rel=0.06)
    # about 5% of lme4's 2000 refits were singular (batch SD exactly 0)
    assert 0.025 < ci.loc[0, "share_zero"] < 0.085
    assert np.isnan(ci.loc[1, "share_zero"]) or ci.loc[1, "share_zero"] == 0


def test_bootstrap_lrt_matches_pbmodcomp(sleep_fits):
    ref = REF["sleep6"]
    sleep = mt.datasets.load("sleepstudy")
    six = sleep[sleep["subject"].isin(ref["subjects"])]
    m0 = mt.lmer("reaction ~ days + (1 | subject)", six, reml=False)
    m1 = mt.lmer("reaction ~ days + (days | subject)", six, reml=False)
    res = bootstrap.bootstrap_lrt(m0, m1, n_boot=1000, seed=3, max_workers=2)
    assert res["statistic"] == pytest.approx(ref["statistic"], rel=1e-4)
    assert res["estimation"] == "ML"
    se = np.sqrt(ref["p_boot"] * (1 - ref["p_boot"]) / 1000)
    assert abs(res["p_value"] - ref["p_boot"]) < 4 * se + 1 / 1001
    # the bootstrap p-value is well below the chi-square one here
    assert res["p_value"] < ref["p_chisq"]


def test_results_do_not_depend_on_the_number_of_workers(dyestuff_fit):
    one = bootstrap.bootstrap_varcorr(dyestuff_fit, n_boot=60, seed=4, max_workers=1)
    two = bootstrap.bootstrap_varcorr(dyestuff_fit, n_boot=60, seed=4, max_workers=2)
    pd.testing.assert_frame_equal(one, two)


def test_bad_input_gets_a_clear_error(sleep_fits, dyestuff_fit):
    with pytest.raises(TypeError, match="mixedtools.lmer"):
        bootstrap.bootstrap_varcorr("not a fit")
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap.bootstrap_varcorr(dyestuff_fit, n_boot=0)
    with pytest.raises(ValueError, match="level"):
        bootstrap.bootstrap_varcorr(dyestuff_fit, n_boot=5, level=95)
    with pytest.raises(ValueError, match="reduced"):
        bootstrap.bootstrap_lrt(sleep_fits["slope"], sleep_fits["intercept"], n_boot=5)
    with pytest.raises(ValueError, match="same response"):
        bootstrap.bootstrap_lrt(dyestuff_fit, sleep_fits["slope"], n_boot=5)
