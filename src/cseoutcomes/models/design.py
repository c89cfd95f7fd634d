"""Turn an assessment table and a :class:`ChangeModel` into arrays a backend can fit.

Every problem with the table is collected and reported at once as a one-line
:class:`DataError` (row numbers and column names, never identifier values). Rows
whose outcome cannot be scored are left out of the likelihood, counted in a
:class:`ModelWarning` and listed in ``Design.excluded``: never dropped silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cseoutcomes._tables import spreadsheet_rows
from cseoutcomes.errors import DataError, ModelWarning
from cseoutcomes.models.spec import TIME_UNITS

if TYPE_CHECKING:
    from cseoutcomes.models.spec import ChangeModel

__all__ = ["Design", "build_design", "covariate_matrix", "prediction_rows"]

@dataclass
class Group:
    """One grouping level: an index per row and the labels of the groups."""

    index: np.ndarray
    labels: np.ndarray
    n_people: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    n_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, int))


@dataclass
class Design:
    """Arrays for one model fit (rows with an outcome only)."""

    family: str
    kind: str
    categories: tuple[str, ...]
    labels: tuple[str, ...]
    direction: str
    y: np.ndarray
    t: np.ndarray
    t_per_year: float
    person: np.ndarray
    person_labels: np.ndarray
    groups: dict[str, Group]
    X: np.ndarray
    x_names: tuple[str, ...]
    x_center: np.ndarray
    x_scale: np.ndarray
    rows: np.ndarray
    occasion: np.ndarray
    person_closed: np.ndarray | None
    excluded: pd.DataFrame
    y_center: float = 0.0
    y_scale: float = 1.0
    covariate_levels: dict[str, list[Any]] = field(default_factory=dict)
    M: np.ndarray | None = None
    """Measurement covariates (rows x columns, not centred; ``ChangeModel.measurement_covariates``)."""
    m_names: tuple[str, ...] = ()
    selection: float | int | None = None
    """Ordinal: index of the lowest category that passed the referral screen; continuous: the threshold."""
    selected: np.ndarray | None = None
    """Rows whose likelihood is conditioned on the referral screen (each young person's referral assessment)."""
    person_closure_time: np.ndarray | None = None
    """Per young person: time of closure since referral (NaN when open or unknown)."""
    person_closure_reason: np.ndarray | None = None
    """Per young person: closure reason ('' when open)."""
    closure_reasons: tuple[str, ...] = ()
    """Joint drop-out model: the closure reasons in the data, each with its own hazard."""
    person_followup: np.ndarray | None = None
    """Joint drop-out model: per young person, time from referral to closure, or to the end of observation if open."""
    person_event: np.ndarray | None = None
    """Joint drop-out model: per young person, index of the closure reason in ``closure_reasons`` (-1: still open)."""
    person_censor: np.ndarray | None = None
    """Joint drop-out model: per young person, time from referral to the end of observation (open or not)."""
    observation_end: str | None = None
    """Joint drop-out model with dates: the end of observation used (``YYYY-MM-DD``)."""
    closure_knots: tuple[float, ...] = ()
    """Joint drop-out model: times since referral where the baseline closure hazards may step (``Dropout.baseline_knots``)."""

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @property
    def y_std(self) -> np.ndarray:
        """Continuous outcome on the standardised scale the priors refer to."""
        return (self.y - self.y_center) / self.y_scale


def _blank(values: pd.Series) -> np.ndarray:
    text = values.astype("string")
    return (values.isna() | text.str.strip().eq("")).to_numpy(bool, na_value=True)


def _rows_text(rows: np.ndarray, limit: int = 5) -> str:
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _time(model: ChangeModel, table: pd.DataFrame, person: np.ndarray, rownum: np.ndarray,
          problems: list[str]) -> np.ndarray:
    from cseoutcomes.data.rules import parse_dates, parse_numbers

    col = table[model.time]
    per_year = TIME_UNITS[model.time_unit]
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    if numeric:
        t, bad = parse_numbers(col)
        missing = np.isnan(t)
        if missing.any():
            problems.append(f"column {model.time!r}: no time on spreadsheet rows {_rows_text(rownum[missing])} "
                            "(fill in the time since referral)")
        neg = ~missing & (t < 0)
        if neg.any():
            problems.append(f"column {model.time!r}: negative time since referral on spreadsheet rows "
                            f"{_rows_text(rownum[neg])} (time counts from referral, which is 0)")
        return t
    dates, bad = parse_dates(col)
    dates = dates.to_numpy()
    missing = np.isnat(dates)
    if missing.any():
        what = "unreadable date" if bad.any() else "no date"
        problems.append(f"column {model.time!r}: {what} on spreadsheet rows {_rows_text(rownum[missing])} "
                        "(use YYYY-MM-DD dates, or give time since referral as a number)")
        return np.zeros(len(table))
    days = dates.astype("datetime64[D]").astype(np.int64).astype(float)
    first = pd.Series(days).groupby(person).transform("min").to_numpy()
    return (days - first) / 365.25 * per_year


def _outcome(model: ChangeModel, info: dict[str, Any], table: pd.DataFrame, rownum: np.ndarray,
             problems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(outcome array, mask of rows without an outcome)."""
    from cseoutcomes.instruments.scoring import INVALID, encode_responses, score

    inst = info["instrument"]
    name = model.outcome
    kind = info["kind"]
    if kind == "item":
        if name not in table.columns:
            problems.append(f"column {name!r} (item of {inst.key}) is missing from the data")
            return np.zeros(len(table)), np.zeros(len(table), bool)
        codes = encode_responses(table[name], info["scale"])
        invalid = codes == INVALID
        if invalid.any():
            problems.append(f"column {name!r}: values that are not categories of the item's scale on spreadsheet "
                            f"rows {_rows_text(rownum[invalid])} (run `cseoutcomes validate` to see each one)")
        missing = codes < 0
        return np.where(missing, -1, codes), missing
    if kind == "band":
        col = name
        if col in table.columns:
            values = table[col]
            cats = [str(c).casefold() for c in info["categories"]]
            text = values.astype("string").str.strip().str.casefold()
            pos = text.map(lambda v: cats.index(v) if isinstance(v, str) and v in cats else -1).to_numpy(int)
            blank = _blank(values)
            bad = (pos < 0) & ~blank
            if bad.any():
                problems.append(f"column {col!r}: values that are not bands of {info['score'].id!r} "
                                f"({list(info['categories'])}) on spreadsheet rows {_rows_text(rownum[bad])}")
            return pos, pos < 0
        scored = _score_quietly(score, table, inst, info["score"].id)
        band = scored[f"{info['score'].id}_band"]
        codes = band.cat.codes.to_numpy().astype(int)
        return codes, codes < 0
    # continuous score
    if name in table.columns:
        from cseoutcomes.data.rules import parse_numbers

        y, bad = parse_numbers(table[name])
        if bad.any():
            problems.append(f"column {name!r}: values that are not numbers on spreadsheet rows "
                            f"{_rows_text(rownum[bad])}")
        return y, np.isnan(y)
    scored = _score_quietly(score, table, inst, name)
    y = scored[name].to_numpy(dtype=float, na_value=np.nan)
    return y, np.isnan(y)


def _score_quietly(score, table, inst, score_id):
    try:
        return score(table, inst, scores=[score_id])
    except DataError as exc:
        raise DataError(f"the outcome could not be scored: {exc.one_line()}",
                        hint="run `cseoutcomes validate` and fit the valid rows") from None


def build_design(model: ChangeModel, data: pd.DataFrame, *, require_outcome: bool = True) -> Design:
    """Check ``data`` against ``model`` and build the arrays to fit.

    With ``require_outcome=False`` a table without the outcome column is
    accepted (for simulating outcomes on its design); the outcome is then 0.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, not {type(data).__name__}",
                        hint="read the table with cseoutcomes.data.read_table or read_assessments(...).valid")
    info = model._resolve()
    table = data
    rownum = spreadsheet_rows(table)
    problems: list[str] = []
    needed = {"person": model.person, "time": model.time}
    needed.update({f"group {lvl}": col for lvl, col in model.groups.items()})
    needed.update({f"covariate {c}": c for c in model.covariates})
    needed.update({f"measurement covariate {c}": c for c in model.measurement_covariates})
    missing_cols = [f"{col!r} ({role})" for role, col in needed.items() if col not in table.columns]
    if missing_cols:
        raise DataError(f"columns missing from the data: {', '.join(missing_cols)}",
                        hint="rename the columns or pass person=, time=, groups= (groups={} for none) "
                             "and covariates= to ChangeModel")
    if len(table) == 0:
        raise DataError("the data has no rows", hint="fit a table with at least one assessment per young person")

    def labels_of(col: str, role: str) -> np.ndarray:
        values = table[col]
        blank = _blank(values)
        if blank.any():
            problems.append(f"column {col!r} ({role}): blank on spreadsheet rows {_rows_text(rownum[blank])} "
                            "(every assessment needs one)")
        return _text(values)

    person_text = labels_of(model.person, "person")
    person_codes, _ = pd.factorize(person_text, sort=False)
    t = _time(model, table, person_codes, rownum, problems)
    group_text = _nest(model, {lvl: labels_of(col, lvl) for lvl, col in model.groups.items()})
    if require_outcome or model.outcome in table.columns:
        y, no_outcome = _outcome(model, info, table, rownum, problems)
    else:
        y, no_outcome = np.zeros(len(table), dtype=int if info["family"] == "ordinal" else float), \
            np.zeros(len(table), bool)

    X_cols: list[np.ndarray] = []
    x_names: list[str] = []
    cov_levels: dict[str, list[Any]] = {}
    for c in model.covariates:
        values = table[c]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            v = values.to_numpy(dtype=float, na_value=np.nan)
            if np.isnan(v).any():
                problems.append(f"column {c!r} (covariate): blank on spreadsheet rows "
                                f"{_rows_text(rownum[np.isnan(v)])}")
            X_cols.append(v)
            x_names.append(c)
        else:
            blank = _blank(values)
            if blank.any():
                problems.append(f"column {c!r} (covariate): blank on spreadsheet rows {_rows_text(rownum[blank])}")
            text = values.astype("string").str.strip()
            levels = sorted(set(text.dropna()) - {""})
            cov_levels[c] = levels
            for lev in levels[1:]:
                X_cols.append((text == lev).to_numpy(dtype=float, na_value=0.0))
                x_names.append(f"{c}[{lev}]")
    M_cols = [_measurement_column(table[c], c, rownum, problems) for c in model.measurement_covariates]
    if problems:
        raise DataError(f"{len(problems)} problem{'s' * (len(problems) > 1)} with the data: " + "; ".join(problems),
                        problems=problems, hint=None)

    keep = ~no_outcome
    if not keep.any():
        raise DataError(f"no row has a value for the outcome {model.outcome!r}",
                        hint="check the item columns (run `cseoutcomes validate`)")
    excluded = pd.DataFrame({"spreadsheet_row": rownum[~keep], "reason": f"no {model.outcome} (not scorable)"})
    if (~keep).any():
        warnings.warn(f"{int((~keep).sum())} of {len(table)} assessments have no {model.outcome!r} (not scorable) "
                      "and are left out of the model; they are listed in fit.excluded", ModelWarning, stacklevel=3)

    pcodes, plabels = pd.factorize(person_text[keep], sort=False)
    groups = {}
    for lvl, text in group_text.items():
        idx, labs = pd.factorize(text[keep], sort=True)
        n_rows = np.bincount(idx, minlength=len(labs))
        n_people = np.array([len(np.unique(pcodes[idx == j])) for j in range(len(labs))])
        groups[lvl] = Group(idx, np.asarray(labs, dtype=object), n_people, n_rows)

    if X_cols:
        X = np.column_stack(X_cols)[keep]
        center = X.mean(axis=0)
        scale = X.std(axis=0)
        constant = scale == 0
        if constant.any():
            raise DataError(f"covariate columns with one value only: {[x_names[i] for i in np.flatnonzero(constant)]}",
                            hint="drop them from covariates=")
    else:
        X = np.zeros((int(keep.sum()), 0))
        center = scale = np.zeros(0)
    M = np.column_stack(M_cols)[keep] if M_cols else np.zeros((int(keep.sum()), 0))
    if M.shape[1] and require_outcome:
        constant = M.std(axis=0) == 0
        if constant.any():
            raise DataError(f"measurement covariates with one value only: "
                            f"{[model.measurement_covariates[i] for i in np.flatnonzero(constant)]}",
                            hint="their shift cannot be told apart from the thresholds; drop them from "
                                 "measurement_covariates=")

    person_closed = None
    closure_reason = closure_time = None
    if model.closure and model.closure in table.columns:
        closed_row = ~_blank(table[model.closure])[keep]
        person_closed = np.zeros(len(plabels), bool)
        np.logical_or.at(person_closed, pcodes, closed_row)
        reasons = _text(table[model.closure])[keep]
        closure_reason = np.full(len(plabels), "", dtype=object)
        for j in np.flatnonzero(closed_row):  # last non-blank reason of each person
            closure_reason[pcodes[j]] = reasons[j]
        if model.closure_date and model.closure_date in table.columns:
            closure_time = _closure_times(model, table, person_codes, t, keep, pcodes, len(plabels), rownum)

    closure_reasons: tuple[str, ...] = ()
    followup = event = censor = obs_end = None
    if model.dropout is not None:
        closure_reasons, followup, event, censor, obs_end = _dropout_arrays(model, table, person_codes, t, keep, pcodes, plabels,
                                                           closure_time, closure_reason, rownum)
        beyond = [k for k in model.dropout.baseline_knots if not (followup > k).any()]
        if beyond:
            raise DataError(f"baseline knot {beyond[0]:g} {model.time_unit} is beyond every young person's follow-up "
                            f"(longest {followup.max():.3g} {model.time_unit}): its period would have no data",
                            where="dropout.baseline_knots", hint="drop that knot or give knots within the follow-up")

    y = y[keep]
    y_center, y_scale = 0.0, 1.0
    if info["family"] != "ordinal":
        y = y.astype(float)
        y_center = float(np.mean(y))
        y_scale = float(np.std(y)) or 1.0  # a constant outcome (or none yet): unit scale
    else:
        y = y.astype(np.int64)
    tk = t[keep]
    order = pd.DataFrame({"p": pcodes, "t": tk}).groupby("p")["t"].rank(method="first").to_numpy() - 1
    selected = None
    if info.get("selection_index") is not None:
        outcome_given = require_outcome or model.outcome in table.columns
        # the referral is the first assessment in the whole table, scorable or not
        selected = referral_rows(person_codes, t)[keep]
        bound = info["selection_index"]
        below = selected & (y < bound) & outcome_given
        if below.any():
            raw_rows = rownum[keep][below]
            raise DataError(f"referral assessments below the selection threshold {model.selection.at_least!r} on "
                            f"spreadsheet rows {_rows_text(raw_rows)}",
                            hint="a selection says every case passed the screen at referral: check the threshold, "
                                 "or drop selection=")
    return Design(
        family=info["family"], kind=info["kind"], categories=tuple(info.get("categories", ())),
        labels=tuple(info.get("labels", ())), direction=info["direction"], y=y, t=tk,
        t_per_year=TIME_UNITS[model.time_unit],
        person=pcodes.astype(np.int64), person_labels=np.asarray(plabels, dtype=object), groups=groups,
        X=(X - center) / np.where(scale > 0, scale, 1.0) if X.shape[1] else X, x_names=tuple(x_names), M=M,
        m_names=tuple(model.measurement_covariates),
        x_center=center, x_scale=scale, rows=np.asarray(table.index[keep]), occasion=order.astype(np.int64),
        person_closed=person_closed, excluded=excluded, y_center=y_center, y_scale=y_scale,
        covariate_levels=cov_levels, selection=info.get("selection_index"), selected=selected,
        person_closure_time=closure_time, person_closure_reason=closure_reason,
        closure_reasons=closure_reasons, person_followup=followup, person_event=event, person_censor=censor,
        observation_end=obs_end, closure_knots=tuple(model.dropout.baseline_knots) if model.dropout else (),
    )


def _dropout_arrays(model: ChangeModel, table: pd.DataFrame, person_codes: np.ndarray, t: np.ndarray,
                    keep: np.ndarray, pcodes: np.ndarray, plabels, closure_time, closure_reason,
                    rownum: np.ndarray):
    """Closure reasons, follow-up times and events for the joint drop-out model (one-line errors)."""
    from cseoutcomes.data.rules import parse_dates

    absent = [c for c in (model.closure, model.closure_date) if c not in table.columns]
    if absent:
        raise DataError(f"columns missing from the data: {', '.join(repr(c) for c in absent)} (a joint drop-out "
                        "model needs each closed case's closure reason and date)",
                        hint="add the columns, name them with closure= and closure_date=, or drop dropout=")
    has_reason = ~_blank(table[model.closure])
    has_date = ~_blank(table[model.closure_date])
    no_date = has_reason & ~has_date
    no_reason = has_date & ~has_reason
    problems = []
    if no_date.any():
        problems.append(f"a closure reason without a closure date on spreadsheet rows {_rows_text(rownum[no_date])}")
    if no_reason.any():
        problems.append(f"a closure date without a closure reason on spreadsheet rows {_rows_text(rownum[no_reason])}")
    if problems:
        raise DataError(f"column {model.closure!r} / {model.closure_date!r}: " + "; ".join(problems),
                        hint="a joint drop-out model needs both for every closed case (leave both blank while open)")
    n_people = len(plabels)
    # follow-up of open cases: to the end of observation (dates), or to the last assessment (numbers)
    last_t = np.full(n_people, -np.inf)
    np.maximum.at(last_t, pcodes, t[keep])
    obs_end = None
    numeric_time = pd.api.types.is_numeric_dtype(table[model.time]) and not pd.api.types.is_bool_dtype(table[model.time])
    if numeric_time and model.dropout.followup is not None:
        open_end = _followup_column(model, table, person_codes, keep, pcodes, n_people, last_t, rownum)
    elif numeric_time:
        open_end = last_t
        warnings.warn("time is numeric and Dropout(followup=...) names no column of each young person's time to "
                      "the end of observation: open cases are followed until their last assessment, and the hazard's "
                      "centre depends on when cases closed", ModelWarning, stacklevel=4)
    else:
        if model.dropout.followup is not None:
            raise DataError("Dropout(followup=...) is for numeric time; with dates the end of observation is a date",
                            where="dropout.followup", hint="give Dropout(observation_end='YYYY-MM-DD') instead")
        dates, _ = parse_dates(table[model.time])
        days = dates.to_numpy().astype("datetime64[D]").astype(np.int64)
        first = pd.Series(days).groupby(person_codes).transform("min").to_numpy()[keep]
        first_day = np.zeros(n_people)
        first_day[pcodes] = first
        if model.dropout.observation_end is not None:
            end_day = pd.Timestamp(model.dropout.observation_end).to_datetime64().astype("datetime64[D]").astype(np.int64)
            late = days > end_day
            if late.any():
                raise DataError(f"observation_end {model.dropout.observation_end} is before the assessments on "
                                f"spreadsheet rows {_rows_text(rownum[late])}",
                                where="dropout.observation_end", hint="give the date the data were extracted")
        else:
            cdates, _ = parse_dates(table[model.closure_date])
            cdays = cdates.to_numpy().astype("datetime64[D]")
            end_day = int(max(days.max(), cdays[~np.isnat(cdays)].astype(np.int64).max(initial=days.max())))
        open_end = (end_day - first_day) / 365.25 * TIME_UNITS[model.time_unit]
        obs_end = str(np.datetime64(int(end_day), "D"))
    closed = closure_reason != ""
    reasons = tuple(sorted(set(closure_reason[closed])))
    declared = model.dropout.reasons
    if declared is not None:
        undeclared = sorted(set(reasons) - set(declared))
        if undeclared:
            raise DataError(f"column {model.closure!r}: closure reasons {undeclared} are not among the declared "
                            f"reasons {list(declared)}", where="dropout.reasons",
                            hint="add them to Dropout(reasons=...), or correct the closure reasons")
        reasons = tuple(declared)
    lookup = {r: k for k, r in enumerate(reasons)}
    event = np.array([lookup.get(r, -1) for r in closure_reason], dtype=np.int64)
    if not closed.any() and declared is None:
        raise DataError("no case in the data has closed, so a joint drop-out model has nothing to learn from",
                        hint="drop dropout=, or fit data with closed cases (closure reason and date)")
    followup = np.where(closed, closure_time, open_end).astype(float)
    if np.isnan(followup).any():
        raise DataError(f"column {model.closure_date!r}: closed cases without a readable closure date on an "
                        "assessment that is modelled", hint="give the closure date on every row of a closed case")
    if model.dropout.observation_end is not None and np.any(closed & (followup > open_end + 1e-9)):
        raise DataError(f"observation_end {model.dropout.observation_end} is before some closure dates",
                        where="dropout.observation_end", hint="give the date the data were extracted")
    if model.dropout.followup is not None and np.any(closed & (followup > open_end + 1e-9)):
        raise DataError(f"column {model.dropout.followup!r}: the end of observation is before the closure of "
                        f"{int(np.sum(closed & (followup > open_end + 1e-9)))} young people",
                        where=model.dropout.followup, hint="the follow-up must reach at least the closure")
    return reasons, np.maximum(followup, 0.0), event, np.maximum(np.maximum(open_end, followup), 0.0), obs_end


def _followup_column(model: ChangeModel, table: pd.DataFrame, person_codes: np.ndarray, keep: np.ndarray,
                     pcodes: np.ndarray, n_people: int, last_t: np.ndarray, rownum: np.ndarray) -> np.ndarray:
    """Each young person's time from referral to the end of observation, read from ``Dropout.followup``."""
    col = model.dropout.followup
    if col not in table.columns:
        raise DataError(f"no column {col!r} (Dropout(followup=...): each young person's time to the end of "
                        "observation)", where="dropout.followup", hint="add the column or correct the name")
    values = pd.to_numeric(table[col], errors="coerce").to_numpy(float)
    bad = np.isnan(values) | (values < 0)
    if bad[keep].any():
        raise DataError(f"column {col!r}: not a time of 0 or more on spreadsheet rows {_rows_text(rownum[bad & keep])}",
                        where=col, hint="give each young person's time from referral to the end of observation")
    spread = pd.Series(values).groupby(person_codes).agg(lambda v: np.nanmax(v) - np.nanmin(v)).to_numpy()
    varies = spread[person_codes] > 1e-9
    if (varies & keep).any():
        raise DataError(f"column {col!r}: differs between rows of the same young person (spreadsheet rows "
                        f"{_rows_text(rownum[varies & keep])})", where=col, hint="one value per young person")
    end = np.zeros(n_people)
    end[pcodes] = values[keep]
    early = end < last_t - 1e-9
    if early.any():
        rows = np.flatnonzero(keep)[early[pcodes]]
        raise DataError(f"column {col!r}: the end of observation is before the young person's last assessment "
                        f"(spreadsheet rows {_rows_text(rownum[rows])})", where=col,
                        hint="the follow-up must reach at least the last assessment")
    return end


def _closure_times(model: ChangeModel, table: pd.DataFrame, person_codes: np.ndarray, t: np.ndarray,
                   keep: np.ndarray, pcodes: np.ndarray, n_people: int, rownum: np.ndarray) -> np.ndarray:
    """Each young person's closure time since referral, in the model's unit (NaN where blank)."""
    from cseoutcomes.data.rules import parse_dates, parse_numbers

    col = table[model.closure_date]
    per_year = TIME_UNITS[model.time_unit]
    if pd.api.types.is_numeric_dtype(table[model.time]):
        ct, _ = parse_numbers(col)
    else:
        dates, bad = parse_dates(col)
        if bad.any():
            raise DataError(f"column {model.closure_date!r}: unreadable closure dates on spreadsheet rows "
                            f"{_rows_text(rownum[bad])}", hint="use YYYY-MM-DD dates, or leave open cases blank")
        tdates, _ = parse_dates(table[model.time])
        days = dates.to_numpy().astype("datetime64[D]")
        first = pd.Series(tdates.to_numpy().astype("datetime64[D]").astype("int64")).groupby(person_codes) \
            .transform("min").to_numpy()
        ct = np.where(np.isnat(days), np.nan, (days.astype("int64") - first) / 365.25 * per_year)
    out = np.full(n_people, np.nan)
    ctk = ct[keep]
    for j in np.flatnonzero(~np.isnan(ctk)):
        out[pcodes[j]] = ctk[j]
    if np.any(out < -1e-9):
        raise DataError(f"column {model.closure_date!r}: a closure before the referral assessment",
                        hint="check the closure and assessment dates")
    return out


def first_and_last(design: Design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row of each young person's first and last assessment (by time) and their number of assessments."""
    order = np.lexsort((design.t, design.person))
    starts = np.r_[0, np.flatnonzero(np.diff(design.person[order])) + 1]
    ends = np.r_[starts[1:], len(order)] - 1
    return order[starts], order[ends], ends - starts + 1


def _measurement_column(values: pd.Series, name: str, rownum: np.ndarray, problems: list[str]) -> np.ndarray:
    """A measurement covariate as numbers (true/false as 1/0), not centred: 0 is the reference."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        v = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        problems.append(f"column {name!r} (measurement covariate) is not numbers or true/false; make one 0/1 "
                        "column per kind of assessment (e.g. referral = 1 for the referral assessment, 0 otherwise)")
        return np.zeros(len(values))
    bad = ~np.isfinite(v)
    if bad.any():
        problems.append(f"column {name!r} (measurement covariate): blank or not finite on spreadsheet rows "
                        f"{_rows_text(rownum[bad])}")
    return np.where(bad, 0.0, v)


def _text(values: pd.Series) -> np.ndarray:
    return values.astype("string").str.strip().fillna("").to_numpy(dtype=object)


def _nest(model: ChangeModel, group_text: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Labels of nested levels made unique within their parent ("S1/W1")."""
    for child, parent in model.nested.items():
        group_text[child] = np.array([f"{p}/{c}" for p, c in zip(group_text[parent], group_text[child], strict=True)],
                                     dtype=object)
    return group_text


def referral_rows(person_codes: np.ndarray, t: np.ndarray) -> np.ndarray:
    """True on each young person's referral assessment: the earliest (the first listed where two tie)."""
    return pd.DataFrame({"p": person_codes, "t": t}).groupby("p")["t"].rank(method="first").to_numpy() == 1


def with_referral_flag(model: ChangeModel, data: pd.DataFrame, column: str = "referral") -> pd.DataFrame:
    """``data`` with a 0/1 column that is 1 on each young person's referral assessment (see
    :meth:`ChangeModel.with_referral_flag`)."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    if column in data.columns:
        raise DataError(f"column {column!r} is already in the data", where=column,
                        hint="pass column= another name, or use the column as it is")
    missing = [f"{c!r} ({role})" for role, c in (("person", model.person), ("time", model.time))
               if c not in data.columns]
    if missing:
        raise DataError(f"columns missing from the data: {', '.join(missing)}",
                        hint="rename the columns or pass person= and time= to ChangeModel")
    rownum = spreadsheet_rows(data)
    person_codes = pd.factorize(_text(data[model.person]))[0]
    problems: list[str] = []
    blank = _blank(data[model.person])
    if blank.any():
        problems.append(f"column {model.person!r} (person): blank on spreadsheet rows {_rows_text(rownum[blank])}")
    t = _time(model, data, person_codes, rownum, problems)
    if problems:
        raise DataError(f"{len(problems)} problem{'s' * (len(problems) > 1)} with the data: " + "; ".join(problems),
                        problems=problems, hint=None)
    out = data.copy()
    out[column] = referral_rows(person_codes, t).astype(np.int64)
    return out


def prediction_rows(model: ChangeModel, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Person labels, time and group labels of new rows to predict (labels as in the fitted design).

    Time is a number since referral in the model's unit, or dates counted from
    each young person's first row in ``table``.
    """
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"new_data must be a pandas DataFrame, not {type(table).__name__}")
    needed = [model.person, model.time, *model.groups.values(), *model.covariates]
    missing = [c for c in dict.fromkeys(needed) if c not in table.columns]
    if missing:
        raise DataError(f"columns missing from new_data: {missing}", hint="give the columns the model was fitted on")
    person_text = _text(table[model.person])
    problems: list[str] = []
    t = _time(model, table, pd.factorize(person_text)[0], spreadsheet_rows(table), problems)
    if problems:
        raise DataError("; ".join(problems), problems=problems)
    return person_text, t, _nest(model, {lvl: _text(table[col]) for lvl, col in model.groups.items()})


def covariate_matrix(model: ChangeModel, design: Design, table: pd.DataFrame) -> np.ndarray:
    """Covariates of new rows coded and scaled as in the fitted ``design`` (for predictions)."""
    cols = []
    for c in model.covariates:
        if c in design.covariate_levels:
            text = table[c].astype("string").str.strip()
            unknown = sorted(set(text.dropna()) - set(design.covariate_levels[c]) - {""})
            if unknown or text.isna().any():
                raise DataError(f"column {c!r}: categories the model was not fitted on, or blanks",
                                hint=f"use the fitted categories of {c!r}")
            for lev in design.covariate_levels[c][1:]:
                cols.append((text == lev).to_numpy(dtype=float, na_value=0.0))
        else:
            v = pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            if np.isnan(v).any():
                raise DataError(f"column {c!r}: blank or non-numeric covariate values in new_data")
            cols.append(v)
    X = np.column_stack(cols)
    return (X - design.x_center) / np.where(design.x_scale > 0, design.x_scale, 1.0)
