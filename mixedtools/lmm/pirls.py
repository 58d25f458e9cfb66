"""lme4's penalised iteratively reweighted least squares (PIRLS) and the Laplace and adaptive
Gauss-Hermite approximations of a generalised linear mixed model's likelihood.

The model is ``g(E[y | b]) = eta = offset + X beta + Z b`` with ``b = Lambda u``,
``u ~ N(0, I)`` and ``Lambda`` lme4's relative covariance factor at ``theta`` (Bates, Maechler,
Bolker & Walker 2015, section 5; the layout of :class:`mixedtools.lmm.pls.PLSStructure`, whose
block Cholesky factor of ``Lambda' Z'WZ Lambda + I`` is reused with the IRLS weights ``W``).

* :meth:`GLMMStructure.pirls` finds the conditional modes ``u`` (and, for lme4's first stage,
  ``beta`` with them) by Fisher scoring on the penalised deviance
  ``sum_i d_i(y_i, mu_i) + |u|^2`` with step halving.
* :meth:`GLMMStructure.deviance` is ``-2`` times the Laplace approximation of the
  log-likelihood: ``-2 sum_i log p(y_i | u) + |u|^2 + log |L|^2`` at the modes; with ``nagq``
  > 1 (one scalar random term) the integral over each group's effect uses ``nagq``
  Gauss-Hermite nodes centred at the mode and scaled by its conditional standard deviation.

Examples
--------
>>> import numpy as np
>>> from mixedtools.lmm.families import family
>>> from mixedtools.lmm.pls import PLSStructure, PLSTerm
>>> from mixedtools.lmm.pirls import GLMMStructure
>>> rng = np.random.default_rng(1)
>>> g = np.repeat(np.arange(20), 10)
>>> y = (rng.random(200) < 1 / (1 + np.exp(-rng.normal(size=20)[g]))).astype(float)
>>> term = PLSTerm("g", g, np.arange(20), np.ones((200, 1)), ("Intercept",))
>>> layout = PLSStructure(np.zeros(200), np.ones((200, 1)), [term])
>>> s = GLMMStructure(layout, y, np.ones(200), np.zeros(200), family("binomial"))
>>> bool(s.deviance(np.array([1.0]), np.array([0.0])) > 0)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixedtools.lmm._linalg import lapack_cholesky, lapack_solve

__all__ = ["GLMMStructure", "PirlsState"]

_MAX_ITER = 60
_MAX_HALVINGS = 30


@dataclass
class PirlsState:
    """The penalised IRLS solution at one (theta, beta).

    Attributes
    ----------
    u : ndarray (q,)
        Spherical conditional modes.
    beta : ndarray (p,)
    eta, mu, weights : ndarray (N,)
        Linear predictor, mean and IRLS weights at the modes.
    factor : object
        Block Cholesky factor of ``Lambda' Z'WZ Lambda + I`` at the modes.
    deviance_residuals : ndarray (N,)
    converged : bool
    theta : ndarray
    """

    u: np.ndarray
    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    weights: np.ndarray
    factor: object
    deviance_residuals: np.ndarray
    converged: bool
    theta: np.ndarray

    @property
    def penalised_deviance(self) -> float:
        return float(self.deviance_residuals.sum() + self.u @ self.u)


class GLMMStructure:
    """A generalised linear mixed model on the layout of lme4's sparse engine.

    Parameters
    ----------
    layout : PLSStructure
        The random-effects layout (its response is not used).
    y : ndarray (N,)
        The response: proportions for the binomial (0/1 for Bernoulli rows), counts for the
        Poisson.
    weights : ndarray (N,)
        Prior weights: the number of trials (binomial) or case weights.
    offset : ndarray (N,)
    family : mixedtools.lmm.families.Family
    """

    def __init__(self, layout, y, weights, offset, family):
        self.layout = layout
        self.X = layout.X
        self.y = np.asarray(y, dtype=float)
        self.prior_weights = np.asarray(weights, dtype=float)
        self.offset = np.asarray(offset, dtype=float)
        self.family = family
        saturated = family.log_density(self.y, self.y, self.prior_weights)
        # -2 log p(y | mu) = sum of deviance residuals - 2 * (log-likelihood of the saturated
        # model); the second part does not depend on the parameters
        self._saturated = float(np.sum(saturated))
        self._saturated_terms = family.saturated_term(self.y)
        self._last = None  # warm start: the last converged state
        self._Zt = layout.Zs.T.tocsr()

    def with_response(self, y) -> GLMMStructure:
        """The same model (layout, prior weights, offset, family) with response ``y``."""
        return GLMMStructure(self.layout, y, self.prior_weights, self.offset, self.family)

    def simulate(self, beta, tau, rng) -> np.ndarray:
        """One response drawn at (beta, tau) with new random effects (lme4's ``simulate(use.u =
        FALSE)``): proportions out of the prior weights as trials (binomial), or counts."""
        eta = self.offset + self.X @ beta
        for ti, t in enumerate(self.layout.terms):
            w, U = np.linalg.eigh(self.layout.term_G(tau, ti))
            b = rng.normal(size=(t.n_levels, t.k)) @ (U * np.sqrt(np.clip(w, 0, None))).T
            eta = eta + np.einsum("ia,ia->i", t.Z, b[t.codes])
        mu = self.family.linkinv(eta)
        if self.family.name == "binomial":
            n = np.round(self.prior_weights).astype(int)
            return np.divide(rng.binomial(n, mu), n, out=np.zeros(len(mu)), where=n > 0)
        return rng.poisson(mu).astype(float)

    # ---------------------------------------------------------------- parameters
    @property
    def n_obs(self) -> int:
        return len(self.y)

    @property
    def n_fixed(self) -> int:
        return self.X.shape[1]

    @property
    def n_theta(self) -> int:
        return self.layout.n_theta

    @property
    def n_tau(self) -> int:
        """Entries of ``tau`` (the covariance parameters and a residual scale fixed at 1)."""
        return self.layout.n_tau

    @property
    def terms(self):
        return self.layout.terms

    def theta_bounds(self):
        return self.layout.theta_bounds()

    def theta_start(self):
        return self.layout.theta_start()

    def tau_from_theta(self, theta) -> np.ndarray:
        """Covariance parameters on the link scale (``sigma^2`` fixed at 1, last)."""
        return self.layout.tau_from_theta(np.asarray(theta, float), 1.0)

    def random_terms(self, tau):
        return self.layout.random_terms(tau)

    def conditional_modes(self, tau, beta=None):
        """Conditional modes and variances of the random effects at the last PIRLS state
        (lme4's ``ranef(condVar = TRUE)``: the blocks of ``Lambda (L L')^-1 Lambda'``)."""
        state = self._last
        Ts = self.layout.factors_from_theta(state.theta)
        return self.layout.modes_and_variances(state.factor, Ts, state.u)

    # ---------------------------------------------------------------- PIRLS
    def _lambda_u(self, Ts, u):
        return self.layout._lam_apply(Ts, u[:, None], False)[:, 0]

    def _linear_predictor(self, Ts, beta, u):
        return self.offset + self.X @ beta + self.layout.Zs @ self._lambda_u(Ts, u)

    def _state(self, eta):
        fam = self.family
        mu = fam.linkinv(eta)
        mu_eta = fam.mu_eta(eta)
        weights = self.prior_weights * mu_eta**2 / fam.variance(mu)
        dev = fam.deviance_residuals(self.y, mu, self.prior_weights, self._saturated_terms)
        return mu, mu_eta, weights, dev

    def start_state(self, theta):
        """lme4's start: ``eta`` from R's ``mustart``, ``u = 0``; ``beta`` by the first step."""
        mu0 = self.family.start(self.y, self.prior_weights)
        eta0 = self.family.linkfun(mu0)
        beta0 = np.linalg.lstsq(self.X, eta0 - self.offset, rcond=None)[0]
        return np.zeros(self.layout.q), beta0, eta0

    def pirls(self, theta, beta=None, u0=None, beta0=None) -> PirlsState:
        """Conditional modes at ``theta`` (and ``beta``; with ``beta=None`` also ``beta``).

        Fisher scoring on the penalised deviance with step halving until the Fisher step
        moves no mode by more than 1e-10: from ``u0`` if given, else from the last converged
        solution (warm start) and, if that does not converge, from lme4's start (``u = 0``,
        ``beta`` from R's ``mustart``)."""
        warm = self._last if self._last is not None and self._last.converged else None
        if warm is not None and u0 is None:
            state = self._solve(theta, beta, warm.u, warm.beta if beta0 is None else beta0)
            if state.converged:
                self._last = state
                return state
        fresh_beta = self.start_state(theta)[1] if beta0 is None else beta0
        u_start = np.zeros(self.layout.q) if u0 is None else u0
        state = self._solve(theta, beta, u_start, fresh_beta)
        self._last = state
        return state

    def _solve(self, theta, beta, u0, beta0) -> PirlsState:
        Ts = self.layout.factors_from_theta(np.asarray(theta, float))
        joint = beta is None
        if joint:
            beta = np.asarray(beta0, float)
        u = np.asarray(u0, float).copy()
        beta = np.asarray(beta, float)
        eta = self._linear_predictor(Ts, beta, u)
        mu, mu_eta, w, dev = self._state(eta)
        pdev = dev.sum() + u @ u
        converged = False
        for _ in range(_MAX_ITER):
            view = self.layout.reweighted(w)
            f = view.factor(Ts)
            wres = (self.y - mu) / mu_eta
            if joint:
                u_new, beta_new = self._joint_step(Ts, f, w, eta - self.offset + wres)
            else:
                rhs = self.layout._lam_apply(Ts, (self._Zt @ (w * wres))[:, None], True)
                delta = f.backward(f.forward(rhs[:, 0] - u))
                u_new, beta_new = u + delta, beta
            step = 1.0
            for _ in range(_MAX_HALVINGS):
                u_try = u + step * (u_new - u)
                b_try = beta + step * (beta_new - beta)
                eta_try = self._linear_predictor(Ts, b_try, u_try)
                mu_t, mu_eta_t, w_t, dev_t = self._state(eta_try)
                pdev_try = dev_t.sum() + u_try @ u_try
                if np.isfinite(pdev_try) and pdev_try <= pdev * (1 + 1e-14) + 1e-12:
                    break
                step /= 2
            else:
                # no decrease along the step: at the minimum up to rounding if the step is
                # tiny; otherwise stuck (the caller then starts afresh)
                step_size = max(np.max(np.abs(u_new - u), initial=0.0),
                                np.max(np.abs(beta_new - beta), initial=0.0))  # fmt: skip
                converged = step_size < 1e-6
                break
            change = pdev - pdev_try
            increment = max(np.max(np.abs(u_new - u), initial=0.0),
                            np.max(np.abs(beta_new - beta), initial=0.0))  # fmt: skip
            u, beta, eta, mu, mu_eta, w, dev = u_try, b_try, eta_try, mu_t, mu_eta_t, w_t, dev_t
            pdev = pdev_try
            # the modes to 1e-10 (the deviance's Hessian is differenced with steps of 1e-4),
            # or the deviance settled where Fisher scoring cannot move the modes further
            if increment < 1e-10 or (increment < 1e-7 and abs(change) <= 1e-14 * abs(pdev)):
                converged = True
                break
        f = self.layout.reweighted(w).factor(Ts)
        return PirlsState(u, beta, eta, mu, w, f, dev, converged, np.asarray(theta, float))

    def _joint_step(self, Ts, f, w, z):
        """Penalised weighted least squares for (u, beta) with working response ``z``."""
        X = self.X
        lam_t = self.layout._lam_apply
        rhs = lam_t(Ts, np.asarray(self._Zt @ np.column_stack([w[:, None] * X, w * z])), True)
        sol = f.forward(rhs)
        p = X.shape[1]
        RZX, cu = sol[:, :p], sol[:, p]
        XtWX = X.T @ (w[:, None] * X) - RZX.T @ RZX
        XtWz = X.T @ (w * z) - RZX.T @ cu
        chol = lapack_cholesky(XtWX)
        beta = lapack_solve(chol, lapack_solve(chol, XtWz), trans=1)
        u = f.backward(cu - RZX @ beta)
        return u, beta

    def fixed_covariance(self, state: PirlsState) -> np.ndarray:
        """``(RX'RX)^-1``: the covariance of beta given theta from the PIRLS factor (lme4's
        ``vcov(use.hessian = FALSE)``)."""
        Ts = self.layout.factors_from_theta(state.theta)
        X, w = self.X, state.weights
        rhs = self.layout._lam_apply(Ts, np.asarray(self.layout.Zs.T @ (w[:, None] * X)), True)
        RZX = state.factor.forward(rhs)
        return np.linalg.inv(X.T @ (w[:, None] * X) - RZX.T @ RZX)

    # ---------------------------------------------------------------- the criterion
    def minus_two_loglik(self, state: PirlsState) -> float:
        """``-2 sum log p(y | u)`` at the state."""
        return float(state.deviance_residuals.sum() - 2.0 * self._saturated)

    def laplace(self, state: PirlsState) -> float:
        """The Laplace deviance at a PIRLS solution."""
        return self.minus_two_loglik(state) + float(state.u @ state.u) + state.factor.logdet()

    def deviance(self, theta, beta=None, nagq=1) -> float:
        """``-2`` log-likelihood (Laplace for ``nagq`` = 1, adaptive Gauss-Hermite otherwise)
        at ``theta`` and ``beta`` (``beta=None``: maximised in PIRLS, lme4's ``nAGQ = 0``)."""
        try:
            state = self.pirls(theta, beta)
            if nagq > 1:
                return self._quadrature(state, nagq)
            return self.laplace(state)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            self._last = None
            return np.inf

    def _quadrature(self, state: PirlsState, nagq: int) -> float:
        """Adaptive Gauss-Hermite deviance for one scalar random-effects term."""
        (term,) = self.layout.terms
        Ts = self.layout.factors_from_theta(state.theta)
        codes = term.codes
        sd = 1.0 / state.factor.L11[:, 0, 0]  # conditional sd of each spherical effect
        nodes, weights = np.polynomial.hermite_e.hermegauss(nagq)
        weights = weights / weights.sum()
        fixed = self.offset + self.X @ state.beta
        lam = Ts[0][0, 0]
        zcol = term.Z[:, 0]

        def group_deviance(u):
            mu = self.family.linkinv(fixed + zcol * lam * u[codes])
            d = self.family.deviance_residuals(
                self.y, mu, self.prior_weights, self._saturated_terms
            )
            return np.bincount(codes, d, minlength=term.n_levels) + u**2

        g0 = group_deviance(state.u)
        total = np.zeros(term.n_levels)
        for z, wt in zip(nodes, weights, strict=True):
            gz = group_deviance(state.u + z * sd)
            total += wt * np.exp(-0.5 * (gz - g0) + 0.5 * z**2)
        return float(
            g0.sum() - 2.0 * np.log(total).sum() - 2.0 * np.log(sd).sum() - 2.0 * self._saturated
        )
