"""``cseoutcomes instruments import`` and ``instruments export``: output, exit status, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import cseoutcomes as co
from cseoutcomes.cli import main

FIXTURES = Path(__file__).parent / "interop_fixtures"


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_export_to_standard_output_and_the_loss_report_to_standard_error(capsys):
    code, out, err = run(capsys, "instruments", "export", "swemwbs", "--to", "fhir")
    assert code == 0
    assert json.loads(out)["resourceType"] == "Questionnaire"
    assert err.startswith("cseoutcomes -> FHIR Questionnaire: nothing lost")


@pytest.mark.parametrize("fmt", ["redcap", "fhir", "xlsform"])
def test_export_then_import_gives_the_definition_back(capsys, tmp_path, fmt):
    out = tmp_path / {"redcap": "d.csv", "fhir": "q.json", "xlsform": "f.xlsx"}[fmt]
    code, _, err = run(capsys, "instruments", "export", "cse-risk-indicators", "--to", fmt, "-o", str(out))
    assert code == 0 and f"wrote {out}" in err
    target = tmp_path / "back.yaml"
    code, stdout, err = run(capsys, "instruments", "import", str(out), "--from", fmt, "-o", str(target))
    assert code == 0 and stdout == "" and "nothing lost" in err
    assert co.Instrument.from_yaml(target) == co.get_instrument("cse-risk-indicators")


def test_import_prints_yaml_and_the_losses(capsys):
    code, out, err = run(capsys, "instruments", "import", str(FIXTURES / "redcap_service_dictionary.csv"),
                         "--from", "redcap", "--form", "risk_review", "--kind", "risk_scale",
                         "--missing-codes", "UNK, Unknown")
    assert code == 0
    inst = co.Instrument.from_dict(__import__("yaml").safe_load(out))
    assert inst.kind == "risk_scale" and "UNK" in inst.scale_of("missing_from_home").missing_codes
    assert "REDCap data dictionary -> cseoutcomes:" in err and "field:places: checkbox" in err


def test_strict_exits_1_when_something_is_lost(capsys, tmp_path):
    code, _, err = run(capsys, "instruments", "export", "swemwbs", "--to", "redcap", "--no-metadata", "--strict",
                       "-o", str(tmp_path / "d.csv"))
    assert code == 1 and "not carried" in err
    code, _, _ = run(capsys, "instruments", "import", str(FIXTURES / "xlsform_kobo"), "--from", "xlsform",
                     "--strict", "-o", str(tmp_path / "x.yaml"))
    assert code == 1


def test_export_table_schema_and_a_definition_file(capsys, tmp_path):
    definition = tmp_path / "mine.yaml"
    definition.write_text(co.get_instrument("progress-ladder").to_yaml(), encoding="utf-8")
    code, out, _ = run(capsys, "instruments", "export", str(definition), "--to", "table-schema")
    assert code == 0 and json.loads(out)["name"] == "progress-ladder"


def test_xlsform_export_needs_an_output(capsys):
    code, _, err = run(capsys, "instruments", "export", "swemwbs", "--to", "xlsform")
    assert code == 1 and err.count("\n") == 1 and "give -o FILE.xlsx" in err


@pytest.mark.parametrize(("args", "fragment", "status"), [
    (["instruments", "import", "nowhere.csv", "--from", "redcap"], "nowhere.csv: no such file", 2),
    (["instruments", "import", str(FIXTURES / "redcap_service_dictionary.csv"), "--from", "redcap"],
     "choose one with form=", 1),
    (["instruments", "import", str(FIXTURES / "fhir_support_check.json"), "--from", "redcap"],
     "the header has no 'Variable / Field Name' column", 1),
    (["instruments", "export", "swembws", "--to", "fhir"], "did you mean 'swemwbs'?", 2),
])
def test_mistakes_are_one_line_errors(capsys, args, fragment, status):
    code, _, err = run(capsys, *args)
    assert code == status and err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_a_malformed_row_is_reported_by_row_and_column(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    text = (FIXTURES / "redcap_api_dictionary.csv").read_text(encoding="utf-8").replace(";radio;", ";radiobox;")
    bad.write_text(text, encoding="utf-8")
    code, _, err = run(capsys, "instruments", "import", str(bad), "--from", "redcap")
    assert code == 1 and err.count("\n") == 1
    assert "row 3, column 'field_type': 'radiobox' is not a REDCap field type" in err


def test_usage_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["instruments", "import", "x.csv"])
    assert exc.value.code == 2 and "--from" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["instruments", "export", "swemwbs", "--to", "spss"])
    assert exc.value.code == 2


def test_importing_cseoutcomes_does_not_load_the_converters():
    """``import cseoutcomes`` stays light, and the converters add no third-party package (openpyxl loads only
    when a workbook is read or written)."""
    code = ("import sys, cseoutcomes; assert 'cseoutcomes.instruments.interop' not in sys.modules\n"
            "import cseoutcomes.instruments; before = {m.split('.')[0] for m in sys.modules}\n"
            "import cseoutcomes.instruments.interop\n"
            "new = {m.split('.')[0] for m in sys.modules} - before\n"
            "assert new <= {'csv', '_csv'}, new\n"
            "assert 'openpyxl' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
