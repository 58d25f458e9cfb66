"""mixedtools.panel against plm 2.6 and lme4 (reference/panel_reference.R writes the JSON)."""

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from linearmodels import PanelOLS, PooledOLS, RandomEffects

import mixedtools as mt

HERE = Path(__file__).parent / "reference"
REFERENCE = json.loads((HERE / "panel_reference.json").read_text())["cases"]


def _grunfeld():
    return mt.datasets.load("grunfeld")


def _grunfeld_unbalanced():
    data = mt.datasets.load("grunfeld")
    return data[data["year"] >= 1935 + 2 * (data["firm"].astype(int) - 1)]


def _produc():
    data = pd.read_csv(HERE / "panel_produc.csv")
    return data.assign(
        log_gsp=np.log(data["gsp"]),
        log_pcap=np.log(data["pcap"]),
        log_pc=np.log(data["pc"]),
        log_emp=np.log(data["emp"]),
    )


def _wage_panel():
    return pd.read_csv(HERE / "panel_wage_panel.csv")


def _empluk():
    data = mt.datasets.load("empluk")
    return data.assign(
        log_emp=np.log(data["emp"]),
        log_wage=np.log(data["wage"]),
        log_capital=np.log(data["capital"]),
        log_output=np.log(data["output"]),
    )


CASES = {
    "grunfeld": (_grunfeld, ["firm", "year"], "inv", ["value", "capital"]),
    "grunfeld_unbalanced": (_grunfeld_unbalanced, ["firm", "year"], "inv", ["value", "capital"]),
    "produc": (
        _produc,
        ["state", "year"],
        "log_gsp",
        ["log_pcap", "log_pc", "log_emp", "unemp"],
    ),
    "wage_panel": (_wage_panel, ["nr", "year"], "lwage", ["exper", "expersq", "union", "married"]),
    "empluk": (
        _empluk,
        ["firm", "year"],
        "log_emp",
        ["log_wage", "log_capital", "log_output"],
    ),
}


def _case(name):
    loader, index, dependent, regressors = CASES[name]
    data = loader().set_index(index)
    re_formula = f"{dependent} ~ 1 + {' + '.join(regressors)}"
    fe_formula = f"{dependent} ~ {' + '.join(regressors)} + EntityEffects"
    return data, re_formula, fe_formula


def _assert_close(actual, expected, rtol):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol)


def test_reference_cases_cover_balanced_and_unbalanced():
    balanced = {name: case["balanced"] for name, case in REFERENCE.items()}
    assert balanced == {
        "grunfeld": True,
        "grunfeld_unbalanced": False,
        "produc": True,
        "wage_panel": True,
        "empluk": False,
    }


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("method", ["swar", "walhus", "amemiya"])
def test_random_effects_matches_plm(name, method):
    data, formula, _ = _case(name)
    ref = REFERENCE[name][f"random_{method}"]
    fit = mt.panel.random_effects(formula, data, method=method)
    assert fit.n_obs == REFERENCE[name]["n_obs"]
    assert fit.n_entities == REFERENCE[name]["n_entities"]
    assert fit.balanced == REFERENCE[name]["balanced"]
    _assert_close(fit.params, ref["estimate"], 1e-6)
    _assert_close(fit.std_errors, ref["std_error"], 1e-6)
    _assert_close(fit.cov, ref["vcov"], 1e-6)
    assert fit.sigma2_idios == pytest.approx(ref["sigma2_idios"], rel=1e-6)
    assert fit.sigma2_id == pytest.approx(ref["sigma2_id"], rel=1e-6)
    assert fit.theta.min() == pytest.approx(ref["theta_min"], rel=1e-6)
    assert fit.theta.max() == pytest.approx(ref["theta_max"], rel=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_ml_matches_lme4(name):
    data, formula, _ = _case(name)
    ref = REFERENCE[name]["lmer_ml"]
    fit = mt.panel.random_effects(formula, data, method="ml")
    _assert_close(fit.params, ref["estimate"], 1e-6)
    _assert_close(fit.std_errors, ref["std_error"], 1e-5)
    assert fit.sigma2_idios == pytest.approx(ref["sigma2_idios"], rel=1e-5)
    assert fit.sigma2_id == pytest.approx(ref["sigma2_id"], rel=1e-5)
    assert fit.loglik == pytest.approx(ref["loglik"], rel=1e-9)


@pytest.mark.parametrize("data_name", ["grunfeld", "grunfeld_unbalanced"])
def test_ml_equals_mixedtools_lmer(data_name):
    data, formula, _ = _case(data_name)
    fit = mt.panel.random_effects(formula, data, method="ml")
    hlm = mt.lmer("inv ~ value + capital + (1 | firm)", data.reset_index(), reml=False)
    _assert_close(fit.params, hlm.fixef, 1e-6)
    table = hlm.coef_table(ddf="asymptotic")
    _assert_close(fit.std_errors, table["std_error"], 1e-5)
    varcorr = hlm.varcorr.set_index("group")["vcov"]
    assert fit.sigma2_id == pytest.approx(varcorr["firm"], rel=1e-5)
    assert fit.sigma2_idios == pytest.approx(varcorr["Residual"], rel=1e-5)


@pytest.mark.parametrize("name", list(CASES))
def test_hausman_matches_phtest(name):
    data, re_formula, fe_formula = _case(name)
    fe = PanelOLS.from_formula(fe_formula, data).fit()
    _assert_close(fe.params, REFERENCE[name]["within"]["estimate"], 1e-9)
    _assert_close(fe.std_errors, REFERENCE[name]["within"]["std_error"], 1e-9)
    re = mt.panel.random_effects(re_formula, data)
    for method, robust, key, rtol in [
        ("chisq", False, "hausman_chisq", 1e-6),
        ("aux", False, "hausman_aux", 1e-6),
        ("aux", True, "hausman_aux_robust", 1e-4),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-positive-definite differences are tested below
            result = mt.panel.hausman(fe, re, method=method, robust=robust)
        ref = REFERENCE[name][key]
        assert result.statistic == pytest.approx(ref["statistic"], rel=rtol), key
        assert result.df == ref["df"], key
        assert result.p_value == pytest.approx(ref["p_value"], rel=rtol, abs=1e-12), key


@pytest.mark.parametrize("name", list(CASES))
def test_fixed_effects_matches_plm_within_and_serves_hausman(name):
    data, re_formula, _ = _case(name)
    fe = mt.panel.fixed_effects(re_formula, data)
    ref = REFERENCE[name]["within"]
    assert list(fe.params.index) == ref["term"]
    _assert_close(fe.params, ref["estimate"], 1e-9)
    _assert_close(fe.std_errors, ref["std_error"], 1e-9)
    _assert_close(fe.cov, ref["vcov"], 1e-9)
    assert fe.n_obs == REFERENCE[name]["n_obs"]
    re = mt.panel.random_effects(re_formula, data)
    for method, robust, key, rtol in [
        ("chisq", False, "hausman_chisq", 1e-6),
        ("aux", True, "hausman_aux_robust", 1e-4),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = mt.panel.hausman(fe, re, method=method, robust=robust)
        assert result.statistic == pytest.approx(REFERENCE[name][key]["statistic"], rel=rtol), key


def test_fixed_effects_drops_the_constant_and_time_invariant_regressors():
    data, _, _ = _case("grunfeld")
    data = data.assign(size=data.groupby(level=0)["capital"].transform("mean"))
    fe = mt.panel.fixed_effects("inv ~ 1 + value + capital + size", data)
    assert list(fe.params.index) == ["value", "capital"]
    assert fe.time_invariant == ("size",)
    assert list(fe.summary().columns) == ["estimate", "std_error", "t", "p_value"]
    other = mt.panel.random_effects("inv ~ 1 + value", data)
    with pytest.raises(ValueError, match="different regressors"):
        mt.panel.hausman(fe, other)
    with pytest.raises(ValueError, match="varies within"):
        mt.panel.fixed_effects("inv ~ 1 + size", data)


def test_hausman_grunfeld_values_in_the_notes():
    data, re_formula, fe_formula = _case("grunfeld")
    fe = PanelOLS.from_formula(fe_formula, data).fit()
    result = mt.panel.hausman(fe, mt.panel.random_effects(re_formula, data))
    assert result.statistic == pytest.approx(2.3303669, abs=1e-7)
    assert result.p_value == pytest.approx(0.3118654, abs=1e-7)
    assert list(result.coefficients.index) == ["value", "capital"]
    assert "chisq = 2.3304" in repr(result)


@pytest.mark.parametrize("name", ["grunfeld", "produc", "wage_panel"])
def test_balanced_swar_equals_linearmodels(name):
    data, re_formula, fe_formula = _case(name)
    ours = mt.panel.random_effects(re_formula, data)
    theirs = RandomEffects.from_formula(re_formula, data).fit()
    _assert_close(ours.params, theirs.params, 1e-8)
    _assert_close(ours.std_errors, theirs.std_errors, 1e-8)
    fe = PanelOLS.from_formula(fe_formula, data).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours_h = mt.panel.hausman(fe, ours)
        theirs_h = mt.panel.hausman(fe, theirs)
    assert ours_h.statistic == pytest.approx(theirs_h.statistic, rel=1e-6)


def test_hausman_accepts_linearmodels_random_effects_and_matches_its_own_test():
    data, re_formula, fe_formula = _case("empluk")
    fe = PanelOLS.from_formula(fe_formula, data).fit()
    lm_re = RandomEffects.from_formula(re_formula, data).fit()
    with pytest.warns(UserWarning, match="not positive definite"):
        ours = mt.panel.hausman(fe, lm_re)
    with pytest.warns(UserWarning, match="not positive definite"):
        lm_test = lm_re.hausman(fe)
    assert ours.statistic == pytest.approx(lm_test.statistic.stat, rel=1e-8)
    # On this unbalanced panel linearmodels' variance components differ from plm's.
    plm_stat = REFERENCE["empluk"]["hausman_chisq"]["statistic"]
    assert abs(ours.statistic / plm_stat - 1) > 0.01
    robust = mt.panel.hausman(fe, lm_re, method="aux", robust=True)
    assert robust.df == 3


@pytest.mark.parametrize("name", ["grunfeld", "grunfeld_unbalanced", "empluk"])
@pytest.mark.parametrize("method", ["swar", "ml"])
def test_mundlak_within_slopes_equal_fixed_effects(name, method):
    data, re_formula, fe_formula = _case(name)
    fe = PanelOLS.from_formula(fe_formula, data).fit()
    crem = mt.panel.mundlak(re_formula, data, method=method)
    _assert_close(crem.params[fe.params.index], fe.params, 1e-8)
    assert [nm for nm in crem.params.index if nm.startswith("mean(")] == [
        f"mean({nm})" for nm in fe.params.index
    ]


def test_mundlak_skips_time_invariant_regressors():
    data = _wage_panel().set_index(["nr", "year"])
    crem = mt.panel.mundlak("lwage ~ 1 + expersq + union + educ + black", data)
    assert "mean(educ)" not in crem.params.index
    assert "mean(union)" in crem.params.index
    assert crem.time_invariant[:2] == ("educ", "black")


def test_theta_per_entity_on_unbalanced_panel():
    data, formula, _ = _case("grunfeld_unbalanced")
    fit = mt.panel.random_effects(formula, data)
    counts = data.groupby(level=0).size()
    expected = 1 - np.sqrt(fit.sigma2_idios / (counts * fit.sigma2_id + fit.sigma2_idios))
    _assert_close(fit.theta, expected.loc[fit.theta.index], 1e-12)
    assert fit.theta.idxmax() == "1" and fit.theta.idxmin() == "10"
    assert "0." in repr(fit) and "by entity" in repr(fit)


def test_summary_table():
    data, formula, _ = _case("grunfeld")
    table = mt.panel.random_effects(formula, data).summary()
    assert list(table.columns) == ["estimate", "std_error", "t", "p_value"]
    assert table.loc["value", "p_value"] < 1e-10


def test_time_invariant_regressor_is_estimated_by_random_effects():
    data = _wage_panel().set_index(["nr", "year"])
    fit = mt.panel.random_effects("lwage ~ 1 + expersq + union + educ", data)
    assert "educ" in fit.params.index and fit.time_invariant == ("educ",)
    with pytest.raises(ValueError, match="time-invariant regressors"):
        mt.panel.random_effects("lwage ~ 1 + expersq + union + educ", data, method="amemiya")
    # FE cannot estimate it: linearmodels says so; hausman compares the time-varying slopes.
    with pytest.raises(Exception, match="absorbed"):
        PanelOLS.from_formula("lwage ~ expersq + union + educ + EntityEffects", data).fit()
    fe = PanelOLS.from_formula("lwage ~ expersq + union + EntityEffects", data).fit()
    result = mt.panel.hausman(fe, fit)
    assert list(result.coefficients.index) == ["expersq", "union"]
    lm_fit = RandomEffects.from_formula("lwage ~ 1 + expersq + union + educ", data).fit()
    result = mt.panel.hausman(fe, lm_fit)
    assert list(result.coefficients.index) == ["expersq", "union"]
    lm_other = RandomEffects.from_formula("lwage ~ 1 + expersq + union + exper", data).fit()
    with pytest.raises(ValueError, match=r"only in re \['exper'\]"):
        mt.panel.hausman(fe, lm_other)


# ---- bad input ---------------------------------------------------------------------------------
def test_error_for_non_panel_index():
    data = _grunfeld()
    with pytest.raises(ValueError, match=r"indexed by \(entity, time\)"):
        mt.panel.random_effects("inv ~ 1 + value", data)
    with pytest.raises(TypeError, match="DataFrame"):
        mt.panel.random_effects("inv ~ 1 + value", data.to_numpy())


def test_error_for_one_period():
    data = _grunfeld()
    one_year = data[data["year"] == 1940].set_index(["firm", "year"])
    with pytest.raises(ValueError, match="one period"):
        mt.panel.random_effects("inv ~ 1 + value", one_year)


def test_error_for_missing_values():
    data = _grunfeld()
    data.loc[3, "value"] = np.nan
    with pytest.raises(ValueError, match=r"missing values \(NaN\) in 'value' \(1\)"):
        mt.panel.random_effects("inv ~ 1 + value", data.set_index(["firm", "year"]))


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")
@pytest.mark.parametrize("fit", [mt.panel.random_effects, mt.panel.fixed_effects])
@pytest.mark.parametrize("formula", ["inv ~ 1 + x + value", "inv ~ 1 + np.log(x) + value"])
def test_error_for_infinite_values_names_the_column_not_collinearity(fit, formula):
    # -inf in a regressor was reported as "perfectly collinear" (random effects) or as a
    # LinAlgError "SVD did not converge" (fixed effects)
    data = _grunfeld().set_index(["firm", "year"])
    data = data.assign(x=data["capital"].where(data["capital"] != data["capital"].min(), 0.0))
    if "log" not in formula:
        data["x"] = np.log(data["x"])
    column = "'x' of the panel model" if "log" not in formula else "'np.log(x)' of the model design"
    with pytest.raises(
        ValueError, match=re.escape(f"{column} has infinite values (1 row, e.g. -inf")
    ):
        fit(formula, data)
    with pytest.raises(ValueError, match=re.escape("-inf in row ('8', 1936))")):
        fit(formula, data)


def test_error_for_duplicated_rows_unknown_method_and_effects_terms():
    data = _grunfeld().set_index(["firm", "year"])
    with pytest.raises(ValueError, match="repeated"):
        mt.panel.random_effects("inv ~ 1 + value", pd.concat([data, data.iloc[:2]]))
    with pytest.raises(ValueError, match="method must be one of"):
        mt.panel.random_effects("inv ~ 1 + value", data, method="bhargava")
    with pytest.raises(ValueError, match="EntityEffects"):
        mt.panel.random_effects("inv ~ 1 + value + EntityEffects", data)
    with pytest.raises(ValueError, match="collinear"):
        mt.panel.random_effects("inv ~ 1 + value + I(2 * value)", data)


def test_hausman_errors_for_mismatched_models():
    data, re_formula, fe_formula = _case("grunfeld")
    fe = PanelOLS.from_formula(fe_formula, data).fit()
    re = mt.panel.random_effects(re_formula, data)
    other = mt.panel.random_effects(re_formula, data.iloc[:-5])
    with pytest.raises(ValueError, match="same data"):
        mt.panel.hausman(fe, other)
    with pytest.raises(ValueError, match="different regressors"):
        mt.panel.hausman(fe, mt.panel.random_effects("inv ~ 1 + value", data))
    pooled = PanelOLS.from_formula("inv ~ 1 + value + capital", data).fit()
    with pytest.raises(ValueError, match="entity effects"):
        mt.panel.hausman(pooled, re)
    twoway = PanelOLS.from_formula(fe_formula + " + TimeEffects", data).fit()
    with pytest.raises(ValueError, match="entity effects only"):
        mt.panel.hausman(twoway, re)
    with pytest.raises(TypeError, match="PanelOLS"):
        mt.panel.hausman(re, re)
    with pytest.raises(ValueError, match="no robust form"):
        mt.panel.hausman(fe, re, robust=True)
    with pytest.raises(ValueError, match="'chisq' or 'aux'"):
        mt.panel.hausman(fe, re, method="wald")
    clustered = PanelOLS.from_formula(fe_formula, data).fit(
        cov_type="clustered", cluster_entity=True
    )
    with pytest.raises(ValueError, match="classical covariance"):
        mt.panel.hausman(clustered, re)
    # the regression-based test does not use the fits' covariances
    assert mt.panel.hausman(clustered, re, method="aux", robust=True).df == 2


@pytest.mark.parametrize("package", ["mixedtools", "linearmodels"])
def test_hausman_refuses_regressors_that_share_a_name_but_not_their_values(package):
    # value in one fit, log(value) stored as "value" in the other: same names, same response,
    # same rows -- formerly a chi-squared of 65.9 comparing unrelated slopes
    data = _grunfeld().set_index(["firm", "year"])
    logged = data.assign(value=np.log(data["value"]))
    if package == "mixedtools":
        fe = mt.panel.fixed_effects("inv ~ value + capital", data)
        re = mt.panel.random_effects("inv ~ 1 + value + capital", logged)
    else:
        fe = PanelOLS.from_formula("inv ~ value + capital + EntityEffects", data).fit()
        re = RandomEffects.from_formula("inv ~ 1 + value + capital", logged).fit()
    with pytest.raises(ValueError, match=r"'value' have the same name in fe and re but different"):
        mt.panel.hausman(fe, re)
    with pytest.raises(ValueError, match="200 of 200 rows differ"):
        mt.panel.hausman(fe, re, method="aux")
    # one changed value is enough; the message names its row
    one = data.copy()
    one.iloc[7, one.columns.get_loc("capital")] += 1.0
    re = mt.panel.random_effects("inv ~ 1 + value + capital", one)
    with pytest.raises(ValueError, match=r"'capital' in row \(1, 1942\): 303.7 in fe, 304.7"):
        mt.panel.hausman(mt.panel.fixed_effects("inv ~ value + capital", data), re)
    # the same data in another row order is the same model
    shuffled = data.sample(frac=1, random_state=1)
    h = mt.panel.hausman(fe, mt.panel.random_effects("inv ~ 1 + value + capital", shuffled))
    assert h.statistic == pytest.approx(2.3304, abs=1e-4)


def test_hausman_warns_when_difference_not_positive_definite():
    data, re_formula, fe_formula = _case("produc")
    fe = PanelOLS.from_formula(fe_formula, data).fit()
    re = mt.panel.random_effects(re_formula, data)
    smallest = np.linalg.eigvalsh(
        fe.cov.to_numpy() - re.cov.loc[fe.params.index, fe.params.index].to_numpy()
    ).min()
    assert smallest < 0
    with pytest.warns(UserWarning, match="not positive definite"):
        result = mt.panel.hausman(fe, re)
    assert result.statistic > 0


def test_simulate_checks_arguments():
    with pytest.raises(ValueError, match="corr"):
        mt.panel.simulate(10, 5, corr=1.5)
    with pytest.raises(ValueError, match="n_periods"):
        mt.panel.simulate(10, 1)
    a = mt.panel.simulate(10, 3, corr=0.3, seed=7)
    b = mt.panel.simulate(10, 3, corr=0.3, seed=7)
    pd.testing.assert_frame_equal(a, b)


def test_row_order_does_not_matter():
    data, re_formula, fe_formula = _case("empluk")
    shuffled = data.sample(frac=1, random_state=3)
    fe = PanelOLS.from_formula(fe_formula, shuffled).fit()
    re = mt.panel.random_effects(re_formula, shuffled)
    _assert_close(re.params, REFERENCE["empluk"]["random_swar"]["estimate"], 1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = mt.panel.hausman(fe, re)
    ref = REFERENCE["empluk"]["hausman_chisq"]["statistic"]
    assert result.statistic == pytest.approx(ref, rel=1e-6)
    robust = mt.panel.hausman(fe, re, method="aux", robust=True)
    ref = REFERENCE["empluk"]["hausman_aux_robust"]["statistic"]
    assert robust.statistic == pytest.approx(ref, rel=1e-4)
    assert "p-value" in repr(robust)


def test_warning_for_formula_without_constant():
    data = _grunfeld().set_index(["firm", "year"])
    with pytest.warns(UserWarning, match="no constant"):
        fit = mt.panel.random_effects("inv ~ value + capital", data)
    assert "Intercept" not in fit.params.index


HEDONIC = json.loads((HERE / "panel_reference.json").read_text())["hedonic"]
HEDONIC_FORMULA = (
    "mv ~ 1 + crim + zn + indus + chas + nox + rm + age + dis + rad + tax + ptratio"
    " + blacks + lstat"
)


def _hedonic():
    return pd.read_csv(HERE / "panel_hedonic.csv").set_index(["townid", "tract"])


@pytest.mark.parametrize("method", ["swar", "walhus"])
def test_strongly_unbalanced_panel_with_singletons_matches_plm(method):
    data = _hedonic()
    sizes = data.groupby(level=0).size()
    assert sizes.min() == 1 and sizes.max() == 30
    fit = mt.panel.random_effects(HEDONIC_FORMULA, data, method=method)
    ref = HEDONIC[f"random_{method}"]
    _assert_close(fit.params, ref["estimate"], 1e-6)
    _assert_close(fit.std_errors, ref["std_error"], 1e-6)
    assert fit.sigma2_id == pytest.approx(ref["sigma2_id"], rel=1e-6)
    assert fit.sigma2_idios == pytest.approx(ref["sigma2_idios"], rel=1e-6)
    assert set(fit.time_invariant) == {"zn", "indus", "rad", "tax", "ptratio"}
    with pytest.raises(ValueError, match="time-invariant"):
        mt.panel.random_effects(HEDONIC_FORMULA, data, method="amemiya")


def test_strongly_unbalanced_panel_ml_and_hausman():
    data = _hedonic()
    ml = mt.panel.random_effects(HEDONIC_FORMULA, data, method="ml")
    _assert_close(ml.params, HEDONIC["lmer_ml"]["estimate"], 1e-5)
    assert ml.loglik == pytest.approx(HEDONIC["lmer_ml"]["loglik"], rel=1e-9)
    varying = "crim + chas + nox + rm + age + dis + blacks + lstat"
    fe = PanelOLS.from_formula(f"mv ~ {varying} + EntityEffects", data).fit()
    _assert_close(fe.params, HEDONIC["within"]["estimate"], 1e-8)
    re = mt.panel.random_effects(HEDONIC_FORMULA, data)
    # here the quadratic form is negative: a warning, and |H| as plm reports it
    with pytest.warns(UserWarning, match=r"quadratic form -103\.3"):
        result = mt.panel.hausman(fe, re)
    assert result.statistic == pytest.approx(HEDONIC["hausman_chisq"]["statistic"], rel=1e-6)
    assert result.df == 8


def test_simulate_heteroscedastic_errors_keep_their_mean_variance():
    # u_i negligible: y - x is e_it; its variance averages sigma_idios^2 over entities
    mild = mt.panel.simulate(50_000, 2, sigma_id=1e-9, hetero=0.5, seed=11)
    assert (mild["y"] - mild["x"]).var() == pytest.approx(1.0, rel=0.03)
    strong = mt.panel.simulate(20_000, 2, sigma_id=1e-9, hetero=1.5, seed=11)
    by_entity = (strong["y"] - strong["x"]).groupby(level=0).var()
    assert by_entity.quantile(0.99) > 20 * by_entity.median()


def test_negative_individual_variance_is_set_to_zero_with_a_warning():
    data = mt.panel.simulate(30, 4, sigma_id=1e-6, seed=1)
    with pytest.warns(UserWarning, match="estimated as negative"):
        fit = mt.panel.random_effects("y ~ 1 + x", data)
    assert fit.sigma2_id == 0 and np.all(fit.theta == 0)
    pooled = PooledOLS.from_formula("y ~ 1 + x", data).fit()
    _assert_close(fit.params, pooled.params, 1e-10)


def test_fixed_effects_codes_factors_against_a_reference_without_1_plus():
    # plm's within model codes a factor with contrasts whether or not the formula writes a
    # constant (the entity effects absorb it); plm: value 0.09806, eralate -39.040,
    # capital 0.26172, value:eralate 0.03397; with factor(year), the two-way slopes
    g = mt.datasets.load("grunfeld")
    g["era"] = np.where(g["year"] < 1945, "early", "late")
    g = g.set_index(["firm", "year"], drop=False)
    fit = mt.panel.fixed_effects("inv ~ value * era + capital", g)
    assert fit.params.round(5).to_dict() == {
        "era[T.late]": -39.03991,
        "value": 0.09806,
        "value:era[T.late]": 0.03397,
        "capital": 0.26172,
    }
    with_one = mt.panel.fixed_effects("inv ~ 1 + value * era + capital", g)
    assert np.allclose(with_one.params, fit.params, rtol=1e-12)
    years = mt.panel.fixed_effects("inv ~ value + capital + factor(year)", g)
    twoway = mt.panel.fixed_effects("inv ~ value + capital", g, effect="twoways")
    assert np.allclose(years.params[["value", "capital"]], twoway.params, rtol=1e-9)
