"""Estimated marginal means and their pairwise contrasts, as R's emmeans computes them.

The *reference grid* crosses the levels of every factor in the fixed part of the model, with each
covariate at its mean over the rows used in the fit (or at values given in ``at``). An estimated
marginal mean (EMM) of a level of the focal factor(s) is the model's prediction averaged with
equal weights over the grid rows of that level, i.e. a linear combination ``l' beta`` of the fixed
effects. Its standard error is ``sqrt(l' Phi l)``; its degrees of freedom come from the df
machinery of :func:`mixedtools.lmm.ddf.contrast_test` (Satterthwaite or Kenward-Roger, whose
adjusted covariance then also gives the standard error, as emmeans does with
``lmer.df = "kenward-roger"``). Pairwise contrasts are differences of such combinations, with
Tukey (studentized range with each contrast's df), Holm, Bonferroni or no adjustment.

Fits from :func:`mixedtools.lmer` and statsmodels' formula-API OLS results are accepted.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy
from scipy import stats

from mixedtools.lmm.ddf import DDF_METHODS, contrast_test, kenward_roger

__all__ = ["EMMeans", "emmeans", "pairs", "ADJUSTMENTS"]

ADJUSTMENTS = ("tukey", "holm", "bonferroni", "none")


# --------------------------------------------------------------------------- the model
@dataclass
class _Model:
    """What the reference grid needs of a fit, whatever its kind."""

    design_info: patsy.DesignInfo
    data: pd.DataFrame
    beta: np.ndarray
    vcov: np.ndarray
    names: list
    kind: str  # "lmer" or "ols"
    fit: object = None
    df_resid: float = np.inf
    cache: dict = field(default_factory=dict)


def _model_of(fit) -> _Model:
    design = getattr(fit, "design", None)
    if design is not None and hasattr(design, "fe_design_info") and hasattr(fit, "fixef"):
        return _Model(
            design_info=design.fe_design_info,
            data=design.data,
            beta=np.asarray(fit.fixef, float),
            vcov=np.asarray(fit.vcov, float),
            names=list(fit.fixef.index),
            kind="lmer",
            fit=fit,
        )
    model = getattr(fit, "model", None)
    mdata = getattr(model, "data", None)
    info = getattr(mdata, "design_info", None) or getattr(mdata, "model_spec", None)
    if info is not None and hasattr(fit, "cov_params") and hasattr(fit, "df_resid"):
        if hasattr(fit, "cov_re"):
            raise TypeError("statsmodels MixedLM results are not supported; fit with mt.lmer")
        frame = getattr(model.data, "frame", None)
        if frame is None:
            raise TypeError(
                "the statsmodels result keeps no data frame; fit it with the formula API"
            )
        rows = getattr(model.data, "row_labels", None)
        data = frame.loc[rows] if rows is not None else frame
        return _Model(
            design_info=info,
            data=data,
            beta=np.asarray(fit.params, float),
            vcov=np.asarray(fit.cov_params(), float),
            names=list(info.column_names),
            kind="ols",
            df_resid=float(fit.df_resid),
        )
    raise TypeError(
        "emmeans needs an mt.lmer fit or a statsmodels OLS result from the formula API, "
        f"got {type(fit).__name__}"
    )


_NAME = re.compile(r"""Q\((["'])(.*?)\1\)|([A-Za-z_.][A-Za-z0-9_.]*)""")


def _variables(code: str, columns) -> list:
    """Data columns a patsy factor's code refers to (plain names and Q("...") names)."""
    if code in columns:
        return [code]
    found = []
    for quoted_q, quoted, plain in _NAME.findall(code):
        name = quoted if quoted_q else plain
        if name in columns and name not in found:
            found.append(name)
    return found


def _grid_variables(model: _Model, at: dict):
    """Factors (with levels) and covariates (with grid values) of the fixed part."""
    factors: dict = {}
    categories: dict = {}
    covariates: dict = {}
    columns = list(model.data.columns)
    for factor, info in model.design_info.factor_infos.items():
        names = _variables(factor.code, columns)
        if not names:
            raise ValueError(f"cannot find the data column behind the model term {factor.code!r}")
        if info.type == "categorical":
            if len(names) != 1:
                raise ValueError(
                    f"the factor {factor.code!r} refers to several columns ({', '.join(names)}); "
                    "make one column of it before fitting"
                )
            factors.setdefault(names[0], list(info.categories))
            categories.setdefault(names[0], list(info.categories))
        else:
            for name in names:
                if name in factors:
                    continue
                values = pd.to_numeric(model.data[name], errors="coerce")
                covariates.setdefault(name, [float(values.mean())])
    for name, values in at.items():
        values = list(np.atleast_1d(values))
        if name in factors:
            unknown = [v for v in values if v not in factors[name]]
            if unknown:
                raise ValueError(
                    f"at: {unknown!r} are not levels of {name!r} (levels: {factors[name]!r})"
                )
            factors[name] = [v for v in factors[name] if v in values]  # in level order
        elif name in covariates:
            covariates[name] = [float(v) for v in values]
        else:
            raise ValueError(
                f"at: {name!r} is not a variable of the fixed part "
                f"(factors: {list(factors)}, covariates: {list(covariates)})"
            )
    return factors, covariates, categories


def _as_list(x, what):
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    out = list(x)
    if not all(isinstance(v, str) for v in out):
        raise TypeError(f"{what} must be a column name or a list of column names")
    return out


# --------------------------------------------------------------------------- inference
def _linear_inference(model: _Model, L: np.ndarray, ddf: str):
    """Estimate, standard error and df of each row of ``L``."""
    est = L @ model.beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", L, model.vcov, L))
    if model.kind == "ols":
        return est, se, np.full(len(est), model.df_resid)
    df = np.empty(len(est))
    for i, row in enumerate(L):
        key = (ddf, row.tobytes())
        if key not in model.cache:
            res = contrast_test(model.fit, row[None, :], ddf=ddf, polish=False)
            if ddf == "kenward-roger":
                # q = 1: the scale is 1, so F = estimate^2 / (l' Phi_A l)
                scale = max(abs(est[i]), se[i])
                if np.isfinite(res["F"]) and res["F"] > 0 and abs(est[i]) > 1e-6 * scale:
                    se_i = abs(est[i]) / np.sqrt(res["F"])
                else:
                    fit = model.fit
                    se_i = float(
                        kenward_roger(fit.structure, fit.tau, row[None, :])["std_error"][0]
                    )
            else:
                se_i = se[i]
            model.cache[key] = (float(res["den_df"]), float(se_i))
        df[i], se[i] = model.cache[key]
    return est, se, df


def _t_summary(est, se, df, level, crit=None):
    t = est / se
    p = np.where(np.isinf(df), 2 * stats.norm.sf(np.abs(t)), 2 * stats.t.sf(np.abs(t), df))
    if crit is None:
        crit = np.where(
            np.isinf(df), stats.norm.ppf(0.5 + level / 2), stats.t.ppf(0.5 + level / 2, df)
        )
    return t, p, est - crit * se, est + crit * se


def _tukey_p(t, df, k):
    q = np.sqrt(2.0) * np.abs(t)
    df = np.where(np.isinf(df), 1e6, df)  # scipy's studentized range needs a finite df
    return np.array([stats.studentized_range.sf(qi, k, di) for qi, di in zip(q, df, strict=True)])


def _tukey_crit(level, df, k):
    df = np.where(np.isinf(df), 1e6, df)
    return np.array([stats.studentized_range.ppf(level, k, di) for di in df]) / np.sqrt(2.0)


def _holm(p):
    p = np.asarray(p, float)
    m = len(p)
    order = np.argsort(p)
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


# --------------------------------------------------------------------------- the result
class EMMeans:
    """Estimated marginal means of a fit, with the linear functions behind them.

    Attributes
    ----------
    table : DataFrame
        One row per EMM: the ``by`` and ``specs`` columns, then ``emmean, std_error, df,
        ci_lower, ci_upper, t, p_value`` (the t test of EMM = 0).
    L : DataFrame
        The linear combinations of the fixed effects (rows as in ``table``).
    specs, by : list of str
    ddf : str
    level : float
    contrasts : DataFrame or None
        Pairwise contrasts when asked for with ``contrasts="pairwise"``.
    """

    def __init__(self, model, table, L, specs, by, ddf, level):
        self._model = model
        self.table = table
        self.L = L
        self.specs = specs
        self.by = by
        self.ddf = ddf
        self.level = level
        self.contrasts = None

    def pairs(self, adjust: str = "tukey", level: float | None = None) -> pd.DataFrame:
        """Pairwise differences of the EMMs (within each ``by`` group); see :func:`pairs`."""
        return pairs(self, adjust=adjust, level=level)

    def __repr__(self) -> str:
        text = "Estimated marginal means\n" + self.table.to_string(index=False)
        text += f"\n(df: {self.ddf}; confidence level {self.level})"
        if self.contrasts is not None:
            text += "\n\nPairwise contrasts\n" + self.contrasts.to_string(index=False)
        return text

    def _repr_html_(self) -> str:
        html = "<p>Estimated marginal means</p>" + self.table.to_html(index=False)
        if self.contrasts is not None:
            html += "<p>Pairwise contrasts</p>" + self.contrasts.to_html(index=False)
        return html


def _check_ddf(ddf, model):
    name = str(ddf).lower().replace("_", "-")
    name = {"kr": "kenward-roger", "kenward roger": "kenward-roger"}.get(name, name)
    if name not in DDF_METHODS:
        raise ValueError(f"unknown ddf method {ddf!r}; choose one of {', '.join(DDF_METHODS)}")
    return name if model.kind == "lmer" else "residual"


def emmeans(
    fit,
    specs,
    by=None,
    at: dict | None = None,
    ddf: str = "satterthwaite",
    level: float = 0.95,
    contrasts: str | None = None,
    adjust: str = "tukey",
) -> EMMeans:
    """Estimated marginal means (least-squares means), as R's ``emmeans::emmeans``.

    Parameters
    ----------
    fit : LmerResult or statsmodels OLS results
        A :func:`mixedtools.lmer` fit, or an OLS fit from ``statsmodels.formula.api.ols``.
    specs : str or list of str
        The focal factor(s): one EMM for each combination of their levels.
    by : str or list of str, optional
        Factor(s) to condition on: EMMs (and contrasts) are computed within each of their levels.
    at : dict, optional
        Grid values: a covariate name -> value(s) (default: the covariate's mean over the rows
        used in the fit), or a factor name -> a subset of its levels.
    ddf : str
        Degrees of freedom of a mixed model: "satterthwaite" (default), "kenward-roger" (its
        adjusted covariance also gives the standard errors), "residual", "asymptotic", ... (see
        :mod:`mixedtools.lmm.ddf`). OLS fits always use their residual df.
    level : float
        Confidence level of the intervals.
    contrasts : {None, "pairwise"}
        With "pairwise", the result's ``contrasts`` holds :func:`pairs` with ``adjust``.
    adjust : {"tukey", "holm", "bonferroni", "none"}
        Multiplicity adjustment of the pairwise contrasts.

    Returns
    -------
    EMMeans
        ``.table`` (the EMMs), ``.L`` (their linear functions), ``.pairs()`` and, with
        ``contrasts="pairwise"``, ``.contrasts``.

    Notes
    -----
    Factors not among ``specs`` and ``by`` are averaged with equal weights over their levels
    (emmeans' default), not weighted by their frequencies; covariates sit at their means.

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("score ~ machine + (1 | worker/machine)", mt.datasets.load("machines"))
    >>> emm = mt.emmeans(fit, "machine")
    >>> emm.table[["machine", "emmean", "std_error", "df"]].round(3)
      machine  emmean  std_error     df
    0       A  52.356      2.486  8.522
    1       B  60.322      2.486  8.522
    2       C  66.272      2.486  8.522
    >>> emm.pairs(adjust="tukey")[["contrast", "estimate", "df", "p_value"]].round(4)
      contrast  estimate    df  p_value
    0    A - B   -7.9667  10.0   0.0111
    1    A - C  -13.9167  10.0   0.0002
    2    B - C   -5.9500  10.0   0.0507
    """
    model = _model_of(fit)
    ddf = _check_ddf(ddf, model)
    if not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1, got {level}")
    specs = _as_list(specs, "specs")
    by = _as_list(by, "by")
    if not specs:
        raise ValueError("specs must name at least one factor")
    if set(specs) & set(by):
        raise ValueError(f"{sorted(set(specs) & set(by))} cannot be both in specs and in by")
    if at is not None and not isinstance(at, dict):
        raise TypeError("at must be a dict: variable name -> value(s)")
    factors, covariates, categories = _grid_variables(model, dict(at or {}))
    variables = {**factors, **covariates}
    for name in specs + by:
        if name not in variables:
            raise ValueError(
                f"{name!r} is not a factor of the model's fixed part "
                f"(factors: {', '.join(factors) or 'none'})"
            )
    # the reference grid, first variable varying fastest (as emmeans prints it)
    names = list(variables)
    combos = list(itertools.product(*[variables[n] for n in reversed(names)]))
    grid = pd.DataFrame([tuple(reversed(c)) for c in combos], columns=names)
    for name in factors:
        grid[name] = pd.Categorical(grid[name], categories=categories[name])
    try:
        (X,) = patsy.build_design_matrices([model.design_info], grid, return_type="matrix")
    except patsy.PatsyError as err:
        raise ValueError(f"cannot build the reference grid's design: {err}") from None
    X = np.asarray(X, float)

    # EMMs: equal-weight averages of the grid rows of each (by, specs) cell
    keys = by + specs
    order = [tuple(variables[n]) for n in keys]
    cells = list(itertools.product(*[order[i] for i in range(len(by))]))
    rows, labels = [], []
    for by_values in cells or [()]:
        spec_combos = itertools.product(*[variables[n] for n in reversed(specs)])
        for spec_values in (tuple(reversed(c)) for c in spec_combos):
            mask = np.ones(len(grid), bool)
            for name, value in zip(keys, by_values + spec_values, strict=True):
                mask &= (grid[name] == value).to_numpy()
            rows.append(X[mask].mean(axis=0))
            labels.append(by_values + spec_values)
    L = np.array(rows)
    est, se, df = _linear_inference(model, L, ddf)
    t, p, lo, hi = _t_summary(est, se, df, level)
    table = pd.DataFrame(labels, columns=keys)
    table = table[specs + by] if by else table
    table = table.assign(emmean=est, std_error=se, df=df, ci_lower=lo, ci_upper=hi, t=t, p_value=p)
    result = EMMeans(
        model,
        table,
        pd.DataFrame(L, columns=model.names),
        specs,
        by,
        ddf,
        level,
    )
    if contrasts is not None:
        if contrasts != "pairwise":
            raise ValueError(f"contrasts must be None or 'pairwise', got {contrasts!r}")
        result.contrasts = pairs(result, adjust=adjust)
    return result


def pairs(emm: EMMeans, adjust: str = "tukey", level: float | None = None) -> pd.DataFrame:
    """Pairwise differences of estimated marginal means, as emmeans' ``pairs()``.

    Parameters
    ----------
    emm : EMMeans
        The result of :func:`emmeans`.
    adjust : {"tukey", "holm", "bonferroni", "none"}
        Multiplicity adjustment within each ``by`` group (a family of ``k (k - 1) / 2``
        contrasts of ``k`` means). Tukey uses the studentized range with each contrast's own df;
        Holm's intervals are Bonferroni intervals (as emmeans reports them).
    level : float, optional
        Confidence level (default: that of ``emm``).

    Returns
    -------
    DataFrame
        ``contrast`` ("A - B"), the ``by`` columns, ``estimate, std_error, df, ci_lower,
        ci_upper, t, p_value``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("score ~ machine + (1 | worker/machine)", mt.datasets.load("machines"))
    >>> mt.lmm.pairs(mt.emmeans(fit, "machine"), adjust="holm")["p_value"].round(4).tolist()
    [0.0088, 0.0002, 0.0211]
    """
    if not isinstance(emm, EMMeans):
        raise TypeError("pairs needs the result of emmeans()")
    adjust = str(adjust).lower()
    if adjust not in ADJUSTMENTS:
        raise ValueError(f"unknown adjustment {adjust!r}; choose one of {', '.join(ADJUSTMENTS)}")
    level = emm.level if level is None else level
    if not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1, got {level}")
    table, L = emm.table, emm.L.to_numpy()
    groups = table.groupby(emm.by, sort=False).indices if emm.by else {(): np.arange(len(table))}
    out = []
    for by_values, idx in groups.items():
        idx = np.asarray(idx)
        k = len(idx)
        if k < 2:
            continue
        pairs_ij = list(itertools.combinations(range(k), 2))
        names = [" ".join(str(v) for v in table.iloc[i][emm.specs]) for i in idx]
        D = np.array([L[idx[i]] - L[idx[j]] for i, j in pairs_ij])
        est, se, df = _linear_inference(emm._model, D, emm.ddf)
        t = est / se
        m = len(pairs_ij)
        if adjust == "tukey":
            crit = _tukey_crit(level, df, k)
        elif adjust in ("holm", "bonferroni"):
            a = (1 - level) / (2 * m)
            crit = np.where(np.isinf(df), stats.norm.isf(a), stats.t.isf(a, df))
        else:
            crit = None
        t, p, lo, hi = _t_summary(est, se, df, level, crit)
        if adjust == "tukey":
            p = _tukey_p(t, df, k)
        elif adjust == "holm":
            p = _holm(p)
        elif adjust == "bonferroni":
            p = np.minimum(1.0, m * p)
        part = pd.DataFrame({"contrast": [f"{names[i]} - {names[j]}" for i, j in pairs_ij]})
        by_values = by_values if isinstance(by_values, tuple) else (by_values,)
        for name, value in zip(emm.by, by_values, strict=True):
            part[name] = value
        part = part.assign(estimate=est, std_error=se, df=df, ci_lower=lo, ci_upper=hi, t=t)
        part["p_value"] = p
        out.append(part)
    if not out:
        raise ValueError("pairwise contrasts need at least two means in a group")
    result = pd.concat(out, ignore_index=True)
    result.attrs["adjust"] = adjust
    return result
