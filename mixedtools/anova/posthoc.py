"""Post-hoc pairwise comparisons and planned contrasts for between-subjects ANOVA.

:func:`posthoc` compares every pair of levels of each term of the full factorial model (R's
``TukeyHSD``, or pooled-variance t tests with Holm or Bonferroni adjustment as
``pairwise.t.test(pool.sd = TRUE)``); :func:`planned` tests contrasts of the cell means of one
factor, given as weights or as a coding of :func:`mixedtools.anova.contrasts` (the coefficient
t tests of ``lm()`` with that coding).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.anova import _rm_data as _rmdata
from mixedtools.anova.between import factorial
from mixedtools.anova.coding import contrasts as _coding

__all__ = ["posthoc", "planned", "POSTHOC_METHODS"]

POSTHOC_METHODS = ("tukey", "holm", "bonferroni", "none")


def _holm(p):
    p = np.asarray(p, float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def _clean(data, dv, factors):
    _rmdata.check_columns(data, dv, {"between": factors})
    frame = data[[*factors, dv]].dropna()
    if not pd.api.types.is_numeric_dtype(frame[dv]):
        raise TypeError(f"The response {dv!r} must be numeric.")
    return frame


def posthoc(
    data: pd.DataFrame, dv: str, between, method: str = "tukey", level: float = 0.95
) -> pd.DataFrame:
    """Pairwise comparisons of the levels of each term of a between-subjects factorial ANOVA.

    The error term is the residual mean square of the full factorial model
    (:func:`mixedtools.anova.factorial`), on its residual df. For each term (each factor, and
    each interaction as the cells of its factors) every pair of observed level means is
    compared:

    * ``"tukey"``: Tukey's HSD (Tukey-Kramer for unequal group sizes), as R's ``TukeyHSD``:
      ``q = |diff| / sqrt(MSE / 2 (1/n_i + 1/n_j))`` against the studentized range of the
      term's number of levels, simultaneous intervals;
    * ``"holm"``, ``"bonferroni"``, ``"none"``: t tests ``diff / sqrt(MSE (1/n_i + 1/n_j))``
      (R's ``pairwise.t.test(pool.sd = TRUE)`` for one factor), p-values adjusted within each
      term; Bonferroni intervals for both adjustments.

    The means are the observed means of each level (``TukeyHSD`` uses these too when the design
    is balanced; on unbalanced factorial data prefer :func:`mixedtools.emmeans` on an OLS fit,
    whose means are adjusted for the other factors).

    Parameters
    ----------
    data : DataFrame
        One row per observation.
    dv : str
        Numeric response column.
    between : str or list of str
        Factor columns (levels sorted, as :func:`~mixedtools.anova.factorial` sorts them).
    method : {"tukey", "holm", "bonferroni", "none"}
    level : float
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        One row per pair: ``term``, ``contrast`` (as ``TukeyHSD`` names it: ``"B-A"`` is the
        mean of B minus that of A; cells of an interaction as ``"B:L-A:L"``), ``estimate,
        std_error, df, t, ci_lower, ci_upper, p_value``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> machines = mt.datasets.load("machines")
    >>> out = mt.anova.posthoc(machines, "score", ["machine", "worker"])
    >>> out[out.term == "machine"][["contrast", "estimate", "ci_lower", "p_value"]].round(4)
      contrast  estimate  ci_lower  p_value
    0      B-A    7.9667    7.1832      0.0
    1      C-A   13.9167   13.1332      0.0
    2      C-B    5.9500    5.1665      0.0
    """
    factors = _rmdata.as_list(between, "between")
    if not factors:
        raise ValueError("Give at least one between-subjects factor (between=...).")
    method = str(method).lower()
    if method not in POSTHOC_METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of {', '.join(POSTHOC_METHODS)}.")
    if not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1, got {level}.")
    frame = _clean(data, dv, factors)
    table = factorial(frame, dv, factors)
    mse = float(table.loc["Residual", "mean_sq"])
    df = int(table.loc["Residual", "df"])
    levels = {f: _rmdata.levels_of(frame, f) for f in factors}
    parts = []
    for r in range(1, len(factors) + 1):
        for term in itertools.combinations(factors, r):
            stats_ = frame.groupby(list(term), observed=True)[dv].agg(["mean", "count"])
            # cells in R's order: the first factor varies fastest
            combos = itertools.product(*[levels[f] for f in reversed(term)])
            cells = [tuple(reversed(c)) for c in combos]
            cells = [c for c in cells if (c if len(c) > 1 else c[0]) in stats_.index]
            means = np.array([stats_.loc[c if len(c) > 1 else c[0], "mean"] for c in cells])
            counts = np.array([stats_.loc[c if len(c) > 1 else c[0], "count"] for c in cells])
            names = [":".join(str(v) for v in c) for c in cells]
            k = len(cells)
            pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]  # (j - i): R's order
            i_idx = np.array([i for i, _ in pairs])
            j_idx = np.array([j for _, j in pairs])
            est = means[j_idx] - means[i_idx]
            se = np.sqrt(mse * (1 / counts[i_idx] + 1 / counts[j_idx]))
            t = est / se
            m = len(pairs)
            if method == "tukey":
                p = stats.studentized_range.sf(np.sqrt(2) * np.abs(t), k, df)
                crit = stats.studentized_range.ppf(level, k, df) / np.sqrt(2)
            else:
                p = 2 * stats.t.sf(np.abs(t), df)
                if method == "holm":
                    p = _holm(p)
                elif method == "bonferroni":
                    p = np.minimum(1.0, m * p)
                alpha = 1 - level if method == "none" else (1 - level) / m
                crit = stats.t.isf(alpha / 2, df)
            parts.append(
                pd.DataFrame(
                    {
                        "term": ":".join(term),
                        "contrast": [f"{names[j]}-{names[i]}" for i, j in pairs],
                        "estimate": est,
                        "std_error": se,
                        "df": df,
                        "t": t,
                        "ci_lower": est - crit * se,
                        "ci_upper": est + crit * se,
                        "p_value": p,
                    }
                )
            )
    out = pd.concat(parts, ignore_index=True)
    out.attrs["method"] = method
    return out


def planned(
    data: pd.DataFrame, dv: str, factor: str, contrasts, level: float = 0.95
) -> pd.DataFrame:
    """t tests of planned contrasts of the level means of one factor (one-way ANOVA error).

    Parameters
    ----------
    data : DataFrame
        One row per observation.
    dv : str
        Numeric response column.
    factor : str
        The factor (levels sorted).
    contrasts : str, DataFrame or dict
        * a coding name of :func:`mixedtools.anova.contrasts` ("helmert", "poly", "sum",
          "treatment", "helmert_forward") or a coding matrix (levels x columns): each column's
          regression coefficient is tested, as ``summary(lm(y ~ f, contrasts = list(f = ...)))``
          does -- the weights on the level means are the rows of ``[1, C]^-1`` after the first;
        * a dict ``name -> weights`` (one weight per level, in level order): the contrast
          ``sum(w * mean)`` itself, as ``emmeans::contrast(emm, list(...))``.
    level : float
        Confidence level of the intervals (unadjusted).

    Returns
    -------
    DataFrame
        Indexed by contrast; columns ``estimate, std_error, df, t, p_value, ci_lower,
        ci_upper``; ``attrs["weights"]`` holds the weights on the level means.

    Examples
    --------
    >>> import mixedtools as mt
    >>> machines = mt.datasets.load("machines")
    >>> out = mt.anova.planned(machines, "score", "machine", {"A vs B, C": [1, -0.5, -0.5]})
    >>> out.loc["A vs B, C", ["estimate", "df", "t"]].round(3).tolist()
    [-10.942, 51.0, -6.562]
    """
    if not isinstance(factor, str):
        raise TypeError("planned contrasts take one factor (a column name)")
    frame = _clean(data, dv, [factor])
    levels = _rmdata.levels_of(frame, factor)
    stats_ = frame.groupby(factor, observed=True)[dv].agg(["mean", "count", "var"])
    stats_ = stats_.loc[levels]
    k = len(levels)
    counts = stats_["count"].to_numpy(float)
    df = int(counts.sum() - k)
    if df < 1:
        raise ValueError("No residual degrees of freedom: every level has one observation.")
    mse = float(((counts - 1) * stats_["var"].fillna(0.0).to_numpy()).sum() / df)
    if isinstance(contrasts, dict):
        names = list(contrasts)
        W = np.array([np.asarray(contrasts[n], float) for n in names])
        if W.ndim != 2 or W.shape[1] != k:
            raise ValueError(f"each contrast needs {k} weights, one per level of {factor!r}")
    else:
        C = _coding(levels, contrasts) if isinstance(contrasts, str) else pd.DataFrame(contrasts)
        if C.shape != (k, k - 1):
            raise ValueError(f"a coding matrix for {factor!r} must have shape ({k}, {k - 1})")
        full = np.column_stack([np.ones(k), C.to_numpy(float)])
        if np.linalg.matrix_rank(full) < k:
            raise ValueError("the coding matrix with an intercept column is singular")
        W = np.linalg.inv(full)[1:]
        names = [str(c) for c in C.columns]
    means = stats_["mean"].to_numpy(float)
    est = W @ means
    se = np.sqrt(mse * (W**2 / counts).sum(axis=1))
    t = est / se
    crit = stats.t.ppf(0.5 + level / 2, df)
    out = pd.DataFrame(
        {
            "estimate": est,
            "std_error": se,
            "df": df,
            "t": t,
            "p_value": 2 * stats.t.sf(np.abs(t), df),
            "ci_lower": est - crit * se,
            "ci_upper": est + crit * se,
        },
        index=pd.Index(names, name="contrast"),
    )
    out.attrs["weights"] = pd.DataFrame(W, index=names, columns=[str(v) for v in levels])
    return out
