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


def _fit(name):
    if name not in _FITS:
        _FITS[name] = mt.lmer(REFERENCE[name]["formula"], _data(name))
    return _FITS[name]


def _as_list(x):
    return [x] if isinstance(x, str) else list(x)


CASES = [
    (name, i) for name, design in REFERENCE.items() for i in range(len(design["runs"]))
]


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
    assert _rel(merged["emmean_y"] if "emmean_y" in merged else merged["emmean"], r["emmean"]) < 1e-6
    assert _rel(merged["std_error"], merged["SE"]) < 1e-6
    assert _rel(merged["df_x"], merged["df_y"]) < 1e-4
    assert _rel(merged["ci_lower"], merged["lower.CL"]) < 1e-5
    for adjust, rp in ref["pairs"].items():
        rp = pd.DataFrame(rp)
        mp = emm.pairs(adjust=adjust).astype({k: str for k in by})
        m = rp.merge(mp, on=["contrast", *by], how="inner")
        assert len(m) == len(rp) == len(mp), adjust
        assert _rel(m["estimate_x"], m["estimate_y"]) < 1e-6
        assert _rel(m["std_error"], m["SE"]) < 1e-6
        assert _rel(m["df_x"], m["df_y"]) < 1e-4
        assert _rel(m["ci_lower"], m["lower.CL"]) < 1e-4
        assert np.allclose(m["p_value"], m["p.value"], rtol=1e-3, atol=1e-6), adjust
