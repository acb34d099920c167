"""A unit of many slices (a prefix's expansions) counted in the compiled bit table
(``_units._marked_count``): equal to the numpy reference with and without deletions,
for both doc widths and segment sizes not a multiple of eight, and the table left
clear after a doc outside its segment raised (the next count is still right).
Skipped where ``_units`` was not built."""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
import pytest

from bnsearch.errors import IndexFormatError
from bnsearch.search import unitstats


def _units_module() -> ModuleType:
    try:
        return importlib.import_module("bnsearch.search._units")
    except ImportError as error:  # pragma: no cover - depends on the build
        pytest.skip(f"the compiled unit counts are not built: {error}")


def _slices(rng: np.random.Generator, max_doc: int, count: int, dtype: type) -> list:
    """``count`` ascending unique slices, overlapping (shared docs), one at the last doc."""
    out = []
    for i in range(count):
        size = int(rng.integers(0, max_doc // 2 + 1))
        docs = np.unique(rng.integers(0, max_doc, size)).astype(dtype)
        if i == 0:
            docs = np.union1d(docs, [0, max_doc - 1]).astype(dtype)
        out.append(docs)
    return out


@pytest.mark.parametrize("dtype", [np.uint16, np.int32])
@pytest.mark.parametrize("deleted", [False, True])
def test_many_slices_equal_numpys(dtype: type, deleted: bool) -> None:
    compiled = _units_module()
    rng = np.random.default_rng(18)
    for max_doc in (1, 7, 9, 1001, 40_003):
        for count in (9, 17, 64):
            units = [[_slices(rng, max_doc, count, dtype)] for _ in range(3)]
            live = rng.random(max_doc) > 0.3 if deleted else None
            want = unitstats.numpy_live_doc_freqs(units, [live], [max_doc])
            assert compiled.live_doc_freqs(units, [live], [max_doc]) == want
            assert want[0] > 0 or max_doc < 100  # (a count that could be wrong)


def test_the_table_is_clear_after_a_doc_outside_its_segment() -> None:
    compiled = _units_module()
    rng = np.random.default_rng(7)
    good = _slices(rng, 5000, 12, np.int32)
    bad = [*good[:6], np.array([3, 5000], dtype=np.int32), *good[6:]]
    with pytest.raises(IndexFormatError):
        compiled.live_doc_freqs([[bad]], [None], [5000])
    # (marks left behind would hide docs of the next count)
    want = unitstats.numpy_live_doc_freqs([[good]], [None], [5000])
    assert compiled.live_doc_freqs([[good]], [None], [5000]) == want
