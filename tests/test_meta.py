"""mt.meta.escalc, rma (all estimators, z and Knapp-Hartung, meta-regression) against metafor.

References: tests/reference/meta_reference.R -> meta_reference.json (metafor 3.8-1).
Tolerances: 1e-8 for effect sizes, 1e-6 for closed-form estimators (FE, DL, HE, SJ), 1e-5 for
iterative ones (REML, ML, PM, EB) -- relative to max(1, |value|).
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

REF = json.loads((Path(__file__).parent / "reference" / "meta_reference.json").read_text())
CLOSED = ("FE", "DL", "HE", "SJ")


def close(actual, expected, tol):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


def frame(name):
    return pd.DataFrame(REF[name]["data"])


# ---- escalc ------------------------------------------------------------------------------------
ESCALC_CASES = (
    [
        ("bcg", m, dict(ai="tpos", bi="tneg", ci="cpos", di="cneg"))
        for m in ("RR", "OR", "RD", "PETO")
    ]
    + [
        (name, m, dict(ai="ai", bi="bi", ci="ci", di="di"))
        for name in ("nielweise", "both_zero")
        for m in ("OR", "RR", "RD", "PETO")
    ]
    + [
        ("normand", m, {c: c for c in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")})
        for m in ("SMD", "MD")
    ]
    + [("molloy", m, dict(ri="ri", ni="ni")) for m in ("ZCOR", "COR")]
)


@pytest.mark.parametrize(("name", "measure", "columns"), ESCALC_CASES)
def test_escalc_matches_metafor(name, measure, columns):
    data = frame(name)
    es = mt.meta.escalc(measure, **{arg: data[col] for arg, col in columns.items()})
    ref = REF[name]["escalc"][measure]
    close(es.yi, ref["yi"], 1e-8)
    close(es.vi, ref["vi"], 1e-8)


def test_conversions_match_metafor_logistic_and_round_trip():
    norm = frame("normand")
    smd = mt.meta.escalc(
        "SMD", **{c: norm[c] for c in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
    )
    # metafor's "D2ORL" converts Cohen's d (without the small-sample correction)
    d = smd.yi / mt.meta.effects.hedges_correction(norm.n1i + norm.n2i - 2)
    vd = 1 / norm.n1i + 1 / norm.n2i + d**2 / (2 * (norm.n1i + norm.n2i))
    lor, vlor = mt.meta.d_to_log_or(d, vd)
    close(lor, REF["normand"]["escalc"]["D2ORL"]["yi"], 1e-8)
    close(vlor, REF["normand"]["escalc"]["D2ORL"]["vi"], 1e-8)
    bcg = REF["bcg"]["escalc"]
    d, vd = mt.meta.log_or_to_d(bcg["OR"]["yi"], bcg["OR"]["vi"])
    close(d, bcg["OR2DL"]["yi"], 1e-8)
    close(vd, bcg["OR2DL"]["vi"], 1e-8)
    r, vr = np.array([-0.4, 0.1, 0.6]), np.array([0.01, 0.02, 0.005])
    d, vd = mt.meta.r_to_d(r, vr)
    back = mt.meta.d_to_r(d, vd)
    close(back[0], r, 1e-12)
    close(back[1], vr, 1e-12)


# ---- rma ---------------------------------------------------------------------------------------
def rma_cases():
    for name, measure in (("bcg", "RR"), ("normand", "SMD"), ("molloy", "ZCOR")):
        for key in REF[name]["rma"]:
            yield pytest.param(name, measure, "rma", key, id=f"{name}-{key}")
    for block in ("rma_ablat", "rma_ablat_year"):
        for key in REF["bcg"][block]:
            yield pytest.param("bcg", "RR", block, key, id=f"{block}-{key}")


@pytest.mark.parametrize(("name", "measure", "block", "key"), list(rma_cases()))
def test_rma_matches_metafor(name, measure, block, key):
    method, test = key.split("_")
    es = REF[name]["escalc"][measure]
    mods = {"rma": None, "rma_ablat": frame("bcg")[["ablat"]], "rma_ablat_year": "ablat + year"}[
        block
    ]
    res = mt.meta.rma(es["yi"], es["vi"], method=method, test=test, mods=mods, data=frame(name))
    ref = REF[name][block][key]
    tol = 1e-6 if method in CLOSED else 1e-5
    table = res.coef_table()
    close(table.estimate, ref["beta"], tol)
    close(table.std_error, ref["se"], tol)
    close(table.ci_lower, ref["ci_lb"], tol)
    close(table.ci_upper, ref["ci_ub"], tol)
    close(table.p_value, ref["pval"], tol)
    close(res.tau2, ref["tau2"], tol)
    close(
        [res.I2, res.H2, res.Q, res.Q_p, res.QM, res.QM_p],
        [ref[k] for k in ("I2", "H2", "QE", "QEp", "QM", "QMp")],
        tol,
    )
    if "pi_lb" in ref:
        close([res.pi_lower, res.pi_upper], [ref["pi_lb"], ref["pi_ub"]], tol)
    if "tau2_ci" in ref:
        close([res.tau2_ci_lower, res.tau2_ci_upper], ref["tau2_ci"], tol)
    if ref.get("R2") is not None:
        close(res.R2, ref["R2"], tol)
    if method in ("REML", "ML"):
        close([res.loglik, res.se_tau2], [ref["ll"], ref["se_tau2"]], tol)
    assert res.converged


def test_peto_adds_one_half_to_tables_with_zero_cells_as_metafor():
    # metafor's escalc defaults (add = 1/2, to = "only0", drop00 = FALSE): a table without events
    # gets a finite Peto log odds ratio, 0 for arms of equal size, not NaN
    es = mt.meta.escalc("PETO", ai=[0, 0], bi=[20, 20], ci=[0, 0], di=[20, 15])
    assert np.isfinite(es.to_numpy()).all()
    assert es.yi.iloc[0] == 0.0
    close(
        es.to_numpy()[1], [REF["both_zero"]["escalc"]["PETO"][c][-1] for c in ("yi", "vi")], 1e-12
    )


def equal_effects_cases():
    for block in ("rma", "rma_x"):
        for key in REF["equal_effects"][block]:
            yield pytest.param(block, key, id=f"{block}-{key}")


@pytest.mark.parametrize(("block", "key"), list(equal_effects_cases()))
def test_equal_effect_sizes_match_metafor(block, key):
    # all yi equal: tau2 = 0 for every estimator; under Knapp-Hartung the factor s2w is 0, so the
    # SEs are exactly 0 (not 1e-17) and t = +-Inf as in metafor, and the omnibus test is undefined
    method, test = key.split("_")
    data = pd.DataFrame(REF["equal_effects"]["data"])
    ref = REF["equal_effects"][block][key]
    mods = "~ x" if block == "rma_x" else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = mt.meta.rma("yi", "vi", method=method, test=test, mods=mods, data=data)
    exact = [w for w in caught if "Knapp-Hartung factor is 0" in str(w.message)]
    assert len(exact) == (test == "knha")
    table = res.coef_table()
    close(table.estimate, ref["beta"], 1e-10)
    close(table.std_error, ref["se"], 1e-10)
    close([res.tau2, res.I2, res.H2, res.Q], [ref[k] for k in ("tau2", "I2", "H2", "QE")], 1e-10)
    close(table.ci_lower, ref["ci_lb"], 1e-10)
    close(table.ci_upper, ref["ci_ub"], 1e-10)
    statistic = np.atleast_1d(np.array(ref["zval_text"], dtype=float))
    if test == "z":
        close(table.statistic, statistic, 1e-8)
        close(table.p_value, ref["pval"], 1e-8)
        return
    assert (table.std_error == 0).all() and res.s2w == 0 == ref["s2w"]
    # the intercept: +Inf, p = 0 as metafor; the slope is 0 up to rounding (metafor's -Inf is the
    # sign of a rounding error): NaN here
    assert table.statistic.iloc[0] == statistic[0] == np.inf
    assert table.p_value.iloc[0] == 0.0
    if block == "rma_x":
        assert np.isnan(table.statistic.iloc[1]) and np.isnan(table.p_value.iloc[1])
        assert np.isnan(res.QM) and ref["QM"] is None
        assert "not defined" in repr(res) and "-0.0" not in repr(res)


def test_equal_effect_sizes_in_a_batch_and_leave_one_out():
    y, v = np.full((3, 5), 0.3), np.tile([0.01, 0.02, 0.03, 0.04, 0.05], (3, 1))
    with pytest.warns(UserWarning, match="in 3 of 3 replications"):
        batch = mt.meta.rma(y, v, method="REML", test="knha")
    assert (batch.se == 0).all() and (batch.p_value == 0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero
        fe = mt.meta.rma(y, v, method="FE")
        mt.meta.rma(y, v, method="PM")
    assert (fe.I2 == 0).all()
    with pytest.warns(UserWarning, match="Knapp-Hartung factor is 0"):
        fit = mt.meta.rma(y[0], v[0], test="knha")
    loo = mt.meta.leave_one_out(fit)  # metafor's leave1out: se 0, t = Inf
    assert (loo.se == 0).all() and np.isinf(loo.statistic).all()


def test_infinite_moderators_are_named_not_called_collinear():
    with np.errstate(divide="ignore"):
        bcg = frame("bcg").assign(z=lambda d: np.log(d.ablat - d.ablat.min()))
    es = REF["bcg"]["escalc"]["RR"]
    for mods in (bcg[["z"]], "z"):
        with pytest.raises(ValueError, match="'z' of the (moderators|model design) has infinite"):
            mt.meta.rma(es["yi"], es["vi"], mods=mods, data=bcg)


def test_column_names_where_values_are_expected_get_a_hint():
    bcg = frame("bcg")
    with pytest.raises(ValueError, match=r"mods=\['ablat'\] looks like column names.*'~ ablat'"):
        mt.meta.rma(bcg.tpos / 100 + 0.1, np.full(len(bcg), 0.1), mods=["ablat"], data=bcg)
    with pytest.raises(TypeError, match=r"not column names \(ai='tpos'.*ai=data\['tpos'\]"):
        mt.meta.escalc("OR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
    res = mt.meta.rma(*REF["bcg"]["escalc"]["RR"].values())
    with pytest.raises(TypeError, match="labels='author' is one string"):
        mt.plots.forest(res, labels="author")


def test_shared_reference_note_values():
    bcg = mt.datasets.load("bcg")
    es = mt.meta.escalc("RR", ai=bcg.tpos, bi=bcg.tneg, ci=bcg.cpos, di=bcg.cneg)
    res = mt.meta.rma(es.yi, es.vi, method="REML", test="knha")
    assert res.se == pytest.approx(0.1807917, abs=1e-7)
    assert res.p_value == pytest.approx(0.0019200, abs=1e-7)
    reg = mt.meta.rma("yi", "vi", mods="ablat", data=es.assign(ablat=bcg.ablat))
    # the note's meta-regression values come from metafor's default convergence threshold (1e-5);
    # with a tight threshold metafor agrees with us to 1e-6 (test_rma_matches_metafor)
    assert reg.QM == pytest.approx(16.3571256, abs=2e-3)
    assert reg.R2 == pytest.approx(75.6244784, abs=1e-2)
    assert reg.beta.iloc[1] == pytest.approx(-0.0291017, abs=1e-5)


def test_q_based_i2_equals_metafor_dl_value():
    es = REF["bcg"]["escalc"]["RR"]
    reml = mt.meta.rma(es["yi"], es["vi"], method="REML")
    assert reml.I2_Q == pytest.approx(REF["bcg"]["rma"]["DL_z"]["I2"], abs=1e-8)
    assert reml.H2_Q == pytest.approx(REF["bcg"]["rma"]["DL_z"]["H2"], abs=1e-8)
    assert reml.I2 != pytest.approx(reml.I2_Q, abs=0.01)


# ---- batch -------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", mt.meta.rma.__globals__["METHODS"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_batch_rows_equal_single_fits(method, test):
    rng = np.random.default_rng(20261127)
    vi = rng.uniform(0.005, 0.2, size=(25, 12))
    yi = rng.normal(0.2, np.sqrt(vi + rng.choice([0.0, 0.04], size=(25, 1))))
    batch = mt.meta.rma(yi, vi, method=method, test=test)
    assert batch.converged.all()
    for i in range(len(batch)):
        single = mt.meta.rma(yi[i], vi[i], method=method, test=test)
        got = batch.iloc[i]
        close(
            [got.estimate, got.se, got.ci_lower, got.tau2, got.I2 / 100, got.pi_upper, got.p_value],
            [
                single.estimate,
                single.se,
                single.ci_lower,
                single.tau2,
                single.I2 / 100,
                single.pi_upper,
                single.p_value,
            ],
            1e-7,
        )


# ---- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("yi", "vi", "message"),
    [
        ([0.1], [0.01], "at least 2 studies"),
        ([0.1, 0.2], [0.01, 0.0], "positive"),
        ([0.1, 0.2], [0.01, -1], "positive"),
        ([0.1, 0.2], [0.01, np.nan], "missing"),
        ([0.1, np.nan], [0.01, 0.02], "missing"),
        ([0.1, 0.2, 0.3], [0.01, 0.02], "different shapes"),
    ],
)
def test_rma_bad_input(yi, vi, message):
    with pytest.raises(ValueError, match=message):
        mt.meta.rma(yi, vi)


def test_rma_bad_options_and_mods():
    with pytest.raises(ValueError, match="unknown method"):
        mt.meta.rma([0.1, 0.2], [0.01, 0.02], method="BAYES")
    with pytest.raises(ValueError, match="unknown test"):
        mt.meta.rma([0.1, 0.2], [0.01, 0.02], test="t")
    with pytest.raises(ValueError, match="need k > p"):
        mt.meta.rma([0.1, 0.2], [0.01, 0.02], mods=pd.DataFrame({"x": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="collinear"):
        mt.meta.rma(
            [0.1, 0.2, 0.3, 0.1],
            [0.01] * 4,
            mods=pd.DataFrame({"x": [1.0, 2, 3, 4], "z": [2.0, 4, 6, 8]}),
        )
    with pytest.raises(ValueError, match="rows"):
        mt.meta.rma([0.1, 0.2, 0.3], [0.01] * 3, mods=pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}))


@pytest.mark.parametrize(
    ("measure", "kwargs", "message"),
    [
        ("XYZ", {}, "unknown measure"),
        ("OR", dict(ai=[1], bi=[2], ci=[3]), "missing: di"),
        ("OR", dict(ai=[1, 2], bi=[2], ci=[3], di=[4]), "different lengths"),
        ("OR", dict(ai=[0], bi=[0], ci=[3], di=[4]), "no participants"),
        ("OR", dict(ai=[-1], bi=[2], ci=[3], di=[4]), "negative"),
        ("ZCOR", dict(ri=[0.3], ni=[3]), "ni > 3"),
        ("COR", dict(ri=[1.3], ni=[30]), r"\[-1, 1\]"),
        ("SMD", dict(m1i=[1], sd1i=[1], n1i=[1], m2i=[0], sd2i=[1], n2i=[5]), "at least 2"),
        (
            "SMD",
            dict(m1i=[1], sd1i=[1], n1i=[np.nan], m2i=[0], sd2i=[1], n2i=[5]),
            "missing values",
        ),
    ],
)
def test_escalc_bad_input(measure, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        mt.meta.escalc(measure, **kwargs)


def test_reml_converges_where_plain_fisher_scoring_oscillates():
    # A replication from a simulation in which plain Fisher scoring oscillated around the root
    # (steps of alternating sign, shrinking by about 1% per iteration).
    yi = [
        0.3261830587438351,
        0.43930887031107774,
        0.363750239965175,
        0.5058636211513987,
        0.09334903374390352,
        0.3365542483839762,
        0.06476138176166837,
        0.43791430411629334,
        0.45014291058459527,
        0.6678573833451198,
    ]
    vi = [
        0.05405405405405406,
        0.07017543859649122,
        0.0975609756097561,
        0.04597701149425287,
        0.09523809523809523,
        0.14285714285714285,
        0.02127659574468085,
        0.02702702702702703,
        0.044444444444444446,
        0.16,
    ]
    single = mt.meta.rma(yi, vi, method="REML")
    batch = mt.meta.rma(np.array([yi, yi]), np.array([vi, vi]), method="REML")
    assert single.converged and batch.converged.all()
    # the REML score vanishes at the estimate
    w = 1 / (np.array(vi) + single.tau2)
    r = np.array(yi) - np.sum(w * yi) / w.sum()
    score = np.sum(w**2 * r**2) - (w.sum() - np.sum(w**2) / w.sum())
    assert abs(score) < 1e-6
    assert batch.tau2.iloc[0] == pytest.approx(single.tau2, abs=1e-9)


def test_careless_inputs_get_clear_errors():
    bcg = mt.datasets.load("bcg")
    es = mt.meta.escalc("RR", ai=bcg.tpos, bi=bcg.tneg, ci=bcg.cpos, di=bcg.cneg).assign(
        alloc=bcg.alloc
    )
    with pytest.raises(ValueError, match="pass the table as data="):
        mt.meta.rma("yi", "vi")
    with pytest.raises(ValueError, match="not a column of data"):
        mt.meta.rma("y", "vi", data=es)
    with pytest.raises(ValueError, match="cannot build the moderators"):
        mt.meta.rma("yi", "vi", mods="lat", data=es)
    with pytest.raises(ValueError, match=r"not numeric.*C\(alloc\)"):
        mt.meta.rma(es.yi, es.vi, mods=es[["alloc"]])
    # a factor through a formula works, with the formula engine's term names
    fit = mt.meta.rma("yi", "vi", mods="C(alloc)", data=es)
    assert list(fit.beta.index) == ["Intercept", "C(alloc)[T.random]", "C(alloc)[T.systematic]"]
    # lower-case method names are accepted
    assert mt.meta.rma(es.yi, es.vi, method="reml").tau2 == pytest.approx(0.3132433, abs=1e-6)


def test_non_convergence_is_reported_not_silent(monkeypatch):
    import mixedtools.meta.batch
    import mixedtools.meta.univariate

    es = REF["bcg"]["escalc"]["RR"]
    monkeypatch.setattr(mixedtools.meta.univariate, "_MAXITER", 1)
    with pytest.warns(mt.meta.ConvergenceWarning, match="did not converge"):
        res = mt.meta.rma(es["yi"], es["vi"], method="REML")
    assert not res.converged
    monkeypatch.setattr(mixedtools.meta.batch, "_MAXITER", 1)
    yi = np.tile(es["yi"], (3, 1))
    vi = np.tile(es["vi"], (3, 1))
    with pytest.warns(mt.meta.ConvergenceWarning, match="3 of 3"):
        batch = mt.meta.rma(yi, vi, method="ML")
    assert not batch.converged.any()
