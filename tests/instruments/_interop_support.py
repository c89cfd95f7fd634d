"""Test support for the interop tests: a strategy that builds valid instruments, and a checker that
every difference a round trip makes is named in the loss report.

Not a test module (no ``test_`` prefix); the interop tests import it.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from cseoutcomes import Instrument
from cseoutcomes.instruments.schema import KNOWN_KINDS

# ---------------------------------------------------------------------------
# the strategy

# printable text, with the characters formats trip over: separators, quotes, markup, line breaks
_CHARS = st.one_of(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Co", "Zl", "Zp")),
    st.sampled_from([",", "|", "'", '"', "<b>", "\n", " ", "é", "ü", "—", "[x]", "${x}"]),
)
NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True)
_NUMERIC_STARTS = (-1, 0, 1, 2, 5)
_WORDS = ("yes", "no", "possible", "never", "Often", "some_times", "a.b", "x-y", "low", "HIGH", "a b", "x,y", "n|a")
_MISSING = (("unknown", "unknown", "Not known"), ("999", "declined", "Refused"), ("not_asked", "not_asked", None),
            ("777", "unknown", "Don't know"), ("na", "not_applicable", "Not applicable"),
            ("tbc", "not_known_yet", None), ("-9", "declined", "Prefers not to say"), ("88", "unknown", None))


def text(max_size: int = 24) -> st.SearchStrategy[str]:
    return st.lists(_CHARS, min_size=1, max_size=max_size).map("".join).filter(lambda s: s.strip() != "")


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy)


@st.composite
def scales(draw) -> dict[str, Any]:
    n = draw(st.integers(2, 5))
    numeric = draw(st.booleans())
    if numeric:
        start = draw(st.sampled_from(_NUMERIC_STARTS))
        codes = [str(start + i) for i in range(n)]
    else:
        codes = draw(st.lists(st.sampled_from(_WORDS), min_size=n, max_size=n, unique_by=str.casefold))
    kind = draw(st.sampled_from(["ordinal", "nominal", *(["binary"] if n == 2 else [])]))
    how = draw(st.sampled_from(["codes" if numeric else "none", "rising", "none", "some"]))
    if how == "codes":
        values: list[float | None] = [float(c) for c in codes]
    elif how == "rising":
        steps = draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.0]), min_size=n, max_size=n))
        values = [float(sum(steps[: i + 1])) for i in range(n)]
    elif how == "some" and kind != "ordinal":
        values = [draw(maybe(st.sampled_from([0.0, 1.0, 2.5]))) for _ in codes]
    else:
        values = [None] * n
    if kind == "nominal" and draw(st.booleans()):
        order = draw(st.permutations(range(n)))
        codes, values = [codes[i] for i in order], [values[i] for i in order]
    cats = []
    for code, value in zip(codes, values, strict=True):
        cat: dict[str, Any] = {"code": code}
        label = draw(st.one_of(st.none(), text(), st.just(code)))
        if label is not None:
            cat["label"] = label
        if value is not None:
            cat["value"] = value
        cats.append(cat)
    missing = []
    for code, meaning, label in draw(st.lists(st.sampled_from(_MISSING), max_size=2, unique_by=lambda m: m[0])):
        if code.casefold() in {c.casefold() for c in codes}:
            continue
        entry: dict[str, Any] = {"code": code, "meaning": meaning}
        label = draw(st.sampled_from([label, None, "odd label"])) if label else draw(maybe(text()))
        if label is not None:
            entry["label"] = label
        missing.append(entry)
    scale: dict[str, Any] = {"type": kind, "categories": cats}
    if missing:
        scale["missing"] = missing
    if draw(st.booleans()):
        scale["label"] = draw(text())
    return scale


def _numeric(scale: dict[str, Any]) -> bool:
    return all("value" in c for c in scale["categories"])


@st.composite
def conditions(draw, items: list[dict], scales_: dict[str, dict], context: dict[str, dict],
               sections: list[dict], depth: int = 0) -> dict[str, Any]:
    kinds = ["item"] + (["field"] if any(c["type"] == "number" for c in context.values()) else [])
    kinds += (["section"] if any(any(i.get("section") == s["id"] for i in items) for s in sections) else [])
    if depth < 2:
        kinds += ["not", "any", "all"]
    kind = draw(st.sampled_from(kinds))
    if kind == "item":
        item = draw(st.sampled_from(items))
        scale = scales_[item["scale"]]
        codes = [c["code"] for c in scale["categories"]] + [m["code"] for m in scale.get("missing", [])]
        chosen = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=2, unique=True))
        return {"item": item["id"], "in": chosen}
    if kind == "field":
        name = draw(st.sampled_from([n for n, c in context.items() if c["type"] == "number"]))
        op = draw(st.sampled_from(["lt", "le", "gt", "ge", "eq"]))
        return {"field": name, op: float(draw(st.integers(0, 30)))}
    if kind == "section":
        sec = draw(st.sampled_from([s for s in sections if any(i.get("section") == s["id"] for i in items)]))
        member = next(i for i in items if i.get("section") == sec["id"])
        codes = [c["code"] for c in scales_[member["scale"]]["categories"]]
        return {"section": sec["id"], "in": [draw(st.sampled_from(codes))]}
    if kind == "not":
        return {"not": draw(conditions(items, scales_, context, sections, depth + 1))}
    parts = draw(st.lists(conditions(items, scales_, context, sections, depth + 1), min_size=2, max_size=3))
    return {kind: parts}


@st.composite
def instruments(draw) -> Instrument:
    """A valid instrument: scales, items, sections with routing, context fields, scores with bands."""
    may_ship = draw(st.booleans())
    scales_ = {}
    for name in draw(st.lists(NAMES, min_size=1, max_size=3, unique=True)):
        scales_[name] = draw(scales())
    context = {}
    for name in draw(st.lists(NAMES, max_size=2, unique=True)):
        entry: dict[str, Any] = {"type": draw(st.sampled_from(["number", "number", "category", "boolean"]))}
        if draw(st.booleans()):
            entry["label"] = draw(text())
        if draw(st.integers(0, 3)) == 0:
            entry["unit"] = draw(text(8))
        context[name] = entry
    sections = [{"id": sid, "label": draw(st.sampled_from(["Part A", "Part B"]) | text())}
                for sid in draw(st.lists(NAMES, max_size=3, unique=True))]
    for s in sections:
        if draw(st.integers(0, 3)) == 0:
            s["description"] = draw(text())
    items = []
    for iid in draw(st.lists(NAMES, min_size=1, max_size=6, unique=True)):
        item: dict[str, Any] = {"id": iid, "label": draw(text()), "scale": draw(st.sampled_from(sorted(scales_)))}
        if may_ship and draw(st.booleans()):
            item["text"] = draw(st.one_of(text(40), st.just(item["label"])))
        if sections and draw(st.integers(0, 3)) > 0:
            item["section"] = draw(st.sampled_from(sections))["id"]
        for key, strategy in (("domain", NAMES), ("description", text(30)), ("tag", st.sampled_from(["risk", "harm"]))):
            if draw(st.integers(0, 3)) == 0:
                item[key] = draw(strategy)
        if draw(st.integers(0, 4)) == 0:
            item["weight"] = draw(st.sampled_from([0.5, 2.0, 3.0]))
        if draw(st.integers(0, 5)) == 0:
            item["reverse"] = True
        if draw(st.integers(0, 5)) == 0:
            item["recency"] = {"windows": [{"within_months": 6, "weight": 5}, {"within_months": 12, "weight": 1}]}
        items.append(item)
    if sections and draw(st.booleans()):  # sections in the order of their items, mostly
        order = list(dict.fromkeys(i.get("section") for i in items if i.get("section")))
        sections.sort(key=lambda s: order.index(s["id"]) if s["id"] in order else len(order))
    for s in sections:
        if draw(st.integers(0, 2)) == 0:
            s["applies_when"] = draw(conditions(items, scales_, context, sections))
    data: dict[str, Any] = {
        "id": draw(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,14}", fullmatch=True)),
        "version": f"{draw(st.integers(0, 3))}.{draw(st.integers(0, 12))}.{draw(st.integers(0, 9))}",
        "title": draw(text(40)),
        "kind": draw(st.sampled_from([k for k in KNOWN_KINDS if k != "coding_scheme"] + ["questionnaire"])),
        "citation": [{"text": draw(text(60))} for _ in range(draw(st.integers(1, 2)))],
        "licence": {"name": draw(st.sampled_from(["MIT", "CC-BY-4.0", "proprietary"])), "wording_may_ship": may_ship},
        "response_scales": scales_,
        "items": items,
    }
    for key, strategy in (("description", text(60)), ("notes", text(60)),
                          ("informants", st.lists(NAMES, min_size=1, max_size=2, unique=True)),
                          ("age_range", st.just([10, 18]))):
        if draw(st.integers(0, 3)) == 0:
            data[key] = draw(strategy)
    if context:
        data["context"] = context
    if sections:
        data["sections"] = sections
    scores = []
    for sid in draw(st.lists(NAMES, max_size=2, unique=True)):
        score = _score(draw, sid, items, scales_)
        if score is not None:
            scores.append(score)
    data["scores"] = scores
    inst = Instrument.from_dict(data)
    if scores:  # bands and overrides need the scores' ranges
        for score in data["scores"]:
            lo, hi, integer = inst.score_range(score["id"])
            if draw(st.booleans()) and not math.isnan(lo) and hi > lo:
                score["bands"] = _bands(draw, lo, hi, integer)
                if draw(st.booleans()):
                    item = draw(st.sampled_from(items))
                    code = scales_[item["scale"]]["categories"][0]["code"]
                    score["overrides"] = [{"id": "rule", "when": {"item": item["id"], "in": [code]},
                                           "action": draw(st.sampled_from(["set", "floor", "cap"])),
                                           "band": draw(st.sampled_from(score["bands"]))["code"],
                                           "reason": draw(text())}]
            if draw(st.booleans()):
                score["change"] = {"direction": draw(st.sampled_from(["higher_is_better", "higher_is_worse"]))}
        inst = Instrument.from_dict(data)
    return inst


def _score(draw, sid: str, items: list[dict], scales_: dict[str, dict]) -> dict[str, Any] | None:
    numeric_items = [i["id"] for i in items if _numeric(scales_[i["scale"]])]
    methods = ["weighted_count"] + (["sum", "mean"] if numeric_items else []) + ["step"]
    method = draw(st.sampled_from(methods))
    score: dict[str, Any] = {"id": sid, "label": draw(text()), "method": method}
    if method in ("sum", "mean"):
        chosen = draw(st.lists(st.sampled_from(numeric_items), min_size=1, unique=True))
        if chosen != [i["id"] for i in items]:
            score["items"] = chosen
        rule = draw(st.sampled_from(["complete", "prorate"] if method == "sum" else ["complete", "available"]))
        if rule != "complete":
            score["missing"] = {"rule": rule, **({"min_answered": 1} if draw(st.booleans()) else {})}
    elif method == "weighted_count":
        scale = draw(st.sampled_from(sorted({i["scale"] for i in items})))
        chosen = [i["id"] for i in items if i["scale"] == scale]
        if chosen != [i["id"] for i in items]:
            score["items"] = chosen
        codes = [c["code"] for c in scales_[scale]["categories"]]
        score["counts"] = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=2, unique=True))
        if draw(st.booleans()):
            score["missing"] = {"rule": "lower_bound"}
    else:
        score.update(step="irt_theta", range=[-3.0, 3.0], missing={"rule": "available"})
    return score


def _bands(draw, lo: float, hi: float, integer: bool) -> list[dict[str, Any]]:
    if integer:
        inner = list(range(int(lo) + 1, int(hi) + 1))
        cuts = sorted(draw(st.lists(st.sampled_from(inner), max_size=2, unique=True))) if inner else []
        starts = [lo, *map(float, cuts)]
        ends = [c - 1 for c in starts[1:]] + [hi]
    else:
        cuts = sorted({round(lo + (hi - lo) * f, 3) for f in draw(st.lists(st.sampled_from([0.25, 0.5, 0.75]),
                                                                               max_size=2))})
        starts = [lo, *cuts]
        ends = [*cuts, hi]
    bands = []
    for n, (a, b) in enumerate(zip(starts, ends, strict=True)):
        band: dict[str, Any] = {"code": f"b{n}", "label": f"Band {n}", "min": a}
        if n < len(starts) - 1 or draw(st.booleans()):
            band["max"] = b
        bands.append(band)
    return bands


# ---------------------------------------------------------------------------
# every difference is named in the loss report


_TOP = ("id", "version", "title", "kind", "description", "citation", "licence", "age_range", "informants",
        "evidence", "notes", "codes")


def _dump(obj) -> Any:
    if obj is None:
        return None
    return obj.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)


def unexplained(orig: Instrument, back: Instrument, report) -> list[str]:
    """Differences between ``orig`` and ``back`` that no entry of the loss report names.

    Items are paired by position (exporters write every item, in order); context fields by name without
    regard to case; scores by id; sections through their first item; scales through the first item that
    uses them. A difference in field F of element E is named by a loss whose ``item`` is E and whose
    ``what`` is F (or the element as a whole).
    """
    losses = {(x.item, x.what) for x in report}

    def named(element: str, *whats: str) -> bool:
        return any((element, w) in losses for w in (*whats, element.split(":")[0] if ":" in element else "item"))

    def any_about(element: str) -> bool:
        return any(item == element for item, _ in losses)

    problems: list[str] = []
    if len(orig.items) != len(back.items):
        return [f"{len(orig.items)} items went out but {len(back.items)} came back"]
    item_map = {b.id: a.id for a, b in zip(orig.items, back.items, strict=True)}
    # context: by name, without regard to case
    ctx_map: dict[str, str] = {}
    recency_cols = {(b.id + a.recency.column_suffix).casefold() for a, b in zip(orig.items, back.items, strict=True)
                    if a.recency is not None}
    # context fields: in order, leaving out those the report says are lost and the recency columns
    kept = [n for n in orig.context if not named(f"context:{n}", "context")]
    came = [n for n in back.context if n.casefold() not in recency_cols]
    if len(kept) != len(came):
        problems.append(f"context fields {kept} went out but {came} came back")
    ctx_map.update(zip(came, kept, strict=False))
    score_map: dict[str, str] = {}
    for s in back.scores:
        match = next((t.id for t in orig.scores if t.id == s.id), None) or next(
            (t.id for t in orig.scores if t.id.casefold() in (s.id.casefold(), s.id.casefold()[:-6])
             and t.id not in score_map.values()), None)
        if match is None:
            problems.append(f"score '{s.id}' came back from nowhere")
        else:
            score_map[s.id] = match
    sec_map: dict[str, str] = {}
    for a, b in zip(orig.items, back.items, strict=True):
        if b.section is not None and b.section not in sec_map and a.section is not None:
            sec_map[b.section] = a.section
    scale_map: dict[str, str] = {}
    for a, b in zip(orig.items, back.items, strict=True):
        scale_map.setdefault(b.scale, a.scale)

    def rename(cond: dict | None) -> dict | None:
        if cond is None:
            return None
        out = {}
        for key, value in cond.items():
            if key == "item":
                value = item_map.get(value, value)
            elif key == "field":
                value = ctx_map.get(value, value)
            elif key == "score":
                value = score_map.get(value, value)
            elif key == "section":
                value = sec_map.get(value, value)
            elif key in ("all", "any"):
                value = [rename(v) for v in value]
            elif key == "not":
                value = rename(value)
            out[key] = value
        return out

    a_top, b_top = orig.to_dict(), back.to_dict()
    for key in _TOP:
        if a_top.get(key) != b_top.get(key) and not named("instrument", key):
            problems.append(f"instrument.{key} differs")
    for name, ctx in orig.context.items():
        back_name = next((n for n, o in ctx_map.items() if o == name), None)
        if back_name is None:
            if not named(f"context:{name}", "context"):
                problems.append(f"context '{name}' lost unreported")
            continue
        if back_name != name and not named(f"context:{name}", "name"):
            problems.append(f"context '{name}' renamed unreported")
        a, b = _dump(ctx), _dump(back.context[back_name])
        for key in set(a) | set(b):
            if a.get(key) != b.get(key) and not named(f"context:{name}", key):
                problems.append(f"context '{name}'.{key} differs")
    used = {i.scale for i in orig.items}
    back_scales = {scale_map[n]: s for n, s in back.response_scales.items() if n in scale_map}
    for name, scale in orig.response_scales.items():
        if name not in used:
            if not named(f"scale:{name}", "scale"):
                problems.append(f"unused scale '{name}' lost unreported")
            continue
        if name not in back_scales:
            if not any_about(f"scale:{name}"):
                problems.append(f"scale '{name}' merged away unreported")
            continue
        a, b = _dump(scale), _dump(back_scales[name])
        for key in set(a) | set(b):
            if a.get(key) != b.get(key) and not named(f"scale:{name}", key):
                problems.append(f"scale '{name}'.{key} differs: {a.get(key)} -> {b.get(key)}")
    for a_item, b_item in zip(orig.items, back.items, strict=True):
        a, b = _dump(a_item), _dump(b_item)
        b["id"] = b_item.id
        b["scale"] = scale_map.get(b_item.scale, b_item.scale)
        if b_item.section is not None:
            b["section"] = sec_map.get(b_item.section, b_item.section)
        for key in set(a) | set(b):
            if a.get(key) == b.get(key) or named(a_item.id, key):
                continue
            if key == "scale" and any_about(f"scale:{a_item.scale}"):
                continue
            if key == "section" and a_item.section is not None and named(f"section:{a_item.section}", "id"):
                continue
            problems.append(f"item '{a_item.id}'.{key} differs: {a.get(key)!r} -> {b.get(key)!r}")
    back_secs = {sec_map.get(s.id, s.id): s for s in back.sections}
    for s in orig.sections:
        if s.id not in back_secs:
            if not any_about(f"section:{s.id}"):
                problems.append(f"section '{s.id}' lost unreported")
            continue
        bs = back_secs[s.id]
        if bs.id != s.id and not named(f"section:{s.id}", "id"):
            problems.append(f"section '{s.id}' renamed unreported")
        a, b = _dump(s), _dump(bs)
        a.pop("id")
        b.pop("id")
        b["applies_when"] = rename(b.get("applies_when"))
        if b["applies_when"] is None:
            b.pop("applies_when")
        for key in set(a) | set(b):
            if a.get(key) != b.get(key) and not named(f"section:{s.id}", key):
                problems.append(f"section '{s.id}'.{key} differs: {a.get(key)} -> {b.get(key)}")
    order_a = [s.id for s in orig.sections if s.id in back_secs]
    order_b = [sec_map.get(s.id, s.id) for s in back.sections if sec_map.get(s.id, s.id) in order_a]
    if list(dict.fromkeys(order_b)) != order_a and not any(w == "order" for _, w in losses):
        problems.append("section order differs unreported")
    back_scores = {score_map[s.id]: s for s in back.scores if s.id in score_map}
    for s in orig.scores:
        if s.id not in back_scores:
            if not named(f"score:{s.id}", "score"):
                problems.append(f"score '{s.id}' lost unreported")
            continue
        bs = back_scores[s.id]
        if bs.id != s.id and not named(f"score:{s.id}", "id"):
            problems.append(f"score '{s.id}' renamed unreported")
        a, b = _dump(s), _dump(bs)
        a.pop("id")
        b.pop("id")
        if b.get("items") is not None:
            b["items"] = [item_map.get(i, i) for i in b["items"]]
        for key in set(a) | set(b):
            if a.get(key) != b.get(key) and not named(f"score:{s.id}", key):
                problems.append(f"score '{s.id}'.{key} differs: {a.get(key)} -> {b.get(key)}")
    return problems
