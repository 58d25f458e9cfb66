"""Attribute warnings to the user's code, not to a line inside mixedtools."""

from __future__ import annotations

import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def external_stacklevel() -> int:
    """The ``stacklevel`` that makes ``warnings.warn`` point at the first caller outside mixedtools.

    Call it inside the function that calls ``warnings.warn``::

        warnings.warn(message, UserWarning, stacklevel=external_stacklevel())

    A fixed ``stacklevel`` breaks whenever a public function gains a wrapper; this one counts the
    frames that belong to the package.
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level
