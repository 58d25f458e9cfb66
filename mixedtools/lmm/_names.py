"""Column names as R users have them: keywords, dots, spaces, non-ASCII, lme4's backticks.

The formula engine (patsy) reads the fixed part as Python code, so ``yield`` (a keyword),
``Informed.liking`` (an attribute access) or ``re action`` (two names) are not column names to
it.  Before the formulas go to patsy, such names (and any name in lme4's backticks) are wrapped
in patsy's ``Q("...")``; the printed names of the coefficients drop the wrapper again.
"""

from __future__ import annotations

import keyword
import re

__all__ = ["quote_names", "unquote"]

# a run of characters that can belong to a name in a formula (not operators, brackets, quotes)
_RUN = re.compile(r"[^\s~+\-*/:()|,^=<>!%&\[\]{}'\"`@]+")
_QUOTED = re.compile(r"""Q\((["'])(.*?)\1\)""")


def _name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "._"


def _needs_quotes(name: str) -> bool:
    return not name.isidentifier() or keyword.iskeyword(name)


def _q(name: str) -> str:
    return 'Q("' + name.replace("\\", "\\\\").replace('"', '\\"') + '")'


def quote_names(text: str, columns) -> str:
    """Wrap backticked names, and column names patsy cannot read, in ``Q("...")``.

    Examples
    --------
    >>> quote_names("yield ~ 1 + Informed.liking", ["yield", "Informed.liking"])
    'Q("yield") ~ 1 + Q("Informed.liking")'
    >>> quote_names("`re action` ~ np.log(x)", ["re action", "x"])
    'Q("re action") ~ np.log(x)'
    """
    columns = {str(c) for c in columns}
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "`":
            end = text.find("`", i + 1)
            if end < 0:
                out.append(text[i:])
                break
            out.append(_q(text[i + 1 : end]))
            i = end + 1
        elif ch in "'\"":  # a string literal: copy it unchanged
            end = i + 1
            while end < len(text) and text[end] != ch:
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
        elif text.startswith("Q(", i) and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "._")
        ):
            end = text.find(")", i)
            out.append(text[i : end + 1] if end >= 0 else text[i:])
            i = len(text) if end < 0 else end + 1
        else:
            m = _RUN.match(text, i)
            if m is None:
                out.append(ch)
                i += 1
                continue
            run = m.group(0)
            follows_call = text[m.end() : m.end() + 1] == "("
            if run in columns and _needs_quotes(run) and not follows_call:
                out.append(_q(run))
            else:
                out.append(run)
            i = m.end()
    return "".join(out)


def unquote(name: str) -> str:
    """``Q("yield")`` -> ``yield`` inside a coefficient name; other names unchanged.

    Examples
    --------
    >>> unquote('Q("Informed.liking"):C(Q("class"))[T.b]')
    'Informed.liking:C(class)[T.b]'
    """
    return _QUOTED.sub(lambda m: m.group(2), str(name)).replace("`", "")
