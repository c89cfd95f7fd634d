"""Reading and writing assessment tables (CSV, Excel, Parquet).

:func:`read_table` reads what services actually export and says what it did.

Row numbers
    The returned table's index, named ``spreadsheet_row``, is the row number a
    person sees for each data row: in Excel, the sheet's row number; in a CSV
    file opened in a spreadsheet program, the row number counting the header
    and any title rows above it (a value with a quoted line break is one row,
    as a spreadsheet shows it). The numbers stay exact when title rows are
    skipped or blank rows are dropped, so every later message can point at the
    cell to fix. Parquet files count as if written with the header on row 1.

Nothing lost
    Rows whose every cell is blank are the only rows ever dropped, and each
    drop is listed in ``table.attrs["cseoutcomes"]["notes"]``. Cells holding
    only spaces count as blank (and are read as missing). A row with more
    values than the header has columns is an error naming the row, never
    truncated. CSV cells are read as text, so ``007`` stays ``007`` and ``NA``
    stays ``NA``; Excel cells keep their types (numbers, dates, text).

Header detection (``header="auto"``)
    Title rows above the table are skipped: the header is the first row whose
    non-blank cells number at least 60% of the table's width and are mostly
    text rather than numbers (at most two dense, mostly numeric rows, such as a
    row of column numbers, are skipped on the way; beyond that the first dense
    row is the header). Skipped rows are listed in the notes. Pass
    ``header=<row number>`` to choose the header row yourself.

Merged header cells (Excel)
    Detection looks at the cells as stored (a merged cell's value sits in its
    top-left cell). Then merged header cells are filled in across the columns
    and rows they cover. A row of merged *group* titles directly above the
    header (``Moderate indicators`` over ``Going missing``, ``Older
    associates``) makes a two-row header; a dense row with merged cells
    followed by a row of distinct labels is recognised the same way. Each
    column is named by its lowest header cell (``Going missing``); where that
    cell is empty the group title above is used, and where a name repeats it
    is prefixed with its group title (``Going missing months ago``). Merged
    cells below the header are filled with their value, as Excel displays
    them. Names still repeated get `` (2)``, `` (3)``; a column with data but
    no header is named ``column_<n>`` (its position); a column with neither is
    dropped. All of this is recorded in the notes. Excel error values
    (``#N/A``, ``#DIV/0!``: failed formulas, not answers) read as blank with
    either engine.

Encodings and delimiters (CSV)
    UTF-8, with or without a byte-order mark, and UTF-16 with one; otherwise
    each line is decoded as UTF-8 where it is valid and as Windows-1252 where
    not (exports concatenated from different programs mix the two). The
    delimiter is chosen among comma, semicolon, tab and ``|`` by which splits
    the first rows into a consistent number of columns (quotes respected, so
    ``;`` files with decimal commas work); a first line ``sep=;`` (Excel's
    hint) is obeyed.

Every failure is a :class:`~cseoutcomes.DataError` naming the file and saying
what to do; unreadable files carry exit status 2. No cell value appears in
messages or notes.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import math
import re
import sys
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from cseoutcomes.errors import DataError

__all__ = ["read_table", "write_table", "write_text"]

_TEXT = frozenset({".csv", ".tsv", ".txt", ".tab", ".dat", ""})
_EXCEL = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"})
_OPENPYXL = frozenset({".xlsx", ".xlsm"})
_PARQUET = frozenset({".parquet", ".pq"})
_KNOWN_OTHER = {
    ".doc": "a Word document", ".docx": "a Word document", ".pdf": "a PDF", ".json": "a JSON file",
    ".sav": "an SPSS file", ".dta": "a Stata file", ".numbers": "an Apple Numbers file",
    ".odt": "a text document", ".rtf": "a text document", ".zip": "a zip archive",
}

_SAMPLE_BYTES = 1 << 20  # bytes of a CSV file looked at to find the delimiter and header
_SAMPLE_RECORDS = 200
_HEADER_SEARCH = 30  # non-blank rows searched for the header
_DENSE = 0.6  # a header row fills at least this share of the table's width
_MAX_SKIPPED_DENSE = 2  # dense, mostly numeric rows skipped while looking for the header
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "'|'"}

_BOM8 = codecs.BOM_UTF8
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?%?")
_FILLER = frozenset(',;\t|" \r\n')
_SEP_LINE = re.compile(r'"?sep=(.)"?')

codecs.register_error(
    "cseoutcomes.latin1", lambda e: (e.object[e.start:e.end].decode("latin-1"), e.end))  # type: ignore[attr-defined]


def _unreadable(path: Path, why: str, hint: str, problems: list[str] | None = None) -> DataError:
    return DataError(why, where=str(path), hint=hint, problems=problems, exit_code=2)


# ---------------------------------------------------------------------------
# small helpers


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _rows_text(rows: Sequence[int], word: str = "row", limit: int = 8) -> str:
    """'row 3', 'rows 3 and 7', 'rows 3-5, 9 and 12', 'rows 3, 9, ... (40 in all)'."""
    runs: list[list[int]] = []
    for r in rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1][1] = r
        else:
            runs.append([r, r])
    parts = [str(a) if a == b else f"{a}-{b}" for a, b in runs]
    if len(parts) > limit:
        shown = ", ".join(parts[:limit]) + f", ... ({len(rows):,} in all)"
    elif len(parts) == 1:
        shown = parts[0]
    else:
        shown = ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{word}{'s' if len(rows) > 1 else ''} {shown}"


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value or value.isspace()
    if isinstance(value, float):
        return math.isnan(value)
    return value is pd.NA or value is pd.NaT


def _is_text(value: Any) -> bool:
    """Text that is not a number (a header name rather than a value)."""
    return isinstance(value, str) and _NUMBER.fullmatch(value.strip()) is None


def _header_text(value: Any) -> str | None:
    """A header cell as a column name: whitespace (line breaks too) collapsed."""
    if _blank(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split()) or None


# ---------------------------------------------------------------------------
# public API


def read_table(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    header: Literal["auto"] | int = "auto",
    engine: Literal["calamine", "openpyxl"] | None = None,
) -> pd.DataFrame:
    """Read a CSV, Excel or Parquet table of assessments, losing nothing.

    Parameters
    ----------
    path
        A ``.csv`` (also ``.tsv``, ``.txt``), ``.xlsx`` (also ``.xlsm``, and
        with python-calamine ``.xls``, ``.xlsb``, ``.ods``) or ``.parquet`` file.
    sheet
        Excel: sheet name, or 0-based position; default the first sheet.
    header
        ``"auto"`` to find the header row below any title rows, or the
        header's row number (1-based, as the spreadsheet shows it).
    engine
        Excel reader: ``"calamine"`` (fast; the default when python-calamine
        is installed) or ``"openpyxl"``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``spreadsheet_row``, the row number each data row has in
        the file. ``table.attrs["cseoutcomes"]`` holds ``source`` (file name),
        ``format``, ``encoding`` and ``delimiter`` (CSV), ``sheet`` and
        ``engine`` (Excel), ``header_row`` and ``notes``: one line for each
        thing the reader did that the user should know (rows skipped, blank
        rows dropped, columns renamed, encoding guessed).

    Raises
    ------
    DataError
        When the file cannot be read as a table (exit status 2): missing,
        empty, corrupt, an unknown sheet, or a row with more values than the
        header has columns. The message says where and how to fix it.
    """
    path = Path(path)
    header_row = _check_header(header, path)
    if engine not in (None, "calamine", "openpyxl"):
        raise _unreadable(path, f"unknown Excel engine '{engine}'", "use engine='calamine' or engine='openpyxl'")
    if not path.exists():
        raise _unreadable(path, "no such file", "check the path and the file name")
    if path.is_dir():
        raise _unreadable(path, "is a folder, not a file", "give the path of a .csv, .xlsx or .parquet file")
    suffix = path.suffix.lower()
    if suffix not in _TEXT | _EXCEL | _PARQUET:
        what = _KNOWN_OTHER.get(suffix, f"a '{suffix}' file")
        raise _unreadable(path, f"is {what}, which cannot be read as a table",
                          "export the table as CSV (.csv) or Excel (.xlsx)")
    try:
        if path.stat().st_size == 0:
            raise _unreadable(path, "is empty (0 bytes)", "export the table again, with its header row")
        if suffix in _EXCEL:
            table, meta = _read_excel(path, sheet, header_row, engine)
        elif suffix in _PARQUET:
            table, meta = _read_parquet(path)
        else:
            table, meta = _read_csv(path, header_row)
    except DataError:
        raise
    except ImportError as exc:
        raise _unreadable(path, f"needs an optional package to read ({exc.name or exc})",
                          "pip install 'cseoutcomes[excel,parquet]'") from None
    except MemoryError:
        raise _unreadable(path, "is too large to read into memory",
                          "split it into smaller files, or use a machine with more memory") from None
    except PermissionError:
        raise _unreadable(path, "cannot be opened (permission denied)",
                          "close it in any program that has it open, and check you may read it") from None
    except OSError as exc:
        raise _unreadable(path, f"cannot be read ({exc.strerror or type(exc).__name__})",
                          "check the file is not open elsewhere and is fully copied") from None
    except Exception as exc:  # parser errors from pandas / calamine / openpyxl / pyarrow
        kind = {".parquet": "Parquet file", ".pq": "Parquet file"}.get(
            suffix, "Excel workbook" if suffix in _EXCEL else "CSV table")
        raise _unreadable(path, f"cannot be read as a {kind} ({type(exc).__name__})",
                          "open it in a spreadsheet program and export it again as CSV or XLSX") from None
    meta = {"source": path.name, **meta}
    table.attrs["cseoutcomes"] = meta
    return table


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV, Excel or Parquet, chosen by the file's extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            table.to_excel(path, index=False)
        elif suffix in (".parquet", ".pq"):
            table.to_parquet(path, index=False)
        elif suffix in (".csv", ".txt", ""):
            table.to_csv(path, index=False)
        elif suffix == ".tsv":
            table.to_csv(path, index=False, sep="\t")
        else:
            raise DataError(f"cannot write '{suffix}' files", where=str(path),
                            hint="use .csv, .xlsx or .parquet", exit_code=2)
    except DataError:
        raise
    except ImportError as exc:
        raise DataError(f"writing {suffix} needs an optional package ({exc.name})", where=str(path),
                        hint="pip install 'cseoutcomes[excel,parquet]'", exit_code=2) from None
    except OSError as exc:
        raise DataError(f"cannot be written ({exc.strerror or type(exc).__name__})", where=str(path),
                        hint="check the folder exists and is writable", exit_code=2) from None
    return path


def _check_header(header: Any, path: Path) -> int | None:
    if isinstance(header, str) and header == "auto":
        return None
    if isinstance(header, (int, np.integer)) and not isinstance(header, (bool, np.bool_)) and header >= 1:
        return int(header)
    raise _unreadable(path, f"header must be 'auto' or a row number (1 or more), not {header!r}",
                      "give the row number the header has in the spreadsheet")


# ---------------------------------------------------------------------------
# header detection and column names (shared by CSV and Excel)

Merge = tuple[int, int, int, int]  # first row, first column, last row, last column; 0-based, inclusive


class _Header:
    """Where the header is and what the columns are called."""

    def __init__(self, rows: list[list[Any]], merges: Sequence[Merge], header: int | None, start: int,
                 path: Path, where: str, width: int | None = None):
        self.rows, self.merges, self.path, self.where = rows, merges, path, where
        self.notes: list[str] = []
        self._nonblank: dict[int, list[int]] = {}
        nonblank = self.nonblank
        used = sorted({c for r in range(start, min(start + 100, len(rows))) for c in nonblank(r)})
        self.used = used
        # the table's width: columns in use near the top (Excel), or the usual number of fields (CSV)
        self.need = max(1, math.ceil(_DENSE * (width or len(used)) - 1e-9))
        if not any(nonblank(r) for r in range(start, len(rows))):
            raise _unreadable(path, f"{where}has no table: every row is blank",
                              "check you chose the right file or sheet")
        if header is None:
            last = self._detect(start)
        else:
            last = header - 1
            if last >= len(rows):
                raise _unreadable(path, f"{where}has no row {header} to use as the header (it has "
                                  f"{_plural(len(rows), 'row')})", "give the header's row number as the "
                                  "spreadsheet shows it, or header='auto'")
            if not nonblank(last):
                raise _unreadable(path, f"{where}row {header} is blank, so it cannot be the header",
                                  "give the header's row number as the spreadsheet shows it, or header='auto'")
        first = last
        while first > start and nonblank(first - 1) and self._group_merges(first - 1):
            first -= 1
        self.first, self.last = first, last
        titles = [r + 1 for r in range(start, first) if nonblank(r)]
        if titles:
            self.notes.append(f"{_rows_text(titles)} above the header {'was' if len(titles) == 1 else 'were'} "
                              "ignored (titles, not part of the table)")

    # -- detection ---------------------------------------------------
    def nonblank(self, r: int) -> list[int]:
        """Positions of the non-blank cells of row r (computed once, and only for rows looked at)."""
        cols = self._nonblank.get(r)
        if cols is None:
            cols = self._nonblank[r] = [c for c, v in enumerate(self.rows[r]) if not _blank(v)]
        return cols

    def _texty(self, row: list[Any], cols: list[int]) -> bool:
        return 2 * sum(_is_text(row[c]) for c in cols) >= len(cols)

    def _detect(self, start: int) -> int:
        first_dense = None
        skipped_dense = 0
        seen = 0
        for r in range(start, len(self.rows)):
            cols = self.nonblank(r)
            if not cols:
                continue
            seen += 1
            if seen > _HEADER_SEARCH:
                break
            if len(cols) < self.need:
                continue
            if first_dense is None:
                first_dense = r
            if self._texty(self.rows[r], cols):
                if self._group_merges(r) and self._is_subheader(r + 1):
                    return r + 1
                return r
            skipped_dense += 1
            if skipped_dense > _MAX_SKIPPED_DENSE:
                break
        if first_dense is not None:
            return first_dense
        return next(r for r in range(start, len(self.rows)) if self.nonblank(r))

    def _group_merges(self, r: int) -> list[Merge]:
        """Horizontal merges starting in row r that are group titles (not one title across the table)."""
        if not self.merges or not self.used:
            return []
        lo, hi = self.used[0], self.used[-1]
        return [m for m in self.merges
                if m[0] == r and m[3] > m[1] and not (m[1] <= lo and m[3] >= hi)]

    def _filled(self, r: int, top: int) -> list[Any]:
        """Row r with merged cells filled from their top-left cell (when that lies at or below row `top`)."""
        row = list(self.rows[r])
        for r0, c0, r1, c1 in self.merges:
            if r0 >= top and r0 <= r <= r1 and r0 < len(self.rows) and c0 < len(self.rows[r0]):
                value = self.rows[r0][c0]
                for c in range(c0, min(c1, len(row) - 1) + 1):
                    row[c] = value
        return row

    def _is_subheader(self, r: int) -> bool:
        """Row r is a second header row under merged group titles in row r-1."""
        if r >= len(self.rows):
            return False
        row = self._filled(r, r - 1)
        cols = [c for c, v in enumerate(row) if not _blank(v)]
        if len(cols) < self.need or not self._texty(row, cols):
            return False
        under = {c for m in self._group_merges(r - 1) for c in range(m[1], m[3] + 1)}
        own = self.nonblank(r)
        if not any(c in under for c in own):
            return False
        below = self.rows[r + 1:r + 51]
        if not any(self.nonblank(b) for b in range(r + 1, min(r + 51, len(self.rows)))):
            return False  # it would be the only data row: keep it as data
        recur = sum(any(c < len(b) and b[c] == row[c] for b in below) for c in own)
        return 2 * recur < len(own)

    # -- names ---------------------------------------------------------
    def names(self, width: int, header_cells: list[Any] | None = None) -> tuple[list[str | None], list[str]]:
        """Column names from the header block, before blank/duplicate handling, and merge notes."""
        block = [self._filled(r, self.first) for r in range(self.first, self.last + 1)]
        if header_cells is not None:  # the parser's reading of the (single) header row
            block[-1] = list(header_cells)
        block = [row + [None] * (width - len(row)) for row in block]
        filled_rows = sorted({r + 1 for m in self.merges for r in range(m[0], m[2] + 1)
                              if self.first <= m[0] <= self.last and self.first <= r <= self.last
                              and (m[2] > m[0] or m[3] > m[1])})
        texts = [[_header_text(row[c]) for row in block] for c in range(width)]
        names: list[str | None] = []
        groups: list[str | None] = []
        for cells in texts:
            present = [t for t in cells if t is not None]
            name = cells[-1] if cells[-1] is not None else (present[-1] if present else None)
            above = [t for t in cells[:-1] if t is not None and t != name]
            names.append(name)
            groups.append(above[-1] if above else None)
        counts = Counter(n for n in names if n is not None)
        names = [f"{g} {n}" if n is not None and counts[n] > 1 and g else n for n, g in zip(names, groups, strict=True)]
        notes = []
        if filled_rows:
            notes.append(f"merged header cells in {_rows_text(filled_rows)} were filled in")
        if self.last > self.first:
            notes.append(f"the header spans rows {self.first + 1}-{self.last + 1}: columns are named by row "
                         f"{self.last + 1}, or by the group title above where that cell is empty or repeats")
        return names, notes


def _unique_names(names: list[str | None], keep: list[int], notes: list[str]) -> list[str]:
    """Final column names for the kept columns: unnamed -> column_<n>, repeats -> 'name (2)'."""
    taken = {n for n in names if n is not None}
    out: list[str] = []
    unnamed: list[int] = []
    given: list[str] = []
    for c in keep:
        name = names[c]
        if name is None:
            name = f"column_{c + 1}"
            k = 2
            while name in taken:
                name = f"column_{c + 1} ({k})"
                k += 1
            taken.add(name)
            unnamed.append(c + 1)
            given.append(name)
        out.append(name)
    if unnamed:
        shown = ", ".join(f'"{n}"' for n in given[:8]) + (", ..." if len(given) > 8 else "")
        notes.append(f"{_rows_text(unnamed, 'column')} {'has' if len(unnamed) == 1 else 'have'} no header "
                     f"and {'was' if len(unnamed) == 1 else 'were'} named {shown}")
    counts = Counter(out)
    repeated = [n for n, k in counts.items() if k > 1]
    if repeated:
        seen: Counter[str] = Counter()
        used = set(out)
        renamed = []
        for i, name in enumerate(out):
            seen[name] += 1
            if counts[name] > 1 and seen[name] > 1:
                k = seen[name]
                new = f"{name} ({k})"
                while new in used:
                    k += 1
                    new = f"{name} ({k})"
                used.add(new)
                out[i] = new
                renamed.append(new)
        for name in repeated[:5]:
            copies = [n for n in renamed if n.startswith(f"{name} (")][:3]
            notes.append(f'the header "{name}" appears {counts[name]} times; the later '
                         f"{'copy was' if len(copies) == 1 else 'copies were'} renamed "
                         + ", ".join(f'"{n}"' for n in copies) + (", ..." if counts[name] > 4 else ""))
        if len(repeated) > 5:
            notes.append(f"{len(repeated) - 5} more repeated header names were renamed the same way")
    return out


def _finish(body: pd.DataFrame, first_row: int, names: list[str | None], notes: list[str],
            summary: str, *, empty_strings: bool = False, objects_checked: bool = False) -> pd.DataFrame:
    """Name columns, number rows, drop blank rows and empty unnamed columns, writing notes for each."""
    n = len(body)
    width = body.shape[1]
    # cells holding only spaces are blank
    spaces = 0
    for pos in range(width):
        col = body.iloc[:, pos]
        if pd.api.types.is_string_dtype(col.dtype) and col.dtype != object:
            mask = col.str.isspace()
            if empty_strings:  # CSV readers already made "" missing
                mask = mask | (col.str.len() == 0)
            mask = mask.fillna(False).to_numpy(dtype=bool)
            if mask.any():
                spaces += int(mask.sum())
                body.iloc[mask, pos] = np.nan
        elif col.dtype == object and not objects_checked:
            mask = np.fromiter((isinstance(v, str) and (not v or v.isspace()) for v in col), bool, n)
            if mask.any():
                spaces += int(mask.sum())
                body.iloc[mask, pos] = None
    has_data = body.notna().any().to_numpy() if n else np.zeros(width, bool)
    keep = [c for c in range(width) if names[c] is not None or has_data[c]]
    dropped = [c + 1 for c in range(width) if names[c] is None and not has_data[c]]
    if dropped:
        notes.append(f"{_rows_text(dropped, 'column')} {'has' if len(dropped) == 1 else 'have'} neither a header "
                     f"nor any values and {'was' if len(dropped) == 1 else 'were'} ignored")
    final = _unique_names(names, keep, notes)
    body = body.iloc[:, keep]
    body.columns = pd.Index(final)
    if spaces:
        notes.append(f"{_plural(spaces, 'cell')} holding only spaces {'was' if spaces == 1 else 'were'} "
                     "read as blank")
    blank = body.isna().all(axis=1).to_numpy() if n else np.zeros(0, bool)
    if blank.any():
        positions = np.flatnonzero(blank)
        trailing = 0
        while trailing < len(positions) and positions[len(positions) - 1 - trailing] == n - 1 - trailing:
            trailing += 1
        interior = (positions[: len(positions) - trailing] + first_row).tolist()
        if interior:
            notes.append(f"{_rows_text(interior)} {'was' if len(interior) == 1 else 'were'} blank and "
                         f"{'was' if len(interior) == 1 else 'were'} ignored")
        if trailing:
            notes.append(f"{_plural(trailing, 'blank row')} at the end {'was' if trailing == 1 else 'were'} "
                         "ignored")
        keep_rows = ~blank
        body = body.iloc[np.flatnonzero(keep_rows)]
        body.index = pd.Index(np.arange(first_row, first_row + n)[keep_rows], name="spreadsheet_row")
    else:
        body.index = pd.RangeIndex(first_row, first_row + n, name="spreadsheet_row")
    if len(body) == 0:
        notes.append("the file has a header but no data rows")
    notes.insert(0, summary.replace("{rows}", _plural(len(body), "row"), 1))
    return body


# ---------------------------------------------------------------------------
# CSV


@contextlib.contextmanager
def _big_fields() -> Iterator[None]:
    old = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _records(text: str, delimiter: str, limit: int | None) -> list[list[str]]:
    """The first records of a CSV text as the csv module reads them (quotes respected)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        doublequote=True, strict=False)
    out: list[list[str]] = []
    with _big_fields(), contextlib.suppress(csv.Error):
        out.extend(islice(reader, limit))
    return out


def _sniff(sample: str) -> str:
    """The delimiter that splits the first rows into the most consistent number (>= 2) of columns."""
    best: tuple | None = None
    choice = ","
    for order, delimiter in enumerate(_DELIMITERS):
        # rows of nothing but delimiters and spaces are blank whatever the delimiter
        rows = [r for r in _records(sample, delimiter, 100) if not all(set(v) <= _FILLER for v in r)]
        if not rows:
            continue
        counts = [len(r) for r in rows]
        multi = Counter(c for c in counts if c >= 2)
        m = multi.most_common(1)[0][0] if multi else 1
        consistency = round(sum(c == m for c in counts) / len(counts), 3)
        numeric = sum(_NUMBER.fullmatch(v.strip()) is not None for r in rows for v in r)
        key = (m >= 2, consistency, m, numeric, -order)
        if best is None or key > best:
            best, choice = key, delimiter
    return choice


def _check_binary(raw: bytes, path: Path, suffix: str) -> None:
    head = raw[:8]
    name = suffix or "CSV"
    if head.startswith(b"PK\x03\x04"):
        raise _unreadable(path, f"is an Excel workbook (or another zip file), not a {name} text file",
                          "rename it to .xlsx, or open it in Excel and save it as CSV")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _unreadable(path, f"is an old-format Excel (.xls) or Word file, not a {name} text file",
                          "open it in Excel and save it as CSV or XLSX")
    if head.startswith(b"%PDF"):
        raise _unreadable(path, "is a PDF, not a table", "export the table as CSV or XLSX from its source")
    if b"\x00" in raw[:8192] and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _unreadable(path, "is not a text file (it holds binary data)",
                          "export the table again as CSV (UTF-8) or XLSX")


def _decode_lines(data: bytes) -> tuple[str, list[int], int]:
    """Decode line by line: UTF-8 where valid, else Windows-1252. Returns text, cp1252 lines, UTF-8 lines."""
    out: list[str] = []
    bad: list[int] = []
    utf8 = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            out.append(line.decode("ascii"))
            continue
        try:
            out.append(line.decode("utf-8"))
            utf8 += 1
        except UnicodeDecodeError:
            out.append(line.decode("cp1252", errors="cseoutcomes.latin1"))
            bad.append(number)
    return "\n".join(out), bad, utf8


def _read_csv(path: Path, header: int | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    raw = path.read_bytes()
    bom = raw.startswith(_BOM8)
    data = raw[len(_BOM8):] if bom else raw
    if not data.strip():
        raise _unreadable(path, "is empty (no header row and no data)", "export the table again, with its header row")
    _check_binary(raw, path, path.suffix.lower())
    notes: list[str] = []
    text: str | None = None  # decoded text; None while the bytes are valid UTF-8 and go to pandas as they are
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, encoding = raw.decode("utf-16"), "utf-16"
        data = text.encode("utf-8")
        text = None
    elif data.isascii():
        encoding = "utf-8-sig" if bom else "utf-8"
    else:
        try:
            data.decode("utf-8")
            encoding = "utf-8-sig" if bom else "utf-8"
        except UnicodeDecodeError:
            text, bad, utf8 = _decode_lines(data)
            if utf8 or bom:
                encoding = f"mixed: utf-8 with {_plural(len(bad), 'line')} of cp1252"
                one = len(bad) == 1
                notes.append(f"the file mixes encodings: {_rows_text(bad, 'line')} {'is' if one else 'are'} not "
                             f"UTF-8 and {'was' if one else 'were'} read as Windows-1252")
            else:
                encoding = "cp1252"
                notes.append("the file is not UTF-8; it was read as Windows-1252 (Western European)")

    def full_text() -> str:
        return data.decode("utf-8") if text is None else text

    if text is None:
        chunk = data[:_SAMPLE_BYTES]
        truncated = len(data) > _SAMPLE_BYTES
        if truncated and b"\n" in chunk:
            chunk = chunk[: chunk.rfind(b"\n") + 1]
        sample = chunk.decode("utf-8", errors="replace")
    else:
        truncated = len(text) > _SAMPLE_BYTES
        sample = text[:_SAMPLE_BYTES]
        if truncated and "\n" in sample:
            sample = sample[: sample.rfind("\n") + 1]

    first_line = sample.split("\n", 1)[0].strip()
    sep_line = _SEP_LINE.fullmatch(first_line)
    delimiter = sep_line.group(1) if sep_line else _sniff(sample)
    start = 1 if sep_line else 0
    records = _records(sample, delimiter, _SAMPLE_RECORDS)
    if truncated and len(records) < _SAMPLE_RECORDS and len(records) > 1:
        records = records[:-1]  # the sample may cut the last record short
    if header is not None and header > len(records) and truncated:
        records = _records(full_text(), delimiter, header + 1)
    rows = [[v if v.strip() else None for v in rec] for rec in records]
    lengths = Counter(len(r) for r in records[start:] if len(r) >= 2 and not all(_blank(v) for v in r))
    found = _Header(rows, (), header, start, path, "", lengths.most_common(1)[0][0] if lengths else 1)
    if sep_line:
        notes.append(f"row 1 (sep={delimiter}) sets the delimiter and was ignored")
    last = found.last

    source = io.BytesIO(data) if text is None else io.StringIO(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(
                source, sep=delimiter, header=None, skiprows=last, index_col=False, dtype=str,
                keep_default_na=False, na_values=[""], skip_blank_lines=False, quotechar='"',
                doublequote=True, engine="c", encoding="utf-8" if text is None else None,
            )
    except pd.errors.ParserError as exc:
        raise _csv_problem(path, str(exc), full_text(), delimiter, last) from None
    except pd.errors.EmptyDataError:
        raise _unreadable(path, f"row {last + 1} is blank, so it cannot be the header",
                          "give the header's row number, or header='auto'") from None
    width = table.shape[1]
    header_cells = [None if (isinstance(v, float) and math.isnan(v)) else v for v in table.iloc[0].tolist()]
    body = table.iloc[1:]
    body.columns = range(width)
    names, merge_notes = found.names(width, header_cells)

    # a quoted line break makes one row span several lines of the file
    newline = b"\n" if b"\n" in data else b"\r"
    lines = data.count(newline) + (0 if data.endswith(newline) else 1)
    records_read = last + len(table)
    if lines > records_read:
        first_multi = None
        for pos in range(width):
            hit = body.iloc[:, pos].str.contains("[\r\n]", regex=True).fillna(False).to_numpy(dtype=bool)
            if hit.any():
                k = int(np.flatnonzero(hit)[0])
                first_multi = k if first_multi is None else min(first_multi, k)
        where = f" (the first in row {last + 2 + first_multi})" if first_multi is not None else ""
        notes.append(f"{_plural(lines - records_read, 'line break')} {'is' if lines - records_read == 1 else 'are'} "
                     f"inside quoted values{where}, so the file has more lines than rows; row numbers count "
                     "rows as a spreadsheet shows them (if that is not intended, look for a stray \")")

    all_notes = found.notes + merge_notes + notes
    summary = (f"Read {{rows}} (header on row {last + 1}; {_DELIMITER_NAMES.get(delimiter, repr(delimiter))}-"
               f"separated; {_ENCODING_NAMES.get(encoding, encoding)}).")
    out = _finish(body, last + 2, names, all_notes, summary)
    meta = {"format": "csv", "encoding": encoding, "delimiter": delimiter, "sheet": None, "engine": None,
            "header_row": last + 1, "notes": all_notes}
    return out, meta


_ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "cp1252": "Windows-1252",
                   "utf-16": "UTF-16"}


def _csv_problem(path: Path, message: str, text: str, delimiter: str, last: int) -> DataError:
    """A clear error for a CSV file pandas cannot parse: rows with too many values, or an open quote."""
    records = _records(text, delimiter, None)
    if "EOF inside string" in message or "EOF in" in message:
        row = len(records)
        return _unreadable(path, f"row {row}: a value opens a double quote (\") that is never closed, so the rest "
                           "of the file would be read as one value",
                           "close the quote, or remove it, in that row")
    width = len(records[last]) if last < len(records) else 0
    ragged = [(i + 1, len(r)) for i, r in enumerate(records) if i > last and len(r) > width]
    if ragged:
        row, found = ragged[0]
        name = _DELIMITER_NAMES.get(delimiter, repr(delimiter))
        more = f"; {_rows_text([r for r, _ in ragged])} have too many" if len(ragged) > 1 else ""
        return _unreadable(
            path, f"row {row} has {found} values but the header (row {last + 1}) has {width} columns{more}",
            f"a value there probably contains a {name} without quotes: put such values in double quotes, add "
            "the missing header, or export the file again",
            problems=[f"row {r}: {k} values, expected {width}" for r, k in ragged])
    return _unreadable(path, "cannot be read as a CSV table (its rows do not split into columns consistently)",
                       "open it in a spreadsheet program and export it again as CSV or XLSX")


# ---------------------------------------------------------------------------
# Excel


def _excel_engine(engine: str | None) -> str:
    if engine is not None:
        return engine
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        return "openpyxl"
    return "calamine"


def _pick_sheet(names: list[str], sheet: str | int | None, path: Path) -> str:
    if not names:
        raise _unreadable(path, "has no sheets", "open it in Excel and save it again")
    listed = ", ".join(f'"{n}"' for n in names[:12]) + (", ..." if len(names) > 12 else "")
    if sheet is None:
        return names[0]
    if isinstance(sheet, (int, np.integer)) and not isinstance(sheet, bool):
        if 0 <= sheet < len(names):
            return names[int(sheet)]
        raise _unreadable(path, f"has no sheet number {sheet} (it has {_plural(len(names), 'sheet')}, counted "
                          "from 0)", f"the sheets are {listed}")
    if sheet in names:
        return str(sheet)
    close = [n for n in names if n.strip().casefold() == str(sheet).strip().casefold()]
    if len(close) == 1:
        return close[0]
    raise _unreadable(path, f'has no sheet "{sheet}"', f"the sheets are {listed}; choose one of them")


def _load_calamine(path: Path, sheet: str | int | None) -> tuple[list[list[Any]], list[Merge], str, list[str]]:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    try:
        names = list(workbook.sheet_names)
        chosen = _pick_sheet(names, sheet, path)
        ws = workbook.get_sheet_by_name(chosen)
        rows = ws.to_python(skip_empty_area=False)
        try:
            ranges = ws.merged_cell_ranges or []
        except Exception:  # formats without merge information
            ranges = []
    finally:
        workbook.close()
    merges = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in ranges]
    return rows, merges, chosen, names


def _load_openpyxl(path: Path, sheet: str | int | None) -> tuple[list[list[Any]], list[Merge], str, list[str]]:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # not read-only: merged ranges are only available on full worksheets
        workbook = openpyxl.load_workbook(path, data_only=True)
    try:
        names = list(workbook.sheetnames)
        chosen = _pick_sheet(names, sheet, path)
        ws = workbook[chosen]
        if not hasattr(ws, "iter_rows"):
            raise _unreadable(path, f'sheet "{chosen}" is a chart, not a table', "choose another sheet with sheet=")
        rows = [list(r) for r in ws.iter_rows(min_row=1, min_col=1, max_row=ws.max_row,
                                              max_col=ws.max_column, values_only=True)]
        # Excel error values (#N/A, #DIV/0!) are failed formulas, not answers: blank, as calamine reads them
        errors = frozenset(openpyxl.cell.cell.ERROR_CODES)
        rows = [[None if type(v) is str and v in errors else v for v in row] for row in rows]
        merges = [(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1) for m in ws.merged_cells.ranges]
    finally:
        workbook.close()
    return rows, merges, chosen, names


def _normalise_grid(rows: list[list[Any]]) -> tuple[list[list[Any]], int]:
    """Cells as both engines should give them: blank -> None, whole floats -> int, dates -> Timestamp."""
    spaces = 0

    def cell(v: Any) -> Any:
        nonlocal spaces
        t = type(v)
        if t is str:
            if not v:
                return None
            if v.isspace():
                spaces += 1
                return None
            return v
        if v is None or t is int or t is bool:
            return v
        if t is float:
            if v != v:
                return None
            return int(v) if v.is_integer() else v
        if t is dt.datetime or t is dt.date:
            return pd.Timestamp(v)
        if isinstance(v, (dt.time, dt.timedelta, int, float)):
            return v
        return str(v)  # error values and anything unusual, as text

    return [[cell(v) for v in row] for row in rows], spaces


def _read_excel(path: Path, sheet: str | int | None, header: int | None,
                engine: str | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    suffix = path.suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(8)
    zipped = head.startswith(b"PK\x03\x04")
    ole = head.startswith(b"\xd0\xcf\x11\xe0")
    if suffix in (".xlsx", ".xlsm", ".xlsb", ".ods") and not zipped:
        if ole:
            raise _unreadable(path, f"is password-protected or an old-format workbook saved with a {suffix} name",
                              "open it in Excel, remove any password, and save it as .xlsx")
        if not head.strip(b" \t\r\n"):
            raise _unreadable(path, "is empty", "export the table again, with its header row")
        if b"\x00" not in head:
            raise _unreadable(path, f"is a text file with an Excel ({suffix}) name, not a workbook",
                              "if it is a CSV export, rename it to .csv")
        raise _unreadable(path, "is not an Excel workbook (it may be damaged)",
                          "open it in Excel and save it again as .xlsx, or export it as CSV")
    engine = _excel_engine(engine)
    if engine == "openpyxl" and suffix not in _OPENPYXL:
        raise _unreadable(path, f"reading {suffix} files needs python-calamine",
                          "pip install 'cseoutcomes[excel]', or save the workbook as .xlsx")
    loader = _load_calamine if engine == "calamine" else _load_openpyxl
    try:
        rows, merges, chosen, names = loader(path, sheet)
    except DataError:
        raise
    except ImportError:
        raise
    except Exception as exc:
        raise _unreadable(path, f"cannot be read as an Excel workbook ({type(exc).__name__}); it may be damaged "
                          "or password-protected", "open it in Excel and save it again as .xlsx, or export it "
                          "as CSV") from None
    rows, spaces = _normalise_grid(rows)
    width = max((len(r) for r in rows), default=0)
    rows = [r + [None] * (width - len(r)) if len(r) < width else r for r in rows]
    where = f'sheet "{chosen}" '
    if width == 0 or not rows:
        raise _unreadable(path, f"{where}is empty", "choose the sheet that holds the table with sheet=")
    found = _Header(rows, merges, header, 0, path, where)
    last = found.last
    names_, merge_notes = found.names(width)
    # merged cells below the header show their value in every cell they cover
    filled = 0
    for r0, c0, r1, c1 in merges:
        if last < r0 < len(rows) and c0 < width and (r1 > r0 or c1 > c0):
            value = rows[r0][c0]
            for r in range(r0, min(r1, len(rows) - 1) + 1):
                for c in range(c0, min(c1, width - 1) + 1):
                    rows[r][c] = value
            filled += 1
    notes = found.notes + merge_notes
    if filled:
        notes.append(f"{_plural(filled, 'merged cell range')} below the header {'was' if filled == 1 else 'were'} "
                     "filled in (each cell takes the merged value, as Excel shows it)")
    if spaces:
        notes.append(f"{_plural(spaces, 'cell')} holding only spaces {'was' if spaces == 1 else 'were'} read as blank")
    if len(names) > 1 and sheet is None:
        shown = ", ".join(f'"{n}"' for n in names[:6]) + (", ..." if len(names) > 6 else "")
        notes.append(f'the workbook has {len(names)} sheets ({shown}); read the first, "{chosen}" '
                     "(choose another with sheet=)")
    data = rows[last + 1:]
    body = pd.DataFrame(data, columns=range(width), dtype=object) if data else \
        pd.DataFrame({c: pd.Series([], dtype=object) for c in range(width)})
    summary = f'Read {{rows}} (sheet "{chosen}"; header on row {last + 1}).'
    out = _finish(body, last + 2, names_, notes, summary, objects_checked=True)
    meta = {"format": "excel", "encoding": None, "delimiter": None, "sheet": chosen, "engine": engine,
            "header_row": last + 1, "notes": notes}
    return out, meta


# ---------------------------------------------------------------------------
# Parquet


def _read_parquet(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    table = pd.read_parquet(path)
    notes: list[str] = []
    index = table.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and index.name is None):
        table = table.reset_index()
        notes.append("the file's row labels (its index) were kept as the first column(s)")
    names = [_header_text(c) for c in table.columns]
    body = table.copy()
    body.columns = range(table.shape[1])
    out = _finish(body, 2, names, notes, "Read {rows} (Parquet; row numbers count the header as row 1).",
                  empty_strings=True)
    meta = {"format": "parquet", "encoding": None, "delimiter": None, "sheet": None, "engine": "pyarrow",
            "header_row": 1, "notes": notes}
    return out, meta


def write_text(text: str, path: str | Path) -> Path:
    """Write a report (HTML, JSON) as UTF-8; a path that cannot be written is a one-line :class:`DataError`."""
    path = Path(path)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        hint = ("create the folder first" if not path.parent.is_dir() else
                "give a file name, not a folder" if path.is_dir() else "check that the folder is writable")
        raise DataError(f"cannot be written ({exc.strerror or type(exc).__name__})", where=str(path), hint=hint,
                        exit_code=2) from None
    return path
