"""Reading and writing assessment tables (CSV, Excel, Parquet).

Every failure is a :class:`~cseoutcomes.DataError` naming the file and saying
what to do; unreadable files carry exit status 2. No cell value appears in
these messages.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from cseoutcomes.errors import DataError

__all__ = ["read_table", "write_table"]

_EXCEL = (".xlsx", ".xlsm", ".xls", ".ods")


def _unreadable(path: Path, why: str, hint: str) -> DataError:
    return DataError(why, where=str(path), hint=hint, exit_code=2)


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    """Text and the encoding it was read with: UTF-8 (with or without BOM), else Windows-1252/Latin-1."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise _unreadable(path, "cannot be decoded as text", "save it as UTF-8 CSV")  # pragma: no cover


def read_table(path: str | Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV (any common delimiter), Excel or Parquet file as text-preserving columns.

    CSV cells are read as strings so that codes such as ``007`` survive; the
    encoding and delimiter found are stored in ``table.attrs``.
    """
    path = Path(path)
    if not path.exists():
        raise _unreadable(path, "no such file", "check the path")
    if path.is_dir():
        raise _unreadable(path, "is a folder, not a file", "give the path of a .csv, .xlsx or .parquet file")
    suffix = path.suffix.lower()
    try:
        if suffix in _EXCEL:
            try:
                table = pd.read_excel(path, sheet_name=sheet or 0, dtype=object, engine="calamine")
            except ImportError:
                table = pd.read_excel(path, sheet_name=sheet or 0, dtype=object)
            table.attrs.update(format="excel")
        elif suffix in (".parquet", ".pq"):
            table = pd.read_parquet(path)
            table.attrs.update(format="parquet")
        else:
            raw = path.read_bytes()
            if not raw.strip():
                raise _unreadable(path, "is empty", "export the table again with its header row")
            text, encoding = _decode(raw, path)
            sample = text[:65536]
            try:
                delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
            table = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                                na_values=[""], skip_blank_lines=True)
            table.attrs.update(format="csv", encoding=encoding, delimiter=delimiter)
    except DataError:
        raise
    except ImportError as exc:
        raise _unreadable(path, f"needs an optional package to read ({exc.name})",
                          "pip install 'cseoutcomes[excel,parquet]'") from None
    except Exception as exc:  # parser errors from pandas/openpyxl/pyarrow
        raise _unreadable(path, f"cannot be read as a {suffix.lstrip('.') or 'CSV'} table ({type(exc).__name__})",
                          "open it in a spreadsheet program and export it again as CSV or XLSX") from None
    table.columns = [str(c).strip() for c in table.columns]
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
        else:
            raise DataError(f"cannot write '{suffix}' files", where=str(path),
                            hint="use .csv, .xlsx or .parquet", exit_code=2)
    except DataError:
        raise
    except ImportError as exc:
        raise DataError(f"writing {suffix} needs an optional package ({exc.name})", where=str(path),
                        hint="pip install 'cseoutcomes[excel,parquet]'", exit_code=2) from None
    except OSError as exc:
        raise DataError(f"cannot be written ({exc.strerror})", where=str(path),
                        hint="check the folder exists and is writable", exit_code=2) from None
    return path
