"""Time of 10^4 random-effects meta-analyses (k = 20 studies, REML, Knapp-Hartung).

Compares the batch ``mt.meta.rma`` (one call on a 10^4 x 20 array) with a Python loop of single
``mt.meta.rma`` fits on the first 500 replications (extrapolated). metafor's time for the same loop
is measured by ``benchmarks/metafor_scale.R`` on the same simulated design. Usage (repository root):

    python benchmarks/meta_scale.py [n_replications]

It prints the CPU count, BLAS threads and load average next to the times (the machine is shared).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

import mixedtools as mt


def simulate(n_rep: int, k: int = 20, tau2: float = 0.05, seed: int = 1):
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 200, size=(n_rep, k))
    vi = 4 / n  # sampling variance of a standardised mean difference, two groups of n / 2
    yi = rng.normal(0.3, np.sqrt(vi + tau2))
    return yi, vi


def blas_threads() -> str:
    """Threads of the OpenBLAS that numpy loaded (asked through its C API; Linux only)."""
    import ctypes

    import numpy  # noqa: F401  (loads the BLAS library)

    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
    except OSError:
        return "unknown"
    for path in paths:
        library = ctypes.CDLL(path)
        for name in (
            "scipy_openblas_get_num_threads64_",
            "openblas_get_num_threads64_",
            "openblas_get_num_threads",
        ):
            function = getattr(library, name, None)
            if function is not None:
                return f"{function()} ({path.rsplit('/', 1)[-1]})"
    return "unknown"


def main(n_rep: int = 10_000) -> None:
    yi, vi = simulate(n_rep)
    print(f"cpus={os.cpu_count()} blas threads: {blas_threads()} load average={os.getloadavg()}")
    start = time.perf_counter()
    fits = mt.meta.rma(yi, vi, method="REML", test="knha")
    batch = time.perf_counter() - start
    print(f"batch rma: {n_rep} replications x k = 20 (REML, knha): {batch:.2f} s")
    print(
        f"  all converged: {bool(fits.converged.all())}; CI coverage of 0.3: "
        f"{np.mean((fits.ci_lower < 0.3) & (fits.ci_upper > 0.3)):.3f}"
    )
    n_loop = min(500, n_rep)
    start = time.perf_counter()
    for i in range(n_loop):
        mt.meta.rma(yi[i], vi[i], method="REML", test="knha")
    loop = time.perf_counter() - start
    print(
        f"loop of single rma fits: {n_loop} in {loop:.2f} s -> {loop / n_loop * n_rep:.1f} s "
        f"for {n_rep} (extrapolated)"
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
