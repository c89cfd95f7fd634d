"""cseoutcomes: honest outcome measurement for child sexual exploitation support services.

The public API is listed in ``__all__``. Importing the package is light: every
public name loads its module on first use, so ``import cseoutcomes`` costs a few
milliseconds and brings in neither pandas nor the model stage (PyMC, PyTensor,
JAX) nor plotting (matplotlib).

>>> import cseoutcomes as co
>>> co.get_instrument("cse-risk-indicators").title
'CSE risk indicators'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from cseoutcomes.errors import (
    ConvergenceWarning,
    CseOutcomesError,
    CseOutcomesWarning,
    DataError,
    DefinitionError,
    ModelError,
    ModelWarning,
    PluginWarning,
    ScoringWarning,
    UnknownInstrumentError,
)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from cseoutcomes import data, models, psychometrics, simulate, testing
    from cseoutcomes.data import ValidationReport, pseudonymise, read_assessments, validate
    from cseoutcomes.instruments import (
        Instrument,
        get_instrument,
        list_instruments,
        refresh,
        register_scoring_step,
        score,
    )
    from cseoutcomes.models import ChangeFit, ChangeModel, Priors, load_fit

_LAZY_MODULES = ("coding", "data", "disclosure", "models", "plots", "psychometrics", "simulate", "testing")
_LAZY_NAMES = {
    "ValidationReport": "cseoutcomes.data",
    "pseudonymise": "cseoutcomes.data",
    "read_assessments": "cseoutcomes.data",
    "validate": "cseoutcomes.data",
    "Instrument": "cseoutcomes.instruments",
    "get_instrument": "cseoutcomes.instruments",
    "list_instruments": "cseoutcomes.instruments",
    "refresh": "cseoutcomes.instruments",
    "register_scoring_step": "cseoutcomes.instruments",
    "score": "cseoutcomes.instruments",
    "ChangeModel": "cseoutcomes.models",
    "ChangeFit": "cseoutcomes.models",
    "Priors": "cseoutcomes.models",
    "load_fit": "cseoutcomes.models",
}


def __getattr__(name: str):
    """Load public names and submodules on first use (PEP 562)."""
    if name in _LAZY_MODULES:
        module = importlib.import_module(f"cseoutcomes.{name}")
    elif name in _LAZY_NAMES:
        module = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    elif name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            module = version("cseoutcomes")
        except PackageNotFoundError:  # running from a source tree that is not installed
            module = "0+unknown"
    else:
        raise AttributeError(f"module 'cseoutcomes' has no attribute '{name}'")
    globals()[name] = module
    return module


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ChangeFit",
    "ChangeModel",
    "ConvergenceWarning",
    "CseOutcomesError",
    "CseOutcomesWarning",
    "DataError",
    "DefinitionError",
    "Instrument",
    "ModelError",
    "ModelWarning",
    "PluginWarning",
    "Priors",
    "ScoringWarning",
    "UnknownInstrumentError",
    "ValidationReport",
    "__version__",
    "coding",
    "data",
    "disclosure",
    "get_instrument",
    "list_instruments",
    "load_fit",
    "models",
    "plots",
    "pseudonymise",
    "psychometrics",
    "read_assessments",
    "refresh",
    "register_scoring_step",
    "score",
    "simulate",
    "testing",
    "validate",
]
