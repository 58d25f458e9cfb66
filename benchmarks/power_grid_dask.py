"""Time a grid of 10^4 fits of mixedtools.sim.power serially, on local processes and on Dask.

Usage, from the repository root (needs ``pip install -e ".[dask]"``)::

    python benchmarks/power_grid_dask.py [--reps-per-cell 2500] [--repeats 3] [--workers 2]

The grid is 2 numbers of groups x 2 group sizes (K = 10, 20; n = 5, 20) with ``reps-per-cell``
replicates each: 4 x 2500 = 10^4 REML fits by default. It runs three ways, ``repeats`` times each
(interleaved, so that a change in the machine's load hits all three alike):

* serial: ``max_workers=1``, everything in this process;
* local processes: ``max_workers=W``, fresh processes with one BLAS thread each;
* Dask: ``executor=Client(LocalCluster(n_workers=W, threads_per_worker=1)).get_executor()``
  (the cluster is started once, before the timings).

It prints the machine (CPUs, BLAS threads, load), the size of a task as pickled for a worker,
the peak memory one task allocates, and per mode the median wall time, time per fit and the
scheduler overhead: the time beyond a perfect split of the serial time, ``t - t_serial / W``.
It also checks that the three modes give the same table, bit for bit. No figure is stated here:
they depend on the machine, and the book's page quotes what this script printed.
"""

import argparse
import logging
import pickle
import statistics
import time
import tracemalloc

import numpy as np
import pandas as pd
from machine import blas_threads, describe

import mixedtools as mt
from mixedtools.sim import power_study

GRID = {"n_groups": (10, 20), "group_size": (5, 20)}


def task_sizes(reps_per_cell):
    """Pickled size (bytes) of the tasks power() sends, and the peak memory of running one."""
    seeds = np.random.SeedSequence(1).spawn(power_study._CHUNK)
    params = {
        "level2_effect": 0.3,
        "cross_level_effect": 0.2,
        "slope": 0.3,
        "intercept_var": 0.2,
        "slope_var": 0.05,
        "residual_var": 1.0,
    }
    largest = (max(GRID["n_groups"]), max(GRID["group_size"]), params, seeds, 200, "reml")
    payload = len(pickle.dumps((power_study._power_replicates, largest)))
    tracemalloc.start()
    power_study._power_replicates(largest)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n_cells = len(GRID["n_groups"]) * len(GRID["group_size"])
    n_tasks = n_cells * -(-reps_per_cell // power_study._CHUNK)
    return payload, peak, n_tasks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps-per-cell", type=int, default=2500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    import dask
    from distributed import Client, LocalCluster

    # a shared, busy machine can starve the event loops; do not give up on slow connections
    dask.config.set(
        {"distributed.comm.timeouts.connect": "120s", "distributed.comm.timeouts.tcp": "600s"}
    )

    n_fits = 4 * args.reps_per_cell
    workers = args.workers
    print(describe())
    print(f"in this process: {blas_threads()}; every task runs on 1 BLAS thread")
    payload, peak, n_tasks = task_sizes(args.reps_per_cell)
    print(
        f"{n_fits} fits in {n_tasks} tasks of {power_study._CHUNK} replicates; a task pickles "
        f"to {payload} bytes (design parameters and {power_study._CHUNK} seeds); running one "
        f"(K=20, n=20) allocates at most {peak / 2**20:.1f} MiB"
    )
    study = dict(GRID, n_reps=args.reps_per_cell, seed=1, progress=False)
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        executor = client.get_executor()
        modes = {
            "serial (1 process)": dict(max_workers=1),
            f"{workers} local processes": dict(max_workers=workers),
            f"Dask LocalCluster, {workers} workers": dict(executor=executor),
        }
        times = {mode: [] for mode in modes}
        tables = {}
        for _ in range(args.repeats):
            for mode, where in modes.items():
                start = time.perf_counter()
                tables[mode] = mt.simulate.power(**study, **where)
                times[mode].append(time.perf_counter() - start)
                print(f"  run: {mode}: {times[mode][-1]:.1f} s", flush=True)
    first, *others = tables.values()
    for other in others:
        pd.testing.assert_frame_equal(first, other, check_exact=True)
    print("the three modes give the same table, bit for bit")
    serial = statistics.median(times["serial (1 process)"])
    print(f"{'mode':<34} {'median s':>9} {'ms/fit':>7} {'overhead s':>11}  runs")
    for mode, seconds in times.items():
        t = statistics.median(seconds)
        overhead = "" if mode.startswith("serial") else f"{t - serial / workers:11.1f}"
        runs = ", ".join(f"{s:.1f}" for s in seconds)
        print(f"{mode:<34} {t:9.1f} {1000 * t / n_fits:7.2f} {overhead:>11}  {runs}")
    print(f"(overhead: time beyond serial/{workers}; load average now {describe().split()[-1]})")


if __name__ == "__main__":
    main()
