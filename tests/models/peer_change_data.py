"""Seeded data for peer checks of the change models against R (values hard-coded in the tests).

``nested_growth()`` makes a continuous outcome with people nested in workers
nested in services, random intercepts per person and random slopes of time per
service and per worker. It was written to CSV and fitted in R 4.2.2 with
lme4 1.1-31::lmer (REML); see the tests for the call and the values.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def nested_growth(seed: int = 20261126) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    n_services, workers_per_service, people_per_worker = 8, 3, 12
    service_slope = rng.normal(0, 0.6, n_services)
    for s in range(n_services):
        for w in range(workers_per_service):
            worker_slope = rng.normal(0, 0.4)
            for p in range(people_per_worker):
                intercept = rng.normal(20, 4)
                n_occ = rng.integers(2, 7)
                times = np.sort(np.r_[0, rng.uniform(0, 24, n_occ - 1)])
                for t in times:
                    y = intercept + (-1.0 + service_slope[s] + worker_slope) * t + rng.normal(0, 3)
                    rows.append((f"P{s}{w}{p:02d}", f"S{s}", f"S{s}W{w}", round(float(t), 4), round(float(y), 4)))
    return pd.DataFrame(rows, columns=["person_id", "service", "worker", "months", "score"])


def checksum(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:16]


if __name__ == "__main__":  # write the CSV the R peer fit reads
    import sys

    df = nested_growth()
    df.to_csv(sys.argv[1] if len(sys.argv) > 1 else "nested_growth.csv", index=False)
    print(len(df), checksum(df))
