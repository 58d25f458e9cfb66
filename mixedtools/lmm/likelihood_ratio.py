"""Likelihood-ratio tests between two nested lmer fits, as R's ``anova(m0, m1)``.

When the fixed parts differ, both models are refitted by maximum likelihood: REML likelihoods of
models with different fixed effects are not comparable.  When only the random parts differ, the
fits are compared as they are (REML by default).

Testing whether a variance is zero puts the null value on the boundary of the parameter space, so
the likelihood-ratio statistic is not chi-square with the naive df.  For one dropped variance
(with c covariances dropped alongside it) its null distribution is the mixture
0.5 chi2_c + 0.5 chi2_(c+1) (Self & Liang 1987; Stram & Lee 1994): 0.5 chi2_0 + 0.5 chi2_1 for a
random intercept, 0.5 chi2_1 + 0.5 chi2_2 for a random slope with its covariance.  Both p-values
are reported.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools.lmm._nesting import random_part_nested
from mixedtools.lmm.fit import LmerResult
from mixedtools.lmm.glmer_results import GlmerResult

__all__ = ["lrt"]


def _random_parameters(fit: LmerResult) -> tuple[set, set]:
    """Variances {(group, effect)} and covariances {(group, effect, effect)} of a fit."""
    vc = fit.varcorr
    vc = vc[vc["group"] != "Residual"]
    variances = {
        (g, v) for g, v, w in zip(vc["group"], vc["var1"], vc["var2"], strict=True) if not w
    }
    covariances = {
        (g, *sorted((v, w)))
        for g, v, w in zip(vc["group"], vc["var1"], vc["var2"], strict=True)
        if w
    }
    return variances, covariances


def _aligned_rows(reduced: LmerResult, full: LmerResult) -> np.ndarray:
    """Positions that put the reduced fit's rows in the full fit's order.

    The fits may have been made on the same rows sorted differently; rows are matched by their
    labels in the caller's data (and must then carry the same response).
    """
    same_data_error = ValueError(
        "the two fits use different data (response or rows differ, e.g. through missing "
        "values); a likelihood-ratio test needs both models fitted to the same rows"
    )
    y_r, y_f = reduced.design.y, full.design.y
    if len(y_r) != len(y_f):
        raise same_data_error
    index_r, index_f = reduced.design.row_index, full.design.row_index
    if index_r.equals(index_f) or not (index_r.is_unique and index_f.is_unique):
        order = np.arange(len(y_r))
    else:
        order = index_r.get_indexer(index_f)
        if (order < 0).any():
            raise same_data_error
    if not np.array_equal(y_r[order], y_f):
        raise same_data_error
    return order


def _rank(X: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(X)) if X.shape[1] else 0


def _fixed_relation(X_reduced: np.ndarray, X_full: np.ndarray) -> str:
    """ "same", "nested" (reduced's columns lie in full's span) or "not nested"."""
    rank_f = _rank(X_full)
    rank_both = _rank(np.column_stack([X_reduced, X_full]))
    if rank_both > rank_f:
        return "not nested"
    return "same" if _rank(X_reduced) == rank_f else "nested"


def _check_parameter_counts(reduced: LmerResult, full: LmerResult, same_model: bool) -> None:
    """Refuse a test without parameters to test, saying why (not "pass the smaller first")."""
    n_r, n_f = reduced.n_params, full.n_params
    if n_f > n_r:
        return
    if n_f < n_r:
        raise ValueError(
            f"the 'full' model has fewer parameters ({n_f}) than the 'reduced' one ({n_r}): "
            "pass the smaller model first, lrt(reduced, full)"
        )
    if same_model:
        raise ValueError(
            f"the two fits are the same model (the same fixed part, the same random terms and "
            f"{n_f} parameters each): there is nothing to test"
        )
    raise ValueError(
        f"the two models have the same number of parameters ({n_f} each), so neither is nested "
        "in the other and a likelihood-ratio test does not apply (it needs the reduced model "
        "to have fewer parameters); compare them by AIC or BIC instead"
    )


def _warn_if_not_nested(fixed_relation: str, random_nested: bool) -> None:
    if fixed_relation == "not nested":
        warnings.warn(
            "the fixed part of the 'reduced' model is not contained in that of the 'full' one: "
            "the models are not nested, and the likelihood-ratio test does not apply (compare "
            "them by AIC or BIC instead)",
            stacklevel=3,
        )
    if not random_nested:
        warnings.warn(
            "the random part of the 'reduced' model is not contained in the 'full' one (no "
            "term of 'full' can reproduce the covariance of each term of 'reduced'); the models "
            "may not be nested, and the test may be meaningless",
            stacklevel=3,
        )


def _mixture_p(stat: float, c: int) -> float:
    """p-value of 0.5 chi2_c + 0.5 chi2_(c+1) (chi2_0 is a point mass at zero)."""
    upper = stats.chi2.sf(stat, c + 1)
    lower = stats.chi2.sf(stat, c) if c > 0 else float(stat <= 0)
    return 0.5 * lower + 0.5 * upper


def lrt(reduced: LmerResult, full: LmerResult) -> pd.DataFrame:
    """Likelihood-ratio test of a reduced model against a fuller one.

    Parameters
    ----------
    reduced, full : LmerResult
        Two fits of the same response on the same rows (in any order: rows are matched by their
        labels in the data); `reduced` nested in `full`.

    Returns
    -------
    DataFrame
        One row per model (index "reduced", "full"), columns npar, aic, bic, loglik, deviance, and
        in the "full" row chisq, df, p_value and p_naive.  ``p_value`` is boundary-corrected
        (chi-bar-square mixture) when the models differ by one variance and its covariances, and
        equals ``p_naive`` otherwise.  ``attrs`` records the method ("REML" or "ML", refitted or
        not) and the null distribution used.

    Raises
    ------
    ValueError
        When the fits use different data, or the "full" model has no more parameters than the
        reduced one (fewer: the order is swapped; as many: the models are not nested, or they
        are the same model).

    Warns
    -----
    UserWarning
        When the fixed or the random part of `reduced` is not contained in that of `full`: the
        models are then not nested and the test is not valid. The random part is contained when
        each of its terms is a special case of a term of `full` (``(1 | worker/machine)`` is one
        of ``(machine | worker)``: a compound-symmetric covariance), as R's ``anova`` assumes.

    Examples
    --------
    >>> import mixedtools as mt
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> m0 = mt.lmer("reaction ~ days + (1 | subject)", sleep)
    >>> m1 = mt.lmer("reaction ~ days + (days | subject)", sleep)
    >>> out = mt.lrt(m0, m1)
    >>> round(float(out.loc["full", "chisq"]), 3), int(out.loc["full", "df"])
    (42.837, 2)
    >>> out.attrs["null_distribution"]
    '0.5 chi2(1) + 0.5 chi2(2)'
    """
    for name, fit in (("reduced", reduced), ("full", full)):
        if not isinstance(fit, (LmerResult, GlmerResult)):
            raise TypeError(f"{name} must be a fit returned by mixedtools.lmer or glmer")
    if type(reduced) is not type(full) or getattr(reduced, "family", None) != getattr(
        full, "family", None
    ):
        raise TypeError("both fits must be lmer fits, or glmer fits of the same family and link")
    order = _aligned_rows(reduced, full)
    relation = _fixed_relation(reduced.design.X[order], full.design.X)
    same_fixed = relation == "same"
    var_r, cov_r = _random_parameters(reduced)
    var_f, cov_f = _random_parameters(full)
    by_name = var_r <= var_f and cov_r <= cov_f
    _check_parameter_counts(reduced, full, same_fixed and var_r == var_f and cov_r == cov_f)
    _warn_if_not_nested(relation, by_name or random_part_nested(reduced, full, order))
    refit = (not same_fixed and full.reml) or reduced.reml != full.reml  # glmer fits are ML
    if refit:
        reduced, full = reduced.refit(reml=False), full.refit(reml=False)
    df = full.n_params - reduced.n_params
    stat = max(2.0 * (full.loglik - reduced.loglik), 0.0)
    p_naive = float(stats.chi2.sf(stat, df))

    dropped_var = len(var_f - var_r) if by_name else 0
    dropped_cov = len(cov_f - cov_r)
    if same_fixed and by_name and dropped_var == 1 and dropped_cov == df - 1:
        p_value = float(_mixture_p(stat, dropped_cov))
        null = f"0.5 chi2({dropped_cov}) + 0.5 chi2({dropped_cov + 1})"
        if dropped_cov == 0:
            null = "0.5 chi2(0) + 0.5 chi2(1)"
    else:
        p_value = p_naive
        null = f"chi2({df})"
        if same_fixed and dropped_var > 1:
            null += " (several variances dropped: the naive p-value is conservative)"

    rows = []
    for fit in (reduced, full):
        rows.append(
            {
                "npar": fit.n_params,
                "aic": fit.aic,
                "bic": fit.bic,
                "loglik": fit.loglik,
                "deviance": -2.0 * fit.loglik,
            }
        )
    out = pd.DataFrame(rows, index=["reduced", "full"])
    out["chisq"] = [np.nan, stat]
    out["df"] = [np.nan, df]
    out["p_value"] = [np.nan, p_value]
    out["p_naive"] = [np.nan, p_naive]
    out.attrs["method"] = "ML (refitted)" if refit else ("REML" if full.reml else "ML")
    out.attrs["null_distribution"] = null
    out.attrs["formulas"] = {"reduced": reduced.formula, "full": full.formula}
    return out
