"""cseoutcomes: honest outcome measurement for child sexual exploitation support services.

The public API is listed in ``__all__``. Importing the package is light: the
model stage (PyMC, PyTensor, JAX) and plotting (matplotlib) load only when a
model or plot is asked for.

>>> import cseoutcomes as co
>>> co.get_instrument("cse-risk-indicators").title
'CSE risk indicators'
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from cseoutcomes import data
from cseoutcomes.data import ValidationReport, pseudonymise, read_assessments, validate
from cseoutcomes.errors import (
    CseOutcomesError,
    CseOutcomesWarning,
    DataError,
    DefinitionError,
    PluginWarning,
    ScoringWarning,
    UnknownInstrumentError,
)
from cseoutcomes.instruments import (
    Instrument,
    get_instrument,
    list_instruments,
    refresh,
    register_scoring_step,
    score,
)

_LAZY_MODULES = ("psychometrics", "simulate", "testing")


def __getattr__(name: str):
    """Submodules that pull in SciPy and friends load on first use (``co.psychometrics``)."""
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"cseoutcomes.{name}")
    raise AttributeError(f"module 'cseoutcomes' has no attribute '{name}'")


try:
    __version__ = _version("cseoutcomes")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "CseOutcomesError",
    "CseOutcomesWarning",
    "DataError",
    "DefinitionError",
    "Instrument",
    "PluginWarning",
    "ScoringWarning",
    "UnknownInstrumentError",
    "ValidationReport",
    "__version__",
    "data",
    "get_instrument",
    "list_instruments",
    "pseudonymise",
    "read_assessments",
    "refresh",
    "register_scoring_step",
    "score",
    "validate",
]
