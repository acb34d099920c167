"""Block-max pruning in the compiled core against its exhaustive pass, on random postings.

The corpus tests (test_search_pruning.py) show that pages stay the same on real text;
here ``score_segment`` is called directly with random slices of one unit (a word in
several fields: the longest slice walked by blocks, the others summed first), random
multipliers, form flags and exact-form bonuses, masks (deleted or filtered docs), page
sizes and counts to reach first, with the tightest sound block bounds (each block's
largest ``x``) or looser ones. The best ``keep`` and their scores must be those of the
exhaustive pass; the count exact unless a block was skipped, then at least ``min_total``
and at most the true count. Skipped without the built extension.
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


def _random_unit(rng: np.random.Generator) -> dict[str, Any]:
    """One unit's slices in one segment, its scoring figures and a page to find."""
    max_doc = int(rng.integers(200, 3000))
    n_slices = int(rng.integers(1, 4))
    longest_n = int(rng.integers(BLOCK + 1, max_doc))
    others = max(1, longest_n // 4 // max(1, n_slices - 1))  # short beside the longest
    lengths = [longest_n] + [int(rng.integers(1, others + 1)) for _ in range(n_slices - 1)]
    with_forms = bool(rng.random() < 0.5)
    doc_type = np.uint16 if rng.random() < 0.5 else np.int32
    docs, tfs, mults, forms = [], [], [], []
    for length in lengths:
        docs.append(np.sort(rng.choice(max_doc, size=length, replace=False)).astype(doc_type))
        tf_type = rng.choice([np.uint8, np.uint16, np.uint32])
        tfs.append(rng.integers(1, int(rng.choice([2, 5, 50])), size=length).astype(tf_type))
        kind = int(rng.integers(0, 3))
        if kind == 0:  # every doc its own multiplier
            mults.append(rng.random(max_doc).astype(np.float32))
        elif kind == 1:  # all equal: many ties
            mults.append(np.full(max_doc, 0.5, dtype=np.float32))
        else:  # a few length codes
            mults.append(rng.choice(np.array([0.1, 0.2, 0.9], np.float32), size=max_doc))
        forms.append(rng.integers(0, 4, size=length).astype(np.uint8) if with_forms else None)
    order = rng.permutation(n_slices)  # the longest need not come first
    docs, tfs, mults, forms = ([items[i] for i in order] for items in (docs, tfs, mults, forms))
    bonus = float(rng.choice([0.0, rng.uniform(0, 3)])) if with_forms else 0.0
    flag = int(rng.integers(1, 4)) if bonus else 0
    return {
        "arrays": (
            docs,
            tfs,
            mults,
            forms,
            np.zeros(n_slices, dtype=np.int32),
            np.array([rng.uniform(0.1, 5)], dtype=np.float32),
            np.array([flag], dtype=np.uint8),
            np.array([bonus], dtype=np.float32),
            float(rng.choice([0.0, 0.3, 1.2])),
            None if rng.random() < 0.5 else rng.random(max_doc) < rng.uniform(0.2, 1.0),
            max_doc,
        ),
        "keep": int(rng.integers(1, 60)),
        "min_total": int(rng.integers(0, 300)),
    }


def _block_bounds(
    rng: np.random.Generator, arrays: tuple[Any, ...]
) -> tuple[int, np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    """The longest slice (the first of the longest), per block its largest ``x`` (or
    a looser bound) and, sometimes, the OR of its form flags."""
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
    return longest, bounds, block_forms


def test_skipped_blocks_keep_the_exhaustive_page_on_random_postings(core: ModuleType) -> None:
    rng = np.random.default_rng(20261206)
    skipped = 0
    for case in range(600):
        unit = _random_unit(rng)
        arrays, keep, min_total = unit["arrays"], unit["keep"], unit["min_total"]
        every_docs, every_scores, every_count, _ = core.score_segment(*arrays)
        best = np.sort(every_docs[np.lexsort((every_docs, -every_scores))[:keep]])
        blocks = _block_bounds(rng, arrays)
        docs, scores, count, skipping = core.score_segment(*arrays, keep, False, min_total, blocks)
        assert docs.tolist() == best.tolist(), case
        assert scores.tolist() == every_scores[np.searchsorted(every_docs, best)].tolist(), case
        if skipping:
            skipped += 1
            assert min(min_total, every_count) <= count <= every_count, case
        else:
            assert count == every_count, case
    assert skipped > 50  # (the bounds did skip: 600 cases, seed fixed)


def test_postings_whose_x_is_zero_are_summed_safely(core: ModuleType) -> None:
    """A doc in several of a unit's slices whose ``x`` is zero (a crafted zero term
    frequency, or a zero multiplier) is listed once among the docs to finish: it was
    listed once per posting, past the list's room (min(postings, docs) + 1), which
    overran the heap (a crash in malloc) when the slices held more postings than docs."""
    max_doc, n = 1000, 40
    docs = [np.arange(max_doc, dtype=np.int32) for _ in range(n)]
    tfs = [np.ones(max_doc, dtype=np.uint8) for _ in range(n)]
    mults = [np.zeros(max_doc, dtype=np.float32) for _ in range(n - 1)]
    mults.append(np.ones(max_doc, dtype=np.float32))  # one slice scores: the others add 0
    unit = (np.zeros(n, np.int32), np.ones(1, np.float32), np.zeros(1, np.uint8))
    for _ in range(5):
        found, scores, count, _ = core.score_segment(
            docs, tfs, mults, [None] * n, *unit, np.zeros(1, np.float32), 1.2, None, max_doc
        )
        assert count == max_doc and found.tolist() == list(range(max_doc))
        assert np.allclose(scores, 1 / (1 + 1.2))
