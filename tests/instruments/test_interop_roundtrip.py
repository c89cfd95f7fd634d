"""Round trips instrument -> format -> instrument, over generated and built-in instruments.

Two properties for each format (REDCap data dictionary, XLSForm, FHIR R4 Questionnaire):

- with the cseoutcomes metadata the formats carry (REDCap field annotations, XLSForm ``bind::``
  columns, FHIR extensions) the instrument comes back identical, and the loss report is empty;
- without it, everything the format can represent comes back, and every difference is named in
  the export's loss report (element and field), checked by ``unexplained`` in ``_interop_support``.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from _interop_support import instruments, unexplained
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cseoutcomes as co
from cseoutcomes.errors import DefinitionError
from cseoutcomes.instruments.interop import (
    Exported,
    Imported,
    Loss,
    LossReport,
    from_fhir,
    from_redcap,
    from_xlsform,
    to_fhir,
    to_redcap,
    to_xlsform,
)

PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BUILTINS = ("cse-risk-indicators", "progress-ladder", "swemwbs", "goal-based-outcomes", "practice-codebook")


def redcap_trip(inst, metadata=True):
    text, out = to_redcap(inst, metadata=metadata)
    back, inn = from_redcap(io.StringIO(text))
    return back, out, inn


def xlsform_trip(inst, metadata=True, where=None):
    sheets, out = to_xlsform(inst, where, metadata=metadata)
    back, inn = from_xlsform(sheets)
    return back, out, inn


def fhir_trip(inst, metadata=True):
    q, out = to_fhir(inst, metadata=metadata)
    back, inn = from_fhir(json.loads(json.dumps(q)))
    return back, out, inn


TRIPS = {"redcap": redcap_trip, "xlsform": xlsform_trip, "fhir": fhir_trip}


# ---------------------------------------------------------------------------
# the loss report itself


def test_loss_report_api():
    report = LossReport("a -> b", (Loss("q1", "weight", "no place for it"), Loss("scale:s", "label", "none")),
                        ("one note",))
    assert not report.ok and len(report) == 2 and bool(report)
    assert [x.item for x in report] == ["q1", "scale:s"]
    assert report.about("q1") == (Loss("q1", "weight", "no place for it"),)
    text = str(report)
    assert text.splitlines()[0] == "a -> b: 2 things not carried"
    assert "q1: weight: no place for it" in text and "note: one note" in text
    frame = report.to_frame()
    assert list(frame.columns) == ["item", "what", "why", "detail"] and len(frame) == 2
    html = report._repr_html_()
    assert html.startswith("<div>") and "<table>" in html and "<code>q1</code>" in html
    empty = LossReport("x")
    assert empty.ok and len(empty) == 0 and "nothing lost" in str(empty) and "nothing lost" in empty._repr_html_()


def test_results_unpack_as_pairs_and_name_their_parts():
    inst = co.get_instrument("swemwbs")
    result = to_fhir(inst)
    assert isinstance(result, Exported)
    q, losses = result
    assert q is result.output and losses is result.losses
    imported = from_fhir(q)
    assert isinstance(imported, Imported)
    back, losses = imported
    assert back is imported.instrument and back == inst


def test_html_escapes_what_it_shows():
    report = LossReport("<x>", (Loss("<q>", "w", "<script>"),))
    assert "<script>" not in report._repr_html_() and "&lt;script&gt;" in report._repr_html_()


# ---------------------------------------------------------------------------
# generated instruments


@PROPERTY
@given(inst=instruments(), fmt=st.sampled_from(sorted(TRIPS)))
def test_round_trip_with_metadata_is_identical(inst, fmt):
    back, out, _ = TRIPS[fmt](inst)
    assert back == inst
    # REDCap alone must rewrite codes it cannot hold (spaces, commas); that stays reported
    assert all(x.what in ("categories", "missing") and "REDCap codes" in x.why for x in out), str(out)


@PROPERTY
@given(inst=instruments(), fmt=st.sampled_from(sorted(TRIPS)))
def test_round_trip_without_metadata_reports_every_difference(inst, fmt):
    back, out, _ = TRIPS[fmt](inst, metadata=False)
    problems = unexplained(inst, back, out)
    assert not problems, "\n".join(problems) + "\n" + str(out)


@PROPERTY
@given(inst=instruments())
def test_native_round_trip_keeps_items_choices_and_labels(inst):
    """What every format can hold comes back: items in order, their choice codes, and category labels."""
    for fmt, trip in TRIPS.items():
        back, out, _ = trip(inst, metadata=False)
        assert len(back.items) == len(inst.items)
        for a, b in zip(inst.items, back.items, strict=True):
            if not out.about(a.id) or all(x.what != "id" for x in out.about(a.id)):
                assert b.id == a.id, fmt
            shown = a.text or a.label
            assert b.label == shown, fmt
            sa, sb = inst.scale_of(a), back.scale_of(b)
            lost = {x.what for x in out.about(f"scale:{a.scale}")}
            if not lost & {"categories", "missing"}:
                assert sa.codes == sb.codes and sa.missing_codes == sb.missing_codes, fmt


def test_unexplained_catches_a_difference_the_report_does_not_name():
    """The checker used above is not vacuous: drop one loss and it complains."""
    inst = co.get_instrument("cse-risk-indicators")
    back, out, _ = redcap_trip(inst, metadata=False)
    assert unexplained(inst, back, out) == []
    trimmed = LossReport(out.conversion, tuple(x for x in out if not (x.item == "going_missing"
                                                                     and x.what == "recency")))
    assert any("going_missing" in p and "recency" in p for p in unexplained(inst, back, trimmed))


# ---------------------------------------------------------------------------
# the built-in instruments


@pytest.mark.parametrize("iid", BUILTINS)
@pytest.mark.parametrize("fmt", sorted(TRIPS))
def test_builtins_round_trip_exactly_with_metadata(iid, fmt):
    inst = co.get_instrument(iid)
    back, out, inn = TRIPS[fmt](inst)
    assert back == inst
    assert out.ok and inn.ok, str(out) + str(inn)


@pytest.mark.parametrize("iid", [i for i in BUILTINS if i != "practice-codebook"])
@pytest.mark.parametrize("fmt", sorted(TRIPS))
def test_builtins_without_metadata_report_every_difference(iid, fmt):
    inst = co.get_instrument(iid)
    back, out, _ = TRIPS[fmt](inst, metadata=False)
    assert unexplained(inst, back, out) == []


def test_cse_risk_indicators_native_losses_name_the_scoring_rules():
    """The SERAF-style scoring (recency windows, weighted counts, overrides) is what REDCap cannot hold."""
    _, out = to_redcap(co.get_instrument("cse-risk-indicators"), metadata=False)
    whats = {(x.item, x.what) for x in out}
    assert ("disclosure", "recency") in whats and ("abuse_or_neglect", "tag") in whats
    assert ("score:total", "score") in whats and ("instrument", "citation") in whats
    assert ("scale:indicator", "type") in whats  # no/possible/yes has no numeric order in REDCap


def test_a_coding_scheme_travels_only_in_the_metadata():
    inst = co.get_instrument("practice-codebook")
    text, out = to_redcap(inst)
    assert out.ok and from_redcap(io.StringIO(text)).instrument == inst
    with pytest.raises(DefinitionError, match="no choice fields"):
        from_redcap(io.StringIO(to_redcap(inst, metadata=False).output))


# ---------------------------------------------------------------------------
# metadata: long definitions, damage, edits made in the other tool


def _long(inst):
    data = inst.to_dict()
    data["description"] = "A long description. " * 3000  # 60,000 characters: more than an Excel cell holds
    return co.Instrument.from_dict(data)


def test_metadata_longer_than_a_cell_is_split_and_joined():
    """Excel cells hold 32,767 characters: longer metadata goes in numbered pieces, every piece shorter."""
    inst = _long(co.get_instrument("progress-ladder"))
    text, _ = to_redcap(inst)
    pieces = [line for line in text.splitlines() if "@CSEOUTCOMES-INSTRUMENT=" in line]
    assert len(pieces) >= 2 and all(len(p) < 32_767 for p in pieces)
    assert from_redcap(io.StringIO(text)).instrument == inst
    sheets, _ = to_xlsform(inst)
    assert from_xlsform(sheets).instrument == inst


def test_a_missing_metadata_piece_is_a_one_line_error():
    text, _ = to_redcap(_long(co.get_instrument("progress-ladder")))
    lines = text.split("\r\n")
    damaged = "\r\n".join(line for line in lines if "~2/" not in line)
    with pytest.raises(DefinitionError) as exc:
        from_redcap(io.StringIO(damaged))
    assert "pieces of the cseoutcomes metadata are missing" in str(exc.value) and "\n" not in str(exc.value)


def test_damaged_item_metadata_names_the_row_and_column():
    text, _ = to_redcap(co.get_instrument("swemwbs"))
    damaged = text.replace('@CSEOUTCOMES-ITEM={""id"":""item_3""', '@CSEOUTCOMES-ITEM={""id"":""item_3""!!', 1)
    assert damaged != text
    with pytest.raises(DefinitionError) as exc:
        from_redcap(io.StringIO(damaged))
    message = str(exc.value)
    assert "row 6, column 'Field Annotation'" in message and "not valid JSON" in message and "\n" not in message


def test_labels_and_choices_edited_in_redcap_are_kept():
    inst = co.get_instrument("progress-ladder")
    text, _ = to_redcap(inst)
    edited = text.replace(",Being and feeling safe,", ",Feeling safe where I live,", 1)
    edited = edited.replace("10, Steady: managing this well without help", "10, Steady: managing well", 1)
    back, report = from_redcap(io.StringIO(edited))
    assert back.get_item("safety").label == "Feeling safe where I live"
    assert any("wording was edited" in n for n in report.notes)
    # the edited choice list (first item only) becomes a scale of its own; the others keep theirs
    assert back.get_item("safety").scale != back.get_item("relationships").scale
    assert back.scale_of("safety").categories[-1].label == "Steady: managing well"
    assert back.scale_of("relationships") == inst.scale_of("relationships")


def test_metadata_can_be_ignored():
    inst = co.get_instrument("swemwbs")
    text, _ = to_redcap(inst)
    native, _ = from_redcap(io.StringIO(text), metadata=False)
    assert native != inst and native.kind == "questionnaire" and [i.id for i in native.items] == [
        i.id for i in inst.items]


def test_items_added_and_removed_in_redcap_are_taken_into_account():
    """An item deleted in REDCap takes the rules that name it along; an added item joins its section."""
    inst = co.get_instrument("cse-risk-indicators")
    text, _ = to_redcap(inst)
    rows = [r for r in csv.reader(io.StringIO(text)) if r[0] != "exchange_for_sex"]
    rows.insert(next(n for n, r in enumerate(rows) if r[0] == "older_associates"),
                ["new_q", "cse_risk_indicators", "", "radio", "Asked since the form was set up",
                 "yes, Yes | no, No | 999, Refused"] + [""] * 12)
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    back, report = from_redcap(io.StringIO(buf.getvalue()))
    assert "exchange_for_sex" not in {i.id for i in back.items}
    added = back.get_item("new_q")
    assert added.section == "moderate" and back.scale_of(added).missing_codes == ("999",)
    # scores of "every item" keep to the items they had: the new one has other categories
    assert "new_q" not in back.get_score("total").items
    assert any("items added in the other tool are not added" in n for n in report.notes)
    assert back.get_score("total").overrides == inst.get_score("total").overrides
