"""Bundled data sets against the values R wrote when exporting them (reference/datasets.json)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

REFERENCE = json.loads((Path(__file__).parent / "reference" / "datasets.json").read_text())
EXPECTED_NAMES = [
    "assink2016",
    "bcg",
    "cbpp",
    "contraception",
    "dyestuff",
    "dyestuff2",
    "empluk",
    "grouseticks",
    "grunfeld",
    "hsb",
    "insurance",
    "konstantopoulos2011",
    "machines",
    "obrien_kaiser",
    "oxboys",
    "pastes",
    "penicillin",
    "shoes",
    "sleepstudy",
    "verbagg",
]


def test_names_lists_every_bundled_set():
    assert mt.datasets.names() == EXPECTED_NAMES
    assert sorted(REFERENCE) == EXPECTED_NAMES


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_load_matches_r_export(name):
    reference = REFERENCE[name]
    data = mt.datasets.load(name)
    assert isinstance(data, pd.DataFrame)
    assert data.shape == (reference["n_rows"], len(reference["columns"]))
    assert list(data.columns) == reference["columns"]
    assert not data.isna().any().any()
    for column, summary in reference["summaries"].items():
        values = data[column]
        if "n_unique" in summary:
            # Grouping factors and labels are strings, never numbers.
            assert pd.api.types.is_string_dtype(values), column
            assert values.nunique() == summary["n_unique"], column
        else:
            assert pd.api.types.is_numeric_dtype(values), column
            for stat in ("sum", "mean", "min", "max"):
                assert getattr(values, stat)() == pytest.approx(summary[stat], rel=1e-12), (
                    column,
                    stat,
                )
        # First and last values exactly as in R: no rounding, no reordering.
        assert values.iloc[0] == summary["first"], column
        assert values.iloc[-1] == summary["last"], column


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_codebook_matches_columns(name):
    text = mt.datasets.describe(name)
    data = mt.datasets.load(name)
    for column in data.columns:
        assert f"  {column} " in text, column
    assert f"{data.shape[0]} rows x {data.shape[1]} columns" in text
    assert "Reference:" in text and "Licence:" in text


@pytest.mark.parametrize(
    ("name", "citation"),
    [
        ("hsb", "Raudenbush, S. W. and Bryk, A. S. (2002). Hierarchical Linear Models"),
        ("sleepstudy", "Belenky"),
        ("dyestuff", "Davies, O. L. and Goldsmith"),
        ("dyestuff2", "Box, G. E. P. and Tiao"),
        ("bcg", "Colditz"),
        ("konstantopoulos2011", "Konstantopoulos, S. (2011)"),
        ("assink2016", "Assink, M., van der Put"),
        ("grunfeld", "Grunfeld, Y. (1958)"),
        ("machines", "Milliken"),
        ("shoes", "Statistics for Experimenters"),
        ("obrien_kaiser", "O'Brien, R. G. and Kaiser, M. K. (1985)"),
        ("oxboys", "Goldstein, H. (1987)"),
    ],
)
def test_describe_cites_the_original_source(name, citation):
    assert citation in mt.datasets.describe(name)


def test_hsb_codes_and_school_variables():
    hsb = mt.datasets.load("hsb")
    for column in ("minority", "female", "sector", "himinty"):
        assert set(hsb[column]) == {0, 1}, column
    schools = hsb.groupby("school")[["meanses", "size", "sector", "pracad", "disclim", "himinty"]]
    # School-level variables are constant within a school.
    assert (schools.nunique() == 1).all().all()
    per_school = hsb.groupby("school")["sector"].first()
    assert (per_school == 0).sum() == 90 and (per_school == 1).sum() == 70


def test_balanced_designs_have_the_documented_layout():
    sizes = mt.datasets.load("dyestuff").groupby("batch").size()
    assert len(sizes) == 6 and (sizes == 5).all()
    penicillin = mt.datasets.load("penicillin")
    assert (pd.crosstab(penicillin["plate"], penicillin["sample"]) == 1).all().all()
    pastes = mt.datasets.load("pastes")
    assert (pastes["sample"] == pastes["batch"] + ":" + pastes["cask"]).all()
    shoes = mt.datasets.load("shoes")
    assert (pd.crosstab(shoes["boy"], shoes["material"]) == 1).all().all()
    grunfeld = mt.datasets.load("grunfeld")
    assert not grunfeld.duplicated(["firm", "year"]).any() and len(grunfeld) == 10 * 20
    obk = mt.datasets.load("obrien_kaiser")
    assert (obk.groupby(["id", "phase", "hour"]).size() == 1).all() and len(obk) == 16 * 15
    oxboys = mt.datasets.load("oxboys")
    assert (pd.crosstab(oxboys["subject"], oxboys["occasion"]) == 1).all().all()
    assert oxboys.shape == (26 * 9, 4)


def test_load_returns_an_independent_copy():
    first = mt.datasets.load("dyestuff")
    first.loc[0, "yield"] = np.nan
    assert mt.datasets.load("dyestuff")["yield"].notna().all()


@pytest.mark.parametrize("bad", ["Sleepstudy", "nope", 3])
def test_unknown_name_lists_available_sets(bad):
    with pytest.raises(ValueError, match="Unknown data set") as excinfo:
        mt.datasets.load(bad)
    assert "sleepstudy" in str(excinfo.value) and "hsb" in str(excinfo.value)
    with pytest.raises(ValueError, match="Available data sets"):
        mt.datasets.describe(bad)
