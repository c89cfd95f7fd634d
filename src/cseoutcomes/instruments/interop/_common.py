"""Machinery the format converters share.

- one-line errors that name the file, row and column;
- cseoutcomes metadata (the definition's own fields, as JSON) carried in a
  format's free-text places, so round trips lose nothing the format can hold;
- reading a choice list as a response scale (numeric codes become values,
  labels such as "Don't know" or "Refused" mark missing codes);
- :func:`build`, which turns what an importer read into a valid
  :class:`~cseoutcomes.Instrument` and reports what it could not carry.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cseoutcomes.errors import DefinitionError
from cseoutcomes.instruments.conditions import Condition
from cseoutcomes.instruments.interop._loss import Collector
from cseoutcomes.instruments.schema import Instrument, Item, ResponseScale

#: longest piece of metadata written into one spreadsheet cell (Excel holds 32,767 characters)
META_LIMIT = 30_000
#: the kind imported definitions get unless one is given
DEFAULT_KIND = "questionnaire"
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
NUMERIC = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_CHUNK = re.compile(r"^~(\d+)/(\d+)~")


# ---------------------------------------------------------------------------
# errors


def file_error(source: Any, message: str, *, row: int | None = None, column: str | None = None,
               hint: str | None = None, exit_code: int = 1) -> DefinitionError:
    """A :class:`DefinitionError` whose one line names the file, row and column."""
    where = str(source)
    if row is not None:
        where += f": row {row}"
    if column is not None:
        where += f", column '{column}'" if row is not None else f": column '{column}'"
    err = DefinitionError([f"{where}: {message}" + (f" ({hint})" if hint else "")], source=str(source))
    err.exit_code = exit_code
    return err


def read_text(path: Path, what: str) -> str:
    """A text file as UTF-8 (a byte-order mark is dropped); one-line errors for unreadable files."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise file_error(path, "no such file", hint="check the path", exit_code=2) from None
    except IsADirectoryError:
        raise file_error(path, "is a folder, not a file", hint=f"give the {what} file", exit_code=2) from None
    except OSError as exc:
        raise file_error(path, f"cannot be read ({type(exc).__name__})", exit_code=2) from None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if data[:4] == b"PK\x03\x04":
            raise file_error(path, f"is a zip or Excel file, not a {what}", hint="save it as CSV (UTF-8)",
                             exit_code=2) from None
        return data.decode("cp1252", errors="replace")


# ---------------------------------------------------------------------------
# cseoutcomes metadata


def pack(obj: Any) -> list[str]:
    """JSON for a metadata place: one piece, or numbered pieces ``~1/3~...`` when too long for a cell."""
    text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"))
    if len(text) <= META_LIMIT:
        return [text]
    size = META_LIMIT - 20
    pieces = [text[i:i + size] for i in range(0, len(text), size)]
    return [f"~{n}/{len(pieces)}~{piece}" for n, piece in enumerate(pieces, 1)]


def unpack(pieces: list[tuple[str, str]], source: Any) -> dict[str, Any]:
    """Join and parse metadata pieces ``(text, where)``; a one-line error if they are damaged."""
    hint = "export it again from cseoutcomes, or delete the cseoutcomes metadata to import without it"
    if len(pieces) == 1 and not _CHUNK.match(pieces[0][0]):
        text, where = pieces[0]
    else:
        numbered = []
        for text, where in pieces:
            m = _CHUNK.match(text)
            if not m:
                raise file_error(source, f"{where}: a piece of the cseoutcomes metadata has no number", hint=hint)
            numbered.append((int(m.group(1)), int(m.group(2)), text[m.end():]))
        numbered.sort()
        total = numbered[0][1]
        if [n for n, _, _ in numbered] != list(range(1, total + 1)):
            raise file_error(source, f"{pieces[0][1]}: pieces of the cseoutcomes metadata are missing "
                             f"(found {len(numbered)} of {total})", hint=hint)
        text, where = "".join(t for _, _, t in numbered), pieces[0][1]
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise file_error(source, f"{where}: the cseoutcomes metadata is not valid JSON ({exc.msg} at "
                         f"character {exc.pos + 1})", hint=hint) from None
    if not isinstance(obj, dict):
        raise file_error(source, f"{where}: the cseoutcomes metadata is not a JSON object", hint=hint)
    return obj


def decode_object(text: str, start: int, source: Any, where: str) -> dict[str, Any]:
    """The JSON object that starts at ``text[start]`` (text may follow it)."""
    try:
        obj, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise file_error(source, f"{where}: the cseoutcomes metadata is not valid JSON ({exc.msg})",
                         hint="export it again from cseoutcomes, or delete the metadata") from None
    if not isinstance(obj, dict):
        raise file_error(source, f"{where}: the cseoutcomes metadata is not a JSON object")
    return obj


def instrument_meta(inst: Instrument) -> dict[str, Any]:
    """Every field of the definition except its items (each item carries its own)."""
    data = inst.to_dict()
    data.pop("items", None)
    return data


def item_meta(item: Item) -> dict[str, Any]:
    return item.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)


def meta_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"))


# ---------------------------------------------------------------------------
# names


def to_name(text: str, fallback: str = "item", limit: int = 80) -> str:
    """A valid item, section or score id (letters, digits and '_', starting with a letter)."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", str(text)).lstrip("_")
    if not name or not name[0].isalpha():
        name = f"{fallback}_{name}" if name else fallback
    return name[:limit]


def to_slug(text: str, fallback: str = "imported") -> str:
    """A valid instrument id (lower case, digits, '-' and '_')."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", str(text).casefold()).lstrip("-_")
    return (slug or fallback)[:80]


def unique(name: str, taken: set[str], *, fold: bool = False, limit: int = 80) -> str:
    key = (lambda s: s.casefold()) if fold else (lambda s: s)
    out, n = name, 2
    while key(out) in {key(t) for t in taken}:
        suffix = f"_{n}"
        out = name[: limit - len(suffix)] + suffix
        n += 1
    taken.add(out)
    return out


def export_names(inst: Instrument) -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str],
                                                set[str]]:
    """Unique names for an export, in one namespace: context fields, items, sections, recency columns.

    Returns ``(context, items, sections, recency, taken)``, each a map from the definition's id to
    the name written; ``taken`` holds every name given, for more.
    """
    taken: set[str] = set()
    context = {n: unique(n, taken) for n in inst.context}
    items = {i.id: unique(i.id, taken) for i in inst.items}
    sections = {s.id: unique(s.id, taken) for s in inst.sections}
    recency = {i.id: unique(items[i.id] + i.recency.column_suffix, taken) for i in inst.items if i.recency}
    return context, items, sections, recency, taken


def map_items(cond: Condition, change: Callable[[dict[str, Any]], None]) -> Condition:
    """A copy of ``cond`` with ``change`` applied to every item test (a dict with ``item`` and ``in``)."""
    data = cond.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "item" in node:
                change(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    return Condition.model_validate(data)


def strip_html(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()


# ---------------------------------------------------------------------------
# choice lists and response scales


@dataclass(frozen=True)
class Choice:
    """One option as a format writes it."""

    code: str
    label: str | None = None
    weight: float | None = None
    missing: str | None = None  # a missing-code meaning the format states (FHIR data-absent-reason)


_MISSING_LABELS: tuple[tuple[str, re.Pattern], ...] = tuple((meaning, re.compile(rx, re.I)) for meaning, rx in (
    ("declined", r"\b(refus\w*|declin\w*|prefers? not|preferred not|rather not|chose not|choose not|"
                 r"did not want to (say|answer)|no (desea|quiere) responder)\b"),
    ("not_applicable", r"(^\s*n\s*/\s*a\s*$|^\s*na\s*$|\bnot applicable\b|\bdoes not apply\b|\bdoesn'?t apply\b|"
                       r"\bno aplica\b)"),
    ("not_asked", r"\b(not asked|not assessed|not administered|not collected|skipped)\b"),
    ("not_known_yet", r"\b(not (yet )?known yet|to be confirmed|tbc|pending|awaiting)\b"),
    ("unknown", r"(\bdon'?t know\b|\bdo not know\b|^\s*dk\s*$|\bunknown\b|\bnot known\b|^\s*missing\s*$|"
                r"\bno answer\b|\bnot answered\b|\bno response\b|\bnot recorded\b|\bno sabe\b)"),
))
_MISSING_CODES = {
    "unknown": "unknown", "unk": "unknown", "dk": "unknown", "dont_know": "unknown", "not_known": "unknown",
    "asku": "unknown", "ni": "unknown", "nav": "unknown", "navu": "unknown", "missing": "unknown",
    "refused": "declined", "declined": "declined", "ref": "declined", "msk": "declined",
    "not_applicable": "not_applicable", "na": "not_applicable", "n_a": "not_applicable",
    "not_asked": "not_asked", "nask": "not_asked",
    "not_known_yet": "not_known_yet", "tbc": "not_known_yet",
}


def classify_missing(code: str, label: str | None) -> str | None:
    """The missing-code meaning a choice's label (or word code) shows, or None for a real category."""
    if label:
        text = strip_html(label)
        for meaning, rx in _MISSING_LABELS:
            if rx.search(text):
                return meaning
    return _MISSING_CODES.get(code.strip().casefold())


def clean_label(label: str | None, code: str) -> str | None:
    """A choice label as read: blank, or the code repeated, means no label."""
    if label is None or not label.strip() or label.strip() == code:
        return None
    return label


@dataclass
class ScaleGuess:
    scale: dict[str, Any]
    guessed_missing: list[tuple[str, str]] = field(default_factory=list)  # (code, meaning) from labels
    kept_as_categories: list[str] = field(default_factory=list)


def infer_scale(choices: list[Choice], *, values: str = "codes", heuristics: bool = True) -> ScaleGuess:
    """Read a choice list as a response scale dict (see the module docstring)."""
    cats: list[Choice] = []
    miss: list[tuple[Choice, str]] = []
    guessed: list[tuple[str, str]] = []
    for ch in choices:
        meaning = ch.missing or (classify_missing(ch.code, ch.label) if heuristics else None)
        if meaning:
            miss.append((ch, meaning))
            if not ch.missing:
                guessed.append((ch.code, meaning))
        else:
            cats.append(ch)
    kept: list[str] = []
    if len(cats) < 2 and miss:  # a scale needs two categories: the guesses were wrong
        kept = [c.code for c, _ in miss if not c.missing]
        cats = [c for c in choices if not c.missing]
        miss = [(c, c.missing) for c in choices if c.missing]  # type: ignore[misc]
        guessed = []
    categories: list[dict[str, Any]] = []
    numeric = all(NUMERIC.match(c.code) for c in cats)
    for c in cats:
        entry: dict[str, Any] = {"code": c.code}
        if c.label is not None:
            entry["label"] = c.label
        value = c.weight if values == "weights" else (float(c.code) if numeric else None)
        if value is not None:
            entry["value"] = value
        categories.append(entry)
    vals = [c.get("value") for c in categories]
    if len(categories) == 2:
        kind = "binary"
    elif all(v is not None for v in vals) and all(b > a for a, b in itertools.pairwise(vals)):
        kind = "ordinal"
    else:
        kind = "nominal"
    scale: dict[str, Any] = {"type": kind, "categories": categories}
    if miss:
        scale["missing"] = [{"code": c.code, **({"label": c.label} if c.label is not None else {}), "meaning": m}
                            for c, m in miss]
    return ScaleGuess(scale, guessed, kept)


def scale_dict(scale: ResponseScale) -> dict[str, Any]:
    return scale.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)


def canonical_scale(scale: dict[str, Any]) -> dict[str, Any]:
    """A scale dict with defaults filled in, for comparing two scales."""
    return scale_dict(ResponseScale.model_validate(scale))


def written_choices(scale: ResponseScale, *, label_for_none: str = "code", missing: str = "choices",
                    weights: bool = False) -> list[Choice]:
    """The options an exporter writes for a scale (``missing='dar'`` marks missing codes for FHIR)."""
    out: list[Choice] = []
    for c in scale.categories:
        label = c.label if c.label is not None else (c.code if label_for_none == "code" else None)
        out.append(Choice(c.code, label, c.value if weights else None))
    for m in scale.missing:
        label = m.label if m.label is not None else (m.code if label_for_none == "code" else None)
        out.append(Choice(m.code, label, None, m.meaning if missing == "dar" else None))
    return out


# ---------------------------------------------------------------------------
# what an importer read, and the builder


@dataclass
class NItem:
    id: str
    label: str
    where: str
    choices: list[Choice] | None = None
    scale: dict[str, Any] | None = None       # a fixed scale (yes/no, slider)
    scale_name: str | None = None             # a name the format gives the list (list_name, matrix group)
    values: str = "codes"                     # codes: numeric codes are values; weights: Choice.weight
    heuristics: bool = True                   # read "Don't know"-like labels as missing codes
    description: str | None = None
    section: str | None = None
    logic: Condition | None = None
    logic_text: str | None = None             # routing that could not become a condition
    logic_why: str | None = None
    meta: dict[str, Any] | None = None


@dataclass
class NSection:
    id: str
    label: str
    logic: Condition | None = None
    logic_text: str | None = None
    logic_why: str | None = None
    meta: dict[str, Any] | None = None


@dataclass
class NContext:
    name: str
    type: str
    label: str | None = None


@dataclass
class NScore:
    id: str
    label: str
    method: str
    items: list[str]
    missing: dict[str, Any] | None = None


@dataclass
class Native:
    fmt: str                      # "REDCap data dictionary"
    source: str                   # file name for messages
    id: str | None = None
    title: str | None = None
    version: str | None = None
    description: str | None = None
    items: list[NItem] = field(default_factory=list)
    sections: list[NSection] = field(default_factory=list)
    context: list[NContext] = field(default_factory=list)
    scores: list[NScore] = field(default_factory=list)
    inst_meta: dict[str, Any] | None = None
    carries_description: bool = True    # whether items' descriptions are native (REDCap Field Note, XLSForm hint)
    expected_choices: Any = None          # scale -> the choices the exporter writes for it (edit detection)
    licence_notice: str | None = None     # a copyright statement the format carries (FHIR)
    section_logic_on_items: bool = False  # REDCap: a section's routing is repeated on each of its items


def article(word: str) -> str:
    return f"an {word}" if word[:1].upper() in "AEIOUX" and not word.startswith("U") else f"a {word}"


def default_identity(native: Native, *, kind: str) -> dict[str, Any]:
    name = Path(native.source).name
    return {
        "id": native.id or "imported",
        "version": native.version or "1.0.0",
        "title": native.title or native.id or "Imported instrument",
        "kind": kind,
        **({"description": native.description} if native.description else {}),
        "citation": [{"text": f"Converted by cseoutcomes from the {native.fmt} '{name}'; replace this with the "
                              "instrument's published source."}],
        "licence": {"name": "unknown", "wording_may_ship": False,
                    **({"notice": native.licence_notice} if native.licence_notice else {}),
                    "note": f"Imported from {article(native.fmt)}: check who owns the item wording and under what "
                            "licence before sharing this definition."},
    }


def build(native: Native, col: Collector, *, kind: str | None = None, identity: dict[str, Any] | None = None
          ) -> Instrument:
    """Turn what an importer read into an instrument; losses go to ``col``."""
    from cseoutcomes.instruments.loading import instrument_from_dict

    meta = copy.deepcopy(native.inst_meta) if native.inst_meta is not None else None
    if meta is not None:
        data = meta
        col.note(f"cseoutcomes metadata found: the definition is restored from it, with edits made in the "
                 f"{native.fmt} applied where they differ")
    else:
        data = default_identity(native, kind=kind or DEFAULT_KIND)
        for what in ("citation", "licence"):
            col.lose("instrument", what, f"{article(native.fmt)} has no place for it; a placeholder was written")
        if kind is None:
            col.lose("instrument", "kind", f"{article(native.fmt)} does not say what kind of instrument it is; "
                     f"set to '{DEFAULT_KIND}' (give --kind or kind= to choose)")
    for key, value in (identity or {}).items():
        if value is not None:
            data[key] = value
    scales: dict[str, dict[str, Any]] = data.setdefault("response_scales", {})
    sections: list[dict[str, Any]] = data.setdefault("sections", [])
    section_ids = {s["id"] for s in sections}
    context: dict[str, Any] = data.setdefault("context", {})
    for ctx in native.context:
        if ctx.name not in context:
            context[ctx.name] = {"type": ctx.type, **({"label": ctx.label} if ctx.label else {})}
    # native sections (in order of appearance); routing attached below
    native_sections = {s.id: s for s in native.sections}
    if meta is not None:  # an item added in the other tool under a known section's header joins that section
        by_label = {s["label"]: s["id"] for s in sections}
        for n in native.items:
            ns = native_sections.get(n.section) if n.section is not None else None
            if n.meta is None and ns is not None and ns.label in by_label:
                n.section = by_label[ns.label]
    # with metadata, a native section is added only for an item added in the other tool
    wanted = ({s.id for s in native.sections} if meta is None else
              {n.section for n in native.items if n.meta is None and n.section is not None})
    for s in native.sections:
        if s.id in wanted and s.id not in section_ids:
            sections.append({"id": s.id, "label": s.label})
            section_ids.add(s.id)
    items: list[dict[str, Any]] = []
    routing_kept: list[str] = []
    for n in native.items:
        if n.meta is not None:
            items.append(_item_from_meta(n, native, scales, col))
            continue
        scale_name = _native_scale(n, scales, col, native)
        item: dict[str, Any] = {"id": n.id, "label": n.label, "scale": scale_name}
        if n.section is not None:
            item["section"] = n.section
        if n.description:
            item["description"] = n.description
        items.append(item)
    by_id = {i["id"]: i for i in items}
    # routing: per section, or repeated on every item of a section (REDCap)
    if meta is None:
        for s in sections:
            ns = native_sections.get(s["id"])
            members = [n for n in native.items if n.section == s["id"]]
            if ns is not None and ns.logic is not None:
                s["applies_when"] = ns.logic.model_dump(mode="json", by_alias=True, exclude_none=True,
                                                        exclude_defaults=True)
            elif ns is not None and ns.logic_text:
                routing_kept.append(f"section {s['id']} is asked only if: {ns.logic_text}")
                col.lose(f"section:{s['id']}", "routing", ns.logic_why or "it has no condition equivalent",
                         ns.logic_text)
            if native.section_logic_on_items and members and all(m.logic is not None for m in members) and all(
                    m.logic == members[0].logic for m in members):
                s["applies_when"] = members[0].logic.model_dump(  # type: ignore[union-attr]
                    mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
                for m in members:
                    m.logic = m.logic_text = None
        for n in native.items:
            if n.logic is not None:
                sec = next((s for s in sections if s["id"] == n.section), None)
                same = sec is not None and sec.get("applies_when") == n.logic.model_dump(
                    mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
                if not same:
                    text = n.logic_text or n.logic.describe()
                    routing_kept.append(f"{n.id} is asked only if: {text}")
                    col.lose(n.id, "routing", "cseoutcomes routes whole sections, not single items; the condition "
                             "is kept as text in the definition's notes", text)
            elif n.logic_text:
                routing_kept.append(f"{n.id} is asked only if: {n.logic_text}")
                col.lose(n.id, "routing", (n.logic_why or "it has no condition equivalent")
                         + "; kept as text in the definition's notes", n.logic_text)
    # scores read natively
    if meta is None:
        scores = data.setdefault("scores", [])
        for sc in native.scores:
            unknown = [i for i in sc.items if i not in by_id]
            if unknown:
                col.lose(f"score:{sc.id}", "score", f"it uses '{unknown[0]}', which is not an item of this "
                         "instrument; the score was left out")
                continue
            if sc.method in ("sum", "mean") and not all(
                    all("value" in c for c in scales[by_id[i]["scale"]]["categories"]) for i in sc.items):
                col.lose(f"score:{sc.id}", "score", f"a {sc.method} needs numeric values, but an item it uses has "
                         "codes that are not numbers; the score was left out")
                continue
            entry = {"id": sc.id, "label": sc.label, "method": sc.method}
            if [i["id"] for i in items] != sc.items:
                entry["items"] = list(sc.items)
            if sc.missing:
                entry["missing"] = sc.missing
            scores.append(entry)
    else:
        added = [n.id for n in native.items if n.meta is None]
        _prune_meta(data, by_id, col, [i["id"] for i in items if i["id"] not in added] if added else None)
    data["items"] = items
    if routing_kept:
        text = (f"Routing from the {native.fmt} that cseoutcomes conditions cannot express, kept as written: "
                + "; ".join(routing_kept) + ".")
        data["notes"] = f"{data['notes']}\n\n{text}" if data.get("notes") else text
    # drop empty containers so the definition reads as written
    for key in ("response_scales", "sections", "context", "scores"):
        if not data.get(key):
            data.pop(key, None)
    try:
        return instrument_from_dict(data, source=native.source)
    except DefinitionError as exc:
        first = exc.problems[0]
        more = len(exc.problems) - 1
        raise DefinitionError([f"{native.source}: the {native.fmt} does not make a valid instrument: {first}"
                               + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")],
                              source=native.source) from None


def _native_scale(n: NItem, scales: dict[str, dict[str, Any]], col: Collector, native: Native) -> str:
    if n.scale is not None:
        scale = n.scale
    else:
        guess = infer_scale(n.choices or [], values=n.values, heuristics=n.heuristics)
        scale = guess.scale
        for code, meaning in guess.guessed_missing:
            col.note(f"choice '{code}' read as a missing code ({meaning}) from its label")
        if guess.kept_as_categories:
            col.note(f"{n.id}: choices {', '.join(guess.kept_as_categories)} look like missing codes but were kept "
                     "as categories (a scale needs two categories)")
    if len(scale.get("categories", [])) < 2:
        raise file_error(native.source, f"{n.where}: '{n.id}' has fewer than two answer options",
                         hint="give it at least two, or remove it")
    codes = [c["code"].casefold() for c in scale["categories"]] + [m["code"].casefold()
                                                                     for m in scale.get("missing", [])]
    dup = next((c for c in codes if codes.count(c) > 1), None)
    if dup is not None:
        raise file_error(native.source, f"{n.where}: '{n.id}' lists the code '{dup}' twice (codes are compared "
                         "without regard to case)", hint="give each option its own code")
    try:
        wanted = canonical_scale(scale)
    except ValidationError as exc:
        msg = exc.errors(include_url=False)[0]["msg"].replace("Value error, ", "")
        raise file_error(native.source, f"{n.where}: the options of '{n.id}' do not make a response scale: "
                         f"{msg}") from None
    for name, existing in scales.items():
        if canonical_scale(existing) == wanted:
            return name
    base = n.scale_name if n.scale_name and NAME.match(n.scale_name) else f"{n.id}_choices"
    name = unique(to_name(base, "scale"), set(scales))
    scales[name] = scale
    return name


def _item_from_meta(n: NItem, native: Native, scales: dict[str, dict[str, Any]], col: Collector
                    ) -> dict[str, Any]:
    """An item from its metadata, with the edits made in the other tool (wording, description, options)."""
    item = dict(n.meta)  # type: ignore[arg-type]
    shown = item.get("text") or item.get("label")
    if n.label is not None and n.label != shown:
        item["text" if item.get("text") else "label"] = n.label
        col.note(f"{item['id']}: the wording was edited in the {native.fmt}; the edit is kept")
    if native.carries_description and (n.description or None) != item.get("description"):
        if n.description:
            item["description"] = n.description
        else:
            item.pop("description", None)
        col.note(f"{item['id']}: the description was edited in the {native.fmt}; the edit is kept")
    scale = scales.get(item.get("scale", ""))
    if n.choices is not None and scale is not None:
        sc = ResponseScale.model_validate(scale)
        expected = (native.expected_choices(sc) if native.expected_choices is not None else
                    written_choices(sc, label_for_none="code" if n.values == "codes" else "none",
                                    missing="dar" if n.values == "weights" else "choices",
                                    weights=n.values == "weights"))
        if [(c.code, clean_label(c.label, c.code)) for c in expected] != [
                (c.code, clean_label(c.label, c.code)) for c in n.choices]:
            n.scale_name = f"{item['scale']}_{item['id']}"
            item["scale"] = _native_scale(n, scales, col, native)
            col.note(f"{item['id']}: its options were edited in the {native.fmt}; its scale was rebuilt from them "
                     f"as '{item['scale']}'")
    return item


def _cond_items(cond: dict[str, Any]) -> Iterable[str]:
    c = Condition.model_validate(cond)
    return (x.item for x in c.walk() if x.item is not None)


def _prune_meta(data: dict[str, Any], by_id: dict[str, dict[str, Any]], col: Collector,
                kept_items: list[str] | None) -> None:
    """Metadata that names items no longer in the form: drop the parts that depend on them, and say so.

    ``kept_items``: where items were added in the other tool, the items the metadata knows; a score of
    "every item" keeps to those.
    """
    if kept_items is not None:
        for sc in data.get("scores", []):
            if sc.get("items") is None and sc.get("sections") is None and sc.get("method") != "step":
                sc["items"] = [i for i in kept_items]
                col.note(f"score {sc['id']}: items added in the other tool are not added to it")
    for s in data.get("sections", []):
        cond = s.get("applies_when")
        if cond and any(i not in by_id for i in _cond_items(cond)):
            s.pop("applies_when")
            col.lose(f"section:{s['id']}", "applies_when", "its routing names an item that is no longer in the form")
    kept = []
    for sc in data.get("scores", []):
        if sc.get("items") and any(i not in by_id for i in sc["items"]):
            col.lose(f"score:{sc['id']}", "score", "it uses an item that is no longer in the form; left out")
            continue
        overrides = []
        for o in sc.get("overrides", []):
            if any(i not in by_id for i in _cond_items(o["when"])):
                col.lose(f"score:{sc['id']}", "overrides", f"override '{o['id']}' names an item that is no longer "
                         "in the form; left out")
            else:
                overrides.append(o)
        if "overrides" in sc:
            sc["overrides"] = overrides
        kept.append(sc)
    if "scores" in data:
        data["scores"] = kept
