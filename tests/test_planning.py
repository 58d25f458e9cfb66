"""Design and power planning: closed forms, the budget optimum, and seeded simulation checks."""

import math

import numpy as np
import pytest

import mixedtools as mt
from mixedtools.lmm import planning


def test_design_effects():
    assert planning.design_effect(25, 0.2) == pytest.approx(5.8)
    assert planning.design_effect(1, 0.9) == 1.0
    assert planning.design_effect_slope(25, 1.0, 0.2) == pytest.approx(5.8)  # level-2 predictor
    assert planning.design_effect_slope(25, 0.0, 0.2) == 1.0  # group-mean centred
    with pytest.raises(ValueError, match="icc"):
        planning.design_effect(10, 1.5)


def test_effect_se_closed_forms():
    # level 2: (tau2 + sigma2 / n) / (K p (1 - p))
    assert planning.effect_se(30, 10, 0.2, p=0.5) == pytest.approx(math.sqrt((0.2 + 0.08) / 7.5))
    assert planning.effect_se(30, 10, 0.2, total_var=4) == pytest.approx(
        2 * planning.effect_se(30, 10, 0.2)
    )
    # level 1: (slope_var + sigma2 / (n p (1 - p))) / K
    se1 = planning.effect_se(30, 10, 0.2, level=1, slope_var=0.05)
    assert se1 == pytest.approx(math.sqrt((0.05 + 0.8 / 2.5) / 30))
    with pytest.raises(ValueError, match="level"):
        planning.effect_se(30, 10, 0.2, level=3)
    with pytest.raises(ValueError, match="slope_var"):
        planning.effect_se(30, 10, 0.2, level=2, slope_var=0.1)
    with pytest.raises(ValueError, match="k must be"):
        planning.effect_se(1.5, 10, 0.2)


def test_power_from_se():
    assert planning.power_from_se(0.0, 0.1) == pytest.approx(0.05)
    assert planning.power_from_se(0.0, 0.1, df=10) == pytest.approx(0.05)
    z = planning.power_from_se(0.28, 0.1)
    assert z == pytest.approx(0.80, abs=0.002)  # (1.96 + 0.84) SE
    assert planning.power_from_se(0.28, 0.1, df=20) < z


def test_optimal_group_size_minimises_the_se_under_the_budget():
    icc, c1, c2, budget = 0.15, 1.0, 20.0, 10_000
    n_opt = planning.optimal_group_size(icc, c1, c2)
    assert n_opt == pytest.approx(math.sqrt(20 * 0.85 / 0.15))

    def var(n):  # continuous K
        return (icc + (1 - icc) / n) * (c2 + n * c1) / budget

    grid = np.linspace(2, 60, 5801)
    assert grid[np.argmin([var(n) for n in grid])] == pytest.approx(n_opt, abs=0.01)
    table = planning.budget_table(budget, c1, c2, icc, effect=0.3)
    assert table.attrs["n_opt"] == pytest.approx(n_opt)
    assert (table.cost <= budget).all()
    best = table.loc[table.se.idxmin(), "n"]
    assert abs(best - n_opt) <= 2  # integer K moves the discrete optimum a little
    assert list(table.columns) == ["n", "k", "cost", "se", "df", "power_z", "power_t"]
    assert (table.power_t <= table.power_z + 1e-12).all()


def test_budget_table_level1_and_bad_budget():
    t = planning.budget_table(5000, 1, 10, 0.1, 0.2, level=1, slope_var=0.02)
    assert t.attrs["n_opt"] == pytest.approx(math.sqrt(10 * 0.9 / (0.02 * 0.25)))
    assert (t.df == t.k - 1).all()
    t0 = planning.budget_table(5000, 1, 10, 0.1, 0.2, level=1, n_values=[10])
    assert math.isinf(t0.attrs["n_opt"]) and t0.df[0] == t0.k[0] * 9 - 1
    with pytest.raises(ValueError, match="fewer than 3 groups"):
        planning.budget_table(20, 1, 10, 0.1, 0.2, n_values=[5])


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"k": 12, "n": 5, "icc": 0.2, "level": 2, "effect": 0.5},
        {"k": 10, "n": 6, "icc": 0.3, "level": 1, "effect": 0.3},
    ],
)
def test_analytic_se_and_power_agree_with_simulation(kwargs):
    res = mt.simulate.design_se_study(**kwargs, n_rep=200, seed=11)
    assert abs(res.empirical_sd - res.analytic_se) < 3 * res.empirical_sd_mcse
    assert abs(res.rejection_rate - res.analytic_power) < 3 * max(res.rejection_mcse, 0.01)
    # the model's own SE is close to the analytic one on average (REML, balanced)
    assert res.mean_model_se == pytest.approx(res.analytic_se, rel=0.1)


def test_design_effect_of_ols_slope_by_simulation():
    res = mt.simulate.design_effect_study(k=100, n=10, icc_x=0.5, icc_y=0.3, n_rep=1000, seed=3)
    assert abs(res.empirical - res.formula) < 3 * res.empirical_mcse
    # and it is seeded
    again = mt.simulate.design_effect_study(k=100, n=10, icc_x=0.5, icc_y=0.3, n_rep=1000, seed=3)
    assert again.equals(res)
