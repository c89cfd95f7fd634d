"""The example plugin in examples/plugin installs, plugs in and passes its own tests.

The plugin is built and installed once per module with pip into a temporary
folder (``--target``), which subprocesses put on ``PYTHONPATH``: the test
Python's own environment never sees it, so other tests keep seeing only the
built-in instruments.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pip", reason="installing the example plugin needs pip")
pytest.importorskip("hatchling", reason="building the example plugin needs hatchling (dev extras)")

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "examples" / "plugin"
ITEMS = [f"item_{i}" for i in range(1, 7)]


def _tree(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _explain(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"


@pytest.fixture(scope="module")
def plugin_tree():
    """What examples/plugin held before anything was built from it."""
    return _tree(PLUGIN)


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory, plugin_tree) -> dict[str, str]:
    """An environment whose Python sees the example plugin, installed into a temporary folder."""
    work = tmp_path_factory.mktemp("example_plugin")
    site = work / "site"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CSEOUTCOMES_INSTRUMENTS_PATH")}
    # no index (everything needed is installed), no pip cache, no bytecode next to the sources,
    # and a throwaway home so nothing lands in the real one
    env.update(PIP_NO_INDEX="1", PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONDONTWRITEBYTECODE="1", HOME=str(work))
    try:
        proc = _run(["-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-compile",
                     "--target", str(site), str(PLUGIN)], env, cwd=work)
    finally:
        # pip and hatchling build out of tree; remove any build leftovers all the same
        for name in sorted(_tree(PLUGIN) - plugin_tree):
            path = PLUGIN / name
            if path.exists() and (path.name in ("build", "dist") or path.name.endswith(".egg-info")):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert proc.returncode == 0, "pip could not install examples/plugin\n" + _explain(proc)
    assert (site / "cseoutcomes_example_plugin" / "definitions" / "example-rasch-scale.yaml").is_file()
    env["PYTHONPATH"] = str(site)
    return env


def _cli(env: dict[str, str], cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    return _run(["-m", "cseoutcomes.cli", *argv], env, cwd=cwd)


def test_cli_lists_the_plugin_instrument(plugin_env, tmp_path):
    proc = _cli(plugin_env, tmp_path, "instruments", "list")
    assert proc.returncode == 0, _explain(proc)
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:] if line.strip()}
    assert "example-rasch-scale" in rows, proc.stdout
    assert "0.1.0" in rows["example-rasch-scale"]
    assert "swemwbs" in rows  # the built-ins are still there
    assert "warning" not in proc.stderr, proc.stderr

    proc = _cli(plugin_env, tmp_path, "instruments", "show", "example-rasch-scale")
    assert proc.returncode == 0, _explain(proc)
    assert "example-rasch-scale@0.1.0" in proc.stdout
    assert "theta" in proc.stdout and "step" in proc.stdout


def _table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    complete = rng.integers(0, 4, size=(40, 6))
    table = pd.DataFrame(complete, columns=ITEMS).astype(object)
    extra = pd.DataFrame([
        [None] * 6,                                            # nothing answered
        [2, "declined", None, 1, "unknown", None],             # two answered
        [2, "declined", 3, 1, "not_asked", None],              # three answered
        [0] * 6,
        [3] * 6,
    ], columns=ITEMS, dtype=object)
    table = pd.concat([table, extra], ignore_index=True)
    table.insert(0, "person_id", [f"p{i:03d}" for i in range(len(table))])
    return table


def test_cli_scores_with_the_plugin_step(plugin_env, tmp_path):
    table = _table()
    data, out = tmp_path / "assessments.csv", tmp_path / "scored.csv"
    table.to_csv(data, index=False)
    proc = _cli(plugin_env, tmp_path, "score", str(data), "-i", "example-rasch-scale", "-o", str(out))
    assert proc.returncode == 0, _explain(proc)
    scored = pd.read_csv(out)
    assert len(scored) == len(table)
    assert list(scored["person_id"]) == list(table["person_id"])

    theta = scored["theta"].to_numpy(float)
    raw = scored["raw"].to_numpy(float)
    complete = np.r_[np.arange(40), [43, 44]]
    assert np.isfinite(theta[complete]).all()
    assert ((theta[complete] > -4) & (theta[complete] < 4)).all()
    np.testing.assert_array_equal(raw[:40], table[ITEMS].iloc[:40].to_numpy(int).sum(axis=1))
    # the plain sum and the EAP agree on order: the raw score is sufficient under a Rasch model
    order = np.argsort(raw[complete], kind="stable")
    assert (np.diff(theta[complete][order]) >= -1e-9).all()
    assert theta[43] < theta[complete].min() + 1e-12 and theta[44] > theta[complete].max() - 1e-12
    # min_answered 3: no score for 0 or 2 answered items, a score for 3
    assert np.isnan(theta[40]) and np.isnan(theta[41]) and np.isfinite(theta[42])
    assert list(scored["theta_answered"].iloc[40:43]) == [0, 2, 3]
    assert np.isnan(raw[40:43]).all()  # the sum needs all six items
    bands = scored["theta_band"]
    assert bands.iloc[40:42].isna().all()
    assert set(bands.dropna()) <= {"lower", "higher"}
    assert (bands.iloc[complete] == np.where(theta[complete] < 0, "lower", "higher")).all()


def test_plugin_tests_pass(plugin_env):
    proc = _run(["-m", "pytest", "examples/plugin/tests", "-q", "-p", "no:cacheprovider"], plugin_env, cwd=REPO)
    assert proc.returncode == 0, _explain(proc)
    assert " passed" in proc.stdout and "failed" not in proc.stdout and "skipped" not in proc.stdout


def test_nothing_is_written_into_the_repository(plugin_env, plugin_tree):
    # runs after the tests above (file order): no build folder, egg-info or bytecode was left behind
    left = sorted(str(p) for p in _tree(PLUGIN) - plugin_tree)
    assert not left, f"files appeared under examples/plugin: {left}"
    assert not (PLUGIN / "build").exists()
    assert not list(PLUGIN.rglob("*.egg-info"))
