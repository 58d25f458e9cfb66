"""The bounded, profiled optimiser of mixedtools.lmm.optimize (lme4's approach)."""

import numpy as np
import pytest

from mixedtools import reml
from mixedtools.lmm.optimize import bounded_refit, neutral_start


def _structure(free=None, seed=3):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(15), 6)
    n = g.size
    x = rng.normal(size=n)
    X = np.column_stack([np.ones(n), x])
    Z = np.column_stack([np.ones(n), x])
    vc = rng.integers(0, 2, (n, 2)).astype(float)
    b = rng.normal(size=(15, 2))
    y = X @ [1.0, 0.5] + b[g, 0] + b[g, 1] * x + rng.normal(size=n)
    return reml.LMMStructure(y=y, X=X, groups=g, Z=Z, vc=(vc,), free=free)


@pytest.mark.parametrize("free", [None, np.eye(2, dtype=bool)])
def test_gradient_in_the_cholesky_parameters_matches_finite_differences(free):
    structure = _structure(free)
    theta = np.array([0.8, 0.3, 0.5, 0.6])  # L[0,0], L[1,0], L[1,1], sd of the component

    def deviance(t):
        return structure.deviance(t, reml=True)

    value, gradient = structure.deviance(theta, reml=True, gradient=True)
    assert value == deviance(theta)
    h = 1e-6
    numeric = [(deviance(theta + h * e) - deviance(theta - h * e)) / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6)


@pytest.mark.parametrize("reml_flag", [True, False])
def test_the_optimum_is_a_stationary_point_of_the_full_likelihood(reml_flag):
    structure = _structure()
    tau, converged = bounded_refit(
        structure, neutral_start(structure), reml=reml_flag, return_success=True
    )
    assert converged
    # At an interior optimum the (unprofiled) score vanishes, sigma^2 included.
    qty = reml.reml_quantities(structure, tau, reml=reml_flag)
    free = ~reml.boundary_mask(structure, tau)
    step = np.linalg.solve(qty.info_observed[np.ix_(free, free)], qty.score[free])
    assert np.max(np.abs(step) / np.abs(tau[free])) < 1e-4


def test_a_wrong_length_is_named():
    with pytest.raises(ValueError, match="relative_tau must have length 5"):
        reml.profiled_log_likelihood(_structure(), [1.0, 1.0])
