"""FHIR R4 Questionnaire (https://hl7.org/fhir/R4/questionnaire.html), JSON.

Rules checked against the specification: ``resourceType`` Questionnaire with a ``status``; every item
has a ``linkId``, unique in the resource, and a ``type``; ``choice`` items list ``answerOption``
``valueCoding`` entries; ``group`` items hold ``item``s and may have ``enableWhen`` (``question``,
``operator`` one of exists = != > < >= <=, and an ``answer[x]``) with ``enableBehavior`` all/any
required when there is more than one test (que-12); resource ids are ``[A-Za-z0-9\\-\\.]{1,64}``;
``name`` is a computable name ``[A-Z]([A-Za-z0-9_]){0,254}``. Values of options come from the
``itemWeight`` extension (http://hl7.org/fhir/StructureDefinition/itemWeight, on answerOption), which
earlier releases called ``ordinalValue``; missing codes are from the data-absent-reason code system
(http://terminology.hl7.org/CodeSystem/data-absent-reason).

The fixture ``interop_fixtures/fhir_support_check.json`` is our own wording and reproduces what
published Questionnaires do: a contained ValueSet with ``ordinalValue`` on its concepts,
``ordinalValue`` on answerOption, the older ``iso21090-CO-value`` on a coding, an option with a
display but no code, LOINC-style linkIds (``/group/item``, ``risk.1``), nested groups, display items,
``repeats``, ``open-choice``, an external value set, an ``exists`` test and an SDC calculated total.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import cseoutcomes as co
from cseoutcomes.errors import DefinitionError
from cseoutcomes.instruments.interop import from_fhir, to_fhir
from cseoutcomes.instruments.interop.fhir import DAR, ITEM_WEIGHT

FIXTURE = Path(__file__).parent / "interop_fixtures" / "fhir_support_check.json"


@pytest.fixture(scope="module")
def support():
    return from_fhir(FIXTURE)


def test_identity_description_and_copyright(support):
    inst, report = support
    assert inst.id == "support-check-v2" and inst.title == "Support check (example questionnaire)"
    assert inst.description.startswith("A short check") and inst.version == "1.0.0"
    assert inst.licence.notice == "Example wording (c) cseoutcomes test fixtures, CC0."
    assert any(x.what == "version" and "'2.1'" in x.why for x in report)


def test_values_from_ordinal_value_item_weight_and_co_value(support):
    inst, _ = support
    assert [(c.code, c.value) for c in inst.scale_of("wellbeing_sleep").categories] == [
        ("never", 0.0), ("sometimes", 1.0), ("often", 2.0)]  # contained ValueSet, ordinalValue on concepts
    assert [c.value for c in inst.scale_of("wellbeing_calm").categories] == [1.0, 2.0, 3.0]  # itemWeight
    assert [c.value for c in inst.scale_of("risk_1").categories] == [0.0, 1.0]  # iso21090-CO-value on the coding
    assert inst.get_item("wellbeing_sleep").scale == inst.get_item("wellbeing_eating").scale


def test_data_absent_reason_options_are_missing_codes(support):
    inst, _ = support
    assert [(m.code, m.label, m.meaning) for m in inst.scale_of("wellbeing_calm").missing] == [
        ("asked-declined", "Did not want to answer", "declined")]


def test_an_option_with_a_display_but_no_code(support):
    inst, report = support
    assert inst.scale_of("risk_2").codes == ("no", "yes", "Not sure")
    assert any("display but no code" in n for n in report.notes)


def test_link_ids_that_are_not_ids_are_renamed_and_reported(support):
    inst, report = support
    assert [i.id for i in inst.items][:3] == ["wellbeing_sleep", "wellbeing_eating", "wellbeing_calm"]
    assert any(x.item == "wellbeing_sleep" and x.what == "id" and "'/wellbeing/sleep'" in x.why for x in report)


def test_enable_when_on_a_group_becomes_routing(support):
    inst, _ = support
    risk = next(s for s in inst.sections if s.id == "risk")
    assert risk.applies_when.describe() == "(item 'wellbeing_sleep' is never or age < 16)"


def test_what_has_no_equivalent_is_reported(support):
    inst, report = support
    by = {(x.item, x.what): x for x in report}
    assert ("field:risk.places", "repeats") in by and inst.get_item("risk_places___park").scale == "selected"
    assert ("risk_other", "open-choice") in by
    assert ("field:risk.lookup", "answerValueSet") in by
    assert by[("field:total", "calculated")].detail == "%resource.repeat(item).answer.value.ordinal().sum()"
    assert by[("risk_2", "routing")].detail == '[{"question":"risk.1","operator":"exists","answerBoolean":true}]'
    assert ("field:worker", "string") in by
    assert inst.context["consent"].type == "boolean" and inst.context["age"].type == "number"


# ---------------------------------------------------------------------------
# malformed resources


@pytest.mark.parametrize(("content", "expected"), [
    ("{not json", "is not valid JSON (Expecting property name enclosed in double quotes at line 1, column 2)"),
    ('<Questionnaire xmlns="http://hl7.org/fhir"/>', "is FHIR XML; only the JSON form is read"),
    ('{"resourceType": "Patient"}', "is a FHIR Patient, not a Questionnaire"),
    ('{"resourceType": "Questionnaire", "status": "draft", "item": [{"type": "choice"}]}',
     "item[0]: the item has no linkId"),
    ('{"resourceType": "Questionnaire", "item": [{"linkId": "a", "type": "choice", "answerOption": '
     '[{"valueCoding": {"code": "1"}}]}, {"linkId": "a", "type": "choice"}]}', "item 'a': the linkId is used twice"),
    ('{"resourceType": "Questionnaire", "item": [{"linkId": "a", "type": "choice", "answerOption": '
     '[{"valueCoding": {"code": "1"}}, {"valueCoding": {"system": "x"}}]}]}',
     "item 'a', answerOption[1]: the option has no code"),
    ('{"resourceType": "Questionnaire", "item": [{"linkId": "g", "type": "group", "item": [{"linkId": "a", '
     '"type": "choice", "answerValueSet": "#nowhere"}]}]}',
     "item 'g' > 'a', answerValueSet: the contained ValueSet '#nowhere' is not in the Questionnaire"),
    ('{"resourceType": "Questionnaire", "item": [{"linkId": "a", "type": "choice", "answerOption": '
     '[{"valueCoding": {"code": "1"}, "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/itemWeight", '
     '"valueString": "high"}]}, {"valueCoding": {"code": "2"}}]}]}',
     "item 'a', answerOption[0]: the item weight is not a number"),
])
def test_malformed_questionnaires_are_one_line_errors_saying_where(tmp_path, content, expected):
    path = tmp_path / "q.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DefinitionError) as exc:
        from_fhir(path)
    message = str(exc.value)
    assert expected in message and "\n" not in message and message.startswith(str(path))


# ---------------------------------------------------------------------------
# writing


def _items(q):
    for item in q.get("item", []):
        yield item
        yield from _items(item)


@pytest.mark.parametrize("iid", ["cse-risk-indicators", "progress-ladder", "swemwbs", "goal-based-outcomes"])
def test_export_follows_the_r4_rules(iid):
    q, _ = to_fhir(iid)
    assert q["resourceType"] == "Questionnaire" and q["status"] in ("draft", "active", "retired", "unknown")
    assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", q["id"]) and re.fullmatch(r"[A-Z][A-Za-z0-9_]{0,254}", q["name"])
    links = [i["linkId"] for i in _items(q)]
    assert len(links) == len(set(links))
    for item in _items(q):
        assert item["type"] in ("group", "display", "choice", "decimal", "boolean", "string", "integer")
        if item["type"] == "group":
            assert item["item"]  # que-1: a group has items
        if item["type"] == "choice":
            for option in item["answerOption"]:
                assert set(option) <= {"valueCoding", "extension"} and option["valueCoding"]["code"]
                for ext in option.get("extension", []):
                    assert ext["url"] == ITEM_WEIGHT and isinstance(ext["valueDecimal"], float)
        if len(item.get("enableWhen", [])) > 1:
            assert item["enableBehavior"] in ("all", "any")  # que-12
    json.dumps(q)  # plain JSON


def test_export_writes_weights_and_data_absent_reasons():
    q, _ = to_fhir("progress-ladder", metadata=False)
    safety = next(i for i in _items(q) if i["linkId"] == "safety")
    first = safety["answerOption"][0]
    assert first == {"valueCoding": {"code": "1", "display": "Not yet: things are very hard here"},
                     "extension": [{"url": ITEM_WEIGHT, "valueDecimal": 1.0}]}
    missing = [o["valueCoding"] for o in safety["answerOption"] if o["valueCoding"].get("system") == DAR]
    assert [(m["code"], m["display"]) for m in missing] == [
        ("not-asked", "Not asked at this assessment"), ("asked-declined", "Chose not to answer"),
        ("unknown", "Not known")]


def test_export_writes_routing_as_enable_when_and_reads_it_back():
    data = co.get_instrument("cse-risk-indicators").to_dict()
    data["sections"][2]["applies_when"] = {"any": [{"item": "going_missing", "in": ["yes", "possible"]},
                                                   {"field": "age", "lt": 13}]}
    inst = co.Instrument.from_dict(data)
    q, report = to_fhir(inst, metadata=False)
    group = next(i for i in _items(q) if i["linkId"] == "significant")
    assert group["enableBehavior"] == "any" and group["enableWhen"] == [
        {"question": "going_missing", "operator": "=", "answerCoding": {"code": "yes"}},
        {"question": "going_missing", "operator": "=", "answerCoding": {"code": "possible"}},
        {"question": "age", "operator": "<", "answerDecimal": 13.0}]
    back, _ = from_fhir(q)
    assert back.sections[2].applies_when == inst.sections[2].applies_when
    assert not any(x.what == "applies_when" for x in report)


def test_routing_deeper_than_one_level_is_reported():
    data = co.get_instrument("cse-risk-indicators").to_dict()
    data["sections"][2]["applies_when"] = {"all": [{"item": "going_missing", "in": ["yes", "possible"]},
                                                   {"field": "age", "lt": 13}]}
    _, report = to_fhir(co.Instrument.from_dict(data), metadata=False)
    loss = next(x for x in report if x.item == "section:significant" and x.what == "applies_when")
    assert "two levels" in loss.why


def test_scores_are_noted_as_not_representable():
    _, report = to_fhir("swemwbs", metadata=False)
    assert any(x.item == "score:metric" and x.what == "score" and "calculatedExpression" in x.why for x in report)


def test_export_to_a_file_and_back(tmp_path):
    out, _ = to_fhir("goal-based-outcomes", tmp_path / "gbo.json")
    assert json.loads(out.read_text(encoding="utf-8"))["resourceType"] == "Questionnaire"
    assert from_fhir(out).instrument == co.get_instrument("goal-based-outcomes")
    # JSON text is accepted as well as a dict or a path
    assert from_fhir(out.read_text(encoding="utf-8")).instrument == co.get_instrument("goal-based-outcomes")
