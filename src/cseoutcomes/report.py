"""One self-contained HTML page for a fitted change model, safe to share.

:func:`fit_report` puts the headline (the naive share of closed cases at lower
risk beside the model's estimate, with the assumption it rests on), the change
per year, drop-out and regression to the mean, the groups, the plots and the
convergence checks on one page. Images are inline PNGs and there are no scripts
or external assets, so the file opens offline and can be emailed. Every count
and every group statistic goes through :mod:`cseoutcomes.disclosure` first.
"""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cseoutcomes.disclosure import _policy, protect, protect_statistics
from cseoutcomes.errors import ModelError

if TYPE_CHECKING:
    from cseoutcomes.models import ChangeFit

__all__ = ["fit_report"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;color:#1d1d1f;max-width:62rem;
padding:0 1rem;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
.headline{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{flex:1 1 14rem;border:1px solid #ddd;border-radius:.5rem;padding:.8rem 1rem}
.card .v{font-size:1.6rem;font-weight:600} .card .l{color:#555;font-size:.9rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}
th,td{border-bottom:1px solid #e4e4e8;padding:.25rem .55rem;text-align:right;font-variant-numeric:tabular-nums}
th:first-child,td:first-child{text-align:left} th{background:#f4f4f6}
img{max-width:100%;height:auto} .muted{color:#666;font-size:.85rem} .ok{color:#155724} .bad{color:#8a1c1c}
"""


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode("ascii")}">'


def _pct(x: float) -> str:
    return "" if x is None or not np.isfinite(x) else f"{x:.0%}"


def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    def cell(v) -> str:
        if isinstance(v, float | np.floating):
            return "" if not np.isfinite(v) else f"{v:.{digits}g}" if abs(v) >= 1e4 else f"{v:.{digits}f}"
        return escape(str(v))

    head = "".join(f"<th>{escape(str(c))}</th>" for c in [frame.index.name or "", *frame.columns])
    rows = "".join("<tr>" + f"<td>{escape(str(i))}</td>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for i, row in zip(frame.index, frame.to_numpy(), strict=True))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def fit_report(fit: ChangeFit, path: str | Path | None = None, *, title: str | None = None, prob: float = 0.9,
               policy: str = "nhs") -> str:
    """Build the HTML report of a fit; write it to ``path`` if given. Returns the HTML.

    ``policy`` is the disclosure-control convention for every count and group
    statistic (:data:`cseoutcomes.disclosure.POLICIES`).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from cseoutcomes import plots

    pol = _policy(policy)
    d = fit._design

    def count(n: int) -> str:
        return str(protect(pd.DataFrame({"n": [int(n)]}), pol, margins=False).table.iat[0, 0])

    sections: list[str] = []
    share = fit.proportion_lower_risk(at="closure", prob=prob) if d.person_closed is not None and \
        d.person_closed.any() else None
    cards = ""
    if share is not None:
        naive, latent, rep = share.loc["naive"], share.loc["latent"], share.loc["replicated"]
        n_closed = int(share["n_cases"].iloc[0])
        cards = (f'<div class="headline"><div class="card"><div class="v">{_pct(naive["mean"])}</div>'
                 f'<div class="l">naive share of closed cases at lower risk (last band below referral band)</div></div>'
                 f'<div class="card"><div class="v">{_pct(latent["mean"])} '
                 f'<span class="l">[{_pct(latent["lower"])}, {_pct(latent["upper"])}]</span></div>'
                 f'<div class="l">model: share whose latent risk band fell ({prob:.0%} interval)</div></div>'
                 f'<div class="card"><div class="v">{_pct(rep["lower"])}&ndash;{_pct(rep["upper"])}</div>'
                 f'<div class="l">where the naive share would fall if the same young people were assessed '
                 f'again: noise alone</div></div></div>'
                 f'<p class="muted">Closed cases: {count(n_closed)}.</p>')
        sections.append("<h2>Closed cases at lower risk</h2>" + cards + _png(plots.change_vs_naive(fit, prob=prob)))
        if d.person_closure_time is not None:
            try:
                at = fit.share_lower_at_closure(prob=prob)
                tip = fit.tipping_point(prob=prob)
                sections.append(
                    f"<p>At the closure date: {_pct(at['mean'].iloc[0])} [{_pct(at['lower'].iloc[0])}, "
                    f"{_pct(at['upper'].iloc[0])}], assuming {escape(at.attrs['assumption'])}. "
                    f"{escape(tip.attrs['statement'])}</p>")
            except ModelError:  # no closed case has a closure date: the section is skipped
                pass
    change = fit.change(prob=prob)
    sections.append("<h2>Change over time</h2>" + _table(change.reset_index().set_index("scale"), 3)
                    + _png(plots.trajectories(fit, prob=prob)))
    if fit.model.dropout is not None:
        hz = fit.closure_hazards(prob=prob)
        hz["n_closures"] = [count(n) for n in hz["n_closures"]]
        sections.append("<h2>When and why cases closed (joint drop-out model)</h2>"
                        + _table(hz[["n_closures", "rate_per_year", "hazard_ratio_worse", "hr_lower", "hr_upper",
                                     "in_words"]], 3))
    rtm = fit.regression_to_the_mean(prob=prob)
    sections.append("<h2>Regression to the mean</h2>" + _table(rtm[["mean", "lower", "upper"]], 3)
                    + f'<p class="muted">{escape(rtm.attrs.get("assumption", ""))}</p>')
    for level in fit.model.slope_levels:
        if level not in d.groups:
            continue
        table = fit.by_group(level, prob=prob)
        cols = [c for c in ("n_people", "slope_mean", "slope_lower", "slope_upper", "p_better") if c in table]
        safe = protect_statistics(table[cols].reset_index(), "n_people", [c for c in cols if c != "n_people"],
                                  pol).set_index(level)
        sections.append(f"<h2>By {escape(level)}</h2>" + _png(plots.caterpillar(fit, level, prob=prob))
                        + _table(safe, 3))
    if d.family == "ordinal":
        sections.append("<h2>Bands at referral and latest</h2>" + _png(plots.band_transitions(fit, policy=policy)))
    diag = fit.diagnostics(warn=False)
    problems = fit._problems(diag)
    status = ('<p class="ok">Every convergence check passed.</p>' if not problems else
              '<p class="bad">Convergence checks failed: ' + escape("; ".join(problems))
              + ". Refit with more draws (or target_ess=400) before relying on these numbers.</p>")
    sections.append("<h2>Checks</h2>" + status + _table(diag[["r_hat", "ess_bulk", "ess_tail"]], 3))
    heading = title or f"Change in {fit.model.outcome}"
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(heading)}</title><style>{_CSS}</style></head>
<body>
<h1>{escape(heading)}</h1>
<p class="muted">{escape(fit.model.describe())}<br>{count(d.n)} assessments of {count(len(d.person_labels))} young
people. Intervals are {prob:.0%} equal-tailed posterior intervals.</p>
{"".join(sections)}
<p class="muted">Disclosure control: {escape(pol.source or pol.name)}. Cells shown as {escape(pol.symbol)} are
suppressed. Made by cseoutcomes; no identifier or free-text value is shown.</p>
</body></html>
"""
    if path is not None:
        from cseoutcomes.data.io import write_text

        write_text(html, path)
    return html
