"""Optimum and convergence warnings of mt.lmer next to lme4 on 100 near-boundary data sets.

Two designs, 100 data sets each (seeds 1000..1099), fitted by REML:

* ``slope`` (the issue's reproducer): 10 groups of 10 rows, ``y = 1 + 2 x + u_j + e`` with
  ``u_j ~ N(0, 1)``, ``e ~ N(0, 1)`` and no random slope, fitted as ``y ~ x + (x | g)``;
* ``crossed``: 20 subjects x 8 items, ``y = 1 + 0.5 x + u_s + e`` with no subject slope and no
  item effect, fitted as ``y ~ x + (x | s) + (1 | i)`` (the sparse engine).

The true variances of the slope (and the items) are 0, so many fits end at the boundary
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


FORMULAS = {"slope": "y ~ x + (x | g)", "crossed": "y ~ x + (x | s) + (1 | i)"}


def simulate(seed: int, design: str = "slope") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    if design == "slope":
        g = np.repeat(np.arange(10), 10)
        x = rng.normal(size=100)
        y = 1 + 2 * x + rng.normal(size=10)[g] + rng.normal(size=100)
        return pd.DataFrame(
            {"design": design, "seed": seed, "y": y, "x": x, "g": [f"g{i}" for i in g]}
        )
    s = np.repeat(np.arange(20), 8)
    i = np.tile(np.arange(8), 20)
    x = rng.normal(size=160)
    y = 1 + 0.5 * x + rng.normal(size=20)[s] + rng.normal(size=160)
    return pd.DataFrame(
        {
            "design": design,
            "seed": seed,
            "y": y,
            "x": x,
            "s": [f"s{k}" for k in s],
            "i": [f"i{k}" for k in i],
        }
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--write-data"]:
        out = Path(argv[1])
        out.mkdir(parents=True, exist_ok=True)
        frames = [simulate(s, d) for d in FORMULAS for s in SEEDS]
        pd.concat(frames).to_csv(out / "data.csv", index=False)
        return
    import mixedtools as mt

    folder = Path(argv[0])
    lme4_all = pd.read_csv(folder / "lme4.csv")
    print(f"CPUs {os.cpu_count()}, load {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for design, formula in FORMULAS.items():
        lme4 = lme4_all[lme4_all["design"] == design].set_index("seed")
        rows = []
        for seed in SEEDS:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fit = mt.lmer(formula, simulate(seed, design))
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
        print(f"\n{design}: {n} data sets, {formula}, REML")
        print(
            f"  convergence warnings: mixedtools {ours['warn_convergence'].sum()} / {n}, "
            f"lme4 {lme4['warn_convergence'].sum()} / {n}"
        )
        print(
            f"  singular fits:        mixedtools {ours['singular'].sum()} / {n}, "
            f"lme4 {lme4['singular'].sum()} / {n}"
        )
        print(
            f"  log-likelihood vs lme4: below by more than 1e-6 in {(diff < -1e-6).sum()}, "
            f"above by more than 1e-6 in {(diff > 1e-6).sum()}; largest shortfall "
            f"{max(0.0, -diff.min()):.2g}, largest gain {max(0.0, diff.max()):.2g}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
