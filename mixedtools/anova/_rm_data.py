"""Repeated-measures data from long to wide form, checked, for :mod:`mixedtools.anova`.

Every subject must have every combination of the within-subject factors (a complete cell
vector); the between-subjects factors must be constant within a subject. Several rows for one
subject and cell are averaged (with a warning). Incomplete subjects are an error that names
them: repeated-measures ANOVA cannot use them, a linear mixed model (``mt.lmer``) can.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import product

import numpy as np
import pandas as pd

from mixedtools.anova._linear import poly_contrasts

LMM_HINT = (
    "Repeated-measures ANOVA needs every subject in every cell. A linear mixed model uses "
    "every observed row instead, e.g. mt.lmer('dv ~ within + (1 | subject)', data)."
)


def as_list(value, role: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{role} must be a column name or a list of column names.") from None
    if not all(isinstance(item, str) for item in items):
        raise TypeError(f"{role} must contain column names (strings), got {items!r}.")
    return items


def check_columns(data, dv: str, roles: dict[str, list[str]]) -> None:
    """Data frame, known and distinct columns, numeric finite-or-NaN response."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}.")
    named = [("dv", dv)] + [(role, c) for role, cols in roles.items() for c in cols]
    for role, column in named:
        if column not in data.columns:
            available = ", ".join(map(str, data.columns))
            raise ValueError(
                f"Column {column!r} (given as {role}) is not in data. "
                f"Available columns: {available}."
            )
    columns = [c for _, c in named]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ValueError(f"Column(s) {repeated} are given in more than one role.")
    if not pd.api.types.is_numeric_dtype(data[dv]) or pd.api.types.is_bool_dtype(data[dv]):
        raise TypeError(
            f"The response {dv!r} must be numeric, but its dtype is {data[dv].dtype}. "
            "Convert it first, e.g. with pandas.to_numeric."
        )
    if np.isinf(data[dv].to_numpy(dtype=float, na_value=np.nan)).any():
        raise ValueError(f"The response {dv!r} contains infinite values.")


def levels_of(data: pd.DataFrame, factor: str) -> list:
    levels = sorted(pd.unique(data[factor]), key=str)
    if len(levels) < 2:
        raise ValueError(f"The factor {factor!r} has {len(levels)} level(s); it needs at least 2.")
    return levels


@dataclass(frozen=True)
class WideData:
    """One row per subject: the cell means (columns = within cells) and the between factors."""

    y: np.ndarray  # subjects x cells, cells in itertools.product order of the within levels
    subjects: pd.DataFrame  # subject id and between-factor values, one row per subject
    within_levels: dict[str, list]
    n_averaged: int


def _name_some(values, limit: int = 10) -> str:
    values = list(map(str, values))
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def to_wide(data, dv, subject, within, between, stacklevel: int = 3) -> WideData:
    """Check long repeated-measures data and reshape it to one row per subject."""
    check_columns(data, dv, {"subject": [subject], "within": within, "between": between})
    if not within:
        raise ValueError("Give at least one within-subject factor (within=...).")
    used = data[[subject, *within, *between, dv]]
    incomplete = used.isna().any(axis=1)
    if incomplete.any():
        bad = pd.unique(used.loc[incomplete, subject].dropna())
        where = f"in subject(s) {_name_some(bad)}" if len(bad) else "with no subject id"
        if len(bad) and used.loc[incomplete, subject].isna().any():
            where += " and in rows with no subject id"
        raise ValueError(
            f"{int(incomplete.sum())} row(s) have a missing value (NaN) in {dv!r}, {subject!r} "
            f"or a factor column, {where} (row labels "
            f"{_name_some(used.index[incomplete])}). Drop those rows or subjects explicitly "
            f"(RM-ANOVA then needs complete subjects). {LMM_HINT}"
        )
    within_levels = {factor: levels_of(used, factor) for factor in within}
    for factor in between:
        levels_of(used, factor)
        per_subject = used.groupby(subject, sort=False)[factor].nunique()
        varying = per_subject.index[per_subject > 1]
        if len(varying):
            raise ValueError(
                f"The between-subjects factor {factor!r} changes within subject(s) "
                f"{_name_some(varying)}; a between factor must be constant within a subject "
                "(did you mean to list it under within=?)."
            )
    cell_counts = used.groupby([subject, *within], sort=False, observed=True)[dv].size()
    n_averaged = int(cell_counts[cell_counts > 1].sum())
    if n_averaged:
        warnings.warn(
            f"{n_averaged} rows share a subject and within cell with other rows "
            f"({int((cell_counts > 1).sum())} subject-cell combinations with more than one "
            f"row); each such cell is averaged to one value before the ANOVA.",
            UserWarning,
            stacklevel=stacklevel,
        )
    means = used.groupby([subject, *within], sort=False, observed=True)[dv].mean()
    cells = list(product(*within_levels.values()))
    wide = means.unstack(list(range(1, len(within) + 1)))
    wide = wide.reindex(
        columns=pd.MultiIndex.from_tuples(cells) if len(within) > 1 else [c[0] for c in cells]
    )
    missing = wide.isna().any(axis=1)
    if missing.any():
        raise ValueError(
            f"{int(missing.sum())} subject(s) lack at least one of the {len(cells)} within "
            f"cells: {_name_some(wide.index[missing])}. {LMM_HINT}"
        )
    if len(wide) < 2:
        raise ValueError(
            f"The data have {len(wide)} subject; repeated-measures ANOVA needs at least two."
        )
    subjects = used.drop_duplicates(subject).set_index(subject).loc[wide.index, between]
    subjects = subjects.reset_index()
    return WideData(
        y=wide.to_numpy(dtype=float),
        subjects=subjects,
        within_levels=within_levels,
        n_averaged=n_averaged,
    )


def within_contrast(within_levels: dict[str, list], term: tuple[str, ...]) -> np.ndarray:
    """Orthonormal cells x df matrix of a within term (Kronecker product over the factors).

    Factors in ``term`` contribute orthonormal polynomial contrasts, the others the normalised
    mean vector; the empty term gives the normalised mean over all cells.
    """
    matrix = np.ones((1, 1))
    for factor, levels in within_levels.items():
        k = len(levels)
        part = poly_contrasts(k) if factor in term else np.full((k, 1), 1 / np.sqrt(k))
        matrix = np.kron(matrix, part)
    return matrix
