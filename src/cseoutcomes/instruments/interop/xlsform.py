"""XLSForm (ODK, KoboToolbox, SurveyCTO): ``survey``, ``choices`` and ``settings`` sheets.

Read from an ``.xlsx`` workbook or from CSV sheets (a folder holding
``survey.csv``, ``choices.csv`` and ``settings.csv``, or the path of
``survey.csv``). Specification: https://xlsform.org.

Mapping (instrument -> XLSForm -> instrument):

- ``settings``: ``form_id`` is the id, ``form_title`` the title, ``version``
  the version;
- a response scale is a choice list (``list_name`` = the scale's name); an
  item is a ``select_one <list>`` question: ``name`` = id, ``label`` = its
  text or label, ``hint`` = its description; missing codes are choices, told
  apart by their labels on import;
- a section is a group (``begin_group`` / ``end_group``), its routing the
  group's ``relevant``; an item's own ``relevant`` has no equivalent;
- a number context field is a ``decimal`` question (``integer`` and
  ``decimal`` questions import as number context fields; their
  ``constraint`` range is reported, not kept);
- a ``sum`` score with rule ``complete`` is ``calculate`` ``${a} + ${b}``, a
  ``mean`` with rule ``complete`` is ``(${a} + ${b}) div 2``;
- on import, ``select_multiple`` becomes one binary item per option
  (``<name>___<option>``: ODK and Kobo write these columns as
  ``<name>/<option>``, which column matching finds), ``range`` an ordinal
  item, a repeat a section read once (reported), and labels in other
  languages (``label::Español (es)``) are reported and dropped.

cseoutcomes metadata travels in custom bind columns (declared in the
``namespaces`` setting): ``bind::cseoutcomes:item`` (each item's fields as
JSON), ``bind::cseoutcomes:role`` (which question holds a context field,
recency or score) and ``bind::cseoutcomes:definition`` (the rest of the
definition, on hidden ``calculate`` rows).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cseoutcomes.errors import DefinitionError
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
    export_names,
    file_error,
    infer_scale,
    instrument_meta,
    item_meta,
    meta_json,
    pack,
    read_text,
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
    section_run_losses,
)
from cseoutcomes.instruments.interop._loss import Collector, Exported, Imported
from cseoutcomes.instruments.schema import Instrument, Score

__all__ = ["from_xlsform", "to_xlsform"]

FMT = "XLSForm"
NAMESPACE = 'cseoutcomes="urn:cseoutcomes:xlsform"'
COL_ITEM = "bind::cseoutcomes:item"
COL_ROLE = "bind::cseoutcomes:role"
COL_DEF = "bind::cseoutcomes:definition"
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_SKIP_TYPES = {"start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username",
               "email", "audit", "start-geopoint", "note", "hidden", "xml-external", "csv-external"}
_FREE_TYPES = {"text", "date", "time", "datetime", "geopoint", "geotrace", "geoshape", "image", "audio",
               "video", "file", "barcode", "acknowledge", "background-audio", "background-geopoint"}
_TYPES = ("select_one", "select_multiple", "integer", "decimal", "range", "calculate", "begin_group", "end_group",
          "begin_repeat", "end_repeat", *sorted(_SKIP_TYPES | _FREE_TYPES), "rank", "select_one_from_file",
          "select_multiple_from_file", "trigger")


# ---------------------------------------------------------------------------
# reading sheets


@dataclass
class Sheet:
    name: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]   # (spreadsheet row, cells by normalised header)
    columns: dict[str, str]                  # normalised header -> header as written


def _norm_header(text: str) -> str:
    text = str(text).strip()
    if "::" in text:
        head, _, rest = text.partition("::")
        return f"{re.sub(r'[ ]+', '_', head.strip().casefold())}::{rest.strip()}"
    return re.sub(r"[ ]+", "_", text.casefold())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _make_sheet(name: str, grid: list[list[Any]]) -> Sheet:
    header_at = next((n for n, row in enumerate(grid) if any(_cell(c).strip() for c in row)), None)
    if header_at is None:
        return Sheet(name, [], [], {})
    header = [_cell(c) for c in grid[header_at]]
    columns: dict[str, str] = {}
    keys: list[str | None] = []
    for h in header:
        key = _norm_header(h) if h.strip() else None
        if key is not None and key not in columns:
            columns[key] = h
            keys.append(key)
        else:
            keys.append(None)
    rows = []
    for n, row in enumerate(grid[header_at + 1:], start=header_at + 2):
        cells = {k: _cell(row[i]) for i, k in enumerate(keys) if k is not None and i < len(row)}
        if any(v.strip() for v in cells.values()):
            rows.append((n, cells))
    return Sheet(name, header, rows, columns)


def read_sheets(source: str | Path | Mapping[str, list[list[Any]]]) -> tuple[dict[str, Sheet], str]:
    """The survey, choices and settings sheets of a workbook, a folder of CSV sheets, or a mapping of rows."""
    if isinstance(source, Mapping):
        grids = {str(k).strip().casefold(): [list(r) for r in v] for k, v in source.items()}
        if "survey" not in grids:
            raise file_error("<XLSForm>", "has no 'survey' sheet", hint="give the survey and choices sheets")
        return {k: _make_sheet(k, v) for k, v in grids.items() if k in ("survey", "choices", "settings")}, "<XLSForm>"
    path = Path(source)
    name = str(path)
    grids: dict[str, list[list[Any]]] = {}
    if path.is_dir() or path.suffix.lower() == ".csv":
        folder = path if path.is_dir() else path.parent
        files = {p.stem.casefold(): p for p in folder.glob("*.csv")}
        if "survey" not in files:
            raise file_error(path, "has no survey.csv", hint="give an .xlsx workbook, or a folder holding survey.csv "
                             "and choices.csv", exit_code=2)
        for sheet in ("survey", "choices", "settings"):
            if sheet in files:
                text = read_text(files[sheet], "CSV sheet")
                grids[sheet] = list(csv.reader(io.StringIO(text, newline="")))
        name = str(files["survey"].parent)
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        if not path.exists():
            raise file_error(path, "no such file", hint="check the path", exit_code=2)
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zip or XML damage: not the user's data, but the file
            raise file_error(path, f"cannot be read as an Excel workbook ({type(exc).__name__})",
                             hint="open it in a spreadsheet program and save it again as .xlsx", exit_code=2) from None
        try:
            for ws in wb.worksheets:
                key = ws.title.strip().casefold()
                if key in ("survey", "choices", "settings") and key not in grids:
                    grids[key] = [list(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
        if "survey" not in grids:
            raise file_error(path, "has no 'survey' sheet, so it is not an XLSForm",
                             hint="an XLSForm has sheets named survey and choices", exit_code=2)
    elif path.suffix.lower() == ".xls":
        raise file_error(path, "is an old .xls workbook", hint="save it as .xlsx", exit_code=2)
    else:
        raise file_error(path, "is neither an .xlsx workbook nor a folder of CSV sheets",
                         hint="give the XLSForm .xlsx, or a folder with survey.csv and choices.csv", exit_code=2)
    sheets = {k: _make_sheet(k, v) for k, v in grids.items()}
    return sheets, name


# ---------------------------------------------------------------------------
# import


def _where(sheet: Sheet, row: int) -> str:
    return f"sheet '{sheet.name}', row {row}"


def _err(source: str, sheet: Sheet, row: int, column: str, message: str, hint: str | None = None
         ) -> DefinitionError:
    """A one-line error naming the sheet, row and column (as its header writes it)."""
    col = sheet.columns.get(column, column)
    return DefinitionError([f"{source}: sheet '{sheet.name}', row {row}, column '{col}': {message}"
                            + (f" ({hint})" if hint else "")], source=source)


def _label_column(sheet: Sheet, language: str | None, col: Collector, what: str) -> tuple[str | None, list[str]]:
    """The label column to read (plain, or the chosen language) and the other languages' columns."""
    translations = [k for k in sheet.columns if k.startswith(f"{what}::")]
    chosen = None
    if language is not None:
        chosen = next((k for k in translations if language.casefold() in k.split("::", 1)[1].casefold()), None)
    if chosen is None and what in sheet.columns:
        chosen = what
    if chosen is None and translations:
        chosen = translations[0]
    others = [k for k in translations if k != chosen]
    return chosen, others


def _parse_type(text: str) -> tuple[str, str | None, bool]:
    parts = text.strip().split()
    if not parts:
        return "", None, False
    head = parts[0].casefold()
    if head in ("begin", "end") and len(parts) >= 2 and parts[1].casefold() in ("group", "repeat"):
        return f"{head}_{parts[1].casefold()}", None, False
    if head in ("select", "select1") and len(parts) >= 2 and parts[1].casefold() in ("one", "multiple"):
        head, parts = f"select_{parts[1].casefold()}", [f"select_{parts[1].casefold()}", *parts[2:]]
    other = len(parts) >= 3 and parts[2].casefold() == "or_other"
    return head, (parts[1] if len(parts) >= 2 else None), other


def from_xlsform(source: str | Path | Mapping[str, list[list[Any]]], *, language: str | None = None,
                 kind: str | None = None,
                 id: str | None = None, version: str | None = None, title: str | None = None,
                 metadata: bool = True) -> Imported:
    """Read an XLSForm (.xlsx, or a folder of CSV sheets) as an instrument.

    Parameters
    ----------
    source
        The ``.xlsx`` workbook, a folder holding ``survey.csv`` and
        ``choices.csv`` (and ``settings.csv``), the path of ``survey.csv``, or
        the sheets as a mapping of lists of rows (what :func:`to_xlsform`
        returns without a path).
    language
        For a form with labels in several languages (``label::English
        (en)``): which one to read (matched in the column name); default the
        plain ``label`` column, else the settings' ``default_language``, else
        the first.
    kind, id, version, title
        Set these fields of the definition.
    metadata
        Read the cseoutcomes metadata columns where present.

    Returns
    -------
    Imported
        ``(instrument, losses)``.
    """
    sheets, name = read_sheets(source)
    col = Collector(f"{FMT} -> cseoutcomes")
    native = _native(sheets, name, col, language, metadata)
    inst = build(native, col, kind=kind, identity={"id": id, "version": version, "title": title})
    return Imported(inst, col.report())


def _settings(sheets: dict[str, Sheet]) -> dict[str, str]:
    sheet = sheets.get("settings")
    if sheet is None or not sheet.rows:
        return {}
    return {k: (v if k == "form_title" else v.strip()) for k, v in sheet.rows[0][1].items() if v.strip()}


def _choices(sheets: dict[str, Sheet], source: str, language: str | None, col: Collector) -> dict[str, list[Choice]]:
    sheet = sheets.get("choices")
    if sheet is None:
        return {}
    list_key = "list_name" if "list_name" in sheet.columns else ("listname" if "listname" in sheet.columns else None)
    if list_key is None or "name" not in sheet.columns:
        missing = "list_name" if list_key is None else "name"
        raise file_error(source, f"sheet 'choices', row 1: the header has no '{missing}' column",
                         hint="the choices sheet needs list_name, name and label columns")
    label_key, others = _label_column(sheet, language, col, "label")
    for other in others:
        col.lose("instrument", "translations", f"choice labels in '{sheet.columns[other]}' are not kept "
                 "(cseoutcomes definitions hold one language)")
    lists: dict[str, list[Choice]] = {}
    settings = _settings(sheets)
    duplicates_ok = settings.get("allow_choice_duplicates", "").casefold() in ("yes", "true", "1")
    for row, cells in sheet.rows:
        list_name = cells.get(list_key, "").strip()
        code = cells.get("name", "").strip()
        if not list_name:
            raise _err(source, sheet, row, list_key, "the choice has no list name", "give every choice its list_name")
        if not code:
            raise _err(source, sheet, row, "name", f"a choice of list '{list_name}' has no name",
                       "the name is the code saved in the data")
        entries = lists.setdefault(list_name, [])
        if any(c.code.casefold() == code.casefold() for c in entries):
            if duplicates_ok:
                continue
            raise _err(source, sheet, row, "name", f"list '{list_name}' has the choice '{code}' twice",
                       "give each choice its own name")
        label = cells.get(label_key, "") if label_key else ""
        entries.append(Choice(code, clean_label(label, code)))
    return lists


def _parse_parameters(text: str) -> dict[str, str]:
    return dict(re.findall(r"([A-Za-z_-]+)\s*=\s*([^\s,;]+)", text or ""))


def _native(sheets: dict[str, Sheet], source: str, col: Collector, language: str | None, metadata: bool) -> Native:
    survey = sheets["survey"]
    settings = _settings(sheets)
    for key in ("type", "name"):
        if key not in survey.columns:
            raise file_error(source, f"sheet 'survey', row 1: the header has no '{key}' column",
                             hint="the survey sheet needs type, name and label columns")
    language = language or settings.get("default_language")
    label_key, others = _label_column(survey, language, col, "label")
    hint_key, _ = _label_column(survey, language, col, "hint")
    for other in others:
        col.lose("instrument", "translations", f"labels in '{survey.columns[other]}' are not kept (cseoutcomes "
                 "definitions hold one language)")
    lists = _choices(sheets, source, language, col)
    form_id = settings.get("form_id")
    version_text = settings.get("version")
    version = version_text if version_text and _SEMVER.match(version_text) else None
    if version_text and version is None:
        col.lose("instrument", "version", f"the form version '{version_text}' is not a semantic version "
                 "(MAJOR.MINOR.PATCH); read as 1.0.0")
    native = Native(FMT, source, id=to_slug(form_id) if form_id else to_slug(Path(source).stem),
                    title=settings.get("form_title") or None, version=version)
    meta_on = False
    if metadata and COL_DEF in survey.columns:
        pieces = [(cells[COL_DEF].strip(), f"sheet 'survey', row {row}, column '{survey.columns[COL_DEF]}'")
                  for row, cells in survey.rows if cells.get(COL_DEF, "").strip()]
        if pieces:
            native.inst_meta = unpack(pieces, source)
            meta_on = True
    # first pass: names and what they are
    rows: list[tuple[int, dict[str, str], str, str | None, bool]] = []
    seen: dict[str, int] = {}
    depth = 0
    for row, cells in survey.rows:
        qtype, arg, other = _parse_type(cells.get("type", ""))
        qname = cells.get("name", "").strip()
        if not qtype:
            if qname:
                raise _err(source, survey, row, "type", f"'{qname}' has no type", "give every question a type")
            continue
        if qtype not in _TYPES:
            raise _err(source, survey, row, "type", f"'{cells.get('type', '').strip()}' is not an XLSForm question "
                       "type", "use select_one <list>, integer, text, begin_group... (see xlsform.org)")
        if qtype in ("end_group", "end_repeat"):
            depth -= 1
            if depth < 0:
                raise _err(source, survey, row, "type", f"{qtype.replace('_', ' ')} without a matching begin",
                           "remove it or add the begin row")
            rows.append((row, cells, qtype, arg, other))
            continue
        if not qname:
            raise _err(source, survey, row, "name", f"the {qtype.replace('_', ' ')} has no name",
                       "give every question a name (letters, digits and '_')")
        if not _NAME.match(qname):
            raise _err(source, survey, row, "name", f"'{qname}' is not a valid XLSForm name",
                       "names start with a letter or '_' and hold letters, digits, '_', '-' and '.'")
        if qname in seen:
            raise _err(source, survey, row, "name", f"the name '{qname}' is also used on row {seen[qname]}",
                       "names must be unique")
        seen[qname] = row
        if qtype in ("begin_group", "begin_repeat"):
            depth += 1
        if qtype in ("select_one", "select_multiple", "rank"):
            if not arg:
                raise _err(source, survey, row, "type", f"'{qtype}' needs a choice list name",
                           f"write '{qtype} <list_name>'")
            if arg not in lists:
                raise _err(source, survey, row, "type", f"the choice list '{arg}' is not on the choices sheet",
                           "add its choices, or correct the list name")
        rows.append((row, cells, qtype, arg, other))
    if depth > 0:
        raise file_error(source, f"sheet 'survey': {depth} group{'s' * (depth > 1)} or repeat{'s' * (depth > 1)} "
                         "not closed", hint="add an end_group (or end_repeat) row for each begin")
    targets: dict[str, _logic.Target] = {}
    options: dict[tuple[str, str], str] = {}
    taken = set(seen)
    for row, cells, qtype, arg, _ in rows:
        qname = cells.get("name", "").strip()
        role = cells.get(COL_ROLE, "").strip() if meta_on else ""
        if qtype == "select_one":
            targets[qname] = _logic.Target("item", qname, tuple(c.code for c in lists[arg]))  # type: ignore[index]
        elif qtype == "select_multiple":
            for c in lists[arg]:  # type: ignore[index]
                item_id = unique(to_name(f"{qname}___{c.code}"), taken)
                options[(qname, c.code)] = item_id
                targets[item_id] = _logic.Target("item", item_id, ("0", "1"))
        elif qtype == "range":
            rng = _range(cells, source, survey, row)
            if rng is not None:
                targets[qname] = _logic.Target("item", qname, tuple(str(v) for v in rng))
            else:
                targets[qname] = _logic.Target("context", qname)
        elif qtype in ("integer", "decimal"):
            name = role.split(":", 1)[1] if role.startswith("context:") else qname
            targets[qname] = _logic.Target("context", name)
        elif qtype == "calculate":
            targets[qname] = _logic.Target("score", role.split(":", 1)[1] if role.startswith("score:") else qname)

    def lookup(ref: _logic.Ref) -> _logic.Target | None:
        return targets.get(ref.name)

    def convert(text: str) -> tuple[Condition | None, str | None, str | None]:
        if not text.strip():
            return None, None, None
        shown = " ".join(text.split())
        try:
            node = _logic.parse(text, _logic.XLSFORM)
            node = _selected_multiple(node, options)
            return _logic.to_condition(node, lookup), shown, None
        except _logic.LogicError as exc:
            return None, shown, f"the relevant formula cannot be read as a condition: {exc}"

    # second pass
    stack: list[tuple[str, str | None]] = []  # (kind, section id)
    section_logic: dict[str, tuple] = {}
    for row, cells, qtype, arg, other in rows:
        qname = cells.get("name", "").strip()
        label = cells.get(label_key, "") if label_key else ""
        hint = cells.get(hint_key, "") if hint_key else ""
        role = cells.get(COL_ROLE, "").strip() if meta_on else ""
        current = next((sid for _, sid in reversed(stack) if sid is not None), None)
        if qtype in ("begin_group", "begin_repeat"):
            sid = to_name(qname, "section")
            logic = convert(cells.get("relevant", ""))
            parent = current
            if parent is not None:
                col.note(f"group '{qname}' is inside group '{parent}': cseoutcomes sections are not nested, so it "
                         "is read as a section of its own")
                outer = section_logic.get(parent)
                if outer is not None and outer[0] is not None:
                    logic = (Condition.model_validate({"all": [outer[0]] + ([logic[0]] if logic[0] else [])})
                             if logic[0] is not None or not logic[1] else None, logic[1] or outer[1], logic[2])
            if qtype == "begin_repeat":
                col.lose(f"section:{sid}", "repeat", f"repeat '{qname}' ({_where(survey, row)}) is read as a section "
                         "asked once: an assessment holds one answer per item, so repeated answers need one "
                         "assessment row each")
            section_logic[sid] = logic
            native.sections.append(NSection(sid, label if label.strip() else qname, logic[0], logic[1] if logic[0]
                                            is None else None, logic[2]))
            stack.append((qtype, sid))
            continue
        if qtype in ("end_group", "end_repeat"):
            stack.pop()
            continue
        where = _where(survey, row)
        logic, logic_text, logic_why = convert(cells.get("relevant", ""))
        meta = None
        if meta_on and cells.get(COL_ITEM, "").strip():
            meta = decode_object(cells[COL_ITEM], cells[COL_ITEM].index("{") if "{" in cells[COL_ITEM] else 0,
                                 source, f"{where}, column '{survey.columns[COL_ITEM]}'")
        description = hint if hint.strip() else None
        shown = label if label.strip() else qname
        if qtype == "select_one":
            if other:
                col.lose(qname, "or_other", f"'or_other' ({where}): the free-text 'other' answer has no equivalent")
            options_of = lists[arg]  # type: ignore[index]
            native.items.append(NItem(qname, shown, where, choices=list(options_of), scale_name=arg,
                                      description=description, section=current, logic=logic, logic_text=logic_text,
                                      logic_why=logic_why, meta=meta))
        elif qtype == "select_multiple":
            for c in lists[arg]:  # type: ignore[index]
                item_id = options[(qname, c.code)]
                native.items.append(NItem(item_id, f"{shown}: {c.label or c.code}", where,
                                          scale={"type": "binary", "categories": [
                                              {"code": "0", "label": "Not selected", "value": 0.0},
                                              {"code": "1", "label": "Selected", "value": 1.0}]},
                                          scale_name="selected", description=description, section=current,
                                          logic=logic, logic_text=logic_text, logic_why=logic_why))
            col.lose(f"field:{qname}", "select_multiple", f"a select_multiple question ({where}) became "
                     f"{len(lists[arg])} binary items {qname}___<option>, one per option")  # type: ignore[index]
        elif qtype == "range":
            rng = _range(cells, source, survey, row)
            if rng is None:
                native.context.append(NContext(qname, "number", shown if label.strip() else None))
                col.note(f"{qname}: a range with a fractional step or over 1000 steps is read as a number context "
                         "field")
            else:
                cats = [{"code": str(v), "value": float(v)} for v in rng]
                native.items.append(NItem(qname, shown, where, scale={"type": "ordinal", "categories": cats},
                                          scale_name=f"range_{rng[0]}_{rng[-1]}".replace("-", "m"),
                                          description=description, section=current, logic=logic,
                                          logic_text=logic_text, logic_why=logic_why))
        elif qtype in ("integer", "decimal"):
            if role.startswith("recency:"):
                continue
            name = role.split(":", 1)[1] if role.startswith("context:") else qname
            native.context.append(NContext(name, "number", label if label.strip() and label != qname else None))
            constraint = cells.get("constraint", "").strip()
            if constraint:
                col.lose(f"context:{name}", "range", f"context fields carry no range ({where}: constraint "
                         f"'{constraint}')")
        elif qtype == "calculate":
            if role.startswith("score:") or cells.get(COL_DEF, "").strip():
                continue
            score = _parse_calculation(qname, shown if label.strip() else qname, cells.get("calculation", ""),
                                       targets)
            if score is None:
                col.lose(f"field:{qname}", "calculate", f"the calculation ({where}) is not a sum or mean of items; "
                         "left out", " ".join(cells.get("calculation", "").split()))
            else:
                native.scores.append(score)
        elif qtype in _FREE_TYPES or qtype in ("rank", "select_one_from_file", "select_multiple_from_file", "trigger"):
            col.lose(f"field:{qname}", qtype, f"a {qtype} question ({where}) is not part of an instrument")
    if not native.items and not meta_on:
        raise file_error(source, "has no select_one, select_multiple or range questions to make items of",
                         hint="an instrument needs questions with fixed answers")
    return native


def _range(cells: dict[str, str], source: str, sheet: Sheet, row: int) -> list[int] | None:
    params = _parse_parameters(cells.get("parameters", ""))
    try:
        start = float(params.get("start", 0))
        end = float(params.get("end", 10))
        step = float(params.get("step", 1))
    except ValueError:
        raise _err(source, sheet, row, "parameters", "the range's start, end and step must be numbers",
                   "e.g. start=1 end=10 step=1") from None
    if step == 0 or (end - start) / step < 0:
        raise _err(source, sheet, row, "parameters", "the range's step does not lead from start to end",
                   "e.g. start=1 end=10 step=1")
    if not (start.is_integer() and end.is_integer() and step.is_integer()) or abs((end - start) / step) > 1000:
        return None
    return list(range(int(start), int(end) + (1 if step > 0 else -1), int(step)))


def _selected_multiple(node, options: dict[tuple[str, str], str]):
    """``selected(${q}, 'a')`` on a select_multiple is the item ``q___a`` being 1."""
    if isinstance(node, _logic.Bool):
        return _logic.Bool(node.op, tuple(_selected_multiple(p, options) for p in node.parts))
    if isinstance(node, _logic.Cmp) and node.op == "selected" and (node.ref.name, str(node.value)) in options:
        return _logic.Cmp(_logic.Ref(options[(node.ref.name, str(node.value))]), "=", "1")
    return node


_XREF = r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}"


def parse_calculation_text(text: str) -> tuple[str, list[str]] | None:
    """(method, names) of ``${a} + ${b}`` (sum) or ``(${a} + ${b}) div 2`` (mean), else None."""
    expr = "".join(text.split())
    m = re.fullmatch(rf"\(({_XREF}(?:\+{_XREF})*)\)div(\d+)", expr)
    if m:
        names = re.findall(_XREF, m.group(1))
        if int(m.group(m.lastindex)) == len(names):  # type: ignore[arg-type]
            return "mean", names
        return None
    while expr.startswith("(") and expr.endswith(")"):
        expr = expr[1:-1]
    if re.fullmatch(rf"{_XREF}(?:\+{_XREF})*", expr) and "+" in expr:
        return "sum", re.findall(_XREF, expr)
    return None


def _parse_calculation(qname: str, label: str, text: str, targets: dict[str, _logic.Target]) -> NScore | None:
    parsed = parse_calculation_text(text)
    if parsed is None:
        return None
    method, names = parsed
    ids = []
    for n in names:
        t = targets.get(n)
        if t is None or t.kind != "item":
            return None
        ids.append(t.id)
    return NScore(to_name(qname, "score"), label, method, ids, None)


# ---------------------------------------------------------------------------
# export

_SURVEY = ("type", "name", "label", "hint", "relevant", "constraint", "calculation")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def to_xlsform(instrument: Instrument | str, path: str | Path | None = None, *, metadata: bool = True) -> Exported:
    """Write an instrument as an XLSForm.

    Parameters
    ----------
    instrument
        An :class:`~cseoutcomes.Instrument` or a registered id.
    path
        ``something.xlsx`` for a workbook; a folder (or a name without
        ``.xlsx``) for CSV sheets ``survey.csv``, ``choices.csv`` and
        ``settings.csv``; None to return the sheets as
        ``{"survey": rows, "choices": rows, "settings": rows}`` (lists of
        rows, the header first).
    metadata
        Also write the cseoutcomes metadata columns, so :func:`from_xlsform`
        restores the definition exactly.

    Returns
    -------
    Exported
        ``(path or sheets, losses)``.
    """
    from cseoutcomes.instruments.scoring import _resolve_instrument

    inst = _resolve_instrument(instrument)
    col = Collector(f"cseoutcomes -> {FMT}")
    native = Collector("native")
    ctx_names, item_names, section_names, recency_names, taken = export_names(inst)
    score_names = {s.id: unique(s.id if s.id not in taken else f"{s.id}_score", taken) for s in inst.scores}
    survey: list[dict[str, str]] = []
    if metadata:
        for n, piece in enumerate(pack(instrument_meta(inst)), 1):
            survey.append({"type": "calculate", "name": unique("cseoutcomes_definition" + ("" if n == 1 else f"_{n}"),
                                                               taken),
                           "calculation": f"'{inst.key}'", COL_DEF: piece})
    for name, ctx in inst.context.items():
        row = {"name": ctx_names[name], "label": ctx.label or ctx_names[name]}
        if ctx.type == "number":
            row["type"] = "decimal"
        elif ctx.type == "boolean":
            row.update(type="integer", constraint=". = 0 or . = 1", hint="0 = no, 1 = yes")
        else:
            row["type"] = "text"
        if metadata:
            row[COL_ROLE] = f"context:{name}"
        survey.append(row)

    def name_of(kind: str, ident: str) -> str | None:
        return {"item": item_names, "context": ctx_names, "score": score_names}[kind].get(ident)

    def section_items(sid: str) -> list[tuple[str, tuple[str, ...]]]:
        return [(i.id, inst.scale_of(i).codes + inst.scale_of(i).missing_codes) for i in inst.items
                if i.section == sid]

    relevant: dict[str, str] = {}
    for s in inst.sections:
        if s.applies_when is not None:
            try:
                relevant[s.id] = _logic.render(s.applies_when, _logic.XLSFORM, name_of, section_items)
            except _logic.LogicError as exc:
                native.lose(f"section:{s.id}", "applies_when", f"an XLSForm relevant formula cannot say it: {exc}")
    back_section = section_run_losses(inst, native, FMT)
    sections = {s.id: s for s in inst.sections}
    current: str | None = None
    for item in inst.items:
        target = back_section[item.id]
        if target != current:
            if current is not None:
                survey.append({"type": "end_group"})
            if target is not None:
                survey.append({"type": "begin_group", "name": section_names[target], "label": sections[target].label,
                               **({"relevant": relevant[target]} if target in relevant else {})})
            current = target
        row = {"type": f"select_one {item.scale}", "name": item_names[item.id], "label": item.text or item.label}
        if item.description is not None:
            row["hint"] = item.description
        if metadata:
            row[COL_ITEM] = meta_json(item_meta(item))
        survey.append(row)
        if item.recency is not None:
            survey.append({"type": "decimal", "name": recency_names[item.id], "constraint": ". >= 0",
                           "label": f"{item.label}: months since last present (blank: now)",
                           **({COL_ROLE: f"recency:{item.id}"} if metadata else {})})
    if current is not None:
        survey.append({"type": "end_group"})
    calcs: dict[str, str] = {}
    for s in inst.scores:
        calc = _calculation(s, inst, item_names)
        if calc is None:
            continue
        calcs[s.id] = calc
        survey.append({"type": "calculate", "name": score_names[s.id], "label": s.label, "calculation": calc,
                       **({COL_ROLE: f"score:{s.id}"} if metadata else {})})
    used = list(dict.fromkeys(i.scale for i in inst.items))
    choices = [{"list_name": name, "name": ch.code, "label": ch.label or ch.code}
               for name in used for ch in written_choices(inst.response_scales[name])]
    settings = {"form_title": inst.title, "form_id": inst.id, "version": inst.version}
    if metadata:
        settings["namespaces"] = NAMESPACE
    _native_losses(inst, native, item_names, ctx_names, score_names, section_names, relevant, calcs, back_section)
    if metadata:
        metadata_note(native, col, FMT)
    else:
        for loss in native.losses:
            col.lose(loss.item, loss.what, loss.why, loss.detail)
    survey_cols = [*_SURVEY, *((COL_ITEM, COL_ROLE, COL_DEF) if metadata else ())]
    sheets = {
        "survey": [list(survey_cols)] + [[r.get(c, "") for c in survey_cols] for r in survey],
        "choices": [["list_name", "name", "label"]] + [[r["list_name"], r["name"], r["label"]] for r in choices],
        "settings": [list(settings), list(settings.values())],
    }
    sheets = _clean_cells(sheets, col, path)
    if path is None:
        return Exported(sheets, col.report())
    return Exported(_write(sheets, Path(path)), col.report())


def _clean_cells(sheets: dict[str, list[list[str]]], col: Collector, path) -> dict[str, list[list[str]]]:
    """Characters a workbook cannot hold (control characters) are dropped, and reported."""
    if path is not None and Path(path).suffix.lower() not in (".xlsx", ".xlsm"):
        return sheets
    out = {}
    for name, rows in sheets.items():
        fixed = []
        for n, row in enumerate(rows, 1):
            new = []
            for value in row:
                text = value.replace("\r\n", "\n").replace("\r", "\n")
                clean = _ILLEGAL.sub("", text)
                if clean != value:
                    who = row[1] if name == "survey" and len(row) > 1 and row[1] else f"row {n}"
                    col.lose(f"{name}:{who}", "text", "control characters (and carriage returns) cannot be stored in "
                             "a workbook cell; they were removed")
                new.append(clean)
            fixed.append(new)
        out[name] = fixed
    return out


def _write(sheets: dict[str, list[list[str]]], path: Path) -> Path:
    from cseoutcomes.errors import DataError

    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            import openpyxl

            wb = openpyxl.Workbook()
            wb.remove(wb.active)
            for name, rows in sheets.items():
                ws = wb.create_sheet(name)
                for r, row in enumerate(rows, 1):
                    for c, value in enumerate(row, 1):
                        if value != "":
                            cell = ws.cell(row=r, column=c, value=value)
                            cell.data_type = "s"  # never a formula, whatever the text starts with
            wb.save(path)
            return path
        path.mkdir(parents=True, exist_ok=True)
        for name, rows in sheets.items():
            with open(path / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
                csv.writer(fh, lineterminator="\r\n").writerows(rows)
        return path
    except OSError as exc:
        raise DataError(f"cannot be written ({exc.strerror or type(exc).__name__})", where=str(path),
                        hint="check the folder exists and is writable", exit_code=2) from None


def _calculation(s: Score, inst: Instrument, names: dict[str, str]) -> str | None:
    items = inst.score_items(s)
    if not items:
        return None
    scales = [inst.scale_of(i) for i in items]
    numeric_codes = all(c.value is not None and re.fullmatch(r"-?\d+(\.\d+)?", c.code) and float(c.code) == c.value
                        for sc in scales for c in sc.categories)
    refs = ["${" + names[i.id] + "}" for i in items]
    if s.method in ("sum", "mean") and numeric_codes:
        terms = []
        for item, sc, ref in zip(items, scales, refs, strict=True):
            term = ref
            if item.reverse:
                lo, hi = sc.value_range()
                term = f"({_logic._fmt_number(lo + hi)} - {ref})"
            if item.weight != 1:
                term = f"{_logic._fmt_number(item.weight)} * {term}"
            terms.append(term)
        total = " + ".join(terms)
        if s.method == "sum":
            return total
        weight = sum(i.weight for i in items)
        return f"({total}) div {_logic._fmt_number(weight)}"
    if s.method == "weighted_count" and s.counts:
        terms = []
        for item, ref in zip(items, refs, strict=True):
            codes = [c for c in s.counts if c.casefold() in {x.casefold() for x in inst.scale_of(item).codes}]
            test = " or ".join(f"{ref} = {_logic._quote(c)}" for c in codes)
            points = item.recency.windows[0].weight if item.recency else item.weight
            terms.append(f"if({test}, {_logic._fmt_number(points)}, 0)")
        return " + ".join(terms)
    return None


def _native_losses(inst: Instrument, col: Collector, item_names, ctx_names, score_names, section_names, relevant,
                   calcs, back_section) -> None:
    instrument_losses(inst, col, FMT, id_back=inst.id, title_back=inst.title, version_back=inst.version,
                      description_back=None)
    context_losses(inst, col, FMT, back_types={"number": "number", "boolean": "number"}, name_of=lambda n: ctx_names[n])
    item_losses(inst, col, FMT, description=True, names=item_names,
                renamed="written as '{name}' (names must be unique in a form)")
    back_scales = {name: infer_scale([Choice(c.code, clean_label(c.label, c.code)) for c in
                                      written_choices(inst.response_scales[name])]).scale
                   for name in {i.scale for i in inst.items}}
    scale_losses(inst, col, FMT, back_scales, name_hint=lambda i: inst.get_item(i).scale, item_back_id=lambda i: item_names[i])
    targets: dict[str, _logic.Target] = {}
    for item in inst.items:
        sc = inst.scale_of(item)
        targets[item_names[item.id]] = _logic.Target("item", item.id, sc.codes + sc.missing_codes)
    for name, ctx in inst.context.items():
        if ctx.type != "category":
            targets[ctx_names[name]] = _logic.Target("context", ctx_names[name], ctype="number")
    for sid, fname in score_names.items():
        if sid in calcs:
            targets[fname] = _logic.Target("score", fname)
    for s in inst.sections:
        if s.id in relevant and any(back_section[i.id] == s.id for i in inst.items):
            try:
                back = _logic.to_condition(_logic.parse(relevant[s.id], _logic.XLSFORM),
                                           lambda ref: targets.get(ref.name))
            except _logic.LogicError:
                back = None
            if back is None:
                col.lose(f"section:{s.id}", "applies_when", "written as a relevant formula that does not read back "
                         "as a condition", relevant[s.id])
                col.lose("instrument", "notes", "a relevant formula that does not read back as a condition is kept "
                         "there as text")
            elif back != s.applies_when:
                col.lose(f"section:{s.id}", "applies_when", "written as a relevant formula that reads back as a "
                         "different (equivalent or approximate) condition", relevant[s.id])
    for s in inst.sections:
        if section_names[s.id] != s.id:
            col.lose(f"section:{s.id}", "id", f"written as the group '{section_names[s.id]}' (names must be unique "
                     "in a form)")
    for s in inst.scores:
        if score_names[s.id] != s.id:
            col.lose(f"score:{s.id}", "id", f"written as the calculate question '{score_names[s.id]}'")
        parsed = parse_calculation_text(calcs[s.id]) if s.id in calcs else None
        if parsed is None:
            col.lose(f"score:{s.id}", "score", "XLSForm calculations read back only as plain sums ${a} + ${b} and "
                     "means (${a} + ${b}) div n of items" + (" (the calculation is written for the form to compute)"
                                                           if s.id in calcs else ""))
            continue
        _method, names = parsed
        back_ids = [next(i for i, n in item_names.items() if n == name) for name in names]
        if not all(all("value" in c for c in back_scales[inst.get_item(i).scale]["categories"]) for i in back_ids):
            col.lose(f"score:{s.id}", "score", "an item it uses reads back with codes that are not all numbers")
            continue
        orig = s.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        if orig.get("items") is not None and back_ids == [i.id for i in inst.items]:
            col.lose(f"score:{s.id}", "items", "a score of every item reads back without an item list")
        if s.sections is not None:
            col.lose(f"score:{s.id}", "sections", "reads back as a list of items")
        if orig.get("missing"):
            col.lose(f"score:{s.id}", "missing", "an XLSForm calculation is blank when any item is: only rule "
                     "complete is carried")
        for key in ("bands", "overrides", "transform", "change"):
            if orig.get(key):
                col.lose(f"score:{s.id}", key, "XLSForm has no place for it")

