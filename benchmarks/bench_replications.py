"""Per-fit time in a simulation study: can 3 scenarios x 200 replications finish in 2 hours on 2 cores?

A simulation study (issue 6) and simulation-based calibration refit one design
many times with new outcomes. This measures, on the default simulated programme
(3,105 assessments, 806 young people), the ordinal model
``total_band ~ time + (1 | person) + (0 + time | service) + (0 + time | worker)``:

* the first fit in a process (compilation included) and the following fits,
  which reuse the compiled model with the new outcome swapped in;
* 2 chains run one after the other (``cores=1``), so two replications run at
  once on a 2-core machine; 1000 draws per chain after nutpie's 300 warm-up;
* the same with the model compiled afresh for every fit (what the reuse saves).

Projected study time = (first + (n - 1) x later) / 2 processes for n = 600 fits.

    python benchmarks/bench_replications.py     # -> results/replications.md
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

N_FITS = 6


def child(reuse: bool) -> dict:
    from cseoutcomes.models import ChangeModel, _pymc, simulate_outcomes
    from cseoutcomes.simulate import hub_and_spoke

    sim = hub_and_spoke(seed=0)
    ids = sim.assessments[["person_id", "assessment_date", "worker", "service", "area", "closure_reason"]]
    model = ChangeModel(instrument="cse-risk-indicators", outcome="total_band",
                        groups={"service": "service", "worker": "worker"})
    times, ess = [], []
    for i in range(N_FITS):
        data, _ = simulate_outcomes(model, ids, seed=i)
        if not reuse:
            _pymc._COMPILED.clear()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(data, draws=1000, seed=i, progress=False, cores=1)
        times.append(time.perf_counter() - start)
        ess.append(float(fit.diagnostics(warn=False)["ess_bulk"].min()))
    return {"times": times, "min_ess": ess}


def main() -> None:
    import nutpie
    import pymc
    from _harness import publish, run_child

    import cseoutcomes

    reuse = run_child(__file__, "reuse")
    fresh = run_child(__file__, "fresh")
    lines = ["# Per-fit time in a simulation study (one design, new outcomes each fit)", "",
             "Ordinal model `total_band ~ time + (1 | person) + (0 + time | service) + (0 + time | worker)` on "
             "`hub_and_spoke(seed=0)` with outcomes simulated from the priors; 2 chains x 1000 draws after 300 "
             f"warm-up, chains one after the other; {N_FITS} fits in one process.", "",
             "| compiled model | first fit (s) | later fits, median (s) | projected 600 fits on 2 cores (min) "
             "| min bulk ESS per fit (median) |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, r in (("reused (default)", reuse), ("compiled for every fit", fresh)):
        first, later = r["times"][0], statistics.median(r["times"][1:])
        projected = (first + 599 * later) / 2 / 60
        lines.append(f"| {name} | {first:.1f} | {later:.1f} | {projected:.0f} | {statistics.median(r['min_ess']):.0f} |")
    lines += ["", f"All fit times (s): reused {', '.join(f'{t:.1f}' for t in reuse['times'])}; "
              f"compiled every fit {', '.join(f'{t:.1f}' for t in fresh['times'])}.", "",
              f"cseoutcomes {cseoutcomes.__version__}, PyMC {pymc.__version__}, nutpie {nutpie.__version__}; "
              f"Python {platform.python_version()}, {platform.machine()}.", "",
              "Command: `python benchmarks/bench_replications.py`"]
    publish("replications", "\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(child(sys.argv[1] == "reuse")))
    else:
        main()
