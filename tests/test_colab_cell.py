"""Every chapter notebook starts with the cell that makes it run in Colab.

The cell installs mixedtools from the book's repository (``repository.url`` in ``_config.yml``)
when the package is not importable, and does nothing otherwise. Its logic is tested here without
network: the IPython magic is replaced by a recorder.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
FIRST_LINE = (
    "# Colab or a fresh environment: install mixedtools from the book's repository if missing."
)


def _repository_url():
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def _first_code_cell(path):
    nb = json.loads(path.read_text())
    return next(c for c in nb["cells"] if c["cell_type"] == "code")


class _RecordingShell:
    """Stands in for IPython's shell: records line magics instead of running them."""

    def __init__(self):
        self.calls = []

    def run_line_magic(self, name, line, _stack_depth=1):
        self.calls.append((name, line))


def _run_cell(source, importable, monkeypatch):
    shell = _RecordingShell()
    real_find_spec = importlib.util.find_spec

    def fake_find_spec(name, *args, **kwargs):
        if name == "mixedtools":
            return real_find_spec("mixedtools") if importable else None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)
    code = TransformerManager().transform_cell(source)
    exec(compile(code, "<colab cell>", "exec"), {"get_ipython": lambda: shell})
    return shell.calls


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_the_colab_install_cell(path):
    cell = _first_code_cell(path)
    source = "".join(cell["source"])
    assert source.splitlines()[0] == FIRST_LINE
    assert "remove-cell" in cell["metadata"].get("tags", []), "hide the cell in the rendered page"
    assert cell["outputs"] == [], "the cell prints nothing when mixedtools is installed"
    urls = re.findall(r"git\+(https://\S+?)\"", source)
    assert urls == [_repository_url()], "install from the repository named in _config.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_cell_installs_only_when_mixedtools_is_missing(path, monkeypatch):
    source = "".join(_first_code_cell(path)["source"])
    assert _run_cell(source, importable=True, monkeypatch=monkeypatch) == []
    calls = _run_cell(source, importable=False, monkeypatch=monkeypatch)
    assert len(calls) == 1
    magic, line = calls[0]
    assert magic == "pip"
    assert line.startswith("install --quiet")
    assert f'"mixedtools @ git+{_repository_url()}"' in line
