"""Agreement between raters: ICC, Cohen's kappa, Fleiss' kappa and Krippendorff's alpha.

Every function returns a small typed result (:class:`~cseoutcomes.psychometrics.results.Estimate`,
or an :class:`ICCResult` table for the six intraclass correlations) that carries the
estimate, its interval, the method with its source, the number of units and any
warnings. Unusable input raises :class:`~cseoutcomes.errors.DataError` with one line;
a statistic that is undefined for the data at hand (for example kappa when both raters
used a single category) is NaN *together with* a warning that says why.

Sources
-------
* Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
  reliability. *Psychological Bulletin*, 86, 420-428.
* McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass correlation
  coefficients. *Psychological Methods*, 1, 30-46.
* Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educational and
  Psychological Measurement*, 20, 37-46; Cohen, J. (1968). Weighted kappa. *Psychological
  Bulletin*, 70, 213-220.
* Fleiss, J. L., Cohen, J., & Everitt, B. S. (1969). Large sample standard errors of kappa
  and weighted kappa. *Psychological Bulletin*, 72, 323-327.
* Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. *Psychological
  Bulletin*, 76, 378-382; Fleiss, J. L., Nee, J. C. M., & Landis, J. R. (1979). Large sample
  variance of kappa in the case of different sets of raters. *Psychological Bulletin*, 86,
  974-977.
* Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School for
  Communication, University of Pennsylvania; Hayes, A. F., & Krippendorff, K. (2007).
  Answering the call for a standard reliability measure for coding data. *Communication
  Methods and Measures*, 1, 77-89.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import linalg, optimize, sparse, stats

from ..errors import CseOutcomesWarning, DataError
from .results import Estimate, ResultTable

__all__ = ["ICCResult", "cohen_kappa", "fleiss_kappa", "icc", "krippendorff_alpha"]


# ---------------------------------------------------------------------------- helpers


def _note(notes: list[str], message: str) -> None:
    """Record a warning on the result and raise it as a Python warning too."""
    notes.append(message)
    warnings.warn(message, CseOutcomesWarning, stacklevel=3)


def _zcrit(ci_level: float) -> float:
    if not (isinstance(ci_level, int | float) and 0.0 < float(ci_level) < 1.0):
        raise ValueError(f"ci_level must be between 0 and 1 (exclusive), got {ci_level!r}")
    return float(stats.norm.ppf(0.5 + float(ci_level) / 2.0))


def _py(x: Any) -> Any:
    """Plain Python scalar (for details and category lists)."""
    if isinstance(x, np.generic):
        return x.item()
    return x


def _sorted_or_as_is(items: Sequence[Any]) -> tuple[list[Any], bool]:
    """Sort labels if they can be sorted; otherwise keep their order of appearance."""
    try:
        return sorted(items), True
    except TypeError:
        return list(items), False


def _is_numeric_frame(df: pd.DataFrame) -> bool:
    return all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in df.dtypes)


# ---------------------------------------------------------------------------- ICC

_ICC_FORMS: tuple[tuple[str, str, str], ...] = (
    ("ICC(1,1)", "ICC(1)", "one-way random effects, single rater"),
    ("ICC(2,1)", "ICC(A,1)", "two-way random effects, absolute agreement, single rater"),
    ("ICC(3,1)", "ICC(C,1)", "two-way mixed effects, consistency, single rater"),
    ("ICC(1,k)", "ICC(k)", "one-way random effects, mean of k raters"),
    ("ICC(2,k)", "ICC(A,k)", "two-way random effects, absolute agreement, mean of k raters"),
    ("ICC(3,k)", "ICC(C,k)", "two-way mixed effects, consistency, mean of k raters"),
)
_ICC_COLUMNS = ["form", "mcgraw_wong", "description", "icc", "F", "df1", "df2", "p", "ci_lower", "ci_upper"]


class ICCResult(ResultTable):
    """The six Shrout & Fleiss (1979) intraclass correlations as a table.

    ``result.get("ICC(2,1)")`` (or ``result["ICC(2,1)"]``) returns one form as an
    :class:`Estimate`. Forms may be named the Shrout & Fleiss way (``"ICC(3,k)"``, or with
    the actual number of raters, ``"ICC(3,4)"``) or the McGraw & Wong (1996) way
    (``"ICC(C,k)"``, ``"ICC(A,1)"``, ``"ICC(1)"``).
    """

    def _row(self, form: str) -> pd.Series:
        key = str(form).replace(" ", "").upper()
        k = self.details.get("k")
        for _, row in self.table.iterrows():
            names = {row["form"].upper(), row["mcgraw_wong"].upper()}
            if k is not None:
                names |= {n.replace(",K)", f",{k})") for n in list(names)}
            if key in names:
                return row
        known = ", ".join(self.table["form"])
        raise KeyError(f"no ICC form {form!r}; the forms are {known}")

    def get(self, form: str) -> Estimate:
        """One ICC form as an :class:`Estimate` (interval, F test and source in ``details``)."""
        row = self._row(form)
        ci = None
        if np.isfinite(row["ci_lower"]) and np.isfinite(row["ci_upper"]):
            ci = (float(row["ci_lower"]), float(row["ci_upper"]))
        details = {
            "mcgraw_wong": row["mcgraw_wong"],
            "description": row["description"],
            "F": float(row["F"]),
            "df1": float(row["df1"]),
            "df2": float(row["df2"]),
            "p_value": float(row["p"]),
            "k": self.details.get("k"),
        }
        return Estimate(
            statistic=str(row["form"]),
            estimate=float(row["icc"]),
            ci=ci,
            ci_level=self.details.get("ci_level") if ci is not None else None,
            method=self.method,
            n=self.details.get("n_targets"),
            warnings=self.warnings,
            details=details,
        )

    def __getitem__(self, form: str) -> Estimate:
        return self.get(form)


def _icc_input(data: Any, targets: str | None, raters: str | None, ratings: str | None,
               notes: list[str]) -> tuple[np.ndarray | None, tuple[np.ndarray, np.ndarray, np.ndarray, int, int] | None]:
    """Return (complete n x k matrix, None) or (None, (t, r, y, n, k)) for incomplete designs."""
    long_args = (targets, raters, ratings)
    if any(a is not None for a in long_args):
        if not all(a is not None for a in long_args):
            raise DataError("long ICC input needs all three of targets=, raters= and ratings= (column names)")
        if not isinstance(data, pd.DataFrame):
            raise DataError("long ICC input (targets=, raters=, ratings=) needs a pandas DataFrame")
        missing_cols = [c for c in long_args if c not in data.columns]
        if missing_cols:
            raise DataError(f"ICC input has no column(s) {', '.join(map(repr, missing_cols))}")
        try:
            y = pd.to_numeric(data[ratings], errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (ValueError, TypeError):
            raise DataError(f"ratings column {ratings!r} must be numeric for the ICC") from None
        t_codes, _ = pd.factorize(data[targets], sort=False)
        r_codes, _ = pd.factorize(data[raters], sort=False)
        bad_id = (t_codes < 0) | (r_codes < 0)
        if bad_id.any():
            _note(notes, f"{int(bad_id.sum())} row(s) without a target or rater id were dropped")
        keep = ~bad_id & np.isfinite(y)
        n_missing = int((~bad_id & ~np.isfinite(y)).sum())
        if n_missing:
            _note(notes, f"{n_missing} missing rating(s) were dropped")
        t, r, y = t_codes[keep], r_codes[keep], y[keep]
        if y.size == 0:
            raise DataError("ICC input has no ratings (all missing)")
        # re-code so every target and rater left has at least one rating
        t_used, t = np.unique(t, return_inverse=True)
        r_used, r = np.unique(r, return_inverse=True)
        n, k = len(t_used), len(r_used)
        if k < 2:
            raise DataError("the ICC needs at least two raters; the data have one")
        if n < 2:
            raise DataError("the ICC needs at least two targets; the data have one")
        cell = t.astype(np.int64) * k + r
        cell_counts = np.bincount(cell, minlength=n * k)
        dup = int((cell_counts > 1).sum())
        if dup:
            raise DataError(
                f"{dup} (target, rater) pair(s) have more than one rating; the ICC needs one rating "
                "per target and rater", hint="average or remove repeated ratings first")
        if y.size == n * k:
            mat = np.empty(n * k)
            mat[cell] = y
            return mat.reshape(n, k), None
        return None, (t, r, y, n, k)

    # wide: rows are targets, columns raters
    if isinstance(data, pd.DataFrame):
        if not _is_numeric_frame(data):
            try:
                mat = data.apply(pd.to_numeric, errors="raise").to_numpy(dtype=float, na_value=np.nan)
            except (ValueError, TypeError):
                raise DataError("wide ICC input must hold numeric ratings (rows = targets, columns = raters)") from None
        else:
            mat = data.to_numpy(dtype=float, na_value=np.nan)
    else:
        try:
            mat = np.asarray(data, dtype=float)
        except (ValueError, TypeError):
            raise DataError("wide ICC input must hold numeric ratings (rows = targets, columns = raters)") from None
    if mat.ndim != 2:
        raise DataError(f"wide ICC input must be 2-D (targets x raters), got {mat.ndim}-D")
    if mat.shape[1] < 2:
        raise DataError("the ICC needs at least two raters (columns); the data have one")
    finite = np.isfinite(mat)
    if not finite.any():
        raise DataError("ICC input has no ratings (all missing)")
    empty_rows = ~finite.any(axis=1)
    empty_cols = ~finite.any(axis=0)
    if empty_rows.any():
        _note(notes, f"{int(empty_rows.sum())} target(s) without any rating were dropped")
    if empty_cols.any():
        _note(notes, f"{int(empty_cols.sum())} rater(s) without any rating were dropped")
    mat = mat[~empty_rows][:, ~empty_cols]
    finite = finite[~empty_rows][:, ~empty_cols]
    n, k = mat.shape
    if k < 2:
        raise DataError("the ICC needs at least two raters with ratings; the data have one")
    if n < 2:
        raise DataError("the ICC needs at least two targets with ratings; the data have one")
    if finite.all():
        return mat, None
    t, r = np.nonzero(finite)
    return None, (t, r, mat[t, r], n, k)


def _icc_anova(mat: np.ndarray, ci_level: float, notes: list[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    n, k = mat.shape
    grand = mat.mean()
    row_means = mat.mean(axis=1)
    col_means = mat.mean(axis=0)
    ss_total = float(((mat - grand) ** 2).sum())
    ss_rows = float(k * ((row_means - grand) ** 2).sum())
    ss_cols = float(n * ((col_means - grand) ** 2).sum())
    ss_err = max(ss_total - ss_rows - ss_cols, 0.0)
    ss_within = max(ss_total - ss_rows, 0.0)
    df_r, df_c, df_e, df_w = n - 1, k - 1, (n - 1) * (k - 1), n * (k - 1)
    msr, msc, mse, msw = (np.float64(ss_rows / df_r), np.float64(ss_cols / df_c),
                          np.float64(ss_err / df_e), np.float64(ss_within / df_w))
    # round-off: a residual mean square many orders below the total is zero
    tiny = 1e-12 * max(ss_total / (n * k - 1), np.finfo(float).tiny)
    mse = 0.0 if mse < tiny else mse
    msw = 0.0 if msw < tiny else msw
    alpha = 1.0 - ci_level
    details = {"ms_targets": msr, "ms_raters": msc, "ms_error": mse, "ms_within": msw,
               "df_targets": df_r, "df_raters": df_c, "df_error": df_e, "df_within": df_w}

    rows = []
    if ss_total == 0.0:
        _note(notes, "every rating is the same: all ICC forms are undefined (no variance between or within targets)")
        nan = float("nan")
        for form, mw, desc in _ICC_FORMS:
            rows.append([form, mw, desc, nan, nan, nan, nan, nan, nan, nan])
        return pd.DataFrame(rows, columns=_ICC_COLUMNS), details

    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = msr / msw if msw > 0 else np.inf
        f3 = msr / mse if mse > 0 else np.inf
        if msr == 0:
            f1 = 0.0 if msw > 0 else f1
            f3 = 0.0 if mse > 0 else f3
        icc1 = (msr - msw) / (msr + (k - 1) * msw)
        icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        icc3 = (msr - mse) / (msr + (k - 1) * mse)
        icc1k = (msr - msw) / msr
        icc2k = (msr - mse) / (msr + (msc - mse) / n)
        icc3k = (msr - mse) / msr

        # F-based intervals (Shrout & Fleiss 1979, eqs. 6-13; McGraw & Wong 1996, Table 7)
        def single(fl: float, fu: float) -> tuple[float, float]:
            return 1.0 - k / (fl + k - 1.0), 1.0 - k / (fu + k - 1.0)

        def average(fl: float, fu: float) -> tuple[float, float]:
            return 1.0 - 1.0 / fl, 1.0 - 1.0 / fu

        q = 1.0 - alpha / 2.0
        fl1 = f1 / stats.f.ppf(q, df_r, df_w)
        fu1 = f1 * stats.f.ppf(q, df_w, df_r)
        fl3 = f3 / stats.f.ppf(q, df_r, df_e)
        fu3 = f3 * stats.f.ppf(q, df_e, df_r)
        ci1, ci1k = single(fl1, fu1), average(fl1, fu1)
        ci3, ci3k = single(fl3, fu3), average(fl3, fu3)

        # ICC(2,1): Satterthwaite degrees of freedom (Shrout & Fleiss 1979, eq. 12)
        if mse > 0:
            fj = msc / mse
            vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
            vd = (n - 1) * (k * icc2 * fj) ** 2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
            v = vn / vd
        else:  # the limit as MSE -> 0
            v = float(k - 1)
        if not np.isfinite(v) or v <= 0:
            v = float(df_e)
        fstar = stats.f.ppf(q, df_r, v)
        fstar_u = stats.f.ppf(q, v, df_r)
        lo2 = n * (msr - fstar * mse) / (fstar * (k * msc + (k * n - k - n) * mse) + n * msr)
        hi2 = n * (fstar_u * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fstar_u * msr)
        ci2 = (lo2, hi2)
        # ICC(2,k): Spearman-Brown of the ICC(2,1) bounds, identical to McGraw & Wong's (1996) formula
        ci2k = tuple(k * b / (1.0 + (k - 1) * b) for b in ci2)

    p1 = float(stats.f.sf(f1, df_r, df_w))
    p3 = float(stats.f.sf(f3, df_r, df_e))
    values = [
        (icc1, f1, df_r, df_w, p1, ci1),
        (icc2, f3, df_r, df_e, p3, ci2),
        (icc3, f3, df_r, df_e, p3, ci3),
        (icc1k, f1, df_r, df_w, p1, ci1k),
        (icc2k, f3, df_r, df_e, p3, ci2k),
        (icc3k, f3, df_r, df_e, p3, ci3k),
    ]
    for (form, mw, desc), (est, fval, d1, d2, p, (lo, hi)) in zip(_ICC_FORMS, values, strict=True):
        rows.append([form, mw, desc, float(est), float(fval), float(d1), float(d2), p, float(lo), float(hi)])
    table = pd.DataFrame(rows, columns=_ICC_COLUMNS)
    if msr == 0:
        mean_forms = table["form"].str.endswith(",k)")
        table.loc[mean_forms, ["icc", "ci_lower", "ci_upper"]] = float("nan")
        _note(notes, "the targets' mean ratings are all equal (no between-target variance): the mean-of-k "
                     "forms are undefined")
    if (table["icc"] < 0).any():
        neg = ", ".join(table.loc[table["icc"] < 0, "form"])
        _note(notes, f"negative estimate(s) for {neg}: the between-target variance is estimated below zero "
                     "(read as no reliability)")
    return table, details


class _CrossedREML:
    """REML for y = mu + target + rater + error with crossed random (or fixed-rater) effects.

    Sufficient statistics are grouped by the number of ratings a target has, so each
    likelihood evaluation costs O(#distinct counts x k^2), whatever the number of rows.
    Variances are parametrised relative to the error variance (theta = sigma^2 / sigma_e^2),
    and the error variance is profiled out.
    """

    def __init__(self, t: np.ndarray, r: np.ndarray, y: np.ndarray, n: int, k: int):
        self.N, self.k = y.size, k
        # centre and scale for numerical stability (ICCs are location-scale invariant)
        y = (y - y.mean()) / (y.std() or 1.0)
        m = np.bincount(t, minlength=n)
        sy = np.bincount(t, weights=y, minlength=n)
        self.ms, grp = np.unique(m, return_inverse=True)
        self.ms = self.ms.astype(float)
        g = len(self.ms)
        self.cnt = np.bincount(grp, minlength=g).astype(float)
        self.g_sy = np.bincount(grp, weights=sy, minlength=g)
        self.g_sy2 = np.bincount(grp, weights=sy * sy, minlength=g)
        self.syy = float(y @ y)
        self.ytot = float(y.sum())
        self.nj = np.bincount(r, minlength=k).astype(float)
        self.syj = np.bincount(r, weights=y, minlength=k)
        g_obs = grp[t]
        self.U = np.bincount(g_obs * k + r, minlength=g * k).reshape(g, k).astype(float)
        self.Vv = np.bincount(g_obs * k + r, weights=sy[t], minlength=g * k).reshape(g, k)
        inc = sparse.csr_matrix((np.ones(y.size), (t, r)), shape=(n, k))
        self.H = np.empty((g, k, k))
        for gi in range(g):
            sub = inc[np.flatnonzero(grp == gi)]
            self.H[gi] = (sub.T @ sub).toarray()

    def _parts(self, theta_t: float):
        gam = theta_t / (1.0 + self.ms * theta_t)
        oao = self.N - float((gam * self.ms**2 * self.cnt).sum())
        oay = self.ytot - float((gam * self.ms * self.g_sy).sum())
        yay = self.syy - float((gam * self.g_sy2).sum())
        a = self.nj - (gam * self.ms) @ self.U
        b = self.syj - gam @ self.Vv
        G = np.diag(self.nj) - np.tensordot(gam, self.H, axes=1)
        logdet_a = float((self.cnt * np.log1p(self.ms * theta_t)).sum())
        return oao, oay, yay, a, b, G, logdet_a

    def crit_oneway(self, s: np.ndarray) -> float:
        oao, oay, yay, _, _, _, logdet_a = self._parts(float(s[0]) ** 2)
        q = yay - oay**2 / oao
        if not q > 0:
            return 1e300
        return (self.N - 1) * math.log(q) + logdet_a + math.log(oao)

    def crit_fixed(self, s: np.ndarray) -> float:
        _, _, yay, _, b, G, logdet_a = self._parts(float(s[0]) ** 2)
        try:
            cf = linalg.cho_factor(G)
        except linalg.LinAlgError:
            return 1e300
        q = yay - float(b @ linalg.cho_solve(cf, b))
        if not q > 0:
            return 1e300
        return (self.N - self.k) * math.log(q) + logdet_a + 2.0 * float(np.log(np.diag(cf[0])).sum())

    def crit_twoway(self, s: np.ndarray) -> float:
        oao, oay, yay, a, b, G, logdet_a = self._parts(float(s[0]) ** 2)
        tr = float(s[1]) ** 2
        C = np.eye(self.k) + tr * G
        try:
            cf = linalg.cho_factor(C)
        except linalg.LinAlgError:
            return 1e300
        ca, cb = linalg.cho_solve(cf, a), linalg.cho_solve(cf, b)
        ovo = oao - tr * float(a @ ca)
        ovy = oay - tr * float(a @ cb)
        yvy = yay - tr * float(b @ cb)
        q = yvy - ovy**2 / ovo
        if not (q > 0 and ovo > 0):
            return 1e300
        return (self.N - 1) * math.log(q) + logdet_a + 2.0 * float(np.log(np.diag(cf[0])).sum()) + math.log(ovo)

    def _minimise(self, fun, dim: int) -> np.ndarray:
        grid = [0.05, 0.3, 1.0, 3.0]
        starts = [np.array(p, dtype=float) for p in
                  (np.array(np.meshgrid(*[grid] * dim)).reshape(dim, -1).T)]
        best = min(starts, key=fun)
        res = optimize.minimize(fun, best, method="L-BFGS-B", bounds=[(0.0, 1e4)] * dim)
        return res.x if res.fun <= fun(best) else best

    def _sigma_e2(self, theta_t: float, theta_r: float | None, fixed: bool) -> float:
        oao, oay, yay, a, b, G, _ = self._parts(theta_t)
        if fixed:
            q = yay - float(b @ np.linalg.solve(G, b))
            return q / (self.N - self.k)
        if theta_r is None:
            return (yay - oay**2 / oao) / (self.N - 1)
        C = np.eye(self.k) + theta_r * G
        ca, cb = np.linalg.solve(C, a), np.linalg.solve(C, b)
        ovo = oao - theta_r * float(a @ ca)
        ovy = oay - theta_r * float(a @ cb)
        yvy = yay - theta_r * float(b @ cb)
        return (yvy - ovy**2 / ovo) / (self.N - 1)

    def fit(self) -> dict[str, dict[str, float]]:
        s1 = self._minimise(self.crit_oneway, 1)
        s3 = self._minimise(self.crit_fixed, 1)
        s2 = self._minimise(self.crit_twoway, 2)
        t1, t3 = float(s1[0]) ** 2, float(s3[0]) ** 2
        t2, r2 = float(s2[0]) ** 2, float(s2[1]) ** 2
        e1 = self._sigma_e2(t1, None, fixed=False)
        e3 = self._sigma_e2(t3, None, fixed=True)
        e2 = self._sigma_e2(t2, r2, fixed=False)
        return {
            "oneway": {"target": t1 * e1, "residual": e1},
            "twoway_random": {"target": t2 * e2, "rater": r2 * e2, "residual": e2},
            "twoway_mixed": {"target": t3 * e3, "residual": e3},
        }


def _icc_reml(t: np.ndarray, r: np.ndarray, y: np.ndarray, n: int, k: int,
              notes: list[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    if k > 2000:
        raise DataError(f"too many raters ({k}) for the mixed-model ICC route (at most 2000)")
    if y.size <= n + k - 1:
        raise DataError(f"too few ratings ({y.size}) for {n} targets and {k} raters: the two-way model "
                        "has no residual degrees of freedom")
    if np.ptp(y) == 0:
        _note(notes, "every rating is the same: all ICC forms are undefined (no variance between or within targets)")
        nan = float("nan")
        rows = [[f, mw, d, nan, nan, nan, nan, nan, nan, nan] for f, mw, d in _ICC_FORMS]
        return pd.DataFrame(rows, columns=_ICC_COLUMNS), {}
    scale = float(np.var(y))
    comps = _CrossedREML(t, r, y, n, k).fit()
    v1, v2, v3 = comps["oneway"], comps["twoway_random"], comps["twoway_mixed"]
    with np.errstate(divide="ignore", invalid="ignore"):
        est = [
            v1["target"] / (v1["target"] + v1["residual"]),
            v2["target"] / (v2["target"] + v2["rater"] + v2["residual"]),
            v3["target"] / (v3["target"] + v3["residual"]),
            v1["target"] / (v1["target"] + v1["residual"] / k),
            v2["target"] / (v2["target"] + (v2["rater"] + v2["residual"]) / k),
            v3["target"] / (v3["target"] + v3["residual"] / k),
        ]
    nan = float("nan")
    rows = [[f, mw, d, float(e), nan, nan, nan, nan, nan, nan]
            for (f, mw, d), e in zip(_ICC_FORMS, est, strict=True)]
    table = pd.DataFrame(rows, columns=_ICC_COLUMNS)
    if table["icc"].isna().any():
        _note(notes, "some ICC forms are undefined: the estimated variance components are all zero")
    # report the components on the data's own scale
    components = {model: {name: float(val) * scale for name, val in parts.items()}
                  for model, parts in comps.items()}
    return table, {"variance_components": components}


def icc(data: Any, *, targets: str | None = None, raters: str | None = None,
        ratings: str | None = None, ci_level: float = 0.95,
        method: Literal["auto", "anova", "reml"] = "auto") -> ICCResult:
    """Intraclass correlations: the six Shrout & Fleiss (1979) forms.

    Parameters
    ----------
    data
        Wide: a DataFrame or 2-D array, rows = targets (people rated), columns = raters,
        NaN for a missing rating. Long: a DataFrame with one row per rating, naming its
        ``targets``, ``raters`` and ``ratings`` columns.
    ci_level
        Coverage of the F-based intervals.
    method
        ``"auto"`` (default): the two-way ANOVA when every target has a rating from every
        rater, the mixed-model route otherwise. ``"reml"`` forces the mixed-model route
        (complete data included); ``"anova"`` refuses incomplete data.

    Returns
    -------
    ICCResult
        A table with ICC(1,1), ICC(2,1), ICC(3,1), ICC(1,k), ICC(2,k), ICC(3,k) (with the
        McGraw & Wong 1996 names ICC(1), ICC(A,1), ICC(C,1), ICC(k), ICC(A,k), ICC(C,k)),
        each with its F statistic, degrees of freedom, p value (H0: ICC = 0) and interval.
        ``result.get("ICC(2,1)")`` returns one form as an :class:`Estimate`.

    Notes
    -----
    *Complete data* use the mean squares of the two-way ANOVA without replication and the
    exact F intervals of Shrout & Fleiss (1979) for ICC(1,*) and ICC(3,*) and the
    Satterthwaite approximation (their eq. 12; McGraw & Wong 1996, Table 7) for ICC(2,*).
    Negative estimates are reported as they are, with a warning.

    *Incomplete data* (a rater missing for some targets, or different numbers of ratings per
    target) are not dropped listwise: the variance components are estimated by REML in
    three models - one-way (targets random), two-way crossed random (targets and raters
    random) and two-way mixed (raters fixed) - and the forms are built from them, e.g.
    ICC(2,1) = s2_target / (s2_target + s2_rater + s2_error) and the k forms for the mean
    of all k raters. REML components are never negative, so these estimates lie in [0, 1].
    The F tests and F intervals assume a complete balanced design and do not apply; **no
    interval is given** on this route (no profile-likelihood or Wald interval is computed),
    and the result says so in ``warnings`` and ``method``.
    """
    _zcrit(ci_level)  # validates ci_level
    if method not in ("auto", "anova", "reml"):
        raise ValueError(f"method must be 'auto', 'anova' or 'reml', got {method!r}")
    notes: list[str] = []
    mat, incomplete = _icc_input(data, targets, raters, ratings, notes)
    if mat is not None and method != "reml":
        n, k = mat.shape
        table, details = _icc_anova(mat, float(ci_level), notes)
        how = ("two-way ANOVA mean squares (Shrout & Fleiss 1979); F intervals, Satterthwaite df "
               "for ICC(2,*) (McGraw & Wong 1996)")
        n_ratings = n * k
    else:
        if mat is not None:
            n, k = mat.shape
            t = np.repeat(np.arange(n), k)
            r = np.tile(np.arange(k), n)
            y = mat.ravel()
        else:
            assert incomplete is not None
            if method == "anova":
                raise DataError("some targets lack ratings from some raters; the ANOVA ICC needs complete data",
                                hint="use method='auto' or 'reml' for the mixed-model route")
            t, r, y, n, k = incomplete
            _note(notes, f"{n * k - y.size} of {n * k} target x rater ratings are missing: variance components "
                         "by REML on a crossed random-effects model (mixed-model route)")
        _note(notes, "mixed-model route: F tests and F intervals assume a complete balanced design and do "
                     "not apply; no interval is given")
        table, details = _icc_reml(t, r, y, n, k, notes)
        how = ("REML variance components, crossed random effects for targets and raters "
               "(one-way, two-way random, two-way mixed models); no interval")
        n_ratings = int(y.size)
    details = {"n_targets": int(n), "k": int(k), "n_ratings": int(n_ratings), "ci_level": float(ci_level),
               **details}
    return ICCResult(name="Intraclass correlation", table=table, method=how,
                     warnings=tuple(notes), details=details)


# ---------------------------------------------------------------------------- Cohen's kappa


def _as_1d(x: Any, name: str) -> np.ndarray:
    if isinstance(x, pd.Series | pd.Index):
        arr = x.to_numpy()
    else:
        arr = np.asarray(x, dtype=object) if not isinstance(x, np.ndarray) else x
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional (one rating per unit), got {arr.ndim}-D")
    return arr


def _encode_labels(values: np.ndarray, categories: Sequence[Any] | None, what: str,
                   notes: list[str] | None = None, ordered: bool = False) -> tuple[np.ndarray, list[Any]]:
    """Codes 0..C-1 for present values (-1 for missing) and the category list."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object if values.dtype == object else None),
                                  sort=False)
    uniques = list(uniques)
    if categories is None:
        cats, sortable = _sorted_or_as_is(uniques)
        numbers = all(isinstance(c, int | float | np.number) and not isinstance(c, bool) for c in cats)
        if ordered and notes is not None and not numbers:
            how = "alphabetically" if sortable else "as first seen"
            _note(notes, f"{what}: no order declared for non-numeric values, so they are ordered {how}; "
                         "declare the order with values=")
    else:
        cats = list(categories)
        if len(set(map(_hashable, cats))) != len(cats):
            raise DataError(f"{what}: the declared categories contain duplicates")
    index = pd.Index(cats, dtype=object)
    pos = index.get_indexer(pd.Index(uniques, dtype=object)) if uniques else np.array([], dtype=np.intp)
    if uniques and (pos < 0).any():
        if categories is None:  # numeric labels that compare equal but hash differently
            pos = pd.Index(cats).get_indexer(pd.Index(uniques))
        bad = [u for u, p in zip(uniques, pos, strict=True) if p < 0]
        if bad:
            shown = ", ".join(repr(_py(b)) for b in bad[:3])
            raise DataError(f"{what}: {len(bad)} value(s) are not among the declared categories ({shown}"
                            f"{', ...' if len(bad) > 3 else ''})")
    out = np.full(codes.shape, -1, dtype=np.int64)
    present = codes >= 0
    out[present] = pos[codes[present]]
    return out, [_py(c) for c in cats]


def _hashable(x: Any) -> Any:
    return x if not isinstance(x, float) or not math.isnan(x) else "nan"


def _kappa_weights(weights: Any, c: int) -> tuple[np.ndarray, str]:
    if weights is None:
        return np.eye(c), "unweighted"
    if isinstance(weights, str):
        i = np.arange(c)
        d = np.abs(i[:, None] - i[None, :]).astype(float)
        denom = max(c - 1, 1)
        if weights == "linear":
            return 1.0 - d / denom, "linear weights"
        if weights == "quadratic":
            return 1.0 - (d / denom) ** 2, "quadratic weights"
        raise ValueError(f"weights must be None, 'linear', 'quadratic' or a square matrix, got {weights!r}")
    w = np.asarray(weights, dtype=float)
    if w.shape != (c, c):
        raise ValueError(f"a weight matrix must be {c} x {c} (one row and column per category), got {w.shape}")
    if not np.allclose(np.diag(w), 1.0) or (w > 1).any() or (w < 0).any():
        raise ValueError("a weight matrix holds agreement weights: 1 on the diagonal, between 0 and 1 elsewhere")
    return w, "user-supplied agreement weights"


def cohen_kappa(rater1: Any, rater2: Any, *, weights: Any = None, categories: Sequence[Any] | None = None,
                ci_level: float = 0.95) -> Estimate:
    """Cohen's kappa (1960) or weighted kappa (Cohen 1968) for two raters.

    Parameters
    ----------
    rater1, rater2
        The two raters' ratings of the same units, in the same order (missing: None/NaN).
        Units missing either rating are dropped, with a warning that counts them.
    weights
        None (unweighted), ``"linear"`` (1 - |i-j|/(c-1)), ``"quadratic"``
        (1 - (i-j)^2/(c-1)^2), or a c x c matrix of agreement weights (1 on the diagonal).
        i and j are the *positions* of the categories in the ordered category set.
    categories
        The declared, ordered category set. Unobserved categories count: they add empty
        rows and columns to the table and, for weighted kappa, change the weights. Without
        it the observed values, sorted, are used (with a warning for weighted kappa).

    Returns
    -------
    Estimate
        ``ci`` is the Wald interval kappa +/- z * SE, with the large-sample standard error
        *not* assuming kappa = 0 (Fleiss, Cohen & Everitt 1969, eq. for var(kappa_w)),
        clipped to [-1, 1]. ``details`` has ``se``, ``se_null`` (the standard error under
        kappa = 0, same paper), ``z`` = kappa / se_null and its two-sided ``p_value``,
        ``p_observed``, ``p_expected``, the table and the categories.

    Notes
    -----
    Programs differ in the standard error they print, so compare like with like:

    * SPSS CROSSTABS prints an asymptotic standard error that does not assume the null
      and an approximate T computed with the null standard error - the same split as here.
    * Stata ``kap`` prints only the standard error under the null (for its Z test), no
      interval.
    * R ``irr::kappa2`` prints kappa with a z statistic and p value, no standard error or
      interval. Its z uses the null variance, but for weighted kappa it plugs in the
      *unweighted* chance agreement, so weighted z values differ from the null SE here;
      it also tabulates only the categories observed.
    * R ``psych::cohen.kappa`` (2.2.9) gives intervals from a large-sample variance; for
      unweighted kappa it equals the non-null variance here, for weighted kappa it is
      smaller (0.00194 against 0.00239 on the quadratic-weight example in the tests).
    * SAS PROC FREQ (AGREE) uses the same two variances as here.
    * statsmodels' ``cohens_kappa`` reports both variances (``var_kappa``,
      ``var_kappa0``); scikit-learn's ``cohen_kappa_score`` gives no standard error.
    * Many calculators (and Cohen 1960) use the simple approximation
      SE = sqrt(p_o (1 - p_o) / (n (1 - p_e)^2)), which ignores the variability of p_e.
    """
    z_crit = _zcrit(ci_level)
    a, b = _as_1d(rater1, "rater1"), _as_1d(rater2, "rater2")
    if a.shape[0] != b.shape[0]:
        raise DataError(f"rater1 and rater2 must rate the same units: {a.shape[0]} vs {b.shape[0]} ratings")
    notes: list[str] = []
    both = np.concatenate([a, b]) if a.dtype == b.dtype else np.concatenate([a.astype(object), b.astype(object)])
    codes, cats = _encode_labels(both, categories, "cohen_kappa", notes)
    ca, cb = codes[: a.shape[0]], codes[a.shape[0]:]
    keep = (ca >= 0) & (cb >= 0)
    dropped = int((~keep).sum())
    if dropped:
        _note(notes, f"{dropped} unit(s) missing one or both ratings were dropped")
    ca, cb = ca[keep], cb[keep]
    n = int(ca.size)
    if n == 0:
        raise DataError("cohen_kappa: no unit has ratings from both raters")
    if isinstance(weights, str) and categories is None:
        _note(notes, "weighted kappa without declared categories: weights use the observed values in sorted "
                     "order; unobserved categories in between would change them (pass categories=)")
    c = len(cats)
    w, wname = _kappa_weights(weights, c)
    table = np.bincount(ca * c + cb, minlength=c * c).reshape(c, c)
    p = table / n
    pr, pc = p.sum(axis=1), p.sum(axis=0)
    po = float((w * p).sum())
    pe = float(pr @ w @ pc)
    name = "cohen_kappa" if weights is None else "weighted_kappa"
    src = "Cohen (1960)" if weights is None else f"Cohen (1968) weighted kappa, {wname}"
    method = f"{src}; SE and Wald interval by Fleiss, Cohen & Everitt (1969), z test with the null SE"
    details: dict[str, Any] = {"weights": wname, "categories": cats, "table": table.tolist(),
                               "p_observed": po, "p_expected": pe, "n_dropped": dropped}
    if not (1.0 - pe) > 1e-12:
        _note(notes, "kappa is undefined: the chance agreement p_e is 1 (both raters used one and the same "
                     "category for every unit)")
        details |= {"se": float("nan"), "se_null": float("nan"), "z": float("nan"), "p_value": float("nan")}
        return Estimate(name, float("nan"), None, None, method, n, tuple(notes), details)
    kappa = (po - pe) / (1.0 - pe)
    wi = w @ pc  # mean weight of row category i
    wj = pr @ w  # mean weight of column category j
    # Fleiss, Cohen & Everitt (1969): variance not assuming kappa = 0 ...
    term = (w * (1.0 - pe) - (wi[:, None] + wj[None, :]) * (1.0 - po)) ** 2
    var = ((p * term).sum() - (po * pe - 2.0 * pe + po) ** 2) / (n * (1.0 - pe) ** 4)
    # ... and under kappa = 0 (independent raters with the observed margins)
    var0 = ((np.outer(pr, pc) * (w - (wi[:, None] + wj[None, :])) ** 2).sum() - pe**2) / (n * (1.0 - pe) ** 2)
    se = math.sqrt(max(float(var), 0.0))
    se0 = math.sqrt(max(float(var0), 0.0))
    zval = kappa / se0 if se0 > 0 else (math.inf if kappa > 0 else float("nan"))
    pval = float(2.0 * stats.norm.sf(abs(zval))) if not math.isnan(zval) else float("nan")
    ci = (max(-1.0, kappa - z_crit * se), min(1.0, kappa + z_crit * se))
    details |= {"se": se, "se_null": se0, "z": float(zval), "p_value": pval}
    return Estimate(name, float(kappa), ci, float(ci_level), method, n, tuple(notes), details)


# ---------------------------------------------------------------------------- Fleiss' kappa


def fleiss_kappa(data: Any, *, categories: Sequence[Any] | None = None, counts: bool = False,
                 ci_level: float = 0.95) -> Estimate:
    """Fleiss' kappa (1971) for a fixed number of ratings per unit.

    Parameters
    ----------
    data
        Units x raters of category labels (NaN/None for missing), or - with
        ``counts=True`` - a units x categories matrix of how many raters chose each
        category (a DataFrame's columns then name the categories).
    categories
        Declared category set. Unused categories do not change kappa (their share is 0)
        but appear in the per-category kappas as None.
    counts
        Read ``data`` as a count matrix.

    Returns
    -------
    Estimate
        The overall kappa. ``details["se_null"]`` is the large-sample standard error under
        kappa = 0 of Fleiss, Nee & Landis (1979), with ``z`` and ``p_value``; it is valid
        only for testing kappa = 0. (R ``irr::kappam.fleiss`` still uses the null
        variance printed in Fleiss (1971), which Fleiss, Nee & Landis corrected, so its z
        differs; statsmodels' ``fleiss_kappa`` gives no standard error.) The interval
        is a Wald interval from the delete-one-unit jackknife standard error
        (``details["se_jackknife"]``), which does not assume kappa = 0. Per-category
        kappas (Fleiss 1971) are in ``details["per_category"]``.

    Every unit must have the same number of ratings (Fleiss 1971); units with none are
    dropped. For unequal numbers of ratings use :func:`krippendorff_alpha`.
    """
    z_crit = _zcrit(ci_level)
    notes: list[str] = []
    if counts:
        if isinstance(data, pd.DataFrame):
            cats = [_py(c) for c in data.columns] if categories is None else list(categories)
            try:
                cm = data.to_numpy(dtype=float)
            except (ValueError, TypeError):
                raise DataError("fleiss_kappa: a count matrix must hold numbers") from None
        else:
            try:
                cm = np.asarray(data, dtype=float)
            except (ValueError, TypeError):
                raise DataError("fleiss_kappa: a count matrix must hold numbers") from None
            cats = list(range(cm.shape[1])) if categories is None or cm.ndim != 2 else list(categories)
        if cm.ndim != 2:
            raise DataError(f"fleiss_kappa: a count matrix must be 2-D (units x categories), got {cm.ndim}-D")
        if len(cats) != cm.shape[1]:
            raise DataError(f"fleiss_kappa: {len(cats)} categories declared for {cm.shape[1]} count columns")
        if not np.isfinite(cm).all() or (cm < 0).any() or (cm != np.round(cm)).any():
            raise DataError("fleiss_kappa: counts must be non-negative whole numbers")
    else:
        if isinstance(data, pd.DataFrame):
            arr = data.to_numpy()
        else:
            arr = np.asarray(data, dtype=object) if not isinstance(data, np.ndarray) else data
        if arr.ndim != 2:
            raise DataError(f"fleiss_kappa: ratings must be 2-D (units x raters), got {arr.ndim}-D")
        if arr.shape[1] < 2:
            raise DataError("fleiss_kappa needs at least two raters; the data have one column")
        codes, cats = _encode_labels(arr.ravel(), categories, "fleiss_kappa")
        codes = codes.reshape(arr.shape)
        c = len(cats)
        rows = np.repeat(np.arange(arr.shape[0]), arr.shape[1]).reshape(arr.shape)
        ok = codes >= 0
        cm = np.bincount(rows[ok] * max(c, 1) + codes[ok], minlength=arr.shape[0] * max(c, 1)).reshape(
            arr.shape[0], max(c, 1)).astype(float)
        if c == 0:
            raise DataError("fleiss_kappa: no ratings (all missing)")
    per_unit = cm.sum(axis=1)
    empty = per_unit == 0
    if empty.all():
        raise DataError("fleiss_kappa: no ratings (all missing)")
    if empty.any():
        _note(notes, f"{int(empty.sum())} unit(s) without any rating were dropped")
        cm, per_unit = cm[~empty], per_unit[~empty]
    m_lo, m_hi = int(per_unit.min()), int(per_unit.max())
    if m_lo != m_hi:
        raise DataError(f"fleiss_kappa needs the same number of ratings for every unit (units have {m_lo} to "
                        f"{m_hi})", hint="drop incomplete units, or use krippendorff_alpha for missing ratings")
    m = m_hi
    if m < 2:
        raise DataError("fleiss_kappa needs at least two ratings per unit")
    n = cm.shape[0]
    if n < 2:
        raise DataError("fleiss_kappa needs at least two units")
    pj = cm.sum(axis=0) / (n * m)
    p_i = ((cm * cm).sum(axis=1) - m) / (m * (m - 1))
    pbar = float(p_i.mean())
    pe = float((pj * pj).sum())
    method = ("Fleiss (1971) kappa; z test with the null SE of Fleiss, Nee & Landis (1979); "
              "Wald interval from the delete-one-unit jackknife SE")
    pq = pj * (1.0 - pj)
    per_cat = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        kj = 1.0 - (cm * (m - cm)).sum(axis=0) / (n * m * (m - 1) * pq)
    for cat, val, share in zip(cats, kj, pj, strict=True):
        per_cat[str(cat)] = None if share == 0 or share == 1 else float(val)
    details: dict[str, Any] = {"raters_per_unit": m, "categories": [_py(c) for c in cats],
                               "proportions": pj.tolist(), "p_observed": pbar, "p_expected": pe,
                               "per_category": per_cat}
    if not (1.0 - pe) > 1e-12:
        _note(notes, "Fleiss' kappa is undefined: every rating is in one category (chance agreement is 1)")
        details |= {"se_null": float("nan"), "se_jackknife": float("nan"), "z": float("nan"),
                    "p_value": float("nan")}
        return Estimate("fleiss_kappa", float("nan"), None, None, method, n, tuple(notes), details)
    kappa = (pbar - pe) / (1.0 - pe)
    spq = float(pq.sum())
    se0 = math.sqrt(2.0 / (n * m * (m - 1))) * math.sqrt(max(spq**2 - float((pq * (1.0 - 2.0 * pj)).sum()), 0.0)) / spq
    zval = kappa / se0 if se0 > 0 else float("nan")
    pval = float(2.0 * stats.norm.sf(abs(zval))) if not math.isnan(zval) else float("nan")
    # delete-one-unit jackknife
    pbar_j = (n * pbar - p_i) / (n - 1)
    pj_j = (cm.sum(axis=0)[None, :] - cm) / ((n - 1) * m)
    pe_j = (pj_j * pj_j).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        k_j = (pbar_j - pe_j) / (1.0 - pe_j)
    if np.isfinite(k_j).all():
        se_j = float(math.sqrt((n - 1) / n * ((k_j - k_j.mean()) ** 2).sum()))
        ci = (max(-1.0, kappa - z_crit * se_j), min(1.0, kappa + z_crit * se_j))
    else:
        se_j, ci = float("nan"), None
        _note(notes, "no interval: leaving out some unit leaves a single category (jackknife undefined)")
    details |= {"se_null": se0, "se_jackknife": se_j, "z": float(zval), "p_value": pval}
    return Estimate("fleiss_kappa", float(kappa), ci, float(ci_level) if ci else None, method, n,
                    tuple(notes), details)


# ---------------------------------------------------------------------------- Krippendorff's alpha

_LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _encode_numeric(xv: np.ndarray, values: Sequence[Any] | None) -> tuple[np.ndarray, np.ndarray]:
    """Codes into the value domain for finite numeric values; returns (codes, domain)."""
    if values is None:
        if xv.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        lo, hi = float(xv.min()), float(xv.max())
        if hi - lo <= 1_000_000 and np.array_equal(xv, np.rint(xv)):
            off = (xv - lo).astype(np.int64)
            present = np.bincount(off) > 0
            lut = np.cumsum(present) - 1
            return lut[off], np.flatnonzero(present) + lo
        domain, codes = np.unique(xv, return_inverse=True)
        return codes.astype(np.int64), domain
    try:
        vals = np.asarray(values, dtype=float)
    except (ValueError, TypeError):
        raise DataError("krippendorff_alpha: the data are numeric but the declared values are not") from None
    if len(np.unique(vals)) != vals.size:
        raise DataError("krippendorff_alpha: the declared values contain duplicates")
    order = np.argsort(vals, kind="stable")
    sv = vals[order]
    pos = np.clip(np.searchsorted(sv, xv), 0, sv.size - 1)
    bad = sv[pos] != xv
    if bad.any():
        shown = ", ".join(repr(_py(b)) for b in np.unique(xv[bad])[:3])
        raise DataError(f"krippendorff_alpha: {int(bad.sum())} value(s) are outside the declared values ({shown})")
    return order[pos].astype(np.int64), vals


def _small_domain_counts(arr: np.ndarray, values: Sequence[Any] | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Units x values counts straight from a wide float array when the domain is small.

    One comparison pass per value and no compaction of the matrix: the common case of
    integer codes on a short scale. Returns None when it does not apply (the general
    path then handles, or reports, the data).
    """
    n_present = arr.size - int(np.count_nonzero(np.isnan(arr)))
    if n_present == 0:
        return None
    if values is None:
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if not (lo.is_integer() and hi.is_integer() and hi - lo < 16):
            return None
        domain = np.arange(lo, hi + 1.0)
    else:
        try:
            domain = np.asarray(values, dtype=float)
        except (ValueError, TypeError):
            return None
        if domain.ndim != 1 or domain.size > 16 or np.unique(domain).size != domain.size:
            return None
    C = np.empty((arr.shape[0], domain.size))
    ones = np.ones(arr.shape[1], dtype=np.float32)  # row counts by a matrix product: exact, and fast
    for j, v in enumerate(domain):
        C[:, j] = (arr == v).astype(np.float32) @ ones
    if int(C.sum()) != n_present:
        return None  # values outside the range or not whole numbers
    if values is None:
        used = C.any(axis=0)
        C, domain = C[:, used], domain[used]
    return C, domain


def _alpha_counts(data: Any, units: str | None, coders: str | None, value_col: str | None,
                  values: Sequence[Any] | None, ordered: bool, notes: list[str]):
    """(units x values count matrix, domain labels, numeric domain or None)."""
    if units is not None or value_col is not None or coders is not None:
        if units is None or value_col is None:
            raise DataError("long krippendorff_alpha input needs units= and value_col= (coders= optional)")
        if not isinstance(data, pd.DataFrame):
            raise DataError("long krippendorff_alpha input needs a pandas DataFrame")
        cols = [c for c in (units, coders, value_col) if c is not None]
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise DataError(f"krippendorff_alpha input has no column(s) {', '.join(map(repr, missing))}")
        u_codes, _ = pd.factorize(data[units], sort=False)
        n_units = int(u_codes.max()) + 1 if u_codes.size else 0
        vcol = data[value_col]
        present = vcol.notna().to_numpy() & (u_codes >= 0)
        if coders is not None:
            c_codes, c_uniques = pd.factorize(data[coders], sort=False)
            present &= c_codes >= 0
            if len(c_uniques) < 2:
                raise DataError("krippendorff_alpha needs at least two coders; the data have one")
            key = u_codes[present].astype(np.int64) * len(c_uniques) + c_codes[present]
            if np.unique(key).size != key.size:
                raise DataError("some (unit, coder) pairs have more than one value; alpha needs one value per "
                                "coder and unit")
        unit_of = u_codes[present].astype(np.int64)
        numeric = pd.api.types.is_numeric_dtype(vcol.dtype) and not pd.api.types.is_bool_dtype(vcol.dtype)
        if isinstance(vcol.dtype, pd.CategoricalDtype) and values is None:
            values = list(vcol.cat.categories)  # a categorical column declares its domain
        flat = (vcol.to_numpy(dtype=float, na_value=np.nan) if numeric else vcol.to_numpy(dtype=object))[present]
    else:
        if isinstance(data, pd.DataFrame):
            numeric = _is_numeric_frame(data)
            cat_domains = {tuple(t.categories) for t in data.dtypes if isinstance(t, pd.CategoricalDtype)}
            if values is None and len(cat_domains) == 1 and all(
                    isinstance(t, pd.CategoricalDtype) for t in data.dtypes):
                values = list(next(iter(cat_domains)))  # categorical columns declare their domain
            arr = data.to_numpy(dtype=float, na_value=np.nan) if numeric else data.to_numpy(dtype=object)
        else:
            arr = data if isinstance(data, np.ndarray) else np.asarray(data, dtype=object)
            numeric = arr.dtype.kind in "iuf"
            if not numeric and arr.dtype == object:
                try:
                    arr = arr.astype(float)
                    numeric = True
                except (ValueError, TypeError):
                    pass
            if numeric and arr.dtype.kind != "f":
                arr = arr.astype(float)
        if arr.ndim != 2:
            raise DataError(f"krippendorff_alpha: wide data must be 2-D (units x coders), got {arr.ndim}-D")
        if arr.shape[1] < 2:
            raise DataError("krippendorff_alpha needs at least two coders; the data have one column")
        n_units = arr.shape[0]
        if numeric:
            fast = _small_domain_counts(arr, values)
            if fast is not None:
                C, domain = fast
                labels = [int(v) if float(v).is_integer() else float(v) for v in domain]
                return C, labels, domain
        present = ~np.isnan(arr) if numeric else ~pd.isna(arr)
        unit_of = np.nonzero(present)[0].astype(np.int64)
        flat = arr[present]
    if flat.size == 0:
        raise DataError("krippendorff_alpha: no values (all missing)")
    if numeric:
        codes, domain = _encode_numeric(flat, values)
        labels = [int(v) if float(v).is_integer() else float(v) for v in domain]
        scores: np.ndarray | None = domain.astype(float)
    else:
        codes, labels = _encode_labels(np.asarray(flat, dtype=object), values, "krippendorff_alpha", notes,
                                       ordered=ordered)
        try:
            scores = np.asarray(labels, dtype=float)
        except (ValueError, TypeError):
            scores = None
    V = len(labels)
    if n_units * V > 50_000_000:
        raise DataError(f"krippendorff_alpha: {n_units} units x {V} distinct values is too large to tabulate",
                        hint="round or bin the values")
    C = np.bincount(unit_of * V + codes, minlength=n_units * V).reshape(n_units, V).astype(float)
    return C, labels, scores


def _midranks(nc: np.ndarray) -> np.ndarray:
    """Krippendorff's ordinal positions: delta_ck = (t_k - t_c)^2 with t = cumulative n minus n_c / 2."""
    return np.cumsum(nc, axis=-1) - nc / 2.0


class _AlphaCore:
    """Alpha for many weightings of a fixed set of unit count vectors (rows of ``C``).

    ``alpha(F)`` evaluates alpha for each row of ``F`` (how often each unit, or unit
    pattern, is taken): F = ones for the estimate, multinomial counts for the bootstrap.
    Uses D_o = sum_ck o_ck delta_ck / n and D_e = sum_ck n_c n_k delta_ck / (n (n - 1))
    (Krippendorff 2011), summed per unit without forming per-unit coincidence matrices.
    """

    def __init__(self, C: np.ndarray, level: str, scores: np.ndarray | None):
        self.C = np.asarray(C, dtype=float)
        self.m = self.C.sum(axis=1)
        self.level = level
        self.delta: np.ndarray | None = None
        V = C.shape[1]
        if level == "nominal":
            # sum_ck o_ck (1 - I_ck) for one unit = m_u - sum_c n_uc (n_uc - 1) / (m_u - 1)
            self.d = self.m - (self.C * (self.C - 1.0)).sum(axis=1) / (self.m - 1.0)
        elif level == "interval":
            x = scores
            assert x is not None
            self.x = x
            self.d = 2.0 * (self.m * (self.C @ (x * x)) - (self.C @ x) ** 2) / (self.m - 1.0)
        elif level == "ratio":
            x = scores
            assert x is not None
            with np.errstate(divide="ignore", invalid="ignore"):
                dl = ((x[:, None] - x[None, :]) / (x[:, None] + x[None, :])) ** 2
            dl[~np.isfinite(dl)] = 0.0  # both values zero
            self.delta = dl
            self.d = (self.C * (self.C @ dl)).sum(axis=1) / (self.m - 1.0)
        elif level == "ordinal":
            self.d = None  # depends on the marginals of each resample
        self.V = V

    def alpha(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (alpha, D_o, D_e) for each row of F."""
        ntot = F @ self.m
        nc = F @ self.C
        if self.level == "nominal":
            do_num = F @ self.d
            ref = ntot**2
            de_num = ref - (nc * nc).sum(axis=1)
        elif self.level == "interval":
            do_num = F @ self.d
            x = self.x
            ref = 2.0 * ntot * (nc @ (x * x))
            de_num = ref - 2.0 * (nc @ x) ** 2
        elif self.level == "ratio":
            do_num = F @ self.d
            de_num = np.einsum("bi,ij,bj->b", nc, self.delta, nc)
            ref = ntot**2 * float(self.delta.max(initial=0.0))
        else:  # ordinal
            t = _midranks(nc)  # B x V
            a1 = self.C @ (t * t).T  # P x B
            a2 = self.C @ t.T
            g = 2.0 * (self.m[:, None] * a1 - a2 * a2) / (self.m[:, None] - 1.0)
            do_num = np.einsum("bp,pb->b", F, g)
            ref = 2.0 * ntot * (nc * t * t).sum(axis=1)
            de_num = ref - 2.0 * (nc * t).sum(axis=1) ** 2
        defined = de_num > 1e-10 * ref
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = np.where(defined, 1.0 - (ntot - 1.0) * do_num / de_num, np.nan)
            d_o = do_num / ntot
            d_e = np.where(defined, de_num / (ntot * (ntot - 1.0)), 0.0)
        return alpha, d_o, d_e


def _unique_rows(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of an integer count matrix and how often each occurs."""
    C = C.astype(np.int64)
    base = int(C.max()) + 1 if C.size else 1
    V = C.shape[1]
    if V * math.log2(max(base, 2)) < 62:
        key = C @ (base ** np.arange(V, dtype=np.int64))
        _, first, cnt = np.unique(key, return_index=True, return_counts=True)
        return C[first], cnt
    rows, cnt = np.unique(C, axis=0, return_counts=True)
    return rows, cnt


def krippendorff_alpha(data: Any, *, level: Literal["nominal", "ordinal", "interval", "ratio"] = "nominal",
                       values: Sequence[Any] | None = None, units: str | None = None, coders: str | None = None,
                       value_col: str | None = None, bootstrap: int = 0, ci_level: float = 0.95,
                       seed: int | np.random.Generator | None = None) -> Estimate:
    """Krippendorff's alpha for nominal, ordinal, interval or ratio data, with missing values.

    Parameters
    ----------
    data
        Reliability data as **units x coders** (rows = units, columns = coders; NaN/None for
        a missing value) - note that the ``krippendorff`` package and Krippendorff's own
        tables put coders in rows (coders x units): transpose such data. Or a long
        DataFrame with one row per value, naming the ``units=`` and ``value_col=`` columns
        (and ``coders=``, used to check that no coder gave a unit two values).
    level
        Metric: ``"nominal"``, ``"ordinal"``, ``"interval"`` or ``"ratio"``.
    values
        The instrument's declared value domain, in order. It validates the data (a value
        outside it is an error), fixes the order of non-numeric ordinal labels, and lays
        out the coincidence matrix. Declared values nobody used have n_c = 0, and in
        Krippendorff's (2011) definitions contribute nothing to D_o or D_e, so they do not
        change alpha at any level (for the ordinal metric, sum_{g=c..k} n_g skips them).
    bootstrap
        Number of bootstrap resamples (0: none).
    seed
        Seed or Generator for the bootstrap.

    Returns
    -------
    Estimate
        ``n`` is the number of pairable units (units with two or more values). ``details``
        has D_o, D_e, the number of pairable values, the value domain and (for up to 30
        values) the coincidence matrix. With ``bootstrap > 0``: the percentile interval and
        ``details["p_alpha_below_0.667"]`` and ``["p_alpha_below_0.800"]``, the share of
        resampled alphas below Krippendorff's thresholds for tentative and for firm
        conclusions.

    Notes
    -----
    Computed from the coincidence matrix as in Krippendorff (2011): D_o from the
    within-unit pairs (each pair weighted 1/(m_u - 1)), D_e from the pairable values'
    marginal frequencies. alpha is undefined when D_e = 0 - every pairable value is the
    same, so the data cannot show (dis)agreement; the estimate is then NaN with a warning.

    **Bootstrap.** Hayes & Krippendorff's (2007) KALPHA macro resamples *pairs of values*
    from the coincidence matrix with D_e held fixed. That treats the pairs within a unit
    as independent and ignores the sampling variability of D_e; Hughes (2022, "Toward
    improved inference for Krippendorff's alpha agreement coefficient", arXiv:2210.13265)
    finds that this customary bootstrap gives intervals with poor coverage. Here the
    bootstrap resamples **units** (each with all its values; the pairable units, since
    the others contribute nothing), the standard nonparametric bootstrap for clustered
    data, and recomputes D_o, D_e and (ordinal) the metric for each resample. The
    interval is the percentile interval; like any bootstrap it is approximate in small
    samples. Units are grouped by their count vector, so 1,000 resamples of 100,000 units
    take well under a second.
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {', '.join(_LEVELS)}, got {level!r}")
    if int(bootstrap) < 0:
        raise ValueError("bootstrap must be a non-negative number of resamples")
    _zcrit(ci_level)  # validates ci_level
    notes: list[str] = []
    C, labels, scores = _alpha_counts(data, units, coders, value_col, values, level == "ordinal", notes)
    n_units = C.shape[0]
    V = len(labels)
    if level in ("interval", "ratio"):
        if scores is None:
            raise DataError(f"krippendorff_alpha: the {level} level needs numeric values")
        if level == "ratio" and (scores < 0).any():
            raise DataError("krippendorff_alpha: the ratio level needs values of zero or more")
    m_u = C.sum(axis=1)
    pairable = m_u >= 2
    n_pairable_units = int(pairable.sum())
    if n_pairable_units == 0:
        raise DataError("krippendorff_alpha: no unit has values from two or more coders (nothing is pairable)")
    Cp = C[pairable]
    core = _AlphaCore(Cp, level, scores)
    a, d_o, d_e = core.alpha(np.ones((1, n_pairable_units)))
    alpha, d_o, d_e = float(a[0]), float(d_o[0]), float(d_e[0])
    n_values = int(Cp.sum())
    method = f"Krippendorff (2011) alpha, {level} metric, coincidence matrix"
    details: dict[str, Any] = {"level": level, "D_o": d_o, "D_e": d_e, "n_pairable_values": n_values,
                               "n_units": int(n_units), "values": labels}
    if V <= 30:
        w = Cp / (Cp.sum(axis=1, keepdims=True) - 1.0)
        o = w.T @ Cp - np.diag(w.sum(axis=0))
        details["coincidence_matrix"] = o.tolist()
    if math.isnan(alpha):
        _note(notes, "alpha is undefined: every pairable value is the same, so the expected disagreement D_e is "
                     "0 and the data cannot show agreement or disagreement")
        return Estimate("krippendorff_alpha", float("nan"), None, None, method, n_pairable_units,
                        tuple(notes), details)
    ci = None
    if bootstrap:
        rng = np.random.default_rng(seed)
        patterns, counts = _unique_rows(Cp)
        core_b = _AlphaCore(patterns, level, scores)
        probs = counts / counts.sum()
        reps = int(bootstrap)
        out = np.empty(reps)
        chunk = max(1, min(reps, 4_000_000 // max(len(patterns), 1)))
        for start in range(0, reps, chunk):
            size = min(chunk, reps - start)
            F = rng.multinomial(n_pairable_units, probs, size=size).astype(float)
            out[start:start + size] = core_b.alpha(F)[0]
        ok = np.isfinite(out)
        failed = int((~ok).sum())
        if failed:
            _note(notes, f"{failed} of {reps} bootstrap resamples had a single value (alpha undefined) and were "
                         "left out")
        good = out[ok]
        if good.size:
            lo, hi = np.quantile(good, [(1.0 - ci_level) / 2.0, 1.0 - (1.0 - ci_level) / 2.0])
            ci = (float(lo), float(hi))
            details |= {"bootstrap": "units resampled with replacement (percentile interval)",
                        "bootstrap_resamples": reps, "bootstrap_failed": failed,
                        "se_bootstrap": float(good.std(ddof=1)) if good.size > 1 else float("nan"),
                        "p_alpha_below_0.667": float((good < 0.667).mean()),
                        "p_alpha_below_0.800": float((good < 0.8).mean())}
            method += f"; percentile interval from {reps} unit bootstrap resamples"
    return Estimate("krippendorff_alpha", alpha, ci, float(ci_level) if ci else None, method,
                    n_pairable_units, tuple(notes), details)
