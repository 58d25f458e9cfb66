"""mixedtools.anova against R (aov, and lme4 REML): tests/reference/anova_reference.json."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

REFERENCE = json.loads((Path(__file__).parent / "reference" / "anova_reference.json").read_text())
CASES = ["dyestuff", "dyestuff2", "dyestuff_unbalanced", "hsb_12_schools"]
RTOL = 1e-10  # ANOVA quantities are closed-form: only rounding differs from R.


def case_data(name):
    """The rows R used for a reference case."""
    if name.startswith("dyestuff2"):
        return mt.datasets.load("dyestuff2")
    if name.startswith("dyestuff"):
        data = mt.datasets.load("dyestuff")
        dropped = REFERENCE[name]["rows"].get("dropped_rows_zero_based", [])
        return data.drop(index=dropped).reset_index(drop=True)
    hsb = mt.datasets.load("hsb")
    return hsb[hsb["school"].isin(REFERENCE[name]["rows"]["schools"])].reset_index(drop=True)


def quietly(function, *args, **kwargs):
    """Call without letting the expected negative-estimate warning escape (tested separately)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return function(*args, **kwargs)


def test_dyestuff_matches_the_published_table():
    table = mt.anova.oneway(mt.datasets.load("dyestuff"), dv="yield", between="batch")
    assert list(table.index) == ["batch", "Residual"]
    assert list(table.columns) == ["df", "sum_sq", "mean_sq", "F", "p_value"]
    assert table["df"].tolist() == [5, 24]
    assert table["sum_sq"].to_numpy() == pytest.approx([56357.5, 58830.0], rel=1e-12)
    assert table.loc["batch", "F"] == pytest.approx(4.5983, abs=5e-5)
    assert np.isnan(table.loc["Residual", "F"]) and np.isnan(table.loc["Residual", "p_value"])


@pytest.mark.parametrize("name", CASES)
def test_oneway_matches_r_aov(name):
    reference = REFERENCE[name]
    table = mt.anova.oneway(case_data(name), dv=reference["dv"], between=reference["group"])
    expected = reference["anova"]
    assert table.index[0] == reference["group"]
    assert table["df"].tolist() == expected["df"]
    np.testing.assert_allclose(table["sum_sq"], expected["sum_sq"], rtol=RTOL)
    np.testing.assert_allclose(table["mean_sq"], expected["mean_sq"], rtol=RTOL)
    assert table.iloc[0]["F"] == pytest.approx(expected["F"], rel=RTOL)
    assert table.iloc[0]["p_value"] == pytest.approx(expected["p_value"], rel=RTOL)


@pytest.mark.parametrize("name", CASES)
def test_variance_components_match_r_moment_estimators(name):
    reference = REFERENCE[name]
    result = quietly(
        mt.anova.variance_components, case_data(name), dv=reference["dv"], group=reference["group"]
    )
    expected = reference["moments"]
    assert (result.n_obs, result.n_groups) == (expected["n_obs"], expected["n_groups"])
    assert result.balanced is expected["balanced"]
    assert result.n_dropped == 0
    for attribute in ("n0", "sigma2_between_raw", "sigma2_within", "icc"):
        assert getattr(result, attribute) == pytest.approx(expected[attribute], rel=RTOL), attribute
    assert result.sigma2_between == pytest.approx(expected["sigma2_between"], rel=RTOL, abs=0)
    assert result.truncated is (expected["sigma2_between_raw"] < 0)
    pd.testing.assert_frame_equal(
        result.anova_table, mt.anova.oneway(case_data(name), reference["dv"], reference["group"])
    )


@pytest.mark.parametrize("name", ["dyestuff", "dyestuff2"])
def test_balanced_moment_estimates_equal_reml(name):
    """Balanced data: the ANOVA estimators are the REML estimates (truncated at the boundary)."""
    reference = REFERENCE[name]
    result = quietly(mt.anova.variance_components, case_data(name), "yield", "batch")
    reml = reference["reml"]
    # lme4 optimises numerically: agreement to its convergence tolerance, not to rounding.
    assert result.sigma2_between == pytest.approx(reml["sigma2_between"], rel=1e-6, abs=1e-12)
    if not result.truncated:
        assert result.sigma2_within == pytest.approx(reml["sigma2_within"], rel=1e-6)
        assert result.icc == pytest.approx(reml["icc"], rel=1e-6)
    else:
        # At the boundary REML's residual variance is the total SS over N - 1, not MSE.
        assert reml["singular"]
        total = result.anova_table["sum_sq"].sum() / (result.n_obs - 1)
        assert reml["sigma2_within"] == pytest.approx(total, rel=1e-6)
        assert result.sigma2_within != pytest.approx(total, rel=1e-3)


@pytest.mark.parametrize("name", ["dyestuff_unbalanced", "hsb_12_schools"])
def test_unbalanced_moment_estimates_differ_slightly_from_reml(name):
    reference = REFERENCE[name]
    result = mt.anova.variance_components(case_data(name), reference["dv"], reference["group"])
    reml = reference["reml"]
    relative_gap = abs(result.sigma2_between / reml["sigma2_between"] - 1)
    assert 1e-4 < relative_gap < 0.05
    assert not result.balanced and result.n0 < result.n_obs / result.n_groups


def test_negative_estimate_is_reported_truncated_and_explained():
    data = mt.datasets.load("dyestuff2")
    with pytest.warns(UserWarning, match=r"negative .*MSA = .* is smaller than .*MSE") as record:
        result = mt.anova.variance_components(data, dv="yield", group="batch")
    assert "set to 0" in str(record[0].message)
    assert result.truncated and result.sigma2_between == 0.0 and result.icc == 0.0
    assert result.sigma2_between_raw == pytest.approx(
        REFERENCE["dyestuff2"]["moments"]["sigma2_between_raw"], rel=RTOL
    )
    assert result.sigma2_between_raw < 0
    assert "truncated at 0" in repr(result)


def test_result_repr_and_frame():
    result = mt.anova.variance_components(mt.datasets.load("dyestuff"), "yield", "batch")
    text = repr(result)
    assert "30 observations in 6 groups (balanced, n0 = 5)" in text
    assert "sigma2_between = 1764.05" in text and "ICC" in text
    frame = result.to_frame()
    assert list(frame.index) == ["batch", "Residual"]
    assert list(frame.columns) == ["variance", "std_dev", "proportion"]
    assert frame.loc["batch", "proportion"] == pytest.approx(result.icc, rel=1e-14)
    assert frame["std_dev"].to_numpy() == pytest.approx(np.sqrt(frame["variance"].to_numpy()))


def test_missing_values_are_dropped_counted_and_reported():
    """Missing responses or groups give the same numbers as R on the complete rows."""
    reference = REFERENCE["dyestuff_unbalanced"]
    rows = reference["rows"]["dropped_rows_zero_based"]
    data = mt.datasets.load("dyestuff")
    data.loc[rows[:3], "yield"] = np.nan
    data.loc[rows[3:], "batch"] = None
    with pytest.warns(UserWarning, match=r"Dropped 4 of 30 rows .*'yield' or 'batch'"):
        result = mt.anova.variance_components(data, "yield", "batch")
    assert result.n_dropped == 4 and result.n_obs == 26
    assert "4 rows with missing values dropped" in repr(result)
    assert result.sigma2_between == pytest.approx(reference["moments"]["sigma2_between"], rel=RTOL)
    with pytest.warns(UserWarning, match="Dropped 4 of 30 rows"):
        table = mt.anova.oneway(data, "yield", "batch")
    assert table.attrs["n_dropped"] == 4
    np.testing.assert_allclose(table["sum_sq"], reference["anova"]["sum_sq"], rtol=RTOL)


@pytest.mark.parametrize("function", [mt.anova.oneway, mt.anova.variance_components])
def test_unknown_column_is_named_with_the_available_ones(function):
    data = mt.datasets.load("dyestuff")
    with pytest.raises(
        ValueError, match=r"'Yield' .* not in data\. Available columns: batch, yield"
    ):
        function(data, "Yield", "batch")
    with pytest.raises(ValueError, match=r"'group' .* not in data"):
        function(data, "yield", "group")


@pytest.mark.parametrize("function", [mt.anova.oneway, mt.anova.variance_components])
def test_non_numeric_response_is_an_error(function):
    data = mt.datasets.load("machines")
    with pytest.raises(TypeError, match=r"response 'worker' must be numeric"):
        function(data, "worker", "machine")


@pytest.mark.parametrize("function", [mt.anova.oneway, mt.anova.variance_components])
def test_fewer_than_two_groups_is_an_error(function):
    data = mt.datasets.load("dyestuff").query("batch == 'A'")
    with pytest.raises(ValueError, match="at least two groups"):
        function(data, "yield", "batch")


def test_single_observation_group_warns_and_adds_no_within_df():
    data = mt.datasets.load("dyestuff").drop(index=[1, 2, 3, 4])  # batch A keeps one row
    with pytest.warns(
        UserWarning, match=r"1 group\(s\) of 'batch' have a single observation \(A\)"
    ):
        table = mt.anova.oneway(data, "yield", "batch")
    assert table["df"].tolist() == [5, 20]  # 26 rows, 6 groups: N - a = 20 = 0 + 4 * 5
    full = mt.anova.oneway(mt.datasets.load("dyestuff"), "yield", "batch")
    without_a = mt.anova.oneway(data[data["batch"] != "A"], "yield", "batch")
    # The single row of batch A contributes nothing to the within-group sum of squares.
    assert table.loc["Residual", "sum_sq"] == pytest.approx(without_a.loc["Residual", "sum_sq"])
    assert table.loc["Residual", "sum_sq"] < full.loc["Residual", "sum_sq"]


def test_only_single_observation_groups_is_an_error():
    data = mt.datasets.load("dyestuff").groupby("batch").head(1)
    with pytest.raises(ValueError, match="no within-group variation"):
        mt.anova.variance_components(data, "yield", "batch")


def test_data_must_be_a_dataframe():
    with pytest.raises(TypeError, match="pandas DataFrame"):
        mt.anova.oneway({"y": [1.0, 2.0]}, "y", "g")


def test_group_labels_of_any_type_and_unused_categories():
    data = mt.datasets.load("dyestuff")
    expected = mt.anova.oneway(data, "yield", "batch")
    as_numbers = data.assign(batch=data["batch"].map({b: i for i, b in enumerate("ABCDEF")}))
    as_category = data.assign(batch=pd.Categorical(data["batch"], categories=[*"ABCDEFG"]))
    for variant in (as_numbers, as_category):
        table = mt.anova.oneway(variant, "yield", "batch")
        np.testing.assert_allclose(table.to_numpy(), expected.to_numpy(), rtol=1e-12)
