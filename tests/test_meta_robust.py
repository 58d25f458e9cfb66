"""mt.meta.robust (cluster-robust variance, CR0/CR1/CR2), mt.meta.vcalc and the CHE model against
clubSandwich 0.5.8 and metafor 3.8 (tests/reference/meta_robust.R): Konstantopoulos (2011)
schools in districts and Assink et al. (2016) effect sizes in studies. Tolerance: 1e-6 relative
for estimates, SEs and p-values, 1e-5 for degrees of freedom."""

import functools
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import mixedtools as mt

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "meta_robust.json").read_text())
ASSINK = mt.datasets.load("assink2016")
KON = mt.datasets.load("konstantopoulos2011").assign(year_c=lambda d: d.year - 1990)
V_CHE = mt.meta.vcalc(ASSINK.vi, ASSINK.study, obs=ASSINK.esid, rho=0.6)


@functools.cache
def _fit(case):
    kon_random, ass_random = KON[["district", "school"]], ASSINK[["study", "esid"]]
    if case == ("konstantopoulos", "intercept"):
        return mt.meta.rma_mv("yi", "vi", random=kon_random, data=KON), None
    if case == ("konstantopoulos", "year"):
        return mt.meta.rma_mv("yi", "vi", random=kon_random, mods=KON[["year_c"]], data=KON), None
    if case == ("konstantopoulos", "uni_year"):
        return mt.meta.rma("yi", "vi", mods=KON[["year_c"]], data=KON), KON.district
    if case == ("assink", "intercept"):
        return mt.meta.rma_mv("yi", "vi", random=ass_random, data=ASSINK), None
    if case == ("assink", "deltype"):
        return mt.meta.rma_mv("yi", "vi", random=ass_random, mods="C(deltype)", data=ASSINK), None
    if case == ("assink", "uni_deltype"):
        return mt.meta.rma("yi", "vi", mods="C(deltype)", data=ASSINK), ASSINK.study
    if case == ("assink", "che"):
        return mt.meta.rma_mv("yi", V_CHE, random=ass_random, data=ASSINK), None
    if case == ("assink", "che_deltype"):
        return mt.meta.rma_mv("yi", V_CHE, random=ass_random, mods="C(deltype)", data=ASSINK), None
    raise AssertionError(case)


CASES = [
    ("konstantopoulos", "intercept"),
    ("konstantopoulos", "year"),
    ("konstantopoulos", "uni_year"),
    ("assink", "intercept"),
    ("assink", "deltype"),
    ("assink", "uni_deltype"),
    ("assink", "che"),
    ("assink", "che_deltype"),
]


def _close(got, want, rtol, name, atol=0.0):
    got = np.asarray(got, dtype=float).ravel()
    want = np.atleast_1d(np.asarray(want, dtype=float)).ravel()
    finite = np.isfinite(want)  # clubSandwich gives NaN for a variance that is 0 up to rounding
    np.testing.assert_allclose(got[finite], want[finite], rtol=rtol, atol=atol, err_msg=name)


# The REML likelihood is flat to 1e-14 over relative changes of 1e-7 in the variance components
# (metafor's optimisers disagree among themselves at that level), so p-values below 1e-6 are
# compared to 1e-12 absolute and the covariance matrix to 1e-6 of its largest variance.
P_ATOL = 1e-12


@pytest.mark.parametrize("vcov", ["CR0", "CR1", "CR2"])
@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_coef_test_matches_clubsandwich(case, vcov):
    fit, cluster = _fit(case)
    ref = REF[case[0]][case[1]][vcov]
    rob = mt.meta.robust(fit, cluster, vcov=vcov)
    table = rob.coef_table()
    _close(table.estimate, ref["estimate"], 1e-6, "estimate")
    if case == ("assink", "uni_deltype") and vcov != "CR2":
        # one study reports covert delinquency: the intercept's CR0 / CR1 variance is 0
        _close(table.std_error.iloc[1:], ref["se"][1:], 1e-6, "se")
        _close(table.df.iloc[1:], ref["df"][1:], 1e-5, "df")
        return
    _close(table.df, ref["df"], 1e-5, "df")
    _close(table.std_error, ref["se"], 1e-6, "se")
    _close(table.p_value, ref["p"], 1e-6, "p", atol=P_ATOL)
    want = np.asarray(ref["vcov"], dtype=float)
    np.testing.assert_allclose(
        rob.vcov.to_numpy(), want, rtol=1e-6, atol=1e-6 * np.abs(np.diag(want)).max()
    )


@pytest.mark.parametrize("vcov", ["CR0", "CR1", "CR2"])
@pytest.mark.parametrize("case", [c for c in CASES if "wald" in REF[c[0]][c[1]]["CR2"]])
def test_wald_test_matches_clubsandwich(case, vcov):
    fit, cluster = _fit(case)
    ref = REF[case[0]][case[1]][vcov]["wald"]
    rob = mt.meta.robust(fit, cluster, vcov=vcov)
    positions = [c - 1 for c in ref["constraints"]]
    for i, test in enumerate(ref["test"]):
        got = rob.wald_test(positions, test="HTZ" if test == "HTZ" else "naive-F")
        _close(got["F"], ref["Fstat"][i], 1e-6, f"{test} F")
        _close(got["delta"], ref["delta"][i], 1e-6, f"{test} delta")
        _close(got["df_den"], ref["df_denom"][i], 1e-5, f"{test} df")
        _close(got["p_value"], ref["p"][i], 1e-6, f"{test} p", atol=P_ATOL)
        assert got["df_num"] == ref["df_num"][i]


def test_wald_test_by_name_and_by_matrix_agree():
    fit, _ = _fit(("assink", "deltype"))
    rob = mt.meta.robust(fit)
    names = list(fit.beta.index[1:])
    by_name = rob.wald_test(names)
    by_matrix = rob.wald_test(np.eye(3)[1:])
    assert by_name["F"] == pytest.approx(by_matrix["F"], rel=1e-12)
    # a single constraint: HTZ is the square of the t test with Satterthwaite df
    one = rob.wald_test([names[0]])
    row = rob.coef_table().loc[names[0]]
    assert one["F"] == pytest.approx(row.statistic**2, rel=1e-10)
    assert one["df_den"] == pytest.approx(row.df, rel=1e-10)
    assert one["p_value"] == pytest.approx(row.p_value, rel=1e-10)


def test_vcalc_matches_metafor():
    np.testing.assert_allclose(V_CHE, REF["assink"]["vcalc_rho06"], rtol=1e-12, atol=1e-15)
    small = REF["vcalc_small"]
    got = mt.meta.vcalc(small["vi"], small["cluster"], obs=small["obs"], rho=0.5)
    np.testing.assert_allclose(got, small["with_obs"], rtol=1e-12)
    with pytest.warns(RuntimeWarning, match="not positive definite in cluster"):
        got = mt.meta.vcalc(small["vi"], small["cluster"], obs=small["obs_repeat"], rho=0.5)
    np.testing.assert_allclose(got, small["with_obs_repeat"], rtol=1e-12)


@pytest.mark.parametrize("case", ["che", "che_deltype"])
def test_rma_mv_with_full_v_matches_metafor(case):
    fit, _ = _fit(("assink", case))
    ref = REF["assink"][case]
    np.testing.assert_allclose(fit.beta, ref["beta"], rtol=1e-6)
    np.testing.assert_allclose(fit.sigma2, ref["sigma2"], rtol=1e-5)
    np.testing.assert_allclose(fit.coef_table().std_error, ref["se_model"], rtol=1e-6)
    assert fit.loglik == pytest.approx(ref["ll"], rel=1e-9)
    assert fit.Q == pytest.approx(ref["QE"], rel=1e-9)
    assert fit.QM == pytest.approx(ref["QM"], rel=1e-6)
    assert fit.converged


def test_full_v_diagonal_equals_vector_vi():
    random = ASSINK[["study", "esid"]]
    a = mt.meta.rma_mv("yi", "vi", random=random, data=ASSINK)
    b = mt.meta.rma_mv("yi", np.diag(ASSINK.vi), random=random, data=ASSINK)
    np.testing.assert_allclose(a.sigma2, b.sigma2, rtol=1e-5)
    assert a.loglik == pytest.approx(b.loglik, abs=1e-7)
    np.testing.assert_allclose(
        mt.meta.robust(a).coef_table().to_numpy(),
        mt.meta.robust(b).coef_table().to_numpy(),
        rtol=1e-5,
    )


def test_bad_input():
    fit, _ = _fit(("assink", "deltype"))
    uni, _ = _fit(("assink", "uni_deltype"))
    with pytest.raises(ValueError, match="unknown vcov"):
        mt.meta.robust(fit, vcov="CR3")
    with pytest.raises(ValueError, match="needs cluster"):
        mt.meta.robust(uni)
    with pytest.raises(ValueError, match="one id per effect size"):
        mt.meta.robust(uni, ASSINK.study[:10])
    with pytest.raises(ValueError, match="is a name"):
        mt.meta.robust(uni, "study")
    with pytest.raises(TypeError, match="rma or mt.meta.rma_mv"):
        mt.meta.robust(object())
    with pytest.raises(ValueError, match="not nested within the clusters"):
        mt.meta.robust(fit, ASSINK.esid.astype(str) + "/" + ASSINK.study.astype(str))
    rob = mt.meta.robust(fit)
    with pytest.raises(ValueError, match="not a coefficient"):
        rob.wald_test(["nope"])
    with pytest.raises(ValueError, match="unknown test"):
        rob.wald_test([1], test="chi2")
    with pytest.raises(ValueError, match="rho"):
        mt.meta.vcalc(ASSINK.vi, ASSINK.study, obs=ASSINK.esid)
    with pytest.raises(ValueError, match="rho must lie"):
        mt.meta.vcalc(ASSINK.vi, ASSINK.study, obs=ASSINK.esid, rho=1.5)
    with pytest.raises(ValueError, match="cluster has"):
        mt.meta.vcalc(ASSINK.vi, ASSINK.study[:5], rho=0.5)
    with pytest.raises(ValueError, match="not positive definite"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            V = mt.meta.vcalc(ASSINK.vi, ASSINK.study, rho=0.5)  # no obs: correlation 1
        mt.meta.rma_mv("yi", V, random=ASSINK[["study", "esid"]], data=ASSINK)
    with pytest.raises(ValueError, match="100 x 100"):
        mt.meta.rma_mv("yi", np.eye(3), random=ASSINK[["study", "esid"]], data=ASSINK)
