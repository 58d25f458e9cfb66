"""BLAS threads: the small dense products of a mixed-model fit run fastest on one thread.

With several OpenBLAS threads, products and factorisations of a few hundred rows spend most of
their time waking and synchronising threads, and on a busy machine they can be many times slower
than on one thread.  Fits and df computations therefore run inside :func:`single_blas_thread`,
and simulations that fit many models spread them over fresh processes with one BLAS thread each
(:func:`run_parallel`).
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

__all__ = ["run_parallel", "single_blas_thread"]

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

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


@contextlib.contextmanager
def _one_thread_environment():
    """Set the BLAS thread-count variables to 1 inside the block (spawned workers inherit them)."""
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_parallel(worker, tasks, max_workers=None):
    """``[worker(task) for task in tasks]``, spread over processes, in the order of `tasks`.

    Workers are started fresh ("spawn") with one BLAS thread each: on a few cores, workers
    that inherit multi-threaded BLAS pools can run several times slower than one process. With one
    worker (or one task) the tasks run here, on one BLAS thread. `worker` must be importable
    (a module-level function) and each task picklable; results do not depend on `max_workers`.

    Parameters
    ----------
    worker : callable
    tasks : list
    max_workers : int, optional
        Processes to use; default: the number of CPUs.

    Examples
    --------
    >>> run_parallel(abs, [-1, 2, -3], max_workers=1)
    [1, 2, 3]
    """
    workers = (os.cpu_count() or 1) if max_workers is None else int(max_workers)
    if workers < 1:
        raise ValueError(f"max_workers must be at least 1; got {max_workers}.")
    if workers == 1 or len(tasks) <= 1:
        with single_blas_thread():
            return [worker(task) for task in tasks]
    with _one_thread_environment():
        context = get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=context) as pool:
            return list(pool.map(worker, tasks))
