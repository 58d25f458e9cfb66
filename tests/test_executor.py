"""Every simulation study gives the same numbers, bit for bit, wherever its tasks run.

Each study is run serially (one process), on two local processes and on a two-worker Dask
cluster (``Client(...).get_executor()``); the tables must be equal exactly. Seeds belong to the
tasks, tasks have a fixed size and results are gathered in task order, so nothing may depend on
the number of workers or on the order in which tasks finish.
"""

import logging
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt
from mixedtools._threads import run_parallel
from mixedtools.lmm import bootstrap
from mixedtools.sim import hierarchical, level2, power_study, rejection, stimuli

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_executor():
    """A two-worker local Dask cluster (separate processes, one thread each)."""
    import dask

    # generous timeouts: a busy CI machine can starve the scheduler's event loop for a while
    timeouts = {
        "distributed.comm.timeouts.connect": "120s",
        "distributed.comm.timeouts.tcp": "600s",
    }
    with (
        dask.config.set(timeouts),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: other clusters may run on this machine
            silence_logs=logging.ERROR,
        ) as cluster,
    ):
        with distributed.Client(cluster) as client:
            yield client.get_executor()


@pytest.fixture(scope="module")
def sleep_fits():
    sleep = mt.datasets.load("sleepstudy")
    m0 = mt.lmer("reaction ~ days + (1 | subject)", sleep)
    m1 = mt.lmer("reaction ~ days + (days | subject)", sleep)
    return m0, m1


def _equal(a, b):
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    else:
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def _three_ways(study, dask_executor, **kwargs):
    """The study serially, on 2 local processes and on the Dask cluster: all equal."""
    serial = study(**kwargs, max_workers=1)
    local = study(**kwargs, max_workers=2)
    dask = study(**kwargs, executor=dask_executor)
    _equal(serial, local)
    _equal(serial, dask)
    return serial, dask


def test_power(dask_executor):
    kwargs = dict(n_groups=(6, 8), group_size=4, n_reps=30, seed=5)
    serial, _ = _three_ways(power_study.power, dask_executor, **kwargs)
    assert serial["n_failed"].sum() < len(serial) * 30  # the study fitted models


def test_bootstrap_lrt(dask_executor, sleep_fits):
    m0, m1 = sleep_fits
    serial, dask = _three_ways(
        bootstrap.bootstrap_lrt, dask_executor, reduced=m0, full=m1, n_boot=30, seed=1
    )
    np.testing.assert_array_equal(serial.attrs["null_statistics"], dask.attrs["null_statistics"])
    assert serial["n_boot"] == 30


def test_bootstrap_varcorr(dask_executor, sleep_fits):
    _three_ways(bootstrap.bootstrap_varcorr, dask_executor, fit=sleep_fits[1], n_boot=30, seed=3)


def test_fixed_vs_random(dask_executor):
    kwargs = dict(n_groups=8, group_size=5, icc=(0.0, 0.2), n_reps=60, seed=1)
    _three_ways(rejection.fixed_vs_random, dask_executor, **kwargs)


def test_cross_level_null(dask_executor):
    kwargs = dict(
        group_sizes=[6, 9, 12, 15, 8, 10], n_reps=60, methods=["hlm", "satterthwaite"], seed=2
    )
    _three_ways(rejection.cross_level_null, dask_executor, **kwargs)


@pytest.mark.parametrize("study", [rejection.level2_null, hierarchical.level2_rejection_rates])
def test_level2_studies(dask_executor, study):
    kwargs = dict(group_sizes=[4, 8, 12, 16, 20], n_reps=60, reml=(True, False), seed=7)
    _three_ways(study, dask_executor, **kwargs, methods=["hlm", "satterthwaite", "kenward-roger"])


def test_lmer_rejection_rate(dask_executor):
    def study(**kwargs):
        out = stimuli.lmer_rejection_rate(
            "y ~ cond + (1 | subject) + (1 | item)", 30, n_subjects=8, n_items=8, seed=4, **kwargs
        )
        return out.drop("seconds")  # wall time

    _three_ways(study, dask_executor)


@pytest.mark.parametrize(
    "study",
    [
        lambda **kw: stimuli.rejection_rates(300, n_subjects=8, n_items=8, seed=6, **kw),
        lambda **kw: level2.level2_type1_error(10, 5, icc=(0.0, 0.3), n_reps=300, seed=2, **kw),
    ],
    ids=["stimuli.rejection_rates", "level2_type1_error"],
)
def test_single_stream_studies(dask_executor, study):
    # vectorised studies drawn from one random stream run as one task, here or elsewhere
    _equal(study(), study(executor=dask_executor))
    with ThreadPoolExecutor(2) as pool:
        _equal(study(), study(executor=pool))


def test_run_parallel_keeps_task_order_and_rejects_mixed_settings(dask_executor):
    tasks = list(range(-20, 0))
    assert run_parallel(abs, tasks, executor=dask_executor) == [abs(t) for t in tasks]
    with pytest.raises(ValueError, match="not both"):
        run_parallel(abs, tasks, max_workers=2, executor=dask_executor)
    with pytest.raises(TypeError, match="get_executor"):
        run_parallel(abs, tasks, executor=object())


def test_a_failing_task_stops_the_study(dask_executor):
    with pytest.raises(ValueError, match="math domain error"):
        run_parallel(math.sqrt, [4.0, -1.0, 9.0], executor=dask_executor)
