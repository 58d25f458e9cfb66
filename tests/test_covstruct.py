"""Tests of the covariance structures drawn in chapter 1."""

import numpy as np
import pytest

from mixedtools import covstruct


def _is_covariance(v):
    return np.allclose(v, v.T) and np.linalg.eigvalsh(v).min() > -1e-12


def test_compound_symmetry_and_split_plot():
    v = covstruct.compound_symmetry(4, 2.0, 3.0)
    assert np.allclose(np.diag(v), 5.0)
    assert np.allclose(v[~np.eye(4, dtype=bool)], 2.0)
    sp = covstruct.split_plot(3, 2, 1.0, 0.5)
    assert sp.shape == (6, 6)
    assert sp[0, 3] == 0 and sp[0, 1] == 1.0
    assert _is_covariance(sp)


def test_random_coefficients_variance_grows_with_time():
    g = np.array([[1.0, 0.0], [0.0, 0.5]])
    v = covstruct.random_coefficients([0, 1, 2], g, 1.0)
    # Var(y_t) = g00 + t^2 g11 + sigma2 when the intercept and slope are uncorrelated.
    assert np.allclose(np.diag(v), [2.0, 2.5, 4.0])
    assert _is_covariance(v)


def test_ar1_and_spatial_decay():
    v = covstruct.ar1(5, 0.6, sigma2=2.0)
    assert v[0, 3] == pytest.approx(2.0 * 0.6**3)
    coords = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    s = covstruct.exponential_spatial(coords, range_=2.0, nugget=0.1)
    assert s[0, 1] > s[0, 2] > 0
    assert np.allclose(np.diag(s), 1.1)
    assert _is_covariance(s)
    with pytest.raises(ValueError, match="rho"):
        covstruct.ar1(3, 1.0)
    with pytest.raises(ValueError, match="range_"):
        covstruct.exponential_spatial(coords, range_=0)


def test_correlated_responses():
    sigma = np.array([[1.0, 0.3], [0.3, 2.0]])
    v = covstruct.correlated_responses(sigma, 3)
    assert v.shape == (6, 6)
    assert np.allclose(v[2:4, 2:4], sigma) and np.allclose(v[0:2, 2:4], 0)
    with pytest.raises(ValueError, match="symmetric"):
        covstruct.correlated_responses(np.array([[1.0, 0.2], [0.3, 1.0]]), 2)
