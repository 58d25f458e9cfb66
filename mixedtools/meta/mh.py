"""Fixed-effect pooling of 2 x 2 tables without weights from estimated variances.

- :func:`mantel_haenszel`: the Mantel-Haenszel odds ratio (variance of Robins, Breslow and
  Greenland, 1986), risk ratio and risk difference (variances of Greenland and Robins, 1985, and
  for the RD of Sato, Greenland and Robins, 1989), plus the Cochran-Mantel-Haenszel test for OR.
- :func:`peto`: Peto's one-step odds ratio, ``sum(O - E) / sum(V)``.

As metafor's ``rma.mh`` / ``rma.peto``: the pooled estimate uses the raw counts (zero cells need no
correction), and Cochran's Q is computed around it from the per-study effects of
:func:`mixedtools.meta.escalc` (1/2 added to tables with a zero cell), leaving out tables
without any event (or with only events) in both groups, for which the study's effect is undefined.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.meta._pairing import pair_rows
from mixedtools.meta.effects import escalc

__all__ = ["mantel_haenszel", "peto", "MhResult"]


class MhResult(pd.Series):
    """A pooled fixed-effect estimate (log scale for OR and RR).

    Fields: ``estimate, se, ci_lower, ci_upper, z, p_value, Q, Q_df, Q_p`` (+ ``cmh, cmh_p,
    mh_test, mh_test_p`` for the odds ratio).
    """

    @property
    def _constructor(self):
        return MhResult


def _tables(ai, bi, ci, di):
    paired = pair_rows(ai=ai, bi=bi, ci=ci, di=di).values()
    cells = [np.atleast_1d(np.asarray(x, dtype=float)) for x in paired]
    lengths = {len(c) for c in cells}
    if len(lengths) > 1:
        raise ValueError(f"ai, bi, ci, di have different lengths: {[len(c) for c in cells]}")
    if any(np.isnan(c).any() for c in cells):
        raise ValueError("the 2 x 2 tables have missing counts; drop those studies first")
    if any((c < 0).any() for c in cells):
        raise ValueError("counts must be non-negative")
    a, b, c, d = cells
    n1, n2 = a + b, c + d
    empty = np.flatnonzero((n1 == 0) | (n2 == 0))
    if empty.size:
        raise ValueError(f"a group has no participants in rows {empty.tolist()}")
    if len(a) < 2:
        raise ValueError("pooling needs at least 2 tables")
    return a, b, c, d, n1, n2, n1 + n2


def _informative(a, b, c, d):
    """Tables with at least one event and one non-event across the two groups."""
    return ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))


def _finish(measure, est, se, level, q_stat, q_df, extra=None):
    crit = stats.norm.ppf(1 - (1 - level) / 2)
    z = est / se
    out = {
        "measure": measure,
        "estimate": est,
        "se": se,
        "ci_lower": est - crit * se,
        "ci_upper": est + crit * se,
        "z": z,
        "p_value": 2 * stats.norm.sf(abs(z)),
        "Q": q_stat,
        "Q_df": q_df,
        "Q_p": stats.chi2.sf(q_stat, q_df) if q_df > 0 else np.nan,
    }
    out.update(extra or {})
    return MhResult(out, name="MH" if measure != "PETO" else "Peto", dtype=object)


def _cochran_q(measure, a, b, c, d, est):
    keep = _informative(a, b, c, d)
    es = escalc(measure, ai=a[keep], bi=b[keep], ci=c[keep], di=d[keep])
    q_stat = float(np.sum((es.yi - est) ** 2 / es.vi))
    return q_stat, int(keep.sum()) - 1


def mantel_haenszel(ai, bi, ci, di, measure="OR", level=0.95, correct=True):
    """Mantel-Haenszel fixed-effect pooling of 2 x 2 tables (metafor's ``rma.mh``).

    Parameters
    ----------
    ai, bi, ci, di : array-like
        Events / non-events in group 1 (``ai, bi``) and group 2 (``ci, di``), one entry per study.
    measure : {"OR", "RR", "RD"}
        Odds ratio or risk ratio (results on the log scale) or risk difference.
    correct : bool, default True
        Continuity correction of the Cochran-Mantel-Haenszel test (OR only).

    Returns
    -------
    MhResult
        A Series: estimate, se, ci_lower, ci_upper, z, p_value, Q, Q_df, Q_p (+ cmh, cmh_p,
        mh_test, mh_test_p for OR).

    Examples
    --------
    >>> import mixedtools as mt
    >>> bcg = mt.datasets.load("bcg")
    >>> mh = mantel_haenszel(bcg.tpos, bcg.tneg, bcg.cpos, bcg.cneg, measure="RR")
    >>> round(mh.estimate, 4), round(mh.se, 4)
    (-0.4537, 0.0393)
    """
    measure = str(measure).upper()
    if measure not in ("OR", "RR", "RD"):
        raise ValueError(f"unknown measure {measure!r}; choose 'OR', 'RR' or 'RD'")
    a, b, c, d, n1, n2, n = _tables(ai, bi, ci, di)
    extra = {}
    if measure == "OR":
        R, S = np.sum(a * d / n), np.sum(b * c / n)
        if R == 0 or S == 0:
            raise ValueError("the Mantel-Haenszel odds ratio is 0 or infinite for these tables")
        P, Q = (a + d) / n, (b + c) / n
        var = (
            np.sum(P * a * d / n) / (2 * R**2)
            + np.sum(P * b * c / n + Q * a * d / n) / (2 * R * S)
            + np.sum(Q * b * c / n) / (2 * S**2)
        )
        est = np.log(R / S)
        m1, m2 = a + c, b + d
        expected = n1 * m1 / n
        dev = max(abs(np.sum(a) - np.sum(expected)) - (0.5 if correct else 0.0), 0.0)
        cmh = dev**2 / np.sum(n1 * n2 * m1 * m2 / n**3)
        v_a = np.where(n > 1, n1 * n2 * m1 * m2 / (n**2 * (n - 1)), 0.0)
        mh_test = dev**2 / np.sum(v_a)
        extra = {
            "cmh": cmh,
            "cmh_p": stats.chi2.sf(cmh, 1),
            "mh_test": mh_test,
            "mh_test_p": stats.chi2.sf(mh_test, 1),
        }
    elif measure == "RR":
        R, S = np.sum(a * n2 / n), np.sum(c * n1 / n)
        if R == 0 or S == 0:
            raise ValueError("the Mantel-Haenszel risk ratio is 0 or infinite for these tables")
        var = np.sum((n1 * n2 * (a + c) - a * c * n) / n**2) / (R * S)
        est = np.log(R / S)
    else:
        W = np.sum(n1 * n2 / n)
        est = np.sum((a * n2 - c * n1) / n) / W
        var = _sato_variance(a, b, c, d, n1, n2, n, W)
    q_stat, q_df = _cochran_q(measure, a, b, c, d, est)
    return _finish(measure, float(est), float(np.sqrt(var)), level, q_stat, q_df, extra)


def _sato_variance(a, b, c, d, n1, n2, n, W):
    """Variance of the MH risk difference (Sato, Greenland and Robins, 1989)."""
    P = np.sum((c * n1**2 - a * n2**2 + n1 * n2 * (n2 - n1) / 2) / n**2)
    Q = np.sum((a * (n2 - c) + c * (n1 - a)) / (2 * n))
    est = np.sum((a * n2 - c * n1) / n) / W
    return (est * P + Q) / W**2


def peto(ai, bi, ci, di, level=0.95):
    """Peto's one-step fixed-effect log odds ratio (metafor's ``rma.peto``).

    Examples
    --------
    >>> import mixedtools as mt
    >>> bcg = mt.datasets.load("bcg")
    >>> pt = peto(bcg.tpos, bcg.tneg, bcg.cpos, bcg.cneg)
    >>> round(pt.estimate, 4)
    -0.4744
    """
    a, b, c, d, n1, n2, n = _tables(ai, bi, ci, di)
    m1 = a + c
    expected = n1 * m1 / n
    v = np.where(n > 1, n1 * n2 * m1 * (n - m1) / (n**2 * (n - 1)), 0.0)
    if np.sum(v) == 0:
        raise ValueError("no table has both events and non-events; Peto's odds ratio is undefined")
    o_minus_e = a - expected
    est = np.sum(o_minus_e) / np.sum(v)
    keep = v > 0
    q_stat = float(np.sum(o_minus_e[keep] ** 2 / v[keep]) - np.sum(o_minus_e) ** 2 / np.sum(v))
    return _finish(
        "PETO", float(est), float(1 / np.sqrt(np.sum(v))), level, q_stat, int(keep.sum()) - 1
    )
