"""mt.meta.rma_mv against metafor's rma.mv(yi, vi, random = ~ 1 | district/school) on
Konstantopoulos (2011): 56 effect sizes in 11 districts. Tolerance 1e-4 (as the issue states)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

REF = json.loads((Path(__file__).parent / "reference" / "meta_reference.json").read_text())
KON = pd.DataFrame(REF["konstantopoulos"]["data"])


@pytest.mark.parametrize(
    ("case", "method", "mods"),
    [("reml", "REML", None), ("ml", "ML", None), ("reml_year", "REML", "year")],
)
def test_matches_metafor(case, method, mods):
    fit = mt.meta.rma_mv(
        "yi", "vi", random=KON[["district", "school"]], mods=mods, method=method, data=KON
    )
    ref = REF["konstantopoulos"][case]
    table = fit.coef_table()
    for got, key in [
        (table.estimate, "beta"),
        (table.std_error, "se"),
        (table.ci_lower, "ci_lb"),
        (table.p_value, "pval"),
        (fit.sigma2, "sigma2"),
        (fit.loglik, "ll"),
        (fit.Q, "QE"),
        (fit.QM, "QM"),
    ]:
        np.testing.assert_allclose(
            np.asarray(got, dtype=float), ref[key], rtol=1e-4, atol=1e-4, err_msg=key
        )
    assert fit.converged
    assert list(fit.sigma2.index) == ["district", "district/school"]
    assert fit.n_clusters.tolist() == [11, 56]


def test_two_level_special_case_equals_rma():
    es = REF["bcg"]["escalc"]["RR"]
    k = len(es["yi"])
    fit = mt.meta.rma_mv(es["yi"], es["vi"], random=pd.DataFrame({"trial": range(k)}))
    uni = mt.meta.rma(es["yi"], es["vi"], method="REML")
    assert fit.estimate == pytest.approx(uni.estimate, abs=1e-6)
    assert fit.sigma2.iloc[0] == pytest.approx(uni.tau2, abs=1e-6)
    assert fit.loglik == pytest.approx(uni.loglik, abs=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="rows"):
        mt.meta.rma_mv([0.1, 0.2, 0.3], [0.01] * 3, random=pd.DataFrame({"s": [1, 2]}))
    with pytest.raises(ValueError, match="single cluster"):
        mt.meta.rma_mv([0.1, 0.2, 0.3], [0.01] * 3, random=pd.DataFrame({"s": [1, 1, 1]}))
    with pytest.raises(ValueError, match="DataFrame"):
        mt.meta.rma_mv([0.1, 0.2, 0.3], [0.01] * 3, random=[1, 2, 3])
    with pytest.raises(ValueError, match="REML"):
        mt.meta.rma_mv(
            [0.1, 0.2, 0.3], [0.01] * 3, random=pd.DataFrame({"s": [1, 2, 3]}), method="DL"
        )
