"""From codings to data: the framework matrix (cases x codes) and the indicator table (person x indicator).

The framework matrix charts coded evidence case by case (Gale et al. 2013,
*BMC Medical Research Methodology* 13:117): presence, number of codings, or
the coded text of every code in every case. The indicator table turns the codes
that a codebook links to an outcome indicator (``Code.indicator``) into one
0/1 column per indicator and one row per person, ready to join to assessment
data so coded evidence can enter a :class:`~cseoutcomes.ChangeModel` as a
covariate (or be modelled as an outcome of its own).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from cseoutcomes.coding.segments import CodedSegments
from cseoutcomes.errors import DataError

__all__ = ["framework_matrix", "indicator_table", "join_indicators"]

CONSENSUS = ("any", "all", "majority")


def _applied(segments: CodedSegments, consensus: str) -> pd.DataFrame:
    """(case, code) -> whether the code is taken as present under the consensus rule."""
    if consensus not in CONSENSUS:
        raise DataError(f"consensus must be one of {CONSENSUS}, not {consensus!r}", where="consensus")
    t = segments.table
    coders_per_case = t.groupby("case")["coder"].nunique()
    applied = t.groupby(["case", "code"])["coder"].nunique().rename("coders").reset_index()
    applied["of"] = applied["case"].map(coders_per_case)
    need = {"any": 1, "all": applied["of"], "majority": applied["of"] // 2 + 1}[consensus]
    return applied[applied["coders"] >= need]


def framework_matrix(segments: CodedSegments, value: Literal["presence", "count", "text"] = "presence", *,
                     consensus: Literal["any", "all", "majority"] = "any", coder: str | None = None,
                     separator: str = "\n---\n") -> pd.DataFrame:
    """Cases x codes: whether each code was applied, how often, or the coded text.

    Every case is a row and every code of the codebook (or every code used) a
    column, in codebook order, so empty cells are real absences.

    Parameters
    ----------
    value
        ``"presence"`` (bool), ``"count"`` (number of codings) or ``"text"``
        (the ``text`` of the codings joined with ``separator``; empty where none).
    consensus
        With several coders, when a code counts as present in a case: ``"any"``
        coder applied it (default), ``"all"`` coders who coded the case did, or
        a ``"majority"`` of them. Counts and text use the codings of the coders
        that meet it.
    coder
        Use one coder's codings only.
    """
    if value not in ("presence", "count", "text"):
        raise DataError(f"value must be 'presence', 'count' or 'text', not {value!r}", where="value")
    seg = segments
    if coder is not None:
        if coder not in segments.coders:
            raise DataError(f"no codings by coder {coder!r}", where="coder", hint=f"coders: {segments.coders}")
        seg = CodedSegments(segments.table[segments.table["coder"] == coder], segments.codebook)
    cases = sorted(segments.table["case"].unique())
    codes = _all_codes(segments)
    present = _applied(seg, consensus)
    keep = seg.table.merge(present[["case", "code"]], on=["case", "code"])
    if value == "presence":
        out = pd.DataFrame(False, index=pd.Index(cases, name="case"), columns=codes)
        for case, code in zip(present["case"], present["code"], strict=True):
            out.loc[case, code] = True
    elif value == "count":
        counts = keep.groupby(["case", "code"]).size()
        out = counts.unstack(fill_value=0).reindex(index=cases, columns=codes, fill_value=0).astype(int)
        out.index.name = "case"
    else:
        text = keep[keep["text"] != ""].groupby(["case", "code"])["text"].agg(separator.join)
        out = text.unstack(fill_value="").reindex(index=cases, columns=codes, fill_value="")
        out.index.name = "case"
    out.columns.name = "code"
    return out


def _all_codes(segments: CodedSegments) -> list[str]:
    if segments.codebook is not None:
        return [code.id for top in segments.codebook.codes for _, code in top.walk()]
    return segments.codes


def indicator_table(segments: CodedSegments, *, person: dict[str, str] | pd.Series | None = None,
                    consensus: Literal["any", "all", "majority"] = "any",
                    include_children: bool = True) -> pd.DataFrame:
    """Person x indicator: 1 where a code linked to the indicator was applied to the person's case, else 0.

    Parameters
    ----------
    person
        Case -> person id (dict or Series); default: the case is the person id.
    consensus
        As in :func:`framework_matrix`.
    include_children
        A code's indicator is also fed by its sub-codes (default), since a
        sub-code is a more specific instance of the code.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``person_id``, with one integer column per indicator id and
        every case's person a row (0 = coded and absent).
    """
    book = segments.codebook
    if book is None:
        raise DataError("an indicator table needs the codebook the codes were checked against",
                        hint="read the codings with codebook=... (e.g. practice-codebook)")
    feeds: dict[str, set[str]] = {}  # code id -> indicator ids it feeds
    for top in book.codes:
        for _, code in top.walk():
            if code.indicator is None:
                continue
            targets = [code.id]
            if include_children:
                targets += [c.id for _, c in code.walk()][1:]
            for t in targets:
                feeds.setdefault(t, set()).add(code.indicator.id)
    indicators = sorted({i for v in feeds.values() for i in v})
    if not indicators:
        raise DataError(f"no code of {book.key} is linked to an indicator", where="codebook",
                        hint="give codes an indicator: in the codebook to build an indicator table")
    cases = sorted(segments.table["case"].unique())
    mapping = pd.Series(cases, index=cases) if person is None else pd.Series(person)
    unmapped = [c for c in cases if c not in mapping.index]
    if unmapped:
        raise DataError(f"{len(unmapped)} coded cases have no person in person=", where="person",
                        hint="map every case to a person id")
    present = _applied(segments, consensus)
    out = pd.DataFrame(0, index=pd.Index(sorted(set(mapping[cases])), name="person_id"), columns=indicators)
    for case, code in zip(present["case"], present["code"], strict=True):
        for ind in feeds.get(code, ()):
            out.loc[mapping[case], ind] = 1
    out.columns.name = "indicator"
    return out


def join_indicators(assessments: pd.DataFrame, indicators: pd.DataFrame, *, person: str = "person_id",
                    prefix: str = "coded_") -> pd.DataFrame:
    """Add the indicator table's columns (``coded_<indicator>``) to every assessment of each person.

    People with assessments but no coded case get blank (missing), not 0: the
    absence of coding is not the absence of the indicator. Rows are never
    dropped or reordered.
    """
    if person not in assessments.columns:
        raise DataError(f"column {person!r} missing from the assessments", where=person,
                        hint="name the person column with person=")
    cols = {c: f"{prefix}{c}" for c in indicators.columns}
    clash = sorted(set(cols.values()) & set(assessments.columns))
    if clash:
        raise DataError(f"the assessments already have columns {clash}", hint="choose another prefix=")
    keys = assessments[person].astype("string").str.strip()
    table = indicators.rename(columns=cols)
    table.index = table.index.astype(str)
    joined = table.reindex(keys.to_numpy())
    out = assessments.copy()
    for c in table.columns:
        out[c] = pd.array(np.where(joined[c].isna(), pd.NA, joined[c]), dtype="Int64")
    return out
