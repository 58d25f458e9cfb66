"""The confidence bands of mt.plots.simple_slopes and the Johnson-Neyman plot."""

from functools import cache

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import mixedtools as mt  # noqa: E402


@cache
def hsb_fit():
    hsb = mt.datasets.load("hsb")
    hsb["cses"] = hsb.ses - hsb.groupby("school").ses.transform("mean")
    return mt.lmer("mathach ~ cses * (meanses + sector) + (cses | school)", hsb)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_simple_slopes_bands_are_the_prediction_intervals_of_the_mean_line():
    fit = hsb_fit()
    mods = pd.DataFrame({"meanses": [-0.5, 0.5], "sector": [0, 0]})
    ax = mt.plots.simple_slopes(fit, "cses", [-2.0, 0.0, 2.0], mods, level=0.9)
    assert len(ax.collections) == 2
    band = ax.collections[0].get_paths()[0].vertices
    # at cses = 0 the prediction is intercept + b_meanses * (-0.5): its SE from vcov
    L = np.array([1, 0, -0.5, 0, 0, 0.0])
    se = np.sqrt(L @ fit.vcov.to_numpy() @ L)
    mean = L @ fit.fixef.to_numpy()
    at0 = band[np.isclose(band[:, 0], 0.0), 1]
    assert sorted(at0)[0] == pytest.approx(mean - 1.644854 * se, rel=1e-6)
    assert sorted(at0)[-1] == pytest.approx(mean + 1.644854 * se, rel=1e-6)
    ax2 = mt.plots.simple_slopes(fit, "cses", [-2.0, 2.0], mods, band=False)
    assert len(ax2.collections) == 0
    with pytest.raises(ValueError, match="level"):
        mt.plots.simple_slopes(fit, "cses", [-2.0, 2.0], mods, level=1.5)


def test_johnson_neyman_plot_shades_the_region_inside_the_data():
    fit = hsb_fit()
    ax = mt.plots.johnson_neyman_plot(fit, "cses", "meanses", at={"sector": 1}, df=100)
    spans = [p for p in ax.patches]
    assert len(spans) == 1  # only the positive region reaches into the observed range
    assert spans[0].get_x() == pytest.approx(ax.jn_region.lower[1])
    assert "significant" in spans[0].get_label()
    line = ax.get_lines()[0]
    assert line.get_label() == "simple slope of cses"
    assert len(line.get_xdata()) == 41
    with pytest.raises(ValueError, match="values"):
        mt.plots.johnson_neyman_plot(fit, "cses", "meanses", values=[1.0])


def test_johnson_neyman_plot_band_uses_satterthwaite_df():
    fit = hsb_fit()
    vals = np.array([-0.5, 0.5])
    ax = mt.plots.johnson_neyman_plot(fit, "cses", "meanses", at={"sector": 0}, values=vals)
    ref = mt.lmm.simple_slopes(fit, "cses", pd.DataFrame({"meanses": vals, "sector": [0, 0]}))
    band = ax.collections[0].get_paths()[0].vertices
    at = band[np.isclose(band[:, 0], 0.5), 1]
    assert sorted(at)[0] == pytest.approx(ref.ci_lower[1], rel=1e-8)
    assert sorted(at)[-1] == pytest.approx(ref.ci_upper[1], rel=1e-8)


def test_ranef_qq_and_cooks_distance_plot():
    fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    fig = mt.plots.ranef_qq(fit, scale="condvar")
    assert len(fig.axes) == 2
    x, y = fig.axes[1].get_lines()[0].get_data()
    z = mt.lmm.standardized_ranef(fit, scale="condvar")
    assert np.allclose(y, z[z.effect == "days"].standardized)
    fig2 = mt.plots.ranef_qq(fit, scale="tau")
    assert "estimated SD" in fig2.axes[0].get_ylabel()
    fig3 = mt.plots.ranef_qq(fit)
    assert "sampling SD" in fig3.axes[0].get_ylabel()
    infl = mt.lmm.group_influence(
        mt.lmer("reaction ~ days + (1 | subject)", mt.datasets.load("sleepstudy"))
    )
    ax = mt.plots.cooks_distance_plot(infl)
    assert ax.get_lines()[0].get_ydata() == pytest.approx(infl.summary.cooks_distance.to_numpy())
    with pytest.raises(TypeError, match="group_influence"):
        mt.plots.cooks_distance_plot(infl.summary)
