"""What the referral screen costs when the referral assessment is measured apart.

The study's screen-modelled fit with the settings that match the simulated service
(``model_selection_joint_slopes_pw_ref`` in ``examples/what_the_72_hides.py``: the screen at
"moderate", joint drop-out with a baseline step at 3 months, person slopes, and the referral
assessment measured apart by a 0/1 measurement covariate), on one programme of the
``selection`` scenario (replication 900, which the study does not use), 2 chains x 500 draws
after nutpie's 300 warm-up, one chain after the other, in one process.

With only a referral flag every referral assessment is shifted alike, so the probability of
passing the screen is one integral over the referral population (64 Gauss-Hermite nodes,
computed once per gradient). The peer, in the same run, is the earlier form, one integral per
referral (24 nodes each), forced by patching ``selection_is_one_number``; the two are the same
model to quadrature accuracy (the shares agree). A third row is the same fit without the
referral flag (one integral at 0), for the cost of measuring the referral apart.

For each: the first fit (compiling included), the median of ``N_FITS`` fits with new seeds once
compiled, the mean number of leapfrog steps per draw, the seconds per 1,000 gradient
evaluations, the share of closed cases at lower risk (mean over every fit) and the largest R-hat.

    python benchmarks/bench_selection_referral.py      # -> results/selection_referral.md (about 6 minutes)
"""

from __future__ import annotations

import platform
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

N_FITS = 2
REP = 900
VARIANTS = {  # name: (referral flag, one integral)
    "one pass probability per referral (peer: the earlier form)": (True, False),
    "one pass probability for all referrals (the library)": (True, True),
    "no referral flag (one pass probability at 0)": (False, True),
}


def main() -> int:
    from _harness import publish, study_programme, time_fits

    from cseoutcomes.models import Dropout, Selection
    from cseoutcomes.models import _numeric as num

    study, seed, _, base, data = study_programme("selection", REP)
    library_form = num.selection_is_one_number
    rows = []
    for name, (flag, one) in VARIANTS.items():
        model = base.model_copy(update={"selection": Selection(at_least="moderate"),
                                        "dropout": Dropout(baseline_knots=study.PLANNED_KNOTS),
                                        "person_slopes": True,
                                        "measurement_covariates": ("referral",) if flag else ()})
        num.selection_is_one_number = library_form if one else (lambda spec, design: False)
        try:
            t = time_fits(model, data, seed=seed, n_fits=N_FITS, each=lambda fit: (
                float(fit.share_lower_at_closure()["mean"].iloc[0]), float(fit.diagnostics(warn=False)["r_hat"].max())))
        finally:
            num.selection_is_one_number = library_form
        share = statistics.mean(v[0] for v in t["each"])
        rhat = max(v[1] for v in t["each"])
        rows.append((name, t["first"], t["warm"], t["steps"], t["per_grad"], share, rhat))
        print(f"{name}: first {t['first']:.1f} s, then {t['warm']:.1f} s, {t['steps']:.1f} steps, "
              f"{t['per_grad']:.2f} s/1000 grads, share {share:.3f}, max R-hat {rhat:.3f}", flush=True)
    peer = rows[0]
    lines = ["# Referral screen with the referral measured apart: cost per fit", "",
             f"One `selection` programme (replication {REP}: {data['person_id'].nunique():,} young people, "
             f"{len(data):,} assessments), the screen at moderate, joint drop-out with a baseline step at 3 months, "
             f"person slopes; 2 chains x 500 draws after 300 warm-up, chains one after the other; median of {N_FITS} "
             "fits once compiled. Ratios against the earlier form (one pass probability per referral) in the same "
             "run.", "",
             "| model | first fit, compiling (s) | fit once compiled (s) | ratio | leapfrog steps per draw "
             "| s per 1,000 gradients | ratio | share at closure (mean of fits) | largest R-hat |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, first, warm, step, per_grad, share, rhat in rows:
        lines.append(f"| {name} | {first:.1f} | {warm:.1f} | {warm / peer[2]:.2f} | {step:.1f} | {per_grad:.2f} | "
                     f"{per_grad / peer[4]:.2f} | {share:.3f} | {rhat:.3f} |")
    lines += ["", f"Machine: {platform.machine()}, Python {platform.python_version()}. "
              "Command: `python benchmarks/bench_selection_referral.py`."]
    publish("selection_referral", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
