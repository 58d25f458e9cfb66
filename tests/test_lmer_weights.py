"""mt.lmer(weights=) against lme4 and lmerTest (tests/reference/lmer_weights.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

HERE = Path(__file__).parent / "reference"
REFERENCE = json.loads((HERE / "lmer_weights.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sleep():
    return pd.read_csv(HERE / "lmer_weights.csv", dtype={"subject": str})


@pytest.mark.parametrize("formula", list(REFERENCE))
def test_weighted_fit_matches_lme4_and_lmertest(sleep, formula):
    ref = REFERENCE[formula]
    fit = mt.lmer(formula, sleep, weights="w")
    assert fit.loglik == pytest.approx(ref["loglik"][0], abs=1e-6)
    assert fit.refit(reml=False).loglik == pytest.approx(ref["loglik_ml"][0], abs=1e-6)
    assert np.allclose(fit.fixef, ref["fixef"], rtol=1e-6)
    assert np.allclose(np.sqrt(np.diag(fit.vcov)), ref["se"], rtol=5e-5)
    assert fit.sigma == pytest.approx(ref["sigma"][0], rel=1e-5)
    table = fit.coef_table(ddf="satterthwaite")
    assert np.allclose(table["df"], ref["df_satterthwaite"], rtol=1e-4)
    assert np.allclose(fit.ranef["subject"].to_numpy(), ref["ranef"], atol=1e-3)


def test_weights_as_values_and_equal_weights(sleep):
    a = mt.lmer("reaction ~ days + (1 | subject)", sleep, weights=sleep["w"].to_numpy())
    b = mt.lmer("reaction ~ days + (1 | subject)", sleep, weights="w")
    assert a.loglik == pytest.approx(b.loglik, abs=1e-10)
    # equal weights of 1 are the unweighted fit; weights of 4 quarter the residual variance
    plain = mt.lmer("reaction ~ days + (1 | subject)", sleep)
    ones = mt.lmer("reaction ~ days + (1 | subject)", sleep, weights=np.ones(len(sleep)))
    assert ones.loglik == pytest.approx(plain.loglik, abs=1e-10)
    fours = mt.lmer("reaction ~ days + (1 | subject)", sleep, weights=np.full(len(sleep), 4.0))
    assert fours.sigma == pytest.approx(2 * plain.sigma, rel=1e-6)
    assert np.allclose(fours.fixef, plain.fixef, rtol=1e-8)


def test_bad_weights_are_refused(sleep):
    with pytest.raises(ValueError, match="positive"):
        mt.lmer("reaction ~ days + (1 | subject)", sleep, weights=np.zeros(len(sleep)))
    with pytest.raises(ValueError, match="one value per row"):
        mt.lmer("reaction ~ days + (1 | subject)", sleep, weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="no column"):
        mt.lmer("reaction ~ days + (1 | subject)", sleep, weights="nope")
    shuffled = sleep["w"].sample(frac=1, random_state=1)
    with pytest.raises(ValueError, match="index"):
        mt.lmer("reaction ~ days + (1 | subject)", sleep, weights=shuffled)


def test_group_deletion_refuses_a_weighted_fit(sleep):
    fit = mt.lmer("reaction ~ days + (1 | subject)", sleep, weights="w")
    with pytest.raises(NotImplementedError, match="weights"):
        mt.lmm.group_influence(fit, "subject")
