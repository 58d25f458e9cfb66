"""Shared linear algebra of the small-sample (CR2) cluster-robust variance estimators of
:mod:`mixedtools.meta.robust` (meta-analysis) and :mod:`mixedtools.panel.few_clusters`
(fixed-effects panels).

Examples
--------
>>> import numpy as np
>>> from mixedtools._sandwich import inv_sqrt_psd
>>> inv_sqrt_psd(np.diag([4.0, 0.25])).round(6).tolist()
[[0.5, 0.0], [0.0, 2.0]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["inv_sqrt_psd"]


def inv_sqrt_psd(A: np.ndarray) -> np.ndarray:
    """Symmetric ``A^(-1/2)`` of a positive semi-definite matrix.

    Eigenvalues below 1e-12 times the largest count as 0 (a generalised inverse root, as
    clubSandwich's ``matrix_power``, which uses an absolute 1e-12): the CR2 adjustment of a
    cluster whose residual-maker block is singular (e.g. a cluster-level fixed effect) is then
    the generalised inverse root.

    Parameters
    ----------
    A : numpy.ndarray, shape (m, m)
        Symmetric (only its symmetric part is used).

    Returns
    -------
    numpy.ndarray, shape (m, m)

    Examples
    --------
    >>> import numpy as np
    >>> M = np.eye(3) - np.ones((3, 3)) / 3  # singular: the within-cluster centring matrix
    >>> R = inv_sqrt_psd(M)
    >>> bool(np.allclose(R @ M @ R, M))
    True
    """
    values, vectors = np.linalg.eigh((A + A.T) / 2)
    keep = values > max(values.max(), 0) * 1e-12
    inv_root = np.zeros_like(values)
    inv_root[keep] = 1 / np.sqrt(values[keep])
    return (vectors * inv_root) @ vectors.T
