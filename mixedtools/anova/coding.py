"""Coding matrices of a factor: treatment, sum, Helmert (R's and SPSS's), polynomial."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedtools.anova import _linear as _lin

__all__ = ["contrasts"]


_CODINGS = ("treatment", "sum", "helmert", "helmert_forward", "poly")


def contrasts(levels, coding: str = "treatment") -> pd.DataFrame:
    """Coding matrix of a factor: the k - 1 code columns a regression uses for k levels.

    Parameters
    ----------
    levels : int or sequence
        The factor's levels in order (or their number k >= 2; levels are then 1..k).
    coding : {"treatment", "sum", "helmert", "helmert_forward", "poly"}
        * ``"treatment"`` (dummy coding, 虚拟编码; R ``contr.treatment``): column ``L`` is 1 for
          level L and 0 otherwise; the first level is the reference. Its coefficient is
          mean(L) - mean(first level); the intercept is the mean of the first level.
        * ``"sum"`` (effect / deviation coding, 效应编码; R ``contr.sum``): column ``L`` is 1
          for level L, -1 for the last level, 0 otherwise. Its coefficient is mean(L) minus the
          unweighted grand mean of the level means; the intercept is that grand mean.
        * ``"helmert"`` (R ``contr.helmert``, SPSS calls it DIFFERENCE): column j (j = 1..k-1)
          is -1 for the first j levels, j for level j+1, 0 after. Its coefficient is
          (mean(level j+1) - mean of the first j levels) / (j + 1): each level against the
          mean of the levels *before* it.
        * ``"helmert_forward"`` (SPSS HELMERT; the source notes' form [2, -1, -1], [0, 1, -1]
          for k = 3): column j is k - j for level j, -1 for each later level, 0 before. Its
          coefficient is (mean(level j) - mean of the later levels) * (k - j) / sum of squared
          codes, i.e. proportional to level j against the mean of the levels *after* it.
        * ``"poly"`` (orthogonal polynomials, R ``contr.poly``): orthonormal linear, quadratic,
          cubic ... trends over equally spaced levels (columns ``.L``, ``.Q``, ``.C``, ``^4``).

        All but ``"treatment"`` have columns that sum to zero; all give the same F test of the
        factor, only the coefficients (the questions each column answers) differ.

    Returns
    -------
    pandas.DataFrame
        Rows = levels, columns = contrasts.

    Raises
    ------
    ValueError
        Unknown coding, fewer than two levels, or repeated levels.

    Examples
    --------
    >>> import mixedtools as mt
    >>> mt.anova.contrasts(["a", "b", "c"], "helmert_forward")
       a vs later  b vs later
    a           2           0
    b          -1           1
    c          -1          -1
    >>> mt.anova.contrasts(3, "helmert")
       2 vs earlier  3 vs earlier
    1            -1            -1
    2             1            -1
    3             0             2
    """
    if isinstance(levels, (int, np.integer)):
        levels = list(range(1, int(levels) + 1))
    levels = list(levels)
    k = len(levels)
    if k < 2:
        raise ValueError(f"A factor needs at least two levels to be coded, got {k}.")
    if len(set(map(str, levels))) < k:
        raise ValueError(f"The levels must be distinct, got {levels!r}.")
    if coding not in _CODINGS:
        raise ValueError(f"Unknown coding {coding!r}; choose one of {', '.join(_CODINGS)}.")
    names = [str(level) for level in levels]
    if coding == "treatment":
        matrix = np.eye(k, dtype=int)[:, 1:]
        columns = names[1:]
    elif coding == "sum":
        matrix = _lin.sum_contrasts(k).astype(int)
        columns = names[:-1]
    elif coding == "helmert":
        matrix = np.zeros((k, k - 1), dtype=int)
        for j in range(1, k):
            matrix[:j, j - 1] = -1
            matrix[j, j - 1] = j
        columns = [f"{name} vs earlier" for name in names[1:]]
    elif coding == "helmert_forward":
        matrix = np.zeros((k, k - 1), dtype=int)
        for j in range(k - 1):
            matrix[j, j] = k - 1 - j
            matrix[j + 1 :, j] = -1
        columns = [f"{name} vs later" for name in names[:-1]]
    else:
        matrix = _lin.poly_contrasts(k)
        columns = [".L", ".Q", ".C"] + [f"^{d}" for d in range(4, k)]
        columns = columns[: k - 1]
    return pd.DataFrame(matrix, index=pd.Index(levels), columns=columns)
