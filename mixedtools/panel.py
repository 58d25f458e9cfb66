"""Panel-data models as economists use them, with the numbers of R's plm.

* :func:`random_effects` -- the one-way random-effects GLS estimator with the variance
  components of Swamy-Arora (``"swar"``, plm's default and Stata's ``xtreg, re``),
  Wallace-Hussain (``"walhus"``), Amemiya (``"amemiya"``) or maximum likelihood (``"ml"``,
  the multilevel random-intercept model), valid on unbalanced panels.
* :func:`hausman` -- the Hausman test of fixed against random effects: classical
  (``plm::phtest``) or regression-based with a cluster-robust covariance.
* :func:`mundlak` -- the correlated random-effects model: random effects plus the entity means
  of the time-varying regressors, whose slopes equal the fixed-effects (within) slopes.
* :func:`simulate` -- a panel whose individual effect may correlate with the regressor.

Fixed effects, pooled OLS and first differences come from linearmodels (``PanelOLS``,
``PooledOLS``, ``FirstDifferenceOLS``); this module adds what it lacks. Data are DataFrames
indexed by (entity, time); formulas use linearmodels' syntax, where the constant is written
explicitly: ``"y ~ 1 + x"``.

Examples
--------
>>> import mixedtools as mt
>>> grunfeld = mt.datasets.load("grunfeld").set_index(["firm", "year"])
>>> re = mt.panel.random_effects("inv ~ 1 + value + capital", grunfeld)
>>> re.params.round(4).tolist()
[-57.8344, 0.1098, 0.3081]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from linearmodels.panel.model import PanelFormulaParser
from scipy import optimize, stats

from mixedtools._panel_design import (
    INTERCEPT_NAMES,
    PanelDesign,
    build_design,
    check_panel_frame,
)
from mixedtools.report import format_p, format_table

__all__ = [
    "METHODS",
    "RandomEffectsResult",
    "HausmanResult",
    "random_effects",
    "hausman",
    "mundlak",
    "simulate",
]

#: The variance-component estimators of :func:`random_effects`.
METHODS = ("swar", "walhus", "amemiya", "ml")


# ---------------------------------------------------------------------------------------------
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
        lines = [
            f"Random-effects panel model ({_METHOD_LABELS[self.method]}), {balance}: "
            f"{self.n_obs} observations, {self.n_entities} entities",
            f"sigma2_idios = {self.sigma2_idios:.6g}, sigma2_id = {self.sigma2_id:.6g}, "
            f"theta = {_theta_text(self.theta)}",
            format_table(self.summary().round(6)).to_string(),
        ]
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class HausmanResult:
    """Result of :func:`hausman`.

    Attributes
    ----------
    statistic : float
        Chi-squared statistic.
    df : int
        Number of coefficients compared.
    p_value : float
    method : str
        Description of the test.
    coefficients : pandas.DataFrame
        The compared coefficients: ``fe``, ``re`` and ``difference`` (classical test), or the
        coefficients of the within-demeaned regressors and their standard errors (``"aux"``).
    """

    statistic: float
    df: int
    p_value: float
    method: str
    coefficients: pd.DataFrame

    def __repr__(self) -> str:
        p_text = format_p(self.p_value)
        p_text = p_text if p_text.startswith("<") else f"= {p_text}"
        return (
            f"{self.method}\nchisq = {self.statistic:.4f}, df = {self.df}, "
            f"p-value {p_text}\n"
            f"{self.coefficients.round(6).to_string()}"
        )


_METHOD_LABELS = {
    "swar": "Swamy-Arora",
    "walhus": "Wallace-Hussain",
    "amemiya": "Amemiya",
    "ml": "maximum likelihood",
}


def _theta_text(theta: pd.Series) -> str:
    if np.allclose(theta, theta.iloc[0]):
        return f"{theta.iloc[0]:.4f} (all entities)"
    return f"{theta.min():.4f} to {theta.max():.4f} (by entity)"


# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# Public estimators
# ---------------------------------------------------------------------------------------------
def _parse(formula: str, data, eval_env: int) -> PanelDesign:
    check_panel_frame(data)
    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(f"formula must be a string like 'y ~ 1 + x'; got {formula!r}.")
    parser = PanelFormulaParser(formula, data, eval_env=eval_env)
    if parser.entity_effect or parser.time_effect:
        raise ValueError(
            "random_effects takes no EntityEffects / TimeEffects terms: the individual "
            "effect is the random part. Fit fixed effects with linearmodels.PanelOLS."
        )
    design = build_design(parser.dependent, parser.exog)
    if not design.intercept_columns().any():
        warnings.warn(
            f"the formula {formula!r} has no constant: linearmodels formulas add none unless "
            "written, e.g. 'y ~ 1 + x' (plm, Stata and R's lm always include one).",
            UserWarning,
            stacklevel=3,
        )
    return design


def _fit(design: PanelDesign, method: str) -> RandomEffectsResult:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}.")
    if design.X.shape[1] == 0:
        raise ValueError("the model has no regressors; write e.g. 'y ~ 1'.")
    if np.linalg.matrix_rank(design.X) < design.X.shape[1]:
        raise ValueError(f"the regressors {design.names} are perfectly collinear.")
    invariant = design.time_invariant_columns()
    varying = ~invariant
    loglik = None
    if method == "ml":
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


def random_effects(formula: str, data: pd.DataFrame, method: str = "swar") -> RandomEffectsResult:
    """One-way random-effects GLS estimator, as plm's ``model = "random"``.

    The model is y_it = x_it' beta + u_i + e_it with var(u_i) = sigma2_id (tau_00) and
    var(e_it) = sigma2_idios (sigma^2). Each entity's data are quasi-demeaned with its own
    theta_i = 1 - sqrt(sigma2_idios / (T_i sigma2_id + sigma2_idios)), then fitted by OLS.

    Parameters
    ----------
    formula : str
        linearmodels formula, e.g. ``"inv ~ 1 + value + capital"``; write the ``1 +`` for a
        constant (linearmodels adds none by itself, plm and R always do).
    data : pandas.DataFrame
        Indexed by (entity, time), e.g. ``df.set_index(["firm", "year"])``. May be unbalanced.
    method : {"swar", "walhus", "amemiya", "ml"}
        Estimator of the variance components: Swamy-Arora (plm's default, Stata's
        ``xtreg, re``), Wallace-Hussain, Amemiya, or maximum likelihood (which equals the
        multilevel random-intercept model fitted by ML, ``lmer(..., REML = FALSE)``).

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
    """
    design = _parse(formula, data, eval_env=3)
    return _fit(design, method)


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
        linearmodels formula with the constant written, e.g. ``"inv ~ 1 + value + capital"``.
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
        indicator=design.indicator,
    )
    return _fit(augmented, method)


# ---------------------------------------------------------------------------------------------
# Hausman test
# ---------------------------------------------------------------------------------------------
def _check_fe(fe) -> None:
    included = getattr(fe, "included_effects", None)
    if included is None:
        raise TypeError(
            "fe must be a linearmodels PanelOLS result with entity effects, e.g. "
            "PanelOLS.from_formula('y ~ x + EntityEffects', data).fit(); "
            f"got {type(fe).__name__}."
        )
    if list(included) != ["Entity"]:
        raise ValueError(
            f"fe must include entity effects only (one-way); its effects are {list(included)}."
        )


def _re_parts(re, with_exog: bool):
    """(params, cov, y Series, exog DataFrame or None, theta per entity) of a RE result."""
    if isinstance(re, RandomEffectsResult):
        d = re.design
        y = pd.Series(d.y, index=d.index)
        exog = pd.DataFrame(d.X, index=d.index, columns=d.names) if with_exog else None
        return re.params, re.cov, y, exog, re.theta
    if type(re).__name__ == "RandomEffectsResults":
        model = re.model
        y = model.dependent.dataframe.iloc[:, 0]
        exog = model.exog.dataframe if with_exog else None
        if len(y) != re.nobs:  # rows dropped for missing values
            keep = y.index.isin(re.resids.index)
            y, exog = y[keep], (exog[keep] if with_exog else None)
        return re.params, re.cov, y, exog, re.theta.iloc[:, 0]
    raise TypeError(
        "re must be a mixedtools.panel.random_effects result or a linearmodels "
        f"RandomEffects result; got {type(re).__name__}."
    )


def _same_index(a: pd.Index, b: pd.Index) -> bool:
    """Index equality, with a fast path for MultiIndexes sharing their levels."""
    if isinstance(a, pd.MultiIndex) and isinstance(b, pd.MultiIndex) and a.nlevels == b.nlevels:
        if all(x.equals(y) for x, y in zip(a.levels, b.levels, strict=True)):
            return all(np.array_equal(x, y) for x, y in zip(a.codes, b.codes, strict=True))
    return a.equals(b)


def _check_same_data(fe, y_re: pd.Series) -> None:
    y_fe = fe.model.dependent.dataframe.iloc[:, 0]
    if len(y_fe) != fe.nobs:  # rows dropped for missing values
        y_fe = y_fe[y_fe.index.isin(fe.resids.index)]
    same = len(y_fe) == len(y_re)
    if same and not _same_index(y_fe.index, y_re.index):  # same rows in another order?
        y_fe, y_re = y_fe.sort_index(), y_re.sort_index()
        same = y_fe.index.equals(y_re.index)
    if same:
        a, b = y_fe.to_numpy(float), y_re.to_numpy(float)
        same = bool(np.array_equal(a, b) or np.allclose(a, b))
    if not same:
        raise ValueError(
            f"the two models were not fitted to the same data (fe: {len(y_fe)} observations, "
            f"re: {len(y_re)}; the dependent variable or the (entity, time) rows differ)."
        )


def _compared_names(fe_params: pd.Index, re_params: pd.Index, time_invariant) -> list:
    fe_names = [nm for nm in fe_params if nm not in INTERCEPT_NAMES]
    re_names = [nm for nm in re_params if nm not in INTERCEPT_NAMES]
    only_fe = [nm for nm in fe_names if nm not in re_names]
    only_re = [nm for nm in re_names if nm not in fe_names and nm not in time_invariant]
    if only_fe or only_re:
        raise ValueError(
            "the models have different regressors: "
            f"only in fe {only_fe}, only in re {only_re}. Fit both with the same formula."
        )
    if not fe_names:
        raise ValueError("the models have no slope coefficients in common.")
    return fe_names


def hausman(fe, re, method: str = "chisq", robust: bool = False) -> HausmanResult:
    """Hausman test of fixed against random effects (H0: the individual effect is
    uncorrelated with the regressors, so both estimators are consistent).

    Parameters
    ----------
    fe : linearmodels PanelEffectsResults
        ``PanelOLS(..., entity_effects=True)`` fit, unadjusted covariance for
        ``method="chisq"``.
    re : RandomEffectsResult or linearmodels RandomEffectsResults
        The random-effects fit of the same formula on the same data.
    method : {"chisq", "aux"}
        ``"chisq"``: the classical test (b_FE - b_RE)' (V_FE - V_RE)^-1 (b_FE - b_RE) on the
        common slopes, as ``plm::phtest(fe, re)``. ``"aux"``: the regression-based test
        (Mundlak, Wooldridge): the quasi-demeaned y on the quasi-demeaned regressors and the
        within-demeaned time-varying regressors; Wald test that the latter are 0, as
        ``plm::phtest(formula, data, method = "aux")``. Like plm, the auxiliary regression keeps
        an untransformed intercept column; on unbalanced panels (theta varying by entity) the
        statistic therefore differs from the Wald test of the means in :func:`mundlak`, which
        transforms the intercept to 1 - theta_i as GLS does. On balanced panels the two agree.
    robust : bool, default False
        With ``method="aux"``: use the cluster-robust (by entity) covariance without small-sample
        correction (``vcovHC(method = "arellano", type = "HC0")`` in R), valid under
        heteroscedasticity and serial correlation. The classical test has no robust form.

    Returns
    -------
    HausmanResult
        ``statistic``, ``df``, ``p_value``, ``method`` and the compared ``coefficients``.

    Warns
    -----
    UserWarning
        When V_FE - V_RE is not positive definite: the classical statistic is then not a
        valid chi-squared statistic; its absolute value is reported (as plm does), and the
        regression-based robust test is the one to use.

    Raises
    ------
    ValueError
        If the models were fitted to different data or different regressors, or fe has no
        entity effects.

    Examples
    --------
    >>> import mixedtools as mt
    >>> from linearmodels import PanelOLS
    >>> grunfeld = mt.datasets.load("grunfeld").set_index(["firm", "year"])
    >>> fe = PanelOLS.from_formula("inv ~ value + capital + EntityEffects", grunfeld).fit()
    >>> re = mt.panel.random_effects("inv ~ 1 + value + capital", grunfeld)
    >>> h = mt.panel.hausman(fe, re)
    >>> round(h.statistic, 4), h.df, round(h.p_value, 4)
    (2.3304, 2, 0.3119)
    >>> round(mt.panel.hausman(fe, re, method="aux", robust=True).statistic, 4)
    8.2998
    """
    if method not in ("chisq", "aux"):
        raise ValueError(f"method must be 'chisq' or 'aux'; got {method!r}.")
    if robust and method == "chisq":
        raise ValueError(
            "the classical Hausman test has no robust form; use method='aux', robust=True."
        )
    _check_fe(fe)
    if method == "chisq":
        for label, fit in (("fe", fe), ("re", re)):
            cov_type = getattr(fit, "_cov_type", "Unadjusted")
            if cov_type != "Unadjusted":
                raise ValueError(
                    f"the classical Hausman test needs the classical covariance of both fits; "
                    f"{label} was fitted with cov_type {cov_type!r}. Refit with the default "
                    "covariance, or use method='aux', robust=True for a robust test."
                )
    re_params, re_cov, y, exog, theta = _re_parts(re, with_exog=method == "aux")
    _check_same_data(fe, y)
    if isinstance(re, RandomEffectsResult):
        time_invariant = re.time_invariant
    elif set(re_params.index) - set(fe.params.index) - set(INTERCEPT_NAMES):
        # regressors only in the linearmodels RE fit: allowed if they do not vary over time
        re_exog = re.model.exog.dataframe
        spread = re_exog.groupby(level=0).agg(lambda v: v.max() - v.min()).max()
        time_invariant = tuple(spread.index[spread <= 1e-10 * re_exog.abs().max().clip(lower=1)])
    else:
        time_invariant = ()
    names = _compared_names(fe.params.index, re_params.index, time_invariant)
    if method == "chisq":
        return _hausman_chisq(fe, re_params, re_cov, names)
    return _hausman_aux(y, exog, theta, names, robust)


def _hausman_chisq(fe, re_params, re_cov, names) -> HausmanResult:
    fe_params, fe_cov = fe.params, fe.cov  # linearmodels computes these on each access
    i_fe, i_re = fe_params.index.get_indexer(names), re_params.index.get_indexer(names)
    b_fe, b_re = fe_params.to_numpy()[i_fe], re_params.to_numpy()[i_re]
    diff = b_fe - b_re
    dcov = fe_cov.to_numpy()[np.ix_(i_fe, i_fe)] - re_cov.to_numpy()[np.ix_(i_re, i_re)]
    quad = float(diff @ np.linalg.solve(dcov, diff))
    smallest = float(np.linalg.eigvalsh((dcov + dcov.T) / 2).min())
    if smallest <= 0:
        warnings.warn(
            "V_FE - V_RE is not positive definite (smallest eigenvalue "
            f"{smallest:.3g}); the classical Hausman statistic is not a valid chi-squared "
            f"statistic here (quadratic form {quad:.4g}; its absolute value is reported, as "
            "plm does). Use hausman(fe, re, method='aux', robust=True).",
            UserWarning,
            stacklevel=3,
        )
    statistic = abs(quad)
    se = np.sqrt(np.where(np.diag(dcov) > 0, np.diag(dcov), np.nan))
    table = pd.DataFrame({"fe": b_fe, "re": b_re, "difference": diff, "std_error": se}, index=names)
    df = len(names)
    return HausmanResult(
        statistic=statistic,
        df=df,
        p_value=float(stats.chi2.sf(statistic, df)),
        method="Hausman test (classical), H0: random effects consistent",
        coefficients=table,
    )


def _hausman_aux(y, exog, theta, names, robust) -> HausmanResult:
    codes, entities = pd.factorize(exog.index.get_level_values(0))
    counts = np.bincount(codes).astype(float)
    theta_rows = theta.reindex(entities).to_numpy()[codes]

    def means(values):
        sums = np.zeros((len(entities), values.shape[1]))
        np.add.at(sums, codes, values)
        return (sums / counts[:, None])[codes]

    slopes = [c for c in exog.columns if c not in INTERCEPT_NAMES]
    X = exog[slopes].to_numpy(float)
    mean_x = means(X)
    mean_y = means(y.to_numpy(float)[:, None])[:, 0]
    tested_cols = [slopes.index(nm) for nm in names]
    regressors = np.column_stack(
        [np.ones(len(y)), X - theta_rows[:, None] * mean_x, (X - mean_x)[:, tested_cols]]
    )
    y_star = y.to_numpy(float) - theta_rows * mean_y
    bread = np.linalg.inv(regressors.T @ regressors)
    coef = bread @ (regressors.T @ y_star)
    resid = y_star - regressors @ coef
    if robust:
        scores = np.zeros((len(entities), regressors.shape[1]))
        np.add.at(scores, codes, regressors * resid[:, None])
        cov = bread @ (scores.T @ scores) @ bread
    else:
        cov = bread * (resid @ resid / (len(y) - regressors.shape[1]))
    tested = np.arange(1 + len(slopes), regressors.shape[1])
    b = coef[tested]
    statistic = float(b @ np.linalg.solve(cov[np.ix_(tested, tested)], b))
    df = len(tested)
    label = "cluster-robust (Arellano, HC0)" if robust else "classical covariance"
    table = pd.DataFrame(
        {"estimate": b, "std_error": np.sqrt(np.diag(cov)[tested])},
        index=[f"{nm} (within)" for nm in names],
    )
    return HausmanResult(
        statistic=statistic,
        df=df,
        p_value=float(stats.chi2.sf(statistic, df)),
        method=f"Regression-based Hausman test, {label}",
        coefficients=table,
    )


# ---------------------------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------------------------
def simulate(
    n_entities: int,
    n_periods: int,
    beta: float = 1.0,
    corr: float = 0.0,
    sigma_id: float = 1.0,
    sigma_idios: float = 1.0,
    hetero: float = 0.0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate a balanced panel y_it = beta x_it + u_i + e_it, with corr(u_i, xbar_i) set.

    The regressor is x_it = a_i + w_it with a_i and w_it standard normal; the individual
    effect is u_i = sigma_id (corr a_i + sqrt(1 - corr^2) v_i), so ``corr`` is the
    correlation between u_i and the entity's permanent level a_i of x. With ``corr = 0`` the
    random-effects assumption holds; otherwise only fixed effects are consistent.

    Parameters
    ----------
    n_entities, n_periods : int
        N and T.
    beta : float
        True slope.
    corr : float
        Correlation between u_i and a_i, in [-1, 1].
    sigma_id, sigma_idios : float
        Standard deviations of u_i and e_it.
    hetero : float, default 0
        Heteroscedasticity: the standard deviation of e_it is
        ``sigma_idios * exp(hetero * |a_i|) / c``, with c chosen so that its mean square over
        the normal distribution of a_i is ``sigma_idios**2``; entities with an extreme level of
        x are noisier. 0 gives homoscedastic errors.
    seed : int, optional
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    pandas.DataFrame
        Columns ``y``, ``x``, indexed by (entity, time).

    Examples
    --------
    >>> import mixedtools as mt
    >>> panel = mt.panel.simulate(50, 5, corr=0.5, seed=1)
    >>> panel.shape, list(panel.index.names)
    ((250, 2), ['entity', 'time'])
    """
    if not -1 <= corr <= 1:
        raise ValueError(f"corr must lie in [-1, 1]; got {corr}.")
    if n_entities < 2 or n_periods < 2:
        raise ValueError("a panel needs n_entities >= 2 and n_periods >= 2.")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n_entities)
    u = sigma_id * (corr * a + np.sqrt(1 - corr**2) * rng.standard_normal(n_entities))
    x = a[:, None] + rng.standard_normal((n_entities, n_periods))
    # E exp(2 h |a|) = 2 exp(2 h^2) Phi(2 h) for standard normal a
    scale = np.sqrt(2 * np.exp(2 * hetero**2) * stats.norm.cdf(2 * hetero))
    sd = sigma_idios * np.exp(hetero * np.abs(a)) / scale
    y = beta * x + u[:, None] + sd[:, None] * rng.standard_normal((n_entities, n_periods))
    index = pd.MultiIndex.from_product(
        [np.arange(n_entities), np.arange(n_periods)], names=["entity", "time"]
    )
    return pd.DataFrame({"y": y.ravel(), "x": x.ravel()}, index=index)
