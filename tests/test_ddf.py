"""Denominator-df methods against lmerTest, pbkrtest and nlme, plus properties of the rules."""

import json
import re
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.regression.mixed_linear_model import MixedLMParams

from mixedtools.lmm.ddf import (
    DDF_METHODS,
    coef_table,
    contrast_test,
    hlm_df,
    hlm_levels,
    kenward_roger,
    nlme_df,
    satterthwaite_t,
)
from mixedtools.lmm.reml import from_statsmodels, newton_polish, reml_quantities

REF = json.loads((Path(__file__).parent / "reference" / "ddf_reference.json").read_text())

# statsmodels formula and grouping for each R case
SPECS = {
    "sleepstudy": ("Reaction ~ Days", {"groups": "Subject", "re_formula": "~Days"}),
    "sleep_unbalanced": ("Reaction ~ Days", {"groups": "Subject", "re_formula": "~Days"}),
    "shoes": ("wear ~ material", {"groups": "boy"}),
    "hsb": ("mathach ~ meanses + sector * cses", {"groups": "school", "re_formula": "~cses"}),
    "oats": (
        'Q("yield") ~ variety + nitro',
        {"groups": "block", "re_formula": "1", "vc_formula": {"variety": "0 + C(variety)"}},
    ),
    "boundary": ("y ~ x + w", {"groups": "g"}),
    # (Days || Subject): the covariance of G is held at zero
    "sleep_uncorrelated": (
        "Reaction ~ Days",
        {"groups": "Subject", "re_formula": "~Days", "uncorrelated": True},
    ),
}


def _fit(formula, data, reml=True, uncorrelated=False, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smf.mixedlm(formula, data, **kwargs)
        free = None
        if uncorrelated:
            free = MixedLMParams.from_components(
                fe_params=np.ones(model.k_fe), cov_re=np.eye(model.k_re)
            )
        return model.fit(reml=reml, free=free)


@cache
def fitted(case, reml=True):
    formula, kwargs = SPECS[case]
    return _fit(formula, pd.DataFrame(REF[case]["data"]), reml, **kwargs)


def py_name(r_name):
    """R coefficient name -> patsy name (treatment-coded factors)."""
    name = r_name.replace("(Intercept)", "Intercept")
    return re.sub(r"\b(sector|variety|material)([A-Z]\w*)", r"\1[T.\2]", name)


def r_terms(case):
    return [py_name(t) for t in REF[case]["satterthwaite"]["term"]]


def to_python_columns(case, L):
    """Reorder the columns of an R contrast matrix to the statsmodels column order."""
    names = list(fitted(case).model.exog_names[: fitted(case).model.k_fe])
    L = np.atleast_2d(np.asarray(L, float))
    out = np.zeros_like(L)
    out[:, [names.index(n) for n in r_terms(case)]] = L
    return out


CASES = list(SPECS)


@pytest.mark.parametrize("case", CASES)
def test_satterthwaite_table_matches_lmertest(case):
    ref = REF[case]["satterthwaite"]
    tab = coef_table(fitted(case), ddf="satterthwaite").loc[r_terms(case)]
    np.testing.assert_allclose(tab["estimate"], ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose(tab["std_error"], ref["std_error"], rtol=1e-5)
    # lme4's optimizer stops ~1e-7 short of the optimum; we polish to it exactly
    np.testing.assert_allclose(tab["df"], ref["df"], rtol=1e-5)
    np.testing.assert_allclose(tab["t"], ref["t"], rtol=1e-5)
    np.testing.assert_allclose(tab["p_value"], ref["p_value"], rtol=1e-4, atol=1e-300)


@pytest.mark.parametrize("case", CASES)
def test_satterthwaite_for_ml_fits_matches_lmertest(case):
    ref = REF[case]["satterthwaite_ml"]
    tab = coef_table(fitted(case, reml=False), ddf="satterthwaite").loc[r_terms(case)]
    np.testing.assert_allclose(tab["estimate"], ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose(tab["std_error"], ref["std_error"], rtol=1e-5)
    np.testing.assert_allclose(tab["df"], ref["df"], rtol=1e-5)


def test_uncorrelated_structure_has_no_covariance_parameter():
    structure, _ = from_statsmodels(fitted("sleep_uncorrelated"))
    assert structure.tau_names == ("G[Subject,Subject]", "G[Days,Days]", "sigma2")


@pytest.mark.parametrize("case", CASES)
def test_kenward_roger_table_matches_lmertest(case):
    ref = REF[case]["kenward_roger"]
    tab = coef_table(fitted(case), ddf="kenward-roger").loc[r_terms(case)]
    np.testing.assert_allclose(tab["std_error"], ref["std_error"], rtol=1e-5)
    np.testing.assert_allclose(tab["df"], ref["df"], rtol=1e-5)
    np.testing.assert_allclose(tab["t"], ref["t"], rtol=1e-5)


@pytest.mark.parametrize("case", CASES)
def test_kenward_roger_adjusted_covariance_matches_pbkrtest(case):
    structure, tau = from_statsmodels(fitted(case))
    tau = newton_polish(structure, tau)
    kr = kenward_roger(structure, tau, np.eye(structure.n_fixed))
    perm = [list(structure.fe_names).index(n) for n in r_terms(case)]
    ref = np.asarray(REF[case]["vcov_kr"])
    np.testing.assert_allclose(kr["Phi_A"][np.ix_(perm, perm)], ref, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(
    ("case", "index"),
    [(c, i) for c in CASES for i in range(len(REF[c]["contrasts"]))],
)
def test_f_tests_match_lmertest_and_pbkrtest(case, index):
    ref = REF[case]["contrasts"][index]
    L = to_python_columns(case, ref["L"])
    sat = contrast_test(fitted(case), L, ddf="satterthwaite")
    assert sat["num_df"] == ref["satterthwaite"]["num_df"]
    assert sat["den_df"] == pytest.approx(ref["satterthwaite"]["den_df"], rel=1e-5)
    assert sat["F"] == pytest.approx(ref["satterthwaite"]["F"], rel=1e-5)
    kr = contrast_test(fitted(case), L, ddf="kenward-roger")
    pb = ref["pbkrtest"]
    assert kr["num_df"] == pb["num_df"]
    assert kr["den_df"] == pytest.approx(pb["den_df"], rel=1e-5)
    assert kr["F"] == pytest.approx(pb["F"], rel=1e-5)
    assert kr["p_value"] == pytest.approx(pb["p_value"], rel=1e-4)
    # lmerTest's Kenward-Roger F test is pbkrtest's
    assert ref["kenward_roger"]["den_df"] == pytest.approx(pb["den_df"], rel=1e-10)
    structure, tau = from_statsmodels(fitted(case))
    scale = kenward_roger(structure, newton_polish(structure, tau), L)["scale"]
    assert scale == pytest.approx(pb["F_scaling"], rel=1e-5)


@pytest.mark.parametrize("method", ["satterthwaite", "kenward-roger"])
def test_anova_of_a_two_df_factor(method):
    key = "anova_" + method.replace("-", "_")
    ref = REF["oats"][key]
    row = ref["term"].index("variety")
    names = list(fitted("oats").model.exog_names)
    L = np.array([[1.0 if n == c else 0.0 for n in names] for c in names if "variety" in c])
    out = contrast_test(fitted("oats"), L, ddf=method)
    assert out["num_df"] == ref["num_df"][row] == 2
    assert out["den_df"] == pytest.approx(ref["den_df"][row], rel=1e-5)
    assert out["F"] == pytest.approx(ref["F"][row], rel=1e-5)
    assert out["p_value"] == pytest.approx(ref["p_value"][row], rel=1e-4)


def test_public_shoes_values():
    sat = coef_table(fitted("shoes"), ddf="satterthwaite")
    kr = coef_table(fitted("shoes"), ddf="kenward-roger")
    assert sat.loc["material[T.B]", "estimate"] == pytest.approx(0.3460467, abs=1e-7)
    assert sat.loc["material[T.B]", "std_error"] == pytest.approx(0.1412878, abs=1e-7)
    assert kr.loc["material[T.B]", "std_error"] == pytest.approx(0.1413988, abs=1e-7)
    assert sat.loc["material[T.B]", "df"] == pytest.approx(7.010863463, rel=1e-6)
    assert kr.loc["material[T.B]", "df"] == pytest.approx(7.021904359, rel=1e-6)
    assert sat.loc["Intercept", "df"] == pytest.approx(9.126958, rel=1e-6)
    assert kr.loc["Intercept", "df"] == pytest.approx(9.137945, rel=1e-6)


@pytest.mark.parametrize("case", [c for c in CASES if "nlme" in REF[c]])
def test_nlme_rule_reproduces_lme(case):
    tab = coef_table(fitted(case), ddf="nlme").loc[r_terms(case)]
    assert tab["df"].tolist() == REF[case]["nlme"]["df"]


def test_hlm_rule_on_hsb():
    # K = 160 schools; intercept model has q = 2 level-2 predictors (meanses, sector);
    # the cses slope model has q_c = 1 cross-level interaction (sector)
    tab = coef_table(fitted("hsb"), ddf="hlm")
    assert tab["df"].to_dict() == {
        "Intercept": 157,
        "sector[T.Public]": 157,
        "meanses": 157,
        "cses": 158,
        "sector[T.Public]:cses": 158,
    }


def test_residual_and_asymptotic():
    res = fitted("sleepstudy")
    resid = coef_table(res, ddf="residual")
    asym = coef_table(res, ddf="asymptotic")
    assert resid["df"].tolist() == [178, 178]
    assert np.all(np.isinf(asym["df"]))
    z = asym.loc["Days", "t"]
    from scipy import stats

    assert asym.loc["Days", "p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    half = asym.loc["Days", "ci_upper"] - asym.loc["Days", "estimate"]
    assert half == pytest.approx(stats.norm.ppf(0.975) * asym.loc["Days", "std_error"])
    out = contrast_test(res, [[0, 1]], ddf="asymptotic")
    assert out["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))


# ---------------------------------------------------------------- HLM Table 2 (simulated data)
def _table2_data(K=40, n=10, seed=11):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(K), n)
    x = rng.normal(size=K * n)
    w = rng.normal(size=K)[g]
    y = 1 + 0.5 * x + 0.3 * w + 0.2 * x * w + rng.normal(size=K)[g] + rng.normal(size=K * n)
    return pd.DataFrame({"g": g, "x": x, "W": w, "y": y})


TABLE2 = [
    # (fixed part, random slope?, expected df as functions of N and K)
    ("y ~ 1", False, {"Intercept": "K-1"}),
    ("y ~ W", False, {"Intercept": "K-2", "W": "K-2"}),
    ("y ~ x", False, {"Intercept": "K-1", "x": "N-2"}),
    ("y ~ x", True, {"Intercept": "K-1", "x": "K-1"}),
    ("y ~ x + W", False, {"Intercept": "K-2", "x": "N-3", "W": "K-2"}),
    ("y ~ x + W", True, {"Intercept": "K-2", "x": "K-1", "W": "K-2"}),
    ("y ~ x * W", True, {"Intercept": "K-2", "x": "K-2", "W": "K-2", "x:W": "K-2"}),
]


@pytest.mark.parametrize(("formula", "random_slope", "expected"), TABLE2)
def test_hlm_rule_reproduces_table_2(formula, random_slope, expected):
    data = _table2_data()
    N, K = len(data), data["g"].nunique()
    res = _fit(formula, data, groups="g", re_formula="~x" if random_slope else "1")
    tab = coef_table(res, ddf="hlm", polish=False)
    want = {term: eval(rule, {"N": N, "K": K}) for term, rule in expected.items()}
    assert tab["df"].to_dict() == want


def test_cross_level_interaction_found_without_names():
    data = _table2_data()
    X = np.column_stack([np.ones(len(data)), data.x, data.W, data.x * data.W])
    Z = np.column_stack([np.ones(len(data)), data.x])
    levels = hlm_levels(X, data.g, Z=Z)
    assert levels["kind"].tolist() == ["intercept", "level1", "level2", "cross-level"]
    assert levels["slope_of"].iloc[3] == "x1"
    assert hlm_df(X, data.g, Z=Z).tolist() == [38, 38, 38, 38]
    # a product of two level-1 predictors is level 1, not cross-level
    x2 = np.random.default_rng(0).normal(size=len(data))
    X2 = np.column_stack([np.ones(len(data)), data.x, x2, data.x * x2])
    assert hlm_levels(X2, data.g, ["Intercept", "x", "z", "x:z"])["kind"].tolist() == [
        "intercept",
        "level1",
        "level1",
        "level1",
    ]


def test_nlme_rule_three_levels():
    # 4 schools x 3 classes x 5 pupils; w varies between schools' classes, v between schools
    school = np.repeat(np.arange(4), 15)
    klass = np.repeat(np.arange(3), 5)[np.arange(60) % 15]
    x = np.arange(60.0) % 5
    w = (np.arange(12) % 2.0)[school * 3 + klass]
    v = np.array([0.0, 1, 0, 1])[school]
    X = np.column_stack([np.ones(60), x, w, v])
    df = nlme_df(X, [school, klass], ["Intercept", "x", "w", "v"])
    # Residual 60 - 12 - 1 = 47; classes 12 - 4 - 1 = 7; schools 4 - 1 - 1 = 2
    assert df.to_dict() == {"Intercept": 47, "x": 47, "w": 7, "v": 2}


# ---------------------------------------------------------------- properties
def _balanced(K=15, n=6, seed=5):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(K), n)
    x = np.tile(np.linspace(-1, 1, n), K)
    w = (np.arange(K) % 3 == 0).astype(float)[g]
    y = 2 + x + w + rng.normal(size=K)[g] + 0.3 * rng.normal(size=K)[g] * x
    y = y + rng.normal(size=K * n)
    return pd.DataFrame({"g": g, "x": x, "w": w, "y": y})


def test_balanced_random_intercept_gives_containment_df():
    data = _balanced()
    res = _fit("y ~ x + w", data, groups="g")
    sat = coef_table(res, ddf="satterthwaite")
    nlme = coef_table(res, ddf="nlme")
    np.testing.assert_allclose(sat.loc[["x", "w"], "df"], nlme.loc[["x", "w"], "df"], rtol=1e-8)
    assert nlme.loc["x", "df"] == 90 - 15 - 1 and nlme.loc["w", "df"] == 15 - 2


def test_balanced_random_slope_gives_integer_df():
    data = _balanced()
    res = _fit("y ~ x + w", data, groups="g", re_formula="~x")
    sat = coef_table(res, ddf="satterthwaite")
    kr = coef_table(res, ddf="kenward-roger")
    hlm = coef_table(res, ddf="hlm")
    # random slope of x: K - 1 = 14; level-2 w: K - 2 = 13
    np.testing.assert_allclose(sat.loc[["x", "w"], "df"], [14, 13], rtol=1e-7)
    np.testing.assert_allclose(kr.loc[["x", "w"], "df"], [14, 13], rtol=1e-7)
    assert hlm.loc[["x", "w"], "df"].tolist() == [14, 13]


def test_invariance_to_row_order_and_scale_of_y():
    data = pd.DataFrame(REF["sleep_unbalanced"]["data"])
    formula, kwargs = SPECS["sleep_unbalanced"]
    base = coef_table(_fit(formula, data, **kwargs), ddf="satterthwaite")
    shuffled = data.sample(frac=1.0, random_state=3).reset_index(drop=True)
    perm = coef_table(_fit(formula, shuffled, **kwargs), ddf="satterthwaite")
    np.testing.assert_allclose(perm["df"], base["df"], rtol=1e-7)
    np.testing.assert_allclose(perm["estimate"], base["estimate"], rtol=1e-8)
    scaled = data.assign(Reaction=data["Reaction"] / 100.0)
    small = coef_table(_fit(formula, scaled, **kwargs), ddf="kenward-roger")
    base_kr = coef_table(_fit(formula, data, **kwargs), ddf="kenward-roger")
    np.testing.assert_allclose(small["df"], base_kr["df"], rtol=1e-6)
    np.testing.assert_allclose(small["t"], base_kr["t"], rtol=1e-6)
    np.testing.assert_allclose(small["estimate"] * 100, base_kr["estimate"], rtol=1e-7)


def test_kenward_roger_single_contrast_is_satterthwaite_with_expected_information():
    structure, tau = from_statsmodels(fitted("sleep_unbalanced"))
    tau = newton_polish(structure, tau)
    qty = reml_quantities(structure, tau)
    c = np.array([0.0, 1.0])
    kr = kenward_roger(structure, tau, c[None, :], qty)
    g = np.einsum("i,kij,j->k", c, qty.J, c)
    v = c @ qty.Phi @ c
    df_expected = 2 * v**2 / (g @ np.linalg.solve(qty.info_expected, g))
    assert kr["den_df"] == pytest.approx(df_expected, rel=1e-10)
    assert kr["scale"] == pytest.approx(1.0, abs=1e-12)
    sat = satterthwaite_t(structure, tau, c, qty=qty)
    assert sat["df"] != pytest.approx(kr["den_df"], rel=1e-3)  # observed vs expected


def test_boundary_fit_drops_zero_variance_for_satterthwaite_only():
    tab = coef_table(fitted("boundary"), ddf="satterthwaite")
    n, p = len(REF["boundary"]["data"]["y"]), 3
    np.testing.assert_allclose(tab["df"], n - p, rtol=1e-9)
    kr = coef_table(fitted("boundary"), ddf="kenward-roger")
    assert kr.loc["w", "df"] < 20  # the zero variance still counts for Kenward-Roger


# ---------------------------------------------------------------- bad input
def test_unknown_method_lists_the_choices():
    with pytest.raises(ValueError, match="unknown ddf method 'containment'.*satterthwaite"):
        coef_table(fitted("shoes"), ddf="containment")
    assert coef_table(fitted("shoes"), ddf="Kenward_Roger")["df"].iloc[1] > 7
    assert set(DDF_METHODS) == {
        "satterthwaite",
        "kenward-roger",
        "nlme",
        "hlm",
        "residual",
        "asymptotic",
    }


def test_kenward_roger_refuses_ml_fits():
    ml = fitted("shoes", reml=False)
    with pytest.raises(ValueError, match="REML"):
        coef_table(ml, ddf="kenward-roger")
    with pytest.raises(ValueError, match="REML"):
        contrast_test(ml, [[0, 1]], ddf="kenward-roger")
    assert np.isfinite(coef_table(ml, ddf="satterthwaite")["df"]).all()


def test_bad_contrasts_and_fits_are_rejected():
    res = fitted("shoes")
    with pytest.raises(ValueError, match="2 columns"):
        contrast_test(res, [[0, 1, 0]])
    with pytest.raises(ValueError, match="full row rank"):
        contrast_test(res, [[0, 1], [0, 2]], ddf="kenward-roger")
    with pytest.raises(ValueError, match="level"):
        coef_table(res, level=95)
    with pytest.raises(TypeError, match="MixedLMResults"):
        coef_table("not a fit")


def test_structure_tuple_is_accepted():
    structure, tau = from_statsmodels(fitted("shoes"))
    a = coef_table((structure, tau), ddf="satterthwaite")
    b = coef_table(fitted("shoes"), ddf="satterthwaite")
    pd.testing.assert_frame_equal(a, b)


def test_warns_when_estimates_are_far_from_the_optimum():
    from mixedtools.lmm.ddf import _warn_if_not_optimal

    structure, tau = from_statsmodels(fitted("sleep_unbalanced"))
    with pytest.warns(RuntimeWarning, match="not at the REML optimum"):
        _warn_if_not_optimal(structure, tau * np.array([3.0, 0.0, 0.5, 2.0]), reml=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_if_not_optimal(structure, newton_polish(structure, tau), reml=True)
