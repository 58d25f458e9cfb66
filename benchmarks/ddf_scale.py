"""Time and memory of the denominator-df methods at 10^4 .. 10^6 rows.

Model: y ~ x + (x | g), 100 rows per group (10^6 rows = 10^4 groups), REML.
Each size runs in a fresh process so that its peak resident memory is its own.

Default engine ``lmer`` (what the book uses): ``mt.lmer`` fit from the formula
(the direct blockwise optimiser beyond 5,000 rows), then the Satterthwaite and
Kenward-Roger coefficient tables. Engine ``statsmodels``: statsmodels' MixedLM fit;
building the blockwise structure from the fit; Newton polishing; Satterthwaite and
Kenward-Roger df for both coefficients (each including its likelihood pass).
Both report the tracemalloc peak of the df stages and the peak resident memory.

Usage (from the repository root)::

    python benchmarks/ddf_scale.py                       # 10^4, 10^5 and 10^6 rows
    python benchmarks/ddf_scale.py --rows 10000          # one size
    python benchmarks/ddf_scale.py --engine statsmodels  # statsmodels' optimiser
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd


def simulate(n_rows, per_group=100, seed=2024):
    rng = np.random.default_rng(seed)
    n_groups = n_rows // per_group
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=n_rows)
    u = rng.multivariate_normal([0, 0], [[1.0, 0.2], [0.2, 0.5]], size=n_groups)
    y = 1.0 + 0.5 * x + u[g, 0] + u[g, 1] * x + rng.normal(size=n_rows)
    return pd.DataFrame({"g": g, "x": x, "y": y})


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_one_lmer(n_rows):
    import mixedtools as mt

    data = simulate(n_rows)
    row = {"rows": n_rows, "groups": data["g"].nunique()}
    t0 = time.perf_counter()
    fit = mt.lmer("y ~ x + (x | g)", data)
    row["fit_s"] = time.perf_counter() - t0
    row["fit_peak_rss_mb"] = peak_rss_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    sat = fit.coef_table(ddf="satterthwaite")
    row["satterthwaite_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    kr = fit.coef_table(ddf="kenward-roger")
    row["kenward_roger_s"] = time.perf_counter() - t0
    row["df_traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    row["process_peak_rss_mb"] = peak_rss_mb()
    row["sat_df_x"], row["kr_df_x"] = sat["df"].iloc[1], kr["df"].iloc[1]
    return row


def run_one(n_rows):
    import statsmodels.formula.api as smf

    from mixedtools.lmm.ddf import kenward_roger, satterthwaite_t
    from mixedtools.lmm.reml import from_statsmodels, newton_polish, reml_quantities

    data = simulate(n_rows)
    row = {"rows": n_rows, "groups": data["g"].nunique()}

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("y ~ x", data, groups="g", re_formula="~x").fit(reml=True)
    row["fit_s"] = time.perf_counter() - t0
    row["fit_peak_rss_mb"] = peak_rss_mb()

    tracemalloc.start()
    t0 = time.perf_counter()
    structure, tau = from_statsmodels(fit)
    row["structure_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tau = newton_polish(structure, tau)
    row["polish_s"] = time.perf_counter() - t0

    # each method pays for its own pass over the groups
    t0 = time.perf_counter()
    qty = reml_quantities(structure, tau)
    sat = [satterthwaite_t(structure, tau, c, qty=qty)["df"] for c in np.eye(2)]
    row["satterthwaite_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    qty = reml_quantities(structure, tau)
    kr = [kenward_roger(structure, tau, c[None, :], qty)["den_df"] for c in np.eye(2)]
    row["kenward_roger_s"] = time.perf_counter() - t0
    row["df_total_s"] = sum(
        row[k] for k in ("structure_s", "polish_s", "satterthwaite_s", "kenward_roger_s")
    )
    row["df_traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    row["process_peak_rss_mb"] = peak_rss_mb()
    row["sat_df_x"], row["kr_df_x"] = sat[1], kr[1]
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--engine", choices=["lmer", "statsmodels"], default="lmer")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        runner = run_one_lmer if args.engine == "lmer" else run_one
        print(json.dumps(runner(args.rows[0])))
        return
    rows = []
    for n in args.rows:
        out = subprocess.run(
            [sys.executable, __file__, "--single", "--engine", args.engine, "--rows", str(n)],
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    table = pd.DataFrame(rows).set_index("rows")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string())


if __name__ == "__main__":
    main()
