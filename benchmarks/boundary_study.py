"""Optimum and convergence warnings of mt.lmer next to lme4 on 100 near-boundary data sets.

Design (the issue's reproducer, seeds 1000..1099): 10 groups of 10 rows,
``y = 1 + 2 x + u_j + e`` with ``u_j ~ N(0, 1)``, ``e ~ N(0, 1)`` and no random slope, fitted as
``y ~ x + (x | g)`` by REML.  The true slope variance is 0, so many fits end at the boundary
(a zero variance or a correlation of +-1).  The script prints, for mixedtools and lme4: how often
each warns that the fit did not converge, how often each reports a singular fit, and how often
mixedtools' REML log-likelihood is below lme4's by more than 1e-6 (a worse optimum) or above it.
Usage (from the repository root):

    python benchmarks/boundary_study.py --write-data /tmp/boundary
    Rscript benchmarks/boundary_study.R /tmp/boundary
    python benchmarks/boundary_study.py /tmp/boundary
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

SEEDS = range(1000, 1100)


def simulate(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(10), 10)
    x = rng.normal(size=100)
    y = 1 + 2 * x + rng.normal(size=10)[g] + rng.normal(size=100)
    return pd.DataFrame({"seed": seed, "y": y, "x": x, "g": [f"g{i}" for i in g]})


def main(argv: list[str]) -> None:
    if argv[:1] == ["--write-data"]:
        out = Path(argv[1])
        out.mkdir(parents=True, exist_ok=True)
        pd.concat([simulate(s) for s in SEEDS]).to_csv(out / "data.csv", index=False)
        return
    import mixedtools as mt

    folder = Path(argv[0])
    lme4 = pd.read_csv(folder / "lme4.csv").set_index("seed")
    rows = []
    for seed in SEEDS:
        data = simulate(seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = mt.lmer("y ~ x + (x | g)", data)
        kinds = {w.category.__name__ for w in caught}
        rows.append(
            {
                "seed": seed,
                "loglik": fit.loglik,
                "warn_convergence": "LmerConvergenceWarning" in kinds,
                "singular": fit.singular,
            }
        )
    ours = pd.DataFrame(rows).set_index("seed")
    diff = ours["loglik"] - lme4["loglik"]
    n = len(ours)
    print(f"CPUs {os.cpu_count()}, load {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{n} data sets, y ~ x + (x | g), REML, true slope variance 0")
    print(
        f"convergence warnings: mixedtools {ours['warn_convergence'].sum()} / {n}, "
        f"lme4 {lme4['warn_convergence'].sum()} / {n}"
    )
    print(
        f"singular fits:        mixedtools {ours['singular'].sum()} / {n}, "
        f"lme4 {lme4['singular'].sum()} / {n}"
    )
    print(
        f"log-likelihood vs lme4: below by more than 1e-6 in {(diff < -1e-6).sum()}, "
        f"above by more than 1e-6 in {(diff > 1e-6).sum()}, "
        f"largest shortfall {max(0.0, -diff.min()):.2g}, largest gain {max(0.0, diff.max()):.2g}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
