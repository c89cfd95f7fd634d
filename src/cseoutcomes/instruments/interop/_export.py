"""Loss bookkeeping the exporters share: what a format carries natively and what it drops.

Each exporter predicts what the matching importer will read back from what it
wrote (often by running the importer's own parser on the written text), and
reports every difference against the definition, element by element, with the
definition's own field name as ``what``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cseoutcomes.instruments.interop._common import (
    DEFAULT_KIND,
    NAME,
    canonical_scale,
    scale_dict,
    to_name,
    unique,
)
from cseoutcomes.instruments.interop._loss import Collector
from cseoutcomes.instruments.schema import Instrument

_INSTRUMENT_EXTRAS = ("age_range", "informants", "evidence", "notes", "codes")


def instrument_losses(inst: Instrument, col: Collector, fmt: str, *, id_back: str, title_back: str | None,
                      version_back: str | None, description_back: str | None) -> None:
    """Instrument-level fields: identity, sources, licence and the rest."""
    if id_back != inst.id:
        col.lose("instrument", "id", f"{fmt} writes the id as '{id_back}'")
    if title_back != inst.title:
        col.lose("instrument", "title", f"{fmt} has no place for the title" if title_back is None else
                 f"{fmt} writes the title as '{title_back}'")
    if (version_back or "1.0.0") != inst.version:
        col.lose("instrument", "version", f"{fmt} has no place for a semantic version; reads back as 1.0.0"
                 if version_back is None else f"reads back as {version_back}")
    if description_back != inst.description:
        col.lose("instrument", "description", f"{fmt} has no place for it")
    if inst.kind != DEFAULT_KIND:
        col.lose("instrument", "kind", f"{fmt} does not say what kind of instrument it is; reads back as "
                 f"'{DEFAULT_KIND}'")
    col.lose("instrument", "citation", f"{fmt} has no place for sources; a placeholder is read back")
    col.lose("instrument", "licence", f"{fmt} has no place for the licence; reads back as unknown")
    for name in _INSTRUMENT_EXTRAS:
        if getattr(inst, name):
            col.lose("instrument", name, f"{fmt} has no place for it")


def item_losses(inst: Instrument, col: Collector, fmt: str, *, description: bool, names: dict[str, str],
                renamed: str) -> None:
    """Item fields every format drops (weights, recency, tags...), text shown in place of the label, and
    ids written under another name (``names``: id -> name written; ``renamed``: why, with ``{name}``)."""
    for item in inst.items:
        if names[item.id] != item.id:
            col.lose(item.id, "id", renamed.format(name=names[item.id]))
        if item.text is not None:
            col.lose(item.id, "text", f"{fmt} shows one wording per question: the item text is written there and "
                     "reads back as the label")
            if item.label != item.text:
                col.lose(item.id, "label", "the short label is not written (the item text is shown instead)")
        if item.description is not None and not description:
            col.lose(item.id, "description", f"{fmt} has no place for it")
        for name, why in (("domain", "no place for outcome domains"), ("tag", "no place for risk/harm tags")):
            if getattr(item, name) is not None:
                col.lose(item.id, name, f"{fmt} has {why}")
        if item.weight != 1:
            col.lose(item.id, "weight", f"{fmt} has no place for item weights")
        if item.reverse:
            col.lose(item.id, "reverse", f"{fmt} has no place for reverse keying")
        if item.recency is not None:
            col.lose(item.id, "recency", f"{fmt} has no place for recency windows; the months-since column is "
                     "written as a number question and reads back as a context field")


def context_losses(inst: Instrument, col: Collector, fmt: str, *, back_types: dict[str, str | None],
                   name_of: Callable[[str], str]) -> None:
    """``back_types``: the type each context type reads back as (None: not read back)."""
    for name, ctx in inst.context.items():
        back = back_types.get(ctx.type)
        if back is None:
            col.lose(f"context:{name}", "context", f"{fmt} has no question type that reads back as a {ctx.type} "
                     "context field")
            continue
        if back != ctx.type:
            col.lose(f"context:{name}", "type", f"written as a number question; reads back as a {back} field")
        if name_of(name) != name:
            col.lose(f"context:{name}", "name", f"{fmt} writes it as '{name_of(name)}'")
        if ctx.unit is not None:
            col.lose(f"context:{name}", "unit", f"{fmt} has no place for units")


def scale_losses(inst: Instrument, col: Collector, fmt: str, back: dict[str, dict[str, Any]],
                 *, name_hint: Callable[[str], str | None], item_back_id: Callable[[str], str]) -> dict[str, str]:
    """Compare each scale with what the importer reads back (``back[name]``); returns the names read back.

    ``name_hint(item id)`` is the list name the format writes for an item's choices (XLSForm list
    name, REDCap matrix group), or None.
    """
    used = {i.scale for i in inst.items}
    for name, scale in inst.response_scales.items():
        if name not in used:
            col.lose(f"scale:{name}", "scale", "no item uses it, so nothing is written for it")
            continue
        if scale.label is not None:
            col.lose(f"scale:{name}", "label", f"{fmt} choice lists have no label")
        orig, got = scale_dict(scale), canonical_scale(back[name])
        orig.pop("label", None)
        if got.get("type", "ordinal") != orig.get("type", "ordinal"):
            col.lose(f"scale:{name}", "type", f"reads back as {got.get('type', 'ordinal')} (the type is inferred from "
                     "the codes: two options make a binary scale; numeric codes rising in order an ordinal one)")
        for key, what in (("categories", "categories"), ("missing", "missing")):
            a, b = orig.get(key, []), got.get(key, [])
            if a != b:
                col.lose(f"scale:{name}", what, _describe_list_change(key, a, b, fmt))
    # names the importer gives
    registry: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for item in inst.items:
        if item.scale in names:
            continue
        wanted = canonical_scale(back[item.scale])
        found = next((n for n, s in registry.items() if s == wanted), None)
        if found is None:
            hint = name_hint(item.id)
            base = hint if hint and NAME.match(hint) else f"{item_back_id(item.id)}_choices"
            found = unique(to_name(base, "scale"), set(registry))
            registry[found] = wanted
        names[item.scale] = found
        if found != item.scale:
            col.lose(f"scale:{item.scale}", "name", f"reads back as '{found}' ({fmt} names a choice list by "
                     + ("its list name" if fmt == "XLSForm" else "a matrix group, or else by its first item") + ")")
    return names


def _describe_list_change(key: str, a: list[dict], b: list[dict], fmt: str) -> str:
    if [x["code"] for x in a] != [x["code"] for x in b]:
        moved = [x["code"] for x in a if x["code"] not in {y["code"] for y in b}]
        extra = [x["code"] for x in b if x["code"] not in {y["code"] for y in a}]
        parts = []
        if moved:
            parts.append(f"{', '.join(moved)} {'are' if len(moved) > 1 else 'is'} not read back as "
                         + ("categories" if key == "categories" else "missing codes"))
        if extra:
            parts.append(f"{', '.join(extra)} read back as " + ("categories" if key == "categories" else
                                                                 "missing codes"))
        if not parts:
            parts.append("the codes come back in another order")
        return "; ".join(parts) + (" (missing codes are told apart from categories by their labels)"
                                   if fmt != "FHIR" else "")
    for x, y in zip(a, b, strict=True):
        if x.get("label") != y.get("label"):
            return f"the label of '{x['code']}' does not read back as written"
        if x.get("value") != y.get("value"):
            return (f"the value of '{x['code']}' reads back as {y.get('value')} (values are read from numeric codes)"
                    if fmt != "FHIR" else f"the value of '{x['code']}' does not read back")
        if x.get("meaning") != y.get("meaning"):
            return f"the meaning of missing code '{x['code']}' reads back as {y.get('meaning')}"
    return "does not read back as written"


def section_run_losses(inst: Instrument, col: Collector, fmt: str) -> dict[str, str | None]:
    """Groups (XLSForm, FHIR): a section must be one run of items; returns each item's section read back."""
    back: dict[str, str | None] = {}
    seen: set[str] = set()
    current: str | None = None
    for item in inst.items:
        if item.section != current:
            if item.section is not None and item.section in seen:
                back[item.id] = current = None
                col.lose(item.id, "section", f"its section '{item.section}' is interrupted by other items; {fmt} "
                         "groups must be one run, so this item is written outside it")
                continue
            current = item.section
            if current is not None:
                seen.add(current)
        back[item.id] = item.section
    order = [s for s in dict.fromkeys(i.section for i in inst.items if back.get(i.id)) if s is not None]
    declared = [s.id for s in inst.sections if s.id in order]
    if order != declared:
        for sid in declared:
            col.lose(f"section:{sid}", "order",
                     f"sections are read back in the order their items come ({', '.join(order)})")
    for s in inst.sections:
        if s.id not in seen:
            col.lose(f"section:{s.id}", "section", f"it has no items, and {fmt} has no empty groups")
        elif s.description is not None:
            col.lose(f"section:{s.id}", "description", f"{fmt} groups have no description")
    return back


def metadata_note(native: Collector, col: Collector, fmt: str) -> None:
    """With metadata on, what the format cannot hold travels in it: say what, once."""
    whats = sorted({loss.what for loss in native.losses})
    if whats:
        col.note(f"carried only in the cseoutcomes metadata ({fmt} itself ignores it): {', '.join(whats)}")
