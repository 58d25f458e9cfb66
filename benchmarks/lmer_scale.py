"""Fit time and peak memory of mt.lmer, next to lme4 on the same data (benchmarks/lme4_scale.R).

Cases (simulated with fixed seeds, except sleepstudy):

* ``sleepstudy``   reaction ~ days + (days | subject), 180 rows
* ``factorial``    3 x 4 x 2 within-subject factorial with all interactions and (1 | subj),
  10^4 rows
* ``slope``        y ~ x + (x | g), 10^5 rows in 10^4 groups
* ``nested``       y ~ x + (1 | school/class), 200 schools x 50 classes, 10^5 rows
* ``growth``       three-level growth, (year | school) + (year | child:school), 25,000 rows
* ``crossed_small`` subjects x items, (1 + cond | subj) + (1 | item), 60 x 40, 2,400 rows
* ``crossed``      y ~ x + (1 | a) + (1 | b), 3,000 x 1,000 levels, 10^5 rows
* ``crossed_73k``  y ~ x + (1 | s) + (1 | d), 2,972 x 1,128 levels, 73,421 rows (the size of
  lme4's InstEval teaching evaluations)

Small reference fits (R's own data sets, exported to ``benchmarks/data/`` with their provenance
on the first line), timed against lme4's ``lmer`` alone in the same run (``--small``):

* ``cake``       angle ~ recipe * temperature + (1 | recipe:replicate), lme4's cake, 270 rows
* ``carrots``    Preference ~ sens2 + Homesize + (1 + sens2 | Consumer) + (1 | Product),
  lmerTest's carrots, 1,233 rows
* ``TVbo``       Coloursaturation ~ TVset * Picture + (1 | Assessor) + (1 | Assessor:TVset)
  + (1 | Assessor:Picture), lmerTest's TVbo, 192 rows
* ``Orthodont``  distance ~ age + (age | Subject), nlme's Orthodont, 108 rows

For each of them the median of ``--runs`` refits (default 10) of ``mt.lmer`` is taken, then, right
after, the median of as many refits of lme4's ``lmer`` on the same CSV file (Rscript
benchmarks/lme4_scale.R --small); ``--rounds`` repeats the pair.  Without R only our side is
printed.  Last run (2 CPUs, load average 1.4-1.8, three rounds), ratio mixedtools / lme4, median
of the rounds (range): cake 0.97 (0.89-1.29), carrots 1.02 (0.79-1.13), TVbo 0.92 (0.74-0.97),
Orthodont 1.13 (0.91-1.22): about lme4's speed, not yet ahead of it (Orthodont's first search
stops at a zero variance and is restarted, 47 evaluations); logLik equal to lme4's to all
printed digits.

Each case runs in a fresh process (so that its peak memory is its own).  "fit" is the first fit in
that process, "refit" the median of three more, "satt" the Satterthwaite coefficient table.  The
script prints the CPU count, the BLAS threads and the load average next to the figures: times
taken on a shared machine are noisy.  Usage (from the repository root):

    python benchmarks/lmer_scale.py --write-data /tmp/lmer_bench   # the data, as CSV files
    python benchmarks/lmer_scale.py --data-dir /tmp/lmer_bench     # all cases (or name some)
    Rscript benchmarks/lme4_scale.R /tmp/lmer_bench                # lme4 and lmerTest, same data
    python benchmarks/lmer_scale.py --small [--runs 10] [--rounds 3]  # the small fits, with lme4
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

FORMULAS = {
    "sleepstudy": "reaction ~ days + (days | subject)",
    "factorial": "y ~ a * b * c + (1 | subj)",
    "slope": "y ~ x + (x | g)",
    "nested": "y ~ x + (1 | school/class)",
    "growth": "y ~ year * female + (year | school) + (year | child:school)",
    "crossed_small": "y ~ cond + (1 + cond | subj) + (1 | item)",
    "crossed": "y ~ x + (1 | a) + (1 | b)",
    "crossed_73k": "y ~ x + (1 | s) + (1 | d)",
}


DATA = Path(__file__).parent / "data"
# formula and numeric columns of the small reference fits (the other columns are factors)
SMALL = {
    "cake": ("angle ~ recipe * temperature + (1 | recipe:replicate)", ("angle",)),
    "carrots": (
        "Preference ~ sens2 + Homesize + (1 + sens2 | Consumer) + (1 | Product)",
        ("Preference", "sens2"),
    ),
    "TVbo": (
        "Coloursaturation ~ TVset * Picture + (1 | Assessor) + (1 | Assessor:TVset)"
        " + (1 | Assessor:Picture)",
        ("Coloursaturation",),
    ),
    "Orthodont": ("distance ~ age + (age | Subject)", ("distance", "age")),
}


def read_small(case: str):
    """One of the small data sets: the numeric columns as numbers, the others as categorical
    columns (pandas' counterpart of the factors lme4 is given)."""
    import pandas as pd

    data = pd.read_csv(DATA / f"{case}.csv", comment="#", dtype=str)
    numeric = SMALL[case][1]
    return data.astype({col: float if col in numeric else "category" for col in data.columns})


def time_small(case: str, runs: int) -> dict:
    """Median time of `runs` refits of mt.lmer on a small data set (after one warm-up fit)."""
    import warnings

    import mixedtools as mt

    data = read_small(case)
    formula = SMALL[case][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mt.lmer(formula, data)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            mt.lmer(formula, data)
            times.append(time.perf_counter() - t)
    return {"ms": 1000 * statistics.median(times), "loglik": fit.loglik}


def lme4_small(case: str, runs: int) -> dict | None:
    """The same for lme4's lmer (Rscript benchmarks/lme4_scale.R --small), None without R."""
    if shutil.which("Rscript") is None:
        return None
    script = Path(__file__).parent / "lme4_scale.R"
    cmd = ["Rscript", str(script), "--small", case, str(DATA), str(runs)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main_small(runs: int, rounds: int) -> None:
    from machine import describe  # benchmarks/machine.py, beside this file

    print(describe(), flush=True)
    has_r = shutil.which("Rscript") is not None
    if not has_r:
        print("R (Rscript) is not installed: lme4's times are missing, ours alone follow.")
    order = "ours then lme4's, back to back" if has_r else "ours"
    print(f"median of {runs} refits; {rounds} round(s) of {order}")
    header = f"{'case':10s} {'round':>5s} {'mixedtools ms':>14s} {'lme4 ms':>8s} {'ratio':>6s}"
    print(header + "  logLik (ours / lme4)", flush=True)
    for case in SMALL:
        for r in range(rounds):
            ours = time_small(case, runs)
            theirs = lme4_small(case, runs) if has_r else None
            if theirs is None:
                print(
                    f"{case:10s} {r + 1:5d} {ours['ms']:14.1f} {'n/a':>8s} {'n/a':>6s}  "
                    f"{ours['loglik']:.6f}",
                    flush=True,
                )
                continue
            ratio = ours["ms"] / theirs["ms"]
            print(
                f"{case:10s} {r + 1:5d} {ours['ms']:14.1f} {theirs['ms']:8.1f} {ratio:6.2f}  "
                f"{ours['loglik']:.6f} / {theirs['loglik']:.6f}",
                flush=True,
            )
    print(describe(), flush=True)


def simulate(case: str):
    import numpy as np
    import pandas as pd

    import mixedtools as mt

    rng = np.random.default_rng(list(FORMULAS).index(case) + 1)
    if case == "sleepstudy":
        return mt.datasets.load("sleepstudy")
    if case == "factorial":
        n_subj = 10_000 // 24 + 1
        cells = pd.MultiIndex.from_product(
            [range(n_subj), ["a1", "a2", "a3"], ["b1", "b2", "b3", "b4"], ["c1", "c2"]],
            names=["subj", "a", "b", "c"],
        ).to_frame(index=False)
        d = cells.iloc[:10_000].copy()
        d["y"] = (
            rng.normal(size=n_subj)[d["subj"]]
            + d["a"].map({"a1": 0, "a2": 0.3, "a3": 0.5})
            + rng.normal(size=len(d))
        )
        d["subj"] = "s" + d["subj"].astype(str)
        return d
    if case == "slope":
        n, k = 100_000, 10_000
        g = np.repeat(np.arange(k), n // k)
        x = rng.normal(size=n)
        y = 1 + 0.5 * x + rng.normal(size=k)[g] + rng.normal(scale=0.5, size=k)[g] * x
        return pd.DataFrame({"y": y + rng.normal(size=n), "x": x, "g": g.astype(str)})
    if case == "nested":
        n = 100_000
        school = rng.integers(0, 200, n)
        cls = rng.integers(0, 50, n)
        x = rng.normal(size=n)
        y = (
            0.5 * x
            + rng.normal(size=200)[school]
            + 0.5 * rng.normal(size=10_000)[school * 50 + cls]
        )
        return pd.DataFrame(
            {"y": y + rng.normal(size=n), "x": x, "school": school, "class": cls}
        ).astype({"school": str, "class": str})
    if case == "growth":
        schools, children, years = 200, 25, 5
        school = np.repeat(np.arange(schools), children * years)
        child = np.tile(np.repeat(np.arange(children), years), schools)
        year = np.tile(np.arange(years), schools * children)
        female = (child + school) % 2
        cid = school * children + child
        y = (
            10
            + 1.5 * year
            + 0.5 * female
            + 0.2 * year * female
            + rng.normal(size=schools)[school]
            + 0.3 * rng.normal(size=schools)[school] * year
            + 1.5 * rng.normal(size=schools * children)[cid]
            + 0.5 * rng.normal(size=schools * children)[cid] * year
            + rng.normal(size=len(year))
        )
        return pd.DataFrame(
            {"y": y, "year": year, "female": female, "child": child, "school": school}
        ).astype({"child": str, "school": str})
    if case == "crossed_small":
        subj = np.repeat(np.arange(60), 40)
        item = np.tile(np.arange(40), 60)
        cond = (item + subj) % 2 - 0.5
        y = (
            0.3 * cond
            + rng.normal(size=60)[subj]
            + 0.3 * rng.normal(size=60)[subj] * cond
            + 0.5 * rng.normal(size=40)[item]
            + rng.normal(size=len(subj))
        )
        return pd.DataFrame({"y": y, "cond": cond, "subj": subj, "item": item}).astype(
            {"subj": str, "item": str}
        )
    if case in ("crossed", "crossed_73k"):
        n, na, nb, a_name, b_name = (
            (100_000, 3000, 1000, "a", "b") if case == "crossed" else (73_421, 2972, 1128, "s", "d")
        )
        a = rng.integers(0, na, n)
        b = rng.integers(0, nb, n)
        x = rng.normal(size=n)
        y = 0.3 * x + rng.normal(size=na)[a] + 0.5 * rng.normal(size=nb)[b] + rng.normal(size=n)
        return pd.DataFrame({"y": y, "x": x, a_name: a, b_name: b}).astype(
            {a_name: str, b_name: str}
        )
    raise ValueError(f"unknown case {case!r}; choose from {', '.join(FORMULAS)}")


def machine() -> str:
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']}:{i['num_threads']}" for i in threadpool_info()]
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"CPUs {os.cpu_count()}, BLAS threads {' '.join(blas) or 'n/a'}, load {load}"


def run_one(case: str, data_dir: str | None) -> dict:
    import warnings

    import pandas as pd

    import mixedtools as mt

    if data_dir and case != "sleepstudy":
        data = pd.read_csv(Path(data_dir) / f"{case}.csv", dtype=str)
        for col in data.columns:
            if col in ("y", "x", "cond", "year", "female"):
                data[col] = data[col].astype(float)
    else:
        data = simulate(case)
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    fit = mt.lmer(FORMULAS[case], data)
    first = time.perf_counter() - t0
    t1 = time.perf_counter()
    fit.coef_table(ddf="satterthwaite")
    satt = time.perf_counter() - t1
    refits = []
    if first < 5:
        for _ in range(3):
            t = time.perf_counter()
            mt.lmer(FORMULAS[case], data)
            refits.append(time.perf_counter() - t)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "case": case,
        "rows": fit.nobs,
        "fit_s": round(first, 3),
        "refit_s": round(statistics.median(refits), 3) if refits else None,
        "satt_s": round(satt, 3),
        "peak_mb": round(peak_mb),
        "loglik": round(fit.loglik, 4),
        "converged": fit.converged,
    }


def _option(argv: list[str], name: str, default: int) -> int:
    return int(argv[argv.index(name) + 1]) if name in argv else default


def main(argv: list[str]) -> None:
    if argv[:1] == ["--small"]:
        main_small(_option(argv, "--runs", 10), _option(argv, "--rounds", 1))
        return
    if argv[:1] == ["--one"]:
        print(json.dumps(run_one(argv[1], argv[2] if len(argv) > 2 else None)))
        return
    if argv[:1] == ["--write-data"]:
        out = Path(argv[1])
        out.mkdir(parents=True, exist_ok=True)
        for case in FORMULAS:
            if case != "sleepstudy":
                simulate(case).to_csv(out / f"{case}.csv", index=False)
        return
    data_dir = None
    if argv[:1] == ["--data-dir"]:
        data_dir, argv = argv[1], argv[2:]
    cases = argv or list(FORMULAS)
    print(machine(), flush=True)
    for case in cases:
        cmd = [sys.executable, __file__, "--one", case] + ([data_dir] if data_dir else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        print(out.stdout.strip().splitlines()[-1], flush=True)
    print(machine(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
