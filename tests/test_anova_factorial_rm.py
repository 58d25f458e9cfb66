"""mixedtools.anova contrasts / factorial / rm / mauchly against R (car, afex, stats).

Reference: tests/reference/anova_factorial_rm.json, written by anova_factorial_rm.R.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "anova_factorial_rm.json").read_text()
)
RTOL = 1e-6  # the tolerance; the closed forms agree with R to about 1e-13


def vec(value):
    return np.atleast_1d(np.array(value, dtype=object))


def rm_data(name):
    if name.startswith("obk"):
        return mt.datasets.load("obrien_kaiser")
    if name == "sleepstudy":
        return mt.datasets.load("sleepstudy")
    return pd.DataFrame(REFERENCE["rm"][name]["data"])


def rm_args(name):
    ref = REFERENCE["rm"][name]
    return dict(
        dv=ref["dv"],
        subject=ref["subject"],
        within=list(vec(ref["within"])),
        between=list(vec(ref["between"])) if ref.get("between") else None,
    )


@pytest.mark.parametrize("k", ["2", "3", "4", "5"])
@pytest.mark.parametrize("coding", ["treatment", "sum", "helmert", "poly"])
def test_contrasts_match_r(k, coding):
    expected = np.array(REFERENCE["contrasts"][k][coding], dtype=float).reshape(int(k), -1)
    got = mt.anova.contrasts(int(k), coding)
    assert got.shape == (int(k), int(k) - 1)
    np.testing.assert_allclose(got.to_numpy(dtype=float), expected, atol=1e-12)


def test_forward_helmert_is_the_notes_form_and_answers_level_vs_later():
    codes = mt.anova.contrasts(["a1", "a2", "a3"], "helmert_forward")
    assert codes.T.to_numpy().tolist() == [[2, -1, -1], [0, 1, -1]]
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"g": np.repeat(["a1", "a2", "a3"], [7, 9, 11])})
    data["y"] = rng.normal(size=len(data)) + data["g"].map({"a1": 2.0, "a2": 1.0, "a3": 0.0})
    means = data.groupby("g")["y"].mean()
    x = np.column_stack([np.ones(len(data)), codes.loc[data["g"]].to_numpy()])
    beta = np.linalg.lstsq(x, data["y"].to_numpy(), rcond=None)[0]
    assert beta[1] == pytest.approx((means["a1"] - (means["a2"] + means["a3"]) / 2) / 3)
    assert beta[2] == pytest.approx((means["a2"] - means["a3"]) / 2)


@pytest.mark.parametrize("case", ["moore", "obk_means"])
@pytest.mark.parametrize("ss_type", [1, 2, 3])
def test_factorial_matches_anova_lm_and_car_on_unbalanced_data(case, ss_type):
    ref = REFERENCE["factorial"][case]
    data = pd.DataFrame(ref["data"])
    assert data.groupby(list(ref["between"])).size().nunique() > 1  # unbalanced
    table = mt.anova.factorial(data, ref["dv"], list(ref["between"]), ss_type=ss_type)
    expected = ref[f"type{ss_type}"]
    assert list(table.index) == expected["terms"]
    assert list(table.columns) == [
        *["sum_sq", "df", "mean_sq", "F", "p_value", "eta2_partial"],
        *["eta2", "ges", "omega2", "omega2_partial"],
    ]
    np.testing.assert_allclose(table["sum_sq"], expected["sum_sq"], rtol=RTOL)
    assert table["df"].tolist() == expected["df"]
    np.testing.assert_allclose(table["F"].iloc[:-1], expected["F"][:-1], rtol=RTOL)
    np.testing.assert_allclose(table["p_value"].iloc[:-1], expected["p_value"][:-1], rtol=RTOL)
    ss_resid = table.loc["Residual", "sum_sq"]
    np.testing.assert_allclose(
        table["eta2_partial"].iloc[:-1],
        table["sum_sq"].iloc[:-1] / (table["sum_sq"].iloc[:-1] + ss_resid),
    )


def test_type3_does_not_depend_on_coding_unlike_car_with_treatment_contrasts():
    ref = REFERENCE["factorial"]["moore"]
    data = pd.DataFrame(ref["data"])
    table = mt.anova.factorial(data, ref["dv"], list(ref["between"]), ss_type=3)
    treatment_coded = ref["type3_treatment_coding"]
    # With treatment coding car gives other main-effect SS (a different question) ...
    assert abs(treatment_coded["sum_sq"][0] - table["sum_sq"].iloc[0]) > 1
    # ... and the same interaction and residual.
    np.testing.assert_allclose(table["sum_sq"].iloc[2:], treatment_coded["sum_sq"][2:], rtol=1e-9)
    relabelled = data.assign(
        fcategory=data["fcategory"].map({"low": "z", "medium": "a", "high": "m"})
    )
    again = mt.anova.factorial(relabelled, ref["dv"], list(ref["between"]), ss_type=3)
    np.testing.assert_allclose(again["F"].to_numpy(), table["F"].to_numpy(), rtol=1e-10)


def test_types_agree_on_balanced_data():
    machines = mt.datasets.load("machines")
    tables = [mt.anova.factorial(machines, "score", ["machine", "worker"], t) for t in (1, 2, 3)]
    for other in tables[1:]:
        np.testing.assert_allclose(other["sum_sq"], tables[0]["sum_sq"], rtol=1e-10)


@pytest.mark.parametrize(
    "name",
    [
        "obk_split_plot",
        "obk_split_plot_type2",
        "obk_within",
        "md_12_1",
        "sleepstudy",
        "obk_treatment_hour",
    ],
)
def test_rm_matches_afex_and_car(name):
    ref = REFERENCE["rm"][name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # obk_treatment_hour averages over phase
        table = mt.anova.rm(rm_data(name), **rm_args(name), ss_type=ref["ss_type"])
    assert table.attrs["ss_type"] == ref["ss_type"]
    assert list(table.index) == list(vec(ref["terms"]))
    assert list(table.columns) == [
        "sum_sq", "num_df", "den_df", "F", "p_value", "eps_gg", "p_gg", "eps_hf", "p_hf",
        "eta2", "eta2_partial", "ges", "omega2", "omega2_partial",
    ]  # fmt: skip
    for column in ("sum_sq", "num_df", "den_df", "F", "p_value"):
        np.testing.assert_allclose(table[column], vec(ref[column]).astype(float), rtol=RTOL)
    np.testing.assert_allclose(
        table.attrs["error_ss"].to_numpy(), vec(ref["error_ss"]).astype(float), rtol=RTOL
    )
    np.testing.assert_allclose(table["F"], vec(ref["afex"]["F"]).astype(float), rtol=RTOL)
    adjusted = ref["adjusted"]
    rows = table.loc[list(vec(adjusted["terms"]))]
    for column in ("eps_gg", "p_gg", "eps_hf", "p_hf"):
        np.testing.assert_allclose(rows[column], vec(adjusted[column]).astype(float), rtol=RTOL)
    # Epsilon is 1 for 1-df terms (R leaves it empty) and the corrected p equals the plain p.
    one_df = table[(table["num_df"] == table["num_df"].min()) & ~table.index.isin(rows.index)]
    assert (one_df["eps_gg"] == 1).all() and (one_df["p_gg"] == one_df["p_value"]).all()


def test_huynh_feldt_is_the_lecoutre_corrected_formula_and_capped_in_p():
    sleep = mt.datasets.load("sleepstudy")
    table = mt.anova.rm(sleep, "reaction", "subject", "days")
    row = table.loc["days"]
    n, k = 18, 10
    gg = row["eps_gg"]
    lecoutre = ((n - 1 + 1) * (k - 1) * gg - 2) / ((k - 1) * (n - 1 - (k - 1) * gg))
    original = (n * (k - 1) * gg - 2) / ((k - 1) * (n - 1 - (k - 1) * gg))
    assert row["eps_hf"] == pytest.approx(lecoutre, rel=1e-12)
    assert n - 1 + 1 == n  # one group: Lecoutre's N - g + 1 equals N, both forms coincide ...
    assert row["eps_hf"] == pytest.approx(original, rel=1e-12)
    # ... but not with between groups (g = 6 cells of treatment x gender in obk).
    obk = mt.anova.rm(rm_data("obk_split_plot"), **rm_args("obk_split_plot"))
    n, g, p = 16, 6, 2
    gg = obk.loc["phase", "eps_gg"]
    assert obk.loc["phase", "eps_hf"] == pytest.approx(
        ((n - g + 1) * p * gg - 2) / (p * (n - g - p * gg)), rel=1e-12
    )
    assert obk.loc["phase", "eps_hf"] != pytest.approx((n * p * gg - 2) / (p * (n - g - p * gg)))


def test_hf_above_one_is_reported_and_treated_as_one():
    data = pd.DataFrame(REFERENCE["rm"]["md_12_1"]["data"])
    table = mt.anova.rm(data, "rt", "id", ["angle", "noise"])
    assert table.loc["angle", "eps_hf"] > 1
    assert table.loc["angle", "p_hf"] == pytest.approx(table.loc["angle", "p_value"], rel=1e-12)


@pytest.mark.parametrize(
    "name", ["obk_split_plot", "obk_within", "md_12_1", "sleepstudy", "obk_treatment_hour"]
)
def test_mauchly_matches_car(name):
    # every row of summary(afex_fit)$sphericity.tests, between x within terms included
    ref = REFERENCE["rm"][name]["mauchly"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # obk_treatment_hour averages over phase
        test = mt.anova.mauchly(rm_data(name), **rm_args(name))
    assert list(test.columns) == ["W", "chi2", "df", "p_value"]
    assert list(test.index) == list(vec(ref["terms"]))
    np.testing.assert_allclose(test["W"], vec(ref["W"]).astype(float), rtol=RTOL)
    np.testing.assert_allclose(test["p_value"], vec(ref["p_value_car"]).astype(float), rtol=RTOL)


def test_mauchly_chi2_matches_stats_mauchly_test():
    ref = REFERENCE["mauchly_stats"]["sleepstudy"]
    test = mt.anova.mauchly(mt.datasets.load("sleepstudy"), "reaction", "subject", "days")
    assert test.loc["days", "chi2"] == pytest.approx(ref["chi2"], rel=RTOL)
    assert test.loc["days", "df"] == ref["df"]
    assert test.loc["days", "p_value"] == pytest.approx(ref["p_value"], rel=RTOL)


def test_rm_with_one_within_factor_equals_the_rm_of_a_split_plot_without_between():
    obk = mt.datasets.load("obrien_kaiser")
    with pytest.warns(UserWarning, match="averaged"):
        a = mt.anova.rm(obk, "value", "id", "phase")
    with pytest.warns(UserWarning, match="averaged"):
        b = mt.anova.rm(obk, "value", "id", ["phase"], between=[])
    pd.testing.assert_frame_equal(a, b)


# ---- bad input ------------------------------------------------------------------------------


def test_missing_cells_name_the_subjects_and_point_to_lmer():
    obk = mt.datasets.load("obrien_kaiser")
    holes = obk.drop(index=obk.index[(obk["id"].isin(["3", "11"])) & (obk["hour"] == 2)])
    with pytest.raises(ValueError, match=r"lack .* 3, 11|lack .* 11, 3") as info:
        mt.anova.rm(holes, "value", "id", ["phase", "hour"])
    assert "mt.lmer" in str(info.value)


def test_nan_response_is_an_error_naming_subjects():
    obk = mt.datasets.load("obrien_kaiser")
    obk.loc[5, "value"] = np.nan
    with pytest.raises(ValueError, match=r"missing value .* subject\(s\) 1\b"):
        mt.anova.rm(obk, "value", "id", ["phase", "hour"])
    with pytest.warns(UserWarning, match="Dropped 1 of 240"):
        mt.anova.factorial(obk, "value", ["treatment", "gender"])


def test_several_rows_per_cell_are_averaged_with_a_warning():
    obk = mt.datasets.load("obrien_kaiser")
    with pytest.warns(UserWarning, match="240 rows share a subject and within cell"):
        table = mt.anova.rm(obk, "value", "id", "phase", between="treatment")
    assert table.attrs["n_averaged"] == 240
    means = obk.groupby(["id", "phase", "treatment"], as_index=False)["value"].mean()
    expected = mt.anova.rm(means, "value", "id", "phase", between="treatment")
    pd.testing.assert_frame_equal(table, expected)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(dv="nope", subject="id", within="phase"), ValueError, "'nope' .* not in data"),
        (dict(dv="value", subject="id", within="phse"), ValueError, "'phse' .* not in data"),
        (dict(dv="treatment", subject="id", within="phase"), TypeError, "must be numeric"),
        (dict(dv="value", subject="id", within="phase", between="hour"), ValueError, "changes"),
        (dict(dv="value", subject="id", within=[]), ValueError, "at least one within"),
        (dict(dv="value", subject="id", within="id"), ValueError, "more than one role"),
    ],
)
def test_rm_bad_input(kwargs, error, message):
    obk = mt.datasets.load("obrien_kaiser")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(error, match=message):
            mt.anova.rm(obk, **kwargs)


def test_single_subject_and_one_level_factor_are_errors():
    obk = mt.datasets.load("obrien_kaiser")
    with pytest.raises(ValueError, match="1 subject"):
        mt.anova.rm(obk[obk["id"] == "1"], "value", "id", ["phase", "hour"])
    with pytest.raises(ValueError, match="'phase' has 1 level"):
        mt.anova.rm(obk[obk["phase"] == "pre"], "value", "id", ["phase", "hour"])


def test_factorial_bad_input():
    ref = REFERENCE["factorial"]["moore"]
    data = pd.DataFrame(ref["data"])
    with pytest.raises(ValueError, match="ss_type"):
        mt.anova.factorial(data, "conformity", ["fcategory"], ss_type=4)
    with pytest.raises(ValueError, match="not in data"):
        mt.anova.factorial(data, "conformity", ["colour"])
    with pytest.raises(TypeError, match="numeric"):
        mt.anova.factorial(data, "fcategory", ["partner_status"])
    empty = data[~((data["fcategory"] == "low") & (data["partner_status"] == "high"))]
    with pytest.raises(ValueError, match=r"1 cell\(s\) .* no observations \(high x low\)"):
        mt.anova.factorial(empty, "conformity", ["partner_status", "fcategory"])


@pytest.mark.parametrize("coding", ["dummy", "Helmert"])
def test_contrasts_bad_input(coding):
    with pytest.raises(ValueError, match="Unknown coding"):
        mt.anova.contrasts(3, coding)
    with pytest.raises(ValueError, match="at least two levels"):
        mt.anova.contrasts(["a"], "sum")


def test_zero_within_group_variance_is_a_clear_error_not_zero_division():
    data = pd.DataFrame({"g": list("aabbcc"), "y": [1.0, 1.0, 2.0, 2.0, 5.0, 5.0]})
    with pytest.raises(ValueError, match="within-group sum of squares .* is 0"):
        mt.anova.oneway(data, "y", "g")
    with pytest.raises(ValueError, match="within-group sum of squares .* is 0"):
        mt.anova.variance_components(data, "y", "g")


def test_missing_subject_id_is_named_as_such():
    obk = mt.datasets.load("obrien_kaiser")
    obk.loc[3, "id"] = np.nan
    with pytest.raises(ValueError, match="with no subject id .*row labels 3"):
        mt.anova.rm(obk, "value", "id", ["phase", "hour"])


def test_mauchly_with_too_few_subjects_is_undefined_not_zero():
    obk = mt.datasets.load("obrien_kaiser")
    small = obk[obk["id"].isin(["1", "2", "3", "4"])]
    with pytest.warns(UserWarning, match=r"needs at least \d+ error df"):
        test = mt.anova.mauchly(small, "value", "id", ["phase", "hour"])
    assert test.loc["phase", "W"] > 0
    assert test.loc[["hour", "phase:hour"], ["W", "chi2", "p_value"]].isna().all().all()
    assert test.loc["hour", "df"] == 9


def test_factorial_matches_car_on_mtcars():
    # car::Anova(lm(mpg ~ factor(cyl) * factor(am), mtcars), type = 3 | 2), contr.sum
    mtcars = pd.DataFrame(
        {
            "mpg": [21, 21, 22.8, 21.4, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 17.8, 16.4, 17.3,
                    15.2, 10.4, 10.4, 14.7, 32.4, 30.4, 33.9, 21.5, 15.5, 15.2, 13.3, 19.2,
                    27.3, 26, 30.4, 15.8, 19.7, 15, 21.4],
            "cyl": [6, 6, 4, 6, 8, 6, 8, 4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 8, 8, 8, 8,
                    4, 4, 4, 8, 6, 8, 4],
            "am": [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0,
                   1, 1, 1, 1, 1, 1, 1],
        }
    )  # fmt: skip
    t3 = mt.anova.factorial(mtcars, "mpg", ["cyl", "am"], 3)
    t2 = mt.anova.factorial(mtcars, "mpg", ["cyl", "am"], 2)
    np.testing.assert_allclose(
        t3["sum_sq"], [410.46389220, 29.86735043, 25.43651124, 239.05916667], rtol=1e-8
    )
    np.testing.assert_allclose(
        t2["sum_sq"], [456.400921280, 36.766919493, 25.436511243, 239.059166667], rtol=1e-8
    )


def test_type2_and_type3_differ_only_in_unbalanced_between_terms():
    obk = mt.datasets.load("obrien_kaiser")
    args = dict(dv="value", subject="id", within=["phase", "hour"], between=["treatment", "gender"])
    t2, t3 = mt.anova.rm(obk, **args, ss_type=2), mt.anova.rm(obk, **args, ss_type=3)
    assert t2.loc["phase", "sum_sq"] != pytest.approx(t3.loc["phase", "sum_sq"])
    highest = "treatment:gender:phase:hour"
    assert t2.loc[highest, "sum_sq"] == pytest.approx(t3.loc[highest, "sum_sq"])
    with pytest.raises(ValueError, match="ss_type must be 2 or 3"):
        mt.anova.rm(obk, **args, ss_type=1)


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # raised inside pingouin
def test_pingouin_agrees_where_it_uses_the_same_formulas():
    """pingouin (a Python peer; not a dependency): skipped unless it is installed.

    One within factor: same F, GG and HF epsilon, Mauchly W and p. Split-plot with unbalanced
    groups: pingouin's mixed_anova gives the type II sums of squares (car / afex type = 2), not
    the type III ones that afex reports by default.
    """
    pg = pytest.importorskip("pingouin")
    sleep = mt.datasets.load("sleepstudy").assign(day=lambda d: d["days"].astype(str))
    ours = mt.anova.rm(sleep, "reaction", "subject", "day").loc["day"]
    theirs = pg.rm_anova(sleep, dv="reaction", within="day", subject="subject", correction=True)
    assert ours["F"] == pytest.approx(theirs["F"].iloc[0], rel=1e-8)
    assert ours["eps_gg"] == pytest.approx(theirs["eps"].iloc[0], rel=1e-8)
    hf = pg.epsilon(sleep, dv="reaction", within="day", subject="subject", correction="hf")
    assert ours["eps_hf"] == pytest.approx(hf, rel=1e-8)
    spher = pg.sphericity(sleep, dv="reaction", within="day", subject="subject")
    mauchly = mt.anova.mauchly(sleep, "reaction", "subject", "day").loc["day"]
    assert mauchly["W"] == pytest.approx(spher.W, rel=1e-8)
    assert mauchly["p_value"] == pytest.approx(spher.pval, rel=1e-6)
    obk = mt.datasets.load("obrien_kaiser")
    phases = obk.groupby(["id", "treatment", "phase"], as_index=False)["value"].mean()
    mixed = pg.mixed_anova(phases, dv="value", within="phase", between="treatment", subject="id")
    mixed = mixed.set_index("Source")
    type2 = mt.anova.rm(phases, "value", "id", "phase", "treatment", ss_type=2)
    type3 = mt.anova.rm(phases, "value", "id", "phase", "treatment", ss_type=3)
    assert type2.loc["phase", "sum_sq"] == pytest.approx(mixed.loc["phase", "SS"], rel=1e-8)
    assert type3.loc["phase", "sum_sq"] != pytest.approx(mixed.loc["phase", "SS"], rel=1e-3)
    assert type2.loc["treatment:phase", "F"] == pytest.approx(mixed.loc["Interaction", "F"])


def test_mauchly_with_only_two_level_within_factors_is_empty_with_a_warning():
    sleep = mt.datasets.load("sleepstudy")
    two_days = sleep[sleep["days"] < 2]
    with pytest.warns(UserWarning, match="nothing to test"):
        table = mt.anova.mauchly(two_days, "reaction", "subject", "days")
    assert table.empty and list(table.columns) == ["W", "chi2", "df", "p_value"]
