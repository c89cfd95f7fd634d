"""``validate``: check an assessment table against an instrument, every problem at once."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cseoutcomes._tables import check_unique_columns
from cseoutcomes.data.report import ValidationReport
from cseoutcomes.data.roles import resolve_columns
from cseoutcomes.data.rules import RULES, Context, ValidationOptions, parse_dates, parse_numbers
from cseoutcomes.instruments.schema import Instrument
from cseoutcomes.instruments.scoring import (
    BLANK,
    INVALID,
    _resolve_instrument,
    encode_responses,
    score_encoded,
)

__all__ = ["read_assessments", "rule_table", "validate"]

_DATE_ROLES = ("date", "dob", "closure_date")


def read_assessments(path: str | Path, instrument: Instrument | str | None = None, *,
                     columns: Mapping[str, Any] | str | Path | None = None, sheet: str | int | None = None,
                     layout: str = "auto") -> pd.DataFrame:
    """Read an export (CSV, XLSX, Parquet) as a wide table ready for :func:`validate`.

    The index holds each row's spreadsheet row number. A long table (one row per
    item response) is turned wide when ``instrument`` is given, keeping the
    first spreadsheet row of each assessment.
    """
    from cseoutcomes.data.io import read_table

    table = read_table(path, sheet=sheet)
    if instrument is None or layout == "wide":
        return table
    inst = _resolve_instrument(instrument)
    from cseoutcomes.data import layout as layouts

    kind = layouts.detect_layout(table, inst) if layout == "auto" else layout
    if kind == "long":
        if "spreadsheet_row" in table.columns:
            # written by to_long from an earlier table: the file's own row numbers are the ones to report
            table = table.rename(columns={"spreadsheet_row": "source_row"})
        roles = resolve_columns(table, inst, columns=columns)
        item_col = next((c for c in table.columns if str(c).casefold() == "item"), "item")
        response_col = next((c for c in table.columns if str(c).casefold() in ("response", "answer", "value")),
                            "response")
        wide = layouts.to_wide(table, inst, id_columns=list(roles.roles.values()), item_column=item_col,
                               response_column=response_col)
        wide.attrs = {"cseoutcomes": {**table.attrs.get("cseoutcomes", {}), "notes": [
            *table.attrs.get("cseoutcomes", {}).get("notes", []),
            f"long table (one row per item response) turned into {len(wide):,} assessments; each is numbered by "
            "its first row in the file"]}}
        return wide
    return table


def validate(
    data: pd.DataFrame | str | Path,
    instrument: Instrument | str,
    columns: Mapping[str, Any] | str | Path | None = None,
    *,
    options: ValidationOptions | None = None,
    **settings: Any,
) -> ValidationReport:
    """Check a wide assessment table against an instrument.

    Parameters
    ----------
    data
        A DataFrame (one row per assessment) or the path of an export.
    instrument
        An :class:`~cseoutcomes.Instrument` or a registered id.
    columns
        Column roles (``{"person": "Client ID", "items": {...}}``) or a YAML file.
    options, **settings
        :class:`~cseoutcomes.data.rules.ValidationOptions`, or its fields as
        keywords (``today=``, ``jump_threshold=``, ``disable=``...).

    Returns
    -------
    ValidationReport
        ``ok``, ``issues`` (row as in the spreadsheet, column, rule, severity,
        message), ``summary()``, ``valid`` and ``quarantined`` (which together
        hold every input row exactly once, with their original index),
        ``to_json()``, ``to_html()``.

    Examples
    --------
    >>> import cseoutcomes as co
    >>> report = co.validate(co.data.load_example(), "cse-risk-indicators", today="2020-01-01")
    >>> report.ok, len(report.valid) + len(report.quarantined)
    (True, 18)
    """
    if isinstance(data, (str, Path)):
        data = read_assessments(data, instrument, columns=columns)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame or a path, not {type(data).__name__}")
    inst = _resolve_instrument(instrument)
    if isinstance(settings.get("disable"), str):  # one rule named on its own
        settings["disable"] = (settings["disable"],)
    if options is None:
        options = ValidationOptions(**settings)
    elif settings:
        raise TypeError("give options= or keyword settings, not both")
    for score_id, threshold in options.jump_threshold.items():
        if not isinstance(threshold, (int, float)) or not np.isfinite(threshold) or threshold < 0:
            raise ValueError(f"jump_threshold for '{score_id}' must be a number of points, 0 or more, not {threshold!r}")
    if options.today is not None:
        options = dataclasses.replace(options, today=_as_day(options.today, options.dayfirst))
    check_unique_columns(data, exit_code=2)
    unknown = [r for r in (*options.disable, *options.severity) if r not in RULES]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], list(RULES), n=1)
        raise ValueError(f"no validation rule named '{unknown[0]}'" + (f"; did you mean '{close[0]}'?" if close else
                         f" (rules: {', '.join(RULES)})"))

    roles = resolve_columns(data, inst, columns)
    n = len(data)

    # Every column is converted once, in parallel threads: Arrow's and NumPy's loops release the
    # GIL, so both cores work.
    def encode(item):
        col = roles.items.get(item.id)
        return (encode_responses(data[col], inst.scale_of(item)) if col is not None
                else np.full(n, BLANK, dtype=np.int32))

    date_roles = [role for role in _DATE_ROLES if roles.column(role) is not None]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        date_jobs = {role: pool.submit(parse_dates, data[roles.column(role)], dayfirst=options.dayfirst)
                     for role in date_roles}
        month_jobs = {item_id: pool.submit(parse_numbers, data[col]) for item_id, col in roles.recency.items()}
        age_job = pool.submit(parse_numbers, data[roles.column("age")]) if roles.column("age") is not None else None
        codes: dict[str, np.ndarray] = dict(zip([i.id for i in inst.items], pool.map(encode, inst.items),
                                                strict=True))
        dates = {role: job.result()[0] for role, job in date_jobs.items()}
        dates_bad = {role: job.result()[1] for role, job in date_jobs.items()}
        months = {item_id: job.result()[0] for item_id, job in month_jobs.items()}
        months_bad = {item_id: job.result()[1] | (job.result()[0] < 0) for item_id, job in month_jobs.items()}
        age, age_bad = age_job.result() if age_job is not None else (np.full(n, np.nan), np.zeros(n, bool))
    if "dob" in dates and "date" in dates:
        # age from date of birth where no age is recorded (365.25-day years)
        derived = ((dates["date"] - dates["dob"]).dt.days / 365.25).to_numpy(dtype=float, na_value=np.nan)
        age = np.where(np.isnan(age), derived, age)

    context: dict[str, pd.Series] = {}
    for name in inst.context:
        if name == "age" and (roles.column("age") is not None or "dob" in dates):
            context[name] = pd.Series(age)
        elif roles.column(name) is not None:
            context[name] = data[roles.column(name)].reset_index(drop=True)
    answers = {k: np.where(v == INVALID, BLANK, v) for k, v in codes.items()}
    ctx = Context(table=data, instrument=inst, roles=roles, options=options, codes=codes, months=months,
                  months_bad=months_bad, dates=dates, dates_bad=dates_bad, age=age, age_bad=age_bad,
                  answers=answers, context=context)

    scoreable = inst.kind != "coding_scheme" and bool(inst.scores) and all(i.id in roles.items for i in inst.items)
    active = [r for name, r in RULES.items() if name not in options.disable]
    # Scoring runs in one thread while the other checks the rules that do not need scores; NumPy and
    # Arrow release the GIL in their loops, so both cores work. Rules that compare with scores run after.
    with ThreadPoolExecutor(max_workers=2) as pool:
        future = pool.submit(_score_all, inst, ctx) if scoreable else None
        list(pool.map(lambda r: r.func(ctx), [r for r in active if not r.needs_scores]))
        ctx.scores = future.result() if future is not None else None
    for r in active:
        if r.needs_scores:
            r.func(ctx)
    order = {name: i for i, name in enumerate(RULES)}
    ctx.blocks.sort(key=lambda block: order[block[0]])  # rule order, whichever thread finished first

    return ValidationReport.build(data, inst, roles, ctx.blocks, options, scores=ctx.scores)


def _score_all(inst: Instrument, ctx: Context) -> pd.DataFrame:
    """Scores of every row, invalid answers read as blank (for the rules that compare with scores)."""
    months = {k: np.where(np.isnan(v), 0.0, v) for k, v in ctx.months.items()}  # blank: current
    return score_encoded(inst, ctx.answers, months, ctx.context, index=ctx.table.index)


def _as_day(value: Any, dayfirst: bool) -> pd.Timestamp:
    """``today`` as a day: a date, a timestamp or text read like the data's dates."""
    if isinstance(value, str):
        parsed, bad = parse_dates(pd.Series([value], dtype=object), dayfirst=dayfirst)
        if bad[0]:
            raise ValueError(f"today={value!r} is not a date (write it as 2016-03-31)")
        return parsed.iloc[0].normalize()
    return pd.Timestamp(value).normalize()


def rule_table() -> pd.DataFrame:
    """The validation rules: name, default severity, what each checks."""
    return pd.DataFrame([(r.name, r.severity, r.summary) for r in RULES.values()],
                        columns=["rule", "severity", "checks"])


def rules_markdown() -> str:
    """The rule table as Markdown (the table in docs/validation.md is this text)."""
    lines = ["| rule | severity | checks |", "|---|---|---|"]
    lines += [f"| `{r.name}` | {r.severity} | {r.summary} |" for r in RULES.values()]
    return "\n".join(lines)

