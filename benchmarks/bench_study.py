"""Per-fit time of the simulation study "What the 72% hides": do 200 replications fit in 2 hours on 2 cores?

The study (``examples/what_the_72_hides.py``) fits, for each replication of the
three scenarios ``mar``, ``mnar`` and ``selection``, every main estimator: 7 fits
(2 chains x 500 draws after 300 warm-up, chains one after the other), two
replications at once on a 2-core machine. This measures, in two processes at
once as the study runs:

* per scenario and model, the seconds of a fit once its model is compiled (the
  median of ``N_FITS`` fits with new seeds, after one fit that compiles);
* the seconds that compile cost (the first fit minus the median);
* per replication set, the seconds spent simulating the programmes and computing
  the truths and naive figures.

Projected wall time for 200 replications per scenario on 2 cores:
``200 * (fits + other) / 2 + compilation``, where compilation is paid once per
process for every model and size of programme (buckets of 64 young people) the
process meets: ``STRUCTURES`` per process, measured from the study's programmes.
Peer, in the same run: the joint drop-out fit sampled by PyMC's own NUTS against
nutpie (the default), the same model, data, warm-up and draws, each in a fresh
process.

    python benchmarks/bench_study.py      # -> results/study.md (about 10 minutes)
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[1]
N_FITS = 3
REPS_FIRST = 500  # replication numbers the committed study has not used
TARGET = 200


def _study():
    sys.path.insert(0, str(ROOT / "examples"))
    return __import__("what_the_72_hides")


SCENARIOS = _study().MAIN_SCENARIOS


def fits(worker: int) -> dict:
    """Per scenario and main model: the compiling fit and N_FITS fits after it (one programme each)."""
    from cseoutcomes.models import ChangeModel, Dropout, Selection
    from cseoutcomes.simulate import hub_and_spoke

    study = _study()
    base = ChangeModel(instrument="cse-risk-indicators", outcome="total_band",
                       groups={"service": "service", "worker": "worker"})
    out: dict[str, dict] = {}
    for scenario in SCENARIOS:
        seed = study.scenario_seed(scenario, REPS_FIRST + worker)
        sim = hub_and_spoke(seed=seed, **study.SCENARIOS[scenario])
        for name in study.SCENARIO_VARIANTS[scenario]:
            if name not in study.MAIN_VARIANTS:
                continue
            opts = study.VARIANTS[name]
            model = base.model_copy(update={"selection": Selection(at_least="moderate") if opts.get("selection")
                                            else None, "dropout": Dropout() if opts.get("dropout") else None})
            times = []
            for k in range(N_FITS + 1):
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fit = model.fit(sim.assessments, draws=500, seed=k, progress=False, cores=1)
                    fit.share_lower_at_closure()
                    fit.regression_to_the_mean()
                times.append(time.perf_counter() - start)
            out[f"{scenario}/{name}"] = {"first": times[0], "later": times[1:]}
    return out


def structures() -> dict:
    """Distinct (model, size bucket) pairs over the committed study's programmes: what a process compiles."""
    from cseoutcomes.models._pymc import PEOPLE_BUCKET

    study = _study()
    seen = set()
    for path in (ROOT / "examples" / "results" / "what_the_72_hides").glob("*/rep*.json"):
        r = json.loads(path.read_text())
        if r["scenario"] not in SCENARIOS:
            continue
        bucket = -(-r["n_people"] // PEOPLE_BUCKET)
        for name in study.SCENARIO_VARIANTS[r["scenario"]]:
            if name in study.MAIN_VARIANTS:  # a name is one model in every scenario
                seen.add((name, bucket))
    return {"n": len(seen)}


def overhead() -> dict:
    """Seconds per replication set outside the fits: simulate, truths, naive share (one process)."""
    from cseoutcomes.simulate import hub_and_spoke

    study = _study()
    secs = []
    for rep in range(REPS_FIRST, REPS_FIRST + 3):
        start = time.perf_counter()
        for scenario in SCENARIOS:
            seed = study.scenario_seed(scenario, rep)
            sim = hub_and_spoke(seed=seed, **study.SCENARIOS[scenario])
            sim.naive_share_lower()
            sim.lower_at_closure("typical_band")
        secs.append(time.perf_counter() - start)
    return {"seconds": statistics.median(secs)}


def peer(sampler: str) -> dict:
    """One joint drop-out fit (scenario mnar) with ``sampler``, after a warm-up fit that compiles."""
    from cseoutcomes.models import ChangeModel, Dropout
    from cseoutcomes.simulate import hub_and_spoke

    sim = hub_and_spoke(seed=2000 + REPS_FIRST, referral_threshold=0.0, dropout_risk_effect=1.0)
    model = ChangeModel(instrument="cse-risk-indicators", outcome="total_band",
                        groups={"service": "service", "worker": "worker"}, dropout=Dropout())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(sim.assessments, sampler=sampler, draws=20, tune=20, seed=1, progress=False, cores=1)
        start = time.perf_counter()
        fit = model.fit(sim.assessments, sampler=sampler, draws=500, tune=300, seed=2, progress=False, cores=1)
        seconds = time.perf_counter() - start
    share = fit.share_lower_at_closure()
    diag = fit.diagnostics(warn=False)
    return {"seconds": seconds, "share": float(share["mean"].iloc[0]), "min_ess": float(diag["ess_bulk"].min())}


def main() -> None:
    import nutpie
    import pymc
    from _harness import publish, run_child

    import cseoutcomes

    procs = [subprocess.Popen([sys.executable, __file__, "fits", str(w)], stdout=subprocess.PIPE, text=True)
             for w in (0, 1)]  # two at once, as the study runs
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit("a benchmark process failed")
    names = list(results[0])
    later = {n: statistics.median([t for r in results for t in r[n]["later"]]) for n in names}
    compile_each = statistics.median([r[n]["first"] - later[n] for r in results for n in names])
    fit_per_set = sum(later.values())
    other = run_child(__file__, "overhead")["seconds"]
    n_struct = run_child(__file__, "structures")["n"]
    compile_s = n_struct * compile_each  # each process compiles each structure once; the two run side by side
    projected = TARGET * (fit_per_set + other) / 2 + compile_s
    nut = run_child(__file__, "peer", "nutpie")
    ref = run_child(__file__, "peer", "pymc")
    lines = ["# Per-fit time of the simulation study (issue 6's time bar)", "",
             "Every main estimator of `examples/what_the_72_hides.py` on one programme per scenario and process, "
             f"two processes at once on this 2-core machine; 2 chains x 500 draws after 300 warm-up, chains one "
             f"after the other; each time includes the share at closure and regression to the mean; median of "
             f"{N_FITS} fits per process after the one that compiles.", "",
             "| scenario / model | seconds per fit (compiled) | first fit, compiling (s) |", "| --- | ---: | ---: |",
             *[f"| {n} | {later[n]:.1f} | {statistics.mean(r[n]['first'] for r in results):.1f} |" for n in names],
             "", "| quantity | seconds |", "| --- | ---: |",
             f"| fitting, one replication of each scenario | {fit_per_set:.1f} |",
             f"| simulating, truths and naive figures, one replication of each scenario | {other:.1f} |",
             f"| compiling, per model and size of programme (median) | {compile_each:.1f} |",
             f"| models x sizes a process meets in the study ({TARGET} replications) | {n_struct} |",
             f"| **projected wall time for {TARGET} replications per scenario** | **{projected:.0f} "
             f"({projected / 3600:.2f} h)** |", "",
             f"Projection: {TARGET} x ({fit_per_set:.1f} + {other:.1f}) s / 2 processes + {n_struct} x "
             f"{compile_each:.1f} s of compiling.", "",
             "Peer (same run, fresh processes, the joint drop-out model on one `mnar` programme, 2 chains x 500 "
             "draws after 300 warm-up, one core):", "",
             "| sampler | seconds | share at closure | min bulk ESS |", "| --- | ---: | ---: | ---: |",
             f"| nutpie (default) | {nut['seconds']:.1f} | {nut['share']:.3f} | {nut['min_ess']:.0f} |",
             f"| PyMC NUTS | {ref['seconds']:.1f} | {ref['share']:.3f} | {ref['min_ess']:.0f} |",
             f"| ratio PyMC / nutpie | {ref['seconds'] / nut['seconds']:.1f} | | |", "",
             f"cseoutcomes {cseoutcomes.__version__}, PyMC {pymc.__version__}, nutpie {nutpie.__version__}; "
             f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores.", "",
             "Command: `python benchmarks/bench_study.py`"]
    publish("study", "\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "fits":
        print(json.dumps(fits(int(sys.argv[2]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "structures":
        print(json.dumps(structures()))
    elif len(sys.argv) > 1 and sys.argv[1] == "overhead":
        print(json.dumps(overhead()))
    elif len(sys.argv) > 1 and sys.argv[1] == "peer":
        print(json.dumps(peer(sys.argv[2])))
    else:
        main()
