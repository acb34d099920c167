"""The in-link runs' two array steps (``links._distinct_inverse``, ``links._runs_order``)
against the numpy calls they stand for, on both of their paths: a table or a packed sort
where the numbers allow, ``np.unique`` or ``np.lexsort`` where they do not."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bnsearch.articles.links import _distinct_inverse, _runs_order

small = st.lists(st.integers(0, 40), max_size=60)


@given(small, st.sampled_from([0, 10**6]))
def test_distinct_inverse_is_unique_with_inverse(values: list[int], spread: int) -> None:
    """The same distinct values and inverse as ``np.unique``, by the table (values dense)
    and by ``np.unique`` itself (one value far past four times the count)."""
    array = np.array([*values, spread] if spread else values, dtype=np.int32)
    spelled, inverse = _distinct_inverse(array)
    expected, expected_inverse = np.unique(array, return_inverse=True)
    assert spelled.tolist() == expected.tolist() and spelled.dtype == array.dtype
    assert inverse.tolist() == expected_inverse.ravel().tolist()
    assert inverse.dtype == np.int64


@given(
    st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(0, 7)), max_size=80),
    st.sampled_from([0, 1 << 62]),
)
def test_runs_order_is_lexsort(triples: list[tuple[int, int, int]], big: int) -> None:
    """The order of ``np.lexsort((numbers, source, owners))``, ties kept in place (the
    same triple twice: a source id spelled by two nodes), packed or, where the three
    numbers' bits pass 63, by ``np.lexsort``."""
    rows = sorted(triples, key=lambda row: row[0])  # the owners come sorted
    if big:
        rows.append((10, big, 1))
    table = np.array(rows, dtype=np.int64).reshape(len(rows), 3)
    owners, source, numbers = table[:, 0], table[:, 1], table[:, 2]
    found = _runs_order(owners, source, numbers)
    assert found.tolist() == np.lexsort((numbers, source, owners)).tolist()
