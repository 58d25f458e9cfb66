"""Simulators of mt.dfdata (mixedtools.sim.hierarchical) and the df functions of mt.ddf."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import mixedtools as mt
from mixedtools import ddf, dfdata


def lmer(formula, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mt.lmer(formula, data)


# --------------------------------------------------------------------------- two_level
def test_two_level_layout_and_seed():
    d = dfdata.two_level([3, 4, 5], seed=3)
    assert list(d.columns) == ["group", "x", "w", "y"]
    assert d.groupby("group", sort=False).size().tolist() == [3, 4, 5]
    assert (d.groupby("group")["w"].nunique() == 1).all()
    pd.testing.assert_frame_equal(d, dfdata.two_level([3, 4, 5], seed=3))
    assert not d.equals(dfdata.two_level([3, 4, 5], seed=4))


def test_two_level_recovers_its_parameters_in_a_large_sample():
    d = dfdata.two_level(
        [50] * 400,
        gamma00=1.0,
        gamma01=0.5,
        gamma10=-0.3,
        gamma11=0.2,
        tau00=0.4,
        tau11=0.1,
        sigma2=2.0,
        seed=1,
    )
    fit = lmer("y ~ x * w + (x | group)", d)
    np.testing.assert_allclose(fit.fixef, [1.0, -0.3, 0.5, 0.2], atol=0.08)
    np.testing.assert_allclose(fit.tau[[0, 2, 3]], [0.4, 0.1, 2.0], rtol=0.2)


def test_two_level_options():
    d = dfdata.two_level([4, 4], w=[1.0, 2.0], x_design=[0, 1, 2, 3], seed=0)
    assert d["x"].tolist() == [0, 1, 2, 3] * 2
    assert d["w"].tolist() == [1.0] * 4 + [2.0] * 4
    c = dfdata.two_level([3, 6, 9], centre_x=True, seed=0)
    np.testing.assert_allclose(c.groupby("group")["x"].mean(), 0, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"group_sizes": [5]}, "at least 2 groups"),
        ({"group_sizes": [5, 0]}, "positive integers"),
        ({"group_sizes": [5, 2.5]}, "positive integers"),
        ({"group_sizes": [5, 5], "w": [1.0]}, "one value per group"),
        ({"group_sizes": [5, 4], "x_design": range(5)}, "x_design"),
        ({"group_sizes": [5, 5], "tau00": -1}, "tau00"),
        ({"group_sizes": [5, 5], "sigma2": np.nan}, "sigma2"),
    ],
)
def test_two_level_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dfdata.two_level(**kwargs)


# --------------------------------------------------------------------------- three_level
def test_three_level_layout():
    d = dfdata.three_level(n_regions=4, n_groups=30, group_size=(2, 3), seed=1)
    assert list(d.columns) == ["region", "group", "x", "w", "y"]
    assert d["region"].nunique() == 4 and d["group"].nunique() == 30
    assert (d.groupby("group")["region"].nunique() == 1).all()  # groups nested in regions
    assert d.groupby("group").size().between(2, 3).all()
    assert (d.groupby("region")["w"].nunique() == 1).all()
    mixed = dfdata.three_level(n_regions=4, n_groups=30, w_within_sd=1.0, seed=1)
    assert (mixed.groupby("region")["w"].nunique() > 1).any()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_regions": 1}, "n_regions"),
        ({"n_regions": 5, "n_groups": 3}, "n_groups"),
        ({"group_size": (3, 2)}, "group_size"),
        ({"tau_region": -0.1}, "tau_region"),
        ({"w_within_sd": -1}, "w_within_sd"),
    ],
)
def test_three_level_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dfdata.three_level(**kwargs)


# --------------------------------------------------------------------------- rejection rates
def test_level2_rejection_rates_layout_and_bad_input():
    out = dfdata.level2_rejection_rates(
        [5, 10, 15, 20], n_reps=4, methods=["hlm", "kenward-roger"], reml=(True, False)
    )
    assert list(out.columns) == ["estimation", "ddf", "rejection_rate", "mc_se"]
    # Kenward-Roger is only defined for REML fits
    assert set(zip(out["estimation"], out["ddf"], strict=True)) == {
        ("REML", "hlm"),
        ("REML", "kenward-roger"),
        ("ML", "hlm"),
    }
    assert out["rejection_rate"].between(0, 1).all()
    with pytest.raises(ValueError, match="n_reps"):
        dfdata.level2_rejection_rates([5, 5], n_reps=0)
    with pytest.raises(ValueError, match="alpha"):
        dfdata.level2_rejection_rates([5, 5], alpha=1.5)


def test_level2_rejection_rates_fit_matches_lmer():
    # the fast direct fit inside the simulation must give lmer's p-values
    sizes = [3, 8, 12, 20, 6]
    data = dfdata.two_level(sizes, gamma01=0.0, tau00=0.5, seed=7)
    p = lmer("y ~ x + w + (1 | group)", data).coef_table().loc["w", "p_value"]
    for alpha, expected in ((p * 1.001, 1.0), (p * 0.999, 0.0)):
        out = dfdata.level2_rejection_rates(
            sizes, n_reps=1, methods=["satterthwaite"], alpha=min(alpha, 0.999), seed=7
        )
        assert out["rejection_rate"].iloc[0] == expected


# --------------------------------------------------------------------------- ddf tables
def test_df_by_method_matches_coef_table_and_accepts_statsmodels():
    d = dfdata.two_level(np.random.default_rng(2).integers(3, 20, 12), seed=2)
    fit = lmer("y ~ x + w + (1 | group)", d)
    table = ddf.df_by_method(fit)
    assert list(table.columns) == list(ddf.DDF_METHODS)
    for method in ddf.DDF_METHODS:
        np.testing.assert_allclose(table[method], fit.coef_table(ddf=method)["df"])
    ml = ddf.df_by_method(fit.refit(reml=False), ["kenward-roger", "residual"])
    assert ml["kenward-roger"].isna().all() and (ml["residual"] == len(d) - 3).all()
    sm = smf.mixedlm("y ~ x + w", d, groups="group").fit(reml=True)
    np.testing.assert_allclose(
        ddf.df_by_method(sm, ["satterthwaite"])["satterthwaite"],
        table["satterthwaite"],
        rtol=1e-5,
    )
    with pytest.raises(ValueError, match="unknown ddf method"):
        ddf.df_by_method(fit, ["containment"])
    with pytest.raises(ValueError, match="empty"):
        ddf.df_by_method(fit, [])
    with pytest.raises(TypeError, match="lmer fit"):
        ddf.df_by_method("not a fit")


def test_hlm_table2_text_and_numbers():
    text = ddf.hlm_table2()
    assert text.loc["Random-coefficients regression", "df_x"] == "K - 1"
    assert text.loc["Contextual model (fixed slope)", "df_x"] == "N - 3"
    nums = ddf.hlm_table2(n_obs=500, n_groups=50)
    assert nums.loc["Contextual model (fixed slope)", "df_x"] == 497
    assert nums.loc["Full model", "df_intercept"] == 48
    assert pd.isna(nums.loc["One-way ANOVA with random effects", "df_w"])
    with pytest.raises(ValueError, match="both"):
        ddf.hlm_table2(n_obs=100)
    with pytest.raises(ValueError, match="at least 2 groups"):
        ddf.hlm_table2(n_obs=10, n_groups=20)


def test_t_to_r():
    assert ddf.t_to_r(2.0, 12) == pytest.approx(np.sqrt(4 / 16))
    assert ddf.t_to_r(-2.0, 12) == pytest.approx(-0.5)
    assert ddf.t_to_r(3.0, np.inf) == 0
    np.testing.assert_allclose(ddf.t_to_r([1.0, 2.0], [3.0, 12.0]), [0.5, 0.5])
    with pytest.raises(ValueError, match="positive"):
        ddf.t_to_r(1.0, 0)
