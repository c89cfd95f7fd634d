"""evaluate(): an instrument's evidence on a dataset, beside what its definition declares."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import cseoutcomes as co
from cseoutcomes.psychometrics import cronbach_alpha, evaluate, icc
from cseoutcomes.psychometrics.evaluate import item_values

LADDER = co.get_instrument("progress-ladder")
SWEMWBS = co.get_instrument("swemwbs")


def ladder_data(n_people: int = 120, seed: int = 5) -> pd.DataFrame:
    """Invented ladder ratings from one latent factor: each person rated by themself and a worker on the
    same day (inter-rater pairs), and again by themself 14 days later (test-retest pairs)."""
    rng = np.random.default_rng(seed)
    trait = rng.normal(0, 1, n_people)
    rows = []
    for p in range(n_people):
        for rater, day, noise in (("young_person", 0, 0.0), ("worker", 0, 0.3), ("young_person", 14, 0.2)):
            base = trait[p] + rng.normal(0, noise)
            row = {"person_id": f"P{p:03d}", "rater": rater,
                   "assessment_date": (pd.Timestamp("2016-01-04") + pd.Timedelta(days=day)).date().isoformat()}
            for item in LADDER.items:
                latent = 0.8 * base + rng.normal(0, 0.6)
                row[item.id] = str(int(np.clip(np.round(5.5 + 2 * latent), 1, 10)))
            rows.append(row)
    return pd.DataFrame(rows)


def test_alpha_is_the_alpha_of_the_item_values():
    data = ladder_data()
    ev = evaluate(LADDER, data, omega=False)
    row = ev.table[(ev.table["scope"] == "score:total") & (ev.table["statistic"] == "cronbach_alpha")].iloc[0]
    direct = cronbach_alpha(item_values(data, LADDER, list(LADDER.items)))
    assert row["estimate"] == pytest.approx(direct.estimate)
    assert row["ci_lower"] == pytest.approx(direct.ci[0]) and row["n"] == len(data)
    # the generating model: item = 0.8 * trait + N(0, 0.6), so item variance 1 and inter-item correlation
    # 0.64; Spearman-Brown for 8 items gives 8 * 0.64 / (1 + 7 * 0.64) = 0.934 before rounding to rungs,
    # which lowers it somewhat
    assert 0.8 < row["estimate"] < 0.94


def test_total_and_mean_of_the_same_items_are_reported_once():
    ev = evaluate(LADDER, ladder_data(), omega=False)
    assert set(ev.table["scope"]) == {"score:total"}
    assert any("score:mean: same items as score:total" in n for n in ev.notes)


def test_test_retest_uses_the_same_rater_within_the_window():
    data = ladder_data()
    ev = evaluate(LADDER, data, omega=False, retest_days=30)
    row = ev.table[ev.table["statistic"] == "test_retest"].iloc[0]
    assert row["n"] == 120
    # the same pairs computed by hand: each person's young-person ratings on day 0 and day 14
    totals = co.score(data, LADDER, scores=["total"])["total"]
    yp = data["rater"] == "young_person"
    first = totals[yp & (data["assessment_date"] == "2016-01-04")].to_numpy()
    second = totals[yp & (data["assessment_date"] == "2016-01-18")].to_numpy()
    expected = icc(pd.DataFrame({"a": first, "b": second})).get("ICC(2,1)")
    assert row["estimate"] == pytest.approx(expected.estimate)
    assert "14 days" not in row["method"] and "30 days" in row["method"]


def test_no_retest_pairs_outside_the_window():
    ev = evaluate(LADDER, ladder_data(), omega=False, retest_days=7)
    assert "test_retest" not in set(ev.table["statistic"])
    assert any("test-retest: 0 pair(s) within 7 days" in n for n in ev.notes)


def test_inter_rater_agreement_on_occasions_rated_twice():
    ev = evaluate(LADDER, ladder_data(), omega=False)
    row = ev.table[ev.table["statistic"] == "icc"].iloc[0]
    assert row["n"] == 120 and "inter-rater" in row["method"]
    assert 0.5 < row["estimate"] <= 1


def test_inter_rater_kappa_on_bands_for_a_banded_instrument():
    inst = co.get_instrument("cse-risk-indicators")
    rng = np.random.default_rng(1)
    base = co.testing.generate_responses(inst, 40, seed=3, missing_rate=0, blank_rate=0)
    second = base.copy()
    flip = rng.random(second.shape) < 0.05
    items = [i.id for i in inst.items]
    second[items] = second[items].mask(flip[:, :len(items)], "no")
    frame = pd.concat([base.assign(rater="worker_a"), second.assign(rater="worker_b")], ignore_index=True)
    frame["person_id"] = [f"P{i % 40}" for i in range(80)]
    frame["assessment_date"] = "2016-02-01"
    ev = evaluate(inst, frame, omega=False)
    kappa = ev.table[ev.table["statistic"] == "weighted_kappa"]  # quadratic weights on the ordered bands
    assert len(kappa) == 1 and kappa.iloc[0]["n"] == 40


def test_declared_evidence_is_set_beside_the_observed():
    rng = np.random.default_rng(2)
    trait = rng.normal(0, 1, 300)
    data = pd.DataFrame({f"item_{j}": np.clip(np.round(3 + trait + rng.normal(0, 0.8, 300)), 1, 5).astype(int)
                         for j in range(1, 8)})
    ev = evaluate(SWEMWBS, data, omega=False)
    declared = ev.declared.set_index("statistic")
    assert declared.loc["cronbach_alpha", "declared"] == 0.88  # Ringdal et al. 2018, as swemwbs.yaml declares
    observed = ev.table[ev.table["statistic"] == "cronbach_alpha"].iloc[0]["estimate"]
    assert declared.loc["cronbach_alpha", "observed"] == pytest.approx(observed)
    assert np.isnan(declared.loc["test_retest", "observed"])  # no dates: nothing to compare


def test_renderings_are_self_contained_and_json_ready(tmp_path):
    ev = evaluate(LADDER, ladder_data(40), omega=True)
    html = ev.to_html(tmp_path / "ev.html")
    assert "<script" not in html and "http" not in html
    assert (tmp_path / "ev.html").read_text(encoding="utf-8") == html
    json.dumps(ev.to_dict(), default=str)
    assert "cronbach_alpha" in repr(ev) and "<table" in ev._repr_html_()


def test_coding_schemes_are_refused():
    with pytest.raises(co.DataError, match="coding scheme"):
        evaluate("practice-codebook", pd.DataFrame())


def test_cli_evaluate(tmp_path, capsys):
    from cseoutcomes.cli import main

    path = tmp_path / "ladder.csv"
    ladder_data(30).to_csv(path, index=False)
    code = main(["evaluate", str(path), "-i", "progress-ladder", "--report", str(tmp_path / "e.html"),
                 "--json", str(tmp_path / "e.json"), "--no-omega"])
    out = capsys.readouterr().out
    assert code == 0 and "cronbach_alpha" in out and "test_retest" in out
    assert json.loads((tmp_path / "e.json").read_text())["instrument"] == "progress-ladder@1.0.0"
