"""A griffe extension for the API reference: pydantic models get their constructor.

griffe reads the source without importing it, so a pydantic model (``ChangeModel``,
``Priors``, ``Instrument``, ...) has no ``__init__`` to show: its signature is empty and
the fields its docstring lists under "Parameters" look unknown. pydantic builds the
constructor from the annotated fields, keyword only, base classes' fields first; this
extension writes the same signature onto every model that defines no ``__init__``.

It is loaded by ``mkdocs.yml`` (``extensions: [docs/_ext/pydantic_init.py]``); nothing
under ``docs/_ext/`` is published.
"""

from __future__ import annotations

from typing import Any

import griffe


def _base_names(cls: griffe.Class) -> list[str]:
    return [str(base).rsplit(".", 1)[-1] for base in cls.bases]


def _default(value: Any) -> Any:
    """The default a reader needs: ``x`` for ``Field(x, ...)``, ``f()`` for ``Field(default_factory=f)``."""
    if not (isinstance(value, griffe.ExprCall) and str(value.function).rsplit(".", 1)[-1] == "Field"):
        return value
    keywords = {a.name: a.value for a in value.arguments if isinstance(a, griffe.ExprKeyword)}
    positional = [a for a in value.arguments if not isinstance(a, griffe.ExprKeyword)]
    if positional:
        return positional[0]
    if "default" in keywords:
        return keywords["default"]
    if "default_factory" in keywords:
        factory = keywords["default_factory"]
        return factory.body if isinstance(factory, griffe.ExprLambda) else f"{factory}()"
    return None


class PydanticInit(griffe.Extension):
    """Give classes derived from ``pydantic.BaseModel`` a keyword-only ``__init__`` of their fields."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        classes: dict[str, griffe.Class] = {}

        def collect(obj: griffe.Module | griffe.Class) -> None:
            for member in obj.members.values():
                if member.is_alias:
                    continue
                if member.is_class:
                    classes.setdefault(member.name, member)  # model names are unique in this package
                if member.is_module or member.is_class:
                    collect(member)

        collect(pkg)
        models: dict[str, bool] = {}

        def is_model(name: str, seen: frozenset[str] = frozenset()) -> bool:
            if name == "BaseModel":
                return True
            if name in seen or name not in classes:
                return False
            if name not in models:
                models[name] = any(is_model(b, seen | {name}) for b in _base_names(classes[name]))
            return models[name]

        def fields(cls: griffe.Class) -> list[griffe.Attribute]:
            inherited = [f for base in _base_names(cls) if base in classes and is_model(base)
                         for f in fields(classes[base])]
            own = [m for m in cls.members.values()
                   if not m.is_alias and m.is_attribute and m.annotation is not None
                   and "property" not in m.labels and ("class-attribute" in m.labels or m.value is None)
                   and not m.name.startswith("_") and "ClassVar" not in str(m.annotation)
                   and m.name != "model_config"]
            names = {f.name for f in own}
            return [f for f in inherited if f.name not in names] + own

        for name, cls in classes.items():
            if not is_model(name) or "__init__" in cls.members:
                continue
            params = [griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)]
            params += [griffe.Parameter(f.name, annotation=f.annotation, default=_default(f.value),
                                        kind=griffe.ParameterKind.keyword_only) for f in fields(cls)]
            init = griffe.Function("__init__", parameters=griffe.Parameters(*params), returns="None",
                                   lineno=cls.lineno, endlineno=cls.lineno)
            cls.set_member("__init__", init)
