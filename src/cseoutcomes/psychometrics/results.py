"""Small typed results for psychometric statistics.

Every statistic returns an :class:`Estimate` (or a result holding several):
the value, its interval, the method that produced it (with the source), the
number of units it rests on, and any warnings, with a readable ``repr``, a
notebook rendering and ``to_dict()``. Never a bare tuple, never a silent NaN:
where a statistic is undefined the estimate is NaN *and* a warning says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

import pandas as pd

__all__ = ["Estimate", "ResultTable"]


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "NA"
    if isinstance(x, float):
        return "NaN" if math.isnan(x) else f"{x:.{digits}f}"
    return str(x)


@dataclass(frozen=True)
class Estimate:
    """One estimate with its uncertainty and provenance.

    Attributes
    ----------
    statistic
        What was estimated, e.g. ``"cronbach_alpha"``.
    estimate
        The value (NaN only together with a warning saying why).
    ci
        (lower, upper) interval, or None when no interval is available.
    ci_level
        Coverage of the interval, e.g. 0.95.
    method
        How it was computed, naming the source (e.g. "Feldt (1965) F interval").
    n
        Units the estimate rests on (people, subjects, units coded).
    warnings
        Anything the user must know (degenerate data, rows dropped, a fallback).
    details
        Further numbers (standard error, the standardised variant, counts...).
    """

    statistic: str
    estimate: float
    ci: tuple[float, float] | None = None
    ci_level: float | None = None
    method: str = ""
    n: int | None = None
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.estimate)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready apart from NaN)."""
        return {
            "statistic": self.statistic,
            "estimate": self.estimate,
            "ci_lower": None if self.ci is None else self.ci[0],
            "ci_upper": None if self.ci is None else self.ci[1],
            "ci_level": self.ci_level,
            "method": self.method,
            "n": self.n,
            "warnings": list(self.warnings),
            **{f"details.{k}": v for k, v in self.details.items()},
        }

    def __repr__(self) -> str:
        ci = ""
        if self.ci is not None:
            level = f"{self.ci_level:.0%} " if self.ci_level else ""
            ci = f", {level}CI [{_fmt(self.ci[0])}, {_fmt(self.ci[1])}]"
        n = f", n={self.n}" if self.n is not None else ""
        warn = f"; {len(self.warnings)} warning(s): {self.warnings[0]}" if self.warnings else ""
        return f"{self.statistic} = {_fmt(self.estimate)}{ci}{n} ({self.method}){warn}"

    def _repr_html_(self) -> str:
        ci = ""
        if self.ci is not None:
            ci = f" <span>[{_fmt(self.ci[0])}, {_fmt(self.ci[1])}]</span>"
        warns = "".join(f"<li>{escape(w)}</li>" for w in self.warnings)
        return (f"<div><strong>{escape(self.statistic)}</strong> = {_fmt(self.estimate)}{ci}"
                f"{f' (n = {self.n})' if self.n is not None else ''}<br><small>{escape(self.method)}</small>"
                f"{f'<ul>{warns}</ul>' if warns else ''}</div>")


@dataclass(frozen=True)
class ResultTable:
    """Several related estimates (e.g. the six ICC forms) or per-unit results, as a DataFrame plus notes."""

    name: str
    table: pd.DataFrame
    method: str = ""
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "method": self.method, "warnings": list(self.warnings),
                "table": self.table.to_dict(orient="records"), **{f"details.{k}": v for k, v in self.details.items()}}

    def __repr__(self) -> str:
        warn = "".join(f"\nwarning: {w}" for w in self.warnings)
        return f"{self.name} ({self.method})\n{self.table.to_string()}{warn}"

    def _repr_html_(self) -> str:
        warns = "".join(f"<li>{escape(w)}</li>" for w in self.warnings)
        return (f"<div><strong>{escape(self.name)}</strong> <small>{escape(self.method)}</small>"
                f"{self.table.to_html(float_format=lambda x: f'{x:.3f}', max_rows=30)}"
                f"{f'<ul>{warns}</ul>' if warns else ''}</div>")
