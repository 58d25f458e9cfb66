"""Claims of chapter 8 (GLMMs for binary and count outcomes), as book/08_glmm.ipynb states them.

Each test recomputes the fact with mixedtools on the chapter's data and seeds; it does not read the
notebook. Reference values of R (lme4, performance, geepack) come from
tests/reference/glmm_chapter.R via its JSON.
"""

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import mixedtools as mt

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "glmm_chapter.json").read_text(encoding="utf-8")
)
FORMULA = "use ~ age + I(age**2) + urban + livch + (1 | district)"
C2 = (16 * np.sqrt(3) / (15 * np.pi)) ** 2


@cache
def contra():
    data = mt.datasets.load("contraception")
    data["y"] = (data["use"] == "Y").astype(int)
    return data


@cache
def glmm():
    return mt.glmer(FORMULA, contra())


@cache
def null():
    return mt.glmer("use ~ 1 + (1 | district)", contra())


@cache
def grouse_fits():
    grouse = mt.datasets.load("grouseticks").astype({"year": "category"})
    grouse["c_height"] = (grouse["height"] - grouse["height"].mean()) / 100
    base = "ticks ~ year + c_height + (1 | brood) + (1 | location)"
    return (
        mt.glmer(base, grouse, family="poisson"),
        mt.glmer(base + " + (1 | index)", grouse, family="poisson"),
    )


def test_linear_probability_model_predicts_below_zero():
    lpm = smf.ols("y ~ age + I(age**2) + urban + livch", contra()).fit()
    assert (lpm.fittedvalues < 0).sum() == 3
    assert lpm.fittedvalues.max() < 1


def test_glmm_matches_lme4_and_odds_ratios():
    ref = REFERENCE["contraception_full"]
    fit = glmm()
    assert fit.varcorr["vcov"].iloc[0] == pytest.approx(ref["tau00"], rel=1e-3)
    assert fit.fixef["urban[T.Y]"] == pytest.approx(ref["fixef"]["urbanY"], abs=1e-3)
    table = fit.coef_table()
    odds = np.exp(table.loc["urban[T.Y]", ["estimate", "ci_lower", "ci_upper"]])
    assert odds.round(2).tolist() == [2.01, 1.58, 2.55]
    livch = np.exp(table.loc[["livch[T.1]", "livch[T.2]", "livch[T.3+]"], "estimate"])
    assert livch.min().round(2) == 2.26 and livch.max().round(2) == 2.50
    assert table.loc["I(age ** 2)", "estimate"] < 0 and table.loc["I(age ** 2)", "p_value"] < 0.001


def test_latent_icc_is_tau_over_tau_plus_pi2_over_3_and_exceeds_the_0_1_icc():
    tau = null().varcorr["vcov"].iloc[0]
    latent = tau / (tau + np.pi**2 / 3)
    assert null().icc()["adjusted"] == pytest.approx(latent)
    assert latent == pytest.approx(REFERENCE["contraception_null"]["icc"], abs=2e-4)
    icc01 = mt.lmer("y ~ 1 + (1 | district)", contra()).icc()
    assert icc01 == pytest.approx(REFERENCE["contraception_lpm_icc"], abs=1e-5)
    assert icc01 < latent


def test_0_1_icc_falls_with_the_base_rate_while_the_latent_icc_does_not():
    study = mt.sim.icc_scale_study(
        25, intercepts=(0.0, -1.0, -2.0, -3.0), n_groups=500, group_size=20,
        tau00=1.0, seed=80, max_workers=2, progress=False,
    )  # fmt: skip
    means = study.groupby("intercept", sort=False)[["share", "latent_icc", "linear_icc"]].mean()
    sem = study.groupby("intercept", sort=False)["latent_icc"].sem()
    assert np.all(np.diff(means["share"]) < 0) and np.all(np.diff(means["linear_icc"]) < 0)
    assert round(means["linear_icc"].iloc[0], 3) == 0.173
    assert round(means["linear_icc"].iloc[-1], 3) == 0.070
    # the latent ICC stays within about 0.01 of the truth; short by about two MC SEs when rare
    truth = study.attrs["truth"]
    assert np.all(np.abs(means["latent_icc"] - truth) < 0.011)
    shortfall = (truth - means["latent_icc"]) / sem
    assert np.all(shortfall.loc[[-2.0, -3.0]].between(1.5, 3.0))
    assert np.all(means["latent_icc"] > means["linear_icc"])


def test_nakagawa_r2_matches_performance():
    r2 = glmm().r2()
    ref = REFERENCE["contraception_full"]
    assert r2["marginal"] == pytest.approx(ref["r2_marginal"], abs=5e-4)
    assert r2["conditional"] == pytest.approx(ref["r2_conditional"], abs=5e-4)
    assert r2["conditional"] - r2["marginal"] == pytest.approx(0.06, abs=0.005)


@cache
def gee():
    return smf.gee(
        "y ~ age + I(age**2) + urban + livch",
        groups="district",
        data=contra(),
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Exchangeable(),
    ).fit()


def test_gee_matches_geepack_and_is_attenuated():
    ref = REFERENCE["contraception_gee"]["coef"]
    params = gee().params
    assert params["urban[T.Y]"] == pytest.approx(ref["urbanY"], abs=1e-3)
    assert params["Intercept"] == pytest.approx(ref["(Intercept)"], abs=1e-3)
    ratios = (params / glmm().fixef).drop("age")  # matched by name
    assert ratios.min() > 0.92 and ratios.max() < 0.96  # "4 to 8 per cent smaller"
    factor = 1 / np.sqrt(1 + C2 * glmm().varcorr["vcov"].iloc[0])
    assert round(factor, 3) == 0.963 and np.all(ratios < factor)


def test_attenuation_follows_zeger_liang_albert_across_tau():
    for seed, tau in enumerate([0.5, 1.0, 2.0, 4.0, 8.0], start=400):
        sim = mt.sim.binary_clusters(1000, 10, slope=1.0, tau00=tau, seed=seed)
        fit = smf.gee(
            "y ~ x",
            groups="group",
            data=sim,
            family=sm.families.Binomial(),
            cov_struct=sm.cov_struct.Exchangeable(),
        ).fit()
        gap = fit.params["x"] - 1 / np.sqrt(1 + C2 * tau)
        assert abs(gap) < 2.5 * fit.bse["x"]
        assert fit.params["x"] < 1


def test_population_averaged_probability_differs_from_the_typical_district():
    woman = pd.DataFrame(
        {"age": [0.0, 0.0], "urban": ["N", "Y"], "livch": ["0", "0"], "district": "new"}
    )
    typical = glmm().predict(woman, type="response", re_form="~0").to_numpy()
    averaged = glmm().marginal_means(woman).to_numpy()
    assert np.all(np.abs(averaged - 0.5) < np.abs(typical - 0.5))
    assert np.all(np.abs(averaged - typical) < 0.02)


def test_an_independent_predictor_rescales_logit_but_not_linear_coefficients():
    rng = np.random.default_rng(808)
    n = 20_000
    d = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    eta = 0.5 * d["x"] + 1.5 * d["z"]
    d["y01"] = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    d["y_normal"] = eta + rng.normal(0, np.pi / np.sqrt(3), size=n)
    logit_without = smf.logit("y01 ~ x", d).fit(disp=0).params["x"]
    logit_with = smf.logit("y01 ~ x + z", d).fit(disp=0).params["x"]
    ols_without = smf.ols("y_normal ~ x", d).fit().params["x"]
    ols_with = smf.ols("y_normal ~ x + z", d).fit().params["x"]
    assert logit_without < 0.8 * logit_with
    assert abs(ols_without - ols_with) < 0.03


def test_a_level1_predictor_increases_tau00():
    sim = mt.sim.binary_clusters(300, 20, slope=2.0, tau00=1.0, seed=809)
    without = mt.glmer("y ~ 1 + (1 | group)", sim).varcorr["vcov"].iloc[0]
    with_x = mt.glmer("y ~ x + (1 | group)", sim).varcorr["vcov"].iloc[0]
    assert with_x > 2 * without


def test_insurance_offset_gives_rates_and_rate_ratios():
    ins = mt.datasets.load("insurance")
    ins["age"] = pd.Categorical(ins["age"], ["<25", "25-29", "30-35", ">35"])
    ins["group"] = pd.Categorical(ins["group"], ["<1l", "1-1.5l", "1.5-2l", ">2l"])
    fit = mt.glmer(
        "claims ~ age + group + offset(log(holders)) + (1 | district)", ins, family="poisson"
    )
    irr = np.exp(fit.fixef)
    assert irr["Intercept"].round(3) == 0.172 and irr["age[T.>35]"].round(2) == 0.59
    assert np.all(np.diff(fit.fixef[["age[T.25-29]", "age[T.30-35]", "age[T.>35]"]]) < 0)
    assert fit.overdispersion()["ratio"] == pytest.approx(0.91, abs=0.005)


def test_grouseticks_overdispersion_and_the_observation_level_effect():
    poisson, olre = grouse_fits()
    ref = REFERENCE["grouseticks"]
    assert poisson.overdispersion()["ratio"] == pytest.approx(ref["poisson_ratio"], rel=1e-4)
    assert poisson.overdispersion()["p"] < 0.001
    assert olre.loglik == pytest.approx(ref["loglik_olre"], abs=1e-3)
    vc = olre.varcorr.set_index("group")["vcov"]
    for group in ("index", "brood", "location"):
        assert vc[group] == pytest.approx(ref["olre_vcov"][group], rel=1e-3)
    assert mt.lrt(poisson, olre).loc["full", "p_value"] < 0.001
    before = poisson.varcorr.set_index("group")["vcov"]
    assert vc["brood"] < before["brood"] and vc["location"] < before["location"]
    assert olre.overdispersion()["ratio"] < 1  # the Pearson ratio is not informative after an OLRE
    irr = np.exp(olre.fixef)
    assert irr["year[T.96]"] > 1 > irr["year[T.97]"] and irr["c_height"] < 1


def test_laplace_underestimates_tau_with_small_binary_clusters():
    quad = mt.sim.quadrature_study(
        150, n_groups=60, group_size=(2, 5), slope=1.0, tau00=2.0, nagq=(1, 25),
        seed=8000, max_workers=2, progress=False,
    )  # fmt: skip
    est = quad.groupby("nagq")["tau00"]
    bias, se = est.mean() - 2.0, est.sem()
    assert bias[1] < -2 * se[1]
    assert abs(bias[25]) < abs(bias[1])
    paired = quad.pivot(index="seed", columns="nagq", values="tau00")
    difference = paired[1] - paired[25]
    assert difference.mean() < -5 * difference.sem()
    slope_bias = quad.groupby("nagq")["slope"].mean() - 1.0
    assert np.all(np.abs(slope_bias) < np.abs(bias))


def test_quadrature_hardly_matters_for_the_contraception_data():
    agq = mt.glmer(FORMULA, contra(), nagq=10)
    assert np.allclose(agq.fixef, glmm().fixef, atol=2e-3)
    assert agq.varcorr["vcov"].iloc[0] - glmm().varcorr["vcov"].iloc[0] < 0.01


@cache
def few_groups(tau00):
    """The chapter's studies with 10 groups: w without effect (tau00 = 1), or tau00 = 0."""
    seed, test, boot_reps = (9000, "w", 80) if tau00 else (9900, "tau", 60)
    return mt.sim.glmm_rejection_study(
        200,
        n_groups=10,
        group_size=20,
        tau00=tau00,
        seed=seed,
        max_workers=2,
        progress=False,
        bootstrap=(test,),
        n_boot=19,
        bootstrap_reps=boot_reps,
    )


def _rate(p):
    p = p.dropna()
    return (p <= 0.05).mean(), np.sqrt(0.05 * 0.95 / len(p))


def test_wald_z_of_a_level2_effect_rejects_too_often_with_10_groups():
    rate, se = _rate(few_groups(1.0)["p_wald"])
    assert rate > 0.05 + 2 * se


def test_parametric_bootstrap_of_a_level2_effect_keeps_its_level_with_10_groups():
    study = few_groups(1.0)
    rate, se = _rate(study["p_boot"])
    assert study["p_boot"].notna().sum() == 80
    assert abs(rate - 0.05) < 2 * se
    # on the same 80 replicates: bootstrap 3, LRT 5, Wald 8 rejections
    same = study.dropna(subset=["p_boot"])
    rejections = [(same[c] <= 0.05).sum() for c in ("p_boot", "p_lrt", "p_wald")]
    assert rejections == [3, 5, 8]


def test_boundary_lrt_of_tau_is_conservative_and_the_bootstrap_is_not():
    study = few_groups(0.0)
    boundary, se = _rate(study["p_tau"])
    boot, _ = _rate(study["p_boot_tau"])
    assert boundary < 0.05
    assert abs(boot - 0.05) < 2 * se
    p_tau = study["p_tau"].dropna()
    assert (p_tau == 1).mean() > 0.5  # tau00 estimated as 0 in most
    # the positive statistics exceed chi2_1's 10% point less often than 10%
    positive = p_tau[p_tau < 1]
    assert len(positive) == 87 and (positive <= 0.05).mean() < 0.10
    same = study.dropna(subset=["p_boot_tau"])
    assert (same["p_tau"] <= 0.05).sum() < (same["p_boot_tau"] <= 0.05).sum()


def test_probit_coefficients_are_about_1_6_times_smaller():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probit = mt.glmer(FORMULA, contra(), link="probit")
    ratio = (glmm().fixef / probit.fixef).drop(index="age")
    assert ratio.min() > 1.6 and ratio.max() < 1.7


def test_cbpp_laplace_and_agq_agree():
    cbpp = mt.datasets.load("cbpp").astype({"period": "category"})
    f = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    lap, agq = mt.glmer(f, cbpp), mt.glmer(f, cbpp, nagq=25)
    assert np.allclose(lap.fixef, agq.fixef, atol=5e-3)
    assert abs(lap.varcorr["vcov"].iloc[0] - agq.varcorr["vcov"].iloc[0]) < 0.01
