"""Examples under examples/ run (small versions of them); the notebooks run in test_notebooks.py."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_what_the_72_hides_runs_resumes_and_summarises(tmp_path, capsys):
    study = _load("what_the_72_hides")
    args = ["--reps", "1", "--small", "--jobs", "1", "--draws", "200", "--out", str(tmp_path / "study"),
            "--scenarios", "selection"]
    assert study.main([*args, "--variants", "model_mar,model_selection"]) == 0
    path = tmp_path / "study" / "selection" / "rep0000.json"
    record = json.loads(path.read_text())
    assert set(record["estimates"]) == {"model_mar", "model_selection"}
    assert 0 <= record["truth"] <= 1 and 0 <= record["naive_share"] <= 1 and 0 <= record["truth_typical"] <= 1
    # a later run with more variants fits only the missing one and keeps the earlier estimates
    assert study.main(args) == 0
    extended = json.loads(path.read_text())
    assert set(extended["estimates"]) == {"model_mar", "model_selection", "model_selection_joint"}
    assert extended["estimates"]["model_mar"] == record["estimates"]["model_mar"]
    capsys.readouterr()
    assert study.main(args) == 0
    assert "0 replications to run" in capsys.readouterr().out  # resumed, nothing refitted
    table = (tmp_path / "study.md").read_text()
    assert "| selection | model, screen modelled, joint drop-out | 1 |" in table


def test_what_the_72_hides_rejects_unknown_scenarios(tmp_path):
    study = _load("what_the_72_hides")
    with pytest.raises(SystemExit):
        study.main(["--scenarios", "mars", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        study.main(["--variants", "model_magic", "--out", str(tmp_path)])


@pytest.mark.slow
def test_sbc_example_runs_and_resumes(tmp_path):
    example = _load("sbc_change_model")
    out = tmp_path / "sbc"
    assert example.main(["--reps", "2", "--jobs", "1", "--draws", "100", "--out", str(out)]) == 0
    assert len(list(out.glob("rep*.json"))) == 2
    assert "| slope |" in (tmp_path / "sbc.md").read_text()
