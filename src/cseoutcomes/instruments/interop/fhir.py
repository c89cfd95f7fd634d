"""FHIR R4 Questionnaire resources (JSON).

Specification: https://hl7.org/fhir/R4/questionnaire.html; the item weight
extension ``http://hl7.org/fhir/StructureDefinition/itemWeight`` (called
``ordinalValue`` before, and read under both names).

Mapping (instrument -> Questionnaire -> instrument):

- ``id`` (FHIR ids allow letters, digits, ``-`` and ``.``: ``_`` becomes
  ``-``), ``name`` (a computable name), ``title``, ``version``,
  ``description``, ``status`` ``draft``; a licence notice is ``copyright``;
- an item is a ``choice`` item: ``linkId`` = id, ``text`` = its text or
  label; each category an ``answerOption`` ``valueCoding`` (``code``,
  ``display``) with its value in an ``itemWeight`` extension; each missing
  code an option from the HL7 ``data-absent-reason`` code system (unknown,
  asked-declined, not-asked, not-applicable, temp-unknown), so its meaning
  travels but its code becomes that system's;
- a section is a ``group`` item; its routing the group's ``enableWhen``
  (one level: a list of tests joined by ``enableBehavior`` all or any);
- a number context field is a ``decimal`` item, a boolean one a ``boolean``
  item;
- scores have no place in a Questionnaire: they travel only in the
  cseoutcomes metadata, and items that compute a value (the SDC
  ``calculatedExpression`` extension) are reported on import, not converted.

cseoutcomes metadata travels in extensions: ``urn:cseoutcomes:fhir:instrument``
on the Questionnaire, ``urn:cseoutcomes:fhir:item`` on each item and
``urn:cseoutcomes:fhir:role`` on context, recency and group items.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cseoutcomes.instruments.conditions import Condition
from cseoutcomes.instruments.interop import _logic
from cseoutcomes.instruments.interop._common import (
    Choice,
    Native,
    NContext,
    NItem,
    NSection,
    build,
    export_names,
    file_error,
    infer_scale,
    instrument_meta,
    item_meta,
    meta_json,
    read_text,
    to_name,
    to_slug,
    unique,
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
from cseoutcomes.instruments.schema import Instrument

__all__ = ["from_fhir", "to_fhir"]

FMT = "FHIR Questionnaire"
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
CO_VALUE = "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value"
CALCULATED = ("http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression",
              "http://hl7.org/fhir/StructureDefinition/cqf-expression")
DAR = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
EXT_INSTRUMENT = "urn:cseoutcomes:fhir:instrument"
EXT_ITEM = "urn:cseoutcomes:fhir:item"
EXT_ROLE = "urn:cseoutcomes:fhir:role"
#: missing-code meaning -> data-absent-reason code
DAR_OF = {"unknown": "unknown", "not_asked": "not-asked", "declined": "asked-declined",
          "not_applicable": "not-applicable", "not_known_yet": "temp-unknown"}
MEANING_OF = {**{v: k for k, v in DAR_OF.items()}, "asked-unknown": "unknown", "masked": "declined",
              "not-performed": "not_asked", "not-permitted": "declined"}
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$")
_OPERATORS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def fhir_id(inst_id: str) -> str:
    """A FHIR resource id for an instrument id (letters, digits, '-' and '.', at most 64)."""
    return re.sub(r"[^A-Za-z0-9.\-]", "-", inst_id)[:64]


def _computable_name(inst_id: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", inst_id) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Instrument"
    return name if name[0].isalpha() else f"Q{name}"


def _ext(obj: Mapping[str, Any], url: str) -> Any:
    for e in obj.get("extension", []) or []:
        if isinstance(e, Mapping) and e.get("url") == url:
            for key, value in e.items():
                if key.startswith("value"):
                    return value
    return None


# ---------------------------------------------------------------------------
# import


def _load(source: Any) -> tuple[dict[str, Any], str]:
    if isinstance(source, Mapping):
        return dict(source), "<FHIR Questionnaire>"
    if isinstance(source, (str, Path)) and (isinstance(source, Path) or not str(source).lstrip().startswith("{")):
        path = Path(source)
        text = read_text(path, "FHIR Questionnaire (JSON)")
        name = str(path)
    elif isinstance(source, str):
        text, name = source, "<FHIR Questionnaire>"
    else:
        raise TypeError(f"give a Questionnaire as a dict, JSON text or a path, not {type(source).__name__}")
    if text.lstrip().startswith("<"):
        raise file_error(name, "is FHIR XML; only the JSON form is read", hint="convert it to JSON (e.g. with the "
                         "FHIR validator or a FHIR server's _format=json)", exit_code=2)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise file_error(name, f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
                         hint="check the file is a FHIR Questionnaire in JSON", exit_code=2) from None
    if not isinstance(data, dict):
        raise file_error(name, "is not a JSON object", hint="a Questionnaire is one JSON object")
    return data, name


def from_fhir(source: Any, *, kind: str | None = None, id: str | None = None, version: str | None = None,
              title: str | None = None, metadata: bool = True) -> Imported:
    """Read a FHIR R4 Questionnaire (a dict, JSON text or a ``.json`` file) as an instrument.

    ``answerOption`` values come from the ``itemWeight`` extension (or the
    older ``ordinalValue`` and ``iso21090-CO-value``); options from the
    ``data-absent-reason`` code system are missing codes. Returns
    ``(instrument, losses)``.
    """
    data, name = _load(source)
    if data.get("resourceType") != "Questionnaire":
        raise file_error(name, f"is a FHIR {data.get('resourceType') or 'resource without a resourceType'}, not a "
                         "Questionnaire", hint="give a Questionnaire resource")
    col = Collector(f"{FMT} -> cseoutcomes")
    native = _native(data, name, col, metadata)
    inst = build(native, col, kind=kind, identity={"id": id, "version": version, "title": title})
    return Imported(inst, col.report())


def _where(path: list[str]) -> str:
    return "item " + " > ".join(f"'{p}'" for p in path)


def _options(item: Mapping[str, Any], data: Mapping[str, Any], source: str, where: str,
             col: Collector | None = None) -> list[Choice] | None:
    options = item.get("answerOption")
    if options is None and item.get("answerValueSet"):
        ref = str(item["answerValueSet"])
        if not ref.startswith("#"):
            return None
        vs = next((c for c in data.get("contained", []) or [] if c.get("resourceType") == "ValueSet"
                   and c.get("id") == ref[1:]), None)
        if vs is None:
            raise file_error(source, f"{where}, answerValueSet: the contained ValueSet '{ref}' is not in the "
                             "Questionnaire", hint="add it to 'contained' or list the options in answerOption")
        options = []
        for inc in (vs.get("compose", {}) or {}).get("include", []) or []:
            for concept in inc.get("concept", []) or []:
                options.append({"valueCoding": {"system": inc.get("system"), "code": concept.get("code"),
                                                "display": concept.get("display"),
                                                "extension": concept.get("extension", [])}})
    if not options:
        return None
    out: list[Choice] = []
    no_code: list[str] = []
    for n, opt in enumerate(options):
        if not isinstance(opt, Mapping):
            raise file_error(source, f"{where}, answerOption[{n}]: is not an object")
        coding = opt.get("valueCoding")
        system = None
        if isinstance(coding, Mapping):
            code, label, system = coding.get("code"), coding.get("display"), coding.get("system")
            weight = _ext(opt, ITEM_WEIGHT)
            for url in (ITEM_WEIGHT, ORDINAL_VALUE, CO_VALUE):
                weight = weight if weight is not None else _ext(coding, url)
            if weight is None:
                weight = _ext(opt, ORDINAL_VALUE)
        else:
            value = next((v for k, v in opt.items() if k.startswith("value") and k != "valueCoding"), None)
            code, label, weight = value, None, _ext(opt, ITEM_WEIGHT) or _ext(opt, ORDINAL_VALUE)
            if isinstance(value, bool) or value is None:
                raise file_error(source, f"{where}, answerOption[{n}]: an option needs a valueCoding, valueString "
                                 "or valueInteger")
        if (code is None or str(code).strip() == "") and isinstance(label, str) and label.strip():
            code = label.strip()  # a coding with a display only: the display is what a response records
            no_code.append(code)
        if code is None or str(code).strip() == "":
            raise file_error(source, f"{where}, answerOption[{n}]: the option has no code",
                             hint="give each valueCoding a code")
        code = str(code).strip() if not isinstance(code, float) or not code.is_integer() else str(int(code))
        if weight is not None and not isinstance(weight, (int, float)):
            raise file_error(source, f"{where}, answerOption[{n}]: the item weight is not a number")
        meaning = MEANING_OF.get(code, "unknown") if system == DAR else None
        if any(c.code.casefold() == code.casefold() for c in out):
            raise file_error(source, f"{where}, answerOption[{n}]: the code '{code}' is used twice",
                             hint="give each option its own code")
        out.append(Choice(code, label if isinstance(label, str) and label != "" else None,
                          float(weight) if weight is not None and meaning is None else None, meaning))
    if no_code and col is not None:
        col.note(f"{where}: {len(no_code)} option(s) have a display but no code; the display is used as the code")
    return out


def _native(data: dict[str, Any], source: str, col: Collector, metadata: bool) -> Native:
    version = data.get("version")
    if version is not None and not _SEMVER.match(str(version)):
        col.lose("instrument", "version", f"the version '{version}' is not a semantic version; read as 1.0.0")
        version = None
    rid = data.get("id") or data.get("name")
    native = Native(FMT, source, id=to_slug(str(rid)) if rid else None, title=data.get("title") or data.get("name"),
                    version=version, description=data.get("description"), carries_description=False,
                    expected_choices=lambda scale: option_choices(_answer_options(scale)))
    if metadata:
        meta = _ext(data, EXT_INSTRUMENT)
        if isinstance(meta, str):
            try:
                native.inst_meta = json.loads(meta)
            except json.JSONDecodeError as exc:
                raise file_error(source, f"extension '{EXT_INSTRUMENT}': the cseoutcomes metadata is not valid JSON "
                                 f"({exc.msg})", hint="export it again, or remove the extension") from None
    meta_on = native.inst_meta is not None
    if data.get("copyright") and not meta_on:
        col.note("the copyright statement is kept as the licence notice")
    items = data.get("item", []) or []
    if not isinstance(items, list):
        raise file_error(source, "'item' is not a list", hint="a Questionnaire's items are a JSON array")
    # first pass: ids and targets
    ids: dict[str, str] = {}
    targets: dict[str, _logic.Target] = {}
    taken: set[str] = set()
    flat: list[tuple[list[str], Mapping[str, Any], list[Mapping[str, Any]]]] = []

    def walk(nodes: list[Any], path: list[str], groups: list[Mapping[str, Any]]) -> None:
        for n, node in enumerate(nodes):
            if not isinstance(node, Mapping):
                raise file_error(source, f"{_where(path) if path else 'item'}[{n}]: is not an object")
            link = node.get("linkId")
            if not isinstance(link, str) or not link.strip():
                raise file_error(source, f"{_where(path) if path else 'item'}[{n}]: the item has no linkId",
                                 hint="every item needs a linkId")
            if link in ids:
                raise file_error(source, f"{_where([*path, link])}: the linkId is used twice",
                                 hint="linkIds must be unique")
            ids[link] = unique(to_name(link, "item"), taken)
            here = [*path, link]
            flat.append((here, node, groups))
            if node.get("item"):
                walk(node["item"], here, [*groups, node] if node.get("type") == "group" else groups)

    walk(items, [], [])
    for here, node, _ in flat:
        link, ntype = here[-1], node.get("type")
        role = str(_ext(node, EXT_ROLE) or "") if meta_on else ""
        if ntype in ("choice", "open-choice", "coding"):
            options = _options(node, data, source, _where(here))
            if options is not None:
                if node.get("repeats"):
                    for c in options:
                        targets[f"{link}\x00{c.code}"] = _logic.Target("item", ids[link] + "___" + c.code, ("0", "1"))
                else:
                    targets[link] = _logic.Target("item", ids[link], tuple(c.code for c in options))
        elif ntype in ("integer", "decimal"):
            targets[link] = _logic.Target("context", role.split(":", 1)[1] if role.startswith("context:") else
                                          ids[link])
        elif ntype == "boolean":
            targets[link] = _logic.Target("context", role.split(":", 1)[1] if role.startswith("context:") else
                                          ids[link], ctype="boolean")
    # second pass
    section_of: dict[str, str] = {}
    for here, node, groups in flat:
        link, ntype = here[-1], node.get("type")
        where = _where(here)
        role = str(_ext(node, EXT_ROLE) or "") if meta_on else ""
        logic, logic_text, logic_why = _enable_when(node, targets, ids, where)
        if ntype == "group":
            sid = ids[link]
            if groups:
                col.note(f"group '{link}' is inside group '{groups[-1].get('linkId')}': cseoutcomes sections are not "
                         "nested, so it is read as a section of its own")
                outer = next((s for s in native.sections if s.id == section_of.get(groups[-1].get("linkId"))), None)
                if outer is not None and outer.logic is not None:
                    logic = Condition.model_validate({"all": [outer.logic] + ([logic] if logic else [])})
            section_of[link] = sid
            native.sections.append(NSection(sid, node.get("text") or link, logic, logic_text if logic is None
                                            else None, logic_why))
            continue
        section = section_of.get(groups[-1].get("linkId")) if groups else None
        label = node.get("text") if isinstance(node.get("text"), str) and node.get("text") else link
        calculated = next((_ext(node, url) for url in CALCULATED if _ext(node, url) is not None), None)
        if calculated is not None:
            expr = calculated.get("expression") if isinstance(calculated, Mapping) else str(calculated)
            if not role.startswith(("score:", "recency:")):
                col.lose(f"field:{link}", "calculated", f"{where} computes a value; calculated items are noted, not "
                         "converted (declare the score under `scores`)", str(expr))
            continue
        meta = None
        if meta_on and _ext(node, EXT_ITEM) is not None:
            try:
                meta = json.loads(_ext(node, EXT_ITEM))
            except (TypeError, json.JSONDecodeError):
                raise file_error(source, f"{where}: the cseoutcomes item metadata is not valid JSON",
                                 hint="export it again, or remove the extension") from None
        if ntype in ("choice", "open-choice", "coding"):
            options = _options(node, data, source, where, col)
            if options is None:
                col.lose(f"field:{link}", "answerValueSet", f"{where}: its options are in an external value set "
                         f"({node.get('answerValueSet')}), which is not fetched")
                continue
            if ntype == "open-choice":
                col.lose(ids[link], "open-choice", f"{where}: the free-text answer beside the options has no "
                         "equivalent")
            if node.get("repeats"):
                for c in options:
                    target = targets[f"{link}\x00{c.code}"]
                    native.items.append(NItem(target.id, f"{label}: {c.label or c.code}", where,
                                              scale={"type": "binary", "categories": [
                                                  {"code": "0", "label": "Not selected", "value": 0.0},
                                                  {"code": "1", "label": "Selected", "value": 1.0}]},
                                              scale_name="selected", section=section, logic=logic,
                                              logic_text=logic_text, logic_why=logic_why))
                col.lose(f"field:{link}", "repeats", f"{where} allows several answers: it became {len(options)} "
                         f"binary items {ids[link]}___<code>")
                continue
            if ids[link] != link:
                col.lose(ids[link], "id", f"the linkId '{link}' is not a cseoutcomes id; read as '{ids[link]}'")
            native.items.append(NItem(ids[link], label, where, choices=options, values="weights", heuristics=False,
                                      section=section,
                                      logic=logic, logic_text=logic_text, logic_why=logic_why, meta=meta))
        elif ntype in ("integer", "decimal", "boolean"):
            if role.startswith("recency:"):
                continue
            name = role.split(":", 1)[1] if role.startswith("context:") else ids[link]
            text = node.get("text")
            native.context.append(NContext(name, "boolean" if ntype == "boolean" else "number",
                                           text if isinstance(text, str) and text and text != link else None))
        elif ntype == "display":
            continue
        else:
            col.lose(f"field:{link}", str(ntype), f"{where}: a {ntype} item is not part of an instrument")
    if not native.items and not meta_on:
        raise file_error(source, "has no choice items to make items of",
                         hint="an instrument needs questions with fixed answers (type choice with answerOption)")
    if data.get("copyright") and not meta_on:
        native.licence_notice = str(data["copyright"])
    return native


def _enable_when(node: Mapping[str, Any], targets: dict[str, _logic.Target], ids: dict[str, str], where: str
                 ) -> tuple[Condition | None, str | None, str | None]:
    tests = node.get("enableWhen")
    if not tests:
        return None, None, None
    shown = json.dumps(tests, ensure_ascii=False, separators=(",", ":"))
    behavior = node.get("enableBehavior") or "all"
    try:
        parts = [_one_test(t, targets) for t in tests]
        if len(parts) == 1:
            cond = parts[0]
        else:
            cond = Condition.model_validate({"all" if behavior == "all" else "any": parts})
        return _logic._simplify(cond), shown, None
    except _logic.LogicError as exc:
        return None, shown, f"the enableWhen cannot be read as a condition: {exc}"


def _one_test(test: Mapping[str, Any], targets: dict[str, _logic.Target]) -> Condition:
    if not isinstance(test, Mapping):
        raise _logic.LogicError("an enableWhen entry is not an object")
    question, op = test.get("question"), test.get("operator")
    if op not in _OPERATORS:
        raise _logic.LogicError(f"the operator '{op}' has no condition equivalent")
    answer_key = next((k for k in test if k.startswith("answer")), None)
    if answer_key is None:
        raise _logic.LogicError("the test has no answer")
    answer = test[answer_key]
    if answer_key == "answerCoding":
        value = answer.get("code") if isinstance(answer, Mapping) else None
    elif answer_key == "answerBoolean":
        raise _logic.LogicError("tests on yes/no (boolean) answers have no condition equivalent")
    else:
        value = answer
    if value is None:
        raise _logic.LogicError("the answer is empty")
    if isinstance(value, (int, float)):
        value = float(value)
    target = targets.get(str(question))
    if target is None:
        raise _logic.LogicError(f"'{question}' is not a choice or number item of this Questionnaire")
    return _logic._convert(_logic.Cmp(_logic.Ref(str(question)), _OPERATORS[op], value),
                           lambda ref: targets.get(ref.name))


# ---------------------------------------------------------------------------
# export


def to_fhir(instrument: Instrument | str, path: str | Path | None = None, *, metadata: bool = True) -> Exported:
    """Write an instrument as a FHIR R4 Questionnaire (a JSON-ready dict, or a ``.json`` file at ``path``).

    With ``metadata`` (default) the definition's own fields travel in
    extensions and :func:`from_fhir` restores it exactly. Returns
    ``(dict or path, losses)``.
    """
    from cseoutcomes.instruments.scoring import _resolve_instrument

    inst = _resolve_instrument(instrument)
    col = Collector(f"cseoutcomes -> {FMT}")
    native = Collector("native")
    ctx_links, item_links, section_links, recency_links, _ = export_names(inst)
    options = {name: _answer_options(scale) for name, scale in inst.response_scales.items()}
    q: dict[str, Any] = {"resourceType": "Questionnaire", "id": fhir_id(inst.id), "name": _computable_name(inst.id),
                         "title": inst.title, "version": inst.version, "status": "draft"}
    if inst.description:
        q["description"] = inst.description
    if inst.licence.notice:
        q["copyright"] = inst.licence.notice
    if metadata:
        q["extension"] = [{"url": EXT_INSTRUMENT, "valueString": meta_json(instrument_meta(inst))}]
    out_items: list[dict[str, Any]] = []
    for name, ctx in inst.context.items():
        node: dict[str, Any] = {"linkId": ctx_links[name], "text": ctx.label or ctx_links[name],
                                "type": {"number": "decimal", "boolean": "boolean"}.get(ctx.type, "string")}
        if metadata:
            node["extension"] = [{"url": EXT_ROLE, "valueString": f"context:{name}"}]
        out_items.append(node)
    enable: dict[str, tuple[list[dict], str | None]] = {}
    code_of = {name: {c.code: (coding["code"], coding.get("system")) for c, coding in zip(
        [*inst.response_scales[name].categories, *inst.response_scales[name].missing],
        [o["valueCoding"] for o in options[name]], strict=True)} for name in inst.response_scales}
    for s in inst.sections:
        if s.applies_when is not None:
            try:
                enable[s.id] = _render(s.applies_when, inst, item_links, ctx_links, code_of)
            except _logic.LogicError as exc:
                native.lose(f"section:{s.id}", "applies_when", f"enableWhen cannot say it: {exc}")
    back_section = section_run_losses(inst, native, "FHIR")
    sections = {s.id: s for s in inst.sections}
    group: dict[str, Any] | None = None
    current: str | None = None
    for item in inst.items:
        target = back_section[item.id]
        if target != current:
            group = None
            if target is not None:
                group = {"linkId": section_links[target], "text": sections[target].label, "type": "group", "item": []}
                if target in enable:
                    tests, behavior = enable[target]
                    group["enableWhen"] = tests
                    if behavior:
                        group["enableBehavior"] = behavior
                out_items.append(group)
            current = target
        node = {"linkId": item_links[item.id], "text": item.text or item.label, "type": "choice",
                "answerOption": options[item.scale]}
        if metadata:
            node["extension"] = [{"url": EXT_ITEM, "valueString": meta_json(item_meta(item))}]
        nodes = [node]
        if item.recency is not None:
            rec: dict[str, Any] = {"linkId": recency_links[item.id], "type": "decimal",
                                   "text": f"{item.label}: months since last present (blank: now)"}
            if metadata:
                rec["extension"] = [{"url": EXT_ROLE, "valueString": f"recency:{item.id}"}]
            nodes.append(rec)
        (group["item"] if group is not None else out_items).extend(nodes)
    q["item"] = out_items
    _native_losses(inst, native, item_links, ctx_links, section_links, options, enable, code_of)
    if metadata:
        metadata_note(native, col, "FHIR")
    else:
        for loss in native.losses:
            col.lose(loss.item, loss.what, loss.why, loss.detail)
    if path is None:
        return Exported(q, col.report())
    from cseoutcomes.data.io import write_text

    return Exported(write_text(json.dumps(q, indent=2, ensure_ascii=False) + "\n", path), col.report())


def _answer_options(scale) -> list[dict[str, Any]]:
    out = []
    used: set[str] = set()
    for c in scale.categories:
        coding: dict[str, Any] = {"code": c.code}
        if c.label is not None:
            coding["display"] = c.label
        option: dict[str, Any] = {"valueCoding": coding}
        if c.value is not None:
            option["extension"] = [{"url": ITEM_WEIGHT, "valueDecimal": c.value}]
        out.append(option)
    own = {c.casefold() for c in scale.codes + scale.missing_codes}
    for m in scale.missing:
        dar = DAR_OF[m.meaning]
        # a second code with the same meaning, or a DAR code another option already uses, is written plain
        if dar in used or (dar.casefold() in own and dar.casefold() != m.code.casefold()):
            coding = {"code": m.code}
        else:
            used.add(dar)
            coding = {"system": DAR, "code": dar}
        if m.label is not None:
            coding["display"] = m.label
        out.append({"valueCoding": coding})
    return out


def option_choices(options: list[dict[str, Any]]) -> list[Choice]:
    """The choices :func:`from_fhir` reads from answer options this module writes."""
    out = []
    for opt in options:
        coding = opt["valueCoding"]
        meaning = MEANING_OF.get(coding["code"], "unknown") if coding.get("system") == DAR else None
        weight = _ext(opt, ITEM_WEIGHT)
        out.append(Choice(coding["code"], coding.get("display") or None, None if meaning else weight, meaning))
    return out


def _render(cond: Condition, inst: Instrument, item_links, ctx_links, code_of) -> tuple[list[dict], str | None]:
    """enableWhen tests and behaviour for a condition FHIR can say in one level."""
    parts: list[Condition]
    behavior: str | None
    if cond.all is not None:
        parts, behavior = list(cond.all), "all"
    elif cond.any is not None:
        parts, behavior = list(cond.any), "any"
    else:
        parts, behavior = [cond], None
    tests: list[dict] = []
    for part in parts:
        one = _tests(part, inst, item_links, ctx_links, code_of)
        if len(one) > 1 and behavior != "any":
            if behavior is None and len(parts) == 1:
                behavior = "any"
            else:
                raise _logic.LogicError("a list of codes inside 'all' needs two levels of tests")
        tests.extend(one)
    return tests, (behavior if len(tests) > 1 else None)


def _tests(cond: Condition, inst: Instrument, item_links, ctx_links, code_of) -> list[dict]:
    neg = False
    if cond.not_ is not None:
        cond, neg = cond.not_, True
    if cond.item is not None:
        scale = inst.get_item(cond.item).scale
        codes = list(cond.in_ or ())
        if neg and len(codes) > 1:
            raise _logic.LogicError("'not one of several codes' needs two levels of tests")
        tests = []
        for code in codes:
            written, system = code_of[scale].get(str(code), (str(code), None))
            coding = {"code": written, **({"system": system} if system else {})}
            tests.append({"question": item_links[cond.item], "operator": "!=" if neg else "=",
                          "answerCoding": coding})
        return tests
    if cond.field is not None and inst.context[cond.field].type == "number":
        comps = cond.comparisons()
        if len(comps) != 1 or cond.in_ is not None or any(isinstance(v, str) for v in comps.values()):
            raise _logic.LogicError("only one numeric comparison per test")
        op, value = next(iter(comps.items()))
        sym = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "="}[op]
        if neg:
            sym = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!="}[sym]
        return [{"question": ctx_links[cond.field], "operator": sym, "answerDecimal": value}]
    raise _logic.LogicError("only tests of an item's code or of a number field fit in enableWhen")


def _native_losses(inst: Instrument, col: Collector, item_links, ctx_links, section_links, options, enable,
                   code_of) -> None:
    instrument_losses(inst, col, "FHIR", id_back=to_slug(fhir_id(inst.id)), title_back=inst.title,
                      version_back=inst.version, description_back=inst.description)
    context_losses(inst, col, "FHIR", back_types={"number": "number", "boolean": "boolean"},
                   name_of=lambda n: ctx_links[n])
    item_losses(inst, col, "FHIR", description=False, names=item_links,
                renamed="written as linkId '{name}' (linkIds must be unique)")
    back_scales = {name: infer_scale(option_choices(options[name]), values="weights", heuristics=False).scale
                   for name in {i.scale for i in inst.items}}
    scale_losses(inst, col, "FHIR", back_scales, name_hint=lambda i: None, item_back_id=lambda i: to_name(item_links[i]))
    for s in inst.sections:
        if section_links[s.id] != s.id:
            col.lose(f"section:{s.id}", "id", f"written as linkId '{section_links[s.id]}' (linkIds must be unique)")
    targets: dict[str, _logic.Target] = {}
    for item in inst.items:
        codes = tuple(code_of[item.scale][c][0] for c in inst.scale_of(item).codes + inst.scale_of(item).missing_codes)
        targets[item_links[item.id]] = _logic.Target("item", item.id, codes)
    for name, ctx in inst.context.items():
        if ctx.type != "category":
            targets[ctx_links[name]] = _logic.Target("context", ctx_links[name], ctype=ctx.type)
    for s in inst.sections:
        if s.id not in enable:
            continue
        tests, behavior = enable[s.id]
        back, _, _ = _enable_when({"enableWhen": tests, **({"enableBehavior": behavior} if behavior else {})},
                                  targets, {}, "")
        if back is None:
            col.lose(f"section:{s.id}", "applies_when", "written as enableWhen tests that do not read back as a "
                     "condition", json.dumps(tests, ensure_ascii=False))
            col.lose("instrument", "notes", "enableWhen tests that do not read back as a condition are kept there "
                     "as text")
        elif back != s.applies_when:
            col.lose(f"section:{s.id}", "applies_when", "written as enableWhen tests that read back as a different "
                     "(equivalent or approximate) condition", json.dumps(tests, ensure_ascii=False))
    for s in inst.scores:
        col.lose(f"score:{s.id}", "score", "a Questionnaire has no score definitions (FHIR computes scores with SDC "
                 "calculatedExpression, which is not written)")
