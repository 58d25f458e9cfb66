"""Time mixedtools.sim.power on the book's grid (not run by the test suite).

Usage, from the repository root:  python benchmarks/power_grid.py
Prints the machine (CPUs, BLAS threads, load), then wall time (median of 3 runs) and peak memory
of this process for the default grid (3 K x 2 n, 200 replicates each) with the default REML engine
on 1 and on all cores, and for one setting with the statsmodels MixedLM engine. The figures are
what this script prints on the machine at hand; none is stated here, because they depend on it.
"""

import os
import resource
import statistics
import time

from machine import describe

import mixedtools as mt


def timed(label, repeats=3, **kwargs):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = mt.simulate.power(seed=1, **kwargs)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    fits = result.groupby(["K", "n"]).ngroups * kwargs.get("n_reps", 200)
    failed = int(result.groupby(["K", "n"])["n_failed"].first().sum())
    print(f"{label:<45} {seconds:7.1f} s  {fits:5d} fits  {failed:4d} failed")
    return result


if __name__ == "__main__":
    print(describe())
    cores = os.cpu_count()
    grid = {"n_groups": (10, 20, 40), "group_size": (5, 20), "n_reps": 200}
    timed("REML engine, 6 settings x 200, 1 worker", max_workers=1, **grid)
    timed(f"REML engine, 6 settings x 200, {cores} workers", **grid)
    timed(
        f"statsmodels engine, K=20 n=20 x 200, {cores} workers",
        n_groups=20,
        group_size=20,
        n_reps=200,
        engine="statsmodels",
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the main process: {peak:.0f} MB")
