"""Instruments and published data sets for the change-model tests.

sleepstudy.csv: reaction times of 18 subjects over 10 days of sleep restriction
(Belenky G et al. 2003, "Patterns of performance degradation and restoration
during sleep restriction and subsequent recovery", J Sleep Res 12:1-12), as
tabulated in the lme4 R package and used by Bates et al. (2015, J Stat Softw
67(1), doi:10.18637/jss.v067.i01) for its worked examples. Data only.

wine.csv: bitterness ratings (1-5) of wines by 9 judges under two temperatures
and two contact conditions (Randall J 1989, "The analysis of sensory data by
generalised linear model", Biometrical Journal 31:781-793), as used by
Christensen's "A Tutorial on fitting Cumulative Link Mixed Models with clmm2
from the ordinal Package" for its worked example. Data only.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cseoutcomes import Instrument
from cseoutcomes.errors import ConvergenceWarning

DATA = Path(__file__).parent / "data"

_CITE = [{"text": "Test instrument for cseoutcomes' own tests."}]
_LICENCE = {"name": "CC0-1.0", "wording_may_ship": True}


def _one_item_instrument(id_: str, title: str, item: str, codes: range, score: str) -> Instrument:
    """An instrument with one ordered item and one score whose change direction is 'higher is worse'."""
    return Instrument.from_dict({
        "id": id_, "version": "1.0.0", "title": title, "kind": "distance_travelled",
        "citation": _CITE, "licence": _LICENCE,
        "response_scales": {"scale": {"type": "ordinal", "categories": [{"code": str(v), "value": v} for v in codes]}},
        "items": [{"id": item, "label": title, "scale": "scale"}],
        "scores": [{"id": score, "label": title, "method": "sum", "change": {"direction": "higher_is_worse"}}],
    })


def sleep_instrument() -> Instrument:
    """A continuous 'reaction' score; the data carry the score itself (the item is a placeholder)."""
    return _one_item_instrument("sleep-reaction", "Reaction time (ms)", "reaction_item", range(0, 5), "reaction")


def wine_instrument() -> Instrument:
    """One 1-5 rating item, higher = more bitter (taken as 'worse')."""
    return _one_item_instrument("wine-bitterness", "Bitterness rating", "rating", range(1, 6), "bitterness")


@pytest.fixture
def sleepstudy() -> pd.DataFrame:
    return pd.read_csv(DATA / "sleepstudy.csv", dtype={"Subject": str})


@pytest.fixture
def wine() -> pd.DataFrame:
    return pd.read_csv(DATA / "wine.csv", dtype={"rating": str, "judge": str})


def value_point(model, p: dict) -> dict:
    """The PyMC model's value variables at parameters ``p`` (as :func:`draw_prior` returns them): the
    non-centred z's, log-SDs and transformed thresholds the compiled graph takes."""
    import pytensor.tensor as pt

    point = {name: p[name] for name in ("slope", "measurement", "closure_rate", "closure_effect", "closure_trend",
                                        "closure_period_rate", "intercept", "beta") if name in p}
    sds = {"person_sd": ("person_intercept", "z_person"), "person_slope_sd": ("person_slope", "z_person_slope")}
    sds.update({k: (f"slope_{k[len('slope_sd_'):]}", f"z_slope_{k[len('slope_sd_'):]}")
                for k in p if k.startswith("slope_sd_")})
    sds.update({k: (f"intercept_{k[len('intercept_sd_'):]}", f"z_intercept_{k[len('intercept_sd_'):]}")
                for k in p if k.startswith("intercept_sd_")})
    for sd, (effect, z) in sds.items():
        if sd in p:
            point[f"{sd}_log__"] = np.log(p[sd])
            point[z] = p[effect] / p[sd]
    loc = 0.0
    if "z_person_mean" in model.named_vars:  # ordinal: the intercepts' mean apart, z summing to zero
        loc = float(np.mean(p["person_intercept"]))
        point["z_person_mean"] = np.asarray(loc / (p["person_sd"] / np.sqrt(len(p["person_intercept"]))))
        zs = model["z_person"]
        centred = pt.as_tensor_variable(point.pop("z_person") - loc / p["person_sd"])
        point["z_person_zerosum__"] = model.rvs_to_transforms[zs].forward(centred).eval()
    for name in ("sigma", "nu"):
        if name in p:
            point[f"{name}_log__"] = np.log(p[name])
    if "cutpoints" in p:
        free = "z_cutpoints" if "z_cutpoints" in model.named_vars else "cutpoints"  # separate_location=False
        point[f"{free}_ordered__"] = model.rvs_to_transforms[model[free]].forward(p["cutpoints"] - loc).eval()
    return point


def quiet_fit(model, data, **kw):
    """Fit a test model without a progress bar or convergence warnings (500 draws and tuning steps, seed 1)."""
    kw = {"draws": 500, "tune": 500, "seed": 1, "progress": False, **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(data, **kw)
