"""The plugin's definitions pass the cseoutcomes conformance suite.

These tests need the plugin *installed* (``pip install -e .``): cseoutcomes
finds the ``rasch_eap`` step and the definitions through entry points, which
exist only in an installed package's metadata.
"""

from __future__ import annotations

import cseoutcomes as co
from cseoutcomes.instruments.scoring import available_scoring_steps, get_scoring_step
from cseoutcomes.testing import check_instrument, parametrize_with_checks

from cseoutcomes_example_plugin import instruments, load_instruments
from cseoutcomes_example_plugin.scoring import rasch_eap


def test_entry_points_are_installed():
    assert "rasch_eap" in available_scoring_steps(), "install the plugin first: pip install -e examples/plugin"
    assert get_scoring_step("rasch_eap") is rasch_eap
    inst = co.get_instrument("example-rasch-scale")
    # the registry names the plugin, its package and the file it loaded
    assert inst.source == "plugin 'example' (cseoutcomes-example-plugin): example-rasch-scale.yaml"
    assert inst == load_instruments()[0]


def test_definitions_ship_inside_the_package():
    paths = instruments()
    assert [p.name for p in paths] == ["example-rasch-scale.yaml"]
    assert all(p.is_file() for p in paths)


@parametrize_with_checks(load_instruments())
def test_conformance(instrument, check):
    check(instrument)


def test_check_instrument_reports_nothing():
    for inst in load_instruments():
        check_instrument(inst)
