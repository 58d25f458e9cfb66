"""mt.meta on a data set beyond the original fixtures: the teacher-expectancy studies.

References: tests/reference/meta_raudenbush_reference.R -> meta_raudenbush_reference.json
(metafor 3.8-1, metadat's dat.raudenbush1985). The "tight" results use metafor's
control = list(threshold = 1e-12, tol = 1e-12); the "default" results show how far metafor's
default tolerances are from the converged values.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

REF = json.loads(
    (Path(__file__).parent / "reference" / "meta_raudenbush_reference.json").read_text()
)
DATA = REF["data"]
CASES = sorted(REF["rma"])


@pytest.mark.parametrize("case", CASES)
def test_rma_matches_metafor_with_tight_tolerances(case):
    method, test = case.split("_")
    ref = REF["rma"][case]["tight"]
    fit = mt.meta.rma(DATA["yi"], DATA["vi"], method=method, test=test)
    tol = 1e-6 if method in ("DL", "HE") else 1e-5
    assert fit.estimate == pytest.approx(ref["beta"], abs=tol)
    assert fit.se == pytest.approx(ref["se"], abs=tol)
    assert fit.tau2 == pytest.approx(ref["tau2"], abs=tol)
    assert fit.I2 == pytest.approx(ref["I2"], abs=1e-4)
    assert fit.Q == pytest.approx(ref["QE"], abs=1e-8)
    assert [fit.ci_lower, fit.ci_upper] == pytest.approx([ref["ci_lb"], ref["ci_ub"]], abs=tol)
    assert [fit.pi_lower, fit.pi_upper] == pytest.approx(ref["pi"], abs=tol)
    assert [fit.tau2_ci_lower, fit.tau2_ci_upper] == pytest.approx(ref["tau2_ci"], abs=1e-6)


def test_metafor_defaults_stop_early_but_within_the_documented_tolerance():
    """With its default control, metafor's REML tau2 is off in the 6th decimal; the docs say so."""
    fit = mt.meta.rma(DATA["yi"], DATA["vi"], method="REML")
    default = REF["rma"]["REML_z"]["default"]
    assert fit.tau2 != pytest.approx(default["tau2"], abs=1e-7)
    assert fit.tau2 == pytest.approx(default["tau2"], abs=1e-4)
    assert fit.tau2_ci_lower == pytest.approx(default["tau2_ci"][0], abs=1e-4)


def test_meta_regression_on_weeks_matches_metafor():
    ref = REF["metareg_weeks"]
    data = {"yi": DATA["yi"], "vi": DATA["vi"], "weeks": DATA["weeks"]}
    fit = mt.meta.rma("yi", "vi", mods="weeks", data=pd.DataFrame(data))
    np.testing.assert_allclose(fit.beta.to_numpy(), ref["beta"], atol=1e-6)
    assert fit.tau2 == pytest.approx(ref["tau2"], abs=1e-6)
    assert fit.QM == pytest.approx(ref["QM"], abs=1e-5)
    assert fit.QE == pytest.approx(ref["QE"], abs=1e-8)
    assert fit.R2 == pytest.approx(ref["R2"], abs=1e-3)


def test_egger_and_trimfill_match_metafor():
    fit = mt.meta.rma(DATA["yi"], DATA["vi"], method="REML")
    egger = mt.meta.egger(fit)
    assert egger.statistic == pytest.approx(REF["egger"]["zval"], abs=1e-5)
    assert egger.p_value == pytest.approx(REF["egger"]["pval"], abs=1e-6)
    filled = mt.meta.trimfill(fit)
    assert filled.k0 == REF["trimfill"]["k0"]
    assert filled.side == REF["trimfill"]["side"]
    assert filled.estimate == pytest.approx(REF["trimfill"]["beta"], abs=1e-6)
    assert filled.se == pytest.approx(REF["trimfill"]["se"], abs=1e-6)
