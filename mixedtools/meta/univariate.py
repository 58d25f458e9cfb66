"""Random- and fixed-effects meta-analysis and meta-regression (metafor's ``rma``).

The model is a two-level HLM with only the study level observed: study ``j`` reports an effect
``y_j`` with known sampling variance ``v_j``, and

    y_j = x_j' gamma + u_j + e_j,   u_j ~ N(0, tau2),   e_j ~ N(0, v_j).

``method="FE"`` fixes ``tau2 = 0`` (inverse-variance weights ``1 / v_j``); the other methods
estimate ``tau2`` and weight by ``1 / (v_j + tau2)``:

- closed form: ``"DL"`` (DerSimonian-Laird), ``"HE"`` (Hedges, unweighted moments), ``"SJ"``
  (Sidik-Jonkman, one step from ``var(y) (k-1)/k``);
- iterative: ``"ML"``, ``"REML"`` (Fisher scoring), ``"PM"`` (Paule-Mandel: the generalised
  ``Q(tau2)`` equals ``k - p``) and ``"EB"`` (empirical Bayes, Morris 1983), which solves the
  same equation as PM and so gives the same estimate (as in metafor).

Heterogeneity: ``Q`` (Cochran's, with the FE weights) and, as metafor defines them,
``I2 = 100 tau2 / (tau2 + s2)`` and ``H2 = (tau2 + s2) / s2`` with ``s2 = (k - p) / tr(P)`` the
"typical" sampling variance; for ``"FE"`` the Q-based ``I2 = 100 (Q - df) / Q`` and ``H2 = Q / df``.
For DL both definitions agree; :attr:`RmaResult.I2_Q` gives the Q-based one for any method.
The 95% confidence interval of ``tau2`` is the Q-profile interval (metafor's ``confint``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from mixedtools.meta._iteration import _MAXITER, _TOL, ConvergenceWarning
from mixedtools.meta._knha import knha_scale, warn_exact_fit
from mixedtools.meta._pairing import labels_of, pair_rows
from mixedtools.meta.batch import rma_batch
from mixedtools.rformula import check_finite

__all__ = ["rma", "RmaResult", "METHODS", "ConvergenceWarning"]

METHODS = ("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB")
TESTS = ("z", "knha")


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------
def _check_inputs(yi, vi, allow_batch=False):
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.shape != v.shape:
        raise ValueError(f"yi and vi have different shapes: {y.shape} and {v.shape}")
    if y.ndim == 2 and not allow_batch:
        raise ValueError("2-D yi / vi (a batch) cannot be combined with mods")
    if y.ndim not in (1, 2):
        raise ValueError(
            f"yi must be 1-D (studies) or 2-D (replications x studies); got {y.ndim}-D"
        )
    if np.isnan(y).any():
        raise ValueError(
            "yi has missing values; drop those studies first (nothing is dropped silently)"
        )
    if np.isnan(v).any():
        raise ValueError(
            "vi has missing values; drop those studies first (nothing is dropped silently)"
        )
    if (v <= 0).any():
        raise ValueError("sampling variances vi must be positive (found zero or negative values)")
    if not np.isfinite(y).all() or not np.isfinite(v).all():
        raise ValueError("yi and vi must be finite")
    k = y.shape[-1]
    if k < 2:
        raise ValueError(f"a meta-analysis needs at least 2 studies; got k = {k}")
    return y, v


def _resolve(yi, vi, data):
    """Column names of ``data`` -> arrays; a clear error for a name without data or a typo."""
    out = []
    for role, value in (("yi", yi), ("vi", vi)):
        if isinstance(value, str):
            if data is None:
                raise ValueError(f"{role}={value!r} is a column name; pass the table as data=")
            if value not in data.columns:
                columns = ", ".join(map(str, data.columns))
                raise ValueError(f"{role}={value!r} is not a column of data; columns: {columns}")
            value = data[value]
        out.append(value)
    return out


def _paired(yi, vi, mods, data, **more):
    """The per-study inputs in one row order (:func:`mixedtools.meta._pairing.pair_rows`), as a
    dict with the labels of the rows under ``"labels"`` (None for arrays). A formula's moderators
    come from the rows of ``data``, which then take part in the pairing."""
    inputs = dict(yi=yi, vi=vi, **more, mods=mods)
    if np.ndim(yi) != 1:  # a batch: rows are replications
        return dict(inputs, data=data, labels=None)
    formula = isinstance(mods, str)
    rows = pair_rows(**inputs, data=data if formula else None)
    rows["labels"] = labels_of(*rows.values())
    if not formula:
        rows["data"] = data
    return rows


def _design(mods, data, k):
    """Model matrix (with intercept) from None, a formula string, a DataFrame or an array."""
    if mods is None:
        return np.ones((k, 1)), ["Intercept"]
    if isinstance(mods, str):
        from mixedtools.rformula import model_frame

        if data is None:
            raise ValueError("a formula for mods needs data=")
        formula = mods.strip()
        if "~" in formula and formula.split("~")[0].strip():
            raise ValueError(
                f"mods={mods!r} has a response; write the moderators only, e.g. "
                f"mods='~ {formula.split('~', 1)[1].strip()}' (the effect sizes are yi)"
            )
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        try:
            frame = model_frame(
                formula, data, na_action="raise", allow_cbind=False, allow_offset=False
            )
        except ValueError as error:
            raise ValueError(f"cannot build the moderators from {mods!r}: {error}") from None
        return frame.X.to_numpy(dtype=float), list(frame.X.columns)
    if isinstance(mods, (list, tuple)) and mods and all(isinstance(m, str) for m in mods):
        raise ValueError(
            f"mods={list(mods)!r} looks like column names; write them as a formula with data=, "
            f"e.g. mods='~ {' + '.join(mods)}'"
        )
    frame = mods if isinstance(mods, pd.DataFrame) else pd.DataFrame(np.asarray(mods, dtype=float))
    if isinstance(mods, pd.Series):
        frame = mods.to_frame()
    text = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise ValueError(
            f"mods column(s) {', '.join(text)} are not numeric; code them, or use a formula "
            f"with data=, e.g. mods='C({text[0]})'"
        )
    frame = frame.astype(float)
    if frame.isna().any().any():
        raise ValueError("mods has missing values")
    check_finite(frame.to_numpy(), [str(c) for c in frame.columns], "moderators", frame.index)
    X = np.column_stack([np.ones(len(frame)), frame.to_numpy()])
    return X, ["Intercept"] + [str(c) for c in frame.columns]


# ---------------------------------------------------------------------------------------------
# weighted least squares pieces
# ---------------------------------------------------------------------------------------------
class _Wls:
    """Weighted least squares of y on X with weights w, and the traces of
    ``P = W - W X (X'WX)^-1 X'W`` that the estimators need -- in O(k p^2), without the k x k P.
    """

    def __init__(self, y, X, w):
        self.w = w
        self.A = np.linalg.inv(X.T @ (w[:, None] * X))  # (X'WX)^-1
        self.beta = self.A @ (X.T @ (w * y))
        self.resid = y - X @ self.beta
        self.X = X

    @property
    def q(self):
        """y'Py, the generalised Q."""
        return float(np.sum(self.w * self.resid**2))

    @property
    def Py(self):
        return self.w * self.resid

    def _xwx(self, power):
        return self.X.T @ ((self.w**power)[:, None] * self.X)

    @property
    def trace_p(self):
        return float(np.sum(self.w) - np.trace(self.A @ self._xwx(2)))

    @property
    def trace_pp(self):
        B = self.A @ self._xwx(2)
        return float(np.sum(self.w**2) - 2 * np.trace(self.A @ self._xwx(3)) + np.trace(B @ B))


def _gen_q(y, v, X, tau2):
    return _Wls(y, X, 1 / (v + tau2)).q


def wald_statistics(est, se, X, y):
    """``est / se``; where ``se`` is 0 (a Knapp-Hartung fit through every effect size): +-inf as in
    metafor, but NaN for a coefficient that is 0 up to rounding (its sign is rounding noise)."""
    est, se = np.asarray(est, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    zero_se = se == 0
    if zero_se.any():
        contribution = np.abs(est) * np.abs(X).max(axis=0)
        noise = 64 * np.finfo(float).eps * max(float(np.abs(y).max()), np.finfo(float).tiny)
        stat = np.where(zero_se & (contribution <= noise), np.nan, stat)
    return stat


def _omnibus(beta, vb, btt, test, k, p):
    """QM (chi-square, or F for Knapp-Hartung) of the coefficients ``btt`` and its p-value; NaN
    when their covariance is singular (all SEs 0 under Knapp-Hartung: metafor gives NA)."""
    sub = vb[np.ix_(btt, btt)]
    if not (np.diag(sub) > 0).all():
        return np.nan, np.nan
    b = beta[btt]
    QM = float(b @ np.linalg.solve(sub, b))
    if test == "knha":
        QM /= len(btt)
        return QM, float(special.fdtrc(len(btt), k - p, QM))
    return QM, float(special.chdtrc(len(btt), QM))


def _tau2_closed_form(y, v, X, method):
    k, p = X.shape
    if method == "DL":
        fe = _Wls(y, X, 1 / v)
        return max(0.0, (fe.q - (k - p)) / fe.trace_p)
    if method == "HE":
        ols = _Wls(y, X, np.ones(k))
        trace_mv = float(np.sum(v) - np.trace(ols.A @ (X.T @ (v[:, None] * X))))
        return max(0.0, (ols.q - trace_mv) / (k - p))
    if method == "SJ":
        tau2_0 = float(np.var(y, ddof=1) * (k - 1) / k)
        if tau2_0 <= 0:
            return 0.0
        return tau2_0 * _gen_q(y, v, X, tau2_0) / (k - p)
    raise AssertionError(method)


def _tau2_fisher(y, v, X, method, tau2_start):
    """Safeguarded Fisher scoring for ML / REML; returns (tau2, converged, iterations).

    Fisher steps are taken while they stay inside the bracket [lo, hi] that the signs of the
    score have established and shorter than half of it; otherwise the bracket is bisected.
    Fisher scoring alone can oscillate around the root (the expected information may be about
    twice the observed one).
    """
    tau2, lo, hi = tau2_start, 0.0, np.inf
    for iteration in range(1, _MAXITER + 1):
        w = 1 / (v + tau2)
        fit = _Wls(y, X, w)
        Py = fit.Py
        if method == "REML":
            score, info = Py @ Py - fit.trace_p, fit.trace_pp
        else:
            score, info = Py @ Py - np.sum(w), np.sum(w * w)
        if score > 0:
            lo = tau2
        else:
            hi = tau2
        if hi == 0.0:  # score <= 0 at the boundary: the maximum is at tau2 = 0
            return 0.0, True, iteration
        new = tau2 + score / info
        if not lo < new < hi or abs(new - tau2) > (hi - lo) / 2:
            new = (lo + hi) / 2 if np.isfinite(hi) else max(2 * tau2, lo + 1e-8)
        if abs(new - tau2) < _TOL * max(1.0, tau2) or hi - lo < _TOL * max(1.0, tau2):
            return new, True, iteration
        tau2 = new
    return tau2, False, _MAXITER


def _tau2_pm(y, v, X):
    k, p = X.shape
    if _gen_q(y, v, X, 0.0) <= k - p:
        return 0.0, True, 0
    upper = max(1.0, 10 * float(np.var(y)))
    while _gen_q(y, v, X, upper) > k - p:
        upper *= 10
        if upper > 1e12:
            return np.nan, False, 0
    root, info = optimize.brentq(
        lambda t: _gen_q(y, v, X, t) - (k - p), 0.0, upper, xtol=1e-14, rtol=1e-14, full_output=True
    )
    return root, bool(info.converged), info.iterations


def _tau2_qprofile_ci(y, v, X, level):
    """Q-profile confidence interval for tau2 (Viechtbauer, 2007)."""
    k, p = X.shape
    alpha = 1 - level
    crit_lo = stats.chi2.ppf(1 - alpha / 2, k - p)  # Q(tau2_lower) = upper quantile
    crit_hi = stats.chi2.ppf(alpha / 2, k - p)
    q0 = _gen_q(y, v, X, 0.0)

    def solve(crit):
        if q0 <= crit:
            return 0.0
        upper = max(1.0, 10 * float(np.var(y)))
        while _gen_q(y, v, X, upper) > crit:
            upper *= 10
            if upper > 1e12:
                return np.inf
        return optimize.brentq(
            lambda t: _gen_q(y, v, X, t) - crit, 0.0, upper, xtol=1e-14, rtol=1e-14
        )

    return solve(crit_lo), solve(crit_hi)


# ---------------------------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------------------------
class RmaResult:
    """A fitted meta-analysis (metafor's ``rma.uni`` object, in Python).

    Attributes
    ----------
    estimate, se, ci_lower, ci_upper, p_value : float
        The first coefficient (the pooled effect, or the intercept of a meta-regression).
    beta : pandas.Series
        All coefficients; ``coef_table()`` has their standard errors, tests and intervals.
    tau2, tau2_ci_lower, tau2_ci_upper : float
        Between-study variance and its Q-profile confidence interval (NaN for ``"FE"``).
    I2, H2 : float
        metafor's definitions (see the module docstring); ``I2_Q`` and ``H2_Q`` are Q-based.
    Q, Q_p : float
        Cochran's Q (residual heterogeneity ``QE`` for a meta-regression) and its p-value.
    QM, QM_p : float
        Omnibus test of the moderators (chi-square, or F for ``test="knha"``).
    QE : float
        Same as ``Q``.
    R2 : float
        Percentage of tau2 explained by the moderators, ``100 (tau2_0 - tau2) / tau2_0`` with
        ``tau2_0`` from the model without moderators (0 if ``tau2_0 = 0``); for ``"FE"``, as
        metafor, the adjusted R^2 of the weighted regression.
    pi_lower, pi_upper : float
        Prediction interval for the effect of a new study (models without moderators), by
        ``pi_method`` (``"default"``: metafor's ``predict``; ``"t"``: t(k - 2)).
    converged : bool
        False if an iterative tau2 estimate did not converge (a warning was issued).
    labels : pandas.Index or None
        The index of the studies when they were given as pandas objects (None for arrays), so
        that per-study inputs of later steps (``robust(cluster=...)``) are paired by label.
    """

    labels = None

    def __init__(self, **fields):
        self.__dict__.update(fields)

    # the Q-profile interval costs a few dozen evaluations of Q(tau2): it is computed when first
    # asked for (leave_one_out and influence refit k times and never ask)
    def _tau2_interval(self):
        if self._tau2_ci is None:
            self._tau2_ci = tuple(
                float(bound) for bound in _tau2_qprofile_ci(self.yi, self.vi, self.X, self.level)
            )
        return self._tau2_ci

    @property
    def tau2_ci_lower(self):
        return self._tau2_interval()[0]

    @property
    def tau2_ci_upper(self):
        return self._tau2_interval()[1]

    # the pooled effect = first coefficient
    @property
    def estimate(self):
        return float(self.beta.iloc[0])

    @property
    def se(self):
        return float(self.se_all.iloc[0])

    @property
    def ci_lower(self):
        return float(self.coef_table()["ci_lower"].iloc[0])

    @property
    def ci_upper(self):
        return float(self.coef_table()["ci_upper"].iloc[0])

    @property
    def p_value(self):
        return float(self.coef_table()["p_value"].iloc[0])

    @property
    def QE(self):
        return self.Q

    @property
    def I2_Q(self):
        """Q-based I^2 (Higgins & Thompson): ``100 max(0, Q - df) / Q``."""
        df = self.k - self.p
        return 100 * max(0.0, self.Q - df) / self.Q if self.Q > 0 else 0.0

    @property
    def H2_Q(self):
        """Q-based H^2: ``Q / df``."""
        return self.Q / (self.k - self.p)

    @property
    def weights(self):
        """Percentage weight of each study in the fit (metafor's ``weights()``)."""
        w = 1 / (self.vi + self.tau2)
        return pd.Series(100 * w / w.sum(), name="weight")

    def coef_table(self) -> pd.DataFrame:
        """Coefficients: ``estimate, std_error, statistic, df, p_value, ci_lower, ci_upper``."""
        est = self.beta.to_numpy()
        se = self.se_all.to_numpy()
        stat = wald_statistics(est, se, self.X, self.yi)
        if self.test == "knha":
            df = self.k - self.p
            crit = stats.t.ppf(1 - (1 - self.level) / 2, df)
            p = 2 * stats.t.sf(np.abs(stat), df)
        else:
            df = np.inf
            crit = stats.norm.ppf(1 - (1 - self.level) / 2)
            p = 2 * stats.norm.sf(np.abs(stat))
        return pd.DataFrame(
            {
                "estimate": est,
                "std_error": se,
                "statistic": stat,
                "df": df,
                "p_value": p,
                "ci_lower": est - crit * se,
                "ci_upper": est + crit * se,
            },
            index=self.beta.index,
        )

    def summary(self) -> pd.Series:
        """One row of the headline numbers (pooled effect, CI, tau2, I2, Q, prediction interval)."""
        return pd.Series(
            {
                "k": self.k,
                "estimate": self.estimate,
                "se": self.se,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
                "p_value": self.p_value,
                "tau2": self.tau2,
                "I2": self.I2,
                "Q": self.Q,
                "Q_p": self.Q_p,
                "pi_lower": self.pi_lower,
                "pi_upper": self.pi_upper,
            },
            name=self.method,
        )

    def __repr__(self):
        from mixedtools.report import format_p, format_table

        def p_text(value):
            text = format_p(value)
            return f"p {text}" if text.startswith("<") else f"p = {text}"

        head = f"Meta-analysis ({self.method}, test={self.test}), k = {self.k}"
        if self.method == "FE":
            tau = "tau2 = 0 (fixed effect)"
        else:
            tau = f"tau2 = {self.tau2:.4g} [{self.tau2_ci_lower:.4g}, {self.tau2_ci_upper:.4g}]"
        het = (
            f"{tau}, I2 = {self.I2:.1f}%, H2 = {self.H2:.3g}, "
            f"Q({self.k - self.p}) = {self.Q:.3f}, {p_text(self.Q_p)}"
        )
        lines = [head, het]
        if self.p > 1 and np.isnan(self.QM):
            lines.append("test of moderators: not defined (the standard errors are 0)")
        elif self.p > 1:
            lines.append(f"test of moderators: QM = {self.QM:.3f}, {p_text(self.QM_p)}")
        table = self.coef_table().round(4)
        floats = table.select_dtypes("float").columns
        table[floats] += 0.0  # the -0.0 of a rounded -1e-17 prints as 0.0
        lines.append(format_table(table).to_string())
        return "\n".join(lines)


def _fit_one(y, v, X, names, method, test, level, data_for_r2=True, pi_method="default"):
    k, p = X.shape
    if k <= p:
        raise ValueError(f"k = {k} studies cannot estimate {p} coefficients; need k > p")
    converged, iterations = True, 0
    if method == "FE":
        tau2 = 0.0
    elif method in ("DL", "HE", "SJ"):
        tau2 = _tau2_closed_form(y, v, X, method)
    elif method in ("PM", "EB"):
        tau2, converged, iterations = _tau2_pm(y, v, X)
    else:
        start = _tau2_closed_form(y, v, X, "HE")
        tau2, converged, iterations = _tau2_fisher(y, v, X, method, start)
    if not converged:
        warnings.warn(
            f"the {method} estimate of tau2 did not converge (last value {tau2:.6g}); "
            "the result is flagged converged=False",
            ConvergenceWarning,
            stacklevel=3,
        )
    w = 1 / (v + tau2)
    XtWX_inv = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = XtWX_inv @ (X.T @ (w * y))
    resid = y - X @ beta
    q_gen = float(np.sum(w * resid**2))
    s2w = knha_scale(q_gen, k - p) if test == "knha" else 1.0
    vb = XtWX_inv * s2w

    # heterogeneity with the FE weights
    fe = _Wls(y, X, 1 / v)
    Q = fe.q
    Q_p = float(special.chdtrc(k - p, Q))
    if method == "FE":
        I2 = 100 * max(0.0, (Q - (k - p)) / Q) if Q > 0 else 0.0
        H2 = Q / (k - p)
        tau2_ci = (np.nan, np.nan)
    else:
        s2 = (k - p) / fe.trace_p
        I2 = 100 * tau2 / (s2 + tau2)
        H2 = (tau2 + s2) / s2
        tau2_ci = None  # computed on first use (RmaResult.tau2_ci_lower / tau2_ci_upper)

    # moderators: omnibus test of all but the intercept (or of the intercept alone)
    has_intercept = np.allclose(X[:, 0], 1.0)
    btt = np.arange(1, p) if (has_intercept and p > 1) else np.arange(p)
    QM, QM_p = _omnibus(beta, vb, btt, test, k, p)

    # log-likelihood (ML and REML as metafor reports them)
    vt = v + tau2
    ll_ml = -0.5 * (k * np.log(2 * np.pi) + np.sum(np.log(vt)) + q_gen)
    q_ll = q_gen
    ll_reml = -0.5 * (
        (k - p) * np.log(2 * np.pi)
        - np.linalg.slogdet(X.T @ X)[1]
        + np.sum(np.log(vt))
        + np.linalg.slogdet(X.T @ (X / vt[:, None]))[1]
        + q_ll
    )
    loglik = ll_reml if method == "REML" else ll_ml

    if method == "REML":
        se_tau2 = float(np.sqrt(2 / _Wls(y, X, w).trace_pp))
    elif method == "ML":
        se_tau2 = float(np.sqrt(2 / np.sum(w * w)))
    else:
        se_tau2 = np.nan

    R2 = np.nan
    if has_intercept and p > 1 and method == "FE":
        # metafor: adjusted R^2 of the weighted regression of yi on the moderators
        w0 = 1 / v
        tss = np.sum(w0 * (y - np.sum(w0 * y) / np.sum(w0)) ** 2)
        r2 = 1 - Q / tss if tss > 0 else 0.0
        R2 = 100 * max(0.0, 1 - (1 - r2) * (k - 1) / (k - p))
    elif has_intercept and p > 1 and data_for_r2:
        tau2_null = _fit_one(y, v, X[:, :1], names[:1], method, "z", level, data_for_r2=False).tau2
        R2 = 100 * max(0.0, (tau2_null - tau2) / tau2_null) if tau2_null > 0 else 0.0

    if p == 1:
        crit = (
            special.stdtrit(k - p, 1 - (1 - level) / 2)
            if test == "knha"
            else special.ndtri(1 - (1 - level) / 2)
        )
        if pi_method == "t":  # Higgins, Thompson & Spiegelhalter (2009): t with k - 2 df
            crit = stats.t.ppf(1 - (1 - level) / 2, k - 2) if k > 2 else np.nan
        half = crit * np.sqrt(vb[0, 0] + tau2)
        pi_lower, pi_upper = beta[0] - half, beta[0] + half
    else:
        pi_lower = pi_upper = np.nan

    names = pd.Index(names)  # one index for the three labelled results
    return RmaResult(
        method=method,
        test=test,
        level=level,
        k=k,
        p=p,
        yi=y,
        vi=v,
        X=X,
        beta=pd.Series(beta, index=names, name="estimate"),
        vb=pd.DataFrame(vb, index=names, columns=names),
        se_all=pd.Series(np.sqrt(np.diag(vb)), index=names, name="std_error"),
        tau2=float(tau2),
        se_tau2=se_tau2,
        _tau2_ci=tau2_ci,
        I2=float(I2),
        H2=float(H2),
        Q=Q,
        Q_p=Q_p,
        QM=QM,
        QM_p=QM_p,
        R2=float(R2),
        s2w=float(s2w),
        pi_lower=float(pi_lower),
        pi_upper=float(pi_upper),
        pi_method=pi_method,
        loglik=float(loglik),
        converged=converged,
        iterations=iterations,
    )


def rma(yi, vi, method="REML", test="z", mods=None, data=None, level=0.95, pi_method="default"):
    """Fit a fixed- or random-effects meta-analysis or meta-regression (metafor's ``rma``).

    Parameters
    ----------
    yi, vi : array-like, or column names of ``data``
        Effect sizes and their sampling variances (positive). A 2-D array (replications x studies)
        fits every row at once and returns a :class:`BatchRmaResult` (no moderators). pandas
        inputs (``yi``, ``vi``, a ``mods`` DataFrame, the rows of ``data`` for a formula) are
        paired by their index labels, arrays by position; an array next to a pandas object whose
        index is not ``0, 1, ..., k-1`` in order is refused (see Notes).
    method : {"FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB"}
    test : {"z", "knha"}
        Normal-theory tests, or Knapp-Hartung: the variance of the coefficients scaled by
        ``Q(tau2) / (k - p)`` and t / F tests with ``k - p`` denominator degrees of freedom.
    mods : None, formula string (with ``data``), DataFrame or array
        A formula such as ``"~ log(ablat) + factor(alloc)"`` is read as R reads it (metafor's
        ``mods = ~ ...``); coefficients are named like ``log(ablat)``, ``factor(alloc)[T.b]``.
        Study-level moderators; an intercept is added.
    data : pandas.DataFrame, optional
    level : float, default 0.95
    pi_method : {"default", "t"}
        Prediction interval ``estimate +- crit sqrt(se^2 + tau2)`` (models without moderators).
        ``"default"`` is metafor's ``predict(res)``: ``crit`` from the normal distribution, or from
        t(k - p) with the Knapp-Hartung SE under ``test="knha"``. ``"t"``: t(k - 2) as Higgins,
        Thompson & Spiegelhalter (2009) recommend (one df for the mean, one for tau2), with the
        model's SE (unscaled for ``test="z"``: their formula).

    Returns
    -------
    RmaResult (or BatchRmaResult for 2-D input)

    Notes
    -----
    The iterative estimators are solved to convergence, and so is the Q-profile interval for
    ``tau2``. metafor stops earlier by default (``control = list(threshold = 1e-5)`` for the
    iterations, ``tol = .Machine$double.eps^0.25`` in ``confint``), so its default output can
    differ from this function in the fifth or sixth significant digit of ``tau2`` and what depends
    on it; with ``control = list(threshold = 1e-12, tol = 1e-12)`` the two agree to the digits
    the test suite checks.

    How studies are paired across arguments: pandas objects by label (in another order they are
    put in the order of the first; different labels are refused), arrays by position, and an
    array together with a pandas object only when that object has the default index
    ``0, 1, ..., k-1`` in order. So a sorted, filtered or shuffled Series is never paired by
    position with an array; pass every input as a Series, or every one as an array
    (``.to_numpy()``) if their positions match.

    Effect sizes that lie exactly on the fitted model (e.g. all equal) give ``tau2 = 0`` for every
    estimator. Under ``test="knha"`` the scale factor ``Q(tau2) / (k - p)`` is then 0 (as in
    metafor, once ``Q(tau2)`` is below the machine epsilon): the standard errors are exactly 0, the
    t statistics +-inf with p = 0 (NaN for a coefficient that is 0 up to rounding, whose sign
    would be noise), ``QM`` is NaN, and a warning says so.

    Examples
    --------
    >>> import mixedtools as mt
    >>> bcg = mt.datasets.load("bcg")
    >>> es = mt.meta.escalc("RR", ai=bcg.tpos, bi=bcg.tneg, ci=bcg.cpos, di=bcg.cneg)
    >>> res = rma(es.yi, es.vi, method="REML")
    >>> round(res.estimate, 4), round(res.tau2, 4), round(res.I2, 2)
    (-0.7145, 0.3132, 92.22)
    >>> reg = rma(es.yi, es.vi, mods=bcg[["ablat"]])
    >>> reg.beta.round(4).tolist()
    [0.2515, -0.0291]
    """
    method = str(method).upper()
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; choose 'z' or 'knha'")
    if not 0 < level < 1:
        raise ValueError("level must lie in (0, 1)")
    if pi_method not in ("default", "t"):
        raise ValueError(f"unknown pi_method {pi_method!r}; choose 'default' or 't'")
    yi, vi = _resolve(yi, vi, data)
    rows = _paired(yi, vi, mods, data)
    yi, vi, mods, data = rows["yi"], rows["vi"], rows["mods"], rows["data"]
    y, v = _check_inputs(yi, vi, allow_batch=mods is None)
    if y.ndim == 2:
        if pi_method != "default":
            raise ValueError("pi_method='t' is not available for a batch (2-D yi / vi)")
        return rma_batch(y, v, method=method, test=test, level=level)
    X, names = _design(mods, data, len(y))
    if X.shape[0] != len(y):
        raise ValueError(f"mods has {X.shape[0]} rows but there are {len(y)} studies")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("the moderators are collinear (the model matrix is not of full rank)")
    fit = _fit_one(y, v, X, names, method, test, level, pi_method=pi_method)
    fit.labels = rows["labels"]
    if test == "knha" and fit.s2w == 0:
        warn_exact_fit()
    return fit
