"""read_table: every robustness case of the issue, exact spreadsheet row numbers, nothing lost.

Fixtures are written inside each test (CSV as raw bytes, XLSX with openpyxl,
Parquet with pyarrow); no binary fixture is committed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cseoutcomes import DataError
from cseoutcomes.data.io import read_table, write_table

SECRET = "Zebedee Quux"  # a cell value that must never appear in a message


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def meta(table: pd.DataFrame) -> dict:
    return table.attrs["cseoutcomes"]


def notes(table: pd.DataFrame) -> str:
    return " | ".join(meta(table)["notes"])


def xlsx(path: Path, rows: list[list], *, merges: tuple[str, ...] = (), sheets: dict | None = None) -> Path:
    """A workbook whose first sheet ('Assessments') holds `rows` from A1 (None = empty cell)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Assessments"
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    for ref in merges:
        ws.merge_cells(ref)
    for name, extra in (sheets or {}).items():
        other = wb.create_sheet(name)
        for row in extra:
            other.append(row)
    wb.save(path)
    return path


def one_line_error(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and "Traceback" not in message
    assert SECRET not in message
    return message


# ---------------------------------------------------------------------------
# errors: one clear line, exit status 2


def test_no_such_file(tmp_path):
    with pytest.raises(DataError, match="no such file") as exc:
        read_table(tmp_path / "missing.csv")
    assert exc.value.exit_code == 2


def test_folder(tmp_path):
    with pytest.raises(DataError, match="is a folder") as exc:
        read_table(tmp_path)
    assert exc.value.exit_code == 2


@pytest.mark.parametrize("content", [b"", b"   \n\n\t\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_empty_file(tmp_path, content):
    with pytest.raises(DataError, match="empty") as exc:
        read_table(write(tmp_path / "empty.csv", content))
    assert exc.value.exit_code == 2
    one_line_error(exc)


def test_only_delimiters_is_no_table(tmp_path):
    with pytest.raises(DataError, match="every row is blank"):
        read_table(write(tmp_path / "commas.csv", b",,,\n,,,\n"))


def test_empty_xlsx_file_and_empty_sheet(tmp_path):
    with pytest.raises(DataError, match="empty"):
        read_table(write(tmp_path / "zero.xlsx", b""))
    path = xlsx(tmp_path / "book.xlsx", [["id"], ["1"]], sheets={"Blank": []})
    with pytest.raises(DataError, match='sheet "Blank" is empty'):
        read_table(path, sheet="Blank")


def test_header_only_is_not_an_error(tmp_path):
    table = read_table(write(tmp_path / "header.csv", b"person_id,going_missing\r\n"))
    assert table.shape == (0, 2)
    assert list(table.columns) == ["person_id", "going_missing"]
    assert table.index.name == "spreadsheet_row"
    assert "the file has a header but no data rows" in meta(table)["notes"]


def test_header_only_xlsx(tmp_path):
    table = read_table(xlsx(tmp_path / "h.xlsx", [["person_id", "going_missing"]]))
    assert table.shape == (0, 2)
    assert "the file has a header but no data rows" in meta(table)["notes"]


def test_text_file_renamed_xlsx(tmp_path):
    path = write(tmp_path / "export.xlsx", b"id,going_missing\n1,yes\n")
    with pytest.raises(DataError, match="text file with an Excel") as exc:
        read_table(path)
    assert exc.value.exit_code == 2
    assert "rename it to .csv" in one_line_error(exc)


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_corrupt_xlsx(tmp_path, engine):
    good = xlsx(tmp_path / "good.xlsx", [["id"], [1]]).read_bytes()
    path = write(tmp_path / "broken.xlsx", good[: len(good) // 2])  # a half-copied workbook
    with pytest.raises(DataError, match="cannot be read as an Excel workbook") as exc:
        read_table(path, engine=engine)
    assert exc.value.exit_code == 2
    one_line_error(exc)


def test_xlsx_saved_as_csv(tmp_path):
    data = xlsx(tmp_path / "real.xlsx", [["id"], [1]]).read_bytes()
    with pytest.raises(DataError, match="is an Excel workbook") as exc:
        read_table(write(tmp_path / "export.csv", data))
    assert "rename it to .xlsx" in one_line_error(exc)


def test_binary_file_as_csv(tmp_path):
    with pytest.raises(DataError, match="not a text file"):
        read_table(write(tmp_path / "odd.csv", b"id,x\n\x00\x01\x02\x00\x00"))


@pytest.mark.parametrize("sheet", ["Nope", 5])
@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_unknown_sheet_lists_the_sheets(tmp_path, sheet, engine):
    path = xlsx(tmp_path / "book.xlsx", [["id"], [1]], sheets={"Follow-up": [["id"], [2]]})
    with pytest.raises(DataError) as exc:
        read_table(path, sheet=sheet, engine=engine)
    message = one_line_error(exc)
    assert '"Assessments", "Follow-up"' in message
    assert exc.value.exit_code == 2


def test_sheet_by_name_and_position(tmp_path):
    path = xlsx(tmp_path / "book.xlsx", [["id"], [1]], sheets={"Follow-up": [["id"], [2], [3]]})
    assert len(read_table(path, sheet="Follow-up")) == 2
    assert len(read_table(path, sheet=1)) == 2
    assert meta(read_table(path, sheet=" follow-UP"))["sheet"] == "Follow-up"
    first = read_table(path)
    assert meta(first)["sheet"] == "Assessments"
    assert "the workbook has 2 sheets" in notes(first)


@pytest.mark.parametrize("suffix", [".doc", ".docx", ".pdf", ".sav"])
def test_unsupported_extension(tmp_path, suffix):
    path = write(tmp_path / f"export{suffix}", b"whatever")
    with pytest.raises(DataError, match="cannot be read as a table") as exc:
        read_table(path)
    assert "export the table as CSV (.csv) or Excel (.xlsx)" in one_line_error(exc)
    assert exc.value.exit_code == 2


@pytest.mark.parametrize("header", [0, -1, "first", 1.5, True])
def test_bad_header_argument(tmp_path, header):
    path = write(tmp_path / "a.csv", b"id\n1\n")
    with pytest.raises(DataError, match="header must be 'auto' or a row number"):
        read_table(path, header=header)


def test_header_beyond_the_file(tmp_path):
    path = write(tmp_path / "a.csv", b"id\n1\n")
    with pytest.raises(DataError, match="has no row 9"):
        read_table(path, header=9)
    with pytest.raises(DataError, match="row 3 is blank"):
        read_table(write(tmp_path / "b.csv", b"id\n1\n\nx\n"), header=3)


# ---------------------------------------------------------------------------
# ragged rows and quotes


def test_ragged_row_names_the_row_and_counts(tmp_path):
    data = f"person_id,going_missing\nYP-A,yes\nYP-B,no,{SECRET}\nYP-C,no\nYP-D,1,2,3\n".encode()
    with pytest.raises(DataError) as exc:
        read_table(write(tmp_path / "ragged.csv", data))
    message = one_line_error(exc)
    assert "row 3 has 3 values but the header (row 1) has 2 columns" in message
    assert "rows 3 and 5" in message
    assert exc.value.problems == ["row 3: 3 values, expected 2", "row 5: 4 values, expected 2"]
    assert exc.value.exit_code == 2


def test_ragged_first_data_row_is_not_read_as_an_index(tmp_path):
    # pandas would silently take the first column as the index here
    data = b'id,going_missing\n1, "yes,no"\n2,no\n'
    with pytest.raises(DataError, match="row 2 has 3 values"):
        read_table(write(tmp_path / "ragged.csv", data))


def test_ragged_row_below_title_rows(tmp_path):
    data = b"Export\n\nid,x\n1,2\n3,4,5\n"
    with pytest.raises(DataError, match=r"row 5 has 3 values but the header \(row 3\) has 2 columns"):
        read_table(write(tmp_path / "ragged.csv", data))


def test_unclosed_quote(tmp_path):
    data = f'id,note\n1,fine\n2,"{SECRET}\n3,x\n'.encode()
    with pytest.raises(DataError, match="row 3: a value opens a double quote") as exc:
        read_table(write(tmp_path / "quote.csv", data))
    one_line_error(exc)


def test_quoted_delimiters_and_line_breaks(tmp_path):
    data = b'id,note,score\n1,"a, b; c",2\n2,"line one\nline two",3\n3,"say ""hi""",4\n'
    table = read_table(write(tmp_path / "quoted.csv", data))
    assert meta(table)["delimiter"] == ","
    assert table["note"].tolist() == ["a, b; c", "line one\nline two", 'say "hi"']
    # a quoted line break keeps one spreadsheet row (as Excel shows it)
    assert table.index.tolist() == [2, 3, 4]
    assert "line break is inside quoted values (the first in row 3)" in notes(table)


def test_quoted_semicolons_in_semicolon_file(tmp_path):
    data = b'id;note;score\n1;"a; b";2,5\n2;"c, d";3,0\n'
    table = read_table(write(tmp_path / "semi.csv", data))
    assert meta(table)["delimiter"] == ";"
    assert table["note"].tolist() == ["a; b", "c, d"]
    assert table["score"].tolist() == ["2,5", "3,0"]


# ---------------------------------------------------------------------------
# delimiters


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_any_delimiter(tmp_path, delimiter):
    rows = [["person_id", "going_missing", "age"], ["YP-A", "yes", "15"], ["YP-B", "no", "16"]]
    data = "\n".join(delimiter.join(r) for r in rows).encode()
    table = read_table(write(tmp_path / "t.csv", data))
    assert meta(table)["delimiter"] == delimiter
    assert list(table.columns) == rows[0]
    assert table["age"].tolist() == ["15", "16"]


def test_wrong_delimiter_semicolon_with_decimal_commas(tmp_path):
    # split on commas, the header has one column and data rows two: a comma sniffer gets this wrong
    data = b"person_id;score;age\nYP-A;2,5;15,5\nYP-B;3,0;16\nYP-C;1,25;14\n"
    table = read_table(write(tmp_path / "european.csv", data))
    assert meta(table)["delimiter"] == ";"
    assert table.shape == (3, 3)
    assert table["score"].tolist() == ["2,5", "3,0", "1,25"]
    assert "semicolon-separated" in meta(table)["notes"][0]


def test_wrong_delimiter_tab_in_csv(tmp_path):
    data = b"person_id\tnote\nYP-A\tfine, thanks\nYP-B\tok\n"
    table = read_table(write(tmp_path / "tabs.csv", data))
    assert meta(table)["delimiter"] == "\t"
    assert table["note"].tolist() == ["fine, thanks", "ok"]


def test_excel_sep_line(tmp_path):
    table = read_table(write(tmp_path / "sep.csv", b"sep=;\nid;x\n1;2,5\n"))
    assert meta(table)["delimiter"] == ";"
    assert meta(table)["header_row"] == 2
    assert table.index.tolist() == [3]
    assert "sets the delimiter" in notes(table)


def test_single_column(tmp_path):
    table = read_table(write(tmp_path / "one.csv", b"person_id\nYP-A\nYP-B\n"))
    assert table.shape == (2, 1)


# ---------------------------------------------------------------------------
# encodings


def test_utf8_bom(tmp_path):
    data = "person_id,name\nYP-A,Zoë\n".encode("utf-8-sig")
    table = read_table(write(tmp_path / "bom.csv", data))
    assert list(table.columns) == ["person_id", "name"]  # no '\ufeffperson_id'
    assert meta(table)["encoding"] == "utf-8-sig"
    assert table["name"].tolist() == ["Zoë"]


def test_windows_1252(tmp_path):
    data = "person_id;place;fee\nYP-A;café;£5\nYP-B;naïve;€3\n".encode("cp1252")
    table = read_table(write(tmp_path / "cp.csv", data))
    assert meta(table)["encoding"] == "cp1252"
    assert table["place"].tolist() == ["café", "naïve"]
    assert table["fee"].tolist() == ["£5", "€3"]
    assert "the file is not UTF-8; it was read as Windows-1252 (Western European)" in meta(table)["notes"]


def test_mixed_encodings(tmp_path):
    # two exports concatenated: one saved as UTF-8, one as Windows-1252
    data = ("person_id,place\nYP-A,café\n".encode() + "YP-B,café\nYP-C,£\n".encode("cp1252")
            + "YP-D,Zoë\n".encode())
    table = read_table(write(tmp_path / "mixed.csv", data))
    assert table["place"].tolist() == ["café", "café", "£", "Zoë"]
    assert meta(table)["encoding"] == "mixed: utf-8 with 2 lines of cp1252"
    assert "lines 3-4 are not UTF-8 and were read as Windows-1252" in notes(table)


def test_bytes_undefined_in_cp1252(tmp_path):
    data = b"id,x\n1,a\x81b\x9d\n"
    table = read_table(write(tmp_path / "odd.csv", data))
    assert table["x"].tolist() == ["a\x81b\x9d"]


def test_utf16_with_bom(tmp_path):
    # Excel's "Unicode text" export: UTF-16 with a BOM, tab-separated
    data = "person_id\tplace\nYP-A\tcafé\n".encode("utf-16")
    table = read_table(write(tmp_path / "unicode.txt", data))
    assert meta(table)["encoding"] == "utf-16"
    assert table["place"].tolist() == ["café"]


# ---------------------------------------------------------------------------
# values: text preserved, nothing lost


def test_numbers_stored_as_text_are_preserved_csv(tmp_path):
    data = b"person_id,code,score,flag\n007,0012,1.50,NA\n008,1e3,-0,N/A\n"
    table = read_table(write(tmp_path / "codes.csv", data))
    assert table["person_id"].tolist() == ["007", "008"]
    assert table["code"].tolist() == ["0012", "1e3"]
    assert table["score"].tolist() == ["1.50", "-0"]
    assert table["flag"].tolist() == ["NA", "N/A"]


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_numbers_stored_as_text_are_preserved_xlsx(tmp_path, engine):
    path = xlsx(tmp_path / "codes.xlsx", [["person_id", "age", "score"], ["007", 15, 1.5], ["0012", 16.0, "NA"]])
    table = read_table(path, engine=engine)
    assert table["person_id"].tolist() == ["007", "0012"]
    assert table["age"].tolist() == [15, 16]
    assert table["score"].tolist() == [1.5, "NA"]


def test_blank_cells_are_missing_and_spaces_count_as_blank(tmp_path):
    data = b"id,x,y\n1,,  \n2,\t,b\n"
    table = read_table(write(tmp_path / "blank.csv", data))
    assert table["x"].isna().all()
    assert table["y"].isna().tolist() == [True, False]
    assert "2 cells holding only spaces were read as blank" in notes(table)


def test_trailing_blank_rows(tmp_path):
    data = b"id,x\n1,a\n2,b\n\n,\n  ,  \n\n"
    table = read_table(write(tmp_path / "trail.csv", data))
    assert table.index.tolist() == [2, 3]
    assert "4 blank rows at the end were ignored" in meta(table)["notes"]


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_trailing_blank_rows_xlsx(tmp_path, engine):
    rows = [["id", "x"], [1, "a"], [None, None], [2, "b"], [None, None], [None, "   "]]
    table = read_table(xlsx(tmp_path / "trail.xlsx", rows), engine=engine)
    assert table.index.tolist() == [2, 4]
    assert "row 3 was blank and was ignored" in meta(table)["notes"]
    assert "2 blank rows at the end were ignored" in meta(table)["notes"]


def test_spreadsheet_rows_exact_after_title_and_blank_rows_csv(tmp_path):
    data = (b"Assessments export\nService: North\n\nperson_id,going_missing,age\n"
            b"YP-A,yes,15\n\nYP-B,no,16\n,,\nYP-C,unknown,17\n\n")
    table = read_table(write(tmp_path / "titles.csv", data))
    assert meta(table)["header_row"] == 4
    assert table.index.tolist() == [5, 7, 9]
    assert table["person_id"].tolist() == ["YP-A", "YP-B", "YP-C"]
    assert meta(table)["notes"][:3] == [
        "Read 3 rows (header on row 4; comma-separated; UTF-8).",
        "rows 1-2 above the header were ignored (titles, not part of the table)",
        "rows 6 and 8 were blank and were ignored",
    ]
    assert "1 blank row at the end was ignored" in meta(table)["notes"]
    # the line numbers a text editor shows
    lines = data.decode().splitlines()
    for row, person in zip(table.index, table["person_id"], strict=True):
        assert lines[row - 1].startswith(person)


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_spreadsheet_rows_exact_after_title_rows_xlsx(tmp_path, engine):
    rows = [
        ["North service: CSE risk assessments", None, None],
        [None, None, None],
        ["Exported 2024-03-01", None, None],
        ["person_id", "going_missing", "age"],
        ["YP-A", "yes", 15],
        [None, None, None],
        ["YP-B", "no", 16],
    ]
    table = read_table(xlsx(tmp_path / "titles.xlsx", rows, merges=("A1:C1",)), engine=engine)
    assert meta(table)["header_row"] == 4
    assert table.index.tolist() == [5, 7]
    assert table["age"].tolist() == [15, 16]
    assert meta(table)["notes"][0] == 'Read 2 rows (sheet "Assessments"; header on row 4).'
    assert "rows 1 and 3 above the header were ignored (titles, not part of the table)" in meta(table)["notes"]
    assert meta(table)["engine"] == engine


def test_explicit_header_row(tmp_path):
    # a two-column title row would pass for a header; the user says where the header is
    data = b"Service,North\nid,x\n1,2\n"
    auto = read_table(write(tmp_path / "a.csv", data))
    assert meta(auto)["header_row"] == 1
    chosen = read_table(tmp_path / "a.csv", header=2)
    assert list(chosen.columns) == ["id", "x"]
    assert chosen.index.tolist() == [3]
    assert "row 1 above the header was ignored" in notes(chosen)


def test_dense_numeric_row_above_header_is_skipped_and_reported(tmp_path):
    data = b"1,2,3\nperson_id,going_missing,age\nYP-A,yes,15\n"
    table = read_table(write(tmp_path / "numbered.csv", data))
    assert meta(table)["header_row"] == 2
    assert "row 1 above the header was ignored" in notes(table)


def test_headerless_numeric_table_loses_no_rows(tmp_path):
    data = b"1,2,3\n4,5,6\n7,8,9\n10,11,a\n"
    table = read_table(write(tmp_path / "numbers.csv", data))
    assert meta(table)["header_row"] == 1
    assert len(table) == 3


def test_duplicate_and_empty_header_cells(tmp_path):
    data = b"person_id,age,age,,age,\nYP-A,15,16,x,17,\n"
    table = read_table(write(tmp_path / "dups.csv", data))
    assert list(table.columns) == ["person_id", "age", "age (2)", "column_4", "age (3)"]
    text = notes(table)
    assert 'the header "age" appears 3 times; the later copies were renamed "age (2)", "age (3)"' in text
    assert 'column 4 has no header and was named "column_4"' in text
    assert "column 6 has neither a header nor any values and was ignored" in text
    assert table.iloc[0].tolist() == ["YP-A", "15", "16", "x", "17"]


def test_header_whitespace_and_line_breaks_collapse(tmp_path):
    path = xlsx(tmp_path / "h.xlsx", [["  person id ", "Going\nmissing"], ["YP-A", "yes"]])
    assert list(read_table(path).columns) == ["person id", "Going missing"]


# ---------------------------------------------------------------------------
# Excel: merged header cells, engines


GROUPED = [
    ["CSE risk assessments", None, None, None, None, None],
    [None, None, "Moderate indicators", None, "Significant indicators", None],
    ["person_id", "age", "Going missing", "Older associates", "Disclosure", "Exchange for sex"],
    ["YP-A", 15, "yes", "no", "no", "unknown"],
    ["YP-B", 16, "no", "no", "yes", "no"],
]


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_merged_group_titles_above_the_header(tmp_path, engine):
    path = xlsx(tmp_path / "grouped.xlsx", GROUPED, merges=("A1:F1", "C2:D2", "E2:F2"))
    table = read_table(path, engine=engine)
    assert list(table.columns) == ["person_id", "age", "Going missing", "Older associates", "Disclosure",
                                   "Exchange for sex"]
    assert not any(str(c).startswith(("Unnamed", "column_")) for c in table.columns)
    assert table.index.tolist() == [4, 5]
    assert meta(table)["header_row"] == 3
    text = notes(table)
    assert "merged header cells in row 2 were filled in" in text
    assert "row 1 above the header was ignored" in text


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_dense_merged_header_row_with_sub_headers(tmp_path, engine):
    # person_id and age merged down over two rows; each indicator has a "present" and a "months ago" column
    rows = [
        ["person_id", "age", "Going missing", None, "Older associates", None],
        [None, None, "present", "months ago", "present", "months ago"],
        ["YP-A", 15, "yes", 2, "no", None],
        ["YP-B", 16, "no", None, "yes", 0],
        ["YP-C", 17, "yes", 5, "yes", 1],
    ]
    path = xlsx(tmp_path / "twolevel.xlsx", rows, merges=("A1:A2", "B1:B2", "C1:D1", "E1:F1"))
    table = read_table(path, engine=engine)
    assert list(table.columns) == ["person_id", "age", "Going missing present", "Going missing months ago",
                                   "Older associates present", "Older associates months ago"]
    assert meta(table)["header_row"] == 2
    assert table.index.tolist() == [3, 4, 5]
    assert "the header spans rows 1-2" in notes(table)


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_header_cell_merged_across_two_columns(tmp_path, engine):
    # one header over two data columns, and data rows right below: no data row becomes a header
    rows = [
        ["person_id", "going_missing", "notes", None],
        ["YP-A", "yes", "a", "b"],
        ["YP-B", "no", "a", "c"],
        ["YP-C", "yes", "a", "b"],
    ]
    table = read_table(xlsx(tmp_path / "wide_header.xlsx", rows, merges=("C1:D1",)), engine=engine)
    assert list(table.columns) == ["person_id", "going_missing", "notes", "notes (2)"]
    assert table.index.tolist() == [2, 3, 4]
    assert "merged header cells in row 1 were filled in" in notes(table)


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_merged_cells_below_the_header_are_filled(tmp_path, engine):
    rows = [["person_id", "occasion"], ["YP-A", 0], [None, 1], [None, 2], ["YP-B", 0]]
    table = read_table(xlsx(tmp_path / "m.xlsx", rows, merges=("A2:A4",)), engine=engine)
    assert table["person_id"].tolist() == ["YP-A", "YP-A", "YP-A", "YP-B"]
    assert "1 merged cell range below the header was filled in" in notes(table)


def test_calamine_and_openpyxl_give_the_same_frame(tmp_path):
    rows = [
        ["North service", None, None, None, None, None, None, None],
        [None, None, "Indicators", None, None, None, None, None],
        ["person_id", "date", "going_missing", "score", "flag", "time", "empty", None],
        ["007", dt.date(2024, 1, 2), "yes", 1.5, True, dt.time(13, 30), None, None],
        ["0012", dt.datetime(2024, 2, 3, 10, 15), "NA", 2, False, None, None, "stray"],
        [None, None, None, None, None, None, None, None],
        ["YP-C", dt.datetime(2024, 3, 4), "#N/A", 3.0, None, None, "  ", None],
    ]
    path = xlsx(tmp_path / "both.xlsx", rows, merges=("C2:E2",))
    fast = read_table(path, engine="calamine")
    slow = read_table(path, engine="openpyxl")
    pd.testing.assert_frame_equal(fast, slow)
    assert fast.columns.tolist() == ["person_id", "date", "going_missing", "score", "flag", "time", "empty",
                                     "column_8"]
    assert fast.index.tolist() == [4, 5, 7]
    assert fast["date"].tolist() == [pd.Timestamp(2024, 1, 2), pd.Timestamp(2024, 2, 3, 10, 15),
                                     pd.Timestamp(2024, 3, 4)]
    assert fast["score"].tolist() == [1.5, 2, 3]
    assert fast["going_missing"].isna().tolist() == [False, False, True]  # an Excel error is a blank


def test_default_engine_is_calamine_when_installed(tmp_path):
    table = read_table(xlsx(tmp_path / "e.xlsx", [["id"], [1]]))
    assert meta(table)["engine"] == "calamine"


def test_default_engine_falls_back_to_openpyxl(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_calamine(name, *args, **kwargs):
        if name == "python_calamine":
            raise ImportError("no calamine", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_calamine)
    table = read_table(xlsx(tmp_path / "e.xlsx", [["id"], [1]]))
    assert meta(table)["engine"] == "openpyxl"


# ---------------------------------------------------------------------------
# Parquet, attrs, round trip with write_table


def test_parquet(tmp_path):
    frame = pd.DataFrame({"person_id": ["007", None, "YP-B", " "], "age": [15.5, None, 16.0, None]})
    frame.to_parquet(tmp_path / "t.parquet", engine="pyarrow")
    table = read_table(tmp_path / "t.parquet")
    assert meta(table)["format"] == "parquet"
    assert meta(table)["header_row"] == 1
    assert table.index.tolist() == [2, 4]
    assert table["person_id"].tolist() == ["007", "YP-B"]
    assert "row 3 was blank and was ignored" in notes(table)


def test_parquet_index_is_kept_as_a_column(tmp_path):
    frame = pd.DataFrame({"age": [15, 16]}, index=pd.Index(["YP-A", "YP-B"], name="person_id"))
    frame.to_parquet(tmp_path / "t.parquet")
    table = read_table(tmp_path / "t.parquet")
    assert table["person_id"].tolist() == ["YP-A", "YP-B"]


def test_corrupt_parquet(tmp_path):
    with pytest.raises(DataError, match="cannot be read as a Parquet file") as exc:
        read_table(write(tmp_path / "t.parquet", b"PAR1 not really"))
    assert exc.value.exit_code == 2


def test_attrs(tmp_path):
    table = read_table(write(tmp_path / "a.csv", b"id,x\n1,2\n"))
    info = meta(table)
    assert info["source"] == "a.csv"
    assert info["format"] == "csv"
    assert info["encoding"] == "utf-8"
    assert info["delimiter"] == ","
    assert info["header_row"] == 1
    assert info["notes"] == ["Read 1 row (header on row 1; comma-separated; UTF-8)."]
    assert table.index.name == "spreadsheet_row"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet", ".tsv"])
def test_write_then_read(tmp_path, suffix):
    frame = pd.DataFrame({"person_id": ["007", "YP-B"], "going_missing": ["yes", None]})
    table = read_table(write_table(frame, tmp_path / f"out{suffix}"))
    assert table["person_id"].tolist() == ["007", "YP-B"]
    assert table["going_missing"].isna().tolist() == [False, True]
    assert table.index.tolist() == [2, 3]


# ---------------------------------------------------------------------------
# one million rows


def test_one_million_rows(tmp_path):
    n, width, block = 1_000_000, 25, 10_000
    rng = np.random.default_rng(0)
    cells = np.array(["yes", "no", "unknown", "", "007", "2.5"], dtype=object)
    columns = [np.char.add("YP-", np.arange(block).astype(str)).astype(object)]
    columns += [cells[rng.integers(0, len(cells), block)] for _ in range(width - 1)]
    rows = "".join(",".join(row) + "\n" for row in zip(*columns, strict=True))
    header = ",".join(["person_id"] + [f"item_{i}" for i in range(1, width)]) + "\n"
    path = write(tmp_path / "big.csv", (header + rows * (n // block)).encode())

    start = time.perf_counter()
    table = read_table(path)
    seconds = time.perf_counter() - start
    print(f"read 1,000,000 x 25 CSV ({path.stat().st_size / 1e6:.0f} MB) in {seconds:.1f} s")
    assert table.shape == (n, width)
    assert table.index[0] == 2 and table.index[-1] == n + 1
    assert table["person_id"].iloc[-1] == f"YP-{block - 1}"
    assert (table["item_1"] == "007").sum() == (columns[1] == "007").sum() * (n // block)
    assert table["item_1"].isna().sum() == (columns[1] == "").sum() * (n // block)
    assert meta(table)["notes"] == ["Read 1,000,000 rows (header on row 1; comma-separated; UTF-8)."]
    assert seconds < 30


# ---------------------------------------------------------------------------
# generated tables never raise anything but DataError, and never lose a row


TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Co"), include_characters="\n\t,;|\"' "),
    max_size=12,
).filter(lambda s: not s.startswith("=") and s.strip() not in ("#N/A", "#NULL!", "#DIV/0!", "#VALUE!", "#REF!",
                                                                "#NAME?", "#NUM!"))
CELL = st.one_of(
    st.none(),
    TEXT,
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 1, 1)),
    st.sampled_from(["007", "NA", "yes", "no", " ", "1,5"]),
)
NAMES = st.lists(st.from_regex(r"[A-Za-z][A-Za-z0-9_ ]{0,10}[A-Za-z0-9]", fullmatch=True), min_size=1,
                 max_size=6, unique_by=lambda s: " ".join(s.split()))


@st.composite
def tables(draw):
    names = draw(NAMES)
    rows = draw(st.lists(st.lists(CELL, min_size=len(names), max_size=len(names)), max_size=15))
    return names, rows


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def as_text(value) -> str:
    return "" if value is None else str(value)


PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@PROPERTY
@given(table=tables(), quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig"]), newline=st.sampled_from(["\n", "\r\n"]))
def test_generated_csv_tables(tmp_path, table, quoting, encoding, newline):
    names, rows = table
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=quoting if len(names) > 1 else csv.QUOTE_ALL, lineterminator=newline)
    writer.writerow(names)
    writer.writerows([[as_text(v) for v in row] for row in rows])
    path = write(tmp_path / "generated.csv", buffer.getvalue().encode(encoding))
    try:
        result = read_table(path)
    except DataError:
        return  # a clear, one-line error is an acceptable outcome; anything else fails the test
    expected = [row for row in rows if not all(is_blank(v) for v in row)]
    assert len(result) == len(expected)
    assert list(result.columns) == [" ".join(n.split()) for n in names]
    got = result.fillna("").astype(object).to_numpy().tolist()
    want = [["" if is_blank(v) else as_text(v) for v in row] for row in expected]
    assert got == want  # every value comes back as written
    kept = [i + 2 for i, row in enumerate(rows) if not all(is_blank(v) for v in row)]
    assert result.index.tolist() == kept


@PROPERTY
@given(table=tables())
def test_generated_xlsx_tables(tmp_path, table):
    names, rows = table
    path = tmp_path / "generated.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(names)
    for row in rows:
        ws.append(row)
    wb.save(path)
    expected = [i + 2 for i, row in enumerate(rows) if not all(is_blank(v) for v in row)]
    frames = []
    for engine in ("calamine", "openpyxl"):
        try:
            result = read_table(path, engine=engine)
        except DataError:
            continue
        assert result.index.tolist() == expected
        frames.append(result)
    if len(frames) == 2:
        pd.testing.assert_frame_equal(frames[0], frames[1])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from([",", ";", "\t", "|", '"', "\n", "\r\n", "\r", " ", "a", "1", "é", "sep=;", "\x00"]),
             max_size=80).map(lambda parts: "".join(parts).encode())),
    suffix=st.sampled_from([".csv", ".xlsx", ".parquet"]), header=st.sampled_from(["auto", 1, 2]))
def test_arbitrary_bytes_give_a_table_or_a_data_error(tmp_path, data, suffix, header):
    path = write(tmp_path / f"fuzz{suffix}", data)
    try:
        table = read_table(path, header=header)
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    assert table.index.name == "spreadsheet_row"
    assert table.index.is_unique and table.index.is_monotonic_increasing
    assert not table.isna().all(axis=1).any()  # blank rows are dropped, and only they
    assert meta(table)["notes"][0].startswith("Read ")
