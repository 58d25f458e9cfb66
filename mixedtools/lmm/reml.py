"""Blockwise REML/ML engine for the linear mixed model.

The model is ``y = X beta + Z b + e`` with a block-diagonal marginal covariance
``V = blockdiag_j V_j``, one block per level of a single grouping factor:

``V_j = Z_j G Z_j' + sum_c s_c Z_cj Z_cj' + sigma^2 I``.

``V`` is linear in the variance parameters

``tau = (free lower-triangle entries of G in row-major order, s_1, ..., s_C, sigma^2)``

(all on the data scale), so every derivative ``V_k = dV/dtau_k`` is a constant matrix
and second derivatives vanish. Nothing of size N x N is ever formed: each group
contributes the cross-products of ``[W, X, y]`` (``W`` stacks the group's random-effect
and variance-component columns), computed in one pass over the rows, and every
likelihood quantity is a sum over groups of small matrices, batched with ``einsum``.

The functions here supply what the denominator-df methods and fit polishing need:
the (restricted) log-likelihood, its score, expected and observed information, and the
derivatives of ``Phi = (X' V^-1 X)^-1`` with respect to ``tau``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from mixedtools.lmm._linalg import lapack_cholesky, lapack_solve, tri_inverse
from mixedtools.lmm.engine import (
    ConditionalModes,
    LMMQuantities,
    RandomTermCovariance,
)
from mixedtools.lmm.polish import (
    newton_decrement,
    newton_polish,
    optimality_gap,
)

__all__ = [
    "LMMStructure",
    "LMMQuantities",
    "reml_quantities",
    "log_likelihood",
    "profiled_log_likelihood",
    "newton_polish",
    "from_statsmodels",
    "is_valid_tau",
    "boundary_mask",
    "newton_decrement",
    "optimality_gap",
]

_LOG_2PI = np.log(2.0 * np.pi)


@dataclass(frozen=True, eq=False)
class LMMStructure:
    """Data and covariance layout of a linear mixed model with one grouping factor.

    Parameters
    ----------
    y : ndarray, shape (N,)
        Response.
    X : ndarray, shape (N, p)
        Fixed-effects design.
    groups : ndarray, shape (N,)
        Integer codes ``0 .. K-1`` of the blocks of ``V`` (the grouping factor).
    Z : ndarray, shape (N, k)
        Random-effects design; the ``k`` effects of a group share an unstructured
        covariance ``G`` (k x k). ``k`` may be 0.
    vc : tuple of ndarray, each shape (N, m_c)
        Variance-component designs: within a group, the ``m_c`` columns are independent
        effects with common variance ``s_c`` (statsmodels' ``exog_vc``). May be empty.
    free : ndarray of bool, shape (k, k), optional
        Which entries of ``G`` are estimated. Off-diagonal entries marked False are fixed
        at zero (uncorrelated terms such as lme4's ``(x || g)``). Default: all free.
    fe_names, re_names, vc_names : tuple of str, optional
        Labels for the columns of ``X``, ``Z`` and the variance components.
    block_name : str, optional
        Name of the grouping factor (what a result reports); default ``"group"``.
    block_levels : ndarray, optional
        Labels of the K groups; default ``0 .. K-1``.
    vc_terms : tuple, optional
        One entry per variance component with attributes ``group``, ``effect``, ``levels`` and
        ``level_codes`` ((K, m_c) indices into ``levels``, -1 for an unused column), as
        :class:`mixedtools.lmm.design.VarianceComponent`; they name the component's levels in
        :meth:`conditional_modes`.  Default: the component's name, its columns numbered
        within each group.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(4), 3)
    >>> X = np.column_stack([np.ones(12), rng.normal(size=12)])
    >>> s = LMMStructure(y=rng.normal(size=12), X=X, groups=g, Z=np.ones((12, 1)))
    >>> s.n_groups, s.n_tau, s.tau_names
    (4, 2, ('G[0,0]', 'sigma2'))
    """

    y: np.ndarray
    X: np.ndarray
    groups: np.ndarray
    Z: np.ndarray
    vc: tuple = ()
    free: np.ndarray | None = None
    fe_names: tuple | None = None
    re_names: tuple | None = None
    vc_names: tuple | None = None
    block_name: str = "group"
    block_levels: np.ndarray | None = None
    vc_terms: tuple = ()
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    has_gradient = True  # the profiled deviance comes with its analytic gradient

    def __post_init__(self):
        y = np.asarray(self.y, dtype=float).ravel()
        n = y.shape[0]
        X = _as_2d(self.X, n, "X")
        Z = _as_2d(self.Z, n, "Z")
        vc = tuple(_as_2d(v, n, f"vc[{i}]") for i, v in enumerate(self.vc))
        groups = np.asarray(self.groups)
        if groups.shape != (n,):
            raise ValueError(f"groups must have shape ({n},), got {groups.shape}")
        if not np.issubdtype(groups.dtype, np.integer):
            raise ValueError("groups must hold integer codes 0..K-1")
        if n and (groups.min() < 0):
            raise ValueError("groups must hold integer codes 0..K-1 (found a negative code)")
        k = Z.shape[1]
        free = np.ones((k, k), bool) if self.free is None else np.asarray(self.free, bool)
        if free.shape != (k, k):
            raise ValueError(f"free must have shape ({k}, {k}), got {free.shape}")
        free = free | free.T
        if not np.all(np.diag(free)):
            raise ValueError("free must mark every variance (diagonal of G) as free")
        if k + sum(v.shape[1] for v in vc) == 0:
            raise ValueError("the model has no random effects (Z and vc are both empty)")
        if not np.all(np.isfinite(y)) or not np.all(np.isfinite(X)):
            raise ValueError("y and X must be finite (drop rows with missing values first)")
        for name, value in [("y", y), ("X", X), ("groups", groups), ("Z", Z), ("vc", vc)]:
            object.__setattr__(self, name, value)
        object.__setattr__(self, "free", free)
        if self.fe_names is None:
            object.__setattr__(self, "fe_names", tuple(f"x{i}" for i in range(X.shape[1])))
        if self.re_names is None:
            object.__setattr__(self, "re_names", tuple(str(i) for i in range(k)))
        if self.vc_names is None:
            object.__setattr__(self, "vc_names", tuple(f"vc{i}" for i in range(len(vc))))

    @property
    def n_obs(self) -> int:
        """Number of observations N."""
        return self.y.shape[0]

    @property
    def n_fixed(self) -> int:
        """Number of fixed effects p."""
        return self.X.shape[1]

    @property
    def n_groups(self) -> int:
        """Number of blocks K of V."""
        return int(self.groups.max()) + 1 if self.n_obs else 0

    @property
    def k_re(self) -> int:
        """Number of correlated random effects per group (size of G)."""
        return self.Z.shape[1]

    @cached_property
    def g_entries(self) -> tuple:
        """Free lower-triangle entries (a, b), a >= b, of G in row-major order."""
        k = self.k_re
        return tuple((a, b) for a in range(k) for b in range(a + 1) if self.free[a, b])

    @property
    def n_tau(self) -> int:
        """Number of variance parameters."""
        return len(self.g_entries) + len(self.vc) + 1

    @cached_property
    def tau_names(self) -> tuple:
        """Readable names of the entries of tau."""
        rn = self.re_names
        names = [
            f"G[{rn[a]},{rn[a]}]" if a == b else f"G[{rn[a]},{rn[b]}]" for a, b in self.g_entries
        ]
        return tuple(names + [f"vc[{v}]" for v in self.vc_names] + ["sigma2"])

    @cached_property
    def variance_index(self) -> np.ndarray:
        """Positions in tau of the variances (diagonal of G, the s_c, sigma^2)."""
        idx = [i for i, (a, b) in enumerate(self.g_entries) if a == b]
        n_g = len(self.g_entries)
        idx += [n_g + c for c in range(len(self.vc))] + [self.n_tau - 1]
        return np.asarray(idx)

    @cached_property
    def _q(self) -> int:
        return self.k_re + sum(v.shape[1] for v in self.vc)

    @cached_property
    def _derivative_patterns(self) -> np.ndarray:
        """E_k (q x q): dD/dtau_k for the random-effect parameters (not sigma^2)."""
        q, k = self._q, self.k_re
        pats = []
        for a, b in self.g_entries:
            e = np.zeros((q, q))
            e[a, b] = e[b, a] = 1.0
            pats.append(e)
        start = k
        for v in self.vc:
            e = np.zeros((q, q))
            m = v.shape[1]
            e[start : start + m, start : start + m] = np.eye(m)
            pats.append(e)
            start += m
        return np.asarray(pats).reshape(len(pats), q, q)

    def _group_crossprods(self, y_column):
        """Per-group cross-products M_j' M_j of M = [W, X, y_column] and the group sizes."""
        M = np.column_stack((self.Z, *self.vc, self.X, y_column))
        K, d = self.n_groups, M.shape[1]
        C = np.empty((K, d, d))
        for a in range(d):
            for b in range(a, d):
                C[:, a, b] = np.bincount(self.groups, weights=M[:, a] * M[:, b], minlength=K)
                C[:, b, a] = C[:, a, b]
        sizes = np.bincount(self.groups, minlength=K).astype(float)
        if np.any(sizes == 0):
            raise ValueError("groups must use every code 0..K-1 (found an empty group)")
        return C, sizes

    @cached_property
    def _crossprods(self) -> tuple:
        """``(C, sizes)``: per-group cross-products of ``[W, X, y]`` and group sizes."""
        return self._group_crossprods(self.y)

    @cached_property
    def _centred_crossprods(self) -> tuple:
        """``(C, sizes, b0)``: as ``_crossprods`` but with y replaced by its OLS residual
        ``y - X b0``. The likelihood is unchanged and the residual forms r' V^-1 r lose
        no digits to cancellation when y has a large mean."""
        b0 = np.linalg.lstsq(self.X, self.y, rcond=None)[0]
        C, sizes = self._group_crossprods(self.y - self.X @ b0)
        return C, sizes, b0

    def covariance_blocks(self, tau) -> tuple[np.ndarray, float]:
        """Return ``(D, sigma2)``: the covariance of the stacked random effects and sigma^2."""
        tau = np.asarray(tau, dtype=float)
        if tau.shape != (self.n_tau,):
            raise ValueError(f"tau must have length {self.n_tau}, got shape {tau.shape}")
        D = np.einsum("k,kab->ab", tau[:-1], self._derivative_patterns)
        return D, float(tau[-1])

    def tau_from(self, G=None, vc_variances=(), sigma2=1.0) -> np.ndarray:
        """Assemble tau from G (k x k), the variance components and sigma^2."""
        G = np.zeros((0, 0)) if G is None else np.atleast_2d(np.asarray(G, float))
        g = [G[a, b] for a, b in self.g_entries]
        vcv = list(np.atleast_1d(np.asarray(vc_variances, float)))
        if len(vcv) != len(self.vc):
            raise ValueError(f"expected {len(self.vc)} variance components, got {len(vcv)}")
        return np.asarray(g + vcv + [sigma2], dtype=float)

    def _g_matrix(self, tau) -> np.ndarray:
        k = self.k_re
        G = np.zeros((k, k))
        for i, (a, b) in enumerate(self.g_entries):
            G[a, b] = G[b, a] = tau[i]
        return G

    # ------------------------------------------------------------------ theta <-> tau
    @property
    def n_theta(self) -> int:
        """Number of lme4 parameters: the lower triangle of G's factor, one sd per component."""
        return self.k_re * (self.k_re + 1) // 2 + len(self.vc)

    @property
    def n_random_effects(self) -> int:
        """Number of random effects (columns of lme4's Z)."""
        return self.n_groups * self._q

    def theta_bounds(self) -> list:
        """L-BFGS-B bounds of theta: the diagonal of the factor and the sds at least 0."""
        rows, cols = _lower(self.k_re)
        bounds = [(0.0, None) if r == c else (None, None) for r, c in zip(rows, cols, strict=True)]
        return bounds + [(0.0, None)] * len(self.vc)

    def theta_start(self) -> np.ndarray:
        """lme4's start: relative covariance I."""
        rows, cols = _lower(self.k_re)
        return np.concatenate([(rows == cols).astype(float), np.ones(len(self.vc))])

    def _relative_tau(self, theta) -> np.ndarray:
        """tau relative to sigma^2 (last entry 1) from theta = (factor row by row, sds)."""
        k = self.k_re
        m = k * (k + 1) // 2
        L = np.zeros((k, k))
        L[_lower(k)] = theta[:m]
        G = np.where(self.free, L @ L.T, 0.0)
        return self.tau_from(G=G if k else None, vc_variances=theta[m:] ** 2, sigma2=1.0)

    def theta_from_tau(self, tau) -> np.ndarray:
        """lme4's parameters at tau (a slightly indefinite G is moved into the PSD cone)."""
        tau = np.asarray(tau, dtype=float)
        k, s2 = self.k_re, tau[-1]
        G = self._g_matrix(tau)
        w, U = np.linalg.eigh(G / s2) if k else (np.zeros(0), np.zeros((0, 0)))
        G_rel = (U * np.clip(w, 1e-10, None)) @ U.T if k else G
        L = np.linalg.cholesky(G_rel) if k else G
        n_g = len(self.g_entries)
        sds = np.sqrt(np.clip(tau[n_g:-1] / s2, 0.0, None))
        return np.concatenate([L[_lower(k)], sds])

    def tau_from_theta(self, theta, sigma2) -> np.ndarray:
        """Data-scale tau from lme4's parameters and sigma^2."""
        return self._relative_tau(theta) * sigma2

    def _chain_rule(self, theta, score) -> np.ndarray:
        """Gradient with respect to theta from the gradient with respect to the relative tau."""
        k, n_g = self.k_re, len(self.g_entries)
        m = k * (k + 1) // 2
        # d f = sum over free (a >= b) of g_ab dG_ab = tr(S dG) with S symmetric (off-diagonal
        # entries halved), and dG = dL L' + L dL', so df/dL = 2 S L.
        S = np.zeros((k, k))
        for value, (a, b) in zip(score[:n_g], self.g_entries, strict=True):
            S[a, b] = S[b, a] = value if a == b else 0.5 * value
        L = np.zeros((k, k))
        L[_lower(k)] = theta[:m]
        return np.concatenate([(2.0 * S @ L)[_lower(k)], 2.0 * theta[m:] * score[n_g:]])

    # ------------------------------------------------------------------ the criterion
    def deviance(self, theta, reml=True, gradient=False):
        """lme4's profiled deviance at theta (``1e300`` where it fails), with its gradient."""
        try:
            out = _profiled(self, self._relative_tau(theta), reml, gradient, self._factor(theta))
            ll = out[0]
        except np.linalg.LinAlgError:
            ll = -np.inf
        if not np.isfinite(ll):
            return (1e300, np.zeros_like(theta)) if gradient else 1e300
        if not gradient:
            return -2.0 * ll
        return -2.0 * ll, -2.0 * self._chain_rule(theta, out[2])

    def _factor(self, theta):
        """A square root of the relative covariance of the random effects at theta (lower
        factor of G, then the components' sds), or None when G has entries fixed at 0 (then
        ``G != L L'``).  Any square root serves: ``H = L (s2 I + L'SL)^-1 L'`` does not depend
        on which."""
        if not np.all(self.free):
            return None
        k, q = self.k_re, self._q
        m = k * (k + 1) // 2
        L = np.zeros((q, q))
        L[_lower(k)] = theta[:m]
        sds = np.repeat(theta[m:], [v.shape[1] for v in self.vc])
        L[np.arange(k, q), np.arange(k, q)] = sds
        return L

    def profiled_sigma2(self, theta, reml=True) -> float:
        """The sigma^2 that maximises the likelihood at theta."""
        return profiled_log_likelihood(self, self._relative_tau(theta), reml)[1]

    # ------------------------------------------------------------------ likelihood quantities
    def quantities(self, tau, reml=True) -> LMMQuantities:
        """:class:`~mixedtools.lmm.engine.LMMQuantities` at tau (see :func:`reml_quantities`).

        The last value is kept: the Newton polish and the convergence check ask for the
        quantities at the same tau in turn.
        """
        tau = np.array(tau, dtype=float)
        key = (tau.tobytes(), bool(reml))
        last = self._cache.get("quantities")
        if last is not None and last[0] == key:
            return last[1]
        qty = _quantities(self, tau, reml)
        self._cache["quantities"] = (key, qty)
        return qty

    def log_likelihood(self, tau, reml=True) -> float:
        """(RE)ML log-likelihood at tau (see :func:`log_likelihood`)."""
        return _log_likelihood(self, tau, reml)

    def is_valid_tau(self, tau) -> bool:
        """True when tau gives a PSD G, non-negative components and sigma^2 > 0."""
        return _is_valid_tau(self, tau)

    def boundary_mask(self, tau, rel_tol=1e-8) -> np.ndarray:
        """Variances below ``rel_tol * sigma^2``, with the covariances in their rows."""
        return _boundary_mask(self, tau, rel_tol)

    def theta_blocks(self) -> list | None:
        """(k, positions in tau row by row) per covariance block; None if G has fixed zeros."""
        blocks = []
        k = self.k_re
        if k:
            if not np.all(self.free):
                return None
            blocks.append((k, np.arange(len(self.g_entries))))
        n_g = len(self.g_entries)
        blocks += [(1, np.array([n_g + c])) for c in range(len(self.vc))]
        return blocks

    # ------------------------------------------------------------------ df methods
    def nesting_levels(self, rule="nlme's containment df") -> list:
        """Grouping levels for nlme's rule: the groups, then nested indicator components."""
        levels = [self.groups]
        current = self.groups
        for v in self.vc:
            is_indicator = np.all((v == 0) | (v == 1)) and np.all(v.sum(axis=1) == 1)
            if not is_indicator:
                continue
            inner = np.unique(
                np.column_stack([current, np.argmax(v, axis=1)]), axis=0, return_inverse=True
            )[1].ravel()
            if inner.max() + 1 > current.max() + 1:
                levels.append(inner)
                current = inner
        return levels

    def hlm_layout(self) -> tuple:
        """The level-2 units and their random-effects design, for HLM's df rule."""
        return self.groups, self.Z

    # ------------------------------------------------------------------ the result
    @cached_property
    def _vc_info(self) -> tuple:
        if self.vc_terms:
            return tuple(self.vc_terms)
        K = self.n_groups
        out = []
        for name, v in zip(self.vc_names, self.vc, strict=True):
            m = v.shape[1]
            levels = np.array([f"{j}:{c}" for j in range(K) for c in range(m)], dtype=object)
            out.append(_Component(name, "Intercept", levels, np.arange(K * m).reshape(K, m)))
        return tuple(out)

    @property
    def _levels(self) -> np.ndarray:
        return np.arange(self.n_groups) if self.block_levels is None else self.block_levels

    def random_terms(self, tau) -> list:
        """The covariance matrix of the correlated block and of each variance component."""
        tau = np.asarray(tau, dtype=float)
        out = []
        if self.k_re:
            G = self._g_matrix(tau)
            names = tuple(self.re_names)
            out.append(RandomTermCovariance(self.block_name, names, G, self.free, self.n_groups))
        n_g = len(self.g_entries)
        one = np.ones((1, 1), bool)
        for info, s in zip(self._vc_info, tau[n_g:-1], strict=True):
            G = np.array([[s]])
            out.append(RandomTermCovariance(info.group, (info.effect,), G, one, len(info.levels)))
        return out

    def conditional_modes(self, tau, beta) -> list:
        """Conditional modes and variances, one block at a time, batched over blocks.

        ``b_j = L (L'W_j'W_j L + s2 I)^-1 L'W_j'r_j`` and ``Var(b_j | y) = s2 L (...)^-1 L'``
        with ``D = L L'``; the levels of a variance component are sorted by label.
        """
        C, _ = self._crossprods
        q, p = self._q, self.n_fixed
        D, s2 = self.covariance_blocks(tau)
        L = _sqrt_psd(D)
        WtW = C[:, :q, :q]
        Wtr = C[:, :q, q + p] - C[:, :q, q : q + p] @ np.asarray(beta, float)
        inner = s2 * np.eye(q) + np.einsum("ai,jab,bk->jik", L, WtW, L)
        inner_inv = np.linalg.inv(inner)
        modes = np.einsum("ai,jik,bk,jb->ja", L, inner_inv, L, Wtr)
        condvar = s2 * np.einsum("ai,jik,bk->jab", L, inner_inv, L)
        out = []
        k = self.k_re
        if k:
            names = tuple(self.re_names)
            block = ConditionalModes(
                self.block_name, names, self._levels, modes[:, :k], condvar[:, :k, :k]
            )
            out.append(block)
        start = k
        for info, v in zip(self._vc_info, self.vc, strict=True):
            m = v.shape[1]
            used = info.level_codes >= 0
            labels = np.asarray(info.levels)[info.level_codes[used]]
            cols = np.arange(start, start + m)
            order = np.argsort(labels)
            mode = modes[:, cols][used][order]
            var = np.einsum("jaa->ja", condvar[:, cols][:, :, cols])[used][order]
            out.append(
                ConditionalModes(
                    info.group, (info.effect,), labels[order], mode[:, None], var[:, None, None]
                )
            )
            start += m
        return out

    def variance_parts(self, tau) -> dict:
        """Variance of each grouping factor averaged over rows (Johnson's mean of z' G z)."""
        tau = np.asarray(tau, dtype=float)
        parts: dict[str, float] = {}
        if self.k_re:
            G, Z = self._g_matrix(tau), self.Z
            parts[self.block_name] = float(np.mean(np.einsum("ia,ab,ib->i", Z, G, Z)))
        n_g = len(self.g_entries)
        for info, v, s in zip(self._vc_info, self.vc, tau[n_g:-1], strict=True):
            per_row = s * np.einsum("ij,ij->i", v, v)
            parts[info.group] = parts.get(info.group, 0.0) + float(np.mean(per_row))
        return parts

    # ------------------------------------------------------------------ the bootstrap
    def simulate(self, beta, tau, rng) -> np.ndarray:
        """One response drawn from the model with parameters (beta, tau)."""
        D, sigma2 = self.covariance_blocks(tau)
        design = np.column_stack((self.Z, *self.vc))
        effects = rng.normal(size=(self.n_groups, D.shape[0])) @ _sqrt_psd(D).T
        random_part = np.einsum("iq,iq->i", design, effects[self.groups])
        return self.X @ beta + random_part + rng.normal(0.0, math.sqrt(sigma2), self.n_obs)

    def with_response(self, y) -> LMMStructure:
        """The same layout with response ``y``."""
        return dataclasses.replace(self, y=y, _cache={})

    def unit_effect_factor(self) -> np.ndarray:
        """The factor that maps tau of :meth:`with_unit_effects` back to this model's tau
        (``tau = factor * tau_unit``): ``1 / (s_a s_b)`` for ``G[a, b]``, 1 for the variance
        components and sigma^2, ``s`` the root mean squares of Z's columns."""
        scale = _column_scales(self.Z)
        factor = [1.0 / (scale[a] * scale[b]) for a, b in self.g_entries]
        return np.array(factor + [1.0] * (len(self.vc) + 1))

    def with_unit_effects(self) -> LMMStructure:
        """The same model with each column of Z divided by its root mean square (the variance
        components are left as they are)."""
        return dataclasses.replace(self, Z=self.Z / _column_scales(self.Z), _cache={})


def _column_scales(Z) -> np.ndarray:
    """Root mean square of each column of Z (1 for a column of zeros)."""
    rms = np.sqrt(np.mean(np.asarray(Z, dtype=float) ** 2, axis=0)) if len(Z) else np.ones(0)
    return np.where(rms > 0, rms, 1.0)


@dataclass(frozen=True)
class _Component:
    """Names and levels of a variance component built without a design."""

    group: str
    effect: str
    levels: np.ndarray
    level_codes: np.ndarray


@lru_cache(maxsize=16)
def _lower(k):
    """Row and column indices of the lower triangle of a k x k matrix, row by row."""
    rows, cols = np.tril_indices(k)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def _as_2d(a, n, name):
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] != n:
        raise ValueError(f"{name} must have {n} rows, got shape {a.shape}")
    return a


def _symmetric(a):
    return 0.5 * (a + a.T)


def _sqrt_psd(D):
    """Matrix square root factor L with L L' = D for a symmetric PSD D (eigenvalues clipped)."""
    w, U = np.linalg.eigh(D)
    return U * np.sqrt(np.clip(w, 0.0, None))


def _group_forms(structure, tau, powers, factor=None):
    """Per-group bilinear forms a' V_j^-m b for a, b in the columns of [W, X, y].

    Returns a dict with the forms for each requested power, plus H and logdet V_j.
    Uses V_j^-1 = sigma^-2 (I - W H W') with H = L (sigma^2 I + L' S L)^-1 L', D = L L',
    which stays valid when D is singular.  ``factor``: a known L (any L with L L' = D).
    """
    C, sizes, _ = structure._centred_crossprods
    q = structure._q
    if factor is None:
        D, s2 = structure.covariance_blocks(tau)
        L = _sqrt_psd(D)
    else:
        L, s2 = factor, float(tau[-1])
    S = C[:, :q, :q]
    inner = s2 * np.eye(q) + L.T @ S @ L
    chol = np.linalg.cholesky(inner)
    logdet_inner = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    logdet_v = (sizes - q) * np.log(s2) + logdet_inner
    half = tri_inverse(chol) @ L.T  # chol^-1 L'
    H = half.transpose(0, 2, 1) @ half  # L inner^-1 L'
    out = {"H": H, "logdet_v": logdet_v, "sizes": sizes, "S": S}
    R = H
    Cw = C[:, :, :q]
    for m in range(1, max(powers) + 1):
        if m > 1:
            R = R + H - R @ S @ H
        if m in powers:
            out[m] = (C - Cw @ R @ Cw.transpose(0, 2, 1)) / s2**m
            out[f"tr{m}"] = (sizes - np.einsum("jab,jba->j", R, S)) / s2**m
    return out


def _gls_pieces(structure, tau, factor=None):
    """GLS at tau in one pass over the groups.

    Returns ``(logdet V, logdet X'V^-1X, r'V^-1r, forms, chol, z)``: r is the GLS residual,
    ``forms`` the per-group ``[W, X, y]' V_j^-1 [W, X, y]``, ``chol`` the Cholesky factor of
    ``X'V^-1X`` and ``z = chol^-1 X'V^-1y``.
    """
    f = _group_forms(structure, tau, powers=(1,), factor=factor)
    q = structure._q
    F = f[1].sum(axis=0)
    XVX, XVy, yVy = F[q:-1, q:-1], F[q:-1, -1], F[-1, -1]
    chol = lapack_cholesky(XVX)
    z = lapack_solve(chol, XVy)
    logdet_xvx = 2.0 * np.log(np.diagonal(chol)).sum()
    return f["logdet_v"].sum(), logdet_xvx, yVy - z @ z, f[1], chol, z


def log_likelihood(structure, tau, reml=True) -> float:
    """REML or ML log-likelihood at tau, on lme4's scale (equals ``logLik()``).

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure, log_likelihood
    >>> g = np.repeat(np.arange(3), 2)
    >>> s = LMMStructure(y=[1.0, 2, 2, 4, 0, 1], X=np.ones((6, 1)), groups=g, Z=np.ones((6, 1)))
    >>> round(log_likelihood(s, [1.0, 0.5]), 4)
    -9.6338
    """
    return structure.log_likelihood(tau, reml)


def _log_likelihood(structure, tau, reml):
    if not structure.is_valid_tau(tau):
        return -np.inf
    logdet_v, logdet_xvx, rss, *_ = _gls_pieces(structure, tau)
    ll = -0.5 * (structure.n_obs * _LOG_2PI + logdet_v + rss)
    if reml:
        ll += 0.5 * (structure.n_fixed * _LOG_2PI - logdet_xvx)
    return float(ll)


def profiled_log_likelihood(structure, relative_tau, reml=True, score=False):
    """(RE)ML log-likelihood maximised over sigma^2 with the covariances relative to sigma^2 fixed.

    With ``V = sigma^2 V_0`` the maximising ``sigma^2`` is ``r' V_0^-1 r / (N - p)`` (REML) or
    ``/ N`` (ML), so the criterion lme4 optimises depends on the relative parameters only.

    Parameters
    ----------
    structure : LMMStructure
    relative_tau : array_like
        Variance parameters divided by sigma^2; the last entry (sigma^2 itself) is ignored.
    reml : bool
    score : bool
        Also return the gradient of the profiled log-likelihood.

    Returns
    -------
    loglik : float
        The profiled log-likelihood (``-inf`` if ``relative_tau`` is outside the parameter
        space); ``-2 loglik`` is lme4's ``REMLcrit`` / deviance at the same relative parameters.
    sigma2 : float
        The maximising residual variance; ``sigma2 * relative_tau`` (last entry set to
        ``sigma2``) is tau on the data scale.
    gradient : ndarray, shape (n_tau - 1,)
        Only with ``score=True``: derivatives of ``loglik`` with respect to
        ``relative_tau[:-1]``. They equal ``sigma2`` times the score at the data-scale tau
        (sigma^2 is at its optimum, so it contributes nothing), and all come from the same
        per-group forms as ``loglik``.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure, log_likelihood, profiled_log_likelihood
    >>> g = np.repeat(np.arange(3), 2)
    >>> s = LMMStructure(y=[1.0, 2, 2, 4, 0, 1], X=np.ones((6, 1)), groups=g, Z=np.ones((6, 1)))
    >>> ll, sigma2 = profiled_log_likelihood(s, [2.0, 1.0])
    >>> bool(np.isclose(ll, log_likelihood(s, [2.0 * sigma2, sigma2])))
    True
    """
    return _profiled(structure, relative_tau, reml, score)


def _profiled(structure, relative_tau, reml, score, factor=None):
    """:func:`profiled_log_likelihood`; with ``factor`` (a square root of the relative
    covariance, so ``relative_tau`` is valid) the checks and the eigendecomposition are skipped."""
    relative_tau = np.array(relative_tau, dtype=float)
    if relative_tau.shape != (structure.n_tau,):
        raise ValueError(
            f"relative_tau must have length {structure.n_tau}, got shape {relative_tau.shape}"
        )
    relative_tau[-1] = 1.0
    if factor is None and not structure.is_valid_tau(relative_tau):
        invalid = (-np.inf, np.nan)
        return (*invalid, np.full(structure.n_tau - 1, np.nan)) if score else invalid
    n, p, q = structure.n_obs, structure.n_fixed, structure._q
    logdet_v0, logdet_xvx0, rss0, forms, chol, z = _gls_pieces(structure, relative_tau, factor)
    dof = n - p if reml else n
    sigma2 = max(float(rss0), np.finfo(float).tiny) / dof
    # -2 loglik = N log 2 pi + logdet V_0 + dof (1 + log sigma2) [- p log 2 pi + logdet X'V_0^-1 X]
    minus2 = n * _LOG_2PI + logdet_v0 + dof * (1.0 + np.log(sigma2))
    if reml:
        minus2 += logdet_xvx0 - p * _LOG_2PI
    if not score:
        return float(-0.5 * minus2), sigma2
    # d loglik / d rho_k = -1/2 tr(E_k T) with T = sum_j [W_j'V_0^-1W_j - c_j c_j' / sigma2
    # - (REML) B_j Phi_0 B_j'], B_j = W_j'V_0^-1 X_j, c_j = W_j'V_0^-1 r_j, Phi_0 = (X'V_0^-1X)^-1
    xs = slice(q, q + p)
    beta = lapack_solve(chol, z, trans=1)
    B = forms[:, :q, xs]
    c = forms[:, :q, -1] - B @ beta
    T = forms[:, :q, :q].sum(axis=0) - np.einsum("ja,jb->ab", c, c) / sigma2
    if reml:
        half = lapack_solve(chol, np.eye(p)) @ B.transpose(0, 2, 1)  # chol^-1 B_j'
        T -= np.einsum("jia,jib->ab", half, half)
    gradient = -0.5 * np.einsum("kab,ba->k", structure._derivative_patterns, T)
    return float(-0.5 * minus2), sigma2, gradient


def reml_quantities(structure, tau, reml=True) -> LMMQuantities:
    """Estimates, log-likelihood, score and information at a given tau.

    Parameters
    ----------
    structure : LMMStructure
    tau : array_like
        Variance parameters on the data scale (see :class:`LMMStructure`).
    reml : bool
        Restricted (True) or full maximum likelihood.

    Returns
    -------
    LMMQuantities

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure, reml_quantities
    >>> g = np.repeat(np.arange(3), 2)
    >>> s = LMMStructure(y=[1.0, 2, 2, 4, 0, 1], X=np.ones((6, 1)), groups=g, Z=np.ones((6, 1)))
    >>> qty = reml_quantities(s, [1.0, 0.5])
    >>> qty.beta.round(4), qty.score.shape, qty.info_observed.shape
    (array([1.6667]), (2,), (2, 2))
    """
    return structure.quantities(tau, reml)


def _quantities(structure, tau, reml):
    tau = np.asarray(tau, dtype=float)
    structure.covariance_blocks(tau)  # checks the length
    if not structure.is_valid_tau(tau):
        raise ValueError(
            "tau is outside the parameter space (G must be positive semi-definite, "
            "variance components non-negative and sigma^2 positive)"
        )
    q, p = structure._q, structure.n_fixed
    xs, ys = slice(q, q + p), q + p
    f = _group_forms(structure, tau, powers=(1, 2, 3))
    F1, F2, F3 = f[1], f[2], f[3]

    XVX = F1[:, xs, xs].sum(axis=0)
    chol = np.linalg.cholesky(XVX)
    Phi = np.linalg.inv(XVX)
    Phi = 0.5 * (Phi + Phi.T)
    beta = Phi @ F1[:, xs, ys].sum(axis=0)  # relative to the OLS start b0

    # forms with the residual r = y - X beta: a' V^-m r for a in [W, X], and r' V^-m r
    def with_resid(F):
        ar = F[:, :ys, ys] - F[:, :ys, xs] @ beta
        rr = (
            F[:, ys, ys]
            - 2.0 * F[:, ys, xs] @ beta
            + np.einsum("a,jab,b->j", beta, F[:, xs, xs], beta)
        )
        return ar, rr

    ar1, rr1 = with_resid(F1)
    ar2, rr2 = with_resid(F2)
    _, rr3 = with_resid(F3)

    A1, B1, c1 = F1[:, :q, :q], F1[:, :q, xs], ar1[:, :q]
    A2, B2, c2 = F2[:, :q, :q], F2[:, :q, xs], ar2[:, :q]
    X2, X3 = F2[:, xs, xs].sum(axis=0), F3[:, xs, xs].sum(axis=0)
    xr2 = ar2[:, q:].sum(axis=0)  # X' V^-2 r = X' V^-1 u

    E = structure._derivative_patterns
    n_r = E.shape[0]
    n_tau = n_r + 1
    s_idx = n_tau - 1

    # per random parameter k: E_k B1, E_k c1 (per group)
    EB1 = np.einsum("kab,jbi->kjai", E, B1)
    Ec1 = np.einsum("kab,jb->kja", E, c1)

    M = np.empty((n_tau, p, p))
    M[:n_r] = np.einsum("jai,kjal->kil", B1, EB1)
    M[s_idx] = X2
    tr_vk = np.empty(n_tau)
    tr_vk[:n_r] = np.einsum("kab,ba->k", E, A1.sum(axis=0))
    tr_vk[s_idx] = f["tr1"].sum()
    uvu = np.empty(n_tau)
    uvu[:n_r] = np.einsum("ja,kja->k", c1, Ec1)
    uvu[s_idx] = rr2.sum()
    h = np.empty((n_tau, p))  # X' V^-1 V_k u
    h[:n_r] = np.einsum("jai,kja->ki", B1, Ec1)
    h[s_idx] = xr2

    # second-order pieces: tr(V^-1 V_k V^-1 V_l), Q_kl, u' V_k V^-1 V_l u
    tr_vkvl = np.empty((n_tau, n_tau))
    Q = np.empty((n_tau, n_tau, p, p))
    uvvu = np.empty((n_tau, n_tau))
    EA1 = np.einsum("kab,jbc->kjac", E, A1)
    tr_vkvl[:n_r, :n_r] = np.einsum("kjab,ljba->kl", EA1, EA1)
    A1EB1 = np.einsum("jab,kjbi->kjai", A1, EB1)
    Q[:n_r, :n_r] = np.einsum("kjai,ljam->klim", EB1, A1EB1)
    uvvu[:n_r, :n_r] = np.einsum("kja,jab,ljb->kl", Ec1, A1, Ec1)

    tr_vkvl[:n_r, s_idx] = tr_vkvl[s_idx, :n_r] = np.einsum("kab,ba->k", E, A2.sum(axis=0))
    tr_vkvl[s_idx, s_idx] = f["tr2"].sum()
    Q[:n_r, s_idx] = np.einsum("kjai,jam->kim", EB1, B2)
    Q[s_idx, :n_r] = Q[:n_r, s_idx].transpose(0, 2, 1)
    Q[s_idx, s_idx] = X3
    uvvu[:n_r, s_idx] = uvvu[s_idx, :n_r] = np.einsum("kja,ja->k", Ec1, c2)
    uvvu[s_idx, s_idx] = rr3.sum()

    PhiM = np.einsum("ij,kjl->kil", Phi, M)
    tr_phim = np.einsum("kii->k", PhiM)
    uvpvu = uvvu - h @ Phi @ h.T
    n = structure.n_obs
    loglik = -0.5 * (n * _LOG_2PI + f["logdet_v"].sum() + rr1.sum())
    if reml:
        tr_pvk = tr_vk - tr_phim
        score = -0.5 * tr_pvk + 0.5 * uvu
        tr_phiq = np.einsum("ij,klji->kl", Phi, Q)
        tr_pvpv = tr_vkvl - 2.0 * tr_phiq + np.einsum("kab,lba->kl", PhiM, PhiM)
        info_e = 0.5 * tr_pvpv
        info_o = -info_e + uvpvu
        loglik += 0.5 * p * _LOG_2PI - np.log(np.diagonal(chol)).sum()
    else:
        score = -0.5 * tr_vk + 0.5 * uvu
        info_e = 0.5 * tr_vkvl
        info_o = -info_e + uvpvu
    return LMMQuantities(
        tau=tau,
        reml=reml,
        beta=structure._centred_crossprods[2] + beta,
        Phi=Phi,
        loglik=float(loglik),
        score=score,
        info_expected=_symmetric(info_e),
        info_observed=_symmetric(info_o),
        M=M,
        Q=Q,
    )


def is_valid_tau(structure, tau) -> bool:
    """True when tau gives a PSD G, non-negative variance components and sigma^2 > 0."""
    return structure.is_valid_tau(tau)


def _is_valid_tau(structure, tau):
    tau = np.asarray(tau, dtype=float)
    if tau.shape != (structure.n_tau,) or not np.all(np.isfinite(tau)):
        return False
    D, s2 = structure.covariance_blocks(tau)
    if s2 <= 0:
        return False
    scale = max(np.abs(D).max(initial=0.0), s2)
    return bool(np.linalg.eigvalsh(D).min(initial=0.0) >= -1e-12 * scale)


def boundary_mask(structure, tau, rel_tol=1e-8) -> np.ndarray:
    """Mask of tau entries at the boundary: variances below ``rel_tol * sigma^2``.

    A G variance at the boundary also marks the covariances in its row and column,
    since they must be zero too.
    """
    return structure.boundary_mask(tau, rel_tol)


def _boundary_mask(structure, tau, rel_tol):
    tau = np.asarray(tau, dtype=float)
    s2 = tau[-1]
    mask = np.zeros(structure.n_tau, bool)
    zero_re = set()
    for i, (a, b) in enumerate(structure.g_entries):
        if a == b and tau[i] < rel_tol * s2:
            zero_re.add(a)
    for i, (a, b) in enumerate(structure.g_entries):
        if a in zero_re or b in zero_re:
            mask[i] = True
    n_g = len(structure.g_entries)
    for c in range(len(structure.vc)):
        if tau[n_g + c] < rel_tol * s2:
            mask[n_g + c] = True
    return mask


def from_statsmodels(results) -> tuple[LMMStructure, np.ndarray]:
    """Build an :class:`LMMStructure` and tau from a fitted statsmodels ``MixedLM``.

    Parameters
    ----------
    results : statsmodels MixedLMResults

    Returns
    -------
    structure : LMMStructure
    tau : ndarray
        ``cov_re`` entries, ``vcomp`` and ``scale`` (all on the data scale).

    Examples
    --------
    >>> import numpy as np, pandas as pd, statsmodels.formula.api as smf
    >>> from mixedtools.lmm.reml import from_statsmodels
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"g": np.repeat(np.arange(10), 6), "x": rng.normal(size=60)})
    >>> d["y"] = d.x + rng.normal(size=60) + rng.normal(size=10)[d.g]
    >>> res = smf.mixedlm("y ~ x", d, groups="g").fit(reml=True)
    >>> structure, tau = from_statsmodels(res)
    >>> structure.tau_names
    ('G[g,g]', 'sigma2')
    """
    model = results.model
    labels = list(model.group_labels)
    n = model.endog.shape[0]
    codes = np.empty(n, dtype=np.int64)
    for code, label in enumerate(labels):
        codes[model.row_indices[label]] = code
    k_fe = model.k_fe
    X = np.asarray(model.exog, float)[:, :k_fe]
    Z = np.asarray(model.exog_re, float) if model.k_re > 0 else np.zeros((n, 0))
    vc_designs, vc_names = [], []
    if model.k_vc > 0:
        spec = model.exog_vc
        for c, name in enumerate(spec.names):
            width = max(np.asarray(m).shape[1] for m in spec.mats[c])
            design = np.zeros((n, width))
            for gi, label in enumerate(labels):
                mat = np.asarray(spec.mats[c][gi], float)
                design[np.asarray(model.row_indices[label]), : mat.shape[1]] = mat
            vc_designs.append(design)
            vc_names.append(str(name))
    free = None
    freepat = getattr(results, "freepat", None)
    if freepat is not None and model.k_re > 0:
        free = np.asarray(freepat.cov_re) != 0
        free = free | np.eye(model.k_re, dtype=bool)
    exog_names = list(model.exog_names)
    re_names = tuple(getattr(model.data, "exog_re_names", None) or [])
    if len(re_names) != model.k_re:
        re_names = tuple(f"re{i}" for i in range(model.k_re))
    structure = LMMStructure(
        y=np.asarray(model.endog, float),
        X=X,
        groups=codes,
        Z=Z,
        vc=tuple(vc_designs),
        free=free,
        fe_names=tuple(exog_names[:k_fe]),
        re_names=re_names,
        vc_names=tuple(vc_names),
    )
    cov_re = np.asarray(results.cov_re, float) if model.k_re > 0 else None
    vcomp = np.asarray(results.vcomp, float) if model.k_vc > 0 else ()
    tau = structure.tau_from(cov_re, vcomp, float(results.scale))
    return structure, tau
