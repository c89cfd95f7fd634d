"""An example cseoutcomes plugin.

It ships one instrument definition (``definitions/example-rasch-scale.yaml``)
and one scoring step (:func:`cseoutcomes_example_plugin.scoring.rasch_eap`).
Both reach cseoutcomes through entry points declared in ``pyproject.toml``:

- ``cseoutcomes.instruments``: ``example = "cseoutcomes_example_plugin:instruments"``
- ``cseoutcomes.scoring``: ``rasch_eap = "cseoutcomes_example_plugin.scoring:rasch_eap"``

Once the package is installed, ``cseoutcomes instruments list`` shows
``example-rasch-scale`` and ``cseoutcomes score`` can score it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["__version__", "definitions_dir", "instruments", "load_instruments"]

__version__ = "0.1.0"


def definitions_dir() -> Path:
    """The folder of YAML definitions shipped inside this package."""
    return Path(str(resources.files(__name__) / "definitions"))


def instruments() -> list[Path]:
    """Paths of the plugin's definition files (the ``cseoutcomes.instruments`` entry point).

    cseoutcomes calls this when it discovers instruments and loads each file,
    so a new ``.yaml`` file dropped into ``definitions/`` is picked up
    without touching any code.
    """
    return sorted(p for p in definitions_dir().iterdir() if p.suffix in (".yaml", ".yml"))


def load_instruments() -> list:
    """The plugin's definitions, loaded and validated (for tests and notebooks)."""
    from cseoutcomes import Instrument

    return [Instrument.from_yaml(path) for path in instruments()]
