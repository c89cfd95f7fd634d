"""Change model: time to convergence against bambi and a plain PyMC model, same data, same model, same run.

Model (lme4 notation), on the default simulated programme (``hub_and_spoke(seed=0)``)::

    risk band ~ time + (1 | person) + (0 + time | hub) + (0 + time | worker)     cumulative logit

Measured: wall time in a fresh process from building the model to having
draws in which every hyper-parameter (fixed slope, thresholds, the three SDs)
has R-hat <= 1.01 and bulk and tail ESS >= 400; compilation is included; peak
resident memory of the process.

* cseoutcomes: ``ChangeModel.fit(target_ess=400)``: nutpie, sampling in the
  background and stopping as soon as the checks pass.
* bambi and the plain PyMC model have no such mode: each is run with 1000,
  2000, 4000 and 8000 draws per chain (1000 tuning steps) in fresh processes.
  Two times are reported: the *smallest* run that passes alone (as if the user
  knew in advance how many draws were enough; the comparison the ratio uses),
  and the sum of the runs a user makes by doubling until the checks pass. bambi
  is run with each sampler it offers (numpyro, nutpie, pymc) and the fastest is
  the comparison.
* The plain model: the same model written directly in PyMC (non-centred,
  ``pm.OrderedLogistic``, normal priors), sampled by PyMC's default NUTS.

Usage::

    python benchmarks/bench_change.py            # full table -> results/change.md
    python benchmarks/bench_change.py --quick    # one bambi sampler, no file written

bambi 0.21 installs beside PyMC 6 in the project's environment (``pip install
bambi``); the script says so if it is missing.
"""

from __future__ import annotations

import json
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET = 400.0
LADDER = (1000, 2000, 4000, 8000)


def _data():
    """The simulated programme and, for bambi and plain PyMC, the same bands, times and groups our model fits."""
    import pandas as pd

    from cseoutcomes.models import ChangeModel
    from cseoutcomes.models.design import build_design
    from cseoutcomes.simulate import hub_and_spoke

    sim = hub_and_spoke(seed=0)
    model = ChangeModel(instrument="cse-risk-indicators", outcome="total_band",
                        groups={"service": "service", "worker": "worker"})
    d = build_design(model, sim.assessments)
    frame = pd.DataFrame({"band": pd.Categorical.from_codes(d.y, categories=list(d.categories), ordered=True),
                          "time": d.t, "person": d.person_labels[d.person],
                          "hub": d.groups["service"].labels[d.groups["service"].index],
                          "worker": d.groups["worker"].labels[d.groups["worker"].index]})
    return sim, frame


def _checks(posterior, names) -> dict:
    import arviz_stats as azs
    import numpy as np

    ds = posterior[names]
    r = azs.rhat(ds)
    b = azs.ess(ds, method="bulk")
    t = azs.ess(ds, method="tail")
    flat = lambda x: np.concatenate([np.atleast_1d(np.asarray(x[n])) for n in names])  # noqa: E731
    return {"max_rhat": float(flat(r).max()), "min_ess_bulk": float(flat(b).min()),
            "min_ess_tail": float(flat(t).min())}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_ours() -> dict:
    from cseoutcomes.models import ChangeModel

    sim, _ = _data()
    model = ChangeModel(instrument="cse-risk-indicators", outcome="total_band",
                        groups={"service": "service", "worker": "worker"})
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(sim.assessments, target_ess=TARGET, draws=300, seed=1, progress=False,
                        max_draws=8000)
    seconds = time.perf_counter() - start
    names = ["slope", "cutpoints", "person_sd", "slope_sd_service", "slope_sd_worker"]
    return {"seconds": seconds, "draws": fit.meta["draws"], **_checks(fit.posterior, names), "peak_mb": _peak_mb(),
            "fit_seconds": fit.meta["seconds"]}


def child_bambi(sampler: str, draws: int) -> dict:
    import bambi as bmb
    import pandas as pd

    _, frame = _data()
    frame = frame.assign(band=pd.Categorical(frame["band"].astype(str),
                                             categories=list(frame["band"].cat.categories), ordered=True))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = bmb.Model("band ~ time + (1 | person) + (0 + time | hub) + (0 + time | worker)", frame,
                          family="cumulative")
        idata = model.fit(draws=draws, tune=1000, chains=2, cores=2, inference_method=sampler, random_seed=1,
                          progressbar=False)
    seconds = time.perf_counter() - start
    post = idata["posterior"].to_dataset()
    names = [v for v in post.data_vars
             if set(post[v].dims) <= {"chain", "draw", "threshold_dim", "band_threshold_dim"}
             or str(v).endswith("_sigma") or str(v) in ("time", "threshold")]
    names = [v for v in names if not str(v).startswith("band_obs")]
    return {"seconds": seconds, "draws": draws, **_checks(post, names), "peak_mb": _peak_mb(),
            "checked": [str(n) for n in names]}


def child_plain(draws: int) -> dict:
    import numpy as np
    import pandas as pd
    import pymc as pm

    _, frame = _data()
    y = frame["band"].cat.codes.to_numpy()
    K = len(frame["band"].cat.categories)
    pid, persons = pd.factorize(frame["person"])
    hid, hubs = pd.factorize(frame["hub"])
    wid, workers = pd.factorize(frame["worker"])
    t = frame["time"].to_numpy()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pm.Model(coords={"person": persons, "hub": hubs, "worker": workers, "cut": np.arange(K - 1)}):
            cut = pm.Normal("cutpoints", 0, 3, dims="cut", transform=pm.distributions.transforms.ordered,
                            initval=np.linspace(-2, 2, K - 1))
            slope = pm.Normal("slope", 0, 1)
            sd_p = pm.HalfNormal("person_sd", 2.5)
            sd_h = pm.HalfNormal("slope_sd_hub", 0.5)
            sd_w = pm.HalfNormal("slope_sd_worker", 0.5)
            zp = pm.Normal("zp", 0, 1, dims="person")
            zh = pm.Normal("zh", 0, 1, dims="hub")
            zw = pm.Normal("zw", 0, 1, dims="worker")
            eta = sd_p * zp[pid] + (slope + sd_h * zh[hid] + sd_w * zw[wid]) * t
            pm.OrderedLogistic("y", eta=eta, cutpoints=cut, observed=y)
            idata = pm.sample(draws, tune=1000, chains=2, cores=2, random_seed=1, progressbar=False,
                              compute_convergence_checks=False)
    seconds = time.perf_counter() - start
    names = ["slope", "cutpoints", "person_sd", "slope_sd_hub", "slope_sd_worker"]
    return {"seconds": seconds, "draws": draws, **_checks(idata["posterior"].to_dataset(), names),
            "peak_mb": _peak_mb()}


def _passes(r: dict) -> bool:
    return r["max_rhat"] <= 1.01 and r["min_ess_bulk"] >= TARGET and r["min_ess_tail"] >= TARGET


def _ladder(label: str, *args: str) -> dict:
    from _harness import run_child

    tried = []
    total = 0.0
    for draws in LADDER:
        r = run_child(__file__, *args, str(draws))
        total += r["seconds"]
        tried.append(f"{draws}: {r['seconds']:.1f} s, R-hat {r['max_rhat']:.3f}, ESS {r['min_ess_bulk']:.0f}"
                     f"/{r['min_ess_tail']:.0f}")
        print(f"  {label} {tried[-1]}", flush=True)
        if _passes(r):
            return {**r, "passed": True, "tried": tried, "ladder_seconds": total}
    return {**r, "passed": False, "tried": tried, "ladder_seconds": total}


def main(quick: bool = False) -> None:
    import importlib.util

    from _harness import publish, run_child

    import cseoutcomes

    if importlib.util.find_spec("bambi") is None:
        sys.exit("bambi is not installed: pip install bambi (it installs beside PyMC 6)")
    import bambi
    import nutpie
    import pymc

    ours = [run_child(__file__, "ours") for _ in range(3)]
    for r in ours:
        print(f"  cseoutcomes: {r['seconds']:.1f} s, {r['draws']} draws, R-hat {r['max_rhat']:.3f}, "
              f"ESS {r['min_ess_bulk']:.0f}/{r['min_ess_tail']:.0f}, {r['peak_mb']:.0f} MB", flush=True)
    ours_med = sorted(ours, key=lambda r: r["seconds"])[1]
    samplers = ["numpyro"] if quick else ["numpyro", "nutpie", "pymc"]
    bambis = {s: _ladder(f"bambi[{s}]", "bambi", s) for s in samplers}
    plain = _ladder("plain PyMC", "plain")
    passing = {s: r for s, r in bambis.items() if r["passed"]}
    best = min(passing.items(), key=lambda kv: kv[1]["seconds"]) if passing else None

    lines = [
        "# Change model: time until every hyper-parameter has R-hat <= 1.01 and bulk and tail ESS >= 400",
        "",
        "Model `risk band ~ time + (1 | person) + (0 + time | hub) + (0 + time | worker)` (cumulative logit) on "
        "`hub_and_spoke(seed=0)`: 3,105 assessments, 806 young people, 53 workers, 16 hubs. Wall time in a fresh "
        "process, compilation included; 2 chains on 2 cores. bambi and plain PyMC: the smallest of 1000/2000/"
        "4000/8000 draws per chain (1000 tuning) that passes on its own (as if the right number of draws "
        "were known in advance: the ratio the issue's bar uses), and the sum of the runs a user makes by doubling "
        "from 1000 until the checks pass. Ratios are to the fastest bambi sampler in each column.",
        "",
        "| method | seconds | ratio to bambi (fastest) | seconds, doubling from 1000 | ratio | draws per chain "
        "| max R-hat | min bulk / tail ESS | peak memory (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ref = best[1]["seconds"] if best else float("nan")
    ref_ladder = min((r["ladder_seconds"] for r in passing.values()), default=float("nan"))

    def row(name, r):
        status = "" if r.get("passed", True) else " (never passed)"
        ladder = r.get("ladder_seconds", r["seconds"])
        return (f"| {name}{status} | {r['seconds']:.1f} | {r['seconds'] / ref:.2f}x | {ladder:.1f} | "
                f"{ladder / ref_ladder:.2f}x | {r['draws']} | "
                f"{r['max_rhat']:.3f} | {r['min_ess_bulk']:.0f} / {r['min_ess_tail']:.0f} | {r['peak_mb']:.0f} |")

    lines.append(row("cseoutcomes `ChangeModel.fit(target_ess=400)` (nutpie; median of 3)", ours_med))
    for s, r in bambis.items():
        lines.append(row(f"bambi {bambi.__version__}, `inference_method='{s}'`", r))
    lines.append(row("plain PyMC model, PyMC's default NUTS", plain))
    lines += [
        "",
        f"cseoutcomes runs (s): {', '.join(f'{r['seconds']:.1f}' for r in ours)}.",
        "Ladders: " + "; ".join(f"bambi[{s}] " + ", ".join(r["tried"]) for s, r in bambis.items())
        + "; plain PyMC " + ", ".join(plain["tried"]) + ".",
        "",
        f"cseoutcomes {cseoutcomes.__version__}, PyMC {pymc.__version__}, nutpie {nutpie.__version__}, "
        f"bambi {bambi.__version__}; Python {platform.python_version()}, {platform.machine()}.",
        "",
        "Command: `python benchmarks/bench_change.py`",
    ]
    publish("change", "\n".join(lines), write=not quick)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "ours":
        print(json.dumps(child_ours()))
    elif args and args[0] == "bambi":
        print(json.dumps(child_bambi(args[1], int(args[2]))))
    elif args and args[0] == "plain":
        print(json.dumps(child_plain(int(args[1]))))
    else:
        main(quick="--quick" in args)
