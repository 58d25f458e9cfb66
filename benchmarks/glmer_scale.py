"""Fit time and peak memory of mt.glmer, next to lme4::glmer on the same data
(benchmarks/glmer_scale.R).

Cases:

* ``verbagg``    r2 ~ anger + gender + btype + situ + (1 | id) + (1 | item): lme4's VerbAgg,
  7,584 binary responses, 316 x 24 crossed
* ``crossed50k`` y ~ x + (1 | a) + (1 | b), 50,000 binary rows, 2,000 x 300 crossed levels
  (simulated, seed 1)
* ``intercept1e5`` y ~ x + (1 | g), 10^5 binary rows in 2,000 groups (simulated, seed 2)
* ``cbpp_loop``  20 refits of cbind(incidence, size - incidence) ~ period + (1 | herd) (a
  simulation study's unit of work; the time is per fit)

Each case runs in a fresh process (its peak memory is its own); the time is the median of
``--runs`` fits (default 3).  Last run, on an idle machine (2 CPUs, x86_64, OpenBLAS, load
1.0-1.3), lme4 1.1-31 right after on the same CSV files:

============  ==========  ============  =====  ===========  ====================  ===========
case          mt.glmer s  lme4 glmer s  ratio  peak MB (py)  logLik (ours)         lme4 logLik
============  ==========  ============  =====  ===========  ====================  ===========
verbagg            1.104         4.897   0.23          152  -4075.699860          -4075.700245
crossed50k         7.403        25.802   0.29          189  -30742.545966         -30742.553226
intercept1e5       1.432        14.630   0.10          187  -60265.559175         -60265.562586
cbpp_loop          0.055         0.121   0.45          142  -92.026282            -92.026566
============  ==========  ============  =====  ===========  ====================  ===========

The cbpp row was rerun after the Hessian's off-diagonal entries were taken from two
evaluations each instead of four (78 deviance evaluations per fit instead of 98): five
alternating rounds of ours and lme4's loop at load 1.1-1.2, the median of each side.

Every log-likelihood is at or above lme4's (lme4 stops its PIRLS at ``tolPwrss = 1e-7``).
Usage (from the repository root):

    python benchmarks/glmer_scale.py --write-data /tmp/glmer_bench
    python benchmarks/glmer_scale.py --data-dir /tmp/glmer_bench [case ...]
    Rscript benchmarks/glmer_scale.R /tmp/glmer_bench
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

FORMULAS = {
    "verbagg": "r2 ~ anger + gender + btype + situ + (1 | id) + (1 | item)",
    "crossed50k": "y ~ x + (1 | a) + (1 | b)",
    "intercept1e5": "y ~ x + (1 | g)",
    "cbpp_loop": "cbind(incidence, size - incidence) ~ period + (1 | herd)",
}
LOOP = 20


def simulate(name: str) -> pd.DataFrame:
    if name == "crossed50k":
        rng = np.random.default_rng(1)
        n = 50_000
        a, b = rng.integers(0, 2000, n), rng.integers(0, 300, n)
        x = rng.normal(size=n)
        eta = -0.5 + 0.4 * x + rng.normal(0, 0.8, 2000)[a] + rng.normal(0, 0.5, 300)[b]
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
        return pd.DataFrame({"y": y, "x": x, "a": [f"a{i}" for i in a], "b": [f"b{i}" for i in b]})
    if name == "intercept1e5":
        rng = np.random.default_rng(2)
        n = 100_000
        g = rng.integers(0, 2000, n)
        x = rng.normal(size=n)
        eta = 0.3 + 0.5 * x + rng.normal(0, 1.0, 2000)[g]
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
        return pd.DataFrame({"y": y, "x": x, "g": [f"g{i}" for i in g]})
    import mixedtools as mt

    return mt.datasets.load("verbagg" if name == "verbagg" else "cbpp")


def write_data(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in FORMULAS:
        simulate(name).to_csv(folder / f"{name}.csv", index=False)


def run_case(name: str, folder: Path, runs: int) -> dict:
    import mixedtools as mt

    text = {"id", "item", "a", "b", "g", "herd", "period"}
    data = pd.read_csv(folder / f"{name}.csv", dtype={c: str for c in text})
    if name == "cbpp_loop":
        data["period"] = data["period"].astype("category")
    times, fit = [], None
    for _ in range(runs):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(LOOP if name == "cbpp_loop" else 1):
                fit = mt.glmer(FORMULAS[name], data)
        elapsed = time.perf_counter() - start
        times.append(elapsed / (LOOP if name == "cbpp_loop" else 1))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"case": name, "seconds": statistics.median(times), "loglik": fit.loglik,
            "peak_mb": peak_mb, "evaluations": fit.n_evaluations}  # fmt: skip


def main(argv: list[str]) -> None:
    if argv[:1] == ["--write-data"]:
        write_data(Path(argv[1]))
        return
    if argv[:1] == ["--case"]:
        print(json.dumps(run_case(argv[1], Path(argv[2]), int(argv[3]))))
        return
    folder = Path(argv[argv.index("--data-dir") + 1])
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 3
    cases = [a for a in argv if a in FORMULAS] or list(FORMULAS)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"{os.cpu_count()} CPUs, OPENBLAS_NUM_THREADS={threads}, load {os.getloadavg()[0]:.2f}")
    print(f"{'case':<14}{'seconds':>9}{'peak MB':>9}{'evals':>7}  logLik")
    for name in cases:
        out = subprocess.run(
            [sys.executable, __file__, "--case", name, str(folder), str(runs)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{name:<14}{r['seconds']:9.3f}{r['peak_mb']:9.0f}{r['evaluations']:7d}  "
              f"{r['loglik']:.6f}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
