"""Real data sets bundled with mixedtools, available offline.

Each data set is a CSV file plus a JSON file with its provenance (source package, original
reference, licence note) and codebook, exported from R by ``mixedtools/data/make_datasets.R``.
Column names are snake_case; grouping factors are strings, binary indicators are 0/1 integers.

Examples
--------
>>> import mixedtools as mt
>>> "sleepstudy" in mt.datasets.names()
True
>>> mt.datasets.load("dyestuff").shape
(30, 2)
"""

from __future__ import annotations

import json
import textwrap
from functools import cache
from importlib import resources

import pandas as pd

__all__ = ["names", "load", "describe"]

_DTYPES = {"str": "str", "int": "int64", "float": "float64"}


def _data_files():
    return resources.files("mixedtools") / "data"


def names() -> list[str]:
    """Names of the bundled data sets, sorted.

    Returns
    -------
    list of str

    Examples
    --------
    >>> import mixedtools as mt
    >>> mt.datasets.names()[:3]
    ['assink2016', 'bcg', 'cbpp']
    """
    return sorted(
        f.name.removesuffix(".json") for f in _data_files().iterdir() if f.name.endswith(".json")
    )


def _metadata(name: str) -> dict:
    if not isinstance(name, str) or name not in names():
        raise ValueError(f"Unknown data set {name!r}. Available data sets: {', '.join(names())}.")
    return _read_metadata(name)


@cache
def _read_metadata(name: str) -> dict:
    return json.loads((_data_files() / f"{name}.json").read_text(encoding="utf-8"))


def load(name: str) -> pd.DataFrame:
    """Load a bundled data set as a DataFrame.

    Parameters
    ----------
    name : str
        One of :func:`names`, e.g. ``"sleepstudy"``, ``"hsb"``, ``"bcg"``.

    Returns
    -------
    pandas.DataFrame
        A fresh copy; the columns and their types are listed by :func:`describe`.

    Raises
    ------
    ValueError
        If `name` is not a bundled data set (the message lists the available ones).

    Examples
    --------
    >>> import mixedtools as mt
    >>> hsb = mt.datasets.load("hsb")
    >>> hsb.shape
    (7185, 11)
    >>> hsb["school"].nunique()
    160
    """
    meta = _metadata(name)
    dtypes = {column["name"]: _DTYPES[column["type"]] for column in meta["columns"]}
    with (_data_files() / f"{name}.csv").open(encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=dtypes, keep_default_na=False, na_values=[""])


def describe(name: str) -> str:
    """Provenance and codebook of a bundled data set, as readable text.

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    str
        Title, design, size, source package, original reference, licence note and one line
        per column (name, type, meaning).

    Examples
    --------
    >>> import mixedtools as mt
    >>> print(mt.datasets.describe("dyestuff"))  # doctest: +ELLIPSIS
    dyestuff: Yield of dyestuff by batch of intermediate product
    ...
    """
    meta = _metadata(name)
    source = meta["source"]
    wrap = textwrap.TextWrapper(width=100, subsequent_indent="  ")
    lines = [
        f"{meta['name']}: {meta['title']}",
        *wrap.wrap(f"Design: {meta['design']}"),
        f"Size: {meta['n_rows']} rows x {meta['n_cols']} columns",
        f"Source: R package {source['package']} {source['package_version']}, {source['dataset']}",
        *wrap.wrap(f"Reference: {meta['reference']}"),
        *wrap.wrap(f"Licence: {meta['licence']}"),
        "Columns:",
    ]
    width = max(len(column["name"]) for column in meta["columns"])
    column_wrap = textwrap.TextWrapper(width=100, subsequent_indent=" " * (width + 11))
    for column in meta["columns"]:
        lines += column_wrap.wrap(
            f"  {column['name']:<{width}}  {column['type']:<5}  {column['description']}"
        )
    return "\n".join(lines)
