"""mixedtools.plots: figures drawn from the fit's numbers, labelled, rejecting bad input."""

from functools import cache

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

import mixedtools as mt  # noqa: E402


@cache
def sleep():
    return mt.datasets.load("sleepstudy")


@cache
def slope_fit():
    return mt.lmer("reaction ~ days + (days | subject)", sleep())


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_caterpillar_draws_intervals_from_conditional_variances():
    fit = slope_fit()
    fig = mt.plots.caterpillar(fit, level=0.9)
    assert len(fig.axes) == 2
    assert fig.get_size_inches()[0] == pytest.approx(7.0)
    ax = fig.axes[0]
    assert "random intercept" in ax.get_xlabel() and "subject" in ax.get_ylabel()
    # the error bars are mode +- z * sqrt(condvar), sorted by the mode
    modes = fit.ranef["subject"]["Intercept"].sort_values()
    sd = np.sqrt(fit.ranef_condvar["subject"]["Intercept"][modes.index])
    segments = ax.collections[0].get_segments()
    lows = np.array([seg[0][0] for seg in segments])
    np.testing.assert_allclose(lows, modes - stats.norm.isf(0.05) * sd, rtol=1e-10)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == list(modes.index)


def test_caterpillar_bad_input():
    with pytest.raises(ValueError, match="unknown grouping factor"):
        mt.plots.caterpillar(slope_fit(), group="school")
    with pytest.raises(ValueError, match="level"):
        mt.plots.caterpillar(slope_fit(), level=95)
    with pytest.raises(TypeError, match="mixedtools.lmer"):
        mt.plots.caterpillar(sleep())


def test_caterpillar_hides_labels_for_many_levels():
    fit = mt.lmer("mathach ~ 1 + (1 | school)", mt.datasets.load("hsb"))
    fig = mt.plots.caterpillar(fit)
    assert len(fig.axes[0].get_yticks()) == 0


def test_spaghetti_from_data_draws_each_groups_ols_line():
    ax = mt.plots.spaghetti(sleep(), x="days", y="reaction", group="subject")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("days", "reaction")
    lines = ax.get_lines()
    assert len(lines) == 18 + 1  # one per subject plus the pooled line
    pooled = np.polyfit(sleep()["days"], sleep()["reaction"], 1)
    x, y = lines[-1].get_data()
    np.testing.assert_allclose(y, np.polyval(pooled, x))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "all data pooled (OLS)" in legend


def test_spaghetti_from_fit_uses_conditional_predictions():
    fit = slope_fit()
    ax = mt.plots.spaghetti(fit, max_groups=5)
    lines = ax.get_lines()
    assert len(lines) == 5 + 1
    x, y = lines[-1].get_data()
    np.testing.assert_allclose(y, fit.fixef["Intercept"] + fit.fixef["days"] * x)
    assert "(5 shown)" in ax.get_title()


def test_spaghetti_bad_input():
    with pytest.raises(ValueError, match="name the columns"):
        mt.plots.spaghetti(sleep(), x="days")
    with pytest.raises(TypeError, match="DataFrame"):
        mt.plots.spaghetti([1, 2, 3])
    with pytest.raises(ValueError, match="unknown column"):
        mt.plots.spaghetti(sleep(), x="day", y="reaction", group="subject")


def test_shrinkage_plane_for_random_slopes():
    fit = slope_fit()
    ax = mt.plots.shrinkage(fit)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("intercept", "slope of days")
    partial = ax.collections[1].get_offsets()
    coef = fit.fixef[["Intercept", "days"]].to_numpy() + fit.ranef["subject"].to_numpy()
    np.testing.assert_allclose(partial, coef)
    none = ax.collections[0].get_offsets()
    first = sleep()[sleep()["subject"] == fit.ranef["subject"].index[0]]
    np.testing.assert_allclose(none[0][::-1], np.polyfit(first["days"], first["reaction"], 1))


def test_shrinkage_slope_chart_for_random_intercepts():
    fit = mt.lmer("reaction ~ days + (1 | subject)", sleep())
    ax = mt.plots.shrinkage(fit)
    partial = ax.collections[1].get_offsets()[:, 1]
    np.testing.assert_allclose(partial, fit.fixef["Intercept"] + fit.ranef["subject"]["Intercept"])
    # shrinkage: the partial-pooling estimates are less spread than the group means
    none = ax.collections[0].get_offsets()[:, 1]
    assert partial.std() < none.std()


def test_shrinkage_rejects_other_structures():
    fit = mt.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", mt.datasets.load("penicillin"))
    with pytest.raises(ValueError, match="one grouping factor"):
        mt.plots.shrinkage(fit)


def test_plots_draw_on_a_given_axes():
    fig, ax = plt.subplots()
    assert mt.plots.shrinkage(slope_fit(), ax=ax) is ax
    assert mt.plots.spaghetti(slope_fit(), ax=ax) is ax


def test_caterpillar_effect_sorts_by_the_effect_shown_and_names_bad_input():
    import mixedtools as mt

    fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    shown = mt.plots.caterpillar_effect(fit, "days")
    assert shown["mode"].is_monotonic_increasing
    assert list(shown.index) != list(fit.ranef["subject"]["Intercept"].sort_values().index)
    assert ((shown["lower"] <= 0) & (shown["upper"] >= 0)).equals(shown["covers_zero"])
    with pytest.raises(ValueError, match="not a random effect"):
        mt.plots.caterpillar_effect(fit, "Days")
    with pytest.raises(ValueError, match="unknown grouping factor"):
        mt.plots.caterpillar_effect(fit, "days", group="school")


def test_rejection_rates_one_panel_per_predictor_with_mc_error_bars():
    rates = mt.rejection.fixed_vs_random(
        n_groups=6, group_size=5, icc=[0.0, 0.3], n_reps=20, seed=1
    )
    fig = mt.plots.rejection_rates(rates)
    assert [ax.get_title() for ax in fig.axes] == list(dict.fromkeys(rates["predictor"]))
    first = fig.axes[0]
    labels = [t.get_text() for t in first.get_legend().get_texts()]
    assert labels == sorted(rates["analysis"].unique())
    assert first.get_ylabel() == "false-positive rate"
    top = (rates["rejection_rate"] + 2 * rates["mc_se"]).max()
    assert first.get_ylim()[1] >= top
    plt.close(fig)


def test_rejection_rates_bad_input():
    rates = pd.DataFrame({"icc": [0.1], "predictor": ["x"], "analysis": ["OLS"]})
    with pytest.raises(ValueError, match="rejection_rate"):
        mt.plots.rejection_rates(rates)
    with pytest.raises(ValueError, match="alpha"):
        mt.plots.rejection_rates(rates.assign(rejection_rate=0.05, mc_se=0.01), alpha=5)


def test_trajectories_draw_conditional_and_population_predictions():
    fit = mt.lmer("reaction ~ days + (days | subject)", sleep())
    shown = ["308", "309", "310", "330"]
    fig = mt.plots.trajectories(
        fit, sleep(), x="days", y="reaction", group="subject", groups=shown, ncols=2
    )
    assert [ax.get_title() for ax in fig.axes] == [f"subject {s}" for s in shown]
    rows = sleep()[sleep()["subject"] == "309"].sort_values("days")
    own, average = fig.axes[1].get_lines()
    np.testing.assert_allclose(own.get_ydata(), fit.predict(rows))
    np.testing.assert_allclose(average.get_ydata(), fit.predict(rows, re=False))
    assert fig.axes[2].get_xlabel() == "days"
    plt.close(fig)


def test_trajectories_bad_input():
    fit = mt.lmer("reaction ~ days + (days | subject)", sleep())
    with pytest.raises(ValueError, match="no rows"):
        mt.plots.trajectories(fit, sleep(), "days", "reaction", "subject", groups=["999"])
    # numbers for text levels: the message shows what the levels look like
    with pytest.raises(ValueError, match=r"\[308\]; its levels are \['308', '309'"):
        mt.plots.trajectories(fit, sleep(), "days", "reaction", "subject", groups=[308])
    # one level as a string is one level, not its characters
    fig = mt.plots.trajectories(fit, sleep(), "days", "reaction", "subject", groups="308")
    assert [ax.get_title() for ax in fig.axes] == ["subject 308"]
    with pytest.raises(ValueError, match="lacks"):
        mt.plots.trajectories(fit, sleep(), "day", "reaction", "subject")


def test_mean_curves_draw_observed_means_and_population_curves():
    data = sleep().assign(restricted=lambda d: (d["days"] - 2).clip(lower=0))
    fits = {
        "linear": mt.lmer("reaction ~ days + (days | subject)", data),
        "piecewise": mt.lmer("reaction ~ days + restricted + (days | subject)", data),
    }
    grid = pd.DataFrame({"days": [0.0, 2.0, 5.0, 9.0]})
    grid["restricted"] = (grid["days"] - 2).clip(lower=0)
    ax = mt.plots.mean_curves(
        fits, data, x="days", y="reaction", group="subject", grid=grid, ylabel="RT (ms)"
    )
    lines = ax.get_lines()
    trajectories = [line for line in lines if line.get_label() == "_nolegend_"]
    assert len(trajectories) == data["subject"].nunique()
    means, linear, piecewise = [line for line in lines if line.get_label() != "_nolegend_"]
    assert means.get_label() == "observed mean"
    np.testing.assert_allclose(means.get_ydata(), data.groupby("days")["reaction"].mean())
    np.testing.assert_allclose(piecewise.get_ydata(), fits["piecewise"].predict(grid, re=False))
    np.testing.assert_allclose(linear.get_xdata(), grid["days"])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("days", "RT (ms)")
    plt.close(ax.figure)


def test_mean_curves_average_x_within_occasions_and_check_input():
    ox = mt.datasets.load("oxboys")
    fit = mt.lmer("height ~ age + (age | subject)", ox)
    ax = mt.plots.mean_curves({"linear": fit}, ox, x="age", y="height", at="occasion")
    means = ax.get_lines()[0]
    np.testing.assert_allclose(means.get_xdata(), ox.groupby("occasion")["age"].mean())
    assert len(ax.get_lines()[1].get_xdata()) == 101  # default grid over the range of age
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="non-empty dict"):
        mt.plots.mean_curves({}, ox, "age", "height")
    with pytest.raises(ValueError, match="lacks"):
        mt.plots.mean_curves({"linear": fit}, ox, "age", "weight")
    with pytest.raises(ValueError, match="grid"):
        mt.plots.mean_curves({"linear": fit}, ox, "age", "height", grid=pd.DataFrame({"x": [0]}))
    with pytest.raises(TypeError, match="mixedtools.lmer"):
        mt.plots.mean_curves({"linear": "not a fit"}, ox, "age", "height")


def test_trajectories_of_many_groups_are_capped_with_a_warning():
    # 500 groups drew a 368-inch figure in about 10 minutes; now the first max_groups panels
    rng = np.random.default_rng(4)
    n_groups = 120
    data = pd.DataFrame(
        {
            "g": np.repeat([f"g{i:03d}" for i in range(n_groups)], 4),
            "x": np.tile(range(4), n_groups),
        }
    )
    data["y"] = rng.normal(0, 1, n_groups)[np.repeat(range(n_groups), 4)] + data["x"]
    data["y"] += rng.normal(0, 1, len(data))
    fit = mt.lmer("y ~ x + (1 | g)", data)
    levels = list(data["g"].unique())
    with pytest.warns(UserWarning, match=r"120 g levels .* first 24 .* 88 inches tall"):
        fig = mt.plots.trajectories(fit, data, "x", "y", "g", groups=levels)
    assert len(fig.axes) == 24 and fig.get_size_inches()[1] < 20
    assert fig.axes[-1].get_title() == "g g023"
    fig = mt.plots.trajectories(fit, data, "x", "y", "g", groups=levels[24:30], max_groups=6)
    assert [ax.get_title() for ax in fig.axes][0] == "g g024"
    with pytest.raises(ValueError, match="max_groups must be at least 1"):
        mt.plots.trajectories(fit, data, "x", "y", "g", max_groups=0)


def test_simple_slopes_one_population_line_per_moderator_setting():
    hsb = mt.datasets.load("hsb")
    fit = mt.lmer("mathach ~ ses * sector + (1 | school)", hsb)
    settings = pd.DataFrame({"sector": [0, 1]})
    ax = mt.plots.simple_slopes(
        fit, "ses", [-2.0, 0.0, 2.0], settings, labels=["public", "Catholic"]
    )
    public, catholic = ax.get_lines()
    assert [public.get_label(), catholic.get_label()] == ["public", "Catholic"]
    b = fit.fixef
    slope = np.diff(catholic.get_ydata())[0] / 2.0
    assert slope == pytest.approx(b["ses"] + b["ses:sector"], rel=1e-8)
    assert ax.get_ylabel() == "predicted mathach"
    plt.close(ax.figure)


def test_simple_slopes_with_a_text_moderator_draws_its_levels():
    # a text moderator failed with "Unknown format code 'g' for object of type 'str'"
    hsb = mt.datasets.load("hsb")
    named = hsb.assign(sector=np.where(hsb["sector"] == 1, "Catholic", "Public"))
    fit = mt.lmer("mathach ~ ses * sector + (1 | school)", named)
    numeric = mt.lmer("mathach ~ ses * sector + (1 | school)", hsb)
    settings = pd.DataFrame({"sector": ["Public", "Catholic"]})
    ax = mt.plots.simple_slopes(fit, "ses", [-2.0, 2.0], settings)
    public, catholic = ax.get_lines()
    assert [public.get_label(), catholic.get_label()] == ["sector Public", "sector Catholic"]
    b = numeric.fixef
    assert np.diff(catholic.get_ydata())[0] / 4 == pytest.approx(b["ses"] + b["ses:sector"])
    categorical = settings.astype({"sector": "category"})
    ax = mt.plots.simple_slopes(fit, "ses", [-2.0, 2.0], categorical)
    assert [line.get_label() for line in ax.get_lines()] == ["sector Public", "sector Catholic"]
    with pytest.raises(ValueError, match="level 'catholic' was not in the data of the fit"):
        mt.plots.simple_slopes(fit, "ses", [-2.0, 2.0], pd.DataFrame({"sector": ["catholic"]}))


def test_simple_slopes_warns_about_a_moderator_the_model_does_not_use():
    fit = mt.lmer("mathach ~ ses * sector + (1 | school)", mt.datasets.load("hsb"))
    settings = pd.DataFrame({"sector": [0, 1], "meanses": [0.0, 0.5]})
    with pytest.warns(UserWarning, match=r"\['meanses'\] do not occur in the fixed part"):
        mt.plots.simple_slopes(fit, "ses", [-2.0, 2.0], settings)


def test_simple_slopes_names_what_the_fixed_part_needs():
    hsb = mt.datasets.load("hsb")
    fit = mt.lmer("mathach ~ ses * sector + (1 | school)", hsb)
    with pytest.raises(ValueError, match=r"x='SES' is not a variable of the fixed part"):
        mt.plots.simple_slopes(fit, "SES", [0, 1], pd.DataFrame({"sector": [0]}))
    with pytest.raises(ValueError, match=r"moderators lack the column\(s\) \['sector'\]"):
        mt.plots.simple_slopes(fit, "ses", [0, 1], pd.DataFrame({"meanses": [0.0]}))
    # True/False for a numeric 0/1 column crashed inside the formula engine (AttributeError)
    with pytest.raises(ValueError, match="'sector' is numeric in the data of the fit but bool"):
        mt.plots.simple_slopes(fit, "ses", [0, 1], pd.DataFrame({"sector": [False, True]}))
    # y ~ . stands for the columns it expands to
    dotted = mt.lmer("reaction ~ . + (1 | subject)", sleep())
    with pytest.warns(UserWarning, match=r"\['z'\] do not occur in the fixed part"):
        ax = mt.plots.simple_slopes(dotted, "days", [0, 9], pd.DataFrame({"z": [1]}))
    assert len(ax.get_lines()) == 1


def test_simple_slopes_bad_input():
    fit = mt.lmer("reaction ~ days + (days | subject)", sleep())
    with pytest.raises(ValueError, match="at least two"):
        mt.plots.simple_slopes(fit, "days", [1.0], pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match="horizontal axis"):
        mt.plots.simple_slopes(fit, "days", [0, 9], pd.DataFrame({"days": [1]}))
    with pytest.raises(ValueError, match="labels"):
        mt.plots.simple_slopes(fit, "days", [0, 9], pd.DataFrame({"a": [1]}), labels=["x", "y"])


def test_power_curves_draw_one_line_per_effect_and_group_size():
    study = mt.simulate.power(n_groups=(5, 10), group_size=(5,), n_reps=10, seed=1)
    fig = mt.plots.power_curves(study)
    power_ax, coverage_ax = fig.axes
    method = study["method"].iloc[0]
    n_lines = study[study["method"] == method].groupby(["effect", "n"]).ngroups
    assert len(power_ax.containers) == n_lines == len(coverage_ax.containers)
    # every point carries a bar of two Monte Carlo standard errors either side
    rows = study[study["method"] == method]
    for ax, se in ((power_ax, "mc_se"), (coverage_ax, "coverage_mcse")):
        widths = np.sort(
            [seg[1, 1] - seg[0, 1] for c in ax.containers for seg in c.lines[2][0].get_segments()]
        )
        np.testing.assert_allclose(widths, np.sort(4 * rows[se].to_numpy()))
    assert coverage_ax.get_ylim()[1] == 1
    with pytest.raises(ValueError, match="unknown method"):
        mt.plots.power_curves(study, method="F")
    with pytest.raises(ValueError, match="lacks"):
        mt.plots.power_curves(study.drop(columns="coverage"))
    plt.close(fig)


def test_rejection_by_method_dodges_series_in_the_given_order():
    rates = pd.DataFrame(
        {
            "ddf": ["residual", "hlm", "satterthwaite", "residual", "hlm"],
            "estimation": ["REML", "REML", "REML", "ML", "ML"],
            "rejection_rate": [0.12, 0.05, 0.055, 0.15, 0.07],
            "mc_se": [0.007, 0.005, 0.005, 0.008, 0.006],
        }
    )
    ax = mt.plots.rejection_by_method(rates, order=["hlm", "satterthwaite", "residual"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["hlm", "satterthwaite", "residual"]
    reml, ml = ax.containers
    np.testing.assert_allclose(np.asarray(reml[0].get_ydata(), float), [0.05, 0.055, 0.12])
    np.testing.assert_allclose(np.asarray(ml[0].get_xdata(), float), [0.15, 2.15])
    with pytest.raises(ValueError, match="no rows"):
        mt.plots.rejection_by_method(rates, order=["kenward-roger"])
    with pytest.raises(ValueError, match="lacks"):
        mt.plots.rejection_by_method(rates.drop(columns="mc_se"))
    plt.close(ax.figure)


def test_caterpillar_effect_draws_many_groups_as_a_band_with_the_exceptions_labelled():
    hsb = mt.datasets.load("hsb")
    hsb["cses"] = hsb["ses"] - hsb.groupby("school")["ses"].transform("mean")
    fit = mt.lmer("mathach ~ cses + (cses | school)", hsb)
    shown = mt.plots.caterpillar_effect(fit, "cses")
    ax = shown.attrs["ax"]
    assert len(shown) == 160 and "ranked" in ax.get_xlabel()
    excluded = shown.index[~shown["covers_zero"]].astype(str).tolist()
    assert excluded and {t.get_text() for t in ax.texts} == set(excluded)
    few = mt.plots.caterpillar_effect(fit, "cses", max_bars=200)
    assert "sorted" in few.attrs["ax"].get_ylabel()
    plt.close("all")


def test_coverage_curves_draw_bands_of_two_monte_carlo_standard_errors():
    rates = pd.DataFrame(
        {0.0: [0.95, 0.94], 0.05: [0.80, 0.95], 0.1: [0.70, 0.95]}, index=["FE", "RE"]
    )
    rates.index.name = "method"
    ax = mt.plots.coverage_curves(rates, reps=1000)
    lines = [ln for ln in ax.get_lines() if ln.get_label() in ("FE", "RE")]
    assert [ln.get_label() for ln in lines] == ["FE", "RE"]
    assert lines[0].get_ydata() == pytest.approx([0.95, 0.80, 0.70])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    half = 2 * np.sqrt(0.8 * 0.2 / 1000)
    assert band.max() == pytest.approx(0.95 + 2 * np.sqrt(0.95 * 0.05 / 1000))
    assert np.isclose(band, 0.80 - half).any() and np.isclose(band, 0.80 + half).any()
    assert ax.get_legend().get_title().get_text() == "method"
    assert any(ln.get_ydata()[0] == 0.95 and ln.get_linestyle() == ":" for ln in ax.get_lines())


def test_coverage_curves_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        mt.plots.coverage_curves(pd.DataFrame(), reps=10)
    with pytest.raises(ValueError, match="between 0 and 1"):
        mt.plots.coverage_curves(pd.DataFrame({0.0: [95.0]}), reps=10)
    with pytest.raises(ValueError, match="reps"):
        mt.plots.coverage_curves(pd.DataFrame({0.0: [0.95]}), reps=0)
