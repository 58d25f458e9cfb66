"""One simulator per job in mixedtools.sim.

``mt.dfdata.level2_rejection_rates`` and ``mt.rejection.level2_null`` run the same simulator
(``hierarchical._level2_chunk``), started at lme4's neutral start or at the truth. The first
test proves that the shared simulator gives, bit for bit, the p-values of the loop that
``level2_rejection_rates`` used to run (one ``coef_table`` per df method), kept here as the
reference, so that no result of the book changed.
"""

import numpy as np
import pandas as pd
import pytest

from mixedtools.lmm.ddf import coef_table
from mixedtools.lmm.optimize import bounded_refit, maximize, neutral_start
from mixedtools.lmm.reml import LMMStructure
from mixedtools.sim import examples, hierarchical, power_study, rejection

METHODS = ("residual", "asymptotic", "hlm", "satterthwaite", "kenward-roger")


def _reference_p_values(sizes, w, seeds, reml, tau00):
    """The former loop of level2_rejection_rates: p-value of w per replicate, fit and df method."""
    out = np.full((len(seeds), len(reml), len(METHODS)), np.nan)
    for row, seed in enumerate(seeds):
        data = hierarchical.two_level(sizes, w, gamma01=0.0, tau00=tau00, seed=seed)
        ones = np.ones(len(data))
        structure = LMMStructure(
            y=data["y"].to_numpy(),
            X=np.column_stack([ones, data["x"], data["w"]]),
            groups=np.repeat(np.arange(len(sizes)), sizes),
            Z=ones[:, None],
            fe_names=("Intercept", "x", "w"),
        )
        for e, use_reml in enumerate(reml):
            start = bounded_refit(structure, neutral_start(structure), use_reml, False)
            tau = maximize(structure, start, reml=use_reml)
            for m, method in enumerate(METHODS):
                if method == "kenward-roger" and not use_reml:
                    continue
                table = coef_table((structure, tau, use_reml), ddf=method, polish=False)
                out[row, e, m] = table.loc["w", "p_value"]
    return out


@pytest.mark.parametrize(
    ("sizes", "w"),
    [([3, 8, 12, 20, 6, 9], None), ([5, 5, 9, 9, 14, 14], [0.0, 1.0, 0.0, 1.0, 0.0, 1.0])],
)
def test_shared_simulator_gives_the_former_p_values_bit_for_bit(sizes, w):
    sizes, seeds, reml = np.asarray(sizes), list(range(40, 52)), (True, False)
    w = None if w is None else np.asarray(w, float)
    task = (sizes, seeds, w, METHODS, reml, 0.5, "neutral")
    shared = hierarchical._level2_chunk(task)
    np.testing.assert_array_equal(shared, _reference_p_values(sizes, w, seeds, reml, 0.5))


def test_level2_rejection_rates_is_the_former_table():
    sizes, n_reps, alpha = [4, 6, 8, 10, 12], 12, 0.3
    p = _reference_p_values(np.asarray(sizes), None, list(range(n_reps)), (True, False), 0.5)
    rows = []
    for e, label in enumerate(("REML", "ML")):
        for m, method in enumerate(METHODS):
            if method == "kenward-roger" and label == "ML":
                continue
            k = int(np.sum(p[:, e, m] < alpha))
            rows.append(
                (label, method, k / n_reps, np.sqrt(max(k, 0.5) * (n_reps - k) / n_reps**3))
            )
    expected = pd.DataFrame(rows, columns=["estimation", "ddf", "rejection_rate", "mc_se"])
    got = hierarchical.level2_rejection_rates(
        sizes, n_reps=n_reps, reml=(True, False), alpha=alpha, seed=0
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_level2_null_fits_the_same_data_from_the_truth():
    # same seeds, same data, same model; only the optimiser's start differs
    sizes, seeds, reml = np.asarray([4, 8, 12, 16, 20]), list(range(8)), (True,)
    common = (sizes, seeds, None, ("satterthwaite",), reml, 0.5)
    neutral = hierarchical._level2_chunk((*common, "neutral"))
    truth = hierarchical._level2_chunk((*common, "truth"))
    np.testing.assert_allclose(truth, neutral, rtol=1e-4)
    assert rejection._level2_rates is hierarchical._level2_rates


def test_one_variance_check():
    assert hierarchical._check_variance is examples._check_variance
    assert power_study._check_variance is examples._check_variance
    with pytest.raises(ValueError, match="tau00 must be a finite, non-negative variance"):
        hierarchical.two_level([3, 3], tau00=-1.0)
