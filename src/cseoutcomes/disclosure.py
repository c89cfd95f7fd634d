"""Statistical disclosure control for tables meant for publication.

The data are about children: a count of 2 young people in one service who
disclosed abuse can identify them. :func:`protect` applies, in this order:

1. **primary suppression** of small counts (``1 .. threshold - 1``, and zeros
   too where the policy says so);
2. **secondary (complementary) suppression** until no suppressed cell can be
   recovered by subtraction along any row or column: every row and column of the
   published table, totals included, holds either no suppressed cell or at
   least two (the smallest other counts are suppressed, so as little as
   possible is lost);
3. **rounding** of the published counts to the policy's base; with the DfE
   convention a count that rounds to zero but is not zero is shown as ``k``.

Suppressed cells carry the policy's symbol. :func:`protect_statistics` does the
same for means and proportions: a statistic based on too few young people is
suppressed.

Policies (``POLICIES``; pass one by name or build a :class:`Policy`):

* ``"nhs"``: NHS Digital's convention for sub-national figures: counts of 1-7
  suppressed as ``*``, other counts rounded to the nearest 5; means based on 1-7
  people suppressed.
* ``"dfe"``: Department for Education statistics: rounding to the nearest 10 (5
  for some publications: ``round_to=5``), symbols ``c`` (confidential,
  suppressed), ``z`` (not applicable) and ``k`` (rounds to zero but is not
  zero), with secondary suppression. The suppression threshold varies by
  publication; the preset suppresses counts below 5 (set ``threshold``).
* ``"safe_room"``: the usual rule of secure research environments: counts under
  10 suppressed, zeros included.

The facts are in ``REFERENCES.md`` ("Disclosure control"). These are common
conventions, not a guarantee: check the rules of whoever publishes your figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from cseoutcomes.errors import DataError

__all__ = ["POLICIES", "Policy", "ProtectedTable", "protect", "protect_statistics"]


@dataclass(frozen=True)
class Policy:
    """A disclosure-control convention.

    Attributes
    ----------
    name
        Short name.
    threshold
        Counts from 1 to ``threshold - 1`` are suppressed.
    suppress_zero
        Suppress zeros too (some secure environments do: a zero can disclose
        that everyone in a group shares an attribute).
    round_to
        Round published counts to the nearest multiple of this (``None``: no rounding).
    symbol
        Shown for a suppressed cell.
    rounds_to_zero_symbol
        Shown for a non-zero count that rounds to zero (DfE ``k``); ``None`` shows 0.
    not_applicable_symbol
        Shown for a cell with no value (DfE ``z``).
    min_people
        Means, proportions and other statistics based on fewer young people are suppressed.
    source
        Where the convention comes from.
    """

    name: str
    threshold: int
    suppress_zero: bool = False
    round_to: int | None = None
    symbol: str = "*"
    rounds_to_zero_symbol: str | None = None
    not_applicable_symbol: str = "z"
    min_people: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise DataError(f"threshold must be 1 or more, not {self.threshold}", where="threshold")
        if self.round_to is not None and self.round_to < 1:
            raise DataError(f"round_to must be 1 or more, not {self.round_to}", where="round_to")


POLICIES: dict[str, Policy] = {
    "nhs": Policy("nhs", threshold=8, round_to=5, symbol="*", min_people=8,
                  source="NHS Digital: sub-national counts of 1-7 suppressed as '*', others rounded to the nearest 5; "
                         "means based on 1-7 people suppressed"),
    "dfe": Policy("dfe", threshold=5, round_to=10, symbol="c", rounds_to_zero_symbol="k", min_people=5,
                  source="Department for Education: rounding to the nearest 10 (5 in some publications), symbols "
                         "c (confidential), z (not applicable), k (rounds to zero but is not zero), with secondary "
                         "suppression; the threshold (here 5) is set per publication"),
    "safe_room": Policy("safe_room", threshold=10, suppress_zero=True, symbol="*", min_people=10,
                        source="secure research environments: counts under 10 suppressed, zeros included"),
}


def _policy(policy: str | Policy, **overrides: Any) -> Policy:
    if isinstance(policy, str):
        if policy not in POLICIES:
            raise DataError(f"unknown disclosure policy {policy!r}", where="policy",
                            hint=f"use one of {sorted(POLICIES)} or a cseoutcomes.disclosure.Policy")
        policy = POLICIES[policy]
    return replace(policy, **{k: v for k, v in overrides.items() if v is not None}) if overrides else policy


@dataclass
class ProtectedTable:
    """A table after disclosure control.

    Attributes
    ----------
    table
        What may be published: rounded counts (int) and symbols (str).
    suppressed
        True where a cell is suppressed (same shape as ``table``).
    primary
        True where a cell was suppressed for being small (the rest of ``suppressed`` is secondary).
    policy
        The :class:`Policy` applied.
    notes
        What was done, in words (no values).
    """

    table: pd.DataFrame
    suppressed: pd.DataFrame
    primary: pd.DataFrame
    policy: Policy
    notes: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        return (self.table.to_html() + f"<p><small>Disclosure control: {self.policy.source or self.policy.name}. "
                + " ".join(self.notes) + "</small></p>")


def protect(table: pd.DataFrame, policy: str | Policy = "nhs", *, margins: bool = True,
            threshold: int | None = None, round_to: int | None = None) -> ProtectedTable:
    """Disclosure control for a table of counts (rows x columns of young people, cases, ...).

    Parameters
    ----------
    table
        Non-negative whole-number counts; missing cells are "not applicable".
    policy
        A name in :data:`POLICIES` or a :class:`Policy`.
    margins
        Add row and column totals (computed from the exact counts, then
        protected and rounded like every other cell). Totals are protected either
        way: without margins, the protection assumes totals may be published elsewhere.
    threshold, round_to
        Override the policy's.

    Returns
    -------
    ProtectedTable
    """
    pol = _policy(policy, threshold=threshold, round_to=round_to)
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"protect needs a pandas DataFrame of counts, not {type(table).__name__}")
    values = table.apply(pd.to_numeric, errors="coerce")
    given = table.notna().to_numpy()
    bad = given & (values.isna().to_numpy() | (values.to_numpy(dtype=float, na_value=0) < 0)
                   | (values.fillna(0).to_numpy(dtype=float) % 1 != 0))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"counts must be whole numbers, 0 or more; {int(bad.sum())} cells are not (first: row "
                        f"{table.index[r]!r}, column {table.columns[c]!r})", hint="protect counts, not rates")
    counts = values.fillna(0).to_numpy(dtype=np.int64)
    na = ~given
    if margins:
        counts = np.block([[counts, counts.sum(axis=1, keepdims=True)],
                           [counts.sum(axis=0, keepdims=True), np.array([[counts.sum()]])]])
        na = np.block([[na, np.zeros((na.shape[0], 1), bool)], [np.zeros((1, na.shape[1] + 1), bool)]])
        index = [*table.index, "Total"]
        columns = [*table.columns, "Total"]
    else:
        index, columns = list(table.index), list(table.columns)
    small = (counts > 0) & (counts < pol.threshold)
    if pol.suppress_zero:
        small |= counts == 0
    primary = small & ~na
    suppressed = _complementary(counts, primary, na, margins)
    lone = [line for line in _lines(*counts.shape) if sum(suppressed[rc] for rc in line if not na[rc]) == 1]
    published = counts.astype(object)
    if pol.round_to:
        base = pol.round_to
        rounded = (np.floor(counts / base + 0.5) * base).astype(np.int64)
        published = rounded.astype(object)
        if pol.rounds_to_zero_symbol:
            published[(rounded == 0) & (counts > 0)] = pol.rounds_to_zero_symbol
    published[suppressed] = pol.symbol
    published[na] = pol.not_applicable_symbol
    notes = [f"{int(primary.sum())} cells suppressed as small (under {pol.threshold}"
             + (", zeros included)" if pol.suppress_zero else ")"),
             f"{int((suppressed & ~primary).sum())} more suppressed so none can be recovered from totals"]
    if pol.round_to:
        notes.append(f"counts rounded to the nearest {pol.round_to}")
    if lone:
        notes.append(f"{len(lone)} rows or columns have one cell only, so a total published elsewhere would reveal "
                     "it: do not publish those totals")
    frame = lambda a: pd.DataFrame(a, index=index, columns=columns)  # noqa: E731
    return ProtectedTable(frame(published), frame(suppressed), frame(primary), pol, notes)


def _lines(n_r: int, n_c: int) -> list[list[tuple[int, int]]]:
    """Every row and every column of an n_r x n_c table, as lists of (row, column)."""
    return [[(r, c) for c in range(n_c)] for r in range(n_r)] + [[(r, c) for r in range(n_r)] for c in range(n_c)]


def _crossing_cost(rc: tuple[int, int], line: list[tuple[int, int]], sup: np.ndarray, na: np.ndarray) -> int:
    """0: suppressing rc completes a pair in its crossing line; 1: that line is safe already; 2: it starts a new single."""
    r, c = rc
    row_line = all(cell[0] == r for cell in line)
    crossing = sup[:, c] & ~na[:, c] if row_line else sup[r, :] & ~na[r, :]
    hidden = int(crossing.sum())
    return 0 if hidden == 1 else (1 if hidden >= 2 else 2)


def _complementary(counts: np.ndarray, primary: np.ndarray, na: np.ndarray, margins: bool) -> np.ndarray:
    """Add suppressions until every row and column has no suppressed cell or at least two.

    With margins the last row and column are totals; each interior row with its
    total, each interior column with its total, and the totals row and column
    themselves (which sum to the grand total) are the lines an attacker can
    subtract along. Without margins the totals are assumed known elsewhere, so
    each row and column of the table is such a line. The complement chosen is
    a cell whose crossing line (its column, for a row) already has one suppressed
    cell, so that one choice protects both lines; else one whose crossing line is
    already protected; then interior cells before totals and the smallest count,
    which loses least information. The loop ends because each pass suppresses
    at least one more cell of a finite table.
    """
    sup = primary.copy()
    lines = list(_lines(*counts.shape))
    is_total = np.zeros_like(sup)
    if margins:
        is_total[-1, :] = True
        is_total[:, -1] = True
    changed = True
    while changed:  # each pass suppresses at least one more cell, so this ends
        changed = False
        for line in lines:
            cells = [(r, c) for r, c in line if not na[r, c]]
            hidden = [rc for rc in cells if sup[rc]]
            if len(hidden) != 1:
                continue
            candidates = [rc for rc in cells if not sup[rc]]
            if not candidates:
                continue
            best = min(candidates, key=lambda rc: (_crossing_cost(rc, line, sup, na), is_total[rc], counts[rc], rc))
            sup[best] = True
            changed = True
    return sup


def protect_statistics(table: pd.DataFrame, n: str, values: list[str] | None = None,
                       policy: str | Policy = "nhs", *, min_people: int | None = None,
                       additive: bool = True) -> pd.DataFrame:
    """Suppress means, proportions and other statistics based on too few young people.

    ``table`` has one row per group; ``n`` names the column of how many young
    people each row's statistics rest on; ``values`` the statistic columns
    (default: every other numeric column). Statistics of rows with ``n`` below
    the policy's ``min_people`` become the policy's symbol, and ``n`` itself is
    protected as a count (suppressed when small, rounded). With ``additive``
    (groups that partition the young people, so the ``n`` add up to a total)
    the ``n`` column is protected as a whole, with complementary suppression;
    ``additive=False`` (rows are different statistics on overlapping people)
    protects each ``n`` on its own.
    """
    pol = _policy(policy, min_people=min_people)
    if n not in table.columns:
        raise DataError(f"column {n!r} (number of young people) is not in the table", where=n)
    values = values or [c for c in table.columns if c != n and pd.api.types.is_numeric_dtype(table[c])]
    out = table.copy().astype({c: object for c in [*values, n]})
    people = pd.to_numeric(table[n], errors="coerce")
    if people.isna().any() or (people < 0).any():
        raise DataError(f"column {n!r} must hold the number of young people (0 or more) on every row", where=n)
    few = (people < max(pol.min_people, pol.threshold)).to_numpy()
    for c in values:
        out.loc[few, c] = pol.symbol
    if additive:
        out[n] = protect(table[[n]], pol, margins=False).table[n].to_numpy()
    else:
        out[n] = [protect(pd.DataFrame({n: [int(v)]}), pol, margins=False).table.iat[0, 0] for v in people]
    return out
