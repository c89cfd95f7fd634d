"""Simulate outcomes from a change model: from its priors or from given parameter values.

Used to check that a model recovers what generated the data (parameter
recovery, simulation-based calibration) on the real design of a data set: the
same young people, times and groups, with the outcome replaced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

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
    ``cutpoints`` (ordinal) or ``intercept``, ``sigma`` (and ``nu``), ``measurement`` (one per
    measurement covariate), and with a
    joint drop-out model ``closure_rate`` and ``closure_effect`` (one per reason; with
    baseline knots also ``closure_period_rate``, reason by later period).
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
    if design.m_names:
        out["measurement"] = rng.normal(pri.measurement.mu, pri.measurement.sigma, len(design.m_names))
    if design.person_event is not None:
        R = len(design.closure_reasons)
        out["closure_rate"] = rng.normal(pri.closure_rate.mu - np.log(per_year), pri.closure_rate.sigma, R)
        out["closure_effect"] = rng.normal(pri.closure_effect.mu, pri.closure_effect.sigma, R)
        if model.dropout is not None and model.dropout.time_trend:
            out["closure_trend"] = rng.normal(pri.closure_trend.mu / per_year, pri.closure_trend.sigma / per_year, R)
        if model.dropout is not None and model.dropout.baseline_knots:
            K = len(model.dropout.baseline_knots)
            out["closure_period_rate"] = rng.normal(pri.closure_rate.mu - np.log(per_year), pri.closure_rate.sigma,
                                                    (R, K))
    if design.family == "ordinal":
        p = rng.dirichlet(np.full(design.n_categories, pri.thresholds.alpha))
        out["cutpoints"] = num.cutpoints_from_probabilities(p)
    else:
        out["intercept"] = np.asarray(rng.normal(pri.intercept.mu, pri.intercept.sigma))
        out["sigma"] = np.asarray(_half_normal(rng, pri.sigma.sigma))
        if design.family == "student_t":
            out["nu"] = np.asarray(rng.gamma(pri.nu.alpha, 1.0 / pri.nu.beta))
    return out


MAX_SCREEN_ROUNDS = 10_000


def _screened_referrals(params: dict[str, np.ndarray], design: Design,
                        rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Referrals drawn from the referral population until they pass the screen (the model's selection).

    Each young person taken on is a referral whose intercept ``u ~ N(0, person_sd^2)`` and referral
    assessment were drawn, again and again, until the assessment passed the screen: so those taken
    on have higher intercepts than the population, and their referral assessments are biased up on
    top. Returns the parameters with those intercepts and the referral outcomes (codes, or
    standardised values for continuous outcomes), in the order of the referral rows.
    """
    from cseoutcomes.errors import ModelError

    params = dict(params)
    rows = np.flatnonzero(design.selected)
    people = design.person[rows]
    sd = float(params["person_sd"])
    batch = {k: np.asarray(v)[None, ...] for k, v in params.items()}
    own = np.asarray(params["person_intercept"], dtype=float)
    offset = num.measured_predictor(batch, design, rows=rows)[0] - own[people]
    u = np.empty(len(rows))
    y = np.empty(len(rows), dtype=np.int64 if design.family == "ordinal" else float)
    todo = np.arange(len(rows))
    for _ in range(MAX_SCREEN_ROUNDS):
        draw = rng.normal(0.0, sd, len(todo))
        eta = offset[todo] + draw
        if design.family == "ordinal":
            cand = num.ordinal_sample(eta, np.asarray(params["cutpoints"]), rng)
            passed = cand >= int(design.selection)
        else:
            cand = eta + float(params["sigma"]) * rng.standard_normal(len(todo))  # gaussian: the spec refuses t
            passed = cand >= (float(design.selection) - design.y_center) / design.y_scale
        u[todo[passed]], y[todo[passed]] = draw[passed], cand[passed]
        todo = todo[~passed]
        if not len(todo):
            break
    else:
        raise ModelError(f"{len(todo)} referrals did not pass the screen in {MAX_SCREEN_ROUNDS:,} tries: these "
                         "parameters let almost no one through", where="selection",
                         hint="check the threshold and the parameters (or the priors) against the referral scores")
    own = own.copy()
    own[people] = u
    params["person_intercept"] = own
    return params, y


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
        ordinal outcomes, numbers otherwise. With a referral selection, the
        young people taken on are drawn from the referral population until
        their referral assessment passes the screen, so ``params`` comes back
        with their (higher) intercepts. With a joint drop-out model the
        closure reason and date columns are simulated too, and assessments
        after a simulated closure are removed (the table is then shorter).
        ``params`` are the values used.
    """
    from cseoutcomes.models.design import build_design

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    design = build_design(model, data, require_outcome=False)
    if params is None:
        params = draw_prior(model, design, rng)
    sel = design.selected if design.selection is not None else np.zeros(design.n, bool)
    referral_y = None
    if sel.any():
        params, referral_y = _screened_referrals(params, design, rng)
    batch = {k: np.asarray(v)[None, ...] for k, v in params.items()}
    eta = num.measured_predictor(batch, design)[0]
    out = data.copy()
    if design.family == "ordinal":
        y = num.ordinal_sample(eta, np.asarray(params["cutpoints"]), rng)
        if referral_y is not None:
            y[sel] = referral_y
        values = np.asarray(design.categories, dtype=object)[y]
    else:
        sigma = float(params["sigma"])
        noise = rng.standard_t(float(params["nu"]), design.n) if design.family == "student_t" else \
            rng.standard_normal(design.n)
        values = design.y_center + design.y_scale * (eta + sigma * noise)
        if referral_y is not None:
            values[sel] = design.y_center + design.y_scale * referral_y
    column = np.full(len(out), None, dtype=object) if design.family == "ordinal" else np.full(len(out), np.nan)
    keep = np.isin(np.asarray(out.index), design.rows) if len(design.excluded) else np.ones(len(out), bool)
    column[keep] = values
    out[model.outcome] = pd.Series(column, index=out.index)
    if design.person_event is not None and "closure_rate" in params:
        out = _simulate_closures(model, design, out, batch, rng)
    return out, params


def closure_times(log_rate: np.ndarray, effect: np.ndarray, eta0: np.ndarray, slope: np.ndarray,
                  rng: np.random.Generator, trend: np.ndarray | None = None,
                  time_centre: float = 0.0, knots=(), period_rate: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Draw each young person's closure time and reason from the competing hazards (inf: never closes).

    Reason r closes at the time its cumulative hazard reaches an Exp(1) draw. Within a baseline
    period starting at t_k (one period, t_0 = 0, without ``knots``) the hazard is C e^{k(t - t_k)}, with
    C = exp(a_rk - g_r m + b_r eta0 + k t_k) and k = b_r * slope + g_r (``trend`` g, 0 when None;
    m the ``time_centre``), so the cumulative hazard over the period, C (e^{kx} - 1) / k at x after
    its start, is inverted in closed form (when k < 0 the hazard dies away and may never reach the
    draw). The earliest reason wins, which is the competing-risks model with these cause-specific hazards.
    """
    P, R = len(eta0), len(log_rate)
    left = rng.exponential(size=(P, R))  # cumulative hazard still to go
    g = np.zeros(R) if trend is None else np.asarray(trend, dtype=float)
    rates = num.closure_period_rates(log_rate, period_rate)  # (R, K)
    k = effect[None, :] * slope[:, None] + g[None, :]
    t = np.full((P, R), np.inf)
    for j, (t0, width) in enumerate(zip(*num.closure_periods(knots), strict=True)):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            c = np.exp(rates[None, :, j] - g[None, :] * time_centre + effect[None, :] * eta0[:, None] + k * t0)
            x = k * left / c
            inside = np.where(np.abs(k) < 1e-12, left / c,
                              np.where(x > -1, np.log1p(np.maximum(x, -1 + 1e-300)) / k, np.inf))
            whole = c * width * num.exprel(k * width) if np.isfinite(width) else np.inf
        todo = np.isinf(t)
        hit = todo & (inside <= width)
        t = np.where(hit, t0 + inside, t)
        left = np.where(todo & ~hit, left - whole, left)
    reason = np.argmin(t, axis=1)
    return t[np.arange(P), reason], reason


def _simulate_closures(model: ChangeModel, design: Design, table: pd.DataFrame, batch: dict[str, np.ndarray],
                       rng: np.random.Generator) -> pd.DataFrame:
    """Closures from the joint drop-out model: reasons and dates replaced, assessments after closure dropped.

    Each young person is followed until the end of observation (``design.person_censor``); one who
    closes before it gets the reason and date drawn, and their assessments after that date are
    removed (the simulated table is shorter than the input; the assessment schedule is otherwise the
    input's, which is ignorable because it does not depend on the simulated outcomes).
    """
    from cseoutcomes.models.design import TIME_UNITS, prediction_rows

    eta0, slope = num.closure_trajectories(batch, design)
    trend = batch["closure_trend"][0] if "closure_trend" in batch else None
    period = batch["closure_period_rate"][0] if "closure_period_rate" in batch else None
    close_t, reason = closure_times(batch["closure_rate"][0], batch["closure_effect"][0], eta0[0], slope[0], rng,
                                    trend, num.closure_time_centre(design), design.closure_knots, period)
    closed = close_t < design.person_censor
    person_text, t_rows, _ = prediction_rows(model, table)
    code = {str(p): i for i, p in enumerate(design.person_labels)}
    who = np.array([code.get(str(p), -1) for p in person_text])
    end = np.where(closed, close_t, np.inf)
    drop = (who >= 0) & (t_rows > end[np.maximum(who, 0)] + 1e-9)
    reasons = np.asarray(design.closure_reasons, dtype=object)
    out = table.copy()
    row_closed = (who >= 0) & closed[np.maximum(who, 0)]
    out[model.closure] = np.where(row_closed, reasons[reason[np.maximum(who, 0)]], "")
    if pd.api.types.is_numeric_dtype(table[model.time]) and not pd.api.types.is_bool_dtype(table[model.time]):
        out[model.closure_date] = np.where(row_closed, close_t[np.maximum(who, 0)], np.nan)
    else:
        from cseoutcomes.data.rules import parse_dates

        dates = pd.Series(parse_dates(table[model.time])[0].to_numpy())
        first = dates.groupby(pd.factorize(person_text)[0]).transform("min")
        days = np.ceil(np.where(row_closed, close_t[np.maximum(who, 0)], 0.0) / TIME_UNITS[model.time_unit] * 365.25 - 1e-9)
        close = first + pd.to_timedelta(days, unit="D")
        out[model.closure_date] = np.where(row_closed, close.dt.strftime("%Y-%m-%d").to_numpy(), "")
    return out.loc[~drop]
