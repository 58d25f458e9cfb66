"""Type III hypotheses for the fixed-effects terms of a model, independent of contrast coding.

SAS and lmerTest define the type III hypothesis of a term as the test that its coefficients are
zero when every factor is coded with sum-to-zero contrasts. With that coding the test of a
covariate that interacts with a factor is about its slope averaged (with equal weights) over the
factor's levels, and the test of a factor is about differences at covariate value 0. We obtain the
hypothesis in the user's own coding by mapping between the two parameterisations: both designs span
the same column space, ``X_sum = X T``, so ``beta_sum = T^-1 beta`` and the hypothesis matrix is
the term's rows of ``T^-1``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy

from mixedtools.rformula import EVAL_ENV

__all__ = ["type3_hypotheses"]


# The formula front-end's private functions (_mt_C, _mt_Sum, _mt_log, ...): data columns called
# "C" or "Sum" cannot shadow them.
_ENV = EVAL_ENV


def _sum_coded_factor(factor, info):
    if info.type == "categorical":
        return patsy.EvalFactor(f"_mt_C({factor.code}, _mt_Sum)")
    return factor


def type3_hypotheses(
    design_info: patsy.DesignInfo, data: pd.DataFrame, X: np.ndarray
) -> dict[str, np.ndarray]:
    """Hypothesis matrices ``L`` (one per model term but the intercept) of the type III tests.

    Parameters
    ----------
    design_info : patsy.DesignInfo
        Design information of the fixed part, as fitted.
    data : DataFrame
        The rows used in the fit.
    X : ndarray (N, p)
        The fixed-effects design in the user's coding.

    Returns
    -------
    dict
        Term name -> ``L`` of shape (q, p); ``L beta = 0`` is the term's type III hypothesis.

    Examples
    --------
    >>> import numpy as np, pandas as pd, patsy
    >>> d = pd.DataFrame({"f": list("aabbcc"), "x": [1.0, 2, 3, 5, 4, 7], "y": np.arange(6.0)})
    >>> y, X = patsy.dmatrices("y ~ f * x", d)
    >>> L = type3_hypotheses(X.design_info, d, np.asarray(X))
    >>> list(L), (L["x"].round(3) + 0.0).tolist()
    (['f', 'x', 'f:x'], [[0.0, 0.0, 0.0, 1.0, 0.333, 0.333]])
    """
    new_terms = []
    for term in design_info.terms:
        factors = [_sum_coded_factor(f, design_info.factor_infos[f]) for f in term.factors]
        new_terms.append(patsy.Term(factors))
    X_sum = patsy.dmatrix(patsy.ModelDesc([], new_terms), data, eval_env=_ENV, NA_action="raise")
    X_sum = np.asarray(X_sum, dtype=float)
    T, *_ = np.linalg.lstsq(X, X_sum, rcond=None)
    if not np.allclose(X @ T, X_sum, atol=1e-8 * max(1.0, np.abs(X_sum).max())):
        raise ValueError(
            "type III hypotheses need the model's terms to follow the marginality principle "
            "(e.g. a:b together with a and b); this formula does not"
        )
    T_inv = np.linalg.inv(T)
    out: dict[str, np.ndarray] = {}
    for name, sl in design_info.term_name_slices.items():
        if name == "Intercept":
            continue
        out[name] = T_inv[sl, :]
    return out
