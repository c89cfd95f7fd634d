"""Small facts about tables that every stage relies on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cseoutcomes.errors import DataError

#: name of the index :func:`cseoutcomes.data.read_table` gives a table: each row's spreadsheet row number
SPREADSHEET_ROW = "spreadsheet_row"


def spreadsheet_rows(table: pd.DataFrame | pd.Index) -> np.ndarray:
    """The row number each row has in the user's spreadsheet.

    A table read by :func:`cseoutcomes.data.read_table` carries the exact numbers
    (title rows above the header and dropped blank rows included) in an index named
    ``spreadsheet_row``; any other table counts its header as row 1, so row
    position p is row p + 2.
    """
    index = table.index if isinstance(table, pd.DataFrame) else table
    if index.name == SPREADSHEET_ROW and pd.api.types.is_integer_dtype(index.dtype):
        return index.to_numpy(dtype=np.int64)
    return np.arange(len(index), dtype=np.int64) + 2


def check_unique_columns(table: pd.DataFrame, what: str = "the table", *, exit_code: int = 1) -> None:
    """A one-line :class:`DataError` naming column names used more than once."""
    duplicated = sorted({str(c) for c in table.columns[table.columns.duplicated()]})
    if duplicated:
        shown = ", ".join(repr(c) for c in duplicated[:8]) + (", ..." if len(duplicated) > 8 else "")
        raise DataError(f"{what} has more than one column named {shown}",
                        hint="rename the copies in the header row so each column name is unique",
                        exit_code=exit_code)
