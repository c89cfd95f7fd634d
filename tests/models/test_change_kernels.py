"""The fused Numba kernels (``_kernels``) against the references they replace.

Peers: the value against ``_numeric`` (the NumPy likelihoods that the other model tests check against
textbook and quadrature values); the gradient against central finite differences and against
PyTensor's automatic derivative of the elementwise form (``build_pymc_model(fused=False)``, which the
JAX samplers still use), for whole models, so that the kernels, their wiring into the graph and the
gradients that flow back through the linear predictor are all checked.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import value_point
from cseoutcomes.models import ChangeModel, Dropout, Selection
from cseoutcomes.models import _kernels as kern
from cseoutcomes.models import _numeric as num
from cseoutcomes.models.design import build_design
from cseoutcomes.models.simulation import draw_prior
from cseoutcomes.simulate import hub_and_spoke


@pytest.fixture(scope="module")
def small():
    return hub_and_spoke(seed=5, n_hubs=3, n_areas=4, n_workers=6)


def _central(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(x)
    for j in range(x.size):
        e = np.zeros_like(x)
        e.flat[j] = h
        out.flat[j] = (f(x + e) - f(x - e)) / (2 * h)
    return out


# ------------------------------------------------------------------ the ordinal likelihood

@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 6), st.floats(0.5, 30.0))
def test_ordinal_kernel_value_and_gradient(seed, K, spread):
    """Value equals _numeric.ordinal_logp summed; gradient equals central differences, out to |c - eta| of 30."""
    rng = np.random.default_rng(seed)
    cut = np.sort(rng.normal(0, 2, K - 1)) + np.arange(K - 1) * 0.3
    eta = rng.normal(0, spread, 60)
    y = rng.integers(0, K, 60)
    value, d_eta, d_cut = kern.ordinal_value_and_grad(eta, cut, y)
    assert float(value) == pytest.approx(num.ordinal_logp(y, eta, cut).sum(), rel=1e-12, abs=1e-12)
    f_eta = _central(lambda e: float(kern.ordinal_value_and_grad(e, cut, y)[0]), eta)
    f_cut = _central(lambda c: float(kern.ordinal_value_and_grad(eta, c, y)[0]), cut)
    np.testing.assert_allclose(d_eta, f_eta, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d_cut, f_cut, rtol=1e-5, atol=1e-6)


def test_ordinal_kernel_keeps_digits_in_the_upper_tail():
    """A middle category far below eta: F(a) - F(b) would cancel to 0; the tail form keeps the value."""
    cut = np.array([0.0, 1.0, 2.0])
    eta = np.array([40.0])
    value, d_eta, _ = kern.ordinal_value_and_grad(eta, cut, np.array([1]))
    # P(y = 1) = F(eta - 0) - F(eta - 1) -> e^-39 - e^-40 = e^-40 (e - 1) for large eta
    assert float(value) == pytest.approx(-40.0 + np.log(np.e - 1.0), rel=1e-12)
    assert d_eta[0] == pytest.approx(-1.0, rel=1e-9)  # d/d eta of -eta + const


def test_ordinal_kernel_gives_minus_infinity_not_an_error_where_a_probability_underflows():
    """Two cutpoints equal to rounding (an extreme warm-up step): log 0 = -inf, a rejected step, no exception."""
    value, d_eta, _ = kern.ordinal_value_and_grad(np.array([0.3]), np.array([-1.0, 0.5, 0.5]), np.array([2]))
    assert float(value) == -np.inf and not np.isfinite(d_eta[0])


# ------------------------------------------------------------------ the closure likelihood

def _closure_inputs(rng, P=80, R=4, knots=(3.0, 9.0), trend=True, slope_scale=0.05):
    T = rng.uniform(0.0, 24.0, P)
    T[:3] = 0.0  # no follow-up
    starts, widths = num.closure_periods(knots)
    length = np.clip(T[:, None] - starts[None, :], 0.0, widths)
    event = np.where(rng.random(P) < 0.6, rng.integers(0, R, P), -1)
    event[T == 0] = -1
    params = [rng.normal(-3, 0.5, (R, len(starts))), rng.normal(0, 0.7, R),
              rng.normal(0, 0.05, R) if trend else np.zeros(R), rng.normal(0, 1, P), rng.normal(0, slope_scale, P)]
    data = [T, length, starts, num.closure_period(T, knots).astype(np.int64), event.astype(np.int64),
            np.array(4.5 if trend else 0.0)]
    return params, data


@pytest.mark.parametrize(("knots", "trend"), [((), False), ((), True), ((3.0,), False), ((3.0, 9.0), True)])
def test_closure_kernel_value_and_gradient(knots, trend):
    """Value equals _numeric.closure_loglik; the gradient in every parameter equals central differences."""
    rng = np.random.default_rng(11)
    params, data = _closure_inputs(rng, knots=knots, trend=trend)
    rates, effect, g, eta0, slope = params
    T, _, _, _, event, centre = data
    value, *grads = kern.closure_value_and_grad(*params, *data)
    ref = num.closure_loglik(rates[None, :, 0], effect[None], eta0[None], slope[None], T, event,
                             g[None] if trend else None, float(centre), knots,
                             rates[None, :, 1:] if knots else None).sum()
    assert float(value) == pytest.approx(ref, rel=1e-12)
    for j, grad in enumerate(grads):
        def f(x, j=j):
            p = list(params)
            p[j] = x
            return float(kern.closure_value_and_grad(*p, *data)[0])

        np.testing.assert_allclose(grad, _central(f, params[j]), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("c", [0.0, 1e-9, -3e-5, 9.99e-4 / 6.0, 1.001e-3 / 6.0, 0.2])
def test_closure_kernel_is_smooth_across_its_series_branch(c):
    """Near c L = 0 the kernel's series and closed form agree with a long-double reference (value and d/dc)."""
    L = 6.0  # one period, one young person, one reason: H = e^a (e^{cL} - 1) / c with c = effect * slope
    effect, slope = np.array([1.0]), np.array([c])
    args = [np.array([[-1.0]]), effect, np.zeros(1), np.zeros(1), slope, np.array([L]), np.array([[L]]),
            np.zeros(1), np.zeros(1, np.int64), np.array([-1]), np.array(0.0)]
    value, _, _, _, _, d_slope = kern.closure_value_and_grad(*args)
    x = np.longdouble(c) * np.longdouble(L)
    fact = [np.longdouble(math.factorial(n)) for n in range(45)]
    H = np.exp(np.longdouble(-1.0)) * L * sum(x ** n / fact[n + 1] for n in range(40))  # L sum x^n / (n+1)!
    dH = np.exp(np.longdouble(-1.0)) * L * L * sum((n + 1) * x ** n / fact[n + 2] for n in range(40))  # d/dc
    assert float(value) == pytest.approx(float(-H), rel=1e-13)
    assert d_slope[0] == pytest.approx(float(-dH), rel=1e-10)


@pytest.mark.parametrize("mode", ["NUMBA", "FAST_RUN", "FAST_COMPILE"])
def test_kernels_run_the_same_in_every_pytensor_mode(mode):
    """Compiled by Numba (nutpie, the default mode) or run by the Op's perform (C and Python modes): one answer."""
    import pytensor
    import pytensor.tensor as pt

    rng = np.random.default_rng(5)
    params, data = _closure_inputs(rng, knots=(3.0,))
    inputs = [pt.tensor(dtype="float64", shape=(None,) * np.ndim(v)) for v in params]
    term = kern.closure_loglik(*inputs, *data)[0]
    eta, cut = pt.dvector("eta"), pt.dvector("cut")
    y = rng.integers(0, 4, 50)
    ordinal = kern.ordinal_loglik(eta, cut, y)[0]
    f = pytensor.function([*inputs, eta, cut], [term, *pt.grad(term, inputs), ordinal, *pt.grad(ordinal, [eta, cut])],
                          mode=mode)
    e, c = rng.normal(0, 2, 50), np.array([-1.0, 0.2, 1.1])
    got = f(*params, e, c)
    want = [*kern.closure_value_and_grad(*params, *data)[:6], *kern.ordinal_value_and_grad(e, c, y)]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13)


# ------------------------------------------------------------------ whole models, fused against elementwise

SPECS = {
    "dropout": dict(dropout=Dropout()),
    "dropout_knots_trend_slopes": dict(dropout=Dropout(baseline_knots=(3.0,), time_trend=True), person_slopes=True),
    "selection_referral_knots": dict(dropout=Dropout(baseline_knots=(3.0, 12.0)), selection=Selection(
        at_least="moderate"), measurement_covariates=("referral",), person_slopes=True),
    "intercepts": dict(intercepts_by=("service",)),
    "gaussian_dropout": dict(family="gaussian", outcome="total", dropout=Dropout(time_trend=True)),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_fused_model_equals_the_elementwise_model(small, name):
    """Log density and its gradient of the fused graph equal the elementwise graph's at random points."""
    from cseoutcomes.models._pymc import build_pymc_model

    m = ChangeModel(**{"instrument": "cse-risk-indicators", "outcome": "total_band",
                       "groups": {"service": "service", "worker": "worker"}, **SPECS[name]})
    data = m.with_referral_flag(small.assessments)
    d = build_design(m, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fused, plain = build_pymc_model(m, d), build_pymc_model(m, d, fused=False)
        funcs = [(model.compile_logp(), model.compile_dlogp()) for model in (fused, plain)]
    rng = np.random.default_rng(3)
    for _ in range(3):
        point = value_point(fused, draw_prior(m, d, rng))
        (lp_f, dlp_f), (lp_p, dlp_p) = ((f(point), g(point)) for f, g in funcs)
        assert float(lp_f) == pytest.approx(float(lp_p), rel=1e-11)
        # prior draws are far from the data: entries reach 1e9, and one that is a sum of such terms
        # cancelling keeps their rounding, so entries near 0 are compared on the gradient's scale
        np.testing.assert_allclose(dlp_f, dlp_p, rtol=1e-8, atol=1e-11 * np.abs(dlp_p).max())


# ------------------------------------------------------------------ the intercepts' mean as a parameter of its own

@pytest.mark.parametrize("name", ["dropout", "selection_referral_knots"])
def test_separate_location_is_the_same_model(small, name):
    """The ordinal graph's two forms (intercepts' mean apart, or P independent intercepts) are one model.

    At the same intercepts and cutpoints every likelihood term is equal, and the whole log density differs
    by the same constant at every point (the change of coordinates is linear in the cutpoints' shift).
    """
    from cseoutcomes.models._pymc import build_pymc_model

    m = ChangeModel(**{"instrument": "cse-risk-indicators", "outcome": "total_band",
                       "groups": {"service": "service", "worker": "worker"}, **SPECS[name]})
    d = build_design(m, m.with_referral_flag(small.assessments))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new, old = build_pymc_model(m, d), build_pymc_model(m, d, separate_location=False)
        assert "z_person_mean" in new.named_vars and "z_person_mean" not in old.named_vars
        terms = {model: {v.name: model.compile_fn(model.replace_rvs_by_values([v])[0], inputs=model.value_vars,
                                                  on_unused_input="ignore") for v in model.potentials}
                 for model in (new, old)}
        logps = {model: model.compile_logp() for model in (new, old)}
    rng = np.random.default_rng(8)
    gaps = []
    for _ in range(3):
        p = draw_prior(m, d, rng)
        points = {model: value_point(model, p) for model in (new, old)}
        for term in terms[new]:
            assert float(terms[new][term](points[new])) == pytest.approx(float(terms[old][term](points[old])),
                                                                          rel=1e-10, abs=1e-8)
        gaps.append(float(logps[new](points[new])) - float(logps[old](points[old])))
    assert np.ptp(gaps) < 1e-6 * max(1.0, abs(gaps[0]))
