"""What every fitted mixed model reports, whatever its response distribution.

:class:`MixedModelResult` holds what a linear mixed model
(:class:`mixedtools.lmm.results.LmerResult`) shares with a generalised one: the fixed effects
and their covariance, the random effects with their conditional variances, the variance
components and the number of levels of each grouping factor, the log-likelihood with AIC, BIC
and deviance, the boundary (singular) and convergence checks, and predictions with or without
the random effects.  Everything is read from the fitted covariance structure through
:class:`mixedtools.lmm.engine.EngineProtocol`; a subclass adds what is its own (for the linear
model: sigma, residuals, df-based inference, the printed summary).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import patsy

from mixedtools._threads import single_blas_thread
from mixedtools._warnings import external_stacklevel
from mixedtools.lmm._names import unquote
from mixedtools.lmm.design import LmmDesign
from mixedtools.lmm.engine import varcorr_rows
from mixedtools.lmm.polish import optimality_gap, psd_cholesky
from mixedtools.rformula import offset_values

__all__ = [
    "LmerConvergenceWarning",
    "LmerWarning",
    "MixedModelResult",
    "SingularFitWarning",
]


class LmerWarning(UserWarning):
    """A problem with an lmer fit that the reader should know about."""


class SingularFitWarning(LmerWarning):
    """Some variance is estimated as zero, or some correlation as +-1 (a boundary fit)."""


class LmerConvergenceWarning(LmerWarning):
    """The optimiser stopped before reaching the maximum of the likelihood."""


def _converged(gap) -> bool:
    """Converged: the log-likelihood still to gain (the optimality gap) is negligible."""
    return bool(np.isfinite(gap) and gap < 0.5e-6)


class MixedModelResult:
    """A fitted mixed model: what every kind of mixed model reports.

    Attributes
    ----------
    formula : str
    design : LmmDesign
        The design the model was fitted to.
    structure : mixedtools.lmm.engine.EngineProtocol
        The fitted covariance structure.
    quantities : mixedtools.lmm.engine.LMMQuantities
        Likelihood quantities at the estimates.
    reml : bool
    tau : ndarray
        Variance parameters on the data scale, in ``structure``'s order.
    nobs : int
        Number of rows used.
    n_dropped : int
        Rows dropped for missing values.
    fixef : Series
        Fixed-effect estimates, named as the formula engine names the columns.
    vcov : DataFrame
        The covariance of the fixed effects.
    loglik, aic, bic, deviance : float
        As lme4 reports them.
    n_params : int
        Fixed effects plus variance parameters.
    singular, converged : bool
        Set by the boundary and convergence checks.
    """

    def __init__(self, formula, design: LmmDesign, structure, quantities):
        self.formula = formula
        self.design = design
        self.structure = structure
        self.quantities = quantities
        self.reml = quantities.reml
        self.tau = quantities.tau
        self.nobs = design.n_obs
        self.n_dropped = design.n_dropped
        self.fixef = pd.Series(quantities.beta, index=design.fe_names, name="estimate")
        self.vcov = pd.DataFrame(quantities.Phi, index=design.fe_names, columns=design.fe_names)
        self.loglik = float(quantities.loglik)
        if design.weights is not None:  # the scaled rows' likelihood, back on the data's scale
            self.loglik += 0.5 * float(np.sum(np.log(design.weights)))
        self.n_params = len(self.fixef) + structure.n_tau
        self.deviance = -2.0 * self.loglik
        self.aic = self.deviance + 2.0 * self.n_params
        self.bic = self.deviance + math.log(self.nobs) * self.n_params
        self._ranef = None
        self._warnings: list[str] = []

    def _residual_variance(self) -> float | None:
        """The residual variance, or None for a model without one."""
        return None

    # ---------------------------------------------------------------- checks
    def _boundary_problems(self) -> list[str]:
        """lme4's isSingular(): a diagonal entry of a relative Cholesky factor below 1e-4."""
        problems = []
        s2 = self._residual_variance() or 1.0
        for term in self.structure.random_terms(self.tau):
            group, names, G = term.group, term.effect_names, term.G
            T = psd_cholesky(G / s2)
            for j, name in enumerate(names):
                if T[j, j] >= 1e-4:
                    continue
                # a variance is 0 when it is tiny and unlinked: on a badly scaled predictor a
                # tiny variance with a covariance is a correlation of +-1 (the check below)
                linked = any(abs(G[j, b]) > 0 for b in range(len(names)) if b != j)
                if G[j, j] <= 0 or (G[j, j] <= 1e-8 * s2 and not linked):
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

    def _warn_singular(self, problems: list[str]) -> None:
        """Set ``singular`` and warn, naming each boundary problem."""
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

    def _report(self, problems: list[str], sm_warnings: list[str]) -> None:
        self._warn_singular(problems)
        # convergence: the Newton decrement on the free parameters must be negligible
        gap = optimality_gap(self.structure, self.quantities)
        self.converged = _converged(gap)
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
        """Number of levels of each grouping factor."""
        out = {}
        for term in self.structure.random_terms(self.tau):
            out.setdefault(term.group, term.n_levels)
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
        rows = varcorr_rows(self.structure.random_terms(self.tau), self._residual_variance())
        return pd.DataFrame(rows, columns=["group", "var1", "var2", "vcov", "sdcor"])

    # ---------------------------------------------------------------- random effects
    def _compute_ranef(self):
        """Conditional modes and variances of every random term, from the structure."""
        values: dict[str, dict[str, pd.Series]] = {}
        variances: dict[str, dict[str, pd.Series]] = {}
        self._ranef_condcov = {}
        with single_blas_thread():
            parts = self.structure.conditional_modes(self.tau, self.fixef.to_numpy())
        for part in parts:
            index = pd.Index(part.levels, name=part.group)
            for a, name in enumerate(part.effect_names):
                values.setdefault(part.group, {})[name] = pd.Series(part.modes[:, a], index=index)
                variances.setdefault(part.group, {})[name] = pd.Series(
                    part.condcov[:, a, a], index=index
                )
            self._ranef_condcov.setdefault(part.group, part.condcov)
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
        check_new_data_types(self.design, data)
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
            vc = next((v for v in self.design.vcs if v.term is term), None)
            if vc is not None:  # a variance component has one effect, named by the design
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


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def check_new_data_types(design: LmmDesign, data: pd.DataFrame) -> None:
    """Refuse new data whose column is not numeric where the fit's was (R's ``.checkMFClasses``:
    "variable 'x' was fitted with type "numeric" but type "logical" was supplied"). The formula
    engine would fail inside its own error message (``'DataFrame' object has no attribute
    'dtype'``)."""
    fitted = design.data
    for column in data.columns:
        if column in fitted.columns and _is_number(fitted[column]):
            if not _is_number(data[column]):
                raise ValueError(
                    f"the column {column!r} is numeric in the data of the fit but "
                    f"{data[column].dtype} in the new data; give it numbers as in the fit "
                    f"(e.g. new[{column!r}].astype(float))"
                )


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
