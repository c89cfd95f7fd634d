"""Frictionless Table Schema v2 (https://datapackage.org/standard/table-schema/) for assessment tables.

``check_descriptor`` below encodes the specification's rules for the parts we write: ``fields`` an
array of descriptors with unique ``name``s; ``type`` one of the listed types; ``categories`` only on
``string`` and ``integer`` fields, an array of objects with unique ``value``s and unique ``label``s;
``categoriesOrdered`` a boolean, present only with ``categories``; ``missingValues`` (schema or field
level) an array of unique strings or of objects with a unique string ``value`` and optional
``label``; ``constraints`` with known keys; ``fieldsMatch`` one of exact, equal, subset, superset,
partial. ``check_table`` applies a schema to rows as a Table Schema validator would (missing values
first, then type and categories), so a table the schema accepts can be checked against
:func:`cseoutcomes.validate`.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from _interop_support import instruments
from hypothesis import HealthCheck, given, settings

import cseoutcomes as co
from cseoutcomes.instruments.interop import to_table_schema
from cseoutcomes.testing import generate_responses

TYPES = {"string", "number", "integer", "boolean", "object", "array", "list", "datetime", "date", "time", "year",
         "yearmonth", "duration", "geopoint", "geojson", "any"}
CONSTRAINTS = {"required", "unique", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
               "exclusiveMaximum", "jsonSchema", "pattern", "enum"}


def _missing_ok(values) -> bool:
    if not isinstance(values, list):
        return False
    if all(isinstance(v, str) for v in values):
        return len(set(values)) == len(values)
    keys = [v.get("value") for v in values if isinstance(v, dict)]
    return (len(keys) == len(values) and all(isinstance(k, str) for k in keys) and len(set(keys)) == len(keys)
            and all(set(v) <= {"value", "label"} for v in values))


def check_descriptor(schema: dict) -> list[str]:
    problems = []
    names = [f.get("name") for f in schema["fields"]]
    if len(names) != len(set(names)):
        problems.append("field names repeat")
    if schema.get("fieldsMatch", "exact") not in ("exact", "equal", "subset", "superset", "partial"):
        problems.append("fieldsMatch")
    if "missingValues" in schema and not _missing_ok(schema["missingValues"]):
        problems.append("schema missingValues")
    for f in schema["fields"]:
        name = f.get("name")
        if not isinstance(name, str) or not name:
            problems.append("a field without a name")
        if f.get("type", "any") not in TYPES:
            problems.append(f"{name}: type")
        if "categories" in f:
            if f["type"] not in ("string", "integer"):
                problems.append(f"{name}: categories on a {f['type']} field")
            values = [c["value"] for c in f["categories"]]
            labels = [c["label"] for c in f["categories"] if "label" in c]
            if len(set(map(str, values))) != len(values) or len(set(labels)) != len(labels):
                problems.append(f"{name}: categories repeat")
            if f["type"] == "integer" and not all(isinstance(v, int) for v in values):
                problems.append(f"{name}: integer categories")
        if "categoriesOrdered" in f and (not isinstance(f["categoriesOrdered"], bool) or "categories" not in f):
            problems.append(f"{name}: categoriesOrdered")
        if "missingValues" in f and not _missing_ok(f["missingValues"]):
            problems.append(f"{name}: missingValues")
        if not set(f.get("constraints", {})) <= CONSTRAINTS:
            problems.append(f"{name}: constraints")
    return problems


def check_table(schema: dict, table: pd.DataFrame) -> list[str]:
    """Cell errors ``(row, field)`` as a Table Schema validator reports them (fieldsMatch subset)."""
    errors = []
    default_missing = schema.get("missingValues", [""])
    for f in schema["fields"]:
        if f["name"] not in table.columns:
            errors.append(f"missing column {f['name']}")
            continue
        missing = f.get("missingValues", default_missing)
        missing = {m["value"] if isinstance(m, dict) else m for m in missing}
        allowed = {str(c["value"]) for c in f.get("categories", [])}
        for row, value in table[f["name"]].items():
            text = "" if pd.isna(value) else str(value)
            if text in missing:
                if f.get("constraints", {}).get("required"):
                    errors.append(f"{row}:{f['name']} required")
                continue
            try:
                if f["type"] == "integer":
                    text = str(int(text))
                elif f["type"] == "number":
                    number = float(text)
                    if number < f.get("constraints", {}).get("minimum", -math.inf):
                        errors.append(f"{row}:{f['name']} minimum")
                elif f["type"] == "date":
                    pd.Timestamp(text)
            except ValueError:
                errors.append(f"{row}:{f['name']} type")
                continue
            if allowed and text not in allowed:
                errors.append(f"{row}:{f['name']} category")
    return errors


@pytest.mark.parametrize("iid", ["cse-risk-indicators", "progress-ladder", "swemwbs", "goal-based-outcomes"])
def test_schema_follows_the_specification(iid):
    schema, _ = to_table_schema(iid)
    assert check_descriptor(schema) == []
    assert schema["$schema"] == "https://datapackage.org/profiles/2.0/tableschema.json"
    assert schema["fieldsMatch"] == "subset" and schema["missingValues"] == [""]
    json.dumps(schema)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instruments())
def test_schema_of_any_instrument_follows_the_specification(inst):
    schema, report = to_table_schema(inst)
    assert check_descriptor(schema) == []
    names = [f["name"] for f in schema["fields"]]
    for item in inst.items:  # every item is a column, or the report says why not
        assert item.id in names or any(x.item == item.id and x.what == "id" for x in report)


def test_checker_catches_a_broken_descriptor():
    schema, _ = to_table_schema("progress-ladder")
    broken = json.loads(json.dumps(schema))
    broken["fields"][4]["categories"][1]["label"] = broken["fields"][4]["categories"][0]["label"]
    broken["fields"][5]["type"] = "number"
    broken["fields"].append(dict(broken["fields"][0]))
    assert set(check_descriptor(broken)) == {"field names repeat", "relationships: categories on a number field",
                                             "safety: categories repeat"}


def test_items_have_categories_labels_order_and_missing_values():
    schema, _ = to_table_schema("cse-risk-indicators")
    fields = {f["name"]: f for f in schema["fields"]}
    disclosure = fields["disclosure"]
    assert disclosure["type"] == "string" and disclosure["categoriesOrdered"] is True
    assert disclosure["categories"] == [{"value": "no", "label": "Not present"},
                                        {"value": "possible",
                                         "label": "Possibly present - concern without confirmation"},
                                        {"value": "yes", "label": "Present"}]
    assert disclosure["missingValues"] == [{"value": "", "label": "blank (not answered)"},
                                           {"value": "unknown", "label": "Not known"},
                                           {"value": "not_asked", "label": "Not assessed"}]
    assert fields["disclosure_months_ago"] == {"name": "disclosure_months_ago", "type": "number",
                                               "title": "Has told someone they are being sexually exploited: "
                                                        "months since last present",
                                               "description": "Blank means present now.", "constraints": {"minimum": 0}}
    assert fields["age"]["type"] == "number" and fields["person_id"]["constraints"] == {"required": True}
    ladder = {f["name"]: f for f in to_table_schema("progress-ladder")[0]["fields"]}
    assert ladder["safety"]["type"] == "integer" and ladder["safety"]["categories"][0] == {
        "value": 1, "label": "Not yet: things are very hard here"}
    assert ladder["rater"]["description"] == "One of: young_person, worker."


@pytest.mark.parametrize("iid", ["cse-risk-indicators", "progress-ladder"])
def test_a_table_the_schema_accepts_is_one_validate_accepts(iid):
    inst = co.get_instrument(iid)
    schema, _ = to_table_schema(inst)
    table = generate_responses(inst, n=40, seed=1).astype("string")
    table = table.rename(columns={c: {"person": "person_id", "date": "assessment_date"}.get(c, c)
                                  for c in table.columns})
    for f in schema["fields"]:  # generated data leave out optional columns; add them blank
        if f["name"] not in table.columns:
            table[f["name"]] = pd.array([pd.NA] * len(table), dtype="string")
    table["person_id"] = [f"P{i // 2}" for i in range(len(table))]
    table["occasion"] = [str(i % 2) for i in range(len(table))]
    table["assessment_date"] = ["2020-01-01" if i % 2 == 0 else "2020-06-01" for i in range(len(table))]
    if "rater" in table.columns:
        table["rater"] = "worker"
    assert check_table(schema, table) == []
    report = co.validate(table, inst, today="2024-01-01")
    assert report.ok, report.issues.head().to_string()
    bad = table.copy()
    item = inst.items[0].id
    bad.loc[bad.index[0], item] = "maybe"
    errors = check_table(schema, bad)  # a category error (string field) or a type error (integer field)
    assert errors in ([f"{bad.index[0]}:{item} category"], [f"{bad.index[0]}:{item} type"])
    assert not co.validate(bad, inst, today="2024-01-01").ok  # and cseoutcomes rejects it too


def test_losses_name_what_a_table_schema_cannot_say():
    _, report = to_table_schema("cse-risk-indicators")
    whats = {(x.item, x.what) for x in report}
    assert ("score:total", "score") in whats and ("disclosure", "recency") in whats
    assert ("section:significant", "section") in whats and ("scale:indicator", "missing") in whats
    assert any("compares values exactly" in n for n in report.notes)


def test_schema_to_a_file(tmp_path):
    out, _ = to_table_schema("swemwbs", tmp_path / "swemwbs.schema.json")
    assert json.loads(out.read_text(encoding="utf-8"))["name"] == "swemwbs"
