"""Finding and pseudonymising personal data in assessment tables.

Two tools for a service's data lead, to use before a table leaves the service:

- :func:`identifying_columns` is a lint. It looks at each column's name and at
  a sample of its values and reports columns that look like they hold names,
  dates of birth, postcodes, phone numbers, NHS numbers, e-mail addresses or
  long free text. It reports the column and the kind of data, never a value.
- :func:`pseudonymise` replaces the values of chosen columns (usually the
  person identifier) by keyed tokens, so that records of the same person still
  link while the identifier itself is gone.

Why a keyed hash (HMAC) and not a plain hash
--------------------------------------------
Identifiers are short and guessable: case numbers, NHS numbers (ten digits of
which one is a check digit), dates of birth. A plain hash such as
``sha256("YP-0042")`` is the same for everyone, so anyone holding the hashed
table can hash every possible identifier (a billion NHS numbers take minutes
on a laptop) and read the originals back by lookup. HMAC-SHA256 (RFC 2104)
mixes a secret key into the hash: without the key no one can compute the token
of a candidate identifier, so the enumeration fails. The same key always gives
the same token, so a service that keeps its key can pseudonymise each new
export and the tokens still link across exports. Tokens are pseudonyms, not
anonymous data: whoever holds the key (or the original table) can re-identify,
so the table is still personal data under UK GDPR.

Nothing in this module ever prints, logs or raises with a cell value or the
key.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import hmac
import math
import os
import re
import secrets
import unicodedata
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from cseoutcomes.errors import CseOutcomesError, DataError

__all__ = [
    "IdentifyingColumn",
    "PseudonymiseError",
    "identifying_columns",
    "new_key",
    "pseudonymise",
    "valid_nhs_number",
]

Kind = Literal["name", "date_of_birth", "postcode", "phone", "nhs_number", "email", "free_text"]
Evidence = Literal["column name", "values"]

#: the order findings for one column are reported in
KINDS: tuple[Kind, ...] = ("name", "date_of_birth", "postcode", "phone", "nhs_number", "email", "free_text")

#: a column is flagged on its values when more than this share of its sampled non-blank values look like the kind
MIN_SHARE = 0.5

#: long free text: the median non-blank value is longer than this many characters
FREE_TEXT_LENGTH = 40

_KEY_ENV = "CSEOUTCOMES_PSEUDONYM_KEY"
_MIN_KEY_BYTES = 16
_MAKE_KEY = "python -c 'import secrets; print(secrets.token_hex(32))' > key.txt"


class PseudonymiseError(CseOutcomesError):
    """:func:`pseudonymise` cannot run as asked (no usable key, bad options). Exit status 2."""

    exit_code = 2


@dataclass(frozen=True)
class IdentifyingColumn:
    """One column that looks like it holds personal data.

    Attributes
    ----------
    column
        The column's label (as text).
    kind
        What it looks like it holds.
    evidence
        ``"column name"`` when the column's name (or its role) says so,
        ``"values"`` when only its values do.
    share
        The share of the sampled non-blank values that look like ``kind``
        (for ``free_text``: values over 40 characters with a space); ``None``
        when the column has no non-blank values. With ``"column name"``
        evidence it may be low: the name decided.
    message
        One line for a person, naming the column and what to do. Never holds
        a cell value.
    """

    column: str
    kind: Kind
    evidence: Evidence
    share: float | None
    message: str

    def __str__(self) -> str:
        return self.message


# ---------------------------------------------------------------------------
# canonical text of a cell


_INTEGRAL_TEXT = re.compile(r"([0-9]+)\.0+")


def _canonical(value: object) -> str | None:
    """The text a cell stands for, or ``None`` for a blank.

    Stripped and NFC-normalised; whole numbers lose a trailing ``.0`` (Excel
    hands ``123`` over as ``123.0``) so ``123``, ``123.0`` and ``"123"`` agree;
    dates at midnight are ISO dates. Leading zeros in text (``"007"``) are kept.
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number):
            return None
        if number.is_integer() and abs(number) < 2**63:
            return str(int(number))
        return repr(number)
    if isinstance(value, (_dt.datetime, np.datetime64)):
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            return None
        if stamp == stamp.normalize():  # midnight (wall-clock time, for time zones too)
            return stamp.date().isoformat()
        return stamp.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if value is pd.NA:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif not isinstance(value, str):
        try:
            if pd.isna(value):  # type: ignore[call-overload]
                return None
        except (TypeError, ValueError):
            pass
    text = unicodedata.normalize("NFC", str(value)).strip()
    if not text:
        return None
    whole = _INTEGRAL_TEXT.fullmatch(text)
    return whole.group(1) if whole else text


def _factorized_text(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and canonical text of each distinct value (each distinct value is converted once).

    ``texts[codes]`` is the canonical text of every row; the last entry of
    ``texts`` is ``None``, for blanks (code -1).
    """
    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, dicts): convert every row, then factorize the text
        row_texts = pd.Series([_canonical(v) for v in column], dtype=object)
        codes, uniques = pd.factorize(row_texts, use_na_sentinel=True)
    texts = np.empty(len(uniques) + 1, dtype=object)
    texts[:-1] = [_canonical(u) for u in uniques]
    texts[-1] = None
    return codes, texts


def _non_blank_sample(column: pd.Series, n: int) -> pd.Series:
    """The first ``n`` non-blank values as canonical text (object dtype, so Python ``re`` applies)."""
    window = column.iloc[: max(4 * n, 10_000)]
    codes, texts = _factorized_text(window)
    text = texts[codes]
    kept = text[pd.notna(text)]
    if len(kept) < n and len(window) < len(column):
        codes, texts = _factorized_text(column)
        text = texts[codes]
        kept = text[pd.notna(text)]
    return pd.Series(kept[:n], dtype=object)


# ---------------------------------------------------------------------------
# values


_EMAIL = r"[A-Za-z0-9._%+'\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"

# Full UK postcodes (outward and inward code) as in the UK Government Data
# Standards Catalogue / BS 7666 format rules; outward codes alone ("W1") are
# not matched, as they clash with codes such as worker ids.
_POSTCODE = (
    r"GIR ?0AA|"
    r"(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKPSTUW]|"
    r"[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRV-Y]) ?[0-9][ABD-HJLNP-UW-Z]{2}"
)

# UK numbers: 0 then 9 or 10 digits, or +44 / 0044 (optionally "(0)") then the same without the 0.
_PHONE = r"(?:(?:\+|00)44(?:0)?|0)[1-9][0-9]{8,9}"
_PHONE_PUNCTUATION = r"[\s\-().]"

_NHS_FORMAT = r"[0-9]{3}[ \-]?[0-9]{3}[ \-]?[0-9]{4}"

_ISO_DATE = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
_DMY_DATE = r"[0-9]{1,2}[/.\-][0-9]{1,2}[/.\-](?:[0-9]{4}|[0-9]{2})"

_NAME_WORD = r"[^\W\d_]+(?:['’\-][^\W\d_]+)*\.?"
_NAME = rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{1,3}}"
_ASCII_CAPITALISED = r"[A-Z][A-Za-z'’\-]*\.?(?:\s+[A-Z][A-Za-z'’\-]*\.?){1,3}"
# Words that make a two-word capitalised value a category, not a person's name.
_NOT_NAME_WORDS = (  # (no common surnames here: White, Black, Young, Lane, Day are people too)
    r"\b(?:not|known|unknown|yes|no|none|other|n/?a|prefer|say|possible|possibly|maybe|very|high|low|"
    r"medium|moderate|mild|significant|risk|north|south|east|west|central|greater|upper|lower|"
    r"team|service|services|council|county|city|borough|district|region|school|college|academy|"
    r"university|police|health|hospital|nhs|trust|street|road|avenue|social|care|worker|children|"
    r"child|people|family|male|female|asian|mixed|british|irish|caribbean|african|pakistani|indian|"
    r"bangladeshi|chinese|arab|gypsy|traveller|roma|any|background|ethnic|group|level|stage|phase|"
    r"week|month|year|the|and|of|in|at|for)\b"
)

#: smallest share of distinct name-like values among the name-like values (people's names vary; categories repeat)
_NAME_DISTINCT_SHARE = 0.05


def _nhs_check_digits_ok(digits: np.ndarray) -> np.ndarray:
    """Vectorised NHS Number modulus 11 check for an array of 10-digit strings.

    NHS Data Dictionary, "NHS NUMBER" (Modulus 11 check digit): multiply the
    first nine digits by 10, 9, ..., 2; sum; take the remainder on division
    by 11; the check digit is 11 minus the remainder, with 11 read as 0, and a
    result of 10 means the number is invalid. Numbers of one repeated digit
    (``0000000000``, placeholders) also pass the arithmetic and are rejected.
    """
    if len(digits) == 0:
        return np.zeros(0, dtype=bool)
    matrix = np.asarray(digits, dtype="U10").view(np.uint32).reshape(-1, 10).astype(np.int64) - ord("0")
    total = matrix[:, :9] @ np.arange(10, 1, -1)
    check = 11 - total % 11
    check = np.where(check == 11, 0, check)
    ok = (check != 10) & (check == matrix[:, 9])
    return ok & ~(matrix == matrix[:, :1]).all(axis=1)


def valid_nhs_number(value: object) -> bool:
    """Whether ``value`` is a 10-digit NHS number (spaces or hyphens 3-3-4 allowed) with a valid check digit.

    >>> valid_nhs_number("943 476 5919")
    True
    >>> valid_nhs_number("943 476 5918")
    False
    >>> valid_nhs_number(9434765919)
    True
    """
    text = _canonical(value)
    if text is None or not re.fullmatch(_NHS_FORMAT, text):
        return False
    digits = np.array([re.sub(r"[ \-]", "", text)])
    return bool(_nhs_check_digits_ok(digits)[0])


def _looks_like_name(s: pd.Series) -> np.ndarray:
    shaped = s.str.fullmatch(_NAME).to_numpy(dtype=bool)
    capitalised = s.str.istitle().to_numpy(dtype=bool) | (
        s.str.fullmatch(_ASCII_CAPITALISED).to_numpy(dtype=bool) & s.str.contains("[a-z]").to_numpy(dtype=bool))
    category = s.str.lower().str.contains(_NOT_NAME_WORDS).to_numpy(dtype=bool)
    found = shaped & capitalised & ~category & (s.str.len().to_numpy() <= 60)
    if found.any() and s[found].nunique() < _NAME_DISTINCT_SHARE * found.sum():
        return np.zeros(len(s), dtype=bool)  # a handful of repeated values: a category, not people
    return found


def _looks_like_date_of_birth(s: pd.Series, today: pd.Timestamp) -> np.ndarray:
    dates = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    iso = s.str.fullmatch(_ISO_DATE).to_numpy(dtype=bool)
    if iso.any():
        dates[iso] = pd.to_datetime(s[iso], format="ISO8601", errors="coerce").dt.tz_localize(None)
    dmy = s.str.fullmatch(_DMY_DATE).to_numpy(dtype=bool)
    if dmy.any():
        slashed = s[dmy].str.replace(r"[.\-]", "/", regex=True)
        four = slashed.str.len().sub(slashed.str.rfind("/")).eq(5)
        parsed = pd.Series(pd.NaT, index=slashed.index, dtype="datetime64[us]")
        for fmt, rows in (("%d/%m/%Y", four), ("%d/%m/%y", ~four), ("%m/%d/%Y", four), ("%m/%d/%y", ~four)):
            todo = rows & parsed.isna()
            if todo.any():
                parsed[todo] = pd.to_datetime(slashed[todo], format=fmt, errors="coerce")
        dates[dmy] = parsed
    plausible = dates.notna() & (dates.dt.year >= 1900) & (dates <= today)
    return plausible.to_numpy(dtype=bool)


def looks_identifying(values: Iterable[object]) -> np.ndarray:
    """Per value: could showing it reveal who someone is?

    True for anything shaped like a name, e-mail address, phone number, full
    postcode, NHS number or date, for text over 30 characters, and for blanks
    that are not text. Validation messages show a bad cell's value only where
    this is False, so a names column exported into an item column is never
    printed.

    >>> looks_identifying(["yes - twice", "Canary Smith", "SW1A 1AA", "07700 900123", "5"]).tolist()
    [False, True, True, True, False]
    """
    s = pd.Series([_canonical(v) or "" for v in values], dtype=object)
    if s.empty:
        return np.zeros(0, dtype=bool)
    compact = s.str.replace(_PHONE_PUNCTUATION, "", regex=True)
    # two to four words of letters, whatever their case, unless a category word shows it is not a name
    name_shaped = s.str.fullmatch(_NAME).to_numpy(dtype=bool) & ~s.str.lower().str.contains(_NOT_NAME_WORDS).to_numpy(
        dtype=bool)
    return (
        name_shaped
        | s.str.contains("@").to_numpy(dtype=bool)
        | compact.str.fullmatch(_PHONE).to_numpy(dtype=bool)
        | s.str.upper().str.fullmatch(_POSTCODE).to_numpy(dtype=bool)
        | s.str.fullmatch(_NHS_FORMAT).to_numpy(dtype=bool)
        | s.str.fullmatch(_ISO_DATE).to_numpy(dtype=bool)
        | s.str.fullmatch(_DMY_DATE).to_numpy(dtype=bool)
        | (s.str.len().to_numpy() > 30)
        | (s == "").to_numpy()
    )


def _value_shares(s: pd.Series, kinds: Iterable[Kind], today: pd.Timestamp) -> dict[Kind, float]:
    """Share of the sample ``s`` (non-blank canonical text) that looks like each kind."""
    shares: dict[Kind, float] = {}
    n = len(s)
    if n == 0:
        return shares
    for kind in kinds:
        if kind == "name":
            hits = _looks_like_name(s)
        elif kind == "date_of_birth":
            hits = _looks_like_date_of_birth(s, today)
        elif kind == "postcode":
            hits = s.str.upper().str.fullmatch(_POSTCODE).to_numpy(dtype=bool)
        elif kind == "phone":
            compact = s.str.replace(_PHONE_PUNCTUATION, "", regex=True)
            hits = compact.str.fullmatch(_PHONE).to_numpy(dtype=bool)
        elif kind == "nhs_number":
            hits = np.array(s.str.fullmatch(_NHS_FORMAT), dtype=bool)  # a writable copy
            if hits.any():
                digits = s[hits].str.replace(r"[ \-]", "", regex=True).to_numpy(dtype="U10")
                hits[hits] = _nhs_check_digits_ok(digits)
        elif kind == "email":
            hits = s.str.fullmatch(_EMAIL).to_numpy(dtype=bool)
        else:  # free_text
            lengths = s.str.len()
            if lengths.median() <= FREE_TEXT_LENGTH:
                shares[kind] = float(((lengths > FREE_TEXT_LENGTH) & s.str.contains(r"\s")).mean())
                continue
            hits = ((lengths > FREE_TEXT_LENGTH) & s.str.contains(r"\s")).to_numpy(dtype=bool)
        shares[kind] = float(hits.mean())
    return shares


# ---------------------------------------------------------------------------
# column names


def _normalise_label(label: object) -> str:
    """Lower-case words of a column label: ``"DateOfBirth"``, ``"date_of_birth"`` -> ``"date of birth"``."""
    text = str(label)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


# Closed list of words that may come before the key word of a name, phone or
# e-mail column ("client name", "home phone", "parent email"); an open list
# would flag "file name" or "school name".
_QUALIFIERS = (
    "child", "client", "youngperson", "yp", "person", "patient", "pupil", "student", "serviceuser", "su",
    "case", "customer", "parent", "parents", "carer", "carers", "mother", "mum", "father", "dad",
    "guardian", "sibling", "worker", "keyworker", "key", "socialworker", "social", "sw", "staff",
    "referrer", "contact", "emergency", "nextofkin", "nok", "home", "work", "mobile", "main", "primary",
    "secondary", "alternative", "alt", "other", "personal", "preferred", "legal", "full", "first", "last",
    "given", "middle", "family", "maiden", "birth", "known", "current", "previous", "former",
)
_Q = "(?:" + "|".join(sorted(_QUALIFIERS, key=len, reverse=True)) + ")*"

_NAME_LABEL = re.compile(
    rf"{_Q}(?:names?|forenames?|surnames?|firstnames?|lastnames?|fullnames?|givennames?|nicknames?|"
    rf"alias|aka|knownas)[0-9]*|nameof{_Q}")
_PHONE_LABEL = re.compile(
    rf"{_Q}(?:telephone|phone|tel|mobile|mob|cellphone|landline)(?:no|nos|num|number|numbers)?[0-9]*|"
    rf"{_Q}contact(?:no|num|number|numbers)[0-9]*")
_EMAIL_LABEL = re.compile(rf"{_Q}(?:email|emails|mail)(?:address|addresses|addr)?[0-9]*")
_NHS_LABEL = re.compile(rf"{_Q}(?:nhs(?:no|num|number|id|ref)?|chi(?:no|num|number))[0-9]*")
_POSTCODE_LABEL = re.compile(rf"postcode|postalcode|(?:^{_Q}zip(?:code)?[0-9]*$)")
_DOB_LABEL = re.compile(r"(?:^| )d o b(?: |$)|(?:^| )dob(?: |$)")
_DOB_COMPACT = re.compile(rf"dateofbirth|birthdate|birthday|dateborn|^{_Q}dob[0-9]*$|^born$")
_FREE_TEXT_WORDS = re.compile(
    r"(?:^| )(?:notes?|comments?|commentary|narrative|free ?text|remarks?|observations?|specify)(?: ?[0-9]+)?$")
_FREE_TEXT_COMPACT = re.compile(
    rf"^{_Q}(?:case|worker|session|additional|further|more)?"
    r"(?:notes|comments|freetext|details|information|info)[0-9]*$")
# Columns whose names say they hold some other date are not read as dates of birth.
_OTHER_DATE_WORDS = frozenset((
    "date", "dated", "dates", "time", "timestamp", "datetime", "when", "day", "created", "updated",
    "modified", "start", "started", "end", "ended", "review", "reviewed", "assessed", "assessment",
    "referral", "referred", "opened", "closed", "due", "visit", "session", "appointment",
    "meeting", "completed", "submitted", "entered", "recorded", "occasion", "period", "week",
    "month", "year", "from", "to", "until", "since",
))


def _kinds_from_label(label: object) -> list[Kind]:
    """The kinds a column label names (``"Client name"`` -> ``["name"]``)."""
    spaced = _normalise_label(label)
    compact = spaced.replace(" ", "")
    if not compact:
        return []
    found: list[Kind] = []
    if _NAME_LABEL.fullmatch(compact):
        found.append("name")
    if _DOB_LABEL.search(spaced) or _DOB_COMPACT.search(compact):
        found.append("date_of_birth")
    if _POSTCODE_LABEL.search(compact):
        found.append("postcode")
    if _PHONE_LABEL.fullmatch(compact):
        found.append("phone")
    if _NHS_LABEL.fullmatch(compact):
        found.append("nhs_number")
    if _EMAIL_LABEL.fullmatch(compact):
        found.append("email")
    if _FREE_TEXT_WORDS.search(spaced) or _FREE_TEXT_COMPACT.fullmatch(compact):
        found.append("free_text")
    return found


def _names_other_date(label: object) -> bool:
    return bool(set(_normalise_label(label).split()) & _OTHER_DATE_WORDS)


def _label_looks_like_data(label: object) -> bool:
    """Whether a header is itself a value (a headerless file's first row): then it is never printed."""
    text = _canonical(label)
    if text is None:
        return False
    upper = text.upper()
    return bool(
        "@" in text
        or re.fullmatch(_POSTCODE, upper)
        or re.fullmatch(_PHONE, re.sub(_PHONE_PUNCTUATION, "", text))
        or re.fullmatch(_NHS_FORMAT, text)
        or re.fullmatch(_ISO_DATE, text)
        or re.fullmatch(_DMY_DATE, text)
    )


def _describe(label: object, position: int) -> str:
    """How a message names a column: its quoted name, or its position if the name looks like data."""
    if _label_looks_like_data(label):
        return f"column {position + 1} (its header looks like a data value: is the header row missing?)"
    return f"column {str(label)!r}"


_WHAT: dict[Kind, str] = {
    "name": "names",
    "date_of_birth": "dates of birth",
    "postcode": "postcodes",
    "phone": "phone numbers",
    "nhs_number": "NHS numbers",
    "email": "e-mail addresses",
    "free_text": "long free text",
}
_ADVICE: dict[Kind, str] = {
    "name": "remove it before analysis, or consider `cseoutcomes pseudonymise`",
    "date_of_birth": "keep age at assessment instead, or consider `cseoutcomes pseudonymise`",
    "postcode": "keep a coarser area (postcode district or local authority) instead, or remove it",
    "phone": "remove it before analysis",
    "nhs_number": "consider `cseoutcomes pseudonymise`, or remove it",
    "email": "remove it before analysis",
    "free_text": "free text often names people and places: remove it, or review it before sharing",
}


def _message(where: str, kind: Kind, evidence: Evidence, share: float | None, role: str | None) -> str:
    if role is not None:
        why = f" (its role is {role!r})"
    elif evidence == "values" and share is not None:
        why = f" ({share:.0%} of sampled values)"
    else:
        why = ""
    return f"{where} looks like it holds {_WHAT[kind]}{why}: {_ADVICE[kind]}"


# ---------------------------------------------------------------------------
# the lint


def identifying_columns(
    table: pd.DataFrame, *, sample: int = 2000, roles: Mapping[str, str] | None = None
) -> list[IdentifyingColumn]:
    """Columns that look like they hold personal data, in table order.

    Each column is checked by its name (``name``, ``Client name``, ``DOB``,
    ``post_code``, ``mobile``, ``NHS No``, ``e-mail``, ``notes``, ...) and by
    the first ``sample`` non-blank values (no randomness: the same table always
    gives the same findings). A column is flagged on its values when more than
    half of the sampled values look like one kind:

    - names: two to four capitalised words of letters, varied enough not to be
      categories (``North West`` and ``Not Known`` are not names);
    - dates of birth: dates (ISO or day/month/year) between 1900 and today, in
      a column whose name does not say it holds another date
      (``assessment_date`` is left alone);
    - postcodes: full UK postcodes (``SW1A 1AA``);
    - phone numbers: UK numbers (``07700 900123``, ``+44 20 7946 0000``);
    - NHS numbers: ten digits, optionally spaced 3-3-4, whose modulus 11 check
      digit is valid (NHS Data Dictionary, "NHS NUMBER"); a column of random
      ten-digit numbers passes the check only about one time in eleven;
    - e-mail addresses;
    - long free text: the median value is over 40 characters and most values
      contain spaces.

    Parameters
    ----------
    table
        The assessment table.
    sample
        How many non-blank values of each column to look at (the first ones).
    roles
        Role name -> column, e.g. ``{"dob": "Born", "date": "When"}``. A column
        whose role names an identifying kind (``dob``, ``date_of_birth``,
        ``name``, ``postcode``, ``phone``, ``email``, ``nhs_number``,
        ``notes``) is reported as that kind; a column with any other role
        (``date``, ``person_id``, ...) is not read as dates of birth. Roles
        naming columns the table lacks are ignored.

    Returns
    -------
    list of IdentifyingColumn
        One finding per column and kind. Messages name the column (or, if its
        header itself looks like a data value, its position) and never a cell
        value.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({
    ...     "Client name": ["Canary Smith", "Robin Jones"],
    ...     "contact": ["07700 900123", "07700 900456"],
    ...     "going_missing": ["yes", "possible"],
    ... })
    >>> for finding in identifying_columns(table):
    ...     print(finding.kind, "|", finding.evidence, "|", finding.message)
    name | column name | column 'Client name' looks like it holds names: remove it before analysis, or consider `cseoutcomes pseudonymise`
    phone | values | column 'contact' looks like it holds phone numbers (100% of sampled values): remove it before analysis
    >>> from cseoutcomes.data import load_example
    >>> identifying_columns(load_example())
    []
    """
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise ValueError("sample must be a positive whole number")
    if not isinstance(table, pd.DataFrame):
        raise TypeError("identifying_columns needs a pandas DataFrame")
    labels = [str(c) for c in table.columns]
    role_of: dict[str, list[str]] = {}
    for role, column in (roles or {}).items():
        role_of.setdefault(str(column), []).append(str(role))
    today = pd.Timestamp.today().normalize()

    findings: list[IdentifyingColumn] = []
    for position, label in enumerate(labels):
        by_name: dict[Kind, str | None] = {kind: None for kind in _kinds_from_label(label)}
        column_roles = role_of.get(label, [])
        for role in column_roles:
            for kind in _kinds_from_label(role):
                by_name[kind] = role
        values = _non_blank_sample(table.iloc[:, position], sample)
        value_kinds = [k for k in KINDS if k != "date_of_birth"
                       or "date_of_birth" in by_name
                       or not (_names_other_date(label) or column_roles)]
        shares = _value_shares(values, value_kinds, today)
        where = _describe(label, position)
        for kind in KINDS:
            share = shares.get(kind)
            if kind in by_name:
                evidence: Evidence = "column name"
            elif share is not None and share > MIN_SHARE:
                evidence = "values"
            else:
                continue
            findings.append(IdentifyingColumn(
                column=label, kind=kind, evidence=evidence, share=share,
                message=_message(where, kind, evidence, share, by_name.get(kind))))
    return findings


# ---------------------------------------------------------------------------
# pseudonymisation


class _Key:
    """Key bytes that never show themselves in a repr, traceback or pickle."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes):
        self._secret = secret

    def __repr__(self) -> str:
        return "<pseudonym key, hidden>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("a pseudonym key cannot be pickled")


def new_key() -> str:
    """A fresh random key: 32 random bytes as 64 hexadecimal characters.

    Save it to a file kept away from the data (see ``docs/privacy.md``) and
    pass that file as ``key_file``. The key's text is the key, as given.

    >>> len(new_key())
    64
    >>> new_key() != new_key()
    True
    """
    return secrets.token_hex(32)


def _key_bytes(value: object, source: str) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            raise PseudonymiseError(f"the pseudonym key ({source}) is not valid text",
                                    hint=f"make a new key: {_MAKE_KEY}") from None
    raise PseudonymiseError(f"the pseudonym key ({source}) must be bytes or text, not {type(value).__name__}")


def _resolve_key(key: object, key_file: str | os.PathLike[str] | None, key_env: str | None) -> _Key:
    given = []
    if key is not None:
        given.append("the key argument")
    if key_file is not None:
        given.append("a key file")
    env_value = os.environ.get(key_env) if key_env else None
    if env_value:
        given.append(f"the environment variable {key_env}")
    if not given:
        env_hint = f", or set the environment variable {key_env}" if key_env else ""
        raise PseudonymiseError("no pseudonym key given",
                                hint=f"give a key file{env_hint}; make a key with: {_MAKE_KEY}")
    if len(given) > 1:
        raise PseudonymiseError(f"the pseudonym key is given {len(given)} ways ({', '.join(given)})",
                                hint="give exactly one, so that tokens are always made with the key you meant")
    if key is not None:
        raw, source, where = _key_bytes(key, "key argument"), "key argument", None
    elif key_file is not None:
        path = Path(key_file)
        where = str(path)
        source = "key file"
        if not path.is_file():
            why = "is a folder, not a key file" if path.is_dir() else "no such key file"
            raise PseudonymiseError(why, where=where, hint=f"check the path, or make a key with: {_MAKE_KEY}")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise PseudonymiseError(f"the key file cannot be read ({exc.strerror})", where=where,
                                    hint="check its permissions") from None
    else:
        raw, source, where = os.fsencode(env_value or ""), f"environment variable {key_env}", None
    raw = raw.rstrip(b"\r\n")
    if len(raw) < _MIN_KEY_BYTES:
        raise PseudonymiseError(f"the pseudonym key ({source}) is too short", where=where,
                                hint=f"use at least {_MIN_KEY_BYTES} random bytes, e.g. `{_MAKE_KEY}`")
    return _Key(raw)


def _column_list(table: pd.DataFrame) -> str:
    shown = [f"<column {i + 1}>" if _label_looks_like_data(c) else repr(str(c)) for i, c in enumerate(table.columns)]
    if len(shown) > 30:
        shown = [*shown[:30], f"and {len(shown) - 30} more"]
    return ", ".join(shown) or "none"


def pseudonymise(
    table: pd.DataFrame,
    columns: Hashable | Iterable[Hashable],
    key: str | bytes | None = None,
    *,
    key_file: str | os.PathLike[str] | None = None,
    key_env: str | None = _KEY_ENV,
    length: int = 16,
    prefix: str = "",
) -> pd.DataFrame:
    """A copy of ``table`` with the named columns' values replaced by keyed tokens.

    Each non-blank value becomes ``prefix`` + the first ``length`` hexadecimal
    characters of HMAC-SHA256(key, canonical text of the value). The canonical
    text is the value stripped of surrounding spaces, with whole numbers
    written without ``.0``: ``123``, ``123.0`` and ``"123"`` (Excel, Parquet
    and CSV versions of one identifier) get the same token, while ``"007"``
    keeps its leading zeros. Blanks stay blank (missing). The same key always
    gives the same tokens, so records still link across exports made with one
    key; a different key gives unrelated tokens. See the module docstring for
    why a keyed hash is needed.

    Parameters
    ----------
    table
        The table; it is not changed.
    columns
        A column name or a list of them. Every column of that name is replaced.
    key
        The key (text or bytes, at least 16 bytes). Give exactly one of
        ``key``, ``key_file`` and the environment variable ``key_env``.
    key_file
        A file holding the key; a trailing newline is ignored (as it is
        wherever the key comes from), so a key saved with ``print`` works.
    key_env
        The environment variable the key may come from
        (``CSEOUTCOMES_PSEUDONYM_KEY``); ``None`` to never read one.
    length
        Hexadecimal characters kept, 12 to 64. 16 (64 bits) makes a collision
        among a million distinct identifiers about a one-in-35-million event.
    prefix
        Text put before each token, e.g. ``"P-"``.

    Raises
    ------
    PseudonymiseError
        No key, more than one key, a key shorter than 16 bytes, an unreadable
        key file, or a bad ``length`` or ``prefix`` (exit status 2). The key
        itself never appears in a message.
    DataError
        A named column is not in the table (exit status 2); the message lists
        the table's column names, never its values.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"person_id": ["YP-001", "YP-002", "YP-001", None], "score": [3, 7, 4, 5]})
    >>> key = "documentation key: never use a key you have seen written down"
    >>> out = pseudonymise(table, "person_id", key=key, key_env=None)
    >>> out["person_id"].tolist()[:3]
    ['889ca98e4c6bf565', '70afa9fec6615a3c', '889ca98e4c6bf565']
    >>> bool(out["person_id"].isna().iloc[3])
    True
    >>> pseudonymise(table, "person_id", key=key, key_env=None, length=12, prefix="P-")["person_id"][0]
    'P-889ca98e4c6b'
    """
    if isinstance(length, bool) or not isinstance(length, int) or not 12 <= length <= 64:
        raise PseudonymiseError("length must be a whole number from 12 to 64", hint="16 is a good default")
    if not isinstance(prefix, str):
        raise PseudonymiseError("prefix must be text")
    if not isinstance(table, pd.DataFrame):
        raise TypeError("pseudonymise needs a pandas DataFrame")
    if isinstance(columns, str) or not isinstance(columns, Iterable):
        columns = [columns]
    wanted = list(dict.fromkeys(columns))
    if not wanted:
        raise PseudonymiseError("no column named to pseudonymise", hint="name the identifier columns")
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        names = ", ".join(repr(str(c)) for c in missing)
        close = difflib.get_close_matches(str(missing[0]), [str(c) for c in table.columns], n=1)
        hint = f"did you mean {close[0]!r}? " if close and not _label_looks_like_data(close[0]) else ""
        raise DataError(f"no column {names} to pseudonymise", exit_code=2,
                        hint=f"{hint}the table's columns are: {_column_list(table)}")

    secret = _resolve_key(key, key_file, key_env)
    key = None  # keep the raw key out of any traceback's locals from here on

    out = table.copy()
    cache: dict[str, str] = {}
    for position, label in enumerate(table.columns):
        if label not in wanted:
            continue
        codes, texts = _factorized_text(table.iloc[:, position])
        tokens = np.empty(len(texts), dtype=object)
        for i, text in enumerate(texts):
            if text is None:
                tokens[i] = None
                continue
            token = cache.get(text)
            if token is None:
                digest = hmac.digest(secret._secret, text.encode("utf-8", "surrogatepass"), "sha256")
                token = cache[text] = prefix + digest.hex()[:length]
            tokens[i] = token
        out.isetitem(position, pd.Series(tokens[codes], index=table.index))
    return out
