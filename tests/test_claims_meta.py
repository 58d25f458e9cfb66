"""Claims M1-M7 of the source notes (meta-analysis), as chapter 7 demonstrates them.

Each test recomputes the fact with mixedtools on the chapter's data and seeds; it does not read the
notebook.
"""

from functools import cache

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import mixedtools as mt


@cache
def bcg():
    data = mt.datasets.load("bcg")
    es = mt.meta.escalc("RR", ai=data.tpos, bi=data.tneg, ci=data.cpos, di=data.cneg)
    return data.assign(yi=es.yi, vi=es.vi)


def per_study_slopes(raw, x="x"):
    fits = [smf.ols(f"y ~ {x}", d).fit() for _, d in raw.groupby("study")]
    return pd.DataFrame({"yi": [f.params[x] for f in fits], "vi": [f.bse[x] ** 2 for f in fits]})


@cache
def twelve_studies():
    """The chapter's simulation of section 7.2 (seed 7)."""
    rng = np.random.default_rng(7)
    n_j = rng.integers(30, 300, size=12)
    slopes = 0.4 + rng.normal(0, 0.15, size=12)
    raw = pd.DataFrame({"study": np.repeat(np.arange(12), n_j)})
    raw["x"] = rng.normal(size=len(raw))
    raw["y"] = 1 + rng.normal(0, 0.5, 12)[raw.study] + slopes[raw.study] * raw.x
    raw["y"] += rng.normal(size=len(raw))
    return raw


def test_m1_sampling_variance_shrinks_with_n():
    n = np.array([10, 20, 50, 100, 400])
    es = mt.meta.escalc(
        "SMD",
        m1i=np.full(5, 10.5),
        sd1i=np.ones(5),
        n1i=n,
        m2i=np.full(5, 10.0),
        sd2i=np.ones(5),
        n2i=n,
    )
    assert np.all(np.diff(es.vi) < 0)
    # roughly 2/n per group: 40 times the sample, about a fortieth of the variance
    assert es.vi[0] / es.vi[4] == pytest.approx(40, rel=0.05)


def test_m2_effect_sizes_convert_between_r_d_and_log_or():
    d, vd = mt.meta.r_to_d(0.3, 0.0083)
    assert d == pytest.approx(0.629, abs=1e-3)
    log_or, v_log_or = mt.meta.d_to_log_or(d, vd)
    assert log_or == pytest.approx(d * np.pi / np.sqrt(3))
    r_back, vr_back = mt.meta.d_to_r(*mt.meta.log_or_to_d(log_or, v_log_or))
    assert (r_back, vr_back) == (pytest.approx(0.3), pytest.approx(0.0083))


def test_m3_pooled_effect_is_the_average_level1_slope():
    raw = twelve_studies()
    slopes = per_study_slopes(raw)
    hlm = mt.lmer("y ~ x + (x | study)", raw).coef_table().loc["x"]
    meta = mt.meta.rma(slopes.yi, slopes.vi, method="REML")
    assert meta.estimate == pytest.approx(hlm.estimate, abs=0.01)
    assert meta.se == pytest.approx(hlm.std_error, rel=0.1)


def test_m4_fixed_effect_is_a_fixed_slope_and_random_effects_a_random_slope():
    raw = twelve_studies()
    slopes = per_study_slopes(raw)
    fixed = mt.lmer("y ~ x + (1 | study)", raw).coef_table().loc["x"]
    fe = mt.meta.rma(slopes.yi, slopes.vi, method="FE")
    re = mt.meta.rma(slopes.yi, slopes.vi, method="REML")
    assert fe.estimate == pytest.approx(fixed.estimate, abs=0.01)
    assert fe.se == pytest.approx(fixed.std_error, rel=0.05)
    assert re.se > 1.5 * fe.se  # heterogeneous slopes: the random slope widens the interval


def test_m4_mantel_haenszel_and_inverse_variance_are_both_fixed_effect_estimates():
    data = bcg()
    fe = mt.meta.rma(data.yi, data.vi, method="FE")
    mh = mt.meta.mantel_haenszel(data.tpos, data.tneg, data.cpos, data.cneg, measure="RR")
    assert abs(mh.estimate - fe.estimate) < 0.05
    assert mh.estimate != pytest.approx(fe.estimate, abs=1e-3)


def test_m5_random_effects_are_less_pulled_by_one_giant_study():
    data = bcg()
    fe = mt.meta.rma(data.yi, data.vi, method="FE")
    re = mt.meta.rma(data.yi, data.vi, method="REML")
    madras = int(np.flatnonzero(data.author == "TPT Madras")[0])
    assert fe.weights[madras] > 40 and re.weights.max() < 11
    change_fe = mt.meta.leave_one_out(fe).loc[madras, "estimate"] - fe.estimate
    change_re = mt.meta.leave_one_out(re).loc[madras, "estimate"] - re.estimate
    assert abs(change_re) < abs(change_fe) / 3


def test_m5_random_effects_interval_is_more_conservative():
    """'More conservative': the RE interval on the BCG trials is several times the FE one."""
    data = bcg()
    fe = mt.meta.rma(data.yi, data.vi, method="FE")
    re = mt.meta.rma(data.yi, data.vi, method="REML")
    ratio = (re.ci_upper - re.ci_lower) / (fe.ci_upper - fe.ci_lower)
    assert ratio > 4
    assert re.pi_upper > 0 > re.ci_upper  # the prediction interval reaches risk ratios above 1


def test_m5_but_small_studies_gain_weight_under_random_effects():
    # where the notes are loose: RE weights move towards the small studies
    data = bcg()
    fe = mt.meta.rma(data.yi, data.vi, method="FE")
    re = mt.meta.rma(data.yi, data.vi, method="REML")
    smallest = int(np.argmax(data.vi))
    assert re.weights[smallest] > 5 * fe.weights[smallest]


def test_m5_coverage_with_heterogeneous_effects():
    rng = np.random.default_rng(2026)
    v = 4 / rng.integers(20, 200, size=(4000, 10))
    y = rng.normal(0.3, np.sqrt(v + 0.1))
    cover = {
        (m, t): ((f.ci_lower < 0.3) & (f.ci_upper > 0.3)).mean()
        for m, t in [("FE", "z"), ("REML", "z"), ("REML", "knha")]
        for f in [mt.meta.rma(y, v, method=m, test=t)]
    }
    assert cover[("FE", "z")] < 0.8
    assert cover[("FE", "z")] < cover[("REML", "z")] < cover[("REML", "knha")]
    assert cover[("REML", "knha")] == pytest.approx(0.95, abs=0.015)


def test_m6_meta_regression_is_a_cross_level_interaction():
    rng = np.random.default_rng(11)
    k = 20
    n_j = rng.integers(40, 250, size=k)
    w = rng.normal(size=k)
    slopes = 0.3 + 0.2 * w + rng.normal(0, 0.1, size=k)
    raw = pd.DataFrame({"study": np.repeat(np.arange(k), n_j)})
    raw["w"] = w[raw.study]
    raw["x"] = rng.normal(size=len(raw))
    raw["y"] = (
        rng.normal(0, 0.5, k)[raw.study] + slopes[raw.study] * raw.x + rng.normal(size=len(raw))
    )
    studies = per_study_slopes(raw).assign(w=w)
    hlm = mt.lmer("y ~ x * w + (x | study)", raw).coef_table()
    reg = mt.meta.rma("yi", "vi", mods="w", data=studies)
    assert reg.beta["w"] == pytest.approx(hlm.loc["x:w", "estimate"], abs=0.02)
    assert reg.beta["Intercept"] == pytest.approx(hlm.loc["x", "estimate"], abs=0.02)


def test_m6_latitude_explains_most_of_the_bcg_heterogeneity():
    reg = mt.meta.rma("yi", "vi", mods="ablat", data=bcg())
    assert reg.R2 > 70 and reg.QM_p < 0.001 and reg.Q_p < 0.01


def test_m7_test_then_choose_undercovers():
    rng = np.random.default_rng(8)
    v = 4 / rng.integers(20, 200, size=(4000, 8))
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    fe, dl, kh = (
        mt.meta.rma(y, v, method=m, test=t) for m, t in [("FE", "z"), ("DL", "z"), ("REML", "knha")]
    )
    choose_re = fe.Q_p < 0.10
    lo = np.where(choose_re, dl.ci_lower, fe.ci_lower)
    hi = np.where(choose_re, dl.ci_upper, fe.ci_upper)
    assert choose_re.mean() < 0.8  # the Q test misses much of the heterogeneity
    test_then_choose = ((lo < 0.3) & (hi > 0.3)).mean()
    assert test_then_choose < 0.92
    assert ((kh.ci_lower < 0.3) & (kh.ci_upper > 0.3)).mean() > 0.93
    # The fair comparison: always using the DL interval that the switch uses when it picks RE.
    always_dl = ((dl.ci_lower < 0.3) & (dl.ci_upper > 0.3)).mean()
    assert test_then_choose < always_dl - 0.01
    # I2 > 50% as the switch is no better than the Q test.
    by_i2 = dl.I2 > 50
    assert by_i2.mean() < choose_re.mean()
    lo_i2 = np.where(by_i2, dl.ci_lower, fe.ci_lower)
    hi_i2 = np.where(by_i2, dl.ci_upper, fe.ci_upper)
    assert ((lo_i2 < 0.3) & (hi_i2 > 0.3)).mean() < always_dl - 0.01


def test_three_level_model_widens_the_interval():
    kon = mt.datasets.load("konstantopoulos2011")
    three = mt.meta.rma_mv("yi", "vi", random=kon[["district", "school"]], data=kon)
    two = mt.meta.rma(kon.yi, kon.vi, method="REML")
    assert three.se > 1.5 * two.se
    assert (three.sigma2 > 0).all()


def test_three_level_model_gives_large_districts_less_weight():
    """The pooled effect rises because the two largest districts (small effects) lose weight."""
    kon = mt.datasets.load("konstantopoulos2011")
    three = mt.meta.rma_mv("yi", "vi", random=kon[["district", "school"]], data=kon)
    two = mt.meta.rma(kon.yi, kon.vi, method="REML")
    s_district, s_school = three.sigma2
    inverse_sums = {}
    for district, g in kon.groupby("district"):
        cov = np.full((len(g), len(g)), s_district) + np.diag(s_school + g.vi)
        inverse_sums[district] = np.linalg.inv(cov).sum()
    three_weights = pd.Series(inverse_sums) / sum(inverse_sums.values())
    two_weights = kon.assign(w=np.asarray(two.weights) / 100).groupby("district").w.sum()
    # the district weights reproduce the three-level estimate
    means = kon.groupby("district").apply(
        lambda g: (
            np.linalg.solve(
                np.full((len(g), len(g)), s_district) + np.diag(s_school + g.vi), np.ones(len(g))
            )
            @ g.yi
            / inverse_sums[g.name]
        ),
        include_groups=False,
    )
    assert (three_weights * means).sum() == pytest.approx(three.estimate, abs=1e-10)
    largest = kon.district.value_counts().index[:2]
    assert two_weights[largest].sum() > 0.35 > 0.25 > three_weights[largest].sum()
    assert kon.groupby("district").yi.mean()[largest].abs().max() < 0.1
    assert three.estimate > two.estimate + 0.05


def test_no_single_trial_dominates_the_random_effects_estimate():
    re = mt.meta.rma("yi", "vi", data=bcg())
    loo = mt.meta.leave_one_out(re)
    influence = mt.meta.influence(re)
    assert (loo.estimate - re.estimate).abs().max() < 0.1
    assert influence.rstudent.abs().max() < 2
    assert influence.cook_d.max() < 0.5
