"""Latent vs manifest contextual effects: the reliability formula and its simulation check."""

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt
from mixedtools.sim.contextual import _one


def test_reliability_is_spearman_brown():
    lam = mt.lmm.group_mean_reliability(10, 0.2)
    tau, sigma2 = 0.2, 0.8
    assert lam == pytest.approx(tau / (tau + sigma2 / 10))
    assert mt.lmm.group_mean_reliability(1, 0.3) == pytest.approx(0.3)
    assert np.allclose(mt.lmm.group_mean_reliability([1, 1e9], 0.3), [0.3, 1.0])
    with pytest.raises(ValueError, match="icc_x"):
        mt.lmm.group_mean_reliability(5, 1.2)
    with pytest.raises(ValueError, match="n must"):
        mt.lmm.group_mean_reliability(0, 0.2)


def test_expected_manifest_effects():
    t = mt.lmm.manifest_contextual_bias([5, 20], [0.1, 0.2, 0.4], 0.25, 0.5)
    assert len(t) == 6
    assert np.allclose(t.expected_contextual, t.reliability * 0.5)
    assert np.allclose(t.expected_between - 0.25, t.expected_contextual)
    assert np.allclose(t.bias, t.expected_contextual - 0.5)
    assert (np.diff(t[t.n == 5].bias) > 0).all()  # a larger ICC attenuates less
    with pytest.raises(ValueError, match="beta_within"):
        mt.lmm.manifest_contextual_bias(5, 0.1, "a", 0.5)


def test_simulated_attenuation_matches_lambda():
    t = mt.simulate.contextual_effect_study(
        k=100,
        n=[4, 20],
        icc_x=[0.1, 0.3],
        beta_within=0.2,
        beta_contextual=0.4,
        n_rep=400,
        seed=5,
    )
    assert len(t) == 4
    assert (np.abs(t.mean_contextual - t.expected_contextual) < 3 * t.contextual_mcse).all()
    assert (np.abs(t.mean_within - 0.2) < 3 * t.within_mcse).all()
    # and the manifest effect is clearly biased for small groups with a small ICC
    small = t[(t.n == 4) & (t.icc_x == 0.1)].iloc[0]
    assert small.bias < -10 * small.bias_mcse


def test_the_closed_form_is_the_lmer_fit_in_a_balanced_design():
    a = _one(np.random.default_rng(3), 15, 6, 0.2, 0.2, 0.2, 0.3, "means")
    b = _one(np.random.default_rng(3), 15, 6, 0.2, 0.2, 0.2, 0.3, "lmer")
    assert a == pytest.approx(b, rel=1e-6)
    t = mt.simulate.contextual_effect_study(k=10, n=3, icc_x=0.2, n_rep=3, method="lmer")
    assert isinstance(t, pd.DataFrame) and len(t) == 1
    with pytest.raises(ValueError, match="method"):
        mt.simulate.contextual_effect_study(k=10, n=3, icc_x=0.2, method="ols")


def test_within_between_splits_into_group_means_and_deviations():
    d = pd.DataFrame(
        {"id": ["a", "a", "a", "b", "b"], "x": [0.0, 1.0, np.nan, 4.0, 6.0], "z": [1, 1, 1, 2, 4]}
    )
    out = mt.lmm.within_between(d, ["x", "z"], "id")
    assert list(out.columns) == ["id", "x", "z", "x_between", "x_within", "z_between", "z_within"]
    # the mean of the observed values, on every row of the group; missing x stays missing
    assert out["x_between"].tolist() == [0.5, 0.5, 0.5, 5.0, 5.0]
    assert np.isnan(out.loc[2, "x_within"])
    np.testing.assert_allclose(out["z_between"] + out["z_within"], d["z"])
    assert out.groupby("id")["z_within"].sum().abs().max() < 1e-12
    assert "x_between" not in d.columns  # a copy
    custom = mt.lmm.within_between(d, "z", "id", suffixes=("_pm", "_pmc"))
    assert {"z_pm", "z_pmc"} <= set(custom.columns)


def test_within_between_bad_input():
    d = pd.DataFrame({"id": [1, 1, None], "x": [1.0, 2.0, 3.0], "s": ["u", "v", "w"]})
    with pytest.raises(TypeError, match="DataFrame"):
        mt.lmm.within_between(d.to_numpy(), "x", "id")
    with pytest.raises(ValueError, match="lacks"):
        mt.lmm.within_between(d, "y", "id")
    with pytest.raises(ValueError, match="missing values"):
        mt.lmm.within_between(d, "x", "id")
    d = d.dropna()
    with pytest.raises(ValueError, match="not numeric"):
        mt.lmm.within_between(d, "s", "id")
    with pytest.raises(ValueError, match="suffixes"):
        mt.lmm.within_between(d, "x", "id", suffixes=("_a", "_a"))
    with pytest.raises(ValueError, match="at least one"):
        mt.lmm.within_between(d, [], "id")
