"""mt.meta.egger, leave_one_out, influence and trimfill against metafor's regtest, leave1out,
influence and trimfill (BCG; Hackshaw 1998 for trim-and-fill with missing studies)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

REF = json.loads((Path(__file__).parent / "reference" / "meta_reference.json").read_text())
BCG = REF["bcg"]["escalc"]["RR"]
TOL = dict(rtol=1e-5, atol=1e-6)


def bcg_fit(method="REML", test="z"):
    return mt.meta.rma(BCG["yi"], BCG["vi"], method=method, test=test)


@pytest.mark.parametrize(
    ("method", "test", "key"),
    [("REML", "z", "regtest_reml"), ("FE", "z", "regtest_fe"), ("REML", "knha", "regtest_knha")],
)
def test_egger_matches_regtest(method, test, key):
    got = mt.meta.egger(bcg_fit(method, test))
    ref = REF["bcg"][key]
    np.testing.assert_allclose([got.statistic, got.p_value], [ref["zval"], ref["pval"]], **TOL)
    if "est" in ref:
        assert got.limit_estimate == pytest.approx(ref["est"], abs=1e-5)
    if "dfs" in ref:
        assert got.df == ref["dfs"]


def test_leave_one_out_matches_leave1out():
    got = mt.meta.leave_one_out(bcg_fit())
    ref = REF["bcg"]["leave1out"]
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("statistic", "zval"),
        ("p_value", "pval"),
        ("ci_lower", "ci.lb"),
        ("ci_upper", "ci.ub"),
        ("Q", "Q"),
        ("Q_p", "Qp"),
        ("tau2", "tau2"),
        ("I2", "I2"),
        ("H2", "H2"),
    ]:
        np.testing.assert_allclose(got[ours], ref[theirs], err_msg=ours, **TOL)


def test_influence_matches_metafor():
    got = mt.meta.influence(bcg_fit())
    ref = REF["bcg"]["influence"]
    for ours, theirs in [
        ("rstudent", "rstudent"),
        ("dffits", "dffits"),
        ("cook_d", "cook.d"),
        ("cov_r", "cov.r"),
        ("tau2_del", "tau2.del"),
        ("QE_del", "QE.del"),
        ("hat", "hat"),
        ("weight", "weight"),
        ("dfbetas", "dfbetas"),
    ]:
        np.testing.assert_allclose(got[ours], ref[theirs], err_msg=ours, **TOL)


def test_trimfill_bcg():
    got = mt.meta.trimfill(bcg_fit())
    ref = REF["bcg"]["trimfill"]
    assert (got.k0, got.side) == (ref["k0"], ref["side"])
    np.testing.assert_allclose(
        [got.estimate, got.se, got.tau2], [ref["beta"], ref["se"], ref["tau2"]], **TOL
    )


@pytest.mark.parametrize(("method", "key"), [("REML", "trimfill_reml"), ("FE", "trimfill_fe")])
def test_trimfill_hackshaw(method, key):
    data = pd.DataFrame(REF["hackshaw"]["data"])
    got = mt.meta.trimfill(mt.meta.rma(data.yi, data.vi, method=method))
    ref = REF["hackshaw"][key]
    assert (got.k0, got.side) == (ref["k0"], ref["side"])
    np.testing.assert_allclose([got.estimate, got.se], [ref["beta"], ref["se"]], **TOL)
    assert len(got.yi_filled) == got.k0


def test_bad_input():
    with pytest.raises(TypeError, match="mt.meta.rma"):
        mt.meta.egger("not a fit")
    reg = mt.meta.rma(BCG["yi"], BCG["vi"], mods=pd.DataFrame({"x": np.arange(13.0)}))
    with pytest.raises(ValueError, match="without moderators"):
        mt.meta.trimfill(reg)
    with pytest.raises(ValueError, match="without moderators"):
        mt.meta.leave_one_out(reg)


def test_influence_egger_of_a_knapp_hartung_meta_regression():
    data = pd.DataFrame(REF["bcg"]["data"])
    reg = mt.meta.rma(BCG["yi"], BCG["vi"], mods=data[["ablat"]], method="REML", test="knha")
    got = mt.meta.influence(reg)
    ref = REF["bcg"]["influence_ablat_knha"]
    pairs = [
        ("rstudent", "rstudent"),
        ("dffits", "dffits"),
        ("cook_d", "cook.d"),
        ("cov_r", "cov.r"),
        ("tau2_del", "tau2.del"),
        ("QE_del", "QE.del"),
        ("hat", "hat"),
        ("weight", "weight"),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(got[ours], ref[theirs], err_msg=ours, **TOL)
    np.testing.assert_allclose(got["dfbetas_ablat"], ref["dfbetas_ablat"], **TOL)
    assert "dfbetas_Intercept" in got
    egger = mt.meta.egger(reg)
    assert egger.statistic == pytest.approx(REF["bcg"]["regtest_ablat"]["zval"], abs=1e-6)
    assert egger.df == REF["bcg"]["regtest_ablat"]["dfs"]


def test_leave_one_out_with_knapp_hartung():
    got = mt.meta.leave_one_out(bcg_fit("REML", "knha"))
    ref = REF["bcg"]["leave1out_knha"]
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("p_value", "pval"),
        ("ci_lower", "ci.lb"),
    ]:
        np.testing.assert_allclose(got[ours], ref[theirs], err_msg=ours, **TOL)
