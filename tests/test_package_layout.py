"""The package's house rules: no import cycles, and every layer imports downwards only.

The imports are read from the source (every ``import`` statement, at module level or inside a
function), so a lazy import that closes a cycle is caught as well.
"""

import ast
from pathlib import Path

import pytest

import mixedtools as mt

PACKAGE = Path(mt.__file__).parent

# What each subpackage may import of mixedtools, besides itself and the base modules.
BASE = {
    "mixedtools._threads",
    "mixedtools._progress",
    "mixedtools._warnings",
    "mixedtools._sandwich",  # CR2 linear algebra shared by meta and panel
    "mixedtools.report",
    "mixedtools.datasets",
    "mixedtools.rformula",  # the formula front-end of lmm, meta and panel
}
ALLOWED = {
    "lmm": set(),
    "anova": set(),
    "panel": set(),
    "meta": set(),
    "sim": {"lmm"},
    "plots": {"lmm", "meta", "sim"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The module that ``name`` refers to (a module, or the package or module defining it)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text())
    is_package = MODULES[module].name == "__init__.py"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.startswith("mixedtools"):
                target = _resolve(name)
                if target and target != module:
                    found.add(target)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return components


def test_the_graph_sees_the_imports_it_should():
    # guards the test itself: a walk that found nothing would pass every rule below
    assert "mixedtools.lmm" in GRAPH["mixedtools"]
    assert "mixedtools.lmm.fit" in GRAPH["mixedtools.lmm"]
    assert "mixedtools.lmm.reml" in GRAPH["mixedtools.lmm.fit"]
    assert "mixedtools.meta.univariate" in GRAPH["mixedtools.meta.multilevel"]


def test_no_import_cycles():
    assert _cycles() == []


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_downwards_only(layer):
    wrong = []
    for module, targets in GRAPH.items():
        if _layer(module) != layer:
            continue
        for target in targets:
            other = _layer(target)
            if target in BASE or other == layer or other in ALLOWED[layer]:
                continue
            wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_the_base_modules_import_no_topic():
    for module in BASE:
        assert {t for t in GRAPH[module] if _layer(t)} == set(), module


def test_the_public_names_keep_working():
    assert mt.lmer is mt.lmm.lmer and mt.lrt is mt.lmm.lrt
    assert mt.simulate.power is mt.sim.power_study.power
    assert mt.dfdata.two_level is mt.sim.hierarchical.two_level
    assert mt.diagnostics.breusch_pagan is mt.plots.regression.breusch_pagan
    assert mt.plots.forest is mt.meta.plots.forest
    for name in ("reml", "pls", "ddf", "bootstrap", "explained", "covstruct"):
        assert getattr(mt, name) is getattr(mt.lmm, name)
    for name in ("rejection", "stimuli"):
        assert getattr(mt, name) is getattr(mt.sim, name)
