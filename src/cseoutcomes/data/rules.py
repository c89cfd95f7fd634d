"""Validation rules for assessment tables.

Each rule has a name, a severity (an *error* quarantines the rows it names; a
*warning* does not) and a one-line summary, and is a function of the prepared
:class:`Context` that reports issues for whole columns at once (no Python loop
per row). ``cseoutcomes.data.rules.RULES`` lists them; the documentation table
in ``docs/validation.md`` is generated from the same list.

Messages say what is wrong and how to fix it. They may show a value from an item
column (the category that is not allowed), never from identifier or free-text
columns: rows are referred to by their spreadsheet row number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from cseoutcomes._tables import spreadsheet_rows
from cseoutcomes.data.privacy import identifying_columns, looks_identifying
from cseoutcomes.data.roles import ColumnRoles
from cseoutcomes.instruments.schema import Instrument
from cseoutcomes.instruments.scoring import BLANK, INVALID

__all__ = ["RULES", "Context", "Rule", "ValidationOptions", "parse_dates"]

Severity = Literal["error", "warning"]

#: closure reasons the models understand (issue 6 treats each differently)
CLOSURE_REASONS = ("risk_reduced", "not_engaging", "not_contactable", "moved_away", "transferred",
                   "aged_out", "other")


@dataclass
class ValidationOptions:
    """Settings of the rules (all have defaults)."""

    #: the date assessments may not be later than (default: today)
    today: pd.Timestamp | None = None
    #: read ambiguous dates such as 03/04/2016 as day/month (UK) rather than month/day
    dayfirst: bool = True
    #: implausible-jump threshold per score id, in score points (default: half the score's range)
    jump_threshold: dict[str, float] = field(default_factory=dict)
    #: occasion values that mark a baseline (referral) assessment
    baseline_occasions: tuple[str, ...] = ("0", "baseline", "referral", "initial", "intake")
    #: closure reasons accepted without a warning (matched ignoring case, spaces and punctuation)
    closure_reasons: tuple[str, ...] = CLOSURE_REASONS
    #: rule name -> severity, to make a rule stricter or gentler
    severity: dict[str, Severity] = field(default_factory=dict)
    #: rules to skip
    disable: tuple[str, ...] = ()


@dataclass
class Context:
    """Everything the rules look at, prepared once."""

    table: pd.DataFrame
    instrument: Instrument
    roles: ColumnRoles
    options: ValidationOptions
    codes: dict[str, np.ndarray]  # item id -> encoded responses (INVALID kept)
    months: dict[str, np.ndarray]  # recency item -> months (NaN blank or invalid)
    months_bad: dict[str, np.ndarray]
    dates: dict[str, pd.Series]  # date role -> datetime64 (NaT blank or unparseable), positional
    dates_bad: dict[str, np.ndarray]
    age: np.ndarray  # years, NaN where unknown
    age_bad: np.ndarray
    #: answers with invalid cells read as blank, and context fields (age parsed, or from date of birth):
    #: what scoring and routing see
    answers: dict[str, np.ndarray] = field(default_factory=dict)
    context: dict[str, pd.Series] = field(default_factory=dict)
    scores: pd.DataFrame | None = None
    blocks: list[tuple[str, np.ndarray | None, str | None, Any]] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.table)

    def add(self, rule: str, positions: np.ndarray | None, column: str | None, message: Any) -> None:
        """Record issues: ``positions`` (row positions, or None for the whole table) and a message
        (one string, or an array with one message per position)."""
        if positions is not None:
            positions = np.asarray(positions, dtype=np.int64)
            if positions.size == 0:
                return
        self.blocks.append((rule, positions, column, message))

    def column_values(self, role: str) -> pd.Series | None:
        col = self.roles.column(role)
        return None if col is None else self.table[col].reset_index(drop=True)


@dataclass(frozen=True)
class Rule:
    name: str
    severity: Severity
    summary: str
    func: Callable[[Context], None]
    #: the rule compares against the computed scores (it runs once scoring is done)
    needs_scores: bool = False


RULES: dict[str, Rule] = {}


def rule(name: str, severity: Severity, summary: str, *, needs_scores: bool = False):
    def register(func: Callable[[Context], None]) -> Callable[[Context], None]:
        RULES[name] = Rule(name, severity, summary, func, needs_scores)
        return func

    return register


# ---------------------------------------------------------------------------
# parsing helpers


def _per_unique(values: pd.Series, func: Callable[[pd.Series], Any], na_value: Any) -> np.ndarray:
    """Apply ``func`` to each distinct value once and spread the result over the column.

    ``func`` gets the distinct non-missing values as an object Series and returns
    one result per value; missing cells get ``na_value``.
    """
    codes, uniques = pd.factorize(_hashable(values.reset_index(drop=True)), use_na_sentinel=True)
    mapped = np.asarray(func(pd.Series(np.asarray(uniques, dtype=object), dtype=object)))
    result = np.empty(len(mapped) + 1, dtype=np.result_type(mapped.dtype, np.asarray(na_value).dtype)
                      if mapped.dtype != object else object)
    result[:-1] = mapped
    result[-1] = na_value
    return result[codes]


def _is_blank(values: pd.Series) -> np.ndarray:
    """Missing, or text that is only spaces."""
    data = getattr(values.array, "_pa_array", None)
    if data is not None and str(data.type) in ("string", "large_string"):
        import pyarrow.compute as pc

        blank = pc.or_kleene(pc.is_null(data), pc.equal(pc.utf8_trim_whitespace(data), ""))
        return pc.fill_null(blank, True).to_numpy(zero_copy_only=False).astype(bool)
    return _per_unique(values, lambda u: u.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(bool),
                       True).astype(bool)


_EARLIEST, _LATEST = pd.Timestamp("1900-01-01"), pd.Timestamp("2262-01-01")


def _plausible(dates: pd.Series) -> np.ndarray:
    """datetime64[ns] values, NaT outside 1900-2262 (e.g. 9999-12-31 used as "open-ended")."""
    dates = pd.to_datetime(dates, errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert(None)
    dates = dates.where((dates >= _EARLIEST) & (dates <= _LATEST))
    return dates.astype("datetime64[ns]").to_numpy()


def parse_dates(values: pd.Series, *, dayfirst: bool = True) -> tuple[pd.Series, np.ndarray]:
    """Parse a date column: ISO dates, UK dd/mm/yyyy (or mm/dd with ``dayfirst=False``), Excel dates and serials.

    Each distinct value is parsed once. Dates before 1900 or after 2261 count as
    unparseable. Returns (datetime64[ns] Series with NaT for blank or
    unparseable cells, mask of cells that are present but unparseable).
    """
    values = values.reset_index(drop=True)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert(None)
    blank = _is_blank(values)
    codes, uniques = pd.factorize(_hashable(values), use_na_sentinel=True)
    parsed = np.full(len(uniques) + 1, np.datetime64("NaT", "ns"), dtype="datetime64[ns]")  # last slot: blank
    if len(uniques):
        u = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
        is_ts = u.map(lambda v: isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "year")).to_numpy(bool)
        if is_ts.any():
            parsed[:-1][is_ts] = _plausible(pd.Series(list(u[is_ts]), dtype=object).map(
                lambda v: pd.Timestamp(v).tz_localize(None) if getattr(v, "tzinfo", None) else v))
        num = pd.to_numeric(u.where(~is_ts), errors="coerce")
        serial = (num.between(10000, 80000) & (num == num.round())).to_numpy(bool)
        if serial.any():  # Excel serial day numbers (1900 date system)
            parsed[:-1][serial] = _plausible(pd.Series(
                pd.Timestamp("1899-12-30") + pd.to_timedelta(num[serial].to_numpy(), unit="D")))
        rest = ~is_ts & ~serial
        if rest.any():
            text = u[rest].astype(str).str.strip()
            got = pd.to_datetime(text, format="ISO8601", errors="coerce")
            for fmt in (("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%d %b %Y", "%d %B %Y") if dayfirst else
                        ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y", "%b %d %Y", "%B %d %Y")):
                missing = got.isna()
                if not missing.any():
                    break
                got = got.where(~missing, pd.to_datetime(text.where(missing), format=fmt, errors="coerce"))
            # a bare number is not a date (it would parse as a year)
            got = got.where(~text.str.fullmatch(r"[+-]?\d+(\.\d*)?").to_numpy(bool))
            parsed[:-1][rest] = _plausible(got)
    full = pd.Series(parsed[codes], dtype="datetime64[ns]")
    bad = ~blank & full.isna().to_numpy()
    return full, bad


def _hashable(values: pd.Series) -> pd.Series:
    """Cells holding lists, dicts or sets become their text, so they can be counted and reported."""
    if values.dtype == object:
        odd = values.map(lambda v: isinstance(v, (list, dict, set)))
        if odd.any():
            return values.where(~odd, values[odd].astype(str))
    return values


def parse_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(float array with NaN for blank or non-numeric, mask of present but non-numeric cells).

    Each distinct value is converted once; decimal commas (``14,5``) are read as points.
    """
    def convert(u: pd.Series) -> np.ndarray:
        # complex numbers are not read as their real part: str() makes them fail as text would
        text = u.map(lambda v: v.strip().replace(",", ".") if isinstance(v, str) else
                     str(v) if isinstance(v, complex) else v)
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    num = _per_unique(values, convert, np.nan).astype(float)
    return num, ~_is_blank(values) & np.isnan(num)


def _fold(values: pd.Series) -> pd.Series:
    """Text folded for matching codes and names: lower case, other characters to ``_``."""
    def fold(u: pd.Series) -> np.ndarray:
        return u.astype(str).str.casefold().str.replace(r"[^0-9a-z]+", "_", regex=True).str.strip("_") \
            .to_numpy(dtype=object)

    return pd.Series(_per_unique(values, fold, None), dtype=object)


def _row_of(ctx: Context, positions: np.ndarray) -> np.ndarray:
    return spreadsheet_rows(ctx.table)[positions]


# ---------------------------------------------------------------------------
# rules: structure


@rule("required-column", "error", "A column the instrument needs (person, date or occasion, each item) is missing.")
def _required_columns(ctx: Context) -> None:
    if ctx.roles.column("person") is None:
        ctx.add("required-column", None, None,
                "no column identifies the young person (name one `person_id`, or map it with `person: <column>`)")
    if ctx.roles.column("date") is None and ctx.roles.column("occasion") is None:
        ctx.add("required-column", None, None,
                "no assessment date or occasion column (name one `assessment_date`, or map it with `date: <column>`)")
    missing = [i.id for i in ctx.instrument.items if i.id not in ctx.roles.items]
    if missing:
        shown = ", ".join(f"'{m}'" for m in missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        ctx.add("required-column", None, None,
                f"{len(missing)} item column{'s are' if len(missing) > 1 else ' is'} missing: {shown} "
                f"(name columns by item id, see `cseoutcomes instruments show {ctx.instrument.id}`, or map them)")


@rule("missing-identifier", "error", "A row has no person identifier, or neither a date nor an occasion.")
def _missing_identifier(ctx: Context) -> None:
    person = ctx.column_values("person")
    if person is not None:
        ctx.add("missing-identifier", np.flatnonzero(_is_blank(person)), ctx.roles.column("person"),
                "no person identifier on this row (fill it in: every assessment belongs to a young person)")
    date_col, occ_col = ctx.roles.column("date"), ctx.roles.column("occasion")
    if date_col is not None or occ_col is not None:
        no_date = _is_blank(ctx.table[date_col].reset_index(drop=True)) if date_col else np.ones(ctx.n, bool)
        no_occ = _is_blank(ctx.table[occ_col].reset_index(drop=True)) if occ_col else np.ones(ctx.n, bool)
        ctx.add("missing-identifier", np.flatnonzero(no_date & no_occ), date_col or occ_col,
                "no assessment date or occasion on this row (fill in when the assessment took place)")


# ---------------------------------------------------------------------------
# rules: cell values


@rule("invalid-category", "error", "An item's answer is not one of the instrument's categories or missing codes.")
def _invalid_category(ctx: Context) -> None:
    for item in ctx.instrument.items:
        col = ctx.roles.items.get(item.id)
        if col is None:
            continue
        bad = np.flatnonzero(ctx.codes[item.id] == INVALID)
        if not bad.size:
            continue
        scale = ctx.instrument.scale_of(item)
        allowed = " / ".join(scale.codes)
        missing = " / ".join(scale.missing_codes)
        values = ctx.table[col].iloc[bad].astype(str).str.strip().to_numpy(dtype=object)
        # show the value only when it cannot identify anyone (a misaligned export can put names here)
        codes, uniques = pd.factorize(values)
        hidden = looks_identifying(uniques)[codes]
        tail = f" (or a missing code: {missing})" if missing else ""
        messages = np.array([f"a value that is not one of {allowed}{tail}; it is not shown because it looks like "
                             "personal data (check that the columns are in the right place)" if h
                             else f"'{v}' is not one of {allowed}{tail}" for v, h in zip(values, hidden, strict=True)],
                            dtype=object)
        ctx.add("invalid-category", bad, col, messages)


def _sections_apply(ctx: Context) -> dict[str, np.ndarray]:
    """Per routed section, whether it applies to each row (cached)."""
    if "applies" not in ctx.cache:
        from cseoutcomes.instruments.scoring import section_applies

        ctx.cache["applies"] = (section_applies(ctx.instrument, ctx.answers, ctx.context, ctx.n)
                                if ctx.answers else {})
    return ctx.cache["applies"]


@rule("blank-answer", "warning", "An item is blank; a missing code would say why (unknown, not asked, declined).")
def _blank_answer(ctx: Context) -> None:
    applies = _sections_apply(ctx)
    for item in ctx.instrument.items:
        col = ctx.roles.items.get(item.id)
        if col is None:
            continue
        blank = ctx.codes[item.id] == BLANK
        if item.section in applies:  # a blank in a section that was skipped is expected
            blank &= applies[item.section]
        if blank.all() and ctx.n:
            ctx.add("blank-answer", None, col, f"column '{col}' is empty: every answer to item '{item.id}' is blank")
            continue
        codes = ctx.instrument.scale_of(item).missing_codes
        hint = f"record why with a missing code ({' / '.join(codes)})" if codes else "fill it in"
        ctx.add("blank-answer", np.flatnonzero(blank), col, f"blank answer: {hint}")


@rule("not-a-number", "error", "Age, occasion or months since an indicator was present is not a number (or is negative).")
def _not_a_number(ctx: Context) -> None:
    if ctx.roles.column("age") is not None:
        ctx.add("not-a-number", np.flatnonzero(ctx.age_bad), ctx.roles.column("age"),
                "age is not a number of years (write it as a number, e.g. 14 or 14.5)")
    for item_id, bad in ctx.months_bad.items():
        ctx.add("not-a-number", np.flatnonzero(bad), ctx.roles.recency[item_id],
                "months since the indicator was last present must be a number, 0 or more")
    occ = ctx.column_values("occasion")
    if occ is not None:
        num = _occasion_numbers(ctx, occ)
        present = ~_is_blank(occ)
        with np.errstate(invalid="ignore"):
            bad = present & (~np.isfinite(num) | (num < 0) | (num != np.round(num)))
        ctx.add("not-a-number", np.flatnonzero(bad), ctx.roles.column("occasion"),
                "occasion must be a whole number (0 for the referral assessment, then 1, 2, ... for reviews)")


@rule("unparseable-date", "error", "A date cannot be read as a date.")
def _unparseable_date(ctx: Context) -> None:
    order = "day/month/year" if ctx.options.dayfirst else "month/day/year"
    for role, bad in ctx.dates_bad.items():
        ctx.add("unparseable-date", np.flatnonzero(bad), ctx.roles.column(role),
                f"not a date (write dates as 2016-03-31 or {order})")


@rule("future-date", "error", "An assessment, closure or birth date is later than today.")
def _future_date(ctx: Context) -> None:
    today = ctx.options.today or pd.Timestamp.today().normalize()
    for role, dates in ctx.dates.items():
        late = np.flatnonzero((dates > today).to_numpy())
        ctx.add("future-date", late, ctx.roles.column(role),
                f"date is after {today.date().isoformat()}: check the year")


@rule("before-birth", "error", "An assessment is dated before the young person's date of birth.")
def _before_birth(ctx: Context) -> None:
    if "date" in ctx.dates and "dob" in ctx.dates:
        bad = (ctx.dates["date"] < ctx.dates["dob"]).to_numpy()
        ctx.add("before-birth", np.flatnonzero(bad), ctx.roles.column("date"),
                "assessment date is before the date of birth (check both dates)")


@rule("after-closure", "error", "An assessment is dated after the case was closed.")
def _after_closure(ctx: Context) -> None:
    if "date" in ctx.dates and "closure_date" in ctx.dates:
        bad = (ctx.dates["date"] > ctx.dates["closure_date"]).to_numpy()
        ctx.add("after-closure", np.flatnonzero(bad), ctx.roles.column("date"),
                "assessment date is after the case's closure date (check both dates, or reopen the case)")


@rule("age-out-of-range", "warning", "The young person's age is outside the ages the instrument is meant for.")
def _age_out_of_range(ctx: Context) -> None:
    if ctx.instrument.age_range is None:
        return
    lo, hi = ctx.instrument.age_range
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero((ctx.age < lo) | (ctx.age > hi))
    col = ctx.roles.column("age") or ctx.roles.column("dob")
    ctx.add("age-out-of-range", bad, col,
            f"age is outside {lo:g} to {hi:g}, the ages {ctx.instrument.id} is meant for (check the age or date of birth)")


# ---------------------------------------------------------------------------
# rules: case level


@rule("closure-without-reason", "warning", "A case has a closure date but no closure reason.")
def _closure_without_reason(ctx: Context) -> None:
    closed = ctx.column_values("closure_date")
    if closed is None:
        return
    reason = ctx.column_values("closure_reason")
    no_reason = np.ones(ctx.n, bool) if reason is None else _is_blank(reason)
    bad = np.flatnonzero(~_is_blank(closed) & no_reason)
    ctx.add("closure-without-reason", bad, ctx.roles.column("closure_reason") or ctx.roles.column("closure_date"),
            "the case is closed but no reason is recorded (why it closed matters: disengagement or moving away is "
            f"not the same as reduced risk; use one of {', '.join(ctx.options.closure_reasons)})")


@rule("unknown-closure-reason", "warning", "A closure reason is not one of the reasons the models distinguish.")
def _unknown_closure_reason(ctx: Context) -> None:
    reason = ctx.column_values("closure_reason")
    if reason is None:
        return
    known = {r.casefold() for r in ctx.options.closure_reasons}
    folded = _fold(reason)
    bad = np.flatnonzero(~_is_blank(reason) & ~folded.isin(list(known)).fillna(False).to_numpy())
    ctx.add("unknown-closure-reason", bad, ctx.roles.column("closure_reason"),
            f"closure reason is not one of {', '.join(ctx.options.closure_reasons)} (recode it, or pass "
            "closure_reasons= to accept your service's list)")


def _first_positions(group: np.ndarray) -> np.ndarray:
    """For each row, the position of the first row of its group."""
    first = np.empty(group.max() + 1, dtype=np.int64)
    positions = np.arange(group.size)
    first[group[::-1]] = positions[::-1]  # with repeated indices the last write wins: here, the first row
    return first[group]


def _person_order(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Positions sorted by person then occasion/date, the person codes in that order, and same-person-as-previous."""
    if "person_order" not in ctx.cache:
        ctx.cache["person_order"] = _compute_person_order(ctx)
    return ctx.cache["person_order"]


def _person_codes(ctx: Context) -> np.ndarray | None:
    """Integer code of each row's person (-1 where blank), computed once."""
    if "person_codes" not in ctx.cache:
        person = ctx.column_values("person")
        ctx.cache["person_codes"] = None if person is None else pd.factorize(person, use_na_sentinel=True)[0]
    return ctx.cache["person_codes"]


def _dense_rank(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Rank of each value among the distinct values (missing last), and how many ranks there are."""
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    return np.where(codes < 0, len(uniques), codes).astype(np.int64), len(uniques) + 1


def _date_rank(ctx: Context) -> tuple[np.ndarray, int]:
    """Dense rank of the assessment dates, computed once."""
    if "date_rank" not in ctx.cache:
        ctx.cache["date_rank"] = _dense_rank(ctx.dates["date"].to_numpy())
    return ctx.cache["date_rank"]


def _compute_person_order(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    pcodes = _person_codes(ctx)
    if pcodes is None or ctx.n == 0:
        return None
    # one int64 key (person, then occasion, then date) sorts much faster than a lexsort of three
    key = pcodes.astype(np.int64)
    occ = ctx.column_values("occasion")
    if occ is not None:
        rank, size = _dense_rank(_occasion_numbers(ctx, occ))
        key = key * size + rank
    if "date" in ctx.dates:
        rank, size = _date_rank(ctx)
        key = key * size + rank
    order = np.argsort(key, kind="stable")
    sorted_person = pcodes[order]
    same = np.r_[False, (sorted_person[1:] == sorted_person[:-1]) & (sorted_person[1:] >= 0)]
    return order, sorted_person, same


def _occasion_numbers(ctx: Context, occ: pd.Series) -> np.ndarray:
    """Occasions as numbers; named baselines ("referral", "baseline") count as 0."""
    if "occasion" not in ctx.cache:
        baseline = set(ctx.options.baseline_occasions)

        def convert(u: pd.Series) -> np.ndarray:
            num = pd.to_numeric(u.map(lambda v: v.strip().replace(",", ".") if isinstance(v, str) else v),
                                errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            named = _fold(u).isin(baseline).to_numpy(dtype=bool)
            return np.where(named & np.isnan(num), 0.0, num)

        ctx.cache["occasion"] = _per_unique(occ, convert, np.nan).astype(float)
    return ctx.cache["occasion"]


@rule("duplicate-assessment", "error", "Two rows are the same person's assessment on the same date (and by the same rater).")
def _duplicate_assessment(ctx: Context) -> None:
    pcodes = _person_codes(ctx)
    if pcodes is None:
        return
    when_role = "date" if "date" in ctx.dates else "occasion" if ctx.roles.column("occasion") else None
    if when_role is None:
        return
    when = ctx.dates["date"].to_numpy() if when_role == "date" else _occasion_numbers(ctx, ctx.column_values("occasion"))
    # one int64 key per (person, when, rater): hashing one column is far cheaper than a multi-column duplicated()
    when_rank, when_size = _date_rank(ctx) if when_role == "date" else _dense_rank(when)
    key = pcodes.astype(np.int64) * when_size + when_rank
    rater = ctx.column_values("rater")
    if rater is not None:
        rater_codes, rater_uniques = pd.factorize(_fold(rater), use_na_sentinel=True)
        key = key * (len(rater_uniques) + 1) + (rater_codes + 1)
    valid = (pcodes >= 0) & ~pd.isna(when)
    keyed = pd.Series(np.where(valid, key, -1 - np.arange(ctx.n)))  # rows without person or date never match
    dup = keyed.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    first = _first_positions(pd.factorize(keyed)[0])
    positions = np.flatnonzero(dup)
    rows = _row_of(ctx, first[positions])
    what = "date" if when_role == "date" else "occasion"
    who = " and rater" if rater is not None else ""
    messages = np.array([f"same person, {what}{who} as row {r}: keep one assessment, or correct the {what}"
                         for r in rows], dtype=object)
    ctx.add("duplicate-assessment", positions, ctx.roles.column(when_role), messages)


@rule("occasion-order", "warning", "A person's occasions are not in date order.")
def _occasion_order(ctx: Context) -> None:
    if ctx.roles.column("occasion") is None or "date" not in ctx.dates:
        return
    ordered = _person_order(ctx)
    if ordered is None:
        return
    order, _, same = ordered
    dates = ctx.dates["date"].to_numpy()[order]
    occ = _occasion_numbers(ctx, ctx.column_values("occasion"))[order]
    earlier = np.r_[False, dates[1:] < dates[:-1]] & same & np.r_[False, occ[1:] > occ[:-1]]
    positions = order[earlier]
    prev = order[np.flatnonzero(earlier) - 1]
    messages = np.array([f"this occasion is dated before the previous occasion (row {r}): check the dates or "
                         "the occasion numbers" for r in _row_of(ctx, prev)], dtype=object)
    ctx.add("occasion-order", positions, ctx.roles.column("date"), messages)


@rule("no-baseline", "warning", "A person has no baseline (referral) assessment.")
def _no_baseline(ctx: Context) -> None:
    occ = ctx.column_values("occasion")
    pcodes = _person_codes(ctx)
    if occ is None or pcodes is None:
        return  # without occasions, each person's earliest assessment is the baseline
    num = _occasion_numbers(ctx, occ)
    frame = pd.DataFrame({"p": pcodes, "occ": num, "pos": np.arange(ctx.n)})
    frame = frame[frame["p"] >= 0]
    lowest = frame.groupby("p")["occ"].min()
    missing = lowest[~(lowest <= 0)].index
    first = frame[frame["p"].isin(missing)].groupby("p")["pos"].min().to_numpy()
    ctx.add("no-baseline", np.sort(first), ctx.roles.column("occasion"),
            "this person has no baseline assessment (occasion 0): change from referral cannot be measured")


# ---------------------------------------------------------------------------
# rules: consistency with the instrument's scoring


@rule("answered-skipped-section", "warning", "An item is answered in a section that its routing says was skipped.")
def _answered_skipped(ctx: Context) -> None:
    for section_id, ok in _sections_apply(ctx).items():
        for item in ctx.instrument.items:
            if item.section == section_id and item.id in ctx.roles.items:
                bad = np.flatnonzero(~ok & (ctx.codes[item.id] >= 0))
                ctx.add("answered-skipped-section", bad, ctx.roles.items[item.id],
                        f"answered, but section '{section_id}' does not apply to this assessment (clear the answer "
                        "or check the answers that route to the section)")


@rule("band-mismatch", "warning", "The band recorded in the export differs from the band computed from the items.", needs_scores=True)
def _band_mismatch(ctx: Context) -> None:
    if ctx.scores is None:
        return
    for score_id, col in ctx.roles.bands.items():
        s = ctx.instrument.get_score(score_id)
        computed = ctx.scores[f"{score_id}_band"]
        recorded = ctx.table[col].reset_index(drop=True)
        blank = _is_blank(recorded)
        lookup: dict[str, int] = {}
        for i, b in enumerate(s.bands):
            for name in (b.code, b.label, str(i + 1), f"category_{i + 1}"):
                lookup.setdefault(_fold(pd.Series([name])).iloc[0], i)
        recorded_pos = _per_unique(recorded, lambda u, lookup=lookup: _fold(u).map(lookup).to_numpy(
                                       dtype=float, na_value=np.nan),
                                   np.nan).astype(float)
        computed_pos = computed.cat.codes.to_numpy().astype(float)
        computed_pos[computed_pos < 0] = np.nan
        unknown_band = ~blank & np.isnan(recorded_pos)
        differ = ~blank & ~np.isnan(recorded_pos) & ~np.isnan(computed_pos) & (recorded_pos != computed_pos)
        codes = [b.code for b in s.bands]
        ctx.add("band-mismatch", np.flatnonzero(unknown_band), col,
                f"the recorded band is not one of {' / '.join(codes)} (record the band by its code or label)")
        positions = np.flatnonzero(differ)
        if positions.size:
            rec = np.array(codes, dtype=object)[recorded_pos[positions].astype(int)]
            com = np.array(codes, dtype=object)[computed_pos[positions].astype(int)]
            messages = np.array([f"recorded band '{r}' but the items give '{c}' (score {v:g}); the computed band is "
                                 "used (correct the recorded band, or check the item answers)"
                                 for r, c, v in zip(rec, com, ctx.scores[score_id].to_numpy()[positions], strict=True)],
                                dtype=object)
            ctx.add("band-mismatch", positions, col, messages)


@rule("override-applied", "warning", "An override rule of the instrument applies (its reason is given).", needs_scores=True)
def _override_applied(ctx: Context) -> None:
    if ctx.scores is None:
        return
    for s in ctx.instrument.scores:
        column = f"{s.id}_override"
        if column in ctx.scores:
            reasons = ctx.scores[column]
            hit = np.flatnonzero(reasons.notna().to_numpy())
            if hit.size:
                messages = ("override on score '" + s.id + "': " + reasons.iloc[hit].astype(str)).to_numpy(dtype=object)
                ctx.add("override-applied", hit, None, messages)
        # only the first score with overrides: the others repeat the same rules
        if column in ctx.scores:
            break


@rule("implausible-jump", "warning", "A score changes more between consecutive assessments than the threshold allows.", needs_scores=True)
def _implausible_jump(ctx: Context) -> None:
    if ctx.scores is None:
        return
    ordered = _person_order(ctx)
    if ordered is None:
        return
    order, _, same = ordered
    for s in ctx.instrument.scores[:1]:  # the instrument's main score
        lo, hi, _ = ctx.instrument.score_range(s)
        threshold = ctx.options.jump_threshold.get(s.id, (hi - lo) / 2)
        values = ctx.scores[s.id].to_numpy(dtype=float)[order]
        step = np.r_[np.nan, np.abs(np.diff(values))]
        with np.errstate(invalid="ignore"):
            jump = same & (step > threshold)
        idx = np.flatnonzero(jump)
        if not idx.size:
            continue
        prev_rows = _row_of(ctx, order[idx - 1])
        messages = np.array([f"score '{s.id}' went from {a:g} to {b:g} since row {r} (more than {threshold:g} points): "
                             "check both assessments" for a, b, r in zip(values[idx - 1], values[idx], prev_rows,
                                                                        strict=True)], dtype=object)
        ctx.add("implausible-jump", order[idx], None, messages)


@rule("identifying-column", "warning", "A column looks like it holds names, dates of birth, postcodes, phone or NHS numbers, e-mail addresses or free text.")
def _identifying_column(ctx: Context) -> None:
    # item columns are checked cell by cell against the instrument's codes, and a bad cell's value is
    # only shown when it cannot identify anyone (invalid-category): the lint looks at the other columns
    skip = set(ctx.roles.items.values()) | set(ctx.roles.recency.values())
    suspects = [c for c in ctx.table.columns if c not in skip]
    if not suspects:
        return
    # 500 values per column judge a majority share to within a few points, at a quarter of the cost of 2,000
    for finding in identifying_columns(ctx.table[suspects], roles=ctx.roles.roles, sample=500):
        ctx.add("identifying-column", None, finding.column, finding.message)
