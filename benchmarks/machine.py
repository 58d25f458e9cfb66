"""One line describing the machine a benchmark ran on: CPUs, BLAS threads, load.

Every benchmark prints it next to its figures, so that a figure can be compared with a rerun.
"""

import os
import platform


def blas_threads() -> str:
    """BLAS libraries and their thread counts, as threadpoolctl reports them (if installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS threads: unknown (threadpoolctl not installed)"
    pools = [f"{p['internal_api']} {p['num_threads']} threads" for p in threadpool_info()]
    return "BLAS: " + (", ".join(pools) or "none loaded")


def describe() -> str:
    """CPU count, BLAS threads and the 1-minute load average of this machine."""
    import numpy  # noqa: F401  (loads the BLAS that threadpoolctl reports)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{blas_threads()}, load average {load:.2f}"
    )


if __name__ == "__main__":
    print(describe())
