"""The instrument model: what an instrument definition file may say.

Field names, types, constraints and descriptions here *are* the file format: the
JSON Schema in ``docs/instrument.schema.json`` is exported from these classes.
Every model is frozen and rejects unknown fields.

Single-field checks live on the fields. Checks that relate one part of a
definition to another (an item naming an undefined scale, bands that overlap,
an override naming an unknown item) live in :func:`cross_check`, which reports
every problem with its field path at once.
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections import Counter
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, StringConstraints, field_validator, model_validator

from cseoutcomes.instruments._base import Model
from cseoutcomes.instruments.conditions import Condition

__all__ = [
    "Band",
    "Category",
    "ChangeParameters",
    "Code",
    "ContextField",
    "Evidence",
    "Indicator",
    "Instrument",
    "Item",
    "Licence",
    "Lookup",
    "MissingCode",
    "MissingRule",
    "Override",
    "Recency",
    "RecencyWindow",
    "Reference",
    "ResponseScale",
    "Score",
    "Section",
    "SourcedValue",
]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=80)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=80)]
SemVer = Annotated[
    str, StringConstraints(pattern=r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$")
]
Code_ = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]

#: kinds with built-in meaning; plugins may declare others (any slug)
KNOWN_KINDS = ("risk_scale", "distance_travelled", "wellbeing_scale", "goal_based", "coding_scheme")


# ---------------------------------------------------------------------------
# identity, citation, licence


class Reference(Model):
    """A published source."""

    text: str = Field(min_length=1, description="Full citation as it would appear in a reference list.")
    doi: str | None = Field(None, description="DOI without the resolver prefix, e.g. 10.1186/1477-7525-7-15.")
    url: str | None = Field(None, description="Where the source can be read.")
    note: str | None = Field(None, description="What this source supports.")


class Licence(Model):
    """Who owns the instrument and what may be shipped."""

    name: str = Field(description="Licence name or SPDX id, e.g. CC-BY-4.0, or 'proprietary'.")
    holder: str | None = Field(None, description="Copyright holder.")
    url: str | None = None
    wording_may_ship: bool = Field(
        description="Whether item wording may be distributed with this definition. "
        "False for licensed tools: the definition then carries scoring facts only."
    )
    notice: str | None = Field(
        None, description="Copyright notice the holder requires beside any report of results; reports print it."
    )
    note: str | None = Field(None, description="Terms a user must know (registration, fees).")


class SourcedValue(Model):
    """A number with the source it was taken from."""

    value: float
    source: str = Field(min_length=1, description="Citation or 'estimated from <data>'.")
    note: str | None = None


class Reliability(SourcedValue):
    """A reliability coefficient with its source."""

    value: float = Field(ge=0, le=1)
    type: Literal["internal_consistency", "test_retest", "inter_rater", "other"] = "internal_consistency"


# ---------------------------------------------------------------------------
# response scales


class Category(Model):
    """One response category, in the scale's order."""

    code: Code_ = Field(description="What is recorded in the data (matched case-insensitively).")
    label: str | None = Field(None, description="Our own wording for the category or ladder anchor.")
    value: float | None = Field(None, description="Numeric value used by sum and mean scores.")


MissingMeaning = Literal["unknown", "not_asked", "declined", "not_applicable", "not_known_yet"]


class MissingCode(Model):
    """A code that records *why* there is no answer. It is never a category."""

    code: Code_
    label: str | None = None
    meaning: MissingMeaning = Field(description="Why the answer is missing.")


class ResponseScale(Model):
    """An ordered (or nominal) set of response categories and distinct missing codes.

    The full category set is declared even where some categories are rarely
    used: validation, scoring, ordinal model thresholds and agreement statistics
    all rely on it.
    """

    type: Literal["ordinal", "nominal", "binary"] = "ordinal"
    label: str | None = None
    categories: tuple[Category, ...] = Field(min_length=2, description="Categories, lowest first for ordinal scales.")
    missing: tuple[MissingCode, ...] = Field((), description="Missing codes, kept apart from blanks.")

    @model_validator(mode="after")
    def _check(self) -> ResponseScale:
        codes = [c.code.casefold() for c in self.categories] + [m.code.casefold() for m in self.missing]
        dup = [c for c, n in Counter(codes).items() if n > 1]
        if dup:
            raise ValueError(f"code '{dup[0]}' is used twice (codes are matched case-insensitively); give each category and missing code its own code")
        if self.type == "ordinal":
            values = [c.value for c in self.categories]
            if all(v is not None for v in values) and any(b <= a for a, b in itertools.pairwise(values)):
                raise ValueError("ordinal category values must increase in the order the categories are listed (list them lowest first)")
        if self.type == "binary" and len(self.categories) != 2:
            raise ValueError(f"a binary scale has exactly 2 categories, not {len(self.categories)}")
        return self

    @property
    def numeric(self) -> bool:
        """Whether every category has a numeric value."""
        return all(c.value is not None for c in self.categories)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.categories)

    @property
    def missing_codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.missing)

    def value_range(self) -> tuple[float, float]:
        values = [c.value for c in self.categories if c.value is not None]
        return (min(values), max(values)) if values else (math.nan, math.nan)


# ---------------------------------------------------------------------------
# sections and items


class Section(Model):
    """A group of items: a SERAF-style indicator section, a ladder domain group."""

    id: Name
    label: str
    description: str | None = None
    applies_when: Condition | None = Field(
        None, description="Routing: the section is asked only when this holds; otherwise its items are skipped."
    )


class RecencyWindow(Model):
    """Points an indicator earns when last seen within ``within_months``."""

    within_months: float = Field(gt=0)
    weight: float = Field(ge=0)


class Recency(Model):
    """Recency windows: how many points an indicator earns by how recently it was present.

    The data carry, beside the item, a column ``<item><column_suffix>`` with the
    months since the indicator was last present. A blank there (or no such
    column) means *current*: the item earns the first window's points, which is
    the safeguarding-conservative reading. Beyond the last window it earns 0.
    """

    windows: tuple[RecencyWindow, ...] = Field(min_length=1)
    column_suffix: str = Field("_months_ago", min_length=1)

    @field_validator("windows")
    @classmethod
    def _ascending(cls, windows: tuple[RecencyWindow, ...]) -> tuple[RecencyWindow, ...]:
        months = [w.within_months for w in windows]
        if any(b <= a for a, b in itertools.pairwise(months)):
            raise ValueError("recency windows must be listed from most recent (smallest within_months) up")
        return windows


class Item(Model):
    """One question, indicator or ladder."""

    id: Name = Field(description="Column name in wide data; letters, digits and underscores.")
    label: str = Field(min_length=1, description="Our own short name for the item.")
    text: str | None = Field(None, description="Item wording; only where the licence lets it ship.")
    scale: str = Field(description="Key of a response scale under `response_scales`.")
    section: str | None = Field(None, description="Section id.")
    domain: str | None = Field(None, description="Outcome domain, for per-domain analyses.")
    weight: float = Field(1.0, ge=0, description="Weight in sum and weighted-count scores.")
    reverse: bool = Field(False, description="Reverse keyed: value becomes (min + max) - value.")
    recency: Recency | None = None
    tag: Literal["risk", "harm"] | None = Field(
        None, description="Whether the item indicates risk of exploitation or harm that has happened."
    )
    description: str | None = None


# ---------------------------------------------------------------------------
# scores


class Lookup(Model):
    """A raw-to-metric conversion table (e.g. a Rasch transformation)."""

    table: dict[int, float] = Field(description="Raw score -> metric score, one entry per possible raw score.")
    source: str = Field(min_length=1)
    label: str | None = Field(None, description="Name of the metric, e.g. 'metric score'.")


class Band(Model):
    """A category of a score: values from ``min`` up to ``max``.

    For integer-valued scores ``max`` is inclusive and the next band starts at
    ``max + 1``; otherwise the next band starts at ``max``. The last band may
    leave ``max`` empty (open-ended, e.g. "16+"). A value belongs to the last
    band whose ``min`` it reaches.
    """

    code: Code_
    label: str
    min: float
    max: float | None = None


class Override(Model):
    """A rule that sets, raises (floor) or lowers (cap) the band, recording why."""

    id: Name
    when: Condition
    action: Literal["set", "floor", "cap"] = Field(
        description="set: the band becomes `band`; floor: never below `band`; cap: never above."
    )
    band: Code_
    reason: str = Field(min_length=1, description="Shown beside every assessment the override changes.")


class MissingRule(Model):
    """What a score does when some of its items are unanswered (blank or a missing code).

    - ``complete``: no score unless every item is answered;
    - ``prorate``: with at least ``min_answered`` items, the answered items are
      scaled up to the full set (person-mean imputation);
    - ``lower_bound`` (weighted counts): with at least ``min_answered`` items,
      the score counts the answered items and ``<score>_upper`` says what it
      would be were every unanswered indicator present;
    - ``available`` (means and scoring steps): with at least ``min_answered``
      items, the score is computed from the answered items alone (a mean, or an
      IRT ability estimate, needs no scaling up).

    A missing code never counts as "no".
    """

    rule: Literal["complete", "prorate", "lower_bound", "available"] = "complete"
    min_answered: int | None = Field(None, ge=1, description="Defaults to all items.")


class ChangeParameters(Model):
    """What a change in this score means."""

    direction: Literal["higher_is_better", "higher_is_worse"]
    reliability: Reliability | None = None
    reference_sd: SourcedValue | None = Field(None, description="SD in a reference (e.g. baseline) population.")
    reference_mean: SourcedValue | None = None
    clinical_cutoff: SourcedValue | None = None
    important_change: SourcedValue | None = Field(
        None, description="Smallest change of practical importance, in score points."
    )


class Score(Model):
    """A score computed from items, with its bands and overrides."""

    id: Name
    label: str
    method: Literal["sum", "weighted_count", "mean", "step"] = Field(
        description="sum: sum of weight x value; weighted_count: points for each indicator whose response is "
        "in `counts`; mean: weighted mean of values; step: a registered scoring step (plugin)."
    )
    items: tuple[str, ...] | None = Field(None, description="Item ids; default every item (or those of `sections`).")
    sections: tuple[str, ...] | None = Field(None, description="Use the items of these sections.")
    counts: tuple[str, ...] | None = Field(None, description="weighted_count: response codes that earn points.")
    step: str | None = Field(None, description="step: name of a scoring step registered in `cseoutcomes.scoring`.")
    params: dict[str, Any] = Field(default_factory=dict, description="step: parameters passed to the step.")
    range: tuple[float, float] | None = Field(None, description="step: the score's possible range (min, max).")
    integer: bool | None = Field(None, description="step: whether the score only takes whole values.")
    missing: MissingRule = MissingRule()
    transform: Lookup | None = None
    bands: tuple[Band, ...] = ()
    overrides: tuple[Override, ...] = Field((), max_length=60)
    change: ChangeParameters | None = None


# ---------------------------------------------------------------------------
# context fields, evidence


class ContextField(Model):
    """Information about the assessment beyond the items (age, a disability flag) that rules may use."""

    type: Literal["number", "category", "boolean"] = "number"
    label: str | None = None
    unit: str | None = None


class Evidence(Model):
    """A published or estimated validation statistic."""

    statistic: Literal[
        "cronbach_alpha", "mcdonald_omega", "icc", "cohen_kappa", "fleiss_kappa",
        "krippendorff_alpha", "test_retest", "correlation", "auc", "other",
    ]
    value: float
    ci: tuple[float, float] | None = Field(None, description="Interval (lower, upper).")
    ci_level: float | None = Field(None, gt=0, lt=1)
    score: str | None = Field(None, description="Score or domain the statistic refers to.")
    n: int | None = Field(None, ge=1, description="Sample size.")
    sample: str | None = Field(None, description="Who was measured.")
    source: str = Field(min_length=1)
    note: str | None = None


# ---------------------------------------------------------------------------
# coding schemes


class Indicator(Model):
    """A binary outcome indicator a qualitative code feeds."""

    id: Name
    label: str | None = None
    instrument: str | None = Field(None, description="Instrument whose item this indicator corresponds to.")
    item: str | None = None


class Code(Model):
    """A qualitative code (MacQueen et al. 1998 codebook structure)."""

    id: Name
    name: str
    definition: str = Field(min_length=1)
    when_to_use: str = Field(min_length=1)
    when_not_to_use: str = Field(min_length=1)
    example: str = Field(min_length=1, description="An invented illustration, never real case text.")
    indicator: Indicator | None = None
    children: tuple[Code, ...] = ()

    def walk(self, parents: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Code]]:
        """Yield (path of ancestor ids, code) for this code and its descendants."""
        yield parents, self
        for child in self.children:
            yield from child.walk((*parents, self.id))


# ---------------------------------------------------------------------------
# the instrument


class Instrument(Model):
    """An instrument definition: risk scale, distance-travelled measure or coding scheme.

    Load one with :meth:`from_yaml` or :meth:`from_dict`; both report every
    problem with its file and field path.

    Examples
    --------
    >>> import cseoutcomes as co
    >>> inst = co.get_instrument("cse-risk-indicators")
    >>> inst.kind, [s.id for s in inst.scores]
    ('risk_scale', ['total', 'total_with_possible'])
    """

    id: Slug = Field(description="Registry id, lower case, e.g. cse-risk-indicators.")
    version: SemVer = Field(description="Semantic version; a changed item, score or definition is a new version.")
    title: str = Field(min_length=1)
    kind: Slug = Field(description=f"One of {', '.join(KNOWN_KINDS)}, or a plugin's kind.")
    description: str | None = None
    citation: tuple[Reference, ...] = Field(min_length=1, description="Sources of the instrument and its scoring.")
    licence: Licence
    age_range: tuple[float, float] | None = Field(None, description="Ages (years) the instrument is meant for.")
    informants: tuple[Name, ...] = Field((), description="Who may rate, e.g. young_person, worker.")
    context: dict[Name, ContextField] = Field(default_factory=dict, description="Fields rules may use, e.g. age.")
    response_scales: dict[Name, ResponseScale] = Field(default_factory=dict)
    sections: tuple[Section, ...] = ()
    items: tuple[Item, ...] = ()
    scores: tuple[Score, ...] = ()
    codes: tuple[Code, ...] = Field((), description="coding_scheme: the codes, as a hierarchy.")
    evidence: tuple[Evidence, ...] = ()
    notes: str | None = None

    _source: str | None = PrivateAttr(None)
    _index: dict[str, Item] | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _cross_check(self) -> Instrument:
        problems = cross_check(self)
        if problems:
            raise CrossCheckError(problems)
        return self

    # -- lookups ------------------------------------------------------
    @property
    def source(self) -> str | None:
        """Where this definition was loaded from (file, plugin or 'built-in')."""
        return self._source

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def _items_by_id(self) -> dict[str, Item]:
        if self._index is None:
            self._index = {item.id: item for item in self.items}
        return self._index

    def __eq__(self, other: object) -> bool:
        # equal definitions are equal wherever they were loaded from
        if not isinstance(other, Instrument):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in type(self).model_fields)

    __hash__ = None  # type: ignore[assignment]

    def get_item(self, item_id: str) -> Item:
        try:
            return self._items_by_id[item_id]
        except KeyError:
            raise KeyError(_unknown("item", item_id, self._items_by_id)) from None

    def get_score(self, score_id: str) -> Score:
        for s in self.scores:
            if s.id == score_id:
                return s
        raise KeyError(_unknown("score", score_id, [s.id for s in self.scores]))

    def scale_of(self, item: Item | str) -> ResponseScale:
        item = self.get_item(item) if isinstance(item, str) else item
        return self.response_scales[item.scale]

    def score_items(self, score: Score | str) -> tuple[Item, ...]:
        """The items a score uses, in definition order."""
        score = self.get_score(score) if isinstance(score, str) else score
        if score.items is not None:
            return tuple(self._items_by_id[i] for i in score.items if i in self._items_by_id)
        if score.sections is not None:
            wanted = set(score.sections)
            return tuple(i for i in self.items if i.section in wanted)
        return self.items

    def score_range(self, score: Score | str) -> tuple[float, float, bool]:
        """(lowest, highest, integer-valued) of a score after its transform."""
        score = self.get_score(score) if isinstance(score, str) else score
        return _score_range(self, score)

    def all_codes(self) -> list[tuple[tuple[str, ...], Code]]:
        """Every code of a coding scheme with its ancestors, depth first."""
        return [pair for code in self.codes for pair in code.walk()]

    def summary(self) -> str:
        """One line: what the instrument contains."""
        if self.kind == "coding_scheme":
            n = len(self.all_codes())
            return f"{n} code{'s' * (n != 1)}, {len(self.codes)} top-level"
        n_bands = sum(len(s.bands) for s in self.scores)
        n_over = sum(len(s.overrides) for s in self.scores)
        parts = [_plural(len(self.items), "item"), _plural(len(self.scores), "score"),
                 _plural(n_bands, "band"), _plural(n_over, "override")]
        return ", ".join(parts)

    # -- I/O (implemented in loading.py, exposed here) ----------------
    @classmethod
    def from_yaml(cls, path) -> Instrument:
        """Load a definition from a YAML file (safe loading only)."""
        from cseoutcomes.instruments.loading import load_yaml_file

        return load_yaml_file(path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None) -> Instrument:
        """Build a definition from a mapping, reporting problems as :class:`DefinitionError`."""
        from cseoutcomes.instruments.loading import instrument_from_dict

        return instrument_from_dict(data, source=source)

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping that :meth:`from_dict` turns back into an equal instrument."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)

    def to_yaml(self) -> str:
        from cseoutcomes.instruments.loading import dump_yaml

        return dump_yaml(self.to_dict())

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of definition files, for editors and plugin authors."""
        schema = cls.model_json_schema(by_alias=True, mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = "cseoutcomes instrument definition"
        return schema

    def __repr__(self) -> str:
        return f"<Instrument {self.key} {self.kind}: {self.title} ({self.summary()})>"

    __str__ = __repr__

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{escape(s.id)}</td><td>{escape(s.method)}</td>"
            f"<td>{escape(', '.join(b.code for b in s.bands)) or '&ndash;'}</td>"
            f"<td>{len(s.overrides)}</td></tr>"
            for s in self.scores
        )
        table = (
            "<table><thead><tr><th>score</th><th>method</th><th>bands</th><th>overrides</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>" if rows else ""
        )
        return (
            f"<div><strong>{escape(self.title)}</strong> <code>{escape(self.key)}</code> "
            f"<em>{escape(self.kind)}</em><br>{escape(self.summary())}; licence {escape(self.licence.name)}"
            f"{'' if self.licence.wording_may_ship else ' (item wording not shipped)'}{table}</div>"
        )


# ---------------------------------------------------------------------------
# cross-field checks


class CrossCheckError(ValueError):
    """Carries every cross-field problem with its own field path."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]):
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _unknown(what: str, name: str, known) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"{what} '{name}' is not defined (defined: {shown or 'none'}){hint}"


def _score_range(inst: Instrument, score: Score) -> tuple[float, float, bool]:
    if score.method == "step":
        lo, hi = score.range if score.range else (math.nan, math.nan)
        raw = (lo, hi, bool(score.integer))
    else:
        items = inst.score_items(score)
        scales = [inst.response_scales.get(i.scale) for i in items]
        if not items or any(s is None for s in scales):
            return (math.nan, math.nan, False)
        weights = [i.weight for i in items]
        if score.method == "weighted_count":
            points = [max(w.weight for w in i.recency.windows) if i.recency else i.weight for i in items]
            lo, hi = 0.0, float(sum(points))
            integer = all(float(p).is_integer() for p in points) and all(
                float(w.weight).is_integer() for i in items if i.recency for w in i.recency.windows)
        else:
            ranges = [s.value_range() for s in scales]  # type: ignore[union-attr]
            if score.method == "sum":
                lo = sum(w * r[0] for w, r in zip(weights, ranges, strict=True))
                hi = sum(w * r[1] for w, r in zip(weights, ranges, strict=True))
                integer = all(float(w).is_integer() for w in weights) and all(
                    c.value is None or float(c.value).is_integer() for s in scales for c in s.categories)  # type: ignore[union-attr]
            else:  # mean
                lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
                integer = False
        # prorated scores can fall between whole numbers
        if score.missing.rule == "prorate":
            integer = False
        raw = (float(lo), float(hi), integer)
    if score.transform is not None and score.transform.table:
        values = list(score.transform.table.values())
        return (min(values), max(values), all(float(v).is_integer() for v in values))
    return raw


def _band_problems(inst: Instrument, score: Score, base: tuple) -> list[tuple[tuple, str]]:
    problems: list[tuple[tuple, str]] = []
    lo, hi, integer = _score_range(inst, score)
    if not score.bands or math.isnan(lo):
        return problems
    step = 1 if integer else 0
    bands = score.bands
    for i, band in enumerate(bands):
        where = (*base, "bands", i)
        if band.max is not None and band.max < band.min:
            problems.append((where, f"band '{band.code}' ends ({band.max:g}) before it starts ({band.min:g})"))
        if band.min < lo or band.min > hi:
            problems.append((where, f"band '{band.code}' starts at {band.min:g}, outside the score's range {lo:g} to {hi:g} "
                             + (f"(start it at {lo:g})" if i == 0 else f"(start it between {lo:g} and {hi:g}, or remove it)")))
        if band.max is not None and band.max > hi:
            problems.append((where, f"band '{band.code}' ends at {band.max:g}, beyond the score's maximum {hi:g} (end it at {hi:g} or leave max empty)"))
    first = bands[0]
    if first.min > lo:
        problems.append(((*base, "bands", 0), f"band '{first.code}' starts at {first.min:g} but the score can be as low as {lo:g}; no band covers {lo:g} (start the first band at {lo:g})"))
    for i in range(1, len(bands)):
        prev, cur = bands[i - 1], bands[i]
        where = (*base, "bands", i)
        if prev.max is None:
            problems.append(((*base, "bands", i - 1), f"only the last band may leave max empty, but '{prev.code}' does (give it a max)"))
            continue
        expected = prev.max + step
        if cur.min > expected:
            problems.append((where, f"band '{cur.code}' starts at {cur.min:g} but '{prev.code}' ends at {prev.max:g}; "
                             f"bands must meet (set '{prev.code}' to end at {cur.min - step:g} or '{cur.code}' to start at {expected:g})"))
        elif cur.min < expected:
            problems.append((where, f"band '{cur.code}' starts at {cur.min:g} but '{prev.code}' ends at {prev.max:g}, so they overlap "
                             f"(start '{cur.code}' at {expected:g} or end '{prev.code}' at {cur.min - step:g})"))
    last = bands[-1]
    if last.max is not None and last.max < hi:
        problems.append(((*base, "bands", len(bands) - 1), f"band '{last.code}' ends at {last.max:g} but the score can reach {hi:g} (end it at {hi:g} or leave max empty)"))
    codes = [b.code.casefold() for b in bands]
    for code, n in Counter(codes).items():
        if n > 1:
            problems.append(((*base, "bands"), f"band code '{code}' is used {n} times"))
    return problems


def _condition_problems(inst: Instrument, cond: Condition, where: tuple, items_by_id: dict[str, Item],
                        section_ids: set[str], score_ids: set[str]) -> list[tuple[tuple, str]]:
    problems: list[tuple[tuple, str]] = []
    for c in cond.walk():
        if c.item is not None:
            item = items_by_id.get(c.item)
            if item is None:
                problems.append((where, _unknown("item", c.item, items_by_id) + " (overrides and routing may only name declared items)"))
                continue
            scale = inst.response_scales.get(item.scale)
            if scale is not None:
                allowed = {x.casefold() for x in scale.codes + scale.missing_codes}
                for code in c.in_ or ():
                    if str(code).casefold() not in allowed:
                        problems.append((where, f"'{code}' is not a response of item '{c.item}' (allowed: {', '.join(scale.codes + scale.missing_codes)})"))
        if c.section is not None:
            if c.section not in section_ids:
                problems.append((where, _unknown("section", c.section, sorted(section_ids))))
            else:
                allowed = set()
                for item in inst.items:
                    if item.section == c.section and item.scale in inst.response_scales:
                        sc = inst.response_scales[item.scale]
                        allowed |= {x.casefold() for x in sc.codes + sc.missing_codes}
                for code in c.in_ or ():
                    if str(code).casefold() not in allowed:
                        problems.append((where, f"'{code}' is not a response of any item in section '{c.section}'"))
        if c.field is not None and c.field not in inst.context:
            problems.append((where, _unknown("context field", c.field, inst.context) + " (declare it under `context`)"))
        if c.score is not None and c.score not in score_ids:
            problems.append((where, _unknown("score", c.score, sorted(score_ids))))
    return problems


def cross_check(inst: Instrument) -> list[tuple[tuple[str | int, ...], str]]:
    """Every problem relating one part of a definition to another, with its field path.

    Paths name list elements by their id where they have one
    (``scores.total.bands[2]``), else by position.
    """
    problems: list[tuple[tuple, str]] = []

    def dupes(kind: str, ids: list[str], field: str) -> None:
        for name, n in Counter(ids).items():
            if n > 1:
                problems.append(((field, name), f"{kind} id '{name}' is used {n} times; ids must be unique (rename one)"))

    dupes("item", [i.id for i in inst.items], "items")
    dupes("score", [s.id for s in inst.scores], "scores")
    dupes("section", [s.id for s in inst.sections], "sections")
    code_ids = [code.id for _, code in inst.all_codes()]
    dupes("code", code_ids, "codes")

    if inst.age_range is not None and inst.age_range[0] > inst.age_range[1]:
        problems.append((("age_range",), "age_range must be (youngest, oldest)"))

    if inst.kind == "coding_scheme":
        if not inst.codes:
            problems.append((("codes",), "a coding scheme needs at least one code"))
        if inst.items or inst.scores:
            problems.append((("items",), "a coding scheme has codes, not items or scores (use another kind for a scale)"))
        return problems
    if inst.codes:
        problems.append((("codes",), f"codes belong to kind coding_scheme, not '{inst.kind}'"))
    if not inst.items:
        problems.append((("items",), "an instrument needs at least one item"))

    items_by_id = {i.id: i for i in inst.items}
    section_ids = {s.id for s in inst.sections}
    score_ids = {s.id for s in inst.scores}

    for item in inst.items:
        base = ("items", item.id)
        if item.scale not in inst.response_scales:
            problems.append(((*base, "scale"), _unknown("response scale", item.scale, inst.response_scales) + " (declare it under `response_scales`)"))
        if item.section is not None and item.section not in section_ids:
            problems.append(((*base, "section"), _unknown("section", item.section, sorted(section_ids))
                             + " (declare it under `sections`)"))
        if item.text is not None and not inst.licence.wording_may_ship:
            problems.append(((*base, "text"), "the licence says item wording may not ship (remove `text` or set licence.wording_may_ship after checking the licence)"))

    for section in inst.sections:
        if section.applies_when is not None:
            problems += _condition_problems(inst, section.applies_when, ("sections", section.id, "applies_when"),
                                            items_by_id, section_ids, score_ids)

    for score in inst.scores:
        base = ("scores", score.id)
        if score.items is not None and score.sections is not None:
            problems.append((base, "give `items` or `sections`, not both"))
        for name in score.items or ():
            if name not in items_by_id:
                problems.append(((*base, "items"), _unknown("item", name, items_by_id)))
        for name in score.sections or ():
            if name not in section_ids:
                problems.append(((*base, "sections"), _unknown("section", name, sorted(section_ids))))
        items = inst.score_items(score)
        if score.items is None and score.sections is not None and not items:
            problems.append(((*base, "sections"), "these sections contain no items"))
        scales = {i.id: inst.response_scales[i.scale] for i in items if i.scale in inst.response_scales}
        if score.method == "step":
            if not score.step:
                problems.append(((*base, "step"), "method 'step' needs `step: <registered scoring step name>`"))
            if score.range is None:
                problems.append(((*base, "range"), "a step score must declare its `range: [min, max]` so bands can be checked"))
        else:
            for field in ("step", "range", "integer"):
                if getattr(score, field) is not None:
                    problems.append(((*base, field), f"`{field}` only applies to method 'step'"))
            if score.params:
                problems.append(((*base, "params"), "`params` only apply to method 'step'"))
        if score.method == "weighted_count":
            if not score.counts:
                problems.append(((*base, "counts"), "a weighted_count needs `counts: [codes that earn points]`, e.g. [yes]"))
            else:
                for item_id, scale in scales.items():
                    bad = [c for c in score.counts if c.casefold() not in {x.casefold() for x in scale.codes}]
                    if bad:
                        problems.append(((*base, "counts"), f"'{bad[0]}' is not a category of item '{item_id}' (categories: {', '.join(scale.codes)}; missing codes never earn points)"))
                        break
        elif score.counts is not None:
            problems.append(((*base, "counts"), "`counts` only applies to method 'weighted_count'"))
        if score.method in ("sum", "mean"):
            for item_id, scale in scales.items():
                if not scale.numeric:
                    problems.append(((*base, "method"), f"a {score.method} needs numeric category values, but item '{item_id}' has a scale without them (give each category a `value`)"))
                    break
        if score.missing.rule == "lower_bound" and score.method != "weighted_count":
            problems.append(((*base, "missing", "rule"), "lower_bound applies to weighted counts only (use complete or prorate)"))
        if score.missing.rule == "available" and score.method not in ("mean", "step"):
            problems.append(((*base, "missing", "rule"), f"available would count unanswered items as 0 in a {score.method} "
                             "(use prorate, or lower_bound for a weighted count)"))
        if score.missing.rule == "prorate" and score.method == "step":
            problems.append(((*base, "missing", "rule"), "a scoring step cannot be scaled up (use available: the step scores the answered items)"))
        if score.missing.min_answered is not None and items and score.missing.min_answered > len(items):
            problems.append(((*base, "missing", "min_answered"), f"min_answered is {score.missing.min_answered} but the score has only {len(items)} items"))
        if score.transform is not None:
            lo, hi, integer = _score_range(inst, score.model_copy(update={"transform": None}))
            if not integer:
                problems.append(((*base, "transform"), "a lookup transform needs a whole-number raw score (use rule complete, not prorate)"))
            elif not math.isnan(lo):
                missing = [r for r in range(int(lo), int(hi) + 1) if r not in score.transform.table]
                extra = [r for r in score.transform.table if r < lo or r > hi]
                if missing:
                    problems.append(((*base, "transform", "table"), f"no entry for raw score(s) {', '.join(map(str, missing[:10]))}; the table must cover {lo:g} to {hi:g}"))
                if extra:
                    problems.append(((*base, "transform", "table"), f"entries for raw score(s) {', '.join(map(str, extra[:10]))} outside the raw range {lo:g} to {hi:g}"))
        problems += _band_problems(inst, score, base)
        band_codes = {b.code.casefold() for b in score.bands}
        for override in score.overrides:
            where = (*base, "overrides", override.id)
            if not score.bands:
                problems.append((where, "overrides act on bands, but this score has none"))
            elif override.band.casefold() not in band_codes:
                problems.append(((*where, "band"), _unknown("band", override.band, [b.code for b in score.bands])))
            problems += _condition_problems(inst, override.when, (*where, "when"), items_by_id, section_ids, score_ids)
        dupes("override", [o.id for o in score.overrides], f"scores.{score.id}.overrides")

    for i, ev in enumerate(inst.evidence):
        if ev.score is not None and ev.score not in score_ids and ev.score not in {i.domain for i in inst.items}:
            problems.append((("evidence", i, "score"), _unknown("score", ev.score, sorted(score_ids))))
        if ev.ci is not None and not ev.ci[0] <= ev.value <= ev.ci[1]:
            problems.append((("evidence", i, "ci"), f"the interval {list(ev.ci)} does not contain the value {ev.value:g}"))
    return problems


Condition.model_rebuild()
Code.model_rebuild()
