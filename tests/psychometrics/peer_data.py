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
