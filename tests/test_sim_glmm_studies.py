"""mt.sim.glmm_studies: the simulator and the two GLMM simulation studies of chapter 8."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import statsmodels.api as sm

import mixedtools as mt

bc = mt.sim.glmm_studies


def test_simulator_shapes_seed_and_level2_coding():
    a = bc.binary_clusters(10, 4, seed=3)
    b = bc.binary_clusters(10, 4, seed=3)
    assert a.equals(b) and len(a) == 40
    assert sorted(a["w"].unique()) == [-0.5, 0.5]
    assert (a.groupby("group")["w"].nunique() == 1).all()
    assert (a.groupby("group")["u"].nunique() == 1).all()
    sizes = bc.binary_clusters(50, (2, 5), seed=1).groupby("group").size()
    assert sizes.min() >= 2 and sizes.max() <= 5 and sizes.nunique() > 1


def test_simulator_draws_from_the_logistic_model():
    # no random effect: a logistic regression recovers the coefficients
    d = bc.binary_clusters(400, 50, intercept=-0.5, slope=1.0, level2_effect=0.8, tau00=0, seed=7)
    fit = sm.GLM(d["y"], sm.add_constant(d[["x", "w"]]), family=sm.families.Binomial()).fit()
    assert fit.params.to_numpy() == pytest.approx([-0.5, 1.0, 0.8], abs=4 * fit.bse.max())
    # the random intercepts have variance tau00
    d = bc.binary_clusters(4000, 1, tau00=2.0, seed=8)
    assert d["u"].var() == pytest.approx(2.0, rel=0.1)


@pytest.mark.parametrize(
    "kwargs", [{"n_groups": 1, "group_size": 3}, {"n_groups": 5, "group_size": (3, 2)},
               {"n_groups": 5, "group_size": 3, "tau00": -1}],
)  # fmt: skip
def test_simulator_refuses_impossible_designs(kwargs):
    with pytest.raises(ValueError):
        bc.binary_clusters(**kwargs)


def test_quadrature_study_matches_single_fits_and_any_executor():
    out = bc.quadrature_study(3, n_groups=20, nagq=(1, 9), seed=11, progress=False)
    assert out.attrs["truth"] == {"intercept": 0.0, "slope": 1.0, "tau00": 2.0}
    d = bc.binary_clusters(20, (2, 5), slope=1.0, tau00=2.0, seed=12)
    fit = mt.glmer("y ~ x + (1 | group)", d, nagq=9)
    row = out[(out["seed"] == 12) & (out["nagq"] == 9)].iloc[0]
    assert row["slope"] == pytest.approx(fit.fixef["x"])
    assert row["tau00"] == pytest.approx(fit.varcorr["vcov"].iloc[0])
    with ThreadPoolExecutor(2) as pool:
        again = bc.quadrature_study(
            3, n_groups=20, nagq=(1, 9), seed=11, executor=pool, progress=False
        )
    assert np.allclose(out.to_numpy(), again.to_numpy(), equal_nan=True)


def test_icc_scale_study_matches_single_fits_and_any_executor():
    out = bc.icc_scale_study(
        3, intercepts=(0.0, -2.0), n_groups=40, group_size=10, seed=31, progress=False
    )
    assert out.attrs["truth"] == pytest.approx(1 / (1 + np.pi**2 / 3))
    assert out.groupby("intercept").size().to_dict() == {-2.0: 3, 0.0: 3}
    d = bc.binary_clusters(40, 10, intercept=-2.0, tau00=1.0, seed=32)
    row = out[(out["seed"] == 32) & (out["intercept"] == -2.0)].iloc[0]
    assert row["share"] == pytest.approx(d["y"].mean())
    assert row["latent_icc"] == pytest.approx(mt.glmer("y ~ 1 + (1 | group)", d).icc()["adjusted"])
    assert row["linear_icc"] == pytest.approx(mt.lmer("y ~ 1 + (1 | group)", d).icc())
    with ThreadPoolExecutor(2) as pool:
        again = bc.icc_scale_study(
            3, intercepts=(0.0, -2.0), n_groups=40, group_size=10, seed=31,
            executor=pool, progress=False,
        )  # fmt: skip
    assert np.allclose(out.to_numpy(), again.to_numpy(), equal_nan=True)
    with pytest.raises(ValueError, match="n_reps"):
        bc.icc_scale_study(0)


def test_rejection_study_p_values_agree_with_the_fits():
    out = bc.glmm_rejection_study(2, n_groups=8, group_size=15, seed=21, progress=False)
    d = bc.binary_clusters(8, 15, slope=0.5, tau00=1.0, seed=22)
    full = mt.glmer("y ~ x + w + (1 | group)", d)
    reduced = mt.glmer("y ~ x + (1 | group)", d)
    row = out.set_index("seed").loc[22]
    assert row["p_wald"] == pytest.approx(full.coef_table().loc["w", "p_value"])
    # the LRT of w is mt.lrt's
    assert row["p_lrt"] == pytest.approx(mt.lrt(reduced, full).loc["full", "p_value"], rel=1e-6)
    assert 0 <= row["p_tau"] <= 0.5 or row["p_tau"] == 1.0


def test_rejection_study_validates_n_reps():
    with pytest.raises(ValueError):
        bc.glmm_rejection_study(0)
    with pytest.raises(ValueError):
        bc.quadrature_study(1.5)
