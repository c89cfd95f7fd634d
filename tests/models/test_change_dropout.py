"""The joint (shared-parameter) drop-out model: closure hazards that depend on the latent risk.

Peers: the cumulative hazard against numerical quadrature (scipy.integrate.quad);
the likelihood against the textbook competing-risks likelihood with constant
hazards (Kalbfleisch & Prentice 2002, *The Statistical Analysis of Failure Time
Data*, 2nd ed., section 8.2: L = prod_i h_{r_i}(T_i)^{d_i} exp(-sum_r H_r(T_i)));
simulated closure times against the exact distribution (KS test); the PyMC graph
against the NumPy likelihood; recovery of known hazards by a fit (slow).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from conftest import quiet_fit, value_point
from cseoutcomes.errors import DataError, ModelError, ModelWarning
from cseoutcomes.models import ChangeModel, Dropout, simulate_outcomes
from cseoutcomes.models import _numeric as num
from cseoutcomes.models.design import build_design
from cseoutcomes.models.simulation import closure_times, draw_prior
from cseoutcomes.simulate import hub_and_spoke


@pytest.fixture(scope="module")
def small():
    return hub_and_spoke(seed=5, n_hubs=3, n_areas=4, n_workers=6)


def _joint(**kw) -> ChangeModel:
    return ChangeModel(instrument="cse-risk-indicators", outcome="total_band",
                       groups={"service": "service", "worker": "worker"}, dropout=Dropout(**kw))


def _table() -> pd.DataFrame:
    """Two young people: 'a' closed (not engaging) on 2020-07-01, 'b' still open."""
    return pd.DataFrame({
        "person_id": ["a", "a", "b", "b"],
        "assessment_date": ["2020-01-01", "2020-04-01", "2020-03-01", "2020-06-01"],
        "total_band": ["moderate", "mild", "significant", "moderate"],
        "closure_reason": ["not_engaging", "not_engaging", "", ""],
        "closure_date": ["2020-07-01", "2020-07-01", "", ""],
    })


# ------------------------------------------------------------------ the likelihood

finite = st.floats(-3, 3, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(a=finite, b=finite, eta0=finite, slope=st.floats(-1, 1), time=st.floats(0, 40),
       trend=st.one_of(st.just(0.0), st.floats(-0.3, 0.3)), centre=st.floats(0, 20))
def test_cumulative_hazard_is_the_integral_of_the_hazard(a, b, eta0, slope, time, trend, centre):
    """Against scipy.integrate.quad, with and without a time trend in the log hazard (time_trend=True)."""
    peer, _ = integrate.quad(lambda u: np.exp(a + trend * (u - centre) + b * (eta0 + slope * u)), 0.0, time,
                             epsabs=1e-13, epsrel=1e-11)
    ours = float(num.closure_cumulative_hazard(a, b, eta0, slope, time, trend, centre))
    assert ours == pytest.approx(peer, rel=1e-8, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(rates=st.lists(finite, min_size=3, max_size=3), b=finite, eta0=finite, slope=st.floats(-1, 1),
       time=st.floats(0, 40), trend=st.one_of(st.just(0.0), st.floats(-0.3, 0.3)),
       knots=st.lists(st.floats(0.1, 30), min_size=2, max_size=2, unique=True).map(sorted))
def test_piecewise_cumulative_hazard_is_the_integral_of_the_hazard(rates, b, eta0, slope, time, trend, knots):
    """Baseline knots (Dropout(baseline_knots=...)): the log rate steps at each knot; against scipy.integrate.quad
    over each period (the integrand jumps at the knots, so quad gets them as break points)."""
    def hazard(u):
        return np.exp(rates[int(np.searchsorted(knots, u, side="right"))] + trend * (u - 2.0) + b * (eta0 + slope * u))

    edges = [0.0, *(k for k in knots if k < time), time]
    peer = sum(integrate.quad(hazard, lo, hi, epsabs=1e-13, epsrel=1e-11)[0] for lo, hi in itertools.pairwise(edges))
    ours = float(num.closure_cumulative_hazard(rates[0], b, eta0, slope, time, trend, 2.0, tuple(knots),
                                               np.asarray(rates[1:])))
    assert ours == pytest.approx(peer, rel=1e-8, abs=1e-12)


def test_exprel_is_accurate_near_zero():
    x = np.array([-1e-12, 0.0, 1e-12, 1e-6, -1e-6, 1.0])
    expected = np.array([1 - 5e-13, 1.0, 1 + 5e-13, 1 + 5e-7 + 1e-12 / 6, 1 - 5e-7 + 1e-12 / 6, np.e - 1])
    np.testing.assert_allclose(num.exprel(x), expected, rtol=1e-14)


def test_with_no_dependence_on_risk_it_is_the_competing_exponential_risks_likelihood():
    """b = 0: constant hazards lambda_r; log L = d * log(lambda_e) - T * sum_r lambda_r (Kalbfleisch & Prentice 8.2)."""
    rng = np.random.default_rng(3)
    lam = np.array([0.05, 0.01, 0.002])
    T = rng.uniform(0, 30, 50)
    event = rng.integers(-1, 3, 50)
    eta0, slope = rng.normal(size=(1, 50)), rng.normal(size=(1, 50))  # irrelevant when b = 0
    ours = num.closure_loglik(np.log(lam)[None, :], np.zeros((1, 3)), eta0, slope, T, event)[0]
    expected = np.where(event >= 0, np.log(lam[np.maximum(event, 0)]), 0.0) - T * lam.sum()
    np.testing.assert_allclose(ours, expected, rtol=1e-12)


def test_closure_times_follow_the_competing_hazards():
    rng = np.random.default_rng(11)
    n = 20000
    # constant hazards: T ~ Exp(sum lambda), reason r with probability lambda_r / sum lambda
    lam = np.array([0.3, 0.1, 0.1])
    t, reason = closure_times(np.log(lam), np.zeros(3), np.zeros(n), np.zeros(n), rng)
    assert stats.kstest(t, stats.expon(scale=1 / lam.sum()).cdf).pvalue > 0.01
    counts = np.bincount(reason, minlength=3)
    assert stats.chisquare(counts, n * lam / lam.sum()).pvalue > 0.01
    # rising and falling hazards: P(T <= t) = 1 - exp(-sum_r H_r(t)); a falling one may never happen
    a, b = np.array([-2.0, -1.0]), np.array([0.8, -1.2])
    eta0 = np.full(n, 0.5)
    slope = np.full(n, -0.4)
    t, reason = closure_times(a, b, eta0, slope, rng)

    def cdf(x):
        return 1 - np.exp(-num.closure_cumulative_hazard(a[None, :], b[None, :], 0.5, -0.4, np.asarray(x)[:, None]).sum(1))

    never = np.exp(-num.closure_cumulative_hazard(a, b, 0.5, -0.4, 1e6).sum())  # P(no closure ever)
    assert np.mean(np.isinf(t)) == pytest.approx(never, abs=4 * np.sqrt(never * (1 - never) / n) + 1e-3)
    finite_t = t[np.isfinite(t)]
    assert stats.kstest(finite_t, lambda x: cdf(np.atleast_1d(x)) / (1 - never)).pvalue > 0.01
    # a time trend that outweighs the falling risk (k = b * slope + g > 0 for both): every case closes
    g, m = np.array([0.5, 0.9]), 3.0
    t, _ = closure_times(a, b, eta0, slope, rng, g, m)
    assert np.all(np.isfinite(t))

    def cdf_trend(x):
        H = num.closure_cumulative_hazard(a[None, :], b[None, :], 0.5, -0.4, np.asarray(x)[:, None], g[None, :], m)
        return 1 - np.exp(-H.sum(1))

    assert stats.kstest(t, lambda x: cdf_trend(np.atleast_1d(x))).pvalue > 0.01


def test_closure_times_follow_piecewise_competing_hazards():
    """With baseline knots: P(T <= t) = 1 - exp(-sum_r H_r(t)) (KS test), and no closure for a reason whose rate
    is nil in a period (a planned closure impossible before the first review) falls in that period."""
    rng = np.random.default_rng(12)
    n = 20000
    knots = (0.25, 1.0)
    a = np.array([-30.0, -1.0])  # reason 0 cannot happen before the first knot
    later = np.array([[0.5, 1.2], [-1.5, -0.5]])
    b = np.array([0.4, -0.6])
    eta0, slope = np.full(n, 0.3), np.full(n, -0.8)
    t, reason = closure_times(a, b, eta0, slope, rng, None, 0.0, knots, later)

    def cdf(x):
        H = num.closure_cumulative_hazard(a[None, :], b[None, :], 0.3, -0.8, np.asarray(x)[:, None], 0.0, 0.0,
                                          knots, later[None, :, :])
        return 1 - np.exp(-H.sum(1))

    never = 1 - cdf(np.array([1e6]))[0]
    finite_t = t[np.isfinite(t)]
    assert np.mean(np.isinf(t)) == pytest.approx(never, abs=4 * np.sqrt(never * (1 - never) / n) + 1e-3)
    assert stats.kstest(finite_t, lambda x: cdf(np.atleast_1d(x)) / (1 - never)).pvalue > 0.01
    assert not np.any((reason == 0) & (t < knots[0]))
    assert np.sum((reason == 0) & (t >= knots[0])) > 1000


@pytest.mark.parametrize(("time_trend", "knots"), [(False, ()), (True, ()), (False, (0.25, 1.0)),
                                                   (True, (0.5,))])
def test_the_pymc_graph_matches_the_numpy_likelihood(small, time_trend, knots):
    """The closure term of the PyMC model equals _numeric.closure_loglik at a random point (to rounding)."""
    from cseoutcomes.models._pymc import build_pymc_model

    m = _joint(time_trend=time_trend, baseline_knots=knots).model_copy(update={"person_slopes": True})
    d = build_design(m, small.assessments)
    model = build_pymc_model(m, d)
    rng = np.random.default_rng(1)
    p = draw_prior(m, d, rng)
    point = value_point(model, p)
    term = next(v for v in model.potentials if v.name == "closure_loglik")
    graph = model.compile_fn(model.replace_rvs_by_values([term])[0], inputs=model.value_vars,
                             on_unused_input="ignore")(point)
    batch = {k: np.asarray(v)[None, ...] for k, v in p.items()}
    eta0, slope = num.closure_trajectories(batch, d)
    ours = num.closure_loglik(batch["closure_rate"], batch["closure_effect"], eta0, slope,
                              d.person_followup, d.person_event, batch.get("closure_trend"),
                              num.closure_time_centre(d), knots, batch.get("closure_period_rate")).sum()
    assert float(graph) == pytest.approx(ours, rel=1e-10)
    assert ("closure_trend" in model.named_vars) == time_trend
    assert ("closure_period_rate" in model.named_vars) == bool(knots)
    assert ("latent risk + time" in m.describe()) == time_trend
    assert ("baseline steps at" in m.describe()) == bool(knots)


# ------------------------------------------------------------------ the data it needs

def test_follow_up_runs_to_closure_or_to_the_end_of_observation():
    d = build_design(_joint(), _table().assign(worker="w", service="s"))
    days = 365.25 / 12
    assert d.closure_reasons == ("not_engaging",)
    assert d.person_event.tolist() == [0, -1]
    # a: closed 182 days after referral; b: open, followed to the latest date in the table (2020-07-01)
    np.testing.assert_allclose(d.person_followup, [182 / days, 122 / days])
    np.testing.assert_allclose(d.person_censor, [182 / days, 122 / days])
    assert d.observation_end == "2020-07-01"
    e = build_design(_joint(observation_end="2020-12-31"), _table().assign(worker="w", service="s"))
    np.testing.assert_allclose(e.person_followup, [182 / days, 305 / days])
    np.testing.assert_allclose(e.person_censor, [365 / days, 305 / days])
    # declared reasons keep a reason nobody closed for, in the declared order
    f = build_design(_joint(reasons=("risk_reduced", "not_engaging")), _table().assign(worker="w", service="s"))
    assert f.closure_reasons == ("risk_reduced", "not_engaging") and f.person_event.tolist() == [1, -1]


def test_numeric_time_follows_open_cases_to_their_last_assessment():
    table = _table().assign(assessment_date=[0.0, 3.0, 0.0, 3.0], closure_date=[6.0, 6.0, np.nan, np.nan])
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={}, dropout=Dropout())
    with pytest.warns(ModelWarning, match="centre depends on when cases closed"):
        d = build_design(m, table)
    np.testing.assert_allclose(d.person_followup, [6.0, 3.0])
    assert d.observation_end is None


def test_numeric_time_with_a_follow_up_column_censors_open_cases_and_centres_without_the_closures():
    """With Dropout(followup=...), the window (and so the hazard's centre) does not move when a closure does."""
    table = _table().assign(assessment_date=[0.0, 3.0, 0.0, 3.0], closure_date=[6.0, 6.0, np.nan, np.nan],
                            months_observed=[12.0, 12.0, 9.0, 9.0])
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={},
                    dropout=Dropout(followup="months_observed"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelWarning)
        d = build_design(m, table)
        earlier = build_design(m, table.assign(closure_date=[4.0, 4.0, np.nan, np.nan]))
    np.testing.assert_allclose(d.person_followup, [6.0, 9.0])  # a closed at 6; b open, followed to 9
    np.testing.assert_allclose(d.person_censor, [12.0, 9.0])
    np.testing.assert_allclose(earlier.person_censor, d.person_censor)  # the closure moved, the window did not
    np.testing.assert_allclose(earlier.person_followup, [4.0, 9.0])


@pytest.mark.parametrize("change, message", [
    ({"months_observed": [12.0, 11.0, 9.0, 9.0]}, "differs between rows of the same young person .*rows 2, 3"),
    ({"months_observed": [12.0, 12.0, 2.0, 2.0]}, "before the young person's last assessment .*rows 4, 5"),
    ({"months_observed": [5.0, 5.0, 9.0, 9.0]}, "before the closure of 1 young people"),
    ({"months_observed": [12.0, 12.0, "soon", 9.0]}, "not a time of 0 or more on spreadsheet rows 4"),
])
def test_follow_up_column_problems_are_one_line_errors(change, message):
    table = _table().assign(assessment_date=[0.0, 3.0, 0.0, 3.0], closure_date=[6.0, 6.0, np.nan, np.nan],
                            months_observed=[12.0, 12.0, 9.0, 9.0]).assign(**change)
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={},
                    dropout=Dropout(followup="months_observed"))
    with pytest.raises(DataError, match=message) as err:
        build_design(m, table)
    assert "\n" not in str(err.value)
    with pytest.raises(DataError, match="no column 'months_observed'"):
        build_design(m, table.drop(columns="months_observed"))
    with pytest.raises(DataError, match="is for numeric time"):
        build_design(m, _table().assign(months_observed=12.0))


@pytest.mark.parametrize("change, message", [
    ({"closure_date": ["", "", "", ""]}, "a closure reason without a closure date on spreadsheet rows 2, 3"),
    ({"closure_reason": ["", "", "", ""]}, "a closure date without a closure reason on spreadsheet rows 2, 3"),
    ({"closure_reason": ["", "", "", ""], "closure_date": ["", "", "", ""]}, "no case in the data has closed"),
])
def test_closure_data_problems_are_one_line_errors(change, message):
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={}, dropout=Dropout())
    with pytest.raises(DataError, match=message) as err:
        build_design(m, _table().assign(**change))
    assert "\n" not in str(err.value)


def test_other_closure_problems_say_where_and_what_to_do():
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={},
                    dropout=Dropout(observation_end="2020-05-01"))
    with pytest.raises(DataError, match="before the assessments on spreadsheet rows 5"):
        build_design(m, _table())
    m = m.model_copy(update={"dropout": Dropout(reasons=("risk_reduced",))})
    with pytest.raises(DataError, match=r"closure reasons \['not_engaging'\] are not among the declared"):
        build_design(m, _table())
    with pytest.raises(DataError, match="columns missing from the data: 'closure_date'"):
        build_design(m, _table().drop(columns="closure_date"))
    with pytest.raises(ValueError, match="needs closure= and closure_date="):
        ChangeModel(instrument="cse-risk-indicators", outcome="total_band", closure_date=None, dropout=Dropout())
    with pytest.raises(ValueError, match="is not a date"):
        Dropout(observation_end="end of March")


def test_statsmodels_cannot_fit_it_and_the_formula_says_so(small):
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total", groups={}, dropout=Dropout())
    assert "joint drop-out" in m.describe()
    with pytest.raises(ModelError, match="cannot fit a joint drop-out model"):
        m.fit(small.assessments, backend="statsmodels")


def test_simulated_closures_end_the_assessments_and_keep_the_observation_window(small):
    m = _joint(reasons=("moved_away", "not_engaging", "risk_reduced", "transferred"), observation_end="2016-12-31")
    design = build_design(m, small.assessments)
    out, params = simulate_outcomes(m, small.assessments, seed=4)
    assert set(params) >= {"closure_rate", "closure_effect"}
    sim = build_design(m, out)
    assert len(out) <= len(small.assessments)
    np.testing.assert_allclose(sim.person_censor, design.person_censor)  # same window, whatever closed
    closed = sim.person_event >= 0
    # nobody is assessed after their simulated closure; open cases keep every assessment
    last = pd.Series(sim.t).groupby(sim.person).max().to_numpy()
    assert np.all(last[closed] <= sim.person_followup[closed] + 1e-9)
    n_rows = pd.Series(design.person).value_counts().sort_index().to_numpy()
    n_sim = pd.Series(sim.person).value_counts().sort_index().to_numpy()
    assert np.all(n_sim[~closed] == n_rows[~closed])
    # the same seed gives the same table
    again, _ = simulate_outcomes(m, small.assessments, seed=4)
    pd.testing.assert_frame_equal(out, again)


# ------------------------------------------------------------------ fitting (slow)

def _fit(model, data, **kw):
    return quiet_fit(model, data, **{"seed": 2, **kw})


@pytest.mark.slow
def test_joint_model_recovers_informative_closure_that_ignoring_it_gets_wrong(tmp_path):
    """Closures simulated from known hazards: "risk reduced" much likelier at low risk, disengagement at high.

    The joint model's intervals contain the true hazard dependence and the true
    share of closed cases at lower risk; the model that ignores closure (MAR)
    is further from that share.
    """
    from cseoutcomes.models import load_fit

    prog = hub_and_spoke(seed=8, n_hubs=6, n_areas=8, n_workers=14)
    ids = prog.assessments[["person_id", "assessment_date", "worker", "service", "closure_reason", "closure_date"]]
    reasons = ("not_engaging", "risk_reduced")
    model = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={},
                        dropout=Dropout(reasons=reasons, observation_end="2016-12-31"))
    design = build_design(model, ids.assign(closure_reason=np.where(ids["closure_reason"] == "", "", "risk_reduced")),
                          require_outcome=False)
    rng = np.random.default_rng(5)
    truth = {"slope": np.asarray(-0.12), "person_sd": np.asarray(1.2),
             "person_intercept": 1.2 * rng.standard_normal(len(design.person_labels)),
             "cutpoints": np.array([-2.5, -1.0, 0.8]),
             "closure_rate": np.log(np.array([0.02, 0.04])), "closure_effect": np.array([0.8, -1.0])}
    data, _ = simulate_outcomes(model, ids.assign(closure_reason=np.where(ids["closure_reason"] == "", "",
                                                                          "risk_reduced")), truth, seed=rng)
    joint = _fit(model, data)
    sim_design = joint._design
    assert (sim_design.person_event >= 0).sum() > 100
    effects = joint.summary().loc[[f"closure_effect[{r}]" for r in reasons]]
    assert np.all((effects["lower"] < truth["closure_effect"]) & (truth["closure_effect"] < effects["upper"]))
    hz = joint.closure_hazards()
    assert hz.loc["risk_reduced", "hr_upper"] < 1 and "better" in hz.loc["risk_reduced", "in_words"]
    assert hz.loc["not_engaging", "hr_lower"] > 1 and "worse" in hz.loc["not_engaging", "in_words"]
    assert hz["n_closures"].sum() == int((sim_design.person_event >= 0).sum())
    # the truth: latent band at the closure date against at referral (eta = u_i + slope * t; no groups)
    closed = sim_design.person_event >= 0
    u = truth["person_intercept"][closed]
    at_close = u + truth["slope"] * sim_design.person_followup[closed]
    bands = np.searchsorted(truth["cutpoints"], np.stack([u, at_close]))
    true_share = float(np.mean(bands[1] < bands[0]))
    share = joint.share_lower_at_closure()
    assert share["lower"].iloc[0] <= true_share <= share["upper"].iloc[0]
    assert "shared-parameter" in share.attrs["assumption"]
    mar = _fit(model.model_copy(update={"dropout": None}), data).share_lower_at_closure()
    assert abs(mar["mean"].iloc[0] - true_share) > abs(share["mean"].iloc[0] - true_share)
    # saved and read back, the fit still knows its closures
    joint.save(tmp_path / "joint.nc")
    back = load_fit(tmp_path / "joint.nc")
    pd.testing.assert_frame_equal(back.closure_hazards(), hz)
    with pytest.raises(ModelError, match="no drop-out model"):
        _fit(model.model_copy(update={"dropout": None}), data, draws=50, tune=50).closure_hazards()


@pytest.mark.slow
def test_time_trend_is_recovered_and_reported(tmp_path):
    """Closures that become likelier the longer a case is open (planned endings after a year's work).

    Simulated with a known trend of +1.2 in the log hazard per year (hazard x3.3 a year) and no
    dependence on risk for one reason; the time-trend model's interval holds the truth, the
    table reports it per year, and a save/load round trip keeps it.
    """
    from cseoutcomes.models import load_fit

    prog = hub_and_spoke(seed=9, n_hubs=4, n_areas=6, n_workers=10)
    ids = prog.assessments[["person_id", "assessment_date", "worker", "service", "closure_reason", "closure_date"]]
    ids = ids.assign(closure_reason=np.where(ids["closure_reason"] == "", "", "risk_reduced"))
    model = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={},
                        dropout=Dropout(reasons=("risk_reduced",), observation_end="2016-12-31", time_trend=True))
    design = build_design(model, ids, require_outcome=False)
    rng = np.random.default_rng(4)
    per_month = design.t_per_year
    truth = {"slope": np.asarray(-0.1), "person_sd": np.asarray(1.0),
             "person_intercept": rng.standard_normal(len(design.person_labels)),
             "cutpoints": np.array([-2.5, -1.0, 0.8]), "closure_rate": np.log(np.array([0.5 / per_month])),
             "closure_effect": np.array([0.0]), "closure_trend": np.array([1.2 / per_month])}
    data, _ = simulate_outcomes(model, ids, truth, seed=rng)
    fit = _fit(model, data)
    hz = fit.closure_hazards()
    true_hr = np.exp(1.2)
    assert hz.loc["risk_reduced", "trend_lower"] < true_hr < hz.loc["risk_reduced", "trend_upper"]
    assert hz.loc["risk_reduced", "trend_lower"] > 1  # clearly rising
    assert "closure_trend[risk_reduced]" in fit.summary().index
    fit.save(tmp_path / "trend.nc")
    pd.testing.assert_frame_equal(load_fit(tmp_path / "trend.nc").closure_hazards(), hz)


@pytest.mark.slow
def test_piecewise_baseline_is_recovered_and_reported(tmp_path):
    """Planned closures impossible before a first review at 3 months, then steady: a piecewise baseline.

    Simulated with a known baseline of 0.005 closures a month before 3 months and 0.06 after (no
    dependence on risk); the model with a knot at 3 months holds both rates in its intervals,
    reports them one row per period with the closures counted in each, and keeps them on a
    save/load round trip.
    """
    from cseoutcomes.models import load_fit

    prog = hub_and_spoke(seed=9, n_hubs=4, n_areas=6, n_workers=10)
    ids = prog.assessments[["person_id", "assessment_date", "worker", "service", "closure_reason", "closure_date"]]
    ids = ids.assign(closure_reason=np.where(ids["closure_reason"] == "", "", "risk_reduced"))
    model = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={},
                        dropout=Dropout(reasons=("risk_reduced",), observation_end="2016-12-31",
                                        baseline_knots=(3.0,)))
    design = build_design(model, ids, require_outcome=False)
    rng = np.random.default_rng(6)
    truth = {"slope": np.asarray(-0.1), "person_sd": np.asarray(1.0),
             "person_intercept": rng.standard_normal(len(design.person_labels)),
             "cutpoints": np.array([-2.5, -1.0, 0.8]), "closure_rate": np.log(np.array([0.005])),
             "closure_effect": np.array([0.0]), "closure_period_rate": np.log(np.array([[0.06]]))}
    data, _ = simulate_outcomes(model, ids, truth, seed=rng)
    fit = _fit(model, data)
    hz = fit.closure_hazards()
    assert list(hz.index) == [("risk_reduced", "0-3 months"), ("risk_reduced", "3+ months")]
    for period, rate in (("0-3 months", 0.005 * 12), ("3+ months", 0.06 * 12)):
        row = hz.loc[("risk_reduced", period)]
        assert row["rate_lower"] < rate < row["rate_upper"], (period, row)
    d = fit._design
    assert hz["n_closures"].sum() == int((d.person_event >= 0).sum())
    early = int(np.sum((d.person_event >= 0) & (d.person_followup < 3.0)))
    assert hz.loc[("risk_reduced", "0-3 months"), "n_closures"] == early
    assert "closure_period_rate[risk_reduced, from 3]" in fit.summary().index
    fit.save(tmp_path / "pieces.nc")
    pd.testing.assert_frame_equal(load_fit(tmp_path / "pieces.nc").closure_hazards(), hz)


def test_baseline_knots_must_be_increasing_and_within_the_follow_up(small):
    with pytest.raises(ValueError, match="positive, finite and increasing"):
        Dropout(baseline_knots=(6.0, 3.0))
    with pytest.raises(ValueError, match="positive, finite and increasing"):
        Dropout(baseline_knots=(0.0,))
    with pytest.raises(DataError, match="beyond every young person's follow-up") as err:
        build_design(_joint(baseline_knots=(3.0, 600.0)), small.assessments)
    assert err.value.where == "dropout.baseline_knots"


@pytest.mark.parametrize("knots", [(), (2.0, 9.0)])
def test_padding_young_people_for_a_reused_compile_changes_no_likelihood(small, knots):
    """A compiled model is reused for designs with up to n_people young people: padding adds nothing."""
    from cseoutcomes.models._pymc import build_pymc_model, data_arrays, padded_people

    m = _joint(baseline_knots=knots).model_copy(update={"person_slopes": True})
    d = build_design(m, small.assessments)
    P = len(d.person_labels)
    assert padded_people(d) == 128 and padded_people(d, bucket=1) == P
    rng = np.random.default_rng(2)
    exact, padded = build_pymc_model(m, d), build_pymc_model(m, d, n_people=P + 9)
    p = draw_prior(m, d, rng)
    p_pad = {**p, "person_intercept": np.r_[p["person_intercept"], p["person_sd"] * rng.normal(size=9)],
             "person_slope": np.r_[p["person_slope"], p["person_slope_sd"] * rng.normal(size=9)]}
    point, pad_point = value_point(exact, p), value_point(padded, p_pad)
    for name in ("y_loglik", "closure_loglik"):
        values = []
        for model, pt in ((exact, point), (padded, pad_point)):
            term = next(v for v in model.potentials if v.name == name)
            values.append(float(model.compile_fn(model.replace_rvs_by_values([term])[0], inputs=model.value_vars,
                                                 on_unused_input="ignore")(pt)))
        assert values[1] == pytest.approx(values[0], rel=1e-12)
    arrays = data_arrays(m, d, P + 9)
    assert arrays["followup"][P:].sum() == 0 and (arrays["closure_event"][P:] == -1).all()
    assert arrays["real_person"].sum() == P


@pytest.mark.slow
def test_simulated_closures_and_the_likelihood_agree_the_score_has_mean_zero(small):
    """At the true parameters the expected score of the closure log-likelihood is zero (Bartlett's first identity).

    Data simulated by simulate_outcomes (closures drawn, later assessments dropped, dates rounded to
    days) and read back through build_design: the mean score for every closure rate and effect stays
    within 3.5 standard errors of zero, so the simulator and the likelihood describe the same process.
    """
    data = small.assessments[["person_id", "assessment_date", "worker", "service", "area", "closure_reason",
                              "closure_date"]]
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={"service": "service"},
                    dropout=Dropout(reasons=("moved_away", "not_engaging", "risk_reduced", "transferred"),
                                    observation_end="2016-12-30"))
    d0 = build_design(m, data, require_outcome=False)
    rng = np.random.default_rng(0)
    truth = draw_prior(m, d0, rng)
    truth["closure_rate"] = np.log([0.01, 0.02, 0.05, 0.01])
    truth["closure_effect"] = np.array([0.5, -0.5, 1.0, 0.0])
    batch = {k: np.asarray(v)[None, ...] for k, v in truth.items()}

    def loglik(d, a, b):
        p = {**batch, "closure_rate": a[None], "closure_effect": b[None]}
        eta0, s = num.closure_trajectories(p, d)
        return num.closure_loglik(p["closure_rate"], p["closure_effect"], eta0, s, d.person_followup,
                                  d.person_event).sum()

    scores = []
    a0, b0 = truth["closure_rate"], truth["closure_effect"]
    for _ in range(150):
        out, _ = simulate_outcomes(m, data, truth, seed=rng)
        d = build_design(m, out)
        row = []
        for vec in ("a", "b"):
            for r in range(4):
                h = np.zeros(4)
                h[r] = 1e-6
                up = loglik(d, a0 + h, b0) if vec == "a" else loglik(d, a0, b0 + h)
                down = loglik(d, a0 - h, b0) if vec == "a" else loglik(d, a0, b0 - h)
                row.append((up - down) / 2e-6)
        scores.append(row)
    scores = np.array(scores)
    z = scores.mean(0) / (scores.std(0, ddof=1) / np.sqrt(len(scores)))
    assert np.all(np.abs(z) < 3.5), z


def test_default_closure_priors_pass_a_prior_predictive_check():
    """Drawn from the default priors, few programmes have most cases closing within a week of referral.

    Services keep CSE cases open for months (the seed: planned closures after about a
    year); a prior that often says otherwise wastes the model's prior mass on the absurd
    (and broke simulation-based calibration with closures in the first minutes).
    """
    from cseoutcomes.models import Normal, Priors

    sim = hub_and_spoke(seed=0)
    default = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={"service": "service"},
                          dropout=Dropout())
    wide = default.model_copy(update={"priors": Priors(closure_rate=Normal(mu=-1, sigma=2),
                                                       closure_effect=Normal(mu=0, sigma=1))})
    trend = default.model_copy(update={"dropout": Dropout(time_trend=True)})
    shares = {}
    for name, m in (("default", default), ("wide", wide), ("trend", trend)):
        d = build_design(m, sim.assessments)
        rng = np.random.default_rng(1)
        most_in_a_week = []
        for _ in range(200):
            p = draw_prior(m, d, rng)
            eta0, s = num.closure_trajectories({k: np.asarray(v)[None, ...] for k, v in p.items()}, d)
            t, _ = closure_times(p["closure_rate"], p["closure_effect"], eta0[0], s[0], rng,
                                 p.get("closure_trend"), num.closure_time_centre(d))
            most_in_a_week.append(np.mean(t < 7 / (365.25 / 12)) > 0.5)
        shares[name] = np.mean(most_in_a_week)
    assert shares["default"] < 0.05 < 0.2 < shares["wide"]
    assert shares["trend"] < 0.05  # the time trend's Normal(0, 1) per year keeps the prior sensible
