"""What every benchmark here shares: measurements in fresh processes, and the committed results file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


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
