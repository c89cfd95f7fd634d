"""Coded segments: who applied which code to which part of which source, checked against a codebook.

One row per coding: ``source`` (document or case file), ``case`` (the young
person or case the source is about; defaults to the source), ``coder``,
``code`` (id, name or ``parent::child`` path of a code in the codebook),
``start`` and ``end`` (character offsets into the source, zero-based, end
exclusive, as in REFI-QDA's ``PlainTextSelection``; both blank when the code
applies to the whole source or case), ``memo``, ``date`` and ``text`` (the
coded quotation, optional). ``memo`` and ``text`` are free text about children:
they are kept but never printed in errors, reports or logs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cseoutcomes._tables import check_unique_columns, spreadsheet_rows
from cseoutcomes.errors import DataError

if TYPE_CHECKING:
    from cseoutcomes.instruments.schema import Instrument

__all__ = ["COLUMNS", "CodedSegments", "read_segments"]

COLUMNS = ("source", "case", "coder", "code", "start", "end", "memo", "date", "text")
"""The columns of a coded-segments table, in order."""
REQUIRED = ("source", "coder", "code")
FREE_TEXT = ("memo", "text")
"""Columns whose values are never shown."""


def _rows_text(rows: Iterable[int], limit: int = 8) -> str:
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _codebook(codebook: Instrument | str | None) -> Instrument | None:
    if codebook is None:
        return None
    from cseoutcomes.instruments import Instrument, get_instrument

    inst = codebook if isinstance(codebook, Instrument) else get_instrument(codebook)
    if inst.kind != "coding_scheme":
        raise DataError(f"{inst.key} is a {inst.kind}, not a codebook (kind coding_scheme)", where="codebook",
                        hint="give the id of a coding scheme, e.g. practice-codebook")
    return inst


def code_lookup(codebook: Instrument) -> dict[str, str]:
    """Every way a code may be written (id, name, id path, name path; case-insensitive) -> its id."""
    out: dict[str, str] = {}
    ambiguous: set[str] = set()
    for top in codebook.codes:
        for parents, code in top.walk():
            ids = (*parents, code.id)
            names = [*(_name_of(codebook, p) for p in parents), code.name]
            for key in (code.id, code.name, "::".join(ids), "::".join(names), "/".join(ids), "/".join(names)):
                k = key.strip().casefold()
                if k in out and out[k] != code.id:
                    ambiguous.add(k)
                out.setdefault(k, code.id)
    for k in ambiguous:  # a name two codes share is not a way to write either
        out.pop(k, None)
    return out


def _name_of(codebook: Instrument, code_id: str) -> str:
    for top in codebook.codes:
        for _, code in top.walk():
            if code.id == code_id:
                return code.name
    return code_id


@dataclass
class CodedSegments:
    """Coded segments, checked (see the module docstring for the columns).

    Attributes
    ----------
    table
        One row per coding, columns :data:`COLUMNS`; ``code`` holds the
        codebook's code id when a codebook was given; ``start``/``end`` are
        nullable integers; ``date`` is a datetime (NaT when not given).
    codebook
        The coding scheme the codes were checked against, or ``None``.
    notes
        What an import skipped or repaired, one line each (no free text).
    """

    table: pd.DataFrame
    codebook: Instrument | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.table)

    @property
    def coders(self) -> list[str]:
        return sorted(self.table["coder"].unique())

    @property
    def codes(self) -> list[str]:
        """Codes in codebook order when there is a codebook, else sorted."""
        used = set(self.table["code"])
        if self.codebook is not None:
            return [c for c in _codebook_order(self.codebook) if c in used]
        return sorted(used)

    @property
    def cases(self) -> list[str]:
        return sorted(self.table["case"].unique())

    @property
    def sources(self) -> list[str]:
        return sorted(self.table["source"].unique())

    def __repr__(self) -> str:
        book = f"; codebook {self.codebook.key}" if self.codebook is not None else ""
        return (f"<CodedSegments: {len(self):,} codings of {len(self.codes)} codes by {len(self.coders)} coders "
                f"in {len(self.sources)} sources ({len(self.cases)} cases){book}>")

    def _repr_html_(self) -> str:
        """Counts only: codings per code and coder (memos and quotations are never shown)."""
        import html

        counts = self.table.groupby(["code", "coder"]).size().unstack(fill_value=0)
        counts = counts.reindex(self.codes)
        return f"<p>{html.escape(repr(self))}</p>" + counts.to_html()

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, codebook: Instrument | str | None = None, *,
                   columns: dict[str, str] | None = None, where: str = "the table",
                   notes: list[str] | None = None) -> CodedSegments:
        """Check a table of codings and build :class:`CodedSegments`.

        ``columns`` maps our column names to the table's (``{"coder": "Coder name"}``).
        Every problem is reported at once, in one :class:`DataError`, with
        spreadsheet rows; values of ``memo`` and ``text`` are never shown.
        """
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"coded segments must be a pandas DataFrame, not {type(frame).__name__}")
        check_unique_columns(frame, where)
        rename = {v: k for k, v in (columns or {}).items()}
        unknown = sorted(set(rename) - set(frame.columns))
        if unknown:
            raise DataError(f"{where}: columns {unknown} named in columns= are not in the table", where=where)
        table = frame.rename(columns=rename)
        missing = [c for c in REQUIRED if c not in table.columns]
        if missing:
            raise DataError(f"{where}: columns missing: {', '.join(missing)} (a coding needs a source, a coder "
                            "and a code)", where=where,
                            hint="rename the columns, or map them with columns={'coder': 'your column', ...}")
        book = _codebook(codebook)
        rows = spreadsheet_rows(frame)
        problems: list[str] = []

        def text(col: str, required: bool) -> np.ndarray:
            if col not in table.columns:
                return np.full(len(table), "", dtype=object)
            values = table[col]
            blank = values.isna().to_numpy() | values.astype("string").str.strip().eq("").fillna(True).to_numpy()
            if required and blank.any():
                problems.append(f"column {col!r} is blank on spreadsheet rows {_rows_text(rows[blank])}")
            return np.where(blank, "", values.astype("string").str.strip().fillna("").to_numpy(dtype=object))

        out = pd.DataFrame({"source": text("source", True)})
        case = text("case", False)
        out["case"] = np.where(case == "", out["source"], case)
        out["coder"] = text("coder", True)
        code = text("code", True)
        if book is not None:
            lookup = code_lookup(book)
            ids = np.array([lookup.get(c.casefold(), None) if c else "" for c in code], dtype=object)
            bad = np.array([i is None for i in ids])
            if bad.any():
                examples = sorted({code[i] for i in np.flatnonzero(bad)})[:5]
                problems.append(f"codes not in {book.key} on spreadsheet rows {_rows_text(rows[bad])}: "
                                f"{', '.join(repr(e) for e in examples)} (use a code's id, name or parent::child path)")
                ids = np.where(bad, code, ids)
            code = ids
        out["code"] = code
        for col in ("start", "end"):
            if col in table.columns:
                raw = table[col]
                num = pd.to_numeric(raw, errors="coerce")
                given = ~(raw.isna() | raw.astype("string").str.strip().eq("").fillna(True))
                bad = (given & (num.isna() | (num < 0) | (num % 1 != 0))).to_numpy()
                if bad.any():
                    problems.append(f"column {col!r}: not a whole number of characters, 0 or more, on spreadsheet "
                                    f"rows {_rows_text(rows[bad])}")
                out[col] = pd.array(num.where(given & ~pd.Series(bad, index=num.index)), dtype="Int64")
            else:
                out[col] = pd.array([pd.NA] * len(table), dtype="Int64")
        one_sided = (out["start"].isna() != out["end"].isna()).to_numpy()
        if one_sided.any():
            problems.append(f"a span needs both start and end (or neither, for the whole source) on spreadsheet rows "
                            f"{_rows_text(rows[one_sided])}")
        backwards = (out["start"].notna() & out["end"].notna() & (out["start"] >= out["end"])).to_numpy(bool)
        if backwards.any():
            problems.append(f"start is not before end on spreadsheet rows {_rows_text(rows[backwards])} "
                            "(offsets are zero-based, end exclusive)")
        out["memo"] = text("memo", False)
        if "date" in table.columns:
            raw = table["date"]
            given = ~(raw.isna() | raw.astype("string").str.strip().eq("").fillna(True))
            dates = pd.to_datetime(raw.where(given), errors="coerce", utc=True, format="mixed")
            bad = (given & dates.isna()).to_numpy()
            if bad.any():
                problems.append(f"column 'date': unreadable dates on spreadsheet rows {_rows_text(rows[bad])} "
                                "(use YYYY-MM-DD or ISO 8601 date-times)")
            out["date"] = dates.dt.tz_convert(None).to_numpy()
        else:
            out["date"] = pd.Series(pd.NaT, index=range(len(table)), dtype="datetime64[ns]")
        out["text"] = text("text", False)
        if problems:
            raise DataError(f"{where}: {len(problems)} problem{'s' * (len(problems) > 1)} with the codings: "
                            + "; ".join(problems), where=where, problems=problems)
        out.index = pd.Index(rows, name="spreadsheet_row")
        return cls(out[list(COLUMNS)], book, list(notes or []))

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy)."""
        return self.table.copy()

    def write_csv(self, path: str | Path) -> Path:
        """Write the codings as a tidy CSV (UTF-8, the columns of :data:`COLUMNS`)."""
        path = Path(path)
        table = self.table.copy()
        table["date"] = table["date"].dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("")
        try:
            table.to_csv(path, index=False, encoding="utf-8")
        except OSError as exc:
            raise DataError(f"cannot write {path}: {exc.strerror or exc}", where=str(path)) from None
        return path


def _codebook_order(codebook: Instrument) -> list[str]:
    return [code.id for top in codebook.codes for _, code in top.walk()]


def read_segments(data: str | Path | pd.DataFrame, codebook: Instrument | str | None = None, *,
                  columns: dict[str, str] | None = None) -> CodedSegments:
    """Read coded segments from a tidy CSV / Excel / Parquet table, a JSON file, or a DataFrame.

    JSON: a list of objects with the column names as keys, or an object with a
    ``"segments"`` list. REFI-QDA projects (``.qdpx``) are read by
    :func:`cseoutcomes.coding.read_refi_qda`.
    """
    if isinstance(data, pd.DataFrame):
        return CodedSegments.from_frame(data, codebook, columns=columns)
    path = Path(data)
    if path.suffix.lower() == ".json":
        try:
            payload = json.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise DataError("file not found", where=str(path)) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            line = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
            raise DataError(f"not readable JSON{line}", where=str(path),
                            hint="give a list of codings, each an object with source, coder and code") from None
        records = payload.get("segments") if isinstance(payload, dict) else payload
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise DataError("JSON codings must be a list of objects (or {\"segments\": [...]})", where=str(path),
                            hint="one object per coding, with source, coder and code")
        frame = pd.DataFrame.from_records(records)
        return CodedSegments.from_frame(frame, codebook, columns=columns, where=str(path))
    from cseoutcomes.data import read_table

    frame = read_table(path)
    return CodedSegments.from_frame(frame, codebook, columns=columns, where=str(path))
