"""ChangeModel: what an outcome means, which family it gets, and the errors for impossible requests."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import cseoutcomes as co
from cseoutcomes.errors import ModelError
from cseoutcomes.models import ChangeModel, HalfNormal, Priors


def test_band_is_ordinal_with_every_declared_band():
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band")
    inst = co.get_instrument("cse-risk-indicators")
    assert m.family_resolved == "ordinal"
    assert m.categories == tuple(b.code for b in inst.get_score("total").bands)
    assert m.direction_resolved == "higher_is_worse"


def test_score_is_gaussian_and_student_t_on_request():
    assert ChangeModel(instrument="cse-risk-indicators", outcome="total").family_resolved == "gaussian"
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total", family="student_t")
    assert m.family_resolved == "student_t"


def test_ladder_domain_is_ordinal_over_its_ten_rungs_and_higher_is_better():
    inst = co.get_instrument("progress-ladder")
    item = inst.items[0]
    m = ChangeModel(instrument="progress-ladder", outcome=item.id)
    assert m.family_resolved == "ordinal"
    assert m.categories == tuple(c.code for c in inst.scale_of(item).categories)
    assert len(m.categories) == 10
    assert m.direction_resolved == "higher_is_better"


def test_an_instrument_object_is_kept_and_round_trips_through_json():
    inst = co.get_instrument("goal-based-outcomes")
    m = ChangeModel(instrument=inst, outcome="goal_1", groups={})
    again = ChangeModel.model_validate_json(m.model_dump_json())
    assert again == m
    assert again.get_instrument() == inst


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"outcome": "totl"}, "is not a score, band or item"),
    ({"outcome": "total", "family": "ordinal"}, "an ordinal model needs ordered categories"),
    ({"outcome": "total_band", "family": "gaussian"}, "is ordinal"),
])
def test_impossible_outcome_and_family_are_one_line_model_errors(kwargs, fragment):
    with pytest.raises(ModelError) as err:
        ChangeModel(instrument="cse-risk-indicators", **kwargs)
    text = str(err.value)
    assert fragment in text
    assert "\n" not in text
    assert err.value.hint


def test_unknown_instrument_says_what_is_available():
    with pytest.raises(co.UnknownInstrumentError):
        ChangeModel(instrument="no-such-thing", outcome="total")


def test_item_without_a_direction_needs_one():
    inst = co.Instrument.from_dict({
        "id": "no-direction", "version": "1.0.0", "title": "t", "kind": "distance_travelled",
        "citation": [{"text": "test"}], "licence": {"name": "CC0-1.0", "wording_may_ship": True},
        "response_scales": {"s": {"categories": [{"code": "a"}, {"code": "b"}, {"code": "c"}]}},
        "items": [{"id": "q", "label": "q", "scale": "s"}],
    })
    with pytest.raises(ModelError, match="direction"):
        ChangeModel(instrument=inst, outcome="q", groups={})
    m = ChangeModel(instrument=inst, outcome="q", groups={}, direction="higher_is_better")
    assert m.direction_resolved == "higher_is_better"


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"slopes_by": ("hub",)}, "slopes_by: 'hub' is not a level"),
    ({"intercepts_by": ("team",)}, "intercepts_by: 'team' is not a level"),
    ({"nested": {"worker": "region"}}, "nested"),
    ({"groups": {"person": "x"}}, "reserved"),
    ({"priors": Priors(slope_sd_by={"hub": HalfNormal(sigma=1)})}, "has no random slope"),
])
def test_inconsistent_grouping_is_rejected(kwargs, fragment):
    with pytest.raises(ValidationError, match=fragment):
        ChangeModel(instrument="cse-risk-indicators", outcome="total_band", **kwargs)


def test_describe_reads_like_the_formula():
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={"service": "hub"},
                    person_slopes=True, intercepts_by=("service",), covariates=("age",))
    assert m.describe() == ("total_band ~ time + (1 + time || person) + (1 | service) + (0 + time | service) + age"
                            "  [cumulative logit; time in months]")


def test_priors_are_frozen_and_overridable():
    p = Priors(slope_sd=HalfNormal(sigma=0.5))
    assert p.slope_sd.sigma == 0.5
    assert p.for_slope("worker").sigma == 0.5
    with pytest.raises(ValidationError):
        HalfNormal(sigma=0)
    with pytest.raises(ValidationError):
        p.slope_sd = HalfNormal(sigma=2)  # frozen


def test_unknown_backend_and_sampler_are_model_errors():
    from cseoutcomes.simulate import hub_and_spoke

    data = hub_and_spoke(seed=3, n_hubs=2, n_areas=2, n_workers=3).assessments
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total")
    with pytest.raises(ModelError, match="unknown backend"):
        m.fit(data, backend="stan")
    with pytest.raises(ModelError, match="no sampler"):
        m.fit(data, backend="statsmodels", sampler="nutpie")
    with pytest.raises(ModelError, match="unknown sampler"):
        m.fit(data, sampler="gibbs")


def test_statsmodels_backend_refuses_ordinal_clearly():
    from cseoutcomes.simulate import hub_and_spoke

    data = hub_and_spoke(seed=3, n_hubs=2, n_areas=2, n_workers=3).assessments
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band")
    with pytest.raises(ModelError, match="linear mixed models only") as err:
        m.fit(data, backend="statsmodels")
    assert "backend='pymc'" in err.value.hint


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"outcome": "total_band", "selection": {"at_least": "severe"}}, "is not a category"),
    ({"outcome": "total_band", "selection": {"at_least": "not_at_risk"}}, "selects everyone"),
    ({"outcome": "total", "family": "student_t", "selection": {"at_least": 11}}, "ordinal and Gaussian"),
    ({"outcome": "total", "selection": {"at_least": "eleven"}}, "is not a number"),
])
def test_impossible_selections_are_model_errors(kwargs, fragment):
    with pytest.raises(ModelError, match=fragment):
        ChangeModel(instrument="cse-risk-indicators", **kwargs)


def test_selection_is_described():
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={},
                    selection={"at_least": "MODERATE"})
    assert m.describe().endswith("referral selected at >= MODERATE]")
    assert m._resolve()["selection_index"] == 2


def test_statsmodels_backend_refuses_referral_selection():
    from cseoutcomes.simulate import hub_and_spoke

    data = hub_and_spoke(seed=3, n_hubs=2, n_areas=2, n_workers=3).assessments
    m = ChangeModel(instrument="cse-risk-indicators", outcome="total", selection={"at_least": 11})
    with pytest.raises(ModelError, match="cannot condition"):
        m.fit(data, backend="statsmodels")
