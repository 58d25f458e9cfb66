"""mt.meta.mantel_haenszel and peto against metafor's rma.mh / rma.peto (BCG; Nielweise 2007 with
zero cells and one table without events)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

REF = json.loads((Path(__file__).parent / "reference" / "meta_reference.json").read_text())
COLUMNS = {"bcg": ["tpos", "tneg", "cpos", "cneg"], "nielweise": ["ai", "bi", "ci", "di"]}


@pytest.mark.parametrize("name", ["bcg", "nielweise"])
@pytest.mark.parametrize("measure", ["OR", "RR", "RD", "PETO"])
def test_matches_metafor(name, measure):
    data = pd.DataFrame(REF[name]["data"])
    tables = [data[c] for c in COLUMNS[name]]
    if measure == "PETO":
        res = mt.meta.peto(*tables)
    else:
        res = mt.meta.mantel_haenszel(*tables, measure=measure)
    ref = REF[name]["mh"][measure]
    got = [res.estimate, res.se, res.ci_lower, res.ci_upper, res.z, res.p_value, res.Q, res.Q_p]
    want = [ref[k] for k in ("beta", "se", "ci_lb", "ci_ub", "zval", "pval", "QE", "QEp")]
    np.testing.assert_allclose(np.array(got, dtype=float), want, rtol=1e-8, atol=1e-10)
    if measure == "OR":
        np.testing.assert_allclose(
            [res.cmh, res.cmh_p, res.mh_test, res.mh_test_p],
            [ref["CMH"], ref["CMHp"], ref["MH"], ref["MHp"]],
            rtol=1e-8,
            atol=1e-12,
        )


def test_reference_note_values():
    bcg = mt.datasets.load("bcg")
    mh = mt.meta.mantel_haenszel(bcg.tpos, bcg.tneg, bcg.cpos, bcg.cneg, measure="OR")
    assert mh.estimate == pytest.approx(-0.4734110, abs=1e-7)
    assert mh.Q == pytest.approx(163.9425796, abs=1e-6)


def test_bad_tables():
    with pytest.raises(ValueError, match="different lengths"):
        mt.meta.mantel_haenszel([1, 2], [3], [4, 5], [6, 7])
    with pytest.raises(ValueError, match="no participants"):
        mt.meta.mantel_haenszel([0, 2], [0, 3], [4, 5], [6, 7])
    with pytest.raises(ValueError, match="unknown measure"):
        mt.meta.mantel_haenszel([1, 2], [3, 4], [4, 5], [6, 7], measure="HR")
    with pytest.raises(ValueError, match="at least 2"):
        mt.meta.mantel_haenszel([1], [3], [4], [6])
    with pytest.raises(ValueError, match="0 or infinite"):
        mt.meta.mantel_haenszel([0, 0], [10, 10], [0, 0], [10, 12])
    with pytest.raises(ValueError, match="undefined"):
        mt.meta.peto([0, 0], [10, 10], [0, 0], [10, 12])
