"""Specifications of the privacy lint and pseudonymisation (cseoutcomes.data.privacy).

All personal data here is invented: names are birds with common surnames, postcodes
are the format examples used in official guidance (SW1A 1AA, ...), phone numbers are
from Ofcom's ranges reserved for drama (07700 900xxx, 020 7946 0xxx), NHS numbers are
computed here with the check digit algorithm (943 476 5919 is the NHS's documented
test number), and e-mail addresses use the reserved example.org domain.
"""

from __future__ import annotations

import doctest
import pickle
import re
import time
import unicodedata

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cseoutcomes as co
from cseoutcomes import CseOutcomesError, DataError
from cseoutcomes.data import load_example, privacy
from cseoutcomes.data.privacy import (
    IdentifyingColumn,
    PseudonymiseError,
    identifying_columns,
    new_key,
    pseudonymise,
    valid_nhs_number,
)
from cseoutcomes.testing import generate_responses

KEY = "test key: 0123456789abcdef0123456789abcdef"
OTHER_KEY = "another test key: fedcba9876543210fedcba98"
ENV = "CSEOUTCOMES_PSEUDONYM_KEY"


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)


def nhs_check_digit(first_nine: str) -> int | None:
    """NHS Data Dictionary modulus 11 check digit, written out step by step (None: no valid number)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def valid_nhs_numbers(n: int, start: int = 943476591) -> list[str]:
    """``n`` distinct valid NHS numbers, spaced 3-3-4."""
    found: list[str] = []
    base = start
    while len(found) < n:
        nine = f"{base:09d}"
        check = nhs_check_digit(nine)
        if check is not None:
            number = nine + str(check)
            found.append(f"{number[:3]} {number[3:6]} {number[6:]}")
        base += 1
    return found


def invalid_variant(number: str) -> str:
    """The same number with a check digit that does not pass."""
    digits = number.replace(" ", "")
    wrong = (int(digits[9]) + 1) % 10
    return f"{digits[:3]} {digits[3:6]} {digits[6:9]}{wrong}"


NAMES = ["Canary Smith", "Robin Jones", "Wren Taylor", "Finch O'Neil", "Lark Davies-Evans",
         "Heron Brown", "Plover Wilson", "Dunnock Patel"]
DATES_OF_BIRTH = ["2008-03-14", "2007-11-02", "2009-06-30", "2006-01-21", "2008-12-05", "2010-07-17"]
POSTCODES = ["SW1A 1AA", "EC1A 1BB", "W1A 0AX", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT"]
PHONES = ["07700 900123", "07700 900456", "+44 7700 900789", "020 7946 0018", "07700900321"]
EMAILS = ["canary.smith@example.org", "robin.jones@example.org", "wren@example.org", "lark+cse@example.org"]
FREE_TEXT = [
    "Seen with older males near the station on Friday evening, said she was fine.",
    "Missing overnight twice this month; returned with a new phone and would not say who gave it.",
    "Attended the session, talked about school and her friend moving away over the summer.",
    "Worker concerned about contact with an adult met online; strategy meeting requested.",
]
VALUES = {
    "name": NAMES,
    "date_of_birth": DATES_OF_BIRTH,
    "postcode": POSTCODES,
    "phone": PHONES,
    "nhs_number": valid_nhs_numbers(6),
    "email": EMAILS,
    "free_text": FREE_TEXT,
}


def kinds(findings: list[IdentifyingColumn], column: str) -> set[str]:
    return {f.kind for f in findings if f.column == column}


def one_column(values: list[object], column: str = "field_7") -> pd.DataFrame:
    return pd.DataFrame({column: values})


# ---------------------------------------------------------------------------
# NHS number check digit


def test_documented_test_nhs_number_passes_the_check():
    assert nhs_check_digit("943476591") == 9
    assert valid_nhs_number("943 476 5919")
    assert valid_nhs_number("9434765919")
    assert valid_nhs_number(9434765919.0)


def test_wrong_check_digit_fails():
    assert not valid_nhs_number("943 476 5918")
    assert not valid_nhs_number(invalid_variant("943 476 5919"))


def test_numbers_whose_check_would_be_ten_fail():
    nine = next(f"{b:09d}" for b in range(100000000, 100001000) if nhs_check_digit(f"{b:09d}") is None)
    assert not any(valid_nhs_number(nine + str(d)) for d in range(10))


def test_repeated_digit_placeholders_are_not_nhs_numbers():
    assert not valid_nhs_number("0000000000")
    assert not valid_nhs_number("1111111111")


def test_vectorised_check_agrees_with_the_step_by_step_algorithm():
    rng = np.random.default_rng(7)
    numbers = [f"{n:010d}" for n in rng.integers(10**9, 10**10, 2000)]
    expected = [nhs_check_digit(n[:9]) == int(n[9]) and len(set(n)) > 1 for n in numbers]
    assert privacy._nhs_check_digits_ok(np.array(numbers)).tolist() == expected


# ---------------------------------------------------------------------------
# the lint: column names


@pytest.mark.parametrize(("column", "kind"), [
    ("name", "name"), ("first_name", "name"), ("Surname", "name"), ("Client name", "name"),
    ("Full Name", "name"), ("forename", "name"), ("family name", "name"), ("childName", "name"),
    ("dob", "date_of_birth"), ("D.O.B.", "date_of_birth"), ("Date of birth", "date_of_birth"),
    ("birth_date", "date_of_birth"), ("DateOfBirth", "date_of_birth"),
    ("postcode", "postcode"), ("post_code", "postcode"), ("Post Code", "postcode"), ("zip", "postcode"),
    ("phone", "phone"), ("Phone number", "phone"), ("mobile", "phone"), ("Tel No", "phone"),
    ("NHS number", "nhs_number"), ("nhs_no", "nhs_number"), ("NHSNumber", "nhs_number"),
    ("email", "email"), ("E-mail address", "email"), ("parent_email", "email"),
    ("notes", "free_text"), ("Case notes", "free_text"), ("comments", "free_text"),
])
def test_kind_detected_by_column_name(column, kind):
    findings = identifying_columns(one_column(["x", None], column))
    assert [(f.kind, f.evidence) for f in findings] == [(kind, "column name")]


@pytest.mark.parametrize("column", [
    "file_name", "instrument_name", "school name", "country_of_birth", "nhs_trust", "risky_online_contact",
    "mobile_phone_use", "secretive_contact", "assessment_date", "worker", "person_id", "occasion", "age",
])
def test_ordinary_column_names_are_not_flagged(column):
    assert identifying_columns(one_column(["yes", "no"], column)) == []


def test_role_reports_a_column_as_its_kind():
    table = pd.DataFrame({"Born": ["not recorded", None], "going_missing": ["yes", "no"]})
    (finding,) = identifying_columns(table, roles={"dob": "Born"})
    assert (finding.column, finding.kind, finding.evidence) == ("Born", "date_of_birth", "column name")
    assert "role is 'dob'" in finding.message


def test_roles_naming_absent_columns_are_ignored():
    assert identifying_columns(one_column(["yes"], "going_missing"), roles={"dob": "Date of birth"}) == []


# ---------------------------------------------------------------------------
# the lint: values


@pytest.mark.parametrize("kind", list(VALUES))
def test_kind_detected_by_values(kind):
    findings = identifying_columns(one_column(VALUES[kind]))
    assert [(f.kind, f.evidence) for f in findings] == [(kind, "values")]
    assert findings[0].share == pytest.approx(1.0)


def test_day_month_year_dates_of_birth_detected():
    findings = identifying_columns(one_column(["14/03/2008", "02/11/2007", "30.06.2009", "21-01-2006"]))
    assert kinds(findings, "field_7") == {"date_of_birth"}


def test_datetime_column_of_birth_dates_detected():
    findings = identifying_columns(one_column(list(pd.to_datetime(DATES_OF_BIRTH))))
    assert kinds(findings, "field_7") == {"date_of_birth"}


def test_nhs_numbers_stored_as_numbers_detected():
    numbers = [int(n.replace(" ", "")) for n in valid_nhs_numbers(5)]
    assert kinds(identifying_columns(one_column(numbers)), "field_7") == {"nhs_number"}
    floats = [float(n) for n in numbers]
    assert kinds(identifying_columns(one_column(floats)), "field_7") == {"nhs_number"}


def test_invalid_check_digit_numbers_are_not_nhs_numbers():
    invalid = [invalid_variant(n) for n in valid_nhs_numbers(6)]
    assert identifying_columns(one_column(invalid)) == []


def test_random_ten_digit_numbers_are_not_nhs_numbers():
    rng = np.random.default_rng(3)
    numbers = [str(n) for n in rng.integers(10**9, 10**10, 500)]
    assert identifying_columns(one_column(numbers)) == []


def test_share_is_of_sampled_non_blank_values():
    values = [*VALUES["email"][:3], "none given", None, None, None]
    (finding,) = identifying_columns(one_column(values))
    assert finding.share == pytest.approx(0.75)
    assert "75% of sampled values" in finding.message


def test_a_minority_of_matching_values_is_not_flagged():
    assert identifying_columns(one_column([EMAILS[0], "no", "no", "yes"])) == []


def test_sample_is_the_first_non_blank_values():
    values = [None] * 5 + ["yes"] * 10 + EMAILS * 10
    assert identifying_columns(one_column(values), sample=10) == []
    assert kinds(identifying_columns(one_column(values), sample=1000), "field_7") == {"email"}


def test_same_table_gives_same_findings():
    table = pd.DataFrame({k: pd.Series(v) for k, v in VALUES.items()})
    assert identifying_columns(table) == identifying_columns(table)


def test_assessment_dates_are_not_dates_of_birth():
    table = pd.DataFrame({"assessment_date": ["2015-01-12", "2015-04-12", "2016-07-12", "2019-10-12"]})
    assert identifying_columns(table) == []


def test_dates_in_a_column_with_another_role_are_not_dates_of_birth():
    table = pd.DataFrame({"When": DATES_OF_BIRTH, "Seen": DATES_OF_BIRTH})
    assert identifying_columns(table, roles={"date": "Seen"}) == []  # "When" names another date too


def test_future_dates_are_not_dates_of_birth():
    assert identifying_columns(one_column(["2999-01-01", "2998-05-02", "2997-03-04"])) == []


def test_title_case_categories_are_not_names():
    regions = ["North West", "South East", "West Midlands", "Greater London", "Not Known", "Very High Risk"]
    assert identifying_columns(one_column(regions * 50)) == []


def test_ethnicity_categories_are_not_names():
    groups = ["White British", "Black Caribbean", "Mixed White And Black African", "Asian Pakistani",
              "Any Other Background", "Prefer Not To Say"]
    assert identifying_columns(one_column(groups)) == []


def test_a_few_repeated_capitalised_values_are_not_names():
    teams = ["Harbour Project", "Lantern Hub", "Beacon Outreach"] * 200
    assert identifying_columns(one_column(teams)) == []


def test_outward_codes_alone_are_not_postcodes():
    assert identifying_columns(one_column(["SW1A", "W1", "M1", "B33"])) == []


def test_worker_codes_item_codes_and_scores_are_not_flagged():
    table = pd.DataFrame({
        "field_1": ["W1", "W2", "W3", "W12"] * 25,
        "field_2": ["yes", "no", "possible", "unknown"] * 25,
        "field_3": [str(i % 11) for i in range(100)],
        "field_4": np.arange(100) % 11,
        "field_5": ["YP-A", "YP-B", "YP-C", "YP-D"] * 25,
    })
    assert identifying_columns(table) == []


def test_bundled_example_table_has_no_findings():
    assert identifying_columns(load_example()) == []


@pytest.mark.parametrize("instrument_id", ["cse-risk-indicators", "progress-ladder", "goal-based-outcomes", "swemwbs"])
def test_generated_responses_have_no_findings(instrument_id):
    table = generate_responses(co.get_instrument(instrument_id), n=300)
    assert identifying_columns(table) == []


def test_example_with_identifying_columns_added_flags_only_those():
    table = load_example()
    table.insert(1, "Client name", (NAMES * 3)[: len(table)])
    table["contact"] = (PHONES * 4)[: len(table)]
    findings = identifying_columns(table)
    assert [(f.column, f.kind) for f in findings] == [("Client name", "name"), ("contact", "phone")]


def test_findings_come_in_table_order():
    table = pd.DataFrame({"email": EMAILS, "going_missing": ["yes"] * 4, "name": NAMES[:4]})
    assert [f.column for f in identifying_columns(table)] == ["email", "name"]


def test_bad_sample_size_is_refused():
    with pytest.raises(ValueError, match="sample"):
        identifying_columns(one_column(["x"]), sample=0)


# ---------------------------------------------------------------------------
# the lint never repeats a value


CANARY = "Zqcanaryx"


def canary_table() -> pd.DataFrame:
    """Every identifying kind, each column holding the canary (or values unique enough to be canaries)."""
    numbers = valid_nhs_numbers(4, start=123456780)
    return pd.DataFrame({
        "Client name": [f"{CANARY} Smith", "Robin Jones", "Wren Taylor", "Finch Evans"],
        "field_name": [f"{CANARY} Brown", "Heron Brown", "Plover Wilson", "Dunnock Patel"],
        "Date of birth": ["2008-03-14", CANARY, "2009-06-30", "2006-01-21"],
        "field_dob": ["2008-03-15", "2007-11-03", "2009-07-01", "2006-01-22"],
        "postcode": ["SW1A 1AA", CANARY, "M1 1AE", "B33 8TH"],
        "field_post": ["EC1A 1BB", "W1A 0AX", "CR2 6XH", "DN55 1PT"],
        "phone": ["07700 900123", CANARY, "07700 900456", "07700 900457"],
        "field_phone": ["07700 900124", "07700 900125", "07700 900126", "020 7946 0018"],
        "NHS number": [numbers[0], CANARY, numbers[1], numbers[2]],
        "field_nhs": [numbers[3], "943 476 5919", *valid_nhs_numbers(2, start=400000000)],
        "email": [f"{CANARY.lower()}@example.org", "robin@example.org", "wren@example.org", "lark@example.org"],
        "notes": [f"{CANARY} said she met an older man at the station after school.", *FREE_TEXT[:3]],
    })


def test_canary_appears_in_no_message():
    table = canary_table()
    findings = identifying_columns(table)
    assert {f.column for f in findings} == set(table.columns)
    text = "\n".join([*(f.message for f in findings), repr(findings), *(str(f) for f in findings)])
    assert CANARY.lower() not in text.lower()
    for value in table.to_numpy().ravel():
        assert str(value) not in text, "a cell value leaked into a message"


def test_messages_are_one_line():
    table = canary_table()
    table["line\nbreak name"] = NAMES[:4]
    for finding in identifying_columns(table):
        assert "\n" not in finding.message


def test_a_header_that_looks_like_data_is_not_printed():
    # a file read without its header row: the first data row became the header
    header = "canary.header@example.org"
    table = pd.DataFrame({"person_id": ["YP-A", "YP-B"], header: EMAILS[:2]})
    (finding,) = identifying_columns(table)
    assert finding.column == header
    assert header not in finding.message
    assert finding.message.startswith("column 2 ")


def test_lint_prints_and_warns_nothing(capsys, recwarn):
    identifying_columns(canary_table())
    assert capsys.readouterr() == ("", "")
    assert len(recwarn) == 0


# ---------------------------------------------------------------------------
# pseudonymise


def ids_table() -> pd.DataFrame:
    return pd.DataFrame({"person_id": ["YP-A", "YP-B", "YP-A", None, "YP-C"], "score": [1, 2, 3, 4, 5]},
                        index=[10, 11, 12, 13, 14])


def test_tokens_are_hex_of_the_requested_length():
    out = pseudonymise(ids_table(), "person_id", key=KEY)
    tokens = out["person_id"].dropna()
    assert all(re.fullmatch(r"[0-9a-f]{16}", t) for t in tokens)


def test_tokens_are_hmac_sha256_of_the_value():
    import hashlib
    import hmac

    out = pseudonymise(ids_table(), "person_id", key=KEY)
    assert out["person_id"].iloc[0] == hmac.new(KEY.encode(), b"YP-A", hashlib.sha256).hexdigest()[:16]


def test_same_key_gives_same_tokens():
    first = pseudonymise(ids_table(), "person_id", key=KEY)
    again = pseudonymise(ids_table(), "person_id", key=KEY.encode())
    pd.testing.assert_frame_equal(first, again)


def test_same_value_gives_same_token_and_records_still_link():
    out = pseudonymise(ids_table(), "person_id", key=KEY)["person_id"]
    assert out[10] == out[12]
    assert out[10] != out[11] != out[14]


def test_different_key_gives_different_tokens():
    first = pseudonymise(ids_table(), "person_id", key=KEY)["person_id"].dropna()
    second = pseudonymise(ids_table(), "person_id", key=OTHER_KEY)["person_id"].dropna()
    assert not set(first) & set(second)


def test_blanks_stay_blank():
    table = pd.DataFrame({"person_id": ["YP-A", None, np.nan, "", "   ", pd.NA]}, dtype=object)
    out = pseudonymise(table, "person_id", key=KEY)["person_id"]
    assert out.isna().tolist() == [False, True, True, True, True, True]


def test_number_and_text_forms_of_one_id_give_one_token():
    table = pd.DataFrame({"id": [123, "123", 123.0, " 123 ", "123.0", np.int64(123)]}, dtype=object)
    out = pseudonymise(table, "id", key=KEY)["id"]
    assert out.nunique() == 1


def test_id_read_from_excel_and_from_csv_gives_one_token(tmp_path):
    table = pd.DataFrame({"person_id": [1001, 1002, 1003]})
    table.to_excel(tmp_path / "ids.xlsx", index=False)
    table.to_csv(tmp_path / "ids.csv", index=False)
    from_excel = pd.read_excel(tmp_path / "ids.xlsx", dtype=object, engine="openpyxl")
    as_floats = from_excel.astype(float)
    from_csv = pd.read_csv(tmp_path / "ids.csv", dtype=str)
    tokens = [pseudonymise(t, "person_id", key=KEY)["person_id"].tolist() for t in (from_excel, as_floats, from_csv)]
    assert tokens[0] == tokens[1] == tokens[2]


def test_leading_zeros_in_text_are_kept():
    out = pseudonymise(pd.DataFrame({"id": ["007", "7"]}), "id", key=KEY)["id"]
    assert out[0] != out[1]


def test_same_value_gets_same_token_in_every_column():
    table = pd.DataFrame({"person_id": ["YP-A", "YP-B"], "sibling_id": ["YP-B", None]})
    out = pseudonymise(table, ["person_id", "sibling_id"], key=KEY)
    assert out.loc[0, "sibling_id"] == out.loc[1, "person_id"]


@pytest.mark.parametrize("length", [12, 16, 40, 64])
def test_length_option(length):
    out = pseudonymise(ids_table(), "person_id", key=KEY, length=length)["person_id"].dropna()
    assert set(out.str.len()) == {length}


def test_shorter_tokens_are_prefixes_of_longer_ones():
    short = pseudonymise(ids_table(), "person_id", key=KEY, length=12)["person_id"][10]
    full = pseudonymise(ids_table(), "person_id", key=KEY, length=64)["person_id"][10]
    assert full.startswith(short)


def test_prefix_option():
    out = pseudonymise(ids_table(), "person_id", key=KEY, prefix="P-")["person_id"].dropna()
    assert all(re.fullmatch(r"P-[0-9a-f]{16}", t) for t in out)


@pytest.mark.parametrize("length", [11, 65, 0, 16.0, True])
def test_length_out_of_range_is_refused(length):
    with pytest.raises(PseudonymiseError, match="12 to 64") as info:
        pseudonymise(ids_table(), "person_id", key=KEY, length=length)
    assert info.value.exit_code == 2


def test_prefix_must_be_text():
    with pytest.raises(PseudonymiseError, match="prefix"):
        pseudonymise(ids_table(), "person_id", key=KEY, prefix=1)


def test_input_table_and_other_columns_are_untouched():
    table = ids_table()
    before = table.copy()
    out = pseudonymise(table, "person_id", key=KEY)
    pd.testing.assert_frame_equal(table, before)
    pd.testing.assert_series_equal(out["score"], table["score"])
    assert list(out.columns) == list(table.columns)
    assert list(out.index) == list(table.index)


def test_key_never_appears_in_the_output():
    out = pseudonymise(ids_table(), ["person_id"], key=KEY)
    for text in (out.to_csv(), repr(out), out.to_json(), str(out.attrs)):
        assert KEY not in text
        assert KEY.encode().hex() not in text


def test_key_from_a_file(tmp_path):
    path = tmp_path / "key.txt"
    path.write_text(KEY + "\n")
    from_file = pseudonymise(ids_table(), "person_id", key_file=path)
    pd.testing.assert_frame_equal(from_file, pseudonymise(ids_table(), "person_id", key=KEY))


def test_key_file_with_windows_line_ending(tmp_path):
    path = tmp_path / "key.txt"
    path.write_bytes(KEY.encode() + b"\r\n")
    from_file = pseudonymise(ids_table(), "person_id", key_file=str(path))
    pd.testing.assert_frame_equal(from_file, pseudonymise(ids_table(), "person_id", key=KEY))


def test_key_from_the_environment(monkeypatch):
    monkeypatch.setenv(ENV, KEY)
    from_env = pseudonymise(ids_table(), "person_id")
    monkeypatch.delenv(ENV)
    pd.testing.assert_frame_equal(from_env, pseudonymise(ids_table(), "person_id", key=KEY))


def test_key_from_another_environment_variable(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_KEY", KEY)
    from_env = pseudonymise(ids_table(), "person_id", key_env="MY_SERVICE_KEY")
    pd.testing.assert_frame_equal(from_env, pseudonymise(ids_table(), "person_id", key=KEY))


def test_new_key_is_64_hex_characters_and_usable():
    key = new_key()
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert key != new_key()
    assert pseudonymise(ids_table(), "person_id", key=key)["person_id"].notna().sum() == 4


# ---------------------------------------------------------------------------
# pseudonymise: errors


def assert_one_line_exit_2(error: CseOutcomesError) -> None:
    assert error.exit_code == 2
    assert "\n" not in str(error)


def test_no_key_is_refused():
    with pytest.raises(PseudonymiseError, match="no pseudonym key given") as info:
        pseudonymise(ids_table(), "person_id")
    assert_one_line_exit_2(info.value)
    assert ENV in str(info.value)
    assert "secrets.token_hex(32)" in str(info.value)


def test_empty_environment_variable_is_no_key(monkeypatch):
    monkeypatch.setenv(ENV, "")
    with pytest.raises(PseudonymiseError, match="no pseudonym key given"):
        pseudonymise(ids_table(), "person_id")


def test_key_argument_and_key_file_together_are_refused(tmp_path):
    path = tmp_path / "key.txt"
    path.write_text(KEY)
    with pytest.raises(PseudonymiseError, match="given 2 ways") as info:
        pseudonymise(ids_table(), "person_id", key=KEY, key_file=path)
    assert_one_line_exit_2(info.value)
    assert KEY not in str(info.value)


def test_key_argument_and_environment_together_are_refused(monkeypatch):
    monkeypatch.setenv(ENV, OTHER_KEY)
    with pytest.raises(PseudonymiseError, match=f"given 2 ways.*{ENV}") as info:
        pseudonymise(ids_table(), "person_id", key=KEY)
    assert KEY not in str(info.value)
    assert OTHER_KEY not in str(info.value)


def test_environment_is_not_read_when_key_env_is_none(monkeypatch):
    monkeypatch.setenv(ENV, OTHER_KEY)
    out = pseudonymise(ids_table(), "person_id", key=KEY, key_env=None)
    monkeypatch.delenv(ENV)
    pd.testing.assert_frame_equal(out, pseudonymise(ids_table(), "person_id", key=KEY))


@pytest.mark.parametrize("short", ["fifteen bytes!!", b"tiny", "", "0123456789abcde\n"])
def test_short_key_argument_is_refused(short):
    with pytest.raises(PseudonymiseError, match="too short") as info:
        pseudonymise(ids_table(), "person_id", key=short)
    assert_one_line_exit_2(info.value)
    assert "at least 16 random bytes" in str(info.value)
    assert "secrets.token_hex(32)" in str(info.value)
    if short:
        text = short if isinstance(short, str) else short.decode()
        assert text.strip() not in str(info.value)


def test_short_key_file_is_refused(tmp_path):
    path = tmp_path / "key.txt"
    path.write_text("tiny-secret\n")
    with pytest.raises(PseudonymiseError, match="too short") as info:
        pseudonymise(ids_table(), "person_id", key_file=path)
    assert str(path) in str(info.value)
    assert "tiny-secret" not in str(info.value)


def test_short_environment_key_is_refused(monkeypatch):
    monkeypatch.setenv(ENV, "tiny-secret")
    with pytest.raises(PseudonymiseError, match=f"too short.*{ENV}|{ENV}.*too short") as info:
        pseudonymise(ids_table(), "person_id")
    assert "tiny-secret" not in str(info.value)


def test_missing_key_file_is_refused(tmp_path):
    with pytest.raises(PseudonymiseError, match="no such key file") as info:
        pseudonymise(ids_table(), "person_id", key_file=tmp_path / "absent.txt")
    assert_one_line_exit_2(info.value)


def test_key_file_that_is_a_folder_is_refused(tmp_path):
    with pytest.raises(PseudonymiseError, match="folder"):
        pseudonymise(ids_table(), "person_id", key_file=tmp_path)


def test_key_of_the_wrong_type_is_refused():
    with pytest.raises(PseudonymiseError, match="bytes or text"):
        pseudonymise(ids_table(), "person_id", key=12345678901234567890)


def test_missing_column_is_refused_with_the_column_names():
    with pytest.raises(DataError, match="no column 'person id'") as info:
        pseudonymise(ids_table(), "person id", key=KEY)
    assert_one_line_exit_2(info.value)
    message = str(info.value)
    assert "'person_id', 'score'" in message
    assert "did you mean 'person_id'" in message
    assert "YP-A" not in message


def test_missing_column_error_hides_headers_that_look_like_data():
    table = pd.DataFrame({"person_id": ["YP-A"], "canary.header@example.org": ["x"]})
    with pytest.raises(DataError) as info:
        pseudonymise(table, "id", key=KEY)
    assert "canary.header" not in str(info.value)
    assert "<column 2>" in str(info.value)


def test_column_check_comes_before_the_key_is_read():
    with pytest.raises(DataError):
        pseudonymise(ids_table(), "absent")


def test_key_never_appears_in_tracebacks_or_reprs():
    secret = privacy._resolve_key(KEY, None, None)
    assert KEY not in repr(secret)
    assert KEY not in str(secret)
    with pytest.raises(TypeError):
        pickle.dumps(secret)


# ---------------------------------------------------------------------------
# properties and performance


def canonical(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


distinct_ids = st.lists(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="."), min_size=1, max_size=20)
    .filter(lambda s: canonical(s) != ""),
    min_size=1, max_size=200, unique_by=canonical,
)


@settings(max_examples=50, deadline=None)
@given(ids=distinct_ids)
def test_distinct_ids_get_distinct_tokens_in_order(ids):
    table = pd.DataFrame({"person_id": pd.Series(ids, dtype=object), "row": range(len(ids))})
    out = pseudonymise(table, "person_id", key=KEY, key_env=None)
    assert len(out) == len(table)
    assert out["row"].tolist() == list(range(len(ids)))
    assert out["person_id"].nunique() == len(ids)
    one_by_one = [pseudonymise(table.iloc[[i]], "person_id", key=KEY, key_env=None)["person_id"].iloc[0]
                  for i in (0, len(ids) - 1)]
    assert one_by_one == [out["person_id"].iloc[0], out["person_id"].iloc[-1]]


def test_a_million_rows_pseudonymise_quickly():
    ids = pd.Series([f"YP-{i:05d}" for i in range(10_000)]).sample(1_000_000, replace=True, random_state=0)
    table = pd.DataFrame({"person_id": ids.to_numpy()})
    started = time.perf_counter()
    out = pseudonymise(table, "person_id", key=KEY)
    elapsed = time.perf_counter() - started
    assert out["person_id"].nunique() == table["person_id"].nunique()
    assert elapsed < 3, f"pseudonymising 1,000,000 rows took {elapsed:.1f} s"


def test_docstring_examples_run():
    result = doctest.testmod(privacy, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
