"""Packaging, public surface and import cost."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import cseoutcomes
from cseoutcomes.instruments.schema import Instrument

ROOT = Path(__file__).resolve().parents[1]
BUILTINS = sorted(p.name for p in (ROOT / "instruments").glob("*.yaml"))


def test_public_names_exist():
    for name in cseoutcomes.__all__:
        assert hasattr(cseoutcomes, name), name
    for name in ("Instrument", "get_instrument", "list_instruments", "score"):
        assert name in cseoutcomes.__all__


@pytest.mark.parametrize("statement", [
    "import cseoutcomes",
    "import cseoutcomes.models; cseoutcomes.ChangeModel",  # the specification needs no sampler
    "import cseoutcomes; cseoutcomes.get_instrument('cse-risk-indicators')",
])
def test_import_is_light(statement):
    """`import cseoutcomes` must not pull in the model or plotting stack (nor pandas, for the bare import)."""
    heavy = ("pymc", "pytensor", "jax", "matplotlib", "arviz", "nutpie", "numba")
    if statement == "import cseoutcomes":
        heavy += ("pandas", "scipy", "pydantic")
    code = f"import sys\n{statement}\nprint(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_json_schema_in_docs_is_current():
    """docs/instrument.schema.json is what `cseoutcomes instruments schema` prints (regenerate with -o)."""
    committed = json.loads((ROOT / "docs" / "instrument.schema.json").read_text(encoding="utf-8"))
    assert committed == Instrument.json_schema(), (
        "docs/instrument.schema.json is stale: run `cseoutcomes instruments schema -o docs/instrument.schema.json`")


def test_five_builtins_are_registered():
    ids = {i.id for i in cseoutcomes.list_instruments()}
    assert {"cse-risk-indicators", "progress-ladder", "goal-based-outcomes", "swemwbs",
            "practice-codebook"} <= ids
    assert len(BUILTINS) == 5


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, text=True)
    (found,) = out.glob("cseoutcomes-*.whl")
    return found


def test_wheel_ships_every_builtin_definition(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(Path(n).name for n in names if n.startswith("cseoutcomes/_builtin_instruments/"))
    assert shipped == BUILTINS


def test_wheel_ships_example_data_and_finds_builtins_when_installed(wheel, tmp_path):
    """Installed from the wheel (no source tree), the registry finds the built-ins inside the package."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True)
    code = (
        "import cseoutcomes, pathlib\n"
        "from cseoutcomes.instruments.registry import builtin_dir\n"
        "assert 'site' in str(builtin_dir()), builtin_dir()\n"
        "print(sorted(i.id for i in cseoutcomes.list_instruments()))\n"
        "from cseoutcomes.data import load_example; print(len(load_example()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "cse-risk-indicators" in out.stdout and "practice-codebook" in out.stdout
    assert out.stdout.strip().endswith("18")


def test_example_data_script_reproduces_the_bundled_table(tmp_path):
    """examples/make_example_data.py is the only source of the bundled example table."""
    out = tmp_path / "example.csv"
    subprocess.run([sys.executable, str(ROOT / "examples" / "make_example_data.py"), str(out)], check=True,
                   capture_output=True)
    bundled = ROOT / "src" / "cseoutcomes" / "data" / "example" / "cse_risk_example.csv"
    assert out.read_text() == bundled.read_text()


def test_doctests_in_public_modules():
    """Docstring examples are runnable."""
    import doctest

    import cseoutcomes.data.examples
    import cseoutcomes.instruments.conditions
    import cseoutcomes.instruments.registry
    import cseoutcomes.instruments.schema
    import cseoutcomes.instruments.scoring
    import cseoutcomes.models.spec

    for module in (cseoutcomes, cseoutcomes.models.spec, cseoutcomes.instruments.schema, cseoutcomes.instruments.registry,
                   cseoutcomes.instruments.scoring, cseoutcomes.instruments.conditions,
                   cseoutcomes.data.examples):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, f"{module.__name__}: {result.failed} doctest(s) failed"
        assert result.attempted > 0 or module is cseoutcomes.instruments.conditions, module.__name__
