"""The conformance suite passes every built-in and catches instruments that break its rules."""

from __future__ import annotations

import pytest

import cseoutcomes as co
from cseoutcomes.testing import check_instrument, check_overrides_reachable, parametrize_with_checks


@parametrize_with_checks(co.list_instruments())
def test_builtin_conforms(instrument, check):
    check(instrument)


def test_parametrize_gives_readable_ids():
    mark = parametrize_with_checks([co.get_instrument("swemwbs")])
    ids = mark.kwargs["ids"]
    assert "swemwbs@1.0.0-check_scoring_total" in ids


def _risk_with(**changes):
    data = co.get_instrument("cse-risk-indicators").to_dict()
    for key, value in changes.items():
        data[key] = value
    return co.Instrument.from_dict(data)


def test_unreachable_override_is_caught():
    """An override whose condition can never hold (age < 0) fails the reachability check."""
    data = co.get_instrument("cse-risk-indicators").to_dict()
    score = data["scores"][0]
    score["overrides"] = [{"id": "never", "when": {"all": [{"field": "age", "lt": 0}, {"field": "age", "gt": 1}]},
                           "action": "set", "band": "significant", "reason": "cannot happen"}]
    inst = co.Instrument.from_dict(data)
    with pytest.raises(AssertionError, match="override 'never' of score 'total' never applies"):
        check_overrides_reachable(inst)


def test_check_instrument_reports_every_failure():
    data = co.get_instrument("cse-risk-indicators").to_dict()
    data["response_scales"]["unused"] = {"categories": [{"code": "a"}, {"code": "b"}]}
    data["scores"][0]["overrides"] = [{"id": "never", "when": {"all": [{"field": "age", "lt": 0}, {"field": "age", "gt": 1}]},
                                       "action": "set", "band": "significant", "reason": "cannot happen"}]
    inst = co.Instrument.from_dict(data)
    with pytest.raises(AssertionError) as err:
        check_instrument(inst)
    text = str(err.value)
    assert "fails 2 check(s)" in text
    assert "check_categories_complete" in text and "check_overrides_reachable" in text
