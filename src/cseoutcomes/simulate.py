"""Synthetic Hub and Spoke programme data with a known truth.

:func:`hub_and_spoke` simulates the casework of a specialist child sexual
exploitation (CSE) programme shaped like the Alexi Project "Hub and Spoke"
programme (Harris, Roker et al. 2017, summary of key messages; see
``shared/seed``): 16 hub services placed 53 spoke workers in 35 local authority
areas; spoke workers held caseloads of 10-12 young people at a time and were
expected to work with about 20 a year once established; 783 young people had
received casework by December 2016, and of the 255 whose cases closed in the
evaluation period 72% were recorded at lower risk than at the initial
assessment. That 72% mixes real improvement with regression to the mean and
with cases closed for not engaging, not being contactable or moving away.

The simulator makes each of those mechanisms explicit, so that methods can be
checked against a known answer:

* every young person has a latent risk trajectory
  ``eta_i(t) = intercept_i + slope_i * t + e_i(t)`` (``t`` in months since
  referral) whose intercept and slope carry hub, area and worker effects, with
  an AR(1) transient state ``e_i(t)`` across assessments;
* assessments on ``cse-risk-indicators`` are generated item by item from a
  logistic model in ``eta`` plus an assessment-level rater (measurement) error;
* referral happens when the *observed* referral screen (the occasion-0
  assessment itself) scores at or above a threshold, so referral scores are
  selected at a high point and regress towards the mean afterwards;
* cases close for competing reasons whose monthly hazards depend on current
  latent risk (planned "risk reduced" closures when risk is low; modest
  informative drop-out otherwise);
* ``progress-ladder`` ratings by the young person and by the worker follow a
  latent wellbeing that falls as risk rises.

Only NumPy and pandas are used, and all randomness flows from one
``numpy.random.Generator`` seeded by ``seed``: the same seed gives identical
tables.

Examples
--------
>>> from cseoutcomes.simulate import hub_and_spoke
>>> sim = hub_and_spoke(seed=0)
>>> sim.truth["parameters"]["n_hubs"]
16
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CLOSURE_REASONS", "Programme", "SimulatedProgramme", "hub_and_spoke", "naive_share_lower"]

#: closure reasons the simulator produces (all accepted by ``cseoutcomes.validate``)
CLOSURE_REASONS = ("risk_reduced", "not_engaging", "not_contactable", "moved_away", "transferred")

_RISK = "cse-risk-indicators"
_LADDER = "progress-ladder"
_DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Programme:
    """Every parameter of the simulated programme, with its default and why.

    Counts and dates
    ----------------
    n_hubs : int = 16
        Hub services funded (seed: "16 hub services").
    n_workers : int = 53
        Spoke workers (seed: "53 spoke workers"). Each works in one area.
    n_areas : int = 35
        Local authority areas (seed: "35 new local authority areas"). Each area
        belongs to one hub; every hub has at least one area and every area at
        least one worker, so ``n_hubs <= n_areas <= n_workers``.
    start : str = "2013-09-01"
        Start of the evaluation (seed: "between September 2013 and January 2017").
    end : str = "2016-12-31"
        End of observation (seed: "by the end of data collection in December
        2016"). Nothing after this date is in the tables; cases still open are
        censored.
    phase_starts : tuple = ("2014-06-01", "2015-03-01", "2015-10-01")
        The programme was phased (seed footnote 2). Hubs are dealt to phases so
        that each phase has about the same number of workers; a hub's workers start after its phase start (casework began after
        the evaluation started). Phasing is why only 783 young people had
        casework by December 2016 although 53 established workers would see
        about 1,060 a year (seed footnote 3). These dates are calibrated, not
        documented: with them the default run has about 783 young people of
        whom about 255 closed by the end (seeds 0-2: 788/260, 778/271, 795/264).
    recruitment_months : float = 4.0
        A worker starts a uniform 0 to ``recruitment_months`` after the hub's
        phase start (recruiting and placing spoke workers took time).
    ramp_months : float = 3.0
        Referrals build up linearly from nothing to the full rate over this many
        months after a worker starts (spokes joined areas with unmet need, so
        referrals came quickly).
    referrals_per_year : float = 30.0
        Referrals *offered* to a worker per year. About two thirds pass the
        referral screen, so about 20 a year are screened in (seed: "work with
        around 20 per year"); those arriving while the caseload is full go
        elsewhere. Note the seed's figures are not a steady state: 20 a year at
        10-12 at a time means cases of about 6 months, yet only 255 of 783
        cases had closed; the simulator matches the counts with longer cases
        (planned closures after about a year) and phased starts.
    caseload_min, caseload_max : int = 10, 12
        Each worker's caseload cap is drawn uniformly from this range (seed: "a
        caseload of between 10 and 12 ... at any one time"). A referral arriving
        while the caseload is full is not taken on (it goes elsewhere).
    review_months : float = 3.0
        Reviews about every three months (SERAF guidance: reassess at least every
        3 months).
    review_jitter_days : int = 10
        Each review date is moved by up to this many days either way.

    Referral and regression to the mean
    -----------------------------------
    referral_threshold : float = 11
        A referral becomes casework when its observed referral assessment scores
        at least this (the SERAF "moderate" band starts at 11). The referral
        assessment is the screen, so its measurement error and transient state
        are selected upwards: regression to the mean follows.

    Latent risk (logit-like scale; months since referral)
    -----------------------------------------------------
    mean_intercept : float = 0.5
        Mean latent risk of young people referred to a worker, before screening
        (sets the share passing the screen, about two thirds).
    person_intercept_sd : float = 1.0
        Between-person SD of the latent intercept (the main source of spread).
    hub_intercept_sd, area_intercept_sd, worker_intercept_sd : float = 0.25, 0.15, 0.15
        Hub, area and worker effects on the intercept (who gets referred where).
    mean_slope : float = -0.13
        Average change of latent risk per month in casework: a genuine, gradual
        fall (about -1.5 a year). Calibrated so the naive share of closed cases
        at lower risk is near the seed's 72%.
    person_slope_sd : float = 0.06
        Between-person SD of the slope: some young people do not improve.
    hub_slope_sd, area_slope_sd, worker_slope_sd : float = 0.02, 0.01, 0.02
        Service, area and worker effects on the slope (what a service comparison
        would try to recover). Small, as real differences between services are.
    occasion_sd : float = 0.45
        SD of the transient state ``e_i(t)`` (true week-to-week ups and downs).
    occasion_ar : float = 0.5
        AR(1) correlation of the transient state between consecutive assessments.
    rater_sd : float = 0.5
        SD of the assessment-level rater (measurement) error added to ``eta`` when
        items are answered; it is not part of the young person's true state.

    Items of cse-risk-indicators
    ----------------------------
    P(indicator present) = logistic(loading[section] * (eta + rater error)
    + difficulty[section] + item offset). Item offsets are spread evenly over
    ``[-item_spread/2, item_spread/2]`` within a section (fixed, not random).

    vulnerability_loading, moderate_loading, significant_loading : float = 0.5, 1.0, 1.2
        Vulnerabilities depend weakly on current risk; indicators strongly. With
        the defaults the expected score is about 4 at eta -2, 10 at 0, 15 at 1
        and 22 at 2; referral scores average about 17-18 (all moderate or
        significant, as the screen requires).
    vulnerability_difficulty, moderate_difficulty, significant_difficulty : float = 0.3, -0.4, -2.9
        Vulnerabilities are common, moderate indicators less so and significant
        indicators rare; calibrated so referral scores sit mostly in the
        moderate and significant bands.
    item_spread : float = 1.0
        Range of item offsets within a section.
    vulnerability_person_sd : float = 1.2
        SD of a stable person-by-item effect on vulnerabilities (circumstances
        such as being in care or having a disability persist between reviews).
    vulnerability_change_share : float = 0.8
        Share of the latent change over time that reaches vulnerabilities
        (support changes circumstances too, e.g. isolation, education).
    disclosure_difficulty : float = -6.0
        Difficulty of the disclosure item (rarer than other significant
        indicators). Once disclosed, later assessments record the disclosure as
        present with its months since, so the disclosure override persists.
    p_possible_if_present, p_possible_if_absent : float = 0.10, 0.04
        An indicator is recorded "possible" instead of "yes" or "no".
    p_unknown_referral, p_unknown_review : float = 0.07, 0.02
        An answer is "unknown" (more often at referral, when less is known).
    p_current : float = 0.65
        A moderate or significant indicator answered "yes" is current (blank
        months-ago) with this probability; otherwise it was last present
        1-12 months ago (uniform).

    Closures (monthly competing hazards; ``eta`` = trend ``intercept + slope*t``)
    ------------------------------------------------------------------------------
    risk_reduced_max : float = 0.3
        Largest monthly hazard of a planned "risk reduced" closure.
    risk_reduced_below : float = -1.4
        Latent risk below which a planned closure becomes likely (the hazard is
        ``risk_reduced_max * logistic((risk_reduced_below - eta) / risk_reduced_width)``).
    risk_reduced_width : float = 0.3
        Width of that step in latent units. A wide step far below the data, with a
        large ``risk_reduced_max``, makes the hazard log-linear in the latent risk
        over the data's range (``exp(-eta / risk_reduced_width)`` times a constant),
        the form the joint drop-out model assumes.
    min_months_open : float = 3.0
        No planned closure before this many months (at least one review).
    not_engaging_rate, not_contactable_rate, moved_away_rate, transferred_rate : float
        Monthly hazards at ``eta = 0``: 0.005, 0.003, 0.002, 0.002. With the
        defaults about 58% of closures are planned "risk reduced" ones, 17% not
        engaging, 10% not contactable, 7% moved away and 7% transferred.
    dropout_risk_effect : float = 0.3
        Log-hazard of non-planned closures per unit of current latent risk:
        informative drop-out exists (riskier young people disengage more) but is
        modest by default. Set to 0 for drop-out at random given the past.
    p_closing_assessment_risk_reduced, p_closing_assessment_transferred : float = 0.95, 0.5
        A closing assessment is made on the closure date with this probability;
        cases closed for other reasons end without one (their last assessment is
        the last review).

    Progress ladder
    ---------------
    ladder_centre : float = 5.0
        Mean rung at latent risk 0.
    ladder_risk_loading : float = 1.2
        Rungs lost per unit of latent risk (wellbeing falls as risk rises).
    ladder_person_sd, ladder_domain_sd : float = 0.8, 0.6
        Person wellbeing beyond risk, and stable person-by-domain differences.
    ladder_worker_noise_sd, ladder_young_person_noise_sd : float = 0.7, 1.1
        Rating noise of the worker and of the young person.
    ladder_young_person_bias : float = 0.4
        Young people rate themselves a little higher than workers do.
    p_ladder_declined, p_ladder_unknown : float = 0.03, 0.02
        A young person declines an area; a worker does not know.
    """

    n_hubs: int = 16
    n_workers: int = 53
    n_areas: int = 35
    start: str = "2013-09-01"
    end: str = "2016-12-31"
    phase_starts: tuple[str, ...] = ("2014-06-01", "2015-03-01", "2015-10-01")
    recruitment_months: float = 4.0
    ramp_months: float = 3.0
    referrals_per_year: float = 30.0
    caseload_min: int = 10
    caseload_max: int = 12
    review_months: float = 3.0
    review_jitter_days: int = 10
    referral_threshold: float = 11
    mean_intercept: float = 0.5
    person_intercept_sd: float = 1.0
    hub_intercept_sd: float = 0.25
    area_intercept_sd: float = 0.15
    worker_intercept_sd: float = 0.15
    mean_slope: float = -0.13
    person_slope_sd: float = 0.06
    hub_slope_sd: float = 0.02
    area_slope_sd: float = 0.01
    worker_slope_sd: float = 0.02
    occasion_sd: float = 0.45
    occasion_ar: float = 0.5
    rater_sd: float = 0.5
    vulnerability_loading: float = 0.5
    moderate_loading: float = 1.0
    significant_loading: float = 1.2
    vulnerability_difficulty: float = 0.3
    moderate_difficulty: float = -0.4
    significant_difficulty: float = -2.9
    item_spread: float = 1.0
    vulnerability_person_sd: float = 1.2
    vulnerability_change_share: float = 0.8
    disclosure_difficulty: float = -6.0
    p_possible_if_present: float = 0.10
    p_possible_if_absent: float = 0.04
    p_unknown_referral: float = 0.07
    p_unknown_review: float = 0.02
    p_current: float = 0.65
    risk_reduced_max: float = 0.3
    risk_reduced_below: float = -1.4
    risk_reduced_width: float = 0.3
    min_months_open: float = 3.0
    not_engaging_rate: float = 0.005
    not_contactable_rate: float = 0.003
    moved_away_rate: float = 0.002
    transferred_rate: float = 0.002
    dropout_risk_effect: float = 0.3
    p_closing_assessment_risk_reduced: float = 0.95
    p_closing_assessment_transferred: float = 0.5
    ladder_centre: float = 5.0
    ladder_risk_loading: float = 1.2
    ladder_person_sd: float = 0.8
    ladder_domain_sd: float = 0.6
    ladder_worker_noise_sd: float = 0.7
    ladder_young_person_noise_sd: float = 1.1
    ladder_young_person_bias: float = 0.4
    p_ladder_declined: float = 0.03
    p_ladder_unknown: float = 0.02

    def __post_init__(self) -> None:
        if not 1 <= self.n_hubs <= self.n_areas <= self.n_workers:
            raise ValueError("need 1 <= n_hubs <= n_areas <= n_workers (every hub has an area, every area a worker); "
                             f"got n_hubs={self.n_hubs}, n_areas={self.n_areas}, n_workers={self.n_workers}")
        if not 1 <= self.caseload_min <= self.caseload_max:
            raise ValueError(f"need 1 <= caseload_min <= caseload_max; got {self.caseload_min}, {self.caseload_max}")
        if pd.Timestamp(self.end) <= pd.Timestamp(self.start):
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if not self.phase_starts:
            raise ValueError("phase_starts needs at least one date")
        if self.review_months <= 0 or self.referrals_per_year <= 0:
            raise ValueError("review_months and referrals_per_year must be positive")
        for name in ("p_possible_if_present", "p_possible_if_absent", "p_unknown_referral", "p_unknown_review",
                     "p_current", "p_closing_assessment_risk_reduced", "p_closing_assessment_transferred",
                     "p_ladder_declined", "p_ladder_unknown"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a probability, got {getattr(self, name)}")
        if self.risk_reduced_width <= 0:
            raise ValueError(f"risk_reduced_width must be positive, got {self.risk_reduced_width}")
        if not -1 < self.occasion_ar < 1:
            raise ValueError(f"occasion_ar must lie in (-1, 1), got {self.occasion_ar}")

    @classmethod
    def with_overrides(cls, **overrides: Any) -> Programme:
        """Defaults with some parameters replaced; an unknown name raises TypeError with a suggestion."""
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in overrides if k not in valid]
        if unknown:
            parts = []
            for k in unknown:
                close = difflib.get_close_matches(k, valid, n=1)
                parts.append(f"'{k}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
            raise TypeError(f"unknown programme parameter{'s' * (len(unknown) > 1)} {', '.join(parts)}; "
                            f"valid names: {', '.join(valid)}")
        if "phase_starts" in overrides:
            overrides["phase_starts"] = tuple(overrides["phase_starts"])
        return cls(**overrides)


@dataclass
class SimulatedProgramme:
    """What :func:`hub_and_spoke` returns.

    Attributes
    ----------
    assessments
        ``cse-risk-indicators`` wide table, one row per assessment: person_id,
        assessment_date (ISO text), occasion (0 = referral), rater ("worker"),
        worker, service (hub), area, age (whole years), closure_date and
        closure_reason (on every row of a case closed in the window, blank
        otherwise), one column per item and ``<item>_months_ago`` for the
        moderate and significant indicators (blank = current).
    ladder
        ``progress-ladder`` table: the same id columns, two rows per occasion
        (rater "young_person" and "worker").
    truth
        ``parameters`` (dict), ``hubs``, ``areas``, ``workers`` (effects as
        DataFrames), ``people`` (one row per young person with casework: latent
        intercept and slope, referral and closure dates, closure reason, whether
        closed in the window, whether truly lower at closure; see
        :meth:`lower_at_closure` for the two definitions), ``assessment_latent``
        (aligned row by row with ``assessments``: latent trend, transient
        state, eta, rater error, expected score given eta) and
        ``vulnerability_effects`` (each young person's stable effects on the
        vulnerability items).
    """

    assessments: pd.DataFrame
    ladder: pd.DataFrame
    truth: dict[str, Any]
    programme: Programme = field(repr=False)

    def naive_share_lower(self, score: str = "total") -> float:
        """Share of cases closed in the window whose band at the last assessment is below the first.

        This is the seed's headline figure computed "the usual way": bands from
        :func:`cseoutcomes.score` at referral (occasion 0) and at the case's last
        assessment, ignoring why the case closed.
        """
        from cseoutcomes.instruments import score as _score

        table = self.assessments
        closed = table["closure_reason"].ne("")
        sub = table.loc[closed]
        if sub.empty:
            return float("nan")
        bands = _score(sub, _RISK, scores=[score])[f"{score}_band"].cat.codes
        return naive_share_lower(sub["person_id"], sub["occasion"], bands)

    def lower_at_closure(self, definition: str = "expected_score") -> pd.Series:
        """Whether each young person closed in the window was truly in a lower risk band at closure.

        "Truly" means free of measurement noise, at the latent trend (intercept
        + slope * time) at referral and at closure. Two definitions:

        * ``"expected_score"`` (``truth["people"]["truly_lower_at_closure"]``):
          the band of the *expected* total score at the trend, rater error
          integrated out;
        * ``"typical_band"``: the *median* band of an assessment at the trend,
          over everything that moves one assessment (transient state, rater
          error, which indicators are recorded), computed exactly (the score's
          distribution by convolution over the indicators, the normal errors by
          quadrature: no Monte Carlo error). This is what a cumulative-logit
          model's latent band estimates: the category its latent risk lies in
          is the median category of an assessment.

        The two differ because the score's distribution at a given risk is
        skewed, so its mean and its median can fall in different bands.
        Returns a boolean Series indexed by person_id (closed cases only).
        """
        people = self.truth["people"]
        closed = people["closed_in_window"].to_numpy(bool)
        ids = people.loc[closed, "person_id"].to_numpy()
        if definition == "expected_score":
            return pd.Series(people.loc[closed, "truly_lower_at_closure"].to_numpy(bool), index=ids,
                             name="lower_at_closure")
        if definition != "typical_band":
            raise ValueError(f"definition must be 'expected_score' or 'typical_band', not {definition!r}")
        eng = _Simulation(self.programme, np.random.default_rng([int(self.truth["seed"]), 1]), int(self.truth["seed"]))
        u = people.loc[closed, "intercept"].to_numpy()
        at_close = people.loc[closed, "latent_at_closure"].to_numpy()
        vuln = self.truth["vulnerability_effects"][closed]
        before = eng.median_band(u, np.zeros(len(u)), vuln)
        after = eng.median_band(at_close, at_close - u, vuln)
        return pd.Series(after < before, index=ids, name="lower_at_closure")

    def __repr__(self) -> str:
        people = self.truth["people"]
        closed = int(people["closed_in_window"].sum())
        p = self.programme
        return (f"<SimulatedProgramme seed={self.truth['seed']}: {p.n_hubs} hubs, {p.n_workers} workers, "
                f"{p.n_areas} areas; {len(people):,} young people, {closed:,} closed by {p.end}; "
                f"{len(self.assessments):,} risk assessments, {len(self.ladder):,} ladder ratings>")


def naive_share_lower(person: Sequence, occasion: Sequence, band: Sequence) -> float:
    """Share of young people whose band at their last assessment (by ``occasion``) is below their first.

    The seed's headline computed the usual way; give it the closed cases' assessments only.
    """
    frame = pd.DataFrame({"p": np.asarray(person), "occ": np.asarray(occasion), "band": np.asarray(band)})
    g = frame.sort_values(["p", "occ"]).groupby("p")["band"]
    return float((g.last() < g.first()).mean())


def hub_and_spoke(seed: int = 0, **overrides: Any) -> SimulatedProgramme:
    """Simulate a Hub and Spoke CSE programme with a known truth.

    Parameters
    ----------
    seed
        Seed of the ``numpy.random.Generator``; the same seed gives identical output.
    **overrides
        Any :class:`Programme` parameter (e.g. ``n_hubs=4``,
        ``dropout_risk_effect=1.0``). An unknown name raises ``TypeError``.

    Returns
    -------
    SimulatedProgramme
        ``.assessments``, ``.ladder``, ``.truth`` and ``.naive_share_lower()``.

    Examples
    --------
    >>> sim = hub_and_spoke(seed=1, n_hubs=4)
    >>> sorted(sim.assessments["service"].unique())[:2]
    ['H01', 'H02']
    """
    prog = Programme.with_overrides(**overrides)
    rng = np.random.default_rng(seed)
    return _Simulation(prog, rng, seed).run()


# ---------------------------------------------------------------------------
# internals


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _balanced_phases(workers_per_hub: np.ndarray, n_phases: int) -> np.ndarray:
    """Deal hubs to phases so that each phase gets about the same number of workers.

    Largest hubs first, each to the phase with the fewest workers so far (ties to
    the earlier phase). Without this, how many workers happen to start late
    varies by seed and so do the programme's totals.
    """
    phase = np.empty(len(workers_per_hub), dtype=np.int64)
    load = np.zeros(n_phases)
    for hub in np.argsort(-workers_per_hub, kind="stable"):
        k = int(np.argmin(load))
        phase[hub] = k
        load[k] += workers_per_hub[hub]
    return phase


def _spread_sizes(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Deal n units into k groups, each at least one, the rest at random: group of each unit."""
    groups = np.concatenate([np.arange(k), rng.integers(0, k, size=n - k)])
    return np.sort(groups)


class _Simulation:
    def __init__(self, prog: Programme, rng: np.random.Generator, seed: int) -> None:
        from cseoutcomes.instruments import get_instrument

        self.p = prog
        self.rng = rng
        self.seed = seed
        self.inst = get_instrument(_RISK)
        self.ladder_inst = get_instrument(_LADDER)
        self.start = pd.Timestamp(prog.start)
        self.end = pd.Timestamp(prog.end)
        items = list(self.inst.items)
        self.item_ids = [i.id for i in items]
        self.sections = np.array([i.section for i in items])
        self.recency_items = [i.id for i in items if i.recency is not None]
        load = {"vulnerabilities": prog.vulnerability_loading, "moderate": prog.moderate_loading,
                "significant": prog.significant_loading}
        diff = {"vulnerabilities": prog.vulnerability_difficulty, "moderate": prog.moderate_difficulty,
                "significant": prog.significant_difficulty}
        self.loading = np.array([load[s] for s in self.sections])
        offsets = np.zeros(len(items))
        for s in load:
            idx = np.flatnonzero(self.sections == s)
            offsets[idx] = np.linspace(prog.item_spread / 2, -prog.item_spread / 2, len(idx)) if len(idx) > 1 else 0
        self.difficulty = np.array([diff[s] for s in self.sections]) + offsets
        self.disclosure = self.item_ids.index("disclosure") if "disclosure" in self.item_ids else None
        if self.disclosure is not None:
            self.difficulty[self.disclosure] = prog.disclosure_difficulty
        self.vuln = self.sections == "vulnerabilities"

    # -- structure -----------------------------------------------------------------
    def structure(self) -> None:
        p, rng = self.p, self.rng
        area_hub = rng.permutation(_spread_sizes(p.n_areas, p.n_hubs, rng))
        worker_area = rng.permutation(_spread_sizes(p.n_workers, p.n_areas, rng))
        hub_of_worker = area_hub[worker_area]
        self.hubs = pd.DataFrame({
            "service": [f"H{h + 1:02d}" for h in range(p.n_hubs)],
            "phase": _balanced_phases(np.bincount(hub_of_worker, minlength=p.n_hubs), len(p.phase_starts)),
            "intercept_effect": rng.normal(0, p.hub_intercept_sd, p.n_hubs),
            "slope_effect": rng.normal(0, p.hub_slope_sd, p.n_hubs),
        })
        self.hubs["phase_start"] = [pd.Timestamp(p.phase_starts[k]) for k in self.hubs["phase"]]
        self.areas = pd.DataFrame({
            "area": [f"LA{a + 1:02d}" for a in range(p.n_areas)],
            "service": self.hubs["service"].to_numpy()[area_hub],
            "intercept_effect": rng.normal(0, p.area_intercept_sd, p.n_areas),
            "slope_effect": rng.normal(0, p.area_slope_sd, p.n_areas),
        })
        delay = rng.uniform(0, p.recruitment_months, p.n_workers)
        starts = self.hubs["phase_start"].to_numpy()[hub_of_worker] + pd.to_timedelta(delay * _DAYS_PER_MONTH, "D")
        self.workers = pd.DataFrame({
            "worker": [f"W{w + 1:02d}" for w in range(p.n_workers)],
            "service": self.hubs["service"].to_numpy()[hub_of_worker],
            "area": self.areas["area"].to_numpy()[worker_area],
            "start_date": pd.DatetimeIndex(starts).normalize(),
            "caseload_cap": rng.integers(p.caseload_min, p.caseload_max + 1, p.n_workers),
            "intercept_effect": rng.normal(0, p.worker_intercept_sd, p.n_workers),
            "slope_effect": rng.normal(0, p.worker_slope_sd, p.n_workers),
        })
        self.worker_hub, self.worker_area = hub_of_worker, worker_area

    # -- referrals offered -----------------------------------------------------------
    def referrals(self) -> pd.DataFrame:
        p, rng = self.p, self.rng
        rate = p.referrals_per_year / 12.0  # per month
        rows_w, rows_t = [], []
        for w in range(p.n_workers):
            ws = self.workers["start_date"].iloc[w]
            span = max((self.end - ws).days / _DAYS_PER_MONTH, 0.0)
            n = rng.poisson(rate * span)
            t = np.sort(rng.uniform(0, span, n))
            keep = rng.uniform(size=n) < np.minimum(1.0, t / p.ramp_months) if p.ramp_months > 0 else np.ones(n, bool)
            rows_w.append(np.full(keep.sum(), w))
            rows_t.append(t[keep])
        w = np.concatenate(rows_w).astype(int)
        t = np.concatenate(rows_t)
        dates = (self.workers["start_date"].to_numpy()[w] + pd.to_timedelta(t * _DAYS_PER_MONTH, "D"))
        dates = pd.DatetimeIndex(dates).normalize()
        n = len(w)
        hub, area = self.worker_hub[w], self.worker_area[w]
        wk = self.workers
        intercept = (p.mean_intercept + self.hubs["intercept_effect"].to_numpy()[hub]
                     + self.areas["intercept_effect"].to_numpy()[area] + wk["intercept_effect"].to_numpy()[w]
                     + rng.normal(0, p.person_intercept_sd, n))
        slope = (p.mean_slope + self.hubs["slope_effect"].to_numpy()[hub]
                 + self.areas["slope_effect"].to_numpy()[area] + wk["slope_effect"].to_numpy()[w]
                 + rng.normal(0, p.person_slope_sd, n))
        age_years = rng.choice(np.arange(11, 18), size=n, p=[0.04, 0.07, 0.13, 0.2, 0.24, 0.2, 0.12])
        return pd.DataFrame({
            "w": w, "referral_date": dates, "intercept": intercept, "slope": slope,
            "age_at_referral": age_years + rng.uniform(0, 1, n),
            "vuln_effects": list(rng.normal(0, p.vulnerability_person_sd, (n, int(self.vuln.sum())))),
            "wellbeing": rng.normal(0, p.ladder_person_sd, n),
            "ladder_domain": list(rng.normal(0, p.ladder_domain_sd, (n, len(self.ladder_inst.items)))),
        })

    # -- items ---------------------------------------------------------------------------
    def item_probabilities(self, eta: np.ndarray, trend_change: np.ndarray, vuln: np.ndarray,
                           rater: np.ndarray) -> np.ndarray:
        """P(indicator present), rows = assessments, columns = items."""
        p = self.p
        x = np.empty((len(eta), len(self.item_ids)))
        state = eta + rater
        # vulnerabilities: stable person-item effects, and only part of the change over time
        vstate = state - (1 - p.vulnerability_change_share) * trend_change
        x[:, self.vuln] = self.loading[self.vuln] * vstate[:, None] + self.difficulty[self.vuln] + vuln
        nv = ~self.vuln
        x[:, nv] = self.loading[nv] * state[:, None] + self.difficulty[nv]
        return _logistic(x)

    def answer(self, prob: np.ndarray, referral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Codes (0 no, 1 possible, 2 yes, 3 unknown) and months-ago (nan = current or not applicable)."""
        p, rng = self.p, self.rng
        n, k = prob.shape
        present = rng.uniform(size=(n, k)) < prob
        u = rng.uniform(size=(n, k))
        codes = np.where(present, np.where(u < p.p_possible_if_present, 1, 2),
                         np.where(u < p.p_possible_if_absent, 1, 0))
        p_unknown = np.where(referral, p.p_unknown_referral, p.p_unknown_review)[:, None]
        codes = np.where(rng.uniform(size=(n, k)) < p_unknown, 3, codes)
        months = np.where(rng.uniform(size=(n, k)) < p.p_current, np.nan, rng.integers(1, 13, (n, k)).astype(float))
        months[:, self.vuln] = np.nan
        months[codes != 2] = np.nan
        return codes, months

    def expected_points(self, eta, trend_change, vuln, rater_sd: float | None = None) -> np.ndarray:
        """Expected total score given the true state, integrating the rater error out (Gauss-Hermite)."""
        p = self.p
        sd = p.rater_sd if rater_sd is None else rater_sd
        nodes, weights = np.polynomial.hermite_e.hermegauss(21)
        weights = weights / weights.sum()
        full, p_full, older = self._confirmed_points()
        eff = full * p_full + older * (1 - p_full)
        total = np.zeros(len(eta))
        for z, wq in zip(nodes, weights, strict=True):
            prob = self.item_probabilities(eta, trend_change, vuln, np.full(len(eta), sd * z))
            total += wq * (prob * (1 - p.p_possible_if_present)) @ eff
        return total

    def _confirmed_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points of each confirmed indicator: ``full`` when current or 1..6 months ago (probability
        ``p_full``; recency is current with p_current, else uniform on 1..12 months), else ``older`` (a
        significant indicator keeps 1 point up to 12 months, a moderate one none; vulnerabilities are
        always current). As :meth:`score_codes` scores them."""
        p = self.p
        sig = self.sections == "significant"
        recent = p.p_current + (1 - p.p_current) * 6 / 12
        return np.where(sig, 5, 1), np.where(self.vuln, 1.0, recent), np.where(sig, 1, 0)

    def band_probabilities(self, eta: np.ndarray, trend_change: np.ndarray, vuln: np.ndarray,
                           nodes: int = 40) -> np.ndarray:
        """P(band = k) of a review assessment at latent trend ``eta``, exactly: shape (n, 4).

        Given the state (trend + transient state + rater error, whose two normal parts add to one
        normal error), indicators are independent, and each gives its points with the distribution
        that :meth:`answer` then :meth:`score_codes` give a review: confirmed ("yes", not unknown)
        with probability P(present) * (1 - p_possible_if_present) * (1 - p_unknown_review), then
        current or at most 6 months ago (full points) or older (a significant indicator keeps 1 point
        up to 12 months, a moderate one none). The total's distribution is the convolution over the
        indicators; the normal error is integrated out by Gauss-Hermite quadrature with ``nodes`` nodes.
        No Monte Carlo error, so the median band of a young person near a band boundary is stable.
        """
        p, n = self.p, len(eta)
        q_yes = (1 - p.p_possible_if_present) * (1 - p.p_unknown_review)
        full, p_full, older = self._confirmed_points()
        top = int(full.sum())
        sd = float(np.hypot(p.occasion_sd, p.rater_sd))
        z, w = np.polynomial.hermite_e.hermegauss(nodes)
        w = w / w.sum()
        cuts = np.array([6, 11, 16])  # as _bands: band k when the score is below cuts[k]
        out = np.zeros((n, len(cuts) + 1))
        for zq, wq in zip(z, w, strict=True):
            yes = q_yes * self.item_probabilities(eta, trend_change, vuln, np.full(n, sd * zq))
            dist = np.zeros((n, top + 1))
            dist[:, 0] = 1.0
            for j in range(len(self.item_ids)):
                pf, po = yes[:, j] * p_full[j], yes[:, j] * (1 - p_full[j])
                new = dist * (1 - pf - po)[:, None]
                new[:, full[j]:] += dist[:, :top + 1 - full[j]] * pf[:, None]
                new[:, older[j]:] += dist[:, :top + 1 - older[j]] * po[:, None]
                dist = new
            cdf = np.cumsum(dist, axis=1)[:, cuts - 1]  # P(score < cut)
            out += wq * np.diff(np.concatenate([np.zeros((n, 1)), cdf, np.ones((n, 1))], axis=1), axis=1)
        return out

    def median_band(self, eta: np.ndarray, trend_change: np.ndarray, vuln: np.ndarray) -> np.ndarray:
        """Median band of a review assessment at latent trend ``eta``: the first band whose cumulative
        probability (:meth:`band_probabilities`) reaches one half."""
        cum = np.cumsum(self.band_probabilities(eta, trend_change, vuln), axis=1)
        return (cum < 0.5).sum(axis=1)

    def score_codes(self, codes: np.ndarray, months: np.ndarray) -> np.ndarray:
        """The instrument's ``total`` (confirmed indicators, SERAF points) from coded answers."""
        yes = codes == 2
        m = np.nan_to_num(months, nan=0.0)
        pts = np.zeros(codes.shape)
        pts[:, self.vuln] = 1.0
        mod = self.sections == "moderate"
        pts[:, mod] = np.where(m[:, mod] <= 6, 1.0, 0.0)
        sig = self.sections == "significant"
        pts[:, sig] = np.where(m[:, sig] <= 6, 5.0, np.where(m[:, sig] <= 12, 1.0, 0.0))
        return (pts * yes).sum(axis=1)

    # -- closures --------------------------------------------------------------------------------
    def planned_closure_hazard(self, eta: np.ndarray, months: np.ndarray) -> np.ndarray:
        """Monthly hazard of a planned "risk reduced" closure at latent trend ``eta``, ``months`` after referral
        (broadcast): a logistic step down in ``eta``, nil before ``min_months_open``."""
        p = self.p
        step = _logistic((p.risk_reduced_below - np.asarray(eta, dtype=float)) / p.risk_reduced_width)
        return p.risk_reduced_max * step * (np.asarray(months) >= p.min_months_open)

    def closures(self, ref: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Months from referral to closure (inf = beyond the horizon) and reason index."""
        p, rng = self.p, self.rng
        n = len(ref)
        horizon = int(np.ceil((self.end - self.start).days / _DAYS_PER_MONTH)) + 2
        m = np.arange(horizon) + 0.5
        eta = ref["intercept"].to_numpy()[:, None] + ref["slope"].to_numpy()[:, None] * m[None, :]
        rr = self.planned_closure_hazard(eta, m)
        mult = np.exp(p.dropout_risk_effect * eta)
        rates = [rr, p.not_engaging_rate * mult, p.not_contactable_rate * mult,
                 np.full_like(eta, p.moved_away_rate), p.transferred_rate * mult]
        haz = np.stack(rates, axis=-1)  # n x horizon x reasons
        total = np.clip(haz.sum(-1), 0, 50)
        p_close = 1 - np.exp(-total)
        closes = rng.uniform(size=(n, horizon)) < p_close
        any_close = closes.any(axis=1)
        month = np.where(any_close, closes.argmax(axis=1), horizon)
        idx = np.minimum(month, horizon - 1)
        h = haz[np.arange(n), idx]
        cum = np.cumsum(h / h.sum(axis=1, keepdims=True), axis=1)
        reason = (rng.uniform(size=n)[:, None] > cum).sum(axis=1)
        reason = np.minimum(reason, len(CLOSURE_REASONS) - 1)
        t = np.where(any_close, month + rng.uniform(size=n), np.inf)
        return t, np.where(any_close, reason, -1)

    # -- run ---------------------------------------------------------------------------------------
    def run(self) -> SimulatedProgramme:
        p, rng = self.p, self.rng
        self.structure()
        ref = self.referrals()
        n = len(ref)
        # occasion-0 (referral) assessment of every referral offered: this is the screen
        e0 = rng.normal(0, p.occasion_sd, n)
        r0 = rng.normal(0, p.rater_sd, n)
        vuln0 = np.stack(ref["vuln_effects"].to_numpy()) if n else np.zeros((0, int(self.vuln.sum())))
        eta0 = ref["intercept"].to_numpy() + e0
        codes0, months0 = self.answer(self.item_probabilities(eta0, np.zeros(n), vuln0, r0), np.ones(n, bool))
        passes = self.score_codes(codes0, months0) >= p.referral_threshold
        close_t, reason = self.closures(ref)
        close_date = ref["referral_date"] + pd.to_timedelta(np.where(np.isfinite(close_t), close_t, 0)
                                                             * _DAYS_PER_MONTH, "D").round("D")
        close_date = close_date.where(np.isfinite(close_t), pd.NaT).dt.normalize()
        # a closure can't precede the referral day itself
        close_date = close_date.where(~(close_date <= ref["referral_date"]),
                                      ref["referral_date"] + pd.Timedelta(days=1))
        # caseload cap, worker by worker in time order
        accepted = np.zeros(n, bool)
        cap = self.workers["caseload_cap"].to_numpy()
        ref_days = ref["referral_date"].to_numpy()
        close_days = close_date.fillna(pd.Timestamp("2262-01-01")).to_numpy()
        worker_of = ref["w"].to_numpy()
        for w in range(p.n_workers):
            active = np.empty(0, dtype=close_days.dtype)
            for i in np.flatnonzero((worker_of == w) & passes):
                active = active[active > ref_days[i]]
                if len(active) < cap[w]:
                    accepted[i] = True
                    active = np.append(active, close_days[i])
        keep = np.flatnonzero(accepted)
        people = ref.iloc[keep].reset_index(drop=True)
        people["person_id"] = [f"YP{i + 1:04d}" for i in range(len(people))]
        reason_k = reason[keep]
        cdate = close_date.iloc[keep].reset_index(drop=True)
        closed = cdate.notna() & (cdate <= self.end)
        people["closure_date"] = cdate.where(closed)
        people["closure_reason"] = np.where(closed, np.array((*CLOSURE_REASONS, ""))[reason_k], "")
        people["eventual_closure_reason"] = np.array((*CLOSURE_REASONS, ""))[reason_k]
        people["closed_in_window"] = closed.to_numpy()
        return self.assemble(people, e0[keep], r0[keep], codes0[keep], months0[keep], vuln0[keep])

    def assemble(self, people, e0, r0, codes0, months0, vuln0) -> SimulatedProgramme:
        p, rng = self.p, self.rng
        n = len(people)
        ref_date = people["referral_date"]
        stop = people["closure_date"].fillna(self.end + pd.Timedelta(days=1))
        # review schedule: occasion k at k*review_months (jittered) while before closure and the end
        max_k = int(np.ceil((self.end - self.start).days / _DAYS_PER_MONTH / p.review_months)) + 1
        k = np.arange(1, max_k + 1)
        jitter = rng.integers(-p.review_jitter_days, p.review_jitter_days + 1, (n, max_k))
        offs = np.round(k[None, :] * p.review_months * _DAYS_PER_MONTH).astype(int) + jitter
        rdates = ref_date.to_numpy()[:, None] + offs.astype("timedelta64[D]")
        valid = (rdates < stop.to_numpy()[:, None]) & (rdates <= np.datetime64(self.end))
        pi, ki = np.nonzero(valid)
        rows = [pd.DataFrame({"pi": np.arange(n), "date": ref_date.to_numpy(), "kind": "referral"}),
                pd.DataFrame({"pi": pi, "date": rdates[pi, ki], "kind": "review"})]
        # closing assessments
        pc = np.where(people["closure_reason"] == "risk_reduced", p.p_closing_assessment_risk_reduced,
                      np.where(people["closure_reason"] == "transferred", p.p_closing_assessment_transferred, 0.0))
        closing = rng.uniform(size=n) < pc
        rows.append(pd.DataFrame({"pi": np.flatnonzero(closing),
                                  "date": people["closure_date"].to_numpy()[closing], "kind": "closing"}))
        a = pd.concat(rows, ignore_index=True)
        a["date"] = pd.to_datetime(a["date"]).dt.normalize()
        a = a.sort_values(["pi", "date", "kind"], kind="stable").reset_index(drop=True)
        # a closing assessment within 14 days of the previous one is the same review
        prev = a.groupby("pi")["date"].shift()
        a = a[~((a["kind"] == "closing") & ((a["date"] - prev).dt.days < 14))]
        a = a[~a.duplicated(["pi", "date"])].reset_index(drop=True)
        a["occasion"] = a.groupby("pi").cumcount()
        months = (a["date"] - ref_date.to_numpy()[a["pi"]]).dt.days.to_numpy() / _DAYS_PER_MONTH
        # transient AR(1) state across occasions; occasion 0 keeps the screen's draw
        m = len(a)
        occ = a["occasion"].to_numpy()
        pos = a["pi"].to_numpy()
        e = np.empty(m)
        r = rng.normal(0, p.rater_sd, m)
        z = rng.normal(0, p.occasion_sd, m)
        first = occ == 0
        e[first] = e0[pos[first]]
        r[first] = r0[pos[first]]
        innov = np.sqrt(1 - p.occasion_ar ** 2)
        for j in range(1, occ.max() + 1 if m else 0):
            idx = np.flatnonzero(occ == j)
            e[idx] = p.occasion_ar * e[idx - 1] + innov * z[idx]  # rows sorted by person then occasion
        slope = people["slope"].to_numpy()[pos]
        trend = people["intercept"].to_numpy()[pos] + slope * months
        eta = trend + e
        change = slope * months
        vuln = vuln0[pos]
        codes, mo = self.answer(self.item_probabilities(eta, change, vuln, r), first)
        codes[first], mo[first] = codes0[pos[first]], months0[pos[first]]
        if self.disclosure is not None:
            codes, mo = self._persist_disclosure(codes, mo, pos, a["date"].to_numpy())
        expected = self.expected_points(eta, change, vuln)
        # tables
        ids = self._id_columns(people, a, pos, months)
        labels = np.array(["no", "possible", "yes", "unknown"], dtype=object)
        items = {iid: labels[codes[:, j]] for j, iid in enumerate(self.item_ids)}
        recency = {f"{iid}_months_ago": pd.array(mo[:, self.item_ids.index(iid)], dtype="Int64")
                   for iid in self.recency_items}
        assessments = pd.concat([ids, pd.DataFrame(items), pd.DataFrame(recency)], axis=1)
        latent = pd.DataFrame({"person_id": ids["person_id"], "occasion": occ, "months_since_referral": months,
                               "trend": trend, "transient": e, "eta": eta, "rater_error": r,
                               "observed_score": self.score_codes(codes, mo), "expected_score": expected})
        ladder = self._ladder(people, ids, pos, eta)
        # truth: per person
        end_eta = people["intercept"] + people["slope"] * (
            (people["closure_date"] - people["referral_date"]).dt.days / _DAYS_PER_MONTH)
        lower = self._bands(self.expected_points(end_eta.to_numpy(), (end_eta - people["intercept"]).to_numpy(),
                                                 vuln0)) < self._bands(self.expected_points(
                                                     people["intercept"].to_numpy(), np.zeros(n), vuln0))
        truth_people = people[["person_id", "referral_date", "intercept", "slope", "age_at_referral", "wellbeing",
                               "closure_date", "closure_reason", "eventual_closure_reason",
                               "closed_in_window"]].copy()
        truth_people.insert(1, "worker", self.workers["worker"].to_numpy()[people["w"]])
        truth_people.insert(2, "service", self.workers["service"].to_numpy()[people["w"]])
        truth_people.insert(3, "area", self.workers["area"].to_numpy()[people["w"]])
        truth_people["latent_at_closure"] = end_eta.where(people["closed_in_window"])
        truth_people["truly_lower_at_closure"] = np.where(people["closed_in_window"], lower, False)
        truth = {
            "seed": self.seed,
            "parameters": dataclasses.asdict(self.p),
            "hubs": self.hubs, "areas": self.areas, "workers": self.workers,
            "people": truth_people, "assessment_latent": latent,
            "vulnerability_effects": vuln0,
        }
        return SimulatedProgramme(assessments, ladder, truth, self.p)

    def _bands(self, score: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.array([6.0, 11.0, 16.0]), score, side="right")

    def _persist_disclosure(self, codes, mo, pos, dates):
        d = self.disclosure
        yes = codes[:, d] == 2
        when = np.where(yes, dates - (np.nan_to_num(mo[:, d]) * _DAYS_PER_MONTH).astype("timedelta64[D]"),
                        np.datetime64("NaT", "ns"))
        s = pd.Series(when).groupby(pos).transform(lambda x: x.ffill()) if yes.any() else pd.Series(when)
        earlier = s.notna().to_numpy() & ~yes
        if earlier.any():
            since = (dates[earlier] - s.to_numpy()[earlier]).astype("timedelta64[D]").astype(float) / _DAYS_PER_MONTH
            codes[earlier, d] = 2
            mo[earlier, d] = np.where(since < 0.5, np.nan, np.round(since))
        return codes, mo

    def _id_columns(self, people, a, pos, months) -> pd.DataFrame:
        w = people["w"].to_numpy()[pos]
        cdate = people["closure_date"].to_numpy()[pos]
        return pd.DataFrame({
            "person_id": people["person_id"].to_numpy()[pos],
            "assessment_date": a["date"].dt.strftime("%Y-%m-%d").to_numpy(),
            "occasion": a["occasion"].to_numpy(),
            "rater": "worker",
            "worker": self.workers["worker"].to_numpy()[w],
            "service": self.workers["service"].to_numpy()[w],
            "area": self.workers["area"].to_numpy()[w],
            "age": np.floor(people["age_at_referral"].to_numpy()[pos] + months / 12).astype(int),
            "closure_date": pd.Series(cdate).dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
            "closure_reason": people["closure_reason"].to_numpy()[pos],
        })

    def _ladder(self, people, ids, pos, eta) -> pd.DataFrame:
        p, rng = self.p, self.rng
        m = len(ids)
        dom = np.stack(people["ladder_domain"].to_numpy())[pos] if len(people) else np.zeros((0, 8))
        base = p.ladder_centre - p.ladder_risk_loading * eta + people["wellbeing"].to_numpy()[pos]
        k = dom.shape[1]
        out = []
        for rater, sd, bias, p_miss, code in (("young_person", p.ladder_young_person_noise_sd,
                                                p.ladder_young_person_bias, p.p_ladder_declined, "declined"),
                                               ("worker", p.ladder_worker_noise_sd, 0.0, p.p_ladder_unknown,
                                                "unknown")):
            val = base[:, None] + dom + bias + rng.normal(0, sd, (m, k))
            rung = np.clip(np.rint(val), 1, 10).astype(int).astype(str).astype(object)
            rung[rng.uniform(size=(m, k)) < p_miss] = code
            t = ids.copy()
            t["rater"] = rater
            items = pd.DataFrame(rung, columns=[i.id for i in self.ladder_inst.items])
            out.append(pd.concat([t, items], axis=1))
        lad = pd.concat(out, ignore_index=True)
        lad["_r"] = (lad["rater"] == "worker").astype(int)
        lad = lad.sort_values(["person_id", "occasion", "_r"], kind="stable").drop(columns="_r")
        return lad.reset_index(drop=True)
