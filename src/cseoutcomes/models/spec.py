"""The change-model specification: what is modelled, on which columns, with which priors.

:class:`ChangeModel` is a frozen pydantic model. It names an instrument and an
outcome of that instrument; the outcome decides the family:

* a band of a score (``"total_band"``), a ladder domain or any item on an
  ordered response scale is modelled by a **cumulative-logit** (ordinal)
  regression with a threshold between every pair of adjacent *declared*
  categories, whether or not every category was observed;
* a score (``"total"``) is continuous: **Gaussian** or **Student-t** errors.

The linear predictor for assessment *i* of young person *p* at time *t* is::

    eta_i = u_p + sum_g v_g[j_g(i)]  +  (beta + sum_l w_l[k_l(i)] (+ s_p)) * t_i  +  x_i' gamma

with random intercepts ``u_p`` per young person, optional random intercepts
``v_g`` per grouping level, random slopes of time ``w_l`` per grouping level
(worker, service, area; nested or crossed), optional person slopes ``s_p`` and
covariates. Every random effect is non-centred (``w = sd * z``, ``z ~ N(0, 1)``).

Priors are written down in :class:`Priors` with their reasoning; every one can
be overridden. Priors on slopes are stated **per year**, so a model means the
same whether time is counted in months or quarters.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cseoutcomes.errors import ModelError
from cseoutcomes.instruments.schema import Instrument

__all__ = ["ChangeModel", "Dirichlet", "Dropout", "Gamma", "HalfNormal", "Normal", "Priors", "Selection"]

TIME_UNITS = {"months": 12.0, "quarters": 4.0, "years": 1.0}
"""Units of time and how many of each make a year."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Normal(_Frozen):
    """Normal(mu, sigma)."""

    mu: float = 0.0
    sigma: float = Field(1.0, gt=0)


class HalfNormal(_Frozen):
    """Half-normal(sigma) for standard deviations."""

    sigma: float = Field(1.0, gt=0)


class Gamma(_Frozen):
    """Gamma(alpha, beta) with rate beta (mean alpha / beta)."""

    alpha: float = Field(2.0, gt=0)
    beta: float = Field(0.1, gt=0)


class Dirichlet(_Frozen):
    """Induced Dirichlet prior on ordinal thresholds (Betancourt 2019).

    The thresholds are given the prior implied by a Dirichlet(alpha, ..., alpha)
    prior on the category probabilities of a young person with latent risk 0
    (the average young person at referral). It is proper for every declared
    category, so thresholds of categories nobody was observed in stay
    identified by the prior rather than running off to infinity.
    """

    alpha: float = Field(1.0, gt=0)


class Priors(_Frozen):
    """Weakly informative default priors, each with its reasoning.

    Latent scale: for ordinal outcomes the logit scale of the cumulative-logit
    model; for continuous outcomes the outcome divided by its standard deviation
    in the data (so the priors mean the same for any instrument), reported back
    in the outcome's own units.

    Attributes
    ----------
    thresholds
        Induced Dirichlet(1): every category equally likely a priori for the
        average young person at referral, which puts the thresholds where a
        flat distribution over the declared categories would.
    slope
        Normal(0, 2.5) per year. A change of 2.5 logits in a year moves a young
        person from the middle of a 4-band scale to its edge; the prior allows
        that in either direction and rules out nothing plausible.
    person_sd
        Half-normal(2.5): between-person spread of latent risk at referral. On
        the logit scale an SD of 2.5 already spans the whole of a short ordinal
        scale; for continuous outcomes 2.5 outcome SDs is far wider than needed.
    slope_sd
        Half-normal(1) per year, for the SD of time slopes between workers,
        services or areas. Differences between services of a logit a year are
        large; the prior puts most mass below that and lets the data decide.
        ``slope_sd_by`` overrides it for one level.
    intercept_sd
        Half-normal(1) for optional group intercepts (``intercepts_by``).
    person_slope_sd
        Half-normal(1) per year for optional person slopes.
    intercept
        Normal(0, 2.5) for the intercept of continuous outcomes (standardised
        scale: the mean at referral within 2.5 SDs of the data mean).
    sigma
        Half-normal(1) for the residual SD of continuous outcomes (standardised).
    nu
        Gamma(2, 0.1) for the Student-t degrees of freedom (Juárez & Steel 2010):
        mean 20, allowing heavy tails without forcing them.
    covariates
        Normal(0, 2.5) per standard deviation of each covariate (dummy columns:
        per unit), the default of Gelman et al. (2008) for logistic regression.
    closure_rate
        Normal(-1, 1) for each closure reason's log hazard per year at the
        average latent risk over the observation window (joint drop-out model,
        :class:`Dropout`): a median of one closure for that reason every 2.7
        years per young person, from one every 20 years to 2.7 a year within
        two SDs.
    closure_effect
        Normal(0, 0.5) for each reason's log hazard ratio per latent unit: a
        hazard ratio per logit between 0.37 and 2.7 within two SDs, either
        direction, none assumed. Chosen by a prior predictive check on the
        default programme (400 draws): with Normal(-1, 2) and Normal(0, 1), 30%
        of prior draws had most cases closing within a week of referral and 15%
        spread closure times over more than three orders of magnitude, which no
        service does; with these priors, 2% and 3%.
    closure_trend
        Normal(0, 1) per year for each reason's change in log hazard per year
        since referral (``Dropout(time_trend=True)`` only): within two SDs the
        hazard changes by a factor between 0.14 and 7.4 a year, either way.
    measurement
        Normal(0, 1) on the latent scale per unit of each measurement covariate
        (``ChangeModel.measurement_covariates``): within two SDs, a referral
        assessment (or one more unanswered indicator) reads up to 2 logits
        higher or lower than an assessment of the same latent risk at the
        reference, about one band of a four-band scale (for scores: 2 outcome
        SDs); none assumed.
    """

    thresholds: Dirichlet = Dirichlet()
    slope: Normal = Normal(mu=0.0, sigma=2.5)
    person_sd: HalfNormal = HalfNormal(sigma=2.5)
    slope_sd: HalfNormal = HalfNormal(sigma=1.0)
    slope_sd_by: dict[str, HalfNormal] = Field(default_factory=dict)
    intercept_sd: HalfNormal = HalfNormal(sigma=1.0)
    person_slope_sd: HalfNormal = HalfNormal(sigma=1.0)
    intercept: Normal = Normal(mu=0.0, sigma=2.5)
    sigma: HalfNormal = HalfNormal(sigma=1.0)
    nu: Gamma = Gamma(alpha=2.0, beta=0.1)
    covariates: Normal = Normal(mu=0.0, sigma=2.5)
    closure_rate: Normal = Normal(mu=-1.0, sigma=1.0)
    closure_effect: Normal = Normal(mu=0.0, sigma=0.5)
    closure_trend: Normal = Normal(mu=0.0, sigma=1.0)
    measurement: Normal = Normal(mu=0.0, sigma=1.0)

    def for_slope(self, level: str) -> HalfNormal:
        return self.slope_sd_by.get(level, self.slope_sd)


class Selection(_Frozen):
    """Referral selection: a case enters the data only when its first (referral) assessment reaches a threshold.

    Young people are taken on when their *observed* risk is high, so the referral
    assessment is biased upwards and part of any later fall is regression to the
    mean, not change. With a selection, referrals are modelled as coming from a
    population with normal intercepts and taken on when their observed referral
    assessment passes; the likelihood of those taken on is divided by the
    probability of passing over that population, which removes the bias from
    the estimated change (docs/models.md, "Referral selection").

    Attributes
    ----------
    at_least
        Ordinal outcomes: the lowest category that passes (a band code such as
        ``"moderate"``). Continuous outcomes: the lowest score that passes.
    """

    at_least: str | float


class Dropout(_Frozen):
    """Shared-parameter (joint) drop-out model: when and why a case closes depends on the latent risk.

    A case ends for one of several reasons (risk reduced, not engaging, not
    contactable, moved away, transferred). Each reason *r* has a hazard, in
    continuous time since referral, that depends on the young person's latent
    trajectory ``eta_i(t)`` (the same one the assessments measure)::

        h_r(t) = exp(a_r + b_r * (eta_i(t) - c))

    so a case that closes as "risk reduced" soon after referral is evidence that
    the young person's risk fell fast, and an unplanned ending is evidence about
    risk at the time (Rizopoulos 2012, *Joint Models for Longitudinal and
    Time-to-Event Data*, ch. 4; Henderson, Diggle & Dobson 2000). ``c`` is
    the average latent risk over the observation window (the mean of ``eta_i``
    half way from referral to the end of observation; closure times do not
    enter it), so ``a_r`` is the log rate at the average risk; this centring, like brms's centred intercepts, keeps ``a_r``
    and ``b_r`` nearly uncorrelated (it cut sampling time by 60%). Because
    ``eta_i(t)`` is linear in time, the cumulative hazard has a closed form, so
    the joint likelihood costs one exponential per young person and reason.
    Cases still open are censored at ``observation_end``. Without a drop-out
    model (``dropout=None``) closure is assumed ignorable (missing at random).

    Attributes
    ----------
    observation_end
        Date the data were extracted (``YYYY-MM-DD``): cases still open are
        followed until then. Default: the latest assessment or closure date in
        the table. Only for dates; with numeric time give ``followup``.
    followup
        With numeric time: the column holding, for each young person, the time
        from referral to the end of observation (the same on every row of a
        person, in the time column's units). Open cases are censored there, and
        the hazard's centre uses it, so neither depends on when cases closed.
        Without it, open cases are followed until their last assessment and the
        window of a closed case ends at its closure: a ``ModelWarning`` says the
        centre then depends on the closures.
    reasons
        The closure reasons, each with its own hazard. Default: those in the
        data. Declaring them keeps a reason nobody closed for in the model (with
        a low estimated rate) and makes an undeclared reason in the data an
        error, which simulation studies and SBC need (every replication has
        the same parameters).
    time_trend
        Let each reason's log hazard change linearly with time since referral
        as well (``+ g_r * (t - m)``, ``m`` the average mid-point of the
        observation windows; prior ``Priors.closure_trend``), so that closures
        which cluster late (planned endings after a year's work) or early
        (disengagement soon after referral) are not read as a change in risk.
        The cumulative hazard keeps its closed form.
    baseline_knots
        Times since referral (in the model's ``time_unit``) at which each
        reason's baseline hazard may change: the baseline is constant between
        knots, a piecewise-exponential baseline (Rizopoulos 2012, section 4.1.1;
        the JM package's ``"piecewise-PH"``), so that a service which closes no
        case as "risk reduced" before a first review, or whose planned endings
        cluster after a year, is not read as a change in risk. Each reason has
        one rate per period (``closure_rate`` for the first, from referral to the
        first knot; ``closure_period_rate`` for the later ones), each with the
        prior ``Priors.closure_rate``. A period with few closures for a reason
        is informed mostly by that prior, which pulls a rate near nil up
        towards a closure every few years (e.g. 2 closures in 125 person-years
        give a posterior of about 0.035 a year where the data alone say 0.016).
        Within a period the cumulative hazard keeps its closed form. Empty
        (the default): one rate per reason.
    """

    observation_end: str | None = None
    followup: str | None = None
    reasons: tuple[str, ...] | None = None
    time_trend: bool = False
    baseline_knots: tuple[float, ...] = ()

    @model_validator(mode="after")
    def _check_end(self) -> Dropout:
        knots = self.baseline_knots
        if any(not math.isfinite(k) or k <= 0 for k in knots) or any(b <= a for a, b in itertools.pairwise(knots)):
            raise ValueError(f"baseline_knots {knots} must be positive, finite and increasing "
                             "(times since referral in the model's time unit, e.g. (0.25, 1.0) in years)")
        if self.observation_end is not None:
            import pandas as pd

            try:
                pd.Timestamp(self.observation_end)
            except (TypeError, ValueError):
                raise ValueError(f"observation_end {self.observation_end!r} is not a date (use YYYY-MM-DD)") from None
        return self


DEFAULT_GROUPS = {"worker": "worker", "service": "service", "area": "area"}


class ChangeModel(_Frozen):
    """Specification of a change model; :meth:`fit` it to an assessment table.

    Parameters
    ----------
    instrument
        Instrument id (``"cse-risk-indicators"``, ``"id@1.0.0"``) or an
        :class:`~cseoutcomes.Instrument` (kept inside saved fits, so a fit of
        a user's own instrument reads back without it being registered).
    outcome
        ``"<score>_band"`` (ordinal bands of a score), a score id (continuous),
        or an item id (ordinal over the item's declared categories; ladder
        domains are items).
    family
        ``"auto"`` (ordinal for bands and items, Gaussian for scores),
        ``"ordinal"``, ``"gaussian"`` or ``"student_t"``.
    person
        Column identifying the young person.
    time
        Column of assessment dates (time is then counted from each young
        person's first assessment, the referral) or of numbers already counted
        since referral in ``time_unit``.
    time_unit
        ``"months"`` (default), ``"quarters"`` or ``"years"``.
    groups
        Grouping level name -> column (default worker, service and area).
        Levels whose column is absent from the data are an error; pass
        ``groups={}`` for none.
    slopes_by
        Levels with random slopes of time (default: every level in ``groups``).
    intercepts_by
        Levels with random intercepts besides the young person (default none).
    nested
        Child level -> parent level, e.g. ``{"worker": "service"}``: the child's
        labels are only unique within the parent. Levels not named are crossed.
    person_slopes
        Give each young person a random slope of time as well.
    covariates
        Further columns: numbers (centred and scaled internally) or categories
        (one indicator per category but the first).
    measurement_covariates
        Columns of numbers (or true/false) that change how an assessment
        *measures* the latent outcome, not the outcome itself: whether it is
        the referral assessment (made when less is known, so more indicators
        are "unknown" and score nothing), how many indicators were unanswered,
        who rated. Each shifts the observed outcome by ``gamma * value`` on
        the latent scale (prior ``Priors.measurement``); every estimand
        (change, latent bands, the share at lower risk, drop-out hazards) is
        about the latent outcome measured at value 0, so a referral flag
        (1 at referral, 0 at reviews) puts referral on the reviews' footing.
        Not centred: 0 is the reference. See docs/models.md, "Measurement
        covariates".
    closure
        Column whose non-blank value marks a case closed in the window (used by
        :meth:`ChangeFit.proportion_lower_risk`); its values are the closure reasons.
    closure_date
        Column with the date a case closed (or time since referral, if ``time``
        is numeric); used to place closure on the time axis for drop-out
        sensitivity analyses (:meth:`ChangeFit.tipping_point`). Optional.
    planned_closures
        Closure reasons that are planned endings (default ``risk_reduced``);
        every other reason (not engaging, not contactable, moved away,
        transferred) is an unplanned ending, whose unobserved risk at closure a
        sensitivity analysis may shift.
    selection
        :class:`Selection`: cases were taken on only when their referral
        assessment reached a threshold (regression to the mean is then modelled).
    dropout
        :class:`Dropout`: model each closure reason's hazard as depending on the
        latent risk (a shared-parameter joint model). Needs the ``closure`` and
        ``closure_date`` columns. Default ``None``: closure is ignorable
        (missing at random given the assessments).
    direction
        ``"higher_is_worse"`` or ``"higher_is_better"``. Default: from the
        instrument's score (``change.direction``); needed for items no score
        with a direction uses.
    priors
        :class:`Priors`.

    Examples
    --------
    >>> import cseoutcomes as co
    >>> m = co.ChangeModel(instrument="cse-risk-indicators", outcome="total_band")
    >>> m.family_resolved, m.categories
    ('ordinal', ('not_at_risk', 'mild', 'moderate', 'significant'))
    """

    instrument: str | Instrument
    outcome: str
    family: Literal["auto", "ordinal", "gaussian", "student_t"] = "auto"
    person: str = "person_id"
    time: str = "assessment_date"
    time_unit: Literal["months", "quarters", "years"] = "months"
    groups: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_GROUPS))
    slopes_by: tuple[str, ...] | None = None
    intercepts_by: tuple[str, ...] = ()
    nested: dict[str, str] = Field(default_factory=dict)
    person_slopes: bool = False
    covariates: tuple[str, ...] = ()
    measurement_covariates: tuple[str, ...] = ()
    closure: str | None = "closure_reason"
    closure_date: str | None = "closure_date"
    planned_closures: tuple[str, ...] = ("risk_reduced",)
    direction: Literal["higher_is_worse", "higher_is_better"] | None = None
    selection: Selection | None = None
    dropout: Dropout | None = None
    priors: Priors = Priors()

    @model_validator(mode="after")
    def _check(self) -> ChangeModel:
        problems = []
        levels = set(self.groups)
        reserved = {"person", "occasion", "category", "cutpoint", "chain", "draw", "covariate"}
        for level in levels & reserved:
            problems.append(f"groups: level name {level!r} is reserved; call it something else")
        for name, field in (("slopes_by", self.slopes_by or ()), ("intercepts_by", self.intercepts_by)):
            for level in field:
                if level not in levels:
                    problems.append(f"{name}: {level!r} is not a level in groups ({sorted(levels)})")
        for child, parent in self.nested.items():
            if child not in levels or parent not in levels:
                problems.append(f"nested: {child!r} -> {parent!r} must both be levels in groups ({sorted(levels)})")
            elif child == parent:
                problems.append(f"nested: {child!r} cannot be nested in itself")
        if self.dropout is not None and not (self.closure and self.closure_date):
            problems.append("dropout: a joint drop-out model needs closure= and closure_date= columns")
        for c in sorted(set(self.covariates) & set(self.measurement_covariates)):
            problems.append(f"measurement_covariates: {c!r} is also in covariates; a column either changes the "
                            "outcome (covariates) or how it is measured (measurement_covariates), not both")
        if len(set(self.measurement_covariates)) < len(self.measurement_covariates):
            problems.append("measurement_covariates: a column is named twice")
        for level in self.priors.slope_sd_by:
            if level not in self.slope_levels:
                problems.append(f"priors.slope_sd_by: {level!r} has no random slope")
        if problems:
            raise ValueError("; ".join(problems))
        self._resolve()  # unknown instrument, outcome or family fails here
        return self

    # ------------------------------------------------------------------ derived

    @property
    def slope_levels(self) -> tuple[str, ...]:
        return tuple(self.groups) if self.slopes_by is None else tuple(self.slopes_by)

    def get_instrument(self) -> Instrument:
        if isinstance(self.instrument, Instrument):
            return self.instrument
        from cseoutcomes.instruments import get_instrument

        return get_instrument(self.instrument)

    def _resolve(self) -> dict[str, Any]:
        """Work out what the outcome is: kind, family, categories, direction."""
        inst = self.get_instrument()
        name = self.outcome
        score_ids = [s.id for s in inst.scores]
        item_ids = [i.id for i in inst.items]
        info: dict[str, Any] = {"instrument": inst}
        if name.endswith("_band") and name[: -len("_band")] in score_ids:
            s = inst.get_score(name[: -len("_band")])
            if not s.bands:
                raise ModelError(f"score {s.id!r} of {inst.key} has no bands", where="outcome",
                                 hint=f"model the score itself: outcome={s.id!r}")
            info.update(kind="band", score=s, categories=tuple(b.code for b in s.bands),
                        labels=tuple(b.label for b in s.bands))
            direction = s.change.direction if s.change else None
        elif name in score_ids:
            s = inst.get_score(name)
            info.update(kind="score", score=s, categories=())
            direction = s.change.direction if s.change else None
        elif name in item_ids:
            item = inst.get_item(name)
            scale = inst.scale_of(item)
            if scale.type == "nominal":
                raise ModelError(f"item {name!r} is on a nominal scale, which has no order to model change on",
                                 where="outcome", hint="choose an ordered item, a band or a score")
            cats = tuple(c.code for c in scale.categories)
            info.update(kind="item", item=item, scale=scale, categories=cats,
                        labels=tuple(c.label or c.code for c in scale.categories))
            direction = None
            for s in inst.scores:
                if s.change and any(i.id == name for i in inst.score_items(s)):
                    direction = s.change.direction
                    if item.reverse:
                        direction = "higher_is_better" if direction == "higher_is_worse" else "higher_is_worse"
                    break
        else:
            bands = [f"{s.id}_band" for s in inst.scores if s.bands]
            raise ModelError(f"{name!r} is not a score, band or item of {inst.key}", where="outcome",
                             hint=f"choose one of the scores {score_ids}, bands {bands} or an item id")
        family = self.family
        if family == "auto":
            family = "gaussian" if info["kind"] == "score" else "ordinal"
        if info["kind"] == "score" and family == "ordinal":
            raise ModelError(f"{name!r} is a continuous score; an ordinal model needs ordered categories",
                             where="family", hint=f"use outcome={name + '_band'!r} or family='gaussian'")
        if info["kind"] != "score" and family != "ordinal":
            raise ModelError(f"{name!r} is ordinal; family {family!r} would treat its categories as equally spaced numbers",
                             where="family", hint="use family='ordinal' (or 'auto'), or model a score")
        direction = self.direction or direction
        if direction is None:
            raise ModelError(f"no score of {inst.key} says whether higher {name!r} is better or worse",
                             where="direction", hint="pass direction='higher_is_worse' or 'higher_is_better'")
        info.update(family=family, direction=direction, selection_index=None)
        if self.selection is not None:
            bound = self.selection.at_least
            if family == "ordinal":
                codes = [str(c).casefold() for c in info["categories"]]
                if not isinstance(bound, str) or bound.casefold() not in codes:
                    raise ModelError(f"selection threshold {bound!r} is not a category of {name!r} ({codes})",
                                     where="selection.at_least", hint="give the lowest band that passed the screen")
                index = codes.index(bound.casefold())
                if index == 0:
                    raise ModelError("selection at the lowest category selects everyone", where="selection.at_least",
                                     hint="drop selection=, or give the lowest band that passed the screen")
                info["selection_index"] = index
            elif family == "student_t":
                raise ModelError("referral selection is implemented for ordinal and Gaussian outcomes",
                                 where="selection", hint="use family='gaussian' or an ordinal outcome")
            else:
                try:
                    info["selection_index"] = float(bound)
                except (TypeError, ValueError):
                    raise ModelError(f"selection threshold {bound!r} is not a number", where="selection.at_least",
                                     hint="give the lowest score that passed the screen") from None
        return info

    @property
    def family_resolved(self) -> str:
        return self._resolve()["family"]

    @property
    def categories(self) -> tuple[str, ...]:
        return self._resolve()["categories"]

    @property
    def direction_resolved(self) -> str:
        return self._resolve()["direction"]

    def describe(self) -> str:
        """The model as a one-line formula, lme4 style."""
        terms = ["time", "(1 | person)"]
        if self.person_slopes:
            terms[-1] = "(1 + time || person)"
        terms += [f"(1 | {g})" for g in self.intercepts_by]
        terms += [f"(0 + time | {g})" for g in self.slope_levels]
        terms += list(self.covariates)
        fam = {"ordinal": "cumulative logit", "gaussian": "Gaussian", "student_t": "Student-t"}[self.family_resolved]
        sel = f"; referral selected at >= {self.selection.at_least}" if self.selection else ""
        if self.dropout is not None:
            sel += "; joint drop-out: closure hazard by reason ~ latent risk" + (
                " + time" if self.dropout.time_trend else "") + (
                f", baseline steps at {', '.join(f'{k:g}' for k in self.dropout.baseline_knots)} {self.time_unit}"
                if self.dropout.baseline_knots else "")
        if self.measurement_covariates:
            sel += f"; measurement shifted by {', '.join(self.measurement_covariates)}"
        return f"{self.outcome} ~ {' + '.join(terms)}  [{fam}; time in {self.time_unit}{sel}]"

    def with_referral_flag(self, data, column: str = "referral"):
        """``data`` with a 0/1 column that is 1 on each young person's referral assessment.

        The referral assessment is a young person's earliest (by the model's
        ``time`` column; the first listed where two tie), the same one the
        referral screen (``selection=``) applies to. Use the column as a
        measurement covariate when referral assessments read differently from
        reviews (e.g. more "unknown" answers at referral; docs/models.md,
        "Measurement covariates")::

            model = ChangeModel(..., measurement_covariates=("referral",))
            fit = model.fit(model.with_referral_flag(data))

        ``data`` itself is not changed. A column already called ``column`` is an
        error, not overwritten.

        Examples
        --------
        >>> import pandas as pd, cseoutcomes as co
        >>> m = co.ChangeModel(instrument="cse-risk-indicators", outcome="total_band", groups={})
        >>> t = pd.DataFrame({"person_id": ["a", "a", "b"], "assessment_date": ["2024-03-01", "2024-01-05", "2024-02-01"]})
        >>> m.with_referral_flag(t)["referral"].tolist()
        [0, 1, 1]
        """
        from cseoutcomes.models.design import with_referral_flag

        return with_referral_flag(self, data, column)

    # ------------------------------------------------------------------ fitting

    def fit(self, data, *, backend: Literal["pymc", "statsmodels"] = "pymc", sampler: str | None = None,
            draws: int = 1000, tune: int | None = None, chains: int = 2, cores: int | None = None,
            seed: int | None = None, progress: bool = True, target_ess: float | None = None,
            max_draws: int = 8000, **sampler_kwargs):
        """Fit the model to an assessment table.

        Parameters
        ----------
        data
            One row per assessment: the instrument's item columns (or the
            outcome column itself, e.g. ``total_band`` as scored), the person,
            time, group and covariate columns.
        backend
            ``"pymc"`` (full Bayes, default) or ``"statsmodels"`` (REML
            ``MixedLM``; continuous outcomes only).
        sampler
            ``"nutpie"`` (default when installed), ``"pymc"``, ``"numpyro"``
            or ``"blackjax"`` (the last two need the ``jax`` extra).
        draws, tune, chains, cores
            Draws kept and tuning steps per chain; chains; processes. ``tune``
            defaults to the sampler's own default: 300 for nutpie (its
            adaptation is built for short warm-ups), 1000 for the others.
        seed
            Seed for the sampler; the same seed gives the same draws.
        progress
            Show a progress bar while sampling.
        target_ess
            If given, keep sampling (doubling the draws, up to ``max_draws``)
            until every hyper-parameter has R-hat <= 1.01 and bulk ESS >=
            ``target_ess``.
        **sampler_kwargs
            Passed to the sampler.

        Returns
        -------
        ChangeFit
        """
        from cseoutcomes.models.design import build_design

        design = build_design(self, data)
        if backend == "pymc":
            from cseoutcomes.models._pymc import fit_pymc

            return fit_pymc(self, design, sampler=sampler, draws=draws, tune=tune, chains=chains, cores=cores,
                            seed=seed, progress=progress, target_ess=target_ess, max_draws=max_draws,
                            **sampler_kwargs)
        if backend == "statsmodels":
            from cseoutcomes.models._statsmodels import fit_mixedlm

            if sampler_kwargs or sampler is not None:
                raise ModelError("the statsmodels backend has no sampler", where="sampler",
                                 hint="drop sampler= and sampler options, or use backend='pymc'")
            return fit_mixedlm(self, design)
        raise ModelError(f"unknown backend {backend!r}", where="backend", hint="use 'pymc' or 'statsmodels'")
