"""Tests of the Hub and Spoke simulator: structure, calibration to the seed, validity and truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cseoutcomes as co
from cseoutcomes.simulate import CLOSURE_REASONS, Programme, SimulatedProgramme, hub_and_spoke

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def sims() -> dict[int, SimulatedProgramme]:
    return {seed: hub_and_spoke(seed=seed) for seed in SEEDS}


@pytest.fixture(scope="module")
def sim(sims) -> SimulatedProgramme:
    return sims[0]


def test_structure_matches_the_programme(sim):
    a = sim.assessments
    assert a["service"].nunique() == 16
    assert a["worker"].nunique() == 53
    assert a["area"].nunique() == 35
    truth = sim.truth
    assert len(truth["hubs"]) == 16 and len(truth["workers"]) == 53 and len(truth["areas"]) == 35
    # each worker belongs to one hub and one area, each area to one hub
    assert (a.groupby("worker")[["service", "area"]].nunique() == 1).all().all()
    assert (a.groupby("area")["service"].nunique() == 1).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_counts_calibrated_to_seed(sims, seed):
    people = sims[seed].truth["people"]
    assert abs(len(people) - 783) <= 40
    assert abs(int(people["closed_in_window"].sum()) - 255) <= 30
    assert sims[seed].assessments["person_id"].nunique() == len(people)


def test_naive_share_lower_near_seed(sims):
    shares = [sims[s].naive_share_lower() for s in SEEDS]
    assert abs(shares[0] - 0.72) <= 0.06
    assert abs(np.mean(shares) - 0.72) <= 0.06


def test_naive_share_is_computed_from_scored_bands(sim):
    a = sim.assessments
    closed = a[a["closure_reason"] != ""]
    bands = co.score(closed, "cse-risk-indicators", scores=["total"])["total_band"].cat.codes
    frame = closed.assign(band=bands.to_numpy()).sort_values(["person_id", "occasion"])
    g = frame.groupby("person_id")["band"]
    assert sim.naive_share_lower() == pytest.approx(float((g.last() < g.first()).mean()))


def test_caseloads_never_exceed_twelve(sims):
    for s in SEEDS:
        people = sims[s].truth["people"]
        stop = people["closure_date"].fillna(pd.Timestamp("2262-01-01"))
        for _, grp in people.assign(stop=stop).groupby("worker"):
            starts = grp["referral_date"].to_numpy()
            stops = grp["stop"].to_numpy()
            # caseload is highest just after a referral: count cases open at each referral date
            open_at = ((starts[None, :] <= starts[:, None]) & (stops[None, :] > starts[:, None])).sum(axis=1)
            assert open_at.max() <= 12
        caps = sims[s].truth["workers"]["caseload_cap"]
        assert caps.between(10, 12).all()


def test_closed_cases_have_allowed_reasons(sim):
    a = sim.assessments
    closed = a["closure_date"] != ""
    assert (a.loc[closed, "closure_reason"].isin(CLOSURE_REASONS)).all()
    assert (a.loc[~closed, "closure_reason"] == "").all()
    # every row of a closed case carries its closure
    per_person = a.groupby("person_id")["closure_date"].nunique()
    assert (per_person == 1).all()
    people = sim.truth["people"]
    assert set(people.loc[people["closed_in_window"], "closure_reason"]) <= set(CLOSURE_REASONS)
    assert (pd.to_datetime(a["assessment_date"]) <= pd.Timestamp("2016-12-31")).all()


def test_tables_are_valid_against_the_instruments(sim):
    risk = co.validate(sim.assessments, "cse-risk-indicators", today="2017-01-01")
    assert risk.ok, risk.errors.head()
    ladder = co.validate(sim.ladder, "progress-ladder", today="2017-01-01")
    assert ladder.ok, ladder.errors.head()


def test_ladder_has_both_raters_at_each_occasion(sim):
    lad = sim.ladder
    assert set(lad["rater"]) == {"young_person", "worker"}
    assert len(lad) == 2 * len(sim.assessments)
    counts = lad.groupby(["person_id", "occasion"])["rater"].nunique()
    assert (counts == 2).all()
    # wellbeing falls as latent risk rises
    lat = sim.truth["assessment_latent"]
    worker = lad[lad["rater"] == "worker"].set_index(["person_id", "occasion"])["safety"]
    rung = pd.to_numeric(worker, errors="coerce")
    eta = lat.set_index(["person_id", "occasion"])["eta"].reindex(rung.index)
    assert np.corrcoef(eta[rung.notna()], rung.dropna())[0, 1] < -0.3


def test_scores_match_truth_and_fall_on_average(sim):
    a = sim.assessments
    lat = sim.truth["assessment_latent"]
    assert len(lat) == len(a)
    assert (lat["person_id"].to_numpy() == a["person_id"].to_numpy()).all()
    scored = co.score(a, "cse-risk-indicators", scores=["total"])
    np.testing.assert_allclose(scored["total"].to_numpy(), lat["observed_score"].to_numpy())
    referral = scored.loc[a["occasion"] == 0, "total_band"]
    assert referral.isin(["moderate", "significant"]).mean() > 0.95  # the screen's threshold is 11
    means = lat.groupby("occasion")["observed_score"].mean()
    assert means.loc[0] > means.loc[1] > means.loc[4]


def test_regression_to_the_mean_exists(sims):
    for s in SEEDS:
        lat = sims[s].truth["assessment_latent"]
        ref = lat[lat["occasion"] == 0]
        # referral is selected on the observed score: it exceeds what the true state implies
        assert ref["observed_score"].mean() > ref["expected_score"].mean() + 0.5
        assert ref["rater_error"].mean() > 0.1
        later = lat[lat["occasion"] > 0]
        assert abs(later["rater_error"].mean()) < 0.1


def test_truth_is_complete(sim):
    truth = sim.truth
    params = truth["parameters"]
    assert params["n_hubs"] == 16 and params["referral_threshold"] == 11
    for key in ("hubs", "workers", "areas"):
        assert {"intercept_effect", "slope_effect"} <= set(truth[key].columns)
    people = truth["people"]
    assert {"person_id", "intercept", "slope", "referral_date", "closure_date", "closure_reason",
            "closed_in_window", "truly_lower_at_closure"} <= set(people.columns)
    assert people["person_id"].is_unique
    assert people.loc[~people["closed_in_window"], "closure_date"].isna().all()
    assert "16 hubs" in repr(sim) and f"{len(people):,} young people" in repr(sim)


def test_two_definitions_of_truly_lower_at_closure():
    """Expected-score band (the truth column) and typical (median) band of an assessment at the latent trend."""
    small = hub_and_spoke(seed=5, n_hubs=3, n_areas=4, n_workers=6)
    people = small.truth["people"]
    closed = people[people["closed_in_window"]]
    expected = small.lower_at_closure()
    assert expected.index.tolist() == closed["person_id"].tolist()
    assert expected.tolist() == closed["truly_lower_at_closure"].tolist()
    typical = small.lower_at_closure("typical_band")
    assert typical.index.tolist() == closed["person_id"].tolist()
    # the definitions differ only for young people near a band boundary
    assert (typical == expected).mean() > 0.8
    # a median band: all but certainly the lowest band far below the scale, the highest far above it
    from cseoutcomes.simulate import _Simulation

    eng = _Simulation(small.programme, np.random.default_rng(0), 0)
    vuln = small.truth["vulnerability_effects"][:3]
    assert eng.median_band(np.full(3, -6.0), np.zeros(3), vuln).tolist() == [0, 0, 0]
    assert eng.median_band(np.full(3, 6.0), np.zeros(3), vuln).tolist() == [3, 3, 3]


def test_exact_band_distribution_matches_simulated_assessments():
    """The typical-band truth's exact band probabilities (convolution over indicators, quadrature over the
    normal errors) against the simulator's own path: draw review assessments with ``answer`` and score them
    with ``score_codes``, 20,000 per young person; every frequency within 4.5 binomial SEs (+0.002)."""
    from cseoutcomes.simulate import _Simulation

    small = hub_and_spoke(seed=5, n_hubs=3, n_areas=4, n_workers=6)
    rng = np.random.default_rng(8)
    eng = _Simulation(small.programme, rng, 0)
    p = small.programme
    eta = np.array([-1.5, -0.4, 0.3, 0.9, 1.6])
    change = np.array([0.0, -0.5, 0.2, -1.0, 0.0])
    vuln = small.truth["vulnerability_effects"][:5]
    exact = eng.band_probabilities(eta, change, vuln)
    assert np.allclose(exact.sum(axis=1), 1.0)
    draws = 20_000
    rows = np.repeat(np.arange(5), draws)
    state = eta[rows] + rng.normal(0, p.occasion_sd, len(rows))
    prob = eng.item_probabilities(state, change[rows], vuln[rows], rng.normal(0, p.rater_sd, len(rows)))
    codes, months = eng.answer(prob, np.zeros(len(rows), bool))
    bands = eng._bands(eng.score_codes(codes, months)).reshape(5, draws)
    freq = np.stack([(bands == k).mean(axis=1) for k in range(4)], axis=1)
    se = np.sqrt(exact * (1 - exact) / draws)
    assert np.all(np.abs(freq - exact) <= 4.5 * se + 0.002), np.round(freq - exact, 4)
    assert eng.median_band(eta, change, vuln).tolist() == np.median(bands, axis=1).astype(int).tolist()
    with pytest.raises(ValueError, match="typical_band"):
        small.lower_at_closure("most_likely")


def test_same_seed_same_data_and_different_seeds_differ(sims):
    again = hub_and_spoke(seed=0)
    pd.testing.assert_frame_equal(again.assessments, sims[0].assessments)
    pd.testing.assert_frame_equal(again.ladder, sims[0].ladder)
    pd.testing.assert_frame_equal(again.truth["people"], sims[0].truth["people"])
    assert not sims[0].assessments.equals(sims[1].assessments)


def test_overrides(sims):
    small = hub_and_spoke(seed=1, n_hubs=4)
    assert small.assessments["service"].nunique() == 4
    assert small.truth["parameters"]["n_hubs"] == 4
    assert co.validate(small.assessments, "cse-risk-indicators", today="2017-01-01").ok
    tiny = hub_and_spoke(seed=3, n_hubs=2, n_areas=3, n_workers=5, phase_starts=["2014-01-01"])
    assert tiny.assessments["worker"].nunique() == 5
    assert len(tiny.truth["people"]) < 150


def test_unknown_override_raises_with_suggestion():
    with pytest.raises(TypeError, match="n_hubs"):
        hub_and_spoke(seed=0, n_hub=4)
    with pytest.raises(ValueError, match="n_hubs"):
        hub_and_spoke(seed=0, n_hubs=40)
    with pytest.raises(ValueError, match="risk_reduced_width must be positive"):
        Programme.with_overrides(risk_reduced_width=0.0)
    assert Programme().n_workers == 53


def test_a_wide_low_step_makes_the_planned_closure_hazard_log_linear_in_risk():
    """The simulator's planned-closure hazard with ``risk_reduced_below`` far under the data and
    ``risk_reduced_width`` 0.5 is exp(-2 eta) times a constant over the data's range, the joint
    model's form (the study's ``mnar_loglinear`` scenario); with the defaults it is a step, half way
    (0.15 a month) at -1.4; nil before ``min_months_open`` in both."""
    import math

    from cseoutcomes.simulate import _Simulation

    def hazard(**overrides):
        return _Simulation(Programme.with_overrides(**overrides), np.random.default_rng(0), 0).planned_closure_hazard

    eta = np.linspace(-3, 3, 13)
    wide = hazard(risk_reduced_below=-10.0, risk_reduced_width=0.5, risk_reduced_max=0.15 * math.exp(17.2))
    h = wide(eta, 6.0)
    assert np.allclose(np.diff(np.log(h)) / np.diff(eta), -2.0, rtol=1e-3)
    assert wide(np.array([-1.4]), 6.0)[0] == pytest.approx(0.15, rel=1e-6)
    step = hazard()
    assert step(np.array([-1.4]), 6.0)[0] == pytest.approx(0.15)
    assert step(np.array([1.0]), 6.0)[0] < 2e-4 and step(np.array([-3.0]), 6.0)[0] > 0.29
    assert not np.any(wide(eta, 2.0)) and not np.any(step(eta, 2.0))


def test_import_stays_light():
    import cseoutcomes.simulate

    # the simulator imports only NumPy, pandas and the package itself
    src = Path(cseoutcomes.simulate.__file__).read_text(encoding="utf-8")
    for banned in ("import scipy", "import pymc", "import matplotlib", "from scipy", "from pymc"):
        assert banned not in src


def test_naive_share_lower_compares_the_last_band_with_the_first_by_occasion():
    """A hand-worked example: A falls 2 -> 1, B stays at 1, C goes 3 -> 2 -> 3 (rows out of order): 1 of 3."""
    from cseoutcomes.simulate import naive_share_lower

    person = ["C", "A", "B", "C", "A", "B", "C"]
    occasion = [2, 1, 0, 0, 0, 1, 1]
    band = [3, 1, 1, 3, 2, 1, 2]
    assert naive_share_lower(person, occasion, band) == pytest.approx(1 / 3)
