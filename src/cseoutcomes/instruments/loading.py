"""Reading and writing definition files, and turning problems into one-line messages.

YAML is read with a safe loader (no tag can construct a Python object) that also
rejects duplicate keys, which ``yaml.safe_load`` would otherwise silently merge.
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from cseoutcomes.errors import DefinitionError
from cseoutcomes.instruments.schema import CrossCheckError, Instrument

__all__ = ["dump_yaml", "format_path", "instrument_from_dict", "load_yaml_file", "read_yaml"]


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys."""


def _construct_mapping(loader: _StrictSafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (first on line {seen[key].start_mark.line + 1})",
                key_node.start_mark)
        seen[key] = key_node
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# YAML 1.1 reads yes/no/on/off as booleans, which would turn the response codes
# `yes` and `no` into True and False. As in YAML 1.2, only true/false are booleans.
_BOOL = "tag:yaml.org,2002:bool"
_StrictSafeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictSafeLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file safely; problems become a :class:`DefinitionError` naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        err = DefinitionError([f"{path}: no such file (check the path)"], source=str(path))
        err.exit_code = 2
        raise err from None
    except (OSError, UnicodeDecodeError) as exc:
        err = DefinitionError([f"{path}: cannot be read as UTF-8 text ({type(exc).__name__}); save it as UTF-8 YAML"], source=str(path))
        err.exit_code = 2
        raise err from None
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)
    except yaml.constructor.ConstructorError as exc:
        line = f"line {exc.problem_mark.line + 1}" if exc.problem_mark else "?"
        problem = str(exc.problem or exc)
        if "could not determine a constructor for the tag" in problem:
            tag = problem.split("tag", 1)[1].strip().strip("'")
            short = tag.replace("tag:yaml.org,2002:", "!!")
            msg = (f"{path}:{line}: YAML tag '{short}' is not allowed: definitions are plain data "
                   "and are loaded safely (remove the tag)")
        else:
            msg = f"{path}:{line}: {problem} (each key may appear once in a mapping)"
        raise DefinitionError([msg], source=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DefinitionError([f"{path}:{line}: not valid YAML: {problem} (check indentation and quoting there)"],
                              source=str(path)) from None


def load_yaml_file(path: str | Path) -> Instrument:
    """Load and validate one definition file."""
    data = read_yaml(path)
    inst = instrument_from_dict(data, source=str(path))
    return inst


def instrument_from_dict(data: Any, *, source: str | None = None) -> Instrument:
    """Validate a mapping as an instrument; every problem becomes one line in a :class:`DefinitionError`."""
    where = source or "<definition>"
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise DefinitionError([f"{where}: a definition is a mapping of fields (id, version, ...), but this is {kind}"],
                              source=source)
    try:
        inst = Instrument.model_validate(data)
    except ValidationError as exc:
        problems = format_validation_error(exc, data, where)
        problems += _cross_problems_beyond_field_errors(exc, data, where, problems)
        raise DefinitionError(problems, source=source) from None
    inst._source = source  # private attribute: allowed on a frozen model
    return inst


def _cross_problems_beyond_field_errors(exc: ValidationError, data: dict, where: str,
                                        already: list[str]) -> list[str]:
    """Cross-field problems hidden by field-level ones.

    pydantic runs the cross-field check only once every field is valid, so a
    misspelt key or a wrongly typed value would hide, say, a gap between bands
    until it is fixed. To list every problem at once, validate a repaired copy:
    a misspelt key is read as the field it resembles, other faulty values are
    dropped (their defaults apply), and a list element that still cannot be
    built (an item with no usable scale) is left out. Cross-field problems that
    mention a left-out element are not reported, since they follow from it.
    """
    pruned = copy.deepcopy(data)
    removed: set[str] = set()
    errors = exc.errors(include_url=False)
    for _ in range(3):
        missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
        for err in sorted(errors, key=lambda e: len(e["loc"]), reverse=True):
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
            if not loc:
                return []
            parent = _walk(pruned, loc[:-1])
            if err["type"] == "missing" or parent is None:
                continue
            if isinstance(parent, dict) and loc[-1] in parent:
                value = parent.pop(loc[-1])
                if err["type"] == "extra_forbidden":
                    wanted = [str(m[-1]) for m in missing if m[:-1] == loc[:-1]]
                    close = difflib.get_close_matches(str(loc[-1]), wanted, n=1)
                    if close:
                        parent[close[0]] = value
                        missing.discard((*loc[:-1], close[0]))
            elif isinstance(parent, list) and isinstance(loc[-1], int) and loc[-1] < len(parent):
                parent[loc[-1]] = None  # placeholder, dropped below
        for loc in missing:
            # a required field is absent: leave out the list element it belongs to
            for depth in range(1, len(loc)):  # the outermost element: an item, a score
                if isinstance(loc[depth], int):
                    container = _walk(pruned, loc[:depth])
                    if isinstance(container, list) and loc[depth] < len(container):
                        element = container[loc[depth]]
                        if isinstance(element, dict) and isinstance(element.get("id"), str):
                            removed.add(element["id"])
                        container[loc[depth]] = None
                    break
            else:
                return []  # a top-level field is missing: nothing sound to check against
        _drop_placeholders(pruned)
        try:
            Instrument.model_validate(pruned)
        except ValidationError as again:
            cross = [e for e in again.errors(include_url=False)
                     if isinstance((e.get("ctx") or {}).get("error"), CrossCheckError)]
            if cross or len(again.errors()) == 0:
                lines = format_validation_error(again, pruned, where)
                return [p for p in lines if p not in already and not any(f"'{r}'" in p for r in removed)]
            errors = again.errors(include_url=False)
            continue
        return []
    return []


def _walk(node: Any, loc: tuple) -> Any:
    for part in loc:
        if (isinstance(node, dict) and part in node) or (isinstance(node, list) and isinstance(part, int) and part < len(node)):
            node = node[part]
        else:
            return None
    return node


def _drop_placeholders(node: Any) -> None:
    if isinstance(node, dict):
        for value in node.values():
            _drop_placeholders(value)
    elif isinstance(node, list):
        node[:] = [v for v in node if v is not None]
        for value in node:
            _drop_placeholders(value)


# ---------------------------------------------------------------------------
# error formatting


def format_path(loc: tuple, data: Any = None) -> str:
    """Render a pydantic location as ``scores.total.bands[2]``.

    A list element that has an ``id`` (items, scores, sections, overrides,
    codes) is named by it; other list elements by position.
    """
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            ident = node[part].get("id") if isinstance(node, list) and part < len(node) and isinstance(node[part], dict) else None
            out += f".{ident}" if isinstance(ident, str) and ident else f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return out or "(top level)"


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class that the location's parent refers to (for field suggestions)."""
    model: Any = Instrument
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            # the field may be an alias (e.g. `not`)
            field = next((f for f in getattr(model, "model_fields", {}).values() if f.alias == part), None)
        if field is None:
            # dict keys (scale names) pass through
            continue
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


_TYPE_HINTS = (
    ("float", "write a number, e.g. 1 or 0.5"),
    ("int", "write a whole number"),
    ("bool", "write true or false"),
    ("string_type", "write text; quote it if it looks like a number"),
    ("string_pattern_mismatch", "use lower-case letters, digits, '-' and '_' for ids, letters, digits and '_' "
                                "for item names, and MAJOR.MINOR.PATCH for versions"),
    ("too_short", "give at least one entry"),
    ("list_type", "write a list, e.g. [a, b] or one '- entry' per line"),
    ("tuple_type", "write a list, e.g. [a, b] or one '- entry' per line"),
    ("dict_type", "write a mapping of 'key: value' lines"),
    ("model_type", "write a mapping of 'field: value' lines"),
    ("greater_than", "use a larger value"),
    ("less_than", "use a smaller value"),
)


def format_validation_error(exc: ValidationError, data: Any, where: str) -> list[str]:
    """One line per problem: ``file: field.path: what is wrong (how to fix it)``."""
    lines: list[str] = []
    errors = exc.errors(include_url=False)
    extras: dict[tuple, list[str]] = {}
    for err in errors:
        if err["type"] == "extra_forbidden":
            extras.setdefault(tuple(err["loc"][:-1]), []).append(str(err["loc"][-1]))
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "missing" and difflib.get_close_matches(str(loc[-1]), extras.get(loc[:-1], []), n=1):
            continue  # the misspelt field's own line says "did you mean ...?"
        ctx = err.get("ctx") or {}
        original = ctx.get("error")
        if isinstance(original, CrossCheckError):
            for path, message in original.problems:
                lines.append(f"{where}: {format_path((*loc, *_resolve_path(path, data)), data)}: {message}")
            continue
        # tagged unions / nested validators add function names to loc; drop them
        loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        path = format_path(loc, data)
        kind = err["type"]
        if kind == "extra_forbidden":
            name = str(loc[-1])
            model = _model_at(loc)
            allowed = _field_names(model) if model else []
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed here: {', '.join(allowed)}"
            lines.append(f"{where}: {path}: unknown field '{name}' ({hint})")
        elif kind == "missing":
            lines.append(f"{where}: {path}: required field is missing (add it)")
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            elif msg.startswith("Assertion failed, "):
                msg = msg[len("Assertion failed, "):]
            if kind not in ("value_error", "assertion_error") and "input" in err:
                shown = repr(err["input"])
                if len(shown) > 60:
                    shown = shown[:57] + "..."
                msg = f"{msg}, got {shown}"
                hint = next((h for prefix, h in _TYPE_HINTS if kind.startswith(prefix)), None)
                if hint:
                    msg = f"{msg} ({hint})"
            lines.append(f"{where}: {path}: {msg}")
    return lines or [f"{where}: invalid definition"]


def _resolve_path(path: tuple, data: Any) -> tuple:
    """Turn an id-based path from cross_check into positional indices where the data is a list.

    ``("scores", "total", "bands", 2)`` becomes ``("scores", 0, "bands", 2)`` so
    that :func:`format_path` walks the data and renders ids consistently.
    """
    out: list = []
    node = data
    for part in path:
        if isinstance(node, list) and isinstance(part, str):
            index = next((i for i, el in enumerate(node) if isinstance(el, dict) and el.get("id") == part), None)
            if index is None:  # e.g. a duplicate-id problem names the id itself
                out.append(part)
                node = None
                continue
            out.append(index)
            node = node[index]
        else:
            out.append(part)
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                node = None
    return tuple(out)


def dump_yaml(data: dict[str, Any]) -> str:
    """YAML in the field order of the model, readable by :func:`read_yaml`."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
