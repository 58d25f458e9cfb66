"""The source notes' claims about degrees of freedom (D1-D8), as the df chapter demonstrates them.

Each test asserts the fact the chapter shows with a computation; D3 is also checked against
lmerTest (tests/reference/ddf_chapter.R).
"""

import json
import time
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import mixedtools as mt
from mixedtools import ddf, dfdata

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "ddf_chapter.json").read_text())


def lmer(formula, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mt.lmer(formula, data, **kwargs)


def is_integer(values, tol=1e-4):
    values = np.asarray(values, float)
    return np.all(np.abs(values - np.round(values)) < tol)


# --------------------------------------------------------------------------- D1
def test_d1_regression_df_is_n_minus_parameters():
    rng = np.random.default_rng(1)
    d = pd.DataFrame(rng.normal(size=(37, 3)), columns=["a", "b", "c"])
    d["y"] = d["a"] + rng.normal(size=37)
    fit = smf.ols("y ~ a + b + c", d).fit()
    assert fit.df_resid == 37 - 4
    p = 2 * stats.t.sf(abs(fit.tvalues["b"]), 37 - 4)
    assert p == pytest.approx(fit.pvalues["b"], rel=1e-12)


def test_d1_level2_test_has_k_minus_2_df_like_regression_on_group_means():
    d = dfdata.two_level([15] * 20, seed=42)
    row = lmer("y ~ w + (1 | group)", d).coef_table().loc["w"]
    on_means = smf.ols("y ~ w", d.groupby("group")[["w", "y"]].mean()).fit()
    assert row["df"] == pytest.approx(18, abs=1e-6)
    assert row["t"] == pytest.approx(on_means.tvalues["w"], rel=1e-6)


# --------------------------------------------------------------------------- D2
@cache
def table2_data():
    sizes = np.random.default_rng(43).integers(5, 26, size=40)
    return dfdata.two_level(sizes, tau11=0.1, seed=45)


def test_d2_hlm_rule_reproduces_the_notes_table2_for_all_seven_models():
    data = table2_data()
    notes = ddf.hlm_table2(n_obs=len(data), n_groups=data["group"].nunique())
    assert len(notes) == 7
    columns = {"Intercept": "df_intercept", "x": "df_x", "w": "df_w"}
    checked = 0
    for _, spec in notes.iterrows():
        got = ddf.hlm_table(lmer(spec["formula"], data))["df"]
        for term, column in columns.items():
            if pd.isna(spec[column]):
                assert term not in got.index
            else:
                assert got[term] == spec[column], (spec["formula"], term)
                checked += 1
    assert checked == 16


def test_d2_table1_with_several_predictors():
    sizes = np.random.default_rng(43).integers(5, 26, size=40)
    d = dfdata.two_level(sizes, gamma11=0.1, tau11=0.1, seed=43)
    rng = np.random.default_rng(44)
    d["x2"] = rng.normal(size=len(d))
    d["w2"] = d["group"].map(dict(zip(d["group"].unique(), rng.normal(size=40), strict=True)))
    table = ddf.hlm_table(lmer("y ~ x * w + x2 + w2 + (x | group)", d))
    n, k, q, q_c = len(d), 40, 2, 1
    expected = {
        "Intercept": k - q - 1,
        "w": k - q - 1,
        "w2": k - q - 1,
        "x": k - q_c - 1,
        "x:w": k - q_c - 1,
        "x2": n - 6,  # N minus the six fixed effects (p + q + 1 plus the interaction)
    }
    assert table["df"].to_dict() == expected
    # the label says what was computed: with a cross-level interaction, N - k, not N - p - q - 1
    assert table.loc["x2", "rule"] == "N - k"
    assert table.loc["x", "rule"] == "K - q_c - 1"
    without = ddf.hlm_table(lmer("y ~ x + w + x2 + w2 + (x | group)", d))
    assert without.loc["x2", "rule"] == "N - p - q - 1"
    assert without.loc["x2", "df"] == n - 2 - 2 - 1


# --------------------------------------------------------------------------- D3
def r_case(name):
    case = REF[name]
    data = pd.read_csv(REF_DIR / case["file"])
    return case, data


@pytest.mark.parametrize(
    "name, formula",
    [
        ("nested", "y ~ x + w + (1 | region/group)"),
        ("unequal", "y ~ x + w + (1 | group)"),
    ],
)
def test_d3_satterthwaite_far_below_the_number_of_groups_as_in_lmertest(name, formula):
    case, data = r_case(name)
    fit = lmer(formula, data)
    assert data["group"].nunique() == case["n_groups"] == 420
    for method, key in (("satterthwaite", "satterthwaite"), ("kenward-roger", "kenward_roger")):
        table = fit.coef_table(ddf=method)
        np.testing.assert_allclose(table["df"], REF[name][key]["df"], rtol=1e-5)
        np.testing.assert_allclose(table["std_error"], REF[name][key]["std_error"], rtol=1e-6)
    df_w = fit.coef_table().loc["w", "df"]
    # "20-odd df for a level-2 predictor with 400+ groups, and fractional"
    assert 15 < df_w < 40
    assert not is_integer([df_w], tol=0.01)


def test_d3_chapter_data_reproduce_the_small_df():
    cities = dfdata.three_level(n_regions=25, n_groups=420, seed=0)
    nested = lmer("y ~ x + w + (1 | region/group)", cities).coef_table()
    flat = lmer("y ~ x + w + (1 | group)", cities).coef_table()
    assert 20 < nested.loc["w", "df"] < 25  # about 25 regions - 2
    assert flat.loc["w", "df"] > 380  # ignoring the regions counts cities
    assert flat.loc["w", "std_error"] < 0.6 * nested.loc["w", "std_error"]
    # w varying also within regions moves the df towards the number of cities
    mixed = dfdata.three_level(n_regions=25, n_groups=420, w_within_sd=0.5, seed=0)
    assert lmer("y ~ x + w + (1 | region/group)", mixed).coef_table().loc["w", "df"] > 60


def test_d3_rare_dummy_in_few_large_groups():
    sizes = [150] * 15 + [2] * 405
    w = np.r_[np.ones(15), np.zeros(405)]
    dfs = []
    for seed in range(3):
        fit = lmer("y ~ x + w + (1 | group)", dfdata.two_level(sizes, w, tau00=0.1, seed=seed))
        df_w = fit.coef_table().loc["w", "df"]
        dfs.append(df_w)
        assert ddf.hlm_table(fit).loc["w", "df"] == 418
        # the group variance is known only roughly; 2 / cv^2 is the df it alone would give
        info = mt.reml.reml_quantities(fit.structure, fit.tau).info_observed
        cv = np.sqrt(np.linalg.inv(info)[0, 0]) / fit.tau[0]
        assert 0.15 < cv < 0.5
        assert 2 / cv**2 < df_w < 4 / cv**2
    assert max(dfs) < 80 and min(dfs) > 15


# --------------------------------------------------------------------------- D4
def critical_values(k):
    sizes = np.random.default_rng(k).integers(2, 41, size=k)
    fit = lmer("y ~ x + w + (1 | group)", dfdata.two_level(sizes, tau00=0.3, seed=k))
    df_w = ddf.df_by_method(fit).loc["w"]
    return pd.Series(stats.t.ppf(0.975, df_w), index=df_w.index)


def test_d4_methods_that_count_groups_agree_from_30_groups_on():
    counting = ["satterthwaite", "kenward-roger", "nlme", "hlm"]
    for k in (30, 50, 100):
        crit = critical_values(k)
        assert np.ptp(crit[counting]) < 0.01
        assert crit["asymptotic"] == pytest.approx(stats.norm.ppf(0.975))
    crit6 = critical_values(6)
    assert crit6[counting].min() > 2.7 and crit6["residual"] < 2.0


def test_d4_with_few_groups_satterthwaite_keeps_the_level_and_residual_df_do_not():
    sizes = np.random.default_rng(4).integers(2, 41, size=10)
    out = dfdata.level2_rejection_rates(
        sizes,
        n_reps=150,
        w=np.tile([0.0, 1.0], 5),
        methods=["residual", "satterthwaite"],
        seed=100,
    ).set_index("ddf")
    assert out.loc["satterthwaite", "rejection_rate"] < 0.08
    assert out.loc["residual", "rejection_rate"] > out.loc["satterthwaite", "rejection_rate"]


# --------------------------------------------------------------------------- D5
def test_d5_balanced_design_gives_the_integer_df_of_the_rule():
    data = dfdata.two_level([12] * 20, centre_x=True, seed=47)
    fit = lmer("y ~ x + w + (1 | group)", data)
    sat = ddf.df_by_method(fit, ["satterthwaite"])["satterthwaite"]
    rule = ddf.hlm_table(fit)["df"]
    np.testing.assert_allclose(sat[["Intercept", "w"]], rule[["Intercept", "w"]], atol=1e-4)
    # a fixed level-1 slope gets the within-group df N - K - 1, not the rule's N - 3
    assert sat["x"] == pytest.approx(240 - 20 - 1, abs=1e-3)
    occasions = dfdata.two_level([6] * 15, x_design=range(6), tau11=0.1, seed=50)
    sat_rc = ddf.df_by_method(lmer("y ~ x + (x | group)", occasions), ["satterthwaite"])
    np.testing.assert_allclose(sat_rc["satterthwaite"], 14, atol=1e-3)


def test_d5_unbalanced_design_gives_fractional_df():
    sizes = np.random.default_rng(47).integers(2, 23, size=20)
    data = dfdata.two_level(sizes, centre_x=True, seed=47)
    sat = ddf.df_by_method(lmer("y ~ x + w + (1 | group)", data), ["satterthwaite"])
    values = sat["satterthwaite"].to_numpy()
    assert not np.any(np.abs(values - np.round(values)) < 0.01)


# --------------------------------------------------------------------------- D6
def test_d6_kenward_roger_on_100000_rows_takes_seconds():
    data = dfdata.two_level([100] * 1000, tau11=0.2, seed=49)
    start = time.perf_counter()
    fit = lmer("y ~ x + w + (x | group)", data)
    table = fit.coef_table(ddf="kenward-roger")
    elapsed = time.perf_counter() - start
    assert elapsed < 30  # generous: about a second on a laptop
    np.testing.assert_allclose(table["df"], [998, 999, 998], atol=2)


# --------------------------------------------------------------------------- D7
def test_d7_ml_shrinks_the_group_variance_and_the_level2_standard_errors():
    for seed in (48, 51, 52):
        sizes = np.random.default_rng(seed).integers(5, 15, size=8)
        fit = lmer("y ~ x + w + (1 | group)", dfdata.two_level(sizes, seed=seed))
        ml = fit.refit(reml=False)
        assert ml.tau[0] < fit.tau[0]
        ratio = ml.coef_table()["std_error"] / fit.coef_table()["std_error"]
        assert ratio["w"] < 0.97 and ratio["Intercept"] < 0.97
        assert ratio["x"] == pytest.approx(1, abs=0.03)


def test_d7_ml_tests_of_level2_effects_are_too_lenient():
    sizes = np.random.default_rng(4).integers(2, 41, size=10)
    out = dfdata.level2_rejection_rates(
        sizes,
        n_reps=150,
        w=np.tile([0.0, 1.0], 5),
        methods=["satterthwaite"],
        reml=(True, False),
        seed=100,
    ).set_index("estimation")
    assert out.loc["ML", "rejection_rate"] > out.loc["REML", "rejection_rate"]


# --------------------------------------------------------------------------- D8
def test_d8_df_method_matters_little_for_p_but_much_for_r():
    hsb = mt.datasets.load("hsb")
    hsb["cses"] = hsb["ses"] - hsb.groupby("school")["ses"].transform("mean")
    fit = lmer("mathach ~ cses + meanses + sector + (cses | school)", hsb)
    rows = pd.DataFrame({m: fit.coef_table(ddf=m).loc["sector"] for m in ddf.DDF_METHODS}).T
    p = rows["p_value"]
    assert p.max() < 1e-4  # every method: the same decision at any usual level
    r = ddf.t_to_r(rows["t"].to_numpy(float), rows["df"].to_numpy(float))
    r = pd.Series(r, index=rows.index)
    assert r["hlm"] / r["residual"] > 5
    assert r["asymptotic"] == 0
    assert abs(r["satterthwaite"] - r["hlm"]) < 0.02


# ----------------------------------------------------------------- second edition (issue 12)
NOTES_TABLE2 = json.loads((REF_DIR / "notes_table2.json").read_text())
_NOTES_TO_PACKAGE = {
    "One-way ANOVA with random effects": "One-way ANOVA with random effects",
    "Intercepts-as-outcomes model": "Intercepts-as-outcomes",
    "One-way ANCOVA with random effects": "One-way ANCOVA with random effects",
    "Random-coefficients regression model": "Random-coefficients regression",
    "Contextual model (fixed effects)": "Contextual model (fixed slope)",
    "Contextual model (random effects)": "Contextual model (random slope)",
    "Full model": "Full model",
}


def _rule(text, n, k):
    if text is None:
        return None
    base, _, minus = text.partition(" - ")
    return {"N": n, "K": k}[base] - int(minus)


def test_d2_hlm_rule_and_package_table_match_table2_as_printed_in_the_notes():
    """Not circular: compares with the notes' table, transcribed once in a fixture."""
    assert "Table 2" in NOTES_TABLE2["source"]
    data = table2_data()
    n, k = len(data), data["group"].nunique()
    package = ddf.hlm_table2(n_obs=n, n_groups=k)
    assert len(NOTES_TABLE2["rows"]) == 7
    for row in NOTES_TABLE2["rows"]:
        spec = package.loc[_NOTES_TO_PACKAGE[row["type"]]]
        got = ddf.hlm_table(lmer(spec["formula"], data))["df"]
        for term, column in {"Intercept": "df_intercept", "x": "df_x", "w": "df_w"}.items():
            expected = _rule(row[column], n, k)
            package_value = None if pd.isna(spec[column]) else int(spec[column])
            assert package_value == expected, (row["type"], column)
            if expected is None:
                assert term not in got.index
            else:
                assert got[term] == expected, (row["type"], term)


def test_d4_fast_level2_simulation_agrees_with_dfdata():
    from mixedtools import rejection

    sizes = np.random.default_rng(4).integers(2, 41, size=10)
    kw = {"w": np.tile([0.0, 1.0], 5), "reml": (True, False), "seed": 100}
    fast = rejection.level2_null(sizes, n_reps=40, max_workers=1, **kw)
    slow = dfdata.level2_rejection_rates(sizes, n_reps=40, **kw)
    merged = fast.merge(slow, on=["estimation", "ddf"], suffixes=("_fast", "_slow"))
    assert len(merged) == 9
    np.testing.assert_allclose(
        merged["rejection_rate_fast"], merged["rejection_rate_slow"], atol=1 / 40 + 1e-12
    )


def test_d4_cross_level_model_with_16_groups_residual_df_too_lenient_group_counts_not():
    from mixedtools import rejection

    sizes16 = np.random.default_rng(46).integers(3, 41, size=16)
    small = dfdata.two_level(sizes16, gamma11=0.1, tau00=0.3, tau11=0.05, seed=46)
    w16 = small.groupby("group", sort=False)["w"].first().to_numpy()
    res = rejection.cross_level_null(
        sizes16, n_reps=600, w=w16, tau00=0.3, tau11=0.05, seed=12, max_workers=2
    ).set_index(["term", "ddf"])
    rate = res["rejection_rate"]
    assert res["n_fitted"].min() == 600
    assert rate["x:w", "residual"] > rate["x:w", "hlm"]
    assert rate["x:w", "asymptotic"] > 0.06
    for method in ("satterthwaite", "kenward-roger", "hlm"):
        assert 0.025 < rate["x:w", method] < 0.075, method
    assert res.loc[("x:w", "hlm"), "median_df"] == 14
    assert res.loc[("x:w", "satterthwaite"), "median_df"] < 14


def test_d8_t_to_r_with_k_minus_2_df_is_the_between_group_correlation():
    """With K - 2 df, r is the partial correlation of w with the group means: another estimand."""
    data = dfdata.two_level([15] * 20, seed=42)
    fit = lmer("y ~ w + (1 | group)", data)
    row = fit.coef_table().loc["w"]
    means = data.groupby("group")[["w", "y"]].mean()
    r_means = np.corrcoef(means["w"], means["y"])[0, 1]
    assert ddf.t_to_r(row["t"], row["df"]) == pytest.approx(abs(r_means), rel=1e-6)
    assert ddf.t_to_r(row["t"], np.inf) == 0


def test_rejection_bad_input_is_named():
    from mixedtools import rejection

    with pytest.raises(ValueError, match="at least 4 groups"):
        rejection.cross_level_null([5, 5, 5], n_reps=2)
    with pytest.raises(ValueError, match="unknown df method"):
        rejection.cross_level_null([5] * 6, n_reps=2, methods=["bogus"])
    with pytest.raises(ValueError, match="icc"):
        rejection.fixed_vs_random(5, 5, icc=1.2, n_reps=2)
    with pytest.raises(ValueError, match="n_reps"):
        rejection.level2_null([5] * 6, n_reps=0)
