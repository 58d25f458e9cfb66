"""R's formula idioms read as R: mt.lmer against lme4 (tests/reference/formula_idioms.R)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt
from mixedtools.lmm.formula import FormulaError
from mixedtools.rformula import compile_terms, evaluate, model_frame

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "formula_idioms.json").read_text())


def load(name):
    if name == "sleepstudy_na":  # the first 7 responses missing, as in the R script
        d = load("sleepstudy")
        d.loc[:6, "Reaction"] = np.nan
        return d
    d = pd.read_csv(REF_DIR / f"formula_idioms_{name}.csv")
    if name == "orthodont":  # R's level order: Male, Female
        d["Sex"] = pd.Categorical(d["Sex"], categories=["Male", "Female"])
    if name == "chickweight":
        d["Diet"] = pd.Categorical(d["Diet"])
    if name == "cake":
        d["temperature"] = pd.Categorical(d["temperature"], ordered=True)
    return d


DATA = {}


def data(name):
    if name not in DATA:
        DATA[name] = load(name)
    return DATA[name].copy()


# case -> (formula as pasted, factors named in the columns, where the factor is fully coded)
CASES = {
    "pixel_I_power": ("pixel ~ day + I(day^2) + (day | Dog) + (1 | Side:Dog)", [], None),
    "pixel_poly": ("pixel ~ poly(day, 2) + (day | Dog) + (1 | Side:Dog)", [], None),
    "pixel_poly_raw": ("pixel ~ poly(day, 2, raw = TRUE) + (day | Dog) + (1 | Side:Dog)", [], None),
    "sleep_log_response": ("log(Reaction) ~ Days + (Days | Subject)", [], None),
    "sleep_scale": ("Reaction ~ scale(Days) + (1 | Subject)", [], None),
    "sleep_sqrt_exp": ("sqrt(Reaction) ~ exp(Days/10) + (1 | Subject)", [], None),
    "sleep_logs": ("log10(Reaction) ~ log2(Days + 1) + (1 | Subject)", [], None),
    "sleep_log1p": ("Reaction ~ log1p(Days) + (Days | Subject)", [], None),
    "sleep_abs": ("Reaction ~ abs(Days - 4.5) + (1 | Subject)", [], None),
    "sleep_factor": ("Reaction ~ factor(Days) + (1 | Subject)", ["factor(Days)"], None),
    "sleep_as_numeric": ("Reaction ~ as.numeric(Days) + (1 | Subject)", [], None),
    "sleep_offset": ("Reaction ~ Days + offset(log(Days + 1)) + (1 | Subject)", [], None),
    "sleep_inverse": ("Reaction ~ I(1/(Days + 1)) + (1 | Subject)", [], None),
    "sleep_no_intercept": ("Reaction ~ 0 + factor(Days) + (1 | Subject)", ["factor(Days)"], "all"),
    "sleep_minus_one": ("Reaction ~ Days - 1 + (Days | Subject)", [], None),
    "ortho_level_order": ("distance ~ age + Sex + (1 | Subject)", ["Sex"], None),
    "ortho_relevel": (
        'distance ~ age + relevel(Sex, ref = "Female") + (1 | Subject)',
        ['relevel(Sex, ref = "Female")'],
        None,
    ),
    "ortho_in": ("distance ~ age %in% Sex + (1 | Subject)", ["Sex"], "interaction"),
    "ortho_nest": ("distance ~ Sex/age + (1 | Subject)", ["Sex"], "interaction"),
    "ortho_x_plus_xz": ("distance ~ age + age:Sex + (1 | Subject)", ["Sex"], None),
    "ortho_power_minus": (
        "distance ~ (age + Sex + I(age^2))^2 - Sex:I(age^2) + (1 | Subject)",
        ["Sex"],
        None,
    ),
    "ortho_dot": ("distance ~ . + (1 | Subject)", ["Sex"], None),
    "chick_poly3": ("log(weight) ~ poly(Time, 3) + Diet + (1 | Chick)", ["Diet"], None),
    "chick_bs": ("weight ~ bs(Time, df = 4) + (Time | Chick)", [], None),
    "chick_interaction": ("weight ~ Time * Diet + (Time | Chick)", ["Diet"], None),
    "cake_ordered": ("angle ~ recipe + temperature + (1 | recipe:replicate)", ["recipe"], None),
    "cake_ordered_interaction": (
        "angle ~ recipe * temperature + (1 | recipe:replicate)",
        ["recipe"],
        None,
    ),
    "sleep_scale_random": ("Reaction ~ scale(Days) + (scale(Days) | Subject)", [], None),
    # scale() over every row, the 7 with a missing response included (R's model frame)
    "sleep_na_scale": ("Reaction ~ scale(Days) + (1 | Subject)", [], None),
}


def our_name(rname, factors, full):
    """R's column name -> ours: (Intercept) -> Intercept, SexFemale -> Sex[T.Female]."""
    pieces = rname.split(":")
    out = []
    for piece in pieces:
        if piece == "(Intercept)":
            out.append("Intercept")
            continue
        for f in sorted(factors, key=len, reverse=True):
            if piece.startswith(f) and piece != f:
                level = piece[len(f) :]
                dummy = full == "all" or (full == "interaction" and len(pieces) > 1)
                piece = f"{f}[{level}]" if dummy else f"{f}[T.{level}]"
                break
        out.append(piece)
    return ":".join(out)


def test_every_reference_case_is_tested():
    assert set(CASES) | {"pixel_caret_main"} == set(REF["fits"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_idiom_matches_lme4(case):
    formula, factors, full = CASES[case]
    ref = REF["fits"][case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mt.lmm.fit.SingularFitWarning)
        fit = mt.lmer(formula, data(ref["data"]))
    names = [our_name(n, factors, full) for n in ref["names"]]
    assert sorted(fit.fixef.index) == sorted(names)
    np.testing.assert_allclose(fit.fixef[names], ref["fixef"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fit.coef_table()["std_error"][names], ref["se"], rtol=1e-5)
    assert fit.loglik == pytest.approx(ref["loglik"], rel=1e-7)


def test_pixel_quadratic_is_lme4s_not_a_xor():
    """The issue's first report: I(day^2) squared day (1073.3 / 6.13), it does not XOR it."""
    fit = mt.lmer(CASES["pixel_I_power"][0], data("pixel"))
    assert fit.fixef["Intercept"] == pytest.approx(1073.34, abs=0.01)
    assert fit.fixef["day"] == pytest.approx(6.130, abs=0.001)
    # a float day gives the same fit (it failed with "Cannot perform 'xor'")
    d = data("pixel").assign(day=lambda d: d["day"].astype(float))
    again = mt.lmer(CASES["pixel_I_power"][0], d)
    np.testing.assert_allclose(again.fixef, fit.fixef, rtol=1e-8)


def test_caret_on_a_single_variable_is_the_variable_with_a_warning():
    ref = REF["fits"]["pixel_caret_main"]
    with pytest.warns(UserWarning, match=r"write I\(day\^2\)"):
        fit = mt.lmer("pixel ~ day^2 + (day | Dog) + (1 | Side:Dog)", data("pixel"))
    assert list(fit.fixef.index) == ["Intercept", "day"]
    np.testing.assert_allclose(fit.fixef, ref["fixef"], rtol=1e-6)


def test_columns_named_like_functions_stay_columns():
    ref = REF["fits"]["pixel_I_power"]
    d = data("pixel")
    d["I"] = d["day"]
    d["log"] = 1.0
    d["scale"] = 2.0
    fit = mt.lmer("pixel ~ day + I(day^2) + (day | Dog) + (1 | Side:Dog)", d)
    np.testing.assert_allclose(fit.fixef.to_numpy(), ref["fixef"], rtol=1e-6)
    same = mt.lmer("pixel ~ I + I(I^2) + (I | Dog) + (1 | Side:Dog)", d)
    np.testing.assert_allclose(same.fixef.to_numpy(), ref["fixef"], rtol=1e-6)
    s = data("sleepstudy").assign(log=1.0, scale=3.0)
    fit = mt.lmer("log(Reaction) ~ Days + log + (Days | Subject)", s.assign(log=s["Days"] ** 2))
    assert "log" in fit.fixef.index


def test_python_spellings_keep_their_names_and_values():
    ref = REF["fits"]["pixel_I_power"]
    d = data("pixel")
    fit = mt.lmer("pixel ~ day + I(day**2) + (day | Dog) + (1 | Side:Dog)", d)
    assert list(fit.fixef.index) == ["Intercept", "day", "I(day ** 2)"]
    np.testing.assert_allclose(fit.fixef.to_numpy(), ref["fixef"], rtol=1e-6)
    ref = REF["fits"]["sleep_log_response"]
    fit = mt.lmer("np.log(Reaction) ~ Days + (Days | Subject)", data("sleepstudy"))
    np.testing.assert_allclose(fit.fixef.to_numpy(), ref["fixef"], rtol=1e-6)
    fit = mt.lmer("distance ~ age + C(Sex, Treatment('Female')) + (1 | Subject)", data("orthodont"))
    assert "C(Sex, Treatment('Female'))[T.Male]" in fit.fixef.index


def test_category_order_sets_the_reference_level():
    d = data("orthodont")
    fit = mt.lmer("distance ~ age + Sex + (1 | Subject)", d)
    assert "Sex[T.Female]" in fit.fixef.index  # Male, the first category, is the reference
    text = d.assign(Sex=d["Sex"].astype(str))
    fit = mt.lmer("distance ~ age + Sex + (1 | Subject)", text)
    assert "Sex[T.Male]" in fit.fixef.index  # text: sorted levels, as R's factor()
    # an unused category is dropped, as R's model frame does
    extra = d.assign(Sex=d["Sex"].cat.add_categories(["Other"]))
    fit = mt.lmer("distance ~ age + Sex + (1 | Subject)", extra)
    assert list(fit.fixef.index) == ["Intercept", "age", "Sex[T.Female]"]  # R's term order


def test_scale_uses_n_minus_one():
    got = model_frame("~ scale(x)", pd.DataFrame({"x": REF["scale"]["x"]})).X["scale(x)"]
    np.testing.assert_allclose(got, REF["scale"]["value"], rtol=1e-12)


def test_poly_equals_r_including_new_data():
    x = pd.DataFrame({"x": REF["poly"]["x"]})
    frame = model_frame("~ poly(x, 3)", x)
    cols = ["poly(x, 3)1", "poly(x, 3)2", "poly(x, 3)3"]
    np.testing.assert_allclose(frame.X[cols].to_numpy().T, REF["poly"]["columns"], atol=1e-10)
    (new,) = evaluate([frame.x_info], pd.DataFrame({"x": REF["poly"]["new_x"]}))
    np.testing.assert_allclose(new[cols].to_numpy().T, REF["poly"]["new_columns"], atol=1e-10)


def test_predict_uses_the_fitted_polynomial():
    d = data("pixel")
    fit = mt.lmer("pixel ~ poly(day, 2) + (day | Dog) + (1 | Side:Dog)", d)
    new = d.iloc[:5].copy()
    np.testing.assert_allclose(fit.predict(new), fit.fitted.iloc[:5], rtol=1e-10)


def test_ordered_factor_gets_contr_poly():
    from mixedtools.rformula import _contr_poly

    for n, columns in zip(range(2, 8), REF["contr_poly"], strict=True):
        np.testing.assert_allclose(_contr_poly(n).T, columns, atol=1e-12)


def test_term_algebra_as_r():
    d = pd.DataFrame({"y": [1.0, 2, 3], "a": [1.0, 2, 4], "b": [2.0, 1, 0], "c": [0.0, 1, 5]})

    def labels(f):
        return [":".join(x.name() for x in t) for t in compile_terms(f, d).terms]

    assert labels("y ~ (a + b + c)^2 - a:b") == ["a", "b", "c", "a:c", "b:c"]
    assert labels("y ~ b:a + a") == ["b:a", "a"]
    assert labels("y ~ a + b + b:a") == ["a", "b", "b:a"]  # as written (R: a:b), as patsy
    assert labels("y ~ a %in% b") == ["a:b"]
    assert labels("y ~ a/b") == ["a", "a:b"]
    assert labels("y ~ (a + b)/c") == ["a", "b", "a:b:c"]
    assert labels("y ~ a*b - 1") == ["a", "b", "a:b"]
    assert not compile_terms("y ~ a*b - 1", d).intercept
    assert not compile_terms("y ~ 0 + a", d).intercept
    assert labels("y ~ .") == ["a", "b", "c"]
    assert labels("y ~ . - b") == ["a", "c"]


@pytest.mark.parametrize(
    ("formula", "data_name", "message"),
    [
        ("cbind(Reaction, Days) ~ Days + (1 | Subject)", "sleepstudy", "mt.glmer"),
        ("Reaction ~ ns(Days, 3) + (1 | Subject)", "sleepstudy", r"bs\(x, df = k\)"),
        ("Reaction ~ poly(Days, 3)[, 2] + (1 | Subject)", "sleepstudy", r"whole term"),
        ("distance ~ exp(Sex) + (1 | Subject)", "orthodont", r"as.numeric\(\)"),
        ("Reaction ~ log(Days) + (1 | Subject)", "sleepstudy", r"log1p\(x\)"),
        ("Reaction ~ sqrt(Days - 1) + (1 | Subject)", "sleepstudy", "sqrt"),
        ("Reaction ~ foo(Days) + (1 | Subject)", "sleepstudy", "unknown function 'foo'.*log"),
        ("Reaction ~ Days %o% Days + (1 | Subject)", "sleepstudy", "%in%"),
        ("Reaction ~ Dayz + (1 | Subject)", "sleepstudy", "unknown column 'Dayz'.*Days"),
        ("Reaction ~ cut(Days, 3) + (1 | Subject)", "sleepstudy", r"pd.cut"),
        ("Reaction ~ interaction(Days, Subject) + (1 | Subject)", "sleepstudy", "a:b"),
        ("Reaction ~ Days$x + (1 | Subject)", "sleepstudy", "member access"),
        ("Reaction ~ log + (1 | Subject)", "sleepstudy", r"a function, not a column.*log\(x\)"),
        ("Reaction ~ Days + + (1 | Subject)", "sleepstudy", "malformed"),
        ("Reaction ~ Days Subject + (1 | Subject)", "sleepstudy", "missing '\\+'"),
        ("Reaction ~ poly(Days, Subject) + (1 | Subject)", "sleepstudy", "poly"),
        ("Reaction ~ Days^Days + (1 | Subject)", "sleepstudy", r"I\(x\^2\)"),
        ("Reaction ~ s(Days) + (1 | Subject)", "sleepstudy", "poly"),
        ("Reaction ~ C(Days, contr.helmert) + (1 | Subject)", "sleepstudy", "Sum"),
    ],
)
def test_refusals_name_what_works(formula, data_name, message):
    with pytest.raises(FormulaError, match=message):
        mt.lmer(formula, data(data_name))


def test_as_numeric_of_a_factor_is_its_level_number():
    d = data("orthodont")
    frame = model_frame("~ as.numeric(Sex)", d)
    assert set(frame.X["as.numeric(Sex)"]) == {1.0, 2.0}
    assert frame.X["as.numeric(Sex)"][d["Sex"] == "Male"].eq(1.0).all()


def test_cbind_and_offset_for_glmer():
    d = pd.DataFrame({"s": [1, 2, 3, 4], "f": [3, 2, 1, 1], "x": [0.0, 1, 2, 3], "n": [4, 4, 4, 5]})
    frame = model_frame("cbind(s, f) ~ x + offset(log(n))", d)
    assert list(frame.response.columns) == ["s", "f"]
    np.testing.assert_allclose(frame.offset, np.log(d["n"]))
    assert list(frame.X.columns) == ["Intercept", "x"]
    with pytest.raises(FormulaError, match="offset"):
        model_frame("y ~ x + offset(n)", d.assign(y=1.0), allow_offset=False)


def test_meta_mods_read_as_r():
    bcg = mt.datasets.load("bcg")
    es = mt.meta.escalc("RR", ai=bcg.tpos, bi=bcg.tneg, ci=bcg.cpos, di=bcg.cneg)
    ref = REF["meta"]
    mods = '~ log(ablat) + relevel(factor(alloc), ref = "random") + I(year^2)'
    fit = mt.meta.rma(es["yi"], es["vi"], mods=mods, data=bcg)
    names = ["Intercept", "log(ablat)"]
    names += [
        f'relevel(factor(alloc), ref = "random")[T.{lv}]' for lv in ("alternate", "systematic")
    ]
    names += ["I(year^2)"]
    np.testing.assert_allclose(fit.beta[names], ref["beta"], rtol=1e-5)
    np.testing.assert_allclose(fit.se_all[names], ref["se"], rtol=1e-5)
    with pytest.raises(ValueError, match="moderators only"):
        mt.meta.rma(es["yi"], es["vi"], mods="yi ~ ablat", data=bcg)


def test_panel_formula_read_as_r():
    grunfeld = mt.datasets.load("grunfeld").set_index(["firm", "year"])
    ref = REF["panel"]
    fit = mt.panel.random_effects("log(inv) ~ 1 + log(value) + poly(capital, 2)", grunfeld)
    names = ["Intercept", "log(value)", "poly(capital, 2)1", "poly(capital, 2)2"]
    assert list(fit.params.index) == names
    np.testing.assert_allclose(fit.params[names], ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(fit.std_errors[names], ref["se"], rtol=1e-6)


def test_levels_of_dropped_rows_are_dropped_as_in_r():
    """R's model frame drops incomplete rows, then the levels no kept row has."""
    d = data("sleepstudy")
    d.loc[d["Days"] == 9, "Reaction"] = np.nan
    fit = mt.lmer("Reaction ~ factor(Days) + (1 | Subject)", d)
    assert fit.n_dropped == 18
    assert "factor(Days)[T.9]" not in fit.fixef.index
    assert "factor(Days)[T.8]" in fit.fixef.index


def test_a_new_level_in_new_data_is_refused():
    d = data("orthodont")
    fit = mt.lmer("distance ~ age + Sex + (1 | Subject)", d)
    new = pd.DataFrame({"age": [8.0], "Sex": ["Other"], "Subject": ["M01"]})
    with pytest.raises(ValueError, match="'Other' was not in the data of the fit"):
        fit.predict(new)
