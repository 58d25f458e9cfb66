"""The sparse PLS engine (mt.pls) agrees with the blockwise engine (mt.reml).

Both compute the same likelihood and its derivatives; on a model both can hold (one grouping
factor, or factors nested in one) every quantity the df methods use must agree.
"""

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt
from mixedtools import reml
from mixedtools.lmm.fit import SingularFitWarning
from mixedtools.lmm.pls import PLSStructure, PLSTerm, fit_pls


def both_layouts(formula, data):
    blockwise = mt.lmer(formula, data, optimizer="statsmodels")
    design = blockwise.design
    codes = {}
    terms = []
    if design.Z.shape[1]:
        terms.append(
            PLSTerm(
                design.block_name,
                design.block_codes,
                design.block_levels,
                design.Z,
                tuple(design.re_names),
            )
        )
    for vc in design.vcs:
        # one column per row: the variance component's own level codes
        col = np.argmax(vc.matrix != 0, axis=1)
        level = vc.level_codes[design.block_codes, col]
        codes[vc.group] = level
        value = vc.matrix[np.arange(len(level)), col][:, None]
        terms.append(PLSTerm(vc.group, level, vc.levels, value, (vc.effect,)))
    sparse = PLSStructure(design.y, design.X, terms, fe_names=design.fe_names)
    return blockwise, sparse


@pytest.mark.parametrize(
    ("data_name", "formula"),
    [
        ("sleepstudy", "reaction ~ days + (days | subject)"),
        ("pastes", "strength ~ 1 + (1 | batch) + (1 | batch:cask)"),
    ],
)
@pytest.mark.parametrize("is_reml", [True, False])
def test_same_likelihood_score_and_information(data_name, formula, is_reml):
    blockwise, sparse = both_layouts(formula, mt.datasets.load(data_name))
    structure = blockwise.structure
    tau = blockwise.tau * np.linspace(0.8, 1.3, len(blockwise.tau))  # away from the optimum
    a = reml.reml_quantities(structure, tau, is_reml)
    b = sparse.quantities(tau, is_reml)
    assert b.loglik == pytest.approx(a.loglik, rel=1e-12)
    assert reml.log_likelihood(sparse, tau, is_reml) == pytest.approx(a.loglik, rel=1e-12)
    for name in ("beta", "Phi", "score", "info_expected", "info_observed", "M", "Q"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-8, atol=1e-10)


def test_profiled_deviance_is_lme4s_criterion():
    sleep = mt.datasets.load("sleepstudy")
    fit = mt.lmer("reaction ~ days + (days | subject)", sleep)
    _, sparse = both_layouts("reaction ~ days + (days | subject)", sleep)
    tau, success = fit_pls(sparse, reml=True)
    assert success
    theta = sparse.theta_from_tau(tau)
    # REML criterion at the optimum = -2 x REML log-likelihood
    assert sparse.deviance(theta, reml=True) == pytest.approx(-2 * fit.loglik, rel=1e-9)


def test_structure_checks_its_input():
    with pytest.raises(ValueError, match="no random-effects terms"):
        PLSStructure(np.ones(4), np.ones((4, 1)), [])
    term = PLSTerm("g", np.array([0, 0, 1, 1]), np.array(["a", "b"]), np.ones((4, 1)), ("I",))
    with pytest.raises(ValueError, match="finite"):
        PLSStructure(np.array([1.0, np.nan, 2, 3]), np.ones((4, 1)), [term])
    s = PLSStructure(np.array([1.0, 2, 2, 4]), np.ones((4, 1)), [term])
    with pytest.raises(ValueError, match="outside the parameter space"):
        s.quantities([-1.0, 1.0])
    assert s.log_likelihood([-1.0, 1.0]) == -np.inf


def test_level_df_rules_need_nested_factors():
    pen = mt.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", mt.datasets.load("penicillin"))
    for method in ("hlm", "nlme"):
        with pytest.raises(NotImplementedError, match="nested.*crossed"):
            pen.coef_table(ddf=method)
    # nested factors: both rules apply, as with the blockwise layout
    pastes = mt.lmer("strength ~ 1 + (1 | batch/cask)", mt.datasets.load("pastes"))
    assert pastes.coef_table(ddf="nlme")["df"].tolist() == [30.0]
    assert pastes.coef_table(ddf="hlm")["df"].tolist() == [9.0]


def test_too_many_effects_outside_the_largest_term_are_refused(monkeypatch):
    from mixedtools import pls

    monkeypatch.setattr(pls, "_MAX_DENSE", 5)
    with pytest.raises(ValueError, match="sample.*number 6.*dense 6 x 6"):
        mt.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", mt.datasets.load("penicillin"))


@pytest.mark.parametrize("min_q", [0, 10**9])
def test_both_searches_reach_lme4s_optimum(monkeypatch, min_q):
    # large models with many parameters use a model-based search (COBYQA), others L-BFGS-B
    import json
    from pathlib import Path

    import pandas as pd

    from mixedtools.lmm import optimize

    monkeypatch.setattr(optimize, "_MODEL_BASED_MIN_Q", min_q)
    here = Path(__file__).parent / "reference"
    ref = json.loads((here / "lmer_reference.json").read_text())["fits"]["growth"]
    data = pd.read_csv(here / "engine_growth.csv", dtype={"child": str})
    fit = mt.lmer("y ~ year * female + (year | school) + (year | child:school)", data)
    assert fit.loglik == pytest.approx(ref["loglik"], rel=1e-10)
    assert fit.converged


def _three_level(n_school, n_child, n_year, seed):
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(n_school), n_child * n_year)
    child = np.repeat(np.arange(n_school * n_child), n_year)
    year = np.tile(np.arange(n_year, dtype=float), n_school * n_child)
    y = (
        rng.normal(size=n_school)[school]
        + rng.normal(scale=0.3, size=n_school)[school] * year
        + rng.normal(size=n_school * n_child)[child]
        + rng.normal(scale=0.2, size=n_school * n_child)[child] * year
        + rng.normal(size=len(year))
    )
    Z = np.column_stack([np.ones_like(year), year])
    terms = [
        PLSTerm("school", school, np.arange(n_school), Z, ("Intercept", "year")),
        PLSTerm("child", child, np.arange(n_school * n_child), Z, ("Intercept", "year")),
    ]
    X = np.column_stack([np.ones_like(year), year])
    return PLSStructure(y, X, terms)


def test_nested_outer_factors_are_factored_block_by_block_with_the_dense_result():
    s = _three_level(100, 30, 3, seed=4)
    components = s._rest_components
    assert components is not None and [c.shape for c in components] == [(100, 2)]
    theta = np.array([0.8, 0.1, 0.3, 0.6, -0.05, 0.2])
    blockwise = s.factor(s.factors_from_theta(theta))
    deviance = s.deviance(theta)
    s.__dict__["_rest_components"] = None  # the dense factorisation
    dense = s.factor(s.factors_from_theta(theta))
    np.testing.assert_allclose(blockwise.L22, dense.L22, rtol=1e-12, atol=1e-14)
    assert s.deviance(theta) == pytest.approx(deviance, rel=1e-12)


def test_crossed_factors_keep_the_dense_schur_complement():
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 1500, 6000), rng.integers(0, 200, 6000)
    one = np.ones((6000, 1))
    terms = [
        PLSTerm("a", a, np.arange(1500), one, ("Intercept",)),
        PLSTerm("b", b, np.arange(200), one, ("Intercept",)),
    ]
    s = PLSStructure(rng.normal(size=6000), one, terms)
    assert s._rest_components is None


def test_a_fit_with_two_correlations_at_the_bound_reaches_the_optimum():
    # correlations +1 (school) and -1 (child): the first search stops on a flat ridge next to
    # the bounds, where the Newton finish holds the bounded entries; the restart must get there
    rng = np.random.default_rng(7)
    school = np.repeat(np.arange(30), 40)
    child = np.repeat(np.arange(300), 4)
    year = np.tile(np.arange(4.0), 300)
    y = rng.normal(size=30)[school] + rng.normal(size=300)[child] + 0.5 * year
    data = pd.DataFrame(
        {
            "y": y + rng.normal(size=1200),
            "year": year,
            "school": school.astype(str),
            "child": child.astype(str),
        }
    )
    with pytest.warns(SingularFitWarning):
        fit = mt.lmer("y ~ year + (year | school) + (year | child:school)", data)
    assert fit.converged
    s = fit.structure
    tau, _ = fit_pls(s, reml=True, model_based=True, final_radius=1e-8)
    assert fit.loglik >= reml.log_likelihood(s, tau, True) - 1e-7
