"""mt.plots.variance_by_occasion and mt.plots.design_power draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt


@pytest.fixture(scope="module")
def sleep_fits():
    sleep = mt.datasets.load("sleepstudy")
    return sleep, {
        "(1 | subject)": mt.lmer("reaction ~ days + (1 | subject)", sleep),
        "(days | subject)": mt.lmer("reaction ~ days + (days | subject)", sleep),
    }


def test_variance_by_occasion_draws_observed_and_implied_variances(sleep_fits):
    sleep, fits = sleep_fits
    fig = mt.plots.variance_by_occasion(
        sleep, "reaction", "subject", "days", fits, ylabel="reaction time", unit="ms"
    )
    left, right = fig.axes
    assert left.get_ylabel() == "reaction time (ms)"
    assert len(left.get_lines()) == 18
    observed, intercept, slope = right.get_lines()
    np.testing.assert_allclose(
        observed.get_ydata(), sleep.groupby("days")["reaction"].var().to_numpy()
    )
    # a random intercept implies one variance, tau00 + sigma2
    assert np.allclose(intercept.get_ydata(), fits["(1 | subject)"].varcorr["vcov"].sum())
    tau00, tau11, tau01, sigma2 = fits["(days | subject)"].varcorr["vcov"]
    d = np.arange(10)
    np.testing.assert_allclose(slope.get_ydata(), tau00 + 2 * tau01 * d + tau11 * d**2 + sigma2)
    assert right.get_ylabel() == "variance (ms²)"
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["observed", *fits]


def test_variance_by_occasion_bad_input(sleep_fits):
    sleep, fits = sleep_fits
    with pytest.raises(ValueError, match="lack the column"):
        mt.plots.variance_by_occasion(sleep, "rt", "subject", "days", fits)
    with pytest.raises(ValueError, match="at least one fit"):
        mt.plots.variance_by_occasion(sleep, "reaction", "subject", "days", {})
    with pytest.raises(TypeError, match="mixedtools.lmer"):
        mt.plots.variance_by_occasion(sleep, "reaction", "subject", "days", {"x": object()})
    other = sleep.assign(x=np.tile(np.arange(9), 20))
    fit = mt.lmer("reaction ~ days + (x | subject)", other)
    with pytest.raises(ValueError, match="random slope of 'days'"):
        mt.plots.variance_by_occasion(other, "reaction", "subject", "days", {"x": fit})


def test_design_power_draws_one_line_per_number_of_items_and_simulated_bars():
    grid = mt.sim.stimulus_power([8, 16, 32], [8, 16], effect=0.5, sd_item_slope=0.5)
    sim = pd.DataFrame({"n_subjects": [16], "n_items": [16], "rate": [0.4], "mc_se": [0.02]})
    ax = mt.plots.design_power(grid, simulated=sim)
    lines = [ln for ln in ax.get_lines() if ln.get_label() in ("8 items", "16 items")]
    assert len(lines) == 2
    np.testing.assert_allclose(lines[1].get_ydata(), grid.query("n_items == 16")["power"])
    bars = ax.containers[0]
    segment = bars.lines[2][0].get_segments()[0]
    np.testing.assert_allclose(segment[:, 1], [0.36, 0.44])
    assert bars.lines[0].get_color() == lines[1].get_color()
    assert ax.get_xlabel() == "number of subjects" and ax.get_ylim() == (0, 1)


def test_design_power_bad_input():
    grid = mt.sim.stimulus_power([8, 16], [8], effect=0.5)
    with pytest.raises(ValueError, match="power"):
        mt.plots.design_power(grid.drop(columns="power"))
    with pytest.raises(ValueError, match="target"):
        mt.plots.design_power(grid, target=1.5)
    sim = pd.DataFrame({"n_subjects": [8], "n_items": [32], "rate": [0.1], "mc_se": [0.01]})
    with pytest.raises(ValueError, match="not in grid"):
        mt.plots.design_power(grid, simulated=sim)
    with pytest.raises(ValueError, match="mc_se"):
        mt.plots.design_power(grid, simulated=sim.drop(columns="mc_se"))
