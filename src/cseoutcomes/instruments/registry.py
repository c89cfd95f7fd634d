"""Finding instruments: built-ins, plugins, and user folders.

Sources, from lowest to highest precedence (a later source wins on a duplicate
id and version, with a warning naming both):

1. the built-in definitions shipped in the wheel (the repository's ``instruments/``);
2. installed plugins: the ``cseoutcomes.instruments`` entry-point group;
3. folders in the ``CSEOUTCOMES_INSTRUMENTS_PATH`` environment variable
   (separated by ``os.pathsep``);
4. folders or files passed as ``paths=``.

Discovery is done once per combination of paths and cached; call
:func:`refresh` after installing a plugin in a running session. A source that
cannot be loaded (a broken plugin, an invalid file in a user folder) becomes a
:class:`~cseoutcomes.PluginWarning` naming it, and everything else still loads.

A plugin's entry point may refer to an :class:`Instrument`, a path to a
definition file or folder, an iterable of those, or a callable returning any of
those.
"""

from __future__ import annotations

import difflib
import os
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from cseoutcomes.errors import (
    CseOutcomesError,
    DefinitionError,
    PluginWarning,
    UnknownInstrumentError,
)
from cseoutcomes.instruments.loading import load_yaml_file
from cseoutcomes.instruments.schema import Instrument

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_VAR",
    "builtin_dir",
    "get_instrument",
    "list_instruments",
    "refresh",
]

ENTRY_POINT_GROUP = "cseoutcomes.instruments"
ENV_VAR = "CSEOUTCOMES_INSTRUMENTS_PATH"
_SUFFIXES = (".yaml", ".yml")


def builtin_dir() -> Path:
    """The folder of built-in definitions: inside the installed wheel, or the source checkout's ``instruments/``."""
    packaged = resources.files("cseoutcomes") / "_builtin_instruments"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "instruments"
    if checkout.is_dir():
        return checkout
    raise CseOutcomesError("the built-in instrument definitions are missing from this installation",
                           hint="reinstall cseoutcomes")


@dataclass(frozen=True)
class _Entry:
    instrument: Instrument
    origin: str  # "built-in", "plugin <name> (<dist>)", or a file path


def _version_key(version: str) -> tuple:
    core, _, pre = version.partition("-")
    nums = tuple(int(x) for x in core.split("."))
    # a pre-release sorts before its release
    return (*nums, 0 if pre else 1, pre)


def _files_in(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file())
    return []


def _from_files(paths: Iterable[Path], origin_of) -> list[_Entry]:
    entries: list[_Entry] = []
    for file in paths:
        try:
            inst = load_yaml_file(file)
        except DefinitionError as exc:
            warnings.warn(f"skipped instrument file {file}: {exc.problems[0]}"
                          + (f" (and {len(exc.problems) - 1} more problems)" if len(exc.problems) > 1 else ""),
                          PluginWarning, stacklevel=4)
            continue
        entries.append(_Entry(inst, origin_of(file)))
    return entries


def _plugin_objects(obj: Any, label: str, depth: int = 0) -> list[_Entry]:
    if depth > 3:
        raise TypeError("nested too deeply")
    if isinstance(obj, Instrument):
        if obj.source is None:
            obj._source = label
        return [_Entry(obj, label)]
    if isinstance(obj, (str, os.PathLike)):
        path = Path(obj)
        files = _files_in(path)
        if not files:
            raise FileNotFoundError(f"no definition files at {path}")
        out = []
        for file in files:
            inst = load_yaml_file(file)
            inst._source = f"{label}: {file.name}"
            out.append(_Entry(inst, inst._source))
        return out
    if callable(obj) and not isinstance(obj, type):
        return _plugin_objects(obj(), label, depth + 1)
    if isinstance(obj, Iterable):
        return [e for o in obj for e in _plugin_objects(o, label, depth + 1)]
    raise TypeError(f"an entry point must give instruments, paths or a callable returning them, not {type(obj).__name__}")


def _plugins() -> list[_Entry]:
    from importlib.metadata import entry_points

    entries: list[_Entry] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(getattr(ep, "dist", None), "name", None)
        label = f"plugin '{ep.name}'" + (f" ({dist})" if dist else "")
        try:
            entries += _plugin_objects(ep.load(), label)
        except DefinitionError as exc:
            warnings.warn(f"skipped {label}: {exc.problems[0]}", PluginWarning, stacklevel=4)
        except Exception as exc:  # a broken plugin must not stop the others
            warnings.warn(f"skipped {label}: it failed to load ({type(exc).__name__}: {exc})",
                          PluginWarning, stacklevel=4)
    return entries


_loading_plugins = threading.local()


@lru_cache(maxsize=16)
def _discover(paths: tuple[str, ...], env: str | None, plugins: bool) -> dict[tuple[str, str], _Entry]:
    return _discover_uncached(paths, env, plugins)


def _discover_uncached(paths: tuple[str, ...], env: str | None, plugins: bool) -> dict[tuple[str, str], _Entry]:
    sources: list[_Entry] = []
    for entry in _from_files(_files_in(builtin_dir()), lambda f: "built-in"):
        entry.instrument._source = "built-in"
        sources.append(entry)
    if plugins:
        _loading_plugins.active = True
        try:
            sources += _plugins()
        finally:
            _loading_plugins.active = False
    for folder in (env or "").split(os.pathsep):
        if folder.strip():
            p = Path(folder.strip())
            if not p.exists():
                warnings.warn(f"{ENV_VAR} names {p}, which does not exist", PluginWarning, stacklevel=3)
            sources += _from_files(_files_in(p), str)
    for folder in paths:
        p = Path(folder)
        if not p.exists():
            raise CseOutcomesError(f"instrument path {p} does not exist", hint="check the path")
        sources += _from_files(_files_in(p), str)

    found: dict[tuple[str, str], _Entry] = {}
    for entry in sources:
        key = (entry.instrument.id, entry.instrument.version)
        if key in found:
            warnings.warn(
                f"instrument '{key[0]}' version {key[1]} is defined twice: the one from {entry.origin} "
                f"replaces the one from {found[key].origin}", PluginWarning, stacklevel=3)
        if entry.instrument.source is None:
            entry.instrument._source = entry.origin
        found[key] = entry
    return found


def _registry(paths: Sequence[str | os.PathLike] | None = None, plugins: bool = True):
    key = tuple(str(Path(p).resolve()) for p in (paths or ()))
    if getattr(_loading_plugins, "active", False):
        # a plugin that looks up an instrument while it is being imported (to build on
        # a built-in, say) sees everything but the plugins, instead of recursing
        return _discover_uncached(key, os.environ.get(ENV_VAR), False)
    return _discover(key, os.environ.get(ENV_VAR), plugins)


def refresh() -> None:
    """Forget cached discovery (after installing a plugin or editing a folder in a running session)."""
    from cseoutcomes.instruments.scoring import refresh_steps

    _discover.cache_clear()
    refresh_steps()


def list_instruments(
    paths: Sequence[str | os.PathLike] | None = None, *, all_versions: bool = False
) -> list[Instrument]:
    """Every registered instrument (latest version of each id unless ``all_versions``), sorted by id.

    Examples
    --------
    >>> import cseoutcomes as co
    >>> "cse-risk-indicators" in [i.id for i in co.list_instruments()]
    True
    """
    found = _registry(paths)
    ordered = sorted(found.values(), key=lambda e: (e.instrument.id, _version_key(e.instrument.version)))
    if all_versions:
        return [e.instrument for e in ordered]
    latest: dict[str, Instrument] = {}
    for e in ordered:
        latest[e.instrument.id] = e.instrument
    return list(latest.values())


def get_instrument(
    id: str, version: str | None = None, *, paths: Sequence[str | os.PathLike] | None = None
) -> Instrument:
    """The instrument with this id (``"id"`` or ``"id@1.2.0"``), latest version unless one is given.

    Raises :class:`UnknownInstrumentError` listing what is available and the
    closest match.

    Examples
    --------
    >>> import cseoutcomes as co
    >>> co.get_instrument("swemwbs").kind
    'wellbeing_scale'
    """
    if not isinstance(id, str):
        raise TypeError(f"instrument id must be a string, not {type(id).__name__}")
    if "@" in id and version is None:
        id, version = id.split("@", 1)
    found = _registry(paths)
    versions = sorted((v for (i, v) in found if i == id), key=_version_key)
    if not versions:
        ids = sorted({i for (i, _) in found})
        close = difflib.get_close_matches(id, ids, n=1, cutoff=0.5)
        raise UnknownInstrumentError(
            f"no instrument '{id}' is registered (available: {', '.join(ids) or 'none'})",
            hint=f"did you mean '{close[0]}'?" if close else
            f"add a definition folder with paths= or {ENV_VAR}, or install a plugin")
    if version is None:
        return found[(id, versions[-1])].instrument
    if (id, version) not in found:
        raise UnknownInstrumentError(f"instrument '{id}' has no version {version} (available: {', '.join(versions)})")
    return found[(id, version)].instrument
