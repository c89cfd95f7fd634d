"""Wall time of the simulation study "What the 72% hides": do 200 replications fit in 2 hours on 2 cores?

Runs the study itself (``examples/what_the_72_hides.py``: the three scenarios ``mar``,
``mnar`` and ``selection``, every main estimator, two replications at once) for
``N_REPS`` replications per scenario into a temporary folder, and measures:

* the wall time of that run, from the command line to the summary table;
* per replication set (one replication of each scenario): the median seconds of
  each model fit, compilation excluded (median over the fits), and the seconds
  spent simulating the programme and computing the truths and naive figures;
* the compilation paid once per worker process and model (first fit minus the
  median), which a long run pays once.

Projected wall time for 200 replications per scenario on 2 cores:
``(200 * per-set seconds) / 2 + compilation``; the same formula for ``N_REPS``
is set beside the measured wall time to check it. Peer, in the same run: the
joint drop-out fit sampled by PyMC's own NUTS against nutpie (the default), the
same model, data, warm-up and draws, each in a fresh process.

    python benchmarks/bench_study.py      # -> results/study.md (about 10 minutes)
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[1]
N_REPS = 6
REPS_FIRST = 500  # replication numbers not in the committed study, so nothing is reused
TARGET = 200
SCENARIOS = ("mar", "mnar", "selection")


def overhead() -> dict:
    """Seconds per replication set outside the fits: simulate, truths, naive share (one process)."""
    sys.path.insert(0, str(ROOT / "examples"))
    from cseoutcomes.simulate import hub_and_spoke

    study = __import__("what_the_72_hides")
    secs = []
    for rep in range(REPS_FIRST, REPS_FIRST + 3):
        start = time.perf_counter()
        for scenario in SCENARIOS:
            seed = 1000 * (list(study.SCENARIOS).index(scenario) + 1) + rep
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

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "study"
        cmd = [sys.executable, str(ROOT / "examples" / "what_the_72_hides.py"), "--reps", str(N_REPS),
               "--scenarios", ",".join(SCENARIOS), "--jobs", "2", "--out", str(out), "--first-rep",
               str(REPS_FIRST)]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        wall = time.perf_counter() - start
        records = [json.loads(p.read_text()) for p in sorted(out.glob("*/rep*.json"))]
    fits: dict[str, list[float]] = {}
    per_scenario: dict[str, list[str]] = {}
    for r in records:
        per_scenario[r["scenario"]] = list(r["estimates"])
        for name, e in r["estimates"].items():
            fits.setdefault(name, []).append(e["seconds"])
    median = {name: statistics.median(v) for name, v in fits.items()}
    # compilation: what the first fits of each model cost beyond the median, shared by the two workers
    compile_s = sum(sum(sorted(v, reverse=True)[:2]) - 2 * median[name] for name, v in fits.items()) / 2
    fit_per_set = sum(median[name] for names in per_scenario.values() for name in names)
    other = run_child(__file__, "overhead")["seconds"]
    per_set = fit_per_set + other
    projected_n = N_REPS * per_set / 2 + compile_s
    projected = TARGET * per_set / 2 + compile_s
    nut = run_child(__file__, "peer", "nutpie")
    ref = run_child(__file__, "peer", "pymc")
    lines = ["# Wall time of the simulation study (issue 6's time bar)", "",
             f"`examples/what_the_72_hides.py --scenarios {','.join(SCENARIOS)} --jobs 2` for {N_REPS} replications "
             "per scenario (every main estimator; 2 chains x 500 draws after 300 warm-up, chains one after the "
             "other, two replications at once) on this 2-core machine.", "",
             "| model | fits | median seconds per fit (compiled model reused) |", "| --- | ---: | ---: |",
             *[f"| {name} | {len(v)} | {median[name]:.1f} |" for name, v in fits.items()], "",
             "| quantity | seconds |", "| --- | ---: |",
             f"| fitting, one replication of each scenario (sum of medians) | {fit_per_set:.1f} |",
             f"| simulating, truths and naive figures, one replication of each scenario | {other:.1f} |",
             f"| compilation, paid once per worker and model (wall) | {compile_s:.0f} |",
             f"| measured wall time for {N_REPS} replications per scenario | {wall:.0f} |",
             f"| projected by the formula for {N_REPS} | {projected_n:.0f} |",
             f"| **projected for {TARGET} replications per scenario** | **{projected:.0f} ({projected / 3600:.2f} h)** |",
             "", f"Projection: {TARGET} x {per_set:.1f} s / 2 processes + {compile_s:.0f} s of compilation.", "",
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
    if len(sys.argv) > 1 and sys.argv[1] == "overhead":
        print(json.dumps(overhead()))
    elif len(sys.argv) > 1 and sys.argv[1] == "peer":
        print(json.dumps(peer(sys.argv[2])))
    else:
        main()
