"""``cseoutcomes.validate`` and its ``ValidationReport``.

The report's API and renderings; the promise that no row is lost (a property
over generated, messy tables, with plain and spreadsheet-numbered indexes);
privacy canaries; the data lead's user story; the command line.
"""

from __future__ import annotations

import json
import logging
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cseoutcomes as co
from cseoutcomes.data import ValidationReport, load_example, read_table, validate
from cseoutcomes.data.rules import RULES
from cseoutcomes.testing import generate_responses

TODAY = "2020-01-01"
CSE = co.get_instrument("cse-risk-indicators")
ITEMS = [i.id for i in CSE.items]
ISSUE_COLUMNS = ["row", "column", "rule", "severity", "message"]
PROPERTY = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


def example() -> pd.DataFrame:
    return load_example().reset_index(drop=True).astype(object)


def run(table, instrument=CSE, **settings_) -> ValidationReport:
    settings_.setdefault("today", TODAY)
    return validate(table, instrument, **settings_)


def messy_example() -> pd.DataFrame:
    """The example with one problem of each common kind, at known positions."""
    t = example()
    t.loc[1, "going_missing"] = "yes - twice"  # invalid-category (row 3)
    t.loc[2, "self_harm"] = None  # blank-answer (row 4, warning)
    t.loc[4, "assessment_date"] = "32/13/2015"  # unparseable-date (row 6)
    t.loc[6, "assessment_date"] = "2031-01-01"  # future-date (row 8)
    t = pd.concat([t, t.iloc[[10]]], ignore_index=True)  # duplicate-assessment (row 20 repeats row 12)
    return t


def row_numbers(table: pd.DataFrame) -> list[int]:
    """Each row's number as the user sees it in the spreadsheet."""
    if table.index.name == "spreadsheet_row":
        return [int(i) for i in table.index]
    return list(range(2, len(table) + 2))


# ---------------------------------------------------------------------------
# the report's API


def test_validate_is_part_of_the_public_api():
    assert co.validate is validate
    assert co.ValidationReport is ValidationReport


def test_clean_example_is_ok():
    report = run(example())
    assert report.ok
    assert report.errors.empty
    assert len(report.valid) == 18 and report.quarantined.empty
    assert repr(report).startswith("<ValidationReport cse-risk-indicators")


def test_issues_columns_and_dtypes():
    report = run(messy_example())
    issues = report.issues
    assert list(issues.columns) == ISSUE_COLUMNS
    assert issues["row"].dtype == "Int64"
    assert isinstance(issues["rule"].dtype, pd.CategoricalDtype)
    assert set(issues["rule"].cat.categories) == set(RULES)
    assert isinstance(issues["severity"].dtype, pd.CategoricalDtype)
    assert set(issues["severity"].astype(str)) <= {"error", "warning"}
    assert all(isinstance(m, str) and m for m in issues["message"])
    # rows are spreadsheet rows: the header is row 1, the first data row is row 2
    assert set(issues["row"].dropna()) <= set(range(2, len(messy_example()) + 2))
    # the empty report has the same columns and dtypes
    empty = run(example(), disable=("override-applied",)).issues
    assert empty.empty
    assert list(empty.columns) == ISSUE_COLUMNS
    assert empty["row"].dtype == "Int64"


def test_messy_example_issues_land_on_their_rows():
    report = run(messy_example())
    found = {(r.rule, int(r.row), r.column) for r in report.issues.itertuples() if r.rule != "override-applied"}
    assert found == {
        ("invalid-category", 3, "going_missing"),
        ("blank-answer", 4, "self_harm"),
        ("unparseable-date", 6, "assessment_date"),
        ("future-date", 8, "assessment_date"),
        ("duplicate-assessment", 20, "assessment_date"),
    }
    assert not report.ok
    assert list(report.quarantined.index) == [1, 4, 6, 18]
    assert len(report.valid) == 15
    # issues are listed in row order
    assert report.issues["row"].dropna().is_monotonic_increasing


def test_summary_counts_by_rule():
    report = run(messy_example())
    summary = report.summary()
    assert {"rule", "severity", "issues", "rows"} <= set(summary.columns)
    counts = report.issues["rule"].astype(str).value_counts()
    assert dict(zip(summary["rule"], summary["issues"], strict=True)) == counts.to_dict()
    assert summary["issues"].sum() == len(report.issues)
    severities = dict(zip(summary["rule"], summary["severity"], strict=True))
    assert severities["invalid-category"] == "error" and severities["blank-answer"] == "warning"
    # errors come first
    order = summary["severity"].map({"error": 0, "warning": 1}).tolist()
    assert order == sorted(order)
    # an empty report has an empty summary
    assert run(example(), disable=("override-applied",)).summary().empty


def test_to_json_parses_and_has_every_issue(tmp_path):
    report = run(messy_example())
    data = json.loads(report.to_json())
    assert data["ok"] is False
    assert data["rows"] == len(messy_example()) == data["valid_rows"] + data["quarantined_rows"]
    assert len(data["issues"]) == len(report.issues)
    for got, want in zip(data["issues"], report.issues.itertuples(), strict=True):
        assert set(ISSUE_COLUMNS) <= set(got)
        assert got["rule"] == want.rule and got["severity"] == want.severity and got["message"] == want.message
        assert got["row"] == (None if pd.isna(want.row) else int(want.row))
    assert {s["rule"] for s in data["summary"]} == set(report.issues["rule"].astype(str))
    path = tmp_path / "report.json"
    text = report.to_json(str(path))
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text)


def test_to_json_of_a_table_level_problem_has_null_row():
    report = run(example().drop(columns=["going_missing"]))
    data = json.loads(report.to_json())
    table_level = [i for i in data["issues"] if i["rule"] == "required-column"]
    assert table_level and all(i["row"] is None for i in table_level)


def assert_self_contained(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<link" not in lowered
    assert "<iframe" not in lowered
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", lowered)
    assert "@import" not in lowered
    assert not re.search(r"url\(\s*['\"]?\s*(https?:|//)", lowered)


def test_to_html_is_one_self_contained_page(tmp_path):
    report = run(messy_example())
    html = report.to_html()
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert html.rstrip().lower().endswith("</html>")
    assert '<meta charset="utf-8">' in html.lower()
    assert_self_contained(html)
    # every issue is shown (the table is small)
    for r in report.issues.itertuples():
        assert r.rule in html
    assert "yes - twice" in html
    path = tmp_path / "report.html"
    assert report.to_html(str(path)) == path.read_text(encoding="utf-8")
    assert_self_contained(report._repr_html_())


def test_to_html_escapes_html_in_messages():
    t = example()
    t.loc[3, "going_missing"] = "<b>x</b>"
    t.loc[4, "self_harm"] = '<img src="http://example.org/x.png" onerror="alert(1)">'
    report = run(t)
    assert "'<b>x</b>'" in report.issues["message"].str.cat()  # the message itself is plain text
    html = report.to_html()
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<img" not in html
    assert_self_contained(html)
    assert "<b>x</b>" not in report._repr_html_()


def test_headline_and_repr_count_errors_and_warnings():
    report = run(messy_example())
    n_err, n_warn = len(report.errors), len(report.warnings)
    assert n_err + n_warn == len(report.issues)
    head = " ".join(report.headline())
    assert f"{n_err} errors" in head and "4 rows quarantined" in head and "15 valid" in head
    assert f"{n_err:,} errors" in repr(report) and f"{n_warn:,} warnings" in repr(report)


def test_valid_and_quarantined_keep_the_input_index_and_values():
    t = messy_example()
    t.index = pd.Index(range(100, 100 + len(t)))
    report = run(t)
    together = pd.concat([report.valid, report.quarantined]).loc[t.index]
    pd.testing.assert_frame_equal(together, t)


def test_validate_does_not_change_its_input():
    t = messy_example()
    before = t.copy()
    run(t)
    pd.testing.assert_frame_equal(t, before)


def test_validate_reads_a_path(tmp_path):
    pytest.importorskip("cseoutcomes.data.layout")
    path = tmp_path / "export.csv"
    messy_example().to_csv(path, index=False)
    report = run(path)
    assert not report.ok
    assert len(report.valid) + len(report.quarantined) == len(messy_example())
    assert set(report.issues.query("rule == 'invalid-category'")["row"]) == {3}


def test_validate_rejects_what_is_not_a_table():
    with pytest.raises(TypeError):
        run([{"person_id": "a"}])


def test_instrument_by_id_or_object():
    assert run(example(), "cse-risk-indicators").issues.equals(run(example(), CSE).issues)
    with pytest.raises(co.UnknownInstrumentError):
        run(example(), "cse-risk-indicatorz")


# ---------------------------------------------------------------------------
# the data lead's user story


def test_user_story_invalid_answer_on_spreadsheet_row_57(tmp_path):
    n = 70
    t = generate_responses(CSE, n, seed=57, missing_rate=0.05, blank_rate=0.0).astype(object)
    t.insert(0, "person_id", [f"YP-{i // 2:03d}" for i in range(n)])
    t.insert(1, "occasion", [str(i % 2) for i in range(n)])
    t.insert(2, "assessment_date", ["2015-03-01" if i % 2 == 0 else "2015-09-01" for i in range(n)])
    t.loc[55, "going_missing"] = "yes - twice"  # position 55: row 57 counting the header
    path = tmp_path / "Q3 export.csv"
    t.to_csv(path, index=False)
    for table in (t, read_table(path)):
        report = run(table, disable=("implausible-jump", "override-applied"))
        bad = report.issues[report.issues["rule"] == "invalid-category"]
        assert len(bad) == 1
        issue = bad.iloc[0]
        line = f"row {issue['row']}, column '{issue['column']}': {issue['message']}"
        assert line.startswith("row 57, column 'going_missing': 'yes - twice' is not one of "), line
        listed = set(re.findall(r"[a-z_]+", issue["message"].split("is not one of", 1)[1]))
        assert {"yes", "no", "possible", "unknown"} <= listed
        assert list(report.quarantined.index) == [table.index[55]]
        html = report.to_html()
        assert "57" in html and "going_missing" in html and "&#x27;yes - twice&#x27;" in html


# ---------------------------------------------------------------------------
# no row lost: a property over generated, messy tables

JUNK_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
JUNK = st.one_of(
    st.none(), st.just(np.nan), st.just(pd.NA), st.just(""), st.just("   "), JUNK_TEXT,
    st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.sampled_from(["yes", "no", "possible", "unknown", "not_asked", "YES ", "yes - twice", "n/a", "0", "1",
                     "14,5", "2015-02-30", "31/12/2015", "12/31/2015", "Référral", "日本語", "😀", "\u200b"]),
)
# Dates a real export holds: several forms, some wrong, some outside any plausible range.
DATES = st.one_of(
    st.dates(min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2030-12-31").date())
    .flatmap(lambda d: st.sampled_from([d.isoformat(), d.strftime("%d/%m/%Y"), pd.Timestamp(d),
                                        (pd.Timestamp(d) - pd.Timestamp("1899-12-30")).days, d])),
    st.sampled_from(["", None, np.nan, "not a date", "31/02/2015", "2015-13-01", "yesterday", "٢٠١٥-٠١-٠١",
                     "31/12/9999", "9999-12-31", "0001-01-01", "-5", "1500"]),
    st.integers(0, 99), st.integers(1900, 2100), st.integers(30000, 50000), st.floats(0, 99),
)

OPS = ("invalid", "blank", "duplicate", "bad_date", "junk", "number_in_text", "none")


def base_table(n: int, seed: int) -> pd.DataFrame:
    """A plausible wide export: ``generate_responses`` plus person, occasion, date, worker and notes columns."""
    rng = np.random.default_rng(seed)
    t = generate_responses(CSE, n, seed=seed).astype(object)
    people = rng.integers(0, max(1, n // 3), n)
    t.insert(0, "person_id", [f"P{p:03d}" for p in people])
    occasion = pd.Series(people).groupby(people).cumcount().to_numpy()
    t.insert(1, "occasion", occasion.astype(str).astype(object))
    t.insert(2, "assessment_date", [(pd.Timestamp("2015-01-01") + pd.Timedelta(days=int(90 * o + p))).strftime("%d/%m/%Y")
                                    for o, p in zip(occasion, people, strict=True)])
    t["worker"] = [f"W{w}" for w in rng.integers(1, 4, n)]
    t["notes"] = [None] * n
    return t.astype(object)


@st.composite
def messy_tables(draw, spreadsheet_index: bool) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    t = base_table(n, draw(st.integers(0, 2**16)))
    columns = list(t.columns)
    for _ in range(draw(st.integers(0, 12))):
        op = draw(st.sampled_from(OPS))
        pos = draw(st.integers(0, len(t) - 1))
        if op == "duplicate":
            t = pd.concat([t, t.iloc[[pos]]], ignore_index=True)
            continue
        if op == "invalid":
            col, value = draw(st.sampled_from(ITEMS)), draw(JUNK_TEXT.filter(lambda s: s.strip() != ""))
        elif op == "blank":
            col, value = draw(st.sampled_from(columns)), draw(st.sampled_from([None, "", "  ", np.nan]))
        elif op == "bad_date":
            col, value = "assessment_date", draw(DATES)
        elif op == "number_in_text":
            col = draw(st.sampled_from(["person_id", "worker", "notes", "occasion", "age", *ITEMS[:3]]))
            value = draw(st.one_of(st.integers(-1000, 10**9), st.floats(allow_nan=True, allow_infinity=True)))
        elif op == "none":
            col, value = draw(st.sampled_from(columns)), draw(st.sampled_from([None, np.nan, pd.NA, pd.NaT]))
        else:
            col, value = draw(st.sampled_from([c for c in columns if c != "assessment_date"])), draw(JUNK)
        t.iloc[pos, t.columns.get_loc(col)] = value
    if t["assessment_date"].isna().all():  # see test_all_blank_date_column_is_not_a_crash
        t.iloc[0, t.columns.get_loc("assessment_date")] = "01/01/2015"
    if spreadsheet_index:
        gaps = draw(st.lists(st.integers(1, 4), min_size=len(t), max_size=len(t)))
        t.index = pd.Index(2 + np.cumsum(gaps) - gaps[0], name="spreadsheet_row")
    return t


def assert_no_row_lost(table: pd.DataFrame, report: ValidationReport) -> None:
    valid, quarantined = report.valid, report.quarantined
    assert len(valid) + len(quarantined) == len(table)
    assert set(valid.index).isdisjoint(quarantined.index)
    assert set(valid.index) | set(quarantined.index) == set(table.index)
    position = {label: i for i, label in enumerate(table.index)}
    for part in (valid, quarantined):
        positions = [position[label] for label in part.index]
        assert positions == sorted(positions)  # input order kept
        assert list(part.columns) == list(table.columns)
    # the rows themselves are unchanged
    pd.testing.assert_frame_equal(pd.concat([valid, quarantined]).loc[table.index], table)
    # a row is quarantined exactly when it has an error issue
    number = dict(zip(table.index, row_numbers(table), strict=True))
    issues = report.issues
    row_issues = issues[issues["row"].notna()]
    assert set(row_issues["row"].astype(int)) <= set(number.values())
    error_rows = set(row_issues.loc[row_issues["severity"] == "error", "row"].astype(int))
    assert {number[label] for label in quarantined.index} == error_rows
    assert not error_rows & {number[label] for label in valid.index}
    # rows named in messages ("same person, date as row 12") are rows of the table
    pointing = issues["rule"].isin(["duplicate-assessment", "occasion-order", "implausible-jump"])
    for message in issues.loc[pointing, "message"]:
        for mentioned in re.findall(r"\brow (\d+)\b", message):
            assert int(mentioned) in number.values(), message
    assert report.ok is (not (issues["severity"] == "error").any())
    # the renderings never fail
    json.loads(report.to_json())
    assert_self_contained(report.to_html())
    report.summary()


@PROPERTY
@given(table=messy_tables(spreadsheet_index=False))
def test_no_row_lost_on_generated_tables(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = run(table)
    assert_no_row_lost(table, report)


@PROPERTY
@given(table=messy_tables(spreadsheet_index=True))
def test_no_row_lost_with_spreadsheet_row_index(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = run(table)
    assert_no_row_lost(table, report)
    # issues name the spreadsheet's own row numbers, not positions
    assert set(report.issues["row"].dropna().astype(int)) <= set(table.index)


def test_spreadsheet_row_index_with_gaps_is_reported_as_is():
    t = messy_example()
    rows = [3, 4, 7, *range(9, 9 + len(t) - 3)]
    t.index = pd.Index(rows, name="spreadsheet_row")
    report = run(t)
    found = {(r.rule, int(r.row)) for r in report.issues.itertuples() if r.rule != "override-applied"}
    assert found == {("invalid-category", 4), ("blank-answer", 7), ("unparseable-date", rows[4]),
                     ("future-date", rows[6]), ("duplicate-assessment", rows[18])}
    duplicate = report.issues.query("rule == 'duplicate-assessment'")["message"].iloc[0]
    assert f"row {rows[10]}" in duplicate
    assert list(report.quarantined.index) == [4, rows[4], rows[6], rows[18]]
    assert_no_row_lost(t, report)


@pytest.mark.parametrize("junk", [[1, 2], {"a": 1}, {1, 2}, b"bytes", 3 + 4j, object(),
                                  pd.Timestamp("2015-01-01"), pd.Timedelta(days=3), pd.Period("2015-01")],
                         ids=["list", "dict", "set", "bytes", "complex", "object", "timestamp", "timedelta", "period"])
def test_odd_python_objects_in_cells_do_not_crash(junk):
    t = example()
    t["notes"] = None
    for col in ("going_missing", "age", "notes"):
        t[col] = t[col].astype(object)
        t.at[3, col] = junk
    report = run(t)
    assert_no_row_lost(t, report)


# ---------------------------------------------------------------------------
# messy tables that crash validate (bugs): each should give a report, not an exception


def test_empty_table_gives_an_empty_report():
    t = example().iloc[:0]
    report = run(t)
    assert report.ok
    assert report.valid.empty and report.quarantined.empty


@pytest.mark.parametrize("column", ["closure_date", "assessment_date"])
def test_all_blank_date_column_is_not_a_crash(column):
    t = example()
    t["closure_reason"] = None
    t[column] = np.nan  # as read from a CSV whose column is empty
    report = run(t)
    assert_no_row_lost(t, report)


@pytest.mark.parametrize("column, value", [
    ("closure_date", "31/12/9999"), ("assessment_date", "9999-12-31"), ("assessment_date", "0001-01-01"),
    ("assessment_date", -5), ("assessment_date", 1500),
])
def test_dates_outside_the_nanosecond_range_are_reported_not_raised(column, value):
    t = example()
    t["closure_date"] = "31/12/2016"
    t["closure_reason"] = "other"
    t.loc[3, column] = value
    report = run(t)
    assert_no_row_lost(t, report)
    assert report.issues["row"].eq(5).any()


def test_timezone_aware_dates_are_read():
    t = example()
    t["assessment_date"] = pd.to_datetime(t["assessment_date"]).dt.tz_localize("Europe/London")
    report = run(t)
    assert report.ok


@pytest.mark.parametrize("column", ["going_missing", "person_id"])
def test_duplicate_headers_give_a_data_error(column):
    t = pd.concat([example(), example()[[column]]], axis=1)
    with pytest.raises(co.DataError, match=column):
        run(t)


# ---------------------------------------------------------------------------
# privacy: no identifier or free-text value appears anywhere

CANARIES = {
    "person_id": "CANARY-PERSON-q7Zx",
    "worker": "CANARY-WORKER-m3Kp",
    "notes": "CANARY-NOTE-says Jane Canary lives at 4 Finch Road",
    "Client name": "Canarina Whistlethorpe",
    "date_of_birth": "CANARY-DOB-b8Lw",
    "closure_reason": "CANARY-REASON moved in with Auntie Wrenfield",
}


def canary_table() -> pd.DataFrame:
    t = example()
    t["notes"] = "nothing to note"
    t["Client name"] = [f"Person Number{i}" for i in range(len(t))]
    t["date_of_birth"] = "2000-01-01"
    t["closure_date"] = None
    t["closure_reason"] = None
    t.loc[:3, "closure_date"] = "2016-01-01"
    # the canary person's rows carry every canary and a problem each
    for pos in (0, 1, 2, 3):
        for col, canary in CANARIES.items():
            if col not in ("date_of_birth", "closure_reason"):
                t.loc[pos, col] = canary
    t.loc[1, "assessment_date"] = None
    t.loc[1, "occasion"] = None  # missing date and occasion
    t.loc[2, "going_missing"] = "yes - twice"  # invalid category
    t.loc[3, "date_of_birth"] = CANARIES["date_of_birth"]  # unparseable date of birth
    t.loc[0, "closure_reason"] = CANARIES["closure_reason"]  # a closure reason the models do not know
    t = pd.concat([t, t.iloc[[0]]], ignore_index=True)  # duplicate of the canary's baseline
    t.loc[len(t) - 1, "worker"] = CANARIES["worker"] + "-2"
    return t


def test_no_identifier_or_free_text_value_in_any_output(caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    t = canary_table()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = run(t)
    rules = set(report.issues["rule"].astype(str))
    assert {"missing-identifier", "invalid-category", "unparseable-date", "duplicate-assessment",
            "unknown-closure-reason"} <= rules
    tokens = ["CANARY", "q7Zx", "m3Kp", "b8Lw", "Canarina", "Whistlethorpe", "Jane Canary", "Finch Road", "Wrenfield"]
    outputs = {
        "messages": "\n".join(report.issues["message"]),
        "issues": report.issues.to_string(),
        "summary": report.summary().to_string(),
        "json": report.to_json(),
        "html": report.to_html(),
        "repr": repr(report),
        "repr_html": report._repr_html_(),
        "notes": "\n".join(report.notes),
        "headline": "\n".join(report.headline()),
        "log": caplog.text,
        "warnings": "\n".join(str(w.message) for w in caught),
    }
    for where, text in outputs.items():
        for token in tokens:
            assert token.casefold() not in text.casefold(), f"{token!r} shown in {where}"


def test_no_canary_in_column_map_errors():
    t = canary_table()
    with pytest.raises(co.DataError) as info:
        run(t, columns={"person": "Client nam"})
    assert "Canarina" not in str(info.value) and "CANARY" not in str(info.value)


# ---------------------------------------------------------------------------
# the command line


def read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def write_csv(table: pd.DataFrame, path) -> str:
    table.to_csv(path, index=False)
    return str(path)


def cli_args(data: str, tmp_path) -> tuple[list[str], dict[str, str]]:
    out = {"html": str(tmp_path / "q3.html"), "json": str(tmp_path / "q3.json"),
           "valid": str(tmp_path / "valid.csv"), "quarantine": str(tmp_path / "quarantine.csv")}
    return ["validate", data, "-i", "cse-risk-indicators", "--today", TODAY, "--report", out["html"],
            "--json", out["json"], "--valid-out", out["valid"], "--quarantine-out", out["quarantine"]], out


def test_cli_validate_with_errors_exits_1_and_writes_every_file(tmp_path, capsys):
    pytest.importorskip("cseoutcomes.data.layout")
    from cseoutcomes.cli import main

    t = messy_example()
    data = write_csv(t, tmp_path / "Q3 export.csv")
    args, out = cli_args(data, tmp_path)
    assert main(args) == 1
    printed = capsys.readouterr()
    assert "row 3, column 'going_missing': 'yes - twice' is not one of" in printed.out
    assert_self_contained(read(out["html"]))
    issues = json.loads(read(out["json"]))["issues"]
    assert {i["rule"] for i in issues} >= {"invalid-category", "duplicate-assessment"}
    valid = pd.read_csv(out["valid"], dtype=str)
    quarantined = pd.read_csv(out["quarantine"], dtype=str)
    assert len(valid) + len(quarantined) == len(t)
    assert len(quarantined) == 4


def test_cli_validate_clean_exits_0(tmp_path):
    pytest.importorskip("cseoutcomes.data.layout")
    from cseoutcomes.cli import main

    data = write_csv(example(), tmp_path / "clean.csv")
    args, out = cli_args(data, tmp_path)
    assert main(args) == 0
    assert len(pd.read_csv(out["valid"])) == 18
    assert len(pd.read_csv(out["quarantine"])) == 0
    assert json.loads(read(out["json"]))["ok"] is True


def test_cli_validate_output_shows_no_canary(tmp_path, capsys):
    pytest.importorskip("cseoutcomes.data.layout")
    from cseoutcomes.cli import main

    data = write_csv(canary_table(), tmp_path / "canary.csv")
    args, out = cli_args(data, tmp_path)
    assert main(args) == 1
    printed = capsys.readouterr()
    texts = [printed.out, printed.err, read(out["html"]), read(out["json"])]
    for text in texts:
        for canary in ("CANARY", "Whistlethorpe", "Finch Road", "Wrenfield"):
            assert canary not in text


def test_cli_validate_missing_file_exits_2(tmp_path, capsys):
    from cseoutcomes.cli import main

    args, _ = cli_args(str(tmp_path / "no such export.csv"), tmp_path)
    assert main(args) == 2
    assert "no such export.csv" in capsys.readouterr().err
    assert not (tmp_path / "q3.html").exists()


def test_cli_validate_unknown_rule_is_a_one_line_error(tmp_path, capsys):
    pytest.importorskip("cseoutcomes.data.layout")
    from cseoutcomes.cli import main

    data = write_csv(example(), tmp_path / "clean.csv")
    code = main(["validate", data, "-i", "cse-risk-indicators", "--today", TODAY, "--disable", "overide-applied"])
    assert code not in (0, 3)
    assert "override-applied" in capsys.readouterr().err


def test_docs_list_every_rule():
    """docs/validation.md holds the rule table generated from the rules themselves."""
    from pathlib import Path

    from cseoutcomes.data.validation import rules_markdown

    text = (Path(__file__).resolve().parents[2] / "docs" / "validation.md").read_text(encoding="utf-8")
    table = text.split("<!-- rules:start -->\n", 1)[1].split("\n<!-- rules:end -->", 1)[0]
    assert table == rules_markdown(), "regenerate the table in docs/validation.md from rules_markdown()"


def test_a_long_export_is_read_wide_and_validated(tmp_path):
    """One row per item response (as REDCap-style or database exports give) becomes one row per assessment."""
    from cseoutcomes.data import to_long

    wide = example()
    path = tmp_path / "long.csv"
    to_long(wide, CSE).to_csv(path, index=False)
    table = co.read_assessments(path, CSE)
    assert len(table) == len(wide)
    assert table.index.name == "spreadsheet_row"
    # each assessment is numbered by its first line in the long file (27 items a row, header on line 1)
    assert table.index[:3].tolist() == [2, 2 + 27, 2 + 2 * 27]
    report = co.validate(table, CSE, today="2020-01-01")
    assert report.ok and report.n_rows == len(wide)
    assert any("long table" in note for note in report.notes)
