"""The result of an lmer fit: lme4's fourth stage (``mkMerMod``), kept apart from the fitting.

:func:`make_result` takes what the first three stages produce (the design of
:mod:`mixedtools.lmm.design`, the model layout whose deviance :mod:`mixedtools.lmm.reml` or
:mod:`mixedtools.lmm.pls` evaluates, and the optimal variance parameters found by
:mod:`mixedtools.lmm.optimize`) and packages it as an :class:`LmerResult`: estimates, variance
components, random effects, predictions, df-based inference and the printed summary.  The
boundary and convergence checks run here, once, on the final estimates.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import patsy

from mixedtools._threads import single_blas_thread
from mixedtools._warnings import external_stacklevel
from mixedtools.lmm import ddf as _ddf
from mixedtools.lmm import reml as _reml
from mixedtools.lmm._names import unquote
from mixedtools.lmm._type3 import type3_hypotheses
from mixedtools.lmm.design import LmmDesign
from mixedtools.lmm.optimize import fit_structure
from mixedtools.lmm.pls import PLSStructure
from mixedtools.rformula import offset_values

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


class LmerWarning(UserWarning):
    """A problem with an lmer fit that the reader should know about."""


class SingularFitWarning(LmerWarning):
    """Some variance is estimated as zero, or some correlation as +-1 (a boundary fit)."""


class LmerConvergenceWarning(LmerWarning):
    """The optimiser stopped before reaching the maximum of the likelihood."""


def _normalise_ddf(ddf: str) -> str:
    if not isinstance(ddf, str):
        raise TypeError(f"ddf must be a string, one of {', '.join(DDF_METHODS)}")
    key = ddf.strip().lower()
    key = _DDF_ALIASES.get(key, key)
    if key not in DDF_METHODS:
        raise ValueError(f"unknown ddf method {ddf!r}; choose one of {', '.join(DDF_METHODS)}")
    return key


def _converged(structure, quantities) -> bool:
    gap = _reml.optimality_gap(structure, quantities)
    return bool(np.isfinite(gap) and gap < 0.5e-6)


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
    quantities = _reml.reml_quantities(structure, tau, reml=reml)
    result = LmerResult(formula, design, structure, quantities, sm_result)
    result._check(list(sm_warnings))
    return result


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


class LmerResult:
    """A fitted linear mixed model (returned by :func:`lmer`).

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
    structure : mixedtools.lmm.reml.LMMStructure
        The blockwise model layout (what the df methods take).
    tau : ndarray
        Variance parameters on the data scale, in ``structure``'s order.
    statsmodels_result : MixedLMResults or None
        statsmodels' own (unpolished) fit; None when the direct optimiser was used.
    """

    def __init__(self, formula, design: LmmDesign, structure, quantities, sm_result):
        self.formula = formula
        self.design = design
        self.structure = structure
        self.quantities = quantities
        self.statsmodels_result = sm_result
        self.reml = quantities.reml
        self.tau = quantities.tau
        self.nobs = design.n_obs
        self.n_dropped = design.n_dropped
        self.fixef = pd.Series(quantities.beta, index=design.fe_names, name="estimate")
        self.vcov = pd.DataFrame(quantities.Phi, index=design.fe_names, columns=design.fe_names)
        self.sigma = math.sqrt(self.tau[-1])
        self.loglik = float(quantities.loglik)
        self.n_params = len(self.fixef) + structure.n_tau
        self.deviance = -2.0 * self.loglik
        self.aic = self.deviance + 2.0 * self.n_params
        self.bic = self.deviance + math.log(self.nobs) * self.n_params
        self._ranef = None
        self._warnings: list[str] = []

    # ---------------------------------------------------------------- checks
    def _g_matrix(self) -> np.ndarray:
        k = self.structure.k_re
        G = np.zeros((k, k))
        for i, (a, b) in enumerate(self.structure.g_entries):
            G[a, b] = G[b, a] = self.tau[i]
        return G

    def _vc_variances(self) -> np.ndarray:
        n_g = len(self.structure.g_entries)
        return self.tau[n_g:-1]

    @property
    def _general(self) -> bool:
        return isinstance(self.structure, PLSStructure)

    def _covariance_blocks(self):
        """(grouping factor, effect names, covariance matrix) of every random-effects block."""
        if self._general:
            return [
                (t.group, t.effect_names, self.structure.term_G(self.tau, ti))
                for ti, t in enumerate(self.structure.terms)
            ]
        blocks = []
        if self.structure.k_re:
            blocks.append((self.design.block_name, tuple(self.design.re_names), self._g_matrix()))
        for vc, v in zip(self.design.vcs, self._vc_variances(), strict=True):
            blocks.append((vc.group, (vc.effect,), np.array([[v]])))
        return blocks

    def _boundary_problems(self) -> list[str]:
        """lme4's isSingular(): a diagonal entry of a relative Cholesky factor below 1e-4."""
        problems = []
        s2 = self.tau[-1]
        for group, names, G in self._covariance_blocks():
            T = _reml._psd_cholesky(G / s2)
            for j, name in enumerate(names):
                if T[j, j] >= 1e-4:
                    continue
                if G[j, j] <= 1e-8 * s2:
                    problems.append(
                        f"the variance of {_effect_label(name)} across {group!r} is estimated as 0"
                    )
                    continue
                others = [b for b in range(j) if G[b, b] > 1e-8 * s2 and abs(G[j, b]) > 0]
                if len(others) == 1:
                    b = others[0]
                    r = G[j, b] / math.sqrt(G[j, j] * G[b, b])
                    problems.append(
                        f"the correlation of {_effect_label(names[b])} and {_effect_label(name)} "
                        f"across {group!r} is estimated as {r:+.0f}"
                    )
                else:
                    problems.append(
                        f"the covariance matrix of the random effects across {group!r} is "
                        "singular (some combination of them has no variance)"
                    )
        return problems

    def _check(self, sm_warnings: list[str]) -> None:
        self._report(self._boundary_problems(), sm_warnings)

    def _report(self, problems: list[str], sm_warnings: list[str]) -> None:
        self.singular = bool(problems)
        if problems:
            msg = (
                "boundary (singular) fit: "
                + "; ".join(problems)
                + ". The data carry no information about this part of the random structure; "
                "consider simplifying it (drop the term, or use '||' to drop a correlation)."
            )
            self._warnings.append(msg)
            warnings.warn(msg, SingularFitWarning, stacklevel=external_stacklevel())
        # convergence: the Newton decrement on the free parameters must be negligible
        gap = _reml.optimality_gap(self.structure, self.quantities)
        self.converged = _converged(self.structure, self.quantities)
        if not self.converged:
            msg = (
                "the fit did not converge: the likelihood can still be increased by about "
                f"{gap:.2g} log-likelihood units, so the estimates are not final. "
                "Try rescaling predictors with very different scales, or simplify the random "
                "effects."
            )
            if sm_warnings:
                msg += f" (statsmodels: {sm_warnings[0]})"
            self._warnings.append(msg)
            warnings.warn(msg, LmerConvergenceWarning, stacklevel=external_stacklevel())

    # ---------------------------------------------------------------- variance components
    @property
    def ngroups(self) -> dict[str, int]:
        out = {}
        if self._general:
            for term in self.structure.terms:
                out.setdefault(term.group, term.n_levels)
            return out
        if self.design.block_name is not None and self.structure.k_re:
            out[self.design.block_name] = len(self.design.block_levels)
        for vc in self.design.vcs:
            out.setdefault(vc.group, len(vc.levels))
        return out

    @property
    def varcorr(self) -> pd.DataFrame:
        """Variance components in the layout of lme4's ``as.data.frame(VarCorr(fit))``.

        Columns: group, var1, var2, vcov, sdcor.  Variances have an empty ``var2`` and their SD in
        ``sdcor``; covariances name both effects and have the correlation in ``sdcor``.

        Examples
        --------
        >>> import mixedtools as mt
        >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
        >>> fit.varcorr.round(3)
              group       var1  var2     vcov   sdcor
        0   subject  Intercept        612.090  24.740
        1   subject       days         35.072   5.922
        2   subject  Intercept  days    9.604   0.066
        3  Residual                   654.941  25.592
        """
        rows = []
        if self._general:
            for ti, term in enumerate(self.structure.terms):
                G = self.structure.term_G(self.tau, ti)
                names = term.effect_names
                for a, name in enumerate(names):
                    rows.append((term.group, name, "", G[a, a], math.sqrt(max(G[a, a], 0.0))))
                for b in range(len(names)):
                    for a in range(b + 1, len(names)):
                        denom = math.sqrt(G[a, a] * G[b, b])
                        corr = G[a, b] / denom if denom > 0 else float("nan")
                        rows.append((term.group, names[b], names[a], G[a, b], corr))
            rows.append(("Residual", "", "", self.tau[-1], self.sigma))
            return pd.DataFrame(rows, columns=["group", "var1", "var2", "vcov", "sdcor"])
        G = self._g_matrix()
        names = self.design.re_names
        block = self.design.block_name
        for a, name in enumerate(names):
            rows.append((block, name, "", G[a, a], math.sqrt(max(G[a, a], 0.0))))
        for b in range(len(names)):
            for a in range(b + 1, len(names)):
                if not self.structure.free[a, b]:
                    continue
                denom = math.sqrt(G[a, a] * G[b, b])
                corr = G[a, b] / denom if denom > 0 else float("nan")
                rows.append((block, names[b], names[a], G[a, b], corr))
        for vc, s in zip(self.design.vcs, self._vc_variances(), strict=True):
            rows.append((vc.group, vc.effect, "", s, math.sqrt(max(s, 0.0))))
        rows.append(("Residual", "", "", self.tau[-1], self.sigma))
        return pd.DataFrame(rows, columns=["group", "var1", "var2", "vcov", "sdcor"])

    # ---------------------------------------------------------------- random effects
    def _compute_ranef(self):
        """Conditional modes and variances, one block at a time, batched over blocks."""
        if self._general:
            with single_blas_thread():
                self._compute_ranef_general()
            return
        st = self.structure
        C, _ = st._crossprods  # per-block [W, X, y]' [W, X, y], already computed by the core
        q, p = st._q, st.n_fixed
        D, s2 = st.covariance_blocks(self.tau)
        w, U = np.linalg.eigh(D)
        L = U * np.sqrt(np.clip(w, 0.0, None))
        WtW = C[:, :q, :q]
        Wtr = C[:, :q, q + p] - C[:, :q, q : q + p] @ self.fixef.to_numpy()
        inner = s2 * np.eye(q) + np.einsum("ai,jab,bk->jik", L, WtW, L)
        inner_inv = np.linalg.inv(inner)
        # b = L (L'W'WL + s2 I)^-1 L'W'r ;  Var(b | y) = s2 L (L'W'WL + s2 I)^-1 L'
        modes = np.einsum("ai,jik,bk,jb->ja", L, inner_inv, L, Wtr)
        condvar = s2 * np.einsum("ai,jik,bk->jab", L, inner_inv, L)

        values: dict[str, dict[str, pd.Series]] = {}
        variances: dict[str, dict[str, pd.Series]] = {}
        k = st.k_re
        if k:
            name = self.design.block_name
            index = pd.Index(self.design.block_levels, name=name)
            values[name] = {
                c: pd.Series(modes[:, a], index=index) for a, c in enumerate(st.re_names)
            }
            variances[name] = {
                c: pd.Series(condvar[:, a, a], index=index) for a, c in enumerate(st.re_names)
            }
            self._ranef_condcov = {name: condvar[:, :k, :k]}
        else:
            self._ranef_condcov = {}
        start = k
        for vc in self.design.vcs:
            m = vc.matrix.shape[1]
            codes = vc.level_codes
            used = codes >= 0
            labels = vc.levels[codes[used]]
            cols = np.arange(start, start + m)
            mode = modes[:, cols][used]
            var = np.einsum("jaa->ja", condvar[:, cols][:, :, cols])[used]
            index = pd.Index(labels, name=vc.group)
            series_mode = pd.Series(mode, index=index).sort_index()
            series_var = pd.Series(var, index=index).sort_index()
            values.setdefault(vc.group, {})[vc.effect] = series_mode
            variances.setdefault(vc.group, {})[vc.effect] = series_var
            start += m
        self._ranef = {g: pd.DataFrame(cols) for g, cols in values.items()}
        self._ranef_condvar = {g: pd.DataFrame(cols) for g, cols in variances.items()}

    def _compute_ranef_general(self):
        values: dict[str, dict[str, pd.Series]] = {}
        variances: dict[str, dict[str, pd.Series]] = {}
        self._ranef_condcov = {}
        parts = self.structure.conditional_modes(self.tau)
        for term, (modes, cov) in zip(self.structure.terms, parts, strict=True):
            index = pd.Index(term.levels, name=term.group)
            for a, name in enumerate(term.effect_names):
                values.setdefault(term.group, {})[name] = pd.Series(modes[:, a], index=index)
                variances.setdefault(term.group, {})[name] = pd.Series(cov[:, a, a], index=index)
            self._ranef_condcov.setdefault(term.group, cov)
        self._ranef = {g: pd.DataFrame(cols) for g, cols in values.items()}
        self._ranef_condvar = {g: pd.DataFrame(cols) for g, cols in variances.items()}

    @property
    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes of the random effects, {grouping factor: DataFrame}.

        lme4's ``ranef()``; levels are rows, effects columns.

        Examples
        --------
        >>> import mixedtools as mt
        >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
        >>> list(fit.ranef["subject"].columns)
        ['Intercept', 'days']
        >>> fit.ranef["subject"].loc["309"].round(2).tolist()
        [-40.4, -8.62]
        """
        if self._ranef is None:
            self._compute_ranef()
        return self._ranef

    @property
    def ranef_condvar(self) -> dict[str, pd.DataFrame]:
        """Conditional variances of the random effects, laid out as :attr:`ranef`.

        These are lme4's ``condVar`` values: the variance of each effect given the data, with
        the fixed effects and variance parameters held at their estimates.
        """
        if self._ranef is None:
            self._compute_ranef()
        return self._ranef_condvar

    @property
    def ranef_condcov(self) -> dict[str, np.ndarray]:
        """Conditional covariance matrices (levels x k x k) of the correlated block of effects."""
        if self._ranef is None:
            self._compute_ranef()
        return self._ranef_condcov

    # ---------------------------------------------------------------- prediction
    def _fixed_design(self, data: pd.DataFrame) -> pd.DataFrame:
        try:
            (X,) = patsy.build_design_matrices(
                [self.design.fe_design_info], data, NA_action="drop", return_type="dataframe"
            )
        except patsy.PatsyError as err:
            raise ValueError(
                f"cannot build the fixed-effects design for the new data: {err}"
            ) from None
        return X

    def _random_part(self, data: pd.DataFrame) -> pd.Series:
        total = pd.Series(0.0, index=data.index)
        ranef = self.ranef
        for term, info in self.design.term_design_infos.items():
            try:
                (Z,) = patsy.build_design_matrices(
                    [info], data, NA_action="drop", return_type="dataframe"
                )
            except patsy.PatsyError as err:
                raise ValueError(
                    f"cannot build the random term {term.text} for the new data: {err}"
                ) from None
            missing = [c for c in term.group if c not in data.columns]
            if missing:
                raise ValueError(f"the new data lack the grouping column(s) {', '.join(missing)}")
            sub = data.loc[Z.index]
            Z = Z.rename(columns=unquote)
            if len(term.group) == 1:
                labels = sub[term.group[0]]  # matched by value: 308.0 finds group 308
            else:
                labels = (
                    sub[term.group[0]]
                    .astype(str)
                    .str.cat([sub[c].astype(str) for c in term.group[1:]], sep=":")
                )
            table = ranef[term.group_name]
            cols = [c for c in Z.columns if c in table.columns]
            if not self._general and term is not self.design.re_term:
                # a variance component has one effect, named by the design
                vc = next(v for v in self.design.vcs if v.term is term)
                cols = [vc.effect]
                Z = Z.set_axis([vc.effect], axis=1)
            effects = _lookup(table[cols], labels)
            contrib = (Z[cols].to_numpy() * effects).sum(axis=1)
            total.loc[Z.index] += contrib
            total.loc[~data.index.isin(Z.index)] = np.nan
        return total

    def predict(self, newdata: pd.DataFrame | None = None, re: bool = True) -> pd.Series:
        """Predictions, with (``re=True``) or without the random effects.

        Parameters
        ----------
        newdata : DataFrame, optional
            Data to predict for; default the rows used in the fit.  Levels of a grouping factor
            not seen in the fit get the population prediction (random effect 0), as lme4's
            ``allow.new.levels = TRUE``.
        re : bool
            Include the random effects (conditional prediction) or not (population prediction).

        Returns
        -------
        Series
            Indexed like `newdata` (rows with missing predictors give NaN).

        Examples
        --------
        >>> import pandas as pd, mixedtools as mt
        >>> fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
        >>> new = pd.DataFrame({"days": [0, 0], "subject": ["308", "unseen"]})
        >>> fit.predict(new).round(2).tolist()
        [253.66, 251.41]
        """
        if newdata is None:
            data = self.design.data.set_axis(self.design.row_index, axis=0)
        else:
            if not isinstance(newdata, pd.DataFrame):
                raise TypeError("newdata must be a pandas DataFrame")
            data = newdata
        labels = data.index
        data = data.reset_index(drop=True)  # work by position: the caller's labels may repeat
        X = self._fixed_design(data)
        out = pd.Series(np.nan, index=data.index, name="predicted")
        out.loc[X.index] = X.to_numpy() @ self.fixef.to_numpy() + self._offset(data, X.index)
        if re:
            out = out + self._random_part(data)
        return out.set_axis(labels)

    def _offset(self, data: pd.DataFrame, rows) -> np.ndarray:
        """The offset terms of the formula evaluated on ``data`` (zero without offsets)."""
        # formula front-end: the offsets are evaluated as R reads them (offset(log(n)))
        try:
            values = offset_values(self.design.offset_infos, data)
        except ValueError as err:
            raise ValueError(f"cannot evaluate the offset for the new data: {err}") from None
        return values[np.asarray(data.index.get_indexer(rows))]

    @property
    def fitted(self) -> pd.Series:
        """Conditional fitted values (fixed plus random effects) of the rows used."""
        return self.predict()

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
        parts: dict[str, float] = {}
        if self._general:
            for ti, term in enumerate(self.structure.terms):
                G = self.structure.term_G(self.tau, ti)
                per_row = np.einsum("ia,ab,ib->i", term.Z, G, term.Z)
                parts[term.group] = parts.get(term.group, 0.0) + float(np.mean(per_row))
            return parts
        G = self._g_matrix()
        if self.structure.k_re:
            Z = self.design.Z
            parts[self.design.block_name] = float(np.mean(np.einsum("ia,ab,ib->i", Z, G, Z)))
        for vc, s in zip(self.design.vcs, self._vc_variances(), strict=True):
            per_row = s * np.einsum("ij,ij->i", vc.matrix, vc.matrix)
            parts[vc.group] = parts.get(vc.group, 0.0) + float(np.mean(per_row))
        return parts

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
        table = self.coef_table(ddf=method)
        vc = self.varcorr
        crit = "REML criterion at convergence" if self.reml else "deviance"
        lines = [
            f"Linear mixed model fit by {'REML' if self.reml else 'maximum likelihood'}. "
            f"t-tests use {_DDF_TEXT[method]}",
            f"Formula: {self.formula}",
        ]
        if self.n_dropped:
            lines.append(f"  ({self.n_dropped} rows with missing values dropped)")
        lines += [
            "",
            f"     AIC      BIC   logLik  {crit}",
            f"{self.aic:8.1f} {self.bic:8.1f} {self.loglik:8.1f}  {self.deviance:.1f}",
            "",
            "Scaled residuals:",
        ]
        q = np.quantile(self.residuals.to_numpy() / self.sigma, [0, 0.25, 0.5, 0.75, 1])
        lines.append("     Min       1Q   Median       3Q      Max")
        lines.append(" ".join(f"{v:8.4f}" for v in q))
        lines += ["", "Random effects:", _format_varcorr(vc)]
        groups = ", ".join(f"{g}, {n}" for g, n in self.ngroups.items())
        lines.append(f"Number of obs: {self.nobs}, groups:  {groups}")
        lines += ["", "Fixed effects:", _format_coef(table)]
        if self._warnings:
            lines += ["", *("Warning: " + w for w in self._warnings)]
        return LmerSummary("\n".join(lines), table, vc)

    def __repr__(self) -> str:
        fit_by = "REML" if self.reml else "ML"
        vc = self.varcorr
        lines = [
            f"lmer fit by {fit_by}: {self.formula}",
            f"  nobs {self.nobs}"
            + (f" ({self.n_dropped} dropped for missing values)" if self.n_dropped else "")
            + ", groups: "
            + ", ".join(f"{g} ({n})" for g, n in self.ngroups.items()),
            f"  logLik {self.loglik:.4f}, AIC {self.aic:.2f}, BIC {self.bic:.2f}",
            "Random effects:",
            _format_varcorr(vc),
            "Fixed effects:",
            self.fixef.to_string(float_format=lambda v: f"{v:.5g}"),
        ]
        if self.singular:
            lines.append("(boundary (singular) fit)")
        if not self.converged:
            lines.append("(did not converge)")
        return "\n".join(lines)


_DDF_TEXT = {
    "satterthwaite": "Satterthwaite's method",
    "kenward-roger": "the Kenward-Roger method",
    "nlme": "nlme's containment df",
    "hlm": "HLM's df rule",
    "residual": "residual df (N - p)",
    "asymptotic": "the normal distribution (z tests)",
}


def _lookup(table: pd.DataFrame, labels: pd.Series) -> np.ndarray:
    """Rows of ``table`` for each label, matched by value (0 for labels not in the table)."""
    index = table.index
    if index.inferred_type in ("integer", "floating", "mixed-integer-float"):
        labels = pd.to_numeric(labels, errors="coerce")  # "308", 308.0 and 308 are one group
    else:
        labels = labels.astype(str) if index.inferred_type == "string" else labels
    pos = index.get_indexer(pd.Index(labels.to_numpy()))
    values = table.to_numpy()[np.maximum(pos, 0)]
    values[pos < 0] = 0.0
    return values


def _effect_label(name: str) -> str:
    return "the random intercept" if name == "Intercept" else f"the random slope of {name!r}"


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
