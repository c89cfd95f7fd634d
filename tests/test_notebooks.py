"""The example notebooks in examples/ are stored clean and run from top to bottom.

Each notebook is executed with nbclient in a fresh ``python3`` kernel of the running
interpreter (a kernelspec written for the test, ahead of any the user has installed),
whose working folder is a temporary one. The notebooks must not write
into the repository, must make no network call, and must never show a young person's
identifier or name: the checks below look for the simulated identifiers and the invented
names in everything they print, and for new files next to the notebooks.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
EXPECTED = {"researcher_workflow.ipynb", "service_validation_workflow.ipynb", "plugin_authoring.ipynb",
            "what_the_72_hides.ipynb"}
# person identifiers of the simulator (YP0001) and of the bundled example table (YP-A), and
# the invented names the service notebook puts in its spreadsheet
IDENTIFYING = re.compile(r"\bYP\d{4}\b|\bYP-[A-Z]\b|\b(?:Alex|Sam|Jo|Robin) (?:Example|Sample)\b")
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", "results"}  # results/: written by the study's own runs


def _tree(root: Path) -> set[str]:
    """Files under root, outside caches and the study's results."""
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and not SKIP_DIRS.intersection(p.relative_to(root).parts)}


def _text(outputs) -> str:
    parts = []
    for out in outputs:
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        for key, value in out.get("data", {}).items():
            if key.startswith("text/"):
                parts.append(value if isinstance(value, str) else "".join(value))
        if out.get("output_type") == "error":
            parts.append("\n".join(out.get("traceback", [])))
    return "\n".join(parts)


def test_the_four_notebooks_are_there():
    assert {p.name for p in NOTEBOOKS} == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{path.name}: store notebooks without outputs (clear them before committing)")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # the study notebook reads the committed results; the kernel inherits this environment
    monkeypatch.setenv("CSEOUTCOMES_STUDY_RESULTS", str(EXAMPLES / "results" / "what_the_72_hides"))
    # the kernel is this interpreter, whatever `python3` kernels the user has installed
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (cseoutcomes tests)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.delenv("CSEOUTCOMES_INSTRUMENTS_PATH", raising=False)
    monkeypatch.delenv("CSEOUTCOMES_PSEUDONYM_KEY", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    before = _tree(EXAMPLES)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(work)}})
    start = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}")
    seconds = time.perf_counter() - start
    printed = "\n".join(_text(cell.get("outputs", [])) for cell in nb.cells if cell.cell_type == "code")
    found = IDENTIFYING.search(printed)
    assert found is None, f"{path.name} shows an identifier or a name: {found.group(0)!r}"
    written = sorted(_tree(EXAMPLES) - before)
    assert not written, f"{path.name} wrote into the repository: {written}"
    print(f"{path.name}: {seconds:.1f} s")
