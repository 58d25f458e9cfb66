"""The numbers chapter 7 prints for publication bias, prediction intervals and dependent effect
sizes, against metafor 3.8 and clubSandwich 0.5.8 (tests/reference/meta_chapter.R): the BCG trials
(log risk ratios, and log odds ratios for Peters' test) and the correlated-and-hierarchical-effects
model on Assink et al. (2016) for four assumed within-study correlations. Tolerance: 1e-6 relative
for closed-form results, 1e-5 for iterative ones and Satterthwaite df, 1e-4 for the selection
model (a numerical optimum and Hessian on both sides)."""

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import mixedtools as mt

REF = json.loads((Path(__file__).parent / "reference" / "meta_chapter.json").read_text())
BCG_REF, ASSINK_REF = REF["bcg"], REF["assink"]


@cache
def bcg():
    data = mt.datasets.load("bcg")
    es = mt.meta.escalc("RR", ai=data.tpos, bi=data.tneg, ci=data.cpos, di=data.cneg)
    return data.assign(yi=es.yi, vi=es.vi)


@cache
def re_bcg(pi_method="default"):
    return mt.meta.rma(bcg().yi, bcg().vi, method="REML", pi_method=pi_method)


@cache
def che(rho, mods=None):
    ass = mt.datasets.load("assink2016")
    if rho == 0:
        V = ass.vi
    else:
        V = mt.meta.vcalc(ass.vi, ass.study, obs=ass.esid, rho=rho)
    fit = mt.meta.rma_mv(ass.yi, V, random=ass[["study", "esid"]], mods=mods, data=ass)
    return fit, mt.meta.robust(fit, vcov="CR2")


def test_random_effects_model_and_both_prediction_intervals():
    res = re_bcg()
    assert res.estimate == pytest.approx(BCG_REF["estimate"], rel=1e-6)
    assert res.tau2 == pytest.approx(BCG_REF["tau2"], rel=1e-6)
    assert [res.pi_lower, res.pi_upper] == pytest.approx(BCG_REF["pi_z"], rel=1e-6)
    t_version = re_bcg("t")
    assert [t_version.pi_lower, t_version.pi_upper] == pytest.approx(BCG_REF["pi_t"], rel=1e-6)
    assert t_version.pi_upper - t_version.pi_lower > res.pi_upper - res.pi_lower


def test_regtest_default_is_the_mixed_effects_version_and_lm_is_egger_1997():
    rt = mt.meta.regtest(re_bcg())
    assert rt.model == "rma" and np.isinf(rt.df)
    assert rt.statistic == pytest.approx(BCG_REF["regtest"]["zval"], rel=1e-6)
    assert rt.p_value == pytest.approx(BCG_REF["regtest"]["pval"], rel=1e-6)
    assert rt.limit_estimate == pytest.approx(BCG_REF["regtest"]["est"], rel=1e-6)
    assert mt.meta.egger(re_bcg()).statistic == pytest.approx(rt.statistic, rel=1e-12)
    lm = mt.meta.regtest(re_bcg(), model="lm")
    assert lm.statistic == pytest.approx(BCG_REF["regtest_lm"]["tval"], rel=1e-6)
    assert lm.df == BCG_REF["regtest_lm"]["df"]
    assert lm.p_value == pytest.approx(BCG_REF["regtest_lm"]["pval"], rel=1e-6)


def test_trimfill():
    filled = mt.meta.trimfill(re_bcg())
    assert filled.k0 == BCG_REF["trimfill"]["k0"]
    assert filled.side == BCG_REF["trimfill"]["side"]
    assert filled.estimate == pytest.approx(BCG_REF["trimfill"]["estimate"], rel=1e-5)


@pytest.mark.parametrize("row", ["PET", "PEESE"])
def test_pet_peese(row):
    table = mt.meta.pet_peese(bcg().yi, bcg().vi)
    ref = BCG_REF[row.lower()]
    assert table.loc[row, "estimate"] == pytest.approx(ref["estimate"], rel=1e-6)
    assert table.loc[row, "std_error"] == pytest.approx(ref["se"], rel=1e-6)
    assert table.loc[row, "p_value"] == pytest.approx(ref["p"], rel=1e-6)
    assert table.loc[row, "slope"] == pytest.approx(ref["slope"], rel=1e-6)
    assert table.loc[row, "df"] == ref["df"]
    # PET's intercept is not significant, so the conditional rule reports PET
    assert table.loc["PET-PEESE", "model"] == "PET"


def test_step_function_selection_model():
    sel = mt.meta.selmodel(re_bcg(), steps=(0.025,), alternative="less")
    ref = BCG_REF["selmodel"]
    assert sel.k_per_interval.tolist() == ref["k_steps"]
    assert sel.estimate == pytest.approx(ref["estimate"], rel=1e-4)
    assert float(sel.se_all.iloc[0]) == pytest.approx(ref["se"], rel=1e-3)
    assert sel.tau2 == pytest.approx(ref["tau2"], rel=1e-4)
    assert sel.delta.tolist() == pytest.approx(ref["delta"], rel=1e-4)
    assert sel.LRT == pytest.approx(ref["LRT"], rel=1e-3)
    assert sel.LRT_p == pytest.approx(ref["LRTp"], rel=1e-4)


def test_peters_test_on_the_log_odds_ratios():
    data = bcg()
    out = mt.meta.peters(data.tpos, data.tneg, data.cpos, data.cneg)
    ref = BCG_REF["peters"]
    assert out.statistic == pytest.approx(ref["tval"], rel=1e-6)
    assert out.p_value == pytest.approx(ref["pval"], rel=1e-6)
    assert out.slope == pytest.approx(ref["slope"], rel=1e-6)
    assert out.intercept == pytest.approx(ref["intercept"], rel=1e-6)


def _check_che(fit, rob, ref):
    table = rob.coef_table()
    assert fit.beta.to_numpy() == pytest.approx(np.atleast_1d(ref["estimate"]), rel=1e-5)
    assert np.sqrt(np.diag(fit.vb)) == pytest.approx(np.atleast_1d(ref["se_model"]), rel=1e-5)
    assert fit.sigma2.to_numpy() == pytest.approx(ref["sigma2"], rel=1e-5)
    assert table.std_error.to_numpy() == pytest.approx(np.atleast_1d(ref["se_cr2"]), rel=1e-5)
    assert table.df.to_numpy() == pytest.approx(np.atleast_1d(ref["df"]), rel=1e-5)
    assert table.p_value.to_numpy() == pytest.approx(np.atleast_1d(ref["p"]), rel=1e-5)
    assert table.ci_lower.to_numpy() == pytest.approx(np.atleast_1d(ref["ci_lb"]), rel=1e-5)
    assert table.ci_upper.to_numpy() == pytest.approx(np.atleast_1d(ref["ci_ub"]), rel=1e-5)


@pytest.mark.parametrize("position", range(4))
def test_che_model_with_cr2_for_each_assumed_correlation(position):
    rho = ASSINK_REF["rho"][position]
    _check_che(*che(rho), ASSINK_REF["che"][position])


def test_three_level_model_with_independent_sampling_errors():
    _check_che(*che(0), ASSINK_REF["independent"])


def test_che_meta_regression_on_the_type_of_behaviour_and_its_htz_test():
    fit, rob = che(0.6, mods="deltype")
    ref = ASSINK_REF["deltype"]
    _check_che(fit, rob, ref)
    wald = rob.wald_test([1, 2], test="HTZ")
    assert wald.F == pytest.approx(ref["wald"]["Fstat"], rel=1e-5)
    assert wald.df_den == pytest.approx(ref["wald"]["df_den"], rel=1e-5)
    assert wald.p_value == pytest.approx(ref["wald"]["p"], rel=1e-5)
