"""mt.diagnostics and simulate.four_datasets (influence measures checked against R)."""

import json
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import statsmodels.api as sm  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402

import mixedtools as mt  # noqa: E402
from mixedtools.plots.regression import _diagnostic_frame  # noqa: E402

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "hlm_diagnostics_reference.json").read_text()
)["ols"]
RTOL = 1e-9  # closed-form quantities: only rounding differs from R


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def heteroscedastic_ols():
    """The integer-arithmetic data set of hlm_diagnostics_reference.R, fitted by OLS."""
    k = np.arange(1, 31)
    x = k / 3
    noise = ((k * 37 % 101) / 101 - 0.5) * 2
    y = 2 + 0.5 * x + noise * x / 2
    return sm.OLS(y, sm.add_constant(x)).fit()


def test_influence_measures_match_r():
    fit = heteroscedastic_ols()
    np.testing.assert_allclose(fit.params, REFERENCE["coefficients"], rtol=RTOL)
    frame = _diagnostic_frame(fit)
    np.testing.assert_allclose(frame["leverage"], REFERENCE["hat"], rtol=RTOL)
    np.testing.assert_allclose(frame["std_resid"], REFERENCE["rstandard"], rtol=RTOL)
    np.testing.assert_allclose(frame["student_resid"], REFERENCE["rstudent"], rtol=RTOL)
    np.testing.assert_allclose(frame["cooks_distance"], REFERENCE["cooks_distance"], rtol=RTOL)


def test_breusch_pagan_matches_r_and_a_direct_computation():
    fit = heteroscedastic_ols()
    test = mt.diagnostics.breusch_pagan(fit)
    assert list(test.index) == ["statistic", "df", "p_value"]
    assert test["statistic"] == pytest.approx(REFERENCE["bp_statistic"], rel=RTOL)
    assert test["df"] == REFERENCE["bp_df"]
    assert test["p_value"] == pytest.approx(REFERENCE["bp_p_value"], rel=1e-8)
    assert test["p_value"] < 0.01
    classic = mt.diagnostics.breusch_pagan(fit, robust=False)
    assert classic["statistic"] == pytest.approx(REFERENCE["bp_classic_statistic"], rel=RTOL)
    assert classic["p_value"] == pytest.approx(REFERENCE["bp_classic_p_value"], rel=1e-8)
    # Koenker's statistic is n R^2 of the squared residuals regressed on the regressors.
    e2 = fit.resid**2
    exog = fit.model.exog
    fitted = exog @ np.linalg.lstsq(exog, e2, rcond=None)[0]
    r2 = 1 - np.sum((e2 - fitted) ** 2) / np.sum((e2 - e2.mean()) ** 2)
    assert test["statistic"] == pytest.approx(len(e2) * r2, rel=1e-10)


def test_breusch_pagan_is_not_significant_for_homoscedastic_data():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 10, 400)
    y = 1 + 0.5 * x + rng.normal(size=400)
    assert mt.diagnostics.breusch_pagan(sm.OLS(y, sm.add_constant(x)).fit())["p_value"] > 0.01


def test_breusch_pagan_bad_input():
    fit = heteroscedastic_ols()
    with pytest.raises(ValueError, match="constant"):
        mt.diagnostics.breusch_pagan(fit, exog=np.arange(30.0))
    with pytest.raises(ValueError, match="rows"):
        mt.diagnostics.breusch_pagan(fit, exog=np.ones((10, 2)))


def test_four_datasets_share_one_line_but_not_one_story():
    data = mt.simulate.four_datasets(seed=1)
    assert list(data.columns) == ["dataset", "x", "y"]
    assert list(data["dataset"].unique()) == ["adequate", "nonlinear", "outlier", "leverage"]
    assert len(data) == 4 * 12
    fits = {
        name: smf.ols("y ~ x", d.reset_index(drop=True)).fit()
        for name, d in data.groupby("dataset", sort=False)
    }
    for fit in fits.values():
        np.testing.assert_allclose(fit.params, [3.0, 0.5], rtol=1e-10)
        assert np.sqrt(fit.scale) == pytest.approx(1.2, rel=1e-10)
    r2 = [fit.rsquared for fit in fits.values()]
    assert max(r2) - min(r2) < 1e-10
    # ... yet the residuals tell four different stories.
    curved = smf.ols("y ~ x + I(x**2)", data[data["dataset"] == "nonlinear"]).fit()
    assert curved.rsquared > 0.99
    # One outlier: without it the other eleven points lie on a (different) tight line.
    outlier = data[data["dataset"] == "outlier"].reset_index(drop=True)
    worst = _diagnostic_frame(fits["outlier"])["std_resid"].abs().idxmax()
    assert smf.ols("y ~ x", outlier.drop(index=worst)).fit().rsquared > 0.99
    # One high-leverage point: it alone is influential (Cook's D > 1, all others < 0.5),
    # and the cluster without it shows no significant slope.
    leverage = _diagnostic_frame(fits["leverage"])
    assert (leverage["leverage"] > 0.8).sum() == 1
    assert (leverage["cooks_distance"] > 1).sum() == 1
    assert (leverage["cooks_distance"] < 0.5).sum() == 11
    cluster = data[data["dataset"] == "leverage"].iloc[:-1]
    assert smf.ols("y ~ x", cluster).fit().pvalues["x"] > 0.05


def test_four_datasets_seeding_and_bad_input():
    a = mt.simulate.four_datasets(seed=2)
    pd.testing.assert_frame_equal(a, mt.simulate.four_datasets(seed=2))
    assert not np.allclose(a["y"], mt.simulate.four_datasets(seed=3)["y"])
    with pytest.raises(ValueError, match="at least 6"):
        mt.simulate.four_datasets(n=5)
    with pytest.raises(ValueError, match="residual_sd"):
        mt.simulate.four_datasets(residual_sd=0)


def test_ols_panel():
    fig = mt.diagnostics.diagnostics(heteroscedastic_ols())
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "Residuals vs fitted",
        "Normal Q-Q",
        "Scale-location",
        "Residuals vs leverage",
    ]
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel()
    legend = [t.get_text() for t in fig.axes[3].get_legend().get_texts()]
    assert legend == ["Cook's D = 0.5", "Cook's D = 1"]


def test_mixed_model_panel_uses_conditional_residuals_and_a_histogram():
    data = mt.simulate.schools(n_schools=12, students=10, seed=1)
    data["iq_c"] = data["iq"] - 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("gpa ~ iq_c + elite", data, groups="school").fit(reml=True)
    frame = _diagnostic_frame(fit)
    np.testing.assert_allclose(frame["std_resid"], fit.resid / np.sqrt(fit.scale))
    fig = mt.diagnostics.diagnostics(fit)
    assert fig.axes[3].get_title() == "Residual distribution"


def test_draws_into_given_axes_and_rejects_bad_input():
    fig, axes = plt.subplots(2, 2)
    assert mt.diagnostics.diagnostics(heteroscedastic_ols(), axes=axes) is fig
    with pytest.raises(ValueError, match="4 Axes"):
        mt.diagnostics.diagnostics(heteroscedastic_ols(), axes=axes[0])
    with pytest.raises(TypeError, match="fittedvalues"):
        mt.diagnostics.diagnostics(object())


def test_diagnostics_accepts_an_lmer_fit():
    import mixedtools as mt

    sleep = mt.datasets.load("sleepstudy")
    fit = mt.lmer("reaction ~ days + (days | subject)", sleep)
    fig = mt.plots.diagnostics(fit)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["Residuals vs fitted", "Normal Q-Q", "Scale-location"]
    frame = mt.diagnostics._diagnostic_frame(fit)
    assert np.allclose(frame["std_resid"], fit.residuals / fit.sigma)
    plt.close(fig)
