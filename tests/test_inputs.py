"""mt.lmer with the inputs users have: R-style column names, pandas dtypes, degenerate designs."""

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt
from mixedtools.lmm.formula import FormulaError


@pytest.fixture(scope="module")
def sleep():
    return mt.datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def reference(sleep):
    return mt.lmer("reaction ~ days + (days | subject)", sleep)


def same_fit(fit, reference):
    np.testing.assert_allclose(fit.fixef.to_numpy(), reference.fixef.to_numpy(), rtol=1e-8)
    assert fit.loglik == pytest.approx(reference.loglik, rel=1e-10)


# ----------------------------------------------------------------------------- column names
def test_keyword_response_as_dyestuff_has_it():
    dyes = mt.datasets.load("dyestuff")
    plain = mt.lmer("yield ~ 1 + (1 | batch)", dyes)
    for formula in ("`yield` ~ 1 + (1 | batch)", 'Q("yield") ~ 1 + (1 | batch)'):
        other = mt.lmer(formula, dyes)
        assert other.loglik == pytest.approx(plain.loglik, rel=1e-12)
    assert list(plain.fixef.index) == ["Intercept"]


@pytest.mark.parametrize(
    ("renames", "formula"),
    [
        ({"subject": "class"}, "reaction ~ days + (days | class)"),
        ({"reaction": "Informed.liking"}, "Informed.liking ~ days + (days | subject)"),
        ({"days": "day.s"}, "reaction ~ day.s + (day.s | subject)"),
        ({"reaction": "re action"}, "`re action` ~ days + (days | subject)"),
        ({"days": "test day"}, "reaction ~ `test day` + (`test day` | subject)"),
        ({"subject": "学校"}, "reaction ~ days + (days | 学校)"),
        ({"days": "天数"}, "reaction ~ 天数 + (天数 | subject)"),
        ({"subject": "sub ject"}, "reaction ~ days + (days | `sub ject`)"),
    ],
)
def test_r_style_names(sleep, reference, renames, formula):
    fit = mt.lmer(formula, sleep.rename(columns=renames))
    same_fit(fit, reference)
    slope = renames.get("days", "days")
    assert list(fit.fixef.index) == ["Intercept", slope]  # printed without Q("...")
    group = renames.get("subject", "subject")
    assert list(fit.ranef[group].columns) == ["Intercept", slope]
    assert fit.anova(ddf="residual").index.tolist() == [slope]
    assert fit.predict().to_numpy() == pytest.approx(reference.predict().to_numpy())


# ----------------------------------------------------------------------------- dtypes
def test_nullable_dtypes_fit_like_numpy_ones(sleep, reference):
    same_fit(mt.lmer("reaction ~ days + (days | subject)", sleep.convert_dtypes()), reference)
    typed = sleep.astype({"reaction": "Float64", "days": "Int64"})
    same_fit(mt.lmer("reaction ~ days + (days | subject)", typed), reference)


def test_pd_na_is_dropped_and_counted_like_nan(sleep):
    with_na = sleep.astype({"reaction": "Float64", "days": "Int64"})
    with_na.loc[[0, 5], "reaction"] = pd.NA
    with_na.loc[[7], "days"] = pd.NA
    with_na["subject"] = with_na["subject"].astype("string")
    with_na.loc[[9], "subject"] = pd.NA
    with_nan = sleep.copy()
    with_nan.loc[[0, 5], "reaction"] = np.nan
    with_nan.loc[[7], "days"] = np.nan
    with_nan.loc[[9], "subject"] = None
    a = mt.lmer("reaction ~ days + (days | subject)", with_na)
    b = mt.lmer("reaction ~ days + (days | subject)", with_nan)
    assert a.n_dropped == b.n_dropped == 4
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)


def test_dates_are_refused_with_a_conversion_hint(sleep):
    dated = sleep.assign(day=pd.Timestamp("2024-03-01") + pd.to_timedelta(sleep["days"], "D"))
    with pytest.raises(TypeError, match=r"holds dates.*\.dt\.days"):
        mt.lmer("reaction ~ day + (1 | subject)", dated)


def test_numbers_stored_as_text_are_flagged(sleep):
    texty = sleep.assign(days=sleep["days"].astype(str))
    with pytest.warns(UserWarning, match="numbers stored as text.*pd.to_numeric"):
        fit = mt.lmer("reaction ~ days + (1 | subject)", texty)
    assert len(fit.fixef) == 10  # a factor, as R would make it
    with pytest.raises(FormulaError, match="numbers stored as text"):
        mt.lmer(
            "reaction ~ days + (1 | subject)", sleep.assign(reaction=sleep["reaction"].astype(str))
        )


# ----------------------------------------------------------------------------- degenerate designs
def test_aliased_fixed_columns_are_named(sleep):
    with pytest.raises(FormulaError, match="rank deficient: 'days2' is a linear combination"):
        mt.lmer("reaction ~ days + days2 + (1 | subject)", sleep.assign(days2=2 * sleep["days"]))


def test_infinite_values_are_named_with_their_rows(sleep):
    # as R (NA/NaN/Inf in 'x'): the column, the number of rows and the first row label
    data = sleep.assign(x=sleep["days"].astype(float))
    data.loc[5, "x"] = -np.inf
    with pytest.raises(
        FormulaError, match=r"'x' of the model design has infinite values \(1 row, e"
    ):
        mt.lmer("reaction ~ x + (1 | subject)", data)
    with pytest.raises(FormulaError, match=r"e.g. -inf in row 5\)"):
        mt.lmer("reaction ~ days + (x | subject)", data)
    # poly() refused them with "no complete rows left to fit the model"
    with pytest.raises(FormulaError, match=r"poly\(\): the variable has infinite values \(1 row"):
        mt.lmer("reaction ~ poly(x, 2) + (1 | subject)", data)


def test_constant_response_is_refused(sleep):
    with pytest.raises(ValueError, match="response 'flat' is constant"):
        mt.lmer("flat ~ days + (1 | subject)", sleep.assign(flat=3.0))


def test_slope_on_a_constant_is_refused(sleep):
    with pytest.raises(FormulaError, match="linearly dependent"):
        mt.lmer("reaction ~ days + (one | subject)", sleep.assign(one=1.0))


def test_more_random_effects_than_observations(sleep):
    few = sleep.groupby("subject").head(2)  # 36 rows, 18 x 2 random effects
    with pytest.raises(ValueError, match=r"observations \(36\) is not larger .* \(36\)"):
        mt.lmer("reaction ~ days + (days | subject)", few)


def test_offset_as_in_lme4(sleep):
    shifted = mt.lmer("reaction ~ days + offset(2 * days) + (days | subject)", sleep)
    plain = mt.lmer("reaction ~ days + (days | subject)", sleep)
    assert shifted.fixef["days"] == pytest.approx(plain.fixef["days"] - 2, rel=1e-8)
    assert shifted.loglik == pytest.approx(plain.loglik, rel=1e-10)
    np.testing.assert_allclose(shifted.fitted, plain.fitted, rtol=1e-8)
    np.testing.assert_allclose(shifted.residuals, plain.residuals, rtol=1e-6, atol=1e-8)
    new = pd.DataFrame({"days": [0.0, 5.0], "subject": ["308", "308"]})
    np.testing.assert_allclose(shifted.predict(new), plain.predict(new), rtol=1e-8)


# ----------------------------------------------------------------------------- group ids
def test_group_ids_keep_their_type_and_match_by_value(sleep):
    numeric = sleep.assign(subject=sleep["subject"].astype(int))
    fit = mt.lmer("reaction ~ days + (days | subject)", numeric)
    assert fit.ranef["subject"].index.dtype.kind == "i"
    text = mt.lmer("reaction ~ days + (days | subject)", sleep)
    new = pd.DataFrame({"days": [1.0, 1.0, 1.0], "subject": [308.0, 308, 999]})
    expected = text.predict(pd.DataFrame({"days": [1.0] * 3, "subject": ["308", "308", "999"]}))
    np.testing.assert_allclose(fit.predict(new), expected, rtol=1e-8)


def test_crossed_group_ids_match_by_value():
    pen = mt.datasets.load("penicillin")
    fit = mt.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", pen)
    row = pen.iloc[[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fit.predict(row).iloc[0] == pytest.approx(fit.fitted.iloc[0])
