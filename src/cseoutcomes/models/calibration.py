"""Simulation-based calibration (SBC) of a change model (Talts et al. 2018; Modrák et al. 2023).

For each replication: draw every parameter from the model's priors, simulate
outcomes on the design of a real table (same young people, times and groups),
fit the model, and record, for each estimand, the rank of the true value among
``n_rank`` thinned posterior draws and whether the central 50/80/90/95%
intervals covered it (by the randomised PIT, so a discrete estimand such as a
share of young people is not over-covered by ties). If the model and the sampler are right, ranks are uniform
on 0..n_rank and coverage is nominal.

Replications run in parallel over local processes, or on an existing Dask
cluster (``client=`` a ``distributed.Client`` or a scheduler address). Every
finished replication is written to ``directory`` as one small JSON file, and a
rerun skips the replications already there, so a long study can be stopped and
resumed, or re-summarised without refitting.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cseoutcomes.errors import ModelError

if TYPE_CHECKING:
    from cseoutcomes.models.design import Design
    from cseoutcomes.models.spec import ChangeModel

__all__ = ["LEVELS", "SBCResult", "default_estimands", "sbc"]

LEVELS = (0.5, 0.8, 0.9, 0.95)
"""Central interval probabilities whose coverage is recorded."""

Estimand = Callable[[dict[str, np.ndarray], "Design"], np.ndarray]


def default_estimands(model: ChangeModel, design: Design) -> dict[str, Estimand]:
    """The headline estimands: every population parameter, the change per year and the latent share.

    Each maps parameter arrays with a leading draw axis to one value per draw.
    """
    from cseoutcomes.models._pymc import hyper_names
    from cseoutcomes.models.fit import latent_share_lower

    out: dict[str, Estimand] = {}
    for name in hyper_names(model, design.family):
        if name == "cutpoints":
            for k in range(design.n_categories - 1):
                out[f"cutpoints[{k}]"] = lambda p, d, k=k: np.asarray(p["cutpoints"])[:, k]
        elif name in ("closure_rate", "closure_effect", "closure_trend"):
            for k, reason in enumerate(design.closure_reasons):
                out[f"{name}[{reason}]"] = lambda p, d, k=k, name=name: np.asarray(p[name])[:, k]
        elif name == "closure_period_rate":
            for k, reason in enumerate(design.closure_reasons):
                for j, knot in enumerate(design.closure_knots):
                    out[f"{name}[{reason}, from {knot:g}]"] = lambda p, d, k=k, j=j, name=name: np.asarray(p[name])[:, k, j]
        elif name == "beta":
            for j, x in enumerate(design.x_names):
                out[f"beta[{x}]"] = lambda p, d, j=j: np.asarray(p["beta"])[:, j]
        elif name == "measurement":
            for j, x in enumerate(design.m_names):
                out[f"measurement[{x}]"] = lambda p, d, j=j: np.asarray(p["measurement"])[:, j]
        else:
            out[name] = lambda p, d, name=name: np.asarray(p[name]).reshape(-1)
    out["change_per_year"] = lambda p, d: np.asarray(p["slope"]).reshape(-1) * d.t_per_year
    if design.person_closed is not None and design.person_closed.any():
        out["share_lower_at_closure"] = lambda p, d: latent_share_lower(p, d, at="closure")
    return out


def _rank(draws: np.ndarray, truth: float, rng: np.random.Generator) -> int:
    """Rank of ``truth`` among ``draws``: the number below it, ties (discrete estimands) broken at random."""
    below = int(np.sum(draws < truth))
    ties = int(np.sum(draws == truth))
    return below + (int(rng.integers(0, ties + 1)) if ties else 0)


def _covered(draws: np.ndarray, truth: float, u: float) -> dict[str, bool]:
    """Whether each central interval of ``draws`` covers ``truth``, by the randomised PIT.

    PIT = P(draw < truth) + u * P(draw = truth), u uniform on (0, 1), covered at level l when
    (1 - l)/2 <= PIT <= (1 + l)/2 (Czado, Gneiting & Held 2009). For a continuous estimand this
    is the central quantile interval; for a discrete one (a share of young people: many draws
    equal the truth) it is not inflated by ties, as an interval with its end points included is.
    """
    below = float(np.mean(draws < truth))
    tied = float(np.mean(draws == truth))
    pit = below + u * tied
    return {str(level): bool((1 - level) / 2 <= pit <= (1 + level) / 2) for level in LEVELS}


def _replicate(rep: int, seed: int, model_json: str, data: pd.DataFrame, n_rank: int,
               fit_kwargs: dict[str, Any]) -> dict[str, Any]:
    """One SBC replication; returns a JSON-able record (runs in a worker process)."""
    from cseoutcomes.models.design import build_design
    from cseoutcomes.models.simulation import draw_prior, simulate_outcomes
    from cseoutcomes.models.spec import ChangeModel

    model = ChangeModel.model_validate_json(model_json)
    rng = np.random.default_rng(seed)
    design = build_design(model, data, require_outcome=False)
    truth = draw_prior(model, design, rng)
    simulated, truth = simulate_outcomes(model, data, truth, seed=rng)  # a screen redraws who is taken on
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(simulated, seed=int(rng.integers(2**31)), progress=False, **fit_kwargs)
    seconds = time.perf_counter() - start
    params = fit._params()
    estimands = default_estimands(model, fit._design)
    truth_batch = {k: np.asarray(v)[None, ...] for k, v in truth.items()}
    n_draws = len(params["slope"])
    keep = np.linspace(0, n_draws - 1, n_rank).round().astype(int)  # thinned, evenly through the run
    record: dict[str, Any] = {"rep": rep, "seed": seed, "n_rank": n_rank, "seconds": round(seconds, 3),
                              "ranks": {}, "covered": {}, "truth": {}}
    for name, f in estimands.items():
        draws = np.asarray(f(params, fit._design), dtype=float)
        # the simulated table's design: with a joint drop-out model its closures (and rows) are simulated too
        value = float(np.asarray(f(truth_batch, fit._design), dtype=float)[0])
        record["truth"][name] = value
        record["ranks"][name] = _rank(draws[keep], value, rng)
        record["covered"][name] = _covered(draws, value, float(rng.random()))
    diag = fit.diagnostics(warn=False)
    record["diagnostics"] = {"max_rhat": float(diag["r_hat"].max()), "min_ess_bulk": float(diag["ess_bulk"].min()),
                             "divergences": int(diag.attrs["divergences"]), "n_draws": n_draws,
                             "warnings": sorted({str(w.message).split(" (")[0] for w in caught})[:5]}
    return record


@dataclass
class SBCResult:
    """Ranks, coverage and diagnostics of an SBC run (read back from ``directory`` with :meth:`load`)."""

    records: list[dict[str, Any]]
    directory: Path | None = None
    n_run: int = 0
    n_skipped: int = 0

    @classmethod
    def load(cls, directory: str | Path) -> SBCResult:
        """Every finished replication in ``directory``."""
        directory = Path(directory)
        records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("rep*.json"))]
        return cls(records, directory)

    @property
    def n_rank(self) -> int:
        return int(self.records[0]["n_rank"]) if self.records else 0

    @property
    def ranks(self) -> pd.DataFrame:
        """One row per replication, one column per estimand: rank of the truth in 0..n_rank."""
        return pd.DataFrame({r["rep"]: r["ranks"] for r in self.records}).T.sort_index().rename_axis("rep")

    @property
    def diagnostics(self) -> pd.DataFrame:
        rows = {r["rep"]: {k: v for k, v in r["diagnostics"].items() if k != "warnings"} | {"seconds": r["seconds"]}
                for r in self.records}
        return pd.DataFrame(rows).T.sort_index().rename_axis("rep")

    def coverage(self) -> pd.DataFrame:
        """Share of replications whose central interval covered the truth, per estimand and level.

        With a Wilson 95% interval for each share (Newcombe 1998), so "87-93%
        over 200 replications" can be judged against Monte Carlo error.
        """
        from scipy import stats

        z = stats.norm.ppf(0.975)
        rows = []
        names = list(self.records[0]["covered"]) if self.records else []
        n = len(self.records)
        for name in names:
            for level in LEVELS:
                hits = sum(r["covered"][name][str(level)] for r in self.records)
                p = hits / n
                centre = (p + z * z / (2 * n)) / (1 + z * z / n)
                half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
                rows.append({"estimand": name, "level": level, "coverage": p, "lower": centre - half,
                             "upper": centre + half, "n": n})
        return pd.DataFrame(rows).set_index(["estimand", "level"])

    def uniformity(self, bins: int | None = None) -> pd.DataFrame:
        """Chi-square test of uniform ranks per estimand (``bins`` equal bins of 0..n_rank).

        Default bins: about n/10 (at least 5 expected per bin), at most 20 and a
        divisor of n_rank + 1 so every bin holds the same number of rank values.
        """
        from scipy import stats

        ranks = self.ranks
        n = len(ranks)
        L1 = self.n_rank + 1
        if bins is None:
            target = max(2, min(20, n // 10))
            bins = max(b for b in range(2, target + 1) if L1 % b == 0) if target >= 2 else 2
        if L1 % bins:
            raise ModelError(f"{bins} bins do not divide the {L1} possible ranks evenly", where="bins",
                             hint=f"choose a divisor of {L1}")
        out = []
        for name in ranks.columns:
            counts = np.bincount((ranks[name].to_numpy(int) * bins) // L1, minlength=bins)
            chi2, p = stats.chisquare(counts)
            out.append({"estimand": name, "chi2": float(chi2), "df": bins - 1, "p_value": float(p), "bins": bins})
        return pd.DataFrame(out).set_index("estimand")

    def _repr_html_(self) -> str:
        import html

        if not self.records:
            return "<p>SBC: no replications yet.</p>"
        cov = self.coverage().reset_index()
        cov = cov[cov["level"] == 0.9].set_index("estimand")
        uni = self.uniformity()
        rows = "".join(
            f"<tr><td>{html.escape(str(name))}</td><td>{row['coverage']:.1%}</td>"
            f"<td>[{row['lower']:.1%}, {row['upper']:.1%}]</td><td>{uni.loc[name, 'p_value']:.3f}</td></tr>"
            for name, row in cov.iterrows())
        diag = self.diagnostics
        return (f"<p><b>Simulation-based calibration</b>: {len(self.records)} replications, truth ranked among "
                f"{self.n_rank} draws; {int((diag['divergences'] > 0).sum())} fits with divergences.</p>"
                "<table><thead><tr><th>estimand</th><th>90% coverage</th><th>Wilson 95%</th>"
                f"<th>uniformity p</th></tr></thead><tbody>{rows}</tbody></table>")

    def plot_ranks(self, estimands: list[str] | None = None, bins: int | None = None):
        """Rank histograms with the 99% band of counts expected under uniformity (matplotlib Figure)."""
        import matplotlib.pyplot as plt
        from scipy import stats

        ranks = self.ranks
        names = estimands or list(ranks.columns)
        n = len(ranks)
        L1 = self.n_rank + 1
        bins = bins or int(self.uniformity().iloc[0]["bins"])
        cols = min(4, len(names))
        rows = int(np.ceil(len(names) / cols))
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
        lo, hi = stats.binom.ppf([0.005, 0.995], n, 1 / bins)
        for ax, name in zip(axes.flat, names, strict=False):
            counts = np.bincount((ranks[name].to_numpy(int) * bins) // L1, minlength=bins)
            ax.axhspan(lo, hi, color="0.85")
            ax.bar(np.arange(bins), counts, width=0.9, color="#4c72b0")
            ax.set_title(name, fontsize=9)
            ax.set_xticks([])
        for ax in list(axes.flat)[len(names):]:
            ax.set_visible(False)
        fig.tight_layout()
        return fig

    def plot_ecdf_difference(self, estimands: list[str] | None = None):
        """ECDF of the scaled ranks minus the uniform CDF, with a pointwise 95% binomial band (Säilynoja et al. 2022)."""
        import matplotlib.pyplot as plt
        from scipy import stats

        ranks = self.ranks
        names = estimands or list(ranks.columns)
        n = len(ranks)
        grid = np.linspace(0, 1, 101)
        lo = stats.binom.ppf(0.025, n, grid) / n - grid
        hi = stats.binom.ppf(0.975, n, grid) / n - grid
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.fill_between(grid, lo, hi, color="0.85", label="95% band")
        for name in names:
            u = (ranks[name].to_numpy(float) + 0.5) / (self.n_rank + 1)
            ecdf = np.searchsorted(np.sort(u), grid, side="right") / n
            ax.plot(grid, ecdf - grid, label=name, lw=1)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("fractional rank")
        ax.set_ylabel("ECDF - uniform")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        return fig


def _write(directory: Path, record: dict[str, Any]) -> None:
    path = directory / f"rep{record['rep']:05d}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a run stopped mid-write leaves no half file


def sbc(model: ChangeModel, data: pd.DataFrame, n_datasets: int = 100, *, seed: int = 0,
        directory: str | Path | None = None, n_rank: int = 99, n_jobs: int | None = None,
        client: Any = None, **fit_kwargs) -> SBCResult:
    """Simulation-based calibration of ``model`` on the design of ``data``.

    Parameters
    ----------
    model
        The :class:`ChangeModel` (its priors are what parameters are drawn from).
    data
        A table with the person, time, group and covariate columns; its
        outcome, if any, is replaced by simulated outcomes in every replication.
    n_datasets
        Replications.
    seed
        Replication ``i`` uses a seed derived from (seed, i): results do not
        depend on the order or place replications run in.
    directory
        Where each finished replication is kept as ``repNNNNN.json``;
        replications already there are skipped (resume). Default: no files.
    n_rank
        Thinned posterior draws each truth is ranked against (ranks 0..n_rank).
    n_jobs
        Local processes (default: every core). Each fit then runs its chains
        one after another (``cores=1``) so replications, not chains, use the cores.
    client
        A ``distributed.Client`` or a scheduler address: run the replications on
        that Dask cluster instead of local processes.
    **fit_kwargs
        Passed to :meth:`ChangeModel.fit` (``draws``, ``tune``, ``chains``, ``sampler``...).

    Returns
    -------
    SBCResult
        ``ranks``, ``coverage()``, ``uniformity()``, ``diagnostics``,
        ``plot_ranks()``, ``plot_ecdf_difference()``; ``n_run`` and
        ``n_skipped`` say how many replications were fitted now and how many
        were read from ``directory``.
    """
    from cseoutcomes.models.design import build_design

    if n_datasets < 1:
        raise ModelError(f"n_datasets must be at least 1, not {n_datasets}", where="n_datasets")
    if n_rank < 1:
        raise ModelError(f"n_rank must be at least 1, not {n_rank}", where="n_rank")
    design = build_design(model, data, require_outcome=False)  # a bad table fails here, once, not in every worker
    if model.dropout is not None and model.dropout.reasons is None:
        # every replication must have the same parameters, whichever reasons its simulated closures happen to use
        model = model.model_copy(update={"dropout": model.dropout.model_copy(
            update={"reasons": design.closure_reasons})})
    if model.dropout is not None and model.dropout.observation_end is None and design.observation_end:
        # simulated closures remove later assessments, which must not move the end of observation
        model = model.model_copy(update={"dropout": model.dropout.model_copy(
            update={"observation_end": design.observation_end})})
    fit_kwargs.setdefault("cores", 1)
    seeds = np.random.SeedSequence(seed).spawn(n_datasets)
    rep_seeds = [int(s.generate_state(1)[0]) for s in seeds]
    out_dir = Path(directory) if directory is not None else None
    done: dict[int, dict[str, Any]] = {}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for p in out_dir.glob("rep*.json"):
            record = json.loads(p.read_text(encoding="utf-8"))
            if record["rep"] < n_datasets and record["seed"] == rep_seeds[record["rep"]] \
                    and record["n_rank"] == n_rank:
                done[record["rep"]] = record
    todo = [i for i in range(n_datasets) if i not in done]
    model_json = model.model_dump_json()
    args = [(i, rep_seeds[i], model_json, data, n_rank, fit_kwargs) for i in todo]
    new: list[dict[str, Any]] = []

    def keep(record: dict[str, Any]) -> None:
        new.append(record)
        if out_dir is not None:
            _write(out_dir, record)

    if todo and client is not None:
        from distributed import Client
        from distributed import as_completed as dask_completed

        own = isinstance(client, str)
        dask_client = Client(client) if own else client
        try:
            futures = [dask_client.submit(_replicate, *a, pure=False) for a in args]
            for future in dask_completed(futures):
                keep(future.result())
        finally:
            if own:
                dask_client.close()
    elif todo:
        workers = n_jobs or os.cpu_count() or 1
        if workers == 1 or len(todo) == 1:
            for a in args:
                keep(_replicate(*a))
        else:
            import multiprocessing

            with ProcessPoolExecutor(max_workers=min(workers, len(todo)),
                                     mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = [pool.submit(_replicate, *a) for a in args]
                for future in as_completed(futures):
                    keep(future.result())
    records = sorted([*done.values(), *new], key=lambda r: r["rep"])
    return SBCResult(records, out_dir, n_run=len(new), n_skipped=len(done))
