"""The panel chapter's figures (mixedtools.plots.panel)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import mixedtools as mt  # noqa: E402


def test_rejection_bands_draw_a_band_per_series_and_keep_lines_apart():
    table = pd.DataFrame(
        {
            "corr": [0.0, 0.1, 0.0, 0.1],
            "test": ["classical", "classical", "robust", "robust"],
            "rate": [0.05, 0.14, 0.05, 0.14],
            "mc_se": [0.018, 0.028, 0.018, 0.028],
        }
    )
    fig = mt.plots.rejection_bands(table, "corr", xlabel="corr(u, x)")
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_label() in ("classical", "robust")]
    assert len(lines) == 2 and len(ax.collections) == 2
    x0, x1 = (ln.get_xdata() for ln in lines)
    assert np.all(x0 < x1)  # dodged: identical rates do not hide each other
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    # the band spans +-1.96 MC SE around the rate
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.max() == pytest.approx(0.14 + 1.96 * 0.028)
    with pytest.raises(ValueError, match="mc_se"):
        mt.plots.rejection_bands(table.drop(columns="mc_se"), "corr")


def test_nickell_curve_and_theta_and_histograms():
    table = pd.DataFrame(
        {
            "n_periods": [3, 5, 10],
            "mean_bias": [-0.54, -0.33, -0.16],
            "mc_se": [0.005, 0.004, 0.002],
            "nickell": [mt.panel.nickell_bias(0.5, t) for t in (3, 5, 10)],
            "ah_bias": [0.01, 0.0, 0.0],
            "ah_mc_se": [0.02, 0.01, 0.01],
        }
    )
    fig = mt.plots.nickell_curve(table, rho=0.5)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "Anderson-Hsiao, simulated" in labels and len(labels) == 3
    fig = mt.plots.theta_curves(ratios=(1, 2), point=(20, 0.86), point_label="x")
    curve = fig.axes[0].get_lines()[0]
    assert curve.get_ydata()[0] == pytest.approx(1 - np.sqrt(1 / 2))
    draws = pd.DataFrame({"corr": [0.0] * 3 + [0.6] * 3, "FE": np.ones(6), "RE": np.ones(6)})
    fig = mt.plots.fe_re_histograms(draws)
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="RE"):
        mt.plots.fe_re_histograms(draws.drop(columns="RE"))
