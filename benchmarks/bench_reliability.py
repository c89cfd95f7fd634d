"""Benchmark: cronbach_alpha on 1,000,000 people x 20 items, side by side with pingouin.

Each figure is the median of 3 runs, each in a fresh process, tools alternating;
only the call is timed. Both tools get the same DataFrame (listwise deletion,
1% of cells missing) and must agree on alpha and its Feldt interval.

    python benchmarks/bench_reliability.py     # writes benchmarks/results/reliability.md
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import _harness  # benchmarks/_harness.py, beside this script

HERE = Path(__file__).resolve().parent



def make_items(rows: int, items: int = 20, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    trait = rng.normal(size=(rows, 1))
    values = np.clip(np.round(2 + trait * 0.9 + rng.normal(size=(rows, items))), 0, 4)
    values[rng.random(values.shape) < 0.01] = np.nan
    return pd.DataFrame(values, columns=[f"i{j:02d}" for j in range(items)])


def run_one(tool: str, rows: int) -> dict:
    data = make_items(rows)
    if tool == "cseoutcomes":
        from cseoutcomes.psychometrics import cronbach_alpha

        t0 = time.perf_counter()
        est = cronbach_alpha(data, ci_method="feldt")
        elapsed = time.perf_counter() - t0
        return {"tool": tool, "seconds": elapsed, "alpha": est.estimate, "ci": list(est.ci)}
    import pingouin as pg

    t0 = time.perf_counter()
    alpha, ci = pg.cronbach_alpha(data=data, nan_policy="listwise")
    elapsed = time.perf_counter() - t0
    return {"tool": tool, "seconds": elapsed, "alpha": float(alpha), "ci": [float(c) for c in ci]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "ROWS"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], int(args.child[1]))))
        return
    runs: dict[str, list[dict]] = {"pingouin": [], "cseoutcomes": []}
    for _ in range(args.repeat):
        for tool in runs:
            runs[tool].append(_harness.run_child(__file__, "--child", tool, str(args.rows)))
    med = {t: statistics.median(r["seconds"] for r in rs) for t, rs in runs.items()}
    c, p = runs["cseoutcomes"][0], runs["pingouin"][0]
    import pandas as pd
    import pingouin

    text = "\n".join([
        "# Reliability benchmark",
        "",
        f"Command: `python benchmarks/bench_reliability.py --rows {args.rows} --repeat {args.repeat}`",
        f"Machine: {platform.machine()}, CPython {platform.python_version()}, pandas {pd.__version__}, "
        f"pingouin {pingouin.__version__}; median of {args.repeat} runs, each in a fresh process.",
        "",
        f"Data: {args.rows:,} people x 20 items (0-4), 1% of cells missing, listwise deletion.",
        "",
        "| task | seconds (median) | ratio to pingouin | alpha | 95% Feldt interval |",
        "|---|---:|---:|---:|---|",
        f"| pingouin `cronbach_alpha` | {med['pingouin']:.3f} | 1.00 | {p['alpha']:.6f} | "
        f"[{p['ci'][0]:.3f}, {p['ci'][1]:.3f}] |",
        f"| cseoutcomes `cronbach_alpha` | {med['cseoutcomes']:.3f} | {med['cseoutcomes'] / med['pingouin']:.2f} | "
        f"{c['alpha']:.6f} | [{c['ci'][0]:.3f}, {c['ci'][1]:.3f}] |",
        "",
        "cseoutcomes also returns standardised alpha, Duhachek's interval and the item counts in the same call.",
        "",
    ])
    _harness.publish("reliability", text, write=not args.no_write)


if __name__ == "__main__":
    main()
