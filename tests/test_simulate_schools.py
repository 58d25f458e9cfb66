"""mixedtools.sim.schools: the IQ/GPA example of the source notes."""

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt
from mixedtools import reml
from mixedtools.lmm.optimize import bounded_refit, neutral_start


def within_school_slopes(data):
    """OLS slope of gpa on iq in each school."""
    return data.groupby("school").apply(
        lambda d: np.polyfit(d["iq"], d["gpa"], 1)[0], include_groups=False
    )


def test_same_seed_same_data_and_different_seeds_differ():
    a = mt.simulate.schools(seed=11)
    pd.testing.assert_frame_equal(a, mt.simulate.schools(seed=11))
    b = mt.simulate.schools(seed=12)
    assert not np.allclose(a["gpa"], b["gpa"])


def test_balanced_shape_columns_and_school_constants():
    data = mt.simulate.schools(
        n_schools=15, students=8, school_effects={"funding": 0.2, "teachers": (0.1, 0.01)}, seed=1
    )
    assert data.shape == (15 * 8, 8)
    assert list(data.columns) == [
        "school",
        "elite",
        "iq",
        "gpa",
        "funding",
        "teachers",
        "true_intercept",
        "true_slope",
    ]
    per_school = data.groupby("school")[
        ["elite", "funding", "teachers", "true_intercept", "true_slope"]
    ].nunique()
    assert (per_school == 1).all().all()
    assert data.groupby("school").size().eq(8).all()
    # round(0.3 * 15) = 4 elite schools, and they admit from a higher IQ band.
    assert data.groupby("school")["elite"].first().sum() == 4
    means = data.groupby("elite")["iq"].mean()
    assert means[True] > means[False] + 10


def test_unbalanced_sizes_stay_in_range():
    data = mt.simulate.schools(n_schools=60, students=(5, 40), seed=2)
    sizes = data.groupby("school").size()
    assert sizes.between(5, 40).all()
    assert sizes.nunique() > 5


def test_fixed_slope_when_slope_sd_is_zero():
    data = mt.simulate.schools(n_schools=10, slope=0.04, slope_sd=0.0, seed=3)
    np.testing.assert_array_equal(data["true_slope"], 0.04)


def test_pooled_slope_is_negative_while_within_school_slopes_recover_the_truth():
    data = mt.simulate.schools(n_schools=200, students=30, slope=0.03, slope_sd=0.005, seed=4)
    pooled = np.polyfit(data["iq"], data["gpa"], 1)[0]
    assert pooled <= 0
    slopes = within_school_slopes(data)
    assert (slopes > 0).mean() > 0.95
    # Mean of 200 per-school OLS slopes: SE about sqrt(0.005^2 + 0.0077^2) / sqrt(200) = 0.00065.
    assert slopes.mean() == pytest.approx(0.03, abs=0.003)
    # The simulated true slopes are the ones the per-school fits estimate.
    true = data.groupby("school")["true_slope"].first()
    assert np.corrcoef(slopes, true)[0, 1] > 0.4


def test_level2_and_cross_level_effects_are_recovered_by_a_mixed_model():
    k, n = 150, 20
    data = mt.simulate.schools(
        n_schools=k,
        students=n,
        slope=0.03,
        slope_sd=0.005,
        intercept_sd=0.15,
        school_effects={"funding": (0.2, 0.01)},
        seed=5,
    )
    iq_c = data["iq"].to_numpy() - 100
    funding = data["funding"].to_numpy()
    elite = data["elite"].to_numpy(dtype=float)
    exog = np.column_stack([np.ones(len(data)), elite, funding, iq_c, iq_c * funding])
    exog_re = np.column_stack([np.ones(len(data)), iq_c])
    groups, _ = pd.factorize(data["school"])
    structure = reml.LMMStructure(y=data["gpa"], X=exog, groups=groups, Z=exog_re)
    tau, converged = bounded_refit(
        structure, neutral_start(structure), try_neutral_start=False, return_success=True
    )
    assert converged
    fit = reml.reml_quantities(structure, tau)
    truth = np.array([3.0, -1.5, 0.2, 0.03, 0.01])
    z = (fit.beta - truth) / np.sqrt(np.diag(fit.Phi))
    assert np.all(np.abs(z) < 4), z
    assert np.sqrt(tau[-1]) == pytest.approx(0.25, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_schools": 1}, "n_schools"),
        ({"students": 1}, "students"),
        ({"students": (10, 5)}, "low <= high"),
        ({"students": "many"}, "students"),
        ({"slope_sd": -0.1}, "slope_sd"),
        ({"residual_sd": np.nan}, "residual_sd"),
        ({"elite_fraction": 1.5}, "elite_fraction"),
        ({"school_effects": {"iq": 0.1}}, "identifier other than"),
        ({"school_effects": {"funding": (0.1, 0.2, 0.3)}}, "pair"),
        ({"school_effects": [("funding", 0.1)]}, "must be a dict"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mt.simulate.schools(**kwargs)
