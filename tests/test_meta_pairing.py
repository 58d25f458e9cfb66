"""How mt.meta pairs the studies of its per-study arguments: pandas objects by label, arrays by
position, and an array next to a pandas object only when that object has the default index
0, 1, ..., k-1 in order (mixedtools/meta/_pairing.py). No input is paired by position with a
Series that was sorted, filtered or shuffled on its own.
"""

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt

BCG = mt.datasets.load("bcg")
ES = mt.meta.escalc("RR", ai=BCG.tpos, bi=BCG.tneg, ci=BCG.cpos, di=BCG.cneg)
RIGHT = mt.meta.rma(ES.yi.to_numpy(), ES.vi.to_numpy(), mods=BCG[["ablat"]].to_numpy())
ORDER = np.random.default_rng(3).permutation(len(BCG))


def shuffled(x):
    return x.iloc[ORDER]


def test_array_next_to_a_shuffled_series_is_refused_not_paired_by_position():
    with pytest.raises(ValueError, match="yi is an array, paired by position, but vi"):
        mt.meta.rma(ES.yi.to_numpy(), shuffled(ES.vi))
    with pytest.raises(ValueError, match="mods is an array"):
        mt.meta.rma(shuffled(ES.yi), shuffled(ES.vi), mods=BCG.ablat.to_numpy())
    # a filtered table: its index is not 0..k-1, so an array of it is not paired by position
    kept = ES[BCG.ablat > 20]
    with pytest.raises(ValueError, match="at position 4 it has the label 5"):
        mt.meta.rma(kept.yi, kept.vi.to_numpy())


def test_series_are_paired_by_label_in_any_order():
    fit = mt.meta.rma(ES.yi, shuffled(ES.vi), mods=shuffled(BCG[["ablat"]]))
    np.testing.assert_allclose(fit.beta, RIGHT.beta, rtol=1e-10)
    assert fit.labels.equals(ES.index)
    # a formula's moderators come from the rows of data, which are paired by label too
    fit = mt.meta.rma(shuffled(ES.yi), ES.vi, mods="~ ablat", data=shuffled(BCG))
    np.testing.assert_allclose(fit.beta, RIGHT.beta, rtol=1e-10)
    # a filtered table keeps its labels through escalc, so its rows pair with the table's
    sub = BCG[BCG.ablat > 20]
    es = mt.meta.escalc("RR", ai=sub.tpos, bi=sub.tneg, ci=sub.cpos, di=sub.cneg)
    assert es.index.equals(sub.index)
    fit = mt.meta.rma(es.yi, es.vi, mods="ablat", data=sub)
    reference = mt.meta.rma(es.yi.to_numpy(), es.vi.to_numpy(), mods=sub[["ablat"]].to_numpy())
    np.testing.assert_allclose(fit.beta, reference.beta, rtol=1e-10)


def test_series_with_other_labels_or_duplicated_labels_are_refused():
    yi = pd.Series([0.1, 0.2, 0.4], index=[5, 9, 2])
    with pytest.raises(ValueError, match=r"different index labels \(1 label\(s\) only in vi: 7"):
        mt.meta.rma(yi, pd.Series([0.01, 0.02, 0.03], index=[2, 5, 7]))
    twice = pd.Series([0.1, 0.2, 0.4], index=[5, 5, 2])
    with pytest.raises(ValueError, match="duplicated index labels"):
        mt.meta.rma(twice, pd.Series([0.01, 0.02, 0.03], index=[2, 5, 5]))
    # the same labels in another order: paired by label
    vi = pd.Series([0.03, 0.01, 0.02], index=[2, 5, 9])
    aligned = mt.meta.rma(yi, vi)
    reference = mt.meta.rma(yi.to_numpy(), vi.reindex(yi.index).to_numpy())
    assert aligned.estimate == pytest.approx(reference.estimate, rel=1e-12)


def test_default_index_and_arrays_still_pair_by_position():
    fit = mt.meta.rma(ES.yi, ES.vi.to_numpy(), mods=BCG.ablat.to_numpy())
    np.testing.assert_allclose(fit.beta, RIGHT.beta, rtol=1e-10)
    assert mt.meta.rma(ES.yi.to_numpy(), ES.vi.to_numpy()).labels is None


def test_escalc_and_the_two_by_two_functions_pair_their_cells_by_label():
    cells = dict(ai=BCG.tpos, bi=BCG.tneg, ci=BCG.cpos, di=BCG.cneg)
    mixed = dict(cells, ci=shuffled(BCG.cpos))
    es = mt.meta.escalc("RR", **mixed)
    np.testing.assert_allclose(es.yi, ES.yi, rtol=1e-12)
    # arrays pair with the positions of the Series of default index, the shuffled one by label
    arrays = dict(ai=BCG.tpos.to_numpy(), bi=BCG.tneg.to_numpy(), di=BCG.cneg.to_numpy())
    es = mt.meta.escalc("RR", **dict(mixed, **{"ai": arrays["ai"]}))
    np.testing.assert_allclose(es.yi, ES.yi, rtol=1e-12)
    with pytest.raises(ValueError, match="ai is an array, paired by position, but ci"):
        mt.meta.escalc("RR", ci=shuffled(BCG.cpos), **arrays)
    for function, field in (
        (mt.meta.mantel_haenszel, "estimate"),
        (mt.meta.peto, "estimate"),
        (mt.meta.peters, "statistic"),
    ):
        right = function(*cells.values())[field]
        assert function(*mixed.values())[field] == pytest.approx(right, rel=1e-12)


def test_bias_and_robust_tools_pair_by_label():
    right = mt.meta.pet_peese(ES.yi, ES.vi)
    paired = mt.meta.pet_peese(ES.yi, shuffled(ES.vi))
    np.testing.assert_allclose(paired.estimate, right.estimate, rtol=1e-12)
    n = BCG[["tpos", "tneg", "cpos", "cneg"]].sum(axis=1)
    fit = mt.meta.rma(ES.yi, ES.vi)
    right = mt.meta.regtest(fit, predictor="ninv", ni=n)
    assert mt.meta.regtest(fit, predictor="ninv", ni=shuffled(n)).statistic == pytest.approx(
        right.statistic, rel=1e-12
    )
    with pytest.raises(ValueError, match="ni is an array"):
        mt.meta.regtest(mt.meta.rma(shuffled(ES.yi), shuffled(ES.vi)), "rma", "ninv", n.to_numpy())


def test_multilevel_inputs_pair_by_label():
    ass = mt.datasets.load("assink2016")
    order = np.random.default_rng(5).permutation(len(ass))
    random = ass[["study", "esid"]]
    right = mt.meta.rma_mv(ass.yi, ass.vi, random=random)
    paired = mt.meta.rma_mv(ass.yi, ass.vi.iloc[order], random=random.iloc[order])
    np.testing.assert_allclose(paired.sigma2, right.sigma2, rtol=1e-8)
    with pytest.raises(ValueError, match="random"):
        mt.meta.rma_mv(ass.yi.to_numpy(), ass.vi.to_numpy(), random=random.iloc[order])
    robust = mt.meta.robust(mt.meta.rma(ass.yi, ass.vi), cluster=ass.study.iloc[order])
    right_robust = mt.meta.robust(mt.meta.rma(ass.yi, ass.vi), cluster=ass.study)
    assert robust.se == pytest.approx(right_robust.se, rel=1e-12)
    # vcalc pairs its inputs, and rma_mv pairs a labelled V with the effect sizes
    V = mt.meta.vcalc(ass.vi, ass.study.iloc[order], obs=ass.esid, rho=0.6)
    np.testing.assert_allclose(V, mt.meta.vcalc(ass.vi, ass.study, obs=ass.esid, rho=0.6))
    V = pd.DataFrame(V, index=ass.index, columns=ass.index)
    che = mt.meta.rma_mv(ass.yi, V.iloc[order, order], random=random)
    right_che = mt.meta.rma_mv(ass.yi, V.to_numpy(), random=random)
    np.testing.assert_allclose(che.sigma2, right_che.sigma2, rtol=1e-8)


def test_vcalc_of_a_filtered_table_pairs_with_its_effect_sizes():
    # the CHE workflow on a subset: V carries the subset's labels, so rma_mv pairs it by label
    ass = mt.datasets.load("assink2016")
    sub = ass[ass["study"] > 3]
    V = mt.meta.vcalc(sub.vi, sub.study, obs=sub.esid, rho=0.6)
    assert isinstance(V, pd.DataFrame) and V.index.equals(sub.index)
    fit = mt.meta.rma_mv(sub.yi, V, random=sub[["study", "esid"]])
    flat = sub.reset_index(drop=True)
    V_flat = mt.meta.vcalc(flat.vi.to_numpy(), flat.study.to_numpy(), flat.esid.to_numpy(), 0.6)
    right = mt.meta.rma_mv(flat.yi, V_flat, random=flat[["study", "esid"]])
    np.testing.assert_allclose(fit.sigma2, right.sigma2, rtol=1e-8)
    with pytest.raises(ValueError, match="vi is an array, paired by position, but yi"):
        mt.meta.rma_mv(sub.yi, V_flat, random=sub[["study", "esid"]])
