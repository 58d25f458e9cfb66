"""What chapter 7 says about small-study effects, prediction intervals and dependent effect sizes,
recomputed with mixedtools on the chapter's data (BCG trials, Assink et al. 2016); the tests do not
read the notebook. The numbers themselves are checked against metafor and clubSandwich in
tests/test_meta_chapter_reference.py."""

from functools import cache

import numpy as np
import pytest
from scipy import stats

import mixedtools as mt


@cache
def bcg():
    data = mt.datasets.load("bcg")
    es = mt.meta.escalc("RR", ai=data.tpos, bi=data.tneg, ci=data.cpos, di=data.cneg)
    n = data[["tpos", "tneg", "cpos", "cneg"]].sum(axis=1)
    return data.assign(yi=es.yi, vi=es.vi, n=n)


@cache
def re_bcg():
    return mt.meta.rma(bcg().yi, bcg().vi, method="REML")


@cache
def che_fits():
    ass = mt.datasets.load("assink2016")
    out = {}
    for rho in [0.0, 0.2, 0.4, 0.6, 0.8]:
        V = ass.vi if rho == 0 else mt.meta.vcalc(ass.vi, ass.study, obs=ass.esid, rho=rho)
        fit = mt.meta.rma_mv(ass.yi, V, random=ass[["study", "esid"]])
        out[rho] = (fit, mt.meta.robust(fit, vcov="CR2").coef_table().iloc[0])
    return out


def test_random_effects_weights_are_not_nearly_equal():
    weights = np.asarray(re_bcg().weights)
    assert weights.min() < 4 and weights.max() > 10
    assert weights.max() / weights.min() > 2.5


def test_the_funnel_is_asymmetric_large_trials_near_the_null():
    by_size = bcg().sort_values("n").yi
    assert by_size.iloc[-3:].min() > -0.35 and by_size.iloc[-3:].max() < 0.05
    assert by_size.iloc[:6].max() < -0.75
    rank = stats.spearmanr(bcg().n, bcg().yi)
    assert rank.statistic == pytest.approx(0.55, abs=0.01)
    assert 0.05 < rank.pvalue < 0.055  # borderline


def test_neither_regression_test_is_significant_and_they_differ():
    default = mt.meta.regtest(re_bcg())
    egger_1997 = mt.meta.regtest(re_bcg(), model="lm")
    assert default.p_value > 0.4 and egger_1997.p_value > 0.15
    assert np.isinf(default.df) and egger_1997.df == 11
    assert abs(default.statistic - egger_1997.statistic) > 0.5
    filled = mt.meta.trimfill(re_bcg())
    assert filled.k0 == 1 and abs(filled.estimate - re_bcg().estimate) < 0.1


def test_heterogeneity_explained_by_latitude_not_precision():
    """Sterne et al. (2011), Terrin et al. (2003): with I2 this large and a moderator explaining
    most of tau2, asymmetry says nothing about publication bias; with latitude in the model the
    standard error explains nothing more."""
    assert re_bcg().I2 > 90
    reg = mt.meta.rma("yi", "vi", mods="ablat", data=bcg())
    assert reg.R2 > 70
    assert mt.meta.regtest(reg).p_value > 0.5
    # the precise trials are the low-latitude trials
    assert stats.spearmanr(bcg().n, bcg().ablat).statistic < -0.3


def test_bias_methods_shrink_the_estimate_but_find_no_bias():
    re = re_bcg()
    pet = mt.meta.pet_peese(bcg().yi, bcg().vi)
    sel = mt.meta.selmodel(re, steps=(0.025,), alternative="less")
    data = bcg()
    peters = mt.meta.peters(data.tpos, data.tneg, data.cpos, data.cneg)
    assert pet.loc["PET-PEESE", "model"] == "PET" and pet.loc["PET", "p_value"] > 0.05
    for estimate in [pet.loc["PET", "estimate"], pet.loc["PEESE", "estimate"], sel.estimate]:
        assert re.estimate < estimate < 0
    assert sel.k_per_interval.tolist() == [8, 5]
    assert 0.5 < sel.delta.iloc[1] < 0.75 and sel.LRT_p > 0.5
    assert peters.p_value > 0.15


def test_t_prediction_interval_is_wider_by_the_quantile_ratio():
    z_version = re_bcg()
    t_version = mt.meta.rma(bcg().yi, bcg().vi, method="REML", pi_method="t")
    ratio = (t_version.pi_upper - t_version.pi_lower) / (z_version.pi_upper - z_version.pi_lower)
    assert ratio == pytest.approx(stats.t.ppf(0.975, 11) / stats.norm.ppf(0.975), rel=1e-10)
    assert ratio == pytest.approx(1.12, abs=0.005)
    assert z_version.pi_upper > 0 and t_version.pi_upper > z_version.pi_upper


def test_che_estimate_falls_with_the_assumed_correlation_and_stays_significant():
    fits = che_fits()
    estimates = [fit.estimate for fit, _ in fits.values()]
    assert np.all(np.diff(estimates) < 0)
    assert estimates[0] == pytest.approx(0.427, abs=0.001)
    assert estimates[-1] == pytest.approx(0.354, abs=0.001)
    study_var = [fit.sigma2.iloc[0] for fit, _ in fits.values()]
    effect_var = [fit.sigma2.iloc[1] for fit, _ in fits.values()]
    assert np.all(np.diff(study_var) < 0) and np.all(np.diff(effect_var) > 0)
    for fit, robust in fits.values():
        assert 1 < robust.std_error / fit.se < 1.01  # robust SE within 1% of the model SE
        assert 14 < robust.df < 15.5 < 17  # about the number of studies, not of effects
        assert robust.p_value < 0.005


def test_robust_moderator_test_with_one_or_three_studies_per_category_is_unreliable():
    ass = mt.datasets.load("assink2016")
    studies = ass.groupby("deltype").study.nunique()
    assert studies.to_dict() == {"covert": 1, "general": 17, "overt": 3}
    V = mt.meta.vcalc(ass.vi, ass.study, obs=ass.esid, rho=0.6)
    fit = mt.meta.rma_mv(ass.yi, V, random=ass[["study", "esid"]], mods="deltype", data=ass)
    assert fit.QM_p < 0.01  # the model-based test finds a moderator
    robust = mt.meta.robust(fit, vcov="CR2")
    htz = robust.wald_test([1, 2], test="HTZ")
    assert htz.df_den < 1 and htz.p_value > 0.05
    assert (robust.coef_table().df.iloc[1:] < 4).all()  # below Tipton's (2015) threshold
