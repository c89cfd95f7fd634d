"""Test data shared by the reliability and polychoric tests.

The R peer values hard-coded in those tests were computed on exactly these tables
(R 4.2.2, psych 2.2.9), so both files must use this one generator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def ordinal_items(seed: int = 20240611, n: int = 500, loadings=(0.8, 0.7, 0.7, 0.6, 0.5, 0.4),
                  missing_rate: float = 0.05) -> pd.DataFrame:
    """Six 5-category items from a one-factor latent normal model, about 5% missing at random.

    Shared with test_polychoric.py (the same generator, the same peer data).
    """
    rng = np.random.default_rng(seed)
    lam = np.asarray(loadings)
    f = rng.standard_normal(n)
    e = rng.standard_normal((n, lam.size))
    z = f[:, None] * lam + e * np.sqrt(1 - lam**2)
    cuts = np.array([-1.5, -0.5, 0.3, 1.2])
    shift = np.linspace(-0.4, 0.4, lam.size)
    x = 1.0 + (z[:, :, None] > (cuts[None, None, :] + shift[None, :, None])).sum(axis=2)
    x[rng.random(x.shape) < missing_rate] = np.nan
    return pd.DataFrame(x, columns=[f"q{j + 1}" for j in range(lam.size)])


# Bock & Lieberman (1970), Psychometrika 35, 179-197: LSAT section 6, five
# dichotomous items, 1000 examinees, response-pattern frequencies (also psych's
# ``data(bock)``: ``lsat6``). Published item proportions correct: .924 .709 .553 .763 .870.
LSAT6 = {"00000": 3, "00001": 6, "00010": 2, "00011": 11, "00100": 1, "00101": 1, "00110": 3,
         "00111": 4, "01000": 1, "01001": 8, "01011": 16, "01101": 3, "01110": 2, "01111": 15,
         "10000": 10, "10001": 29, "10010": 14, "10011": 81, "10100": 3, "10101": 28, "10110": 15,
         "10111": 80, "11000": 16, "11001": 56, "11010": 21, "11011": 173, "11100": 11, "11101": 61,
         "11110": 28, "11111": 298}


def lsat6() -> pd.DataFrame:
    """The 1,000 response patterns as a people x items table of 0/1 (float)."""
    rows = [[int(c) for c in pattern] for pattern, count in LSAT6.items() for _ in range(count)]
    return pd.DataFrame(rows, columns=["Q1", "Q2", "Q3", "Q4", "Q5"], dtype=float)
