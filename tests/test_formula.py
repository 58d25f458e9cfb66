"""The lme4 formula parser, the mapping onto statsmodels, and every bad-input path of mt.lmer."""

import importlib
import warnings

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt
from mixedtools.lmm.fit import LmerConvergenceWarning, SingularFitWarning
from mixedtools.lmm.formula import FormulaError, parse_lmer_formula


def texts(formula):
    return [t.text for t in parse_lmer_formula(formula).random]


# ----------------------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    ("formula", "fixed", "random"),
    [
        ("y ~ x + (1 | g)", "y ~ x", ["(1 | g)"]),
        ("y ~ x + (x | g)", "y ~ x", ["(1 + x | g)"]),
        ("y ~ x + (1 + x | g)", "y ~ x", ["(1 + x | g)"]),
        ("y ~ x + (0 + x | g)", "y ~ x", ["(0 + x | g)"]),
        ("y ~ x + (x - 1 | g)", "y ~ x", ["(0 + x | g)"]),
        ("y ~ x + (x || g)", "y ~ x", ["(1 | g)", "(0 + x | g)"]),
        ("y ~ x + (0 + x + z || g)", "y ~ x", ["(0 + x | g)", "(0 + z | g)"]),
        ("y ~ 1 + (1 | a/b)", "y ~ 1", ["(1 | a)", "(1 | a:b)"]),
        ("y ~ 1 + (1 | a/b/c)", "y ~ 1", ["(1 | a)", "(1 | a:b)", "(1 | a:b:c)"]),
        ("y ~ (1 | s) + (1 | i)", "y ~ 1", ["(1 | s)", "(1 | i)"]),
        ("y ~ f * x + I(x**2) + (1|g)", "y ~ f * x + I(x**2)", ["(1 | g)"]),
        ("y ~ np.log(x) + (1 | g) + z", "y ~ np.log(x) + z", ["(1 | g)"]),
    ],
)
def test_parser_splits_fixed_and_random_parts(formula, fixed, random):
    parsed = parse_lmer_formula(formula)
    assert parsed.fixed == fixed
    assert [t.text for t in parsed.random] == random


def test_grouping_columns_in_order_of_appearance():
    parsed = parse_lmer_formula("y ~ x + (x | school/class) + (1 | rater)")
    assert parsed.grouping_columns == ("school", "class", "rater")


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ x", "statsmodels.formula.api.ols"),
        ("y ~ x + (| g)", "nothing before the bar"),
        ("y ~ x + (1 |)", "no grouping factor"),
        ("y ~ x + 1 | g", "random terms go in parentheses"),
        ("y ~ x + (1 | g | h)", "exactly one bar"),
        ("y ~ x + (1 | g + h)", "must be a column name"),
        ("y ~ x + (1 | g", "unbalanced parentheses"),
        ("y ~ x + (1 | g))", "unbalanced parentheses"),
        ("y x + (1 | g)", "exactly one '~'"),
        ("~ x + (1 | g)", "no response"),
        ("y ~ x - (1 | g)", "cannot subtract"),
        ("y ~ x + (1 + x - z | g)", "cannot remove"),
        ("y ~ x + (0 | g)", "no effects left"),
        ("y ~ x + (1 | g) + (1 | g)", "repeats a random term"),
        ("y ~ x + (x ||| g)", "malformed"),
    ],
)
def test_malformed_formulas_raise_clear_errors(formula, message):
    with pytest.raises(FormulaError, match=message.replace("(", r"\(").replace("|", r"\|")):
        parse_lmer_formula(formula)


def test_formula_must_be_a_string():
    with pytest.raises(TypeError, match="formula must be a string"):
        parse_lmer_formula(None)


# ----------------------------------------------------------------------------- data checks
@pytest.fixture(scope="module")
def sleep():
    return mt.datasets.load("sleepstudy")


def test_unknown_column_in_fixed_part(sleep):
    with pytest.raises(FormulaError, match="unknown column 'dayz'"):
        mt.lmer("reaction ~ dayz + (1 | subject)", sleep)


def test_unknown_column_in_random_slope(sleep):
    with pytest.raises(FormulaError, match="unknown column 'dayz'"):
        mt.lmer("reaction ~ days + (dayz | subject)", sleep)


def test_unknown_grouping_factor(sleep):
    with pytest.raises(FormulaError, match="unknown grouping factor 'subj'"):
        mt.lmer("reaction ~ days + (1 | subj)", sleep)


def test_grouping_factor_with_one_level(sleep):
    data = sleep.assign(site="only")
    with pytest.raises(ValueError, match="only one level"):
        mt.lmer("reaction ~ days + (1 | site)", data)


def test_grouping_factor_with_a_level_per_row(sleep):
    data = sleep.assign(row=np.arange(len(sleep)))
    with pytest.raises(ValueError, match="different level on every row"):
        mt.lmer("reaction ~ days + (1 | row)", data)


def test_no_random_term_points_to_ols(sleep):
    with pytest.raises(FormulaError, match="ols"):
        mt.lmer("reaction ~ days", sleep)


def test_two_correlated_blocks_for_one_factor_use_the_general_engine(sleep):
    data = sleep.assign(d2=(sleep["days"] - 4.5) ** 2 / 10, d3=np.sin(sleep["days"]))
    fit = mt.lmer("reaction ~ days + (1 + days | subject) + (0 + d2 + d3 | subject)", data)
    assert fit.design.general
    assert list(fit.varcorr["group"]) == ["subject"] * 6 + ["Residual"]


def test_correlated_slopes_for_crossed_factors_are_fitted():
    data = mt.datasets.load("penicillin")
    data["x"] = np.tile(np.arange(6.0), 24)
    fit = mt.lmer("diameter ~ x + (x | plate) + (1 | sample)", data)
    assert list(fit.ranef["plate"].columns) == ["Intercept", "x"]
    assert fit.ngroups == {"plate": 24, "sample": 6}


def test_rank_deficient_fixed_part(sleep):
    data = sleep.assign(days2=2 * sleep["days"])
    with pytest.raises(FormulaError, match="rank deficient"):
        mt.lmer("reaction ~ days + days2 + (1 | subject)", data)


def test_data_must_be_a_dataframe(sleep):
    with pytest.raises(TypeError, match="DataFrame"):
        mt.lmer("reaction ~ days + (1 | subject)", sleep.to_dict())


def test_reml_must_be_boolean(sleep):
    with pytest.raises(TypeError, match="reml"):
        mt.lmer("reaction ~ days + (1 | subject)", sleep, reml="yes")


def test_unknown_ddf_method(sleep):
    fit = mt.lmer("reaction ~ days + (1 | subject)", sleep)
    with pytest.raises(ValueError, match="unknown ddf method"):
        fit.coef_table(ddf="containment")
    with pytest.raises(ValueError, match="unknown ddf method"):
        fit.anova(ddf="wald")


def test_anova_needs_a_term_to_test():
    fit = mt.lmer("mathach ~ 1 + (1 | school)", mt.datasets.load("hsb"))
    with pytest.raises(ValueError, match="no fixed-effects terms"):
        fit.anova()


# ----------------------------------------------------------------------------- missing values
def test_missing_values_are_dropped_and_counted(sleep):
    data = sleep.copy()
    data.loc[[3, 50], "reaction"] = np.nan
    data.loc[7, "days"] = np.nan
    data.loc[90, "subject"] = None
    fit = mt.lmer("reaction ~ days + (days | subject)", data)
    assert fit.n_dropped == 4 and fit.nobs == len(sleep) - 4
    complete = mt.lmer("reaction ~ days + (days | subject)", data.dropna())
    np.testing.assert_allclose(fit.fixef, complete.fixef, rtol=1e-10)
    assert fit.loglik == pytest.approx(complete.loglik, rel=1e-12)
    assert "4 dropped" in repr(fit)
    assert "4 rows with missing values dropped" in fit.summary(ddf="residual").text
    # residuals keep the caller's row labels
    assert 3 not in fit.residuals.index and 4 in fit.residuals.index


def test_missing_values_raise_on_request(sleep):
    data = sleep.copy()
    data.loc[3, "reaction"] = np.nan
    with pytest.raises(ValueError, match="1 of 180 rows have missing values"):
        mt.lmer("reaction ~ days + (1 | subject)", data, na_action="raise")
    with pytest.raises(ValueError, match="na_action"):
        mt.lmer("reaction ~ days + (1 | subject)", data, na_action="omit")


def test_missing_values_in_unused_columns_are_ignored(sleep):
    data = sleep.assign(unused=np.nan)
    assert mt.lmer("reaction ~ days + (1 | subject)", data).n_dropped == 0


# ----------------------------------------------------------------------------- mapping
def test_several_terms_for_one_factor_match_the_uncorrelated_model(sleep):
    a = mt.lmer("reaction ~ days + (days || subject)", sleep)
    b = mt.lmer("reaction ~ days + (1 | subject) + (0 + days | subject)", sleep)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-10)
    assert list(b.ranef["subject"].columns) == ["Intercept", "days"]


def test_nested_written_two_ways_agree():
    pastes = mt.datasets.load("pastes")
    a = mt.lmer("strength ~ 1 + (1 | batch/cask)", pastes)
    b = mt.lmer("strength ~ 1 + (1 | batch) + (1 | batch:cask)", pastes)
    c = mt.lmer("strength ~ 1 + (1 | batch) + (1 | sample)", pastes)  # sample = batch:cask
    assert a.loglik == pytest.approx(b.loglik, rel=1e-10)
    assert a.loglik == pytest.approx(c.loglik, rel=1e-10)
    # the sparse engine: one term per random term, the nested factor with its 30 levels
    assert [t.n_levels for t in a.structure.terms] == [10, 30]
    assert [t.n_levels for t in c.structure.terms] == [10, 30]


def test_crossed_factors_use_the_sparse_engine():
    fit = mt.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", mt.datasets.load("penicillin"))
    assert fit.design.general
    assert [t.group for t in fit.structure.terms] == ["plate", "sample"]
    # Z is sparse: one non-zero per row and term, no dense N x levels matrix
    assert fit.structure.Zs.nnz == 2 * fit.nobs


def test_factor_random_slope_and_fixed_factor_names():
    machines = mt.datasets.load("machines")
    fit = mt.lmer("score ~ machine + (1 | worker)", machines)
    assert list(fit.fixef.index) == ["Intercept", "machine[T.B]", "machine[T.C]"]


# ----------------------------------------------------------------------------- warnings
def test_singular_fit_warns_in_words(sleep):
    rng = np.random.default_rng(1)
    data = sleep.assign(reaction=sleep["days"] + rng.normal(size=len(sleep)))
    with pytest.warns(SingularFitWarning, match="boundary \\(singular\\) fit"):
        fit = mt.lmer("reaction ~ days + (days | subject)", data)
    assert fit.singular and fit.converged
    assert (fit.varcorr["vcov"].iloc[:3] == 0).all()


def test_convergence_failure_warns(monkeypatch, sleep):
    lmer_module = importlib.import_module("mixedtools.lmm.fit")  # the module, not mt.lmer
    real = lmer_module._tau_from_statsmodels

    def stopped_early(structure, result):
        tau = real(structure, result)
        tau[:-1] *= 3.0  # as if the optimiser had stopped far from the maximum
        return tau

    monkeypatch.setattr(lmer_module, "_tau_from_statsmodels", stopped_early)
    with pytest.warns(LmerConvergenceWarning, match="did not converge"):
        fit = mt.lmer(
            "reaction ~ days + (days | subject)", sleep, polish=False, optimizer="statsmodels"
        )
    assert not fit.converged
    # with polishing the same bad start is repaired
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mt.lmer("reaction ~ days + (days | subject)", sleep).converged


def test_well_behaved_fit_is_silent(sleep):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = mt.lmer("reaction ~ days + (days | subject)", sleep)
    assert fit.converged and not fit.singular
    assert isinstance(fit.varcorr, pd.DataFrame)


def test_zero_variance_component_warns_and_equals_the_smaller_model():
    data = mt.datasets.load("penicillin")
    rng = np.random.default_rng(1)
    effect = dict(zip(sorted(data["sample"].unique()), 2 * rng.normal(size=6), strict=True))
    data["diameter"] = data["sample"].map(effect) + rng.normal(size=len(data))
    with pytest.warns(SingularFitWarning, match="random intercept across 'plate' is estimated"):
        fit = mt.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", data)
    assert fit.varcorr.set_index("group").loc["plate", "vcov"] == 0.0
    smaller = mt.lmer("diameter ~ 1 + (1 | sample)", data)
    assert fit.loglik == pytest.approx(smaller.loglik, rel=1e-10)
    assert fit.fixef["Intercept"] == pytest.approx(smaller.fixef["Intercept"], rel=1e-8)


def test_non_numeric_response():
    data = mt.datasets.load("sleepstudy").assign(label=lambda d: d["subject"] + "x")
    with pytest.raises(FormulaError, match="single numeric column"):
        mt.lmer("label ~ days + (1 | subject)", data)


@pytest.mark.parametrize(
    "call",
    [
        lambda d: mt.lmer("reaction ~ days + Intercept + (1 | subject)", d),
        lambda d: mt.lmer("reaction ~ days + (Intercept | subject)", d),
        lambda d: mt.glmer("I(reaction > 300) ~ Intercept + (1 | subject)", d),
    ],
)
def test_a_column_named_intercept_is_refused_with_the_fix(call):
    data = mt.datasets.load("sleepstudy").assign(Intercept=lambda d: np.arange(180) % 2)
    with pytest.raises(FormulaError, match="column .Intercept.*rename"):
        call(data)


def test_terms_come_in_r_order():
    # lme4 on the same data (a singular fit, so the values are those of OLS):
    # (Intercept) -0.330953633, x 0.009500006, w 0.473358700, catb -0.011745544, x:w -0.016018110
    d = pd.DataFrame(
        {
            "y": np.random.default_rng(1).normal(size=40),
            "x": np.arange(40.0),
            "w": np.arange(40.0) % 3,
            "cat": list("ab") * 20,
            "g": np.repeat(np.arange(8), 5),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        fit = mt.lmer("y ~ x * w + cat + (1 | g)", d)
    assert list(fit.fixef.index) == ["Intercept", "x", "w", "cat[T.b]", "x:w"]
    lme4 = [-0.330953633, 0.009500006, 0.473358700, -0.011745544, -0.016018110]
    assert fit.fixef.to_numpy() == pytest.approx(lme4, abs=1e-8)
    meta = mt.meta.rma(d["y"], np.full(40, 0.5), mods="~ x * w + cat", data=d, method="FE")
    assert list(meta.coef_table().index) == ["Intercept", "x", "w", "cat[T.b]", "x:w"]
