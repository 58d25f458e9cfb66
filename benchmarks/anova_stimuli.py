"""Replications per second of chapter 5's subjects x items simulation (not run by the tests).

Usage, from the repository root:  python benchmarks/anova_stimuli.py [N]
Prints the machine (CPUs, BLAS threads, load), then

* the closed-form analyses of mt.stimuli.rejection_rates (F1, F2, min F' and the crossed
  random-intercept model) for 10,000 simulated experiments of 24 subjects x 16 items;
* mt.lmer fits with Satterthwaite tests of the three crossed models of the chapter on one such
  experiment (median of 5 fits each);
* with N given: the type I error rate (and Monte Carlo SE) of the crossed models with
  condition slopes over N simulated experiments of the chapter's scenario (d), fitted one by one
  with mt.lmer (N = 500 keeps the Monte Carlo SE of a 5% rate under 1 percentage point).

benchmarks/anova_stimuli_lme4.R times lme4 + lmerTest on the same models and design. The figures
are what the scripts print on the machine at hand; none is stated here.
"""

import statistics
import sys
import time
import warnings

from machine import describe

import mixedtools as mt

DESIGN = dict(n_subjects=24, n_items=16, sd_subject=0.5, sd_item=0.5, sd_residual=1.0)
MODELS = [
    "y ~ cond + (1 | subject) + (1 | item)",
    "y ~ cond + (1 + cond || subject) + (1 | item)",
    "y ~ cond + (1 + cond || subject) + (1 + cond || item)",
    "y ~ cond + (1 + cond | subject) + (1 + cond | item)",
]

if __name__ == "__main__":
    print(describe())
    times = []
    for seed in range(3):
        start = time.perf_counter()
        mt.stimuli.rejection_rates(10_000, seed=seed, sd_item_slope=0.5, **DESIGN)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    print(
        f"closed form, 10,000 experiments x 4 analyses: {seconds:.2f} s "
        f"({10_000 / seconds:,.0f} replications per second)"
    )
    data = mt.stimuli.latin_square(**DESIGN, sd_item_slope=0.5, seed=7)
    for formula in MODELS:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mt.lmer(formula, data).coef_table(ddf="satterthwaite")
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        print(f"mt.lmer {formula:<55} {seconds:6.3f} s per fit ({1 / seconds:6.2f} per second)")
    if len(sys.argv) > 1:
        n_reps = int(sys.argv[1])
        scenario_d = dict(DESIGN, sd_item_slope=0.5, sd_subject_slope=0.5)
        for formula in MODELS[1:3]:
            out = mt.stimuli.lmer_rejection_rate(formula, n_reps, seed=1000, **scenario_d)
            print(
                f"scenario (d), {formula}: type I error {100 * out['rate']:.1f}% "
                f"(MC SE {100 * out['mc_se']:.1f}), {int(out['n_singular'])} singular, "
                f"{int(out['n_failed'])} failed, {n_reps / out['seconds']:.1f} replications/s"
            )
