"""``ValidationReport``: every problem found, and the rows split into valid and quarantined."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from cseoutcomes._tables import spreadsheet_rows
from cseoutcomes.data.roles import ColumnRoles
from cseoutcomes.instruments.schema import Instrument

__all__ = ["ValidationReport"]

_HTML_ROW_LIMIT = 2000


@dataclass(eq=False)
class ValidationReport:
    """The result of :func:`cseoutcomes.validate`.

    Attributes
    ----------
    issues
        One row per problem: ``row`` (the spreadsheet row, counting the header
        as row 1; empty for problems with the whole table or a whole column),
        ``column``, ``rule``, ``severity`` (error or warning) and ``message``.
    valid, quarantined
        The input rows without errors and with errors. Together they hold every
        input row exactly once, in input order, with the input's index. An
        error with the whole table (a required column missing) quarantines
        every row, since none can be used.
    scores
        Scores computed for every row (invalid answers read as blank), or None
        when the table cannot be scored (an item column is missing).
    notes
        What happened while reading, and suggestions for unmapped columns.
    """

    instrument: Instrument
    roles: ColumnRoles
    issues: pd.DataFrame
    data: pd.DataFrame = field(repr=False)
    error_rows: np.ndarray = field(repr=False)
    scores: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()
    source: str | None = None
    rules: dict[str, str] = field(default_factory=dict)  # rule -> what it checks

    # -- construction ---------------------------------------------------
    @classmethod
    def build(cls, data: pd.DataFrame, instrument: Instrument, roles: ColumnRoles, blocks: list, options,
              scores: pd.DataFrame | None = None) -> ValidationReport:
        from cseoutcomes.data.rules import RULES

        n = len(data)
        index_rows = spreadsheet_rows(data)
        rule_names = list(RULES)
        columns: list[str] = []
        rows, col_codes, rule_codes, sev_codes, messages = [], [], [], [], []
        error_rows = np.zeros(n, dtype=bool)
        for rule, positions, column, message in blocks:
            severity = options.severity.get(rule, RULES[rule].severity)
            if positions is None:
                count = 1
                rows.append(np.array([-1]))
                if severity == "error":  # a required column is missing: no row can be used
                    error_rows[:] = True
            else:
                count = positions.size
                rows.append(index_rows[positions].astype(np.int64))
                if severity == "error":
                    error_rows[positions] = True
            if column is not None and column not in columns:
                columns.append(column)
            col_codes.append(np.full(count, -1 if column is None else columns.index(column), dtype=np.int32))
            rule_codes.append(np.full(count, rule_names.index(rule), dtype=np.int16))
            sev_codes.append(np.full(count, 0 if severity == "error" else 1, dtype=np.int8))
            messages.append(np.full(count, message, dtype=object) if isinstance(message, str)
                            else np.asarray(message, dtype=object))
        row = np.concatenate(rows) if rows else np.array([], dtype=np.int64)
        rule_code = np.concatenate(rule_codes) if rows else np.array([], dtype=np.int16)
        # table-level (-1) first, then by row; blocks arrive in rule order, which a stable sort keeps
        order = np.argsort(row, kind="stable")
        row = row[order]
        issues = pd.DataFrame({
            "row": pd.arrays.IntegerArray(np.where(row < 0, 0, row), row < 0),  # empty for the whole table
            "column": pd.Categorical.from_codes(
                (np.concatenate(col_codes) if rows else np.array([], dtype=np.int32))[order], categories=columns),
            "rule": pd.Categorical.from_codes(rule_code[order], categories=rule_names),
            "severity": pd.Categorical.from_codes(
                (np.concatenate(sev_codes) if rows else np.array([], dtype=np.int8))[order],
                categories=["error", "warning"]),
            # object, not a string dtype: converting half a million messages would cost more than finding them
            "message": pd.Series((np.concatenate(messages) if rows else np.array([], dtype=object))[order],
                                 dtype=object),
        })
        meta = data.attrs.get("cseoutcomes", {}) if isinstance(data.attrs.get("cseoutcomes"), dict) else {}
        notes = tuple(meta.get("notes", ())) + tuple(roles.suggestions)
        return cls(
            instrument=instrument, roles=roles, issues=issues, data=data, error_rows=error_rows,
            scores=scores, notes=notes, source=meta.get("source"),
            rules={name: r.summary for name, r in RULES.items()},
        )

    # -- answers ----------------------------------------------------------
    @cached_property
    def valid(self) -> pd.DataFrame:
        """The rows without errors, in input order, with the input's index."""
        return self.data if not self.error_rows.any() else self.data[~self.error_rows]

    @cached_property
    def quarantined(self) -> pd.DataFrame:
        """The rows with at least one error, in input order, with the input's index."""
        return self.data[self.error_rows]

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not (self.issues["severity"] == "error").any()

    @property
    def n_rows(self) -> int:
        return len(self.data)

    @property
    def n_quarantined(self) -> int:
        return int(self.error_rows.sum())

    @property
    def n_valid(self) -> int:
        return self.n_rows - self.n_quarantined

    @property
    def errors(self) -> pd.DataFrame:
        return self.issues[self.issues["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        return self.issues[self.issues["severity"] == "warning"]

    def summary(self) -> pd.DataFrame:
        """Counts by rule: issues, rows affected, and what the rule checks; errors first."""
        if self.issues.empty:
            return pd.DataFrame(columns=["rule", "severity", "issues", "rows", "checks"])
        grouped = self.issues.groupby(["rule", "severity"], observed=True)
        out = pd.DataFrame({
            "issues": grouped.size(),
            "rows": grouped["row"].nunique(),
        }).reset_index()
        out["checks"] = out["rule"].astype(str).map(self.rules)
        out["rule"] = out["rule"].astype(str)
        out["severity"] = out["severity"].astype(str)
        order = out["severity"].map({"error": 0, "warning": 1})
        return out.assign(_o=order).sort_values(["_o", "issues"], ascending=[True, False]).drop(columns="_o") \
            .reset_index(drop=True)

    def headline(self) -> list[str]:
        """The few lines a terminal shows."""
        n_err = int((self.issues["severity"] == "error").sum())
        n_warn = len(self.issues) - n_err
        rules_err = self.errors["rule"].nunique()
        rules_warn = self.warnings["rule"].nunique()
        lines = [f"{n_err:>6,} error{'s' * (n_err != 1)}   ({rules_err} rule{'s' * (rules_err != 1)})"
                 f"   -> {self.n_quarantined:,} row{'s' * (self.n_quarantined != 1)} quarantined, "
                 f"{self.n_valid:,} valid",
                 f"{n_warn:>6,} warning{'s' * (n_warn != 1)} ({rules_warn} rule{'s' * (rules_warn != 1)})"]
        return lines

    # -- renderings --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        issues = self.issues.astype({"row": "object", "column": "object", "rule": "object", "severity": "object"})
        issues = issues.where(issues.notna(), None)
        return {
            "instrument": self.instrument.key,
            "source": self.source,
            "ok": self.ok,
            "rows": self.n_rows,
            "valid_rows": self.n_valid,
            "quarantined_rows": self.n_quarantined,
            "notes": list(self.notes),
            "columns": {"roles": dict(self.roles.roles), "items": len(self.roles.items),
                        "recorded_bands": dict(self.roles.bands)},
            "summary": self.summary().to_dict(orient="records"),
            "issues": issues.to_dict(orient="records"),
        }

    def to_json(self, path: str | None = None, *, indent: int | None = 2) -> str:
        """The whole report as JSON (every issue); written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=_json_default)
        if path is not None:
            from cseoutcomes.data.io import write_text

            write_text(text, path)
        return text

    def to_html(self, path: str | None = None) -> str:
        """One self-contained HTML page (no scripts, no external files); written to ``path`` when given."""
        text = _render_html(self)
        if path is not None:
            from cseoutcomes.data.io import write_text

            write_text(text, path)
        return text

    def __repr__(self) -> str:
        status = "ok" if self.ok else "errors"
        return (f"<ValidationReport {self.instrument.key}: {status}; {self.n_rows:,} rows, {self.n_valid:,} valid, "
                f"{self.n_quarantined:,} quarantined; {len(self.errors):,} errors, {len(self.warnings):,} warnings>")

    def _repr_html_(self) -> str:
        return _summary_html(self)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if value is pd.NA:
        return None
    return str(value)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d1d1f;max-width:70rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem}
.status{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;font-weight:600}
.ok{background:#e3f4e8;color:#155724}.bad{background:#fbe4e4;color:#8a1c1c}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f6} td.n{text-align:right;font-variant-numeric:tabular-nums}
.error{color:#8a1c1c;font-weight:600}.warning{color:#7a5a00}
.muted{color:#666;font-size:.85rem} ul{margin-top:.3rem}
"""


def _summary_html(report: ValidationReport) -> str:
    status = ('<span class="status ok">no errors</span>' if report.ok
              else f'<span class="status bad">{len(report.errors):,} errors</span>')
    rows = "".join(
        f'<tr><td>{escape(r.rule)}</td><td class="{escape(r.severity)}">{escape(r.severity)}</td>'
        f'<td class="n">{r.issues:,}</td><td class="n">{r.rows:,}</td><td>{escape(str(r.checks))}</td></tr>'
        for r in report.summary().itertuples())
    table = ("<table><thead><tr><th>rule</th><th>severity</th><th>issues</th><th>rows</th><th>checks</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>") if rows else "<p>No problems found.</p>"
    return (f"<div><strong>Validation against {escape(report.instrument.key)}</strong> {status}<br>"
            f"{report.n_rows:,} rows: {report.n_valid:,} valid, {report.n_quarantined:,} quarantined; "
            f"{len(report.warnings):,} warnings{table}</div>")


def _render_html(report: ValidationReport) -> str:
    title = f"Validation of {report.source or 'assessment data'} against {report.instrument.key}"
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    roles = "".join(f"<li>{escape(line)}</li>" for line in report.roles.describe())
    shown = report.issues.head(_HTML_ROW_LIMIT)
    issue_rows = "".join(
        f'<tr><td class="n">{"" if pd.isna(r.row) else f"{int(r.row):,}"}</td>'
        f'<td>{"" if pd.isna(r.column) else escape(str(r.column))}</td><td>{escape(str(r.rule))}</td>'
        f'<td class="{escape(str(r.severity))}">{escape(str(r.severity))}</td><td>{escape(str(r.message))}</td></tr>'
        for r in shown.itertuples())
    more = (f'<p class="muted">Showing the first {_HTML_ROW_LIMIT:,} of {len(report.issues):,} issues; '
            "the JSON report lists them all.</p>") if len(report.issues) > _HTML_ROW_LIMIT else ""
    issues = ("<table><thead><tr><th>row</th><th>column</th><th>rule</th><th>severity</th><th>message</th></tr>"
              f"</thead><tbody>{issue_rows}</tbody></table>{more}") if issue_rows else "<p>No problems found.</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="muted">Rows are numbered as in the spreadsheet (the header is row 1). Values from identifier and
free-text columns are never shown.</p>
{_summary_html(report)}
<h2>Reading</h2><ul>{notes or "<li>Nothing to note.</li>"}</ul>
<h2>Columns</h2><ul>{roles}</ul>
<h2>Every issue</h2>{issues}
<p class="muted">Instrument: {escape(report.instrument.title)} ({escape(report.instrument.key)}).
Made by cseoutcomes.</p>
</body></html>
"""
