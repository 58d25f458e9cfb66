"""Repeated-measures and split-plot ANOVA with Greenhouse-Geisser and Huynh-Feldt corrections,
and Mauchly's test of sphericity, as ``afex::aov_car``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from mixedtools._warnings import external_stacklevel
from mixedtools.anova import _linear as _lin
from mixedtools.anova import _rm_data as _rmdata
from mixedtools.anova import effect_size as _es
from mixedtools.anova.between import _check_cells

__all__ = ["rm", "mauchly"]


def _gg_epsilon(error: np.ndarray) -> float:
    p = error.shape[0]
    if p < 2:
        return 1.0
    eigenvalues = np.linalg.eigvalsh(error)
    eigenvalues = eigenvalues[eigenvalues > eigenvalues.max() * 1e-12]
    return float(eigenvalues.sum() ** 2 / (p * np.sum(eigenvalues**2)))


def _hf_epsilon(gg: float, df_error: int, p: int) -> float:
    if p < 2:
        return 1.0
    return ((df_error + 1) * p * gg - 2) / (p * (df_error - p * gg))


def _rm_parts(data, dv, subject, within, between, ss_type=3):
    if ss_type not in (2, 3):
        raise ValueError(f"ss_type must be 2 or 3 for repeated measures, not {ss_type!r}.")
    within = _rmdata.as_list(within, "within")
    between = _rmdata.as_list(between, "between")
    wide = _rmdata.to_wide(data, dv, subject, within, between, stacklevel=4)
    if between:
        _check_cells(wide.subjects, between)
    design = _lin.sum_coded_design(wide.subjects, between)
    parts = []
    for term in [(), *_lin.term_list(within)]:
        z = wide.y @ _rmdata.within_contrast(wide.within_levels, term)
        names, sscps, dfs, error, df_error = _lin.hypothesis_sscp(
            design, z, ss_type, include_intercept=True
        )
        parts.append((term, names, sscps, dfs, error, df_error))
    if parts[0][5] < 1:
        raise ValueError(
            "There are no residual degrees of freedom between subjects (as many subjects as "
            "between-subjects cells): add subjects."
        )
    return parts, wide


def rm(
    data: pd.DataFrame,
    dv: str,
    subject: str,
    within,
    between=None,
    ss_type: int = 3,
    observed=None,
) -> pd.DataFrame:
    """Repeated-measures and mixed (split-plot) ANOVA with sphericity corrections.

    Univariate type III tests from long data, as ``afex::aov_car`` and
    ``summary(car::Anova(mlm, idata, idesign, type = 3), multivariate = FALSE)`` compute them:
    each within-subject term is tested on its orthonormal contrasts of the subject's cell
    means, against that term's subjects-by-term error; between-subjects factors are coded with
    sum-to-zero contrasts, so unbalanced between groups are handled as type III.

    Sphericity corrections: the Greenhouse-Geisser epsilon is
    ``(sum lambda)^2 / (p * sum lambda^2)`` over the eigenvalues of the term's error SSCP
    matrix (p = the term's df). The Huynh-Feldt epsilon is the Lecoutre (1991)-corrected one
    that R's car and afex use,
    ``eps_hf = ((N - g + 1) * p * eps_gg - 2) / (p * (N - g - p * eps_gg))``
    with N subjects in g between-subjects groups; it is reported as computed (it may exceed 1)
    and ``p_hf`` uses ``min(eps_hf, 1)``. The original Huynh-Feldt (1976) formula has ``N``
    where this has ``N - g + 1``; the two agree when there are no between-subjects factors
    (g = 1). pingouin (``pingouin.epsilon(correction="hf")``, read from its source)
    uses ``(n (k - 1) eps_gg - 2) / ((k - 1) (n - 1 - (k - 1) eps_gg))``, that
    one-group form, so for purely within-subject designs its HF epsilon equals R's -- except
    that pingouin caps the epsilon it reports at 1, while R (and this function) report the
    raw value and cap it only in the p-value; pingouin has no between-groups version of the
    formula. Epsilon is 1 for terms
    with one df (and for between-subjects terms), where sphericity holds trivially.

    Parameters
    ----------
    data : pandas.DataFrame
        Long data: one row per observation.
    dv : str
        Numeric response column.
    subject : str
        Subject identifier column.
    within : str or list of str
        Within-subject factors (every subject sees every combination of their levels).
    between : str or list of str, optional
        Between-subjects factors (constant within a subject).
    ss_type : {3, 2}, default 3
        Type III (afex's and SPSS's default) or type II (``afex::aov_car(type = 2)``,
        ``car::Anova(type = 2)``; pingouin's ``mixed_anova`` gives these numbers). They differ
        only when the between-subjects groups are unbalanced.
    observed : str or list of str, optional
        Measured (not manipulated) factors, for generalised eta squared (afex's ``observed``).

    Returns
    -------
    pandas.DataFrame
        Indexed by term (between terms first, then each within term followed by its
        interactions with the between terms, as afex orders them); columns ``sum_sq, num_df,
        den_df, F, p_value, eps_gg, p_gg, eps_hf, p_hf``, then the effect sizes ``eta2,
        eta2_partial, ges, omega2, omega2_partial`` (``ges`` is afex's generalised eta squared;
        see :mod:`mixedtools.anova.effect_size`). ``table.attrs`` holds ``error_ss`` (Series
        by term), ``stratum`` (each term's error stratum), ``subject_ss``, ``subject_df``,
        ``n_subjects`` and ``n_averaged``.

    Raises
    ------
    ValueError
        Unknown column, missing values, subjects with missing cells (named; use ``mt.lmer``),
        a single subject, a factor with one level, a between factor varying within a subject,
        an ss_type other than 2 or 3.
    TypeError
        Non-numeric response.

    Warns
    -----
    UserWarning
        When several rows of a subject fall into one cell: they are averaged (count given).

    Examples
    --------
    >>> import mixedtools as mt
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> table = mt.anova.rm(sleep, dv="reaction", subject="subject", within="days")
    >>> table[["num_df", "den_df", "F", "eps_gg", "eps_hf"]].round(4)
          num_df  den_df        F  eps_gg  eps_hf
    days       9     153  18.7027   0.369  0.4694
    """
    parts, wide = _rm_parts(data, dv, subject, within, between, ss_type)
    rows, error_ss, stratum = {}, {}, {}
    for term, names, sscps, dfs, error, df_error in parts:
        if not term:
            subject_ss, subject_df = float(np.trace(error)), df_error * error.shape[0]
        p = error.shape[0]
        gg = _gg_epsilon(error)
        hf = _hf_epsilon(gg, df_error, p)
        for name, hypothesis, df in zip(names, sscps, dfs, strict=True):
            if not term and name == "(Intercept)":
                continue
            within_name = _lin.term_name(term)
            if term:
                label = within_name if name == "(Intercept)" else f"{name}:{within_name}"
            else:
                label = name
            ss, sse = float(np.trace(hypothesis)), float(np.trace(error))
            num_df, den_df = df * p, df_error * p
            f_value = (ss / num_df) / (sse / den_df)
            rows[label] = {
                "sum_sq": ss,
                "num_df": num_df,
                "den_df": den_df,
                "F": f_value,
                "p_value": stats.f.sf(f_value, num_df, den_df),
                "eps_gg": gg,
                "p_gg": stats.f.sf(f_value, gg * num_df, gg * den_df),
                "eps_hf": hf,
                "p_hf": stats.f.sf(f_value, min(hf, 1) * num_df, min(hf, 1) * den_df),
            }
            error_ss[label] = sse
            stratum[label] = within_name if term else "(between)"
    table = pd.DataFrame.from_dict(rows, orient="index")
    table[["num_df", "den_df"]] = table[["num_df", "den_df"]].astype(int)
    table.attrs["error_ss"] = pd.Series(error_ss)
    table.attrs["stratum"] = pd.Series(stratum)
    table.attrs["subject_ss"] = subject_ss
    table.attrs["subject_df"] = subject_df
    sizes = _es.effect_sizes(table, observed)
    for column in sizes.columns:
        table[column] = sizes[column].to_numpy()
    table.attrs["n_subjects"] = int(wide.y.shape[0])
    table.attrs["n_averaged"] = wide.n_averaged
    table.attrs["ss_type"] = ss_type
    return table


def _mauchly_row(error: np.ndarray, n: int, n_cells: int, term: str) -> dict:
    """W, chi2, df and p of Mauchly's test on the error SSCP matrix of one within term."""
    p = error.shape[0]
    df = p * (p + 1) // 2 - 1
    if n < p:
        warnings.warn(
            f"Mauchly's test of {term!r} needs at least {p} error df "
            f"(subjects minus between-subjects cells), but there are {n}: the error "
            "covariance matrix is singular and W, chi2 and p are undefined (NaN).",
            UserWarning,
            stacklevel=external_stacklevel(),
        )
        return {"W": np.nan, "chi2": np.nan, "df": df, "p_value": np.nan}
    sign, logdet = np.linalg.slogdet(error)
    log_w = (logdet if sign > 0 else -np.inf) - p * np.log(np.trace(error) / p)
    rho = 1 - (2 * p**2 + p + 2) / (6 * p * n)
    w2 = (
        (p + 2)
        * (p - 1)
        * (p - 2)
        * (2 * p**3 + 6 * p**2 + 3 * n_cells + 2)
        / (288 * (n * p * rho) ** 2)
    )
    chi2 = -n * rho * log_w
    pr1, pr2 = stats.chi2.sf(chi2, df), stats.chi2.sf(chi2, df + 4)
    return {
        "W": float(np.exp(log_w)),
        "chi2": float(chi2),
        "df": int(df),
        "p_value": float(pr1 + w2 * (pr2 - pr1)),
    }


def mauchly(data: pd.DataFrame, dv: str, subject: str, within, between=None) -> pd.DataFrame:
    """Mauchly's test of sphericity for each within-subject term with two or more df.

    ``W = det(E) / (trace(E) / p)^p`` for the term's error SSCP matrix E on p orthonormal
    contrasts; ``chi2 = -n * rho * log(W)`` with ``n`` the error df and
    ``rho = 1 - (2p^2 + p + 2) / (6 p n)``, on ``p(p + 1)/2 - 1`` df. The p-value adds the
    second-order term ``w2 * (P(chi2_{df+4} > chi2) - P(chi2_df > chi2))`` of Anderson (1958)
    exactly as R's ``stats::mauchly.test`` and ``car`` compute it: in one factor of ``w2``,
    ``3 p`` is there ``3 c`` with c the number of within-subject cells (``ncol`` of the data
    matrix), and so it is here, to give R's p-values; the correction only matters for small
    samples and terms with three or more df. Terms with one df are spherical by definition and
    not listed (as in R); when no term is left, the table is empty and a warning says why.
    With fewer error df than the term has df (too few subjects) the test
    is undefined: W, chi2 and p_value are NaN, with a warning.

    Parameters
    ----------
    data, dv, subject, within, between
        As for :func:`rm`.

    Returns
    -------
    pandas.DataFrame
        Indexed by within term, each followed by its interactions with the between-subjects
        terms (``treatment:phase``), as ``summary(afex_fit)$sphericity.tests`` lists them: an
        interaction is tested on the error matrix of its within term, so its row repeats that
        term's numbers. Columns ``W, chi2, df, p_value``.

    Examples
    --------
    >>> import mixedtools as mt
    >>> sleep = mt.datasets.load("sleepstudy")
    >>> test = mt.anova.mauchly(sleep, dv="reaction", subject="subject", within="days")
    >>> test.round(4)
               W      chi2  df  p_value
    days  0.0002  116.2524  44      0.0
    """
    parts, wide = _rm_parts(data, dv, subject, within, between)
    n_cells = wide.y.shape[1]
    rows = {}
    for term, names, _sscps, _dfs, error, n in parts:
        if not term or error.shape[0] < 2:
            continue
        within_name = _lin.term_name(term)
        row = _mauchly_row(error, n, n_cells, within_name)
        # the term's interactions with the between terms share its error matrix (car, afex)
        for name in names:
            label = within_name if name == "(Intercept)" else f"{name}:{within_name}"
            rows[label] = dict(row)
    if not rows:
        warnings.warn(
            "No within-subject term has two or more df (every within factor has two levels), "
            "so sphericity holds by definition and there is nothing to test: the table is empty.",
            UserWarning,
            stacklevel=2,
        )
    return pd.DataFrame.from_dict(rows, orient="index", columns=["W", "chi2", "df", "p_value"])
