"""NumPy versions of the model's pieces: linear predictor, likelihoods, prior draws, simulation.

The PyMC graph in :mod:`cseoutcomes.models._pymc` and these functions describe
the same model; the tests check that they agree (log-likelihood at the same
parameter values). These are used after sampling (log-likelihood for LOO,
estimands, predictions) and for simulating from the model (parameter recovery,
simulation-based calibration), without PyMC.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import expit, log_expit

__all__ = [
    "cutpoints_from_probabilities",
    "linear_predictor",
    "ordinal_logp",
    "ordinal_probabilities",
    "ordinal_sample",
]

BIG = 1e4  # stands in for the infinite outer thresholds; exp(-BIG) is exactly 0


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x <= 0, accurate near 0 and for very negative x (Mächler 2012)."""
    x = np.minimum(x, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(x > -np.log(2), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def ordinal_logp(y: np.ndarray, eta: np.ndarray, cutpoints: np.ndarray) -> np.ndarray:
    """Log-probability of categories ``y`` (0..K-1) under the cumulative-logit model.

    P(y = k) = F(c_k - eta) - F(c_{k-1} - eta), with F the logistic CDF and
    c_{-1} = -inf, c_{K-1} = +inf. Computed as
    log F(a) + log F(-b) + log(1 - exp(b - a)) with a = c_k - eta, b = c_{k-1} - eta,
    which stays accurate in both tails (F(a) - F(b) = F(a) F(-b) (1 - e^(b - a))).

    ``eta`` has shape (..., n); ``cutpoints`` (..., K-1) with the same leading shape.
    """
    cut = np.asarray(cutpoints, dtype=float)
    lead = cut.shape[:-1]
    pad = np.concatenate([np.full((*lead, 1), -BIG), cut, np.full((*lead, 1), BIG)], axis=-1)
    upper = np.take_along_axis(pad, np.broadcast_to(y + 1, lead + y.shape), axis=-1) if lead else pad[y + 1]
    lower = np.take_along_axis(pad, np.broadcast_to(y, lead + y.shape), axis=-1) if lead else pad[y]
    a = upper - eta
    b = lower - eta
    return log_expit(a) + log_expit(-b) + _log1mexp(b - a)


def ordinal_probabilities(eta: np.ndarray, cutpoints: np.ndarray) -> np.ndarray:
    """Category probabilities, shape eta.shape + (K,).

    ``cutpoints`` has shape (K-1,) or broadcasts against ``eta[..., None]``
    (e.g. (S, 1, K-1) for eta of shape (S, n)).
    """
    cum = expit(np.asarray(cutpoints) - eta[..., None])
    ones = np.ones((*cum.shape[:-1], 1))
    zeros = np.zeros_like(ones)
    return np.diff(np.concatenate([zeros, cum, ones], axis=-1), axis=-1)


def ordinal_sample(eta: np.ndarray, cutpoints: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw categories: the number of thresholds below a logistic latent eta + e.

    ``cutpoints``: (K-1,) or broadcasting against ``eta[..., None]``.
    """
    latent = eta + rng.logistic(size=eta.shape)
    cut = np.asarray(cutpoints)
    if cut.ndim == 1:
        return np.searchsorted(cut, latent, side="left").astype(np.int64)
    return (latent[..., None] > cut).sum(axis=-1).astype(np.int64)


def ordinal_expected(eta: np.ndarray, cutpoints: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Expected category position E[y] = sum_k P(y > k) = sum_k F(eta - c_k), for eta (S, n), cutpoints (S, K-1).

    Computed in chunks of draws so memory stays at chunk x n x (K-1).
    """
    out = np.empty(eta.shape)
    for start in range(0, eta.shape[0], chunk):
        sl = slice(start, start + chunk)
        out[sl] = expit(eta[sl, :, None] - cutpoints[sl, None, :]).sum(axis=-1)
    return out


def cutpoints_from_probabilities(p: np.ndarray) -> np.ndarray:
    """Thresholds at which latent 0 has category probabilities ``p`` (last axis sums to 1)."""
    cum = np.cumsum(p, axis=-1)[..., :-1]
    cum = np.clip(cum, 1e-12, 1 - 1e-12)
    return np.log(cum) - np.log1p(-cum)


def induced_dirichlet_logp(cutpoints: np.ndarray, alpha: float) -> np.ndarray:
    """Log-density (up to a constant) of the induced Dirichlet prior on ordered thresholds (Betancourt 2019).

    Dirichlet(alpha) on p = diff(0, F(c), 1) plus log|Jacobian| = sum_k log f(c_k)
    (the Jacobian determinant of Betancourt's augmented map is K prod f(c_k)).
    """
    c = np.asarray(cutpoints, dtype=float)
    lead = c.shape[:-1]
    pad = np.concatenate([np.full((*lead, 1), -BIG), c, np.full((*lead, 1), BIG)], axis=-1)
    a, b = pad[..., 1:], pad[..., :-1]
    logp_cat = log_expit(a) + log_expit(-b) + _log1mexp(b - a)
    jac = (log_expit(c) + log_expit(-c)).sum(axis=-1)
    return (alpha - 1.0) * logp_cat.sum(axis=-1) + jac


def linear_predictor(params: Mapping[str, np.ndarray], design, *, rows: np.ndarray | None = None) -> np.ndarray:
    """eta for every draw and row: shape (S, n).

    ``params`` holds arrays with a leading draw axis: ``slope`` (S,),
    ``person_intercept`` (S, P), optional ``person_slope`` (S, P),
    ``slope_<level>`` / ``intercept_<level>`` (S, G), ``beta`` (S, q) and, for
    continuous outcomes, ``intercept`` (S,).
    """
    sl = slice(None) if rows is None else rows
    t = design.t[sl]
    person = design.person[sl]
    slope = np.asarray(params["slope"])[:, None] * np.ones_like(t)[None, :]
    if "person_slope" in params:
        slope = slope + params["person_slope"][:, person]
    eta = params["person_intercept"][:, person].astype(float, copy=True)
    for level, g in design.groups.items():
        idx = g.index[sl]
        if f"slope_{level}" in params:
            slope = slope + params[f"slope_{level}"][:, idx]
        if f"intercept_{level}" in params:
            eta = eta + params[f"intercept_{level}"][:, idx]
    eta = eta + slope * t[None, :]
    if "beta" in params and design.X.shape[1]:
        eta = eta + np.asarray(params["beta"]) @ design.X[sl].T
    if "intercept" in params:
        eta = eta + np.asarray(params["intercept"])[:, None]
    return eta


def row_slopes(params: Mapping[str, np.ndarray], design, *, rows: np.ndarray | None = None) -> np.ndarray:
    """Total slope of time (latent units per time unit) at every row (or ``rows``), shape (S, n)."""
    sl = slice(None) if rows is None else rows
    person = design.person[sl]
    slope = np.asarray(params["slope"])[:, None] * np.ones(len(person))[None, :]
    if "person_slope" in params:
        slope = slope + params["person_slope"][:, person]
    for level, g in design.groups.items():
        if f"slope_{level}" in params:
            slope = slope + params[f"slope_{level}"][:, g.index[sl]]
    return slope
