"""The rule that decides when a simulation study shows a progress bar (mixedtools._progress).

Bars are for a person watching: on at a terminal and in a notebook a person runs, off in CI and
wherever output is stored (pipes, files, notebooks executed by jupyter execute or nbval).
"""

import sys
import types

import pytest

from mixedtools import _progress
from mixedtools._progress import progress_bar, progress_enabled
from mixedtools._threads import run_parallel
from mixedtools.sim import power_study


class _Stream:
    def __init__(self, tty):
        self.tty = tty
        self.text = ""

    def isatty(self):
        return self.tty

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def _kernel(allow_stdin):
    """A stand-in for IPython with a Jupyter kernel whose current request has `allow_stdin`."""
    shell = types.SimpleNamespace(kernel=types.SimpleNamespace(_allow_stdin=allow_stdin))
    return types.SimpleNamespace(get_ipython=lambda: shell)


@pytest.fixture
def clean(monkeypatch):
    """No CI variable, no IPython, standard error not a terminal."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    monkeypatch.setattr(sys, "stderr", _Stream(tty=False))
    return monkeypatch


def test_explicit_choice_wins(clean):
    clean.setenv("CI", "true")
    assert progress_enabled(True) is True
    clean.delenv("CI")
    clean.setattr(sys, "stderr", _Stream(tty=True))
    assert progress_enabled(False) is False


def test_on_at_a_terminal_off_in_a_pipe(clean):
    assert progress_enabled() is False
    clean.setattr(sys, "stderr", _Stream(tty=True))
    assert progress_enabled() is True


@pytest.mark.parametrize(
    ("value", "shown"), [("true", False), ("1", False), ("yes", False), ("0", True), ("", True)]
)
def test_ci_turns_it_off(clean, value, shown):
    clean.setattr(sys, "stderr", _Stream(tty=True))
    clean.setenv("CI", value)
    assert progress_enabled() is shown


def test_notebook_run_by_a_person_but_not_by_nbval_or_jupyter_execute(clean):
    # JupyterLab, Notebook and VS Code send cells with allow_stdin=True; nbval, nbclient
    # (jupyter execute, nbconvert) and papermill with allow_stdin=False
    clean.setitem(sys.modules, "IPython", _kernel(allow_stdin=True))
    assert progress_enabled() is True
    clean.setitem(sys.modules, "IPython", _kernel(allow_stdin=False))
    assert progress_enabled() is False
    clean.setitem(sys.modules, "IPython", _kernel(allow_stdin=True))
    clean.setenv("CI", "true")
    assert progress_enabled() is False


def test_ipython_console_without_kernel_follows_the_terminal(clean):
    terminal_shell = types.SimpleNamespace(get_ipython=lambda: types.SimpleNamespace())
    clean.setitem(sys.modules, "IPython", terminal_shell)
    assert progress_enabled() is False
    clean.setattr(sys, "stderr", _Stream(tty=True))
    assert progress_enabled() is True


def test_a_closed_stderr_counts_as_no_terminal(clean):
    class Closed(_Stream):
        def isatty(self):
            raise ValueError("I/O operation on closed file")

    clean.setattr(sys, "stderr", Closed(tty=True))
    assert progress_enabled() is False


def test_the_bar_counts_replicates_on_stderr(clean):
    stream = _Stream(tty=True)
    clean.setattr(sys, "stderr", stream)
    assert run_parallel(abs, [-1, -2, -3], max_workers=1, counts=[5, 5, 2], desc="demo") == [
        1,
        2,
        3,
    ]
    assert "demo" in stream.text and "12/12" in stream.text


def test_a_study_prints_nothing_where_output_is_stored(clean):
    stream = _Stream(tty=False)
    clean.setattr(sys, "stderr", stream)
    power_study.power(n_groups=6, group_size=4, n_reps=3, seed=1, max_workers=1)
    assert stream.text == ""
    power_study.power(n_groups=6, group_size=4, n_reps=3, seed=1, max_workers=1, progress=True)
    assert "power" in stream.text and "3/3" in stream.text


def test_silent_bar_has_the_same_interface():
    bar = progress_bar(3, progress=False)
    bar.update(3)
    bar.close()
    assert isinstance(bar, _progress._NoBar)
