"""The Hausman test of fixed against random effects: classical (``plm::phtest``) or
regression-based with a cluster-robust covariance.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import special
from scipy.linalg import lapack

from mixedtools.panel._design import (
    INTERCEPT_NAMES,
)
from mixedtools.panel.random_effects_gls import RandomEffectsResult
from mixedtools.panel.within_fit import FixedEffectsResult
from mixedtools.report import format_p

__all__ = ["HausmanResult", "hausman"]


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
        Built on first access from ``table``, ``(values, row names, column names)``: a
        DataFrame costs more than the test itself on a small panel.
    bootstrap_p_value : float or None
        With ``n_boot``: the wild cluster bootstrap p-value of the robust regression-based test.
    n_boot : int or None
        Number of bootstrap samples.
    """

    statistic: float
    df: int
    p_value: float
    method: str
    table: tuple = field(compare=False)
    bootstrap_p_value: float | None = None
    n_boot: int | None = None

    @cached_property
    def coefficients(self) -> pd.DataFrame:
        values, rows, columns = self.table
        return pd.DataFrame(values, index=pd.Index(rows), columns=pd.Index(columns))

    def __repr__(self) -> str:
        p_text = format_p(self.p_value)
        p_text = p_text if p_text.startswith("<") else f"= {p_text}"
        return (
            f"{self.method}\nchisq = {self.statistic:.4f}, df = {self.df}, "
            f"p-value {p_text}\n"
            + (
                f"wild cluster bootstrap ({self.n_boot} samples): p-value "
                f"{format_p(self.bootstrap_p_value)}\n"
                if self.bootstrap_p_value is not None
                else ""
            )
            + f"{self.coefficients.round(6).to_string()}"
        )


# Hausman test
# ---------------------------------------------------------------------------------------------
def _check_fe(fe) -> None:
    if isinstance(fe, FixedEffectsResult):
        return
    included = getattr(fe, "included_effects", None)
    if included is None:
        raise TypeError(
            "fe must be a mt.panel.fixed_effects result or a linearmodels PanelOLS result "
            "with entity effects, e.g. PanelOLS.from_formula('y ~ x + EntityEffects', data).fit(); "
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
    if isinstance(fe, FixedEffectsResult) and fe.design.index is y_re.index:
        # both fitted to one DataFrame: compare the responses only
        a, b = fe.design.y, y_re.to_numpy(float)
        if a.shape == b.shape and np.array_equal(a, b):
            return
    if isinstance(fe, FixedEffectsResult):
        y_fe = pd.Series(fe.design.y, index=fe.design.index)
    else:
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


def _regressors(fit) -> pd.DataFrame:
    """The regressor columns of a fit (mixedtools or linearmodels), on its estimation rows."""
    if isinstance(fit, (FixedEffectsResult, RandomEffectsResult)):
        d = fit.design
        return pd.DataFrame(d.X, index=d.index, columns=d.names)
    exog = fit.model.exog.dataframe
    if len(exog) != fit.nobs:  # rows dropped for missing values
        exog = exog[exog.index.isin(fit.resids.index)]
    return exog


def _design_columns(fit, names):
    """The named regressor columns of a mixedtools fit as an array (no DataFrame is built)."""
    where = {nm: i for i, nm in enumerate(fit.design.names)}
    return fit.design.X[:, [where[nm] for nm in names]]


def _check_same_regressors(fe, re, names) -> None:
    """Refuse fits whose regressors share a name but not their values (e.g. ``value`` in one and
    ``log(value)`` stored as ``value`` in the other): the test would compare unrelated slopes."""
    mine = (FixedEffectsResult, RandomEffectsResult)
    if (
        isinstance(fe, mine)
        and isinstance(re, mine)
        and (fe.design.index is re.design.index or _same_index(fe.design.index, re.design.index))
    ):
        # both fits of mixedtools on the same rows: compare the arrays (fast path)
        rows = fe.design.index
        a, b = _design_columns(fe, names), _design_columns(re, names)
    else:
        a, b = _regressors(fe)[names], _regressors(re)[names]
        if not _same_index(a.index, b.index):  # the same rows in another order
            a, b = a.sort_index(), b.sort_index()
        rows = a.index
        a, b = a.to_numpy(float), b.to_numpy(float)
    if a.shape == b.shape and np.array_equal(a, b):
        return
    scale = np.maximum(np.abs(a).max(axis=0), np.abs(b).max(axis=0))
    differ = ~np.isclose(a, b, rtol=1e-8, atol=0) & (np.abs(a - b) > 1e-12 * scale)
    columns = np.flatnonzero(differ.any(axis=0))
    if columns.size:
        j = columns[0]
        i = np.flatnonzero(differ[:, j])[0]
        listed = ", ".join(repr(names[c]) for c in columns)
        row = rows[i]
        row = "(" + ", ".join(map(str, row)) + ")" if isinstance(row, tuple) else str(row)
        raise ValueError(
            f"the regressor(s) {listed} have the same name in fe and re but different values "
            f"(e.g. {names[j]!r} in row {row}: {a[i, j]:.6g} in fe, {b[i, j]:.6g} in re; "
            f"{int(differ[:, j].sum())} of {len(a)} rows differ), so the two fits are not of "
            "the same model. Fit both with the same formula on the same data."
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


def hausman(
    fe,
    re,
    method: str = "chisq",
    robust: bool = False,
    n_boot: int | None = None,
    weights: str = "webb",
    seed: int | None = None,
) -> HausmanResult:
    """Hausman test of fixed against random effects (H0: the individual effect is
    uncorrelated with the regressors, so both estimators are consistent).

    Parameters
    ----------
    fe : FixedEffectsResult or linearmodels PanelEffectsResults
        :func:`fixed_effects` fit, or ``PanelOLS(..., entity_effects=True)`` fit with the
        unadjusted covariance for ``method="chisq"`` (both give the same test).
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
    n_boot : int, optional
        With ``method="aux", robust=True``: also a restricted wild cluster bootstrap p-value
        (``bootstrap_p_value``) for panels with few entities, where the chi-squared reference
        of the cluster-robust statistic over-rejects. The auxiliary regression is refitted
        without the within-demeaned regressors (H0 imposed, theta kept at its estimate); each
        sample multiplies the restricted residuals of entity j by one weight ``w_j`` and the
        robust statistic is recomputed; the p-value is the share of bootstrap statistics at
        least as large as the observed one.
    weights : {"webb", "rademacher"}
        Bootstrap weights (Webb's six-point distribution suits fewer than about 12 entities).
    seed : int, optional
        Seed of ``numpy.random.default_rng`` for the bootstrap.

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
        If the models were fitted to different data or different regressors (also regressors
        that share a name but not their values), or fe has no entity effects.

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
    >>> boot = mt.panel.hausman(fe, re, method="aux", robust=True, n_boot=999, seed=1)
    >>> boot.n_boot, bool(boot.bootstrap_p_value > boot.p_value)
    (999, True)
    """
    if n_boot is not None and not (method == "aux" and robust):
        raise ValueError("n_boot (the wild cluster bootstrap) needs method='aux', robust=True.")
    if n_boot is not None and int(n_boot) < 99:
        raise ValueError(f"n_boot must be at least 99; got {n_boot}.")
    if weights not in ("webb", "rademacher"):
        raise ValueError(f"weights must be 'webb' or 'rademacher'; got {weights!r}.")
    if method not in ("chisq", "aux"):
        raise ValueError(f"method must be 'chisq' or 'aux'; got {method!r}.")
    if robust and method == "chisq":
        raise ValueError(
            "the classical Hausman test has no robust form; use method='aux', robust=True."
        )
    _check_fe(fe)
    fe_effect = getattr(fe, "effect", "individual")
    re_effect = getattr(re, "effect", "individual")
    if fe_effect != re_effect:
        raise ValueError(
            f"fe has effect={fe_effect!r} and re effect={re_effect!r}; fit both with the same "
            "effect (e.g. effect='twoways' in fixed_effects and random_effects)."
        )
    if method == "aux" and fe_effect != "individual":
        raise ValueError(
            "the regression-based test is implemented for one-way (entity) effects; use "
            "method='chisq' for two-way fits, or mundlak() with period dummies."
        )
    if method == "chisq":
        for label, fit in (("fe", fe), ("re", re)):
            cov_type = getattr(fit, "_cov_type", "Unadjusted")
            if cov_type != "Unadjusted":
                raise ValueError(
                    f"the classical Hausman test needs the classical covariance of both fits; "
                    f"{label} was fitted with cov_type {cov_type!r}. Refit with the default "
                    "covariance, or use method='aux', robust=True for a robust test."
                )
    if (
        method == "chisq"
        and isinstance(fe, FixedEffectsResult)
        and isinstance(re, RandomEffectsResult)
        and fe.design.index is re.design.index
        and np.array_equal(fe.design.y, re.design.y)
    ):
        # both fitted by mixedtools to one DataFrame (fast path: arrays cached on the fits)
        fe_names, fe_where, fe_b, fe_v = fe.arrays
        re_names, re_where, re_b, re_v = re.arrays
        names = _compared_names(fe_names, re_names, re.time_invariant)
        _check_same_regressors(fe, re, names)
        return _chisq_from_arrays(names, fe_where, fe_b, fe_v, re_where, re_b, re_v)
    else:
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
    _check_same_regressors(fe, re, names)
    if method == "chisq":
        return _hausman_chisq(fe, re_params, re_cov, names)
    return _hausman_aux(y, exog, theta, names, robust, n_boot, weights, seed)


_CHISQ_COLUMNS = ("fe", "re", "difference", "std_error")


def _hausman_chisq(fe, re_params, re_cov, names) -> HausmanResult:
    fe_params, fe_cov = fe.params, fe.cov  # linearmodels computes these on each access
    # positions by name (a dict: pandas' get_indexer costs more than the test itself here)
    return _chisq_from_arrays(
        names,
        {nm: i for i, nm in enumerate(fe_params.index.tolist())},
        fe_params.to_numpy(),
        fe_cov.to_numpy(),
        {nm: i for i, nm in enumerate(re_params.index.tolist())},
        re_params.to_numpy(),
        re_cov.to_numpy(),
    )


def _chisq_from_arrays(names, where_fe, b_fe_all, v_fe, where_re, b_re_all, v_re):
    """The classical statistic from coefficient vectors, covariances and name positions."""
    i_fe = [where_fe[nm] for nm in names]
    i_re = [where_re[nm] for nm in names]
    b_fe, b_re = b_fe_all[i_fe], b_re_all[i_re]
    diff = b_fe - b_re
    dcov = v_fe[i_fe][:, i_fe] - v_re[i_re][:, i_re]
    # positive definite (the usual case): one Cholesky factor gives the quadratic form (raw
    # LAPACK calls: numpy's and scipy's wrappers cost more than a k x k factorisation)
    factor, info = lapack.dpotrf(dcov, lower=1)
    if info == 0:
        half, info = lapack.dtrtrs(factor, diff, lower=1)
    if info == 0:
        quad, smallest = float(half @ half), None
    else:
        quad = float(diff @ np.linalg.solve(dcov, diff))
        smallest = float(np.linalg.eigvalsh((dcov + dcov.T) / 2)[0])
    if smallest is not None and smallest <= 0:
        warnings.warn(
            "V_FE - V_RE is not positive definite (smallest eigenvalue "
            f"{smallest:.3g}); the classical Hausman statistic is not a valid chi-squared "
            f"statistic here (quadratic form {quad:.4g}; its absolute value is reported, as "
            "plm does). Use hausman(fe, re, method='aux', robust=True).",
            UserWarning,
            stacklevel=3,
        )
    statistic = abs(quad)
    variances = dcov.diagonal()
    se = np.sqrt(np.where(variances > 0, variances, np.nan))
    table = (np.array([b_fe, b_re, diff, se]).T, list(names), _CHISQ_COLUMNS)
    df = len(names)
    return HausmanResult(
        statistic=statistic,
        df=df,
        p_value=float(special.chdtrc(df, statistic)),
        method="Hausman test (classical), H0: random effects consistent",
        table=table,
    )


def _wild_statistics(regressors, tested, y_star, codes, n_entities, n_boot, weights, seed):
    """Robust Wald statistics of the tested coefficients in wild cluster bootstrap samples drawn
    with H0 imposed (the restricted fit without the tested columns)."""
    kept = np.setdiff1d(np.arange(regressors.shape[1]), tested)
    R = regressors[:, kept]
    fitted_r = R @ np.linalg.lstsq(R, y_star, rcond=None)[0]
    resid_r = y_star - fitted_r
    rng = np.random.default_rng(seed)
    if weights == "rademacher":
        values = np.array([-1.0, 1.0])
    else:
        values = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    w = rng.choice(values, size=(n_entities, int(n_boot)))
    y_b = fitted_r[:, None] + resid_r[:, None] * w[codes]  # (n, B)
    bread = np.linalg.inv(regressors.T @ regressors)
    coef = bread @ (regressors.T @ y_b)  # (p, B)
    resid = y_b - regressors @ coef
    # per entity: the tested rows of bread @ X_j' e_j, for every sample at once -> (G, q, B)
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n_entities))])
    u = np.empty((n_entities, len(tested), int(n_boot)))
    bt = bread[tested]
    for j in range(n_entities):
        rows = order[bounds[j] : bounds[j + 1]]
        u[j] = bt @ (regressors[rows].T @ resid[rows])
    V = np.einsum("gab,gcb->bac", u, u)  # (B, q, q)
    b = coef[tested].T  # (B, q)
    return np.einsum("ba,ba->b", b, np.linalg.solve(V, b[:, :, None])[:, :, 0])


def _hausman_aux(
    y, exog, theta, names, robust, n_boot=None, weights="webb", seed=None
) -> HausmanResult:
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
    table = (
        np.column_stack([b, np.sqrt(np.diag(cov)[tested])]),
        [f"{nm} (within)" for nm in names],
        ("estimate", "std_error"),
    )
    boot_p = None
    if n_boot is not None:
        stats_b = _wild_statistics(
            regressors, tested, y_star, codes, len(entities), n_boot, weights, seed
        )
        boot_p = float(np.mean(stats_b >= statistic))
    return HausmanResult(
        statistic=statistic,
        df=df,
        p_value=float(special.chdtrc(df, statistic)),
        method=f"Regression-based Hausman test, {label}",
        table=table,
        bootstrap_p_value=boot_p,
        n_boot=None if n_boot is None else int(n_boot),
    )
