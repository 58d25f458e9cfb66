"""Claims A1-A4 of the source notes (chapter 5), recomputed with mixedtools.

A1  One-way ANOVA with k levels = OLS on k - 1 codes (dummy, Helmert, ...): same F.
A2  Fixed factor = fixed intercepts; random factor = random intercept; the HLM null model is the
    random-effects one-way ANOVA (exactly on balanced data, not on unbalanced data).
A3  Stimulus sampling makes items a random factor, and it needs enough items.
A4  Repeated-measures ANOVA can be done as an LMM with a subject random intercept (and slopes).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import mixedtools as mt

CODINGS = ["treatment", "sum", "helmert", "helmert_forward", "poly"]


@pytest.fixture(scope="module")
def subjects():
    obk = mt.datasets.load("obrien_kaiser")
    return obk.groupby(["id", "treatment", "gender"], as_index=False)["value"].mean()


# ---- A1 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("coding", CODINGS)
def test_a1_oneway_anova_is_ols_on_k_minus_1_codes(subjects, coding):
    levels = ["control", "A", "B"]
    anova = mt.anova.oneway(subjects, "value", "treatment")
    codes = mt.anova.contrasts(levels, coding)
    assert codes.shape == (3, 2)
    x = sm.add_constant(codes.loc[subjects["treatment"]].to_numpy(float))
    ols = sm.OLS(subjects["value"].to_numpy(), x).fit()
    assert ols.fvalue == pytest.approx(anova.loc["treatment", "F"], rel=1e-10)
    assert ols.f_pvalue == pytest.approx(anova.loc["treatment", "p_value"], rel=1e-8)


def test_a1_coefficients_are_the_contrasts_the_codes_define(subjects):
    levels = ["control", "A", "B"]
    m = subjects.groupby("treatment")["value"].mean().loc[levels]
    expected = {
        "treatment": [m["A"] - m["control"], m["B"] - m["control"]],
        "sum": [m["control"] - m.mean(), m["A"] - m.mean()],
        "helmert_forward": [(m["control"] - (m["A"] + m["B"]) / 2) / 3, (m["A"] - m["B"]) / 2],
        "helmert": [(m["A"] - m["control"]) / 2, (m["B"] - (m["control"] + m["A"]) / 2) / 3],
    }
    for coding, contrast in expected.items():
        codes = mt.anova.contrasts(levels, coding).loc[subjects["treatment"]]
        ols = sm.OLS(subjects["value"].to_numpy(), sm.add_constant(codes.to_numpy(float))).fit()
        np.testing.assert_allclose(ols.params[1:], contrast, rtol=1e-10, err_msg=coding)
    # The notes' Helmert form is [2, -1, -1], [0, 1, -1].
    notes = mt.anova.contrasts(levels, "helmert_forward").T.to_numpy().tolist()
    assert notes == [[2, -1, -1], [0, 1, -1]]


def test_a1_ss_types_differ_on_unbalanced_data_and_agree_on_balanced(subjects):
    between = ["treatment", "gender"]
    t1 = mt.anova.factorial(subjects, "value", between, 1)
    t1_rev = mt.anova.factorial(subjects, "value", between[::-1], 1)
    t2 = mt.anova.factorial(subjects, "value", between, 2)
    t3 = mt.anova.factorial(subjects, "value", between, 3)
    assert t1.loc["treatment", "sum_sq"] != pytest.approx(t1_rev.loc["treatment", "sum_sq"])
    assert t2.loc["treatment", "sum_sq"] != pytest.approx(t3.loc["treatment", "sum_sq"])
    # Type II main effect = type I with that factor entered last.
    assert t2.loc["treatment", "sum_sq"] == pytest.approx(t1_rev.loc["treatment", "sum_sq"])
    assert t2.loc["gender", "sum_sq"] == pytest.approx(t1.loc["gender", "sum_sq"])
    balanced = subjects.groupby(between).head(2)
    tables = [mt.anova.factorial(balanced, "value", between, t) for t in (1, 2, 3)]
    for other in tables[1:]:
        np.testing.assert_allclose(other["sum_sq"], tables[0]["sum_sq"], rtol=1e-10)


# ---- A2 ----------------------------------------------------------------------------------------


def test_a2_hlm_null_model_equals_random_effects_anova_on_balanced_data():
    dye = mt.datasets.load("dyestuff").rename(columns={"yield": "y"})
    vc = mt.anova.variance_components(dye, "y", "batch")
    fit = mt.lmer("y ~ 1 + (1 | batch)", dye)
    np.testing.assert_allclose(
        fit.varcorr["vcov"], [vc.sigma2_between, vc.sigma2_within], rtol=1e-6
    )
    # Fixed factor: the fixed intercepts (dummy regression) reproduce the ANOVA F.
    codes = mt.anova.contrasts(sorted(dye["batch"].unique()), "treatment").loc[dye["batch"]]
    ols = sm.OLS(dye["y"].to_numpy(), sm.add_constant(codes.to_numpy(float))).fit()
    assert ols.fvalue == pytest.approx(vc.anova_table.loc["batch", "F"], rel=1e-10)


def test_a2_and_differs_on_unbalanced_data_through_n0():
    dye = mt.datasets.load("dyestuff").rename(columns={"yield": "y"})
    unbalanced = dye.drop(index=[0, 1, 2, 5, 10, 11]).reset_index(drop=True)
    vc = mt.anova.variance_components(unbalanced, "y", "batch")
    fit = mt.lmer("y ~ 1 + (1 | batch)", unbalanced)
    sizes = unbalanced.groupby("batch").size()
    n = sizes.sum()
    assert vc.n0 == pytest.approx((n - (sizes**2).sum() / n) / (len(sizes) - 1))
    assert vc.n0 < sizes.mean()
    reml_tau = fit.varcorr["vcov"].iloc[0]
    assert abs(reml_tau - vc.sigma2_between) / reml_tau > 0.05


# ---- A3 ----------------------------------------------------------------------------------------

DESIGN = dict(n_subjects=24, n_items=16, sd_subject=0.5, sd_item=0.5, sd_residual=1.0)


def test_a3_f1_rejects_a_true_null_far_above_5_percent_when_items_vary():
    rates = mt.stimuli.rejection_rates(10_000, seed=101, sd_item_slope=0.5, **DESIGN)["rate"]
    assert rates["F1 (by subject)"] > 0.10
    assert rates["F2 (by item)"] < 0.05 + 3 * np.sqrt(0.05 * 0.95 / 10_000)
    assert rates["min F'"] < 0.05
    # A random intercept for items is not enough when the condition effect varies by item.
    assert rates["LMM (1|subject) + (1|item)"] > 0.10


def test_a3_more_subjects_make_f1_worse_but_not_f2():
    few = mt.stimuli.rejection_rates(5000, seed=5, sd_item_slope=0.5, **DESIGN)["rate"]
    many = mt.stimuli.rejection_rates(
        5000, seed=6, sd_item_slope=0.5, **dict(DESIGN, n_subjects=96)
    )["rate"]
    assert many["F1 (by subject)"] > few["F1 (by subject)"] + 0.1
    assert abs(many["F2 (by item)"] - 0.05) < 0.015


def test_a3_items_with_only_different_means_do_not_inflate_the_crossed_model():
    rates = mt.stimuli.rejection_rates(10_000, seed=100, **DESIGN)
    lmm = rates.loc["LMM (1|subject) + (1|item)"]
    assert abs(lmm["rate"] - 0.05) < 3 * lmm["mc_se"] + 0.002


def test_a3_enough_items_are_needed_for_power():
    slopes = dict(DESIGN, sd_item_slope=0.5, sd_subject_slope=0.5)
    power = [
        mt.stimuli.rejection_rates(4000, effect=0.3, seed=200 + k, **dict(slopes, n_items=k)).loc[
            "min F'", "rate"
        ]
        for k in (8, 16, 32, 64)
    ]
    assert all(np.diff(power) > 0.05) and power[0] < 0.2 and power[-1] > 0.4


def test_a3_with_subject_and_item_slopes_only_min_f_prime_keeps_the_5_percent_level():
    """Scenario (d) and the item-count curve: F2 and the random-intercept model are inflated."""
    slopes = dict(DESIGN, sd_item_slope=0.5, sd_subject_slope=0.5)
    margin = 3 * np.sqrt(0.05 * 0.95 / 4000)
    for k in (8, 16, 32, 64):
        rates = mt.stimuli.rejection_rates(4000, seed=200 + k, **dict(slopes, n_items=k))["rate"]
        assert rates["min F'"] < 0.05
        assert rates["LMM (1|subject) + (1|item)"] > 0.05 + margin
    rates = mt.stimuli.rejection_rates(10_000, seed=103, **slopes)["rate"]
    assert rates["F2 (by item)"] > 0.05 + 3 * np.sqrt(0.05 * 0.95 / 10_000)
    assert rates["F1 (by subject)"] > 0.10


# ---- A4 ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sleep():
    data = mt.datasets.load("sleepstudy")
    data["day"] = pd.Categorical(data["days"])
    return data


def test_a4_rm_anova_equals_lmm_with_random_subject_intercept_on_balanced_data(sleep):
    rm = mt.anova.rm(sleep, "reaction", "subject", "day").loc["day"]
    lmm = mt.lmer("reaction ~ day + (1 | subject)", sleep).anova().loc["day"]
    assert rm["F"] == pytest.approx(lmm["F"], rel=1e-6)
    assert (rm["num_df"], rm["den_df"]) == (lmm["num_df"], pytest.approx(lmm["den_df"]))


def test_a4_sphericity_is_violated_and_corrections_shrink_the_df(sleep):
    mauchly = mt.anova.mauchly(sleep, "reaction", "subject", "day").loc["day"]
    assert mauchly["p_value"] < 0.001
    row = mt.anova.rm(sleep, "reaction", "subject", "day").loc["day"]
    assert 1 / 9 <= row["eps_gg"] < row["eps_hf"] < 1
    assert row["p_value"] < row["p_hf"] < row["p_gg"]


def test_a4_missing_rows_cost_rm_anova_whole_subjects_but_not_the_lmm(sleep):
    rng = np.random.default_rng(2024)
    gappy = sleep.drop(index=rng.choice(sleep.index, size=18, replace=False))
    with pytest.raises(ValueError, match="lack at least one"):
        mt.anova.rm(gappy, "reaction", "subject", "day")
    complete = gappy.groupby("subject")["day"].transform("size") == 10
    assert gappy.loc[complete, "subject"].nunique() < 18 / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mt.lmer("reaction ~ days + (days | subject)", gappy)
    assert fit.nobs == len(gappy) == 162


def test_a4_a_continuous_within_predictor_has_no_cells_but_fits_as_an_lmm():
    rng = np.random.default_rng(55)
    trials = pd.DataFrame(
        {"subject": np.repeat([f"s{k}" for k in range(10)], 40), "x": rng.normal(size=400)}
    )
    trials["y"] = 2 * trials["x"] + rng.normal(size=10)[trials.index // 40] + rng.normal(size=400)
    with pytest.raises(ValueError, match="lack at least one"):
        mt.anova.rm(trials, "y", "subject", "x")
    fit = mt.lmer("y ~ x + (1 | subject)", trials)
    assert fit.coef_table().loc["x", "p_value"] < 0.001


def test_a4_with_replicates_rm_anova_equals_the_lmm_with_subject_by_condition_intercepts():
    machines = mt.datasets.load("machines")
    with pytest.warns(UserWarning, match="54 rows share a subject and within cell"):
        rm = mt.anova.rm(machines, "score", "worker", "machine").loc["machine"]
    nested = mt.lmer("score ~ machine + (1 | worker/machine)", machines).anova().loc["machine"]
    worker_only = mt.lmer("score ~ machine + (1 | worker)", machines).anova().loc["machine"]
    assert nested["F"] == pytest.approx(rm["F"], rel=1e-6)
    assert nested["den_df"] == pytest.approx(rm["den_df"], rel=1e-6)
    assert worker_only["F"] > 3 * rm["F"] and worker_only["den_df"] == pytest.approx(46)


def test_a3_slopes_for_subjects_only_stay_inflated_slopes_for_both_keep_5_percent():
    """Chapter 5 fits the crossed slope models by simulation (first 300 of its experiments here)."""
    slopes = dict(DESIGN, sd_item_slope=0.5, sd_subject_slope=0.5)
    subject_only = mt.stimuli.lmer_rejection_rate(
        "y ~ cond + (1 + cond || subject) + (1 | item)", 300, seed=1000, **slopes
    )
    both = mt.stimuli.lmer_rejection_rate(
        "y ~ cond + (1 + cond || subject) + (1 + cond || item)",
        300,
        seed=1000,
        **slopes,
    )
    # 300 experiments each: about 10% and 3% rejections; the bounds leave room for a few p-values
    # that land on the other side of 0.05 with another BLAS build
    assert subject_only["rate"] > 0.075
    assert both["rate"] < 0.045
