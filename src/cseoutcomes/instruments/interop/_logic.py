"""Branching logic: REDCap logic and XLSForm ``relevant`` formulas to and from conditions.

Both formats write routing as an expression: ``[q1] = '1' and [age] < 13``
(REDCap) or ``${q1} = '1' and ${age} < 13`` (XLSForm). This module parses the
subset that maps onto :class:`~cseoutcomes.instruments.conditions.Condition`
(comparisons of a field with a literal, ``and``, ``or``, XLSForm ``not()`` and
``selected()``) and renders conditions back. Anything else (functions,
arithmetic, REDCap event prefixes ``[event][field]``, smart variables) is
*unsupported*: the caller keeps the text and reports it.

Semantics: cseoutcomes evaluates conditions with three-valued logic (a blank
answer makes a test unknown); REDCap and XLSForm treat a blank as an empty
string. The structures correspond; the handling of blanks does not, which the
documentation says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cseoutcomes.instruments.conditions import Condition

__all__ = ["Dialect", "LogicError", "Target", "parse", "render", "to_condition"]


class LogicError(ValueError):
    """The expression cannot be parsed or has no condition equivalent (message says why)."""


@dataclass(frozen=True)
class Dialect:
    name: str
    ref: re.Pattern  # one reference token; group 'name' (+ 'option', 'event' for REDCap)
    has_not: bool    # a not() function exists
    neq: str         # the not-equal operator written on export

    def ref_text(self, name: str) -> str:
        return f"[{name}]" if self.name == "redcap" else "${" + name + "}"


REDCAP = Dialect(
    "redcap",
    re.compile(r"(?:\[(?P<event>[A-Za-z0-9_\-]+)\])?\[(?P<name>[A-Za-z0-9_\-:]+)(?:\((?P<option>[^)\]]*)\))?\]"),
    has_not=False, neq="<>")
XLSFORM = Dialect("xlsform", re.compile(r"\$\{(?P<name>[^}\s]+)\}"), has_not=True, neq="!=")


# ---------------------------------------------------------------------------
# tokens and syntax tree

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<op><>|!=|<=|>=|==|=|<|>)
  | (?P<lp>\()
  | (?P<rp>\))
  | (?P<comma>,)
  | (?P<arith>\+|-|\*|/|\^|%)
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-:.]*)
  | (?P<dot>\.)
""", re.VERBOSE)


@dataclass(frozen=True)
class Ref:
    name: str
    option: str | None = None
    event: str | None = None


@dataclass(frozen=True)
class Cmp:
    ref: Ref
    op: str           # = != < <= > >=
    value: str | float


@dataclass(frozen=True)
class Bool:
    op: str           # and / or / not
    parts: tuple[Any, ...]


def _tokens(text: str, dialect: Dialect) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        m = dialect.ref.match(text, pos)
        if m:
            out.append(("ref", Ref(m.group("name"), m.groupdict().get("option"), m.groupdict().get("event"))))
            pos = m.end()
            continue
        m = _TOKEN.match(text, pos)
        if not m:
            raise LogicError(f"cannot read the expression at '{text[pos:pos + 12]}'")
        kind = m.lastgroup
        value = m.group()
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "str":
            out.append(("lit", value[1:-1]))
        elif kind == "num":
            # "- 1" after an operand is arithmetic, not a negative number
            if value[0] in "+-" and out and out[-1][0] in ("ref", "lit", "rp"):
                out.append(("arith", value[0]))
                out.append(("lit", float(value[1:])))
            else:
                out.append(("lit", float(value)))
        elif kind == "word" and value.lower() in ("and", "or"):
            out.append((value.lower(), value))
        elif kind == "op":
            out.append(("op", {"==": "=", "<>": "!="}.get(value, value)))
        else:
            out.append((kind, value))  # type: ignore[arg-type]
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]):
        self.t = tokens
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, kind: str | None = None) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None or (kind and tok[0] != kind):
            want = {"rp": "')'", "lp": "'('", "comma": "','"}.get(kind or "", "more")
            raise LogicError(f"expected {want} but the expression " + ("ends" if tok is None else f"has '{tok[1]}'"))
        self.i += 1
        return tok

    def parse(self):
        node = self.or_()
        if self.peek() is not None:
            tok = self.peek()
            if tok[0] == "arith":  # type: ignore[index]
                raise LogicError("arithmetic is not a condition")
            raise LogicError(f"unexpected '{tok[1]}'")  # type: ignore[index]
        return node

    def or_(self):
        parts = [self.and_()]
        while self.peek() and self.peek()[0] == "or":  # type: ignore[index]
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else Bool("or", tuple(parts))

    def and_(self):
        parts = [self.unary()]
        while self.peek() and self.peek()[0] == "and":  # type: ignore[index]
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else Bool("and", tuple(parts))

    def unary(self):
        tok = self.peek()
        if tok is None:
            raise LogicError("the expression ends too early")
        if tok[0] == "lp":
            self.take()
            node = self.or_()
            self.take("rp")
            return node
        if tok[0] == "word" and self.i + 1 < len(self.t) and self.t[self.i + 1][0] == "lp":
            return self.function()
        left = self.operand()
        tok = self.peek()
        if tok is None or tok[0] != "op":
            if tok is not None and tok[0] == "arith":
                raise LogicError("arithmetic is not a condition")
            raise LogicError("a comparison (=, <>, <, >...) is missing")
        op = self.take()[1]
        right = self.operand()
        if isinstance(left, Ref) and not isinstance(right, Ref):
            return Cmp(left, op, right)
        if isinstance(right, Ref) and not isinstance(left, Ref):
            flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
            return Cmp(right, flipped, left)
        raise LogicError("only a field compared with a value can become a condition")

    def operand(self):
        tok = self.take()
        if tok[0] in ("ref", "lit"):
            nxt = self.peek()
            if nxt is not None and nxt[0] == "arith":
                raise LogicError("arithmetic is not a condition")
            return tok[1]
        if tok[0] == "word" and tok[1].lower() in ("true", "false"):
            return "1" if tok[1].lower() == "true" else "0"
        raise LogicError(f"unexpected '{tok[1]}'")

    def function(self):
        name = self.take("word")[1].lower()
        self.take("lp")
        args = []
        if self.peek() and self.peek()[0] != "rp":  # type: ignore[index]
            args.append(self.or_() if name == "not" else self.operand())
            while self.peek() and self.peek()[0] == "comma":  # type: ignore[index]
                self.take()
                args.append(self.operand())
        self.take("rp")
        if name == "not" and len(args) == 1:
            return Bool("not", (args[0],))
        if name == "selected" and len(args) == 2 and isinstance(args[0], Ref) and not isinstance(args[1], Ref):
            return Cmp(args[0], "selected", args[1])
        raise LogicError(f"the function {name}() has no condition equivalent")


def parse(text: str, dialect: Dialect):
    """Parse an expression into a small syntax tree; :class:`LogicError` if it cannot be."""
    tokens = _tokens(text, dialect)
    if not tokens:
        raise LogicError("the expression is empty")
    return _Parser(tokens).parse()


# ---------------------------------------------------------------------------
# syntax tree -> condition


@dataclass(frozen=True)
class Target:
    """What a name in an expression refers to (the caller's lookup returns one)."""

    kind: str                        # item, context, score
    id: str                          # the id in the instrument
    codes: tuple[str, ...] = ()      # item: every code (categories, then missing codes)
    ctype: str = "number"            # context: number, category, boolean


def _num(value: str | float) -> float | None:
    if isinstance(value, float):
        return value
    try:
        out = float(value)
    except ValueError:
        return None
    return out if math.isfinite(out) else None


def _match_code(codes: tuple[str, ...], value: str | float) -> str | None:
    text = value if isinstance(value, str) else (str(int(value)) if float(value).is_integer() else repr(value))
    for code in codes:
        if code.casefold() == text.strip().casefold():
            return code
    number = _num(value)
    if number is not None:
        for code in codes:
            if _num(code) == number:
                return code
    return None


_OPS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "=": "eq"}
_TEST = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def to_condition(node, lookup: Callable[[Ref], Target | None]) -> Condition:
    """Turn a parsed expression into a condition; :class:`LogicError` naming what has no equivalent."""
    return _simplify(_convert(node, lookup))


def _convert(node, lookup) -> Condition:
    if isinstance(node, Bool):
        parts = tuple(_convert(p, lookup) for p in node.parts)
        if node.op == "not":
            return Condition.model_validate({"not": parts[0]})
        return Condition.model_validate({"all" if node.op == "and" else "any": parts})
    assert isinstance(node, Cmp)
    ref, op, value = node.ref, node.op, node.value
    if ref.event is not None:
        raise LogicError(f"[{ref.event}][{ref.name}] refers to another event, which a condition cannot")
    target = lookup(ref)
    if target is None:
        raise LogicError(f"'{ref.name}' is not an item, context field or score of this instrument")
    if target.kind == "item":
        if op in ("=", "selected", "!="):
            code = _match_code(target.codes, value)
            if code is None:
                raise LogicError(f"'{value}' is not a code of '{ref.name}'")
            cond = Condition.model_validate({"item": target.id, "in": [code]})
            return Condition.model_validate({"not": cond}) if op == "!=" else cond
        number = _num(value)
        if number is None:
            raise LogicError(f"'{ref.name}' is compared with {op} to a value that is not a number")
        hits = [c for c in target.codes if _num(c) is not None and _TEST[op](_num(c), number)]
        if not hits:
            raise LogicError(f"no code of '{ref.name}' is {op} {value}")
        return Condition.model_validate({"item": target.id, "in": hits})
    key = "field" if target.kind == "context" else "score"
    if op == "selected":
        raise LogicError(f"selected() applies to a choice question, not '{ref.name}'")
    number = _num(value)
    if op in ("=", "!="):
        if number is None and target.kind == "context" and target.ctype == "category":
            cond = Condition.model_validate({key: target.id, "eq": value})
        elif number is None:
            raise LogicError(f"'{ref.name}' is compared with a value that is not a number")
        else:
            cond = Condition.model_validate({key: target.id, "eq": number})
        return Condition.model_validate({"not": cond}) if op == "!=" else cond
    if number is None:
        raise LogicError(f"'{ref.name}' is compared with {op} to a value that is not a number")
    return Condition.model_validate({key: target.id, _OPS[op]: number})


def _simplify(cond: Condition) -> Condition:
    """Flatten nested and/or, and merge 'or' tests of one item into one list of codes."""
    if cond.not_ is not None:
        return Condition.model_validate({"not": _simplify(cond.not_)})
    for key in ("all", "any"):
        parts = getattr(cond, key)
        if parts is None:
            continue
        flat: list[Condition] = []
        for part in (_simplify(p) for p in parts):
            inner = getattr(part, key)
            flat.extend(inner if inner is not None else [part])
        if key == "any":
            merged: list[Condition] = []
            for part in flat:
                prev = next((m for m in merged if part.item is not None and m.item == part.item), None)
                if prev is not None:
                    codes = list(prev.in_ or ()) + [c for c in part.in_ or () if c not in (prev.in_ or ())]
                    merged[merged.index(prev)] = Condition.model_validate({"item": prev.item, "in": codes})
                else:
                    merged.append(part)
            flat = merged
        if len(flat) == 1:
            return flat[0]
        return Condition.model_validate({key: flat})
    return cond


# ---------------------------------------------------------------------------
# condition -> text


def _fmt_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _quote(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    raise LogicError("a code holds both kinds of quote mark")


def render(cond: Condition, dialect: Dialect, name_of: Callable[[str, str], str | None],
           section_items: Callable[[str], list[tuple[str, tuple[str, ...]]]]) -> str:
    """Write a condition as an expression; :class:`LogicError` if the dialect cannot say it.

    ``name_of(kind, id)`` gives the field name of an item, context field or
    score (None where it has none); ``section_items(id)`` the items of a section with their codes.
    """
    return _render(cond, dialect, name_of, section_items, negate=False, top=True)


def _ref(kind: str, ident: str, dialect: Dialect, name_of) -> str:
    name = name_of(kind, ident)
    if name is None:
        raise LogicError(f"{kind} '{ident}' has no field in this format")
    return dialect.ref_text(name)


def _join(parts: list[str], word: str, top: bool) -> str:
    text = f" {word} ".join(parts)
    return text if top or len(parts) == 1 else f"({text})"


def _render(cond: Condition, dialect: Dialect, name_of, section_items, *, negate: bool, top: bool) -> str:
    neg_ops = {"lt": "ge", "le": "gt", "gt": "le", "ge": "lt"}
    sym = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "="}
    if cond.not_ is not None:
        if dialect.has_not and not negate:
            return f"not({_render(cond.not_, dialect, name_of, section_items, negate=False, top=True)})"
        return _render(cond.not_, dialect, name_of, section_items, negate=not negate, top=top)
    if cond.all is not None or cond.any is not None:
        is_all = cond.all is not None
        parts = [_render(c, dialect, name_of, section_items, negate=negate, top=False)
                 for c in (cond.all if is_all else cond.any)]  # type: ignore[union-attr]
        word = "and" if is_all != negate else "or"
        return _join(parts, word, top)
    if cond.item is not None:
        ref = _ref("item", cond.item, dialect, name_of)
        codes = [str(c) for c in cond.in_ or ()]
        if negate:
            if dialect.has_not:
                inner = _join([f"{ref} = {_quote(c)}" for c in codes], "or", True)
                return f"not({inner})"
            return _join([f"{ref} {dialect.neq} {_quote(c)}" for c in codes], "and", top)
        return _join([f"{ref} = {_quote(c)}" for c in codes], "or", top)
    if cond.section is not None:
        if cond.at_least != 1:
            raise LogicError(f"'at least {cond.at_least} items of a section' has no {dialect.name} equivalent")
        wanted = [str(c) for c in cond.in_ or ()]
        parts = []
        for item, codes in section_items(cond.section):  # an item without these codes never counts
            mine = [c for c in wanted if c.casefold() in {x.casefold() for x in codes}]
            if mine:
                parts.append({"item": item, "in": mine})
        if not parts:
            raise LogicError(f"no item of section '{cond.section}' has those codes")
        expanded = Condition.model_validate(parts[0] if len(parts) == 1 else {"any": parts})
        return _render(expanded, dialect, name_of, section_items, negate=negate, top=top)
    kind = "context" if cond.field is not None else "score"
    ref = _ref(kind, cond.field if cond.field is not None else cond.score, dialect, name_of)  # type: ignore[arg-type]
    tests: list[str] = []
    for op, value in cond.comparisons().items():
        literal = _quote(value) if isinstance(value, str) else _fmt_number(value)
        if negate:
            tests.append(f"{ref} {dialect.neq} {literal}" if op == "eq" else f"{ref} {sym[neg_ops[op]]} {literal}")
        else:
            tests.append(f"{ref} {sym[op]} {literal}")
    if cond.in_ is not None:
        literals = [_quote(v) if isinstance(v, str) else _fmt_number(v) for v in cond.in_]
        if negate:  # not one of them: different from each
            tests.append(_join([f"{ref} {dialect.neq} {lit}" for lit in literals], "and", len(tests) == 0 and top))
        else:
            tests.append(_join([f"{ref} = {lit}" for lit in literals], "or", len(tests) == 0 and top))
    # the tests of one condition all hold; negated, one of them fails
    return _join(tests, "or" if negate else "and", top)
