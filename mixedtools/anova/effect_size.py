"""Effect sizes of ANOVA tables: eta squared, partial and generalised eta squared, omega squared.

For a term with sum of squares ``SS`` on ``df`` degrees of freedom, tested against an error
stratum with sum of squares ``SSE`` and mean square ``MSE``:

``eta2``
    ``SS / SS_total``, where ``SS_total`` is the sum of every term's SS and every error SS in
    the table (what the effectsize package's ``eta_squared(partial = FALSE)`` divides by).
``eta2_partial``
    ``SS / (SS + SSE)``.
``ges``
    Generalised eta squared (Olejnik & Algina, 2003; Bakeman, 2005), as ``afex`` computes it:
    ``SS / (SS + sum of all error SS + O)``, where ``O`` is the summed SS of the terms that
    involve a *measured* (observed, not manipulated) factor -- other than the term itself. With
    no measured factors and one error stratum (a between-subjects design) it equals partial
    eta squared.
``omega2`` and ``omega2_partial``
    As the effectsize package defines them (Olejnik & Algina, 2003). Between subjects:
    ``(SS - df MSE) / (SS_total + MSE)`` and ``(SS - df MSE) / (SS + (N - df) MSE)`` with N
    observations. With repeated measures: ``(SS - df MSE) / (SS_total + MS_subjects)`` and
    ``(SS - df MSE) / (SS + [SSE if the term is within subjects] + SS_subjects +
    MS_subjects)``, with the between-subjects error stratum as "subjects". Omega squared can
    be negative (an effect smaller than its sampling noise); it is reported as computed, where
    effectsize shows ``max(0, omega2)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["effect_sizes", "between_effect_sizes", "rm_effect_sizes", "EFFECT_SIZE_COLUMNS"]

EFFECT_SIZE_COLUMNS = ("eta2", "eta2_partial", "ges", "omega2", "omega2_partial")


def _observed_mask(terms, observed) -> np.ndarray:
    if observed is None:
        return np.zeros(len(terms), bool)
    observed = [observed] if isinstance(observed, str) else list(observed)
    mask = np.zeros(len(terms), bool)
    for name in observed:
        hit = np.array([name in str(term).split(":") for term in terms], bool)
        if not hit.any():
            raise ValueError(
                f"observed: {name!r} is not a factor of the table (terms: {', '.join(terms)})"
            )
        mask |= hit
    return mask


def _generalised(ss, error_total, observed):
    obs_ss = ss * observed
    return ss / (ss + error_total + obs_ss.sum() - obs_ss)


def between_effect_sizes(ss, df, ss_error, df_error, n_obs, terms, observed=None) -> pd.DataFrame:
    """Effect sizes of the terms of a between-subjects table (one error term).

    Examples
    --------
    >>> out = between_effect_sizes([30.0, 5.0], [1, 2], 100.0, 40, 44, ["a", "b"])
    >>> out.round(4)
         eta2  eta2_partial     ges  omega2  omega2_partial
    a  0.2222        0.2308  0.2308     0.2             0.2
    b  0.0370        0.0476  0.0476     0.0             0.0
    """
    ss, df = np.asarray(ss, float), np.asarray(df, float)
    mse = ss_error / df_error
    total = ss.sum() + ss_error
    observed = _observed_mask(terms, observed)
    return pd.DataFrame(
        {
            "eta2": ss / total,
            "eta2_partial": ss / (ss + ss_error),
            "ges": _generalised(ss, ss_error, observed),
            "omega2": (ss - df * mse) / (total + mse),
            "omega2_partial": (ss - df * mse) / (ss + (n_obs - df) * mse),
        },
        index=pd.Index(list(terms)),
    )


def rm_effect_sizes(
    ss, df, ss_error, df_error, stratum, subject_ss, subject_df, terms, observed=None
) -> pd.DataFrame:
    """Effect sizes of the terms of a repeated-measures table (one error stratum per term).

    ``stratum`` names each term's error stratum ("(between)" for the subjects stratum);
    ``subject_ss`` and ``subject_df`` are that stratum's error SS and df.
    """
    ss, df = np.asarray(ss, float), np.asarray(df, float)
    ss_error, df_error = np.asarray(ss_error, float), np.asarray(df_error, float)
    stratum = np.asarray(stratum, object)
    mse = ss_error / df_error
    # one error SS per stratum (the between stratum also when no between terms are in the table)
    errors = dict(zip(stratum, ss_error, strict=True))
    errors["(between)"] = subject_ss
    error_total = float(sum(errors.values()))
    total = ss.sum() + error_total
    ms_subjects = subject_ss / subject_df
    is_within = stratum != "(between)"
    observed = _observed_mask(terms, observed)
    num = ss - df * mse
    return pd.DataFrame(
        {
            "eta2": ss / total,
            "eta2_partial": ss / (ss + ss_error),
            "ges": _generalised(ss, error_total, observed),
            "omega2": num / (total + ms_subjects),
            "omega2_partial": num / (ss + is_within * ss_error + subject_ss + ms_subjects),
        },
        index=pd.Index(list(terms)),
    )


def effect_sizes(table: pd.DataFrame, observed=None) -> pd.DataFrame:
    """Effect sizes of an ``mt.anova.factorial`` or ``mt.anova.rm`` table.

    Parameters
    ----------
    table : DataFrame
        The result of :func:`mixedtools.anova.factorial` or :func:`mixedtools.anova.rm`.
    observed : str or list of str, optional
        Measured (not manipulated) factors, for generalised eta squared (afex's ``observed``).

    Returns
    -------
    DataFrame
        Indexed by term; columns ``eta2, eta2_partial, ges, omega2, omega2_partial`` (see the
        module's description for the definitions).

    Examples
    --------
    >>> import mixedtools as mt
    >>> obk = mt.datasets.load("obrien_kaiser")
    >>> tab = mt.anova.rm(obk, "value", "id", within=["phase", "hour"], between="treatment")
    >>> mt.anova.effect_sizes(tab).loc[["treatment", "phase"], ["ges", "eta2_partial"]].round(4)
                  ges  eta2_partial
    treatment  0.2110        0.3095
    phase      0.1638        0.5974
    """
    attrs = table.attrs
    if "stratum" in attrs:  # repeated measures
        return rm_effect_sizes(
            table["sum_sq"],
            table["num_df"],
            attrs["error_ss"][table.index],
            table["den_df"],
            attrs["stratum"][table.index],
            attrs["subject_ss"],
            attrs["subject_df"],
            list(table.index),
            observed,
        )
    if "Residual" in table.index and "sum_sq" in table.columns:
        terms = [t for t in table.index if t != "Residual"]
        res = table.loc["Residual"]
        n_obs = int(table["df"].sum()) + 1
        return between_effect_sizes(
            table.loc[terms, "sum_sq"],
            table.loc[terms, "df"],
            float(res["sum_sq"]),
            float(res["df"]),
            n_obs,
            terms,
            observed,
        )
    raise ValueError("effect_sizes needs a table from mt.anova.factorial or mt.anova.rm")
