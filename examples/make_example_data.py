"""Build the small synthetic table bundled for `cseoutcomes demo`.

Six invented young people, each assessed at referral and at reviews about every
three months on `cse-risk-indicators`. Nothing here describes a real person.
Run it to regenerate src/cseoutcomes/data/example/cse_risk_example.csv; the test
suite checks that the bundled file is exactly what this script writes.

    python examples/make_example_data.py [OUTPUT.csv]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

import cseoutcomes as co

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/cseoutcomes/data/example/cse_risk_example.csv"

# (pseudonym, age at referral, referral date, number of assessments, starting level 0-1, yearly change)
PEOPLE = [
    ("YP-A", 15.2, "2015-01-12", 4, 0.55, -0.35),
    ("YP-B", 14.1, "2015-02-03", 3, 0.45, -0.20),
    ("YP-C", 12.4, "2015-03-20", 3, 0.35, -0.25),
    ("YP-D", 16.0, "2015-04-07", 2, 0.60, 0.05),
    ("YP-E", 13.5, "2015-05-15", 4, 0.40, -0.30),
    ("YP-F", 17.1, "2015-06-01", 2, 0.30, -0.10),
]


def build(seed: int = 20150101) -> pd.DataFrame:
    inst = co.get_instrument("cse-risk-indicators")
    rng = np.random.default_rng(seed)
    rows = []
    for person, age, start, n_occ, level, slope in PEOPLE:
        start = pd.Timestamp(start)
        for occ in range(n_occ):
            months = 3 * occ
            p = float(np.clip(level + slope * months / 12, 0.02, 0.95))
            row = {
                "person_id": person,
                "occasion": occ,
                "assessment_date": (start + pd.DateOffset(months=months)).date().isoformat(),
                "age": round(age + months / 12, 1),
                "worker": "W1" if person in ("YP-A", "YP-B", "YP-C") else "W2",
            }
            for item in inst.items:
                weight = {"vulnerabilities": 1.0, "moderate": 0.8, "significant": 0.35}[item.section]
                u = rng.random()
                if u < p * weight:
                    value = "yes"
                elif u < p * weight + 0.06:
                    value = "possible"
                elif u < p * weight + 0.09:
                    value = "unknown"
                else:
                    value = "no"
                row[item.id] = value
                if item.recency is not None:
                    row[item.id + item.recency.column_suffix] = (
                        int(rng.choice([0, 2, 5, 8, 11])) if value == "yes" else None)
            rows.append(row)
    table = pd.DataFrame(rows)
    # one disclosure at referral, so the override shows in the demo
    table.loc[0, "disclosure"] = "yes"
    table.loc[0, "disclosure_months_ago"] = 1
    return table


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    table = build()
    table.to_csv(out, index=False, float_format="%g")
    print(f"wrote {len(table)} assessments to {out}")


if __name__ == "__main__":
    main(sys.argv)
