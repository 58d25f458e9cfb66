"""Open analyses of real data in the exercises of chapters 1-3 and 3b, against lme4 / lmerTest.

Reference: tests/reference/exercises_open_analyses.R (writes exercises_open_analyses.json).
"""

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import mixedtools as mt

REFERENCE = Path(__file__).parent / "reference" / "exercises_open_analyses.json"


@cache
def reference():
    return json.loads(REFERENCE.read_text())


def r_varcorr(block):
    return {
        (g, "" if v == "(Intercept)" else v): x for g, v, x in zip(*block.values(), strict=True)
    }


def test_penicillin_crossed_components_reml_equals_moments():
    """Ch. 1: balanced crossed design, REML = ANOVA moment estimators; plates > residual."""
    from statsmodels.stats.anova import anova_lm

    ref = reference()["penicillin"]
    penicillin = mt.datasets.load("penicillin")
    fit = mt.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", penicillin)
    reml = fit.varcorr.set_index("group")["vcov"]
    r_vc = dict(zip(ref["varcorr"]["grp"], ref["varcorr"]["vcov"], strict=True))
    for group in ("plate", "sample", "Residual"):
        assert reml[group] == pytest.approx(r_vc[group], rel=1e-4)
    ms = anova_lm(smf.ols("diameter ~ C(plate) + C(sample)", penicillin).fit())["mean_sq"]
    np.testing.assert_allclose(ms.to_numpy(), ref["mean_sq"], rtol=1e-10)
    moments = {
        "plate": (ms["C(plate)"] - ms["Residual"]) / 6,
        "sample": (ms["C(sample)"] - ms["Residual"]) / 24,
        "Residual": ms["Residual"],
    }
    for group, value in moments.items():
        assert reml[group] == pytest.approx(value, rel=1e-4)
    assert reml["sample"] > reml["plate"] > 2 * reml["Residual"]


def test_machines_variance_components_and_ten_df_machine_test():
    """Ch. 3b: the machine effect is tested on (6 - 1)(3 - 1) = 10 df, against the interaction."""
    ref = reference()["machines"]
    fit = mt.lmer(
        "score ~ machine + (1 | worker) + (1 | worker:machine)", mt.datasets.load("machines")
    )
    vc = fit.varcorr
    ours = {
        (g, "" if v in ("Intercept", "") else v): x
        for g, v, x in zip(vc["group"], vc["var1"].fillna(""), vc["vcov"], strict=True)
    }
    for key, value in r_varcorr(ref["varcorr"]).items():
        assert ours[key] == pytest.approx(value, rel=1e-4)
    test = fit.anova(ddf="satterthwaite").loc["machine"]
    assert test["den_df"] == pytest.approx(10, abs=1e-3)
    assert test["den_df"] == pytest.approx(ref["den_df"], abs=1e-3)
    assert test["F"] == pytest.approx(ref["F"], rel=1e-5)
    assert test["p_value"] == pytest.approx(ref["p_value"], rel=1e-3)


def test_sleepstudy_slope_unbiased_but_ols_se_too_small():
    """Ch. 2: a balanced level-1 predictor keeps its slope; only its SE is wrong under OLS."""
    ref = reference()["sleepstudy"]
    sleep = mt.datasets.load("sleepstudy")
    ols = smf.ols("reaction ~ days", sleep).fit()
    clustered = smf.ols("reaction ~ days", sleep).fit(
        cov_type="cluster", cov_kwds={"groups": sleep["subject"]}
    )
    mixed = mt.lmer("reaction ~ days + (days | subject)", sleep).coef_table().loc["days"]
    assert ols.params["days"] == pytest.approx(ref["slope"], rel=1e-8)
    assert mixed["estimate"] == pytest.approx(ref["slope"], rel=1e-6)
    assert ols.bse["days"] == pytest.approx(ref["se_ols"], rel=1e-8)
    assert clustered.bse["days"] == pytest.approx(ref["se_cluster"], rel=1e-6)
    assert mixed["std_error"] == pytest.approx(ref["se_mixed"], rel=1e-4)
    assert mixed["df"] == pytest.approx(ref["df_mixed"], rel=1e-3)
    assert mixed["std_error"] / ols.bse["days"] > 1.2


def test_hsb_minority_gap_model_and_slope_variance_test():
    """Ch. 3: the minority gap, its sector interaction, and a non-significant slope variance."""
    ref = reference()["hsb_minority"]
    hsb = mt.datasets.load("hsb")
    hsb["cses"] = hsb["ses"] - hsb.groupby("school")["ses"].transform("mean")
    formula = "mathach ~ minority * sector + cses + meanses"
    ri = mt.lmer(formula + " + (1 | school)", hsb)
    rs = mt.lmer(formula + " + (minority | school)", hsb)
    table = rs.coef_table()
    r_table = pd.DataFrame(
        {k: ref[k] for k in ("estimate", "std_error", "df")},
        index=[t.replace("(Intercept)", "Intercept") for t in ref["terms"]],
    )
    for term, row in r_table.iterrows():
        assert table.loc[term, "estimate"] == pytest.approx(row["estimate"], abs=2e-3)
        assert table.loc[term, "std_error"] == pytest.approx(row["std_error"], rel=2e-3)
        assert table.loc[term, "df"] == pytest.approx(row["df"], rel=2e-2)
    slope_var = rs.varcorr.set_index(["var1", "var2"])["vcov"][("minority", "")]
    assert slope_var == pytest.approx(r_varcorr(ref["varcorr"])[("school", "minority")], rel=1e-2)
    lrt = mt.lrt(ri, rs).loc["full"]
    assert lrt["chisq"] == pytest.approx(ref["lrt_chisq"], abs=0.02)
    assert lrt["p_value"] > 0.05
    no_minority = int((hsb.groupby("school")["minority"].max() == 0).sum())
    assert no_minority == ref["n_schools_without_minority"]
    assert np.sqrt(slope_var) < abs(table.loc["minority", "estimate"])
