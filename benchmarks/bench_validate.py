"""Benchmark: validate + score 1,000,000 wide assessments, side by side with pandera.

Issue 3's bar: on this 2-core machine, cseoutcomes' ``validate`` (every rule
enabled) plus ``score`` on 1,000,000 assessments of a 20-item instrument takes no
longer than pandera running only category (``isin``) checks on the same table, in
the same run; and peak memory stays under 4x the table's in-memory size.

Each measurement runs in its own subprocess (so peak memory is its own), three
times, alternating the two tools; the table is the same in every run (seeded).
The table has the dtypes ``read_csv`` gives an export (text columns).

Also: reading a 100,000-row XLSX with openpyxl and with calamine.

    python benchmarks/bench_validate.py            # writes benchmarks/results/validate.md
    python benchmarks/bench_validate.py --rows 200000 --repeat 1   # a quick look
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



def make_table(rows: int, seed: int = 0):
    """A realistic export: 5 assessments a person, 90 days apart, with about 1% of each kind of problem."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    person = np.arange(rows) // 5
    occasion = np.arange(rows) % 5
    start = pd.Timestamp("2014-01-01") + pd.to_timedelta(rng.integers(0, 1000, rows // 5 + 1), unit="D")
    date = start[person] + pd.to_timedelta(occasion * 90 + rng.integers(-10, 10, rows), unit="D")
    date_text = np.asarray(date.strftime("%Y-%m-%d"), dtype=object)
    date_text[rng.random(rows) < 0.002] = "31/02/2016"  # unparseable
    age = 9 + (person % 10) + occasion / 4
    data = {
        "person_id": pd.Series([f"P{p:07d}" for p in person], dtype="str"),
        "assessment_date": pd.Series(date_text, dtype="str"),
        "occasion": pd.Series(occasion.astype(str), dtype="str"),
        "worker": pd.Series([f"W{w:03d}" for w in person % 60], dtype="str"),
        "age": pd.Series(np.round(age, 1).astype(str), dtype="str"),
    }
    codes = np.array(["0", "1", "2", "3", "4", "unknown", "declined", "", "5", "yes"], dtype=object)
    probs = np.array([0.2, 0.2, 0.2, 0.17, 0.17, 0.02, 0.01, 0.01, 0.001, 0.001])
    probs = probs / probs.sum()
    for i in range(1, 21):
        col = codes[rng.choice(len(codes), rows, p=probs)]
        s = pd.Series(col, dtype="str")
        data[f"i{i:02d}"] = s.where(s != "", None)
    # routing: the follow-up items (17-20) are asked when item 1 is 3 or 4; a few rows break the rule
    skipped = ~data["i01"].isin(["3", "4"]).to_numpy() & (rng.random(rows) > 0.01)
    for i in range(17, 21):
        data[f"i{i:02d}"] = data[f"i{i:02d}"].where(~skipped, None)
    table = pd.DataFrame(data)
    # the recorded band agrees with the items except in about 1% of rows
    import warnings

    import cseoutcomes as co

    inst = co.Instrument.from_yaml(HERE / "bench20.yaml")
    clean = table.copy()
    for i in range(1, 21):
        clean[f"i{i:02d}"] = clean[f"i{i:02d}"].where(clean[f"i{i:02d}"].isin(["0", "1", "2", "3", "4"]), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        band = co.score(clean, inst)["total_band"].astype(object).to_numpy().copy()
    flip = rng.random(rows) < 0.01
    band[flip] = np.array(["low", "medium", "high"], dtype=object)[rng.integers(0, 3, flip.sum())]
    table["total_band"] = pd.Series(band, dtype="str")
    last = occasion == 4
    closed = last & (rng.random(rows) < 0.5)
    table["closure_date"] = pd.Series(np.where(closed, (date + pd.Timedelta(days=30)).strftime("%Y-%m-%d"), None),
                                      dtype="str")
    reasons = np.array(["risk_reduced", "not_engaging", "moved_away", "not_contactable", None], dtype=object)
    table["closure_reason"] = pd.Series(np.where(closed, reasons[rng.integers(0, 5, rows)], None), dtype="str")
    return table


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> float:
    """Reset the kernel's peak-RSS mark (VmHWM) and return the current RSS in MB."""
    import gc

    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def run_one(tool: str, rows: int) -> dict:
    """In a fresh process: build the table, then time the tool on it."""
    import warnings

    table = make_table(rows)
    size_mb = table.memory_usage(deep=True).sum() / 2**20
    if tool == "cseoutcomes":
        import cseoutcomes  # noqa: F401 - import cost is not part of the measurement
    else:
        import pandera.pandas  # noqa: F401
    before = _reset_peak()
    if tool == "cseoutcomes":
        import cseoutcomes as co

        inst = co.Instrument.from_yaml(HERE / "bench20.yaml")
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # validate scores every row as it checks it (report.scores): that is the "validate and score" job
            report = co.validate(table, inst, today="2020-01-01")
        elapsed = time.perf_counter() - t0
        # the valid and quarantined tables are built when first asked for: time that apart
        t1 = time.perf_counter()
        n_valid, n_quarantined = len(report.valid), len(report.quarantined)
        split = time.perf_counter() - t1
        extra = {"issues": len(report.issues), "valid": n_valid, "quarantined": n_quarantined,
                 "scored": int(report.scores["total"].notna().sum()), "split_seconds": split}
    else:
        import pandera.pandas as pa

        allowed = ["0", "1", "2", "3", "4", "unknown", "declined"]
        schema = pa.DataFrameSchema(
            {f"i{i:02d}": pa.Column(str, pa.Check.isin(allowed), nullable=True) for i in range(1, 21)})
        t0 = time.perf_counter()
        try:
            schema.validate(table, lazy=True)
            failures = 0
        except pa.errors.SchemaErrors as err:
            failures = len(err.failure_cases)
        elapsed = time.perf_counter() - t0
        extra = {"failure_cases": failures}
    return {"tool": tool, "seconds": elapsed, "table_mb": size_mb, "peak_extra_mb": _status_mb("VmHWM") - before,
            **extra}


def read_xlsx(engine: str, path: str) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    table = pd.read_excel(path, engine=engine, dtype=object)
    return {"engine": engine, "seconds": time.perf_counter() - t0, "rows": len(table)}


def _child(args: list[str]) -> dict:
    return _harness.run_child(__file__, *args)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "ROWS"))
    parser.add_argument("--xlsx-child", nargs=2, metavar=("ENGINE", "PATH"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], int(args.child[1]))))
        return
    if args.xlsx_child:
        print(json.dumps(read_xlsx(*args.xlsx_child)))
        return

    runs: dict[str, list[dict]] = {"cseoutcomes": [], "pandera": []}
    for _ in range(args.repeat):
        for tool in ("pandera", "cseoutcomes"):
            result = _child(["--child", tool, str(args.rows)])
            runs[tool].append(result)
            print(json.dumps(result), file=sys.stderr)
    med = {tool: statistics.median(r["seconds"] for r in rs) for tool, rs in runs.items()}
    mem = max(r["peak_extra_mb"] for r in runs["cseoutcomes"])
    size = runs["cseoutcomes"][0]["table_mb"]

    import tempfile

    import pandas as pd

    xlsx_runs: dict[str, list[float]] = {"openpyxl": [], "calamine": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "export.xlsx")
        make_table(args.xlsx_rows).to_excel(path, index=False)
        for _ in range(args.repeat):
            for engine in xlsx_runs:
                xlsx_runs[engine].append(_child(["--xlsx-child", engine, path])["seconds"])
    xmed = {e: statistics.median(v) for e, v in xlsx_runs.items()}

    c = runs["cseoutcomes"][0]
    lines = [
        "# Validation benchmark",
        "",
        f"Command: `python benchmarks/bench_validate.py --rows {args.rows} --repeat {args.repeat} "
        f"--xlsx-rows {args.xlsx_rows}`",
        f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"pandas {pd.__version__}; each figure the median of {args.repeat} runs, each in a fresh process.",
        "",
        f"Table: {args.rows:,} assessments x 20 items (+ person, date, occasion, worker, age, recorded band,"
        f" closure date and reason), {size:,.0f} MB in memory; {c['issues']:,} issues found, "
        f"{c['quarantined']:,} rows quarantined.",
        "",
        "| task | seconds (median) | ratio to pandera |",
        "|---|---:|---:|",
        f"| pandera: `isin` checks on the 20 item columns only (lazy) | {med['pandera']:.2f} | 1.00 |",
        f"| cseoutcomes: `validate` (all {len(__import__('cseoutcomes').data.rules.RULES)} rules, scores included) | "
        f"{med['cseoutcomes']:.2f} | {med['cseoutcomes'] / med['pandera']:.2f} |",
        "",
        f"Building `report.valid` and `report.quarantined` (copies of the rows, made when first asked for): "
        f"{statistics.median(r['split_seconds'] for r in runs['cseoutcomes']):.2f} s more.",
        "",
        f"Peak memory added by cseoutcomes' validate (VmHWM after a reset, minus RSS before): {mem:,.0f} MB = "
        f"{mem / size:.2f}x the table's in-memory size (bar: 4x).",
        "",
        f"Reading a {args.xlsx_rows:,}-row XLSX (same columns) with pandas.read_excel:",
        "",
        "| engine | seconds (median) | ratio to openpyxl |",
        "|---|---:|---:|",
        f"| openpyxl | {xmed['openpyxl']:.2f} | 1.00 |",
        f"| calamine | {xmed['calamine']:.2f} | {xmed['calamine'] / xmed['openpyxl']:.2f} |",
        "",
    ]
    _harness.publish("validate", "\n".join(lines), write=not args.no_write)


if __name__ == "__main__":
    main()
