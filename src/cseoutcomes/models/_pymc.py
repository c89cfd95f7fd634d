"""PyMC backend: the change model as a PyMC graph, sampled with nutpie, PyMC's NUTS, numpyro or blackjax.

Default sampler: nutpie when it is installed (a core dependency). On the
benchmark model (``benchmarks/bench_change.py``) it reached the convergence
target in the least wall time, compilation included: its Rust NUTS with
numba-compiled gradients has the lowest cost per gradient and no per-draw Python
overhead, and its mass-matrix adaptation needs fewer tuning steps. PyMC's own
NUTS is the fallback; numpyro and blackjax need the ``jax`` extra.
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from cseoutcomes.errors import ModelError

if TYPE_CHECKING:
    from cseoutcomes.models.design import Design
    from cseoutcomes.models.spec import ChangeModel

SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")


def default_sampler() -> str:
    import importlib.util

    return "nutpie" if importlib.util.find_spec("nutpie") is not None else "pymc"


PEOPLE_BUCKET = 64
"""nutpie models are compiled for the number of young people rounded up to a multiple of this."""


def padded_people(design: Design, bucket: int = PEOPLE_BUCKET) -> int:
    """Young people in the compiled model: the design's, rounded up so similar designs share one compile."""
    n = len(design.person_labels)
    return int(np.ceil(n / bucket) * bucket) if bucket > 1 else n


def data_arrays(spec: ChangeModel, design: Design, n_people: int | None = None) -> dict[str, np.ndarray]:
    """Every array the PyMC graph reads, by its ``pm.Data`` name.

    Row arrays have the design's length; person arrays are padded to
    ``n_people`` with young people who have no assessments, no follow-up and no
    weight, so they add nothing to the likelihood (their effects are draws from
    the prior, dropped from the fit). A compiled model is then reused for any
    design of the same structure (:func:`structure_key`) by swapping these in.
    """
    P = len(design.person_labels)
    n_people = n_people or P
    out: dict[str, np.ndarray] = {"t": design.t.astype(float), "person_idx": design.person.astype(np.int64),
                                  "y_obs": design.y.astype(np.int64) if design.family == "ordinal" else design.y_std}
    for level, g in design.groups.items():
        out[f"{level}_idx"] = g.index.astype(np.int64)
    if design.X.shape[1]:
        out["X"] = design.X.astype(float)
    if design.M is not None and design.M.shape[1]:
        out["M"] = design.M.astype(float)
    if design.selection is not None:
        out["selected_rows"] = np.flatnonzero(design.selected).astype(np.int64)
        if design.family != "ordinal":
            out["selection_threshold"] = np.asarray((float(design.selection) - design.y_center) / design.y_scale)
    if design.person_event is not None:
        from cseoutcomes.models.design import first_and_last

        pad = n_people - P
        first, _, _ = first_and_last(design)
        out.update({"first_row": np.r_[first, np.zeros(pad, np.int64)].astype(np.int64),
                    "followup": np.r_[design.person_followup, np.zeros(pad)],
                    "censor": np.r_[design.person_censor, np.zeros(pad)],
                    "real_person": np.r_[np.ones(P), np.zeros(pad)],
                    "closure_event": np.r_[design.person_event, np.full(pad, -1)].astype(np.int64)})
        if design.closure_knots:  # piecewise baseline: time in each period, and the period of the follow-up's end
            from cseoutcomes.models._numeric import closure_period, closure_periods

            starts, widths = closure_periods(design.closure_knots)
            length = np.clip(design.person_followup[:, None] - starts[None, :], 0.0, widths)
            out["closure_length"] = np.r_[length, np.zeros((pad, len(starts)))]
            out["closure_period_idx"] = np.r_[closure_period(design.person_followup, design.closure_knots),
                                              np.zeros(pad, np.int64)].astype(np.int64)
    return out


def build_pymc_model(spec: ChangeModel, design: Design, n_people: int | None = None, fused: bool = True,
                     separate_location: bool = True):
    """The PyMC model for ``spec`` on ``design`` (free variables named z_* are the non-centred parts).

    Ordinal models carry the mean of the young people's intercepts as a parameter of its own: the
    intercepts are ``loc + person_sd * z`` with ``z`` summing to zero and ``loc ~ N(0, person_sd^2 / P)``
    (over the P young people of the graph, padding included), which is exactly P independent
    N(0, person_sd^2) intercepts; and the cutpoints are ``loc`` plus free ordered ``z_cutpoints``, whose
    shift has Jacobian 1, so the prior on ``cutpoints`` is unchanged. The likelihood of the assessments
    then does not move with ``loc``. Written the usual way, moving the intercepts' common level against
    the cutpoints meant moving every young person's ``z`` at once: under a referral screen, which is
    what pins that level down, it mixed slowly (smallest bulk ESS of the population parameters 25 of
    1,000 draws on a screened study programme, 72 in this form; ``benchmarks/bench_graph.py``).
    ``separate_location=False`` builds the usual form, for that benchmark and for the tests that hold
    the two to each other.

    Every array is a ``pm.Data`` (:func:`data_arrays`), so a compiled model can be
    refitted to another design of the same structure; ``n_people`` pads the
    person dimension (padding young people carry no data). ``fused``: the ordinal
    likelihood and the closure term each as one Numba kernel with its own gradient
    (``_kernels``); False writes them as elementwise PyTensor expressions, which JAX
    samplers need.
    """
    import pymc as pm
    import pytensor.tensor as pt

    pri = spec.priors
    per_year = design.t_per_year
    arrays = data_arrays(spec, design, n_people)
    P = len(design.person_labels)
    n_people = n_people or P
    people = [*design.person_labels, *(f"_padding_{i}" for i in range(n_people - P))]
    coords: dict[str, Any] = {"person": people}
    for level, g in design.groups.items():
        coords[level] = g.labels
    if design.family == "ordinal":
        K = design.n_categories
        coords["cutpoint"] = [f"{design.categories[k]}|{design.categories[k + 1]}" for k in range(K - 1)]
    if design.X.shape[1]:
        coords["covariate"] = list(design.x_names)
    if design.m_names:
        coords["measurement_covariate"] = list(design.m_names)
    if design.person_event is not None:
        coords["closure_reason"] = list(design.closure_reasons)
        if design.closure_knots:
            coords["closure_period"] = [f"from {k:g}" for k in design.closure_knots]
    with pm.Model(coords=coords) as m:
        data = {name: pm.Data(name, value) for name, value in arrays.items()}
        t = data["t"]
        slope = pm.Normal("slope", pri.slope.mu / per_year, pri.slope.sigma / per_year)
        person_sd = pm.HalfNormal("person_sd", pri.person_sd.sigma)
        loc = 0.0
        if design.family == "ordinal" and separate_location:  # the intercepts' mean apart (see above)
            z_person = pm.ZeroSumNormal("z_person", sigma=1.0, dims="person")
            loc = person_sd / np.sqrt(n_people) * pm.Normal("z_person_mean", 0.0, 1.0)
            person_int = pm.Deterministic("person_intercept", loc + person_sd * z_person, dims="person")
        else:
            z_person = pm.Normal("z_person", 0.0, 1.0, dims="person")
            person_int = pm.Deterministic("person_intercept", person_sd * z_person, dims="person")
        own = person_int[data["person_idx"]]
        eta = own
        row_slope = slope + pt.zeros_like(t)
        if spec.person_slopes:
            ps_sd = pm.HalfNormal("person_slope_sd", pri.person_slope_sd.sigma / per_year)
            z = pm.Normal("z_person_slope", 0.0, 1.0, dims="person")
            ps = pm.Deterministic("person_slope", ps_sd * z, dims="person")
            row_slope = row_slope + ps[data["person_idx"]]
        for level in spec.slope_levels:
            sd = pm.HalfNormal(f"slope_sd_{level}", pri.for_slope(level).sigma / per_year)
            z = pm.Normal(f"z_slope_{level}", 0.0, 1.0, dims=level)
            eff = pm.Deterministic(f"slope_{level}", sd * z, dims=level)
            row_slope = row_slope + eff[data[f"{level}_idx"]]
        for level in spec.intercepts_by:
            sd = pm.HalfNormal(f"intercept_sd_{level}", pri.intercept_sd.sigma)
            z = pm.Normal(f"z_intercept_{level}", 0.0, 1.0, dims=level)
            eff = pm.Deterministic(f"intercept_{level}", sd * z, dims=level)
            eta = eta + eff[data[f"{level}_idx"]]
        eta = eta + row_slope * t
        if design.X.shape[1]:
            beta = pm.Normal("beta", pri.covariates.mu, pri.covariates.sigma, dims="covariate")
            eta = eta + pt.dot(data["X"], beta)
        shift = 0.0  # measurement covariates move what an assessment reads, not the latent outcome
        if design.m_names:
            gm = pm.Normal("measurement", pri.measurement.mu, pri.measurement.sigma, dims="measurement_covariate")
            shift = pt.dot(data["M"], gm)
        if design.family == "ordinal":
            init = np.log(np.arange(1, K) / K) - np.log1p(-np.arange(1, K) / K)
            if separate_location:
                free = pm.Flat("z_cutpoints", dims="cutpoint", transform=pm.distributions.transforms.ordered,
                               initval=init)
                cut = pm.Deterministic("cutpoints", loc + free, dims="cutpoint")
            else:
                cut = pm.Flat("cutpoints", dims="cutpoint", transform=pm.distributions.transforms.ordered,
                              initval=init)
            pm.Potential("cutpoints_prior", _induced_dirichlet(cut, pri.thresholds.alpha))
            if fused:
                from cseoutcomes.models._kernels import ordinal_loglik

                pm.Potential("y_loglik", ordinal_loglik(eta + shift, cut, data["y_obs"])[0])
            else:
                pm.Potential("y_loglik", _ordinal_loglik(data["y_obs"], eta + shift, cut, K).sum())
            if design.selection is not None:
                _selection_potential(spec, design, data, eta + shift - own, person_sd,
                                     cut[int(design.selection) - 1])
            if design.person_event is not None:
                _closure_potential(spec, design, data, eta, row_slope, fused)
        else:
            intercept = pm.Normal("intercept", pri.intercept.mu, pri.intercept.sigma)
            sigma = pm.HalfNormal("sigma", pri.sigma.sigma)
            mu = intercept + eta
            y_obs = data["y_obs"]
            if design.family == "student_t":
                nu = pm.Gamma("nu", pri.nu.alpha, pri.nu.beta)
                pm.StudentT("y", nu=nu, mu=mu + shift, sigma=sigma, observed=y_obs)
            else:
                pm.Normal("y", mu=mu + shift, sigma=sigma, observed=y_obs)
                if design.selection is not None:
                    _selection_potential(spec, design, data, mu + shift - own, person_sd,
                                         data["selection_threshold"], sigma=sigma)
            if design.person_event is not None:
                _closure_potential(spec, design, data, mu, row_slope, fused)
    return m


def _closure_potential(spec: ChangeModel, design: Design, data: dict, lin, row_slope, fused: bool = True) -> None:
    """Shared-parameter drop-out: each closure reason's hazard depends on the latent trajectory.

    h_r(t) = exp(a_r + b_r * eta(t)) with eta(t) = eta0 + s * t linear in time since referral, so
    H_r(T) = exp(a_r + b_r * eta0) * T * exprel(b_r * s * T) (see ``_numeric.closure_loglik``, which this
    matches to rounding). With ``Dropout(time_trend=True)`` the log hazard has a term g_r * (t - m) too,
    and the exponent's rate is b_r * s + g_r. With ``Dropout(baseline_knots=...)`` a_r is piecewise
    constant in time and H_r sums the closed form over the periods (time in each period is data).
    ``a_r`` is stated per year in the priors and converted to the model's time unit.
    """
    import pymc as pm
    import pytensor.tensor as pt

    pri = spec.priors
    per_year = design.t_per_year
    a = pm.Normal("closure_rate", pri.closure_rate.mu - np.log(per_year), pri.closure_rate.sigma,
                  dims="closure_reason")
    b = pm.Normal("closure_effect", pri.closure_effect.mu, pri.closure_effect.sigma, dims="closure_reason")
    first = data["first_row"]
    slope = row_slope[first]
    T = data["followup"]
    real = data["real_person"]
    # centred: a_r is the log rate at the average latent risk over the observation window, which keeps
    # a_r and b_r nearly uncorrelated in the posterior (as brms centres predictors). The centre uses the
    # time to the end of observation, not the closure times, so it does not depend on the outcome.
    eta0 = lin[first] - slope * data["t"][first]
    centre = (real * (eta0 + slope * data["censor"] / 2)).sum() / real.sum()
    pm.Deterministic("closure_centre", centre)
    eta0 = eta0 - centre
    g = mid = None
    if spec.dropout.time_trend:  # log hazard linear in time since referral too, centred at the mid-window
        g = pm.Normal("closure_trend", pri.closure_trend.mu / per_year, pri.closure_trend.sigma / per_year,
                      dims="closure_reason")
        mid = (real * data["censor"]).sum() / real.sum() / 2
    rates = a[:, None]  # (R, periods): each reason's log baseline rate in each period
    if design.closure_knots:
        later = pm.Normal("closure_period_rate", pri.closure_rate.mu - np.log(per_year), pri.closure_rate.sigma,
                          dims=("closure_reason", "closure_period"))
        rates = pt.concatenate([rates, later], axis=1)
    if fused:
        _fused_closure_potential(design, data, rates, b, g, mid, eta0, slope)
        return
    rate = b[None, :] * slope[:, None]  # growth of the log hazard per time unit, (P, R)
    log_base = b[None, :] * eta0[:, None]
    at_closure = b[None, :] * (eta0 + slope * T)[:, None]
    if g is not None:
        rate = rate + g[None, :]
        log_base = log_base - g[None, :] * mid
        at_closure = at_closure + g[None, :] * (T[:, None] - mid)
    if design.closure_knots:
        length = data["closure_length"]  # (P, periods): time spent in each period, data
        # integral over period k of exp(c t): e^{c t_k} (e^{c L_k} - 1) / c. One expm1 per period: e^{c t_k} is
        # the product of (1 + expm1(c L_j)) over the earlier periods, which a young person in period k has
        # spent whole (one not reached has L_k = 0 and adds nothing, whatever the product). One transcendental
        # per period instead of an exp and an expm1: a fit with three knots and person slopes took 47 s instead
        # of 58 s (same values; _numeric is the reference, and a test compares the two).
        small = pt.lt(pt.abs(rate), 1e-8)
        inv = 1.0 / pt.switch(small, 1.0, rate)
        grown = 1.0  # e^{c t_k}
        total = 0.0
        for k in range(len(design.closure_knots) + 1):
            L = length[:, k][:, None]
            m = pt.expm1(rate * L)
            part = pt.switch(small, L * (1.0 + rate * L / 2), m * inv)
            total = total + pt.exp(rates[None, :, k]) * grown * part
            grown = grown * (1.0 + m)
        H = pt.exp(log_base) * total
        at_closure = at_closure + rates[:, data["closure_period_idx"]].T
    else:
        H = pt.exp(a[None, :] + log_base) * T[:, None] * _exprel(rate * T[:, None])
        at_closure = at_closure + a[None, :]
    onehot = pt.eq(data["closure_event"][:, None], np.arange(len(design.closure_reasons))[None, :])
    pm.Potential("closure_loglik", (onehot * at_closure).sum() - H.sum())


def _fused_closure_potential(design: Design, data: dict, rates, b, g, mid, eta0, slope) -> None:
    """The closure term of :func:`_closure_potential` as one kernel (``_kernels.closure_loglik``).

    The same parameters as the elementwise form (``g``/``mid``: the time trend and its centre, None
    without one); the kernel takes every exponential once and returns the term with its gradient:
    0.13 ms against 0.42 ms a gradient for 1,024 young people and 5 reasons with one knot (whole
    fits: ``benchmarks/bench_graph.py``).
    """
    import pymc as pm
    import pytensor.tensor as pt

    from cseoutcomes.models._kernels import closure_loglik
    from cseoutcomes.models._numeric import closure_periods

    T = data["followup"]
    if g is None:
        g, mid = pt.zeros_like(b), pt.as_tensor_variable(np.float64(0.0))
    if design.closure_knots:
        length, period = data["closure_length"], data["closure_period_idx"]
    else:
        length, period = T[:, None], pt.zeros_like(data["closure_event"])
    starts = closure_periods(design.closure_knots)[0]
    value = closure_loglik(rates, b, g, eta0, slope, T, length, starts, period, data["closure_event"], mid)[0]
    pm.Potential("closure_loglik", value)


def _exprel(k):
    """(exp(k) - 1) / k with its limit 1 at 0, safe for gradients (no 0/0 in the branch not taken)."""
    import pytensor.tensor as pt

    small = pt.lt(pt.abs(k), 1e-8)
    safe = pt.switch(small, 1.0, k)
    return pt.switch(small, 1.0 + k / 2, pt.expm1(safe) / safe)


def _selection_potential(spec: ChangeModel, design: Design, data: dict, offset, person_sd, threshold,
                         sigma=None) -> None:
    """Referral selection over the referral population (see ``_numeric.selection_log_pass``).

    Referrals come with normal intercepts and are taken on when their observed referral assessment
    passes the screen. The young people taken on are then a selected sample: their likelihood is
    the ordinary one divided by P(pass), the pass probability over the referral population (a function
    of the person SD, the threshold and the referral's offset, not of the young person's own
    intercept). Their intercepts are *not* pulled down one by one: being taken on is evidence of a
    high latent risk, as in the population that was screened.
    """
    import pymc as pm
    import pytensor.tensor as pt

    from cseoutcomes.models._numeric import SELECTION_NODES, selection_is_one_number

    rows = data["selected_rows"]
    if design.family == "ordinal":
        if selection_is_one_number(spec, design):  # the same for every referral: computed once
            z, w = np.polynomial.hermite_e.hermegauss(64)
            shift = offset[rows[0]] if design.selected.any() else 0.0  # no referral scorable: nothing to divide
            log_pass = pt.logsumexp(_log_sigmoid(person_sd * z + (shift - threshold)) + np.log(w / w.sum()))
            pm.Potential("selection", -rows.shape[0] * log_pass)
            return
        z, w = np.polynomial.hermite_e.hermegauss(SELECTION_NODES)
        terms = _log_sigmoid((offset[rows] - threshold)[:, None] + person_sd * z[None, :]) + np.log(w / w.sum())
        pm.Potential("selection", -pt.logsumexp(terms, axis=1).sum())
        return
    from pymc.distributions.dist_math import normal_lccdf

    scale = pt.sqrt(sigma ** 2 + person_sd ** 2)
    pm.Potential("selection", -normal_lccdf(offset[rows], scale, threshold).sum())


def _log_sigmoid(x):
    import pytensor.tensor as pt

    return -pt.softplus(-x)


def _ordinal_loglik(y: np.ndarray, eta, cut, K: int):
    """log P(y | eta) of the cumulative-logit model, accurate in both tails, cheap, finite gradients.

    P(y = k) = F(a) - F(b), a = c_k - eta, b = c_{k-1} - eta (F logistic; c_{-1} = -inf,
    c_{K-1} = +inf). When both a and b are positive the difference of two numbers near 1 would
    lose digits, so it is computed as F(-b) - F(-a) instead (the last category always so); the
    first category is F(a). Two logistic functions and one log per assessment: half the cost of
    the log-sigmoid form, and agrees with it (``_numeric.ordinal_logp``) to 1e-15 relative
    while |c - eta| < 700 (beyond that F underflows). No infinite or huge padding thresholds, so
    gradients are finite in every backend (JAX differentiates both sides of a branch).
    """
    import pytensor.tensor as pt

    # y may be a NumPy array or a PyMC data variable (swapped without recompiling)
    upper = pt.minimum(y, K - 2)
    lower = pt.maximum(y - 1, 0)
    has_upper = pt.lt(y, K - 1)
    has_lower = pt.gt(y, 0)
    last = pt.eq(y, K - 1)
    middle = pt.and_(has_lower, has_upper)
    a = cut[upper] - eta
    b = cut[lower] - eta
    flip = pt.or_(last, pt.and_(middle, (a + b) > 0))
    high = pt.sigmoid(pt.switch(flip, -b, a))
    low = pt.switch(flip, has_upper, has_lower).astype("float64") * pt.sigmoid(pt.switch(flip, -a, b))
    return pt.log(high - low)


def _induced_dirichlet(cut, alpha: float):
    """log density of the induced Dirichlet prior (see _numeric.induced_dirichlet_logp), finite everywhere."""
    import pytensor.tensor as pt

    jac = (_log_sigmoid(cut) + _log_sigmoid(-cut)).sum()
    if alpha == 1.0:
        return jac
    log_p = _log_sigmoid(cut[0]) + _log_sigmoid(-cut[-1])
    log_p = log_p + (_log_sigmoid(cut[1:]) + _log_sigmoid(-cut[:-1]) + pt.log1mexp(cut[:-1] - cut[1:])).sum()
    return (alpha - 1.0) * log_p + jac


def hyper_names(spec: ChangeModel, family: str) -> list[str]:
    """Population-level parameters: what convergence is judged on and what summary() shows."""
    names = ["slope"]
    names += ["cutpoints"] if family == "ordinal" else ["intercept", "sigma"] + (["nu"] if family == "student_t" else [])
    names += ["person_sd"]
    if spec.person_slopes:
        names.append("person_slope_sd")
    names += [f"slope_sd_{lvl}" for lvl in spec.slope_levels]
    names += [f"intercept_sd_{lvl}" for lvl in spec.intercepts_by]
    if spec.covariates:
        names.append("beta")
    if spec.measurement_covariates:
        names.append("measurement")
    if spec.dropout is not None:
        names += ["closure_rate", "closure_effect"] + (["closure_trend"] if spec.dropout.time_trend else [])
        names += ["closure_period_rate"] if spec.dropout.baseline_knots else []
    return names


_COMPILED: dict[str, Any] = {}
"""Compiled nutpie models by model structure (specification and design without the outcome), newest last."""
_COMPILED_MAX = 24
"""About 45 MB each. A simulation study meets about 20 structures per process (models x sizes of programme,
in buckets of 64 young people); with room for 8 it recompiled in 15% of its fits (the 200-replication study)."""


def _structure_key(spec: ChangeModel, design: Design, n_people: int) -> str:
    """What a compiled graph depends on: the specification and the shapes, not the data (swapped in)."""
    import hashlib

    h = hashlib.sha256(spec.model_dump_json().encode())
    h.update(f"{design.family}|{design.n_categories}|{n_people}|{design.X.shape[1]}|{design.t_per_year}".encode())
    h.update("|".join(f"{lvl}:{len(g.labels)}" for lvl, g in design.groups.items()).encode())
    h.update(f"{design.selection}|{'|'.join(design.closure_reasons)}".encode())
    if design.selection is not None:
        from cseoutcomes.models._numeric import selection_is_one_number

        h.update(f"|one:{selection_is_one_number(spec, design)}".encode())
    return h.hexdigest()


def _compiled_nutpie(spec: ChangeModel, design: Design, model=None):
    """nutpie's compiled model for this structure, compiled once per process and reused with new data.

    Simulation studies and SBC fit many designs of the same structure (new
    outcomes, new young people, new times): compiling (5-10 s) is paid once
    per structure and size bucket of young people, and every array is swapped in.
    """
    import nutpie

    n_people = padded_people(design)
    key = _structure_key(spec, design, n_people)
    arrays = data_arrays(spec, design, n_people)
    if key in _COMPILED:
        compiled = _COMPILED.pop(key)
        _COMPILED[key] = compiled  # most recently used last
        return compiled.with_data(**arrays), n_people
    model = build_pymc_model(spec, design, n_people)
    compiled = nutpie.compile_pymc_model(model, var_names=_stored(model))
    _COMPILED[key] = compiled
    while len(_COMPILED) > _COMPILED_MAX:
        _COMPILED.pop(next(iter(_COMPILED)))
    return compiled, n_people


def _stored(model) -> list[str]:
    """Variables kept in the trace: everything but the non-centred z_* (their scaled versions are kept)."""
    return [v.name for v in [*model.free_RVs, *model.deterministics] if not v.name.startswith("z_")]


def _sample_once(model, *, sampler: str, draws: int, tune: int, chains: int, cores: int | None, seed: int | None,
                 progress: bool, compiled=None, spec=None, design=None, **kwargs):
    if sampler == "nutpie":
        import nutpie

        if compiled is None:
            compiled, _ = _compiled_nutpie(spec, design)
        dt = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, cores=cores or chains,
                           seed=seed if seed is not None else np.random.SeedSequence().entropy % (2**63),
                           progress_bar=progress, save_warmup=False, **kwargs)
        return dt, compiled
    import pymc as pm

    if sampler == "pymc" and (cores or chains) > 1:
        kwargs.setdefault("mp_ctx", "spawn")  # forking a process with compiler threads can deadlock
    dt = pm.sample(draws, tune=tune, chains=chains, cores=cores or chains, random_seed=seed, model=model,
                   nuts_sampler=sampler, progressbar=progress, compute_convergence_checks=False,
                   var_names=_stored(model), **kwargs)
    return dt, None


def fit_pymc(spec: ChangeModel, design: Design, *, sampler: str | None, draws: int, tune: int, chains: int,
             cores: int | None, seed: int | None, progress: bool, target_ess: float | None, max_draws: int,
             **kwargs):
    from cseoutcomes.models.fit import ChangeFit

    sampler = sampler or default_sampler()
    if sampler not in SAMPLERS:
        raise ModelError(f"unknown sampler {sampler!r}", where="sampler", hint=f"use one of {list(SAMPLERS)}")
    if sampler in ("numpyro", "blackjax"):
        import importlib.util

        if importlib.util.find_spec("jax") is None or importlib.util.find_spec(sampler) is None:
            raise ModelError(f"sampler {sampler!r} needs JAX and {sampler}, which are not installed",
                             where="sampler", hint='pip install "cseoutcomes[jax]", or use sampler="nutpie"')
    if sampler == "nutpie":
        import importlib.util

        if importlib.util.find_spec("nutpie") is None:
            raise ModelError("sampler 'nutpie' is not installed", where="sampler",
                             hint="pip install nutpie, or use sampler='pymc'")
    if tune is None:
        tune = 300 if sampler == "nutpie" else 1000
    for name, value in (("draws", draws), ("tune", tune), ("chains", chains)):
        if int(value) < 1:
            raise ModelError(f"{name} must be at least 1, not {value}", where=name)
    if target_ess is not None and chains < 2:
        raise ModelError("target_ess needs at least 2 chains to compute R-hat", where="chains")
    model = None if sampler == "nutpie" else build_pymc_model(  # nutpie: compiled once, reused
        spec, design, fused=sampler not in ("numpyro", "blackjax"))  # JAX cannot run the Numba kernels
    names = hyper_names(spec, design.family)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*overflow.*")
        warnings.filterwarnings("ignore", message="Found chain dimension to be longer")
        if target_ess is not None and sampler == "nutpie":
            dt = _nutpie_until_converged(_compiled_nutpie(spec, design)[0], names, draws=draws, tune=tune,
                                         chains=chains, cores=cores, seed=seed, progress=progress,
                                         target_ess=target_ess, max_draws=max_draws, **kwargs)
            draws = int(dt["posterior"].sizes["draw"])
        else:
            compiled = None
            while True:
                dt, compiled = _sample_once(model, sampler=sampler, draws=draws, tune=tune, chains=chains,
                                            cores=cores, seed=seed, progress=progress, compiled=compiled,
                                            spec=spec, design=design, **kwargs)
                if target_ess is None or _converged(dt["posterior"].to_dataset(), names, target_ess) \
                        or draws * 2 > max_draws:
                    break
                draws *= 2
                seed = None if seed is None else seed + 1
    elapsed = time.perf_counter() - start
    return ChangeFit._from_sampling(spec, design, dt, sampler=sampler, seconds=elapsed, draws=draws, tune=tune)


def _converged(posterior, names: list[str], target_ess: float) -> bool:
    from cseoutcomes.models.fit import RHAT_MAX, convergence_table

    table = convergence_table(posterior, names)
    return bool(table["r_hat"].max() <= RHAT_MAX and table["ess_bulk"].min() >= target_ess
                and table["ess_tail"].min() >= target_ess)


def _nutpie_until_converged(compiled, names, *, draws, tune, chains, cores, seed, progress, target_ess, max_draws,
                            poll_seconds: float = 1.0, **kwargs):
    """Sample with nutpie in the background and stop as soon as the hyper-parameters pass the checks.

    The chains run towards ``max_draws``; every ``poll_seconds`` the draws so
    far (cut to the length of the shortest chain) are checked, at least
    ``draws`` of them first. Stopping when the diagnostics pass is the usual
    "run until the effective sample size is reached" rule; the checks are the
    ones :meth:`ChangeFit.diagnostics` reports.
    """
    import nutpie

    sampler = nutpie.sample(compiled, draws=max_draws, tune=tune, chains=chains, cores=cores or chains,
                            seed=seed if seed is not None else int(np.random.SeedSequence().entropy % (2**63)),
                            progress_bar=progress, save_warmup=False, blocking=False, **kwargs)
    checked = 0
    finished = False
    try:
        while True:
            time.sleep(poll_seconds)
            trace = sampler.inspect()
            n_valid = _complete_draws(trace)
            if n_valid >= max_draws:
                finished = True
                break
            if n_valid < draws or n_valid < checked * 1.1:
                continue
            checked = n_valid
            post = trace["posterior"].to_dataset()[names].isel(draw=slice(0, n_valid))
            trace = None  # each inspect() is a copy of the whole trace so far: free it before the next
            if _converged(post, names, target_ess):
                break
    except BaseException:
        sampler.cancel()
        raise
    trace = None
    trace = sampler.wait() if finished else sampler.abort()
    n_valid = _complete_draws(trace)
    if not finished:  # keep exactly the draws that passed the checks (a few more can dip below an ESS bar)
        n_valid = min(n_valid, checked)
    import xarray as xr

    groups = {name: trace[name].to_dataset().isel(draw=slice(0, n_valid)) for name in ("posterior", "sample_stats")}
    return xr.DataTree.from_dict(groups)


def _complete_draws(trace) -> int:
    """Draws every chain has finished (chains run at their own pace; the rest is NaN padding)."""
    if "posterior" not in trace.children:
        return 0
    post = trace["posterior"].to_dataset()
    if not post.data_vars or post.sizes.get("draw", 0) == 0:
        return 0
    arr = np.asarray(post["slope"] if "slope" in post else post[next(iter(post.data_vars))])
    done = ~np.isnan(arr.reshape(arr.shape[0], arr.shape[1], -1)[..., 0])
    return int(done.sum(axis=1).min())
