"""The small synthetic example table bundled with the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["example_path", "load_example"]

_EXAMPLES = {"cse-risk": "cse_risk_example.csv"}


def example_path(name: str = "cse-risk") -> Path:
    """Path of a bundled example table (``"cse-risk"``: invented assessments on ``cse-risk-indicators``)."""
    if name not in _EXAMPLES:
        raise KeyError(f"no example '{name}' (available: {', '.join(_EXAMPLES)})")
    return Path(str(resources.files("cseoutcomes.data") / "example" / _EXAMPLES[name]))


def load_example(name: str = "cse-risk") -> pd.DataFrame:
    """Load a bundled example table.

    >>> from cseoutcomes.data import load_example
    >>> load_example().shape[0]
    18
    """
    from cseoutcomes.data.io import read_table

    return read_table(example_path(name))
