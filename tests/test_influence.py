"""Group-deletion diagnostics against lme4 refits (tests/reference/influence_reference.R)."""

import json
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import mixedtools as mt

REF = json.loads((Path(__file__).parent / "reference" / "influence_reference.json").read_text())


@cache
def sleep_fit():
    return mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))


@cache
def hsb30_fit():
    hsb = mt.datasets.load("hsb")
    hsb["cses"] = hsb.ses - hsb.groupby("school").ses.transform("mean")
    hsb = hsb[hsb.school.isin(REF["hsb_schools"])]
    return mt.lmer("mathach ~ cses + meanses + sector + (1 | school)", hsb)


@cache
def sleep_influence():
    return mt.lmm.group_influence(sleep_fit())


@cache
def hsb_influence():
    return mt.lmm.group_influence(hsb30_fit(), "school")


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize(
    ("key", "get"), [("sleepstudy", sleep_influence), ("hsb30", hsb_influence)]
)
def test_group_deletion_matches_lme4_refits(key, get):
    ref, infl = REF[key], get()
    assert list(infl.summary.index) == ref["levels"]
    # relative to the largest value of each quantity
    assert _rel(infl.summary.cooks_distance, ref["cooks"]) < 1e-6
    assert _rel(infl.dfbetas, ref["dfbetas"]) < 1e-6
    assert _rel(infl.fixef, ref["fixef_deleted"]) < 1e-6
    change = np.asarray(ref["vc_change"])
    for k in range(change.shape[1]):
        assert _rel(infl.varcorr_change.iloc[:, k], change[:, k]) < 1e-5


def test_cutoffs_and_flags():
    infl = sleep_influence()
    assert infl.cutoffs == {"cooks_distance": pytest.approx(4 / 18), "dfbetas": 2 / np.sqrt(18)}
    s = infl.summary
    assert (s.cooks_flag == (s.cooks_distance > 4 / 18)).all()
    assert (s.dfbetas_flag == (infl.dfbetas.abs().max(axis=1) > 2 / np.sqrt(18))).all()
    assert (s.n_obs == 10).all()
    assert "GroupInfluence" in repr(infl)
    # Cook's D from its definition
    b, V = sleep_fit().fixef.to_numpy(), sleep_fit().vcov.to_numpy()
    d = b - infl.fixef.loc["308"].to_numpy()
    assert s.cooks_distance["308"] == pytest.approx(d @ np.linalg.solve(V, d) / 2, rel=1e-12)
    assert infl.dfbetas.loc["308", "days"] == pytest.approx(
        d[1] / infl.std_error.loc["308", "days"]
    )


def test_executor_gives_identical_results():
    fit = mt.lmer("reaction ~ days + (1 | subject)", mt.datasets.load("sleepstudy"))
    serial = mt.lmm.group_influence(fit)
    with ThreadPoolExecutor(2) as pool:
        parallel = mt.lmm.group_influence(fit, executor=pool)
    assert serial.summary.equals(parallel.summary)
    assert serial.varcorr.equals(parallel.varcorr)


def test_bad_input():
    with pytest.raises(ValueError, match="not a grouping factor"):
        mt.lmm.group_influence(sleep_fit(), "days")
    with pytest.raises(TypeError, match="lmer"):
        mt.lmm.group_influence("fit")
    with pytest.raises(ValueError, match="scale"):
        mt.lmm.standardized_ranef(sleep_fit(), scale="sd")
    with pytest.raises(ValueError, match="not a grouping factor"):
        mt.lmm.standardized_ranef(sleep_fit(), "x")


def test_standardized_ranef_three_scales():
    fit = sleep_fit()
    z = mt.lmm.standardized_ranef(fit, scale="condvar")
    one = z[(z.effect == "days") & (z.level == "308")].iloc[0]
    condvar = fit.ranef_condvar["subject"].loc["308", "days"]
    assert one["mode"] == pytest.approx(fit.ranef["subject"].loc["308", "days"])
    assert one.sd == pytest.approx(np.sqrt(condvar))
    assert one.standardized == pytest.approx(one["mode"] / one.sd)
    t = mt.lmm.standardized_ranef(fit, scale="tau")
    tau_days = fit.varcorr.vcov[1]
    assert np.allclose(t[t.effect == "days"].sd, np.sqrt(tau_days))
    m = mt.lmm.standardized_ranef(fit)  # default: the sampling SD sqrt(tau - condvar)
    mine = m[(m.effect == "days") & (m.level == "308")].iloc[0]
    assert mine.sd == pytest.approx(np.sqrt(tau_days - condvar))
    # shrinkage: scaled by tau the modes spread less than 1, by their conditional SD more,
    # by their sampling SD about 1
    sd_of = {k: d[d.effect == "days"].standardized.std() for k, d in [("t", t), ("z", z), ("m", m)]}
    assert sd_of["t"] < 1 < sd_of["z"]
    assert sd_of["m"] == pytest.approx(1, abs=0.1)
    q = z[z.effect == "Intercept"].normal_quantile.to_numpy()
    assert q == pytest.approx(stats.norm.ppf((np.arange(1, 19) - 0.375) / 18.25))
    assert z[z.effect == "Intercept"].standardized.is_monotonic_increasing
