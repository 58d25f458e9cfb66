"""Factorial ANOVA with type I, II and III sums of squares, as ``anova(lm)`` and ``car::Anova``."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.anova import _linear as _lin
from mixedtools.anova import _rm_data as _rmdata
from mixedtools.anova import effect_size as _es

__all__ = ["factorial"]


def _check_cells(frame: pd.DataFrame, factors: list[str]) -> None:
    observed = frame.groupby(factors, observed=True).size()
    expected = int(np.prod([frame[f].nunique() for f in factors]))
    if len(observed) < expected:
        full = pd.MultiIndex.from_product([sorted(frame[f].unique(), key=str) for f in factors])
        present = set(observed.index if len(factors) > 1 else [(i,) for i in observed.index])
        empty = [cell for cell in full if (cell if len(factors) > 1 else (cell,)) not in present]
        shown = ", ".join(" x ".join(map(str, np.atleast_1d(c))) for c in empty[:10])
        raise ValueError(
            f"{expected - len(observed)} cell(s) of the {' x '.join(factors)} design have no "
            f"observations ({shown}); the interaction and type II/III tests are not defined. "
            "Drop or merge levels, or fit the main-effects model only."
        )


def factorial(
    data: pd.DataFrame, dv: str, between, ss_type: int = 3, observed=None
) -> pd.DataFrame:
    """Between-subjects factorial ANOVA with type I, II or III sums of squares.

    The model is the full factorial (all interactions), coded with sum-to-zero contrasts.

    * Type 1 (sequential): each term adjusted for the terms *before* it in the order given;
      equals R ``anova(lm(...))``. On unbalanced data the result depends on the order.
    * Type 2: each term adjusted for every term that does not contain it (main effects are
      not adjusted for their interactions); equals ``car::Anova(type = 2)``. The most powerful
      test of main effects when the interaction is absent.
    * Type 3: each term adjusted for every other term, main effects evaluated at the unweighted
      mean over the other factor's levels; equals ``car::Anova(type = 3)`` with ``contr.sum``
      and SPSS / afex's default. It does not depend on the user's coding, because the
      function always codes with sum-to-zero contrasts (with R's default treatment coding
      ``car::Anova(type = 3)`` answers a different question).

    On balanced data all three types agree.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation.
    dv : str
        Numeric response column.
    between : str or list of str
        Factor columns; terms are named by joining factor names with ``":"`` in this order.
    ss_type : {1, 2, 3}, default 3
    observed : str or list of str, optional
        Measured (not manipulated) factors, for generalised eta squared (afex's ``observed``).

    Returns
    -------
    pandas.DataFrame
        Indexed by term plus ``"Residual"``; columns ``sum_sq, df, mean_sq, F, p_value,
        eta2_partial, eta2, ges, omega2, omega2_partial`` (partial eta squared = SS / (SS +
        SS_residual); eta squared, generalised eta squared as afex's ``ges`` and omega squared
        as :mod:`mixedtools.anova.effect_size` defines them); NaN on the residual row. Rows
        dropped for missing values: ``table.attrs["n_dropped"]``.

    Raises
    ------
    ValueError
        Unknown column, a factor with one level, an empty cell, no residual df, bad ss_type.
    TypeError
        Non-numeric response.

    Warns
    -----
    UserWarning
        When rows with a missing response or factor value are dropped.

    Examples
    --------
    >>> import mixedtools as mt
    >>> machines = mt.datasets.load("machines")
    >>> table = mt.anova.factorial(machines, "score", ["machine", "worker"])
    >>> table.index.tolist()
    ['machine', 'worker', 'machine:worker', 'Residual']
    >>> table["df"].tolist()
    [2, 5, 10, 36]
    """
    factors = _rmdata.as_list(between, "between")
    if not factors:
        raise ValueError("Give at least one between-subjects factor (between=...).")
    if ss_type not in (1, 2, 3):
        raise ValueError(f"ss_type must be 1, 2 or 3, not {ss_type!r}.")
    _rmdata.check_columns(data, dv, {"between": factors})
    frame = data[[*factors, dv]]
    missing = frame.isna().any(axis=1)
    n_dropped = int(missing.sum())
    if n_dropped:
        warnings.warn(
            f"Dropped {n_dropped} of {len(frame)} rows with a missing value in {dv!r} or a "
            f"factor; the analysis uses the remaining {len(frame) - n_dropped} rows.",
            UserWarning,
            stacklevel=2,
        )
        frame = frame.loc[~missing]
    for factor in factors:
        _rmdata.levels_of(frame, factor)
    _check_cells(frame, factors)
    design = _lin.sum_coded_design(frame, factors)
    y = frame[dv].to_numpy(dtype=float)[:, None]
    names, sscps, dfs, error, df_error = _lin.hypothesis_sscp(design, y, ss_type)
    if df_error < 1:
        raise ValueError(
            "The full factorial model leaves no residual degrees of freedom (one observation "
            "per cell?): there is no error term to test against."
        )
    ss_error = float(error[0, 0])
    if ss_error == 0:
        raise ValueError("The residual sum of squares is 0 (a perfect fit): F is undefined.")
    ss = np.array([float(h[0, 0]) for h in sscps])
    df = np.array(dfs)
    mean_sq = ss / df
    f_value = mean_sq / (ss_error / df_error)
    table = pd.DataFrame(
        {
            "sum_sq": np.append(ss, ss_error),
            "df": np.append(df, df_error).astype(int),
            "mean_sq": np.append(mean_sq, ss_error / df_error),
            "F": np.append(f_value, np.nan),
            "p_value": np.append(stats.f.sf(f_value, df, df_error), np.nan),
            "eta2_partial": np.append(ss / (ss + ss_error), np.nan),
        },
        index=pd.Index([*names, "Residual"]),
    )
    sizes = _es.between_effect_sizes(ss, df, ss_error, df_error, len(frame), names, observed)
    for column in ("eta2", "ges", "omega2", "omega2_partial"):
        table[column] = np.append(sizes[column].to_numpy(), np.nan)
    table.attrs["n_dropped"] = n_dropped
    table.attrs["ss_type"] = ss_type
    return table
