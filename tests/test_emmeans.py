"""mt.emmeans and its pairwise contrasts against R's emmeans (Satterthwaite and Kenward-Roger).

Reference: tests/reference/emmeans_reference.json, written by emmeans_reference.R (lme4 REML fits,
``emmeans(fit, specs, by, lmer.df = ...)`` and ``pairs(..., adjust = "none" | "holm" | "tukey")``).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import mixedtools as mt

HERE = Path(__file__).parent / "reference"
REFERENCE = json.loads((HERE / "emmeans_reference.json").read_text())["designs"]


def _data(name):
    if name in ("obk", "obk_age"):
        return mt.datasets.load("obrien_kaiser")
    if name == "machines":
        return mt.datasets.load("machines")
    return pd.read_csv(
        HERE / "emmeans_cake.csv", dtype={"replicate": str, "temperature": str, "recipe": str}
    )


_FITS = {}

pytestmark = pytest.mark.filterwarnings("ignore:the column .temperature. holds numbers")


def _fit(name):
    if name not in _FITS:
        _FITS[name] = mt.lmer(REFERENCE[name]["formula"], _data(name))
    return _FITS[name]


def _as_list(x):
    return [x] if isinstance(x, str) else list(x)


CASES = [(name, i) for name, design in REFERENCE.items() for i in range(len(design["runs"]))]


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0))


@pytest.mark.parametrize(("name", "run"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_emmeans_match_r(name, run):
    ref = REFERENCE[name]["runs"][run]
    specs, by = _as_list(ref["specs"]), _as_list(ref["by"])
    emm = mt.emmeans(_fit(name), specs, by=by or None, ddf=ref["ddf"])
    r = pd.DataFrame(ref["emmeans"])
    keys = specs + by
    mine = emm.table.astype({k: str for k in keys})
    merged = r.merge(mine, on=keys, how="inner")
    assert len(merged) == len(r) == len(mine)
    assert (
        _rel(merged["emmean_y"] if "emmean_y" in merged else merged["emmean"], r["emmean"]) < 1e-6
    )
    assert _rel(merged["std_error"], merged["SE"]) < 1e-6
    assert _rel(merged["df_x"], merged["df_y"]) < 1e-4
    assert _rel(merged["ci_lower"], merged["lower.CL"]) < 1e-5
    for adjust, rp in ref["pairs"].items():
        rp = pd.DataFrame(rp)
        for key in specs:  # emmeans writes numeric-looking levels as "temperature175"
            rp["contrast"] = rp["contrast"].str.replace(rf"\b{key}(?=\d)", "", regex=True)
        mp = emm.pairs(adjust=adjust).astype({k: str for k in by})
        m = rp.merge(mp, on=["contrast", *by], how="inner")
        assert len(m) == len(rp) == len(mp), adjust
        assert _rel(m["estimate_x"], m["estimate_y"]) < 1e-6
        assert _rel(m["std_error"], m["SE"]) < 1e-6
        assert _rel(m["df_x"], m["df_y"]) < 1e-4
        assert _rel(m["ci_lower"], m["lower.CL"]) < 1e-4
        assert np.allclose(m["p_value"], m["p.value"], rtol=1e-3, atol=1e-6), adjust


def test_ols_matches_closed_form_cell_means():
    # balanced two-way OLS: the EMM of a level is its marginal mean, df the residual df
    d = mt.datasets.load("obrien_kaiser")
    d = (
        d[d["phase"] == "pre"]
        .groupby(["id", "treatment", "gender"], as_index=False)["value"]
        .mean()
    )
    res = smf.ols("value ~ treatment * gender", d).fit()
    emm = mt.emmeans(res, "gender", ddf="residual")
    cells = d.groupby(["treatment", "gender"])["value"].mean().unstack()
    assert np.allclose(emm.table["emmean"], cells.mean(axis=0).to_numpy())
    assert np.all(emm.table["df"] == res.df_resid)
    pr = emm.pairs(adjust="none")
    assert np.isclose(pr["estimate"].iloc[0], cells.mean().iloc[0] - cells.mean().iloc[1])


def test_covariate_at_and_contrasts_argument():
    fit = _fit("obk_age")
    base = mt.emmeans(fit, "treatment")
    moved = mt.emmeans(fit, "treatment", at={"age": 1.0})
    slope = fit.fixef["age"]
    assert np.allclose(moved.table["emmean"] - base.table["emmean"], slope)
    emm = mt.emmeans(fit, "treatment", contrasts="pairwise", adjust="holm")
    assert list(emm.contrasts["contrast"]) == ["A - B", "A - control", "B - control"]
    assert emm.L.shape == (3, len(fit.fixef))
    assert "Pairwise contrasts" in repr(emm)


def test_at_restricts_factor_levels():
    fit = _fit("machines")
    full = mt.emmeans(fit, "machine").pairs(adjust="none").set_index("contrast")
    sub = mt.emmeans(fit, "machine", at={"machine": ["C", "A"]}).pairs(adjust="none")
    assert list(sub["contrast"]) == ["A - C"]
    assert np.isclose(sub["estimate"].iloc[0], full.loc["A - C", "estimate"])


def test_bad_input_is_named():
    fit = _fit("machines")
    with pytest.raises(ValueError, match="'worker' is not a factor"):
        mt.emmeans(fit, "worker")
    with pytest.raises(ValueError, match="unknown adjustment"):
        mt.emmeans(fit, "machine").pairs(adjust="scheffe")
    with pytest.raises(ValueError, match="not levels of 'machine'"):
        mt.emmeans(fit, "machine", at={"machine": ["Z"]})
    with pytest.raises(TypeError, match="mt.lmer fit"):
        mt.emmeans(object(), "machine")
