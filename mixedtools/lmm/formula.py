"""Parse lme4 model formulas such as ``Reaction ~ Days + (Days | Subject)``.

The parser works on the formula text only: it splits the right-hand side into the fixed part and a
list of random-effect terms, expanding lme4's shorthands ``(x || g)`` (uncorrelated effects) and
``(1 | a/b)`` (nested factors), and sets ``offset()`` terms aside.  The fixed part, the effects of
each random term and the offsets are then read as R reads them by :mod:`mixedtools.rformula`
(``I(x^2)``, ``log()``, ``poly()``, ``scale()``, ``factor()`` ...), with the data at hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from mixedtools.rformula import FormulaError

__all__ = ["FormulaError", "ParsedFormula", "RandomTerm", "parse_lmer_formula"]


@dataclass(frozen=True)
class RandomTerm:
    """One random-effects term ``(effects | group)`` after expansion of ``||`` and ``/``.

    Attributes
    ----------
    intercept : bool
        Whether the term has a random intercept.
    variables : tuple of str
        The other effects (formula-engine expressions such as ``"Days"`` or ``"C(Machine)"``).
    group : tuple of str
        Column names whose combination defines the grouping factor (``("a", "b")`` for ``a:b``).
    text : str
        The term written back in lme4 syntax, e.g. ``"(1 + Days | Subject)"``.
    """

    intercept: bool
    variables: tuple[str, ...]
    group: tuple[str, ...]

    @property
    def group_name(self) -> str:
        """The grouping factor as lme4 writes it (``"a:b"``)."""
        return ":".join(self.group)

    @property
    def effects_formula(self) -> str:
        """The effects as a one-sided formula for the formula engine (``"1 + Days"``)."""
        parts = ["1" if self.intercept else "0", *self.variables]
        return " + ".join(parts)

    @property
    def text(self) -> str:
        return f"({self.effects_formula} | {self.group_name})"


@dataclass(frozen=True)
class ParsedFormula:
    """An lme4 formula split into its fixed part and its random terms.

    Attributes
    ----------
    response : str
        Left-hand side of the formula.
    fixed : str
        The fixed part as a formula the formula engine understands (``"Reaction ~ Days"``).
    random : tuple of RandomTerm
        The random terms, expanded.
    """

    response: str
    fixed: str
    random: tuple[RandomTerm, ...]
    offsets: tuple[str, ...] = ()

    @property
    def grouping_columns(self) -> tuple[str, ...]:
        """All data columns used by grouping factors, in order of appearance."""
        seen: list[str] = []
        for term in self.random:
            for col in term.group:
                if col not in seen:
                    seen.append(col)
        return tuple(seen)


def _split_top_level(text: str, separators: str) -> list[tuple[str, str]]:
    """Split ``text`` at separators outside parentheses; return (separator, piece) pairs."""
    pieces: list[tuple[str, str]] = []
    depth = 0
    current: list[str] = []
    sep = "+"
    quoted = False
    for ch in text:
        if ch == "`":
            quoted = not quoted
        if quoted or ch == "`":
            current.append(ch)
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                raise FormulaError(f"unbalanced parentheses in {text!r}")
        if depth == 0 and ch in separators:
            pieces.append((sep, "".join(current).strip()))
            current = []
            sep = ch
            continue
        current.append(ch)
    if depth != 0:
        raise FormulaError(f"unbalanced parentheses in {text!r}")
    pieces.append((sep, "".join(current).strip()))
    return pieces


def _is_random_term(piece: str) -> bool:
    if not (piece.startswith("(") and piece.endswith(")")):
        return False
    inner = piece[1:-1]
    # the bar must sit at the top level of the parenthesis, and the parenthesis must close at the
    # end
    depth = 0
    for i, ch in enumerate(piece):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and i != len(piece) - 1:
                return False
    return any(sep == "|" for sep, _ in _split_top_level(inner, "|")[1:])


def _parse_effects(lhs: str, term_text: str) -> tuple[bool, list[str]]:
    """Read the effects side of a random term: intercept flag and the other effects."""
    if not lhs:
        raise FormulaError(
            f"malformed random term {term_text!r}: nothing before the bar; write (1 | g) for a "
            "random "
            "intercept"
        )
    intercept = True
    variables: list[str] = []
    for sign, piece in _split_top_level(lhs, "+-"):
        if piece == "" and sign == "+":
            continue
        if piece in ("0", "1"):
            # "+ 1" keeps the intercept, "0 +" and "- 1" remove it
            intercept = (piece == "1") == (sign == "+")
            continue
        if piece == "":
            raise FormulaError(f"malformed random term {term_text!r}: dangling '{sign}'")
        if sign == "-":
            raise FormulaError(
                f"cannot remove {piece!r} inside random term {term_text!r}: only '- 1' or '0 +' "
                "(no random intercept) is allowed there"
            )
        variables.append(piece)
    if not intercept and not variables:
        raise FormulaError(f"random term {term_text!r} has no effects left")
    return intercept, variables


def _parse_group(rhs: str, term_text: str) -> list[tuple[str, ...]]:
    """Read the grouping side; ``a/b`` expands to ``a`` and ``a:b``."""
    if not rhs:
        raise FormulaError(f"malformed random term {term_text!r}: no grouping factor after the bar")
    nested = [part.strip() for part in rhs.split("/")]
    groups: list[tuple[str, ...]] = []
    prefix: list[str] = []
    for part in nested:
        cols = [c.strip() for c in part.split(":")]
        cols = [c[1:-1] if len(c) > 1 and c[0] == c[-1] == "`" else c for c in cols]
        for col in cols:
            if not col or any(ch in col for ch in "()+*~|`=,"):
                raise FormulaError(
                    f"grouping factor {col!r} in {term_text!r} must be a column name (combine "
                    "factors with ':' or '/', e.g. (1 | school/class)); a grouping column is "
                    "read as a factor already, so (1 | factor(g)) is written (1 | g)"
                )
        prefix = prefix + cols
        groups.append(tuple(prefix))
    return groups


def _parse_random_term(piece: str) -> list[RandomTerm]:
    inner = piece[1:-1].strip()
    double = "||" in inner
    if double:
        parts = inner.split("||")
        if len(parts) != 2 or "|" in parts[0] or "|" in parts[1]:
            raise FormulaError(f"malformed random term {piece!r}: write (effects || group)")
        lhs, rhs = parts
    else:
        split = _split_top_level(inner, "|")
        if len(split) != 2:
            raise FormulaError(
                f"malformed random term {piece!r}: a random term has exactly one bar, "
                "(effects | group)"
            )
        lhs, rhs = split[0][1], split[1][1]
    intercept, variables = _parse_effects(lhs.strip(), piece)
    groups = _parse_group(rhs.strip(), piece)
    terms: list[RandomTerm] = []
    for group in groups:
        if double:
            # lme4: (1 + x + z || g) is (1 | g) + (0 + x | g) + (0 + z | g)
            if intercept:
                terms.append(RandomTerm(True, (), group))
            for var in variables:
                terms.append(RandomTerm(False, (var,), group))
        else:
            terms.append(RandomTerm(intercept, tuple(variables), group))
    return terms


def parse_lmer_formula(formula: str) -> ParsedFormula:
    """Split an lme4 formula into its fixed part and its random-effects terms.

    Parameters
    ----------
    formula : str
        A model formula in lme4 syntax, e.g. ``"y ~ x + (x | g)"``.

    Returns
    -------
    ParsedFormula

    Raises
    ------
    FormulaError
        For a malformed formula, a malformed random term, or a formula without random terms.

    Examples
    --------
    >>> p = parse_lmer_formula("Reaction ~ Days + (Days || Subject)")
    >>> p.fixed
    'Reaction ~ Days'
    >>> [t.text for t in p.random]
    ['(1 | Subject)', '(0 + Days | Subject)']
    >>> [t.group_name for t in parse_lmer_formula("y ~ 1 + (1 | a/b)").random]
    ['a', 'a:b']
    """
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string, got {type(formula).__name__}")
    if formula.count("~") != 1:
        raise FormulaError(f"formula {formula!r} must have exactly one '~' (response ~ predictors)")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if not lhs:
        raise FormulaError(f"formula {formula!r} has no response on the left of '~'")
    if not rhs:
        raise FormulaError(f"formula {formula!r} has no predictors on the right of '~'")
    fixed_parts: list[str] = []
    offsets: list[str] = []
    random: list[RandomTerm] = []
    for sign, piece in _split_top_level(rhs, "+-"):
        if piece == "":
            if sign == "+" and not fixed_parts and not random:
                continue
            raise FormulaError(f"malformed formula {formula!r}: dangling '{sign}'")
        if _is_random_term(piece):
            if sign == "-":
                raise FormulaError(f"cannot subtract the random term {piece!r}")
            random.extend(_parse_random_term(piece))
        elif "|" in piece:
            raise FormulaError(
                f"malformed random term {piece!r}: random terms go in parentheses, e.g. (1 | g)"
            )
        elif piece.startswith("offset(") and piece.endswith(")"):
            if sign == "-":
                raise FormulaError(f"write the offset with a plus sign: + {piece}")
            offsets.append(piece[len("offset(") : -1].strip())
        else:
            fixed_parts.append(piece if sign == "+" and not fixed_parts else f"{sign} {piece}")
    if not random:
        raise FormulaError(
            f"formula {formula!r} has no random term such as (1 | group). Without random effects "
            "this is an ordinary regression: use statsmodels.formula.api.ols(formula, data).fit(), "
            "or for a binary or count response statsmodels.formula.api.glm(formula, data, "
            "family=sm.families.Binomial()).fit() (or Poisson())"
        )
    fixed_rhs = " ".join(fixed_parts) if fixed_parts else "1"
    # identical terms written twice would give the same variance twice: lme4 fits them, we refuse
    texts = [(t.intercept, t.variables, t.group) for t in random]
    if len(set(texts)) != len(texts):
        raise FormulaError(f"formula {formula!r} repeats a random term")
    return ParsedFormula(
        response=lhs, fixed=f"{lhs} ~ {fixed_rhs}", random=tuple(random), offsets=tuple(offsets)
    )
