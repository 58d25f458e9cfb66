"""Sums of squares and cross-products of linear-model hypotheses: the engine of factorial and
repeated-measures ANOVA in :mod:`mixedtools.anova`.

A between-subjects design is coded with sum-to-zero contrasts, one block of columns per term
(main effects, then two-way interactions, ... as R orders them). A hypothesis SSCP matrix is the
difference of two residual SSCP matrices: of the model without the term and of the model with
it. Which other terms are in both models is what distinguishes the SS types:

* type 1 (sequential): the terms listed before it;
* type 2: every term that does not contain it;
* type 3: every other term (with sum-to-zero codes, so the result does not depend on coding).

The response may have several columns (the within-subject contrasts of repeated-measures data);
univariate ANOVA is the one-column case.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd


def sum_contrasts(k: int) -> np.ndarray:
    """R's ``contr.sum(k)``: k x (k-1), identity on top of a row of -1."""
    return np.vstack([np.eye(k - 1), -np.ones((1, k - 1))])


def poly_contrasts(k: int) -> np.ndarray:
    """R's ``contr.poly(k)``: orthonormal polynomial contrasts for equally spaced levels."""
    x = np.arange(1, k + 1, dtype=float) - (k + 1) / 2
    q, r = np.linalg.qr(np.vander(x, k, increasing=True))
    raw = q * np.diag(r)  # Q times the diagonal of R is unique (no sign ambiguity)
    raw = raw / np.sqrt((raw**2).sum(axis=0))
    return raw[:, 1:]


def term_list(factors: list[str]) -> list[tuple[str, ...]]:
    """All non-empty subsets of ``factors`` in R's order: main effects, then 2-way, ..."""
    return [t for size in range(1, len(factors) + 1) for t in combinations(factors, size)]


def term_name(term: tuple[str, ...]) -> str:
    return ":".join(term)


@dataclass(frozen=True)
class Design:
    """Sum-coded model matrix with one column block per term (block 0 is the intercept)."""

    matrix: np.ndarray
    terms: list[tuple[str, ...]]
    blocks: list[np.ndarray]  # column indices of each term (blocks[0] = intercept)


def sum_coded_design(frame: pd.DataFrame, factors: list[str]) -> Design:
    """Model matrix of the full factorial in ``factors`` (intercept + all interactions)."""
    n = len(frame)
    coded = {}
    for factor in factors:
        codes, levels = pd.factorize(frame[factor], sort=True)
        coded[factor] = sum_contrasts(len(levels))[codes]
    columns = [np.ones((n, 1))]
    terms = term_list(factors)
    for term in terms:
        block = np.ones((n, 1))
        for factor in term:
            block = (block[:, :, None] * coded[factor][:, None, :]).reshape(n, -1)
        columns.append(block)
    sizes = [c.shape[1] for c in columns]
    starts = np.cumsum([0] + sizes)
    blocks = [np.arange(starts[i], starts[i + 1]) for i in range(len(sizes))]
    return Design(matrix=np.hstack(columns), terms=terms, blocks=blocks)


def residual_sscp(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, int]:
    """Residual SSCP matrix of the least-squares fit of ``z`` on ``x``, and the rank of ``x``."""
    if x.shape[1] == 0:
        return z.T @ z, 0
    q, r = np.linalg.qr(x)
    tol = np.abs(np.diag(r)).max() * max(x.shape) * np.finfo(float).eps
    rank = int((np.abs(np.diag(r)) > tol).sum())
    if rank < x.shape[1]:
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        rank = int((s > s[0] * max(x.shape) * np.finfo(float).eps).sum())
        q = u[:, :rank]
    resid = z - q @ (q.T @ z)
    return resid.T @ resid, rank


def hypothesis_sscp(
    design: Design, z: np.ndarray, ss_type: int, include_intercept: bool = False
) -> tuple[list[str], list[np.ndarray], list[int], np.ndarray, int]:
    """Hypothesis SSCP and df of every term; residual SSCP and residual df.

    Returns term names, hypothesis SSCP matrices, their df, the residual SSCP and its df. With
    ``include_intercept`` the intercept (named ``"(Intercept)"``) is tested first (types 2 and
    3 as car tests it: against the empty model for type 2, against all other terms for type 3).
    """
    x = design.matrix
    n_blocks = len(design.blocks)
    error, rank_full = residual_sscp(x, z)

    def fit(block_ids):
        cols = np.concatenate([design.blocks[b] for b in block_ids]) if block_ids else []
        return residual_sscp(x[:, np.asarray(cols, dtype=int)], z)

    names, sscps, dfs = [], [], []
    targets = ([0] if include_intercept else []) + list(range(1, n_blocks))
    for b in targets:
        term = design.terms[b - 1] if b else ()
        if ss_type == 1:
            reduced, rank_reduced = fit(list(range(b)))
            full, rank_with = fit(list(range(b + 1)))
        elif ss_type == 2 and b == 0:
            # Every term contains the intercept: it is tested against the empty model.
            reduced, rank_reduced = fit([])
            full, rank_with = fit([0])
        elif ss_type == 2:
            keep = [0] + [
                c for c in range(1, n_blocks) if not set(term) <= set(design.terms[c - 1])
            ]
            reduced, rank_reduced = fit(keep)
            full, rank_with = fit(sorted(keep + [b]))
        else:
            others = [c for c in range(n_blocks) if c != b]
            reduced, rank_reduced = fit(others)
            full, rank_with = error, rank_full
        names.append(term_name(term) if term else "(Intercept)")
        sscps.append(reduced - full)
        dfs.append(rank_with - rank_reduced)
    return names, sscps, dfs, error, x.shape[0] - rank_full
