"""Panel design helpers for :mod:`mixedtools.panel`: checks, entity sums and means.

Entity sums are weighted counts by entity number (``numpy.bincount``), equivalent to products with
the sparse entity-indicator matrix (observations x entities), so no dense entities x entities
matrix is ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

from mixedtools.rformula import check_finite

INTERCEPT_NAMES = ("Intercept", "const")


@dataclass(frozen=True)
class PanelDesign:
    """Response, regressors and entity structure of a one-way panel model.

    Attributes
    ----------
    y : numpy.ndarray, shape (n,)
    X : numpy.ndarray, shape (n, p)
    names : list of str
        Regressor names (formula engine names), ``"Intercept"`` for the constant.
    index : pandas.MultiIndex
        The (entity, time) index of the rows used.
    codes : numpy.ndarray of int, shape (n,)
        Entity number of each row, 0 .. n_entities - 1.
    counts : numpy.ndarray, shape (n_entities,)
        Number of periods T_i of each entity.
    entities : pandas.Index
        Entity labels, in the order of ``counts``.
    """

    y: np.ndarray
    X: np.ndarray
    names: list
    index: pd.MultiIndex
    codes: np.ndarray
    counts: np.ndarray
    entities: pd.Index

    @property
    def n_obs(self) -> int:
        return self.y.shape[0]

    @property
    def n_entities(self) -> int:
        return self.counts.shape[0]

    @property
    def balanced(self) -> bool:
        return bool(np.all(self.counts == self.counts[0]))

    @cached_property
    def indicator(self) -> sparse.csr_matrix:
        """Sparse entity-indicator matrix, observations x entities."""
        n = self.n_obs
        return sparse.csr_matrix(
            (np.ones(n), (np.arange(n), self.codes)), shape=(n, self.n_entities)
        )

    def entity_sums(self, values: np.ndarray) -> np.ndarray:
        """Entity sums of `values` (n,) or (n, k): one row per entity."""
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            return np.bincount(self.codes, weights=values, minlength=self.n_entities)
        sums = np.empty((self.n_entities, values.shape[1]))
        for j in range(values.shape[1]):
            sums[:, j] = np.bincount(self.codes, weights=values[:, j], minlength=self.n_entities)
        return sums

    def entity_means(self, values: np.ndarray) -> np.ndarray:
        """Entity means of `values` (n,) or (n, k): one row per entity."""
        sums = self.entity_sums(values)
        return sums / (self.counts if sums.ndim == 1 else self.counts[:, None])

    def expand(self, per_entity: np.ndarray) -> np.ndarray:
        """Repeat one value (or row) per entity onto the rows of the panel."""
        return per_entity[self.codes]

    def demean(self, values: np.ndarray) -> np.ndarray:
        """Within transformation: subtract each entity's mean."""
        return values - self.expand(self.entity_means(values))

    @cached_property
    def time_codes(self) -> np.ndarray:
        """Period number of each row, 0 .. n_periods - 1 (periods sorted)."""
        return pd.factorize(self.index.get_level_values(1), sort=True)[0]

    @cached_property
    def time_counts(self) -> np.ndarray:
        """Number of entities observed in each period."""
        return np.bincount(self.time_codes).astype(float)

    @property
    def n_periods(self) -> int:
        return self.time_counts.shape[0]

    def time_means(self, values: np.ndarray) -> np.ndarray:
        """Period means of `values` (n,) or (n, k): one row per period."""
        values = np.asarray(values, dtype=float)
        codes, counts = self.time_codes, self.time_counts
        if values.ndim == 1:
            return np.bincount(codes, weights=values, minlength=len(counts)) / counts
        sums = np.empty((len(counts), values.shape[1]))
        for j in range(values.shape[1]):
            sums[:, j] = np.bincount(codes, weights=values[:, j], minlength=len(counts))
        return sums / counts[:, None]

    @property
    def fully_balanced(self) -> bool:
        """Every entity observed in every period (a two-way balanced panel)."""
        return self.balanced and int(self.counts[0]) == self.n_periods

    def twoway_demean(self, values: np.ndarray) -> np.ndarray:
        """Two-way within transformation: the residuals of `values` on entity and period
        dummies. Balanced panels: ``v - vbar_i - vbar_t + vbar``; unbalanced panels: entity
        demeaning, then the entity-demeaned period dummies partialled out (Frisch-Waugh-Lovell).
        """
        values = np.asarray(values, dtype=float)
        if self.fully_balanced:
            grand = values.mean(axis=0)
            return (
                values
                - self.expand(self.entity_means(values))
                - self.time_means(values)[self.time_codes]
                + grand
            )
        within = self.demean(values)
        dummies = np.zeros((self.n_obs, self.n_periods - 1))
        rows = np.flatnonzero(self.time_codes > 0)
        dummies[rows, self.time_codes[rows] - 1] = 1.0
        dummies = self.demean(dummies)
        coef, *_ = np.linalg.lstsq(dummies, within, rcond=None)
        return within - dummies @ coef

    def intercept_columns(self) -> np.ndarray:
        """Boolean mask of the constant column(s) named like an intercept."""
        return np.array([name in INTERCEPT_NAMES for name in self.names])

    def time_invariant_columns(self, rtol: float = 1e-10) -> np.ndarray:
        """Boolean mask of regressors that do not vary within any entity (intercept included)."""
        within = self.demean(self.X)
        scale = np.maximum(np.abs(self.X).max(axis=0), 1.0)
        return np.abs(within).max(axis=0) <= rtol * scale


def check_panel_frame(data) -> None:
    """Raise a clear error unless `data` is a DataFrame indexed by (entity, time)."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame; got {type(data).__name__}.")
    if not isinstance(data.index, pd.MultiIndex) or data.index.nlevels != 2:
        raise ValueError(
            "data must be indexed by (entity, time): a two-level MultiIndex, "
            "e.g. data.set_index(['firm', 'year'])."
        )
    if data.index.has_duplicates:
        duplicated = data.index[data.index.duplicated()][:3].tolist()
        raise ValueError(
            f"data has repeated (entity, time) pairs, e.g. {duplicated}; "
            "each entity may appear once per period."
        )


def build_design(dependent: pd.DataFrame, exog: pd.DataFrame) -> PanelDesign:
    """Check the parsed model frame and build a :class:`PanelDesign`.

    Raises a ValueError naming the problem for missing or infinite values, a panel with one
    period only, or a single entity.
    """
    return design_from_arrays(
        dependent.iloc[:, 0].to_numpy(dtype=float),
        exog.to_numpy(dtype=float),
        [str(c) for c in dependent.columns[:1]],
        [str(c) for c in exog.columns],
        exog.index,
    )


def design_from_arrays(y, X, y_name, names, index: pd.MultiIndex) -> PanelDesign:
    """:func:`build_design` from the response, the regressor matrix and the (entity, time) index."""
    missing = np.concatenate([np.isnan(y)[:, None], np.isnan(X)], axis=1).sum(axis=0)
    if missing.any():
        detail = ", ".join(
            f"{name!r} ({count})"
            for name, count in zip(list(y_name) + list(names), missing, strict=True)
            if count
        )
        raise ValueError(
            f"missing values (NaN) in {detail}; drop or impute these rows before fitting "
            "(e.g. data.dropna(subset=[...]))."
        )
    check_finite(np.column_stack([y, X]), list(y_name) + list(names), "panel model", index)
    entity_codes, entities = _entity_codes(index)
    n_entities = len(entities)
    if n_entities < 2:
        raise ValueError("the panel has a single entity; a panel model needs at least two.")
    counts = np.bincount(entity_codes, minlength=n_entities).astype(float)
    if counts.max() < 2:
        raise ValueError(
            "every entity is observed in one period only; panel effects need repeated "
            "observations (T >= 2 for some entities)."
        )
    return PanelDesign(
        y=y,
        X=X,
        names=list(names),
        index=index,
        codes=entity_codes,
        counts=counts,
        entities=pd.Index(entities),
    )


def _entity_codes(index: pd.MultiIndex):
    """Entity number of each row (entities sorted) and the entity labels.

    The MultiIndex's own codes when its entity level is sorted and every label is used (as after
    ``set_index``), else ``pd.factorize(..., sort=True)``.
    """
    levels, codes = index.levels[0], np.asarray(index.codes[0])
    if levels.is_monotonic_increasing and levels.is_unique and len(codes):
        used = np.bincount(codes, minlength=len(levels)) if codes.min() >= 0 else None
        if used is not None and used.all():
            return codes.astype(np.intp, copy=False), levels
    return pd.factorize(index.get_level_values(0), sort=True)
