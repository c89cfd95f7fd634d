"""Framework matrix (cases x codes) and indicator table (person x indicator) from codings."""

from __future__ import annotations

import pandas as pd
import pytest

from cseoutcomes.coding import CodedSegments, framework_matrix, indicator_table, join_indicators
from cseoutcomes.errors import DataError


@pytest.fixture
def seg() -> CodedSegments:
    rows = [
        ("YP01", "ann", "disclosure", "text one"), ("YP01", "bob", "disclosure", "text two"),
        ("YP01", "ann", "disclosure", "text three"), ("YP02", "ann", "recovery", ""),
        ("YP02", "bob", "trust_building", "t"), ("YP03", "cat", "engagement_wider_services", "w"),
        ("YP03", "ann", "moved_away", ""), ("YP03", "bob", "moved_away", ""),
    ]
    return CodedSegments.from_frame(pd.DataFrame(rows, columns=["source", "coder", "code", "text"]),
                                    "practice-codebook")


def test_presence_counts_and_text(seg):
    pres = framework_matrix(seg)
    assert pres.index.tolist() == ["YP01", "YP02", "YP03"]
    assert pres.columns[0] == "engagement" and pres.shape[1] == 23  # every code of the codebook, in order
    assert pres.loc["YP01", "disclosure"] and not pres.loc["YP01", "recovery"]
    assert int(pres.to_numpy().sum()) == 5  # YP01: 1 code, YP02: 2, YP03: 2
    counts = framework_matrix(seg, "count")
    assert counts.loc["YP01", "disclosure"] == 3 and counts.loc["YP02", "disclosure"] == 0
    text = framework_matrix(seg, "text", separator=" | ")
    assert text.loc["YP01", "disclosure"] == "text one | text two | text three"
    assert text.loc["YP02", "recovery"] == ""
    only_bob = framework_matrix(seg, coder="bob")
    assert only_bob.loc["YP01", "disclosure"] and not only_bob.loc["YP02", "recovery"]


def test_consensus_rules(seg):
    # YP01 coded by ann and bob, both applied disclosure; YP02: ann recovery, bob trust_building;
    # YP03 coded by ann, bob and cat: moved_away by two of three, engagement_wider_services by one
    every = framework_matrix(seg, consensus="all")
    assert every.loc["YP01", "disclosure"] and not every.loc["YP02", "recovery"]
    assert not every.loc["YP03", "moved_away"]
    most = framework_matrix(seg, consensus="majority")
    assert most.loc["YP03", "moved_away"] and not most.loc["YP03", "engagement_wider_services"]
    assert framework_matrix(seg, "count", consensus="all").loc["YP01", "disclosure"] == 3
    with pytest.raises(DataError, match="consensus"):
        framework_matrix(seg, consensus="some")


def test_indicator_table_and_joining_to_assessments(seg):
    table = indicator_table(seg)
    assert table.columns.tolist() == ["disclosure", "engaged_wider_services"]
    assert table.loc["YP01"].tolist() == [1, 0] and table.loc["YP02"].tolist() == [0, 0]
    assert table.loc["YP03"].tolist() == [0, 1]
    assert indicator_table(seg, consensus="all").loc["YP03", "engaged_wider_services"] == 0
    people = indicator_table(seg, person={"YP01": "P1", "YP02": "P1", "YP03": "P3"})
    assert people.index.tolist() == ["P1", "P3"] and people.loc["P1", "disclosure"] == 1
    assessments = pd.DataFrame({"person_id": ["YP03", "YP01", "YP09", "YP01"], "total": [5, 12, 8, 10]})
    joined = join_indicators(assessments, table)
    assert joined["person_id"].tolist() == assessments["person_id"].tolist()  # no row lost or moved
    assert joined["coded_disclosure"].tolist() == [0, 1, pd.NA, 1]  # not coded: missing, not 0
    with pytest.raises(DataError, match="already have columns"):
        join_indicators(joined, table)
    with pytest.raises(DataError, match="no person"):
        indicator_table(seg, person={"YP01": "P1"})


def test_coded_indicators_enter_a_change_model_as_a_covariate(seg):
    """The joined column is a covariate the change model's design accepts (people without coding: say so)."""
    from cseoutcomes.models import ChangeModel
    from cseoutcomes.models.design import build_design

    assessments = pd.DataFrame({"person_id": ["YP01", "YP01", "YP03", "YP03", "YP09"],
                                "assessment_date": ["2024-01-01", "2024-04-01", "2024-01-05", "2024-04-05",
                                                    "2024-02-01"],
                                "total_band": ["significant", "moderate", "moderate", "mild", "mild"]})
    joined = join_indicators(assessments, indicator_table(seg))
    model = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={},
                        covariates=("coded_disclosure",))
    with pytest.raises(DataError, match="'coded_disclosure' \\(covariate\\): blank on spreadsheet rows 6"):
        build_design(model, joined)
    design = build_design(model, joined[joined["coded_disclosure"].notna()].astype({"coded_disclosure": float}))
    assert design.x_names == ("coded_disclosure",) and design.X.shape == (4, 1)
