"""The effect sizes and follow-up tests of chapter 5, on the chapter's own data, against R.

Reference: tests/reference/anova_chapter_followups.json, written by anova_chapter_followups.R
(afex::aov_car ges and pes, TukeyHSD, pairwise.t.test with Holm, emmeans::contrast). The
split-plot marginal means of the chapter are checked against emmeans in tests/test_emmeans.py
(design "obk", specs "treatment" and "phase" by "treatment").
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

REF = json.loads((Path(__file__).parent / "reference" / "anova_chapter_followups.json").read_text())


@pytest.fixture(scope="module")
def subjects():
    obk = mt.datasets.load("obrien_kaiser")
    return obk.groupby(["id", "treatment", "gender"], as_index=False)["value"].mean()


def test_factorial_effect_sizes_match_afex(subjects):
    ref = REF["factorial"]
    table = mt.anova.factorial(subjects, "value", ["treatment", "gender"], 3)
    terms = ref["term"]
    np.testing.assert_allclose(table.loc[terms, "F"], ref["F"], rtol=1e-8)
    np.testing.assert_allclose(table.loc[terms, "eta2_partial"], ref["pes"], rtol=1e-8)
    np.testing.assert_allclose(table.loc[terms, "ges"], ref["ges"], rtol=1e-8)
    observed = mt.anova.effect_sizes(table, observed="gender")
    np.testing.assert_allclose(observed.loc[terms, "ges"], ref["ges_observed_gender"], rtol=1e-8)


def test_rm_effect_sizes_match_afex():
    sleep = mt.datasets.load("sleepstudy")
    sleep["day"] = pd.Categorical(sleep["days"])
    table = mt.anova.rm(sleep, dv="reaction", subject="subject", within="day")
    assert table.loc["day", "F"] == pytest.approx(REF["rm"]["F"], rel=1e-8)
    sizes = mt.anova.effect_sizes(table)
    assert sizes.loc["day", "eta2_partial"] == pytest.approx(REF["rm"]["pes"], rel=1e-8)
    assert sizes.loc["day", "ges"] == pytest.approx(REF["rm"]["ges"], rel=1e-8)


def test_posthoc_and_planned_match_r(subjects):
    tukey = mt.anova.posthoc(subjects, "value", "treatment", method="tukey").set_index("contrast")
    ref = REF["posthoc"]["tukey"]
    np.testing.assert_allclose(tukey.loc[ref["contrast"], "estimate"], ref["diff"], rtol=1e-10)
    np.testing.assert_allclose(tukey.loc[ref["contrast"], "p_value"], ref["p"], rtol=1e-5)
    holm = mt.anova.posthoc(subjects, "value", "treatment", method="holm").set_index("contrast")
    ref = REF["posthoc"]["holm"]
    # pairwise.t.test's lower triangle: (B, A), (control, A), (B, B) = NA, (control, B)
    expected = {"B-A": ref["p"][0], "control-A": ref["p"][1], "control-B": ref["p"][3]}
    for pair, p in expected.items():
        assert holm.loc[pair, "p_value"] == pytest.approx(p, rel=1e-8)
    ref = REF["planned"]
    weights = {"A, B vs control": [0.5, 0.5, -1], "A vs B": [1, -1, 0]}
    planned = mt.anova.planned(subjects, "value", "treatment", weights)
    for col, key in [("estimate", "estimate"), ("std_error", "SE"), ("t", "t"), ("p_value", "p")]:
        np.testing.assert_allclose(planned.loc[ref["contrast"], col], ref[key], rtol=1e-8)
    np.testing.assert_allclose(planned["df"], ref["df"])
