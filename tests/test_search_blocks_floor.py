"""A lone unit's page by blocks (``_merge_blocks`` for one or two slices, the per-doc
tables for more) with a floor and a memo of exact block maxima kept over several calls,
against the exhaustive pass, on random postings (review of the sixth session: the
random tests of ``test_search_blocks_random.py`` pass no floor).

Each unit is called three times with one memo (as a kept query is) and each time
another page size, count to reach first and floor (none, a score that occurs, or any
value); its docs are spread, or all at the start or the end of the segment (the first
and last blocks own the other slice's docs before and after theirs), each block's first
doc given or not. The docs must be the best ``keep`` of those scoring at least the
floor, with their exhaustive scores; the count exact unless a block was skipped, then at
most the true count. Skipped without the built extension.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from .conftest import compiled_core

BLOCK = 128  # bnsearch.index.blockmax.BLOCK (the core's block size)


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return compiled_core()


def _slice_docs(rng: np.random.Generator, length: int, max_doc: int) -> np.ndarray[Any, Any]:
    where = int(rng.integers(0, 3))
    if where == 0:
        return np.sort(rng.choice(max_doc, size=length, replace=False))
    if where == 1:
        return np.arange(max_doc - length, max_doc)  # all at the segment's end
    return np.arange(length)  # all at its start


def _random_unit(rng: np.random.Generator) -> tuple[Any, ...]:
    max_doc = int(rng.integers(2, 3000))
    n_slices = int(rng.integers(1, 5))
    longest = int(rng.integers(1, max_doc + 1))
    others = max(1, longest // 4 // max(1, n_slices - 1))  # short beside the longest
    lengths = [longest] + [int(rng.integers(1, others + 1)) for _ in range(n_slices - 1)]
    with_forms = bool(rng.random() < 0.5)
    doc_type = np.uint16 if rng.random() < 0.5 else np.int32
    docs, tfs, mults, forms = [], [], [], []
    for length in lengths:
        docs.append(_slice_docs(rng, length, max_doc).astype(doc_type))
        tf_type = rng.choice([np.uint8, np.uint16, np.uint32])
        tfs.append(rng.integers(1, int(rng.choice([2, 5, 50])), size=length).astype(tf_type))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            mults.append(rng.random(max_doc).astype(np.float32))
        elif kind == 1:  # many ties
            mults.append(np.full(max_doc, 0.5, dtype=np.float32))
        else:
            mults.append(rng.choice(np.array([0.1, 0.2, 0.9], np.float32), size=max_doc))
        forms.append(rng.integers(0, 4, size=length).astype(np.uint8) if with_forms else None)
    order = rng.permutation(n_slices)
    docs, tfs, mults, forms = ([items[i] for i in order] for items in (docs, tfs, mults, forms))
    bonus = float(rng.choice([0.0, rng.uniform(0, 3)])) if with_forms else 0.0
    return (
        docs,
        tfs,
        mults,
        forms,
        np.zeros(n_slices, dtype=np.int32),
        np.array([rng.uniform(0.1, 5)], dtype=np.float32),
        np.array([int(rng.integers(1, 4)) if bonus else 0], dtype=np.uint8),
        np.array([bonus], dtype=np.float32),
        float(rng.choice([0.0, 0.3, 1.2])),
        None if rng.random() < 0.5 else rng.random(max_doc) < rng.uniform(0.2, 1.0),
        max_doc,
    )


def _blocks(rng: np.random.Generator, arrays: tuple[Any, ...]) -> tuple[Any, ...]:
    """The longest slice, its blocks' largest ``x`` (or looser), sometimes the OR of
    their form flags, an empty memo and, half the time, each block's first doc."""
    docs, tfs, mults, forms = arrays[:4]
    longest = max(range(len(docs)), key=lambda i: (len(docs[i]), -i))
    x = tfs[longest].astype(np.float32) * mults[longest][docs[longest].astype(np.int64)]
    starts = np.arange(0, len(x), BLOCK)
    bounds = np.maximum.reduceat(x, starts).astype(np.float32)
    if rng.random() < 0.3:
        bounds *= np.float32(rng.uniform(1, 2))
    block_forms = None
    if forms[longest] is not None and rng.random() < 0.7:
        block_forms = np.bitwise_or.reduceat(forms[longest], starts).astype(np.uint8)
    memo = np.full(2 * len(bounds), np.nan, dtype=np.float32)
    firsts = docs[longest][::BLOCK].astype(np.int32) if rng.random() < 0.5 else None
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
