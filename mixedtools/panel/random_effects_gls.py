"""Random-effects panel models: the one-way GLS estimator (Swamy-Arora, Wallace-Hussain, Amemiya,
Nerlove or maximum likelihood, valid on unbalanced panels), the two-way GLS estimator of balanced
panels (plm's ``effect = "twoways"``) and Mundlak's correlated random effects.

Examples
--------
>>> import mixedtools as mt
>>> grunfeld = mt.datasets.load("grunfeld").set_index(["firm", "year"])
>>> re = mt.panel.random_effects("inv ~ 1 + value + capital", grunfeld)
>>> re.params.round(4).tolist()
[-57.8344, 0.1098, 0.3081]
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mixedtools.panel._design import (
    INTERCEPT_NAMES,
    PanelDesign,
    build_design,
    check_panel_frame,
    design_from_arrays,
)
from mixedtools.report import format_table
from mixedtools.rformula import model_frame

__all__ = ["RandomEffectsResult", "random_effects", "mundlak"]


#: The variance-component estimators of :func:`random_effects` compared in the book's table
#: (``"nerlove"`` is accepted too; two-way models take the FGLS methods and ``"nerlove"``).
METHODS = ("swar", "walhus", "amemiya", "ml")
_ALL_METHODS = (*METHODS, "nerlove")
#: The effects of :func:`random_effects` and :func:`fixed_effects` (plm's ``effect``).
EFFECTS = ("individual", "twoways")


# Results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class RandomEffectsResult:
    """A fitted one-way random-effects panel model.

    Attributes
    ----------
    params, std_errors : pandas.Series
        GLS coefficients and their standard errors, indexed by term.
    cov : pandas.DataFrame
        Covariance matrix of ``params``.
    sigma2_idios, sigma2_id : float
        Idiosyncratic (within, sigma^2) and individual (tau_00) variance components.
    theta : pandas.Series
        Quasi-demeaning weight of each entity, 1 - sqrt(sigma2_idios / (T_i sigma2_id +
        sigma2_idios)): 0 gives pooled OLS, 1 gives the within (fixed-effects) estimator.
    method : str
        ``"swar"``, ``"walhus"``, ``"amemiya"`` or ``"ml"``.
    n_obs, n_entities : int
    balanced : bool
    df_resid : int
        n_obs minus the number of coefficients (the t tests' df for FGLS; ML uses z tests).
    loglik : float or None
        Maximised log-likelihood (``"ml"`` only).
    time_invariant : tuple of str
        Regressors that do not vary within any entity (fixed effects cannot estimate them).
    design : PanelDesign
        The response, regressors and entity structure used (for :func:`hausman`).
    effect : str
        ``"individual"`` or ``"twoways"``.
    sigma2_time : float or None
        Variance of the period effects (two-way models).
    theta_time, theta_total : float or None
        Two-way models (balanced): the transformation is
        ``y - theta ybar_i - theta_time ybar_t + theta_total ybar`` (plm's ``theta$id``,
        ``theta$time`` and ``theta$total``; ``theta`` holds ``theta$id`` per entity).
    """

    params: pd.Series
    std_errors: pd.Series
    cov: pd.DataFrame
    sigma2_idios: float
    sigma2_id: float
    theta: pd.Series
    method: str
    n_obs: int
    n_entities: int
    balanced: bool
    df_resid: int
    loglik: float | None = None
    time_invariant: tuple = ()
    design: PanelDesign | None = field(default=None, compare=False)
    effect: str = "individual"
    sigma2_time: float | None = None
    theta_time: float | None = None
    theta_total: float | None = None

    @cached_property
    def arrays(self) -> tuple:
        """``(names, position by name, params, cov)`` as a list, a dict and numpy arrays, computed
        once (for :func:`hausman`, where pandas access costs more than the test)."""
        names = self.params.index.tolist()
        return (
            names,
            {nm: i for i, nm in enumerate(names)},
            self.params.to_numpy(),
            self.cov.to_numpy(),
        )

    def summary(self) -> pd.DataFrame:
        """Coefficient table: estimate, std_error, t (z for ML) and p_value.

        FGLS fits use t with ``df_resid`` degrees of freedom, as plm does; ML fits use the
        normal distribution.
        """
        t = self.params / self.std_errors
        if self.method == "ml":
            p = 2 * stats.norm.sf(np.abs(t))
        else:
            p = 2 * stats.t.sf(np.abs(t), self.df_resid)
        return pd.DataFrame(
            {"estimate": self.params, "std_error": self.std_errors, "t": t, "p_value": p}
        )

    def __repr__(self) -> str:
        balance = "balanced" if self.balanced else "unbalanced"
        components = (
            f"sigma2_idios = {self.sigma2_idios:.6g}, sigma2_id = {self.sigma2_id:.6g}, "
            f"theta = {_theta_text(self.theta)}"
        )
        if self.effect == "twoways":
            components = (
                f"sigma2_idios = {self.sigma2_idios:.6g}, sigma2_id = {self.sigma2_id:.6g}, "
                f"sigma2_time = {self.sigma2_time:.6g}; theta: id {self.theta.iloc[0]:.4f}, "
                f"time {self.theta_time:.4f}, total {self.theta_total:.4f}"
            )
        two = ", two-way" if self.effect == "twoways" else ""
        lines = [
            f"Random-effects panel model ({_METHOD_LABELS[self.method]}{two}), {balance}: "
            f"{self.n_obs} observations, {self.n_entities} entities",
            components,
            format_table(self.summary().round(6)).to_string(),
        ]
        return "\n".join(lines)


_METHOD_LABELS = {
    "swar": "Swamy-Arora",
    "walhus": "Wallace-Hussain",
    "amemiya": "Amemiya",
    "ml": "maximum likelihood",
    "nerlove": "Nerlove",
}


def _theta_text(theta: pd.Series) -> str:
    if np.allclose(theta, theta.iloc[0]):
        return f"{theta.iloc[0]:.4f} (all entities)"
    return f"{theta.min():.4f} to {theta.max():.4f} (by entity)"


# Variance components
# ---------------------------------------------------------------------------------------------
def _within_fit(design: PanelDesign, varying: np.ndarray):
    """Within (fixed-effects) regression on the time-varying regressors."""
    Xw = design.demean(design.X[:, varying])
    yw = design.demean(design.y)
    beta, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
    return beta, yw - Xw @ beta, Xw


def _solve_components(M: np.ndarray, quad: np.ndarray) -> tuple[float, float]:
    sigma2 = np.linalg.solve(M, quad)
    if sigma2[1] < 0:
        warnings.warn(
            f"the individual variance is estimated as negative ({sigma2[1]:.4g}) and set to 0, "
            "as plm does: theta = 0 and random effects equals pooled OLS.",
            UserWarning,
            stacklevel=5,
        )
    return float(max(sigma2[0], 0.0)), float(max(sigma2[1], 0.0))


def _components(design: PanelDesign, method: str, varying: np.ndarray) -> tuple[float, float]:
    """Quadratic-form estimators of (sigma2_idios, sigma2_id), as plm's ``ercomp``.

    Each method equates two quadratic forms of residuals (within and between entities) to
    their expectations, a 2 x 2 linear system ``M @ (sigma2_idios, sigma2_id) = quad``.
    Unbalanced panels use the unbiased expectations (plm's ``dfcor = 3``). Balanced panels use
    plm's defaults: the same for Swamy-Arora, and the simpler ``dfcor = 1`` forms (divisors
    n - N and N) for Wallace-Hussain and Amemiya.
    """
    n, N = design.n_obs, design.n_entities
    Z, T = design.X, design.counts
    Zbar = design.entity_means(Z)
    ybar = design.entity_means(design.y)
    # sum_i T_i zbar_i zbar_i' and sum_i T_i^2 zbar_i zbar_i'
    cp_between = Zbar.T @ (T[:, None] * Zbar)
    cp_sum = Zbar.T @ ((T**2)[:, None] * Zbar)
    if method == "swar":
        _, resid_w, Xw = _within_fit(design, varying)
        # between regression on entity means, weighted by T_i (plm's "Between" model);
        # a pseudo-inverse keeps it defined when columns coincide in the means (Mundlak)
        cp_between_inv = np.linalg.pinv(cp_between)
        beta_b = cp_between_inv @ (Zbar.T @ (T * ybar))
        quad = np.array([resid_w @ resid_w, np.sum(T * (ybar - Zbar @ beta_b) ** 2)])
        k_within = Xw.shape[1]
        k_between = np.linalg.matrix_rank(cp_between)
        M = np.array(
            [
                [n - N - k_within, 0.0],
                [N - k_between, n - np.trace(cp_between_inv @ cp_sum)],
            ]
        )
        return _solve_components(M, quad)
    if method == "walhus":
        beta_p, *_ = np.linalg.lstsq(Z, design.y, rcond=None)
        resid = design.y - Z @ beta_p
        resid_bar = design.entity_means(resid)
        resid_w = resid - design.expand(resid_bar)
        quad = np.array([resid_w @ resid_w, np.sum(T * resid_bar**2)])
        if design.balanced:
            M = np.array([[n - N, 0.0], [N, T[0] * N]])
        else:
            cp_inv = np.linalg.inv(Z.T @ Z)
            Zw = design.demean(Z)
            cp_within = Zw.T @ Zw
            a_w = cp_inv @ cp_within
            a_s = cp_inv @ cp_sum
            a_b = cp_inv @ cp_between
            M = np.array(
                [
                    [n - N - np.trace(a_w), np.trace(a_w @ a_s)],
                    [N - np.trace(a_b), n - 2 * np.trace(a_s) + np.trace(a_b @ a_s)],
                ]
            )
        return _solve_components(M, quad)
    # Amemiya: residuals of the within slopes, with the overall intercept
    if not np.all(varying | design.intercept_columns()):
        invariant = [nm for nm, v in zip(design.names, varying, strict=True) if not v]
        raise ValueError(
            f"method='amemiya' cannot be used with time-invariant regressors ({invariant}); "
            "use method='swar' or 'walhus'."
        )
    beta_w, resid_w, Xw = _within_fit(design, varying)
    Xv = design.X[:, varying]
    fitted = Xv @ beta_w
    resid = design.y - fitted - (design.y.mean() - fitted.mean())
    resid_bar = design.entity_means(resid)
    quad = np.array([resid_w @ resid_w, np.sum(T * resid_bar**2)])
    if design.balanced:
        M = np.array([[n - N, 0.0], [N, T[0] * N]])
    else:
        Xbar = design.entity_means(Xv)
        Xbar_c = Xbar - (T @ Xbar) / n
        cp_xbetween = Xbar_c.T @ (T[:, None] * Xbar_c)
        trace = np.trace(np.linalg.solve(Xw.T @ Xw, cp_xbetween))
        M = np.array([[n - N - Xw.shape[1], 0.0], [N - 1 + trace, n - np.sum(T**2) / n]])
    return _solve_components(M, quad)


def _nerlove_oneway(design: PanelDesign, varying: np.ndarray) -> tuple[float, float]:
    """Nerlove's estimator (plm's ``random.method = "nerlove"``): sigma2_idios = RSS_within / n,
    sigma2_id = the (T_i-weighted, on unbalanced panels) variance of the estimated entity
    effects, with divisor N - 1."""
    beta_w, resid_w, _ = _within_fit(design, varying)
    n, N, T = design.n_obs, design.n_entities, design.counts
    Xv = design.X[:, varying]
    effects = design.entity_means(design.y) - design.entity_means(Xv) @ beta_w
    if design.balanced:
        sigma2_id = np.sum((effects - effects.mean()) ** 2) / (N - 1)
    else:
        # plm's fixef(type = "dmean") centres the effects at their observation-weighted mean
        centred = effects - (T @ effects) / n
        sigma2_id = np.sum(centred**2 * T / n) * N / (N - 1)
    return float(resid_w @ resid_w / n), float(sigma2_id)


def _absorbed_twoways(design: PanelDesign) -> np.ndarray:
    """Mask of the regressors without variation after the two-way within transformation."""
    scale = np.maximum(np.abs(design.X).max(axis=0), 1.0)
    return np.abs(design.twoway_demean(design.X)).max(axis=0) <= 1e-10 * scale


def _twoway_components(design: PanelDesign, method: str) -> tuple[float, float, float]:
    """(sigma2_idios, sigma2_id, sigma2_time) of the two-way model on a balanced panel, as plm's
    ``ercomp(effect = "twoways")`` with its balanced-panel defaults (``dfcor``: 2 for Swamy-Arora,
    1 for Wallace-Hussain and Amemiya). Negative estimates are set to 0, as plm does."""
    n, N, T = design.n_obs, design.n_entities, design.n_periods
    n_effects = N + T - 1
    Z, y = design.X, design.y
    Zw = design.twoway_demean(Z)
    varying = ~_absorbed_twoways(design)
    if not varying.any():
        raise ValueError(
            "two-way random effects need a regressor that varies within entities and periods."
        )
    Xw = Zw[:, varying]
    yw = design.twoway_demean(y)
    beta_w, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
    resid_w = yw - Xw @ beta_w
    k_w = Xw.shape[1]
    if method == "nerlove":
        Xv = Z[:, varying]
        alpha = design.entity_means(y) - design.entity_means(Xv) @ beta_w
        lam = design.time_means(y) - design.time_means(Xv) @ beta_w
        return (
            float(resid_w @ resid_w / n),
            float(np.sum((alpha - alpha.mean()) ** 2) / (N - 1)),
            float(np.sum((lam - lam.mean()) ** 2) / (T - 1)),
        )
    if method == "swar":
        # within residuals; between-entity and between-period regressions (with intercept)
        quad_w, m_w = resid_w @ resid_w, n - n_effects - k_w
        parts = []
        for means in (design.entity_means, design.time_means):
            Zb, yb = means(Z), means(y)
            beta_b, *_ = np.linalg.lstsq(Zb, yb, rcond=None)
            k_b = np.linalg.matrix_rank(Zb)  # intercept included: k_b = K + 1
            parts.append((np.sum((yb - Zb @ beta_b) ** 2), len(yb) - k_b))
    else:
        if method == "walhus":
            beta_p, *_ = np.linalg.lstsq(Z, y, rcond=None)
            resid = y - Z @ beta_p
        else:  # amemiya: the two-way within slopes with the overall intercept (as plm,
            # regressors absorbed by the two-way effects drop out of this fit)
            fitted = Z[:, varying] @ beta_w
            resid = y - fitted - (y.mean() - fitted.mean())
        tw = design.twoway_demean(resid)
        quad_w, m_w = tw @ tw, n - n_effects
        parts = [
            (np.sum(design.entity_means(resid) ** 2), N),
            (np.sum(design.time_means(resid) ** 2), T),
        ]
    # balanced panel: E quad_id = m_id (sigma2_idios + T sigma2_id) / T per entity mean, etc.
    (quad_id, m_id), (quad_ts, m_ts) = parts
    sigma2_idios = quad_w / m_w
    # sum_i mean_i^2 has expectation m_id (sigma2_idios / T + sigma2_id)
    sigma2_id = quad_id / m_id - sigma2_idios / T
    sigma2_time = quad_ts / m_ts - sigma2_idios / N
    negative = [nm for nm, v in (("individual", sigma2_id), ("time", sigma2_time)) if v < 0]
    if negative:
        warnings.warn(
            f"the {' and '.join(negative)} variance is estimated as negative and set to 0, as "
            "plm does.",
            UserWarning,
            stacklevel=5,
        )
    return float(sigma2_idios), float(max(sigma2_id, 0.0)), float(max(sigma2_time, 0.0))


def _twoway_gls(design: PanelDesign, s_idios: float, s_id: float, s_time: float):
    """Thetas and the GLS fit of the balanced two-way model (plm's transformation)."""
    N, T = design.n_entities, design.n_periods
    theta_id = 1 - (1 + T * s_id / s_idios) ** -0.5
    theta_time = 1 - (1 + N * s_time / s_idios) ** -0.5
    if s_id == 0 or s_time == 0:
        theta_total = 0.0  # plm sets it to 0 then (it equals 0 up to rounding)
    else:
        theta_total = (
            theta_id + theta_time - 1 + (1 + N * s_time / s_idios + T * s_id / s_idios) ** -0.5
        )

    def transform(v):
        return (
            v
            - theta_id * design.expand(design.entity_means(v))
            - theta_time * design.time_means(v)[design.time_codes]
            + theta_total * v.mean(axis=0)
        )

    y_star, Z_star = transform(design.y), transform(design.X)
    cross = Z_star.T @ Z_star
    beta = np.linalg.solve(cross, Z_star.T @ y_star)
    return (theta_id, theta_time, theta_total), beta, y_star - Z_star @ beta, cross


def _theta(design: PanelDesign, sigma2_idios: float, sigma2_id: float) -> np.ndarray:
    if sigma2_idios <= 0:
        raise ValueError("the idiosyncratic variance is estimated as 0: y is fitted exactly.")
    return 1 - np.sqrt(sigma2_idios / (design.counts * sigma2_id + sigma2_idios))


def _quasi_demean(design: PanelDesign, values: np.ndarray, theta: np.ndarray) -> np.ndarray:
    means = design.entity_means(values)
    weight = theta if values.ndim == 1 else theta[:, None]
    return values - design.expand(weight * means)


def _gls(design: PanelDesign, theta: np.ndarray):
    y_star = _quasi_demean(design, design.y, theta)
    Z_star = _quasi_demean(design, design.X, theta)
    cross = Z_star.T @ Z_star
    beta = np.linalg.solve(cross, Z_star.T @ y_star)
    resid = y_star - Z_star @ beta
    return beta, resid, cross


def _ml_components(design: PanelDesign) -> tuple[float, float, float]:
    """Maximum likelihood (sigma2_idios, sigma2_id, loglik) by profiling out beta and sigma^2."""
    n = design.n_obs
    T = design.counts
    # The quasi-demeaned data are the within-demeaned data plus (1 - theta_i) times the entity
    # means, and the cross terms of the two parts vanish. The within cross products are computed
    # once, the between part per entity: each evaluation costs O(entities), not O(rows).
    Zbar, ybar = design.entity_means(design.X), design.entity_means(design.y)
    Zw, yw = design.demean(design.X), design.demean(design.y)
    ww, wy, yy = Zw.T @ Zw, Zw.T @ yw, yw @ yw

    def deviance(ratio: float) -> float:
        weight = T / (1 + T * ratio)  # T_i (1 - theta_i)^2
        cross = ww + Zbar.T @ (weight[:, None] * Zbar)
        beta = np.linalg.solve(cross, wy + Zbar.T @ (weight * ybar))
        rss_within = yy - 2 * beta @ wy + beta @ ww @ beta
        rss = rss_within + np.sum(weight * (ybar - Zbar @ beta) ** 2)
        return n * np.log(rss / n) + np.sum(np.log1p(T * ratio))

    result = optimize.minimize_scalar(
        lambda log_ratio: deviance(np.exp(log_ratio)),
        bounds=(np.log(1e-10), np.log(1e8)),
        method="bounded",
        options={"xatol": 1e-12, "maxiter": 500},
    )
    ratio = float(np.exp(result.x))
    if deviance(0.0) <= result.fun:
        ratio = 0.0
    theta = 1 - 1 / np.sqrt(1 + design.counts * ratio)
    _, resid, _ = _gls(design, theta)
    sigma2 = float(resid @ resid / n)
    dev = n * (np.log(sigma2) + 1 + np.log(2 * np.pi)) + np.sum(np.log1p(T * ratio))
    return sigma2, ratio * sigma2, -dev / 2


# Public estimators
# ---------------------------------------------------------------------------------------------
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EFFECTS = ("EntityEffects", "TimeEffects", "FixedEffects")


def _plain_terms(formula: str, data: pd.DataFrame):
    """``(response, regressors, intercept)`` of a formula made of plain numeric column names and
    an optional ``1`` (e.g. ``"inv ~ 1 + value + capital"``), else None.

    Such formulas are read without the formula engine (it costs several milliseconds per call);
    the design is the same as linearmodels builds: the intercept first, named ``"Intercept"``,
    then the columns in the order written.
    """
    lhs, _, rhs = formula.partition("~")
    response = lhs.strip()
    terms = [term.strip() for term in rhs.split("+")]
    intercept = terms.count("1") == 1
    names = [term for term in terms if term != "1"]
    columns = [response, *names]
    if (
        len(names) + intercept != len(terms)
        or not all(_NAME.fullmatch(c) for c in columns)
        or len(set(columns)) != len(columns)
        or any(c in _EFFECTS or c in INTERCEPT_NAMES for c in columns)
        or not data.columns.is_unique
        or not all(c in data.columns for c in columns)
    ):
        return None
    dtypes = data.dtypes
    if not all(
        pd.api.types.is_numeric_dtype(dtypes[c]) and not pd.api.types.is_bool_dtype(dtypes[c])
        for c in columns
    ):
        return None
    return response, names, intercept


def _parse(
    formula: str, data, eval_env: int, constant_warning: bool = True, absorbed_constant=False
) -> PanelDesign:
    """The panel design of ``formula``. ``absorbed_constant``: the model's effects absorb the
    constant (fixed effects), so factors are coded as with one, as plm codes them, whether or
    not the formula writes ``1 +`` (the constant column is then dropped as time-invariant)."""
    check_panel_frame(data)
    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(f"formula must be a string like 'y ~ 1 + x'; got {formula!r}.")
    plain = _plain_terms(formula, data)
    if plain is not None:
        # numeric columns and "1" only: the design is built from the arrays directly (fast)
        response, names, intercept = plain
        X = data[names].to_numpy(dtype=float) if names else np.empty((len(data), 0))
        if intercept:
            X = np.column_stack([np.ones(len(data)), X])
        design = design_from_arrays(
            data[response].to_numpy(dtype=float),
            X,
            [response],
            ["Intercept"] * intercept + names,
            data.index,
        )
    else:
        if re.search(r"\b(EntityEffects|TimeEffects|FixedEffects|OtherEffects)\b", formula):
            raise ValueError(
                "random_effects takes no EntityEffects / TimeEffects terms: the individual "
                "effect is the random part. Fit fixed effects with linearmodels.PanelOLS."
            )
        # R's formula language (log(), I(x^2), poly(), factor order ...) with linearmodels'
        # rule for the constant: there is one only when the formula writes it (y ~ 1 + x)
        frame = model_frame(
            formula,
            data,
            na_action="keep",
            allow_cbind=False,
            allow_offset=False,
            default_intercept=absorbed_constant,
        )
        if frame.response is None:
            raise ValueError(f"formula must be a string like 'y ~ 1 + x'; got {formula!r}.")
        design = build_design(frame.response, frame.X)
    if constant_warning and not design.intercept_columns().any():
        warnings.warn(
            f"the formula {formula!r} has no constant: linearmodels formulas add none unless "
            "written, e.g. 'y ~ 1 + x' (plm, Stata and R's lm always include one).",
            UserWarning,
            stacklevel=3,
        )
    return design


def _fit_twoways(design: PanelDesign, method: str) -> RandomEffectsResult:
    if method == "ml":
        raise ValueError(
            "method='ml' is one-way only; the two-way model by ML (or REML) is the crossed "
            "random-intercept model, e.g. mt.lmer('y ~ x + (1 | firm) + (1 | year)', data)."
        )
    if not design.fully_balanced:
        raise ValueError(
            "two-way random effects are implemented for balanced panels (every entity in every "
            "period); for an unbalanced panel use plm, or the crossed random-intercept model "
            "mt.lmer('y ~ x + (1 | entity) + (1 | period)', data)."
        )
    s_idios, s_id, s_time = _twoway_components(design, method)
    if s_idios <= 0:
        raise ValueError("the idiosyncratic variance is estimated as 0: y is fitted exactly.")
    (theta_id, theta_time, theta_total), beta, resid, cross = _twoway_gls(
        design, s_idios, s_id, s_time
    )
    names = design.names
    df_resid = design.n_obs - design.X.shape[1]
    cov = resid @ resid / df_resid * np.linalg.inv(cross)
    return RandomEffectsResult(
        params=pd.Series(beta, index=names, name="estimate"),
        std_errors=pd.Series(np.sqrt(np.diag(cov)), index=names, name="std_error"),
        cov=pd.DataFrame(cov, index=names, columns=names),
        sigma2_idios=s_idios,
        sigma2_id=s_id,
        theta=pd.Series(theta_id, index=design.entities, name="theta"),
        method=method,
        n_obs=design.n_obs,
        n_entities=design.n_entities,
        balanced=True,
        df_resid=df_resid,
        # here: the regressors the two-way effects absorb (no variation within entity and period)
        time_invariant=tuple(
            nm
            for nm, inv in zip(names, _absorbed_twoways(design), strict=True)
            if inv and nm not in INTERCEPT_NAMES
        ),
        design=design,
        effect="twoways",
        sigma2_time=s_time,
        theta_time=float(theta_time),
        theta_total=float(theta_total),
    )


def _fit(design: PanelDesign, method: str, effect: str = "individual") -> RandomEffectsResult:
    if method not in _ALL_METHODS:
        raise ValueError(f"method must be one of {_ALL_METHODS}; got {method!r}.")
    if effect not in EFFECTS:
        raise ValueError(f"effect must be one of {EFFECTS}; got {effect!r}.")
    if design.X.shape[1] == 0:
        raise ValueError("the model has no regressors; write e.g. 'y ~ 1'.")
    if np.linalg.matrix_rank(design.X) < design.X.shape[1]:
        raise ValueError(f"the regressors {design.names} are perfectly collinear.")
    if effect == "twoways":
        return _fit_twoways(design, method)
    invariant = design.time_invariant_columns()
    varying = ~invariant
    loglik = None
    if method == "nerlove":
        if not varying.any():
            raise ValueError("method='nerlove' needs a regressor that varies within entities.")
        sigma2_idios, sigma2_id = _nerlove_oneway(design, varying)
    elif method == "ml":
        sigma2_idios, sigma2_id, loglik = _ml_components(design)
    else:
        if not varying.any():
            raise ValueError(
                f"method={method!r} needs at least one regressor that varies within "
                "entities; use method='ml' for a model with entity-level regressors only."
            )
        sigma2_idios, sigma2_id = _components(design, method, varying)
    theta = _theta(design, sigma2_idios, sigma2_id)
    beta, resid, cross = _gls(design, theta)
    df_resid = design.n_obs - design.X.shape[1]
    scale = sigma2_idios if method == "ml" else resid @ resid / df_resid
    cov = scale * np.linalg.inv(cross)
    names = design.names
    return RandomEffectsResult(
        params=pd.Series(beta, index=names, name="estimate"),
        std_errors=pd.Series(np.sqrt(np.diag(cov)), index=names, name="std_error"),
        cov=pd.DataFrame(cov, index=names, columns=names),
        sigma2_idios=sigma2_idios,
        sigma2_id=sigma2_id,
        theta=pd.Series(theta, index=design.entities, name="theta"),
        method=method,
        n_obs=design.n_obs,
        n_entities=design.n_entities,
        balanced=design.balanced,
        df_resid=df_resid,
        loglik=loglik,
        time_invariant=tuple(
            nm
            for nm, inv in zip(names, invariant, strict=True)
            if inv and nm not in INTERCEPT_NAMES
        ),
        design=design,
    )


def random_effects(
    formula: str, data: pd.DataFrame, method: str = "swar", effect: str = "individual"
) -> RandomEffectsResult:
    """Random-effects GLS estimator, as plm's ``model = "random"``: one-way or two-way.

    The model is y_it = x_it' beta + u_i + e_it with var(u_i) = sigma2_id (tau_00) and
    var(e_it) = sigma2_idios (sigma^2). Each entity's data are quasi-demeaned with its own
    theta_i = 1 - sqrt(sigma2_idios / (T_i sigma2_id + sigma2_idios)), then fitted by OLS.

    Parameters
    ----------
    formula : str
        Formula, e.g. ``"inv ~ 1 + value + capital"``, read as R reads it (``log(inv)``,
        ``I(capital^2)``, ``poly(capital, 2)``, factors in category order) except for the
        constant: as in linearmodels, write the ``1 +`` (plm and R add one by themselves).
    data : pandas.DataFrame
        Indexed by (entity, time), e.g. ``df.set_index(["firm", "year"])``. May be unbalanced.
    method : {"swar", "walhus", "amemiya", "ml"}
        Estimator of the variance components: Swamy-Arora (plm's default, Stata's
        ``xtreg, re``), Wallace-Hussain, Amemiya, or maximum likelihood (which equals the
        multilevel random-intercept model fitted by ML, ``lmer(..., REML = FALSE)``).
        ``"nerlove"`` (Nerlove's estimator: the variance of the estimated fixed effects) is
        accepted as well.
    effect : {"individual", "twoways"}
        Entity effects (default), or entity and period effects, y_it = x_it' beta + u_i +
        lambda_t + e_it, as plm's ``effect = "twoways"`` (balanced panels; methods "swar",
        "walhus", "amemiya" and "nerlove" with plm's balanced-panel defaults). The
        transformation is ``y - theta_id ybar_i - theta_time ybar_t + theta_total ybar``.

    Returns
    -------
    RandomEffectsResult
        ``params``, ``std_errors``, ``cov``, ``sigma2_idios``, ``sigma2_id``, ``theta`` (per
        entity) and ``summary()``. FGLS standard errors use the residual variance of the
        transformed regression with n - k df (as plm); ML uses the ML sigma^2 (as lme4).

    Raises
    ------
    ValueError
        For data not indexed by (entity, time), missing values, one period only, collinear
        regressors, an unknown method, or Amemiya's method with time-invariant regressors.

    Examples
    --------
    >>> import mixedtools as mt
    >>> grunfeld = mt.datasets.load("grunfeld").set_index(["firm", "year"])
    >>> re = mt.panel.random_effects("inv ~ 1 + value + capital", grunfeld, method="swar")
    >>> round(re.sigma2_id, 2), round(re.sigma2_idios, 2), round(float(re.theta.iloc[0]), 4)
    (7089.8, 2784.46, 0.8612)
    >>> ml = mt.panel.random_effects("inv ~ 1 + value + capital", grunfeld, method="ml")
    >>> ml.params.round(4).tolist()
    [-57.7672, 0.1098, 0.3079]
    >>> tw = mt.panel.random_effects(
    ...     "inv ~ 1 + value + capital", grunfeld, method="amemiya", effect="twoways"
    ... )
    >>> tw.params.round(4).tolist(), round(tw.sigma2_time, 2)
    ([-63.7678, 0.1114, 0.3233], 243.78)
    """
    design = _parse(formula, data, eval_env=3)
    return _fit(design, method, effect)


def mundlak(formula: str, data: pd.DataFrame, method: str = "swar") -> RandomEffectsResult:
    """Correlated random-effects (Mundlak) model: random effects plus entity means.

    Adds, for every regressor that varies within entities, its entity mean (named
    ``"mean(x)"``) and fits :func:`random_effects`. The coefficient of ``x`` then equals the
    fixed-effects (within) slope exactly, on balanced and unbalanced panels; the coefficient
    of ``mean(x)`` is the between-minus-within contrast, and testing those coefficients
    jointly is the regression-based Hausman test. It is the panel version of group-mean
    centring in a multilevel model.

    Parameters
    ----------
    formula : str
        Formula with the constant written, e.g. ``"inv ~ 1 + value + capital"`` (read as
        :func:`random_effects` reads it).
    data : pandas.DataFrame
        Indexed by (entity, time).
    method : {"swar", "walhus", "amemiya", "ml"}
        Variance-component estimator, as in :func:`random_effects`.

    Returns
    -------
    RandomEffectsResult

    Examples
    --------
    >>> import mixedtools as mt
    >>> from linearmodels import PanelOLS
    >>> grunfeld = mt.datasets.load("grunfeld").set_index(["firm", "year"])
    >>> crem = mt.panel.mundlak("inv ~ 1 + value + capital", grunfeld)
    >>> fe = PanelOLS.from_formula("inv ~ value + capital + EntityEffects", grunfeld).fit()
    >>> bool(abs(crem.params["value"] - fe.params["value"]) < 1e-10)
    True
    >>> list(crem.params.index)
    ['Intercept', 'value', 'capital', 'mean(value)', 'mean(capital)']
    """
    design = _parse(formula, data, eval_env=3)
    if method == "amemiya":
        raise ValueError(
            "method='amemiya' cannot be used in the Mundlak model: the entity means are "
            "time-invariant regressors; use method='swar', 'walhus' or 'ml'."
        )
    varying = ~design.time_invariant_columns()
    if not varying.any():
        raise ValueError("mundlak needs at least one regressor that varies within entities.")
    means = design.expand(design.entity_means(design.X[:, varying]))
    mean_names = [f"mean({nm})" for nm, v in zip(design.names, varying, strict=True) if v]
    augmented = PanelDesign(
        y=design.y,
        X=np.column_stack([design.X, means]),
        names=design.names + mean_names,
        index=design.index,
        codes=design.codes,
        counts=design.counts,
        entities=design.entities,
    )
    return _fit(augmented, method)
