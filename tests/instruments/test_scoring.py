"""Hand-derived worked examples for the built-in instruments' scoring.

cse-risk-indicators follows the published SERAF scoring structure:

- Clutton, S. & Coles, J. (2007). Sexual Exploitation Risk Assessment Framework: A
  pilot study. Cardiff: Barnardo's Cymru (three sections of indicators, point scoring);
- Hampshire Safeguarding Children Board, SERAF Risk Assessment: Scoring Guidance
  (vulnerabilities 1 point each; moderate indicators 1 point if present now or in the
  last 6 months; significant indicators 5 points if present now or in the last 6
  months and 1 point if last present 6-12 months ago; bands 0-5 not at risk (category
  1), 6-10 mild (2), 11-15 moderate (3), 16+ significant (4)).

The disclosure and under-13 rules are local screening rules (a disclosure is always
the highest band; no child under 13 with CSE indicators present is rated below
moderate). "possible" and "unknown" are recorded apart from "no" (Franklin, Brown &
Brady 2018, J Child Sexual Abuse 27(8):978-997).

SWEMWBS raw-to-metric values: Stewart-Brown et al. (2009), Health and Quality of Life
Outcomes 7:15, doi:10.1186/1477-7525-7-15 (conversion table); raw 23 and 32 are also
reported by the German GEDA 2022 norms study.
"""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cseoutcomes as co
from cseoutcomes import DataError, Instrument, ScoringWarning

INSTRUMENTS = Path(__file__).resolve().parents[2] / "instruments"


@pytest.fixture(scope="module")
def cse() -> Instrument:
    return Instrument.from_yaml(INSTRUMENTS / "cse-risk-indicators.yaml")


@pytest.fixture(scope="module")
def swemwbs() -> Instrument:
    return Instrument.from_yaml(INSTRUMENTS / "swemwbs.yaml")


@pytest.fixture(scope="module")
def gbo() -> Instrument:
    return Instrument.from_yaml(INSTRUMENTS / "goal-based-outcomes.yaml")


@pytest.fixture(scope="module")
def ladder() -> Instrument:
    return Instrument.from_yaml(INSTRUMENTS / "progress-ladder.yaml")


def section(inst: Instrument, name: str) -> list[str]:
    return [i.id for i in inst.items if i.section == name]


def none_row(inst: Instrument, age: float | None = 15, **cells) -> dict:
    """An assessment with every indicator 'no' (all current), then ``cells`` applied."""
    row: dict = {i.id: "no" for i in inst.items}
    row["age"] = age
    row.update(cells)
    return row


def scored(inst: Instrument, rows: list[dict], **kwargs) -> pd.DataFrame:
    return co.score(pd.DataFrame(rows), inst, **kwargs)


def bands(result: pd.DataFrame, score: str = "total") -> list[str]:
    return [str(b) for b in result[f"{score}_band"]]


# ---------------------------------------------------------------------------
# cse-risk-indicators: structure


def test_cse_sections_follow_seraf(cse):
    assert len(section(cse, "vulnerabilities")) == 10
    assert len(section(cse, "moderate")) == 10
    assert len(section(cse, "significant")) == 7
    # 10 x 1 + 10 x 1 + 7 x 5
    assert cse.score_range("total") == (0.0, 55.0, True)
    assert [b.code for b in cse.get_score("total").bands] == ["not_at_risk", "mild", "moderate", "significant"]


# ---------------------------------------------------------------------------
# cse-risk-indicators: points


def test_k_vulnerabilities_yes_score_k(cse):
    vulns = section(cse, "vulnerabilities")
    rows = [none_row(cse, **{v: "yes" for v in vulns[:k]}) for k in range(len(vulns) + 1)]
    result = scored(cse, rows)
    assert result["total"].tolist() == list(range(11))
    assert result["total_with_possible"].tolist() == list(range(11))
    assert (result["total_answered"] == 27).all()
    # nothing unanswered: the upper bound is the score itself
    assert result["total_upper"].tolist() == list(range(11))


def test_moderate_indicator_recency(cse):
    # 1 point if present now or in the last 6 months, else 0 (Hampshire SERAF guidance)
    months = [None, 0, 3, 6, 7, 12]
    rows = [none_row(cse, going_missing="yes", going_missing_months_ago=m) for m in months]
    result = scored(cse, rows)
    assert result["total"].tolist() == [1, 1, 1, 1, 0, 0]


def test_significant_indicator_recency(cse):
    # 5 points if present now or in the last 6 months, 1 point 6-12 months ago, then 0
    months = [None, 0, 6, 9, 12, 13, 24]
    rows = [none_row(cse, exchange_for_sex="yes", exchange_for_sex_months_ago=m) for m in months]
    result = scored(cse, rows)
    assert result["total"].tolist() == [5, 5, 5, 1, 1, 0, 0]
    # recency only changes points, not whether the item was answered
    assert (result["total_answered"] == 27).all()


def test_points_add_up_across_sections(cse):
    row = none_row(
        cse,
        abuse_or_neglect="yes", in_care="yes",  # 2 vulnerabilities: 2
        going_missing="yes", going_missing_months_ago=3,  # moderate, recent: 1
        older_associates="yes", older_associates_months_ago=7,  # moderate, too old: 0
        exchange_for_sex="yes",  # significant, current: 5
        sexual_assault="yes", sexual_assault_months_ago=9,  # significant, 6-12 months: 1
    )
    result = scored(cse, [row])
    assert result["total"].tolist() == [9]
    assert bands(result) == ["mild"]


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "not_at_risk"), (5, "not_at_risk"), (6, "mild"), (10, "mild"), (11, "moderate"),
     (15, "moderate"), (16, "significant"), (20, "significant")],
)
def test_band_edges(cse, total, band):
    vulns, moderate = section(cse, "vulnerabilities"), section(cse, "moderate")
    chosen = (vulns + moderate)[:total]  # 1 point each, all current
    result = scored(cse, [none_row(cse, **{i: "yes" for i in chosen})])
    assert result["total"].tolist() == [total]
    assert bands(result) == [band]
    assert bands(result, "total_with_possible") == [band]
    assert result["total_override"].isna().all()


def test_band_column_is_an_ordered_categorical(cse):
    result = scored(cse, [none_row(cse)])
    band = result["total_band"]
    assert isinstance(band.dtype, pd.CategoricalDtype)
    assert band.cat.ordered
    assert list(band.cat.categories) == ["not_at_risk", "mild", "moderate", "significant"]


# ---------------------------------------------------------------------------
# cse-risk-indicators: overrides


def test_disclosure_sets_significant_with_its_reason(cse):
    reason = next(o.reason for o in cse.get_score("total").overrides if o.id == "disclosure")
    result = scored(cse, [none_row(cse, disclosure="yes")])
    # the score is 5 (one current significant indicator): "not at risk" by points alone
    assert result["total"].tolist() == [5]
    assert bands(result) == ["significant"]
    assert result["total_override"].tolist() == [reason]
    assert bands(result, "total_with_possible") == ["significant"]
    assert result["total_with_possible_override"].tolist() == [reason]


def test_a_possible_disclosure_is_not_a_disclosure(cse):
    result = scored(cse, [none_row(cse, disclosure="possible")])
    assert result["total"].tolist() == [0]
    assert result["total_with_possible"].tolist() == [5]
    assert bands(result, "total_with_possible") == ["not_at_risk"]
    assert result["total_with_possible_override"].isna().all()


def test_under_13_floor(cse):
    reason = next(o.reason for o in cse.get_score("total").overrides if o.id == "under_13")
    vulns = section(cse, "vulnerabilities")
    rows = [
        none_row(cse, age=12, going_missing="yes"),  # moderate indicator, under 13: floor
        none_row(cse, age=12.9, exchange_for_sex="yes"),  # significant indicator (5), under 13: floor
        none_row(cse, age=13, going_missing="yes"),  # 13 is not under 13
        none_row(cse, age=12, **{v: "yes" for v in vulns[:3]}),  # vulnerabilities only
        none_row(cse, age=12, going_missing="possible"),  # possible is not yes
        none_row(cse, age=12),  # nothing present
        none_row(cse, age=12, going_missing="yes", **{v: "yes" for v in vulns}),  # 11: already moderate
    ]
    result = scored(cse, rows)
    assert result["total"].tolist() == [1, 5, 1, 3, 0, 0, 11]
    assert bands(result) == ["moderate", "moderate", "not_at_risk", "not_at_risk", "not_at_risk",
                             "not_at_risk", "moderate"]
    assert result["total_override"].tolist()[:2] == [reason, reason]
    assert result["total_override"].iloc[2:6].isna().all()
    assert result["total_unchecked"].isna().all()


def test_under_13_floor_never_lowers_a_band(cse):
    vulns, moderate = section(cse, "vulnerabilities"), section(cse, "moderate")
    row = none_row(cse, age=10, **{i: "yes" for i in (vulns + moderate)[:16]})
    result = scored(cse, [row])
    assert result["total"].tolist() == [16]
    assert bands(result) == ["significant"]


def test_under_13_with_blank_age_is_unchecked(cse):
    rows = [
        none_row(cse, age=None, going_missing="yes"),  # would apply if under 13: unchecked
        none_row(cse, age=None, exchange_for_sex="yes"),  # likewise
        none_row(cse, age=None),  # no indicator present: cannot apply whatever the age
        none_row(cse, age=None, abuse_or_neglect="yes"),  # vulnerabilities never trigger it
    ]
    result = scored(cse, rows)
    assert result["total_unchecked"].tolist()[:2] == ["under_13", "under_13"]
    assert result["total_unchecked"].iloc[2:].isna().all()
    # an unchecked override does not change the band
    assert bands(result) == ["not_at_risk"] * 4
    assert result["total_override"].isna().all()


def test_under_13_without_an_age_column_warns_and_is_unchecked(cse):
    row = none_row(cse, going_missing="yes")
    del row["age"]
    with pytest.warns(ScoringWarning, match="no 'age' column"):
        result = scored(cse, [row])
    assert result["total_unchecked"].tolist() == ["under_13"]
    assert bands(result) == ["not_at_risk"]


# ---------------------------------------------------------------------------
# cse-risk-indicators: possible and unknown


def test_possible_counts_only_in_total_with_possible(cse):
    rows = [
        none_row(cse, going_missing="possible"),
        none_row(cse, exchange_for_sex="possible"),
        none_row(cse, exchange_for_sex="possible", exchange_for_sex_months_ago=9),
        none_row(cse, abuse_or_neglect="yes", in_care="possible"),
    ]
    result = scored(cse, rows)
    assert result["total"].tolist() == [0, 0, 0, 1]
    assert result["total_with_possible"].tolist() == [1, 5, 1, 2]
    assert (result["total_answered"] == 27).all()


@pytest.mark.parametrize(
    ("item", "max_points"),
    [("abuse_or_neglect", 1), ("going_missing", 1), ("exchange_for_sex", 5)],
)
@pytest.mark.parametrize("missing", ["unknown", "not_asked", None])
def test_unknown_never_counts_as_no(cse, item, max_points, missing):
    result = scored(cse, [none_row(cse), none_row(cse, **{item: missing})])
    # the score counts only what is known present: 0 either way ...
    assert result["total"].tolist() == [0, 0]
    # ... but one item fewer is answered, and the upper bound rises by the item's maximum
    assert result["total_answered"].tolist() == [27, 26]
    assert result["total_upper"].tolist() == [0, max_points]
    assert result["total_with_possible_upper"].tolist() == [0, max_points]


def test_too_few_answered_gives_no_score(cse):
    # the lower_bound rule needs at least 14 of the 27 items answered
    ids = [i.id for i in cse.items]
    row13 = none_row(cse, **{i: "unknown" for i in ids[13:]})
    row14 = none_row(cse, **{i: "unknown" for i in ids[14:]})
    result = scored(cse, [row13, row14])
    assert result["total_answered"].tolist() == [13, 14]
    assert math.isnan(result["total"].iloc[0]) and math.isnan(result["total_upper"].iloc[0])
    assert result["total_band"].isna().tolist() == [True, False]
    assert result["total"].iloc[1] == 0
    # unknown: items 15-27, i.e. 6 moderate (1 point each) and 7 significant (5 points each)
    assert result["total_upper"].iloc[1] == 6 * 1 + 7 * 5


# ---------------------------------------------------------------------------
# cse-risk-indicators: bad data


def test_invalid_cells_are_all_listed_with_spreadsheet_rows(cse):
    rows = [none_row(cse) for _ in range(4)]
    rows[0]["going_missing"] = "maybe"
    rows[2]["disclosure"] = "Y"
    rows[3]["going_missing"] = "7"
    table = pd.DataFrame(rows, index=[10, 20, 30, 40])  # row numbers are positions, not labels
    with pytest.raises(DataError) as info:
        co.score(table, cse)
    err = info.value
    allowed = "is not one of no / possible / yes (missing codes: unknown / not_asked)"
    assert sorted(err.problems) == sorted([
        f"row 2, column 'going_missing': 'maybe' {allowed}",
        f"row 5, column 'going_missing': '7' {allowed}",
        f"row 4, column 'disclosure': 'Y' {allowed}",
    ])
    assert "\n" not in str(err)
    assert "3 problems" in str(err)


def test_invalid_months_are_listed(cse):
    rows = [none_row(cse, going_missing="yes", going_missing_months_ago="soon"),
            none_row(cse, exchange_for_sex="yes", exchange_for_sex_months_ago=-1)]
    with pytest.raises(DataError) as info:
        scored(cse, rows)
    problems = info.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("row 2, column 'going_missing_months_ago'")
    assert problems[1].startswith("row 3, column 'exchange_for_sex_months_ago'")


def test_missing_item_column_is_named(cse):
    table = pd.DataFrame([none_row(cse)]).drop(columns=["disclosure", "in_care"])
    with pytest.raises(DataError) as info:
        co.score(table, cse)
    err = info.value
    assert "'disclosure'" in str(err) and "'in_care'" in str(err)
    assert sorted(err.problems) == ["column 'disclosure' for item 'disclosure' is missing",
                                    "column 'in_care' for item 'in_care' is missing"]
    assert err.hint and "columns=" in err.hint


def test_columns_can_be_mapped(cse):
    row = none_row(cse, disclosure="yes")
    row["Disclosed?"] = row.pop("disclosure")
    result = co.score(pd.DataFrame([row]), cse, columns={"disclosure": "Disclosed?"})
    assert result["total"].tolist() == [5]
    assert bands(result) == ["significant"]


# ---------------------------------------------------------------------------
# SWEMWBS


def swem_row(*responses) -> dict:
    return {f"item_{i + 1}": r for i, r in enumerate(responses)}


@pytest.mark.parametrize(
    ("responses", "raw", "metric"),
    [
        ((1, 1, 1, 1, 1, 1, 1), 7, 7.00),
        ((5, 5, 5, 5, 5, 5, 5), 35, 35.00),
        ((2, 1, 1, 1, 1, 1, 1), 8, 9.51),
        ((2, 2, 1, 1, 1, 1, 1), 9, 11.25),
        ((2, 2, 2, 1, 1, 1, 1), 10, 12.40),
        ((5, 5, 5, 2, 2, 2, 2), 23, 20.73),  # also in GEDA 2022 norms
        ((5, 5, 5, 5, 4, 4, 4), 32, 29.31),  # also in GEDA 2022 norms
        ((5, 5, 5, 5, 5, 4, 4), 33, 30.70),
        ((5, 5, 5, 5, 5, 5, 4), 34, 32.55),
    ],
)
def test_swemwbs_metric(swemwbs, responses, raw, metric):
    result = co.score(pd.DataFrame([swem_row(*responses)]), swemwbs)
    assert result["metric_raw"].tolist() == [raw]
    assert result["metric"].iloc[0] == pytest.approx(metric, abs=1e-9)
    assert result["metric_answered"].tolist() == [7]


def test_swemwbs_metric_increases_with_the_raw_sum(swemwbs):
    table = swemwbs.get_score("metric").transform.table
    values = [table[r] for r in range(7, 36)]
    assert all(b > a for a, b in itertools.pairwise(values))


@pytest.mark.parametrize("missing", [None, "declined", "unknown", np.nan])
def test_swemwbs_any_missing_item_gives_nan(swemwbs, missing):
    result = co.score(pd.DataFrame([swem_row(5, 5, 5, 5, 5, 5, missing)]), swemwbs)
    assert math.isnan(result["metric"].iloc[0])
    assert math.isnan(result["metric_raw"].iloc[0])
    assert result["metric_answered"].tolist() == [6]


# ---------------------------------------------------------------------------
# Goal-based outcomes


def test_gbo_mean_of_the_goals_set(gbo):
    table = pd.DataFrame({
        "goal_1": [2, 8, 10, "no_goal", 3],
        "goal_2": [4, "no_goal", "declined", "no_goal", 5],
        "goal_3": ["no_goal", "no_goal", 0, "no_goal", 10],
    })
    result = co.score(table, gbo)
    assert result["mean"].iloc[:3].tolist() == [3.0, 8.0, 5.0]
    assert math.isnan(result["mean"].iloc[3])  # no goal set at all: no score
    assert result["mean"].iloc[4] == pytest.approx(6.0)
    assert result["mean_answered"].tolist() == [2, 1, 2, 0, 3]


# ---------------------------------------------------------------------------
# Progress ladder


def ladder_row(ladder: Instrument, values) -> dict:
    return {item.id: v for item, v in zip(ladder.items, values, strict=True)}


def test_ladder_total_is_the_sum_and_mean_is_prorated(ladder):
    rows = [
        ladder_row(ladder, [1, 2, 3, 4, 5, 6, 7, 8]),
        ladder_row(ladder, [10, 10, 10, 10, 10, 10, 10, "not_asked"]),  # 7 answered
        ladder_row(ladder, [4, 4, 4, 7, 7, 7, None, "declined"]),  # 6 answered
        ladder_row(ladder, [4, 4, 4, 7, 7, None, None, "unknown"]),  # 5 answered
    ]
    result = co.score(pd.DataFrame(rows), ladder)
    assert result["total"].iloc[0] == 36
    assert result["total"].iloc[1:].isna().all()  # total needs all eight areas
    assert result["mean"].iloc[0] == pytest.approx(4.5)
    assert result["mean"].iloc[1] == pytest.approx(10.0)
    assert result["mean"].iloc[2] == pytest.approx(5.5)
    assert math.isnan(result["mean"].iloc[3])  # fewer than min_answered (6)
    assert result["mean_answered"].tolist() == [8, 7, 6, 5]


# ---------------------------------------------------------------------------
# code matching


def test_cse_codes_match_ignoring_case_and_spaces(cse):
    rows = [
        none_row(cse, going_missing=" YES ", abuse_or_neglect="Yes", in_care="yes "),
        none_row(cse, going_missing="Possible", abuse_or_neglect=" No", in_care="  UNKNOWN "),
    ]
    result = scored(cse, rows)
    assert result["total"].tolist() == [3, 0]
    assert result["total_with_possible"].tolist() == [3, 1]
    assert result["total_answered"].tolist() == [27, 26]
    assert result["total_upper"].tolist() == [3, 1]


def test_numeric_cells_match_numeric_codes(ladder, swemwbs):
    # a spreadsheet column read as floats: 2.0 matches code "2"
    rows = [ladder_row(ladder, [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]),
            ladder_row(ladder, ["2", " 3", 4, np.int64(5), 6.0, "7 ", 8, 9])]
    result = co.score(pd.DataFrame(rows), ladder)
    assert result["total"].tolist() == [44, 44]
    floats = pd.DataFrame([swem_row(*[3.0] * 7), swem_row(*[3.0] * 6, np.nan)], dtype=float)
    result = co.score(floats, swemwbs)
    assert result["metric_raw"].iloc[0] == 21
    assert result["metric"].iloc[0] == pytest.approx(19.25)
    assert math.isnan(result["metric"].iloc[1])  # NaN in a float column is a blank


def test_the_registry_serves_the_same_definitions(cse, swemwbs, gbo, ladder):
    for inst in (cse, swemwbs, gbo, ladder):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScoringWarning)
            assert co.get_instrument(inst.id) == inst


def test_a_column_map_naming_an_absent_column_is_one_clear_error():
    inst = co.get_instrument("goal-based-outcomes")
    table = pd.DataFrame({"goal_1": [3], "goal_2": [4], "goal_3": [5]})
    with pytest.raises(DataError, match=r"the column map names column the table does not have: 'goal_1' -> 'Goal one'"):
        co.score(table, inst, columns={"goal_1": "Goal one"})


def test_duplicate_column_names_are_one_clear_error():
    inst = co.get_instrument("goal-based-outcomes")
    table = pd.DataFrame([[1, 2, 3, 4]], columns=["goal_1", "goal_2", "goal_3", "goal_3"])
    with pytest.raises(DataError, match=r"more than one column named 'goal_3'"):
        co.score(table, inst)


def test_reverse_keyed_items_are_flipped_within_their_scale():
    """A reverse-keyed 1-5 item contributes (1 + 5) - value: 1 counts as 5 and 4 as 2."""
    data = co.get_instrument("swemwbs").to_dict()
    data["items"][0]["reverse"] = True
    inst = co.Instrument.from_dict(data)
    table = pd.DataFrame([[1] + [1] * 6, [4] + [1] * 6], columns=[f"item_{i}" for i in range(1, 8)])
    raw = co.score(table, inst)["metric_raw"].tolist()
    assert raw == [5 + 6, 2 + 6]


def test_a_score_needs_only_the_routing_of_its_own_sections():
    """Scoring one score must not evaluate another section's routing, whose item was not read.

    Regression: a section routed on `safety` and a score of `choices_self_efficacy` alone raised
    KeyError('safety'), because every section's routing was evaluated while only the wanted
    score's items (and its sections' routing items) were encoded.
    """
    import yaml

    from cseoutcomes import score

    raw = yaml.safe_load((INSTRUMENTS / "progress-ladder.yaml").read_text(encoding="utf-8"))
    raw["sections"] = [{"id": "close", "label": "Close relationships",
                        "applies_when": {"item": "safety", "in": ["1", "2"]}}]
    for item in raw["items"]:
        if item["id"] == "relationships":
            item["section"] = "close"
    raw["scores"].append({"id": "self", "label": "Self-efficacy rung", "method": "sum",
                          "items": ["choices_self_efficacy"]})
    raw["scores"].append({"id": "close_total", "label": "Relationships rung", "method": "mean",
                          "items": ["relationships"], "missing": {"rule": "available"}})
    inst = Instrument.model_validate(raw)
    table = pd.DataFrame({"choices_self_efficacy": ["3", "7"], "relationships": ["", "5"],
                          "safety": ["5", "1"]})
    only_self = score(table[["choices_self_efficacy"]], inst, scores=["self"])
    assert only_self["self"].tolist() == [3.0, 7.0]
    # the routed section's own score still reads its routing item
    with pytest.raises(DataError, match="safety"):
        score(table[["relationships"]], inst, scores=["close_total"])
    routed = score(table, inst, scores=["close_total"])
    assert routed["close_total_answered"].tolist() == [0, 1] and routed["close_total"].iloc[1] == 5.0
