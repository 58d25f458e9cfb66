"""A bounded, profiled minimisation of lme4's deviance, for any structure of the engine.

statsmodels optimises an unconstrained parameterisation and can stall near the boundary of the
parameter space (a variance near zero).  Here lme4's profiled deviance (sigma^2 profiled out) is
minimised over lme4's parameters theta: the relative Cholesky factors of the random-effects
covariances, with their diagonal bounded below by zero, so variances can reach exactly zero.
The structure (:class:`mixedtools.lmm.engine.EngineProtocol`) supplies the deviance, the
bounds, lme4's start and the conversions between theta and the data-scale ``tau``; the search
is the same for every structure:

* L-BFGS-B, with the analytic gradient when the structure has one (``has_gradient``), with
  finite differences otherwise (then a looser ``ftol``: the differences are not more accurate);
* for costly models without a gradient (many parameters and random effects) a model-based
  search (COBYQA, as lme4's bobyqa), which needs fewer evaluations;
* an entry that stopped at its bound of 0 is restarted once from a small positive value;
* an optimum on the boundary of a covariance block (a variance 0 or a correlation +-1) is
  searched again from the block's other faces (:func:`face_starts`: correlations +-0.9, a zero
  variance restored), and the best optimum is kept: a point on another face is often better and
  no gradient path leads there;
* a fit whose Newton finish still finds likelihood to gain is searched again to tight
  tolerances (a flat ridge: a tiny variance with a correlation near +-1);
* random-effects columns far from unit scale (a predictor in units of 10^6) are fitted at unit
  scale and the optimum mapped back (:func:`fit_structure`).

:func:`newton_finish` and :func:`maximize` then polish the optimum with Newton steps
(:mod:`mixedtools.lmm.polish`).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from mixedtools.lmm.polish import newton_polish, optimality_gap

__all__ = [
    "bounded_refit",
    "face_starts",
    "fit_structure",
    "maximize",
    "neutral_start",
    "newton_finish",
    "search",
]

_ZERO_SD = 1e-4  # relative sd treated as having stopped at the bound
_RESTART_SD = 0.1  # where to restart such an entry (relative to sigma)
_MODEL_BASED_MIN_Q = 2_000  # random effects from which the model-based search is used
_FINAL_TR_RADIUS = 1e-3  # where the model-based search hands over to the Newton finish
_BADLY_SCALED = 100.0  # a random-effects column scale beyond which theta is rescaled
_FACE_CORRELATION = 0.9  # correlation of the starts on the other faces of the boundary


def search(
    structure,
    reml=True,
    starts=None,
    maxiter=2000,
    model_based=None,
    final_radius=_FINAL_TR_RADIUS,
    tight=False,
):
    """Minimise the structure's profiled deviance over theta from each start; keep the best.

    Parameters
    ----------
    structure : mixedtools.lmm.engine.EngineProtocol
    reml : bool
    starts : sequence of ndarray, optional
        Starting values of theta, tried in turn; default lme4's start.
    maxiter : int
        Iteration limit per start.
    model_based : bool, optional
        COBYQA rather than L-BFGS-B; by default for structures without a gradient with at
        least four parameters and more than 2,000 random effects.
    final_radius : float
        Trust-region radius at which the model-based search stops.
    tight : bool
        Stop L-BFGS-B only when the deviance stalls to rounding (``ftol`` 1e-15, ``gtol``
        1e-10): for a restart after a search that stopped short on a flat ridge, e.g. a tiny
        variance with a correlation near +-1.

    Returns
    -------
    tau : ndarray
        Data-scale variance parameters at the optimum.
    success : bool
        The optimiser converged to a finite optimum.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(8), 5)
    >>> y = rng.normal(size=40) + rng.normal(size=8)[g]
    >>> s = LMMStructure(y=y, X=np.ones((40, 1)), groups=g, Z=np.ones((40, 1)))
    >>> tau, success = search(s)
    >>> tau.shape, success
    ((2,), True)
    """
    bounds = structure.theta_bounds()
    gradient = structure.has_gradient
    if model_based is None:
        model_based = (
            not gradient
            and structure.n_theta >= 4
            and structure.n_random_effects > _MODEL_BASED_MIN_Q
        )

    def deviance(theta):
        return structure.deviance(theta, reml, gradient=gradient)

    def minimise(start):
        if model_based:
            options = {"maxfev": maxiter * 10, "final_tr_radius": final_radius}
            return optimize.minimize(
                structure.deviance,
                start,
                args=(reml,),
                method="COBYQA",
                bounds=bounds,
                options=options,
            )
        options = {"maxiter": maxiter} if gradient else {"maxiter": maxiter, "ftol": 1e-7}
        if tight:
            options.update(ftol=1e-15, gtol=1e-10, maxiter=max(maxiter, 5000))
        return optimize.minimize(
            deviance, start, jac=gradient, method="L-BFGS-B", bounds=bounds, options=options
        )

    best = None
    for start in starts if starts is not None else [structure.theta_start()]:
        res = minimise(start)
        if best is None or res.fun < best.fun:
            best = res
    # The deviance depends on a diagonal entry of a factor only through its square, so 0 is
    # always a stationary point in that coordinate and a gradient method that reaches it stays
    # there, even when moving off would lower the deviance.  Restart once from a small positive
    # value and keep the better optimum.
    lower_bounded = np.array([low == 0.0 for low, _ in bounds])
    at_zero = lower_bounded & (best.x < _ZERO_SD)
    if at_zero.any():
        res = minimise(np.where(at_zero, _RESTART_SD, best.x))
        if res.fun < best.fun:
            best = res
        # A fit on one face of the boundary (a variance 0, a correlation +-1) can be beaten by
        # a point on another face that no gradient path from here reaches: search again from
        # each of a few cheap alternatives (face_starts) and keep the best optimum.
        for start in face_starts(structure, best.x):
            res = minimise(start)
            if res.fun < best.fun:
                best = res
    sigma2 = structure.profiled_sigma2(best.x, reml)
    success = bool(best.success) and bool(np.isfinite(best.fun)) and bool(best.fun < 1e300)
    return structure.tau_from_theta(best.x, sigma2), success


def face_starts(structure, theta) -> list:
    """Starts on the other faces of the boundary, for an optimum ``theta`` that lies on one.

    In a covariance block of k >= 2 effects whose relative Cholesky factor has a diagonal entry
    at 0 (a variance 0, or a correlation of +-1), the variances can sit at the boundary in
    several ways: the intercept variance at 0 with a free slope variance, or both variances
    positive with a correlation of +1, or of -1.  A search that reaches one face stays there
    (the deviance depends on a diagonal entry only through its square, so 0 is stationary in
    it), even when another face is better.  For each such block this returns starts with the
    block's standard deviations kept (a zero one replaced by the mean of the others) and the
    correlations set to ``+-0.9`` in each sign pattern ``s`` (``R = 0.1 I + 0.9 s s'``, with
    ``s_1 = +1``: 2^(k-1) starts, at most 8), the other blocks as in ``theta``.

    Parameters
    ----------
    structure : mixedtools.lmm.engine.EngineProtocol
    theta : ndarray
        lme4's parameters at the optimum found.

    Returns
    -------
    list of ndarray
        The starts (empty when no block of two or more effects is on the boundary, or when the
        structure's covariance blocks have entries fixed at 0).

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(8), 5)
    >>> x = rng.normal(size=40)
    >>> X = np.column_stack([np.ones(40), x])
    >>> s = LMMStructure(y=rng.normal(size=40), X=X, groups=g, Z=X)
    >>> [start.round(3).tolist() for start in face_starts(s, np.array([0.0, 0.0, 0.5]))]
    [[0.5, 0.45, 0.218], [0.5, -0.45, 0.218]]
    >>> face_starts(s, np.array([0.8, 0.1, 0.5]))
    []
    """
    blocks = structure.theta_blocks()
    if blocks is None:
        return []
    theta = np.asarray(theta, dtype=float)
    starts, pos = [], 0
    for k, _ in blocks:
        r = k * (k + 1) // 2
        rows, cols = np.tril_indices(k)
        L = np.zeros((k, k))
        L[rows, cols] = theta[pos : pos + r]
        if k >= 2 and np.any(np.diag(L) < _ZERO_SD):
            sd = np.sqrt(np.sum(L**2, axis=1))
            positive = sd[sd >= _ZERO_SD]
            sd = np.where(sd < _ZERO_SD, positive.mean() if positive.size else _RESTART_SD, sd)
            n_patterns = 2 ** min(k - 1, 3)
            for pattern in range(n_patterns):
                signs = np.ones(k)
                for bit in range(min(k - 1, 3)):
                    if pattern >> bit & 1:
                        signs[bit + 1] = -1.0
                R = (1.0 - _FACE_CORRELATION) * np.eye(k)
                R += _FACE_CORRELATION * np.outer(signs, signs)
                factor = np.linalg.cholesky(sd[:, None] * R * sd[None, :])
                start = theta.copy()
                start[pos : pos + r] = factor[rows, cols]
                starts.append(start)
        pos += r
    return starts


def _unit_factor(structure):
    """``structure.unit_effect_factor()`` when a random-effects column's root mean square is
    outside 1/100 to 100 (the fit is then done at unit scale), else None."""
    factor = structure.unit_effect_factor()
    if np.max(np.abs(np.log(factor))) > 2.0 * np.log(_BADLY_SCALED):
        return factor
    return None


def neutral_start(structure) -> np.ndarray:
    """lme4's kind of start: relative covariance I, sigma^2 the OLS residual variance."""
    X, y = structure.X, structure.y
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    s2 = max(float(np.var(y - X @ beta)), 1e-12 * max(float(np.var(y)), 1.0))
    return structure.tau_from_theta(structure.theta_start(), s2)


def bounded_refit(
    structure, tau0, reml=True, try_neutral_start=True, maxiter=2000, return_success=False
):
    """Maximise the (RE)ML log-likelihood from `tau0` with variances bounded below by zero.

    sigma^2 is profiled out, so the search runs over the relative covariance parameters only,
    as in lme4 (:func:`search`).

    Parameters
    ----------
    structure : mixedtools.lmm.engine.EngineProtocol
    tau0 : ndarray
        Starting value (data scale).
    reml : bool
    try_neutral_start : bool
        Also start from lme4's neutral point and keep the better optimum.
    maxiter : int
        Iteration limit of the search (per start).
    return_success : bool
        Also return whether the optimiser reported convergence.

    Returns
    -------
    tau : ndarray
        tau at the maximum found.
    success : bool
        Only with ``return_success``: the optimiser converged to a finite optimum.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure
    >>> from mixedtools.lmm.optimize import bounded_refit, neutral_start
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(8), 5)
    >>> y = rng.normal(size=40) + rng.normal(size=8)[g]
    >>> s = LMMStructure(y=y, X=np.ones((40, 1)), groups=g, Z=np.ones((40, 1)))
    >>> tau = bounded_refit(s, neutral_start(s), try_neutral_start=False)
    >>> tau.shape, bool(tau[-1] > 0)
    ((2,), True)
    """
    factor = _unit_factor(structure)
    if factor is not None:  # a badly scaled column: refit at unit scale (see fit_structure)
        tau, success = bounded_refit(
            structure.with_unit_effects(),
            np.asarray(tau0, float) / factor,
            reml,
            try_neutral_start,
            maxiter,
            return_success=True,
        )
        return (factor * tau, success) if return_success else factor * tau
    starts = [structure.theta_from_tau(np.asarray(tau0, float))]
    if try_neutral_start:
        starts.append(structure.theta_start())
    tau, success = search(structure, reml, starts, maxiter=maxiter)
    return (tau, success) if return_success else tau


def maximize(structure, tau, reml=True, tol=1e-6) -> np.ndarray:
    """Finish a fit: Newton-polish ``tau``; if that stops short, search again and polish again.

    The optimiser that produced ``tau`` (statsmodels, or :func:`search`) can stop short,
    typically next to a zero variance. When the optimality gap after polishing is still above
    ``tol``, the deviance is minimised again from ``tau`` and from lme4's start (model-based
    when the structure has no gradient: it copes better with flat ridges next to the bounds),
    polished, and the better of the two is kept.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.reml import LMMStructure, newton_decrement, reml_quantities
    >>> from mixedtools.lmm.optimize import maximize, neutral_start
    >>> rng = np.random.default_rng(2)
    >>> g = np.repeat(np.arange(10), 4)
    >>> y = rng.normal(size=40) + rng.normal(size=10)[g]
    >>> s = LMMStructure(y=y, X=np.ones((40, 1)), groups=g, Z=np.ones((40, 1)))
    >>> tau = maximize(s, neutral_start(s))
    >>> bool(newton_decrement(s, reml_quantities(s, tau)) < 1e-6)
    True
    """
    factor = _unit_factor(structure)
    if factor is not None:  # a badly scaled column: finish at unit scale (see fit_structure)
        unit = structure.with_unit_effects()
        return factor * maximize(unit, np.asarray(tau, float) / factor, reml, tol)
    tau = newton_polish(structure, tau, reml=reml, steps=4)
    quantities = structure.quantities(tau, reml)
    # judged in lme4's parameters: at a correlation of +-1 the score of tau need not vanish
    if 2.0 * optimality_gap(structure, quantities) < tol:
        return tau
    starts = [structure.theta_from_tau(tau), structure.theta_start()]
    # at a bound (where the Newton steps hold the bounded entries) the search does the last
    # digits itself: a model-based search is asked for a small final radius
    restart, _ = search(
        structure,
        reml,
        starts,
        model_based=not structure.has_gradient,
        final_radius=1e-6,
        tight=True,
    )
    refit = newton_polish(structure, restart, reml, 4)
    if structure.log_likelihood(refit, reml) > quantities.loglik:
        return refit
    return tau


def newton_finish(structure, tau, reml=True, steps=3) -> np.ndarray:
    """Finish a search with Newton steps until the optimality gap is negligible.

    Each step costs one evaluation of the information; if the steps do not get there, the full
    :func:`maximize` (with a restarted search) takes over.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools.lmm.pls import PLSStructure, PLSTerm, fit_pls
    >>> from mixedtools.lmm.reml import optimality_gap, reml_quantities
    >>> rng = np.random.default_rng(3)
    >>> a, b = np.repeat(np.arange(8), 6), np.tile(np.arange(6), 8)
    >>> y = rng.normal(size=8)[a] + rng.normal(size=6)[b] + rng.normal(size=48)
    >>> terms = [PLSTerm("a", a, np.arange(8), np.ones((48, 1)), ("Intercept",)),
    ...          PLSTerm("b", b, np.arange(6), np.ones((48, 1)), ("Intercept",))]
    >>> s = PLSStructure(y, np.ones((48, 1)), terms)
    >>> tau = newton_finish(s, fit_pls(s)[0])
    >>> bool(optimality_gap(s, reml_quantities(s, tau)) < 0.5e-6)
    True
    """
    tau = np.array(tau, dtype=float)
    tau[structure.boundary_mask(tau)] = 0.0  # a variance at its bound is 0, as lme4 reports it
    for _ in range(steps):
        gap = optimality_gap(structure, structure.quantities(tau, reml))
        if gap < 1e-14:  # the error in tau goes as the square root of the gap
            return tau
        new = newton_polish(structure, tau, reml=reml, steps=1)
        if np.array_equal(new, tau):
            break
        tau = new
    if optimality_gap(structure, structure.quantities(tau, reml)) < 0.5e-6:
        return tau
    return maximize(structure, tau, reml=reml)


def fit_structure(structure, reml=True, polish=True) -> np.ndarray:
    """Stage 3 of a fit: the (RE)ML optimum of ``structure``, as :func:`mixedtools.lmer` finds it.

    lme4's deviance is minimised from lme4's start (:func:`search`) and, with ``polish``,
    finished by Newton steps (:func:`newton_finish`).  When a random-effects column's root
    mean square is outside 1/100 to 100 (a badly scaled predictor), the model with every such
    column scaled to 1 is fitted instead (``structure.with_unit_effects()``) and its optimum
    mapped back.

    Examples
    --------
    >>> import mixedtools as mt
    >>> from mixedtools.lmm.optimize import fit_structure
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> bool(abs(fit_structure(fit.structure, reml=True) - fit.tau).max() < 1e-6 * fit.tau.max())
    True
    """
    factor = _unit_factor(structure)
    if factor is not None:
        # theta's bounds and tolerances are in the columns' units: a slope on a predictor in
        # units of 10^-6 has a relative sd near 10^-6, which the search takes for 0.  The
        # optimum does not depend on the columns' scale, so search the model with every column
        # at root mean square 1 and map its optimum back.
        return factor * fit_structure(structure.with_unit_effects(), reml, polish)
    tau, _ = search(structure, reml, [structure.theta_start()])
    return newton_finish(structure, tau, reml) if polish else tau
