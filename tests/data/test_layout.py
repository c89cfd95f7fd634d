"""Wide <-> long conversion: lossless, vectorised, loud about duplicates and unknown items."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cseoutcomes import DataError, Instrument
from cseoutcomes.data.io import read_table
from cseoutcomes.data.layout import detect_layout, to_long, to_wide
from cseoutcomes.testing import generate_responses

INSTRUMENTS = Path(__file__).resolve().parents[2] / "instruments"
CSE = Instrument.from_yaml(INSTRUMENTS / "cse-risk-indicators.yaml")
SWEMWBS = Instrument.from_yaml(INSTRUMENTS / "swemwbs.yaml")
LADDER = Instrument.from_yaml(INSTRUMENTS / "progress-ladder.yaml")
GBO = Instrument.from_yaml(INSTRUMENTS / "goal-based-outcomes.yaml")
SCORED = (CSE, SWEMWBS, LADDER, GBO)
LONG_COLUMNS = {"spreadsheet_row", "item", "response", "months_ago"}


def wide_table(inst: Instrument, n: int = 6, seed: int = 0, **kwargs) -> pd.DataFrame:
    """Generated responses with an id column, indexed like read_table (header on row 1)."""
    table = generate_responses(inst, n=n, seed=seed, **kwargs)
    table.insert(0, "person_id", [f"YP-{i}" for i in range(n)])
    table.index = pd.RangeIndex(2, n + 2, name="spreadsheet_row")
    return table


def round_trip(wide: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    long = to_long(wide, inst)
    ids = [c for c in long.columns if c not in LONG_COLUMNS]
    return to_wide(long, inst, id_columns=ids)[list(wide.columns)]


# ---------------------------------------------------------------------------
# to_long


def test_to_long_shape_and_columns():
    wide = wide_table(SWEMWBS, n=3)
    long = to_long(wide, SWEMWBS)
    items = [i.id for i in SWEMWBS.items]
    assert list(long.columns) == ["person_id", "spreadsheet_row", "item", "response"]
    assert len(long) == 3 * len(items)
    assert long["item"].tolist() == items * 3
    assert long["spreadsheet_row"].tolist() == [2] * 7 + [3] * 7 + [4] * 7
    assert long["person_id"].tolist() == ["YP-0"] * 7 + ["YP-1"] * 7 + ["YP-2"] * 7
    first = wide.iloc[0]
    assert long["response"].iloc[:7].tolist() == [first[i] for i in items]


def test_to_long_keeps_spreadsheet_rows_after_title_rows(tmp_path):
    path = tmp_path / "gbo.csv"
    path.write_bytes(b"Goals export\n\nperson_id,goal_1,goal_2,goal_3\nYP-A,2,4,no_goal\n\nYP-B,8,,no_goal\n")
    wide = read_table(path)
    long = to_long(wide, GBO)
    assert long["spreadsheet_row"].tolist() == [4, 4, 4, 6, 6, 6]
    assert long["response"].isna().tolist() == [False, False, False, False, True, False]
    assert long["response"].dropna().tolist() == ["2", "4", "no_goal", "8", "no_goal"]


def test_to_long_recency_becomes_months_ago():
    wide = wide_table(CSE, n=4)
    long = to_long(wide, CSE)
    assert "months_ago" in long.columns
    gm = long[long["item"] == "going_missing"]
    assert gm["months_ago"].tolist() == wide["going_missing_months_ago"].tolist()
    no_recency = [i.id for i in CSE.items if i.recency is None]
    assert long.loc[long["item"].isin(no_recency), "months_ago"].isna().all()
    assert not any(c.endswith("_months_ago") for c in long.columns)


def test_to_long_keeps_blank_responses():
    wide = wide_table(SWEMWBS, n=2)
    wide.loc[:, [i.id for i in SWEMWBS.items]] = None
    long = to_long(wide, SWEMWBS)
    assert len(long) == 14
    assert long["response"].isna().all()


def test_to_long_matches_item_columns_ignoring_case():
    wide = pd.DataFrame({"person_id": ["A"], "Goal_1": [2], " GOAL_2 ": [3]})
    long = to_long(wide, GBO)
    assert long["item"].tolist() == ["goal_1", "goal_2"]
    assert long["response"].tolist() == [2, 3]


def test_to_long_explicit_id_columns():
    wide = wide_table(SWEMWBS, n=2)
    wide["worker"] = ["W1", "W2"]
    long = to_long(wide, SWEMWBS, id_columns=["person_id"])
    assert "worker" not in long.columns
    with pytest.raises(DataError, match="'nobody' not in the table"):
        to_long(wide, SWEMWBS, id_columns=["nobody"])
    with pytest.raises(DataError, match="cannot be both an id column and an item"):
        to_long(wide, SWEMWBS, id_columns=["item_1"])


def test_to_long_errors():
    with pytest.raises(DataError, match="none of the 7 item columns"):
        to_long(pd.DataFrame({"person_id": ["A"]}), SWEMWBS)
    clash = wide_table(SWEMWBS, n=1)
    clash["response"] = ["x"]
    with pytest.raises(DataError, match="already has column 'response'"):
        to_long(clash, SWEMWBS)
    dup = pd.DataFrame([["A", 1, 2]], columns=["person_id", "item_1", "item_1"])
    with pytest.raises(DataError, match="more than one column named 'item_1'"):
        to_long(dup, SWEMWBS)


def test_to_long_accepts_instrument_id():
    long = to_long(wide_table(SWEMWBS, n=1), "swemwbs")
    assert len(long) == 7


# ---------------------------------------------------------------------------
# to_wide


def long_table() -> pd.DataFrame:
    return pd.DataFrame({
        "person_id": ["A", "A", "A", "B", "B"],
        "occasion": ["0", "0", "0", "0", "0"],
        "item": ["goal_1", "goal_2", "goal_3", "goal_1", "goal_3"],
        "response": ["2", "4", "no_goal", "8", "no_goal"],
    }, index=pd.Index([2, 3, 4, 5, 6], name="spreadsheet_row"))


def test_to_wide_pivots_and_fills_missing_items_with_blanks():
    wide = to_wide(long_table(), GBO, id_columns=["person_id", "occasion"])
    assert list(wide.columns) == ["person_id", "occasion", "goal_1", "goal_2", "goal_3"]
    assert wide["person_id"].tolist() == ["A", "B"]
    assert wide["goal_2"].isna().tolist() == [False, True]
    # each assessment points at the first long row it came from
    assert wide.index.tolist() == [2, 5]
    assert wide.index.name == "spreadsheet_row"


def test_to_wide_duplicates_are_an_error_never_aggregated():
    long = pd.concat([long_table(), long_table().iloc[[0, 3]].set_axis([7, 8])])
    long.index.name = "spreadsheet_row"
    with pytest.raises(DataError) as exc:
        to_wide(long, GBO, id_columns=["person_id", "occasion"])
    message = str(exc.value)
    assert "2 responses repeat an item already answered in the same assessment" in message
    assert "rows 2, 5, 7, 8" in message
    assert len(exc.value.problems) == 4


def test_to_wide_unknown_items_are_named():
    long = long_table()
    long.loc[3, "item"] = "goal_9"
    long.loc[4, "item"] = "Goal_3"  # case does not matter
    with pytest.raises(DataError, match=r"1 item is not in 'goal-based-outcomes': 'goal_9' \(1 row\)"):
        to_wide(long, GBO, id_columns=["person_id"])


def test_to_wide_blank_item_is_an_error():
    long = long_table()
    long.loc[4, "item"] = None
    with pytest.raises(DataError, match=r"1 row has no item in column 'item' \(row 4\)"):
        to_wide(long, GBO, id_columns=["person_id"])


def test_to_wide_missing_columns():
    with pytest.raises(DataError, match="no column 'visit'"):
        to_wide(long_table(), GBO, id_columns=["visit"])
    with pytest.raises(DataError, match="no column 'answer'"):
        to_wide(long_table(), GBO, id_columns=["person_id"], response_column="answer")


def test_to_wide_carries_per_assessment_columns_and_refuses_varying_ones():
    long = long_table()
    long["worker"] = ["W1", "W1", "W1", "W2", "W2"]
    wide = to_wide(long, GBO, id_columns=["person_id"])
    assert wide["worker"].tolist() == ["W1", "W2"]
    assert wide["occasion"].tolist() == ["0", "0"]
    long["comment"] = ["a", "b", "a", "c", "c"]
    with pytest.raises(DataError, match="'comment' differs between responses of one assessment"):
        to_wide(long, GBO, id_columns=["person_id"])


def test_to_wide_keeps_assessments_with_blank_ids():
    long = long_table()
    long.loc[[5, 6], "person_id"] = None
    wide = to_wide(long, GBO, id_columns=["person_id", "occasion"])
    assert len(wide) == 2
    assert wide["person_id"].isna().tolist() == [False, True]


def test_to_wide_custom_item_and_response_columns():
    long = long_table().rename(columns={"item": "question", "response": "answer"})
    wide = to_wide(long, GBO, id_columns=["person_id"], item_column="question", response_column="answer")
    assert wide["goal_1"].tolist() == ["2", "8"]


def test_to_wide_months_ago_makes_recency_columns():
    long = pd.DataFrame({
        "person_id": ["A", "A"],
        "item": ["going_missing", "abuse_or_neglect"],
        "response": ["yes", "no"],
        "months_ago": [3.0, None],
    })
    wide = to_wide(long, CSE, id_columns=["person_id"])
    assert list(wide.columns) == ["person_id", "abuse_or_neglect", "going_missing", "going_missing_months_ago"]
    assert wide["going_missing_months_ago"].tolist() == [3.0]


# ---------------------------------------------------------------------------
# round trips


def test_round_trip_example_file():
    from cseoutcomes.data.examples import example_path

    wide = read_table(example_path())
    long = to_long(wide, CSE)
    back = to_wide(long, CSE, id_columns=["person_id", "occasion", "assessment_date", "age", "worker"])
    pd.testing.assert_frame_equal(back[list(wide.columns)], wide)


def test_round_trip_through_a_long_csv_file(tmp_path):
    wide = wide_table(CSE, n=20, seed=3)
    long = to_long(wide, CSE).drop(columns="spreadsheet_row")
    long.to_csv(tmp_path / "long.csv", index=False)
    read = read_table(tmp_path / "long.csv")
    assert detect_layout(read, CSE) == "long"
    back = to_wide(read, CSE, id_columns=["person_id", "age"])
    # a long file's row numbers are its own: each assessment starts every len(items) rows
    assert back.index.tolist() == [2 + i * len(CSE.items) for i in range(20)]
    # the same as writing the wide table to CSV and reading it
    wide.to_csv(tmp_path / "wide.csv", index=False)
    expected = read_table(tmp_path / "wide.csv")
    pd.testing.assert_frame_equal(back[list(wide.columns)].reset_index(drop=True),
                                  expected.reset_index(drop=True))


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(inst=st.sampled_from(SCORED), n=st.integers(0, 40), seed=st.integers(0, 2**16),
       missing=st.floats(0, 1), blank=st.floats(0, 1), with_ids=st.booleans(), shuffle=st.booleans())
def test_round_trip_generated(inst, n, seed, missing, blank, with_ids, shuffle):
    wide = generate_responses(inst, n=n, seed=seed, missing_rate=missing, blank_rate=blank)
    if with_ids:
        wide.insert(0, "person_id", np.random.default_rng(seed).choice(["A", "B", None], n))
    rows = np.arange(2, n + 2)
    if shuffle:
        np.random.default_rng(seed).shuffle(rows)
    wide.index = pd.Index(rows, name="spreadsheet_row")
    back = round_trip(wide, inst)
    pd.testing.assert_frame_equal(back, wide)
    assert detect_layout(to_long(wide, inst), inst) == ("long" if n else "wide")
    assert detect_layout(wide, inst) == "wide"


def test_round_trip_without_spreadsheet_index():
    wide = generate_responses(SWEMWBS, n=5)
    back = round_trip(wide, SWEMWBS)
    pd.testing.assert_frame_equal(back.reset_index(drop=True), wide)
    assert back.index.tolist() == [2, 3, 4, 5, 6]


def test_vectorised_on_a_large_table():
    wide = wide_table(CSE, n=20_000, seed=1)
    start = time.perf_counter()
    long = to_long(wide, CSE)
    back = to_wide(long, CSE, id_columns=["person_id", "age"])
    seconds = time.perf_counter() - start
    assert len(long) == 20_000 * len(CSE.items)
    pd.testing.assert_frame_equal(back[list(wide.columns)], wide)
    assert seconds < 15


# ---------------------------------------------------------------------------
# detect_layout


def test_detect_layout():
    assert detect_layout(long_table(), GBO) == "long"
    assert detect_layout(wide_table(GBO), GBO) == "wide"
    assert detect_layout(pd.DataFrame({"x": [1, 2]}), GBO) == "wide"
    assert detect_layout(pd.DataFrame({"q": ["Goal_1 ", "GOAL_2", None]}), GBO) == "long"
    assert detect_layout(pd.DataFrame({"q": ["goal_1", "other", "other"]}), GBO) == "wide"
