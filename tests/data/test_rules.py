"""One test per validation rule in ``cseoutcomes.data.rules.RULES``.

Each test starts from a clean table (the bundled example, or a small table built
here), plants exactly one problem and checks that the rule fires on exactly the
planted row(s), with the spreadsheet row number, the column, the rule's
severity, a message that says what is wrong and how to fix it, and that errors
quarantine the row while warnings do not. Every rule test runs twice: on a
plain table (rows numbered position + 2, the header being row 1) and on a
table whose index is named ``spreadsheet_row`` with gaps (rows numbered by the
index).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest

import cseoutcomes as co
from cseoutcomes.data import load_example, validate
from cseoutcomes.data.rules import RULES, parse_dates
from cseoutcomes.instruments.loading import instrument_from_dict

TODAY = "2020-01-01"
CSE = co.get_instrument("cse-risk-indicators")
ITEMS = [i.id for i in CSE.items]
MONTHS = [i.id + i.recency.column_suffix for i in CSE.items if i.recency is not None]
VULNERABILITIES = [i.id for i in CSE.items if i.section == "vulnerabilities"]
SIGNIFICANT = [i.id for i in CSE.items if i.section == "significant"]
# spreadsheet rows with gaps, as left by a reader that skipped blank or title rows
GAPPY_ROWS = [3, 4, 7, 8, 9, 12, 13, 14, 15, 20, 21, 22, 30, 31, 32, 33, 40, 41, 42, 50, 51, 52, 53, 54]

# words a message uses to say how to fix the problem
HOW = re.compile(r"\b(check|fill|write|record|keep|use|map|name|correct|clear|recode|change|reopen|pass|add|fix|"
                 r"remove|delete|rename|enter|must|should)\b", re.IGNORECASE)

RULE_TESTS: dict[str, str] = {}
ANY = object()  # any column


def covers(rule: str):
    """Register a test as the test of ``rule``."""

    def mark(func):
        RULE_TESTS[rule] = func.__name__
        return func

    return mark


# ---------------------------------------------------------------------------
# helpers


@pytest.fixture(params=["range", "spreadsheet_row"])
def kind(request) -> str:
    return request.param


def number(table: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Give ``table`` a plain RangeIndex, or a ``spreadsheet_row`` index with gaps."""
    table = table.reset_index(drop=True)
    if kind == "spreadsheet_row":
        assert len(table) <= len(GAPPY_ROWS)
        table.index = pd.Index(GAPPY_ROWS[: len(table)], name="spreadsheet_row")
    return table


def example(kind: str = "range") -> pd.DataFrame:
    """The bundled example (18 rows), as object columns so that anything can be planted."""
    return number(load_example().astype(object), kind)


def neutral(kind: str = "range") -> pd.DataFrame:
    """The example with every item 'no', no months and every age 15: no override, no jump, no blank."""
    t = example(kind)
    t[ITEMS] = "no"
    t[MONTHS] = None
    t["age"] = "15"
    return t


def put(table: pd.DataFrame, pos: int, column: str, value) -> pd.DataFrame:
    """A copy of ``table`` with ``value`` at row position ``pos`` of ``column``."""
    out = table.copy()
    if column not in out.columns:
        out[column] = None
    out[column] = out[column].astype(object)
    out.iloc[pos, out.columns.get_loc(column)] = value
    return out


def append(table: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    """``table`` with ``row`` added at the end (numbered as the next spreadsheet row)."""
    out = pd.concat([table, row.to_frame().T], ignore_index=table.index.name != "spreadsheet_row")
    if table.index.name == "spreadsheet_row":
        out.index = pd.Index([*table.index[:-1], table.index[-1], table.index[-1] + 3], name="spreadsheet_row")
    return out.astype(object)


def sheet_row(table: pd.DataFrame, pos: int) -> int:
    """The row number the user sees in the spreadsheet for row position ``pos``."""
    return int(table.index[pos]) if table.index.name == "spreadsheet_row" else pos + 2


def run(table: pd.DataFrame, instrument=CSE, **settings):
    """Validate as of 2020-01-01. The privacy scan (identifying-column, a tenth of a second a call) is left out
    unless asked for: it has its own test and the clean example is checked with every rule."""
    settings.setdefault("today", TODAY)
    settings.setdefault("disable", ("identifying-column",))
    return validate(table, instrument, **settings)


def of_rule(report, rule: str) -> pd.DataFrame:
    return report.issues[report.issues["rule"] == rule]


@cache
def clean_example_report():
    return run(example(), disable=())


def assert_not_in_clean_example(rule: str) -> None:
    assert of_rule(clean_example_report(), rule).empty, f"the clean example should raise no {rule}"


def assert_fires(report, table: pd.DataFrame, rule: str, positions: list[int], column, *,
                 what: tuple[str, ...] = (), how: bool = True, severity: str | None = None) -> pd.DataFrame:
    """``rule`` fires on exactly ``positions`` of ``table``, in ``column``, and nothing else is wrong."""
    got = of_rule(report, rule)
    assert sorted(got["row"].astype(int).tolist()) == sorted(sheet_row(table, p) for p in positions), got
    if column is None:
        assert got["column"].isna().all(), got
    elif column is not ANY:
        assert (got["column"].astype(object) == column).all(), got
    severity = severity or RULES[rule].severity
    assert (got["severity"].astype(str) == severity).all()
    for message in got["message"]:
        assert isinstance(message, str) and message.strip()
        for word in what:
            assert word.casefold() in message.casefold(), f"{word!r} not in {message!r}"
        if how:
            assert HOW.search(message), f"message does not say how to fix it: {message!r}"
    # errors quarantine exactly the planted rows; warnings quarantine nothing
    labels = [table.index[p] for p in positions]
    if severity == "error":
        assert not report.ok
        assert list(report.quarantined.index) == sorted(labels, key=list(table.index).index)
        assert set(report.valid.index).isdisjoint(labels)
    else:
        assert report.quarantined.empty, report.errors
        assert set(labels) <= set(report.valid.index)
    assert len(report.valid) + len(report.quarantined) == len(table)
    return got


def with_dates(kind: str) -> pd.DataFrame:
    """The example with a date of birth (1 January 2000) for everyone, and every case closed on 31 December 2016."""
    t = example(kind)
    t["date_of_birth"] = "2000-01-01"
    t["closure_date"] = "31/12/2016"
    t["closure_reason"] = "risk_reduced"
    return t


# ---------------------------------------------------------------------------
# one test per rule


@covers("required-column")
@pytest.mark.parametrize("drop, what", [
    (["going_missing"], ("going_missing", "missing")),
    (["person_id"], ("young person", "person")),
    (["assessment_date", "occasion"], ("date", "occasion")),
])
def test_required_column(kind, drop, what):
    assert_not_in_clean_example("required-column")
    t = example(kind).drop(columns=drop)
    report = run(t)
    got = of_rule(report, "required-column")
    assert len(got) == 1
    issue = got.iloc[0]
    assert pd.isna(issue["row"])  # a problem with the whole table
    assert issue["severity"] == "error"
    for word in what:
        assert word in issue["message"]
    assert HOW.search(issue["message"])
    assert not report.ok
    assert len(report.valid) + len(report.quarantined) == len(t)


def test_required_column_missing_leaves_no_valid_rows():
    t = example().drop(columns=["going_missing"])
    report = run(t)
    assert not report.ok
    assert report.valid.empty
    assert len(report.quarantined) == len(t)


@covers("missing-identifier")
@pytest.mark.parametrize("columns, flagged", [
    (["person_id"], "person_id"),
    (["assessment_date", "occasion"], "assessment_date"),
])
def test_missing_identifier(kind, columns, flagged):
    assert_not_in_clean_example("missing-identifier")
    t = example(kind)
    for col in columns:
        t = put(t, 5, col, "  " if col == "person_id" else None)  # spaces only count as blank
    report = run(t)
    assert_fires(report, t, "missing-identifier", [5], flagged, what=("no ",))
    # a date alone (no occasion) or an occasion alone (no date) is enough
    assert of_rule(run(put(example(kind), 5, "occasion", None)), "missing-identifier").empty
    assert of_rule(run(put(example(kind), 5, "assessment_date", None)), "missing-identifier").empty


@covers("invalid-category")
def test_invalid_category(kind):
    assert_not_in_clean_example("invalid-category")
    t = put(example(kind), 3, "going_missing", "yes - twice")
    report = run(t)
    got = assert_fires(report, t, "invalid-category", [3], "going_missing", what=("'yes - twice'", "not one of"),
                       how=False)
    message = got["message"].iloc[0]
    listed = message.split("not one of", 1)[1]
    for code in ("no", "possible", "yes", "unknown", "not_asked"):  # every allowed value, in any order
        assert re.search(rf"\b{code}\b", listed), (code, message)
    # answers are matched ignoring case and surrounding spaces; missing codes are allowed
    for fine in (" YES ", "Possible", "unknown", "Not_Asked"):
        assert of_rule(run(put(example(kind), 3, "going_missing", fine)), "invalid-category").empty, fine


@covers("blank-answer")
def test_blank_answer(kind):
    assert_not_in_clean_example("blank-answer")
    t = put(example(kind), 3, "going_missing", None)
    report = run(t)
    assert_fires(report, t, "blank-answer", [3], "going_missing", what=("blank", "unknown"))
    # a missing code is a recorded answer, not a blank
    coded = put(example(kind), 3, "going_missing", "unknown")
    assert of_rule(run(coded), "blank-answer").empty
    # an empty string and spaces are blanks too
    for blank in ("", "   ", np.nan):
        t = put(example(kind), 3, "going_missing", blank)
        assert_fires(run(t), t, "blank-answer", [3], "going_missing")


@covers("not-a-number")
@pytest.mark.parametrize("column, value, what", [
    ("age", "fifteen", ("age", "number")),
    ("going_missing_months_ago", "two", ("months", "number")),
    ("going_missing_months_ago", "-1", ("months", "0 or more")),
    ("occasion", "first", ("occasion", "number")),
    ("occasion", "1.5", ("occasion", "whole number")),
])
def test_not_a_number(kind, column, value, what):
    assert_not_in_clean_example("not-a-number")
    t = put(example(kind), 3, column, value)
    report = run(t)
    assert_fires(report, t, "not-a-number", [3], column, what=what,
                 how=column != "going_missing_months_ago")
    # decimal commas and named baselines are numbers
    assert of_rule(run(put(example(kind), 3, "age", "15,5")), "not-a-number").empty
    assert of_rule(run(put(example(kind), 0, "occasion", "Baseline")), "not-a-number").empty


@covers("unparseable-date")
@pytest.mark.parametrize("value", ["31/02/2015", "not a date", "2015-13-01", "12/01/15/7"])
def test_unparseable_date(kind, value):
    assert_not_in_clean_example("unparseable-date")
    t = put(example(kind), 3, "assessment_date", value)
    report = run(t)
    got = assert_fires(report, t, "unparseable-date", [3], "assessment_date", what=("not a date",))
    assert "day/month/year" in got["message"].iloc[0]


@covers("future-date")
def test_future_date(kind):
    assert_not_in_clean_example("future-date")
    t = put(example(kind), 3, "assessment_date", "2021-03-01")
    report = run(t)
    assert_fires(report, t, "future-date", [3], "assessment_date", what=("2020-01-01",))
    # exactly today is allowed; birth and closure dates are checked too
    assert of_rule(run(put(example(kind), 3, "assessment_date", TODAY)), "future-date").empty
    d = put(with_dates(kind), 4, "closure_date", "02/01/2020")
    assert_fires(run(d), d, "future-date", [4], "closure_date")


@covers("before-birth")
def test_before_birth(kind):
    assert_not_in_clean_example("before-birth")
    assert of_rule(run(with_dates(kind)), "before-birth").empty
    t = put(with_dates(kind), 0, "date_of_birth", "2015-06-01")  # assessed 2015-01-12
    report = run(t)
    assert_fires(report, t, "before-birth", [0], "assessment_date", what=("before", "birth"))


@covers("after-closure")
def test_after_closure(kind):
    assert_not_in_clean_example("after-closure")
    assert of_rule(run(with_dates(kind)), "after-closure").empty
    t = put(with_dates(kind), 3, "closure_date", "2015-09-01")  # assessed 2015-10-12
    report = run(t)
    assert_fires(report, t, "after-closure", [3], "assessment_date", what=("after", "closure"))
    # an assessment on the closure day is fine
    assert of_rule(run(put(with_dates(kind), 3, "closure_date", "12/10/2015")), "after-closure").empty


@covers("age-out-of-range")
@pytest.mark.parametrize("age", ["30", "7.5", 4])
def test_age_out_of_range(kind, age):
    assert_not_in_clean_example("age-out-of-range")
    t = put(example(kind), 3, "age", age)
    report = run(t)
    assert_fires(report, t, "age-out-of-range", [3], "age", what=("8", "25"))
    # the bounds themselves are in range
    for fine in ("8", "25"):
        assert of_rule(run(put(example(kind), 3, "age", fine)), "age-out-of-range").empty


def test_age_out_of_range_from_date_of_birth(kind):
    """Without an age, the age at assessment comes from the date of birth."""
    t = with_dates(kind).drop(columns="age")
    assert of_rule(run(t), "age-out-of-range").empty
    t = put(t, 3, "date_of_birth", "1985-01-01")  # 30 at the assessment
    assert_fires(run(t), t, "age-out-of-range", [3], "date_of_birth")


@covers("closure-without-reason")
def test_closure_without_reason(kind):
    assert_not_in_clean_example("closure-without-reason")
    assert of_rule(run(with_dates(kind)), "closure-without-reason").empty
    t = put(with_dates(kind), 3, "closure_reason", " ")
    report = run(t)
    assert_fires(report, t, "closure-without-reason", [3], "closure_reason", what=("closed", "reason"))
    # a blank closure date means the case is open: no reason needed
    open_case = put(put(with_dates(kind), 3, "closure_reason", None), 3, "closure_date", None)
    assert of_rule(run(open_case), "closure-without-reason").empty


@covers("unknown-closure-reason")
def test_unknown_closure_reason(kind):
    assert_not_in_clean_example("unknown-closure-reason")
    t = put(with_dates(kind), 3, "closure_reason", "felt better")
    report = run(t)
    assert_fires(report, t, "unknown-closure-reason", [3], "closure_reason", what=("risk_reduced",))
    # reasons are matched ignoring case, spaces and punctuation; a service can pass its own list
    assert of_rule(run(put(with_dates(kind), 3, "closure_reason", "Risk Reduced")), "unknown-closure-reason").empty
    assert of_rule(run(t, closure_reasons=("risk_reduced", "felt_better")), "unknown-closure-reason").empty


@covers("duplicate-assessment")
def test_duplicate_assessment(kind):
    assert_not_in_clean_example("duplicate-assessment")
    base = example(kind)
    t = append(base, base.iloc[3])
    report = run(t)
    got = assert_fires(report, t, "duplicate-assessment", [len(t) - 1], "assessment_date",
                       what=("same person", f"row {sheet_row(t, 3)}"))
    assert got["row"].iloc[0] != sheet_row(t, 3)  # the first of the pair is kept
    # the same date in another format is the same date
    t2 = append(base, base.iloc[3])
    t2 = put(t2, len(t2) - 1, "assessment_date", "12/10/2015")
    assert_fires(run(t2), t2, "duplicate-assessment", [len(t2) - 1], "assessment_date")


def test_duplicate_assessment_by_another_rater_is_not_a_duplicate(kind):
    base = example(kind)
    base["rater"] = "worker"
    t = append(base, base.iloc[3])
    t = put(t, len(t) - 1, "rater", "young_person")
    assert of_rule(run(t), "duplicate-assessment").empty
    t = put(t, len(t) - 1, "rater", "Worker")  # same rater, written differently
    assert_fires(run(t), t, "duplicate-assessment", [len(t) - 1], "assessment_date", what=("rater",))


@covers("occasion-order")
def test_occasion_order(kind):
    assert_not_in_clean_example("occasion-order")
    # YP-A: occasion 0 on 2015-01-12, 1 on 2015-04-12, 2 moved to 2015-03-01 (before occasion 1)
    t = put(example(kind), 2, "assessment_date", "2015-03-01")
    report = run(t)
    assert_fires(report, t, "occasion-order", [2], "assessment_date",
                 what=(f"row {sheet_row(t, 1)}", "before"))


@covers("no-baseline")
def test_no_baseline(kind):
    assert_not_in_clean_example("no-baseline")
    base = example(kind)
    t = base.drop(index=base.index[4])  # YP-B's occasion 0
    t = number(t, kind) if kind == "range" else t
    report = run(t)
    assert_fires(report, t, "no-baseline", [4], "occasion", what=("baseline",), how=False)
    # a named baseline counts as occasion 0
    assert of_rule(run(put(example(kind), 4, "occasion", "Referral")), "no-baseline").empty


ROUTED = instrument_from_dict({
    "id": "routed-example", "version": "0.1.0", "title": "Routed example", "kind": "risk_scale",
    "citation": [{"text": "cseoutcomes test fixture (not a real instrument)."}],
    "licence": {"name": "MIT", "wording_may_ship": True},
    "response_scales": {"yn": {"type": "ordinal", "categories": [{"code": "no", "value": 0}, {"code": "yes", "value": 1}],
                               "missing": [{"code": "unknown", "meaning": "unknown"}]}},
    "sections": [{"id": "screen", "label": "Screen"},
                 {"id": "followup", "label": "Follow-up", "applies_when": {"item": "screened_in", "in": ["yes"]}}],
    "items": [{"id": "screened_in", "label": "Screened in", "scale": "yn", "section": "screen"},
              {"id": "f1", "label": "Follow-up one", "scale": "yn", "section": "followup"},
              {"id": "f2", "label": "Follow-up two", "scale": "yn", "section": "followup"}],
    "scores": [{"id": "total", "label": "Total", "method": "sum", "missing": {"rule": "complete"}}],
})


def routed_table(kind: str) -> pd.DataFrame:
    """Four people at baseline; the follow-up section applies to the two screened in."""
    return number(pd.DataFrame({
        "person_id": ["a", "b", "c", "d"], "assessment_date": ["2015-01-01"] * 4, "occasion": ["0"] * 4,
        "screened_in": ["yes", "no", "yes", "no"],
        "f1": ["no", None, "yes", None], "f2": ["yes", None, "no", None]}, dtype=object), kind)


@covers("answered-skipped-section")
def test_answered_skipped_section(kind):
    clean = run(routed_table(kind), ROUTED)
    assert clean.issues.empty, clean.issues  # skipped blanks are not blank answers
    t = put(routed_table(kind), 3, "f2", "yes")
    report = run(t, ROUTED)
    assert_fires(report, t, "answered-skipped-section", [3], "f2", what=("followup",))
    # a missing code in a skipped section is not an answer
    assert of_rule(run(put(routed_table(kind), 3, "f2", "unknown"), ROUTED), "answered-skipped-section").empty
    assert_not_in_clean_example("answered-skipped-section")


def with_band(kind: str) -> pd.DataFrame:
    """The example with the band the service's system recorded (here, the right one)."""
    t = example(kind)
    t["risk_band"] = co.score(load_example(), CSE)["total_band"].astype(str).to_numpy()
    return t


@covers("band-mismatch")
def test_band_mismatch(kind):
    assert_not_in_clean_example("band-mismatch")
    clean = with_band(kind)
    assert of_rule(run(clean), "band-mismatch").empty
    codes = [b.code for b in CSE.get_score("total").bands]
    right = clean["risk_band"].iloc[3]
    wrong = next(c for c in codes if c != right)
    t = put(clean, 3, "risk_band", wrong)
    report = run(t)
    assert_fires(report, t, "band-mismatch", [3], "risk_band", what=(f"'{wrong}'", f"'{right}'"), how=False)
    # a band that is not a band of the score at all
    t = put(clean, 3, "risk_band", "purple")
    got = assert_fires(run(t), t, "band-mismatch", [3], "risk_band", how=False)
    for code in codes:
        assert code in got["message"].iloc[0]
    # bands written as their labels or their number (category 1-4) are understood
    labels = {b.code: (b.label, str(i + 1)) for i, b in enumerate(CSE.get_score("total").bands)}
    for which in (0, 1):
        t = clean.copy()
        t["risk_band"] = clean["risk_band"].map(lambda c, w=which: labels[c][w])
        assert of_rule(run(t), "band-mismatch").empty


def test_band_mismatch_message_says_how_to_fix():
    clean = with_band("range")
    right = clean["risk_band"].iloc[3]
    wrong = next(b.code for b in CSE.get_score("total").bands if b.code != right)
    for recorded in (wrong, "purple"):
        report = run(put(clean, 3, "risk_band", recorded))
        messages = of_rule(report, "band-mismatch")["message"]
        assert len(messages) == 1
        assert HOW.search(messages.iloc[0]), messages.iloc[0]


@covers("override-applied")
def test_override_applied(kind):
    # the example has disclosures and under-13s: its overrides are reported, one issue per row
    example_overrides = of_rule(clean_example_report(), "override-applied")
    assert len(example_overrides) == example_overrides["row"].nunique() > 0
    assert of_rule(run(neutral(kind)), "override-applied").empty
    t = put(neutral(kind), 3, "disclosure", "yes")
    report = run(t)
    # no fix is needed: the message gives the override's reason. The column is the item, or none (the whole row)
    got = assert_fires(report, t, "override-applied", [3], ANY, what=("disclosure", "highest band"), how=False)
    assert got["column"].isna().all() or (got["column"].astype(object) == "disclosure").all()
    # the under-13 floor needs an indicator present
    young = put(neutral(kind), 7, "age", "12")
    assert of_rule(run(young), "override-applied").empty
    young = put(young, 7, "going_missing", "yes")
    assert_fires(run(young), young, "override-applied", [7], ANY, what=("under 13",), how=False)


@covers("implausible-jump")
def test_implausible_jump(kind):
    assert_not_in_clean_example("implausible-jump")
    assert of_rule(run(neutral(kind)), "implausible-jump").empty
    # YP-A's last assessment (occasion 3): every vulnerability and moderate indicator present: 0 -> 20 points
    t = neutral(kind)
    for item in [i.id for i in CSE.items if i.section in ("vulnerabilities", "moderate")]:
        t = put(t, 3, item, "yes")
    lo, hi, _ = CSE.score_range("total")
    assert (hi - lo) / 2 > 20  # the default threshold is half the range: not a jump
    assert of_rule(run(t), "implausible-jump").empty
    # every significant indicator too: 0 -> 55 points
    for item in SIGNIFICANT:
        t = put(t, 3, item, "yes")
    report = run(t, disable=("override-applied",))
    assert_fires(report, t, "implausible-jump", [3], None, what=("total", f"row {sheet_row(t, 2)}", "0", "55"))


def test_implausible_jump_custom_threshold(kind):
    t = neutral(kind)
    for item in VULNERABILITIES[:4]:  # 0 -> 4 points at YP-A's occasion 3
        t = put(t, 3, item, "yes")
    assert of_rule(run(t), "implausible-jump").empty
    report = run(t, jump_threshold={"total": 3})
    got = assert_fires(report, t, "implausible-jump", [3], None, what=("from 0 to 4", f"row {sheet_row(t, 2)}"))
    assert "3" in got["message"].iloc[0]
    assert of_rule(run(t, jump_threshold={"total": 4}), "implausible-jump").empty  # more than the threshold
    # a jump between two people is not a jump: YP-B's baseline follows YP-A's last row
    assert (report.issues["rule"] == "implausible-jump").sum() == 1


@covers("identifying-column")
def test_identifying_column(kind):
    pytest.importorskip("cseoutcomes.data.privacy")
    assert_not_in_clean_example("identifying-column")
    names = ["Jayne Canarysmith", "Olu Birdsong", "Priya Featherstone"]
    t = example(kind)
    t["Client name"] = [names[i % 3] for i in range(len(t))]
    report = run(t, disable=())
    got = of_rule(report, "identifying-column")
    assert len(got) >= 1
    assert (got["column"].astype(object) == "Client name").any()
    assert got["row"].isna().all()
    assert (got["severity"] == "warning").all()
    assert report.quarantined.empty
    text = " ".join(report.issues["message"])
    for name in names:
        for part in name.split():
            assert part not in text


def test_every_rule_has_its_own_test():
    assert set(RULES) == set(RULE_TESTS), set(RULES) ^ set(RULE_TESTS)
    tests = {name for name in globals() if name.startswith("test_")}
    assert set(RULE_TESTS.values()) <= tests


def test_every_rule_is_named_documented_and_has_a_severity():
    for name, rule in RULES.items():
        assert rule.name == name
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", name)
        assert rule.severity in ("error", "warning")
        assert rule.summary and rule.summary.endswith(".")
    table = co.data.rule_table()
    assert list(table["rule"]) == list(RULES)


# ---------------------------------------------------------------------------
# settings


def test_severity_can_be_raised_so_blanks_quarantine(kind):
    t = put(example(kind), 3, "going_missing", None)
    report = run(t, severity={"blank-answer": "error"})
    assert_fires(report, t, "blank-answer", [3], "going_missing", severity="error")


def test_severity_can_be_lowered_so_errors_do_not_quarantine(kind):
    t = put(example(kind), 3, "going_missing", "yes - twice")
    report = run(t, severity={"invalid-category": "warning"})
    assert_fires(report, t, "invalid-category", [3], "going_missing", severity="warning", how=False)
    assert report.ok


def test_disable_turns_a_rule_off():
    assert not of_rule(clean_example_report(), "override-applied").empty
    report = run(example(), disable=("override-applied",))
    assert report.issues.empty
    t = put(example(), 3, "going_missing", "yes - twice")
    report = run(t, disable=("invalid-category",))
    assert of_rule(report, "invalid-category").empty
    assert report.ok


@pytest.mark.parametrize("settings, suggestion", [
    ({"disable": ("overide-applied",)}, "override-applied"),
    ({"severity": {"blank-anwser": "error"}}, "blank-answer"),
])
def test_unknown_rule_name_raises_with_a_suggestion(settings, suggestion):
    with pytest.raises(ValueError, match=re.escape(suggestion)):
        run(example(), **settings)


def test_options_object_and_keywords_are_exclusive():
    from cseoutcomes.data import ValidationOptions

    report = validate(example(), CSE, options=ValidationOptions(today=pd.Timestamp(TODAY)))
    assert report.ok
    with pytest.raises(TypeError):
        validate(example(), CSE, options=ValidationOptions(), today=TODAY)


# ---------------------------------------------------------------------------
# dates


def test_dates_in_uk_iso_and_excel_forms_parse():
    when = pd.Timestamp("2015-01-12")
    serial = (when - pd.Timestamp("1899-12-30")).days
    values = pd.Series(["12/01/2015", "2015-01-12", serial, str(serial), float(serial), when,
                        dt.date(2015, 1, 12), dt.datetime(2015, 1, 12), "12-01-2015", "12.01.2015", "12/01/15",
                        " 2015-01-12 ", "12 Jan 2015", "12 January 2015", "2015-01-12T00:00:00"], dtype=object)
    parsed, bad = parse_dates(values)
    assert not bad.any(), values[bad]
    assert (parsed == when).all(), parsed


def test_mixed_date_forms_validate_without_unparseable_dates(kind):
    t = example(kind)
    when = pd.Timestamp("2015-04-12")
    t = put(t, 0, "assessment_date", "12/01/2015")
    t = put(t, 1, "assessment_date", (when - pd.Timestamp("1899-12-30")).days)  # Excel serial
    t = put(t, 2, "assessment_date", pd.Timestamp("2015-07-12"))  # read from Excel as a date
    report = run(t)
    assert of_rule(report, "unparseable-date").empty
    assert of_rule(report, "occasion-order").empty
    assert report.ok


def test_blank_dates_are_not_unparseable():
    parsed, bad = parse_dates(pd.Series([None, np.nan, "", "  ", pd.NaT], dtype=object))
    assert parsed.isna().all()
    assert not bad.any()


def test_dayfirst_false_reads_month_first():
    v = pd.Series(["03/04/2016"])
    uk, _ = parse_dates(v)
    us, _ = parse_dates(v, dayfirst=False)
    assert uk.iloc[0] == pd.Timestamp("2016-04-03")
    assert us.iloc[0] == pd.Timestamp("2016-03-04")
    # through validate: 3 April is after "today" (10 March 2016), 4 March is not
    t = put(example(), 17, "assessment_date", "03/04/2016")
    assert not of_rule(run(t, today="2016-03-10", disable=("occasion-order",)), "future-date").empty
    report = run(t, today="2016-03-10", dayfirst=False)
    assert of_rule(report, "future-date").empty
    assert "month/day/year" in run(put(t, 0, "assessment_date", "junk"), dayfirst=False) \
        .issues.query("rule == 'unparseable-date'")["message"].iloc[0]


def test_today_defaults_to_the_real_date():
    t = put(example(), 3, "assessment_date", (pd.Timestamp.today() + pd.Timedelta(days=400)).strftime("%Y-%m-%d"))
    report = validate(t, CSE)
    assert of_rule(report, "future-date")["row"].tolist() == [5]


def test_parse_dates_uses_no_deprecated_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        parsed, bad = parse_dates(pd.Series(["2015-01-12", None, "junk"], dtype=object))
    assert parsed.iloc[0] == pd.Timestamp("2015-01-12") and bad.tolist() == [False, False, True]


def test_today_may_be_a_date():
    t = put(example(), 3, "assessment_date", "2021-03-01")
    report = run(t, today=dt.date(2020, 1, 1))
    assert of_rule(report, "future-date")["row"].tolist() == [5]


def test_text_today_is_read_like_the_data():
    t = put(example(), 17, "assessment_date", "2016-03-20")
    report = run(t, today="03/04/2016", disable=("occasion-order",))  # 3 April 2016: 20 March is not in the future
    assert of_rule(report, "future-date").empty
