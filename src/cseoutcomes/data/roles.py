"""Column roles: which column of an export holds the person, the date, each item...

Columns are matched by name after folding case and punctuation ("Person ID",
"person_id" and "PERSON-ID" are the same), against a list of usual names for
each role and against each item's id and label. A column map (a mapping, or a
YAML file given with ``--columns``) names them explicitly. Where no column
matches a role but one comes close, a suggestion says so; nothing is mapped on
a guess.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cseoutcomes.errors import DataError
from cseoutcomes.instruments.schema import Instrument

__all__ = ["IDENTIFIER_ROLES", "ROLES", "ColumnRoles", "normalise_name", "read_column_map", "resolve_columns"]

#: role -> what it holds
ROLES: dict[str, str] = {
    "person": "the young person's identifier (a pseudonym or case number)",
    "date": "the date of the assessment",
    "occasion": "which assessment it is (0 = referral or baseline, 1, 2 ... reviews)",
    "rater": "who rated (young person, worker, ...)",
    "worker": "the worker's identifier",
    "service": "the service or hub",
    "area": "the local authority area",
    "dob": "date of birth",
    "age": "age in years at the assessment",
    "closure_date": "the date the case was closed",
    "closure_reason": "why the case was closed",
}

#: roles whose values identify someone: never shown in messages or reports
IDENTIFIER_ROLES = frozenset({"person", "rater", "worker", "dob"})

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "person": ("person", "person_id", "personid", "young_person", "young_person_id", "yp_id", "ypid", "client",
               "client_id", "child_id", "case_id", "case_number", "case_ref", "pseudonym", "participant_id", "id"),
    "date": ("assessment_date", "date", "date_of_assessment", "assessed_on", "assessment_on", "review_date",
             "date_assessed"),
    "occasion": ("occasion", "review", "review_number", "assessment_number", "wave", "timepoint", "time_point",
                 "visit"),
    "rater": ("rater", "informant", "rated_by", "respondent", "completed_by"),
    "worker": ("worker", "worker_id", "key_worker", "keyworker", "practitioner", "spoke_worker", "caseworker",
               "case_worker"),
    "service": ("service", "service_id", "hub", "hub_id", "team", "project"),
    "area": ("area", "local_authority", "la", "la_code", "region", "locality"),
    "dob": ("dob", "date_of_birth", "birth_date", "birthdate"),
    "age": ("age", "age_at_assessment", "age_years", "age_at_referral"),
    "closure_date": ("closure_date", "date_closed", "closed_on", "closed_date", "case_closed", "end_date",
                     "date_of_closure"),
    "closure_reason": ("closure_reason", "reason_for_closure", "closed_reason", "reason_closed", "closure",
                       "outcome_of_closure"),
}
_BAND_SYNONYMS = ("band", "risk_band", "recorded_band", "risk_level", "risk_category", "category", "level")


def normalise_name(name: Any) -> str:
    """Fold a column name for matching: lower case, runs of other characters become ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).casefold()).strip("_")


@dataclass(frozen=True)
class ColumnRoles:
    """Which column plays which role."""

    roles: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    recency: dict[str, str] = field(default_factory=dict)
    bands: dict[str, str] = field(default_factory=dict)  # score id -> column with the recorded band
    suggestions: tuple[str, ...] = ()
    other: tuple[str, ...] = ()  # columns with no role: treated as free text, never shown

    def column(self, role: str) -> str | None:
        return self.roles.get(role)

    def identifier_columns(self) -> set[str]:
        """Columns whose values are never shown: identifier roles and every column with no role."""
        return {col for role, col in self.roles.items() if role in IDENTIFIER_ROLES} | set(self.other)

    def scoring_columns(self, instrument: Instrument) -> dict[str, str]:
        """The ``columns=`` mapping :func:`cseoutcomes.score` takes: items, recency columns, context fields."""
        out = dict(self.items)
        for item_id, col in self.recency.items():
            out[item_id + instrument.get_item(item_id).recency.column_suffix] = col  # type: ignore[union-attr]
        for name in instrument.context:
            if name in self.roles:
                out[name] = self.roles[name]
        return out

    def describe(self) -> list[str]:
        lines = [f"{role}: '{col}'" for role, col in self.roles.items()]
        lines.append(f"items: {len(self.items)} columns")
        if self.bands:
            lines += [f"recorded band of {s}: '{c}'" for s, c in self.bands.items()]
        return lines


def read_column_map(path: str | Path) -> dict[str, Any]:
    """Read a column map from YAML (``person: Client ID``, ``items: {disclosure: Disclosed?}``)."""
    from cseoutcomes.instruments.loading import read_yaml

    data = read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataError("a column map is a mapping of role or item id to column name", where=str(path),
                        hint="e.g. `person: Client ID` on one line, `items:` with `disclosure: Disclosed?` below",
                        exit_code=2)
    return data


def _check_map(columns: Mapping[str, Any], instrument: Instrument, table: pd.DataFrame) -> dict[str, Any]:
    known_items = {i.id for i in instrument.items}
    known_scores = {s.id for s in instrument.scores}
    flat: dict[str, Any] = {}
    for key, value in columns.items():
        if key == "items":
            if not isinstance(value, Mapping):
                raise DataError("`items` in a column map is a mapping of item id to column name", exit_code=2)
            for item, col in value.items():
                if item not in known_items:
                    close = difflib.get_close_matches(str(item), sorted(known_items), n=1)
                    raise DataError(f"column map: '{item}' is not an item of {instrument.id}",
                                    hint=f"did you mean '{close[0]}'?" if close else "see `cseoutcomes instruments show`",
                                    exit_code=2)
                flat[f"item:{item}"] = col
        elif key == "bands":
            if not isinstance(value, Mapping):
                raise DataError("`bands` in a column map is a mapping of score id to column name", exit_code=2)
            for score, col in value.items():
                if score not in known_scores:
                    raise DataError(f"column map: '{score}' is not a score of {instrument.id}", exit_code=2)
                flat[f"band:{score}"] = col
        elif key in ROLES:
            flat[key] = value
        elif key in known_items:
            flat[f"item:{key}"] = value
        else:
            close = difflib.get_close_matches(str(key), [*ROLES, *sorted(known_items)], n=1)
            raise DataError(f"column map: '{key}' is neither a role ({', '.join(ROLES)}) nor an item",
                            hint=f"did you mean '{close[0]}'?" if close else "check the spelling", exit_code=2)
    for key, col in flat.items():
        if not isinstance(col, str):
            raise DataError(f"column map: '{key.split(':')[-1]}' must name one column", exit_code=2)
        if col not in table.columns:
            close = difflib.get_close_matches(col, [str(c) for c in table.columns], n=1)
            raise DataError(f"column map: '{key.split(':')[-1]}' names column '{col}', which the table does not have",
                            hint=f"did you mean '{close[0]}'?" if close else "check it against the header row",
                            exit_code=2)
    return flat


def resolve_columns(table: pd.DataFrame, instrument: Instrument,
                    columns: Mapping[str, Any] | str | Path | None = None) -> ColumnRoles:
    """Work out each column's role; see the module docstring.

    Examples
    --------
    >>> import pandas as pd, cseoutcomes as co
    >>> t = pd.DataFrame(columns=["Person ID", "Date of assessment", "goal_1", "Goal 2", "goal_3"])
    >>> r = resolve_columns(t, co.get_instrument("goal-based-outcomes"))
    >>> r.roles, sorted(r.items)
    ({'person': 'Person ID', 'date': 'Date of assessment'}, ['goal_1', 'goal_2', 'goal_3'])
    """
    if isinstance(columns, (str, Path)):
        columns = read_column_map(columns)
    if columns is not None and not isinstance(columns, Mapping):
        raise TypeError(f"columns must map roles or item ids to column names (a dict or a YAML file), "
                        f"not {type(columns).__name__}")
    explicit = _check_map(columns or {}, instrument, table)
    by_norm: dict[str, str] = {}
    for col in table.columns:
        by_norm.setdefault(normalise_name(col), str(col))
    taken = set(explicit.values())

    roles: dict[str, str] = {}
    items: dict[str, str] = {}
    recency: dict[str, str] = {}
    bands: dict[str, str] = {}

    def take(norm: str) -> str | None:
        col = by_norm.get(norm)
        if col is not None and col not in taken:
            taken.add(col)
            return col
        return None

    for key, col in explicit.items():
        if key.startswith("item:"):
            items[key[5:]] = col
        elif key.startswith("band:"):
            bands[key[5:]] = col
        else:
            roles[key] = col
    # items first: an item called `age` would otherwise be taken as the age role
    for item in instrument.items:
        if item.id not in items:
            col = take(normalise_name(item.id)) or take(normalise_name(item.label))
            if col is not None:
                items[item.id] = col
        if item.recency is not None:
            col = take(normalise_name(item.id + item.recency.column_suffix))
            if col is None and item.id in items:
                col = take(normalise_name(items[item.id] + item.recency.column_suffix))
            if col is not None:
                recency[item.id] = col
    for role, names in _SYNONYMS.items():
        if role in roles:
            continue
        for name in names:
            col = take(name)
            if col is not None:
                roles[role] = col
                break
    banded = [s for s in instrument.scores if s.bands]
    for s in banded:
        if s.id in bands:
            continue
        col = take(normalise_name(f"{s.id}_band")) or take(normalise_name(f"recorded_{s.id}_band"))
        if col is None and s is banded[0]:
            col = next((c for c in (take(n) for n in _BAND_SYNONYMS) if c is not None), None)
        if col is not None:
            bands[s.id] = col

    other = tuple(str(c) for c in table.columns if str(c) not in taken)
    spare = {normalise_name(c): c for c in other}
    # each spare column is suggested once, for the role or item it resembles most
    best: dict[str, tuple[float, str]] = {}
    targets = [(role, _SYNONYMS[role], f"the {role} column ({ROLES[role]})") for role in
               ("person", "date", "occasion", "dob", "age", "worker", "closure_date", "closure_reason")
               if role not in roles]
    targets += [(item.id, (normalise_name(item.id), normalise_name(item.label)), f"item '{item.id}' ({item.label})")
                for item in instrument.items if item.id not in items]
    for key, names, what in targets:
        guess, score = _near_miss(names, spare)
        if guess and score > best.get(guess, (0.0, ""))[0]:
            best[guess] = (score, f"column '{guess}' looks like {what}; map it with `{key}: {guess}` in a --columns file")
    suggestions = [message for _, message in best.values()]
    return ColumnRoles(roles=roles, items=items, recency=recency, bands=bands,
                       suggestions=tuple(suggestions), other=other)


def _near_miss(names, spare: dict[str, str]) -> tuple[str | None, float]:
    best, score = None, 0.0
    for norm, col in spare.items():
        for name in names:
            ratio = difflib.SequenceMatcher(None, name, norm).ratio()
            # also "client_ref" for "client_id": same stem before the last underscore
            if "_" in name and norm.startswith(name.rsplit("_", 1)[0] + "_"):
                ratio = max(ratio, 0.8)
            if ratio > score:
                best, score = col, ratio
    return (best, score) if score >= 0.78 else (None, 0.0)
