"""Structured conditions used by overrides and section routing.

A condition is data, not code: it names an item, a section, a context field
(such as ``age``) or a score, and a test on it, or combines other conditions
with ``all``, ``any`` and ``not``. Conditions are evaluated with three-valued
(Kleene) logic: a condition on an item answered "unknown", or on an age that is
blank, is neither true nor false but *unknown*, so an override that could not be
checked is reported rather than silently treated as not applying.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from cseoutcomes.instruments._base import Model

__all__ = ["Condition"]

_SUBJECTS = ("item", "section", "field", "score", "all", "any", "not_")
_COMPARISONS = ("lt", "le", "gt", "ge", "eq")


def _fmt(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class Condition(Model):
    """One test, or a combination of tests, on an assessment.

    Exactly one subject is given:

    - ``item`` with ``in``: the item's response is one of the listed codes
      (response categories or missing codes);
    - ``section`` with ``in`` (and ``at_least``, default 1): at least that many
      items of the section have one of the listed responses;
    - ``field`` (a context field the instrument declares, such as ``age``) with
      a comparison (``lt``, ``le``, ``gt``, ``ge``, ``eq``) or ``in``;
    - ``score`` (another score's value before banding) with a comparison;
    - ``all`` / ``any``: a list of conditions; ``not``: one condition.

    Examples
    --------
    >>> Condition.model_validate({"item": "disclosure", "in": ["yes"]}).describe()
    "item 'disclosure' is yes"
    >>> Condition.model_validate({"field": "age", "lt": 13}).describe()
    'age < 13'
    """

    item: str | None = Field(None, description="Item id the test applies to.")
    section: str | None = Field(None, description="Section id whose items are counted.")
    field: str | None = Field(None, description="Context field (declared under `context`).")
    score: str | None = Field(None, description="Score id (value before banding).")
    all: tuple[Condition, ...] | None = Field(None, description="True when every condition is true.")
    any: tuple[Condition, ...] | None = Field(None, description="True when some condition is true.")
    not_: Condition | None = Field(None, alias="not", description="True when the condition is false.")
    in_: tuple[str | float, ...] | None = Field(
        None, alias="in", description="Response codes (item, section) or values (field)."
    )
    at_least: int = Field(1, ge=1, description="For `section`: how many items must match.")
    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None
    eq: float | str | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> Condition:
        given = [name for name in _SUBJECTS if getattr(self, name) is not None]
        if len(given) != 1:
            shown = ", ".join("not" if g == "not_" else g for g in given) or "none"
            raise ValueError(
                "a condition needs exactly one of item, section, field, score, all, any, not "
                f"(given: {shown})"
            )
        subject = given[0]
        comparisons = [c for c in _COMPARISONS if getattr(self, c) is not None]
        if subject in ("item", "section"):
            if not self.in_:
                raise ValueError(f"a condition on a {subject} needs `in: [codes]`")
            if comparisons:
                raise ValueError(f"a condition on a {subject} compares codes with `in`, not {comparisons[0]}")
        elif subject in ("field", "score"):
            if not comparisons and self.in_ is None:
                raise ValueError(f"a condition on a {subject} needs a comparison: lt, le, gt, ge, eq or in")
            if subject == "score" and self.in_ is not None:
                raise ValueError("a condition on a score compares numbers: use lt, le, gt, ge or eq")
        else:
            if comparisons or self.in_ is not None:
                raise ValueError(f"`{'not' if subject == 'not_' else subject}` combines conditions; put tests inside it")
            if subject in ("all", "any") and not getattr(self, subject):
                raise ValueError(f"`{subject}` needs at least one condition")
        if self.at_least != 1 and subject != "section":
            raise ValueError("`at_least` only applies to a section condition")
        return self

    # -- introspection -------------------------------------------------
    def walk(self):
        """Yield this condition and every condition nested inside it."""
        yield self
        for child in self.children():
            yield from child.walk()

    def children(self) -> tuple[Condition, ...]:
        if self.all is not None:
            return self.all
        if self.any is not None:
            return self.any
        if self.not_ is not None:
            return (self.not_,)
        return ()

    def describe(self) -> str:
        """A short human-readable rendering, used in reports and error messages."""
        if self.item is not None:
            return f"item '{self.item}' is {' or '.join(map(str, self.in_ or ()))}"
        if self.section is not None:
            codes = " or ".join(map(str, self.in_ or ()))
            return f"at least {self.at_least} item(s) of section '{self.section}' are {codes}"
        if self.field is not None or self.score is not None:
            name = self.field if self.field is not None else f"score '{self.score}'"
            parts = [f"{name} {op} {_fmt(getattr(self, key))}" for key, op in
                     (("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">="), ("eq", "=="))
                     if getattr(self, key) is not None]
            if self.in_ is not None:
                parts.append(f"{name} in {list(self.in_)}")
            return " and ".join(parts)
        if self.all is not None:
            return "(" + " and ".join(c.describe() for c in self.all) + ")"
        if self.any is not None:
            return "(" + " or ".join(c.describe() for c in self.any) + ")"
        return f"not {self.not_.describe()}"  # type: ignore[union-attr]

    def comparisons(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in _COMPARISONS if getattr(self, c) is not None}
