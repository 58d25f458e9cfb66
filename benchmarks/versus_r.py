"""Every public entry point of mixedtools that has an R twin, timed next to it on the same data.

One table: case, R's time, ours, the ratio ours / R (below 1: we are faster), and whether the
numbers agree -- the largest relative difference over the compared numbers (absolute for the
bootstrap p-value, which agrees only within Monte Carlo error) next to its tolerance.

R's side is ``benchmarks/versus_r.R``, run from here with ``Rscript`` when R is installed (lme4,
lmerTest, pbkrtest, car, afex, plm, clubSandwich, metafor), topic by topic (lmm, anova, panel,
meta) just before our side of the same topic. It reads the same data (the bundled CSV files, and
the simulated data sets this script writes) and times every twin as we time ours: a repeat count
chosen so that one batch takes at least ~50 ms, then the median over at least three batches of
the time per call.
Without R the script says so and prints our side alone.

Each row times the whole call a user makes, data already loaded: e.g. ``lmer + Satterthwaite``
is the fit plus the table on both sides. Usage (from the repository root)::

    python benchmarks/versus_r.py                 # all cases, R included when installed
    python benchmarks/versus_r.py --no-r          # our side only
    python benchmarks/versus_r.py meta panel      # cases whose name contains a word
    python benchmarks/versus_r.py --quick         # each case once, no R (a smoke test)

The machine (CPUs, BLAS threads, load average) is printed with the table: times taken on a
shared machine are noisy, so both sides run back to back and the ratio is what to compare.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import describe  # noqa: E402

import mixedtools as mt  # noqa: E402

MIN_BATCH = 0.05  # seconds: a batch of repeats lasts at least this long
BATCHES = 3  # median over this many batches


# ---------------------------------------------------------------------------------------------
# data: bundled sets, and simulated ones written to CSV for R
# ---------------------------------------------------------------------------------------------
class Data:
    """The cases' data sets, built on first use; ``write(folder)`` saves the simulated ones."""

    def load(self, name: str) -> pd.DataFrame:
        return mt.datasets.load(name)

    @cached_property
    def sleep(self) -> pd.DataFrame:
        return self.load("sleepstudy")

    @cached_property
    def sleep6(self) -> pd.DataFrame:
        """The first six subjects of sleepstudy (the bootstrap case, as in the test suite)."""
        s = self.sleep
        return s[s.subject.isin(s.subject.unique()[:6])].reset_index(drop=True)

    @cached_property
    def penicillin(self) -> pd.DataFrame:
        return self.load("penicillin")

    @cached_property
    def pastes(self) -> pd.DataFrame:
        return self.load("pastes")

    @cached_property
    def crossed(self) -> pd.DataFrame:
        """60 subjects x 40 items, each pair once: y ~ x + (1 | subj) + (1 | item)."""
        rng = np.random.default_rng(60)
        subj, item = np.meshgrid(np.arange(60), np.arange(40), indexing="ij")
        subj, item = subj.ravel(), item.ravel()
        x = rng.integers(0, 2, subj.size).astype(float)
        y = (
            0.5 * x
            + rng.normal(0, 1.0, 60)[subj]
            + rng.normal(0, 0.7, 40)[item]
            + rng.normal(0, 1.0, subj.size)
        )
        return pd.DataFrame(
            {
                "y": y,
                "x": x,
                "subj": "s" + pd.Series(subj).astype(str),
                "item": "i" + pd.Series(item).astype(str),
            }
        )

    @cached_property
    def large(self) -> pd.DataFrame:
        """10^5 rows in 1,000 groups: y ~ x + (x | g), correlated intercepts and slopes."""
        rng = np.random.default_rng(5)
        n, groups = 100_000, 1_000
        g = rng.integers(0, groups, n)
        x = rng.standard_normal(n)
        u = rng.multivariate_normal([0, 0], [[1.0, 0.3], [0.3, 0.5]], groups)
        y = 1 + 0.5 * x + u[g, 0] + u[g, 1] * x + rng.standard_normal(n)
        return pd.DataFrame({"y": y, "x": x, "g": "g" + pd.Series(g).astype(str)})

    @cached_property
    def ok(self) -> pd.DataFrame:
        return self.load("obrien_kaiser")

    @cached_property
    def ok_subject(self) -> pd.DataFrame:
        """O'Brien-Kaiser averaged over the 15 measurements: one row per subject (unbalanced)."""
        return self.ok.groupby(["id", "treatment", "gender"], as_index=False)["value"].mean()

    @cached_property
    def grunfeld(self) -> pd.DataFrame:
        return self.load("grunfeld").set_index(["firm", "year"])

    @cached_property
    def bcg(self) -> pd.DataFrame:
        return self.load("bcg")

    @cached_property
    def bcg_es(self) -> pd.DataFrame:
        b = self.bcg
        return mt.meta.escalc("RR", ai=b.tpos, bi=b.tneg, ci=b.cpos, di=b.cneg)

    @cached_property
    def kon(self) -> pd.DataFrame:
        return self.load("konstantopoulos2011")

    def write(self, folder: Path) -> None:
        self.crossed.to_csv(folder / "crossed.csv", index=False)
        self.large.to_csv(folder / "large.csv", index=False)


# ---------------------------------------------------------------------------------------------
# cases: each builds (outside the timing) a function of no arguments that does the timed work and
# returns the compared numbers, {name: list of floats}; versus_r.R has a twin of the same name
# ---------------------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    build: Callable[[Data], Callable[[], dict]] | None
    twin: str
    tol: float = 1e-4
    absolute: bool = False  # compare absolute differences (Monte Carlo p-values)
    note: str = ""


CASES: list[Case] = []


def case(name: str, twin: str, tol: float = 1e-4, absolute: bool = False, note: str = ""):
    def register(build):
        CASES.append(Case(name, build, twin, tol, absolute, note))
        return build

    return register


def _floats(values) -> list:
    return [float(v) for v in np.atleast_1d(np.asarray(values, dtype=float))]


def _lmer_numbers(fit) -> dict:
    return {"fixef": _floats(fit.fixef), "sigma": _floats(fit.sigma), "loglik": _floats(fit.loglik)}


def _lmer_case(name, formula, dataset, twin, tol=1e-4):
    @case(name, twin, tol)
    def build(d: Data):
        data = getattr(d, dataset)
        return lambda: _lmer_numbers(mt.lmer(formula, data))


_lmer_case("lmer sleepstudy (1|subject)", "reaction ~ days + (1 | subject)", "sleep", "lme4::lmer")
_lmer_case(
    "lmer sleepstudy (days|subject)", "reaction ~ days + (days | subject)", "sleep", "lme4::lmer"
)
_lmer_case(
    "lmer crossed penicillin",
    "diameter ~ 1 + (1 | plate) + (1 | sample)",
    "penicillin",
    "lme4::lmer",
)
_lmer_case(
    "lmer crossed 60x40 simulated", "y ~ x + (1 | subj) + (1 | item)", "crossed", "lme4::lmer"
)
_lmer_case(
    "lmer nested pastes (1|batch/cask)", "strength ~ 1 + (1 | batch/cask)", "pastes", "lme4::lmer"
)
_lmer_case("lmer 10^5 rows (x|g), 1000 groups", "y ~ x + (x | g)", "large", "lme4::lmer", tol=1e-3)


@case("glmer cbpp (1|herd), Laplace", "lme4::glmer", tol=1e-3,
      note="lme4 stops PIRLS at tolPwrss = 1e-7: its logLik is 3e-4 below the optimum")  # fmt: skip
def _glmer(d: Data):
    cbpp = d.load("cbpp").astype({"period": "category"})
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    return lambda: {"fixef": _floats(mt.glmer(formula, cbpp).fixef)}


def _ddf_case(name, ddf, twin, tol):
    @case(name, twin, tol)
    def build(d: Data):
        def run():
            fit = mt.lmer("reaction ~ days + (days | subject)", d.sleep)
            table = mt.ddf.coef_table(fit, ddf=ddf)
            return {"se": _floats(table.std_error), "df": _floats(table.df), "t": _floats(table.t)}

        return run


_ddf_case("lmer + Satterthwaite table", "satterthwaite", "lmerTest summary", 1e-4)
_ddf_case("lmer + Kenward-Roger table", "kenward-roger", "lmerTest ddf=Kenward-Roger", 1e-4)


@case("lrt (1|s) vs (days|s), REML", "anova(m0, m1, refit = FALSE)")
def _lrt(d: Data):
    def run():
        m0 = mt.lmer("reaction ~ days + (1 | subject)", d.sleep)
        m1 = mt.lmer("reaction ~ days + (days | subject)", d.sleep)
        row = mt.lrt(m0, m1).loc["full"]
        return {"chisq": _floats(row.chisq), "p": _floats(row.p_naive)}

    return run


N_BOOT = 100
# Monte Carlo standard error of a p-value near 0.01 from N_BOOT draws, for each side; agreement
# means a difference within 3 standard errors of the difference of two independent estimates
_MC_TOL = 3 * math.sqrt(2 * 0.01 * 0.99 / N_BOOT)


@case(
    f"bootstrap_lrt, {N_BOOT} draws (6 subjects)",
    f"pbkrtest::PBmodcomp, nsim = {N_BOOT}",
    tol=_MC_TOL,
    absolute=True,
    note="p-values agree within Monte Carlo error only",
)
def _boot(d: Data):
    def run():
        m0 = mt.lmer("reaction ~ days + (1 | subject)", d.sleep6)
        m1 = mt.lmer("reaction ~ days + (days | subject)", d.sleep6)
        out = mt.bootstrap.bootstrap_lrt(m0, m1, n_boot=N_BOOT, seed=1)
        return {"p": _floats(out["p_value"])}

    return run


# ---- anova ------------------------------------------------------------------------------------
@case("anova factorial type III (2x3)", "car::Anova(lm, type = 3)")
def _factorial(d: Data):
    def run():
        table = mt.anova.factorial(d.ok_subject, dv="value", between=["treatment", "gender"])
        return {"F": _floats(table.F.iloc[:-1]), "ss": _floats(table.sum_sq)}

    return run


_OK_ARGS = dict(dv="value", subject="id", within=["phase", "hour"], between=["treatment", "gender"])


@case("anova rm, GG and HF (O'Brien-Kaiser)", "afex::aov_car + summary")
def _rm(d: Data):
    def run():
        table = mt.anova.rm(d.ok, **_OK_ARGS)
        within = table[[("phase" in t) or ("hour" in t) for t in table.index]]
        return {
            "F": _floats(table.F),
            "eps_gg": _floats(within.eps_gg),
            "eps_hf": _floats(within.eps_hf),
        }

    return run


@case("anova mauchly (O'Brien-Kaiser)", "afex::aov_car + summary (sphericity tests)")
def _mauchly(d: Data):
    def run():
        table = mt.anova.mauchly(d.ok, **_OK_ARGS)
        return {"W": _floats(table.W), "p": _floats(table.p_value)}

    return run


# ---- panel ------------------------------------------------------------------------------------
GRUNFELD = "inv ~ 1 + value + capital"


def _re_numbers(fit) -> dict:
    return {
        "params": _floats(fit.params),
        "se": _floats(fit.std_errors),
        "sigma2": _floats([fit.sigma2_idios, fit.sigma2_id]),
    }


for _method in ("swar", "walhus", "amemiya"):

    @case(f"panel random_effects {_method} (Grunfeld)", f"plm random.method = {_method!r}")
    def _re(d: Data, method=_method):
        return lambda: _re_numbers(mt.panel.random_effects(GRUNFELD, d.grunfeld, method=method))


@case("panel random_effects ml (Grunfeld)", "lme4::lmer(REML = FALSE)")
def _re_ml(d: Data):
    def run():
        fit = mt.panel.random_effects(GRUNFELD, d.grunfeld, method="ml")
        return {
            "params": _floats(fit.params),
            "loglik": _floats(fit.loglik),
            "sigma2": _floats([fit.sigma2_idios, fit.sigma2_id]),
        }

    return run


def _panelols(data):
    from linearmodels import PanelOLS

    return PanelOLS.from_formula("inv ~ value + capital + EntityEffects", data).fit()


@case("panel fixed_effects (within)", "plm model = 'within'")
def _fixed(d: Data):
    def run():
        fe = mt.panel.fixed_effects(GRUNFELD, d.grunfeld)
        return {"params": _floats(fe.params), "se": _floats(fe.std_errors)}

    return run


@case("(linearmodels) PanelOLS within", "plm model = 'within'", note="not ours: linearmodels")
def _within(d: Data):
    def run():
        fe = _panelols(d.grunfeld)
        return {"params": _floats(fe.params), "se": _floats(fe.std_errors)}

    return run


@case("panel hausman chisq (fits given)", "plm::phtest(fe, re)")
def _hausman(d: Data):
    fe = mt.panel.fixed_effects(GRUNFELD, d.grunfeld)
    re = mt.panel.random_effects(GRUNFELD, d.grunfeld)

    def run():
        return {"chisq": _floats(mt.panel.hausman(fe, re).statistic)}

    return run


@case("panel hausman aux robust (FE + RE + test)", "phtest(method = 'aux', vcov = arellano)")
def _hausman_aux(d: Data):
    def run():
        fe = mt.panel.fixed_effects(GRUNFELD, d.grunfeld)
        re = mt.panel.random_effects(GRUNFELD, d.grunfeld)
        h = mt.panel.hausman(fe, re, method="aux", robust=True)
        return {"chisq": _floats(h.statistic)}

    return run


@case("panel FE + RE + hausman (Grunfeld)", "plm within + random + phtest")
def _panel_path(d: Data):
    def run():
        fe = mt.panel.fixed_effects(GRUNFELD, d.grunfeld)
        re = mt.panel.random_effects(GRUNFELD, d.grunfeld)
        return {"re": _floats(re.params), "chisq": _floats(mt.panel.hausman(fe, re).statistic)}

    return run


@case("panel PanelOLS FE + RE + hausman", "plm within + random + phtest", note="FE by linearmodels")
def _panel_path_linearmodels(d: Data):
    def run():
        fe = _panelols(d.grunfeld)
        re = mt.panel.random_effects(GRUNFELD, d.grunfeld)
        return {"re": _floats(re.params), "chisq": _floats(mt.panel.hausman(fe, re).statistic)}

    return run


for _method in ("swar", "walhus", "amemiya", "nerlove"):

    @case(f"panel random_effects {_method} two-way (Grunfeld)", f"plm twoways, {_method!r}")
    def _re_twoways(d: Data, method=_method):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a year variance estimated < 0, set to 0
                fit = mt.panel.random_effects(GRUNFELD, d.grunfeld, method=method, effect="twoways")
            return {
                "params": _floats(fit.params),
                "se": _floats(fit.std_errors),
                "sigma2": _floats([fit.sigma2_idios, fit.sigma2_id, fit.sigma2_time]),
            }

        return run


@case("panel fixed_effects two-way (Grunfeld)", "plm within, effect = 'twoways'")
def _fixed_twoways(d: Data):
    def run():
        fe = mt.panel.fixed_effects(GRUNFELD, d.grunfeld, effect="twoways")
        return {"params": _floats(fe.params), "se": _floats(fe.std_errors)}

    return run


@case("panel cluster_robust CR2 (within fit given)", "clubSandwich::coef_test(vcov = 'CR2')")
def _cluster_robust(d: Data):
    fe = mt.panel.fixed_effects(GRUNFELD, d.grunfeld)

    def run():
        table = mt.panel.cluster_robust(fe)
        return {
            "se": _floats(table["std_error"]),
            "df": _floats(table["df"]),
            "p": _floats(table["p_value"]),
        }

    return run


@case("panel mundlak (Grunfeld)", "plm random + Between(x)")
def _mundlak(d: Data):
    return lambda: {"params": _floats(mt.panel.mundlak(GRUNFELD, d.grunfeld).params)}


# ---- meta -------------------------------------------------------------------------------------
@case("meta escalc RR (BCG)", "metafor::escalc")
def _escalc(d: Data):
    b = d.bcg

    def run():
        es = mt.meta.escalc("RR", ai=b.tpos, bi=b.tneg, ci=b.cpos, di=b.cneg)
        return {"yi": _floats(es.yi), "vi": _floats(es.vi)}

    return run


def _rma_numbers(fit) -> dict:
    return {"beta": _floats(fit.beta), "se": _floats(fit.se), "tau2": _floats(fit.tau2)}


for _method in ("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB"):
    # metafor stops its iterations at threshold 1e-5 by default; we solve to convergence
    _tol = 1e-4 if _method in ("REML", "ML", "PM", "EB") else 1e-8

    @case(f"meta rma {_method} (BCG)", f"metafor::rma(method = {_method!r})", _tol)
    def _rma(d: Data, method=_method):
        es = d.bcg_es
        return lambda: _rma_numbers(mt.meta.rma(es.yi, es.vi, method=method))


@case("meta rma REML knha (BCG)", "rma(test = 'knha')")
def _knha(d: Data):
    es = d.bcg_es

    def run():
        fit = mt.meta.rma(es.yi, es.vi, test="knha")
        return {
            "se": _floats(fit.se),
            "ci": _floats([fit.ci_lower, fit.ci_upper]),
            "p": _floats(fit.p_value),
        }

    return run


@case(
    "meta rma + tau2 CI (Q-profile)",
    "rma + confint",
    tol=1e-3,
    note="metafor's confint root tolerance is 1.2e-4",
)
def _tau2_ci(d: Data):
    es = d.bcg_es

    def run():
        fit = mt.meta.rma(es.yi, es.vi)
        return {"ci": _floats([fit.tau2_ci_lower, fit.tau2_ci_upper])}

    return run


@case("meta rma_mv 3-level (Konstantopoulos)", "metafor::rma.mv(random = ~ 1 | d/s)")
def _rma_mv(d: Data):
    kon = d.kon

    def run():
        fit = mt.meta.rma_mv("yi", "vi", random=kon[["district", "school"]], data=kon)
        return {
            "beta": _floats(fit.beta),
            "se": _floats(fit.se),
            "sigma2": _floats(fit.sigma2),
            "loglik": _floats(fit.loglik),
        }

    return run


@case("meta mantel_haenszel OR (BCG)", "metafor::rma.mh")
def _mh(d: Data):
    b = d.bcg

    def run():
        r = mt.meta.mantel_haenszel(b.tpos, b.tneg, b.cpos, b.cneg)
        return {"est": _floats([r["estimate"], r["se"]]), "Q": _floats(r["Q"])}

    return run


@case("meta peto (BCG)", "metafor::rma.peto")
def _peto(d: Data):
    b = d.bcg

    def run():
        r = mt.meta.peto(b.tpos, b.tneg, b.cpos, b.cneg)
        return {"est": _floats([r["estimate"], r["se"]]), "Q": _floats(r["Q"])}

    return run


def _reml_fit(d: Data):
    es = d.bcg_es
    return mt.meta.rma(es.yi, es.vi)


@case("meta egger (fit given)", "metafor::regtest")
def _egger(d: Data):
    fit = _reml_fit(d)

    def run():
        r = mt.meta.egger(fit)
        return {"z": _floats(r["statistic"]), "p": _floats(r["p_value"])}

    return run


@case("meta trimfill (fit given)", "metafor::trimfill")
def _trimfill(d: Data):
    fit = _reml_fit(d)

    def run():
        r = mt.meta.trimfill(fit)
        return {"k0": _floats(r["k0"]), "est": _floats([r["estimate"], r["se"], r["tau2"]])}

    return run


@case("meta leave_one_out (fit given)", "metafor::leave1out")
def _l1o(d: Data):
    fit = _reml_fit(d)

    def run():
        r = mt.meta.leave_one_out(fit)
        return {"estimate": _floats(r.estimate), "se": _floats(r.se), "tau2": _floats(r.tau2)}

    return run


@case("meta influence (fit given)", "metafor::influence")
def _influence(d: Data):
    fit = _reml_fit(d)

    def run():
        r = mt.meta.influence(fit)
        return {"rstudent": _floats(r.rstudent), "cook_d": _floats(r.cook_d), "hat": _floats(r.hat)}

    return run


# ---------------------------------------------------------------------------------------------
# timing, R, comparison, table
# ---------------------------------------------------------------------------------------------
def timed(run: Callable[[], dict], quick: bool = False) -> tuple[float, dict]:
    """(median seconds per call, numbers): repeats so that a batch lasts >= MIN_BATCH."""
    start = time.perf_counter()
    numbers = run()
    first = time.perf_counter() - start
    if quick:
        return first, numbers
    repeats = max(1, math.ceil(MIN_BATCH / max(first, 1e-6)))
    per_call = []
    if first > 1.0:  # a slow case: the first call counts as one of the batches
        per_call.append(first)
    for _ in range(BATCHES - len(per_call)):
        start = time.perf_counter()
        for _ in range(repeats):
            run()
        per_call.append((time.perf_counter() - start) / repeats)
    return statistics.median(per_call), numbers


def run_ours(cases: list[Case], data: Data, quick: bool = False) -> dict:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. the singular pastes fit; the numbers are compared
        for c in cases:
            if c.build is None:
                continue
            out[c.name] = timed(c.build(data), quick)
    return out


def run_r(cases: list[Case], data: Data) -> tuple[dict | None, str]:
    """R's times and numbers from versus_r.R, or (None, why not)."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None, "R is missing (no Rscript on PATH): our side alone"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data.write(folder)
        out = folder / "r.json"
        names = [c.name for c in cases]
        (folder / "cases.txt").write_text("\n".join(names) + "\n")
        command = [
            rscript,
            str(HERE / "versus_r.R"),
            str(out),
            str(HERE.parent / "mixedtools" / "data"),
            str(folder),
        ]
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            return None, f"R failed ({proc.returncode}): {proc.stderr.strip()[-500:]}"
        return json.loads(out.read_text()), ""


def difference(ours: dict, theirs: dict, absolute: bool) -> float:
    """Largest difference over the compared numbers: relative (to R's) or absolute."""
    worst = 0.0
    for key, values in ours.items():
        a = np.asarray(values, dtype=float)
        b = np.asarray(theirs.get(key, []), dtype=float).ravel()
        if a.shape != b.shape:
            return math.inf
        d = np.abs(a - b)
        if not absolute:
            d = d / np.maximum(np.abs(b), 1e-12)
        worst = max(worst, float(np.max(d, initial=0.0)))
    return worst


def _ms(seconds: float | None) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "-"
    return f"{seconds * 1e3:.1f}" if seconds < 10 else f"{seconds:.1f} s"


def table(cases: list[Case], ours: dict, theirs: dict | None) -> pd.DataFrame:
    rows = []
    for c in cases:
        row = {
            "case": c.name,
            "R twin": c.twin,
            "R ms": "-",
            "ours ms": "-",
            "ours/R": "-",
            "max diff": "-",
            "tol": "-",
            "agree": "-",
        }
        if c.name in ours:
            row["ours ms"] = _ms(ours[c.name][0])
        r = (theirs or {}).get("cases", {}).get(c.name)
        if r is not None and c.name in ours:
            r_time = float(r["seconds"])
            row["R ms"] = _ms(r_time)
            row["ours/R"] = f"{ours[c.name][0] / r_time:.2f}"
            diff = difference(ours[c.name][1], r["numbers"], c.absolute)
            row["max diff"] = f"{diff:.1e}"
            row["tol"] = f"{c.tol:.0e}" + (" abs" if c.absolute else "")
            row["agree"] = "yes" if diff <= c.tol else "NO"
        elif r is not None and c.build is None:
            row["R ms"] = _ms(float(r["seconds"]))
        if c.note:
            row["agree"] = f"{row['agree']} ({c.note})" if row["agree"] != "-" else c.note
        rows.append(row)
    return pd.DataFrame(rows)


def topic(case: Case) -> str:
    """lmm, anova, panel or meta: R and Python run back to back topic by topic."""
    first = case.name.split()[0]
    if first in ("anova", "panel", "meta"):
        return first
    return "panel" if "PanelOLS" in case.name else "lmm"


def run_both(cases: list[Case], data: Data) -> tuple[dict | None, dict]:
    """R's and our times, one topic after the other (R first), so that both sides of a row are
    measured minutes apart at most on a machine whose load changes."""
    theirs: dict | None = {"cases": {}}
    ours: dict = {}
    for name in dict.fromkeys(topic(c) for c in cases):
        group = [c for c in cases if topic(c) == name]
        if theirs is not None:
            r, why = run_r(group, data)
            if r is None:
                print(why)
                theirs = None
            else:
                if "machine" not in theirs:
                    theirs["machine"] = r.get("machine", "")
                    print(f"R: {theirs['machine']}")
                theirs["cases"].update(r.get("cases", {}))
        ours.update(run_ours(group, data))
    return theirs, ours


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("words", nargs="*", help="run only cases whose name contains a word")
    parser.add_argument("--no-r", action="store_true", help="our side only")
    parser.add_argument("--quick", action="store_true", help="each case once, without R")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.words or any(w in c.name for w in args.words)]
    data = Data()
    print(describe())
    if args.no_r or args.quick:
        print("R not run (--no-r / --quick): our side alone")
        theirs, ours = None, run_ours(cases, data, quick=args.quick)
    else:
        theirs, ours = run_both(cases, data)
    result = table(cases, ours, theirs)
    if theirs is None:
        result = result[["case", "R twin", "ours ms", "agree"]]
    with pd.option_context("display.max_colwidth", 60, "display.width", 250):
        print(result.to_string(index=False))
    print(f"after the run: {describe()}")
    return result


if __name__ == "__main__":
    main()
