"""Format numbers for the page: p-values and tables as a methods report prints them.

Every chapter prints p-values the same way: three decimals, and "< 0.001" below that, never
``0.000e+00``. Tables keep their numeric columns; only the p-value columns become text. Simulated
rates print with their Monte Carlo standard error, ``"0.052 (0.005)"``.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

__all__ = ["format_p", "format_rate", "format_table"]

P_COLUMNS = ("p_value", "p", "Pr(>F)", "Pr(>|t|)", "p_gg", "p_hf", "Q_p", "QM_p")


def _format_one(p, digits: int) -> str:
    if p is None or pd.isna(p):
        return ""
    if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"a p-value must lie in [0, 1]; got {p!r}")
    threshold = 10.0**-digits
    if p < threshold:
        return f"< {threshold:.{digits}f}"
    return f"{p:.{digits}f}"


def format_p(p, digits: int = 3):
    """Format p-values as a report prints them.

    Parameters
    ----------
    p : float, array-like or pandas.Series
        One or more p-values in [0, 1]; NaN or None gives an empty string.
    digits : int, default 3
        Decimals shown; values below ``10**-digits`` print as ``"< 0.001"`` (for 3 digits).

    Returns
    -------
    str, or pandas.Series of str (same index) for array-like input.

    Examples
    --------
    >>> format_p(0.04567)
    '0.046'
    >>> format_p(2e-16)
    '< 0.001'
    >>> format_p([0.5, 1e-5, float("nan")]).tolist()
    ['0.500', '< 0.001', '']
    """
    if isinstance(p, pd.Series):
        return p.map(lambda v: _format_one(v, digits))
    if np.ndim(p) == 0:
        return _format_one(p, digits)
    return pd.Series([_format_one(v, digits) for v in np.asarray(p, dtype=float)])


def format_rate(rate, mc_se, digits: int = 3):
    """Format simulated rates with their Monte Carlo standard errors, as ``"0.052 (0.005)"``.

    Parameters
    ----------
    rate, mc_se : float, array-like or pandas.Series
        Rates (rejection rates, coverages, power) and their Monte Carlo standard errors
        ``sqrt(rate (1 - rate) / replications)``; NaN gives an empty string.
    digits : int, default 3

    Returns
    -------
    str, or pandas.Series of str (with ``rate``'s index for a Series).

    Examples
    --------
    >>> format_rate(0.0523, 0.00498)
    '0.052 (0.005)'
    >>> format_rate(pd.Series([0.05, float("nan")]), pd.Series([0.0049, 0.0])).tolist()
    ['0.050 (0.005)', '']
    """

    def one(r, s):
        if pd.isna(r) or pd.isna(s):
            return ""
        return f"{r:.{digits}f} ({s:.{digits}f})"

    if np.ndim(rate) == 0:
        return one(rate, mc_se)
    index = rate.index if isinstance(rate, pd.Series) else None
    pairs = zip(np.asarray(rate, dtype=float), np.asarray(mc_se, dtype=float), strict=True)
    return pd.Series([one(r, s) for r, s in pairs], index=index, dtype=object)


def format_table(
    table: pd.DataFrame, digits: int = 3, p_columns=P_COLUMNS, decimals=None
) -> pd.DataFrame:
    """Return a copy of ``table`` with its p-value columns formatted by :func:`format_p`.

    Other columns stay numbers; ``decimals`` (an int, or a dict of column -> int as for
    :meth:`pandas.DataFrame.round`) rounds them *after* the p-values are formatted. Round here, not
    before the call: a p-value of 0.00096 rounded to three decimals first would print as "0.001"
    instead of "< 0.001".

    Examples
    --------
    >>> t = pd.DataFrame({"F": [12.3456, 0.4], "p_value": [0.00096, 0.53]}, index=["a", "b"])
    >>> format_table(t, decimals=2)
           F  p_value
    a  12.35  < 0.001
    b   0.40    0.530
    """
    out = table.copy()
    for column in out.columns:
        if column in p_columns:
            out[column] = format_p(out[column], digits)
    return out if decimals is None else out.round(decimals)
