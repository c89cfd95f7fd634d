"""Broken instrument definitions are reported one problem per line, usefully.

Each file in ``tests/fixtures/broken/`` is the small valid definition
``tests/fixtures/valid-minimal.yaml`` with one problem put in (``several-problems``
and ``mixed-problems`` have several). For each, loading must raise
:class:`cseoutcomes.DefinitionError` whose ``problems`` hold a single-line message
that

(a) names the file,
(b) names where in it: the field path in dotted/id style (``scores.total.bands[2]``,
    ``items.going_missing.scale``), or, for problems found while parsing the YAML
    itself, the line number,
(c) says what is wrong, and
(d) says how to fix it.

``cseoutcomes instruments check`` must print every problem and exit 1 for each
broken file, and exit 0 for every definition shipped in ``instruments/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import cseoutcomes
from cseoutcomes import DefinitionError, Instrument
from cseoutcomes.cli import main

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
BROKEN = FIXTURES / "broken"
BUILT_IN = HERE.parents[1] / "instruments"

BROKEN_FILES = sorted(BROKEN.glob("*.yaml"))
BUILT_IN_FILES = sorted(BUILT_IN.glob("*.yaml"))


@pytest.fixture(autouse=True)
def _run_in_empty_folder(tmp_path, monkeypatch):
    """Every test runs in an empty folder: a YAML tag that ran a command would leave a file there."""
    monkeypatch.chdir(tmp_path)


def problems_of(path: Path) -> list[str]:
    """Load ``path``; it must fail with a DefinitionError. Returns its problems."""
    with pytest.raises(DefinitionError) as info:
        Instrument.from_yaml(path)
    err = info.value
    assert isinstance(err, cseoutcomes.CseOutcomesError)
    assert err.problems, "a DefinitionError must carry at least one problem"
    for problem in err.problems:
        assert isinstance(problem, str)
        assert "\n" not in problem and "\r" not in problem, f"problem is not one line: {problem!r}"
    assert "\n" not in str(err), "the exception's own message must be one line"
    return err.problems


def find_problem(problems: list[str], *, path: Path, where: str, what: str, fix: str) -> str:
    """The one problem that names ``path`` and ``where`` and says ``what`` and ``fix`` (substrings)."""
    matching = [p for p in problems if where in p]
    assert matching, f"no problem names {where!r}; problems: {problems}"
    problem = matching[0]
    assert problem.startswith(str(path)), f"problem does not start with the file name: {problem!r}"
    assert what in problem, f"problem does not say {what!r}: {problem!r}"
    assert fix in problem, f"problem does not give the fix {fix!r}: {problem!r}"
    return problem


def line_of(path: Path, needle: str) -> int:
    """1-based line number of the first line of ``path`` that contains ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


# ---------------------------------------------------------------------------
# the fixtures themselves


def test_the_unbroken_definition_is_valid():
    inst = Instrument.from_yaml(FIXTURES / "valid-minimal.yaml")
    assert inst.summary() == "4 items, 1 score, 3 bands, 1 override"


def test_every_broken_fixture_is_tested():
    tested = {
        "band-outside-range", "band-starts-below-range", "coding-scheme-with-items",
        "duplicate-item-id", "duplicate-yaml-key", "empty", "gapped-bands", "invalid-yaml",
        "mixed-problems", "overlapping-bands", "override-unknown-band", "override-unknown-item",
        "python-tag", "several-problems", "text-not-licensed", "transform-missing-raw-score",
        "undefined-scale", "unknown-field", "weighted-count-without-counts",
        "wrong-type-and-cross-field",
    }
    assert {p.stem for p in BROKEN_FILES} == tested


# ---------------------------------------------------------------------------
# one test per problem


def test_unknown_field_suggests_the_field_meant():
    path = BROKEN / "unknown-field.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where="items.older_associates.lable",
                 what="unknown field 'lable'", fix="did you mean 'label'?")


def test_undefined_scale():
    path = BROKEN / "undefined-scale.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where="items.going_missing.scale",
                 what="response scale 'yes_no' is not defined", fix="declare it under `response_scales`")


def test_duplicate_item_ids():
    path = BROKEN / "duplicate-item-id.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where="items.going_missing:",
                 what="item id 'going_missing' is used 2 times", fix="rename one")


def test_band_threshold_outside_the_score_range():
    # four items scored 0-5 sum to 0-20; the last band claims to reach 25
    path = BROKEN / "band-outside-range.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where="scores.total.bands[2]",
                 what="beyond the score's maximum 20", fix="end it at 20 or leave max empty")


def test_band_starting_below_the_score_range_gives_a_fix():
    # regression: at e284dcd this message said where and what but gave no fix
    path = BROKEN / "band-starts-below-range.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where="scores.total.bands[0]",
                 what="outside the score's range 0 to 20", fix="start it at 0")


def test_overlapping_bands():
    path = BROKEN / "overlapping-bands.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where="scores.total.bands[1]",
                 what="so they overlap", fix="start 'medium' at 6 or end 'low' at 3")


def test_gapped_bands_reproduce_the_user_story():
    # USER-STORIES.md, "An academic, with a new instrument": 'medium' ends at 10 and
    # 'high' starts at 12, so nothing covers 11.
    path = BROKEN / "gapped-bands.yaml"
    problems = problems_of(path)
    problem = find_problem(problems, path=path, where="scores.total.bands[2]",
                           what="band 'high' starts at 12 but 'medium' ends at 10; bands must meet",
                           fix="set 'medium' to end at 11 or 'high' to start at 11")
    assert problem == (
        f"{path}: scores.total.bands[2]: band 'high' starts at 12 but 'medium' ends at 10; "
        "bands must meet (set 'medium' to end at 11 or 'high' to start at 11)"
    )


def test_override_naming_an_unknown_item():
    path = BROKEN / "override-unknown-item.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where="scores.total.overrides.disclosed.when",
                 what="item 'disclosur' is not defined", fix="did you mean 'disclosure'?")


def test_python_object_tag_is_refused_and_never_run(tmp_path):
    path = BROKEN / "python-tag.yaml"
    marker = tmp_path / "cseoutcomes-pwned.txt"  # what the tag's command would create
    problems = problems_of(path)
    problem = find_problem(problems, path=path, where=f"line {line_of(path, '!!python/object')}",
                           what="YAML tag '!!python/object/apply:os.system' is not allowed",
                           fix="remove the tag")
    assert "loaded safely" in problem
    assert not marker.exists(), "the python/object tag was executed"
    assert list(tmp_path.iterdir()) == []


def test_duplicate_yaml_keys():
    path = BROKEN / "duplicate-yaml-key.yaml"
    problems = problems_of(path)
    first, second = line_of(path, "label: Goes missing"), line_of(path, "label: Goes missing from home")
    assert second == first + 1
    find_problem(problems, path=path, where=f"line {second}",
                 what=f"duplicate key 'label' (first on line {first})",
                 fix="each key may appear once in a mapping")


def test_invalid_yaml_syntax_gives_the_line():
    path = BROKEN / "invalid-yaml.yaml"
    problems = problems_of(path)
    # the unclosed flow mapping is noticed where the next item starts
    bad = line_of(path, "{id: older_associates")
    problem = find_problem(problems, path=path, where="line ", what="not valid YAML",
                           fix="check indentation and quoting there")
    reported = int(re.search(r"line (\d+)", problem).group(1))
    assert reported in (bad, bad + 1)


def test_empty_file():
    path = BROKEN / "empty.yaml"
    problems = problems_of(path)
    assert len(problems) == 1
    find_problem(problems, path=path, where=str(path), what="but this is empty",
                 fix="a definition is a mapping of fields (id, version")


def test_coding_scheme_with_items():
    path = BROKEN / "coding-scheme-with-items.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where=f"{path}: items:",
                 what="a coding scheme has codes, not items or scores",
                 fix="use another kind for a scale")


def test_item_text_when_the_licence_forbids_wording():
    path = BROKEN / "text-not-licensed.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where="items.disclosure.text",
                 what="the licence says item wording may not ship", fix="remove `text`")


def test_lookup_transform_missing_a_raw_score():
    path = BROKEN / "transform-missing-raw-score.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where="scores.metric.transform.table",
                 what="no entry for raw score(s) 7", fix="the table must cover 0 to 10")


def test_weighted_count_without_counts():
    path = BROKEN / "weighted-count-without-counts.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where="scores.count.counts",
                 what="a weighted_count needs `counts: [codes that earn points]`", fix="e.g. [yes]")


def test_override_band_that_is_not_declared():
    path = BROKEN / "override-unknown-band.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where="scores.total.overrides.disclosed.band",
                 what="band 'severe' is not defined", fix="defined: low, medium, high")


# ---------------------------------------------------------------------------
# several problems at once


def test_several_problems_are_all_reported():
    path = BROKEN / "several-problems.yaml"
    problems = problems_of(path)
    assert len(problems) >= 3
    planted = {
        "items.older_associates:": "item id 'older_associates' is used 2 times",
        "items.going_missing.section": "section 'moderat' is not defined",
        "scores.total.bands[2]": "bands must meet",
        "scores.total.overrides.disclosed.when": "item 'disclosur' is not defined",
    }
    for where, what in planted.items():
        assert any(p.startswith(f"{path}: {where}") and what in p for p in problems), (where, problems)
    assert len(problems) == len(planted)


def test_a_misspelt_field_does_not_hide_cross_field_problems():
    # regression: at e284dcd pydantic skipped Instrument's after-validator once any field
    # was invalid, so a misspelt field hid the duplicate id and the band gap
    path = BROKEN / "mixed-problems.yaml"
    problems = problems_of(path)
    assert len(problems) >= 3
    for where, what in {
        "items.older_associates.lable": "unknown field 'lable'",
        "items.going_missing:": "item id 'going_missing' is used 2 times",
        "scores.total.bands[2]": "bands must meet",
    }.items():
        assert any(where in p and what in p for p in problems), (where, problems)


def test_a_wrongly_typed_value_does_not_hide_cross_field_problems():
    path = BROKEN / "wrong-type-and-cross-field.yaml"
    problems = problems_of(path)
    assert len(problems) >= 3
    for where, what in {
        "items.older_associates.weight": "valid number",
        "items.going_missing:": "item id 'going_missing' is used 2 times",
        "scores.total.overrides.disclosed.when": "item 'disclosur' is not defined",
    }.items():
        assert any(where in p and what in p for p in problems), (where, problems)


def test_undefined_section_gives_a_fix():
    # regression: at e284dcd this said "(defined: none)" and no more
    path = BROKEN / "several-problems.yaml"
    problems = problems_of(path)
    find_problem(problems, path=path, where="items.going_missing.section",
                 what="section 'moderat' is not defined", fix="declare it under `sections`")


# ---------------------------------------------------------------------------
# the command line


@pytest.mark.parametrize("path", BROKEN_FILES, ids=[p.stem for p in BROKEN_FILES])
def test_cli_check_prints_every_problem_and_exits_1(path, capsys):
    with pytest.raises(DefinitionError) as info:
        Instrument.from_yaml(path)
    expected = info.value.problems
    assert main(["instruments", "check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    for problem in expected:
        assert problem in out, f"the CLI did not print {problem!r}"
    n = len(expected)
    assert out[-1] == f"{path}: invalid ({n} problem{'s' * (n > 1)})"


def test_cli_check_several_files_reports_them_all(capsys):
    files = [BROKEN / "gapped-bands.yaml", FIXTURES / "valid-minimal.yaml", BROKEN / "undefined-scale.yaml"]
    assert main(["instruments", "check", "--no-conformance", *map(str, files)]) == 1
    out = capsys.readouterr().out
    assert "bands must meet" in out
    assert "items.going_missing.scale" in out
    assert f"{files[1]}: valid (4 items, 1 score, 3 bands, 1 override)" in out


@pytest.mark.parametrize("path", BUILT_IN_FILES, ids=[p.stem for p in BUILT_IN_FILES])
def test_cli_check_accepts_every_built_in_definition(path, capsys):
    assert main(["instruments", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].startswith(f"{path}: valid (")


def test_built_in_definitions_are_found():
    assert {p.stem for p in BUILT_IN_FILES} >= {
        "cse-risk-indicators", "swemwbs", "goal-based-outcomes", "progress-ladder", "practice-codebook"}


def test_an_item_missing_a_required_field_does_not_hide_other_problems(tmp_path):
    """An item that cannot be built is left out of the cross-field check; its own absence is not reported as a second problem."""
    import yaml

    data = yaml.safe_load((FIXTURES / "valid-minimal.yaml").read_text(encoding="utf-8"))
    first = data["items"][0]
    del first["scale"]
    data["scores"][0]["bands"][2]["min"] = data["scores"][0]["bands"][1]["max"] + 2  # a gap
    path = tmp_path / "item-without-scale.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    problems = problems_of(path)
    assert any(f"items.{first['id']}.scale: required field is missing" in p for p in problems), problems
    assert any("bands must meet" in p for p in problems), problems
    assert not any(f"item '{first['id']}' is not defined" in p for p in problems), problems
