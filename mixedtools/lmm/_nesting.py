"""Whether the random part of one lmer fit is a special case of another's (for :func:`lrt`).

Names alone decide too little: ``(1 | worker/machine)`` has the variances ``worker`` and
``worker:machine``, ``(machine | worker)`` three variances of ``worker`` and their covariances,
and yet the first is the second with a compound-symmetric covariance matrix. The test here is on
the covariance each term adds to the response.

A term ``t`` of the reduced model (effects ``x_t``, grouping factor ``g_t``) adds
``Cov(y_r, y_s) = x_t(r)' S_t x_t(s)`` when rows ``r`` and ``s`` share their level of ``g_t``. A
term ``f`` of the full model (one unstructured covariance ``S_f``) can produce the same for every
``S_t`` when

1. ``g_t`` is nested in ``g_f`` (each level of ``g_t`` lies in one level of ``g_f``), and
2. with ``type(r)`` the level of ``g_t`` within its ``g_f`` group (the grouping columns of ``g_t``
   that ``g_f`` lacks, ``machine`` for ``worker:machine`` in ``worker``; one type when the two
   factors group the rows alike), the vectors
   ``w(r) = e_type(r) (x) x_t(r)`` are one linear map of the full term's effects,
   ``w(r) = A' x_f(r)`` for every row. Then ``S_f = A (I (x) S_t) A'`` (positive semi-definite).

Every term of the reduced model must be so represented by some term of the full one (sums of
such contributions stay representable). The check is sufficient, not necessary: what it cannot
show nested is reported as possibly not nested.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedtools import rformula

__all__ = ["random_part_nested"]


def _codes(data: pd.DataFrame, columns) -> np.ndarray:
    if not columns:
        return np.zeros(len(data), dtype=np.intp)
    return data.groupby(list(columns), sort=False, observed=True).ngroup().to_numpy()


def _terms(fit, order=None):
    """(grouping columns, group codes, effects matrix) of each random term, rows in ``order``."""
    design = fit.design
    data = design.data if order is None else design.data.iloc[order]
    out = []
    for term in design.parsed.random:
        info = design.term_design_infos[term]
        Z = rformula.evaluate([info], data, "raise", "random effects")[0].to_numpy(dtype=float)
        out.append((frozenset(term.group), data, Z))
    return out


def _represents(term, full_term) -> bool:
    group_t, data, Z_t = term
    group_f, data_f, Z_f = full_term
    codes_t = _codes(data, sorted(group_t))
    codes_f = _codes(data_f, sorted(group_f))
    pairs = len(set(zip(codes_t.tolist(), codes_f.tolist(), strict=True)))
    if pairs != codes_t.max() + 1:  # g_t is not nested in g_f
        return False
    if pairs == codes_f.max() + 1:  # the same grouping (under another name, perhaps)
        extra = []
    else:  # finer: its level within a g_f group, from the columns that g_f lacks
        extra = sorted(group_t - group_f) if group_t >= group_f else sorted(group_t)
    types = _codes(data, extra)
    n_types = int(types.max()) + 1
    if n_types > Z_f.shape[1]:
        return False  # more disjoint indicator columns than the full term has effects
    W = np.concatenate([(types == k)[:, None] * Z_t for k in range(n_types)], axis=1)
    coef = np.linalg.lstsq(Z_f, W, rcond=None)[0]
    residual = np.abs(W - Z_f @ coef).max()
    return bool(residual <= 1e-8 * max(1.0, float(np.abs(W).max())))


def random_part_nested(reduced, full, order) -> bool:
    """True when every random term of ``reduced`` is a special case of a term of ``full``.

    ``order`` puts the reduced fit's rows in the full fit's order (``lrt`` matches them by label).
    """
    reduced_terms = _terms(reduced, order)
    full_terms = _terms(full)
    return all(any(_represents(t, f) for f in full_terms) for t in reduced_terms)
