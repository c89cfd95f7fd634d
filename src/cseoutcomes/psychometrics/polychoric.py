"""Polychoric correlations: the two-step estimator of Olsson (1979).

Ordinal items are taken to be coarsened versions of standard-normal latent
variables. For item *i* with ordered categories ``c_1 < ... < c_m`` the
thresholds on the latent scale are

    tau_j = Phi^{-1}( P(X_i <= c_j) ),   j = 1, ..., m - 1

(Olsson 1979, eq. 5: the "two-step" estimator fixes these at their marginal
values). With the thresholds held fixed, the polychoric correlation of a pair of
items is the rho that maximises the multinomial log likelihood of their two-way
table (Olsson 1979, eq. 3)

    l(rho) = sum_{a,b} n_ab * log P_ab(rho),
    P_ab  = Phi2(tau_a, tau'_b) - Phi2(tau_{a-1}, tau'_b) - Phi2(tau_a, tau'_{b-1})
            + Phi2(tau_{a-1}, tau'_{b-1}),

where ``Phi2`` is the bivariate standard normal distribution function with
correlation rho. ``Phi2`` is computed in closed form through Owen's T function
(Owen 1956, eq. 3.1; :func:`scipy.special.owens_t`), which is accurate for every
``|rho| < 1`` and vectorises over all cells of a table at once.

Decisions (each tested):

* **Thresholds** are "global": each item's thresholds come from all of its
  non-missing values; each pair's table uses the rows where both items are
  present (pairwise deletion), as R psych's ``polychoric(global = TRUE)`` does.
* **Unobserved categories.** When ``categories`` declares codes that never occur,
  the unobserved category's interval collapses: its threshold equals its
  neighbour's (``-inf`` or ``+inf`` at either end), so it has probability zero.
  The thresholds reported keep one entry per declared cut (``len(categories) - 1``);
  the likelihood uses the observed categories only.
* **Zero cells.** By default (``correct=0``) empty cells are left empty: the
  estimate is the plain two-step maximum likelihood estimate, whose likelihood is
  well defined with zero counts because the thresholds are fixed. This is also
  what R psych 2.2.9's ``polychoric`` computes by default: its ``correct = 0.5``
  is applied only with ``global = FALSE`` (per-pair thresholds). ``correct=0.5``
  gives each empty cell (between observed categories) a count of 0.5 before
  maximising, psych's continuity correction; it pulls estimates towards zero
  when corner cells are empty, noticeably so in small samples. The method text
  says which was used.
* **Not positive definite.** Pairwise estimates need not form a positive
  definite matrix. If the smallest eigenvalue is below ``1e-12``, the matrix is
  smoothed by eigenvalue clipping (eigenvalues below ``eig_tol`` set to
  ``100 * eig_tol``, rescaled to sum to the number of items, rebuilt and rescaled
  to a unit diagonal; the idea of psych's ``cor.smooth``) and a warning says so.
* **An item with one observed category** has no thresholds and no defined
  correlation: :class:`~cseoutcomes.errors.DataError`.

References
----------
Olsson, U. (1979). Maximum likelihood estimation of the polychoric correlation
coefficient. *Psychometrika*, 44(4), 443-460.
Owen, D. B. (1956). Tables for computing bivariate normal probabilities.
*Annals of Mathematical Statistics*, 27(4), 1075-1090.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import ndtr, ndtri, owens_t

from cseoutcomes.errors import CseOutcomesWarning, DataError
from cseoutcomes.psychometrics.reliability import _item_matrix

__all__ = ["PolychoricResult", "bivariate_normal_cdf", "polychoric", "smooth_correlation"]

_RHO_BOUND = 0.9999


def bivariate_normal_cdf(h: Any, k: Any, rho: float) -> np.ndarray:
    """P(Z1 <= h, Z2 <= k) for standard bivariate normal variables with correlation ``rho``.

    Owen (1956), eq. 3.1, with Owen's T function ``T(h, a)``::

        Phi2(h, k; rho) = Phi(h)/2 + Phi(k)/2 - T(h, a_h) - T(k, a_k) - beta
        a_h = (k - rho h) / (h sqrt(1 - rho^2)),  a_k = (h - rho k) / (k sqrt(1 - rho^2))
        beta = 0 if h k > 0, or h k = 0 and h + k >= 0; 1/2 otherwise

    with ``Phi2(0, 0; rho) = 1/4 + asin(rho) / (2 pi)`` and the limits at
    ``+-inf`` handled exactly. Vectorised over ``h`` and ``k``; ``|rho| < 1``.

    >>> round(float(bivariate_normal_cdf(0.0, 0.0, 0.5)), 6)  # 1/4 + asin(.5)/(2 pi) = 1/3
    0.333333
    """
    h, k = np.broadcast_arrays(np.asarray(h, dtype=float), np.asarray(k, dtype=float))
    if not -1.0 < rho < 1.0:
        raise ValueError("rho must lie strictly between -1 and 1")
    out = np.empty(h.shape, dtype=float)
    s = math.sqrt((1.0 - rho) * (1.0 + rho))
    lo = np.isneginf(h) | np.isneginf(k)
    h_inf = np.isposinf(h) & ~lo
    k_inf = np.isposinf(k) & ~lo & ~h_inf
    fin = ~(lo | h_inf | k_inf)
    out[lo] = 0.0
    out[h_inf] = ndtr(k[h_inf])
    out[k_inf] = ndtr(h[k_inf])
    hf, kf = h[fin], k[fin]
    both0 = (hf == 0.0) & (kf == 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ah = (kf - rho * hf) / (hf * s)
        ak = (hf - rho * kf) / (kf * s)
    # T(0, a) is continuous in a and T(0, +-inf) = +-1/4; 0/0 only arises when h = k = 0.
    ah = np.where(both0, 0.0, ah)
    ak = np.where(both0, 0.0, ak)
    hk = hf * kf
    beta = np.where((hk > 0) | ((hk == 0) & (hf + kf >= 0)), 0.0, 0.5)
    val = 0.5 * ndtr(hf) + 0.5 * ndtr(kf) - owens_t(hf, ah) - owens_t(kf, ak) - beta
    val = np.where(both0, 0.25 + math.asin(rho) / (2.0 * math.pi), val)
    out[fin] = np.clip(val, 0.0, 1.0)
    return out


def _cell_probabilities(a: np.ndarray, b: np.ndarray, rho: float) -> np.ndarray:
    """Rectangle probabilities of the (len(a)+1) x (len(b)+1) table for finite thresholds a, b."""
    r, s = len(a) + 1, len(b) + 1
    grid = np.empty((r + 1, s + 1))
    grid[0, :] = 0.0
    grid[:, 0] = 0.0
    grid[r, 1:s] = ndtr(b)
    grid[1:r, s] = ndtr(a)
    grid[r, s] = 1.0
    if r > 1 and s > 1:
        grid[1:r, 1:s] = bivariate_normal_cdf(a[:, None], b[None, :], rho)
    return np.diff(np.diff(grid, axis=0), axis=1)


def _pair_rho(table: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Maximum likelihood rho of one two-way table, thresholds fixed (Olsson's two-step)."""
    nz = table > 0
    counts = table[nz]

    def negloglik(rho: float) -> float:
        p = _cell_probabilities(a, b, rho)[nz]
        return -float(np.dot(counts, np.log(np.maximum(p, 1e-300))))

    res = minimize_scalar(negloglik, bounds=(-_RHO_BOUND, _RHO_BOUND), method="bounded",
                          options={"xatol": 1e-8})
    return float(res.x)


def smooth_correlation(corr: Any, *, eig_tol: float = 1e-12) -> np.ndarray:
    """Nearest-style positive definite version of a correlation matrix by eigenvalue clipping.

    With ``R = V diag(e) V'``, eigenvalues ``e_i < eig_tol`` become ``100 * eig_tol``,
    the eigenvalues are rescaled to sum to ``k`` (the trace of a correlation
    matrix), the matrix is rebuilt and rescaled to a unit diagonal
    (``D^{-1/2} R D^{-1/2}``). This is the procedure psych's ``cor.smooth``
    documents (Revelle, psych manual); a matrix that is already positive
    definite is returned unchanged apart from symmetrisation.

    >>> m = smooth_correlation([[1, .9, .9], [.9, 1, -.9], [.9, -.9, 1]])
    >>> bool(np.linalg.eigvalsh(m).min() > 0), np.allclose(np.diag(m), 1)
    (True, True)
    """
    r = np.asarray(corr, dtype=float)
    r = (r + r.T) / 2.0
    vals, vecs = np.linalg.eigh(r)
    if vals.min() >= eig_tol:
        return r
    vals = np.where(vals < eig_tol, 100.0 * eig_tol, vals)
    vals = vals * (r.shape[0] / vals.sum())
    out = (vecs * vals) @ vecs.T
    d = np.sqrt(np.diag(out))
    out = out / np.outer(d, d)
    np.fill_diagonal(out, 1.0)
    return (out + out.T) / 2.0


@dataclass(frozen=True)
class PolychoricResult:
    """A polychoric correlation matrix with its thresholds and provenance.

    Attributes
    ----------
    correlation
        Items x items DataFrame (smoothed if it was not positive definite).
    thresholds
        Item -> array of thresholds on the latent standard-normal scale, one per
        cut between consecutive declared (or observed) categories.
    method
        How it was computed.
    n
        Items x items DataFrame of pairwise-complete counts.
    warnings
        Anything the user must know (smoothing, unobserved categories...).
    details
        ``raw_correlation`` (before smoothing, or None), ``smoothed``,
        ``categories`` (item -> codes), ``correct``.
    """

    correlation: pd.DataFrame
    thresholds: Mapping[str, np.ndarray]
    method: str = ""
    n: pd.DataFrame | None = None
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: nested lists and dicts."""
        raw = self.details.get("raw_correlation")
        return {
            "statistic": "polychoric",
            "method": self.method,
            "items": list(self.correlation.columns),
            "correlation": self.correlation.to_numpy().tolist(),
            "thresholds": {k: np.asarray(v).tolist() for k, v in self.thresholds.items()},
            "n": None if self.n is None else self.n.to_numpy().tolist(),
            "warnings": list(self.warnings),
            "details.smoothed": bool(self.details.get("smoothed", False)),
            "details.correct": self.details.get("correct"),
            "details.raw_correlation": None if raw is None else np.asarray(raw).tolist(),
            "details.categories": {k: list(v) for k, v in self.details.get("categories", {}).items()},
        }

    def __repr__(self) -> str:
        warn = "".join(f"\nwarning: {w}" for w in self.warnings)
        thr = "\n".join(f"  {k}: [{', '.join(f'{t:.3f}' for t in v)}]" for k, v in self.thresholds.items())
        return (f"polychoric correlations ({self.method})\n{self.correlation.round(3).to_string()}"
                f"\nthresholds:\n{thr}{warn}")

    def _repr_html_(self) -> str:
        warns = "".join(f"<li>{escape(w)}</li>" for w in self.warnings)
        return (f"<div><strong>polychoric correlations</strong> <small>{escape(self.method)}</small>"
                f"{self.correlation.to_html(float_format=lambda x: f'{x:.3f}')}"
                f"{f'<ul>{warns}</ul>' if warns else ''}</div>")


def _declared(categories: Any, names: list[str]) -> dict[str, list[float]] | None:
    if categories is None:
        return None
    if isinstance(categories, Mapping):
        unknown = [str(k) for k in categories if str(k) not in names]
        if unknown:
            raise DataError(f"categories name unknown item(s): {', '.join(unknown)}")
        out = {str(k): [float(c) for c in v] for k, v in categories.items()}
    elif isinstance(categories, Sequence) and not isinstance(categories, str):
        codes = [float(c) for c in categories]
        out = dict.fromkeys(names, codes)
    else:
        raise ValueError("categories must be a sequence of codes or a mapping item -> codes")
    for name, codes in out.items():
        if len(codes) < 2 or any(b <= a for a, b in pairwise(codes)):
            raise DataError(f"declared categories of item '{name}' must be at least two codes in "
                            "increasing order")
    return out


def polychoric(data: Any, *, categories: Any = None, max_categories: int = 20, correct: float = 0.0,
               smooth: bool = True, eig_tol: float = 1e-12) -> PolychoricResult:
    """Polychoric correlation matrix with thresholds (Olsson 1979, two-step).

    Parameters
    ----------
    data
        DataFrame or 2-D array, rows = people, columns = ordinal items coded as
        numbers; NaN = missing (pairwise deletion).
    categories
        Declared category codes in order, either one sequence for every item or
        a mapping item -> sequence. Without it the observed codes are used.
        Unobserved declared categories collapse (see module notes); a value
        outside its item's declared codes is a :class:`DataError`.
    max_categories
        More distinct values than this means the item is not ordinal: DataError.
    correct
        Count given to empty cells of each two-way table: 0 (default, plain
        maximum likelihood) or e.g. 0.5 (psych's continuity correction).
    smooth
        Smooth a non-positive-definite result by eigenvalue clipping (and warn).
    eig_tol
        Eigenvalue tolerance of the smoothing.

    Examples
    --------
    Two items dichotomised at their medians with the table
    ``[[40, 10], [10, 40]]``. With thresholds 0 the estimate solves
    ``0.4 = 1/4 + asin(rho)/(2 pi)``, so ``rho = sin(0.3 pi) = 0.809``
    (the exact case of Pearson's cos-pi formula ``cos(pi / (1 + sqrt(ad/bc)))``).

    >>> import numpy as np
    >>> x = np.repeat([0, 0, 1, 1], [40, 10, 10, 40]); y = np.repeat([0, 1, 0, 1], [40, 10, 10, 40])
    >>> res = polychoric(np.column_stack([x, y]))
    >>> round(float(res.correlation.iloc[0, 1]), 4), res.thresholds["item1"].round(4).tolist()
    (0.809, [0.0])
    """
    if max_categories < 2:
        raise ValueError("max_categories must be at least 2")
    if correct < 0:
        raise ValueError("correct must be non-negative")
    x, names = _item_matrix(data)
    k = x.shape[1]
    if k < 2:
        raise DataError("polychoric correlations need at least two items", hint="pass two or more columns")
    declared = _declared(categories, names)
    present = ~np.isnan(x)
    if not present.any():
        raise DataError("every value is missing")
    warns: list[str] = []

    codes = np.full(x.shape, -1, dtype=np.int64)  # index among the item's observed categories
    cuts: list[np.ndarray] = []  # finite thresholds between observed categories
    thresholds: dict[str, np.ndarray] = {}
    cats_used: dict[str, list[float]] = {}
    for j, name in enumerate(names):
        col = x[present[:, j], j]
        if col.size == 0:
            raise DataError(f"item '{name}' has no non-missing values")
        observed = np.unique(col)
        if declared is not None and name in declared:
            cats = np.asarray(declared[name])
            outside = ~np.isin(observed, cats)
            if outside.any():
                raise DataError(f"item '{name}' has value(s) outside its declared categories "
                                f"{declared[name]}", hint="fix the data or the declared categories")
        else:
            cats = observed
            if cats.size > max_categories:
                raise DataError(f"item '{name}' has {cats.size} distinct values, more than "
                                f"max_categories={max_categories}; it does not look ordinal")
        if observed.size < 2:
            raise DataError(f"item '{name}' uses only one category; its polychoric correlations are "
                            "undefined", hint="drop the item")
        counts = np.array([np.count_nonzero(col == c) for c in cats], dtype=float)
        cum = np.cumsum(counts)[:-1] / col.size
        thr = ndtri(np.clip(cum, 0.0, 1.0))  # 0 -> -inf, 1 -> +inf: collapsed categories
        thresholds[name] = thr
        cats_used[name] = [float(c) for c in cats]
        unobserved = [c for c, n in zip(cats, counts, strict=True) if n == 0]
        if unobserved:
            warns.append(f"item '{name}': declared categor{'y' if len(unobserved) == 1 else 'ies'} "
                         f"{', '.join(f'{c:g}' for c in unobserved)} never observed; threshold collapsed")
        obs_cum = np.cumsum(counts[counts > 0])[:-1] / col.size
        cuts.append(ndtri(obs_cum))
        codes[present[:, j], j] = np.searchsorted(observed, col)

    corr = np.eye(k)
    npair = np.zeros((k, k), dtype=np.int64)
    for i in range(k):
        npair[i, i] = int(present[:, i].sum())
        for j in range(i + 1, k):
            both = present[:, i] & present[:, j]
            n_ij = int(both.sum())
            npair[i, j] = npair[j, i] = n_ij
            if n_ij == 0:
                raise DataError(f"items '{names[i]}' and '{names[j]}' are never observed together")
            r, s = len(cuts[i]) + 1, len(cuts[j]) + 1
            table = np.bincount(codes[both, i] * s + codes[both, j], minlength=r * s).reshape(r, s)
            table = table.astype(float)
            if correct > 0:
                table[table == 0] = correct
            corr[i, j] = corr[j, i] = _pair_rho(table, cuts[i], cuts[j])

    at_bound = np.abs(corr[np.triu_indices(k, 1)]) >= _RHO_BOUND - 1e-6
    if at_bound.any():
        warns.append(f"{int(at_bound.sum())} correlation(s) at the bound +-{_RHO_BOUND}: the two-way "
                     "table is (near) perfectly ordered")
    raw = None
    smoothed = False
    if smooth and np.linalg.eigvalsh(corr).min() < eig_tol:
        raw = pd.DataFrame(corr.copy(), index=names, columns=names)
        corr = smooth_correlation(corr, eig_tol=eig_tol)
        smoothed = True
        warns.append("the polychoric matrix was not positive definite; smoothed by eigenvalue "
                     "clipping (raw matrix in details['raw_correlation'])")
    for w in warns:
        warnings.warn(w, CseOutcomesWarning, stacklevel=2)
    zc = (f"empty cells given {correct:g}" if correct > 0 else "no zero-cell correction")
    method = (f"two-step ML polychoric (Olsson 1979): marginal thresholds, rho by bounded ML per pair "
              f"(pairwise complete), Phi2 via Owen's T; {zc}" + ("; smoothed" if smoothed else ""))
    return PolychoricResult(
        correlation=pd.DataFrame(corr, index=names, columns=names),
        thresholds=thresholds,
        method=method,
        n=pd.DataFrame(npair, index=names, columns=names),
        warnings=tuple(warns),
        details={"raw_correlation": raw, "smoothed": smoothed, "categories": cats_used, "correct": correct},
    )
