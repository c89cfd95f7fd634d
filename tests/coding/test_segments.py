"""Coded segments: reading, checking against a codebook, every problem at once, free text never shown."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cseoutcomes.coding import COLUMNS, CodedSegments, read_segments
from cseoutcomes.errors import DataError


def _codings() -> pd.DataFrame:
    return pd.DataFrame({
        "source": ["note-1", "note-1", "note-2", "note-2"],
        "case": ["YP01", "YP01", "YP02", ""],
        "coder": ["ann", "bob", "ann", "bob"],
        "code": ["disclosure", "Disclosure of abuse", "young_person_change::recovery", "Barriers to support/Moved away"],
        "start": [0, 5, None, None],
        "end": [12, 20, None, None],
        "memo": ["SECRET MEMO", "", "", ""],
        "date": ["2024-03-01", "2024-03-02T10:15:00", "", "2024-03-05"],
    })


def test_codes_may_be_written_as_id_name_or_path_and_are_stored_as_ids():
    seg = CodedSegments.from_frame(_codings(), "practice-codebook")
    assert seg.table["code"].tolist() == ["disclosure", "disclosure", "recovery", "moved_away"]
    assert list(seg.table.columns) == list(COLUMNS)
    assert seg.table["case"].tolist() == ["YP01", "YP01", "YP02", "note-2"]  # a blank case is the source
    assert seg.table["start"].dtype == "Int64" and seg.table["start"].isna().tolist() == [False, False, True, True]
    assert seg.table["date"].iloc[1] == pd.Timestamp("2024-03-02 10:15")
    assert seg.codes == ["disclosure", "recovery", "moved_away"]  # codebook order
    assert seg.coders == ["ann", "bob"]
    assert "4 codings of 3 codes by 2 coders" in repr(seg)


def test_every_problem_is_reported_at_once_with_rows_and_never_the_memo():
    bad = _codings()
    bad.loc[0, "code"] = "telepathy"
    bad.loc[1, "coder"] = " "
    bad.loc[2, ["start", "end"]] = [7, None]
    bad.loc[3, ["start", "end"]] = [9, 3]
    bad.loc[0, "date"] = "last tuesday"
    with pytest.raises(DataError) as err:
        CodedSegments.from_frame(bad, "practice-codebook")
    text = str(err.value)
    assert "\n" not in text and len(err.value.problems) == 5
    assert "column 'coder' is blank on spreadsheet rows 3" in text
    assert "codes not in practice-codebook" in text and "rows 2" in text and "'telepathy'" in text
    assert "both start and end" in text and "rows 4" in text
    assert "start is not before end on spreadsheet rows 5" in text
    assert "unreadable dates on spreadsheet rows 2" in text
    assert "SECRET" not in text


def test_missing_columns_and_a_codebook_that_is_not_one():
    with pytest.raises(DataError, match="columns missing: coder"):
        CodedSegments.from_frame(_codings().drop(columns="coder"))
    seg = CodedSegments.from_frame(_codings().rename(columns={"coder": "Coder name"}), columns={"coder": "Coder name"})
    assert seg.coders == ["ann", "bob"]
    with pytest.raises(DataError, match="not a codebook"):
        CodedSegments.from_frame(_codings(), "cse-risk-indicators")


def test_csv_and_json_files_read_the_same(tmp_path):
    seg = CodedSegments.from_frame(_codings(), "practice-codebook")
    path = seg.write_csv(tmp_path / "codings.csv")
    back = read_segments(path, "practice-codebook")
    pd.testing.assert_frame_equal(back.table.reset_index(drop=True), seg.table.reset_index(drop=True),
                                  check_dtype=False)
    records = _codings().astype(object).where(_codings().notna(), None).to_dict("records")
    (tmp_path / "codings.json").write_text(json.dumps({"segments": records}), encoding="utf-8")
    from_json = read_segments(tmp_path / "codings.json", "practice-codebook")
    pd.testing.assert_frame_equal(from_json.table, seg.table)
    (tmp_path / "bad.json").write_text('{"segments": [1, 2]}', encoding="utf-8")
    with pytest.raises(DataError, match="list of objects"):
        read_segments(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text('[{"source": "a",', encoding="utf-8")
    with pytest.raises(DataError, match="not readable JSON"):
        read_segments(tmp_path / "broken.json")


def test_notebook_view_shows_counts_not_memos():
    seg = CodedSegments.from_frame(_codings(), "practice-codebook")
    view = seg._repr_html_()
    assert "<table" in view and "disclosure" in view and "SECRET" not in view
