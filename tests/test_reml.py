"""Tests of the blockwise REML/ML engine against lme4 and a dense N x N computation."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from mixedtools.lmm.reml import (
    LMMStructure,
    from_statsmodels,
    is_valid_tau,
    log_likelihood,
    newton_polish,
    profiled_log_likelihood,
    reml_quantities,
)

REF = json.loads((Path(__file__).parent / "reference" / "reml_reference.json").read_text())


def _fit(formula, data, reml, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smf.mixedlm(formula, data, **kwargs).fit(reml=reml)


def _sleepstudy(reml):
    data = pd.DataFrame(REF["sleepstudy"]["data"])
    res = _fit("Reaction ~ Days", data, reml, groups="Subject", re_formula="~Days")
    structure, tau_sm = from_statsmodels(res)
    vcov = REF["sleepstudy"]["reml" if reml else "ml"]["varcorr"]["vcov"]
    # lme4 order: var(Intercept), var(Days), cov; ours: G[0,0], G[1,0], G[1,1], sigma2
    tau_lme4 = np.array([vcov[0], vcov[2], vcov[1], vcov[3]])
    return structure, tau_sm, tau_lme4


def _pastes(reml):
    data = pd.DataFrame(REF["pastes"]["data"])
    res = _fit(
        "strength ~ 1",
        data,
        reml,
        groups="batch",
        re_formula="1",
        vc_formula={"cask": "0 + C(cask)"},
    )
    structure, tau_sm = from_statsmodels(res)
    vcov = REF["pastes"]["reml" if reml else "ml"]["varcorr"]["vcov"]
    # lme4 order: cask:batch, batch, Residual; ours: G[batch], vc[cask], sigma2
    tau_lme4 = np.array([vcov[1], vcov[0], vcov[2]])
    return structure, tau_sm, tau_lme4


CASES = [
    ("sleepstudy", True, _sleepstudy),
    ("sleepstudy", False, _sleepstudy),
    ("pastes", True, _pastes),
    ("pastes", False, _pastes),
]


@pytest.mark.parametrize(("name", "reml", "build"), CASES)
def test_loglik_and_vcov_equal_lme4_at_lme4_estimates(name, reml, build):
    structure, _, tau_lme4 = build(reml)
    ref = REF[name]["reml" if reml else "ml"]
    qty = reml_quantities(structure, tau_lme4, reml=reml)
    assert qty.loglik == pytest.approx(ref["loglik"], abs=1e-8)
    assert log_likelihood(structure, tau_lme4, reml=reml) == pytest.approx(qty.loglik, rel=1e-11)
    np.testing.assert_allclose(qty.beta, list(ref["fixef"].values()), rtol=1e-9)
    np.testing.assert_allclose(qty.Phi, np.array(ref["vcov"]), rtol=1e-8)


@pytest.mark.parametrize(("name", "reml", "build"), CASES)
def test_score_vanishes_at_lme4_optimum(name, reml, build):
    structure, _, tau_lme4 = build(reml)
    qty = reml_quantities(structure, tau_lme4, reml=reml)
    # the Newton step needed from lme4's optimum is tiny relative to the parameters
    step = np.linalg.solve(qty.info_observed, qty.score)
    assert np.max(np.abs(step) / np.abs(tau_lme4)) < 1e-5


@pytest.mark.parametrize(("name", "reml", "build"), CASES)
def test_newton_polish_from_statsmodels_reaches_lme4(name, reml, build):
    structure, tau_sm, tau_lme4 = build(reml)
    tau = newton_polish(structure, tau_sm, reml=reml)
    # lme4's own optimizer stops about 1e-7..1e-6 short of the exact optimum
    np.testing.assert_allclose(tau, tau_lme4, rtol=1e-5)
    variances = structure.variance_index
    np.testing.assert_allclose(tau[variances], tau_lme4[variances], rtol=1e-6)
    qty = reml_quantities(structure, tau, reml=reml)
    assert qty.loglik >= REF[name]["reml" if reml else "ml"]["loglik"] - 1e-9
    assert np.max(np.abs(np.linalg.solve(qty.info_observed, qty.score)) / tau) < 1e-10


@pytest.mark.parametrize("reml", [True, False])
def test_score_and_observed_information_match_finite_differences(reml):
    structure, _, tau_lme4 = _sleepstudy(reml)
    tau = tau_lme4 * np.array([1.2, 0.5, 0.8, 1.1])  # away from the optimum
    qty = reml_quantities(structure, tau, reml=reml)
    n = len(tau)
    h = 1e-4 * np.abs(tau)

    def ll(t):
        return log_likelihood(structure, t, reml=reml)

    grad = np.array(
        [(ll(tau + h[i] * e) - ll(tau - h[i] * e)) / (2 * h[i]) for i, e in enumerate(np.eye(n))]
    )
    np.testing.assert_allclose(qty.score, grad, rtol=1e-6, atol=1e-9)
    hess = np.empty((n, n))
    for i in range(n):
        ei = np.eye(n)[i] * h[i]
        up = reml_quantities(structure, tau + ei, reml=reml).score
        down = reml_quantities(structure, tau - ei, reml=reml).score
        hess[i] = (up - down) / (2 * h[i])
    np.testing.assert_allclose(qty.info_observed, -hess, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(("name", "reml", "build"), CASES)
def test_profiled_loglik_at_lme4_relative_estimates_is_lme4s(name, reml, build):
    # lme4 profiles sigma^2 out, so its sigma^2 is the maximiser given the relative estimates.
    structure, _, tau_lme4 = build(reml)
    loglik, sigma2 = profiled_log_likelihood(structure, tau_lme4 / tau_lme4[-1], reml=reml)
    assert loglik == pytest.approx(REF[name]["reml" if reml else "ml"]["loglik"], abs=1e-8)
    assert sigma2 == pytest.approx(tau_lme4[-1], rel=1e-7)


@pytest.mark.parametrize("free", [None, np.eye(2, dtype=bool)])
@pytest.mark.parametrize("reml", [True, False])
def test_profiled_loglik_maximises_over_sigma2_and_its_gradient_is_right(free, reml):
    structure = _tiny_structure(free)
    G = np.array([[1.5, 0.3], [0.3, 0.8]]) if free is None else np.diag([1.5, 0.8])
    relative = structure.tau_from(G, [0.7], 1.0)
    loglik, sigma2, gradient = profiled_log_likelihood(structure, relative, reml, score=True)
    assert loglik == pytest.approx(log_likelihood(structure, sigma2 * relative, reml), rel=1e-12)
    for factor in (0.9, 1.1):
        assert log_likelihood(structure, factor * sigma2 * relative, reml) < loglik
    h = 1e-6
    numeric = [
        (
            profiled_log_likelihood(structure, relative + h * e, reml)[0]
            - profiled_log_likelihood(structure, relative - h * e, reml)[0]
        )
        / (2 * h)
        for e in np.eye(structure.n_tau)[:-1]
    ]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-8)
    # the envelope theorem: sigma^2 times the score at the data-scale tau
    score = reml_quantities(structure, sigma2 * relative, reml).score
    np.testing.assert_allclose(gradient, sigma2 * score[:-1], rtol=1e-9, atol=1e-12)


def test_profiled_loglik_outside_the_parameter_space_is_minus_infinity():
    structure = _tiny_structure()
    bad = structure.tau_from(np.array([[1.0, 2.0], [2.0, 1.0]]), [0.7], 1.0)
    loglik, sigma2, gradient = profiled_log_likelihood(structure, bad, score=True)
    assert loglik == -np.inf and np.isnan(sigma2) and np.isnan(gradient).all()


def _tiny_structure(free=None):
    rng = np.random.default_rng(3)
    sizes = [3, 5, 4, 6, 2, 5]
    g = np.repeat(np.arange(len(sizes)), sizes)
    n = g.size
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    Z = np.column_stack([np.ones(n), rng.normal(size=n)])
    vc = rng.integers(0, 2, (n, 2)).astype(float)
    y = X @ [1.0, 2.0, 3.0] + 2.0 * rng.normal(size=n)
    return LMMStructure(y=y, X=X, groups=g, Z=Z, vc=(vc,), free=free)


def _dense_derivatives(structure):
    """dV/dtau_k as dense N x N matrices, built entry by entry from the definitions."""
    n, g = structure.n_obs, structure.groups
    W = np.column_stack([structure.Z, *structure.vc])
    k = structure.k_re
    same = g[:, None] == g[None, :]
    mats = []
    for a, b in structure.g_entries:
        m = np.outer(W[:, a], W[:, b])
        mats.append(same * (m + m.T if a != b else m))
    start = k
    for v in structure.vc:
        m_c = v.shape[1]
        mats.append(same * (W[:, start : start + m_c] @ W[:, start : start + m_c].T))
        start += m_c
    mats.append(np.eye(n))
    return mats


@pytest.mark.parametrize("free", [None, np.eye(2, dtype=bool)])
@pytest.mark.parametrize("reml", [True, False])
def test_blockwise_equals_dense_computation(free, reml):
    structure = _tiny_structure(free)
    G = np.array([[1.5, 0.3], [0.3, 0.8]]) if free is None else np.diag([1.5, 0.8])
    tau = structure.tau_from(G, [0.7], 1.2)
    Vk = _dense_derivatives(structure)
    V = sum(t * m for t, m in zip(tau, Vk, strict=True))
    X, y = structure.X, structure.y
    Vi = np.linalg.inv(V)
    Phi = np.linalg.inv(X.T @ Vi @ X)
    beta = Phi @ X.T @ Vi @ y
    u = Vi @ (y - X @ beta)
    P = Vi - Vi @ X @ Phi @ X.T @ Vi
    n, p = X.shape
    core = np.linalg.slogdet(V)[1] + (y - X @ beta) @ u
    if reml:
        loglik = -0.5 * ((n - p) * np.log(2 * np.pi) + core + np.linalg.slogdet(X.T @ Vi @ X)[1])
        proj = P
    else:
        loglik = -0.5 * (n * np.log(2 * np.pi) + core)
        proj = Vi
    score = [-0.5 * np.trace(proj @ a) + 0.5 * u @ a @ u for a in Vk]
    info_e = [[0.5 * np.trace(proj @ a @ proj @ b) for b in Vk] for a in Vk]
    info_o = [[-0.5 * np.trace(proj @ a @ proj @ b) + u @ a @ P @ b @ u for b in Vk] for a in Vk]
    M = [X.T @ Vi @ a @ Vi @ X for a in Vk]
    Q = [[X.T @ Vi @ a @ Vi @ b @ Vi @ X for b in Vk] for a in Vk]

    qty = reml_quantities(structure, tau, reml=reml)
    assert qty.loglik == pytest.approx(loglik, rel=1e-12)
    for mine, dense in [
        (qty.beta, beta),
        (qty.Phi, Phi),
        (qty.score, score),
        (qty.info_expected, info_e),
        (qty.info_observed, info_o),
        (qty.M, M),
        (qty.Q, Q),
        (qty.J, [Phi @ m @ Phi for m in M]),
    ]:
        dense = np.asarray(dense)
        np.testing.assert_allclose(mine, dense, rtol=0, atol=1e-10 * np.abs(dense).max())


def test_singular_G_is_handled():
    structure = _tiny_structure()
    G = np.array([[1.0, 1.0], [1.0, 1.0]])  # correlation exactly 1
    tau = structure.tau_from(G, [0.0], 1.0)
    qty = reml_quantities(structure, tau)
    tau_pert = structure.tau_from(G + 1e-7 * np.eye(2), [1e-7], 1.0)
    assert qty.loglik == pytest.approx(log_likelihood(structure, tau_pert), abs=1e-5)


def test_tau_names_and_row_major_order():
    structure = _tiny_structure()
    assert structure.tau_names == ("G[0,0]", "G[1,0]", "G[1,1]", "vc[vc0]", "sigma2")
    assert structure.tau_from([[1, 2], [2, 3]], [4], 5).tolist() == [1, 2, 3, 4, 5]
    uncorrelated = _tiny_structure(free=np.eye(2, dtype=bool))
    assert uncorrelated.tau_names == ("G[0,0]", "G[1,1]", "vc[vc0]", "sigma2")


def test_bad_input_is_rejected_with_clear_errors():
    structure = _tiny_structure()
    with pytest.raises(ValueError, match="tau must have length 5"):
        reml_quantities(structure, [1.0, 1.0])
    with pytest.raises(ValueError, match="outside the parameter space"):
        reml_quantities(structure, structure.tau_from([[1, 3], [3, 1]], [0.5], 1.0))
    with pytest.raises(ValueError, match="outside the parameter space"):
        reml_quantities(structure, structure.tau_from(np.eye(2), [-0.5], 1.0))
    assert not is_valid_tau(structure, structure.tau_from(np.eye(2), [0.5], 0.0))
    assert log_likelihood(structure, structure.tau_from(np.eye(2), [-1], 1.0)) == -np.inf
    n = structure.n_obs
    with pytest.raises(ValueError, match="integer codes"):
        LMMStructure(y=structure.y, X=structure.X, groups=np.zeros(n), Z=structure.Z)
    with pytest.raises(ValueError, match="X must have"):
        LMMStructure(y=structure.y, X=structure.X[:-1], groups=structure.groups, Z=structure.Z)
    with pytest.raises(ValueError, match="no random effects"):
        LMMStructure(y=structure.y, X=structure.X, groups=structure.groups, Z=np.zeros((n, 0)))
    with pytest.raises(ValueError, match="empty group"):
        groups = structure.groups.copy()
        groups[groups == 2] = 1
        reml_quantities(
            LMMStructure(y=structure.y, X=structure.X, groups=groups, Z=structure.Z),
            [1.0, 0.0, 1.0, 1.0],
        )


def test_newton_polish_moves_a_small_variance_onto_the_boundary():
    # y has no group effect: the ML estimate of the group variance is exactly zero
    rng = np.random.default_rng(8)
    g = np.repeat(np.arange(10), 6)
    x = rng.normal(size=60)
    x = x - (np.bincount(g, x) / 6)[g]
    y = 1 + x + rng.normal(size=60)
    y = y - (np.bincount(g, y) / 6)[g] + y.mean()  # group means all equal
    structure = LMMStructure(y=y, X=np.column_stack([np.ones(60), x]), groups=g, Z=np.ones((60, 1)))
    for reml in (True, False):
        tau = newton_polish(structure, [0.05, 1.0], reml=reml, steps=10)
        assert tau[0] == 0.0
        qty = reml_quantities(structure, tau, reml=reml)
        assert qty.score[0] < 0  # the likelihood would rise only for a negative variance
        assert abs(qty.score[1]) < 1e-8 * qty.info_expected[1, 1]


def test_raw_crossproducts_keep_their_meaning():
    structure = _tiny_structure()
    C, sizes = structure._crossprods
    M = np.column_stack([structure.Z, *structure.vc, structure.X, structure.y])
    for j in range(structure.n_groups):
        rows = M[structure.groups == j]
        np.testing.assert_allclose(C[j], rows.T @ rows, rtol=1e-12)
        assert sizes[j] == len(rows)


def test_a_large_mean_of_y_costs_no_accuracy():
    structure = _tiny_structure()
    shifted = LMMStructure(
        y=structure.y + 1e8,
        X=structure.X,
        groups=structure.groups,
        Z=structure.Z,
        vc=structure.vc,
    )
    tau = structure.tau_from(np.array([[1.5, 0.3], [0.3, 0.8]]), [0.7], 1.2)
    a, b = reml_quantities(structure, tau), reml_quantities(shifted, tau)
    # y + 1e8 itself is stored only to ~1e-8: that is the accuracy left to expect
    assert b.loglik == pytest.approx(a.loglik, rel=1e-9)
    np.testing.assert_allclose(b.score, a.score, rtol=1e-6)
    np.testing.assert_allclose(b.info_observed, a.info_observed, rtol=1e-6)
    np.testing.assert_allclose(b.beta - a.beta, [1e8, 0, 0], atol=1e-6)
