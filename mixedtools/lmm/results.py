"""The result of an lmer fit: lme4's fourth stage (``mkMerMod``), kept apart from the fitting.

:func:`make_result` takes what the first three stages produce (the design of
:mod:`mixedtools.lmm.design`, the model layout whose deviance :mod:`mixedtools.lmm.reml` or
:mod:`mixedtools.lmm.pls` evaluates, and the optimal variance parameters found by
:mod:`mixedtools.lmm.optimize`) and packages it as an :class:`LmerResult`: estimates, variance
components, random effects, predictions, df-based inference and the printed summary.  The
boundary and convergence checks run here, once, on the final estimates.

What every mixed model reports lives in :mod:`mixedtools.lmm.mixed_result` (the base class
:class:`~mixedtools.lmm.mixed_result.MixedModelResult`), the printed layout in
:mod:`mixedtools.lmm.result_text`; this module keeps what is the linear model's own.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mixedtools._threads import single_blas_thread
from mixedtools.lmm import ddf as _ddf
from mixedtools.lmm._names import unquote
from mixedtools.lmm._type3 import type3_hypotheses
from mixedtools.lmm.design import LmmDesign
from mixedtools.lmm.mixed_result import (
    LmerConvergenceWarning,
    LmerWarning,
    MixedModelResult,
    SingularFitWarning,
)
from mixedtools.lmm.optimize import fit_structure
from mixedtools.lmm.result_text import LmerSummary, fit_text, summary_text

__all__ = [
    "LmerResult",
    "LmerSummary",
    "LmerWarning",
    "SingularFitWarning",
    "LmerConvergenceWarning",
    "DDF_METHODS",
    "make_result",
]

DDF_METHODS = ("satterthwaite", "kenward-roger", "nlme", "hlm", "residual", "asymptotic")
_DDF_ALIASES = {"kr": "kenward-roger", "kenward_roger": "kenward-roger", "z": "asymptotic"}


def _normalise_ddf(ddf: str) -> str:
    if not isinstance(ddf, str):
        raise TypeError(f"ddf must be a string, one of {', '.join(DDF_METHODS)}")
    key = ddf.strip().lower()
    key = _DDF_ALIASES.get(key, key)
    if key not in DDF_METHODS:
        raise ValueError(f"unknown ddf method {ddf!r}; choose one of {', '.join(DDF_METHODS)}")
    return key


def make_result(formula, design: LmmDesign, structure, tau, reml, sm_result=None, sm_warnings=()):
    """Package an optimum as an :class:`LmerResult` (lme4's ``mkMerMod``).

    Parameters
    ----------
    formula : str
        The formula as the user wrote it.
    design : LmmDesign
        The design built from the formula and the data (stage 1).
    structure : mixedtools.lmm.reml.LMMStructure or mixedtools.lmm.pls.PLSStructure
        The model layout whose likelihood was maximised (stage 2).
    tau : ndarray
        The optimal variance parameters (stage 3), in ``structure``'s order.
    reml : bool
        REML or ML.
    sm_result : MixedLMResults, optional
        statsmodels' fit when it found the starting point.
    sm_warnings : sequence of str
        statsmodels' warnings, quoted if the fit did not converge.

    Returns
    -------
    LmerResult
        Checked for boundary estimates and convergence (warnings issued here).

    Examples
    --------
    >>> import mixedtools as mt
    >>> from mixedtools.lmm.design import build_design
    >>> from mixedtools.lmm.formula import parse_lmer_formula
    >>> from mixedtools.lmm.fit import make_structure
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> formula = "reaction ~ days + (days | subject)"
    >>> design = build_design(parse_lmer_formula(formula), sleep)
    >>> structure = make_structure(design)
    >>> fit = mt.lmer(formula, sleep)
    >>> again = make_result(formula, design, structure, fit.tau, reml=True)
    >>> round(again.loglik, 4) == round(fit.loglik, 4)
    True
    """
    quantities = structure.quantities(tau, reml)
    result = LmerResult(formula, design, structure, quantities, sm_result)
    result._check(list(sm_warnings))
    return result


class LmerResult(MixedModelResult):
    """A fitted linear mixed model (returned by :func:`lmer`).

    What every mixed model reports (estimates, variance components, random effects,
    predictions, checks) comes from :class:`~mixedtools.lmm.mixed_result.MixedModelResult`;
    the residual variance, residuals, df-based inference, effect sizes and the printed
    summary are the linear model's own.

    Attributes
    ----------
    formula : str
    reml : bool
    nobs : int
        Number of rows used.
    n_dropped : int
        Rows dropped for missing values.
    fixef : Series
        Fixed-effect estimates, named as the formula engine names the columns.
    vcov : DataFrame
        ``Phi = (X' V^-1 X)^-1``, the covariance of the fixed effects.
    sigma : float
        Residual standard deviation.
    loglik, aic, bic, deviance : float
        As lme4 reports them (REML or ML log-likelihood).
    ngroups : dict
        Number of levels of each grouping factor.
    structure : mixedtools.lmm.engine.EngineProtocol
        The fitted covariance structure (what the df methods take).
    tau : ndarray
        Variance parameters on the data scale, in ``structure``'s order.
    statsmodels_result : MixedLMResults or None
        statsmodels' own (unpolished) fit; None when the direct optimiser was used.
    """

    def __init__(self, formula, design: LmmDesign, structure, quantities, sm_result):
        super().__init__(formula, design, structure, quantities)
        self.statsmodels_result = sm_result
        self.sigma = math.sqrt(self.tau[-1])

    def _residual_variance(self) -> float:
        return float(self.tau[-1])

    def _check(self, sm_warnings: list[str]) -> None:
        self._report(self._boundary_problems(), sm_warnings)

    @property
    def residuals(self) -> pd.Series:
        """Conditional residuals ``y - fitted`` (lme4's ``residuals()``)."""
        y = pd.Series(self.design.y + self.design.offset, index=self.design.row_index)
        return (y - self.fitted).rename("residual")

    # ---------------------------------------------------------------- inference
    def _fit_for_ddf(self):
        """What :mod:`mixedtools.lmm.ddf` takes: the model layout, the polished tau, REML or not."""
        return (self.structure, self.tau, self.reml)

    def coef_table(self, ddf: str = "satterthwaite", level: float = 0.95) -> pd.DataFrame:
        """Fixed effects with standard errors, t tests and confidence intervals.

        Parameters
        ----------
        ddf : str
            Denominator degrees of freedom: "satterthwaite" (lmerTest's default),
            "kenward-roger", "nlme", "hlm", "residual" (N - p) or "asymptotic" (z tests).
        level : float
            Confidence level of the intervals.

        Returns
        -------
        DataFrame
            Indexed by term; columns estimate, std_error, df, t, p_value, ci_lower, ci_upper.

        Examples
        --------
        >>> import mixedtools as mt
        >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
        >>> fit.coef_table(ddf="residual")[["estimate", "std_error", "df"]].round(3)
                   estimate  std_error     df
        Intercept   251.405      6.825  178.0
        days         10.467      1.546  178.0
        """
        method = _normalise_ddf(ddf)
        with single_blas_thread():
            table = _ddf.coef_table(self._fit_for_ddf(), ddf=method, polish=False, level=level)
        table.index = self.fixef.index
        return table

    def anova(self, ddf: str = "satterthwaite") -> pd.DataFrame:
        """Type III F tests of the fixed-effects terms, as lmerTest's ``anova(fit, type = 3)``.

        The hypotheses do not depend on the contrast coding: a factor's test compares its levels
        at covariate value 0, a covariate's test is about its slope averaged over the levels of the
        factors it interacts with (SAS's and lmerTest's type III).

        Parameters
        ----------
        ddf : str
            Denominator df method, as in :meth:`coef_table`.

        Returns
        -------
        DataFrame
            Indexed by term; columns num_df, den_df, F, p_value.

        Examples
        --------
        >>> import mixedtools as mt
        >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
        >>> fit.anova(ddf="residual")[["num_df", "den_df"]]
              num_df  den_df
        days       1   178.0
        """
        method = _normalise_ddf(ddf)
        hypotheses = type3_hypotheses(self.design.fe_design_info, self.design.data, self.design.X)
        if not hypotheses:
            raise ValueError("the model has no fixed-effects terms besides the intercept to test")
        fit = self._fit_for_ddf()
        with single_blas_thread():
            rows = {
                name: _ddf.contrast_test(fit, L, ddf=method, polish=False)
                for name, L in hypotheses.items()
            }
        table = pd.DataFrame(rows).T
        table.index = [unquote(name) for name in table.index]
        table["num_df"] = table["num_df"].astype(int)
        return table[["num_df", "den_df", "F", "p_value"]]

    # ---------------------------------------------------------------- effect sizes
    def _variance_parts(self) -> dict[str, float]:
        """Variance of each random term, averaged over rows (Johnson's mean of z' Sigma z)."""
        return self.structure.variance_parts(self.tau)

    def icc(self, by_group: bool = False):
        """Intraclass correlation: share of the (non-fixed) variance due to the random effects.

        For random slopes the random variance is averaged over the observations (Johnson 2014),
        which is the "adjusted ICC" of R's performance package.

        Parameters
        ----------
        by_group : bool
            Return one ICC per grouping factor (its variance over random + residual variance).

        Returns
        -------
        float or Series

        Examples
        --------
        >>> import mixedtools as mt
        >>> fit = mt.lmer("mathach ~ 1 + (1 | school)", mt.datasets.load("hsb"))
        >>> round(fit.icc(), 4)
        0.1804
        """
        parts = self._variance_parts()
        total = sum(parts.values()) + self.tau[-1]
        if by_group:
            return pd.Series({g: v / total for g, v in parts.items()}, name="icc")
        return float(sum(parts.values()) / total)

    def r2(self) -> pd.Series:
        """Nakagawa's marginal and conditional R^2 (with Johnson's extension to random slopes).

        Returns
        -------
        Series
            marginal (fixed effects only) and conditional (fixed plus random effects).

        Examples
        --------
        >>> import mixedtools as mt
        >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
        >>> fit.r2().round(3).tolist()
        [0.279, 0.799]
        """
        var_fixed = float(np.var(self.design.X @ self.fixef.to_numpy(), ddof=1))
        var_random = sum(self._variance_parts().values())
        total = var_fixed + var_random + self.tau[-1]
        return pd.Series(
            {"marginal": var_fixed / total, "conditional": (var_fixed + var_random) / total},
            name="r2",
        )

    # ---------------------------------------------------------------- refitting
    def refit(self, reml: bool) -> LmerResult:
        """The same model fitted by REML (``reml=True``) or ML, on the same rows."""
        if reml == self.reml:
            return self
        with single_blas_thread():
            tau = fit_structure(self.structure, reml)
            return make_result(self.formula, self.design, self.structure, tau, reml)

    # ---------------------------------------------------------------- display
    def summary(self, ddf: str = "satterthwaite") -> LmerSummary:
        """A summary laid out like lmerTest's ``summary()``.

        Examples
        --------
        >>> import mixedtools as mt
        >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
        >>> print(fit.summary(ddf="residual").text.splitlines()[0])
        Linear mixed model fit by REML. t-tests use residual df (N - p)
        """
        method = _normalise_ddf(ddf)
        return summary_text(self, self.coef_table(ddf=method), method)

    def __repr__(self) -> str:
        return fit_text(self)
