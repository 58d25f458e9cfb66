"""Progress bars for long simulation studies: shown to a person watching, never stored.

``progress=None`` (the default of every simulation study) means *auto*, decided by one rule:

1. off when the environment variable ``CI`` is set to anything but ``""``, ``"0"`` or
   ``"false"`` (CI services set ``CI=true``);
2. on when standard error is a terminal (a script or an IPython console run by hand);
3. on in a Jupyter kernel when the cell was sent by a front-end that accepts input, i.e. a person
   runs it in JupyterLab, Notebook or VS Code;
4. off otherwise: output redirected to a file or a pipe, and notebooks executed without a
   person — ``jupyter execute``, nbconvert, papermill and nbval all send their cells with
   ``allow_stdin=False``, so stored notebook outputs never contain a progress bar.

``progress=True`` or ``False`` overrides the rule. The bar (:mod:`tqdm`, on standard error)
counts replicates as the tasks that hold them finish.
"""

from __future__ import annotations

import os
import sys

__all__ = ["progress_enabled", "progress_bar"]

_FALSE = ("", "0", "false", "no", "off")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in _FALSE


def _interactive_kernel() -> bool:
    """True inside a Jupyter kernel whose current cell came from a front-end that takes input."""
    if "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    kernel = getattr(shell, "kernel", None)
    return bool(kernel is not None and getattr(kernel, "_allow_stdin", False))


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether a study shows a progress bar: `progress` if given, else the module's rule.

    Parameters
    ----------
    progress : bool, optional
        ``True`` or ``False`` forces the bar on or off; ``None`` applies the rule of
        :mod:`mixedtools._progress` (off in CI, on at a terminal or in a notebook a person runs).

    Examples
    --------
    >>> progress_enabled(True), progress_enabled(False)
    (True, False)
    >>> import os
    >>> os.environ["CI"] = "true"
    >>> progress_enabled()  # CI never shows a bar
    False
    >>> del os.environ["CI"]
    """
    if progress is not None:
        return bool(progress)
    if _in_ci():
        return False
    return _stderr_is_terminal() or _interactive_kernel()


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def progress_bar(total: int, desc: str | None = None, progress: bool | None = None):
    """A :class:`tqdm.tqdm` bar on standard error, or a silent stand-in when it is off.

    Both have ``update(n)`` and ``close()``.

    Examples
    --------
    >>> bar = progress_bar(10, "fits", progress=False)
    >>> bar.update(10); bar.close()
    """
    if not progress_enabled(progress):
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rep", file=sys.stderr, dynamic_ncols=True)
