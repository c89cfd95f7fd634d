"""Simulate outcomes from a change model: from its priors or from given parameter values.

Used to check that a model recovers what generated the data (parameter
recovery, simulation-based calibration) on the real design of a data set: the
same young people, times and groups, with the outcome replaced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import expit

from cseoutcomes.models import _numeric as num

if TYPE_CHECKING:
    from cseoutcomes.models.design import Design
    from cseoutcomes.models.spec import ChangeModel

__all__ = ["draw_prior", "simulate_outcomes"]


def _half_normal(rng: np.random.Generator, sigma: float) -> float:
    return float(abs(rng.normal(0.0, sigma)))


def draw_prior(model: ChangeModel, design: Design, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One draw of every parameter from the model's priors (slopes per unit of ``model.time_unit``).

    Names are those of the posterior: ``slope``, ``person_sd``,
    ``person_intercept``, ``slope_sd_<level>``, ``slope_<level>``, ...,
    ``cutpoints`` (ordinal) or ``intercept``, ``sigma`` (and ``nu``).
    """
    pri = model.priors
    per_year = design.t_per_year
    n_people = len(design.person_labels)
    out: dict[str, np.ndarray] = {"slope": np.asarray(rng.normal(pri.slope.mu / per_year, pri.slope.sigma / per_year))}
    out["person_sd"] = np.asarray(_half_normal(rng, pri.person_sd.sigma))
    out["person_intercept"] = out["person_sd"] * rng.standard_normal(n_people)
    if model.person_slopes:
        out["person_slope_sd"] = np.asarray(_half_normal(rng, pri.person_slope_sd.sigma / per_year))
        out["person_slope"] = out["person_slope_sd"] * rng.standard_normal(n_people)
    for level in model.slope_levels:
        sd = _half_normal(rng, pri.for_slope(level).sigma / per_year)
        out[f"slope_sd_{level}"] = np.asarray(sd)
        out[f"slope_{level}"] = sd * rng.standard_normal(len(design.groups[level].labels))
    for level in model.intercepts_by:
        sd = _half_normal(rng, pri.intercept_sd.sigma)
        out[f"intercept_sd_{level}"] = np.asarray(sd)
        out[f"intercept_{level}"] = sd * rng.standard_normal(len(design.groups[level].labels))
    if design.X.shape[1]:
        out["beta"] = rng.normal(pri.covariates.mu, pri.covariates.sigma, design.X.shape[1])
    if design.family == "ordinal":
        p = rng.dirichlet(np.full(design.n_categories, pri.thresholds.alpha))
        out["cutpoints"] = num.cutpoints_from_probabilities(p)
    else:
        out["intercept"] = np.asarray(rng.normal(pri.intercept.mu, pri.intercept.sigma))
        out["sigma"] = np.asarray(_half_normal(rng, pri.sigma.sigma))
        if design.family == "student_t":
            out["nu"] = np.asarray(rng.gamma(pri.nu.alpha, 1.0 / pri.nu.beta))
    return out


def simulate_outcomes(model: ChangeModel, data: pd.DataFrame, params: dict[str, np.ndarray] | None = None, *,
                      seed: int | np.random.Generator | None = None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Replace the outcome of ``data`` by draws from the model.

    Parameters
    ----------
    model
        The :class:`ChangeModel`.
    data
        A table with the model's person, time, group and covariate columns (the
        outcome column, if present, is replaced; it sets the scale of
        continuous outcomes).
    params
        Parameter values as returned by :func:`draw_prior`; default: one draw
        from the priors. Group-level arrays must match the groups in ``data``.
    seed
        Seed or generator; the same seed gives the same data.

    Returns
    -------
    (table, params)
        ``table`` is ``data`` with the outcome column (e.g. ``total_band``,
        ``total`` or the item) holding simulated values: category codes for
        ordinal outcomes, numbers otherwise. ``params`` are the values used.
    """
    from cseoutcomes.models.design import build_design

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    design = build_design(model, data, require_outcome=False)
    if params is None:
        params = draw_prior(model, design, rng)
    batch = {k: np.asarray(v)[None, ...] for k, v in params.items()}
    eta = num.linear_predictor(batch, design)[0]
    out = data.copy()
    sel = design.selected if design.selection is not None else np.zeros(design.n, bool)
    if design.family == "ordinal":
        cut = np.asarray(params["cutpoints"])
        y = num.ordinal_sample(eta, cut, rng)
        if sel.any():  # referral assessments drawn given that they passed the screen: latent > c_{m-1}
            low = expit(cut[int(design.selection) - 1] - eta[sel])
            u = rng.uniform(low, 1.0)
            latent = eta[sel] + np.log(u) - np.log1p(-u)
            y[sel] = np.searchsorted(cut, latent, side="left")
        values = np.asarray(design.categories, dtype=object)[y]
    else:
        sigma = float(params["sigma"])
        noise = rng.standard_t(float(params["nu"]), design.n) if design.family == "student_t" else \
            rng.standard_normal(design.n)
        if sel.any():
            from scipy import stats

            threshold = (float(design.selection) - design.y_center) / design.y_scale
            lower = (threshold - eta[sel]) / sigma
            noise[sel] = stats.truncnorm.rvs(lower, np.inf, random_state=rng)
        values = design.y_center + design.y_scale * (eta + sigma * noise)
    column = np.full(len(out), None, dtype=object) if design.family == "ordinal" else np.full(len(out), np.nan)
    keep = np.isin(np.asarray(out.index), design.rows) if len(design.excluded) else np.ones(len(out), bool)
    column[keep] = values
    out[model.outcome] = pd.Series(column, index=out.index)
    return out, params
