"""How far coders agree: kappa and Krippendorff's alpha per code and overall, with bootstrap intervals.

For each code the reliability data are units x coders of 1 (the coder applied
the code somewhere in the unit) or 0 (they coded the unit and did not), where a
unit is a case, a source document, or a fixed-length segment of a source. The
point estimates come from :mod:`cseoutcomes.psychometrics` (Cohen's kappa for
two coders, Fleiss' kappa for more, Krippendorff's alpha for any number with
missing data); the intervals are percentile intervals of a bootstrap over units
(the unit is the independent observation: resampling units keeps each unit's
codes together, so the pooled intervals allow for codes being correlated within
a unit). Flags follow Krippendorff (2004, *Content Analysis*, 2nd ed., p. 241):
alpha >= 0.800 reliable, 0.667 to 0.800 tentative conclusions only, below
0.667 unreliable.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd

from cseoutcomes.coding.segments import CodedSegments
from cseoutcomes.errors import DataError

__all__ = ["AgreementResult", "agreement", "reliability_data"]

TENTATIVE, RELIABLE = 0.667, 0.800


def _flag(alpha: float) -> str:
    if not np.isfinite(alpha):
        return "undefined (no variation)"
    if alpha >= RELIABLE:
        return "reliable (alpha >= 0.800)"
    if alpha >= TENTATIVE:
        return "tentative (0.667 <= alpha < 0.800)"
    return "unreliable (alpha < 0.667)"


def _units(segments: CodedSegments, unit: str, segment_length: int | None,
           source_lengths: dict[str, int] | None) -> tuple[pd.DataFrame, list]:
    """One row per (unit, coder, code) applied, and the list of units."""
    t = segments.table
    if unit in ("case", "source"):
        applied = pd.DataFrame({"unit": t[unit].to_numpy(), "coder": t["coder"].to_numpy(),
                                "code": t["code"].to_numpy()})
        return applied.drop_duplicates(), sorted(t[unit].unique())
    if unit != "segment":
        raise DataError(f"unit must be 'case', 'source' or 'segment', not {unit!r}", where="unit")
    if not segment_length or segment_length < 1:
        raise DataError("unit='segment' needs segment_length, the number of characters in each segment",
                        where="segment_length", hint="for example segment_length=500")
    lengths = dict(t.dropna(subset=["end"]).groupby("source")["end"].max().astype(int))
    lengths.update(source_lengths or {})
    rows, units = [], []
    for source in sorted(t["source"].unique()):
        n_seg = int(np.ceil(lengths.get(source, 1) / segment_length)) or 1
        units += [(source, k) for k in range(n_seg)]
    for src, coder, code, start, end in t[["source", "coder", "code", "start", "end"]].itertuples(index=False):
        n_seg = int(np.ceil(lengths.get(src, 1) / segment_length)) or 1
        if pd.isna(start):  # the whole source
            ks = range(n_seg)
        else:
            ks = range(int(start) // segment_length, (int(end) - 1) // segment_length + 1)
        rows += [((src, k), coder, code) for k in ks if k < n_seg]
    applied = pd.DataFrame(rows, columns=["unit", "coder", "code"]).drop_duplicates()
    return applied, units


def reliability_data(segments: CodedSegments, unit: Literal["case", "source", "segment"] = "case", *,
                     segment_length: int | None = None, source_lengths: dict[str, int] | None = None,
                     assignments: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Per code, the units x coders table of 1 (applied), 0 (coded the unit, did not apply) or NaN (did not code it).

    ``assignments`` (columns ``unit`` and ``coder``; for ``unit="segment"`` the
    unit is the source) says who coded what; without it every coder is taken to
    have coded every unit, the usual design when a team double-codes the same
    material.
    """
    applied, units = _units(segments, unit, segment_length, source_lengths)
    coders = segments.coders
    index = pd.Index(units, name="unit", tupleize_cols=False) if unit == "segment" else pd.Index(units, name="unit")
    coded = pd.DataFrame(1.0, index=index, columns=coders)
    if assignments is not None:
        if not {"unit", "coder"} <= set(assignments.columns):
            raise DataError("assignments needs columns 'unit' and 'coder'", where="assignments")
        who = set(zip(assignments["unit"].astype(str), assignments["coder"].astype(str), strict=True))
        for u in units:
            key = u[0] if unit == "segment" else u
            for c in coders:
                if (str(key), c) not in who:
                    coded.loc[[u], c] = np.nan
        unassigned = applied[[((u[0] if unit == "segment" else u), c) not in who
                              for u, c in zip(applied["unit"], applied["coder"], strict=True)]]
        if len(unassigned):
            raise DataError(f"{len(unassigned)} codings are by coders the assignments do not list for their unit",
                            where="assignments", hint="add those (unit, coder) pairs to assignments")
    out = {}
    for code in segments.codes:
        table = coded.copy() * 0.0
        hits = applied[applied["code"] == code]
        for u, c in zip(hits["unit"], hits["coder"], strict=True):
            table.loc[[u], c] = 1.0
        out[code] = table
    return out


# ---------------------------------------------------------------- fast statistics on unit weights
# The bootstrap resamples units: weights W (B x U) count how often each unit is drawn. These
# weighted forms equal the psychometrics implementations at W = 1 (tested), and let every
# resample be computed at once.

def _alpha_w(ones: np.ndarray, m: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Binary nominal Krippendorff alpha from per-unit counts of 1s and of values (units with m >= 2 only).

    ``ones`` and ``m`` are (U,) for one code, or (C, U) for codes pooled: each (code, unit) is then a
    unit of its own, while the weights W (B x U) still resample units with all their codes.
    """
    zeros = m - ones
    within = 2.0 * ones * zeros / np.maximum(m - 1, 1)
    if within.ndim == 2:
        within, ones, zeros, m = within.sum(0), ones.sum(0), zeros.sum(0), m.sum(0)
    n = W @ m
    n1, n0 = W @ ones, W @ zeros
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - (n - 1) * (W @ within) / (2.0 * n1 * n0)


def _cohen_w(R: np.ndarray, W: np.ndarray) -> np.ndarray:
    a, b = R[:, 0], R[:, 1]
    both, only_a, only_b = W @ (a * b), W @ (a * (1 - b)), W @ ((1 - a) * b)
    n = W.sum(axis=1)
    neither = n - both - only_a - only_b
    po = (both + neither) / n
    pe = ((both + only_a) * (both + only_b) + (neither + only_b) * (neither + only_a)) / n**2
    with np.errstate(invalid="ignore", divide="ignore"):
        return (po - pe) / (1 - pe)


def _fleiss_w(R: np.ndarray, W: np.ndarray) -> np.ndarray:
    k = R.shape[1]
    n1 = R.sum(axis=1)
    n0 = k - n1
    P = (n1 * (n1 - 1) + n0 * (n0 - 1)) / (k * (k - 1))
    total = W.sum(axis=1)
    pbar = (W @ P) / total
    p1 = (W @ n1) / (k * total)
    pe = p1**2 + (1 - p1) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pbar - pe) / (1 - pe)


def _kappa_point(R: np.ndarray) -> tuple[float, str]:
    from cseoutcomes.psychometrics import cohen_kappa, fleiss_kappa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if R.shape[1] == 2:
            return float(cohen_kappa(R[:, 0], R[:, 1], categories=[0.0, 1.0]).estimate), "Cohen"
        return float(fleiss_kappa(R, categories=[0.0, 1.0]).estimate), "Fleiss"


def _alpha_point(R: np.ndarray) -> float:
    from cseoutcomes.psychometrics import krippendorff_alpha

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(krippendorff_alpha(R, level="nominal", values=[0.0, 1.0]).estimate)
        except (ValueError, ZeroDivisionError, DataError):
            return float("nan")


def _interval(draws: np.ndarray, ci_level: float) -> tuple[float, float]:
    draws = draws[np.isfinite(draws)]
    if len(draws) < 10:
        return float("nan"), float("nan")
    lo = (1 - ci_level) / 2
    return float(np.quantile(draws, lo)), float(np.quantile(draws, 1 - lo))


@dataclass
class AgreementResult:
    """Coder agreement per code and overall.

    Attributes
    ----------
    by_code
        One row per code: units, coders, prevalence (share of ratings that
        applied it), observed agreement, kappa (Cohen or Fleiss) and alpha with
        bootstrap intervals, and the flag.
    overall
        The same, pooled over codes (each unit x code a rating), as a one-row table.
    confusion
        Per code and pair of coders: units both coded where both applied it,
        only the first, only the second, neither; and their agreement.
    unit, n_boot, ci_level, notes
    """

    by_code: pd.DataFrame
    overall: pd.DataFrame
    confusion: pd.DataFrame
    unit: str
    n_boot: int
    ci_level: float
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        o = self.overall.iloc[0]
        return (f"<AgreementResult at the {self.unit} level: {len(self.by_code)} codes; overall alpha "
                f"{o['alpha']:.3f} [{o['alpha_lower']:.3f}, {o['alpha_upper']:.3f}], {o['flag']}>")

    def _repr_html_(self) -> str:
        return (f"<p>Coder agreement at the {self.unit} level ({self.ci_level:.0%} bootstrap intervals, "
                f"{self.n_boot} resamples of units)</p>" + self.overall.to_html(float_format="%.3f")
                + self.by_code.to_html(float_format="%.3f"))


def agreement(segments: CodedSegments, unit: Literal["case", "source", "segment"] = "case", *,
              segment_length: int | None = None, source_lengths: dict[str, int] | None = None,
              assignments: pd.DataFrame | None = None, n_boot: int = 1000, ci_level: float = 0.95,
              seed: int | None = 0) -> AgreementResult:
    """Agreement between coders, per code and pooled over codes.

    Parameters
    ----------
    segments
        :class:`CodedSegments` with at least two coders.
    unit
        ``"case"`` (default), ``"source"`` or ``"segment"`` (fixed windows of
        ``segment_length`` characters of each source; a coding marks every
        window its span overlaps, a whole-source coding all of them).
    source_lengths
        Characters in each source (``unit="segment"``); default: the last coded offset.
    assignments
        Who coded which unit (see :func:`reliability_data`); default everyone coded everything.
    n_boot, ci_level, seed
        Bootstrap resamples of units, interval level, seed (same seed, same intervals).

    Returns
    -------
    AgreementResult
    """
    if len(segments.coders) < 2:
        raise DataError(f"agreement needs at least two coders; these codings have {len(segments.coders)}",
                        hint="load the codings of every coder together")
    data = reliability_data(segments, unit, segment_length=segment_length, source_lengths=source_lengths,
                            assignments=assignments)
    rng = np.random.default_rng(seed)
    n_units = len(next(iter(data.values())))
    W = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_boot).astype(float) if n_boot else \
        np.zeros((0, n_units))
    notes: list[str] = []
    rows, confusion = [], []
    pooled_m, pooled_ones = [], []
    stacked: list[np.ndarray] = []
    complete_all = True
    for code, table in data.items():
        R = table.to_numpy()
        m = np.sum(~np.isnan(R), axis=1)
        ones = np.nansum(R, axis=1)
        pair = m >= 2
        mm, oo = np.where(pair, m, 0), np.where(pair, ones, 0)
        pooled_m.append(mm)
        pooled_ones.append(oo)
        alpha = _alpha_point(R)
        a_lo, a_hi = _interval(_alpha_w(oo, mm, W), ci_level) if n_boot else (np.nan, np.nan)
        complete = not np.isnan(R).any()
        complete_all &= complete
        if complete:
            kappa, kind = _kappa_point(R)
            boot = _cohen_w(R, W) if R.shape[1] == 2 else _fleiss_w(R, W)
            k_lo, k_hi = _interval(boot, ci_level) if n_boot else (np.nan, np.nan)
            stacked.append(R)
        else:
            kappa, kind, k_lo, k_hi = float("nan"), "", float("nan"), float("nan")
        agree = np.mean([np.nanmax(r) == np.nanmin(r) for r in R[pair]]) if pair.any() else float("nan")
        rows.append({"code": code, "units": int(pair.sum()), "coders": R.shape[1],
                     "prevalence": float(np.nanmean(R)), "observed_agreement": float(agree),
                     "kappa": kappa, "kappa_lower": k_lo, "kappa_upper": k_hi, "kappa_kind": kind,
                     "alpha": alpha, "alpha_lower": a_lo, "alpha_upper": a_hi, "flag": _flag(alpha)})
        for a, b in combinations(range(R.shape[1]), 2):
            both_coded = ~np.isnan(R[:, a]) & ~np.isnan(R[:, b])
            x, y = R[both_coded, a], R[both_coded, b]
            confusion.append({"code": code, "coder_a": table.columns[a], "coder_b": table.columns[b],
                              "both": int(np.sum((x == 1) & (y == 1))), "only_a": int(np.sum((x == 1) & (y == 0))),
                              "only_b": int(np.sum((x == 0) & (y == 1))), "neither": int(np.sum((x == 0) & (y == 0))),
                              "agreement": float(np.mean(x == y)) if len(x) else float("nan")})
    if not complete_all:
        notes.append("kappa needs every coder to have coded every unit; it is left blank for codes where some did "
                     "not (alpha allows missing codings)")
    # pooled: every unit x code is a rating; the bootstrap still resamples units
    pooled_ones, pooled_m = np.array(pooled_ones), np.array(pooled_m)
    alpha_all = _alpha_w(pooled_ones, pooled_m, np.ones((1, n_units)))[0]
    a_lo, a_hi = _interval(_alpha_w(pooled_ones, pooled_m, W), ci_level) if n_boot else (np.nan, np.nan)
    kappa_all, k_lo, k_hi, kind = float("nan"), float("nan"), float("nan"), ""
    if stacked and complete_all:
        big = np.vstack(stacked)
        kappa_all, kind = _kappa_point(big)
        if n_boot:
            Wb = np.tile(W, len(stacked))  # the same unit weights for each code's block
            k_lo, k_hi = _interval(_cohen_w(big, Wb) if big.shape[1] == 2 else _fleiss_w(big, Wb), ci_level)
    overall = pd.DataFrame([{"codes": len(data), "units": n_units, "coders": len(segments.coders),
                             "kappa": kappa_all, "kappa_lower": k_lo, "kappa_upper": k_hi, "kappa_kind": kind,
                             "alpha": float(alpha_all), "alpha_lower": a_lo, "alpha_upper": a_hi,
                             "flag": _flag(float(alpha_all))}], index=pd.Index(["all codes"], name="pooled"))
    by_code = pd.DataFrame(rows).set_index("code")
    return AgreementResult(by_code, overall, pd.DataFrame(confusion), unit, n_boot, ci_level, notes)
