"""Disclosure control: primary and secondary suppression, rounding, symbols, statistics on few people.

Conventions from REFERENCES.md ("Disclosure control"): NHS Digital suppresses
sub-national counts of 1-7 as '*' and rounds others to the nearest 5, and
suppresses means based on 1-7 people; DfE rounds to the nearest 10 with symbols
c, z and k and secondary suppression; secure environments suppress counts under
10, zeros included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cseoutcomes.disclosure import POLICIES, Policy, protect, protect_statistics
from cseoutcomes.errors import DataError


def _lines(n_r: int, n_c: int):
    yield from ([(r, c) for c in range(n_c)] for r in range(n_r))
    yield from ([(r, c) for r in range(n_r)] for c in range(n_c))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.data(), st.sampled_from(sorted(POLICIES)), st.booleans())
def test_no_small_count_is_published_and_no_suppressed_cell_is_recoverable(n_r, n_c, data, name, margins):
    counts = np.array(data.draw(st.lists(st.lists(st.integers(0, 40), min_size=n_c, max_size=n_c),
                                         min_size=n_r, max_size=n_r)))
    table = pd.DataFrame(counts, index=[f"r{i}" for i in range(n_r)], columns=[f"c{j}" for j in range(n_c)])
    out = protect(table, name, margins=margins)
    pol = POLICIES[name]
    full = counts
    if margins:
        full = np.block([[counts, counts.sum(1, keepdims=True)], [counts.sum(0, keepdims=True), np.array([[counts.sum()]])]])
    sup = out.suppressed.to_numpy()
    # 1. nothing below the threshold (or a zero, where zeros are protected) is published
    small = (full > 0) & (full < pol.threshold) | ((full == 0) & pol.suppress_zero)
    assert not np.any(small & ~sup)
    # 2. no suppressed cell is alone in its row or column: subtraction from the total cannot recover it
    for line in _lines(*full.shape):
        hidden = sum(sup[rc] for rc in line)
        if len(line) == 1:  # no margins, a one-cell line: said in the notes instead
            assert hidden == 0 or any("one cell only" in n for n in out.notes)
            continue
        assert hidden != 1
    # 3. published cells are the symbol exactly where suppressed, rounded counts elsewhere
    shown = out.table.to_numpy()
    assert all(shown[rc] == pol.symbol for rc in zip(*np.nonzero(sup), strict=True))
    if pol.round_to:
        for rc in zip(*np.nonzero(~sup), strict=True):
            v = shown[rc]
            if isinstance(v, str):
                assert v == pol.rounds_to_zero_symbol and 0 < full[rc] < pol.round_to / 2
            else:
                assert v % pol.round_to == 0 and abs(v - full[rc]) <= pol.round_to / 2


def test_a_worked_example_with_totals():
    """Services x outcome; NHS: 1-7 suppressed, complements chosen smallest first, rounding to 5."""
    table = pd.DataFrame({"lower": [40, 3, 25], "not lower": [12, 9, 30]}, index=["A", "B", "C"])
    out = protect(table, "nhs")
    assert out.table.loc["B", "lower"] == "*"                     # 3: primary
    assert out.table.loc["B", "not lower"] == "*"                 # 9: row B's complement (smallest)
    # each column now needs a second suppression: choosing both in row C protects row C as well, so
    # row A and the totals stay published (the greedy smallest-first choice would hide row A too)
    assert out.table.loc["C"].tolist() == ["*", "*", 55]
    assert out.table.loc["A"].tolist() == [40, 10, 50]
    assert int(out.suppressed.to_numpy().sum()) == 4
    assert out.primary.to_numpy().sum() == 1
    assert out.table.loc["Total", "Total"] == 120  # 119 rounded to 5
    assert "1 cells suppressed as small" in " ".join(out.notes)


def test_dfe_symbols_and_overrides():
    table = pd.DataFrame({"x": [3, 104, None]}, index=["a", "b", "c"])
    out = protect(table, "dfe", margins=False, threshold=2)
    assert out.table["x"].tolist() == ["k", 100, "z"]  # 3 rounds to 0 but is not 0; None: not applicable
    assert protect(table, "dfe", margins=False, threshold=2, round_to=5).table["x"].tolist()[1] == 105
    own = Policy("mine", threshold=3, symbol="[c]")
    assert protect(pd.DataFrame({"x": [1, 1, 5]}), own, margins=False).table["x"].tolist() == ["[c]", "[c]", 5]


def test_bad_tables_are_one_line_errors():
    with pytest.raises(DataError, match="whole numbers, 0 or more; 1 cells are not \\(first: row 1, column 'x'\\)"):
        protect(pd.DataFrame({"x": [3, -1]}))
    with pytest.raises(DataError, match="unknown disclosure policy"):
        protect(pd.DataFrame({"x": [3]}), "gdpr")
    with pytest.raises(DataError, match="threshold must be 1 or more"):
        Policy("x", threshold=0)


def test_statistics_on_too_few_people_are_suppressed():
    stats = pd.DataFrame({"service": ["A", "B", "C"], "n": [30, 6, 12], "mean_change": [-1.2, -3.0, -0.4],
                          "share_lower": [0.7, 1.0, 0.5]})
    out = protect_statistics(stats, "n")
    assert out.loc[1, "mean_change"] == "*" and out.loc[1, "share_lower"] == "*" and out.loc[1, "n"] == "*"
    assert out.loc[0, "mean_change"] == -1.2 and out.loc[0, "n"] == 30 and out.loc[2, "mean_change"] == -0.4
    assert out.loc[2, "n"] == "*"  # complement of B's n: the overall number may be published elsewhere
    assert out["service"].tolist() == ["A", "B", "C"]
    with pytest.raises(DataError, match="number of young people"):
        protect_statistics(stats.assign(n=[1, None, 3]), "n")
    # rows that are different statistics on overlapping people do not add up: each n on its own
    apart = protect_statistics(stats, "n", additive=False)
    assert apart["n"].tolist() == [30, "*", 10] and apart.loc[2, "mean_change"] == -0.4
