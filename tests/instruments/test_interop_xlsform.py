"""XLSForm (https://xlsform.org): survey, choices and settings sheets, as .xlsx or CSV sheets.

The spec's rules checked here: ``type`` / ``name`` / ``label`` columns; ``select_one <list>`` and
``select_multiple <list>`` naming a ``list_name`` of the choices sheet ("list name" with a space is
accepted); ``begin group`` / ``end group`` (also ``begin_group``) with ``relevant`` applying to the
whole group; ``begin repeat``; ``range`` with ``parameters`` ``start= end= step=``; ``integer`` with a
``constraint`` on ``.``; ``calculate``; translated columns ``label::English (en)``; settings
``form_id``, ``form_title``, ``version`` and ``default_language``; custom ``bind::`` columns declared
in the ``namespaces`` setting.

The fixture ``interop_fixtures/xlsform_kobo`` is our own wording and reproduces what Kobo and ODK
forms do: metadata questions (start, end, today, deviceid), notes, two languages, nested and repeated
groups, ``or_other``, ``selected()`` on a select_multiple, a numeric version, codes 88/-99.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import cseoutcomes as co
from cseoutcomes.errors import DefinitionError
from cseoutcomes.instruments.interop import from_xlsform, to_xlsform

FIXTURE = Path(__file__).parent / "interop_fixtures" / "xlsform_kobo"


def _sheets(folder: Path) -> dict[str, list[list[str]]]:
    sheets = {}
    for name in ("survey", "choices", "settings"):
        with open(folder / f"{name}.csv", encoding="utf-8", newline="") as fh:
            sheets[name] = list(csv.reader(fh))
    return sheets


def _as_workbook(sheets: dict[str, list[list[str]]], path: Path) -> Path:
    """The sheets as an .xlsx, with numbers stored as numbers (as Excel does when someone types 88)."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append([int(v) if v.lstrip("-").isdigit() else (v or None) for v in row])
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def kobo():
    return from_xlsform(FIXTURE)


def test_csv_sheets_and_a_workbook_read_the_same(kobo, tmp_path):
    book = _as_workbook(_sheets(FIXTURE), tmp_path / "form.xlsx")
    inst, _ = from_xlsform(book)
    assert inst.items == kobo.instrument.items and inst.response_scales == kobo.instrument.response_scales
    assert inst.sections == kobo.instrument.sections
    # the path of survey.csv finds its sibling sheets
    assert from_xlsform(FIXTURE / "survey.csv").instrument == kobo.instrument


def test_settings_give_the_identity_and_a_numeric_version_is_reported(kobo):
    inst, report = kobo
    assert (inst.id, inst.title, inst.version) == ("safety_review", "Safety review (field form)", "1.0.0")
    loss = next(x for x in report if x.what == "version")
    assert "'2024051501' is not a semantic version" in loss.why


def test_default_language_is_read_and_other_languages_are_reported(kobo):
    inst, report = kobo
    assert inst.get_item("goes_missing").label == "Goes missing from home"
    assert inst.get_item("goes_missing").description == "Count nights away"
    assert sum(1 for x in report if x.what == "translations") == 2
    spanish, _ = from_xlsform(FIXTURE, language="Español")
    assert spanish.get_item("goes_missing").label == "Se ausenta de casa"
    assert spanish.scale_of("goes_missing").categories[0].label == "Sí"


def test_choice_lists_become_named_scales_with_missing_codes(kobo):
    inst, _ = kobo
    scale = inst.scale_of("goes_missing")
    assert inst.get_item("goes_missing").scale == "yes_no_dk"
    assert scale.codes == ("yes", "no") and [(m.code, m.meaning) for m in scale.missing] == [
        ("88", "unknown"), ("-99", "declined")]
    ladder = inst.scale_of("ladder_home")
    assert ladder.type == "ordinal" and [c.value for c in ladder.categories] == [1.0, 2.0, 3.0, 4.0]


def test_select_multiple_becomes_binary_items_and_selected_routing_is_read(kobo):
    inst, report = kobo
    assert [i.id for i in inst.items if i.id.startswith("places")] == ["places___park", "places___station",
                                                                       "places___other"]
    assert any(x.item == "field:places" and x.what == "select_multiple" for x in report)
    # the text question shown when 'other' is selected is free text: reported, not kept
    assert any(x.item == "field:places_other" for x in report)


def test_groups_are_sections_with_their_relevant_as_routing(kobo):
    inst, report = kobo
    sections = {s.id: s for s in inst.sections}
    assert sections["significant"].applies_when.describe() == (
        "(item 'goes_missing' is yes or item 'older_contacts' is yes)")
    # the nested group keeps its parent's routing as well as its own
    assert sections["under13"].applies_when.describe() == (
        "((item 'goes_missing' is yes or item 'older_contacts' is yes) and age < 13)")
    assert any("inside group 'significant'" in n for n in report.notes)


def test_repeats_or_other_range_integer_and_calculate(kobo):
    inst, report = kobo
    assert any(x.item == "section:online_contacts" and x.what == "repeat" for x in report)
    assert any(x.item == "injuries" and x.what == "or_other" for x in report)
    assert inst.scale_of("safe_rating").codes == ("1", "2", "3", "4", "5")
    assert inst.context["age"].type == "number"
    assert any(x.item == "context:age" and x.what == "range" and ". >= 8 and . <= 25" in x.why for x in report)
    total = inst.get_score("ladder_total")
    assert total.method == "sum" and total.items == ("ladder_home", "ladder_school")
    assert next(x for x in report if x.item == "field:flag").detail == "if(${goes_missing} = 'yes', 1, 0)"


def test_metadata_questions_and_notes_are_skipped_quietly(kobo):
    inst, report = kobo
    ids = {i.id for i in inst.items} | set(inst.context)
    assert not ids & {"start", "end", "today", "deviceid", "intro"}
    assert not any(x.item in ("field:start", "field:intro") for x in report)


# ---------------------------------------------------------------------------
# malformed forms


def _form(tmp_path: Path, survey: list[list[str]], choices: list[list[str]] | None = None) -> Path:
    folder = tmp_path / "form"
    folder.mkdir()
    with open(folder / "survey.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["type", "name", "label"], *survey])
    with open(folder / "choices.csv", "w", encoding="utf-8", newline="") as fh:
        rows = choices or [["yn", "1", "Yes"], ["yn", "0", "No"]]
        csv.writer(fh).writerows([["list_name", "name", "label"], *rows])
    return folder


@pytest.mark.parametrize(("survey", "choices", "expected"), [
    ([["select_one yn", "q1", "Q"], ["select_won yn", "q2", "Q"]], None,
     "sheet 'survey', row 3, column 'type': 'select_won yn' is not an XLSForm question type"),
    ([["select_one colours", "q1", "Q"]], None,
     "sheet 'survey', row 2, column 'type': the choice list 'colours' is not on the choices sheet"),
    ([["select_one yn", "q1", "Q"], ["select_one yn", "q1", "Q again"]], None,
     "sheet 'survey', row 3, column 'name': the name 'q1' is also used on row 2"),
    ([["select_one yn", "", "Q"]], None, "sheet 'survey', row 2, column 'name': the select one has no name"),
    ([["select_one yn", "1q", "Q"]], None, "sheet 'survey', row 2, column 'name': '1q' is not a valid XLSForm name"),
    ([["select_one yn", "q1", "Q"]], [["yn", "1", "Yes"], ["yn", "", "No"]],
     "sheet 'choices', row 3, column 'name': a choice of list 'yn' has no name"),
    ([["select_one yn", "q1", "Q"]], [["yn", "1", "Yes"], ["yn", "1", "No"]],
     "sheet 'choices', row 3, column 'name': list 'yn' has the choice '1' twice"),
    ([["begin_group", "g", "G"], ["select_one yn", "q1", "Q"]], None, "1 group or repeat not closed"),
    ([["select_one yn", "q1", "Q"], ["end_group", "", ""]], None,
     "sheet 'survey', row 3, column 'type': end group without a matching begin"),
    ([["range", "r", "R"]], None, None),
])
def test_malformed_forms_are_one_line_errors(tmp_path, survey, choices, expected):
    folder = _form(tmp_path, survey, choices)
    if expected is None:  # a range with the default parameters (0 to 10) is fine
        assert from_xlsform(folder).instrument.scale_of("r").codes[-1] == "10"
        return
    with pytest.raises(DefinitionError) as exc:
        from_xlsform(folder)
    message = str(exc.value)
    assert expected in message and "\n" not in message and message.startswith(str(folder))


def test_a_range_with_bad_parameters_names_the_cell(tmp_path):
    folder = tmp_path / "form"
    folder.mkdir()
    with open(folder / "survey.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["type", "name", "label", "parameters"], ["range", "r", "R", "start=a end=5"]])
    with pytest.raises(DefinitionError) as exc:
        from_xlsform(folder)
    assert "sheet 'survey', row 2, column 'parameters'" in str(exc.value)


def test_files_that_are_not_xlsforms(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DefinitionError, match=r"has no survey\.csv") as exc:
        from_xlsform(tmp_path / "empty")
    assert exc.value.exit_code == 2
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.save(tmp_path / "other.xlsx")
    with pytest.raises(DefinitionError, match="has no 'survey' sheet"):
        from_xlsform(tmp_path / "other.xlsx")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(DefinitionError, match="cannot be read as an Excel workbook"):
        from_xlsform(tmp_path / "broken.xlsx")


# ---------------------------------------------------------------------------
# writing


def test_export_writes_a_workbook_with_the_three_sheets(tmp_path):
    import openpyxl

    out, report = to_xlsform("cse-risk-indicators", tmp_path / "cse.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["survey", "choices", "settings"]
    settings = [[c.value for c in row] for row in wb["settings"].iter_rows()]
    assert settings[0] == ["form_title", "form_id", "version", "namespaces"]
    assert settings[1][:3] == ["CSE risk indicators", "cse-risk-indicators", "1.0.0"]
    assert settings[1][3] == 'cseoutcomes="urn:cseoutcomes:xlsform"'
    header = [c.value for c in next(wb["survey"].iter_rows())]
    assert header[:3] == ["type", "name", "label"] and "bind::cseoutcomes:item" in header
    types = [row[0].value for row in wb["survey"].iter_rows(min_row=2)]
    assert types.count("begin_group") == types.count("end_group") == 3
    assert "select_one indicator" in types
    choices = [[c.value for c in row] for row in wb["choices"].iter_rows()]
    assert choices[0] == ["list_name", "name", "label"] and ["indicator", "unknown", "Not known"] in choices
    assert from_xlsform(out).instrument == co.get_instrument("cse-risk-indicators") and report.ok


def test_export_writes_csv_sheets_to_a_folder(tmp_path):
    out, _ = to_xlsform("progress-ladder", tmp_path / "ladder", metadata=False)
    assert sorted(p.name for p in out.iterdir()) == ["choices.csv", "settings.csv", "survey.csv"]
    with open(out / "survey.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["type", "name", "label", "hint", "relevant", "constraint", "calculation"]
    calc = next(r for r in rows if r[1] == "total")
    assert calc[0] == "calculate" and calc[6].startswith("${safety} + ${relationships}")
    mean = next(r for r in rows if r[1] == "mean")
    assert mean[6].endswith(") div 8")


def test_text_starting_with_equals_is_stored_as_text_not_a_formula(tmp_path):
    import openpyxl

    data = co.get_instrument("swemwbs").to_dict()
    data["items"][0]["label"] = "=1+1 is not a formula"
    out, _ = to_xlsform(co.Instrument.from_dict(data), tmp_path / "f.xlsx")
    cell = next(row for row in openpyxl.load_workbook(out)["survey"].iter_rows() if row[1].value == "item_1")[2]
    assert cell.data_type == "s" and cell.value == "=1+1 is not a formula"


def test_control_characters_cannot_go_in_a_workbook_and_are_reported(tmp_path):
    data = co.get_instrument("swemwbs").to_dict()
    data["items"][0]["label"] = "bell\x07 and carriage\r\nreturn"
    out, report = to_xlsform(co.Instrument.from_dict(data), tmp_path / "f.xlsx")
    assert from_xlsform(out).instrument.get_item("item_1").label == "bell and carriage\nreturn"
    assert any(x.what == "text" and "control characters" in x.why for x in report)


def test_section_routing_is_a_group_relevant():
    data = co.get_instrument("cse-risk-indicators").to_dict()
    data["sections"][2]["applies_when"] = {"not": {"any": [{"field": "age", "lt": 10},
                                                            {"item": "in_care", "in": ["no"]}]}}
    inst = co.Instrument.from_dict(data)
    sheets, report = to_xlsform(inst, metadata=False)
    group = next(r for r in sheets["survey"] if r[0] == "begin_group" and r[1] == "significant")
    assert group[4] == "not(${age} < 10 or ${in_care} = 'no')"
    back, _ = from_xlsform(sheets)
    assert back.sections[2].applies_when == inst.sections[2].applies_when
    assert not any(x.item == "section:significant" and x.what == "applies_when" for x in report)
