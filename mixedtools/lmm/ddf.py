"""Denominator degrees of freedom for fixed effects of linear mixed models.

Five ways to attach a t (or F) reference distribution to a fixed-effect estimate:

``"satterthwaite"``
    What lmerTest (and SPSS MIXED) report: a moment-matching approximation built from
    the observed information of the REML variance parameters.
``"kenward-roger"``
    pbkrtest / lmerTest ``ddf="Kenward-Roger"``: a small-sample-adjusted covariance of
    the fixed effects plus a scaled F statistic (REML fits only).
``"nlme"``
    The containment-style rule of ``nlme::lme``: each column gets the degrees of freedom
    of the grouping level at which it varies.
``"hlm"``
    The rule of the HLM program (the source notes' Table 1): level-1 slopes get
    N - p - q - 1 (fixed) or K - q_c - 1 (random), level-2 predictors and the
    intercept K - q - 1, cross-level interactions K - q_c - 1.
``"residual"`` and ``"asymptotic"``
    N - p as in ordinary regression, and the normal limit (df = infinity).

The public entry points take a fitted statsmodels ``MixedLMResults`` or a
:func:`mixedtools.lmer` fit; every one also accepts a pair ``(structure, tau)`` (or
``(structure, tau, reml)``) of :class:`mixedtools.lmm.reml.LMMStructure` and variance
parameters, which is how fits from other front ends plug in.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools._warnings import external_stacklevel
from mixedtools.lmm.engine import EngineProtocol
from mixedtools.lmm.polish import newton_polish, optimality_gap, theta_space_covariance
from mixedtools.lmm.reml import from_statsmodels

__all__ = [
    "DDF_METHODS",
    "coef_table",
    "contrast_test",
    "satterthwaite_t",
    "satterthwaite_f",
    "kenward_roger",
    "nlme_df",
    "hlm_df",
    "hlm_levels",
    "hlm_table",
    "hlm_table2",
    "df_by_method",
    "t_to_r",
]

DDF_METHODS = ("satterthwaite", "kenward-roger", "nlme", "hlm", "residual", "asymptotic")


# --------------------------------------------------------------------------- internals
def _check_method(ddf):
    name = str(ddf).lower().replace("_", "-")
    aliases = {"kr": "kenward-roger", "kenward roger": "kenward-roger", "normal": "asymptotic"}
    name = aliases.get(name, name)
    if name not in DDF_METHODS:
        raise ValueError(f"unknown ddf method {ddf!r}; choose one of {', '.join(DDF_METHODS)}")
    return name


def _resolve(fit, polish=True, reml=None):
    """Return (structure, tau, reml) from a MixedLMResults or a (structure, tau[, reml]) tuple."""
    if isinstance(fit, tuple):
        if len(fit) not in (2, 3) or not isinstance(fit[0], EngineProtocol):
            raise TypeError("expected a statsmodels MixedLMResults or (LMMStructure, tau[, reml])")
        structure, tau = fit[0], np.asarray(fit[1], float)
        is_reml = bool(fit[2]) if len(fit) == 3 else True
    elif hasattr(fit, "model") and hasattr(fit, "cov_re"):
        structure, tau = from_statsmodels(fit)
        is_reml = bool(fit.reml)
    elif isinstance(getattr(fit, "structure", None), EngineProtocol) and hasattr(fit, "tau"):
        # an lmer fit: already polished
        structure, tau, is_reml = fit.structure, np.asarray(fit.tau, float), bool(fit.reml)
    else:
        raise TypeError(
            "expected an lmer fit, a statsmodels MixedLMResults or (LMMStructure, tau), "
            f"got {type(fit)!r}"
        )
    if reml is not None:
        is_reml = bool(reml)
    if polish:
        tau = newton_polish(structure, tau, reml=is_reml, steps=6)
        _warn_if_not_optimal(structure, tau, is_reml)
    return structure, tau, is_reml


def _warn_if_not_optimal(structure, tau, reml, rel_tol=1e-6):
    """Warn when the polished variance parameters are still not at the (RE)ML optimum."""
    qty = structure.quantities(tau, reml)
    # judged in lme4's parameters, where a correlation of +-1 is an ordinary bound
    if not optimality_gap(structure, qty) <= 0.5 * rel_tol:
        warnings.warn(
            "the variance estimates are not at the "
            f"{'REML' if reml else 'ML'} optimum even after Newton polishing "
            "(the fit may not have converged); the degrees of freedom may be inaccurate",
            RuntimeWarning,
            stacklevel=external_stacklevel(),
        )


def _as_contrast(L, p, what="L"):
    L = np.atleast_2d(np.asarray(L, dtype=float))
    if L.ndim != 2 or L.shape[1] != p:
        raise ValueError(f"{what} must have {p} columns (one per fixed effect), got {L.shape}")
    if not np.all(np.isfinite(L)):
        raise ValueError(f"{what} must be finite")
    return L


def _safe_inverse(a):
    try:
        np.linalg.cholesky(a)
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(a)


def _satterthwaite_cov(structure, tau, qty, rel_tol=1e-8):
    """Inverse observed information with boundary variances dropped (as lmerTest does)."""
    theta_cov = theta_space_covariance(structure, qty, rel_tol)
    if theta_cov is not None:  # a correlation of +-1: the information in lme4's parameters
        return theta_cov
    keep = ~structure.boundary_mask(tau, rel_tol)
    A = np.zeros((structure.n_tau, structure.n_tau))
    A[np.ix_(keep, keep)] = _safe_inverse(qty.info_observed[np.ix_(keep, keep)])
    return A


# --------------------------------------------------------------------------- Satterthwaite
def satterthwaite_t(structure, tau, c, reml=True, qty=None):
    """Satterthwaite t-test of ``c' beta`` (lmerTest's ``ddf="Satterthwaite"``).

    ``df = 2 v^2 / (g' A g)`` with ``v = c' Phi c``, ``g_k = c' (dPhi/dtau_k) c`` and ``A``
    the inverse observed information of tau. Variances at the boundary (zero) are
    dropped before inverting, as in lmerTest.

    Parameters
    ----------
    structure : LMMStructure
    tau : array_like
        Variance parameters at the (RE)ML optimum.
    c : array_like, shape (p,)
        Contrast vector.
    reml : bool
        Use the REML (True) or ML information.
    qty : LMMQuantities, optional
        Precomputed :func:`mixedtools.lmm.reml.reml_quantities` at tau.

    Returns
    -------
    dict
        ``estimate``, ``std_error``, ``df``, ``t``.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure, newton_polish
    >>> from mixedtools.lmm.ddf import satterthwaite_t
    >>> g = np.repeat(np.arange(6), 4)
    >>> x = np.tile([0.0, 1, 2, 3], 6)
    >>> y = 1 + 0.5 * x + np.sin(np.arange(24)) + np.cos(g)
    >>> s = LMMStructure(y=y, X=np.column_stack([np.ones(24), x]), groups=g, Z=np.ones((24, 1)))
    >>> tau = newton_polish(s, [0.4, 0.5], steps=10)
    >>> res = satterthwaite_t(s, tau, [0, 1])
    >>> round(res["df"], 6)  # balanced: the within-group df 24 - 6 - 1
    17.0
    """
    qty = structure.quantities(tau, reml) if qty is None else qty
    c = _as_contrast(c, structure.n_fixed, "c")[0]
    v = float(c @ qty.Phi @ c)
    g = np.einsum("i,kij,j->k", c, qty.J, c)
    A = _satterthwaite_cov(structure, tau, qty)
    denom = float(g @ A @ g)
    df = 2.0 * v**2 / denom if denom > 0 else np.inf
    est = float(c @ qty.beta)
    se = np.sqrt(v)
    return {"estimate": est, "std_error": se, "df": df, "t": est / se}


def satterthwaite_f(structure, tau, L, reml=True, qty=None):
    """Satterthwaite F-test of ``L beta = 0`` (lmerTest's multi-df method).

    ``L Phi L'`` is eigen-decomposed; each retained direction gets its own t-type df
    ``nu_m`` and the denominator df is ``2E / (E - q)`` with ``E = sum nu_m / (nu_m - 2)``.

    Parameters
    ----------
    structure : LMMStructure
    tau : array_like
    L : array_like, shape (q, p)
    reml : bool
    qty : LMMQuantities, optional

    Returns
    -------
    dict
        ``num_df``, ``den_df``, ``F``.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure, newton_polish
    >>> from mixedtools.lmm.ddf import satterthwaite_f
    >>> g = np.repeat(np.arange(6), 4)
    >>> x = np.tile([0.0, 1, 2, 3], 6)
    >>> y = 1 + 0.5 * x + np.sin(np.arange(24)) + np.cos(g)
    >>> s = LMMStructure(y=y, X=np.column_stack([np.ones(24), x]), groups=g, Z=np.ones((24, 1)))
    >>> tau = newton_polish(s, [0.4, 0.5], steps=10)
    >>> res = satterthwaite_f(s, tau, [[0, 1]])
    >>> res["num_df"], round(res["den_df"], 6)
    (1, 17.0)
    """
    qty = structure.quantities(tau, reml) if qty is None else qty
    L = _as_contrast(L, structure.n_fixed)
    d, P = np.linalg.eigh(L @ qty.Phi @ L.T)
    order = np.argsort(d)[::-1]
    d, P = d[order], P[:, order]
    keep = d > np.sqrt(np.finfo(float).eps) * max(d[0], 0.0)
    if not np.any(keep):
        raise ValueError("L Phi L' is zero: the contrast does not involve estimable effects")
    d, rows = d[keep], (P[:, keep].T @ L)
    q = len(d)
    F = float(np.sum((rows @ qty.beta) ** 2 / d) / q)
    if q == 1:
        df = satterthwaite_t(structure, tau, rows[0], reml=reml, qty=qty)["df"]
        return {"num_df": 1, "den_df": df, "F": F}
    A = _satterthwaite_cov(structure, tau, qty)
    g = np.einsum("mi,kij,mj->mk", rows, qty.J, rows)
    nu = 2.0 * d**2 / np.einsum("mk,kl,ml->m", g, A, g)
    if np.any(nu <= 2):
        den = 2.0
    elif np.allclose(nu, nu[0], rtol=1e-12, atol=0):
        den = float(nu[0])
    else:
        E = float(np.sum(nu / (nu - 2.0)))
        den = 2.0 * E / (E - q) if E > q else 2.0
    return {"num_df": q, "den_df": den, "F": F}


# --------------------------------------------------------------------------- Kenward-Roger
def kenward_roger(structure, tau, L, qty=None):
    """Kenward-Roger adjusted covariance and F-test of ``L beta = 0`` (REML fits).

    Uses ``W``, the inverse expected REML information of tau (linear in V, so the
    second-derivative terms vanish); zero variances are kept, as in pbkrtest.

    Parameters
    ----------
    structure : LMMStructure
    tau : array_like
        REML estimates.
    L : array_like, shape (q, p)
        Full-row-rank contrast matrix.
    qty : LMMQuantities, optional
        Precomputed REML quantities at tau.

    Returns
    -------
    dict
        ``Phi_A`` (adjusted covariance of beta-hat), ``std_error`` (``sqrt(diag(L Phi_A L'))``),
        ``F`` (scaled statistic), ``num_df``, ``den_df`` and ``scale`` (lambda).

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure
    >>> from mixedtools.lmm.ddf import kenward_roger
    >>> g = np.repeat(np.arange(6), 4)
    >>> x = np.tile([0.0, 1, 2, 3], 6)
    >>> y = 1 + 0.5 * x + np.sin(np.arange(24)) + np.cos(g)
    >>> s = LMMStructure(y=y, X=np.column_stack([np.ones(24), x]), groups=g, Z=np.ones((24, 1)))
    >>> res = kenward_roger(s, [0.4, 0.5], [[0, 1]])
    >>> res["num_df"], round(res["den_df"], 6), round(res["scale"], 12)
    (1, 17.0, 1.0)
    """
    qty = structure.quantities(tau, True) if qty is None else qty
    if not qty.reml:
        raise ValueError("Kenward-Roger needs REML quantities; refit the model with REML")
    L = _as_contrast(L, structure.n_fixed)
    q = L.shape[0]
    if np.linalg.matrix_rank(L) < q:
        raise ValueError("Kenward-Roger needs a contrast matrix L of full row rank")
    Phi, M = qty.Phi, qty.M
    W = _safe_inverse(qty.info_expected)
    # Phi_A = Phi + 2 Phi [sum_ij W_ij (Q_ij - M_i Phi M_j)] Phi
    PhiM = np.einsum("ab,kbc->kac", Phi, M)
    inner = qty.Q - np.einsum("iab,jbc->ijac", M, PhiM)
    Phi_A = Phi + 2.0 * Phi @ np.einsum("ij,ijab->ab", W, inner) @ Phi
    Phi_A = 0.5 * (Phi_A + Phi_A.T)

    Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
    T = np.einsum("ab,kbc->kac", Theta, qty.J)  # Theta Phi P_i Phi up to sign
    tr_T = np.einsum("kaa->k", T)
    A1 = float(tr_T @ W @ tr_T)
    A2 = float(np.einsum("ij,iab,jba->", W, T, T))
    B = (A1 + 6.0 * A2) / (2.0 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    D = 3.0 * q + 2.0 * (1.0 - g)
    c1, c2, c3 = g / D, (q - g) / D, (q + 2 - g) / D
    E_star = 1.0 / (1.0 - A2 / q)
    V_star = (2.0 / q) * (1.0 + c1 * B) / ((1.0 - c2 * B) ** 2 * (1.0 - c3 * B))
    rho = V_star / (2.0 * E_star**2)
    m = 4.0 + (q + 2.0) / (q * rho - 1.0)
    lam = m * (1.0 - A2 / q) / (m - 2.0)
    Lb = L @ qty.beta
    LPL = L @ Phi_A @ L.T
    wald = float(Lb @ np.linalg.solve(LPL, Lb) / q)
    return {
        "Phi_A": Phi_A,
        "std_error": np.sqrt(np.diag(LPL)),
        "F": lam * wald,
        "num_df": q,
        "den_df": float(m),
        "scale": float(lam),
    }


# --------------------------------------------------------------------------- level rules
def _group_ranges(values, codes, n_groups):
    """Per-group (max - min) of each column of values (N, m)."""
    values = np.asarray(values, float).reshape(len(codes), -1)
    hi = np.full((n_groups, values.shape[1]), -np.inf)
    lo = np.full((n_groups, values.shape[1]), np.inf)
    np.maximum.at(hi, codes, values)
    np.minimum.at(lo, codes, values)
    return hi - lo


def _varies_within(X, codes):
    """Boolean per column of X: varies within at least one group of ``codes``."""
    codes = np.unique(np.asarray(codes), return_inverse=True)[1]
    rng = _group_ranges(X, codes, codes.max() + 1)
    scale = np.maximum(np.abs(X).max(axis=0), 1e-300)
    return (rng > 1e-10 * scale).any(axis=0)


def _is_intercept(col):
    return bool(np.all(col == col[0])) and col[0] != 0


def nlme_df(X, levels, names=None):
    """Degrees of freedom by ``nlme::lme``'s rule.

    Strata run from the outermost grouping level to the innermost, then "Residual".
    Level i starts with ``n_i - n_(i-1)`` df (numbers of groups), Residual with
    ``N - n_Q``. A column that varies within some innermost group belongs to Residual;
    otherwise to the innermost level whose parent has a group within which it varies.
    Each stratum loses one df per column it holds (the intercept is charged to
    level 1) and the intercept gets the largest stratum df. Random slopes are ignored.

    Parameters
    ----------
    X : array_like, shape (N, p)
        Fixed-effects design.
    levels : sequence of array_like
        Group labels of each grouping level, outermost first (inner labels may repeat
        across outer groups; they are combined with their parents).
    names : sequence of str, optional

    Returns
    -------
    pandas.Series
        df per column of X.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.ddf import nlme_df
    >>> g = np.repeat(np.arange(10), 5)
    >>> X = np.column_stack([np.ones(50), np.tile(np.arange(5.0), 10), g % 2])
    >>> nlme_df(X, [g], names=["(Intercept)", "x", "w"]).tolist()
    [39, 39, 8]
    """
    X = np.asarray(X, float)
    n, p = X.shape
    names = list(names) if names is not None else [f"x{i}" for i in range(p)]
    if not levels:
        raise ValueError("nlme_df needs at least one grouping level")
    combined, codes = np.zeros(n, dtype=np.int64), []
    for lab in levels:
        lab = np.asarray(lab)
        if lab.shape != (n,):
            raise ValueError(f"each grouping level needs {n} labels, got shape {lab.shape}")
        lab_codes = np.unique(lab, return_inverse=True)[1]
        combined = np.unique(np.column_stack([combined, lab_codes]), axis=0, return_inverse=True)[
            1
        ].ravel()
        codes.append(combined.copy())
    n_levels = len(codes)
    sizes = [int(c.max()) + 1 for c in codes]
    df = np.array(
        [sizes[0]] + [sizes[i] - sizes[i - 1] for i in range(1, n_levels)] + [n - sizes[-1]]
    )
    parents = [np.zeros(n, dtype=np.int64)] + codes  # level i's parent is parents[i]
    stratum = np.empty(p, dtype=int)
    intercept = [j for j in range(p) if _is_intercept(X[:, j])]
    for j in range(p):
        if j in intercept:
            stratum[j] = 0
            continue
        col = X[:, [j]]
        if _varies_within(col, codes[-1])[0]:
            stratum[j] = n_levels
            continue
        stratum[j] = 0
        for i in range(n_levels - 1, -1, -1):
            if _varies_within(col, parents[i])[0]:
                stratum[j] = i
                break
    for j in range(p):
        df[stratum[j]] -= 1
    out = df[stratum].astype(float)
    for j in intercept:
        out[j] = df.max()
    return pd.Series(out.astype(int), index=names, name="df")


def _split_interaction(name):
    return [part.strip() for part in str(name).split(":")] if ":" in str(name) else None


def hlm_levels(X, groups, names=None, Z=None):
    """Classify fixed-effect columns for the HLM rule.

    Returns a DataFrame indexed by term with columns ``kind`` ("intercept", "level1",
    "level2" or "cross-level"), ``random_slope`` (bool), and ``slope_of`` (for a
    cross-level interaction: the level-1 predictor whose slope model it belongs to).

    A column constant within every group is level-2; a cross-level interaction is the
    product of a level-1 and a level-2 column, found from the term name ("a:b") or, when
    names do not help, from the design columns themselves. A level-1 column has a
    random slope when it also appears among the random-effects columns ``Z``.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.ddf import hlm_levels
    >>> g = np.repeat(np.arange(4), 3)
    >>> x, w = np.arange(12.0) % 3, (g % 2).astype(float)
    >>> X = np.column_stack([np.ones(12), x, w, x * w])
    >>> hlm_levels(X, g, ["Intercept", "x", "w", "x:w"])["kind"].tolist()
    ['intercept', 'level1', 'level2', 'cross-level']
    """
    X = np.asarray(X, float)
    n, p = X.shape
    names = list(names) if names is not None else [f"x{i}" for i in range(p)]
    varies = _varies_within(X, groups)
    kind = []
    for j in range(p):
        if _is_intercept(X[:, j]):
            kind.append("intercept")
        else:
            kind.append("level1" if varies[j] else "level2")
    slope_of = [None] * p
    lvl1 = [j for j in range(p) if kind[j] == "level1"]
    lvl2 = [j for j in range(p) if kind[j] == "level2"]

    def close(a, b):
        return np.allclose(a, b, rtol=1e-10, atol=1e-12 * max(np.abs(b).max(), 1.0))

    for j in lvl1:
        parts = _split_interaction(names[j])
        match = None
        if parts is not None:
            idx = [names.index(pt) if pt in names else None for pt in parts]
            if None not in idx:
                ones = [i for i in idx if kind[i] == "level1"]
                twos = [i for i in idx if kind[i] == "level2"]
                if len(ones) == 1 and twos and close(X[:, j], np.prod(X[:, ones + twos], axis=1)):
                    match = ones[0]
        if match is None and parts is None:
            for a in lvl1:
                if a == j:
                    continue
                if any(close(X[:, j], X[:, a] * X[:, b]) for b in lvl2):
                    match = a
                    break
        if match is not None:
            kind[j] = "cross-level"
            slope_of[j] = names[match]
    random_slope = [False] * p
    if Z is not None:
        Z = np.asarray(Z, float).reshape(n, -1)
        for j in range(p):
            if kind[j] in ("level1",):
                random_slope[j] = any(close(X[:, j], Z[:, c]) for c in range(Z.shape[1]))
    return pd.DataFrame(
        {"kind": kind, "random_slope": random_slope, "slope_of": slope_of},
        index=pd.Index(names, name="term"),
    )


def hlm_df(X, groups, names=None, Z=None):
    """Degrees of freedom by the HLM program's rule (the source notes' Table 1).

    With N observations, K groups, p level-1 predictors, q level-2 predictors and, for a
    level-1 predictor x, q_c cross-level interactions in x's slope model:

    - intercept and level-2 predictors: ``K - q - 1``;
    - level-1 predictor with a random slope: ``K - q_c - 1``;
    - cross-level interaction: ``K - q_c - 1`` of its level-1 predictor;
    - level-1 predictor with a fixed slope: ``N - (number of fixed effects)``, which is
      ``N - p - q - 1`` when there are no cross-level interactions.

    Parameters
    ----------
    X : array_like, shape (N, p)
    groups : array_like, shape (N,)
        Level-2 unit of each row.
    names : sequence of str, optional
        Term names (``"a:b"`` marks interactions).
    Z : array_like, shape (N, k), optional
        Random-effects design; level-1 columns found in Z have random slopes.

    Returns
    -------
    pandas.Series

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.ddf import hlm_df
    >>> g = np.repeat(np.arange(30), 4)
    >>> x, w = np.tile(np.arange(4.0), 30), (g % 2).astype(float)
    >>> X = np.column_stack([np.ones(120), x, w, x * w])
    >>> Z = np.column_stack([np.ones(120), x])
    >>> hlm_df(X, g, ["Intercept", "x", "w", "x:w"], Z=Z).tolist()  # full model: K - 2
    [28, 28, 28, 28]
    """
    X = np.asarray(X, float)
    n, p = X.shape
    levels = hlm_levels(X, groups, names, Z)
    K = len(np.unique(np.asarray(groups)))
    kind = levels["kind"].to_numpy()
    q = int(np.sum(kind == "level2"))
    q_c = levels.loc[kind == "cross-level", "slope_of"].value_counts()
    out = []
    for term, row in levels.iterrows():
        if row.kind in ("intercept", "level2"):
            out.append(K - q - 1)
        elif row.kind == "cross-level":
            out.append(K - int(q_c.get(row.slope_of, 0)) - 1)
        elif row.random_slope:
            out.append(K - int(q_c.get(term, 0)) - 1)
        else:
            out.append(n - p)
    return pd.Series(out, index=levels.index, name="df")


# --------------------------------------------------------------------------- tables
def _coef_df(structure, tau, reml, method, qty):
    """Standard errors and df per coefficient for one method."""
    p = structure.n_fixed
    se = np.sqrt(np.diag(qty.Phi))
    if method == "satterthwaite":
        df = [satterthwaite_t(structure, tau, e, reml, qty)["df"] for e in np.eye(p)]
    elif method == "kenward-roger":
        df, se = [], []
        for e in np.eye(p):
            kr = kenward_roger(structure, tau, e[None, :], qty)
            df.append(kr["den_df"])
            se.append(kr["std_error"][0])
    elif method == "nlme":
        df = nlme_df(structure.X, structure.nesting_levels(), structure.fe_names).to_numpy()
    elif method == "hlm":
        groups, Z = structure.hlm_layout()
        df = hlm_df(structure.X, groups, structure.fe_names, Z).to_numpy()
    elif method == "residual":
        df = np.full(p, structure.n_obs - p)
    else:
        df = np.full(p, np.inf)
    return np.asarray(se, float), np.asarray(df, float)


def coef_table(fit, ddf="satterthwaite", polish=True, level=0.95):
    """Fixed-effects table with t-tests and confidence intervals for a chosen df method.

    Parameters
    ----------
    fit : lmer fit, statsmodels MixedLMResults, or (LMMStructure, tau[, reml])
    ddf : {"satterthwaite", "kenward-roger", "nlme", "hlm", "residual", "asymptotic"}
    polish : bool
        Refine the variance estimates with Newton steps first (statsmodels stops
        1e-5..1e-4 short of the optimum, which moves Satterthwaite df in the 4th digit).
        Estimates and standard errors are then recomputed at the polished values.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        Indexed by term; columns ``estimate, std_error, df, t, p_value, ci_lower, ci_upper``.
        Kenward-Roger uses its adjusted standard errors; "asymptotic" uses the normal
        distribution (df = inf).

    Examples
    --------
    >>> import numpy as np, pandas as pd, statsmodels.formula.api as smf
    >>> from mixedtools.lmm.ddf import coef_table
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"g": np.repeat(np.arange(12), 5), "x": np.tile(np.arange(5.0), 12)})
    >>> d["y"] = 0.3 * d.x + rng.normal(size=60) + rng.normal(size=12)[d.g]
    >>> res = smf.mixedlm("y ~ x", d, groups="g").fit(reml=True)
    >>> tab = coef_table(res, ddf="satterthwaite")
    >>> list(tab.columns)
    ['estimate', 'std_error', 'df', 't', 'p_value', 'ci_lower', 'ci_upper']
    >>> float(tab.loc["x", "df"].round(4))  # balanced design: 60 - 12 - 1
    47.0
    """
    method = _check_method(ddf)
    if not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1, got {level}")
    structure, tau, reml = _resolve(fit, polish)
    if method == "kenward-roger" and not reml:
        raise ValueError(
            "Kenward-Roger is defined for REML fits only; refit with reml=True "
            "(or choose ddf='satterthwaite')"
        )
    qty = structure.quantities(tau, reml)
    se, df = _coef_df(structure, tau, reml, method, qty)
    est = qty.beta
    t = est / se
    dist_p = np.where(np.isinf(df), 2 * stats.norm.sf(np.abs(t)), 2 * stats.t.sf(np.abs(t), df))
    crit = np.where(np.isinf(df), stats.norm.ppf(0.5 + level / 2), stats.t.ppf(0.5 + level / 2, df))
    return pd.DataFrame(
        {
            "estimate": est,
            "std_error": se,
            "df": df,
            "t": t,
            "p_value": dist_p,
            "ci_lower": est - crit * se,
            "ci_upper": est + crit * se,
        },
        index=pd.Index(structure.fe_names, name="term"),
    )


def contrast_test(fit, L, ddf="satterthwaite", polish=True):
    """F-test of ``L beta = 0`` with a chosen denominator-df method.

    Parameters
    ----------
    fit : lmer fit, statsmodels MixedLMResults, or (LMMStructure, tau[, reml])
    L : array_like, shape (q, p)
        Contrast matrix (one row per constraint; a 1-D array is one row).
    ddf : {"satterthwaite", "kenward-roger", "nlme", "hlm", "residual", "asymptotic"}
    polish : bool
        Newton-polish the variance estimates first.

    Returns
    -------
    pandas.Series
        ``num_df``, ``den_df``, ``F``, ``p_value``. For "nlme" and "hlm" the denominator
        df is the smallest df among the coefficients the contrast involves; "asymptotic"
        uses ``den_df = inf`` (a chi-square / q test).

    Examples
    --------
    >>> import numpy as np, pandas as pd, statsmodels.formula.api as smf
    >>> from mixedtools.lmm.ddf import contrast_test
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"g": np.repeat(np.arange(12), 5), "x": np.tile(np.arange(5.0), 12)})
    >>> d["y"] = 0.3 * d.x + rng.normal(size=60) + rng.normal(size=12)[d.g]
    >>> res = smf.mixedlm("y ~ x", d, groups="g").fit(reml=True)
    >>> out = contrast_test(res, [[0, 1]], ddf="kenward-roger")
    >>> list(out.index)
    ['num_df', 'den_df', 'F', 'p_value']
    """
    method = _check_method(ddf)
    structure, tau, reml = _resolve(fit, polish)
    L = _as_contrast(L, structure.n_fixed)
    qty = structure.quantities(tau, reml)
    if method == "satterthwaite":
        res = satterthwaite_f(structure, tau, L, reml, qty)
    elif method == "kenward-roger":
        if not reml:
            raise ValueError("Kenward-Roger is defined for REML fits only; refit with reml=True")
        res = kenward_roger(structure, tau, L, qty)
    else:
        q = np.linalg.matrix_rank(L)
        if q < L.shape[0]:
            raise ValueError("L must have full row rank for this ddf method")
        Lb = L @ qty.beta
        F = float(Lb @ np.linalg.solve(L @ qty.Phi @ L.T, Lb) / q)
        _, df = _coef_df(structure, tau, reml, method, qty)
        involved = np.any(L != 0, axis=0)
        res = {"num_df": q, "den_df": float(df[involved].min()), "F": F}
    num, den, F = res["num_df"], res["den_df"], res["F"]
    p = stats.chi2.sf(num * F, num) if np.isinf(den) else stats.f.sf(F, num, den)
    return pd.Series({"num_df": float(num), "den_df": float(den), "F": float(F), "p_value": p})


# --------------------------------------------------------------------------- comparisons
def df_by_method(fit, methods=DDF_METHODS, polish=True):
    """Degrees of freedom of every fixed effect under several df methods, side by side.

    Parameters
    ----------
    fit : lmer fit, statsmodels MixedLMResults, or (LMMStructure, tau[, reml])
    methods : sequence of str
        Any of ``"satterthwaite", "kenward-roger", "nlme", "hlm", "residual",
        "asymptotic"``. Kenward-Roger is skipped (column of NaN) for ML fits.
    polish : bool
        Newton-polish the variance estimates first (a no-op for lmer fits).

    Returns
    -------
    pandas.DataFrame
        Indexed by term, one column per method.

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> methods = ["satterthwaite", "nlme", "residual"]
    >>> mt.ddf.df_by_method(fit, methods).round(2)  # doctest: +NORMALIZE_WHITESPACE
               satterthwaite   nlme  residual
    term
    Intercept           17.0  161.0     178.0
    days                17.0  161.0     178.0
    """
    methods = [_check_method(m) for m in methods]
    if not methods:
        raise ValueError("methods is empty: name at least one df method")
    structure, tau, reml = _resolve(fit, polish)
    qty = structure.quantities(tau, reml)
    out = {}
    for method in methods:
        if method == "kenward-roger" and not reml:
            out[method] = np.full(structure.n_fixed, np.nan)
            continue
        out[method] = _coef_df(structure, tau, reml, method, qty)[1]
    return pd.DataFrame(out, index=pd.Index(structure.fe_names, name="term"))


_HLM_RULES = {
    ("intercept", False): "K - q - 1",
    ("level2", False): "K - q - 1",
    ("cross-level", False): "K - q_c - 1",
    ("level1", True): "K - q_c - 1",
    ("level1", False): "N - p - q - 1",
}


def hlm_table(fit):
    """The source notes' Table 1 applied to a fitted two-level model.

    Each fixed effect is classified (intercept, level-1, level-2 or cross-level
    interaction; random or fixed slope), given the rule of the HLM program and the df
    that rule yields.

    Parameters
    ----------
    fit : lmer fit, statsmodels MixedLMResults, or (LMMStructure, tau[, reml])

    Returns
    -------
    pandas.DataFrame
        Indexed by term; columns ``kind``, ``random_slope``, ``rule`` and ``df``. A fixed
        level-1 slope gets ``N`` minus the number of fixed effects ``k``: the notes'
        ``N - p - q - 1`` when the model has no cross-level interaction, and ``N - k`` (so
        labelled) when it has, since each interaction is one more estimated coefficient.

    Examples
    --------
    >>> import mixedtools as mt
    >>> from mixedtools import dfdata
    >>> d = dfdata.two_level([5] * 30, tau11=0.2, seed=1)
    >>> fit = mt.lmer("y ~ x * w + (x | group)", d)
    >>> mt.ddf.hlm_table(fit)[["kind", "rule", "df"]]  # doctest: +NORMALIZE_WHITESPACE
                      kind         rule  df
    term
    Intercept    intercept    K - q - 1  28
    x               level1  K - q_c - 1  28
    w               level2    K - q - 1  28
    x:w        cross-level  K - q_c - 1  28
    """
    structure, _, _ = _resolve(fit, polish=False)
    args = (structure.X, structure.groups, structure.fe_names, structure.Z)
    levels = hlm_levels(*args)
    pairs = zip(levels["kind"], levels["random_slope"], strict=True)
    rules = [_HLM_RULES[(k, bool(r))] for k, r in pairs]
    if "cross-level" in set(levels["kind"]):
        rules = ["N - k" if rule == "N - p - q - 1" else rule for rule in rules]
    return pd.DataFrame(
        {
            "kind": levels["kind"],
            "random_slope": levels["random_slope"],
            "rule": rules,
            "df": hlm_df(*args).to_numpy(),
        },
        index=levels.index,
    )


# The source notes' Table 2: seven common two-level models, as lme4 formulas with a
# level-1 predictor x and a level-2 predictor w, and the df the HLM program reports.
_TABLE2 = [
    ("One-way ANOVA with random effects", "y ~ 1 + (1 | group)", "K - 1", None, None),
    ("Intercepts-as-outcomes", "y ~ w + (1 | group)", "K - 2", None, "K - 2"),
    ("One-way ANCOVA with random effects", "y ~ x + (1 | group)", "K - 1", "N - 2", None),
    ("Random-coefficients regression", "y ~ x + (x | group)", "K - 1", "K - 1", None),
    ("Contextual model (fixed slope)", "y ~ x + w + (1 | group)", "K - 2", "N - 3", "K - 2"),
    ("Contextual model (random slope)", "y ~ x + w + (x | group)", "K - 2", "K - 1", "K - 2"),
    ("Full model", "y ~ x * w + (x | group)", "K - 2", "K - 2", "K - 2"),
]


def _evaluate_rule(rule, n_obs, n_groups):
    if rule is None or n_obs is None:
        return rule
    base, _, minus = rule.partition(" - ")
    return {"N": n_obs, "K": n_groups}[base] - int(minus)


def hlm_table2(n_obs=None, n_groups=None):
    """The source notes' Table 2: df of seven common two-level models in the HLM program.

    Parameters
    ----------
    n_obs, n_groups : int, optional
        N and K. Given both, the rules are evaluated to numbers; otherwise they are
        returned as text (``"K - 2"``).

    Returns
    -------
    pandas.DataFrame
        Indexed by model type; columns ``formula`` (lme4 notation with a level-1
        predictor ``x``, a level-2 predictor ``w`` and groups ``group``), ``df_intercept``,
        ``df_x`` and ``df_w`` (missing where the model has no such term).

    Examples
    --------
    >>> from mixedtools.lmm.ddf import hlm_table2
    >>> hlm_table2(n_obs=200, n_groups=20).loc["Full model", ["df_x", "df_w"]].tolist()
    [18, 18]
    """
    if (n_obs is None) != (n_groups is None):
        raise ValueError("give both n_obs and n_groups, or neither")
    if n_obs is not None and not (int(n_groups) >= 2 and int(n_obs) > int(n_groups)):
        raise ValueError(
            f"need at least 2 groups and more observations than groups, got N={n_obs}, K={n_groups}"
        )
    rows = [
        (name, formula, *(_evaluate_rule(r, n_obs, n_groups) for r in rules))
        for name, formula, *rules in _TABLE2
    ]
    table = pd.DataFrame(rows, columns=["model", "formula", "df_intercept", "df_x", "df_w"])
    if n_obs is not None:
        table = table.astype({c: "Int64" for c in ("df_intercept", "df_x", "df_w")})
    return table.set_index("model")


def t_to_r(t, df):
    """Convert a t statistic to the effect size r = sqrt(t^2 / (t^2 + df)), keeping t's sign.

    Parameters
    ----------
    t : float or array_like
    df : float or array_like
        Degrees of freedom of the t statistic (positive; ``inf`` gives r = 0).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from mixedtools.lmm.ddf import t_to_r
    >>> round(t_to_r(3.0, 18), 4), round(t_to_r(3.0, 1998), 4)
    (0.5774, 0.067)
    """
    t_arr, df_arr = np.asarray(t, float), np.asarray(df, float)
    if np.any(~(df_arr > 0)):
        raise ValueError("df must be positive")
    r = np.sign(t_arr) * np.sqrt(t_arr**2 / (t_arr**2 + df_arr))
    return float(r) if r.ndim == 0 else r
