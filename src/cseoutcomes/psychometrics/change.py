"""Reliable and clinically significant change for one person at a time.

Three reliable-change indices are offered, each asking whether a person's
pre-to-post change is larger than measurement error alone would plausibly
produce:

``"jacobson-truax"`` (default)
    Jacobson & Truax (1991), with the standard error of the difference of
    Christensen & Mendoza (1986)::

        S_E    = SD * sqrt(1 - r)          standard error of measurement
        S_diff = sqrt(2 * S_E**2)          standard error of a difference
        RC     = (post - pre) / S_diff     reliable when |RC| > z(1 - alpha/2)

    ``SD`` is the SD of the dysfunctional (pre-treatment or reference)
    population and ``r`` the measure's reliability.

``"edwards-nunnally"``
    The Edwards-Nunnally confidence-interval method as presented by Speer
    (1992) and tabulated by Bauer, Lambert & Nielsen (2004). The pre score is
    first regressed towards the mean, ``pre_true = r * (pre - M) + M``, and the
    change is reliable when the post score falls outside
    ``pre_true +/- z(1 - alpha/2) * S_E``. Speer and Bauer et al. write the
    multiplier as 2 (the rounded 95% normal quantile); the exact quantile is
    used here so that every method works at the same ``ci_level``. The
    reported index is ``(post - pre_true) / S_E``.

``"hageman-arrindell"``
    Hageman & Arrindell (1999) RC_INDIV, which weighs each person's change by
    the reliability of difference scores, shrinking it towards the group's
    mean change::

        r_xx,t = 1 - S_E**2 / s_t**2       reliability at pre (t=1) and post (t=2)
        r_DD   = (s1**2 r_xx,1 + s2**2 r_xx,2 - 2 s1 s2 r12)
                 / (s1**2 + s2**2 - 2 s1 s2 r12)
        RC     = ((post - pre) r_DD + (M2 - M1)(1 - r_DD)) / (sqrt(r_DD) * S_diff)

    with the sample means ``M_t``, SDs ``s_t`` and pre-post correlation
    ``r12``, and the error ``S_E`` of the Jacobson-Truax index held constant
    over occasions (so ``r_DD = 1 - S_diff**2 / var(post - pre)``).
    Hageman & Arrindell test each person one-sided at 5% (critical value
    1.65); here the critical value is ``z(ci_level)``, 1.645 at 0.95.

Each person is then classified (:func:`classify`) as ``recovered`` (reliably
improved *and* moved from the dysfunctional to the functional side of a
clinical cut-off), ``improved``, ``unchanged`` or ``deteriorated``. The
cut-offs a, b and c are those of Jacobson & Truax (1991); see
:func:`clinical_cutoffs`.

Parameters come from explicit arguments first, then from the change
parameters registered on the instrument's score, then (SD and mean only) from
the data. The reliability never comes from the data: Jacobson & Truax's index
needs the measure's reliability and there is no honest default.

References
----------
Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical
approach to defining meaningful change in psychotherapy research. Journal of
Consulting and Clinical Psychology, 59(1), 12-19. doi:10.1037/0022-006X.59.1.12

Christensen, L., & Mendoza, J. L. (1986). A method of assessing change in a
single subject: An alteration of the RC index. Behavior Therapy, 17, 305-308.

Speer, D. C. (1992). Clinically significant change: Jacobson and Truax (1991)
revisited. Journal of Consulting and Clinical Psychology, 60(3), 402-408.

Hageman, W. J. J. M., & Arrindell, W. A. (1999). Establishing clinically
significant change: Increment of precision and the distinction between
individual and group level of analysis. Behaviour Research and Therapy, 37,
1169-1193.

Bauer, S., Lambert, M. J., & Nielsen, S. L. (2004). Clinical significance
methods: A comparison of statistical techniques. Journal of Personality
Assessment, 82(1), 60-70. doi:10.1207/s15327752jpa8201_11
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from cseoutcomes.errors import DataError
from cseoutcomes.psychometrics.results import Estimate, ResultTable

if TYPE_CHECKING:
    from cseoutcomes.instruments.schema import ChangeParameters, Instrument

__all__ = [
    "CATEGORIES",
    "METHODS",
    "ClinicalCutoffs",
    "ReliableChangeComparison",
    "ReliableChangeResult",
    "classify",
    "clinical_cutoffs",
    "reliable_change",
]

Direction = Literal["higher_is_better", "higher_is_worse"]
Method = Literal["jacobson-truax", "edwards-nunnally", "hageman-arrindell"]

#: the reliable-change methods, in the order ``method="all"`` reports them
METHODS: tuple[str, ...] = ("jacobson-truax", "edwards-nunnally", "hageman-arrindell")
#: per-person categories, best first
CATEGORIES: tuple[str, ...] = ("recovered", "improved", "unchanged", "deteriorated")
_DIRECTIONS = ("higher_is_better", "higher_is_worse")
_METHOD_NAMES = {
    "jacobson-truax": "Jacobson & Truax (1991)",
    "edwards-nunnally": "Edwards-Nunnally (Speer 1992)",
    "hageman-arrindell": "Hageman & Arrindell (1999)",
}
_JT = "Jacobson & Truax (1991)"
# Sampling error in a data-estimated SD carries into every index; simulations in
# "Improving the Reliability of the Reliable Change Index" (PsyArXiv preprint,
# doi:10.31234/osf.io/tqs5u) found it excessive below about 30 people.
_SMALL_N = 30


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "NA"
    if isinstance(x, float | np.floating):
        return "NaN" if math.isnan(x) else f"{x:.{digits}f}"
    return str(x)


def _sign(direction: str) -> int:
    return 1 if direction == "higher_is_better" else -1


def _check_direction(direction: Any) -> Direction:
    if direction not in _DIRECTIONS:
        raise DataError(f"direction must be 'higher_is_better' or 'higher_is_worse', not {direction!r}",
                        hint="say whether a rise in the score is an improvement")
    return direction


def _finite(value: Any, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a number, not {type(value).__name__}") from None
    if not math.isfinite(out):
        raise DataError(f"{name} must be a finite number, not {out}")
    return out


def _positive(value: Any, name: str) -> float:
    out = _finite(value, name)
    if out <= 0:
        raise DataError(f"{name} must be greater than 0, not {out:g}")
    return out


# ---------------------------------------------------------------------------
# clinical cut-offs


@dataclass(frozen=True)
class ClinicalCutoffs:
    """Jacobson & Truax's (1991) cut-offs between dysfunctional and functional scores.

    Attributes
    ----------
    a
        Two SDs beyond the dysfunctional mean, towards the functional side.
    b
        Two SDs from the functional mean, towards the dysfunctional side
        (None without functional norms).
    c
        The point equally many SDs from both means,
        ``(s0 * M1 + s1 * M0) / (s0 + s1)`` (None without functional norms).
    recommended
        ``"c"`` when functional norms are given (Jacobson & Truax prefer it as
        the least arbitrary), otherwise ``"a"``.
    """

    a: float
    b: float | None
    c: float | None
    recommended: Literal["a", "b", "c"]
    direction: Direction
    dysfunctional_mean: float
    dysfunctional_sd: float
    functional_mean: float | None = None
    functional_sd: float | None = None
    method: str = ""
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def value(self) -> float:
        """The recommended cut-off."""
        return float(getattr(self, self.recommended))

    def __float__(self) -> float:
        return self.value

    def get(self, kind: str) -> float:
        """Cut-off ``"a"``, ``"b"`` or ``"c"``; a DataError when it needs norms that were not given."""
        if kind not in ("a", "b", "c"):
            raise DataError(f"cut-off must be 'a', 'b' or 'c', not {kind!r}")
        out = getattr(self, kind)
        if out is None:
            raise DataError(f"cut-off {kind} needs the functional population's mean and SD",
                            hint="pass functional_mean= and functional_sd=, or use cut-off a")
        return float(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": "clinical_cutoffs",
            "a": self.a, "b": self.b, "c": self.c,
            "recommended": self.recommended, "value": self.value,
            "direction": self.direction,
            "dysfunctional_mean": self.dysfunctional_mean, "dysfunctional_sd": self.dysfunctional_sd,
            "functional_mean": self.functional_mean, "functional_sd": self.functional_sd,
            "method": self.method, "warnings": list(self.warnings),
            **{f"details.{k}": v for k, v in self.details.items()},
        }

    def __repr__(self) -> str:
        parts = [f"{k} = {_fmt(getattr(self, k))}{' (recommended)' if k == self.recommended else ''}"
                 for k in ("a", "b", "c") if getattr(self, k) is not None]
        warn = "".join(f"\nwarning: {w}" for w in self.warnings)
        return f"clinical cut-offs ({self.direction}): {', '.join(parts)} ({self.method}){warn}"

    def _repr_html_(self) -> str:
        warns = "".join(f"<li>{escape(w)}</li>" for w in self.warnings)
        return f"<div><pre>{escape(repr(self))}</pre>{f'<ul>{warns}</ul>' if warns else ''}</div>"


def clinical_cutoffs(
    dysfunctional_mean: float,
    dysfunctional_sd: float,
    functional_mean: float | None = None,
    functional_sd: float | None = None,
    *,
    direction: Direction,
) -> ClinicalCutoffs:
    """Cut-offs a, b and c of Jacobson & Truax (1991) between dysfunctional and functional scores.

    With ``d = +1`` when higher is better and ``-1`` when higher is worse,
    ``M0, s0`` the dysfunctional and ``M1, s1`` the functional mean and SD::

        a = M0 + 2 d s0                       out of the dysfunctional range
        b = M1 - 2 d s1                       into the functional range
        c = (s0 M1 + s1 M0) / (s0 + s1)       nearer the functional mean than the dysfunctional

    c lies ``k = |M1 - M0| / (s0 + s1)`` SDs from both means, so under
    normality a share ``Phi(-k)`` of each population falls on the wrong side.
    A warning is given when ``k < 1`` (more than 16% of each population
    misclassified): the norms overlap too much for any cut-off to separate
    them well.

    Examples
    --------
    >>> cut = clinical_cutoffs(40, 7.5, 60, 7.5, direction="higher_is_better")
    >>> cut.a, cut.b, cut.c, cut.recommended
    (55.0, 45.0, 50.0, 'c')
    """
    direction = _check_direction(direction)
    d = _sign(direction)
    m0 = _finite(dysfunctional_mean, "dysfunctional_mean")
    s0 = _positive(dysfunctional_sd, "dysfunctional_sd")
    if (functional_mean is None) != (functional_sd is None):
        raise DataError("functional norms need both a mean and an SD",
                        hint="pass functional_mean= and functional_sd= together, or neither")
    a = m0 + 2 * d * s0
    warnings: list[str] = []
    details: dict[str, Any] = {}
    if functional_mean is None:
        return ClinicalCutoffs(
            a=a, b=None, c=None, recommended="a", direction=direction,
            dysfunctional_mean=m0, dysfunctional_sd=s0,
            method=f"{_JT} cut-off a: 2 SD beyond the dysfunctional mean; no functional norms, so b and c are unavailable",
        )
    m1 = _finite(functional_mean, "functional_mean")
    s1 = _positive(functional_sd, "functional_sd")
    if d * (m1 - m0) <= 0:
        better = "higher" if d > 0 else "lower"
        raise DataError(
            f"the functional mean ({m1:g}) is not {better} than the dysfunctional mean ({m0:g}), "
            f"although the direction is {direction}",
            hint="check the direction and which norms are functional and which dysfunctional")
    b = m1 - 2 * d * s1
    c = (s0 * m1 + s1 * m0) / (s0 + s1)
    k = abs(m1 - m0) / (s0 + s1)
    wrong_side = float(stats.norm.sf(k))
    details.update(separation_sd=k, misclassified_share=wrong_side, a_beyond_b=bool(d * (a - b) > 0))
    if k < 1:
        warnings.append(
            f"the functional and dysfunctional distributions overlap heavily: cut-off c is only {k:.2f} SD "
            f"from each mean, so under normality {wrong_side:.0%} of each population falls on the wrong side")
    return ClinicalCutoffs(
        a=a, b=b, c=c, recommended="c", direction=direction,
        dysfunctional_mean=m0, dysfunctional_sd=s0, functional_mean=m1, functional_sd=s1,
        method=f"{_JT} cut-offs: a = 2 SD beyond the dysfunctional mean, b = 2 SD short of the functional "
               "mean, c = (s0*M1 + s1*M0)/(s0 + s1); c recommended when functional norms exist",
        warnings=tuple(warnings), details=details,
    )


# ---------------------------------------------------------------------------
# classification


def _side(values: np.ndarray, cutoff: float, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(strictly on the dysfunctional side, strictly on the functional side); the cut-off itself is neither."""
    signed = d * (values - cutoff)
    return signed < 0, signed > 0


def classify(
    rci: Sequence[float] | np.ndarray | pd.Series,
    *,
    direction: Direction,
    critical_value: float | None = None,
    ci_level: float = 0.95,
    pre: Sequence[float] | np.ndarray | pd.Series | None = None,
    post: Sequence[float] | np.ndarray | pd.Series | None = None,
    cutoff: float | None = None,
) -> pd.Series:
    """Each person's category from a reliable-change index whose sign follows the score.

    A positive index means the score rose. The change is reliable when
    ``|rci| > critical_value`` (default the two-sided normal quantile at
    ``ci_level``, 1.96 at 0.95); it is an improvement when the score moved in
    the better ``direction``. With a ``cutoff`` (and ``pre`` and ``post``),
    a reliable improvement from strictly the dysfunctional side of the cut-off
    at pre to strictly the functional side at post is ``recovered``
    (Jacobson & Truax 1991). A NaN index gives a missing category.

    Returns
    -------
    pandas.Series
        Categorical with categories ``recovered``, ``improved``,
        ``unchanged``, ``deteriorated``, indexed like ``rci``.
    """
    direction = _check_direction(direction)
    d = _sign(direction)
    index = rci.index if isinstance(rci, pd.Series) else None
    x = np.asarray(rci, dtype=float)
    if critical_value is None:
        critical_value = float(stats.norm.ppf(0.5 + _check_level(ci_level) / 2))
    crit = _positive(critical_value, "critical_value")
    with np.errstate(invalid="ignore"):
        reliable = np.abs(x) > crit
        improved = reliable & (d * x > 0)
        deteriorated = reliable & (d * x < 0)
    labels = np.where(improved, "improved", np.where(deteriorated, "deteriorated", "unchanged")).astype(object)
    if cutoff is not None:
        if pre is None or post is None:
            raise DataError("classifying recovery needs the pre and post scores beside the cut-off",
                            hint="pass pre= and post=")
        cut = _finite(cutoff, "cutoff")
        p0, p1 = np.asarray(pre, dtype=float), np.asarray(post, dtype=float)
        if p0.shape != x.shape or p1.shape != x.shape:
            raise DataError("pre, post and rci must have one value per person")
        clinical_pre, _ = _side(p0, cut, d)
        _, functional_post = _side(p1, cut, d)
        labels[improved & clinical_pre & functional_post] = "recovered"
    labels[np.isnan(x)] = None
    return pd.Series(pd.Categorical(labels, categories=list(CATEGORIES)), index=index, name="category")


def _check_level(ci_level: Any) -> float:
    level = _finite(ci_level, "ci_level")
    if not 0 < level < 1:
        raise DataError(f"ci_level must be between 0 and 1, not {level:g}", hint="e.g. ci_level=0.95")
    return level


# ---------------------------------------------------------------------------
# results


def _counts(categories: pd.Series) -> dict[str, int]:
    return {c: int((categories == c).sum()) for c in CATEGORIES}


@dataclass(frozen=True, repr=False, eq=False)
class ReliableChangeResult(ResultTable):
    """Per-person reliable change, with the parameters it rests on.

    ``table`` has one row per person analysed (indexed as the input): ``pre``,
    ``post``, ``change``, ``rci`` (the method's index; positive when the score
    rose), ``reliable``, ``reliably_improved``, ``reliably_deteriorated``, for
    Edwards-Nunnally also ``pre_true``, ``lower`` and ``upper``, with a
    cut-off ``clinical_at_pre``, ``functional_at_post`` and ``recovered``, and
    last ``category`` (see :data:`CATEGORIES`). ``details`` holds the
    reliability, SD, S_E, S_diff and critical value used, each with its
    source, and the counts.
    """

    n: int = 0
    ci_level: float = 0.95
    method_id: str = "jacobson-truax"

    @property
    def counts(self) -> dict[str, int]:
        """People in each category (people whose index is undefined are in none)."""
        return _counts(self.table["category"])

    def proportion(self, category: str = "recovered") -> Estimate:
        """Share of people in a category, with a Wilson (1927) score interval at ``ci_level``.

        ``category`` is one of :data:`CATEGORIES`, or ``"reliably_improved"``
        (recovered plus improved) or ``"reliably_deteriorated"``.
        """
        cats = self.table["category"]
        if category == "reliably_improved":
            k = int(cats.isin(["recovered", "improved"]).sum())
        elif category in ("reliably_deteriorated", *CATEGORIES):
            if category == "recovered" and "recovered" not in self.table:
                raise DataError("no clinical cut-off was used, so nobody can be classified as recovered",
                                hint="pass cutoff=, functional_mean= and functional_sd=, or register clinical_cutoff")
            k = int((cats == ("deteriorated" if category == "reliably_deteriorated" else category)).sum())
        else:
            raise DataError(f"unknown category {category!r}",
                            hint=f"use one of {', '.join(CATEGORIES)}, reliably_improved, reliably_deteriorated")
        n = int(cats.notna().sum())
        warnings = list(self.warnings)
        if n == 0:
            warnings.append("no person has a defined category, so the proportion is undefined")
            return Estimate(statistic=f"proportion_{category}", estimate=math.nan, ci_level=self.ci_level,
                            method="share of people", n=0, warnings=tuple(warnings))
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=self.ci_level, method="wilson")
        return Estimate(
            statistic=f"proportion_{category}", estimate=k / n, ci=(float(ci.low), float(ci.high)),
            ci_level=self.ci_level, method=f"share of people ({self.method_name}); Wilson (1927) score interval",
            n=n, warnings=tuple(warnings), details={"count": k},
        )

    @property
    def method_name(self) -> str:
        return _METHOD_NAMES.get(self.method_id, self.method_id)

    def to_dict(self) -> dict[str, Any]:
        """Plain data; ``table`` rows carry the input's index as ``id``."""
        out = super().to_dict()
        table = self.table.copy()
        table["category"] = table["category"].astype(object).where(table["category"].notna(), None)
        out["table"] = table.rename_axis("id").reset_index().to_dict(orient="records")
        out.update(n=self.n, ci_level=self.ci_level, method_id=self.method_id, counts=self.counts)
        return out

    def __repr__(self) -> str:
        d = self.details
        excluded = d.get("n_excluded", 0)
        lines = [f"{self.name}: {self.method_name}, n = {self.n}"
                 + (f" ({excluded} left out)" if excluded else "")]
        lines.append(f"  reliability {_fmt(d.get('reliability'))} ({d.get('reliability_source')}); "
                     f"SD {_fmt(d.get('sd'))} ({d.get('sd_source')})")
        crit = f"|index| > {_fmt(d.get('critical_value'))}"
        if "reliable_change_points" in d:
            crit += f", i.e. a change of more than {_fmt(d['reliable_change_points'])} points"
        lines.append(f"  S_E = {_fmt(d.get('se_measurement'))}, S_diff = {_fmt(d.get('s_diff'))}; reliable when {crit}")
        if d.get("cutoff") is not None:
            lines.append(f"  cut-off {_fmt(d['cutoff'])} ({d.get('cutoff_source')})")
        lines.append("  " + ", ".join(f"{k} {v}" for k, v in self.counts.items()
                                      if k != "recovered" or "recovered" in self.table))
        shown = self.table if len(self.table) <= 10 else self.table.head(10)
        lines.append(shown.to_string(float_format=lambda x: f"{x:.3f}"))
        if len(self.table) > 10:
            lines.append(f"... {len(self.table) - 10} more rows")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head, *_ = repr(self).split("\n", 1)
        warns = "".join(f"<li>{escape(w)}</li>" for w in self.warnings)
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return (f"<div><strong>{escape(head)}</strong><br><small>{escape(self.method)}</small><br>{escape(counts)}"
                f"{self.table.to_html(float_format=lambda x: f'{x:.3f}', max_rows=30)}"
                f"{f'<ul>{warns}</ul>' if warns else ''}</div>")


@dataclass(frozen=True, repr=False, eq=False)
class ReliableChangeComparison(ResultTable):
    """The same people under several methods: ``table`` counts categories per method, ``results`` holds each."""

    results: Mapping[str, ReliableChangeResult] = field(default_factory=dict)

    def __getitem__(self, method: str) -> ReliableChangeResult:
        return self.results[method]

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["results"] = {k: v.to_dict() for k, v in self.results.items()}
        return out


# ---------------------------------------------------------------------------
# inputs


def _as_series(x: Any, name: str) -> pd.Series:
    if isinstance(x, pd.DataFrame):
        raise DataError(f"{name} must be one column of scores, not a table with {x.shape[1]} columns",
                        hint=f"pass e.g. table['{name}_score']")
    if isinstance(x, pd.Series):
        s = x
    else:
        arr = np.asarray(x, dtype=object) if not isinstance(x, np.ndarray) else x
        if arr.ndim != 1:
            raise DataError(f"{name} must be one-dimensional (one score per person)")
        s = pd.Series(arr)
    if pd.api.types.is_bool_dtype(s.dtype):
        raise DataError(f"{name} scores must be numbers, not true/false values")
    numeric = pd.to_numeric(s, errors="coerce")
    bad = int((numeric.isna() & s.notna()).sum())
    if bad:
        raise DataError(f"{bad} {name} score(s) are not numbers", hint="score the assessments first; leave missing scores blank")
    numeric = numeric.astype(float)
    if np.isinf(numeric.to_numpy()).any():
        raise DataError(f"{name} scores include infinite values")
    return numeric


def _pair(pre: Any, post: Any) -> tuple[pd.DataFrame, int, list[str]]:
    """Complete (pre, post) pairs, the number left out and a warning that counts them."""
    s0, s1 = _as_series(pre, "pre"), _as_series(post, "post")
    if isinstance(pre, pd.Series) and isinstance(post, pd.Series):
        if not s0.index.equals(s1.index):
            for s, name in ((s0, "pre"), (s1, "post")):
                if s.index.has_duplicates:
                    raise DataError(f"{name} has repeated index labels, so pre and post cannot be matched by person",
                                    hint="index both by a unique person id, or pass arrays in the same order")
        frame = pd.concat({"pre": s0, "post": s1}, axis=1, join="outer")
    else:
        if len(s0) != len(s1):
            raise DataError(f"pre has {len(s0)} scores but post has {len(s1)}",
                            hint="give one pre and one post score per person, in the same order (blank where missing)")
        index = s0.index if isinstance(pre, pd.Series) else s1.index
        frame = pd.DataFrame({"pre": s0.to_numpy(), "post": s1.to_numpy()}, index=index)
    total = len(frame)
    missing_pre, missing_post = frame["pre"].isna(), frame["post"].isna()
    keep = ~(missing_pre | missing_post)
    left_out = int((~keep).sum())
    warnings = []
    if left_out:
        warnings.append(f"{left_out} of {total} people were left out because their pre or post score is missing "
                        f"(pre missing: {int(missing_pre.sum())}, post missing: {int(missing_post.sum())})")
    return frame.loc[keep], left_out, warnings


def _change_parameters(instrument: Any, score: str | None) -> tuple[ChangeParameters | None, str | None, Any]:
    """(registered change parameters, a label naming instrument and score, the instrument)."""
    if instrument is None:
        if score is not None:
            raise DataError("score= names a score of an instrument, but no instrument= was given")
        return None, None, None
    from cseoutcomes.instruments import Instrument, get_instrument

    inst: Instrument = get_instrument(instrument) if isinstance(instrument, str) else instrument
    if not isinstance(inst, Instrument):
        raise DataError(f"instrument must be an Instrument or an instrument id, not {type(instrument).__name__}")
    if score is None:
        if len(inst.scores) != 1:
            names = ", ".join(s.id for s in inst.scores) or "none"
            raise DataError(f"instrument '{inst.id}' has {len(inst.scores)} scores ({names}); say which one changed",
                            hint="pass score=")
        sc = inst.scores[0]
    else:
        try:
            sc = inst.get_score(score)
        except KeyError as exc:
            raise DataError(str(exc.args[0]) if exc.args else f"no score '{score}'",
                            where=f"instrument '{inst.id}'") from None
    return sc.change, f"{inst.key} score '{sc.id}'", (inst, sc)


def _evidence_hint(found: Any) -> str:
    if found is None:
        return ""
    inst, sc = found
    items = [f"{e.statistic} {e.value:g}" for e in inst.evidence if e.score in (None, sc.id)
             and e.statistic in ("cronbach_alpha", "mcdonald_omega", "test_retest", "icc")]
    return f"; the definition lists reliability evidence ({', '.join(items[:4])}) to choose from" if items else ""


@dataclass
class _Params:
    direction: Direction
    direction_source: str
    reliability: float
    reliability_source: str
    reliability_type: str | None
    sd: float
    sd_source: str
    mean: float
    mean_source: str
    cutoff: float | None
    cutoff_type: str | None
    cutoff_source: str | None
    cutoffs: ClinicalCutoffs | None
    warnings: list[str]


def _resolve(frame: pd.DataFrame, *, reliability: Any, sd: Any, mean: Any, direction: Any,
             registered: ChangeParameters | None, label: str | None, found: Any, cutoff: Any,
             functional_mean: Any, functional_sd: Any, need_mean: bool) -> _Params:
    warnings: list[str] = []
    n = len(frame)
    where = f" for {label}" if label else ""

    # direction: argument, then registered
    if direction is not None:
        direction = _check_direction(direction)
        direction_source = "given (direction=)"
        if registered is not None and registered.direction != direction:
            warnings.append(f"direction={direction} overrides the registered direction {registered.direction}{where}")
    elif registered is not None:
        direction, direction_source = registered.direction, f"registered{where}"
    else:
        raise DataError("the direction of improvement is unknown: a rise in the score may be an improvement or a deterioration",
                        hint="pass direction='higher_is_better' or 'higher_is_worse'" + (
                            f", or register change.direction{where}" if label else ", or instrument= and score="))

    # reliability: argument, then registered; never from the data
    rel_type = None
    if reliability is not None:
        if isinstance(reliability, str):
            raise DataError(f"reliability must be a number, not {reliability!r}",
                            hint="estimate it first (e.g. Cronbach's alpha on item-level data) and pass the value")
        if isinstance(reliability, Estimate):
            r = _finite(reliability.estimate, "reliability")
            rel_source = (f"{reliability.statistic} = {r:.3f}" + (f", n = {reliability.n}" if reliability.n else "")
                          + (f" ({reliability.method})" if reliability.method else ""))
            rel_type = "internal_consistency" if reliability.statistic in (
                "cronbach_alpha", "mcdonald_omega") else None
        else:
            r = _finite(reliability, "reliability")
            rel_source = "given (reliability=)"
    elif registered is not None and registered.reliability is not None:
        r, rel_source, rel_type = (registered.reliability.value, registered.reliability.source,
                                   registered.reliability.type)
    else:
        raise DataError(
            f"no reliability{where}: {_JT} compute the standard error of measurement from the measure's "
            "reliability, and it cannot be estimated from pre and post totals",
            hint="pass reliability= (a published test-retest or internal-consistency coefficient) or register "
                 f"change.reliability for this score in the instrument definition{_evidence_hint(found)}")
    if not 0 <= r <= 1:
        raise DataError(f"reliability must be between 0 and 1, not {r:g}")
    if r == 1:
        warnings.append("reliability 1 means no measurement error: every non-zero change counts as reliable")

    # SD and mean of the dysfunctional (reference or baseline) population: argument, registered, data
    estimated: list[str] = []

    def resolve(value: Any, name: str, reg: Any) -> tuple[float, str]:
        if value is not None:
            return (_positive(value, name) if name == "sd" else _finite(value, name)), f"given ({name}=)"
        if reg is not None:
            return (_positive(reg.value, name) if name == "sd" else float(reg.value)), reg.source
        x = frame["pre"].to_numpy()
        if name == "mean":
            estimated.append("mean")
            return float(np.mean(x)), f"estimated: mean of the {n} pre scores analysed"
        if n < 2:
            raise DataError(f"the SD of pre scores needs at least 2 people, and {n} {'has' if n == 1 else 'have'} "
                            "both scores", hint="pass sd= (e.g. a published SD of a comparable clinical sample)")
        est = float(np.std(x, ddof=1))
        if est <= 0:
            raise DataError("every pre score is the same, so their SD is 0 and cannot scale the change",
                            hint="pass sd= from a reference sample")
        estimated.append("SD")
        return est, f"estimated: SD (n - 1) of the {n} pre scores analysed"

    sd_val, sd_source = resolve(sd, "sd", registered.reference_sd if registered else None)
    norms = functional_mean is not None or functional_sd is not None or isinstance(cutoff, str)
    if need_mean or norms:
        mean_val, mean_source = resolve(mean, "mean", registered.reference_mean if registered else None)
    else:
        mean_val, mean_source = math.nan, "not used"
    if estimated and n < _SMALL_N:
        warnings.append(f"the {' and '.join(estimated)} of the pre scores came from only {n} people; sampling "
                        "error in them carries into every index (pass published reference values if there are any)")

    # cut-off: argument (number or 'a'/'b'/'c'), then registered, then norms
    cutoffs = None
    cut_type = cut_source = None
    cut_val: float | None = None
    if norms:
        cutoffs = clinical_cutoffs(mean_val, sd_val, functional_mean, functional_sd, direction=direction)
    if isinstance(cutoff, str):
        cut_type = cutoff
        cut_val = cutoffs.get(cutoff)  # type: ignore[union-attr]
        cut_source = f"{_JT} cut-off {cutoff} from the dysfunctional mean and SD above" + (
            f" and functional norms (mean {cutoffs.functional_mean:g}, SD {cutoffs.functional_sd:g})"  # type: ignore[union-attr]
            if cutoff != "a" else "")
    elif cutoff is not None:
        cut_val, cut_type, cut_source = _finite(cutoff, "cutoff"), "given", "given (cutoff=)"
    elif cutoffs is not None:
        cut_type = cutoffs.recommended
        cut_val = cutoffs.value
        cut_source = (f"{_JT} cut-off {cut_type} from the dysfunctional mean and SD above and functional norms "
                      f"(mean {cutoffs.functional_mean:g}, SD {cutoffs.functional_sd:g})")
    elif registered is not None and registered.clinical_cutoff is not None:
        cut_val, cut_type, cut_source = (float(registered.clinical_cutoff.value), "registered",
                                          registered.clinical_cutoff.source)
    if cutoffs is not None and cut_type in ("a", "b", "c"):
        warnings += list(cutoffs.warnings)

    return _Params(direction=direction, direction_source=direction_source, reliability=r,
                   reliability_source=rel_source, reliability_type=rel_type, sd=sd_val, sd_source=sd_source,
                   mean=mean_val, mean_source=mean_source, cutoff=cut_val, cutoff_type=cut_type,
                   cutoff_source=cut_source, cutoffs=cutoffs, warnings=warnings)


# ---------------------------------------------------------------------------
# the indices


def _ratio(num: np.ndarray, den: float) -> np.ndarray:
    """num / den, with den == 0 giving +-inf for non-zero num and 0 for zero num (no error, no change)."""
    if den > 0:
        return num / den
    with np.errstate(invalid="ignore"):
        return np.where(num == 0, 0.0, np.sign(num) * np.inf)


def _jacobson_truax(frame: pd.DataFrame, p: _Params, level: float) -> tuple[pd.DataFrame, dict, list[str], float, str]:
    se = p.sd * math.sqrt(1 - p.reliability)
    s_diff = math.sqrt(2 * se**2)
    z = float(stats.norm.ppf(0.5 + level / 2))
    change = (frame["post"] - frame["pre"]).to_numpy()
    cols = pd.DataFrame({"rci": _ratio(change, s_diff)}, index=frame.index)
    details = {"se_measurement": se, "s_diff": s_diff, "critical_value": z, "reliable_change_points": z * s_diff}
    text = (f"{_JT} reliable change index RC = (post - pre)/S_diff, S_diff = sqrt(2)*S_E, S_E = SD*sqrt(1 - r) "
            f"(Christensen & Mendoza 1986); reliable when |RC| > {z:.3f} (two-sided, {level:.0%})")
    return cols, details, [], z, text


def _edwards_nunnally(frame: pd.DataFrame, p: _Params, level: float) -> tuple[pd.DataFrame, dict, list[str], float, str]:
    se = p.sd * math.sqrt(1 - p.reliability)
    z = float(stats.norm.ppf(0.5 + level / 2))
    # r*(pre - M) + M, written so that r = 1 returns pre exactly
    pre = frame["pre"].to_numpy()
    pre_true = pre - (1 - p.reliability) * (pre - p.mean)
    post = frame["post"].to_numpy()
    cols = pd.DataFrame({"pre_true": pre_true, "lower": pre_true - z * se, "upper": pre_true + z * se,
                         "rci": _ratio(post - pre_true, se)}, index=frame.index)
    details = {"se_measurement": se, "s_diff": math.sqrt(2) * se, "critical_value": z,
               "mean": p.mean, "mean_source": p.mean_source}
    text = (f"Edwards-Nunnally interval (Speer 1992; Bauer, Lambert & Nielsen 2004): pre_true = r*(pre - M) + M, "
            f"reliable when post lies outside pre_true +/- {z:.3f}*S_E, S_E = SD*sqrt(1 - r); "
            "index = (post - pre_true)/S_E (Speer writes the multiplier as 2)")
    return cols, details, [], z, text


def _hageman_arrindell(frame: pd.DataFrame, p: _Params, level: float) -> tuple[pd.DataFrame, dict, list[str], float, str]:
    se = p.sd * math.sqrt(1 - p.reliability)
    s_diff = math.sqrt(2 * se**2)
    z = float(stats.norm.ppf(level))
    text = (f"{_METHOD_NAMES['hageman-arrindell']} RC_INDIV = ((post - pre)*r_DD + (M2 - M1)*(1 - r_DD))"
            f"/(sqrt(r_DD)*S_diff), r_DD from the sample SDs, pre-post correlation and S_E = SD*sqrt(1 - r); "
            f"reliable when |RC_INDIV| > {z:.3f} (one-sided, {level:.0%}; Hageman & Arrindell use 1.65)")
    x1, x2 = frame["pre"].to_numpy(), frame["post"].to_numpy()
    n = len(frame)
    warnings: list[str] = []
    nan = pd.DataFrame({"rci": np.full(n, np.nan)}, index=frame.index)
    details: dict[str, Any] = {"se_measurement": se, "s_diff": s_diff, "critical_value": z}
    if n < 3:
        warnings.append(f"the Hageman-Arrindell index needs the sample's SDs and pre-post correlation, "
                        f"which need at least 3 people ({n} given); every index is undefined")
        return nan, details, warnings, z, text
    m1, m2 = float(x1.mean()), float(x2.mean())
    s1, s2 = float(x1.std(ddof=1)), float(x2.std(ddof=1))
    diff = x2 - x1
    var_d = float(diff.var(ddof=1))
    details.update(mean_pre=m1, mean_post=m2, sd_pre_sample=s1, sd_post_sample=s2, var_change=var_d)
    if s1 > 0 and s2 > 0:
        r12 = float(np.corrcoef(x1, x2)[0, 1])
        rxx1, rxx2 = 1 - se**2 / s1**2, 1 - se**2 / s2**2
        details.update(r_pre_post=r12, r_xx_pre=rxx1, r_xx_post=rxx2)
        for rxx, when in ((rxx1, "pre"), (rxx2, "post")):
            if rxx <= 0:
                warnings.append(f"the {when} scores vary less than measurement error alone would make them "
                                f"(implied reliability {rxx:.2f}); check the reliability and SD used")
    if var_d <= 0:
        warnings.append("every person changed by the same amount, so the reliability of the change scores "
                        "is undefined and so is every Hageman-Arrindell index")
        return nan, details, warnings, z, text
    # r_DD: the registered formula reduces to 1 - S_diff**2 / var(post - pre) when S_E is the same at both occasions
    r_dd = 1 - s_diff**2 / var_d
    details["r_dd"] = r_dd
    if r_dd <= 0:
        warnings.append(f"the change scores vary no more than measurement error alone would make them "
                        f"(reliability of change r_DD = {r_dd:.2f} <= 0), so every Hageman-Arrindell index is undefined")
        return nan, details, warnings, z, text
    num = diff * r_dd + (m2 - m1) * (1 - r_dd)
    cols = pd.DataFrame({"rci": _ratio(num, math.sqrt(r_dd) * s_diff)}, index=frame.index)
    return cols, details, warnings, z, text


_COMPUTE = {"jacobson-truax": _jacobson_truax, "edwards-nunnally": _edwards_nunnally,
            "hageman-arrindell": _hageman_arrindell}


def _one(frame: pd.DataFrame, p: _Params, method: str, level: float, left_out: int,
         pair_warnings: list[str], label: str | None) -> ReliableChangeResult:
    cols, extra, warnings, crit, text = _COMPUTE[method](frame, p, level)
    table = frame.copy()
    table["change"] = table["post"] - table["pre"]
    for col in cols:
        table[col] = cols[col]
    d = _sign(p.direction)
    rci = table["rci"].to_numpy()
    with np.errstate(invalid="ignore"):
        reliable = np.abs(rci) > crit
    table["reliable"] = reliable
    table["reliably_improved"] = reliable & (d * rci > 0)
    table["reliably_deteriorated"] = reliable & (d * rci < 0)
    if p.cutoff is not None:
        clinical_pre, _ = _side(table["pre"].to_numpy(), p.cutoff, d)
        _, functional_post = _side(table["post"].to_numpy(), p.cutoff, d)
        table["clinical_at_pre"] = clinical_pre
        table["functional_at_post"] = functional_post
        table["recovered"] = table["reliably_improved"].to_numpy() & clinical_pre & functional_post
        started_functional = int((~clinical_pre).sum())
        if started_functional:
            warnings = [*warnings, f"{started_functional} of {len(table)} people did not start on the dysfunctional "
                        f"side of the cut-off ({p.cutoff:g}), so they cannot be classified as recovered"]
    table["category"] = classify(table["rci"], direction=p.direction, critical_value=crit,
                                 pre=table["pre"], post=table["post"], cutoff=p.cutoff)
    undefined = int(np.isnan(rci).sum())
    if undefined and method != "hageman-arrindell":  # HA says why itself
        warnings = [*warnings, f"{undefined} people have an undefined index"]
    details: dict[str, Any] = {
        "method": method,
        "reliability": p.reliability, "reliability_source": p.reliability_source,
        "reliability_type": p.reliability_type,
        "sd": p.sd, "sd_source": p.sd_source,
        "direction": p.direction, "direction_source": p.direction_source,
        **extra,
        "cutoff": p.cutoff, "cutoff_type": p.cutoff_type, "cutoff_source": p.cutoff_source,
        "n_excluded": left_out,
    }
    if label:
        details["instrument"] = label
    details.update({f"n_{k}": v for k, v in _counts(table["category"]).items()})
    return ReliableChangeResult(
        name="reliable_change", table=table, method=text,
        warnings=tuple([*pair_warnings, *p.warnings, *warnings]), details=details,
        n=len(table), ci_level=level, method_id=method,
    )


def reliable_change(
    pre: Any,
    post: Any,
    *,
    reliability: float | Estimate | None = None,
    sd: float | None = None,
    mean: float | None = None,
    method: Method | Literal["all"] = "jacobson-truax",
    direction: Direction | None = None,
    instrument: Instrument | str | None = None,
    score: str | None = None,
    ci_level: float = 0.95,
    cutoff: float | Literal["a", "b", "c"] | None = None,
    functional_mean: float | None = None,
    functional_sd: float | None = None,
) -> ReliableChangeResult | ReliableChangeComparison:
    """Reliable (and, given a cut-off, clinically significant) change for each person.

    Parameters
    ----------
    pre, post
        One score per person at the two occasions: Series (matched by index),
        arrays or lists (matched by position). People missing either score are
        left out, and a warning counts them.
    reliability
        The measure's reliability (0-1), or an :class:`Estimate` such as
        :func:`cronbach_alpha` returns. Defaults to the reliability
        registered for ``instrument``'s ``score``; there is no data default.
        Jacobson & Truax (1991) define it as test-retest reliability; Evans
        and colleagues (psyctc.org) argue internal consistency fits the
        classical-test-theory model behind the index better. Either way the
        source is reported.
    sd, mean
        SD and mean of the dysfunctional population (the pre-treatment sample
        or a clinical reference). Default: the registered ``reference_sd`` /
        ``reference_mean``, else the SD (n - 1) and mean of the pre scores
        analysed. ``mean`` is used by Edwards-Nunnally and cut-offs a and c.
    method
        ``"jacobson-truax"``, ``"edwards-nunnally"``, ``"hageman-arrindell"``
        or ``"all"`` (a :class:`ReliableChangeComparison`).
    direction
        ``"higher_is_better"`` or ``"higher_is_worse"``; default the
        registered direction.
    instrument, score
        An :class:`~cseoutcomes.Instrument` or registered id, and the score
        whose registered change parameters to use (may be left out when the
        instrument has one score).
    ci_level
        Confidence behind "reliable": 0.95 gives the two-sided 1.96 (one-sided
        1.645 for Hageman-Arrindell).
    cutoff
        Clinical cut-off: a number, or ``"a"``, ``"b"``, ``"c"`` computed by
        :func:`clinical_cutoffs`. Default: the recommended cut-off when
        ``functional_mean`` and ``functional_sd`` are given, else the
        registered ``clinical_cutoff``, else none (no recovery is classified).
    functional_mean, functional_sd
        Norms of the functional population, for cut-offs b and c.

    Returns
    -------
    ReliableChangeResult
        Per-person table, counts, and every parameter with its source.

    Raises
    ------
    DataError
        Without a reliability or a direction, or with unusable scores.

    Examples
    --------
    >>> res = reliable_change([20, 25, 18], [30, 24, 10], reliability=0.8, sd=5,
    ...                       direction="higher_is_better")
    >>> list(res.table["category"])
    ['improved', 'unchanged', 'deteriorated']
    """
    if method != "all" and method not in METHODS:
        raise DataError(f"unknown method {method!r}", hint=f"use one of {', '.join(METHODS)} or 'all'")
    level = _check_level(ci_level)
    registered, label, found = _change_parameters(instrument, score)
    frame, left_out, pair_warnings = _pair(pre, post)
    if frame.empty:
        raise DataError("nobody has both a pre and a post score", hint="check that pre and post refer to the same people")
    params = _resolve(frame, reliability=reliability, sd=sd, mean=mean, direction=direction, registered=registered,
                      label=label, found=found, cutoff=cutoff, functional_mean=functional_mean,
                      functional_sd=functional_sd, need_mean=method in ("edwards-nunnally", "all"))
    if method != "all":
        return _one(frame, params, method, level, left_out, pair_warnings, label)
    results = {m: _one(frame, params, m, level, left_out, pair_warnings, label) for m in METHODS}
    rows = {m: {"n": r.n, **r.counts, "critical_value": r.details["critical_value"]} for m, r in results.items()}
    summary = pd.DataFrame.from_dict(rows, orient="index")
    summary.index.name = "method"
    if params.cutoff is None:
        summary = summary.drop(columns="recovered")
    warnings = tuple(dict.fromkeys(w for r in results.values() for w in r.warnings))
    return ReliableChangeComparison(
        name="reliable_change", table=summary,
        method="; ".join(_METHOD_NAMES[m] for m in METHODS), warnings=warnings,
        details={"reliability": params.reliability, "reliability_source": params.reliability_source,
                 "sd": params.sd, "sd_source": params.sd_source, "direction": params.direction,
                 "cutoff": params.cutoff, "n_excluded": left_out},
        results=results,
    )
