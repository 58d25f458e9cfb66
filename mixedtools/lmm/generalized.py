"""``mt.glmer``: lme4's generalised linear mixed models for binary, binomial and count outcomes.

The stages follow lme4's ``glmer``:

1. the formula is read as R reads it (:mod:`mixedtools.rformula`) and the response checked
   against the family (0/1, a two-level factor, ``cbind(successes, failures)`` or proportions
   with ``weights=`` for the binomial; counts for the Poisson);
2. the random-effects layout is lme4's sparse one (:class:`mixedtools.lmm.pls.PLSStructure`), so
   every structure ``mt.lmer`` fits (crossed, nested, correlated slopes, ``||``) works here;
3. the deviance is the Laplace approximation (``nagq=1``) or adaptive Gauss-Hermite quadrature
   (``nagq > 1``, one scalar random term) at the conditional modes found by penalised IRLS
   (:mod:`mixedtools.lmm.pirls`).  As lme4, the variance parameters are first optimised with
   the fixed effects inside PIRLS (lme4's ``nAGQ = 0`` stage); then the fixed effects and the
   variance parameters together, here by BFGS steps from the curvature PIRLS gives for the
   fixed effects, finished by Newton steps on a central-difference Hessian (the Hessian lme4
   computes for its standard errors, ``deriv12``), with a bounded L-BFGS-B search where
   Newton steps do not decrease the deviance;
4. the result (:class:`mixedtools.lmm.glmer_results.GlmerResult`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize

from mixedtools._threads import single_blas_thread
from mixedtools._warnings import external_stacklevel
from mixedtools.lmm._names import unquote
from mixedtools.lmm.design import build_design
from mixedtools.lmm.families import family as make_family
from mixedtools.lmm.fit import LmerWarning, check_scale_x
from mixedtools.lmm.formula import FormulaError, parse_lmer_formula
from mixedtools.lmm.glmer_results import GlmerResult
from mixedtools.lmm.pirls import GLMMStructure
from mixedtools.lmm.pls import PLSStructure, _column_scales

__all__ = ["glmer"]

_DELTA = 1e-4  # lme4's deriv12 step
_ZERO_SD = 1e-4  # a relative sd treated as stopped at its bound
_BADLY_SCALED = 100.0  # a fixed-effects column scale beyond which beta is searched rescaled
_HESSIAN_VCOV_MAX_N = 10_000  # lme4 computes the Hessian (calc.derivs) below this many rows


def glmer(
    formula,
    data,
    family="binomial",
    *,
    link=None,
    nagq=1,
    weights=None,
    na_action="drop",
):
    """Fit a generalised linear mixed model by maximum likelihood, as ``lme4::glmer``.

    Parameters
    ----------
    formula : str
        lme4's formula, e.g. ``"cbind(incidence, size - incidence) ~ period + (1 | herd)"``.
        The response may be 0/1 numbers, booleans, a two-level text or categorical column (the
        second level is success, as in R), ``cbind(successes, failures)``, or proportions with
        ``weights=`` (the numbers of trials); for the Poisson, counts, with
        ``offset(log(exposure))`` for rates.
    data : DataFrame
    family : {"binomial", "poisson"}, Family or statsmodels family
        Also in R's spelling, ``'binomial(link = "probit")'``, or statsmodels'
        ``sm.families.Binomial()`` / ``Poisson()`` with their links.
    link : str, optional
        ``"logit"`` (default), ``"probit"`` or ``"cloglog"`` for the binomial; ``"log"``.
    nagq : int
        1 for the Laplace approximation (any random-effects structure); more for adaptive
        Gauss-Hermite quadrature with that many nodes (one scalar random-effects term only, as
        lme4).
    weights : str or array_like, optional
        A column name or one value per row: the numbers of trials of a binomial proportion, or
        prior (case) weights. Rows with a missing weight are dropped with the other incomplete
        rows, as in R; a weight of 0 leaves its row out of the likelihood.
    na_action : {"drop", "raise"}

    Returns
    -------
    GlmerResult

    Examples
    --------
    >>> import mixedtools as mt
    >>> cbpp = mt.datasets.load("cbpp").astype({"period": "category"})
    >>> fit = mt.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp)
    >>> round(fit.loglik, 3), fit.fixef.round(3).tolist()
    (-92.026, [-1.399, -0.992, -1.129, -1.58])
    """
    fam = make_family(family, link)
    if isinstance(nagq, bool) or not isinstance(nagq, (int, np.integer)) or nagq < 1:
        raise ValueError(f"nagq must be a whole number of at least 1, got {nagq!r}")
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    parsed = parse_lmer_formula(formula)
    data, weight_values = _with_weights(data, weights)
    data, weight_values, n_missing_weights = _drop_missing_weights(data, weight_values, na_action)
    data = _binary_response(data, parsed.response, fam)
    design = build_design(parsed, data, na_action=na_action, generalized=True)
    design.n_dropped += n_missing_weights
    y, trials = _response(design, fam, weight_values)
    scale_message = check_scale_x(design.X, design.fe_names)  # lme4's glFormula checks too
    if scale_message is not None:
        warnings.warn(scale_message, LmerWarning, stacklevel=external_stacklevel())
    if nagq > 1:
        terms = design.pls_terms
        if len(terms) != 1 or terms[0].k != 1:
            raise ValueError(
                "nagq > 1 (adaptive Gauss-Hermite quadrature) needs a single random-effects term "
                "with one effect, such as (1 | group), as in lme4; use nagq=1 (Laplace) for "
                f"{', '.join(unquote(t.text) for t in parsed.random)}"
            )
    layout = PLSStructure(np.zeros(len(y)), design.X, design.pls_terms, fe_names=design.fe_names)
    structure = GLMMStructure(layout, y, trials, design.offset, fam)
    with single_blas_thread(), np.errstate(over="ignore", under="ignore"):
        fit = _optimise(structure, nagq)
    used_weights = None if weight_values is None else weight_values.loc[design.row_index]
    result = GlmerResult(formula, design, structure, fit, nagq, used_weights)
    result._refit = lambda other, rows, w: glmer(other, rows, fam, nagq=nagq, weights=w)
    return result


# ---------------------------------------------------------------------- the response
def _with_weights(data, weights):
    if weights is None:
        return data, None
    if isinstance(weights, str):
        if weights not in data.columns:
            raise ValueError(f"weights: the data have no column {weights!r}")
        values = data[weights]
    else:
        values = weights
        if isinstance(values, pd.Series) and not values.index.equals(data.index):
            raise ValueError("weights: a Series must have the index of the data")
    values = np.asarray(values, dtype=float)
    if values.shape != (len(data),):
        raise ValueError(f"weights must have one value per row ({len(data)}), got {values.shape}")
    if np.any(values < 0) or np.any(np.isinf(values)):
        raise ValueError("weights must be finite and non-negative")
    return data, pd.Series(values, index=data.index)


def _drop_missing_weights(data, weight_values, na_action):
    """Rows with a missing weight are dropped as R's model frame drops them (or refused with
    ``na_action="raise"``); returns the data, the weights and the number dropped."""
    if weight_values is None or not weight_values.isna().any():
        return data, weight_values, 0
    missing = weight_values.isna().to_numpy()
    if na_action == "raise":
        raise ValueError(
            f"{int(missing.sum())} of {len(data)} weights are missing "
            "(use na_action='drop' to fit without those rows)"
        )
    return data.loc[~missing], weight_values.loc[~missing], int(missing.sum())


def _binary_response(data, response, fam):
    """A text, categorical or boolean response as 0/1: success is every level but the first."""
    column = unquote(response)
    if column not in data.columns:
        return data
    values = data[column]
    if pd.api.types.is_bool_dtype(values):
        out = data.copy()
        out[column] = values.astype(float)
        return out
    if pd.api.types.is_numeric_dtype(values):
        return data
    if fam.name != "binomial":
        raise ValueError(f"the response {column!r} is not numeric: the Poisson needs counts")
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    levels = list(cat.cat.categories)
    if len(levels) != 2:
        raise ValueError(
            f"the response {column!r} has {len(levels)} levels ({', '.join(map(str, levels))}); "
            "a binomial response needs two (the second is success); recode it to 0/1"
        )
    out = data.copy()
    out[column] = np.where(cat.isna(), np.nan, (cat == levels[1]).astype(float))
    return out


def _response(design, fam, weight_values):
    """``(y, prior weights)`` as R's family ``initialize`` makes them, with the checks."""
    resp = design.response.to_numpy(dtype=float)
    name = ", ".join(map(str, design.response.columns))
    w = np.ones(len(resp)) if weight_values is None else weight_values.loc[design.row_index]
    w = np.asarray(w, dtype=float)
    if resp.shape[1] == 2:
        if fam.name != "binomial":
            raise FormulaError("cbind(successes, failures) is a binomial response")
        if np.any(resp < 0) or np.any(np.abs(resp - np.round(resp)) > 1e-8):
            raise ValueError(f"cbind({name}): successes and failures must be counts (>= 0)")
        n = resp.sum(axis=1)
        y = np.divide(resp[:, 0], n, out=np.zeros(len(n)), where=n > 0)
        trials = n * w
    elif resp.shape[1] == 1:
        y = resp[:, 0]
        trials = w
        if fam.name == "binomial":
            if np.any((y < 0) | (y > 1)):
                raise ValueError(
                    f"a binomial response must lie in [0, 1]; {name!r} has values from "
                    f"{y.min():g} to {y.max():g}. Counts of successes are written "
                    "cbind(successes, failures)"
                )
            fractional = np.any((y != 0) & (y != 1))
            if fractional and weight_values is None:
                raise ValueError(
                    f"{name!r} holds proportions: give the numbers of trials as weights= (or "
                    "write the response as cbind(successes, failures))"
                )
            if fractional and np.any(np.abs(y * w - np.round(y * w)) > 1e-6):
                warnings.warn(
                    "non-integer numbers of successes (response x weights), as R warns",
                    UserWarning,
                    stacklevel=external_stacklevel(),
                )
        else:
            if np.any(y < 0):
                raise ValueError(f"a Poisson response must be counts; {name!r} has negative values")
            if np.any(np.abs(y - np.round(y)) > 1e-8):
                raise ValueError(f"a Poisson response must be counts; {name!r} has non-integers")
    else:
        raise FormulaError(
            f"the response {name!r} must be one column or cbind(successes, failures)"
        )
    used = trials > 0
    if not used.any():
        raise ValueError("every weight (number of trials) is 0: no row carries information to fit")
    if fam.name == "binomial":
        if np.all(y[used] == 0) or np.all(y[used] == 1):
            value = "failure" if np.all(y[used] == 0) else "success"
            raise ValueError(
                f"every response is a {value}: there is nothing to model (no variation)"
            )
    if fam.name == "poisson" and np.all(y[used] == 0):
        raise ValueError("every count is 0: there is nothing to model")
    return y, trials


# ---------------------------------------------------------------------- the optimum
class _Fit:
    """The optimum of a fit: parameters, deviance, Hessian and how the search went."""

    def __init__(self, theta, beta, deviance, hessian, gradient, converged, evaluations):
        self.theta, self.beta, self.deviance = theta, beta, deviance
        self.hessian, self.gradient = hessian, gradient
        self.converged, self.evaluations = converged, evaluations


def refit_response(structure: GLMMStructure, y, theta, nagq: int) -> _Fit:
    """The optimum of ``structure`` with the response replaced by ``y`` (a parametric-bootstrap
    refit, as lme4's ``refit(fit, newresp)``), the search started at the fitted ``theta`` (an
    entry at its bound of 0, a stationary point, at lme4's start instead)."""
    new = structure.with_response(y)
    start = structure.theta_start()
    at_zero = (start > 0) & (np.asarray(theta, float) == 0.0)
    theta = np.where(at_zero, start, np.asarray(theta, float))
    with single_blas_thread(), np.errstate(over="ignore", under="ignore"):
        return _optimise(new, nagq, theta_start=theta)


def _optimise(structure: GLMMStructure, nagq: int, theta_start=None) -> _Fit:
    n_theta = structure.n_theta
    bounds = structure.theta_bounds()
    lower_zero = np.array([low == 0.0 for low, _ in bounds])
    count = [0]

    # The search runs over (theta * theta_scale, beta * scale): its difference steps, bounds
    # and tolerances assume parameters of order one, which the coefficient or the relative sd
    # of a column in units of 10^6 is not (lme4 warns and stops short there).  Both scales
    # are 1 unless a column is badly scaled; then that column's parameters are searched as
    # those of the column divided by its root mean square, from lme4's start for that model.
    theta_scale = _theta_scale(structure.layout)
    scale = _beta_scale(structure.X)
    to_search = np.concatenate([theta_scale, scale])

    def stage1(theta):
        count[0] += 1
        return structure.deviance(theta / theta_scale)

    # stage 1: theta, with beta inside PIRLS (lme4's nAGQ = 0)
    r1 = optimize.minimize(
        stage1,
        structure.theta_start() if theta_start is None else theta_start * theta_scale,
        method="L-BFGS-B", bounds=bounds,
        options={"eps": 1e-6, "ftol": 1e-10},
    )  # fmt: skip
    structure.deviance(r1.x / theta_scale)
    beta0 = structure._last.beta.copy()

    def full(x):
        count[0] += 1
        return structure.deviance(x[:n_theta] / theta_scale, x[n_theta:] / scale, nagq)

    x = np.concatenate([r1.x, beta0 * scale])
    # quasi-Newton from a Hessian whose fixed-effects block PIRLS gives for free (2 RX'RX),
    # then Newton steps on the full central-difference Hessian, which the standard errors need
    H0 = _start_hessian(structure, full, x, n_theta, theta_scale, scale)
    x = _quasi_newton(full, x, lower_zero, n_theta, H0)
    x, f0, g, H, ok = _newton(full, x, lower_zero, n_theta)
    if not ok:  # a bounded quasi-Newton search, then Newton again
        res = optimize.minimize(
            full, x, method="L-BFGS-B", bounds=bounds + [(None, None)] * len(beta0),
            options={"eps": 1e-7, "ftol": 1e-15, "gtol": 1e-9, "maxiter": 2000},
        )  # fmt: skip
        x, f0, g, H, ok = _newton(full, res.x, lower_zero, n_theta)
    # an entry stopped at its bound of 0 is a stationary point the search cannot leave:
    # restart once from a small positive value and keep the better optimum
    at_zero = lower_zero & (np.abs(x[:n_theta]) < _ZERO_SD)
    if at_zero.any():
        x2 = x.copy()
        x2[:n_theta][at_zero] = 0.1
        x2, f2, g2, H2, ok2 = _newton(full, x2, lower_zero, n_theta)
        if f2 < f0 - 1e-8:
            x, f0, g, H, ok = x2, f2, g2, H2, ok2
    # back to (theta, beta): f(x) = f_search(D x), so the gradient is D g and the Hessian D H D
    x, g, H = x / to_search, g * to_search, H * np.outer(to_search, to_search)
    structure.deviance(x[:n_theta], x[n_theta:], nagq)  # leave the state at the optimum
    return _Fit(x[:n_theta], x[n_theta:], f0, H, g, ok, count[0])


def _beta_scale(X):
    """The root mean squares of the fixed-effects columns when any of them is outside 1/100
    to 100 (every coefficient is then searched as that of its column at unit scale), else
    ones (the search is lme4's)."""
    rms = np.sqrt(np.mean(np.asarray(X, float) ** 2, axis=0))
    rms = np.where(rms > 0, rms, 1.0)
    if np.all((rms >= 1.0 / _BADLY_SCALED) & (rms <= _BADLY_SCALED)):
        return np.ones(X.shape[1])
    return rms


def _theta_scale(layout):
    """Per entry ``(a, b)`` of theta, the root mean square ``s_a`` of the term's column ``a``
    when any random-effects column's is outside 1/100 to 100 (``theta * s_a`` is the entry of
    the model with unit-scale columns, :meth:`PLSStructure.with_unit_effects`), else ones."""
    scales = [_column_scales(t.Z) for t in layout.terms]
    if all(np.all((s >= 1.0 / _BADLY_SCALED) & (s <= _BADLY_SCALED)) for s in scales):
        return np.ones(layout.n_theta)
    return np.array(
        [s[a] for s, entries in zip(scales, layout.term_entries, strict=True) for a, _ in entries]
    )


def _start_hessian(structure, fun, x, n_theta, theta_scale, scale):
    """Block-diagonal start: theta's block by differences, beta's from the PIRLS factor (in
    the searched parameters, theta * theta_scale and beta * scale)."""
    d = len(x)
    H = np.zeros((d, d))
    theta_part = lambda t: fun(np.concatenate([t, x[n_theta:]]))  # noqa: E731
    H[:n_theta, :n_theta] = _derivatives(theta_part, x[:n_theta], None)[1]
    state = structure.pirls(x[:n_theta] / theta_scale, x[n_theta:] / scale)
    beta_block = 2.0 * np.linalg.inv(structure.fixed_covariance(state))
    H[n_theta:, n_theta:] = beta_block / np.outer(scale, scale)
    w, U = np.linalg.eigh(H)
    return (U * np.maximum(w, 1e-3 * max(w.max(), 1.0))) @ U.T


def _gradient(fun, x, f0, step=1e-6):
    """Forward differences: enough to steer the quasi-Newton steps (the modes are converged
    to 1e-10, so the error is about 1e-4 of the curvature); the finish uses central ones."""
    d = len(x)
    g = np.empty(d)
    for i in range(d):
        e = np.zeros(d)
        e[i] = step
        g[i] = (fun(x + e) - f0) / step
    return g


def _quasi_newton(fun, x, lower_zero, n_theta, H, max_iter=40):
    """BFGS steps with forward-difference gradients, from the Hessian ``H``; theta's diagonal
    stays at or above 0.  Returns the last point (the Newton finish judges convergence)."""
    mask = np.concatenate([lower_zero, np.zeros(len(x) - n_theta, bool)])
    f0 = fun(x)
    g = _gradient(fun, x, f0)
    for _ in range(max_iter):
        free = ~(mask & (x <= 0) & (g >= 0))
        step = np.zeros(len(x))
        try:
            step[free] = -np.linalg.solve(H[np.ix_(free, free)], g[free])
        except np.linalg.LinAlgError:
            break
        if float(-g @ step) < 1e-6:
            break
        x_new, f_new = _line_search(fun, x, step, f0, mask)
        if x_new is None:
            break
        g_new = _gradient(fun, x_new, f_new)
        s_vec, y_vec = x_new - x, g_new - g
        if s_vec @ y_vec > 1e-12:
            Hs = H @ s_vec
            H = H - np.outer(Hs, Hs) / (s_vec @ Hs) + np.outer(y_vec, y_vec) / (s_vec @ y_vec)
        x, f0, g = x_new, f_new, g_new
    return x


def _line_search(fun, x, step, f0, mask):
    """Halve the step until the deviance falls (theta's diagonal kept at or above 0);
    ``(None, f0)`` when no step down to 1e-6 of it does."""
    t = 1.0
    while t > 1e-6:
        x_new = x + t * step
        x_new[mask] = np.maximum(x_new[mask], 0.0)
        f_new = fun(x_new)
        if f_new < f0:
            return x_new, f_new
        t /= 2
    return None, f0


def _derivatives(fun, x, f0):
    """Central-difference gradient and Hessian with lme4's step (``deriv12``).

    The diagonal and the gradient are lme4's; an off-diagonal entry takes the two diagonal
    points ``x +- (e_i + e_j)`` with the axis points already evaluated,
    ``(f(x+ei+ej) + f(x-ei-ej) - f(x+ei) - f(x-ei) - f(x+ej) - f(x-ej) + 2 f(x)) / 2 delta^2``,
    which has the same O(delta^2) error as lme4's four-point rule at half its evaluations."""
    f0 = fun(x)  # evaluated afresh from the neighbouring modes, as the differences are
    d = len(x)
    g = np.empty(d)
    H = np.empty((d, d))
    fp, fm = np.empty(d), np.empty(d)
    for i in range(d):
        e = np.zeros(d)
        e[i] = _DELTA
        fp[i], fm[i] = fun(x + e), fun(x - e)
        g[i] = (fp[i] - fm[i]) / (2 * _DELTA)
        H[i, i] = (fp[i] - 2 * f0 + fm[i]) / _DELTA**2
    for i in range(d):
        for j in range(i):
            e = np.zeros(d)
            e[i] = e[j] = _DELTA
            both = fun(x + e) + fun(x - e)
            value = (both - fp[i] - fm[i] - fp[j] - fm[j] + 2 * f0) / (2 * _DELTA**2)
            H[i, j] = H[j, i] = value
    return g, H


def _newton(fun, x, lower_zero, n_theta, max_rounds=8):
    """Newton steps on the deviance with a backtracking line search; theta's diagonal stays
    at or above 0.  Returns ``(x, f, gradient, Hessian, converged)``: converged when the
    deviance still to gain (the Newton decrement) is below 1e-8, or below 1e-5 and one more
    Newton step lowers the deviance.  The Hessian is that of the last point but one step."""
    mask = np.concatenate([lower_zero, np.zeros(len(x) - n_theta, bool)])
    f0 = fun(x)
    g = H = None
    for _ in range(max_rounds):
        g, H = _derivatives(fun, x, f0)
        # entries at their bound that the gradient pushes below it stay fixed
        free = ~(mask & (x <= 0) & (g >= 0))
        Hf = H[np.ix_(free, free)]
        try:
            chol = np.linalg.cholesky(Hf)
        except np.linalg.LinAlgError:
            return x, f0, g, H, False
        step = np.zeros(len(x))
        step[free] = -np.linalg.solve(chol.T, np.linalg.solve(chol, g[free]))
        decrement = float(-g @ step)
        if decrement < 1e-8:
            return x, f0, g, H, True
        if decrement < 1e-5:
            # the last, tiny step (|step| ~ 1e-3 / sqrt(curvature)): the Hessian of this
            # point serves the standard errors of the next one to far better than 1e-3
            x_new = x + step
            x_new[mask] = np.maximum(x_new[mask], 0.0)
            f_new = fun(x_new)
            if f_new <= f0:
                return x_new, f_new, g, H, True
            return x, f0, g, H, decrement < 2e-6
        x_new, f_new = _line_search(fun, x, step, f0, mask)
        if x_new is None:
            return x, f0, g, H, decrement < 2e-6
        x, f0 = x_new, f_new
    g, H = _derivatives(fun, x, f0)
    free = ~(mask & (x <= 0) & (g >= 0))
    try:
        step = np.linalg.solve(H[np.ix_(free, free)], g[free])
        ok = float(g[free] @ step) < 2e-6
    except np.linalg.LinAlgError:
        ok = False
    return x, f0, g, H, ok
