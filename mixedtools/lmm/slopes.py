"""Simple slopes with their uncertainty, and the Johnson-Neyman region of significance.

In a model with an interaction, say ``y ~ x * m``, the effect of the focal predictor ``x`` is not
one number: at moderator value ``m`` it is the *simple slope* ``b_x + b_xm * m``, a linear
combination ``l' beta`` of the fixed effects.  Its standard error is ``sqrt(l' V l)`` with ``V`` the
fixed-effect covariance (``fit.vcov``), and its t test takes its degrees of freedom from the same
df machinery as a single coefficient (:func:`mixedtools.lmm.ddf.contrast_test`) -- what
``emmeans::emtrends`` reports for an lme4 fit.

The Johnson-Neyman (J-N) region is the set of moderator values at which the simple slope differs
from zero at level ``alpha``: the values ``m`` with ``(b_x + b_xm m)^2 >= c^2 Var(b_x + b_xm m)``,
a quadratic inequality in ``m`` (Johnson & Neyman 1936; Bauer & Curran 2005).

- :func:`linear_combinations`: estimate, SE, df, t, p and CI of each row of a matrix ``L``;
- :func:`simple_slopes`: the simple slope of a focal predictor at settings of its moderators;
- :func:`johnson_neyman`: the moderator range(s) where the simple slope is significant.
"""

from __future__ import annotations

import numbers
import re

import numpy as np
import pandas as pd
import patsy
from scipy import stats

from mixedtools.lmm import ddf as _ddf
from mixedtools.lmm.mixed_result import check_new_data_types

__all__ = [
    "linear_combinations",
    "simple_slopes",
    "johnson_neyman",
    "design_rows",
    "predictors",
]

_METHODS = ("satterthwaite", "kenward-roger", "nlme", "hlm", "residual", "asymptotic")


def _check_fit(fit):
    if not (hasattr(fit, "fixef") and hasattr(fit, "vcov") and hasattr(fit, "design")):
        raise TypeError(f"expected a fit returned by mixedtools.lmer, got {type(fit).__name__}")


def _check_level(level):
    if not (isinstance(level, numbers.Real) and 0 < level < 1):
        raise ValueError(f"level must be a number strictly between 0 and 1, got {level!r}")


def _method(ddf):
    key = str(ddf).lower().replace("_", "-").replace(" ", "-")
    aliases = {"kr": "kenward-roger", "kenwardroger": "kenward-roger", "z": "asymptotic"}
    key = aliases.get(key, key)
    if key not in _METHODS:
        raise ValueError(f"unknown ddf method {ddf!r}; choose one of {', '.join(_METHODS)}")
    return key


def design_rows(fit, data: pd.DataFrame) -> pd.DataFrame:
    """Rows of the fixed-effects design matrix for new data, in the fit's column order.

    Parameters
    ----------
    fit : LmerResult
    data : pandas.DataFrame
        Values of every variable of the fixed part (no outcome, no grouping factors needed).

    Returns
    -------
    pandas.DataFrame
        One row per row of ``data``, one column per fixed effect (named as ``fit.fixef``).

    Examples
    --------
    >>> import pandas as pd, mixedtools as mt
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> design_rows(fit, pd.DataFrame({"days": [0.0, 2.0]}))
       Intercept  days
    0        1.0   0.0
    1        1.0   2.0
    """
    _check_fit(fit)
    if not isinstance(data, pd.DataFrame) or data.empty:
        raise ValueError("data must be a non-empty DataFrame of predictor values")
    check_new_data_types(fit.design, data)
    try:
        (X,) = patsy.build_design_matrices(
            [fit.design.fe_design_info], data, NA_action="raise", return_type="dataframe"
        )
    except patsy.PatsyError as err:
        raise ValueError(f"cannot build the fixed-effects design for these values: {err}") from None
    X = pd.DataFrame(np.asarray(X, float), index=data.index, columns=list(fit.fixef.index))
    return X


def linear_combinations(fit, L, ddf: str = "satterthwaite", level: float = 0.95) -> pd.DataFrame:
    """Estimate, SE, df, t test and confidence interval of each linear combination ``l' beta``.

    Parameters
    ----------
    fit : LmerResult
    L : array_like or pandas.DataFrame, shape (k, p)
        One combination per row (a 1-D array is one row); columns in the order of ``fit.fixef``.
    ddf : str
        Degrees-of-freedom method, as in :meth:`LmerResult.coef_table`: "satterthwaite",
        "kenward-roger", "nlme", "hlm", "residual" or "asymptotic" (z).  The df of each row is
        the ``den_df`` of :func:`mixedtools.lmm.ddf.contrast_test` for that row.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        Columns estimate, std_error, df, t, p_value, ci_lower, ci_upper; the index of ``L`` if
        it is a DataFrame.  The standard error is ``sqrt(l' V l)`` with ``V = fit.vcov``; with
        "kenward-roger" it is taken from the Kenward-Roger adjusted covariance instead (as
        pbkrtest and ``emmeans`` do), so it is slightly larger.

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> out = linear_combinations(fit, [[1, 0], [1, 9]])  # predicted reaction on days 0 and 9
    >>> out[["estimate", "std_error", "df"]].round(2)
       estimate  std_error    df
    0    251.41       6.82  17.0
    1    345.61      14.63  17.0
    """
    _check_fit(fit)
    _check_level(level)
    method = _method(ddf)
    index = L.index if isinstance(L, pd.DataFrame) else None
    if isinstance(L, pd.DataFrame):
        missing = [c for c in fit.fixef.index if c not in L.columns]
        if missing:
            raise ValueError(f"L has no column for the fixed effect(s) {missing}")
        L = L[list(fit.fixef.index)]
    L = np.atleast_2d(np.asarray(L, dtype=float))
    p = len(fit.fixef)
    if L.ndim != 2 or L.shape[1] != p:
        raise ValueError(f"L must have {p} columns, one per fixed effect; got shape {L.shape}")
    if not np.all(np.isfinite(L)):
        raise ValueError("L contains missing or infinite values")
    if method == "kenward-roger" and not fit.reml:
        raise ValueError("Kenward-Roger is defined for REML fits only; refit with reml=True")
    beta = fit.fixef.to_numpy()
    V = fit.vcov.to_numpy()
    est = L @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", L, V, L))
    df = np.full(len(L), np.inf)
    if method != "asymptotic":
        for i, row in enumerate(L):
            if not np.any(row):
                raise ValueError(f"row {i} of L is all zero: there is nothing to estimate")
            test = _ddf.contrast_test(fit, row[None, :], ddf=method, polish=False)
            df[i] = test["den_df"]
            if method == "kenward-roger":
                if est[i] != 0 and test["F"] > 0:
                    se[i] = abs(est[i]) / np.sqrt(test["F"])  # one row: F = est^2 / (l' Phi_A l)
                else:
                    kr = _ddf.kenward_roger(fit.structure, fit.tau, row[None, :])
                    se[i] = float(kr["std_error"][0])
    t = est / se
    p_value = 2.0 * stats.t.sf(np.abs(t), df)
    q = stats.t.ppf(0.5 + level / 2.0, df)
    out = pd.DataFrame(
        {
            "estimate": est,
            "std_error": se,
            "df": df,
            "t": t,
            "p_value": p_value,
            "ci_lower": est - q * se,
            "ci_upper": est + q * se,
        }
    )
    if index is not None:
        out.index = index
    return out


def _slope_rows(fit, focal: str, at: pd.DataFrame) -> pd.DataFrame:
    """``d X / d focal`` at each row of ``at``: the simple-slope combinations (checked linear)."""
    if not isinstance(focal, str):
        raise TypeError("focal must be the name of a predictor (a string)")
    data = fit.design.data
    if focal not in data.columns:
        raise ValueError(f"{focal!r} is not a column of the data the model was fitted to")
    if not pd.api.types.is_numeric_dtype(data[focal]):
        raise ValueError(f"{focal!r} is not numeric: a simple slope needs a numeric predictor")
    if focal in at.columns:
        raise ValueError(f"{focal!r} is the focal predictor; it cannot also be a column of at")
    frames = [at.assign(**{focal: float(v)}) for v in (0.0, 1.0, 2.0)]
    X0, X1, X2 = (design_rows(fit, f).to_numpy() for f in frames)
    L, L2 = X1 - X0, X2 - X1
    if not np.allclose(L, L2, rtol=1e-10, atol=1e-10):
        raise ValueError(
            f"the model is not linear in {focal!r} (a transformed or polynomial term): "
            "its slope changes with its own value, so there is no single simple slope"
        )
    if not np.any(L):
        raise ValueError(f"{focal!r} does not enter the fixed part of the model")
    return pd.DataFrame(L, index=at.index, columns=list(fit.fixef.index))


def simple_slopes(
    fit, focal: str, at: pd.DataFrame, ddf: str = "satterthwaite", level: float = 0.95
) -> pd.DataFrame:
    """The simple slope of `focal` at each setting of its moderators, with SE, df, t, p and CI.

    The simple slope is the derivative of the fixed part with respect to `focal`: its main effect
    plus each of its interaction coefficients times the moderator values of that row.  It is
    computed from the design matrix (so factor moderators and centred or scaled columns work);
    a model in which `focal` enters non-linearly (``I(x**2)``, ``np.log(x)``) is rejected.

    Parameters
    ----------
    fit : LmerResult
    focal : str
        The numeric predictor whose slope is wanted.
    at : pandas.DataFrame
        One row per setting; a column for every other predictor of the fixed part (values of
        predictors that do not interact with `focal` do not change the slope, but the design
        needs them).
    ddf : str
        Degrees-of-freedom method: "satterthwaite" (the default of ``emmeans`` for lmer fits
        with lmerTest), "kenward-roger", "nlme", "hlm", "residual" or "asymptotic" (z).
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        The columns of `at`, then estimate, std_error, df, t, p_value, ci_lower, ci_upper (as
        :func:`linear_combinations`; with "kenward-roger" the SE is the adjusted one, as
        ``emmeans::emtrends`` reports it).

    Examples
    --------
    >>> import pandas as pd, mixedtools as mt
    >>> hsb = mt.datasets.load("hsb")
    >>> hsb["cses"] = hsb.ses - hsb.groupby("school").ses.transform("mean")
    >>> fit = mt.lmer("mathach ~ cses * (meanses + sector) + (cses | school)", hsb)
    >>> at = pd.DataFrame({"meanses": [-0.5, 0.5, -0.5, 0.5], "sector": [0, 0, 1, 1]})
    >>> out = simple_slopes(fit, "cses", at)
    >>> out[["meanses", "sector", "estimate", "std_error", "df"]].round(2)
       meanses  sector  estimate  std_error      df
    0     -0.5       0      2.42       0.18  133.37
    1      0.5       0      3.46       0.24  158.95
    2     -0.5       1      0.78       0.25  143.65
    3      0.5       1      1.82       0.20  169.95
    """
    _check_fit(fit)
    if not isinstance(at, pd.DataFrame) or at.empty:
        raise ValueError("at must be a DataFrame with one row per setting of the moderators")
    L = _slope_rows(fit, focal, at.reset_index(drop=True))
    table = linear_combinations(fit, L, ddf=ddf, level=level)
    out = pd.concat([at.reset_index(drop=True), table.reset_index(drop=True)], axis=1)
    out.index = at.index
    return out


def _quadratic_region(a, b, c, lower, upper):
    """Intervals of [lower, upper] where ``a m^2 + b m + c >= 0``, and the real roots."""
    if abs(a) < 1e-14 * max(abs(b), abs(c), 1e-300):
        roots = np.array([-c / b]) if b != 0 else np.array([])
    else:
        disc = b * b - 4 * a * c
        if disc < 0:
            roots = np.array([])
        else:
            s = np.sqrt(disc)
            roots = np.sort(np.array([(-b - s) / (2 * a), (-b + s) / (2 * a)]))
    cuts = np.concatenate([[lower], roots[(roots > lower) & (roots < upper)], [upper]])
    intervals = []
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        mid = _probe(lo, hi)
        if a * mid * mid + b * mid + c >= 0:
            if intervals and intervals[-1][1] == lo:
                intervals[-1] = (intervals[-1][0], hi)
            else:
                intervals.append((lo, hi))
    return intervals, roots


def johnson_neyman(
    fit,
    focal: str,
    moderator: str,
    at: dict | None = None,
    alpha: float = 0.05,
    df="satterthwaite",
    range_=None,
    max_iter: int = 50,
) -> pd.DataFrame:
    """Johnson-Neyman region: the values of a continuous moderator where the simple slope is
    significant.

    With ``l(m)`` the simple-slope combination at moderator value ``m`` (other moderators held at
    `at`), the slope ``l(m)' b = s0 + s1 m`` is significant when ``(s0 + s1 m)^2 >= c^2 Var(m)``,
    ``Var(m) = v00 + 2 m v01 + m^2 v11`` from ``fit.vcov`` (the unadjusted covariance, for every
    df choice).  This is a quadratic inequality in ``m``, solved in closed form.  The critical
    value ``c`` is

    - ``df="asymptotic"`` (or ``None``): the normal quantile ``z_{1 - alpha/2}``;
    - a number: the t quantile with that fixed df;
    - ``"residual"``, ``"nlme"``, ``"hlm"``: the t quantile with that method's df for the slope
      (a fixed number for a given fit);
    - ``"satterthwaite"`` (default): the Satterthwaite df changes with ``m``; each boundary is
      found by iterating "critical value at the df of the current boundary -> solve the quadratic"
      to a fixed point, so at each reported boundary ``|t(m)| = t_{1-alpha/2, df(m)}`` exactly.

    Kenward-Roger is not offered: its adjusted covariance is not a quadratic in ``m`` of this
    closed form.

    Parameters
    ----------
    fit : LmerResult
    focal : str
        The predictor whose slope is tested.
    moderator : str
        The continuous moderator (a numeric column of the data that interacts with `focal`).
    at : dict, optional
        Values of the other predictors of the fixed part (needed when other moderators interact
        with `focal`, e.g. ``{"sector": 0}``); predictors not given are set to 0.
    alpha : float
        Significance level (two-sided).
    df : str, float or None
        How the critical value is obtained (above).
    range_ : (float, float), optional
        Interval of the moderator to report on; default the whole real line.  The observed range
        of the moderator is reported in the output either way.

    Returns
    -------
    pandas.DataFrame
        One row per interval of significance: ``lower``, ``upper`` (``-inf``/``inf`` when
        unbounded), ``sign`` of the slope there ("positive"/"negative"), ``df`` used at the
        boundaries (``df_lower``, ``df_upper``), ``critical_value`` at each boundary
        (``crit_lower``, ``crit_upper``), and ``observed_min``, ``observed_max`` of the moderator.
        An empty table means the slope is significant nowhere in the range.  ``attrs["roots"]``
        holds the boundaries.

    Examples
    --------
    >>> import mixedtools as mt
    >>> hsb = mt.datasets.load("hsb")
    >>> hsb["cses"] = hsb.ses - hsb.groupby("school").ses.transform("mean")
    >>> fit = mt.lmer("mathach ~ cses * (meanses + sector) + (cses | school)", hsb)
    >>> jn = johnson_neyman(fit, "cses", "meanses", at={"sector": 1}, df="asymptotic")
    >>> jn[["lower", "upper", "sign"]].round(3)
       lower  upper      sign
    0   -inf -3.099  negative
    1 -0.686    inf  positive
    """
    _check_fit(fit)
    if not (isinstance(alpha, numbers.Real) and 0 < alpha < 1):
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    data = fit.design.data
    if moderator not in data.columns:
        raise ValueError(f"{moderator!r} is not a column of the data the model was fitted to")
    if not pd.api.types.is_numeric_dtype(data[moderator]):
        raise ValueError(
            f"{moderator!r} is not numeric: the J-N region needs a continuous moderator"
        )
    if moderator == focal:
        raise ValueError("focal and moderator must be different predictors")
    at = dict(at or {})
    if moderator in at or focal in at:
        raise ValueError("at must not fix the focal predictor or the moderator")
    others = {}
    for name in predictors(fit):
        if name not in (focal, moderator):
            others[name] = at.pop(name, 0.0)
    if at:
        raise ValueError(f"at names variables that are not predictors of the model: {sorted(at)}")
    if range_ is None:
        lower, upper = -np.inf, np.inf
    else:
        lower, upper = map(float, range_)
        if not lower < upper:
            raise ValueError("range_ must be (lower, upper) with lower < upper")
    frame = pd.DataFrame({moderator: [0.0, 1.0], **{k: [v, v] for k, v in others.items()}})
    rows = _slope_rows(fit, focal, frame).to_numpy()
    l0, l1 = rows[0], rows[1] - rows[0]  # l(m) = l0 + m l1 (checked linear below)
    check = _slope_rows(fit, focal, frame.assign(**{moderator: [2.0, 2.0]})).to_numpy()[0]
    if not np.allclose(check, l0 + 2.0 * l1, rtol=1e-10, atol=1e-10):
        raise ValueError(f"the slope of {focal!r} is not linear in {moderator!r}")
    if not np.any(l1):
        raise ValueError(f"{moderator!r} does not interact with {focal!r}: the slope is constant")
    beta, V = fit.fixef.to_numpy(), fit.vcov.to_numpy()
    s0, s1 = l0 @ beta, l1 @ beta
    v00, v01, v11 = l0 @ V @ l0, l0 @ V @ l1, l1 @ V @ l1

    def df_at(m):
        if df is None or (isinstance(df, str) and _method(df) == "asymptotic"):
            return np.inf
        if isinstance(df, numbers.Real):
            if not df > 0:
                raise ValueError(f"df must be positive, got {df!r}")
            return float(df)
        method = _method(df)
        if method == "kenward-roger":
            raise ValueError(
                "Kenward-Roger is not offered for the J-N region (its adjusted covariance is "
                "not quadratic in the moderator); use 'satterthwaite' or a fixed df"
            )
        row = (l0 + m * l1)[None, :]
        return float(_ddf.contrast_test(fit, row, ddf=method, polish=False)["den_df"])

    def solve(crit):
        c2 = crit * crit
        return _quadratic_region(
            s1 * s1 - c2 * v11, 2 * (s0 * s1 - c2 * v01), s0 * s0 - c2 * v00, lower, upper
        )

    # first pass with the df at the centre of the data, then refine each boundary to a fixed point
    centre = float(data[moderator].mean())
    df0 = df_at(centre)
    crit0 = stats.t.ppf(1 - alpha / 2, df0)
    _, roots = solve(crit0)
    refined = []
    for r in roots:
        m, d = r, df0
        for _ in range(max_iter):
            d = df_at(m)
            crit = stats.t.ppf(1 - alpha / 2, d)
            _, new_roots = solve(crit)
            if new_roots.size == 0:
                break
            new = new_roots[np.argmin(np.abs(new_roots - m))]
            if abs(new - m) <= 1e-10 * max(1.0, abs(m)):
                m = new
                break
            m = new
        refined.append((m, d, stats.t.ppf(1 - alpha / 2, d)))
    refined.sort()
    bounds = [lower] + [m for m, _, _ in refined if lower < m < upper] + [upper]
    info = {m: (d, c) for m, d, c in refined}
    records = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        probe = _probe(lo, hi)
        d = df_at(probe)
        crit = stats.t.ppf(1 - alpha / 2, d)
        slope = s0 + s1 * probe
        if slope * slope >= crit * crit * (v00 + 2 * probe * v01 + probe * probe * v11):
            dl, cl = info.get(lo, (np.nan, np.nan))
            du, cu = info.get(hi, (np.nan, np.nan))
            records.append(
                {
                    "lower": lo,
                    "upper": hi,
                    "sign": "positive" if slope > 0 else "negative",
                    "df_lower": dl,
                    "df_upper": du,
                    "crit_lower": cl,
                    "crit_upper": cu,
                }
            )
    out = pd.DataFrame(
        records,
        columns=["lower", "upper", "sign", "df_lower", "df_upper", "crit_lower", "crit_upper"],
    )
    out["observed_min"] = float(data[moderator].min())
    out["observed_max"] = float(data[moderator].max())
    out.attrs["roots"] = [m for m, _, _ in refined]
    out.attrs["alpha"] = alpha
    return out


def _probe(lo, hi):
    if np.isfinite(lo) and np.isfinite(hi):
        return 0.5 * (lo + hi)
    if np.isfinite(hi):
        return hi - 1.0 - abs(hi)
    if np.isfinite(lo):
        return lo + 1.0 + abs(lo)
    return 0.0


def predictors(fit) -> list[str]:
    """The data columns the fixed part of the model reads, in the order they appear.

    Examples
    --------
    >>> import mixedtools as mt
    >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    >>> predictors(fit)
    ['days']
    """
    info = fit.design.fe_design_info
    names = []
    columns = [str(c) for c in fit.design.data.columns]
    for factor in info.factor_infos:
        code = factor.code
        for col in columns:
            if _mentions(code, col) and col not in names:
                names.append(col)
    return names


def _mentions(code: str, name: str) -> bool:
    if code == name:
        return True
    return re.search(r"(?<![\w.])" + re.escape(name) + r"(?![\w.])", code) is not None
