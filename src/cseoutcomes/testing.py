"""Conformance checks an instrument author runs in their own tests.

In the spirit of scikit-learn's ``parametrize_with_checks``: every check is a
plain function that takes an :class:`~cseoutcomes.Instrument` and raises
``AssertionError`` with a readable message when the instrument does not conform.

In a plugin package's test suite::

    from cseoutcomes.testing import parametrize_with_checks
    from my_plugin import load_instruments

    @parametrize_with_checks(load_instruments())
    def test_conformance(instrument, check):
        check(instrument)

or, for one instrument, ``check_instrument(inst)``, which runs every check
and reports all failures at once.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from cseoutcomes.errors import CseOutcomesError, ScoringWarning
from cseoutcomes.instruments.conditions import Condition
from cseoutcomes.instruments.schema import Instrument
from cseoutcomes.instruments.scoring import band_positions, score

__all__ = [
    "check_bands_cover_range",
    "check_categories_complete",
    "check_definition_valid",
    "check_indicator_links",
    "check_instrument",
    "check_overrides_reachable",
    "check_scoring_total",
    "check_yaml_round_trip",
    "generate_responses",
    "instrument_checks",
    "parametrize_with_checks",
]

Check = Callable[[Instrument], None]


# ---------------------------------------------------------------------------
# generated data


def generate_responses(
    instrument: Instrument, n: int = 200, *, seed: int = 0, missing_rate: float = 0.1, blank_rate: float = 0.05
) -> pd.DataFrame:
    """Random wide responses valid against the instrument (for tests).

    Each cell is a uniformly chosen category; a share ``missing_rate`` are
    replaced by one of the scale's missing codes and ``blank_rate`` by blanks.
    Context fields get plausible values (``age`` within the instrument's age
    range), and recency columns random months in 0-18.
    """
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for item in instrument.items:
        scale = instrument.scale_of(item)
        cats = np.array(scale.codes, dtype=object)
        col = cats[rng.integers(0, len(cats), n)]
        if scale.missing:
            miss = rng.random(n) < missing_rate
            col[miss] = np.array(scale.missing_codes, dtype=object)[rng.integers(0, len(scale.missing), miss.sum())]
        col[rng.random(n) < blank_rate] = None
        data[item.id] = col
        if item.recency is not None:
            data[item.id + item.recency.column_suffix] = rng.integers(0, 19, n).astype(float)
    lo, hi = instrument.age_range or (8, 25)
    for name, field in instrument.context.items():
        if field.type == "number":
            data[name] = rng.uniform(lo, min(hi, lo + 20), n).round(1)
        elif field.type == "boolean":
            data[name] = rng.random(n) < 0.5
        else:
            data[name] = rng.choice(["a", "b"], n)
    return pd.DataFrame(data)


def _complete_row(instrument: Instrument) -> dict[str, object]:
    """One fully answered assessment at every item's first category."""
    row: dict[str, object] = {i.id: instrument.scale_of(i).codes[0] for i in instrument.items}
    lo = (instrument.age_range or (8, 25))[0]
    for name, field in instrument.context.items():
        row[name] = lo + 5 if field.type == "number" else ("a" if field.type == "category" else False)
    return row


# ---------------------------------------------------------------------------
# checks


def check_definition_valid(instrument: Instrument) -> None:
    """The definition re-validates from its own plain data (no state outside the file)."""
    again = Instrument.from_dict(instrument.to_dict())
    assert again == instrument, "the definition changes when re-validated from to_dict()"


def check_yaml_round_trip(instrument: Instrument) -> None:
    """Writing the definition to YAML and reading it back gives an equal instrument."""
    import yaml

    again = Instrument.from_dict(yaml.safe_load(instrument.to_yaml()))
    assert again == instrument, "the definition is not equal after a round trip through YAML"


def check_categories_complete(instrument: Instrument) -> None:
    """Every response scale is used, declares at least two categories, and sum/mean scores have values for every category."""
    used = {i.scale for i in instrument.items}
    unused = sorted(set(instrument.response_scales) - used)
    assert not unused, f"response scale(s) {', '.join(unused)} are declared but no item uses them"
    for name, scale in instrument.response_scales.items():
        assert len(scale.categories) >= 2, f"response scale '{name}' has fewer than two categories"
        codes = [c.code.casefold() for c in scale.categories]
        assert len(set(codes)) == len(codes), f"response scale '{name}' repeats a category"
    for s in instrument.scores:
        if s.method in ("sum", "mean"):
            for item in instrument.score_items(s):
                scale = instrument.scale_of(item)
                missing = [c.code for c in scale.categories if c.value is None]
                assert not missing, f"score '{s.id}' sums item '{item.id}', whose categories {missing} have no value"


def check_scoring_total(instrument: Instrument) -> None:
    """Scoring generated responses never fails; complete assessments always get a score inside the range and a band."""
    if instrument.kind == "coding_scheme":
        return
    table = generate_responses(instrument, n=300, seed=1)
    complete = pd.DataFrame([_complete_row(instrument)] * 3)
    full = generate_responses(instrument, n=100, seed=2, missing_rate=0.0, blank_rate=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        for data in (table, complete, full):
            result = score(data, instrument)
            assert len(result) == len(data), "scoring returned a different number of rows"
    for s in instrument.scores:
        values = result[s.id].to_numpy(dtype=float)
        assert not np.isnan(values).any(), f"score '{s.id}' is missing for a fully answered assessment"
        lo, hi, _ = instrument.score_range(s)
        assert ((values >= lo - 1e-9) & (values <= hi + 1e-9)).all(), (
            f"score '{s.id}' left its range {lo:g} to {hi:g} on generated responses")
        if s.bands:
            assert result[f"{s.id}_band"].notna().all(), f"score '{s.id}' has a value but no band"


def check_bands_cover_range(instrument: Instrument) -> None:
    """Every value a score can take falls in exactly one band, and bands are in order."""
    for s in instrument.scores:
        if not s.bands:
            continue
        lo, hi, integer = instrument.score_range(s)
        assert not math.isnan(lo), f"score '{s.id}' has no computable range"
        grid = np.arange(lo, hi + 1) if integer else np.linspace(lo, hi, 1001)
        pos = band_positions(s, grid)
        assert (pos >= 0).all(), f"score '{s.id}': some values in {lo:g}-{hi:g} have no band"
        assert (np.diff(pos) >= 0).all(), f"score '{s.id}': bands are not monotone in the score"
        for i, b in enumerate(s.bands):
            inside = grid[pos == i]
            assert inside.size, f"score '{s.id}': band '{b.code}' is never reached by any score value"


def _satisfy(cond: Condition, instrument: Instrument, row: dict[str, object]) -> bool:
    """Change ``row`` so that ``cond`` holds; False when no simple construction exists."""
    if cond.item is not None:
        row[cond.item] = str(cond.in_[0])  # type: ignore[index]
        return True
    if cond.section is not None:
        members = [i for i in instrument.items if i.section == cond.section]
        wanted = {str(c).casefold() for c in cond.in_ or ()}
        chosen = 0
        for item in members:
            scale = instrument.scale_of(item)
            match = next((c for c in scale.codes + scale.missing_codes if c.casefold() in wanted), None)
            if match is not None and chosen < cond.at_least:
                row[item.id] = match
                chosen += 1
        return chosen >= cond.at_least
    if cond.field is not None:
        comps = cond.comparisons()
        if cond.in_:
            row[cond.field] = cond.in_[0]
            return True
        lo = max([v for k, v in comps.items() if k in ("gt", "ge") and not isinstance(v, str)] or [-math.inf])
        hi = min([v for k, v in comps.items() if k in ("lt", "le") and not isinstance(v, str)] or [math.inf])
        if "eq" in comps:
            row[cond.field] = comps["eq"]
            return True
        if math.isinf(lo) and math.isinf(hi):
            return False
        row[cond.field] = (lo + hi) / 2 if not (math.isinf(lo) or math.isinf(hi)) else (hi - 1 if math.isinf(lo) else lo + 1)
        return True
    if cond.all is not None:
        return all(_satisfy(c, instrument, row) for c in cond.all)
    if cond.any is not None:
        return _satisfy(cond.any[0], instrument, row)
    return False  # `not` and score conditions: left to the random search


def check_overrides_reachable(instrument: Instrument) -> None:
    """Every override applies to at least one assessment (constructed, else found among generated ones)."""
    for s in instrument.scores:
        for ov in s.overrides:
            row = _complete_row(instrument)
            tables = []
            if _satisfy(ov.when, instrument, row):
                tables.append(pd.DataFrame([row]))
            tables.append(generate_responses(instrument, n=2000, seed=3, missing_rate=0.02, blank_rate=0.0))
            hit = False
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ScoringWarning)
                for table in tables:
                    result = score(table, instrument, scores=[s.id])
                    reasons = result[f"{s.id}_override"].fillna("")
                    if reasons.str.contains(ov.reason, regex=False).any():
                        hit = True
                        break
            assert hit, f"override '{ov.id}' of score '{s.id}' never applies (condition: {ov.when.describe()})"


def check_indicator_links(instrument: Instrument) -> None:
    """Codes linked to another instrument's item name an instrument and item that exist (when installed)."""
    from cseoutcomes.instruments.registry import get_instrument

    for _, code in instrument.all_codes():
        link = code.indicator
        if link is None or link.instrument is None:
            continue
        try:
            other = get_instrument(link.instrument)
        except CseOutcomesError:
            continue  # not installed here: nothing to check against
        if link.item is not None:
            assert link.item in {i.id for i in other.items}, (
                f"code '{code.id}' links to item '{link.item}' of '{link.instrument}', which has no such item")


_CHECKS: tuple[Check, ...] = (
    check_definition_valid,
    check_yaml_round_trip,
    check_categories_complete,
    check_scoring_total,
    check_bands_cover_range,
    check_overrides_reachable,
    check_indicator_links,
)


def instrument_checks(instrument: Instrument) -> Iterator[Check]:
    """Every conformance check that applies to this instrument."""
    for check in _CHECKS:
        if instrument.kind == "coding_scheme" and check in (
            check_scoring_total, check_bands_cover_range, check_overrides_reachable, check_categories_complete
        ):
            continue
        yield check


def check_instrument(instrument: Instrument) -> None:
    """Run every check; raise one ``AssertionError`` listing every failure."""
    failures = []
    for check in instrument_checks(instrument):
        try:
            check(instrument)
        except AssertionError as exc:
            failures.append(f"{check.__name__}: {exc}")
        except CseOutcomesError as exc:
            failures.append(f"{check.__name__}: {exc}")
    if failures:
        raise AssertionError(f"{instrument.key} fails {len(failures)} check(s):\n  " + "\n  ".join(failures))


def parametrize_with_checks(instruments: Iterable[Instrument]):
    """A ``pytest.mark.parametrize`` over (instrument, check) pairs, with readable test ids."""
    import pytest

    pairs = [(inst, check) for inst in instruments for check in instrument_checks(inst)]
    return pytest.mark.parametrize(
        ("instrument", "check"), pairs, ids=[f"{inst.key}-{check.__name__}" for inst, check in pairs])

