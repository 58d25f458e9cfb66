"""Fit time and peak memory of mt.lmer at 10^4, 10^5 and 10^6 rows.

Model: y ~ x + (x | g), about 10 rows per group, simulated.  Each size runs in a fresh process so
that its peak resident memory is its own.  Usage (from the repository root):

    python benchmarks/lmer_scale.py                     # 10^4 and 10^5 rows
    python benchmarks/lmer_scale.py 1000000             # any sizes
    python benchmarks/lmer_scale.py --statsmodels 10000  # also with statsmodels' optimiser

Measured (2 shared cores): 10^4 rows 0.2 s, 10^5 rows 1.0 s, 10^6 rows 8.4 s and 416 MB peak
(of which polishing 1.1 s); with statsmodels' optimiser 10^4 rows 1.6 s, 10^5 rows 19 s.

For comparison (same model, same machine class): lme4 takes about 1.3 s at 10^5 rows and 42 s at
10^6; statsmodels' own MixedLM fit about 1.5 s and 15 s.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def simulate(n_rows: int, rows_per_group: int = 10, seed: int = 1):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_groups = n_rows // rows_per_group
    g = np.repeat(np.arange(n_groups), rows_per_group)
    x = rng.normal(size=n_rows)
    b0 = rng.normal(scale=1.0, size=n_groups)
    b1 = rng.normal(scale=0.5, size=n_groups)
    y = 1.0 + 0.5 * x + b0[g] + b1[g] * x + rng.normal(size=n_rows)
    return pd.DataFrame({"y": y, "x": x, "g": g.astype(str)})


def run_one(n_rows: int, optimizer: str = "auto") -> dict:
    import mixedtools as mt
    from mixedtools import reml

    data = simulate(n_rows)
    t0 = time.perf_counter()
    fit = mt.lmer("y ~ x + (x | g)", data, optimizer=optimizer)
    total = time.perf_counter() - t0
    # the polishing share: the Newton steps plus the final recomputation, timed again alone
    t1 = time.perf_counter()
    tau = reml.newton_polish(fit.structure, fit.tau, reml=True, steps=4)
    reml.reml_quantities(fit.structure, tau, reml=True)
    polish = time.perf_counter() - t1
    t2 = time.perf_counter()
    fit.coef_table(ddf="satterthwaite")
    satterthwaite = time.perf_counter() - t2
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": n_rows,
        "groups": n_rows // 10,
        "optimizer": optimizer,
        "fit_seconds": round(total, 2),
        "polish_seconds": round(polish, 2),
        "satterthwaite_seconds": round(satterthwaite, 2),
        "peak_memory_mb": round(peak_mb, 0),
        "converged": fit.converged,
    }


def main(argv: list[str]) -> None:
    if len(argv) >= 3 and argv[0] == "--one":
        print(json.dumps(run_one(int(argv[1]), argv[2])))
        return
    optimizers = ["auto"]
    if "--statsmodels" in argv:  # also time statsmodels' own optimiser (slow beyond 10^5 rows)
        argv = [a for a in argv if a != "--statsmodels"]
        optimizers.append("statsmodels")
    sizes = [int(a) for a in argv] or [10_000, 100_000]
    for n in sizes:
        for optimizer in optimizers:
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(n), optimizer],
                capture_output=True,
                text=True,
                check=True,
            )
            print(out.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
