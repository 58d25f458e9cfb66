"""BLAS threads: the small dense products of a mixed-model fit run fastest on one thread.

With several OpenBLAS threads, products and factorisations of a few hundred rows spend most of
their time waking and synchronising threads, and on a busy machine they can be many times slower
than on one thread.  Fits and df computations therefore run inside :func:`single_blas_thread`,
and simulations that fit many models spread them over fresh processes, or over any
:class:`concurrent.futures.Executor` (a Dask cluster's, for instance), with one BLAS thread each
(:func:`run_parallel`).
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from mixedtools._progress import progress_bar

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


def _on_one_blas_thread(worker, task):
    """``worker(task)`` with one BLAS thread: what every executor runs for each task."""
    with single_blas_thread():
        return worker(task)


def _gather(futures, counts, bar):
    """Results of `futures` in their order, advancing `bar` as each one finishes."""
    position = {future: i for i, future in enumerate(futures)}
    try:
        for future in as_completed(futures):
            future.result()  # a failed task stops the study here
            bar.update(counts[position[future]])
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        bar.close()
    return [future.result() for future in futures]


def run_parallel(
    worker,
    tasks,
    max_workers=None,
    *,
    executor: Executor | None = None,
    progress: bool | None = None,
    counts=None,
    desc: str | None = None,
):
    """``[worker(task) for task in tasks]``, spread over processes, in the order of `tasks`.

    Every task runs on one BLAS thread, wherever it runs. By default the tasks run on fresh local
    processes ("spawn"): on a few cores, workers that inherit multi-threaded BLAS pools can run
    several times slower than one process. With one worker (or one task) the tasks run here.
    `executor` runs them on any :class:`concurrent.futures.Executor` instead, e.g. a Dask
    cluster's ``Client(...).get_executor()``. `worker` must be importable (a module-level
    function) and each task picklable. Results come back in the order of `tasks`, so they
    depend on the tasks only, not on `max_workers`, the executor or the order tasks finish in.

    Parameters
    ----------
    worker : callable
    tasks : list
    max_workers : int, optional
        Local processes to use; default: the number of CPUs. Not with `executor`.
    executor : concurrent.futures.Executor, optional
        Where to run the tasks instead of local processes.
    progress : bool, optional
        Show a progress bar; ``None`` decides by :func:`mixedtools._progress.progress_enabled`.
    counts : list of int, optional
        Replicates in each task, for the progress bar (default 1 per task).
    desc : str, optional
        Label of the progress bar.

    Examples
    --------
    >>> run_parallel(abs, [-1, 2, -3], max_workers=1)
    [1, 2, 3]
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as pool:
    ...     run_parallel(abs, [-1, 2, -3], executor=pool, progress=False)
    [1, 2, 3]
    """
    tasks = list(tasks)
    counts = [1] * len(tasks) if counts is None else [int(c) for c in counts]
    if len(counts) != len(tasks):
        raise ValueError("counts must give one number per task.")
    if executor is not None:
        if max_workers is not None:
            raise ValueError("give max_workers (local processes) or executor, not both.")
        if not isinstance(executor, Executor):
            raise TypeError(
                f"executor must be a concurrent.futures.Executor; got {type(executor)!r}. For "
                "a Dask cluster pass Client(...).get_executor()."
            )
        bar = progress_bar(sum(counts), desc, progress)
        futures = [executor.submit(_on_one_blas_thread, worker, task) for task in tasks]
        return _gather(futures, counts, bar)
    workers = (os.cpu_count() or 1) if max_workers is None else int(max_workers)
    if workers < 1:
        raise ValueError(f"max_workers must be at least 1; got {max_workers}.")
    bar = progress_bar(sum(counts), desc, progress)
    if workers == 1 or len(tasks) <= 1:
        out = []
        try:
            with single_blas_thread():
                for task, count in zip(tasks, counts, strict=True):
                    out.append(worker(task))
                    bar.update(count)
        finally:
            bar.close()
        return out
    with _one_thread_environment():
        context = get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=context) as pool:
            futures = [pool.submit(_on_one_blas_thread, worker, task) for task in tasks]
            return _gather(futures, counts, bar)
