"""The printed forms of an lmer fit: lmerTest's ``summary()`` layout and a short ``repr``.

Only text is made here; the numbers come from :class:`mixedtools.lmm.results.LmerResult`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["LmerSummary", "fit_text", "summary_text"]


class LmerSummary:
    """Printed summary of an lmer fit, laid out like lmerTest's ``summary()``.

    Attributes
    ----------
    coefficients : DataFrame
        The coefficient table (see :meth:`LmerResult.coef_table`).
    varcorr : DataFrame
        The variance components (see :attr:`LmerResult.varcorr`).
    text : str
        The whole summary as text.
    """

    def __init__(self, text: str, coefficients: pd.DataFrame, varcorr: pd.DataFrame):
        self.text = text
        self.coefficients = coefficients
        self.varcorr = varcorr

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


DDF_TEXT = {
    "satterthwaite": "Satterthwaite's method",
    "kenward-roger": "the Kenward-Roger method",
    "nlme": "nlme's containment df",
    "hlm": "HLM's df rule",
    "residual": "residual df (N - p)",
    "asymptotic": "the normal distribution (z tests)",
}


def summary_text(fit, table: pd.DataFrame, method: str) -> LmerSummary:
    """The summary of ``fit`` with coefficient table ``table`` (df method ``method``)."""
    vc = fit.varcorr
    crit = "REML criterion at convergence" if fit.reml else "deviance"
    lines = [
        f"Linear mixed model fit by {'REML' if fit.reml else 'maximum likelihood'}. "
        f"t-tests use {DDF_TEXT[method]}",
        f"Formula: {fit.formula}",
    ]
    if fit.n_dropped:
        lines.append(f"  ({fit.n_dropped} rows with missing values dropped)")
    lines += [
        "",
        f"     AIC      BIC   logLik  {crit}",
        f"{fit.aic:8.1f} {fit.bic:8.1f} {fit.loglik:8.1f}  {fit.deviance:.1f}",
        "",
        "Scaled residuals:",
    ]
    q = np.quantile(fit.residuals.to_numpy() / fit.sigma, [0, 0.25, 0.5, 0.75, 1])
    lines.append("     Min       1Q   Median       3Q      Max")
    lines.append(" ".join(f"{v:8.4f}" for v in q))
    lines += ["", "Random effects:", _format_varcorr(vc)]
    groups = ", ".join(f"{g}, {n}" for g, n in fit.ngroups.items())
    lines.append(f"Number of obs: {fit.nobs}, groups:  {groups}")
    lines += ["", "Fixed effects:", _format_coef(table)]
    if fit._warnings:
        lines += ["", *("Warning: " + w for w in fit._warnings)]
    return LmerSummary("\n".join(lines), table, vc)


def fit_text(fit) -> str:
    """The short description ``repr(fit)`` shows."""
    fit_by = "REML" if fit.reml else "ML"
    vc = fit.varcorr
    lines = [
        f"lmer fit by {fit_by}: {fit.formula}",
        f"  nobs {fit.nobs}"
        + (f" ({fit.n_dropped} dropped for missing values)" if fit.n_dropped else "")
        + ", groups: "
        + ", ".join(f"{g} ({n})" for g, n in fit.ngroups.items()),
        f"  logLik {fit.loglik:.4f}, AIC {fit.aic:.2f}, BIC {fit.bic:.2f}",
        "Random effects:",
        _format_varcorr(vc),
        "Fixed effects:",
        fit.fixef.to_string(float_format=lambda v: f"{v:.5g}"),
    ]
    if fit.singular:
        lines.append("(boundary (singular) fit)")
    if not fit.converged:
        lines.append("(did not converge)")
    return "\n".join(lines)


def _format_varcorr(vc: pd.DataFrame) -> str:
    rows = []
    var_rows = vc[vc["var2"] == ""]
    corr = vc[vc["var2"] != ""]
    last_group = None
    for _, r in var_rows.iterrows():
        group = r["group"] if r["group"] != last_group else ""
        last_group = r["group"]
        cors = corr[(corr["group"] == r["group"]) & (corr["var2"] == r["var1"])]
        cor_text = " ".join(f"{c:5.2f}" for c in cors["sdcor"])
        rows.append((group, r["var1"], f"{r['vcov']:.5g}", f"{r['sdcor']:.5g}", cor_text))
    frame = pd.DataFrame(rows, columns=["Groups", "Name", "Variance", "Std.Dev.", "Corr"])
    if not frame["Corr"].str.len().any():
        frame = frame.drop(columns="Corr")
    return frame.to_string(index=False)


def _format_coef(table: pd.DataFrame) -> str:
    shown = pd.DataFrame(
        {
            "Estimate": table["estimate"].map(lambda v: f"{v:.5g}"),
            "Std. Error": table["std_error"].map(lambda v: f"{v:.5g}"),
            "df": table["df"].map(lambda v: "Inf" if np.isinf(v) else f"{v:.4g}"),
            "t value": table["t"].map(lambda v: f"{v:.3f}"),
            "Pr(>|t|)": table["p_value"].map(lambda v: f"{v:.3g}" if v >= 2e-16 else "<2e-16"),
        }
    )
    return shown.to_string()
