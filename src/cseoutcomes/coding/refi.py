"""REFI-QDA exchange: codebooks (``.qdc``) and projects (``.qdpx``) as QDA tools write them.

REFI-QDA 1.0 (Rotterdam Exchange Format Initiative, www.qdasoftware.org) is the
exchange format of ATLAS.ti, NVivo, MAXQDA, QualCoder, Taguette and others. A
``.qdc`` file is a ``CodeBook`` XML document (namespace
``urn:QDA-XML:codebook:1.0``); a ``.qdpx`` project is a zip holding
``project.qde`` (namespace ``urn:QDA-XML:project:1.0``) and a ``sources/``
folder of plain-text files referred to as ``internal://<file>``. Selections
count characters from 0, end exclusive, in the plain text as stored (a Windows
line break is two characters here; tools disagree, so offsets from a tool that
counts it as one drift after each CRLF: the import report says when a source
has CRLFs).

**Import is lenient** and says what it repaired or skipped: any or no namespace,
GUIDs in braces or upper case, a project XML not named ``project.qde``, a
``Sources/`` folder in any case, byte-order marks, descriptions given as an
attribute, empty ``Sets``, flat code names with ``::`` hierarchies, codings
that point at unknown codes or selections outside their source.
**Export is strict**: every file written is checked against cseoutcomes' XML
schemas of the REFI-QDA structures it writes (``coding/schemas``; written by us
from the standard, since the official codebook schema's redistribution terms are
not stated) before it is written.

XML is parsed with ``defusedxml`` and any document type declaration is refused,
so entity-expansion bombs and external entities never run; nothing is fetched
from the network.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

import pandas as pd

from cseoutcomes.coding.segments import CodedSegments
from cseoutcomes.errors import DataError

if TYPE_CHECKING:
    from cseoutcomes.instruments.schema import Code, Instrument

__all__ = ["RefiCode", "RefiProject", "codes_from_instrument", "read_refi_qda", "write_refi_qda"]

NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
NS_PROJECT = "urn:QDA-XML:project:1.0"
SCHEMAS = Path(__file__).parent / "schemas"
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
_FIELDS = (("Id", "id"), ("Definition", "definition"), ("When to use", "when_to_use"),
           ("When not to use", "when_not_to_use"), ("Example", "example"), ("Indicator", "indicator"))
_MAX_XML = 200 * 2**20
"""Largest project XML read (bytes): a guard against zip bombs."""


@dataclass
class RefiCode:
    """A code of a REFI-QDA codebook: its GUID, name, description, colour, whether codable, and sub-codes."""

    guid: str
    name: str
    description: str = ""
    color: str | None = None
    codable: bool = True
    children: list[RefiCode] = field(default_factory=list)

    def walk(self, parents: tuple[str, ...] = ()):
        """(names of ancestors, code) for this code and its descendants."""
        yield parents, self
        for child in self.children:
            yield from child.walk((*parents, self.name))


@dataclass
class RefiProject:
    """What a ``.qdc`` or ``.qdpx`` file held.

    Attributes
    ----------
    name
        The project's (or codebook's origin) name.
    codes
        The code tree.
    segments
        The codings (:class:`CodedSegments`; ``None`` for a ``.qdc``). Codes are
        written as ``parent::child`` name paths unless a codebook was given to
        read them against.
    sources
        Source name -> plain text (``None`` when the file did not include it).
        Text about children: keep it safe, never print it.
    notes
        What the import repaired or skipped, one line each (no source text).
    """

    name: str
    codes: list[RefiCode]
    segments: CodedSegments | None = None
    sources: dict[str, str | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def code_paths(self) -> dict[str, str]:
        """GUID -> ``parent::child`` name path of every code."""
        return {c.guid: "::".join((*p, c.name)) for top in self.codes for p, c in top.walk()}

    def to_instrument(self, id: str, version: str = "1.0.0", title: str | None = None) -> Instrument:
        """A codebook instrument (kind ``coding_scheme``) from codes exported by cseoutcomes.

        Codes written by :func:`write_refi_qda` carry their id, definition, when
        to use, when not to use, example and indicator in their description, so
        the instrument comes back equal. Codes from other tools have only a
        name and a description: every code missing a definition is listed in
        one error, since a codebook instrument needs them.
        """
        from cseoutcomes.instruments import Instrument

        missing: list[str] = []

        def convert(code: RefiCode, path: str) -> dict:
            parsed = _parse_description(code.description)
            needed = [f for _, f in _FIELDS[1:5] if not parsed.get(f)]
            if needed:
                missing.append(path)
            out = {"id": parsed.get("id") or _slug(code.name), "name": code.name,
                   **{f: parsed.get(f, "") for _, f in _FIELDS[1:5]},
                   "children": [convert(c, f"{path}::{c.name}") for c in code.children]}
            if parsed.get("indicator"):
                out["indicator"] = _parse_indicator(parsed["indicator"])
            return out

        codes = [convert(c, c.name) for c in self.codes]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise DataError(f"{len(missing)} codes have no definition, when to use, when not to use and example in "
                            f"their descriptions: {shown}", where=self.name,
                            hint="write the codebook as a YAML instrument (see instruments/practice-codebook.yaml), "
                                 "or read the codings without a codebook")
        return Instrument.from_dict({
            "id": id, "version": version, "title": title or self.name or id, "kind": "coding_scheme",
            "citation": [{"text": f"Imported from the REFI-QDA codebook {self.name!r}."}],
            "licence": {"name": "unknown", "wording_may_ship": False}, "codes": codes})


# ------------------------------------------------------------------ reading

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el, name: str):
    return [c for c in el if _local(c.tag) == name]


def _child(el, name: str):
    found = _children(el, name)
    return found[0] if found else None


def _parse_xml(data: bytes, where: str):
    from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        raise DataError("the XML declares a document type or entities, which cseoutcomes refuses (they can expand "
                        "without limit or read other files)", where=where,
                        hint="export the file again from the QDA program; REFI-QDA files need no DTD") from None
    except ET.ParseError as exc:
        line, col = getattr(exc, "position", (None, None))
        at = f" at line {line}, column {col}" if line else ""
        raise DataError(f"not well-formed XML{at}", where=where,
                        hint="the file is damaged or not REFI-QDA XML; export it again") from None


class _Guids:
    """Normalise GUIDs (braces and case), counting repairs; invent one for a missing GUID."""

    def __init__(self) -> None:
        self.repaired = 0
        self.invented = 0

    def __call__(self, value: str | None) -> str:
        if not value:
            self.invented += 1
            return str(uuid.uuid4())
        m = _GUID.match(value.strip())
        if not m:
            self.invented += 1
            return str(uuid.uuid5(uuid.NAMESPACE_OID, value))
        guid = m.group(1).lower()
        if guid != value.strip():
            self.repaired += 1
        return guid


def _read_codes(codes_el, guids: _Guids, notes: list[str]) -> list[RefiCode]:
    out = []
    for el in _children(codes_el, "Code"):
        desc_el = _child(el, "Description")
        description = (desc_el.text or "") if desc_el is not None else ""
        if not description and el.get("description"):
            description = el.get("description")
            notes.append("a code description given as an attribute was read")
        codable = str(el.get("isCodable", "true")).strip().lower() in ("true", "1")
        out.append(RefiCode(guids(el.get("guid")), el.get("name") or "(unnamed code)", description,
                            el.get("color"), codable, _read_codes(el, guids, notes)))
    return out


def _nest_flat_names(codes: list[RefiCode], notes: list[str]) -> list[RefiCode]:
    """A flat codebook whose names hold ``parent::child`` paths becomes a tree (parents made if missing)."""
    if any(c.children for c in codes) or not any("::" in c.name for c in codes):
        return codes
    roots: list[RefiCode] = []
    by_path: dict[tuple[str, ...], RefiCode] = {}
    made = 0
    for code in codes:
        parts = tuple(p.strip() for p in code.name.split("::"))
        for depth in range(1, len(parts)):
            key = parts[:depth]
            if key not in by_path:
                parent = RefiCode(str(uuid.uuid5(uuid.NAMESPACE_OID, "::".join(key))), key[-1], codable=False)
                by_path[key] = parent
                (by_path[key[:-1]].children if depth > 1 else roots).append(parent)
                made += 1
        code.name = parts[-1]
        if parts in by_path:  # a parent named earlier as a path prefix: keep the real code's details
            existing = by_path[parts]
            code.children = existing.children
            siblings = by_path[parts[:-1]].children if len(parts) > 1 else roots
            siblings[siblings.index(existing)] = code
        else:
            (by_path[parts[:-1]].children if len(parts) > 1 else roots).append(code)
        by_path[parts] = code
    notes.append(f"code names with '::' were read as a hierarchy ({made} parent codes added)")
    return roots


def read_refi_qda(path: str | Path, codebook: Instrument | str | None = None) -> RefiProject:
    """Read a REFI-QDA codebook (``.qdc``) or project (``.qdpx``, or a bare ``.qde`` XML file).

    Parameters
    ----------
    path
        The file.
    codebook
        A coding-scheme instrument (or its id) to read the codings against:
        REFI code names or ``parent::child`` paths are matched to its codes'
        names or ids, and every unknown code is reported at once.

    Returns
    -------
    RefiProject
        Codes, codings (as :class:`CodedSegments`), source texts and what the
        import repaired or skipped (``notes``).
    """
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", where=str(path))
    notes: list[str] = []
    suffix = path.suffix.lower()
    texts: dict[str, bytes] = {}
    if suffix == ".qdpx" or zipfile.is_zipfile(path):
        xml, texts = _read_zip(path, notes)
    else:
        xml = path.read_bytes()
    if xml.startswith(b"\xef\xbb\xbf"):
        xml = xml[3:]
        notes.append("a byte-order mark before the XML was skipped")
    root = _parse_xml(xml, str(path))
    kind = _local(root.tag)
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    expected = {"CodeBook": NS_CODEBOOK, "Project": NS_PROJECT}.get(kind)
    if expected is None:
        raise DataError(f"the XML's root element is {kind!r}, not a REFI-QDA CodeBook or Project", where=str(path),
                        hint="give a .qdc codebook or a .qdpx project")
    if ns != expected:
        notes.append(f"the XML namespace is {ns or 'missing'!r}, not {expected!r}; read anyway")
    guids = _Guids()
    if kind == "CodeBook":
        codes_el = _child(root, "Codes")
        codes = _read_codes(codes_el, guids, notes) if codes_el is not None else []
        _note_sets(root, notes)
        project = RefiProject(root.get("origin") or path.stem, _nest_flat_names(codes, notes), None, {}, notes)
    else:
        project = _read_project(root, texts, guids, notes, str(path), codebook)
    if guids.repaired:
        notes.append(f"{guids.repaired} GUIDs in braces or upper case were normalised")
    if guids.invented:
        notes.append(f"{guids.invented} missing or malformed GUIDs were replaced")
    if not project.codes:
        notes.append("the file has no codes")
    return project


def _note_sets(root, notes: list[str]) -> None:
    sets = _child(root, "Sets")
    if sets is not None and not _children(sets, "Set"):
        notes.append("an empty Sets element was skipped")
    elif sets is not None:
        notes.append(f"{len(_children(sets, 'Set'))} code sets were skipped (sets are not used)")


def _read_zip(path: Path, notes: list[str]) -> tuple[bytes, dict[str, bytes]]:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataError("not a readable zip file (a .qdpx project is a zip)", where=str(path),
                        hint="export the project again from the QDA program") from None
    with zf:
        names = zf.namelist()
        qde = [n for n in names if n.lower().endswith(".qde") and "/" not in n.strip("/")]
        qde = qde or [n for n in names if n.lower().endswith(".qde")]
        if not qde:
            raise DataError("the zip has no project XML (.qde file)", where=str(path),
                            hint="a .qdpx project holds project.qde and a sources/ folder; export it again")
        chosen = "project.qde" if "project.qde" in qde else qde[0]
        if chosen != "project.qde":
            notes.append(f"the project XML is named {Path(chosen).name!r}, not 'project.qde'; read anyway")
        if len(qde) > 1:
            notes.append(f"{len(qde)} .qde files in the zip; read {chosen!r}")
        info = zf.getinfo(chosen)
        if info.file_size > _MAX_XML:
            raise DataError(f"the project XML is {info.file_size / 2**20:.0f} MB, more than cseoutcomes reads",
                            where=str(path))
        xml = zf.read(chosen)
        texts = {}
        folders = set()
        for n in names:
            parts = n.split("/")
            if len(parts) == 2 and parts[0].lower() == "sources" and parts[1]:
                info = zf.getinfo(n)
                if info.file_size <= _MAX_XML:
                    texts[parts[1]] = zf.read(n)
                folders.add(parts[0])
        if folders and folders != {"sources"}:
            notes.append(f"source folder named {sorted(folders)[0]!r}, not 'sources'; read anyway")
    return xml, texts


def _read_project(root, texts: dict[str, bytes], guids: _Guids, notes: list[str], where: str,
                  codebook) -> RefiProject:
    users = {}
    users_el = _child(root, "Users")
    for u in _children(users_el, "User") if users_el is not None else []:
        users[guids(u.get("guid"))] = u.get("name") or u.get("id") or "unknown coder"
    book_el = _child(root, "CodeBook")
    codes_el = _child(book_el, "Codes") if book_el is not None else None
    codes = _nest_flat_names(_read_codes(codes_el, guids, notes) if codes_el is not None else [], notes)
    _note_sets(root, notes)
    paths = {c.guid: "::".join((*p, c.name)) for top in codes for p, c in top.walk()}
    note_text = {}
    notes_el = _child(root, "Notes")
    for n in _children(notes_el, "Note") if notes_el is not None else []:
        content = _child(n, "PlainTextContent")
        text = content.text if content is not None else _internal_text(n.get("plainTextPath"), texts)
        note_text[guids(n.get("guid"))] = (text or "").strip()
    sources: dict[str, str | None] = {}
    source_case: dict[str, str] = {}
    cases_el = _child(root, "Cases")
    for case in _children(cases_el, "Case") if cases_el is not None else []:
        for ref in _children(case, "SourceRef"):
            source_case.setdefault(guids(ref.get("targetGUID")), case.get("name") or guids(case.get("guid")))
    rows = []
    skipped = {"unknown code": 0, "outside its source": 0, "non-text source": 0}
    crlf_sources = 0
    bom_sources = 0
    sources_el = _child(root, "Sources")
    for src in list(sources_el) if sources_el is not None else []:
        if _local(src.tag) != "TextSource":
            skipped["non-text source"] += 1
            continue
        sguid = guids(src.get("guid"))
        name = src.get("name") or sguid
        content = _child(src, "PlainTextContent")
        raw = None
        if content is not None:
            text = content.text or ""
        else:
            raw = _internal_bytes(src.get("plainTextPath"), texts)
            if raw is not None and raw.startswith(b"\xef\xbb\xbf"):
                bom_sources += 1
            text = raw.decode("utf-8-sig", errors="replace") if raw is not None else None
        sources[name] = text
        if text is not None and "\r\n" in text:
            crlf_sources += 1
        case = source_case.get(sguid, name)

        def add(coding, start, end, memo_el, text=text, name=name, case=case):
            ref = _child(coding, "CodeRef")
            target = guids(ref.get("targetGUID")) if ref is not None else None
            if target not in paths:
                skipped["unknown code"] += 1
                return
            if start is not None and text is not None and not (0 <= start < end <= len(text)):
                skipped["outside its source"] += 1
                return
            memo = " ".join(note_text.get(guids(r.get("targetGUID")), "") for r in _children(coding, "NoteRef"))
            if not memo and memo_el is not None:
                memo = (memo_el.text or "").strip()
            user = coding.get("creatingUser")
            rows.append({"source": name, "case": case,
                         "coder": users.get(guids(user), "unknown coder") if user else "unknown coder",
                         "code": paths[target], "start": start, "end": end, "memo": memo,
                         "date": coding.get("creationDateTime") or "",
                         "text": text[start:end] if (text is not None and start is not None) else ""})

        for sel in _children(src, "PlainTextSelection"):
            try:
                start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
            except (TypeError, ValueError):
                skipped["outside its source"] += len(_children(sel, "Coding"))
                continue
            for coding in _children(sel, "Coding"):
                if not coding.get("creatingUser") and sel.get("creatingUser"):
                    coding.set("creatingUser", sel.get("creatingUser"))
                if not coding.get("creationDateTime") and sel.get("creationDateTime"):
                    coding.set("creationDateTime", sel.get("creationDateTime"))
                add(coding, start, end, _child(sel, "Description"))
        for coding in _children(src, "Coding"):  # coded as a whole
            add(coding, None, None, None)
    for what, n in skipped.items():
        if n:
            notes.append(f"{n} codings skipped: {what}" if what != "non-text source" else
                         f"{n} picture, PDF, audio or video sources skipped (text sources only)")
    if crlf_sources:
        notes.append(f"{crlf_sources} sources have Windows line breaks, counted as two characters each; "
                     "offsets from a tool that counts them as one drift after each")
    if bom_sources:
        notes.append(f"{bom_sources} source files began with a byte-order mark, which was skipped")
    missing_text = [n for n, t in sources.items() if t is None]
    if missing_text:
        notes.append(f"{len(missing_text)} sources had no readable text in the file")
    if not rows:
        frame = pd.DataFrame(columns=["source", "coder", "code"])
        segments = None
        notes.append("the project has no codings")
    else:
        frame = pd.DataFrame(rows)
        segments = CodedSegments.from_frame(frame, codebook, where=where, notes=notes)
    return RefiProject(root.get("name") or Path(where).stem, codes, segments, sources, notes)


def _internal_bytes(ref: str | None, texts: dict[str, bytes]) -> bytes | None:
    if not ref:
        return None
    name = ref.split("://", 1)[-1].lstrip("/")
    name = name.split("/")[-1]
    return texts.get(name)


def _internal_text(ref: str | None, texts: dict[str, bytes]) -> str | None:
    raw = _internal_bytes(ref, texts)
    return raw.decode("utf-8-sig", errors="replace") if raw is not None else None


def _parse_description(text: str) -> dict[str, str]:
    """Fields of a description written by cseoutcomes ("Definition: ..." sections), else the definition only."""
    labels = {label.lower(): key for label, key in _FIELDS}
    pattern = re.compile(r"^(Id|Definition|When to use|When not to use|Example|Indicator):[ \t]?", re.M)
    parts = pattern.split(text or "")
    if len(parts) < 3:
        return {"definition": (text or "").strip()} if text else {}
    out = {}
    for label, value in zip(parts[1::2], parts[2::2], strict=True):
        value = value[:-1] if value.endswith("\n") else value  # the line break before the next label
        out[labels[label.lower()]] = value.replace("\n ", "\n")
    return out


def _parse_indicator(text: str) -> dict:
    m = re.match(r"^(?P<id>[^\s(]+)(?:\s*\((?P<inst>[^/)]*)/(?P<item>[^)]*)\))?(?:\s*-\s*(?P<label>.*))?$", text.strip())
    if not m:
        return {"id": _slug(text)}
    out = {"id": m.group("id")}
    if m.group("inst"):
        out["instrument"], out["item"] = m.group("inst"), m.group("item")
    if m.group("label"):
        out["label"] = m.group("label")
    return out


def _slug(name: str) -> str:
    s = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    return s if s and s[0].isalpha() else f"code_{s}"


# ------------------------------------------------------------------ writing

def _guid(*parts: str) -> str:
    """A stable GUID for a named thing, so exports of the same data are identical."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "cseoutcomes:" + "|".join(parts)))


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_text(value: str, what: str) -> str:
    """Text XML 1.0 can hold, or a one-line error naming what (never the text)."""
    if _XML_ILLEGAL.search(value):
        raise DataError(f"{what} contains control characters that XML cannot hold", where=what,
                        hint="remove them (tabs and line breaks are fine)")
    return value


def _fold(value: str) -> str:
    """Continuation lines indented by one space, so a line in a value never starts with a field label."""
    return value.replace("\r\n", "\n").replace("\n", "\n ")


def _description(code: Code) -> str:
    lines = [f"Id: {code.id}", f"Definition: {_fold(code.definition)}", f"When to use: {_fold(code.when_to_use)}",
             f"When not to use: {_fold(code.when_not_to_use)}", f"Example: {_fold(code.example)}"]
    if code.indicator is not None:
        ind = code.indicator
        where = f" ({ind.instrument or ''}/{ind.item or ''})" if (ind.instrument or ind.item) else ""
        lines.append(f"Indicator: {ind.id}{where}" + (f" - {ind.label}" if ind.label else ""))
    return "\n".join(lines)


def codes_from_instrument(codebook: Instrument) -> list[RefiCode]:
    """The REFI-QDA code tree of a coding-scheme instrument (stable GUIDs from the instrument and code ids)."""

    def convert(code: Code) -> RefiCode:
        return RefiCode(_guid(codebook.id, code.id), code.name, _description(code), None, True,
                        [convert(c) for c in code.children])

    return [convert(c) for c in codebook.codes]


def _code_elements(parent, codes: list[RefiCode], ns: str) -> None:
    for c in codes:
        attrs = {"guid": c.guid, "name": _xml_text(c.name, f"code {c.name!r}"),
                 "isCodable": "true" if c.codable else "false"}
        if c.color:
            attrs["color"] = c.color
        el = ET.SubElement(parent, f"{{{ns}}}Code", attrs)
        if c.description:
            ET.SubElement(el, f"{{{ns}}}Description").text = _xml_text(c.description, f"code {c.name!r}")
        _code_elements(el, c.children, ns)


def _validated(root, schema: str, where: str) -> bytes:
    import xmlschema

    ET.register_namespace("", root.tag[1:].split("}")[0])
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    # schema and document given as text: no file or network access at all
    xsd = xmlschema.XMLSchema((SCHEMAS / schema).read_text(encoding="utf-8"), allow="none")
    errors = list(xsd.iter_errors(data.decode("utf-8")))
    if errors:  # a bug in the writer, not the user's data: say where, never the content
        raise RuntimeError(f"REFI-QDA export of {where} failed its schema check at {errors[0].path}: "
                           f"{errors[0].reason}")
    return data


def _codes_for(codebook, segments: CodedSegments | None) -> tuple[list[RefiCode], dict[str, str]]:
    """Code tree to write and the map from each coding's code (id or path) to its GUID."""
    from cseoutcomes.instruments import Instrument, get_instrument

    if codebook is None and segments is not None and segments.codebook is not None:
        codebook = segments.codebook
    if isinstance(codebook, str):
        codebook = get_instrument(codebook)
    if isinstance(codebook, Instrument):
        codes = codes_from_instrument(codebook)
        lookup = {c.id: _guid(codebook.id, c.id) for top in codebook.codes for _, c in top.walk()}
        return codes, lookup
    if isinstance(codebook, list):
        return codebook, {"::".join((*p, c.name)): c.guid for top in codebook for p, c in top.walk()}
    if segments is None:
        raise DataError("nothing to export: give a codebook, or codings", where="codebook")
    # no codebook: codes from the codings' names, '::' paths as the hierarchy
    roots: list[RefiCode] = []
    by_path: dict[tuple[str, ...], RefiCode] = {}
    for code in segments.codes:
        parts = tuple(code.split("::"))
        for depth in range(1, len(parts) + 1):
            key = parts[:depth]
            if key not in by_path:
                node = RefiCode(_guid("code", "::".join(key)), key[-1])
                by_path[key] = node
                (by_path[key[:-1]].children if depth > 1 else roots).append(node)
    return roots, {"::".join(k): v.guid for k, v in by_path.items()}


def write_refi_qda(path: str | Path, segments: CodedSegments | None = None, *,
                   codebook: Instrument | str | list[RefiCode] | None = None,
                   sources: dict[str, str] | None = None, name: str | None = None) -> Path:
    """Write a REFI-QDA codebook (``.qdc``) or project (``.qdpx``), checked against the schema first.

    Parameters
    ----------
    path
        ``.qdc`` (codebook only) or ``.qdpx`` (codebook, coders, cases, sources and codings).
    segments
        The codings (``.qdpx``; for a ``.qdc`` without ``codebook``, the codes they use).
    codebook
        A coding-scheme instrument (or id) or a :class:`RefiCode` tree; default
        the codings' codebook, else the codes the codings use.
    sources
        Source name -> plain text. Every source with coded spans needs its
        text; sources without text are written empty (codings of whole sources
        only).
    name
        Project name (default: the file name).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".qdc", ".qdpx"):
        raise DataError(f"REFI-QDA files end in .qdc (codebook) or .qdpx (project), not {suffix or 'nothing'!r}",
                        where=str(path))
    codes, lookup = _codes_for(codebook, segments)
    if not codes:
        raise DataError("the codebook has no codes to export", where=str(path))
    if suffix == ".qdc":
        root = ET.Element(f"{{{NS_CODEBOOK}}}CodeBook", {"origin": name or "cseoutcomes"})
        _code_elements(ET.SubElement(root, f"{{{NS_CODEBOOK}}}Codes"), codes, NS_CODEBOOK)
        data = _validated(root, "refi_codebook.xsd", str(path))
        _write_bytes(path, data)
        return path
    if segments is None:
        raise DataError("a .qdpx project needs the codings (segments=); write a .qdc for a codebook alone",
                        where=str(path))
    data, files = _project_xml(segments, codes, lookup, sources or {}, name or path.stem, str(path))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", data)
        for fname, text in files.items():
            zf.writestr(f"sources/{fname}", text.encode("utf-8"))
    _write_bytes(path, buffer.getvalue())
    return path


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}", where=str(path)) from None


def _iso(ts) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def _project_xml(segments: CodedSegments, codes: list[RefiCode], lookup: dict[str, str],
                 sources: dict[str, str], name: str, where: str) -> tuple[bytes, dict[str, str]]:
    ns = NS_PROJECT
    t = segments.table
    unknown = sorted(set(t["code"]) - set(lookup))
    if unknown:
        raise DataError(f"codings use codes not in the codebook being exported: {unknown[:5]}", where=where)
    too_long = []
    for src, end in t.dropna(subset=["end"]).groupby("source")["end"].max().items():
        if int(end) > len(sources.get(src, "")):
            too_long.append(src)
    if too_long:
        raise DataError(f"{len(too_long)} sources have coded spans but no text long enough to hold them "
                        f"(e.g. {too_long[0]!r})", where=where,
                        hint="pass sources={name: text} with each source's plain text")
    root = ET.Element(f"{{{ns}}}Project", {"name": name, "origin": "cseoutcomes",
                                           "creationDateTime": datetime.now().strftime("%Y-%m-%dT%H:%M:%SZ")})
    users = ET.SubElement(root, f"{{{ns}}}Users")
    user_guid = {c: _guid("coder", c) for c in segments.coders}
    for coder, g in user_guid.items():
        ET.SubElement(users, f"{{{ns}}}User", {"guid": g, "name": coder})
    book = ET.SubElement(root, f"{{{ns}}}CodeBook")
    _code_elements(ET.SubElement(book, f"{{{ns}}}Codes"), codes, ns)
    source_guid = {s: _guid("source", s) for s in sorted(t["source"].unique())}
    cases = ET.SubElement(root, f"{{{ns}}}Cases")
    for case, group in t.groupby("case", sort=True):
        el = ET.SubElement(cases, f"{{{ns}}}Case", {"guid": _guid("case", case), "name": case})
        for src in sorted(group["source"].unique()):
            ET.SubElement(el, f"{{{ns}}}SourceRef", {"targetGUID": source_guid[src]})
    src_el = ET.SubElement(root, f"{{{ns}}}Sources")
    notes: list[tuple[str, str]] = []
    files: dict[str, str] = {}
    for src, sguid in source_guid.items():
        fname = f"{sguid}.txt"
        files[fname] = sources.get(src, "")
        s = ET.SubElement(src_el, f"{{{ns}}}TextSource", {"guid": sguid, "name": src,
                                                           "plainTextPath": f"internal://{fname}"})
        rows = t[t["source"] == src]
        spans = rows[rows["start"].notna()]
        whole = rows[rows["start"].isna()]
        for (start, end), group in spans.groupby(["start", "end"], sort=True):
            sel = ET.SubElement(s, f"{{{ns}}}PlainTextSelection", {
                "guid": _guid("selection", src, str(start), str(end)), "startPosition": str(int(start)),
                "endPosition": str(int(end))})
            for k, row in enumerate(group.itertuples()):
                _coding(sel, row, lookup, user_guid, notes, (src, str(start), str(end), str(k)))
        for k, row in enumerate(whole.itertuples()):
            _coding(s, row, lookup, user_guid, notes, (src, "whole", str(k)))
    if notes:
        notes_el = ET.SubElement(root, f"{{{ns}}}Notes")
        for nguid, text in notes:
            n = ET.SubElement(notes_el, f"{{{ns}}}Note", {"guid": nguid, "name": "memo"})
            ET.SubElement(n, f"{{{ns}}}PlainTextContent").text = text
    return _validated(root, "refi_project.xsd", where), files


def _coding(parent, row, lookup, user_guid, notes, key) -> None:
    ns = NS_PROJECT
    attrs = {"guid": _guid("coding", *key, row.coder, row.code), "creatingUser": user_guid[row.coder]}
    when = _iso(row.date)
    if when:
        attrs["creationDateTime"] = when
    c = ET.SubElement(parent, f"{{{ns}}}Coding", attrs)
    ET.SubElement(c, f"{{{ns}}}CodeRef", {"targetGUID": lookup[row.code]})
    if row.memo:
        nguid = _guid("note", *key, row.coder, row.code)
        notes.append((nguid, row.memo))
        ET.SubElement(c, f"{{{ns}}}NoteRef", {"targetGUID": nguid})
