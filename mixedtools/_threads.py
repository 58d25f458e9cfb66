"""BLAS threads: the small dense products of a mixed-model fit run fastest on one thread.

With several OpenBLAS threads, products and factorisations of a few hundred rows spend most of
their time waking and synchronising threads, and on a busy machine they can be many times slower
than on one thread.  Fits and df computations therefore run inside :func:`single_blas_thread`.
"""

from __future__ import annotations

import contextlib

__all__ = ["single_blas_thread"]

_controller = None


def _get_controller():
    global _controller
    if _controller is None:
        import numpy  # noqa: F401  (the BLAS libraries must be loaded before they are inspected)
        import scipy.linalg  # noqa: F401
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


@contextlib.contextmanager
def single_blas_thread():
    """Limit the BLAS libraries numpy and SciPy use to one thread inside the block.

    Examples
    --------
    >>> import numpy as np
    >>> from mixedtools._threads import single_blas_thread
    >>> with single_blas_thread():
    ...     float(np.ones((3, 3)).sum())
    9.0
    """
    with _get_controller().limit(limits=1, user_api="blas"):
        yield
