"""A lone word's walked slice read by its ``x`` (``score_segment``'s ``blocks[9]``).

The engine hands the core, for a lone unit of one or two slices walked by blocks, that
slice's ``x`` per posting (``tf * mult[doc]`` in float32), which the core reads in order
instead of each posting's tf and its doc's multiplier. On random postings (the cases of
``test_search_blocks_random.py``) the pages, scores, counts, skipping and block memos
must be those of the multipliers' walk; a doubled ``x`` must change the scores (it is
read); one of another length is refused. Skipped without the built extension.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from bnsearch.search import context
from bnsearch.search.engine import Evaluator

from .conftest import compiled_core
from .test_search_blocks_random import (
    BLOCK,
    _at_most_two_slices,
    _block_bounds,
    _joined,
    _other_x,
    _random_unit,
    _title_beside_body,
)


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return compiled_core()


def _walked_x(arrays: tuple[Any, ...], longest: int, scale: float = 1.0) -> Any:
    """The walked slice's ``x`` per posting, as the engine makes it, times ``scale``."""
    docs, tfs, mults = (items[longest] for items in arrays[:3])
    x = tfs.astype(np.float32)
    x *= mults[docs.astype(np.int64)]
    return (x * np.float32(scale)).astype(np.float32)


def _case(rng: np.random.Generator, case: int) -> tuple[tuple[Any, ...], int, int] | None:
    """A word's title beside its body, or a random unit of one or two slices."""
    if case % 2:
        arrays, _ = _title_beside_body(rng)
        return arrays, int(rng.integers(1, 12)), 0
    unit = _random_unit(rng)
    return tuple(_at_most_two_slices(rng, unit["arrays"])), unit["keep"], unit["min_total"]


def test_the_walked_slice_read_by_its_x_keeps_page_count_and_memo(core: ModuleType) -> None:
    """With and without the other slice's ``x`` and joined sums, twice (the second call
    reads the block memo the first wrote): the walked slice's ``x`` handed in gives the
    docs, scores, count, skipping and memo of the multipliers' walk, which are the
    exhaustive pass's best ``keep`` and scores."""
    rng = np.random.default_rng(2026120713)
    skipped = 0
    for case in range(400):
        found_case = _case(rng, case)
        assert found_case is not None
        arrays, keep, min_total = found_case
        every_docs, every_scores, every_count, _ = core.score_segment(*arrays)
        best = np.sort(every_docs[np.lexsort((every_docs, -every_scores))[:keep]])
        longest, bounds, block_forms = _block_bounds(rng, arrays)
        firsts = np.ascontiguousarray(arrays[0][longest][::BLOCK], dtype=np.int32)
        positive = bool(rng.random() < 0.5)
        two = len(arrays[0]) == 2
        other: tuple[Any, ...] = (None, None, None)
        if two and case % 4 < 2:
            other = (_other_x(arrays, longest), *_joined(core, arrays, longest))
        memos = [np.full(4 * len(bounds), np.nan, dtype=np.float32) for _ in range(2)]
        for call in range(2):
            found = []
            for memo, walked in zip(memos, (None, _walked_x(arrays, longest)), strict=True):
                blocks = (longest, bounds, block_forms, memo, firsts, positive, *other, walked)
                docs, scores, count, pruned = core.score_segment(
                    *arrays, keep, False, min_total, blocks
                )
                found.append((docs.tolist(), scores.tolist(), count, pruned))
            assert found[0] == found[1], (case, call)
            assert found[1][0] == best.tolist(), (case, call)
            assert found[1][1] == every_scores[np.searchsorted(every_docs, best)].tolist()
            assert found[1][2] <= every_count
            skipped += bool(found[1][3])
        assert np.array_equal(memos[0], memos[1], equal_nan=True), case
    assert skipped > 200  # (blocks were skipped: seed fixed)


def test_the_walked_x_is_what_the_core_reads(core: ModuleType) -> None:
    """A doubled ``x`` of the walked slice changes the page's scores (the core reads it,
    not the tfs and multipliers); one of another length is refused."""
    rng = np.random.default_rng(2026120714)
    changed = 0
    for _ in range(50):
        arrays, _ = _title_beside_body(rng)
        longest, bounds, block_forms = _block_bounds(rng, arrays)
        memo = np.full(4 * len(bounds), np.nan, dtype=np.float32)
        blocks = (longest, bounds, block_forms, memo, None, False, None, None, None)
        plain = core.score_segment(*arrays, 5, False, 0, (*blocks, None))
        memo[:] = np.nan
        doubled = core.score_segment(*arrays, 5, False, 0, (*blocks, _walked_x(arrays, longest, 2)))
        changed += plain[1].tolist() != doubled[1].tolist()
        with pytest.raises(ValueError, match="walked slice"):
            core.score_segment(*arrays, 5, False, 0, (*blocks, _walked_x(arrays, longest)[1:]))
    assert changed > 40


def test_the_engine_makes_the_walked_x_within_its_bound(
    core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Evaluator._walked_x`` is the core's product per posting, counted against
    ``WALKED_X_CACHE_BYTES`` (None past it, and where a doc lies outside the segment)."""
    rng = np.random.default_rng(2026120715)
    docs = np.sort(rng.choice(5000, size=700, replace=False)).astype(np.int32)
    tfs = rng.integers(1, 9, size=700).astype(np.uint8)
    mult = rng.uniform(0.01, 3, size=5000).astype(np.float32)

    class Ctx:
        walked_x_bytes = 0

        @staticmethod
        def multiplier(segment: Any, field: str, weight: float) -> Any:
            return mult

    class Unit:
        def __init__(self) -> None:
            self.weights = {"body": 1.0}

    evaluator = Evaluator.__new__(Evaluator)
    evaluator.ctx = Ctx()  # type: ignore[assignment]
    x = evaluator._walked_x(None, Unit(), "body", docs, tfs)  # type: ignore[arg-type]
    assert x is not None and x.dtype == np.float32
    assert x.tolist() == [
        np.float32(np.float32(t) * mult[d]) for t, d in zip(tfs, docs, strict=True)
    ]
    assert evaluator.ctx.walked_x_bytes == 4 * 700
    monkeypatch.setattr("bnsearch.search.engine.WALKED_X_CACHE_BYTES", 4 * 1000)
    assert evaluator._walked_x(None, Unit(), "body", docs, tfs) is None  # type: ignore[arg-type]
    outside = docs.copy()
    outside[-1] = 5000
    monkeypatch.setattr("bnsearch.search.engine.WALKED_X_CACHE_BYTES", context.WALKED_X_CACHE_BYTES)
    assert evaluator._walked_x(None, Unit(), "body", outside, tfs) is None  # type: ignore[arg-type]
