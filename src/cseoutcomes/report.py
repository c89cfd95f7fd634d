"""Self-contained HTML pages, safe to share: a model fit, a validation run, an instrument evaluation.

:func:`validation_report` shows what is wrong with a service's file and what
its scores look like; :func:`evaluation_report` the reliability and item
analysis of an instrument on the data. :func:`fit_report` puts the headline (the naive share of closed cases at lower
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

__all__ = ["evaluation_report", "fit_report", "validation_report"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;color:#1d1d1f;max-width:62rem;
padding:0 1rem;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
.headline{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{flex:1 1 14rem;border:1px solid #ddd;border-radius:.5rem;padding:.8rem 1rem}
.card .v{font-size:1.6rem;font-weight:600} .card .l{color:#555;font-size:.9rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}
th,td{border-bottom:1px solid #e4e4e8;padding:.25rem .55rem;text-align:right;font-variant-numeric:tabular-nums}
th,td:first-child,td.t{text-align:left} th{background:#f4f4f6} td{white-space:nowrap} td.t:last-child{white-space:normal}
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
            text = "" if not np.isfinite(v) else f"{v:.{digits}g}" if abs(v) >= 1e4 else f"{v:.{digits}f}"
            return f"<td>{text}</td>"
        if isinstance(v, int | np.integer):
            return f"<td>{v}</td>"
        text = escape(str(v))
        return f"<td>{text}</td>" if len(text) <= 2 else f'<td class="t">{text}</td>'  # symbols stay right

    head = "".join(f"<th>{escape(str(c))}</th>" for c in [frame.index.name or "", *frame.columns])
    rows = "".join("<tr>" + f"<td>{escape(str(i))}</td>" + "".join(cell(v) for v in row) + "</tr>"
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
    count = _counter(pol)
    d = fit._design

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
        per_year = table[cols].copy()  # per year, as the caterpillar plot above
        for c in ("slope_mean", "slope_lower", "slope_upper"):
            if c in per_year:
                per_year[c] = per_year[c] * d.t_per_year
        safe = protect_statistics(per_year.reset_index(), "n_people", [c for c in cols if c != "n_people"],
                                  pol).set_index(level)
        safe = safe.rename(columns={"slope_mean": "change per year", "slope_lower": "lower",
                                    "slope_upper": "upper"})
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
    subtitle = (f"{escape(fit.model.describe())}<br>{count(d.n)} assessments of {count(len(d.person_labels))} "
                f"young people. Intervals are {prob:.0%} equal-tailed posterior intervals.")
    return _page(title or f"Change in {fit.model.outcome}", subtitle, sections, pol, path)


def _page(heading: str, subtitle: str, sections: list[str], pol, path: str | Path | None) -> str:
    """The self-contained page every report shares; written to ``path`` if given. ``subtitle`` is HTML."""
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(heading)}</title><style>{_CSS}</style></head>
<body>
<h1>{escape(heading)}</h1>
<p class="muted">{subtitle}</p>
{"".join(sections)}
<p class="muted">Disclosure control: {escape(pol.source or pol.name)}. Cells shown as {escape(pol.symbol)} are
suppressed. Made by cseoutcomes; no identifier or free-text value is shown.</p>
</body></html>
"""
    if path is not None:
        from cseoutcomes.data.io import write_text

        write_text(html, path)
    return html


def _counter(pol):
    """One count through disclosure control (suppressed when small, rounded), as text."""
    return lambda n: str(protect(pd.DataFrame({"n": [int(n)]}), pol, margins=False).table.iat[0, 0])


def _plot_or_note(draw, *args, **kwargs) -> str:
    """A plot as an inline image, or a line saying why there is none (no matplotlib, or nothing to plot)."""
    from cseoutcomes.errors import DataError

    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
    except ImportError:
        return '<p class="muted">No plot: plots need matplotlib (pip install "cseoutcomes[plot]").</p>'
    try:
        return _png(draw(*args, **kwargs))
    except DataError as exc:
        return f'<p class="muted">No plot: {escape(str(exc))}</p>'


_ISSUE_LIMIT = 200


def validation_report(report, path: str | Path | None = None, *, title: str | None = None, policy: str = "nhs",
                      issues: bool = True) -> str:
    """One self-contained HTML page for a validation run (:func:`cseoutcomes.validate`); returns the HTML.

    The headline counts (rows, valid, quarantined), the problems by rule and
    the bands at referral and latest go through disclosure control; the score
    distribution of the valid rows is drawn from protected counts. With
    ``issues=True`` (the default, for the data owner fixing the file) the first
    200 problems are listed by spreadsheet row and column; messages never
    contain identifier or free-text values. Pass ``issues=False`` for a page to
    share beyond the data owner. Without matplotlib the page has no plots.
    """
    from cseoutcomes import plots

    pol = _policy(policy)
    count = _counter(pol)
    inst = report.instrument
    n_err, n_warn = len(report.errors), len(report.warnings)
    status = ('<p class="ok">No errors: every row can be used.</p>' if report.ok else
              f'<p class="bad">{count(report.n_quarantined)} rows have errors and were quarantined; fix them in the '
              "file and validate again.</p>")
    cards = (f'<div class="headline"><div class="card"><div class="v">{count(report.n_rows)}</div>'
             '<div class="l">rows read</div></div>'
             f'<div class="card"><div class="v">{count(report.n_valid)}</div><div class="l">valid rows</div></div>'
             f'<div class="card"><div class="v">{count(report.n_quarantined)}</div>'
             '<div class="l">quarantined rows (errors)</div></div>'
             f'<div class="card"><div class="v">{count(n_err)} / {count(n_warn)}</div>'
             '<div class="l">errors / warnings</div></div></div>')
    sections = ["<h2>Summary</h2>" + cards + status]
    summary = report.summary()
    if not summary.empty:
        by_rule = summary.set_index("rule")
        issues_safe = protect(by_rule[["issues"]], pol, margins=True).table
        rows_safe = protect(by_rule[["rows"]], pol, margins=False).table
        table = pd.DataFrame({"severity": [*by_rule["severity"], ""], "issues": issues_safe["issues"].to_numpy(),
                              "rows": [*rows_safe["rows"], ""], "checks": [*by_rule["checks"].fillna(""), ""]},
                             index=pd.Index([*by_rule.index, "Total"], name="rule"))
        sections.append("<h2>Problems by rule</h2>" + _table(table))
    if issues and not report.issues.empty:
        shown = report.issues.head(_ISSUE_LIMIT)
        listing = pd.DataFrame({
            "column": shown["column"].astype("object").where(shown["column"].notna(), "").to_numpy(),
            "rule": shown["rule"].astype(str).to_numpy(), "severity": shown["severity"].astype(str).to_numpy(),
            "message": shown["message"].astype(str).to_numpy()},
            index=pd.Index([("" if pd.isna(r) else f"{int(r):,}") for r in shown["row"]], name="row"))
        more = (f'<p class="muted">The first {_ISSUE_LIMIT} of {len(report.issues):,} problems; '
                "<code>cseoutcomes validate --json</code> lists them all.</p>") if len(report.issues) > _ISSUE_LIMIT \
            else ""
        sections.append("<h2>Problems, row by row</h2><p class=\"muted\">For the data owner: rows are numbered as in "
                        "the spreadsheet (the header is row 1). Leave this section out (<code>issues=False</code>, "
                        "<code>--no-issue-list</code>) before sharing the page further.</p>" + _table(listing) + more)
    scored = _first_and_latest(report)
    if scored is not None:
        values, occasion, band_table = scored
        sections.append("<h2>Scores of the valid rows</h2>"
                        + _plot_or_note(plots.score_distribution, values, inst, by=occasion, policy=policy))
        if band_table is not None:
            safe = protect(band_table, pol, margins=True)
            sections.append("<h2>Bands at referral and at the latest assessment</h2><p class=\"muted\">Young people "
                            "with two or more valid assessments; rows: band at referral, columns: latest band.</p>"
                            + _table(safe.table) + f'<p class="muted">{escape("; ".join(safe.notes))}.</p>')
    reading = "".join(f"<li>{escape(n)}</li>" for n in report.notes) or "<li>Nothing to note.</li>"
    roles = "".join(f"<li>{escape(line)}</li>" for line in report.roles.describe())
    sections.append(f"<h2>How the file was read</h2><ul>{reading}</ul><h2>Columns</h2><ul>{roles}</ul>")
    subtitle = (f"{escape(report.source or 'Assessment data')} against {escape(inst.title)} ({escape(inst.key)}), "
                f"{count(report.n_rows)} rows.")
    return _page(title or f"Validation against {inst.key}", subtitle, sections, pol, path)


def _first_and_latest(report):
    """The first score of the valid rows, labelled referral / later, and a referral-by-latest band table."""
    inst = report.instrument
    if report.scores is None or not inst.scores or report.n_valid == 0:
        return None
    score = inst.scores[0].id
    valid = report.valid
    values = report.scores.loc[valid.index, score]
    person, date = report.roles.column("person"), report.roles.column("date")
    if person is None or date is None:
        return values, None, None
    when = pd.to_datetime(valid[date], errors="coerce")
    order = pd.DataFrame({"p": valid[person].to_numpy(), "t": when.to_numpy()}, index=valid.index).dropna()
    order = order.sort_values(["p", "t"], kind="stable")
    first = ~order["p"].duplicated(keep="first")
    occasion = pd.Series("later assessments", index=valid.index)
    occasion[order.index[first.to_numpy()]] = "referral (first assessment)"
    occasion[~valid.index.isin(order.index)] = "no date"
    band_col = f"{score}_band"
    if band_col not in report.scores or not inst.scores[0].bands:
        return values, occasion, None
    bands = report.scores.loc[order.index, band_col]
    last = ~order["p"].duplicated(keep="last")
    several = order["p"].map(order["p"].value_counts()) > 1
    labels = [b.code for b in inst.scores[0].bands]
    at_first = pd.Categorical(bands[(first & several).to_numpy()].to_numpy(), categories=labels)
    at_last = pd.Categorical(bands[(last & several).to_numpy()].to_numpy(), categories=labels)
    table = pd.crosstab(at_first, at_last, dropna=False).reindex(index=labels, columns=labels, fill_value=0)
    table.index.name, table.columns.name = "referral", "latest"
    return values, occasion, table


def evaluation_report(evidence, path: str | Path | None = None, *, title: str | None = None,
                      policy: str = "nhs") -> str:
    """One self-contained HTML page for an instrument evaluation (:func:`cseoutcomes.psychometrics.evaluate`).

    Statistics based on fewer people than the policy allows are suppressed and
    every ``n`` is protected as a count (:func:`cseoutcomes.disclosure.protect_statistics`);
    each scope's item analysis is drawn and tabled the same way. Without
    matplotlib the page has no plots. :meth:`EvidenceReport.to_html
    <cseoutcomes.psychometrics.EvidenceReport.to_html>` writes this page.
    """
    from cseoutcomes import plots

    pol = _policy(policy)
    inst = evidence.instrument
    stats = evidence.table[["scope", "statistic", "estimate", "ci_lower", "ci_upper", "n"]].copy()
    stats["n"] = pd.to_numeric(stats["n"], errors="coerce").fillna(0).astype(int)
    safe = protect_statistics(stats, "n", ["estimate", "ci_lower", "ci_upper"], pol, additive=False).set_index("scope")
    sections = ["<h2>Reliability and agreement on these data</h2>" + _table(safe)
                + '<p class="muted">Intervals are 95% unless the method says otherwise; methods are listed below.</p>']
    if not evidence.declared.empty:
        sections.append("<h2>Beside the evidence the definition declares</h2>"
                        + _table(evidence.declared.set_index(evidence.declared.columns[0])))
    for scope, result in evidence.items.items():
        items = result.table.reset_index()
        items["n"] = pd.to_numeric(items["n"], errors="coerce").fillna(0).astype(int)
        shown = protect_statistics(items, "n", [c for c in items.columns if c not in ("item", "n")], pol,
                                   additive=False)
        sections.append(f"<h2>Items: {escape(scope)}</h2>" + _plot_or_note(plots.item_analysis, evidence, scope)
                        + _table(shown.set_index(shown.columns[0])))
    methods = evidence.table[["scope", "statistic", "method"]].drop_duplicates()
    notes = "".join(f"<li>{escape(n)}</li>" for n in evidence.notes)
    sections.append("<h2>Methods and notes</h2>" + _table(methods.set_index("scope")) + f"<ul>{notes}</ul>")
    subtitle = (f"{escape(inst.title)} ({escape(inst.key)}, version {escape(str(inst.version))}). n is the number "
                "of assessments or pairs each statistic rests on.")
    return _page(title or f"Evidence for {inst.key}", subtitle, sections, pol, path)
