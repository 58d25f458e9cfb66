"""The pins in pyproject.toml, environment.yml (Binder) and requirements-lock.txt must agree."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _pins(specs):
    pins = {}
    for spec in specs:
        req = Requirement(spec)
        (specifier,) = req.specifier
        assert specifier.operator == "==", f"{spec} is not pinned exactly"
        pins[canonicalize_name(req.name)] = specifier.version
    return pins


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_environment_yml_matches_pyproject():
    project = _pyproject()
    expected = _pins(project["dependencies"] + project["optional-dependencies"]["book"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    assert "python=3.11" in env["dependencies"]
    (pip_section,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert "-e ." in pip_section
    assert _pins([s for s in pip_section if s != "-e ."]) == expected


def test_lock_file_agrees_with_pyproject():
    project = _pyproject()
    extras = project["optional-dependencies"]
    declared = _pins(project["dependencies"] + extras["book"] + extras["test"])
    locked = _pins(
        line
        for line in (ROOT / "requirements-lock.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    for name, version in declared.items():
        assert locked.get(name) == version, f"{name}: pyproject {version}, lock {locked.get(name)}"
