"""REFI-QDA exchange: round trips, files as QDA programs write them, and hostile XML.

The quirk fixtures are written here, in our own words, to reproduce what is
documented of real exports (no third-party file is copied): ATLAS.ti names the
project XML after the project and writes upper-case GUIDs and memos as selection
descriptions (QualCoder issue #1369; RE-QDA/requal tests); NVivo writes
lower-case GUIDs and wraps the codebook in a "Nodes" code; MAXQDA and others
vary the case of the sources folder; QualCoder writes byte-order marks;
Taguette writes an empty <Sets/> and a flat codebook (remram44/taguette
export.py). Descriptions as attributes, braced GUIDs, '::' hierarchies and
other namespaces are the leniencies the issue asks for.
"""

from __future__ import annotations

import re
import zipfile

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cseoutcomes as co
from cseoutcomes.coding import CodedSegments, read_refi_qda, write_refi_qda
from cseoutcomes.errors import DataError
from cseoutcomes.instruments import Instrument

TEXT = {"note-1": "Näive line one.\nHe said an older man had been giving him things 🙂 in return.\n",
        "note-2": "Second note, coded as a whole."}


def _segments(book="practice-codebook") -> CodedSegments:
    return CodedSegments.from_frame(pd.DataFrame({
        "source": ["note-1", "note-1", "note-1", "note-2"], "case": ["YP1", "YP1", "YP1", "YP2"],
        "coder": ["ann", "bob", "ann", "bob"], "code": ["disclosure", "disclosure", "recovery", "trust_building"],
        "start": [16, 20, 0, None], "end": [60, 64, 15, None], "memo": ["first memo", "", "", "whole-note memo"],
        "date": ["2024-01-02T09:30:00", "", "2024-01-03", ""]}), book)


def test_project_round_trip_keeps_every_coding(tmp_path):
    seg = _segments()
    path = write_refi_qda(tmp_path / "p.qdpx", seg, sources=TEXT)
    back = read_refi_qda(path, codebook="practice-codebook")
    assert back.notes == []
    cols = ["source", "case", "coder", "code", "start", "end", "memo", "date"]
    got = back.segments.table[cols].sort_values(cols[:6]).reset_index(drop=True)
    want = seg.table[cols].sort_values(cols[:6]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    assert back.sources == TEXT  # offsets count code points: the emoji is one character
    row = back.segments.table.set_index(["coder", "code"]).loc[("ann", "disclosure")]
    assert row["text"] == TEXT["note-1"][16:60]
    with zipfile.ZipFile(path) as zf:
        assert "project.qde" in zf.namelist() and all(n == "project.qde" or n.startswith("sources/")
                                                       for n in zf.namelist())
    # exports are stable: the same data give the same XML apart from the creation time
    again = write_refi_qda(tmp_path / "q.qdpx", seg, sources=TEXT, name="p")
    strip = [re.sub(rb' creationDateTime="[^"]*"', b"", zipfile.ZipFile(p).read("project.qde"), count=1)
             for p in (path, again)]
    assert strip[0] == strip[1]


def test_codings_without_a_codebook_use_name_paths(tmp_path):
    seg = _segments()
    plain = CodedSegments.from_frame(seg.table.assign(code=["change::disclosure", "change::disclosure",
                                                            "change::recovery", "trust"]).reset_index(drop=True))
    back = read_refi_qda(write_refi_qda(tmp_path / "p.qdpx", plain, sources=TEXT))
    assert sorted(back.segments.table["code"].unique()) == ["change::disclosure", "change::recovery", "trust"]
    assert [c.name for c in back.codes] == ["change", "trust"]


_name_chars = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
_text = st.text(_name_chars, min_size=1, max_size=30).map(str.strip).filter(bool)


@st.composite
def _code_trees(draw, depth=0, prefix="c"):
    n = draw(st.integers(1, 3 if depth < 4 else 1))
    out = []
    for i in range(n):
        code = {"id": f"{prefix}{i}", "name": draw(_text), "definition": draw(_text), "when_to_use": draw(_text),
                "when_not_to_use": draw(_text),
                "example": draw(st.text(_name_chars | st.just("\n"), min_size=1, max_size=40).filter(str.strip))}
        if draw(st.booleans()):
            code["indicator"] = {"id": f"ind_{prefix}{i}"}
        if depth < 5 and draw(st.booleans()):
            code["children"] = draw(_code_trees(depth + 1, f"{prefix}{i}_"))
        out.append(code)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_code_trees())
def test_codebook_round_trip_with_unicode_names_and_deep_hierarchies(tmp_path_factory, codes):
    book = Instrument.from_dict({"id": "gen-book", "version": "1.0.0", "title": "Generated", "kind": "coding_scheme",
                                 "citation": [{"text": "test"}], "licence": {"name": "CC0-1.0", "wording_may_ship": True},
                                 "codes": codes})
    path = write_refi_qda(tmp_path_factory.mktemp("qdc") / "book.qdc", codebook=book)
    back = read_refi_qda(path).to_instrument("gen-book")
    assert back.codes == book.codes


def test_the_built_in_codebook_round_trips_and_third_party_codebooks_need_definitions(tmp_path):
    book = co.get_instrument("practice-codebook")
    assert read_refi_qda(write_refi_qda(tmp_path / "b.qdc", codebook=book)).to_instrument(
        "practice-codebook").codes == book.codes
    (tmp_path / "t.qdc").write_text(
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
        '<Code guid="00000000-0000-0000-0000-000000000001" name="Trust" isCodable="true"/></Codes></CodeBook>',
        encoding="utf-8")
    with pytest.raises(DataError, match="1 codes have no definition"):
        read_refi_qda(tmp_path / "t.qdc").to_instrument("x")


def _zip(tmp_path, name, files: dict[str, bytes | str]):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data.encode("utf-8") if isinstance(data, str) else data)
    return path


ATLAS_LIKE = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Trial" origin="ATLAS.ti">
 <Users><User guid="{A1B2C3D4-0000-4000-8000-000000000001}" name="Ann"/></Users>
 <CodeBook><Codes>
  <Code guid="{A1B2C3D4-0000-4000-8000-0000000000C1}" name="Disclosure" isCodable="true"/>
 </Codes></CodeBook>
 <Sources>
  <TextSource guid="A1B2C3D4-0000-4000-8000-0000000000F1" name="interview 1"
              plainTextPath="internal://A1B2C3D4-0000-4000-8000-0000000000F1.txt">
   <PlainTextSelection guid="A1B2C3D4-0000-4000-8000-0000000000E1" startPosition="0" endPosition="5"
                       creatingUser="A1B2C3D4-0000-4000-8000-000000000001" creationDateTime="2023-05-01T10:00:00Z">
    <Description>memo written as a description</Description>
    <Coding guid="A1B2C3D4-0000-4000-8000-0000000000D1">
     <CodeRef targetGUID="A1B2C3D4-0000-4000-8000-0000000000C1"/></Coding>
   </PlainTextSelection>
   <PlainTextSelection guid="A1B2C3D4-0000-4000-8000-0000000000E2" startPosition="3" endPosition="999">
    <Coding guid="A1B2C3D4-0000-4000-8000-0000000000D2">
     <CodeRef targetGUID="A1B2C3D4-0000-4000-8000-0000000000C1"/></Coding>
   </PlainTextSelection>
   <PlainTextSelection guid="A1B2C3D4-0000-4000-8000-0000000000E3" startPosition="1" endPosition="2">
    <Coding guid="A1B2C3D4-0000-4000-8000-0000000000D3">
     <CodeRef targetGUID="A1B2C3D4-0000-4000-8000-00000000FFFF"/></Coding>
   </PlainTextSelection>
  </TextSource>
 </Sources>
</Project>"""


def test_an_atlas_like_project_imports_with_a_report(tmp_path):
    path = _zip(tmp_path, "trial.qdpx", {
        "Trial.qde": ATLAS_LIKE, "Sources/A1B2C3D4-0000-4000-8000-0000000000F1.txt": "\ufeffHello\r\nworld"})
    p = read_refi_qda(path)
    notes = " | ".join(p.notes)
    assert "named 'Trial.qde'" in notes and "'Sources'" in notes
    assert "GUIDs in braces or upper case were normalised" in notes
    assert "1 codings skipped: outside its source" in notes and "1 codings skipped: unknown code" in notes
    assert "Windows line breaks" in notes and "byte-order mark" in notes
    row = p.segments.table.iloc[0]
    assert (row["coder"], row["code"], row["memo"], row["text"]) == ("Ann", "Disclosure",
                                                                     "memo written as a description", "Hello")
    assert row["date"] == pd.Timestamp("2023-05-01 10:00")
    assert "Hello" not in notes  # the report never quotes a source


def test_nvivo_taguette_and_qualcoder_like_codebooks(tmp_path):
    nvivo = ('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
             '<Code guid="9f0e0c7a-1111-4222-8333-444455556666" name="Nodes" isCodable="false">'
             '<Code guid="9f0e0c7a-1111-4222-8333-444455556667" name="Trust" isCodable="true" color="#ff0000">'
             '<Description>Building trust</Description></Code></Code></Codes></CodeBook>')
    (tmp_path / "n.qdc").write_text(nvivo, encoding="utf-8")
    p = read_refi_qda(tmp_path / "n.qdc")
    assert p.notes == [] and p.codes[0].name == "Nodes" and p.codes[0].children[0].description == "Building trust"
    taguette = ('<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="Taguette"><Codes>'
                '<Code guid="11111111-2222-4333-8444-555555555555" name="change::disclosure" isCodable="true"/>'
                '<Code guid="11111111-2222-4333-8444-555555555556" name="change::recovery" isCodable="true"'
                ' description="Signs of recovery"/>'
                '<Code guid="11111111-2222-4333-8444-555555555557" name="barriers" isCodable="true"/>'
                '</Codes><Sets/></CodeBook>')
    (tmp_path / "t.qdc").write_text(taguette, encoding="utf-8")
    t = read_refi_qda(tmp_path / "t.qdc")
    assert [c.name for c in t.codes] == ["change", "barriers"]
    assert [c.name for c in t.codes[0].children] == ["disclosure", "recovery"]
    assert t.codes[0].children[1].description == "Signs of recovery"
    notes = " | ".join(t.notes)
    assert "empty Sets" in notes and "'::' were read as a hierarchy (1 parent" in notes and "attribute" in notes
    (tmp_path / "q.qdc").write_bytes(b"\xef\xbb\xbf" + nvivo.replace("urn:QDA-XML:codebook:1.0",
                                                                     "urn:QDA-XML:codebook:1:0").encode())
    q = read_refi_qda(tmp_path / "q.qdc")
    assert any("byte-order mark" in n for n in q.notes) and any("namespace" in n for n in q.notes)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="x" name="&lol3;" isCodable="true"/></Codes></CodeBook>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE p [<!ENTITY secret SYSTEM "file:///etc/passwd"><!ENTITY remote SYSTEM "http://example.invalid/x">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&secret;&remote;"/>"""


@pytest.mark.parametrize("name, content, message", [
    ("bomb.qdc", BILLION_LAUGHS, "document type or entities"),
    ("xxe.qde", EXTERNAL_ENTITY, "document type or entities"),
    ("broken.qdc", "<CodeBook><Codes><Code></CodeBook>", "not well-formed XML at line 1"),
    ("other.qdc", "<html><body/></html>", "root element is 'html'"),
])
def test_hostile_or_broken_xml_gives_one_line_errors(tmp_path, name, content, message):
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        read_refi_qda(tmp_path / name)
    assert "\n" not in str(err.value) and "root:" not in str(err.value)


def test_broken_projects_give_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="no project XML"):
        read_refi_qda(_zip(tmp_path, "empty.qdpx", {"sources/a.txt": "x"}))
    (tmp_path / "fake.qdpx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a readable zip"):
        read_refi_qda(tmp_path / "fake.qdpx")
    bomb = _zip(tmp_path, "bomb.qdpx", {"project.qde": BILLION_LAUGHS})
    with pytest.raises(DataError, match="document type or entities"):
        read_refi_qda(bomb)
    with pytest.raises(DataError, match="file not found"):
        read_refi_qda(tmp_path / "missing.qdpx")


def test_export_is_strict(tmp_path, monkeypatch):
    seg = _segments()
    with pytest.raises(DataError, match="no text long enough"):
        write_refi_qda(tmp_path / "p.qdpx", seg)
    with pytest.raises(DataError, match=r"\.qdc \(codebook\) or \.qdpx"):
        write_refi_qda(tmp_path / "p.xml", seg, sources=TEXT)
    from cseoutcomes.coding import RefiCode

    bad = [RefiCode("00000000-0000-4000-8000-000000000001", "Trust", color="red")]
    with pytest.raises(RuntimeError, match="failed its schema check"):
        write_refi_qda(tmp_path / "b.qdc", codebook=bad)
    assert not (tmp_path / "b.qdc").exists()
    with pytest.raises(DataError, match="control characters"):
        write_refi_qda(tmp_path / "c.qdc", codebook=[RefiCode("00000000-0000-4000-8000-000000000002", "a\x01b")])


def test_no_network_is_touched_while_reading_or_writing(tmp_path, monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("network access")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    path = write_refi_qda(tmp_path / "p.qdpx", _segments(), sources=TEXT)
    assert read_refi_qda(path).segments is not None
    (tmp_path / "xxe.qde").write_text(EXTERNAL_ENTITY, encoding="utf-8")
    with pytest.raises(DataError):
        read_refi_qda(tmp_path / "xxe.qde")
