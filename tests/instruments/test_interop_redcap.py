"""REDCap data dictionaries and records exports.

Format reference: the REDCap data dictionary (Project Setup > Data Dictionary; REDCap's "How to use
a data dictionary" help): 18 columns, choices written ``code, label | code, label``, branching logic
``[field] = 'code'`` with ``and``/``or``, ``[event][field]`` in longitudinal projects, ``[field(code)]``
for a checkbox option, calc fields in which ``[a] + [b]`` is blank when any field is and ``sum()``
/ ``mean()`` skip blanks. Records exports hold one column ``field___code`` per checkbox option.

The fixtures in ``interop_fixtures/`` are our own wording; they reproduce what public dictionaries
do: a byte-order mark, every header quoted but ``Identifier?``, labels and section headers with HTML
and line breaks, codes 777/999 for "Don't know"/"Refused", non-numeric codes, a typo in a label,
checkbox, yesno, truefalse, slider and calc fields, branching on another event, several forms, a
record id that is not called record_id; and an API export (snake-case headers, 16 columns,
semicolons, options on separate lines).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

import cseoutcomes as co
from cseoutcomes.errors import DataError, DefinitionError
from cseoutcomes.instruments.interop import from_redcap, read_redcap_records, to_redcap
from cseoutcomes.instruments.interop.redcap import HEADERS

FIXTURES = Path(__file__).parent / "interop_fixtures"
SERVICE = FIXTURES / "redcap_service_dictionary.csv"
API = FIXTURES / "redcap_api_dictionary.csv"


@pytest.fixture(scope="module")
def review():
    return from_redcap(SERVICE, form="risk_review")


# ---------------------------------------------------------------------------
# reading a service's dictionary


def test_the_fixture_has_the_quirks_it_claims():
    raw = SERVICE.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # byte-order mark
    assert b'"Variable / Field Name"' in raw and b",Identifier?," in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows[0]) == 18 and any("\n" in cell for row in rows for cell in row)


def test_several_forms_must_be_chosen_between():
    with pytest.raises(DefinitionError) as exc:
        from_redcap(SERVICE)
    message = str(exc.value)
    assert "2 forms with questions (referral, risk_review)" in message and "form=" in message and "\n" not in message


def test_identity_comes_from_the_form_name(review):
    inst, _ = review
    assert (inst.id, inst.title, inst.version, inst.kind) == ("risk-review", "Risk review", "1.0.0", "questionnaire")


def test_codes_777_and_999_are_missing_codes_read_from_their_labels(review):
    inst, report = review
    scale = inst.scale_of("missing_from_home")
    assert scale.codes == ("0", "1")
    assert [(m.code, m.meaning) for m in scale.missing] == [("777", "unknown"), ("999", "declined")]
    assert "choice '777' read as a missing code (unknown) from its label" in report.notes


def test_non_numeric_codes_make_a_nominal_scale_without_values(review):
    inst, _ = review
    scale = inst.scale_of("gifts")
    assert scale.type == "nominal" and scale.codes == ("yes", "no", "possible")
    assert all(c.value is None for c in scale.categories)
    # the label has a typo ("Unkown"); the word code unk still marks it as a missing code
    assert [(m.code, m.label, m.meaning) for m in scale.missing] == [("unk", "Unkown", "unknown")]


def test_negative_code_not_applicable(review):
    inst, _ = review
    assert [(m.code, m.meaning) for m in inst.scale_of("under_13_check").missing] == [("-1", "not_applicable")]


def test_checkbox_becomes_one_binary_item_per_option(review):
    inst, report = review
    ids = [i.id for i in inst.items if i.id.startswith("places")]
    assert ids == ["places___1", "places___2", "places___3", "places___4"]
    assert inst.scale_of("places___3").codes == ("0", "1")
    assert inst.get_item("places___3").label.endswith("Someone's house, flat or hotel")
    assert any(x.item == "field:places" and x.what == "checkbox" for x in report)


def test_yesno_truefalse_and_slider(review):
    inst, _ = review
    assert [(c.code, c.label) for c in inst.scale_of("told_someone").categories] == [("0", "No"), ("1", "Yes")]
    assert inst.context["consent_share"].type == "boolean"
    slider = inst.scale_of("safe_feeling")
    assert slider.type == "ordinal" and slider.codes == tuple(str(v) for v in range(11))
    assert (slider.categories[0].label, slider.categories[5].label, slider.categories[10].label) == (
        "Not safe at all", None, "Completely safe")


def test_text_fields_by_validation(review):
    inst, report = review
    assert inst.context["age"].type == "number" and inst.context["age"].label == "Age at review (years)"
    assert any(x.item == "context:age" and x.what == "range" and "8 to 25" in x.why for x in report)
    assert any(x.item == "field:review_date" and "a date" in x.why for x in report)
    assert any(x.item == "field:worker_notes" for x in report)


def test_multi_line_labels_and_html_section_headers_are_kept(review):
    inst, _ = review
    assert inst.get_item("older_friends").label == "Spends time with older people\nwho worry staff"
    first = inst.sections[0]
    assert first.id == "part_1_vulnerabilities" and first.label.startswith("<b>Part 1: vulnerabilities</b>\n")
    assert inst.get_item("missing_from_home").description == "Include short absences"


def test_matrix_group_names_the_shared_scale(review):
    inst, _ = review
    assert {inst.get_item(i).scale for i in ("ladder_home", "ladder_school", "ladder_friends")} == {"ladders"}


def test_calc_fields_become_scores_where_they_are_sums_or_means(review):
    inst, report = review
    total, mean = inst.get_score("ladder_total"), inst.get_score("ladder_mean")
    assert total.method == "sum" and total.missing.rule == "complete"  # [a] + [b] + [c], over a line break
    assert mean.method == "mean" and mean.missing.rule == "available"  # REDCap's mean() skips blanks
    loss = next(x for x in report if x.item == "field:indicator_count")
    assert loss.what == "calc" and loss.detail.startswith("sum(if([missing_from_home] = '1', 1, 0)")


def test_branching_logic_on_another_event_is_kept_as_text_and_reported(review):
    inst, report = review
    loss = next(x for x in report if x.item == "told_someone" and x.what == "routing")
    assert "another event" in loss.why and loss.detail == "[review_arm_1][consent_share] = '1' and [age] >= 10"
    assert "told_someone is asked only if: [review_arm_1][consent_share] = '1'" in inst.notes


def test_branching_logic_is_parsed_even_where_it_cannot_be_kept():
    """``[older_friends] <> 0`` (unquoted number, <>) and ``OR`` in capitals parse to a condition."""
    from cseoutcomes.instruments.interop import _logic

    target = {"missing_from_home": _logic.Target("item", "missing_from_home", ("0", "1", "777", "999")),
              "older_friends": _logic.Target("item", "older_friends", ("0", "1", "777", "999"))}
    cond = _logic.to_condition(_logic.parse("[missing_from_home] = '1' OR [older_friends] <> 0", _logic.REDCAP),
                               lambda ref: target.get(ref.name))
    assert cond.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True) == {
        "any": ({"item": "missing_from_home", "in": ("1",)}, {"not": {"item": "older_friends", "in": ("0",)}})}


def test_a_section_whose_items_share_branching_logic_gets_it_as_routing(tmp_path):
    path = tmp_path / "dd.csv"
    rows = [HEADERS,
            ["record_id", "f", "", "text", "ID"] + [""] * 13,
            ["q1", "f", "", "radio", "First", "1, Yes | 0, No"] + [""] * 12,
            ["q2", "f", "Follow-up", "radio", "Second", "1, Yes | 0, No", "", "", "", "", "", "[q1] = '1'"] + [""] * 6,
            ["q3", "f", "", "radio", "Third", "1, Yes | 0, No", "", "", "", "", "", "[q1] = '1'"] + [""] * 6]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    inst, report = from_redcap(path)
    section = inst.sections[0]
    assert section.id == "follow_up" and section.applies_when.describe() == "item 'q1' is 1"
    assert report.about("q2") == () and inst.notes is None


def test_an_api_export_with_semicolons_and_options_on_lines():
    inst, report = from_redcap(API)
    assert inst.id == "wellbeing-check"
    assert [(c.code, c.label) for c in inst.scale_of("mood").categories] == [("1", "Low"), ("2", "Okay"), ("3", "Good")]
    assert [(m.code, m.meaning) for m in inst.scale_of("sleep").missing] == [("88", "not_asked")]
    assert "record_id: the record id field (row 2) is not an item" in report.notes


def test_project_missing_data_codes_join_every_scale():
    inst, _ = from_redcap(SERVICE, form="risk_review", missing_codes="UNK, Unknown | NASK, Not asked")
    missing = inst.scale_of("missing_from_home").missing_codes
    assert missing == ("777", "999", "UNK", "NASK")
    assert inst.scale_of("gifts").missing_codes == ("unk", "NASK")  # its own 'unk' is not added twice
    assert "UNK" in inst.scale_of("told_someone").missing_codes


def test_identity_can_be_given():
    inst, report = from_redcap(SERVICE, form="risk_review", kind="risk_scale", id="my-review", version="2.0.0")
    assert (inst.id, inst.kind, inst.version) == ("my-review", "risk_scale", "2.0.0")
    assert not any(x.what == "kind" for x in report)


# ---------------------------------------------------------------------------
# malformed dictionaries: one line naming the row and column


def _dictionary(tmp_path: Path, *rows, header=HEADERS) -> Path:
    path = tmp_path / "dictionary.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerow(["record_id", "f", "", "text", "Record ID"] + [""] * 13)
        for row in rows:
            writer.writerow(list(row) + [""] * (18 - len(row)))
    return path


@pytest.mark.parametrize(("row", "expected"), [
    (["q1", "f", "", "radiobutton", "Q"], "row 3, column 'Field Type': 'radiobutton' is not a REDCap field type"),
    (["q1", "f", "", "radio", "Q", "Yes | No"], "row 3, column 'Choices, Calculations, OR Slider Labels': the option "
                                               "'Yes' has no code"),
    (["q1", "f", "", "radio", "Q", "1, Yes | 1, No"], "row 3, column 'Choices, Calculations, OR Slider Labels': the "
                                                     "code '1' is used twice"),
    (["q1", "f", "", "radio", "Q", "a b, Yes | c, No"], "row 3, column 'Choices, Calculations, OR Slider Labels': "
                                                       "'a b' is not a REDCap choice code"),
    (["q 1", "f", "", "radio", "Q", "1, Yes | 0, No"], "row 3, column 'Variable / Field Name': 'q 1' is not a REDCap "
                                                      "field name"),
    (["", "f", "", "radio", "Q", "1, Yes | 0, No"], "row 3, column 'Variable / Field Name': the field has no name"),
    (["record_id", "f", "", "radio", "Q", "1, Yes | 0, No"], "row 3, column 'Variable / Field Name': the field "
                                                            "name 'record_id' is also used on row 2"),
    (["q1", "", "", "radio", "Q", "1, Yes | 0, No"], "row 3, column 'Form Name': the field has no form name"),
    (["q1", "f", "", "slider", "Q", "", "", "", "10", "x"], "row 3, column 'Text Validation Max': 'x' is not a number"),
])
def test_malformed_rows_are_one_line_errors_naming_row_and_column(tmp_path, row, expected):
    path = _dictionary(tmp_path, row)
    with pytest.raises(DefinitionError) as exc:
        from_redcap(path)
    message = str(exc.value)
    assert message == exc.value.one_line() and "\n" not in message
    assert message.startswith(str(path)) and expected in message


def test_a_header_without_the_required_columns(tmp_path):
    path = tmp_path / "not_a_dictionary.csv"
    path.write_text("name,age\nx,1\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as exc:
        from_redcap(path)
    assert "row 1: the header has no 'Variable / Field Name' column" in str(exc.value)


def test_a_row_with_more_cells_than_the_header(tmp_path):
    path = tmp_path / "dictionary.csv"
    path.write_text(",".join(f'"{h}"' for h in HEADERS) + "\nq1,f,,radio,Q,1, Yes | 0, No" + ",x" * 14 + "\n",
                    encoding="utf-8")
    with pytest.raises(DefinitionError) as exc:
        from_redcap(path)
    assert "row 2: has 22 cells but the header has 18 columns" in str(exc.value)
    assert "double quotes" in str(exc.value)


@pytest.mark.parametrize(("name", "content", "expected", "status"), [
    ("missing.csv", None, "no such file", 2),
    ("empty.csv", "", "is empty", 2),
    ("book.xlsx", "PK", "is an Excel workbook", 2),
])
def test_unreadable_files(tmp_path, name, content, expected, status):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DefinitionError) as exc:
        from_redcap(path)
    assert expected in str(exc.value) and exc.value.exit_code == status


# ---------------------------------------------------------------------------
# writing a dictionary


def test_export_writes_the_18_standard_columns_and_a_record_id_first():
    """A new REDCap project's dictionary begins with the record id field."""
    text, _ = to_redcap(co.get_instrument("progress-ladder"), metadata=False)
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == HEADERS and len(HEADERS) == 18
    assert rows[1][:5] == ["record_id", "progress_ladder", "", "text", "Record ID"]
    assert all(len(r) == 18 for r in rows)
    safety = next(r for r in rows if r[0] == "safety")
    assert safety[3] == "radio" and safety[5].startswith("1, Not yet: things are very hard here | 2, 2 | 3, 3")
    assert safety[5].endswith("| not_asked, Not asked at this assessment | declined, Chose not to answer | "
                              "unknown, Not known")


def test_export_writes_calc_fields_redcap_can_compute():
    text, _ = to_redcap(co.get_instrument("progress-ladder"), metadata=False)
    rows = {r[0]: r for r in csv.reader(io.StringIO(text))}
    assert rows["total"][3] == "calc" and rows["total"][5] == "+".join(
        f"[{i}]" for i in ("safety", "relationships", "emotional_wellbeing", "education_training", "substance_use",
                           "sexual_health", "family_home", "choices_self_efficacy"))
    text, _ = to_redcap(co.get_instrument("cse-risk-indicators"), metadata=False)
    rows = {r[0]: r for r in csv.reader(io.StringIO(text))}
    assert rows["total"][5].startswith("if([abuse_or_neglect] = 'yes', 1, 0) + ")
    assert "if([disclosure] = 'yes', 5, 0)" in rows["total"][5]
    assert "if([disclosure] = 'yes' or [disclosure] = 'possible', 5, 0)" in rows["total_with_possible"][5]


def test_section_routing_is_written_as_branching_logic_on_each_item():
    data = co.get_instrument("cse-risk-indicators").to_dict()
    data["sections"][2]["applies_when"] = {"any": [{"field": "age", "ge": 10}, {"item": "going_missing",
                                                                                 "in": ["yes", "possible"]}]}
    inst = co.Instrument.from_dict(data)
    text, report = to_redcap(inst, metadata=False)
    rows = {r[0]: r for r in csv.reader(io.StringIO(text))}
    logic = "[age] >= 10 or ([going_missing] = 'yes' or [going_missing] = 'possible')"
    assert rows["disclosure"][11] == logic and rows["unexplained_injuries"][11] == logic
    assert rows["going_missing"][11] == ""
    back, _ = from_redcap(io.StringIO(text))
    assert back.sections[2].applies_when == inst.sections[2].applies_when
    assert not report.about("section:significant") or all(x.what != "applies_when"
                                                           for x in report.about("section:significant"))


def test_codes_redcap_cannot_hold_are_rewritten_and_reported():
    data = co.get_instrument("cse-risk-indicators").to_dict()
    data["response_scales"]["indicator"]["missing"][0]["code"] = "not known"
    inst = co.Instrument.from_dict(data)
    text, report = to_redcap(inst)
    assert "not_known, Not known" in text
    loss = next(x for x in report if x.item == "scale:indicator")
    assert loss.what == "missing" and "'not known' is written as 'not_known'" in loss.why
    assert from_redcap(io.StringIO(text)).instrument == inst  # the metadata keeps the real code


def test_export_to_a_file_has_a_byte_order_mark(tmp_path):
    out, _ = to_redcap("swemwbs", tmp_path / "swemwbs.csv")
    assert out == tmp_path / "swemwbs.csv" and out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert from_redcap(out).instrument == co.get_instrument("swemwbs")


def test_field_names_are_lower_case_and_unique():
    """REDCap field names are lower-case letters, digits and '_'; case-only clashes get a suffix."""
    data = co.get_instrument("swemwbs").to_dict()
    data["items"][0]["id"] = "Item_X"
    data["items"][1]["id"] = "item_x"
    data["scores"][0]["items"] = None
    data["scores"][0].pop("items", None)
    inst = co.Instrument.from_dict(data)
    text, report = to_redcap(inst, metadata=False)
    names = [r[0] for r in csv.reader(io.StringIO(text))][1:]
    assert "item_x" in names and "item_x_2" in names and all(n == n.lower() for n in names)
    assert any(x.item == "Item_X" and x.what == "id" for x in report) or any(
        x.item == "item_x" and x.what == "id" for x in report)


# ---------------------------------------------------------------------------
# records exports


@pytest.fixture(scope="module")
def with_unk():
    return from_redcap(SERVICE, form="risk_review", missing_codes="UNK, Unknown").instrument


@pytest.mark.parametrize("export", ["redcap_records_raw.csv", "redcap_records_labels.csv"])
def test_records_are_read_ready_for_validate(with_unk, export):
    table = read_redcap_records(FIXTURES / export, SERVICE, form="risk_review", missing_codes="UNK, Unknown")
    assert list(table.index) == [3, 4, 5]  # spreadsheet rows; 2 (referral event) and 6 (another form) dropped
    assert list(table["person_id"]) == ["1001", "1001", "1002"] and list(table["occasion"]) == [0, 1, 0]
    assert list(table["missing_from_home"]) == ["1", "0", "UNK"]
    assert list(table["older_friends"]) == ["777", "1", "0"] and list(table["gifts"]) == ["possible", "no", "unk"]
    assert list(table["places___3"]) == ["1", "0", "0"] and list(table["told_someone"]) == ["0", "1", "0"]
    assert "assessment_date" in table.columns
    notes = table.attrs["cseoutcomes"]["notes"]
    assert any("dropped because they belong to another repeating instrument: row 6" in n for n in notes)
    assert any("have nothing entered on form 'risk_review'" in n and "row 2" in n for n in notes)
    report = co.validate(table, with_unk, today="2024-01-01")
    assert report.ok and len(report.valid) == 3


def test_raw_and_label_exports_give_the_same_answers():
    raw = read_redcap_records(FIXTURES / "redcap_records_raw.csv", SERVICE, form="risk_review")
    labels = read_redcap_records(FIXTURES / "redcap_records_labels.csv", SERVICE, form="risk_review")
    items = [c for c in raw.columns if c.startswith(("missing_from", "older", "gifts", "places___", "told", "under"))]
    assert (raw[items].fillna("") == labels[items].fillna("")).all().all()


def test_occasions_from_events(with_unk):
    table = read_redcap_records(FIXTURES / "redcap_records_raw.csv", SERVICE, form="risk_review",
                                events={"referral_arm_1": 0, "review_1_arm_1": 1, "review_2_arm_1": 2})
    assert list(table["occasion"]) == [1, 2, 1]
    with pytest.raises(DataError) as exc:
        read_redcap_records(FIXTURES / "redcap_records_raw.csv", SERVICE, form="risk_review",
                            events={"review_1_arm_1": 1})
    assert "events= does not give an occasion for event 'review_2_arm_1'" in str(exc.value)


def test_records_notes_never_show_cell_values():
    table = read_redcap_records(FIXTURES / "redcap_records_raw.csv", SERVICE, form="risk_review")
    text = " ".join(table.attrs["cseoutcomes"]["notes"])
    for secret in ("bus station", "two absences", "1001", "1002"):
        assert secret not in text


def test_records_without_the_record_id(tmp_path):
    path = tmp_path / "records.csv"
    path.write_text("missing_from_home\n1\n", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_redcap_records(path, SERVICE, form="risk_review")
    assert "there is no 'yp_ref' column" in str(exc.value) and "\n" not in str(exc.value)


def test_items_in_a_row_sharing_a_scale_are_a_matrix_group_named_after_it():
    """REDCap's Matrix Group Name (column 16) groups adjacent radio fields with the same choices."""
    inst = co.get_instrument("progress-ladder")
    text, report = to_redcap(inst, metadata=False)
    rows = [r for r in csv.reader(io.StringIO(text)) if r[3] == "radio"]
    assert {r[15] for r in rows} == {"ladder"} and len(rows) == 8
    back, _ = from_redcap(io.StringIO(text))
    assert {i.scale for i in back.items} == {"ladder"}
    assert not any(x.what == "name" for x in report)
