"""Reliability: Cronbach's alpha, item analysis, SEM and McDonald's omega.

Peer values were computed once, during development, with R 4.2.2 (2022-11-10
r83330) and psych 2.2.9 on exactly the data the fixtures below generate
(written to CSV and read with ``read.csv``); the numbers are hard-coded, so
these tests never need R. Each block says which call produced them.

Tolerances:

* alpha, its intervals and the item statistics are closed-form functions of the
  covariance matrix; psych and this package differ only by floating-point
  rounding, and the R values are printed to 10 significant digits: ``abs=1e-8``.
* factor loadings and omega come from an iterative fit. psych minimises with
  ``optim(method = "L-BFGS-B")`` at its default tolerances, this package with
  L-BFGS-B to 1e-11 in the gradient; on these data the two agree to about
  2e-6, so ``abs=1e-4`` for loadings and ``abs=5e-5`` for omega leave room for
  platform differences without hiding a wrong formula (a wrong fit criterion or
  formula moves the values by 1e-3 or more).
* omega from polychoric correlations inherits psych's polychoric precision (R's
  ``optimize`` at ``tol = .Machine$double.eps^0.25``, about 1.2e-4 in rho; the
  observed differences are under 3e-5): ``abs=3e-4``.
"""

from __future__ import annotations

import doctest
import importlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from peer_data import lsat6, ordinal_items

from cseoutcomes.errors import CseOutcomesWarning, DataError
from cseoutcomes.psychometrics.reliability import (
    cronbach_alpha,
    item_analysis,
    mcdonald_omega,
    sem,
    standard_error_of_measurement,
)
from cseoutcomes.psychometrics.results import Estimate, ResultTable

ITEMS = ["q1", "q2", "q3", "q4", "q5", "q6"]


# --------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def ord_data() -> pd.DataFrame:
    d = ordinal_items()
    # Guard: the peer values below belong to exactly this data. If numpy's
    # random stream ever changes, this fails here rather than as a mismatch later.
    assert int(d.notna().to_numpy().sum()) == 2851
    assert float(np.nansum(d.to_numpy())) == 8814.0
    assert len(d.dropna()) == 366
    return d


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CseOutcomesWarning)
        return fn(*args, **kwargs)


# --------------------------------------------------------------------------- alpha vs psych
def test_alpha_listwise_matches_psych(ord_data):
    # R 4.2.2, psych 2.2.9: a <- psych::alpha(na.omit(read.csv("ord.csv")))   (data: ordinal_items())
    # a$total: raw_alpha 0.7567363696, std.alpha 0.7566723288, average_r 0.3413602976, ase 0.01955211155
    # a$feldt (95%): lower 0.7159930360, upper 0.7934084347
    # Duhachek: raw_alpha -/+ qnorm(.975) * ase = 0.7184149351, 0.795057804
    est = quiet(cronbach_alpha, ord_data, ci_method="both")
    assert isinstance(est, Estimate)
    assert est.estimate == pytest.approx(0.7567363696, abs=1e-8)
    assert est.details["standardized_alpha"] == pytest.approx(0.7566723288, abs=1e-8)
    assert est.details["mean_inter_item_r"] == pytest.approx(0.3413602976, abs=1e-8)
    assert est.ci == pytest.approx((0.7159930360, 0.7934084347), abs=1e-8)
    assert est.details["feldt_ci"] == pytest.approx((0.7159930360, 0.7934084347), abs=1e-8)
    assert est.details["duhachek_se"] == pytest.approx(0.01955211155, abs=1e-9)
    assert est.details["duhachek_ci"] == pytest.approx((0.7184149351, 0.795057804), abs=1e-8)
    assert est.n == 366 and est.details["n_used"] == 366 and est.details["n_items"] == 6
    assert est.ci_level == 0.95
    assert any("134 row(s)" in w for w in est.warnings)


def test_alpha_duhachek_as_main_interval(ord_data):
    est = quiet(cronbach_alpha, ord_data, ci_method="duhachek")
    assert est.ci == pytest.approx((0.7184149351, 0.795057804), abs=1e-8)
    assert "Duhachek" in est.method
    # the other interval is still in details
    assert est.details["feldt_ci"] == pytest.approx((0.7159930360, 0.7934084347), abs=1e-8)


def test_alpha_feldt_90_percent(ord_data):
    # R 4.2.2: al <- 0.7567363696; n <- 366; k <- 6
    # 1 - (1 - al) * qf(c(.95, .05), n - 1, (n - 1) * (k - 1)) = 0.7229429742, 0.7878734475
    est = quiet(cronbach_alpha, ord_data, ci_level=0.90)
    assert est.ci == pytest.approx((0.7229429742, 0.7878734475), abs=1e-8)
    assert est.ci_level == 0.90


def test_alpha_pairwise_matches_psych(ord_data):
    # R 4.2.2, psych 2.2.9: psych::alpha(read.csv("ord.csv")) (psych's default use = "pairwise")
    # raw_alpha 0.7637797008, std.alpha 0.7633918874, average_r 0.3496920306
    # (psych's interval uses n = all 500 rows; ours uses the smallest pairwise n, so not compared)
    est = quiet(cronbach_alpha, ord_data, missing="pairwise")
    assert est.estimate == pytest.approx(0.7637797008, abs=1e-8)
    assert est.details["standardized_alpha"] == pytest.approx(0.7633918874, abs=1e-8)
    assert est.details["mean_inter_item_r"] == pytest.approx(0.3496920306, abs=1e-8)
    assert "pairwise" in est.method
    assert est.n == 500
    present = ord_data.notna().astype(int).to_numpy()
    assert est.details["n_for_interval"] == int((present.T @ present).min())


def test_alpha_lsat6_published_data_matches_psych():
    # Bock & Lieberman (1970) LSAT-6 data (alpha = KR-20 for dichotomous items).
    # R 4.2.2, psych 2.2.9: data(bock); a <- psych::alpha(lsat6)
    # raw_alpha 0.2949971922, std.alpha 0.2930282737, ase 0.03422249208,
    # feldt 0.22347378786, 0.36180253173
    est = cronbach_alpha(lsat6())
    assert est.estimate == pytest.approx(0.2949971922, abs=1e-8)
    assert est.details["standardized_alpha"] == pytest.approx(0.2930282737, abs=1e-8)
    assert est.details["duhachek_se"] == pytest.approx(0.03422249208, abs=1e-9)
    assert est.ci == pytest.approx((0.22347378786, 0.36180253173), abs=1e-8)
    assert est.warnings == ()


def test_alpha_hand_worked_example():
    # Four people, three items: item variances 5/3, 19/12, 11/12 (sum 25/6), total-score
    # variance 34/3, so alpha = 3/2 * (1 - (25/6)/(34/3)) = 3/2 * 129/204 = 129/136.
    x = np.array([[1, 2, 2], [2, 3, 3], [3, 3, 4], [4, 5, 4]])
    assert cronbach_alpha(x).estimate == pytest.approx(129 / 136, abs=1e-14)


def test_feldt_interval_formula():
    # Feldt, Woodruff & Salih (1987), eq. 2, written out with scipy's F quantiles.
    from scipy import stats

    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 1)) + rng.standard_normal((40, 5))
    est = cronbach_alpha(x, ci_level=0.99)
    a, n, k = est.estimate, 40, 5
    lo = 1 - (1 - a) * stats.f.ppf(0.995, n - 1, (n - 1) * (k - 1))
    hi = 1 - (1 - a) * stats.f.ppf(0.005, n - 1, (n - 1) * (k - 1))
    assert est.ci == pytest.approx((lo, hi), abs=1e-12)


# --------------------------------------------------------------------------- item analysis
def test_item_analysis_matches_psych(ord_data):
    # R 4.2.2, psych 2.2.9: a <- psych::alpha(na.omit(read.csv("ord.csv")))
    # a$item.stats$r.drop and a$alpha.drop$raw_alpha (listwise data, n = 366 per item)
    r_drop = [0.5761671349, 0.6121339677, 0.6389237759, 0.4867926936, 0.3647560904, 0.3234762384]
    a_drop = [0.7006864222, 0.6888325641, 0.6815201514, 0.7241761419, 0.7561787997, 0.7661431407]
    means = [3.508196721, 3.338797814, 3.193989071, 3.016393443, 2.942622951, 2.707650273]
    sds = [1.056584585, 1.122605910, 1.106923140, 1.077670801, 1.102668099, 1.092588455]
    res = item_analysis(ord_data.dropna())
    assert isinstance(res, ResultTable)
    t = res.table
    assert list(t.index) == ITEMS
    assert t["item_total_r"].tolist() == pytest.approx(r_drop, abs=1e-8)
    assert t["alpha_if_deleted"].tolist() == pytest.approx(a_drop, abs=1e-8)
    assert t["mean"].tolist() == pytest.approx(means, abs=1e-8)
    assert t["sd"].tolist() == pytest.approx(sds, abs=1e-8)
    assert (t["n"] == 366).all()
    assert res.details["alpha"] == pytest.approx(0.7567363696, abs=1e-8)


def test_item_analysis_lsat6_matches_psych():
    # R 4.2.2, psych 2.2.9: data(bock); a <- psych::alpha(lsat6)
    # r.drop 0.1128326889 0.1531781201 0.1727789433 0.1444280952 0.1215964025
    # alpha.drop raw_alpha 0.2753562108 0.2375839046 0.2167994629 0.2459327104 0.2662944112
    t = item_analysis(lsat6()).table
    assert t["item_total_r"].tolist() == pytest.approx(
        [0.1128326889, 0.1531781201, 0.1727789433, 0.1444280952, 0.1215964025], abs=1e-8)
    assert t["alpha_if_deleted"].tolist() == pytest.approx(
        [0.2753562108, 0.2375839046, 0.2167994629, 0.2459327104, 0.2662944112], abs=1e-8)
    # floor / ceiling of dichotomous items are the published proportions wrong / right
    assert t["ceiling"].tolist() == pytest.approx([0.924, 0.709, 0.553, 0.763, 0.870], abs=1e-12)
    assert t["floor"].tolist() == pytest.approx([0.076, 0.291, 0.447, 0.237, 0.130], abs=1e-12)


def test_item_analysis_floor_ceiling_declared_vs_observed():
    # values 2..4 observed on a 1..5 instrument: no one at the declared floor or ceiling
    x = pd.DataFrame({"a": [2, 3, 4, 4, np.nan], "b": [2, 2, 3, 4, 3], "c": [3, 3, 3, 4, 2]})
    observed = quiet(item_analysis, x)
    declared = quiet(item_analysis, x, categories=(1, 5))
    assert observed.table.loc["a", "floor"] == pytest.approx(1 / 4)  # observed range 2..4
    assert observed.table.loc["a", "ceiling"] == pytest.approx(2 / 4)
    assert observed.table.loc["a", "n"] == 4  # every non-missing value of the item
    assert (declared.table["floor"] == 0).all() and (declared.table["ceiling"] == 0).all()
    assert "declared range" in declared.method and "observed range" in observed.method
    per_item = quiet(item_analysis, x, categories={"a": (2, 4)})
    assert per_item.table.loc["a", "floor"] == pytest.approx(1 / 4)
    assert per_item.table.loc["b", "floor"] == pytest.approx(2 / 5)  # others: observed range 2..4


def test_item_analysis_rejects_values_outside_declared_range():
    x = np.array([[1, 2, 3], [2, 3, 6], [3, 3, 4]])
    with pytest.raises(DataError, match="outside its declared range"):
        item_analysis(x, categories=(1, 5))


def test_item_analysis_two_items_warns_alpha_if_deleted_undefined():
    x = np.array([[1, 2], [2, 3], [3, 3], [4, 5]], dtype=float)
    with pytest.warns(CseOutcomesWarning, match="two items"):
        res = item_analysis(x)
    assert res.table["alpha_if_deleted"].isna().all()
    assert res.table["item_total_r"].notna().all()


def test_item_total_r_is_correlation_with_rest_score(ord_data):
    d = ord_data.dropna()
    t = item_analysis(d).table
    for item in ITEMS:
        rest = d.drop(columns=item).sum(axis=1)
        assert t.loc[item, "item_total_r"] == pytest.approx(np.corrcoef(d[item], rest)[0, 1], abs=1e-12)
        alone = cronbach_alpha(d.drop(columns=item)).estimate
        assert t.loc[item, "alpha_if_deleted"] == pytest.approx(alone, abs=1e-12)


# --------------------------------------------------------------------------- SEM
def test_standard_error_of_measurement_textbook_example():
    # The classic IQ-scale example: SD 15, reliability .91 -> SEM = 15 * sqrt(.09) = 4.5
    # (SEM = SD sqrt(1 - r), Lord & Novick 1968, eq. 3.8.4).
    assert standard_error_of_measurement(15, 0.91) == 4.5
    assert standard_error_of_measurement(10, 0.75) == 5.0
    assert standard_error_of_measurement(10, 1.0) == 0.0


@pytest.mark.parametrize("sd,r", [(-1, 0.5), (10, 1.2), (10, -0.1), (math.nan, 0.5), (10, math.nan)])
def test_standard_error_of_measurement_rejects_bad_input(sd, r):
    with pytest.raises(DataError):
        standard_error_of_measurement(sd, r)


def test_sem_of_total_score_matches_psych(ord_data):
    # R 4.2.2, psych 2.2.9: psych::alpha(na.omit(...))$total: sd 0.7344386947 (SD of the item
    # *mean* score), raw_alpha 0.7567363696. SD of the sum score = 6 * 0.7344386947.
    est = quiet(sem, ord_data)
    sd_total = 6 * 0.7344386947
    assert est.details["sd_total"] == pytest.approx(sd_total, abs=1e-8)
    assert est.estimate == pytest.approx(sd_total * math.sqrt(1 - 0.7567363696), abs=1e-8)
    assert est.statistic == "standard_error_of_measurement" and est.n == 366


def test_sem_with_negative_alpha_is_nan_with_warning():
    x = np.array([[1, 5], [2, 4], [3, 3], [4, 1]], dtype=float)
    with pytest.warns(CseOutcomesWarning):
        est = sem(x)
    assert math.isnan(est.estimate)
    assert any("SEM is undefined" in w for w in est.warnings)


# --------------------------------------------------------------------------- omega vs psych
def test_omega_pearson_matches_psych(ord_data):
    # R 4.2.2, psych 2.2.9 on dc <- na.omit(read.csv("ord.csv")):
    # f <- fa(cor(dc), nfactors = 1, fm = "minres"); f$loadings:
    lam = [0.6839175989, 0.7141275785, 0.7701493159, 0.5768102361, 0.4156922133, 0.3693807355]
    # L <- f$loadings[, 1]; sum(L)^2 / (sum(L)^2 + sum(1 - L^2)) = 0.7669223242
    # omega(dc, nfactors = 1)$omega.tot = 0.7668098692 (observed total variance in the denominator)
    est = quiet(mcdonald_omega, ord_data)
    assert est.statistic == "mcdonald_omega_total"
    assert [est.details["loadings"][i] for i in ITEMS] == pytest.approx(lam, abs=1e-4)
    assert est.estimate == pytest.approx(0.7669223242, abs=5e-5)
    assert est.details["omega_total_observed"] == pytest.approx(0.7668098692, abs=5e-5)
    assert est.details["correlation"] == "pearson"
    assert "Pearson" in est.method and "minres" in est.method
    assert est.ci is None and est.n == 366


def test_omega_polychoric_matches_psych(ord_data):
    # R 4.2.2, psych 2.2.9 on d <- read.csv("ord.csv") (with NA):
    # fp <- fa(polychoric(d)$rho, nfactors = 1, fm = "minres"); fp$loadings:
    lam = [0.7359748657, 0.7472107680, 0.7744013070, 0.6139868673, 0.4363061400, 0.4253603999]
    # omega model formula on those loadings = 0.7968998151;
    # omega(d, nfactors = 1, poly = TRUE)$omega.tot = 0.7968354793
    est = quiet(mcdonald_omega, ord_data, correlation="polychoric")
    assert [est.details["loadings"][i] for i in ITEMS] == pytest.approx(lam, abs=3e-4)
    assert est.estimate == pytest.approx(0.7968998151, abs=3e-4)
    assert est.details["omega_total_observed"] == pytest.approx(0.7968354793, abs=3e-4)
    assert est.details["correlation"] == "polychoric" and "polychoric" in est.method
    assert est.n == 500


def test_omega_three_items_is_exactly_identified():
    # With three items the one-factor model fits exactly: lambda_1^2 = r12 r13 / r23.
    r = np.array([[1, 0.42, 0.35], [0.42, 1, 0.30], [0.35, 0.30, 1]])
    lam = np.sqrt([0.42 * 0.35 / 0.30, 0.42 * 0.30 / 0.35, 0.35 * 0.30 / 0.42])
    rng = np.random.default_rng(11)
    z = rng.standard_normal((5000, 3))
    z = (z - z.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False)).T)
    x = z @ np.linalg.cholesky(r).T  # sample correlation exactly r
    est = mcdonald_omega(x)
    got = np.array([est.details["loadings"][f"item{j}"] for j in (1, 2, 3)])
    assert got == pytest.approx(lam, abs=1e-6)
    s = lam.sum()
    assert est.estimate == pytest.approx(s**2 / (s**2 + (1 - lam**2).sum()), abs=1e-6)
    assert est.details["minres_objective"] == pytest.approx(0, abs=1e-10)


def test_omega_heywood_case_warns():
    # r12 r13 / r23 > 1: the exact solution would need lambda_1 > 1; bounded at uniqueness 0.005.
    r = np.array([[1, 0.8, 0.8], [0.8, 1, 0.5], [0.8, 0.5, 1]])
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2000, 3)) @ np.linalg.cholesky(r).T
    with pytest.warns(CseOutcomesWarning, match="Heywood"):
        est = mcdonald_omega(x)
    assert max(est.details["loadings"].values()) == pytest.approx(math.sqrt(0.995), abs=1e-6)


def test_omega_negative_loading_warns():
    rng = np.random.default_rng(8)
    f = rng.standard_normal(1000)
    x = np.column_stack([f + rng.standard_normal(1000) for _ in range(4)])
    x[:, 3] = -x[:, 3]
    with pytest.warns(CseOutcomesWarning, match="reverse-key"):
        est = mcdonald_omega(x)
    assert est.details["loadings"]["item4"] < 0 < est.details["loadings"]["item1"]


def test_omega_degenerate_inputs():
    x = np.random.default_rng(1).standard_normal((50, 2))
    with pytest.raises(DataError, match="at least three items"):
        mcdonald_omega(x)
    y = np.random.default_rng(1).standard_normal((50, 4))
    y[:, 2] = 3.0
    with pytest.raises(DataError, match="constant item"):
        mcdonald_omega(y)
    with pytest.raises(ValueError):
        mcdonald_omega(y, correlation="spearman")


# --------------------------------------------------------------------------- degenerate alpha
def test_constant_item_keeps_raw_alpha_and_warns():
    rng = np.random.default_rng(2)
    base = rng.standard_normal((30, 1)) + rng.standard_normal((30, 3))
    with_const = np.column_stack([base, np.full(30, 4.0)])
    with pytest.warns(CseOutcomesWarning, match="constant item"):
        est = cronbach_alpha(with_const)
    # the constant adds zero to both variance terms: alpha_k = alpha_{k-1} * k (k-2) / (k-1)^2
    k = 4
    a3 = cronbach_alpha(base).estimate
    assert est.estimate == pytest.approx(a3 * k * (k - 2) / (k - 1) ** 2, abs=1e-12)
    assert math.isnan(est.details["standardized_alpha"])
    assert math.isnan(est.details["mean_inter_item_r"])
    assert any("item4" in w for w in est.warnings)


def test_all_items_constant_gives_nan_with_warning():
    x = np.tile([1.0, 2.0, 3.0], (10, 1))
    with pytest.warns(CseOutcomesWarning, match="every item is constant"):
        est = cronbach_alpha(x)
    assert math.isnan(est.estimate)
    assert est.ci is None and est.warnings


def test_zero_total_variance_without_constant_items_is_nan_with_warning():
    x = np.array([[1, 3], [2, 2], [3, 1]], dtype=float)  # the sum is constant
    with pytest.warns(CseOutcomesWarning) as record:
        est = cronbach_alpha(x)
    assert math.isnan(est.estimate)
    assert any("total score variance is zero" in str(w.message) for w in record)
    # r = -1 with two items: standardised alpha k r / (1 + (k-1) r) is 0/0 too
    assert math.isnan(est.details["standardized_alpha"])
    assert any("standardised alpha is undefined" in w for w in est.warnings)


def test_negative_alpha_warns():
    x = np.array([[1, 5, 2], [2, 4, 3], [3, 3, 1], [4, 1, 2]], dtype=float)
    with pytest.warns(CseOutcomesWarning, match="negative"):
        est = cronbach_alpha(x)
    assert est.estimate < 0


def test_one_item_is_a_data_error():
    with pytest.raises(DataError, match="at least two items"):
        cronbach_alpha(np.array([[1.0], [2.0], [3.0]]))
    with pytest.raises(DataError, match="at least two items"):
        item_analysis(pd.DataFrame({"a": [1, 2, 3]}))


def test_all_missing_is_a_data_error():
    with pytest.raises(DataError, match="every value is missing"):
        cronbach_alpha(np.full((5, 3), np.nan))
    with pytest.raises(DataError, match="every value is missing"):
        cronbach_alpha(np.full((5, 3), np.nan), missing="pairwise")


def test_fewer_than_two_complete_rows_is_a_data_error():
    x = np.array([[1, 2, 3], [np.nan, 2, 3], [1, np.nan, 2], [3, 3, np.nan]], dtype=float)
    with pytest.raises(DataError, match="fewer than 2 complete rows"):
        cronbach_alpha(x)
    # pairwise needs two rows per pair
    y = np.array([[1, 2, np.nan], [2, np.nan, 3], [np.nan, 1, 2]], dtype=float)
    with pytest.raises(DataError, match="fewer than 2 rows observed together"):
        cronbach_alpha(y, missing="pairwise")


@pytest.mark.parametrize("bad, match", [
    (pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}), "not numeric"),
    (np.array([1.0, 2.0, 3.0]), "2-D"),
    (np.array([[1.0, np.inf], [2.0, 3.0], [1.0, 1.0]]), "infinite"),
    (np.empty((0, 3)), "empty"),
    ([["a", "b"], ["c", "d"]], "not numeric"),
])
def test_unusable_input_is_a_data_error(bad, match):
    with pytest.raises(DataError, match=match):
        cronbach_alpha(bad)


def test_bad_arguments_are_value_errors():
    x = np.eye(3)
    with pytest.raises(ValueError):
        cronbach_alpha(x, missing="mean")
    with pytest.raises(ValueError):
        cronbach_alpha(x, ci_method="bootstrap")
    with pytest.raises(ValueError):
        cronbach_alpha(x, ci_level=1.5)


def test_pairwise_not_psd_warns():
    # three blocks, each observing one pair: +1, +1 and -1 correlations cannot coexist
    v = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    nan = np.full(5, np.nan)
    x = np.vstack([
        np.column_stack([v, v, nan]),
        np.column_stack([nan, v, v]),
        np.column_stack([v, nan, -v]),
    ])
    with pytest.warns(CseOutcomesWarning, match="not positive semi-definite"):
        est = cronbach_alpha(x, missing="pairwise")
    assert any("positive semi-definite" in w for w in est.warnings)


def test_nullable_integer_dataframe_is_accepted():
    d = pd.DataFrame({"a": pd.array([1, 2, 3, None], dtype="Int64"), "b": pd.array([2, 2, 4, 1], dtype="Int64"),
                      "c": [1.0, 3.0, 3.0, 2.0]})
    est = quiet(cronbach_alpha, d)
    ref = cronbach_alpha(d.dropna().astype(float))
    assert est.estimate == pytest.approx(ref.estimate) and est.n == 3


# --------------------------------------------------------------------------- properties
def _likert(draw_shape):
    return arrays(np.float64, draw_shape, elements=st.integers(1, 5).map(float))


@st.composite
def item_data(draw):
    n = draw(st.integers(5, 30))
    k = draw(st.integers(2, 6))
    x = draw(_likert((n, k)))
    return x


@settings(max_examples=60, deadline=None)
@given(item_data(), st.randoms(use_true_random=False))
def test_alpha_invariant_to_permuting_rows_and_items(x, rnd):
    est = quiet(cronbach_alpha, x)
    rows = list(range(x.shape[0]))
    cols = list(range(x.shape[1]))
    rnd.shuffle(rows)
    rnd.shuffle(cols)
    perm = quiet(cronbach_alpha, x[rows][:, cols])
    if math.isnan(est.estimate):
        assert math.isnan(perm.estimate)
    else:
        assert perm.estimate == pytest.approx(est.estimate, abs=1e-9)
        assert est.estimate <= 1 + 1e-12  # alpha <= 1 for any PSD covariance matrix
        lo, hi = est.ci
        assert lo <= est.estimate <= hi


@settings(max_examples=40, deadline=None)
@given(item_data(), st.floats(0.1, 10), st.lists(st.floats(-5, 5), min_size=6, max_size=6))
def test_alpha_invariant_to_common_rescaling_and_item_shifts(x, scale, shifts):
    est = quiet(cronbach_alpha, x)
    y = x * scale + np.asarray(shifts[: x.shape[1]])
    other = quiet(cronbach_alpha, y)
    if math.isnan(est.estimate):
        assert math.isnan(other.estimate)
    else:
        assert other.estimate == pytest.approx(est.estimate, abs=1e-8)


@settings(max_examples=40, deadline=None)
@given(item_data())
def test_standardised_equals_raw_when_item_variances_are_equal(x):
    sd = x.std(axis=0, ddof=1)
    if (sd == 0).any():
        return
    z = (x - x.mean(axis=0)) / sd  # equal (unit) variances
    est = quiet(cronbach_alpha, z)
    assert est.details["standardized_alpha"] == pytest.approx(est.estimate, abs=1e-9)
    # and standardised alpha of x is raw alpha of z
    assert quiet(cronbach_alpha, x).details["standardized_alpha"] == pytest.approx(est.estimate, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.integers(3, 40), elements=st.integers(0, 9).map(float)),
       st.integers(2, 8), st.lists(st.floats(-3, 3), min_size=8, max_size=8))
def test_perfectly_correlated_equal_variance_items_give_alpha_one(v, k, shifts):
    if np.ptp(v) == 0:
        return
    x = v[:, None] + np.asarray(shifts[:k])[None, :]
    est = cronbach_alpha(x)
    assert est.estimate == pytest.approx(1.0, abs=1e-9)
    assert est.details["standardized_alpha"] == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(item_data())
def test_pairwise_equals_listwise_without_missing(x):
    a = quiet(cronbach_alpha, x)
    b = quiet(cronbach_alpha, x, missing="pairwise")
    if math.isnan(a.estimate):
        assert math.isnan(b.estimate)
    else:
        assert b.estimate == pytest.approx(a.estimate, abs=1e-9)


# --------------------------------------------------------------------------- results and docs
def test_results_are_typed_readable_and_serialisable(ord_data):
    est = quiet(cronbach_alpha, ord_data)
    text = repr(est)
    assert text.startswith("cronbach_alpha = 0.757, 95% CI [0.716, 0.793], n=366")
    d = est.to_dict()
    assert d["estimate"] == est.estimate and d["ci_lower"] == est.ci[0]
    assert d["details.standardized_alpha"] == est.details["standardized_alpha"]
    assert "<strong>cronbach_alpha</strong>" in est._repr_html_()
    tab = item_analysis(ord_data.dropna())
    assert "alpha_if_deleted" in repr(tab)
    assert len(tab.to_dict()["table"]) == 6
    om = quiet(mcdonald_omega, ord_data)
    assert "mcdonald_omega_total" in repr(om)
    assert om.to_dict()["details.loadings"]["q1"] == om.details["loadings"]["q1"]


def test_warnings_are_emitted_and_recorded(ord_data):
    with pytest.warns(CseOutcomesWarning, match="dropped"):
        est = cronbach_alpha(ord_data)
    assert est.warnings


def test_docstring_examples_run():
    module = importlib.import_module("cseoutcomes.psychometrics.reliability")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
