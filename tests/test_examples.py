"""Examples under examples/ run (small versions of them); the notebooks run in test_notebooks.py."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
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
    assert set(extended["estimates"]) == {"model_mar", "model_selection", "model_selection_joint_slopes_pw_ref"}
    assert extended["estimates"]["model_mar"] == record["estimates"]["model_mar"]
    capsys.readouterr()
    assert study.main(args) == 0
    assert "0 replications to run" in capsys.readouterr().out  # resumed, nothing refitted
    table = (tmp_path / "study.md").read_text()
    assert ("| selection | model, screen modelled, joint drop-out, person slopes, baseline step at 3 months, "
            "referral measured apart | 1 |") in table
    # the referral assessment measured apart: a measurement covariate the script adds
    assert study.main([*args, "--variants", "model_selection_joint_ref"]) == 0
    ref = json.loads(path.read_text())["estimates"]["model_selection_joint_ref"]
    assert 0 <= ref["lower"] <= ref["mean"] <= ref["upper"] <= 1
    assert "referral measured apart | 1 |" in (tmp_path / "study.md").read_text()


def test_latent_measurement_scenarios_draw_bands_from_the_models_measurement_model():
    """The diagnostic scenarios: bands from a cumulative logit in the simulated trend, screen on that band."""
    from scipy.special import expit

    from cseoutcomes.simulate import hub_and_spoke

    study = _load("what_the_72_hides")
    sim = hub_and_spoke(seed=6001, referral_threshold=0.0, dropout_risk_effect=0.0, n_hubs=3, n_areas=4, n_workers=6)
    spec = study.LATENT_MEASUREMENT
    cats = ["not_at_risk", "mild", "moderate", "significant"]
    table, truth, naive = study.latent_measurement(sim, "mnar_latent", 6001)
    assert len(table) == len(sim.assessments) and 0 < truth < 1 and 0 <= naive <= 1
    code = table["total_band"].map(cats.index).to_numpy()
    trend = sim.truth["assessment_latent"]["trend"].to_numpy()
    for k, c in enumerate(spec["cutpoints"]):  # P(band <= k) = logistic(scale * (c_k - trend)), on average
        expected = expit(spec["scale"] * (c - trend)).mean()
        se = np.sqrt(expected * (1 - expected) / len(trend))
        assert abs((code <= k).mean() - expected) < 4.5 * se
    screened, truth_s, _ = study.latent_measurement(sim, "selection_latent", 6001)
    assert 0 < truth_s < 1
    first = screened[screened["occasion"] == 0]
    assert first["total_band"].isin(["moderate", "significant"]).all()
    assert set(screened["person_id"]) < set(table["person_id"])  # the screen turned some referrals away
    kept = table[table["person_id"].isin(set(screened["person_id"]))]
    assert len(screened) == len(kept)  # whole young people are removed, never single rows


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


@pytest.mark.slow
def test_sbc_example_calibrates_a_piecewise_baseline_with_person_slopes(tmp_path):
    example = _load("sbc_change_model")
    out = tmp_path / "sbc"
    assert example.main(["--knots", "3,12", "--person-slopes", "--reps", "1", "--jobs", "1", "--draws", "100",
                         "--out", str(out)]) == 0
    table = (tmp_path / "sbc.md").read_text()
    assert "| closure_period_rate[risk_reduced, from 12] |" in table and "baseline steps at 3, 12 months" in table
    assert "| person_slope_sd |" in table and "--person-slopes" in table  # the study's model's own slopes
    with pytest.raises(SystemExit):
        example.main(["--knots", "three", "--out", str(out)])
