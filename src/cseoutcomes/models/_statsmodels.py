"""statsmodels backend: REML linear mixed model (``MixedLM``) for continuous outcomes.

The model is the Gaussian change model without priors: person random
intercepts (and slopes), group random intercepts and random slopes of time, as
independent variance components. ``MixedLM`` takes one grouping factor whose
groups are independent; random effects of crossed or nested levels are variance
components inside those groups. We use the finest independent blocks the design
allows: the connected components of the graph linking every row's young person
with its groups (for the usual design, people nested in workers nested in
services, these are the services), which is exact and much faster than a single
block of all rows.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cseoutcomes.errors import ConvergenceWarning, ModelError

if TYPE_CHECKING:
    from cseoutcomes.models.design import Design
    from cseoutcomes.models.spec import ChangeModel

__all__ = ["MixedLMFit", "fit_mixedlm"]


def independent_blocks(design: Design, levels: list[str]) -> np.ndarray:
    """Block id per row: connected components of rows joined through shared people and groups."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = design.n
    offsets = [0]
    cols = [design.person]
    offsets.append(len(design.person_labels))
    for lvl in levels:
        cols.append(design.groups[lvl].index + offsets[-1])
        offsets.append(offsets[-1] + len(design.groups[lvl].labels))
    rows = np.tile(np.arange(n), len(cols))
    ent = np.concatenate(cols) + n
    size = n + offsets[-1]
    graph = coo_matrix((np.ones(len(rows)), (rows, ent)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    return pd.factorize(labels[:n])[0]


def fit_mixedlm(spec: ChangeModel, design: Design) -> MixedLMFit:
    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    if design.family == "ordinal":
        raise ModelError(f"the statsmodels backend fits linear mixed models only; {spec.outcome!r} is ordinal",
                         where="backend", hint="use backend='pymc' for the cumulative-logit model, or model a score")
    if design.selection is not None:
        raise ModelError("the statsmodels backend cannot condition the referral assessment on the screen",
                         where="selection", hint="use backend='pymc', or drop selection=")
    if spec.dropout is not None:
        raise ModelError("the statsmodels backend cannot fit a joint drop-out model (closure hazards)",
                         where="dropout", hint="use backend='pymc', or drop dropout=")
    if spec.measurement_covariates:
        raise ModelError("the statsmodels backend has no measurement covariates", where="measurement_covariates",
                         hint="use backend='pymc', or drop measurement_covariates=")
    if design.family == "student_t":
        raise ModelError("the statsmodels backend has Gaussian errors only", where="family",
                         hint="use family='gaussian', or backend='pymc' for Student-t errors")
    levels_slope = list(spec.slope_levels)
    levels_int = list(spec.intercepts_by)
    blocks = independent_blocks(design, sorted(set(levels_slope) | set(levels_int)))
    n_blocks = blocks.max() + 1
    components: list[tuple[str, np.ndarray, np.ndarray | None]] = [("person", design.person, None)]
    if spec.person_slopes:
        components.append(("person_slope", design.person, design.t))
    components += [(f"slope_{lvl}", design.groups[lvl].index, design.t) for lvl in levels_slope]
    components += [(f"intercept_{lvl}", design.groups[lvl].index, None) for lvl in levels_int]
    names, colnames, mats = [], [], []
    order = np.argsort(blocks, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(blocks[order])) + 1, len(order)]
    block_rows = [order[starts[b]:starts[b + 1]] for b in range(n_blocks)]
    for name, index, weight in components:
        names.append(name)
        cn, ms = [], []
        for rows in block_rows:
            ids, local = np.unique(index[rows], return_inverse=True)
            M = np.zeros((len(rows), len(ids)))
            M[np.arange(len(rows)), local] = 1.0 if weight is None else weight[rows]
            cn.append([str(i) for i in ids])
            ms.append(M)
        colnames.append(cn)
        mats.append(ms)
    exog = np.column_stack([np.ones(design.n), design.t, design.X])
    exog_names = ["intercept", "slope", *[f"beta[{x}]" for x in design.x_names]]
    y = design.y_std[order]
    model = MixedLM(y, exog[order], groups=blocks[order], exog_vc=VCSpec(names, colnames, mats))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(reml=True)
    messages = sorted({str(w.message) for w in caught})
    fit = MixedLMFit(spec, design, result, exog_names, names, messages, components)
    fit.row_order = order  # statsmodels' rows (fittedvalues, resid) are the design's rows in this order
    return fit


def _sd_name(component: str) -> str:
    """Variance component -> the name of its SD in the Bayesian posterior (person_sd, slope_sd_worker, ...)."""
    if component in ("person", "person_slope"):
        return f"{component}_sd"
    kind, _, level = component.partition("_")
    return f"{kind}_sd_{level}"


class MixedLMFit:
    """A REML fit of the continuous change model (statsmodels ``MixedLM``).

    Estimates are on the outcome's own units (the fit itself is on the
    standardised outcome). Intervals are Wald intervals for fixed effects;
    variance components are point estimates (REML). Group effects are BLUPs
    with their conditional standard errors.
    """

    def __init__(self, spec, design, result, exog_names, vc_names, messages, components):
        self.model = spec
        self._design = design
        self.result = result
        self._exog_names = exog_names
        self._vc_names = vc_names
        self.messages = messages
        self._components = components
        vcomp = np.asarray(result.vcomp)
        on_boundary = bool(len(vcomp)) and float(vcomp.min()) < 1e-8 * float(result.scale)
        # statsmodels says "may be on the boundary" whenever its check is inconclusive; pass it on only
        # when a variance component really is at zero
        self.messages = [m for m in messages if "boundary" not in m or on_boundary]
        if on_boundary and not any("boundary" in m for m in self.messages):
            self.messages.append("a variance component is estimated at zero (the boundary)")
        if self.messages or not result.converged:
            warnings.warn("MixedLM: " + ("; ".join(self.messages) or "did not converge"), ConvergenceWarning,
                          stacklevel=4)

    @property
    def llf(self) -> float:
        """REML log-likelihood on the outcome's own scale (comparable with lme4's logLik(REML = TRUE))."""
        d = self._design
        p = len(self._exog_names)
        return float(self.result.llf) - (d.n - p) * float(np.log(d.y_scale))

    def _outcome_units(self, values) -> pd.Series:
        """Fixed-effect coefficients (or their SEs) from the standardised fit to outcome units, covariates per unit."""
        d = self._design
        out = pd.Series(np.asarray(values), index=self._exog_names) * d.y_scale
        for i, x in enumerate(d.x_names):
            out[f"beta[{x}]"] /= d.x_scale[i]
        return out

    @property
    def fe_params(self) -> pd.Series:
        """Fixed effects in outcome units (intercept, slope per time unit, covariates per unit)."""
        fe = self._outcome_units(self.result.fe_params)
        fe["intercept"] += self._design.y_center
        return fe

    @property
    def bse(self) -> pd.Series:
        """Standard errors of :attr:`fe_params`."""
        return self._outcome_units(self.result.bse_fe)

    @property
    def variance_components(self) -> pd.Series:
        """Random-effect and residual SDs in outcome units."""
        d = self._design
        sd = np.sqrt(np.asarray(self.result.vcomp)) * d.y_scale  # vcomp are variances, not relative to scale
        out = pd.Series(sd, index=[_sd_name(n) for n in self._vc_names])
        out["sigma"] = np.sqrt(self.result.scale) * d.y_scale
        return out

    def change(self, prob: float = 0.9) -> pd.DataFrame:
        from scipy import stats

        d = self._design
        z = stats.norm.ppf(0.5 + prob / 2)
        est, se = self.fe_params["slope"], self.bse["slope"]
        sign = -1.0 if d.direction == "higher_is_worse" else 1.0
        rows = []
        unit = self.model.time_unit[:-1]
        for per, f in dict.fromkeys(((unit, 1.0), ("year", d.t_per_year))):
            rows.append({"scale": "outcome", "per": per, "mean": est * f, "sd": se * f,
                         "lower": (est - z * se) * f, "upper": (est + z * se) * f,
                         "p_improved": float(stats.norm.cdf(sign * est / se))})
        out = pd.DataFrame(rows).set_index(["scale", "per"])
        out.attrs["interval"] = f"{prob:.0%} Wald"
        return out

    def summary(self) -> pd.DataFrame:
        fe = pd.DataFrame({"estimate": self.fe_params, "se": self.bse})
        vc = pd.DataFrame({"estimate": self.variance_components, "se": np.nan})
        return pd.concat([fe, vc])

    def by_group(self, level: str, prob: float = 0.9) -> pd.DataFrame:
        """BLUPs of the group slopes (average slope + deviation) with conditional SEs, outcome units."""
        from scipy import stats

        d = self._design
        name = f"slope_{level}"
        if name not in self._vc_names:
            raise ModelError(f"the model has no random slopes for {level!r}", where="level",
                             hint=f"use one of {list(self.model.slope_levels)}")
        g = d.groups[level]
        re = self.result.random_effects
        re_cov = self.result.random_effects_cov
        dev = np.zeros(len(g.labels))
        var = np.zeros(len(g.labels))
        for key in re:
            eff, cov = re[key], re_cov[key]
            labels = [lab for lab in eff.index if str(lab).startswith(name + "[")]
            for lab in labels:
                j = int(str(lab)[len(name) + 1:-1])
                dev[j] = eff[lab]
                var[j] = cov.loc[lab, lab]
        z = stats.norm.ppf(0.5 + prob / 2)
        slope = self.fe_params["slope"] + dev * d.y_scale
        sd = np.sqrt(var) * d.y_scale
        out = pd.DataFrame({"n_people": g.n_people, "n_assessments": g.n_rows, "slope_mean": slope, "slope_se": sd,
                            "slope_lower": slope - z * sd, "slope_upper": slope + z * sd,
                            "deviation_mean": dev * d.y_scale},
                           index=pd.Index(g.labels.astype(str), name=level))
        return out.sort_values("slope_mean")

    def _blups(self) -> dict[str, np.ndarray]:
        """BLUP of every random effect, as arrays indexed like the design's people and groups (standardised scale)."""
        d = self._design
        sizes = {"person": len(d.person_labels), "person_slope": len(d.person_labels)}
        for name, *_ in self._components:
            if name not in sizes:
                sizes[name] = len(d.groups[name.split("_", 1)[1]].labels)
        out = {name: np.zeros(sizes[name]) for name, *_ in self._components}
        for effects in self.result.random_effects.values():
            for label, value in effects.items():
                name, _, index = str(label).rstrip("]").partition("[")
                if name in out and index.isdigit():
                    out[name][int(index)] = value
        return out

    def predict(self, new_data: pd.DataFrame) -> pd.DataFrame:
        """Expected outcome for new assessments: fixed effects plus the BLUPs of known people and groups.

        Young people and groups not in the fit get their population mean (a random
        effect of 0), as ``predict(re_form = NULL, allow.new.levels = TRUE)`` in lme4.
        Time is a number since referral in the model's unit, or dates counted from
        each young person's first row in ``new_data``. For predictive intervals use
        ``backend="pymc"``.
        """
        from cseoutcomes.models.design import prediction_rows

        d = self._design
        spec = self.model
        person_text, t, group_text = prediction_rows(spec, new_data)
        blups = self._blups()
        fe = np.asarray(self.result.fe_params)

        def lookup(name: str, labels: np.ndarray, text: np.ndarray) -> np.ndarray:
            index = {str(v): i for i, v in enumerate(labels)}
            return np.array([blups[name][index[v]] if v in index else 0.0 for v in text])

        eta = fe[0] + lookup("person", d.person_labels, person_text)
        slope = fe[1] + (lookup("person_slope", d.person_labels, person_text) if "person_slope" in blups else 0.0)
        for lvl in spec.slope_levels:
            slope = slope + lookup(f"slope_{lvl}", d.groups[lvl].labels, group_text[lvl])
        for lvl in spec.intercepts_by:
            eta = eta + lookup(f"intercept_{lvl}", d.groups[lvl].labels, group_text[lvl])
        eta = eta + slope * t
        if d.x_names:
            from cseoutcomes.models.design import covariate_matrix

            eta = eta + covariate_matrix(spec, d, new_data) @ fe[2:]
        return pd.DataFrame({"expected": d.y_center + d.y_scale * eta}, index=new_data.index)

    def diagnostics(self) -> pd.DataFrame:
        return pd.DataFrame({"converged": [bool(self.result.converged)],
                             "messages": ["; ".join(self.messages)]})

    def _unsupported(self, what: str):
        raise ModelError(f"{what} needs posterior draws, which a REML fit does not have", where="backend",
                         hint="fit with backend='pymc'")

    def prob_improved(self, *a, **k):
        self._unsupported("prob_improved()")

    def proportion_lower_risk(self, *a, **k):
        self._unsupported("proportion_lower_risk()")

    def compare(self, *a, **k):
        self._unsupported("compare() by LOO")

    def __repr__(self) -> str:
        ch = self.change().loc[("outcome", "year")]
        return (f"<MixedLMFit {self.model.describe()}>\n  change per year: {ch['mean']:.3f} "
                f"[{ch['lower']:.3f}, {ch['upper']:.3f}] (90% Wald)")
