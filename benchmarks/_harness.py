"""What every benchmark here shares: measurements in fresh processes, and the committed results file."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def study_programme(scenario: str, rep: int):
    """One programme of ``examples/what_the_72_hides.py``: (the study module, seed, simulation, base model, data).

    The data carry the study's ``referral`` flag; the base model is the study's ordinal model with
    service and worker slopes, to which a benchmark adds the options it compares.
    """
    sys.path.insert(0, str(ROOT / "examples"))
    import what_the_72_hides as study

    from cseoutcomes.models import ChangeModel
    from cseoutcomes.simulate import hub_and_spoke

    seed = study.scenario_seed(scenario, rep)
    sim = hub_and_spoke(seed=seed, **study.SCENARIOS[scenario])
    base = ChangeModel(instrument="cse-risk-indicators", outcome="total_band",
                       groups={"service": "service", "worker": "worker"})
    return study, seed, sim, base, base.with_referral_flag(sim.assessments)


def run_child(script: str, *args: str) -> dict:
    """Run ``script`` with ``args`` in a fresh Python process; its last stdout line is a JSON result."""
    out = subprocess.run([sys.executable, script, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def publish(name: str, text: str, *, write: bool = True) -> None:
    """Print the results table and, unless told not to, commit it as ``results/<name>.md``."""
    text = text if text.endswith("\n") else text + "\n"
    print(text)
    if write:
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / f"{name}.md").write_text(text, encoding="utf-8")


def time_fits(model, data, *, seed: int, n_fits: int, draws: int = 500, tune: int = 300, chains: int = 2,
              each: Callable | None = None) -> dict:
    """Fit ``model`` to ``data`` ``n_fits + 1`` times with new seeds, chains one after the other; the first compiles.

    Returns ``first`` (seconds, compiling included), ``warm`` (median seconds of the later fits), ``steps``
    (their mean leapfrog steps per draw), ``per_grad`` (their seconds per 1,000 gradient evaluations, which
    separates the likelihood's cost from the geometry the sampler meets) and ``each``: ``each(fit)`` for
    every fit, the first too (called after the fit is timed).
    """
    times, steps, values = [], [], []
    for i in range(n_fits + 1):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(data, draws=draws, tune=tune, chains=chains, seed=seed + i, progress=False, cores=1)
        times.append(time.perf_counter() - start)
        if i:
            steps.append(float(fit.idata["sample_stats"]["n_steps"].mean()))
        values.append(each(fit) if each else None)
    warm, step = statistics.median(times[1:]), statistics.mean(steps)
    return {"first": times[0], "warm": warm, "steps": step, "per_grad": warm / (chains * (tune + draws) * step) * 1000,
            "each": values}
