"""Registry: built-ins, user folders, the environment variable and entry-point plugins."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pytest

import cseoutcomes as co
from cseoutcomes.errors import PluginWarning, UnknownInstrumentError

ROOT = Path(__file__).resolve().parents[2]


def _write_variant(folder: Path, *, version: str = "1.0.0", id: str = "goal-based-outcomes",
                   title: str = "Local goals") -> Path:
    """A copy of the built-in goal-based-outcomes definition with another id, version or title."""
    inst = co.get_instrument("goal-based-outcomes")
    data = inst.to_dict() | {"id": id, "version": version, "title": title}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{id}-{version}.yaml"
    path.write_text(co.Instrument.from_dict(data).to_yaml(), encoding="utf-8")
    return path


def test_unknown_id_lists_available_and_closest():
    with pytest.raises(UnknownInstrumentError) as err:
        co.get_instrument("cse-risk-indicator")
    msg = str(err.value)
    assert "available: cse-risk-indicators, goal-based-outcomes" in msg
    assert "did you mean 'cse-risk-indicators'?" in msg
    assert "\n" not in msg


def test_user_folder_adds_instruments_and_latest_version_wins(tmp_path):
    _write_variant(tmp_path, id="local-goals", version="1.0.0", title="v1")
    _write_variant(tmp_path, id="local-goals", version="1.10.0", title="v1.10")
    _write_variant(tmp_path, id="local-goals", version="1.2.0", title="v1.2")
    # 1.10.0 > 1.2.0: versions compare as numbers, not text
    assert co.get_instrument("local-goals", paths=[tmp_path]).title == "v1.10"
    assert co.get_instrument("local-goals@1.2.0", paths=[tmp_path]).title == "v1.2"
    assert co.get_instrument("local-goals", "1.0.0", paths=[tmp_path]).title == "v1"
    listed = [i.key for i in co.list_instruments([tmp_path], all_versions=True) if i.id == "local-goals"]
    assert listed == ["local-goals@1.0.0", "local-goals@1.2.0", "local-goals@1.10.0"]
    with pytest.raises(UnknownInstrumentError, match=r"no version 9.9.9 \(available: 1.0.0, 1.2.0, 1.10.0\)"):
        co.get_instrument("local-goals@9.9.9", paths=[tmp_path])


def test_environment_variable_folders_are_searched(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    _write_variant(a, id="from-a")
    _write_variant(b, id="from-b")
    monkeypatch.setenv("CSEOUTCOMES_INSTRUMENTS_PATH", f"{a}:{b}")
    ids = {i.id for i in co.list_instruments()}
    assert {"from-a", "from-b"} <= ids


def test_duplicate_id_warns_and_says_which_wins(tmp_path):
    _write_variant(tmp_path, title="Overridden locally")
    with pytest.warns(PluginWarning, match=r"defined twice: the one from .*goal-based-outcomes-1.0.0.yaml replaces "
                                           r"the one from built-in"):
        inst = co.get_instrument("goal-based-outcomes", paths=[tmp_path])
    assert inst.title == "Overridden locally"


def test_broken_file_in_user_folder_warns_and_the_rest_load(tmp_path):
    _write_variant(tmp_path, id="good-one")
    (tmp_path / "broken.yaml").write_text("id: broken\nversion: 1.0.0\nlable: x\n", encoding="utf-8")
    with pytest.warns(PluginWarning, match=r"skipped instrument file .*broken.yaml"):
        ids = {i.id for i in co.list_instruments([tmp_path])}
    assert "good-one" in ids and "cse-risk-indicators" in ids


def test_discovery_is_cached(tmp_path):
    _write_variant(tmp_path, id="cached")
    first = co.list_instruments([tmp_path])
    (tmp_path / "cached-1.0.0.yaml").unlink()
    assert [i.id for i in co.list_instruments([tmp_path])] == [i.id for i in first]
    co.refresh()
    assert "cached" not in {i.id for i in co.list_instruments([tmp_path])}


def _fake_distribution(site: Path, name: str, entry_points: str, modules: dict[str, str]) -> None:
    """A minimal installed distribution: dist-info with entry points, plus its modules."""
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points), encoding="utf-8")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")


def test_plugins_load_and_a_broken_plugin_warns_naming_itself(tmp_path, monkeypatch):
    site = tmp_path / "site"
    defs = tmp_path / "defs"
    path = _write_variant(defs, id="plugin-goals")
    _fake_distribution(site, "good_plugin", """
        [cseoutcomes.instruments]
        goals = good_plugin_mod:instruments
        """, {"good_plugin_mod": f"def instruments():\n    return [{str(path)!r}]\n"})
    _fake_distribution(site, "broken_plugin", """
        [cseoutcomes.instruments]
        broken = broken_plugin_mod:instruments
        """, {"broken_plugin_mod": "raise ImportError('a dependency is missing')\n"})
    monkeypatch.syspath_prepend(str(site))
    co.refresh()
    with pytest.warns(PluginWarning, match=r"skipped plugin 'broken' \(broken_plugin\): it failed to load "
                                           r"\(ImportError: a dependency is missing\)"):
        found = {i.id: i for i in co.list_instruments()}
    assert "plugin-goals" in found
    assert found["plugin-goals"].source.endswith("plugin-goals-1.0.0.yaml")
    assert "cse-risk-indicators" in found


def test_plugin_may_return_instrument_objects(tmp_path, monkeypatch):
    site = tmp_path / "site"
    _fake_distribution(site, "object_plugin", """
        [cseoutcomes.instruments]
        objects = object_plugin_mod:INSTRUMENTS
        """, {"object_plugin_mod": """
        import cseoutcomes as co
        _base = co.get_instrument("goal-based-outcomes").to_dict()
        INSTRUMENTS = [co.Instrument.from_dict(_base | {"id": "object-goals"})]
        """})
    monkeypatch.syspath_prepend(str(site))
    co.refresh()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # building on a built-in at import time must not recurse
        inst = co.get_instrument("object-goals")
    assert inst.source == "plugin 'objects' (object_plugin)"


def test_builtins_come_from_the_instruments_folder():
    from cseoutcomes.instruments.registry import builtin_dir

    assert sorted(p.name for p in builtin_dir().glob("*.yaml")) == sorted(
        p.name for p in (ROOT / "instruments").glob("*.yaml"))
    assert co.get_instrument("swemwbs").source == "built-in"
