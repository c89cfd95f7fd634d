"""Import time: `python -c "import cseoutcomes"` against `python -c "import pymc"`, fresh processes, same run.

The bar (issue 5): cseoutcomes at most 0.1x the time of importing PyMC. Whole
process wall time (interpreter start included), median of 7 alternating runs.

    python benchmarks/bench_import.py      # -> results/import.md
"""

from __future__ import annotations

import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def wall(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True)
    return time.perf_counter() - start


def main() -> None:
    import pymc
    from _harness import publish

    import cseoutcomes

    cases = {"import cseoutcomes": "import cseoutcomes",
             "import cseoutcomes; cseoutcomes.get_instrument(...)":
                 "import cseoutcomes; cseoutcomes.get_instrument('cse-risk-indicators')",
             "import pymc": "import pymc",
             "python -c pass": "pass"}
    for statement in cases.values():  # warm the file cache
        wall(statement)
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(7):
        for name, statement in cases.items():
            times[name].append(wall(statement))
    med = {k: statistics.median(v) for k, v in times.items()}
    ref = med["import pymc"]
    lines = ["# Import time (whole process, median of 7 fresh runs, alternating)", "",
             "| command | seconds | ratio to `import pymc` |", "| --- | ---: | ---: |"]
    lines += [f"| `python -c \"{cases[k]}\"` | {med[k]:.3f} | {med[k] / ref:.3f}x |" for k in cases]
    lines += ["", f"cseoutcomes {cseoutcomes.__version__}, PyMC {pymc.__version__}; Python "
              f"{platform.python_version()}, {platform.machine()}.", "",
              "Command: `python benchmarks/bench_import.py`"]
    publish("import", "\n".join(lines))


if __name__ == "__main__":
    main()
