"""The model's pieces in NumPy, checked against closed forms and against the PyMC graph."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit, logit

from cseoutcomes.models import _numeric as num


def _naive_logp(y, eta, cut):
    """Direct definition: log(F(c_k - eta) - F(c_{k-1} - eta)) with the logistic CDF F."""
    pad = np.r_[-np.inf, cut, np.inf]
    return np.log(stats.logistic.cdf(pad[y + 1] - eta) - stats.logistic.cdf(pad[y] - eta))


def test_ordinal_logp_matches_the_definition():
    rng = np.random.default_rng(1)
    cut = np.array([-1.5, 0.2, 2.0])
    eta = rng.normal(0, 2, 200)
    y = rng.integers(0, 4, 200)
    np.testing.assert_allclose(num.ordinal_logp(y, eta, cut), _naive_logp(y, eta, cut), rtol=1e-10)


def test_ordinal_logp_stays_accurate_far_in_the_tails():
    # P(y = 0 | eta = 40) = F(-1 - 40) = exp(-41) / (1 + exp(-41)): the direct formula is fine here,
    # but for a middle category far from eta F(a) - F(b) underflows to 0 while the stable form does not
    cut = np.array([-1.0, 1.0])
    assert num.ordinal_logp(np.array([0]), np.array([40.0]), cut)[0] == pytest.approx(-41.0, abs=1e-12)
    lp = num.ordinal_logp(np.array([1]), np.array([-60.0]), cut)[0]
    # log(F(61) - F(59)) = log F(61) + log F(-59) + log(1 - e^-2) ~= -59 + log(1 - e^-2)
    assert lp == pytest.approx(-59 + np.log1p(-np.exp(-2.0)), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-6, 6), min_size=1, max_size=6, unique=True), st.floats(-10, 10))
def test_category_probabilities_sum_to_one_and_match_logp(cuts, eta):
    cut = np.sort(np.array(cuts))
    if np.any(np.diff(cut) < 1e-6):
        return
    p = num.ordinal_probabilities(np.array([eta]), cut)[0]
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(p >= 0)
    K = len(cut) + 1
    lp = num.ordinal_logp(np.arange(K), np.full(K, eta), cut)
    np.testing.assert_allclose(np.exp(lp), p, rtol=1e-7, atol=1e-300)
    assert num.ordinal_expected(np.array([[eta]]), cut[None, :])[0, 0] == pytest.approx(p @ np.arange(K))


def test_ordinal_sample_reproduces_the_category_probabilities():
    rng = np.random.default_rng(7)
    cut = np.array([-1.0, 0.5, 2.0])
    eta = np.full(200_000, 0.3)
    draws = num.ordinal_sample(eta, cut, rng)
    expected = num.ordinal_probabilities(np.array([0.3]), cut)[0]
    observed = np.bincount(draws, minlength=4) / len(draws)
    # binomial standard error at n = 200,000 is at most 0.0011
    np.testing.assert_allclose(observed, expected, atol=0.005)


def test_induced_dirichlet_with_two_categories_is_a_beta_on_the_logit_scale():
    # K = 2: p1 = F(c) ~ Beta(a, a), so the density of c is Beta(F(c); a, a) * F'(c) (change of variables)
    a = 2.5
    c = np.linspace(-4, 4, 9)
    ours = num.induced_dirichlet_logp(c[:, None], a)
    direct = stats.beta.logpdf(expit(c), a, a) + np.log(expit(c) * (1 - expit(c)))
    np.testing.assert_allclose(ours - ours[0], direct - direct[0], atol=1e-10)


def test_induced_dirichlet_with_three_categories_matches_a_numerical_jacobian():
    # Dirichlet density of p = (F(c1), F(c2) - F(c1), 1 - F(c2)) times |d(p1, p2)/d(c1, c2)| by finite differences
    a = 1.7
    rng = np.random.default_rng(3)
    for _ in range(5):
        c = np.sort(rng.normal(0, 1.5, 2))

        def p12(cc):
            return np.array([expit(cc[0]), expit(cc[1]) - expit(cc[0])])

        h = 1e-6
        J = np.column_stack([(p12(c + h * e) - p12(c - h * e)) / (2 * h) for e in np.eye(2)])
        p = np.r_[p12(c), 1 - expit(c[1])]
        direct = stats.dirichlet.logpdf(p, [a, a, a]) + np.log(abs(np.linalg.det(J)))
        c0 = np.array([-0.5, 0.5])
        p0 = np.r_[expit(c0[0]), expit(c0[1]) - expit(c0[0]), 1 - expit(c0[1])]
        J0 = np.array([[expit(c0[0]) * (1 - expit(c0[0])), 0],
                       [-expit(c0[0]) * (1 - expit(c0[0])), expit(c0[1]) * (1 - expit(c0[1]))]])
        direct0 = stats.dirichlet.logpdf(p0, [a, a, a]) + np.log(abs(np.linalg.det(J0)))
        ours = num.induced_dirichlet_logp(c, a) - num.induced_dirichlet_logp(c0, a)
        assert ours == pytest.approx(direct - direct0, abs=1e-6)


def test_cutpoints_from_probabilities_inverts_the_category_probabilities():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    cut = num.cutpoints_from_probabilities(p)
    np.testing.assert_allclose(cut, logit(np.cumsum(p)[:-1]))
    np.testing.assert_allclose(num.ordinal_probabilities(np.array([0.0]), cut)[0], p)


@pytest.mark.parametrize(("family", "selection", "simple"),
                         [("ordinal", None, False), ("gaussian", None, False), ("student_t", None, False),
                          ("ordinal", "moderate", False), ("gaussian", 8.0, False), ("ordinal", "moderate", True),
                          ("ordinal", "moderate", "referral")])
def test_pymc_graph_and_numpy_agree_on_the_log_likelihood(family, selection, simple):
    """The sampled model (PyMC) and the post-processing (NumPy) must be the same model."""
    import pymc as pm  # noqa: F401  (the graph needs it)

    from cseoutcomes.models import ChangeModel
    from cseoutcomes.models._pymc import build_pymc_model
    from cseoutcomes.models.design import build_design
    from cseoutcomes.models.fit import ChangeFit
    from cseoutcomes.simulate import hub_and_spoke

    sim = hub_and_spoke(seed=5, n_hubs=3, n_areas=4, n_workers=6)
    outcome = "total_band" if family == "ordinal" else "total"
    table = sim.assessments.assign(age_c=sim.assessments["age"], referral=sim.assessments["occasion"].eq(0))
    from cseoutcomes.models import Selection

    # simple: no covariates or group intercepts, so every referral has the same pass probability (one integral)
    # "referral": a referral flag shifts every referral alike, so still one integral, at the shift
    extra = {} if simple is True else {"measurement_covariates": ("referral",)} if simple else \
        {"intercepts_by": ("service",), "covariates": ("age_c",)}
    m = ChangeModel(instrument="cse-risk-indicators", outcome=outcome, family=family, person_slopes=True,
                    selection=Selection(at_least=selection) if selection is not None else None, **extra)
    d = build_design(m, table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_pymc_model(m, d)
        rng = np.random.default_rng(11)
        point = {v.name: rng.normal(0, 0.5, size=np.shape(model.initial_point()[v.name]))
                 for v in model.value_vars}
        if family == "ordinal":
            terms = [p for p in model.potentials if p.name in ("y_loglik", "selection")]
            assert len(terms) == 1 + (selection is not None)
            lik = model.compile_logp(vars=terms, sum=True)(point)
        else:
            terms = [model["y"], *[p for p in model.potentials if p.name == "selection"]]
            lik = model.compile_logp(vars=terms, sum=True)(point)
        names = [v for v in ("slope", "person_sd", "person_intercept", "person_slope", "slope_worker", "slope_service",
                             "slope_area", "intercept_service", "beta", "cutpoints", "intercept", "sigma", "nu",
                             "measurement")
                 if v in model.named_vars]
        outs = model.replace_rvs_by_values([model[n] for n in names])
        values = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")(point)
    params = {n: np.asarray(v)[None, ...] for n, v in zip(names, values, strict=True)}
    fit = ChangeFit(None, m, d, {})
    fit._posterior = None
    fit._param_cache = params
    assert num.selection_is_one_number(m, d) == bool(simple and selection is not None)
    assert fit._loglik().sum() == pytest.approx(float(lik), rel=1e-9)


def test_wine_marginal_likelihood_matches_clmm_adaptive_quadrature(wine):
    """Our ordinal likelihood, integrated over judges, equals ordinal::clmm's at its maximum.

    R 4.2.2, ordinal 2022.11-16: clmm(rating ~ temp + contact + (1|judge), data = wine, nAGQ = 15)
    gives thresholds -1.62348745319, 1.51279603787, 4.22705345191, 6.08615227468, tempwarm
    3.06189098992, contactyes 1.83343336332, judge SD 1.13478329603 and log-likelihood
    -81.532460711 (the Laplace fit of Christensen's tutorial: -81.57). Same parameterisation as ours:
    P(Y <= j) = F(theta_j - x'beta - u). We integrate each judge's likelihood over u ~ N(0, SD^2)
    with 40-point Gauss-Hermite quadrature (exact to far below the 1e-6 tolerance).
    """
    cut = np.array([-1.62348745319, 1.51279603787, 4.22705345191, 6.08615227468])
    temp, contact, sd = 3.06189098992, 1.83343336332, 1.13478329603
    y = wine["rating"].astype(int).to_numpy() - 1
    x = temp * (wine["temp"] == "warm") + contact * (wine["contact"] == "yes")
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)  # probabilists' Hermite: weight exp(-u^2/2)
    weights = weights / np.sqrt(2 * np.pi)
    total = 0.0
    for _, rows in wine.groupby("judge").groups.items():
        idx = wine.index.get_indexer(rows)
        eta = x.to_numpy()[idx][None, :] + sd * nodes[:, None]
        ll = num.ordinal_logp(np.broadcast_to(y[idx], eta.shape), eta, cut).sum(axis=1)
        total += np.log(np.sum(weights * np.exp(ll)))
    assert total == pytest.approx(-81.532460711, abs=1e-6)


def _graph_pieces():
    import pytensor
    import pytensor.tensor as pt

    from cseoutcomes.models._pymc import _induced_dirichlet, _ordinal_loglik

    return pytensor, pt, _ordinal_loglik, _induced_dirichlet


@pytest.mark.parametrize("scale", [1.0, 20.0, 100.0])
def test_graph_likelihood_is_accurate_in_the_tails(scale):
    """The cheap form sampled by PyMC agrees with the log-sigmoid form far from the thresholds.

    Relative accuracy where a category is unlikely (log P very negative); where it is nearly
    certain, log P is ~1e-10 and log(1 - tiny) is accurate to 1e-16 absolute, which is what
    matters in a sum of log-likelihoods.
    """
    pytensor, pt, ordinal_loglik, _ = _graph_pieces()
    rng = np.random.default_rng(4)
    y = rng.integers(0, 5, 500)
    eta_v = pt.vector("eta")
    cut_v = pt.vector("cut")
    fn = pytensor.function([eta_v, cut_v], ordinal_loglik(y, eta_v, cut_v, 5))
    cut = np.array([-2.0, -0.5, 0.7, 2.5])
    eta = rng.normal(0, scale, 500)
    np.testing.assert_allclose(fn(eta, cut), num.ordinal_logp(y, eta, cut), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("alpha", [1.0, 2.5])
def test_graph_threshold_prior_matches_numpy(alpha):
    pytensor, pt, _, induced = _graph_pieces()
    cut_v = pt.vector("cut")
    fn = pytensor.function([cut_v], induced(cut_v, alpha))
    c1, c2 = np.array([-1.0, 0.3, 2.0]), np.array([-3.0, -0.2, 0.1])
    assert fn(c1) - fn(c2) == pytest.approx(num.induced_dirichlet_logp(c1, alpha) - num.induced_dirichlet_logp(c2, alpha),
                                            abs=1e-10)


def test_gradients_are_finite_for_jax_samplers():
    """numpyro and blackjax differentiate the JAX version of the graph (both sides of every branch).

    They get the elementwise form (``fused=False``: JAX cannot run the Numba kernels), whose log density
    must equal the fused model's, which the other samplers use.
    """
    pytest.importorskip("jax")
    import jax
    from pymc.sampling.jax import get_jaxified_logp

    from cseoutcomes.models import ChangeModel
    from cseoutcomes.models._pymc import build_pymc_model
    from cseoutcomes.models.design import build_design
    from cseoutcomes.simulate import hub_and_spoke

    jax.config.update("jax_enable_x64", True)
    sim = hub_and_spoke(seed=5, n_hubs=3, n_areas=4, n_workers=6)
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = build_design(m, sim.assessments)
        model = build_pymc_model(m, design, fused=False)
        logp = get_jaxified_logp(model)
        point = model.initial_point()
        values = [point[v.name] for v in model.value_vars]
        grads = jax.grad(logp)(values)
        fused = build_pymc_model(m, design).compile_logp()(point)
    assert all(np.isfinite(np.asarray(g)).all() for g in grads)
    assert float(logp(values)) == pytest.approx(float(fused), rel=1e-10)


def test_referral_draws_are_truncated_at_the_screen():
    """Simulated referral bands follow P(y = k | eta) / P(y >= m | eta); later assessments are not truncated."""
    from cseoutcomes.models import ChangeModel, Selection, simulate_outcomes
    from cseoutcomes.models.design import build_design

    n = 40_000
    table = pd.DataFrame({"person_id": np.repeat(np.arange(n // 2), 2).astype(str),
                          "months": np.tile([0.0, 3.0], n // 2)})
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", time="months", groups={},
                    selection=Selection(at_least="moderate"))
    d = build_design(m, table, require_outcome=False)
    params = {"slope": np.asarray(0.0), "person_sd": np.asarray(0.0), "person_intercept": np.zeros(n // 2),
              "cutpoints": np.array([-1.0, 0.0, 1.0])}
    out, _ = simulate_outcomes(m, table, params, seed=2)
    codes = {c: i for i, c in enumerate(m.categories)}
    y = out["total_band"].map(codes).to_numpy()
    p = num.ordinal_probabilities(np.array([0.0]), params["cutpoints"])[0]
    referral = d.selected
    assert referral.sum() == n // 2 and (y[referral] >= 2).all()
    expected = p[2:] / p[2:].sum()
    observed = np.bincount(y[referral], minlength=4)[2:] / referral.sum()
    np.testing.assert_allclose(observed, expected, atol=0.015)  # binomial SE ~0.0035
    np.testing.assert_allclose(np.bincount(y[~referral], minlength=4) / (n // 2), p, atol=0.015)


def test_selection_pass_probability_matches_adaptive_quadrature():
    """log of the integral of F(a + u - c) N(u; 0, s^2) du (ordinal) and the normal closed form (gaussian),
    against scipy.integrate.quad (adaptive quadrature, an independent computation)."""
    from scipy import integrate, stats
    from scipy.special import expit

    offsets = np.array([[-2.0, -0.5, 0.0, 1.0, 2.5]])
    for sd, c in [(0.5, 0.3), (1.0, -1.0), (2.0, 1.2), (3.0, 0.0)]:
        got = num.selection_log_pass(offsets, np.array([sd]), np.array([c]), "ordinal")[0]
        ref = [np.log(integrate.quad(lambda u, a=a, sd=sd, c=c: stats.norm.pdf(u, 0, sd) * expit(a + u - c), -40, 40,
                                     epsabs=1e-13, limit=200)[0]) for a in offsets[0]]
        np.testing.assert_allclose(got, ref, atol=3e-4)
        one = num.selection_log_pass(np.zeros((1, 1)), np.array([sd]), np.array([c]), "ordinal", nodes=64)
        assert one[0, 0] == pytest.approx(np.log(integrate.quad(
            lambda u, sd=sd, c=c: stats.norm.pdf(u, 0, sd) * expit(u - c), -40, 40, epsabs=1e-13, limit=200)[0]),
            abs=1e-6)
    # gaussian: y = offset + u + e, u ~ N(0, sd^2), e ~ N(0, sigma^2); P(y >= thr) by quadrature over u
    got = num.selection_log_pass(offsets, np.array([0.8]), np.array([0.4]), "gaussian", sigma=np.array([0.6]))[0]
    ref = [np.log(integrate.quad(lambda u, a=a: stats.norm.pdf(u, 0, 0.8) * stats.norm.sf(0.4, a + u, 0.6),
                                 -20, 20, epsabs=1e-13)[0]) for a in offsets[0]]
    np.testing.assert_allclose(got, ref, rtol=1e-7)


def test_screened_referrals_come_from_the_referral_population():
    """Those taken on have intercepts distributed as N(0, sd^2) * P(pass | u), the screened population:
    their mean intercept and their referral bands match quadrature over that density."""
    from scipy import integrate, stats
    from scipy.special import expit

    from cseoutcomes.models import ChangeModel, Selection, simulate_outcomes

    n = 30_000
    table = pd.DataFrame({"person_id": np.repeat(np.arange(n), 2).astype(str), "months": np.tile([0.0, 3.0], n)})
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", time="months", groups={},
                    selection=Selection(at_least="moderate"))
    cut = np.array([-1.0, 0.0, 1.0])
    params = {"slope": np.asarray(0.0), "person_sd": np.asarray(1.5), "person_intercept": np.zeros(n),
              "cutpoints": cut}
    out, used = simulate_outcomes(m, table, params, seed=4)
    u = used["person_intercept"]
    dens = lambda x: stats.norm.pdf(x, 0, 1.5) * expit(x - cut[1])  # noqa: E731  P(pass | u) = F(u - c_1)
    z = integrate.quad(dens, -20, 20)[0]
    mean = integrate.quad(lambda x: x * dens(x), -20, 20)[0] / z
    assert u.mean() == pytest.approx(mean, abs=4 * 1.5 / np.sqrt(n))
    codes = out["total_band"].map({c: i for i, c in enumerate(m.categories)}).to_numpy()
    referral = codes[0::2]
    assert (referral >= 2).all()
    p_top = integrate.quad(lambda x: stats.norm.pdf(x, 0, 1.5) * expit(x - cut[2]), -20, 20)[0] / z
    assert (referral == 3).mean() == pytest.approx(p_top, abs=0.015)  # binomial SE ~0.003
