"""How the per-study inputs of a meta-analysis are paired: by label or by position, never a mix.

A meta-analysis takes one row per study from several arguments (``yi``, ``vi``, moderators,
cluster ids, the cells of 2 x 2 tables). Pairing them by position is right for arrays and wrong for
a pandas Series that was sorted or filtered on its own. The rule of :func:`pair_rows`:

1. Labelled inputs (pandas Series and DataFrames, including columns of ``data=``) are paired by
   their index labels. They must carry the same labels, each once; in another order they are put
   in the order of the first labelled input.
2. Unlabelled inputs (NumPy arrays, lists) are paired by position.
3. Mixed, the positions of an array are those of the labelled inputs only when these have the
   default index ``0, 1, ..., k-1`` in that order; otherwise the call is refused (a filtered,
   sorted or shuffled Series next to an array).

No combination pairs by position what carries labels in another order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["pair_rows", "pair_with_fit", "labels_of"]


def _labelled(value) -> bool:
    return isinstance(value, (pd.Series, pd.DataFrame))


def _example(labels) -> str:
    shown = ", ".join(map(repr, list(labels[:3])))
    return shown + (", ..." if len(labels) > 3 else "")


def _check_same_labels(role, index, first_role, reference) -> None:
    if index.has_duplicates or reference.has_duplicates:
        which = role if index.has_duplicates else first_role
        raise ValueError(
            f"{first_role} and {role} are labelled in different orders and {which} has duplicated "
            "index labels, so they cannot be paired by label; give every study one label "
            "(e.g. .reset_index(drop=True) on both, if their positions match)"
        )
    only_here = index.difference(reference)
    only_there = reference.difference(index)
    if len(only_here) or len(only_there):
        raise ValueError(
            f"{first_role} and {role} are pandas objects with different index labels "
            f"({len(only_here)} label(s) only in {role}: {_example(only_here)}; "
            f"{len(only_there)} only in {first_role}: {_example(only_there)}), so some studies "
            f"cannot be paired; select the same studies in both (e.g. {role}.loc[{first_role}"
            ".index]) or, if their positions match, pass arrays (.to_numpy())"
        )


def pair_rows(**inputs) -> dict:
    """Return ``inputs`` with every labelled input in one row order (see the module docstring).

    ``None``, scalars and strings (formulas, column names) are passed through untouched and take
    no part.

    Examples
    --------
    >>> yi = pd.Series([0.1, 0.2], index=["b", "a"])
    >>> vi = pd.Series([0.02, 0.01], index=["a", "b"])
    >>> pair_rows(yi=yi, vi=vi)["vi"].tolist()
    [0.01, 0.02]
    >>> pair_rows(yi=yi.to_numpy(), vi=vi)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: yi is an array, paired by position, but vi is a pandas object whose index is not...
    """
    labelled = [role for role, value in inputs.items() if _labelled(value)]
    if not labelled:
        return dict(inputs)
    first_role = labelled[0]
    reference = inputs[first_role].index
    out = dict(inputs)
    for role in labelled[1:]:
        index = inputs[role].index
        if index.equals(reference) or len(index) != len(reference):
            continue  # the same rows, or a length error that the caller reports
        _check_same_labels(role, index, first_role, reference)
        out[role] = inputs[role].reindex(reference)
    arrays = [
        role
        for role, value in inputs.items()
        if not isinstance(value, str) and not _labelled(value) and np.ndim(value) >= 1
    ]
    if arrays and not reference.equals(pd.RangeIndex(len(reference))):
        role = arrays[0]
        position = next(i for i, label in enumerate(reference) if label != i)
        label = reference[position : position + 1].tolist()[0]
        raise ValueError(
            f"{role} is an array, paired by position, but {first_role} is a pandas object whose "
            f"index is not 0, 1, ..., k-1 in order (at position {position} it has the label "
            f"{label!r}), so the positions may belong to other studies; pass "
            f"{role} as a Series with {first_role}'s index, or every input as an array "
            "(.to_numpy()) if the positions match"
        )
    return out


def pair_with_fit(result, **inputs) -> dict:
    """:func:`pair_rows` of per-study ``inputs`` with the studies of a fitted model (``labels``).

    Examples
    --------
    >>> class Fit:
    ...     labels, k = pd.Index(["a", "b"]), 2
    >>> pair_with_fit(Fit(), cluster=pd.Series([2, 1], index=["b", "a"]))["cluster"].tolist()
    [1, 2]
    """
    labels = getattr(result, "labels", None)
    k = len(result.yi) if labels is None else len(labels)
    fit = pd.Series(range(k), index=labels) if labels is not None else np.arange(k)
    rows = pair_rows(**{"yi (of the fit)": fit}, **inputs)
    del rows["yi (of the fit)"]
    return rows


def labels_of(*values):
    """The index of the first labelled value (after :func:`pair_rows`), or None."""
    for value in values:
        if _labelled(value):
            return value.index
    return None
