"""lmer's optimum near the boundary is never below lme4's, and badly scaled predictors warn.

The data sets (tests/reference/boundary_cases.csv) are those of benchmarks/boundary_study.py on
which mt.lmer once stopped below lme4's optimum; lme4's log-likelihood and theta are in
boundary_cases.json (tests/reference/boundary_cases.R).
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt
from mixedtools.lmm.fit import check_scale_x
from mixedtools.lmm.optimize import bounded_refit, face_starts, maximize, neutral_start

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "boundary_cases.json").read_text())
DATA = pd.read_csv(REF_DIR / "boundary_cases.csv", dtype={"g": str})
CASES = sorted(REF["cases"])


def _fit(frame, formula=REF["formula"]):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = mt.lmer(formula, frame, reml=REF["reml"])
    return fit, [str(w.message) for w in caught]


@pytest.mark.parametrize("case", CASES)
def test_the_optimum_is_at_least_lme4s(case):
    frame = DATA[DATA["case"] == case].drop(columns="case")
    fit, messages = _fit(frame)
    ref = REF["cases"][case]
    assert fit.loglik >= ref["loglik"] - 1e-6
    assert fit.converged
    assert not any("did not converge" in m for m in messages)
    if "loglik_rescaled" in ref:
        # x times 10^6: the exact optimum is that of x itself, shifted by log(10^6)
        assert fit.loglik == pytest.approx(ref["loglik_rescaled"], abs=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_the_scale_warning_is_lme4s(case):
    frame = DATA[DATA["case"] == case].drop(columns="case")
    _, messages = _fit(frame)
    warned = [m for m in messages if "very different scales" in m]
    assert bool(warned) == REF["cases"][case]["scale_warning"]
    if warned:
        assert "consider rescaling" in warned[0] and "scale(x)" in warned[0]


def test_a_scaled_predictor_gives_the_unscaled_fit():
    case = next(c for c in CASES if c.startswith("scaled"))
    frame = DATA[DATA["case"] == case].drop(columns="case")
    scaled, _ = _fit(frame)
    unit = frame.assign(x=frame["x"] / 1e6)
    plain, messages = _fit(unit)
    assert not any("very different scales" in m for m in messages)
    assert scaled.loglik == pytest.approx(plain.loglik - np.log(1e6), abs=1e-6)
    assert scaled.fixef["x"] * 1e6 == pytest.approx(plain.fixef["x"], rel=1e-5)
    vc_scaled = scaled.varcorr.set_index(["var1", "var2"])
    vc_plain = plain.varcorr.set_index(["var1", "var2"])
    assert vc_scaled.loc[("x", ""), "vcov"] * 1e12 == pytest.approx(
        vc_plain.loc[("x", ""), "vcov"], rel=1e-4
    )
    assert vc_scaled.loc[("Intercept", "x"), "sdcor"] == pytest.approx(
        vc_plain.loc[("Intercept", "x"), "sdcor"], abs=1e-6
    )


def test_ordinary_data_do_not_warn_about_scales():
    sleep = mt.datasets.load("sleepstudy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mt.lmer("reaction ~ days + (days | subject)", sleep)
        # factors (0/1 columns) and the intercept are not compared, as in lme4
        mt.lmer("score ~ machine + (1 | worker)", mt.datasets.load("machines"))


@pytest.mark.parametrize(
    ("sds", "warns"),
    [((1.0, 999.0), False), ((1.0, 1001.0), True), ((0.002, 1.0), False), ((5e-4, 0.4), True)],
)
def test_the_scale_rule_is_lme4s_threshold(sds, warns):
    # lme4's checkScaleX: an SD above 1000 or below 1/1000, or two SDs more than 1000 apart
    rng = np.random.default_rng(7)
    z = rng.normal(size=(50, 2))
    z = (z - z.mean(0)) / z.std(0, ddof=1)
    X = np.column_stack([np.ones(50), z * np.array(sds)])
    assert (check_scale_x(X, ["Intercept", "a", "b"]) is not None) is warns


def test_face_starts_cover_the_other_faces():
    frame = DATA[DATA["case"] == CASES[0]].drop(columns="case")
    fit, _ = _fit(frame)
    structure = fit.structure
    # the intercept variance at 0 with a free slope: starts with correlation +0.9 and -0.9
    starts = face_starts(structure, np.array([0.0, 0.0, 0.7]))
    assert len(starts) == 2
    corr = [s[1] / np.hypot(s[1], s[2]) for s in starts]
    assert corr == pytest.approx([0.9, -0.9])
    assert face_starts(structure, np.array([0.5, 0.2, 0.7])) == []


def _crossed(seed, scale):
    rng = np.random.default_rng(seed)
    s, i = np.repeat(np.arange(20), 8), np.tile(np.arange(8), 20)
    x = rng.normal(size=160)
    y = 1 + 0.5 * x + rng.normal(size=20)[s] + 0.5 * x * rng.normal(size=20)[s]
    y = y + rng.normal(size=8)[i] + rng.normal(size=160)
    return pd.DataFrame({"y": y, "x": x * scale, "s": s.astype(str), "i": i.astype(str)})


@pytest.mark.parametrize("formula", ["y ~ x + (x | s)", "y ~ x + (x | s) + (1 | i)"])
def test_unit_effects_give_the_same_likelihood(formula):
    # both engines: the model with unit-scale columns, its tau mapped back, same likelihood
    fit, _ = _fit(_crossed(5, 1e-4), formula)
    structure = fit.structure
    unit, factor = structure.with_unit_effects(), structure.unit_effect_factor()
    assert np.max(np.abs(np.log(factor))) > np.log(1e6)
    tau_unit = fit.tau / factor
    for reml in (True, False):
        assert structure.log_likelihood(fit.tau, reml) == pytest.approx(
            unit.log_likelihood(tau_unit, reml), abs=1e-8
        )


@pytest.mark.parametrize("scale", [1e-5, 1e6])
def test_a_badly_scaled_crossed_fit_reaches_the_unscaled_optimum(scale):
    plain, _ = _fit(_crossed(11, 1.0), "y ~ x + (x | s) + (1 | i)")
    scaled, messages = _fit(_crossed(11, scale), "y ~ x + (x | s) + (1 | i)")
    assert any("very different scales" in m for m in messages)
    # REML: multiplying a column of X by c lowers the log-likelihood by log(c)
    assert scaled.loglik == pytest.approx(plain.loglik - np.log(scale), abs=1e-6)
    assert scaled.fixef["x"] * scale == pytest.approx(plain.fixef["x"], rel=1e-6)


def test_refits_from_lme4s_start_reach_the_optimum_of_a_badly_scaled_model():
    # the bootstrap's and the simulations' path (bounded_refit, then maximize)
    case = "scaled_16028"  # mt.lmer once stopped 11.4 below lme4's optimum here
    fit, _ = _fit(DATA[DATA["case"] == case].drop(columns="case"))
    structure = fit.structure
    tau = bounded_refit(structure, neutral_start(structure), reml=True, try_neutral_start=False)
    tau = maximize(structure, tau, reml=True)
    refit = structure.log_likelihood(tau, True)
    assert refit == pytest.approx(REF["cases"][case]["loglik_rescaled"], abs=1e-6)
    assert refit == pytest.approx(fit.loglik, abs=1e-6)
