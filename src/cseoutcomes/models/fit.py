"""A fitted change model and the estimands people ask for.

:class:`ChangeFit` keeps the ArviZ ``DataTree`` of a Bayesian fit (posterior,
sample statistics, log-likelihood, observed and constant data, with named
dimensions ``person``, ``occasion``, ``cutpoint``/``category``, ``worker``,
``service``, ``area``) and answers from it. Everything it needs is inside the
tree, so a fit saved with :meth:`ChangeFit.save` and read back with
:func:`load_fit` answers the same questions without the data.

Scales
------
*latent*: the logit scale of the cumulative-logit model (ordinal outcomes), or
the outcome divided by its SD in the data (continuous outcomes).
*outcome*: the expected category position (0 = first declared category) for
ordinal outcomes; the outcome's own units for continuous outcomes.
"""

from __future__ import annotations

import html
import itertools
import json
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cseoutcomes.errors import ConvergenceWarning, DataError, ModelError
from cseoutcomes.models import _numeric as num
from cseoutcomes.models.design import Design, Group, covariate_matrix, first_and_last

if TYPE_CHECKING:
    import xarray as xr

    from cseoutcomes.models.spec import ChangeModel

__all__ = ["ChangeFit", "load_fit"]

RHAT_MAX = 1.01
ESS_MIN = 400.0


def _flat(da) -> np.ndarray:
    """(chain, draw, ...) DataArray -> (S, ...) array."""
    arr = np.asarray(da)
    return arr.reshape((-1, *arr.shape[2:]))


def convergence_table(posterior: xr.Dataset, names: list[str]) -> pd.DataFrame:
    """R-hat (rank-normalised, split) and bulk/tail ESS for each element of ``names``."""
    import arviz_stats as azs

    present = [n for n in names if n in posterior]
    ds = posterior[present]
    rhat = azs.rhat(ds)
    bulk = azs.ess(ds, method="bulk")
    tail = azs.ess(ds, method="tail")
    rows = []
    for n in present:
        r, b, t = (np.asarray(x[n]).reshape(-1) for x in (rhat, bulk, tail))
        labels = element_labels(n, ds[n])
        for i, lab in enumerate(labels):
            rows.append({"parameter": lab, "r_hat": float(r[i]), "ess_bulk": float(b[i]), "ess_tail": float(t[i])})
    return pd.DataFrame(rows).set_index("parameter")


def element_labels(name: str, values: xr.DataArray) -> list[str]:
    """One label per element of a (chain, draw, ...) variable, in C order: ``name``, ``name[a]``, ``name[a, b]``."""
    coords = [values.coords[dim].values if dim in values.coords else range(values.sizes[dim])
              for dim in values.dims[2:]]
    if not coords:
        return [name]
    return [f"{name}[{', '.join(str(c) for c in cs)}]" for cs in itertools.product(*coords)]


def _interval(draws: np.ndarray, prob: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    lo = (1 - prob) / 2
    return np.quantile(draws, lo, axis=axis), np.quantile(draws, 1 - lo, axis=axis)


def _summarise(draws: np.ndarray, prob: float) -> dict[str, Any]:
    lo, hi = _interval(draws, prob)
    return {"mean": draws.mean(axis=0), "sd": draws.std(axis=0, ddof=1) if len(draws) > 1 else np.nan,
            "lower": lo, "upper": hi}


class ChangeFit:
    """A fitted :class:`ChangeModel` (PyMC backend).

    Attributes
    ----------
    idata
        The ArviZ ``DataTree``: groups ``posterior``, ``sample_stats``,
        ``log_likelihood``, ``observed_data``, ``constant_data``. The
        pointwise log-likelihood (for LOO) is computed on first use.
    model
        The :class:`ChangeModel` that was fitted.
    excluded
        Rows of the data left out of the model and why (spreadsheet rows only).
    """

    def __init__(self, idata, model: ChangeModel, design: Design, meta: dict[str, Any]):
        self._tree = idata
        self._loglik_pending = False
        self.model = model
        self._design = design
        self.meta = meta
        self._draw_cache: dict[str, np.ndarray] = {}
        self._param_cache: dict[str, np.ndarray] | None = None
        self._closure_cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # --------------------------------------------------------------- building

    @classmethod
    def _from_sampling(cls, spec: ChangeModel, design: Design, dt, *, sampler: str, seconds: float, draws: int,
                       tune: int) -> ChangeFit:
        import xarray as xr

        from cseoutcomes import __version__

        post = dt["posterior"].to_dataset()
        post = post.drop_vars([v for v in post.data_vars if str(v).startswith("z_")])
        if post.sizes.get("person", 0) > len(design.person_labels):  # padding of a reused compiled model
            post = post.isel(person=slice(0, len(design.person_labels)))
        # coordinates from the design, whatever the sampler named them
        coords = {"person": design.person_labels.astype(str)}
        for level, g in design.groups.items():
            if level in post.dims:
                coords[level] = g.labels.astype(str)
        post = post.assign_coords({k: v for k, v in coords.items() if k in post.dims})
        stats = _normalise_stats(dt["sample_stats"].to_dataset())
        meta = {
            "cseoutcomes_version": __version__, "sampler": sampler, "seconds": round(seconds, 3),
            "draws": int(draws), "tune": int(tune), "chains": int(post.sizes["chain"]),
            "family": design.family, "kind": design.kind, "direction": design.direction,
            "categories": list(design.categories), "category_labels": list(design.labels),
            "y_center": design.y_center, "y_scale": design.y_scale, "t_per_year": design.t_per_year,
            "x_names": list(design.x_names), "x_center": design.x_center.tolist(),
            "x_scale": design.x_scale.tolist(), "covariate_levels": design.covariate_levels,
            "excluded_rows": design.excluded["spreadsheet_row"].astype(int).tolist(),
            "excluded_reason": design.excluded["reason"].astype(str).tolist(),
            "selection": design.selection,
        }
        fit = cls(None, spec, design, meta)
        fit._posterior = post
        occ = np.arange(design.n)
        observed = xr.Dataset({"y": (("occasion",), design.y)}, coords={"occasion": occ})
        const = {"row": (("occasion",), np.asarray(design.rows).astype(str)),
                 "time": (("occasion",), design.t), "occasion_number": (("occasion",), design.occasion),
                 "person_index": (("occasion",), design.person)}
        for level, g in design.groups.items():
            const[f"{level}_index"] = (("occasion",), g.index)
            const[f"{level}_label"] = ((f"{level}_all",), g.labels.astype(str))
            const[f"{level}_n_people"] = ((f"{level}_all",), g.n_people)
            const[f"{level}_n_rows"] = ((f"{level}_all",), g.n_rows)
        const["person_label"] = (("person",), design.person_labels.astype(str))
        if design.selected is not None:
            const["selected"] = (("occasion",), design.selected)
        if design.person_closure_time is not None:
            const["closure_time"] = (("person",), design.person_closure_time)
        if design.person_closure_reason is not None:
            const["closure_reason"] = (("person",), design.person_closure_reason.astype(str))
        if design.person_closed is not None:
            const["person_closed"] = (("person",), design.person_closed)
        if design.person_event is not None:
            const["followup"] = (("person",), design.person_followup)
            const["censor"] = (("person",), design.person_censor)
            const["closure_event"] = (("person",), design.person_event)
            const["closure_reason_label"] = (("closure_reason",), np.asarray(design.closure_reasons, dtype=str))
        if design.X.shape[1]:
            const["X"] = (("occasion", "covariate"), design.X)
        if design.M is not None and design.M.shape[1]:
            const["M"] = (("occasion", "measurement_covariate"), design.M)
        if design.categories:
            const["category_label"] = (("category",), np.asarray(design.labels, dtype=str))
        constant = xr.Dataset(const, coords={"occasion": occ, **({"category": list(design.categories)}
                                                                  if design.categories else {}),
                                              **({"covariate": list(design.x_names)} if design.X.shape[1] else {}),
                                              **({"measurement_covariate": list(design.m_names)}
                                                 if design.m_names else {})})
        tree = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats,
                                      "observed_data": observed, "constant_data": constant})
        tree.attrs.update({"model": spec.model_dump_json(), "meta": json.dumps(meta)})
        fit._tree = tree
        fit._loglik_pending = True  # 0.5 s for 1,000 draws of 3,700 assessments: only when LOO or a file needs it
        fit._warn_if_not_converged()
        return fit

    @property
    def idata(self):
        """The ArviZ ``DataTree`` (see the class docstring)."""
        if self._loglik_pending:
            self._loglik_pending = False
            self._tree = self._with_loglik(self._tree)
        return self._tree

    @idata.setter
    def idata(self, tree) -> None:
        self._tree = tree
        self._loglik_pending = False

    def _with_loglik(self, tree):
        """``tree`` with the ``log_likelihood`` group (pointwise, per assessment) after ``sample_stats``."""
        import xarray as xr

        post = self._posterior
        ll = self._loglik()
        loglik = xr.Dataset({"y": (("chain", "draw", "occasion"),
                                   ll.reshape(post.sizes["chain"], post.sizes["draw"], -1))},
                            coords={"chain": post["chain"], "draw": post["draw"], "occasion": np.arange(self._design.n)})
        groups = {name: tree[name].to_dataset() for name in tree.children}
        groups["log_likelihood"] = loglik
        order = ["posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data"]
        out = xr.DataTree.from_dict({k: groups[k] for k in [*order, *(g for g in groups if g not in order)]
                                     if k in groups})
        out.attrs.update(tree.attrs)
        return out

    @classmethod
    def from_datatree(cls, tree) -> ChangeFit:
        """Rebuild a fit from its ``DataTree`` (as written by :meth:`save`)."""
        from cseoutcomes.models.spec import ChangeModel

        try:
            spec = ChangeModel.model_validate_json(tree.attrs["model"])
            meta = json.loads(tree.attrs["meta"])
        except KeyError:
            raise ModelError("this file is not a cseoutcomes fit (no model description in its attributes)",
                             hint="write fits with ChangeFit.save or `cseoutcomes fit --out`") from None
        c = tree["constant_data"].to_dataset()
        groups = {}
        for level in spec.groups:
            groups[level] = Group(np.asarray(c[f"{level}_index"]), np.asarray(c[f"{level}_label"]).astype(object),
                                  np.asarray(c[f"{level}_n_people"]), np.asarray(c[f"{level}_n_rows"]))
        X = np.asarray(c["X"]) if "X" in c else np.zeros((c.sizes["occasion"], 0))
        design = Design(
            family=meta["family"], kind=meta["kind"], categories=tuple(meta["categories"]),
            labels=tuple(meta["category_labels"]), direction=meta["direction"],
            y=np.asarray(tree["observed_data"]["y"]), t=np.asarray(c["time"]), t_per_year=meta["t_per_year"],
            person=np.asarray(c["person_index"]), person_labels=np.asarray(c["person_label"]).astype(object),
            groups=groups, X=X, x_names=tuple(meta["x_names"]), x_center=np.asarray(meta["x_center"]),
            x_scale=np.asarray(meta["x_scale"]), rows=np.asarray(c["row"]),
            occasion=np.asarray(c["occasion_number"]),
            person_closed=np.asarray(c["person_closed"]).astype(bool) if "person_closed" in c else None,
            excluded=pd.DataFrame({"spreadsheet_row": meta["excluded_rows"], "reason": meta["excluded_reason"]}),
            y_center=meta["y_center"], y_scale=meta["y_scale"], covariate_levels=meta.get("covariate_levels", {}),
            selection=meta.get("selection"),
            selected=np.asarray(c["selected"]).astype(bool) if "selected" in c else None,
            person_closure_time=np.asarray(c["closure_time"]) if "closure_time" in c else None,
            person_closure_reason=np.asarray(c["closure_reason"]).astype(object) if "closure_reason" in c else None,
            closure_reasons=tuple(str(r) for r in np.asarray(c["closure_reason_label"])) if "followup" in c else (),
            person_followup=np.asarray(c["followup"]) if "followup" in c else None,
            person_event=np.asarray(c["closure_event"]).astype(np.int64) if "followup" in c else None,
            person_censor=np.asarray(c["censor"]) if "followup" in c else None,
            closure_knots=tuple(spec.dropout.baseline_knots) if spec.dropout is not None else (),
            M=np.asarray(c["M"]) if "M" in c else None, m_names=tuple(spec.measurement_covariates),
        )
        fit = cls(tree, spec, design, meta)
        fit._posterior = tree["posterior"].to_dataset()
        return fit

    def save(self, path) -> None:
        """Write the fit to a netCDF file (read it back with :func:`load_fit`)."""
        try:
            self.idata.to_netcdf(path, engine="h5netcdf")
        except OSError as exc:
            raise DataError(f"cannot write {path}: {exc.strerror or exc}", where=str(path),
                            hint="choose a folder you can write to") from None

    # --------------------------------------------------------------- access

    @property
    def excluded(self) -> pd.DataFrame:
        return self._design.excluded.copy()

    @property
    def posterior(self) -> xr.Dataset:
        return self._posterior

    def _draws(self, name: str) -> np.ndarray:
        if name not in self._draw_cache:
            self._draw_cache[name] = _flat(self._posterior[name])
        return self._draw_cache[name]

    def _params(self) -> dict[str, np.ndarray]:
        if self._param_cache is None:
            self._param_cache = {str(n): self._draws(str(n)) for n in self._posterior.data_vars
                                 if not str(n).startswith("z_")}
        return self._param_cache

    def _chunks(self, size: int = 256):
        """Parameter draws in blocks, so (draws x assessments) arrays stay small whatever the run length."""
        params = self._params()
        total = len(params["slope"])
        for start in range(0, total, size):
            sl = slice(start, start + size)
            yield sl, {k: v[sl] for k, v in params.items()}

    @property
    def n_draws(self) -> int:
        return int(self._posterior.sizes["chain"] * self._posterior.sizes["draw"])

    def _eta(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Linear predictor (draws x rows) for the given rows (all rows: use _chunks for long runs)."""
        return num.linear_predictor(self._params(), self._design, rows=rows)

    def _loglik(self) -> np.ndarray:
        from scipy import stats

        d = self._design
        out = np.empty((len(self._params()["slope"]), d.n))
        sel = d.selected if d.selection is not None else None
        for sl, p in self._chunks():
            eta = num.measured_predictor(p, d)
            if d.family == "ordinal":
                out[sl] = num.ordinal_logp(d.y, eta, p["cutpoints"])
            elif d.family == "student_t":
                out[sl] = stats.t.logpdf(d.y_std[None, :], df=p["nu"][:, None], loc=eta, scale=p["sigma"][:, None])
            else:
                out[sl] = stats.norm.logpdf(d.y_std[None, :], loc=eta, scale=p["sigma"][:, None])
            if sel is not None:  # divided by P(pass the referral screen) (see ChangeModel.selection)
                out[sl, sel] -= self._selection_log_pass(p, eta[:, sel])
        return out

    def _selection_log_pass(self, p: dict[str, np.ndarray], eta_referral: np.ndarray) -> np.ndarray:
        """log P(pass the screen) at each referral row, (S, n_referrals), as in the PyMC graph."""
        d = self._design
        offset = eta_referral - p["person_intercept"][:, d.person[d.selected]]
        if d.family == "ordinal":
            threshold = p["cutpoints"][:, int(d.selection) - 1]
            if num.selection_is_one_number(self.model, d):
                one = num.selection_log_pass(offset[:, :1], p["person_sd"], threshold, "ordinal", nodes=64)
                return np.broadcast_to(one, offset.shape)
            return num.selection_log_pass(offset, p["person_sd"], threshold, "ordinal")
        threshold = (float(d.selection) - d.y_center) / d.y_scale
        return num.selection_log_pass(offset, p["person_sd"], np.full(len(offset), threshold), "gaussian",
                                      sigma=p["sigma"])

    def _improve_sign(self) -> float:
        """-1 when a fall in the outcome is an improvement (risk), +1 when a rise is."""
        return -1.0 if self._design.direction == "higher_is_worse" else 1.0


    # --------------------------------------------------------------- estimands

    def change(self, prob: float = 0.9) -> pd.DataFrame:
        """Average change per unit of time (and per year), latent and outcome scale.

        ``latent``: the fixed slope of time. ``outcome``: the average, over the
        observed assessments, of the change in the expected outcome that one
        more unit of time brings at each assessment's own slope (expected
        category position for ordinal outcomes; outcome units otherwise).
        ``p_improved``: posterior probability that the change is an improvement
        (a fall for risk measures, a rise for wellbeing measures).
        """
        d = self._design
        slope = self._draws("slope")
        sign = self._improve_sign()
        if d.family == "ordinal":
            outcome = np.empty(len(slope))
            for sl, p in self._chunks():
                eta = num.linear_predictor(p, d)
                after = eta + num.row_slopes(p, d)
                outcome[sl] = (num.ordinal_expected(after, p["cutpoints"])
                               - num.ordinal_expected(eta, p["cutpoints"])).mean(axis=1)
        else:
            outcome = slope * d.y_scale
        rows = []
        unit = self.model.time_unit[:-1]
        for scale, draws in (("latent", slope), ("outcome", outcome)):
            for per, factor in dict.fromkeys(((unit, 1.0), ("year", d.t_per_year))):
                s = _summarise(draws * factor, prob)
                rows.append({"scale": scale, "per": per, **{k: float(v) for k, v in s.items()},
                             "p_improved": float(np.mean(sign * draws > 0))})
        out = pd.DataFrame(rows).set_index(["scale", "per"])
        out.attrs["interval"] = f"{prob:.0%} equal-tailed"
        return out

    def _person_change(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each person's first and last assessment: latent change (S, P), first, last rows, counts, eta there."""
        first, last, counts = first_and_last(self._design)
        eta_first, eta_last = self._eta(first), self._eta(last)
        return eta_last - eta_first, first, last, counts, eta_first, eta_last

    def prob_improved(self, prob: float = 0.9) -> pd.DataFrame:
        """Each young person's posterior probability that their latent risk fell (or wellbeing rose).

        Compares the latent outcome at their last assessment with that at their
        first (referral). Without ``person_slopes`` everyone in the same groups
        shares a slope, so these probabilities differ between young people only
        through their time in the service and their groups. Young people with a
        single assessment get NaN: nothing was observed to change.
        """
        d = self._design
        delta, first, last, counts, _, _ = self._person_change()
        sign = self._improve_sign()
        p = np.mean(sign * delta > 0, axis=0)
        p = np.where(counts > 1, p, np.nan)
        lo, hi = _interval(delta, prob)
        out = pd.DataFrame({
            "n_assessments": counts, "time_observed": d.t[last] - d.t[first],
            "closed": d.person_closed if d.person_closed is not None else np.nan,
            "prob_improved": p, "change_mean": delta.mean(axis=0), "change_lower": lo, "change_upper": hi,
        }, index=pd.Index(d.person_labels, name=self.model.person))
        out.attrs["scale"] = "latent"
        return out

    def proportion_lower_risk(self, at: str = "closure", prob: float = 0.9, seed: int | None = 0) -> pd.DataFrame:
        """Share of cases at lower risk (improved), the usual way and modelled.

        Parameters
        ----------
        at
            ``"closure"``: cases closed in the window (needs the ``closure``
            column), compared at their last assessment with referral.
            ``"last"``: every case at its latest assessment.

        Returns
        -------
        DataFrame with rows
            ``naive``: the share computed the usual way from the observed outcome
            (last category or score better than at referral);
            ``replicated``: the posterior predictive distribution of that same
            statistic (new measurements of the same young people), whose
            interval shows how much the naive figure moves by measurement noise
            alone; ``latent``: the quantity the naive figure is meant to
            estimate, free of that noise. For ordinal outcomes, the share whose
            *latent band* (the category their latent risk lies in: the number of
            thresholds below it) is better at closure than at referral; for
            continuous outcomes, the share whose latent outcome improved.
        """
        d = self._design
        if at not in ("closure", "last"):
            raise ModelError(f"at={at!r} is not understood", where="at", hint="use 'closure' or 'last'")
        _, first, last, _, eta_first, eta_last = self._person_change()
        if at == "closure":
            if d.person_closed is None:
                raise ModelError(f"the data had no closure column {self.model.closure!r}", where="closure",
                                 hint="pass closure='<column>' to ChangeModel, or use at='last'")
            who = d.person_closed
        else:
            who = np.ones(len(d.person_labels), bool)
        if not who.any():
            raise ModelError("no case is closed in the data", where="at", hint="use at='last'")
        sign = self._improve_sign()
        yf, yl = d.y[first[who]], d.y[last[who]]
        naive = float(np.mean(sign * (yl - yf) > 0))
        latent = _latent_share(eta_first[:, who], eta_last[:, who], self._params().get("cutpoints"), sign)
        rng = np.random.default_rng(seed)
        params = self._params()  # new measurements made as these were (measurement covariates included)
        rf = self._replicate(eta_first[:, who] + num.measurement_shift(params, d, rows=first[who]), rng)
        rl = self._replicate(eta_last[:, who] + num.measurement_shift(params, d, rows=last[who]), rng)
        replicated = np.mean(sign * (rl - rf) > 0, axis=1)
        rows = [{"estimate": "naive", "mean": naive, "sd": np.nan, "lower": np.nan, "upper": np.nan}]
        for name, draws in (("replicated", replicated), ("latent", latent)):
            rows.append({"estimate": name, **{k: float(v) for k, v in _summarise(draws, prob).items()}})
        out = pd.DataFrame(rows).set_index("estimate")
        out["n_cases"] = int(who.sum())
        out.attrs["interval"] = f"{prob:.0%} equal-tailed"
        return out

    def _closure_shift(self, delta: float | dict[str, float]) -> tuple[np.ndarray, str]:
        """Per closed young person: the MNAR shift (latent units, worse > 0) and the assumption in words."""
        d = self._design
        reasons = d.person_closure_reason
        planned = set(self.model.planned_closures)
        if isinstance(delta, dict):
            unknown = sorted(set(delta) - set(reasons) - {""})
            if unknown:
                raise ModelError(f"closure reasons {unknown} are not in the data", where="delta",
                                 hint=f"use reasons from {sorted(set(reasons) - {''})}")
            shift = np.array([float(delta.get(r, 0.0)) for r in reasons])
            named = {r: v for r, v in delta.items() if v}
        else:
            shift = np.array([0.0 if (r in planned or r == "") else float(delta) for r in reasons])
            named = {r: float(delta) for r in sorted(set(reasons) - planned - {""})} if delta else {}
        joint = self.model.dropout is not None
        if not named:
            words = ("missing at random: risk at an unplanned closure follows the modelled trajectory "
                     "(as for planned closures)")
            if joint:
                words = ("shared-parameter drop-out: when and why cases close depends on latent risk (each reason's "
                         "hazard log-linear in it), and risk at closure follows the trajectory so informed")
        else:
            words = ("not at random: risk at closure is worse than the modelled trajectory by "
                     + ", ".join(f"{v:+g} ({r})" for r, v in named.items()) + " latent units")
            if joint:
                words += " (trajectory from the shared-parameter drop-out model)"
        return shift, words

    def _at_referral_and_closure(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Closed cases with a closure date; latent at referral and at closure (MAR extrapolation). Computed once."""
        if self._closure_cache is None:
            d = self._design
            if d.person_closure_time is None or d.person_closure_reason is None:
                raise ModelError("the fit has no closure dates", where="closure_date",
                                 hint="fit with closure= and closure_date= columns (closure reason and date)")
            who = d.person_closed & ~np.isnan(d.person_closure_time)
            if not who.any():
                raise ModelError("no closed case has a closure date", where="closure_date")
            first, last, _ = first_and_last(d)
            params = self._params()
            eta_first = num.linear_predictor(params, d, rows=first[who])
            eta_last = num.linear_predictor(params, d, rows=last[who])
            gap = np.maximum(d.person_closure_time[who] - d.t[last[who]], 0.0)
            eta_close = eta_last + num.row_slopes(params, d, rows=last[who]) * gap[None, :]
            self._closure_cache = (who, eta_first, eta_close)
        return self._closure_cache

    def share_lower_at_closure(self, delta: float | dict[str, float] = 0.0, prob: float = 0.9) -> pd.DataFrame:
        """Share of closed cases in a lower latent band at closure than at referral, under a drop-out assumption.

        Young people whose case closed for an unplanned reason (every reason not
        in ``model.planned_closures``) were often not assessed at closure; their
        risk at the closure date is the model's extrapolation of their trajectory
        (missing at random, ``delta=0``) or that plus ``delta`` latent units in
        the worse direction (a pattern-mixture assumption that unplanned endings
        hide worse outcomes). ``delta`` is one number for every unplanned reason,
        or a dict by reason. The result says in words which assumption it rests on
        (``attrs["assumption"]`` and the ``assumption`` column).
        """
        d = self._design
        who, eta_first, eta_close = self._at_referral_and_closure()
        shift, words = self._closure_shift(delta)
        sign = self._improve_sign()
        eta_close = eta_close - sign * shift[who][None, :]  # worse: up for risk, down for wellbeing
        share = _latent_share(eta_first, eta_close, self._params().get("cutpoints"), sign)
        out = pd.DataFrame([{**{k: float(v) for k, v in _summarise(share, prob).items()},
                             "n_cases": int(who.sum()),
                             "n_unplanned": int(np.sum(who & ~np.isin(d.person_closure_reason,
                                                                        list(self.model.planned_closures)))),
                             "assumption": words}], index=pd.Index(["latent"], name="estimate"))
        out.attrs.update({"interval": f"{prob:.0%} equal-tailed", "assumption": words})
        return out

    def closure_hazards(self, prob: float = 0.9) -> pd.DataFrame:
        """What the joint drop-out model learnt: each closure reason's rate and its dependence on latent risk.

        One row per reason: closures per year at the average latent risk over
        the observation window (``rate_per_year``),
        and the hazard ratio per latent unit of *worse* outcome
        (``hazard_ratio_worse``: above 1, cases with worse outcomes close for this
        reason more often), each with its ``prob`` interval, the number of
        closures and a sentence in words. With ``Dropout(time_trend=True)``
        also the hazard ratio per year since referral (``hazard_ratio_per_year``,
        ``trend_lower``, ``trend_upper``). With ``Dropout(baseline_knots=...)``
        one row per reason and period since referral (index ``reason``,
        ``period``, e.g. ``"3-12 months"``): the rate and the closures are the
        period's, the hazard ratio is shared. Needs ``dropout=Dropout()``.
        """
        d = self._design
        if self.model.dropout is None or d.person_event is None:
            raise ModelError("this fit has no drop-out model", where="dropout",
                             hint="fit ChangeModel(..., dropout=Dropout()) to model when and why cases close")
        knots = self.model.dropout.baseline_knots
        if knots:
            from cseoutcomes.models._numeric import closure_period, closure_period_rates

            rates = closure_period_rates(self._draws("closure_rate"), self._draws("closure_period_rate"))
            edges = [f"{k:g}" for k in (0.0, *knots)]
            names = [f"{a}-{b} {self.model.time_unit}" for a, b in itertools.pairwise(edges)] + [
                f"{edges[-1]}+ {self.model.time_unit}"]
            ended = closure_period(np.where(d.person_event >= 0, d.person_followup, np.inf), knots)
            parts = [self._hazard_rows(np.exp(rates[..., j]) * d.t_per_year, prob,
                                       np.where(ended == j, d.person_event, -1)).assign(period=name)
                     for j, name in enumerate(names)]
            out = pd.concat(parts).reset_index().set_index(["reason", "period"])
            out = out.loc[[(r, name) for r in d.closure_reasons for name in names]]
            out.attrs.update({"interval": f"{prob:.0%} equal-tailed",
                              "scale": "hazard ratio per latent unit of worse outcome; rate at the average "
                                       "latent risk in each period since referral"})
            return out
        return self._hazard_rows(np.exp(self._draws("closure_rate")) * d.t_per_year, prob, d.person_event)

    def _hazard_rows(self, rate: np.ndarray, prob: float, event: np.ndarray) -> pd.DataFrame:
        """closure_hazards' table for one set of rates (draws x reasons), counting the closures in ``event``."""
        d = self._design
        hr = np.exp(-self._improve_sign() * self._draws("closure_effect"))  # per latent unit worse
        trend = np.exp(self._draws("closure_trend") * d.t_per_year) if self.model.dropout.time_trend else None
        rows = []
        for k, reason in enumerate(d.closure_reasons):
            r = _summarise(rate[:, k], prob)
            h = _summarise(hr[:, k], prob)
            p_more = float(np.mean(hr[:, k] > 1))
            if h["lower"] > 1:
                words = "closes more often when the outcome is worse"
            elif h["upper"] < 1:
                words = "closes more often when the outcome is better"
            else:
                words = "no clear dependence on the outcome"
            rows.append({"reason": reason, "n_closures": int(np.sum(event == k)),
                         "rate_per_year": float(r["mean"]), "rate_lower": float(r["lower"]),
                         "rate_upper": float(r["upper"]), "hazard_ratio_worse": float(np.median(hr[:, k])),
                         "hr_lower": float(h["lower"]), "hr_upper": float(h["upper"]),
                         "prob_hr_above_1": p_more, "in_words": words})
            if trend is not None:
                tr = _summarise(trend[:, k], prob)
                rows[-1] |= {"hazard_ratio_per_year": float(np.median(trend[:, k])),
                             "trend_lower": float(tr["lower"]), "trend_upper": float(tr["upper"])}
        out = pd.DataFrame(rows).set_index("reason")
        out.attrs.update({"interval": f"{prob:.0%} equal-tailed",
                          "scale": "hazard ratio per latent unit of worse outcome; rate at the average latent risk"})
        return out

    def tipping_point(self, threshold: float = 0.5, deltas=None, prob: float = 0.9) -> pd.DataFrame:
        """How much worse unplanned closures must be before "most closed cases were at lower risk" fails.

        The conclusion tested: the share of closed cases at lower risk at closure
        exceeds ``threshold``, with the lower end of its ``prob`` interval above
        it. ``deltas`` (latent units, worse) default to 0, 0.1, ..., 4. Returns
        the share at each delta; ``attrs["tipping_delta"]`` is the smallest
        delta at which the conclusion no longer holds (0 if it does not hold even
        under missing at random; NaN if it holds over the whole grid) and
        ``attrs["statement"]`` says it in words.
        """
        grid = np.round(np.arange(0.0, 4.0001, 0.1), 10) if deltas is None else np.asarray(deltas, dtype=float)
        if grid.ndim != 1 or not len(grid) or np.any(grid < 0) or np.any(np.diff(grid) <= 0):
            raise ModelError("deltas must be increasing numbers, 0 or more", where="deltas")
        rows = [self.share_lower_at_closure(delta=float(g), prob=prob).iloc[0].to_dict() | {"delta": float(g)}
                for g in grid]
        table = pd.DataFrame(rows).set_index("delta")
        holds = table["lower"] > threshold
        if not holds.iloc[0]:
            tip, statement = 0.0, (f"Even if unplanned closures follow the modelled trajectory (missing at random), "
                                   f"the share at lower risk is not clearly above {threshold:.0%}.")
        elif holds.all():
            tip, statement = float("nan"), (f"The share at lower risk stays above {threshold:.0%} even if risk at "
                                            f"every unplanned closure is {grid[-1]:g} latent units worse than modelled.")
        else:
            tip = float(table.index[np.argmin(holds.to_numpy())])
            statement = (f"The share at lower risk stays above {threshold:.0%} unless risk at unplanned closures is "
                         f"at least {tip:g} latent units worse than the modelled trajectory.")
        table.attrs.update({"tipping_delta": tip, "statement": statement, "threshold": threshold,
                            "interval": f"{prob:.0%} equal-tailed"})
        return table

    def regression_to_the_mean(self, prob: float = 0.9) -> pd.DataFrame:
        """How much of the naive pre-post change is regression to the mean.

        Over young people with at least two assessments, on the outcome scale
        (category positions, or outcome units):

        * ``naive``: the observed change from the referral assessment to the
          last, averaged (what a pre-post comparison reports);
        * ``modelled``: the change in the *expected* outcome between the same
          two times, which is free of the selection at referral when the model
          has a :class:`~cseoutcomes.models.Selection`;
        * ``measurement`` (with ``measurement_covariates`` only): the part of the
          naive change that is how the two assessments were made, not the
          young person (e.g. a referral assessment with more "unknown" answers
          reads lower): the expected change as measured minus ``modelled``;
        * ``regression_to_the_mean``: naive minus modelled (minus ``measurement``);
        * ``share_of_naive``: that as a share of the naive change.

        Without a selection the model already separates part of the noise at
        referral (each young person's level is shrunk towards the others), but it
        takes the referral assessment as an unselected measurement; with
        ``selection=`` the screen itself is modelled and the estimate is larger.
        ``attrs["assumption"]`` says which.
        """
        d = self._design
        _, first, last, counts, eta_first, eta_last = self._person_change()
        two = counts > 1
        if not two.any():
            raise ModelError("no young person has two assessments", hint="a change needs a second assessment")
        naive = float(np.mean(d.y[last[two]].astype(float) - d.y[first[two]].astype(float)))
        params = self._params()
        shift_f = num.measurement_shift(params, d, rows=first[two])
        shift_l = num.measurement_shift(params, d, rows=last[two])

        def expected_change(shift_first, shift_last) -> np.ndarray:
            if d.family == "ordinal":
                cut = self._draws("cutpoints")
                exp_f = num.ordinal_expected(eta_first[:, two] + shift_first, cut)
                exp_l = num.ordinal_expected(eta_last[:, two] + shift_last, cut)
                return (exp_l - exp_f).mean(axis=1)
            return d.y_scale * ((eta_last[:, two] + shift_last) - (eta_first[:, two] + shift_first)).mean(axis=1)

        modelled = expected_change(0.0, 0.0)
        parts = [("modelled", modelled)]
        rtm = naive - modelled
        if d.m_names:
            measurement = expected_change(shift_f, shift_l) - modelled
            parts.append(("measurement", measurement))
            rtm = rtm - measurement
        rows = [{"estimate": "naive", "mean": naive, "sd": np.nan, "lower": np.nan, "upper": np.nan}]
        for name, draws in (*parts, ("regression_to_the_mean", rtm),
                            ("share_of_naive", rtm / naive if naive else np.full_like(rtm, np.nan))):
            rows.append({"estimate": name, **{k: float(v) for k, v in _summarise(draws, prob).items()}})
        out = pd.DataFrame(rows).set_index("estimate")
        out["n_people"] = int(two.sum())
        out.attrs["interval"] = f"{prob:.0%} equal-tailed"
        out.attrs["assumption"] = ("referral selected at >= " + str(self.model.selection.at_least)
                                   if self.model.selection else "referral assessment taken at face value (no selection)")
        return out

    def _replicate(self, eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        d = self._design
        if d.family == "ordinal":
            return num.ordinal_sample(eta, self._draws("cutpoints")[:, None, :], rng)
        sigma = self._draws("sigma")[:, None]
        noise = rng.standard_t(self._draws("nu")[:, None], size=eta.shape) if d.family == "student_t" else \
            rng.standard_normal(eta.shape)
        return eta + sigma * noise

    def by_group(self, level: str, prob: float = 0.9) -> pd.DataFrame:
        """Partially pooled estimates per group of ``level`` (worker, service, area, ...).

        Columns: ``n_people``, ``n_assessments``; ``slope_*`` the group's slope
        of time (average slope plus the group's deviation; latent units per
        time unit); ``deviation_*`` the deviation alone; ``p_better`` the
        probability the group's slope is better than average; and the same for
        intercepts where the model has them. Sorted by ``slope_mean`` for a
        caterpillar plot; ``slope_sd`` against ``n_people`` makes a funnel plot.
        """
        d = self._design
        if level not in d.groups:
            raise ModelError(f"{level!r} is not a grouping level of this model", where="level",
                             hint=f"use one of {list(d.groups)}")
        g = d.groups[level]
        out = pd.DataFrame({"n_people": g.n_people, "n_assessments": g.n_rows},
                           index=pd.Index(g.labels.astype(str), name=level))
        sign = self._improve_sign()
        if f"slope_{level}" in self._posterior:
            dev = self._draws(f"slope_{level}")
            total = dev + self._draws("slope")[:, None]
            for prefix, arr in (("slope", total), ("deviation", dev)):
                s = _summarise(arr, prob)
                for k, v in s.items():
                    out[f"{prefix}_{k}"] = v
            out["p_better"] = np.mean(sign * dev > 0, axis=0)
        if f"intercept_{level}" in self._posterior:
            s = _summarise(self._draws(f"intercept_{level}"), prob)
            for k, v in s.items():
                out[f"intercept_{k}"] = v
        if out.shape[1] == 2:
            raise ModelError(f"the model has no random effects for {level!r}", where="level",
                             hint="add it to slopes_by or intercepts_by")
        out.attrs["interval"] = f"{prob:.0%} equal-tailed"
        return out.sort_values(out.columns[2])

    def predict(self, new_data: pd.DataFrame, *, seed: int | None = None, kind: str = "summary",
                prob: float = 0.9) -> pd.DataFrame | np.ndarray:
        """Predict outcomes for new assessments, with random effects and new groups.

        ``new_data`` needs the person, time and group columns (and covariates).
        Young people and groups seen in the fit keep their estimated effects;
        new ones get effects drawn from the fitted population distribution, one
        per posterior draw. Time is a number since referral in the model's unit,
        or dates (counted from each young person's first row in ``new_data``).
        A prediction is for an assessment made at the reference of any
        measurement covariates (each 0; with a referral flag, a review).

        ``kind="summary"``: a DataFrame per row (ordinal: probability of each
        category and the expected category position; continuous: expected value)
        with an interval of the predicted outcome. ``kind="draws"``: an array
        (draws, rows) of predicted outcomes (category positions or values).
        The same ``seed`` gives the same result.
        """
        from cseoutcomes.models.design import prediction_rows

        d = self._design
        spec = self.model
        if kind not in ("summary", "draws"):
            raise ModelError(f"kind={kind!r} is not understood", where="kind", hint="use 'summary' or 'draws'")
        person_text, t, group_text = prediction_rows(spec, new_data)
        rng = np.random.default_rng(seed)
        S = self.n_draws
        n = len(new_data)
        params = self._params()

        def effects(name: str, sd_name: str, labels: np.ndarray, text: np.ndarray) -> np.ndarray:
            known = {str(v): i for i, v in enumerate(labels)}
            out = np.zeros((S, len(text)))
            fitted = self._draws(name)
            new_labels = sorted({v for v in text if v not in known})
            new_draws = {v: rng.standard_normal(S) * self._draws(sd_name) for v in new_labels}
            for j, v in enumerate(text):
                out[:, j] = fitted[:, known[v]] if v in known else new_draws[v]
            return out

        eta = effects("person_intercept", "person_sd", d.person_labels, person_text)
        slope = np.repeat(params["slope"][:, None], n, axis=1)
        if spec.person_slopes:
            slope += effects("person_slope", "person_slope_sd", d.person_labels, person_text)
        for lvl in spec.slope_levels:
            slope += effects(f"slope_{lvl}", f"slope_sd_{lvl}", d.groups[lvl].labels, group_text[lvl])
        for lvl in spec.intercepts_by:
            eta += effects(f"intercept_{lvl}", f"intercept_sd_{lvl}", d.groups[lvl].labels, group_text[lvl])
        eta += slope * t[None, :]
        if d.x_names:
            X = covariate_matrix(self.model, d, new_data)
            eta += params["beta"] @ X.T
        if "intercept" in params:
            eta += params["intercept"][:, None]
        y = self._replicate(eta, rng)
        if d.family != "ordinal":
            y = d.y_center + d.y_scale * y
        if kind == "draws":
            return y
        out = pd.DataFrame(index=new_data.index)
        if d.family == "ordinal":
            probs = num.ordinal_probabilities(eta, self._draws("cutpoints")[:, None, :]).mean(axis=0)
            for k, cat in enumerate(d.categories):
                out[f"p_{cat}"] = probs[:, k]
            out["expected"] = probs @ np.arange(d.n_categories, dtype=float)
        else:
            out["expected"] = (d.y_center + d.y_scale * eta).mean(axis=0)
        lo, hi = _interval(y, prob)
        out["lower"], out["upper"] = lo, hi
        out.attrs["interval"] = f"{prob:.0%} equal-tailed predictive interval"
        return out

    # --------------------------------------------------------------- checking

    def _hyper(self) -> list[str]:
        from cseoutcomes.models._pymc import hyper_names

        return hyper_names(self.model, self._design.family)

    def diagnostics(self, *, warn: bool = True) -> pd.DataFrame:
        """R-hat, bulk and tail ESS of every hyper-parameter, and the sampler's divergences and tree depth.

        The thresholds are R-hat <= 1.01 and bulk and tail ESS >= 400 (Vehtari
        et al. 2021), no divergent transitions, and no transition at the
        maximum tree depth. A :class:`ConvergenceWarning` names every failure.
        ``attrs`` holds ``divergences``, ``max_treedepth_hits`` and ``ok``.
        """
        table = convergence_table(self._posterior, self._hyper())
        table["ok"] = (table["r_hat"] <= RHAT_MAX) & (table["ess_bulk"] >= ESS_MIN) & (table["ess_tail"] >= ESS_MIN)
        stats = self._tree["sample_stats"].to_dataset()
        div = int(np.asarray(stats["diverging"]).sum()) if "diverging" in stats else 0
        hits = int(np.asarray(stats["reached_max_treedepth"]).sum()) if "reached_max_treedepth" in stats else 0
        table.attrs.update({"divergences": div, "max_treedepth_hits": hits,
                            "draws": self.n_draws, "ok": bool(table["ok"].all() and div == 0 and hits == 0)})
        if warn:
            problems = self._problems(table)
            if problems:
                hint = "run longer with draws=/tune=, or target_ess=400"
                if table.attrs["divergences"]:
                    hint += "; for divergences, smaller steps: target_accept=0.95"
                warnings.warn("the fit failed convergence checks: " + "; ".join(problems) +
                              f" ({hint}; see fit.diagnostics())", ConvergenceWarning, stacklevel=2)
        return table

    @staticmethod
    def _problems(table: pd.DataFrame) -> list[str]:
        out = []
        bad_r = table.index[table["r_hat"] > RHAT_MAX].tolist()
        if bad_r:
            out.append(f"R-hat > {RHAT_MAX} for {', '.join(bad_r)}")
        bad_e = table.index[(table["ess_bulk"] < ESS_MIN) | (table["ess_tail"] < ESS_MIN)].tolist()
        if bad_e:
            out.append(f"ESS < {ESS_MIN:.0f} for {', '.join(bad_e)}")
        if table.attrs.get("divergences"):
            out.append(f"{table.attrs['divergences']} divergent transitions")
        if table.attrs.get("max_treedepth_hits"):
            out.append(f"{table.attrs['max_treedepth_hits']} transitions at the maximum tree depth")
        return out

    def _warn_if_not_converged(self) -> None:
        self.diagnostics(warn=True)

    def summary(self, prob: float = 0.9) -> pd.DataFrame:
        """Posterior of every hyper-parameter: mean, sd, equal-tailed interval, R-hat and ESS.

        Slopes are per unit of time (``model.time_unit``) on the latent scale.
        """
        names = [n for n in self._hyper() if n in self._posterior]
        rows = []
        for n in names:
            arr = self._draws(n)
            arr = arr.reshape(len(arr), -1)  # one row per element (reason, or reason and period)
            labels = element_labels(n, self._posterior[n])
            s = _summarise(arr, prob)
            for i, lab in enumerate(labels):
                rows.append({"parameter": lab, **{k: float(v[i]) for k, v in s.items()}})
        out = pd.DataFrame(rows).set_index("parameter")
        diag = convergence_table(self._posterior, names)
        out = out.join(diag[["r_hat", "ess_bulk", "ess_tail"]])
        out.attrs["interval"] = f"{prob:.0%} equal-tailed"
        return out

    def compare(self, *others: ChangeFit, names: list[str] | None = None) -> pd.DataFrame:
        """Compare this fit with others on the same rows by PSIS-LOO (arviz-stats ``compare``)."""
        import arviz_stats as azs

        fits = [self, *others]
        if len(fits) < 2:
            raise ModelError("compare needs at least one other fit", hint="fit.compare(other_fit)")
        for f in others:
            if not isinstance(f, ChangeFit):
                raise ModelError(f"cannot compare with {type(f).__name__} (no log-likelihood)",
                                 hint="compare fits from backend='pymc'")
            if (self._design.family == "ordinal") != (f._design.family == "ordinal"):
                raise ModelError("cannot compare a discrete (ordinal) with a continuous likelihood by LOO",
                                 hint="compare models of the same outcome")
            same_rows = f._design.n == self._design.n and np.array_equal(
                np.asarray(f._design.rows).astype(str), np.asarray(self._design.rows).astype(str))
            if not same_rows or not np.allclose(f._design.y, self._design.y):
                raise ModelError("LOO compares models of the same outcome on the same rows; these fits differ",
                                 hint="fit both models to the same table and outcome")
        names = list(names) if names else [f.model.describe().split("  [")[0] for f in fits]
        if len(names) != len(fits):
            raise ModelError(f"{len(names)} names for {len(fits)} fits", where="names")
        if len(set(names)) < len(names):
            names = [f"{i}: {n}" for i, n in enumerate(names)]
        trees = {}
        for name, f in zip(names, fits, strict=True):
            t = f.idata
            if f._design.family != "ordinal" and f._design.y_scale != 1.0:
                # put continuous log densities on the outcome's own scale, so the Jacobian is the same for all fits
                t = t.copy()
                t["log_likelihood"] = t["log_likelihood"].to_dataset() - np.log(f._design.y_scale)
            trees[name] = t
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            table = azs.compare(trees)
        messages = sorted({str(w.message).splitlines()[0] for w in caught})
        if messages:
            warnings.warn("LOO: " + " | ".join(messages), ConvergenceWarning, stacklevel=2)
        return table

    def loo(self):
        """PSIS-LOO of this fit (arviz-stats ``ELPDData``)."""
        import arviz_stats as azs

        return azs.loo(self.idata)

    # --------------------------------------------------------------- display

    def _headline(self) -> list[str]:
        d = self._design
        m = self.meta
        lines = [self.model.describe(),
                 f"{d.n:,} assessments of {len(d.person_labels):,} young people; "
                 + ", ".join(f"{len(g.labels)} {lvl}" for lvl, g in d.groups.items()),
                 f"{m['sampler']}: {m['chains']} chains x {m['draws']} draws after {m['tune']} tuning; "
                 f"{m['seconds']:.1f} s"]
        if len(d.excluded):
            lines.append(f"{len(d.excluded)} assessments left out (no outcome): see fit.excluded")
        return lines

    def __repr__(self) -> str:
        ch = self.change()
        lat = ch.loc[("latent", "year")]
        out = ["<ChangeFit " + self._headline()[0] + ">"] + ["  " + s for s in self._headline()[1:]]
        out.append(f"  change per year (latent): {lat['mean']:.3f} [{lat['lower']:.3f}, {lat['upper']:.3f}] "
                   f"({ch.attrs['interval']}); P(improved) = {lat['p_improved']:.3f}")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        diag = self.diagnostics(warn=False)
        status = "all checks passed" if diag.attrs["ok"] else "; ".join(self._problems(diag))
        colour = "#1b7837" if diag.attrs["ok"] else "#b2182b"
        parts = [f"<div><strong>ChangeFit</strong> <code>{html.escape(self._headline()[0])}</code><br>",
                 "<br>".join(html.escape(s) for s in self._headline()[1:]),
                 f"<br><span style='color:{colour}'>Convergence: {html.escape(status)}</span>",
                 "<h4>Change</h4>", self.change().to_html(float_format=lambda v: f"{v:.3f}"),
                 "<h4>Population parameters</h4>", self.summary().to_html(float_format=lambda v: f"{v:.3f}")]
        if self._design.person_closed is not None and self._design.person_closed.any():
            parts += ["<h4>Closed cases at lower risk</h4>",
                      self.proportion_lower_risk().to_html(float_format=lambda v: f"{v:.3f}", na_rep="")]
        parts.append("</div>")
        return "".join(parts)


def _latent_share(eta_first: np.ndarray, eta_last: np.ndarray, cutpoints: np.ndarray | None,
                  sign: float) -> np.ndarray:
    """Per draw, the share of young people whose latent outcome improved between two assessments.

    Ordinal (``cutpoints`` given, shape (S, K-1)): the *latent band*, the number of thresholds below
    eta, free of occasion-to-occasion noise, must be better. Continuous: eta itself.
    """
    if cutpoints is not None:
        cut = np.asarray(cutpoints)[:, None, :]
        band_f = (eta_first[..., None] > cut).sum(axis=-1)
        band_l = (eta_last[..., None] > cut).sum(axis=-1)
        return np.mean(sign * (band_l - band_f) > 0, axis=1)
    return np.mean(sign * (eta_last - eta_first) > 0, axis=1)


def latent_share_lower(params: dict[str, np.ndarray], design: Design, at: str = "closure") -> np.ndarray:
    """The ``latent`` row of :meth:`ChangeFit.proportion_lower_risk` for any parameter draws (S, ...)."""
    first, last, _ = first_and_last(design)
    who = design.person_closed if at == "closure" else np.ones(len(design.person_labels), bool)
    if who is None or not who.any():
        return np.full(len(np.atleast_1d(params["slope"])), np.nan)
    sign = -1.0 if design.direction == "higher_is_worse" else 1.0
    eta_f = num.linear_predictor(params, design, rows=first[who])
    eta_l = num.linear_predictor(params, design, rows=last[who])
    return _latent_share(eta_f, eta_l, params.get("cutpoints"), sign)


def _normalise_stats(stats) -> xr.Dataset:
    """One set of names for the samplers' statistics: diverging, tree_depth, reached_max_treedepth."""
    rename = {"depth": "tree_depth", "maxdepth_reached": "reached_max_treedepth", "divergences": "diverging"}
    stats = stats.rename({k: v for k, v in rename.items() if k in stats and v not in stats})
    keep = [v for v in ("diverging", "tree_depth", "reached_max_treedepth", "n_steps", "step_size", "energy", "lp")
            if v in stats]
    return stats[keep]


def load_fit(path) -> ChangeFit:
    """Read a fit written by :meth:`ChangeFit.save` (or ``cseoutcomes fit --out``)."""
    import xarray as xr

    try:
        tree = xr.open_datatree(path, engine="h5netcdf").load()
    except FileNotFoundError:
        raise DataError("file not found", where=str(path), hint="give the path of a fit written by `cseoutcomes fit`") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"not a readable netCDF fit ({type(exc).__name__})", where=str(path),
                        hint="give the path of a fit written by `cseoutcomes fit --out`") from None
    return ChangeFit.from_datatree(tree)
