"""What a conversion could not carry: the loss report every conversion returns.

A :class:`LossReport` lists, element by element, what a conversion dropped or
changed and why. Each entry names

- ``item``: the element of the definition it concerns: an item id (``going_missing``),
  or ``scale:<name>``, ``section:<id>``, ``score:<id>``, ``context:<name>`` or
  ``instrument``; on import, a field or row of the source file
  (``field:q12``, ``row 14``);
- ``what``: the field or feature (``weight``, ``recency``, ``branching logic``);
- ``why``: why it could not be carried, and what becomes of it.

``detail`` keeps source text that could not be converted (a REDCap branching
logic expression, an XLSForm ``relevant`` formula), so nothing disappears
unseen. Entries never hold values from assessment data.

``notes`` are decisions a conversion took that lose nothing but are worth
knowing (codes 777 and 999 read as missing codes from their labels).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["Exported", "Imported", "Loss", "LossReport"]


@dataclass(frozen=True)
class Loss:
    """One thing a conversion could not represent."""

    item: str
    what: str
    why: str
    detail: str | None = None

    def __str__(self) -> str:
        text = f"{self.item}: {self.what}: {self.why}"
        if self.detail:
            text += f" [{self.detail}]"
        return text


@dataclass(frozen=True)
class LossReport:
    """Everything a conversion lost, item by item.

    ``ok`` is true when nothing was lost. ``len(report)`` counts the losses;
    iterating yields :class:`Loss` entries. ``to_frame()`` gives a table
    (item, what, why, detail); ``str(report)`` one line per loss.
    """

    conversion: str
    losses: tuple[Loss, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether the conversion lost nothing."""
        return not self.losses

    @property
    def items(self) -> tuple[Loss, ...]:
        """The losses (an alias of ``losses``)."""
        return self.losses

    def __iter__(self) -> Iterator[Loss]:
        return iter(self.losses)

    def __len__(self) -> int:
        return len(self.losses)

    def __bool__(self) -> bool:  # a report is always a report, even an empty one
        return True

    def about(self, item: str) -> tuple[Loss, ...]:
        """The losses concerning one element (an item id, ``scale:<name>``...)."""
        return tuple(loss for loss in self.losses if loss.item == item)

    def to_frame(self):
        """The losses as a pandas DataFrame with columns item, what, why, detail."""
        import pandas as pd

        return pd.DataFrame([{"item": x.item, "what": x.what, "why": x.why, "detail": x.detail}
                             for x in self.losses], columns=["item", "what", "why", "detail"])

    def __str__(self) -> str:
        head = (f"{self.conversion}: nothing lost" if self.ok else
                f"{self.conversion}: {len(self.losses)} thing{'s' * (len(self.losses) != 1)} not carried")
        lines = [head, *(f"  {loss}" for loss in self.losses), *(f"  note: {n}" for n in self.notes)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<LossReport {self.conversion}: {len(self.losses)} losses, {len(self.notes)} notes>"

    def _repr_html_(self) -> str:
        from html import escape

        if self.ok and not self.notes:
            return f"<div><strong>{escape(self.conversion)}</strong>: nothing lost</div>"
        rows = "".join(
            f"<tr><td><code>{escape(x.item)}</code></td><td>{escape(x.what)}</td><td>{escape(x.why)}</td></tr>"
            for x in self.losses)
        table = ("<table><thead><tr><th>item</th><th>what</th><th>why</th></tr></thead>"
                 f"<tbody>{rows}</tbody></table>") if rows else ""
        notes = "".join(f"<li>{escape(n)}</li>" for n in self.notes)
        return (f"<div><strong>{escape(self.conversion)}</strong>: {len(self.losses)} not carried"
                f"{table}{f'<ul>{notes}</ul>' if notes else ''}</div>")


class Imported(NamedTuple):
    """What ``from_*`` returns: the instrument and the loss report; unpacks as a pair."""

    instrument: Any
    losses: LossReport


class Exported(NamedTuple):
    """What ``to_*`` returns: the output (text, path, dict) and the loss report; unpacks as a pair."""

    output: Any
    losses: LossReport


class Collector:
    """Gathers losses and notes while a conversion runs (internal)."""

    def __init__(self, conversion: str):
        self.conversion = conversion
        self.losses: list[Loss] = []
        self.notes: list[str] = []

    def lose(self, item: str, what: str, why: str, detail: str | None = None) -> None:
        loss = Loss(item, what, why, detail)
        if loss not in self.losses:
            self.losses.append(loss)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def report(self) -> LossReport:
        return LossReport(self.conversion, tuple(self.losses), tuple(self.notes))
