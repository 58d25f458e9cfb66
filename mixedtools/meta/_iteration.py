"""How the iterative tau2 estimators of the meta-analysis stop, and the warning when they do not."""

_TOL = 1e-10
_MAXITER = 1000


class ConvergenceWarning(RuntimeWarning):
    """An iterative estimate of tau2 did not converge; the result is flagged ``converged=False``."""
