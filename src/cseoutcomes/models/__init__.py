"""Models of change: specification, backends (PyMC, statsmodels) and fitted results.

``import cseoutcomes.models`` is light: PyMC, PyTensor and nutpie load only when
a model is fitted.
"""

from cseoutcomes.models.fit import ChangeFit, load_fit
from cseoutcomes.models.simulation import draw_prior, simulate_outcomes
from cseoutcomes.models.spec import (
    ChangeModel,
    Dirichlet,
    Dropout,
    Gamma,
    HalfNormal,
    Normal,
    Priors,
    Selection,
)

__all__ = [
    "ChangeFit",
    "ChangeModel",
    "Dirichlet",
    "Dropout",
    "Gamma",
    "HalfNormal",
    "Normal",
    "Priors",
    "Selection",
    "draw_prior",
    "load_fit",
    "simulate_outcomes",
]
