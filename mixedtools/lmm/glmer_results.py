"""The result of :func:`mixedtools.glmer`: what lme4's ``glmer`` fit reports, and more.

:class:`GlmerResult` shares :class:`mixedtools.lmm.mixed_result.MixedModelResult` with the linear
model (fixed effects, random effects and their conditional variances, variance components,
predictions with or without the random effects, the singular-fit check) and adds what is its
own: the response scale, Wald z tests, residuals of the three kinds R has, the latent-scale ICC
and Nakagawa's R², an overdispersion check and simulation from the fitted model.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools._warnings import external_stacklevel
from mixedtools.lmm.mixed_result import (
    LmerConvergenceWarning,
    MixedModelResult,
)
from mixedtools.report import format_table
from mixedtools.rformula import evaluate

__all__ = ["GlmerResult"]

_POPULATION = (None, "~0", "~ 0", "NA", "na")


@dataclass(frozen=True)
class _Estimates:
    """What the shared base reads: the estimates at the optimum."""

    tau: np.ndarray
    beta: np.ndarray
    Phi: np.ndarray
    loglik: float
    reml: bool = False


class GlmerResult(MixedModelResult):
    """A fitted generalised linear mixed model (lme4's ``glmerMod``).

    Attributes
    ----------
    family : mixedtools.lmm.families.Family
    nagq : int
        1 (Laplace) or the number of adaptive Gauss-Hermite nodes.
    fixef : Series
        Fixed effects on the link scale.
    vcov : DataFrame
        Their covariance: twice the inverse Hessian of the deviance in (theta, beta), as lme4
        computes it for fits under 10,000 rows; the conditional ``(RX'RX)^-1`` above (lme4's
        ``calc.derivs = FALSE`` rule).
    theta : ndarray
        lme4's covariance parameters (relative Cholesky factors, row by row).
    loglik, aic, bic : float
        The (Laplace or quadrature) log-likelihood and the criteria, with ``n_params`` = fixed
        effects + covariance parameters.  For ``nagq > 1`` lme4 prints a log-likelihood without
        the constant of the saturated model; here it keeps it, so that fits with different
        ``nagq`` (and glm fits) compare.
    deviance : float
        lme4's ``deviance()`` of a glmer fit: the sum of the squared deviance residuals at the
        conditional modes (not ``-2 loglik``; use ``-2 * loglik`` to compare fits).
    singular, converged : bool
    n_evaluations : int
        Deviance evaluations of the optimisation.
    """

    def __init__(self, formula, design, structure, fit, nagq, weights=None):
        self.family = structure.family
        self.nagq = nagq
        self.theta = fit.theta
        self.n_evaluations = fit.evaluations
        tau = structure.tau_from_theta(fit.theta)
        state = structure._last
        vcov = self._fixed_covariance(structure, fit, state, design.n_obs)
        estimates = _Estimates(tau, fit.beta, vcov, -0.5 * fit.deviance)
        super().__init__(formula, design, structure, estimates)
        self.state = state
        self.n_params = len(self.fixef) + structure.n_theta
        minus2 = -2.0 * self.loglik
        self.aic = minus2 + 2.0 * self.n_params
        self.bic = minus2 + math.log(self.nobs) * self.n_params
        self.deviance = float(np.sum(state.deviance_residuals))
        self._weights = weights
        self._refit = None  # set by glmer: fits another formula with this family and nagq
        self.df_residual = self.nobs - self.n_params
        self._check(fit)

    @staticmethod
    def _fixed_covariance(structure, fit, state, n_obs):
        n_theta = structure.n_theta
        if n_obs < 10_000 and fit.hessian is not None:
            try:
                inverse = np.linalg.inv(fit.hessian)
                V = 2.0 * inverse[n_theta:, n_theta:]
                if np.all(np.isfinite(V)) and np.all(np.diag(V) > 0):
                    return 0.5 * (V + V.T)
            except np.linalg.LinAlgError:
                pass
        return structure.fixed_covariance(state)

    def _check(self, fit):
        self._warn_singular(self._boundary_problems())
        self.converged = bool(fit.converged and self.state.converged)
        if not self.converged:
            msg = (
                "the fit did not converge: Newton steps on the deviance did not reach a point "
                "where no more than 1e-6 of log-likelihood is left to gain; the estimates are not "
                "final. Try rescaling predictors with very different scales, or simplify the "
                "random effects."
            )
            self._warnings.append(msg)
            warnings.warn(msg, LmerConvergenceWarning, stacklevel=external_stacklevel())
        se = np.sqrt(np.diag(self.vcov.to_numpy()))
        # judged on the linear predictor, so the column's units do not matter: the coefficient
        # times the column's largest absolute value (1 for an indicator) beyond 10 on the
        # logit scale, with a standard error above half the coefficient
        reach = np.abs(self.fixef.to_numpy()) * np.max(np.abs(self.structure.X), axis=0)
        runaway = [
            name
            for name, r, b, s in zip(
                self.fixef.index, reach, self.fixef.to_numpy(), se, strict=True
            )
            if self.family.name == "binomial" and r > 10 and s > abs(b) / 2
        ]
        if runaway:
            msg = (
                f"complete or quasi-complete separation: the estimate of {', '.join(runaway)} "
                "runs off to a very large value with a huge standard error (some level or "
                "range of the predictor has only successes or only failures); its Wald test "
                "and interval mean nothing. Merge sparse levels or use a penalised fit."
            )
            self._warnings.append(msg)
            warnings.warn(msg, UserWarning, stacklevel=external_stacklevel())

    # ---------------------------------------------------------------- inference
    def coef_table(self, level: float = 0.95) -> pd.DataFrame:
        """Wald z tests and intervals of the fixed effects, as lme4's ``summary()``.

        Columns estimate, std_error, z, p_value, ci_lower, ci_upper (Wald interval at
        ``level``, R's ``confint(method = "Wald")``).

        Examples
        --------
        >>> import mixedtools as mt
        >>> cbpp = mt.datasets.load("cbpp").astype({"period": "category"})
        >>> fit = mt.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp)
        >>> fit.coef_table().loc["period[T.2]", ["estimate", "std_error", "z"]].round(3).tolist()
        [-0.992, 0.307, -3.236]
        """
        se = np.sqrt(np.diag(self.vcov.to_numpy()))
        est = self.fixef.to_numpy()
        z = est / se
        q = stats.norm.ppf(0.5 + level / 2)
        return pd.DataFrame(
            {
                "estimate": est,
                "std_error": se,
                "z": z,
                "p_value": 2 * stats.norm.sf(np.abs(z)),
                "ci_lower": est - q * se,
                "ci_upper": est + q * se,
            },
            index=self.fixef.index,
        )

    # ---------------------------------------------------------------- prediction
    def predict(self, newdata=None, type="link", re_form=None) -> pd.Series:  # noqa: A002
        """Predictions on the link or the response scale, with or without the random effects.

        Parameters
        ----------
        newdata : DataFrame, optional
            Default the rows of the fit.  Levels of a grouping factor not seen in the fit get
            the population prediction (random effect 0), as lme4's ``allow.new.levels``.
        type : {"link", "response"}
        re_form : {None, "~0"}
            None: conditional on the random effects; ``"~0"`` (or ``"NA"``): population level,
            random effects at 0.  A population prediction on the response scale is the
            response at the mean random effect, not the population-averaged response (see
            ``marginal_means``).

        Returns
        -------
        Series
        """
        if type not in ("link", "response"):
            raise ValueError(f"type must be 'link' or 'response', got {type!r}")
        if isinstance(re_form, str):
            re_form = re_form.strip()
        if re_form not in _POPULATION:
            raise ValueError(f"re_form must be None (all random effects) or '~0', got {re_form!r}")
        eta = super().predict(newdata, re=re_form is None)
        if type == "response":
            return pd.Series(self.family.linkinv(eta.to_numpy()), index=eta.index, name="mu")
        return eta.rename("eta")

    def marginal_means(self, newdata=None, nodes: int = 40) -> pd.Series:
        """Population-averaged means: the response averaged over the random effects.

        ``E[g^-1(x'beta + offset + z'b)]`` with ``b`` drawn from its fitted normal
        distribution, row by row (the variance ``z' G z`` summed over the random terms),
        integrated by Gauss-Hermite quadrature with ``nodes`` nodes.  On the logit scale this
        is closer to 0.5 than the response at ``b = 0`` (``predict(type="response",
        re_form="~0")``); for the probit it equals ``Phi(eta / sqrt(1 + z'Gz))`` exactly.

        Parameters
        ----------
        newdata : DataFrame, optional
            Default the rows of the fit.
        nodes : int

        Returns
        -------
        Series
        """
        eta = super().predict(newdata, re=False)
        data = self.design.data if newdata is None else newdata.reset_index(drop=True)
        variance = np.zeros(len(eta))
        layout = self.structure.layout
        # the design's random terms are in the layout's order (the formula's)
        for ti, info in enumerate(self.design.term_design_infos.values()):
            Z = evaluate([info], data, "raise", "random-effects design")[0].to_numpy(float)
            variance += np.einsum("ia,ab,ib->i", Z, layout.term_G(self.tau, ti), Z)
        z, w = np.polynomial.hermite_e.hermegauss(nodes)
        w = w / w.sum()
        eta_nodes = eta.to_numpy()[:, None] + np.sqrt(variance)[:, None] * z[None, :]
        means = self.family.linkinv(eta_nodes) @ w
        return pd.Series(means, index=eta.index, name="marginal_mean")

    @property
    def fitted(self) -> pd.Series:
        """Fitted means ``mu`` (response scale) of the rows used, as lme4's ``fitted()``."""
        return pd.Series(self.state.mu, index=self.design.row_index, name="fitted")

    @property
    def response(self) -> pd.Series:
        """The response as the family reads it: proportions (binomial) or counts."""
        return pd.Series(self.structure.y, index=self.design.row_index, name="y")

    def residuals(self, type="deviance") -> pd.Series:  # noqa: A002
        """Residuals as R's ``residuals(glmer_fit, type)``.

        Parameters
        ----------
        type : {"deviance", "pearson", "response", "working"}
        """
        y, mu, w = self.structure.y, self.state.mu, self.structure.prior_weights
        fam = self.family
        if type == "response":
            r = y - mu
        elif type == "pearson":
            r = (y - mu) * np.sqrt(w) / np.sqrt(fam.variance(mu))
        elif type == "deviance":
            d = np.maximum(fam.deviance_residuals(y, mu, w), 0.0)
            r = np.sign(y - mu) * np.sqrt(d)
        elif type == "working":
            r = (y - mu) / fam.mu_eta(self.state.eta)
        else:
            raise ValueError(
                f"type must be 'deviance', 'pearson', 'response' or 'working', got {type!r}"
            )
        return pd.Series(r, index=self.design.row_index, name=f"{type}_residual")

    # ---------------------------------------------------------------- variance explained
    def _distribution_variance(self) -> float:
        """Nakagawa et al.'s distribution-specific variance on the latent scale."""
        latent = self.family.latent_variance
        if latent is not None:
            return latent
        # Poisson, log link: the lognormal approximation log(1 + 1/lambda), with lambda the
        # exp(intercept) of the null model (intercept, offsets and the same random effects), as
        # performance::r2_nakagawa and icc compute it (insight's null_model)
        return math.log1p(1.0 / math.exp(self._null_intercept()))

    def _null_intercept(self) -> float:
        if getattr(self, "_null", None) is None:
            parsed = self.design.parsed
            parts = ["1", *(f"offset({e})" for e in parsed.offsets)]
            parts += [f"({t.effects_formula} | {t.group_name})" for t in parsed.random]
            formula = f"{parsed.response} ~ {' + '.join(parts)}"
            weights = None if self._weights is None else self._weights.to_numpy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                null = self._refit(formula, self.design.data, weights)
            self._null = float(null.fixef.iloc[0])
        return self._null

    def _random_variance(self, observation_level=False) -> float:
        """Random-effect variance averaged over the rows; of the grouping factors with one
        level per row (an observation-level effect) with ``observation_level=True``, which
        Nakagawa et al. and performance count as residual (overdispersion) variance."""
        parts = self.structure.layout.variance_parts(self.tau)
        per_row = {g for g, n in self.ngroups.items() if n == self.nobs}
        return float(sum(v for g, v in parts.items() if (g in per_row) == observation_level))

    def _variances(self) -> tuple[float, float, float]:
        """(fixed, random, residual) variances on the latent scale."""
        var_f = float(np.var(self.design.X @ self.fixef.to_numpy(), ddof=1))
        residual = self._distribution_variance() + self._random_variance(observation_level=True)
        return var_f, self._random_variance(), residual

    def r2(self) -> dict:
        """Nakagawa, Johnson & Schielzeth's (2017) R² on the latent scale.

        Returns
        -------
        dict
            ``marginal`` (fixed effects) and ``conditional`` (fixed plus random effects):
            ``var_f / total`` and ``(var_f + var_random) / total`` with
            ``total = var_f + var_random + var_distribution``; ``var_f`` is the variance of the
            fixed part of the linear predictor (n - 1), ``var_random`` the random-effect
            variance averaged over the rows (an observation-level effect, one level per row,
            counts as residual variance, as in performance), and the distribution variance
            pi²/3 (logit),
            1 (probit), pi²/6 (cloglog) or log(1 + 1/lambda) (Poisson, lambda = exp of the
            intercept of the null model with the same random effects and offsets, which is
            refitted for it).
        """
        var_f, var_r, var_e = self._variances()
        total = var_f + var_r + var_e
        return {"marginal": var_f / total, "conditional": (var_f + var_r) / total}

    def icc(self) -> dict:
        """Intraclass correlation on the latent scale (Nakagawa et al. 2017).

        ``adjusted``: random-effect variance / (random-effect + distribution variance);
        ``unadjusted``: random-effect variance / (fixed + random + distribution variance).
        For the logit link the distribution variance is pi²/3, the variance of the standard
        logistic latent residual; for the Poisson it is the lognormal approximation
        log(1 + 1/lambda), so the ICC depends on the mean count.
        """
        var_f, var_r, var_e = self._variances()
        return {"adjusted": var_r / (var_r + var_e), "unadjusted": var_r / (var_f + var_r + var_e)}

    def overdispersion(self) -> dict:
        """Pearson chi-square over the residual df (``performance::check_overdispersion``).

        A ratio well above 1 (small ``p``) says the counts vary more than the model allows;
        an observation-level random effect, ``(1 | row_id)``, is a common remedy.
        """
        chisq = float(np.sum(self.residuals("pearson").to_numpy() ** 2))
        df = self.df_residual
        return {"chisq": chisq, "ratio": chisq / df, "df": df, "p": float(stats.chi2.sf(chisq, df))}

    # ---------------------------------------------------------------- simulation
    def simulate(self, n: int = 1, seed=None) -> pd.DataFrame:
        """Responses drawn from the fitted model with new random effects (lme4's
        ``simulate(use.u = FALSE)``): proportions (binomial) or counts, one column per draw."""
        rng = np.random.default_rng(seed)
        beta = self.fixef.to_numpy()
        out = {f"sim_{i + 1}": self.structure.simulate(beta, self.tau, rng) for i in range(int(n))}
        return pd.DataFrame(out, index=self.design.row_index)

    # ---------------------------------------------------------------- printing
    def summary(self) -> str:
        """A printed summary in the layout of lme4's ``summary(glmer_fit)``.

        As in lme4's summary, the ``deviance`` column is ``-2 logLik``, not :attr:`deviance`
        (lme4's ``deviance()``, the sum of squared deviance residuals)."""
        fam = self.family
        method = (
            "Laplace approximation"
            if self.nagq == 1
            else f"adaptive Gauss-Hermite quadrature (nAGQ = {self.nagq})"
        )
        lines = [
            f"Generalized linear mixed model fit by maximum likelihood ({method})",
            f" Family: {fam.name}  ( {fam.link} )",
            f"Formula: {self.formula}",
            "",
            "     AIC      BIC   logLik deviance df.resid",
            f"{self.aic:8.1f} {self.bic:8.1f} {self.loglik:8.1f} {-2.0 * self.loglik:8.1f} "
            f"{self.df_residual:8d}",
            "",
            "Random effects:",
        ]
        vc = self.varcorr
        for _, row in vc.iterrows():
            if row["var2"]:
                continue
            lines.append(
                f" {row['group']:<12} {row['var1']:<14} variance {row['vcov']:.4g}  "
                f"sd {row['sdcor']:.4g}"
            )
        groups = ", ".join(f"{g}, {n}" for g, n in self.ngroups.items())
        lines += [f"Number of obs: {self.nobs}, groups: {groups}", "", "Fixed effects:"]
        table = self.coef_table()[["estimate", "std_error", "z", "p_value"]]
        lines.append(format_table(table, decimals=4).to_string())
        if self._warnings:
            lines += ["", *self._warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<GlmerResult {self.formula!r} ({self.family.name}, {self.family.link}); "
            f"nobs={self.nobs}, logLik={self.loglik:.4f}>"
        )
