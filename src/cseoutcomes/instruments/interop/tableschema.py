"""Frictionless Table Schema for an instrument's assessment table.

Specification: Table Schema v2 (https://datapackage.org/standard/table-schema/).
The schema describes the wide table :func:`cseoutcomes.validate` reads: one
row per assessment, with

- ``person_id`` (required), ``assessment_date`` (``date``), ``occasion``
  (integer from 0) and, where the instrument names informants, ``rater``;
- each context field (``number``, ``boolean`` or ``string``);
- each item, restricted to its categories (``categories`` with labels;
  ``categoriesOrdered`` true for ordinal scales), with its missing codes as
  the field's ``missingValues`` (with their labels), so other tools read
  them as missing and can keep why; ``integer`` where every category code is
  a whole number, else ``string``;
- the months-since column of each item with recency windows (number, 0 or
  more).

``fieldsMatch`` is ``subset``: a table may hold more columns (worker,
service), but must hold these. The loss report names what a schema cannot
say: scores, bands and overrides, weights and recency windows, routing,
category values used in scoring, missing-code meanings, and that
cseoutcomes matches codes without regard to case (Table Schema does not).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cseoutcomes.instruments.interop._loss import Collector, Exported
from cseoutcomes.instruments.schema import Instrument, ResponseScale

__all__ = ["PROFILE", "to_table_schema"]

PROFILE = "https://datapackage.org/profiles/2.0/tableschema.json"
_INT = re.compile(r"^(0|-?[1-9]\d*)$")


def _categories(scale: ResponseScale, as_int: bool) -> tuple[list[Any], bool]:
    """Category descriptors; False when labels repeat (labels must be unique), so they are left out."""
    labels = [c.label for c in scale.categories if c.label is not None]
    unique_labels = len(labels) == len(set(labels))
    out: list[Any] = []
    for c in scale.categories:
        value: Any = int(c.code) if as_int else c.code
        entry: dict[str, Any] = {"value": value}
        if c.label is not None and unique_labels:
            entry["label"] = c.label
        out.append(entry)
    return out, unique_labels


def to_table_schema(instrument: Instrument | str, path: str | Path | None = None) -> Exported:
    """A Frictionless Table Schema (v2) for the instrument's assessment table.

    Returns ``(schema dict, losses)``; with ``path``, the schema is also
    written there as JSON and the path is returned in place of the dict.
    """
    from cseoutcomes.instruments.scoring import _resolve_instrument

    inst = _resolve_instrument(instrument)
    col = Collector("cseoutcomes -> Frictionless Table Schema")
    fields: list[dict[str, Any]] = [
        {"name": "person_id", "type": "string", "title": "Young person",
         "description": "Pseudonym or case number; never a name.", "constraints": {"required": True}},
        {"name": "assessment_date", "type": "date", "title": "Date of the assessment"},
        {"name": "occasion", "type": "integer", "title": "Assessment number",
         "description": "0 for the referral or baseline assessment, then 1, 2, ... for reviews.",
         "constraints": {"minimum": 0}},
    ]
    if inst.informants:
        fields.append({"name": "rater", "type": "string", "title": "Who rated",
                       "description": "One of: " + ", ".join(inst.informants) + "."})
    names = {f["name"] for f in fields}
    for name, ctx in inst.context.items():
        if name in names:
            col.lose(f"context:{name}", "name", f"a column named '{name}' is already described; field names must be "
                     "unique")
            continue
        field: dict[str, Any] = {"name": name, "type": {"number": "number", "boolean": "boolean"}.get(ctx.type,
                                                                                                     "string")}
        if ctx.label:
            field["title"] = ctx.label
        if ctx.unit:
            field["description"] = f"In {ctx.unit}."
        fields.append(field)
        names.add(name)
    for item in inst.items:
        if item.id in names:
            col.lose(item.id, "id", f"a column named '{item.id}' is already described; field names must be unique")
            continue
        scale = inst.scale_of(item)
        as_int = all(_INT.match(c.code) for c in scale.categories)
        cats, labels_kept = _categories(scale, as_int)
        field = {"name": item.id, "type": "integer" if as_int else "string", "title": item.label, "categories": cats}
        if scale.type == "ordinal":
            field["categoriesOrdered"] = True
        elif scale.type == "nominal":
            field["categoriesOrdered"] = False
        description = " ".join(x for x in (item.text, item.description) if x)
        if description:
            field["description"] = description
        field["missingValues"] = [{"value": "", "label": "blank (not answered)"}] + [
            {"value": m.code, **({"label": m.label} if m.label else {})} for m in scale.missing]
        fields.append(field)
        names.add(item.id)
        if not labels_kept:
            col.lose(f"scale:{item.scale}", "categories", "two categories share a label, and Table Schema labels "
                     "must be unique: the labels are left out")
        if item.recency is not None:
            rname = item.id + item.recency.column_suffix
            if rname not in names:
                fields.append({"name": rname, "type": "number", "title": f"{item.label}: months since last present",
                               "description": "Blank means present now.", "constraints": {"minimum": 0}})
                names.add(rname)
    schema: dict[str, Any] = {"$schema": PROFILE, "name": inst.id, "title": inst.title, "version": inst.version}
    if inst.description:
        schema["description"] = inst.description
    schema.update({"fields": fields, "fieldsMatch": "subset", "missingValues": [""]})
    _losses(inst, col)
    if path is None:
        return Exported(schema, col.report())
    from cseoutcomes.data.io import write_text

    return Exported(write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", path), col.report())


def _losses(inst: Instrument, col: Collector) -> None:
    for key in ("citation", "licence"):
        col.lose("instrument", key, "a Table Schema describes columns; put sources and the licence in the data "
                 "package's resource or package descriptor")
    if inst.kind:
        col.lose("instrument", "kind", "a Table Schema has no place for it")
    for key in ("age_range", "evidence", "notes", "codes"):
        if getattr(inst, key):
            col.lose("instrument", key, "a Table Schema has no place for it")
    for name, ctx in inst.context.items():
        if ctx.type == "category":
            col.lose(f"context:{name}", "type", "written as free text: the context field declares no categories")
    col.note("Table Schema compares values exactly: cseoutcomes also accepts other case, surrounding spaces and "
             "'2.0' for code '2', which a Table Schema validator rejects")
    for name, scale in inst.response_scales.items():
        if scale.missing:
            col.lose(f"scale:{name}", "missing", "missing codes are written as the field's missingValues with their "
                     "labels; their meanings (unknown, declined...) are not")
        if any(c.value is not None and not (_INT.match(c.code) and float(c.code) == c.value) for c in scale.categories):
            col.lose(f"scale:{name}", "categories", "the numeric values used in scoring differ from the codes and are "
                     "not written")
    for item in inst.items:
        if item.weight != 1:
            col.lose(item.id, "weight", "a Table Schema has no place for scoring weights")
        if item.reverse:
            col.lose(item.id, "reverse", "a Table Schema has no place for reverse keying")
        if item.recency is not None:
            col.lose(item.id, "recency", "only the months-since column is described; the windows and points are not")
        for key in ("domain", "tag"):
            if getattr(item, key) is not None:
                col.lose(item.id, key, "a Table Schema has no place for it")
    for s in inst.sections:
        col.lose(f"section:{s.id}", "section", "a Table Schema has no sections" + (
            "; routing (blank where a section is skipped) is not expressible" if s.applies_when else ""))
    for s in inst.scores:
        col.lose(f"score:{s.id}", "score", "scores, bands and overrides are computed from the table, not columns of it")
