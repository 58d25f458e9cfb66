"""Response distributions and link functions of generalised linear mixed models, as R's.

A :class:`Family` answers what penalised iteratively reweighted least squares and the Laplace
and quadrature approximations ask: the link and its inverse, ``d mu / d eta``, the variance
function, deviance residuals and the log-density of each row.  The numbers follow R's
``binomial()`` and ``poisson()`` to the bit where R clamps: ``mu`` is kept inside
``(eps, 1 - eps)`` for the binomial links and ``d mu / d eta`` is at least ``eps``, so an
extreme linear predictor never yields a zero weight.

Binomial responses are proportions ``y`` in [0, 1] with prior weights ``n`` (the number of
trials): ``cbind(successes, failures)`` is ``y = successes / (successes + failures)`` with
``n = successes + failures``; a 0/1 response has ``n = 1``.

Examples
--------
>>> import numpy as np
>>> from mixedtools.lmm.families import family
>>> f = family("binomial", "logit")
>>> f.linkinv(np.array([0.0, 2.0])).round(4)
array([0.5   , 0.8808])
>>> float(f.log_density(np.array([1.0]), np.array([0.5]), np.array([1.0]))[0].round(4))
-0.6931
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

__all__ = ["Family", "family"]

_EPS = np.finfo(float).eps
_PROBIT_BOUND = -stats.norm.ppf(_EPS)  # R's probit clamps eta to +-8.125


@dataclass(frozen=True)
class _Link:
    name: str

    def link(self, mu):
        if self.name == "logit":
            return special.logit(mu)
        if self.name == "probit":
            return special.ndtri(mu)
        if self.name == "cloglog":
            return np.log(-np.log1p(-mu))
        return np.log(mu)

    def inverse(self, eta):
        if self.name == "logit":
            return np.clip(special.expit(eta), _EPS, 1.0 - _EPS)
        if self.name == "probit":
            return special.ndtr(np.clip(eta, -_PROBIT_BOUND, _PROBIT_BOUND))
        if self.name == "cloglog":
            return np.clip(-np.expm1(-np.exp(eta)), _EPS, 1.0 - _EPS)
        return np.maximum(np.exp(eta), _EPS)

    def mu_eta(self, eta):
        if self.name == "logit":
            p = special.expit(eta)
            return np.maximum(p * (1.0 - p), _EPS)
        if self.name == "probit":
            return np.maximum(stats.norm.pdf(eta), _EPS)
        if self.name == "cloglog":
            e = np.minimum(eta, 700.0)
            return np.maximum(np.exp(e) * np.exp(-np.exp(e)), _EPS)
        return np.maximum(np.exp(eta), _EPS)


_LINKS = {"binomial": ("logit", "probit", "cloglog"), "poisson": ("log",)}
_STATSMODELS_LINKS = {"Logit": "logit", "Probit": "probit", "CLogLog": "cloglog", "Log": "log"}


def _is_statsmodels_family(obj) -> bool:
    return type(obj).__module__.startswith("statsmodels.genmod.families")


def _from_statsmodels(obj) -> tuple[str, str]:
    """(R's family name, link name) of a statsmodels family, or a ValueError naming it."""
    kind = type(obj).__name__
    link = _STATSMODELS_LINKS.get(type(obj.link).__name__)
    if kind not in ("Binomial", "Poisson") or link is None or link not in _LINKS[kind.lower()]:
        raise ValueError(
            f"statsmodels' {kind} family with the {type(obj.link).__name__} link is not "
            "supported; glmer fits Binomial (Logit, Probit, CLogLog links) and Poisson (Log)"
            + (" (for a normal response use mt.lmer)" if kind == "Gaussian" else "")
        )
    return kind.lower(), link


@dataclass(frozen=True)
class Family:
    """A response distribution with its link (R's ``family`` object).

    Attributes
    ----------
    name : {"binomial", "poisson"}
    link : str
        ``"logit"``, ``"probit"`` or ``"cloglog"`` (binomial), ``"log"`` (Poisson).
    """

    name: str
    link: str

    @property
    def _link(self) -> _Link:
        return _Link(self.link)

    @property
    def canonical(self) -> bool:
        """Whether the link is the family's canonical link (logit, log)."""
        return self.link in ("logit", "log")

    def linkfun(self, mu):
        return self._link.link(mu)

    def linkinv(self, eta):
        return self._link.inverse(eta)

    def mu_eta(self, eta):
        return self._link.mu_eta(eta)

    def variance(self, mu):
        return mu * (1.0 - mu) if self.name == "binomial" else mu

    def start(self, y, weights):
        """R's ``mustart``: ``(n y + 1/2) / (n + 1)`` (binomial), ``y + 1/10`` (Poisson)."""
        if self.name == "binomial":
            return (weights * y + 0.5) / (weights + 1.0)
        return y + 0.1

    def saturated_term(self, y):
        """The part of the deviance residuals that depends on ``y`` only: ``y log y +
        (1 - y) log(1 - y)`` (binomial) or ``y log y - y`` (Poisson), 0 log 0 = 0."""
        if self.name == "binomial":
            return special.xlogy(y, y) + special.xlogy(1.0 - y, 1.0 - y)
        return special.xlogy(y, y) - y

    def deviance_residuals(self, y, mu, weights, saturated=None):
        """Squared deviance residuals ``d_i`` (R's ``dev.resids``); ``saturated`` is
        :meth:`saturated_term` of ``y``, computed once by a caller that evaluates many ``mu``."""
        c = self.saturated_term(y) if saturated is None else saturated
        if self.name == "binomial":
            d = c - y * np.log(mu) - (1.0 - y) * np.log1p(-mu)
        else:
            d = c - y * np.log(mu) + mu
        return 2.0 * weights * d

    def log_density(self, y, mu, weights):
        """Log-density of each row: ``log dbinom(n y, n, mu)`` or ``w log dpois(y, mu)``."""
        if self.name == "binomial":
            n = weights
            k = np.round(n * y)
            return stats.binom.logpmf(k, np.round(n), mu)
        return weights * stats.poisson.logpmf(y, mu)

    @property
    def latent_variance(self) -> float | None:
        """Variance of the latent residual on the link scale: pi^2 / 3 (logit), 1 (probit),
        pi^2 / 6 (cloglog); None for the Poisson (it depends on the mean, see ``icc``)."""
        return {"logit": np.pi**2 / 3, "probit": 1.0, "cloglog": np.pi**2 / 6}.get(self.link)


def family(name="binomial", link=None) -> Family:
    """A :class:`Family` from R's names: ``family("binomial", "probit")``, ``family("poisson")``.

    Parameters
    ----------
    name : str, Family or statsmodels family
        ``"binomial"`` or ``"poisson"``, also in R's spelling (``'binomial(link = "probit")'``);
        a statsmodels ``sm.families.Binomial()`` or ``Poisson()`` with its link; a Family
        passes through.
    link : str, optional
        The link; default the canonical one (logit, log).

    Returns
    -------
    Family

    Examples
    --------
    >>> family("poisson")
    Family(name='poisson', link='log')
    >>> family('binomial(link = "probit")')  # R's spelling
    Family(name='binomial', link='probit')
    >>> import statsmodels.api as sm
    >>> family(sm.families.Binomial(sm.families.links.CLogLog()))  # statsmodels' family
    Family(name='binomial', link='cloglog')
    """
    if isinstance(name, Family):
        if link is not None and link != name.link:
            return family(name.name, link)
        return name
    if _is_statsmodels_family(name):
        sm_name, sm_link = _from_statsmodels(name)
        if link is not None and link != sm_link:
            raise ValueError(f"the family {name!r} has the link {sm_link!r}, not link={link!r}")
        return family(sm_name, sm_link)
    if isinstance(name, str):
        call = re.fullmatch(r"\s*(\w+)\s*\(\s*(?:link\s*=\s*)?[\"']?(\w*)[\"']?\s*\)\s*", name)
        if call:  # R's spelling, binomial(link = "probit") or poisson()
            r_name, r_link = call.group(1), call.group(2) or None
            if link is not None and r_link is not None and link != r_link:
                raise ValueError(f"family {name!r} and link={link!r} name different links")
            return family(r_name, r_link if r_link is not None else link)
    if not isinstance(name, str) or name.lower() not in _LINKS:
        raise ValueError(
            f"family must be 'binomial' or 'poisson', got {name!r} (for a normal response use "
            "mt.lmer)"
        )
    name = name.lower()
    links = _LINKS[name]
    link = links[0] if link is None else link
    if link not in links:
        raise ValueError(f"the {name} family takes the link {', '.join(links)}; got {link!r}")
    return Family(name, link)
