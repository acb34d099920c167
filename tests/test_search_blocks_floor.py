"""A lone unit's page by blocks (``_merge_blocks`` for one or two slices, the per-doc
tables for more) with a floor and a memo of exact block maxima kept over several calls,
against the exhaustive pass, on random postings (review of the sixth session: the
random tests of ``test_search_blocks_random.py`` pass no floor).

Each unit (1-3 slices) is called three times with one memo (as a kept query is) and
each time another page size, count to reach first and floor (none, a score that
occurs, or any value); a slice's docs are spread, or all at the start or the end of the
segment (the first and last blocks own the other slice's docs before and after theirs),
each block's first doc given or not. The docs must be the best ``keep`` of those
scoring at least the floor, with their exhaustive scores; the count exact unless a
block was skipped, then at most the true count. Skipped without the built extension.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from .conftest import compiled_core
from .test_search_blocks_random import BLOCK, _block_bounds
from .test_search_blocks_random import _random_unit as random_unit


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return compiled_core()


def _random_unit(rng: np.random.Generator) -> tuple[Any, ...]:
    """:func:`test_search_blocks_random._random_unit`'s arguments, each slice's docs
    left spread or moved to the start or the end of the segment."""
    arrays: tuple[Any, ...] = random_unit(rng)["arrays"]
    docs, max_doc = arrays[0], arrays[-1]
    for number, slice_docs in enumerate(docs):
        where = int(rng.integers(0, 3))
        if where == 1:
            docs[number] = np.arange(max_doc - len(slice_docs), max_doc).astype(slice_docs.dtype)
        elif where == 2:
            docs[number] = np.arange(len(slice_docs)).astype(slice_docs.dtype)
    return arrays


def _blocks(rng: np.random.Generator, arrays: tuple[Any, ...]) -> tuple[Any, ...]:
    """:func:`_block_bounds` with an empty memo and, half the time, each block's first
    doc."""
    longest, bounds, block_forms = _block_bounds(rng, arrays)
    memo = np.full(2 * len(bounds), np.nan, dtype=np.float32)
    docs = arrays[0][longest]
    firsts = docs[::BLOCK].astype(np.int32) if rng.random() < 0.5 else None
    return longest, bounds, block_forms, memo, firsts


def test_a_floor_and_a_kept_memo_give_the_exhaustive_page(core: ModuleType) -> None:
    rng = np.random.default_rng(20261206)
    skipped = floored = 0
    for case in range(500):
        arrays = _random_unit(rng)
        every_docs, every_scores, every_count, _ = core.score_segment(*arrays)
        blocks = _blocks(rng, arrays)
        for call in range(3):
            keep, min_total = int(rng.integers(1, 60)), int(rng.integers(0, 300))
            floor = 0.0
            if len(every_scores) and rng.random() < 0.5:
                floor = float(
                    rng.choice(every_scores)
                    if rng.random() < 0.7
                    else rng.uniform(0, float(every_scores.max()) * 1.2)
                )
            above = every_scores >= np.float32(floor)
            docs_above, scores_above = every_docs[above], every_scores[above]
            best = np.sort(docs_above[np.lexsort((docs_above, -scores_above))[:keep]])
            docs, scores, count, skipping = core.score_segment(
                *arrays, keep, False, min_total, blocks, floor
            )
            where = (case, call, keep, min_total, floor)
            assert docs.tolist() == best.tolist(), where
            assert scores.tolist() == every_scores[np.searchsorted(every_docs, best)].tolist()
            assert count <= every_count and (skipping or count == every_count), where
            skipped += bool(skipping)
            floored += floor > 0 and len(best) < min(keep, every_count)
    assert skipped > 100 and floored > 50  # (blocks were skipped, floors cut pages)


def test_the_floor_of_the_segments_searched_is_their_keep_th_best() -> None:
    """The floor handed to the next segment is the ``keep``-th best of every score the
    segments before returned (their pages; ties counted), 0 until ``keep`` are known."""
    from bnsearch.search.engine import _Floor

    rng = np.random.default_rng(61207)
    for case in range(500):
        keep = int(rng.integers(0, 15))
        floor, seen = _Floor(keep), np.empty(0, np.float32)
        for _ in range(int(rng.integers(1, 12))):
            size = int(rng.integers(0, keep + 2))
            values = np.array([0.25, 1.0, 2.5, 7.0], np.float32)
            scores = (
                rng.choice(values, size=size)
                if rng.random() < 0.5
                else rng.random(size).astype(np.float32)
            )
            floor.add(scores)
            seen = np.concatenate((seen, scores))
            expected = float(np.sort(seen)[-keep]) if keep and len(seen) >= keep else 0.0
            assert floor.floor == expected, case
