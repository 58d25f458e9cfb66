"""Misspecified random-intercept models: ignored AR(1) residuals and non-normal random effects."""

import numpy as np
import pytest

import mixedtools as mt


def test_ignored_ar1_makes_the_time_slope_se_too_small():
    bad = mt.simulate.ignored_ar1_study(n_subjects=20, phi=0.7, n_rep=60, seed=4).set_index("term")
    ok = mt.simulate.ignored_ar1_study(n_subjects=20, phi=0.0, n_rep=60, seed=4).set_index("term")
    assert bad.se_ratio["time"] < 0.85
    assert bad.coverage["time"] < 0.95 - 2 * bad.coverage_mcse["time"]
    assert abs(ok.se_ratio["time"] - 1) < 0.25
    assert abs(ok.coverage["time"] - 0.95) < 3 * max(ok.coverage_mcse["time"], 0.02)
    # the level-2 effect is hardly affected
    assert bad.se_ratio["treat"] > 0.8
    assert list(bad.columns[:4]) == ["true", "mean_estimate", "estimate_mcse", "empirical_sd"]
    with pytest.raises(ValueError, match="phi"):
        mt.simulate.ignored_ar1_study(phi=1.0)


def test_nonnormal_random_effects_harm_the_predictions_not_the_fixed_effects():
    t = mt.simulate.nonnormal_ranef_study("bimodal", k=40, n=5, n_rep=60, seed=2)
    t = t.set_index("term")
    for term in ["Intercept", "x", "z"]:
        assert abs(t.coverage[term] - 0.95) < 3 * max(t.coverage_mcse[term], 0.02)
    true_rate = t.mean_estimate["shapiro_reject_true_u"]
    pred_rate = t.mean_estimate["shapiro_reject_predicted_u"]
    assert true_rate > 0.5 and pred_rate < true_rate - 0.3
    assert t.mean_estimate["tau2_estimate"] == pytest.approx(
        0.5, abs=4 * t.estimate_mcse["tau2_estimate"]
    )
    with pytest.raises(ValueError, match="unknown distribution"):
        mt.simulate.nonnormal_ranef_study("uniformish")


def test_ranef_draws_have_the_stated_variance():
    from mixedtools.sim.misspecification import _draw_ranef

    rng = np.random.default_rng(0)
    for dist in ["normal", "skewed", "heavy", "bimodal"]:
        u = _draw_ranef(rng, dist, 200_000, 0.5)
        assert u.mean() == pytest.approx(0, abs=0.01)
        assert u.var() == pytest.approx(0.5, rel=0.05)
