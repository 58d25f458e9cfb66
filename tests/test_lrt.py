"""mt.lrt against R's anova(m0, m1) (tests/reference/lmer_reference.R)."""

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import mixedtools as mt

REF = json.loads((Path(__file__).parent / "reference" / "lmer_reference.json").read_text())["lrt"]


@cache
def sleep():
    return mt.datasets.load("sleepstudy")


@cache
def fit(formula, reml=True, data="sleepstudy"):
    frame = sleep() if data == "sleepstudy" else mt.datasets.load(data)
    return mt.lmer(formula, frame, reml=reml)


def check_against_r(out, ref):
    np.testing.assert_array_equal(out["npar"], ref["npar"])
    np.testing.assert_allclose(out["loglik"], ref["loglik"], rtol=1e-9)
    np.testing.assert_allclose(out["deviance"], ref["deviance"], rtol=1e-9)
    assert out.loc["full", "chisq"] == pytest.approx(ref["chisq"], rel=1e-6)
    assert out.loc["full", "df"] == ref["df"]
    assert out.loc["full", "p_naive"] == pytest.approx(ref["p_naive"], rel=1e-5)


def test_random_slope_with_covariance_uses_chi2_1_2_mixture():
    out = mt.lrt(fit("reaction ~ days + (1 | subject)"), fit("reaction ~ days + (days | subject)"))
    check_against_r(out, REF["slope"])
    assert out.loc["full", "p_value"] == pytest.approx(REF["slope"]["p_mixture"], rel=1e-5)
    assert out.attrs["null_distribution"] == "0.5 chi2(1) + 0.5 chi2(2)"
    assert out.attrs["method"] == "REML"
    assert list(out.columns) == [
        "npar",
        "aic",
        "bic",
        "loglik",
        "deviance",
        "chisq",
        "df",
        "p_value",
        "p_naive",
    ]


def test_one_variance_uses_chi2_0_1_mixture():
    out = mt.lrt(
        fit("strength ~ 1 + (1 | batch)", data="pastes"),
        fit("strength ~ 1 + (1 | batch/cask)", data="pastes"),
    )
    check_against_r(out, REF["nested"])
    assert out.loc["full", "p_value"] == pytest.approx(REF["nested"]["p_mixture"], rel=1e-5)
    assert out.loc["full", "p_value"] == pytest.approx(out.loc["full", "p_naive"] / 2, rel=1e-12)
    assert out.attrs["null_distribution"] == "0.5 chi2(0) + 0.5 chi2(1)"


def test_dropping_a_correlation_is_not_a_boundary_test():
    out = mt.lrt(
        fit("reaction ~ days + (days || subject)"), fit("reaction ~ days + (days | subject)")
    )
    check_against_r(out, REF["correlation"])
    assert out.loc["full", "p_value"] == out.loc["full", "p_naive"]


def test_fixed_effects_are_compared_after_ml_refit():
    out = mt.lrt(fit("reaction ~ 1 + (days | subject)"), fit("reaction ~ days + (days | subject)"))
    check_against_r(out, REF["fixed"])
    assert out.attrs["method"] == "ML (refitted)"
    assert out.loc["full", "p_value"] == pytest.approx(stats.chi2.sf(REF["fixed"]["chisq"], 1))


def test_lrt_rejects_swapped_models_and_different_data():
    m0, m1 = fit("reaction ~ days + (1 | subject)"), fit("reaction ~ days + (days | subject)")
    with pytest.raises(ValueError, match="pass the smaller model first"):
        mt.lrt(m1, m0)
    other = sleep().copy()
    other.loc[0, "reaction"] = np.nan
    m_other = mt.lmer("reaction ~ days + (days | subject)", other)
    with pytest.raises(ValueError, match="different data"):
        mt.lrt(m0, m_other)
    with pytest.raises(TypeError, match="mixedtools.lmer"):
        mt.lrt("m0", m1)


def test_lrt_warns_when_random_parts_are_not_nested():
    a = fit("strength ~ 1 + (1 | batch:cask)", data="pastes")
    b = fit("strength ~ 1 + (1 | batch) + (1 | cask)", data="pastes")
    with pytest.warns(UserWarning, match="not be nested"):
        mt.lrt(a, b)


def test_compound_symmetry_is_nested_in_an_unstructured_covariance_as_r_says():
    # (1 | worker/machine) adds sigma2_w + sigma2_wm [same machine] within a worker: the
    # (machine | worker) covariance restricted to compound symmetry. R's anova() compares them;
    # the former check by variance names warned "not nested"
    reduced = fit("score ~ machine + (1 | worker/machine)", data="machines")
    full = fit("score ~ machine + (machine | worker)", data="machines")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = mt.lrt(reduced, full)
    check_against_r(out, REF["compound_symmetry"])
    assert out.loc["full", "p_value"] == pytest.approx(REF["compound_symmetry"]["p_naive"])
    # (1 | worker:machine) alone is nested in (machine | worker) too; (1 | worker) is not
    # nested in (1 | worker:machine), nor the reverse (the same number of parameters)
    mt.lrt(fit("score ~ machine + (1 | worker:machine)", data="machines"), full)
    cells = fit("score ~ machine + (1 | worker:machine)", data="machines")
    with pytest.warns(UserWarning, match="not be nested"):
        mt.lrt(fit("score ~ machine + (1 | machine)", data="machines"), full)
    with pytest.raises(ValueError, match=r"same number of parameters \(5 each\), so neither"):
        mt.lrt(fit("score ~ machine + (1 | worker)", data="machines"), cells)


def test_one_grouping_under_two_names_is_nested():
    data = sleep().assign(person=sleep()["subject"])
    reduced = mt.lmer("reaction ~ days + (1 | subject)", data)
    full = mt.lmer("reaction ~ days + (1 | person) + (0 + days | subject)", data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = mt.lrt(reduced, full)
    assert out.loc["full", "df"] == 1


def test_equal_parameter_counts_are_not_called_a_swapped_order():
    m0 = fit("reaction ~ days + (1 | subject)")
    with pytest.raises(ValueError, match="the same model .* nothing to test"):
        mt.lrt(m0, m0)
    shuffled = mt.lmer("reaction ~ days + (1 | subject)", sleep().sample(frac=1, random_state=2))
    with pytest.raises(ValueError, match="the same model"):
        mt.lrt(m0, shuffled)
    # the same count, different models: not nested (formerly "pass the smaller model first")
    other = fit("reaction ~ days + (0 + days | subject)")
    with pytest.raises(ValueError, match="neither is nested .* AIC or BIC"):
        mt.lrt(m0, other)
    with pytest.raises(ValueError, match="fewer parameters .* pass the smaller model first"):
        mt.lrt(fit("reaction ~ days + (days | subject)"), m0)


def test_the_same_rows_in_another_order_give_the_same_test():
    shuffled = sleep().sample(frac=1.0, random_state=7)
    reduced = mt.lmer("reaction ~ days + (1 | subject)", shuffled)
    out = mt.lrt(reduced, fit("reaction ~ days + (days | subject)"))
    expected = mt.lrt(
        fit("reaction ~ days + (1 | subject)"), fit("reaction ~ days + (days | subject)")
    )
    np.testing.assert_allclose(out["chisq"].iloc[1], expected["chisq"].iloc[1], rtol=1e-6)


def test_rows_that_differ_are_refused_even_when_reordered():
    data = sleep().copy()
    data.loc[data.index[0], "reaction"] += 1.0
    with pytest.raises(ValueError, match="different data"):
        mt.lrt(
            mt.lmer("reaction ~ days + (1 | subject)", data),
            fit("reaction ~ days + (days | subject)"),
        )


def test_fixed_parts_that_are_not_nested_warn():
    data = sleep().assign(day2=lambda d: (d["days"] - 4.5) ** 2)
    a = mt.lmer("reaction ~ days + (1 | subject)", data, reml=False)
    b = mt.lmer("reaction ~ day2 + (days | subject)", data, reml=False)
    with pytest.warns(UserWarning, match="not nested"):
        mt.lrt(a, b)
