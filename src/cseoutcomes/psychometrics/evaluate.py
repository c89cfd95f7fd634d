"""``evaluate``: the evidence an assessment dataset gives about an instrument.

For each score and each domain (or section) of an instrument: internal
consistency (Cronbach's alpha with Feldt's interval; McDonald's omega total from
polychoric correlations for ordinal items), an item analysis, test-retest
agreement when the same person was assessed twice by the same rater within a
short interval, and inter-rater agreement when two raters assessed the same
occasion. Each is set beside the evidence the instrument's definition declares.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cseoutcomes.data.roles import ColumnRoles, resolve_columns
from cseoutcomes.data.rules import parse_dates
from cseoutcomes.errors import CseOutcomesWarning, DataError, ScoringWarning
from cseoutcomes.instruments.schema import Instrument, Item
from cseoutcomes.instruments.scoring import _resolve_instrument, encode_responses, score
from cseoutcomes.psychometrics.results import Estimate, ResultTable

__all__ = ["EvidenceReport", "evaluate", "item_values"]

_COLUMNS = ["scope", "statistic", "estimate", "ci_lower", "ci_upper", "n", "method", "warnings"]


@dataclass(frozen=True)
class EvidenceReport:
    """What :func:`evaluate` found.

    Attributes
    ----------
    instrument
        The instrument evaluated.
    table
        One row per statistic: ``scope`` (score or domain), ``statistic``,
        ``estimate``, ``ci_lower``, ``ci_upper``, ``n``, ``method``, ``warnings``.
    items
        Item analysis per scope (score id or domain).
    declared
        The evidence the definition declares, beside the observed value of the
        same statistic and scope where there is one.
    notes
        How the data were used (pairs found for test-retest and inter-rater agreement...).
    """

    instrument: Instrument
    table: pd.DataFrame
    items: dict[str, ResultTable] = field(default_factory=dict)
    declared: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument.key,
            "statistics": self.table.replace({np.nan: None}).to_dict(orient="records"),
            "items": {k: v.to_dict() for k, v in self.items.items()},
            "declared": self.declared.replace({np.nan: None}).to_dict(orient="records"),
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        shown = self.table[["scope", "statistic", "estimate", "ci_lower", "ci_upper", "n"]]
        return f"Evidence for {self.instrument.key}\n{shown.to_string(index=False, float_format=lambda x: f'{x:.3f}')}"

    def _repr_html_(self) -> str:
        shown = self.table[["scope", "statistic", "estimate", "ci_lower", "ci_upper", "n"]]
        return (f"<div><strong>Evidence for {escape(self.instrument.key)}</strong>"
                f"{shown.to_html(index=False, float_format=lambda x: f'{x:.3f}')}</div>")

    def to_html(self, path: str | Path | None = None, *, policy: str = "nhs") -> str:
        """One self-contained HTML page, safe to share: statistics on too few people suppressed, every n
        protected (:func:`cseoutcomes.report.evaluation_report`, disclosure convention ``policy``)."""
        from cseoutcomes.report import evaluation_report

        return evaluation_report(self, path, policy=policy)


def item_values(table: pd.DataFrame, instrument: Instrument, items: list[Item],
                roles: ColumnRoles | None = None) -> pd.DataFrame:
    """Numeric item responses: each category's value, or its position when the scale has no values.

    Missing codes and blanks become NaN. Reverse-keyed items are reversed.
    """
    roles = roles or resolve_columns(table, instrument)
    out = {}
    for item in items:
        col = roles.items.get(item.id)
        if col is None:
            raise DataError(f"no column for item '{item.id}'", hint="name it by the item id or map it with columns=")
        scale = instrument.scale_of(item)
        codes = encode_responses(table[col], scale)
        if scale.numeric:
            values = np.array([c.value for c in scale.categories], dtype=float)
        else:
            values = np.arange(len(scale.categories), dtype=float)
        if item.reverse:
            values = values.min() + values.max() - values
        out[item.id] = np.where(codes >= 0, values[np.clip(codes, 0, None)], np.nan)
    return pd.DataFrame(out, index=table.index)


def _row(scope: str, est: Estimate) -> dict[str, Any]:
    lo, hi = est.ci if est.ci is not None else (math.nan, math.nan)
    return {"scope": scope, "statistic": est.statistic, "estimate": est.estimate, "ci_lower": lo, "ci_upper": hi,
            "n": est.n, "method": est.method, "warnings": "; ".join(est.warnings)}


def _scopes(instrument: Instrument) -> dict[str, list[Item]]:
    """Scores (their items) and domains (or sections) with at least two items."""
    scopes: dict[str, list[Item]] = {}
    for s in instrument.scores:
        if s.method != "step":
            scopes[f"score:{s.id}"] = list(instrument.score_items(s))
    groups: dict[str, list[Item]] = {}
    for item in instrument.items:
        key = item.domain or item.section
        if key:
            groups.setdefault(key, []).append(item)
    for key, members in groups.items():
        if len(members) >= 2 and len(members) < len(instrument.items):
            scopes[f"domain:{key}"] = members
    return scopes


def evaluate(
    instrument: Instrument | str,
    data: pd.DataFrame,
    *,
    columns: Mapping[str, Any] | None = None,
    retest_days: float = 30.0,
    ci_level: float = 0.95,
    omega: bool = True,
) -> EvidenceReport:
    """Reliability and agreement of an instrument on a dataset, beside its declared evidence.

    Parameters
    ----------
    instrument
        An :class:`~cseoutcomes.Instrument` or id.
    data
        Wide assessments (one row each), as :func:`cseoutcomes.validate` accepts;
        use ``report.valid``.
    columns
        Column roles, as for :func:`cseoutcomes.validate`.
    retest_days
        Two assessments of the same person by the same rater at most this many
        days apart count as a test-retest pair (the first pair per person).
    omega
        Also compute McDonald's omega (polychoric for ordinal items); slower.

    Examples
    --------
    >>> import cseoutcomes as co
    >>> from cseoutcomes.testing import generate_responses
    >>> inst = co.get_instrument("progress-ladder")
    >>> ev = co.psychometrics.evaluate(inst, generate_responses(inst, 200, missing_rate=0), omega=False)
    >>> "cronbach_alpha" in set(ev.table["statistic"])
    True
    """
    from cseoutcomes.psychometrics import agreement, reliability

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame (e.g. report.valid), not {type(data).__name__}")
    if not isinstance(retest_days, (int, float)) or not math.isfinite(retest_days) or retest_days < 0:
        raise ValueError(f"retest_days must be a number of days, 0 or more, not {retest_days!r}")
    inst = _resolve_instrument(instrument)
    if inst.kind == "coding_scheme":
        raise DataError(f"'{inst.id}' is a coding scheme: use cseoutcomes.coding for coder agreement")
    roles = resolve_columns(data, inst, columns)
    rows: list[dict[str, Any]] = []
    items: dict[str, ResultTable] = {}
    notes: list[str] = []

    seen: dict[frozenset[str], str] = {}
    for scope, members in _scopes(inst).items():
        present = [m for m in members if m.id in roles.items]
        if len(present) < 2:
            notes.append(f"{scope}: fewer than two item columns, no internal consistency")
            continue
        key = frozenset(m.id for m in present)
        if key in seen:  # e.g. a total and a mean of the same items
            notes.append(f"{scope}: same items as {seen[key]}, see there")
            continue
        seen[key] = scope
        values = item_values(data, inst, present, roles)
        with warnings.catch_warnings():
            # the warnings are kept in each result's `warnings` column instead
            warnings.simplefilter("ignore", CseOutcomesWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            rows.append(_row(scope, reliability.cronbach_alpha(values, ci_level=ci_level)))
            if omega:
                ordinal = all(inst.scale_of(m).type != "nominal" and len(inst.scale_of(m).categories) <= 10
                              for m in present)
                try:
                    rows.append(_row(scope, reliability.mcdonald_omega(
                        values, correlation="polychoric" if ordinal else "pearson")))
                except DataError as exc:
                    notes.append(f"{scope}: omega not computed ({exc.one_line()})")
            lo = min(inst.scale_of(m).value_range()[0] if inst.scale_of(m).numeric else 0 for m in present)
            hi = max(inst.scale_of(m).value_range()[1] if inst.scale_of(m).numeric
                     else len(inst.scale_of(m).categories) - 1 for m in present)
            items[scope] = reliability.item_analysis(values, categories=(lo, hi))

    _agreement_rows(inst, data, roles, rows, notes, retest_days, ci_level, agreement)

    table = pd.DataFrame(rows, columns=_COLUMNS)
    declared = _declared(inst, table)
    return EvidenceReport(instrument=inst, table=table, items=items, declared=declared, notes=tuple(notes))


def _agreement_rows(inst, data, roles, rows, notes, retest_days, ci_level, agreement) -> None:
    person_col, date_col, rater_col = roles.column("person"), roles.column("date"), roles.column("rater")
    if person_col is None or date_col is None or not inst.scores:
        notes.append("no person or date column: test-retest and inter-rater agreement need both")
        return
    main = next((s for s in inst.scores if s.method != "step"), inst.scores[0])
    if not all(i.id in roles.items for i in inst.score_items(main)):
        return
    item_columns = {i: c for i, c in roles.items.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        scored = score(data, inst, columns=item_columns, scores=[main.id])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CseOutcomesWarning)  # kept in each result's `warnings` column
        _pairs(inst, main, data, scored, person_col, date_col, rater_col, rows, notes, retest_days, ci_level,
               agreement)


def _pairs(inst, main, data, scored, person_col, date_col, rater_col, rows, notes, retest_days, ci_level,
           agreement) -> None:
    frame = pd.DataFrame({
        "person": data[person_col].to_numpy(),
        "date": parse_dates(data[date_col])[0].to_numpy(),
        "rater": data[rater_col].to_numpy() if rater_col else "same",
        "value": scored[main.id].to_numpy(),
        "band": scored[f"{main.id}_band"].to_numpy() if f"{main.id}_band" in scored else None,
    }).dropna(subset=["person", "date", "value"])

    # test-retest: the first two assessments of a person by the same rater within retest_days
    ordered = frame.sort_values(["person", "rater", "date"], kind="stable")
    nxt = ordered.groupby(["person", "rater"], sort=False).shift(-1)
    gap = (nxt["date"] - ordered["date"]).dt.days
    pairs = ordered.assign(value2=nxt["value"], gap=gap)
    pairs = pairs[(pairs["gap"] >= 0) & (pairs["gap"] <= retest_days)]
    pairs = pairs.groupby("person", sort=False).head(1)
    if len(pairs) >= 5:
        wide = pd.DataFrame({"first": pairs["value"].to_numpy(), "second": pairs["value2"].to_numpy()})
        result = agreement.icc(wide, ci_level=ci_level)
        est = result.get("ICC(2,1)")
        rows.append(_row(f"score:{main.id}", Estimate(
            statistic="test_retest", estimate=est.estimate, ci=est.ci, ci_level=est.ci_level,
            method=f"ICC(2,1) on {len(pairs)} pairs assessed by the same rater at most {retest_days:g} days apart "
                   f"({est.method})", n=len(pairs), warnings=est.warnings)))
        notes.append(f"test-retest: {len(pairs)} people assessed twice within {retest_days:g} days by the same rater")
    else:
        notes.append(f"test-retest: {len(pairs)} pair(s) within {retest_days:g} days; at least 5 are needed")

    # inter-rater: two raters on the same person and date
    if rater_col is None:
        notes.append("inter-rater: no rater column")
        return
    same = frame.groupby(["person", "date"], sort=False)
    counted = same["rater"].transform("nunique")
    both = frame[counted >= 2].sort_values(["person", "date", "rater"], kind="stable")
    firsts = both.groupby(["person", "date"], sort=False).nth(0)
    seconds = both.groupby(["person", "date"], sort=False).nth(1)
    if len(firsts) >= 5:
        wide = pd.DataFrame({"rater_a": firsts["value"].to_numpy(), "rater_b": seconds["value"].to_numpy()})
        est = agreement.icc(wide, ci_level=ci_level).get("ICC(2,1)")
        rows.append(_row(f"score:{main.id}", Estimate(
            statistic="icc", estimate=est.estimate, ci=est.ci, ci_level=est.ci_level,
            method=f"inter-rater ICC(2,1) on {len(firsts)} occasions rated by two raters ({est.method})",
            n=len(firsts), warnings=est.warnings)))
        if main.bands:
            codes = [b.code for b in main.bands]
            rows.append(_row(f"score:{main.id}", agreement.cohen_kappa(
                firsts["band"].astype(object).to_numpy(), seconds["band"].astype(object).to_numpy(),
                weights="quadratic", categories=codes, ci_level=ci_level)))
        notes.append(f"inter-rater: {len(firsts)} occasions rated by two or more raters (the first two used)")
    else:
        notes.append(f"inter-rater: {len(firsts)} occasion(s) rated by two raters; at least 5 are needed")


def _declared(inst: Instrument, table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for ev in inst.evidence:
        scope = f"score:{ev.score}" if ev.score in {s.id for s in inst.scores} else \
            (f"domain:{ev.score}" if ev.score else None)
        match = table[(table["statistic"] == ev.statistic) & ((table["scope"] == scope) if scope else True)]
        observed = match.iloc[0] if len(match) else None
        rows.append({
            "statistic": ev.statistic, "scope": scope or "", "declared": ev.value,
            "declared_ci": f"[{ev.ci[0]:g}, {ev.ci[1]:g}]" if ev.ci else "", "declared_n": ev.n,
            "source": ev.source,
            "observed": observed["estimate"] if observed is not None else math.nan,
            "observed_ci": (f"[{observed['ci_lower']:.3f}, {observed['ci_upper']:.3f}]"
                            if observed is not None and not math.isnan(observed["ci_lower"]) else ""),
            "observed_n": observed["n"] if observed is not None else None,
        })
    return pd.DataFrame(rows)
