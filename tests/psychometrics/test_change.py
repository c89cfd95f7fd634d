"""Reliable and clinically significant change (cseoutcomes.psychometrics.change).

Published values are cited where they are used; every other expected value is
derived by hand in a comment from the method's published formula.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cseoutcomes as co
from cseoutcomes import DataError, Instrument
from cseoutcomes.psychometrics.change import (
    CATEGORIES,
    METHODS,
    ClinicalCutoffs,
    ReliableChangeComparison,
    ReliableChangeResult,
    classify,
    clinical_cutoffs,
    reliable_change,
)
from cseoutcomes.psychometrics.results import Estimate

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HIB, HIW = "higher_is_better", "higher_is_worse"


# ---------------------------------------------------------------------------
# Jacobson & Truax: published values


@pytest.mark.parametrize(
    ("alpha", "sd", "sem", "sediff", "rci"),
    [
        # PubMed Central PMC8944273, Table 1 ("Cronbach's alpha | Standard deviation | SEM | SEDiff | RCI",
        # https://pmc.ncbi.nlm.nih.gov/articles/PMC8944273/table/T1), reliable change computed after
        # Jacobson & Truax (1991): SEM = SD*sqrt(1 - alpha), SEDiff = sqrt(2)*SEM, RCI = 1.96*SEDiff.
        (0.79, 7.30, 3.35, 4.73, 9.27),  # CDRS-R
        (0.91, 12.90, 3.87, 5.47, 10.73),  # CGAS
        (0.73, 7.19, 3.74, 5.28, 10.36),  # YMRS
    ],
)
def test_jacobson_truax_standard_errors_match_published_table(alpha, sd, sem, sediff, rci):
    res = reliable_change([10, 20], [12, 30], reliability=alpha, sd=sd, direction=HIW)
    assert round(res.details["se_measurement"], 2) == sem
    assert round(res.details["s_diff"], 2) == sediff
    assert round(res.details["reliable_change_points"], 2) == rci
    assert res.details["critical_value"] == pytest.approx(1.96, abs=5e-5)


def test_jacobson_truax_index_hand_example():
    # SD 7.5, r = .80:  S_E = 7.5*sqrt(.2) = 3.3541;  S_diff = sqrt(2*3.3541^2) = 4.7434
    # pre 32 -> post 53:  RC = 21/4.7434 = 4.427 > 1.96, reliable;  pre 40 -> post 47:  RC = 7/4.7434 = 1.476
    # pre 50 -> post 40:  RC = -10/4.7434 = -2.108, reliable fall
    res = reliable_change([32, 40, 50], [53, 47, 40], reliability=0.80, sd=7.5, direction=HIB)
    assert res.details["se_measurement"] == pytest.approx(3.3541, abs=1e-4)
    assert res.details["s_diff"] == pytest.approx(4.7434, abs=1e-4)
    assert res.table["rci"].tolist() == pytest.approx([4.4272, 1.4757, -2.1082], abs=1e-4)
    assert res.table["category"].tolist() == ["improved", "unchanged", "deteriorated"]
    assert res.table["reliably_improved"].tolist() == [True, False, False]
    assert res.table["reliably_deteriorated"].tolist() == [False, False, True]
    # the same falls are improvements on a measure where higher is worse
    worse = reliable_change([32, 40, 50], [53, 47, 40], reliability=0.80, sd=7.5, direction=HIW)
    assert worse.table["category"].tolist() == ["deteriorated", "unchanged", "improved"]


def test_jacobson_truax_sd_defaults_to_pre_scores():
    # pre 10, 14, 18: SD (n - 1) = 4;  r = .75: S_E = 4*0.5 = 2, S_diff = 2*sqrt(2) = 2.8284
    res = reliable_change([10, 14, 18], [16, 14, 10], reliability=0.75, direction=HIB)
    assert res.details["sd"] == pytest.approx(4.0)
    assert "estimated" in res.details["sd_source"]
    assert res.table["rci"].tolist() == pytest.approx([6 / 2.8284271, 0.0, -8 / 2.8284271])
    assert any("only 3 people" in w for w in res.warnings)


def test_ci_level_sets_the_critical_value():
    # RC = 2.2 is reliable at 95% (1.960) but not at 99% (2.576)
    s_diff = math.sqrt(2) * 5 * math.sqrt(1 - 0.8)
    post = 10 + 2.2 * s_diff
    assert reliable_change([10], [post], reliability=0.8, sd=5, direction=HIB).table["reliable"].item()
    strict = reliable_change([10], [post], reliability=0.8, sd=5, direction=HIB, ci_level=0.99)
    assert not strict.table["reliable"].item()
    assert strict.details["critical_value"] == pytest.approx(2.5758, abs=1e-4)


# ---------------------------------------------------------------------------
# clinical cut-offs


def test_cutoffs_jacobson_truax_illustration():
    # Dysfunctional mean 40, SD 7.5; functional mean 60, SD 7.5: the values the clinicalsignificance R
    # package's tests label "Example from Jacobson et al. (1991)" (tests/testthat/test-calc_cutoff.R).
    # From Jacobson & Truax's definitions: a = 40 + 2*7.5 = 55; b = 60 - 2*7.5 = 45;
    # c = (7.5*60 + 7.5*40)/(7.5 + 7.5) = 50.
    cut = clinical_cutoffs(40, 7.5, 60, 7.5, direction=HIB)
    assert isinstance(cut, ClinicalCutoffs)
    assert (cut.a, cut.b, cut.c) == pytest.approx((55.0, 45.0, 50.0))
    assert cut.recommended == "c" and cut.value == pytest.approx(50.0) and float(cut) == pytest.approx(50.0)
    # c is k = 20/15 = 1.333 SD from each mean: Phi(-1.333) = 9.1% of each population on the wrong side
    assert cut.details["separation_sd"] == pytest.approx(4 / 3)
    assert cut.details["misclassified_share"] == pytest.approx(0.0912, abs=1e-4)
    assert cut.warnings == ()
    assert "c = 50.000 (recommended)" in repr(cut)
    assert cut.to_dict()["value"] == pytest.approx(50.0)


def test_cutoffs_unequal_sds_higher_is_worse():
    # Dysfunctional M0 = 20, s0 = 5; functional M1 = 8, s1 = 3; a fall is an improvement (d = -1):
    # a = 20 - 2*5 = 10;  b = 8 + 2*3 = 14;  c = (5*8 + 3*20)/(5 + 3) = 100/8 = 12.5
    # c - M1 = 4.5 = 1.5*s1 and M0 - c = 7.5 = 1.5*s0: c is 1.5 SD from both means
    cut = clinical_cutoffs(20, 5, 8, 3, direction=HIW)
    assert (cut.a, cut.b, cut.c) == pytest.approx((10.0, 14.0, 12.5))
    assert cut.details["separation_sd"] == pytest.approx(1.5)
    assert cut.get("b") == pytest.approx(14.0)


def test_cutoff_a_alone_without_functional_norms():
    cut = clinical_cutoffs(20, 5, direction=HIW)
    assert cut.a == pytest.approx(10.0) and cut.b is None and cut.c is None
    assert cut.recommended == "a"
    with pytest.raises(DataError, match="functional"):
        cut.get("c")


def test_cutoffs_warn_when_norms_overlap_heavily():
    # means 40 and 45, SDs 7.5: c = 42.5 is 5/15 = 0.333 SD from each mean; Phi(-0.333) = 37%
    cut = clinical_cutoffs(40, 7.5, 45, 7.5, direction=HIB)
    assert cut.c == pytest.approx(42.5)
    assert len(cut.warnings) == 1 and "overlap" in cut.warnings[0] and "37%" in cut.warnings[0]


def test_cutoffs_reject_inconsistent_norms():
    with pytest.raises(DataError, match="not higher"):
        clinical_cutoffs(40, 7.5, 30, 7.5, direction=HIB)
    with pytest.raises(DataError, match="both a mean and an SD"):
        clinical_cutoffs(40, 7.5, 60, direction=HIB)
    with pytest.raises(DataError, match="greater than 0"):
        clinical_cutoffs(40, 0, direction=HIB)
    with pytest.raises(DataError, match="direction"):
        clinical_cutoffs(40, 7.5, direction="up")  # type: ignore[arg-type]


def test_recovered_needs_reliable_improvement_and_crossing_the_cutoff():
    # S_diff = 4.7434 (SD 7.5, r .8), reliable beyond 1.96*4.7434 = 9.30 points; cut-off c = 50 (as above).
    # 32 -> 53: reliable rise, crosses 50 -> recovered;  44 -> 49: not reliable, stays below -> unchanged
    # 30 -> 45: reliable rise (RC 3.16), still below 50 -> improved;  46 -> 52: crosses, RC 1.26 -> unchanged
    # 55 -> 40: reliable fall -> deteriorated;  52 -> 64: reliable rise but started functional -> improved
    pre, post = [32, 44, 30, 46, 55, 52], [53, 49, 45, 52, 40, 64]
    res = reliable_change(pre, post, reliability=0.8, sd=7.5, mean=40, direction=HIB,
                          functional_mean=60, functional_sd=7.5)
    assert res.details["cutoff"] == pytest.approx(50.0) and res.details["cutoff_type"] == "c"
    assert res.table["category"].tolist() == [
        "recovered", "unchanged", "improved", "unchanged", "deteriorated", "improved"]
    assert res.table["recovered"].tolist() == [True, False, False, False, False, False]
    assert res.counts == {"recovered": 1, "improved": 2, "unchanged": 2, "deteriorated": 1}
    assert any("2 of 6 people did not start on the dysfunctional side" in w for w in res.warnings)
    # the same people with cut-off a = 40 + 15 = 55 or a given number
    a = reliable_change(pre, post, reliability=0.8, sd=7.5, mean=40, direction=HIB, cutoff="a")
    assert a.details["cutoff"] == pytest.approx(55.0)
    given_cut = reliable_change(pre, post, reliability=0.8, sd=7.5, direction=HIB, cutoff=50)
    assert given_cut.table["category"].tolist() == res.table["category"].tolist()
    assert given_cut.details["cutoff_source"] == "given (cutoff=)"


def test_no_cutoff_means_no_recovery_column():
    res = reliable_change([32, 40], [53, 41], reliability=0.8, sd=7.5, direction=HIB)
    assert "recovered" not in res.table
    with pytest.raises(DataError, match="cut-off"):
        res.proportion("recovered")


# ---------------------------------------------------------------------------
# Edwards-Nunnally


def test_edwards_nunnally_hand_example():
    # r = .8, SD 5, reference mean M = 10:  S_E = 5*sqrt(.2) = 2.23607;  z = 1.95996;  z*S_E = 4.38261
    # pre 30: pre_true = .8*(30 - 10) + 10 = 26, interval [21.617, 30.383]
    #   post 22.5: inside -> unchanged, index (22.5 - 26)/2.23607 = -1.5652
    #   (Jacobson-Truax would call it reliable: RC = -7.5/3.16228 = -2.372)
    # pre 30, post 21: outside below -> index -2.2361, reliable fall
    # pre 2: pre_true = .8*(-8) + 10 = 3.6, interval [-0.783, 7.983]; post 8.5: index 4.9/2.23607 = 2.1913, reliable rise
    res = reliable_change([30, 30, 2], [22.5, 21, 8.5], reliability=0.8, sd=5, mean=10,
                          method="edwards-nunnally", direction=HIB)
    t = res.table
    assert t["pre_true"].tolist() == pytest.approx([26, 26, 3.6])
    assert t["lower"].tolist() == pytest.approx([21.61739, 21.61739, -0.78261], abs=1e-5)
    assert t["upper"].tolist() == pytest.approx([30.38261, 30.38261, 7.98261], abs=1e-5)
    assert t["rci"].tolist() == pytest.approx([-1.56525, -2.23607, 2.19135], abs=1e-5)
    assert t["category"].tolist() == ["unchanged", "deteriorated", "improved"]
    assert res.details["mean"] == 10 and res.details["mean_source"] == "given (mean=)"
    jt = reliable_change([30], [22.5], reliability=0.8, sd=5, direction=HIB)
    assert jt.table["rci"].item() == pytest.approx(-2.3717, abs=1e-4)
    assert jt.table["category"].item() == "deteriorated"


def test_edwards_nunnally_mean_defaults_to_pre_mean():
    # pre 10, 20, 30: mean 20, SD 10. r = .5: pre_true = .5*(pre - 20) + 20 = 15, 20, 25
    res = reliable_change([10, 20, 30], [15, 20, 25], reliability=0.5, method="edwards-nunnally", direction=HIB)
    assert res.details["mean"] == pytest.approx(20)
    assert res.table["rci"].tolist() == pytest.approx([0, 0, 0])


# ---------------------------------------------------------------------------
# Hageman-Arrindell


def test_hageman_arrindell_hand_example():
    # pre  10, 12, 14, 16  (M1 = 13, s1^2 = 20/3)
    # post  6, 10, 10, 18  (M2 = 11, s2^2 = 76/3);  cov = (15 + 1 - 1 + 21)/3 = 12
    # change -4, -2, -4, 2 (mean -2, variance 8 = s1^2 + s2^2 - 2 cov)
    # SD 5, r = .9:  S_E^2 = 25*.1 = 2.5;  S_diff^2 = 5
    # r_xx1 = 1 - 2.5/(20/3) = .625;  r_xx2 = 1 - 2.5/(76/3) = .901316
    # r_DD = ((20/3)(.625) + (76/3)(.901316) - 24) / 8 = (4.16667 + 22.83333 - 24)/8 = 3/8 = .375
    # RC_i = (.375*change_i + (-2)(.625)) / (sqrt(.375)*sqrt(5)) = (.375 change_i - 1.25)/1.369306
    #      = -2.00832, -1.46059, -2.00832, -0.36515
    # one-sided 5% critical value 1.645: persons 1 and 3 reliably fell; person 4's rise of 2 is shrunk
    # towards the group's mean change and not reliable.
    res = reliable_change([10, 12, 14, 16], [6, 10, 10, 18], reliability=0.9, sd=5,
                          method="hageman-arrindell", direction=HIB)
    d = res.details
    assert d["r_xx_pre"] == pytest.approx(0.625)
    assert d["r_xx_post"] == pytest.approx(1 - 2.5 / (76 / 3))
    assert d["r_pre_post"] == pytest.approx(12 / math.sqrt(20 / 3 * 76 / 3))
    assert d["r_dd"] == pytest.approx(0.375)
    assert d["critical_value"] == pytest.approx(1.6449, abs=1e-4)
    assert res.table["rci"].tolist() == pytest.approx([-2.00832, -1.46059, -2.00832, -0.36515], abs=1e-5)
    assert res.table["category"].tolist() == ["deteriorated", "unchanged", "deteriorated", "unchanged"]
    # the two forms of r_DD agree: Hageman & Arrindell's, and 1 - S_diff^2 / var(change)
    s1, s2, r12 = d["sd_pre_sample"], d["sd_post_sample"], d["r_pre_post"]
    rxx1, rxx2 = d["r_xx_pre"], d["r_xx_post"]
    r_dd = (s1**2 * rxx1 + s2**2 * rxx2 - 2 * s1 * s2 * r12) / (s1**2 + s2**2 - 2 * s1 * s2 * r12)
    assert r_dd == pytest.approx(d["r_dd"])


def test_hageman_arrindell_undefined_when_change_is_all_error():
    # change -1, 1, -1, 1: variance 4/3 < S_diff^2 = 5, so r_DD = 1 - 5/(4/3) < 0: every index undefined
    res = reliable_change([10, 12, 14, 16], [9, 13, 13, 17], reliability=0.9, sd=5,
                          method="hageman-arrindell", direction=HIB)
    assert res.table["rci"].isna().all()
    assert res.table["category"].isna().all()
    assert any("r_DD" in w for w in res.warnings)
    assert res.counts == dict.fromkeys(CATEGORIES, 0)


def test_hageman_arrindell_needs_three_people():
    res = reliable_change([10, 12], [6, 10], reliability=0.9, sd=5, method="hageman-arrindell", direction=HIB)
    assert res.table["rci"].isna().all()
    assert any("at least 3 people" in w for w in res.warnings)


def test_all_methods_compared():
    pre, post = [10, 12, 14, 16], [6, 10, 10, 18]
    cmp = reliable_change(pre, post, reliability=0.9, sd=5, mean=13, method="all", direction=HIB)
    assert isinstance(cmp, ReliableChangeComparison)
    assert list(cmp.table.index) == list(METHODS)
    for m in METHODS:
        single = reliable_change(pre, post, reliability=0.9, sd=5, mean=13, method=m, direction=HIB)
        assert cmp[m].table["rci"].tolist() == pytest.approx(single.table["rci"].tolist(), nan_ok=True)
        assert cmp.table.loc[m, "deteriorated"] == single.counts["deteriorated"]
    assert "recovered" not in cmp.table
    assert set(cmp.to_dict()["results"]) == set(METHODS)


# ---------------------------------------------------------------------------
# classify


def test_classify_categories_and_missing_index():
    cats = classify(pd.Series([2.5, -2.5, 1.0, np.nan], index=list("wxyz")), direction=HIB)
    assert list(cats.cat.categories) == list(CATEGORIES)
    assert cats.index.tolist() == list("wxyz")
    assert cats.tolist()[:3] == ["improved", "deteriorated", "unchanged"]
    assert pd.isna(cats["z"])
    # with a cut-off of 50 (higher is better): 40 -> 60 is recovered, 55 -> 65 only improved
    rec = classify([2.5, 2.5], direction=HIB, pre=[40, 55], post=[60, 65], cutoff=50)
    assert rec.tolist() == ["recovered", "improved"]
    # a score exactly on the cut-off is on neither side
    assert classify([2.5], direction=HIB, pre=[50], post=[60], cutoff=50).tolist() == ["improved"]
    assert classify([2.5], direction=HIB, pre=[40], post=[50], cutoff=50).tolist() == ["improved"]
    with pytest.raises(DataError, match="pre and post"):
        classify([2.5], direction=HIB, cutoff=50)
    assert classify([1.8], direction=HIB, critical_value=1.65).tolist() == ["improved"]


# ---------------------------------------------------------------------------
# properties

# Scores are recorded to a finite resolution (two decimals covers every instrument here). Without this,
# hypothesis finds changes of 1e-313 (subnormal floats), whose variances underflow to 0: a fact about
# floating point, not about reliable change.
scores = st.floats(min_value=-200, max_value=200, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 2))


@st.composite
def pre_post(draw, min_size=3):
    n = draw(st.integers(min_size, 25))
    pre = draw(st.lists(scores, min_size=n, max_size=n))
    post = draw(st.lists(scores, min_size=n, max_size=n))
    return np.array(pre), np.array(post)


reliabilities = st.floats(min_value=0.05, max_value=0.99)
sds = st.floats(min_value=0.5, max_value=50)


@PROPERTY
@given(data=pre_post(), r=reliabilities, sd=sds)
def test_swapping_pre_and_post_negates_the_jacobson_truax_index(data, r, sd):
    pre, post = data
    a = reliable_change(pre, post, reliability=r, sd=sd, direction=HIB)
    b = reliable_change(post, pre, reliability=r, sd=sd, direction=HIB)
    np.testing.assert_allclose(b.table["rci"], -a.table["rci"], rtol=1e-12, atol=1e-12)
    assert a.counts["improved"] == b.counts["deteriorated"]


@PROPERTY
@given(data=pre_post(), r=reliabilities, sd=sds)
def test_swapping_pre_and_post_negates_the_hageman_arrindell_index(data, r, sd):
    pre, post = data
    a = reliable_change(pre, post, reliability=r, sd=sd, method="hageman-arrindell", direction=HIB)
    b = reliable_change(post, pre, reliability=r, sd=sd, method="hageman-arrindell", direction=HIB)
    np.testing.assert_allclose(b.table["rci"], -a.table["rci"], rtol=1e-9, atol=1e-9)


@PROPERTY
@given(data=pre_post(), r=reliabilities, sd=sds, method=st.sampled_from(METHODS))
def test_flipping_direction_swaps_improved_and_deteriorated(data, r, sd, method):
    pre, post = data
    up = reliable_change(pre, post, reliability=r, sd=sd, method=method, direction=HIB)
    down = reliable_change(pre, post, reliability=r, sd=sd, method=method, direction=HIW)
    np.testing.assert_array_equal(up.table["rci"], down.table["rci"])
    assert up.table["reliably_improved"].tolist() == down.table["reliably_deteriorated"].tolist()
    assert up.table["reliably_deteriorated"].tolist() == down.table["reliably_improved"].tolist()
    assert up.counts["improved"] == down.counts["deteriorated"]
    assert up.counts["unchanged"] == down.counts["unchanged"]


@PROPERTY
@given(data=pre_post(), r=reliabilities, sd=sds, k=st.floats(min_value=0.01, max_value=100),
       method=st.sampled_from(METHODS))
def test_index_is_scale_invariant(data, r, sd, k, method):
    pre, post = data
    # the sample mean and SDs are scaled with the scores; sd is given, so scale it too
    a = reliable_change(pre, post, reliability=r, sd=sd, method=method, direction=HIB)
    b = reliable_change(pre * k, post * k, reliability=r, sd=sd * k, method=method, direction=HIB)
    np.testing.assert_allclose(b.table["rci"], a.table["rci"], rtol=1e-7, atol=1e-7)


@PROPERTY
@given(data=pre_post(), sd=sds, method=st.sampled_from(METHODS))
def test_with_perfect_reliability_every_nonzero_change_is_reliable(data, sd, method):
    pre, post = data
    res = reliable_change(pre, post, reliability=1.0, sd=sd, method=method, direction=HIB)
    moved = post != pre
    assert res.table["reliable"].to_numpy()[moved].all()
    assert not res.table["reliable"].to_numpy()[~moved].any()
    assert any("reliability 1" in w for w in res.warnings)


@PROPERTY
@given(pre=st.floats(0, 100), sd=sds, r=reliabilities)
def test_reliability_near_one_makes_a_small_change_reliable(pre, sd, r):
    # RC = change/(sqrt(2) SD sqrt(1 - r)) grows without bound as r -> 1
    change = 0.01 * sd
    assume(change / (math.sqrt(2) * sd * math.sqrt(1 - r)) < 1.96)
    near = 1 - 1e-9
    assert reliable_change([pre], [pre + change], reliability=near, sd=sd, direction=HIB).table["reliable"].item()
    assert not reliable_change([pre], [pre + change], reliability=r, sd=sd, direction=HIB).table["reliable"].item()


# ---------------------------------------------------------------------------
# instruments


def test_swemwbs_uses_registered_direction():
    # SWEMWBS metric score: change.direction is higher_is_better and no reliability is registered
    res = reliable_change([18.0, 20.0, 22.0, 24.0], [26.0, 20.5, 14.0, 24.0],
                          instrument="swemwbs", score="metric", reliability=0.88)
    assert res.details["direction"] == HIB
    assert res.details["direction_source"].startswith("registered for swemwbs@")
    assert res.details["reliability_source"] == "given (reliability=)"
    assert res.table["category"].tolist() == ["improved", "unchanged", "deteriorated", "unchanged"]
    # the only score may be left out; the instrument object works as well as its id
    same = reliable_change([18.0, 20.0, 22.0, 24.0], [26.0, 20.5, 14.0, 24.0],
                           instrument=co.get_instrument("swemwbs"), reliability=0.88)
    assert same.table["category"].tolist() == res.table["category"].tolist()


def test_registered_higher_is_worse_makes_a_fall_an_improvement():
    res = reliable_change([12, 3], [2, 14], instrument="cse-risk-indicators", score="total",
                          reliability=0.8, sd=3)
    assert res.details["direction"] == HIW
    assert res.table["category"].tolist() == ["improved", "deteriorated"]


def test_instrument_without_reliability_says_what_to_pass():
    with pytest.raises(DataError) as info:
        reliable_change([18, 20, 22], [25, 21, 15], instrument="swemwbs", score="metric")
    message = str(info.value)
    assert "reliability=" in message and "Jacobson & Truax" in message
    assert "cronbach_alpha 0.88" in message  # the definition's own evidence is offered


def _swemwbs_with(**change) -> Instrument:
    data = co.get_instrument("swemwbs").to_dict()
    for s in data["scores"]:
        if s["id"] == "metric":
            s["change"] = {**s.get("change", {}), **change}
    data["version"] = "1.0.1-test"
    return Instrument.from_dict(data)


def test_registered_parameters_are_used_with_their_sources():
    inst = _swemwbs_with(
        reliability={"value": 0.84, "type": "test_retest", "source": "Example et al. (2020)"},
        reference_sd={"value": 4.0, "source": "Reference sample (2021)"},
        clinical_cutoff={"value": 20.0, "source": "Cut-off study (2022)"},
    )
    # S_E = 4*sqrt(.16) = 1.6; S_diff = 2.2627; 17 -> 23: RC 2.652, reliable and crosses 20
    res = reliable_change([17.0, 21.0], [23.0, 22.0], instrument=inst, score="metric")
    d = res.details
    assert (d["reliability"], d["reliability_type"], d["reliability_source"]) == (0.84, "test_retest", "Example et al. (2020)")
    assert (d["sd"], d["sd_source"]) == (4.0, "Reference sample (2021)")
    assert (d["cutoff"], d["cutoff_source"]) == (20.0, "Cut-off study (2022)")
    assert res.table["rci"].tolist() == pytest.approx([6 / (math.sqrt(2) * 1.6), 1 / (math.sqrt(2) * 1.6)])
    assert res.table["category"].tolist() == ["recovered", "unchanged"]
    # explicit arguments win over registered values
    over = reliable_change([17.0, 21.0], [23.0, 22.0], instrument=inst, score="metric", reliability=0.5, sd=10)
    assert over.details["reliability_source"] == "given (reliability=)" and over.details["sd"] == 10
    flipped = reliable_change([17.0, 21.0], [23.0, 22.0], instrument=inst, score="metric", direction=HIW)
    assert any("overrides the registered direction" in w for w in flipped.warnings)


def test_reliability_may_be_an_estimate():
    alpha = Estimate(statistic="cronbach_alpha", estimate=0.8, ci=(0.7, 0.86), ci_level=0.95,
                     method="Cronbach (1951)", n=120)
    res = reliable_change([32, 40], [53, 47], reliability=alpha, sd=7.5, direction=HIB)
    assert res.details["reliability"] == 0.8
    assert res.details["reliability_source"] == "cronbach_alpha = 0.800, n = 120 (Cronbach (1951))"
    assert res.details["reliability_type"] == "internal_consistency"
    assert res.table["rci"].tolist() == pytest.approx([4.4272, 1.4757], abs=1e-4)


def test_instrument_score_errors():
    with pytest.raises(DataError, match="score="):
        reliable_change([1, 2, 3], [2, 3, 4], instrument="progress-ladder", reliability=0.8)
    with pytest.raises(DataError, match="no_such"):
        reliable_change([1, 2, 3], [2, 3, 4], instrument="swemwbs", score="no_such", reliability=0.8)
    with pytest.raises(co.UnknownInstrumentError):
        reliable_change([1, 2, 3], [2, 3, 4], instrument="not-an-instrument", reliability=0.8)
    with pytest.raises(DataError, match="instrument"):
        reliable_change([1, 2, 3], [2, 3, 4], score="metric", reliability=0.8, direction=HIB)


# ---------------------------------------------------------------------------
# inputs


def test_missing_scores_are_left_out_and_counted():
    pre = [10, np.nan, 14, 18, 20]
    post = [16, 12, np.nan, np.nan, 22]
    res = reliable_change(pre, post, reliability=0.8, sd=5, direction=HIB)
    assert res.n == 2 and res.table.index.tolist() == [0, 4]
    assert res.details["n_excluded"] == 3
    assert "3 of 5 people were left out" in res.warnings[0]
    assert "pre missing: 1, post missing: 2" in res.warnings[0]


def test_series_are_matched_by_index():
    pre = pd.Series({"p1": 10.0, "p2": 20.0, "p3": 30.0})
    post = pd.Series({"p3": 25.0, "p1": 20.0, "p4": 5.0})
    res = reliable_change(pre, post, reliability=0.8, sd=5, direction=HIB)
    assert sorted(res.table.index) == ["p1", "p3"]
    assert res.table.loc["p1", "change"] == 10 and res.table.loc["p3", "change"] == -5
    assert res.details["n_excluded"] == 2
    assert {row["id"] for row in res.to_dict()["table"]} == {"p1", "p3"}


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(DataError, match="direction"):
        reliable_change([1, 2], [2, 3], reliability=0.8)
    with pytest.raises(DataError, match="between 0 and 1"):
        reliable_change([1, 2], [2, 3], reliability=1.2, direction=HIB)
    with pytest.raises(DataError, match="must be a number"):
        reliable_change([1, 2], [2, 3], reliability="alpha", direction=HIB)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="no reliability"):
        reliable_change([1, 2], [2, 3], direction=HIB)
    with pytest.raises(DataError, match="2 scores but post has 3"):
        reliable_change([1, 2], [2, 3, 4], reliability=0.8, direction=HIB)
    with pytest.raises(DataError, match="not numbers"):
        reliable_change(["a", 2], [2, 3], reliability=0.8, direction=HIB)
    with pytest.raises(DataError, match="nobody"):
        reliable_change([np.nan], [1.0], reliability=0.8, direction=HIB)
    with pytest.raises(DataError, match="SD is 0"):
        reliable_change([5, 5, 5], [1, 2, 3], reliability=0.8, direction=HIB)
    with pytest.raises(DataError, match="at least 2 people"):
        reliable_change([5], [6], reliability=0.8, direction=HIB)
    with pytest.raises(DataError, match="unknown method"):
        reliable_change([1, 2], [2, 3], reliability=0.8, direction=HIB, method="gln")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="ci_level"):
        reliable_change([1, 2], [2, 3], reliability=0.8, direction=HIB, ci_level=95)
    with pytest.raises(DataError, match="functional"):
        reliable_change([1, 2], [2, 3], reliability=0.8, direction=HIB, cutoff="c")


# ---------------------------------------------------------------------------
# the result object


def test_result_is_readable_and_serialisable():
    res = reliable_change([32, 44, 30, np.nan], [53, 49, 45, 50], reliability=0.8, sd=7.5, mean=40,
                          direction=HIB, functional_mean=60, functional_sd=7.5)
    assert isinstance(res, ReliableChangeResult)
    text = repr(res)
    assert "Jacobson & Truax (1991), n = 3 (1 left out)" in text
    assert "S_diff = 4.743" in text and "recovered 1" in text and "warning: 1 of 4 people" in text
    d = res.to_dict()
    assert d["n"] == 3 and d["counts"]["recovered"] == 1 and d["method_id"] == "jacobson-truax"
    assert d["details.s_diff"] == pytest.approx(4.7434, abs=1e-4)
    assert d["table"][0]["category"] == "recovered"
    assert "<table" in res._repr_html_()


def test_proportion_has_a_wilson_interval():
    # Wilson (1927) score interval, checked against Newcombe (1998), Two-sided confidence intervals for
    # the single proportion, Statistics in Medicine 17:857-872, Table I: 81/263 -> 0.2553 to 0.3662
    pre = [10.0] * 263
    post = [30.0] * 81 + [10.0] * 182
    res = reliable_change(pre, post, reliability=0.8, sd=5, direction=HIB)
    est = res.proportion("improved")
    assert isinstance(est, Estimate)
    assert est.estimate == pytest.approx(81 / 263) and est.n == 263
    assert est.ci == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert "Wilson" in est.method
    assert res.proportion("reliably_improved").estimate == pytest.approx(81 / 263)
    with pytest.raises(DataError, match="unknown category"):
        res.proportion("better")
