"""Analytic power of the counterbalanced subjects x items design (Westfall, Kenny & Judd 2014)
against simulation: mt.stimuli.rejection_rates where one of its closed-form analyses is exact for
the simulated model, and the quasi-F test with by-subject and by-item slopes."""

import numpy as np
import pytest

import mixedtools as mt

N_REPS = 3000


def _z(rate, mc_se, power):
    return abs(rate - power) / max(mc_se, 1e-12)


def test_variance_formula_and_grid():
    grid = mt.sim.stimulus_power([8, 16], [8, 12, 16], effect=0.4, sd_subject_slope=0.6,
                                 sd_item_slope=0.4, sd_residual=1.2)  # fmt: skip
    assert len(grid) == 6 and list(grid.columns) == [
        "n_subjects", "n_items", "d", "std_error", "delta", "df", "power",
    ]  # fmt: skip
    row = grid.iloc[-1]
    var = 0.6**2 / 16 + 0.4**2 / 16 + 4 * 1.2**2 / (16 * 16)
    assert np.isclose(row["std_error"] ** 2, var)
    # more subjects or more items never lower the power
    table = grid.pivot(index="n_subjects", columns="n_items", values="power")
    assert (np.diff(table.to_numpy(), axis=0) > 0).all()
    assert (np.diff(table.to_numpy(), axis=1) > 0).all()
    # the intercept SDs change only the standardised effect
    other = mt.sim.stimulus_power(16, 16, effect=0.4, sd_subject_slope=0.6, sd_item_slope=0.4,
                                  sd_residual=1.2, sd_subject=2.0, sd_item=1.0)  # fmt: skip
    assert np.isclose(other["power"].iloc[0], row["power"]) and other["d"].iloc[0] < row["d"]
    null = mt.sim.stimulus_power(16, 16, effect=0.0, sd_item_slope=0.3)
    assert np.isclose(null["power"].iloc[0], 0.05)


def test_random_intercept_model_power_is_exact_without_slopes():
    args = dict(effect=0.4, sd_subject=1.0, sd_item=1.0, sd_residual=1.0)
    rates = mt.stimuli.rejection_rates(N_REPS, n_subjects=12, n_items=8, seed=3, **args)
    power = mt.sim.stimulus_power(12, 8, df="intercepts", **args)["power"].iloc[0]
    row = rates.loc["LMM (1|subject) + (1|item)"]
    assert _z(row["rate"], row["mc_se"], power) < 3


def test_by_subject_power_is_exact_without_item_variance():
    args = dict(effect=0.5, sd_subject=1.0, sd_subject_slope=0.6, sd_residual=1.0)
    rates = mt.stimuli.rejection_rates(N_REPS, n_subjects=12, n_items=8, sd_item=0.0, seed=4,
                                       **args)  # fmt: skip
    power = mt.sim.stimulus_power(12, 8, df="by_subject", **args)["power"].iloc[0]
    row = rates.loc["F1 (by subject)"]
    assert _z(row["rate"], row["mc_se"], power) < 3


@pytest.mark.parametrize(
    ("n_subjects", "n_items", "args"),
    [
        (16, 16, dict(effect=0.5, sd_subject_slope=0.5, sd_item_slope=0.5, sd_subject=1.0)),
        (24, 16, dict(effect=0.4, sd_subject_slope=0.6, sd_item_slope=0.4, sd_item=0.5)),
        (16, 16, dict(effect=0.0, sd_subject_slope=0.5, sd_item_slope=0.5)),
    ],
)
def test_wkj_power_matches_simulated_quasi_f(n_subjects, n_items, args):
    power = mt.sim.stimulus_power(n_subjects, n_items, **args)["power"].iloc[0]
    sim = mt.sim.quasi_f_rejection_rate(N_REPS, n_subjects, n_items, seed=11, **args)
    assert _z(sim["rate"], sim["mc_se"], power) < 3


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="n_items must be even"):
        mt.sim.stimulus_power(16, 7, effect=0.3)
    with pytest.raises(ValueError, match="sd_residual must be positive"):
        mt.sim.stimulus_power(16, 8, effect=0.3, sd_residual=0.0)
    with pytest.raises(ValueError, match="df must be"):
        mt.sim.stimulus_power(16, 8, effect=0.3, df="kenward")
