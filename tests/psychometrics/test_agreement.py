"""Agreement statistics against published worked examples and independent peers.

Every fixed number below names its source. Peer values computed with other software
were produced once, on the data written out literally in this file, and are hard-coded;
no test needs R (or the peer packages) at run time. Tolerances: published values are
checked to the precision printed in the source (half a unit in the last printed
decimal); peer values computed in double precision are checked to 1e-6 relative
(1e-4 for iterative REML fits, whose optimisers stop at different tolerances).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cseoutcomes.errors import CseOutcomesWarning, DataError
from cseoutcomes.psychometrics.agreement import (
    ICCResult,
    cohen_kappa,
    fleiss_kappa,
    icc,
    krippendorff_alpha,
)
from cseoutcomes.psychometrics.results import Estimate

NAN = float("nan")

pytestmark = pytest.mark.filterwarnings("ignore::cseoutcomes.errors.CseOutcomesWarning")

# --------------------------------------------------------------------------- data

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = np.array([
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
], dtype=float)

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C/D/E/F
# example: 4 observers (rows A-D) x 12 units, with missing values. Stored here as
# units x coders (the transpose of the paper's table).
KRIPP_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]).T

# Peer data, drawn once with numpy.random.default_rng(2024) and written out here.
ICC_PEER = np.array([
    [6.6, 5.1, 5.9, 7.1], [7.8, 6.6, 7.1, 8.0], [7.7, 7.2, 5.6, 8.1], [3.9, 1.4, 4.3, 3.2],
    [3.2, 0.3, 0.4, 3.7], [4.7, 4.7, 6.5, 5.1], [5.9, 5.5, 6.6, 6.2], [6.5, 5.9, 6.6, 6.6],
    [7.6, 6.5, 7.9, 7.6], [6.2, 4.2, 5.1, 5.6], [6.2, 5.9, 4.7, 7.0], [5.0, 2.9, 2.6, 3.6],
    [6.0, 2.3, 3.4, 4.1], [9.0, 5.8, 6.2, 7.3], [5.5, 4.7, 4.8, 5.4], [7.1, 6.3, 5.2, 5.9],
    [4.5, 1.6, 2.9, 2.3], [5.1, 3.6, 2.6, 3.8], [4.2, 4.1, 3.1, 3.1], [3.7, 3.0, 0.9, 3.9],
])
KAPPA_A = [1, 1, 3, 4, 3, 1, 2, 1, 2, 1, 4, 2, 1, 3, 1, 1, 2, 4, 3, 3, 2, 2, 4, 4, 4, 2, 1, 1, 2, 3,
           1, 3, 4, 3, 2, 1, 4, 1, 3, 4, 4, 4, 3, 1, 3, 2, 3, 3, 1, 1, 1, 3, 2, 1, 2, 1, 1, 3, 3, 2]
KAPPA_B = [1, 1, 3, 4, 3, 1, 2, 2, 2, 1, 4, 1, 1, 4, 1, 2, 3, 4, 3, 3, 2, 2, 4, 4, 4, 3, 1, 2, 2, 4,
           2, 4, 3, 4, 2, 1, 4, 1, 3, 4, 3, 3, 2, 1, 3, 2, 2, 1, 1, 1, 3, 2, 1, 1, 3, 1, 1, 2, 2, 1]
FLEISS_PEER = np.array([
    [3, 3, 3, 2, 3], [1, 1, 3, 3, 1], [3, 2, 3, 3, 3], [2, 1, 2, 2, 2], [2, 1, 1, 1, 2],
    [1, 1, 1, 1, 1], [3, 2, 3, 3, 3], [2, 1, 2, 2, 2], [3, 2, 3, 3, 3], [1, 3, 3, 3, 3],
    [2, 3, 2, 2, 2], [1, 1, 1, 1, 1], [2, 2, 1, 2, 2], [1, 1, 1, 1, 1], [2, 2, 3, 1, 3],
    [1, 1, 1, 1, 3], [1, 1, 1, 2, 1], [1, 3, 2, 1, 2], [2, 2, 2, 2, 2], [1, 1, 1, 1, 1],
    [3, 3, 2, 3, 3], [1, 3, 1, 1, 1], [1, 1, 1, 2, 3], [3, 2, 3, 3, 2], [2, 2, 1, 2, 2],
])
ALPHA_PEER = np.array([
    [4, 5, 5, 5], [1, 1, 1, 1], [3, 3, 2, 3], [1, 1, 1, 1], [NAN, 3, 3, 3], [4, 3, 4, 4],
    [3, NAN, 3, 3], [1, 1, NAN, NAN], [4, 4, 3, 4], [1, 1, 1, 1], [NAN, 2, 2, 3], [2, 2, 2, 3],
    [NAN, 5, 5, NAN], [4, 5, 4, 4], [NAN, NAN, 5, 5], [1, NAN, NAN, 1], [2, 3, 2, 4], [5, 4, 5, 5],
    [2, 2, 2, 2], [5, 5, NAN, 5], [3, 4, 3, 3], [5, 4, 4, 4], [1, 1, 1, 1], [5, 4, 5, 5],
    [3, NAN, 3, 3], [1, 1, NAN, NAN], [4, 4, 4, NAN], [5, 4, NAN, 5], [NAN, 2, 1, 3], [5, 4, 5, 5],
])
# Drawn once with numpy.random.default_rng(77): 15 targets x 4 raters, about 25% missing.
ICC_UNBALANCED = np.array([
    [5.1, 4.9, 4.4, 5.4], [2.5, 4.6, 3.8, 3.9], [7.2, 8.9, NAN, 9.1], [2.0, NAN, 3.2, 3.3],
    [5.1, NAN, 5.7, NAN], [2.9, 6.1, 4.3, 4.3], [NAN, 5.0, 4.1, 4.3], [NAN, 6.2, NAN, 6.3],
    [2.1, 3.9, 2.8, NAN], [NAN, NAN, 2.8, NAN], [NAN, 5.1, NAN, 4.8], [8.4, 7.5, 7.4, 7.3],
    [NAN, 6.0, 4.9, 5.0], [5.1, 6.5, NAN, 6.2], [1.8, 4.0, 3.2, 2.7],
])


def _long(mat: np.ndarray) -> pd.DataFrame:
    t, r = np.nonzero(np.isfinite(mat))
    return pd.DataFrame({"target": [f"T{i}" for i in t], "rater": [f"R{j}" for j in r], "score": mat[t, r]})


def _pairs_from_table(table) -> tuple[np.ndarray, np.ndarray]:
    table = np.asarray(table)
    c = table.shape[0]
    rows = np.repeat(np.repeat(np.arange(c), c), table.ravel())
    cols = np.repeat(np.tile(np.arange(c), c), table.ravel())
    return rows, cols


# =========================================================================== ICC


class TestICCPublished:
    def test_shrout_fleiss_table_4(self):
        # Shrout & Fleiss (1979), Table 4: ICC(1,1)=.17, ICC(2,1)=.29, ICC(3,1)=.71,
        # ICC(1,4)=.44, ICC(2,4)=.62, ICC(3,4)=.91 (two decimals printed).
        res = icc(SHROUT_FLEISS)
        expected = {"ICC(1,1)": 0.17, "ICC(2,1)": 0.29, "ICC(3,1)": 0.71,
                    "ICC(1,4)": 0.44, "ICC(2,4)": 0.62, "ICC(3,4)": 0.91}
        for form, value in expected.items():
            assert res.get(form).estimate == pytest.approx(value, abs=0.005), form

    def test_shrout_fleiss_against_psych_and_pingouin(self):
        # R 4.2.2, psych 2.2.9: psych::ICC(sf, lmer = FALSE)$results (all columns), and
        # pingouin 0.7.0 intraclass_corr (same ICC, F and p; CIs printed to 2 decimals).
        peer = {
            "ICC(1,1)": (0.1657417684, 1.794678492, 5, 18, 0.1647688083446, -0.13293232487, 0.7225600623),
            "ICC(2,1)": (0.2897637795, 11.027247956, 5, 15, 0.0001345665165, 0.01878651337, 0.7610843696),
            "ICC(3,1)": (0.7148407148, 11.027247956, 5, 15, 0.0001345665165, 0.34246476503, 0.9458582600),
            "ICC(1,k)": (0.4427971337, 1.794678492, 5, 18, 0.1647688083446, -0.88444215524, 0.9124154203),
            "ICC(2,k)": (0.6200505476, 11.027247956, 5, 15, 0.0001345665165, 0.07113681530, 0.9272320402),
            "ICC(3,k)": (0.9093155424, 11.027247956, 5, 15, 0.0001345665165, 0.67567471382, 0.9858916782),
        }
        res = icc(SHROUT_FLEISS)
        for form, (est, f, d1, d2, p, lo, hi) in peer.items():
            e = res.get(form)
            assert e.estimate == pytest.approx(est, rel=1e-8)
            assert e.details["F"] == pytest.approx(f, rel=1e-8)
            assert (e.details["df1"], e.details["df2"]) == (d1, d2)
            assert e.details["p_value"] == pytest.approx(p, rel=1e-8)
            assert e.ci == pytest.approx((lo, hi), rel=1e-8)

    def test_peer_data_against_psych(self):
        # R 4.2.2, psych 2.2.9: psych::ICC(as.matrix(ICC_PEER), lmer = FALSE)$results.
        peer = {
            "ICC(1,1)": (0.7120340003, 10.89052876, 60, 4.582417589e-13, 0.5319512041, 0.8556822882),
            "ICC(2,1)": (0.7197371884, 17.61621024, 57, 2.709102546e-17, 0.4713688269, 0.8718464795),
            "ICC(3,1)": (0.8059779197, 17.61621024, 57, 2.709102546e-17, 0.6642451216, 0.9071942059),
            "ICC(1,k)": (0.9081770938, 10.89052876, 60, 4.582417589e-13, 0.8196936862, 0.9595414029),
            "ICC(2,k)": (0.9112871026, 17.61621024, 57, 2.709102546e-17, 0.7810240860, 0.9645547995),
            "ICC(3,k)": (0.9432341017, 17.61621024, 57, 2.709102546e-17, 0.8878100341, 0.9750628150),
        }
        res = icc(ICC_PEER, ci_level=0.95)
        for form, (est, f, d2, p, lo, hi) in peer.items():
            e = res.get(form)
            assert e.estimate == pytest.approx(est, rel=1e-8)
            assert e.details["F"] == pytest.approx(f, rel=1e-8)
            assert e.details["df2"] == d2
            assert e.details["p_value"] == pytest.approx(p, rel=1e-6)
            assert e.ci == pytest.approx((lo, hi), rel=1e-8)

    def test_pingouin_live_if_installed(self):
        pg = pytest.importorskip("pingouin")
        df = _long(ICC_PEER)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = pg.intraclass_corr(df, targets="target", raters="rater", ratings="score")
        ours = icc(df, targets="target", raters="rater", ratings="score").table
        np.testing.assert_allclose(ours["icc"].to_numpy(), theirs["ICC"].to_numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours["F"].to_numpy(), theirs["F"].to_numpy(), rtol=1e-10)


class TestICCInterface:
    def test_long_equals_wide_and_row_order_is_irrelevant(self):
        wide = icc(SHROUT_FLEISS).table
        df = _long(SHROUT_FLEISS).sample(frac=1.0, random_state=3)
        long = icc(df, targets="target", raters="rater", ratings="score").table
        pd.testing.assert_frame_equal(wide, long, rtol=1e-12)

    def test_result_object(self):
        res = icc(SHROUT_FLEISS)
        assert isinstance(res, ICCResult)
        assert list(res.table["form"]) == ["ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)"]
        assert list(res.table["mcgraw_wong"]) == ["ICC(1)", "ICC(A,1)", "ICC(C,1)", "ICC(k)", "ICC(A,k)", "ICC(C,k)"]
        e = res.get("ICC(A,1)")
        assert isinstance(e, Estimate) and e.statistic == "ICC(2,1)"
        assert res["ICC(3,k)"].estimate == res.get("ICC(C,4)").estimate == res.get("ICC(3,4)").estimate
        assert e.n == 6 and e.ci_level == 0.95
        assert "Shrout & Fleiss" in e.method
        assert "ICC(2,1) = 0.290" in repr(e)
        assert "ICC(1,1)" in repr(res)
        d = res.to_dict()
        assert d["details.k"] == 4 and len(d["table"]) == 6
        assert e.to_dict()["details.F"] == pytest.approx(11.027247956)
        with pytest.raises(KeyError):
            res.get("ICC(4,1)")

    def test_ci_level(self):
        narrow = icc(SHROUT_FLEISS, ci_level=0.80).get("ICC(3,1)").ci
        wide = icc(SHROUT_FLEISS, ci_level=0.99).get("ICC(3,1)").ci
        assert wide[0] < narrow[0] < narrow[1] < wide[1]
        with pytest.raises(ValueError):
            icc(SHROUT_FLEISS, ci_level=95)

    def test_perfect_agreement(self):
        mat = np.array([[1, 1, 1], [2, 2, 2], [5, 5, 5], [3, 3, 3]], dtype=float)
        res = icc(mat)
        assert np.allclose(res.table["icc"], 1.0)
        assert res.get("ICC(3,1)").ci == pytest.approx((1.0, 1.0))
        assert not res.warnings

    def test_negative_icc_is_reported_with_a_warning(self):
        mat = np.array([[1, 5], [5, 1], [2, 4], [4, 3]], dtype=float)
        with pytest.warns(CseOutcomesWarning, match="negative"):
            res = icc(mat)
        assert res.get("ICC(1,1)").estimate < 0

    def test_equal_target_means(self):
        mat = np.array([[1, 5], [5, 1], [2, 4], [4, 2]], dtype=float)
        with pytest.warns(CseOutcomesWarning, match="undefined"):
            res = icc(mat)
        assert res.get("ICC(1,1)").estimate == pytest.approx(-1.0)  # -1/(k-1)
        assert math.isnan(res.get("ICC(1,k)").estimate) and res.get("ICC(1,k)").ci is None


class TestICCMixedModel:
    def test_reml_route_equals_anova_on_complete_data(self):
        # With complete, balanced data and positive components, REML gives the ANOVA
        # (expected mean squares) estimators, so the forms must agree.
        anova = icc(SHROUT_FLEISS).table["icc"].to_numpy()
        reml = icc(SHROUT_FLEISS, method="reml").table["icc"].to_numpy()
        np.testing.assert_allclose(reml, anova, rtol=1e-5)

    def test_unbalanced_against_statsmodels_mixedlm(self):
        # statsmodels 0.15.0 MixedLM, REML, gtol=1e-10, on the (target, rater, score) rows of
        # ICC_UNBALANCED:
        #   two-way random: mixedlm("y ~ 1", groups=1, re_formula="0",
        #       vc_formula={"t": "0 + C(t)", "r": "0 + C(r)"}) -> vcomp r=0.32999163,
        #       t=2.70249823, scale=0.3160928481747244
        #   one-way: mixedlm("y ~ 1", groups="t") -> 2.730625298418896, scale 0.6222416859103053
        #   raters fixed: mixedlm("y ~ C(r)", groups="t") -> 2.6925280764190593, scale 0.3164827825235322
        res = icc(ICC_UNBALANCED)
        vc = res.details["variance_components"]
        assert vc["twoway_random"]["target"] == pytest.approx(2.70249823, rel=1e-4)
        assert vc["twoway_random"]["rater"] == pytest.approx(0.32999163, rel=1e-4)
        assert vc["twoway_random"]["residual"] == pytest.approx(0.3160928481747244, rel=1e-4)
        assert vc["oneway"]["target"] == pytest.approx(2.730625298418896, rel=1e-4)
        assert vc["oneway"]["residual"] == pytest.approx(0.6222416859103053, rel=1e-4)
        assert vc["twoway_mixed"]["target"] == pytest.approx(2.6925280764190593, rel=1e-4)
        assert vc["twoway_mixed"]["residual"] == pytest.approx(0.3164827825235322, rel=1e-4)
        t2, r2, e2 = 2.70249823, 0.32999163, 0.3160928481747244
        assert res.get("ICC(2,1)").estimate == pytest.approx(t2 / (t2 + r2 + e2), rel=1e-4)
        assert res.get("ICC(2,k)").estimate == pytest.approx(t2 / (t2 + (r2 + e2) / 4), rel=1e-4)

    def test_unbalanced_is_flagged_and_has_no_f_interval(self):
        with pytest.warns(CseOutcomesWarning, match="REML"):
            res = icc(ICC_UNBALANCED)
        assert "REML" in res.method and "no interval" in res.method
        assert any("do not apply" in w for w in res.warnings)
        e = res.get("ICC(2,1)")
        assert e.ci is None and math.isnan(e.details["F"])
        assert 0.0 <= e.estimate <= 1.0
        long = icc(_long(ICC_UNBALANCED), targets="target", raters="rater", ratings="score")
        np.testing.assert_allclose(long.table["icc"], res.table["icc"], rtol=1e-6)

    def test_too_few_ratings_for_the_mixed_model(self):
        mat = np.array([[1.0, 2.0], [3.0, NAN], [NAN, 5.0]])
        with pytest.raises(DataError, match="residual degrees of freedom"):
            icc(mat)

    def test_anova_method_refuses_missing(self):
        with pytest.raises(DataError, match="complete"):
            icc(ICC_UNBALANCED, method="anova")


class TestICCDegenerate:
    def test_constant_ratings_nan_with_warning(self):
        with pytest.warns(CseOutcomesWarning, match="undefined"):
            res = icc(np.full((5, 3), 2.0))
        assert res.table["icc"].isna().all()
        assert res.warnings and math.isnan(res.get("ICC(2,1)").estimate)

    @pytest.mark.parametrize(("data", "kw", "match"), [
        (np.ones((5, 1)), {}, "two raters"),
        (np.array([[1.0, 2.0, 3.0]]), {}, "two targets"),
        (np.full((4, 3), np.nan), {}, "all missing"),
        (np.array([["a", "b"], ["c", "d"]]), {}, "numeric"),
        (np.ones(5), {}, "2-D"),
    ])
    def test_errors(self, data, kw, match):
        with pytest.raises(DataError, match=match):
            icc(data, **kw)

    def test_long_errors(self):
        df = pd.DataFrame({"t": [1, 1, 2, 2, 2], "r": ["a", "b", "a", "b", "b"], "y": [1, 2, 3, 4, 5]})
        with pytest.raises(DataError, match="more than one rating"):
            icc(df, targets="t", raters="r", ratings="y")
        with pytest.raises(DataError, match="all three"):
            icc(df, targets="t", ratings="y")
        with pytest.raises(DataError, match="no column"):
            icc(df, targets="t", raters="rater", ratings="y")

    def test_long_drops_missing_ratings_with_warning(self):
        df = _long(SHROUT_FLEISS)
        df.loc[len(df)] = ["T9", "R0", np.nan]
        with pytest.warns(CseOutcomesWarning, match="1 missing rating"):
            res = icc(df, targets="target", raters="rater", ratings="score")
        assert res.get("ICC(3,1)").estimate == pytest.approx(0.7148407148)


def test_icc_million_rows_is_fast():
    # The bar: 1,000,000 long rows in a couple of seconds (vectorised ANOVA).
    rng = np.random.default_rng(1)
    n, k = 100_000, 10
    df = pd.DataFrame({"t": np.repeat(np.arange(n), k), "r": np.tile(np.arange(k), n)})
    df["y"] = rng.normal(size=n)[df["t"].to_numpy()] + rng.normal(size=n * k)
    start = time.perf_counter()
    res = icc(df, targets="t", raters="r", ratings="y")
    assert time.perf_counter() - start < 3.0
    assert res.get("ICC(1,1)").estimate == pytest.approx(0.5, abs=0.01)


# =========================================================================== Cohen's kappa

# Cohen (1968), Table 1: 200 cases, proportions x 200, with the disagreement weights
# v = [[0,1,3],[1,0,6],[3,6,0]]. Cohen reports kappa = .492 and weighted kappa = .348.
COHEN_1968 = np.array([[88, 14, 18], [10, 40, 10], [2, 6, 12]])
COHEN_1968_V = np.array([[0, 1, 3], [1, 0, 6], [3, 6, 0]])
# Fleiss, Cohen & Everitt (1969) example (n = 200) with their agreement weights, as
# reproduced in the psych::cohen.kappa help: kappa = .429, weighted kappa = .507.
FCE_1969 = np.array([[106, 10, 4], [22, 28, 10], [2, 12, 6]])
FCE_1969_W = np.array([[1, 0, 0.4444], [0, 1, 0.6667], [0.4444, 0.6667, 1]])


class TestCohenKappaPublished:
    def test_cohen_1968(self):
        a, b = _pairs_from_table(COHEN_1968)
        assert cohen_kappa(a, b).estimate == pytest.approx(0.492, abs=0.0005)
        weighted = cohen_kappa(a, b, weights=1 - COHEN_1968_V / 6)
        assert weighted.estimate == pytest.approx(0.348, abs=0.0005)

    def test_textbook_two_by_two(self):
        # The 2 x 2 example of 50 proposals (Wikipedia "Cohen's kappa", after Cohen 1960):
        # yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o = .7, p_e = .5, kappa = .4.
        a, b = _pairs_from_table([[20, 5], [10, 15]])
        e = cohen_kappa(a, b)
        assert e.estimate == pytest.approx(0.4)
        assert e.details["p_observed"] == pytest.approx(0.7)
        assert e.details["p_expected"] == pytest.approx(0.5)

    def test_fleiss_cohen_everitt_1969_against_psych(self):
        # Estimates .429 / .507; variances from R 4.2.2 psych 2.2.9
        # cohen.kappa(fleiss, weights, n.obs = 200): var.kappa = 0.002884872044 (our
        # non-null FCE variance, equal); psych's var.weighted = 0.002748573484 differs
        # from the FCE (1969) / SAS formula, which gives 0.0032483028935682 (statsmodels
        # 0.15 cohens_kappa agrees with ours for linear and quadratic weights, below).
        a, b = _pairs_from_table(FCE_1969)
        e = cohen_kappa(a, b)
        assert e.estimate == pytest.approx(0.429, abs=0.0005)
        assert e.details["se"] ** 2 == pytest.approx(0.002884872044, rel=1e-8)
        assert e.ci == pytest.approx((0.3232997935, 0.5338430637), rel=1e-8)
        w = cohen_kappa(a, b, weights=FCE_1969_W)
        assert w.estimate == pytest.approx(0.507, abs=0.0005)
        assert w.estimate == pytest.approx(0.5070699649, rel=1e-8)
        assert w.details["se"] ** 2 == pytest.approx(0.0032483028935682, rel=1e-8)

    def test_peer_data_against_psych_and_statsmodels(self):
        # R 4.2.2 psych 2.2.9 cohen.kappa(cbind(KAPPA_A, KAPPA_B)):
        #   unweighted 0.4610778443, CI [0.2965372884, 0.6256184002], var.kappa 0.007047737799
        #   weighted (quadratic) 0.7989276139 (psych's CI uses its own weighted variance).
        # statsmodels 0.15.0 cohens_kappa(table[, wt]) -> kappa, var_kappa, var_kappa0:
        #   unweighted: var_kappa 0.0070477377987624, var_kappa0 0.0056184039107414
        #   linear:     0.6506941334527543, 0.004082564056413932, 0.00879588340480599
        #   quadratic:  0.7989276139410187, 0.00238961273704669, 0.016666666666666663
        cats = [1, 2, 3, 4]
        e = cohen_kappa(KAPPA_A, KAPPA_B, categories=cats)
        assert e.estimate == pytest.approx(0.4610778443, rel=1e-9)
        assert e.ci == pytest.approx((0.2965372884, 0.6256184002), rel=1e-9)
        assert e.details["se"] ** 2 == pytest.approx(0.0070477377987624, rel=1e-9)
        assert e.details["se_null"] ** 2 == pytest.approx(0.0056184039107414, rel=1e-9)
        lin = cohen_kappa(KAPPA_A, KAPPA_B, weights="linear", categories=cats)
        assert lin.estimate == pytest.approx(0.6506941334527543, rel=1e-9)
        assert lin.details["se"] ** 2 == pytest.approx(0.004082564056413932, rel=1e-9)
        assert lin.details["se_null"] ** 2 == pytest.approx(0.00879588340480599, rel=1e-9)
        quad = cohen_kappa(KAPPA_A, KAPPA_B, weights="quadratic", categories=cats)
        assert quad.estimate == pytest.approx(0.7989276139, rel=1e-9)
        assert quad.details["se"] ** 2 == pytest.approx(0.00238961273704669, rel=1e-9)
        assert quad.details["se_null"] ** 2 == pytest.approx(0.016666666666666663, rel=1e-9)
        assert quad.details["z"] == pytest.approx(quad.estimate / math.sqrt(0.016666666666666663))

    def test_statsmodels_live(self):
        from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa

        a, b = np.asarray(KAPPA_A), np.asarray(KAPPA_B)
        table = np.zeros((4, 4))
        np.add.at(table, (a - 1, b - 1), 1)
        for ours_w, sm_w in ((None, None), ("linear", "linear"), ("quadratic", "quadratic")):
            sm = sm_kappa(table, wt=sm_w)
            ours = cohen_kappa(a, b, weights=ours_w, categories=[1, 2, 3, 4])
            assert ours.estimate == pytest.approx(sm.kappa, rel=1e-10)
            assert ours.details["se"] ** 2 == pytest.approx(sm.var_kappa, rel=1e-10)
            assert ours.details["se_null"] ** 2 == pytest.approx(sm.var_kappa0, rel=1e-10)


class TestCohenKappaBehaviour:
    def test_result_object(self):
        e = cohen_kappa(KAPPA_A, KAPPA_B)
        assert e.statistic == "cohen_kappa" and e.n == 60 and e.ci_level == 0.95
        assert "Fleiss, Cohen & Everitt (1969)" in e.method
        d = e.to_dict()
        assert d["estimate"] == e.estimate and d["details.table"][0][0] == 15
        assert repr(e).startswith("cohen_kappa = 0.461")

    def test_missing_pairs_dropped_with_count(self):
        a = [1, 2, None, 3, 2, np.nan, 1]
        b = [1, 2, 3, None, 2, 2, 2]
        with pytest.warns(CseOutcomesWarning, match="3 unit"):
            e = cohen_kappa(a, b)
        assert e.n == 4 and e.details["n_dropped"] == 3

    def test_declared_categories(self):
        # unobserved categories do not change unweighted kappa, but do change the weights
        a, b = [1, 1, 2, 3, 3, 2], [1, 2, 2, 3, 2, 2]
        base = cohen_kappa(a, b)
        wider = cohen_kappa(a, b, categories=[1, 2, 3, 4, 5])
        assert wider.estimate == pytest.approx(base.estimate)
        assert len(wider.details["table"]) == 5
        # on a 1-4 scale where nobody used 3, the declared set moves 4 one step further away
        c, d = [1, 2, 4, 4, 2, 1], [1, 4, 4, 2, 2, 2]
        observed = cohen_kappa(c, d, weights="linear", categories=[1, 2, 4])
        declared = cohen_kappa(c, d, weights="linear", categories=[1, 2, 3, 4])
        assert observed.estimate != pytest.approx(declared.estimate)
        # p_o = 1 - mean|i-j|/3 = 1 - (0+2+0+2+0+1)/18, p_e from the margins (hand computation)
        assert declared.details["p_observed"] == pytest.approx(1 - 5 / 18)
        with pytest.raises(DataError, match="not among the declared categories"):
            cohen_kappa(a, b, categories=[1, 2])

    def test_weighted_without_categories_warns(self):
        with pytest.warns(CseOutcomesWarning, match="categories"):
            cohen_kappa([1, 2, 3], [1, 3, 3], weights="quadratic")

    def test_string_labels(self):
        a = ["red", "yellow", "blue", "red"]
        b = ["red", "blue", "blue", "red"]
        e = cohen_kappa(a, b)
        # p_o = .75, p_e = (2*2 + 1*2 + 1*0)/16 = .375 -> kappa = .6
        assert e.estimate == pytest.approx(0.6)

    def test_one_category_used_is_nan_with_warning(self):
        with pytest.warns(CseOutcomesWarning, match="undefined"):
            e = cohen_kappa([2, 2, 2, 2], [2, 2, 2, 2])
        assert math.isnan(e.estimate) and e.ci is None and e.warnings

    def test_perfect_agreement(self):
        e = cohen_kappa([1, 2, 3, 1, 2], [1, 2, 3, 1, 2], weights="linear", categories=[1, 2, 3])
        assert e.estimate == pytest.approx(1.0)
        assert e.ci == pytest.approx((1.0, 1.0))

    def test_errors(self):
        with pytest.raises(DataError, match="same units"):
            cohen_kappa([1, 2], [1, 2, 3])
        with pytest.raises(DataError, match="no unit"):
            cohen_kappa([None, 1], [2, None])
        with pytest.raises(ValueError, match="weights"):
            cohen_kappa([1, 2], [1, 2], weights="cubic")


ratings_pairs = st.integers(min_value=2, max_value=40).flatmap(
    lambda n: st.tuples(st.lists(st.integers(0, 3), min_size=n, max_size=n),
                        st.lists(st.integers(0, 3), min_size=n, max_size=n)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ratings_pairs, st.sampled_from([None, "linear", "quadratic"]), st.randoms(use_true_random=False))
def test_kappa_properties(pair, weights, rnd):
    a, b = np.asarray(pair[0]), np.asarray(pair[1])
    cats = [0, 1, 2, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = cohen_kappa(a, b, weights=weights, categories=cats)
        order = list(range(len(a)))
        rnd.shuffle(order)
        shuffled = cohen_kappa(a[order], b[order], weights=weights, categories=cats)
        swapped = cohen_kappa(b, a, weights=weights, categories=cats)
        perfect = cohen_kappa(a, a, weights=weights, categories=cats)
    for other in (shuffled, swapped):  # invariant to unit order; symmetric in the raters
        if math.isnan(base.estimate):
            assert math.isnan(other.estimate)
        else:
            assert other.estimate == pytest.approx(base.estimate, abs=1e-12)
            assert other.details["se"] == pytest.approx(base.details["se"], abs=1e-12)
    if len(set(a.tolist())) > 1:
        assert perfect.estimate == pytest.approx(1.0)
    else:
        assert math.isnan(perfect.estimate) and perfect.warnings
    if not math.isnan(base.estimate):
        assert -1.0 - 1e-12 <= base.estimate <= 1.0 + 1e-12


# =========================================================================== Fleiss' kappa

# Worked example of the Wikipedia article "Fleiss' kappa": 10 subjects, 14 raters,
# 5 categories (counts). P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210.
WIKI_FLEISS = np.array([
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
])


class TestFleissKappa:
    def test_wikipedia_example(self):
        e = fleiss_kappa(WIKI_FLEISS, counts=True)
        assert e.estimate == pytest.approx(0.210, abs=0.0005)
        assert e.details["p_observed"] == pytest.approx(0.378, abs=0.0005)
        assert e.details["p_expected"] == pytest.approx(0.213, abs=0.0005)
        assert e.n == 10 and e.details["raters_per_unit"] == 14

    def test_statsmodels_peer(self):
        # statsmodels 0.15.0 fleiss_kappa(aggregate_raters(FLEISS_PEER)[0]) = 0.41300348567002326
        # and for WIKI_FLEISS 0.20993070442195522.
        assert fleiss_kappa(FLEISS_PEER).estimate == pytest.approx(0.41300348567002326, rel=1e-10)
        assert fleiss_kappa(WIKI_FLEISS, counts=True).estimate == pytest.approx(0.20993070442195522, rel=1e-10)
        from statsmodels.stats.inter_rater import aggregate_raters
        from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

        table, _ = aggregate_raters(FLEISS_PEER)
        assert fleiss_kappa(FLEISS_PEER).estimate == pytest.approx(sm_fleiss(table), rel=1e-10)

    def test_ratings_and_counts_agree(self):
        counts = np.stack([np.equal(FLEISS_PEER, c).sum(axis=1) for c in (1, 2, 3)], axis=1)
        a = fleiss_kappa(FLEISS_PEER)
        b = fleiss_kappa(pd.DataFrame(counts, columns=[1, 2, 3]), counts=True)
        assert a.estimate == pytest.approx(b.estimate)
        assert a.details["se_null"] == pytest.approx(b.details["se_null"])
        assert a.ci == pytest.approx(b.ci)

    def test_null_se_matches_simulation(self):
        # Fleiss, Nee & Landis (1979) se under kappa = 0 against the Monte Carlo SD of
        # kappa for independent raters with the same category shares (own simulation).
        rng = np.random.default_rng(5)
        p = np.array([0.5, 0.3, 0.2])
        n, m, reps = 200, 5, 3000
        draws = rng.multinomial(m, p, size=(reps, n)).astype(float)
        pj = draws.sum(axis=1) / (n * m)
        pbar = ((draws**2).sum(axis=2) - m).mean(axis=1) / (m * (m - 1))
        pe = (pj**2).sum(axis=1)
        sim_sd = ((pbar - pe) / (1 - pe)).std()
        e = fleiss_kappa(draws[0], counts=True)
        q = p * (1 - p)
        se0_true = math.sqrt(2 / (n * m * (m - 1))) * math.sqrt(q.sum() ** 2 - (q * (1 - 2 * p)).sum()) / q.sum()
        assert sim_sd == pytest.approx(se0_true, rel=0.06)
        assert e.details["se_null"] == pytest.approx(se0_true, rel=0.1)

    def test_jackknife_se_by_brute_force(self):
        e = fleiss_kappa(FLEISS_PEER)
        loo = np.array([fleiss_kappa(np.delete(FLEISS_PEER, i, axis=0)).estimate for i in range(len(FLEISS_PEER))])
        n = len(loo)
        se = math.sqrt((n - 1) / n * ((loo - loo.mean()) ** 2).sum())
        assert e.details["se_jackknife"] == pytest.approx(se, rel=1e-10)
        assert e.ci == pytest.approx((e.estimate - 1.959963984540054 * se, e.estimate + 1.959963984540054 * se))

    def test_per_category_and_declared_categories(self):
        e = fleiss_kappa(FLEISS_PEER, categories=[1, 2, 3, 4])
        assert e.estimate == pytest.approx(fleiss_kappa(FLEISS_PEER).estimate)
        assert e.details["per_category"]["4"] is None
        assert isinstance(e.details["per_category"]["1"], float)

    def test_degenerate(self):
        with pytest.warns(CseOutcomesWarning, match="undefined"):
            e = fleiss_kappa(np.ones((4, 3)))
        assert math.isnan(e.estimate) and e.warnings
        with pytest.raises(DataError, match="two raters"):
            fleiss_kappa(np.ones((4, 1)))
        with pytest.raises(DataError, match="all missing"):
            fleiss_kappa(np.full((3, 3), np.nan))
        with pytest.raises(DataError, match="same number of ratings"):
            fleiss_kappa(np.array([[1, 2, 2], [1, np.nan, 2], [2, 2, 2]]))
        with pytest.raises(DataError, match="non-negative whole"):
            fleiss_kappa(np.array([[1.5, 2], [2, 1.5]]), counts=True)


# =========================================================================== Krippendorff's alpha


class TestKrippendorffPublished:
    @pytest.mark.parametrize(("level", "published"), [
        # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4-observer,
        # 12-unit example: nominal .743, ordinal .815, interval .849, ratio .797.
        ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797),
    ])
    def test_krippendorff_2011(self, level, published):
        e = krippendorff_alpha(KRIPP_2011, level=level)
        assert e.estimate == pytest.approx(published, abs=0.0005)
        assert e.n == 11  # unit 12 has one value and is not pairable
        assert e.details["n_pairable_values"] == 40

    def test_krippendorff_2011_coincidence_matrix(self):
        # The paper's nominal coincidence matrix: diagonal 7, 10, 8, 4, 3 (n.. = 40).
        o = np.asarray(krippendorff_alpha(KRIPP_2011).details["coincidence_matrix"])
        assert np.diag(o) == pytest.approx([7, 10, 8, 4, 3])
        assert o.sum(axis=1) == pytest.approx([9, 13, 10, 5, 3])

    @pytest.mark.parametrize(("level", "peer"), [
        # krippendorff 0.9.0: krippendorff.alpha(ALPHA_PEER.T, level_of_measurement=level)
        ("nominal", 0.6042575537243496), ("ordinal", 0.9057225153830196),
        ("interval", 0.9107546689431041), ("ratio", 0.9186396506905513),
    ])
    def test_peer_values(self, level, peer):
        assert krippendorff_alpha(ALPHA_PEER, level=level).estimate == pytest.approx(peer, rel=1e-10)

    @pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
    def test_krippendorff_package_live(self, level):
        kd = pytest.importorskip("krippendorff")
        rng = np.random.default_rng(11)
        x = rng.integers(1, 8, (200, 5)).astype(float)
        x = np.where(rng.random(x.shape) < 0.6, x[:, [0]], x)
        x[rng.random(x.shape) < 0.2] = np.nan
        theirs = kd.alpha(x.T, level_of_measurement=level)
        assert krippendorff_alpha(x, level=level).estimate == pytest.approx(theirs, rel=1e-9)


class TestKrippendorffInterface:
    def test_long_equals_wide(self):
        u, c = np.nonzero(np.isfinite(KRIPP_2011))
        df = pd.DataFrame({"unit": u, "coder": [f"c{j}" for j in c], "v": KRIPP_2011[u, c]})
        for level in ("nominal", "ordinal", "interval", "ratio"):
            wide = krippendorff_alpha(KRIPP_2011, level=level).estimate
            long = krippendorff_alpha(df.sample(frac=1, random_state=1), level=level, units="unit",
                                      coders="coder", value_col="v").estimate
            assert long == pytest.approx(wide, rel=1e-12)

    def test_long_duplicate_coder_is_an_error(self):
        df = pd.DataFrame({"unit": [1, 1, 1, 2, 2], "coder": ["a", "a", "b", "a", "b"], "v": [1, 2, 1, 1, 1]})
        with pytest.raises(DataError, match="more than one value"):
            krippendorff_alpha(df, units="unit", coders="coder", value_col="v")

    def test_declared_values(self):
        # Unused declared values have n_c = 0 and change alpha at no level (Krippendorff 2011);
        # values outside the domain are an error.
        for level in ("nominal", "ordinal", "interval", "ratio"):
            a = krippendorff_alpha(KRIPP_2011, level=level).estimate
            b = krippendorff_alpha(KRIPP_2011, level=level, values=[1, 2, 3, 4, 5, 6, 7]).estimate
            assert a == pytest.approx(b, rel=1e-12)
        e = krippendorff_alpha(KRIPP_2011, values=[0, 1, 2, 3, 4, 5])
        assert len(e.details["coincidence_matrix"]) == 6 and e.details["values"] == [0, 1, 2, 3, 4, 5]
        with pytest.raises(DataError, match="outside the declared values"):
            krippendorff_alpha(KRIPP_2011, values=[1, 2, 3, 4])

    def test_ordinal_labels_follow_declared_order(self):
        labels = np.array([None, "never", "rarely", "sometimes", "often", "always"], dtype=object)
        coded = np.where(np.isnan(KRIPP_2011), 0, KRIPP_2011).astype(int)
        text = labels[coded]
        order = ["never", "rarely", "sometimes", "often", "always"]
        e = krippendorff_alpha(text, level="ordinal", values=order)
        assert e.estimate == pytest.approx(0.815, abs=0.0005)
        assert krippendorff_alpha(text, level="nominal").estimate == pytest.approx(0.743, abs=0.0005)
        # without declared values the labels can only be sorted alphabetically: said, not silent
        with pytest.warns(CseOutcomesWarning, match="alphabetically"):
            krippendorff_alpha(text, level="ordinal")

    def test_categorical_column_declares_the_domain(self):
        u, c = np.nonzero(np.isfinite(KRIPP_2011))
        names = np.array(["never", "rarely", "sometimes", "often", "always"])
        order = ["never", "rarely", "sometimes", "often", "always", "every day"]
        v = pd.Categorical(names[KRIPP_2011[u, c].astype(int) - 1], categories=order, ordered=True)
        df = pd.DataFrame({"unit": u, "coder": c, "v": v})
        e = krippendorff_alpha(df, level="ordinal", units="unit", coders="coder", value_col="v")
        assert e.estimate == pytest.approx(0.815, abs=0.0005)
        assert e.details["values"] == order

    def test_result_object(self):
        e = krippendorff_alpha(KRIPP_2011, level="interval")
        assert e.statistic == "krippendorff_alpha" and e.ci is None
        assert "Krippendorff (2011)" in e.method and "interval" in e.method
        assert e.details["D_o"] > 0 and e.details["D_e"] > 0
        assert e.estimate == pytest.approx(1 - e.details["D_o"] / e.details["D_e"])
        assert e.to_dict()["details.level"] == "interval"
        assert repr(e).startswith("krippendorff_alpha = 0.849")


class TestKrippendorffBootstrap:
    def test_interval_and_probabilities(self):
        e = krippendorff_alpha(ALPHA_PEER, level="ordinal", bootstrap=1000, seed=42)
        lo, hi = e.ci
        assert lo < e.estimate < hi <= 1.0
        assert e.ci_level == 0.95 and "bootstrap" in e.method
        for key in ("p_alpha_below_0.667", "p_alpha_below_0.800"):
            assert 0.0 <= e.details[key] <= 1.0
        assert e.details["p_alpha_below_0.667"] <= e.details["p_alpha_below_0.800"]
        again = krippendorff_alpha(ALPHA_PEER, level="ordinal", bootstrap=1000, seed=42)
        assert again.ci == e.ci  # reproducible with a seed

    @pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
    def test_resample_weights_equal_replicated_data(self, level):
        # The bootstrap evaluates alpha from unit multiplicities; check that against
        # alpha computed on the explicitly replicated units.
        from cseoutcomes.psychometrics.agreement import _AlphaCore

        rng = np.random.default_rng(3)
        data = ALPHA_PEER[np.isfinite(ALPHA_PEER).sum(axis=1) >= 2]
        counts = np.stack([(data == v).sum(axis=1) for v in (1, 2, 3, 4, 5)], axis=1)
        f = rng.multinomial(len(data), np.full(len(data), 1 / len(data)))
        fast = _AlphaCore(counts, level, np.arange(1.0, 6.0)).alpha(f[None, :].astype(float))[0][0]
        slow = krippendorff_alpha(np.repeat(data, f, axis=0), level=level, values=[1, 2, 3, 4, 5]).estimate
        assert fast == pytest.approx(slow, rel=1e-10)

    def test_bootstrap_sd_close_to_naive_unit_bootstrap(self):
        rng = np.random.default_rng(8)
        naive = []
        for _ in range(300):
            idx = rng.integers(0, len(ALPHA_PEER), len(ALPHA_PEER))
            naive.append(krippendorff_alpha(ALPHA_PEER[idx], level="interval").estimate)
        fast = krippendorff_alpha(ALPHA_PEER, level="interval", bootstrap=3000, seed=1)
        # ALPHA_PEER has one unit with one value: the naive version resamples it too
        assert fast.details["se_bootstrap"] == pytest.approx(np.std(naive, ddof=1), rel=0.15)

    def test_large_bootstrap_is_fast(self):
        rng = np.random.default_rng(0)
        true = rng.integers(1, 6, 100_000)
        x = np.clip(true[:, None] + rng.integers(-1, 2, (100_000, 10)), 1, 5).astype(float)
        x[rng.random(x.shape) < 0.1] = np.nan
        start = time.perf_counter()
        e = krippendorff_alpha(x, level="ordinal", bootstrap=1000, seed=1)
        assert time.perf_counter() - start < 5.0
        assert e.ci[0] < e.estimate < e.ci[1]


class TestKrippendorffDegenerate:
    def test_single_value_is_nan_with_warning(self):
        with pytest.warns(CseOutcomesWarning, match="undefined"):
            e = krippendorff_alpha(np.full((5, 3), 2.0), level="interval")
        assert math.isnan(e.estimate) and "D_e" in e.warnings[0]

    def test_perfect_agreement_is_one(self):
        x = np.array([[1, 1, np.nan], [2, 2, 2], [3, np.nan, 3], [1, 1, 1]])
        for level in ("nominal", "ordinal", "interval", "ratio"):
            assert krippendorff_alpha(x, level=level).estimate == pytest.approx(1.0)

    @pytest.mark.parametrize(("data", "kw", "match"), [
        (np.ones((5, 1)), {}, "two coders"),
        (np.full((4, 3), np.nan), {}, "all missing"),
        (np.array([[1, np.nan], [np.nan, 2]]), {}, "pairable"),
        (np.array([["a", "b"], ["a", "a"]], dtype=object), {"level": "interval"}, "numeric"),
        (np.array([[-1.0, 2.0], [1.0, 1.0]]), {"level": "ratio"}, "zero or more"),
        (np.ones(4), {}, "2-D"),
    ])
    def test_errors(self, data, kw, match):
        with pytest.raises(DataError, match=match):
            krippendorff_alpha(data, **kw)

    def test_long_one_coder(self):
        df = pd.DataFrame({"unit": [1, 2, 3], "coder": ["a", "a", "a"], "v": [1, 2, 3]})
        with pytest.raises(DataError, match="two coders"):
            krippendorff_alpha(df, units="unit", coders="coder", value_col="v")

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="level"):
            krippendorff_alpha(KRIPP_2011, level="circular")
        with pytest.raises(ValueError, match="bootstrap"):
            krippendorff_alpha(KRIPP_2011, bootstrap=-1)


alpha_data = st.tuples(st.integers(3, 15), st.integers(2, 5)).flatmap(
    lambda s: st.lists(st.lists(st.one_of(st.none(), st.integers(1, 4)), min_size=s[1], max_size=s[1]),
                       min_size=s[0], max_size=s[0]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alpha_data, st.sampled_from(["nominal", "ordinal", "interval", "ratio"]), st.randoms(use_true_random=False))
def test_alpha_invariant_to_unit_and_coder_order(rows, level, rnd):
    x = np.array([[np.nan if v is None else float(v) for v in row] for row in rows])
    try:
        base = krippendorff_alpha(x, level=level)
    except DataError:
        return  # nothing pairable
    units = list(range(x.shape[0]))
    coders = list(range(x.shape[1]))
    rnd.shuffle(units)
    rnd.shuffle(coders)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = krippendorff_alpha(x, level=level)
        other = krippendorff_alpha(x[units][:, coders], level=level)
    if math.isnan(base.estimate):
        assert math.isnan(other.estimate) and other.warnings
    else:
        assert other.estimate == pytest.approx(base.estimate, abs=1e-9)
        assert base.estimate <= 1.0 + 1e-12
