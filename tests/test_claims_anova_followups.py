"""Chapter 5's claims about effect sizes, follow-up tests, marginal means and stimulus power.

Each test recomputes with mixedtools (seeded) the fact the chapter states; R's numbers for the same
data are checked in tests/test_anova_chapter_reference.py and tests/test_emmeans.py.
"""

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

SCENARIO_D = dict(sd_subject=0.5, sd_item=0.5, sd_subject_slope=0.5, sd_item_slope=0.5)


@pytest.fixture(scope="module")
def subjects():
    obk = mt.datasets.load("obrien_kaiser")
    return obk.groupby(["id", "treatment", "gender"], as_index=False)["value"].mean()


def test_generalised_eta2_of_a_within_factor_is_the_eta2_of_a_between_design():
    """Partial eta squared of day (RM) is far larger than the eta squared the same day means give
    when the 180 rows are analysed as independent groups; ges equals the latter exactly."""
    sleep = mt.datasets.load("sleepstudy")
    sleep["day"] = pd.Categorical(sleep["days"])
    sizes = mt.anova.effect_sizes(mt.anova.rm(sleep, "reaction", "subject", within="day"))
    between = mt.anova.oneway(sleep, dv="reaction", between="day")
    eta2_between = between.loc["day", "sum_sq"] / between["sum_sq"].sum()
    assert sizes.loc["day", "ges"] == pytest.approx(eta2_between, rel=1e-10)
    assert sizes.loc["day", "eta2_partial"] > 1.7 * sizes.loc["day", "ges"]


def test_ges_equals_partial_eta2_when_all_factors_are_manipulated_and_not_otherwise(subjects):
    table = mt.anova.factorial(subjects, "value", ["treatment", "gender"], 3)
    np.testing.assert_allclose(table["ges"].dropna(), table["eta2_partial"].dropna())
    observed = mt.anova.effect_sizes(table, observed="gender")
    assert (observed["ges"] < observed["eta2_partial"] - 0.05).all()
    assert (observed["omega2_partial"] < observed["eta2_partial"]).all()


def test_a_planned_contrast_finds_what_the_omnibus_f_and_the_pairwise_tests_do_not(subjects):
    omnibus = mt.anova.oneway(subjects, dv="value", between="treatment")
    assert omnibus.loc["treatment", "p_value"] > 0.05
    planned = mt.anova.planned(
        subjects, "value", "treatment", {"A, B vs control": [0.5, 0.5, -1], "A vs B": [1, -1, 0]}
    )
    assert planned.loc["A, B vs control", "p_value"] < 0.05
    for method in ("tukey", "holm"):
        pairs = mt.anova.posthoc(subjects, "value", "treatment", method=method)
        assert (pairs["p_value"] > 0.1).all(), method
    # Holm is never less powerful than Bonferroni; here Tukey's p-values are the smaller ones
    holm = mt.anova.posthoc(subjects, "value", "treatment", method="holm")
    bonf = mt.anova.posthoc(subjects, "value", "treatment", method="bonferroni")
    assert (holm["p_value"].to_numpy() <= bonf["p_value"].to_numpy() + 1e-12).all()


def test_split_plot_emmeans_take_their_df_from_the_error_strata():
    """Between-subject contrasts get the subjects' df (16 - 6 cells = 10), within-subject contrasts
    the subject x phase df (2 x 10 = 20); Satterthwaite and Kenward-Roger agree on this design."""
    obk = mt.datasets.load("obrien_kaiser")
    fit = mt.lmer("value ~ treatment * gender * phase + (1 | id) + (1 | id:phase)", obk)
    for ddf in ("satterthwaite", "kenward-roger"):
        between = mt.emmeans(fit, "treatment", ddf=ddf).pairs("tukey")
        within = mt.emmeans(fit, "phase", by="treatment", ddf=ddf).pairs("tukey")
        np.testing.assert_allclose(between["df"], 10, rtol=1e-6)
        np.testing.assert_allclose(within["df"], 20, rtol=1e-6)
    emm = mt.emmeans(fit, "phase", by="treatment").table.set_index(["treatment", "phase"])
    cell = obk[(obk.treatment == "B") & (obk.phase == "fup")]
    by_gender = cell.groupby("gender")["value"].mean()
    # gender is averaged with equal weights, not by its frequency in group B (4 women, 3 men)
    assert emm.loc[("B", "fup"), "emmean"] == pytest.approx(by_gender.mean(), rel=1e-10)
    assert abs(emm.loc[("B", "fup"), "emmean"] - cell["value"].mean()) > 0.005


def test_stimulus_power_needs_items_more_subjects_cannot_replace():
    many = mt.sim.stimulus_power([24, 96, 1000], [16, 64], effect=0.3, **SCENARIO_D)
    p = many.set_index(["n_subjects", "n_items"])["power"]
    assert p[(1000, 16)] < 0.8  # 16 items: no number of subjects reaches 80 %
    assert p[(96, 64)] > 0.9  # 96 subjects and 64 items do
    assert p[(24, 64)] > p[(96, 16)]  # four times the items beat four times the subjects


@pytest.mark.parametrize(("n_subjects", "n_items"), [(24, 16), (48, 32), (96, 16)])
def test_analytic_stimulus_power_agrees_with_simulation(n_subjects, n_items):
    analytic = mt.sim.stimulus_power(n_subjects, n_items, effect=0.3, **SCENARIO_D)
    sim = mt.sim.quasi_f_rejection_rate(
        2000, n_subjects, n_items, effect=0.3, seed=n_subjects + n_items, **SCENARIO_D
    )
    assert abs(sim["rate"] - analytic["power"].iloc[0]) < 3.5 * sim["mc_se"]


def test_the_power_formula_is_optimistic_with_few_subjects():
    """With 12 subjects (and 16 items) the Satterthwaite approximation overstates the power."""
    analytic = mt.sim.stimulus_power(12, 16, effect=0.3, **SCENARIO_D)["power"].iloc[0]
    sim = mt.sim.quasi_f_rejection_rate(4000, 12, 16, effect=0.3, seed=136, **SCENARIO_D)
    assert analytic - sim["rate"] > 2 * sim["mc_se"]
