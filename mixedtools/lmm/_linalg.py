"""Small dense linear algebra for the engine's inner loops, without the checks that cost more
than the arithmetic on matrices of a few rows (scipy.linalg's validation, numpy's broadcasting
machinery for a batched triangular solve).

Examples
--------
>>> import numpy as np
>>> A = np.array([[4.0, 2.0], [2.0, 3.0]])
>>> L = lapack_cholesky(A)
>>> bool(np.allclose(L @ L.T, A)), bool(np.allclose(lapack_solve(L, [2.0, 1.0]) @ L.T, [2, 1]))
(True, True)
>>> bool(np.allclose(tri_inverse(L[None])[0] @ L, np.eye(2)))
True
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import dpotrf, dtrtrs

__all__ = ["lapack_cholesky", "lapack_solve", "tri_inverse"]


def lapack_cholesky(A) -> np.ndarray:
    """Lower Cholesky factor of a symmetric positive definite matrix, from LAPACK."""
    L, info = dpotrf(A, lower=1, clean=1)
    if info:
        raise np.linalg.LinAlgError("matrix is not positive definite")
    return L


def lapack_solve(L, b, trans=0) -> np.ndarray:
    """``L^-1 b`` (``L'^-1 b`` with ``trans=1``) for a lower-triangular L, from LAPACK."""
    x, info = dtrtrs(L, b, lower=1, trans=trans)
    if info:
        raise np.linalg.LinAlgError("singular triangular factor")
    return x


def tri_inverse(L) -> np.ndarray:
    """Inverses of a stack of lower-triangular matrices (n, k, k); closed form for k <= 2."""
    k = L.shape[1]
    if k == 1:
        return 1.0 / L
    if k == 2:
        a, c, d = L[:, 0, 0], L[:, 1, 0], L[:, 1, 1]
        out = np.zeros_like(L)
        out[:, 0, 0] = 1.0 / a
        out[:, 1, 1] = 1.0 / d
        out[:, 1, 0] = -c / (a * d)
        return out
    return np.linalg.inv(L)
