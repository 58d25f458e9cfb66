"""One engine protocol: both covariance structures answer it, and nothing else asks which one.

The optimiser, the Newton polish, the result, the df methods, the bootstrap and the simulations
talk to :class:`mixedtools.lmm.engine.EngineProtocol` only; a test below reads their source and
fails if a check of the structure's type (``isinstance(s, PLSStructure)``, ``_is_pls(s)``) comes
back.
"""

import ast
from pathlib import Path

import numpy as np
import pytest

import mixedtools as mt
from mixedtools.lmm.engine import EngineProtocol, LMMQuantities
from mixedtools.lmm.optimize import fit_structure, neutral_start
from mixedtools.lmm.pls import PLSStructure, PLSTerm
from mixedtools.lmm.reml import LMMStructure

PACKAGE = Path(mt.__file__).parent
STRUCTURES = {PACKAGE / "lmm" / "reml.py", PACKAGE / "lmm" / "pls.py"}
STRUCTURE_NAMES = {"PLSStructure", "LMMStructure", "PLSTerm"}
# what talks to the protocol only: no import of a structure's module at all
PROTOCOL_ONLY = [
    "optimize",
    "polish",
    "results",
    "mixed_result",
    "result_text",
    "bootstrap",
    "likelihood_ratio",
    "engine",
]


def _blockwise():
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(12), 5)
    x = rng.normal(size=60)
    y = 1 + x + rng.normal(size=12)[g] + rng.normal(size=60)
    X = np.column_stack([np.ones(60), x])
    return LMMStructure(y=y, X=X, groups=g, Z=np.ones((60, 1)))


def _crossed():
    rng = np.random.default_rng(5)
    a, b = np.repeat(np.arange(8), 6), np.tile(np.arange(6), 8)
    y = rng.normal(size=8)[a] + rng.normal(size=6)[b] + rng.normal(size=48)
    terms = [
        PLSTerm("a", a, np.arange(8), np.ones((48, 1)), ("Intercept",)),
        PLSTerm("b", b, np.arange(6), np.ones((48, 1)), ("Intercept",)),
    ]
    return PLSStructure(y, np.ones((48, 1)), terms)


@pytest.mark.parametrize("make", [_blockwise, _crossed])
def test_both_structures_satisfy_the_protocol_and_fit_through_it(make):
    structure = make()
    assert isinstance(structure, EngineProtocol)
    tau = fit_structure(structure, reml=True)
    qty = structure.quantities(tau, True)
    assert isinstance(qty, LMMQuantities)
    assert qty.loglik == pytest.approx(structure.log_likelihood(tau, True), abs=1e-10)
    theta = structure.theta_from_tau(tau)
    # the deviance at theta is -2 x the log-likelihood at the profiled sigma^2
    sigma2 = structure.profiled_sigma2(theta, True)
    np.testing.assert_allclose(structure.tau_from_theta(theta, sigma2), tau, rtol=1e-8)
    assert structure.deviance(theta, True) == pytest.approx(-2 * qty.loglik, abs=1e-8)
    assert np.abs(qty.score[~structure.boundary_mask(tau)]).max() < 1e-4
    terms = structure.random_terms(tau)
    assert sum(t.G.shape[0] for t in terms) >= 1
    modes = structure.conditional_modes(tau, qty.beta)
    assert [m.group for m in modes] == [t.group for t in terms]
    y = structure.simulate(qty.beta, tau, np.random.default_rng(0))
    again = structure.with_response(y)
    assert isinstance(again, EngineProtocol) and np.array_equal(again.y, y)
    assert neutral_start(structure)[-1] > 0


def test_an_lmer_fit_goes_through_each_structure():
    sleep = mt.datasets.load("sleepstudy")
    blockwise = mt.lmer("reaction ~ days + (days | subject)", sleep)
    pen = mt.datasets.load("penicillin")
    crossed = mt.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", pen)
    assert type(blockwise.structure).__name__ == "LMMStructure"
    assert type(crossed.structure).__name__ == "PLSStructure"
    for fit in (blockwise, crossed):
        assert isinstance(fit.structure, EngineProtocol)
        assert fit.converged
    assert crossed.loglik == pytest.approx(-165.4303, abs=1e-4)  # lme4: REML criterion 330.86


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path not in STRUCTURES:
            yield path, ast.parse(path.read_text())


def _names(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def test_no_module_outside_the_structures_asks_which_structure_it_has():
    found = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in ("isinstance", "issubclass", "type"):
                    if _names(ast.Tuple(elts=node.args[1:], ctx=ast.Load())) & STRUCTURE_NAMES:
                        found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.Compare):  # type(s) is PLSStructure, ... == "PLSStructure"
                sides = [node.left, *node.comparators]
                strings = {
                    n.value for s in sides for n in ast.walk(s) if isinstance(n, ast.Constant)
                }
                if (_names(node) | {str(v) for v in strings}) & STRUCTURE_NAMES:
                    found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.Name | ast.Attribute):
                name = node.id if isinstance(node, ast.Name) else node.attr
                if name in ("_is_pls", "_general"):
                    found.append(f"{path.name}:{node.lineno} {name}")
    assert found == []


@pytest.mark.parametrize("module", PROTOCOL_ONLY)
def test_the_protocol_users_import_no_structure(module):
    tree = ast.parse((PACKAGE / "lmm" / f"{module}.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    assert not {m for m in imported if m.startswith(("mixedtools.lmm.pls", "mixedtools.lmm.reml"))}
    assert not {m.rpartition(".")[2] for m in imported} & (STRUCTURE_NAMES | {"pls", "reml"})


def test_the_result_splits_into_a_shared_base_and_the_linear_models_own():
    from mixedtools.lmm import result_text
    from mixedtools.lmm.mixed_result import MixedModelResult

    fit = mt.lmer("reaction ~ days + (days | subject)", mt.datasets.load("sleepstudy"))
    assert isinstance(fit, MixedModelResult)
    shared = ["fixef", "vcov", "ranef", "ranef_condvar", "varcorr", "ngroups", "loglik", "aic"]
    shared += ["bic", "deviance", "singular", "converged", "predict"]
    for name in shared:
        assert hasattr(fit, name), name
    # the printed forms come from the text module, the numbers from the result
    assert repr(fit) == result_text.fit_text(fit)
    assert "Random effects:" in fit.summary().text
    assert not hasattr(MixedModelResult, "summary") and not hasattr(MixedModelResult, "sigma")


def test_a_search_without_bounds_does_not_stop_where_a_variance_is_zero():
    # the deviance's derivative vanishes at a zero diagonal entry; an unbounded search can
    # stop next to it although the optimum lies elsewhere (found by the restart)
    eight = mt.dfdata.two_level(np.random.default_rng(48).integers(5, 15, size=8), seed=48)
    fit = mt.lmer("y ~ x + w + (1 | group)", eight)
    assert not fit.singular
    assert fit.tau[0] == pytest.approx(0.11549524, rel=1e-6)
    assert fit.refit(reml=False).tau[0] == pytest.approx(0.04677071, rel=1e-6)
