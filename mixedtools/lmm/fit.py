"""Fit linear mixed models written in lme4's notation, and report them as lme4/lmerTest do.

A fit follows lme4's four stages (Bates, Maechler, Bolker & Walker 2015, section 1.1), one
module each, so a reader can follow it from formula to result:

1. **Parse and build the design** (lme4's ``lFormula``):
   :func:`mixedtools.lmm.formula.parse_lmer_formula` splits the formula into its fixed part, random
   terms and offsets; :func:`mixedtools.lmm.design.build_design` evaluates them on the data
   (missing rows dropped and counted, rank and input checks) and returns an ``LmmDesign``.
2. **The deviance as a function of the variance parameters** (``mkLmerDevfun``):
   :func:`make_structure` below turns the design into a covariance structure, an
   implementation of :class:`mixedtools.lmm.engine.EngineProtocol` (the one protocol the rest
   of the engine talks to).  One grouping factor (with factors nested in it) becomes a
   :class:`mixedtools.lmm.reml.LMMStructure`, whose likelihood is evaluated block by block;
   crossed or partially crossed factors and several correlated terms become a
   :class:`mixedtools.lmm.pls.PLSStructure`, lme4's penalised least-squares system with a
   sparse/block Cholesky factor.  Both answer the same questions (profiled deviance at theta,
   log-likelihood, score and information at tau) with the same numbers.
3. **Optimise** (``optimizeLmer``): :func:`mixedtools.lmm.optimize.search` minimises the
   structure's profiled deviance over lme4's bounded relative Cholesky factors (theta), and
   :func:`mixedtools.lmm.optimize.newton_finish` polishes the optimum with Newton steps
   (:mod:`mixedtools.lmm.polish`) so the numbers agree with lme4's to about six digits.
   ``optimizer="statsmodels"`` lets statsmodels' ``MixedLM.fit`` find the starting point
   instead (a cross-check; then :func:`mixedtools.lmm.optimize.maximize` polishes).
4. **Package the result** (``mkMerMod``): :func:`mixedtools.lmm.results.make_result` builds
   the :class:`~mixedtools.lmm.results.LmerResult` and runs the boundary and convergence
   checks; everything a fitted model offers (``coef_table``, ``anova``, ``ranef``,
   ``predict``, ``icc``, ``r2``, ``summary``) lives in :mod:`mixedtools.lmm.results`.

:func:`lmer` below runs the four stages with one BLAS thread (small dense work is slower with
more threads).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from mixedtools._threads import single_blas_thread
from mixedtools._warnings import external_stacklevel
from mixedtools.lmm.design import LmmDesign, build_design
from mixedtools.lmm.formula import FormulaError, parse_lmer_formula
from mixedtools.lmm.optimize import fit_structure, maximize
from mixedtools.lmm.pls import PLSStructure
from mixedtools.lmm.reml import LMMStructure
from mixedtools.lmm.results import (
    DDF_METHODS,
    LmerConvergenceWarning,
    LmerResult,
    LmerSummary,
    LmerWarning,
    SingularFitWarning,
    make_result,
)

__all__ = [
    "lmer",
    "make_structure",
    "check_scale_x",
    "LmerResult",
    "LmerSummary",
    "LmerWarning",
    "SingularFitWarning",
    "LmerConvergenceWarning",
    "DDF_METHODS",
    "FormulaError",
]


def _fit_statsmodels(design: LmmDesign, reml: bool):
    """statsmodels' fit, with its warnings collected rather than shown."""
    model = design.statsmodels_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(reml=reml)
    return result, [str(w.message) for w in caught]


def _tau_from_statsmodels(structure: LMMStructure, result) -> np.ndarray:
    G = np.asarray(result.cov_re, dtype=float) if structure.k_re else None
    vcomp = np.asarray(result.vcomp, dtype=float) if len(structure.vc) else ()
    tau = structure.tau_from(G=G, vc_variances=vcomp, sigma2=float(result.scale))
    n_g = len(structure.g_entries)
    tau[n_g:-1] = np.maximum(tau[n_g:-1], 0.0)
    return tau


def _as_psd(structure, tau):
    """Project G onto the PSD cone when statsmodels returns a slightly indefinite one."""
    if structure.is_valid_tau(tau) or structure.k_re == 0:
        return tau
    G = np.zeros((structure.k_re, structure.k_re))
    for i, (a, b) in enumerate(structure.g_entries):
        G[a, b] = G[b, a] = tau[i]
    w, U = np.linalg.eigh(G)
    G = (U * np.clip(w, 0.0, None)) @ U.T
    n_g = len(structure.g_entries)
    return structure.tau_from(G=G, vc_variances=tau[n_g:-1], sigma2=tau[-1])


def make_structure(design: LmmDesign):
    """The model layout whose likelihood stage 3 maximises (lme4's ``mkLmerDevfun``).

    Parameters
    ----------
    design : LmmDesign
        From :func:`mixedtools.lmm.design.build_design`.

    Returns
    -------
    mixedtools.lmm.reml.LMMStructure or mixedtools.lmm.pls.PLSStructure
        The blockwise layout for one grouping factor (with nested factors), lme4's
        penalised least-squares layout otherwise.

    Examples
    --------
    >>> import mixedtools as mt
    >>> from mixedtools.lmm.design import build_design
    >>> from mixedtools.lmm.formula import parse_lmer_formula
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> design = build_design(parse_lmer_formula("reaction ~ days + (days | subject)"), sleep)
    >>> type(make_structure(design)).__name__
    'LMMStructure'
    """
    if design.general:
        return PLSStructure(design.y, design.X, design.pls_terms, fe_names=design.fe_names)
    return LMMStructure(
        y=design.y,
        X=design.X,
        groups=design.block_codes,
        Z=design.Z,
        vc=tuple(vc.matrix for vc in design.vcs),
        fe_names=tuple(design.fe_names),
        re_names=tuple(design.re_names),
        vc_names=tuple(f"{vc.group}|{vc.effect}" for vc in design.vcs),
        block_name=design.block_name or "group",
        block_levels=design.block_levels,
        vc_terms=tuple(design.vcs),
    )


def lmer(
    formula: str,
    data: pd.DataFrame,
    reml: bool = True,
    *,
    na_action: str = "drop",
    polish: bool = True,
    optimizer: str = "auto",
    weights=None,
    family=None,
) -> LmerResult:
    """Fit a linear mixed model written in lme4's formula notation.

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"Reaction ~ Days + (Days | Subject)"``.  Random terms: ``(1 | g)``,
        ``(x | g)``, ``(0 + x | g)``, ``(x || g)`` (uncorrelated), ``(1 | a/b)`` and
        ``(1 | a) + (1 | a:b)`` (nested), ``(1 | a) + (1 | b)`` (crossed).  The fixed part is
        read as R reads it (:mod:`mixedtools.rformula`): ``a * b``, ``I(x^2)``, ``log(y)``,
        ``poly(x, 2)``, ``scale(x)``, ``factor(x)``, ``offset(log(n))``; Python spellings
        (``np.log(x)``, ``I(x**2)``, ``C(f, Treatment('b'))``) work too.  Coefficients are named
        as R deparses the terms (``I(x^2)``, ``poly(x, 2)1``), levels as ``f[T.b]``.
        Terms come in R's order: the intercept, main effects, then interactions by degree,
        in formula order within each (``y ~ x * w + f``: x, w, f, x:w).
    data : DataFrame
    reml : bool, default True
        Restricted maximum likelihood (lme4's default); False for maximum likelihood.
    na_action : {"drop", "raise"}
        Rows with missing values in a model variable are dropped and counted (``n_dropped``), or
        an error is raised.
    polish : bool, default True
        Refine the optimum with Newton steps (recommended; needed to match lme4).
    optimizer : {"auto", "statsmodels", "direct"}
        Who finds the optimum before polishing: a direct bounded maximisation of the profiled
        likelihood over lme4's parameters ("direct", the default "auto"), or statsmodels'
        ``MixedLM.fit`` (a cross-check; one grouping factor with nested components only).
        Crossed factors and several correlated terms are fitted by lme4's penalised
        least-squares engine (:mod:`mixedtools.lmm.pls`).
    weights : str or array_like, optional
        lme4's prior weights: a column name or one positive value per row; row i has residual
        variance ``sigma^2 / w_i``.  The model is fitted to rows scaled by ``sqrt(w_i)``, so
        estimates, standard errors and Satterthwaite and Kenward-Roger df are those of lme4 and
        lmerTest; the log-likelihood adds ``sum(log w_i) / 2``, as lme4's does.
    family : None
        Only for a clear error: a binomial or Poisson response is fitted by
        :func:`mixedtools.glmer` (``"gaussian"`` is accepted and changes nothing).

    Returns
    -------
    LmerResult

    Warns
    -----
    SingularFitWarning
        When a variance is estimated as zero or a correlation as +-1.
    LmerConvergenceWarning
        When the optimiser did not reach the maximum.
    LmerWarning
        When fixed-effects columns are on very different scales (lme4's ``check.scaleX``
        rule, :func:`check_scale_x`), with the rescaling that helps.

    Examples
    --------
    >>> import mixedtools as mt
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", sleep)
    >>> fit.fixef.round(3)
    Intercept    251.405
    days          10.467
    Name: estimate, dtype: float64
    """
    if not isinstance(reml, bool):
        raise TypeError("reml must be True or False")
    if family is not None and str(family).lower() not in ("gaussian", "gaussian()"):
        raise TypeError(
            f"lmer fits a normal response; for family={family!r} use "
            "mt.glmer(formula, data, family=...) (lme4's lmer(family = ...) is deprecated for "
            "the same reason)"
        )
    with single_blas_thread():
        return _lmer(formula, data, reml, na_action, polish, optimizer, weights)


_SCALE_TOL = 1000.0  # lme4's check.scaleX tolerance


def check_scale_x(X, names) -> str | None:
    """lme4's ``checkScaleX``: the warning for fixed-effects columns on very different scales.

    As lme4, the columns that are not all 0 or 1 are compared: the design is badly scaled
    when the SD (n - 1 denominator) of one of them is above 1000 or below 1/1000, or when two
    SDs differ by more than a factor 1000.

    Parameters
    ----------
    X : ndarray (n, p)
        The fixed-effects design.
    names : sequence of str
        The columns' names.

    Returns
    -------
    str or None
        The warning's message, naming the columns and the fix, or None for a well-scaled design.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0.0, 1.0, 20)
    >>> X = np.column_stack([np.ones(20), x, 1e6 * x])
    >>> check_scale_x(X[:, :2], ["Intercept", "x"]) is None
    True
    >>> print(check_scale_x(X, ["Intercept", "x", "big"]))  # doctest: +ELLIPSIS
    Some predictor variables are on very different scales: consider rescaling (SD of big ...
    """
    X = np.asarray(X, dtype=float)
    if X.shape[0] < 2:
        return None
    continuous = [j for j in range(X.shape[1]) if not np.all(np.isin(X[:, j], (0.0, 1.0)))]
    if not continuous:
        return None
    with np.errstate(divide="ignore"):
        log_sd = np.log(np.std(X[:, continuous], axis=0, ddof=1))
    limit = np.log(_SCALE_TOL)
    spread = log_sd.max() - log_sd.min() if np.all(np.isfinite(log_sd)) else np.inf
    if np.all(np.abs(log_sd) <= limit) and spread <= limit:
        return None
    order = np.argsort(-np.abs(log_sd))
    listed = ", ".join(f"{names[continuous[i]]} {np.exp(log_sd[i]):.2g}" for i in order[:3])
    return (
        "Some predictor variables are on very different scales: consider rescaling (SD of "
        f"{listed}). Divide a badly scaled predictor by a power of 10 (e.g. I(x / 1e6)) or "
        "standardise it with scale(x) in the formula; lme4 warns here too. The fit is "
        "computed on rescaled random-effects columns, but standard errors and tests of "
        "coefficients with very different scales lose digits."
    )


def _prior_weights(data, weights):
    """One positive weight per row of ``data`` (a column name or values), as a Series."""
    if isinstance(weights, str):
        if weights not in data.columns:
            raise ValueError(f"weights: the data have no column {weights!r}")
        values = data[weights]
    else:
        if isinstance(weights, pd.Series) and not weights.index.equals(data.index):
            raise ValueError("weights: a Series must have the index of the data")
        values = weights
    values = np.asarray(values, dtype=float)
    if values.shape != (len(data),):
        raise ValueError(f"weights must have one value per row ({len(data)}), got {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("weights must be finite and positive (lme4's prior weights)")
    return pd.Series(values, index=data.index)


def _weighted(design: LmmDesign, w: np.ndarray) -> LmmDesign:
    """The design with every row scaled by sqrt(w): residual variance sigma^2 / w becomes
    sigma^2, so the unweighted engine fits the weighted model."""
    s = np.sqrt(w)
    return dataclasses.replace(
        design,
        y=design.y * s,
        X=design.X * s[:, None],
        Z=design.Z * s[:, None],
        vcs=[dataclasses.replace(vc, matrix=vc.matrix * s[:, None]) for vc in design.vcs],
        pls_terms=[dataclasses.replace(t, Z=t.Z * s[:, None]) for t in design.pls_terms],
    )


def _lmer(formula, data, reml, na_action, polish, optimizer, weights=None) -> LmerResult:
    # stage 1: parse the formula and build the design
    parsed = parse_lmer_formula(formula)
    if optimizer not in ("auto", "statsmodels", "direct"):
        raise ValueError(f"optimizer must be 'auto', 'statsmodels' or 'direct', got {optimizer!r}")
    if weights is not None:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        if optimizer == "statsmodels":
            raise ValueError("optimizer='statsmodels' does not take weights; use 'auto'")
        weights = _prior_weights(data, weights)
    design = build_design(parsed, data, na_action=na_action, blockwise=optimizer == "statsmodels")
    scale_message = check_scale_x(design.X, design.fe_names)
    if scale_message is not None:
        warnings.warn(scale_message, LmerWarning, stacklevel=external_stacklevel())
    # stage 2: the model whose deviance is a function of the variance parameters
    if weights is not None:
        design.weights = weights.loc[design.row_index].to_numpy()
        structure = make_structure(_weighted(design, design.weights))
    else:
        structure = make_structure(design)
    # stage 3: optimise
    sm_result, sm_warnings = None, []
    if optimizer == "statsmodels":
        if design.general:
            raise ValueError(
                "optimizer='statsmodels' fits one grouping factor with nested factors only; "
                "this model has crossed factors or several correlated terms "
                "(use optimizer='auto' or 'direct')"
            )
        sm_result, sm_warnings = _fit_statsmodels(design, reml)
        tau = _as_psd(structure, _tau_from_statsmodels(structure, sm_result))
        if polish:
            tau = maximize(structure, tau, reml=reml)
    else:
        tau = fit_structure(structure, reml, polish=polish)
    # stage 4: package the result (boundary and convergence checks included)
    result = make_result(formula, design, structure, tau, reml, sm_result, sm_warnings)
    if scale_message is not None:
        result._warnings.insert(0, scale_message)
    return result
