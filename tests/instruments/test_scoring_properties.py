"""Property tests of the scoring engine over the built-in instruments' declared codes."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cseoutcomes as co
from cseoutcomes import Instrument, ScoringWarning
from cseoutcomes.instruments.scoring import band_positions
from cseoutcomes.testing import generate_responses

INSTRUMENTS = Path(__file__).resolve().parents[2] / "instruments"
CSE = Instrument.from_yaml(INSTRUMENTS / "cse-risk-indicators.yaml")
SWEMWBS = Instrument.from_yaml(INSTRUMENTS / "swemwbs.yaml")
LADDER = Instrument.from_yaml(INSTRUMENTS / "progress-ladder.yaml")
GBO = Instrument.from_yaml(INSTRUMENTS / "goal-based-outcomes.yaml")
SCORED = {i.id: i for i in (CSE, SWEMWBS, LADDER, GBO)}

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cells(inst: Instrument, item_id: str) -> st.SearchStrategy:
    """Any cell an item may hold: a category, a missing code or a blank."""
    scale = inst.scale_of(item_id)
    return st.sampled_from([*scale.codes, *scale.missing_codes, None])


def answers(inst: Instrument, item_id: str) -> st.SearchStrategy:
    return st.sampled_from(list(inst.scale_of(item_id).codes))


def cse_row(item_cells=None) -> st.SearchStrategy:
    """One cse-risk-indicators assessment: responses, months since last present, age."""
    fields: dict[str, st.SearchStrategy] = {}
    for item in CSE.items:
        fields[item.id] = item_cells(item.id) if item_cells else cells(CSE, item.id)
        if item.recency is not None:
            fields[item.id + item.recency.column_suffix] = st.one_of(st.none(), st.integers(0, 18))
    fields["age"] = st.one_of(st.none(), st.integers(8, 25), st.floats(8, 25, allow_nan=False))
    return st.fixed_dictionaries(fields)


cse_tables = st.lists(cse_row(), min_size=1, max_size=12).map(pd.DataFrame)


def quiet_score(table: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        return co.score(table, inst)


def without_overrides(inst: Instrument) -> Instrument:
    data = inst.to_dict()
    for s in data.get("scores", []):
        s.pop("overrides", None)
    return Instrument.from_dict(data)


CSE_PLAIN = without_overrides(CSE)


# ---------------------------------------------------------------------------
# row order


@PROPERTY
@given(table=cse_tables, data=st.data())
def test_cse_scoring_is_invariant_to_row_order(table, data):
    order = data.draw(st.permutations(range(len(table))))
    result = quiet_score(table, CSE)
    permuted = quiet_score(table.iloc[order], CSE)
    # each row keeps its scores wherever it sits
    pd.testing.assert_frame_equal(permuted, result.iloc[order])
    # and so does a table whose index was reset after shuffling
    reset = quiet_score(table.iloc[order].reset_index(drop=True), CSE)
    pd.testing.assert_frame_equal(reset, result.iloc[order].reset_index(drop=True))


@pytest.mark.parametrize("inst_id", sorted(SCORED))
@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_scoring_is_invariant_to_row_order(inst_id, n, seed, data):
    inst = SCORED[inst_id]
    table = generate_responses(inst, n=n, seed=seed, missing_rate=0.2, blank_rate=0.1)
    order = data.draw(st.permutations(range(n)))
    result = quiet_score(table, inst)
    pd.testing.assert_frame_equal(quiet_score(table.iloc[order], inst), result.iloc[order])


# ---------------------------------------------------------------------------
# bands


@PROPERTY
@given(x=st.floats(-10, 70, allow_nan=False), y=st.floats(-10, 70, allow_nan=False))
def test_band_positions_are_monotone(x, y):
    for score_id in ("total", "total_with_possible"):
        s = CSE.get_score(score_id)
        lo, hi = sorted((x, y))
        pos = band_positions(s, np.array([lo, hi, math.nan]))
        assert pos[0] <= pos[1]
        assert pos[2] == -1
        assert 0 <= pos[0] < len(s.bands)


@PROPERTY
@given(table=cse_tables)
def test_bands_are_monotone_in_the_score_before_overrides(table):
    plain = quiet_score(table, CSE_PLAIN)
    full = quiet_score(table, CSE)
    for score_id in ("total", "total_with_possible"):
        codes = [b.code for b in CSE.get_score(score_id).bands]
        values = plain[score_id].to_numpy(dtype=float)
        banded = plain[f"{score_id}_band"].cat.codes.to_numpy()
        # the band is the computed band, and NaN scores have no band
        np.testing.assert_array_equal(banded, band_positions(CSE.get_score(score_id), values))
        assert ((banded == -1) == np.isnan(values)).all()
        # sorting by score gives non-decreasing band positions
        order = np.argsort(values[~np.isnan(values)], kind="stable")
        assert (np.diff(banded[~np.isnan(values)][order]) >= 0).all()
        # the scores themselves do not depend on overrides
        np.testing.assert_array_equal(full[score_id].to_numpy(dtype=float), values)
        # cse-risk-indicators' overrides (set highest, floor) only ever raise a band
        final = full[f"{score_id}_band"].cat.codes.to_numpy()
        assert (final >= banded).all()
        assert list(full[f"{score_id}_band"].cat.categories) == codes


# ---------------------------------------------------------------------------
# prorating and the missing rules


ladder_tables = st.lists(
    st.fixed_dictionaries({i.id: cells(LADDER, i.id) for i in LADDER.items}), min_size=1, max_size=20
).map(pd.DataFrame)


@PROPERTY
@given(table=ladder_tables)
def test_prorating_needs_min_answered(table):
    result = co.score(table, LADDER)
    answered = result["mean_answered"].to_numpy()
    mean = result["mean"].to_numpy(dtype=float)
    assert LADDER.get_score("mean").missing.min_answered == 6
    # never a prorated mean from fewer than 6 answered areas, always one from 6 or more
    assert (np.isnan(mean) == (answered < 6)).all()
    ok = ~np.isnan(mean)
    assert ((mean[ok] >= 1) & (mean[ok] <= 10)).all()
    # the total (rule complete) needs all eight
    total = result["total"].to_numpy(dtype=float)
    assert (np.isnan(total) == (answered < 8)).all()
    assert (result["total_answered"].to_numpy() == answered).all()


@PROPERTY
@given(row=cse_row(), data=st.data())
def test_a_missing_code_never_counts_as_no(row, data):
    items = [i.id for i in CSE.items]
    item = data.draw(st.sampled_from(items), label="item")
    missing = data.draw(st.sampled_from(["unknown", "not_asked", None]), label="missing")
    before = {**row, item: "no"}
    after = {**row, item: missing}
    result = quiet_score(pd.DataFrame([before, after]), CSE)
    for s in ("total", "total_with_possible"):
        answered = result[f"{s}_answered"].tolist()
        assert answered[1] == answered[0] - 1
        value, upper = result[s].tolist(), result[f"{s}_upper"].tolist()
        if not math.isnan(value[1]):
            # still scored: the same points, and at least as much unknown above them
            assert value[1] == value[0]
            assert upper[1] - value[1] >= upper[0] - value[0]
        else:
            # no score at all rather than a score that read the missing answer as "no"
            assert math.isnan(upper[1])
            assert answered[1] < CSE.get_score(s).missing.min_answered


@PROPERTY
@given(
    responses=st.fixed_dictionaries({i.id: answers(SWEMWBS, i.id) for i in SWEMWBS.items}),
    item=st.sampled_from([i.id for i in SWEMWBS.items]),
    missing=st.sampled_from(["declined", "unknown", None, math.nan]),
)
def test_a_missing_answer_turns_a_complete_rule_score_nan(responses, item, missing):
    result = co.score(pd.DataFrame([responses, {**responses, item: missing}]), SWEMWBS)
    metric = result["metric"].tolist()
    assert not math.isnan(metric[0])
    assert 7 <= metric[0] <= 35
    assert math.isnan(metric[1])
    assert math.isnan(result["metric_raw"].iloc[1])
    assert result["metric_answered"].tolist() == [7, 6]


@PROPERTY
@given(table=st.lists(st.fixed_dictionaries({i.id: cells(GBO, i.id) for i in GBO.items}),
                      min_size=1, max_size=20).map(pd.DataFrame))
def test_gbo_mean_is_the_mean_of_the_rated_goals(table):
    result = co.score(table, GBO)
    for (_, row), mean in zip(table.iterrows(), result["mean"], strict=True):
        rated = [float(v) for v in row if v is not None and str(v).isdigit()]
        if rated:
            assert mean == pytest.approx(sum(rated) / len(rated))
        else:
            assert math.isnan(mean)
