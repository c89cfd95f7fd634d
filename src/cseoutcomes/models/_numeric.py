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
    "selection_log_pass",
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


SELECTION_NODES = 24
"""Gauss-Hermite nodes for the probability that a referral passes the screen, young person by young
person (log error below 3e-4 for person SD up to 3 and offsets in [-4, 3]); 64 when it is one number."""


def selection_log_pass(offset: np.ndarray, person_sd: np.ndarray, threshold: np.ndarray, family: str,
                       sigma: np.ndarray | None = None, nodes: int = SELECTION_NODES) -> np.ndarray:
    """log P(a referral assessment passes the screen), over the referral population: shape of ``offset``.

    A young person's referral assessment has latent ``offset + u``, where ``u ~ N(0, person_sd^2)`` is
    their own intercept and ``offset`` everything else (group intercepts, covariates, time). Referrals
    come from a population with normal intercepts and are taken on when the *observed* assessment
    passes, so the likelihood of the young people taken on is divided by this probability:

    * ordinal, threshold ``c = c_{m-1}`` (pass: category >= m): log of the integral of
      F(offset + u - c) N(u; 0, person_sd^2) du, by Gauss-Hermite quadrature;
    * gaussian (``offset`` includes the intercept; pass: y >= threshold, standardised):
      log P(N(offset, sigma^2 + person_sd^2) >= threshold), in closed form.

    ``offset`` (S, n); ``person_sd``, ``threshold``, ``sigma``: (S,) or scalars.
    """
    offset = np.asarray(offset, dtype=float)
    lead = (slice(None),) + (None,) * (offset.ndim - 1) if np.ndim(person_sd) else ()
    sd = np.asarray(person_sd, dtype=float)[lead] if lead else float(person_sd)
    thr = np.asarray(threshold, dtype=float)[lead] if lead else float(threshold)
    if family == "ordinal":
        z, w = np.polynomial.hermite_e.hermegauss(nodes)
        w = w / w.sum()
        terms = log_expit((offset - thr)[..., None] + np.asarray(sd)[..., None] * z) + np.log(w)
        top = terms.max(axis=-1, keepdims=True)
        return (top + np.log(np.exp(terms - top).sum(axis=-1, keepdims=True)))[..., 0]
    from scipy import stats

    sig = np.asarray(sigma, dtype=float)[lead] if lead else float(sigma)
    return stats.norm.logsf(thr, loc=offset, scale=np.sqrt(sig ** 2 + sd ** 2))


def selection_is_one_number(spec, design) -> bool:
    """Whether every referral's offset (latent risk at referral apart from the person's own intercept)
    is the same: no covariates, no group intercepts, referral at time 0 and the same measurement
    covariates on every referral assessment (none, or a referral flag, which shifts them all alike).
    The pass probability is then the same for everyone and is computed once, with 64 quadrature nodes,
    at the first referral's offset."""
    if design.selected is None or design.X.shape[1] or spec.intercepts_by or np.any(design.t[design.selected] != 0):
        return False
    M = getattr(design, "M", None)
    if M is None or not M.shape[1]:
        return True
    referral_m = M[design.selected]
    return bool(np.all(referral_m == referral_m[:1]))


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


def measurement_shift(params: Mapping[str, np.ndarray], design, *,
                      rows: np.ndarray | None = None) -> np.ndarray | float:
    """How far each row's measurement sits from the latent outcome: ``measurement @ M[rows].T``, shape (S, n).

    0 (a scalar) without measurement covariates. The likelihood and simulated outcomes use
    ``linear_predictor + measurement_shift``; every estimand uses the latent ``linear_predictor``
    alone (the outcome as an assessment at the reference, every measurement covariate 0).
    """
    M = getattr(design, "M", None)
    if M is None or not M.shape[1]:
        return 0.0
    sl = slice(None) if rows is None else rows
    return np.asarray(params["measurement"]) @ M[sl].T


def measured_predictor(params: Mapping[str, np.ndarray], design, *, rows: np.ndarray | None = None) -> np.ndarray:
    """What the assessments measure, shape (S, n): the latent :func:`linear_predictor` plus the
    :func:`measurement_shift` of each row (the likelihood's and the simulator's predictor)."""
    return linear_predictor(params, design, rows=rows) + measurement_shift(params, design, rows=rows)


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


def exprel(x: np.ndarray) -> np.ndarray:
    """(exp(x) - 1) / x, with its limit 1 at 0 (accurate near 0)."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    with np.errstate(over="ignore"):  # overflow to inf is the right answer there
        return np.where(small, 1.0 + x / 2, np.expm1(safe) / safe)


def closure_period_rates(log_rate, period_rate=None) -> np.ndarray:
    """Each reason's log baseline rate in every period, shape ``log_rate.shape + (K,)``.

    ``log_rate``: the first period's (``closure_rate``); ``period_rate``: the later periods' (shape
    ``log_rate.shape + (K - 1,)``, ``closure_period_rate``), None with one period.
    """
    first = np.asarray(log_rate, dtype=float)[..., None]
    if period_rate is None:
        return first
    return np.concatenate([first, np.asarray(period_rate, dtype=float)], axis=-1)


def closure_periods(knots=()) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of each baseline period (the last one open-ended: length inf)."""
    starts = np.concatenate([[0.0], np.asarray(knots, dtype=float)])
    return starts, np.diff(np.append(starts, np.inf))


def closure_period(time, knots=()) -> np.ndarray:
    """Index of the baseline period holding each time (period k is [knot_k, knot_k+1), knot_0 = 0)."""
    return np.searchsorted(np.asarray(knots, dtype=float), np.asarray(time, dtype=float), side="right")


def closure_cumulative_hazard(log_rate, effect, eta0, slope, time, trend=0.0, time_centre=0.0, knots=(),
                              period_rate=None) -> np.ndarray:
    """Integral over [0, time] of exp(a(u) + trend * (u - time_centre) + effect * (eta0 + slope * u)) du.

    ``a(u)`` is the baseline log rate: ``log_rate`` before the first of ``knots`` and
    ``period_rate[..., j]`` from knot j on (``Dropout(baseline_knots=...)``; one period when
    ``knots`` is empty). In closed form, period by period: with c = effect * slope + trend and
    L_k = the part of [0, time] in period k, starting at t_k,
    H = sum_k exp(a_k - trend * time_centre + effect * eta0 + c * t_k) * L_k * exprel(c * L_k).
    ``trend`` is the log hazard's change per time unit since referral (``Dropout(time_trend=True)``;
    0 without it). Arrays broadcast.
    """
    rates = closure_period_rates(log_rate, period_rate)
    c = effect * slope + trend
    base = effect * eta0 - trend * time_centre
    total = 0.0
    for k, (t0, width) in enumerate(zip(*closure_periods(knots), strict=True)):
        length = np.clip(np.asarray(time, dtype=float) - t0, 0.0, width)
        with np.errstate(over="ignore", invalid="ignore"):
            piece = np.exp(rates[..., k] + base + c * t0) * length * exprel(c * length)
        total = total + np.where(length > 0, piece, 0.0)  # a period not reached adds nothing (no inf * 0)
    return total


def closure_loglik(log_rate: np.ndarray, effect: np.ndarray, eta0: np.ndarray, slope: np.ndarray,
                   followup: np.ndarray, event: np.ndarray, trend: np.ndarray | None = None,
                   time_centre: float = 0.0, knots=(), period_rate: np.ndarray | None = None) -> np.ndarray:
    """Log-likelihood of each young person's closure (shared-parameter drop-out model), shape (S, P).

    Competing reasons r with hazards h_r(t) = exp(a_r(t) + g_r * (t - m) + b_r * eta(t)),
    eta(t) = eta0 + slope * t (centred, see :func:`closure_trajectories`; g_r = ``trend``, 0 when None,
    m = ``time_centre``; a_r(t) piecewise constant between ``knots``, see
    :func:`closure_cumulative_hazard`): log L = -sum_r H_r(T) + [closed] log h_e(T), where T is the
    follow-up and e the reason. ``log_rate``/``effect``/``trend``: (S, R); ``period_rate``: (S, R, K - 1);
    ``eta0``/``slope``: (S, P); ``followup``/``event``: (P,), event -1 = open.
    """
    g = np.zeros_like(np.asarray(log_rate, dtype=float)) if trend is None else np.asarray(trend, dtype=float)
    a = np.asarray(log_rate)[:, None, :]
    b = np.asarray(effect)[:, None, :]
    pr = None if period_rate is None else np.asarray(period_rate)[:, None, :, :]
    T = np.asarray(followup, dtype=float)
    H = closure_cumulative_hazard(a, b, eta0[..., None], slope[..., None], T[None, :, None], g[:, None, :],
                                  time_centre, knots, pr)
    out = -H.sum(axis=-1)
    closed = np.flatnonzero(np.asarray(event) >= 0)
    r = np.asarray(event)[closed]
    rates = closure_period_rates(log_rate, period_rate)  # (S, R, K)
    out[:, closed] += (rates[:, r, closure_period(T[closed], knots)] + g[:, r] * (T[closed] - time_centre)
                       + effect[:, r] * (eta0[:, closed] + slope[:, closed] * T[closed]))
    return out


def closure_time_centre(design) -> float:
    """The time at which ``closure_rate`` is stated with a time trend: the mean of half of each young
    person's observation window (data only, not the closures; the PyMC graph uses the same)."""
    return float(np.mean(design.person_censor) / 2)


def closure_trajectories(params: Mapping[str, np.ndarray], design) -> tuple[np.ndarray, np.ndarray]:
    """Each young person's latent trajectory for the closure hazards, as (value at time 0, slope): (S, P) each.

    The value is centred at the average latent risk over the observation window (mean over young
    people of eta(C/2), C the time from referral to the end of observation), the point at which
    ``closure_rate`` is stated; the PyMC graph centres the same way.
    """
    from cseoutcomes.models.design import first_and_last

    first, _, _ = first_and_last(design)
    eta = linear_predictor(params, design, rows=first)
    slope = row_slopes(params, design, rows=first)
    eta0 = eta - slope * design.t[first][None, :]
    centre = np.mean(eta0 + slope * design.person_censor[None, :] / 2, axis=1, keepdims=True)
    return eta0 - centre, slope
