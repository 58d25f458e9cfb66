"""Turn a parsed lme4 formula and a data frame into the arrays of a statsmodels MixedLM.

statsmodels' MixedLM has one grouping factor whose random effects share an unstructured
covariance (``exog_re``), plus variance components (``exog_vc``): within each group, sets of
independent effects with a common variance.  lme4 models map onto it as follows:

* one grouping factor ``g``: the correlated term goes to ``exog_re``; further single-column terms
  for ``g`` (e.g. from ``(x || g)``) become variance components with one column per group;
* factors nested in ``g`` (``(1 | g/h)``, ``(1 | g) + (1 | g:h)``): variance components whose
  columns are the levels of ``h`` inside each group of ``g``;
* crossed factors (``(1 | subject) + (1 | item)``): a single group holding all rows, and every
  term a variance component with one column per level.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy

from mixedtools import rformula
from mixedtools._warnings import external_stacklevel
from mixedtools.lmm._names import quote_names, unquote
from mixedtools.lmm.formula import FormulaError, ParsedFormula, RandomTerm

__all__ = ["LmmDesign", "VarianceComponent", "build_design"]


@dataclass
class VarianceComponent:
    """A set of independent random effects with one common variance.

    Attributes
    ----------
    group : str
        Grouping factor of the effects, lme4 style (``"batch:cask"``).
    effect : str
        Name of the effect (``"Intercept"`` or a column of the effects formula).
    matrix : ndarray (N, m)
        Within each block of the outer grouping, column k holds the k-th level's effect design.
    level_codes : ndarray (K, m) of int
        Code of the level (index into `levels`) behind column k of block j; -1 where a block has
        fewer levels.
    levels : ndarray of str
        Labels of the levels of the grouping factor.
    """

    group: str
    effect: str
    matrix: np.ndarray
    level_codes: np.ndarray
    levels: np.ndarray
    term: RandomTerm


@dataclass
class LmmDesign:
    """Everything needed to fit an lme4 model with statsmodels and to report it like lme4."""

    parsed: ParsedFormula
    data: pd.DataFrame  # rows used in the fit
    n_dropped: int
    row_index: pd.Index  # labels of the rows used, in the caller's data
    y: np.ndarray
    X: np.ndarray
    fe_names: list[str]
    fe_design_info: patsy.DesignInfo
    block_name: str | None  # grouping factor behind the blocks (None: crossed, one block)
    block_codes: np.ndarray  # (N,) 0..K-1
    block_levels: np.ndarray  # (K,) labels
    Z: np.ndarray  # (N, k) correlated block; k may be 0
    re_names: list[str]
    re_term: RandomTerm | None
    vcs: list[VarianceComponent] = field(default_factory=list)
    term_design_infos: dict = field(default_factory=dict)  # RandomTerm -> patsy DesignInfo
    # general layout (crossed factors, several correlated terms): one PLSTerm per random term
    offset: np.ndarray | None = None  # known part of the response (lme4's offset()); y excludes it
    offset_infos: list = field(default_factory=list)  # to evaluate the offsets on new data
    response: pd.DataFrame | None = None  # the response as evaluated (two columns for cbind)
    general: bool = False
    pls_terms: list = field(default_factory=list)
    random_terms: list = field(default_factory=list)  # the RandomTerm behind each PLSTerm
    weights: np.ndarray | None = None  # lme4's prior weights of the rows used (lmer)

    @property
    def n_obs(self) -> int:
        return len(self.y)

    def statsmodels_model(self):
        """The equivalent ``statsmodels.regression.mixed_linear_model.MixedLM``."""
        from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

        exog = pd.DataFrame(self.X, columns=self.fe_names)
        exog_re = pd.DataFrame(self.Z, columns=self.re_names) if self.Z.shape[1] else None
        exog_vc = None
        if self.vcs:
            order = np.argsort(self.block_codes, kind="stable")
            bounds = np.searchsorted(self.block_codes[order], np.arange(len(self.block_levels) + 1))
            names, colnames, mats = [], [], []
            for vc in self.vcs:
                names.append(f"{vc.group}|{vc.effect}")
                per_cols, per_mats = [], []
                for j in range(len(self.block_levels)):
                    rows = order[bounds[j] : bounds[j + 1]]
                    used = vc.level_codes[j] >= 0
                    per_mats.append(vc.matrix[rows][:, used])
                    per_cols.append([str(vc.levels[c]) for c in vc.level_codes[j][used]])
                colnames.append(per_cols)
                mats.append(per_mats)
            exog_vc = VCSpec(names, colnames, mats)
        return MixedLM(self.y, exog, self.block_codes, exog_re=exog_re, exog_vc=exog_vc)


class _FrontEnd:
    """The model's formulas read as R (:mod:`mixedtools.rformula`) and memorized on the data.

    Stateful transforms (``scale``, ``poly``) see every row, as in R's model frame; factor levels
    are those of the rows kept once incomplete rows are dropped.
    """

    def __init__(self, parsed: ParsedFormula, data: pd.DataFrame, allow_cbind: bool = False):
        offset_vars = set()
        for expr in parsed.offsets:
            offset_vars |= rformula._names_in(rformula.parse(expr))
        exclude = set(parsed.grouping_columns) | offset_vars
        self.fixed = rformula.compile_terms(
            parsed.fixed, data, exclude_from_dot=exclude, allow_cbind=allow_cbind
        )
        self.offsets = [rformula.compile_terms(f"~ offset({e})", data) for e in parsed.offsets]
        self.terms = {
            t: rformula.compile_terms("~ " + t.effects_formula, data) for t in parsed.random
        }
        self.descs = [
            [patsy.Term([f]) for f in self.fixed.response],
            self.fixed.rhs_desc,
            *(rformula.offset_desc(c)[0] for c in self.offsets),
            *(c.rhs_desc for c in self.terms.values()),
        ]
        self.memorize(data)

    def memorize(self, data, kept=None):
        self.infos = rformula.design_infos(self.descs, data, kept)

    def evaluate(self, data, na_action):
        frames = rformula.evaluate(self.infos, data, na_action, "model design")
        n_off = len(self.offsets)
        y, X = frames[0], frames[1]
        offsets = frames[2 : 2 + n_off]
        terms = dict(zip(self.terms, frames[2 + n_off :], strict=True))
        return y, X, offsets, terms

    @property
    def x_info(self):
        return self.infos[1]

    @property
    def offset_infos(self):
        return self.infos[2 : 2 + len(self.offsets)]

    @property
    def term_infos(self):
        return dict(zip(self.terms, self.infos[2 + len(self.offsets) :], strict=True))


def _complete_rows(parsed: ParsedFormula, front: _FrontEnd, data: pd.DataFrame):
    """Rows with no missing value in any variable the model uses, and the evaluated designs.

    The designs are those of the complete rows; when every row is complete they are the
    designs of the model, so the caller need not evaluate the formulas a second time.
    """
    keep = pd.Series(True, index=data.index)
    evaluated = front.evaluate(data, "drop")
    y, X, offsets, terms = evaluated
    for frame in [y, X, *offsets, *terms.values()]:
        keep &= data.index.isin(frame.index)
    for term in parsed.random:
        for col in term.group:
            keep &= data[col].notna().to_numpy()
    return keep, evaluated


def _group_codes(data: pd.DataFrame, cols: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..L-1 and labels of the combination of `cols` (labels joined with ':')."""
    if len(cols) == 1:
        # keep the ids' own type (an integer id stays an integer), as R keeps a factor's labels
        try:
            codes, uniques = pd.factorize(data[cols[0]], sort=True)
            return codes.astype(np.intp), np.asarray(uniques)
        except TypeError:  # mixed types cannot be sorted: compare them as text
            labels = data[cols[0]].astype(str).to_numpy()
    else:
        labels = data[cols[0]].astype(str).str.cat([data[c].astype(str) for c in cols[1:]], sep=":")
        labels = labels.to_numpy()
    codes, uniques = pd.factorize(labels, sort=True)
    return codes.astype(np.intp), np.asarray(uniques, dtype=object)


def _nested_in(inner: np.ndarray, outer: np.ndarray) -> bool:
    """True if every level of `inner` occurs within a single level of `outer` (both integer
    codes 0..L-1)."""
    pairs = np.unique(inner.astype(np.int64) * (int(outer.max()) + 1) + outer)
    return len(pairs) == len(np.unique(inner))


def _within_block_columns(
    block: np.ndarray, inner: np.ndarray, n_blocks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Column index of each row's inner level within its block, and the (K, m) level-code table."""
    pairs = pd.DataFrame({"b": block, "i": inner}).drop_duplicates().sort_values(["b", "i"])
    pairs["k"] = pairs.groupby("b").cumcount()
    m = int(pairs["k"].max()) + 1
    table = np.full((n_blocks, m), -1, dtype=np.intp)
    table[pairs["b"].to_numpy(), pairs["k"].to_numpy()] = pairs["i"].to_numpy()
    lookup = pd.Series(pairs["k"].to_numpy(), index=pd.MultiIndex.from_frame(pairs[["b", "i"]]))
    col = lookup.reindex(pd.MultiIndex.from_arrays([block, inner])).to_numpy()
    return col.astype(np.intp), table


def build_design(
    parsed: ParsedFormula,
    data: pd.DataFrame,
    na_action: str = "drop",
    blockwise: bool = False,
    generalized: bool = False,
) -> LmmDesign:
    """Build the fixed and random designs of an lme4 model.

    Parameters
    ----------
    parsed : ParsedFormula
    data : DataFrame
    na_action : {"drop", "raise"}
        Drop rows with missing values in any model variable (and count them), or raise.
    blockwise : bool
        Use the blockwise layout (statsmodels' MixedLM) for nested factors too, where it can
        represent the model; by default only one grouping factor uses it.
    generalized : bool
        The design of a generalised model (glmer): a several-column response
        ``cbind(successes, failures)`` is accepted (``y`` is then its first column, ``response``
        holds all), the offset is not subtracted from ``y``, lme4's sparse layout is used for
        every model, and the checks that only a normal model needs (a constant response, as
        many random effects as rows, e.g. an observation-level random effect) are skipped.

    Returns
    -------
    LmmDesign
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if na_action not in ("drop", "raise"):
        raise ValueError(f"na_action must be 'drop' or 'raise', got {na_action!r}")
    for col in parsed.grouping_columns:
        if col not in data.columns:
            raise FormulaError(
                f"unknown grouping factor {col!r}; the data have columns "
                f"{', '.join(map(str, data.columns))}"
            )
    original_index = data.index
    data = _plain_dtypes(data.reset_index(drop=True), parsed)
    front = _FrontEnd(parsed, data, allow_cbind=generalized)
    keep, evaluated = _complete_rows(parsed, front, data)
    n_dropped = int((~keep).sum())
    if n_dropped and na_action == "raise":
        raise ValueError(
            f"{n_dropped} of {len(data)} rows have missing values in the model's variables "
            "(use na_action='drop' to fit without them)"
        )
    row_index = original_index[keep.to_numpy()]
    if n_dropped:
        front.memorize(data, keep.to_numpy())  # R drops the levels no kept row has
    data = data.loc[keep.to_numpy()].reset_index(drop=True)
    if len(data) == 0:
        raise ValueError("no complete rows left to fit the model")

    if n_dropped:
        evaluated = front.evaluate(data, "raise")
    y_df, X_df, offset_dfs, term_dfs = evaluated
    response_name = ", ".join(f.name() for f in front.fixed.response)
    if y_df.shape[1] != 1 and not generalized:
        raise FormulaError(
            f"the response {response_name!r} must be a single numeric column"
            + _text_numbers_hint(data, unquote(parsed.response))
        )
    y = y_df.iloc[:, 0].to_numpy(dtype=float)
    X = X_df.to_numpy(dtype=float)
    fe_names = [unquote(c) for c in X_df.columns]
    _check_rank(X, fe_names)
    if np.ptp(y) == 0 and not generalized:
        raise ValueError(
            f"the response {response_name!r} is constant ({y[0]:g} on every row): "
            "there is no variation to model"
        )
    offset = np.zeros(len(y))
    for off in offset_dfs:
        offset += off.iloc[:, 0].to_numpy(dtype=float)
    if not generalized:
        y = y - offset

    # grouping factors
    codes: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
    for term in parsed.random:
        if term.group not in codes:
            c, lv = _group_codes(data, term.group)
            if len(lv) < 2:
                raise ValueError(
                    f"grouping factor {term.group_name!r} has only one level ({lv[0]!r}): a "
                    "variance "
                    "between groups cannot be estimated from one group; drop the term or fit a "
                    "fixed "
                    "effect instead"
                )
            if len(lv) == len(data) and term.intercept and not generalized:
                raise ValueError(
                    f"grouping factor {term.group_name!r} has a different level on every row, so "
                    "its "
                    "random intercept cannot be told apart from the residual"
                )
            codes[term.group] = (c, lv)

    # the block factor: one that every other grouping factor is nested in
    groups = list(codes)
    candidates = [
        g for g in groups if all(_nested_in(codes[h][0], codes[g][0]) for h in groups if h != g)
    ]
    columns = term_dfs
    for term in parsed.random if not generalized else []:  # lme4's check (lmer only)
        n_effects = len(codes[term.group][1]) * columns[term].shape[1]
        if n_effects >= len(data):
            raise ValueError(
                f"the number of observations ({len(data)}) is not larger than the number of "
                f"random effects ({n_effects}) of the term {unquote(term.text)}: its variances "
                "and the residual variance cannot be told apart; simplify the random part"
            )
    blockwise_possible = bool(candidates) and not _needs_general_blocks(parsed, columns, candidates)
    needs_general = generalized or _needs_general(parsed, columns, candidates)
    if needs_general and not (blockwise and blockwise_possible):
        design = _general_design(
            parsed, data, n_dropped, row_index, y, X, fe_names, X_df, codes, columns
        )
        design.offset = offset
        design.offset_infos = front.offset_infos
        design.response = y_df
        return design

    # prefer the factor carrying a multi-column (correlated) term, else the one with fewest
    # levels
    def rank(g):
        multi = any(columns[t].shape[1] > 1 for t in parsed.random if t.group == g)
        return (not multi, len(codes[g][1]))

    block = min(candidates, key=rank)
    block_codes, block_levels = codes[block]
    block_name = ":".join(block)

    # the correlated block (statsmodels' exog_re): one term of the block factor
    re_term = None
    if block is not None:
        own = [t for t in parsed.random if t.group == block]
        multi = [t for t in own if columns[t].shape[1] > 1]
        if len(multi) > 1:
            raise FormulaError(
                f"statsmodels allows one correlated block of random effects per grouping factor, "
                f"but {' and '.join(t.text for t in multi)} are two blocks for {block_name!r}; "
                "write "
                "them as one term (all effects correlated) or with '||' (all uncorrelated)"
            )
        re_term = multi[0] if multi else next((t for t in own if t.intercept), own[0])

    vcs: list[VarianceComponent] = []
    n_blocks = len(block_levels)
    for term in parsed.random:
        if term is re_term:
            continue
        Zt = columns[term]
        if Zt.shape[1] > 1:
            where = f"nested in {block_name!r}"
            raise FormulaError(
                f"cannot fit the correlated random effects {term.text}: the factor "
                f"{term.group_name!r} is {where}, and statsmodels can give such factors only "
                "independent effects with one variance each. Write the term with '||' "
                "(uncorrelated "
                f"effects): ({term.effects_formula} || {term.group_name})"
            )
        value = Zt.iloc[:, 0].to_numpy(dtype=float)
        g_codes, g_levels = codes[term.group]
        effect = "Intercept" if term.intercept else unquote(Zt.columns[0])
        if block is not None and term.group == block:
            # one effect per group: a single column
            matrix = value[:, None]
            table = np.arange(n_blocks, dtype=np.intp)[:, None]
        else:
            col, table = _within_block_columns(block_codes, g_codes, n_blocks)
            matrix = np.zeros((len(data), table.shape[1]))
            matrix[np.arange(len(data)), col] = value
        vcs.append(
            VarianceComponent(
                group=term.group_name,
                effect=effect,
                matrix=matrix,
                level_codes=table,
                levels=g_levels,
                term=term,
            )
        )

    if re_term is not None:
        Z_df = columns[re_term]
        Z = Z_df.to_numpy(dtype=float)
        re_names = [unquote(c) for c in Z_df.columns]
        _check_term_rank(Z, re_names, re_term)
    else:
        Z = np.zeros((len(data), 0))
        re_names = []

    return LmmDesign(
        parsed=parsed,
        data=data,
        n_dropped=n_dropped,
        row_index=row_index,
        y=y,
        X=X,
        fe_names=fe_names,
        fe_design_info=X_df.design_info,
        offset=offset,
        offset_infos=front.offset_infos,
        response=y_df,
        block_name=block_name,
        block_codes=block_codes,
        block_levels=block_levels,
        Z=Z,
        re_names=re_names,
        re_term=re_term,
        vcs=vcs,
        term_design_infos={t: columns[t].design_info for t in parsed.random},
    )


def _needs_general(parsed, columns, candidates) -> bool:
    """True unless the model has one grouping factor with at most one correlated term: the
    blockwise layout of :mod:`mixedtools.lmm.reml`.  Several grouping factors (crossed, partially
    crossed or nested) use lme4's sparse engine, :mod:`mixedtools.lmm.pls`."""
    if len({t.group for t in parsed.random}) > 1:
        return True
    return sum(columns[t].shape[1] > 1 for t in parsed.random) > 1


def _needs_general_blocks(parsed, columns, candidates) -> bool:
    """True when even the blockwise layout cannot hold the model: several correlated terms, or
    a correlated term on a factor nested in another."""
    multi = [t for t in parsed.random if columns[t].shape[1] > 1]
    if len(multi) > 1:
        return True
    return bool(multi) and multi[0].group not in candidates


def _general_design(parsed, data, n_dropped, row_index, y, X, fe_names, X_df, codes, columns):
    """The layout of :mod:`mixedtools.lmm.pls`: one term per random term, any grouping factors."""
    from mixedtools.lmm.pls import PLSTerm

    pls_terms = []
    for term in parsed.random:
        Zt = columns[term]
        g_codes, g_levels = codes[term.group]
        names = tuple(unquote(c) for c in Zt.columns)
        _check_term_rank(Zt.to_numpy(dtype=float), names, term)
        pls_terms.append(
            PLSTerm(
                group=term.group_name,
                codes=g_codes,
                levels=g_levels,
                Z=Zt.to_numpy(dtype=float),
                effect_names=names,
            )
        )
    return LmmDesign(
        parsed=parsed,
        data=data,
        n_dropped=n_dropped,
        row_index=row_index,
        y=y,
        X=X,
        fe_names=fe_names,
        fe_design_info=X_df.design_info,
        block_name=None,
        block_codes=np.zeros(len(data), dtype=np.intp),
        block_levels=np.array(["all"], dtype=object),
        Z=np.zeros((len(data), 0)),
        re_names=[],
        re_term=None,
        vcs=[],
        term_design_infos={t: columns[t].design_info for t in parsed.random},
        general=True,
        pls_terms=pls_terms,
        random_terms=list(parsed.random),
    )


def _used_columns(parsed: ParsedFormula, columns) -> list:
    """Data columns whose names occur in the formula (as names, backticked or in Q())."""
    text = " ".join(
        [parsed.fixed, *parsed.offsets, *(v for t in parsed.random for v in t.variables)]
    )
    quoted = quote_names(text, columns)
    names = set(re.findall(r"[^\s~+\-*/:()|,^=<>!%&\[\]{}'\"`@]+", text))
    names |= set(re.findall(r"""Q\(["'](.*?)["']\)""", quoted))
    if "." in names:  # R's '.': every column
        return list(columns)
    return [c for c in columns if str(c) in names]


def _text_numbers_hint(data, col) -> str:
    if col in data.columns and not pd.api.types.is_numeric_dtype(data[col]):
        values = pd.Series(data[col].dropna().unique())  # every distinct value converts
        if len(values) and pd.to_numeric(values, errors="coerce").notna().all():
            return (
                f"; the column {col!r} holds numbers stored as text: convert it with "
                f"data[{col!r}] = pd.to_numeric(data[{col!r}])"
            )
    return ""


def _plain_dtypes(data: pd.DataFrame, parsed: ParsedFormula) -> pd.DataFrame:
    """pandas' nullable dtypes as float with NaN; refuse dates; flag numbers stored as text."""
    used = _used_columns(parsed, data.columns)
    grouping = set(parsed.grouping_columns)
    out = None
    for col in used:
        series = data[col]
        if pd.api.types.is_datetime64_any_dtype(series) or isinstance(series.dtype, pd.PeriodDtype):
            raise TypeError(
                f"the column {col!r} holds dates, which the model cannot use as they are; "
                f"convert them to a number, e.g. the days since the first date: "
                f"data[{col!r}] = (data[{col!r}] - data[{col!r}].min()).dt.days"
            )
        if isinstance(series.dtype, pd.CategoricalDtype):
            continue  # a factor already, by the user's choice: nothing to convert or flag
        if col not in grouping and isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
            if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
                out = data.copy() if out is None else out
                out[col] = series.to_numpy(dtype=float, na_value=np.nan)
                continue
        if isinstance(series.dtype, pd.CategoricalDtype):
            continue  # its category order is the level order (the first is the reference)
        if col not in grouping and not pd.api.types.is_numeric_dtype(series):
            if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
                all_text = pd.api.types.infer_dtype(series, skipna=False) == "string"
                if col != parsed.response and all_text:
                    # the formula engine reads a categorical column at once, text value by value
                    out = data.copy() if out is None else out
                    out[col] = pd.Categorical(series.astype(object))
                if col != parsed.response and _text_numbers_hint(data, col):
                    warnings.warn(
                        f"the column {col!r} holds numbers stored as text, so it enters the "
                        f"model as a factor with {series.nunique()} levels; to use it as a "
                        f"number, convert it: data[{col!r}] = pd.to_numeric(data[{col!r}])",
                        UserWarning,
                        stacklevel=external_stacklevel(),
                    )
    if out is None:
        out = data
    for col in grouping:
        if col in out.columns and isinstance(out[col].dtype, pd.api.extensions.ExtensionDtype):
            out = out.copy() if out is data else out
            values = out[col].astype(object)
            out[col] = values.where(values.notna(), np.nan)
    return out


def _check_rank(X: np.ndarray, names: list[str]) -> None:
    """Refuse aliased fixed-effect columns, naming them (lme4 drops them with a message)."""
    if X.shape[1] == 0 or np.linalg.matrix_rank(X) == X.shape[1]:
        return
    # as lme4: keep the columns in order, drop each one that the kept ones already span
    kept: list[int] = []
    for j in range(X.shape[1]):
        if np.linalg.matrix_rank(X[:, kept + [j]]) > len(kept):
            kept.append(j)
    rank = len(kept)
    dropped = [j for j in range(X.shape[1]) if j not in kept]
    if rank < X.shape[1]:
        raise FormulaError(
            "the fixed-effects design is rank deficient: "
            + ", ".join(repr(names[i]) for i in dropped)
            + (" is a linear combination" if len(dropped) == 1 else " are linear combinations")
            + " of the other columns (lme4 would drop "
            + ("it" if len(dropped) == 1 else "them")
            + "); remove the redundant terms"
        )


def _check_term_rank(Z: np.ndarray, names, term) -> None:
    """A random term whose effects are linearly dependent (e.g. a slope on a constant)."""
    if Z.shape[1] > 1 and np.linalg.matrix_rank(Z) < Z.shape[1]:
        raise FormulaError(
            f"the effects of the random term {unquote(term.text)} are linearly dependent (one of "
            f"{', '.join(map(repr, names))} is constant or a combination of the others), so "
            "their variances cannot be told apart; drop the redundant effect"
        )
