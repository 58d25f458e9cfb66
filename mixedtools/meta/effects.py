"""Effect sizes and their sampling variances, as metafor's ``escalc`` computes them.

Every study of a meta-analysis contributes one number, its effect size ``yi``, and the sampling
variance ``vi`` of that number, which shrinks as the study's sample size grows. The measures:

- ``"SMD"``: Hedges' g, the standardised mean difference with the exact small-sample correction
  ``c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``, ``m = n1 + n2 - 2``; variance
  ``1/n1 + 1/n2 + g^2 / (2 (n1 + n2))`` (metafor's default ``vtype="LS"``).
- ``"MD"``: raw mean difference; variance ``sd1^2/n1 + sd2^2/n2``.
- ``"COR"``: the correlation itself, variance ``(1 - r^2)^2 / (n - 1)``; ``"ZCOR"``: Fisher's z,
  ``atanh(r)``, variance ``1 / (n - 3)``.
- ``"OR"``, ``"RR"``, ``"RD"`` from 2 x 2 tables (``ai, bi`` events / non-events in group 1,
  ``ci, di`` in group 2): log odds ratio, log risk ratio, risk difference.
- ``"PETO"``: Peto's one-step log odds ratio ``(O - E) / V``, variance ``1 / V``.

For all four, as in metafor's defaults (``add=1/2, to="only0", drop00=FALSE``), 1/2 is added to
every cell of a table that has a zero cell, and a table with no events (or only events) in both
groups is kept: it gets a finite effect (0 for groups of equal size) with a large variance, where
the unmodified Peto formula would divide by 0. (The pooled :func:`mixedtools.meta.peto` works on
the unmodified counts, as metafor's ``rma.peto``.)

Conversions between families (Borenstein et al., 2009, ch. 7; the logistic one is metafor's
``"D2ORL"`` / ``"OR2DL"``): :func:`d_to_log_or`, :func:`log_or_to_d`, :func:`r_to_d`,
:func:`d_to_r`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import gammaln

from mixedtools.meta._pairing import labels_of, pair_rows

__all__ = ["escalc", "d_to_log_or", "log_or_to_d", "r_to_d", "d_to_r", "hedges_correction"]

MEASURES = ("SMD", "MD", "COR", "ZCOR", "OR", "RR", "RD", "PETO")
_NEEDS = {
    "SMD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "MD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "COR": ("ri", "ni"),
    "ZCOR": ("ri", "ni"),
    "OR": ("ai", "bi", "ci", "di"),
    "RR": ("ai", "bi", "ci", "di"),
    "RD": ("ai", "bi", "ci", "di"),
    "PETO": ("ai", "bi", "ci", "di"),
}


def hedges_correction(df):
    """Exact small-sample correction of Cohen's d to Hedges' g, ``c(m)`` for ``m`` df.

    Examples
    --------
    >>> round(float(hedges_correction(10)), 6)
    0.922746
    """
    m = np.asarray(df, dtype=float)
    return np.exp(gammaln(m / 2) - np.log(np.sqrt(m / 2)) - gammaln((m - 1) / 2))


def _as_arrays(measure, kwargs):
    """The inputs as float arrays, paired by label or position (``pair_rows``), and their labels."""
    needed = _NEEDS[measure]
    missing = [name for name in needed if name not in kwargs]
    if missing:
        raise TypeError(
            f'escalc("{measure}") needs {", ".join(needed)}; missing: {", ".join(missing)}'
        )
    extra = sorted(set(kwargs) - set(needed))
    if extra:
        raise TypeError(f'escalc("{measure}") does not use {", ".join(extra)}')
    named = [name for name in needed if isinstance(kwargs[name], str)]
    if named:
        shown = ", ".join(f"{name}={kwargs[name]!r}" for name in named)
        raise TypeError(
            f"escalc takes the values, not column names ({shown}); pass the columns, "
            f"e.g. {named[0]}=data[{kwargs[named[0]]!r}]"
        )
    kwargs = pair_rows(**{name: kwargs[name] for name in needed})
    labels = labels_of(*kwargs.values())
    arrays = {name: np.atleast_1d(np.asarray(kwargs[name], dtype=float)) for name in needed}
    lengths = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"the inputs have different lengths: {lengths}")
    for name, a in arrays.items():
        if np.isnan(a).any():
            rows = np.flatnonzero(np.isnan(a)).tolist()
            raise ValueError(f"{name} has missing values (rows {rows}); drop those studies first")
    return arrays, labels


def _check_counts(a):
    for name, x in a.items():
        if (x < 0).any():
            raise ValueError(f"{name} has negative counts (rows {np.flatnonzero(x < 0).tolist()})")
    n1 = a["ai"] + a["bi"]
    n2 = a["ci"] + a["di"]
    empty = np.flatnonzero((n1 == 0) | (n2 == 0))
    if empty.size:
        raise ValueError(
            f"a group has no participants (ai + bi = 0 or ci + di = 0) in rows {empty.tolist()}"
        )


def _add_half_to_zero_tables(a):
    cells = np.stack([a["ai"], a["bi"], a["ci"], a["di"]])
    has_zero = (cells == 0).any(axis=0)
    return {name: np.where(has_zero, x + 0.5, x) for name, x in a.items()}


def escalc(measure: str, **data) -> pd.DataFrame:
    """Effect sizes ``yi`` and sampling variances ``vi`` (metafor's ``escalc``).

    Parameters
    ----------
    measure : {"SMD", "MD", "COR", "ZCOR", "OR", "RR", "RD", "PETO"}
        See the module docstring for the formulas.
    **data : array-like
        Named as in metafor: ``m1i, sd1i, n1i, m2i, sd2i, n2i`` (SMD, MD); ``ri, ni`` (COR, ZCOR);
        ``ai, bi, ci, di`` (OR, RR, RD, PETO). pandas Series are paired by their index labels,
        arrays by position (an array next to a Series whose index is not ``0, ..., k-1`` in order
        is refused), as in :func:`mixedtools.meta.rma`.

    Returns
    -------
    pandas.DataFrame with columns ``yi`` and ``vi``, one row per study, with the index of the
    pandas inputs (so that it pairs with their table in :func:`~mixedtools.meta.rma`).

    Examples
    --------
    >>> es = escalc("SMD", m1i=[10.0], sd1i=[2.0], n1i=[20], m2i=[9.0], sd2i=[2.0], n2i=[20])
    >>> es.round(6).to_dict("list")
    {'yi': [0.490055], 'vi': [0.103002]}
    >>> escalc("OR", ai=[0], bi=[10], ci=[3], di=[7]).round(4).to_dict("list")
    {'yi': [-2.2824], 'vi': [2.5143]}
    """
    measure = str(measure).upper()
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}")
    a, labels = _as_arrays(measure, data)
    if measure in ("SMD", "MD"):
        n1, n2 = a["n1i"], a["n2i"]
        if (n1 < 2).any() or (n2 < 2).any():
            raise ValueError("each group needs at least 2 participants (n1i, n2i >= 2)")
        if (a["sd1i"] < 0).any() or (a["sd2i"] < 0).any():
            raise ValueError("standard deviations sd1i, sd2i must be non-negative")
        diff = a["m1i"] - a["m2i"]
        if measure == "MD":
            yi = diff
            vi = a["sd1i"] ** 2 / n1 + a["sd2i"] ** 2 / n2
        else:
            m = n1 + n2 - 2
            sd_pooled = np.sqrt(((n1 - 1) * a["sd1i"] ** 2 + (n2 - 1) * a["sd2i"] ** 2) / m)
            yi = hedges_correction(m) * diff / sd_pooled
            vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
    elif measure in ("COR", "ZCOR"):
        r, n = a["ri"], a["ni"]
        if (np.abs(r) > 1).any():
            raise ValueError("correlations ri must lie in [-1, 1]")
        if measure == "ZCOR":
            if (n <= 3).any():
                raise ValueError("ZCOR needs ni > 3 (its variance is 1 / (ni - 3))")
            yi, vi = np.arctanh(r), 1 / (n - 3)
        else:
            if (n <= 1).any():
                raise ValueError("COR needs ni > 1")
            yi, vi = r, (1 - r**2) ** 2 / (n - 1)
    else:
        _check_counts(a)
        b = _add_half_to_zero_tables(a)
        ai, bi, ci, di = b["ai"], b["bi"], b["ci"], b["di"]
        n1, n2 = ai + bi, ci + di
        if measure == "PETO":
            total, events = n1 + n2, ai + ci
            expected = n1 * events / total
            variance = n1 * n2 * events * (total - events) / (total**2 * (total - 1))
            yi, vi = (ai - expected) / variance, 1 / variance
        elif measure == "OR":
            yi = np.log(ai * di / (bi * ci))
            vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
        elif measure == "RR":
            yi = np.log((ai / n1) / (ci / n2))
            vi = 1 / ai - 1 / n1 + 1 / ci - 1 / n2
        else:
            p1, p2 = ai / n1, ci / n2
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    return pd.DataFrame({"yi": yi, "vi": vi}, index=labels)


def d_to_log_or(d, vd):
    """Standardised mean difference to log odds ratio (logistic approximation).

    ``log OR = d pi / sqrt(3)``, ``v = vd pi^2 / 3`` (metafor's ``"D2ORL"``).

    Examples
    --------
    >>> [round(float(x), 4) for x in d_to_log_or(0.5, 0.04)]
    [0.9069, 0.1316]
    """
    d, vd = np.asarray(d, dtype=float), np.asarray(vd, dtype=float)
    return d * np.pi / np.sqrt(3), vd * np.pi**2 / 3


def log_or_to_d(log_or, v_log_or):
    """Log odds ratio to standardised mean difference, the inverse of :func:`d_to_log_or`.

    Examples
    --------
    >>> [round(float(x), 4) for x in log_or_to_d(0.9069, 0.1316)]
    [0.5, 0.04]
    """
    lo, v = np.asarray(log_or, dtype=float), np.asarray(v_log_or, dtype=float)
    return lo * np.sqrt(3) / np.pi, v * 3 / np.pi**2


def r_to_d(r, vr):
    """Correlation to standardised mean difference.

    ``d = 2r / sqrt(1 - r^2)``, ``vd = 4 vr / (1 - r^2)^3``.

    Examples
    --------
    >>> [round(float(x), 4) for x in r_to_d(0.3, 0.01)]
    [0.629, 0.0531]
    """
    r, vr = np.asarray(r, dtype=float), np.asarray(vr, dtype=float)
    if (np.abs(r) >= 1).any():
        raise ValueError("r_to_d needs |r| < 1")
    return 2 * r / np.sqrt(1 - r**2), 4 * vr / (1 - r**2) ** 3


def d_to_r(d, vd, n1=None, n2=None):
    """Standardised mean difference to (point-biserial) correlation.

    ``r = d / sqrt(d^2 + a)`` with ``a = (n1 + n2)^2 / (n1 n2)`` (``a = 4`` for equal groups, the
    default), ``vr = a^2 vd / (d^2 + a)^3``.

    Examples
    --------
    >>> [round(float(x), 4) for x in d_to_r(0.629, 0.0531)]
    [0.3, 0.01]
    """
    d, vd = np.asarray(d, dtype=float), np.asarray(vd, dtype=float)
    if (n1 is None) != (n2 is None):
        raise ValueError("give both n1 and n2, or neither (equal groups)")
    a = (
        4.0
        if n1 is None
        else (np.asarray(n1) + np.asarray(n2)) ** 2 / (np.asarray(n1) * np.asarray(n2))
    )
    return d / np.sqrt(d**2 + a), a**2 * vd / (d**2 + a) ** 3
