"""Wide and long assessment tables, and converting one into the other.

*Wide*: one row per assessment, one column per item (named by item id, e.g.
``going_missing``), with an optional recency column per item
(``going_missing_months_ago``) and any other columns (person, date, worker).

*Long*: one row per item response: the assessment's id columns, ``item`` (the
item id), ``response`` (the cell as given) and, when the wide table has
recency columns, ``months_ago``. ``to_long`` also writes ``spreadsheet_row``:
the row of the wide table the response came from (its ``spreadsheet_row``
index when read by :func:`~cseoutcomes.data.read_table`, else the position
counted with the header as row 1), so problems found in long form point back
at the cell to fix.

Both conversions are vectorised and lose nothing: blank responses stay as rows
in long form, a duplicated response is an error rather than being aggregated,
and columns that would have no place in the result are an error rather than
being dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from cseoutcomes._tables import check_unique_columns, spreadsheet_rows
from cseoutcomes.errors import DataError
from cseoutcomes.instruments.schema import Instrument, Item
from cseoutcomes.instruments.scoring import _resolve_instrument

__all__ = ["detect_layout", "to_long", "to_wide"]

ROW = "spreadsheet_row"
ITEM = "item"
RESPONSE = "response"
MONTHS = "months_ago"


def _shown(names: Sequence[object], limit: int = 8) -> str:
    def one(n: object) -> str:
        text = str(n)
        return f"'{text if len(text) <= 40 else text[:37] + '...'}'"

    return ", ".join(one(n) for n in list(names)[:limit]) + (", ..." if len(names) > limit else "")


def _rows(numbers: Sequence[int], limit: int = 8) -> str:
    numbers = list(numbers)
    shown = ", ".join(str(int(r)) for r in numbers[:limit]) + (", ..." if len(numbers) > limit else "")
    return f"row{'s' * (len(numbers) > 1)} {shown}"


def _column_for(table: pd.DataFrame, name: str) -> object | None:
    """The table's column for an item id: exact, else ignoring case and surrounding spaces."""
    if name in table.columns:
        return name
    folded = {str(c).strip().casefold(): c for c in table.columns}
    return folded.get(name.casefold())


def _common_dtype(dtypes: Sequence[object]) -> object:
    dtypes = list(dtypes)
    return dtypes[0] if dtypes and all(d == dtypes[0] for d in dtypes) else np.dtype(object)


def _as_dtype(values: np.ndarray, dtype: object, *, infer: bool = False) -> object:
    """Values of one output column cast to `dtype`. With `infer`, object values are left for pandas to
    infer, as when a table is built from records (a column of text becomes text, blanks stay None)."""
    if dtype == np.dtype(object):
        return values if infer else pd.Series(values, dtype=object)
    try:
        return pd.Series(values, dtype=object).astype(dtype).array  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return values


def to_long(wide: pd.DataFrame, instrument: Instrument | str, *,
            id_columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per item response from a wide table (one row per assessment).

    Parameters
    ----------
    wide
        Columns named by item id (matched ignoring case), optional recency
        columns ``<item><suffix>`` and any other columns.
    instrument
        The instrument (or its id) whose items the columns hold.
    id_columns
        Columns copied onto every response row. Default: every column that is
        neither an item nor a recency column.

    Returns
    -------
    pandas.DataFrame
        The id columns, ``spreadsheet_row``, ``item`` (item id), ``response``
        (as given, blanks included) and, if the table has any recency column,
        ``months_ago`` (blank for items without one). Rows are in wide-row
        order, then instrument item order.
    """
    inst = _resolve_instrument(instrument)
    if not isinstance(wide, pd.DataFrame):
        raise TypeError(f"wide must be a pandas DataFrame, not {type(wide).__name__}")
    check_unique_columns(wide, "the wide table")
    found: list[tuple[Item, object]] = []
    for item in inst.items:
        col = _column_for(wide, item.id)
        if col is not None:
            found.append((item, col))
    if not found:
        raise DataError(f"none of the {len(inst.items)} item columns of '{inst.id}' is in the table",
                        hint=f"name item columns by item id (see `cseoutcomes instruments show {inst.id}`)")
    recency: dict[str, object] = {}
    for item, _ in found:
        if item.recency is not None:
            col = _column_for(wide, item.id + item.recency.column_suffix)
            if col is not None:
                recency[item.id] = col
    used = {col for _, col in found} | set(recency.values())
    if id_columns is None:
        ids = [c for c in wide.columns if c not in used]
    else:
        ids = [id_columns] if isinstance(id_columns, str) else list(id_columns)
        missing = [c for c in ids if c not in wide.columns]
        if missing:
            raise DataError(f"id column{'s' * (len(missing) > 1)} {_shown(missing)} not in the table",
                            hint="check the spelling against the header row")
        overlap = [c for c in ids if c in used]
        if overlap:
            raise DataError(f"{_shown(overlap)} cannot be both an id column and an item or recency column",
                            hint="leave item and recency columns out of id_columns")
    clash = [c for c in ids if c in (ROW, ITEM, RESPONSE, MONTHS)]
    if clash:
        raise DataError(f"the table already has column{'s' * (len(clash) > 1)} {_shown(clash)}, which the long "
                        "table uses for its own purpose", hint="rename those columns first")

    n, k = len(wide), len(found)
    rows = np.repeat(np.arange(n), k)
    out: dict[object, object] = {}
    for c in ids:
        out[c] = wide[c].take(rows).reset_index(drop=True)  # dtype kept exactly
    out[ROW] = np.repeat(spreadsheet_rows(wide), k)
    out[ITEM] = np.tile(np.array([item.id for item, _ in found], dtype=object), n)  # text column
    item_cols = [col for _, col in found]
    values = np.column_stack([wide[c].to_numpy(dtype=object) for c in item_cols]) if n else np.empty((0, k), object)
    out[RESPONSE] = _as_dtype(values.ravel(), _common_dtype(wide[c].dtype for c in item_cols))
    if recency:
        months = np.full((n, k), None, dtype=object)
        for j, (item, _) in enumerate(found):
            if item.id in recency:
                months[:, j] = wide[recency[item.id]].to_numpy(dtype=object)
        dtype = _common_dtype(wide[c].dtype for c in recency.values())
        out[MONTHS] = _as_dtype(months.ravel(), dtype)
    return pd.DataFrame(out)


def to_wide(long: pd.DataFrame, instrument: Instrument | str, *, id_columns: Sequence[str],
            item_column: str = ITEM, response_column: str = RESPONSE) -> pd.DataFrame:
    """One row per assessment from a long table (one row per item response).

    An assessment is identified by its ``id_columns`` (blanks included, as
    values) and, when the long table has a ``spreadsheet_row`` column (as
    :func:`to_long` writes), by the wide row it came from. Other columns
    (worker, age) are carried into the wide table when they hold one value per
    assessment.

    Parameters
    ----------
    long
        The id columns, the item and response columns, and optionally
        ``months_ago`` and ``spreadsheet_row``.
    instrument
        The instrument (or its id) the items belong to.
    id_columns
        Columns that identify an assessment (person, occasion, date...).
    item_column, response_column
        Names of the item-id and response columns.

    Returns
    -------
    pandas.DataFrame
        The id columns and other per-assessment columns, then one column per item present (instrument order),
        each followed by its recency column ``<item><suffix>`` when the long
        table has ``months_ago``. An assessment missing an item has a blank
        cell. Indexed by ``spreadsheet_row``: the assessment's ``spreadsheet_row``
        value, else the first long row it came from.

    Raises
    ------
    DataError
        When a column is missing, an item is not one of the instrument's, an
        item cell is blank, an assessment has two responses to one item, or
        another column differs between the responses of one assessment.
    """
    inst = _resolve_instrument(instrument)
    if not isinstance(long, pd.DataFrame):
        raise TypeError(f"long must be a pandas DataFrame, not {type(long).__name__}")
    check_unique_columns(long, "the long table")
    ids = [id_columns] if isinstance(id_columns, str) else list(id_columns)
    needed = [*ids, item_column, response_column]
    missing = [c for c in needed if c not in long.columns]
    if missing:
        raise DataError(f"the long table has no column{'s' * (len(missing) > 1)} {_shown(missing)}",
                        hint="check the spelling against the header row, or pass item_column=/response_column=")
    if item_column in ids or response_column in ids:
        raise DataError("the item and response columns cannot also be id columns",
                        hint="leave them out of id_columns")
    where = spreadsheet_rows(long) if long.index.name == ROW or ROW not in long.columns else \
        pd.to_numeric(long[ROW], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)

    # items: instrument ids, matched ignoring case and surrounding spaces
    order = {item.id.casefold(): pos for pos, item in enumerate(inst.items)}
    raw_items = long[item_column]
    codes_u, uniques = pd.factorize(raw_items, use_na_sentinel=True)
    lookup = np.empty(len(uniques) + 1, dtype=np.int64)
    unknown: list[object] = []
    for u, value in enumerate(uniques):
        text = str(value).strip()
        pos = order.get(text.casefold(), -2) if text else -1
        lookup[u] = pos
        if pos == -2:
            unknown.append(value)
    lookup[-1] = -1  # NA
    code = lookup[codes_u]
    blank = np.flatnonzero(code == -1)
    if blank.size:
        raise DataError(f"{blank.size:,} row{'s have' if blank.size > 1 else ' has'} no item in column "
                        f"'{item_column}' ({_rows(where[blank])})", hint="fill in the item id of each response")
    if unknown:
        counts = int(raw_items.isin(unknown).sum())
        raise DataError(f"{len(unknown):,} item{'s are' if len(unknown) > 1 else ' is'} not in '{inst.id}': "
                        f"{_shown(unknown)} ({int(counts):,} row{'s' * (counts != 1)})",
                        hint=f"use the item ids of {inst.key} (see `cseoutcomes instruments show {inst.id}`)")

    keys = list(ids)
    if ROW in long.columns and ROW not in keys:
        keys.append(ROW)
    n = len(long)
    if keys and n:
        group = long.groupby(keys, dropna=False, sort=False).ngroup().to_numpy(dtype=np.int64)
    else:
        group = np.zeros(n, dtype=np.int64)
    n_items = len(inst.items)
    pair = group * n_items + code
    dup = pd.Series(pair).duplicated(keep=False).to_numpy()
    if dup.any():
        extra_rows = int(pd.Series(pair).duplicated().sum())
        raise DataError(f"{extra_rows:,} response{'s repeat' if extra_rows > 1 else ' repeats'} an item already "
                        f"answered in the same assessment ({_rows(np.sort(where[dup]))})",
                        hint="keep one response per item and assessment, or add the column that tells the "
                        "assessments apart to id_columns",
                        problems=[f"row {int(r)}: item '{inst.items[int(c)].id}' repeated"
                                  for r, c in zip(where[dup][:200], code[dup][:200], strict=True)])

    n_groups = int(group.max()) + 1 if n else 0
    _, first = np.unique(group, return_index=True)
    # other columns are carried when they hold one value per assessment (worker, age); else an error
    extra = [c for c in long.columns if c not in {*needed, MONTHS, ROW}]
    varying = []
    for c in extra:
        try:
            values = pd.factorize(long[c], use_na_sentinel=False)[0]
        except TypeError:  # unhashable cells (lists from JSON): compare their text
            values = pd.factorize(long[c].map(repr), use_na_sentinel=False)[0]
        spread = pd.Series(values).groupby(group).agg(["min", "max"]) if n else None
        if spread is not None and (spread["min"] != spread["max"]).any():
            varying.append(c)
    if varying:
        raise DataError(f"column{'s' * (len(varying) > 1)} {_shown(varying)} "
                        f"{'differs' if len(varying) == 1 else 'differ'} between responses of one assessment, so "
                        f"{'it' if len(varying) == 1 else 'they'} cannot become one wide cell",
                        hint="add the column to id_columns if it tells assessments apart, or drop it first")
    present = np.unique(code) if n else np.arange(n_items)  # an empty table keeps every item column
    column_of = np.full(n_items, -1, dtype=np.int64)
    column_of[present] = np.arange(len(present))
    responses = np.full((n_groups, len(present)), None, dtype=object)
    responses[group, column_of[code]] = long[response_column].to_numpy(dtype=object)
    months = None
    stray: list[Item] = []
    if MONTHS in long.columns:
        months = np.full((n_groups, len(present)), None, dtype=object)
        months[group, column_of[code]] = long[MONTHS].to_numpy(dtype=object)
        month_values = long[MONTHS].to_numpy(dtype=object)
        stray = [inst.items[int(c)] for c in present if inst.items[int(c)].recency is None
                 and pd.notna(month_values[code == c]).any()]
    out: dict[object, object] = {}
    for c in [*ids, *extra]:
        out[c] = long[c].take(first).reset_index(drop=True)
    response_dtype = long[response_column].dtype
    for j, c in enumerate(present):
        item = inst.items[int(c)]
        out[item.id] = _as_dtype(responses[:, j], response_dtype, infer=True)
        if months is not None and (item.recency is not None or item in stray):
            suffix = item.recency.column_suffix if item.recency is not None else "_months_ago"
            out[item.id + suffix] = _as_dtype(months[:, j], long[MONTHS].dtype, infer=True)
    result = pd.DataFrame(out)
    if ROW in long.columns:
        result.index = pd.Index(long[ROW].to_numpy()[first], name=ROW)
    elif long.index.name == ROW:
        result.index = pd.Index(long.index.to_numpy()[first], name=ROW)
    else:
        result.index = pd.RangeIndex(2, n_groups + 2, name=ROW)
    return result


def detect_layout(table: pd.DataFrame, instrument: Instrument | str) -> Literal["wide", "long"]:
    """``"long"`` if a column's values are mostly the instrument's item ids, else ``"wide"``."""
    inst = _resolve_instrument(instrument)
    ids = {item.id.casefold() for item in inst.items}
    sample = table.iloc[:5000]
    for col in sample.columns:
        values = sample[col]
        if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            continue
        values = values.dropna()
        if values.empty:
            continue
        text = values.astype(str).str.strip().str.casefold()
        if text.isin(ids).mean() > 0.5:
            return "long"
    return "wide"
