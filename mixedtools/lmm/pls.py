"""lme4's penalised least-squares (PLS) engine, for any number of random-effects terms.

The model is ``y = X beta + Z b + e`` with ``b ~ N(0, sigma^2 Lambda Lambda')`` and
``e ~ N(0, sigma^2 I)`` (Bates, Maechler, Bolker & Walker 2015).  ``Z`` is sparse: each term
``(expr | g)`` contributes ``n_g x k`` columns (levels x effects); ``Lambda`` is block diagonal,
``I_{n_g} (x) T_g`` per term, with ``T_g`` the relative Cholesky factor of the term's covariance
``G_g = sigma^2 T_g T_g'``.  The profiled deviance needs the Cholesky factor of

``C(theta) = Lambda' Z' Z Lambda + I``.

As in MixedModels.jl the terms are ordered by their number of columns, largest first.  The
first term's block of ``C`` is block diagonal (one small ``k x k`` block per level), so it is
factored level by level; the remaining terms (fewer columns: the second crossed factor, the outer
factors of a nested design) form a dense Schur complement that LAPACK factors.  Nothing of size
``N x levels`` is formed, and the cross products ``Z'Z``, ``Z'X``, ``Z'y`` are computed once, as
sparse products, when the structure is built.

:class:`PLSStructure` uses the variance parameters ``tau`` of :mod:`mixedtools.lmm.reml` (data
scale: the free entries of each term's ``G`` row by row, then ``sigma^2``); ``V`` is linear in
``tau``, so the score, the information and the derivatives of ``Phi = (X'V^-1X)^-1`` that the df
methods use have the same closed forms as in :mod:`mixedtools.lmm.reml`, evaluated here through
``Z'V^-1Z`` instead of group by group.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from mixedtools.lmm._linalg import lapack_cholesky as _lapack_cholesky
from mixedtools.lmm._linalg import lapack_solve as _lapack_solve
from mixedtools.lmm._linalg import tri_inverse as _tri_inverse
from mixedtools.lmm.engine import ConditionalModes, LMMQuantities, RandomTermCovariance
from mixedtools.lmm.optimize import search

__all__ = ["PLSTerm", "PLSStructure", "fit_pls"]

_LOG_2PI = np.log(2.0 * np.pi)
_DENSE_QUANTITIES = 400  # random effects up to which the information uses dense products
_DENSE_DEVIANCE = 400  # and up to which the deviance uses one dense Cholesky factor
_MAX_DENSE = 12_000  # effects outside the largest term: a dense Cholesky of this size (1.2 GB)


@dataclass(frozen=True, eq=False)
class PLSTerm:
    """One random-effects term ``(effects | group)``.

    Attributes
    ----------
    group : str
        Name of the grouping factor (``"school:class"``).
    codes : ndarray (N,) of int
        Level of each row, ``0 .. n_levels - 1``.
    levels : ndarray
        Labels of the levels.
    Z : ndarray (N, k)
        Values of the term's effects on each row (``1`` for an intercept).
    effect_names : tuple of str
        Names of the k effects.
    """

    group: str
    codes: np.ndarray
    levels: np.ndarray
    Z: np.ndarray
    effect_names: tuple

    @property
    def k(self) -> int:
        return self.Z.shape[1]

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def n_columns(self) -> int:
        return self.k * self.n_levels


def _column_scales(Z) -> np.ndarray:
    """Root mean square of each column of Z (1 for a column of zeros)."""
    rms = np.sqrt(np.mean(np.asarray(Z, dtype=float) ** 2, axis=0))
    return np.where(rms > 0, rms, 1.0)


@lru_cache(maxsize=16)
def _lower(k):
    rows, cols = np.tril_indices(k)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def _block_diagonal(data, k, n) -> sp.csr_matrix:
    """CSR matrix (n x n) with full k x k diagonal blocks, ``data`` in row-major block order."""
    indptr = np.arange(0, n * k + 1, k)
    indices = (np.arange(n)[:, None] // k * k + np.arange(k)[None, :]).ravel()
    return sp.csr_matrix((data, indices, indptr), shape=(n, n))


def _sum_product(a, b) -> float:
    """Sum of the elementwise product of two matrices, dense or sparse."""
    if sp.issparse(a):
        return float(a.multiply(b).sum())
    if sp.issparse(b):
        return float(b.multiply(a).sum())
    return float(np.einsum("ij,ij->", a, b))


class PLSStructure:
    """Layout of a linear mixed model with any number of random-effects terms.

    Parameters
    ----------
    y : ndarray (N,)
    X : ndarray (N, p)
    terms : sequence of PLSTerm
    fe_names : sequence of str, optional

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.pls import PLSStructure, PLSTerm
    >>> rng = np.random.default_rng(0)
    >>> a, b = np.repeat(np.arange(6), 6), np.tile(np.arange(6), 6)
    >>> terms = [PLSTerm("a", a, np.arange(6), np.ones((36, 1)), ("Intercept",)),
    ...          PLSTerm("b", b, np.arange(6), np.ones((36, 1)), ("Intercept",))]
    >>> s = PLSStructure(rng.normal(size=36), np.ones((36, 1)), terms)
    >>> s.n_tau, s.tau_names
    (3, ('a:Intercept', 'b:Intercept', 'sigma2'))
    """

    def __init__(self, y, X, terms, fe_names=None):
        y = np.asarray(y, dtype=float).ravel()
        X = np.asarray(X, dtype=float)
        n = y.shape[0]
        if X.ndim != 2 or X.shape[0] != n:
            raise ValueError(f"X must have {n} rows, got shape {X.shape}")
        if not np.all(np.isfinite(y)) or not np.all(np.isfinite(X)):
            raise ValueError("y and X must be finite (drop rows with missing values first)")
        if not terms:
            raise ValueError("the model has no random-effects terms")
        self.y, self.X, self.terms = y, X, tuple(terms)
        self.fe_names = (
            tuple(fe_names) if fe_names is not None else tuple(f"x{i}" for i in range(X.shape[1]))
        )
        # tau layout (terms in the user's order)
        self.term_entries = [tuple(zip(*_lower(t.k), strict=True)) for t in self.terms]
        self._tau_offsets = np.cumsum([0] + [len(e) for e in self.term_entries])
        # factorisation order: the term with most columns first (block diagonal)
        self.order = sorted(range(len(self.terms)), key=lambda i: -self.terms[i].n_columns)
        cols = [self.terms[i].n_columns for i in self.order]
        self._col_offsets = np.cumsum([0] + cols)
        self.q = int(self._col_offsets[-1])
        self.q1 = cols[0]
        q2 = self.q - self.q1
        if q2 > _MAX_DENSE:
            names = ", ".join(self.terms[i].group for i in self.order[1:])
            raise ValueError(
                f"the random effects of {names} (all but the largest term) number {q2}; this "
                f"engine factors them as one dense {q2} x {q2} matrix "
                f"({q2 * q2 * 8 / 1e9:.1f} GB), above its limit of {_MAX_DENSE} effects"
            )
        self._build_crossproducts()
        self._qty_cache = None

    @property
    def has_gradient(self) -> bool:
        """Whether :meth:`deviance` gives its gradient: for small models (dense products)."""
        return self.q <= _DENSE_QUANTITIES

    # ------------------------------------------------------------------ layout
    @property
    def n_obs(self) -> int:
        return self.y.shape[0]

    @property
    def n_fixed(self) -> int:
        return self.X.shape[1]

    @property
    def n_tau(self) -> int:
        return int(self._tau_offsets[-1]) + 1

    @cached_property
    def tau_names(self) -> tuple:
        names = []
        for t, entries in zip(self.terms, self.term_entries, strict=True):
            for a, b in entries:
                e = t.effect_names
                names.append(f"{t.group}:{e[a]}" if a == b else f"{t.group}:{e[a]},{e[b]}")
        return tuple(names + ["sigma2"])

    @cached_property
    def variance_index(self) -> np.ndarray:
        idx = [
            int(self._tau_offsets[ti]) + i
            for ti, entries in enumerate(self.term_entries)
            for i, (a, b) in enumerate(entries)
            if a == b
        ]
        return np.asarray(idx + [self.n_tau - 1])

    def term_G(self, tau, ti) -> np.ndarray:
        """The covariance matrix G (k x k) of term ``ti`` from tau."""
        k = self.terms[ti].k
        G = np.zeros((k, k))
        start = self._tau_offsets[ti]
        for i, (a, b) in enumerate(self.term_entries[ti]):
            G[a, b] = G[b, a] = tau[start + i]
        return G

    def tau_from(self, Gs, sigma2) -> np.ndarray:
        """Assemble tau from the terms' G matrices and sigma^2."""
        out = [
            G[a, b] for G, entries in zip(Gs, self.term_entries, strict=True) for a, b in entries
        ]
        return np.asarray(out + [sigma2], dtype=float)

    def is_valid_tau(self, tau) -> bool:
        tau = np.asarray(tau, dtype=float)
        if tau.shape != (self.n_tau,) or not np.all(np.isfinite(tau)) or tau[-1] <= 0:
            return False
        for ti in range(len(self.terms)):
            G = self.term_G(tau, ti)
            scale = max(np.abs(G).max(initial=0.0), tau[-1])
            if np.linalg.eigvalsh(G).min() < -1e-12 * scale:
                return False
        return True

    def boundary_mask(self, tau, rel_tol=1e-8) -> np.ndarray:
        """Variances below ``rel_tol * sigma^2``, with the covariances in their rows."""
        tau = np.asarray(tau, dtype=float)
        mask = np.zeros(self.n_tau, bool)
        for ti, entries in enumerate(self.term_entries):
            start = self._tau_offsets[ti]
            zero = {
                a
                for i, (a, b) in enumerate(entries)
                if a == b and tau[start + i] < rel_tol * tau[-1]
            }
            for i, (a, b) in enumerate(entries):
                if a in zero or b in zero:
                    mask[start + i] = True
        return mask

    # ------------------------------------------------------------------ set-up (once)
    def _build_crossproducts(self):
        n = self.n_obs
        rows, cols, vals = [], [], []
        for pos, ti in enumerate(self.order):
            t = self.terms[ti]
            off = self._col_offsets[pos]
            for a in range(t.k):
                rows.append(np.arange(n))
                cols.append(off + t.codes * t.k + a)
                vals.append(t.Z[:, a])
        Z = sp.csc_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, self.q)
        )
        Z.sum_duplicates()
        self.Zs = Z
        # centre y on its OLS fit: same likelihood, no digits lost to a large mean
        b0 = np.linalg.lstsq(self.X, self.y, rcond=None)[0]
        self._b0 = b0
        yc = self.y - self.X @ b0
        Xy = np.column_stack([self.X, yc])
        self.ZtZ = (Z.T @ Z).tocsr()
        self.ZtXy = np.asarray(Z.T @ Xy)
        self.XytXy = Xy.T @ Xy
        q1 = self.q1
        t1 = self.terms[self.order[0]]
        k1 = t1.k
        # first term: block diagonal Z1'Z1, (n1, k1, k1)
        Z1 = t1.Z
        D11 = np.empty((t1.n_levels, k1, k1))
        for a in range(k1):
            for b in range(a, k1):
                D11[:, a, b] = np.bincount(t1.codes, Z1[:, a] * Z1[:, b], minlength=t1.n_levels)
                D11[:, b, a] = D11[:, a, b]
        self._Z11 = D11
        self._Zr1 = self.ZtZ[q1:, :q1].tocsr()
        self._Zrr_sparse = self.ZtZ[q1:, q1:].tocsr()
        self._Zrr = self._Zrr_sparse.toarray()
        self._ZtZ_dense = self.ZtZ.toarray() if self.q <= _DENSE_QUANTITIES else None
        # (term, levels) in the internal order when every term is scalar (Lambda diagonal)
        self._lam_diagonal = (
            [(ti, self.terms[ti].n_levels) for ti in self.order]
            if all(t.k == 1 for t in self.terms)
            else None
        )
        q2 = self.q - q1
        self._Zr1_dense = (
            self._Zr1.toarray().reshape(q2, t1.n_levels, k1) if 0 < q2 * q1 <= 250_000 else None
        )
        # the pattern of Lambda: full k x k blocks per level
        r_idx, c_idx = [], []
        for pos, ti in enumerate(self.order):
            t = self.terms[ti]
            off = self._col_offsets[pos]
            base = off + np.arange(t.n_levels)[:, None, None] * t.k
            a = np.arange(t.k)[None, :, None]
            b = np.arange(t.k)[None, None, :]
            r_idx.append(np.broadcast_to(base + a, (t.n_levels, t.k, t.k)).ravel())
            c_idx.append(np.broadcast_to(base + b, (t.n_levels, t.k, t.k)).ravel())
        self._lam_rows = np.concatenate(r_idx)
        self._lam_cols = np.concatenate(c_idx)
        # CSR structure of the rest of Lambda (terms after the first), filled per theta
        indices, indptr = [], [0]
        for pos in range(1, len(self.order)):
            t = self.terms[self.order[pos]]
            off = self._col_offsets[pos] - q1
            for j in range(t.n_levels):
                for _ in range(t.k):
                    indices.append(off + j * t.k + np.arange(t.k))
                    indptr.append(indptr[-1] + t.k)
        self._lam_r_indices = np.concatenate(indices) if indices else np.zeros(0, np.int64)
        self._lam_r_indptr = np.asarray(indptr)

    def reweighted(self, w) -> PLSStructure:
        """The same layout with the cross products of ``W^1/2 Z`` for row weights ``w``.

        Penalised iteratively reweighted least squares (:mod:`mixedtools.lmm.pirls`) factors
        ``Lambda' Z'WZ Lambda + I`` with :meth:`factor` of the returned view; the response
        products of the view are not set.  The sparsity pattern does not depend on ``w``, so
        each product is a weighted sum over the rows into fixed positions (no sparse algebra).
        """
        w = np.asarray(w, dtype=float)
        if self.q > self.q1:
            self._rest_components  # noqa: B018 -- the pattern, computed once and shared by views
        view = copy.copy(self)
        t1 = self.terms[self.order[0]]
        k1 = t1.k
        D11 = np.empty((t1.n_levels, k1, k1))
        for a in range(k1):
            for b in range(a, k1):
                D11[:, a, b] = np.bincount(
                    t1.codes, w * t1.Z[:, a] * t1.Z[:, b], minlength=t1.n_levels
                )
                D11[:, b, a] = D11[:, a, b]
        view._Z11 = D11
        view.ZtZ = view.ZtXy = view.XytXy = view._ZtZ_dense = None
        view._qty_cache = None
        if self.q == self.q1:
            return view
        plan = self._weighting_plan
        q1, q2 = self.q1, self.q - self.q1
        r1 = np.bincount(plan["r1_inverse"], w[plan["r1_rows"]] * plan["r1_values"],
                         minlength=len(plan["r1_keys"]))  # fmt: skip
        rr = np.bincount(plan["rr_inverse"], w[plan["rr_rows"]] * plan["rr_values"],
                         minlength=len(plan["rr_keys"]))  # fmt: skip
        Zrr = np.zeros(q2 * q2)
        Zrr[plan["rr_keys"]] = rr
        view._Zrr = Zrr.reshape(q2, q2)
        if self._Zr1_dense is not None:
            dense = np.zeros(q2 * q1)
            dense[plan["r1_keys"]] = r1
            view._Zr1_dense = dense.reshape(q2, t1.n_levels, k1)
        else:
            view._Zr1 = sp.csr_matrix((r1, plan["r1_indices"], plan["r1_indptr"]), shape=(q2, q1))
            view._Zrr_sparse = sp.csr_matrix(view._Zrr)
        return view

    @cached_property
    def _weighting_plan(self) -> dict:
        """Where each row's products of Z entries land in ``Z_r'WZ_1`` and ``Z_r'WZ_r``."""
        q1, q2 = self.q1, self.q - self.q1
        cols, vals = [], []
        for pos, ti in enumerate(self.order):
            t = self.terms[ti]
            off = self._col_offsets[pos]
            cols.append(off + t.codes[:, None] * t.k + np.arange(t.k)[None, :])
            vals.append(t.Z)
        first_c, first_v = cols[0], vals[0]
        rest_c = np.concatenate(cols[1:], axis=1) - q1
        rest_v = np.concatenate(vals[1:], axis=1)
        n = self.n_obs
        rows = np.arange(n)
        plan = {}
        for name, left_c, left_v, right_c, right_v, width in (
            ("r1", rest_c, rest_v, first_c, first_v, q1),
            ("rr", rest_c, rest_v, rest_c, rest_v, q2),
        ):
            keys, values, which = [], [], []
            for a in range(left_c.shape[1]):
                for b in range(right_c.shape[1]):
                    keys.append(left_c[:, a].astype(np.int64) * width + right_c[:, b])
                    values.append(left_v[:, a] * right_v[:, b])
                    which.append(rows)
            keys = np.concatenate(keys)
            unique, inverse = np.unique(keys, return_inverse=True)
            plan[f"{name}_keys"] = unique
            plan[f"{name}_inverse"] = inverse
            plan[f"{name}_values"] = np.concatenate(values)
            plan[f"{name}_rows"] = np.concatenate(which)
        row_of = plan["r1_keys"] // q1
        plan["r1_indices"] = (plan["r1_keys"] % q1).astype(np.int32)
        plan["r1_indptr"] = np.searchsorted(row_of, np.arange(q2 + 1)).astype(np.int32)
        return plan

    # ------------------------------------------------------------------ theta <-> tau
    @property
    def n_theta(self) -> int:
        return self.n_tau - 1

    @property
    def n_random_effects(self) -> int:
        """Number of random effects q (columns of Z)."""
        return self.q

    def theta_bounds(self):
        out = []
        for entries in self.term_entries:
            out += [(0.0, None) if a == b else (None, None) for a, b in entries]
        return out

    def theta_start(self) -> np.ndarray:
        return np.array(
            [1.0 if a == b else 0.0 for entries in self.term_entries for a, b in entries]
        )

    def factors_from_theta(self, theta):
        """Relative factors T_t (lower triangular), one per term, from theta."""
        out = []
        for ti, t in enumerate(self.terms):
            T = np.zeros((t.k, t.k))
            T[_lower(t.k)] = theta[self._tau_offsets[ti] : self._tau_offsets[ti + 1]]
            out.append(T)
        return out

    def factors_from_tau(self, tau):
        """Square factors T_t with T_t T_t' = G_t / sigma^2 (any PSD G_t)."""
        out = []
        for ti in range(len(self.terms)):
            G = self.term_G(tau, ti) / tau[-1]
            w, U = np.linalg.eigh(G)
            out.append(U * np.sqrt(np.clip(w, 0.0, None)))
        return out

    def theta_from_tau(self, tau) -> np.ndarray:
        out = []
        for ti, t in enumerate(self.terms):
            G = self.term_G(tau, ti) / tau[-1]
            w, U = np.linalg.eigh(G)
            G = (U * np.clip(w, 1e-10, None)) @ U.T
            out.append(np.linalg.cholesky(G)[_lower(t.k)])
        return np.concatenate(out)

    def tau_from_theta(self, theta, sigma2) -> np.ndarray:
        Ts = self.factors_from_theta(theta)
        return self.tau_from([T @ T.T * sigma2 for T in Ts], sigma2)

    # ------------------------------------------------------------------ factorisation
    def _lambda(self, Ts):
        data = np.concatenate(
            [np.tile(Ts[ti].ravel(), self.terms[ti].n_levels) for ti in self.order]
        )
        return sp.csr_matrix((data, (self._lam_rows, self._lam_cols)), shape=(self.q, self.q))

    def _lam_apply(self, Ts, V, transpose, start=0):
        """``Lambda' V`` (``transpose``) or ``Lambda V`` for dense V, term by term; with
        ``start`` = 1, V holds the rows of the terms after the first only."""
        V = np.asarray(V, dtype=float)
        out = np.empty_like(V)
        base = self._col_offsets[start]
        for pos in range(start, len(self.order)):
            t = self.terms[self.order[pos]]
            sl = slice(self._col_offsets[pos] - base, self._col_offsets[pos + 1] - base)
            T = Ts[self.order[pos]]
            block = V[sl].reshape(t.n_levels, t.k, -1)
            if t.k == 1:
                out[sl] = (T[0, 0] * block).reshape(out[sl].shape)
            elif block.shape[2] <= 16 and t.n_levels >= 1000:
                # many levels, few columns: one BLAS product, effects as rows
                flat = np.moveaxis(block, 1, 0).reshape(t.k, -1)
                product = ((T.T if transpose else T) @ flat).reshape(t.k, t.n_levels, -1)
                out[sl] = np.moveaxis(product, 0, 1).reshape(out[sl].shape)
            else:
                spec = "ba,jbm->jam" if transpose else "ab,jbm->jam"
                out[sl] = np.einsum(spec, T, block).reshape(out[sl].shape)
        return out

    def factor(self, Ts) -> _Factor:
        """Cholesky factor of ``C = Lambda' Z'Z Lambda + I`` for relative factors ``Ts``."""
        q1 = self.q1
        T1 = Ts[self.order[0]]
        k1 = T1.shape[0]
        # T1' D_j T1 for every level j at once: row-major vec(T' D T) = vec(D) (T kron T)
        n1 = self._Z11.shape[0]
        if k1 == 1:  # scalar first term: C11 is diagonal
            L11 = np.sqrt(self._Z11 * T1[0, 0] ** 2 + 1.0)
        else:
            C11 = (self._Z11.reshape(n1, k1 * k1) @ np.kron(T1, T1)).reshape(n1, k1, k1)
            C11 += np.eye(k1)
            L11 = np.linalg.cholesky(C11)
        # W = C_r1 L11^-T = Lambda_r' Z_r'Z_1 Lambda_1 L11^-T ; L11^-T Lambda_1 blocks: T1 L11_j^-T
        L11_inv = _tri_inverse(L11)
        R1 = np.swapaxes(L11_inv @ T1.T, 1, 2)
        if self.q == q1:
            W, L22 = np.zeros((0, q1)), np.zeros((0, 0))
        elif self._Zr1_dense is not None:  # small designs: dense products, no sparse overhead
            W0 = np.einsum("rja,jab->rjb", self._Zr1_dense, R1).reshape(self.q - q1, q1)
            W = self._lam_apply(Ts, W0, True, start=1)
            P = self._lam_apply(Ts, self._Zrr, True, start=1)
            S = self._lam_apply(Ts, P.T, True, start=1) + np.eye(self.q - q1) - W @ W.T
            L22 = _lapack_cholesky(S)
        else:
            R1s = _block_diagonal(R1.ravel(), k1, q1)
            data = np.concatenate(
                [np.tile(Ts[ti].ravel(), self.terms[ti].n_levels) for ti in self.order[1:]]
            )
            Lam_r = sp.csr_matrix(
                (data, self._lam_r_indices, self._lam_r_indptr), shape=(self.q - q1, self.q - q1)
            )
            W = (Lam_r.T @ (self._Zr1 @ R1s)).tocsr()
            S = (Lam_r.T @ self._Zrr_sparse @ Lam_r).toarray() - (W @ W.T).toarray()
            S[np.diag_indices_from(S)] += 1.0
            L22 = self._cholesky_rest(S)
        return _Factor(L11=L11, W=W, L22=L22, q1=q1, L11_inv=L11_inv, Ts=Ts)

    def _cholesky_rest(self, S):
        """Lower Cholesky factor of the Schur complement ``S`` of the terms after the first.

        When ``S`` splits into independent blocks (the outer factors of a nested design: one
        block per school), each block is factored on its own, batched by block size; the
        factor has the same pattern, so it equals the dense factor up to rounding."""
        components = self._rest_components
        if components is None:
            return sla.cholesky(S, lower=True, check_finite=False)
        L = np.zeros_like(S)
        for idx in components:  # (n_blocks, size): the indices of blocks of one size
            rows, cols = idx[:, :, None], idx[:, None, :]
            L[rows, cols] = np.linalg.cholesky(S[rows, cols])
        return L

    @cached_property
    def _rest_components(self):
        """Indices of the independent blocks of the Schur complement, grouped by size; None
        when it does not split into many small blocks (crossed designs)."""
        q1, q2 = self.q1, self.q - self.q1
        if q2 < 64 or q2 * q1 <= 250_000:
            return None
        # pattern of Lambda_r' (Z_r'Z_r + Z_r'Z_1 Z_1'Z_r) Lambda_r, at the level of the effects
        # of one level (Lambda_r mixes the k effects of a level)
        ones = sp.csr_matrix(self._Zr1, copy=True)
        ones.data[:] = 1.0
        rest = sp.csr_matrix(self._Zrr_sparse, copy=True)
        rest.data[:] = 1.0
        lam = sp.csr_matrix(
            (np.ones(len(self._lam_r_indices)), self._lam_r_indices, self._lam_r_indptr),
            shape=(q2, q2),
        )
        pattern = lam.T @ (rest + ones @ ones.T) @ lam
        n_blocks, labels = connected_components(pattern, directed=False)
        sizes = np.bincount(labels)
        if n_blocks < 2 or sizes.max() > 256:
            return None
        order = np.argsort(labels, kind="stable")  # by block, indices ascending within one
        starts = np.concatenate([[0], np.cumsum(sizes)])
        groups = {}
        for b in range(n_blocks):
            groups.setdefault(sizes[b], []).append(order[starts[b] : starts[b + 1]])
        return [np.array(blocks) for blocks in groups.values()]

    def pls(self, Ts):
        """Penalised least squares at relative factors ``Ts``.

        Returns the factor, ``RZX`` (q x p), ``cu`` (q), ``RX'RX`` (p x p), beta (relative to the
        centring fit), the penalised residual sum of squares, ``log|C|`` and ``log|RX'RX|``.
        """
        f = self.factor(Ts)
        rhs = self._lam_apply(Ts, self.ZtXy, True)
        sol = f.forward(rhs)
        p = self.n_fixed
        RZX, cu = sol[:, :p], sol[:, p]
        XtX = self.XytXy[:p, :p] - RZX.T @ RZX
        Xty = self.XytXy[:p, p] - RZX.T @ cu
        chol = _lapack_cholesky(XtX)
        beta = _lapack_solve(chol, _lapack_solve(chol, Xty), trans=1)
        pwrss = self.XytXy[p, p] - cu @ cu - beta @ Xty
        pwrss = max(float(pwrss), np.finfo(float).tiny)
        logdet_x = 2.0 * np.log(np.diagonal(chol)).sum()
        return f, RZX, cu, XtX, beta, pwrss, f.logdet(), logdet_x

    def _dense_pls(self, Ts):
        """``(pwrss, log|C|, log|RX'RX|)`` of :meth:`pls` for scalar terms (``Lambda``
        diagonal) from one dense Cholesky factor of ``C``: for few random effects a handful of
        LAPACK calls cost less than the block factorisation's many small ones."""
        # scalar terms only: Lambda is diagonal
        d = np.concatenate([np.full(n, Ts[ti][0, 0]) for ti, n in self._lam_diagonal])
        C = self._ZtZ_dense * np.outer(d, d)
        rhs = d[:, None] * self.ZtXy
        C[np.diag_indices_from(C)] += 1.0
        L = _lapack_cholesky(C)
        sol = _lapack_solve(L, rhs)
        p = self.n_fixed
        RZX, cu = sol[:, :p], sol[:, p]
        XtX = self.XytXy[:p, :p] - RZX.T @ RZX
        Xty = self.XytXy[:p, p] - RZX.T @ cu
        chol = _lapack_cholesky(XtX)
        z = _lapack_solve(chol, Xty)
        pwrss = max(float(self.XytXy[p, p] - cu @ cu - z @ z), np.finfo(float).tiny)
        logdet_c = 2.0 * np.log(np.diagonal(L)).sum()
        return pwrss, float(logdet_c), 2.0 * np.log(np.diagonal(chol)).sum()

    def deviance(self, theta, reml=True, gradient=False) -> float:
        """lme4's profiled deviance (REML criterion) at theta; ``inf`` where it fails.

        With ``gradient`` (small models only, see :attr:`has_gradient`) also its gradient."""
        if gradient:
            if not self.has_gradient:
                raise NotImplementedError("the deviance of a large model has no gradient here")
            try:
                return self._deviance_gradient(theta, reml)
            except (np.linalg.LinAlgError, ValueError):
                return np.inf, np.zeros_like(theta)
        try:
            if self._lam_diagonal is not None and self.q <= _DENSE_DEVIANCE:
                pwrss, logdet_c, logdet_x = self._dense_pls(self.factors_from_theta(theta))
            else:
                _, _, _, _, _, pwrss, logdet_c, logdet_x = self.pls(self.factors_from_theta(theta))
        except (np.linalg.LinAlgError, ValueError):
            return np.inf
        n, p = self.n_obs, self.n_fixed
        dof = n - p if reml else n
        dev = logdet_c + dof * (1.0 + np.log(2.0 * np.pi * pwrss / dof))
        if reml:
            dev += logdet_x
        return float(dev)

    def _deviance_gradient(self, theta, reml):
        """The deviance and its gradient in theta, with dense products (small models).

        As in :func:`mixedtools.lmm.reml.profiled_log_likelihood`: with ``V_0 = I + Z Lambda
        Lambda' Z'`` the deviance's derivative in a relative covariance parameter ``rho_k`` is
        ``tr(E_k T)``, ``T = Z'V_0^-1 Z - c c' / sigma2 - (REML) B Phi_0 B'`` with
        ``B = Z'V_0^-1 X``, ``c = Z'V_0^-1 r`` and ``Phi_0 = (X'V_0^-1 X)^-1``; only the
        entries of ``T`` within one level of a term are needed.  Then ``G_t = T_t T_t'`` gives
        the chain rule ``d dev / d T_t = 2 S_t T_t``.
        """
        Ts = self.factors_from_theta(theta)
        f, RZX, cu, XtX0, beta, pwrss, logdet_c, logdet_x = self.pls(Ts)
        n, p = self.n_obs, self.n_fixed
        dof = n - p if reml else n
        dev = logdet_c + dof * (1.0 + np.log(2.0 * np.pi * pwrss / dof))
        if reml:
            dev += logdet_x
        Y = f.forward(self._lam_apply(Ts, self._ZtZ_dense, True))  # L^-1 Lambda' Z'Z
        B = self.ZtXy[:, :p] - Y.T @ RZX
        c = self.ZtXy[:, p] - Y.T @ cu - B @ beta
        sigma2 = pwrss / dof
        if reml:
            chol = _lapack_cholesky(XtX0)
            BP = _lapack_solve(chol, B.T).T  # rows of B times chol^-T: B Phi_0 B' = BP BP'
        grad = np.empty(self.n_theta)
        for ti, entries in enumerate(self.term_entries):
            pos = self.order.index(ti)
            k = self.terms[ti].k
            S = np.zeros((k, k))
            for a, b in entries:
                ia, ib = self._cols(pos, a), self._cols(pos, b)
                t = self._ZtZ_dense[ia, ib].sum() - np.einsum("ri,ri->", Y[:, ia], Y[:, ib])
                t -= c[ia] @ c[ib] / sigma2
                if reml:
                    t -= np.einsum("ip,ip->", BP[ia], BP[ib])
                S[a, b] = S[b, a] = t  # d dev = tr(S dG_t), S symmetric
            lower = _lower(k)
            start = self._tau_offsets[ti]
            grad[start : start + len(entries)] = (2.0 * S @ Ts[ti])[lower]
        return float(dev), grad

    def profiled_sigma2(self, theta, reml=True) -> float:
        pwrss = self.pls(self.factors_from_theta(theta))[5]
        return pwrss / (self.n_obs - self.n_fixed if reml else self.n_obs)

    def log_likelihood(self, tau, reml=True) -> float:
        """(RE)ML log-likelihood at data-scale tau (``-inf`` outside the parameter space)."""
        tau = np.asarray(tau, dtype=float)
        if not self.is_valid_tau(tau):
            return -np.inf
        s2 = tau[-1]
        _, _, _, _, _, pwrss, logdet_c, logdet_x = self.pls(self.factors_from_tau(tau))
        n, p = self.n_obs, self.n_fixed
        minus2 = n * _LOG_2PI + n * np.log(s2) + logdet_c + pwrss / s2
        if reml:
            minus2 += logdet_x - p * np.log(s2) - p * _LOG_2PI
        return float(-0.5 * minus2)

    # ------------------------------------------------------------------ quantities
    def _cols(self, pos, effect):
        """Internal column indices of one effect of the term at position ``pos``, level by level."""
        t = self.terms[self.order[pos]]
        return self._col_offsets[pos] + np.arange(t.n_levels) * t.k + effect

    def _split_solve(self, f, rhs):
        """``L^-1 rhs`` for a sparse ``rhs`` (q x m): a sparse first-term part and a dense rest."""
        rhs = sp.csr_matrix(rhs)
        x1 = (f.L11_inverse() @ rhs[: self.q1]).tocsr()
        if self.q == self.q1:
            return x1, np.zeros((0, rhs.shape[1]))
        wx = f.W @ x1
        if sp.issparse(wx) and np.count_nonzero(f.L22) < 0.1 * f.L22.size:
            # nested designs: L22 is (nearly) block diagonal, and so is its inverse; a sparse
            # product keeps the outer factors apart instead of a dense solve with q columns
            eye = np.eye(f.L22.shape[0])
            L22_inv = sla.solve_triangular(f.L22, eye, lower=True, check_finite=False)
            return x1, (sp.csr_matrix(L22_inv) @ (rhs[self.q1 :] - wx)).tocsr()
        dense = rhs[self.q1 :].toarray() - (wx.toarray() if sp.issparse(wx) else wx)
        x2 = sla.solve_triangular(f.L22, dense, lower=True, check_finite=False)
        if np.count_nonzero(x2) < 0.1 * x2.size:  # nested designs: the outer factors stay apart
            x2 = sp.csr_matrix(x2)
        return x1, x2

    def quantities(self, tau, reml=True):
        """:class:`mixedtools.lmm.reml.LMMQuantities` at data-scale tau.

        ``A = Z'V^-1Z`` is never formed: with ``Y = L^-1 Lambda'Z'Z`` split into its sparse
        first-term rows ``Y1`` and its dense other rows ``Y2``, ``sigma^2 A = S - Y2'Y2`` with
        ``S = Z'Z - Y1'Y1`` sparse, and every trace the information needs is a sum over the
        sparse ``S`` and the small matrices ``Y2 E_k Y2'``.
        """
        tau = np.asarray(tau, dtype=float)
        if tau.shape != (self.n_tau,):
            raise ValueError(f"tau must have length {self.n_tau}, got shape {tau.shape}")
        key = (tau.tobytes(), bool(reml))
        if self._qty_cache is not None and self._qty_cache[0] == key:
            return self._qty_cache[1]
        if not self.is_valid_tau(tau):
            raise ValueError(
                "tau is outside the parameter space (each G must be positive semi-definite "
                "and sigma^2 positive)"
            )
        s2 = tau[-1]
        n, p = self.n_obs, self.n_fixed
        f, RZX, cu, XtX0, beta, pwrss, logdet_c, _ = self.pls(self.factors_from_tau(tau))
        q1 = self.q1
        if self.q <= _DENSE_QUANTITIES:  # small models: dense products, no sparse overhead
            ZtZ = self._ZtZ_dense
            Y = f.forward(self._lam_apply(f.Ts, ZtZ, True))
            Y1, Y2 = Y[:q1], Y[q1:]
            S = ZtZ - Y.T @ Y  # sigma^2 A itself
            Y2r = Y2[:0]  # nothing left to subtract from S
        else:
            K = (self._lambda(f.Ts).T @ self.ZtZ).tocsr()
            Y1, Y2 = self._split_solve(f, K)
            S = (self.ZtZ - Y1.T @ Y1).tocsr()
            Y2r = Y2

        def A_times(V):  # sigma^2 A V
            return S @ V - Y2r.T @ (Y2r @ V)

        def Yt_times(V):  # Y' V for V (q x m)
            return Y1.T @ V[:q1] + Y2.T @ V[q1:]

        B = (self.ZtXy[:, :p] - Yt_times(RZX)) / s2
        zy = (self.ZtXy[:, p] - Yt_times(cu[:, None])[:, 0]) / s2
        XVX = XtX0 / s2
        chol = np.linalg.cholesky(XVX)
        Phi = np.linalg.inv(XVX)
        Phi = 0.5 * (Phi + Phi.T)
        c = zy - B @ beta
        rr1 = pwrss / s2
        params = []
        for ti, entries in enumerate(self.term_entries):
            pos = self.order.index(ti)
            for a, b in entries:
                params.append((pos, a, b))
        n_r = len(params)
        n_tau = n_r + 1
        sidx = n_tau - 1

        def apply_E(k, V):  # E_k V for V (q x m)
            pos, a, b = params[k]
            out = np.zeros_like(V)
            ia, ib = self._cols(pos, a), self._cols(pos, b)
            out[ia] += V[ib]
            if a != b:
                out[ib] += V[ia]
            return out

        Bc = np.column_stack([B, c])
        EBc = [apply_E(k, Bc) for k in range(n_r)]
        AEBc = [A_times(e) / s2 for e in EBc]
        tr_vk = np.empty(n_tau)
        M = np.empty((n_tau, p, p))
        h = np.empty((n_tau, p))
        uvu = np.empty(n_tau)
        tr_vkvl = np.empty((n_tau, n_tau))
        Q = np.empty((n_tau, n_tau, p, p))
        uvvu = np.empty((n_tau, n_tau))
        for k, (pos, a, b) in enumerate(params):
            ia, ib = self._cols(pos, a), self._cols(pos, b)
            diag = np.asarray(S[ia, ib]).sum() - _sum_product(Y2r[:, ia], Y2r[:, ib])
            tr_vk[k] = diag / s2 * (1.0 if a == b else 2.0)
            M[k] = B.T @ EBc[k][:, :p]
            h[k] = B.T @ EBc[k][:, p]
            uvu[k] = c @ EBc[k][:, p]
            for m in range(n_r):
                Q[k, m] = EBc[k][:, :p].T @ AEBc[m][:, :p]
                uvvu[k, m] = EBc[k][:, p] @ AEBc[m][:, p]
        # tr(E_k A E_l A) = sum over (alpha, beta) in pairs(k), (gamma, delta) in pairs(l) of
        # sum_ij A[i beta, j gamma] A[i alpha, j delta], with sigma^2 A = S - Y2r'Y2r
        gram, y2cols, sblocks = {}, {}, {}
        Y2c = Y2r.tocsc() if sp.issparse(Y2r) else Y2r

        def y2(pos, x):  # Y2[:, cols(pos, x)]
            if (pos, x) not in y2cols:
                y2cols[(pos, x)] = Y2c[:, self._cols(pos, x)]
            return y2cols[(pos, x)]

        def y2_gram(pos, x, y):  # Y2[:, cols(pos, x)] Y2[:, cols(pos, y)]'  (q2 x q2)
            if (pos, x, y) not in gram:
                gram[(pos, x, y)] = y2(pos, x) @ y2(pos, y).T
            return gram[(pos, x, y)]

        def s_block(pk, x, pl, y):
            if (pk, x, pl, y) not in sblocks:
                rows, cols = self._cols(pk, x), self._cols(pl, y)
                block = S[np.ix_(rows, cols)] if isinstance(S, np.ndarray) else S[rows][:, cols]
                sblocks[(pk, x, pl, y)] = block if isinstance(S, np.ndarray) else block.tocsr()
            return sblocks[(pk, x, pl, y)]

        for k, (pk, ak, bk) in enumerate(params):
            for m in range(k, n_r):
                pl, al, bl = params[m]
                total = 0.0
                for alpha, beta_ in {(ak, bk), (bk, ak)}:
                    for gamma, delta in {(al, bl), (bl, al)}:
                        s1 = s_block(pk, beta_, pl, gamma)
                        s2_ = s_block(pk, alpha, pl, delta)
                        total += _sum_product(s1, s2_)
                        if Y2r.shape[0]:
                            ya, yb = y2(pk, alpha), y2(pk, beta_)
                            yg, yd = y2(pl, gamma), y2(pl, delta)
                            total -= _sum_product((s1.T @ ya.T).T, yd)
                            total -= _sum_product((s2_.T @ yb.T).T, yg)
                            total += _sum_product(
                                y2_gram(pk, beta_, alpha), y2_gram(pl, delta, gamma).T
                            )
                tr_vkvl[k, m] = tr_vkvl[m, k] = total / s2**2
        t_r = tau[:n_r]
        tr_vk[sidx] = (n - t_r @ tr_vk[:n_r]) / s2
        M[sidx] = (XVX - np.einsum("k,kab->ab", t_r, M[:n_r])) / s2
        h[sidx] = -(t_r @ h[:n_r]) / s2  # X'V^-1 r = 0 at the GLS estimate
        uvu[sidx] = (rr1 - t_r @ uvu[:n_r]) / s2
        tr_vkvl[:n_r, sidx] = (tr_vk[:n_r] - tr_vkvl[:n_r, :n_r] @ t_r) / s2
        tr_vkvl[sidx, :n_r] = tr_vkvl[:n_r, sidx]
        tr_vkvl[sidx, sidx] = (tr_vk[sidx] - t_r @ tr_vkvl[:n_r, sidx]) / s2
        Q[:n_r, sidx] = (M[:n_r] - np.einsum("l,klab->kab", t_r, Q[:n_r, :n_r])) / s2
        Q[sidx, :n_r] = Q[:n_r, sidx].transpose(0, 2, 1)
        Q[sidx, sidx] = (M[sidx] - np.einsum("l,lab->ab", t_r, Q[:n_r, sidx])) / s2
        uvvu[:n_r, sidx] = (uvu[:n_r] - uvvu[:n_r, :n_r] @ t_r) / s2
        uvvu[sidx, :n_r] = uvvu[:n_r, sidx]
        uvvu[sidx, sidx] = (uvu[sidx] - t_r @ uvvu[:n_r, sidx]) / s2

        PhiM = np.einsum("ij,kjl->kil", Phi, M)
        tr_phim = np.einsum("kii->k", PhiM)
        uvpvu = uvvu - h @ Phi @ h.T
        logdet_v = n * np.log(s2) + logdet_c
        loglik = -0.5 * (n * _LOG_2PI + logdet_v + rr1)
        if reml:
            score = -0.5 * (tr_vk - tr_phim) + 0.5 * uvu
            tr_phiq = np.einsum("ij,klji->kl", Phi, Q)
            tr_pvpv = tr_vkvl - 2.0 * tr_phiq + np.einsum("kab,lba->kl", PhiM, PhiM)
            info_e = 0.5 * tr_pvpv
            loglik += 0.5 * p * _LOG_2PI - np.log(np.diagonal(chol)).sum()
        else:
            score = -0.5 * tr_vk + 0.5 * uvu
            info_e = 0.5 * tr_vkvl
        info_o = -info_e + uvpvu
        qty = LMMQuantities(
            tau=tau,
            reml=reml,
            beta=self._b0 + beta,
            Phi=Phi,
            loglik=float(loglik),
            score=score,
            info_expected=0.5 * (info_e + info_e.T),
            info_observed=0.5 * (info_o + info_o.T),
            M=M,
            Q=Q,
        )
        self._qty_cache = (key, qty)
        return qty

    def conditional_modes(self, tau, beta=None):
        """Conditional modes ``b`` and the diagonal blocks of ``Var(b | y)``, per term.

        Returns a list of :class:`~mixedtools.lmm.engine.ConditionalModes`, per term in the
        user's order.  ``beta`` is not needed: the penalised least squares give it with ``b``.
        """
        Ts = self.factors_from_tau(tau)
        f, RZX, cu, _, beta, _, _, _ = self.pls(Ts)
        u = f.backward(cu - RZX @ beta)
        return self.modes_and_variances(f, Ts, u, tau[-1])

    def modes_and_variances(self, f, Ts, u, s2=1.0):
        """:meth:`conditional_modes` from a factor ``f`` of ``Lambda' Z'WZ Lambda + I`` at the
        relative factors ``Ts`` and the spherical modes ``u``: ``b = Lambda u`` and the diagonal
        blocks of ``s2 Lambda (L L')^-1 Lambda'`` (also for a generalised model, ``s2`` = 1)."""
        b = self._lam_apply(Ts, u[:, None], False)[:, 0]
        out = []
        lam_t = self._lambda(Ts).T.tocsc()
        for ti, t in enumerate(self.terms):
            pos = self.order.index(ti)
            sl = slice(self._col_offsets[pos], self._col_offsets[pos + 1])
            modes = b[sl].reshape(t.n_levels, t.k)
            # Var(b_t | y) = s2 Y'Y with Y = L^-1 Lambda'[:, term]; its diagonal blocks
            Y1, Y2 = self._split_solve(f, lam_t[:, sl])
            Y1 = Y1.tocsc()
            cov = np.empty((t.n_levels, t.k, t.k))
            for a in range(t.k):
                ca = np.arange(t.n_levels) * t.k + a
                for b_ in range(a, t.k):
                    cb = np.arange(t.n_levels) * t.k + b_
                    v = np.asarray(Y1[:, ca].multiply(Y1[:, cb]).sum(axis=0)).ravel()
                    if sp.issparse(Y2):
                        v = v + np.asarray(Y2[:, ca].multiply(Y2[:, cb]).sum(axis=0)).ravel()
                    else:
                        v = v + np.einsum("ri,ri->i", Y2[:, ca], Y2[:, cb])
                    cov[:, a, b_] = cov[:, b_, a] = s2 * v
            out.append(ConditionalModes(t.group, t.effect_names, t.levels, modes, cov))
        return out

    # ------------------------------------------------------------------ convergence, df methods
    def theta_blocks(self) -> list:
        """(k, positions in tau row by row) of each term's covariance block."""
        offsets = self._tau_offsets
        return [(t.k, np.arange(offsets[i], offsets[i + 1])) for i, t in enumerate(self.terms)]

    def nesting_levels(self, rule="nlme's containment df") -> list:
        """Grouping factors, outermost first, when they are nested (else NotImplementedError)."""
        by_group = {}
        for t in self.terms:
            by_group.setdefault(t.group, t.codes)
        factors = sorted(by_group.items(), key=lambda item: int(item[1].max()))
        for (outer_name, outer), (inner_name, inner) in zip(factors[:-1], factors[1:], strict=True):
            pairs = np.unique(np.column_stack([inner, outer]), axis=0)
            if len(np.unique(pairs[:, 0])) != len(pairs):
                raise NotImplementedError(
                    f"{rule} needs nested grouping factors, but {inner_name!r} is not nested in "
                    f"{outer_name!r} (they are crossed); use ddf='satterthwaite' or "
                    "'kenward-roger'"
                )
        return [codes for _, codes in factors]

    def hlm_layout(self) -> tuple:
        """The level-2 units and their random-effects design for HLM's df rule: the outermost
        grouping factor, when every other factor is nested in it."""
        outer = self.nesting_levels("HLM's df rule")[0]
        top = [t for t in self.terms if np.array_equal(t.codes, outer)]
        names = [n for t in top for n in t.effect_names]
        Z = np.column_stack([t.Z for t in top])
        if "Intercept" in names:  # the intercept first, as in the one-factor layout
            i = names.index("Intercept")
            Z = np.column_stack([Z[:, i], np.delete(Z, i, axis=1)])
        return outer, Z

    # ------------------------------------------------------------------ the result
    def random_terms(self, tau) -> list:
        """The covariance matrix of each term, in the user's order."""
        tau = np.asarray(tau, dtype=float)
        return [
            RandomTermCovariance(
                t.group,
                t.effect_names,
                self.term_G(tau, ti),
                np.ones((t.k, t.k), bool),
                t.n_levels,
            )
            for ti, t in enumerate(self.terms)
        ]

    def variance_parts(self, tau) -> dict:
        """Variance of each grouping factor averaged over rows (Johnson's mean of z' G z)."""
        parts: dict[str, float] = {}
        for ti, t in enumerate(self.terms):
            per_row = np.einsum("ia,ab,ib->i", t.Z, self.term_G(tau, ti), t.Z)
            parts[t.group] = parts.get(t.group, 0.0) + float(np.mean(per_row))
        return parts

    # ------------------------------------------------------------------ the bootstrap
    def simulate(self, beta, tau, rng) -> np.ndarray:
        """One response drawn from the model with parameters (beta, tau)."""
        y = self.X @ np.asarray(beta, float)
        for ti, t in enumerate(self.terms):
            w, U = np.linalg.eigh(self.term_G(tau, ti))
            effects = rng.normal(size=(t.n_levels, t.k)) @ (U * np.sqrt(np.clip(w, 0, None))).T
            y = y + np.einsum("ia,ia->i", t.Z, effects[t.codes])
        return y + rng.normal(0.0, np.sqrt(tau[-1]), self.n_obs)

    def with_response(self, y) -> PLSStructure:
        """The same layout with response ``y``."""
        return PLSStructure(y, self.X, self.terms, fe_names=self.fe_names)

    def unit_effect_factor(self) -> np.ndarray:
        """The factor that maps tau of :meth:`with_unit_effects` back to this model's tau
        (``tau = factor * tau_unit``): ``1 / (s_a s_b)`` for entry ``(a, b)`` of a term's
        covariance, ``s`` the root mean squares of the term's columns; 1 for sigma^2."""
        factor = []
        for t, entries in zip(self.terms, self.term_entries, strict=True):
            scale = _column_scales(t.Z)
            factor += [1.0 / (scale[a] * scale[b]) for a, b in entries]
        return np.array(factor + [1.0])

    def with_unit_effects(self) -> PLSStructure:
        """The same model with each column of every term's Z divided by its root mean square."""
        terms = [dataclasses.replace(t, Z=t.Z / _column_scales(t.Z)) for t in self.terms]
        return PLSStructure(self.y, self.X, terms, fe_names=self.fe_names)


@dataclass
class _Factor:
    L11: np.ndarray
    W: sp.csr_matrix | np.ndarray
    L22: np.ndarray
    q1: int
    L11_inv: np.ndarray
    Ts: list

    def L11_inverse(self) -> sp.csr_matrix:
        """The block-diagonal inverse of the first term's factor, as a sparse matrix."""
        n1, k1, _ = self.L11.shape
        inv = self.L11_inv
        base = np.arange(n1)[:, None, None] * k1
        rr = np.broadcast_to(base + np.arange(k1)[None, :, None], inv.shape).ravel()
        cc = np.broadcast_to(base + np.arange(k1)[None, None, :], inv.shape).ravel()
        return sp.csr_matrix((inv.ravel(), (rr, cc)), shape=(self.q1, self.q1))

    def logdet(self) -> float:
        d1 = np.log(np.diagonal(self.L11, axis1=1, axis2=2)).sum()
        d2 = np.log(np.diagonal(self.L22)).sum() if self.L22.size else 0.0
        return float(2.0 * (d1 + d2))

    def forward(self, B):
        """Solve L x = B (B: q x m dense)."""
        B = np.asarray(B, dtype=float)
        squeeze = B.ndim == 1
        if squeeze:
            B = B[:, None]
        q1 = self.q1
        n1, k1, _ = self.L11.shape
        B1 = B[:q1].reshape(n1, k1, -1)
        x1 = self.L11_inv @ B1
        x1 = x1.reshape(q1, -1)
        out = [x1]
        if self.L22.size:
            rhs = B[q1:] - self.W @ x1
            out.append(_lapack_solve(self.L22, rhs))
        x = np.vstack(out)
        return x[:, 0] if squeeze else x

    def backward(self, y):
        """Solve L' x = y."""
        y = np.asarray(y, dtype=float)
        squeeze = y.ndim == 1
        if squeeze:
            y = y[:, None]
        q1 = self.q1
        n1, k1, _ = self.L11.shape
        if self.L22.size:
            x2 = _lapack_solve(self.L22, y[q1:], trans=1)
            rhs1 = y[:q1] - self.W.T @ x2
        else:
            x2 = np.zeros((0, y.shape[1]))
            rhs1 = y[:q1]
        R1 = rhs1.reshape(n1, k1, -1)
        x1 = np.swapaxes(self.L11_inv, 1, 2) @ R1
        x = np.vstack([x1.reshape(q1, -1), x2])
        return x[:, 0] if squeeze else x


def fit_pls(
    structure: PLSStructure,
    reml=True,
    start_tau=None,
    maxiter=2000,
    model_based=None,
    final_radius=1e-3,
):
    """Minimise lme4's profiled deviance over theta (variances bounded below by zero).

    Parameters
    ----------
    structure : PLSStructure
    reml : bool
    start_tau : ndarray, optional
        A starting value on the data scale; lme4's start (theta: identity) is always tried.
    maxiter : int
    model_based : bool, optional
        Use the model-based search (COBYQA) rather than L-BFGS-B; by default for models with
        many parameters and random effects.  A restart after a search that stopped short uses
        it: it copes better with flat ridges next to the bounds (correlations of +-1).
    final_radius : float
        Trust-region radius at which the model-based search stops.  The default hands over to
        the Newton finish early; a restart asks for 1e-6, since at a bound (where the Newton
        finish holds the bounded entries) the search must do the last digits itself.

    Returns
    -------
    tau : ndarray
        Data-scale variance parameters at the optimum.
    success : bool
    """
    starts = [structure.theta_start()]
    if start_tau is not None:
        starts.append(structure.theta_from_tau(np.asarray(start_tau, float)))
    return search(
        structure,
        reml,
        starts,
        maxiter=maxiter,
        model_based=model_based,
        final_radius=final_radius,
    )
