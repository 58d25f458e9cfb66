"""Chapter-1 simulators: seeding, shapes, and that the simulated effects are recovered."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from mixedtools import simulate


def test_one_way_random_is_seeded_and_shaped():
    a = simulate.one_way_random([3, 4, 5], seed=1)
    b = simulate.one_way_random([3, 4, 5], seed=1)
    c = simulate.one_way_random([3, 4, 5], seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["y"], c["y"])
    assert a.groupby("group").size().tolist() == [3, 4, 5]
    assert (a.groupby("group")["alpha"].nunique() == 1).all()


def test_one_way_random_variances_add_up():
    # Claim C1: a random factor leaves the mean alone and adds its variance to Var(y).
    df = simulate.one_way_random([50] * 2000, mu=10, sigma2_between=3, sigma2_within=2, seed=3)
    assert df["y"].mean() == pytest.approx(10, abs=0.15)
    assert df["y"].var() == pytest.approx(5, rel=0.05)
    assert df.groupby("group")["alpha"].first().var() == pytest.approx(3, rel=0.1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"group_sizes": [5]}, "at least two groups"),
        ({"group_sizes": [5, 0]}, "at least two groups"),
        ({"group_sizes": [5, 5], "sigma2_between": -1}, "non-negative"),
        ({"group_sizes": [5, 5], "sigma2_within": float("nan")}, "non-negative"),
    ],
)
def test_one_way_random_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate.one_way_random(**kwargs)


def test_oven_batch_nesting_and_effects():
    df = simulate.oven_batch(oven_means=(10, 12), n_batches=200, n_parts=5, seed=4)
    assert df.shape == (2 * 200 * 5, 4)
    # Batch is nested in oven: every batch label belongs to exactly one oven.
    assert (df.groupby("batch")["oven"].nunique() == 1).all()
    means = df.groupby("oven")["shrinkage"].mean()
    assert means["B"] - means["A"] == pytest.approx(2, abs=0.25)
    fit = smf.mixedlm("shrinkage ~ oven", df, groups="batch").fit(reml=True)
    assert float(fit.cov_re.iloc[0, 0]) == pytest.approx(1.0, rel=0.2)
    assert fit.scale == pytest.approx(0.25, rel=0.1)


def test_oven_batch_rejects_bad_input():
    with pytest.raises(ValueError, match="two batches"):
        simulate.oven_batch(n_batches=1)
    with pytest.raises(ValueError, match="non-negative"):
        simulate.oven_batch(sigma2_part=-0.1)


def _balanced_level2_data(seed, k=12, n=6, icc=0.4):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=k)
    y = rng.normal(0, np.sqrt(icc), size=(k, 1)) + rng.normal(0, np.sqrt(1 - icc), size=(k, n))
    data = pd.DataFrame({"g": np.repeat(np.arange(k), n), "w": np.repeat(w, n), "y": y.ravel()})
    return y, w, data


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_level2_t_statistics_match_ols_and_reml(seed):
    y, w, data = _balanced_level2_data(seed)
    t_ols, t_mixed = simulate.level2_t_statistics(y, w)
    assert t_ols == pytest.approx(smf.ols("y ~ w", data).fit().tvalues["w"], rel=1e-10)
    reml = smf.mixedlm("y ~ w", data, groups="g").fit(reml=True)
    assert float(reml.cov_re.iloc[0, 0]) > 0
    # statsmodels' SE differs from (X'V^-1X)^-1 at about 1e-3 relative (see the df notes).
    assert t_mixed == pytest.approx(reml.tvalues["w"], rel=5e-3)


def test_level2_type1_error_inflation():
    # Claim C4: treating nested rows as independent inflates the Type I error of a level-2 test.
    res = simulate.level2_type1_error(20, 20, icc=[0.0, 0.2], n_reps=4000, seed=5)
    rate = res.set_index(["icc", "method"])["rejection_rate"]
    tol = 4 * np.sqrt(0.05 * 0.95 / 4000)
    assert rate[(0.0, "OLS (ignores nesting)")] == pytest.approx(0.05, abs=tol)
    assert rate[(0.0, "mixed model")] == pytest.approx(0.05, abs=tol)
    assert rate[(0.2, "mixed model")] == pytest.approx(0.05, abs=tol)
    assert rate[(0.2, "OLS (ignores nesting)")] > 0.25
    assert res["design_effect"].max() == pytest.approx(1 + 19 * 0.2)


def test_level2_type1_error_is_seeded_and_validated():
    a = simulate.level2_type1_error(10, 5, icc=0.1, n_reps=200, seed=9)
    b = simulate.level2_type1_error(10, 5, icc=0.1, n_reps=200, seed=9)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="icc"):
        simulate.level2_type1_error(10, 5, icc=1.0)
    with pytest.raises(ValueError, match="3 groups"):
        simulate.level2_type1_error(2, 5, icc=0.1)
