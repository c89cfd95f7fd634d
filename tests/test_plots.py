"""Every plot renders (to PNG, headless) from a small fit, and nothing identifying is drawn."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from cseoutcomes import plots  # noqa: E402
from cseoutcomes.errors import ConvergenceWarning, DataError  # noqa: E402


def _render(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


@pytest.fixture(scope="module")
def fit():
    from cseoutcomes.models import ChangeModel
    from cseoutcomes.simulate import hub_and_spoke

    sim = hub_and_spoke(seed=5, n_hubs=3, n_areas=4, n_workers=6)
    model = ChangeModel(instrument="cse-risk-indicators", outcome="total_band",
                        groups={"service": "service", "worker": "worker"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(sim.assessments, draws=150, tune=150, seed=1, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("draw", [
    lambda f: plots.trajectories(f, n_people=20),
    lambda f: plots.change_vs_naive(f),
    lambda f: plots.caterpillar(f, "worker"),
    lambda f: plots.funnel(f, "service"),
    lambda f: plots.band_transitions(f),
])
def test_model_plots_render(fit, draw):
    fig = draw(fit)
    assert _render(fig).startswith(b"\x89PNG")
    texts = " ".join(t.get_text() for ax in fig.axes for t in [*ax.texts, ax.title])
    assert "YP0" not in texts  # no young person's identifier


@pytest.mark.slow
def test_band_transitions_go_through_disclosure_control(fit):
    fig = plots.band_transitions(fit, policy="safe_room")
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert all(c == "*" or int(c) >= 10 for c in cells)  # nothing under 10 shown
    with pytest.raises(DataError, match="not a grouping level"):
        plots.funnel(fit, "area")


def test_agreement_plot_renders_and_refuses_no_variation():
    from cseoutcomes.coding import CodedSegments, agreement

    rng = np.random.default_rng(1)
    rows = [{"source": f"c{i}", "coder": c, "code": code}
            for i in range(20) for code in ("disclosure", "recovery") for c in ("A", "B")
            if rng.uniform() < 0.5] + [{"source": f"c{i}", "coder": c, "code": "trust_building"}
                                        for i in range(20) for c in ("A", "B")]
    result = agreement(CodedSegments.from_frame(pd.DataFrame(rows), "practice-codebook"), n_boot=50)
    fig = plots.agreement(result)
    assert _render(fig).startswith(b"\x89PNG")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "trust_building" not in labels  # alpha undefined: no variation, not drawn
    only = CodedSegments.from_frame(pd.DataFrame([r for r in rows if r["code"] == "trust_building"]),
                                    "practice-codebook")
    with pytest.raises(DataError, match="no code has a defined alpha"):
        plots.agreement(agreement(only, n_boot=10))


def test_score_distribution_draws_protected_counts_and_the_bands():
    """Bars are the NHS-protected counts (rounded to 5; 1-7 suppressed, with a complement), bands marked."""
    from cseoutcomes import get_instrument

    inst = get_instrument("cse-risk-indicators")
    counts = {v: 20 + 3 * v for v in range(0, 12)} | {12: 3}  # one small count among twelve
    values = pd.Series([v for v, k in counts.items() for _ in range(k)], name="total")
    fig = plots.score_distribution(values, inst, score="total")
    ax = fig.axes[0]
    solid = [p for p in ax.patches if p.get_hatch() is None and p.get_height() > 0]
    hidden = [p for p in ax.patches if p.get_hatch() == "///"]
    heights = {round(p.get_x() + 0.5): p.get_height() for p in solid}
    assert len(hidden) == 2  # the 3, and one more so it cannot be recovered from the total
    assert 12 not in heights
    for v, h in heights.items():
        assert h == 5 * np.floor(counts[v] / 5 + 0.5)  # NHS rounding to the nearest 5
    band_lines = sorted(round(line.get_xdata()[0] + 0.5, 6) for line in ax.lines)
    assert band_lines == sorted(b.min for b in inst.get_score("total").bands)
    assert _render(fig).startswith(b"\x89PNG")


def test_score_distribution_widens_bins_for_small_groups_and_splits_by_group():
    rng = np.random.default_rng(0)
    values = pd.Series(rng.integers(0, 40, 120), name="total")
    by = pd.Series(np.where(np.arange(120) < 60, "referral", "latest"))
    fig = plots.score_distribution(values, "cse-risk-indicators", by=by)
    ax = fig.axes[0]
    widths = {round(p.get_width(), 6) for p in ax.patches if p.get_hatch() is None}
    assert min(widths) > 0.5  # two groups side by side, bins wider than one point (120 scores over 40 values)
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"referral", "latest"}
    with pytest.raises(DataError, match="has no score 'nope'"):
        plots.score_distribution(values, "cse-risk-indicators", score="nope")
    with pytest.raises(DataError, match="no assessment has a total score"):
        plots.score_distribution(values * np.nan, "cse-risk-indicators")


def test_item_analysis_draws_item_total_correlations_and_alpha_if_deleted():
    from cseoutcomes import get_instrument, validate
    from cseoutcomes.psychometrics import evaluate
    from cseoutcomes.simulate import hub_and_spoke

    sim = hub_and_spoke(seed=2, n_hubs=3, n_areas=4, n_workers=6)
    inst = get_instrument("cse-risk-indicators")
    evidence = evaluate(inst, validate(sim.assessments, inst, today=sim.programme.end).valid, omega=False)
    scope = "domain:moderate"
    fig = plots.item_analysis(evidence, scope)
    left, right = fig.axes
    table = evidence.items[scope].table
    widths = [p.get_width() for p in left.patches]
    assert np.allclose(widths, table["item_total_r"].to_numpy())
    ticks = dict(zip(left.get_yticks(), (t.get_text() for t in left.get_yticklabels()), strict=True))
    assert [ticks[y] for y in sorted(ticks, reverse=True)] == list(table.index)  # first item on top
    assert np.allclose(np.sort(right.collections[0].get_offsets()[:, 0]), np.sort(table["alpha_if_deleted"]))
    assert _render(fig).startswith(b"\x89PNG")
    with pytest.raises(DataError, match="no item analysis for scope 'score:nope'"):
        plots.item_analysis(evidence, "score:nope")
