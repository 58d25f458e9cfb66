"""The fixed-effects (within) estimator, as plm's ``model = "within"``: the one-way FE fit that
:func:`~mixedtools.panel.hausman` compares with random effects.

linearmodels' ``PanelOLS`` gives the same coefficients and (unadjusted) covariance with many more
statistics; this estimator computes only what the Hausman test and a coefficient table need, from
the same design as :func:`~mixedtools.panel.random_effects`.

Examples
--------
>>> import mixedtools as mt
>>> grunfeld = mt.datasets.load("grunfeld").set_index(["firm", "year"])
>>> fe = mt.panel.fixed_effects("inv ~ value + capital", grunfeld)
>>> fe.params.round(4).tolist()
[0.1101, 0.3101]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import special

from mixedtools.panel._design import INTERCEPT_NAMES, PanelDesign
from mixedtools.panel.random_effects_gls import _parse
from mixedtools.report import format_table

__all__ = ["FixedEffectsResult", "fixed_effects"]


@dataclass(frozen=True, repr=False)
class FixedEffectsResult:
    """A fitted one-way fixed-effects (within) panel model.

    Attributes
    ----------
    params, std_errors : pandas.Series
        Within coefficients of the time-varying regressors and their classical standard errors.
    cov : pandas.DataFrame
        ``sigma2 (X_w' X_w)^-1`` with X_w the entity-demeaned regressors.
    sigma2 : float
        Residual variance, the residual sum of squares over ``df_resid``.
    df_resid : int
        n - N - k (observations minus entities minus slopes), as plm and PanelOLS.
    n_obs, n_entities : int
    time_invariant : tuple of str
        Regressors dropped because they do not vary within any entity (the intercept is dropped
        silently: the entity effects absorb it).
    design : PanelDesign
        Response, regressors (the time-varying ones) and entity structure.
    effect : str
        ``"individual"`` (entity effects) or ``"twoways"`` (entity and period effects).
    """

    params: pd.Series
    std_errors: pd.Series
    cov: pd.DataFrame
    sigma2: float
    df_resid: int
    n_obs: int
    n_entities: int
    time_invariant: tuple = ()
    design: PanelDesign | None = field(default=None, compare=False)
    effect: str = "individual"

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
        """Coefficient table: estimate, std_error, t and p_value (t with ``df_resid`` df)."""
        t = self.params / self.std_errors
        p = special.stdtr(self.df_resid, -np.abs(t.to_numpy())) * 2
        return pd.DataFrame(
            {"estimate": self.params, "std_error": self.std_errors, "t": t, "p_value": p}
        )

    def __repr__(self) -> str:
        return (
            f"Fixed-effects (within{', two-way' if self.effect == 'twoways' else ''}) panel "
            f"model: {self.n_obs} observations, "
            f"{self.n_entities} entities, sigma2 = {self.sigma2:.6g}\n"
            + format_table(self.summary().round(6)).to_string()
        )


def fixed_effects(
    formula: str, data: pd.DataFrame, effect: str = "individual"
) -> FixedEffectsResult:
    """Fixed-effects (within) estimator, as plm's ``plm(..., model = "within")``.

    Parameters
    ----------
    formula : str
        The formula of :func:`random_effects`, e.g. ``"inv ~ 1 + value + capital"`` (the
        constant, and any regressor that does not vary within entities, is absorbed by the entity
        effects and dropped); no ``EntityEffects`` term is needed.
    data : pandas.DataFrame
        Indexed by (entity, time); may be unbalanced.
    effect : {"individual", "twoways"}
        Entity effects (plm's default), or entity and period effects (plm's
        ``effect = "twoways"``, linearmodels' ``EntityEffects + TimeEffects``): the two-way
        within transformation, exact on unbalanced panels too; df_resid is then
        n - N - (T - 1) - k.

    Returns
    -------
    FixedEffectsResult
        Accepted by :func:`hausman` as its ``fe`` argument, like a linearmodels ``PanelOLS``
        fit with entity effects (same coefficients and covariance).

    Examples
    --------
    >>> import mixedtools as mt
    >>> grunfeld = mt.datasets.load("grunfeld").set_index(["firm", "year"])
    >>> fe = mt.panel.fixed_effects("inv ~ 1 + value + capital", grunfeld)
    >>> re = mt.panel.random_effects("inv ~ 1 + value + capital", grunfeld)
    >>> round(mt.panel.hausman(fe, re).statistic, 4)
    2.3304
    >>> mt.panel.fixed_effects("inv ~ value + capital", grunfeld, effect="twoways").params.round(4)
    value      0.1177
    capital    0.3579
    Name: estimate, dtype: float64
    """
    if effect not in ("individual", "twoways"):
        raise ValueError(f"effect must be 'individual' or 'twoways'; got {effect!r}.")
    # the entity effects absorb the constant: no warning when the formula has none, and
    # factors are coded against a reference level either way (as plm does)
    design = _parse(formula, data, eval_env=3, constant_warning=False, absorbed_constant=True)
    if effect == "twoways":
        transform = design.twoway_demean
        Xall = transform(design.X)
        scale = np.maximum(np.abs(design.X).max(axis=0), 1.0)
        invariant = np.abs(Xall).max(axis=0) <= 1e-10 * scale
    else:
        transform = design.demean
        invariant = design.time_invariant_columns()
    varying = ~invariant
    if not varying.any():
        raise ValueError("fixed effects need at least one regressor that varies within entities.")
    names = [nm for nm, v in zip(design.names, varying, strict=True) if v]
    Xw = Xall[:, varying] if effect == "twoways" else transform(design.X[:, varying])
    yw = transform(design.y)
    cross = Xw.T @ Xw
    if np.linalg.matrix_rank(cross) < cross.shape[0]:
        raise ValueError(f"the within-demeaned regressors {names} are perfectly collinear.")
    cross_inv = np.linalg.inv(cross)
    beta = cross_inv @ (Xw.T @ yw)
    resid = yw - Xw @ beta
    df_resid = design.n_obs - design.n_entities - len(names)
    if effect == "twoways":
        df_resid -= design.n_periods - 1
    sigma2 = float(resid @ resid / df_resid)
    cov = sigma2 * cross_inv
    within = PanelDesign(
        y=design.y,
        X=design.X[:, varying],
        names=names,
        index=design.index,
        codes=design.codes,
        counts=design.counts,
        entities=design.entities,
    )
    return FixedEffectsResult(
        params=pd.Series(beta, index=names, name="estimate"),
        std_errors=pd.Series(np.sqrt(np.diag(cov)), index=names, name="std_error"),
        cov=pd.DataFrame(cov, index=names, columns=names),
        sigma2=sigma2,
        df_resid=df_resid,
        n_obs=design.n_obs,
        n_entities=design.n_entities,
        time_invariant=tuple(
            nm
            for nm, inv in zip(design.names, invariant, strict=True)
            if inv and nm not in INTERCEPT_NAMES
        ),
        design=within,
        effect=effect,
    )
