"""bnsearch.arrays: the shared numpy idioms against numpy's own answers."""

from __future__ import annotations

import numpy as np
import pytest

from bnsearch.arrays import distinct, run_positions


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint32])
@pytest.mark.parametrize("size", [0, 1, 2, 3, 50, 5_000])
def test_distinct_is_np_unique(dtype: type[np.integer], size: int) -> None:
    """The sorted distinct values and their dtype, as ``np.unique`` gives them (which
    ``distinct`` replaces for speed), for arrays with and without repeats."""
    rng = np.random.default_rng(size)
    for high in (3, 1_000):
        values = rng.integers(0, high, size).astype(dtype)
        found = distinct(values)
        expected = np.unique(values)
        assert found.dtype == expected.dtype
        assert np.array_equal(found, expected)
    assert distinct([5, 1, 5, 1]).tolist() == [1, 5]  # a list, as np.unique takes


def test_run_positions_joins_runs() -> None:
    values = np.arange(100) * 3
    starts, counts = [4, 0, 90, 7], [3, 0, 2, 1]
    expected = [*values[4:7], *values[90:92], *values[7:8]]
    assert values[run_positions(starts, counts)].tolist() == expected
    assert run_positions([], []).tolist() == []
