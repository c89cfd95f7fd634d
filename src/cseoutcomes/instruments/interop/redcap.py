"""REDCap data dictionaries (the 18-column CSV) and records exports.

Format: REDCap's data dictionary, one row per field, columns ``Variable /
Field Name``, ``Form Name``, ``Section Header``, ``Field Type``, ``Field
Label``, ``Choices, Calculations, OR Slider Labels`` (``code, label | code,
label``), ``Field Note``, ``Text Validation Type OR Show Slider Number``,
``Text Validation Min`` / ``Max``, ``Identifier?``, ``Branching Logic (Show
field only if...)``, ``Required Field?``, ``Custom Alignment``, ``Question
Number (surveys only)``, ``Matrix Group Name``, ``Matrix Ranking?`` and
``Field Annotation``. The API's snake-case headers (``field_name``,
``select_choices_or_calculations``...) and older 16- and 17-column files are
read too.

Mapping (instrument -> REDCap -> instrument):

- the instrument is one form (``Form Name`` = the id with ``-`` as ``_``),
  preceded by a ``record_id`` field, as a new project needs;
- an item is a ``radio`` field: its label (or its text, where it has one),
  its choices, its description as the ``Field Note``; on import ``radio``,
  ``dropdown``, ``yesno`` and ``slider`` fields are items, and each option of
  a ``checkbox`` field becomes a binary item ``<field>___<code>`` (the column
  REDCap exports for it);
- a section is a ``Section Header``; its routing is written as the
  ``Branching Logic`` of each of its items, and read back as the section's
  routing when all its items share it;
- a context field is a ``text`` field validated as ``number`` (number) or a
  ``truefalse`` field (boolean); categorical context fields have no
  equivalent;
- a ``sum`` score with rule ``complete`` is a ``calc`` field ``[a]+[b]+...``
  and a ``mean`` with rule ``available`` is ``mean([a],[b],...)`` (REDCap's
  ``mean()`` and ``sum()`` skip blanks); others are written as calc fields
  where REDCap can compute them, but read back only from the metadata;
- missing codes are written as choices; on import, choices whose labels say
  "Don't know", "Refused", "Not applicable"... (or codes such as ``UNK``) are
  read as missing codes, and ``missing_codes=`` adds a project's Missing Data
  Codes.

cseoutcomes metadata travels in ``Field Annotation``: ``@CSEOUTCOMES-ITEM=``
on each item, and the rest of the definition in a hidden descriptive field
(``@HIDDEN @CSEOUTCOMES-INSTRUMENT=``). With it, a round trip loses nothing;
edits made in REDCap to labels, notes and choices are kept on import.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cseoutcomes.errors import DataError
from cseoutcomes.instruments.conditions import Condition
from cseoutcomes.instruments.interop import _logic
from cseoutcomes.instruments.interop._common import (
    Choice,
    Native,
    NContext,
    NItem,
    NScore,
    NSection,
    build,
    clean_label,
    decode_object,
    file_error,
    infer_scale,
    instrument_meta,
    item_meta,
    map_items,
    meta_json,
    pack,
    read_text,
    strip_html,
    to_name,
    to_slug,
    unique,
    unpack,
    written_choices,
)
from cseoutcomes.instruments.interop._export import (
    context_losses,
    instrument_losses,
    item_losses,
    metadata_note,
    scale_losses,
)
from cseoutcomes.instruments.interop._loss import Collector, Exported, Imported
from cseoutcomes.instruments.schema import Instrument, Score

__all__ = ["HEADERS", "from_redcap", "read_redcap_records", "to_redcap"]

FMT = "REDCap data dictionary"

#: the 18 columns of a REDCap data dictionary, as REDCap writes them
HEADERS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)
_KEYS = ("name", "form", "section", "type", "label", "choices", "note", "validation", "vmin", "vmax",
         "identifier", "logic", "required", "align", "number", "matrix", "ranking", "annotation")
_ALIASES = {
    "name": ("variablefieldname", "fieldname", "variable", "variablename"),
    "form": ("formname", "form", "instrument", "instrumentname"),
    "section": ("sectionheader",),
    "type": ("fieldtype",),
    "label": ("fieldlabel",),
    "choices": ("choicescalculationsorsliderlabels", "choicesorcalculations", "selectchoicesorcalculations",
                "choices"),
    "note": ("fieldnote",),
    "validation": ("textvalidationtypeorshowslidernumber", "textvalidationtype", "textvalidation"),
    "vmin": ("textvalidationmin", "min"),
    "vmax": ("textvalidationmax", "max"),
    "identifier": ("identifier",),
    "logic": ("branchinglogicshowfieldonlyif", "branchinglogic"),
    "required": ("requiredfield", "required"),
    "align": ("customalignment",),
    "number": ("questionnumbersurveysonly", "questionnumber"),
    "matrix": ("matrixgroupname",),
    "ranking": ("matrixranking",),
    "annotation": ("fieldannotation",),
}
_REQUIRED = ("name", "form", "type", "label")
_TYPES = ("text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse", "calc", "file", "slider",
          "descriptive", "sql")
_NUMBER_VALIDATION = re.compile(r"^(integer|int|number|float|number_\d+dp(_comma_decimal)?|number_comma_decimal)$")
_DATE_VALIDATION = re.compile(r"^(date|datetime|datetime_seconds)_(ymd|dmy|mdy)$")
_CODE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
TAG_INSTRUMENT = "@CSEOUTCOMES-INSTRUMENT="
TAG_ITEM = "@CSEOUTCOMES-ITEM="
TAG_CONTEXT = "@CSEOUTCOMES-CONTEXT="
TAG_RECENCY = "@CSEOUTCOMES-RECENCY="
TAG_SCORE = "@CSEOUTCOMES-SCORE="
CHECKED = {"type": "binary", "categories": [{"code": "0", "label": "Unchecked", "value": 0.0},
                                            {"code": "1", "label": "Checked", "value": 1.0}]}
YESNO = {"type": "binary", "categories": [{"code": "0", "label": "No", "value": 0.0},
                                          {"code": "1", "label": "Yes", "value": 1.0}]}


# ---------------------------------------------------------------------------
# reading the dictionary


@dataclass
class Field:
    row: int
    cells: dict[str, str]

    def __getattr__(self, key: str) -> str:
        cells = self.__dict__.get("cells", {})
        if key in _KEYS:
            return cells.get(key, "")
        raise AttributeError(key)


def _source_name(source: Any) -> str:
    return str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "<REDCap data dictionary>")


def _read_rows(source: Any, what: str) -> tuple[list[list[str]], str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.suffix.lower() in (".xlsx", ".xls", ".xlsm"):
            raise file_error(path, f"is an Excel workbook; a {what} is read as CSV", hint="save it as CSV (UTF-8)",
                             exit_code=2)
        text = read_text(path, what)
        name = str(path)
    elif hasattr(source, "read"):
        data = source.read()
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
        name = _source_name(source)
    else:
        raise TypeError(f"give the path of a {what} or an open file, not {type(source).__name__}")
    if not text.strip():
        raise file_error(name, "is empty", hint=f"export the {what} again", exit_code=2)
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return rows, name


def read_dictionary(source: Any) -> tuple[list[Field], str]:
    """The fields of a data dictionary, each with its spreadsheet row; one-line errors for malformed rows."""
    rows, name = _read_rows(source, FMT)
    header = rows[0]
    columns: dict[int, str] = {}
    for pos, cell in enumerate(header):
        norm = re.sub(r"[^a-z0-9]", "", cell.casefold())
        key = next((k for k, names in _ALIASES.items() if norm in names), None)
        if key is not None and key not in columns.values():
            columns[pos] = key
    for key in _REQUIRED:
        if key not in columns.values():
            shown = HEADERS[_KEYS.index(key)]
            raise file_error(name, f"the header has no '{shown}' column, so this is not a {FMT}", row=1,
                             hint=f"a data dictionary's first row names its columns: {', '.join(HEADERS[:5])}, ...")
    fields: list[Field] = []
    seen: dict[str, int] = {}
    width = len(header)
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > width and any(c.strip() for c in row[width:]):
            raise file_error(name, f"has {len(row)} cells but the header has {width} columns", row=number,
                             hint="a cell holding a comma or a line break must be in double quotes")
        cells = {key: (row[pos] if pos < len(row) else "") for pos, key in columns.items()}
        f = Field(number, cells)
        fname = f.name.strip()
        col_name = header[_col(columns, "name")]
        if not fname:
            raise file_error(name, "the field has no name", row=number, column=col_name,
                             hint="give every field a name of lower-case letters, digits and '_'")
        if not _FIELD_NAME.match(fname):
            raise file_error(name, f"'{fname}' is not a REDCap field name", row=number, column=col_name,
                             hint="use letters, digits and '_', starting with a letter")
        if fname in seen:
            raise file_error(name, f"the field name '{fname}' is also used on row {seen[fname]}", row=number,
                             column=col_name, hint="field names must be unique")
        seen[fname] = number
        cells["name"] = fname
        ftype = f.type.strip().casefold()
        if ftype not in _TYPES:
            raise file_error(name, f"'{f.type.strip()}' is not a REDCap field type", row=number,
                             column=header[_col(columns, "type")], hint=f"use one of {', '.join(_TYPES)}")
        cells["type"] = ftype
        if not f.form.strip():
            raise file_error(name, "the field has no form name", row=number, column=header[_col(columns, "form")],
                             hint="name the form (instrument) the field belongs to")
        cells["form"] = f.form.strip()
        fields.append(f)
    if not fields:
        raise file_error(name, "has a header but no fields", hint="export the data dictionary again")
    return fields, name


def _col(columns: dict[int, str], key: str) -> int:
    return next(pos for pos, k in columns.items() if k == key)


def _column(key: str) -> str:
    return HEADERS[_KEYS.index(key)]


def parse_choices(text: str, *, source: str = "", row: int | None = None) -> list[Choice]:
    """``code, label | code, label`` as choices; a one-line error for an option without a code."""
    parts = text.split("|") if "|" in text else (text.splitlines() if "\n" in text else [text])
    out: list[Choice] = []
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if "," in part:
            code, label = part.split(",", 1)
            code, label = code.strip(), label.strip()
        else:
            m = re.match(r"^(-?\d+)\s+(.+)$", part)
            if not m:
                raise file_error(source, f"the option '{part[:40]}' has no code", row=row,
                                 column=_column("choices"), hint="write each option as 'code, label', "
                                 "separated by '|'")
            code, label = m.group(1), m.group(2).strip()
        if not _CODE.match(code):
            raise file_error(source, f"'{code[:40]}' is not a REDCap choice code", row=row, column=_column("choices"),
                             hint="codes are letters, digits, '_', '.' or '-', e.g. '1, Yes | 0, No'")
        if any(c.code.casefold() == code.casefold() for c in out):
            raise file_error(source, f"the code '{code}' is used twice", row=row, column=_column("choices"),
                             hint="give each option its own code")
        out.append(Choice(code, clean_label(label, code)))
    if not out:
        raise file_error(source, "the field has no options", row=row, column=_column("choices"),
                         hint="write them as 'code, label | code, label'")
    return out


def _tag(annotation: str, tag: str) -> int | None:
    pos = annotation.find(tag)
    return None if pos < 0 else pos + len(tag)


def _tag_word(annotation: str, tag: str) -> str | None:
    start = _tag(annotation, tag)
    if start is None:
        return None
    m = re.match(r"[A-Za-z0-9_]+", annotation[start:])
    return m.group() if m else None


def _missing_codes(missing_codes: str | Mapping[str, str] | None, source: str) -> list[Choice]:
    if missing_codes is None:
        return []
    if isinstance(missing_codes, str):
        parsed = parse_choices(missing_codes, source=f"{source} (missing_codes)")
    else:
        parsed = [Choice(str(k), clean_label(str(v), str(k))) for k, v in missing_codes.items()]
    from cseoutcomes.instruments.interop._common import classify_missing

    return [Choice(c.code, c.label, missing=classify_missing(c.code, c.label) or "unknown") for c in parsed]


# ---------------------------------------------------------------------------
# import


def _pick_form(fields: list[Field], form: str | None, source: str) -> str:
    forms = list(dict.fromkeys(f.form for f in fields))
    if form is not None:
        match = [f for f in forms if f.casefold() == form.casefold()]
        if not match:
            raise file_error(source, f"has no form '{form}' (forms: {', '.join(forms)})", hint="check --form")
        return match[0]
    kinds = ("radio", "dropdown", "yesno", "checkbox", "slider")
    usable = [fm for fm in forms if any((f.form == fm and f.type in kinds)
                                        or (f.form == fm and _tag(f.annotation, TAG_INSTRUMENT) is not None)
                                        for f in fields)]
    if len(usable) == 1:
        return usable[0]
    if not usable:
        raise file_error(source, "has no choice fields (radio, dropdown, yesno, checkbox, slider) to make items of",
                         hint="an instrument needs questions with fixed answers")
    raise file_error(source, f"has {len(usable)} forms with questions ({', '.join(usable)})",
                     hint="choose one with form= (or --form)")


def from_redcap(source: Any, *, form: str | None = None, missing_codes: str | Mapping[str, str] | None = None,
                kind: str | None = None, id: str | None = None, version: str | None = None,
                title: str | None = None, metadata: bool = True) -> Imported:
    """Read a REDCap data dictionary (CSV) as an instrument.

    Parameters
    ----------
    source
        The data dictionary: a path, or an open text or binary file.
    form
        Which form (REDCap instrument) to read; needed when several forms
        hold questions.
    missing_codes
        The project's Missing Data Codes (Project Setup > Additional
        customizations), as REDCap writes them (``"UNK, Unknown | NASK, Not
        asked"``) or a mapping of code to label: added to every item's scale
        as missing codes.
    kind, id, version, title
        Set these fields of the definition (REDCap has no place for them).
    metadata
        Read the cseoutcomes metadata in ``Field Annotation`` where present
        (False: read only what REDCap itself says).

    Returns
    -------
    Imported
        ``(instrument, losses)``: the :class:`~cseoutcomes.Instrument` and a
        :class:`LossReport` naming every field, choice or branching logic
        that could not be carried, and why.
    """
    fields, name = read_dictionary(source)
    col = Collector(f"{FMT} -> cseoutcomes")
    native = _native(fields, form, name, col, missing_codes, metadata=metadata)
    inst = build(native, col, kind=kind, identity={"id": id, "version": version, "title": title})
    return Imported(inst, col.report())


def _native(fields: list[Field], form: str | None, source: str, col: Collector,
            missing_codes: str | Mapping[str, str] | None, *, metadata: bool) -> Native:
    chosen = _pick_form(fields, form, source)
    record_id = fields[0].name
    mine = [f for f in fields if f.form == chosen]
    native = Native(FMT, source, id=to_slug(chosen.replace("_", "-")),
                    title=chosen.replace("_", " ").strip().capitalize() or None, section_logic_on_items=True,
                    expected_choices=lambda scale: parse_choices(_choices_cell("", scale, Collector(""))[1]))
    project_missing = _missing_codes(missing_codes, source)
    # metadata
    pieces = []
    if metadata:
        for f in mine:
            start = _tag(f.annotation, TAG_INSTRUMENT)
            if start is not None:
                pieces.append((f.annotation[start:].split("\n")[0].strip(), f"row {f.row}, column 'Field Annotation'"))
        if pieces:
            native.inst_meta = unpack(pieces, source)
    meta_on = native.inst_meta is not None
    # first pass: what each field name refers to (for branching logic)
    targets: dict[str, _logic.Target] = {}
    checkbox_options: dict[tuple[str, str], str] = {}
    plans: dict[int, str] = {}  # spreadsheet row -> what the field becomes
    taken: set[str] = {f.name for f in fields}
    for f in mine:
        if f.name == record_id:
            col.note(f"{f.name}: the record id field (row {f.row}) is not an item")
            continue
        plan = plans[f.row] = _plan(f, col, meta_on)
        if plan == "choice":
            choices = _with_missing(parse_choices(f.choices, source=source, row=f.row), project_missing)
            targets[f.name] = _logic.Target("item", f.name, tuple(c.code for c in choices))
        elif plan in ("yesno",):
            targets[f.name] = _logic.Target("item", f.name, ("0", "1", *(c.code for c in project_missing)))
        elif plan == "slider":
            lo, hi = _slider_range(f, source)
            targets[f.name] = _logic.Target("item", f.name, tuple(str(v) for v in range(lo, hi + 1)))
        elif plan == "checkbox":
            for c in parse_choices(f.choices, source=source, row=f.row):
                item_id = unique(to_name(f"{f.name}___{c.code}"), taken)
                checkbox_options[(f.name, c.code.casefold())] = item_id
                targets[item_id] = _logic.Target("item", item_id, ("0", "1"))
        elif plan in ("number", "boolean"):
            cname = _tag_word(f.annotation, TAG_CONTEXT) if meta_on else None
            targets[f.name] = _logic.Target("context", cname or f.name, ctype=plan)
        elif plan == "calc":
            targets[f.name] = _logic.Target("score", f.name)

    def lookup(ref: _logic.Ref) -> _logic.Target | None:
        if ref.option is not None:
            item_id = checkbox_options.get((ref.name, ref.option.casefold()))
            return targets.get(item_id) if item_id else None
        return targets.get(ref.name)

    # second pass: items, sections, context, scores
    section_ids: dict[str, str] = {}
    current: str | None = None
    for f in mine:
        if f.section.strip():
            label = f.section
            if label not in section_ids:
                section_ids[label] = unique(section_id(label), set(section_ids.values()))
                native.sections.append(NSection(section_ids[label], label))
            current = section_ids[label]
        plan = plans.get(f.row, "skip")
        if plan in ("skip", "meta"):
            continue
        logic, logic_text, logic_why = None, None, None
        if f.logic.strip():
            logic_text = " ".join(f.logic.split())
            try:
                logic = _logic.to_condition(_logic.parse(f.logic, _logic.REDCAP), lookup)
            except _logic.LogicError as exc:
                logic_why = f"the branching logic cannot be read as a condition: {exc}"
        where = f"row {f.row}"
        meta = None
        if meta_on:
            start = _tag(f.annotation, TAG_ITEM)
            if start is not None:
                meta = decode_object(f.annotation, start, source, f"row {f.row}, column 'Field Annotation'")
        note = f.note if f.note.strip() else None
        if plan == "choice":
            choices = _with_missing(parse_choices(f.choices, source=source, row=f.row), project_missing)
            native.items.append(NItem(f.name, _label(f), where, choices=choices, description=note, section=current,
                                      logic=logic, logic_text=logic_text, logic_why=logic_why, meta=meta,
                                      scale_name=f.matrix.strip() or None))
        elif plan == "yesno":
            scale = dict(YESNO)
            if project_missing:
                scale["missing"] = [{"code": c.code, **({"label": c.label} if c.label else {}), "meaning": c.missing}
                                    for c in project_missing]
            native.items.append(NItem(f.name, _label(f), where, scale=scale, scale_name="yesno", description=note,
                                      section=current, logic=logic, logic_text=logic_text, logic_why=logic_why,
                                      meta=meta))
        elif plan == "slider":
            native.items.append(_slider_item(f, source, current, note, logic, logic_text, logic_why))
            col.note(f"{f.name}: slider read as an ordinal item with one category per whole number")
        elif plan == "checkbox":
            options = parse_choices(f.choices, source=source, row=f.row)
            for c in options:
                item_id = checkbox_options[(f.name, c.code.casefold())]
                label = f"{strip_html(f.label)}: {c.label or c.code}"
                native.items.append(NItem(item_id, label, where, scale=dict(CHECKED), scale_name="checkbox",
                                          description=note, section=current, logic=logic, logic_text=logic_text,
                                          logic_why=logic_why))
            col.lose(f"field:{f.name}", "checkbox", f"a checkbox field (row {f.row}) became {len(options)} binary "
                     f"items {f.name}___<code>, one per option (the columns REDCap exports)")
        elif plan in ("number", "boolean"):
            cname = (_tag_word(f.annotation, TAG_CONTEXT) if meta_on else None) or f.name
            label = f.label if f.label.strip() else None
            native.context.append(NContext(cname, plan, label if label and label != f.name else None))
            if plan == "number" and (f.vmin.strip() or f.vmax.strip()):
                col.lose(f"context:{cname}", "range", f"context fields carry no range (row {f.row}: "
                         f"{f.vmin.strip() or '-'} to {f.vmax.strip() or '-'})")
        elif plan == "calc":
            score = _parse_calc(f, targets)
            if score is None:
                col.lose(f"field:{f.name}", "calc", f"the calculation (row {f.row}) is not a sum or mean of items; "
                         "left out", " ".join(f.choices.split()))
            else:
                native.scores.append(score)
                if f.choices.strip().casefold().startswith("sum("):
                    col.note(f"{f.name}: REDCap's sum() adds the answered items only; cseoutcomes' sum needs all "
                             "items (rule complete) or scales up (prorate)")
    if not native.items and not meta_on:
        raise file_error(source, f"form '{chosen}' has no choice fields to make items of",
                         hint="an instrument needs questions with fixed answers")
    return native


def section_id(label: str) -> str:
    """The section id a REDCap section header reads back as."""
    first = next((line for line in label.splitlines() if strip_html(line)), label)
    return to_name(strip_html(first).casefold(), "section").rstrip("_") or "section"


def _with_missing(choices: list[Choice], project: list[Choice]) -> list[Choice]:
    """A field's choices and the project's missing data codes it does not already have."""
    own = {c.code.casefold() for c in choices}
    return choices + [m for m in project if m.code.casefold() not in own]


def _label(f: Field) -> str:
    return f.label if f.label.strip() else f.name


def _plan(f: Field, col: Collector, meta_on: bool) -> str:
    t = f.type
    if t == "descriptive":
        if _tag(f.annotation, TAG_INSTRUMENT) is not None:
            return "meta"
        return "skip"
    if f.identifier.strip().casefold() in ("y", "yes", "1"):
        col.lose(f"field:{f.name}", "identifier", f"an identifier field (row {f.row}) is not part of an instrument")
        return "skip"
    if t in ("radio", "dropdown"):
        return "choice"
    if t in ("yesno", "checkbox", "slider", "calc"):
        if t == "calc" and meta_on and _tag(f.annotation, TAG_SCORE) is not None:
            return "skip"  # the score comes from the metadata
        return t
    if t == "truefalse":
        return "boolean"
    if t == "text":
        validation = f.validation.strip().casefold()
        if meta_on and _tag(f.annotation, TAG_RECENCY) is not None:
            return "skip"  # recency comes with its item
        if _NUMBER_VALIDATION.match(validation):
            return "number"
        what = "a date" if _DATE_VALIDATION.match(validation) else "free text"
        col.lose(f"field:{f.name}", "text", f"a text field holding {what} (row {f.row}) is not part of an instrument")
        return "skip"
    col.lose(f"field:{f.name}", t, f"a {t} field (row {f.row}) has no cseoutcomes equivalent")
    return "skip"


def _slider_range(f: Field, source: str) -> tuple[int, int]:
    def num(text: str, default: int, column: str) -> int:
        if not text.strip():
            return default
        try:
            value = float(text)
        except ValueError:
            raise file_error(source, f"'{text.strip()}' is not a number", row=f.row, column=_column(column),
                             hint="give the slider's end as a whole number") from None
        if not value.is_integer():
            raise file_error(source, "a slider's ends are whole numbers", row=f.row, column=_column(column))
        return int(value)

    lo, hi = num(f.vmin, 0, "vmin"), num(f.vmax, 100, "vmax")
    if hi <= lo or hi - lo > 1000:
        raise file_error(source, f"the slider runs from {lo} to {hi}", row=f.row, column=_column("vmax"),
                         hint="give a maximum above the minimum, at most 1000 steps away")
    return lo, hi


def _slider_item(f: Field, source: str, section, note, logic, logic_text, logic_why) -> NItem:
    lo, hi = _slider_range(f, source)
    anchors = [strip_html(p) for p in f.choices.split("|")] if f.choices.strip() else []
    at = {}
    if len(anchors) >= 1 and anchors[0]:
        at[lo] = anchors[0]
    if len(anchors) == 3 and anchors[1] and (lo + hi) % 2 == 0:
        at[(lo + hi) // 2] = anchors[1]
    if len(anchors) >= 2 and anchors[-1]:
        at[hi] = anchors[-1]
    cats = [{"code": str(v), **({"label": at[v]} if v in at else {}), "value": float(v)} for v in range(lo, hi + 1)]
    return NItem(f.name, _label(f), f"row {f.row}", scale={"type": "ordinal", "categories": cats},
                 scale_name=f"slider_{lo}_{hi}".replace("-", "m"), description=note, section=section, logic=logic,
                 logic_text=logic_text, logic_why=logic_why)


_REF = r"\[([A-Za-z][A-Za-z0-9_]*)\]"


def parse_calc_text(text: str) -> tuple[str, list[str], dict[str, Any] | None] | None:
    """(method, field names, missing rule) of a calc that is a plain sum or mean of fields, else None."""
    expr = "".join(text.split())
    while expr.startswith("(") and expr.endswith(")") and _balanced(expr[1:-1]):
        expr = expr[1:-1]
    m = re.fullmatch(rf"(sum|mean)\(({_REF}(?:,{_REF})*)\)", expr, re.I)
    if m:
        names = re.findall(_REF, m.group(2))
        if m.group(1).casefold() == "mean":
            return "mean", names, {"rule": "available"}
        return "sum", names, None
    if re.fullmatch(rf"{_REF}(?:\+{_REF})*", expr) and "+" in expr:
        return "sum", re.findall(_REF, expr), None
    return None


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _parse_calc(f: Field, targets: dict[str, _logic.Target]) -> NScore | None:
    parsed = parse_calc_text(f.choices)
    if parsed is None:
        return None
    method, names, missing = parsed
    ids = []
    for n in names:
        t = targets.get(n)
        if t is None or t.kind != "item":
            return None
        ids.append(t.id)
    return NScore(f.name, f.label if f.label.strip() else f.name, method, ids, missing)


# ---------------------------------------------------------------------------
# export


def _form_name(inst_id: str) -> str:
    form = inst_id.replace("-", "_")
    return form if form[0].isalpha() else f"form_{form}"


def to_redcap(instrument: Instrument | str, path: str | Path | None = None, *, metadata: bool = True,
              form: str | None = None) -> Exported:
    """Write an instrument as a REDCap data dictionary (CSV, the 18 standard columns).

    Parameters
    ----------
    instrument
        An :class:`~cseoutcomes.Instrument` or a registered id.
    path
        Where to write the CSV (UTF-8 with a byte-order mark, as REDCap
        writes it); None to return the text.
    metadata
        Also write the cseoutcomes metadata (``Field Annotation`` and one
        hidden descriptive field), so :func:`from_redcap` restores the
        definition exactly.
    form
        The form name (default: the instrument id, ``-`` as ``_``).

    Returns
    -------
    Exported
        ``(text or path, losses)``: the losses name what REDCap itself cannot
        hold (with ``metadata=True`` it travels in the metadata and the
        report says which fields).
    """
    from cseoutcomes.instruments.scoring import _resolve_instrument

    inst = _resolve_instrument(instrument)
    col = Collector(f"cseoutcomes -> {FMT}")
    native = Collector("native")
    form_name = form or _form_name(inst.id)
    rows: list[dict[str, str]] = []
    taken: set[str] = set()

    def reserve(name: str) -> str:
        return unique(to_name(name.casefold(), "f"), taken, fold=True, limit=100)

    rows.append({"name": reserve("record_id"), "type": "text", "label": "Record ID"})
    meta_name = reserve(f"cseoutcomes_{form_name}")[:100]
    ctx_names = {name: reserve(name) for name in inst.context}
    item_names = {item.id: reserve(item.id) for item in inst.items}
    recency_names = {item.id: reserve(item_names[item.id] + item.recency.column_suffix)
                     for item in inst.items if item.recency is not None}
    score_names = {s.id: reserve(s.id if s.id.casefold() not in {t.casefold() for t in taken} else f"{s.id}_score")
                   for s in inst.scores}
    if metadata:
        for n, piece in enumerate(pack(instrument_meta(inst)), 1):
            rows.append({"name": meta_name if n == 1 else reserve(f"{meta_name}_{n}"), "type": "descriptive",
                         "label": f"cseoutcomes definition of {inst.key} (do not edit)" if n == 1 else "(continued)",
                         "annotation": f"@HIDDEN {TAG_INSTRUMENT}{piece}"})
    for name, ctx in inst.context.items():
        row = {"name": ctx_names[name], "label": ctx.label or ctx_names[name]}
        if ctx.type == "number":
            row.update(type="text", validation="number")
        elif ctx.type == "boolean":
            row.update(type="truefalse")
        else:
            row.update(type="text")
        if metadata:
            row["annotation"] = f"{TAG_CONTEXT}{name}"
        rows.append(row)
    # choices, with codes REDCap accepts
    code_maps: dict[str, dict[str, str]] = {}
    choice_cells: dict[str, str] = {}
    for sname, scale in inst.response_scales.items():
        cmap, cell = _choices_cell(sname, scale, col)
        code_maps[sname], choice_cells[sname] = cmap, cell
    sections = {s.id: s for s in inst.sections}

    def name_of(kind: str, ident: str) -> str | None:
        return {"item": item_names, "context": ctx_names, "score": score_names}[kind].get(ident)

    def section_items(sid: str) -> list[tuple[str, tuple[str, ...]]]:
        return [(i.id, inst.scale_of(i).codes + inst.scale_of(i).missing_codes) for i in inst.items
                if i.section == sid]

    logic_text: dict[str, str] = {}
    for s in inst.sections:
        if s.applies_when is not None:
            try:
                cond = _map_codes(s.applies_when, inst, code_maps)
                logic_text[s.id] = _logic.render(cond, _logic.REDCAP, name_of, section_items)
            except _logic.LogicError as exc:
                native.lose(f"section:{s.id}", "applies_when", f"REDCap branching logic cannot say it: {exc}")
    matrix = _matrix_groups(inst)
    current: str | None = None
    for item in inst.items:
        row = {"name": item_names[item.id], "type": "radio", "label": item.text or item.label,
               "choices": choice_cells[item.scale]}
        if item.section is not None and item.section != current:
            row["section"] = sections[item.section].label
            current = item.section
        if item.id in matrix:
            row["matrix"] = matrix[item.id]
        if item.description is not None:
            row["note"] = item.description
        if item.section is not None and item.section in logic_text:
            row["logic"] = logic_text[item.section]
        if metadata:
            row["annotation"] = f"{TAG_ITEM}{meta_json(item_meta(item))}"
        rows.append(row)
        if item.recency is not None:
            rows.append({"name": recency_names[item.id], "type": "text", "validation": "number", "vmin": "0",
                         "label": f"{item.label}: months since last present (blank: now)",
                         **({"annotation": f"{TAG_RECENCY}{item.id}"} if metadata else {})})
    for s in inst.scores:
        calc = _calc(s, inst, item_names, code_maps)
        if calc is None:
            continue
        rows.append({"name": score_names[s.id], "type": "calc", "label": s.label, "choices": calc,
                     **({"annotation": f"{TAG_SCORE}{s.id}"} if metadata else {})})
    # what REDCap itself cannot hold
    _native_losses(inst, native, form_name, item_names, ctx_names, score_names, choice_cells, code_maps,
                   logic_text, rows, matrix)
    if metadata:
        metadata_note(native, col, "REDCap")
    else:
        for loss in native.losses:
            col.lose(loss.item, loss.what, loss.why, loss.detail)
    text = _write_csv(rows, form_name)
    if path is None:
        return Exported(text, col.report())
    from cseoutcomes.data.io import write_text

    out = Path(path)
    try:
        out.write_bytes(text.encode("utf-8-sig"))
    except OSError:
        write_text(text, out)  # raises the one-line error
    return Exported(out, col.report())


def _matrix_groups(inst: Instrument) -> dict[str, str]:
    """Matrix group names for runs of two or more items in a row sharing a scale and a section.

    REDCap shows a matrix group as one grid; its name (the scale's, in lower case, with a suffix for a
    later run) also names the shared scale when the dictionary is read back.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    items = list(inst.items)
    start = 0
    while start < len(items):
        end = start
        while (end + 1 < len(items) and items[end + 1].scale == items[start].scale
               and items[end + 1].section == items[start].section):
            end += 1
        if end > start:
            name = unique(to_name(items[start].scale.casefold(), "matrix"), taken, fold=True, limit=60)
            for item in items[start:end + 1]:
                out[item.id] = name
        start = end + 1
    return out


def _write_csv(rows: list[dict[str, str]], form_name: str) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        row = {**row, "form": form_name}
        writer.writerow([row.get(k, "") for k in _KEYS])
    return buf.getvalue()


def _choices_cell(sname: str, scale, col: Collector) -> tuple[dict[str, str], str]:
    """The choices cell and the code each scale code is written as."""
    cmap: dict[str, str] = {}
    taken: set[str] = set()
    parts = []
    for ch in written_choices(scale):
        code = ch.code
        if not _CODE.match(code):
            code = unique(re.sub(r"[^A-Za-z0-9_.\-]+", "_", code).strip("_") or "code", taken, fold=True)
            col.lose(f"scale:{sname}", "categories" if ch.code in scale.codes else "missing",
                     f"REDCap codes are letters, digits, '_', '.' and '-': '{ch.code}' is written as '{code}', and "
                     "REDCap records will hold that")
        else:
            taken.add(code)
        cmap[ch.code] = code
        label = (ch.label or code).replace("|", "/").replace("\r\n", "\n")
        parts.append(f"{code}, {label}")
    return cmap, " | ".join(parts)


def _map_codes(cond: Condition, inst: Instrument, code_maps: dict[str, dict[str, str]]) -> Condition:
    """A condition with item codes as REDCap writes them."""

    def recode(node: dict[str, Any]) -> None:
        cmap = code_maps.get(inst.get_item(node["item"]).scale, {})
        node["in"] = [cmap.get(str(c), str(c)) for c in node.get("in", [])]

    return map_items(cond, recode)


def _calc(s: Score, inst: Instrument, names: dict[str, str], code_maps: dict[str, dict[str, str]]) -> str | None:
    """A REDCap calculation for a score, where REDCap can compute it from the codes."""
    items = inst.score_items(s)
    if not items:
        return None
    scales = [inst.scale_of(i) for i in items]
    numeric_codes = all(c.value is not None and re.fullmatch(r"-?\d+(\.\d+)?", c.code) and float(c.code) == c.value
                        for sc in scales for c in sc.categories)
    if s.method in ("sum", "mean") and numeric_codes:
        if s.method == "mean":
            if any(i.weight != 1 or i.reverse for i in items):
                return None
            return "mean(" + ",".join(f"[{names[i.id]}]" for i in items) + ")"
        terms = []
        for item, sc in zip(items, scales, strict=True):
            term = f"[{names[item.id]}]"
            if item.reverse:
                lo, hi = sc.value_range()
                term = f"({_logic._fmt_number(lo + hi)}-{term})"
            if item.weight != 1:
                term = f"{_logic._fmt_number(item.weight)}*{term}"
            terms.append(term)
        return "+".join(terms)
    if s.method == "weighted_count" and s.counts:
        terms = []
        for item in items:
            cmap = code_maps.get(item.scale, {})
            test = " or ".join(f"[{names[item.id]}] = '{cmap.get(c, c)}'" for c in s.counts
                               if c.casefold() in {x.casefold() for x in inst.scale_of(item).codes})
            points = item.recency.windows[0].weight if item.recency else item.weight
            terms.append(f"if({test}, {_logic._fmt_number(points)}, 0)")
        return " + ".join(terms)
    return None


def _native_losses(inst: Instrument, col: Collector, form_name: str, item_names: dict[str, str],
                   ctx_names: dict[str, str], score_names: dict[str, str], choice_cells: dict[str, str],
                   code_maps: dict[str, dict[str, str]], logic_text: dict[str, str], rows: list[dict[str, str]],
                   matrix: dict[str, str]) -> None:
    id_back = to_slug(form_name.replace("_", "-"))
    title_back = form_name.replace("_", " ").strip().capitalize()
    instrument_losses(inst, col, "REDCap", id_back=id_back, title_back=title_back, version_back=None,
                      description_back=None)
    context_losses(inst, col, "REDCap", back_types={"number": "number", "boolean": "boolean"},
                   name_of=lambda n: ctx_names[n])
    item_losses(inst, col, "REDCap", description=True, names=item_names,
                renamed="REDCap field names are lower case and unique: written as '{name}'")
    back_scales = {}
    for name in inst.response_scales:
        if name in {i.scale for i in inst.items}:
            back_scales[name] = infer_scale(parse_choices(choice_cells[name])).scale
    scale_losses(inst, col, "REDCap", back_scales, name_hint=lambda i: matrix.get(i),
                 item_back_id=lambda i: item_names[i])
    # sections: headers, read back by their text
    ids: dict[str, str] = {}
    sec_of: dict[str, str | None] = {}
    current = None
    by_id = {s.id: s for s in inst.sections}
    for item in inst.items:
        if item.section is not None and item.section != current:
            label = by_id[item.section].label
            if label not in ids:
                ids[label] = unique(section_id(label), set(ids.values()))
            current = item.section
        sec_of[item.id] = ids[by_id[current].label] if current is not None else None
    for item in inst.items:
        if item.section is None and sec_of[item.id] is not None:
            col.lose(item.id, "section", "it has no section but follows a sectioned item; REDCap cannot end a "
                     f"section, so it reads back in '{sec_of[item.id]}'")
    for s in inst.sections:
        members = [i for i in inst.items if i.section == s.id]
        if not members:
            col.lose(f"section:{s.id}", "section", "it has no items, and REDCap section headers sit on fields")
            continue
        back_id = ids[s.label]
        if back_id != s.id:
            col.lose(f"section:{s.id}", "id", f"REDCap section headers have no ids; it reads back as '{back_id}'")
        others = [t for t in inst.sections if t.id != s.id and t.label == s.label and any(
            i.section == t.id for i in inst.items)]
        if others:
            for i in members:
                if back_id != s.id:
                    col.lose(i.id, "section", f"sections '{s.id}' and '{others[0].id}' have the same header text and "
                             "read back as one")
        if s.description is not None:
            col.lose(f"section:{s.id}", "description", "REDCap section headers have no description")
        if s.applies_when is not None and s.id in logic_text:
            back_members = [i for i in inst.items if sec_of[i.id] == back_id]
            same = all(i.section == s.id or (i.section is not None and logic_text.get(i.section) == logic_text[s.id])
                       for i in back_members)
            back_cond = _parse_back(logic_text[s.id], inst, item_names, ctx_names, score_names, code_maps)
            if not same:
                col.lose(f"section:{s.id}", "applies_when", "its items do not all read back in one section, so the "
                         "branching logic stays on single items")
                col.lose("instrument", "notes", "branching logic that does not read back as a section's routing is "
                         "kept there as text")
            elif back_cond is None:
                col.lose(f"section:{s.id}", "applies_when", "written as branching logic that does not read back as "
                         "a condition", logic_text[s.id])
                col.lose("instrument", "notes", "branching logic that does not read back as a condition is kept "
                         "there as text")
            elif back_cond != s.applies_when:
                col.lose(f"section:{s.id}", "applies_when", "written as branching logic that reads back as a "
                         "different (equivalent or approximate) condition", logic_text[s.id])
    order = [ids[by_id[s].label] for s in dict.fromkeys(i.section for i in inst.items if i.section is not None)]
    declared = [s.id for s in inst.sections if any(i.section == s.id for i in inst.items)]
    if list(dict.fromkeys(order)) != [ids[by_id[s].label] for s in declared]:
        for sid in declared:
            col.lose(f"section:{sid}", "order", "sections read back in the order their items come")
    # scores
    item_ids = [i.id for i in inst.items]
    for s in inst.scores:
        if score_names[s.id] != s.id:
            col.lose(f"score:{s.id}", "id", f"written as the calc field '{score_names[s.id]}'")
        row = next((r for r in rows if r.get("type") == "calc" and r["name"] == score_names[s.id]), None)
        parsed = parse_calc_text(row["choices"]) if row else None
        if parsed is None:
            col.lose(f"score:{s.id}", "score", "REDCap calc fields read back only as plain sums and means of items"
                     + (" (the calc field is written for REDCap to compute)" if row else ""))
            continue
        method, names, missing = parsed
        back_items = [next(i for i, n in item_names.items() if n == name) for name in names]
        if not all(all("value" in c for c in back_scales[inst.get_item(i).scale]["categories"]) for i in back_items):
            col.lose(f"score:{s.id}", "score", "an item it uses reads back with codes that are not all numbers, "
                     "so the sum or mean cannot be read back")
            continue
        back = {"method": method, "items": None if back_items == item_ids else tuple(back_items),
                "missing": missing or {}}
        orig = s.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        if orig.get("items") is not None and back["items"] is None:
            col.lose(f"score:{s.id}", "items", "a score of every item reads back without an item list")
        elif s.sections is not None:
            col.lose(f"score:{s.id}", "sections", "reads back as a list of items")
        if orig.get("missing", {}) != back["missing"]:
            col.lose(f"score:{s.id}", "missing", "REDCap's + needs every item and its mean() skips blanks; "
                     "other missing rules are not carried")
        for key in ("bands", "overrides", "transform", "change"):
            if orig.get(key):
                col.lose(f"score:{s.id}", key, "REDCap has no place for it")


def _parse_back(text: str, inst: Instrument, item_names, ctx_names, score_names, code_maps) -> Condition | None:
    targets = {}
    for item in inst.items:
        scale = inst.scale_of(item)
        codes = tuple(code_maps[item.scale].get(c, c) for c in scale.codes + scale.missing_codes)
        targets[item_names[item.id]] = _logic.Target("item", item_names[item.id], codes)
    for name, ctx in inst.context.items():
        targets[ctx_names[name]] = _logic.Target("context", ctx_names[name], ctype=ctx.type)
    for _sid, fname in score_names.items():
        targets[fname] = _logic.Target("score", fname)
    try:
        cond = _logic.to_condition(_logic.parse(text, _logic.REDCAP), lambda ref: targets.get(ref.name))
    except _logic.LogicError:
        return None
    # names read back as written; compare with the definition's ids
    back = {v: k for k, v in item_names.items()}
    return map_items(cond, lambda node: node.update(item=back.get(node["item"], node["item"])))


# ---------------------------------------------------------------------------
# records


_STANDARD = {"eventname": "redcap_event_name", "repeatinstrument": "redcap_repeat_instrument",
             "repeatinstance": "redcap_repeat_instance", "dataaccessgroup": "redcap_data_access_group",
             "surveyidentifier": "redcap_survey_identifier"}


def read_redcap_records(records: str | Path, dictionary: Any, *, form: str | None = None,
                        events: Mapping[str, int] | None = None, date: str | None = None,
                        missing_codes: str | Mapping[str, str] | None = None):
    """Read a REDCap records export (CSV) as a wide table ready for :func:`cseoutcomes.validate`.

    Use it with the instrument :func:`from_redcap` reads from the same
    dictionary (and the same ``form`` and ``missing_codes``).

    - Raw exports and label exports ("Export labels" for headers and/or
      values) are both read: labels become the raw codes the dictionary
      gives; ``Checked``/``Unchecked`` become ``1``/``0``.
    - Checkbox columns ``field___code`` are the items ``from_redcap`` makes.
    - The record id becomes ``person_id``; a date field (``date=``, default the
      form's only date-validated field) becomes ``assessment_date``.
    - ``occasion`` comes from ``events=`` (``{"baseline_arm_1": 0, ...}``),
      else from ``redcap_repeat_instance`` (instance 1 is occasion 0), else
      from the order in which event names first appear.
    - Rows for another repeating instrument, and rows with nothing entered on
      this form (another event's row), are dropped, and the notes in
      ``table.attrs["cseoutcomes"]["notes"]`` list their spreadsheet rows. No
      other row is ever dropped.

    The index holds each row's spreadsheet row number. Cell values never
    appear in messages.
    """
    import pandas as pd

    from cseoutcomes.data.io import read_table

    fields, name = read_dictionary(dictionary)
    chosen = _pick_form(fields, form, name)
    record_id = fields[0].name
    mine = [f for f in fields if f.form == chosen]
    project_missing = _missing_codes(missing_codes, name)
    table = read_table(records, header=1)
    meta = dict(table.attrs.get("cseoutcomes", {}))
    notes = list(meta.get("notes", []))
    where = Path(str(records)).name
    # headers: field names, or labels
    by_label: dict[str, str] = {}
    for f in fields:
        by_label.setdefault(strip_html(f.label).casefold(), f.name)
    checkbox = {f.name: parse_choices(f.choices, source=name, row=f.row) for f in fields if f.type == "checkbox"}
    rename: dict[str, str] = {}
    known = {f.name for f in fields}
    for col_name in table.columns:
        text = str(col_name)
        if text in known or text.startswith("redcap_") or re.match(r".+___.+", text) or text.endswith("_complete"):
            continue
        norm = re.sub(r"[^a-z0-9]", "", text.casefold())
        if norm in _STANDARD:
            rename[text] = _STANDARD[norm]
            continue
        m = re.match(r"^(.*)\(choice=(.*)\)$", text, re.S)
        if m:
            fname = by_label.get(strip_html(m.group(1)).casefold())
            if fname in checkbox:
                code = next((c.code for c in checkbox[fname] if (c.label or c.code).casefold() ==
                             m.group(2).strip().casefold()), None)
                if code is not None:
                    rename[text] = f"{fname}___{code}"
                    continue
        fname = by_label.get(strip_html(text).casefold())
        if fname is not None and fname not in rename.values():
            rename[text] = fname
    if rename:
        table = table.rename(columns=rename)
        notes.append(f"{len(rename)} column header{'s' * (len(rename) != 1)} read as REDCap labels and "
                     "replaced by field names")
    if record_id not in table.columns:
        raise DataError(f"there is no '{record_id}' column (the record id of the data dictionary)", where=where,
                        hint="export the records with the record id, from the same project", exit_code=2)
    # values: labels to codes
    converted: list[str] = []
    item_cols: list[str] = []
    for f in mine:
        if f.type in ("radio", "dropdown", "yesno", "truefalse"):
            if f.type in ("radio", "dropdown"):
                choices = parse_choices(f.choices, source=name, row=f.row)
            elif f.type == "yesno":
                choices = [Choice("1", "Yes"), Choice("0", "No")]
            else:
                choices = [Choice("1", "True"), Choice("0", "False")]
            choices = _with_missing(choices, project_missing)
            if f.name in table.columns:
                item_cols.append(f.name)
                if _to_codes(table, f.name, choices):
                    converted.append(f.name)
        elif f.type == "checkbox":
            for c in checkbox[f.name]:
                col_name = f"{f.name}___{c.code}"
                if col_name in table.columns:
                    item_cols.append(col_name)
                    if _to_codes(table, col_name, [Choice("1", "Checked"), Choice("0", "Unchecked")]):
                        converted.append(col_name)
            for m in project_missing:  # REDCap adds field___<missing code> columns for checkboxes
                col_name = f"{f.name}___{m.code.casefold()}"
                if col_name in table.columns:
                    hit = table[col_name].astype("string").str.strip().isin(["1", "Checked"]).fillna(False)
                    for c in checkbox[f.name]:
                        target = f"{f.name}___{c.code}"
                        if target in table.columns:
                            table.loc[hit.to_numpy(), target] = m.code
                    table = table.drop(columns=[col_name])
        elif f.type in ("slider", "text", "calc") and f.name in table.columns:
            item_cols.append(f.name)
    if converted:
        notes.append(f"labels turned into codes in {len(converted)} column{'s' * (len(converted) != 1)}")
    # rows that belong to other forms or events
    drop = pd.Series(False, index=table.index)
    if "redcap_repeat_instrument" in table.columns:
        other = table["redcap_repeat_instrument"].astype("string").str.strip()
        other_form = other.notna() & (other != "") & (other.str.casefold() != chosen.casefold())
        # label exports name the form by its label: compare loosely
        other_form &= other.str.replace(r"[^a-z0-9]", "", regex=True).str.casefold() != re.sub(
            r"[^a-z0-9]", "", chosen.casefold())
        drop |= other_form.fillna(False)
        _note_rows(notes, table.index[other_form.fillna(False).to_numpy()], "belong to another repeating instrument")
    if item_cols:
        empty = table[item_cols].astype("string").apply(lambda s: s.str.strip().fillna("").eq("")).all(axis=1)
        complete = f"{chosen}_complete"
        if complete in table.columns:
            status = table[complete].astype("string").str.strip().fillna("")
            empty &= status.isin(["", "0", "Incomplete"])
        empty &= ~drop
        drop |= empty
        _note_rows(notes, table.index[empty.to_numpy()], f"have nothing entered on form '{chosen}' (another event "
                   "or form)")
    table = table.loc[~drop.to_numpy()].copy()
    # occasion
    if events is not None:
        if "redcap_event_name" not in table.columns:
            raise DataError("events= was given but the export has no event column", where=where,
                            hint="export a longitudinal project's records with redcap_event_name", exit_code=2)
        names = table["redcap_event_name"].astype("string").str.strip()
        unknown = sorted(set(names.dropna()) - set(events))
        if unknown:
            raise DataError(f"events= does not give an occasion for event '{unknown[0]}'"
                            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""), where=where,
                            hint="map every event name to an occasion number", exit_code=2)
        table["occasion"] = names.map(dict(events)).astype("Int64")
    elif "redcap_repeat_instance" in table.columns and table["redcap_repeat_instance"].notna().any():
        inst_no = pd.to_numeric(table["redcap_repeat_instance"], errors="coerce")
        table["occasion"] = (inst_no.fillna(1) - 1).astype("Int64")
        notes.append("occasion = REDCap repeat instance - 1 (instance 1 is the baseline)")
    elif "redcap_event_name" in table.columns:
        names = table["redcap_event_name"].astype("string").str.strip()
        order = {e: n for n, e in enumerate(dict.fromkeys(names.dropna()))}
        table["occasion"] = names.map(order).astype("Int64")
        notes.append("occasion numbered by the order events first appear (" + ", ".join(
            f"{e} = {n}" for e, n in order.items()) + "); give events= to set it")
    # roles
    table = table.rename(columns={record_id: "person_id"})
    dates = [f.name for f in mine if f.type == "text" and _DATE_VALIDATION.match(f.validation.strip().casefold())]
    if date is None and len(dates) == 1:
        date = dates[0]
    if date is not None:
        if date not in table.columns:
            raise DataError(f"there is no date column '{date}'", where=where,
                            hint=f"date fields of form '{chosen}': {', '.join(dates) or 'none'}", exit_code=2)
        table = table.rename(columns={date: "assessment_date"})
    meta["notes"] = notes
    table.attrs["cseoutcomes"] = meta
    return table


def _to_codes(table, column: str, choices: list[Choice]) -> bool:
    """Replace labels by codes in one column (a code as written stays); True if any cell changed."""
    values = table[column].astype("string").str.strip()
    exact = {c.code for c in choices}
    by_label = {(c.label or "").strip().casefold(): c.code for c in choices if c.label}
    by_code = {c.code.casefold(): c.code for c in choices}
    folded = values.str.casefold()
    mapped = folded.map(lambda v: by_label.get(v, by_code.get(v)) if isinstance(v, str) else None)
    change = (values.notna() & ~values.isin(list(exact)) & mapped.notna()).fillna(False).to_numpy(dtype=bool)
    if not change.any():
        return False
    table.loc[change, column] = mapped[change]
    return True


def _note_rows(notes: list[str], index, why: str) -> None:
    rows = [int(r) for r in index]
    if not rows:
        return
    shown = ", ".join(map(str, rows[:8])) + (f" and {len(rows) - 8} more" if len(rows) > 8 else "")
    notes.append(f"{len(rows)} row{'s' * (len(rows) != 1)} dropped because they {why}: row{'s' * (len(rows) != 1)} "
                 f"{shown}")

