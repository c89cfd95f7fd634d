"""PyMC backend: estimands on a small simulated programme, published fits, agreement with REML, recovery.

Fits are small (a few hundred assessments, 2 chains) and marked slow.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from peer_change_data import nested_growth

from conftest import quiet_fit, sleep_instrument, wine_instrument
from cseoutcomes.errors import ConvergenceWarning, DataError, ModelError
from cseoutcomes.models import (
    ChangeFit,
    ChangeModel,
    HalfNormal,
    Normal,
    Priors,
    load_fit,
    simulate_outcomes,
)
from cseoutcomes.simulate import hub_and_spoke

pytestmark = pytest.mark.slow


_fit = quiet_fit


@pytest.fixture(scope="module")
def programme():
    return hub_and_spoke(seed=5, n_hubs=3, n_areas=4, n_workers=6)


@pytest.fixture(scope="module")
def band_model():
    return ChangeModel(instrument="cse-risk-indicators", outcome="total_band",
                       groups={"service": "service", "worker": "worker"})


@pytest.fixture(scope="module")
def band_fit(programme, band_model):
    return _fit(band_model, programme.assessments)


def test_fit_keeps_a_datatree_with_named_dimensions_and_log_likelihood(band_fit, programme):
    tree = band_fit.idata
    assert {"posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data"} <= set(tree.children)
    post = tree["posterior"]
    assert post["person_intercept"].dims == ("chain", "draw", "person")
    assert post["slope_worker"].dims == ("chain", "draw", "worker")
    assert post["slope_service"].dims == ("chain", "draw", "service")
    assert post["cutpoints"].dims == ("chain", "draw", "cutpoint")
    assert tree["log_likelihood"]["y"].dims == ("chain", "draw", "occasion")
    assert tree["constant_data"]["category_label"].dims == ("category",)
    assert tree["log_likelihood"]["y"].shape == (2, 500, len(programme.assessments))
    assert not any(name.startswith("z_") for name in post.data_vars)
    assert np.isfinite(tree["log_likelihood"]["y"].values).all()


def test_naive_share_is_the_usual_computation(band_fit, programme):
    share = band_fit.proportion_lower_risk(at="closure")
    assert share.loc["naive", "mean"] == pytest.approx(programme.naive_share_lower())
    assert share["n_cases"].iloc[0] == int(programme.truth["people"]["closed_in_window"].sum())
    for row in ("replicated", "latent"):
        lo, mean, hi = share.loc[row, ["lower", "mean", "upper"]]
        assert 0 <= lo <= mean <= hi <= 1
    every = band_fit.proportion_lower_risk(at="last")
    assert every["n_cases"].iloc[0] == programme.assessments["person_id"].nunique()
    with pytest.raises(ModelError, match="at='sometime'"):
        band_fit.proportion_lower_risk(at="sometime")


def test_change_is_consistent_across_scales_and_units(band_fit):
    ch = band_fit.change()
    assert ch.loc[("latent", "year"), "mean"] == pytest.approx(12 * ch.loc[("latent", "month"), "mean"])
    assert ch.loc[("outcome", "year"), "mean"] == pytest.approx(12 * ch.loc[("outcome", "month"), "mean"])
    slope = band_fit.posterior["slope"].values.ravel()
    assert ch.loc[("latent", "month"), "mean"] == pytest.approx(slope.mean())
    assert ch.loc[("latent", "month"), "p_improved"] == pytest.approx(np.mean(slope < 0))
    # the expected band moves in the same direction as the latent risk
    assert np.sign(ch.loc[("outcome", "month"), "mean"]) == np.sign(ch.loc[("latent", "month"), "mean"])


def test_prob_improved_per_person(band_fit, programme):
    p = band_fit.prob_improved()
    people = programme.assessments.groupby("person_id").size()
    assert len(p) == len(people)
    assert (p["n_assessments"] == people.reindex(p.index)).all()
    single = p["n_assessments"] == 1
    assert p.loc[single, "prob_improved"].isna().all()
    assert p.loc[~single, "prob_improved"].between(0, 1).all()
    assert (p["change_lower"] <= p["change_upper"]).all()


def test_by_group_is_partially_pooled_and_ready_to_plot(band_fit, programme):
    g = band_fit.by_group("worker")
    assert len(g) == programme.assessments["worker"].nunique()
    assert g["slope_mean"].is_monotonic_increasing
    assert g["n_people"].sum() == programme.assessments["person_id"].nunique()
    # partial pooling: the spread of group estimates is no wider than the posterior of the SD allows
    assert g["deviation_mean"].std() < 3 * band_fit.posterior["slope_sd_worker"].values.mean()
    with pytest.raises(ModelError, match="not a grouping level"):
        band_fit.by_group("region")


def test_predict_is_reproducible_and_new_groups_are_more_uncertain(band_fit, programme):
    known = programme.assessments.iloc[[0]]
    new = known.assign(person_id="someone new", worker="new worker", service="new service")
    both = pd.concat([known, new], ignore_index=True).assign(assessment_date=[6.0, 6.0])
    a = band_fit.predict(both, seed=3)
    b = band_fit.predict(both, seed=3)
    pd.testing.assert_frame_equal(a, b)
    probs = a.filter(like="p_")
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    draws = band_fit.predict(both, seed=3, kind="draws")
    assert draws.shape == (band_fit.n_draws, 2)
    assert draws[:, 1].std() > 0
    with pytest.raises(DataError, match="missing from new_data"):
        band_fit.predict(both.drop(columns="worker"))


def test_save_and_load_answer_the_same(band_fit, tmp_path):
    path = tmp_path / "fit.nc"
    band_fit.save(path)
    again = load_fit(path)
    pd.testing.assert_frame_equal(again.change(), band_fit.change())
    pd.testing.assert_frame_equal(again.proportion_lower_risk(), band_fit.proportion_lower_risk())
    pd.testing.assert_frame_equal(again.by_group("service"), band_fit.by_group("service"))
    assert again.model == band_fit.model
    with pytest.raises(DataError, match="file not found"):
        load_fit(tmp_path / "nothing.nc")


def test_diagnostics_summary_and_notebook_view(band_fit):
    diag = band_fit.diagnostics(warn=False)
    assert {"r_hat", "ess_bulk", "ess_tail", "ok"} <= set(diag.columns)
    assert "slope_sd_worker" in diag.index and "cutpoints[not_at_risk|mild]" in diag.index
    assert {"divergences", "max_treedepth_hits", "ok"} <= set(diag.attrs)
    if not diag.attrs["ok"]:
        with pytest.warns(ConvergenceWarning, match="convergence checks"):
            band_fit.diagnostics()
    s = band_fit.summary()
    assert (s["lower"] <= s["mean"]).all() and (s["mean"] <= s["upper"]).all()
    html = band_fit._repr_html_()
    assert "<table" in html and "Convergence" in html
    assert "ChangeFit" in repr(band_fit)


def test_a_short_run_warns_that_it_has_not_converged(programme, band_model):
    with pytest.warns(ConvergenceWarning, match="ESS < 400"):
        band_model.fit(programme.assessments, draws=30, tune=30, seed=2, progress=False)


def test_compare_by_loo(band_fit, programme, band_model):
    simpler = _fit(band_model.model_copy(update={"groups": {"service": "service"}}), programme.assessments)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        table = band_fit.compare(simpler, names=["worker and service", "service only"])
    assert set(table.index) == {"worker and service", "service only"}
    assert "elpd" in " ".join(table.columns)
    other = _fit(ChangeModel(instrument="cse-risk-indicators", outcome="total", groups={}), programme.assessments)
    with pytest.raises(ModelError, match="discrete"):
        band_fit.compare(other)


def test_target_ess_keeps_sampling_until_the_checks_pass(programme, band_model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few divergences with only 3 services
        fit = band_model.fit(programme.assessments, draws=200, tune=500, seed=4, progress=False, target_ess=400)
    diag = fit.diagnostics(warn=False)
    assert diag["r_hat"].max() <= 1.01
    assert diag["ess_bulk"].min() >= 400 and diag["ess_tail"].min() >= 400
    assert fit.meta["draws"] >= 200


def test_sleepstudy_bayes_agrees_with_reml_and_bates_2015(sleepstudy):
    """Posterior means vs the REML estimates of Bates et al. (2015), lme4 fm2 (see the MixedLM test).

    With weakly informative priors the posterior mean of a fixed effect in a
    Gaussian mixed model is the GLS estimate averaged over the variance
    components' posterior; GLS moves little with them, so the two differ by a
    small fraction of the standard error. Tolerance: 0.25 SE plus 4 Monte Carlo
    standard errors. The SDs differ more (posterior means of SDs over 18
    subjects are skewed above the REML point): REML must lie in the 90% interval.
    """
    model = ChangeModel(instrument=sleep_instrument(), outcome="reaction", person="Subject", time="Days",
                        time_unit="years", groups={}, person_slopes=True, closure=None)
    fit = _fit(model, sleepstudy.rename(columns={"Reaction": "reaction"}), draws=1000, tune=1000)
    import arviz_stats as azs

    d = fit._design
    slope = fit.posterior["slope"].values.ravel() * d.y_scale
    mcse = float(azs.mcse(fit.posterior[["slope"]])["slope"]) * d.y_scale
    assert abs(slope.mean() - 10.46728596) < 0.25 * 1.559569098 + 4 * mcse
    intercept = d.y_center + d.y_scale * fit.posterior["intercept"].values.ravel()
    assert abs(intercept.mean() - 251.40510485) < 0.25 * 6.885380817 + 4 * intercept.std() / np.sqrt(400)
    s = fit.summary()
    for name, reml in (("person_sd", 25.051328325), ("person_slope_sd", 5.988186674), ("sigma", 25.565279202)):
        lo, hi = s.loc[name, ["lower", "upper"]] * d.y_scale
        assert lo < reml < hi, name


def _wine_model(priors=None):
    return ChangeModel(instrument=wine_instrument(), outcome="rating", person="judge", time="warm",
                       time_unit="years", groups={}, covariates=("contact",), closure=None,
                       priors=priors or Priors())


def test_wine_bayes_contains_the_clmm_estimates(wine):
    """clmm(rating ~ temp + contact + (1|judge), data = wine): Christensen's clmm tutorial.

    Published (Laplace): temp 3.0630, contact 1.8349, judge SD 1.131; thresholds
    -1.6237, 1.5134, 4.2285, 6.0888. With nine judges the posterior (wide
    priors) and the Laplace maximum differ by a fair part of a posterior SD, so
    the check is that every published estimate lies in the 90% posterior
    interval, and the fixed effects within one posterior SD of the posterior mean.
    Our covariates are centred, so thresholds are compared after adding back
    the contact effect times the share of 'yes' (0.5).
    """
    data = wine.assign(warm=(wine["temp"] == "warm").astype(float))
    wide = Priors(slope=Normal(sigma=20.0), covariates=Normal(sigma=20.0), person_sd=HalfNormal(sigma=5.0))
    fit = _fit(_wine_model(wide), data, draws=1000, tune=1000)
    post = fit.posterior
    d = fit._design
    temp = post["slope"].values.ravel()
    contact = post["beta"].values[..., 0].ravel() / d.x_scale[0]
    cut = post["cutpoints"].values.reshape(-1, 4) + (contact * d.x_center[0])[:, None]
    judge = post["person_sd"].values.ravel()
    published = {"temp": (temp, 3.0630), "contact": (contact, 1.8349), "judge": (judge, 1.131)}
    published.update({f"cut{k}": (cut[:, k], v) for k, v in enumerate([-1.6237, 1.5134, 4.2285, 6.0888])})
    for name, (draws, value) in published.items():
        lo, hi = np.quantile(draws, [0.05, 0.95])
        assert lo < value < hi, name
    for name in ("temp", "contact"):
        draws, value = published[name]
        assert abs(draws.mean() - value) < draws.std(), name


def test_pymc_and_statsmodels_agree_on_a_continuous_outcome():
    data = nested_growth().rename(columns={"score": "total"})
    model = ChangeModel(instrument="progress-ladder", outcome="total", time="months",
                        groups={"service": "service", "worker": "worker"}, nested={"worker": "service"},
                        closure=None)
    reml = model.fit(data, backend="statsmodels")
    bayes = _fit(model, data, draws=1000, tune=1000)
    d = bayes._design
    slope = bayes.posterior["slope"].values.ravel() * d.y_scale
    # see the sleepstudy test for the tolerance on fixed effects
    assert abs(slope.mean() - reml.fe_params["slope"]) < 0.25 * reml.bse["slope"] + 4 * slope.std() / np.sqrt(300)
    for name in ("person_sd", "sigma"):  # well-identified SDs: within 5%
        est = bayes.posterior[name].values.mean() * d.y_scale
        assert est == pytest.approx(reml.variance_components[name], rel=0.05), name
    s = bayes.summary()
    for name in ("slope_sd_service", "slope_sd_worker"):  # 8 services, 24 workers: REML inside the 90% interval
        lo, hi = s.loc[name, ["lower", "upper"]] * d.y_scale
        assert lo < reml.variance_components[name] < hi, name
    by = bayes.by_group("service")
    blup = reml.by_group("service")
    assert np.corrcoef(by.loc[blup.index, "slope_mean"] * d.y_scale, blup["slope_mean"])[0, 1] > 0.95


TRUE_PARAMS = {"slope": -0.1, "person_sd": 1.2, "slope_sd_service": 0.04, "slope_sd_worker": 0.05}


def test_parameters_are_recovered_at_the_nominal_rate(programme, band_model):
    """Data simulated from the model with known values, refitted: 90% intervals cover the truth about 90% of the time.

    4 replications x 5 parameters (slope, person SD, 3 thresholds) = 20 checks;
    at a true coverage of 0.9 the chance of 14 or fewer hits is about 1%.
    """
    ids = programme.assessments[["person_id", "assessment_date", "worker", "service", "area"]]
    hits, checks = 0, 0
    for rep in range(4):
        rng = np.random.default_rng(100 + rep)
        from cseoutcomes.models.design import build_design

        design = build_design(band_model, ids, require_outcome=False)
        params = {"slope": np.asarray(TRUE_PARAMS["slope"]), "person_sd": np.asarray(TRUE_PARAMS["person_sd"]),
                  "cutpoints": np.array([-2.0, -0.5, 1.0])}
        params["person_intercept"] = TRUE_PARAMS["person_sd"] * rng.standard_normal(len(design.person_labels))
        for lvl in ("service", "worker"):
            sd = TRUE_PARAMS[f"slope_sd_{lvl}"]
            params[f"slope_sd_{lvl}"] = np.asarray(sd)
            params[f"slope_{lvl}"] = sd * rng.standard_normal(len(design.groups[lvl].labels))
        data, _ = simulate_outcomes(band_model, ids, params, seed=rng)
        fit = _fit(band_model, data, seed=rep)
        s = fit.summary()
        truth = {"slope": TRUE_PARAMS["slope"], "person_sd": TRUE_PARAMS["person_sd"]}
        truth.update({f"cutpoints[{lab}]": v for lab, v in zip(fit.posterior["cutpoint"].values, params["cutpoints"],
                                                                strict=True)})
        for name, value in truth.items():
            checks += 1
            hits += int(s.loc[name, "lower"] <= value <= s.loc[name, "upper"])
    assert checks == 20
    assert hits >= 15, f"only {hits} of 20 intervals covered the truth"


def test_fit_on_a_table_with_unscorable_rows_lists_them(programme, band_model):
    from cseoutcomes.errors import ModelWarning

    data = programme.assessments.copy()
    items = [c for c in data.columns if c.endswith("_months_ago") is False and c not in
             ("person_id", "assessment_date", "occasion", "rater", "worker", "service", "area", "age",
              "closure_date", "closure_reason")]
    data.loc[data.index[:3], items] = "unknown"
    with pytest.warns(ModelWarning, match="3 of"):
        fit = _fit(band_model, data, draws=50, tune=50)
    assert fit.excluded["spreadsheet_row"].tolist() == [2, 3, 4]
    assert fit.idata["observed_data"]["y"].size == len(data) - 3
    assert isinstance(fit, ChangeFit)


@pytest.mark.parametrize("sampler", ["pymc", "numpyro"])
def test_other_samplers_fit_the_same_model(programme, band_model, band_fit, sampler):
    """PyMC's NUTS and numpyro (the `jax` extra) sample the same posterior as nutpie."""
    if sampler == "numpyro":
        pytest.importorskip("numpyro")
    fit = _fit(band_model, programme.assessments, sampler=sampler, draws=300, tune=500)
    assert fit.meta["sampler"] == sampler
    ours = fit.posterior["slope"].values.ravel()
    ref = band_fit.posterior["slope"].values.ravel()
    # same posterior: means within 4 combined Monte Carlo standard errors (ESS ~ 100 per run at least)
    se = np.sqrt(ours.var() / 100 + ref.var() / 100)
    assert abs(ours.mean() - ref.mean()) < 4 * se
    assert np.isfinite(fit.idata["log_likelihood"]["y"].values).all()


def test_refits_of_the_same_design_reuse_the_compiled_model_and_match_a_fresh_compile(programme, band_model):
    """Simulation studies refit one design with new outcomes: the compiled model is reused, results unchanged."""
    from cseoutcomes.models import _pymc

    ids = programme.assessments[["person_id", "assessment_date", "worker", "service", "area", "closure_reason"]]
    data, _ = simulate_outcomes(band_model, ids, seed=9)
    _pymc._COMPILED.clear()
    first = _fit(band_model, programme.assessments, draws=100, tune=100)
    assert len(_pymc._COMPILED) == 1
    reused = _fit(band_model, data, draws=100, tune=100, seed=3)
    assert len(_pymc._COMPILED) == 1  # same structure: no new compile
    _pymc._COMPILED.clear()
    fresh = _fit(band_model, data, draws=100, tune=100, seed=3)
    np.testing.assert_array_equal(reused.posterior["slope"].values, fresh.posterior["slope"].values)
    assert not np.array_equal(first.posterior["slope"].values, reused.posterior["slope"].values)


def test_referral_selection_removes_regression_to_the_mean(programme):
    """Data simulated with referral on a high observed band and no change at all (slope 0).

    Ignoring the selection, the referral band is too high and a spurious fall
    appears; with the selection modelled the slope's 90% interval contains 0.
    """
    from cseoutcomes.models import Selection
    from cseoutcomes.models.design import build_design

    ids = programme.assessments[["person_id", "assessment_date", "worker", "service", "area", "closure_reason"]]
    selected = ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={},
                           selection=Selection(at_least="moderate"))
    design = build_design(selected, ids, require_outcome=False)
    rng = np.random.default_rng(21)
    params = {"slope": np.asarray(0.0), "person_sd": np.asarray(1.0),
              "person_intercept": rng.standard_normal(len(design.person_labels)),
              "cutpoints": np.array([-1.5, 0.0, 1.5])}
    data, _ = simulate_outcomes(selected, ids, params, seed=rng)
    naive = _fit(selected.model_copy(update={"selection": None}), data, draws=600)
    modelled = _fit(selected, data, draws=600)
    hi_n = naive.summary().loc["slope", "upper"]
    lo_m, hi_m = modelled.summary().loc["slope", ["lower", "upper"]]
    assert hi_n < 0  # spurious improvement
    assert lo_m < 0 < hi_m
    # the screen is in the stored pointwise log-likelihood too (LOO of the right model): each referral row is
    # divided by P(pass) < 1, so its log-likelihood exceeds its band's plain log-probability
    from cseoutcomes.models import _numeric as num

    d = modelled._design
    sel = d.selected
    ll = modelled.idata["log_likelihood"]["y"].values.reshape(-1, d.n)
    p = modelled._params()
    plain = num.ordinal_logp(d.y, num.linear_predictor(p, d), p["cutpoints"])
    assert np.isfinite(ll).all() and np.all(ll[:, sel] > plain[:, sel])
    np.testing.assert_allclose(ll[:, ~sel], plain[:, ~sel])


def test_regression_to_the_mean_is_reported_against_the_naive_change(band_fit, programme):
    table = band_fit.regression_to_the_mean()
    d = band_fit._design
    # naive: the observed referral-to-last change in band position, computed directly
    frame = pd.DataFrame({"p": d.person, "t": d.t, "y": d.y}).sort_values(["p", "t"])
    g = frame.groupby("p")["y"]
    two = g.size() > 1
    naive = float((g.last() - g.first())[two].mean())
    assert table.loc["naive", "mean"] == pytest.approx(naive)
    assert table.loc["regression_to_the_mean", "mean"] == pytest.approx(naive - table.loc["modelled", "mean"])
    assert table["n_people"].iloc[0] == int(two.sum())
    assert "face value" in table.attrs["assumption"]


def test_drop_out_sensitivity_and_tipping_point(band_fit, programme):
    mar = band_fit.share_lower_at_closure()
    assert "missing at random" in mar.attrs["assumption"]
    people = programme.truth["people"]
    closed = people[people["closed_in_window"]]
    assert mar["n_cases"].iloc[0] == len(closed)
    assert mar["n_unplanned"].iloc[0] == int((closed["closure_reason"] != "risk_reduced").sum())
    table = band_fit.tipping_point(threshold=0.3, deltas=[0, 0.5, 1, 2, 4, 50])
    assert (np.diff(table["mean"].to_numpy()) <= 1e-12).all()  # worse unplanned endings, fewer at lower risk
    # with an enormous delta no unplanned closure is lower: only planned closures can count
    planned_share = int((closed["closure_reason"] == "risk_reduced").sum()) / len(closed)
    assert table.loc[50.0, "upper"] <= planned_share + 1e-12
    # the tipping delta is the first delta whose interval no longer lies above the threshold
    for threshold in (0.05, 0.3, 0.99):
        t = band_fit.tipping_point(threshold=threshold, deltas=[0, 0.5, 1, 2, 4, 50])
        fails = t.index[t["lower"] <= threshold]
        tip = t.attrs["tipping_delta"]
        if len(fails) == 0:
            assert np.isnan(tip) and "stays above" in t.attrs["statement"]
        elif fails[0] == 0:
            assert tip == 0 and "Even if" in t.attrs["statement"]
        else:
            assert tip == fails[0] and f"at least {tip:g}" in t.attrs["statement"]
    assert band_fit.tipping_point(threshold=0.99).attrs["tipping_delta"] == 0  # never clearly above 99%
    shifted = band_fit.share_lower_at_closure(delta={"not_engaging": 2.0})
    assert "not at random" in shifted.attrs["assumption"] and "+2 (not_engaging)" in shifted.attrs["assumption"]
    assert shifted["mean"].iloc[0] <= mar["mean"].iloc[0]
    with pytest.raises(ModelError, match="not in the data"):
        band_fit.share_lower_at_closure(delta={"abducted_by_aliens": 1.0})
    with pytest.raises(ModelError, match="increasing"):
        band_fit.tipping_point(deltas=[1, 0])
