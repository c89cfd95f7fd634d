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
