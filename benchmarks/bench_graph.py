"""What the PyMC graph's form costs: fused kernels, and the intercepts' mean as a parameter of its own.

The study's screen-modelled fit with the settings that match the simulated service
(``model_selection_joint_slopes_pw_ref`` in ``examples/what_the_72_hides.py``: the screen at
"moderate", joint drop-out with a baseline step at 3 months, person slopes, the referral
assessment measured apart) on one programme of the ``selection`` scenario (replication 900,
which the study does not use), 2 chains x 500 draws after nutpie's 300 warm-up, one chain after
the other, in one process. Three forms of the same model, in the same run:

* the peer, the earlier graph: the closure term and the ordinal likelihood as elementwise
  PyTensor expressions (``build_pymc_model(fused=False)``, what the JAX samplers still get),
  and the intercepts as independent normals with free cutpoints (``separate_location=False``);
* the fused kernels (``_kernels``: one Numba loop each, value and gradient together), the
  intercepts as before: the same sampler path, cheaper gradients;
* the library: fused kernels and the intercepts' mean apart, the cutpoints shifted with it
  (the same model, see ``build_pymc_model``): the same gradient cost, a better-conditioned posterior.

For each: the first fit (compiling included), the median of ``N_FITS`` later fits with new seeds,
the mean leapfrog steps per draw, the seconds per 1,000 gradients, the smallest bulk ESS of the
population parameters (mean over the fits, of 1,000 draws) and that ESS per second of fitting,
the share of closed cases at lower risk (mean over the fits) and the largest R-hat.

    python benchmarks/bench_graph.py      # -> results/graph.md (about 5 minutes)
"""

from __future__ import annotations

import functools
import platform
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

N_FITS = 2
REP = 900
FORMS = {  # name: (fused, separate_location)
    "elementwise graph, independent intercepts (peer: the earlier graph)": (False, False),
    "fused kernels, independent intercepts": (True, False),
    "fused kernels, the intercepts' mean apart (the library)": (True, True),
}


def main() -> int:
    from _harness import publish, study_programme, time_fits

    from cseoutcomes.models import Dropout, Selection, _pymc

    study, seed, sim, base, data = study_programme("selection", REP)
    model = base.model_copy(update={"selection": Selection(at_least="moderate"),
                                    "dropout": Dropout(baseline_knots=study.PLANNED_KNOTS), "person_slopes": True,
                                    "measurement_covariates": ("referral",)})
    library_build = _pymc.build_pymc_model

    def each(fit) -> tuple[float, float, float]:
        diag = fit.diagnostics(warn=False)
        return (float(diag["ess_bulk"].min()), float(fit.share_lower_at_closure()["mean"].iloc[0]),
                float(diag["r_hat"].max()))

    rows = []
    try:
        for name, (fused, location) in FORMS.items():
            _pymc.build_pymc_model = functools.partial(library_build, fused=fused, separate_location=location)
            _pymc._COMPILED.clear()  # the forms share a structure key: compile each afresh
            r = time_fits(model, data, seed=seed, n_fits=N_FITS, each=each)
            later = r["each"][1:]
            ess = statistics.mean(e[0] for e in later)
            rows.append({"name": name, **r, "ess": ess, "ess_per_s": ess / r["warm"],
                         "share": statistics.mean(e[1] for e in r["each"]),
                         "rhat": max(e[2] for e in r["each"])})
    finally:
        _pymc.build_pymc_model = library_build
    import nutpie
    import pymc

    import cseoutcomes

    peer, lib = rows[0], rows[-1]
    lines = ["# The PyMC graph's form: fused kernels and the intercepts' mean apart", "",
             f"One `selection` programme (replication {REP}, {sim.truth['people'].shape[0]} young people), the study's "
             "screen-modelled fit with person slopes, a baseline step at 3 months and the referral measured apart; "
             f"2 chains x 500 draws after 300 warm-up, one after the other; {N_FITS} fits after the one that "
             "compiles, new seeds. ESS: the smallest bulk ESS of the population parameters (of 1,000 draws), mean "
             "over the later fits.", "",
             "| form | first fit, compiling (s) | s per fit | leapfrog steps per draw | s per 1,000 gradients "
             "| smallest bulk ESS | ESS per s | share | max R-hat |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['first']:.1f} | {r['warm']:.1f} | {r['steps']:.1f} | {r['per_grad']:.2f} "
                     f"| {r['ess']:.0f} | {r['ess_per_s']:.1f} | {r['share']:.3f} | {r['rhat']:.3f} |")
    lines += ["", f"Ratios, the library against the peer: time per fit {lib['warm'] / peer['warm']:.2f}, time per "
              f"gradient {lib['per_grad'] / peer['per_grad']:.2f}, smallest ESS per second "
              f"{lib['ess_per_s'] / peer['ess_per_s']:.1f}.", "",
              f"cseoutcomes {cseoutcomes.__version__}, PyMC {pymc.__version__}, nutpie {nutpie.__version__}; "
              f"Python {platform.python_version()}, {platform.machine()}.", "",
              "Command: `python benchmarks/bench_graph.py`"]
    publish("graph", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
