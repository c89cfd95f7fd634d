"""Polychoric correlations (Olsson 1979 two-step) and the bivariate normal CDF.

Peer values were computed once, during development, with R 4.2.2 (2022-11-10
r83330) and psych 2.2.9 on exactly the data the generators below produce
(written to CSV, read with ``read.csv``); they are hard-coded, so these tests
never need R.

Tolerances:

* thresholds are ``qnorm`` of cumulative proportions in both programs: ``abs=1e-8``
  (R printed to 10 significant digits).
* correlations: psych maximises with R's ``optimize`` at its default
  ``tol = .Machine$double.eps^0.25`` (about 1.2e-4 in rho); this package uses
  Brent's bounded method to 1e-8. The observed differences are at most 2.1e-5;
  ``abs=1e-4`` is psych's own precision, while an error in the likelihood
  (wrong rectangle, wrong thresholds, a zero-cell correction) moves rho by
  1e-3 to 1e-2.
* psych's ``cor.smooth`` is the same closed-form eigenvalue computation: ``abs=1e-9``.
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
from peer_data import lsat6, ordinal_items
from scipy.optimize import minimize_scalar
from scipy.stats import multivariate_normal

from cseoutcomes.errors import CseOutcomesWarning, DataError
from cseoutcomes.psychometrics.polychoric import (
    PolychoricResult,
    bivariate_normal_cdf,
    polychoric,
    smooth_correlation,
)


# --------------------------------------------------------------------------- data
def sparse_items(seed: int = 7, n: int = 120) -> pd.DataFrame:
    """Four skewed 4-category items, n = 120: empty cells in every table; s2 never uses category 4."""
    rng = np.random.default_rng(seed)
    lam = np.array([0.85, 0.8, 0.75, 0.7])
    f = rng.standard_normal(n)
    z = f[:, None] * lam + rng.standard_normal((n, 4)) * np.sqrt(1 - lam**2)
    cuts = np.array([-0.2, 1.0, 1.9])
    x = 1.0 + (z[:, :, None] > cuts).sum(axis=2)
    return pd.DataFrame(x, columns=["s1", "s2", "s3", "s4"])


@pytest.fixture(scope="module")
def ord_data() -> pd.DataFrame:
    d = ordinal_items()
    # guard: the peer values belong to exactly this data
    assert int(d.notna().to_numpy().sum()) == 2851 and float(np.nansum(d.to_numpy())) == 8814.0
    return d


@pytest.fixture(scope="module")
def sparse_data() -> pd.DataFrame:
    s = sparse_items()
    assert s.sum().tolist() == [198.0, 182.0, 197.0, 188.0]
    return s


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CseOutcomesWarning)
        return fn(*args, **kwargs)


# --------------------------------------------------------------------------- bivariate normal CDF
@pytest.mark.parametrize("rho", [-0.9999, -0.95, -0.5, 0.0, 0.3, 0.8, 0.99, 0.9999])
def test_bivariate_normal_cdf_matches_scipy(rho):
    # Independent implementation: scipy.stats.multivariate_normal.cdf (Genz's algorithm).
    pts = [-3.1, -1.2, -0.4, 0.0, 0.25, 1.0, 2.7]
    h, k = np.meshgrid(pts, pts)
    ours = bivariate_normal_cdf(h, k, rho)
    ref = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]], abseps=1e-12, releps=1e-12).cdf(
        np.column_stack([h.ravel(), k.ravel()])).reshape(h.shape)
    assert ours == pytest.approx(ref, abs=1e-9)


def test_bivariate_normal_cdf_limits_and_closed_forms():
    assert float(bivariate_normal_cdf(0.0, 0.0, 0.5)) == pytest.approx(1 / 3, abs=1e-15)
    assert float(bivariate_normal_cdf(0.0, 0.0, -0.5)) == pytest.approx(1 / 6, abs=1e-15)
    assert float(bivariate_normal_cdf(np.inf, 0.7, 0.3)) == pytest.approx(0.758036347776927, abs=1e-12)
    assert float(bivariate_normal_cdf(-np.inf, 0.7, 0.3)) == 0.0
    assert float(bivariate_normal_cdf(np.inf, np.inf, 0.3)) == 1.0
    # independence: product of the margins
    assert float(bivariate_normal_cdf(0.4, -1.1, 0.0)) == pytest.approx(0.6554217 * 0.1356661, abs=1e-7)
    with pytest.raises(ValueError):
        bivariate_normal_cdf(0.0, 0.0, 1.0)


# --------------------------------------------------------------------------- exact and published cases
def test_tetrachoric_exact_cos_pi_case():
    # Median splits: thresholds 0, so P(both low) = 1/4 + asin(rho)/(2 pi) exactly and the
    # ML estimate for the table [[40, 10], [10, 40]] is rho = sin(0.3 pi) = cos(pi / 5), which is
    # Pearson's (1900) cos-pi formula cos(pi / (1 + sqrt(ad / bc))), exact for 50/50 margins.
    x = np.repeat([0, 0, 1, 1], [40, 10, 10, 40])
    y = np.repeat([0, 1, 0, 1], [40, 10, 10, 40])
    res = polychoric(np.column_stack([x, y]))
    assert res.correlation.iloc[0, 1] == pytest.approx(math.cos(math.pi / 5), abs=1e-6)
    assert res.thresholds["item1"] == pytest.approx([0.0], abs=1e-15)
    # and a negative one: [[15, 35], [35, 15]] -> cos(pi / (1 + 15/35))
    x = np.repeat([0, 0, 1, 1], [15, 35, 35, 15])
    y = np.repeat([0, 1, 0, 1], [15, 35, 35, 15])
    r = polychoric(np.column_stack([x, y])).correlation.iloc[0, 1]
    assert r == pytest.approx(math.cos(math.pi / (1 + 15 / 35)), abs=1e-6)


def test_lsat6_tetrachoric_matches_psych():
    # Published data: Bock & Lieberman (1970) LSAT-6. R 4.2.2, psych 2.2.9:
    # data(bock); t <- tetrachoric(lsat6)  (polychoric(lsat6) gives the same rho)
    rho = np.array([
        [1, 0.1703045400, 0.2275272415, 0.1071867733, 0.0665010650],
        [0.1703045400, 1, 0.1890846492, 0.1111477891, 0.1724117680],
        [0.2275272415, 0.1890846492, 1, 0.1866731655, 0.1054929901],
        [0.1071867733, 0.1111477891, 0.1866731655, 1, 0.2009204979],
        [0.0665010650, 0.1724117680, 0.1054929901, 0.2009204979, 1]])
    tau = [-1.4325027208, -0.5504656950, -0.1332445236, -0.7159859896, -1.1263911290]
    res = polychoric(lsat6())
    assert res.correlation.to_numpy() == pytest.approx(rho, abs=1e-4)
    assert [float(res.thresholds[q][0]) for q in ["Q1", "Q2", "Q3", "Q4", "Q5"]] == pytest.approx(tau, abs=1e-8)
    # published proportions correct .924 .709 .553 .763 .870 -> tau = qnorm(1 - p)
    assert float(res.thresholds["Q1"][0]) == pytest.approx(-1.4325027208, abs=1e-8)
    assert not res.warnings


def test_ordinal_items_with_missing_match_psych(ord_data):
    # R 4.2.2, psych 2.2.9: p <- polychoric(read.csv("ord.csv"))  (NA present; global thresholds)
    rho = np.array([
        [1, 0.5408287382, 0.5939732070, 0.4255888358, 0.3003067783, 0.3445798501],
        [0.5408287382, 1, 0.5483115572, 0.4880591003, 0.3238229590, 0.3487772046],
        [0.5939732070, 0.5483115572, 1, 0.4904394723, 0.3456325071, 0.3115315266],
        [0.4255888358, 0.4880591003, 0.4904394723, 1, 0.2864079653, 0.2089697412],
        [0.3003067783, 0.3238229590, 0.3456325071, 0.2864079653, 1, 0.1845658235],
        [0.3445798501, 0.3487772046, 0.3115315266, 0.2089697412, 0.1845658235, 1]])
    tau = {
        "q1": [-1.994278813, -0.8371367180, -0.02364964093, 0.8223082764],
        "q2": [-1.697764393, -0.6694659500, 0.08293664114, 0.9187832501],
        "q3": [-1.529863902, -0.5721403562, 0.26641973705, 1.1975495232],
        "q4": [-1.366099431, -0.3850374848, 0.43072729930, 1.3795836166],
        "q5": [-1.380723422, -0.2707141686, 0.51479745972, 1.4084569163],
        "q6": [-1.010540749, -0.0953326209, 0.73898581354, 1.6593443983],
    }
    res = polychoric(ord_data)
    assert isinstance(res, PolychoricResult)
    assert res.correlation.to_numpy() == pytest.approx(rho, abs=1e-4)
    for item, expected in tau.items():
        assert res.thresholds[item] == pytest.approx(expected, abs=1e-8)
    n = ord_data.notna().astype(int).to_numpy()
    assert (res.n.to_numpy() == n.T @ n).all()
    assert res.details["smoothed"] is False and "no zero-cell correction" in res.method


def test_complete_ordinal_items_match_psych(ord_data):
    # R 4.2.2, psych 2.2.9: polychoric(na.omit(read.csv("ord.csv")))$rho[1:3, 1:3]
    # (identical with correct = 0: psych applies its 0.5 correction only when global = FALSE)
    res = polychoric(ord_data.dropna())
    got = res.correlation.to_numpy()[:3, :3]
    assert got[0, 1] == pytest.approx(0.5257832288, abs=1e-4)
    assert got[0, 2] == pytest.approx(0.6080685192, abs=1e-4)
    assert got[1, 2] == pytest.approx(0.5562084175, abs=1e-4)


def test_sparse_tables_with_empty_cells_match_psych(sparse_data):
    # R 4.2.2, psych 2.2.9: polychoric(read.csv("sparse.csv")[, c(1, 3, 4)])
    # (every two-way table has empty cells; psych cannot handle s2, whose 4th category is unused)
    rho = np.array([[1, 0.7123303193, 0.6108711453],
                    [0.7123303193, 1, 0.4873095128],
                    [0.6108711453, 0.4873095128, 1]])
    tau = {"s1": [-0.08365173391, 1.281551566, 2.128045234],
           "s3": [-0.10463345561, 1.330561513, 2.393979800],
           "s4": [0.08365173391, 1.330561513, 2.393979800]}
    res = polychoric(sparse_data[["s1", "s3", "s4"]])
    assert res.correlation.to_numpy() == pytest.approx(rho, abs=1e-4)
    for item, expected in tau.items():
        assert res.thresholds[item] == pytest.approx(expected, abs=1e-8)


def _brute_force_rho(x, y, correct):
    """Independent two-step estimate: scipy's multivariate_normal.cdf rectangles, thresholds fixed."""
    from scipy.stats import norm

    xc, yc = np.unique(x), np.unique(y)
    a = norm.ppf(np.cumsum([np.mean(x == c) for c in xc])[:-1])
    b = norm.ppf(np.cumsum([np.mean(y == c) for c in yc])[:-1])
    table = np.array([[np.sum((x == u) & (y == v)) for v in yc] for u in xc], dtype=float)
    table[table == 0] += correct
    ea, eb = np.r_[-10.0, a, 10.0], np.r_[-10.0, b, 10.0]

    def nll(rho):
        mvn = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]], abseps=1e-12, releps=1e-12)
        grid = np.array([[mvn.cdf([u, v]) for v in eb] for u in ea])
        p = np.diff(np.diff(grid, axis=0), axis=1)
        return -np.sum(table * np.log(np.maximum(p, 1e-300)))

    return minimize_scalar(nll, bounds=(-0.9999, 0.9999), method="bounded", options={"xatol": 1e-8}).x


@pytest.mark.parametrize("correct", [0.0, 0.5])
def test_zero_cell_correction_matches_independent_implementation(sparse_data, correct):
    x, y = sparse_data["s1"].to_numpy(), sparse_data["s3"].to_numpy()
    assert (pd.crosstab(x, y).to_numpy() == 0).any()  # the table has empty cells
    ours = polychoric(np.column_stack([x, y]), correct=correct)
    assert ours.correlation.iloc[0, 1] == pytest.approx(_brute_force_rho(x, y, correct), abs=1e-5)
    assert ("empty cells given 0.5" in ours.method) == (correct == 0.5)


def test_zero_cell_correction_shrinks_towards_zero(sparse_data):
    plain = polychoric(sparse_data[["s1", "s3", "s4"]]).correlation.to_numpy()
    corrected = polychoric(sparse_data[["s1", "s3", "s4"]], correct=0.5).correlation.to_numpy()
    iu = np.triu_indices(3, 1)
    assert (np.abs(corrected[iu]) < np.abs(plain[iu])).all()


# --------------------------------------------------------------------------- declared categories
def test_unobserved_top_category_collapses(sparse_data):
    with pytest.warns(CseOutcomesWarning, match="never observed"):
        declared = polychoric(sparse_data, categories=[1, 2, 3, 4])
    observed = polychoric(sparse_data)
    assert declared.correlation.to_numpy() == pytest.approx(observed.correlation.to_numpy(), abs=1e-12)
    thr = declared.thresholds["s2"]
    assert len(thr) == 3 and np.isposinf(thr[-1])  # category 4 has zero width at the top
    assert len(observed.thresholds["s2"]) == 2
    assert declared.details["categories"]["s2"] == [1.0, 2.0, 3.0, 4.0]


def test_unobserved_middle_category_duplicates_threshold(sparse_data):
    gapped = sparse_data.replace({"s1": {3.0: 4.0, 4.0: 5.0}})  # s1 uses 1, 2, 4, 5
    with pytest.warns(CseOutcomesWarning, match="categor"):
        res = polychoric(gapped, categories={"s1": [1, 2, 3, 4, 5]})
    thr = res.thresholds["s1"]
    assert len(thr) == 4 and thr[1] == thr[2]  # category 3 collapsed to zero width
    ref = polychoric(sparse_data)
    assert res.correlation.to_numpy() == pytest.approx(ref.correlation.to_numpy(), abs=1e-12)


def test_values_outside_declared_categories_are_a_data_error(sparse_data):
    with pytest.raises(DataError, match="outside its declared categories"):
        polychoric(sparse_data, categories=[1, 2, 3])
    with pytest.raises(DataError, match="unknown item"):
        polychoric(sparse_data, categories={"zz": [1, 2]})
    with pytest.raises(DataError, match="increasing order"):
        polychoric(sparse_data, categories=[3, 2, 1, 4])


# --------------------------------------------------------------------------- degenerate input
def test_one_category_item_is_a_data_error():
    x = np.column_stack([np.ones(20), np.tile([1, 2], 10), np.tile([1, 1, 2, 2], 5)])
    with pytest.raises(DataError, match="only one category"):
        polychoric(x)


def test_too_many_categories_is_a_data_error():
    x = np.column_stack([np.arange(30) % 25, np.arange(30) % 3])
    with pytest.raises(DataError, match="max_categories"):
        polychoric(x)
    assert polychoric(x, max_categories=30).correlation.shape == (2, 2)


def test_all_missing_single_item_and_disjoint_pairs_are_data_errors():
    with pytest.raises(DataError, match="every value is missing"):
        polychoric(np.full((4, 2), np.nan))
    with pytest.raises(DataError, match="at least two items"):
        polychoric(np.array([[1.0], [2.0]]))
    x = np.array([[1, np.nan, 1], [2, np.nan, 2], [np.nan, 1, 1], [np.nan, 2, 2]], dtype=float)
    with pytest.raises(DataError, match="never observed together"):
        polychoric(x)
    with pytest.raises(DataError, match="no non-missing"):
        polychoric(np.array([[1, np.nan], [2, np.nan]]))


def test_perfectly_ordered_table_hits_the_bound_with_warning():
    x = np.repeat([1, 2, 3], 20)
    with pytest.warns(CseOutcomesWarning, match="bound"):
        res = polychoric(np.column_stack([x, x]))
    assert res.correlation.iloc[0, 1] == pytest.approx(0.9999, abs=1e-6)


def test_not_positive_definite_matrix_is_smoothed_with_warning():
    # pairs observed in separate blocks: strong +, + and - associations cannot coexist
    rng = np.random.default_rng(4)
    blocks = []
    for sign_bc, cols in [(1, (0, 1)), (1, (1, 2)), (-1, (0, 2))]:
        z = rng.standard_normal((300, 1))
        b = np.full((300, 3), np.nan)
        u = (z + 0.2 * rng.standard_normal((300, 1)) > 0).astype(float)
        v = (sign_bc * z + 0.2 * rng.standard_normal((300, 1)) > 0).astype(float)
        b[:, cols[0]] = u[:, 0]
        b[:, cols[1]] = v[:, 0]
        blocks.append(b)
    x = np.vstack(blocks)
    with pytest.warns(CseOutcomesWarning, match="smoothed"):
        res = polychoric(x)
    r = res.correlation.to_numpy()
    assert np.linalg.eigvalsh(r).min() > 0 and np.allclose(np.diag(r), 1)
    raw = res.details["raw_correlation"].to_numpy()
    assert np.linalg.eigvalsh(raw).min() < 0
    assert r == pytest.approx(smooth_correlation(raw))
    unsmoothed = quiet(polychoric, x, smooth=False)
    assert unsmoothed.correlation.to_numpy() == pytest.approx(raw)


def test_smoothing_matches_psych_cor_smooth():
    # R 4.2.2, psych 2.2.9: m <- matrix(c(1,.9,.7,.1, .9,1,.3,.6, .7,.3,1,.8, .1,.6,.8,1), 4)
    # (eigenvalues 2.706 1.024 0.577 -0.307); cor.smooth(m):
    expected = np.array([
        [1, 0.752437333977, 0.571916104995, 0.167217586970],
        [0.752437333977, 1, 0.346797528174, 0.493268594337],
        [0.571916104995, 0.346797528174, 1, 0.683705506792],
        [0.167217586970, 0.493268594337, 0.683705506792, 1]])
    m = [[1, .9, .7, .1], [.9, 1, .3, .6], [.7, .3, 1, .8], [.1, .6, .8, 1]]
    assert smooth_correlation(m) == pytest.approx(expected, abs=1e-9)
    pd_matrix = np.array([[1, 0.3], [0.3, 1]])
    assert smooth_correlation(pd_matrix) == pytest.approx(pd_matrix, abs=0)


def test_bad_arguments_are_value_errors(sparse_data):
    with pytest.raises(ValueError):
        polychoric(sparse_data, correct=-1)
    with pytest.raises(ValueError):
        polychoric(sparse_data, max_categories=1)
    with pytest.raises(ValueError):
        polychoric(sparse_data, categories="1234")


# --------------------------------------------------------------------------- properties
@st.composite
def ordinal_pairs(draw):
    n = draw(st.integers(20, 60))
    k = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 1)) * 0.8 + rng.standard_normal((n, k)) * 0.6
    x = 1.0 + (z[:, :, None] > np.array([-0.6, 0.0, 0.7])).sum(axis=2)
    for j in range(k):  # make sure every item uses at least two categories
        x[0, j], x[1, j] = 1.0, 4.0
    return x


@settings(max_examples=25, deadline=None)
@given(ordinal_pairs(), st.randoms(use_true_random=False))
def test_properties_symmetry_permutation_and_order_invariance(x, rnd):
    res = quiet(polychoric, x, smooth=False)
    r = res.correlation.to_numpy()
    assert np.allclose(r, r.T) and np.allclose(np.diag(r), 1) and (np.abs(r) <= 1).all()
    rows = list(range(x.shape[0]))
    rnd.shuffle(rows)
    assert quiet(polychoric, x[rows], smooth=False).correlation.to_numpy() == pytest.approx(r, abs=1e-12)
    # only the order of the codes matters: a monotone recoding changes nothing
    recoded = quiet(polychoric, np.exp(x) * 10 - 3, smooth=False).correlation.to_numpy()
    assert recoded == pytest.approx(r, abs=1e-12)
    # reversing one item's coding flips the sign of its correlations and mirrors its thresholds
    rev = x.copy()
    rev[:, 0] = 5 - rev[:, 0]
    flipped = quiet(polychoric, rev, smooth=False)
    assert flipped.correlation.to_numpy()[0, 1:] == pytest.approx(-r[0, 1:], abs=2e-6)
    assert flipped.thresholds["item1"] == pytest.approx(-res.thresholds["item1"][::-1], abs=1e-12)


# --------------------------------------------------------------------------- results and docs
def test_result_repr_and_to_dict(ord_data):
    res = polychoric(ord_data)
    text = repr(res)
    assert text.startswith("polychoric correlations (two-step ML polychoric (Olsson 1979)")
    assert "thresholds:" in text and "q6" in text
    d = res.to_dict()
    assert d["items"] == list(ord_data.columns)
    assert d["correlation"][0][1] == res.correlation.iloc[0, 1]
    assert d["thresholds"]["q1"] == res.thresholds["q1"].tolist()
    assert d["details.smoothed"] is False and d["details.raw_correlation"] is None
    assert "<strong>polychoric correlations</strong>" in res._repr_html_()
    with pytest.raises(AttributeError):
        res.method = "x"  # frozen


def test_docstring_examples_run():
    # the package re-exports the function under the module's name, so fetch the module itself
    module = importlib.import_module("cseoutcomes.psychometrics.polychoric")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
