"""Publication-bias tools and the t(k - 2) prediction interval against metafor 3.8 and R's lm
(tests/reference/meta_bias.R): regtest (all predictors, "rma" and "lm"), Peters' test, PET-PEESE,
the step-function selection model, and rma(pi_method="t")."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

REF = json.loads((Path(__file__).parent / "reference" / "meta_bias.json").read_text())
HACK = REF["data"]["hackshaw"]
BCG = pd.DataFrame({k: v for k, v in REF["data"]["bcg"].items()})
NI = BCG[["tpos", "tneg", "cpos", "cneg"]].sum(axis=1)


def _vec(x):
    return np.atleast_1d(np.asarray([np.nan if v == "NA" else v for v in np.atleast_1d(x)], float))


def _data(name):
    if name.startswith("hackshaw"):
        return HACK["yi"], HACK["vi"]
    return BCG.yi_or, BCG.vi_or


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("hackshaw_default", {}),
        ("hackshaw_lm", {"model": "lm"}),
        ("hackshaw_vi", {"predictor": "vi"}),
        ("bcg_ninv", {"predictor": "ninv", "ni": NI}),
        ("bcg_ninv_lm", {"model": "lm", "predictor": "ninv", "ni": NI}),
        ("bcg_sqrtninv", {"predictor": "sqrtninv", "ni": NI}),
    ],
)
def test_regtest_matches_metafor(case, kwargs):
    ref = REF["regtest"][case]
    out = mt.meta.regtest(mt.meta.rma(*_data(case)), **kwargs)
    assert out.statistic == pytest.approx(ref["zval"], rel=1e-8)
    assert out.p_value == pytest.approx(ref["pval"], rel=1e-8)
    assert out.limit_estimate == pytest.approx(ref["est"], rel=1e-8)
    assert out.df == (ref["dfs"] if ref["dfs"] is not None else np.inf)


def test_egger_is_regtest_default():
    res = mt.meta.rma(*_data("hackshaw"))
    assert mt.meta.egger(res).statistic == pytest.approx(mt.meta.regtest(res).statistic)


def test_peters_matches_lm():
    ref = REF["peters"]["bcg"]
    out = mt.meta.peters(BCG.tpos, BCG.tneg, BCG.cpos, BCG.cneg)
    np.testing.assert_allclose([out.intercept, out.slope], ref["estimate"], rtol=1e-10)
    assert out.statistic == pytest.approx(ref["t"][1], rel=1e-10)
    assert out.p_value == pytest.approx(ref["p"][1], rel=1e-10)
    assert out.df == ref["df"]
    # inverse-variance weights: metafor's regtest(res, model = "lm", predictor = "ninv")
    out = mt.meta.peters(BCG.tpos, BCG.tneg, BCG.cpos, BCG.cneg, weights="inverse_variance")
    assert out.statistic == pytest.approx(REF["regtest"]["bcg_ninv_lm"]["zval"], rel=1e-10)


@pytest.mark.parametrize("case", ["hackshaw", "bcg_or"])
def test_pet_peese_matches_lm(case):
    ref = REF["pet_peese"][case]
    out = mt.meta.pet_peese(*_data(case))
    for row, key in (("PET", "pet"), ("PEESE", "peese")):
        got = out.loc[row]
        np.testing.assert_allclose(
            [got.estimate, got.std_error, got.statistic, got.p_value, got.slope, got.slope_p],
            [ref[key][k][0] for k in ("estimate", "se", "t", "p")]
            + [ref[key]["estimate"][1], ref[key]["p"][1]],
            rtol=1e-10,
        )
        assert got.df == ref[key]["df"]
    chosen = "PEESE" if out.loc["PET", "p_value"] < 0.05 else "PET"
    assert out.loc["PET-PEESE", "model"] == chosen
    assert out.loc["PET-PEESE", "estimate"] == out.loc[chosen, "estimate"]
    # with a lax enough level PET rejects and PEESE is chosen
    lax = mt.meta.pet_peese(*_data(case), alpha=0.99)
    assert lax.loc["PET-PEESE", "model"] == "PEESE"


@pytest.mark.parametrize(
    ("case", "method", "steps", "alternative"),
    [
        ("hackshaw_025", "ML", (0.025,), "greater"),
        ("hackshaw_3", "ML", (0.025, 0.10, 0.50), "greater"),
        ("hackshaw_reml_025", "REML", (0.025,), "greater"),
        ("bcg_ablat_less", "ML", (0.05, 0.5), "less"),
    ],
)
def test_selmodel_matches_metafor(case, method, steps, alternative):
    ref = REF["selmodel"][case]
    y, v = _data(case)
    mods = BCG[["ablat"]] if case.startswith("bcg") else None
    sel = mt.meta.selmodel(mt.meta.rma(y, v, method=method, mods=mods), steps, alternative)
    # the likelihood is flat in beta near 0 (hackshaw_3: beta = 0.002): absolute 1e-5 there
    np.testing.assert_allclose(sel.beta, _vec(ref["beta"]), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sel.se_all, _vec(ref["se"]), rtol=1e-4)
    assert sel.tau2 == pytest.approx(ref["tau2"], rel=1e-4)
    assert sel.se_tau2 == pytest.approx(ref["se_tau2"], rel=1e-4)
    np.testing.assert_allclose(sel.delta, _vec(ref["delta"]), rtol=1e-4)
    np.testing.assert_allclose(sel.se_delta[1:], _vec(ref["se_delta"])[1:], rtol=1e-4)
    assert sel.LRT == pytest.approx(ref["LRT"], rel=1e-6)
    assert sel.LRT_p == pytest.approx(ref["LRTp"], rel=1e-6)
    assert sel.LRT_df == ref["LRTdf"]
    assert sel.loglik == pytest.approx(ref["ll"], rel=1e-9)
    assert sel.k_per_interval.tolist() == list(_vec(ref["k_steps"]).astype(int))
    assert sel.converged


@pytest.mark.parametrize(
    ("case", "test"), [("hackshaw_z", "z"), ("hackshaw_knha", "knha"), ("bcg_z", "z")]
)
def test_prediction_intervals_match_metafor(case, test):
    ref = REF["prediction"][case]
    y, v = _data(case)
    default = mt.meta.rma(y, v, test=test)
    np.testing.assert_allclose(
        [default.pi_lower, default.pi_upper], [ref["pi_lb"], ref["pi_ub"]], rtol=1e-8
    )
    hts = mt.meta.rma(y, v, test=test, pi_method="t")
    np.testing.assert_allclose(
        [hts.pi_lower, hts.pi_upper], [ref["hts_lb"], ref["hts_ub"]], rtol=1e-8
    )
    assert hts.pi_method == "t"
    assert hts.pi_upper - hts.pi_lower > default.pi_upper - default.pi_lower


def test_bad_input():
    res = mt.meta.rma(*_data("hackshaw"))
    with pytest.raises(ValueError, match="needs ni"):
        mt.meta.regtest(res, predictor="ninv")
    with pytest.raises(ValueError, match="unknown predictor"):
        mt.meta.regtest(res, predictor="n")
    with pytest.raises(ValueError, match="unknown model"):
        mt.meta.regtest(res, model="glm")
    with pytest.raises(TypeError, match="mt.meta.rma"):
        mt.meta.selmodel(object())
    with pytest.raises(ValueError, match="increasing cut points"):
        mt.meta.selmodel(res, steps=(0.5, 0.025))
    with pytest.raises(ValueError, match="no study has its p-value"):
        mt.meta.selmodel(res, steps=(1e-12,))
    with pytest.raises(ValueError, match="pi_method"):
        mt.meta.rma(*_data("hackshaw"), pi_method="riley")
    with pytest.raises(ValueError, match="weights"):
        mt.meta.peters(BCG.tpos, BCG.tneg, BCG.cpos, BCG.cneg, weights="n")
    with pytest.raises(ValueError, match="same length"):
        mt.meta.pet_peese([0.1, 0.2], [0.1])
