"""ANOVA effect sizes (eta2, partial eta2, ges, omega2, partial omega2) against afex and effectsize.

Reference: tests/reference/effect_sizes_reference.json, written by effect_sizes_reference.R.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "effect_sizes_reference.json").read_text()
)
TOL = 1e-10


@pytest.fixture(scope="module")
def moore_table():
    data = pd.DataFrame(REFERENCE["moore"]["data"])
    return mt.anova.factorial(data, "conformity", ["partner_status", "fcategory"]), data


@pytest.fixture(scope="module")
def obk_tables():
    obk = mt.datasets.load("obrien_kaiser")
    args = dict(dv="value", subject="id", within=["phase", "hour"], between=["treatment", "gender"])
    return mt.anova.rm(obk, **args), mt.anova.rm(obk, **args, observed="gender")


def test_between_subjects_match_afex_and_effectsize(moore_table):
    table, data = moore_table
    ref = REFERENCE["moore"]
    terms = ref["afex_terms"]
    assert list(table.index[:-1]) == terms
    tab = table.loc[terms]
    np.testing.assert_allclose(tab["ges"], ref["ges"], rtol=TOL)
    np.testing.assert_allclose(tab["eta2_partial"], ref["pes"], rtol=TOL)
    for column in ("eta2", "eta2_partial", "omega2", "omega2_partial"):
        np.testing.assert_allclose(tab[column], ref["by_formula"][column], rtol=TOL)
        # effectsize shows max(0, omega2)
        np.testing.assert_allclose(np.maximum(tab[column], 0), ref["effectsize"][column], rtol=TOL)
    observed = mt.anova.factorial(
        data, "conformity", ["partner_status", "fcategory"], observed="fcategory"
    )
    np.testing.assert_allclose(observed.loc[terms, "ges"], ref["ges_observed_fcategory"], rtol=TOL)
    assert table.loc["Residual", ["eta2", "ges", "omega2"]].isna().all()


def test_split_plot_matches_afex_and_effectsize(obk_tables):
    table, observed = obk_tables
    ref = REFERENCE["obk"]
    tab, obs = table.loc[ref["terms"]], observed.loc[ref["terms"]]
    np.testing.assert_allclose(tab["ges"], ref["ges"], rtol=TOL)
    np.testing.assert_allclose(obs["ges"], ref["ges_observed_gender"], rtol=TOL)
    np.testing.assert_allclose(tab["eta2_partial"], ref["pes"], rtol=TOL)
    es = ref["effectsize"]
    tab = table.loc[es["term"]]
    np.testing.assert_allclose(tab["eta2"], es["eta2"], rtol=TOL)
    np.testing.assert_allclose(tab["ges"], es["eta2_generalized"], rtol=TOL)
    for column in ("omega2", "omega2_partial"):
        np.testing.assert_allclose(np.maximum(tab[column], 0), es[column], rtol=TOL, atol=1e-14)


def test_effect_sizes_function_and_errors(obk_tables, moore_table):
    table, _ = obk_tables
    sizes = mt.anova.effect_sizes(table)
    pd.testing.assert_frame_equal(sizes, table[list(sizes.columns)], check_names=False)
    between, _ = moore_table
    assert list(mt.anova.effect_sizes(between).index) == list(between.index[:-1])
    with pytest.raises(ValueError, match="'age' is not a factor"):
        mt.anova.effect_sizes(table, observed="age")
    with pytest.raises(ValueError, match="needs a table"):
        mt.anova.effect_sizes(pd.DataFrame({"x": [1.0]}))
