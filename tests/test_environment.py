"""pyproject.toml declares ranges; requirements-lock.txt and environment.yml (Binder) pin them.

A reader who runs ``pip install mixedtools`` gets the ranges, so the package fits into an existing
environment; ``make``, CI and Binder install the exact versions of the lock file, with which the
book's numbers were computed. These tests keep the three files consistent.
"""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _exact_pins(specs):
    pins = {}
    for spec in specs:
        req = Requirement(spec)
        (specifier,) = req.specifier
        assert specifier.operator == "==", f"{spec} is not pinned exactly"
        pins[canonicalize_name(req.name)] = specifier.version
    return pins


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _declared(*extras):
    project = _project()
    specs = list(project["dependencies"])
    for extra in extras:
        specs += project["optional-dependencies"][extra]
    return [Requirement(s) for s in specs]


def _lock():
    return _exact_pins(
        line
        for line in (ROOT / "requirements-lock.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )


def test_pyproject_declares_ranges_not_exact_pins():
    for req in _declared("book", "test", "dask"):
        operators = {s.operator for s in req.specifier}
        assert operators, f"{req.name}: declare the supported range (e.g. >=x,<y)"
        assert not operators & {"==", "==="}, (
            f"{req}: an exact pin in pyproject.toml would force it on every user of the package; "
            "pin it in requirements-lock.txt instead"
        )


def test_lock_file_pins_a_version_inside_every_declared_range():
    locked = _lock()
    for req in _declared("book", "test", "dask"):
        name = canonicalize_name(req.name)
        assert name in locked, f"{name} is declared in pyproject.toml but not locked"
        assert req.specifier.contains(locked[name], prereleases=True), (
            f"{name}: lock {locked[name]} is outside pyproject's {req.specifier}"
        )


def test_environment_yml_uses_the_lock_file_pins():
    locked = _lock()
    expected = {
        canonicalize_name(r.name): locked[canonicalize_name(r.name)]
        for r in _declared("book", "dask")
    }
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    assert "python=3.11" in env["dependencies"]
    (pip_section,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert "-e ." in pip_section
    assert _exact_pins([s for s in pip_section if s != "-e ."]) == expected


def test_the_test_extra_pulls_in_the_dask_extra():
    # CI installs ".[book,test]": the executor tests need the cluster the dask extra provides
    names = {canonicalize_name(r.name) for r in _declared("test")}
    assert {canonicalize_name(r.name) for r in _declared("dask")} <= names


def test_lock_file_is_complete():
    # every requirement of every locked package is locked too (a pip-freeze set; like pip freeze,
    # the lock leaves out the installer's own packages)
    from importlib.metadata import PackageNotFoundError, distribution

    locked = _lock() | dict.fromkeys(("pip", "setuptools", "wheel"), "")
    missing = []
    for name in locked:
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue  # not installed here: nothing to check
        for spec in requires:
            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            if canonicalize_name(req.name) not in locked:
                missing.append(f"{name} needs {req.name}")
    assert missing == []
