"""Internal-consistency reliability: Cronbach's alpha, McDonald's omega, item analysis, SEM.

Data are people x items (a DataFrame or a 2-D array); NaN is missing. All
statistics come from the item covariance matrix ``C`` (k items, n people):

* Cronbach (1951) alpha: ``alpha = k/(k-1) * (1 - tr(C) / 1'C1)``.
* Standardised alpha (alpha of the correlation matrix ``R``; Cronbach 1951,
  the Spearman-Brown form): ``alpha_std = k rbar / (1 + (k-1) rbar)``, ``rbar``
  the mean off-diagonal correlation.
* Feldt interval (Feldt 1965; Feldt, Woodruff & Salih 1987, eq. 2): with
  ``F_p`` the p quantile of F(n-1, (n-1)(k-1)),
  ``[1 - (1-alpha) F_{1-a/2}, 1 - (1-alpha) F_{a/2}]``.
* Duhachek & Iacobucci (2004) interval ``alpha +- z_{1-a/2} sqrt(Q/n)`` with the
  asymptotic variance of van Zyl, Neudecker & Nel (2000, eq. 2.9; Duhachek &
  Iacobucci 2004, eq. 4)::

      Q = 2 k^2 / ((k-1)^2 (1'C1)^3) * [ (1'C1)(tr(C^2) + tr(C)^2) - 2 tr(C) (1'C^2 1) ]

* Omega total for a one-factor model on a correlation matrix (McDonald 1999,
  eq. 6.20): ``omega = (sum lambda)^2 / ((sum lambda)^2 + sum(1 - lambda^2))``.
* Standard error of measurement (classical test theory, e.g. Lord & Novick
  1968, eq. 3.8.4): ``SEM = SD * sqrt(1 - reliability)``.

Missing data: ``missing="listwise"`` (default) uses complete rows only;
``"pairwise"`` estimates each covariance from the rows where both items are
present (each variance from every row where the item is present), which need
not give a positive semi-definite matrix (a warning says so). Pairwise
intervals use the smallest pairwise count as n (conservative).

Degenerate input (each tested):

* fewer than two items, fewer than two usable rows, every value missing,
  non-numeric or infinite values: :class:`~cseoutcomes.errors.DataError`;
* a constant item: raw alpha is still defined (the item adds nothing to either
  variance term) and is returned with a warning; standardised alpha and the mean
  inter-item correlation are NaN with a warning (a correlation with a constant
  is undefined);
* every item constant (zero total variance): alpha is NaN with a warning;
* omega with a constant item, or fewer than three items (a one-factor model on
  two items is not identified): DataError.

References
----------
Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
*Psychometrika*, 16, 297-334.
Duhachek, A., & Iacobucci, D. (2004). Alpha's standard error (ASE): an accurate
and precise confidence interval estimate. *J. Applied Psychology*, 89, 792-808.
Feldt, L. S. (1965). The approximate sampling distribution of Kuder-Richardson
reliability coefficient twenty. *Psychometrika*, 30, 357-370.
Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for
coefficient alpha. *Applied Psychological Measurement*, 11, 93-103.
McDonald, R. P. (1999). *Test theory: a unified treatment*. Erlbaum.
van Zyl, J. M., Neudecker, H., & Nel, D. G. (2000). On the distribution of the
maximum likelihood estimator of Cronbach's alpha. *Psychometrika*, 65, 271-280.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import minimize

from cseoutcomes.errors import CseOutcomesWarning, DataError
from cseoutcomes.psychometrics.results import Estimate, ResultTable

__all__ = [
    "cronbach_alpha",
    "item_analysis",
    "mcdonald_omega",
    "sem",
    "standard_error_of_measurement",
]

_MISSING = ("listwise", "pairwise")


# --------------------------------------------------------------------------- input
def _item_matrix(data: Any) -> tuple[np.ndarray, list[str]]:
    """People x items float matrix (NaN = missing) and item names; DataError when unusable."""
    if isinstance(data, pd.DataFrame):
        bad = [str(c) for c in data.columns
               if not (pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]))]
        if bad:
            raise DataError(f"item column(s) not numeric: {', '.join(bad[:5])}"
                            + (f" and {len(bad) - 5} more" if len(bad) > 5 else ""),
                            hint="score or recode the items as numbers first")
        names = [str(c) for c in data.columns]
        if len(set(names)) != len(names):
            raise DataError("item column names are not unique")
        x = data.to_numpy(dtype=float, na_value=np.nan)
    else:
        try:
            x = np.asarray(data, dtype=float)
        except (TypeError, ValueError) as exc:
            raise DataError("item data are not numeric", hint="pass a numeric DataFrame or 2-D array") from exc
        if x.ndim != 2:
            raise DataError(f"item data must be 2-D (people x items), got {x.ndim} dimension(s)")
        names = [f"item{j + 1}" for j in range(x.shape[1])]
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"item data are empty ({x.shape[0]} rows x {x.shape[1]} items)")
    if np.isinf(x).any():
        raise DataError("item data contain infinite values")
    return x, names


def _check_missing(missing: str) -> None:
    if missing not in _MISSING:
        raise ValueError(f"missing must be one of {_MISSING}, got {missing!r}")


class _Cov:
    """Covariance matrix of the items with its bookkeeping."""

    def __init__(self, x: np.ndarray, missing: str):
        _check_missing(missing)
        self.k = x.shape[1]
        nan = np.isnan(x)
        any_nan = bool(nan.any())
        if nan.all():
            raise DataError("every value is missing")
        self.warnings: list[str] = []
        self.missing = missing
        if missing == "listwise" or not any_nan:
            if any_nan:
                keep = ~nan.any(axis=1)
                x = x[keep]
                dropped = int((~keep).sum())
            else:
                dropped = 0
            n = x.shape[0]
            if n < 2:
                raise DataError(f"fewer than 2 complete rows ({n}) after listwise deletion",
                                hint="use missing='pairwise' or supply more complete rows")
            if dropped:
                self.warnings.append(f"{dropped} row(s) with missing values dropped (listwise)")
            mean = x.mean(axis=0)
            xc = x - mean
            self.cov = (xc.T @ xc) / (n - 1)
            self.n = n
            self.n_min = n
            self.constant = np.ptp(x, axis=0) == 0
            self.pairwise = missing == "pairwise"  # without missing values both give this matrix
        else:
            m = (~nan).astype(float)
            npair = m.T @ m
            n_min = int(npair.min())
            if n_min < 2:
                raise DataError(f"some pair of items has fewer than 2 rows observed together ({n_min})")
            mean = np.nanmean(x, axis=0)
            xz = np.where(nan, 0.0, x - mean)
            sxy = xz.T @ xz
            sx = xz.T @ m  # sx[i, j]: sum of x_i over rows where i and j are both present
            self.cov = (sxy - sx * sx.T / npair) / (npair - 1)
            # variances from every row where the item is present (diag of npair)
            self.n = int((~nan).any(axis=1).sum())
            self.n_min = n_min
            self.constant = (np.nanmax(x, axis=0) - np.nanmin(x, axis=0)) == 0
            self.pairwise = True
            scale = max(float(np.max(np.diag(self.cov))), 1e-300)
            if np.linalg.eigvalsh(self.cov).min() < -1e-10 * scale:
                self.warnings.append("the pairwise covariance matrix is not positive semi-definite; "
                                     "alpha may be misleading (consider listwise deletion)")
        if self.constant.any():  # exact zeros, not rounding residue of the centring
            self.cov[self.constant, :] = 0.0
            self.cov[:, self.constant] = 0.0
        self.var = np.diag(self.cov).copy()

    def correlation(self) -> np.ndarray | None:
        """cov2cor(C); None when an item is constant."""
        if self.constant.any():
            return None
        d = np.sqrt(self.var)
        r = self.cov / np.outer(d, d)
        np.fill_diagonal(r, 1.0)
        return r


def _alpha_from_cov(c: np.ndarray) -> float:
    k = c.shape[0]
    total = float(c.sum())
    tr = float(np.trace(c))
    if not total > 1e-12 * max(tr, 1e-300):
        return math.nan
    return k / (k - 1) * (1.0 - tr / total)


def _feldt(alpha: float, n: int, k: int, level: float) -> tuple[float, float]:
    a = 1.0 - level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    return (1.0 - (1.0 - alpha) * float(stats.f.ppf(1.0 - a / 2.0, df1, df2)),
            1.0 - (1.0 - alpha) * float(stats.f.ppf(a / 2.0, df1, df2)))


def _duhachek(c: np.ndarray, alpha: float, n: int, level: float) -> tuple[tuple[float, float], float]:
    k = c.shape[0]
    j = float(c.sum())
    tr = float(np.trace(c))
    c2 = c @ c
    q = (2.0 * k**2 / ((k - 1) ** 2 * j**3)) * (j * (float(np.trace(c2)) + tr**2) - 2.0 * tr * float(c2.sum()))
    se = math.sqrt(max(q, 0.0) / n)
    z = float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))
    return (alpha - z * se, alpha + z * se), se


def _warn(msgs: list[str]) -> None:
    for m in msgs:
        warnings.warn(m, CseOutcomesWarning, stacklevel=3)


# --------------------------------------------------------------------------- alpha
def cronbach_alpha(data: Any, *, missing: str = "listwise", ci_level: float = 0.95,
                   ci_method: str = "feldt") -> Estimate:
    """Cronbach's alpha (raw) with a Feldt or Duhachek-Iacobucci interval.

    ``alpha = k/(k-1) (1 - sum_i var_i / var_total)`` (Cronbach 1951) from the
    item covariance matrix. Intervals: Feldt (1965) / Feldt, Woodruff & Salih
    (1987) F interval ``1 - (1-alpha) F_{1-a/2 | a/2}(n-1, (n-1)(k-1))``, and the
    normal interval ``alpha +- z sqrt(Q/n)`` with the asymptotic variance Q of van
    Zyl, Neudecker & Nel (2000) as used by Duhachek & Iacobucci (2004).

    Parameters
    ----------
    data
        DataFrame or 2-D array, rows = people, columns = items; NaN = missing.
    missing
        ``"listwise"`` (complete rows) or ``"pairwise"`` (pairwise-complete covariances).
    ci_level
        Coverage of the interval.
    ci_method
        ``"feldt"``, ``"duhachek"`` or ``"both"`` (``ci`` is Feldt's; both are always
        in ``details``).

    Returns
    -------
    Estimate
        ``estimate`` = raw alpha; ``details``: ``standardized_alpha``,
        ``mean_inter_item_r``, ``n_items``, ``n_used``, ``feldt_ci``,
        ``duhachek_ci``, ``duhachek_se``.

    Example (four people, three items; item variances 5/3, 19/12, 11/12 sum to
    25/6, the total-score variance is 34/3, so alpha = 1.5 (1 - 75/204) = 0.9485):

    >>> import numpy as np
    >>> x = np.array([[1, 2, 2], [2, 3, 3], [3, 3, 4], [4, 5, 4]])
    >>> est = cronbach_alpha(x)
    >>> round(est.estimate, 4), est.n, est.details["n_items"]
    (0.9485, 4, 3)
    """
    if ci_method not in ("feldt", "duhachek", "both"):
        raise ValueError("ci_method must be 'feldt', 'duhachek' or 'both'")
    if not 0.0 < ci_level < 1.0:
        raise ValueError("ci_level must lie strictly between 0 and 1")
    x, names = _item_matrix(data)
    k = x.shape[1]
    if k < 2:
        raise DataError("Cronbach's alpha needs at least two items", hint="pass two or more item columns")
    cv = _Cov(x, missing)
    warns = list(cv.warnings)
    c = cv.cov
    const = [names[j] for j in np.flatnonzero(cv.constant)]
    alpha = _alpha_from_cov(c)
    if len(const) == k:
        warns.append("every item is constant: total score variance is zero, alpha is undefined (NaN)")
    elif math.isnan(alpha):
        warns.append("total score variance is zero or negative: alpha is undefined (NaN)")
    elif const:
        warns.append(f"constant item(s) {', '.join(const)}: raw alpha counts them with zero variance; "
                     "standardised alpha is undefined (NaN)")
    if not math.isnan(alpha) and alpha < 0:
        warns.append("alpha is negative: the items covary negatively on average (reverse-keyed items?)")
    r = cv.correlation()
    if r is None:
        rbar = std_alpha = math.nan
    else:
        rbar = float((r.sum() - k) / (k * (k - 1)))
        std_alpha = k * rbar / (1.0 + (k - 1) * rbar) if (1.0 + (k - 1) * rbar) != 0 else math.nan
        if math.isnan(std_alpha):
            warns.append("mean inter-item correlation is -1/(k-1): standardised alpha is undefined (NaN)")
    n_ci = cv.n_min
    if math.isnan(alpha):
        feldt = duh = None
        se = math.nan
    else:
        feldt = _feldt(alpha, n_ci, k, ci_level)
        duh, se = _duhachek(c, alpha, n_ci, ci_level)
    _warn(warns)
    miss = ("listwise deletion" if not cv.pairwise
            else f"pairwise-complete covariances (interval n = smallest pair count, {n_ci})")
    if ci_method == "duhachek":
        ci, ci_text = duh, "Duhachek & Iacobucci (2004) normal interval, van Zyl et al. (2000) ASE"
    elif ci_method == "both":
        ci, ci_text = feldt, "Feldt (1965) F interval; Duhachek & Iacobucci (2004) interval in details"
    else:
        ci, ci_text = feldt, "Feldt (1965) F interval"
    return Estimate(
        statistic="cronbach_alpha",
        estimate=float(alpha),
        ci=ci,
        ci_level=ci_level if ci is not None else None,
        method=f"Cronbach (1951) raw alpha, {miss}; {ci_text}",
        n=cv.n,
        warnings=tuple(warns),
        details={
            "standardized_alpha": float(std_alpha),
            "mean_inter_item_r": rbar,
            "n_items": k,
            "n_used": cv.n,
            "n_for_interval": n_ci,
            "missing": missing,
            "feldt_ci": feldt,
            "duhachek_ci": duh,
            "duhachek_se": se,
        },
    )


# --------------------------------------------------------------------------- item analysis
def _ranges(categories: Any, names: list[str], x: np.ndarray) -> dict[str, tuple[float, float]]:
    if categories is None:
        lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
        return dict.fromkeys(names, (lo, hi))
    if isinstance(categories, Mapping):
        unknown = [str(key) for key in categories if str(key) not in names]
        if unknown:
            raise DataError(f"categories name unknown item(s): {', '.join(unknown)}")
        lo_all, hi_all = float(np.nanmin(x)), float(np.nanmax(x))
        out = dict.fromkeys(names, (lo_all, hi_all))
        out.update({str(key): (float(v[0]), float(v[-1])) for key, v in categories.items()})
    else:
        seq = list(categories)
        out = dict.fromkeys(names, (float(seq[0]), float(seq[-1])))
    for name, (lo, hi) in out.items():
        if not lo < hi:
            raise DataError(f"declared range of item '{name}' must have min < max, got ({lo:g}, {hi:g})")
    return out


def item_analysis(data: Any, *, missing: str = "listwise", categories: Any = None) -> ResultTable:
    """Per-item statistics: n, mean, sd, corrected item-total r, alpha if deleted, floor, ceiling.

    * ``n``, ``mean``, ``sd`` (ddof 1), ``floor`` and ``ceiling`` use every
      non-missing value of the item.
    * ``item_total_r``: corrected item-total correlation, the correlation of
      the item with the sum of the *other* items, from the covariance matrix C
      (``missing`` as in :func:`cronbach_alpha`):
      ``(C 1 - C_ii)_i / sqrt(C_ii (1'C1 - 2 (C 1)_i + C_ii))``.
    * ``alpha_if_deleted``: raw alpha of the other k-1 items (NaN with a warning
      when k = 2).
    * ``floor`` / ``ceiling``: share of the item's values at the lowest / highest
      category. ``categories=(min, max)`` (or any sequence whose ends are the
      declared lowest and highest codes, or a dict item -> such a sequence)
      declares the instrument's range; without it the observed range of all items
      together is used (the method text says which).

    Example:

    >>> import numpy as np
    >>> x = np.array([[1, 2, 2], [2, 3, 3], [3, 3, 4], [4, 5, 4], [1, 1, 1]])
    >>> t = item_analysis(x, categories=(1, 5)).table
    >>> t.loc["item1", ["n", "floor", "ceiling"]].tolist()
    [5.0, 0.4, 0.0]
    """
    x, names = _item_matrix(data)
    k = x.shape[1]
    if k < 2:
        raise DataError("item analysis needs at least two items")
    cv = _Cov(x, missing)
    warns = list(cv.warnings)
    ranges = _ranges(categories, names, x)
    c = cv.cov
    rowsum = c.sum(axis=1)
    total = float(c.sum())
    rows = []
    no_r: list[str] = []
    for j, name in enumerate(names):
        col = x[~np.isnan(x[:, j]), j]
        lo, hi = ranges[name]
        if categories is not None and col.size and (col.min() < lo or col.max() > hi):
            raise DataError(f"item '{name}' has values outside its declared range ({lo:g}, {hi:g})")
        n = col.size
        rest_var = total - 2.0 * rowsum[j] + c[j, j]
        denom = c[j, j] * rest_var
        if denom > 0:
            r_it = float((rowsum[j] - c[j, j]) / math.sqrt(denom))
        else:
            r_it = math.nan
            no_r.append(name)
        if k > 2:
            keep = np.arange(k) != j
            a_del = _alpha_from_cov(c[np.ix_(keep, keep)])
        else:
            a_del = math.nan
        rows.append({
            "item": name,
            "n": float(n),
            "mean": float(col.mean()) if n else math.nan,
            "sd": float(col.std(ddof=1)) if n > 1 else math.nan,
            "item_total_r": r_it,
            "alpha_if_deleted": a_del,
            "floor": float(np.mean(col == lo)) if n else math.nan,
            "ceiling": float(np.mean(col == hi)) if n else math.nan,
        })
    if no_r:
        warns.append(f"corrected item-total correlation undefined (NaN) for {', '.join(no_r)}: "
                     "the item or the rest score is constant")
    if k == 2:
        warns.append("alpha if item deleted is undefined (NaN) with two items")
    _warn(warns)
    table = pd.DataFrame(rows).set_index("item")
    rng = ("declared range" if categories is not None
           else f"observed range of all items ({ranges[names[0]][0]:g} to {ranges[names[0]][1]:g})")
    miss = "listwise deletion" if not cv.pairwise else "pairwise-complete covariances"
    return ResultTable(
        name="item_analysis",
        table=table,
        method=(f"corrected item-total r and alpha if deleted from the item covariance matrix ({miss}); "
                f"floor/ceiling at the {rng}"),
        warnings=tuple(warns),
        details={"alpha": _alpha_from_cov(c), "n_used": cv.n, "n_items": k, "missing": missing,
                 "ranges": ranges},
    )


# --------------------------------------------------------------------------- SEM
def standard_error_of_measurement(sd: float, reliability: float) -> float:
    """Standard error of measurement, ``SEM = SD * sqrt(1 - reliability)``.

    Classical test theory (Lord & Novick 1968, eq. 3.8.4). ``sd`` >= 0 and
    ``reliability`` in [0, 1]; anything else (or NaN) raises DataError.

    >>> standard_error_of_measurement(15, 0.91)  # 15 * sqrt(0.09)
    4.5
    """
    sd = float(sd)
    reliability = float(reliability)
    if math.isnan(sd) or sd < 0:
        raise DataError(f"standard deviation must be a non-negative number, got {sd}")
    if math.isnan(reliability) or not 0.0 <= reliability <= 1.0:
        raise DataError(f"reliability must lie in [0, 1] for the SEM, got {reliability}")
    return round(sd * math.sqrt(1.0 - reliability), 12)


def sem(data: Any, *, missing: str = "listwise") -> Estimate:
    """SEM of the total (sum) score, using Cronbach's alpha as the reliability.

    ``SEM = sqrt(1'C1) * sqrt(1 - alpha)``; ``sqrt(1'C1)`` is the standard
    deviation of the sum score (with listwise deletion exactly the SD of the
    row sums). No interval is given. Undefined (negative or NaN) alpha gives NaN
    with a warning.

    >>> import numpy as np
    >>> x = np.array([[1, 2, 2], [2, 3, 3], [3, 3, 4], [4, 5, 4]])
    >>> round(sem(x).estimate, 4)
    0.7638
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CseOutcomesWarning)
        a = cronbach_alpha(data, missing=missing)
    x, _ = _item_matrix(data)
    cv = _Cov(x, missing)
    sd_total = math.sqrt(max(float(cv.cov.sum()), 0.0))
    warns = list(a.warnings)
    if math.isnan(a.estimate) or a.estimate < 0:
        value = math.nan
        warns.append("alpha is undefined or negative, so the SEM is undefined (NaN)")
    else:
        value = standard_error_of_measurement(sd_total, min(a.estimate, 1.0))
    _warn(warns)
    return Estimate(
        statistic="standard_error_of_measurement",
        estimate=value,
        method=f"SD of the sum score x sqrt(1 - Cronbach's alpha) ({missing})",
        n=a.n,
        warnings=tuple(warns),
        details={"sd_total": sd_total, "reliability": a.estimate, "reliability_method": "cronbach_alpha"},
    )


# --------------------------------------------------------------------------- omega
_PSI_MIN = 0.005  # lower bound on uniquenesses, as in psych::fa's optimiser


def _one_factor_minres(r: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """Loadings minimising the off-diagonal residual sum of squares (minres / ULS, Harman 1960).

    f(lambda) = sum_{i<j} (r_ij - lambda_i lambda_j)^2, with lambda_i^2 <= 1 - 0.005.
    Started from principal axes with squared multiple correlations as communalities.
    """
    k = r.shape[0]
    try:
        smc = 1.0 - 1.0 / np.diag(np.linalg.inv(r))
    except np.linalg.LinAlgError:
        smc = np.max(np.abs(r - np.eye(k)), axis=0)
    start_m = r.copy()
    np.fill_diagonal(start_m, np.clip(smc, 0.01, 1.0))
    vals, vecs = np.linalg.eigh(start_m)
    lam0 = vecs[:, -1] * math.sqrt(max(vals[-1], 1e-6))
    if lam0.sum() < 0:
        lam0 = -lam0
    off = ~np.eye(k, dtype=bool)
    bound = math.sqrt(1.0 - _PSI_MIN)

    def fg(lam: np.ndarray) -> tuple[float, np.ndarray]:
        res = np.where(off, r - np.outer(lam, lam), 0.0)
        f = 0.5 * float((res**2).sum())
        g = -2.0 * (res @ lam)
        return f, g

    out = minimize(fg, np.clip(lam0, -bound, bound), jac=True, method="L-BFGS-B",
                   bounds=[(-bound, bound)] * k, options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 10000})
    lam = out.x
    if lam.sum() < 0:
        lam = -lam
    heywood = bool(np.any(np.abs(lam) >= bound - 1e-8))
    return lam, float(out.fun), heywood


def mcdonald_omega(data: Any, *, correlation: str = "pearson", missing: str = "listwise",
                   categories: Any = None, max_categories: int = 20) -> Estimate:
    """McDonald's omega total from a one-factor model on the correlation matrix.

    The one-factor model is fitted by minimum residual (minres / unweighted least
    squares on the off-diagonal elements, as psych's ``fa(fm = "minres")``), with
    uniquenesses bounded below by 0.005. Then (McDonald 1999, eq. 6.20)

        omega_total = (sum lambda)^2 / ((sum lambda)^2 + sum (1 - lambda_i^2)).

    ``details["omega_total_observed"]`` is ``1 - sum(1 - lambda^2) / 1'R1``, the
    same quantity with the observed rather than the model-implied total variance
    in the denominator (what psych's ``omega`` reports as ``omega.tot``).

    No interval is given. Items loading negatively give a warning (reverse-key
    them first); the factor's sign is chosen so the loadings sum positive.

    Parameters
    ----------
    correlation
        ``"pearson"`` (with ``missing`` as in :func:`cronbach_alpha`) or
        ``"polychoric"`` (:func:`~cseoutcomes.psychometrics.polychoric.polychoric`,
        pairwise, smoothed if needed; ``categories`` and ``max_categories`` are passed on).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(2000, 1))
    >>> x = 0.7 * f + np.sqrt(1 - 0.49) * rng.normal(size=(2000, 4))
    >>> est = mcdonald_omega(x)   # population value 7.84 / (7.84 + 2.04) = 0.794
    >>> round(est.estimate, 3), est.details["correlation"]
    (0.797, 'pearson')
    """
    if correlation not in ("pearson", "polychoric"):
        raise ValueError("correlation must be 'pearson' or 'polychoric'")
    x, names = _item_matrix(data)
    k = x.shape[1]
    if k < 3:
        raise DataError("omega needs at least three items (a one-factor model on two items is not "
                        "identified)")
    warns: list[str] = []
    if correlation == "pearson":
        cv = _Cov(x, missing)
        warns.extend(cv.warnings)
        const = [names[j] for j in np.flatnonzero(cv.constant)]
        if const:
            raise DataError(f"constant item(s) {', '.join(const)}: correlations are undefined, so omega "
                            "cannot be estimated", hint="drop the constant item(s)")
        r = cv.correlation()
        assert r is not None
        n = cv.n
        corr_text = ("Pearson correlations, listwise deletion" if not cv.pairwise
                     else "Pearson correlations, pairwise-complete")
    else:
        from cseoutcomes.psychometrics.polychoric import polychoric

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CseOutcomesWarning)
            pc = polychoric(x if not isinstance(data, pd.DataFrame) else data, categories=categories,
                            max_categories=max_categories)
        warns.extend(pc.warnings)
        r = pc.correlation.to_numpy()
        n = int((~np.isnan(x)).any(axis=1).sum())
        corr_text = "polychoric correlations (Olsson two-step, pairwise)"
    lam, fit, heywood = _one_factor_minres(r)
    if heywood:
        warns.append("a loading reached the bound (uniqueness 0.005): Heywood case, omega may be inflated")
    neg = [names[j] for j in np.flatnonzero(lam < 0)]
    if neg:
        warns.append(f"item(s) {', '.join(neg)} load negatively: reverse-key them before computing omega")
    s = float(lam.sum())
    u = float((1.0 - lam**2).sum())
    omega = s * s / (s * s + u)
    omega_obs = 1.0 - u / float(r.sum())
    _warn(warns)
    return Estimate(
        statistic="mcdonald_omega_total",
        estimate=omega,
        method=f"one-factor minres fit on {corr_text}; omega total (McDonald 1999)",
        n=n,
        warnings=tuple(warns),
        details={
            "correlation": correlation,
            "loadings": dict(zip(names, lam.tolist(), strict=True)),
            "uniquenesses": dict(zip(names, (1.0 - lam**2).tolist(), strict=True)),
            "omega_total_observed": omega_obs,
            "minres_objective": fit,
            "n_items": k,
        },
    )
