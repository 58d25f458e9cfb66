"""How the iterative variance estimators of the meta-analysis run and stop, and the warning when
they do not converge."""

import warnings

import numpy as np

_TOL = 1e-10
_MAXITER = 1000


class ConvergenceWarning(RuntimeWarning):
    """An iterative estimate of tau2 did not converge; the result is flagged ``converged=False``."""


def fisher_scoring(loglik, start, scale, tol, max_halvings, stacklevel):
    """Maximise ``loglik`` over variances >= 0 by Fisher scoring with step halving.

    ``loglik(s, True)`` returns (log-likelihood, score, expected information). A variance at 0
    whose score points below 0 stays there (active set). Stops when the Newton decrement
    ``score @ step`` falls below ``tol``; warns when it does not get there.

    Returns
    -------
    (sigma2, loglik, converged)
    """
    sigma2 = np.asarray(start, dtype=float)
    ll, grad, info = loglik(sigma2, True)
    for _ in range(_MAXITER):
        free = ~((sigma2 <= 0) & (grad <= 0))
        step = np.zeros_like(sigma2)
        if free.any():
            try:
                step[free] = np.linalg.solve(info[np.ix_(free, free)], grad[free])
            except np.linalg.LinAlgError:
                step[free] = grad[free] * scale**2
        if grad @ step < tol:  # twice the log-likelihood gain the step promises
            return sigma2, ll, True
        for _halving in range(max_halvings):
            trial = np.maximum(sigma2 + step, 0.0)
            ll_trial, grad_trial, info_trial = loglik(trial, True)
            if ll_trial >= ll:
                break
            step = step / 2
        else:
            break  # no ascent along the scoring direction: not converged
        sigma2, ll, grad, info = trial, ll_trial, grad_trial, info_trial
    warnings.warn(
        "rma_mv did not converge (Fisher scoring)", ConvergenceWarning, stacklevel=stacklevel + 1
    )
    return sigma2, ll, False
