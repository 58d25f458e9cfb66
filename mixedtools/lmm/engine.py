"""The one protocol every covariance structure of the linear mixed model answers.

A *structure* holds the data of a linear mixed model (``y``, ``X`` and the random-effects
layout) and answers every question the rest of the engine asks about the likelihood.  The
optimiser (:mod:`mixedtools.lmm.optimize`), the Newton polish (:mod:`mixedtools.lmm.polish`),
the result (:mod:`mixedtools.lmm.results`), the df methods (:mod:`mixedtools.lmm.ddf`), the
bootstrap (:mod:`mixedtools.lmm.bootstrap`) and the simulations (:mod:`mixedtools.sim`) talk to
:class:`EngineProtocol` only; two structures implement it:

* :class:`mixedtools.lmm.reml.LMMStructure` -- one grouping factor (with variance components
  nested in it), evaluated block by block;
* :class:`mixedtools.lmm.pls.PLSStructure` -- any number of random-effects terms, lme4's
  penalised least squares with a sparse/block Cholesky factor.

What a structure answers, in the order a fit asks:

1. **Two parameterisations.**  ``tau`` are the variance parameters on the data scale: the free
   lower-triangle entries of each term's covariance matrix ``G`` row by row, then ``sigma^2``
   last (``V`` is linear in ``tau``, which gives the score and information closed forms).
   ``theta`` are lme4's parameters: the relative Cholesky factors of the ``G / sigma^2``, row by
   row, with the diagonal bounded below by 0 (``theta_bounds``), ``sigma^2`` profiled out.
   ``theta_from_tau`` / ``tau_from_theta`` convert, ``theta_start`` is lme4's start (relative
   covariance I), ``n_tau`` / ``n_theta`` count them and ``tau_names`` label them.
2. **The criterion the optimiser minimises.**  ``deviance(theta, reml)`` is lme4's profiled
   deviance (REML criterion); with ``has_gradient`` the structure also returns its analytic
   gradient (``gradient=True``), otherwise the optimiser differences it.  ``profiled_sigma2``
   is the ``sigma^2`` that maximises the likelihood at ``theta``.
3. **What the Newton polish and the df methods read.**  ``quantities(tau, reml)`` returns the
   :class:`LMMQuantities` (log-likelihood, score, expected and observed information, GLS beta,
   ``Phi`` and its derivatives); ``log_likelihood(tau, reml)`` the log-likelihood alone
   (``-inf`` outside the parameter space); ``is_valid_tau`` whether ``tau`` lies in it;
   ``boundary_mask`` which entries sit at a zero variance; ``theta_blocks`` where each
   covariance block's entries lie in ``tau`` (None when the optimality gap cannot be judged in
   lme4's parameters); ``nesting_levels`` and ``hlm_layout`` the grouping factors that nlme's
   and HLM's df rules count.
4. **What a result reports.**  ``random_terms(tau)`` the covariance matrix of each random
   term (:class:`RandomTermCovariance`), ``conditional_modes(tau, beta)`` the conditional modes
   and variances of the random effects (:class:`ConditionalModes`), ``variance_parts(tau)``
   each grouping factor's variance averaged over the rows.
5. **What the bootstrap needs.**  ``simulate(beta, tau, rng)`` draws a response from the model
   and ``with_response(y)`` returns the same structure with another response.
6. **What the optimiser needs for badly scaled effects.**  ``with_unit_effects()`` returns the
   same model with every random-effects column scaled to root mean square 1, and
   ``unit_effect_factor()`` the factor that maps its ``tau`` back (the optimum does not depend
   on the scale of a column, but the search's tolerances and bounds in theta do).

Examples
--------
>>> import mixedtools as mt
>>> from mixedtools.lmm.engine import EngineProtocol
>>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
>>> isinstance(fit.structure, EngineProtocol)
True
>>> [term.group for term in fit.structure.random_terms(fit.tau)]
['subject']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = [
    "ConditionalModes",
    "EngineProtocol",
    "LMMQuantities",
    "RandomTermCovariance",
    "varcorr_rows",
]


@dataclass(frozen=True)
class LMMQuantities:
    """Likelihood quantities of a linear mixed model at one value of tau.

    Attributes
    ----------
    tau : ndarray (n_tau,)
    reml : bool
    beta : ndarray (p,)
        Generalized least squares estimate given tau.
    Phi : ndarray (p, p)
        ``(X' V^-1 X)^-1``.
    loglik : float
        REML or ML log-likelihood, on lme4's scale (``logLik()``).
    score : ndarray (n_tau,)
    info_expected, info_observed : ndarray (n_tau, n_tau)
        Expected and observed information of the REML (or ML) log-likelihood.
    M : ndarray (n_tau, p, p)
        ``X' V^-1 V_k V^-1 X`` (Kenward-Roger's ``P_k`` is ``-M_k``).
    Q : ndarray (n_tau, n_tau, p, p)
        ``X' V^-1 V_k V^-1 V_l V^-1 X``.
    """

    tau: np.ndarray
    reml: bool
    beta: np.ndarray
    Phi: np.ndarray
    loglik: float
    score: np.ndarray
    info_expected: np.ndarray
    info_observed: np.ndarray
    M: np.ndarray
    Q: np.ndarray

    @property
    def J(self) -> np.ndarray:
        """``dPhi/dtau_k = Phi M_k Phi`` stacked, shape (n_tau, p, p)."""
        return np.einsum("ij,kjl,lm->kim", self.Phi, self.M, self.Phi)


@dataclass(frozen=True)
class RandomTermCovariance:
    """The covariance matrix of one random term, as lme4's ``VarCorr`` lists it.

    Attributes
    ----------
    group : str
        Name of the grouping factor.
    effect_names : tuple of str
        The k effects of the term (``"Intercept"``, a slope ...).
    G : ndarray (k, k)
        Covariance matrix of the effects, on the data scale.
    free : ndarray of bool (k, k)
        Which covariances are estimated (False: fixed at 0, as with ``||``).
    n_levels : int
        Number of levels of the grouping factor.
    """

    group: str
    effect_names: tuple
    G: np.ndarray
    free: np.ndarray
    n_levels: int


@dataclass(frozen=True)
class ConditionalModes:
    """Conditional modes of one random term and their conditional covariances.

    Attributes
    ----------
    group : str
    effect_names : tuple of str
    levels : ndarray (n_levels,)
        Labels of the levels, in the order of the rows below.
    modes : ndarray (n_levels, k)
    condcov : ndarray (n_levels, k, k)
        ``Var(b | y)`` per level (lme4's ``condVar``).
    """

    group: str
    effect_names: tuple
    levels: np.ndarray
    modes: np.ndarray
    condcov: np.ndarray


@runtime_checkable
class EngineProtocol(Protocol):
    """What a covariance structure answers (see the module docstring for the stages)."""

    y: np.ndarray
    X: np.ndarray
    fe_names: tuple

    # -- sizes and names
    @property
    def n_obs(self) -> int: ...
    @property
    def n_fixed(self) -> int: ...
    @property
    def n_tau(self) -> int: ...
    @property
    def n_theta(self) -> int: ...
    @property
    def n_random_effects(self) -> int: ...
    @property
    def tau_names(self) -> tuple: ...
    @property
    def variance_index(self) -> np.ndarray: ...
    @property
    def has_gradient(self) -> bool: ...

    # -- theta <-> tau
    def theta_bounds(self) -> list: ...
    def theta_start(self) -> np.ndarray: ...
    def theta_from_tau(self, tau) -> np.ndarray: ...
    def tau_from_theta(self, theta, sigma2) -> np.ndarray: ...

    # -- the optimiser's criterion
    def deviance(self, theta, reml=True, gradient=False): ...
    def profiled_sigma2(self, theta, reml=True) -> float: ...

    # -- likelihood quantities
    def quantities(self, tau, reml=True) -> LMMQuantities: ...
    def log_likelihood(self, tau, reml=True) -> float: ...
    def is_valid_tau(self, tau) -> bool: ...
    def boundary_mask(self, tau, rel_tol=1e-8) -> np.ndarray: ...
    def theta_blocks(self) -> list | None: ...

    # -- df methods
    def nesting_levels(self, rule="nlme's containment df") -> list: ...
    def hlm_layout(self) -> tuple: ...

    # -- the result
    def random_terms(self, tau) -> list: ...
    def conditional_modes(self, tau, beta) -> list: ...
    def variance_parts(self, tau) -> dict: ...

    # -- the bootstrap
    def simulate(self, beta, tau, rng) -> np.ndarray: ...
    def with_response(self, y) -> EngineProtocol: ...
    def unit_effect_factor(self) -> np.ndarray: ...
    def with_unit_effects(self) -> EngineProtocol: ...


def varcorr_rows(terms, sigma2=None) -> list[tuple]:
    """Rows ``(group, var1, var2, vcov, sdcor)`` of lme4's ``as.data.frame(VarCorr(fit))``.

    Per term its variances (SD in ``sdcor``), then its estimated covariances (correlation in
    ``sdcor``), and the residual last (none when ``sigma2`` is None, as for a model without a
    residual variance).

    Examples
    --------
    >>> import numpy as np
    >>> term = RandomTermCovariance("g", ("Intercept", "x"), np.array([[4.0, 1.0], [1.0, 1.0]]),
    ...                             np.ones((2, 2), bool), 10)
    >>> [round(float(row[-1]), 3) for row in varcorr_rows([term], 9.0)]
    [2.0, 1.0, 0.5, 3.0]
    """
    rows = []
    for term in terms:
        G, names = term.G, term.effect_names
        for a, name in enumerate(names):
            rows.append((term.group, name, "", G[a, a], math.sqrt(max(G[a, a], 0.0))))
        for b in range(len(names)):
            for a in range(b + 1, len(names)):
                if not term.free[a, b]:
                    continue
                denom = math.sqrt(G[a, a] * G[b, b])
                corr = G[a, b] / denom if denom > 0 else float("nan")
                rows.append((term.group, names[b], names[a], G[a, b], corr))
    if sigma2 is not None:
        rows.append(("Residual", "", "", sigma2, math.sqrt(sigma2)))
    return rows
