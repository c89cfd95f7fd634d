"""What a piecewise baseline closure hazard costs per fit: ``Dropout(baseline_knots=...)`` against none.

One programme of the study's ``mnar_latent`` scenario (``examples/what_the_72_hides.py``,
replication 900, which the study does not use), the study's ordinal model with service and
worker slopes and the joint drop-out model, 2 chains x 500 draws after nutpie's 300 warm-up,
one chain after the other, in one process. For each variant: the seconds of the first fit
(compiling included) and the median of ``N_FITS`` fits with new seeds once compiled, the mean
number of leapfrog steps per draw, and the seconds per 1,000 gradient evaluations, which
separates the cost of the likelihood from the geometry the sampler meets. The peer, in the
same run, is the same model without knots (one baseline rate per reason): ratios against it.

    python benchmarks/bench_baseline_knots.py      # -> results/baseline_knots.md (about 8 minutes)
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[1]
N_FITS = 2
REP = 900
VARIANTS = {  # name: (person slopes, knots in months)
    "joint drop-out (peer: no knots)": (False, ()),
    "joint drop-out, knot at 3 months": (False, (3.0,)),
    "joint drop-out, knots at 3, 6, 12 months": (False, (3.0, 6.0, 12.0)),
    "person slopes, no knots": (True, ()),
    "person slopes, knot at 3 months": (True, (3.0,)),
}


def main() -> int:
    sys.path.insert(0, str(ROOT / "examples"))
    import what_the_72_hides as study
    from _harness import publish, time_fits

    from cseoutcomes.models import ChangeModel, Dropout
    from cseoutcomes.simulate import hub_and_spoke

    scenario = "mnar_latent"
    seed = study.scenario_seed(scenario, REP)
    sim = hub_and_spoke(seed=seed, **study.SCENARIOS[scenario])
    data, _, _ = study.latent_measurement(sim, scenario, seed)
    rows = []
    for name, (slopes, knots) in VARIANTS.items():
        model = ChangeModel(instrument="cse-risk-indicators", outcome="total_band",
                            groups={"service": "service", "worker": "worker"},
                            dropout=Dropout(baseline_knots=knots), person_slopes=slopes)
        t = time_fits(model, data, seed=seed, n_fits=N_FITS)
        rows.append((name, t["first"], t["warm"], t["steps"], t["per_grad"]))
        print(f"{name}: first {t['first']:.1f} s, then {t['warm']:.1f} s, {t['steps']:.1f} steps, "
              f"{t['per_grad']:.2f} s/1000 grads", flush=True)
    peer = {False: rows[0], True: rows[3]}
    lines = ["# Piecewise baseline closure hazard: cost per fit", "",
             f"One `mnar_latent` programme (replication {REP}: {data['person_id'].nunique():,} young people, "
             f"{len(data):,} assessments), 2 chains x 500 draws after 300 warm-up, chains one after the other; "
             f"median of {N_FITS} fits once compiled. Ratios against the same model without knots in the same run.",
             "", "| model | first fit, compiling (s) | fit once compiled (s) | ratio | leapfrog steps per draw "
             "| s per 1,000 gradients | ratio |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (name, first, warm, step, per_grad), (slopes, _) in zip(rows, VARIANTS.values(), strict=True):
        base = peer[slopes]
        lines.append(f"| {name} | {first:.1f} | {warm:.1f} | {warm / base[2]:.2f} | {step:.1f} | {per_grad:.2f} | "
                     f"{per_grad / base[4]:.2f} |")
    lines += ["", f"Machine: {platform.machine()}, Python {platform.python_version()}. "
              "Command: `python benchmarks/bench_baseline_knots.py`."]
    publish("baseline_knots", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
