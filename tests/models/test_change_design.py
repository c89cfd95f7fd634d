"""From an assessment table to model arrays: time, groups, outcomes, and every problem reported at once."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import cseoutcomes as co
from cseoutcomes.errors import DataError, ModelWarning
from cseoutcomes.models import ChangeModel
from cseoutcomes.models.design import build_design
from cseoutcomes.simulate import hub_and_spoke


@pytest.fixture(scope="module")
def small():
    return hub_and_spoke(seed=5, n_hubs=3, n_areas=4, n_workers=6)


def test_time_counts_from_each_persons_first_assessment(small):
    table = pd.DataFrame({
        "person_id": ["a", "a", "a", "b", "b"],
        "assessment_date": ["2020-01-01", "2020-04-01", "2021-01-01", "2020-06-15", "2020-09-15"],
        "worker": "w", "service": "s", "area": "x", "total_band": ["moderate", "mild", "not_at_risk", "significant", "SIGNIFICANT"],
    })
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band")
    d = build_design(m, table)
    # 91 and 366 days; 92 days; months of 365.25/12 days
    np.testing.assert_allclose(d.t, np.array([0, 91, 366, 0, 92]) / (365.25 / 12))
    assert d.y.tolist() == [2, 1, 0, 3, 3]  # band codes, case-insensitive
    q = build_design(m.model_copy(update={"time_unit": "quarters"}), table)
    np.testing.assert_allclose(q.t, d.t / 3)
    assert d.occasion.tolist() == [0, 1, 2, 0, 1]
    assert d.t_per_year == 12 and q.t_per_year == 4


def test_bands_given_as_a_column_are_used_and_must_be_bands():
    table = pd.DataFrame({"person_id": ["a", "a"], "assessment_date": [0.0, 3.0], "total_band": ["Moderate", "middling"]})
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={})
    with pytest.raises(DataError, match="not bands of 'total'") as err:
        build_design(m, table)
    assert "spreadsheet rows 3" in str(err.value)  # header is row 1


def test_outcome_is_scored_when_absent_and_matches_score(small):
    data = small.assessments
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band")
    d = build_design(m, data)
    bands = co.score(data, "cse-risk-indicators", scores=["total"])["total_band"].cat.codes.to_numpy()
    np.testing.assert_array_equal(d.y, bands)
    assert d.n == len(data)
    assert set(d.groups) == {"worker", "service", "area"}
    for g in d.groups.values():
        assert g.n_rows.sum() == d.n
    assert d.person_closed is not None
    assert d.person_closed.sum() == small.truth["people"]["closed_in_window"].sum()


def test_unscorable_rows_are_left_out_loudly_and_listed(small):
    data = small.assessments.copy()
    items = [i.id for i in co.get_instrument("cse-risk-indicators").items]
    data.loc[data.index[:2], items] = "unknown"  # nothing answered: no score
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total")
    with pytest.warns(ModelWarning, match="2 of .* left out of the model"):
        d = build_design(m, data)
    assert d.n == len(data) - 2
    assert d.excluded["spreadsheet_row"].tolist() == [2, 3]


def test_every_table_problem_is_reported_at_once_without_identifier_values():
    table = pd.DataFrame({
        "person_id": ["Jane Doe", None, "Jane Doe"],
        "assessment_date": ["2020-01-01", "2020-02-30", "2020-03-01"],
        "worker": ["w", "w", " "], "service": "s", "area": "x", "total": [10, 12, 11],
    })
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total")
    with pytest.raises(DataError) as err:
        build_design(m, table)
    text = str(err.value)
    assert len(err.value.problems) == 3
    assert "'person_id' (person): blank on spreadsheet rows 3" in text
    assert "'assessment_date': unreadable date on spreadsheet rows 3" in text
    assert "'worker' (worker): blank on spreadsheet rows 4" in text
    assert "Jane" not in text and "\n" not in text


def test_missing_columns_are_named_with_their_role():
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total", covariates=("age",))
    with pytest.raises(DataError, match=r"'worker' \(group worker\).*'age' \(covariate age\)"):
        build_design(m, pd.DataFrame({"person_id": ["a"], "assessment_date": [0.0], "service": ["s"],
                                      "area": ["x"], "total": [3]}))


def test_nested_labels_are_made_unique_within_the_parent():
    table = pd.DataFrame({"person_id": list("abcd"), "assessment_date": 0.0, "total": [1, 2, 3, 4],
                          "service": ["S1", "S1", "S2", "S2"], "worker": ["W1", "W1", "W1", "W2"]})
    crossed = ChangeModel(instrument="cse-risk-indicators", outcome="total",
                          groups={"service": "service", "worker": "worker"})
    nested = crossed.model_copy(update={"nested": {"worker": "service"}})
    assert len(build_design(crossed, table).groups["worker"].labels) == 2
    assert build_design(nested, table).groups["worker"].labels.tolist() == ["S1/W1", "S2/W1", "S2/W2"]


def test_covariates_numeric_are_standardised_and_categories_get_indicators():
    table = pd.DataFrame({"person_id": list("aabb"), "assessment_date": [0.0, 1, 0, 2], "total": [1, 2, 3, 4],
                          "age": [13, 13, 15, 15], "gender": ["f", "f", "m", "x"]})
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total", groups={}, covariates=("age", "gender"))
    d = build_design(m, table)
    assert d.x_names == ("age", "gender[m]", "gender[x]")
    np.testing.assert_allclose(d.X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(d.X.std(axis=0), 1)
    np.testing.assert_allclose(d.X[:, 0] * d.x_scale[0] + d.x_center[0], table["age"])


def test_negative_numeric_time_is_an_error():
    table = pd.DataFrame({"person_id": ["a", "a"], "months": [0.0, -1.0], "total": [1, 2]})
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total", time="months", groups={})
    with pytest.raises(DataError, match="negative time since referral on spreadsheet rows 3"):
        build_design(m, table)


def test_item_outcome_uses_scale_positions_and_missing_codes_are_left_out():
    inst = co.get_instrument("progress-ladder")
    item = inst.items[0]
    codes = [c.code for c in inst.scale_of(item).categories]
    missing = inst.scale_of(item).missing_codes
    table = pd.DataFrame({"person_id": ["a", "a", "a"], "assessment_date": [0.0, 1.0, 2.0],
                          item.id: [codes[0], codes[9], missing[0] if missing else ""]})
    m = ChangeModel(instrument="progress-ladder", outcome=item.id, groups={})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelWarning)
        d = build_design(m, table)
    assert d.y.tolist() == [0, 9]


def test_selection_marks_each_referral_and_rejects_referrals_below_the_screen():
    from cseoutcomes.models import Selection

    table = pd.DataFrame({"person_id": ["a", "a", "b", "b"], "months": [0.0, 3.0, 0.0, 2.0],
                          "total_band": ["significant", "mild", "moderate", "not_at_risk"]})
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", time="months", groups={},
                    selection=Selection(at_least="moderate"))
    d = build_design(m, table)
    assert d.selected.tolist() == [True, False, True, False]
    assert d.selection == 2
    bad = table.assign(total_band=["significant", "mild", "mild", "mild"])
    with pytest.raises(DataError, match="below the selection threshold 'moderate' on spreadsheet rows 4"):
        build_design(m, bad)
