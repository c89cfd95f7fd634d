"""Stop early, with the fix, when the plugin is not installed.

cseoutcomes finds the ``rasch_eap`` step and the definitions through entry
points, which only an installed package has; importing the sources from
``src/`` is not enough.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    from cseoutcomes.instruments.scoring import available_scoring_steps

    if "rasch_eap" not in available_scoring_steps():
        raise pytest.UsageError(
            "the example plugin is not installed, so cseoutcomes cannot find its entry points: "
            "run `pip install -e examples/plugin` (or `pip install -e .` in the plugin folder) first")
