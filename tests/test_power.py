"""mixedtools.sim.power and the shared REML core behind it (checked against lme4)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedtools as mt
from mixedtools import reml
from mixedtools.lmm.optimize import bounded_refit, neutral_start
from mixedtools.sim import power_study

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "hlm_diagnostics_reference.json").read_text()
)["random_slope"]
PARAMS = {
    "level2_effect": 0.3,
    "cross_level_effect": 0.2,
    "slope": 0.3,
    "intercept_var": 0.2,
    "slope_var": 0.05,
    "residual_var": 1.0,
}


def random_slope_rows():
    """The integer-arithmetic data set of hlm_diagnostics_reference.R (12 groups x 6 rows)."""
    j = np.repeat(np.arange(1, 13), 6)
    i = np.tile(np.arange(1, 7), 12)
    w = (j * 7 % 12) / 6 - 1
    x = ((i * 5 + j * 3) % 11) / 5 - 1
    u0 = ((j * 5 % 13) / 13 - 0.5) * 1.2
    u1 = ((j * 11 % 17) / 17 - 0.5) * 0.8
    e = (((i * 37 + j * 53) % 101) / 101 - 0.5) * 2
    y = 1 + 0.4 * w + (0.5 + 0.3 * w) * x + u0 + u1 * x + e
    exog = np.column_stack([np.ones_like(x), w, x, w * x])
    return y, exog, np.column_stack([np.ones_like(x), x]), j - 1


def random_slope_structure():
    y, exog, exog_re, groups = random_slope_rows()
    return reml.LMMStructure(y=y, X=exog, groups=groups, Z=exog_re)


def lme4_tau():
    """lme4's estimates in the core's order: G[0,0], G[1,0], G[1,1], sigma^2."""
    return np.array(
        [
            REFERENCE["var_intercept"],
            REFERENCE["cov_intercept_slope"],
            REFERENCE["var_slope"],
            REFERENCE["sigma2"],
        ]
    )


def test_profiled_criterion_is_lme4s_remlcrit():
    structure = random_slope_structure()
    # lme4's theta is the relative Cholesky factor L (lower triangle, column by column).
    t00, t10, t11 = REFERENCE["theta"]
    factor = np.array([[t00, 0.0], [t10, t11]])
    relative = structure.tau_from(G=factor @ factor.T, sigma2=1.0)
    loglik, sigma2 = reml.profiled_log_likelihood(structure, relative)
    assert -2.0 * loglik == pytest.approx(REFERENCE["reml_criterion"], rel=1e-10)
    assert sigma2 == pytest.approx(REFERENCE["sigma2"], rel=1e-8)


def test_bounded_refit_reaches_lme4s_optimum():
    structure = random_slope_structure()
    tau = bounded_refit(structure, neutral_start(structure), try_neutral_start=False)
    # Both optimizers stop near the same optimum: criterion within 1e-6, estimates within 1e-4.
    assert -2.0 * reml.log_likelihood(structure, tau) <= REFERENCE["reml_criterion"] + 1e-6
    np.testing.assert_allclose(tau, lme4_tau(), rtol=1e-3)
    quantities = reml.reml_quantities(structure, tau)
    np.testing.assert_allclose(quantities.beta, REFERENCE["fixef"], rtol=1e-4)
    np.testing.assert_allclose(np.sqrt(np.diag(quantities.Phi)), REFERENCE["std_error"], rtol=1e-4)


def test_bounded_refit_leaves_a_zero_slope_variance_that_is_not_optimal():
    # Started with the slope variance at 0 (a stationary point of the criterion in the
    # Cholesky parameters), the optimizer must still find lme4's positive variance.
    structure = random_slope_structure()
    start = structure.tau_from(G=np.diag([0.1, 0.0]), sigma2=0.4)
    tau = bounded_refit(structure, start, try_neutral_start=False)
    assert -2.0 * reml.log_likelihood(structure, tau) <= REFERENCE["reml_criterion"] + 1e-6
    np.testing.assert_allclose(tau, lme4_tau(), rtol=1e-3)


def test_power_engine_reports_lme4s_estimates_and_standard_errors():
    y, exog, exog_re, groups = random_slope_rows()
    estimates, se = power_study._fit_random_slope_model(y, exog, exog_re, groups, 200, "reml")
    np.testing.assert_allclose(estimates, REFERENCE["fixef"], rtol=1e-4)
    np.testing.assert_allclose(se, REFERENCE["std_error"], rtol=1e-4)


def test_statsmodels_engine_gives_the_same_estimates():
    rng = np.random.default_rng(20)
    y, exog, exog_re = power_study._two_level_design(30, 8, rng, PARAMS)
    groups = np.repeat(np.arange(30), 8)
    ours = power_study._fit_random_slope_model(y, exog, exog_re, groups, 200, "reml")
    theirs = power_study._fit_random_slope_model(y, exog, exog_re, groups, 200, "statsmodels")
    assert ours is not None and theirs is not None
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-3)


def test_tidy_result_and_seeding():
    kwargs = {"n_groups": (6, 10), "group_size": 4, "n_reps": 30, "max_workers": 1}
    res = mt.simulate.power(seed=3, **kwargs)
    assert list(res.columns) == [
        "K",
        "n",
        "effect",
        "method",
        "df",
        "power",
        "coverage",
        "mc_se",
        "n_failed",
        "coverage_mcse",
    ]
    assert len(res) == 2 * 1 * 2 * 2
    assert set(res["effect"]) == {"level-2", "cross-level"}
    t_rows = res[res["method"] == "t (HLM rule)"]
    assert (t_rows["df"] == t_rows["K"] - 2).all()
    assert np.isinf(res.loc[res["method"] == "z", "df"]).all()
    pd.testing.assert_frame_equal(res, mt.simulate.power(seed=3, **kwargs))
    other = mt.simulate.power(seed=4, **kwargs)
    assert not np.allclose(res["coverage"], other["coverage"]) or not np.allclose(
        res["power"], other["power"]
    )


def test_results_do_not_depend_on_the_number_of_workers():
    kwargs = {"n_groups": (8, 12), "group_size": 4, "n_reps": 40, "seed": 9}
    one = mt.simulate.power(max_workers=1, **kwargs)
    two = mt.simulate.power(max_workers=2, **kwargs)
    pd.testing.assert_frame_equal(one, two)


def test_t_intervals_are_wider_than_z_intervals():
    res = mt.simulate.power(n_groups=6, group_size=5, n_reps=60, seed=5, max_workers=1)
    wide = res.pivot_table(index="effect", columns="method", values=["power", "coverage"])
    assert (wide["coverage"]["t (HLM rule)"] >= wide["coverage"]["z"]).all()
    assert (wide["power"]["t (HLM rule)"] <= wide["power"]["z"]).all()
    assert (wide["coverage"]["t (HLM rule)"] > wide["coverage"]["z"]).any()


def test_power_grows_with_the_number_of_groups_and_mc_se_is_binomial():
    res = mt.simulate.power(
        n_groups=(6, 40), group_size=10, n_reps=40, level2_effect=0.6, seed=6, max_workers=1
    )
    level2 = res[(res["effect"] == "level-2") & (res["method"] == "t (HLM rule)")].set_index("K")
    assert level2.loc[40, "power"] > level2.loc[6, "power"] + 0.3
    p = res["power"]
    np.testing.assert_allclose(res["mc_se"], np.sqrt(p * (1 - p) / (40 - res["n_failed"])))
    c = res["coverage"]
    np.testing.assert_allclose(res["coverage_mcse"], np.sqrt(c * (1 - c) / (40 - res["n_failed"])))


def test_null_effects_reject_near_alpha():
    res = mt.simulate.power(
        n_groups=20,
        group_size=5,
        n_reps=200,
        level2_effect=0.0,
        cross_level_effect=0.0,
        seed=7,
        max_workers=1,
    )
    t_rows = res[res["method"] == "t (HLM rule)"]
    # 200 replicates: a rate of 0.05 has Monte Carlo SE 0.015; allow about 3.5 SE either way.
    assert t_rows["power"].between(0.0, 0.105).all()
    lower = stats.binom.ppf(0.0005, 200, 0.95) / 200
    assert (t_rows["coverage"] >= lower).all()


@pytest.mark.parametrize("engine", ["reml", "statsmodels"])
def test_failed_fits_are_counted_not_hidden(engine):
    res = mt.simulate.power(
        n_groups=6, group_size=4, n_reps=5, seed=1, max_workers=1, engine=engine, maxiter=1
    )
    assert (res["n_failed"] == 5).all()
    assert res["power"].isna().all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_groups": 3}, "n_groups"),
        ({"n_groups": ()}, "at least one"),
        ({"group_size": 1}, "group_size"),
        ({"group_size": 2.5}, "group_size"),
        ({"n_reps": 0}, "n_reps"),
        ({"alpha": 1.5}, "alpha"),
        ({"intercept_var": -1}, "intercept_var"),
        ({"residual_var": 0}, "residual_var"),
        ({"max_workers": 0}, "max_workers"),
        ({"engine": "lme4"}, "engine"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mt.simulate.power(**{"n_reps": 2, "max_workers": 1, **kwargs})
