"""What every covariance structure of the linear mixed model computes for the rest of the engine.

:class:`LMMQuantities` is the likelihood, its derivatives in the variance parameters and the
fixed-effect quantities that the optimiser's Newton polish, the result and the df methods read,
computed at one value of the variance parameters by either structure
(:mod:`mixedtools.lmm.reml` or :mod:`mixedtools.lmm.pls`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LMMQuantities"]


@dataclass(frozen=True)
class LMMQuantities:
    """Likelihood quantities of a linear mixed model at one value of tau.

    Attributes
    ----------
    tau : ndarray (n_tau,)
    reml : bool
    beta : ndarray (p,)
        Generalized least squares estimate given tau.
    Phi : ndarray (p, p)
        ``(X' V^-1 X)^-1``.
    loglik : float
        REML or ML log-likelihood, on lme4's scale (``logLik()``).
    score : ndarray (n_tau,)
    info_expected, info_observed : ndarray (n_tau, n_tau)
        Expected and observed information of the REML (or ML) log-likelihood.
    M : ndarray (n_tau, p, p)
        ``X' V^-1 V_k V^-1 X`` (Kenward-Roger's ``P_k`` is ``-M_k``).
    Q : ndarray (n_tau, n_tau, p, p)
        ``X' V^-1 V_k V^-1 V_l V^-1 X``.
    """

    tau: np.ndarray
    reml: bool
    beta: np.ndarray
    Phi: np.ndarray
    loglik: float
    score: np.ndarray
    info_expected: np.ndarray
    info_observed: np.ndarray
    M: np.ndarray
    Q: np.ndarray

    @property
    def J(self) -> np.ndarray:
        """``dPhi/dtau_k = Phi M_k Phi`` stacked, shape (n_tau, p, p)."""
        return np.einsum("ij,kjl,lm->kim", self.Phi, self.M, self.Phi)
