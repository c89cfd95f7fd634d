"""statsmodels backend (REML MixedLM) against lme4: a published worked example and a seeded peer fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from peer_change_data import checksum, nested_growth

from conftest import sleep_instrument
from cseoutcomes.models import ChangeModel


@pytest.fixture
def sleep_model():
    # Days are the time unit here; time_unit only scales the (unused by REML) priors
    return ChangeModel(instrument=sleep_instrument(), outcome="reaction", person="Subject", time="Days",
                       time_unit="years", groups={}, person_slopes=True, closure=None)


def test_sleepstudy_uncorrelated_random_slopes_match_bates_2015(sleepstudy, sleep_model):
    """lme4 model fm2, Reaction ~ Days + (1|Subject) + (0 + Days|Subject), REML.

    Published values: Bates D, Mächler M, Bolker B, Walker S (2015) Fitting linear
    mixed-effects models using lme4. J Stat Softw 67(1), section 5 (uncorrelated
    random effects): fixed effects 251.405 (SE 6.885) and 10.467 (SE 1.560); SDs
    25.051 (intercept), 5.988 (Days), residual 25.565. Reproduced in R 4.2.2 with
    lme4 1.1-31 to more digits (the numbers below), log-likelihood -871.834646791.
    """
    fit = sleep_model.fit(sleepstudy.rename(columns={"Reaction": "reaction"}), backend="statsmodels")
    fe, se, vc = fit.fe_params, fit.bse, fit.variance_components
    assert fe["intercept"] == pytest.approx(251.40510485, abs=1e-4)
    assert fe["slope"] == pytest.approx(10.46728596, abs=1e-5)
    assert se["intercept"] == pytest.approx(6.885380817, rel=1e-4)
    assert se["slope"] == pytest.approx(1.559569098, rel=1e-4)
    # optimisers stop at slightly different points on a flat REML surface: 1e-4 relative
    assert vc["person_sd"] == pytest.approx(25.051328325, rel=1e-4)
    assert vc["person_slope_sd"] == pytest.approx(5.988186674, rel=1e-4)
    assert vc["sigma"] == pytest.approx(25.565279202, rel=1e-4)
    assert fit.llf == pytest.approx(-871.834646791, abs=1e-5)
    ch = fit.change().loc[("outcome", "year")]  # one "year" = one day here
    assert ch["mean"] == pytest.approx(10.46728596, abs=1e-5)
    # 90% Wald interval: estimate -/+ 1.6449 SE
    assert ch["upper"] - ch["mean"] == pytest.approx(1.6448536 * 1.559569098, rel=1e-4)
    assert ch["p_improved"] < 1e-6  # reaction times got longer: worse


NESTED_LME4 = {
    # R 4.2.2, lme4 1.1-31: lmer(score ~ months + (1|person_id) + (0+months|service) + (0+months|worker),
    # REML = TRUE, control = lmerControl(optimizer = "Nelder_Mead")) on nested_growth() written to CSV.
    # (bobyqa stops early with max|grad| 0.0037 at 3.83031, 0.46523, 0.61463, 3.02818: same to 1e-3.)
    "intercept": 20.1726631801, "slope": -0.8207256117,
    "person_sd": 3.8300092850, "slope_sd_worker": 0.4652948456, "slope_sd_service": 0.6141041443,
    "sigma": 3.0282545851, "loglik": -3305.71091757,
    # ranef(fm)$service for S0, S1, S2 (bobyqa fit)
    "service_blup": [-0.30692447986, -0.34021808704, 0.05575593121],
}


@pytest.fixture(scope="module")
def nested():
    data = nested_growth()
    assert checksum(data) == "88ad7e230cc64df9", "the seeded peer data changed: regenerate the R values"
    return data.rename(columns={"score": "total"})


def _nested_model():
    return ChangeModel(instrument="progress-ladder", outcome="total", time="months",
                       groups={"service": "service", "worker": "worker"}, nested={"worker": "service"}, closure=None)


def test_nested_random_slopes_match_lme4(nested):
    fit = _nested_model().fit(nested, backend="statsmodels")
    fe, vc = fit.fe_params, fit.variance_components
    assert fe["intercept"] == pytest.approx(NESTED_LME4["intercept"], abs=1e-4)
    assert fe["slope"] == pytest.approx(NESTED_LME4["slope"], abs=1e-4)
    for name in ("person_sd", "slope_sd_worker", "slope_sd_service", "sigma"):
        assert vc[name] == pytest.approx(NESTED_LME4[name], rel=1e-3), name
    assert fit.llf == pytest.approx(NESTED_LME4["loglik"], abs=1e-4)
    groups = fit.by_group("service")
    blups = groups.loc[["S0", "S1", "S2"], "deviation_mean"].to_numpy()
    np.testing.assert_allclose(blups, NESTED_LME4["service_blup"], atol=1e-3)
    np.testing.assert_allclose(groups.loc["S0", "slope_mean"], fe["slope"] + groups.loc["S0", "deviation_mean"])
    assert groups["n_people"].sum() == nested["person_id"].nunique()


def test_independent_blocks_give_the_same_fit_as_one_block(nested, monkeypatch):
    """Splitting rows into the connected components of people and groups is exact, not an approximation."""
    from cseoutcomes.models import _statsmodels

    fast = _nested_model().fit(nested, backend="statsmodels")
    assert fast.result.model.n_groups == 8  # the services
    monkeypatch.setattr(_statsmodels, "independent_blocks", lambda design, levels: np.zeros(design.n, int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow = _nested_model().fit(nested, backend="statsmodels")
    assert slow.result.model.n_groups == 1
    assert fast.llf == pytest.approx(slow.llf, abs=1e-6)
    np.testing.assert_allclose(fast.variance_components, slow.variance_components, rtol=1e-4)


def test_crossed_levels_fall_back_to_fewer_blocks(nested):
    from cseoutcomes.models._statsmodels import independent_blocks
    from cseoutcomes.models.design import build_design

    d = build_design(_nested_model(), nested)
    assert len(np.unique(independent_blocks(d, ["service", "worker"]))) == 8
    assert len(np.unique(independent_blocks(d, []))) == nested["person_id"].nunique()
    crossed = nested.assign(area=np.where(np.arange(len(nested)) % 2, "A", "B"))
    m = _nested_model().model_copy(update={"groups": {"service": "service", "worker": "worker", "area": "area"}})
    d2 = build_design(m, crossed)
    assert len(np.unique(independent_blocks(d2, ["service", "worker", "area"]))) == 1


def test_what_a_reml_fit_cannot_answer_says_so(nested):
    from cseoutcomes.errors import ModelError

    fit = _nested_model().fit(nested, backend="statsmodels")
    for method in (fit.prob_improved, fit.proportion_lower_risk, fit.compare):
        with pytest.raises(ModelError, match=r"posterior draws"):
            method()
    with pytest.raises(ModelError, match="no random slopes for 'area'"):
        fit.by_group("area")


def test_predict_on_the_fitted_rows_gives_statsmodels_fitted_values(sleepstudy, sleep_model):
    data = sleepstudy.rename(columns={"Reaction": "reaction"})
    fit = sleep_model.fit(data, backend="statsmodels")
    pred = fit.predict(data)["expected"].to_numpy()
    d = fit._design
    fitted = d.y_center + d.y_scale * np.asarray(fit.result.fittedvalues)
    np.testing.assert_allclose(pred[fit.row_order], fitted, rtol=1e-10)
    # a new subject gets the population line: intercept + slope * day
    new = data.iloc[[3]].assign(Subject="new")
    fe = fit.fe_params
    assert fit.predict(new)["expected"].iloc[0] == pytest.approx(fe["intercept"] + fe["slope"] * new["Days"].iloc[0])
