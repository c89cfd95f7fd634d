"""The scoring engine: item responses in, scores, bands and override reasons out.

Everything is vectorised over the table: each item column is encoded once (its
distinct values are normalised, then mapped back with ``pandas.factorize``), and
scores are NumPy reductions over an (assessments x items) matrix. No Python loop
runs per row.

Response codes are matched after trimming spaces and ignoring case, and a number
stored as ``2.0`` matches the code ``"2"``. Blank cells and missing codes
(``unknown``, ``not_asked``, ``declined``...) are both *unanswered*, never "no":
each score's missing rule says what happens then (see :class:`MissingRule`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from cseoutcomes._tables import check_unique_columns, spreadsheet_rows
from cseoutcomes.errors import CseOutcomesError, DataError, ScoringWarning
from cseoutcomes.instruments.conditions import Condition
from cseoutcomes.instruments.schema import Instrument, Item, ResponseScale, Score

__all__ = [
    "BLANK",
    "INVALID",
    "ScoringInput",
    "available_scoring_steps",
    "band_positions",
    "encode_responses",
    "get_scoring_step",
    "register_scoring_step",
    "score",
    "score_encoded",
    "section_applies",
]

#: encoded value of a blank cell
BLANK = -1
#: encoded value of a response that is neither a category nor a missing code
INVALID = -32768
# missing code j is encoded as -2 - j


# ---------------------------------------------------------------------------
# scoring steps (plugins)


@dataclass(frozen=True)
class ScoringInput:
    """What a scoring step receives.

    Attributes
    ----------
    values
        (assessments x items) float array: each answered item's numeric category
        value after reverse keying, NaN where unanswered or where the category
        has no value.
    codes
        (assessments x items) int array: the category's position in its scale
        (0 = first category), negative where unanswered.
    answered
        (assessments x items) bool array.
    items, scales
        The score's items and their response scales, in column order.
    params
        The score's ``params`` from the definition.
    context
        Context fields (e.g. ``age``) as float arrays, where the data has them.
    """

    values: np.ndarray
    codes: np.ndarray
    answered: np.ndarray
    items: tuple[Item, ...]
    scales: tuple[ResponseScale, ...]
    params: Mapping[str, Any]
    score: Score
    instrument: Instrument
    context: Mapping[str, np.ndarray] = field(default_factory=dict)


ScoringStep = Callable[[ScoringInput], np.ndarray]
_LOCAL_STEPS: dict[str, ScoringStep] = {}


def register_scoring_step(name: str, func: ScoringStep) -> ScoringStep:
    """Make a scoring step available to definitions in this session (``method: step``).

    Packages register steps for everyone through the ``cseoutcomes.scoring``
    entry-point group instead.

    Examples
    --------
    >>> import numpy as np
    >>> from cseoutcomes.instruments.scoring import register_scoring_step
    >>> _ = register_scoring_step("count_answered", lambda data: data.answered.sum(axis=1).astype(float))
    """
    if not callable(func):
        raise TypeError("a scoring step must be callable: step(data: ScoringInput) -> ndarray")
    _LOCAL_STEPS[name] = func
    return func


@cache
def _entry_point_steps() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group="cseoutcomes.scoring")}


def available_scoring_steps() -> list[str]:
    """Names of every scoring step registered in this session or by installed plugins."""
    return sorted(set(_LOCAL_STEPS) | set(_entry_point_steps()))


def get_scoring_step(name: str) -> ScoringStep:
    """Look up a scoring step by name (session registrations win over plugins)."""
    if name in _LOCAL_STEPS:
        return _LOCAL_STEPS[name]
    eps = _entry_point_steps()
    if name in eps:
        ep = eps[name]
        try:
            func = ep.load()
        except Exception as exc:  # a broken plugin must not take the rest down
            dist = getattr(getattr(ep, "dist", None), "name", "an installed package")
            raise CseOutcomesError(
                f"scoring step '{name}' from {dist} could not be loaded ({type(exc).__name__}: {exc})",
                hint="reinstall or fix that package",
            ) from exc
        if not callable(func):
            raise CseOutcomesError(f"scoring step '{name}' ({ep.value}) is not callable")
        return func
    import difflib

    known = available_scoring_steps()
    close = difflib.get_close_matches(name, known, n=1)
    raise CseOutcomesError(
        f"no scoring step named '{name}' is installed (installed: {', '.join(known) or 'none'})",
        hint=f"did you mean '{close[0]}'?" if close else "install the plugin package that provides it",
    )


def refresh_steps() -> None:
    """Forget the cached entry-point scan (after installing a plugin in a running session)."""
    _entry_point_steps.cache_clear()


# ---------------------------------------------------------------------------
# encoding


def _normalise(value: Any) -> str | None:
    """Canonical text of a cell for code matching; None for blank."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (np.floating,)):
        return _normalise(float(value))
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    text = str(value).strip().casefold()
    return text or None


def _code_lookup(scale: ResponseScale) -> dict[str, int]:
    lookup = {c.code.strip().casefold(): i for i, c in enumerate(scale.categories)}
    for j, m in enumerate(scale.missing):
        lookup[m.code.strip().casefold()] = -2 - j
    return lookup


def encode_responses(column: pd.Series, scale: ResponseScale) -> np.ndarray:
    """Encode one item column against its scale.

    Returns an int array: category position (>= 0), ``BLANK``, ``-2 - j`` for
    the scale's j-th missing code, or ``INVALID``.
    """
    lookup = _code_lookup(scale)
    fast = _encode_arrow(column, lookup)
    if fast is not None:
        return fast
    return _encode_general(column, lookup)


def _encode_arrow(column: pd.Series, lookup: dict[str, int]) -> np.ndarray | None:
    """Arrow-backed text (pandas' default string dtype): exact codes by a hash lookup in Arrow.

    Cells that are not a code as written (other case, spaces, numbers as text)
    go through the general path, which sees only those cells.
    """
    data = getattr(column.array, "_pa_array", None)
    if data is None:
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - pandas' arrow strings imply pyarrow
        return None
    if not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return None
    variants = {v: code for key, code in lookup.items() for v in (key, key.upper(), key.title(), key.capitalize())}
    found = pc.index_in(data, value_set=pa.array(list(variants), type=data.type))
    index = pc.fill_null(found, -1).to_numpy()
    # one gather: index -1 (blank, or not found) picks the BLANK at the end of the table
    out = np.append(np.array(list(variants.values()), dtype=np.int32), np.int32(BLANK))[index]
    if found.null_count > data.null_count:  # some present cells are not a code as written
        rest = np.flatnonzero((index < 0) & ~pc.is_null(data).to_numpy(zero_copy_only=False))
        out[rest] = _encode_general(column.iloc[rest], lookup)
    return out


def _encode_general(column: pd.Series, lookup: dict[str, int]) -> np.ndarray:
    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # cells holding lists, dicts or sets (tables built from JSON): compare their text
        column = column.map(lambda v: str(v) if isinstance(v, (list, dict, set)) else v)
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=np.int32)
    for i, value in enumerate(uniques):
        key = _normalise(value)
        mapped[i] = BLANK if key is None else lookup.get(key, INVALID)
    mapped[-1] = BLANK  # factorize's -1 (NA) indexes the last slot
    return mapped[codes]


# ---------------------------------------------------------------------------
# condition evaluation (three-valued)


@dataclass
class _Frame:
    """Encoded data the engine works on."""

    n: int
    codes: dict[str, np.ndarray]  # item id -> encoded responses
    context: dict[str, pd.Series]  # context field -> column
    scores: dict[str, np.ndarray] = field(default_factory=dict)


def _evaluate(cond: Condition, inst: Instrument, frame: _Frame) -> tuple[np.ndarray, np.ndarray]:
    """(is_true, is_known) boolean arrays; is_true implies is_known."""
    n = frame.n
    if cond.item is not None:
        scale = inst.scale_of(cond.item)
        lookup = _code_lookup(scale)
        wanted = np.array([lookup[str(c).strip().casefold()] for c in cond.in_ or ()], dtype=np.int32)
        codes = frame.codes[cond.item]
        true = np.isin(codes, wanted)
        known = true | (codes >= 0)
        return true, known
    if cond.section is not None:
        members = [i for i in inst.items if i.section == cond.section]
        hits = np.zeros(n, dtype=np.int32)
        unknown = np.zeros(n, dtype=np.int32)
        for item in members:
            lookup = _code_lookup(inst.scale_of(item))
            wanted = np.array([lookup[k] for k in (str(c).strip().casefold() for c in cond.in_ or ()) if k in lookup],
                              dtype=np.int32)
            codes = frame.codes[item.id]
            hit = np.isin(codes, wanted)
            hits += hit
            unknown += ~hit & (codes < 0)
        true = hits >= cond.at_least
        known = true | (hits + unknown < cond.at_least)
        return true, known
    if cond.field is not None or cond.score is not None:
        if cond.score is not None:
            values = pd.Series(frame.scores[cond.score])
        else:
            values = frame.context.get(cond.field)  # type: ignore[arg-type]
            if values is None:
                return np.zeros(n, bool), np.zeros(n, bool)
        numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        known = ~np.isnan(numeric)
        true = known.copy()
        for op, ref in cond.comparisons().items():
            if isinstance(ref, str):
                text = values.astype("string").str.strip().str.casefold()
                known_t = text.notna().to_numpy()
                true &= (text == ref.strip().casefold()).fillna(False).to_numpy(dtype=bool)
                known = known_t
                continue
            with np.errstate(invalid="ignore"):
                true &= {"lt": numeric < ref, "le": numeric <= ref, "gt": numeric > ref,
                         "ge": numeric >= ref, "eq": numeric == ref}[op]
        if cond.in_ is not None:
            text = values.astype("string").str.strip().str.casefold()
            wanted = [str(v).strip().casefold() for v in cond.in_]
            known = text.notna().to_numpy()
            true = text.isin(wanted).fillna(False).to_numpy(dtype=bool) & known
        return true & known, known
    parts = [_evaluate(c, inst, frame) for c in cond.children()]
    if cond.not_ is not None:
        t, k = parts[0]
        return ~t & k, k
    trues = np.array([p[0] for p in parts])
    knowns = np.array([p[1] for p in parts])
    falses = knowns & ~trues
    if cond.all is not None:
        true = trues.all(axis=0)
        false = falses.any(axis=0)
    else:
        true = trues.any(axis=0)
        false = falses.all(axis=0)
    return true, true | false


# ---------------------------------------------------------------------------
# the engine


def band_positions(s: Score, values: np.ndarray) -> np.ndarray:
    """Position of each value's band in ``s.bands`` (-1 where the value is NaN).

    A value belongs to the last band whose ``min`` it reaches, so whole-number
    bands (0-5, 6-10) also place a prorated 5.5 unambiguously (in 0-5).
    """
    values = np.asarray(values, dtype=float)
    mins = np.array([b.min for b in s.bands])
    pos = np.searchsorted(mins, np.nan_to_num(values, nan=-np.inf), side="right") - 1
    return np.where(np.isnan(values), -1, np.maximum(pos, 0))


def _resolve_instrument(instrument: Instrument | str) -> Instrument:
    if isinstance(instrument, Instrument):
        return instrument
    if isinstance(instrument, str):
        from cseoutcomes.instruments.registry import get_instrument

        return get_instrument(instrument)
    raise TypeError(f"instrument must be an Instrument or an instrument id, not {type(instrument).__name__}")


def _find_column(table: pd.DataFrame, name: str, columns: Mapping[str, str]) -> str | None:
    if name in columns:
        return columns[name]
    if name in table.columns:
        return name
    folded = {str(c).strip().casefold(): c for c in table.columns}
    return folded.get(name.casefold())


def score(
    table: pd.DataFrame,
    instrument: Instrument | str,
    *,
    columns: Mapping[str, str] | None = None,
    scores: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Score every assessment (row) of a wide table.

    Parameters
    ----------
    table
        One row per assessment, one column per item (named by item id, or
        mapped with ``columns``). Context fields the instrument's rules use
        (such as ``age``) are read from columns of the same name.
    instrument
        An :class:`Instrument` or a registered id.
    columns
        Map from item or context-field id to the table's column name.
    scores
        Score ids to compute (default: all).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``table``. For each score ``s``: ``s`` (the value, after
        any lookup transform), ``s_raw`` (before the transform, if any),
        ``s_answered`` (items answered), ``s_upper`` (lower-bound rule only:
        the score were every unanswered indicator present), ``s_band`` (an
        ordered categorical of the declared bands), ``s_override`` (the reasons
        of the overrides that applied) and ``s_unchecked`` (overrides that could
        not be checked because what they test is unknown).

    Raises
    ------
    DataError
        When an item column is missing or a cell holds a value that is neither
        a category nor a missing code; every such problem is listed.

    Examples
    --------
    >>> import pandas as pd, cseoutcomes as co
    >>> inst = co.get_instrument("goal-based-outcomes")
    >>> table = pd.DataFrame({"goal_1": [2, 8], "goal_2": [4, "no_goal"], "goal_3": ["no_goal", "no_goal"]})
    >>> co.score(table, inst)["mean"].tolist()
    [3.0, 8.0]
    """
    inst = _resolve_instrument(instrument)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame, not {type(table).__name__}")
    if inst.kind == "coding_scheme":
        raise CseOutcomesError(f"'{inst.id}' is a coding scheme: it has codes, not scores",
                               hint="use cseoutcomes.coding for coded segments")
    columns = dict(columns or {})
    wanted = [inst.get_score(s) for s in scores] if scores is not None else list(inst.scores)
    n = len(table)

    # which items and context fields are needed
    needed_items: dict[str, Item] = {}
    needed_context: set[str] = set()
    for s in wanted:
        for item in inst.score_items(s):
            needed_items[item.id] = item
        for ov in s.overrides:
            for c in ov.when.walk():
                if c.item:
                    needed_items[c.item] = inst.get_item(c.item)
                if c.section:
                    needed_items.update({i.id: i for i in inst.items if i.section == c.section})
                if c.field:
                    needed_context.add(c.field)
    for section in inst.sections:
        if section.applies_when is not None and any(i.section == section.id for i in needed_items.values()):
            for c in section.applies_when.walk():
                if c.item:
                    needed_items[c.item] = inst.get_item(c.item)
                if c.field:
                    needed_context.add(c.field)

    unmapped = [f"'{name}' -> '{col}'" for name, col in columns.items() if col not in table.columns]
    if unmapped:
        raise DataError(f"the column map names column{'s' * (len(unmapped) > 1)} the table does not have: "
                        f"{', '.join(unmapped[:8])}", hint="check the spelling against the file's header row")
    check_unique_columns(table)
    missing_cols = [i for i in needed_items if _find_column(table, i, columns) is None]
    if missing_cols:
        shown = ", ".join(f"'{m}'" for m in missing_cols[:8]) + (" ..." if len(missing_cols) > 8 else "")
        raise DataError(
            f"{len(missing_cols)} item column{'s are' if len(missing_cols) > 1 else ' is'} missing: {shown}",
            hint="name columns by item id (see `cseoutcomes instruments show "
                 f"{inst.id}`) or map them with columns={{item_id: column}}",
            problems=[f"column '{m}' for item '{m}' is missing" for m in missing_cols],
        )

    # encode every needed item once, collecting every invalid cell
    rows = spreadsheet_rows(table)
    problems: list[str] = []
    codes: dict[str, np.ndarray] = {}
    months: dict[str, np.ndarray] = {}
    for item_id, item in needed_items.items():
        col = _find_column(table, item_id, columns)
        scale = inst.scale_of(item)
        enc = encode_responses(table[col], scale)
        bad = np.flatnonzero(enc == INVALID)
        if bad.size:
            allowed = " / ".join(scale.codes)
            miss = " / ".join(scale.missing_codes)
            from cseoutcomes.data.privacy import looks_identifying

            values = [str(table[col].iloc[pos]).strip() for pos in bad[:50]]
            for pos, value, hidden in zip(bad[:50], values, looks_identifying(values), strict=True):
                # a misaligned export can put names here: such a value is never shown
                shown = "a value that looks like personal data (not shown)" if hidden else f"'{value}'"
                problems.append(
                    f"row {rows[pos]}, column '{col}': {shown} is not one of {allowed}"
                    + (f" (missing codes: {miss})" if miss else ""))
            if bad.size > 50:
                problems.append(f"column '{col}': {bad.size - 50} more values like these")
        codes[item_id] = enc
        if item.recency is not None:
            rcol = _find_column(table, item_id + item.recency.column_suffix, columns)
            if rcol is None:
                months[item_id] = np.zeros(n)
            else:
                raw = table[rcol]
                num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                # only cells that are present but not numbers need a look as text
                odd = np.flatnonzero(np.isnan(num) & raw.notna().to_numpy())
                not_blank = odd[[str(raw.iloc[i]).strip() != "" for i in odd]] if odd.size else odd
                badm = np.union1d(not_blank, np.flatnonzero(num < 0))
                for pos in badm[:50]:
                    problems.append(f"row {rows[pos]}, column '{rcol}': months since the indicator "
                                    "was last present must be a number of months, 0 or more")
                months[item_id] = np.where(np.isnan(num), 0.0, num)
    if problems:
        raise DataError(
            f"{len(problems)} problem{'s' * (len(problems) > 1)} with item responses; first: {problems[0]}",
            hint="fix these cells, or run `cseoutcomes validate` for a full report",
            problems=problems,
        )

    context: dict[str, pd.Series] = {}
    for name in needed_context:
        col = _find_column(table, name, columns)
        if col is None:
            warnings.warn(
                f"no '{name}' column: rules that use {name} cannot be checked and are listed in the "
                "'_unchecked' columns (add the column or map it with columns=)",
                ScoringWarning, stacklevel=2)
        else:
            context[name] = table[col].reset_index(drop=True)
            if inst.context[name].type == "number":
                values = context[name]
                numeric = pd.to_numeric(values, errors="coerce")
                bad = int((numeric.isna() & values.notna() & values.astype(str).str.strip().ne("")).sum())
                if bad:
                    warnings.warn(
                        f"column '{col}': {bad} value{'s are' if bad > 1 else ' is'} not a number; rules that use "
                        f"{name} could not be checked there and are listed in the '_unchecked' columns",
                        ScoringWarning, stacklevel=2)
    return score_encoded(inst, codes, months, context, index=table.index, scores=[s.id for s in wanted])


def section_applies(inst: Instrument, codes: Mapping[str, np.ndarray], context: Mapping[str, pd.Series],
                    n: int, sections: set[str] | None = None) -> dict[str, np.ndarray]:
    """For each routed section, whether it applies to each row (True where its condition is true or unknown).

    ``sections`` limits the evaluation to those sections (default: every routed section).
    """
    frame = _Frame(n=n, codes=dict(codes), context=dict(context))
    applicable: dict[str, np.ndarray] = {}
    for section in inst.sections:
        if section.applies_when is not None and (sections is None or section.id in sections):
            t, k = _evaluate(section.applies_when, inst, frame)
            applicable[section.id] = ~(k & ~t)
    return applicable


def score_encoded(
    inst: Instrument,
    codes: Mapping[str, np.ndarray],
    months: Mapping[str, np.ndarray],
    context: Mapping[str, pd.Series],
    *,
    index: pd.Index,
    scores: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Score responses already encoded with :func:`encode_responses` (the engine behind :func:`score`).

    ``codes`` maps item id to encoded responses (``INVALID`` is not allowed;
    encode such cells as ``BLANK`` to score the rest), ``months`` maps a
    recency item to months since last present (0 where blank), and ``context``
    maps a context field to its column (positional, length ``len(index)``).
    """
    n = len(index)
    wanted = [inst.get_score(s) for s in scores] if scores is not None else list(inst.scores)
    frame = _Frame(n=n, codes=dict(codes), context={k: v.reset_index(drop=True) for k, v in context.items()})
    # only the routing of sections the wanted scores draw on: another section's routing may name an
    # item that was not encoded (score() encodes only the items the wanted scores need)
    used = {item.section for s in wanted for item in inst.score_items(s) if item.section is not None}
    applicable_rows = section_applies(inst, frame.codes, frame.context, n, used)
    out: dict[str, Any] = {}
    for s in wanted:
        _score_one(inst, s, frame, dict(months), applicable_rows, out)
    # text columns stay object arrays: converting a million reasons to a string dtype costs more than scoring
    return pd.DataFrame({name: pd.Series(values, index=index, dtype=object)
                         if isinstance(values, np.ndarray) and values.dtype == object else values
                         for name, values in out.items()}, index=index)


def _score_one(inst: Instrument, s: Score, frame: _Frame, months: dict[str, np.ndarray],
               applicable_rows: dict[str, np.ndarray], out: dict[str, Any]) -> None:
    n = frame.n
    items = inst.score_items(s)
    k = len(items)
    scales = tuple(inst.scale_of(i) for i in items)
    # Accumulate item by item (a loop over items, never over rows) instead of building
    # (rows x items) matrices: the same sums with a fraction of the memory traffic.
    n_ans = np.zeros(n, dtype=np.int32)
    n_app = np.zeros(n, dtype=np.int32)
    total = np.zeros(n)  # sum of weight x value, or points earned
    w_ans = np.zeros(n)  # weight (sum, mean) or maximum points (weighted count) of answered items
    w_app = np.zeros(n)  # the same over applicable items
    missing_points = np.zeros(n)  # weighted count: points unanswered indicators could add
    answered_cols: list[np.ndarray] = []
    # equal weights (the usual case): answered and applicable weight follow from the counts
    uniform = s.method in ("sum", "mean") and len({i.weight for i in items}) <= 1
    for item, scale in zip(items, scales, strict=True):
        codes = frame.codes[item.id]
        applies = applicable_rows.get(item.section) if item.section is not None else None
        answered = codes >= 0
        if applies is not None:
            answered &= applies
        n_ans += answered
        n_app += 1 if applies is None else applies
        if s.method in ("sum", "mean"):
            vals = np.array([np.nan if c.value is None else c.value for c in scale.categories], dtype=float)
            if item.reverse:
                lo_v, hi_v = scale.value_range()
                vals = lo_v + hi_v - vals
            # one lookup per cell; negative codes (blank -1, missing code j at -2 - j) index the zeros at the end
            lut = np.zeros(len(vals) + len(scale.missing) + 1)
            lut[: len(vals)] = vals * item.weight
            contribution = lut[codes]
            if applies is not None:
                contribution[~applies] = 0.0
            total += contribution
            if not uniform:
                w_ans += np.where(answered, item.weight, 0.0)
                w_app += item.weight if applies is None else np.where(applies, item.weight, 0.0)
        elif s.method == "weighted_count":
            lookup = _code_lookup(scale)
            counting = np.array([lookup[c.strip().casefold()] for c in s.counts or ()], dtype=np.int32)
            hit = np.isin(codes, counting) & answered
            if item.recency is not None:
                m = months[item.id]
                points = np.zeros(n)
                for win in reversed(item.recency.windows):  # the most recent window wins
                    points[m <= win.within_months] = win.weight
                max_points = max(w.weight for w in item.recency.windows)
            else:
                points = item.weight
                max_points = item.weight
            total += np.where(hit, points, 0.0)
            w_ans += np.where(answered, max_points, 0.0)
            applicable = np.ones(n, bool) if applies is None else applies
            w_app += np.where(applicable, max_points, 0.0)
            missing_points += np.where(applicable & ~answered, max_points, 0.0)
        else:
            answered_cols.append(answered)
    if uniform and items:
        w_ans = n_ans * items[0].weight
        w_app = n_app * items[0].weight
    min_ans = np.minimum(s.missing.min_answered or k, n_app) if s.missing.rule != "complete" else n_app
    enough = (n_ans >= min_ans) & (n_ans > 0) if k else np.zeros(n, bool)
    upper = None

    if s.method in ("sum", "weighted_count"):
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = total * w_app / w_ans if s.missing.rule == "prorate" else total
        raw = np.where(enough, raw, np.nan)
        if s.missing.rule == "lower_bound":
            upper = np.where(enough, total + missing_points, np.nan)
    elif s.method == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = np.where(enough, total / w_ans, np.nan)
    else:  # step: the plugin gets the (rows x items) matrices
        C = np.column_stack([frame.codes[i.id] for i in items]) if k else np.zeros((n, 0), np.int32)
        answered = np.column_stack(answered_cols) if k else np.zeros((n, 0), bool)
        V = np.full((n, k), np.nan)
        for j, (item, scale) in enumerate(zip(items, scales, strict=True)):
            vals = np.array([np.nan if c.value is None else c.value for c in scale.categories], dtype=float)
            if item.reverse:
                lo_v, hi_v = scale.value_range()
                vals = lo_v + hi_v - vals
            V[:, j] = np.where(answered[:, j], vals[np.clip(C[:, j], 0, None)], np.nan)
        func = get_scoring_step(s.step)  # type: ignore[arg-type]
        context = {name: pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                   for name, col in frame.context.items()}
        data = ScoringInput(values=V, codes=np.where(answered, C, -1), answered=answered, items=items,
                            scales=scales, params=dict(s.params), score=s, instrument=inst, context=context)
        try:
            raw = np.asarray(func(data), dtype=float)
        except CseOutcomesError:
            raise
        except Exception as exc:
            raise CseOutcomesError(f"scoring step '{s.step}' failed on score '{s.id}' ({type(exc).__name__}: {exc})",
                                   hint=f"check scores.{s.id}.params in {inst.id}, else report it to the authors "
                                        "of the plugin that provides the step") from exc
        if raw.shape != (n,):
            raise CseOutcomesError(f"scoring step '{s.step}' returned shape {raw.shape}, expected ({n},)")
        raw = np.where(enough, raw, np.nan)
        lo, hi = s.range  # type: ignore[misc]
        outside = ~np.isnan(raw) & ((raw < lo - 1e-9) | (raw > hi + 1e-9))
        if outside.any():
            raise CseOutcomesError(
                f"scoring step '{s.step}' returned {int(outside.sum())} value(s) outside the declared range "
                f"{lo:g} to {hi:g} for score '{s.id}'", hint="fix the step or the score's `range`")

    value = raw
    if s.transform is not None:
        table = s.transform.table
        lo = min(table)
        lut = np.array([table[r] for r in range(lo, max(table) + 1)], dtype=float)
        idx = np.rint(raw)
        ok = ~np.isnan(idx)
        value = np.full(n, np.nan)
        value[ok] = lut[idx[ok].astype(int) - lo]
        out[f"{s.id}_raw"] = raw
    out[s.id] = value
    frame.scores[s.id] = value
    out[f"{s.id}_answered"] = n_ans
    if upper is not None:
        out[f"{s.id}_upper"] = upper

    if s.bands:
        band = band_positions(s, value)
        codes_lookup = {b.code.casefold(): i for i, b in enumerate(s.bands)}
        # which overrides applied / could not be checked, as one bit per override
        applied = np.zeros(n, dtype=np.int64)
        unchecked = np.zeros(n, dtype=np.int64)
        for bit, ov in enumerate(s.overrides):
            t, known = _evaluate(ov.when, inst, frame)
            target = codes_lookup[ov.band.casefold()]
            has_band = band >= 0
            if ov.action == "set":
                applies = t
                band = np.where(t, target, band)
            elif ov.action == "floor":
                applies = t & has_band
                band = np.where(applies, np.maximum(band, target), band)
            else:
                applies = t & has_band
                band = np.where(applies, np.minimum(band, target), band)
            applied |= applies.astype(np.int64) << bit
            unchecked |= (~known).astype(np.int64) << bit
        out[f"{s.id}_band"] = pd.Categorical.from_codes(band, categories=[b.code for b in s.bands], ordered=True)
        if s.overrides:
            out[f"{s.id}_override"] = _bits_to_text(applied, [o.reason for o in s.overrides], "; ")
            out[f"{s.id}_unchecked"] = _bits_to_text(unchecked, [o.id for o in s.overrides], ", ")


def _bits_to_text(bits: np.ndarray, labels: list[str], sep: str) -> np.ndarray:
    """Join the labels of the set bits of each row (text built once per distinct combination).

    An object array of str, None where no bit is set (cheap to build for a million rows).
    """
    if len(labels) <= 16:  # every combination fits a small table: no sort needed
        uniques = np.flatnonzero(np.bincount(bits, minlength=1))
        inverse = np.zeros(1 << len(labels), dtype=np.int64)
        inverse[uniques] = np.arange(len(uniques))
        inverse = inverse[bits]
    else:
        uniques, inverse = np.unique(bits, return_inverse=True)
    texts = np.array([sep.join(lab for i, lab in enumerate(labels) if int(u) >> i & 1) or None for u in uniques],
                     dtype=object)
    return texts[inverse]
