"""Coder agreement on codings, against a published worked example and independent peers.

Published: Krippendorff K (2011), "Computing Krippendorff's Alpha-Reliability",
Annenberg School for Communication, University of Pennsylvania, section A
(binary data, two observers, no missing data, ten units): alpha = 0.095.
Peers: statsmodels' cohens_kappa and fleiss_kappa (statsmodels.stats.inter_rater)
and the `krippendorff` package (Castro 2017) for alpha with missing codings.
"""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats import inter_rater

from cseoutcomes.coding import CodedSegments, agreement, reliability_data
from cseoutcomes.coding.agreement import _alpha_w, _cohen_w, _fleiss_w
from cseoutcomes.errors import DataError

# Krippendorff (2011), section A: observers A and B on units 1..10
OBS_A = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
OBS_B = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]


def _segments(ratings: dict[str, list[int]], code: str = "disclosure", always: str | None = "recovery"):
    """Codings of one code from 0/1 ratings per coder over cases c01.. (plus a code everyone applied everywhere)."""
    rows = []
    n = len(next(iter(ratings.values())))
    for coder, values in ratings.items():
        for i, v in enumerate(values):
            case = f"c{i + 1:02d}"
            if v == 1:
                rows.append({"source": case, "coder": coder, "code": code})
            if always:
                rows.append({"source": case, "coder": coder, "code": always})
    assert n
    return CodedSegments.from_frame(pd.DataFrame(rows), "practice-codebook")


def test_krippendorff_2011_binary_example_and_cohens_kappa():
    result = agreement(_segments({"A": OBS_A, "B": OBS_B}), n_boot=200)
    row = result.by_code.loc["disclosure"]
    assert row["alpha"] == pytest.approx(0.095, abs=5e-4)  # published, to its three decimals
    table = np.array([[5, 3], [1, 1]])  # rows A (0, 1), columns B (0, 1)
    assert row["kappa"] == pytest.approx(inter_rater.cohens_kappa(table).kappa, rel=1e-12)
    assert row["kappa_kind"] == "Cohen" and row["units"] == 10
    assert row["observed_agreement"] == pytest.approx(0.6)
    assert "unreliable" in row["flag"]
    # a code everyone applied everywhere has no variation: alpha is undefined, and said so
    assert np.isnan(result.by_code.loc["recovery", "alpha"])
    assert "undefined" in result.by_code.loc["recovery", "flag"]
    conf = result.confusion.set_index("code").loc["disclosure"]
    assert (conf["both"], conf["only_a"], conf["only_b"], conf["neither"]) == (1, 1, 3, 5)


def test_fleiss_kappa_for_three_coders_matches_statsmodels():
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 2, 40)
    ratings = {c: [int(t if rng.uniform() < 0.85 else 1 - t) for t in truth] for c in ("ann", "bob", "cat")}
    result = agreement(_segments(ratings), n_boot=200)
    R = np.array(list(ratings.values())).T
    counts, _ = inter_rater.aggregate_raters(R, n_cat=2)
    row = result.by_code.loc["disclosure"]
    assert row["kappa_kind"] == "Fleiss"
    assert row["kappa"] == pytest.approx(inter_rater.fleiss_kappa(counts, method="fleiss"), rel=1e-10)
    assert row["alpha"] == pytest.approx(krippendorff.alpha(reliability_data=R.T, level_of_measurement="nominal"),
                                         rel=1e-10)
    assert row["kappa_lower"] < row["kappa"] < row["kappa_upper"]
    assert row["alpha_lower"] < row["alpha"] < row["alpha_upper"]


def test_missing_codings_leave_kappa_blank_and_alpha_allows_them():
    seg = _segments({"A": OBS_A, "B": OBS_B, "C": [1, 1, 0, 0, 0, 1, 0, 0, 1, 0]})
    who = pd.DataFrame([(f"c{i + 1:02d}", c) for i in range(10) for c in "AB"]
                       + [(f"c{i + 1:02d}", "C") for i in range(6)], columns=["unit", "coder"])
    seg = CodedSegments(seg.table[~((seg.table["coder"] == "C") & (seg.table["case"] > "c06"))], seg.codebook)
    result = agreement(seg, assignments=who, n_boot=100)
    R = reliability_data(seg, assignments=who)["disclosure"].to_numpy()
    assert np.isnan(R[6:, 2]).all() and not np.isnan(R[:6]).any()
    row = result.by_code.loc["disclosure"]
    assert np.isnan(row["kappa"]) and any("kappa needs every coder" in n for n in result.notes)
    assert row["alpha"] == pytest.approx(krippendorff.alpha(reliability_data=R.T, level_of_measurement="nominal"),
                                         rel=1e-10)
    with pytest.raises(DataError, match="assignments do not list"):
        agreement(_segments({"A": OBS_A, "B": OBS_B}), assignments=who[who["coder"] == "A"])


def test_pooled_agreement_stacks_codes_and_resamples_units():
    rng = np.random.default_rng(8)
    rows = []
    for i in range(30):
        for code in ("disclosure", "recovery", "trust_building"):
            present = rng.uniform() < 0.4
            for coder in ("A", "B"):
                if present == (rng.uniform() < 0.9):
                    rows.append({"source": f"c{i:02d}", "coder": coder, "code": code})
        rows.append({"source": f"c{i:02d}", "coder": "A", "code": "moved_away"})  # every case appears
    seg = CodedSegments.from_frame(pd.DataFrame(rows), "practice-codebook")
    result = agreement(seg, n_boot=300, seed=1)
    data = reliability_data(seg)
    stacked = np.vstack([d.to_numpy() for d in data.values()])
    overall = result.overall.iloc[0]
    assert overall["alpha"] == pytest.approx(krippendorff.alpha(reliability_data=stacked.T,
                                                                level_of_measurement="nominal"), rel=1e-10)
    a, b = stacked[:, 0], stacked[:, 1]
    table = np.array([[np.sum((a == 0) & (b == 0)), np.sum((a == 0) & (b == 1))],
                      [np.sum((a == 1) & (b == 0)), np.sum((a == 1) & (b == 1))]])
    assert overall["kappa"] == pytest.approx(inter_rater.cohens_kappa(table).kappa, rel=1e-10)
    assert overall["alpha_lower"] < overall["alpha"] < overall["alpha_upper"]
    again = agreement(seg, n_boot=300, seed=1)
    pd.testing.assert_frame_equal(again.overall, result.overall)  # same seed, same intervals
    assert "overall alpha" in repr(result) and "<table" in result._repr_html_()


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 5), st.integers(3, 25), st.integers(0, 10**6))
def test_weighted_forms_used_by_the_bootstrap_equal_the_point_estimates(k, n, seed):
    """At unit weights of 1, the vectorised bootstrap statistics equal the psychometrics implementations."""
    from cseoutcomes.coding.agreement import _alpha_point, _kappa_point

    rng = np.random.default_rng(seed)
    R = (rng.uniform(size=(n, k)) < rng.uniform(0.2, 0.8, size=(n, 1))).astype(float)
    if R.min() == R.max():
        R[0, 0] = 1 - R[0, 0]
    W = np.ones((1, n))
    kappa, _ = _kappa_point(R)
    fast = _cohen_w(R, W)[0] if k == 2 else _fleiss_w(R, W)[0]
    assert fast == pytest.approx(kappa, rel=1e-9, abs=1e-12)
    m = np.full(n, float(k))
    assert _alpha_w(R.sum(axis=1), m, W)[0] == pytest.approx(_alpha_point(R), rel=1e-9, abs=1e-12)
    # a unit drawn twice counts twice
    W2 = np.ones((1, n))
    W2[0, 0] = 2
    assert _alpha_w(R.sum(axis=1), m, W2)[0] == pytest.approx(_alpha_point(np.vstack([R, R[:1]])), rel=1e-9, abs=1e-12)


def test_fixed_segments_mark_every_window_a_span_overlaps():
    rows = [
        {"source": "doc", "coder": "A", "code": "disclosure", "start": 0, "end": 150},     # windows 0, 1
        {"source": "doc", "coder": "B", "code": "disclosure", "start": 120, "end": 250},   # windows 1, 2
        {"source": "doc", "coder": "A", "code": "recovery", "start": 299, "end": 300},     # window 2
        {"source": "doc", "coder": "B", "code": "recovery"},                               # the whole source
    ]
    seg = CodedSegments.from_frame(pd.DataFrame(rows), "practice-codebook")
    data = reliability_data(seg, "segment", segment_length=100)
    assert data["disclosure"].to_numpy().tolist() == [[1, 0], [1, 1], [0, 1]]
    assert data["recovery"].to_numpy().tolist() == [[0, 1], [0, 1], [1, 1]]
    longer = reliability_data(seg, "segment", segment_length=100, source_lengths={"doc": 450})
    assert len(longer["disclosure"]) == 5
    with pytest.raises(DataError, match="segment_length"):
        agreement(seg, "segment")
    with pytest.raises(DataError, match="at least two coders"):
        agreement(CodedSegments(seg.table[seg.table["coder"] == "A"], seg.codebook))
