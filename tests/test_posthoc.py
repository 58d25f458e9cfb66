"""Post-hoc comparisons and planned contrasts against R (TukeyHSD, pairwise.t.test, lm, emmeans).

Reference: tests/reference/posthoc_reference.json, written by posthoc_reference.R.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

REFERENCE = json.loads((Path(__file__).parent / "reference" / "posthoc_reference.json").read_text())
RTOL = 1e-8


def _data(name):
    return pd.DataFrame(REFERENCE[name]["data"])


@pytest.mark.parametrize(
    ("name", "dv", "between"),
    [("chickwts", "weight", ["feed"]), ("warpbreaks", "breaks", ["wool", "tension"])],
)
def test_tukey_matches_tukeyhsd(name, dv, between):
    out = mt.anova.posthoc(_data(name), dv, between, method="tukey")
    for term, ref in REFERENCE[name]["tukey"].items():
        ref = {k: np.atleast_1d(v).tolist() for k, v in ref.items()}  # R unboxes length 1
        mine = out[out["term"] == term]
        assert list(mine["contrast"]) == ref["contrast"]
        np.testing.assert_allclose(mine["estimate"], ref["diff"], rtol=RTOL)
        np.testing.assert_allclose(mine["ci_lower"], ref["lwr"], rtol=1e-6)
        np.testing.assert_allclose(mine["ci_upper"], ref["upr"], rtol=1e-6)
        np.testing.assert_allclose(mine["p_value"], ref["p"], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("method", ["holm", "bonferroni", "none"])
def test_pooled_t_tests_match_pairwise_t_test(method):
    out = mt.anova.posthoc(_data("chickwts"), "weight", "feed", method=method)
    ref = REFERENCE["chickwts"]["pairwise"][method]
    # pairwise.t.test names a pair row-column ("horsebean-casein"), as TukeyHSD does
    got = out.set_index("contrast").loc[ref["contrast"], "p_value"]
    np.testing.assert_allclose(got, ref["p"], rtol=1e-10)


@pytest.mark.parametrize("coding", ["helmert", "poly", "sum", "treatment"])
def test_planned_codings_match_lm(coding):
    out = mt.anova.planned(_data("chickwts"), "weight", "feed", coding)
    ref = REFERENCE["planned"][coding]
    np.testing.assert_allclose(out["estimate"], ref["estimate"], rtol=RTOL, atol=1e-10)
    np.testing.assert_allclose(out["std_error"], ref["se"], rtol=RTOL)
    np.testing.assert_allclose(out["p_value"], ref["p"], rtol=1e-8, atol=1e-300)


def test_planned_weights_match_emmeans_contrast():
    ref = REFERENCE["planned"]["custom"]
    weights = dict(zip(["meat", "horse"], ref["weights"], strict=True))
    out = mt.anova.planned(_data("chickwts"), "weight", "feed", weights)
    np.testing.assert_allclose(out["estimate"], ref["estimate"], rtol=RTOL)
    np.testing.assert_allclose(out["std_error"], ref["se"], rtol=RTOL)
    np.testing.assert_allclose(out["t"], ref["t"], rtol=RTOL)
    assert list(out["df"]) == ref["df"]


def test_bad_input_is_named():
    data = _data("chickwts")
    with pytest.raises(ValueError, match="Unknown method"):
        mt.anova.posthoc(data, "weight", "feed", method="scheffe")
    with pytest.raises(ValueError, match="6 weights"):
        mt.anova.planned(data, "weight", "feed", {"bad": [1, -1]})
