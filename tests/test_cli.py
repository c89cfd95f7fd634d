"""The `cseoutcomes` command: output, exit status and one-line errors."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import cseoutcomes as co
from cseoutcomes.cli import main
from cseoutcomes.data import example_path

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_instruments_list_shows_the_five_builtins(capsys):
    code, out, _ = run(capsys, "instruments", "list")
    assert code == 0
    for name in ("cse-risk-indicators", "progress-ladder", "goal-based-outcomes", "swemwbs", "practice-codebook"):
        assert name in out


def test_instruments_show_describes_points_bands_and_overrides(capsys):
    code, out, _ = run(capsys, "instruments", "show", "cse-risk-indicators")
    assert code == 0
    assert "points 5 within 6 months, 1 within 12 months" in out
    assert "band significant: 16+" in out and "band mild: 6 to 10" in out
    assert "override disclosure: set significant when item 'disclosure' is yes" in out


def test_instruments_show_prints_licence_notice_for_licensed_scale(capsys):
    code, out, _ = run(capsys, "instruments", "show", "swemwbs")
    assert code == 0
    assert "item wording is not shipped" in out
    assert "© NHS Health Scotland" in out


def test_instruments_show_coding_scheme_prints_the_code_tree(capsys):
    code, out, _ = run(capsys, "instruments", "show", "practice-codebook")
    assert code == 0
    assert "disclosure" in out and "-> indicator disclosure" in out


def test_unknown_instrument_is_one_line_with_exit_2(capsys):
    code, _out, err = run(capsys, "instruments", "show", "swembws")
    assert code == 2
    assert err.count("\n") == 1 and "did you mean 'swemwbs'?" in err


def test_usage_error_is_one_line_with_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["score"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "required" in err and "--help" in err


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_schema_prints_the_json_schema(capsys):
    code, out, _ = run(capsys, "instruments", "schema")
    assert code == 0
    assert json.loads(out) == co.Instrument.json_schema()


def test_score_writes_input_columns_and_scores(capsys, tmp_path):
    out_file = tmp_path / "scored.csv"
    code, out, _ = run(capsys, "score", str(example_path()), "--instrument", "cse-risk-indicators", "-o", str(out_file))
    assert code == 0 and "scored 18 assessments" in out
    scored = pd.read_csv(out_file)
    assert len(scored) == 18
    assert {"person_id", "total", "total_band", "total_override", "total_with_possible"} <= set(scored.columns)


def test_score_with_column_map(capsys, tmp_path):
    table = pd.read_csv(example_path(), dtype=str)
    table = table.rename(columns={"disclosure": "Disclosed?"})
    data = tmp_path / "export.csv"
    table.to_csv(data, index=False)
    mapping = tmp_path / "map.yaml"
    mapping.write_text('disclosure: "Disclosed?"\n', encoding="utf-8")
    code, _, err = run(capsys, "score", str(data), "-i", "cse-risk-indicators", "-o", str(tmp_path / "o.csv"),
                       "--columns", str(mapping))
    assert code == 0, err


def test_score_reports_bad_cells_with_exit_1_and_writes_nothing(capsys, tmp_path):
    table = pd.read_csv(example_path(), dtype=str)
    table.loc[3, "going_missing"] = "yes - twice"  # the 4th data row: spreadsheet row 5
    data = tmp_path / "export.csv"
    table.to_csv(data, index=False)
    out_file = tmp_path / "o.csv"
    code, _, err = run(capsys, "score", str(data), "-i", "cse-risk-indicators", "-o", str(out_file))
    assert code == 1
    assert "row 5, column 'going_missing': 'yes - twice' is not one of no / possible / yes" in err
    assert not out_file.exists()


def test_score_missing_file_is_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, "score", str(tmp_path / "nope.csv"), "-i", "swemwbs", "-o", str(tmp_path / "o.csv"))
    assert code == 2 and "no such file" in err


@pytest.mark.slow
def test_demo_simulates_fits_and_prints_naive_beside_modelled(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "demo")
    assert code == 0
    report = tmp_path / "cseoutcomes-demo" / "report.html"
    assert report.exists() and "data:image/png;base64," in report.read_text(encoding="utf-8")
    assert "cseoutcomes-demo/report.html" in out and (tmp_path / "cseoutcomes-demo" / "validation.html").exists()
    # a progress display: every step announced, then timed
    steps = re.findall(r"^\[(\d)/5\] ", out, flags=re.M)
    assert steps == ["1", "2", "3", "4", "5"] and len(re.findall(r"^ +done in [0-9.]+ s$", out, flags=re.M)) == 5
    assert re.search(r"^Finished in \d+ s\. Where to look next:$", out, flags=re.M)
    assert "naive share, as usually reported" in out
    assert "share in a lower latent band (model)" in out
    assert "truly in a lower band (simulation truth)" in out
    # pseudonymous identifiers are never printed, even simulated ones
    assert "YP0" not in out and "W01" not in out


@pytest.fixture(scope="module")
def small_export(tmp_path_factory):
    from cseoutcomes.simulate import hub_and_spoke

    path = tmp_path_factory.mktemp("export") / "export.csv"
    hub_and_spoke(seed=5, n_hubs=3, n_areas=4, n_workers=6).assessments.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_fit_then_summarize(capsys, small_export, tmp_path):
    out_path = tmp_path / "fit.nc"
    code, out, err = run(capsys, "fit", str(small_export), "-i", "cse-risk-indicators", "--outcome", "total_band",
                         "--groups", "service,worker", "--out", str(out_path), "--draws", "200", "--tune", "200",
                         "--seed", "1", "--no-progress")
    assert code == 0, err
    assert "total_band ~ time + (1 | person) + (0 + time | service) + (0 + time | worker)" in out
    assert out_path.exists()
    code, again, _ = run(capsys, "summarize", str(out_path))
    assert code == 0
    for text in ("Change (90% intervals)", "Population parameters", "Closed cases at lower risk", "naive"):
        assert text in again
    assert "YP0" not in out + again and "W01" not in out + again


def test_fit_with_statsmodels_writes_json(capsys, small_export, tmp_path):
    out_path = tmp_path / "fit.json"
    code, _, err = run(capsys, "fit", str(small_export), "-i", "cse-risk-indicators", "--outcome", "total",
                         "--backend", "statsmodels", "--out", str(out_path))
    assert code == 0, err
    payload = json.loads(out_path.read_text())
    assert payload["model"]["outcome"] == "total"
    assert {"slope", "person_sd", "sigma"} <= set(payload["estimates"])


@pytest.mark.parametrize(("extra", "fragment", "status"), [
    (["--outcome", "totl", "--out", "x.nc"], "is not a score, band or item", 2),
    (["--outcome", "total_band", "--backend", "statsmodels"], "linear mixed models only", 2),
    (["--outcome", "total_band"], "--out is required", 1),
    (["--outcome", "total_band", "--groups", "hub", "--out", "x.nc"], "unknown level 'hub'", 1),
])
def test_fit_mistakes_are_one_line_errors(capsys, small_export, extra, fragment, status):
    code, _, err = run(capsys, "fit", str(small_export), "-i", "cse-risk-indicators", *extra)
    assert code == status
    lines = err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0]


def test_summarize_a_file_that_is_not_a_fit(capsys, tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_text("hello")
    code, _, err = run(capsys, "summarize", str(bad))
    assert code == 1
    assert "not a readable netCDF fit" in err and len(err.strip().splitlines()) == 1


def test_instruments_check_on_a_user_definition(capsys, tmp_path):
    path = tmp_path / "my_scale.yaml"
    path.write_text(co.get_instrument("cse-risk-indicators").to_yaml(), encoding="utf-8")
    code, out, _ = run(capsys, "instruments", "check", str(path))
    assert code == 0
    assert out.strip() == f"{path}: valid (27 items, 2 scores, 8 bands, 4 overrides)"


def test_extra_folder_option(capsys, tmp_path):
    data = co.get_instrument("goal-based-outcomes").to_dict() | {"id": "my-goals"}
    (tmp_path / "my-goals.yaml").write_text(co.Instrument.from_dict(data).to_yaml(), encoding="utf-8")
    code, out, _ = run(capsys, "--path", str(tmp_path), "instruments", "list")
    assert code == 0 and "my-goals" in out


def test_console_script_and_debug_traceback(tmp_path):
    exe = shutil.which("cseoutcomes", path=str(Path(sys.executable).parent))
    assert exe, "the cseoutcomes console script is installed with the package"
    plain = subprocess.run([exe, "instruments", "show", "nope"], capture_output=True, text=True)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    debug = subprocess.run([exe, "--debug", "instruments", "show", "nope"], capture_output=True, text=True)
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    version = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("cseoutcomes ")


@pytest.mark.parametrize("args", [
    ["validate", "{data}", "-i", "cse-risk-indicators", "--report", "{tmp}/no-such-folder/r.html"],
    ["validate", "{data}", "-i", "cse-risk-indicators", "--json", "{tmp}"],
    ["evaluate", "{data}", "-i", "cse-risk-indicators", "--no-omega", "--report", "{tmp}/no-such-folder/e.html"],
    ["instruments", "schema", "-o", "{tmp}/no-such-folder/s.json"],
    ["score", "{data}", "-i", "cse-risk-indicators", "-o", "{tmp}/no-such-folder/o.csv"],
], ids=["report-folder", "json-is-folder", "evaluate-report", "schema", "score-output"])
def test_unwritable_outputs_are_one_line_errors(capsys, tmp_path, args):
    """Found in review: these used to end in 'internal error' (exit 3) or '(None)'."""
    filled = [a.format(data=example_path(), tmp=tmp_path) for a in args]
    code, _, err = run(capsys, *filled)
    assert code == 2
    assert err.count("\n") == 1 and "cannot be written" in err and "None" not in err


@pytest.mark.parametrize("args", [
    ["validate", "{data}", "-i", "cse-risk-indicators", "--jump", "-5"],
    ["validate", "{data}", "-i", "cse-risk-indicators", "--jump", "nan"],
    ["evaluate", "{data}", "-i", "cse-risk-indicators", "--retest-days", "-1"],
    ["pseudonymise", "{data}", "--columns", "", "-o", "{tmp}/o.csv"],
])
def test_nonsense_settings_are_refused(capsys, tmp_path, args):
    filled = [a.format(data=example_path(), tmp=tmp_path) for a in args]
    try:
        code = main(filled)
    except SystemExit as exc:  # argparse refuses it as a usage error
        code = exc.code
    assert code == 2
    assert not (tmp_path / "o.csv").exists()


def test_python_api_rejects_wrong_argument_types():
    table = co.data.load_example()
    with pytest.raises(TypeError, match="columns must map roles"):
        co.validate(table, "cse-risk-indicators", columns=["a"])
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        co.psychometrics.evaluate("cse-risk-indicators", "abc")
    with pytest.raises(ValueError, match="jump_threshold"):
        co.validate(table, "cse-risk-indicators", jump_threshold={"total": -5})
    # one rule may be named on its own
    report = co.validate(table, "cse-risk-indicators", today="2020-01-01", disable="override-applied")
    assert "override-applied" not in set(report.issues["rule"])


def test_score_never_shows_a_bad_value_that_looks_like_personal_data(capsys, tmp_path):
    table = pd.read_csv(example_path(), dtype=str)
    table.loc[2, "going_missing"] = "Canary Smith"
    data = tmp_path / "export.csv"
    table.to_csv(data, index=False)
    code, _, err = run(capsys, "score", str(data), "-i", "cse-risk-indicators", "-o", str(tmp_path / "o.csv"))
    assert code == 1 and "Canary" not in err and "looks like personal data" in err


def _codings_csv(tmp_path) -> Path:
    rows = []
    for i, (a, b) in enumerate([(1, 1), (1, 0), (0, 0), (1, 1), (0, 1), (0, 0), (1, 1), (0, 0)]):
        for coder, v in (("ann", a), ("bob", b)):
            if v:
                rows.append({"source": f"note-{i}", "coder": coder, "code": "disclosure", "memo": "PRIVATE MEMO"})
            rows.append({"source": f"note-{i}", "coder": coder, "code": "Recovery", "memo": ""})
    path = tmp_path / "codings.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_coding_import_agreement_and_export_round_trip(capsys, tmp_path):
    path = _codings_csv(tmp_path)
    assert main(["coding", "import", str(path), "--codebook", "practice-codebook"]) == 0
    assert "24 codings of 2 codes by 2 coders (ann, bob) in 8 sources" in capsys.readouterr().out
    assert main(["coding", "agreement", str(path), "--codebook", "practice-codebook", "--boot", "100",
                 "--json", str(tmp_path / "agree.json")]) == 0
    out = capsys.readouterr().out
    assert "disclosure" in out and "PRIVATE" not in out
    agree = json.loads((tmp_path / "agree.json").read_text())
    # disclosure: both 3, only ann 1, only bob 1, neither 3 -> kappa = (0.75 - 0.5) / 0.5
    row = next(r for r in agree["by_code"] if r["code"] == "disclosure")
    assert row["kappa"] == pytest.approx(0.5)
    assert main(["coding", "export", str(path), "--codebook", "practice-codebook", "--format", "qdpx",
                 "-o", str(tmp_path / "p.qdpx")]) == 0
    assert main(["coding", "import", str(tmp_path / "p.qdpx"), "--codebook", "practice-codebook",
                 "-o", str(tmp_path / "back.csv")]) == 0
    back = pd.read_csv(tmp_path / "back.csv", keep_default_na=False)
    assert len(back) == 24 and set(back["code"]) == {"disclosure", "recovery"}
    assert (back["memo"] == "PRIVATE MEMO").sum() == 8
    assert main(["coding", "export", "--format", "qdc", "--codebook", "practice-codebook",
                 "-o", str(tmp_path / "b.qdc")]) == 0
    capsys.readouterr()
    assert main(["coding", "import", str(tmp_path / "b.qdc")]) == 0
    assert "23 codes in the codebook" in capsys.readouterr().out


def test_coding_errors_are_one_line(capsys, tmp_path):
    path = _codings_csv(tmp_path)
    assert main(["coding", "import", str(path), "--codebook", "cse-risk-indicators"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a codebook" in err
    (tmp_path / "bomb.qdc").write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><CodeBook/>')
    assert main(["coding", "import", str(tmp_path / "bomb.qdc")]) == 1
    assert "document type or entities" in capsys.readouterr().err
    assert main(["coding", "export", "--format", "qdpx", "-o", str(tmp_path / "x.qdpx")]) == 1
    assert "give the codings FILE" in capsys.readouterr().err
    assert main(["coding", "export", str(path), "--format", "qdpx", "-o", str(tmp_path / "x.qdc")]) == 1
    assert "--format qdpx writes a .qdpx file" in capsys.readouterr().err
    # a codebook from codings read without one: the codes they use
    assert main(["coding", "export", str(path), "--format", "qdc", "-o", str(tmp_path / "used.qdc")]) == 0
    from cseoutcomes.coding import read_refi_qda

    assert sorted(c.name for c in read_refi_qda(tmp_path / "used.qdc").codes) == ["Recovery", "disclosure"]


def test_fit_scores_items_mapped_to_other_column_names(capsys, small_export, tmp_path):
    """--columns maps items to a service's own names: fit reads them as validate and score do."""
    table = pd.read_csv(small_export, dtype=str, keep_default_na=False)
    table = table.rename(columns={"going_missing": "Missing episodes", "person_id": "Client Ref"})
    data = tmp_path / "renamed.csv"
    table.to_csv(data, index=False)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("person: Client Ref\nitems:\n  going_missing: Missing episodes\n", encoding="utf-8")
    out_path = tmp_path / "fit.json"
    code, _, err = run(capsys, "fit", str(data), "-i", "cse-risk-indicators", "--columns", str(mapping),
                       "--outcome", "total", "--backend", "statsmodels", "--out", str(out_path))
    assert code == 0, err
    renamed = json.loads(out_path.read_text())["estimates"]
    code, _, err = run(capsys, "fit", str(small_export), "-i", "cse-risk-indicators", "--outcome", "total",
                       "--backend", "statsmodels", "--out", str(tmp_path / "plain.json"))
    assert code == 0, err
    plain = json.loads((tmp_path / "plain.json").read_text())["estimates"]
    assert renamed == pytest.approx(plain, rel=1e-9)  # the same model on the same numbers
    # a column already named by the item id as well is a one-line error, not a silent choice
    table.assign(going_missing="no").to_csv(data, index=False)
    code, _, err = run(capsys, "fit", str(data), "-i", "cse-risk-indicators", "--columns", str(mapping),
                       "--outcome", "total", "--backend", "statsmodels", "--out", str(out_path))
    assert code == 1 and len(err.strip().splitlines()) == 1 and "'going_missing' is in the data" in err


@pytest.mark.slow
def test_fit_with_dropout_selection_and_the_referral_apart(capsys, small_export, tmp_path):
    """The settings the simulation study found honest (docs/what-the-72-hides.md) from the command line: the
    model line says each assumption, the fit has the referral shift and the closure hazards, and the output
    splits the naive pre-post change."""
    out_path = tmp_path / "fit.nc"
    code, out, err = run(capsys, "fit", str(small_export), "-i", "cse-risk-indicators", "--outcome", "total_band",
                         "--groups", "service", "--dropout", "--baseline-knots", "3", "--referral-apart",
                         "--selection-at-least", "mild", "--out", str(out_path), "--draws", "100", "--tune", "150",
                         "--seed", "2", "--no-progress")
    assert code == 0, err
    assert ("referral selected at >= mild; joint drop-out: closure hazard by reason ~ latent risk, baseline steps "
            "at 3 months; measurement shifted by referral") in out
    for name in ("measurement[referral]", "closure_effect[risk_reduced]", "closure_period_rate[risk_reduced, from 3]"):
        assert name in out
    assert "Naive pre-post change and regression to the mean (referral selected at >= mild):" in out
    assert re.search(r"^measurement +-?\d", out, flags=re.M)
    from cseoutcomes.models import load_fit

    fit = load_fit(out_path)
    assert fit.model.measurement_covariates == ("referral",) and fit.model.dropout.baseline_knots == (3.0,)
    assert "YP0" not in out + err and "W01" not in out + err


@pytest.mark.parametrize(("extra", "fragment", "status"), [
    (["--baseline-knots", "3"], "--baseline-knots belongs to the joint drop-out model", 1),
    (["--observation-end", "2025-01-01"], "--observation-end belongs to the joint drop-out model", 1),
    (["--dropout", "--observation-end", "soon"], "observation_end 'soon' is not a date", 1),
    (["--selection-at-least", "high"], "selection threshold 'high' is not a category of 'total_band'", 2),
    (["--measurement-covariates", "rater_grade"], "missing from the data: 'rater_grade' (measurement covariate", 1),
    (["--measurement-covariates", "rater"], "column 'rater' (measurement covariate) is not numbers or true/false", 1),
])
def test_fit_dropout_and_measurement_mistakes_are_one_line_errors(capsys, small_export, extra, fragment, status):
    code, _, err = run(capsys, "fit", str(small_export), "-i", "cse-risk-indicators", "--outcome", "total_band",
                       "--out", "x.nc", *extra)
    assert code == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0]


def test_fit_dropout_without_closure_columns_and_a_taken_referral_name(capsys, small_export, tmp_path):
    table = pd.read_csv(small_export, dtype=str, keep_default_na=False)
    data = tmp_path / "open.csv"
    table.drop(columns=["closure_reason", "closure_date"]).to_csv(data, index=False)
    code, _, err = run(capsys, "fit", str(data), "-i", "cse-risk-indicators", "--outcome", "total_band",
                       "--dropout", "--out", "x.nc")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "--dropout needs the closure reason and closure date columns" in err and "--columns" in err
    table.assign(referral="x").to_csv(data, index=False)
    code, _, err = run(capsys, "fit", str(data), "-i", "cse-risk-indicators", "--outcome", "total_band",
                       "--referral-apart", "--out", "x.nc")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "column 'referral' is already in the data" in err
    with pytest.raises(SystemExit) as stop:
        main(["fit", str(small_export), "-i", "cse-risk-indicators", "--outcome", "total_band", "--dropout",
              "--baseline-knots", "3,0", "--out", "x.nc"])
    assert stop.value.code == 2
    assert "--baseline-knots: '0' must be a number above 0" in capsys.readouterr().err
