"""mt.lmer against lme4 / lmerTest reference values (tests/reference/lmer_reference.R)."""

import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedtools as mt
from mixedtools.lmm.fit import SingularFitWarning

REF = json.loads((Path(__file__).parent / "reference" / "lmer_reference.json").read_text())

# tolerances (relative): fixed effects and variance parameters, standard errors
EST_TOL = 1e-6
VC_TOL = 1e-5  # lme4's own optimiser stops at about this precision
SE_TOL = 1e-5

# reference fit -> (data set, formula in our spelling)
CASES = {
    "sleep_reml": ("sleepstudy", "reaction ~ days + (days | subject)"),
    "sleep_ml": ("sleepstudy", "reaction ~ days + (days | subject)"),
    "sleep_uncorr": ("sleepstudy", "reaction ~ days + (days || subject)"),
    "sleep_intercept": ("sleepstudy", "reaction ~ days + (1 | subject)"),
    "hsb_null": ("hsb", "mathach ~ 1 + (1 | school)"),
    "hsb_crosslevel": ("hsb", "mathach ~ ses_cwc * sector + meanses + (ses_cwc | school)"),
    "pastes": ("pastes", "strength ~ 1 + (1 | batch/cask)"),
    "penicillin": ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
    "cake": ("cake", "angle ~ recipe * temp + (1 | recipe:replicate)"),
    "machines": ("machines", "score ~ machine + (machine | worker)"),
    # the sparse engine (data simulated and written by the R script)
    "crossed_slope": ("engine_crossed_slope", "y ~ x + (1 + x | consumer) + (1 | product)"),
    "crossed_slope_ml": ("engine_crossed_slope", "y ~ x + (1 + x | consumer) + (1 | product)"),
    "growth": ("engine_growth", "y ~ year * female + (year | school) + (year | child:school)"),
    "partial": ("engine_partial", "y ~ x + (1 | school) + (1 | hood)"),
    "singular": ("engine_singular", "y ~ x + (1 | subj) + (1 | item)"),
}
ENGINE_CASES = ["crossed_slope", "crossed_slope_ml", "growth", "partial", "singular"]

# R names -> formula-engine names
TERM = {
    "(Intercept)": "Intercept",
    "recipeB": "recipe[T.B]",
    "recipeC": "recipe[T.C]",
    "recipeB:temp": "recipe[T.B]:temp",
    "recipeC:temp": "recipe[T.C]:temp",
    "machineB": "machine[T.B]",
    "machineC": "machine[T.C]",
    "year:female": "year:female",
    "eliteTrue": "elite[T.True]",
    "funding": "funding",
}
# lme4 group names -> ours (lme4 writes batch/cask as cask:batch, and '||' as subject.1)
GROUP = {"cask:batch": "batch:cask", "subject.1": "subject"}


def as_list(x):
    """JSON from R unboxes length-one vectors; make them lists again."""
    return x if isinstance(x, list) else [x]


def term(name):
    return TERM.get(name, name)


def level(group, label):
    if group == "cask:batch":
        cask, batch = label.split(":")
        return f"{batch}:{cask}"
    return label


@cache
def dataset(name):
    if name == "cake":
        return pd.DataFrame(REF["data"]["cake"])
    if name.startswith("engine_"):
        path = Path(__file__).parent / "reference" / f"{name}.csv"
        return pd.read_csv(path, dtype={"child": str})
    data = mt.datasets.load(name)
    if name == "hsb":
        data["ses_cwc"] = data["ses"] - data.groupby("school")["ses"].transform("mean")
    return data


@cache
def fit(case):
    data_name, formula = CASES[case]
    return mt.lmer(formula, dataset(data_name), reml=REF["fits"][case]["reml"])


def rel_err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


@pytest.mark.parametrize("case", list(CASES))
def test_fixed_effects_and_standard_errors(case):
    ref, res = REF["fits"][case], fit(case)
    names = [term(n) for n in ref["fixef"]]
    assert sorted(names) == sorted(res.fixef.index)
    assert rel_err(res.fixef[names], list(ref["fixef"].values())) < EST_TOL
    se = np.sqrt(np.diag(res.vcov.loc[names, names]))
    assert rel_err(se, list(ref["std_error"].values())) < SE_TOL
    assert rel_err(res.vcov.loc[names, names].to_numpy(), np.array(ref["vcov"])) < 2 * SE_TOL


@pytest.mark.parametrize("case", list(CASES))
def test_loglik_aic_bic(case):
    ref, res = REF["fits"][case], fit(case)
    assert res.loglik == pytest.approx(ref["loglik"], rel=1e-9)
    assert res.aic == pytest.approx(ref["aic"], rel=1e-9)
    assert res.bic == pytest.approx(ref["bic"], rel=1e-9)
    assert res.n_params == ref["df_loglik"]
    assert res.nobs == ref["nobs"]
    assert res.singular == ref["singular"]
    assert res.converged


@pytest.mark.parametrize("case", list(CASES))
def test_varcorr(case):
    ref, res = REF["fits"][case], fit(case)
    vc = res.varcorr
    assert list(vc.columns) == ["group", "var1", "var2", "vcov", "sdcor"]
    assert len(vc) == len(ref["varcorr"]["group"])
    ours = {(g, v1, v2): (c, s) for g, v1, v2, c, s in vc.itertuples(index=False)}
    rv = ref["varcorr"]
    for g, v1, v2, c, s in zip(
        rv["group"], rv["var1"], rv["var2"], rv["vcov"], rv["sdcor"], strict=True
    ):
        key = (GROUP.get(g, g), term(v1), term(v2))
        if key not in ours:  # covariances: lme4 and we may order the pair differently
            key = (key[0], key[2], key[1])
        mine_c, mine_s = ours[key]
        # a variance at the boundary: lme4 stops at about 1e-9, we at exactly 0
        tiny = ref["sigma"] ** 2 * 1e-8
        assert mine_c == pytest.approx(c, rel=VC_TOL, abs=tiny)
        assert mine_s == pytest.approx(s, rel=VC_TOL, abs=math.sqrt(tiny) if v2 == "" else 0)
    assert res.sigma == pytest.approx(ref["sigma"], rel=VC_TOL)


@pytest.mark.parametrize("case", list(CASES))
def test_ranef_and_conditional_variances(case):
    ref, res = REF["fits"][case], fit(case)
    for group, entry in ref["ranef"].items():
        ours = res.ranef[GROUP.get(group, group)]
        var = res.ranef_condvar[GROUP.get(group, group)]
        labels = [level(group, lv) for lv in as_list(entry["levels"])]
        cols = [term(c) for c in as_list(entry["columns"])]
        values = np.array(entry["values"], float).reshape(len(labels), len(cols))
        condsd = np.array(entry["condsd"], float).reshape(len(labels), len(cols))
        scale = max(np.abs(values).max(), 1e-6 * ref["sigma"])
        np.testing.assert_allclose(ours.loc[labels, cols], values, rtol=0, atol=1e-5 * scale)
        np.testing.assert_allclose(
            np.sqrt(var.loc[labels, cols]), condsd, rtol=1e-5, atol=1e-4 * ref["sigma"]
        )
        if "condvar" in entry and len(cols) > 1:
            cov = res.ranef_condcov[GROUP.get(group, group)]
            expected = np.array(entry["condvar"], float)
            order = [list(ours.index).index(lv) for lv in labels]
            np.testing.assert_allclose(cov[order], expected, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("case", list(CASES))
def test_fitted_residuals_and_population_predictions(case):
    ref, res = REF["fits"][case], fit(case)
    n = len(ref["fitted"])
    np.testing.assert_allclose(res.fitted.iloc[:n], ref["fitted"], rtol=EST_TOL)
    np.testing.assert_allclose(res.predict(re=False).iloc[:n], ref["fitted_fixed"], rtol=EST_TOL)
    resid = np.array(ref["residuals"])
    np.testing.assert_allclose(res.residuals.iloc[:n], resid, atol=1e-5 * np.abs(resid).max())


def test_predict_new_data_with_unseen_group():
    ref, res = REF["fits"]["sleep_reml"], fit("sleep_reml")
    new = pd.DataFrame(ref["newdata"])
    np.testing.assert_allclose(res.predict(new), ref["predict_newdata"], rtol=1e-7)
    np.testing.assert_allclose(res.predict(new, re=False), ref["predict_newdata_fixed"], rtol=1e-9)
    # the unseen subject gets the population prediction
    assert res.predict(new).iloc[3] == pytest.approx(res.predict(new, re=False).iloc[3])


def test_predict_keeps_index_and_marks_missing_rows():
    res = fit("sleep_reml")
    new = pd.DataFrame({"days": [1.0, np.nan], "subject": ["308", "308"]}, index=[10, 20])
    pred = res.predict(new)
    assert list(pred.index) == [10, 20]
    assert np.isfinite(pred[10]) and np.isnan(pred[20])
    # repeated row labels are kept, and each row gets its own prediction
    twice = pd.DataFrame({"days": [0.0, 9.0], "subject": ["308", "335"]}, index=[5, 5])
    np.testing.assert_allclose(
        res.predict(twice).to_numpy(), res.predict(twice.reset_index(drop=True)).to_numpy()
    )
    assert list(res.predict(twice).index) == [5, 5]


def test_predict_nested_and_crossed_new_levels():
    res = fit("pastes")
    new = pd.DataFrame({"batch": ["A", "A", "Z"], "cask": ["a", "z", "a"]})
    pred = res.predict(new)
    b = res.ranef["batch"]["Intercept"]
    bc = res.ranef["batch:cask"]["Intercept"]
    mu = res.fixef["Intercept"]
    np.testing.assert_allclose(pred, [mu + b["A"] + bc["A:a"], mu + b["A"], mu], rtol=1e-12)


@pytest.mark.parametrize("case", ["sleep_reml", "hsb_crosslevel", "cake", "pastes"])
def test_coef_table_residual_and_asymptotic(case):
    ref, res = REF["fits"][case], fit(case)
    lt = ref["coef_table"]["Satterthwaite"]
    names = [term(t) for t in as_list(lt["term"])]
    for ddf in ("residual", "asymptotic"):
        table = res.coef_table(ddf=ddf).loc[names]
        assert list(table.columns) == [
            "estimate",
            "std_error",
            "df",
            "t",
            "p_value",
            "ci_lower",
            "ci_upper",
        ]
        np.testing.assert_allclose(table["std_error"], lt["std_error"], rtol=SE_TOL)
        np.testing.assert_allclose(table["t"], lt["t"], rtol=SE_TOL)
        t = np.array(as_list(lt["t"]))
        if ddf == "residual":
            df = ref["nobs"] - len(names)
            assert (table["df"] == df).all()
            expected_p = 2 * stats.t.sf(np.abs(t), df)
            half = stats.t.isf(0.025, df) * np.array(as_list(lt["std_error"]))
        else:
            assert np.isinf(table["df"]).all()
            expected_p = 2 * stats.norm.sf(np.abs(t))
            half = stats.norm.isf(0.025) * np.array(as_list(lt["std_error"]))
        # p-values far in the tail: compare on the log scale
        shown = expected_p > 1e-290  # beyond that both underflow to about 0
        np.testing.assert_allclose(
            np.log(table["p_value"][shown]), np.log(expected_p[shown]), rtol=1e-4
        )
        assert (table["p_value"][~shown] < 1e-280).all()
        np.testing.assert_allclose(table["ci_upper"] - table["ci_lower"], 2 * half, rtol=SE_TOL)


@pytest.mark.parametrize("case", ["hsb_crosslevel", "cake", "sleep_reml"])
def test_type3_anova_f_statistics(case):
    ref, res = REF["fits"][case], fit(case)
    a_ref = ref["anova"]["Satterthwaite"]
    table = res.anova(ddf="residual")
    assert list(table.columns) == ["num_df", "den_df", "F", "p_value"]
    names = [term(t) for t in as_list(a_ref["term"])]
    assert sorted(table.index) == sorted(names)
    table = table.loc[names]
    np.testing.assert_array_equal(table["num_df"], a_ref["num_df"])
    # the Wald F is the same for every df method but Kenward-Roger
    np.testing.assert_allclose(table["F"], a_ref["F"], rtol=2 * SE_TOL)
    assert (table["den_df"] == ref["nobs"] - len(res.fixef)).all()


def test_type3_hypotheses_do_not_depend_on_coding():
    data = dataset("cake")
    base = fit("cake").anova(ddf="asymptotic")
    recoded = mt.lmer("angle ~ C(recipe, Sum) * temp + (1 | recipe:replicate)", data)
    other = recoded.anova(ddf="asymptotic")
    np.testing.assert_allclose(other["F"].to_numpy(), base["F"].to_numpy(), rtol=1e-8)


@pytest.mark.parametrize(
    "case", ["sleep_reml", "hsb_null", "hsb_crosslevel", "penicillin", "crossed_slope", "growth"]
)
def test_icc_and_nakagawa_r2(case):
    ref, res = REF["fits"][case], fit(case)
    nk = ref["nakagawa"]
    r2 = res.r2()
    assert r2["marginal"] == pytest.approx(nk["marginal"], rel=1e-5, abs=1e-12)
    assert r2["conditional"] == pytest.approx(nk["conditional"], rel=1e-5)
    assert res.icc() == pytest.approx(nk["icc"], rel=1e-5)


def test_icc_by_group_sums_to_total():
    res = fit("penicillin")
    by_group = res.icc(by_group=True)
    assert list(by_group.index) == ["plate", "sample"]
    assert by_group.sum() == pytest.approx(res.icc())
    vc = res.varcorr.set_index("group")["vcov"]
    assert by_group["sample"] == pytest.approx(vc["sample"] / vc.sum())


def test_hsb_null_icc_is_the_variance_ratio():
    res = fit("hsb_null")
    tau00, s2 = res.varcorr["vcov"]
    assert res.icc() == pytest.approx(tau00 / (tau00 + s2), rel=1e-12)


def test_summary_and_repr_are_readable():
    res = fit("sleep_reml")
    text = res.summary(ddf="residual").text
    assert text.startswith("Linear mixed model fit by REML")
    for piece in ("Random effects:", "Fixed effects:", "Number of obs: 180", "subject, 18"):
        assert piece in text
    assert "Corr" in text
    shown = repr(res)
    assert "reaction ~ days + (days | subject)" in shown and "logLik -871.8141" in shown


def test_ngroups():
    assert fit("pastes").ngroups == {"batch:cask": 30, "batch": 10}
    assert fit("penicillin").ngroups == {"plate": 24, "sample": 6}
    assert fit("sleep_uncorr").ngroups == {"subject": 18}


def test_polishing_moves_statsmodels_towards_lme4():
    ref = REF["fits"]["hsb_crosslevel"]
    res = mt.lmer(CASES["hsb_crosslevel"][1], dataset("hsb"), optimizer="statsmodels")
    sm_se = np.sqrt(np.diag(res.statsmodels_result.cov_params().iloc[:5, :5]))
    ours = np.sqrt(np.diag(res.vcov))
    names = [term(n) for n in ref["std_error"]]
    r = pd.Series(ref["std_error"]).set_axis(names).loc[res.fixef.index].to_numpy()
    assert rel_err(ours, r) < SE_TOL < rel_err(sm_se, r)


def test_ml_fit_matches_reml_fixed_effects_in_balanced_data():
    # sleepstudy is balanced: REML and ML give identical fixed effects, different variances
    reml, ml = fit("sleep_reml"), fit("sleep_ml")
    np.testing.assert_allclose(reml.fixef, ml.fixef, rtol=1e-8)
    assert reml.loglik != ml.loglik
    assert not ml.reml
    assert math.isclose(ml.refit(reml=True).loglik, reml.loglik, rel_tol=1e-9)


DDF_CASES = [
    "sleep_reml",
    "sleep_intercept",
    "hsb_crosslevel",
    "cake",
    "hsb_null",
    "machines",
    "crossed_slope",
    "growth",
    "partial",
    "singular",
]


@pytest.mark.parametrize("case", DDF_CASES)
@pytest.mark.parametrize("method", ["Satterthwaite", "Kenward-Roger"])
def test_coef_table_with_lmertest_df(case, method):
    ref, res = REF["fits"][case], fit(case)
    lt = ref["coef_table"][method]
    names = [term(t) for t in as_list(lt["term"])]
    table = res.coef_table(ddf=method.lower()).loc[names]
    np.testing.assert_allclose(table["estimate"], as_list(lt["estimate"]), rtol=EST_TOL)
    np.testing.assert_allclose(table["std_error"], as_list(lt["std_error"]), rtol=SE_TOL)
    np.testing.assert_allclose(table["df"], as_list(lt["df"]), rtol=1e-4)
    np.testing.assert_allclose(table["t"], as_list(lt["t"]), rtol=SE_TOL)


@pytest.mark.parametrize("case", ["hsb_crosslevel", "cake", "machines", "growth"])
@pytest.mark.parametrize("method", ["Satterthwaite", "Kenward-Roger"])
def test_type3_anova_with_lmertest_df(case, method):
    ref, res = REF["fits"][case], fit(case)
    a_ref = ref["anova"][method]
    names = [term(t) for t in as_list(a_ref["term"])]
    table = res.anova(ddf=method.lower()).loc[names]
    np.testing.assert_allclose(table["F"], as_list(a_ref["F"]), rtol=2 * SE_TOL)
    np.testing.assert_allclose(table["den_df"], as_list(a_ref["den_df"]), rtol=1e-4)
    np.testing.assert_allclose(table["p_value"], as_list(a_ref["p_value"]), rtol=1e-3)


@pytest.mark.parametrize(
    "case", ["sleep_reml", "sleep_ml", "hsb_crosslevel", "pastes", "penicillin"]
)
@pytest.mark.parametrize("optimizer", ["statsmodels", "direct"])
def test_both_optimizers_reach_lme4s_estimates(case, optimizer):
    if case == "penicillin" and optimizer == "statsmodels":
        pytest.skip("crossed factors are fitted by the sparse engine only (tested below)")
    ref = REF["fits"][case]
    data_name, formula = CASES[case]
    res = mt.lmer(formula, dataset(data_name), reml=ref["reml"], optimizer=optimizer)
    assert (res.statsmodels_result is None) == (optimizer == "direct")
    names = [term(n) for n in ref["fixef"]]
    assert rel_err(res.fixef[names], list(ref["fixef"].values())) < EST_TOL
    se = np.sqrt(np.diag(res.vcov.loc[names, names]))
    assert rel_err(se, list(ref["std_error"].values())) < SE_TOL
    assert res.loglik == pytest.approx(ref["loglik"], rel=1e-9)
    assert np.sort(res.varcorr["vcov"]) == pytest.approx(
        np.sort(ref["varcorr"]["vcov"]), rel=VC_TOL
    )


@pytest.mark.parametrize("method", ["Satterthwaite", "Kenward-Roger"])
def test_correlation_at_plus_one_df_as_lmertest(method):
    # six schools whose intercept and slope are estimated as perfectly correlated: lmerTest takes
    # the information in lme4's parameters, where the fit is at an ordinary bound
    ref = REF["fits"]["corr_boundary"]
    data = dataset("engine_corr_boundary")
    with pytest.warns(SingularFitWarning, match="correlation"):
        res = mt.lmer("gpa ~ iq_c * funding + elite + (iq_c | school)", data)
    assert res.loglik == pytest.approx(ref["loglik"], rel=1e-9)
    assert res.converged and res.singular
    lt = ref["coef_table"][method]
    names = [term(t) for t in as_list(lt["term"])]
    table = res.coef_table(ddf=method.lower()).loc[names]
    se = np.asarray(as_list(lt["std_error"]))
    # the likelihood is flat along the boundary: estimates agree to 1e-5 standard errors
    assert np.max(np.abs(table["estimate"] - as_list(lt["estimate"])) / se) < 1e-5
    np.testing.assert_allclose(table["std_error"], se, rtol=1e-5)
    np.testing.assert_allclose(table["df"], as_list(lt["df"]), rtol=1e-4)


def test_statsmodels_optimizer_refuses_crossed_factors():
    with pytest.raises(ValueError, match="crossed factors"):
        mt.lmer(CASES["penicillin"][1], dataset("penicillin"), optimizer="statsmodels")


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="optimizer"):
        mt.lmer("reaction ~ days + (1 | subject)", dataset("sleepstudy"), optimizer="bobyqa")


def test_the_four_stages_reproduce_lmer_and_the_result_names_stay_importable():
    from mixedtools.lmm import results as lmer_results
    from mixedtools.lmm.design import build_design
    from mixedtools.lmm.fit import (
        LmerConvergenceWarning,
        LmerResult,
        LmerWarning,
        make_structure,
    )
    from mixedtools.lmm.fit import SingularFitWarning as Singular
    from mixedtools.lmm.formula import parse_lmer_formula
    from mixedtools.lmm.optimize import maximize, neutral_start

    assert LmerResult is lmer_results.LmerResult and Singular is lmer_results.SingularFitWarning
    assert issubclass(LmerConvergenceWarning, LmerWarning)
    sleep = mt.datasets.load("sleepstudy")
    formula = "reaction ~ days + (days | subject)"
    design = build_design(parse_lmer_formula(formula), sleep)  # stage 1
    structure = make_structure(design)  # stage 2
    tau = maximize(structure, neutral_start(structure))  # stage 3
    fit = lmer_results.make_result(formula, design, structure, tau, reml=True)  # stage 4
    direct = mt.lmer(formula, sleep)
    assert fit.loglik == pytest.approx(direct.loglik, abs=1e-8)
    np.testing.assert_allclose(fit.fixef, direct.fixef, rtol=1e-7)
