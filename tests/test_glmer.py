"""mt.glmer against lme4::glmer and performance (tests/reference/glmer_reference.R)."""

from __future__ import annotations

import json
import re
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedtools as mt
from mixedtools.lmm.results import LmerWarning

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "glmer_reference.json").read_text(encoding="utf-8")
)
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def _cbpp():
    return mt.datasets.load("cbpp").astype({"period": "category"})


def _grouse():
    data = mt.datasets.load("grouseticks")
    data["c_height"] = data["height"] - data["height"].mean()
    return data


CASES = {
    "cbpp_laplace": (CBPP, _cbpp, {}),
    "cbpp_agq25": (CBPP, _cbpp, {"nagq": 25}),
    "cbpp_proportion": ("incidence / size ~ period + (1 | herd)", _cbpp, {"weights": "size"}),
    "cbpp_probit": (CBPP, _cbpp, {"link": "probit"}),
    "cbpp_cloglog": (CBPP, _cbpp, {"link": "cloglog"}),
    "contraception_slope": (
        "use ~ age + I(age^2) + urban + livch + (urban | district)",
        lambda: mt.datasets.load("contraception"),
        {},
    ),
    "contraception_agq": (
        "use ~ age + I(age^2) + urban + livch + (1 | district)",
        lambda: mt.datasets.load("contraception"),
        {"nagq": 10},
    ),
    "grouseticks_three_levels": (
        "ticks ~ year + c_height + (1 | location) + (1 | brood) + (1 | index)",
        _grouse,
        {"family": "poisson"},
    ),
    "grouseticks_agq": (
        "ticks ~ year + c_height + (1 | brood)",
        _grouse,
        {"family": "poisson", "nagq": 12},
    ),
    "insurance_offset": (
        "claims ~ age + group + offset(log(holders)) + (1 | district)",
        lambda: mt.datasets.load("insurance"),
        {"family": "poisson"},
    ),
    "verbagg_crossed": (
        "r2 ~ anger + gender + btype + situ + (1 | id) + (1 | item)",
        lambda: mt.datasets.load("verbagg"),
        {},
    ),
}


@cache
def fitted(case):
    formula, load, kwargs = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mt.glmer(formula, load(), **kwargs)


def r_name(name: str) -> str:
    """R's name of a fixed-effect column: (Intercept), urbanY, I(age^2)."""
    return "(Intercept)" if name == "Intercept" else re.sub(r"\[T\.(.*?)\]", r"\1", name)


def _by_r_name(series: pd.Series) -> dict:
    return {r_name(k): v for k, v in series.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_optimum_and_fixed_effects_match_lme4(case):
    fit, ref = fitted(case), REFERENCE[case]
    loglik = fit.loglik
    if fit.nagq > 1:  # lme4 leaves out the saturated model's log-likelihood for nAGQ > 1
        loglik -= fit.structure._saturated
    assert loglik == pytest.approx(ref["loglik"], abs=5e-5)
    assert loglik >= ref["loglik"] - 1e-6  # never below lme4's optimum
    assert loglik >= ref["loglik_default"] - 1e-6
    ours = _by_r_name(fit.fixef)
    assert set(ours) == set(ref["fixef"])
    for name, value in ref["fixef"].items():
        assert ours[name] == pytest.approx(value, abs=2e-4 * max(1.0, abs(value)))
    se = _by_r_name(pd.Series(np.sqrt(np.diag(fit.vcov)), index=fit.fixef.index))
    # both sides difference the deviance with steps of 1e-4 (lme4's deriv12); on a predictor
    # in metres (c_height) the two Hessians agree to about 1.5 %
    rel = 2e-2 if case == "grouseticks_three_levels" else 5e-3
    for name, value in ref["se"].items():
        assert se[name] == pytest.approx(value, rel=rel)
    # lme4 orders the terms by their numbers of levels, mixedtools keeps the formula's order
    assert np.allclose(
        np.sort(np.abs(fit.theta)), np.sort(np.abs(np.atleast_1d(ref["theta"]))), atol=2e-3
    )
    assert fit.n_params == ref["df"]
    assert fit.df_residual == ref["df_residual"]
    assert fit.singular == ref["singular"]
    assert fit.converged
    assert fit.deviance == pytest.approx(ref["deviance"], rel=1e-4)
    if fit.nagq == 1:
        assert fit.aic == pytest.approx(ref["aic"], abs=1e-4)
        assert fit.bic == pytest.approx(ref["bic"], abs=1e-4)


@pytest.mark.parametrize("case", list(CASES))
def test_varcorr_and_conditional_modes_match_lme4(case):
    fit, ref = fitted(case), REFERENCE[case]
    ours = fit.varcorr
    for row in ref["varcorr"]:
        var1 = row["var1"] if row["var1"] != "(Intercept)" else "Intercept"
        match = ours[(ours.group == row["grp"]) & (ours.var1.map(r_name).isin([row["var1"]]))]
        if row["var2"] is None or (isinstance(row["var2"], str) and not row["var2"]):
            match = match[match.var2 == ""]
        else:
            match = match[match.var2.map(r_name) == row["var2"]]
        assert len(match) == 1, (row, var1)
        assert match.sdcor.iloc[0] == pytest.approx(row["sdcor"], abs=2e-3)
    for group, part in ref["ranef"].items():
        table = fit.ranef[group]
        condvar = fit.ranef_condvar[group]
        labels = [str(v) for v in part["levels"]]
        values = np.asarray(part["values"])
        effects = [part["effects"]] if isinstance(part["effects"], str) else part["effects"]
        for j, effect in enumerate(effects):
            col = next(c for c in table.columns if r_name(c) == effect)
            mine = table[col].reindex(labels).to_numpy()
            assert np.allclose(mine, values[:, j], atol=2e-3)
            assert np.allclose(
                condvar[col].reindex(labels).to_numpy(), part["cond_var"][j], rtol=1e-2, atol=1e-5
            )


@pytest.mark.parametrize("case", list(CASES))
def test_predictions_and_residuals_match_lme4(case):
    fit, ref = fitted(case), REFERENCE[case]
    n = len(ref["predict_link"])
    checks = {
        "predict_link": fit.predict().to_numpy(),
        "predict_response": fit.predict(type="response").to_numpy(),
        "predict_link_population": fit.predict(re_form="~0").to_numpy(),
        "fitted": fit.fitted.to_numpy(),
        "resid_pearson": fit.residuals("pearson").to_numpy(),
        "resid_deviance": fit.residuals("deviance").to_numpy(),
        "resid_response": fit.residuals("response").to_numpy(),
    }
    for key, mine in checks.items():
        assert np.allclose(mine[:n], ref[key], atol=2e-3), key
    assert fit.overdispersion()["chisq"] == pytest.approx(ref["pearson_chisq"], rel=1e-3)


@pytest.mark.parametrize("case", list(CASES))
def test_r2_icc_and_overdispersion_match_performance(case):
    fit, ref = fitted(case), REFERENCE[case]
    r2, icc = fit.r2(), fit.icc()
    assert r2["conditional"] == pytest.approx(ref["r2_conditional"], abs=1e-3)
    assert r2["marginal"] == pytest.approx(ref["r2_marginal"], abs=1e-3)
    assert icc["adjusted"] == pytest.approx(ref["icc_adjusted"], abs=1e-3)
    assert icc["unadjusted"] == pytest.approx(ref["icc_unadjusted"], abs=1e-3)
    od, r_od = fit.overdispersion(), ref["overdispersion"]
    assert od["df"] == r_od["df"]
    assert od["ratio"] == pytest.approx(r_od["ratio"], rel=1e-3)
    assert od["p"] == pytest.approx(r_od["p"], abs=1e-3)


def test_quadrature_with_one_node_is_the_laplace_fit():
    laplace = fitted("cbpp_laplace")
    one = mt.glmer(CBPP, _cbpp(), nagq=1)
    assert one.loglik == pytest.approx(laplace.loglik, abs=1e-9)
    # and more nodes move the log-likelihood by little on these data (lme4: -92.03 vs -91.98
    # on the common scale)
    assert abs(fitted("cbpp_agq25").loglik - laplace.loglik) < 0.1


def test_the_four_ways_to_write_a_binary_response_agree():
    data = mt.datasets.load("contraception")
    formula = "{} ~ age + urban + (1 | district)"
    text = mt.glmer(formula.format("use"), data)
    data["use01"] = (data["use"] == "Y").astype(int)
    data["use_bool"] = data["use"] == "Y"
    data["use_cat"] = pd.Categorical(data["use"], categories=["N", "Y"])
    for col in ("use01", "use_bool", "use_cat"):
        fit = mt.glmer(formula.format(col), data)
        assert fit.loglik == pytest.approx(text.loglik, abs=1e-8)
        assert np.allclose(fit.fixef, text.fixef, atol=1e-6)


def test_prediction_for_new_levels_is_the_population_prediction():
    fit = fitted("cbpp_laplace")
    new = pd.DataFrame({"period": pd.Categorical(["1", "1"]), "herd": ["1", "no such herd"]})
    cond = fit.predict(new, type="response")
    pop = fit.predict(new, type="response", re_form="~0")
    assert cond.iloc[1] == pytest.approx(pop.iloc[1])
    assert cond.iloc[0] != pytest.approx(pop.iloc[0])
    assert pop.iloc[0] == pytest.approx(1 / (1 + np.exp(-fit.fixef["Intercept"])))


def test_simulate_is_seeded_and_on_the_response_scale():
    fit = fitted("cbpp_laplace")
    a, b = fit.simulate(3, seed=1), fit.simulate(3, seed=1)
    assert a.shape == (56, 3)
    pd.testing.assert_frame_equal(a, b)
    assert ((a >= 0) & (a <= 1)).all().all()
    counts = fitted("insurance_offset").simulate(2, seed=2)
    assert np.all(counts.to_numpy() == np.round(counts.to_numpy()))


def test_coef_table_is_wald_z():
    table = fitted("cbpp_laplace").coef_table()
    ref = REFERENCE["cbpp_laplace"]
    assert list(table.columns) == ["estimate", "std_error", "z", "p_value", "ci_lower", "ci_upper"]
    row = table.loc["period[T.2]"]
    assert row.z == pytest.approx(ref["fixef"]["period2"] / ref["se"]["period2"], rel=2e-3)
    assert row.ci_upper - row.estimate == pytest.approx(1.959964 * row.std_error, rel=1e-6)
    fit = fitted("cbpp_laplace")
    text = fit.summary()
    assert "Laplace approximation" in text
    # lme4's summary prints -2 logLik in its deviance column (184.1 for cbpp), not deviance()
    assert f"{-2 * fit.loglik:8.1f}" in text.splitlines()[5]
    assert f"{fit.deviance:.1f}" not in text.splitlines()[5]


# ------------------------------------------------------------------ bad input
@pytest.fixture
def small():
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(12), 8)
    x = rng.normal(size=96)
    y = (rng.random(96) < 1 / (1 + np.exp(-(0.3 * x + rng.normal(size=12)[g])))).astype(float)
    return pd.DataFrame({"y": y, "x": x, "g": g.astype(str), "n": 5, "count": rng.poisson(2, 96)})


def test_bad_responses_are_refused_with_the_fix(small):
    bad = small.assign(y=small.y * 3)
    with pytest.raises(ValueError, match="must lie in"):
        mt.glmer("y ~ x + (1 | g)", bad)
    with pytest.raises(ValueError, match="weights="):
        mt.glmer("y ~ x + (1 | g)", small.assign(y=small.y * 0.5))
    with pytest.raises(ValueError, match="negative"):
        mt.glmer("count ~ x + (1 | g)", small.assign(count=-small["count"]), family="poisson")
    with pytest.raises(ValueError, match="non-integers"):
        mt.glmer("count ~ x + (1 | g)", small.assign(count=small["count"] + 0.5), "poisson")
    with pytest.raises(ValueError, match="every response is a failure"):
        mt.glmer("y ~ x + (1 | g)", small.assign(y=0.0))
    with pytest.raises(ValueError, match="three|3 levels"):
        mt.glmer("lab ~ x + (1 | g)", small.assign(lab=np.resize(["a", "b", "c"], 96)))
    with pytest.raises(ValueError, match="only one level"):
        mt.glmer("y ~ x + (1 | g)", small.assign(g="one"))
    with pytest.raises(ValueError, match="family must be"):
        mt.glmer("y ~ x + (1 | g)", small, family="gaussian")
    with pytest.raises(ValueError, match="link"):
        mt.glmer("y ~ x + (1 | g)", small, link="log")


def test_quadrature_needs_one_scalar_term(small):
    with pytest.raises(ValueError, match="single random-effects term"):
        mt.glmer("y ~ x + (x | g)", small, nagq=5)
    with pytest.raises(ValueError, match="nagq"):
        mt.glmer("y ~ x + (1 | g)", small, nagq=0)


def test_complete_separation_is_named(small):
    data = small.assign(z=(small.y > 0).astype(float) + 0.0)
    with pytest.warns(UserWarning, match="separation.*z"):
        mt.glmer("y ~ z + (1 | g)", data)
    # judged on the linear predictor: the same separation in other units is named too
    with pytest.warns(UserWarning, match="separation.*milli"):
        mt.glmer("y ~ milli + (1 | g)", data.assign(milli=data["z"] / 1000))


def test_weights_as_array_and_as_column_agree():
    data = _cbpp()
    a = mt.glmer("incidence / size ~ period + (1 | herd)", data, weights=data["size"].to_numpy())
    b = fitted("cbpp_proportion")
    assert a.loglik == pytest.approx(b.loglik, abs=1e-9)
    with pytest.raises(ValueError, match="index"):
        mt.glmer("incidence / size ~ period + (1 | herd)", data,
                 weights=data["size"].sample(frac=1, random_state=1))  # fmt: skip


def test_lrt_between_nested_glmer_fits():
    data = _cbpp()
    reduced = mt.glmer("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", data)
    full = fitted("cbpp_laplace")
    out = mt.lrt(reduced, full)
    assert out.loc["full", "df"] == 3
    assert out.loc["full", "chisq"] == pytest.approx(2 * (full.loglik - reduced.loglik))
    assert out.attrs["method"] == "ML"
    with pytest.raises(TypeError, match="same family"):
        mt.lrt(fitted("cbpp_probit"), full)


def test_caterpillar_draws_a_glmer_fit():
    import matplotlib

    matplotlib.use("Agg")
    fig = mt.plots.caterpillar(fitted("verbagg_crossed"), group="item")
    assert fig.axes[0].get_ylabel().startswith("item")
    with pytest.raises(TypeError, match="lmer"):
        mt.plots.shrinkage(fitted("cbpp_laplace"))


def test_boundary_fit_reaches_at_least_lme4s_optimum():
    # MASS::bacteria, probit with a correlated slope: lme4 stops at a boundary point with
    # logLik -99.996; mt.glmer must not end below it (it finds a better singular optimum)
    ref = REFERENCE["bacteria_probit_slope"]
    data = pd.read_csv(Path(__file__).parent / "reference" / "glmer_bacteria.csv",
                       dtype={"ID": str})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mt.glmer("y ~ trt + week + (week | ID)", data, link="probit")
    assert fit.loglik >= ref["loglik"] - 1e-6
    assert fit.loglik >= ref["loglik_default"] - 1e-6
    assert fit.singular and ref["singular"]
    assert fit.converged


def test_marginal_means_integrate_over_the_random_effects():
    probit = fitted("cbpp_probit")
    eta = probit.predict(re_form="~0").to_numpy()
    sd2 = probit.varcorr.vcov.iloc[0]
    exact = stats.norm.cdf(eta / np.sqrt(1 + sd2))
    assert np.allclose(probit.marginal_means().to_numpy(), exact, atol=1e-10)
    logit = fitted("cbpp_laplace")
    pa = logit.marginal_means().to_numpy()
    at_zero = logit.predict(type="response", re_form="~0").to_numpy()
    assert np.all(np.abs(pa - 0.5) < np.abs(at_zero - 0.5))  # pulled towards 1/2
    rng = np.random.default_rng(1)
    b = rng.normal(0, np.sqrt(logit.varcorr.vcov.iloc[0]), 200_000)
    eta0 = logit.predict(re_form="~0").iloc[0]
    assert pa[0] == pytest.approx(np.mean(1 / (1 + np.exp(-(eta0 + b)))), abs=2e-3)


def test_badly_scaled_predictor_warns_as_lme4():
    data = _cbpp().assign(big=lambda d: 1e6 * (d["period"].astype(int) - 2.5))
    with pytest.warns(LmerWarning, match="very different scales.*big"):
        mt.glmer("cbind(incidence, size - incidence) ~ big + (1 | herd)", data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LmerWarning)
        mt.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", _cbpp())


@pytest.mark.parametrize("factor", [1e-6, 1e6])
@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_badly_scaled_predictor_reaches_the_optimum_of_the_rescaled_fit(factor, family):
    # the coefficient of x * factor is searched on unit scale and mapped back: the same optimum
    # and standard errors as the fit of x (main stopped 0.028 short with x * 1e6, unconverged)
    rng = np.random.default_rng(1)
    data = _cbpp().assign(x=rng.normal(size=56))
    data["scaled"] = data["x"] * factor
    if family == "binomial":
        formula = "cbind(incidence, size - incidence) ~ period + {} + (1 | herd)"
    else:
        formula = "incidence ~ period + {} + offset(log(size)) + (1 | herd)"
    plain = mt.glmer(formula.format("x"), data, family)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scaled = mt.glmer(formula.format("scaled"), data, family)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "very different scales" in messages[0]  # no other warning
    assert scaled.converged
    assert scaled.loglik == pytest.approx(plain.loglik, abs=1e-8)
    units = np.r_[np.ones(4), factor]
    assert scaled.fixef.to_numpy() * units == pytest.approx(plain.fixef.to_numpy(), abs=1e-6)
    se_plain = plain.coef_table()["std_error"].to_numpy()
    se_scaled = scaled.coef_table()["std_error"].to_numpy() * units
    assert se_scaled == pytest.approx(se_plain, rel=1e-5)
    assert scaled.varcorr["vcov"].to_numpy() == pytest.approx(plain.varcorr["vcov"], rel=1e-6)


@pytest.mark.parametrize("factor", [1e-4, 1e4])
def test_badly_scaled_random_slope_reaches_the_optimum_of_the_rescaled_fit(factor):
    # theta of a column in other units is searched as that of the unit-scale column
    # (main stopped 0.027 short with x * 1e4, unconverged)
    rng = np.random.default_rng(1)
    data = _cbpp().assign(x=rng.normal(size=56))
    data["scaled"] = data["x"] * factor
    formula = "cbind(incidence, size - incidence) ~ period + {0} + ({0} | herd)"
    plain = mt.glmer(formula.format("x"), data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scaled = mt.glmer(formula.format("scaled"), data)
    assert scaled.converged
    assert scaled.loglik == pytest.approx(plain.loglik, abs=1e-8)
    sd_plain, sd_scaled = plain.varcorr["sdcor"].to_numpy(), scaled.varcorr["sdcor"].to_numpy()
    assert sd_scaled * np.array([1.0, factor, 1.0]) == pytest.approx(sd_plain, rel=1e-4, abs=1e-6)


def test_family_in_r_and_statsmodels_spellings():
    import statsmodels.api as sm

    reference = fitted("cbpp_probit")
    for spelling in [
        'binomial(link = "probit")',
        "binomial(probit)",
        " binomial( link='probit' ) ",
    ]:
        fit = mt.glmer(CBPP, _cbpp(), spelling)
        assert fit.loglik == pytest.approx(reference.loglik, abs=1e-10)
    fit = mt.glmer(CBPP, _cbpp(), sm.families.Binomial(sm.families.links.Probit()))
    assert fit.loglik == pytest.approx(reference.loglik, abs=1e-10)
    assert mt.glmer(CBPP, _cbpp(), sm.families.Binomial()).loglik == pytest.approx(
        fitted("cbpp_laplace").loglik, abs=1e-10
    )
    with pytest.raises(ValueError, match="Gaussian.*mt.lmer"):
        mt.glmer(CBPP, _cbpp(), sm.families.Gaussian())
    with pytest.raises(ValueError, match="different links"):
        mt.glmer(CBPP, _cbpp(), 'binomial(link = "probit")', link="logit")
    with pytest.raises(ValueError, match="takes the link"):
        mt.glmer(CBPP, _cbpp(), "poisson(sqrt)")


def test_lmer_points_a_non_normal_family_to_glmer():
    with pytest.raises(TypeError, match="mt.glmer"):
        mt.lmer("incidence ~ period + (1 | herd)", _cbpp(), family="poisson")
    gaussian = mt.lmer("incidence ~ period + (1 | herd)", _cbpp(), family="gaussian")
    assert gaussian.loglik == pytest.approx(
        mt.lmer("incidence ~ period + (1 | herd)", _cbpp()).loglik
    )


def test_missing_and_zero_weights_as_r():
    data = _cbpp()
    weights = data["size"].where(data.index > 3)  # R's model frame drops the NA rows
    fit = mt.glmer("incidence / size ~ period + (1 | herd)", data, weights=weights)
    kept = mt.glmer(CBPP, data.iloc[4:])
    assert fit.nobs == 52 and fit.n_dropped == 4
    assert fit.loglik == pytest.approx(kept.loglik, abs=1e-9)
    with pytest.raises(ValueError, match="4 of 56 weights are missing.*na_action='drop'"):
        mt.glmer("incidence / size ~ period + (1 | herd)", data, weights=weights, na_action="raise")
    with pytest.raises(ValueError, match="every weight.*is 0"):
        mt.glmer("incidence / size ~ period + (1 | herd)", data, weights=0 * data["size"])
