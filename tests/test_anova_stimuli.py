"""mixedtools.sim.stimuli: Latin-square subjects x items simulation and F1 / F2 / min F' / LMM."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import mixedtools as mt
from mixedtools.lmm.fit import SingularFitWarning


def test_design_is_a_balanced_latin_square():
    data = mt.stimuli.latin_square(n_subjects=6, n_items=8, seed=1)
    assert len(data) == 48 and not data.duplicated(["subject", "item"]).any()
    assert (data.groupby("subject")["cond"].sum() == 0).all()
    assert (data.groupby("item")["cond"].sum() == 0).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_closed_form_mixed_model_equals_mt_lmer_satterthwaite(seed):
    data = mt.stimuli.latin_square(
        n_subjects=12, n_items=8, sd_item_slope=0.5, sd_subject_slope=0.4, seed=seed
    )
    row = mt.stimuli.analyses(data).loc["LMM (1|subject) + (1|item)"]
    fit = mt.lmer("y ~ cond + (1 | subject) + (1 | item)", data)
    assert (fit.varcorr["vcov"] > 0).all()
    coef = fit.coef_table(ddf="satterthwaite").loc["cond"]
    assert row["F"] == pytest.approx(coef["t"] ** 2, rel=1e-6)
    assert row["den_df"] == pytest.approx(coef["df"], rel=1e-6)
    assert row["p_value"] == pytest.approx(coef["p_value"], rel=1e-6)


def test_f1_f2_are_the_by_subject_and_by_item_paired_tests():
    data = mt.stimuli.latin_square(n_subjects=10, n_items=6, sd_item_slope=0.3, seed=4)
    table = mt.stimuli.analyses(data)
    for unit, name in (("subject", "F1 (by subject)"), ("item", "F2 (by item)")):
        means = data.pivot_table(index=unit, columns="condition", values="y")
        t = stats.ttest_rel(means["B"], means["A"])
        assert table.loc[name, "F"] == pytest.approx(t.statistic**2)
        assert table.loc[name, "p_value"] == pytest.approx(t.pvalue)
    # F1 is the repeated-measures ANOVA of the subject x condition means.
    rm = mt.anova.rm(
        data.groupby(["subject", "condition"], as_index=False)["y"].mean(),
        "y",
        "subject",
        "condition",
    )
    assert rm.loc["condition", "F"] == pytest.approx(table.loc["F1 (by subject)", "F"])
    f1, f2 = table["F"].iloc[:2]
    assert table.loc["min F'", "F"] == pytest.approx(f1 * f2 / (f1 + f2))


def test_lmm_closed_form_is_the_additive_fixed_effects_test():
    data = mt.stimuli.latin_square(n_subjects=8, n_items=8, seed=9)
    ols = smf.ols("y ~ cond + C(subject) + C(item)", data).fit()
    row = mt.stimuli.analyses(data).loc["LMM (1|subject) + (1|item)"]
    assert row["F"] == pytest.approx(ols.tvalues["cond"] ** 2)
    assert row["den_df"] == ols.df_resid


def test_rejection_rates_match_single_analyses_and_are_seeded():
    a = mt.stimuli.rejection_rates(300, n_subjects=8, n_items=6, sd_item_slope=0.5, seed=3)
    b = mt.stimuli.rejection_rates(300, n_subjects=8, n_items=6, sd_item_slope=0.5, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert np.allclose(a["mc_se"], np.sqrt(a["rate"] * (1 - a["rate"]) / 300))
    assert a.attrs["n_reps"] == 300


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(n_subjects=5), "even integer"),
        (dict(n_items=2), "even integer"),
        (dict(sd_item=-1.0), "non-negative"),
        (dict(sd_residual=0.0), "positive"),
    ],
)
def test_bad_design_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mt.stimuli.latin_square(**kwargs)


def test_bad_data_for_analyses():
    data = mt.stimuli.latin_square(n_subjects=4, n_items=4, seed=0)
    with pytest.raises(ValueError, match="lacks"):
        mt.stimuli.analyses(data.drop(columns="cond"))
    with pytest.raises(ValueError, match="every item once"):
        mt.stimuli.analyses(data.iloc[1:])
    with pytest.raises(ValueError, match="n_reps"):
        mt.stimuli.rejection_rates(0)


def test_lmer_rejection_rate_agrees_with_the_closed_form_for_the_intercept_model():
    settings = dict(n_subjects=8, n_items=8, sd_item_slope=0.8)
    out = mt.stimuli.lmer_rejection_rate(
        "y ~ cond + (1 | subject) + (1 | item)", 12, seed=20, **settings
    )
    closed = [
        mt.stimuli.analyses(mt.stimuli.latin_square(**settings, seed=20 + k)).loc[
            "LMM (1|subject) + (1|item)", "p_value"
        ]
        < 0.05
        for k in range(12)
    ]
    assert out["n_failed"] == 0 and out["n_reps"] == 12
    assert out["rate"] == pytest.approx(np.mean(closed))
    assert 0 < out["rate"] < 1
    with pytest.raises(ValueError, match="n_reps"):
        mt.stimuli.lmer_rejection_rate("y ~ cond + (1 | subject)", 0)


def test_chapter_5_singular_maximal_fit_matches_lme4():
    """The maximal crossed model on data without condition slopes: singular, as in lme4."""
    reference_dir = Path(__file__).parent / "reference"
    ref = json.loads((reference_dir / "anova_singular_maximal.json").read_text())
    data = mt.stimuli.latin_square(
        n_subjects=24, n_items=16, sd_subject=0.5, sd_item=0.5, sd_residual=1.0, seed=11
    )
    saved = pd.read_csv(reference_dir / "anova_singular_maximal.csv")
    np.testing.assert_allclose(data["y"], saved["y"], rtol=1e-12)
    assert (data["subject"] == saved["subject"]).all() and (data["item"] == saved["item"]).all()
    with pytest.warns(SingularFitWarning):
        fit = mt.lmer("y ~ cond + (1 + cond | subject) + (1 + cond | item)", data)
    assert fit.singular and ref["is_singular"]
    assert -2 * fit.loglik == pytest.approx(ref["reml_criterion"], rel=1e-7)
    sdcor = fit.varcorr["sdcor"].to_numpy()
    expected = np.array(list(ref["sdcor"].values()))
    # intercept and residual SDs, and the correlations at +-1, agree closely; the slope SDs sit
    # at the boundary (about 0.004 and 0.008), where the optimum is flat: absolute tolerance
    np.testing.assert_allclose(sdcor[[0, 2, 3, 5, 6]], expected[[0, 2, 3, 5, 6]], rtol=1e-4)
    np.testing.assert_allclose(sdcor[[1, 4]], expected[[1, 4]], atol=1e-4)
    np.testing.assert_allclose(fit.fixef, list(ref["fixef"].values()), rtol=1e-5)


def test_lmer_rejection_rate_does_not_depend_on_the_number_of_workers():
    kwargs = dict(n_subjects=8, n_items=8, sd_item_slope=0.5, effect=0.5, seed=3)
    formula = "y ~ cond + (1 + cond || subject) + (1 | item)"
    one = mt.stimuli.lmer_rejection_rate(formula, 6, max_workers=1, **kwargs)
    two = mt.stimuli.lmer_rejection_rate(formula, 6, max_workers=2, **kwargs)
    columns = ["rate", "n_reps", "n_singular", "n_failed"]
    assert one[columns].to_dict() == two[columns].to_dict()


def test_lmer_rejection_rate_refuses_zero_workers():
    with pytest.raises(ValueError, match="max_workers"):
        mt.stimuli.lmer_rejection_rate("y ~ cond + (1 | subject) + (1 | item)", 2, max_workers=0)
