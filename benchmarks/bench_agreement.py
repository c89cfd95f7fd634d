"""Benchmark: agreement statistics side by side with their peers, in the same run.

Issue bars:

* ``krippendorff_alpha`` at the ordinal level on 100,000 units x 10 coders is no slower
  than ``krippendorff.alpha`` (the ``krippendorff`` package) on the same data;
* its 1,000-resample bootstrap is no slower than the package doing the same work. The
  package has no bootstrap, so by default it is *run* 1,000 times on unit-resampled data
  (``--boot-peer run``); ``--boot-peer extrapolate`` instead times one package call and
  multiplies by the number of resamples (quicker, and flattering to the package since it
  leaves out the resampling itself);
* ``icc`` on 1,000,000 long rows (100,000 targets x 10 raters), reported against
  ``pingouin.intraclass_corr`` (or, where pingouin is not installed, against a plain numpy
  two-way ANOVA written here).

Each measurement runs in a fresh subprocess that builds the (seeded, identical) data,
warms each tool up on a tiny input, then times one call; three runs each, alternating the
tools, and the median is reported. Only the call is timed, not building the data. Each
tool gets its own layout, made before timing: units x coders for cseoutcomes, coders x
units (C-contiguous) for the krippendorff package.

    python benchmarks/bench_agreement.py                 # writes benchmarks/results/agreement.md
    python benchmarks/bench_agreement.py --repeat 1 --boot-peer extrapolate   # a quick look
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import _harness  # benchmarks/_harness.py, beside this script

HERE = Path(__file__).resolve().parent



def alpha_data(units: int, coders: int, seed: int = 0):
    """Ordinal codes 1-5: a true value per unit, coders off by one a third of the time, 10% missing."""
    import numpy as np

    rng = np.random.default_rng(seed)
    true = rng.integers(1, 6, units)
    x = np.clip(true[:, None] + rng.integers(-1, 2, (units, coders)), 1, 5).astype(float)
    x[rng.random(x.shape) < 0.10] = np.nan
    return x


def icc_data(rows: int, raters: int = 10, seed: int = 0):
    """Long ratings: target effect + rater effect + noise, one row per (target, rater)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    targets = rows // raters
    t = np.repeat(np.arange(targets), raters)
    r = np.tile(np.arange(raters), targets)
    y = rng.normal(0, 1, targets)[t] + rng.normal(0, 0.3, raters)[r] + rng.normal(0, 1, t.size)
    return pd.DataFrame({"target": t, "rater": r, "rating": np.round(y, 2)})


def numpy_icc(df, targets: str, raters: str, ratings: str):
    """An independent two-way ANOVA ICC(2,1) in plain numpy (the fallback peer)."""
    import numpy as np

    t = df[targets].to_numpy()
    r = df[raters].to_numpy()
    y = df[ratings].to_numpy(dtype=float)
    n, k = t.max() + 1, r.max() + 1
    mat = np.empty((n, k))
    mat[t, r] = y
    g = mat.mean()
    msr = k * ((mat.mean(1) - g) ** 2).sum() / (n - 1)
    msc = n * ((mat.mean(0) - g) ** 2).sum() / (k - 1)
    mse = (((mat - g) ** 2).sum() - (n - 1) * msr - (k - 1) * msc) / ((n - 1) * (k - 1))
    return (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)


def child(task: str, args: argparse.Namespace) -> dict:
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    if task.startswith("alpha") or task.startswith("boot"):
        x = alpha_data(args.units, args.coders)
        tiny = alpha_data(200, 4, seed=1)
        if task in ("alpha_ours", "boot_ours"):
            from cseoutcomes.psychometrics.agreement import krippendorff_alpha

            krippendorff_alpha(tiny, level="ordinal", bootstrap=10 if task == "boot_ours" else 0, seed=0)
            reps = args.boot if task == "boot_ours" else 0
            start = time.perf_counter()
            est = krippendorff_alpha(x, level="ordinal", bootstrap=reps, seed=1)
            secs = time.perf_counter() - start
            return {"seconds": secs, "value": est.estimate, "ci": est.ci}
        import krippendorff

        xt = np.ascontiguousarray(x.T)
        krippendorff.alpha(np.ascontiguousarray(tiny.T), level_of_measurement="ordinal")
        if task == "alpha_pkg" or (task == "boot_pkg" and args.boot_peer == "extrapolate"):
            start = time.perf_counter()
            value = krippendorff.alpha(xt, level_of_measurement="ordinal")
            secs = time.perf_counter() - start
            if task == "boot_pkg":
                secs *= args.boot
            return {"seconds": secs, "value": float(value)}
        rng = np.random.default_rng(1)
        units = xt.shape[1]
        start = time.perf_counter()
        boots = [krippendorff.alpha(xt[:, rng.integers(0, units, units)], level_of_measurement="ordinal")
                 for _ in range(args.boot)]
        secs = time.perf_counter() - start
        lo, hi = np.quantile(boots, [0.025, 0.975])
        return {"seconds": secs, "value": float(np.mean(boots)), "ci": [float(lo), float(hi)]}
    df = icc_data(args.rows)
    tiny = icc_data(200, seed=1)
    if task == "icc_ours":
        from cseoutcomes.psychometrics.agreement import icc

        icc(tiny, targets="target", raters="rater", ratings="rating")
        start = time.perf_counter()
        res = icc(df, targets="target", raters="rater", ratings="rating")
        secs = time.perf_counter() - start
        return {"seconds": secs, "value": res.get("ICC(2,1)").estimate}
    if task == "icc_reml":
        from cseoutcomes.psychometrics.agreement import icc

        drop = np.random.default_rng(2).random(len(df)) < 0.10
        df = df[~drop]
        icc(tiny.iloc[:-3], targets="target", raters="rater", ratings="rating")
        start = time.perf_counter()
        res = icc(df, targets="target", raters="rater", ratings="rating")
        secs = time.perf_counter() - start
        return {"seconds": secs, "value": res.get("ICC(2,1)").estimate}
    if task == "icc_peer":
        try:
            import pingouin as pg
        except ImportError:
            numpy_icc(tiny, "target", "rater", "rating")
            start = time.perf_counter()
            value = numpy_icc(df, "target", "rater", "rating")
            return {"seconds": time.perf_counter() - start, "value": float(value), "peer": "numpy ANOVA"}
        pg.intraclass_corr(tiny, targets="target", raters="rater", ratings="rating")
        start = time.perf_counter()
        out = pg.intraclass_corr(df, targets="target", raters="rater", ratings="rating")
        secs = time.perf_counter() - start
        value = float(out.loc[out["Type"].isin(["ICC2", "ICC(A,1)"]), "ICC"].iloc[0])  # name varies by version
        return {"seconds": secs, "value": value, "peer": f"pingouin {pg.__version__}"}
    raise ValueError(task)


def run_child(task: str, argv: list[str]) -> dict:
    return _harness.run_child(__file__, "--child", task, *argv)


def versions() -> str:
    import numpy
    import pandas

    parts = [f"CPython {platform.python_version()}", f"numpy {numpy.__version__}", f"pandas {pandas.__version__}"]
    from importlib import metadata

    for mod in ("krippendorff", "pingouin"):
        try:
            parts.append(f"{mod} {metadata.version(mod)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{mod} not installed")
    return ", ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--coders", type=int, default=10)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--boot-peer", choices=["run", "extrapolate"], default="run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="print the table, do not write the results file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args)))
        return
    argv = ["--units", str(args.units), "--coders", str(args.coders), "--rows", str(args.rows),
            "--boot", str(args.boot), "--boot-peer", args.boot_peer]
    pairs = [("alpha_pkg", "alpha_ours"), ("boot_pkg", "boot_ours"), ("icc_peer", "icc_ours"), ("icc_reml",)]
    runs: dict[str, list[dict]] = {}
    for _ in range(args.repeat):
        for pair in pairs:
            for task in pair:
                res = run_child(task, argv)
                runs.setdefault(task, []).append(res)
                print(task, json.dumps(res), file=sys.stderr)
    med = {task: statistics.median(r["seconds"] for r in rs) for task, rs in runs.items()}
    peer_icc = runs["icc_peer"][0].get("peer", "pingouin")
    boot_peer = ("krippendorff.alpha run on each of the unit-resampled data sets" if args.boot_peer == "run"
                 else "one krippendorff.alpha call x the number of resamples (extrapolated)")
    command = "python benchmarks/bench_agreement.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    lines = [
        "# Agreement benchmark",
        "",
        f"Command: `{command}`",
        f"Machine: {platform.machine()}, {versions()}; each figure the median of {args.repeat} "
        "runs, each in a fresh process (only the call is timed).",
        "",
        f"Data: Krippendorff's alpha on {args.units:,} units x {args.coders} coders, ordinal codes 1-5, "
        f"10% missing; ICC on {args.rows:,} long rows ({args.rows // 10:,} targets x 10 raters).",
        "",
        "| task | peer | ratio (cseoutcomes / peer) | cseoutcomes s | peer s | same value |",
        "|---|---|---:|---:|---:|---|",
    ]

    def row(label: str, peer: str, ours: str, theirs: str, same: str) -> str:
        return (f"| {label} | {peer} | {med[ours] / med[theirs]:.3f} | {med[ours]:.3f} | {med[theirs]:.3f} "
                f"| {same} |")

    a_ours, a_pkg = runs["alpha_ours"][0]["value"], runs["alpha_pkg"][0]["value"]
    lines.append(row("`krippendorff_alpha(level='ordinal')`", "`krippendorff.alpha`", "alpha_ours",
                     "alpha_pkg", f"{a_ours:.6f} vs {a_pkg:.6f}"))
    b_ours, b_pkg = runs["boot_ours"][0], runs["boot_pkg"][0]
    ci_note = (f"CI [{b_ours['ci'][0]:.4f}, {b_ours['ci'][1]:.4f}] vs [{b_pkg['ci'][0]:.4f}, {b_pkg['ci'][1]:.4f}]"
               if "ci" in b_pkg else f"alpha {b_ours['value']:.6f}")
    lines.append(row(f"`krippendorff_alpha(..., bootstrap={args.boot})`", boot_peer, "boot_ours", "boot_pkg",
                     ci_note))
    i_ours, i_peer = runs["icc_ours"][0]["value"], runs["icc_peer"][0]["value"]
    lines.append(row("`icc` (six forms, F intervals), long input", f"`{peer_icc}` intraclass_corr"
                     if peer_icc.startswith("pingouin") else peer_icc, "icc_ours", "icc_peer",
                     f"ICC(2,1) {i_ours:.6f} vs {i_peer:.6f}"))
    lines += [
        "",
        f"`icc` with 10% of the ratings missing (mixed-model/REML route, no peer): {med['icc_reml']:.3f} s "
        f"(ICC(2,1) = {runs['icc_reml'][0]['value']:.4f}).",
        "",
        "Bootstrap: cseoutcomes resamples units (each with all its values) and recomputes alpha "
        "for each resample from the units' count vectors; the peer column does the same with the "
        "krippendorff package, which has no bootstrap of its own.",
    ]
    _harness.publish("agreement", "\n".join(lines), write=not args.no_write)


if __name__ == "__main__":
    main()
