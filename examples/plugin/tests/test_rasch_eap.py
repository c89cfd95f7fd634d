"""The ``rasch_eap`` step against an independent computation.

The reference below shares no code with the step: it writes the partial credit
likelihood out term by term and integrates with adaptive quadrature
(``scipy.integrate.quad``) instead of Gauss-Hermite nodes.
"""

from __future__ import annotations

import itertools
import math

import cseoutcomes as co
import numpy as np
import pandas as pd
import pytest
from cseoutcomes import CseOutcomesError, Instrument
from scipy.integrate import quad

from cseoutcomes_example_plugin import load_instruments
from cseoutcomes_example_plugin.scoring import eap_partial_credit, parse_params, pcm_log_probabilities

ITEMS = [f"item_{i}" for i in range(1, 7)]


@pytest.fixture(scope="module")
def inst() -> Instrument:
    return load_instruments()[0]


@pytest.fixture(scope="module")
def thresholds(inst) -> list[list[float]]:
    return [list(t) for t in inst.get_score("theta").params["thresholds"].values()]


def reference_eap(pattern, thresholds, mean=0.0, sd=1.0) -> float:
    """EAP = int theta L phi / int L phi, by adaptive quadrature (None = unanswered)."""

    def likelihood(theta: float) -> float:
        out = 1.0
        for x, deltas in zip(pattern, thresholds, strict=True):
            if x is None:
                continue
            # numerator terms exp(sum_{k<=h} (theta - delta_k)), h = 0..m
            terms = [math.exp(sum(theta - d for d in deltas[:h])) for h in range(len(deltas) + 1)]
            out *= terms[x] / sum(terms)
        return out

    def phi(theta: float) -> float:
        return math.exp(-0.5 * ((theta - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))

    lo, hi = mean - 12 * sd, mean + 12 * sd
    opts = dict(epsabs=0.0, epsrel=1e-10, limit=200)
    num = quad(lambda t: t * likelihood(t) * phi(t), lo, hi, **opts)[0]
    den = quad(lambda t: likelihood(t) * phi(t), lo, hi, **opts)[0]
    return num / den


PATTERNS = [
    [0, 0, 0, 0, 0, 0],
    [3, 3, 3, 3, 3, 3],
    [1, 2, 0, 3, 2, 1],
    [2, 2, 2, 1, 1, 1],
    [3, 3, 3, 3, 3, 2],
    [2, None, 3, None, None, 0],  # three answered: the minimum
    [None, 1, 1, None, 2, 0],
]


def as_table(patterns) -> pd.DataFrame:
    return pd.DataFrame([dict(zip(ITEMS, p, strict=True)) for p in patterns], dtype=object)


def test_category_probabilities_sum_to_one():
    theta = np.linspace(-6, 6, 25)
    p = np.exp(pcm_log_probabilities(theta, [-1.0, 0.2, 1.5]))
    assert p.shape == (25, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # the step threshold is where adjacent categories are equally likely
    at = np.exp(pcm_log_probabilities(0.2, [-1.0, 0.2, 1.5]))
    assert at[1] == pytest.approx(at[2], rel=1e-12)


def test_eap_matches_adaptive_quadrature(thresholds):
    codes = np.array([[-1 if x is None else x for x in p] for p in PATTERNS])
    got, _ = eap_partial_credit(codes, thresholds, quadrature_points=61)
    want = [reference_eap(p, thresholds) for p in PATTERNS]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_scoring_through_cseoutcomes_matches(inst, thresholds):
    result = co.score(as_table(PATTERNS), inst)
    want = [reference_eap(p, thresholds) for p in PATTERNS]
    np.testing.assert_allclose(result["theta"].to_numpy(float), want, rtol=0, atol=1e-6)
    assert list(result["theta_answered"]) == [6, 6, 6, 6, 6, 3, 4]
    assert list(result["theta_band"].astype(str)) == [
        "lower" if w < 0 else "higher" for w in want]


def test_eap_matches_for_every_raw_score(thresholds):
    # one complete pattern per raw score 0..18, extremes included
    patterns = [[min(3, max(0, r - 3 * j)) for j in range(6)] for r in range(19)]
    assert [sum(p) for p in patterns] == list(range(19))
    got, _ = eap_partial_credit(np.array(patterns), thresholds)
    want = [reference_eap(p, thresholds) for p in patterns]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_prior_is_used(thresholds):
    pattern = [1, 2, 0, 3, 2, 1]
    want = reference_eap(pattern, thresholds, mean=0.5, sd=1.5)
    # a wider prior spreads the fixed nodes further apart, so it needs more of them
    got, _ = eap_partial_credit(np.array([pattern]), thresholds, prior_mean=0.5, prior_sd=1.5,
                                quadrature_points=121)
    assert got[0] == pytest.approx(want, abs=1e-6)
    assert got[0] > eap_partial_credit(np.array([pattern]), thresholds)[0][0]


def test_eap_increases_with_raw_score_for_complete_patterns(inst):
    # every complete pattern: 4^6 = 4096 rows, scored in one vectorised call
    patterns = np.array(list(itertools.product(range(4), repeat=6)))
    result = co.score(pd.DataFrame(patterns, columns=ITEMS), inst)
    theta = result["theta"].to_numpy(float)
    raw = result["raw"].to_numpy(float)
    np.testing.assert_array_equal(raw, patterns.sum(axis=1))
    by_raw = pd.Series(theta).groupby(raw)
    # under a Rasch model the raw score is sufficient: same raw score, same EAP
    assert (by_raw.max() - by_raw.min()).max() < 1e-9
    means = by_raw.mean().to_numpy()
    assert len(means) == 19
    assert (np.diff(means) > 0).all()
    assert -4 < means[0] < 0 < means[-1] < 4


def test_too_few_answered_items_give_no_score(inst):
    table = as_table([
        [None] * 6,                                            # nothing answered
        ["declined", "unknown", "not_asked", None, None, None],  # missing codes are not answers
        [3, None, "declined", 2, None, None],                  # two answered
        [3, None, "declined", 2, 1, None],                     # three answered
    ])
    result = co.score(table, inst)
    theta = result["theta"].to_numpy(float)
    assert np.isnan(theta[:3]).all()
    assert np.isfinite(theta[3])
    assert list(result["theta_answered"]) == [0, 0, 2, 3]
    assert result["theta_band"].isna().tolist() == [True, True, True, False]
    assert result["raw"].isna().all()  # the sum score needs all six items


def _variant(inst: Instrument, **changes) -> Instrument:
    data = inst.to_dict()
    theta = next(s for s in data["scores"] if s["id"] == "theta")
    for key, value in changes.items():
        if key == "items":
            for item in data["items"]:
                item.update(value.get(item["id"], {}))
        else:
            theta[key] = value
    return Instrument.from_dict(data)


def test_rating_scale_form_equals_partial_credit(inst):
    locations = {item: -0.6 + 0.25 * i for i, item in enumerate(ITEMS)}
    steps = [-1.2, 0.1, 1.1]
    params = {"model": "rating_scale", "locations": locations, "steps": steps}
    rsm = _variant(inst, params=params)
    pcm = _variant(inst, params={"thresholds": {k: [b + t for t in steps] for k, b in locations.items()}})
    table = as_table(PATTERNS)
    np.testing.assert_allclose(co.score(table, rsm)["theta"], co.score(table, pcm)["theta"], rtol=0, atol=1e-12)


def test_reverse_keyed_item(inst):
    reversed_1 = _variant(inst, items={"item_1": {"reverse": True}})
    a = co.score(as_table([[3, 2, 1, 0, 2, 1]]), reversed_1)["theta"]
    b = co.score(as_table([[0, 2, 1, 0, 2, 1]]), inst)["theta"]
    assert a.iloc[0] == pytest.approx(b.iloc[0], abs=1e-12)


def test_result_is_clipped_to_the_declared_range(inst):
    narrow = _variant(inst, range=[-1, 1], bands=[
        {"code": "lower", "label": "below 0", "min": -1, "max": 0},
        {"code": "higher", "label": "0 or more", "min": 0, "max": 1}])
    theta = co.score(as_table([[3] * 6, [0] * 6]), narrow)["theta"].tolist()
    assert theta == [1.0, -1.0]


@pytest.mark.parametrize(("params", "message"), [
    ({"thresholds": {"item_1": [0, 1, 2]}}, "no item parameters for item 'item_2'"),
    ({"thresholds": {i: [0.0, 1.0] for i in ITEMS}}, "needs 3 step thresholds, not 2"),
    ({"thresholds": {**{i: [0, 1, 2] for i in ITEMS}, "item_9": [0, 1, 2]}}, "item_9"),
    ({"thresholds": {i: [0, 1, 2] for i in ITEMS}, "prior": {"mean": 0, "sd": 0}}, "prior.sd"),
    ({"thresholds": {i: [0, 1, 2] for i in ITEMS}, "nodes": 40}, "unknown parameter(s) nodes"),
    ({"model": "graded_response"}, "model must be"),
])
def test_bad_params_are_reported(inst, params, message):
    bad = _variant(inst, params=params)
    with pytest.raises(CseOutcomesError, match=r"scores\.theta\.params") as info:
        co.score(as_table(PATTERNS[:1]), bad)
    assert message in str(info.value)


def test_parse_params_orders_thresholds_by_item(inst):
    score = inst.get_score("theta")
    items = inst.score_items(score)
    p = parse_params(score.params, items, [inst.scale_of(i) for i in items])
    assert p.thresholds[3] == (-2.4, -1.0, 0.3)
    assert (p.prior_mean, p.prior_sd, p.quadrature_points) == (0.0, 1.0, 61)
