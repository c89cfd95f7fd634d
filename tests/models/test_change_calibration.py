"""Simulation-based calibration: ranks, coverage, resuming, local processes and a Dask cluster on loopback."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cseoutcomes.errors import ModelError
from cseoutcomes.models import ChangeModel
from cseoutcomes.models.calibration import LEVELS, SBCResult, _covered, _rank, sbc


def _tiny_design(n_people: int = 24, seed: int = 0) -> pd.DataFrame:
    """A small design: people in 3 services, 2 to 4 assessments each, some closed."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_people):
        n = rng.integers(2, 5)
        closed = "planned" if rng.random() < 0.5 else ""
        for k, t in enumerate(np.sort(np.r_[0, rng.uniform(1, 18, n - 1)])):
            rows.append({"person_id": f"p{p}", "months": round(float(t), 2), "service": f"S{p % 3}",
                         "closure_reason": closed, "occasion": k})
    return pd.DataFrame(rows)


MODEL = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", time="months",
                    groups={"service": "service"})
FIT = {"draws": 150, "tune": 150, "chains": 2}


def test_rank_counts_draws_below_and_breaks_ties_at_random():
    rng = np.random.default_rng(0)
    assert _rank(np.array([1.0, 2.0, 3.0]), 2.5, rng) == 2
    assert _rank(np.array([1.0, 2.0, 3.0]), 0.0, rng) == 0
    assert _rank(np.array([1.0, 2.0, 3.0]), 9.0, rng) == 3
    tied = [_rank(np.array([0.0, 0.5, 0.5, 0.5, 1.0]), 0.5, rng) for _ in range(400)]
    assert set(tied) == {1, 2, 3, 4}  # 1 below plus 0..3 of the 3 ties


def test_coverage_of_a_discrete_estimand_is_nominal_when_calibrated():
    # Truth and posterior draws from the same discrete distribution (a share of 12 young people,
    # Binomial(12, 0.7) / 12) is perfect calibration, so every level must be covered at its
    # nominal rate. The randomised PIT (Czado, Gneiting & Held 2009, Biometrics 65:1254) gives
    # that; an interval with its end points included covers far more often, because many draws
    # tie with the truth.
    rng = np.random.default_rng(11)
    n = 4000
    hits = {str(lv): 0 for lv in LEVELS}
    inclusive = 0
    for _ in range(n):
        draws = rng.binomial(12, 0.7, 400) / 12
        truth = rng.binomial(12, 0.7) / 12
        for lv, ok in _covered(draws, truth, float(rng.random())).items():
            hits[lv] += ok
        inclusive += np.quantile(draws, 0.05) <= truth <= np.quantile(draws, 0.95)
    for lv in LEVELS:  # binomial SD of a share over 4000 at 0.9 is 0.005
        assert abs(hits[str(lv)] / n - lv) < 0.025, (lv, hits[str(lv)] / n)
    assert inclusive / n > 0.93  # 0.95 here: 9 binomial SDs above the nominal 0.90


def test_coverage_of_a_continuous_estimand_is_the_central_quantile_interval():
    draws = np.arange(1000) / 1000.0
    assert _covered(draws, 0.5, 0.3) == {str(lv): True for lv in LEVELS}
    assert _covered(draws, 0.03, 0.3) == {"0.5": False, "0.8": False, "0.9": False, "0.95": True}
    assert _covered(draws, 0.999, 0.3) == {str(lv): False for lv in LEVELS}


def _fake_records(n: int, n_rank: int, seed: int = 1, biased: bool = False) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        r = int(rng.integers(0, n_rank + 1)) if not biased else int(rng.integers(0, (n_rank + 1) // 4))
        out.append({"rep": i, "seed": i, "n_rank": n_rank, "seconds": 1.0, "ranks": {"slope": r},
                    "covered": {"slope": {str(lv): bool(rng.random() < lv) for lv in LEVELS}},
                    "truth": {"slope": 0.0},
                    "diagnostics": {"max_rhat": 1.0, "min_ess_bulk": 500.0, "divergences": 0, "n_draws": 100,
                                    "warnings": []}})
    return out


def test_uniformity_accepts_uniform_ranks_and_rejects_biased_ones():
    ok = SBCResult(_fake_records(400, 99)).uniformity()
    assert ok.loc["slope", "bins"] == 20 and ok.loc["slope", "df"] == 19
    assert ok.loc["slope", "p_value"] > 0.001
    bad = SBCResult(_fake_records(400, 99, biased=True)).uniformity()
    assert bad.loc["slope", "p_value"] < 1e-10
    with pytest.raises(ModelError, match="do not divide"):
        SBCResult(_fake_records(50, 99)).uniformity(bins=7)


def test_coverage_has_wilson_intervals():
    from statsmodels.stats.proportion import proportion_confint

    records = _fake_records(200, 99)
    cov = SBCResult(records).coverage()
    for level in LEVELS:
        row = cov.loc[("slope", level)]
        hits = sum(r["covered"]["slope"][str(level)] for r in records)
        assert row["coverage"] == hits / 200
        # peer: statsmodels' Wilson score interval (Newcombe 1998, method 3)
        lo, hi = proportion_confint(hits, 200, alpha=0.05, method="wilson")
        assert (row["lower"], row["upper"]) == pytest.approx((lo, hi), abs=1e-4)


def test_notebook_view_summarises_coverage_and_uniformity():
    records = _fake_records(200, 99)
    view = SBCResult(records)._repr_html_()
    hits = sum(r["covered"]["slope"]["0.9"] for r in records)
    assert "200 replications" in view and f"{hits / 200:.1%}" in view and "uniformity p" in view
    assert "no replications yet" in SBCResult([])._repr_html_()


def test_plots_are_matplotlib_figures():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    result = SBCResult(_fake_records(60, 19))
    assert result.plot_ranks().axes
    assert result.plot_ecdf_difference().axes


def test_bad_arguments_are_model_errors():
    with pytest.raises(ModelError, match="n_datasets"):
        sbc(MODEL, _tiny_design(), n_datasets=0)


@pytest.mark.slow
def test_sbc_runs_locally_in_parallel_and_resumes(tmp_path):
    data = _tiny_design()
    first = sbc(MODEL, data, n_datasets=2, seed=3, directory=tmp_path, n_rank=19, n_jobs=2, **FIT)
    assert first.n_run == 2 and first.n_skipped == 0
    assert sorted(p.name for p in tmp_path.glob("rep*.json")) == ["rep00000.json", "rep00001.json"]
    ranks = first.ranks
    assert {"slope", "person_sd", "slope_sd_service", "cutpoints[0]", "change_per_year",
            "share_lower_at_closure"} <= set(ranks.columns)
    assert ((ranks >= 0) & (ranks <= 19)).all().all()
    # rerun with more replications: the two on disk are read, not refitted
    second = sbc(MODEL, data, n_datasets=3, seed=3, directory=tmp_path, n_rank=19, n_jobs=1, **FIT)
    assert second.n_skipped == 2 and second.n_run == 1
    pd.testing.assert_frame_equal(second.ranks.iloc[:2], first.ranks)
    record = json.loads((tmp_path / "rep00002.json").read_text())
    assert record["diagnostics"]["n_draws"] == 300
    assert SBCResult.load(tmp_path).ranks.shape[0] == 3


@pytest.mark.slow
def test_sbc_on_a_dask_cluster_on_loopback_gives_the_same_ranks(tmp_path):
    distributed = pytest.importorskip("distributed")
    data = _tiny_design()
    local = sbc(MODEL, data, n_datasets=2, seed=5, n_rank=19, n_jobs=1, **FIT)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = sbc(MODEL, data, n_datasets=2, seed=5, n_rank=19, client=client, **FIT)
        by_address = sbc(MODEL, data, n_datasets=1, seed=5, n_rank=19, client=cluster.scheduler_address, **FIT)
    # the same seeds give the same replications wherever they run
    pd.testing.assert_frame_equal(remote.ranks, local.ranks)
    pd.testing.assert_frame_equal(by_address.ranks, local.ranks.iloc[:1])
