"""Plots of assessments, fitted change models and coder agreement (matplotlib, loaded on first use).

Each function draws on ``ax`` if given, else on a new figure, and returns the
figure. Nothing identifying is drawn: young people are lines without labels,
groups are shown by their (pseudonymous) labels, and counts in the band
transition chart go through :mod:`cseoutcomes.disclosure`.

* :func:`trajectories`: each young person's observed outcome over time, with the
  modelled average trajectory and its interval;
* :func:`change_vs_naive`: the posterior of the share of closed cases at lower
  risk beside the naive figure and its replicated (noise-only) interval;
* :func:`caterpillar`: partially pooled group slopes with intervals;
* :func:`funnel`: groups' observed average change against their number of young
  people, with control limits (Spiegelhalter 2005);
* :func:`band_transitions`: referral band against latest band, counts protected;
* :func:`agreement`: Krippendorff's alpha per code with intervals and the
  0.667 / 0.800 thresholds;
* :func:`score_distribution`: assessments per score value, split by a group
  (e.g. referral and latest), counts protected, bands marked;
* :func:`item_analysis`: corrected item-total correlations and alpha without
  each item, from an instrument evaluation.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cseoutcomes.errors import DataError

if TYPE_CHECKING:
    from cseoutcomes.coding import AgreementResult
    from cseoutcomes.models import ChangeFit

__all__ = ["agreement", "band_transitions", "caterpillar", "change_vs_naive", "funnel", "item_analysis",
           "score_distribution", "trajectories"]


def _axes(ax, figsize=(7, 4.5)):
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is in the plot extra
        raise DataError("plots need matplotlib", hint='pip install "cseoutcomes[plot]"') from None
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _units(fit: ChangeFit) -> str:
    return fit.model.time_unit


def trajectories(fit: ChangeFit, *, n_people: int = 40, seed: int = 0, prob: float = 0.9, ax=None):
    """Observed outcome of a random sample of young people over time, and the modelled average.

    The modelled line is the expected outcome (category position for ordinal
    outcomes) of a young person with average effects at each time, with its
    ``prob`` interval over the posterior; it is where partial pooling puts the
    typical young person, not an average of the lines drawn.
    """
    from cseoutcomes.models import _numeric as num

    d = fit._design
    fig, ax = _axes(ax)
    rng = np.random.default_rng(seed)
    people = np.unique(d.person)
    shown = rng.choice(people, size=min(n_people, len(people)), replace=False)
    jitter = 0.08 if d.family == "ordinal" else 0.0
    for p in shown:
        rows = np.flatnonzero(d.person == p)
        rows = rows[np.argsort(d.t[rows])]
        y = d.y[rows] + rng.uniform(-jitter, jitter) if jitter else d.y[rows]
        ax.plot(d.t[rows], y, color="0.6", alpha=0.5, lw=0.8)
    grid = np.linspace(0, np.quantile(d.t, 0.95), 40)
    slope = fit._draws("slope")
    eta = slope[:, None] * grid[None, :]
    if d.family == "ordinal":
        mean = num.ordinal_expected(eta, fit._draws("cutpoints"))
        ax.set_yticks(range(len(d.categories)), [str(c) for c in d.labels or d.categories])
    else:
        mean = d.y_center + d.y_scale * (fit._draws("intercept")[:, None] + eta)
    lo, hi = np.quantile(mean, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    ax.fill_between(grid, lo, hi, color="C0", alpha=0.25, lw=0, label=f"{prob:.0%} interval")
    ax.plot(grid, mean.mean(axis=0), color="C0", lw=2.5, label="modelled average")
    ax.set_xlabel(f"time since referral ({_units(fit)})")
    ax.set_ylabel(fit.model.outcome)
    ax.set_title("Young people (a random sample) and the modelled average")  # no counts: they are not protected
    ax.legend(loc="best", frameon=False)
    return fig


def change_vs_naive(fit: ChangeFit, *, prob: float = 0.9, ax=None):
    """Posterior of the share of closed cases at lower risk, beside the naive figure and its replicated interval."""
    from cseoutcomes.models.fit import latent_share_lower

    fig, ax = _axes(ax)
    table = fit.proportion_lower_risk(at="closure", prob=prob)
    draws = latent_share_lower(fit._params(), fit._design, at="closure")
    ax.hist(draws, bins=30, color="C0", alpha=0.7, density=True, label="model: latent share (posterior)")
    naive = table.loc["naive", "mean"]
    ax.axvline(naive, color="C3", lw=2, label=f"naive share {naive:.0%}")
    rep = table.loc["replicated"]
    ax.axvspan(rep["lower"], rep["upper"], color="C3", alpha=0.12,
               label=f"naive share, remeasured ({prob:.0%} interval)")
    ax.set_xlabel("share of closed cases at lower risk at closure")
    ax.set_yticks([])
    ax.set_title("Closed cases at lower risk")  # the number of cases is reported, protected, beside the plot
    ax.legend(loc="upper left", frameon=False, fontsize="small")
    return fig


def caterpillar(fit: ChangeFit, level: str = "service", *, per: str = "year", prob: float = 0.9, ax=None):
    """Each group's slope (partially pooled) with its interval, sorted; the average slope as a line."""
    table = fit.by_group(level, prob=prob)
    if "slope_mean" not in table:
        raise DataError(f"the model has no slopes by {level!r}", where="level")
    scale = fit._design.t_per_year if per == "year" else 1.0
    fig, ax = _axes(ax, figsize=(7, max(3, 0.22 * len(table) + 1)))
    y = np.arange(len(table))
    ax.errorbar(table["slope_mean"] * scale, y, xerr=[(table["slope_mean"] - table["slope_lower"]) * scale,
                                                     (table["slope_upper"] - table["slope_mean"]) * scale],
                fmt="o", color="C0", ms=4, lw=1)
    ax.axvline(float(fit._draws("slope").mean()) * scale, color="0.4", ls="--", lw=1, label="average")
    ax.set_yticks(y, table.index)
    ax.set_xlabel(f"change per {per if per == 'year' else _units(fit)[:-1]} (latent scale)")
    ax.set_title(f"{level}: slopes with {prob:.0%} intervals")
    ax.legend(frameon=False)
    return fig


def funnel(fit: ChangeFit, level: str = "service", *, ax=None):
    """Groups' observed average change per year against their size, with 95% and 99.8% control limits.

    For each young person with two or more assessments, the observed change
    per year (outcome scale: category positions or outcome units) from a
    least-squares line through their assessments; per group, the mean over its
    young people. Limits: overall mean +/- z * s / sqrt(n) with s the SD across
    young people, z = 1.96 and 3.09 (Spiegelhalter 2005, "Funnel plots for
    comparing institutional performance", Statistics in Medicine 24:1185-1202).
    Points outside are groups whose difference is larger than chance alone
    explains; the caterpillar plot shows the model's shrunken view of the same.
    """
    d = fit._design
    if level not in d.groups:
        raise DataError(f"{level!r} is not a grouping level of this model", where="level")
    frame = pd.DataFrame({"p": d.person, "t": d.t / d.t_per_year, "y": d.y.astype(float),
                          "g": d.groups[level].index})
    rates = []
    for p, rows in frame.groupby("p"):
        if rows["t"].nunique() > 1:
            rates.append((p, rows["g"].iloc[0], np.polyfit(rows["t"], rows["y"], 1)[0]))
    if len(rates) < 3:
        raise DataError("a funnel plot needs young people with two or more assessments at different times")
    per = pd.DataFrame(rates, columns=["p", "g", "rate"])
    target, s = per["rate"].mean(), per["rate"].std(ddof=1)
    groups = per.groupby("g")["rate"].agg(["mean", "size"])
    fig, ax = _axes(ax)
    n = np.linspace(1, groups["size"].max() * 1.05, 200)
    for z, style in ((1.96, "--"), (3.09, ":")):
        ax.plot(n, target + z * s / np.sqrt(n), color="0.4", ls=style, lw=1)
        ax.plot(n, target - z * s / np.sqrt(n), color="0.4", ls=style, lw=1,
                label=f"{'95' if z < 2 else '99.8'}% limits")
    ax.axhline(target, color="0.2", lw=1)
    ax.scatter(groups["size"], groups["mean"], color="C0", zorder=3)
    ax.set_xlabel(f"young people in the {level}")
    ax.set_ylabel("observed change per year")
    ax.set_title(f"Funnel plot by {level}")
    ax.legend(frameon=False, fontsize="small")
    return fig


def band_transitions(fit: ChangeFit, *, closed_only: bool = True, policy: str = "nhs", ax=None):
    """Band at referral against band at the latest assessment, as a table of counts after disclosure control.

    Cells below the policy's threshold (and their complements) show the
    policy's symbol; published counts are rounded (:func:`cseoutcomes.disclosure.protect`).
    """
    from cseoutcomes.disclosure import protect
    from cseoutcomes.models.design import first_and_last

    d = fit._design
    if d.family != "ordinal":
        raise DataError("band transitions need an ordinal outcome (bands or an item)", where="outcome")
    first, last, n = first_and_last(d)
    keep = n > 1
    if closed_only and d.person_closed is not None:
        keep &= d.person_closed
    labels = [str(x) for x in (d.labels or d.categories)]
    counts = pd.crosstab(pd.Categorical(d.y[first[keep]], categories=range(len(labels))),
                         pd.Categorical(d.y[last[keep]], categories=range(len(labels))), dropna=False)
    counts.index, counts.columns = labels, labels
    safe = protect(counts, policy, margins=False)
    fig, ax = _axes(ax, figsize=(5.5, 4.5))
    shade = np.where(safe.suppressed.to_numpy(), 0, counts.to_numpy())
    ax.imshow(shade, cmap="Blues")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(safe.table.iat[i, j]), ha="center", va="center",
                    color="white" if shade[i, j] > shade.max() / 2 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("latest band")
    ax.set_ylabel("band at referral")
    ax.set_title(("closed cases" if closed_only else "young people") + f" ({safe.policy.name} disclosure control)")
    return fig


def agreement(result: AgreementResult, *, ax=None):
    """Krippendorff's alpha per code with its bootstrap interval, and the 0.667 and 0.800 thresholds."""
    table = result.by_code.dropna(subset=["alpha"])
    if table.empty:
        raise DataError("no code has a defined alpha (every code applied everywhere or nowhere)")
    fig, ax = _axes(ax, figsize=(7, max(3, 0.3 * len(table) + 1)))
    y = np.arange(len(table))
    lo = (table["alpha"] - table["alpha_lower"]).clip(lower=0).fillna(0)
    hi = (table["alpha_upper"] - table["alpha"]).clip(lower=0).fillna(0)
    ax.errorbar(table["alpha"], y, xerr=[lo, hi], fmt="o", color="C0", ms=4, lw=1)
    ax.axvline(0.667, color="C1", ls="--", lw=1, label="0.667 tentative")
    ax.axvline(0.8, color="C2", ls="--", lw=1, label="0.800 reliable")
    ax.set_yticks(y, table.index)
    ax.set_xlabel("Krippendorff's alpha")
    ax.set_title(f"Coder agreement by code ({result.unit} level)")
    ax.legend(frameon=False, fontsize="small")
    return fig


def score_distribution(scores: pd.DataFrame | pd.Series, instrument=None, score: str | None = None, *,
                       by: pd.Series | None = None, policy: str = "nhs", ax=None):
    """How many assessments had each score, after disclosure control, with the instrument's bands marked.

    ``scores`` is a score column or a table from :func:`cseoutcomes.score`
    (``score`` picks the column; default the instrument's first score). ``by``
    splits the assessments into groups drawn side by side (e.g. "referral" and
    "latest"). Counts per score value go through :func:`cseoutcomes.disclosure.protect`
    with ``by`` as columns (bins are widened until at most a fifth of the
    non-zero counts are small enough to be suppressed): rounded
    counts are drawn, and a suppressed count is drawn as a hatched column the
    full height of the plot, so its size cannot be read off.
    """
    from cseoutcomes.disclosure import _policy, protect
    from cseoutcomes.instruments.registry import get_instrument

    inst = get_instrument(instrument) if isinstance(instrument, str) else instrument
    spec = None
    if inst is not None:
        score = score or inst.scores[0].id
        spec = next((s for s in inst.scores if s.id == score), None)
        if spec is None:
            raise DataError(f"instrument {inst.key!r} has no score {score!r}", where="score",
                            hint=f"use one of {[s.id for s in inst.scores]}")
    if isinstance(scores, pd.DataFrame):
        if score is None or score not in scores.columns:
            raise DataError(f"the table has no score column {score!r}", where="score",
                            hint="pass the output of cseoutcomes.score, or name the column with score=")
        values = scores[score]
    else:
        values = scores
        score = score or str(values.name)
    values = pd.to_numeric(values, errors="coerce")
    groups = (pd.Series("all assessments", index=values.index) if by is None
              else pd.Series(by, index=values.index).astype("string").fillna("(none)"))
    keep = values.notna()
    values, groups = values[keep], groups[keep]
    if values.empty:
        raise DataError(f"no assessment has a {score} score to plot", where=score)
    if spec is not None:
        lo, hi, _ = inst.score_range(spec)
    else:
        lo, hi = float(values.min()), float(values.max())
    whole = bool(np.all(values == np.round(values)))
    order = list(dict.fromkeys(groups))
    pol = _policy(policy)
    width = 1.0 if whole else (hi - lo) / 30
    while True:  # widen the bins until few counts would be suppressed (or 4 bins are left)
        start = np.floor(lo) - 0.5 if whole else lo
        edges = start + width * np.arange(int(np.ceil((max(hi, values.max()) - start) / width)) + 1)
        if edges[-1] <= values.max():
            edges = np.append(edges, edges[-1] + width)
        counts = np.column_stack([np.histogram(values[groups == g], bins=edges)[0] for g in order])
        small = ((counts > 0) & (counts < pol.threshold)).sum() / max((counts > 0).sum(), 1)
        if small <= 0.2 or len(edges) <= 5:
            break
        width *= 2
    counts = pd.DataFrame(counts, columns=order,
                          index=[f"{a:g}-{b:g}" for a, b in pairwise(edges)])
    safe = protect(counts, policy, margins=False)
    published = safe.table.apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy(float)
    hidden = safe.suppressed.to_numpy()
    fig, ax = _axes(ax, figsize=(8, 4.2))
    width = np.diff(edges)
    top = max(published.max(), 1.0) * 1.08
    k = len(order)
    for j, g in enumerate(order):
        left = edges[:-1] + width * j / k
        ax.bar(left, np.where(hidden[:, j], 0, published[:, j]), width=width / k, align="edge",
               color=f"C{j}", alpha=0.85, label=str(g))
        if hidden[:, j].any():
            ax.bar(left[hidden[:, j]], top, width=(width / k)[hidden[:, j]], align="edge", color="none",
                   edgecolor="0.6", hatch="///", lw=0, label="suppressed (count hidden)" if j == 0 else None)
    if spec is not None:
        for band in spec.bands:
            ax.axvline(band.min - (0.5 if whole else 0), color="0.3", lw=0.8, ls=":")
            ax.text(band.min - (0.5 if whole else 0), top * 0.98, f"{band.code} ", va="top", ha="right",
                    rotation=90, fontsize="small", color="0.3")
    ax.set_ylim(0, top)
    ax.set_xlabel(score + (f" ({inst.key})" if inst is not None else ""))
    ax.set_ylabel(f"assessments (rounded to {safe.policy.round_to})" if safe.policy.round_to else "assessments")
    ax.set_title(f"Distribution of {score} ({safe.policy.name} disclosure control)")
    ax.legend(frameon=False, fontsize="small")
    return fig


ITEM_TOTAL_MIN = 0.3
"""Corrected item-total correlation below which an item is flagged (the common rule of thumb of 0.30;
Nunnally & Bernstein 1994, Psychometric Theory, 3rd ed., ch. 8)."""


def item_analysis(evidence, scope: str | None = None, *, ax=None):
    """Item analysis of one scope of an :class:`~cseoutcomes.psychometrics.EvidenceReport`.

    Left: each item's corrected item-total correlation, with the 0.30 rule of
    thumb (:data:`ITEM_TOTAL_MIN`). Right: Cronbach's alpha of the scope
    without the item, against the scope's alpha with every item (an item whose
    removal raises alpha is drawn in orange). Given ``ax``, only the left panel
    is drawn on it.
    """
    if not evidence.items:
        raise DataError("the evidence has no item analysis (no score or domain with two or more items)")
    scope = scope or next(iter(evidence.items))
    if scope not in evidence.items:
        raise DataError(f"no item analysis for scope {scope!r}", where="scope",
                        hint=f"use one of {list(evidence.items)}")
    table = evidence.items[scope].table
    rows = evidence.table[(evidence.table["scope"] == scope) & (evidence.table["statistic"] == "cronbach_alpha")]
    alpha = float(rows["estimate"].iloc[0]) if len(rows) else np.nan
    if ax is None:
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, sharey=True, layout="constrained",
                                          figsize=(9, max(3.0, 0.28 * len(table) + 1.2)))
    else:
        fig, left, right = ax.figure, ax, None  # one axes: the item-total correlations only
    y = np.arange(len(table))[::-1]
    r = table["item_total_r"].to_numpy(float)
    left.barh(y, r, color=np.where(r < ITEM_TOTAL_MIN, "C1", "C0"))
    left.axvline(ITEM_TOTAL_MIN, color="0.3", ls="--", lw=1)
    left.axvline(0, color="0.6", lw=0.6)
    left.set_yticks(y, table.index)
    left.set_xlabel(f"corrected item-total r (dashed: {ITEM_TOTAL_MIN:.2f})")
    if right is not None:
        aid = table["alpha_if_deleted"].to_numpy(float)
        right.scatter(aid, y, color=np.where(aid > alpha, "C1", "C0"), zorder=3, s=18)
        if np.isfinite(alpha):
            right.axvline(alpha, color="0.3", ls="--", lw=1)
        right.set_xlabel("alpha without the item" + (f" (dashed: all, {alpha:.2f})" if np.isfinite(alpha) else ""))
    fig.suptitle(f"Item analysis: {scope}")
    return fig
