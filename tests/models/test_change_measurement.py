"""Measurement covariates: what moves an assessment's reading but not the young person's latent outcome.

A referral assessment made when less is known records more indicators as
"unknown", which score nothing, so it reads lower than a review of the same
latent risk would. ``ChangeModel(measurement_covariates=("referral",))`` shifts
the likelihood of those assessments and leaves every estimand on the latent
outcome at the reference (every measurement covariate 0).

Peers: the PyMC graph against the NumPy likelihood (ordinal, Gaussian and the
referral screen); the wine data's published cumulative link mixed model
(Christensen's clmm tutorial, Randall 1989), where a measurement covariate is a
fixed effect on the likelihood like any other (slow); the regression-to-the-mean
decomposition adds up exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from conftest import quiet_fit, value_point, wine_instrument
from cseoutcomes.errors import DataError, ModelError, ModelWarning
from cseoutcomes.models import (
    ChangeModel,
    Dropout,
    HalfNormal,
    Normal,
    Priors,
    Selection,
    simulate_outcomes,
)
from cseoutcomes.models import _numeric as num
from cseoutcomes.models.design import build_design, first_and_last
from cseoutcomes.models.fit import latent_share_lower
from cseoutcomes.models.simulation import draw_prior
from cseoutcomes.simulate import hub_and_spoke


@pytest.fixture(scope="module")
def small():
    table = hub_and_spoke(seed=5, n_hubs=3, n_areas=4, n_workers=6).assessments
    return table.assign(referral=table["occasion"].eq(0), unknowns=(table == "unknown").sum(axis=1))


def _model(**kw) -> ChangeModel:
    base = {"instrument": "cse-risk-indicators", "outcome": "total_band",
            "groups": {"service": "service", "worker": "worker"}, "measurement_covariates": ("referral",)}
    return ChangeModel(**{**base, **kw})


def _term(model, name: str, point: dict) -> float:
    var = next(v for v in [*model.potentials, *model.observed_RVs] if v.name == name)
    expr = model.logp(vars=[var], sum=True) if var in model.observed_RVs else model.replace_rvs_by_values([var])[0]
    return float(model.compile_fn(expr, inputs=model.value_vars, on_unused_input="ignore")(point))


# ------------------------------------------------------------------ the likelihood


def test_the_graph_shifts_the_ordinal_likelihood_and_the_screen_but_not_the_closure_hazards(small):
    """At a prior draw with a large shift, every term equals its NumPy reference: the assessments and the
    referral screen at eta + shift, the closure hazards at eta (the latent trajectory)."""
    from cseoutcomes.models._pymc import build_pymc_model

    m = _model(selection=Selection(at_least="moderate"), dropout=Dropout(),
               measurement_covariates=("referral", "unknowns"))
    d = build_design(m, small)
    model = build_pymc_model(m, d)
    p = draw_prior(m, d, np.random.default_rng(3))
    p["measurement"] = np.array([-1.3, 0.4])
    point = value_point(model, p)
    batch = {k: np.asarray(v)[None, ...] for k, v in p.items()}
    eta = num.linear_predictor(batch, d)
    shift = num.measurement_shift(batch, d)
    assert np.allclose(shift[0], d.M @ p["measurement"]) and np.ptp(shift) > 1
    ours_y = num.ordinal_logp(d.y, eta + shift, batch["cutpoints"]).sum()
    assert _term(model, "y_loglik", point) == pytest.approx(ours_y, rel=1e-10)
    rows = d.selected
    offset = (eta + shift)[:, rows] - batch["person_intercept"][:, d.person[rows]]
    ours_sel = -num.selection_log_pass(offset, batch["person_sd"], batch["cutpoints"][:, 1], "ordinal").sum()
    assert _term(model, "selection", point) == pytest.approx(ours_sel, rel=1e-8)
    eta0, slope = num.closure_trajectories(batch, d)
    ours_closure = num.closure_loglik(batch["closure_rate"], batch["closure_effect"], eta0, slope,
                                      d.person_followup, d.person_event).sum()
    assert _term(model, "closure_loglik", point) == pytest.approx(ours_closure, rel=1e-10)
    assert not num.selection_is_one_number(m, d)  # the referral rows are shifted unequally: one pass probability each


def test_a_referral_flag_shifts_every_referral_alike_so_the_pass_probability_is_computed_once(small):
    """With only a referral flag, every referral's offset is the same shift: the graph computes the pass
    probability once (64 nodes), and it equals the per-referral NumPy reference at that shift; the
    pointwise log-likelihood (for LOO) divides by the same number."""
    from cseoutcomes.models._pymc import build_pymc_model

    m = _model(selection=Selection(at_least="moderate"))
    d = build_design(m, small)
    assert num.selection_is_one_number(m, d)
    model = build_pymc_model(m, d)
    p = draw_prior(m, d, np.random.default_rng(5))
    p["measurement"] = np.array([-1.1])
    batch = {k: np.asarray(v)[None, ...] for k, v in p.items()}
    rows = d.selected
    offset = (num.linear_predictor(batch, d) + num.measurement_shift(batch, d))[:, rows] \
        - batch["person_intercept"][:, d.person[rows]]
    assert np.allclose(offset, -1.1)
    ours = -num.selection_log_pass(offset, batch["person_sd"], batch["cutpoints"][:, 1], "ordinal", nodes=64).sum()
    assert _term(model, "selection", value_point(model, p)) == pytest.approx(ours, rel=1e-10)
    unshifted = -num.selection_log_pass(offset * 0, batch["person_sd"], batch["cutpoints"][:, 1], "ordinal").sum()
    assert abs(ours - unshifted) > 1  # the shift moves the screen


def test_a_screen_with_no_scorable_referral_divides_by_nothing(small):
    """Referral assessments that cannot be scored are left out, so no row is screened: the graph still builds and
    the screen's term is 0, with or without a referral flag."""
    from cseoutcomes.models._pymc import build_pymc_model

    table = small.assign(total_band=np.where(small["occasion"].eq(0), None, "moderate"))
    for flag in ((), ("unknowns",)):
        m = _model(selection=Selection(at_least="moderate"), measurement_covariates=flag)
        with pytest.warns(ModelWarning, match="not scorable"):
            d = build_design(m, table)
        assert d.selected is not None and not d.selected.any()
        model = build_pymc_model(m, d)
        assert _term(model, "selection", model.initial_point()) == 0.0


def test_the_graph_shifts_a_continuous_outcome(small):
    from cseoutcomes.models._pymc import build_pymc_model

    m = _model(outcome="total")
    d = build_design(m, small)
    model = build_pymc_model(m, d)
    p = draw_prior(m, d, np.random.default_rng(4))
    p["measurement"] = np.array([0.8])
    batch = {k: np.asarray(v)[None, ...] for k, v in p.items()}
    mu = num.linear_predictor(batch, d)[0] + d.M @ p["measurement"]  # linear_predictor adds the intercept
    ours = stats.norm.logpdf(d.y_std, loc=mu, scale=p["sigma"]).sum()
    assert _term(model, "y", value_point(model, p)) == pytest.approx(ours, rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(shift=st.lists(st.floats(-4, 4), min_size=1, max_size=1))
def test_the_latent_estimands_do_not_depend_on_the_shift(small, shift):
    """The share at lower risk and the closure trajectories are about the latent outcome: the measurement
    covariates' coefficients do not enter them."""
    m = _model(dropout=Dropout())
    d = build_design(m, small)
    p = {k: np.asarray(v)[None, ...] for k, v in draw_prior(m, d, np.random.default_rng(7)).items()}
    q = {**p, "measurement": np.asarray(shift)[None, :]}
    assert np.array_equal(latent_share_lower(p, d), latent_share_lower(q, d))
    for a, b in zip(num.closure_trajectories(p, d), num.closure_trajectories(q, d), strict=True):
        assert np.array_equal(a, b)


def test_simulated_referrals_read_higher_with_a_positive_shift_and_reviews_are_untouched(small):
    """Same seed, shift +3 against -3 on the referral assessments: only referral bands move, and upwards."""
    m = _model()
    d = build_design(m, small)
    p = draw_prior(m, d, np.random.default_rng(2))
    up, _ = simulate_outcomes(m, small, {**p, "measurement": np.array([3.0])}, seed=11)
    down, _ = simulate_outcomes(m, small, {**p, "measurement": np.array([-3.0])}, seed=11)
    codes = {c: k for k, c in enumerate(m.categories)}
    ref = small["referral"].to_numpy()
    hi, lo = up["total_band"].map(codes).to_numpy(), down["total_band"].map(codes).to_numpy()
    assert np.array_equal(hi[~ref], lo[~ref])
    assert np.all(hi[ref] >= lo[ref]) and hi[ref].mean() > lo[ref].mean() + 1


# ------------------------------------------------------------------ the data and the specification


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.assign(referral=np.where(t["occasion"].eq(0), "yes", "no")),
     r"column 'referral' \(measurement covariate\) is not numbers or true/false; make one 0/1 column"),
    (lambda t: t.assign(referral=t["occasion"].eq(0).astype(float).where(t.index != 3)),
     r"column 'referral' \(measurement covariate\): blank or not finite on spreadsheet rows 5"),
    (lambda t: t.assign(referral=1.0), r"measurement covariates with one value only: \['referral'\]"),
    (lambda t: t.drop(columns="referral"), r"columns missing from the data: 'referral' \(measurement covariate"),
])
def test_measurement_covariate_problems_are_one_line_errors(small, change, message):
    with pytest.raises(DataError, match=message) as err:
        build_design(_model(), change(small))
    assert "\n" not in str(err.value)


def test_the_specification_refuses_a_column_in_both_roles_and_says_what_it_does():
    with pytest.raises(ValueError, match="'referral' is also in covariates"):
        _model(covariates=("referral",))
    with pytest.raises(ValueError, match="named twice"):
        _model(measurement_covariates=("referral", "referral"))
    assert "measurement shifted by referral" in _model().describe()
    assert "measurement" not in _model(measurement_covariates=()).describe()


def test_statsmodels_has_no_measurement_covariates(small):
    with pytest.raises(ModelError, match="no measurement covariates"):
        _model(outcome="total").fit(small, backend="statsmodels")


# ------------------------------------------------------------------ the referral flag


def test_the_referral_flag_is_the_simulated_referral_and_the_row_the_screen_reads(small):
    """The simulator's occasion 0 is each young person's referral; the flag finds it from the dates alone,
    and it is the row the selection's design treats as screened."""
    model = _model(selection=Selection(at_least="mild"), measurement_covariates=())
    plain = small.drop(columns="referral")
    flagged = model.with_referral_flag(plain)
    assert "referral" not in plain.columns  # the caller's table is not changed
    assert flagged["referral"].tolist() == small["occasion"].eq(0).astype(int).tolist()
    passed = plain.assign(total_band=np.where(flagged["referral"] == 1, "significant", "mild"))
    d = build_design(model, passed)
    assert d.selected is not None and len(d.selected) == len(passed)  # every row has a band
    np.testing.assert_array_equal(d.selected, flagged["referral"].to_numpy() == 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 30)), min_size=1, max_size=25))
def test_the_referral_flag_marks_one_earliest_row_per_young_person(rows):
    """Property: exactly one row per young person is flagged, at that person's earliest time; among ties, the
    first listed."""
    table = pd.DataFrame(rows, columns=["pid", "t"]).assign(pid=lambda t: "p" + t["pid"].astype(str))
    model = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={}, person="pid", time="t")
    flag = model.with_referral_flag(table)["referral"]
    for _, rows_of in table.assign(flag=flag).groupby("pid"):
        assert rows_of["flag"].sum() == 1
        first = rows_of.index[rows_of["t"] == rows_of["t"].min()][0]
        assert rows_of.loc[first, "flag"] == 1


@pytest.mark.parametrize(("change", "kw", "message"), [
    (lambda t: t, {}, r"column 'referral' is already in the data"),
    (lambda t: t.drop(columns=["referral", "assessment_date"]), {},
     r"columns missing from the data: 'assessment_date' \(time\)"),
    (lambda t: t.drop(columns="referral").assign(assessment_date=lambda x: x["assessment_date"].where(x.index != 2)),
     {}, r"column 'assessment_date': no date on spreadsheet rows 4"),
    (lambda t: t.drop(columns="referral").assign(person_id=lambda x: x["person_id"].where(x.index != 0)),
     {}, r"column 'person_id' \(person\): blank on spreadsheet rows 2"),
])
def test_referral_flag_problems_are_one_line_errors(small, change, kw, message):
    with pytest.raises(DataError, match=message) as err:
        _model().with_referral_flag(change(small), **kw)
    assert "\n" not in str(err.value)
    # the row's identifier is never printed
    assert str(small["person_id"].iloc[0]) not in str(err.value)


# ------------------------------------------------------------------ fits


def _fit(model, data, **kw):
    return quiet_fit(model, data, **{"draws": 300, "tune": 300, **kw})


@pytest.mark.slow
def test_a_known_referral_shift_is_recovered_and_taken_out_of_the_naive_change(small, tmp_path):
    """Referral assessments simulated 1.5 logits low: the fit's interval holds -1.5, the summary names the
    parameter, and regression_to_the_mean splits the naive change exactly into the modelled change, the
    measurement part (referrals reading low make the naive fall smaller: positive) and the rest."""
    from cseoutcomes.models import load_fit

    m = _model()
    d = build_design(m, small)
    rng = np.random.default_rng(8)
    truth = draw_prior(m, d, rng)
    truth.update(slope=np.asarray(-0.15), person_sd=np.asarray(1.0), cutpoints=np.array([-1.5, 0.0, 1.5]),
                 measurement=np.array([-1.5]))
    truth["person_intercept"] = rng.standard_normal(len(d.person_labels))
    data, _ = simulate_outcomes(m, small, truth, seed=rng)
    fit = _fit(m, data)
    row = fit.summary().loc["measurement[referral]"]
    assert row["lower"] < -1.5 < row["upper"]
    rtm = fit.regression_to_the_mean()
    assert list(rtm.index) == ["naive", "modelled", "measurement", "regression_to_the_mean", "share_of_naive"]
    assert rtm.loc["measurement", "lower"] > 0
    assert rtm.loc["naive", "mean"] == pytest.approx(
        rtm.loc[["modelled", "measurement", "regression_to_the_mean"], "mean"].sum(), abs=1e-9)
    fit.save(tmp_path / "m.nc")
    back = load_fit(tmp_path / "m.nc")
    pd.testing.assert_frame_equal(back.regression_to_the_mean(), rtm)
    first, _, _ = first_and_last(back._design)
    assert np.array_equal(back._design.M[first, 0], np.ones(len(first)))


@pytest.mark.slow
def test_wine_contact_as_a_measurement_covariate_gives_the_clmm_estimates(wine):
    """clmm(rating ~ temp + contact + (1|judge), data = wine), Christensen's clmm tutorial: temp 3.0630,
    contact 1.8349, judge SD 1.131, thresholds -1.6237, 1.5134, 4.2285, 6.0888 (Laplace). Contact as a
    measurement covariate is the same likelihood; it is not centred, so the thresholds compare as
    published. Every published value lies in the 90% posterior interval (nine judges: the posterior and
    the Laplace maximum differ by a fair part of a posterior SD)."""
    data = wine.assign(warm=(wine["temp"] == "warm").astype(float), contact_yes=wine["contact"].eq("yes"))
    wide = Priors(slope=Normal(sigma=20.0), measurement=Normal(sigma=20.0), person_sd=HalfNormal(sigma=5.0))
    m = ChangeModel(instrument=wine_instrument(), outcome="rating", person="judge", time="warm", time_unit="years",
                    groups={}, measurement_covariates=("contact_yes",), closure=None, priors=wide)
    post = _fit(m, data, draws=1000, tune=1000).posterior
    published = {"temp": (post["slope"].values.ravel(), 3.0630),
                 "contact": (post["measurement"].values[..., 0].ravel(), 1.8349),
                 "judge": (post["person_sd"].values.ravel(), 1.131)}
    cut = post["cutpoints"].values.reshape(-1, 4)
    published.update({f"cut{k}": (cut[:, k], v) for k, v in enumerate([-1.6237, 1.5134, 4.2285, 6.0888])})
    for name, (draws, value) in published.items():
        lo, hi = np.quantile(draws, [0.05, 0.95])
        assert lo < value < hi, name
    assert abs(published["contact"][0].mean() - 1.8349) < published["contact"][0].std()
