"""Time and peak memory of the panel tools on an unbalanced panel of about 10^6 rows.

Design: 10^5 entities, T_i drawn uniformly from 5 to 15 periods (mean 10), two regressors, an
individual effect correlated with the first one. Steps: fixed effects (linearmodels PanelOLS),
``mt.panel.random_effects`` with each method, and both Hausman tests (classical; regression-based
with the cluster-robust covariance). ``benchmarks/plm_scale.R`` runs the same steps with plm on
the same design.

Prints the machine (CPUs, BLAS threads, load average), then one line per step: wall time (median
of the repeats) and the peak memory allocated during the step (tracemalloc, a separate pass).
No figure is stated here: they depend on the machine; rerun the script to get them.

Usage (from the repository root)::

    python benchmarks/panel_scale.py                # 10^5 entities (about 10^6 rows)
    python benchmarks/panel_scale.py 10000 --repeats 1
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from linearmodels import PanelOLS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

import mixedtools as mt  # noqa: E402


def simulate(n_entities: int, seed: int = 1) -> pd.DataFrame:
    """Unbalanced panel: T_i uniform on 5..15, y = 1 + 0.5 x1 - 0.3 x2 + u_i + e_it."""
    rng = np.random.default_rng(seed)
    periods = rng.integers(5, 16, size=n_entities)
    entity = np.repeat(np.arange(n_entities), periods)
    time_index = np.concatenate([np.arange(t) for t in periods])
    n = entity.size
    a = rng.standard_normal(n_entities)
    u = 0.5 * a + rng.standard_normal(n_entities)
    x1 = a[entity] + rng.standard_normal(n)
    x2 = rng.standard_normal(n)
    y = 1 + 0.5 * x1 - 0.3 * x2 + u[entity] + rng.standard_normal(n)
    index = pd.MultiIndex.from_arrays([entity, time_index], names=["entity", "time"])
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2}, index=index)


def steps(data: pd.DataFrame) -> dict:
    """The benchmarked steps, each a function of no arguments; later steps reuse earlier fits."""
    fits: dict = {}

    def fixed_effects():
        fits["fe"] = PanelOLS.from_formula("y ~ x1 + x2 + EntityEffects", data).fit()
        # linearmodels defers the covariance to first use; plm computes it when fitting
        fits["fe_cov"] = fits["fe"].cov

    def random(method):
        def run():
            fits[method] = mt.panel.random_effects("y ~ 1 + x1 + x2", data, method=method)

        return run

    def hausman_chisq():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits["h_chisq"] = mt.panel.hausman(fits["fe"], fits["swar"])

    def hausman_aux():
        fits["h_aux"] = mt.panel.hausman(fits["fe"], fits["swar"], method="aux", robust=True)

    named = {"fixed effects (PanelOLS)": fixed_effects}
    for method in mt.panel.METHODS:
        named[f"random_effects, {method}"] = random(method)
    named["hausman, chisq"] = hausman_chisq
    named["hausman, aux robust"] = hausman_aux
    return named, fits


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entities", nargs="?", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    print(describe())
    t0 = time.perf_counter()
    data = simulate(args.entities)
    print(
        f"panel: {len(data):,} rows, {args.entities:,} entities, T_i 5 to 15 "
        f"(simulated in {time.perf_counter() - t0:.1f} s)"
    )
    named, fits = steps(data)
    timings = {name: [] for name in named}
    for _ in range(args.repeats):
        for name, run in named.items():
            start = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - start)
    peaks = {}
    tracemalloc.start()
    for name, run in named.items():
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        run()
        peaks[name] = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    tracemalloc.stop()
    width = max(len(name) for name in named)
    print(f"{'step':<{width}}  {'seconds (median)':>16}  {'peak MB':>8}")
    for name in named:
        print(f"{name:<{width}}  {statistics.median(timings[name]):>16.2f}  {peaks[name]:>8.0f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process: {rss:.0f} MB")
    h, a = fits["h_chisq"], fits["h_aux"]
    print(
        f"check: swar slopes {fits['swar'].params.round(4).tolist()}, "
        f"Hausman chisq {h.statistic:.1f} (df {h.df}), aux robust {a.statistic:.1f} (df {a.df})"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
