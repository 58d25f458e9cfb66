"""Simple slopes and the Johnson-Neyman region against emmeans::emtrends and the closed form in R.

Reference: tests/reference/slopes_reference.R (lme4 1.1-31, emmeans, pbkrtest).
"""

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedtools as mt

REF = json.loads((Path(__file__).parent / "reference" / "slopes_reference.json").read_text())


@cache
def hsb_fit():
    hsb = mt.datasets.load("hsb")
    hsb["cses"] = hsb.ses - hsb.groupby("school").ses.transform("mean")
    return mt.lmer("mathach ~ cses * (meanses + sector) + (cses | school)", hsb)


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.abs(b))


@pytest.mark.parametrize("method", ["satterthwaite", "kenward-roger"])
def test_simple_slopes_match_emtrends(method):
    ref = REF["slopes"][method]
    at = pd.DataFrame({"meanses": ref["meanses"], "sector": ref["sector"]})
    out = mt.lmm.simple_slopes(hsb_fit(), "cses", at, ddf=method)
    assert list(out.columns[:2]) == ["meanses", "sector"]
    assert _rel(out.estimate, ref["estimate"]) < 1e-6
    assert _rel(out.std_error, ref["std_error"]) < 1e-6
    assert _rel(out.df, ref["df"]) < 1e-5  # lmerTest differentiates numerically
    t = out.estimate / out.std_error
    assert np.allclose(out.t, t)
    assert np.allclose(out.p_value, 2 * stats.t.sf(np.abs(t), out.df))
    q = stats.t.ppf(0.975, out.df)
    assert np.allclose(out.ci_upper - out.ci_lower, 2 * q * out.std_error)


def test_simple_slope_at_zero_moderators_is_the_main_effect():
    fit = hsb_fit()
    out = mt.lmm.simple_slopes(fit, "cses", pd.DataFrame({"meanses": [0.0], "sector": [0]}))
    table = fit.coef_table()
    assert out.estimate[0] == pytest.approx(table.loc["cses", "estimate"], rel=1e-12)
    assert out.std_error[0] == pytest.approx(table.loc["cses", "std_error"], rel=1e-10)
    assert out.df[0] == pytest.approx(table.loc["cses", "df"], rel=1e-8)


def test_linear_combinations_keep_the_index_and_use_z_when_asked():
    fit = hsb_fit()
    L = pd.DataFrame(np.eye(6)[[1, 4]], columns=fit.fixef.index, index=["a", "b"])
    out = mt.lmm.linear_combinations(fit, L, ddf="asymptotic", level=0.9)
    assert list(out.index) == ["a", "b"]
    assert np.isinf(out.df).all()
    assert out.std_error["b"] == pytest.approx(np.sqrt(fit.vcov.iloc[4, 4]))
    assert out.ci_upper["a"] - out.estimate["a"] == pytest.approx(
        stats.norm.ppf(0.95) * out.std_error["a"]
    )


@pytest.mark.parametrize(
    ("df", "key"), [("asymptotic", "z"), (None, "z"), (100, "t100"), (100.0, "t100")]
)
@pytest.mark.parametrize("sector", [0, 1])
def test_johnson_neyman_matches_the_closed_form(df, key, sector):
    jn = mt.lmm.johnson_neyman(hsb_fit(), "cses", "meanses", at={"sector": sector}, df=df)
    ref = REF["jn"][f"{key}_sector{sector}"]
    assert jn.attrs["roots"] == pytest.approx(ref, rel=1e-6)
    assert list(jn.sign) == ["negative", "positive"]
    assert jn.lower[0] == -np.inf and jn.upper[1] == np.inf
    assert jn.upper[0] == pytest.approx(ref[0], rel=1e-6)
    assert jn.lower[1] == pytest.approx(ref[1], rel=1e-6)


def test_johnson_neyman_satterthwaite_bounds_are_exactly_significant():
    fit = hsb_fit()
    jn = mt.lmm.johnson_neyman(fit, "cses", "meanses", at={"sector": 1})
    for m in jn.attrs["roots"]:
        s = mt.lmm.simple_slopes(fit, "cses", pd.DataFrame({"meanses": [m], "sector": [1]}))
        assert s.p_value[0] == pytest.approx(0.05, abs=1e-7)
    assert jn.df_lower[1] == pytest.approx(
        mt.lmm.simple_slopes(
            fit, "cses", pd.DataFrame({"meanses": [jn.lower[1]], "sector": [1]})
        ).df[0]
    )


def test_johnson_neyman_inside_a_range_and_when_nowhere_significant():
    fit = hsb_fit()
    jn = mt.lmm.johnson_neyman(
        fit, "cses", "meanses", at={"sector": 1}, df="asymptotic", range_=(-1.2, 0.9)
    )
    assert len(jn) == 1 and jn.upper[0] == 0.9 and jn.sign[0] == "positive"
    assert jn.observed_min[0] == pytest.approx(-1.188)
    # at alpha tiny, nothing is significant for Catholic schools in [-1, -0.9]
    none = mt.lmm.johnson_neyman(
        fit, "cses", "meanses", at={"sector": 1}, df="asymptotic", range_=(-1.0, -0.9)
    )
    assert none.empty


def test_slopes_work_with_a_factor_moderator():
    hsb = mt.datasets.load("hsb")
    hsb["cses"] = hsb.ses - hsb.groupby("school").ses.transform("mean")
    hsb["type"] = np.where(hsb.sector == 1, "catholic", "public")
    fit = mt.lmer("mathach ~ cses * (meanses + type) + (cses | school)", hsb)
    out = mt.lmm.simple_slopes(
        fit, "cses", pd.DataFrame({"meanses": [0.5], "type": ["catholic"]}), ddf="asymptotic"
    )
    ref = REF["slopes"]["satterthwaite"]
    assert out.estimate[0] == pytest.approx(ref["estimate"][5], rel=1e-5)


def test_bad_input_is_named():
    fit = hsb_fit()
    at = pd.DataFrame({"meanses": [0.0], "sector": [0]})
    with pytest.raises(ValueError, match="not a column"):
        mt.lmm.simple_slopes(fit, "nope", at)
    with pytest.raises(ValueError, match="focal predictor"):
        mt.lmm.simple_slopes(fit, "cses", at.assign(cses=1.0))
    with pytest.raises(ValueError, match="unknown ddf"):
        mt.lmm.simple_slopes(fit, "cses", at, ddf="bogus")
    with pytest.raises(ValueError, match="level"):
        mt.lmm.simple_slopes(fit, "cses", at, level=95)
    with pytest.raises(ValueError, match="DataFrame"):
        mt.lmm.simple_slopes(fit, "cses", {"meanses": 0})
    with pytest.raises(ValueError, match="cannot build"):
        mt.lmm.simple_slopes(fit, "cses", pd.DataFrame({"meanses": [0.0]}))
    with pytest.raises(ValueError, match="Kenward-Roger"):
        mt.lmm.johnson_neyman(fit, "cses", "meanses", df="kenward-roger")
    with pytest.raises(ValueError, match="not predictors"):
        mt.lmm.johnson_neyman(fit, "cses", "meanses", at={"zzz": 1})
    with pytest.raises(ValueError, match="columns"):
        mt.lmm.linear_combinations(fit, [1, 0])
    sleep = mt.datasets.load("sleepstudy")
    quad = mt.lmer("reaction ~ days + I(days**2) + (1 | subject)", sleep)
    with pytest.raises(ValueError, match="not linear"):
        mt.lmm.simple_slopes(quad, "days", pd.DataFrame({"x": [0]}))
    plain = mt.lmer("reaction ~ days + (1 | subject)", sleep.assign(z=1.0))
    with pytest.raises(ValueError, match="interact"):
        mt.lmm.johnson_neyman(plain, "days", "z")


def test_quadratic_region_shapes():
    from mixedtools.lmm.slopes import _quadratic_region

    # a < 0: significant only between the roots (-1, 1)
    inside, roots = _quadratic_region(-1.0, 0.0, 1.0, -np.inf, np.inf)
    assert inside == [(-1.0, 1.0)] and list(roots) == [-1.0, 1.0]
    # a > 0 without real roots: significant everywhere
    everywhere, roots = _quadratic_region(1.0, 0.0, 1.0, -5.0, 5.0)
    assert everywhere == [(-5.0, 5.0)] and roots.size == 0
    # a < 0 without real roots: nowhere
    nowhere, _ = _quadratic_region(-1.0, 0.0, -1.0, -np.inf, np.inf)
    assert nowhere == []
    # linear (a = 0): one side of the root
    half, _ = _quadratic_region(0.0, 2.0, -1.0, -np.inf, np.inf)
    assert half == [(0.5, np.inf)]
