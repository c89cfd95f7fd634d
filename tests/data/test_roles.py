"""Column roles: which column holds the person, the date, each item...

Names are matched ignoring case and punctuation, items also by their label; an
explicit map (a dict or a YAML file) wins; a map that names a column the table
lacks, or a role or item that does not exist, is a DataError with a suggestion;
near misses are suggested and never mapped on a guess.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cseoutcomes as co
from cseoutcomes.data import load_example, resolve_columns, validate
from cseoutcomes.data.roles import IDENTIFIER_ROLES, ROLES, normalise_name, read_column_map

CSE = co.get_instrument("cse-risk-indicators")
ITEMS = [i.id for i in CSE.items]


def header(*columns: str) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))


def example() -> pd.DataFrame:
    return load_example().reset_index(drop=True).astype(object)


# ---------------------------------------------------------------------------
# matching by name


@pytest.mark.parametrize("name, folded", [
    ("Person ID", "person_id"), ("PERSON-ID", "person_id"), ("  person__id ", "person_id"),
    ("Date of assessment", "date_of_assessment"), ("Date (of) Assessment?", "date_of_assessment"),
    ("Going missing: months ago", "going_missing_months_ago"), (7, "7"), ("Référence", "r_f_rence"),
])
def test_normalise_name_folds_case_and_punctuation(name, folded):
    assert normalise_name(name) == folded


@pytest.mark.parametrize("person", ["Person ID", "person_id", "PERSON-ID", "Young person ID", "Case Number", "YP ID"])
@pytest.mark.parametrize("date", ["Date of assessment", "Assessment Date", "ASSESSMENT_DATE", "review date"])
def test_roles_matched_ignoring_case_and_punctuation(person, date):
    roles = resolve_columns(header(person, date, "Occasion", "Key worker", "Date of Birth", "Date closed",
                                   "Reason for closure", "Age at assessment"), CSE)
    assert roles.roles == {"person": person, "date": date, "occasion": "Occasion", "worker": "Key worker",
                           "dob": "Date of Birth", "closure_date": "Date closed",
                           "closure_reason": "Reason for closure", "age": "Age at assessment"}
    assert roles.suggestions == ()


def test_example_columns_all_find_their_roles():
    roles = resolve_columns(example(), CSE)
    assert roles.roles == {"person": "person_id", "date": "assessment_date", "occasion": "occasion",
                           "worker": "worker", "age": "age"}
    assert roles.items == {i: i for i in ITEMS}
    assert set(roles.recency) == {i.id for i in CSE.items if i.recency is not None}
    assert roles.other == ()
    assert roles.suggestions == ()


def test_items_matched_by_id_or_label_ignoring_case():
    roles = resolve_columns(header("person_id", "assessment_date", "Goes missing from home or care",
                                   "Going missing months ago", "DISCLOSURE", "Has been Sexually Assaulted"), CSE)
    assert roles.items["going_missing"] == "Goes missing from home or care"
    assert roles.items["disclosure"] == "DISCLOSURE"
    assert roles.items["sexual_assault"] == "Has been Sexually Assaulted"
    assert roles.recency["going_missing"] == "Going missing months ago"


def test_recency_column_follows_a_label_named_item():
    roles = resolve_columns(header("person_id", "Goes missing from home or care",
                                   "Goes missing from home or care (months ago)"), CSE)
    assert roles.recency == {"going_missing": "Goes missing from home or care (months ago)"}


def test_recorded_band_column_is_found():
    roles = resolve_columns(header("person_id", "assessment_date", "Risk band", *ITEMS), CSE)
    assert roles.bands == {"total": "Risk band"}


def test_each_column_has_at_most_one_role():
    roles = resolve_columns(header("Person ID", "person_id", "id", "client"), CSE)
    assert roles.roles["person"] == "Person ID"
    taken = [*roles.roles.values(), *roles.items.values(), *roles.recency.values(), *roles.bands.values()]
    assert len(taken) == len(set(taken))
    assert set(roles.other) == {"person_id", "id", "client"}


def test_identifier_and_unmapped_columns_are_never_shown():
    roles = resolve_columns(header("person_id", "worker", "rater", "Date of birth", "assessment_date", "Notes",
                                   "Client name", *ITEMS), CSE)
    assert roles.identifier_columns() == {"person_id", "worker", "rater", "Date of birth", "Notes", "Client name"}
    assert {"person", "rater", "worker", "dob"} <= IDENTIFIER_ROLES
    assert "assessment_date" not in roles.identifier_columns()


# ---------------------------------------------------------------------------
# explicit maps


def test_explicit_map_wins_over_matching_names():
    t = header("person_id", "Client Ref", "assessment_date", "going_missing", "Missing episodes", *ITEMS[1:10])
    roles = resolve_columns(t, CSE, columns={"person": "Client Ref", "items": {"going_missing": "Missing episodes"}})
    assert roles.roles["person"] == "Client Ref"
    assert roles.items["going_missing"] == "Missing episodes"
    # the columns the map displaced have no role: never shown, never read
    assert {"person_id", "going_missing"} <= set(roles.other)
    # an item may be mapped at the top level too
    roles = resolve_columns(t, CSE, columns={"going_missing": "Missing episodes"})
    assert roles.items["going_missing"] == "Missing episodes"
    assert roles.roles["person"] == "person_id"


def test_explicit_band_map():
    t = header("person_id", "Level agreed at panel", *ITEMS)
    assert resolve_columns(t, CSE, columns={"bands": {"total": "Level agreed at panel"}}).bands == {
        "total": "Level agreed at panel"}


@pytest.mark.parametrize("as_path", [str, Path])
def test_map_from_a_yaml_file(tmp_path, as_path):
    path = tmp_path / "columns.yaml"
    path.write_text("person: Client Ref\ndate: When seen\nitems:\n  going_missing: 'Missing episodes'\n",
                    encoding="utf-8")
    t = header("person_id", "Client Ref", "When seen", "Missing episodes")
    roles = resolve_columns(t, CSE, columns=as_path(path))
    assert roles.roles["person"] == "Client Ref"
    assert roles.roles["date"] == "When seen"
    assert roles.items["going_missing"] == "Missing episodes"
    assert read_column_map(path) == {"person": "Client Ref", "date": "When seen",
                                     "items": {"going_missing": "Missing episodes"}}


def test_empty_yaml_map_is_no_map(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing mapped yet\n", encoding="utf-8")
    assert read_column_map(path) == {}
    assert resolve_columns(header("Person ID"), CSE, columns=path).roles == {"person": "Person ID"}


def test_yaml_map_that_is_not_a_mapping_is_a_data_error(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- person\n- date\n", encoding="utf-8")
    with pytest.raises(co.DataError) as info:
        read_column_map(path)
    assert info.value.exit_code == 2
    assert "list.yaml" in str(info.value)


def test_validate_reports_the_mapped_column_by_its_own_name(tmp_path):
    """The data lead's export calls the item 'Missing episodes'; the report says so."""
    t = example().rename(columns={"going_missing": "Missing episodes", "person_id": "Client Ref"})
    t.loc[55 % len(t), "Missing episodes"] = "yes - twice"
    path = tmp_path / "columns.yaml"
    path.write_text("person: Client Ref\nitems:\n  going_missing: Missing episodes\n", encoding="utf-8")
    for columns in ({"person": "Client Ref", "items": {"going_missing": "Missing episodes"}}, str(path)):
        report = validate(t, CSE, columns, today="2020-01-01")
        bad = report.issues[report.issues["rule"] == "invalid-category"]
        assert bad["column"].astype(str).tolist() == ["Missing episodes"]
        assert bad["row"].tolist() == [55 % len(t) + 2]
        assert report.issues[report.issues["rule"] == "required-column"].empty


@pytest.mark.parametrize("columns, names, suggestion", [
    ({"person": "Client Reff"}, "Client Reff", "Client Ref"),
    ({"date": "date of asessment"}, "date of asessment", "Date of assessment"),
    ({"items": {"going_missing": "Missing episode"}}, "Missing episode", "Missing episodes"),
])
def test_map_naming_an_absent_column_is_a_data_error_with_a_suggestion(columns, names, suggestion):
    t = header("Client Ref", "Date of assessment", "Missing episodes")
    with pytest.raises(co.DataError) as info:
        resolve_columns(t, CSE, columns=columns)
    text = str(info.value)
    assert f"'{names}'" in text
    assert f"did you mean '{suggestion}'" in text
    assert info.value.exit_code == 2


@pytest.mark.parametrize("columns, suggestion", [
    ({"persn": "Client Ref"}, "person"),
    ({"closure_reasons": "Client Ref"}, "closure_reason"),
    ({"items": {"going_misisng": "Client Ref"}}, "going_missing"),
    ({"going_misisng": "Client Ref"}, "going_missing"),
])
def test_map_naming_an_unknown_role_or_item_is_a_data_error_with_a_suggestion(columns, suggestion):
    with pytest.raises(co.DataError) as info:
        resolve_columns(header("Client Ref"), CSE, columns=columns)
    assert f"did you mean '{suggestion}'" in str(info.value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("columns", [
    {"bands": {"totl": "Client Ref"}},
    {"items": ["going_missing"]},
    {"bands": "Client Ref"},
    {"person": ["Client Ref", "person_id"]},
    {"person": None},
])
def test_malformed_maps_are_data_errors(columns):
    with pytest.raises(co.DataError) as info:
        resolve_columns(header("Client Ref", "person_id"), CSE, columns=columns)
    assert info.value.exit_code == 2


def test_validate_passes_map_errors_on():
    with pytest.raises(co.DataError, match="did you mean 'person'"):
        validate(example(), CSE, {"persn": "person_id"}, today="2020-01-01")


# ---------------------------------------------------------------------------
# near misses: suggested, never mapped


@pytest.mark.parametrize("column, role", [
    ("Client Ref", "person"), ("Persn ID", "person"), ("Date of asessment", "date"),
    ("Ocasion", "occasion"), ("Date of brith", "dob"), ("Closure reasn", "closure_reason"),
])
def test_near_miss_role_is_suggested_not_mapped(column, role):
    roles = resolve_columns(header(column, *ITEMS), CSE)
    assert role not in roles.roles
    assert column in roles.other
    hits = [s for s in roles.suggestions if f"'{column}'" in s and f"the {role} column" in s]
    assert len(hits) == 1, roles.suggestions
    assert f"`{role}: {column}`" in hits[0]  # says how to map it


@pytest.mark.parametrize("column, role", [
    ("Date of asessment", "date"), ("Date of brith", "dob"), ("Closure reasn", "closure_reason"),
])
def test_near_miss_column_gets_one_suggestion_for_its_best_role(column, role):
    roles = resolve_columns(header(column, *ITEMS), CSE)
    hits = [s for s in roles.suggestions if f"'{column}'" in s]
    assert len(hits) == 1, roles.suggestions
    assert f"the {role} column" in hits[0]


@pytest.mark.parametrize("column, item", [
    ("Going Misssing", "going_missing"), ("older_asociates", "older_associates"),
    ("Goes missing from home or car", "going_missing"),
])
def test_near_miss_item_is_suggested_not_mapped(column, item):
    roles = resolve_columns(header("person_id", "assessment_date", column), CSE)
    assert item not in roles.items
    hits = [s for s in roles.suggestions if f"'{column}'" in s]
    assert len(hits) == 1, roles.suggestions
    assert f"item '{item}'" in hits[0]
    assert f"`{item}: {column}`" in hits[0]


def test_near_miss_reaches_the_report_and_the_item_is_reported_missing():
    t = example().rename(columns={"going_missing": "Going Misssing", "person_id": "Client Ref"})
    report = validate(t, CSE, today="2020-01-01")
    assert any("Going Misssing" in n and "going_missing" in n for n in report.notes)
    assert any("Client Ref" in n and "person" in n for n in report.notes)
    required = report.issues[report.issues["rule"] == "required-column"]["message"].str.cat(sep="\n")
    assert "going_missing" in required and "young person" in required
    assert not report.ok


def test_unrelated_columns_get_no_suggestion():
    roles = resolve_columns(header("person_id", "assessment_date", "Colour", "Notes", "Hub funding stream", *ITEMS),
                            CSE)
    assert roles.suggestions == ()


def test_roles_list_is_documented():
    assert set(ROLES) >= {"person", "date", "occasion", "rater", "worker", "dob", "age", "closure_date",
                          "closure_reason"}
    assert all(isinstance(v, str) and v for v in ROLES.values())
